/* metrics: counters for the Prometheus exposition. Any thread may count
   (relaxed atomics); rendering reads them without a lock. */
#ifndef MESHWATCH_METRICS_H
#define MESHWATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_ROUTES 64

struct metrics;
struct node;

/* A Prometheus histogram of durations in seconds, with fixed bucket
   bounds from 5 ms to 10 s (metrics_hist_bounds). Not thread-safe: its
   owner updates it and copies it out under its own lock. */
#define METRICS_HIST_NBOUNDS 11
extern const double metrics_hist_bounds[METRICS_HIST_NBOUNDS];
struct metrics_hist {
	uint64_t n[METRICS_HIST_NBOUNDS + 1]; /* per bucket, not cumulative; the last one is over 10 s */
	uint64_t count;
	double sum;
};
/* Adds one observation (seconds; negative values are ignored). */
void metrics_hist_observe(struct metrics_hist *h, double seconds);

/* route_names: the route labels, index = route id; kept by reference. */
struct metrics *metrics_create(const char *const *route_names, int nroutes);
void metrics_destroy(struct metrics *m);

/* Counts one HTTP response. Unknown statuses fall into "other". */
void metrics_count_request(struct metrics *m, int route, int status);

/* Counts one connection closed at accept because its address had
   max_conns_per_addr open already. Any thread, never blocks. */
void metrics_count_conn_refused(struct metrics *m);

/* Renders the text exposition format into a malloc'd string. */
char *metrics_render(struct metrics *m, struct node *n, size_t *len);

#endif
