/* targets: TCP health checks of hosts and ports that users add. Every
   target is a timer on the prober's event loop; a check is a non-blocking
   connect with the target's timeout, its name resolved through the
   resolver's pool and cache. Results queue in memory and the main thread
   writes them to the store once a second, in one transaction.

   Threads: targets_create/start/stop/destroy/flush/maintain run on the
   main thread;
   targets_changed/removed/recent/stats on any thread (HTTP workers). */
#ifndef MESHWATCH_TARGETS_H
#define MESHWATCH_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/hist.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

struct node;
struct targets;

/* A checker on the node's prober and resolver (create those first). NULL
   with a reason in err. */
struct targets *targets_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Loads the targets from the store and schedules them, spread over their
   intervals. 0, or MW_E* with a reason in err. */
int targets_start(struct targets *t, char *err, size_t errlen) MW_MUST_CHECK;
/* Cancels every check (on the loop thread, waiting for it) and stores the
   results still queued. Call before the prober stops. Idempotent; accepts
   NULL. */
void targets_stop(struct targets *t);
/* Stops (if still running) and frees. Accepts NULL. */
void targets_destroy(struct targets *t);

/* Main thread, once a second: queued results into the store. */
void targets_flush(struct targets *t);
/* Main thread, once a minute: each target's history beyond its retention. */
void targets_maintain(struct targets *t);

/* After the API stored a target (new or changed): the checker takes the
   new settings at once (a changed interval or a newly enabled target is
   checked now; a disabled one stops). */
void targets_changed(struct targets *t, const struct target_row *row);
/* After the API deleted a target: its checks stop. */
void targets_removed(struct targets *t, int64_t id);

/* The last (up to 32) results of a target held in memory: how many, and
   the share that was up. 0 when none. */
int targets_recent(struct targets *t, int64_t id, double *success_ratio);

struct targets_stats {
	int targets, enabled;
	int in_flight, queued;
	int by_state[TS_COUNT];          /* enabled targets by last state */
	uint64_t checks;                 /* since start */
	uint64_t skipped;                /* rounds skipped because a check was late by a whole interval */
	uint64_t results_dropped;        /* results the store could not take in time */
	/* scheduling lateness (start of the connect minus its due time), ms */
	double lateness_p50_ms, lateness_p99_ms, lateness_max_ms;      /* since start */
	double lateness_p50_ms_1m, lateness_p99_ms_1m;                 /* the last full minute */
	uint64_t dns_lookups, dns_cache_hits;
};
void targets_stats(struct targets *t, struct targets_stats *out);

/* One target's counts since this node started (or since the target was
   added): checks by result (enum target_state) and the connect times of
   those that connected. 0, or MW_ENOTFOUND for an id not scheduled. */
struct target_series {
	uint64_t by_state[TS_COUNT];
	struct hist connect_s;
};
int targets_series(struct targets *t, int64_t id, struct target_series *out);

/* Buckets of a target's history (also used by tests). rows oldest first;
   step_ms > 0. Each bucket: start time, checks, successes, latency average
   and p95 (nearest rank) over successful checks, < 0 when none. */
struct target_bucket {
	int64_t t_ms;
	int checks, up;
	double avg_ms, p95_ms;
};
/* Returns the number of buckets written to out (at most max), only
   buckets with checks. */
int targets_group(const struct check_row *rows, int n, int64_t step_ms, struct target_bucket *out, int max);

/* A target's host: an IPv4 or IPv6 literal, or a DNS name (letters,
   digits, '-', '.', '_'; labels of 1..63; at most 253). NULL when fine,
   else what is wrong (a phrase after "field \"host\""). */
const char *targets_host_problem(const char *h);

#endif
