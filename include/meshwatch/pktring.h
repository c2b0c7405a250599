/* pktring: the most recent captured packets, as pcap records (a 16-byte
   record header in host byte order, then the captured bytes), in one
   fixed block of memory that the oldest records leave as new ones come.
   One writer (the capture thread) that never waits for a reader and
   never takes a lock; any number of readers, each with its own cursor,
   that copy out and then check that the writer did not overwrite what
   they copied (a sequence-lock discipline on the oldest offset). A reader
   that falls more than the ring's size behind loses the records it had
   not copied yet, and is told so. */
#ifndef MESHWATCH_PKTRING_H
#define MESHWATCH_PKTRING_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

#define PKTRING_HDR 16

struct pktring;

/* A ring of cap bytes (at least twice PKTRING_HDR + PCAP_RING_RECORD_MAX).
   NULL when out of memory or cap is too small. */
struct pktring *pktring_create(size_t cap) MW_MUST_CHECK;
void pktring_destroy(struct pktring *r);

/* Writer: appends one record, dropping the oldest to make room. caplen
   beyond PCAP_RING_RECORD_MAX is cut to it. ts_frac is microseconds (or
   nanoseconds: the ring does not look). Never blocks. */
void pktring_push(struct pktring *r, uint32_t ts_sec, uint32_t ts_frac, uint32_t caplen, uint32_t len,
    const uint8_t *data);

/* What the ring holds now: bytes and records, and the offsets of its
   oldest and next records (offsets count every byte ever written). */
struct pktring_stats {
	size_t cap;
	uint64_t head, tail;
	uint64_t records;       /* held now */
	uint64_t written;       /* ever */
};
void pktring_get_stats(const struct pktring *r, struct pktring_stats *out);

/* Reader: copies the bytes from *cursor (a record boundary: start at
   pktring_stats.tail) up to min(the newest record's end, limit) (limit 0:
   no limit), at most max of them, into dst; *got says how many (possibly
   ending inside a record). Returns 0 and advances *cursor; or
   MW_ENOTFOUND when the writer had dropped, or overwrote while copying,
   bytes from *cursor on (dst is then garbage): *cursor has moved to the
   oldest record and *lost_bytes says how many bytes were skipped. */
int pktring_read(const struct pktring *r, uint64_t *cursor, uint64_t limit, uint8_t *dst, size_t max, size_t *got,
    uint64_t *lost_bytes);

#endif
