/* decode: link layer -> VLAN tags -> IPv4/IPv6 (with options, extension
   headers and fragments) -> TCP/UDP ports and TCP flags. Every read is
   checked against caplen first; lengths inside the packet (IPv4 total
   length, IPv6 payload length) only ever shrink what is read, never widen
   it. A length that claims more bytes than the frame had on the wire
   (wirelen, not caplen: a short snaplen cuts good packets) is malformed,
   as tcpdump and tshark flag it. "extra" below is what the wire had past
   the capture: the wire length of any layer is its captured len + extra. Pure: called on the capture thread, by the unit tests and by the
   fuzzer. */
#include "meshwatch/decode.h"

#include <string.h>

#include "meshwatch/limits.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int
decode_is_v4(const uint8_t a[16])
{
	static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a, pre, 12) == 0;
}

static void
map_v4(uint8_t out[16], const uint8_t *v4)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

/* Ports (and TCP flags) from the transport header at p: have bytes are
   captured, room bytes the IP header says the payload has. */
static int
decode_l4(const uint8_t *p, uint32_t have, uint32_t room, struct decoded *d)
{
	uint32_t need;
	switch (d->proto) {
	case 6:
		need = 14; /* through the flags byte */
		break;
	case 17:
	case 136: /* UDP-Lite */
		need = 4;
		break;
	default:
		return DECODE_OK; /* ICMP, ICMPv6, ...: no ports */
	}
	if (d->fragment)
		return DECODE_OK;
	uint32_t hdr = d->proto == 6 ? 20 : 8;
	if (room < hdr)
		return DECODE_BAD_L4;
	if (have < need)
		return DECODE_TRUNC_L4;
	d->sport = rd16(p);
	d->dport = rd16(p + 2);
	if (d->proto == 6) {
		if ((p[12] >> 4) < 5)
			return DECODE_BAD_L4;
		d->tcp_flags = p[13];
	}
	return DECODE_OK;
}

static int
decode_ipv4(const uint8_t *p, uint32_t len, uint32_t extra, struct decoded *d)
{
	if (len < 20)
		return DECODE_TRUNC_IP;
	if ((p[0] >> 4) != 4)
		return DECODE_BAD_IP;
	uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
	uint32_t total = rd16(p + 2);
	if (ihl < 20 || total < ihl || total > (uint64_t)len + extra)
		return DECODE_BAD_IP;
	if (len < ihl)
		return DECODE_TRUNC_IP;
	uint16_t frag = rd16(p + 6);
	d->fragment = (frag & 0x1fff) != 0;
	d->proto = p[9];
	d->ipv6 = 0;
	map_v4(d->src, p + 12);
	map_v4(d->dst, p + 16);
	uint32_t have = len - ihl;
	uint32_t room = total - ihl;
	return decode_l4(p + ihl, have, room, d);
}

static int
decode_ipv6(const uint8_t *p, uint32_t len, uint32_t extra, struct decoded *d)
{
	if (len < 40)
		return DECODE_TRUNC_IP;
	if ((p[0] >> 4) != 6)
		return DECODE_BAD_IP;
	d->ipv6 = 1;
	memcpy(d->src, p + 8, 16);
	memcpy(d->dst, p + 24, 16);
	uint32_t room = rd16(p + 4); /* 0 with a jumbogram option: then the capture decides */
	int jumbo = room == 0;
	if (room + 40 > (uint64_t)len + extra)
		return DECODE_BAD_IP;
	uint8_t nh = p[6];
	uint32_t off = 40;
	for (int k = 0;; k++) {
		uint32_t elen;
		switch (nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
			if (off + 2 > len)
				return DECODE_TRUNC_IP;
			elen = ((uint32_t)p[off + 1] + 1) * 8;
			break;
		case 44: /* fragment */
			if (off + 8 > len)
				return DECODE_TRUNC_IP;
			elen = 8;
			if ((rd16(p + off + 2) & 0xfff8) != 0)
				d->fragment = 1;
			break;
		case 51: /* AH: length in 4-byte units, minus 2 */
			if (off + 2 > len)
				return DECODE_TRUNC_IP;
			elen = ((uint32_t)p[off + 1] + 2) * 4;
			break;
		default:
			d->proto = nh;
			if (!jumbo && room + 40 < off)
				return DECODE_BAD_IP;
			uint32_t l4room = jumbo ? len - off : room + 40 - off;
			return decode_l4(p + off, len - off, l4room, d);
		}
		if (k >= DECODE_MAX_V6_EXT)
			return DECODE_BAD_EXT;
		if (!jumbo && off + elen > room + 40)
			return DECODE_BAD_IP;
		if (off + elen > len)
			return DECODE_TRUNC_IP;
		nh = p[off];
		off += elen;
		if (d->fragment) {
			/* a later fragment: what follows is payload, not headers */
			d->proto = nh;
			return DECODE_OK;
		}
	}
}

/* Network layer after the link header: ethertype-selected. */
static int
decode_ether_payload(uint16_t type, const uint8_t *p, uint32_t len, uint32_t extra, struct decoded *d)
{
	for (int tags = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD; tags++) {
		if (tags >= DECODE_MAX_VLAN_TAGS)
			return DECODE_NOT_IP;
		if (len < 4)
			return DECODE_TRUNC_LINK;
		if (tags == 0)
			d->vlan = rd16(p) & 0x0fff;
		type = rd16(p + 2);
		p += 4;
		len -= 4;
	}
	if (type == ETH_IPV4)
		return decode_ipv4(p, len, extra, d);
	if (type == ETH_IPV6)
		return decode_ipv6(p, len, extra, d);
	return DECODE_NOT_IP;
}

static int
decode_raw(const uint8_t *p, uint32_t len, uint32_t extra, struct decoded *d)
{
	if (len < 1)
		return DECODE_TRUNC_IP;
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(p, len, extra, d);
	case 6:
		return decode_ipv6(p, len, extra, d);
	default:
		return DECODE_BAD_IP;
	}
}

int
decode_packet(int linktype, const uint8_t *p, uint32_t caplen, uint32_t wirelen, struct decoded *out)
{
	/* a wire length below caplen is a broken record: trust the capture */
	uint32_t extra = wirelen > caplen ? wirelen - caplen : 0;
	memset(out, 0, sizeof *out);
	switch (linktype) {
	case DECODE_LINK_ETHERNET:
		if (caplen < 14)
			return DECODE_TRUNC_LINK;
		return decode_ether_payload(rd16(p + 12), p + 14, caplen - 14, extra, out);
	case DECODE_LINK_SLL:
		if (caplen < 16)
			return DECODE_TRUNC_LINK;
		return decode_ether_payload(rd16(p + 14), p + 16, caplen - 16, extra, out);
	case DECODE_LINK_SLL2:
		if (caplen < 20)
			return DECODE_TRUNC_LINK;
		return decode_ether_payload(rd16(p), p + 20, caplen - 20, extra, out);
	case DECODE_LINK_RAW:
		return decode_raw(p, caplen, extra, out);
	case DECODE_LINK_IPV4:
		return decode_ipv4(p, caplen, extra, out);
	case DECODE_LINK_IPV6:
		return decode_ipv6(p, caplen, extra, out);
	default:
		return DECODE_BAD_LINK;
	}
}

uint32_t
decode_wire_len(int linktype, const uint8_t *p, uint32_t caplen, uint32_t wirelen)
{
	/* ARPHRD_ETHER = 1: SLL has it at offset 2, SLL2 at offset 8 */
	if (linktype == DECODE_LINK_SLL && caplen >= 16 && wirelen >= 16 && rd16(p + 2) == 1)
		return wirelen - 2;
	if (linktype == DECODE_LINK_SLL2 && caplen >= 20 && wirelen >= 20 && rd16(p + 8) == 1)
		return wirelen - 6;
	return wirelen;
}

const char *
decode_status_name(int status)
{
	static const char *const names[DECODE_NSTATUS] = {
		"ok", "not_ip", "truncated_link", "truncated_ip", "truncated_l4", "bad_ip", "bad_ipv6_ext", "bad_l4",
		"unknown_linktype",
	};
	return status >= 0 && status < DECODE_NSTATUS ? names[status] : "unknown";
}

const char *
decode_proto_name(int proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	default:
		return NULL;
	}
}
