/* store_discovery: the discovery tables and their queries (see
   store_internal.h). Scans, hosts (scan and docker), their services,
   changes between scans and the per-port results of recent scans. Every
   table is bounded: store_discovery_apply trims them to the configured
   limits, and store_discovery_shed_locked gives rows back when the
   database is over its size cap. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#include "meshwatch/store.h"
#include "meshwatch/util.h"

const char store_schema_discovery[] =
	"CREATE TABLE scans ("
	" id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, started_at INTEGER NOT NULL DEFAULT 0,"
	" finished_at INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, trigger TEXT NOT NULL,"
	" subnets TEXT NOT NULL, ports TEXT NOT NULL, nports INTEGER NOT NULL DEFAULT 0,"
	" hosts_total INTEGER NOT NULL DEFAULT 0, hosts_done INTEGER NOT NULL DEFAULT 0,"
	" hosts_up INTEGER NOT NULL DEFAULT 0, found INTEGER NOT NULL DEFAULT 0,"
	" open_ports INTEGER NOT NULL DEFAULT 0, closed_ports INTEGER NOT NULL DEFAULT 0,"
	" filtered_ports INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE hosts ("
	" ip TEXT PRIMARY KEY, ipnum INTEGER NOT NULL, mac TEXT NOT NULL DEFAULT '', vendor TEXT NOT NULL DEFAULT '',"
	" hostname TEXT NOT NULL DEFAULT '', hostname_source TEXT NOT NULL DEFAULT 'ip',"
	" source TEXT NOT NULL DEFAULT 'scan', detail TEXT NOT NULL DEFAULT '',"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, gone INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX hosts_ipnum ON hosts(ipnum);"
	"CREATE INDEX hosts_last_seen ON hosts(last_seen);"
	"CREATE TABLE host_services ("
	" ip TEXT NOT NULL REFERENCES hosts(ip) ON DELETE CASCADE, port INTEGER NOT NULL,"
	" proto TEXT NOT NULL DEFAULT 'tcp', state TEXT NOT NULL, service TEXT NOT NULL DEFAULT '',"
	" confidence TEXT NOT NULL DEFAULT 'none', banner TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '',"
	" tls_subject TEXT NOT NULL DEFAULT '', first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" PRIMARY KEY (ip, port, proto));"
	"CREATE INDEX host_services_port ON host_services(port);"
	"CREATE TABLE host_changes ("
	" id INTEGER PRIMARY KEY, t INTEGER NOT NULL, scan_id INTEGER NOT NULL DEFAULT 0, ip TEXT NOT NULL,"
	" kind TEXT NOT NULL, port INTEGER NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX host_changes_t ON host_changes(t);"
	"CREATE TABLE scan_results ("
	" scan_id INTEGER NOT NULL, ipnum INTEGER NOT NULL, port INTEGER NOT NULL, state TEXT NOT NULL,"
	" PRIMARY KEY (scan_id, ipnum, port)) WITHOUT ROWID;";

/* Remote scans: on the node that ran one, who asked (requested_by_*); on
   the node that asked, where it ran (node_*) and its id there. */
const char store_schema_remote_scans[] =
	"ALTER TABLE scans ADD COLUMN requested_by_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE scans ADD COLUMN requested_by_fqdn TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE scans ADD COLUMN node_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE scans ADD COLUMN node_fqdn TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE scans ADD COLUMN remote_id INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX scans_node ON scans(node_id, state);";

#define COPY_COL(dst, s, i) snprintf((dst), sizeof(dst), "%s", store_col_text((s), (i)))

static uint32_t
ip_num(const char *ip)
{
	struct in_addr a;
	return inet_pton(AF_INET, ip, &a) == 1 ? ntohl(a.s_addr) : 0;
}

static void
ip_text(uint32_t v, char out[DISC_IP_MAX])
{
	snprintf(out, DISC_IP_MAX, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

static int
step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : MW_EDB;
}

/* ---- scans ---- */

#define SCAN_COLS \
	"id, created_at, started_at, finished_at, state, trigger, subnets, ports, nports, hosts_total, hosts_done," \
	" hosts_up, found, open_ports, closed_ports, filtered_ports, error, requested_by_id, requested_by_fqdn," \
	" node_id, node_fqdn, remote_id"

static void
scan_from_row(sqlite3_stmt *s, struct scan_row *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(s, 0);
	r->created_at = sqlite3_column_int64(s, 1);
	r->started_at = sqlite3_column_int64(s, 2);
	r->finished_at = sqlite3_column_int64(s, 3);
	COPY_COL(r->state, s, 4);
	COPY_COL(r->trigger, s, 5);
	COPY_COL(r->subnets, s, 6);
	COPY_COL(r->ports, s, 7);
	r->nports = sqlite3_column_int(s, 8);
	r->hosts_total = sqlite3_column_int(s, 9);
	r->hosts_done = sqlite3_column_int(s, 10);
	r->hosts_up = sqlite3_column_int(s, 11);
	r->found = sqlite3_column_int(s, 12);
	r->open = sqlite3_column_int(s, 13);
	r->closed = sqlite3_column_int(s, 14);
	r->filtered = sqlite3_column_int(s, 15);
	COPY_COL(r->error, s, 16);
	COPY_COL(r->requested_by_id, s, 17);
	COPY_COL(r->requested_by_fqdn, s, 18);
	COPY_COL(r->node_id, s, 19);
	COPY_COL(r->node_fqdn, s, 20);
	r->remote_id = sqlite3_column_int64(s, 21);
}

static int
scan_create_locked(struct store *st, struct scan_row *row)
{
	sqlite3_stmt *s = store_prep(st, "INSERT INTO scans(created_at,state,trigger,subnets,ports,nports,hosts_total,"
	                                 "requested_by_id,requested_by_fqdn,node_id,node_fqdn,remote_id) "
	                                 "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, row->created_at);
	sqlite3_bind_text(s, 2, row->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, row->trigger, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, row->subnets, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, row->ports, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, row->nports);
	sqlite3_bind_int(s, 7, row->hosts_total);
	sqlite3_bind_text(s, 8, row->requested_by_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, row->requested_by_fqdn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, row->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, row->node_fqdn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 12, row->remote_id);
	if (step_done(s) != 0)
		return MW_EDB;
	row->id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_scan_create(struct store *st, struct scan_row *row)
{
	return LOCKED(st, scan_create_locked(st, row));
}

static int
scan_update_locked(struct store *st, const struct scan_row *r)
{
	sqlite3_stmt *s = store_prep(st, "UPDATE scans SET started_at=?, finished_at=?, state=?, hosts_total=?, "
	                                 "hosts_done=?, hosts_up=?, found=?, open_ports=?, closed_ports=?, "
	                                 "filtered_ports=?, error=? WHERE id=?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, r->started_at);
	sqlite3_bind_int64(s, 2, r->finished_at);
	sqlite3_bind_text(s, 3, r->state, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, r->hosts_total);
	sqlite3_bind_int(s, 5, r->hosts_done);
	sqlite3_bind_int(s, 6, r->hosts_up);
	sqlite3_bind_int(s, 7, r->found);
	sqlite3_bind_int(s, 8, r->open);
	sqlite3_bind_int(s, 9, r->closed);
	sqlite3_bind_int(s, 10, r->filtered);
	sqlite3_bind_text(s, 11, r->error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 12, r->id);
	return step_done(s);
}

int
store_scan_update(struct store *st, const struct scan_row *row)
{
	return LOCKED(st, scan_update_locked(st, row));
}

static int
scan_get_locked(struct store *st, int64_t id, struct scan_row *out)
{
	sqlite3_stmt *s = store_prep(st, "SELECT " SCAN_COLS " FROM scans WHERE id=?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, id);
	int rc = MW_ENOTFOUND;
	if (sqlite3_step(s) == SQLITE_ROW) {
		scan_from_row(s, out);
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int
store_scan_get(struct store *st, int64_t id, struct scan_row *out)
{
	return LOCKED(st, scan_get_locked(st, id, out));
}

/* Runs a counted, paged query: count_sql and page_sql take the same
   text parameters (binds[0..nb-1]), page_sql two more (limit, offset).
   fill copies one row into rows[i] (elements of size sz). */
static int
paged_locked(struct store *st, const char *count_sql, const char *page_sql, const char *const *binds, int nb,
    int64_t num, int limit, int offset, void **rows, size_t sz, void (*fill)(sqlite3_stmt *, void *), int *n,
    int *total)
{
	*rows = NULL;
	*n = 0;
	*total = 0;
	sqlite3_stmt *s = store_prep(st, count_sql);
	if (s == NULL)
		return MW_EDB;
	for (int i = 0; i < nb; i++)
		sqlite3_bind_text(s, i + 1, binds[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, nb + 1, num);
	if (sqlite3_step(s) == SQLITE_ROW)
		*total = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	char *out = calloc((size_t)(limit > 0 ? limit : 1), sz);
	if (out == NULL)
		return MW_ENOMEM;
	s = store_prep(st, page_sql);
	if (s == NULL) {
		free(out);
		return MW_EDB;
	}
	for (int i = 0; i < nb; i++)
		sqlite3_bind_text(s, i + 1, binds[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, nb + 1, num);
	sqlite3_bind_int(s, nb + 2, limit);
	sqlite3_bind_int(s, nb + 3, offset);
	int k = 0;
	while (k < limit && sqlite3_step(s) == SQLITE_ROW)
		fill(s, out + (size_t)k++ * sz);
	sqlite3_finalize(s);
	*rows = out;
	*n = k;
	return 0;
}

static void
fill_scan(sqlite3_stmt *s, void *p)
{
	scan_from_row(s, p);
}

int
store_scan_list(struct store *st, const char *state, int limit, int offset, struct scan_row **rows, int *n,
    int *total)
{
	const char *b[] = {state ? state : ""};
	return LOCKED(st, paged_locked(st, "SELECT COUNT(*) FROM scans WHERE (?1='' OR state=?1) AND ?2=?2",
	                      "SELECT " SCAN_COLS " FROM scans WHERE (?1='' OR state=?1) AND ?2=?2 "
	                      "ORDER BY id DESC LIMIT ?3 OFFSET ?4",
	                      b, 1, 0, limit, offset, (void **)rows, sizeof **rows, fill_scan, n, total));
}

int
store_scans_interrupted(struct store *st, int64_t now)
{
	char sql[256];
	snprintf(sql, sizeof sql,
	    "UPDATE scans SET state='failed', finished_at=%lld, error='interrupted: the node stopped before the scan "
	    "finished' WHERE state IN ('queued','running') AND node_id=''",
	    (long long)now);
	return LOCKED(st, store_exec_locked(st, sql, NULL, 0));
}

/* Adds n per-port results of scan scan_id (in a transaction the caller
   holds). 0 or MW_EDB. */
static int
insert_results_locked(struct store *st, int64_t scan_id, const struct disc_result *results, int n)
{
	sqlite3_stmt *s = store_prep(st, "INSERT OR REPLACE INTO scan_results(scan_id,ipnum,port,state) VALUES(?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	int rc = 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, scan_id);
		sqlite3_bind_int64(s, 2, ip_num(results[i].ip));
		sqlite3_bind_int(s, 3, results[i].port);
		sqlite3_bind_text(s, 4, results[i].state, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = MW_EDB;
	}
	sqlite3_finalize(s);
	return rc;
}

static int
remote_active_locked(struct store *st, int max, struct scan_row **rows, int *n)
{
	*rows = NULL;
	*n = 0;
	struct scan_row *out = calloc((size_t)(max > 0 ? max : 1), sizeof *out);
	if (out == NULL)
		return MW_ENOMEM;
	sqlite3_stmt *s = store_prep(st, "SELECT " SCAN_COLS " FROM scans WHERE node_id<>'' AND state IN "
	                                 "('queued','running') ORDER BY id LIMIT ?");
	if (s == NULL) {
		free(out);
		return MW_EDB;
	}
	sqlite3_bind_int(s, 1, max);
	int k = 0;
	while (k < max && sqlite3_step(s) == SQLITE_ROW)
		scan_from_row(s, &out[k++]);
	sqlite3_finalize(s);
	*rows = out;
	*n = k;
	return 0;
}

int
store_scans_remote_active(struct store *st, int max, struct scan_row **rows, int *n)
{
	return LOCKED(st, remote_active_locked(st, max, rows, n));
}

static int
results_put_locked(struct store *st, int64_t scan_id, const struct disc_result *results, int n)
{
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int rc = 0;
	sqlite3_stmt *s = store_prep(st, "DELETE FROM scan_results WHERE scan_id=?");
	if (s == NULL)
		rc = MW_EDB;
	else {
		sqlite3_bind_int64(s, 1, scan_id);
		rc = step_done(s);
	}
	if (rc == 0)
		rc = insert_results_locked(st, scan_id, results, n);
	store_exec_locked(st, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return rc;
}

int
store_scan_results_put(struct store *st, int64_t scan_id, const struct disc_result *results, int n)
{
	return LOCKED(st, results_put_locked(st, scan_id, results, n));
}

/* ---- recording a scan ---- */

/* Counts a change in ch, and keeps a copy of one that is an event. */
static void
note_change(struct disc_changes *ch, int64_t t, int64_t scan_id, const char *ip, const char *kind, int port,
    const char *detail)
{
	ch->total++;
	int event = 1;
	if (strcmp(kind, "new_host") == 0)
		ch->new_host++;
	else if (strcmp(kind, "port_opened") == 0)
		ch->port_opened++;
	else if (strcmp(kind, "port_closed") == 0)
		ch->port_closed++;
	else {
		event = 0;
		if (strcmp(kind, "host_back") == 0)
			ch->host_back++;
		else
			ch->host_gone++;
	}
	if (!event || ch->rows == NULL || ch->nrows >= ch->max_rows)
		return;
	struct disc_change *c = &ch->rows[ch->nrows++];
	memset(c, 0, sizeof *c);
	c->t = t;
	c->scan_id = scan_id;
	snprintf(c->ip, sizeof c->ip, "%s", ip);
	snprintf(c->kind, sizeof c->kind, "%s", kind);
	c->port = port;
	snprintf(c->detail, sizeof c->detail, "%s", detail ? detail : "");
}

/* Counts start again; the caller's rows array stays. */
static void
reset_changes(struct disc_changes *ch)
{
	*ch = (struct disc_changes){.rows = ch->rows, .max_rows = ch->rows ? ch->max_rows : 0};
}

static int
add_change_locked(struct store *st, struct disc_changes *ch, int64_t t, int64_t scan_id, const char *ip,
    const char *kind, int port, const char *detail)
{
	sqlite3_stmt *s = store_prep(st, "INSERT INTO host_changes(t,scan_id,ip,kind,port,detail) VALUES(?,?,?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, t);
	sqlite3_bind_int64(s, 2, scan_id);
	sqlite3_bind_text(s, 3, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, port);
	sqlite3_bind_text(s, 6, detail ? detail : "", -1, SQLITE_STATIC);
	int rc = step_done(s);
	if (rc == 0)
		note_change(ch, t, scan_id, ip, kind, port, detail);
	return rc;
}

/* Inserts or refreshes a host; *was: 0 new, 1 known and present, 2 known
   but gone (it is back). */
static int
upsert_host_locked(struct store *st, const struct disc_host *h, int64_t now, int *was)
{
	*was = 0;
	sqlite3_stmt *s = store_prep(st, "SELECT gone FROM hosts WHERE ip=?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, h->ip, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		*was = sqlite3_column_int(s, 0) ? 2 : 1;
	sqlite3_finalize(s);
	/* a blank field keeps what an earlier scan learned */
	s = store_prep(st, "INSERT INTO hosts(ip,ipnum,mac,vendor,hostname,hostname_source,source,detail,first_seen,last_seen,gone) "
	                   "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,0) ON CONFLICT(ip) DO UPDATE SET "
	                   "mac=CASE WHEN ?3='' THEN mac ELSE ?3 END, vendor=CASE WHEN ?3='' THEN vendor ELSE ?4 END, "
	                   "hostname=CASE WHEN ?6='ip' AND hostname_source<>'ip' THEN hostname ELSE ?5 END, "
	                   "hostname_source=CASE WHEN ?6='ip' AND hostname_source<>'ip' THEN hostname_source ELSE ?6 END, "
	                   "source=?7, detail=?8, last_seen=?9, gone=0");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, h->ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, ip_num(h->ip));
	sqlite3_bind_text(s, 3, h->mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, h->vendor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, h->hostname[0] ? h->hostname : h->ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, h->hostname_source[0] ? h->hostname_source : "ip", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, h->source[0] ? h->source : "scan", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, h->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, now);
	return step_done(s);
}

/* Upserts one open service; *is_new when it was not open before. */
static int
upsert_service_locked(struct store *st, const struct disc_service *v, const char *ip, int64_t now, int *is_new)
{
	sqlite3_stmt *s = store_prep(st, "SELECT 1 FROM host_services WHERE ip=? AND port=? AND proto=?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, v->port);
	sqlite3_bind_text(s, 3, v->proto, -1, SQLITE_STATIC);
	*is_new = sqlite3_step(s) != SQLITE_ROW;
	sqlite3_finalize(s);
	s = store_prep(st, "INSERT INTO host_services(ip,port,proto,state,service,confidence,banner,title,tls_subject,"
	                   "first_seen,last_seen) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10) "
	                   "ON CONFLICT(ip,port,proto) DO UPDATE SET state=?4, service=?5, confidence=?6, banner=?7, "
	                   "title=?8, tls_subject=?9, last_seen=?10");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, v->port);
	sqlite3_bind_text(s, 3, v->proto, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, v->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, v->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, v->confidence, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, v->banner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, v->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, v->tls_subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, now);
	return step_done(s);
}

static int
has_port(const uint16_t *ports, int n, int port)
{
	for (int i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

static int
has_host(const uint32_t *sorted, int n, uint32_t v)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (sorted[mid] == v)
			return 1;
		if (sorted[mid] < v)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

static int
bind_exec2(struct store *st, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? sqlite3_changes(st->db) : MW_EDB;
}

static void
trim_locked(struct store *st, const struct disc_limits *lim)
{
	bind_exec2(st, "DELETE FROM hosts WHERE ip IN (SELECT ip FROM hosts ORDER BY last_seen DESC LIMIT -1 OFFSET ?1) AND ?2=?2",
	    lim->max_hosts, 0);
	bind_exec2(st, "DELETE FROM host_changes WHERE id <= (SELECT MAX(id) FROM host_changes) - ?1 AND ?2=?2",
	    lim->max_changes, 0);
	bind_exec2(st, "DELETE FROM scans WHERE id <= (SELECT MAX(id) FROM scans) - ?1 AND state NOT IN ('queued','running') "
	               "AND ?2=?2", lim->keep_scans, 0);
	bind_exec2(st, "DELETE FROM scan_results WHERE scan_id NOT IN (SELECT id FROM scans) AND ?1=?1 AND ?2=?2", 0, 0);
}

/* Services of ip that were open before and lie within ports but are not
   in the fresh list: closed now. */
static int
close_missing_locked(struct store *st, int64_t scan_id, int64_t now, const struct disc_host *h, const uint16_t *ports,
    int nports, struct disc_changes *changes)
{
	sqlite3_stmt *s = store_prep(st, "SELECT port, service FROM host_services WHERE ip=? AND proto='tcp'");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, h->ip, -1, SQLITE_STATIC);
	int gone[256], ng = 0;
	char names[256][64];
	while (sqlite3_step(s) == SQLITE_ROW && ng < 256) {
		int port = sqlite3_column_int(s, 0);
		if (!has_port(ports, nports, port))
			continue;
		int still = 0;
		for (int i = 0; i < h->nsvc && !still; i++)
			still = h->svc[i].port == port;
		if (!still) {
			snprintf(names[ng], sizeof names[ng], "%s", store_col_text(s, 1));
			gone[ng++] = port;
		}
	}
	sqlite3_finalize(s);
	for (int i = 0; i < ng; i++) {
		s = store_prep(st, "DELETE FROM host_services WHERE ip=? AND port=? AND proto='tcp'");
		if (s == NULL)
			return MW_EDB;
		sqlite3_bind_text(s, 1, h->ip, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, gone[i]);
		if (step_done(s) != 0 ||
		    add_change_locked(st, changes, now, scan_id, h->ip, "port_closed", gone[i], names[i]) != 0)
			return MW_EDB;
	}
	return 0;
}

static int
record_host_locked(struct store *st, int64_t scan_id, int64_t now, const struct disc_host *h, const uint16_t *ports,
    int nports, struct disc_changes *changes)
{
	int was;
	if (upsert_host_locked(st, h, now, &was) != 0)
		return MW_EDB;
	if (was != 1 &&
	    add_change_locked(st, changes, now, scan_id, h->ip, was == 0 ? "new_host" : "host_back", 0, h->hostname) != 0)
		return MW_EDB;
	for (int i = 0; i < h->nsvc; i++) {
		int is_new;
		if (upsert_service_locked(st, &h->svc[i], h->ip, now, &is_new) != 0)
			return MW_EDB;
		if (is_new && was == 1 &&
		    add_change_locked(st, changes, now, scan_id, h->ip, "port_opened", h->svc[i].port, h->svc[i].service) != 0)
			return MW_EDB;
	}
	return ports ? close_missing_locked(st, scan_id, now, h, ports, nports, changes) : 0;
}

/* Known hosts of source that did not answer: gone. in_scope says whether
   the scan covered the host (NULL: every host of that source). */
static int
mark_gone_locked(struct store *st, int64_t scan_id, int64_t now, const char *source, const struct disc_host *up,
    int nup, const uint32_t *scanned, int nscanned, struct disc_changes *changes)
{
	sqlite3_stmt *s = store_prep(st, "SELECT ip, ipnum FROM hosts WHERE source=? AND gone=0");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	char(*gone)[DISC_IP_MAX] = NULL;
	int ng = 0, cap = 0, rc = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *ip = store_col_text(s, 0);
		uint32_t num = (uint32_t)sqlite3_column_int64(s, 1);
		if (scanned && !has_host(scanned, nscanned, num))
			continue;
		int present = 0;
		for (int i = 0; i < nup && !present; i++)
			present = strcmp(up[i].ip, ip) == 0;
		if (present)
			continue;
		if (ng == cap) {
			cap = cap ? cap * 2 : 64;
			char(*ng2)[DISC_IP_MAX] = realloc(gone, (size_t)cap * sizeof *gone);
			if (ng2 == NULL) {
				rc = MW_ENOMEM;
				break;
			}
			gone = ng2;
		}
		snprintf(gone[ng++], DISC_IP_MAX, "%s", ip);
	}
	sqlite3_finalize(s);
	for (int i = 0; i < ng && rc == 0; i++) {
		s = store_prep(st, "UPDATE hosts SET gone=1 WHERE ip=?");
		if (s == NULL) {
			rc = MW_EDB;
			break;
		}
		sqlite3_bind_text(s, 1, gone[i], -1, SQLITE_STATIC);
		rc = step_done(s);
		if (rc == 0)
			rc = add_change_locked(st, changes, now, scan_id, gone[i], "host_gone", 0, "");
	}
	free(gone);
	return rc;
}

static int
apply_locked(struct store *st, int64_t scan_id, int64_t now, const struct disc_host *hosts, int nhosts,
    const uint32_t *scanned, int nscanned, const uint16_t *ports, int nports, const struct disc_result *results,
    int nresults, const struct disc_limits *lim, struct disc_changes *changes)
{
	reset_changes(changes);
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int rc = 0;
	for (int i = 0; i < nhosts && rc == 0; i++)
		rc = record_host_locked(st, scan_id, now, &hosts[i], ports, nports, changes);
	/* no range (a cancelled scan): nothing can be said to be gone */
	if (rc == 0 && scanned)
		rc = mark_gone_locked(st, scan_id, now, "scan", hosts, nhosts, scanned, nscanned, changes);
	if (rc == 0)
		rc = insert_results_locked(st, scan_id, results,
		    nresults < lim->max_results_per_scan ? nresults : lim->max_results_per_scan);
	if (rc == 0)
		trim_locked(st, lim);
	store_exec_locked(st, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return rc;
}

int
store_discovery_apply(struct store *st, int64_t scan_id, int64_t now, const struct disc_host *hosts, int nhosts,
    const uint32_t *scanned, int nscanned, const uint16_t *ports, int nports, const struct disc_result *results,
    int nresults, const struct disc_limits *lim, struct disc_changes *changes)
{
	return LOCKED(st, apply_locked(st, scan_id, now, hosts, nhosts, scanned, nscanned, ports, nports, results,
	                      nresults, lim, changes));
}

static int
apply_docker_locked(struct store *st, int64_t now, const struct disc_host *hosts, int n, const struct disc_limits *lim,
    struct disc_changes *changes)
{
	reset_changes(changes);
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		/* a container's published ports are its whole list: replace them */
		uint16_t ports[64];
		int np = 0;
		sqlite3_stmt *s = store_prep(st, "SELECT port FROM host_services WHERE ip=?");
		if (s == NULL) {
			rc = MW_EDB;
			break;
		}
		sqlite3_bind_text(s, 1, hosts[i].ip, -1, SQLITE_STATIC);
		while (sqlite3_step(s) == SQLITE_ROW && np < (int)MW_ARRAY_LEN(ports))
			ports[np++] = (uint16_t)sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
		rc = record_host_locked(st, 0, now, &hosts[i], ports, np, changes);
	}
	if (rc == 0)
		rc = mark_gone_locked(st, 0, now, "docker", hosts, n, NULL, 0, changes);
	if (rc == 0)
		trim_locked(st, lim);
	store_exec_locked(st, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return rc;
}

int
store_discovery_apply_docker(struct store *st, int64_t now, const struct disc_host *hosts, int n,
    const struct disc_limits *lim, struct disc_changes *changes)
{
	return LOCKED(st, apply_docker_locked(st, now, hosts, n, lim, changes));
}

/* ---- reading ---- */

#define SVC_COLS "ip, port, proto, state, service, confidence, banner, title, tls_subject, first_seen, last_seen"

static void
fill_service(sqlite3_stmt *s, void *p)
{
	struct disc_service *v = p;
	memset(v, 0, sizeof *v);
	COPY_COL(v->ip, s, 0);
	v->port = sqlite3_column_int(s, 1);
	COPY_COL(v->proto, s, 2);
	COPY_COL(v->state, s, 3);
	COPY_COL(v->service, s, 4);
	COPY_COL(v->confidence, s, 5);
	COPY_COL(v->banner, s, 6);
	COPY_COL(v->title, s, 7);
	COPY_COL(v->tls_subject, s, 8);
	v->first_seen = sqlite3_column_int64(s, 9);
	v->last_seen = sqlite3_column_int64(s, 10);
}

static void
fill_host(sqlite3_stmt *s, void *p)
{
	struct disc_host *h = p;
	memset(h, 0, sizeof *h);
	COPY_COL(h->ip, s, 0);
	COPY_COL(h->mac, s, 1);
	COPY_COL(h->vendor, s, 2);
	COPY_COL(h->hostname, s, 3);
	COPY_COL(h->hostname_source, s, 4);
	COPY_COL(h->source, s, 5);
	COPY_COL(h->detail, s, 6);
	h->first_seen = sqlite3_column_int64(s, 7);
	h->last_seen = sqlite3_column_int64(s, 8);
	h->gone = sqlite3_column_int(s, 9);
}

#define HOST_WHERE \
	" WHERE (?1='' OR h.ip LIKE '%'||?1||'%' OR h.hostname LIKE '%'||?1||'%' OR h.mac LIKE '%'||?1||'%'" \
	" OR h.vendor LIKE '%'||?1||'%')" \
	" AND (?2='' OR EXISTS (SELECT 1 FROM host_services v WHERE v.ip=h.ip AND v.service LIKE '%'||?2||'%'))" \
	" AND (?4=0 OR EXISTS (SELECT 1 FROM host_services v WHERE v.ip=h.ip AND v.port=?4))" \
	" AND (?3='' OR h.ip=?3)"

static int
hosts_list_locked(struct store *st, const char *q, const char *service, int port, const char *ip, int limit,
    int offset, struct disc_host **rows, int *n, int *total)
{
	const char *b[] = {q, service, ip};
	int rc = paged_locked(st, "SELECT COUNT(*) FROM hosts h" HOST_WHERE,
	    "SELECT ip, mac, vendor, hostname, hostname_source, source, detail, first_seen, last_seen, gone FROM hosts h" HOST_WHERE
	    " ORDER BY h.ipnum LIMIT ?5 OFFSET ?6",
	    b, 3, port, limit, offset, (void **)rows, sizeof **rows, fill_host, n, total);
	for (int i = 0; rc == 0 && i < *n; i++) {
		struct disc_host *h = &(*rows)[i];
		int tot;
		const char *hb[] = {h->ip};
		rc = paged_locked(st, "SELECT COUNT(*) FROM host_services WHERE ip=?1 AND ?2=?2",
		    "SELECT " SVC_COLS " FROM host_services WHERE ip=?1 AND ?2=?2 ORDER BY port LIMIT ?3 OFFSET ?4", hb, 1, 0,
		    1024, 0, (void **)&h->svc, sizeof *h->svc, fill_service, &h->nsvc, &tot);
	}
	return rc;
}

int
store_hosts_list(struct store *st, const char *q, const char *service, int port, const char *ip, int limit,
    int offset, struct disc_host **rows, int *n, int *total)
{
	return LOCKED(st, hosts_list_locked(st, q ? q : "", service ? service : "", port, ip ? ip : "", limit, offset,
	                      rows, n, total));
}

void
store_hosts_free(struct disc_host *rows, int n)
{
	for (int i = 0; rows && i < n; i++)
		free(rows[i].svc);
	free(rows);
}

#define SVC_WHERE \
	" WHERE (?1='' OR v.ip LIKE '%'||?1||'%' OR v.banner LIKE '%'||?1||'%' OR v.title LIKE '%'||?1||'%')" \
	" AND (?2='' OR v.service LIKE '%'||?2||'%') AND (?3='' OR v.state=?3) AND (?4=0 OR v.port=?4)"

int
store_services_list(struct store *st, const char *q, const char *service, int port, const char *state, int limit,
    int offset, struct disc_service **rows, int *n, int *total)
{
	const char *b[] = {q ? q : "", service ? service : "", state ? state : ""};
	return LOCKED(st, paged_locked(st, "SELECT COUNT(*) FROM host_services v" SVC_WHERE,
	                      "SELECT " SVC_COLS " FROM host_services v" SVC_WHERE
	                      " ORDER BY (SELECT ipnum FROM hosts h WHERE h.ip=v.ip), v.port LIMIT ?5 OFFSET ?6",
	                      b, 3, port, limit, offset, (void **)rows, sizeof **rows, fill_service, n, total));
}

static void
fill_change(sqlite3_stmt *s, void *p)
{
	struct disc_change *c = p;
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(s, 0);
	c->t = sqlite3_column_int64(s, 1);
	c->scan_id = sqlite3_column_int64(s, 2);
	COPY_COL(c->ip, s, 3);
	COPY_COL(c->kind, s, 4);
	c->port = sqlite3_column_int(s, 5);
	COPY_COL(c->detail, s, 6);
}

int
store_changes_list(struct store *st, int64_t since, const char *kind, const char *ip, int limit, int offset,
    struct disc_change **rows, int *n, int *total)
{
	const char *b[] = {kind ? kind : "", ip ? ip : ""};
	return LOCKED(st, paged_locked(st, "SELECT COUNT(*) FROM host_changes WHERE (?1='' OR kind=?1) AND (?2='' OR ip=?2) AND t>=?3",
	                      "SELECT id, t, scan_id, ip, kind, port, detail FROM host_changes "
	                      "WHERE (?1='' OR kind=?1) AND (?2='' OR ip=?2) AND t>=?3 ORDER BY id DESC LIMIT ?4 OFFSET ?5",
	                      b, 2, since, limit, offset, (void **)rows, sizeof **rows, fill_change, n, total));
}

int
store_changes_after(struct store *st, int64_t after_id, int64_t since, int limit, struct disc_change **rows, int *n)
{
	char t[24];
	snprintf(t, sizeof t, "%lld", (long long)since);
	const char *b[] = {t};
	int total = 0;
	return LOCKED(st, paged_locked(st, "SELECT COUNT(*) FROM host_changes WHERE t >= CAST(?1 AS INTEGER) AND id > ?2",
	                      "SELECT id, t, scan_id, ip, kind, port, detail FROM host_changes "
	                      "WHERE t >= CAST(?1 AS INTEGER) AND id > ?2 ORDER BY id LIMIT ?3 OFFSET ?4",
	                      b, 1, after_id, limit, 0, (void **)rows, sizeof **rows, fill_change, n, &total));
}

static void
fill_result(sqlite3_stmt *s, void *p)
{
	struct disc_result *r = p;
	memset(r, 0, sizeof *r);
	ip_text((uint32_t)sqlite3_column_int64(s, 0), r->ip);
	r->port = sqlite3_column_int(s, 1);
	COPY_COL(r->state, s, 2);
}

int
store_scan_results(struct store *st, int64_t scan_id, const char *state, int limit, int offset,
    struct disc_result **rows, int *n, int *total)
{
	const char *b[] = {state ? state : ""};
	return LOCKED(st, paged_locked(st, "SELECT COUNT(*) FROM scan_results WHERE (?1='' OR state=?1) AND scan_id=?2",
	                      "SELECT ipnum, port, state FROM scan_results WHERE (?1='' OR state=?1) AND scan_id=?2 "
	                      "ORDER BY ipnum, port LIMIT ?3 OFFSET ?4",
	                      b, 1, scan_id, limit, offset, (void **)rows, sizeof **rows, fill_result, n, total));
}

static int
counts_locked(struct store *st, int *hosts, int *hosts_up, int *services, int *changes)
{
	*hosts = store_int_query_locked(st, "SELECT COUNT(*) FROM hosts");
	*hosts_up = store_int_query_locked(st, "SELECT COUNT(*) FROM hosts WHERE gone=0");
	*services = store_int_query_locked(st, "SELECT COUNT(*) FROM host_services WHERE state='open'");
	*changes = store_int_query_locked(st, "SELECT COUNT(*) FROM host_changes");
	return *hosts < 0 ? MW_EDB : 0;
}

int
store_discovery_counts(struct store *st, int *hosts, int *hosts_up, int *services, int *changes)
{
	return LOCKED(st, counts_locked(st, hosts, hosts_up, services, changes));
}

static int
services_by_name_locked(struct store *st, struct name_count *out, int max)
{
	sqlite3_stmt *s = store_prep(st, "SELECT service, COUNT(*) FROM host_services WHERE state='open' "
	                                  "GROUP BY service ORDER BY COUNT(*) DESC, service LIMIT ?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int(s, 1, max);
	int n = 0, rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) {
		const char *name = store_col_text(s, 0);
		snprintf(out[n].name, sizeof out[n].name, "%s", name[0] ? name : "unknown");
		out[n].count = sqlite3_column_int(s, 1);
		n++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : MW_EDB;
}

int
store_services_by_name(struct store *st, struct name_count *out, int max)
{
	return LOCKED(st, services_by_name_locked(st, out, max));
}

int
store_host_delete(struct store *st, const char *ip)
{
	/* its services go with it (ON DELETE CASCADE); its changes stay as history */
	return LOCKED(st, store_delete_by_locked(st, "DELETE FROM hosts WHERE ip=?", 0, ip));
}

int
store_discovery_shed_locked(struct store *st, int rows)
{
	/* per-port results of old scans first, then the oldest changes */
	int d = bind_exec2(st, "DELETE FROM scan_results WHERE scan_id = (SELECT MIN(scan_id) FROM scan_results) "
	                       "AND ?1=?1 AND ?2=?2", rows, 0);
	if (d <= 0)
		d = bind_exec2(st, "DELETE FROM host_changes WHERE id IN (SELECT id FROM host_changes ORDER BY id LIMIT ?1) "
		                   "AND ?2=?2", rows, 0);
	return d;
}
