/* flowtable: flows live densely in one array (so sweeps and snapshots walk
   memory in order); an open-addressing index of (flow number, hash) slots
   with linear probing finds them. The index has at least twice as many
   slots as flows, so probes stay short; deletion shifts the following
   slots back (no tombstones), and the last flow moves into the hole.
   Owned by the capture thread; nothing here locks or allocates after
   flowtable_create. */
#include "meshwatch/flowtable.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "meshwatch/decode.h"

#define EVICT_CANDIDATES 8
#define TCP_FIN 0x01
#define TCP_RST 0x04

struct slot {
	uint32_t idx1;   /* flow index + 1; 0 = empty */
	uint32_t hash;
};

struct flowtable {
	struct flow *flows;
	uint32_t n, max;
	struct slot *slots;
	uint32_t mask;
	uint32_t hand;   /* where the next emergency eviction looks */
	uint64_t seed;
	struct flowtable_stats stats;
	void (*on_end)(const struct flow *, int, void *);
	void *on_end_arg;
};

void
flowtable_set_on_end(struct flowtable *ft, void (*fn)(const struct flow *, int reason, void *), void *arg)
{
	ft->on_end = fn;
	ft->on_end_arg = arg;
}

struct flowtable *
flowtable_create(uint32_t max_flows, uint64_t seed)
{
	if (max_flows < 16)
		max_flows = 16;
	if (max_flows > (1u << 28))
		return NULL;
	struct flowtable *ft = calloc(1, sizeof *ft);
	if (ft == NULL)
		return NULL;
	uint32_t cap = 32;
	while (cap < max_flows * 2u)
		cap <<= 1;
	ft->max = max_flows;
	ft->mask = cap - 1;
	ft->seed = seed;
	/* calloc: large blocks come from mmap, so untouched flows cost no memory */
	ft->flows = calloc(max_flows, sizeof *ft->flows);
	ft->slots = calloc(cap, sizeof *ft->slots);
	if (ft->flows == NULL || ft->slots == NULL) {
		flowtable_destroy(ft);
		return NULL;
	}
	return ft;
}

void
flowtable_destroy(struct flowtable *ft)
{
	if (ft == NULL)
		return;
	free(ft->flows);
	free(ft->slots);
	free(ft);
}

void
flowtable_key(const struct decoded *d, struct flow_key *k, int *forward)
{
	int c = memcmp(d->src, d->dst, 16);
	int fwd = c < 0 || (c == 0 && d->sport <= d->dport);
	memset(k, 0, sizeof *k);
	if (fwd) {
		memcpy(k->a, d->src, 16);
		memcpy(k->b, d->dst, 16);
		k->aport = d->sport;
		k->bport = d->dport;
	} else {
		memcpy(k->a, d->dst, 16);
		memcpy(k->b, d->src, 16);
		k->aport = d->dport;
		k->bport = d->sport;
	}
	k->vlan = d->vlan;
	k->proto = d->proto;
	*forward = fwd;
}

static uint32_t
key_hash(const struct flowtable *ft, const struct flow_key *k)
{
	return (uint32_t)XXH3_64bits_withSeed(k, sizeof *k, ft->seed);
}

/* Slot position of key k (hash h), or of the empty slot where it would go. */
static uint32_t
probe(const struct flowtable *ft, const struct flow_key *k, uint32_t h)
{
	uint32_t i = h & ft->mask;
	for (;;) {
		const struct slot *s = &ft->slots[i];
		if (s->idx1 == 0)
			return i;
		if (s->hash == h && memcmp(&ft->flows[s->idx1 - 1].key, k, sizeof *k) == 0)
			return i;
		i = (i + 1) & ft->mask;
	}
}

static uint32_t
slot_of(const struct flowtable *ft, uint32_t fi)
{
	uint32_t i = ft->flows[fi].hash & ft->mask;
	while (ft->slots[i].idx1 != fi + 1)
		i = (i + 1) & ft->mask;
	return i;
}

/* Removes flow fi: the index closes over its slot, the last flow takes its
   place in the array. */
static void
remove_flow(struct flowtable *ft, uint32_t fi)
{
	uint32_t s = slot_of(ft, fi), j = s;
	for (;;) {
		j = (j + 1) & ft->mask;
		if (ft->slots[j].idx1 == 0)
			break;
		uint32_t home = ft->slots[j].hash & ft->mask;
		/* j's entry may fill the hole at s unless its home lies in (s, j] */
		int stays = s <= j ? (home > s && home <= j) : (home > s || home <= j);
		if (stays)
			continue;
		ft->slots[s] = ft->slots[j];
		s = j;
	}
	ft->slots[s] = (struct slot){0};
	uint32_t last = ft->n - 1;
	if (fi != last) {
		ft->slots[slot_of(ft, last)].idx1 = fi + 1;
		ft->flows[fi] = ft->flows[last];
	}
	ft->n--;
}

/* The least recently seen of a few flows at the clock hand: cheap, and
   good enough to keep a flood of one-packet flows from pushing out the
   long conversations. */
static void
evict_one(struct flowtable *ft)
{
	uint32_t best = ft->hand % ft->n;
	for (uint32_t k = 0; k < EVICT_CANDIDATES; k++) {
		uint32_t i = (ft->hand + k) % ft->n;
		if (ft->flows[i].last_us < ft->flows[best].last_us)
			best = i;
	}
	ft->hand += EVICT_CANDIDATES;
	if (ft->on_end)
		ft->on_end(&ft->flows[best], FLOW_END_EVICTED, ft->on_end_arg);
	remove_flow(ft, best);
	ft->stats.evicted++;
}

struct flow *
flowtable_find(struct flowtable *ft, const struct flow_key *k)
{
	uint32_t i = probe(ft, k, key_hash(ft, k));
	return ft->slots[i].idx1 ? &ft->flows[ft->slots[i].idx1 - 1] : NULL;
}

static struct flow *
commit(struct flowtable *ft, const struct flow_pending *pk)
{
	uint32_t i = probe(ft, &pk->key, pk->hash);
	struct flow *f;
	if (ft->slots[i].idx1) {
		f = &ft->flows[ft->slots[i].idx1 - 1];
	} else {
		if (ft->n == ft->max) {
			evict_one(ft);
			i = probe(ft, &pk->key, pk->hash); /* the shift may have moved the empty slot */
		}
		uint32_t fi = ft->n++;
		f = &ft->flows[fi];
		memset(f, 0, sizeof *f);
		f->key = pk->key;
		f->hash = pk->hash;
		f->first_us = pk->us;
		ft->slots[i] = (struct slot){.idx1 = fi + 1, .hash = pk->hash};
		ft->stats.created++;
	}
	f->packets++;
	f->bytes += pk->wirelen;
	if (pk->forward) {
		f->a_to_b_bytes += pk->wirelen;
		f->a_to_b_packets++;
	} else {
		f->b_to_a_bytes += pk->wirelen;
	}
	if (pk->us > f->last_us)
		f->last_us = pk->us;
	if (pk->key.proto == 6) {
		f->tcp_flags |= pk->tcp_flags;
		if (pk->tcp_flags & (TCP_FIN | TCP_RST))
			f->closing = 1;
	}
	return f;
}

static void
prepare(const struct flowtable *ft, const struct decoded *d, uint32_t wirelen, int64_t now_us, struct flow_pending *pk)
{
	int fwd;
	flowtable_key(d, &pk->key, &fwd);
	pk->forward = (uint8_t)fwd;
	pk->tcp_flags = d->tcp_flags;
	pk->hash = key_hash(ft, &pk->key);
	pk->wirelen = wirelen;
	pk->us = now_us;
}

struct flow *
flowtable_update(struct flowtable *ft, const struct decoded *d, uint32_t wirelen, int64_t now_us)
{
	struct flow_pending pk;
	prepare(ft, d, wirelen, now_us, &pk);
	return commit(ft, &pk);
}

void
flowtable_batch_add(struct flowtable *ft, struct flow_batch *b, const struct decoded *d, uint32_t wirelen,
    int64_t now_us)
{
	if (b->n == FLOW_BATCH) {
		commit(ft, &b->p[b->head]);
		b->head = (b->head + 1) % FLOW_BATCH;
		b->n--;
	}
	struct flow_pending *pk = &b->p[(b->head + b->n) % FLOW_BATCH];
	prepare(ft, d, wirelen, now_us, pk);
	__builtin_prefetch(&ft->slots[pk->hash & ft->mask]);
	b->n++;
	/* halfway along, its slot has arrived: fetch the flow it points to */
	if (b->n > FLOW_BATCH / 2) {
		const struct flow_pending *mid = &b->p[(b->head + b->n - 1 - FLOW_BATCH / 2) % FLOW_BATCH];
		const struct slot *sl = &ft->slots[mid->hash & ft->mask];
		if (sl->idx1) {
			const char *fp = (const char *)&ft->flows[sl->idx1 - 1];
			__builtin_prefetch(fp, 1);
			__builtin_prefetch(fp + 64, 1);
		}
	}
}

void
flowtable_batch_flush(struct flowtable *ft, struct flow_batch *b)
{
	for (; b->n > 0; b->n--) {
		commit(ft, &b->p[b->head]);
		b->head = (b->head + 1) % FLOW_BATCH;
	}
	b->head = 0;
}

int
flowtable_ttl(const struct flow *f)
{
	switch (f->key.proto) {
	case 6:
		return f->closing ? FLOW_TTL_TCP_CLOSED : FLOW_TTL_TCP;
	case 17:
		return FLOW_TTL_UDP;
	case 1:
	case 58:
		return FLOW_TTL_ICMP;
	default:
		return FLOW_TTL_OTHER;
	}
}

int
flowtable_sweep(struct flowtable *ft, int64_t now_us, void (*fn)(const struct flow *, void *), void *arg)
{
	int gone = 0;
	uint32_t i = 0;
	while (i < ft->n) {
		struct flow *f = &ft->flows[i];
		if (fn)
			fn(f, arg);
		f->tick_bytes = f->bytes;
		f->tick_packets = f->packets;
		if (now_us - f->last_us > (int64_t)flowtable_ttl(f) * 1000000) {
			if (ft->on_end)
				ft->on_end(f, f->closing ? FLOW_END_CLOSED : FLOW_END_IDLE, ft->on_end_arg);
			remove_flow(ft, i); /* the last flow moved to i: look at i again */
			ft->stats.expired++;
			gone++;
			continue;
		}
		i++;
	}
	return gone;
}

const struct flow *
flowtable_flows(const struct flowtable *ft, uint32_t *n)
{
	*n = ft->n;
	return ft->flows;
}

uint32_t
flowtable_count(const struct flowtable *ft)
{
	return ft->n;
}

void
flowtable_get_stats(const struct flowtable *ft, struct flowtable_stats *out)
{
	*out = ft->stats;
}
