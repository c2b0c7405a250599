/* report_inventory: the parser for the inventory parts of a received
   snapshot (summaries.targets, traffic, discovery). Each part is checked
   strictly and on its own: a malformed part is ignored (said in the
   answer, logged by the caller, counted here) and never costs the rest
   of the report, whose peer cells are the matrix. Stateless but for the
   counters (atomics); any thread. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/report.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

static const char *const part_names[REPORT_PARTS] = {"targets", "traffic", "discovery"};
static _Atomic uint64_t ignored_total[REPORT_PARTS];

const char *
report_part_name(int part)
{
	return part >= 0 && part < REPORT_PARTS ? part_names[part] : "unknown";
}

void
report_inventory_ignored_counts(uint64_t out[REPORT_PARTS])
{
	for (int i = 0; i < REPORT_PARTS; i++)
		out[i] = atomic_load(&ignored_total[i]);
}

/* The why of a part being ignored, printf-style; returns MW_EINVAL. */
static int __attribute__((format(printf, 3, 4)))
bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return MW_EINVAL;
}

/* An optional RFC 3339 UTC time within the skew and age bounds; def when
   absent or null. */
static int
opt_time(const cJSON *o, const char *key, int64_t now, int64_t def, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (v == NULL || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	int64_t t;
	if (!cJSON_IsString(v) || mw_parse_time(v->valuestring, &t) != 0)
		return MW_EINVAL;
	if (t > now + REPORT_MAX_SKEW_S || t < now - REPORT_MAX_AGE_S)
		return MW_EINVAL;
	*out = t;
	return 0;
}

/* An optional non-negative number (at most hi); 0 when absent. */
static int
opt_count(const cJSON *o, const char *key, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (v == NULL || cJSON_IsNull(v)) {
		*out = 0;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > hi)
		return MW_EINVAL;
	*out = v->valuedouble;
	return 0;
}

/* Lowercase letters, digits, '_', '-', '.', '+': names of states,
   protocols, services and kinds. Empty is allowed only when empty_ok. */
static int
word_ok(const char *s, int empty_ok)
{
	if (s[0] == '\0')
		return empty_ok;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		        *s == '-' || *s == '.' || *s == '+'))
			return 0;
	return 1;
}

/* Printable text without control characters (names, hostnames, details). */
static int
text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
ip_ok(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int
mac_ok(const char *s)
{
	if (s[0] == '\0')
		return 1;
	if (strlen(s) != 17)
		return 0;
	for (int i = 0; i < 17; i++) {
		char c = s[i];
		if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

static const double MAX_U = 9007199254740991.0; /* 2^53 - 1: exact in a double */

static int
parse_targets(const cJSON *t, int64_t now, struct report_inventory *inv, char *why, size_t wl)
{
	if (!cJSON_IsObject(t))
		return bad(why, wl, "\"summaries.targets\" must be an object");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(t, "items");
	if (items == NULL || cJSON_IsNull(items))
		return 0;
	if (!cJSON_IsArray(items))
		return bad(why, wl, "\"summaries.targets.items\" must be an array");
	int n = cJSON_GetArraySize(items);
	if (n > REPORT_MAX_TARGETS)
		return bad(why, wl, "\"summaries.targets.items\" has %d entries, more than %d", n, REPORT_MAX_TARGETS);
	inv->targets = calloc((size_t)(n ? n : 1), sizeof *inv->targets);
	if (inv->targets == NULL)
		return bad(why, wl, "out of memory");
	const cJSON *e;
	int i = 0;
	cJSON_ArrayForEach(e, items) {
		struct inv_target *x = &inv->targets[i];
		double id, port, ratio;
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "success_ratio");
		if (!cJSON_IsObject(e) || json_get_int(e, "id", 1, MAX_U, &id) ||
		    json_get_str(e, "name", x->name, sizeof x->name, 1) || !text_ok(x->name) ||
		    json_get_str(e, "host", x->host, sizeof x->host, 1) || !text_ok(x->host) ||
		    json_get_int(e, "port", 1, 65535, &port) || json_get_str(e, "state", x->state, sizeof x->state, 1) ||
		    (strcmp(x->state, "unknown") != 0 && target_state_parse(x->state) < 0))
			return bad(why, wl,
			    "summaries.targets.items[%d]: needs integer id and port, string name and host (at most %d and %d "
			    "bytes) and a target state",
			    i, TARGET_NAME_MAX, TARGET_HOST_MAX);
		if (r == NULL || cJSON_IsNull(r))
			ratio = -1;
		else if (!cJSON_IsNumber(r) || !(r->valuedouble >= 0 && r->valuedouble <= 1))
			return bad(why, wl, "summaries.targets.items[%d].success_ratio must be null or 0..1", i);
		else
			ratio = r->valuedouble;
		if (opt_time(e, "last_check", now, 0, &x->last_check))
			return bad(why, wl, "summaries.targets.items[%d].last_check must be null or an RFC 3339 UTC time within "
			                    "the clock skew", i);
		x->id = (int64_t)id;
		x->port = (int)port;
		x->success_ratio = ratio;
		i++;
	}
	inv->ntargets = i;
	return 0;
}

static int
parse_traffic(const cJSON *t, int64_t now, struct inv_traffic *x, char *why, size_t wl)
{
	if (!cJSON_IsObject(t))
		return bad(why, wl, "\"traffic\" must be an object");
	double v[10];
	static const char *const keys[] = {"pps", "bps", "packets", "bytes", "drops", "packets_total", "bytes_total",
	    "drops_total", "flows"};
	if (json_get_str(t, "state", x->state, sizeof x->state, 1) || !word_ok(x->state, 0))
		return bad(why, wl, "\"traffic.state\" must be a capture state name");
	for (size_t k = 0; k < MW_ARRAY_LEN(keys); k++)
		if (opt_count(t, keys[k], MAX_U, &v[k]))
			return bad(why, wl, "\"traffic.%s\" must be null or a number from 0", keys[k]);
	if (opt_time(t, "time", now, 0, &x->t))
		return bad(why, wl, "\"traffic.time\" must be null or an RFC 3339 UTC time within the clock skew");
	x->pps = v[0];
	x->bps = v[1];
	x->packets = (uint64_t)v[2];
	x->bytes = (uint64_t)v[3];
	x->drops = (uint64_t)v[4];
	x->packets_total = (uint64_t)v[5];
	x->bytes_total = (uint64_t)v[6];
	x->drops_total = (uint64_t)v[7];
	x->flows = v[8] > 2e9 ? 2000000000 : (int)v[8];
	const cJSON *bp = cJSON_GetObjectItemCaseSensitive(t, "by_proto");
	if (bp && !cJSON_IsNull(bp)) {
		if (!cJSON_IsObject(bp) || cJSON_GetArraySize(bp) > INVENTORY_MAX_PROTOS)
			return bad(why, wl, "\"traffic.by_proto\" must be an object of at most %d protocols", INVENTORY_MAX_PROTOS);
		const cJSON *e;
		cJSON_ArrayForEach(e, bp) {
			struct inv_proto *p = &x->proto[x->nproto];
			if (strlen(e->string) >= sizeof p->name || !word_ok(e->string, 0) || !cJSON_IsNumber(e) ||
			    !(e->valuedouble >= 0 && e->valuedouble <= MAX_U))
				return bad(why, wl, "\"traffic.by_proto\": each key a protocol name (at most %d bytes), each value "
				                    "bytes from 0",
				    (int)sizeof p->name - 1);
			snprintf(p->name, sizeof p->name, "%s", e->string);
			p->bytes = (uint64_t)e->valuedouble;
			x->nproto++;
		}
	}
	const cJSON *top = cJSON_GetObjectItemCaseSensitive(t, "top_talkers");
	if (top && !cJSON_IsNull(top)) {
		if (!cJSON_IsArray(top) || cJSON_GetArraySize(top) > INVENTORY_MAX_TALKERS)
			return bad(why, wl, "\"traffic.top_talkers\" must be an array of at most %d talkers", INVENTORY_MAX_TALKERS);
		const cJSON *e;
		cJSON_ArrayForEach(e, top) {
			struct inv_talker *k = &x->talkers[x->ntalkers];
			double b, p;
			if (!cJSON_IsObject(e) || json_get_str(e, "ip", k->ip, sizeof k->ip, 1) || !ip_ok(k->ip) ||
			    opt_count(e, "bytes", MAX_U, &b) || opt_count(e, "packets", MAX_U, &p))
				return bad(why, wl, "traffic.top_talkers[%d]: needs an IP address and bytes and packets from 0",
				    x->ntalkers);
			k->bytes = (uint64_t)b;
			k->packets = (uint64_t)p;
			x->ntalkers++;
		}
	}
	return 0;
}

/* "port/name" (the older form of a host's services). */
static int
service_from_string(const char *s, struct inv_service *v)
{
	char *end;
	long port = strtol(s, &end, 10);
	if (end == s || *end != '/' || port < 1 || port > 65535 || strlen(end + 1) >= sizeof v->service ||
	    !word_ok(end + 1, 1))
		return MW_EINVAL;
	v->port = (int)port;
	snprintf(v->proto, sizeof v->proto, "tcp");
	snprintf(v->service, sizeof v->service, "%s", end + 1);
	return 0;
}

static int
parse_host(const cJSON *e, int i, int64_t now, int64_t generated_at, struct inv_host *h, char *why, size_t wl)
{
	char state[8];
	if (!cJSON_IsObject(e) || json_get_str(e, "ip", h->ip, sizeof h->ip, 1) || !ip_ok(h->ip) ||
	    json_get_str(e, "mac", h->mac, sizeof h->mac, 0) || !mac_ok(h->mac) ||
	    json_get_str(e, "vendor", h->vendor, sizeof h->vendor, 0) || !text_ok(h->vendor) ||
	    json_get_str(e, "hostname", h->hostname, sizeof h->hostname, 0) || !text_ok(h->hostname) ||
	    json_get_str(e, "state", state, sizeof state, 0) ||
	    (state[0] && strcmp(state, "up") != 0 && strcmp(state, "gone") != 0))
		return bad(why, wl,
		    "discovery.host_list[%d]: needs an IP address; mac (aa:bb:cc:dd:ee:ff), vendor (at most %d bytes), "
		    "hostname (at most %d) and state (up|gone) are optional strings",
		    i, (int)sizeof h->vendor - 1, (int)sizeof h->hostname - 1);
	h->gone = strcmp(state, "gone") == 0;
	if (opt_time(e, "last_seen", now, generated_at, &h->last_seen) ||
	    opt_time(e, "first_seen", now, h->last_seen, &h->first_seen) || h->first_seen > h->last_seen)
		return bad(why, wl, "discovery.host_list[%d]: first_seen and last_seen must be RFC 3339 UTC times within the "
		                    "clock skew, first_seen not after last_seen",
		    i);
	h->svc = calloc(REPORT_MAX_SERVICES, sizeof *h->svc);
	if (h->svc == NULL)
		return bad(why, wl, "out of memory");
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(e, "service_details");
	const cJSON *list = det && !cJSON_IsNull(det) ? det : cJSON_GetObjectItemCaseSensitive(e, "services");
	if (list == NULL || cJSON_IsNull(list))
		return 0;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > REPORT_MAX_SERVICES)
		return bad(why, wl, "discovery.host_list[%d].%s must be an array of at most %d services", i,
		    list == det ? "service_details" : "services", REPORT_MAX_SERVICES);
	const cJSON *s;
	cJSON_ArrayForEach(s, list) {
		struct inv_service *v = &h->svc[h->nsvc];
		if (list != det) {
			if (!cJSON_IsString(s) || service_from_string(s->valuestring, v))
				return bad(why, wl, "discovery.host_list[%d].services[%d] must be \"port/name\"", i, h->nsvc);
		} else {
			double port;
			if (!cJSON_IsObject(s) || json_get_int(s, "port", 1, 65535, &port) ||
			    json_get_str(s, "proto", v->proto, sizeof v->proto, 1) ||
			    (strcmp(v->proto, "tcp") != 0 && strcmp(v->proto, "udp") != 0) ||
			    json_get_str(s, "service", v->service, sizeof v->service, 0) || !word_ok(v->service, 1) ||
			    json_get_str(s, "confidence", v->confidence, sizeof v->confidence, 0) || !word_ok(v->confidence, 1))
				return bad(why, wl,
				    "discovery.host_list[%d].service_details[%d]: needs port, proto (tcp|udp); service (at most %d "
				    "bytes) and confidence are optional names",
				    i, h->nsvc, (int)sizeof v->service - 1);
			v->port = (int)port;
		}
		h->nsvc++;
	}
	return 0;
}

static int
parse_discovery(const cJSON *d, int64_t now, int64_t generated_at, struct report_inventory *inv, char *why, size_t wl)
{
	if (!cJSON_IsObject(d))
		return bad(why, wl, "\"discovery\" must be an object");
	const cJSON *hl = cJSON_GetObjectItemCaseSensitive(d, "host_list");
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(d, "recent_changes");
	int nh = 0, nc = 0;
	if (hl && !cJSON_IsNull(hl) && (!cJSON_IsArray(hl) || (nh = cJSON_GetArraySize(hl)) > REPORT_MAX_HOSTS))
		return bad(why, wl, "\"discovery.host_list\" must be an array of at most %d hosts", REPORT_MAX_HOSTS);
	if (rc && !cJSON_IsNull(rc) && (!cJSON_IsArray(rc) || (nc = cJSON_GetArraySize(rc)) > REPORT_MAX_CHANGES))
		return bad(why, wl, "\"discovery.recent_changes\" must be an array of at most %d changes", REPORT_MAX_CHANGES);
	inv->hosts = calloc((size_t)(nh ? nh : 1), sizeof *inv->hosts);
	inv->changes = calloc((size_t)(nc ? nc : 1), sizeof *inv->changes);
	if (inv->hosts == NULL || inv->changes == NULL)
		return bad(why, wl, "out of memory");
	const cJSON *e;
	for (int i = 0; i < nh; i++) {
		e = cJSON_GetArrayItem(hl, i);
		inv->nhosts = i + 1; /* counted before parsing: its services are freed with it */
		if (parse_host(e, i, now, generated_at, &inv->hosts[i], why, wl))
			return MW_EINVAL;
	}
	int i = 0;
	for (; i < nc; i++) {
		e = cJSON_GetArrayItem(rc, i);
		struct inv_change *c = &inv->changes[i];
		double port = 0;
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "port");
		if (!cJSON_IsObject(e) || json_get_str(e, "ip", c->ip, sizeof c->ip, 1) || !ip_ok(c->ip) ||
		    json_get_str(e, "kind", c->kind, sizeof c->kind, 1) || !word_ok(c->kind, 0) ||
		    json_get_str(e, "detail", c->detail, sizeof c->detail, 0) || !text_ok(c->detail) ||
		    (p && !cJSON_IsNull(p) && json_get_int(e, "port", 1, 65535, &port)) ||
		    cJSON_GetObjectItemCaseSensitive(e, "time") == NULL || opt_time(e, "time", now, 0, &c->t))
			return bad(why, wl,
			    "discovery.recent_changes[%d]: needs time (RFC 3339 UTC within the clock skew), an IP address and a "
			    "kind; port null or 1..65535; detail at most %d bytes",
			    i, (int)sizeof c->detail - 1);
		c->port = (int)port;
	}
	inv->nchanges = i;
	return 0;
}

static void
ignore(struct report *out, int part, const char *why)
{
	struct report_ignored *g = &out->ignored[out->nignored++];
	g->part = part;
	snprintf(g->reason, sizeof g->reason, "%s", why);
	atomic_fetch_add(&ignored_total[part], 1);
}

void
report_inventory_parse(const cJSON *root, int64_t now, struct report *out)
{
	struct report_inventory *inv = &out->inv;
	char why[300];
	int64_t gen = out->origin.generated_at;

	/* targets: a sender without the part has none */
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(root, "summaries");
	const cJSON *tg = cJSON_IsObject(sum) ? cJSON_GetObjectItemCaseSensitive(sum, "targets") : NULL;
	if (sum && !cJSON_IsNull(sum) && !cJSON_IsObject(sum)) {
		ignore(out, REPORT_PART_TARGETS, "\"summaries\" must be an object");
	} else if (tg == NULL || cJSON_IsNull(tg)) {
		inv->has_targets = 1;
	} else if (parse_targets(tg, now, inv, why, sizeof why) == 0) {
		inv->has_targets = 1;
	} else {
		free(inv->targets);
		inv->targets = NULL;
		inv->ntargets = 0;
		ignore(out, REPORT_PART_TARGETS, why);
	}

	/* traffic: a sender without the part captures nothing (state "") */
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "traffic");
	if (tr == NULL || cJSON_IsNull(tr)) {
		inv->has_traffic = 1;
	} else if (parse_traffic(tr, now, &inv->traffic, why, sizeof why) == 0) {
		inv->has_traffic = 1;
	} else {
		memset(&inv->traffic, 0, sizeof inv->traffic);
		ignore(out, REPORT_PART_TRAFFIC, why);
	}

	/* discovery: hosts and changes add to what is kept; absent adds nothing */
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "discovery");
	if (d == NULL || cJSON_IsNull(d))
		return;
	if (parse_discovery(d, now, gen, inv, why, sizeof why) == 0) {
		inv->has_discovery = 1;
	} else {
		store_inventory_hosts_free(inv->hosts, inv->nhosts);
		free(inv->changes);
		inv->hosts = NULL;
		inv->changes = NULL;
		inv->nhosts = inv->nchanges = 0;
		ignore(out, REPORT_PART_DISCOVERY, why);
	}
}
