/* ipfix: finished flows to an IPFIX collector (RFC 7011) over UDP. A
   meshwatch flow is bidirectional; each direction that carried packets
   leaves as its own data record (source = the sender), so a collector's
   flow, packet and byte totals equal the capture's. Four templates (IPv4,
   IPv6, each with and without vlanId) go out in the first message and
   again every IPFIX_TEMPLATE_REFRESH_S seconds or
   IPFIX_TEMPLATE_REFRESH_MSGS messages. Records wait in one message of at
   most IPFIX_MSG_MAX bytes until it is full or ipfix_flush. Not
   thread-safe: one owner (the capture thread); the counters are read by
   the owner, which publishes them. */
#ifndef MESHWATCH_IPFIX_H
#define MESHWATCH_IPFIX_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

struct flow;
struct ipfix;

/* Template ids and information elements (IANA's IPFIX registry). */
enum {
	IPFIX_TID_V4 = 256,
	IPFIX_TID_V6 = 257,
	IPFIX_TID_V4_VLAN = 258,
	IPFIX_TID_V6_VLAN = 259,
};

struct ipfix_stats {
	uint64_t flows;            /* flows handed to ipfix_flow_end */
	uint64_t records_sent;     /* data records in messages the socket took */
	uint64_t records_failed;   /* data records in messages it refused */
	uint64_t messages_sent;
	uint64_t messages_failed;
	uint64_t templates_sent;   /* messages that carried the templates */
};

/* An exporter to collector ("host:port" or "[v6]:port", resolved now;
   the first address is used) with observation domain domain_id. pace_us
   > 0: sleeps that long after each message sent (a capture file read at
   full speed would otherwise send faster than a collector's socket
   buffer drains, and UDP drops silently). NULL with a reason in err.
   Does not block beyond name resolution and pace_us. */
struct ipfix *ipfix_create(const char *collector, uint32_t domain_id, int pace_us, char *err, size_t errlen)
	MW_MUST_CHECK;
/* Flushes what waits, then frees. Accepts NULL. */
void ipfix_destroy(struct ipfix *x);

/* Queues the records of a flow that ended for reason (enum flow_end);
   sends the message first when it is full. now_ms: wall time. */
void ipfix_flow_end(struct ipfix *x, const struct flow *f, int reason, int64_t now_ms);
/* Sends what waits (nothing when nothing does). */
void ipfix_flush(struct ipfix *x, int64_t now_ms);
void ipfix_get_stats(const struct ipfix *x, struct ipfix_stats *out);

/* The encoder alone, for tests: writes the data records of f (0, 1 or 2;
   *nrec says how many) as one data set per template into out (at most
   outlen bytes). Returns the bytes written, or 0 when they do not fit. */
size_t ipfix_encode_flow(const struct flow *f, int reason, uint8_t *out, size_t outlen, int *nrec);
/* Writes the template set into out; returns its length, or 0 when it does not fit. */
size_t ipfix_encode_templates(uint8_t *out, size_t outlen);

#endif
