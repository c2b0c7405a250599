/* gossip: the mesh's wire format. A poll is GET /nodeinfo carrying the
   caller's identity in X-Mw-* headers (so the callee learns of the caller
   at once: push-pull); the answer carries the callee's identity and its
   peer list. Every field from the network is validated here, and lists are
   bounded, before anything reaches the peer table. No state; any thread. */
#ifndef MESHWATCH_GOSSIP_H
#define MESHWATCH_GOSSIP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "meshwatch/membership.h"
#include "meshwatch/util.h"

struct node;

/* Identity headers for a request from node n. */
int gossip_identity_headers(const struct peer_news *self, char *out, size_t outlen);
/* The identity text signed with the request (both sides build it the same way). */
void gossip_identity_string(const struct peer_news *who, char *out, size_t outlen);

/* Validates one identity (id, fqdn, ip, port). NULL when fine, else the
   reason. ip may be empty only when allow_no_ip. */
const char *gossip_check_identity(const struct peer_news *who, int allow_no_ip);

/* Adds a peer's identity as every peer JSON starts: id, fqdn, ip, port
   and state (its name). /nodeinfo's entries, and through api/views.c
   /api/nodes, WebSocket and report snapshot entries, so that each names
   a peer the same way. */
void gossip_add_peer_identity(cJSON *o, const char *id, const char *fqdn, const char *ip, int port, int state);

/* Builds the /nodeinfo body for node n: identity, "peers_digest" (the
   view digest: a hash of every node's id, name, address, state and
   incarnation, this one included), "peers_cursor" (the table's position)
   and the peers. What the caller already has (ask, from its
   X-Mw-Peers-Digest, X-Mw-View-Digest and X-Mw-Peers-Since headers; NULL:
   nothing) shrinks the list: "peers_unchanged" when it has it all (a
   stable mesh's polls carry no list, first contacts included),
   "peers_delta" when only the entries changed since its cursor are sent.
   See membership_gossip. m: the node's peer table (mesh_membership). */
cJSON *gossip_nodeinfo(struct node *n, struct membership *m, const struct gossip_ask *ask);

/* Parses a /nodeinfo answer: the sender's identity into *who, at most
   max_peers entries into *list (malloc'd; caller frees), *n, how many
   entries were invalid or over the bound into *dropped, and unless meta
   is NULL the sender's view digest (16 hex characters), cursor ("" when
   absent or malformed) and beat ticket (meta->beat 0 when absent or
   malformed); meta's other fields are left 0.
   Returns 0, or MW_EINVAL with a reason in why when the answer as a whole
   is unusable. */
int gossip_parse_nodeinfo(const char *body, size_t len, int max_peers, struct peer_news *who,
    struct peer_news **list, int *n, int *dropped, struct gossip_meta *meta, char *why, size_t whylen) MW_MUST_CHECK;

#endif
