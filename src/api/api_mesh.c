/* api_mesh: /nodeinfo (the mesh's own endpoint: identifies the caller,
   verifies signatures, answers with this node's peer list) and the
   /api/nodes resource for the dashboard and scripts. Runs on civetweb
   worker threads; reads the peer table through membership's copies. */
#include <arpa/inet.h>
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshwatch/api.h"
#include "meshwatch/gossip.h"
#include "meshwatch/http.h"
#include "meshwatch/json.h"
#include "meshwatch/log.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/meshtargets.h"
#include "meshwatch/node.h"
#include "meshwatch/report.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "views.h"

static void
copy_header(struct req *r, const char *name, char *out, size_t outlen)
{
	const char *v = mg_get_header(r->conn, name);
	snprintf(out, outlen, "%s", v ? v : "");
}

/* Rebuilds the path with its query, as signed. */
static void
signed_path(struct req *r, char *out, size_t outlen)
{
	const char *q = r->ri->query_string;
	snprintf(out, outlen, "%s%s%s", r->path, q ? "?" : "", q ? q : "");
}

/* A mesh request's signature (when MESH_SECRET is set): 0, or
   MW_EREPLIED after replying 401 (503 when the nonce memory is full). The signature must
   name this node as its destination: a request captured on its way to
   another node is refused here. On success r->mesh_signer holds the
   caller's X-Mw-Id, which the signature covers through ident ("" when
   ident is ""). */
static int
verify_signed(struct req *r, const char *ident)
{
	struct mesh *m = r->node->mesh;
	r->mesh_signer[0] = '\0';
	if (!meshauth_enabled(mesh_auth(m)))
		return 0;
	char path[2048], why[200];
	signed_path(r, path, sizeof path);
	int rc = meshauth_verify_request(mesh_auth(m), r->method, path, ident, r->node->id,
	    mg_get_header(r->conn, "X-Mw-Timestamp"), mg_get_header(r->conn, "X-Mw-Nonce"),
	    mg_get_header(r->conn, "X-Mw-Signature"), "", 0, mw_wall_s(), why, sizeof why);
	if (rc == 0) {
		if (ident[0])
			copy_header(r, "X-Mw-Id", r->mesh_signer, sizeof r->mesh_signer);
		return 0;
	}
	mesh_count_rejected(m);
	log_warn("mesh", "%s from %s refused: %s", r->path, r->client, why);
	http_reply_error(r, rc == MW_ELIMIT ? 503 : 401, rc == MW_ELIMIT ? "busy" : "bad_signature", "%s", why);
	return MW_EREPLIED;
}

/* Replies with o (freed here) as a body signed for the caller's nonce
   (when signing is on). */
static void
reply_signed(struct req *r, int status, cJSON *o)
{
	struct mesh *m = r->node->mesh;
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	char hdr[160] = "";
	if (meshauth_enabled(mesh_auth(m))) {
		char sig[MESHAUTH_SIG_LEN + 1];
		meshauth_sign_response(mesh_auth(m), mg_get_header(r->conn, "X-Mw-Nonce"), status, text, strlen(text), sig);
		snprintf(hdr, sizeof hdr, "X-Mw-Signature: %s\r\n", sig);
	}
	http_reply_raw(r, status, "application/json", text, strlen(text), hdr);
	free(text);
}

/* Whether the caller of /nodeinfo/reach is an alive member: its X-Mw-Id
   names an alive peer (not quarantined) whose address is the one the
   request comes from (on one host, any loopback address stands for any
   other: the kernel picks 127.0.0.1 as the source whatever a node
   listens on). */
static int
reach_caller_ok(struct req *r, char *why, size_t whylen)
{
	char id[40] = "";
	copy_header(r, "X-Mw-Id", id, sizeof id);
	struct peer p;
	if (!membership_valid_id(id)) {
		snprintf(why, whylen, "only alive members of this mesh may ask: X-Mw-Id must name one");
		return 0;
	}
	if (membership_get(mesh_membership(r->node->mesh), id, &p) != 0 || p.quarantined || p.state != PEER_ALIVE) {
		snprintf(why, whylen, "only alive members of this mesh may ask: %s is not one here", id);
		return 0;
	}
	if (!mw_ip_same_host(r->client, p.ip)) {
		snprintf(why, whylen, "only alive members of this mesh may ask: %s is at %s, not %s", id, p.ip, r->client);
		return 0;
	}
	return 1;
}

/* GET /nodeinfo/reach?id=UUID: another node's indirect probe. This node
   connects to that peer now (GET /health, at most 3 s) and says whether it
   answered as that node: reached or not, nothing more (no times, no
   error), so it tells nothing about the ports of an address. Only alive
   members ask (X-Mw-Id, from their own address), only about peers that are
   not quarantined, at most reach_per_min a minute and
   MESH_REACH_MAX_IN_FLIGHT at once, so nobody can scan through this node. */
void
api_nodeinfo_reach(struct req *r)
{
	struct mesh *m = r->node->mesh;
	char id[40] = "";
	if (verify_signed(r, "") != 0)
		return;
	if (http_query_str(r, "id", id, sizeof id) != 0 || !membership_valid_id(id)) {
		if (r->status == 0)
			http_reply_error(r, 400, "invalid_query", "parameter \"id\" must be a node id (UUID)");
		return;
	}
	char why[200];
	if (!reach_caller_ok(r, why, sizeof why)) {
		mesh_count_rejected(m);
		http_reply_error(r, 403, "not_a_member", "%s", why);
		return;
	}
	int wait = mesh_reach_pace(m, r->node->cfg.reach_per_min);
	if (wait > 0) {
		char hdr[64];
		snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", wait);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "error", "rate_limited");
		char d[160];
		snprintf(d, sizeof d, "more than reach_per_min (%d) indirect probes a minute", r->node->cfg.reach_per_min);
		cJSON_AddStringToObject(e, "detail", d);
		http_reply_json(r, 429, e, hdr);
		return;
	}
	struct https_result hr = {0};
	int timeout = r->node->cfg.poll_timeout_ms < 3000 ? r->node->cfg.poll_timeout_ms : 3000;
	int rc = mesh_reach(m, id, timeout, &hr);
	if (rc == MW_ELIMIT) {
		https_result_free(&hr);
		http_reply_error(r, 503, "busy", "already answering %d indirect probes", MESH_REACH_MAX_IN_FLIGHT);
		return;
	}
	if (rc == MW_ENOTFOUND) {
		https_result_free(&hr);
		http_reply_error(r, 404, "not_found", "no peer with id %s", id);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddBoolToObject(o, "reached", rc == 1); /* nothing else: no port states */
	https_result_free(&hr);
	reply_signed(r, 200, o);
}

/* Digits only, at most max: 0 and *out, or MW_EINVAL. */
static int
parse_bounded(const char *s, uint64_t max, uint64_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 20 || strspn(s, "0123456789") != n)
		return MW_EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return MW_EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Range-checks every number a caller sends in X-Mw-* headers (the port and
   incarnation of its identity, the digests and cursor of what it has); 0,
   or MW_EREPLIED after a 400 naming the header. */
static int
check_number_headers(struct req *r, int has_ident, const char *port, const char *inc, struct peer_news *who)
{
	uint64_t v;
	const char *bad = NULL, *want = NULL;
	if (has_ident && parse_bounded(port, 65535, &v) != 0) {
		bad = "X-Mw-Port";
		want = "a decimal number from 1 to 65535";
	} else if (has_ident && (v < 1)) {
		bad = "X-Mw-Port";
		want = "a decimal number from 1 to 65535";
	} else if (has_ident) {
		who->port = (int)v;
		if (parse_bounded(inc, MEMBERSHIP_INCARNATION_MAX, &v) != 0) {
			bad = "X-Mw-Incarnation";
			want = "a decimal number from 0 to 1000000000000";
		} else {
			who->incarnation = v;
		}
	}
	static const char *const digests[] = {"X-Mw-Peers-Digest", "X-Mw-View-Digest"};
	for (int i = 0; i < 2 && bad == NULL; i++) {
		const char *d = mg_get_header(r->conn, digests[i]);
		if (d && d[0] && (strlen(d) != 16 || strspn(d, "0123456789abcdef") != 16)) {
			bad = digests[i];
			want = "16 lowercase hex digits";
		}
	}
	const char *since = mg_get_header(r->conn, "X-Mw-Peers-Since");
	uint32_t ep;
	uint64_t ver;
	if (bad == NULL && since && since[0] && membership_parse_cursor(since, &ep, &ver) != 0) {
		bad = "X-Mw-Peers-Since";
		want = "a cursor \"epoch.version\" (8 hex digits, '.', a decimal number) as /nodeinfo gave it";
	}
	if (bad == NULL)
		return 0;
	struct mesh *m = r->node->mesh;
	mesh_count_rejected(m);
	http_reply_error(r, 400, "invalid_header", "header %s must be %s", bad, want);
	return MW_EREPLIED;
}

void
api_nodeinfo(struct req *r)
{
	struct node *n = r->node;
	struct mesh *m = n->mesh;
	struct peer_news who;
	memset(&who, 0, sizeof who);
	char port[16], inc[32];
	copy_header(r, "X-Mw-Id", who.id, sizeof who.id);
	copy_header(r, "X-Mw-Fqdn", who.fqdn, sizeof who.fqdn);
	copy_header(r, "X-Mw-Ip", who.ip, sizeof who.ip);
	copy_header(r, "X-Mw-Port", port, sizeof port);
	copy_header(r, "X-Mw-Incarnation", inc, sizeof inc);
	int has_ident = who.id[0] != '\0';
	who.port = atoi(port);
	who.incarnation = strtoull(inc, NULL, 10);
	who.state = PEER_ALIVE;

	char ident[512] = "";
	if (has_ident)
		gossip_identity_string(&who, ident, sizeof ident);
	if (verify_signed(r, ident) != 0)
		return;
	if (check_number_headers(r, has_ident, port, inc, &who) != 0)
		return;
	if (has_ident) {
		const char *bad = gossip_check_identity(&who, 0);
		if (bad == NULL && strcmp(who.id, n->id) == 0)
			bad = "the caller claims to be this node";
		if (bad) {
			mesh_count_rejected(m);
			http_reply_error(r, 400, "invalid_caller", "X-Mw-* identity headers: %s", bad);
			return;
		}
		/* the address it claims must be the one it calls from (or, with a
		   mesh secret, the signature vouches for the caller); else nothing
		   is believed until our own poll reaches it there (quarantine) */
		if (mw_ip_same(who.ip, r->client) || meshauth_enabled(mesh_auth(m)))
			membership_heard_from(mesh_membership(m), &who, mw_wall_s());
		else
			membership_heard_unverified(mesh_membership(m), &who, mw_wall_s());
	}
	char known[24], view[24], since[MEMBERSHIP_CURSOR_LEN + 8];
	copy_header(r, "X-Mw-Peers-Digest", known, sizeof known);
	copy_header(r, "X-Mw-View-Digest", view, sizeof view);
	copy_header(r, "X-Mw-Peers-Since", since, sizeof since);
	struct gossip_ask ask = {.known_digest = known, .view_digest = view, .since = since,
	    .page = n->cfg.nodeinfo_page_peers};
	/* a beat ticket, asked for: the digest first, never newer than the list */
	cJSON *beat = NULL;
	if (mg_get_header(r->conn, "X-Mw-Beat")) {
		beat = cJSON_CreateObject();
		mesh_beat_issue(m, beat);
	}
	cJSON *o = gossip_nodeinfo(n, mesh_membership(n->mesh), &ask);
	cJSON *b = cJSON_DetachItemFromObjectCaseSensitive(beat, "beat");
	if (o && b)
		cJSON_AddItemToObject(o, "beat", b);
	else
		cJSON_Delete(b);
	cJSON_Delete(beat);
	if (o) {
		char tdigest[24];
		copy_header(r, "X-Mw-Targets-Digest", tdigest, sizeof tdigest);
		meshtargets_nodeinfo(mesh_targets(m), o, r->mesh_signer, tdigest);
	}
	reply_signed(r, 200, o);
}

/* The overload rule as /api/nodes shows it. */
static cJSON *
api_overload_json(struct mesh *m)
{
	struct mesh_overload ov;
	mesh_get_overload(m, &ov);
	cJSON *o = cJSON_CreateObject();
	static const char *const src[] = {"none", "cgroup", "system", "file"};
	cJSON_AddBoolToObject(o, "enabled", ov.source != OVL_NONE);
	cJSON_AddStringToObject(o, "source", src[ov.source & 3]);
	if (ov.path[0])
		cJSON_AddStringToObject(o, "path", ov.path);
	else
		cJSON_AddNullToObject(o, "path");
	cJSON_AddStringToObject(o, "detail", ov.why);
	cJSON_AddNumberToObject(o, "threshold", ov.threshold);
	cJSON_AddNumberToObject(o, "excuse_max_s", ov.excuse_max_s);
	if (ov.pressure >= 0)
		cJSON_AddNumberToObject(o, "cpu_pressure", ov.pressure);
	else
		cJSON_AddNullToObject(o, "cpu_pressure");
	cJSON_AddBoolToObject(o, "overloaded", ov.overloaded);
	json_add_time_or_null(o, "since", ov.overloaded ? ov.since : 0);
	return o;
}

/* One Prometheus HTTP SD target group: the node at ip:port, scraped over
   HTTPS at /metrics, labelled with its name, id and role. */
static void
sd_add(cJSON *groups, const char *ip, int port, const char *fqdn, const char *id, const char *role)
{
	char addr[160];
	snprintf(addr, sizeof addr, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
	cJSON *g = cJSON_CreateObject();
	cJSON *t = cJSON_AddArrayToObject(g, "targets");
	cJSON_AddItemToArray(t, cJSON_CreateString(addr));
	cJSON *l = cJSON_AddObjectToObject(g, "labels");
	cJSON_AddStringToObject(l, "__scheme__", "https");
	cJSON_AddStringToObject(l, "__metrics_path__", "/metrics");
	cJSON_AddStringToObject(l, "fqdn", fqdn);
	cJSON_AddStringToObject(l, "node_id", id);
	cJSON_AddStringToObject(l, "role", role);
	cJSON_AddItemToArray(groups, g);
}

/* GET /api/prometheus/sd: Prometheus HTTP service discovery. Every node
   this node sees alive (itself first), so that one http_sd_configs entry
   scrapes the whole mesh and follows it as nodes come and go. Roles: a
   node is "reporting" when it has received reports (itself) or is one of
   this node's reporting servers (peers); else "node". */
void
api_prometheus_sd(struct req *r)
{
	struct node *n = r->node;
	int np = 0;
	struct peer *ps = n->mesh ? membership_snapshot(mesh_membership(n->mesh), &np) : NULL;
	if (n->mesh && ps == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	cJSON *groups = cJSON_CreateArray();
	sd_add(groups, n->ip, n->cfg.listen_port, n->fqdn, n->id,
	    store_report_origin_count(n->store) > 0 ? "reporting" : "node");
	for (int i = 0; i < np; i++) {
		const struct peer *p = &ps[i];
		if (p->id[0] == '\0' || p->quarantined || p->state != PEER_ALIVE)
			continue;
		sd_add(groups, p->ip, p->port, p->fqdn, p->id,
		    reporter_is_server(n->reporter, p->fqdn, p->ip, p->port) ? "reporting" : "node");
	}
	free(ps);
	http_reply_json(r, 200, groups, NULL);
}

void
api_nodes_list(struct req *r)
{
	int limit, offset;
	char state[16] = "", q[128] = "";
	if (http_query_int(r, "limit", 100, 1, 5000, &limit) || http_query_int(r, "offset", 0, 0, 1000000, &offset) ||
	    http_query_str(r, "state", state, sizeof state) == MW_EREPLIED || http_query_str(r, "q", q, sizeof q) == MW_EREPLIED)
		return;
	int want_state = -1;
	if (state[0] && (want_state = peer_state_parse(state)) < 0) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"state\" must be alive, suspect, dead or unknown");
		return;
	}
	int np = 0;
	struct peer *ps = membership_snapshot(mesh_membership(r->node->mesh), &np);
	if (ps == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	cJSON *seeds = cJSON_CreateArray();
	int total = 0, counts[PEER__STATES] = {0}, excused = 0, quarantined = 0;
	for (int i = 0; i < np; i++) {
		const struct peer *p = &ps[i];
		if (p->id[0] == '\0') {
			/* a seed not reached yet: not a node until it answers */
			cJSON_AddItemToArray(seeds, views_seed(p));
			continue;
		}
		if (p->quarantined)
			quarantined++; /* hearsay: left out of the state counts */
		else
			counts[p->state >= 0 && p->state < PEER__STATES ? p->state : PEER_UNKNOWN]++;
		excused += p->excused_since > 0;
		if (want_state >= 0 && p->state != want_state)
			continue;
		if (q[0] && strstr(p->fqdn, q) == NULL && strstr(p->ip, q) == NULL && strncmp(p->id, q, strlen(q)) != 0)
			continue;
		if (total++ < offset || cJSON_GetArraySize(items) >= limit)
			continue;
		cJSON_AddItemToArray(items, views_peer(p));
	}
	free(ps);
	cJSON_AddNumberToObject(o, "total", total);
	cJSON_AddNumberToObject(o, "limit", limit);
	cJSON_AddNumberToObject(o, "offset", offset);
	cJSON *c = cJSON_AddObjectToObject(o, "counts");
	cJSON_AddNumberToObject(c, "alive", counts[0]);
	cJSON_AddNumberToObject(c, "suspect", counts[1]);
	cJSON_AddNumberToObject(c, "dead", counts[2]);
	cJSON_AddNumberToObject(c, "unknown", counts[3]);
	cJSON_AddNumberToObject(c, "excused", excused);
	cJSON_AddNumberToObject(c, "quarantined", quarantined);
	cJSON_AddItemToObject(o, "pending_seeds", seeds);
	cJSON_AddItemToObject(o, "overload", api_overload_json(r->node->mesh));
	http_reply_json(r, 200, o, NULL);
}

static int
get_peer(struct req *r, struct peer *p)
{
	if (membership_get(mesh_membership(r->node->mesh), r->sid, p) != 0) {
		http_reply_error(r, 404, "not_found", "no peer with id %s", r->sid);
		return MW_EREPLIED;
	}
	return 0;
}

void
api_nodes_get(struct req *r)
{
	struct peer p;
	if (get_peer(r, &p) == 0)
		http_reply_json(r, 200, views_peer(&p), NULL);
}

void
api_nodes_delete(struct req *r)
{
	if (membership_forget(mesh_membership(r->node->mesh), r->sid) != 0) {
		http_reply_error(r, 404, "not_found", "no peer with id %s", r->sid);
		return;
	}
	store_peer_delete(r->node->store, r->sid);
	log_info("mesh", "peer %s forgotten by \"%s\" (it comes back if it is still in the mesh)", r->sid,
	    r->user.username);
	http_reply_raw(r, 204, "application/json", "", 0, NULL);
}

/* step: seconds, or a number with s, m, h or d. 0, or MW_EREPLIED after
   a 400. */
static int
query_step(struct req *r, int def, int *out)
{
	char buf[16];
	int rc = http_query_str(r, "step", buf, sizeof buf);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == MW_ENOTFOUND) {
		*out = def;
		return 0;
	}
	int64_t v;
	if (mw_parse_duration(buf, 1, 30 * 86400, &v) != 0) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"step\" must be like 60, 30s, 5m, 1h or 1d (at most 30d)");
		return MW_EREPLIED;
	}
	*out = (int)v;
	return 0;
}

void
api_nodes_history(struct req *r)
{
	struct peer p;
	if (get_peer(r, &p) != 0)
		return;
	int64_t now = mw_wall_s(), from, to;
	int step;
	if (http_query_time(r, "to", now, &to) || http_query_time(r, "from", to - 86400, &from))
		return;
	if (to <= from) {
		http_reply_error(r, 400, "invalid_query", "\"from\" must be before \"to\"");
		return;
	}
	int def = (int)((to - from) / 288);
	if (def < 1)
		def = 1;
	if (query_step(r, def, &step))
		return;
	if ((to - from) / step > 10000) {
		http_reply_error(r, 400, "too_many_points", "from..to / step gives %lld points; the limit is 10000",
		    (long long)((to - from) / step));
		return;
	}
	struct hist_row *rows = NULL;
	int n = 0;
	if (store_poll_history(r->node->store, r->sid, from, to, step, &rows, &n) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read the history from the database");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", r->sid);
	json_add_time(o, "from", from);
	json_add_time(o, "to", to);
	cJSON_AddNumberToObject(o, "step_s", step);
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		json_add_time(e, "t", rows[i].t);
		cJSON_AddNumberToObject(e, "polls", rows[i].polls);
		cJSON_AddNumberToObject(e, "ok", rows[i].ok);
		cJSON_AddNumberToObject(e, "excused", rows[i].excused);
		cJSON_AddNumberToObject(e, "success_rate", rows[i].polls ? (double)rows[i].ok / rows[i].polls : 0);
		json_add_num(e, "connect_ms", rows[i].connect_ms);
		json_add_num(e, "tls_ms", rows[i].tls_ms);
		json_add_num(e, "ttfb_ms", rows[i].ttfb_ms);
		json_add_num(e, "total_ms", rows[i].total_ms);
		json_add_num(e, "rtt_min_ms", rows[i].rtt_min_ms);
		json_add_num(e, "rtt_avg_ms", rows[i].rtt_avg_ms);
		json_add_num(e, "rtt_max_ms", rows[i].rtt_max_ms);
		json_add_num(e, "jitter_ms", rows[i].jitter_ms);
		if (rows[i].loss < 0)
			cJSON_AddNullToObject(e, "loss");
		else
			cJSON_AddNumberToObject(e, "loss", rows[i].loss);
		cJSON_AddItemToArray(items, e);
	}
	free(rows);
	http_reply_json(r, 200, o, NULL);
}

void
api_nodes_pmtu(struct req *r)
{
	struct peer p;
	if (get_peer(r, &p) != 0)
		return;
	int limit;
	if (http_query_int(r, "limit", 100, 1, 1000, &limit))
		return;
	struct pmtu_row *rows = NULL;
	int n = 0;
	if (store_pmtu_list(r->node->store, r->sid, limit, &rows, &n) != 0) {
		free(rows);
		http_reply_error(r, 503, "store_unavailable", "cannot read the PMTU history from the database");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", r->sid);
	cJSON *cur = cJSON_AddObjectToObject(o, "current");
	if (p.pmtu.value > 0) {
		cJSON_AddNumberToObject(cur, "value", p.pmtu.value);
		cJSON_AddStringToObject(cur, "method", p.pmtu.method);
		cJSON_AddNumberToObject(cur, "probes", p.pmtu.probes);
		cJSON_AddBoolToObject(cur, "black_hole", p.pmtu.black_hole);
		json_add_time(cur, "measured_at", p.pmtu.measured_at);
	}
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "value", rows[i].value);
		cJSON_AddStringToObject(e, "method", rows[i].method);
		cJSON_AddNumberToObject(e, "probes", rows[i].probes);
		cJSON_AddBoolToObject(e, "black_hole", rows[i].black_hole);
		json_add_time(e, "measured_at", rows[i].measured_at);
		cJSON_AddItemToArray(items, e);
	}
	free(rows);
	cJSON_AddNumberToObject(o, "total", n);
	http_reply_json(r, 200, o, NULL);
}
