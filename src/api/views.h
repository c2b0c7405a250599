/* views: the JSON of each thing this node shows in more than one place,
   built in one place so that every REST answer, WebSocket frame and report
   snapshot names its fields the same way. Each builder returns a new
   object the caller owns (adds to a parent or deletes), or NULL where
   said. They read only what they are given, or the modules' thread-safe
   accessors (membership, targets, capture); any thread. A header of the
   api layer alone. */
#ifndef MESHWATCH_VIEWS_H
#define MESHWATCH_VIEWS_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct disc_change;
struct disc_host;
struct disc_service;
struct event_row;
struct membership;
struct node;
struct peer;
struct rollup_sec;
struct scan_row;
struct target_row;
struct targets_stats;

/* Mesh: the counts {total, alive, suspect, dead} of the peer table; a
   peer as /api/nodes and the "mesh" frame show it (identity from
   gossip_add_peer_identity, then times, pin, poll, udp, pmtu, vantage); a
   peer in a report snapshot (identity, then the figures a reporting node's
   matrix keeps); a seed not reached yet (no id: fqdn, ip, port, its last
   poll and error). */
cJSON *views_mesh_counts(struct membership *m);
cJSON *views_peer(const struct peer *p);
cJSON *views_peer_brief(const struct peer *p, int64_t now);
cJSON *views_seed(const struct peer *p);

/* TCP targets: a target as /api/targets shows it; in a report snapshot
   (id, name, host, port, state, success_ratio); the "by_state" counts
   added to o. */
cJSON *views_target(struct node *n, const struct target_row *t);
/* A target's mesh fields: mesh, vantage (ids or null), origin (the node
   a copy is checked for, or null) and, for this node's own mesh targets,
   the agreement of its vantage points (detail: each of them too). */
void views_add_target_mesh(struct node *n, const struct target_row *t, cJSON *o, int detail);
cJSON *views_target_brief(struct node *n, const struct target_row *t);
void views_add_target_states(cJSON *o, const struct targets_stats *s);

/* Discovery: a scan (/api/scans, the "scans" frame); a service (with its
   host's ip for /api/services, without inside a host); a host as
   /api/hosts shows it and in a report snapshot (services as "port/name",
   at most max_services of them); a change (/api/changes, snapshots). */
cJSON *views_scan(const struct scan_row *s);
cJSON *views_service(const struct disc_service *v, int with_ip);
cJSON *views_host(const struct disc_host *h);
cJSON *views_host_brief(const struct disc_host *h, int max_services);
cJSON *views_change(const struct disc_change *c);

/* One event as GET /api/events and the "events" topic show it (its time
   with milliseconds, so events of one second stay in order). */
cJSON *views_event(const struct event_row *e);

/* Traffic: one bucket of counters over step seconds (/api/counters; source
   "seconds" or "minutes", or NULL to leave it out); the newest second of
   counters (the "rates" frame without its type) and the top k talkers of
   the newest interval, both NULL while capture is off or has nothing yet. */
cJSON *views_counter(const struct rollup_sec *s, int step, const char *source);
cJSON *views_traffic_rates(struct node *n);
cJSON *views_traffic_top(struct node *n, int k);

#endif
