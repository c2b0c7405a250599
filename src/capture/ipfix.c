/* ipfix: one message under construction (header, maybe the template set,
   then data sets), sent over a connected non-blocking UDP socket when the
   next record does not fit or on ipfix_flush. Owned by the capture
   thread, which calls it for every flow that leaves the flow table and
   flushes after each batch of packets; it never blocks on the network
   (a full socket buffer or an unreachable collector counts the records
   as failed, and is logged at most once a minute).

   The sequence number is the count of data records sent before the
   message, as RFC 7011 section 3.1 defines it; records of a message the
   socket refused are not counted as sent. */
#include "meshwatch/ipfix.h"

#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/config.h"
#include "meshwatch/decode.h"
#include "meshwatch/flowtable.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"

#define IPFIX_VERSION 10
#define MSG_HDR 16
#define SET_HDR 4
#define SET_TEMPLATE 2

/* Information elements: id and length in bytes. */
struct ie {
	uint16_t id, len;
};
#define IE_OCTETS {1, 8}
#define IE_PACKETS {2, 8}
#define IE_PROTO {4, 1}
#define IE_SPORT {7, 2}
#define IE_DPORT {11, 2}
#define IE_SRC4 {8, 4}
#define IE_DST4 {12, 4}
#define IE_SRC6 {27, 16}
#define IE_DST6 {28, 16}
#define IE_VLAN {58, 2}
#define IE_END_REASON {136, 1}
#define IE_START_MS {152, 8}
#define IE_END_MS {153, 8}

#define FIELDS_V4 IE_SRC4, IE_DST4, IE_SPORT, IE_DPORT, IE_PROTO, IE_OCTETS, IE_PACKETS, IE_START_MS, IE_END_MS, IE_END_REASON
#define FIELDS_V6 IE_SRC6, IE_DST6, IE_SPORT, IE_DPORT, IE_PROTO, IE_OCTETS, IE_PACKETS, IE_START_MS, IE_END_MS, IE_END_REASON
static const struct ie t_v4[] = {FIELDS_V4};
static const struct ie t_v6[] = {FIELDS_V6};
static const struct ie t_v4_vlan[] = {FIELDS_V4, IE_VLAN};
static const struct ie t_v6_vlan[] = {FIELDS_V6, IE_VLAN};
static const struct {
	uint16_t tid;
	const struct ie *f;
	size_t n;
} templates[] = {
	{IPFIX_TID_V4, t_v4, MW_ARRAY_LEN(t_v4)},
	{IPFIX_TID_V6, t_v6, MW_ARRAY_LEN(t_v6)},
	{IPFIX_TID_V4_VLAN, t_v4_vlan, MW_ARRAY_LEN(t_v4_vlan)},
	{IPFIX_TID_V6_VLAN, t_v6_vlan, MW_ARRAY_LEN(t_v6_vlan)},
};

struct ipfix {
	int fd;
	uint32_t domain;
	int pace_us;
	char collector[CONFIG_STR];
	uint32_t seq;              /* data records sent so far (mod 2^32) */
	uint8_t msg[IPFIX_MSG_MAX];
	size_t len;                /* 0: no message open */
	uint16_t set_tid;          /* the open data set's template, 0 when none */
	size_t set_off;
	uint32_t nrec;             /* data records in the message */
	int has_templates;
	int64_t templates_ms;      /* when the templates last went out; 0 never */
	uint32_t msgs_since_templates;
	int64_t err_logged_ms;
	uint64_t err_unlogged;
	struct ipfix_stats st;
};

/* Network byte order, as every IPFIX field is. */
static void
put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof v);
}

static void
put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof v);
}

static void
put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof v);
}

static uint16_t
tid_of(const struct flow *f)
{
	int v4 = decode_is_v4(f->key.a);
	if (f->key.vlan)
		return v4 ? IPFIX_TID_V4_VLAN : IPFIX_TID_V6_VLAN;
	return v4 ? IPFIX_TID_V4 : IPFIX_TID_V6;
}

static size_t
record_len(uint16_t tid)
{
	size_t n = 0;
	for (size_t t = 0; t < MW_ARRAY_LEN(templates); t++)
		if (templates[t].tid == tid)
			for (size_t i = 0; i < templates[t].n; i++)
				n += templates[t].f[i].len;
	return n;
}

size_t
ipfix_encode_templates(uint8_t *out, size_t outlen)
{
	size_t n = SET_HDR;
	for (size_t t = 0; t < MW_ARRAY_LEN(templates); t++)
		n += 4 + 4 * templates[t].n;
	if (n > outlen)
		return 0;
	put16(out, SET_TEMPLATE);
	put16(out + 2, (uint16_t)n);
	uint8_t *p = out + SET_HDR;
	for (size_t t = 0; t < MW_ARRAY_LEN(templates); t++) {
		put16(p, templates[t].tid);
		put16(p + 2, (uint16_t)templates[t].n);
		p += 4;
		for (size_t i = 0; i < templates[t].n; i++, p += 4) {
			put16(p, templates[t].f[i].id);
			put16(p + 2, templates[t].f[i].len);
		}
	}
	return n;
}

/* One direction of f (forward: a to b) as a data record at p, in the
   field order of its template; returns its length. */
static size_t
encode_record(const struct flow *f, int forward, int reason, uint8_t *p)
{
	const uint8_t *src = forward ? f->key.a : f->key.b, *dst = forward ? f->key.b : f->key.a;
	uint16_t sport = forward ? f->key.aport : f->key.bport, dport = forward ? f->key.bport : f->key.aport;
	uint64_t packets = forward ? f->a_to_b_packets : f->packets - f->a_to_b_packets;
	uint64_t octets = forward ? f->a_to_b_bytes : f->b_to_a_bytes;
	uint8_t *start = p;
	if (decode_is_v4(src)) {
		memcpy(p, src + 12, 4);
		memcpy(p + 4, dst + 12, 4);
		p += 8;
	} else {
		memcpy(p, src, 16);
		memcpy(p + 16, dst, 16);
		p += 32;
	}
	put16(p, sport);
	put16(p + 2, dport);
	p[4] = f->key.proto;
	p += 5;
	put64(p, octets);
	put64(p + 8, packets);
	/* a direction's own first and last packet are not kept: both carry
	   the conversation's */
	put64(p + 16, (uint64_t)(f->first_us / 1000));
	put64(p + 24, (uint64_t)(f->last_us / 1000));
	p[32] = (uint8_t)reason;
	p += 33;
	if (f->key.vlan) {
		put16(p, f->key.vlan);
		p += 2;
	}
	return (size_t)(p - start);
}

/* Directions of f that carried packets: bit 0 a to b, bit 1 b to a. */
static int
directions(const struct flow *f)
{
	return (f->a_to_b_packets > 0 ? 1 : 0) | (f->packets > f->a_to_b_packets ? 2 : 0);
}

size_t
ipfix_encode_flow(const struct flow *f, int reason, uint8_t *out, size_t outlen, int *nrec)
{
	int dirs = directions(f);
	*nrec = (dirs & 1) + (dirs >> 1);
	if (*nrec == 0)
		return 0;
	uint16_t tid = tid_of(f);
	size_t n = SET_HDR + (size_t)*nrec * record_len(tid);
	if (n > outlen) {
		*nrec = 0;
		return 0;
	}
	put16(out, tid);
	put16(out + 2, (uint16_t)n);
	uint8_t *p = out + SET_HDR;
	if (dirs & 1)
		p += encode_record(f, 1, reason, p);
	if (dirs & 2)
		p += encode_record(f, 0, reason, p);
	return n;
}

struct ipfix *
ipfix_create(const char *collector, uint32_t domain_id, int pace_us, char *err, size_t errlen)
{
	char host[256], ports[8];
	int port, gai;
	if (config_split_hostport(collector, host, sizeof host, &port) != 0) {
		snprintf(err, errlen, "ipfix_collector: \"%s\" is not HOST:PORT or [IPV6]:PORT", collector);
		return NULL;
	}
	snprintf(ports, sizeof ports, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	if ((gai = getaddrinfo(host, ports, &hints, &res)) != 0) {
		snprintf(err, errlen, "ipfix_collector: cannot resolve \"%s\": %s", host, gai_strerror(gai));
		return NULL;
	}
	struct ipfix *x = calloc(1, sizeof *x);
	if (x == NULL) {
		freeaddrinfo(res);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0 || connect(x->fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "ipfix_collector %s: %s", collector, strerror(errno));
		freeaddrinfo(res);
		if (x->fd >= 0)
			close(x->fd);
		free(x);
		return NULL;
	}
	freeaddrinfo(res);
	x->domain = domain_id;
	x->pace_us = pace_us;
	snprintf(x->collector, sizeof x->collector, "%s", collector);
	return x;
}

static void
open_message(struct ipfix *x, int64_t now_ms)
{
	x->len = MSG_HDR;
	x->set_tid = 0;
	x->nrec = 0;
	x->has_templates = 0;
	if (x->templates_ms == 0 || now_ms - x->templates_ms >= IPFIX_TEMPLATE_REFRESH_S * 1000 ||
	    x->msgs_since_templates >= IPFIX_TEMPLATE_REFRESH_MSGS) {
		x->len += ipfix_encode_templates(x->msg + x->len, sizeof x->msg - x->len);
		x->has_templates = 1;
	}
}

static void
close_set(struct ipfix *x)
{
	if (x->set_tid)
		put16(x->msg + x->set_off + 2, (uint16_t)(x->len - x->set_off));
	x->set_tid = 0;
}

static void
send_message(struct ipfix *x, int64_t now_ms)
{
	if (x->len == 0)
		return;
	close_set(x);
	put16(x->msg, IPFIX_VERSION);
	put16(x->msg + 2, (uint16_t)x->len);
	put32(x->msg + 4, (uint32_t)(now_ms / 1000));
	put32(x->msg + 8, x->seq);
	put32(x->msg + 12, x->domain);
	ssize_t n = send(x->fd, x->msg, x->len, MSG_NOSIGNAL);
	if (n == (ssize_t)x->len) {
		x->seq += x->nrec;
		x->st.records_sent += x->nrec;
		x->st.messages_sent++;
		if (x->has_templates) {
			x->st.templates_sent++;
			x->templates_ms = now_ms;
			x->msgs_since_templates = 0;
		} else {
			x->msgs_since_templates++;
		}
		if (x->pace_us > 0) {
			struct timespec ts = {0, (long)x->pace_us * 1000};
			nanosleep(&ts, NULL);
		}
	} else {
		int e = errno;
		x->st.records_failed += x->nrec;
		x->st.messages_failed++;
		/* the templates, if they were in it, go out again with the next */
		if (now_ms - x->err_logged_ms >= 60000) {
			log_warn("ipfix", "cannot send to the collector %s: %s (%u records lost; %llu more failed messages since "
			    "the last warning)", x->collector, n < 0 ? strerror(e) : "short send", x->nrec,
			    (unsigned long long)x->err_unlogged);
			x->err_logged_ms = now_ms;
			x->err_unlogged = 0;
		} else {
			x->err_unlogged++;
		}
	}
	x->len = 0;
}

static void
add_record(struct ipfix *x, const struct flow *f, int forward, int reason, int64_t now_ms)
{
	uint16_t tid = tid_of(f);
	size_t rl = record_len(tid);
	for (int tries = 0; tries < 2; tries++) {
		if (x->len == 0)
			open_message(x, now_ms);
		size_t need = rl + (x->set_tid == tid ? 0 : SET_HDR);
		if (x->len + need <= sizeof x->msg)
			break;
		send_message(x, now_ms);
	}
	if (x->set_tid != tid) {
		close_set(x);
		x->set_tid = tid;
		x->set_off = x->len;
		put16(x->msg + x->len, tid);
		x->len += SET_HDR;
	}
	x->len += encode_record(f, forward, reason, x->msg + x->len);
	x->nrec++;
}

void
ipfix_flow_end(struct ipfix *x, const struct flow *f, int reason, int64_t now_ms)
{
	int dirs = directions(f);
	if (dirs == 0)
		return;
	x->st.flows++;
	if (dirs & 1)
		add_record(x, f, 1, reason, now_ms);
	if (dirs & 2)
		add_record(x, f, 0, reason, now_ms);
}

void
ipfix_flush(struct ipfix *x, int64_t now_ms)
{
	if (x->nrec > 0)
		send_message(x, now_ms);
}

void
ipfix_get_stats(const struct ipfix *x, struct ipfix_stats *out)
{
	*out = x->st;
}

void
ipfix_destroy(struct ipfix *x)
{
	if (x == NULL)
		return;
	ipfix_flush(x, mw_wall_ms());
	close(x->fd);
	free(x);
}
