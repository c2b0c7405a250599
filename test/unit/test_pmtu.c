/* Unit tests for pmtu.c on loopback: the result equals the loopback MTU
   (capped by the protocol maximum) with method "local"; a port without a
   responder gives MW_ENOTFOUND promptly (ICMP port unreachable) or within
   tries x timeout (silently ignored probes); bad arguments are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meshwatch/log.h"
#include "meshwatch/pmtu.h"
#include "meshwatch/udpprobe.h"
#include "meshwatch/util.h"

static int
lo_mtu(void)
{
	FILE *f = fopen("/sys/class/net/lo/mtu", "r");
	int mtu = 0;
	if (f != NULL) {
		if (fscanf(f, "%d", &mtu) != 1)
			mtu = 0;
		fclose(f);
	}
	return mtu;
}

static void
loopback(const char *ip, int proto_max)
{
	char err[256];
	struct udp_responder *r = udp_responder_create(ip, 0, err, sizeof err);
	if (r == NULL || udp_responder_start(r, err, sizeof err) != MW_OK)
		fail_msg("%s", err);
	struct pmtu_result res;
	struct pmtu_opts o = { .timeout_ms = 500, .tries = 3 };
	assert_int_equal(pmtu_discover(ip, udp_responder_port(r), &o, &res), 0);
	int mtu = lo_mtu();
	assert_true(mtu > 0);
	int want = mtu < proto_max ? mtu : proto_max;
	assert_int_equal(res.value, want);
	assert_string_equal(res.method, "local");
	assert_int_equal(res.local_mtu, mtu);
	assert_int_equal(res.icmp_mtu, 0);
	assert_int_equal(res.black_hole, 0);
	assert_true(res.probes >= 2 && res.probes <= 4);
	struct udp_responder_stats st;
	for (int i = 0; i < 100; i++) {  /* acks are counted just after sending */
		udp_responder_stats(r, &st);
		if (st.acks >= 2)
			break;
		usleep(10000);
	}
	assert_int_equal(st.malformed, 0);
	assert_true(st.acks >= 2);
	udp_responder_destroy(r);
}

/* IPv4: the total-length field caps a packet at 65535 bytes. */
static void
test_loopback_v4(void **state)
{
	(void)state;
	loopback("127.0.0.1", 65535);
}

/* IPv6: the payload-length field (65535) excludes the 40-byte header, so
   the loopback MTU (65536) is the limit there. */
static void
test_loopback_v6(void **state)
{
	(void)state;
	loopback("::1", 65575);
}

static int
free_port(int family, int *keep_fd)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	udpprobe_sockaddr(family == AF_INET ? "127.0.0.1" : "::1", 0, &ss, &sl);
	int fd = socket(family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	int port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                   : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (keep_fd != NULL)
		*keep_fd = fd;
	else
		close(fd);
	return port;
}

/* Nothing listens: the kernel answers "port unreachable" at once. */
static void
test_no_responder_refused(void **state)
{
	(void)state;
	const char *ips[] = { "127.0.0.1", "::1" };
	for (int i = 0; i < 2; i++) {
		int port = free_port(i ? AF_INET6 : AF_INET, NULL);
		struct pmtu_result res;
		struct pmtu_opts o = { .timeout_ms = 300, .tries = 3 };
		int64_t t0 = mw_now_ms();
		assert_int_equal(pmtu_discover(ips[i], port, &o, &res), MW_ENOTFOUND);
		assert_true(mw_now_ms() - t0 < 300);
		assert_int_equal(res.value, 0);
	}
}

/* Something holds the port but never answers (like a firewall that drops
   silently): MW_ENOTFOUND after tries x timeout_ms of the base size. */
static void
test_no_responder_silent(void **state)
{
	(void)state;
	int fd;
	int port = free_port(AF_INET, &fd);
	struct pmtu_result res;
	struct pmtu_opts o = { .timeout_ms = 100, .tries = 2 };
	int64_t t0 = mw_now_ms();
	assert_int_equal(pmtu_discover("127.0.0.1", port, &o, &res), MW_ENOTFOUND);
	int64_t took = mw_now_ms() - t0;
	assert_true(took >= 190);
	assert_true(took < PMTU_MAX_STEPS * 2 * 100);
	assert_true(took < 600);
	assert_int_equal(res.probes, 2);
	close(fd);
}

static void
test_bad_arguments(void **state)
{
	(void)state;
	struct pmtu_result res;
	struct pmtu_opts bad_tries = { .timeout_ms = 100, .tries = PMTU_MAX_TRIES + 1 };
	struct pmtu_opts bad_timeout = { .timeout_ms = -1, .tries = 1 };
	assert_int_equal(pmtu_discover("127.0.0.1", 9, &bad_tries, &res), MW_EINVAL);
	assert_int_equal(pmtu_discover("127.0.0.1", 9, &bad_timeout, &res), MW_EINVAL);
	assert_int_equal(pmtu_discover("localhost", 9, NULL, &res), MW_EINVAL);
	assert_int_equal(pmtu_discover("127.0.0.1", 0, NULL, &res), MW_EINVAL);
	assert_int_equal(pmtu_discover("127.0.0.1", 9, NULL, NULL), MW_EINVAL);
}

int
main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_v4),
		cmocka_unit_test(test_loopback_v6),
		cmocka_unit_test(test_no_responder_refused),
		cmocka_unit_test(test_no_responder_silent),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
