/* meshtargets: mesh targets published in /nodeinfo, copies checked here
   for other nodes, and the vantage results coming back (see
   meshtargets.h). */
#include "meshwatch/meshtargets.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/membership.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/node.h"
#include "meshwatch/targets.h"

/* What this node holds from one origin: the digest of the list its
   copies come from, when it last answered, and what was declined of it
   (target ids on the origin, and why). */
struct origin {
	char id[37];
	char digest[17];
	int64_t heard;
	int ndeclined;
	int64_t declined[MESH_TARGETS_MAX];
	char why[MESH_TARGETS_MAX][48];
};

struct meshtargets {
	struct node *node;
	struct membership *members;
	struct meshauth *auth;
	pthread_mutex_t lock;
	int own_valid;
	char *own_json;             /* the published list (a JSON array), NULL when none */
	char own_digest[17];        /* "" when none */
	int own_count;
	int own_vantage_all;        /* one of them is checked by every node */
	char *own_vantage;          /* the vantage ids of the others, "id,id,..." (NULL: none) */
	struct origin *origins;     /* malloc'd, grows to MESH_TARGET_ORIGINS_MAX */
	int norigins, corigins;
	int64_t started;
	uint64_t lists_in, results_in, declined;
};

struct meshtargets *
meshtargets_create(struct node *n, struct membership *members, struct meshauth *auth)
{
	struct meshtargets *mt = calloc(1, sizeof *mt);
	if (mt == NULL)
		return NULL;
	mt->node = n;
	mt->members = members;
	mt->auth = auth;
	pthread_mutex_init(&mt->lock, NULL);
	mt->started = mw_wall_s();
	return mt;
}

void
meshtargets_destroy(struct meshtargets *mt)
{
	if (mt == NULL)
		return;
	pthread_mutex_destroy(&mt->lock);
	free(mt->own_json);
	free(mt->own_vantage);
	free(mt->origins);
	free(mt);
}

static struct node *
node_of(struct meshtargets *mt)
{
	return mt->node;
}

static int
signing(struct meshtargets *mt)
{
	return meshauth_enabled(mt->auth);
}

void
meshtargets_own_changed(struct meshtargets *mt)
{
	if (mt == NULL)
		return;
	pthread_mutex_lock(&mt->lock);
	mt->own_valid = 0;
	pthread_mutex_unlock(&mt->lock);
}

int
meshtargets_vantage_ids(const char *text, char (*ids)[37], int max)
{
	int n = 0;
	const char *p = text;
	while (*p && n < max) {
		size_t len = strcspn(p, ",");
		if (len > 0 && len < 37) {
			memcpy(ids[n], p, len);
			ids[n][len] = '\0';
			n++;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return n;
}

cJSON *
meshtargets_vantage_json(const char *vantage)
{
	cJSON *v = cJSON_CreateArray();
	char ids[MESH_TARGET_VANTAGE_MAX][37];
	int n = meshtargets_vantage_ids(vantage, ids, MESH_TARGET_VANTAGE_MAX);
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(v, cJSON_CreateString(ids[i]));
	return v;
}

/* Whether node id is one of t's vantage points (every node when the
   list is empty). */
static int
is_vantage(const char *vantage, const char *id)
{
	char ids[MESH_TARGET_VANTAGE_MAX][37];
	int n = meshtargets_vantage_ids(vantage, ids, MESH_TARGET_VANTAGE_MAX);
	if (n == 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

/* The published item of one of this node's mesh targets. */
static cJSON *
item_json(const struct target_row *t)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "id", (double)t->id);
	cJSON_AddStringToObject(e, "name", t->name);
	cJSON_AddStringToObject(e, "host", t->host);
	cJSON_AddNumberToObject(e, "port", t->port);
	cJSON_AddNumberToObject(e, "interval_s", t->interval_s);
	cJSON_AddNumberToObject(e, "timeout_ms", t->timeout_ms);
	cJSON_AddNumberToObject(e, "retention_period", t->retention_period);
	cJSON_AddStringToObject(e, "retention_unit", t->retention_unit);
	cJSON_AddBoolToObject(e, "enabled", t->enabled);
	cJSON_AddItemToObject(e, "vantage", meshtargets_vantage_json(t->vantage));
	return e;
}

/* Rebuilds the published list when the API changed it (lock held). */
static void
own_refresh_locked(struct meshtargets *mt)
{
	if (mt->own_valid)
		return;
	struct target_row *rows = NULL;
	int n = 0;
	if (store_mesh_targets(node_of(mt)->store, NULL, MESH_TARGETS_MAX, &rows, &n) != 0)
		return; /* the old list stays published until the store answers */
	free(mt->own_json);
	mt->own_json = NULL;
	mt->own_digest[0] = '\0';
	mt->own_count = n;
	free(mt->own_vantage);
	mt->own_vantage = NULL;
	mt->own_vantage_all = 0;
	if (n > 0) {
		cJSON *arr = cJSON_CreateArray();
		size_t vlen = 0;
		for (int i = 0; i < n; i++) {
			cJSON_AddItemToArray(arr, item_json(&rows[i]));
			vlen += strlen(rows[i].vantage) + 1;
			if (rows[i].vantage[0] == '\0' && rows[i].enabled)
				mt->own_vantage_all = 1;
		}
		mt->own_vantage = calloc(1, vlen + 1);
		for (int i = 0; mt->own_vantage && i < n; i++)
			if (rows[i].enabled && rows[i].vantage[0])
				strcat(strcat(mt->own_vantage, rows[i].vantage), ",");
		mt->own_json = cJSON_PrintUnformatted(arr);
		cJSON_Delete(arr);
		if (mt->own_json)
			snprintf(mt->own_digest, sizeof mt->own_digest, "%016llx",
			    (unsigned long long)XXH3_64bits(mt->own_json, strlen(mt->own_json)));
	}
	free(rows);
	mt->own_valid = mt->own_json != NULL || n == 0;
}

static struct origin *
origin_find_locked(struct meshtargets *mt, const char *id)
{
	for (int i = 0; i < mt->norigins; i++)
		if (strcmp(mt->origins[i].id, id) == 0)
			return &mt->origins[i];
	return NULL;
}

/* Found or added; NULL when MESH_TARGET_ORIGINS_MAX are tracked. */
static struct origin *
origin_get_locked(struct meshtargets *mt, const char *id)
{
	struct origin *o = origin_find_locked(mt, id);
	if (o)
		return o;
	if (mt->norigins == mt->corigins) {
		if (mt->corigins >= MESH_TARGET_ORIGINS_MAX)
			return NULL;
		int c = mt->corigins ? mt->corigins * 2 : 8;
		if (c > MESH_TARGET_ORIGINS_MAX)
			c = MESH_TARGET_ORIGINS_MAX;
		struct origin *arr = realloc(mt->origins, (size_t)c * sizeof *arr);
		if (arr == NULL)
			return NULL;
		mt->origins = arr;
		mt->corigins = c;
	}
	o = &mt->origins[mt->norigins++];
	memset(o, 0, sizeof *o);
	size_t len = strnlen(id, sizeof o->id - 1); /* (memcpy: gcc's UBSan build sees a NULL o in snprintf) */
	memcpy(o->id, id, len);
	return o;
}

uint64_t
meshtargets_own_digest(struct meshtargets *mt)
{
	if (mt == NULL || !signing(mt))
		return 0;
	pthread_mutex_lock(&mt->lock);
	own_refresh_locked(mt);
	uint64_t d = strtoull(mt->own_digest, NULL, 16);
	pthread_mutex_unlock(&mt->lock);
	return d;
}

int
meshtargets_wants_results(struct meshtargets *mt, const char *peer_id)
{
	if (mt == NULL || !signing(mt) || peer_id[0] == '\0')
		return 0;
	pthread_mutex_lock(&mt->lock);
	own_refresh_locked(mt);
	int want = mt->own_count > 0 && (mt->own_vantage_all || (mt->own_vantage && strstr(mt->own_vantage, peer_id)));
	pthread_mutex_unlock(&mt->lock);
	return want;
}

void
meshtargets_poll_header(struct meshtargets *mt, const char *peer_id, char *out, size_t outlen)
{
	out[0] = '\0';
	if (mt == NULL || !signing(mt) || peer_id[0] == '\0')
		return;
	pthread_mutex_lock(&mt->lock);
	const struct origin *o = origin_find_locked(mt, peer_id);
	if (o && o->digest[0])
		snprintf(out, outlen, "X-Mw-Targets-Digest: %s\r\n", o->digest);
	pthread_mutex_unlock(&mt->lock);
}

/* One copy's result for its origin. */
static cJSON *
result_json(struct targets *tg, const struct target_row *c)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "target_id", (double)c->origin_target);
	cJSON_AddStringToObject(e, "state", c->enabled ? target_state_name(c->state) : "disabled");
	json_add_num(e, "connect_ms", c->last_connect_ms);
	cJSON_AddNumberToObject(e, "checked_ms", (double)c->last_check_ms);
	double ratio = 0;
	int k = tg ? targets_recent(tg, c->id, &ratio) : 0;
	cJSON_AddNumberToObject(e, "recent_checks", k);
	if (k > 0)
		json_add_num(e, "recent_up", ratio);
	if (c->last_error[0])
		cJSON_AddStringToObject(e, "error", c->last_error);
	return e;
}

void
meshtargets_nodeinfo(struct meshtargets *mt, cJSON *o, const char *caller_id, const char *caller_digest)
{
	if (mt == NULL || !signing(mt))
		return;
	struct node *n = node_of(mt);
	pthread_mutex_lock(&mt->lock);
	own_refresh_locked(mt);
	if (strcmp(caller_digest ? caller_digest : "", mt->own_digest) != 0) {
		cJSON_AddStringToObject(o, "mesh_targets_digest", mt->own_digest);
		cJSON *arr = mt->own_json ? cJSON_Parse(mt->own_json) : NULL;
		cJSON_AddItemToObject(o, "mesh_targets", arr ? arr : cJSON_CreateArray());
	}
	struct origin *org = caller_id && caller_id[0] ? origin_find_locked(mt, caller_id) : NULL;
	int ndeclined = org ? org->ndeclined : 0;
	int64_t declined[MESH_TARGETS_MAX];
	char why[MESH_TARGETS_MAX][48];
	if (ndeclined > 0) {
		memcpy(declined, org->declined, sizeof declined[0] * (size_t)ndeclined);
		memcpy(why, org->why, sizeof why[0] * (size_t)ndeclined);
	}
	pthread_mutex_unlock(&mt->lock);
	if (org == NULL)
		return;
	struct target_row *rows = NULL;
	int nrows = 0;
	if (store_mesh_targets(n->store, caller_id, MESH_TARGETS_MAX, &rows, &nrows) != 0)
		return;
	if (nrows > 0 || ndeclined > 0) {
		cJSON *arr = cJSON_AddArrayToObject(o, "mesh_results");
		for (int i = 0; i < nrows; i++)
			cJSON_AddItemToArray(arr, result_json(n->targets, &rows[i]));
		for (int i = 0; i < ndeclined; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddNumberToObject(e, "target_id", (double)declined[i]);
			cJSON_AddStringToObject(e, "state", "declined");
			cJSON_AddStringToObject(e, "error", why[i]);
			cJSON_AddItemToArray(arr, e);
		}
	}
	free(rows);
}

/* One published item into a copy's row; NULL when fine, else what is
   wrong (the whole list is then ignored: a node that sends nonsense is
   not half-believed). */
static const char *
parse_item(const cJSON *e, struct target_row *t)
{
	double id, port, interval, timeout, period;
	memset(t, 0, sizeof *t);
	if (!cJSON_IsObject(e) || json_get_int(e, "id", 1, 9007199254740991.0, &id) ||
	    json_get_str(e, "name", t->name, sizeof t->name, 1) || json_get_str(e, "host", t->host, sizeof t->host, 1) ||
	    json_get_int(e, "port", 1, 65535, &port) || json_get_int(e, "interval_s", 1, 86400, &interval) ||
	    json_get_int(e, "timeout_ms", 50, 60000, &timeout) || json_get_int(e, "retention_period", 1, 100000, &period) ||
	    json_get_str(e, "retention_unit", t->retention_unit, sizeof t->retention_unit, 1))
		return "an item lacks a valid id, name, host, port, interval_s, timeout_ms or retention";
	const char *bad = targets_host_problem(t->host);
	if (bad)
		return "an item's host is not an address or a DNS name";
	if (target_retention_s((int)period, t->retention_unit) == 0)
		return "an item's retention_unit is unknown";
	for (const char *c = t->name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "an item's name has control characters";
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "enabled");
	if (!cJSON_IsBool(en))
		return "an item lacks \"enabled\"";
	t->enabled = cJSON_IsTrue(en);
	t->origin_target = (int64_t)id;
	t->port = (int)port;
	t->interval_s = (int)interval;
	t->timeout_ms = (int)timeout;
	t->retention_period = (int)period;
	if (target_retention_s(t->retention_period, t->retention_unit) > TARGET_MAX_RETENTION_S)
		t->retention_period = 1; /* never more history for another node than this node allows its own */
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "vantage");
	if (v && !cJSON_IsArray(v))
		return "an item's vantage is not a list";
	int k = 0;
	size_t len = 0;
	const cJSON *x;
	cJSON_ArrayForEach(x, v) {
		if (!cJSON_IsString(x) || !membership_valid_id(x->valuestring) || ++k > MESH_TARGET_VANTAGE_MAX)
			return "an item's vantage is not a list of at most 16 node ids";
		len += (size_t)snprintf(t->vantage + len, sizeof t->vantage - len, "%s%s", len ? "," : "", x->valuestring);
	}
	return NULL;
}

/* The list from origin `who` (its digest given): copies synced, what was
   declined remembered for the results that go back. */
static void
take_list(struct meshtargets *mt, const char *who, const char *fqdn, const cJSON *list, const char *digest)
{
	struct node *n = node_of(mt);
	const struct config *c = &n->cfg;
	int total = cJSON_GetArraySize(list);
	if (total > MESH_TARGETS_MAX) {
		log_warn("targets", "node %s publishes %d mesh targets, more than %d: its list is ignored", who, total,
		    MESH_TARGETS_MAX);
		return;
	}
	struct target_row *items = calloc((size_t)(total > 0 ? total : 1), sizeof *items);
	if (items == NULL)
		return;
	int k = 0, nd = 0;
	int64_t declined[MESH_TARGETS_MAX];
	char why[MESH_TARGETS_MAX][48];
	const cJSON *e;
	cJSON_ArrayForEach(e, list) {
		const char *bad = parse_item(e, &items[k]);
		if (bad) {
			log_warn("targets", "node %s sent a mesh target list that is not valid (%s): ignored", who, bad);
			free(items);
			return;
		}
		if (!is_vantage(items[k].vantage, n->id))
			continue; /* another node's job */
		const char *no = !c->mesh_targets ? "mesh_targets is off on this node"
		                 : items[k].interval_s < MESH_TARGET_MIN_INTERVAL_S ? "interval below this node's minimum (10 s)"
		                                                                    : NULL;
		if (no) {
			declined[nd] = items[k].origin_target;
			snprintf(why[nd++], sizeof why[0], "%s", no);
			continue;
		}
		k++;
	}
	int64_t changed[MESH_TARGETS_MAX], removed[MESH_TARGETS_MAX * 2];
	int nchanged = 0, nremoved = 0, refused = 0;
	int rc = store_mesh_targets_sync(n->store, who, fqdn, items, k, c->mesh_targets_max, changed, &nchanged, removed,
	    &nremoved, MESH_TARGETS_MAX, &refused);
	if (rc != 0) {
		free(items);
		return; /* the digest is not taken: the list comes again on the next poll */
	}
	/* which were refused for the cap: those with no copy now */
	if (refused > 0) {
		struct target_row *have = NULL;
		int nhave = 0;
		if (store_mesh_targets(n->store, who, MESH_TARGETS_MAX, &have, &nhave) == 0) {
			for (int i = 0; i < k && nd < MESH_TARGETS_MAX; i++) {
				int found = 0;
				for (int j = 0; j < nhave && !found; j++)
					found = have[j].origin_target == items[i].origin_target;
				if (!found) {
					declined[nd] = items[i].origin_target;
					snprintf(why[nd++], sizeof why[0], "mesh_targets_max (%d) reached here", c->mesh_targets_max);
				}
			}
			free(have);
		}
	}
	free(items);
	for (int i = 0; i < nremoved && n->targets; i++)
		targets_removed(n->targets, removed[i]);
	for (int i = 0; i < nchanged && n->targets; i++) {
		struct target_row t;
		if (store_target_get(n->store, changed[i], &t) == 0)
			targets_changed(n->targets, &t);
	}
	if (nchanged || nremoved || nd)
		log_info("targets", "mesh targets of node %s (%s): %d added or changed, %d removed, %d declined", who, fqdn,
		    nchanged, nremoved, nd);
	pthread_mutex_lock(&mt->lock);
	struct origin *o = origin_get_locked(mt, who);
	if (o) {
		snprintf(o->digest, sizeof o->digest, "%s", digest);
		o->heard = mw_wall_s();
		o->ndeclined = nd;
		memcpy(o->declined, declined, sizeof declined[0] * (size_t)nd);
		memcpy(o->why, why, sizeof why[0] * (size_t)nd);
	}
	mt->lists_in++;
	mt->declined += (uint64_t)nd;
	pthread_mutex_unlock(&mt->lock);
}

/* Results from vantage point `who` for this node's own targets: each
   kept when the target is one of this node's mesh targets and who is
   one of its vantage points. */
static void
take_results(struct meshtargets *mt, const char *who, const char *fqdn, const cJSON *arr)
{
	struct node *n = node_of(mt);
	int k = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		if (++k > MESH_TARGETS_MAX)
			break;
		double id, checked = 0, rc = 0;
		char state[16];
		struct vantage_row v;
		memset(&v, 0, sizeof v);
		if (!cJSON_IsObject(e) || json_get_int(e, "target_id", 1, 9007199254740991.0, &id) ||
		    json_get_str(e, "state", state, sizeof state, 1))
			continue;
		if (strcmp(state, "declined") == 0 || strcmp(state, "disabled") == 0)
			v.state = TS_UNKNOWN;
		else if ((v.state = target_state_parse(state)) < 0)
			continue;
		const cJSON *cm = cJSON_GetObjectItemCaseSensitive(e, "connect_ms");
		v.connect_ms = cJSON_IsNumber(cm) && cm->valuedouble >= 0 && cm->valuedouble < 1e7 ? cm->valuedouble : -1;
		if (cJSON_GetObjectItemCaseSensitive(e, "checked_ms") && json_get_int(e, "checked_ms", 0, 1e15, &checked))
			continue;
		if (cJSON_GetObjectItemCaseSensitive(e, "recent_checks") && json_get_int(e, "recent_checks", 0, 1e6, &rc))
			continue;
		const cJSON *up = cJSON_GetObjectItemCaseSensitive(e, "recent_up");
		v.recent_up = cJSON_IsNumber(up) && up->valuedouble >= 0 && up->valuedouble <= 1 ? up->valuedouble : -1;
		v.checked_ms = (int64_t)checked;
		v.recent_checks = (int)rc;
		v.received_at = mw_wall_s();
		if (json_get_str(e, "error", v.error, sizeof v.error, 0))
			v.error[0] = '\0';
		if (strcmp(state, "declined") == 0 || strcmp(state, "disabled") == 0) {
			char why[64];
			snprintf(why, sizeof why, "%s", v.error);
			snprintf(v.error, sizeof v.error, "%.10s%s%s", state, why[0] ? ": " : "", why);
		}
		snprintf(v.node_id, sizeof v.node_id, "%s", who);
		snprintf(v.fqdn, sizeof v.fqdn, "%s", fqdn);
		struct target_row t;
		if (store_target_get(n->store, (int64_t)id, &t) != 0 || !t.mesh || t.origin_id[0] ||
		    !is_vantage(t.vantage, who))
			continue;
		if (store_vantage_put(n->store, t.id, &v) == 0) {
			pthread_mutex_lock(&mt->lock);
			mt->results_in++;
			pthread_mutex_unlock(&mt->lock);
		}
	}
}

void
meshtargets_answer(struct meshtargets *mt, const char *peer_id, const char *peer_fqdn, const char *body, size_t len)
{
	if (mt == NULL || !signing(mt) || peer_id[0] == '\0')
		return;
	pthread_mutex_lock(&mt->lock);
	struct origin *o = origin_find_locked(mt, peer_id);
	if (o)
		o->heard = mw_wall_s();
	pthread_mutex_unlock(&mt->lock);
	if (memmem(body, len, "\"mesh_", 6) == NULL)
		return; /* the common answer: nothing new */
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return;
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "mesh_targets");
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(root, "mesh_targets_digest");
	if (cJSON_IsArray(list) && cJSON_IsString(dg) && strlen(dg->valuestring) <= 16 &&
	    strspn(dg->valuestring, "0123456789abcdef") == strlen(dg->valuestring))
		take_list(mt, peer_id, peer_fqdn, list, dg->valuestring);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "mesh_results");
	if (cJSON_IsArray(res))
		take_results(mt, peer_id, peer_fqdn, res);
	cJSON_Delete(root);
}

void
meshtargets_maintain(struct meshtargets *mt)
{
	if (mt == NULL)
		return;
	struct node *n = node_of(mt);
	struct target_row *rows = NULL;
	int nrows = 0;
	if (store_mesh_targets(n->store, "", n->cfg.mesh_targets_max + MESH_TARGETS_MAX, &rows, &nrows) != 0)
		return;
	int64_t now = mw_wall_s();
	/* each origin heard of since this node started counts from then */
	for (int i = 0; i < nrows; i++) {
		pthread_mutex_lock(&mt->lock);
		const struct origin *o = origin_find_locked(mt, rows[i].origin_id);
		int64_t heard = o && o->heard ? o->heard : mt->started;
		pthread_mutex_unlock(&mt->lock);
		if (now - heard < MESH_TARGET_ORPHAN_S && n->cfg.mesh_targets)
			continue;
		if (n->targets)
			targets_removed(n->targets, rows[i].id);
		if (store_target_delete(n->store, rows[i].id) == 0)
			log_info("targets", "copy %lld of node %s's target %lld deleted: %s", (long long)rows[i].id,
			    rows[i].origin_fqdn, (long long)rows[i].origin_target,
			    n->cfg.mesh_targets ? "its node has not answered for a day" : "mesh_targets is off");
	}
	free(rows);
}

/* When a vantage point's word is too old to count: it should have come
   within two of its checks and two polls. */
static int64_t
stale_after_s(const struct node *n, const struct target_row *t)
{
	return 2 * (int64_t)t->interval_s + 2 * (int64_t)n->cfg.poll_interval_s + 30;
}

static void
add_point(cJSON *arr, const char *id, const char *fqdn, int self, const char *state, double connect_ms,
    int64_t checked_ms, int64_t now, int stale, int recent_checks, double recent_up, const char *error)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "node_id", id);
	cJSON_AddStringToObject(e, "fqdn", fqdn);
	cJSON_AddBoolToObject(e, "self", self);
	cJSON_AddStringToObject(e, "state", state);
	json_add_num(e, "connect_ms", connect_ms);
	json_add_time_or_null(e, "checked_at", checked_ms / 1000);
	if (checked_ms > 0)
		cJSON_AddNumberToObject(e, "age_s", (double)(now - checked_ms / 1000 > 0 ? now - checked_ms / 1000 : 0));
	else
		cJSON_AddNullToObject(e, "age_s");
	cJSON_AddBoolToObject(e, "stale", stale);
	if (recent_checks > 0 && recent_up >= 0)
		json_add_num(e, "success_ratio", recent_up);
	else
		cJSON_AddNullToObject(e, "success_ratio");
	if (error && error[0])
		cJSON_AddStringToObject(e, "error", error);
	else
		cJSON_AddNullToObject(e, "error");
	cJSON_AddItemToArray(arr, e);
}

static void
count(struct meshtargets_tally *t, const char *state, int stale)
{
	if (stale)
		t->stale++;
	else if (strcmp(state, "up") == 0)
		t->up++;
	else if (strcmp(state, "pending") == 0 || strcmp(state, "unknown") == 0)
		t->pending++;
	else if (strcmp(state, "declined") == 0 || strcmp(state, "disabled") == 0)
		t->declined++;
	else
		t->down++;
}

/* The vantage points of t into pts (an array) and their tally. */
static void
gather(struct meshtargets *mt, const struct target_row *t, cJSON *pts, struct meshtargets_tally *out)
{
	struct node *n = node_of(mt);
	int64_t now = mw_wall_s();
	struct meshtargets_tally tl = {0};
	/* this node first */
	double ratio = -1;
	int k = n->targets ? targets_recent(n->targets, t->id, &ratio) : 0;
	const char *self_state = !t->enabled ? "disabled" : target_state_name(t->state);
	int self_stale = t->enabled && t->last_check_ms > 0 && now - t->last_check_ms / 1000 > 2 * (int64_t)t->interval_s + 30;
	add_point(pts, n->id, n->fqdn, 1, self_state, t->last_connect_ms, t->last_check_ms, now, self_stale, k, ratio,
	    t->last_error);
	count(&tl, self_state, self_stale);
	struct vantage_row *v = NULL;
	int nv = 0;
	if (store_vantage_list(n->store, t->id, MESH_TARGET_RESULTS_MAX, &v, &nv) != 0)
		nv = 0;
	/* the expected vantage points: those named, or every alive peer */
	char ids[MESH_TARGET_VANTAGE_MAX][37];
	int nids = meshtargets_vantage_ids(t->vantage, ids, MESH_TARGET_VANTAGE_MAX);
	struct membership *mem = mt->members;
	int np = 0;
	struct peer *peers = nids == 0 ? membership_snapshot(mem, &np) : NULL;
	int expected = 1;
	for (int i = 0; i < nids; i++)
		expected += strcmp(ids[i], n->id) != 0;
	for (int i = 0; i < np; i++)
		expected += peers[i].state == PEER_ALIVE && !peers[i].quarantined && peers[i].id[0];
	for (int i = 0; i < nv; i++) {
		int declined = strncmp(v[i].error, "declined", 8) == 0, disabled = strncmp(v[i].error, "disabled", 8) == 0;
		const char *st = declined ? "declined" : disabled ? "disabled" : target_state_name(v[i].state);
		int stale = !declined && !disabled && now - v[i].received_at > stale_after_s(n, t);
		count(&tl, st, stale);
		add_point(pts, v[i].node_id, v[i].fqdn, 0, st, v[i].connect_ms, v[i].checked_ms, now, stale,
		    v[i].recent_checks, v[i].recent_up, v[i].error);
	}
	/* named vantage points not heard from yet */
	for (int i = 0; i < nids; i++) {
		int heard = strcmp(ids[i], n->id) == 0;
		for (int j = 0; j < nv && !heard; j++)
			heard = strcmp(v[j].node_id, ids[i]) == 0;
		if (heard)
			continue;
		struct peer p;
		const char *fqdn = membership_get(mem, ids[i], &p) == 0 ? p.fqdn : "";
		tl.pending++;
		add_point(pts, ids[i], fqdn, 0, "pending", -1, 0, now, 0, 0, -1, "no result from this node yet");
	}
	/* every alive peer: those not heard from are pending */
	if (nids == 0)
		tl.pending += expected - 1 - (nv < expected - 1 ? nv : expected - 1);
	free(peers);
	free(v);
	tl.expected = expected;
	*out = tl;
}

void
meshtargets_tally(struct meshtargets *mt, const struct target_row *t, struct meshtargets_tally *out)
{
	cJSON *pts = cJSON_CreateArray();
	gather(mt, t, pts, out);
	cJSON_Delete(pts);
}

void
meshtargets_view(struct meshtargets *mt, const struct target_row *t, cJSON *o, int detail)
{
	cJSON *pts = cJSON_CreateArray();
	struct meshtargets_tally tl;
	gather(mt, t, pts, &tl);
	int expected = tl.expected;
	cJSON *a = cJSON_AddObjectToObject(o, "agreement");
	int reporting = tl.up + tl.down;
	cJSON_AddNumberToObject(a, "up", tl.up);
	cJSON_AddNumberToObject(a, "down", tl.down);
	cJSON_AddNumberToObject(a, "stale", tl.stale);
	cJSON_AddNumberToObject(a, "pending", tl.pending);
	cJSON_AddNumberToObject(a, "declined", tl.declined);
	cJSON_AddNumberToObject(a, "reporting", reporting);
	cJSON_AddNumberToObject(a, "expected", expected);
	cJSON_AddBoolToObject(a, "agree", reporting > 0 && (tl.up == 0 || tl.down == 0));
	char text[96];
	snprintf(text, sizeof text, reporting == 0 ? "no vantage point has checked it yet" : "up at %d of %d", tl.up,
	    reporting);
	cJSON_AddStringToObject(a, "summary", text);
	if (detail)
		cJSON_AddItemToObject(o, "vantage_points", pts);
	else
		cJSON_Delete(pts);
}

void
meshtargets_stats(struct meshtargets *mt, struct meshtargets_stats *out)
{
	memset(out, 0, sizeof *out);
	if (mt == NULL)
		return;
	pthread_mutex_lock(&mt->lock);
	own_refresh_locked(mt);
	out->own = mt->own_count;
	out->origins = mt->norigins;
	out->lists_in = mt->lists_in;
	out->results_in = mt->results_in;
	out->declined = mt->declined;
	pthread_mutex_unlock(&mt->lock);
}
