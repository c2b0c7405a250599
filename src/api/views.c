/* views: one builder for the JSON of each thing shown in more than one
   place (peers, targets, scans, hosts, changes, events, traffic). No
   state of its own; reads only what it is given or thread-safe accessors,
   so any thread may call it. It never replies: the callers (api_*.c,
   ws.c, report.c) decide where the JSON goes. */
#include "views.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "meshwatch/capture.h"
#include "meshwatch/events.h"
#include "meshwatch/gossip.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshtargets.h"
#include "meshwatch/node.h"
#include "meshwatch/rollup.h"
#include "meshwatch/store.h"
#include "meshwatch/targets.h"
#include "meshwatch/util.h"

/* A figure as it is (not rounded), or null when there is none. */
static void
add_or_null(cJSON *o, const char *key, int have, double v)
{
	if (have)
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* The share of the last poll's UDP probes that got no answer (0 when
   none were sent: callers show null then). */
static double
loss(const struct peer *p)
{
	return p->last.udp_sent > 0 ? 1.0 - (double)p->last.udp_received / p->last.udp_sent : 0;
}

/* "last_error": "timeout: connect" when failed, else null. */
static void
add_poll_error(cJSON *o, const struct peer *p, int failed)
{
	if (failed) {
		char e[200];
		snprintf(e, sizeof e, "%s%s%s", poll_error_name(p->last.error), p->last.detail[0] ? ": " : "", p->last.detail);
		cJSON_AddStringToObject(o, "last_error", e);
	} else {
		cJSON_AddNullToObject(o, "last_error");
	}
}

/* ---- mesh ---- */

cJSON *
views_mesh_counts(struct membership *m)
{
	int total, alive, suspect, dead;
	membership_counts(m, &total, &alive, &suspect, &dead);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "total", total);
	cJSON_AddNumberToObject(c, "alive", alive);
	cJSON_AddNumberToObject(c, "suspect", suspect);
	cJSON_AddNumberToObject(c, "dead", dead);
	return c;
}

cJSON *
views_peer(const struct peer *p)
{
	cJSON *o = cJSON_CreateObject();
	gossip_add_peer_identity(o, p->id, p->fqdn, p->ip, p->port, p->quarantined ? PEER_UNKNOWN : p->state);
	/* heard of second-hand, not reached by this node yet: not counted, not gossiped */
	cJSON_AddBoolToObject(o, "quarantined", p->quarantined);
	static const char *const src[] = {"seed", "direct", "gossip"};
	cJSON_AddStringToObject(o, "source", src[p->source % 3]);
	json_add_time_or_null(o, "first_seen", p->first_seen);
	json_add_time_or_null(o, "last_seen", p->last_seen);
	json_add_time_or_null(o, "state_since", p->state_since);
	/* the overload rule excuses its timeouts: the verdict is withheld */
	json_add_time_or_null(o, "excused_since", p->excused_since);
	if (p->excused_since > 0)
		cJSON_AddStringToObject(o, "excused_reason",
		    p->state == PEER_UNKNOWN ? "verdict withheld: its polls time out while this node is overloaded"
		                             : "its polls time out while this node is overloaded: the verdict stays as it was");
	else
		cJSON_AddNullToObject(o, "excused_reason");
	cJSON_AddNumberToObject(o, "incarnation", (double)p->incarnation);
	/* the key this node trusts for it (first met directly); forgetting the node clears it */
	if (p->pin[0]) {
		char pin[80];
		snprintf(pin, sizeof pin, "sha256:%s", p->pin);
		cJSON_AddStringToObject(o, "pin", pin);
	} else {
		cJSON_AddNullToObject(o, "pin");
	}
	json_add_time_or_null(o, "pinned_at", p->pinned_at);
	cJSON *poll = cJSON_AddObjectToObject(o, "poll");
	add_or_null(poll, "success_rate_1h", p->success_rate_1h >= 0, p->success_rate_1h);
	add_or_null(poll, "success_rate_24h", p->success_rate_24h >= 0, p->success_rate_24h);
	cJSON_AddNumberToObject(poll, "polls_1h", p->polls_1h);
	cJSON_AddNumberToObject(poll, "polls_24h", p->polls_24h);
	json_add_time_or_null(poll, "last_poll", p->last_poll);
	cJSON_AddBoolToObject(poll, "last_ok", p->last_poll > 0 && p->last.ok);
	/* how the last poll was answered: beats (UDP, nothing new at the
	   peer) or an HTTPS exchange; the times below are the last exchange's */
	if (p->last_poll > 0)
		cJSON_AddStringToObject(poll, "via", p->last.beat ? "beats" : "https");
	else
		cJSON_AddNullToObject(poll, "via");
	json_add_time_or_null(poll, "last_exchange", p->last_exchange);
	cJSON_AddNumberToObject(poll, "beats_since_exchange", p->beats);
	json_add_num(poll, "connect_ms", p->last.connect_ms);
	json_add_num(poll, "tls_ms", p->last.tls_ms);
	json_add_num(poll, "ttfb_ms", p->last.ttfb_ms);
	json_add_num(poll, "total_ms", p->last.total_ms);
	cJSON_AddNumberToObject(poll, "consecutive_failures", p->fails);
	add_poll_error(poll, p, p->last_poll > 0 && !p->last.ok);
	cJSON *udp = cJSON_AddObjectToObject(o, "udp");
	int have = p->last.udp_sent > 0;
	int got = p->last.udp_received > 0;
	json_add_num(udp, "rtt_min_ms", got ? p->last.rtt_min_ms : -1);
	json_add_num(udp, "rtt_avg_ms", got ? p->last.rtt_avg_ms : -1);
	json_add_num(udp, "rtt_max_ms", got ? p->last.rtt_max_ms : -1);
	json_add_num(udp, "jitter_ms", p->last.udp_received > 1 ? p->last.jitter_ms : -1);
	add_or_null(udp, "loss", have, loss(p));
	cJSON_AddNumberToObject(udp, "probes", p->last.udp_sent);
	cJSON *pm = cJSON_AddObjectToObject(o, "pmtu");
	if (p->pmtu.value > 0) {
		cJSON_AddNumberToObject(pm, "value", p->pmtu.value);
		cJSON_AddStringToObject(pm, "method", p->pmtu.method);
		cJSON_AddNumberToObject(pm, "probes", p->pmtu.probes);
		cJSON_AddBoolToObject(pm, "black_hole", p->pmtu.black_hole);
		json_add_time(pm, "measured_at", p->pmtu.measured_at);
	} else {
		cJSON_AddNullToObject(pm, "value");
		cJSON_AddNullToObject(pm, "method");
		cJSON_AddNullToObject(pm, "probes");
		cJSON_AddNullToObject(pm, "black_hole");
		cJSON_AddNullToObject(pm, "measured_at");
	}
	cJSON *vp = cJSON_AddObjectToObject(o, "vantage");
	if (p->vantage_at > 0) {
		/* other nodes asked, when our polls were failing, whether they reach it */
		cJSON_AddNumberToObject(vp, "asked", p->vantage_asked);
		cJSON_AddNumberToObject(vp, "reached", p->vantage_reached);
		cJSON_AddNumberToObject(vp, "agree", p->state == PEER_ALIVE ? p->vantage_reached
		                                                             : p->vantage_asked - p->vantage_reached);
		json_add_time(vp, "checked_at", p->vantage_at);
	} else {
		cJSON_AddNullToObject(vp, "asked");
		cJSON_AddNullToObject(vp, "reached");
		cJSON_AddNullToObject(vp, "agree");
		cJSON_AddNullToObject(vp, "checked_at");
	}
	return o;
}

cJSON *
views_peer_brief(const struct peer *p, int64_t now)
{
	cJSON *e = cJSON_CreateObject();
	gossip_add_peer_identity(e, p->id, p->fqdn, p->ip, p->port, p->state);
	if (p->last_seen > 0)
		json_add_time(e, "last_seen", p->last_seen);
	else
		cJSON_AddNullToObject(e, "last_seen");
	json_add_time(e, "measured_at", p->last_poll > 0 ? p->last_poll : now);
	add_or_null(e, "rtt_ms", p->last.udp_received > 0, p->last.rtt_avg_ms);
	add_or_null(e, "loss", p->last.udp_sent > 0, loss(p));
	add_or_null(e, "total_ms", p->last_poll > 0 && p->last.ok && p->last.total_ms >= 0, p->last.total_ms);
	add_or_null(e, "pmtu", p->pmtu.value > 0, p->pmtu.value);
	add_or_null(e, "success_rate_1h", p->success_rate_1h >= 0, p->success_rate_1h);
	return e;
}

cJSON *
views_seed(const struct peer *p)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "fqdn", p->fqdn);
	cJSON_AddStringToObject(s, "ip", p->ip);
	cJSON_AddNumberToObject(s, "port", p->port);
	json_add_time_or_null(s, "last_poll", p->last_poll);
	add_poll_error(s, p, p->last_poll > 0);
	return s;
}

/* ---- TCP targets ---- */

/* "unknown" until its first check. */
static const char *
target_state(const struct target_row *t)
{
	return t->last_check_ms ? target_state_name(t->state) : "unknown";
}

cJSON *
views_target(struct node *n, const struct target_row *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)t->id);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddStringToObject(o, "host", t->host);
	cJSON_AddNumberToObject(o, "port", t->port);
	cJSON_AddNumberToObject(o, "interval_s", t->interval_s);
	cJSON_AddNumberToObject(o, "timeout_s", t->timeout_ms / 1000.0);
	cJSON_AddNumberToObject(o, "retention_period", t->retention_period);
	cJSON_AddStringToObject(o, "retention_unit", t->retention_unit);
	cJSON_AddBoolToObject(o, "enabled", t->enabled);
	cJSON_AddStringToObject(o, "state", target_state(t));
	json_add_time_or_null(o, "last_check", t->last_check_ms / 1000);
	json_add_num(o, "last_connect_ms", t->last_connect_ms);
	if (t->last_error[0])
		cJSON_AddStringToObject(o, "last_error", t->last_error);
	else
		cJSON_AddNullToObject(o, "last_error");
	double ratio = 0;
	int k = n->targets ? targets_recent(n->targets, t->id, &ratio) : 0;
	cJSON *rec = cJSON_AddObjectToObject(o, "recent");
	cJSON_AddNumberToObject(rec, "checks", k);
	if (k > 0)
		json_add_num(rec, "success_ratio", ratio);
	else
		cJSON_AddNullToObject(rec, "success_ratio");
	/* every check since this node started, by result (the metrics' counts) */
	struct target_series ser;
	cJSON *since = cJSON_AddObjectToObject(o, "checks_since_start");
	if (n->targets && targets_series(n->targets, t->id, &ser) == 0)
		for (int i = TS_UP; i < TS_COUNT; i++)
			cJSON_AddNumberToObject(since, target_state_name(i), (double)ser.by_state[i]);
	json_add_time(o, "created_at", t->created_at);
	json_add_time(o, "updated_at", t->updated_at);
	views_add_target_mesh(n, t, o, 0);
	return o;
}

void
views_add_target_mesh(struct node *n, const struct target_row *t, cJSON *o, int detail)
{
	cJSON_AddBoolToObject(o, "mesh", t->mesh);
	if (t->vantage[0])
		cJSON_AddItemToObject(o, "vantage", meshtargets_vantage_json(t->vantage));
	else
		cJSON_AddNullToObject(o, "vantage");
	if (t->origin_id[0]) {
		cJSON *g = cJSON_AddObjectToObject(o, "origin");
		cJSON_AddStringToObject(g, "node_id", t->origin_id);
		cJSON_AddStringToObject(g, "fqdn", t->origin_fqdn);
		cJSON_AddNumberToObject(g, "target_id", (double)t->origin_target);
	} else {
		cJSON_AddNullToObject(o, "origin");
	}
	if (t->mesh && !t->origin_id[0] && n->mesh)
		meshtargets_view(mesh_targets(n->mesh), t, o, detail);
}

cJSON *
views_target_brief(struct node *n, const struct target_row *t)
{
	cJSON *e = cJSON_CreateObject();
	double ratio = 0;
	cJSON_AddNumberToObject(e, "id", (double)t->id);
	cJSON_AddStringToObject(e, "name", t->name);
	cJSON_AddStringToObject(e, "host", t->host);
	cJSON_AddNumberToObject(e, "port", t->port);
	cJSON_AddStringToObject(e, "state", target_state(t));
	int checks = targets_recent(n->targets, t->id, &ratio);
	add_or_null(e, "success_ratio", checks > 0, ratio);
	return e;
}

void
views_add_target_states(cJSON *o, const struct targets_stats *s)
{
	cJSON *bs = cJSON_AddObjectToObject(o, "by_state");
	for (int i = 0; i < TS_COUNT; i++)
		cJSON_AddNumberToObject(bs, target_state_name(i), s->by_state[i]);
}

/* ---- discovery ---- */

cJSON *
views_scan(const struct scan_row *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)s->id);
	cJSON_AddStringToObject(o, "state", s->state);
	cJSON_AddStringToObject(o, "trigger", s->trigger);
	cJSON *subnets = cJSON_AddArrayToObject(o, "subnets");
	char buf[sizeof s->subnets];
	snprintf(buf, sizeof buf, "%s", s->subnets);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(subnets, cJSON_CreateString(t));
	cJSON_AddStringToObject(o, "ports", s->ports);
	cJSON_AddNumberToObject(o, "port_count", s->nports);
	json_add_time_or_null(o, "created_at", s->created_at);
	json_add_time_or_null(o, "started_at", s->started_at);
	json_add_time_or_null(o, "finished_at", s->finished_at);
	cJSON *p = cJSON_AddObjectToObject(o, "progress");
	cJSON_AddNumberToObject(p, "hosts_done", s->hosts_done);
	cJSON_AddNumberToObject(p, "hosts_total", s->hosts_total);
	cJSON_AddNumberToObject(p, "found", s->found);
	cJSON_AddNumberToObject(p, "hosts_up", s->hosts_up);
	cJSON *ports = cJSON_AddObjectToObject(o, "port_states");
	cJSON_AddNumberToObject(ports, "open", s->open);
	cJSON_AddNumberToObject(ports, "closed", s->closed);
	cJSON_AddNumberToObject(ports, "filtered", s->filtered);
	if (s->error[0])
		cJSON_AddStringToObject(o, "error", s->error);
	else
		cJSON_AddNullToObject(o, "error");
	/* remote scans: where it ran (null: this node) and its id there; who
	   asked for it (null: a user of this node, or its schedule) */
	if (s->node_id[0]) {
		cJSON *nd = cJSON_AddObjectToObject(o, "node");
		cJSON_AddStringToObject(nd, "id", s->node_id);
		cJSON_AddStringToObject(nd, "fqdn", s->node_fqdn);
		cJSON_AddNumberToObject(o, "remote_scan_id", (double)s->remote_id);
	} else {
		cJSON_AddNullToObject(o, "node");
		cJSON_AddNullToObject(o, "remote_scan_id");
	}
	if (s->requested_by_id[0]) {
		cJSON *by = cJSON_AddObjectToObject(o, "requested_by");
		cJSON_AddStringToObject(by, "id", s->requested_by_id);
		cJSON_AddStringToObject(by, "fqdn", s->requested_by_fqdn);
	} else {
		cJSON_AddNullToObject(o, "requested_by");
	}
	return o;
}

cJSON *
views_service(const struct disc_service *v, int with_ip)
{
	cJSON *e = cJSON_CreateObject();
	if (with_ip)
		cJSON_AddStringToObject(e, "ip", v->ip);
	cJSON_AddNumberToObject(e, "port", v->port);
	cJSON_AddStringToObject(e, "proto", v->proto);
	cJSON_AddStringToObject(e, "state", v->state);
	cJSON_AddStringToObject(e, "service", v->service);
	cJSON_AddStringToObject(e, "confidence", v->confidence);
	cJSON_AddStringToObject(e, "banner", v->banner);
	cJSON_AddStringToObject(e, "title", v->title);
	cJSON_AddStringToObject(e, "tls_subject", v->tls_subject);
	json_add_time_or_null(e, "first_seen", v->first_seen);
	json_add_time_or_null(e, "last_seen", v->last_seen);
	return e;
}

cJSON *
views_host(const struct disc_host *h)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ip", h->ip);
	if (h->mac[0])
		cJSON_AddStringToObject(o, "mac", h->mac);
	else
		cJSON_AddNullToObject(o, "mac");
	if (h->vendor[0])
		cJSON_AddStringToObject(o, "vendor", h->vendor);
	else
		cJSON_AddNullToObject(o, "vendor");
	cJSON_AddStringToObject(o, "hostname", h->hostname);
	cJSON_AddStringToObject(o, "hostname_source", h->hostname_source);
	cJSON_AddStringToObject(o, "source", h->source);
	cJSON_AddStringToObject(o, "detail", h->detail);
	cJSON_AddStringToObject(o, "state", h->gone ? "gone" : "up");
	json_add_time_or_null(o, "first_seen", h->first_seen);
	json_add_time_or_null(o, "last_seen", h->last_seen);
	cJSON *s = cJSON_AddArrayToObject(o, "services");
	for (int i = 0; i < h->nsvc; i++)
		cJSON_AddItemToArray(s, views_service(&h->svc[i], 0));
	return o;
}

cJSON *
views_host_brief(const struct disc_host *h, int max_services)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ip", h->ip);
	cJSON_AddStringToObject(o, "hostname", h->hostname);
	cJSON_AddStringToObject(o, "vendor", h->vendor);
	cJSON_AddStringToObject(o, "source", h->source);
	cJSON_AddStringToObject(o, "state", h->gone ? "gone" : "up");
	cJSON *sv = cJSON_AddArrayToObject(o, "services");
	for (int k = 0; k < h->nsvc && k < max_services; k++) {
		char e[96];
		snprintf(e, sizeof e, "%d/%s", h->svc[k].port, h->svc[k].service);
		cJSON_AddItemToArray(sv, cJSON_CreateString(e));
	}
	return o;
}

cJSON *
views_change(const struct disc_change *c)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "id", (double)c->id);
	json_add_time(e, "time", c->t);
	add_or_null(e, "scan_id", c->scan_id > 0, (double)c->scan_id);
	cJSON_AddStringToObject(e, "ip", c->ip);
	cJSON_AddStringToObject(e, "kind", c->kind);
	add_or_null(e, "port", c->port > 0, c->port);
	cJSON_AddStringToObject(e, "detail", c->detail);
	return e;
}

/* ---- events ---- */

cJSON *
views_event(const struct event_row *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)e->id);
	char t[40];
	/* milliseconds kept: events of one second stay in order for a reader */
	cJSON_AddStringToObject(o, "time", mw_rfc3339_ms(e->ts_ms, t, sizeof t));
	cJSON_AddStringToObject(o, "kind", e->kind);
	cJSON_AddStringToObject(o, "severity", event_severity_name(e->severity));
	cJSON_AddStringToObject(o, "subject_type", e->subject_type);
	cJSON_AddStringToObject(o, "subject", e->subject);
	cJSON_AddStringToObject(o, "subject_name", e->subject_name);
	cJSON_AddStringToObject(o, "old", e->old_value);
	cJSON_AddStringToObject(o, "new", e->new_value);
	cJSON_AddItemToObject(o, "evidence", json_parse_object(e->evidence));
	return o;
}

/* ---- traffic ---- */

static void
ip_text(const uint8_t ip[16], char *out, size_t outlen)
{
	if (decode_is_v4(ip))
		inet_ntop(AF_INET, ip + 12, out, (socklen_t)outlen);
	else
		inet_ntop(AF_INET6, ip, out, (socklen_t)outlen);
}

cJSON *
views_counter(const struct rollup_sec *s, int step, const char *source)
{
	cJSON *o = cJSON_CreateObject();
	json_add_time(o, "time", s->t);
	json_add_u64(o, "packets", s->packets);
	json_add_u64(o, "bytes", s->bytes);
	cJSON_AddNumberToObject(o, "pps", (double)s->packets / step);
	cJSON_AddNumberToObject(o, "bps", (double)s->bytes * 8.0 / step);
	cJSON *bp = cJSON_AddObjectToObject(o, "by_proto");
	for (int i = 0; i < ROLLUP_NPROTO; i++)
		json_add_u64(bp, rollup_proto_name(i), s->proto_bytes[i]);
	json_add_u64(o, "drops", s->drops);
	if (source)
		cJSON_AddStringToObject(o, "source", source);
	return o;
}

cJSON *
views_traffic_rates(struct node *n)
{
	struct rollup *ru = n->capture ? capture_rollup(n->capture) : NULL;
	struct rollup_sec last;
	if (ru == NULL || rollup_latest(ru, &last, NULL, NULL, NULL) != 0)
		return NULL;
	cJSON *o = views_counter(&last, 1, NULL);
	cJSON_AddNumberToObject(o, "ts", (double)last.t * 1000.0);
	return o;
}

cJSON *
views_traffic_top(struct node *n, int k)
{
	struct rollup *ru = n->capture ? capture_rollup(n->capture) : NULL;
	struct talker top[ROLLUP_TOP_K];
	int ntop = 0;
	int64_t t = 0;
	if (ru == NULL)
		return NULL;
	rollup_latest(ru, NULL, top, &ntop, &t);
	cJSON *o = cJSON_CreateObject();
	json_add_time(o, "time", t);
	cJSON_AddNumberToObject(o, "window_s", 1);
	cJSON *rows = cJSON_AddArrayToObject(o, "rows");
	for (int i = 0; i < ntop && i < k; i++) {
		char ip[INET6_ADDRSTRLEN];
		ip_text(top[i].ip, ip, sizeof ip);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "ip", ip);
		json_add_u64(e, "bytes", top[i].bytes);
		json_add_u64(e, "packets", top[i].packets);
		cJSON_AddNumberToObject(e, "bps", (double)top[i].bytes * 8.0);
		cJSON_AddItemToArray(rows, e);
	}
	return o;
}
