/* hist: a histogram of durations for the Prometheus exposition (the
   layers that time things keep one; api/metrics.c renders it). */
#ifndef MESHWATCH_HIST_H
#define MESHWATCH_HIST_H
#include <stdint.h>

/* A Prometheus histogram of durations in seconds, with fixed bucket
   bounds from 5 ms to 10 s (hist_bounds). Not thread-safe: its
   owner updates it and copies it out under its own lock. */
#define HIST_NBOUNDS 11
extern const double hist_bounds[HIST_NBOUNDS];
struct hist {
	uint64_t n[HIST_NBOUNDS + 1]; /* per bucket, not cumulative; the last one is over 10 s */
	uint64_t count;
	double sum;
};
/* Adds one observation (seconds; negative values are ignored). */
void hist_observe(struct hist *h, double seconds);

#endif
