/* report: owns the sender thread and its per-server state (delivery
   cursor, backoff); the sender also builds this node's snapshots. The
   outbox lives in SQLite, so a snapshot made is a snapshot kept until
   every reporting node acknowledged it (or the bound dropped it). The
   thread wakes every 200 ms; it never holds a lock while
   on the network. Parsing of received snapshots is stateless. */
#include "meshwatch/report.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshwatch/capture.h"
#include "meshwatch/events.h"
#include "meshwatch/gossip.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/tlsclient.h"
#include "meshwatch/targets.h"
#include "meshwatch/util.h"

#include "views.h"

#define BACKOFF_MIN_MS 1000
#define SENDS_PER_WAKE 200

struct server {
	char fqdn[256];
	char ip[64];
	int port;
	char key[80];            /* "fqdn|ip:port": the progress key in the store */
	int64_t acked;
	int64_t next_try_ms;
	int backoff_ms;
	int down;                /* logged as down; said again when it is back */
};

struct reporter {
	struct node *n;
	struct server servers[REPORT_MAX_SERVERS];
	int nservers;
	pthread_t thread;
	int started;
	volatile int stop;
	pthread_mutex_t lock;
	struct reporter_stats stats;
	/* origins' freshness as last judged (report_watch_origins, main
	   thread only), sorted by id */
	struct origin_mark *marks;
	int nmarks;
	int64_t watch_since;
	int64_t change_cursor;   /* the last discovery change a snapshot carried (sender thread) */
};

enum { MARK_UNJUDGED, MARK_FRESH, MARK_STALE };
struct origin_mark {
	char id[37];
	int state;
};

static cJSON *targets_summary(struct node *n);
/* A compact traffic summary: state, the newest second's rates and drops,
   the top five talkers. Receivers that predate it ignore it. */
static void
add_traffic(cJSON *o, struct node *n)
{
	if (n->capture == NULL)
		return;
	struct capture_stats cs;
	capture_get_stats(n->capture, &cs);
	cJSON *t = cJSON_AddObjectToObject(o, "traffic");
	cJSON_AddStringToObject(t, "state", capture_state_name(cs.state));
	cJSON_AddNumberToObject(t, "drops_total", (double)(cs.kernel_drops + cs.if_drops));
	cJSON_AddNumberToObject(t, "flows", cs.flows);
	/* what /api/stats counts since the start, for the mesh totals */
	json_add_u64(t, "packets_total", cs.packets);
	json_add_u64(t, "bytes_total", cs.bytes);
	cJSON *rates = views_traffic_rates(n);
	if (rates) {
		json_add_time(t, "time", (int64_t)(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rates, "ts")) / 1000));
		cJSON_AddNumberToObject(t, "pps", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rates, "pps")));
		cJSON_AddNumberToObject(t, "bps", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rates, "bps")));
		cJSON_AddNumberToObject(t, "drops", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rates, "drops")));
		cJSON_AddNumberToObject(t, "packets", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rates, "packets")));
		cJSON_AddNumberToObject(t, "bytes", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rates, "bytes")));
		cJSON_AddItemToObject(t, "by_proto", cJSON_DetachItemFromObjectCaseSensitive(rates, "by_proto"));
		cJSON_Delete(rates);
	}
	cJSON *top = views_traffic_top(n, 5);
	if (top) {
		cJSON *rows = cJSON_DetachItemFromObjectCaseSensitive(top, "rows");
		cJSON_AddItemToObject(t, "top_talkers", rows);
		cJSON_Delete(top);
	}
}

/* Discovered hosts for reporting nodes: counts, the most recently seen
   hosts (bounded, services as "port/name" and in service_details) and
   changes (bounded): with a cursor, those after the last change an
   earlier snapshot of the same series carried (oldest first, so a
   backlog drains over a few snapshots and a late snapshot misses none;
   the first one starts two report intervals back), else those of the
   last two report intervals. */
static cJSON *
discovery_summary(struct node *n, int64_t now, int64_t *cursor)
{
	cJSON *d = cJSON_CreateObject();
	int hosts = 0, up = 0, services = 0, changes = 0;
	store_discovery_counts(n->store, &hosts, &up, &services, &changes);
	cJSON_AddNumberToObject(d, "hosts", hosts);
	cJSON_AddNumberToObject(d, "hosts_up", up);
	cJSON_AddNumberToObject(d, "services", services);
	cJSON *list = cJSON_AddArrayToObject(d, "host_list");
	struct disc_host *hs = NULL;
	int nh = 0, total = 0;
	if (store_hosts_list(n->store, "", "", 0, "", REPORT_MAX_HOSTS, 0, &hs, &nh, &total) == 0) {
		for (int i = 0; i < nh; i++) {
			const struct disc_host *h = &hs[i];
			cJSON *e = views_host_brief(h, REPORT_MAX_SERVICES);
			/* what a reporting node keeps of the host (mesh inventory) */
			cJSON_AddStringToObject(e, "mac", h->mac);
			json_add_time_or_null(e, "first_seen", h->first_seen);
			json_add_time_or_null(e, "last_seen", h->last_seen);
			cJSON *det = cJSON_AddArrayToObject(e, "service_details");
			for (int k = 0, listed = 0; k < h->nsvc && listed < REPORT_MAX_SERVICES; k++) {
				if (strcmp(h->svc[k].state, "open") != 0)
					continue; /* a port once open, closed now */
				listed++;
				cJSON *v = cJSON_CreateObject();
				cJSON_AddNumberToObject(v, "port", h->svc[k].port);
				cJSON_AddStringToObject(v, "proto", h->svc[k].proto);
				cJSON_AddStringToObject(v, "service", h->svc[k].service);
				cJSON_AddStringToObject(v, "confidence", h->svc[k].confidence);
				cJSON_AddItemToArray(det, v);
			}
			cJSON_AddItemToArray(list, e);
		}
		store_hosts_free(hs, nh);
	}
	cJSON_AddBoolToObject(d, "host_list_truncated", total > nh);
	cJSON *ch = cJSON_AddArrayToObject(d, "recent_changes");
	struct disc_change *cs = NULL;
	int nc = 0;
	if (cursor) {
		int64_t since = *cursor != 0 ? 0 : now - 2 * (int64_t)n->cfg.report_interval_s;
		if (store_changes_after(n->store, *cursor > 0 ? *cursor : 0, since, REPORT_MAX_CHANGES, &cs, &nc) == 0) {
			for (int i = 0; i < nc; i++) {
				cJSON_AddItemToArray(ch, views_change(&cs[i]));
				if (cs[i].id > *cursor)
					*cursor = cs[i].id;
			}
			free(cs);
		}
	} else if (store_changes_list(n->store, now - 2 * (int64_t)n->cfg.report_interval_s, "", "", REPORT_MAX_CHANGES, 0, &cs,
	        &nc, &total) == 0) {
		for (int i = 0; i < nc; i++)
			cJSON_AddItemToArray(ch, views_change(&cs[i]));
		free(cs);
	}
	return d;
}

char *
report_snapshot(struct node *n, int64_t seq)
{
	return report_snapshot_since(n, seq, NULL);
}

char *
report_snapshot_since(struct node *n, int64_t seq, int64_t *change_cursor)
{
	struct peer_news self;
	mesh_self(n->mesh, &self);
	int64_t now = mw_wall_s();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON *org = cJSON_AddObjectToObject(o, "origin");
	cJSON_AddStringToObject(org, "id", self.id);
	cJSON_AddStringToObject(org, "fqdn", self.fqdn);
	cJSON_AddStringToObject(org, "ip", self.ip);
	cJSON_AddNumberToObject(org, "port", self.port);
	cJSON_AddNumberToObject(org, "incarnation", (double)self.incarnation);
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	json_add_time(o, "generated_at", now);
	cJSON_AddNumberToObject(o, "interval_s", n->cfg.report_interval_s);
	cJSON *arr = cJSON_AddArrayToObject(o, "peers");
	int np = 0;
	struct peer *ps = membership_snapshot(mesh_membership(n->mesh), &np);
	for (int i = 0; ps && i < np; i++)
		if (ps[i].id[0] != '\0')
			cJSON_AddItemToArray(arr, views_peer_brief(&ps[i], now));
	free(ps);
	cJSON *sum = cJSON_AddObjectToObject(o, "summaries");
	cJSON_AddItemToObject(sum, "mesh", views_mesh_counts(mesh_membership(n->mesh)));
	if (n->targets)
		cJSON_AddItemToObject(sum, "targets", targets_summary(n));
	add_traffic(o, n);
	cJSON_AddItemToObject(o, "discovery", discovery_summary(n, now, change_cursor));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* TCP targets in a snapshot: counts by state and the first
   REPORT_MAX_TARGETS (limits.h) enabled targets with their state and
   recent ratio. */

static cJSON *
targets_summary(struct node *n)
{
	cJSON *t = cJSON_CreateObject();
	struct targets_stats s;
	targets_stats(n->targets, &s);
	views_add_target_states(t, &s);
	struct target_row *rows = NULL;
	int k = 0, total = 0;
	cJSON *items = cJSON_AddArrayToObject(t, "items");
	if (store_target_list(n->store, NULL, 1, -1, REPORT_MAX_TARGETS, 0, &rows, &k, &total) != 0)
		return t;
	cJSON_AddNumberToObject(t, "enabled", total);
	for (int i = 0; i < k; i++) {
		cJSON *e = views_target_brief(n, &rows[i]);
		json_add_time_or_null(e, "last_check", rows[i].last_check_ms / 1000);
		cJSON_AddItemToArray(items, e);
	}
	cJSON_AddBoolToObject(t, "truncated", total > k);
	free(rows);
	return t;
}

/* ---- parsing ---- */

static int
parse_time(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsString(v))
		return MW_EINVAL;
	struct tm tm = {0};
	const char *end = strptime(v->valuestring, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || strcmp(end, "Z") != 0)
		return MW_EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* An optional number in [lo, hi]: -1 stored for null. */
static int
opt_num(const cJSON *e, const char *key, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
	if (v == NULL || cJSON_IsNull(v)) {
		*out = -1;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
		return MW_EINVAL;
	*out = v->valuedouble;
	return 0;
}

int
report_parse(const char *body, size_t len, int max_peers, int64_t now, struct report *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	int rc = MW_EINVAL;
	double d;
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		snprintf(why, whylen, "the report is not a JSON object");
		goto out;
	}
	if (json_get_int(root, "version", 1, 1, &d)) {
		snprintf(why, whylen, "\"version\" must be 1");
		goto out;
	}
	const cJSON *org = cJSON_GetObjectItemCaseSensitive(root, "origin");
	struct peer_news who = {0};
	if (!cJSON_IsObject(org) || json_get_str(org, "id", who.id, sizeof who.id, 1) ||
	    json_get_str(org, "fqdn", who.fqdn, sizeof who.fqdn, 1) ||
	    json_get_str(org, "ip", who.ip, sizeof who.ip, 1) || json_get_int(org, "port", 1, 65535, &d)) {
		snprintf(why, whylen, "\"origin\" must be an object with string id, fqdn, ip and integer port");
		goto out;
	}
	who.port = (int)d;
	const char *bad = gossip_check_identity(&who, 0);
	if (bad) {
		snprintf(why, whylen, "\"origin\": %s", bad);
		goto out;
	}
	if (json_get_int(org, "incarnation", 0, 9007199254740991.0, &d)) {
		snprintf(why, whylen, "\"origin.incarnation\" must be a non-negative integer");
		goto out;
	}
	out->incarnation = (uint64_t)d;
	struct report_origin *o = &out->origin;
	snprintf(o->id, sizeof o->id, "%s", who.id);
	snprintf(o->fqdn, sizeof o->fqdn, "%s", who.fqdn);
	snprintf(o->ip, sizeof o->ip, "%s", who.ip);
	o->port = who.port;
	if (json_get_int(root, "seq", 1, 9007199254740991.0, &d)) {
		snprintf(why, whylen, "\"seq\" must be an integer from 1");
		goto out;
	}
	o->last_seq = (int64_t)d;
	if (parse_time(cJSON_GetObjectItemCaseSensitive(root, "generated_at"), &o->generated_at)) {
		snprintf(why, whylen, "\"generated_at\" must be an RFC 3339 UTC time like 2026-11-22T10:30:00Z");
		goto out;
	}
	if (o->generated_at > now + REPORT_MAX_SKEW_S) {
		snprintf(why, whylen, "\"generated_at\" is %lld s in the future (at most %d s of clock skew)",
		    (long long)(o->generated_at - now), REPORT_MAX_SKEW_S);
		goto out;
	}
	if (o->generated_at < now - REPORT_MAX_AGE_S) {
		snprintf(why, whylen, "\"generated_at\" is %lld days old (at most %d)", (long long)((now - o->generated_at) / 86400),
		    REPORT_MAX_AGE_S / 86400);
		goto out;
	}
	if (json_get_int(root, "interval_s", 1, 86400, &d)) {
		snprintf(why, whylen, "\"interval_s\" must be an integer from 1 to 86400");
		goto out;
	}
	o->interval_s = (int)d;
	o->received_at = now;
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(root, "peers");
	if (!cJSON_IsArray(peers)) {
		snprintf(why, whylen, "\"peers\" must be an array");
		goto out;
	}
	int np = cJSON_GetArraySize(peers);
	if (np > max_peers) {
		snprintf(why, whylen, "\"peers\" has %d entries, more than max_peers (%d)", np, max_peers);
		rc = MW_ETOOBIG;
		goto out;
	}
	out->cells = calloc((size_t)(np ? np : 1), sizeof *out->cells);
	if (out->cells == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, peers) {
		struct report_cell *c = &out->cells[i];
		struct peer_news x = {0};
		char state[16];
		double pm;
		if (!cJSON_IsObject(e) || json_get_str(e, "id", x.id, sizeof x.id, 1) ||
		    json_get_str(e, "fqdn", x.fqdn, sizeof x.fqdn, 1) || json_get_str(e, "ip", x.ip, sizeof x.ip, 1) ||
		    json_get_int(e, "port", 1, 65535, &d) ||
		    json_get_str(e, "state", state, sizeof state, 1) || (c->state = peer_state_parse(state)) < 0) {
			snprintf(why, whylen, "peers[%d]: needs string id, fqdn, ip, state (alive|suspect|dead) and integer port", i);
			goto out;
		}
		x.port = (int)d;
		if ((bad = gossip_check_identity(&x, 0)) != NULL) {
			snprintf(why, whylen, "peers[%d]: %s", i, bad);
			goto out;
		}
		if (opt_num(e, "rtt_ms", 0, 3600000, &c->rtt_ms) || opt_num(e, "loss", 0, 1, &c->loss) ||
		    opt_num(e, "total_ms", 0, 3600000, &c->total_ms) || opt_num(e, "pmtu", 68, 65575, &pm)) {
			snprintf(why, whylen, "peers[%d]: rtt_ms and total_ms must be null or 0..3600000, loss null or 0..1, pmtu null or 68..65575", i);
			goto out;
		}
		c->pmtu = pm < 0 ? 0 : (int)pm;
		if (parse_time(cJSON_GetObjectItemCaseSensitive(e, "measured_at"), &c->t))
			c->t = o->generated_at;
		/* a cell from the future would hold the latest view forever */
		if (c->t > now + REPORT_MAX_SKEW_S) {
			snprintf(why, whylen, "peers[%d].measured_at is %lld s in the future (at most %d s of clock skew)", i,
			    (long long)(c->t - now), REPORT_MAX_SKEW_S);
			goto out;
		}
		if (c->t < now - REPORT_MAX_AGE_S) {
			snprintf(why, whylen, "peers[%d].measured_at is %lld days old (at most %d)", i, (long long)((now - c->t) / 86400),
			    REPORT_MAX_AGE_S / 86400);
			goto out;
		}
		snprintf(c->peer, sizeof c->peer, "%s", x.id);
		snprintf(c->fqdn, sizeof c->fqdn, "%s", x.fqdn);
		snprintf(c->ip, sizeof c->ip, "%s", x.ip);
		i++;
	}
	out->ncells = i;
	report_inventory_parse(root, now, out);
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc != 0)
		report_free(out);
	return rc;
}

void
report_free(struct report *r)
{
	free(r->cells);
	r->cells = NULL;
	r->ncells = 0;
	store_inventory_free(&r->inv);
}

/* ---- sending ---- */

static int
resolve_server(struct server *s, char *ip, size_t iplen)
{
	if (s->ip[0]) {
		snprintf(ip, iplen, "%s", s->ip);
		return 0;
	}
	return mw_resolve(s->fqdn, ip, iplen);
}

/* Delivers one snapshot; 0 when the server accepted it (or had it). */
static int
deliver(struct reporter *r, struct server *s, int64_t seq, const char *body, char *why, size_t whylen)
{
	struct node *n = r->n;
	struct mesh *m = n->mesh;
	char ip[64];
	if (resolve_server(s, ip, sizeof ip) != 0) {
		snprintf(why, whylen, "cannot resolve %.100s", s->fqdn);
		return MW_EIO;
	}
	struct peer_news self;
	mesh_self(m, &self);
	char ident[512], hdrs[1200], sig[256], nonce[MESHAUTH_NONCE_LEN + 1];
	size_t blen = strlen(body);
	gossip_identity_string(&self, ident, sizeof ident);
	gossip_identity_headers(&self, hdrs, sizeof hdrs);
	meshauth_sign_request(mesh_auth(m), "POST", "/report", ident, "", body, blen, mw_wall_s(), sig, sizeof sig, nonce);
	strncat(hdrs, sig, sizeof hdrs - strlen(hdrs) - 1);
	strncat(hdrs, "Content-Type: application/json\r\n", sizeof hdrs - strlen(hdrs) - 1);
	struct https_result hr;
	int rc = tlsclient_request(mesh_client(m), ip, s->port, "POST", "/report", hdrs, body, blen, 65536,
	    n->cfg.poll_timeout_ms, &hr);
	if (rc != 0) {
		snprintf(why, whylen, "%s: %s", poll_error_name(hr.error), hr.detail);
	} else if (meshauth_enabled(mesh_auth(m)) &&
	           meshauth_verify_response(mesh_auth(m), nonce, hr.status, hr.body, hr.body_len, hr.sig) != 0) {
		snprintf(why, whylen, "answer not signed with the mesh secret (HTTP %d)", hr.status);
		rc = MW_EIO;
	} else if (hr.status != 202) {
		snprintf(why, whylen, "HTTP %d: %.120s", hr.status, hr.body ? hr.body : "");
		rc = MW_EIO;
	} else {
		cJSON *a = cJSON_ParseWithLength(hr.body, hr.body_len);
		const cJSON *acc = cJSON_GetObjectItemCaseSensitive(a, "accepted_seq");
		if (!cJSON_IsNumber(acc) || (int64_t)acc->valuedouble != seq) {
			snprintf(why, whylen, "202 without accepted_seq %lld", (long long)seq);
			rc = MW_EIO;
		}
		cJSON_Delete(a);
	}
	https_result_free(&hr);
	return rc;
}

static void
serve_server(struct reporter *r, struct server *s, int64_t now_ms)
{
	if (now_ms < s->next_try_ms)
		return;
	for (int k = 0; k < SENDS_PER_WAKE && !r->stop; k++) {
		int64_t seq;
		char *body = NULL, why[200];
		if (store_outbox_next(r->n->store, s->acked, &seq, &body) != 0)
			return; /* caught up */
		if (seq > s->acked + 1 && s->acked > 0) {
			log_warn("report", "%s:%d: snapshots %lld..%lld were dropped from the full outbox before delivery",
			    s->fqdn[0] ? s->fqdn : s->ip, s->port, (long long)s->acked + 1, (long long)seq - 1);
		}
		int rc = deliver(r, s, seq, body, why, sizeof why);
		free(body);
		pthread_mutex_lock(&r->lock);
		if (rc == 0)
			r->stats.sent++;
		else
			r->stats.failed++;
		pthread_mutex_unlock(&r->lock);
		if (rc != 0) {
			s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
			if (s->backoff_ms > REPORT_BACKOFF_MAX_MS)
				s->backoff_ms = REPORT_BACKOFF_MAX_MS;
			s->next_try_ms = mw_now_ms() + s->backoff_ms;
			if (!s->down)
				log_warn("report", "reporting node %s:%d unreachable (%s): keeping snapshots, retrying with backoff",
				    s->fqdn[0] ? s->fqdn : s->ip, s->port, why);
			s->down = 1;
			return;
		}
		if (s->down)
			log_info("report", "reporting node %s:%d is back: sending the backlog", s->fqdn[0] ? s->fqdn : s->ip,
			    s->port);
		s->down = 0;
		s->backoff_ms = 0;
		s->acked = seq;
		if (store_report_ack(r->n->store, s->key, seq) != 0)
			log_debug("report", "%s: could not store the acknowledgement of %lld; after a restart it is sent again",
			    s->key, (long long)seq);
	}
}

static void *
sender_main(void *arg)
{
	struct reporter *r = arg;
	struct node *n = r->n;
	int64_t next_snapshot = mw_now_ms() + 2000; /* let the first polls land */
	int64_t last_trim = 0;
	while (!r->stop) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		int64_t now_ms = mw_now_ms();
		if (now_ms >= next_snapshot) {
			next_snapshot = now_ms + (int64_t)n->cfg.report_interval_s * 1000;
			int64_t seq = store_outbox_last_seq(n->store) + 1;
			char *body = report_snapshot_since(n, seq, &r->change_cursor);
			int dropped = 0;
			if (body && store_outbox_add(n->store, seq, body, mw_wall_s(), n->cfg.max_outbox, &dropped) == 0) {
				pthread_mutex_lock(&r->lock);
				r->stats.last_seq = seq;
				r->stats.dropped += (uint64_t)dropped;
				pthread_mutex_unlock(&r->lock);
				if (dropped)
					log_warn("report", "outbox full (max_outbox %d): dropped the %d oldest snapshots", n->cfg.max_outbox,
					    dropped);
			} else {
				log_error("report", "could not store snapshot %lld", (long long)seq);
			}
			free(body);
		}
		int64_t min_acked = INT64_MAX;
		for (int i = 0; i < r->nservers && !r->stop; i++) {
			serve_server(r, &r->servers[i], now_ms);
			if (r->servers[i].acked < min_acked)
				min_acked = r->servers[i].acked;
		}
		if (now_ms - last_trim > 10000 && min_acked != INT64_MAX) {
			store_outbox_trim(n->store, min_acked);
			last_trim = now_ms;
		}
		int ob = store_outbox_count(n->store);
		pthread_mutex_lock(&r->lock);
		r->stats.outbox = ob;
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

struct reporter *
reporter_create(struct node *n, char *err, size_t errlen)
{
	struct reporter *r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->n = n;
	pthread_mutex_init(&r->lock, NULL);
	if (n->cfg.reporting_file[0] == '\0')
		return r;
	struct seed_entry *list = NULL;
	int k = config_load_reporting(n->cfg.reporting_file, REPORT_MAX_SERVERS, &list, err, errlen);
	if (k < 0) {
		reporter_destroy(r);
		return NULL;
	}
	for (int i = 0; i < k; i++) {
		int port = list[i].port ? list[i].port : n->cfg.listen_port;
		if (list[i].ip[0] && strcmp(list[i].ip, n->ip) == 0 && port == n->cfg.listen_port)
			continue; /* this node itself: it has its own view already */
		struct server *s = &r->servers[r->nservers++];
		snprintf(s->fqdn, sizeof s->fqdn, "%s", list[i].fqdn);
		snprintf(s->ip, sizeof s->ip, "%s", list[i].ip);
		s->port = port;
		snprintf(s->key, sizeof s->key, "%.40s|%.30s:%d", list[i].fqdn, list[i].ip, port);
		s->acked = store_report_acked(n->store, s->key);
	}
	free(list);
	r->stats.servers = r->nservers;
	r->stats.last_seq = store_outbox_last_seq(n->store);
	return r;
}

int
reporter_start(struct reporter *r, char *err, size_t errlen)
{
	if (r->nservers == 0)
		return MW_OK;
	if (pthread_create(&r->thread, NULL, sender_main, r) != 0) {
		snprintf(err, errlen, "cannot start the report sender");
		return MW_EIO;
	}
	r->started = 1;
	log_info("report", "sending a snapshot every %d s to %d reporting node(s)", r->n->cfg.report_interval_s,
	    r->nservers);
	return MW_OK;
}

void
reporter_stop(struct reporter *r)
{
	if (r == NULL)
		return;
	r->stop = 1;
	if (r->started)
		pthread_join(r->thread, NULL);
	r->started = 0;
}

void
reporter_destroy(struct reporter *r)
{
	if (r == NULL)
		return;
	reporter_stop(r);
	pthread_mutex_destroy(&r->lock);
	free(r->marks);
	free(r);
}

static int
mark_cmp(const void *a, const void *b)
{
	return strcmp(((const struct origin_mark *)a)->id, ((const struct origin_mark *)b)->id);
}

/* What the events said of origin id before this run judged it: stale or
   fresh (also when nothing was said), so a restart repeats nothing. */
static int
last_said(struct node *n, const char *id)
{
	struct event_filter f = {.kind = "origin_stale", .subject = id, .limit = 1};
	struct event_row *rows = NULL;
	int k = 0, total = 0;
	int stale = store_events_list(n->store, &f, &rows, &k, &total) == 0 && k == 1 &&
	            strcmp(rows[0].new_value, "stale") == 0;
	free(rows);
	return stale ? MARK_STALE : MARK_FRESH;
}

static void
origin_event(struct node *n, const struct report_origin *o, int stale, int64_t now)
{
	char last[32];
	mw_rfc3339(o->received_at, last, sizeof last);
	long long age = (long long)(now - o->received_at);
	if (stale)
		log_warn("report", "origin %s (%s) sent no report for %lld s (3 intervals of %d s): stale", o->id, o->fqdn, age,
		    o->interval_s);
	else
		log_info("report", "origin %s (%s) reports again (seq %lld)", o->id, o->fqdn, (long long)o->last_seq);
	struct event_row e;
	const char *from = stale ? "fresh" : "stale", *to = stale ? "stale" : "fresh";
	event_init(&e, "origin_stale", stale ? EVENT_WARNING : EVENT_INFO, "node", o->id, o->fqdn, from, to);
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "last_report", last);
	cJSON_AddNumberToObject(evd, "age_s", (double)age);
	cJSON_AddNumberToObject(evd, "interval_s", o->interval_s);
	cJSON_AddNumberToObject(evd, "last_seq", (double)o->last_seq);
	cJSON_AddStringToObject(evd, "ip", o->ip);
	event_set_evidence(&e, evd);
	events_emit(n->events, &e);
}

void
report_watch_origins(struct node *n)
{
	struct reporter *r = n->reporter;
	if (r == NULL)
		return;
	int64_t now = mw_wall_s();
	if (r->watch_since == 0)
		r->watch_since = now;
	struct report_origin *os = NULL;
	int no = 0;
	if (store_report_origins(n->store, 0, n->cfg.max_origins, &os, &no) != 0)
		return; /* judged again at the next call */
	struct origin_mark *marks = no ? calloc((size_t)no, sizeof *marks) : NULL;
	if (no && marks == NULL) {
		free(os);
		return;
	}
	for (int i = 0; i < no; i++) {
		const struct report_origin *o = &os[i];
		struct origin_mark *m = &marks[i];
		snprintf(m->id, sizeof m->id, "%s", o->id);
		const struct origin_mark *was = r->nmarks ? bsearch(m, r->marks, (size_t)r->nmarks, sizeof *m, mark_cmp) : NULL;
		int before = was ? was->state : last_said(n, o->id);
		/* fresh: a report within three intervals; stale: none for three
		   intervals, counted from this node's start at the earliest
		   (nothing could arrive while it was down); in between (an old
		   report, a node just started) it stays as it was */
		int64_t window = 3 * (int64_t)o->interval_s;
		int64_t since = o->received_at > r->watch_since ? o->received_at : r->watch_since;
		m->state = now - o->received_at <= window ? MARK_FRESH : now - since > window ? MARK_STALE : before;
		if (m->state != before)
			origin_event(n, o, m->state == MARK_STALE, now);
	}
	free(os);
	if (no > 1)
		qsort(marks, (size_t)no, sizeof *marks, mark_cmp);
	free(r->marks);
	r->marks = marks;
	r->nmarks = no;
}

int
reporter_is_server(const struct reporter *r, const char *fqdn, const char *ip, int port)
{
	for (int i = 0; r && i < r->nservers; i++) {
		const struct server *s = &r->servers[i];
		if (s->port == port && ((s->fqdn[0] && strcasecmp(s->fqdn, fqdn) == 0) || (s->ip[0] && strcmp(s->ip, ip) == 0)))
			return 1;
	}
	return 0;
}

void
reporter_stats(struct reporter *r, struct reporter_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}
