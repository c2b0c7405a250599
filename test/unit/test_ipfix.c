/* ipfix: the encoder's bytes, checked field by field against RFC 7011 and
   IANA's element ids; and the exporter against a UDP socket on loopback:
   the first message carries the templates, messages never pass
   IPFIX_MSG_MAX, the sequence number counts the data records sent before
   each message, the templates go out again after
   IPFIX_TEMPLATE_REFRESH_MSGS messages, one-way flows give one record,
   and a collector that is not there counts records as failed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meshwatch/decode.h"
#include "meshwatch/flowtable.h"
#include "meshwatch/ipfix.h"
#include "meshwatch/limits.h"

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* A flow 10.0.0.<a>:ap <-> 10.0.0.<b>:bp (or fd00::a / fd00::b). */
static struct flow
mkflow(int v6, uint8_t a, uint16_t ap, uint8_t b, uint16_t bp, uint8_t proto, uint16_t vlan)
{
	struct flow f;
	memset(&f, 0, sizeof f);
	if (v6) {
		f.key.a[0] = f.key.b[0] = 0xfd;
	} else {
		f.key.a[10] = f.key.a[11] = f.key.b[10] = f.key.b[11] = 0xff;
		f.key.a[12] = f.key.b[12] = 10;
	}
	f.key.a[15] = a;
	f.key.b[15] = b;
	f.key.aport = ap;
	f.key.bport = bp;
	f.key.proto = proto;
	f.key.vlan = vlan;
	f.first_us = 1767225600123456LL;
	f.last_us = 1767225605987654LL;
	return f;
}

static void
test_templates(void **state)
{
	uint8_t buf[512];
	size_t n = ipfix_encode_templates(buf, sizeof buf);
	/* set header, 4 templates of 10 or 11 fields: 4 + 4 * 4 + (10 + 10 + 11 + 11) * 4 */
	assert_int_equal(n, 4 + 16 + 42 * 4);
	assert_int_equal(get16(buf), 2);
	assert_int_equal(get16(buf + 2), n);
	assert_int_equal(get16(buf + 4), IPFIX_TID_V4);
	assert_int_equal(get16(buf + 6), 10);
	/* sourceIPv4Address (8), 4 bytes; destinationIPv4Address (12) */
	assert_int_equal(get16(buf + 8), 8);
	assert_int_equal(get16(buf + 10), 4);
	assert_int_equal(get16(buf + 12), 12);
	assert_int_equal(ipfix_encode_templates(buf, 100), 0);
}

static void
test_encode_v4_both_ways(void **state)
{
	struct flow f = mkflow(0, 1, 80, 2, 40000, 6, 0);
	f.packets = 5;
	f.a_to_b_packets = 2;
	f.a_to_b_bytes = 1000;
	f.b_to_a_bytes = 180;
	f.bytes = 1180;
	uint8_t buf[256];
	int nrec;
	size_t n = ipfix_encode_flow(&f, FLOW_END_IDLE, buf, sizeof buf, &nrec);
	assert_int_equal(nrec, 2);
	assert_int_equal(n, 4 + 2 * 46);
	assert_int_equal(get16(buf), IPFIX_TID_V4);
	assert_int_equal(get16(buf + 2), n);
	const uint8_t *r = buf + 4;
	/* a to b: 10.0.0.1:80 -> 10.0.0.2:40000 */
	assert_memory_equal(r, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	assert_int_equal(get16(r + 8), 80);
	assert_int_equal(get16(r + 10), 40000);
	assert_int_equal(r[12], 6);
	assert_int_equal(get64(r + 13), 1000);
	assert_int_equal(get64(r + 21), 2);
	assert_int_equal(get64(r + 29), 1767225600123ULL);
	assert_int_equal(get64(r + 37), 1767225605987ULL);
	assert_int_equal(r[45], FLOW_END_IDLE);
	/* b to a */
	r += 46;
	assert_memory_equal(r, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	assert_int_equal(get16(r + 8), 40000);
	assert_int_equal(get16(r + 10), 80);
	assert_int_equal(get64(r + 13), 180);
	assert_int_equal(get64(r + 21), 3);
	/* too small a buffer: nothing */
	assert_int_equal(ipfix_encode_flow(&f, FLOW_END_IDLE, buf, 60, &nrec), 0);
	assert_int_equal(nrec, 0);
}

static void
test_encode_v6_vlan_one_way(void **state)
{
	struct flow f = mkflow(1, 1, 5000, 2, 53, 17, 42);
	f.packets = f.a_to_b_packets = 3;
	f.a_to_b_bytes = f.bytes = 300;
	uint8_t buf[256];
	int nrec;
	size_t n = ipfix_encode_flow(&f, FLOW_END_FORCED, buf, sizeof buf, &nrec);
	assert_int_equal(nrec, 1);
	assert_int_equal(n, 4 + 72);
	assert_int_equal(get16(buf), IPFIX_TID_V6_VLAN);
	const uint8_t *r = buf + 4;
	assert_int_equal(r[0], 0xfd);
	assert_int_equal(r[15], 1);
	assert_int_equal(r[31], 2);
	assert_int_equal(get16(r + 32), 5000);
	assert_int_equal(get16(r + 34), 53);
	assert_int_equal(r[36], 17);
	assert_int_equal(get64(r + 37), 300);
	assert_int_equal(get64(r + 45), 3);
	assert_int_equal(r[69], FLOW_END_FORCED);
	assert_int_equal(get16(r + 70), 42);
	/* only b to a */
	f.a_to_b_packets = 0;
	f.b_to_a_bytes = 300;
	f.a_to_b_bytes = 0;
	n = ipfix_encode_flow(&f, FLOW_END_FORCED, buf, sizeof buf, &nrec);
	assert_int_equal(nrec, 1);
	assert_int_equal(buf[4 + 15], 2); /* source: b */
	/* no packets at all: no record */
	f.packets = 0;
	assert_int_equal(ipfix_encode_flow(&f, FLOW_END_FORCED, buf, sizeof buf, &nrec), 0);
}

static int
udp_listener(char *addr, size_t addrlen)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t sl = sizeof sa;
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	int rcv = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	snprintf(addr, addrlen, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

static void
test_exporter(void **state)
{
	char addr[64], err[256];
	int fd = udp_listener(addr, sizeof addr);
	struct ipfix *x = ipfix_create(addr, 77, 0, err, sizeof err);
	assert_non_null(x);
	/* 3000 two-way IPv4 flows: 6000 records, 30 to a message */
	int64_t now = 1767225600000LL;
	for (int i = 0; i < 3000; i++) {
		struct flow f = mkflow(0, 1, (uint16_t)(i + 1), 2, 53, 17, 0);
		f.packets = 3;
		f.a_to_b_packets = 2;
		f.a_to_b_bytes = 200;
		f.b_to_a_bytes = 100;
		ipfix_flow_end(x, &f, FLOW_END_IDLE, now);
	}
	ipfix_flush(x, now);
	struct ipfix_stats st;
	ipfix_get_stats(x, &st);
	assert_int_equal(st.flows, 3000);
	assert_int_equal(st.records_sent, 6000);
	assert_int_equal(st.records_failed, 0);
	uint8_t msg[65536];
	uint32_t records = 0, msgs = 0, with_templates = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			break;
		ssize_t n = recv(fd, msg, sizeof msg, 0);
		assert_true(n >= 16 && n <= IPFIX_MSG_MAX);
		assert_int_equal(get16(msg), 10);
		assert_int_equal(get16(msg + 2), n);
		assert_int_equal(get32(msg + 4), 1767225600);
		assert_int_equal(get32(msg + 8), records); /* data records before this message */
		assert_int_equal(get32(msg + 12), 77);
		for (size_t off = 16; off < (size_t)n;) {
			uint16_t id = get16(msg + off), len = get16(msg + off + 2);
			assert_true(len >= 4 && off + len <= (size_t)n);
			if (id == 2) {
				with_templates++;
			} else {
				assert_int_equal(id, IPFIX_TID_V4);
				assert_int_equal((len - 4) % 46, 0);
				records += (uint32_t)(len - 4) / 46;
			}
			off += len;
		}
		if (msgs == 0)
			assert_int_equal(with_templates, 1);
		msgs++;
	}
	assert_int_equal(records, 6000);
	assert_int_equal(msgs, st.messages_sent);
	/* the first, then again after IPFIX_TEMPLATE_REFRESH_MSGS others */
	assert_int_equal(with_templates, st.templates_sent);
	assert_int_equal(with_templates, 1 + (msgs - 1) / (IPFIX_TEMPLATE_REFRESH_MSGS + 1));
	/* and after IPFIX_TEMPLATE_REFRESH_S of quiet */
	struct flow f = mkflow(0, 1, 1, 2, 2, 17, 0);
	f.packets = f.a_to_b_packets = 1;
	ipfix_flow_end(x, &f, FLOW_END_IDLE, now + IPFIX_TEMPLATE_REFRESH_S * 1000);
	ipfix_flush(x, now + IPFIX_TEMPLATE_REFRESH_S * 1000);
	ssize_t n = recv(fd, msg, sizeof msg, 0);
	assert_int_equal(get16(msg + 16), 2);
	assert_true(n > 200);
	ipfix_destroy(x);
	close(fd);
}

static void
test_collector_gone(void **state)
{
	char addr[64], err[256];
	int fd = udp_listener(addr, sizeof addr);
	close(fd); /* nothing listens there now: the kernel answers port unreachable */
	struct ipfix *x = ipfix_create(addr, 1, 0, err, sizeof err);
	assert_non_null(x);
	for (int round = 0; round < 5; round++) {
		struct flow f = mkflow(0, 1, 1, 2, 2, 17, 0);
		f.packets = f.a_to_b_packets = 1;
		ipfix_flow_end(x, &f, FLOW_END_IDLE, round);
		ipfix_flush(x, round);
		usleep(20000);
	}
	struct ipfix_stats st;
	ipfix_get_stats(x, &st);
	assert_int_equal(st.records_sent + st.records_failed, 5);
	/* each refusal the kernel reports fails the next send; the one after
	   goes out again */
	assert_true(st.records_failed >= 2);
	assert_int_equal(st.messages_failed, st.records_failed);
	ipfix_destroy(x);
	assert_null(ipfix_create("no port", 1, 0, err, sizeof err));
	assert_non_null(strstr(err, "ipfix_collector"));
	assert_null(ipfix_create("no-such-host.invalid:4739", 1, 0, err, sizeof err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_encode_v4_both_ways),
		cmocka_unit_test(test_encode_v6_vlan_one_way),
		cmocka_unit_test(test_exporter),
		cmocka_unit_test(test_collector_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
