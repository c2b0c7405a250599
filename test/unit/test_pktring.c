/* pktring: records come out as they went in, across the ring's wrap; the
   oldest give way to new ones, whole; a reader that falls behind by more
   than the ring is told how much it lost and goes on from the oldest; a
   limit stops a reader at a record boundary; a reader running beside the
   writer thread only ever sees whole, correct records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/limits.h"
#include "meshwatch/pktring.h"

#define CAP (2 * (PKTRING_HDR + PCAP_RING_RECORD_MAX))

/* Record i: caplen 40 + i % 200, bytes (i + k) & 0xff, wire length caplen + 7. */
static void
push(struct pktring *r, uint32_t i)
{
	uint8_t data[300];
	uint32_t n = 40 + i % 200;
	for (uint32_t k = 0; k < n; k++)
		data[k] = (uint8_t)(i + k);
	pktring_push(r, i, i * 3, n, n + 7, data);
}

/* Checks the record at p is record i; returns its length. */
static size_t
check(const uint8_t *p, uint32_t i)
{
	uint32_t h[4];
	memcpy(h, p, sizeof h);
	assert_int_equal(h[0], i);
	assert_int_equal(h[1], i * 3);
	assert_int_equal(h[2], 40 + i % 200);
	assert_int_equal(h[3], h[2] + 7);
	for (uint32_t k = 0; k < h[2]; k++)
		assert_int_equal(p[PKTRING_HDR + k], (uint8_t)(i + k));
	return PKTRING_HDR + h[2];
}

static size_t
rec_len(uint32_t i)
{
	return PKTRING_HDR + 40 + i % 200;
}

static void
test_too_small(void **state)
{
	assert_null(pktring_create(CAP - 1));
	pktring_destroy(NULL);
}

static void
test_in_order_and_wrap(void **state)
{
	struct pktring *r = pktring_create(CAP);
	assert_non_null(r);
	uint8_t *buf = malloc(CAP);
	uint64_t cursor = 0, lost;
	uint32_t next = 0, written = 0;
	size_t got;
	/* several times round the ring, read in pieces as it goes */
	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < 500; k++)
			push(r, written++);
		assert_int_equal(pktring_read(r, &cursor, 0, buf, CAP, &got, &lost), 0);
		assert_int_equal(lost, 0);
		size_t off = 0;
		while (off < got)
			off += check(buf + off, next++);
		assert_int_equal(off, got);
	}
	assert_int_equal(next, written);
	struct pktring_stats st;
	pktring_get_stats(r, &st);
	assert_true(st.head > 4 * CAP); /* it wrapped */
	assert_int_equal(st.written, written);
	assert_true(st.head - st.tail <= CAP);
	/* the records it holds are the newest, whole */
	uint64_t c2 = st.tail;
	assert_int_equal(pktring_read(r, &c2, 0, buf, CAP, &got, &lost), 0);
	size_t off = 0;
	uint32_t first = written - (uint32_t)st.records;
	for (uint32_t i = first; i < written; i++)
		off += check(buf + off, i);
	assert_int_equal(off, got);
	/* and not one more would have fitted */
	assert_true(got + rec_len(first - 1) > CAP);
	free(buf);
	pktring_destroy(r);
}

static void
test_lapped_reader_and_limit(void **state)
{
	struct pktring *r = pktring_create(CAP);
	uint8_t *buf = malloc(CAP);
	size_t got;
	uint64_t lost, cursor = 0;
	push(r, 0);
	push(r, 1);
	/* a limit at the end of record 0 stops there */
	uint64_t c = 0;
	assert_int_equal(pktring_read(r, &c, rec_len(0), buf, CAP, &got, &lost), 0);
	assert_int_equal(got, rec_len(0));
	check(buf, 0);
	/* a small max ends inside a record: the rest comes next */
	assert_int_equal(pktring_read(r, &cursor, 0, buf, 10, &got, &lost), 0);
	assert_int_equal(got, 10);
	/* the writer goes twice round: the reader lost what it had not read */
	for (uint32_t i = 2; i < 20000; i++)
		push(r, i);
	assert_int_equal(pktring_read(r, &cursor, 0, buf, CAP, &got, &lost), MW_ENOTFOUND);
	assert_true(lost > 0);
	struct pktring_stats st;
	pktring_get_stats(r, &st);
	assert_int_equal(cursor, st.tail);
	assert_int_equal(pktring_read(r, &cursor, 0, buf, CAP, &got, &lost), 0);
	assert_int_equal(got, st.head - st.tail);
	/* caught up: nothing more */
	assert_int_equal(pktring_read(r, &cursor, 0, buf, CAP, &got, &lost), 0);
	assert_int_equal(got, 0);
	free(buf);
	pktring_destroy(r);
}

/* A record longer than PCAP_RING_RECORD_MAX keeps its first bytes. */
static void
test_long_record_cut(void **state)
{
	struct pktring *r = pktring_create(CAP);
	uint8_t *big = calloc(1, PCAP_RING_RECORD_MAX + 100), *buf = malloc(CAP);
	pktring_push(r, 1, 2, PCAP_RING_RECORD_MAX + 100, PCAP_RING_RECORD_MAX + 100, big);
	uint64_t cursor = 0, lost;
	size_t got;
	assert_int_equal(pktring_read(r, &cursor, 0, buf, CAP, &got, &lost), 0);
	assert_int_equal(got, PKTRING_HDR + PCAP_RING_RECORD_MAX);
	uint32_t h[4];
	memcpy(h, buf, sizeof h);
	assert_int_equal(h[2], PCAP_RING_RECORD_MAX);
	assert_int_equal(h[3], PCAP_RING_RECORD_MAX + 100);
	free(big);
	free(buf);
	pktring_destroy(r);
}

struct race {
	struct pktring *r;
	uint32_t n;
};

static void *
writer(void *arg)
{
	struct race *w = arg;
	for (uint32_t i = 0; i < w->n; i++)
		push(w->r, i);
	return NULL;
}

/* The writer never waits; the reader, copying beside it, sees only whole
   records in order, with gaps exactly where it was told it lost some. */
static void
test_concurrent_reader(void **state)
{
	struct race w = {pktring_create(CAP), 400000};
	uint8_t *buf = malloc(CAP + 300);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer, &w), 0);
	uint64_t cursor = 0, lost, lost_total = 0;
	size_t have = 0, got;
	uint32_t last = 0, seen = 0;
	int first = 1;
	for (;;) {
		struct pktring_stats st;
		pktring_get_stats(w.r, &st);
		int rc = pktring_read(w.r, &cursor, 0, buf + have, 64 * 1024, &got, &lost);
		if (rc != 0) {
			lost_total += lost;
			have = 0;
			continue;
		}
		have += got;
		size_t off = 0;
		while (have - off >= PKTRING_HDR) {
			uint32_t h[4];
			memcpy(h, buf + off, sizeof h);
			if (have - off < PKTRING_HDR + h[2])
				break;
			assert_true(first || h[0] > last);
			check(buf + off, h[0]);
			last = h[0];
			first = 0;
			seen++;
			off += PKTRING_HDR + h[2];
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (got == 0 && st.written == w.n && last == w.n - 1)
			break;
	}
	pthread_join(t, NULL);
	assert_int_equal(last, w.n - 1);
	assert_true(seen > 0);
	print_message("# %u of %u records read beside the writer, %llu bytes skipped\n", seen, w.n,
	    (unsigned long long)lost_total);
	free(buf);
	pktring_destroy(w.r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_in_order_and_wrap),
		cmocka_unit_test(test_lapped_reader_and_limit),
		cmocka_unit_test(test_long_record_cut),
		cmocka_unit_test(test_concurrent_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
