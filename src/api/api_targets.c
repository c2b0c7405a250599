/* api_targets: /api/targets (CRUD, search, filters), its history with
   grouped buckets, and the checker's own figures (/api/targets/stats).
   Every field is validated here, with a 400 that names it; the store only
   ever sees valid rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/http.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/meshtargets.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/targets.h"
#include "meshwatch/util.h"

#include "views.h"

#define LIST_DEFAULT 50

static int own_mesh_count(struct req *r);

static const char *const known_fields[] = {"name", "host", "port", "interval_s", "timeout_s", "retention_period",
    "retention_unit", "enabled", "mesh", "vantage"};

static int
bad(struct req *r, const char *field, const char *why)
{
	http_reply_error(r, 400, "invalid_field", "field \"%s\" %s", field, why);
	return MW_EREPLIED;
}

/* An integer field within [min, max]. 1 when absent, 0 when set,
   MW_EREPLIED after replying 400. */
static int
int_field(struct req *r, const char *key, long min, long max, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, key);
	if (v == NULL)
		return 1;
	char why[96];
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)min || d > (double)max) {
		snprintf(why, sizeof why, "must be a whole number from %ld to %ld", min, max);
		return bad(r, key, why);
	}
	*out = (int)d;
	return 0;
}

/* "vantage": a list of nodes (ids or names of peers this node knows, or
   this node), stored as ids; null or [] for every node. 0, or
   MW_EREPLIED after replying 400. */
static int
apply_vantage(struct req *r, const cJSON *v, struct target_row *t)
{
	t->vantage[0] = '\0';
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MESH_TARGET_VANTAGE_MAX)
		return bad(r, "vantage", "must be a list of at most 16 node ids or names (or null: every node)");
	struct membership *mem = mesh_membership(r->node->mesh);
	size_t len = 0;
	const cJSON *x;
	cJSON_ArrayForEach(x, v) {
		if (!cJSON_IsString(x))
			return bad(r, "vantage", "must list node ids or names (strings)");
		char id[37] = "";
		if (strcmp(x->valuestring, r->node->id) == 0 || strcmp(x->valuestring, r->node->fqdn) == 0) {
			snprintf(id, sizeof id, "%s", r->node->id);
		} else {
			int np = 0;
			struct peer *ps = membership_snapshot(mem, &np);
			for (int i = 0; i < np && !id[0]; i++)
				if (ps[i].id[0] && (strcmp(ps[i].id, x->valuestring) == 0 || strcmp(ps[i].fqdn, x->valuestring) == 0))
					snprintf(id, sizeof id, "%s", ps[i].id);
			free(ps);
		}
		if (!id[0]) {
			http_reply_error(r, 400, "invalid_field", "field \"vantage\": no node \"%.80s\" in this mesh (give ids "
			                 "or names from /api/nodes)", x->valuestring);
			return MW_EREPLIED;
		}
		if (strstr(t->vantage, id) == NULL)
			len += (size_t)snprintf(t->vantage + len, sizeof t->vantage - len, "%s%s", len ? "," : "", id);
	}
	return 0;
}

/* "mesh" and "vantage". A copy checked here for another node changes
   only there (the caller refuses those first). 0, or MW_EREPLIED. */
static int
apply_mesh_fields(struct req *r, struct target_row *t)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, "mesh");
	if (v) {
		if (!cJSON_IsBool(v))
			return bad(r, "mesh", "must be true or false");
		t->mesh = cJSON_IsTrue(v);
	}
	v = cJSON_GetObjectItemCaseSensitive(r->body, "vantage");
	if (v && apply_vantage(r, v, t) != 0)
		return MW_EREPLIED;
	if (!t->mesh && t->vantage[0])
		return bad(r, "vantage", "needs \"mesh\": true (vantage points are other nodes of the mesh)");
	if (t->mesh && t->interval_s < MESH_TARGET_MIN_INTERVAL_S)
		return bad(r, "interval_s", "must be at least 10 for a mesh target (each vantage point checks it)");
	if (t->mesh && !meshauth_enabled(mesh_auth(r->node->mesh))) {
		http_reply_error(r, 409, "mesh_secret_required",
		    "a mesh target needs a mesh secret (mesh_secret): its list travels in signed answers, so that no "
		    "host outside the mesh can make its nodes connect anywhere");
		return MW_EREPLIED;
	}
	return 0;
}

/* Applies the body's fields onto t (all required when full). 0, or
   MW_EREPLIED after replying 400. */
static int
apply_body(struct req *r, struct target_row *t, int full)
{
	if (!cJSON_IsObject(r->body)) {
		http_reply_error(r, 400, "invalid_body", "request body must be a JSON object");
		return MW_EREPLIED;
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, r->body) {
		size_t i = 0;
		while (i < MW_ARRAY_LEN(known_fields) && strcmp(f->string, known_fields[i]) != 0)
			i++;
		if (i == MW_ARRAY_LEN(known_fields))
			return bad(r, f->string, "is not a target field (name, host, port, interval_s, timeout_s, "
			                         "retention_period, retention_unit, enabled, mesh, vantage)");
	}
	static const char *const required[] = {"name", "host", "port"};
	for (size_t i = 0; full && i < MW_ARRAY_LEN(required); i++)
		if (!cJSON_HasObjectItem(r->body, required[i]))
			return bad(r, required[i], "is required");

	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, "name");
	if (v) {
		if (!cJSON_IsString(v))
			return bad(r, "name", "must be a string");
		size_t n = strlen(v->valuestring);
		if (n == 0 || n > TARGET_NAME_MAX)
			return bad(r, "name", "must be 1 to 128 characters");
		for (const char *c = v->valuestring; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return bad(r, "name", "must not contain control characters");
		snprintf(t->name, sizeof t->name, "%s", v->valuestring);
	}
	v = cJSON_GetObjectItemCaseSensitive(r->body, "host");
	if (v) {
		if (!cJSON_IsString(v))
			return bad(r, "host", "must be a string");
		const char *why = targets_host_problem(v->valuestring);
		if (why)
			return bad(r, "host", why);
		snprintf(t->host, sizeof t->host, "%s", v->valuestring);
	}
	if (int_field(r, "port", 1, 65535, &t->port) < 0 || int_field(r, "interval_s", 1, 86400, &t->interval_s) < 0 ||
	    int_field(r, "retention_period", 1, 100000, &t->retention_period) < 0)
		return MW_EREPLIED;
	v = cJSON_GetObjectItemCaseSensitive(r->body, "retention_unit");
	if (v) {
		if (!cJSON_IsString(v) || target_retention_s(1, v->valuestring) == 0)
			return bad(r, "retention_unit", "must be one of minutes, hours, days, weeks, months");
		snprintf(t->retention_unit, sizeof t->retention_unit, "%s", v->valuestring);
	}
	if (target_retention_s(t->retention_period, t->retention_unit) > TARGET_MAX_RETENTION_S)
		return bad(r, "retention_period", "with its unit must be at most 5 years");
	v = cJSON_GetObjectItemCaseSensitive(r->body, "enabled");
	if (v) {
		if (!cJSON_IsBool(v))
			return bad(r, "enabled", "must be true or false");
		t->enabled = cJSON_IsTrue(v);
	}
	if (apply_mesh_fields(r, t) != 0)
		return MW_EREPLIED;
	/* the timeout: at most the interval and 60 s; when not given, that
	   maximum (an interval change moves a timeout that was the default) */
	int max_ms = (t->interval_s < 60 ? t->interval_s : 60) * 1000;
	v = cJSON_GetObjectItemCaseSensitive(r->body, "timeout_s");
	if (v) {
		char why[120];
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.05) || v->valuedouble * 1000 > max_ms + 1e-6) {
			snprintf(why, sizeof why, "must be a number of seconds from 0.05 to %d (the interval, at most 60)",
			    max_ms / 1000);
			return bad(r, "timeout_s", why);
		}
		t->timeout_ms = (int)lround(v->valuedouble * 1000);
	} else if (t->timeout_ms <= 0 || t->timeout_ms > max_ms) {
		t->timeout_ms = max_ms;
	}
	return 0;
}

static void
defaults(struct target_row *t)
{
	memset(t, 0, sizeof *t);
	t->interval_s = 60;
	t->retention_period = 7;
	snprintf(t->retention_unit, sizeof t->retention_unit, "days");
	t->enabled = 1;
	t->last_connect_ms = -1;
}

static int
no_store(struct req *r)
{
	http_reply_error(r, 503, "store_unavailable", "cannot reach the database");
	return MW_EREPLIED;
}

void
api_targets_list(struct req *r)
{
	int limit, offset, enabled = -1, state = -1;
	char q[TARGET_HOST_MAX + 1] = "", en[8] = "", stname[16] = "";
	if (http_query_int(r, "limit", LIST_DEFAULT, 1, API_LIST_MAX, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset) || http_query_str(r, "q", q, sizeof q) == MW_EREPLIED ||
	    http_query_str(r, "enabled", en, sizeof en) == MW_EREPLIED || http_query_str(r, "state", stname, sizeof stname) == MW_EREPLIED)
		return;
	if (en[0]) {
		if (strcmp(en, "true") != 0 && strcmp(en, "false") != 0) {
			http_reply_error(r, 400, "invalid_query", "parameter \"enabled\" must be true or false");
			return;
		}
		enabled = strcmp(en, "true") == 0;
	}
	if (stname[0] && (state = target_state_parse(stname)) < 0) {
		http_reply_error(r, 400, "invalid_query",
		    "parameter \"state\" must be up, refused, timeout, unreachable, dns_error or unknown");
		return;
	}
	struct target_row *rows = NULL;
	int n = 0, total = 0;
	if (store_target_list(r->node->store, q, enabled, state, limit, offset, &rows, &n, &total) != 0) {
		no_store(r);
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, views_target(r->node, &rows[i]));
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_targets_create(struct req *r)
{
	struct target_row t, out;
	defaults(&t);
	if (apply_body(r, &t, 1) != 0)
		return;
	if (t.mesh && own_mesh_count(r) >= MESH_TARGETS_MAX) {
		http_reply_error(r, 409, "mesh_target_limit", "this node already has %d mesh targets, the limit",
		    MESH_TARGETS_MAX);
		return;
	}
	int rc = store_target_create(r->node->store, &t, r->node->cfg.max_targets, &out);
	if (rc == MW_ETOOBIG) {
		http_reply_error(r, 409, "target_limit", "the node already has %d targets, the limit (max_targets)",
		    r->node->cfg.max_targets);
		return;
	}
	if (rc != 0) {
		no_store(r);
		return;
	}
	if (r->node->targets)
		targets_changed(r->node->targets, &out);
	if (out.mesh)
		meshtargets_own_changed(mesh_targets(r->node->mesh));
	log_info("targets", "%s %lld \"%s\" (%s port %d every %d s) added by \"%s\"",
	    out.mesh ? "mesh target" : "target", (long long)out.id, out.name, out.host, out.port, out.interval_s,
	    r->user.username);
	char loc[80];
	snprintf(loc, sizeof loc, "Location: /api/targets/%lld\r\n", (long long)out.id);
	http_reply_json(r, 201, views_target(r->node, &out), loc);
}

static int
load(struct req *r, struct target_row *t)
{
	int rc = store_target_get(r->node->store, r->id, t);
	if (rc == MW_ENOTFOUND) {
		http_reply_error(r, 404, "not_found", "no target with id %lld", (long long)r->id);
		return MW_EREPLIED;
	}
	return rc ? no_store(r) : 0;
}

/* A copy this node checks for another node changes only there: 0 when t
   is this node's own, else MW_EREPLIED after a 409 naming its node. */
static int
own_only(struct req *r, const struct target_row *t)
{
	if (!t->origin_id[0])
		return 0;
	http_reply_error(r, 409, "owned_by_origin",
	    "target %lld is checked here for node %s (its target %lld): change or delete it there, or set "
	    "mesh_targets to 0 on this node to check no other node's targets",
	    (long long)t->id, t->origin_fqdn[0] ? t->origin_fqdn : t->origin_id, (long long)t->origin_target);
	return MW_EREPLIED;
}

/* This node's own mesh targets (up to one past the limit). */
static int
own_mesh_count(struct req *r)
{
	struct target_row *rows = NULL;
	int n = 0;
	if (store_mesh_targets(r->node->store, NULL, MESH_TARGETS_MAX + 1, &rows, &n) != 0)
		n = 0;
	free(rows);
	return n;
}

void
api_targets_get(struct req *r)
{
	struct target_row t;
	if (load(r, &t) != 0)
		return;
	cJSON *o = views_target(r->node, &t);
	if (t.mesh && !t.origin_id[0]) {
		/* every vantage point, not only their agreement */
		cJSON_DeleteItemFromObjectCaseSensitive(o, "agreement");
		meshtargets_view(mesh_targets(r->node->mesh), &t, o, 1);
	}
	http_reply_json(r, 200, o, NULL);
}

void
api_targets_update(struct req *r)
{
	struct target_row t;
	if (load(r, &t) != 0 || own_only(r, &t) != 0)
		return;
	int was_mesh = t.mesh;
	int full = strcmp(r->method, "PUT") == 0;
	if (full) {
		/* PUT replaces: what is not given goes back to its default */
		struct target_row keep = t;
		defaults(&t);
		t.id = keep.id;
		t.created_at = keep.created_at;
	} else if (t.timeout_ms == (t.interval_s < 60 ? t.interval_s : 60) * 1000) {
		t.timeout_ms = 0; /* it was the default: it follows a new interval */
	}
	if (apply_body(r, &t, full) != 0)
		return;
	if (t.mesh && !was_mesh && own_mesh_count(r) >= MESH_TARGETS_MAX) {
		http_reply_error(r, 409, "mesh_target_limit", "this node already has %d mesh targets, the limit",
		    MESH_TARGETS_MAX);
		return;
	}
	int rc = store_target_update(r->node->store, &t);
	if (rc == MW_ENOTFOUND) {
		http_reply_error(r, 404, "not_found", "no target with id %lld", (long long)r->id);
		return;
	}
	if (rc != 0 || store_target_get(r->node->store, r->id, &t) != 0) {
		no_store(r);
		return;
	}
	if (r->node->targets)
		targets_changed(r->node->targets, &t);
	if (t.mesh || was_mesh)
		meshtargets_own_changed(mesh_targets(r->node->mesh));
	http_reply_json(r, 200, views_target(r->node, &t), NULL);
}

void
api_targets_delete(struct req *r)
{
	struct target_row t;
	if (load(r, &t) != 0 || own_only(r, &t) != 0)
		return;
	if (r->node->targets)
		targets_removed(r->node->targets, r->id);
	int rc = store_target_delete(r->node->store, r->id);
	if (rc != 0 && rc != MW_ENOTFOUND) {
		no_store(r);
		return;
	}
	if (t.mesh)
		meshtargets_own_changed(mesh_targets(r->node->mesh));
	log_info("targets", "target %lld \"%s\" and its history deleted by \"%s\"", (long long)t.id, t.name,
	    r->user.username);
	http_reply_raw(r, 204, "application/json", "", 0, NULL);
}

/* An automatic bucket size: a round step giving at most about 300 buckets. */
static int64_t
auto_step(int64_t span_ms)
{
	static const int64_t steps[] = {10000, 60000, 300000, 900000, 3600000, 3 * 3600000, 6 * 3600000, 86400000};
	for (size_t i = 0; i < MW_ARRAY_LEN(steps); i++)
		if (span_ms / steps[i] <= 300)
			return steps[i];
	return 7 * 86400000LL;
}

void
api_targets_history(struct req *r)
{
	struct target_row t;
	if (load(r, &t) != 0)
		return;
	int64_t now = mw_wall_s(), from, to;
	if (http_query_time(r, "from", now - 86400, &from) || http_query_time(r, "to", now, &to))
		return;
	if (to <= from) {
		http_reply_error(r, 400, "invalid_query", "parameter \"to\" must be later than \"from\"");
		return;
	}
	char gb[16] = "";
	if (http_query_str(r, "group_by", gb, sizeof gb) == MW_EREPLIED)
		return;
	int64_t span = (to - from) * 1000;
	int64_t step = auto_step(span), step_s;
	if (gb[0]) {
		if (mw_parse_duration(gb, 1, TARGET_GROUP_BY_MAX_S, &step_s) != 0) {
			http_reply_error(r, 400, "invalid_query", "parameter \"group_by\" must be a duration such as 10s, 1m, 5m, 1h or 1d");
			return;
		}
		step = step_s * 1000;
	}
	if (step < 1000 || span / step > TARGET_HISTORY_MAX_BUCKETS) {
		http_reply_error(r, 400, "invalid_query",
		    "parameter \"group_by\" gives %lld buckets over this range; at most %d (choose a larger step or a shorter range)",
		    (long long)(span / step), TARGET_HISTORY_MAX_BUCKETS);
		return;
	}
	struct check_row *rows = NULL;
	int n = 0;
	if (store_target_checks(r->node->store, t.id, from * 1000, to * 1000, TARGET_HISTORY_MAX_ROWS, &rows, &n) != 0) {
		no_store(r);
		return;
	}
	struct target_bucket *b = calloc((size_t)(span / step + 2), sizeof *b);
	int nb = b ? targets_group(rows, n, step, b, (int)(span / step + 2)) : 0;
	free(rows);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)t.id);
	json_add_time(o, "from", from);
	json_add_time(o, "to", to);
	cJSON_AddNumberToObject(o, "step_s", (double)step / 1000.0);
	cJSON_AddBoolToObject(o, "truncated", n >= TARGET_HISTORY_MAX_ROWS);
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	for (int i = 0; i < nb; i++) {
		cJSON *it = cJSON_CreateObject();
		json_add_time(it, "t", b[i].t_ms / 1000);
		cJSON_AddNumberToObject(it, "checks", b[i].checks);
		cJSON_AddNumberToObject(it, "up", b[i].up);
		json_add_num(it, "success_ratio", (double)b[i].up / b[i].checks);
		json_add_num(it, "latency_avg_ms", b[i].avg_ms);
		json_add_num(it, "latency_p95_ms", b[i].p95_ms);
		cJSON_AddItemToArray(items, it);
	}
	free(b);
	http_reply_json(r, 200, o, NULL);
}

/* The checker's own figures (/api/targets/stats). */
static cJSON *
stats_json(struct node *n)
{
	struct targets_stats s;
	cJSON *o = cJSON_CreateObject();
	if (n->targets == NULL)
		return o;
	targets_stats(n->targets, &s);
	cJSON_AddNumberToObject(o, "targets", s.targets);
	cJSON_AddNumberToObject(o, "enabled", s.enabled);
	views_add_target_states(o, &s);
	cJSON_AddNumberToObject(o, "in_flight", s.in_flight);
	cJSON_AddNumberToObject(o, "queued", s.queued);
	cJSON_AddNumberToObject(o, "checks", (double)s.checks);
	cJSON_AddNumberToObject(o, "skipped_rounds", (double)s.skipped);
	cJSON_AddNumberToObject(o, "results_dropped", (double)s.results_dropped);
	cJSON *l = cJSON_AddObjectToObject(o, "lateness_ms");
	json_add_num(l, "p50", s.lateness_p50_ms);
	json_add_num(l, "p99", s.lateness_p99_ms);
	json_add_num(l, "max", s.lateness_max_ms);
	json_add_num(l, "p50_last_minute", s.lateness_p50_ms_1m);
	json_add_num(l, "p99_last_minute", s.lateness_p99_ms_1m);
	cJSON *d = cJSON_AddObjectToObject(o, "dns");
	cJSON_AddNumberToObject(d, "lookups", (double)s.dns_lookups);
	cJSON_AddNumberToObject(d, "cache_hits", (double)s.dns_cache_hits);
	return o;
}

void
api_targets_stats(struct req *r)
{
	http_reply_json(r, 200, stats_json(r->node), NULL);
}
