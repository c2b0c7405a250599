/* authn: finds the session, API token or metrics token a request carries
   (see authn.h). Stateless; runs on civetweb's worker threads. Only
   hashes are compared or looked up: a session or API token by the
   SHA-256 of what was sent (the store keeps nothing else), the metrics
   token by its SHA-256 in constant time. */
#include "authn.h"

#include <civetweb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "meshwatch/auth.h"
#include "meshwatch/limits.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

enum authn_result
authn_check(struct node *n, const struct mg_connection *conn, struct authn *out)
{
	/* room for the longest credential and one byte more, so that a longer
	   one is seen as too long rather than cut to a valid prefix */
	char token[METRICS_TOKEN_MAX + 2] = "";
	int bearer = 0;
	memset(out, 0, sizeof *out);
	const char *h = mg_get_header(conn, "Authorization");
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		snprintf(token, sizeof token, "%s", h + 7);
		bearer = 1;
	} else {
		const char *cookie = mg_get_header(conn, "Cookie");
		if (cookie == NULL || mg_get_cookie(cookie, "mw_session", token, sizeof token) < 0)
			token[0] = '\0';
	}
	size_t len = strlen(token);
	if (len == 0)
		return AUTHN_NONE;
	if (len > METRICS_TOKEN_MAX)
		return AUTHN_UNKNOWN;
	auth_token_hash(token, out->token_hash);
	int64_t now = mw_wall_s();
	if (len == AUTH_TOKEN_LEN && store_session_lookup(n->store, out->token_hash, now, &out->user) == 0) {
		out->cred = REQ_CRED_SESSION;
		out->role = out->user.role;
		return AUTHN_OK;
	}
	/* tokens are for scripts: only as a bearer header, never a cookie */
	if (!bearer)
		return AUTHN_UNKNOWN;
	if (len == AUTH_API_TOKEN_LEN && strncmp(token, AUTH_API_TOKEN_PREFIX, 4) == 0 &&
	    store_token_lookup(n->store, out->token_hash, now, TOKEN_TOUCH_S, &out->token) == 0) {
		if (out->token.expires_at > 0 && out->token.expires_at <= now)
			return AUTHN_EXPIRED;
		out->cred = REQ_CRED_TOKEN;
		out->role = out->token.scope;
		return AUTHN_OK;
	}
	if (n->metrics_token_hash[0] && mw_ct_equal(out->token_hash, n->metrics_token_hash, AUTH_TOKEN_HASH_LEN)) {
		out->cred = REQ_CRED_METRICS;
		out->role = ROLE_READ;
		return AUTHN_OK;
	}
	return AUTHN_UNKNOWN;
}
