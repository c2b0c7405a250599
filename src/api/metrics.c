/* metrics: fixed arrays of counters indexed by route and status slot, so
   counting never allocates or locks; and the Prometheus text of /metrics,
   rendered on the requesting worker from those counters and what the
   other modules publish (targets, traffic, memory). */
#include "meshwatch/metrics.h"

#include <malloc.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/buf.h"
#include "meshwatch/alerts.h"
#include "meshwatch/capture.h"
#include "meshwatch/limits.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshtargets.h"
#include "meshwatch/node.h"
#include "meshwatch/rollup.h"
#include "meshwatch/scanner.h"
#include "meshwatch/store.h"
#include "meshwatch/targets.h"
#include "meshwatch/tls.h"
#include "meshwatch/tlsclient.h"
#include "meshwatch/util.h"

static const int statuses[] = {200, 201, 202, 204, 302, 304, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503};
#define NSTATUS ((int)MW_ARRAY_LEN(statuses) + 1) /* + "other" */

struct metrics {
	const char *const *routes;
	int nroutes;
	uint64_t counts[METRICS_MAX_ROUTES][NSTATUS];
	uint64_t conns_refused;
};

struct metrics *
metrics_create(const char *const *route_names, int nroutes)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->routes = route_names;
	m->nroutes = nroutes < METRICS_MAX_ROUTES ? nroutes : METRICS_MAX_ROUTES;
	return m;
}

void
metrics_destroy(struct metrics *m)
{
	free(m);
}

void
metrics_count_request(struct metrics *m, int route, int status)
{
	if (m == NULL || route < 0 || route >= m->nroutes)
		return;
	int slot = NSTATUS - 1;
	for (int i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			slot = i;
	__atomic_fetch_add(&m->counts[route][slot], 1, __ATOMIC_RELAXED);
}

void
metrics_count_conn_refused(struct metrics *m)
{
	if (m != NULL)
		__atomic_fetch_add(&m->conns_refused, 1, __ATOMIC_RELAXED);
}

/* A line that does not fit (METRICS_MAX_BYTES, or memory) is left out and
   the rest is still served: a scrape that lacks one series beats none. */
__attribute__((format(printf, 2, 3))) static void
put(struct mw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)mw_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* A label value with \\, " and newlines escaped, cut at 120 bytes. */
static void
label_escape(const char *in, char *out, size_t outlen)
{
	size_t k = 0;
	for (const char *c = in; *c && k + 3 < outlen && c - in < 120; c++) {
		if (*c == '\\' || *c == '"') {
			out[k++] = '\\';
			out[k++] = *c;
		} else if (*c == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = *c;
		}
	}
	out[k] = '\0';
}

/* One histogram's lines (cumulative buckets, +Inf, _sum, _count), with
   labels (NULL or "" for none) before le. */
static void
put_hist_series(struct mw_buf *b, const char *name, const char *labels, const struct hist *h)
{
	const char *sep = labels && labels[0] ? "," : "";
	const char *l = labels ? labels : "";
	uint64_t cum = 0;
	for (int i = 0; i < HIST_NBOUNDS; i++) {
		cum += h->n[i];
		put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, l, sep, hist_bounds[i], (unsigned long long)cum);
	}
	put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, l, sep, (unsigned long long)h->count);
	if (l[0])
		put(b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, l, h->sum, name, l, (unsigned long long)h->count);
	else
		put(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

/* A histogram without labels: HELP, TYPE and its lines. */
static void
put_hist(struct mw_buf *b, const char *name, const char *help, const struct hist *h)
{
	put(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	put_hist_series(b, name, NULL, h);
}

/* One metric without labels: HELP, TYPE and the value. */
static void
put_one(struct mw_buf *b, const char *name, const char *type, const char *help, unsigned long long v)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

/* Per-target series for the first metrics_max_targets enabled
   targets by id, labelled target_id and name only (a host or port edit
   keeps the series; they are in meshwatch_target_info). */
static void
put_targets(struct mw_buf *b, struct node *n, int *capped)
{
	struct targets_stats s;
	targets_stats(n->targets, &s);
	put(b, "# HELP meshwatch_targets Enabled TCP targets by last state.\n# TYPE meshwatch_targets gauge\n");
	for (int i = 0; i < TS_COUNT; i++)
		put(b, "meshwatch_targets{state=\"%s\"} %d\n", target_state_name(i), s.by_state[i]);
	put_one(b, "meshwatch_targets_checks_total", "counter", "TCP target checks made since start (all targets).",
	    (unsigned long long)s.checks);
	put(b, "# HELP meshwatch_target_lateness_p99_seconds 99th percentile of check start lateness since start.\n"
	       "# TYPE meshwatch_target_lateness_p99_seconds gauge\n");
	put(b, "meshwatch_target_lateness_p99_seconds %.3f\n", s.lateness_p99_ms < 0 ? 0 : s.lateness_p99_ms / 1000.0);
	struct target_row *rows = NULL;
	int k = 0, total = 0;
	/* a bound of 0 still asks for one row, to learn whether any is left out */
	int max = n->cfg.metrics_max_targets;
	if (store_target_list(n->store, NULL, 1, -1, max > 0 ? max : 1, 0, &rows, &k, &total) != 0)
		return;
	if (k > max)
		k = max;
	*capped = total > k;
	struct target_series *ser = calloc((size_t)(k > 0 ? k : 1), sizeof *ser);
	char (*lbl)[300] = calloc((size_t)(k > 0 ? k : 1), sizeof *lbl);
	if (ser == NULL || lbl == NULL) {
		free(ser);
		free(lbl);
		free(rows);
		return;
	}
	for (int i = 0; i < k; i++) {
		char name[260];
		label_escape(rows[i].name, name, sizeof name);
		snprintf(lbl[i], sizeof lbl[i], "target_id=\"%lld\",name=\"%s\"", (long long)rows[i].id, name);
		if (targets_series(n->targets, rows[i].id, &ser[i]) != 0)
			memset(&ser[i], 0, sizeof ser[i]);
	}
	put(b, "# HELP meshwatch_target_info A target's address (host, port); 1 for each enabled target.\n"
	       "# TYPE meshwatch_target_info gauge\n");
	for (int i = 0; i < k; i++) {
		char host[520];
		label_escape(rows[i].host, host, sizeof host);
		put(b, "meshwatch_target_info{%s,host=\"%s\",port=\"%d\"} 1\n", lbl[i], host, rows[i].port);
	}
	put(b, "# HELP meshwatch_target_up 1 when the last check connected, 0 when it failed (absent before the first).\n"
	       "# TYPE meshwatch_target_up gauge\n");
	for (int i = 0; i < k; i++)
		if (rows[i].state != TS_UNKNOWN)
			put(b, "meshwatch_target_up{%s} %d\n", lbl[i], rows[i].state == TS_UP);
	put(b, "# HELP meshwatch_target_vantage_points A mesh target's vantage points (this node included) by what "
	       "they say: up, down, stale, pending (not heard from), declined.\n"
	       "# TYPE meshwatch_target_vantage_points gauge\n");
	for (int i = 0; i < k; i++) {
		if (!rows[i].mesh || rows[i].origin_id[0] || n->mesh == NULL)
			continue;
		struct meshtargets_tally t;
		meshtargets_tally(mesh_targets(n->mesh), &rows[i], &t);
		const int vals[] = {t.up, t.down, t.stale, t.pending, t.declined};
		static const char *const names[] = {"up", "down", "stale", "pending", "declined"};
		for (size_t j = 0; j < MW_ARRAY_LEN(vals); j++)
			put(b, "meshwatch_target_vantage_points{%s,result=\"%s\"} %d\n", lbl[i], names[j], vals[j]);
	}
	put(b, "# HELP meshwatch_target_checks_total Checks of the target since this node started, by result.\n"
	       "# TYPE meshwatch_target_checks_total counter\n");
	for (int i = 0; i < k; i++)
		for (int st = TS_UP; st < TS_COUNT; st++)
			put(b, "meshwatch_target_checks_total{%s,result=\"%s\"} %llu\n", lbl[i], target_state_name(st),
			    (unsigned long long)ser[i].by_state[st]);
	put(b, "# HELP meshwatch_target_connect_duration_seconds TCP connect time of the checks that connected.\n"
	       "# TYPE meshwatch_target_connect_duration_seconds histogram\n");
	for (int i = 0; i < k; i++)
		put_hist_series(b, "meshwatch_target_connect_duration_seconds", lbl[i], &ser[i].connect_s);
	free(lbl);
	free(ser);
	free(rows);
}

static int
cmp_peer_id(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->id, ((const struct peer *)b)->id);
}

/* One family of per-peer series: HELP, TYPE, then a line per peer that
   has a value (fn returns 0 to leave the peer out). */
typedef int (*peer_value_fn)(const struct peer *p, int arg, double *v);

static void
put_peer_family(struct mw_buf *b, const char *name, const char *type, const char *help, const char *extra_key,
    const char *const *extra_vals, int nextra, peer_value_fn fn, const struct peer *ps, char (*lbl)[400], int np)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (int i = 0; i < np; i++)
		for (int x = 0; x < (nextra ? nextra : 1); x++) {
			double v;
			if (!fn(&ps[i], x, &v))
				continue;
			if (nextra)
				put(b, "%s{%s,%s=\"%s\"} %.15g\n", name, lbl[i], extra_key, extra_vals[x], v);
			else
				put(b, "%s{%s} %.15g\n", name, lbl[i], v);
		}
}

static int
peer_up(const struct peer *p, int x, double *v)
{
	(void)x;
	*v = p->state == PEER_ALIVE;
	return 1;
}

static int
peer_state_is(const struct peer *p, int x, double *v)
{
	*v = p->state == x;
	return 1;
}

static int
peer_rtt(const struct peer *p, int x, double *v)
{
	if (p->last.udp_received <= 0)
		return 0;
	*v = (x == 0 ? p->last.rtt_min_ms : x == 1 ? p->last.rtt_avg_ms : p->last.rtt_max_ms) / 1000.0;
	return *v >= 0;
}

static int
peer_jitter(const struct peer *p, int x, double *v)
{
	(void)x;
	*v = p->last.jitter_ms / 1000.0;
	return p->last.udp_received > 1 && p->last.jitter_ms >= 0;
}

static int
peer_loss(const struct peer *p, int x, double *v)
{
	(void)x;
	if (p->last.udp_sent <= 0)
		return 0;
	*v = 1.0 - (double)p->last.udp_received / p->last.udp_sent;
	return 1;
}

static int
peer_pmtu(const struct peer *p, int x, double *v)
{
	(void)x;
	*v = p->pmtu.value;
	return p->pmtu.value > 0;
}

static int
peer_black_hole(const struct peer *p, int x, double *v)
{
	(void)x;
	*v = p->pmtu.black_hole != 0;
	return 1;
}

static int
peer_last_seen(const struct peer *p, int x, double *v)
{
	(void)x;
	*v = (double)p->last_seen;
	return p->last_seen > 0;
}

static int
peer_vantage(const struct peer *p, int x, double *v)
{
	*v = x ? p->vantage_reached : p->vantage_asked;
	return p->vantage_at > 0;
}

static int
peer_vantage_reached(const struct peer *p, int x, double *v)
{
	(void)x;
	return peer_vantage(p, 1, v);
}

static int
peer_vantage_asked(const struct peer *p, int x, double *v)
{
	(void)x;
	return peer_vantage(p, 0, v);
}

/* This node's view of each peer it has met (ps: the snapshot without
   quarantined entries and seeds not reached yet, sorted by id), the first
   metrics_max_peers of them. */
static void
put_peers(struct mw_buf *b, struct node *n, const struct peer *ps, int np, int *capped)
{
	int k = np;
	*capped = k > n->cfg.metrics_max_peers;
	if (*capped)
		k = n->cfg.metrics_max_peers;
	char (*lbl)[400] = calloc((size_t)(k > 0 ? k : 1), sizeof *lbl);
	if (lbl == NULL)
		return;
	for (int i = 0; i < k; i++) {
		char fqdn[260];
		label_escape(ps[i].fqdn, fqdn, sizeof fqdn);
		snprintf(lbl[i], sizeof lbl[i], "peer=\"%s\",peer_id=\"%s\"", fqdn, ps[i].id);
	}
	static const char *const states[PEER__STATES] = {"alive", "suspect", "dead", "unknown"};
	static const char *const stats[] = {"min", "avg", "max"};
	put_peer_family(b, "meshwatch_peer_up", "gauge", "1 while the peer is alive in this node's view, else 0.", NULL,
	    NULL, 0, peer_up, ps, lbl, k);
	put_peer_family(b, "meshwatch_peer_state", "gauge", "1 for the peer's state in this node's view, 0 for the others.",
	    "state", states, PEER__STATES, peer_state_is, ps, lbl, k);
	put_peer_family(b, "meshwatch_peer_rtt_seconds", "gauge",
	    "Round-trip time of the last poll's UDP probes (absent when none came back).", "stat", stats, 3, peer_rtt, ps,
	    lbl, k);
	put_peer_family(b, "meshwatch_peer_jitter_seconds", "gauge",
	    "Mean difference between consecutive RTTs of the last poll's UDP probes.", NULL, NULL, 0, peer_jitter, ps, lbl,
	    k);
	put_peer_family(b, "meshwatch_peer_loss_ratio", "gauge", "Share of the last poll's UDP probes that did not come back.",
	    NULL, NULL, 0, peer_loss, ps, lbl, k);
	put_peer_family(b, "meshwatch_peer_pmtu_bytes", "gauge", "Path MTU to the peer (absent until measured).", NULL, NULL,
	    0, peer_pmtu, ps, lbl, k);
	put_peer_family(b, "meshwatch_peer_black_hole", "gauge",
	    "1 when larger packets to the peer vanish without an ICMP error (a PMTU black hole).", NULL, NULL, 0,
	    peer_black_hole, ps, lbl, k);
	put_peer_family(b, "meshwatch_peer_last_seen_timestamp_seconds", "gauge", "The peer's last sign of life.", NULL,
	    NULL, 0, peer_last_seen, ps, lbl, k);
	put_peer_family(b, "meshwatch_peer_vantage_asked", "gauge",
	    "Other nodes asked whether they reach the peer, at its last failed poll.", NULL, NULL, 0, peer_vantage_asked, ps,
	    lbl, k);
	put_peer_family(b, "meshwatch_peer_vantage_reached", "gauge",
	    "Of those, how many reached it.", NULL, NULL, 0, peer_vantage_reached, ps, lbl, k);
	free(lbl);
}

/* The four matrix families, filled a cell at a time and put on the page
   one family after the other. */
struct matrix_out {
	struct mw_buf up, rtt, loss, pmtu;
	int cells_left;
	int capped;
};

/* One cell: from sees to in state, RTT in ms and loss ratio (< 0: not
   measured), path MTU (0: not measured). */
static void
matrix_cell(struct matrix_out *mo, const char *from, const char *to_fqdn, int state, double rtt_ms, double loss, int pmtu)
{
	char to[260];
	label_escape(to_fqdn, to, sizeof to);
	mo->cells_left--;
	put(&mo->up, "meshwatch_mesh_up{from=\"%s\",to=\"%s\"} %d\n", from, to, state == PEER_ALIVE);
	if (rtt_ms >= 0)
		put(&mo->rtt, "meshwatch_mesh_rtt_seconds{from=\"%s\",to=\"%s\"} %.15g\n", from, to, rtt_ms / 1000.0);
	if (loss >= 0)
		put(&mo->loss, "meshwatch_mesh_loss_ratio{from=\"%s\",to=\"%s\"} %.15g\n", from, to, loss);
	if (pmtu > 0)
		put(&mo->pmtu, "meshwatch_mesh_pmtu_bytes{from=\"%s\",to=\"%s\"} %d\n", from, to, pmtu);
}

/* On a node that receives reports: the mesh matrix, each origin's latest
   measurement of each peer, from=origin and to=peer (fqdn), this node's
   own row from its peer table (ps, as for put_peers); at most
   metrics_max_cells cells. */
static void
put_matrix(struct mw_buf *b, struct node *n, const struct peer *ps, int np, int *capped)
{
	int norigins = 0;
	struct report_origin *os = NULL;
	if (store_report_origins(n->store, 0, n->cfg.max_origins, &os, &norigins) != 0 || norigins == 0) {
		free(os);
		return;
	}
	int64_t now = mw_wall_s();
	struct matrix_out mo = {.cells_left = n->cfg.metrics_max_cells};
	mw_buf_init(&mo.up, METRICS_MAX_BYTES);
	mw_buf_init(&mo.rtt, METRICS_MAX_BYTES);
	mw_buf_init(&mo.loss, METRICS_MAX_BYTES);
	mw_buf_init(&mo.pmtu, METRICS_MAX_BYTES);
	char from[260];
	label_escape(n->fqdn, from, sizeof from);
	for (int i = 0; i < np; i++) {
		const struct peer *p = &ps[i];
		if (mo.cells_left <= 0) {
			mo.capped = 1;
			break;
		}
		matrix_cell(&mo, from, p->fqdn, p->state, p->last.udp_received > 0 ? p->last.rtt_avg_ms : -1,
		    p->last.udp_sent > 0 ? 1.0 - (double)p->last.udp_received / p->last.udp_sent : -1, p->pmtu.value);
	}
	put(b, "# HELP meshwatch_mesh_origin_age_seconds Seconds since the origin's latest report arrived.\n"
	       "# TYPE meshwatch_mesh_origin_age_seconds gauge\n");
	for (int o = 0; o < norigins; o++) {
		label_escape(os[o].fqdn, from, sizeof from);
		put(b, "meshwatch_mesh_origin_age_seconds{origin=\"%s\"} %lld\n", from,
		    (long long)(now - os[o].received_at > 0 ? now - os[o].received_at : 0));
		if (strcmp(os[o].id, n->id) == 0)
			continue;
		struct report_cell *cs = NULL;
		int nc = 0;
		/* one more than fits: to know whether any is left out */
		if (store_report_latest(n->store, os[o].id, mo.cells_left + 1, &cs, &nc) != 0)
			continue;
		for (int i = 0; i < nc; i++) {
			if (mo.cells_left <= 0) {
				mo.capped = 1;
				break;
			}
			matrix_cell(&mo, from, cs[i].fqdn, cs[i].state, cs[i].rtt_ms, cs[i].loss, cs[i].pmtu);
		}
		free(cs);
	}
	free(os);
	*capped = mo.capped;
	struct {
		struct mw_buf *buf;
		const char *name, *help;
	} fam[] = {
	    {&mo.up, "meshwatch_mesh_up", "1 when the origin (from) sees the peer (to) alive in its latest report."},
	    {&mo.rtt, "meshwatch_mesh_rtt_seconds", "Average UDP RTT from the origin to the peer in its latest report."},
	    {&mo.loss, "meshwatch_mesh_loss_ratio", "UDP probe loss from the origin to the peer in its latest report."},
	    {&mo.pmtu, "meshwatch_mesh_pmtu_bytes", "Path MTU from the origin to the peer in its latest report."},
	};
	for (size_t f = 0; f < MW_ARRAY_LEN(fam); f++) {
		size_t len = 0;
		char *text = mw_buf_take(fam[f].buf, &len);
		put(b, "# HELP %s %s\n# TYPE %s gauge\n", fam[f].name, fam[f].help, fam[f].name);
		if (text)
			put(b, "%s", text);
		free(text);
	}
}

static void
put_alerts(struct mw_buf *b, struct node *n)
{
	if (n->alerts == NULL)
		return;
	struct alerts_stats s;
	alerts_get_stats(n->alerts, &s);
	put(b, "# HELP meshwatch_alerts Alerts by state.\n# TYPE meshwatch_alerts gauge\n");
	put(b, "meshwatch_alerts{state=\"pending\"} %d\nmeshwatch_alerts{state=\"firing\"} %d\n", s.pending, s.firing);
	put_one(b, "meshwatch_alerts_fired_total", "counter", "Alerts that started firing.", s.fired);
	put_one(b, "meshwatch_alerts_resolved_total", "counter", "Firing alerts that were resolved.", s.resolved);
	struct alerts_channel_stats cs[ALERTS_MAX_CHANNELS];
	int k = alerts_get_channel_stats(n->alerts, cs, ALERTS_MAX_CHANNELS);
	if (k == 0)
		return;
	static const char *const names[] = {"meshwatch_notifications_queued", "meshwatch_notifications_sent_total",
	    "meshwatch_notifications_failed_total", "meshwatch_notifications_dropped_total",
	    "meshwatch_notification_channel_failing"};
	static const char *const helps[] = {"Messages waiting in the channel's outbox.",
	    "Messages the receiver took.", "Delivery attempts that failed (each is retried unless rejected for good).",
	    "Messages lost: rejected for good by the receiver, or pushed out of a full outbox.",
	    "1 while the channel's last delivery failed."};
	static const char *const types[] = {"gauge", "counter", "counter", "counter", "gauge"};
	for (int m = 0; m < 5; m++) {
		put(b, "# HELP %s %s\n# TYPE %s %s\n", names[m], helps[m], names[m], types[m]);
		for (int i = 0; i < k; i++) {
			unsigned long long v = m == 0 ? (unsigned long long)cs[i].queued
			                     : m == 1 ? cs[i].sent
			                     : m == 2 ? cs[i].failed
			                     : m == 3 ? cs[i].dropped
			                              : (unsigned long long)cs[i].failing;
			put(b, "%s{channel=\"%s\",type=\"%s\"} %llu\n", names[m], cs[i].name, cs[i].type, v);
		}
	}
}

static void
put_traffic(struct mw_buf *b, struct capture *c)
{
	struct capture_stats cs;
	capture_get_stats(c, &cs);
	put_one(b, "meshwatch_traffic_capture_up", "gauge", "1 while traffic capture runs (or its file was read).",
	    cs.state == CAPTURE_RUNNING || cs.state == CAPTURE_FINISHED);
	put_one(b, "meshwatch_traffic_packets_total", "counter", "Frames captured.", cs.packets);
	put_one(b, "meshwatch_traffic_bytes_total", "counter", "Bytes of captured frames (wire length).", cs.bytes);
	put_one(b, "meshwatch_traffic_flows", "gauge", "Flows tracked now.", cs.flows);
	put(b, "# HELP meshwatch_pcap_downloads_total Packet downloads (GET /api/capture/pcap) started, and refused "
	       "because as many were running already.\n# TYPE meshwatch_pcap_downloads_total counter\n"
	       "meshwatch_pcap_downloads_total{result=\"started\"} %llu\nmeshwatch_pcap_downloads_total{result=\"refused\"} %llu\n",
	    (unsigned long long)cs.downloads_total, (unsigned long long)cs.downloads_refused);
	if (cs.ipfix_collector[0])
		put(b, "# HELP meshwatch_ipfix_records_total IPFIX data records of finished flows, by whether the socket took "
		       "them.\n# TYPE meshwatch_ipfix_records_total counter\n"
		       "meshwatch_ipfix_records_total{result=\"sent\"} %llu\nmeshwatch_ipfix_records_total{result=\"failed\"} %llu\n",
		    (unsigned long long)cs.ipfix.records_sent, (unsigned long long)cs.ipfix.records_failed);
	put(b, "# HELP meshwatch_traffic_protocol_bytes_total Bytes of captured frames by IP protocol (frames that did not "
	       "decode: other).\n# TYPE meshwatch_traffic_protocol_bytes_total counter\n");
	for (int i = 0; i < ROLLUP_NPROTO; i++)
		put(b, "meshwatch_traffic_protocol_bytes_total{protocol=\"%s\"} %llu\n", rollup_proto_name(i),
		    (unsigned long long)cs.proto_bytes[i]);
	put(b, "# HELP meshwatch_traffic_protocol_packets_total Captured frames by IP protocol.\n"
	       "# TYPE meshwatch_traffic_protocol_packets_total counter\n");
	for (int i = 0; i < ROLLUP_NPROTO; i++)
		put(b, "meshwatch_traffic_protocol_packets_total{protocol=\"%s\"} %llu\n", rollup_proto_name(i),
		    (unsigned long long)cs.proto_packets[i]);
	put(b, "# HELP meshwatch_traffic_drops_total Frames dropped before the capture saw them.\n"
	       "# TYPE meshwatch_traffic_drops_total counter\n");
	put(b, "meshwatch_traffic_drops_total{where=\"kernel\"} %llu\nmeshwatch_traffic_drops_total{where=\"interface\"} %llu\n",
	    (unsigned long long)cs.kernel_drops, (unsigned long long)cs.if_drops);
	put(b, "# HELP meshwatch_traffic_flow_evictions_total Flows removed, by reason.\n"
	       "# TYPE meshwatch_traffic_flow_evictions_total counter\n");
	put(b, "meshwatch_traffic_flow_evictions_total{reason=\"idle\"} %llu\nmeshwatch_traffic_flow_evictions_total{reason=\"max_flows\"} %llu\n",
	    (unsigned long long)cs.ft.expired, (unsigned long long)cs.ft.evicted);
	put(b, "# HELP meshwatch_traffic_decode_errors_total Frames that could not be decoded, by kind.\n"
	       "# TYPE meshwatch_traffic_decode_errors_total counter\n");
	for (int k = DECODE_NOT_IP + 1; k < DECODE_NSTATUS; k++)
		put(b, "meshwatch_traffic_decode_errors_total{kind=\"%s\"} %llu\n", decode_status_name(k),
		    (unsigned long long)cs.decode[k]);
}

/* Where the node's memory goes: the resident set split as the kernel counts
   it (/proc/self/status: anonymous = heap and stacks, private to this
   process; file = library and program pages, shared with every process
   mapping them), what malloc hands out, and SQLite's share of that. */
static void
put_memory(struct mw_buf *b)
{
	long long anon = -1, file = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (f) {
		char line[128];
		while (fgets(line, sizeof line, f)) {
			if (strncmp(line, "RssAnon:", 8) == 0)
				anon = strtoll(line + 8, NULL, 10) * 1024;
			else if (strncmp(line, "RssFile:", 8) == 0)
				file = strtoll(line + 8, NULL, 10) * 1024;
		}
		fclose(f);
	}
	if (anon >= 0 && file >= 0) {
		put(b, "# HELP meshwatch_resident_bytes Resident memory: anon (heap, stacks) and file (program and library pages).\n"
		       "# TYPE meshwatch_resident_bytes gauge\n");
		put(b, "meshwatch_resident_bytes{kind=\"anon\"} %lld\nmeshwatch_resident_bytes{kind=\"file\"} %lld\n", anon,
		    file);
	}
	struct mallinfo2 mi = mallinfo2();
	put(b, "# HELP meshwatch_heap_bytes malloc's bytes: in_use (chunks of its arenas), mapped (large blocks mapped "
	       "on their own; pages never written are not resident), sqlite (SQLite's part of both).\n"
	       "# TYPE meshwatch_heap_bytes gauge\n");
	/* an allocator that does not keep glibc's figures (a sanitizer's)
	   reports 0: left out rather than shown as nothing in use */
	if (mi.uordblks + mi.hblkhd > 0)
		put(b, "meshwatch_heap_bytes{kind=\"in_use\"} %zu\nmeshwatch_heap_bytes{kind=\"mapped\"} %zu\n", mi.uordblks,
		    mi.hblkhd);
	put(b, "meshwatch_heap_bytes{kind=\"sqlite\"} %lld\n", (long long)sqlite3_memory_used());
}

char *
metrics_render(struct metrics *m, struct node *n, size_t *len)
{
	struct mw_buf b;
	mw_buf_init(&b, METRICS_MAX_BYTES);
	struct tls_stats ts;
	tls_server_stats(n->tls, &ts);
	put(&b, "# HELP meshwatch_build_info Build information.\n# TYPE meshwatch_build_info gauge\n");
	put(&b, "meshwatch_build_info{version=\"%s\"} 1\n", MW_VERSION);
	{
		char fqdn[260];
		label_escape(n->fqdn, fqdn, sizeof fqdn);
		int origins = n->store ? store_report_origin_count(n->store) : 0;
		put(&b, "# HELP meshwatch_node_info This node: its id, name, and role (reporting once it has received a "
		        "report, else node).\n# TYPE meshwatch_node_info gauge\n");
		put(&b, "meshwatch_node_info{node_id=\"%s\",fqdn=\"%s\",role=\"%s\"} 1\n", n->id, fqdn,
		    origins > 0 ? "reporting" : "node");
	}
	put(&b, "# HELP meshwatch_uptime_seconds Seconds since the node started.\n# TYPE meshwatch_uptime_seconds gauge\n");
	put(&b, "meshwatch_uptime_seconds %.3f\n", (double)(mw_now_ms() - n->started_mono_ms) / 1000.0);
	put(&b, "# HELP meshwatch_http_requests_total HTTP responses by route and status.\n"
	        "# TYPE meshwatch_http_requests_total counter\n");
	for (int r = 0; r < m->nroutes; r++)
		for (int s = 0; s < NSTATUS; s++) {
			uint64_t v = __atomic_load_n(&m->counts[r][s], __ATOMIC_RELAXED);
			if (v == 0)
				continue;
			if (s < NSTATUS - 1)
				put(&b, "meshwatch_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", m->routes[r],
				    statuses[s], (unsigned long long)v);
			else
				put(&b, "meshwatch_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", m->routes[r],
				    (unsigned long long)v);
		}
	put(&b, "# HELP meshwatch_http_connections_refused_total Connections closed at accept: their address had "
	        "max_conns_per_addr open already.\n# TYPE meshwatch_http_connections_refused_total counter\n");
	put(&b, "meshwatch_http_connections_refused_total %llu\n",
	    (unsigned long long)__atomic_load_n(&m->conns_refused, __ATOMIC_RELAXED));
	put(&b, "# HELP meshwatch_tls_handshakes_total TLS handshakes by result.\n# TYPE meshwatch_tls_handshakes_total counter\n");
	put(&b, "meshwatch_tls_handshakes_total{result=\"ok\"} %llu\n", (unsigned long long)ts.handshakes_ok);
	put(&b, "meshwatch_tls_handshakes_total{result=\"failed\"} %llu\n", (unsigned long long)ts.handshakes_failed);
	put(&b, "# HELP meshwatch_tls_handshake_failures_total Failed TLS handshakes by what the client did: no_hello (closed or silent "
	        "before a ClientHello: port scans, TCP checks), not_tls (bytes that are no TLS hello), tls_error (a TLS client's "
	        "handshake failed).\n# TYPE meshwatch_tls_handshake_failures_total counter\n");
	put(&b, "meshwatch_tls_handshake_failures_total{kind=\"no_hello\"} %llu\n", (unsigned long long)ts.failed_no_hello);
	put(&b, "meshwatch_tls_handshake_failures_total{kind=\"not_tls\"} %llu\n", (unsigned long long)ts.failed_not_tls);
	put(&b, "meshwatch_tls_handshake_failures_total{kind=\"tls_error\"} %llu\n", (unsigned long long)ts.failed_tls_error);
	put_one(&b, "meshwatch_http_plain_requests_total", "counter",
	    "Plain-HTTP requests on the HTTPS port, answered with a redirect to https:// (or a 400 without a Host).",
	    (unsigned long long)ts.plain_http);
	put_hist(&b, "meshwatch_tls_handshake_seconds", "Successful TLS handshakes served, from accept to the end of the handshake.",
	    &ts.handshake_s);
	put(&b, "# HELP meshwatch_tls_certificate_reloads_total Certificates loaded while running.\n"
	        "# TYPE meshwatch_tls_certificate_reloads_total counter\n");
	put(&b, "meshwatch_tls_certificate_reloads_total %llu\n", (unsigned long long)ts.reloads);
	pthread_mutex_lock(&n->health_lock);
	int64_t not_after = n->cert.not_after;
	int writable = n->db_writable;
	pthread_mutex_unlock(&n->health_lock);
	put(&b, "# HELP meshwatch_certificate_expiry_timestamp_seconds When the serving certificate expires.\n"
	        "# TYPE meshwatch_certificate_expiry_timestamp_seconds gauge\n");
	put(&b, "meshwatch_certificate_expiry_timestamp_seconds %lld\n", (long long)not_after);
	put(&b, "# HELP meshwatch_db_writable 1 when the database takes writes.\n# TYPE meshwatch_db_writable gauge\n");
	put(&b, "meshwatch_db_writable %d\n", writable);
	put(&b, "# HELP meshwatch_db_size_bytes Database file plus WAL.\n# TYPE meshwatch_db_size_bytes gauge\n");
	put(&b, "meshwatch_db_size_bytes %lld\n", (long long)store_size_bytes(n->store));
	put_memory(&b);
	put(&b, "# HELP meshwatch_users Users.\n# TYPE meshwatch_users gauge\nmeshwatch_users %d\n", store_user_count(n->store));
	put(&b, "# HELP meshwatch_sessions Sessions stored.\n# TYPE meshwatch_sessions gauge\nmeshwatch_sessions %d\n",
	    store_session_count(n->store));
	if (n->mesh) {
		int total, alive, suspect, dead, unknown, excused;
		struct mesh_stats ms;
		struct mesh_overload ovl;
		membership_counts(mesh_membership(n->mesh), &total, &alive, &suspect, &dead);
		membership_count_unknown(mesh_membership(n->mesh), &unknown, &excused);
		mesh_get_stats(n->mesh, &ms);
		mesh_get_overload(n->mesh, &ovl);
		put(&b, "# HELP meshwatch_peers Known peers by state (unknown: verdict withheld while this node is overloaded).\n"
		        "# TYPE meshwatch_peers gauge\n");
		put(&b, "meshwatch_peers{state=\"alive\"} %d\nmeshwatch_peers{state=\"suspect\"} %d\nmeshwatch_peers{state=\"dead\"} %d\n"
		        "meshwatch_peers{state=\"unknown\"} %d\n",
		    alive, suspect, dead, unknown);
		struct quarantine_stats qs;
		membership_quarantine_stats(mesh_membership(n->mesh), &qs);
		put(&b, "# HELP meshwatch_peers_quarantined Peers heard of second-hand and not reached by this node yet "
		        "(not counted in meshwatch_peers, never gossiped).\n# TYPE meshwatch_peers_quarantined gauge\n"
		        "meshwatch_peers_quarantined %d\n", qs.quarantined);
		put(&b, "# HELP meshwatch_quarantine_total Quarantined peers dropped after failed polls, new peers refused "
		        "(a source's budget spent or the quarantine full), and sources cut off.\n"
		        "# TYPE meshwatch_quarantine_total counter\n"
		        "meshwatch_quarantine_total{event=\"dropped\"} %llu\nmeshwatch_quarantine_total{event=\"refused\"} %llu\n"
		        "meshwatch_quarantine_total{event=\"source_cut\"} %llu\n",
		    (unsigned long long)qs.dropped, (unsigned long long)qs.refused, (unsigned long long)qs.sources_cut);
		put(&b, "# HELP meshwatch_peers_excused Peers whose failed polls are excused now (this node overloaded): "
		        "their verdict is withheld.\n# TYPE meshwatch_peers_excused gauge\nmeshwatch_peers_excused %d\n", excused);
		static const char *const src_names[] = {"none", "cgroup", "system", "file"};
		put(&b, "# HELP meshwatch_overload_rule_enabled 1 when CPU pressure is read (source: cgroup, system, file), "
		        "0 when the overload rule is off (source none; the log says why).\n"
		        "# TYPE meshwatch_overload_rule_enabled gauge\nmeshwatch_overload_rule_enabled{source=\"%s\"} %d\n",
		    src_names[ovl.source & 3], ovl.source != OVL_NONE);
		put(&b, "# HELP meshwatch_overloaded 1 while CPU pressure keeps this node's verdicts on timeouts withheld.\n"
		        "# TYPE meshwatch_overloaded gauge\nmeshwatch_overloaded %d\n", ovl.overloaded);
		if (ovl.pressure >= 0)
			put(&b, "# HELP meshwatch_cpu_pressure_ratio Share of the last 10 s in which a task waited for a CPU "
			        "(the overload rule's reading).\n# TYPE meshwatch_cpu_pressure_ratio gauge\n"
			        "meshwatch_cpu_pressure_ratio %.4f\n", ovl.pressure / 100.0);
		put(&b, "# HELP meshwatch_polls_total Polls of peers by result.\n# TYPE meshwatch_polls_total counter\n");
		put(&b, "meshwatch_polls_total{result=\"ok\"} %llu\nmeshwatch_polls_total{result=\"failed\"} %llu\n",
		    (unsigned long long)ms.polls_ok, (unsigned long long)ms.polls_failed);
		put(&b, "# HELP meshwatch_polls_excused_total Failed polls (counted as failed too) that timed out while this "
		        "node was overloaded: the peer's verdict was withheld.\n# TYPE meshwatch_polls_excused_total counter\n");
		put(&b, "meshwatch_polls_excused_total %llu\n", (unsigned long long)ms.polls_excused);
		put(&b, "# HELP meshwatch_poll_beats_total Polls answered by UDP beats alone (nothing new at the peer, no "
		        "HTTPS exchange), and beats that led to an exchange: answered with a changed state digest (stale) or "
		        "not answered (lost).\n# TYPE meshwatch_poll_beats_total counter\n");
		put(&b, "meshwatch_poll_beats_total{result=\"answered\"} %llu\nmeshwatch_poll_beats_total{result=\"stale\"} "
		        "%llu\nmeshwatch_poll_beats_total{result=\"lost\"} %llu\n",
		    (unsigned long long)ms.polls_beat, (unsigned long long)ms.beats_stale, (unsigned long long)ms.beats_lost);
		put_hist(&b, "meshwatch_poll_seconds", "Duration of polls that got as far as a connection attempt.", &ms.poll_s);
		put(&b, "# HELP meshwatch_poll_duration_seconds Each phase of the polls that got as far as it: TCP connect, "
		        "TLS handshake, request to first byte (ttfb), the whole poll (total).\n"
		        "# TYPE meshwatch_poll_duration_seconds histogram\n");
		for (int ph = 0; ph < MESH_POLL_PHASES; ph++) {
			char lbl[32];
			snprintf(lbl, sizeof lbl, "phase=\"%s\"", mesh_poll_phase_name(ph));
			put_hist_series(&b, "meshwatch_poll_duration_seconds", lbl, &ms.phase_s[ph]);
		}
		put(&b, "# HELP meshwatch_gossip_entries_dropped_total Invalid or surplus peer entries received.\n"
		        "# TYPE meshwatch_gossip_entries_dropped_total counter\n");
		put(&b, "meshwatch_gossip_entries_dropped_total %llu\n", (unsigned long long)ms.gossip_entries_dropped);
		put(&b, "# HELP meshwatch_mesh_requests_rejected_total /nodeinfo callers refused (identity or signature).\n"
		        "# TYPE meshwatch_mesh_requests_rejected_total counter\n");
		put(&b, "meshwatch_mesh_requests_rejected_total %llu\n", (unsigned long long)ms.callers_rejected);
		put(&b, "# HELP meshwatch_poll_rows_total Poll results written to or dropped before the database.\n"
		        "# TYPE meshwatch_poll_rows_total counter\n");
		put(&b, "meshwatch_poll_rows_total{result=\"written\"} %llu\nmeshwatch_poll_rows_total{result=\"dropped\"} %llu\n",
		    (unsigned long long)ms.rows_written, (unsigned long long)ms.rows_dropped);
		put(&b, "# HELP meshwatch_first_contact_waits_total Polls that waited for a full-handshake slot (first_contacts).\n"
		        "# TYPE meshwatch_first_contact_waits_total counter\n");
		put(&b, "meshwatch_first_contact_waits_total %llu\n",
		    (unsigned long long)tlsclient_full_handshake_waits(mesh_client(n->mesh)));
		put(&b, "# HELP meshwatch_first_contacts_deferred_total Polls deferred to a later round: the peer was not met yet and first_contact_rate was spent.\n"
		        "# TYPE meshwatch_first_contacts_deferred_total counter\n");
		put(&b, "meshwatch_first_contacts_deferred_total %llu\n",
		    (unsigned long long)tlsclient_first_contacts_deferred(mesh_client(n->mesh)));
	}
	int capped[3] = {0, 0, 0}; /* peers, targets, matrix cells */
	if (n->mesh) {
		/* one copy of the peer table for both the per-peer series and
		   this node's row of the matrix: the peers met, by id */
		int np = 0, k = 0;
		struct peer *ps = membership_snapshot(mesh_membership(n->mesh), &np);
		for (int i = 0; ps && i < np; i++)
			if (ps[i].id[0] && !ps[i].quarantined)
				ps[k++] = ps[i];
		if (ps) {
			qsort(ps, (size_t)k, sizeof *ps, cmp_peer_id);
			put_peers(&b, n, ps, k, &capped[0]);
			put_matrix(&b, n, ps, k, &capped[2]);
		}
		free(ps);
	}
	if (n->targets)
		put_targets(&b, n, &capped[1]);
	put(&b, "# HELP meshwatch_metrics_capped 1 when some series of a kind were left out of this page: more peers "
	        "than metrics_max_peers, enabled targets than metrics_max_targets, or matrix cells than metrics_max_cells.\n"
	        "# TYPE meshwatch_metrics_capped gauge\n");
	put(&b, "meshwatch_metrics_capped{kind=\"peers\"} %d\nmeshwatch_metrics_capped{kind=\"targets\"} %d\n"
	        "meshwatch_metrics_capped{kind=\"matrix_cells\"} %d\n", capped[0], capped[1], capped[2]);
	put_alerts(&b, n);
	if (n->capture)
		put_traffic(&b, n->capture);
	if (n->scanner) {
		struct scanner_stats ss;
		int hosts = 0, up = 0, services = 0, changes = 0;
		scanner_get_stats(n->scanner, &ss);
		store_discovery_counts(n->store, &hosts, &up, &services, &changes);
		put(&b, "# HELP meshwatch_discovered_hosts Discovered hosts by state.\n# TYPE meshwatch_discovered_hosts gauge\n");
		put(&b, "meshwatch_discovered_hosts{state=\"up\"} %d\nmeshwatch_discovered_hosts{state=\"gone\"} %d\n", up,
		    hosts - up);
		struct name_count nc[METRICS_MAX_SERVICE_SERIES];
		int nn = store_services_by_name(n->store, nc, METRICS_MAX_SERVICE_SERIES);
		put(&b, "# HELP meshwatch_discovered_services Open services on discovered hosts by service name (the %d most "
		        "common names).\n# TYPE meshwatch_discovered_services gauge\n", METRICS_MAX_SERVICE_SERIES);
		for (int i = 0; i < nn; i++) {
			char name[140];
			label_escape(nc[i].name, name, sizeof name);
			put(&b, "meshwatch_discovered_services{service=\"%s\"} %d\n", name, nc[i].count);
		}
		put(&b, "# HELP meshwatch_discovery_changes Host and port changes kept.\n"
		        "# TYPE meshwatch_discovery_changes gauge\nmeshwatch_discovery_changes %d\n", changes);
		put(&b, "# HELP meshwatch_scans_total Finished scans by result.\n# TYPE meshwatch_scans_total counter\n");
		put(&b, "meshwatch_scans_total{result=\"completed\"} %llu\nmeshwatch_scans_total{result=\"failed\"} %llu\n"
		        "meshwatch_scans_total{result=\"cancelled\"} %llu\n",
		    (unsigned long long)ss.scans_completed, (unsigned long long)ss.scans_failed,
		    (unsigned long long)ss.scans_cancelled);
		put(&b, "# HELP meshwatch_scan_ports_total Scanned ports by state.\n# TYPE meshwatch_scan_ports_total counter\n");
		put(&b, "meshwatch_scan_ports_total{state=\"open\"} %llu\nmeshwatch_scan_ports_total{state=\"closed\"} %llu\n"
		        "meshwatch_scan_ports_total{state=\"filtered\"} %llu\n",
		    (unsigned long long)ss.open, (unsigned long long)ss.closed, (unsigned long long)ss.filtered);
		put(&b, "# HELP meshwatch_scan_connects_total Connect attempts by scans (retries included).\n"
		        "# TYPE meshwatch_scan_connects_total counter\nmeshwatch_scan_connects_total %llu\n",
		    (unsigned long long)ss.probes);
		put(&b, "# HELP meshwatch_scans_queued Scans waiting.\n# TYPE meshwatch_scans_queued gauge\n"
		        "meshwatch_scans_queued %d\n", ss.queued);
		put(&b, "# HELP meshwatch_scans_running 1 while a scan runs.\n# TYPE meshwatch_scans_running gauge\n"
		        "meshwatch_scans_running %d\n", ss.running);
		put(&b, "# HELP meshwatch_scan_peak_connects The last scan's most connects in flight (scan_concurrency).\n"
		        "# TYPE meshwatch_scan_peak_connects gauge\nmeshwatch_scan_peak_connects %d\n", ss.peak_connects);
		put(&b, "# HELP meshwatch_scan_peak_hosts The last scan's most hosts probed at once (scan_host_window).\n"
		        "# TYPE meshwatch_scan_peak_hosts gauge\nmeshwatch_scan_peak_hosts %d\n", ss.peak_hosts);
	}
	if (mw_buf_len(&b) == 0) { /* not even the first line: out of memory */
		mw_buf_finish(&b);
		return NULL;
	}
	return mw_buf_take(&b, len);
}
