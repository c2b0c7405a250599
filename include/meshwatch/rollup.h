/* rollup: per-second traffic counters in a ring covering the retention
   window, the latest top talkers, and completed minutes waiting to be
   stored. The capture thread pushes; readers (API, WebSocket, metrics,
   reports, the main thread's minute writer) copy under a short lock.
   Thread-safe. */
#ifndef MESHWATCH_ROLLUP_H
#define MESHWATCH_ROLLUP_H

#include <stdint.h>

#include "meshwatch/limits.h" /* ROLLUP_TOP_K, ROLLUP_PENDING_MAX */
#include "meshwatch/util.h"

enum { ROLLUP_TCP, ROLLUP_UDP, ROLLUP_ICMP, ROLLUP_ICMPV6, ROLLUP_OTHER, ROLLUP_NPROTO };
/* "tcp", "udp", "icmp", "icmpv6", "other" (the API's and the metrics' names). */
const char *rollup_proto_name(int slot);

/* One second (or, for stored history, one minute) of traffic. */
struct rollup_sec {
	int64_t t;                          /* start, seconds since the epoch (packet time) */
	uint64_t packets, bytes;
	uint64_t proto_bytes[ROLLUP_NPROTO];
	uint64_t drops;                     /* kernel and interface drops in the interval */
};

struct talker {
	uint8_t ip[16];                     /* IPv4 mapped as in decode.h */
	uint64_t bytes, packets;            /* sent plus received in the interval */
};

struct rollup;

/* A ring of `seconds` seconds (60 .. 86400). NULL when out of memory. */
struct rollup *rollup_create(int seconds) MW_MUST_CHECK;
void rollup_destroy(struct rollup *r);

/* Appends a second. Seconds go forward: one at or before the newest is
   added into the newest; a gap is filled with empty seconds. A completed
   minute joins the queue for the database (the oldest is dropped past
   ROLLUP_PENDING_MAX). */
void rollup_push(struct rollup *r, const struct rollup_sec *s);
/* Queues the minute in progress as it is (at the end of a file or at
   shutdown); later seconds of the same minute are added to it when stored. */
void rollup_finish_minute(struct rollup *r);
/* Moves up to max queued minutes into out; returns how many. */
int rollup_take_minutes(struct rollup *r, struct rollup_sec *out, int max);
/* Puts minutes back at the front of the queue (the database refused them). */
void rollup_return_minutes(struct rollup *r, const struct rollup_sec *in, int n);

void rollup_set_top(struct rollup *r, const struct talker *top, int n, int64_t t);

/* The newest second and the top talkers; 0, or -1 when nothing was pushed. */
int rollup_latest(struct rollup *r, struct rollup_sec *last, struct talker top[ROLLUP_TOP_K], int *ntop,
    int64_t *top_t);

/* Copies the seconds in [from, to) the ring still holds into out (room
   for max); returns how many. *oldest, *newest: what the ring covers (0
   when empty). */
int rollup_range(struct rollup *r, int64_t from, int64_t to, struct rollup_sec *out, int max, int64_t *oldest,
    int64_t *newest);

int rollup_seconds(const struct rollup *r);
uint64_t rollup_minutes_dropped(struct rollup *r);

/* Adds b into a (t kept). */
void rollup_add(struct rollup_sec *a, const struct rollup_sec *b);

#endif
