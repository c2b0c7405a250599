/* store_inventory: what reporting origins say besides their matrix cells
   (hosts, services, TCP targets, the newest traffic second, discovery
   changes), kept per origin, and this node's own under its own id. Pure
   SQL: services, protocols and top talkers are child rows, not JSON.
   Written by HTTP workers (POST /report, inside store.c's report
   transaction; the mesh inventory readers refreshing this node's own
   inventory), read by HTTP workers; every call holds the store lock.
   Bounds: INVENTORY_MAX_HOSTS and INVENTORY_MAX_CHANGES per origin
   (limits.h); targets and traffic are replaced, never accumulated; the
   size cap sheds stale origins' inventory first, then the oldest changes
   (store.c's shed_locked); forgetting an origin removes all of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/limits.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "store_internal.h"

const char store_schema_inventory[] =
	"CREATE TABLE inv_origins (origin TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, interval_s INTEGER NOT NULL,"
	"  generated_at INTEGER NOT NULL);"
	"CREATE TABLE inv_hosts (origin TEXT NOT NULL, ip TEXT NOT NULL, mac TEXT NOT NULL, vendor TEXT NOT NULL,"
	"  hostname TEXT NOT NULL, gone INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	"  PRIMARY KEY (origin, ip));"
	"CREATE INDEX inv_hosts_ip ON inv_hosts(ip);"
	"CREATE TABLE inv_services (origin TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL, proto TEXT NOT NULL,"
	"  service TEXT NOT NULL, confidence TEXT NOT NULL, PRIMARY KEY (origin, ip, port, proto));"
	"CREATE TABLE inv_targets (origin TEXT NOT NULL, target_id INTEGER NOT NULL, name TEXT NOT NULL, host TEXT NOT NULL,"
	"  port INTEGER NOT NULL, state TEXT NOT NULL, success_ratio REAL, last_check INTEGER NOT NULL,"
	"  PRIMARY KEY (origin, target_id));"
	"CREATE TABLE inv_traffic (origin TEXT PRIMARY KEY, state TEXT NOT NULL, t INTEGER NOT NULL, pps REAL NOT NULL,"
	"  bps REAL NOT NULL, packets INTEGER NOT NULL, bytes INTEGER NOT NULL, drops INTEGER NOT NULL,"
	"  packets_total INTEGER NOT NULL, bytes_total INTEGER NOT NULL, drops_total INTEGER NOT NULL,"
	"  flows INTEGER NOT NULL, generated_at INTEGER NOT NULL);"
	/* kind 0: bytes by protocol (name), 1: top talkers (name = ip), in rank order */
	"CREATE TABLE inv_traffic_items (origin TEXT NOT NULL, kind INTEGER NOT NULL, rank INTEGER NOT NULL,"
	"  name TEXT NOT NULL, bytes INTEGER NOT NULL, packets INTEGER NOT NULL, PRIMARY KEY (origin, kind, rank));"
	"CREATE TABLE inv_changes (origin TEXT NOT NULL, t INTEGER NOT NULL, ip TEXT NOT NULL, kind TEXT NOT NULL,"
	"  port INTEGER NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (origin, t, ip, kind, port));"
	"CREATE INDEX inv_changes_t ON inv_changes(t);";

/* The tables an origin's inventory lives in, the children first. */
static const char *const inv_tables[] = {"inv_services", "inv_hosts", "inv_targets", "inv_traffic_items",
    "inv_traffic", "inv_changes", "inv_origins"};

void
store_inventory_free(struct report_inventory *inv)
{
	if (inv == NULL)
		return;
	free(inv->targets);
	store_inventory_hosts_free(inv->hosts, inv->nhosts);
	free(inv->changes);
	memset(inv, 0, sizeof *inv);
}

void
store_inventory_hosts_free(struct inv_host *rows, int n)
{
	for (int i = 0; rows && i < n; i++)
		free(rows[i].svc);
	free(rows);
}

static int64_t
u64_db(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Runs sql with ?1 = origin and ?2 = n; rows changed or MW_EDB. */
static int
exec_origin_locked(struct store *st, const char *sql, const char *origin, int64_t n)
{
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, n);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? sqlite3_changes(st->db) : MW_EDB;
}

int
store_inventory_forget_locked(struct store *st, const char *origin)
{
	int removed = 0;
	for (size_t i = 0; i < MW_ARRAY_LEN(inv_tables); i++) {
		char sql[96];
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE origin=?1", inv_tables[i]);
		int d = exec_origin_locked(st, sql, origin, 0);
		if (d > 0)
			removed += d;
	}
	return removed;
}

static int
put_targets_locked(struct store *st, const char *origin, const struct report_inventory *inv)
{
	if (exec_origin_locked(st, "DELETE FROM inv_targets WHERE origin=?1", origin, 0) < 0)
		return MW_EDB;
	sqlite3_stmt *s = store_prep(st, "INSERT OR REPLACE INTO inv_targets(origin,target_id,name,host,port,state,"
	                                 "success_ratio,last_check) VALUES(?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	int rc = 0;
	for (int i = 0; rc == 0 && i < inv->ntargets; i++) {
		const struct inv_target *t = &inv->targets[i];
		sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, t->id);
		sqlite3_bind_text(s, 3, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, t->host, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 5, t->port);
		sqlite3_bind_text(s, 6, t->state, -1, SQLITE_STATIC);
		if (t->success_ratio >= 0)
			sqlite3_bind_double(s, 7, t->success_ratio);
		else
			sqlite3_bind_null(s, 7);
		sqlite3_bind_int64(s, 8, t->last_check);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = MW_EDB;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	return rc;
}

static int
put_traffic_locked(struct store *st, const char *origin, const struct inv_traffic *t, int64_t generated_at)
{
	if (exec_origin_locked(st, "DELETE FROM inv_traffic WHERE origin=?1", origin, 0) < 0 ||
	    exec_origin_locked(st, "DELETE FROM inv_traffic_items WHERE origin=?1", origin, 0) < 0)
		return MW_EDB;
	if (t->state[0] == '\0')
		return 0; /* the origin captures nothing */
	sqlite3_stmt *s = store_prep(st, "INSERT INTO inv_traffic(origin,state,t,pps,bps,packets,bytes,drops,packets_total,"
	                                 "bytes_total,drops_total,flows,generated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, t->t);
	sqlite3_bind_double(s, 4, t->pps);
	sqlite3_bind_double(s, 5, t->bps);
	sqlite3_bind_int64(s, 6, u64_db(t->packets));
	sqlite3_bind_int64(s, 7, u64_db(t->bytes));
	sqlite3_bind_int64(s, 8, u64_db(t->drops));
	sqlite3_bind_int64(s, 9, u64_db(t->packets_total));
	sqlite3_bind_int64(s, 10, u64_db(t->bytes_total));
	sqlite3_bind_int64(s, 11, u64_db(t->drops_total));
	sqlite3_bind_int(s, 12, t->flows);
	sqlite3_bind_int64(s, 13, generated_at);
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : MW_EDB;
	sqlite3_finalize(s);
	s = rc == 0 ? store_prep(st, "INSERT INTO inv_traffic_items(origin,kind,rank,name,bytes,packets) VALUES(?,?,?,?,?,?)")
	            : NULL;
	if (s == NULL)
		return MW_EDB;
	for (int k = 0; k < 2; k++) {
		int n = k == 0 ? t->nproto : t->ntalkers;
		for (int i = 0; rc == 0 && i < n; i++) {
			sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 2, k);
			sqlite3_bind_int(s, 3, i);
			sqlite3_bind_text(s, 4, k == 0 ? t->proto[i].name : t->talkers[i].ip, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 5, u64_db(k == 0 ? t->proto[i].bytes : t->talkers[i].bytes));
			sqlite3_bind_int64(s, 6, k == 0 ? 0 : u64_db(t->talkers[i].packets));
			if (sqlite3_step(s) != SQLITE_DONE)
				rc = MW_EDB;
			sqlite3_reset(s);
		}
	}
	sqlite3_finalize(s);
	return rc;
}

static int
put_hosts_locked(struct store *st, const char *origin, const struct report_inventory *inv)
{
	/* a host's details move forward only: a late backlog report does not
	   undo a newer one, but may tell of an earlier first sighting */
	sqlite3_stmt *h = store_prep(st, "INSERT INTO inv_hosts(origin,ip,mac,vendor,hostname,gone,first_seen,last_seen) "
	                                 "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(origin,ip) DO UPDATE SET "
	                                 "first_seen=MIN(first_seen, excluded.first_seen), "
	                                 "mac=iif(excluded.last_seen >= last_seen, excluded.mac, mac), "
	                                 "vendor=iif(excluded.last_seen >= last_seen, excluded.vendor, vendor), "
	                                 "hostname=iif(excluded.last_seen >= last_seen, excluded.hostname, hostname), "
	                                 "gone=iif(excluded.last_seen >= last_seen, excluded.gone, gone), "
	                                 "last_seen=MAX(last_seen, excluded.last_seen) "
	                                 "RETURNING last_seen = ?8");
	sqlite3_stmt *del = store_prep(st, "DELETE FROM inv_services WHERE origin=? AND ip=?");
	sqlite3_stmt *sv = store_prep(st, "INSERT OR REPLACE INTO inv_services(origin,ip,port,proto,service,confidence) "
	                                  "VALUES(?,?,?,?,?,?)");
	int rc = h && del && sv ? 0 : MW_EDB;
	for (int i = 0; rc == 0 && i < inv->nhosts; i++) {
		const struct inv_host *x = &inv->hosts[i];
		sqlite3_bind_text(h, 1, origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(h, 2, x->ip, -1, SQLITE_STATIC);
		sqlite3_bind_text(h, 3, x->mac, -1, SQLITE_STATIC);
		sqlite3_bind_text(h, 4, x->vendor, -1, SQLITE_STATIC);
		sqlite3_bind_text(h, 5, x->hostname, -1, SQLITE_STATIC);
		sqlite3_bind_int(h, 6, x->gone);
		sqlite3_bind_int64(h, 7, x->first_seen);
		sqlite3_bind_int64(h, 8, x->last_seen);
		int step = sqlite3_step(h);
		int newest = step == SQLITE_ROW && sqlite3_column_int(h, 0) == 1;
		if (step == SQLITE_ROW)
			step = sqlite3_step(h);
		if (step != SQLITE_DONE)
			rc = MW_EDB;
		sqlite3_reset(h);
		if (rc != 0 || !newest)
			continue;
		/* the newest report of the host says which services it has */
		sqlite3_bind_text(del, 1, origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(del, 2, x->ip, -1, SQLITE_STATIC);
		if (sqlite3_step(del) != SQLITE_DONE)
			rc = MW_EDB;
		sqlite3_reset(del);
		for (int k = 0; rc == 0 && k < x->nsvc; k++) {
			const struct inv_service *v = &x->svc[k];
			sqlite3_bind_text(sv, 1, origin, -1, SQLITE_STATIC);
			sqlite3_bind_text(sv, 2, x->ip, -1, SQLITE_STATIC);
			sqlite3_bind_int(sv, 3, v->port);
			sqlite3_bind_text(sv, 4, v->proto, -1, SQLITE_STATIC);
			sqlite3_bind_text(sv, 5, v->service, -1, SQLITE_STATIC);
			sqlite3_bind_text(sv, 6, v->confidence, -1, SQLITE_STATIC);
			if (sqlite3_step(sv) != SQLITE_DONE)
				rc = MW_EDB;
			sqlite3_reset(sv);
		}
	}
	sqlite3_finalize(h);
	sqlite3_finalize(del);
	sqlite3_finalize(sv);
	if (rc != 0)
		return rc;
	/* at most INVENTORY_MAX_HOSTS per origin: the least recently seen go, with their services */
	if (exec_origin_locked(st, "DELETE FROM inv_hosts WHERE origin=?1 AND rowid NOT IN (SELECT rowid FROM inv_hosts "
	                           "WHERE origin=?1 ORDER BY last_seen DESC, ip LIMIT ?2)",
	        origin, INVENTORY_MAX_HOSTS) > 0 &&
	    exec_origin_locked(st, "DELETE FROM inv_services WHERE origin=?1 AND NOT EXISTS (SELECT 1 FROM inv_hosts h "
	                           "WHERE h.origin=?1 AND h.ip=inv_services.ip)",
	        origin, 0) < 0)
		return MW_EDB;
	return 0;
}

static int
put_changes_locked(struct store *st, const char *origin, const struct report_inventory *inv)
{
	sqlite3_stmt *s = store_prep(st, "INSERT OR IGNORE INTO inv_changes(origin,t,ip,kind,port,detail) VALUES(?,?,?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	int rc = 0;
	for (int i = 0; rc == 0 && i < inv->nchanges; i++) {
		const struct inv_change *c = &inv->changes[i];
		sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, c->t);
		sqlite3_bind_text(s, 3, c->ip, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, c->kind, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 5, c->port);
		sqlite3_bind_text(s, 6, c->detail, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = MW_EDB;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	if (rc == 0 && exec_origin_locked(st, "DELETE FROM inv_changes WHERE origin=?1 AND rowid NOT IN (SELECT rowid FROM "
	                                      "inv_changes WHERE origin=?1 ORDER BY t DESC LIMIT ?2)",
	                   origin, INVENTORY_MAX_CHANGES) < 0)
		rc = MW_EDB;
	return rc;
}

int
store_inventory_apply_locked(struct store *st, const char *origin, int interval_s, int64_t generated_at,
    const struct report_inventory *inv, int64_t now)
{
	sqlite3_stmt *s = store_prep(st, "SELECT generated_at FROM inv_origins WHERE origin=?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
	int64_t before = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : INT64_MIN;
	sqlite3_finalize(s);
	int newer = generated_at >= before;
	s = store_prep(st, "INSERT INTO inv_origins(origin,updated_at,interval_s,generated_at) VALUES(?,?,?,?) "
	                   "ON CONFLICT(origin) DO UPDATE SET updated_at=excluded.updated_at, interval_s=excluded.interval_s, "
	                   "generated_at=MAX(generated_at, excluded.generated_at)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, interval_s);
	sqlite3_bind_int64(s, 4, generated_at);
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : MW_EDB;
	sqlite3_finalize(s);
	if (rc == 0 && inv->has_targets && newer)
		rc = put_targets_locked(st, origin, inv);
	if (rc == 0 && inv->has_traffic && newer)
		rc = put_traffic_locked(st, origin, &inv->traffic, generated_at);
	if (rc == 0 && inv->has_discovery)
		rc = put_hosts_locked(st, origin, inv);
	if (rc == 0 && inv->has_discovery)
		rc = put_changes_locked(st, origin, inv);
	return rc;
}

static int
set_self_locked(struct store *st, const char *id, int interval_s, const struct report_inventory *inv, int64_t now)
{
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int rc = store_inventory_apply_locked(st, id, interval_s, now, inv, now);
	store_exec_locked(st, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return rc;
}

int
store_inventory_set_self(struct store *st, const char *id, int interval_s, const struct report_inventory *inv,
    int64_t now)
{
	return LOCKED(st, set_self_locked(st, id, interval_s, inv, now));
}

static int64_t
self_updated_locked(struct store *st, const char *id)
{
	sqlite3_stmt *s = store_prep(st, "SELECT updated_at FROM inv_origins WHERE origin=?");
	if (s == NULL)
		return 0;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return v;
}

int64_t
store_inventory_self_updated(struct store *st, const char *id)
{
	return LOCKED(st, self_updated_locked(st, id));
}

/* ---- the size cap and retention ---- */

int
store_inventory_shed_stale_locked(struct store *st, int64_t now, int rows)
{
	sqlite3_stmt *s = store_prep(st, "SELECT origin FROM inv_origins WHERE ?1 - updated_at > 3 * interval_s "
	                                 "ORDER BY updated_at LIMIT 1");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, now);
	char id[64] = "";
	if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(id, sizeof id, "%s", store_col_text(s, 0));
	sqlite3_finalize(s);
	if (id[0] == '\0')
		return 0;
	/* a table at a time, about rows each round, the origin's row last */
	for (size_t i = 0; i + 1 < MW_ARRAY_LEN(inv_tables); i++) {
		char sql[160];
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE rowid IN (SELECT rowid FROM %s WHERE origin=?1 LIMIT ?2)",
		    inv_tables[i], inv_tables[i]);
		int d = exec_origin_locked(st, sql, id, rows);
		if (d != 0)
			return d;
	}
	return exec_origin_locked(st, "DELETE FROM inv_origins WHERE origin=?1", id, 0);
}

int
store_inventory_shed_changes_locked(struct store *st, int rows)
{
	return store_bind_exec_locked(st, "DELETE FROM inv_changes WHERE rowid IN (SELECT rowid FROM inv_changes "
	                                  "ORDER BY t LIMIT ?1)",
	    rows);
}

int
store_inventory_changes_count_locked(struct store *st)
{
	return store_int_query_locked(st, "SELECT COUNT(*) FROM inv_changes");
}

int
store_inventory_expire_locked(struct store *st, int64_t before)
{
	int e = store_bind_exec_locked(st, "DELETE FROM inv_changes WHERE t < ?1", before);
	int h = store_bind_exec_locked(st, "DELETE FROM inv_hosts WHERE last_seen < ?1", before);
	if (h > 0)
		store_exec_locked(st, "DELETE FROM inv_services WHERE NOT EXISTS (SELECT 1 FROM inv_hosts h "
		                      "WHERE h.origin = inv_services.origin AND h.ip = inv_services.ip)",
		    NULL, 0);
	return (e > 0 ? e : 0) + (h > 0 ? h : 0);
}

/* ---- reads ---- */

/* The origin columns every read joins: id, fqdn, received_at,
   interval_s, updated_at (5 columns from base). */
#define SRC_COLS "x.origin, COALESCE(o.fqdn, ''), COALESCE(o.received_at, 0), COALESCE(o.interval_s, 0), " \
                 "COALESCE(io.updated_at, 0)"
#define SRC_JOIN "LEFT JOIN origins o ON o.id = x.origin LEFT JOIN inv_origins io ON io.origin = x.origin"

static void
read_src(sqlite3_stmt *s, int base, struct inv_src *src)
{
	snprintf(src->id, sizeof src->id, "%s", store_col_text(s, base));
	snprintf(src->fqdn, sizeof src->fqdn, "%s", store_col_text(s, base + 1));
	src->received_at = sqlite3_column_int64(s, base + 2);
	src->interval_s = sqlite3_column_int(s, base + 3);
	src->updated_at = sqlite3_column_int64(s, base + 4);
}

/* Counts the rows of a "SELECT COUNT(*) ..." with ?1 origin, ?2 q, ?3 extra. */
static int
count3_locked(struct store *st, const char *sql, const char *a, const char *b, const char *c)
{
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c, -1, SQLITE_STATIC);
	int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : MW_EDB;
	sqlite3_finalize(s);
	return v;
}

/* ?1 origin ("" all), ?2 q (substring of ip, hostname, vendor, mac), ?3 service (exact) */
#define HOST_MATCH \
	"(?1 = '' OR x.origin = ?1) AND (?2 = '' OR instr(x.ip, ?2) OR instr(lower(x.hostname), lower(?2)) OR " \
	"instr(lower(x.vendor), lower(?2)) OR instr(lower(x.mac), lower(?2))) AND (?3 = '' OR EXISTS (SELECT 1 FROM " \
	"inv_services v WHERE v.origin = x.origin AND v.ip = x.ip AND v.service = ?3))"

static int
hosts_locked(struct store *st, const char *origin, const char *q, const char *service, int limit, int offset,
    struct inv_host **out, int *n, int *total, int *cut)
{
	*out = NULL;
	*n = 0;
	*cut = 0;
	*total = count3_locked(st, "SELECT COUNT(DISTINCT x.ip) FROM inv_hosts x WHERE " HOST_MATCH, origin, q, service);
	if (*total < 0)
		return MW_EDB;
	/* the page's addresses, then every origin's row of each */
	sqlite3_stmt *s = store_prep(st,
	    "WITH page AS (SELECT DISTINCT x.ip FROM inv_hosts x WHERE " HOST_MATCH " ORDER BY x.ip LIMIT ?4 OFFSET ?5) "
	    "SELECT " SRC_COLS ", x.ip, x.mac, x.vendor, x.hostname, x.gone, x.first_seen, x.last_seen "
	    "FROM inv_hosts x JOIN page p ON p.ip = x.ip " SRC_JOIN " ORDER BY x.ip, x.last_seen DESC, x.origin LIMIT ?6");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, q, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, service, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, limit);
	sqlite3_bind_int(s, 5, offset);
	sqlite3_bind_int(s, 6, INVENTORY_READ_MAX_ROWS + 1);
	int cap = 64, k = 0, rc = 0;
	struct inv_host *arr = calloc((size_t)cap, sizeof *arr);
	if (arr == NULL) {
		sqlite3_finalize(s);
		return MW_ENOMEM;
	}
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (k == INVENTORY_READ_MAX_ROWS) {
			*cut = 1;
			break;
		}
		if (k == cap) {
			struct inv_host *na = realloc(arr, (size_t)cap * 2 * sizeof *arr);
			if (na == NULL) {
				rc = MW_ENOMEM;
				break;
			}
			memset(na + cap, 0, (size_t)cap * sizeof *na);
			arr = na;
			cap *= 2;
		}
		struct inv_host *h = &arr[k++];
		read_src(s, 0, &h->src);
		snprintf(h->ip, sizeof h->ip, "%s", store_col_text(s, 5));
		snprintf(h->mac, sizeof h->mac, "%s", store_col_text(s, 6));
		snprintf(h->vendor, sizeof h->vendor, "%s", store_col_text(s, 7));
		snprintf(h->hostname, sizeof h->hostname, "%s", store_col_text(s, 8));
		h->gone = sqlite3_column_int(s, 9);
		h->first_seen = sqlite3_column_int64(s, 10);
		h->last_seen = sqlite3_column_int64(s, 11);
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = MW_EDB;
	sqlite3_finalize(s);
	sqlite3_stmt *v = rc == 0 ? store_prep(st, "SELECT port, proto, service, confidence FROM inv_services "
	                                           "WHERE origin=? AND ip=? ORDER BY port, proto LIMIT ?")
	                          : NULL;
	if (rc == 0 && v == NULL)
		rc = MW_EDB;
	for (int i = 0; rc == 0 && i < k; i++) {
		struct inv_host *h = &arr[i];
		h->svc = calloc(REPORT_MAX_SERVICES, sizeof *h->svc);
		if (h->svc == NULL) {
			rc = MW_ENOMEM;
			break;
		}
		sqlite3_bind_text(v, 1, h->src.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(v, 2, h->ip, -1, SQLITE_STATIC);
		sqlite3_bind_int(v, 3, REPORT_MAX_SERVICES);
		while (sqlite3_step(v) == SQLITE_ROW) {
			struct inv_service *x = &h->svc[h->nsvc++];
			x->port = sqlite3_column_int(v, 0);
			snprintf(x->proto, sizeof x->proto, "%s", store_col_text(v, 1));
			snprintf(x->service, sizeof x->service, "%s", store_col_text(v, 2));
			snprintf(x->confidence, sizeof x->confidence, "%s", store_col_text(v, 3));
		}
		sqlite3_reset(v);
	}
	sqlite3_finalize(v);
	if (rc != 0) {
		store_inventory_hosts_free(arr, k);
		return rc;
	}
	*out = arr;
	*n = k;
	return 0;
}

int
store_inventory_hosts(struct store *st, const char *origin, const char *q, const char *service, int limit, int offset,
    struct inv_host **rows, int *n, int *total, int *cut)
{
	return LOCKED(st, hosts_locked(st, origin, q, service, limit, offset, rows, n, total, cut));
}

/* One page of rows: sql with ?1..?nb bound to the texts b and the next
   two to limit and offset; each row (size bytes, zeroed) filled by fill.
   *out malloc'd. 0 or MW_EDB. */
static int
page_locked(struct store *st, const char *sql, const char *const *b, int nb, int limit, int offset, size_t size,
    void (*fill)(sqlite3_stmt *s, void *row, void *ctx), void *ctx, void **out, int *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = store_prep(st, sql);
	char *arr = calloc((size_t)(limit > 0 ? limit : 1), size);
	if (s == NULL || arr == NULL) {
		sqlite3_finalize(s);
		free(arr);
		return MW_EDB;
	}
	for (int i = 0; i < nb; i++)
		sqlite3_bind_text(s, i + 1, b[i], -1, SQLITE_STATIC);
	sqlite3_bind_int(s, nb + 1, limit);
	sqlite3_bind_int(s, nb + 2, offset);
	int k = 0;
	while (k < limit && sqlite3_step(s) == SQLITE_ROW)
		fill(s, arr + (size_t)k++ * size, ctx);
	sqlite3_finalize(s);
	*out = arr;
	*n = k;
	return 0;
}

#define TARGET_MATCH \
	"(?1 = '' OR x.origin = ?1) AND (?2 = '' OR instr(lower(x.name), lower(?2)) OR instr(lower(x.host), lower(?2)))"

static void
fill_target(sqlite3_stmt *s, void *row, void *ctx)
{
	struct inv_target *t = row;
	read_src(s, 0, &t->src);
	t->id = sqlite3_column_int64(s, 5);
	snprintf(t->name, sizeof t->name, "%s", store_col_text(s, 6));
	snprintf(t->host, sizeof t->host, "%s", store_col_text(s, 7));
	t->port = sqlite3_column_int(s, 8);
	snprintf(t->state, sizeof t->state, "%s", store_col_text(s, 9));
	t->success_ratio = sqlite3_column_type(s, 10) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 10);
	t->last_check = sqlite3_column_int64(s, 11);
}

static int
targets_locked(struct store *st, const char *origin, const char *q, int limit, int offset, struct inv_target **out,
    int *n, int *total)
{
	*total = count3_locked(st, "SELECT COUNT(*) FROM inv_targets x WHERE " TARGET_MATCH " AND ?3 = ''", origin, q, "");
	if (*total < 0)
		return MW_EDB;
	const char *b[] = {origin, q};
	return page_locked(st, "SELECT " SRC_COLS ", x.target_id, x.name, x.host, x.port, x.state, x.success_ratio, "
	                       "x.last_check FROM inv_targets x " SRC_JOIN " WHERE " TARGET_MATCH
	                       " ORDER BY COALESCE(o.fqdn, ''), x.origin, x.name, x.target_id LIMIT ?3 OFFSET ?4",
	    b, 2, limit, offset, sizeof **out, fill_target, NULL, (void **)out, n);
}

int
store_inventory_targets(struct store *st, const char *origin, const char *q, int limit, int offset,
    struct inv_target **rows, int *n, int *total)
{
	return LOCKED(st, targets_locked(st, origin, q, limit, offset, rows, n, total));
}

/* ctx: the statement reading an origin's protocols and talkers */
static void
fill_traffic(sqlite3_stmt *s, void *row, void *ctx)
{
	struct inv_traffic *t = row;
	sqlite3_stmt *it = ctx;
	read_src(s, 0, &t->src);
	snprintf(t->state, sizeof t->state, "%s", store_col_text(s, 5));
	t->t = sqlite3_column_int64(s, 6);
	t->pps = sqlite3_column_double(s, 7);
	t->bps = sqlite3_column_double(s, 8);
	t->packets = (uint64_t)sqlite3_column_int64(s, 9);
	t->bytes = (uint64_t)sqlite3_column_int64(s, 10);
	t->drops = (uint64_t)sqlite3_column_int64(s, 11);
	t->packets_total = (uint64_t)sqlite3_column_int64(s, 12);
	t->bytes_total = (uint64_t)sqlite3_column_int64(s, 13);
	t->drops_total = (uint64_t)sqlite3_column_int64(s, 14);
	t->flows = sqlite3_column_int(s, 15);
	t->generated_at = sqlite3_column_int64(s, 16);
	sqlite3_bind_text(it, 1, t->src.id, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(it) == SQLITE_ROW) {
		int kind = sqlite3_column_int(it, 0);
		if (kind == 0 && t->nproto < INVENTORY_MAX_PROTOS) {
			struct inv_proto *p = &t->proto[t->nproto++];
			snprintf(p->name, sizeof p->name, "%s", store_col_text(it, 1));
			p->bytes = (uint64_t)sqlite3_column_int64(it, 2);
		} else if (kind == 1 && t->ntalkers < INVENTORY_MAX_TALKERS) {
			struct inv_talker *x = &t->talkers[t->ntalkers++];
			snprintf(x->ip, sizeof x->ip, "%s", store_col_text(it, 1));
			x->bytes = (uint64_t)sqlite3_column_int64(it, 2);
			x->packets = (uint64_t)sqlite3_column_int64(it, 3);
		}
	}
	sqlite3_reset(it);
}

static int
traffic_locked(struct store *st, const char *origin, int limit, int offset, struct inv_traffic **out, int *n,
    int *total)
{
	*total = count3_locked(st, "SELECT COUNT(*) FROM inv_traffic x WHERE (?1 = '' OR x.origin = ?1) AND ?2 = ?3", origin,
	    "", "");
	if (*total < 0)
		return MW_EDB;
	sqlite3_stmt *it = store_prep(st, "SELECT kind, name, bytes, packets FROM inv_traffic_items WHERE origin=? "
	                                  "ORDER BY kind, rank");
	if (it == NULL)
		return MW_EDB;
	const char *b[] = {origin};
	int rc = page_locked(st, "SELECT " SRC_COLS ", x.state, x.t, x.pps, x.bps, x.packets, x.bytes, x.drops, "
	                         "x.packets_total, x.bytes_total, x.drops_total, x.flows, x.generated_at "
	                         "FROM inv_traffic x " SRC_JOIN " WHERE (?1 = '' OR x.origin = ?1) "
	                         "ORDER BY COALESCE(o.fqdn, ''), x.origin LIMIT ?2 OFFSET ?3",
	    b, 1, limit, offset, sizeof **out, fill_traffic, it, (void **)out, n);
	sqlite3_finalize(it);
	return rc;
}

int
store_inventory_traffic(struct store *st, const char *origin, int limit, int offset, struct inv_traffic **rows, int *n,
    int *total)
{
	return LOCKED(st, traffic_locked(st, origin, limit, offset, rows, n, total));
}

static int
totals_locked(struct store *st, const char *origin, const char *self_id, int64_t now, struct inv_traffic_totals *out)
{
	memset(out, 0, sizeof *out);
	/* fresh: this node's own row, or an origin whose last report is within three of its intervals */
	sqlite3_stmt *s = store_prep(st,
	    "SELECT COUNT(*), SUM(f), SUM(iif(f, x.pps, 0)), SUM(iif(f, x.bps, 0)), SUM(x.packets_total), "
	    "SUM(x.bytes_total), SUM(x.drops_total) FROM (SELECT x.*, (x.origin = ?2 OR ?3 - o.received_at <= 3 * o.interval_s) "
	    "AS f FROM inv_traffic x LEFT JOIN origins o ON o.id = x.origin WHERE ?1 = '' OR x.origin = ?1) x");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, self_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	int rc = MW_EDB;
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->origins = sqlite3_column_int(s, 0);
		out->fresh = sqlite3_column_int(s, 1);
		out->pps = sqlite3_column_double(s, 2);
		out->bps = sqlite3_column_double(s, 3);
		out->packets_total = (uint64_t)sqlite3_column_int64(s, 4);
		out->bytes_total = (uint64_t)sqlite3_column_int64(s, 5);
		out->drops_total = (uint64_t)sqlite3_column_int64(s, 6);
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int
store_inventory_traffic_totals(struct store *st, const char *origin, const char *self_id, int64_t now,
    struct inv_traffic_totals *out)
{
	return LOCKED(st, totals_locked(st, origin, self_id, now, out));
}

#define CHANGE_MATCH "(?1 = '' OR x.origin = ?1) AND (?2 = '' OR instr(x.ip, ?2)) AND (?3 = '' OR x.kind = ?3)"

static void
fill_change(sqlite3_stmt *s, void *row, void *ctx)
{
	struct inv_change *c = row;
	read_src(s, 0, &c->src);
	c->t = sqlite3_column_int64(s, 5);
	snprintf(c->ip, sizeof c->ip, "%s", store_col_text(s, 6));
	snprintf(c->kind, sizeof c->kind, "%s", store_col_text(s, 7));
	c->port = sqlite3_column_int(s, 8);
	snprintf(c->detail, sizeof c->detail, "%s", store_col_text(s, 9));
}

static int
changes_locked(struct store *st, const char *origin, const char *q, const char *kind, int limit, int offset,
    struct inv_change **out, int *n, int *total)
{
	*total = count3_locked(st, "SELECT COUNT(*) FROM inv_changes x WHERE " CHANGE_MATCH, origin, q, kind);
	if (*total < 0)
		return MW_EDB;
	const char *b[] = {origin, q, kind};
	return page_locked(st, "SELECT " SRC_COLS ", x.t, x.ip, x.kind, x.port, x.detail FROM inv_changes x " SRC_JOIN
	                       " WHERE " CHANGE_MATCH " ORDER BY x.t DESC, x.origin, x.ip, x.port LIMIT ?4 OFFSET ?5",
	    b, 3, limit, offset, sizeof **out, fill_change, NULL, (void **)out, n);
}

int
store_inventory_changes(struct store *st, const char *origin, const char *q, const char *kind, int limit, int offset,
    struct inv_change **rows, int *n, int *total)
{
	return LOCKED(st, changes_locked(st, origin, q, kind, limit, offset, rows, n, total));
}

static int
origin_id_locked(struct store *st, const char *name, char id[37])
{
	sqlite3_stmt *s = store_prep(st, "SELECT id FROM origins WHERE id = ?1 OR lower(fqdn) = lower(?1) "
	                                 "ORDER BY received_at DESC LIMIT 1");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = MW_ENOTFOUND;
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(id, 37, "%s", store_col_text(s, 0));
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int
store_inventory_origin_id(struct store *st, const char *name, char id[37])
{
	return LOCKED(st, origin_id_locked(st, name, id));
}

static void
fill_origin(sqlite3_stmt *s, void *row, void *ctx)
{
	struct inv_origin_count *c = row;
	read_src(s, 0, &c->src);
	c->hosts = sqlite3_column_int(s, 5);
	c->targets = sqlite3_column_int(s, 6);
	c->changes = sqlite3_column_int(s, 7);
	c->traffic = sqlite3_column_int(s, 8);
}

static int
origins_locked(struct store *st, int limit, int offset, struct inv_origin_count **out, int *n, int *total)
{
	*total = store_int_query_locked(st, "SELECT COUNT(*) FROM inv_origins");
	if (*total < 0)
		return MW_EDB;
	return page_locked(st,
	    "SELECT " SRC_COLS ", (SELECT COUNT(*) FROM inv_hosts h WHERE h.origin = x.origin), "
	    "(SELECT COUNT(*) FROM inv_targets t WHERE t.origin = x.origin), "
	    "(SELECT COUNT(*) FROM inv_changes c WHERE c.origin = x.origin), "
	    "(SELECT COUNT(*) FROM inv_traffic f WHERE f.origin = x.origin) "
	    "FROM inv_origins x " SRC_JOIN " ORDER BY COALESCE(o.fqdn, ''), x.origin LIMIT ?1 OFFSET ?2",
	    NULL, 0, limit, offset, sizeof **out, fill_origin, NULL, (void **)out, n);
}

int
store_inventory_origins(struct store *st, int limit, int offset, struct inv_origin_count **rows, int *n, int *total)
{
	return LOCKED(st, origins_locked(st, limit, offset, rows, n, total));
}
