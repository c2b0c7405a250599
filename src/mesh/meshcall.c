/* meshcall: signed requests to other members and the member check of
   mesh endpoints (see meshcall.h). Runs on the caller's thread and
   blocks only in tlsclient_request; reads the peer table through
   membership's copies. */
#include "meshwatch/meshcall.h"

#include <stdio.h>
#include <string.h>

#include "meshwatch/gossip.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/util.h"

int
meshcall_request(struct mesh *m, const struct meshcall *c, struct https_result *out)
{
	memset(out, 0, sizeof *out);
	struct meshauth *auth = mesh_auth(m);
	if (!meshauth_enabled(auth)) {
		snprintf(out->detail, sizeof out->detail, "this node has no mesh secret");
		return MW_EINVAL;
	}
	struct peer_news self;
	mesh_self(m, &self);
	char ident[512], hdrs[1400], sig[256], nonce[MESHAUTH_NONCE_LEN + 1];
	const char *body = c->body ? c->body : "";
	gossip_identity_string(&self, ident, sizeof ident);
	if (gossip_identity_headers(&self, hdrs, sizeof hdrs) < 0 ||
	    meshauth_sign_request(auth, c->method, c->path, ident, c->dest, body, c->blen, mw_wall_s(), sig, sizeof sig,
	        nonce) != 0) {
		snprintf(out->detail, sizeof out->detail, "the request's headers do not fit");
		return MW_EINVAL;
	}
	strncat(hdrs, sig, sizeof hdrs - strlen(hdrs) - 1);
	if (c->blen > 0)
		strncat(hdrs, "Content-Type: application/json\r\n", sizeof hdrs - strlen(hdrs) - 1);
	int rc = tlsclient_request(mesh_client(m), c->ip, c->port, c->method, c->path, hdrs, c->blen ? body : NULL,
	    c->blen, c->max_body, c->timeout_ms, out);
	if (rc != 0) {
		char d[sizeof out->detail];
		snprintf(d, sizeof d, "%s", out->detail);
		snprintf(out->detail, sizeof out->detail, "%s: %.100s", poll_error_name(out->error), d);
		return MW_EIO;
	}
	if (meshauth_verify_response(auth, nonce, out->status, out->body, out->body_len, out->sig) != 0) {
		snprintf(out->detail, sizeof out->detail, "its answer (HTTP %d) is not signed with the mesh secret", out->status);
		return MW_EAUTH;
	}
	return 0;
}

int
meshcall_member(struct mesh *m, const char *id, const char *client, struct peer *out, char *why, size_t whylen)
{
	if (!membership_valid_id(id)) {
		snprintf(why, whylen, "only alive members of this mesh may ask: X-Mw-Id must name one");
		return 0;
	}
	if (membership_get(mesh_membership(m), id, out) != 0 || out->quarantined || out->state != PEER_ALIVE) {
		snprintf(why, whylen, "only alive members of this mesh may ask: %s is not one here", id);
		return 0;
	}
	if (!mw_ip_same_host(client, out->ip)) {
		snprintf(why, whylen, "only alive members of this mesh may ask: %s is at %.63s, not %.63s", id, out->ip, client);
		return 0;
	}
	return 1;
}
