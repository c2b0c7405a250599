/* mesh: the running mesh of one node: peer table, poll scheduler and
   workers, the UDP responder, mesh signatures, and the batches of poll
   results on their way to the store. Created and stopped by the main
   thread; its own threads are the scheduler and the poll workers. */
#ifndef MESHWATCH_MESH_H
#define MESHWATCH_MESH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "meshwatch/membership.h"
#include "meshwatch/hist.h"
#include "meshwatch/tlsclient.h"
#include "meshwatch/util.h"

struct node;
struct meshauth;
struct tls_client;

/* The running mesh; its fields are mesh.c's (see the accessors below). */
struct mesh;

/* Poll phases: TCP connect, TLS handshake, request to first byte of the
   answer, and the whole poll. */
enum { MESH_PHASE_CONNECT, MESH_PHASE_TLS, MESH_PHASE_TTFB, MESH_PHASE_TOTAL, MESH_POLL_PHASES };
const char *mesh_poll_phase_name(int phase); /* "connect", "tls", "ttfb", "total" */

struct mesh_stats {
	uint64_t polls_ok, polls_failed;
	uint64_t gossip_entries_dropped;   /* invalid or over the bound */
	uint64_t callers_rejected;          /* /nodeinfo callers with a bad identity or signature */
	uint64_t rows_written, rows_dropped;
	uint64_t polls_excused;             /* timed out while this machine was overloaded */
	uint64_t polls_beat;                /* answered by beats alone (no HTTPS exchange) */
	uint64_t beats_stale;               /* beats answered with a changed digest: an exchange followed */
	uint64_t beats_lost;                /* beats not answered: an exchange was tried instead */
	struct hist poll_s;         /* polls that reached the peer's address, seconds */
	/* each phase of the polls that got as far as it (mesh_poll_phase_name) */
	struct hist phase_s[MESH_POLL_PHASES];
};

/* The overload rule: where CPU pressure is read from, or why the rule is
   off, and whether this node is overloaded now. */
enum overload_source { OVL_NONE = 0, OVL_CGROUP, OVL_SYSTEM, OVL_FILE };
struct mesh_overload {
	int source;                  /* enum overload_source; OVL_NONE: the rule is off */
	char path[256];              /* the pressure file read ("" when off) */
	char why[256];               /* where the reading comes from, or why the rule is off */
	int overloaded;
	int64_t since;               /* wall-clock seconds; 0 when not overloaded */
	double pressure;             /* last reading, %; < 0 when none */
	int threshold;               /* overload_cpu_pressure */
	int excuse_max_s;
};

/* Builds the mesh: the peer table from the database and the seed file,
   this node's incarnation (one more than last run), the TLS client and
   signatures. NULL with a reason in err. */
struct mesh *mesh_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Starts the UDP responder and the poll threads. 0 or MW_E* with err. */
int mesh_start(struct mesh *m, char *err, size_t errlen) MW_MUST_CHECK;
/* Stops the threads (returns within about a poll timeout) and writes what
   is pending. Idempotent; accepts NULL. */
void mesh_stop(struct mesh *m);
/* Stops (if a start left threads) and frees. Accepts NULL. */
void mesh_destroy(struct mesh *m);

/* Main-thread timer work: writes pending results and the peer table, runs
   state timers, and every few minutes the store's retention and size cap. */
void mesh_flush(struct mesh *m);
void mesh_maintain(struct mesh *m);

void mesh_get_stats(struct mesh *m, struct mesh_stats *out);

/* This node's state digest, as its beat acks carry it: its view of the
   mesh and its published mesh targets. A poller that sees it change holds
   an HTTPS exchange. */
uint64_t mesh_beat_digest(struct mesh *m);
/* For a /nodeinfo answer asked for one: a beat ticket and key for the
   caller and the state digest as of now, as the "beat" member of o
   (nothing when the UDP responder is not running). Call before the
   answer's list is built, so the digest is never newer than the list. */
void mesh_beat_issue(struct mesh *m, cJSON *o);
/* A copy of the overload rule's state. */
void mesh_get_overload(struct mesh *m, struct mesh_overload *out);

/* Where CPU pressure is read from (the "some avg10" line of a PSI file).
   This node's own cgroup (v2) cpu.pressure when it has one (not the root
   cgroup), since it counts only this node's tasks waiting for a CPU;
   else /proc/pressure/cpu, unless in a container (root + "/.dockerenv",
   root + "/run/.containerenv", or container_env set), where that file
   counts the whole host; else none. root prefixes every path looked at
   ("" for the real ones; tests pass a directory). Fills path and why (a
   sentence for the log); returns enum overload_source. Blocks on a few
   small reads. */
int mesh_overload_source(const char *root, const char *container_env, char *path, size_t pathlen, char *why,
    size_t whylen);
/* The "some avg10" value of a PSI file in %, or -1 (errno set) when it
   cannot be read or parsed. */
double mesh_read_pressure(const char *path);

/* Indirect probes answered at once, at most (see mesh_reach). */
#define MESH_REACH_MAX_IN_FLIGHT 4

/* Answers another node's indirect probe: can this node reach peer id now?
   (GET /nodeinfo/reach, blocking for at most timeout_ms.) 1 reached, 0
   not (why in detail), MW_ENOTFOUND when the peer is unknown here or
   quarantined (never contacted on another node's behalf), MW_ELIMIT when
   MESH_REACH_MAX_IN_FLIGHT probes are being answered already. */
int mesh_reach(struct mesh *m, const char *id, int timeout_ms, struct https_result *hr);
/* Paces indirect probes: per_min a minute after a burst of up to 10 (a
   token bucket). 0 when one may go now, else the seconds to wait. */
int mesh_reach_pace(struct mesh *m, int per_min);

/* A caller of the mesh endpoints refused (bad identity or signature, not
   a member): counted in mesh_stats.callers_rejected. */
void mesh_count_rejected(struct mesh *m);

/* The mesh's parts, for the API: the peer table (thread-safe, see
   membership.h), the mesh signatures and the TLS client (both
   thread-safe). Valid until mesh_destroy. */
struct membership *mesh_membership(struct mesh *m);
struct meshauth *mesh_auth(struct mesh *m);
struct tls_client *mesh_client(struct mesh *m);
/* Mesh targets (meshtargets.h); NULL for a NULL mesh. */
struct meshtargets *mesh_targets(struct mesh *m);

/* This node's identity as announced to peers. */
void mesh_self(struct mesh *m, struct peer_news *out);

#endif
