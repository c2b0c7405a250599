/* pktring: a byte ring addressed by 64-bit offsets that only grow
   (offset % cap is the position), so a reader's cursor stays meaningful
   however often the ring wraps. head is the end of the newest record,
   tail the start of the oldest; both are record boundaries.

   The writer (the capture thread) owns both. To make room it first moves
   tail past the records it is about to overwrite and publishes it, then
   (a release fence in between) writes the bytes, then publishes head.
   A reader loads head, copies bytes below it, then (an acquire fence)
   loads tail again: if its cursor is still at or past tail, nothing it
   copied was overwritten while it copied; if not, it throws the copy away
   and starts again at tail. Neither side ever waits for the other. The
   copy races with the writer's stores by design (as in any sequence
   lock); only the validated copy is used. */
#include "meshwatch/pktring.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/limits.h"

struct pktring {
	uint8_t *buf;
	size_t cap;
	_Atomic uint64_t head, tail;
	_Atomic uint64_t records, written;
};

struct pktring *
pktring_create(size_t cap)
{
	if (cap < 2 * (PKTRING_HDR + PCAP_RING_RECORD_MAX))
		return NULL;
	struct pktring *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	/* calloc of a large block maps fresh pages: an idle capture costs
	   only the pages its packets have touched */
	r->buf = calloc(1, cap);
	if (r->buf == NULL) {
		free(r);
		return NULL;
	}
	r->cap = cap;
	return r;
}

void
pktring_destroy(struct pktring *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

static void
copy_in(struct pktring *r, uint64_t off, const void *src, size_t n)
{
	size_t pos = (size_t)(off % r->cap), first = r->cap - pos < n ? r->cap - pos : n;
	memcpy(r->buf + pos, src, first);
	if (first < n)
		memcpy(r->buf, (const uint8_t *)src + first, n - first);
}

static void
copy_out(const struct pktring *r, uint64_t off, void *dst, size_t n)
{
	size_t pos = (size_t)(off % r->cap), first = r->cap - pos < n ? r->cap - pos : n;
	memcpy(dst, r->buf + pos, first);
	if (first < n)
		memcpy((uint8_t *)dst + first, r->buf, n - first);
}

void
pktring_push(struct pktring *r, uint32_t ts_sec, uint32_t ts_frac, uint32_t caplen, uint32_t len, const uint8_t *data)
{
	if (caplen > PCAP_RING_RECORD_MAX)
		caplen = PCAP_RING_RECORD_MAX;
	uint64_t need = PKTRING_HDR + (uint64_t)caplen;
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed), t0 = t;
	uint64_t dropped = 0;
	while (h + need - t > r->cap) {
		uint32_t hdr[4];
		copy_out(r, t, hdr, sizeof hdr);
		t += PKTRING_HDR + (uint64_t)hdr[2];
		dropped++;
	}
	if (t != t0) {
		atomic_store_explicit(&r->tail, t, memory_order_relaxed);
		/* readers must see the new tail before any byte below it changes */
		atomic_thread_fence(memory_order_release);
	}
	uint32_t hdr[4] = {ts_sec, ts_frac, caplen, len};
	copy_in(r, h, hdr, sizeof hdr);
	copy_in(r, h + PKTRING_HDR, data, caplen);
	atomic_store_explicit(&r->head, h + need, memory_order_release);
	atomic_store_explicit(&r->records, atomic_load_explicit(&r->records, memory_order_relaxed) + 1 - dropped,
	    memory_order_relaxed);
	atomic_store_explicit(&r->written, atomic_load_explicit(&r->written, memory_order_relaxed) + 1,
	    memory_order_relaxed);
}

void
pktring_get_stats(const struct pktring *r, struct pktring_stats *out)
{
	out->cap = r->cap;
	out->head = atomic_load_explicit(&r->head, memory_order_acquire);
	out->tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	out->records = atomic_load_explicit(&r->records, memory_order_relaxed);
	out->written = atomic_load_explicit(&r->written, memory_order_relaxed);
}

int
pktring_read(const struct pktring *r, uint64_t *cursor, uint64_t limit, uint8_t *dst, size_t max, size_t *got,
    uint64_t *lost_bytes)
{
	*got = 0;
	*lost_bytes = 0;
	uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (*cursor < t) {
		*lost_bytes = t - *cursor;
		*cursor = t;
		return MW_ENOTFOUND;
	}
	if (limit && h > limit)
		h = limit;
	if (h <= *cursor)
		return 0;
	uint64_t n = h - *cursor;
	if (n > max)
		n = max;
	copy_out(r, *cursor, dst, (size_t)n);
	atomic_thread_fence(memory_order_acquire);
	uint64_t t2 = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (*cursor < t2) {
		*lost_bytes += t2 - *cursor;
		*cursor = t2;
		return MW_ENOTFOUND;
	}
	*cursor += n;
	*got = (size_t)n;
	return 0;
}
