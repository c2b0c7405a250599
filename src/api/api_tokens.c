/* api_tokens: API tokens, the credentials of scripts and Prometheus
   servers: create (the secret is in that one answer and nowhere after:
   the store keeps its SHA-256), list, show, revoke. Every route here is
   ROUTE_ADMIN (router.c), so http.c has already refused read-only
   callers. Handlers run on civetweb worker threads; all state is in the
   store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/auth.h"
#include "meshwatch/http.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#define TOKENS_LIST_DEFAULT 50

static cJSON *
token_json(const struct token_row *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)t->id);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddStringToObject(o, "scope", store_role_name(t->scope));
	json_add_time(o, "created_at", t->created_at);
	json_add_time_or_null(o, "last_used_at", t->last_used_at);
	json_add_time_or_null(o, "expires_at", t->expires_at);
	return o;
}

/* The name: 1 to TOKEN_NAME_MAX printable ASCII characters. NULL when
   fine, else why not. */
static const char *
check_name(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > TOKEN_NAME_MAX)
		return "must be 1 to 64 characters";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
			return "may contain only printable ASCII characters";
	return NULL;
}

/* expires_at: absent or null for never, else epoch seconds or an RFC 3339
   UTC time, later than now. 0 with *out set (0: never), or MW_EREPLIED. */
static int
read_expiry(struct req *r, int64_t now, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, "expires_at");
	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	int64_t t = -1;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d >= 0 && d <= (double)MW_TIME_MAX && d == (double)(int64_t)d)
			t = (int64_t)d;
	} else if (cJSON_IsString(v) && mw_parse_time(v->valuestring, &t) != 0) {
		t = -1;
	}
	if (t < 0) {
		http_reply_error(r, 400, "invalid_field",
		    "field \"expires_at\" must be epoch seconds (a whole number) or an RFC 3339 UTC time like "
		    "2026-11-22T10:30:00Z, from now to 9999-12-31T23:59:59Z; null or absent for never");
		return MW_EREPLIED;
	}
	if (t <= now) {
		char a[32], b[32];
		http_reply_error(r, 400, "invalid_field", "field \"expires_at\" (%s) must be in the future (now: %s)",
		    mw_rfc3339(t, a, sizeof a), mw_rfc3339(now, b, sizeof b));
		return MW_EREPLIED;
	}
	*out = t;
	return 0;
}

void
api_tokens_create(struct req *r)
{
	if (!cJSON_IsObject(r->body)) {
		http_reply_error(r, 400, "invalid_body", "request body must be a JSON object: {\"name\", \"scope\", \"expires_at\"}");
		return;
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(r->body, "name");
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(r->body, "scope");
	const char *why = NULL;
	if (!cJSON_IsString(name)) {
		http_reply_error(r, 400, "invalid_field", "field \"name\" %s", name ? "must be a string" : "is required");
		return;
	}
	if ((why = check_name(name->valuestring)) != NULL) {
		http_reply_error(r, 400, "invalid_field", "field \"name\" %s", why);
		return;
	}
	int sc = cJSON_IsString(scope) ? store_role_parse(scope->valuestring) : -1;
	if (sc < 0) {
		http_reply_error(r, 400, "invalid_field", "field \"scope\" %s: \"read\" (GET and HEAD only) or \"admin\"",
		    scope ? "must be" : "is required");
		return;
	}
	/* no token makes a stronger one: a read-only caller cannot get here
	   (ROUTE_ADMIN), and this says so should that ever change */
	if (sc == ROLE_ADMIN && r->role != ROLE_ADMIN) {
		http_reply_error(r, 403, "forbidden", "a read-only caller cannot create an admin token");
		return;
	}
	int64_t now = mw_wall_s(), expires;
	if (read_expiry(r, now, &expires) != 0)
		return;
	char secret[AUTH_API_TOKEN_LEN + 1], hash[AUTH_TOKEN_HASH_LEN + 1];
	if (auth_new_api_token(secret, hash) != 0) {
		http_reply_error(r, 500, "internal", "cannot make a random token");
		return;
	}
	struct token_row t;
	int rc = store_token_create(r->node->store, name->valuestring, sc, hash, expires, TOKENS_MAX, &t);
	if (rc == MW_EEXIST) {
		http_reply_error(r, 409, "token_name_taken", "a token named \"%s\" already exists", name->valuestring);
		return;
	}
	if (rc == MW_ETOOBIG) {
		http_reply_error(r, 409, "token_limit",
		    "the node already has %d API tokens, the limit (TOKENS_MAX): revoke unused or expired ones with "
		    "DELETE /api/tokens/{id}", TOKENS_MAX);
		return;
	}
	if (rc != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot write the token to the database");
		return;
	}
	log_info("auth", "API token \"%s\" (id %lld, scope %s) created by \"%s\"", t.name, (long long)t.id,
	    store_role_name(t.scope), r->user.username);
	cJSON *o = token_json(&t);
	cJSON_AddStringToObject(o, "token", secret);
	memset(secret, 0, sizeof secret);
	char loc[80];
	snprintf(loc, sizeof loc, "Location: /api/tokens/%lld\r\n", (long long)t.id);
	http_reply_json(r, 201, o, loc);
}

void
api_tokens_list(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	if (http_query_int(r, "limit", TOKENS_LIST_DEFAULT, 1, API_LIST_MAX, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset))
		return;
	struct token_row *rows = NULL;
	if (store_token_list(r->node->store, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read tokens from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, token_json(&rows[i]));
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_tokens_get(struct req *r)
{
	struct token_row t;
	if (store_token_get(r->node->store, r->id, &t) != 0) {
		http_reply_error(r, 404, "not_found", "no API token with id %lld", (long long)r->id);
		return;
	}
	http_reply_json(r, 200, token_json(&t), NULL);
}

void
api_tokens_delete(struct req *r)
{
	struct token_row t;
	struct store *st = r->node->store;
	int rc = store_token_get(st, r->id, &t);
	if (rc == 0)
		rc = store_token_delete(st, r->id);
	if (rc == MW_ENOTFOUND) {
		http_reply_error(r, 404, "not_found", "no API token with id %lld", (long long)r->id);
		return;
	}
	if (rc != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot delete the token from the database");
		return;
	}
	log_info("auth", "API token \"%s\" (id %lld) revoked by \"%s\"", t.name, (long long)t.id, r->user.username);
	http_reply_raw(r, 204, "application/json", "", 0, NULL);
}
