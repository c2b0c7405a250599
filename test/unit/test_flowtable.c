/* flowtable: both directions in one flow, keys that must stay apart, the
   idle TTLs by protocol (shorter after FIN or RST), the cap with its
   evictions, and the index staying consistent through a long random run
   of inserts and removals. Also the rollup ring that the capture feeds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/decode.h"
#include "meshwatch/flowtable.h"
#include "meshwatch/rollup.h"

#define S 1000000LL /* microseconds */

static struct decoded
pkt(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t proto)
{
	struct decoded d;
	memset(&d, 0, sizeof d);
	d.src[10] = d.src[11] = d.dst[10] = d.dst[11] = 0xff;
	for (int i = 0; i < 4; i++) {
		d.src[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		d.dst[12 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	d.sport = sport;
	d.dport = dport;
	d.proto = proto;
	return d;
}

static void
test_bidirectional(void **state)
{
	struct flowtable *ft = flowtable_create(1024, 42);
	assert_non_null(ft);
	struct decoded ab = pkt(0x0a000002, 40000, 0x0a000001, 80, 6);
	struct decoded ba = pkt(0x0a000001, 80, 0x0a000002, 40000, 6);
	ab.tcp_flags = 0x02;
	flowtable_update(ft, &ab, 100, 1 * S);
	ba.tcp_flags = 0x12;
	flowtable_update(ft, &ba, 60, 2 * S);
	ab.tcp_flags = 0x10;
	struct flow *f = flowtable_update(ft, &ab, 1500, 3 * S);
	assert_int_equal(flowtable_count(ft), 1);
	assert_int_equal(f->packets, 3);
	assert_int_equal(f->bytes, 1660);
	/* a is the smaller address: 10.0.0.1:80 */
	assert_int_equal(f->key.a[15], 1);
	assert_int_equal(f->key.aport, 80);
	assert_int_equal(f->a_to_b_bytes, 60);
	assert_int_equal(f->b_to_a_bytes, 1600);
	assert_int_equal(f->tcp_flags, 0x12);
	assert_int_equal(f->first_us, 1 * S);
	assert_int_equal(f->last_us, 3 * S);
	/* same addresses: the ports decide; equal endpoints still one flow */
	struct decoded self1 = pkt(0x0a000001, 5, 0x0a000001, 9, 17), self2 = pkt(0x0a000001, 9, 0x0a000001, 5, 17);
	flowtable_update(ft, &self1, 10, 4 * S);
	f = flowtable_update(ft, &self2, 20, 4 * S);
	assert_int_equal(f->key.aport, 5);
	assert_int_equal(f->a_to_b_bytes, 10);
	assert_int_equal(f->b_to_a_bytes, 20);
	/* VLAN and protocol keep flows apart */
	struct decoded v = ab;
	v.vlan = 100;
	flowtable_update(ft, &v, 1, 5 * S);
	struct decoded u = ab;
	u.proto = 17;
	flowtable_update(ft, &u, 1, 5 * S);
	assert_int_equal(flowtable_count(ft), 4);
	struct flow_key k;
	int fwd;
	flowtable_key(&v, &k, &fwd);
	assert_false(fwd);
	assert_non_null(flowtable_find(ft, &k));
	assert_int_equal(flowtable_find(ft, &k)->key.vlan, 100);
	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_int_equal(st.created, 4);
	flowtable_destroy(ft);
	flowtable_destroy(NULL);
}

static int ticks;
static uint64_t tick_bytes;

static void
on_tick(const struct flow *f, void *arg)
{
	(void)arg;
	ticks++;
	tick_bytes += f->bytes - f->tick_bytes;
}

static void
test_ttl(void **state)
{
	struct flowtable *ft = flowtable_create(64, 1);
	struct decoded udp = pkt(1, 1, 2, 2, 17), tcp = pkt(1, 1, 2, 3, 6), icmp = pkt(1, 0, 2, 0, 1),
		       gre = pkt(1, 0, 2, 0, 47), fin = pkt(1, 1, 2, 4, 6), rst = pkt(1, 1, 2, 5, 6);
	fin.tcp_flags = 0x11;
	rst.tcp_flags = 0x04;
	int64_t t0 = 1000 * S;
	flowtable_update(ft, &udp, 100, t0);
	flowtable_update(ft, &tcp, 100, t0);
	flowtable_update(ft, &icmp, 100, t0);
	flowtable_update(ft, &gre, 100, t0);
	flowtable_update(ft, &fin, 100, t0);
	flowtable_update(ft, &rst, 100, t0);
	/* the callback sees every flow and the bytes since the last sweep */
	assert_int_equal(flowtable_sweep(ft, t0 + 10 * S, on_tick, NULL), 0);
	assert_int_equal(ticks, 6);
	assert_int_equal(tick_bytes, 600);
	tick_bytes = 0;
	flowtable_update(ft, &udp, 50, t0 + 10 * S);
	/* past 10 s: ICMP and the closed TCP flows go */
	assert_int_equal(flowtable_sweep(ft, t0 + 10 * S + 1, on_tick, NULL), 3);
	assert_int_equal(tick_bytes, 50);
	assert_int_equal(flowtable_count(ft), 3);
	/* 30 s: GRE (the UDP flow was refreshed at 10 s) */
	assert_int_equal(flowtable_sweep(ft, t0 + 30 * S + 1, NULL, NULL), 1);
	assert_int_equal(flowtable_sweep(ft, t0 + 40 * S, NULL, NULL), 0);
	assert_int_equal(flowtable_sweep(ft, t0 + 40 * S + 1, NULL, NULL), 1);
	/* TCP lasts 120 s */
	assert_int_equal(flowtable_sweep(ft, t0 + 120 * S, NULL, NULL), 0);
	assert_int_equal(flowtable_sweep(ft, t0 + 120 * S + 1, NULL, NULL), 1);
	assert_int_equal(flowtable_count(ft), 0);
	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_int_equal(st.expired, 6);
	assert_int_equal(st.evicted, 0);
	/* a FIN later in a conversation shortens it from then on */
	flowtable_update(ft, &tcp, 1, t0);
	assert_int_equal(flowtable_ttl(flowtable_update(ft, &tcp, 1, t0)), FLOW_TTL_TCP);
	tcp.tcp_flags = 0x01;
	assert_int_equal(flowtable_ttl(flowtable_update(ft, &tcp, 1, t0)), FLOW_TTL_TCP_CLOSED);
	flowtable_destroy(ft);
}

static void
test_cap_and_eviction(void **state)
{
	/* below 16 is raised to 16 */
	struct flowtable *ft = flowtable_create(3, 7);
	struct decoded hot = pkt(0x01010101, 1, 0x02020202, 2, 17);
	int64_t t = 0;
	flowtable_update(ft, &hot, 1, t);
	for (uint32_t i = 0; i < 1000; i++) {
		struct decoded d = pkt(0x0a000000 + i, 1000, 0x0b000000, 53, 17);
		flowtable_update(ft, &d, 1, ++t);
		flowtable_update(ft, &hot, 1, ++t); /* the conversation that goes on */
	}
	assert_int_equal(flowtable_count(ft), 16);
	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_int_equal(st.created, 1001);
	assert_int_equal(st.evicted, 1001 - 16);
	struct flow_key k;
	int fwd;
	flowtable_key(&hot, &k, &fwd);
	struct flow *f = flowtable_find(ft, &k);
	assert_non_null(f);
	assert_int_equal(f->packets, 1001);
	/* the newest new flow is there too */
	struct decoded last = pkt(0x0a000000 + 999, 1000, 0x0b000000, 53, 17);
	flowtable_key(&last, &k, &fwd);
	assert_non_null(flowtable_find(ft, &k));
	flowtable_destroy(ft);
}

/* A long random run against a plain list: every flow is found where the
   index says, counts agree, after inserts, evictions and sweeps. */
static void
test_random_consistency(void **state)
{
	enum { MAXF = 64, KEYS = 300 };
	struct flowtable *ft = flowtable_create(MAXF, 99);
	uint64_t pk[KEYS] = {0};
	srand(5);
	int64_t t = 0;
	for (int op = 0; op < 20000; op++) {
		uint32_t k = (uint32_t)rand() % KEYS;
		struct decoded d = pkt(0x0a000000 + k, (uint16_t)k, 0x0b000000, 80, (k % 3) ? 6 : 17);
		t += 10000;
		flowtable_update(ft, &d, 1, t);
		if (op % 997 == 0)
			flowtable_sweep(ft, t + (rand() % 2) * 40 * S, NULL, NULL);
		(void)pk;
	}
	uint32_t n;
	const struct flow *fl = flowtable_flows(ft, &n);
	assert_int_equal(n, flowtable_count(ft));
	assert_true(n <= MAXF);
	for (uint32_t i = 0; i < n; i++) {
		struct flow *f = flowtable_find(ft, &fl[i].key);
		assert_ptr_equal(f, &fl[i]);
	}
	/* and a removed key is not found */
	flowtable_sweep(ft, t + 1000 * S, NULL, NULL);
	assert_int_equal(flowtable_count(ft), 0);
	struct decoded d = pkt(0x0a000001, 1, 0x0b000000, 80, 6);
	struct flow_key key;
	int fwd;
	flowtable_key(&d, &key, &fwd);
	assert_null(flowtable_find(ft, &key));
	flowtable_destroy(ft);
}

/* The batched path counts exactly what the direct one does. */
static void
test_batch_matches_update(void **state)
{
	struct flowtable *a = flowtable_create(4096, 3), *b = flowtable_create(4096, 4);
	static struct flow_batch batch;
	srand(11);
	for (int i = 0; i < 50000; i++) {
		uint32_t k = (uint32_t)rand() % 3000;
		struct decoded d = (rand() & 1) ? pkt(0x0a000000 + k, 1000, 0x0b000001, 443, 6) : pkt(0x0b000001, 443, 0x0a000000 + k, 1000, 6);
		d.tcp_flags = (uint8_t)(1 << (rand() % 5));
		uint32_t len = 60 + (uint32_t)(rand() % 1400);
		flowtable_update(a, &d, len, i);
		flowtable_batch_add(b, &batch, &d, len, i);
		if (i % 7777 == 0)
			flowtable_batch_flush(b, &batch);
	}
	flowtable_batch_flush(b, &batch);
	assert_int_equal(flowtable_count(a), flowtable_count(b));
	uint32_t n;
	const struct flow *fa = flowtable_flows(a, &n);
	for (uint32_t i = 0; i < n; i++) {
		const struct flow *fb = flowtable_find(b, &fa[i].key);
		assert_non_null(fb);
		assert_int_equal(fa[i].packets, fb->packets);
		assert_int_equal(fa[i].a_to_b_bytes, fb->a_to_b_bytes);
		assert_int_equal(fa[i].b_to_a_bytes, fb->b_to_a_bytes);
		assert_int_equal(fa[i].tcp_flags, fb->tcp_flags);
		assert_int_equal(fa[i].first_us, fb->first_us);
		assert_int_equal(fa[i].last_us, fb->last_us);
	}
	flowtable_destroy(a);
	flowtable_destroy(b);
}

static struct rollup_sec
sec(int64_t t, uint64_t packets)
{
	struct rollup_sec s;
	memset(&s, 0, sizeof s);
	s.t = t;
	s.packets = packets;
	s.bytes = packets * 100;
	s.proto_bytes[ROLLUP_UDP] = packets * 100;
	return s;
}

static void
test_rollup(void **state)
{
	assert_null(rollup_create(59));
	assert_null(rollup_create(86401));
	struct rollup *r = rollup_create(120);
	assert_non_null(r);
	struct rollup_sec out[200];
	int64_t oldest, newest;
	assert_int_equal(rollup_latest(r, NULL, NULL, NULL, NULL), -1);
	int64_t t0 = 1800000000; /* a minute boundary */
	for (int i = 0; i < 90; i++) {
		struct rollup_sec s = sec(t0 + i, (uint64_t)i);
		rollup_push(r, &s);
	}
	/* a late second is added into the newest */
	struct rollup_sec late = sec(t0 + 3, 1000);
	rollup_push(r, &late);
	assert_int_equal(rollup_range(r, t0, t0 + 90, out, 200, &oldest, &newest), 90);
	assert_int_equal(oldest, t0);
	assert_int_equal(newest, t0 + 89);
	assert_int_equal(out[89].packets, 89 + 1000);
	assert_int_equal(out[10].packets, 10);
	/* the first minute is complete: queued for the database */
	struct rollup_sec m[10];
	assert_int_equal(rollup_take_minutes(r, m, 10), 1);
	assert_int_equal(m[0].t, t0);
	assert_int_equal(m[0].packets, 59 * 60 / 2);
	assert_int_equal(m[0].bytes, 100 * 59 * 60 / 2);
	/* a gap: empty seconds in between, the ring keeps its last 120 */
	struct rollup_sec s = sec(t0 + 200, 5);
	rollup_push(r, &s);
	assert_int_equal(rollup_range(r, 0, t0 + 1000, out, 200, &oldest, &newest), 120);
	assert_int_equal(oldest, t0 + 81);
	assert_int_equal(out[0].t, t0 + 81);
	assert_int_equal(out[0].packets, 81);
	assert_int_equal(out[50].packets, 0);
	assert_int_equal(out[119].packets, 5);
	/* a jump past the whole ring */
	s = sec(t0 + 100000, 7);
	rollup_push(r, &s);
	assert_int_equal(rollup_range(r, 0, t0 + 200000, out, 200, &oldest, &newest), 120);
	assert_int_equal(out[119].packets, 7);
	assert_int_equal(out[0].packets, 0);
	/* minutes 1 and 3 (with the gap second) were queued; finish queues the current one */
	rollup_finish_minute(r);
	int k = rollup_take_minutes(r, m, 10);
	assert_int_equal(k, 3);
	assert_int_equal(m[0].t, t0 + 60);
	assert_int_equal(m[1].t, t0 + 180);
	assert_int_equal(m[2].packets, 7);
	/* returned minutes come back first */
	rollup_return_minutes(r, m, 2);
	assert_int_equal(rollup_take_minutes(r, m + 5, 10), 2);
	assert_int_equal(m[5].t, t0 + 60);
	/* the queue is bounded: the oldest minutes go */
	for (int i = 0; i < ROLLUP_PENDING_MAX + 10; i++) {
		s = sec(t0 + 200000 + (int64_t)i * 60, 1);
		rollup_push(r, &s);
	}
	assert_int_equal(rollup_minutes_dropped(r), 9);
	/* top talkers are kept as given, at most K */
	struct talker top[ROLLUP_TOP_K + 2];
	memset(top, 0, sizeof top);
	for (int i = 0; i < ROLLUP_TOP_K + 2; i++)
		top[i].bytes = (uint64_t)(100 - i);
	rollup_set_top(r, top, ROLLUP_TOP_K + 2, t0);
	struct talker got[ROLLUP_TOP_K];
	int ntop;
	int64_t tt;
	assert_int_equal(rollup_latest(r, &s, got, &ntop, &tt), 0);
	assert_int_equal(ntop, ROLLUP_TOP_K);
	assert_int_equal(got[0].bytes, 100);
	assert_int_equal(tt, t0);
	rollup_destroy(r);
	rollup_destroy(NULL);
}

/* The on_end hook: called with the reason just before a flow leaves
   (idle, closed TCP, evicted at the cap), with packets per direction. */
struct ended {
	int n, reasons[8];
	uint64_t a_to_b_packets[8], packets[8];
};

static void
on_end(const struct flow *f, int reason, void *arg)
{
	struct ended *e = arg;
	if (e->n < 8) {
		e->reasons[e->n] = reason;
		e->a_to_b_packets[e->n] = f->a_to_b_packets;
		e->packets[e->n] = f->packets;
	}
	e->n++;
}

static void
test_flow_end_hook(void **state)
{
	struct flowtable *ft = flowtable_create(16, 1);
	struct ended e = {0};
	flowtable_set_on_end(ft, on_end, &e);
	struct decoded ab = pkt(0x0a000001, 1000, 0x0a000002, 53, 17), ba = pkt(0x0a000002, 53, 0x0a000001, 1000, 17);
	flowtable_update(ft, &ab, 100, 1 * S);
	flowtable_update(ft, &ab, 100, 1 * S);
	flowtable_update(ft, &ba, 300, 1 * S + 100000);
	struct decoded fin = pkt(0x0a000003, 2000, 0x0a000004, 80, 6);
	fin.tcp_flags = 0x01;
	flowtable_update(ft, &fin, 60, 1 * S);
	/* UDP idle past 30 s, TCP with FIN past 10 s */
	flowtable_sweep(ft, 45 * S, NULL, NULL);
	assert_int_equal(e.n, 2);
	for (int i = 0; i < 2; i++) {
		if (e.packets[i] == 3) {
			assert_int_equal(e.reasons[i], FLOW_END_IDLE);
			assert_int_equal(e.a_to_b_packets[i], 2); /* 10.0.0.1 is a */
		} else {
			assert_int_equal(e.reasons[i], FLOW_END_CLOSED);
			assert_int_equal(e.packets[i], 1);
		}
	}
	/* 17 flows in a table of 16: one evicted */
	for (uint16_t p = 0; p < 17; p++) {
		struct decoded d = pkt(0x0a000005, (uint16_t)(p + 1), 0x0a000006, 9, 17);
		flowtable_update(ft, &d, 50, 50 * S + p);
	}
	assert_int_equal(e.n, 3);
	assert_int_equal(e.reasons[2], FLOW_END_EVICTED);
	flowtable_destroy(ft);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bidirectional),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_cap_and_eviction),
		cmocka_unit_test(test_random_consistency),
		cmocka_unit_test(test_batch_matches_update),
		cmocka_unit_test(test_rollup),
		cmocka_unit_test(test_flow_end_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
