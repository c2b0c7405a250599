/* meshcall: one signed request from this node to another member of the
   mesh (a mesh endpoint other than the poll's /nodeinfo: remote scans),
   and the check a mesh endpoint makes of who calls it. The request
   carries this node's identity headers and is signed with the mesh
   secret over the method, the path with its query, that identity, the
   destination's id and the body; the answer's signature is checked
   against the request's nonce. No state of its own; any thread. */
#ifndef MESHWATCH_MESHCALL_H
#define MESHWATCH_MESHCALL_H

#include <stddef.h>

#include "meshwatch/membership.h"
#include "meshwatch/tlsclient.h"

struct mesh;

struct meshcall {
	const char *ip;           /* the callee's address (numeric) and port */
	int port;
	const char *dest;         /* the callee's node id: the signature names it */
	const char *method;
	const char *path;         /* with its query, as the callee rebuilds it */
	const char *body;         /* JSON, or NULL */
	size_t blen;
	size_t max_body;          /* the largest answer read */
	int timeout_ms;
};

/* Sends c signed with the mesh secret. 0 when an answer arrived and its
   signature checks (whatever its status: out->status, out->body);
   MW_EIO when none arrived (out->detail says why, as "timeout: ...");
   MW_EAUTH when the answer is not signed with the mesh secret;
   MW_EINVAL when this node has no mesh secret (nothing is sent). The
   caller frees out with https_result_free in every case. Blocks up to
   c->timeout_ms (less when the node stops). */
int meshcall_request(struct mesh *m, const struct meshcall *c, struct https_result *out) MW_MUST_CHECK;

/* Whether a caller that signed as id (its X-Mw-Id, covered by the
   signature) and connects from client is an alive member: a known peer,
   not quarantined, alive, at that address (any loopback address stands
   for any other on one host). 1 with the peer in *out; 0 with a sentence
   in why. */
int meshcall_member(struct mesh *m, const char *id, const char *client, struct peer *out, char *why, size_t whylen);

#endif
