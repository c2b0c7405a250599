/* decode: one captured frame to the fields a flow needs. A pure function
   of (link type, bytes, caplen, wirelen): no state, no allocation, never
   reads past caplen, safe on any input (fuzzed). */
#ifndef MESHWATCH_DECODE_H
#define MESHWATCH_DECODE_H

#include <stdint.h>

/* Link types (libpcap's LINKTYPE_* values, as pcap_datalink() and pcap
   files give them). */
enum {
	DECODE_LINK_ETHERNET = 1,
	DECODE_LINK_RAW = 101,     /* raw IPv4 or IPv6 (DLT_RAW is 12 or 14 in memory) */
	DECODE_LINK_SLL = 113,     /* Linux cooked capture v1 ("any") */
	DECODE_LINK_IPV4 = 228,
	DECODE_LINK_IPV6 = 229,
	DECODE_LINK_SLL2 = 276,    /* Linux cooked capture v2 */
};

/* The outcome of decoding one frame. DECODE_OK and DECODE_NOT_IP are not
   errors; the rest are counted by kind (decode_status_name). */
enum decode_status {
	DECODE_OK = 0,
	DECODE_NOT_IP,          /* ARP, LLDP, ...: no flow */
	DECODE_TRUNC_LINK,      /* caplen ends inside the link header or VLAN tags */
	DECODE_TRUNC_IP,        /* ... inside the IPv4 header / IPv6 header or its extensions */
	DECODE_TRUNC_L4,        /* ... before the ports (or TCP flags) */
	DECODE_BAD_IP,          /* version, header length or total length impossible; IPv4 total
	                           length or IPv6 payload length past the frame's wire length */
	DECODE_BAD_EXT,         /* IPv6 extension chain longer than the limit */
	DECODE_BAD_L4,          /* the IP length leaves no room for the TCP/UDP header; TCP offset < 5 */
	DECODE_BAD_LINK,        /* link type this decoder does not know */
	DECODE_NSTATUS
};

/* Addresses are 16 bytes: IPv6 as is, IPv4 mapped (::ffff:a.b.c.d). */
struct decoded {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;      /* 0 for ICMP, other protocols, and non-first fragments */
	uint16_t vlan;              /* outermost 802.1Q/802.1ad id, 0 when untagged */
	uint8_t proto;              /* IP protocol after IPv6 extension headers */
	uint8_t tcp_flags;          /* TCP only */
	uint8_t ipv6;               /* 1 for IPv6 */
	uint8_t fragment;           /* 1 for a non-first fragment (no ports) */
};

/* Decodes the frame p (caplen bytes present, wirelen on the wire:
   pcap_pkthdr.len, which bounds the lengths the IP header may claim, so a
   capture cut by snaplen still decodes). Returns a decode_status; out is
   filled only for DECODE_OK. */
int decode_packet(int linktype, const uint8_t *p, uint32_t caplen, uint32_t wirelen, struct decoded *out);

/* The bytes a frame took on the wire: wirelen, except for Linux cooked
   capture of an Ethernet device, whose 16- or 20-byte cooked header stands
   in for the 14-byte Ethernet header it replaced. */
uint32_t decode_wire_len(int linktype, const uint8_t *p, uint32_t caplen, uint32_t wirelen);

/* "truncated_link", "bad_ip", ...; "ok" and "not_ip" for the others. */
const char *decode_status_name(int status);

/* Protocol names used by the API: "tcp", "udp", "icmp", "icmpv6", else
   NULL (then the number is shown). */
const char *decode_proto_name(int proto);

/* 1 when a is an IPv4-mapped address. */
int decode_is_v4(const uint8_t a[16]);

#endif
