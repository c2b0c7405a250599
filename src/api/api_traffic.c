/* api_traffic: /api/flows, /api/counters and /api/stats (the live
   traffic frames are built in views.c). Handlers run on civetweb worker
   threads and read only what the capture thread published (capture.h,
   rollup.h) or the per-minute history (store). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/capture.h"
#include "meshwatch/http.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "views.h"

#define FLOWS_LIMIT_DEFAULT 100
#define COUNTERS_DEFAULT_RANGE 300

/* "10.0.0.1:53" or "[fd00::1]:53". */
static void
endpoint(const uint8_t ip[16], uint16_t port, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];
	if (decode_is_v4(ip)) {
		inet_ntop(AF_INET, ip + 12, a, sizeof a);
		snprintf(out, outlen, "%s:%u", a, port);
	} else {
		inet_ntop(AF_INET6, ip, a, sizeof a);
		snprintf(out, outlen, "[%s]:%u", a, port);
	}
}

static void
add_proto(cJSON *o, const char *key, int proto)
{
	const char *name = decode_proto_name(proto);
	char num[8];
	snprintf(num, sizeof num, "%d", proto);
	cJSON_AddStringToObject(o, key, name ? name : num);
}

/* ---- /api/flows ---- */

struct flow_filter {
	int proto;             /* -1: any */
	int port;              /* 0: any */
	int has_net;
	uint8_t net[16];
	int prefix;            /* in bits of the 16-byte form */
};

/* "10.0.0.0/24", "fd00::/64", or one address. 0, or MW_EINVAL when
   malformed. */
static int
parse_cidr(const char *s, uint8_t net[16], int *prefix)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof addr)
		return MW_EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	int v4 = strchr(addr, ':') == NULL;
	memset(net, 0, 16);
	if (v4) {
		net[10] = net[11] = 0xff;
		if (inet_pton(AF_INET, addr, net + 12) != 1)
			return MW_EINVAL;
	} else if (inet_pton(AF_INET6, addr, net) != 1) {
		return MW_EINVAL;
	}
	int maxp = v4 ? 32 : 128, p = maxp;
	if (slash) {
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || v < 0 || v > maxp)
			return MW_EINVAL;
		p = (int)v;
	}
	*prefix = v4 ? 96 + p : p;
	/* host bits beyond the prefix are ignored */
	for (int bit = *prefix; bit < 128; bit++)
		net[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	return 0;
}

static int
in_net(const uint8_t ip[16], const struct flow_filter *f)
{
	int full = f->prefix / 8, rest = f->prefix % 8;
	if (memcmp(ip, f->net, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (ip[full] & mask) == f->net[full];
}

static int
flow_matches(const struct flow *fl, const struct flow_filter *f)
{
	if (f->proto >= 0 && fl->key.proto != f->proto)
		return 0;
	if (f->port && fl->key.aport != f->port && fl->key.bport != f->port)
		return 0;
	if (f->has_net && !in_net(fl->key.a, f) && !in_net(fl->key.b, f))
		return 0;
	return 1;
}

enum { SORT_BYTES, SORT_PACKETS, SORT_LAST_SEEN, SORT_FIRST_SEEN };

struct sort_ctx {
	const struct flow *flows;
	int key, desc;
};

static int
cmp_flows(const void *x, const void *y, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct flow *a = &c->flows[*(const uint32_t *)x], *b = &c->flows[*(const uint32_t *)y];
	int64_t va, vb;
	switch (c->key) {
	case SORT_PACKETS:
		va = (int64_t)a->packets, vb = (int64_t)b->packets;
		break;
	case SORT_LAST_SEEN:
		va = a->last_us, vb = b->last_us;
		break;
	case SORT_FIRST_SEEN:
		va = a->first_us, vb = b->first_us;
		break;
	default:
		va = (int64_t)a->bytes, vb = (int64_t)b->bytes;
	}
	int r = va < vb ? -1 : va > vb;
	if (r == 0) /* a stable order for paging */
		r = memcmp(&a->key, &b->key, sizeof a->key);
	return c->desc ? -r : r;
}

static void
tcp_flags_text(uint8_t f, char out[9])
{
	static const char names[] = "FSRPAUEC";
	int k = 0;
	for (int i = 0; i < 8; i++)
		if (f & (1 << i))
			out[k++] = names[i];
	out[k] = '\0';
}

/* One flow as /api/flows shows it. */
static cJSON *
flow_json(const struct flow *f)
{
	char a[64], b[64], flags[9];
	cJSON *o = cJSON_CreateObject();
	endpoint(f->key.a, f->key.aport, a, sizeof a);
	endpoint(f->key.b, f->key.bport, b, sizeof b);
	cJSON_AddStringToObject(o, "a", a);
	cJSON_AddStringToObject(o, "b", b);
	add_proto(o, "proto", f->key.proto);
	cJSON_AddNumberToObject(o, "vlan", f->key.vlan);
	json_add_u64(o, "packets", f->packets);
	json_add_u64(o, "bytes", f->bytes);
	json_add_u64(o, "a_to_b_bytes", f->a_to_b_bytes);
	json_add_u64(o, "b_to_a_bytes", f->b_to_a_bytes);
	cJSON_AddNumberToObject(o, "tcp_flags", f->tcp_flags);
	tcp_flags_text(f->tcp_flags, flags);
	cJSON_AddStringToObject(o, "tcp_flags_text", flags);
	json_add_time(o, "first_seen", f->first_us / 1000000);
	json_add_time(o, "last_seen", f->last_us / 1000000);
	cJSON_AddNumberToObject(o, "duration_ms", (double)((f->last_us - f->first_us) / 1000));
	return o;
}

/* Reads the filters; on a bad one replies 400 naming it and returns
   MW_EREPLIED. */
static int
read_filter(struct req *r, struct flow_filter *f, int *sort, int *desc)
{
	char v[128];
	memset(f, 0, sizeof *f);
	f->proto = -1;
	*sort = SORT_BYTES;
	*desc = 1;
	int rc = http_query_str(r, "sort", v, sizeof v);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == 0) {
		if (strcmp(v, "bytes") == 0)
			*sort = SORT_BYTES;
		else if (strcmp(v, "packets") == 0)
			*sort = SORT_PACKETS;
		else if (strcmp(v, "last_seen") == 0)
			*sort = SORT_LAST_SEEN;
		else if (strcmp(v, "first_seen") == 0)
			*sort = SORT_FIRST_SEEN;
		else {
			http_reply_error(r, 400, "invalid_query",
			    "query parameter \"sort\" must be bytes, packets, last_seen or first_seen, got \"%s\"", v);
			return MW_EREPLIED;
		}
	}
	rc = http_query_str(r, "dir", v, sizeof v);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == 0) {
		if (strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0) {
			http_reply_error(r, 400, "invalid_query", "query parameter \"dir\" must be asc or desc, got \"%s\"", v);
			return MW_EREPLIED;
		}
		*desc = strcmp(v, "desc") == 0;
	}
	rc = http_query_str(r, "proto", v, sizeof v);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == 0) {
		for (int p = 0; p < 256 && f->proto < 0; p++) {
			const char *n = decode_proto_name(p);
			if (n && strcmp(n, v) == 0)
				f->proto = p;
		}
		char *end;
		long num = strtol(v, &end, 10);
		if (f->proto < 0 && end != v && *end == '\0' && num >= 0 && num <= 255)
			f->proto = (int)num;
		if (f->proto < 0) {
			http_reply_error(r, 400, "invalid_query",
			    "query parameter \"proto\" must be tcp, udp, icmp, icmpv6 or a protocol number from 0 to 255, got \"%s\"", v);
			return MW_EREPLIED;
		}
	}
	rc = http_query_str(r, "ip", v, sizeof v);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == 0) {
		if (parse_cidr(v, f->net, &f->prefix) != 0) {
			http_reply_error(r, 400, "invalid_query",
			    "query parameter \"ip\" must be an address or a CIDR block like 10.0.0.0/24 or fd00::/64, got \"%s\"", v);
			return MW_EREPLIED;
		}
		f->has_net = 1;
	}
	return http_query_int(r, "port", 0, 1, 65535, &f->port);
}

void
api_traffic_flows(struct req *r)
{
	int limit, offset, sort, desc;
	struct flow_filter f;
	if (http_query_int(r, "limit", FLOWS_LIMIT_DEFAULT, 1, API_LIST_MAX, &limit) != 0 ||
	    http_query_int(r, "offset", 0, 0, FLOWS_OFFSET_MAX, &offset) != 0 || read_filter(r, &f, &sort, &desc) != 0)
		return;
	struct capture *c = r->node->capture;
	struct capture_stats cs;
	capture_get_stats(c, &cs);
	struct flow_snapshot *s = capture_flows(c);
	uint32_t n = s ? s->n : 0, k = 0;
	uint32_t *idx = malloc(sizeof *idx * (n ? n : 1));
	if (idx == NULL) {
		capture_flows_release(c, s);
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		if (flow_matches(&s->flows[i], &f))
			idx[k++] = i;
	cJSON *o = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	if (k > 0) {
		struct sort_ctx sc = {.flows = s->flows, .key = sort, .desc = desc};
		qsort_r(idx, k, sizeof *idx, cmp_flows, &sc);
		for (uint32_t i = (uint32_t)offset; i < k && i < (uint32_t)offset + (uint32_t)limit; i++)
			cJSON_AddItemToArray(items, flow_json(&s->flows[idx[i]]));
	}
	cJSON_AddNumberToObject(o, "total", k);
	cJSON_AddNumberToObject(o, "limit", limit);
	cJSON_AddNumberToObject(o, "offset", offset);
	cJSON_AddStringToObject(o, "state", capture_state_name(cs.state));
	if (s)
		json_add_time(o, "as_of", s->at_us / 1000000);
	free(idx);
	capture_flows_release(c, s);
	http_reply_json(r, 200, o, NULL);
}

/* ---- /api/counters ---- */

/* "10", "10s", "5m", "1h" (mw_parse_duration): seconds. Replies 400 and
   returns MW_EREPLIED when bad. */
static int
query_step(struct req *r, int def, int *out)
{
	char v[32];
	int rc = http_query_str(r, "step", v, sizeof v);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == MW_ENOTFOUND) {
		*out = def;
		return 0;
	}
	int64_t n;
	if (mw_parse_duration(v, 1, COUNTERS_MAX_STEP, &n) != 0) {
		http_reply_error(r, 400, "invalid_query",
		    "query parameter \"step\" must be a number of seconds from 1 to %d (or with s, m, h), got \"%s\"",
		    COUNTERS_MAX_STEP, v);
		return MW_EREPLIED;
	}
	*out = (int)n;
	return 0;
}

void
api_traffic_counters(struct req *r)
{
	struct rollup *ru = capture_rollup(r->node->capture);
	int64_t oldest = 0, newest = 0;
	struct rollup_sec probe;
	if (ru)
		rollup_range(ru, 0, 0, &probe, 0, &oldest, &newest);
	int64_t end = newest ? newest + 1 : mw_wall_s();
	int64_t from, to;
	int step;
	if (http_query_time(r, "to", end, &to) != 0 || http_query_time(r, "from", to - COUNTERS_DEFAULT_RANGE, &from) != 0)
		return;
	if (to <= from) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"to\" must be later than \"from\"");
		return;
	}
	int64_t span = to - from;
	int auto_step = (int)((span + COUNTERS_MAX_POINTS - 1) / COUNTERS_MAX_POINTS);
	if (auto_step > COUNTERS_MAX_STEP)
		auto_step = COUNTERS_MAX_STEP;
	if (query_step(r, auto_step < 1 ? 1 : auto_step, &step) != 0)
		return;
	/* Older than the ring can hold: per-minute history, which has no finer
	   steps. (Newer but before the ring's first second: only minutes from
	   an earlier run, used when the step allows.) */
	int64_t ring_start = (newest ? newest + 1 : end) - (ru ? rollup_seconds(ru) : 0);
	if (from < ring_start && step < 60)
		step = 60;
	from -= from % step;
	int64_t npoints = (to - from + step - 1) / step;
	if (npoints > COUNTERS_MAX_POINTS) {
		http_reply_error(r, 400, "invalid_query",
		    "query parameter \"step\": %d s from %lld to %lld gives %lld points, more than the limit of %d; use a larger step",
		    step, (long long)from, (long long)to, (long long)npoints, COUNTERS_MAX_POINTS);
		return;
	}
	struct rollup_sec *b = calloc((size_t)npoints, sizeof *b);
	char *minute_src = calloc((size_t)npoints, 1);
	/* room for the seconds of the range the ring can hold, no more */
	int nsec = ru ? rollup_seconds(ru) : 0;
	if (nsec > to - from)
		nsec = (int)(to - from);
	struct rollup_sec *secs = nsec ? calloc((size_t)nsec, sizeof *secs) : NULL;
	struct rollup_sec *mins = NULL;
	int nm = 0;
	if (b == NULL || minute_src == NULL || (nsec && secs == NULL)) {
		http_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	for (int64_t i = 0; i < npoints; i++)
		b[i].t = from + i * step;
	if (ru) {
		int k = rollup_range(ru, from, to, secs, nsec, &oldest, &newest);
		for (int i = 0; i < k; i++)
			rollup_add(&b[(secs[i].t - from) / step], &secs[i]);
	}
	/* whole minutes before the ring's first second, summed per bucket */
	int64_t mto = oldest && oldest - 59 < to ? oldest - 59 : to;
	if (step >= 60 && from < mto &&
	    store_traffic_minutes_range(r->node->store, from, mto, step, (int)npoints, &mins, &nm) == 0) {
		for (int i = 0; i < nm; i++) {
			int64_t bi = (mins[i].t - from) / step;
			rollup_add(&b[bi], &mins[i]);
			minute_src[bi] = 1;
		}
	}
	cJSON *o = cJSON_CreateObject();
	json_add_time(o, "from", from);
	json_add_time(o, "to", to);
	cJSON_AddNumberToObject(o, "step", step);
	if (oldest) {
		json_add_time(o, "seconds_from", oldest);
		json_add_time(o, "seconds_to", newest);
	}
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	for (int64_t i = 0; i < npoints; i++)
		cJSON_AddItemToArray(items, views_counter(&b[i], step, minute_src[i] ? "minutes" : "seconds"));
	cJSON_AddNumberToObject(o, "total", (double)npoints);
	http_reply_json(r, 200, o, NULL);
out:
	free(b);
	free(minute_src);
	free(secs);
	free(mins);
}

/* ---- /api/stats ---- */

#define ENABLE_HINT \
	"start the node with --iface IF (or --iface any) to capture live traffic, or --pcap FILE to read a capture " \
	"file; live capture needs root or: sudo setcap cap_net_raw,cap_net_admin+eip build/meshwatch"

void
api_traffic_stats(struct req *r)
{
	struct capture_stats s;
	capture_get_stats(r->node->capture, &s);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "state", capture_state_name(s.state));
	if (s.error[0])
		cJSON_AddStringToObject(o, "error", s.error);
	else
		cJSON_AddNullToObject(o, "error");
	if (s.state == CAPTURE_OFF || s.state == CAPTURE_FAILED)
		cJSON_AddStringToObject(o, "hint", ENABLE_HINT);
	if (s.state == CAPTURE_OFF) {
		cJSON_AddNullToObject(o, "mode");
	} else {
		cJSON_AddStringToObject(o, "mode", s.offline ? "offline" : "live");
	}
	if (s.offline) {
		cJSON_AddNullToObject(o, "interface");
		cJSON_AddStringToObject(o, "file", s.source);
	} else {
		if (s.source[0])
			cJSON_AddStringToObject(o, "interface", s.source);
		else
			cJSON_AddNullToObject(o, "interface");
		cJSON_AddNullToObject(o, "file");
	}
	cJSON_AddStringToObject(o, "bpf", s.bpf);
	cJSON_AddNumberToObject(o, "snaplen", s.snaplen);
	cJSON_AddNumberToObject(o, "buffer_bytes", s.buffer_bytes);
	cJSON_AddStringToObject(o, "linktype", capture_linktype_name(s.linktype));
	json_add_u64(o, "packets_received", s.packets);
	json_add_u64(o, "bytes_received", s.bytes);
	json_add_u64(o, "kernel_drops", s.kernel_drops);
	json_add_u64(o, "interface_drops", s.if_drops);
	cJSON_AddNumberToObject(o, "flows", s.flows);
	cJSON_AddNumberToObject(o, "max_flows", s.max_flows);
	json_add_u64(o, "flows_created", s.ft.created);
	json_add_u64(o, "flows_expired", s.ft.expired);
	json_add_u64(o, "evictions", s.ft.evicted);
	json_add_u64(o, "not_ip", s.decode[DECODE_NOT_IP]);
	cJSON *de = cJSON_AddObjectToObject(o, "decode_errors");
	uint64_t errs = 0;
	for (int k = DECODE_NOT_IP + 1; k < DECODE_NSTATUS; k++) {
		json_add_u64(de, decode_status_name(k), s.decode[k]);
		errs += s.decode[k];
	}
	json_add_u64(o, "decode_errors_total", errs);
	if (s.first_us) {
		json_add_time(o, "first_packet", s.first_us / 1000000);
		json_add_time(o, "last_packet", s.last_us / 1000000);
	}
	cJSON_AddNumberToObject(o, "retention_s", s.retention_s);
	json_add_u64(o, "minutes_stored", s.minutes_stored);
	json_add_u64(o, "minutes_dropped", s.minutes_dropped);
	json_add_u64(o, "talkers_left_out", s.talkers_left_out);
	if (s.offline && s.state != CAPTURE_OFF) {
		cJSON *p = cJSON_AddObjectToObject(o, "processing");
		cJSON_AddNumberToObject(p, "seconds", s.processing_s);
		cJSON_AddNumberToObject(p, "packets_per_s", s.processing_s > 0 ? (double)s.packets / s.processing_s : 0);
	}
	cJSON *ring = cJSON_AddObjectToObject(o, "pcap_ring");
	cJSON_AddNumberToObject(ring, "max_bytes", s.ring_bytes);
	json_add_u64(ring, "used_bytes", s.ring_used_bytes);
	json_add_u64(ring, "packets", s.ring_packets);
	cJSON_AddNumberToObject(ring, "downloads_active", s.downloads_active);
	json_add_u64(ring, "downloads_total", s.downloads_total);
	json_add_u64(ring, "downloads_refused", s.downloads_refused);
	json_add_u64(ring, "download_lost_bytes", s.download_lost_bytes);
	if (s.ipfix_collector[0]) {
		cJSON *x = cJSON_AddObjectToObject(o, "ipfix");
		cJSON_AddStringToObject(x, "collector", s.ipfix_collector);
		cJSON_AddNumberToObject(x, "observation_domain_id", CAPTURE_IPFIX_DOMAIN);
		json_add_u64(x, "flows_exported", s.ipfix.flows);
		json_add_u64(x, "records_sent", s.ipfix.records_sent);
		json_add_u64(x, "records_failed", s.ipfix.records_failed);
		json_add_u64(x, "messages_sent", s.ipfix.messages_sent);
		json_add_u64(x, "messages_failed", s.ipfix.messages_failed);
		json_add_u64(x, "template_messages", s.ipfix.templates_sent);
	} else {
		cJSON_AddNullToObject(o, "ipfix");
	}
	struct rollup *ru = capture_rollup(r->node->capture);
	struct rollup_sec last;
	if (ru && rollup_latest(ru, &last, NULL, NULL, NULL) == 0) {
		cJSON_AddNumberToObject(o, "pps", (double)last.packets);
		cJSON_AddNumberToObject(o, "bps", (double)last.bytes * 8.0);
	}
	http_reply_json(r, 200, o, NULL);
}
