/* api_report: POST /report (snapshots in) and the mesh matrix built from
   this node's own polls plus the latest report of every origin. A report
   is taken only from the node it is about (the signer under a mesh secret,
   else a member polled successfully, at its own address); origins, their cells and one
   matrix answer are bounded (max_origins, max_peers + 1, a page of origins
   cut short by bytes and time). Runs on civetweb worker threads; all
   state is in the store and the membership. */
#include <arpa/inet.h>
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "meshwatch/api.h"
#include "meshwatch/gossip.h"
#include "meshwatch/http.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/node.h"
#include "meshwatch/report.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

static void
hdr(struct req *r, const char *name, char *out, size_t outlen)
{
	const char *v = mg_get_header(r->conn, name);
	snprintf(out, outlen, "%s", v ? v : "");
}

static void
reply_signed(struct req *r, int status, cJSON *o, const char *nonce)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	char h[160] = "";
	struct mesh *m = r->node->mesh;
	if (meshauth_enabled(mesh_auth(m)) && nonce) {
		char sig[MESHAUTH_SIG_LEN + 1];
		meshauth_sign_response(mesh_auth(m), nonce, status, text, strlen(text), sig);
		snprintf(h, sizeof h, "X-Mw-Signature: %s\r\n", sig);
	}
	http_reply_raw(r, status, "application/json", text, strlen(text), h);
	free(text);
}

/* Who may report as origin o. Under a mesh secret: the node the verified
   signature names, and only as itself (a node outside the peer table may
   report). Without one: only a member this node has polled successfully
   (whatever its state now, not one only heard of), connecting from that
   member's address.
   0, or MW_EAUTH with a sentence in why. */
static int
report_sender_check(struct req *r, const char *signer, const struct report_origin *o, char *why, size_t whylen)
{
	struct mesh *m = r->node->mesh;
	if (meshauth_enabled(mesh_auth(m))) {
		if (strcmp(signer, o->id) == 0)
			return 0;
		snprintf(why, whylen, "\"origin.id\" %s is not the signing node (%s): a node reports only as itself", o->id,
		    signer[0] ? signer : "no X-Mw-Id");
		return MW_EAUTH;
	}
	struct peer p;
	if (membership_get(mesh_membership(m), o->id, &p) != 0 || p.last_ok <= 0) {
		snprintf(why, whylen, "\"origin.id\" %s is not a member this node has polled (without a mesh secret only members report)",
		    o->id);
		return MW_EAUTH;
	}
	if (!mw_ip_same_host(r->client, p.ip)) {
		snprintf(why, whylen, "the report for member %.36s comes from %.63s, not from the member's address %.63s", o->id, r->client,
		    p.ip);
		return MW_EAUTH;
	}
	return 0;
}

void
api_report(struct req *r)
{
	struct node *n = r->node;
	struct mesh *m = n->mesh;
	const char *body = r->raw_body ? r->raw_body : "";
	size_t blen = r->raw_len;
	const char *nonce = mg_get_header(r->conn, "X-Mw-Nonce");
	char signer[37] = ""; /* the identity the verified signature was made for */
	if (meshauth_enabled(mesh_auth(m))) {
		struct peer_news who = {0};
		char port[16], inc[32], ident[512] = "", why[200];
		hdr(r, "X-Mw-Id", who.id, sizeof who.id);
		hdr(r, "X-Mw-Fqdn", who.fqdn, sizeof who.fqdn);
		hdr(r, "X-Mw-Ip", who.ip, sizeof who.ip);
		hdr(r, "X-Mw-Port", port, sizeof port);
		hdr(r, "X-Mw-Incarnation", inc, sizeof inc);
		who.port = atoi(port);
		who.incarnation = strtoull(inc, NULL, 10);
		if (who.id[0])
			gossip_identity_string(&who, ident, sizeof ident);
		int rc = meshauth_verify_request(mesh_auth(m), "POST", "/report", ident, "", mg_get_header(r->conn, "X-Mw-Timestamp"),
		    nonce, mg_get_header(r->conn, "X-Mw-Signature"), body, blen, mw_wall_s(), why, sizeof why);
		if (rc != 0) {
			log_warn("report", "report from %s refused: %s", r->client, why);
			http_reply_error(r, rc == MW_ELIMIT ? 503 : 401, rc == MW_ELIMIT ? "busy" : "bad_signature", "%s", why);
			return;
		}
		snprintf(signer, sizeof signer, "%s", who.id);
	}
	if (blen == 0) {
		http_reply_error(r, 400, "invalid_body", "a report needs a JSON body");
		return;
	}
	struct report rep;
	char why[400];
	int rc = report_parse(body, blen, n->cfg.max_peers, mw_wall_s(), &rep, why, sizeof why);
	if (rc != 0) {
		log_warn("report", "report from %s rejected: %s", r->client, why);
		http_reply_error(r, rc == MW_ETOOBIG ? 413 : 400, rc == MW_ETOOBIG ? "report_too_large" : "invalid_report", "%s",
		    why);
		return;
	}
	if (strcmp(rep.origin.id, n->id) == 0) {
		report_free(&rep);
		http_reply_error(r, 400, "invalid_report", "\"origin.id\" is this node's own id");
		return;
	}
	if (report_sender_check(r, signer, &rep.origin, why, sizeof why) != 0) {
		log_warn("report", "report from %s refused: %s", r->client, why);
		report_free(&rep);
		http_reply_error(r, 403, "not_a_member", "%s", why);
		return;
	}
	/* a malformed inventory part is left out; the cells are the matrix */
	for (int i = 0; i < rep.nignored; i++)
		log_warn("report", "report %lld from %s (%s): %s part ignored: %s", (long long)rep.origin.last_seq, rep.origin.id,
		    rep.origin.fqdn, report_part_name(rep.ignored[i].part), rep.ignored[i].reason);
	rc = store_report_insert_inventory(n->store, &rep.origin, rep.cells, rep.ncells, &rep.inv, n->cfg.max_origins,
	    n->cfg.max_peers + 1, mw_wall_s());
	int64_t seq = rep.origin.last_seq;
	cJSON *ignored = cJSON_CreateArray();
	for (int i = 0; i < rep.nignored; i++) {
		cJSON *g = cJSON_CreateObject();
		cJSON_AddStringToObject(g, "part", report_part_name(rep.ignored[i].part));
		cJSON_AddStringToObject(g, "reason", rep.ignored[i].reason);
		cJSON_AddItemToArray(ignored, g);
	}
	report_free(&rep);
	if (rc != 0 && rc != MW_EEXIST)
		cJSON_Delete(ignored);
	if (rc == MW_ETOOBIG) {
		log_warn("report", "report from %s refused: max_origins (%d) origins, none of them stale", r->client,
		    n->cfg.max_origins);
		http_reply_error(r, 507, "too_many_origins",
		    "this node keeps max_origins (%d) reporting origins and none is stale enough to replace", n->cfg.max_origins);
		return;
	}
	if (rc != 0 && rc != MW_EEXIST) {
		http_reply_error(r, 503, "store_unavailable", "cannot store the report: the database refused the write");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "accepted_seq", (double)seq);
	cJSON_AddBoolToObject(o, "duplicate", rc == MW_EEXIST);
	/* the parts left out, each with its reason ([] when none) */
	cJSON_AddItemToObject(o, "ignored", ignored);
	reply_signed(r, 202, o, nonce);
}

/* nodes: a set of ids with their names, first come first kept; a hash
   table of ids (open addressing, kept at most half full). */
struct nodeset {
	cJSON *arr;
	char (*ids)[37];
	int n, cap;
	size_t bytes;              /* about what the listed nodes add to the answer */
};

static void
nodeset_add(struct nodeset *s, const char *id, const char *fqdn, const char *ip, const char *state)
{
	if (2 * (s->n + 1) > s->cap) {
		int nc = s->cap ? s->cap * 2 : 256;
		char(*ni)[37] = calloc((size_t)nc, sizeof *ni);
		if (ni == NULL)
			return;
		for (int i = 0; i < s->cap; i++) {
			if (s->ids[i][0] == '\0')
				continue;
			size_t h = (size_t)XXH3_64bits(s->ids[i], strlen(s->ids[i])) & (size_t)(nc - 1);
			while (ni[h][0])
				h = (h + 1) & (size_t)(nc - 1);
			memcpy(ni[h], s->ids[i], 37);
		}
		free(s->ids);
		s->ids = ni;
		s->cap = nc;
	}
	size_t h = (size_t)XXH3_64bits(id, strlen(id)) & (size_t)(s->cap - 1);
	for (; s->ids[h][0]; h = (h + 1) & (size_t)(s->cap - 1))
		if (strcmp(s->ids[h], id) == 0)
			return;
	snprintf(s->ids[h], 37, "%s", id);
	s->n++;
	s->bytes += 80 + strlen(id) + strlen(fqdn) + strlen(ip);
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "id", id);
	cJSON_AddStringToObject(e, "fqdn", fqdn);
	cJSON_AddStringToObject(e, "ip", ip);
	if (state)
		cJSON_AddStringToObject(e, "state", state);
	else
		cJSON_AddNullToObject(e, "state");
	cJSON_AddItemToArray(s->arr, e);
}

#define MATRIX_DEFAULT_LIMIT 256
#define CELL_BYTES 150 /* about what one cell adds to the answer */

void
api_mesh_matrix(struct req *r)
{
	struct node *n = r->node;
	int64_t now = mw_wall_s(), t0 = mw_now_ms();
	int limit, offset;
	if (http_query_int(r, "limit", MATRIX_DEFAULT_LIMIT, 1, MATRIX_MAX_LIMIT, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset))
		return;
	int total = store_report_origin_count(n->store);
	if (total < 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read reports from the database");
		return;
	}
	total += 1; /* this node's own row comes first */
	cJSON *o = cJSON_CreateObject();
	struct nodeset ns = {.arr = cJSON_AddArrayToObject(o, "nodes")};
	cJSON *cells = cJSON_AddArrayToObject(o, "cells");
	cJSON *origins = cJSON_AddArrayToObject(o, "origins");
	size_t bytes = 0;
	int next = offset, listed = 0;

	/* this node's own row, first-hand */
	nodeset_add(&ns, n->id, n->fqdn, n->ip, "alive");
	if (offset == 0) {
		int np = 0;
		struct peer *ps = membership_snapshot(mesh_membership(n->mesh), &np);
		for (int i = 0; ps && i < np; i++) {
			const struct peer *p = &ps[i];
			if (p->id[0] == '\0')
				continue;
			nodeset_add(&ns, p->id, p->fqdn, p->ip, peer_state_name(p->state));
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "from", n->id);
			cJSON_AddStringToObject(c, "to", p->id);
			cJSON_AddStringToObject(c, "state", peer_state_name(p->state));
			json_add_num(c, "rtt_ms", p->last.udp_received > 0 ? p->last.rtt_avg_ms : -1);
			json_add_num(c, "loss", p->last.udp_sent > 0 ? 1.0 - (double)p->last.udp_received / p->last.udp_sent : -1);
			if (p->pmtu.value > 0)
				cJSON_AddNumberToObject(c, "pmtu", p->pmtu.value);
			else
				cJSON_AddNullToObject(c, "pmtu");
			json_add_num(c, "age_s", p->last_poll > 0 ? (double)(now - p->last_poll) : -1);
			cJSON_AddItemToArray(cells, c);
			bytes += CELL_BYTES;
		}
		free(ps);
		cJSON *self = cJSON_CreateObject();
		cJSON_AddStringToObject(self, "id", n->id);
		cJSON_AddStringToObject(self, "fqdn", n->fqdn);
		json_add_time(self, "last_report", now);
		cJSON_AddNullToObject(self, "seq");
		cJSON_AddBoolToObject(self, "stale", 0);
		cJSON_AddBoolToObject(self, "self", 1);
		cJSON_AddItemToArray(origins, self);
		next = 1;
		listed = 1;
	}

	/* everyone else's rows from their latest reports, an origin at a time
	   until the page, the byte or the time bound is reached */
	int stored_off = next - 1, truncated = 0;
	struct report_origin *ors = NULL;
	int no = 0;
	int want = limit - listed;
	if (want > 0 && stored_off < total - 1 && store_report_origins(n->store, stored_off, want, &ors, &no) != 0) {
		free(ns.ids);
		cJSON_Delete(o);
		http_reply_error(r, 503, "store_unavailable", "cannot read reports from the database");
		return;
	}
	for (int i = 0; i < no; i++) {
		if (listed > 0 && (bytes + ns.bytes >= MATRIX_MAX_BYTES || mw_now_ms() - t0 >= MATRIX_MAX_MS)) {
			truncated = 1;
			break;
		}
		const struct report_origin *g = &ors[i];
		next++;
		if (strcmp(g->id, n->id) == 0)
			continue;
		listed++;
		nodeset_add(&ns, g->id, g->fqdn, g->ip, NULL);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", g->id);
		cJSON_AddStringToObject(e, "fqdn", g->fqdn);
		json_add_time(e, "last_report", g->received_at);
		json_add_time(e, "generated_at", g->generated_at);
		cJSON_AddNumberToObject(e, "seq", (double)g->last_seq);
		cJSON_AddNumberToObject(e, "reports", g->reports);
		cJSON_AddNumberToObject(e, "interval_s", g->interval_s);
		cJSON_AddNumberToObject(e, "age_s", (double)(now - g->received_at));
		/* an origin that misses three report intervals is stale */
		cJSON_AddBoolToObject(e, "stale", now - g->received_at > 3 * (int64_t)g->interval_s);
		cJSON_AddBoolToObject(e, "self", 0);
		cJSON_AddItemToArray(origins, e);
		bytes += 300;
		struct report_cell *cr = NULL;
		int nc = 0;
		if (store_report_latest(n->store, g->id, n->cfg.max_peers + 1, &cr, &nc) != 0)
			nc = 0;
		for (int k = 0; k < nc; k++) {
			const struct report_cell *x = &cr[k];
			nodeset_add(&ns, x->peer, x->fqdn, x->ip, NULL);
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "from", g->id);
			cJSON_AddStringToObject(c, "to", x->peer);
			cJSON_AddStringToObject(c, "state", peer_state_name(x->state));
			json_add_num(c, "rtt_ms", x->rtt_ms);
			json_add_num(c, "loss", x->loss);
			if (x->pmtu > 0)
				cJSON_AddNumberToObject(c, "pmtu", x->pmtu);
			else
				cJSON_AddNullToObject(c, "pmtu");
			cJSON_AddNumberToObject(c, "age_s", (double)(now - x->t));
			cJSON_AddItemToArray(cells, c);
			bytes += CELL_BYTES;
		}
		free(cr);
	}
	free(ors);
	free(ns.ids);
	cJSON_AddNumberToObject(o, "total_origins", total);
	cJSON_AddNumberToObject(o, "offset", offset);
	cJSON_AddNumberToObject(o, "limit", limit);
	cJSON_AddBoolToObject(o, "truncated", truncated);
	if (next < total)
		cJSON_AddNumberToObject(o, "next_offset", next);
	else
		cJSON_AddNullToObject(o, "next_offset");
	json_add_time(o, "generated_at", now);
	http_reply_json(r, 200, o, NULL);
}

static int
query_id(struct req *r, const char *name, char out[37])
{
	int rc = http_query_str(r, name, out, 37);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == MW_ENOTFOUND || !membership_valid_id(out)) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"%s\" must be a node id (a lowercase UUID)", name);
		return MW_EREPLIED;
	}
	return 0;
}

void
api_mesh_history(struct req *r)
{
	char from_id[37], to_id[37];
	int64_t now = mw_wall_s(), from, to;
	if (query_id(r, "from_id", from_id) || query_id(r, "to_id", to_id) || http_query_time(r, "to", now, &to) ||
	    http_query_time(r, "from", to - 86400, &from))
		return;
	if (to <= from) {
		http_reply_error(r, 400, "invalid_query", "\"from\" must be before \"to\"");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "from_id", from_id);
	cJSON_AddStringToObject(o, "to_id", to_id);
	json_add_time(o, "from", from);
	json_add_time(o, "to", to);
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	if (strcmp(from_id, r->node->id) == 0) {
		/* our own row: from our poll history */
		struct hist_row *rows = NULL;
		int n = 0;
		int step = (int)((to - from) / 288);
		if (step < 60)
			step = 60;
		if (store_poll_history(r->node->store, to_id, from, to, step, &rows, &n) == 0) {
			for (int i = 0; i < n; i++) {
				cJSON *e = cJSON_CreateObject();
				json_add_time(e, "t", rows[i].t);
				cJSON_AddStringToObject(e, "state", rows[i].ok == rows[i].polls ? "alive" : (rows[i].ok ? "suspect" : "dead"));
				json_add_num(e, "rtt_ms", rows[i].rtt_avg_ms);
				json_add_num(e, "loss", rows[i].loss);
				json_add_num(e, "total_ms", rows[i].total_ms);
				cJSON_AddNumberToObject(e, "success_rate", rows[i].polls ? (double)rows[i].ok / rows[i].polls : 0);
				cJSON_AddItemToArray(items, e);
			}
		}
		free(rows);
	} else {
		struct report_cell *cs = NULL;
		int n = 0;
		if (store_report_history(r->node->store, from_id, to_id, from, to, &cs, &n) != 0) {
			cJSON_Delete(o);
			http_reply_error(r, 503, "store_unavailable", "cannot read the history from the database");
			return;
		}
		for (int i = 0; i < n; i++) {
			cJSON *e = cJSON_CreateObject();
			json_add_time(e, "t", cs[i].t);
			cJSON_AddStringToObject(e, "state", peer_state_name(cs[i].state));
			json_add_num(e, "rtt_ms", cs[i].rtt_ms);
			json_add_num(e, "loss", cs[i].loss);
			json_add_num(e, "total_ms", cs[i].total_ms);
			if (cs[i].pmtu > 0)
				cJSON_AddNumberToObject(e, "pmtu", cs[i].pmtu);
			else
				cJSON_AddNullToObject(e, "pmtu");
			cJSON_AddItemToArray(items, e);
		}
		free(cs);
	}
	cJSON_AddNumberToObject(o, "total", cJSON_GetArraySize(items));
	http_reply_json(r, 200, o, NULL);
}
