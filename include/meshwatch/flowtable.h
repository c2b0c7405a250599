/* flowtable: bidirectional flows keyed by (addresses, ports, protocol,
   VLAN), in an open-addressing table with a seeded XXH3 hash. Bounded: at
   max_flows a new flow evicts the least recently seen of a few candidates.
   Time is the packets' own (microseconds), so a capture file ages its flows
   as it was recorded. Not thread-safe: one owner (the capture thread). */
#ifndef MESHWATCH_FLOWTABLE_H
#define MESHWATCH_FLOWTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

struct decoded;

/* Canonical key: (a, aport) is the smaller endpoint, so both directions of
   a conversation meet in one flow. */
struct flow_key {
	uint8_t a[16], b[16];
	uint16_t aport, bport;
	uint16_t vlan;
	uint8_t proto;
	uint8_t pad;    /* zero: the key is hashed as bytes */
};

struct flow {
	struct flow_key key;
	uint64_t packets, bytes;
	uint64_t a_to_b_bytes, b_to_a_bytes;
	uint64_t a_to_b_packets;            /* b to a: packets - a_to_b_packets */
	uint64_t tick_bytes, tick_packets;  /* at the last flowtable_sweep: per-interval deltas */
	int64_t first_us, last_us;
	uint8_t tcp_flags;                  /* OR of every packet's flags */
	uint8_t closing;                    /* FIN or RST seen: shorter TTL */
	uint16_t pad;
	uint32_t hash;
};

/* Idle times before a flow expires, in seconds. */
#define FLOW_TTL_TCP 120
#define FLOW_TTL_TCP_CLOSED 10
#define FLOW_TTL_UDP 30
#define FLOW_TTL_ICMP 10
#define FLOW_TTL_OTHER 30

struct flowtable_stats {
	uint64_t created;
	uint64_t expired;     /* idle past their TTL */
	uint64_t evicted;     /* pushed out at max_flows */
};

struct flowtable;

/* Why a flow left the table (the values are IPFIX's flowEndReason). */
enum flow_end {
	FLOW_END_IDLE = 1,     /* idle past its TTL */
	FLOW_END_CLOSED = 3,   /* a TCP flow that saw FIN or RST, then went idle */
	FLOW_END_FORCED = 4,   /* the end of a capture file, or of the capture */
	FLOW_END_EVICTED = 5,  /* pushed out at max_flows */
};

/* A table for at most max_flows flows (>= 16); seed keys the hash. NULL
   when out of memory. */
struct flowtable *flowtable_create(uint32_t max_flows, uint64_t seed) MW_MUST_CHECK;
void flowtable_destroy(struct flowtable *ft);

/* Calls fn(flow, reason, arg) for every flow just before the table drops
   it (expiry in flowtable_sweep, eviction at max_flows in an update), on
   the owner's thread; fn must not touch the table. NULL: none. */
void flowtable_set_on_end(struct flowtable *ft, void (*fn)(const struct flow *, int reason, void *), void *arg);

/* Counts one packet of wirelen bytes at time now_us into its flow,
   creating it (and evicting another at the cap) if needed. Returns the
   flow, never NULL. */
struct flow *flowtable_update(struct flowtable *ft, const struct decoded *d, uint32_t wirelen, int64_t now_us);

/* The same, for a stream of packets: a packet added to the batch has its
   index slot and then its flow fetched from memory while the packets
   before it are counted, so the table's cache misses overlap instead of
   adding up. Packets are counted in the order added; a packet is in the
   table only after FLOW_BATCH later ones were added or after
   flowtable_batch_flush, which must run before sweeps and reads. */
#define FLOW_BATCH 16
struct flow_pending {
	struct flow_key key;
	uint32_t hash, wirelen;
	int64_t us;
	uint8_t forward, tcp_flags;
};
struct flow_batch {
	struct flow_pending p[FLOW_BATCH];
	unsigned head, n;
};
void flowtable_batch_add(struct flowtable *ft, struct flow_batch *b, const struct decoded *d, uint32_t wirelen,
    int64_t now_us);
void flowtable_batch_flush(struct flowtable *ft, struct flow_batch *b);

/* Looks a flow up by canonical key; NULL when absent. */
struct flow *flowtable_find(struct flowtable *ft, const struct flow_key *k);

/* Builds the canonical key of a packet; *forward says whether the packet
   goes from a to b. */
void flowtable_key(const struct decoded *d, struct flow_key *k, int *forward);

/* Removes flows idle past their TTL at now_us; returns how many. Calls
   fn(flow, arg) on every remaining flow first (it may read the flow's
   tick_* deltas, which are then reset), or nothing when fn is NULL. */
int flowtable_sweep(struct flowtable *ft, int64_t now_us, void (*fn)(const struct flow *, void *), void *arg);

/* The live flows, densely packed (n of them). Valid until the next
   update or sweep. */
const struct flow *flowtable_flows(const struct flowtable *ft, uint32_t *n);
uint32_t flowtable_count(const struct flowtable *ft);
void flowtable_get_stats(const struct flowtable *ft, struct flowtable_stats *out);

/* Idle TTL of a flow in seconds. */
int flowtable_ttl(const struct flow *f);

#endif
