/* Unit tests for udpprobe.c on loopback: wire format, responder on IPv4,
   IPv6 and dual-stack wildcards (replies from the probed address), bursts,
   malformed datagrams, the ack budget, and a prompt stop; and beats: the
   authenticated digest round trip, keys that do not fit, the owner's
   health, the beat wire format byte by byte, and the budget. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "meshwatch/log.h"
#include "meshwatch/udpprobe.h"
#include "meshwatch/util.h"

static struct udp_responder *
start(const char *addr, int rate)
{
	char err[256] = "";
	struct udp_responder_opts o = { .rate_per_s = rate };
	struct udp_responder *r = udp_responder_create_opts(addr, 0, &o, err, sizeof err);
	if (r == NULL || udp_responder_start(r, err, sizeof err) != MW_OK)
		fail_msg("responder on %s: %s", addr, err);
	assert_true(udp_responder_port(r) > 0);
	return r;
}

/* A plain UDP socket connected to ip:port, for hand-made datagrams. */
static int
raw_socket(const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	assert_int_equal(udpprobe_sockaddr(ip, port, &ss, &sl), 0);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
	return fd;
}

/* Reads datagrams for ms; returns how many, and the largest size seen. */
static int
drain(int fd, int ms, int *maxlen)
{
	int n = 0;
	*maxlen = 0;
	int64_t end = mw_now_ms() + ms;
	for (;;) {
		int64_t left = end - mw_now_ms();
		if (left <= 0)
			return n;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		uint8_t buf[2048];
		ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (k >= 0) {
			n++;
			if (k > *maxlen)
				*maxlen = (int)k;
		}
	}
}

/* Waits until n datagrams have been fully handled (an ack is counted
   just after it is sent, so the prober may see it first): acked, dropped
   over the budget, malformed, or a beat while the owner is unhealthy. */
static void
wait_stats(struct udp_responder *r, uint64_t n, struct udp_responder_stats *st)
{
	for (int i = 0; i < 200; i++) {
		udp_responder_stats(r, st);
		if (st->acks + st->dropped_rate + st->malformed + st->beats_unhealthy >= n)
			return;
		usleep(10000);
	}
}

static void
test_wire_format(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct udpp_msg m = { .type = UDPP_TYPE_PROBE, .seq = 0xdeadbeef,
		.nonce = 0x0102030405060708ull, .ts_ns = 42, .rx_len = 7 }, d;
	assert_int_equal(udpprobe_encode(&m, buf, sizeof buf), 0);
	assert_memory_equal(buf, "MWU1", 4);
	assert_int_equal(buf[8], 0xde);
	assert_int_equal(buf[63], 0);
	assert_int_equal(udpprobe_decode(buf, sizeof buf, &d), 0);
	assert_int_equal(d.type, UDPP_TYPE_PROBE);
	assert_int_equal(d.seq, 0xdeadbeef);
	assert_true(d.nonce == m.nonce && d.ts_ns == 42 && d.rx_len == 7);
	assert_int_equal(udpprobe_encode(&m, buf, UDPP_HDR_LEN - 1), MW_EINVAL);
	assert_int_equal(udpprobe_decode(buf, UDPP_HDR_LEN - 1, &d), MW_EINVAL);
	buf[4] = 9;
	assert_int_equal(udpprobe_decode(buf, sizeof buf, &d), MW_EINVAL);
	buf[4] = UDPP_TYPE_ACK;
	buf[0] = 'X';
	assert_int_equal(udpprobe_decode(buf, sizeof buf, &d), MW_EINVAL);

	struct sockaddr_storage ss;
	socklen_t sl;
	assert_int_equal(udpprobe_sockaddr("10.1.2.3", 80, &ss, &sl), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(udpprobe_sockaddr("fd00::1", 80, &ss, &sl), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(udpprobe_sockaddr("example.com", 80, &ss, &sl), MW_EINVAL);
	assert_int_equal(udpprobe_sockaddr("10.1.2.3", 70000, &ss, &sl), MW_EINVAL);
}

/* Every one of count probes answered, with sane RTTs (under max_ms). */
static void
all_answered(const struct udp_stats *s, int count, double max_ms)
{
	assert_int_equal(s->sent, count);
	assert_int_equal(s->received, count);
	assert_true(s->loss == 0.0);
	assert_true(s->rtt_min_ms > 0 && s->rtt_min_ms <= s->rtt_avg_ms && s->rtt_avg_ms <= s->rtt_max_ms);
	assert_true(s->rtt_max_ms < max_ms);
	assert_true(s->jitter_ms >= 0 && s->jitter_ms <= s->rtt_max_ms - s->rtt_min_ms);
}

static void
burst_ok(const char *ip, int port)
{
	struct udp_stats s;
	assert_int_equal(udpprobe_burst(ip, port, 20, 2, 500, &s), 0);
	all_answered(&s, 20, 500);
}

static void
test_burst_v4(void **state)
{
	(void)state;
	struct udp_responder *r = start("127.0.0.1", 0);
	burst_ok("127.0.0.1", udp_responder_port(r));
	struct udp_responder_stats st;
	wait_stats(r, 20, &st);
	assert_int_equal(st.probes, 20);
	assert_int_equal(st.acks, 20);
	assert_int_equal(st.dropped_rate, 0);
	assert_int_equal(st.malformed, 0);
	udp_responder_destroy(r);
}

static void
test_burst_v6(void **state)
{
	(void)state;
	struct udp_responder *r = start("::1", 0);
	burst_ok("::1", udp_responder_port(r));
	udp_responder_destroy(r);
}

/* Bound to a wildcard, the responder must answer from the probed address:
   the burst's socket is connected, so an ack from any other address (e.g.
   127.0.0.1 for a probe to 127.0.0.2) would never be seen. */
static void
test_wildcard_replies_from_probed_address(void **state)
{
	(void)state;
	struct udp_responder *r = start("0.0.0.0", 0);
	burst_ok("127.0.0.2", udp_responder_port(r));
	burst_ok("127.0.0.3", udp_responder_port(r));
	udp_responder_destroy(r);

	r = start("::", 0);  /* dual-stack */
	burst_ok("::1", udp_responder_port(r));
	burst_ok("127.0.0.4", udp_responder_port(r));
	udp_responder_destroy(r);
}

static void
test_malformed_ignored(void **state)
{
	(void)state;
	struct udp_responder *r = start("127.0.0.1", 0);
	int fd = raw_socket("127.0.0.1", udp_responder_port(r));
	uint8_t buf[64];
	struct udpp_msg m = { .type = UDPP_TYPE_PROBE, .seq = 1 };
	assert_int_equal(send(fd, "MWU1\x01", 5, 0), 5);                /* short */
	udpprobe_encode(&m, buf, sizeof buf);
	buf[0] = 'X';
	assert_int_equal(send(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);   /* bad magic */
	udpprobe_encode(&m, buf, sizeof buf);
	buf[4] = 7;
	assert_int_equal(send(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);   /* bad type */
	m.type = UDPP_TYPE_ACK;
	udpprobe_encode(&m, buf, sizeof buf);
	assert_int_equal(send(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);   /* an ack */
	assert_int_equal(send(fd, "", 0, 0), 0);                        /* empty */
	struct udp_responder_stats st;
	wait_stats(r, 5, &st);
	int maxlen;
	assert_int_equal(drain(fd, 200, &maxlen), 0);
	udp_responder_stats(r, &st);
	assert_int_equal(st.malformed, 5);
	assert_int_equal(st.probes, 0);
	assert_int_equal(st.acks, 0);

	/* The responder still works, and a minimum-size probe gets an ack of
	   the same size (never larger). */
	m.type = UDPP_TYPE_PROBE;
	udpprobe_encode(&m, buf, UDPP_HDR_LEN);
	assert_int_equal(send(fd, buf, UDPP_HDR_LEN, 0), UDPP_HDR_LEN);
	assert_int_equal(drain(fd, 300, &maxlen), 1);
	assert_int_equal(maxlen, UDPP_HDR_LEN);
	close(fd);
	udp_responder_destroy(r);
}

static void
test_rate_limit(void **state)
{
	(void)state;
	const int rate = 100, n = 400;
	struct udp_responder *r = start("127.0.0.1", rate);
	int fd = raw_socket("127.0.0.1", udp_responder_port(r));
	uint8_t buf[64];
	int64_t t0 = mw_now_ms();
	for (int i = 0; i < n; i++) {
		struct udpp_msg m = { .type = UDPP_TYPE_PROBE, .seq = (uint32_t)i, .nonce = 5 };
		udpprobe_encode(&m, buf, sizeof buf);
		assert_int_equal(send(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
		if (i % 50 == 49)
			usleep(1000);  /* keep the receive buffer from overflowing */
	}
	struct udp_responder_stats st;
	wait_stats(r, (uint64_t)n, &st);
	int64_t took = mw_now_ms() - t0;
	int maxlen;
	int acks_seen = drain(fd, 200, &maxlen);
	udp_responder_stats(r, &st);
	assert_int_equal(st.probes, n);
	assert_int_equal(st.probes, st.acks + st.dropped_rate);
	/* One second's budget up front, then rate per second. */
	assert_true(st.acks >= (uint64_t)rate);
	assert_true(st.acks <= (uint64_t)(rate + rate * took / 1000 + 2));
	assert_true(st.dropped_rate >= (uint64_t)(n - rate - rate * took / 1000 - 2));
	assert_int_equal(acks_seen, (int)st.acks);
	close(fd);
	udp_responder_destroy(r);
}

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks; sa gets
   the address. */
static int
bound_loopback(struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof *sa;
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sa, &sl), 0);
	return fd;
}

static void
test_no_responder(void **state)
{
	(void)state;
	/* A port nobody listens on: bind, learn it, close. */
	struct sockaddr_in sa;
	int fd = bound_loopback(&sa);
	close(fd);
	struct udp_stats s;
	int64_t t0 = mw_now_ms();
	assert_int_equal(udpprobe_burst("127.0.0.1", ntohs(sa.sin_port), 5, 10, 200, &s), 0);
	int64_t took = mw_now_ms() - t0;
	assert_int_equal(s.sent, 5);
	assert_int_equal(s.received, 0);
	assert_true(s.loss == 1.0);
	assert_true(s.rtt_min_ms == 0 && s.rtt_avg_ms == 0 && s.rtt_max_ms == 0 && s.jitter_ms == 0);
	assert_true(took >= 240 && took < 1000);
}

static void
test_bad_arguments(void **state)
{
	(void)state;
	struct udp_stats s;
	assert_int_equal(udpprobe_burst("127.0.0.1", 9, 0, 1, 1, &s), MW_EINVAL);
	assert_int_equal(udpprobe_burst("127.0.0.1", 9, UDPP_MAX_COUNT + 1, 1, 1, &s), MW_EINVAL);
	assert_int_equal(udpprobe_burst("127.0.0.1", 0, 1, 1, 1, &s), MW_EINVAL);
	assert_int_equal(udpprobe_burst("localhost", 9, 1, 1, 1, &s), MW_EINVAL);
	assert_int_equal(udpprobe_burst("127.0.0.1", 9, 1, -1, 1, &s), MW_EINVAL);
	char err[256] = "";
	assert_null(udp_responder_create("not-an-ip", 0, err, sizeof err));
	assert_true(strlen(err) > 0);
	struct udp_responder *r = start("127.0.0.1", 0);
	err[0] = '\0';
	assert_null(udp_responder_create("127.0.0.1", udp_responder_port(r), err, sizeof err));
	assert_non_null(strstr(err, "in use"));
	udp_responder_stop(r);
	udp_responder_stop(r); /* idempotent */
	assert_int_equal(udp_responder_start(r, err, sizeof err), MW_OK); /* and it starts again */
	udp_responder_destroy(r);
	udp_responder_stop(NULL);
	udp_responder_destroy(NULL);
}

static void
test_stop_is_quick(void **state)
{
	(void)state;
	for (int i = 0; i < 5; i++) {
		struct udp_responder *r = start(i % 2 ? "::1" : "127.0.0.1", 0);
		usleep(20000);  /* let the thread block in poll() */
		int64_t t0 = mw_now_ms();
		udp_responder_stop(r);
		assert_true(mw_now_ms() - t0 < 200);
		udp_responder_destroy(r);
	}
}

/* Beats */

#define DIGEST1 0x0123456789abcdefull
#define SENTINEL 0x5a5a5a5a5a5a5a5aull

static struct udpp_beat_key
issue(struct udp_responder *r)
{
	struct udpp_beat_key k;
	udp_responder_ticket(r, k.ticket, k.key);
	return k;
}

/* count beats to ip:port with k; returns how many were answered with a
   valid mac, the digest (SENTINEL when none) in *dg. */
static int
beats(const char *ip, int port, int count, const struct udpp_beat_key *k, uint64_t *dg)
{
	struct udp_stats s;
	*dg = SENTINEL;
	assert_int_equal(udpprobe_beat(ip, port, count, 1, 100, k, &s, dg), 0);
	assert_int_equal(s.sent, count);
	if (s.received == 0) {
		assert_true(s.loss == 1.0);
		assert_true(s.rtt_min_ms == 0 && s.rtt_avg_ms == 0 && s.rtt_max_ms == 0);
	}
	return s.received;
}

static void
beat_round_trip(const char *bind_addr, const char *ip)
{
	struct udp_responder *r = start(bind_addr, 0);
	int port = udp_responder_port(r);
	udp_responder_set_beat(r, DIGEST1, 5000);
	struct udpp_beat_key k = issue(r);
	struct udp_stats s;
	uint64_t dg = SENTINEL;
	assert_int_equal(udpprobe_beat(ip, port, 3, 2, 200, &k, &s, &dg), 0);
	all_answered(&s, 3, 200);
	assert_true(dg == DIGEST1);
	struct udp_responder_stats st;
	wait_stats(r, 3, &st);
	assert_int_equal(st.beats, 3);
	assert_int_equal(st.probes, 3);  /* beats count as probes too */
	assert_int_equal(st.acks, 3);
	assert_int_equal(st.beats_unhealthy, 0);
	assert_int_equal(st.dropped_rate, 0);
	assert_int_equal(st.malformed, 0);
	udp_responder_destroy(r);
}

static void
test_beat_round_trip(void **state)
{
	(void)state;
	beat_round_trip("127.0.0.1", "127.0.0.1");
	beat_round_trip("::1", "::1");
	/* dual-stack wildcard: the ack leaves from the probed address */
	beat_round_trip("::", "127.0.0.2");
	beat_round_trip("::", "::1");
}

/* The digest is whatever the owner last set; each poller's ticket works. */
static void
test_beat_digest_follows(void **state)
{
	(void)state;
	struct udp_responder *r = start("127.0.0.1", 0);
	int port = udp_responder_port(r);
	struct udpp_beat_key k1 = issue(r), k2 = issue(r);
	assert_memory_not_equal(k1.ticket, k2.ticket, UDPP_TICKET_LEN);
	assert_memory_not_equal(k1.key, k2.key, UDPP_KEY_LEN);
	uint64_t dg;
	udp_responder_set_beat(r, DIGEST1, 5000);
	assert_int_equal(beats("127.0.0.1", port, 2, &k1, &dg), 2);
	assert_true(dg == DIGEST1);
	udp_responder_set_beat(r, 0xfedcba9876543210ull, 5000);
	assert_int_equal(beats("127.0.0.1", port, 2, &k1, &dg), 2);
	assert_true(dg == 0xfedcba9876543210ull);
	assert_int_equal(beats("127.0.0.1", port, 2, &k2, &dg), 2);
	assert_true(dg == 0xfedcba9876543210ull);
	udp_responder_set_beat(r, 0, 5000);
	assert_int_equal(beats("127.0.0.1", port, 1, &k2, &dg), 1);
	assert_true(dg == 0);
	udp_responder_destroy(r);
}

/* Acks made under another key do not count, and leave *digest alone: the
   responder answers (it cannot tell), the prober rejects the mac. */
static void
test_beat_wrong_key(void **state)
{
	(void)state;
	struct udp_responder *r = start("127.0.0.1", 0);
	int port = udp_responder_port(r);
	udp_responder_set_beat(r, DIGEST1, 5000);
	struct udpp_beat_key k = issue(r), bad;
	uint64_t dg;
	bad = k;
	bad.key[UDPP_KEY_LEN - 1] ^= 0x01;
	assert_int_equal(beats("127.0.0.1", port, 3, &bad, &dg), 0);
	assert_true(dg == SENTINEL);
	bad = k;
	bad.ticket[0] ^= 0x80;
	assert_int_equal(beats("127.0.0.1", port, 3, &bad, &dg), 0);
	assert_true(dg == SENTINEL);
	struct udp_responder_stats st;
	wait_stats(r, 6, &st);
	assert_int_equal(st.beats, 6);
	assert_int_equal(st.acks, 6);
	/* and the right key still works */
	assert_int_equal(beats("127.0.0.1", port, 3, &k, &dg), 3);
	assert_true(dg == DIGEST1);
	udp_responder_destroy(r);
}

/* A key is good only with the responder that issued it: not with another
   instance, nor with the same node after a restart (a new secret). */
static void
test_beat_key_of_other_responder(void **state)
{
	(void)state;
	struct udp_responder *r1 = start("127.0.0.1", 0), *r2 = start("127.0.0.1", 0);
	int port1 = udp_responder_port(r1), port2 = udp_responder_port(r2);
	udp_responder_set_beat(r1, DIGEST1, 5000);
	udp_responder_set_beat(r2, DIGEST1, 5000);
	struct udpp_beat_key k1 = issue(r1), k2 = issue(r2);
	uint64_t dg;
	assert_int_equal(beats("127.0.0.1", port1, 2, &k2, &dg), 0);
	assert_true(dg == SENTINEL);
	assert_int_equal(beats("127.0.0.1", port2, 2, &k1, &dg), 0);
	assert_int_equal(beats("127.0.0.1", port2, 2, &k2, &dg), 2);
	assert_int_equal(beats("127.0.0.1", port1, 2, &k1, &dg), 2);
	udp_responder_destroy(r2);

	/* restart on the same port: the old key is dead, a new one works */
	udp_responder_destroy(r1);
	char err[256] = "";
	r1 = udp_responder_create("127.0.0.1", port1, err, sizeof err);
	if (r1 == NULL || udp_responder_start(r1, err, sizeof err) != MW_OK)
		fail_msg("restart on port %d: %s", port1, err);
	udp_responder_set_beat(r1, DIGEST1, 5000);
	assert_int_equal(beats("127.0.0.1", port1, 2, &k1, &dg), 0);
	assert_true(dg == SENTINEL);
	k1 = issue(r1);
	assert_int_equal(beats("127.0.0.1", port1, 2, &k1, &dg), 2);
	assert_true(dg == DIGEST1);
	udp_responder_destroy(r1);
}

/* Beats are answered only while the owner's health holds; plain probes
   (bursts, PMTU) are answered regardless. */
static void
test_beat_health(void **state)
{
	(void)state;
	struct udp_responder *r = start("127.0.0.1", 0);
	int port = udp_responder_port(r);
	struct udpp_beat_key k = issue(r);
	struct udp_responder_stats st;
	struct udp_stats s;
	uint64_t dg;

	/* never set */
	assert_int_equal(beats("127.0.0.1", port, 3, &k, &dg), 0);
	assert_true(dg == SENTINEL);
	wait_stats(r, 3, &st);
	assert_int_equal(st.beats, 3);
	assert_int_equal(st.beats_unhealthy, 3);
	assert_int_equal(st.acks, 0);
	assert_int_equal(udpprobe_burst("127.0.0.1", port, 5, 1, 150, &s), 0);
	assert_int_equal(s.received, 5);

	/* valid for 0 ms */
	udp_responder_set_beat(r, DIGEST1, 0);
	assert_int_equal(beats("127.0.0.1", port, 2, &k, &dg), 0);
	wait_stats(r, 10, &st);
	assert_int_equal(st.beats_unhealthy, 5);
	assert_int_equal(st.acks, 5);

	/* healthy for a while, then expired */
	udp_responder_set_beat(r, DIGEST1, 200);
	int64_t t0 = mw_now_ms();
	assert_int_equal(beats("127.0.0.1", port, 2, &k, &dg), 2);
	assert_true(dg == DIGEST1);
	int64_t left = 210 - (mw_now_ms() - t0);
	if (left > 0)
		usleep((useconds_t)left * 1000);
	assert_int_equal(beats("127.0.0.1", port, 2, &k, &dg), 0);
	assert_true(dg == SENTINEL);
	assert_int_equal(udpprobe_burst("127.0.0.1", port, 5, 1, 150, &s), 0);
	assert_int_equal(s.received, 5);
	wait_stats(r, 19, &st);
	assert_int_equal(st.beats, 9);
	assert_int_equal(st.beats_unhealthy, 7);
	assert_int_equal(st.probes, 19);
	assert_int_equal(st.acks, 12);
	assert_int_equal(st.dropped_rate, 0);
	assert_int_equal(st.malformed, 0);
	udp_responder_destroy(r);
}

static void
put_beat(uint8_t b[UDPP_BEAT_LEN], uint8_t type, const uint8_t word[8])
{
	static const uint8_t nonce[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	memset(b, 0, UDPP_BEAT_LEN);
	memcpy(b, "MWU1", 4);
	b[4] = type;
	b[6] = 0xab;
	b[7] = 0xcd;
	memcpy(b + 8, nonce, 8);
	memcpy(b + 16, word, 8);
}

/* Waits up to ms for one datagram; returns its length (-1: none). */
static ssize_t
recv_one(int fd, uint8_t *buf, size_t len, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	if (poll(&pf, 1, ms) <= 0)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT | MSG_TRUNC);
}

/* The beat wire format, byte by byte, from a plain socket. */
static void
test_beat_wire(void **state)
{
	(void)state;
	/* the mac is the first 8 bytes of HMAC-SHA256(key, ack[0..23]), as an
	   independent implementation would compute it */
	uint8_t key[UDPP_KEY_LEN], msg[UDPP_BEAT_LEN], mac[8], h[32];
	for (int i = 0; i < UDPP_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < UDPP_BEAT_LEN; i++)
		msg[i] = (uint8_t)(0xf0 - i);
	udpprobe_beat_mac(key, msg, mac);
	assert_int_equal(mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, sizeof key,
		msg, 24, h), 0);
	assert_memory_equal(mac, h, 8);
	msg[30] ^= 0xff;  /* bytes 24.. are not covered */
	udpprobe_beat_mac(key, msg, mac);
	assert_memory_equal(mac, h, 8);

	struct udp_responder *r = start("127.0.0.1", 0);
	udp_responder_set_beat(r, DIGEST1, 5000);
	struct udpp_beat_key k = issue(r);
	int fd = raw_socket("127.0.0.1", udp_responder_port(r));
	uint8_t beat[UDPP_BEAT_LEN + 1], ack[64];
	put_beat(beat, UDPP_TYPE_BEAT, k.ticket);
	assert_int_equal(send(fd, beat, UDPP_BEAT_LEN, 0), UDPP_BEAT_LEN);
	assert_int_equal(recv_one(fd, ack, sizeof ack, 200), UDPP_BEAT_LEN);
	assert_memory_equal(ack, "MWU1", 4);
	assert_int_equal(ack[4], UDPP_TYPE_BEAT_ACK);
	assert_int_equal(ack[5], 0);
	assert_memory_equal(ack + 6, beat + 6, 2);   /* seq */
	assert_memory_equal(ack + 8, beat + 8, 8);   /* nonce */
	static const uint8_t d1[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	assert_memory_equal(ack + 16, d1, 8);        /* digest, big-endian */
	udpprobe_beat_mac(k.key, ack, mac);
	assert_memory_equal(ack + 24, mac, 8);
	int maxlen;
	assert_int_equal(drain(fd, 100, &maxlen), 0); /* exactly one ack */

	/* flags and the trailing zero word are ignored by the receiver */
	beat[5] = 0xff;
	memset(beat + 24, 0xee, 8);
	assert_int_equal(send(fd, beat, UDPP_BEAT_LEN, 0), UDPP_BEAT_LEN);
	assert_int_equal(recv_one(fd, ack, sizeof ack, 200), UDPP_BEAT_LEN);
	assert_int_equal(ack[5], 0);
	udpprobe_beat_mac(k.key, ack, mac);
	assert_memory_equal(ack + 24, mac, 8);

	/* not beats: no answer, counted as malformed */
	put_beat(beat, UDPP_TYPE_BEAT, k.ticket);
	assert_int_equal(send(fd, beat, UDPP_BEAT_LEN - 1, 0), UDPP_BEAT_LEN - 1);  /* 31 bytes */
	beat[UDPP_BEAT_LEN] = 0;
	assert_int_equal(send(fd, beat, UDPP_BEAT_LEN + 1, 0), UDPP_BEAT_LEN + 1);  /* 33 bytes */
	beat[0] = 'X';
	assert_int_equal(send(fd, beat, UDPP_BEAT_LEN, 0), UDPP_BEAT_LEN);          /* bad magic */
	put_beat(beat, UDPP_TYPE_BEAT_ACK, k.ticket);                                  /* a beat ack */
	assert_int_equal(send(fd, beat, UDPP_BEAT_LEN, 0), UDPP_BEAT_LEN);
	struct udp_responder_stats st;
	wait_stats(r, 6, &st);
	assert_int_equal(drain(fd, 150, &maxlen), 0);
	udp_responder_stats(r, &st);
	assert_int_equal(st.malformed, 4);
	assert_int_equal(st.beats, 2);
	assert_int_equal(st.acks, 2);
	close(fd);
	udp_responder_destroy(r);
}

/* A stand-in responder on a plain socket that answers each beat with
   forgeries first (another nonce, another key, the wrong type or size, a
   seq never sent), then the genuine ack, twice. */
struct fake {
	int fd, other, beats, send_errors; /* other: a second socket, another source port */
	struct udpp_beat_key k;
};

#define DIGEST_BAD 0xbadbadbadbadbad0ull

static void
fake_ack(struct fake *f, const uint8_t *beat, uint8_t type, int nonce_delta, int seq_delta,
	int bad_key, uint64_t digest, size_t len, const struct sockaddr_storage *to, socklen_t tolen)
{
	uint8_t a[UDPP_BEAT_LEN + 1] = { 0 }, key[UDPP_KEY_LEN];
	memcpy(a, beat, UDPP_BEAT_LEN);
	a[4] = type;
	a[7] = (uint8_t)(a[7] + seq_delta);
	a[15] = (uint8_t)(a[15] + nonce_delta);
	for (int i = 0; i < 8; i++)
		a[16 + i] = (uint8_t)(digest >> (56 - 8 * i));
	memcpy(key, f->k.key, sizeof key);
	key[0] ^= (uint8_t)(bad_key & 1);
	udpprobe_beat_mac(key, a, a + 24);
	if (sendto(bad_key & 2 ? f->other : f->fd, a, len, 0, (const struct sockaddr *)to, tolen) != (ssize_t)len)
		f->send_errors++;  /* cmocka's asserts belong to the test's own thread */
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		struct pollfd pf = { .fd = f->fd, .events = POLLIN };
		if (poll(&pf, 1, 200) <= 0)
			return NULL;  /* the burst is over */
		uint8_t b[64];
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(f->fd, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
		if (n != UDPP_BEAT_LEN || b[4] != UDPP_TYPE_BEAT ||
		    memcmp(b + 16, f->k.ticket, UDPP_TICKET_LEN) != 0)
			continue;
		fake_ack(f, b, UDPP_TYPE_BEAT_ACK, 1, 0, 0, DIGEST_BAD, UDPP_BEAT_LEN, &from, fl);  /* stale nonce */
		fake_ack(f, b, UDPP_TYPE_BEAT_ACK, 0, 0, 1, DIGEST_BAD, UDPP_BEAT_LEN, &from, fl);  /* other key */
		fake_ack(f, b, UDPP_TYPE_ACK, 0, 0, 0, DIGEST_BAD, UDPP_BEAT_LEN, &from, fl);       /* wrong type */
		fake_ack(f, b, UDPP_TYPE_BEAT_ACK, 0, 0, 0, DIGEST_BAD, UDPP_BEAT_LEN + 1, &from, fl); /* 33 bytes */
		fake_ack(f, b, UDPP_TYPE_BEAT_ACK, 0, 100, 0, DIGEST_BAD, UDPP_BEAT_LEN, &from, fl); /* never sent */
		fake_ack(f, b, UDPP_TYPE_BEAT_ACK, 0, 0, 2, DIGEST_BAD, UDPP_BEAT_LEN, &from, fl);   /* other source */
		fake_ack(f, b, UDPP_TYPE_BEAT_ACK, 0, 0, 0, DIGEST1, UDPP_BEAT_LEN, &from, fl);
		fake_ack(f, b, UDPP_TYPE_BEAT_ACK, 0, 0, 0, DIGEST1, UDPP_BEAT_LEN, &from, fl);      /* duplicate */
		f->beats++;
	}
}

/* The prober counts only the genuine acks of its own burst. */
/* Starts the stand-in responder on 127.0.0.1; returns its port. */
static int
fake_start(struct fake *f, pthread_t *t)
{
	memset(f, 0, sizeof *f);
	for (int i = 0; i < UDPP_TICKET_LEN; i++)
		f->k.ticket[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < UDPP_KEY_LEN; i++)
		f->k.key[i] = (uint8_t)(3 * i);
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	f->other = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0 && f->other >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(f->other, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(pthread_create(t, NULL, fake_main, f), 0);
	return ntohs(sa.sin_port);
}

static void
fake_stop(struct fake *f, pthread_t t)
{
	pthread_join(t, NULL);
	close(f->fd);
	close(f->other);
}

static void
test_beat_prober_checks(void **state)
{
	(void)state;
	struct fake f;
	pthread_t t;
	int port = fake_start(&f, &t);
	struct udp_stats s;
	uint64_t dg = SENTINEL;
	assert_int_equal(udpprobe_beat("127.0.0.1", port, 3, 5, 150, &f.k, &s, &dg), 0);
	fake_stop(&f, t);
	assert_int_equal(f.beats, 3);
	assert_int_equal(f.send_errors, 0);
	assert_int_equal(s.sent, 3);
	assert_int_equal(s.received, 3);
	assert_true(dg == DIGEST1);
}

static void
test_beat_bad_arguments(void **state)
{
	(void)state;
	struct udpp_beat_key k = { { 0 }, { 0 } };
	struct udp_stats s;
	uint64_t dg = SENTINEL;
	memset(&s, 0xff, sizeof s);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, 1, 1, 1, NULL, &s, &dg), MW_EINVAL);
	assert_int_equal(s.sent, 0);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, 1, 1, 1, &k, &s, NULL), MW_EINVAL);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, 0, 1, 1, &k, &s, &dg), MW_EINVAL);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, UDPP_MAX_COUNT + 1, 1, 1, &k, &s, &dg), MW_EINVAL);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, 1, -1, 1, &k, &s, &dg), MW_EINVAL);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, 1, 1, -1, &k, &s, &dg), MW_EINVAL);
	assert_int_equal(udpprobe_beat("127.0.0.1", 0, 1, 1, 1, &k, &s, &dg), MW_EINVAL);
	assert_int_equal(udpprobe_beat("localhost", 9, 1, 1, 1, &k, &s, &dg), MW_EINVAL);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, 1, 1, 1, &k, NULL, &dg), MW_EINVAL);
	assert_int_equal(udpprobe_beat("127.0.0.1", 9, 1, 1, 1, NULL, NULL, NULL), MW_EINVAL);
	assert_true(dg == SENTINEL);
	udp_responder_set_beat(NULL, 1, 1000);  /* accepted, a no-op */
}

/* Beats spend the same ack budget as probes. */
static void
test_beat_rate_limit(void **state)
{
	(void)state;
	const int rate = 5, n = 50;
	struct udp_responder *r = start("127.0.0.1", rate);
	int port = udp_responder_port(r);
	udp_responder_set_beat(r, DIGEST1, 5000);
	struct udpp_beat_key k = issue(r);
	struct udp_stats s;
	uint64_t dg = SENTINEL;
	int64_t t0 = mw_now_ms();
	assert_int_equal(udpprobe_beat("127.0.0.1", port, n, 0, 150, &k, &s, &dg), 0);
	struct udp_responder_stats st;
	wait_stats(r, (uint64_t)n, &st);
	int64_t took = mw_now_ms() - t0;
	assert_int_equal(s.sent, n);
	assert_true(dg == DIGEST1);
	assert_int_equal(st.beats, n);
	assert_int_equal(st.beats, st.acks + st.dropped_rate);
	/* one second's budget up front, then rate per second */
	assert_true(st.acks >= (uint64_t)rate);
	assert_true(st.acks <= (uint64_t)(rate + rate * took / 1000 + 1));
	assert_true(st.dropped_rate > 0);
	assert_int_equal(s.received, (int)st.acks);
	/* and plain probes find the budget spent too */
	assert_int_equal(udpprobe_burst("127.0.0.1", port, 20, 0, 100, &s), 0);
	wait_stats(r, (uint64_t)n + 20, &st);
	took = mw_now_ms() - t0;
	assert_int_equal(st.probes, n + 20);
	assert_int_equal(st.probes, st.acks + st.dropped_rate);
	assert_true(st.acks <= (uint64_t)(rate + rate * took / 1000 + 1));
	assert_true(s.received < 20);
	udp_responder_destroy(r);
}

/* Beats in flight: what one thread collects from a beater. */
struct ended {
	int n;
	void *tag[4];
	struct udp_stats us[4];
	uint64_t digest[4];
	int64_t at_ms[4];
};

static void
on_end(void *arg, void *tag, const struct udp_stats *us, uint64_t digest)
{
	struct ended *e = arg;
	if (e->n < 4) {
		e->tag[e->n] = tag;
		e->us[e->n] = *us;
		e->digest[e->n] = digest;
		e->at_ms[e->n] = mw_now_ms();
	}
	e->n++;
}

/* Waits on the beater's sockets until want bursts have ended (at most
   max_ms). */
static void
collect_until(struct udp_beater *b, struct ended *e, int want, int max_ms)
{
	int64_t end = mw_now_ms() + max_ms;
	while (e->n < want && mw_now_ms() < end) {
		struct pollfd pf[2];
		int n = udp_beater_fds(b, pf, 2);
		assert_true(n >= 1);
		if (poll(pf, (nfds_t)n, 20) > 0)
			udp_beater_collect(b, pf, n, on_end, e);
		else
			udp_beater_collect(b, e->n & 1 ? NULL : pf, 0, on_end, e); /* deadlines, either way */
	}
}

static int
tag_index(const struct ended *e, void *tag)
{
	for (int i = 0; i < e->n && i < 4; i++)
		if (e->tag[i] == tag)
			return i;
	fail_msg("burst %p never ended", tag);
	return -1;
}

/* Two bursts at once, IPv4 and IPv6, to two responders: each ends as soon
   as all its beats are answered, with its own responder's digest. */
static void
test_beater_round_trip(void **state)
{
	(void)state;
	struct udp_responder *r4 = start("127.0.0.1", 0), *r6 = start("::1", 0);
	udp_responder_set_beat(r4, DIGEST1, 5000);
	udp_responder_set_beat(r6, DIGEST1 + 1, 5000);
	struct udpp_beat_key k4 = issue(r4), k6 = issue(r6);
	struct udp_beater *b = udp_beater_create(4);
	assert_non_null(b);
	int t4, t6;
	int64_t t0 = mw_now_ms();
	assert_int_equal(udp_beater_send(b, "127.0.0.1", udp_responder_port(r4), 3, 1000, &k4, &t4), 0);
	assert_int_equal(udp_beater_send(b, "::1", udp_responder_port(r6), 5, 1000, &k6, &t6), 0);
	assert_int_equal(udp_beater_in_flight(b), 2);
	assert_true(udp_beater_deadline_ns(b) > 0);
	struct ended e = { 0 };
	collect_until(b, &e, 2, 2000);
	assert_int_equal(e.n, 2);
	int i4 = tag_index(&e, &t4), i6 = tag_index(&e, &t6);
	all_answered(&e.us[i4], 3, 500);
	all_answered(&e.us[i6], 5, 500);
	assert_true(e.digest[i4] == DIGEST1 && e.digest[i6] == DIGEST1 + 1);
	/* answered in full: not held until the deadline */
	assert_true(e.at_ms[0] - t0 < 900 && e.at_ms[1] - t0 < 900);
	assert_int_equal(udp_beater_in_flight(b), 0);
	assert_true(udp_beater_deadline_ns(b) == 0);
	udp_beater_destroy(b, NULL);
	udp_responder_destroy(r4);
	udp_responder_destroy(r6);
}

/* Acks read long after they came: the RTT is the kernel's receive stamp
   less the send time, not the time until the acks were read. */
static void
test_beater_rtt_from_stamp(void **state)
{
	(void)state;
	struct udp_responder *r = start("127.0.0.1", 0);
	udp_responder_set_beat(r, DIGEST1, 5000);
	struct udpp_beat_key k = issue(r);
	struct udp_beater *b = udp_beater_create(1);
	int tag;
	assert_int_equal(udp_beater_send(b, "127.0.0.1", udp_responder_port(r), 3, 1000, &k, &tag), 0);
	struct udp_responder_stats st;
	wait_stats(r, 3, &st);
	usleep(300 * 1000);
	struct ended e = { 0 };
	udp_beater_collect(b, NULL, 0, on_end, &e);
	assert_int_equal(e.n, 1);
	all_answered(&e.us[0], 3, 250); /* read 300 ms after they were sent */
	udp_beater_destroy(b, NULL);
	udp_responder_destroy(r);
}

/* A flood of junk on the beater's socket (anyone may send to it): a
   collect returns, nothing of the junk counts, and the burst still ends
   at its deadline. (That a collect reads at most BEATER_RX_CALLS batches
   is by construction; this shows the flood costs nothing more.) */
static void
test_beater_flood_bounded(void **state)
{
	(void)state;
	struct sockaddr_in sa;
	int fd = bound_loopback(&sa);
	struct udpp_beat_key k = { { 1 }, { 2 } };
	struct udp_beater *b = udp_beater_create(1);
	int tag;
	assert_int_equal(udp_beater_send(b, "127.0.0.1", ntohs(sa.sin_port), 1, 100, &k, &tag), 0);
	uint8_t beat[64];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	assert_int_equal(recvfrom(fd, beat, sizeof beat, 0, (struct sockaddr *)&from, &fl), UDPP_BEAT_LEN);
	uint8_t junk[UDPP_BEAT_LEN] = { 'M', 'W', 'U', '1', UDPP_TYPE_BEAT_ACK };
	int sent = 0;
	for (int i = 0; i < 1000; i++)
		sent += sendto(fd, junk, sizeof junk, 0, (struct sockaddr *)&from, fl) == (ssize_t)sizeof junk;
	assert_true(sent > 200);
	struct ended e = { 0 };
	udp_beater_collect(b, NULL, 0, on_end, &e);
	assert_int_equal(e.n, 0);
	usleep(150 * 1000);
	udp_beater_collect(b, NULL, 0, on_end, &e);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.us[0].received, 0);
	udp_beater_destroy(b, NULL);
	close(fd);
}

/* Nobody answers: the burst ends at its deadline, not before, all lost;
   a wrong key is as good as no answer. */
static void
test_beater_deadline(void **state)
{
	(void)state;
	struct sockaddr_in sa;
	int fd = bound_loopback(&sa);
	struct udp_responder *r = start("127.0.0.1", 0);
	udp_responder_set_beat(r, DIGEST1, 5000);
	struct udpp_beat_key k = issue(r);
	k.key[0] ^= 1;
	struct udp_beater *b = udp_beater_create(2);
	int t1, t2;
	int64_t t0 = mw_now_ms();
	assert_int_equal(udp_beater_send(b, "127.0.0.1", ntohs(sa.sin_port), 3, 150, &k, &t1), 0);
	assert_int_equal(udp_beater_send(b, "127.0.0.1", udp_responder_port(r), 3, 150, &k, &t2), 0);
	struct ended e = { 0 };
	collect_until(b, &e, 2, 2000);
	assert_int_equal(e.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_true(e.at_ms[i] - t0 >= 150);
		assert_int_equal(e.us[i].sent, 3);
		assert_int_equal(e.us[i].received, 0);
		assert_true(e.us[i].loss == 1.0);
		assert_true(e.digest[i] == 0);
	}
	struct udp_responder_stats st;
	udp_responder_stats(r, &st);
	assert_int_equal(st.acks, 3); /* answered, but not with a mac under our (wrong) key */
	udp_beater_destroy(b, NULL);
	udp_responder_destroy(r);
	close(fd);
}

/* Forged, stale, oversized, duplicate and other-source acks do not count. */
static void
test_beater_checks(void **state)
{
	(void)state;
	struct fake f;
	pthread_t t;
	int port = fake_start(&f, &t);
	struct udp_beater *b = udp_beater_create(1);
	int tag;
	assert_int_equal(udp_beater_send(b, "127.0.0.1", port, 3, 150, &f.k, &tag), 0);
	struct ended e = { 0 };
	collect_until(b, &e, 1, 2000);
	fake_stop(&f, t);
	assert_int_equal(f.beats, 3);
	assert_int_equal(f.send_errors, 0);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.us[0].sent, 3);
	assert_int_equal(e.us[0].received, 3);
	assert_true(e.digest[0] == DIGEST1);
	udp_beater_destroy(b, NULL);
}

static int drops;

static void
count_drop(void *tag)
{
	(void)tag;
	drops++;
}

/* Each limit: flights, beats per burst, arguments; destroy hands back the
   tags of bursts still in flight. */
static void
test_beater_limits(void **state)
{
	(void)state;
	assert_null(udp_beater_create(0));
	assert_null(udp_beater_create(UDPP_BEATER_MAX_FLIGHTS + 1));
	struct udp_beater *b = udp_beater_create(1);
	struct udpp_beat_key k = { { 0 }, { 0 } };
	int tag;
	assert_int_equal(udp_beater_send(b, "127.0.0.1", 9, 0, 100, &k, &tag), MW_EINVAL);
	assert_int_equal(udp_beater_send(b, "127.0.0.1", 9, UDPP_BEATER_MAX_COUNT + 1, 100, &k, &tag), MW_EINVAL);
	assert_int_equal(udp_beater_send(b, "127.0.0.1", 0, 1, 100, &k, &tag), MW_EINVAL);
	assert_int_equal(udp_beater_send(b, "localhost", 9, 1, 100, &k, &tag), MW_EINVAL);
	assert_int_equal(udp_beater_send(b, "127.0.0.1", 9, 1, -1, &k, &tag), MW_EINVAL);
	assert_int_equal(udp_beater_send(b, "127.0.0.1", 9, 1, 100, NULL, &tag), MW_EINVAL);
	assert_int_equal(udp_beater_in_flight(b), 0);
	assert_int_equal(udp_beater_send(b, "127.0.0.1", 9, UDPP_BEATER_MAX_COUNT, 60000, &k, &tag), 0);
	assert_int_equal(udp_beater_send(b, "127.0.0.1", 9, 1, 60000, &k, &tag), MW_ELIMIT);
	assert_int_equal(udp_beater_in_flight(b), 1);
	drops = 0;
	udp_beater_destroy(b, count_drop);
	assert_int_equal(drops, 1);
	udp_beater_destroy(NULL, count_drop);
}

int
main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_format),
		cmocka_unit_test(test_burst_v4),
		cmocka_unit_test(test_burst_v6),
		cmocka_unit_test(test_wildcard_replies_from_probed_address),
		cmocka_unit_test(test_malformed_ignored),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_no_responder),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_stop_is_quick),
		cmocka_unit_test(test_beat_round_trip),
		cmocka_unit_test(test_beat_digest_follows),
		cmocka_unit_test(test_beat_wrong_key),
		cmocka_unit_test(test_beat_key_of_other_responder),
		cmocka_unit_test(test_beat_health),
		cmocka_unit_test(test_beat_wire),
		cmocka_unit_test(test_beat_prober_checks),
		cmocka_unit_test(test_beat_bad_arguments),
		cmocka_unit_test(test_beat_rate_limit),
		cmocka_unit_test(test_beater_round_trip),
		cmocka_unit_test(test_beater_rtt_from_stamp),
		cmocka_unit_test(test_beater_deadline),
		cmocka_unit_test(test_beater_flood_bounded),
		cmocka_unit_test(test_beater_checks),
		cmocka_unit_test(test_beater_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
