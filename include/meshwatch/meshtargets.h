/* meshtargets: TCP targets checked from many vantage points. A target
   marked "mesh" (optionally with a list of vantage nodes) is published in
   this node's signed /nodeinfo answers; every node that polls it keeps a
   copy (a target row with an origin) and checks it with its own checker,
   and answers the origin's polls with its copies' last results. So the
   state of a target as each vantage point sees it travels on the polls
   the mesh makes anyway: nothing is sent unless something changed (the
   caller names the list it holds by digest) or there are results for the
   caller.

   Only with a mesh secret: the list and the results ride in answers
   signed with it, and each node publishes only its own targets (nobody
   relays another's). A node that takes copies applies its own limits
   (mesh_targets: accept or not; mesh_targets_max copies from all
   origins; MESH_TARGET_MIN_INTERVAL_S), and says what it declined, so
   the origin shows "declined" rather than waiting forever.

   Thread-safe: polls (mesh workers), /nodeinfo (HTTP workers) and the API
   call in at once. */
#ifndef MESHWATCH_MESHTARGETS_H
#define MESHWATCH_MESHTARGETS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

struct meshauth;
struct membership;
struct meshtargets;
struct node;

/* For node n, its peer table and its mesh signatures (the mesh's own,
   which outlive this). NULL when out of memory. */
struct meshtargets *meshtargets_create(struct node *n, struct membership *members, struct meshauth *auth)
    MW_MUST_CHECK;
void meshtargets_destroy(struct meshtargets *mt);

/* After the API changed this node's own targets (one that is, or was,
   a mesh target): the published list is rebuilt on the next answer. */
void meshtargets_own_changed(struct meshtargets *mt);

/* The caller's side of a poll of peer_id: the header naming the list
   held from it ("X-Mw-Targets-Digest: ...\r\n"), "" when signing is off. */
void meshtargets_poll_header(struct meshtargets *mt, const char *peer_id, char *out, size_t outlen);
/* The callee's side: adds this node's list to a /nodeinfo answer o when
   the caller's digest (header; "" when none) is not the current one, and
   the results of the copies checked here for caller_id (the signed
   caller; "" when unknown). Nothing when signing is off. */
void meshtargets_nodeinfo(struct meshtargets *mt, cJSON *o, const char *caller_id, const char *caller_digest);
/* The digest of this node's published list (0 when none or signing is
   off), part of the state digest beats carry (see mesh.c). */
uint64_t meshtargets_own_digest(struct meshtargets *mt);
/* Whether peer_id checks one of this node's mesh targets (a vantage point
   of one, or all nodes are): its results come in HTTPS exchanges, so it
   is polled with one every interval. */
int meshtargets_wants_results(struct meshtargets *mt, const char *peer_id);
/* A signed answer from peer_id (its body): takes its list (copies added,
   changed, removed) and its results for this node's targets. */
void meshtargets_answer(struct meshtargets *mt, const char *peer_id, const char *peer_fqdn, const char *body,
    size_t len);
/* Main thread, once a minute: copies whose origin has not answered for
   MESH_TARGET_ORPHAN_S go (an origin gone for good leaves nothing
   checking on its behalf). */
void meshtargets_maintain(struct meshtargets *mt);

/* What the API shows of one of this node's own mesh targets: the
   vantage points (this node first), each with its state, latency and
   age, and their agreement ("up at 3 of 4"). detail 0: the agreement
   only (lists). Adds to o. */
void meshtargets_view(struct meshtargets *mt, const struct target_row *t, cJSON *o, int detail);

/* The same agreement as counts: vantage points up, down (any failed
   state), stale, pending (not heard from), declined, and how many are
   expected (this node and the named ones, or every alive peer). */
struct meshtargets_tally {
	int up, down, stale, pending, declined, expected;
};
void meshtargets_tally(struct meshtargets *mt, const struct target_row *t, struct meshtargets_tally *out);

struct meshtargets_stats {
	int own, origins;
	uint64_t lists_in, results_in, declined;
};
void meshtargets_stats(struct meshtargets *mt, struct meshtargets_stats *out);

/* Parses a vantage text "id,id" into ids (at most max); returns how many. */
int meshtargets_vantage_ids(const char *text, char (*ids)[37], int max);
/* The same ids as a JSON array ([] when every node). */
cJSON *meshtargets_vantage_json(const char *text);

#endif
