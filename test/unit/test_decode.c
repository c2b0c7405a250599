/* decode: every encapsulation, fragments, extension headers, and every
   truncated or malformed case; each frame sits in a buffer of exactly
   caplen bytes, so a read past it is caught by the sanitizers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/decode.h"

struct pkt {
	uint8_t b[512];
	size_t n;
};

static void
put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
put16(struct pkt *p, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(p, b, 2);
}

static void
eth(struct pkt *p, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
	put(p, macs, 12);
	put16(p, type);
}

/* A tag's TCI (after its TPID, which the caller wrote as the type). */
static void
vlan(struct pkt *p, uint16_t id)
{
	put16(p, (uint16_t)(0x2000 | id)); /* priority bits must not leak into the id */
}

/* IPv4 header at p->n with opt_len bytes of options; payload follows. */
static void
ipv4(struct pkt *p, uint8_t proto, uint16_t payload, int opt_len, uint16_t frag)
{
	uint8_t h[60] = {0};
	int hl = 20 + opt_len;
	h[0] = (uint8_t)(0x40 | hl / 4);
	h[2] = (uint8_t)((hl + payload) >> 8);
	h[3] = (uint8_t)(hl + payload);
	h[6] = (uint8_t)(frag >> 8);
	h[7] = (uint8_t)frag;
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(h + 16, (uint8_t[]){10, 0, 0, 2}, 4);
	for (int i = 20; i < hl; i++)
		h[i] = 1; /* NOP options */
	put(p, h, (size_t)hl);
}

static void
ipv6(struct pkt *p, uint8_t nh, uint16_t payload)
{
	uint8_t h[40] = {0x60};
	h[4] = (uint8_t)(payload >> 8);
	h[5] = (uint8_t)payload;
	h[6] = nh;
	h[7] = 64;
	h[8] = 0xfd;
	h[23] = 1;
	h[24] = 0xfd;
	h[39] = 2;
	put(p, h, 40);
}

/* An 8-byte extension header (hop-by-hop, routing, dest opts). */
static void
ext8(struct pkt *p, uint8_t nh)
{
	uint8_t h[8] = {nh, 0};
	put(p, h, 8);
}

static void
tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	uint8_t h[20] = {0};
	h[0] = (uint8_t)(sport >> 8);
	h[1] = (uint8_t)sport;
	h[2] = (uint8_t)(dport >> 8);
	h[3] = (uint8_t)dport;
	h[12] = 5 << 4;
	h[13] = flags;
	put(p, h, 20);
}

static void
udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	put16(p, sport);
	put16(p, dport);
	put16(p, 8);
	put16(p, 0);
}

/* Decodes the first caplen bytes from an exact-size copy of a frame that
   had wirelen bytes on the wire. */
static int
dec_wire(int lt, const struct pkt *p, size_t caplen, size_t wirelen, struct decoded *d)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	assert_non_null(copy);
	memcpy(copy, p->b, caplen);
	int rc = decode_packet(lt, copy, (uint32_t)caplen, (uint32_t)wirelen, d);
	free(copy);
	return rc;
}

/* ... of a frame whose wire length is all of p. */
static int
dec(int lt, const struct pkt *p, size_t caplen, struct decoded *d)
{
	return dec_wire(lt, p, caplen, p->n, d);
}

static void
expect_v4_tcp(const struct decoded *d, uint16_t sport, uint16_t dport, uint8_t flags)
{
	static const uint8_t src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
	static const uint8_t dst[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2};
	assert_memory_equal(d->src, src, 16);
	assert_memory_equal(d->dst, dst, 16);
	assert_true(decode_is_v4(d->src));
	assert_int_equal(d->ipv6, 0);
	assert_int_equal(d->proto, 6);
	assert_int_equal(d->sport, sport);
	assert_int_equal(d->dport, dport);
	assert_int_equal(d->tcp_flags, flags);
}

static void
test_ethernet_ipv4_tcp(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 40000, 80, 0x12);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	expect_v4_tcp(&d, 40000, 80, 0x12);
	assert_int_equal(d.vlan, 0);
	assert_int_equal(d.fragment, 0);
	/* IPv4 options move the transport header */
	p.n = 0;
	eth(&p, 0x0800);
	ipv4(&p, 6, 20, 12, 0);
	tcp(&p, 1, 2, 0x01);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	expect_v4_tcp(&d, 1, 2, 0x01);
	/* Ethernet padding after a short datagram is fine */
	p.n = 0;
	eth(&p, 0x0800);
	ipv4(&p, 17, 8, 0, 0);
	udp(&p, 53, 5353);
	p.n += 18;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.proto, 17);
	assert_int_equal(d.sport, 53);
}

static void
test_vlan_and_qinq(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	eth(&p, 0x8100);
	vlan(&p, 100);
	put16(&p, 0x0800);
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 3, 4, 0x02);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.vlan, 100);
	expect_v4_tcp(&d, 3, 4, 0x02);
	/* QinQ: the outer (802.1ad) id is the flow's VLAN */
	for (int k = 0; k < 2; k++) {
		uint16_t outer = k ? 0x9100 : 0x88a8;
		p.n = 0;
		eth(&p, outer);
		vlan(&p, 200);
		put16(&p, 0x8100);
		vlan(&p, 300);
		put16(&p, 0x86dd);
		ipv6(&p, 17, 8);
		udp(&p, 7, 8);
		assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
		assert_int_equal(d.vlan, 200);
		assert_int_equal(d.ipv6, 1);
		assert_int_equal(d.sport, 7);
	}
	/* five tags deep is not a frame we follow */
	p.n = 0;
	eth(&p, 0x8100);
	for (int i = 0; i < 5; i++) {
		vlan(&p, 1);
		put16(&p, 0x8100);
	}
	vlan(&p, 1);
	put16(&p, 0x0800);
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 1, 2, 0);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_NOT_IP);
	/* a tag cut short */
	p.n = 0;
	eth(&p, 0x8100);
	put16(&p, 5);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_TRUNC_LINK);
}

static void
test_cooked_and_raw(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	/* SLL: 16 bytes, protocol last */
	uint8_t sll[14] = {0, 0, 0, 1, 0, 6};
	put(&p, sll, 14);
	put16(&p, 0x0800);
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 10, 20, 0x10);
	assert_int_equal(dec(DECODE_LINK_SLL, &p, p.n, &d), DECODE_OK);
	expect_v4_tcp(&d, 10, 20, 0x10);
	assert_int_equal(dec(DECODE_LINK_SLL, &p, 15, &d), DECODE_TRUNC_LINK);
	/* an Ethernet device's frame counts with the Ethernet header it had */
	assert_int_equal(decode_wire_len(DECODE_LINK_SLL, p.b, (uint32_t)p.n, (uint32_t)p.n), p.n - 2);
	assert_int_equal(decode_wire_len(DECODE_LINK_SLL, p.b, 10, (uint32_t)p.n), p.n);
	p.b[3] = 0x18; /* ARPHRD_LOOPBACK (772) is not Ethernet */
	assert_int_equal(decode_wire_len(DECODE_LINK_SLL, p.b, (uint32_t)p.n, (uint32_t)p.n), p.n);
	assert_int_equal(decode_wire_len(DECODE_LINK_ETHERNET, p.b, (uint32_t)p.n, 99), 99);
	/* SLL with a VLAN tag left in */
	p.n = 0;
	put(&p, sll, 14);
	put16(&p, 0x8100);
	vlan(&p, 42);
	put16(&p, 0x0800);
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 10, 20, 0x10);
	assert_int_equal(dec(DECODE_LINK_SLL, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.vlan, 42);
	/* SLL2: 20 bytes, protocol first */
	p.n = 0;
	put16(&p, 0x86dd);
	uint8_t sll2[18] = {0};
	put(&p, sll2, 18);
	ipv6(&p, 6, 20);
	tcp(&p, 443, 5000, 0x04);
	assert_int_equal(dec(DECODE_LINK_SLL2, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.ipv6, 1);
	assert_int_equal(d.dport, 5000);
	assert_int_equal(d.tcp_flags, 0x04);
	assert_false(decode_is_v4(d.src));
	assert_int_equal(dec(DECODE_LINK_SLL2, &p, 19, &d), DECODE_TRUNC_LINK);
	p.b[9] = 1; /* ARPHRD_ETHER */
	assert_int_equal(decode_wire_len(DECODE_LINK_SLL2, p.b, (uint32_t)p.n, (uint32_t)p.n), p.n - 6);
	/* raw IP: either family by the version nibble; and the v4/v6-only types */
	p.n = 0;
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 1, 2, 0x02);
	assert_int_equal(dec(DECODE_LINK_RAW, &p, p.n, &d), DECODE_OK);
	expect_v4_tcp(&d, 1, 2, 0x02);
	assert_int_equal(dec(DECODE_LINK_IPV4, &p, p.n, &d), DECODE_OK);
	assert_int_equal(dec(DECODE_LINK_IPV6, &p, p.n, &d), DECODE_BAD_IP);
	assert_int_equal(dec(DECODE_LINK_RAW, &p, 0, &d), DECODE_TRUNC_IP);
	p.n = 0;
	ipv6(&p, 17, 8);
	udp(&p, 1, 2);
	assert_int_equal(dec(DECODE_LINK_RAW, &p, p.n, &d), DECODE_OK);
	assert_int_equal(dec(DECODE_LINK_IPV6, &p, p.n, &d), DECODE_OK);
	p.b[0] = 0x50;
	assert_int_equal(dec(DECODE_LINK_RAW, &p, p.n, &d), DECODE_BAD_IP);
	assert_int_equal(dec(147, &p, p.n, &d), DECODE_BAD_LINK);
}

static void
test_fragments(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	/* first IPv4 fragment (MF, offset 0): ports */
	eth(&p, 0x0800);
	ipv4(&p, 17, 8, 0, 0x2000);
	udp(&p, 7000, 8000);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.fragment, 0);
	assert_int_equal(d.sport, 7000);
	/* a later one: no ports, even if its bytes look like a header */
	p.n = 0;
	eth(&p, 0x0800);
	ipv4(&p, 17, 8, 0, 185);
	udp(&p, 7000, 8000);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.fragment, 1);
	assert_int_equal(d.sport, 0);
	assert_int_equal(d.dport, 0);
	assert_int_equal(d.proto, 17);
	/* a later fragment with only a few bytes is still whole */
	p.n = 0;
	eth(&p, 0x0800);
	ipv4(&p, 6, 2, 0, 10);
	p.n += 2;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	/* IPv6 fragment header: offset 0 goes on to the ports, else it stops */
	for (int later = 0; later < 2; later++) {
		p.n = 0;
		eth(&p, 0x86dd);
		ipv6(&p, 44, 16);
		uint8_t fh[8] = {17, 0, 0, (uint8_t)(later ? 0x18 : 0x01), 0, 0, 0, 9};
		put(&p, fh, 8);
		udp(&p, 6000, 6001);
		assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
		assert_int_equal(d.proto, 17);
		assert_int_equal(d.fragment, later);
		assert_int_equal(d.sport, later ? 0 : 6000);
	}
}

static void
test_ipv6_extension_headers(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	/* hop-by-hop, routing, destination options, AH (12 bytes of ICV), then TCP */
	eth(&p, 0x86dd);
	ipv6(&p, 0, 8 + 8 + 8 + 24 + 20);
	ext8(&p, 43);
	ext8(&p, 60);
	ext8(&p, 51);
	uint8_t ah[24] = {6, 4};
	put(&p, ah, 24);
	tcp(&p, 5000, 443, 0x02);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.proto, 6);
	assert_int_equal(d.sport, 5000);
	assert_int_equal(d.dport, 443);
	/* every shorter capture is truncated somewhere, never decoded */
	for (size_t cap = 0; cap < 14 + 40 + 48 + 14; cap++) {
		int rc = dec(DECODE_LINK_ETHERNET, &p, cap, &d);
		assert_true(rc == DECODE_TRUNC_LINK || rc == DECODE_TRUNC_IP || rc == DECODE_TRUNC_L4);
	}
	/* the payload length ends inside the chain: malformed */
	p.b[14 + 4] = 0;
	p.b[14 + 5] = 12;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_IP);
	/* nine headers are more than the limit */
	p.n = 0;
	eth(&p, 0x86dd);
	ipv6(&p, 0, 9 * 8 + 20);
	for (int i = 0; i < 9; i++)
		ext8(&p, i < 8 ? 0 : 6);
	tcp(&p, 1, 2, 0);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_EXT);
	/* ESP and no-next-header end the chain: a flow without ports */
	p.n = 0;
	eth(&p, 0x86dd);
	ipv6(&p, 50, 16);
	p.n += 16;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.proto, 50);
	assert_int_equal(d.sport, 0);
}

static void
test_icmp_and_others(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 1, 8, 0, 0);
	p.n += 8;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.proto, 1);
	assert_int_equal(d.sport + d.dport, 0);
	p.n = 0;
	eth(&p, 0x86dd);
	ipv6(&p, 58, 8);
	p.n += 8;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.proto, 58);
	p.n = 0;
	eth(&p, 0x0800);
	ipv4(&p, 47, 4, 0, 0);
	p.n += 4;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.proto, 47);
	/* ARP, LLDP: no flow, not an error */
	p.n = 0;
	eth(&p, 0x0806);
	p.n += 28;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_NOT_IP);
	assert_string_equal(decode_proto_name(6), "tcp");
	assert_string_equal(decode_proto_name(58), "icmpv6");
	assert_null(decode_proto_name(47));
}

static void
test_truncated(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 6, 20, 8, 0);
	tcp(&p, 1, 2, 0x02);
	/* each prefix names the layer it ends in */
	for (size_t cap = 0; cap < p.n; cap++) {
		int rc = dec(DECODE_LINK_ETHERNET, &p, cap, &d);
		int want = cap < 14 ? DECODE_TRUNC_LINK : cap < 14 + 28 ? DECODE_TRUNC_IP : cap < 14 + 28 + 14 ? DECODE_TRUNC_L4 : DECODE_OK;
		if (rc != want)
			fail_msg("caplen %zu: got %s, want %s", cap, decode_status_name(rc), decode_status_name(want));
	}
	/* UDP needs its ports only */
	p.n = 0;
	eth(&p, 0x0800);
	ipv4(&p, 17, 8, 0, 0);
	udp(&p, 1, 2);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, 14 + 20 + 3, &d), DECODE_TRUNC_L4);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, 14 + 20 + 4, &d), DECODE_OK);
	/* IPv6 header and extension cut */
	p.n = 0;
	eth(&p, 0x86dd);
	ipv6(&p, 0, 8 + 8);
	ext8(&p, 17);
	udp(&p, 1, 2);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, 14 + 39, &d), DECODE_TRUNC_IP);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, 14 + 41, &d), DECODE_TRUNC_IP);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, 14 + 47, &d), DECODE_TRUNC_IP);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, 14 + 48 + 2, &d), DECODE_TRUNC_L4);
	assert_string_equal(decode_status_name(DECODE_TRUNC_L4), "truncated_l4");
}

static void
test_malformed(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 1, 2, 0);
	size_t ip = 14;
	p.b[ip] = 0x65; /* version 6 behind the IPv4 ethertype */
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_IP);
	p.b[ip] = 0x44; /* header length 16 */
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_IP);
	p.b[ip] = 0x45;
	p.b[ip + 2] = 0;
	p.b[ip + 3] = 19; /* total length shorter than the header */
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_IP);
	p.b[ip + 3] = 30; /* room for 10 bytes of TCP */
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_L4);
	p.b[ip + 3] = 40;
	p.b[ip + 20 + 12] = 0x40; /* data offset 4 */
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_L4);
	p.b[ip + 20 + 12] = 0x50;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	/* UDP with less than its header inside the datagram */
	p.n = 0;
	eth(&p, 0x0800);
	ipv4(&p, 17, 4, 0, 0);
	udp(&p, 1, 2);
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_L4);
	/* IPv6: wrong version, payload length short of the UDP header */
	p.n = 0;
	eth(&p, 0x86dd);
	ipv6(&p, 17, 8);
	udp(&p, 1, 2);
	p.b[14] = 0x40;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_IP);
	p.b[14] = 0x60;
	p.b[14 + 5] = 6;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_L4);
	assert_string_equal(decode_status_name(DECODE_NSTATUS), "unknown");
}

/* The IP length against the frame's wire length (pcap_pkthdr.len): longer
   is malformed, whatever the snaplen kept; a snaplen cut alone is not. */
static void
test_length_past_wire(void **state)
{
	struct pkt p = {0};
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 6, 20, 0, 0);
	tcp(&p, 1, 2, 0x02);
	size_t ip = 14;
	p.b[ip + 2] = 0x05;
	p.b[ip + 3] = 0xdc; /* total 1500 in a 54-byte frame */
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_IP);
	assert_string_equal(decode_status_name(DECODE_BAD_IP), "bad_ip");
	/* the same bytes cut by a 54-byte snaplen from a 1514-byte frame: fine */
	assert_int_equal(dec_wire(DECODE_LINK_ETHERNET, &p, p.n, 14 + 1500, &d), DECODE_OK);
	expect_v4_tcp(&d, 1, 2, 0x02);
	/* one byte short of the wire */
	assert_int_equal(dec_wire(DECODE_LINK_ETHERNET, &p, p.n, 14 + 1499, &d), DECODE_BAD_IP);
	/* Ethernet padding after a short datagram is fine */
	assert_int_equal(dec_wire(DECODE_LINK_ETHERNET, &p, p.n, 14 + 1500 + 4, &d), DECODE_OK);
	/* behind a VLAN tag the tag's 4 bytes are not the datagram's */
	p.n = 0;
	eth(&p, 0x8100);
	vlan(&p, 7);
	put16(&p, 0x0800);
	ipv4(&p, 17, 8, 0, 0);
	udp(&p, 1, 2);
	p.b[18 + 3] = 28 + 4;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_BAD_IP);
	p.b[18 + 3] = 28;
	assert_int_equal(dec(DECODE_LINK_ETHERNET, &p, p.n, &d), DECODE_OK);
	assert_int_equal(d.vlan, 7);
	/* raw IPv4 and IPv6: a payload length past the wire */
	p.n = 0;
	ipv4(&p, 17, 8, 0, 0);
	udp(&p, 1, 2);
	p.b[3] = 29;
	assert_int_equal(dec(DECODE_LINK_RAW, &p, p.n, &d), DECODE_BAD_IP);
	assert_int_equal(dec_wire(DECODE_LINK_RAW, &p, p.n, p.n + 1, &d), DECODE_OK);
	p.n = 0;
	ipv6(&p, 17, 9);
	udp(&p, 1, 2);
	assert_int_equal(dec(DECODE_LINK_IPV6, &p, p.n, &d), DECODE_BAD_IP);
	assert_int_equal(dec_wire(DECODE_LINK_IPV6, &p, p.n, p.n + 1, &d), DECODE_OK);
	/* a record whose wire length is below its caplen: the capture decides */
	p.n = 0;
	ipv4(&p, 17, 8, 0, 0);
	udp(&p, 1, 2);
	assert_int_equal(dec_wire(DECODE_LINK_RAW, &p, p.n, 10, &d), DECODE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_ipv4_tcp),
		cmocka_unit_test(test_vlan_and_qinq),
		cmocka_unit_test(test_cooked_and_raw),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_icmp_and_others),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_length_past_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
