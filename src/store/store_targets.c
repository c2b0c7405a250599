/* store_targets: the targets table (configuration and last state) and
   target_checks (one row per check, kept per target by its retention). */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/log.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

const char store_schema_targets[] =
	"CREATE TABLE targets ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,"
	"  interval_s INTEGER NOT NULL, timeout_ms INTEGER NOT NULL,"
	"  retention_period INTEGER NOT NULL, retention_unit TEXT NOT NULL, retention_s INTEGER NOT NULL,"
	"  enabled INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0, last_check_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_connect_ms REAL, last_error TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE target_checks ("
	"  target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,"
	"  ts_ms INTEGER NOT NULL, state INTEGER NOT NULL, connect_ms REAL, error TEXT);"
	"CREATE INDEX target_checks_target_ts ON target_checks(target_id, ts_ms);"
	"CREATE INDEX target_checks_ts ON target_checks(ts_ms);";

/* Migration 13: targets checked from many vantage points. A row with an
   origin_id is a copy this node checks for another node (its target
   origin_target); target_vantage holds what each vantage point last said
   of one of this node's own mesh targets. */
const char store_schema_mesh_targets[] =
	"ALTER TABLE targets ADD COLUMN mesh INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE targets ADD COLUMN vantage TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE targets ADD COLUMN origin_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE targets ADD COLUMN origin_fqdn TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE targets ADD COLUMN origin_target INTEGER NOT NULL DEFAULT 0;"
	"CREATE UNIQUE INDEX targets_origin ON targets(origin_id, origin_target) WHERE origin_id != '';"
	"CREATE TABLE target_vantage ("
	"  target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,"
	"  node_id TEXT NOT NULL, fqdn TEXT NOT NULL, state INTEGER NOT NULL, connect_ms REAL,"
	"  checked_ms INTEGER NOT NULL, received_at INTEGER NOT NULL, recent_checks INTEGER NOT NULL,"
	"  recent_up REAL, error TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (target_id, node_id));";

static const char *const state_names[TS_COUNT] = {"unknown", "up", "refused", "timeout", "unreachable", "dns_error"};

const char *
target_state_name(int state)
{
	return state >= 0 && state < TS_COUNT ? state_names[state] : "unknown";
}

int
target_state_parse(const char *s)
{
	for (int i = 0; i < TS_COUNT; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

int64_t
target_retention_s(int period, const char *unit)
{
	static const struct {
		const char *name;
		int64_t s;
	} units[] = {{"minutes", 60}, {"hours", 3600}, {"days", 86400}, {"weeks", 7 * 86400}, {"months", 30 * 86400}};
	for (size_t i = 0; i < MW_ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].name) == 0)
			return (int64_t)period * units[i].s;
	return 0;
}

#define TARGET_COLS \
	"id,name,host,port,interval_s,timeout_ms,retention_period,retention_unit,enabled,created_at,updated_at," \
	"state,last_check_ms,last_connect_ms,last_error,mesh,vantage,origin_id,origin_fqdn,origin_target"

static void
read_target(sqlite3_stmt *s, struct target_row *t)
{
	memset(t, 0, sizeof *t);
	t->id = sqlite3_column_int64(s, 0);
	snprintf(t->name, sizeof t->name, "%s", store_col_text(s, 1));
	snprintf(t->host, sizeof t->host, "%s", store_col_text(s, 2));
	t->port = sqlite3_column_int(s, 3);
	t->interval_s = sqlite3_column_int(s, 4);
	t->timeout_ms = sqlite3_column_int(s, 5);
	t->retention_period = sqlite3_column_int(s, 6);
	snprintf(t->retention_unit, sizeof t->retention_unit, "%s", store_col_text(s, 7));
	t->enabled = sqlite3_column_int(s, 8);
	t->created_at = sqlite3_column_int64(s, 9);
	t->updated_at = sqlite3_column_int64(s, 10);
	t->state = sqlite3_column_int(s, 11);
	t->last_check_ms = sqlite3_column_int64(s, 12);
	t->last_connect_ms = sqlite3_column_type(s, 13) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 13);
	snprintf(t->last_error, sizeof t->last_error, "%s", store_col_text(s, 14));
	t->mesh = sqlite3_column_int(s, 15);
	snprintf(t->vantage, sizeof t->vantage, "%s", store_col_text(s, 16));
	snprintf(t->origin_id, sizeof t->origin_id, "%s", store_col_text(s, 17));
	snprintf(t->origin_fqdn, sizeof t->origin_fqdn, "%s", store_col_text(s, 18));
	t->origin_target = sqlite3_column_int64(s, 19);
}

static int
get_locked(struct store *st, int64_t id, struct target_row *out)
{
	sqlite3_stmt *s = store_prep(st, "SELECT " TARGET_COLS " FROM targets WHERE id=?1");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_target(s, out);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? MW_ENOTFOUND : MW_EDB;
}

int
store_target_get(struct store *st, int64_t id, struct target_row *out)
{
	return LOCKED(st, get_locked(st, id, out));
}

/* Binds the configuration fields as ?1..?12 (retention_s is ?8, the
   time ?10). */
static void
bind_config(sqlite3_stmt *s, const struct target_row *t)
{
	sqlite3_bind_text(s, 1, t->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, t->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, t->port);
	sqlite3_bind_int(s, 4, t->interval_s);
	sqlite3_bind_int(s, 5, t->timeout_ms);
	sqlite3_bind_int(s, 6, t->retention_period);
	sqlite3_bind_text(s, 7, t->retention_unit, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 8, target_retention_s(t->retention_period, t->retention_unit));
	sqlite3_bind_int(s, 9, t->enabled ? 1 : 0);
	sqlite3_bind_int64(s, 10, mw_wall_s());
	sqlite3_bind_int(s, 11, t->mesh ? 1 : 0);
	sqlite3_bind_text(s, 12, t->vantage, -1, SQLITE_TRANSIENT);
}

static int
create_locked(struct store *st, const struct target_row *in, int max, struct target_row *out)
{
	if (store_int_query_locked(st, "SELECT COUNT(*) FROM targets") >= max)
		return MW_ETOOBIG;
	sqlite3_stmt *s = store_prep(st,
	    "INSERT INTO targets(name,host,port,interval_s,timeout_ms,retention_period,retention_unit,retention_s,"
	    "enabled,created_at,updated_at,mesh,vantage,origin_id,origin_fqdn,origin_target) "
	    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11,?12,?13,?14,?15)");
	if (s == NULL)
		return MW_EDB;
	bind_config(s, in);
	sqlite3_bind_text(s, 13, in->origin_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 14, in->origin_fqdn, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 15, in->origin_target);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return MW_EDB;
	return get_locked(st, sqlite3_last_insert_rowid(st->db), out);
}

int
store_target_create(struct store *st, const struct target_row *in, int max, struct target_row *out)
{
	return LOCKED(st, create_locked(st, in, max, out));
}

static int
update_locked(struct store *st, const struct target_row *in)
{
	sqlite3_stmt *s = store_prep(st,
	    "UPDATE targets SET name=?1,host=?2,port=?3,interval_s=?4,timeout_ms=?5,retention_period=?6,"
	    "retention_unit=?7,retention_s=?8,enabled=?9,updated_at=?10,mesh=?11,vantage=?12,origin_fqdn=?14 "
	    "WHERE id=?13");
	if (s == NULL)
		return MW_EDB;
	bind_config(s, in);
	sqlite3_bind_int64(s, 13, in->id);
	sqlite3_bind_text(s, 14, in->origin_fqdn, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return MW_EDB;
	return sqlite3_changes(st->db) == 1 ? 0 : MW_ENOTFOUND;
}

int
store_target_update(struct store *st, const struct target_row *in)
{
	return LOCKED(st, update_locked(st, in));
}

/* A target's history, its vantage results and the row, inside the
   caller's transaction: 1 when the row went, 0 when there was none,
   MW_EDB. (The history first, by its index: the cascade would do the
   same one row at a time.) */
static int
delete_rows_locked(struct store *st, int64_t id)
{
	if (store_bind_exec_locked(st, "DELETE FROM target_checks WHERE target_id=?1", id) < 0 ||
	    store_bind_exec_locked(st, "DELETE FROM target_vantage WHERE target_id=?1", id) < 0)
		return MW_EDB;
	return store_bind_exec_locked(st, "DELETE FROM targets WHERE id=?1", id);
}

static int
delete_locked(struct store *st, int64_t id)
{
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int changed = delete_rows_locked(st, id);
	if (changed < 0) {
		store_exec_locked(st, "ROLLBACK", NULL, 0);
		return MW_EDB;
	}
	if (store_exec_locked(st, "COMMIT", NULL, 0))
		return MW_EDB;
	return changed == 1 ? 0 : MW_ENOTFOUND;
}

int
store_target_delete(struct store *st, int64_t id)
{
	return LOCKED(st, delete_locked(st, id));
}

static int
list_locked(struct store *st, const char *q, int enabled, int state, int limit, int offset, struct target_row **rows,
    int *n, int *total)
{
	static const char where[] =
	    " FROM targets WHERE (?1 IS NULL OR instr(lower(name), lower(?1)) > 0 OR instr(lower(host), lower(?1)) > 0)"
	    " AND (?2 < 0 OR enabled = ?2) AND (?3 < 0 OR state = ?3)";
	char sql[1024];
	*rows = NULL;
	*n = 0;
	*total = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			snprintf(sql, sizeof sql, "SELECT COUNT(*)%s", where);
		else
			snprintf(sql, sizeof sql, "SELECT " TARGET_COLS "%s ORDER BY id LIMIT ?4 OFFSET ?5", where);
		sqlite3_stmt *s = store_prep(st, sql);
		if (s == NULL)
			return MW_EDB;
		if (q && q[0])
			sqlite3_bind_text(s, 1, q, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 2, enabled);
		sqlite3_bind_int(s, 3, state);
		if (pass == 0) {
			if (sqlite3_step(s) == SQLITE_ROW)
				*total = sqlite3_column_int(s, 0);
			sqlite3_finalize(s);
			continue;
		}
		sqlite3_bind_int(s, 4, limit);
		sqlite3_bind_int(s, 5, offset);
		struct target_row *out = calloc((size_t)(limit > 0 ? limit : 1), sizeof *out);
		if (out == NULL) {
			sqlite3_finalize(s);
			return MW_ENOMEM;
		}
		int k = 0, rc;
		while (k < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
			read_target(s, &out[k++]);
		sqlite3_finalize(s);
		*rows = out;
		*n = k;
	}
	return 0;
}

int
store_target_list(struct store *st, const char *q, int enabled, int state, int limit, int offset,
    struct target_row **rows, int *n, int *total)
{
	return LOCKED(st, list_locked(st, q, enabled, state, limit, offset, rows, n, total));
}

int
store_target_count(struct store *st)
{
	return LOCKED(st, store_int_query_locked(st, "SELECT COUNT(*) FROM targets"));
}

static int
checks_insert_locked(struct store *st, const struct check_row *rows, int n)
{
	sqlite3_stmt *ins = store_prep(st,
	    "INSERT INTO target_checks(target_id,ts_ms,state,connect_ms,error) "
	    "SELECT ?1,?2,?3,?4,?5 WHERE EXISTS (SELECT 1 FROM targets WHERE id=?1)");
	sqlite3_stmt *upd = store_prep(st,
	    "UPDATE targets SET state=?2,last_check_ms=?3,last_connect_ms=?4,last_error=?5 "
	    "WHERE id=?1 AND last_check_ms <= ?3");
	int rc = SQLITE_DONE;
	if (ins == NULL || upd == NULL || store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0)) {
		sqlite3_finalize(ins);
		sqlite3_finalize(upd);
		return MW_EDB;
	}
	for (int i = 0; i < n && rc == SQLITE_DONE; i++) {
		const struct check_row *c = &rows[i];
		sqlite3_bind_int64(ins, 1, c->target_id);
		sqlite3_bind_int64(ins, 2, c->ts_ms);
		sqlite3_bind_int(ins, 3, c->state);
		if (c->connect_ms >= 0)
			sqlite3_bind_double(ins, 4, c->connect_ms);
		else
			sqlite3_bind_null(ins, 4);
		if (c->error[0])
			sqlite3_bind_text(ins, 5, c->error, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(ins, 5);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (rc != SQLITE_DONE)
			break;
		sqlite3_bind_int64(upd, 1, c->target_id);
		sqlite3_bind_int(upd, 2, c->state);
		sqlite3_bind_int64(upd, 3, c->ts_ms);
		if (c->connect_ms >= 0)
			sqlite3_bind_double(upd, 4, c->connect_ms);
		else
			sqlite3_bind_null(upd, 4);
		sqlite3_bind_text(upd, 5, c->error, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(upd);
		sqlite3_reset(upd);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	if (rc != SQLITE_DONE) {
		log_error("db", "storing target checks failed: %s", sqlite3_errmsg(st->db));
		store_exec_locked(st, "ROLLBACK", NULL, 0);
		return MW_EDB;
	}
	return store_exec_locked(st, "COMMIT", NULL, 0) ? MW_EDB : 0;
}

int
store_checks_insert(struct store *st, const struct check_row *rows, int n)
{
	return n <= 0 ? 0 : LOCKED(st, checks_insert_locked(st, rows, n));
}

static int
checks_locked(struct store *st, int64_t id, int64_t from_ms, int64_t to_ms, int max, struct check_row **rows, int *n)
{
	sqlite3_stmt *s = store_prep(st,
	    "SELECT ts_ms,state,connect_ms,error FROM target_checks WHERE target_id=?1 AND ts_ms>=?2 AND ts_ms<?3 "
	    "ORDER BY ts_ms LIMIT ?4");
	*rows = NULL;
	*n = 0;
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, from_ms);
	sqlite3_bind_int64(s, 3, to_ms);
	sqlite3_bind_int(s, 4, max);
	int cap = 0, k = 0, rc;
	struct check_row *out = NULL;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (k == cap) {
			cap = cap ? cap * 2 : 256;
			struct check_row *grown = realloc(out, (size_t)cap * sizeof *out);
			if (grown == NULL) {
				free(out);
				sqlite3_finalize(s);
				return MW_ENOMEM;
			}
			out = grown;
		}
		struct check_row *c = &out[k++];
		c->target_id = id;
		c->ts_ms = sqlite3_column_int64(s, 0);
		c->state = sqlite3_column_int(s, 1);
		c->connect_ms = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 2);
		snprintf(c->error, sizeof c->error, "%s", store_col_text(s, 3));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(out);
		return MW_EDB;
	}
	*rows = out;
	*n = k;
	return 0;
}

int
store_target_checks(struct store *st, int64_t id, int64_t from_ms, int64_t to_ms, int max, struct check_row **rows,
    int *n)
{
	return LOCKED(st, checks_locked(st, id, from_ms, to_ms, max, rows, n));
}

static int
purge_locked(struct store *st, int64_t now_ms)
{
	/* per target, through the (target_id, ts_ms) index */
	sqlite3_stmt *ids = store_prep(st, "SELECT id, retention_s FROM targets");
	sqlite3_stmt *del = store_prep(st, "DELETE FROM target_checks WHERE target_id=?1 AND ts_ms<?2");
	int total = 0;
	if (ids == NULL || del == NULL || store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0)) {
		sqlite3_finalize(ids);
		sqlite3_finalize(del);
		return MW_EDB;
	}
	while (sqlite3_step(ids) == SQLITE_ROW) {
		sqlite3_bind_int64(del, 1, sqlite3_column_int64(ids, 0));
		sqlite3_bind_int64(del, 2, now_ms - sqlite3_column_int64(ids, 1) * 1000);
		if (sqlite3_step(del) == SQLITE_DONE)
			total += sqlite3_changes(st->db);
		sqlite3_reset(del);
	}
	sqlite3_finalize(ids);
	sqlite3_finalize(del);
	return store_exec_locked(st, "COMMIT", NULL, 0) ? MW_EDB : total;
}

int
store_targets_purge(struct store *st, int64_t now_ms)
{
	return LOCKED(st, purge_locked(st, now_ms));
}

/* ---- mesh targets ---- */

static int
mesh_list_locked(struct store *st, const char *origin, int max, struct target_row **rows, int *n)
{
	*rows = NULL;
	*n = 0;
	sqlite3_stmt *s = store_prep(st, origin == NULL ? "SELECT " TARGET_COLS " FROM targets WHERE mesh=1 AND "
	                                                  "origin_id='' ORDER BY id LIMIT ?1"
	                                 : origin[0] == '\0' ? "SELECT " TARGET_COLS " FROM targets WHERE origin_id!='' "
	                                                       "ORDER BY id LIMIT ?1"
	                                                     : "SELECT " TARGET_COLS " FROM targets WHERE origin_id=?2 "
	                                                       "ORDER BY origin_target LIMIT ?1");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int(s, 1, max);
	if (origin && origin[0])
		sqlite3_bind_text(s, 2, origin, -1, SQLITE_TRANSIENT);
	struct target_row *out = calloc((size_t)(max > 0 ? max : 1), sizeof *out);
	if (out == NULL) {
		sqlite3_finalize(s);
		return MW_ENOMEM;
	}
	int k = 0, rc = SQLITE_ROW;
	while (k < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_target(s, &out[k++]);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(out);
		return MW_EDB;
	}
	*rows = out;
	*n = k;
	return 0;
}

int
store_mesh_targets(struct store *st, const char *origin, int max, struct target_row **rows, int *n)
{
	return LOCKED(st, mesh_list_locked(st, origin, max, rows, n));
}

/* Whether a copy's configuration differs from what its origin now says. */
static int
copy_differs(const struct target_row *a, const struct target_row *b)
{
	return strcmp(a->name, b->name) || strcmp(a->host, b->host) || a->port != b->port ||
	       a->interval_s != b->interval_s || a->timeout_ms != b->timeout_ms ||
	       a->retention_period != b->retention_period || strcmp(a->retention_unit, b->retention_unit) ||
	       a->enabled != b->enabled || strcmp(a->vantage, b->vantage) || strcmp(a->origin_fqdn, b->origin_fqdn);
}

struct sync_out {
	int64_t *changed, *removed;
	int *nchanged, *nremoved, max, *refused;
};

static void
note_id(int64_t *arr, int *n, int max, int64_t id)
{
	if (*n < max)
		arr[(*n)++] = id;
}

static int
sync_rows_locked(struct store *st, const char *origin, const char *fqdn, const struct target_row *items, int n,
    int max_total, const struct target_row *old, int nold, struct sync_out *o)
{
	int copies = store_int_query_locked(st, "SELECT COUNT(*) FROM targets WHERE origin_id!=''");
	for (int i = 0; i < nold; i++) {
		int keep = 0;
		for (int j = 0; j < n && !keep; j++)
			keep = items[j].origin_target == old[i].origin_target;
		if (keep)
			continue;
		if (delete_rows_locked(st, old[i].id) < 0)
			return MW_EDB;
		note_id(o->removed, o->nremoved, o->max, old[i].id);
		copies--;
	}
	for (int j = 0; j < n; j++) {
		struct target_row t = items[j], out;
		snprintf(t.origin_id, sizeof t.origin_id, "%s", origin);
		snprintf(t.origin_fqdn, sizeof t.origin_fqdn, "%s", fqdn);
		t.mesh = 0; /* a copy is not distributed again */
		const struct target_row *was = NULL;
		for (int i = 0; i < nold && was == NULL; i++)
			if (old[i].origin_target == t.origin_target)
				was = &old[i];
		if (was) {
			if (!copy_differs(was, &t))
				continue;
			t.id = was->id;
			if (update_locked(st, &t) < 0)
				return MW_EDB;
			note_id(o->changed, o->nchanged, o->max, t.id);
			continue;
		}
		if (copies >= max_total) {
			(*o->refused)++;
			continue;
		}
		int rc = create_locked(st, &t, INT32_MAX, &out);
		if (rc != 0)
			return rc;
		copies++;
		note_id(o->changed, o->nchanged, o->max, out.id);
	}
	return 0;
}

static int
sync_locked(struct store *st, const char *origin, const char *fqdn, const struct target_row *items, int n,
    int max_total, struct sync_out *o)
{
	struct target_row *old = NULL;
	int nold = 0;
	int rc = mesh_list_locked(st, origin, MESH_TARGETS_MAX * 2, &old, &nold);
	if (rc != 0)
		return rc;
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0)) {
		free(old);
		return MW_EDB;
	}
	rc = sync_rows_locked(st, origin, fqdn, items, n, max_total, old, nold, o);
	free(old);
	if (rc != 0) {
		store_exec_locked(st, "ROLLBACK", NULL, 0);
		*o->nchanged = *o->nremoved = 0;
		return rc;
	}
	return store_exec_locked(st, "COMMIT", NULL, 0) ? MW_EDB : 0;
}

int
store_mesh_targets_sync(struct store *st, const char *origin, const char *origin_fqdn, const struct target_row *items,
    int n, int max_total, int64_t *changed, int *nchanged, int64_t *removed, int *nremoved, int max, int *refused)
{
	*nchanged = *nremoved = *refused = 0;
	if (origin == NULL || origin[0] == '\0')
		return MW_EINVAL;
	struct sync_out o = {changed, removed, nchanged, nremoved, max, refused};
	return LOCKED(st, sync_locked(st, origin, origin_fqdn, items, n, max_total, &o));
}

static int
vantage_put_locked(struct store *st, int64_t target_id, const struct vantage_row *v)
{
	sqlite3_stmt *s = store_prep(st,
	    "INSERT INTO target_vantage(target_id,node_id,fqdn,state,connect_ms,checked_ms,received_at,recent_checks,"
	    "recent_up,error) SELECT ?1,?2,?3,?4,?5,?6,?7,?8,?9,?10 WHERE EXISTS (SELECT 1 FROM targets WHERE id=?1) "
	    "ON CONFLICT(target_id,node_id) DO UPDATE SET fqdn=excluded.fqdn,state=excluded.state,"
	    "connect_ms=excluded.connect_ms,checked_ms=excluded.checked_ms,received_at=excluded.received_at,"
	    "recent_checks=excluded.recent_checks,recent_up=excluded.recent_up,error=excluded.error");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, target_id);
	sqlite3_bind_text(s, 2, v->node_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, v->fqdn, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 4, v->state);
	if (v->connect_ms >= 0)
		sqlite3_bind_double(s, 5, v->connect_ms);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_int64(s, 6, v->checked_ms);
	sqlite3_bind_int64(s, 7, v->received_at);
	sqlite3_bind_int(s, 8, v->recent_checks);
	if (v->recent_up >= 0)
		sqlite3_bind_double(s, 9, v->recent_up);
	else
		sqlite3_bind_null(s, 9);
	sqlite3_bind_text(s, 10, v->error, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : MW_EDB;
}

int
store_vantage_put(struct store *st, int64_t target_id, const struct vantage_row *v)
{
	return LOCKED(st, vantage_put_locked(st, target_id, v));
}

static int
vantage_list_locked(struct store *st, int64_t target_id, int max, struct vantage_row **rows, int *n)
{
	*rows = NULL;
	*n = 0;
	sqlite3_stmt *s = store_prep(st,
	    "SELECT node_id,fqdn,state,connect_ms,checked_ms,received_at,recent_checks,recent_up,error "
	    "FROM target_vantage WHERE target_id=?1 ORDER BY fqdn, node_id LIMIT ?2");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, target_id);
	sqlite3_bind_int(s, 2, max);
	struct vantage_row *out = calloc((size_t)(max > 0 ? max : 1), sizeof *out);
	if (out == NULL) {
		sqlite3_finalize(s);
		return MW_ENOMEM;
	}
	int k = 0;
	while (k < max && sqlite3_step(s) == SQLITE_ROW) {
		struct vantage_row *v = &out[k++];
		snprintf(v->node_id, sizeof v->node_id, "%s", store_col_text(s, 0));
		snprintf(v->fqdn, sizeof v->fqdn, "%s", store_col_text(s, 1));
		v->state = sqlite3_column_int(s, 2);
		v->connect_ms = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 3);
		v->checked_ms = sqlite3_column_int64(s, 4);
		v->received_at = sqlite3_column_int64(s, 5);
		v->recent_checks = sqlite3_column_int(s, 6);
		v->recent_up = sqlite3_column_type(s, 7) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 7);
		snprintf(v->error, sizeof v->error, "%s", store_col_text(s, 8));
	}
	sqlite3_finalize(s);
	*rows = out;
	*n = k;
	return 0;
}

int
store_vantage_list(struct store *st, int64_t target_id, int max, struct vantage_row **rows, int *n)
{
	return LOCKED(st, vantage_list_locked(st, target_id, max, rows, n));
}
