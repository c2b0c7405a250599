/* Unit tests for udpprobe.c on loopback: wire format, responder on IPv4,
   IPv6 and dual-stack wildcards (replies from the probed address), bursts,
   malformed datagrams, the ack budget, and a prompt stop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
   just after it is sent, so the prober may see it first). */
static void
wait_stats(struct udp_responder *r, uint64_t n, struct udp_responder_stats *st)
{
	for (int i = 0; i < 200; i++) {
		udp_responder_stats(r, st);
		if (st->acks + st->dropped_rate + st->malformed >= n)
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

static void
burst_ok(const char *ip, int port)
{
	struct udp_stats s;
	assert_int_equal(udpprobe_burst(ip, port, 20, 2, 500, &s), 0);
	assert_int_equal(s.sent, 20);
	assert_int_equal(s.received, 20);
	assert_true(s.loss == 0.0);
	assert_true(s.rtt_min_ms > 0 && s.rtt_min_ms <= s.rtt_avg_ms && s.rtt_avg_ms <= s.rtt_max_ms);
	assert_true(s.rtt_max_ms < 500);
	assert_true(s.jitter_ms >= 0 && s.jitter_ms <= s.rtt_max_ms - s.rtt_min_ms);
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

static void
test_no_responder(void **state)
{
	(void)state;
	/* A port nobody listens on: bind, learn it, close. */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
