/* api_inventory: the mesh inventory, GET /api/mesh/{hosts,targets,
   traffic,changes,inventory}: what every origin's reports said of its
   discovered hosts, TCP targets, traffic and discovery changes, with
   this node's own beside them. This node's own inventory takes the same
   path as a received one: its own snapshot (report_snapshot) is parsed
   by report_parse and stored under its own id, rebuilt by a read that
   finds it older than INVENTORY_SELF_REFRESH_MS (one reader rebuilds,
   the others read what is there). So the mesh view shows exactly what
   this node would report, and needs no second reader of the local
   tables. Runs on civetweb worker threads; state is in the store, but
   for the time of the last rebuild (under its own lock). */
#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshwatch/api.h"
#include "meshwatch/http.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/node.h"
#include "meshwatch/report.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#define LIST_DEFAULT 50

static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t self_built_ms;
static int self_warned; /* a broken own snapshot is said once, not every 2 s */
/* the last discovery change stored as this node's own (-1: none yet, so
   the first rebuilds start from the oldest kept) */
static int64_t self_changes = -1;

/* Rebuilds this node's own inventory when it is older than
   INVENTORY_SELF_REFRESH_MS; never waits for another reader's rebuild. */
static void
refresh_self(struct node *n)
{
	if (pthread_mutex_trylock(&self_lock) != 0)
		return;
	int64_t now_ms = mw_now_ms();
	if (self_built_ms && now_ms - self_built_ms < INVENTORY_SELF_REFRESH_MS) {
		pthread_mutex_unlock(&self_lock);
		return;
	}
	self_built_ms = now_ms;
	char *body = report_snapshot_since(n, 1, &self_changes);
	struct report rep;
	char why[400];
	int64_t now = mw_wall_s();
	if (body && report_parse(body, strlen(body), n->cfg.max_peers, now, &rep, why, sizeof why) == 0) {
		for (int i = 0; i < rep.nignored && !self_warned; i++)
			log_warn("report", "this node's own %s summary is malformed (%s): left out of the mesh inventory",
			    report_part_name(rep.ignored[i].part), rep.ignored[i].reason);
		self_warned |= rep.nignored > 0;
		if (store_inventory_set_self(n->store, n->id, n->cfg.report_interval_s, &rep.inv, now) != 0)
			log_warn("report", "cannot store this node's own inventory");
		report_free(&rep);
	} else if (body && !self_warned) {
		log_warn("report", "this node's own snapshot does not parse: %s", why);
		self_warned = 1;
	}
	free(body);
	pthread_mutex_unlock(&self_lock);
}

static int
is_self(const struct node *n, const struct inv_src *s)
{
	return strcmp(s->id, n->id) == 0;
}

/* Fresh: this node, or an origin whose last report is within three of
   its report intervals (the matrix's rule). An inventory whose origin is
   no longer stored is stale. */
static int
src_stale(const struct node *n, const struct inv_src *s, int64_t now)
{
	if (is_self(n, s))
		return 0;
	if (s->interval_s <= 0)
		return 1;
	return now - s->received_at > 3 * (int64_t)s->interval_s;
}

static void
add_src(cJSON *o, const struct node *n, const struct inv_src *s, int64_t now)
{
	cJSON_AddStringToObject(o, "origin_id", s->id);
	cJSON_AddStringToObject(o, "origin_fqdn", is_self(n, s) ? n->fqdn : s->fqdn);
	cJSON_AddBoolToObject(o, "self", is_self(n, s));
	int64_t last = is_self(n, s) ? s->updated_at : s->received_at;
	json_add_time_or_null(o, "last_report", last);
	cJSON_AddBoolToObject(o, "stale", src_stale(n, s, now));
}

/* Characters an origin id or name may have. */
static int
name_ok(const char *s)
{
	if (s[0] == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		        *s == '.' || *s == '_'))
			return 0;
	return 1;
}

/* The origin filter: "" when absent; the id of the origin named by id or
   fqdn; MW_ENOTFOUND for a well-formed name no origin has; MW_EREPLIED
   after a 400. */
static int
query_origin(struct req *r, char id[37])
{
	char name[MW_NAME_MAX];
	id[0] = '\0';
	int rc = http_query_str(r, "origin", name, sizeof name);
	if (rc == MW_EREPLIED)
		return rc;
	if (rc == MW_ENOTFOUND)
		return 0;
	if (!name_ok(name)) {
		http_reply_error(r, 400, "invalid_query",
		    "query parameter \"origin\" must be a node id or fqdn (letters, digits, '-', '.', '_')");
		return MW_EREPLIED;
	}
	struct node *n = r->node;
	if (strcmp(name, n->id) == 0 || strcasecmp(name, n->fqdn) == 0) {
		snprintf(id, 37, "%s", n->id);
		return 0;
	}
	rc = store_inventory_origin_id(n->store, name, id);
	if (rc == MW_EDB) {
		http_reply_error(r, 503, "store_unavailable", "cannot read origins from the database");
		return MW_EREPLIED;
	}
	return rc;
}

/* A text filter of at most len - 1 bytes without control characters; ""
   when absent. MW_EREPLIED after a 400. */
static int
query_text(struct req *r, const char *key, char *out, size_t len)
{
	int rc = http_query_str(r, key, out, len);
	if (rc == MW_EREPLIED)
		return rc;
	if (rc == MW_ENOTFOUND) {
		out[0] = '\0';
		return 0;
	}
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20) {
			http_reply_error(r, 400, "invalid_query", "query parameter \"%s\" holds a control character", key);
			return MW_EREPLIED;
		}
	return 0;
}

/* limit, offset, origin: the common part of every list. 1 when the
   origin named is unknown (the answer is an empty page), 0 to go on,
   MW_EREPLIED after a 400. */
static int
common(struct req *r, int *limit, int *offset, char origin[37])
{
	if (http_query_int(r, "limit", LIST_DEFAULT, 1, API_LIST_MAX, limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, offset))
		return MW_EREPLIED;
	int rc = query_origin(r, origin);
	if (rc == MW_EREPLIED)
		return rc;
	refresh_self(r->node);
	if (rc == MW_ENOTFOUND) {
		http_reply_collection(r, cJSON_CreateArray(), 0, *limit, *offset);
		return 1;
	}
	return 0;
}

/* {"items", "total", "limit", "offset"} as http_reply_collection makes
   it, for an answer that adds fields of its own. */
static cJSON *
collection(cJSON *items, int total, int limit, int offset)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "items", items);
	cJSON_AddNumberToObject(o, "total", total);
	cJSON_AddNumberToObject(o, "limit", limit);
	cJSON_AddNumberToObject(o, "offset", offset);
	return o;
}

static cJSON *
services_json(const struct inv_service *svc, int n)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *v = cJSON_CreateObject();
		cJSON_AddNumberToObject(v, "port", svc[i].port);
		cJSON_AddStringToObject(v, "proto", svc[i].proto);
		cJSON_AddStringToObject(v, "service", svc[i].service);
		cJSON_AddStringToObject(v, "confidence", svc[i].confidence);
		cJSON_AddItemToArray(a, v);
	}
	return a;
}

/* One item of /api/mesh/hosts from rows[0..k-1], the rows of one address
   (newest sighting first). */
static cJSON *
host_item(const struct node *n, const struct inv_host *rows, int k, int cut, int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	const struct inv_host *h = &rows[0];
	cJSON_AddStringToObject(o, "ip", h->ip);
	/* names from the newest sighting that has one */
	const char *hostname = "", *mac = "", *vendor = "";
	int64_t first = h->first_seen, last = h->last_seen;
	int fresh = 0, up = 0;
	for (int i = 0; i < k; i++) {
		if (!hostname[0])
			hostname = rows[i].hostname;
		if (!mac[0])
			mac = rows[i].mac;
		if (!vendor[0])
			vendor = rows[i].vendor;
		if (rows[i].first_seen < first)
			first = rows[i].first_seen;
		if (rows[i].last_seen > last)
			last = rows[i].last_seen;
		if (!src_stale(n, &rows[i].src, now)) {
			fresh = 1;
			up |= !rows[i].gone;
		}
	}
	cJSON_AddStringToObject(o, "hostname", hostname);
	cJSON_AddStringToObject(o, "mac", mac);
	cJSON_AddStringToObject(o, "vendor", vendor);
	/* up when a fresh origin sees it up; gone when fresh origins all see it gone */
	cJSON_AddStringToObject(o, "state", up ? "up" : fresh ? "gone" : "unknown");
	/* the union of the services every origin saw, by port and protocol */
	struct inv_service seen[REPORT_MAX_SERVICES * 4];
	int ns = 0;
	for (int i = 0; i < k; i++)
		for (int j = 0; j < rows[i].nsvc; j++) {
			const struct inv_service *v = &rows[i].svc[j];
			int dup = 0;
			for (int m = 0; m < ns && !dup; m++)
				dup = seen[m].port == v->port && strcmp(seen[m].proto, v->proto) == 0;
			if (!dup && ns < (int)MW_ARRAY_LEN(seen))
				seen[ns++] = *v;
		}
	cJSON_AddItemToObject(o, "services", services_json(seen, ns));
	json_add_time_or_null(o, "first_seen", first);
	json_add_time_or_null(o, "last_seen", last);
	cJSON_AddBoolToObject(o, "stale", !fresh);
	cJSON *by = cJSON_AddArrayToObject(o, "seen_by");
	for (int i = 0; i < k; i++) {
		cJSON *e = cJSON_CreateObject();
		add_src(e, n, &rows[i].src, now);
		cJSON_AddStringToObject(e, "state", rows[i].gone ? "gone" : "up");
		json_add_time_or_null(e, "first_seen", rows[i].first_seen);
		json_add_time_or_null(e, "last_seen", rows[i].last_seen);
		cJSON_AddItemToObject(e, "services", services_json(rows[i].svc, rows[i].nsvc));
		cJSON_AddItemToArray(by, e);
	}
	cJSON_AddBoolToObject(o, "seen_by_truncated", cut);
	return o;
}

void
api_mesh_hosts(struct req *r)
{
	int limit, offset, n = 0, total = 0, cut = 0;
	char origin[37], q[128], service[64];
	if (query_text(r, "q", q, sizeof q) || query_text(r, "service", service, sizeof service))
		return;
	if (common(r, &limit, &offset, origin))
		return;
	struct inv_host *rows = NULL;
	if (store_inventory_hosts(r->node->store, origin, q, service, limit, offset, &rows, &n, &total, &cut) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read the mesh inventory from the database");
		return;
	}
	int64_t now = mw_wall_s();
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n;) {
		int k = 1;
		while (i + k < n && strcmp(rows[i + k].ip, rows[i].ip) == 0)
			k++;
		/* the last address of a cut read may have lost rows */
		cJSON_AddItemToArray(items, host_item(r->node, &rows[i], k, cut && i + k == n, now));
		i += k;
	}
	store_inventory_hosts_free(rows, n);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_mesh_targets(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	char origin[37], q[128];
	if (query_text(r, "q", q, sizeof q) || common(r, &limit, &offset, origin))
		return;
	struct inv_target *rows = NULL;
	if (store_inventory_targets(r->node->store, origin, q, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read the mesh inventory from the database");
		return;
	}
	int64_t now = mw_wall_s();
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		const struct inv_target *t = &rows[i];
		cJSON *e = cJSON_CreateObject();
		add_src(e, r->node, &t->src, now);
		cJSON_AddNumberToObject(e, "id", (double)t->id);
		cJSON_AddStringToObject(e, "name", t->name);
		cJSON_AddStringToObject(e, "host", t->host);
		cJSON_AddNumberToObject(e, "port", t->port);
		cJSON_AddStringToObject(e, "state", t->state);
		if (t->success_ratio >= 0)
			cJSON_AddNumberToObject(e, "success_ratio", t->success_ratio);
		else
			cJSON_AddNullToObject(e, "success_ratio");
		json_add_time_or_null(e, "last_check", t->last_check);
		cJSON_AddItemToArray(items, e);
	}
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_mesh_traffic(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	char origin[37];
	if (common(r, &limit, &offset, origin))
		return;
	struct node *node = r->node;
	int64_t now = mw_wall_s();
	struct inv_traffic *rows = NULL;
	struct inv_traffic_totals tot;
	if (store_inventory_traffic(node->store, origin, limit, offset, &rows, &n, &total) != 0 ||
	    store_inventory_traffic_totals(node->store, origin, node->id, now, &tot) != 0) {
		free(rows);
		http_reply_error(r, 503, "store_unavailable", "cannot read the mesh inventory from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		const struct inv_traffic *t = &rows[i];
		cJSON *e = cJSON_CreateObject();
		add_src(e, node, &t->src, now);
		cJSON_AddStringToObject(e, "state", t->state);
		json_add_time_or_null(e, "time", t->t);
		json_add_time(e, "generated_at", t->generated_at);
		/* how old the newest second is here, by the report that carried it */
		cJSON_AddNumberToObject(e, "age_s", (double)(now - t->generated_at));
		cJSON_AddNumberToObject(e, "pps", t->pps);
		cJSON_AddNumberToObject(e, "bps", t->bps);
		json_add_u64(e, "packets", t->packets);
		json_add_u64(e, "bytes", t->bytes);
		json_add_u64(e, "drops", t->drops);
		cJSON *bp = cJSON_AddObjectToObject(e, "by_proto");
		for (int k = 0; k < t->nproto; k++)
			json_add_u64(bp, t->proto[k].name, t->proto[k].bytes);
		json_add_u64(e, "packets_total", t->packets_total);
		json_add_u64(e, "bytes_total", t->bytes_total);
		json_add_u64(e, "drops_total", t->drops_total);
		cJSON_AddNumberToObject(e, "flows", t->flows);
		cJSON *top = cJSON_AddArrayToObject(e, "top_talkers");
		for (int k = 0; k < t->ntalkers; k++) {
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "ip", t->talkers[k].ip);
			json_add_u64(x, "bytes", t->talkers[k].bytes);
			json_add_u64(x, "packets", t->talkers[k].packets);
			cJSON_AddItemToArray(top, x);
		}
		cJSON_AddItemToArray(items, e);
	}
	free(rows);
	cJSON *o = collection(items, total, limit, offset);
	cJSON *m = cJSON_AddObjectToObject(o, "totals");
	cJSON_AddNumberToObject(m, "origins", tot.origins);
	cJSON_AddNumberToObject(m, "fresh_origins", tot.fresh);
	cJSON_AddNumberToObject(m, "pps", tot.pps);
	cJSON_AddNumberToObject(m, "bps", tot.bps);
	json_add_u64(m, "packets_total", tot.packets_total);
	json_add_u64(m, "bytes_total", tot.bytes_total);
	json_add_u64(m, "drops_total", tot.drops_total);
	http_reply_json(r, 200, o, NULL);
}

void
api_mesh_changes(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	char origin[37], q[128], kind[16];
	if (query_text(r, "q", q, sizeof q) || query_text(r, "kind", kind, sizeof kind) ||
	    common(r, &limit, &offset, origin))
		return;
	struct inv_change *rows = NULL;
	if (store_inventory_changes(r->node->store, origin, q, kind, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read the mesh inventory from the database");
		return;
	}
	int64_t now = mw_wall_s();
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		const struct inv_change *c = &rows[i];
		cJSON *e = cJSON_CreateObject();
		add_src(e, r->node, &c->src, now);
		json_add_time(e, "time", c->t);
		cJSON_AddStringToObject(e, "ip", c->ip);
		cJSON_AddStringToObject(e, "kind", c->kind);
		if (c->port > 0)
			cJSON_AddNumberToObject(e, "port", c->port);
		else
			cJSON_AddNullToObject(e, "port");
		cJSON_AddStringToObject(e, "detail", c->detail);
		cJSON_AddItemToArray(items, e);
	}
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_mesh_inventory(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	if (http_query_int(r, "limit", LIST_DEFAULT, 1, API_LIST_MAX, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset))
		return;
	refresh_self(r->node);
	struct inv_origin_count *rows = NULL;
	if (store_inventory_origins(r->node->store, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read the mesh inventory from the database");
		return;
	}
	int64_t now = mw_wall_s();
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		add_src(e, r->node, &rows[i].src, now);
		cJSON_AddNumberToObject(e, "hosts", rows[i].hosts);
		cJSON_AddNumberToObject(e, "targets", rows[i].targets);
		cJSON_AddNumberToObject(e, "changes", rows[i].changes);
		cJSON_AddBoolToObject(e, "traffic", rows[i].traffic > 0);
		cJSON_AddItemToArray(items, e);
	}
	free(rows);
	cJSON *o = collection(items, total, limit, offset);
	uint64_t ig[REPORT_PARTS];
	report_inventory_ignored_counts(ig);
	cJSON *g = cJSON_AddObjectToObject(o, "ignored_parts");
	for (int i = 0; i < REPORT_PARTS; i++)
		json_add_u64(g, report_part_name(i), ig[i]);
	cJSON *lim = cJSON_AddObjectToObject(o, "limits");
	cJSON_AddNumberToObject(lim, "hosts_per_origin", INVENTORY_MAX_HOSTS);
	cJSON_AddNumberToObject(lim, "changes_per_origin", INVENTORY_MAX_CHANGES);
	cJSON_AddNumberToObject(lim, "targets_per_report", REPORT_MAX_TARGETS);
	cJSON_AddNumberToObject(lim, "hosts_per_report", REPORT_MAX_HOSTS);
	cJSON_AddNumberToObject(lim, "changes_per_report", REPORT_MAX_CHANGES);
	cJSON_AddNumberToObject(lim, "services_per_host", REPORT_MAX_SERVICES);
	http_reply_json(r, 200, o, NULL);
}
