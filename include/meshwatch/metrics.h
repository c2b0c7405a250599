/* metrics: counters for the Prometheus exposition. Any thread may count
   (relaxed atomics); rendering reads them without a lock. */
#ifndef MESHWATCH_METRICS_H
#define MESHWATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/hist.h"
#include "meshwatch/util.h"

#define METRICS_MAX_ROUTES 64

struct metrics;
struct node;


/* route_names: the route labels, index = route id; kept by reference. */
struct metrics *metrics_create(const char *const *route_names, int nroutes) MW_MUST_CHECK;
void metrics_destroy(struct metrics *m);

/* Counts one HTTP response. Unknown statuses fall into "other". */
void metrics_count_request(struct metrics *m, int route, int status);

/* Counts one connection closed at accept because its address had
   max_conns_per_addr open already. Any thread, never blocks. */
void metrics_count_conn_refused(struct metrics *m);

/* Renders the text exposition format into a malloc'd string. */
char *metrics_render(struct metrics *m, struct node *n, size_t *len);

#endif
