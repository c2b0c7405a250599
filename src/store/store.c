/* store: owns the SQLite connection and every SQL statement. One
   connection behind a mutex, shared by every thread that reads or writes:
   HTTP workers (users, sessions, targets, received reports), the main
   thread (poll rows, check results and traffic minutes, each batched
   into one transaction a second; retention and the size cap), the
   scanner and the report sender. The high-rate writers batch rather than
   queue to a writer thread.
   WAL mode with synchronous=NORMAL: a kill -9 loses no committed
   transaction's integrity, and a power cut at worst the last commits.
   Must never be called with another module's lock held for long work. */
#include "meshwatch/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "meshwatch/log.h"
#include "meshwatch/util.h"

#include "store_internal.h"

/* Each entry moves the schema from version i to i+1. Never edit a released
   entry: append a new one. */
static const char *const migrations[] = {
	/* 1: identity, users, sessions */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  username TEXT NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  token_hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL);"
	"CREATE INDEX sessions_expiry ON sessions(expires_at);",
	/* 2: the mesh: peers, raw polls (24 h), 5-minute buckets, PMTU changes */
	"CREATE TABLE peers ("
	"  id TEXT PRIMARY KEY, fqdn TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL,"
	"  state INTEGER NOT NULL, incarnation INTEGER NOT NULL,"
	"  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
	"CREATE TABLE polls ("
	"  peer_id TEXT NOT NULL, ts INTEGER NOT NULL, ok INTEGER NOT NULL, error TEXT,"
	"  connect_ms REAL, tls_ms REAL, ttfb_ms REAL, total_ms REAL,"
	"  rtt_avg_ms REAL, jitter_ms REAL, loss REAL);"
	"CREATE INDEX polls_peer_ts ON polls(peer_id, ts);"
	"CREATE INDEX polls_ts ON polls(ts);"
	"CREATE TABLE polls_5m ("
	"  peer_id TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL,"
	"  connect_ms REAL, tls_ms REAL, ttfb_ms REAL, total_ms REAL, rtt_avg_ms REAL, jitter_ms REAL, loss REAL,"
	"  PRIMARY KEY (peer_id, bucket));"
	"CREATE INDEX polls_5m_bucket ON polls_5m(bucket);"
	"CREATE TABLE pmtu_history ("
	"  peer_id TEXT NOT NULL, measured_at INTEGER NOT NULL, value INTEGER NOT NULL, method TEXT NOT NULL,"
	"  probes INTEGER NOT NULL, black_hole INTEGER NOT NULL);"
	"CREATE INDEX pmtu_peer ON pmtu_history(peer_id, measured_at);",
	/* 3: reporting: the outbox with per-server progress, and on a reporting
	   node the origins, their accepted sequence numbers and matrix cells */
	"CREATE TABLE outbox (seq INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, body TEXT NOT NULL);"
	"CREATE TABLE report_servers (server TEXT PRIMARY KEY, acked_seq INTEGER NOT NULL);"
	"CREATE TABLE origins ("
	"  id TEXT PRIMARY KEY, fqdn TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL,"
	"  last_seq INTEGER NOT NULL, generated_at INTEGER NOT NULL, received_at INTEGER NOT NULL,"
	"  interval_s INTEGER NOT NULL, reports INTEGER NOT NULL);"
	"CREATE TABLE report_seqs (origin TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL,"
	"  PRIMARY KEY (origin, seq));"
	"CREATE TABLE cells ("
	"  origin TEXT NOT NULL, peer TEXT NOT NULL, t INTEGER NOT NULL, state INTEGER NOT NULL,"
	"  rtt_ms REAL, loss REAL, pmtu INTEGER, total_ms REAL);"
	"CREATE INDEX cells_pair ON cells(origin, peer, t);"
	"CREATE INDEX cells_t ON cells(t);"
	"CREATE TABLE cells_latest ("
	"  origin TEXT NOT NULL, peer TEXT NOT NULL, t INTEGER NOT NULL, state INTEGER NOT NULL,"
	"  rtt_ms REAL, loss REAL, pmtu INTEGER, total_ms REAL, fqdn TEXT, ip TEXT, PRIMARY KEY (origin, peer));",
	/* 4: TCP targets and their checks (store_targets.c) */
	store_schema_targets,
	/* 5: traffic: per-minute counters (store_traffic.c) */
	store_schema_traffic,
	/* 6: discovery: scans, hosts, services, changes (store_discovery.c) */
	store_schema_discovery,
	/* 7: failed polls made while this node was overloaded (the peer's
	   verdict withheld) are marked, in raw polls and in 5-minute buckets */
	"ALTER TABLE polls ADD COLUMN excused INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE polls_5m ADD COLUMN excused INTEGER NOT NULL DEFAULT 0;",
	/* 8: the pinned key of each peer (SHA-256 of its SPKI, hex; "" = none yet) */
	"ALTER TABLE peers ADD COLUMN pin TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE peers ADD COLUMN pinned_at INTEGER NOT NULL DEFAULT 0;",
	/* 9: events, the story of what changed (store_events.c) */
	store_schema_events,
	/* 10: alert rules, silences, alerts and the notification outbox
	   (store_alerts.c) */
	store_schema_alerts,
	/* 11: users' roles (existing users stay admins) and API tokens
	   (store_tokens.c) */
	store_schema_tokens,
	/* 12: what reporting origins say of their hosts, services, targets,
	   traffic and discovery changes (store_inventory.c) */
	store_schema_inventory,
	/* 13: targets checked from many vantage points (store_targets.c) */
	store_schema_mesh_targets,
	/* 14: remote scans: who asked a scan, and where one asked for ran
	   (store_discovery.c) */
	store_schema_remote_scans,
};


int
store_exec_locked(struct store *st, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		if (err)
			snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return MW_EDB;
	}
	return 0;
}

static int
migrate(struct store *st, char *err, size_t errlen)
{
	if (store_exec_locked(st, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", err, errlen))
		return MW_EDB;
	int version = store_schema_version(st);
	if (version < 0) {
		snprintf(err, errlen, "cannot read schema_version");
		return MW_EDB;
	}
	int latest = (int)MW_ARRAY_LEN(migrations);
	if (version > latest) {
		snprintf(err, errlen, "database schema version %d is newer than this build knows (%d): use a newer meshwatch",
		    version, latest);
		return MW_EDB;
	}
	for (int v = version; v < latest; v++) {
		char sql[128];
		if (store_exec_locked(st, "BEGIN IMMEDIATE", err, errlen))
			return MW_EDB;
		if (store_exec_locked(st, migrations[v], err, errlen)) {
			store_exec_locked(st, "ROLLBACK", NULL, 0);
			return MW_EDB;
		}
		snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d);", v + 1);
		if (store_exec_locked(st, sql, err, errlen) || store_exec_locked(st, "COMMIT", err, errlen)) {
			store_exec_locked(st, "ROLLBACK", NULL, 0);
			return MW_EDB;
		}
		log_info("db", "schema migrated to version %d", v + 1);
	}
	return 0;
}

struct store *
store_open(const char *dir, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof *st);
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->lock, NULL);
	if (mw_snprintf(st->path, sizeof st->path, "%s/meshwatch.db", dir) != 0) {
		snprintf(err, errlen, "data directory path too long");
		goto fail;
	}
	int rc = sqlite3_open_v2(st->path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", st->path, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	char e2[256];
	/* A new database reclaims pages incrementally, so the size cap can give
	   space back without a full VACUUM. Only possible before any table exists. */
	if (store_int_query_locked(st, "PRAGMA page_count") == 0)
		store_exec_locked(st, "PRAGMA auto_vacuum=INCREMENTAL;", NULL, 0);
	if (store_exec_locked(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
	                         /* a 128 KiB page cache instead of SQLite's 2 MB: the
	                            writes are batched and the reads are indexed ranges
	                            of a file the kernel caches anyway, and every node of
	                            a mesh pays for it in RSS (512 KiB filled up within
	                            minutes at 200 peers). A batch of poll rows dirties a
	                            leaf of polls_peer_ts per peer, more than 32 pages at
	                            200 peers: below 1 MiB the cache grows for the
	                            transaction and shrinks after it, instead of spilling
	                            pages to the WAL in the middle of it. */
	                         "PRAGMA cache_size=-128; PRAGMA cache_spill=256;", e2, sizeof e2) ||
	    migrate(st, e2, sizeof e2)) {
		snprintf(err, errlen, "%s: %s", st->path, e2);
		goto fail;
	}
	chmod(st->path, 0600);
	return st;
fail:
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->db)
		sqlite3_close_v2(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

sqlite3_stmt *
store_prep(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_error("db", "prepare failed: %s (%s)", sqlite3_errmsg(st->db), sql);
		return NULL;
	}
	return s;
}

const char *
store_col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

int
store_int_query_locked(struct store *st, const char *sql)
{
	sqlite3_stmt *s = store_prep(st, sql);
	int v = -1;
	if (s == NULL)
		return MW_EDB;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	else if (rc == SQLITE_DONE)
		v = 0;
	sqlite3_finalize(s);
	return v;
}

int
store_schema_version(struct store *st)
{
	return LOCKED(st, store_int_query_locked(st, "SELECT COALESCE(MAX(version),0) FROM schema_version"));
}

int64_t
store_size_bytes(struct store *st)
{
	struct stat sb;
	char wal[4200];
	int64_t total = 0;
	if (stat(st->path, &sb) == 0)
		total += sb.st_size;
	snprintf(wal, sizeof wal, "%s-wal", st->path);
	if (stat(wal, &sb) == 0)
		total += sb.st_size;
	return total;
}

static int
check_writable_locked(struct store *st, char *err, size_t errlen)
{
	/* The value changes on every call: SQLite skips writing a row whose
	   content is unchanged, which would prove nothing. */
	return store_exec_locked(st,
	    "INSERT INTO meta(key,value) VALUES('write_checks','1') "
	    "ON CONFLICT(key) DO UPDATE SET value=CAST(value AS INTEGER)+1",
	    err, errlen);
}

int
store_check_writable(struct store *st, char *err, size_t errlen)
{
	return LOCKED(st, check_writable_locked(st, err, errlen));
}

static int
meta_get_locked(struct store *st, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *s = store_prep(st, "SELECT value FROM meta WHERE key=?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s), ret;
	if (rc == SQLITE_ROW) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(s, 0));
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? MW_ENOTFOUND : MW_EDB;
	}
	sqlite3_finalize(s);
	return ret;
}

int
store_meta_get(struct store *st, const char *key, char *out, size_t outlen)
{
	return LOCKED(st, meta_get_locked(st, key, out, outlen));
}

static int
meta_set_locked(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = store_prep(st, "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : MW_EDB;
}

int
store_meta_set(struct store *st, const char *key, const char *value)
{
	return LOCKED(st, meta_set_locked(st, key, value));
}

const char *
store_role_name(int role)
{
	return role == ROLE_READ ? "read" : "admin";
}

int
store_role_parse(const char *name)
{
	if (name && strcmp(name, "admin") == 0)
		return ROLE_ADMIN;
	if (name && strcmp(name, "read") == 0)
		return ROLE_READ;
	return -1;
}

/* The columns every user query selects, in read_user's order. */
#define USER_COLS "id,username,created_at,updated_at,role"

static void
read_user(sqlite3_stmt *s, struct user_row *u)
{
	u->id = sqlite3_column_int64(s, 0);
	snprintf(u->username, sizeof u->username, "%s", (const char *)sqlite3_column_text(s, 1));
	u->created_at = sqlite3_column_int64(s, 2);
	u->updated_at = sqlite3_column_int64(s, 3);
	u->role = store_role_parse(store_col_text(s, 4)) == ROLE_READ ? ROLE_READ : ROLE_ADMIN;
}

static int
user_create_locked(struct store *st, const char *username, const char *hash, int role, int max_users,
    struct user_row *out)
{
	if (store_int_query_locked(st, "SELECT COUNT(*) FROM users") >= max_users)
		return MW_ETOOBIG;
	sqlite3_stmt *s = store_prep(st, "INSERT INTO users(username,password_hash,created_at,updated_at,role) "
	                           "VALUES(?,?,?,?,?) RETURNING " USER_COLS);
	if (s == NULL)
		return MW_EDB;
	int64_t now = mw_wall_s();
	sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_text(s, 5, store_role_name(role), -1, SQLITE_STATIC);
	int rc = sqlite3_step(s), ret = 0;
	if (rc == SQLITE_ROW) {
		if (out)
			read_user(s, out);
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE)
		ret = (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE) ? MW_EEXIST : MW_EDB;
	sqlite3_finalize(s);
	return ret;
}

int
store_user_create(struct store *st, const char *username, const char *hash, int max_users, struct user_row *out)
{
	return LOCKED(st, user_create_locked(st, username, hash, ROLE_ADMIN, max_users, out));
}

int
store_user_create_role(struct store *st, const char *username, const char *hash, int role, int max_users,
    struct user_row *out)
{
	return LOCKED(st, user_create_locked(st, username, hash, role, max_users, out));
}

static int
user_get_locked(struct store *st, const char *sql, int64_t id, const char *name, struct user_row *out, char *hash,
    size_t hashlen)
{
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return MW_EDB;
	if (name)
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s), ret;
	if (rc == SQLITE_ROW) {
		read_user(s, out);
		if (hash)
			snprintf(hash, hashlen, "%s", (const char *)sqlite3_column_text(s, 5));
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? MW_ENOTFOUND : MW_EDB;
	}
	sqlite3_finalize(s);
	return ret;
}

int
store_user_get(struct store *st, int64_t id, struct user_row *out)
{
	return LOCKED(st, user_get_locked(st, "SELECT " USER_COLS ",password_hash FROM users WHERE id=?",
	    id, NULL, out, NULL, 0));
}

int
store_user_get_by_name(struct store *st, const char *username, struct user_row *out, char *hash, size_t hashlen)
{
	return LOCKED(st, user_get_locked(st,
	    "SELECT " USER_COLS ",password_hash FROM users WHERE username=?", 0, username, out,
	    hash, hashlen));
}

/* 1 when id is an administrator and no other user is: taking its role
   away, or the user, would leave nobody able to change anything. Lock
   held, inside the caller's transaction. */
static int
last_admin_locked(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store_prep(st, "SELECT (SELECT role FROM users WHERE id=?1)='admin' AND "
	                               "NOT EXISTS (SELECT 1 FROM users WHERE role='admin' AND id<>?1)");
	if (s == NULL)
		return 0;
	sqlite3_bind_int64(s, 1, id);
	int last = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 1;
	sqlite3_finalize(s);
	return last;
}

static int
user_update_locked(struct store *st, int64_t id, const char *username, const char *hash, int role, const char *keep)
{
	int ret = 0;
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	sqlite3_stmt *s = NULL;
	if (role == ROLE_READ && last_admin_locked(st, id)) {
		ret = MW_ELAST;
		goto out;
	}
	s = store_prep(st, "UPDATE users SET username=COALESCE(?,username), password_hash=COALESCE(?,password_hash), "
	                 "role=COALESCE(?,role), updated_at=? WHERE id=?");
	if (s == NULL) {
		ret = MW_EDB;
		goto out;
	}
	sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
	if (role >= 0)
		sqlite3_bind_text(s, 3, store_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, mw_wall_s());
	sqlite3_bind_int64(s, 5, id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		ret = (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE) ? MW_EEXIST : MW_EDB;
		goto out;
	}
	if (sqlite3_changes(st->db) == 0) {
		ret = MW_ENOTFOUND;
		goto out;
	}
	if (hash) {
		s = store_prep(st, "DELETE FROM sessions WHERE user_id=? AND token_hash IS NOT ?");
		if (s == NULL) {
			ret = MW_EDB;
			goto out;
		}
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_text(s, 2, keep, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			ret = MW_EDB;
	}
out:
	store_exec_locked(st, ret == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return ret;
}

int
store_user_update(struct store *st, int64_t id, const char *username, const char *hash, int role,
    const char *keep_session_hash)
{
	return LOCKED(st, user_update_locked(st, id, username, hash, role, keep_session_hash));
}

int
store_delete_by_locked(struct store *st, const char *sql, int64_t id, const char *text)
{
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return MW_EDB;
	if (text)
		sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return MW_EDB;
	return sqlite3_changes(st->db) > 0 ? 0 : MW_ENOTFOUND;
}

int
store_user_delete(struct store *st, int64_t id)
{
	return LOCKED(st, store_delete_by_locked(st, "DELETE FROM users WHERE id=?", id, NULL));
}

static int
user_delete_keep_admin_locked(struct store *st, int64_t id)
{
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int ret = last_admin_locked(st, id) ? MW_ELAST : store_delete_by_locked(st, "DELETE FROM users WHERE id=?", id, NULL);
	store_exec_locked(st, ret == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return ret;
}

int
store_user_delete_keep_admin(struct store *st, int64_t id)
{
	return LOCKED(st, user_delete_keep_admin_locked(st, id));
}

int
store_user_count(struct store *st)
{
	return LOCKED(st, store_int_query_locked(st, "SELECT COUNT(*) FROM users"));
}

static int
user_list_locked(struct store *st, const char *q, int limit, int offset, struct user_row **rows, int *n, int *total)
{
	*rows = NULL;
	*n = 0;
	sqlite3_stmt *s = store_prep(st, "SELECT COUNT(*) FROM users WHERE ?1 IS NULL OR instr(lower(username), lower(?1)) > 0");
	if (s == NULL)
		return MW_EDB;
	const char *qq = (q && *q) ? q : NULL;
	sqlite3_bind_text(s, 1, qq, -1, SQLITE_STATIC);
	*total = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	s = store_prep(st, "SELECT " USER_COLS " FROM users "
	             "WHERE ?1 IS NULL OR instr(lower(username), lower(?1)) > 0 ORDER BY id LIMIT ?2 OFFSET ?3");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, qq, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, limit);
	sqlite3_bind_int(s, 3, offset);
	struct user_row *arr = calloc((size_t)(limit > 0 ? limit : 1), sizeof *arr);
	if (arr == NULL) {
		sqlite3_finalize(s);
		return MW_ENOMEM;
	}
	int i = 0, rc;
	while (i < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_user(s, &arr[i++]);
	sqlite3_finalize(s);
	*rows = arr;
	*n = i;
	return 0;
}

int
store_user_list(struct store *st, const char *q, int limit, int offset, struct user_row **rows, int *n, int *total)
{
	return LOCKED(st, user_list_locked(st, q, limit, offset, rows, n, total));
}

static int
session_create_locked(struct store *st, const char *token_hash, int64_t user_id, int64_t expires_at)
{
	sqlite3_stmt *s = store_prep(st, "INSERT INTO sessions(token_hash,user_id,created_at,expires_at) VALUES(?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, user_id);
	sqlite3_bind_int64(s, 3, mw_wall_s());
	sqlite3_bind_int64(s, 4, expires_at);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : MW_EDB;
}

int
store_session_create(struct store *st, const char *token_hash, int64_t user_id, int64_t expires_at)
{
	return LOCKED(st, session_create_locked(st, token_hash, user_id, expires_at));
}

static int
session_lookup_locked(struct store *st, const char *token_hash, int64_t now, struct user_row *user)
{
	sqlite3_stmt *s = store_prep(st, "SELECT u.id,u.username,u.created_at,u.updated_at,u.role FROM sessions s "
	                           "JOIN users u ON u.id=s.user_id WHERE s.token_hash=? AND s.expires_at>?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	int rc = sqlite3_step(s), ret;
	if (rc == SQLITE_ROW) {
		read_user(s, user);
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? MW_ENOTFOUND : MW_EDB;
	}
	sqlite3_finalize(s);
	return ret;
}

int
store_session_lookup(struct store *st, const char *token_hash, int64_t now, struct user_row *user)
{
	return LOCKED(st, session_lookup_locked(st, token_hash, now, user));
}

int
store_session_delete(struct store *st, const char *token_hash)
{
	return LOCKED(st, store_delete_by_locked(st, "DELETE FROM sessions WHERE token_hash=?", 0, token_hash));
}

static int
session_purge_locked(struct store *st, int64_t now)
{
	sqlite3_stmt *s = store_prep(st, "DELETE FROM sessions WHERE expires_at<=?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, now);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? sqlite3_changes(st->db) : MW_EDB;
}

int
store_session_purge(struct store *st, int64_t now)
{
	return LOCKED(st, session_purge_locked(st, now));
}

int
store_session_count(struct store *st)
{
	return LOCKED(st, store_int_query_locked(st, "SELECT COUNT(*) FROM sessions"));
}

/* ---- mesh ---- */

static int
peers_save_locked(struct store *st, const struct store_peer_row *peers, int n)
{
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int ret = 0;
	sqlite3_stmt *s = store_prep(st, "INSERT INTO peers(id,fqdn,ip,port,state,incarnation,first_seen,last_seen,pin,pinned_at) "
	                           "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET fqdn=excluded.fqdn, "
	                           "ip=excluded.ip, port=excluded.port, state=excluded.state, "
	                           "incarnation=excluded.incarnation, last_seen=excluded.last_seen, "
	                           "pin=excluded.pin, pinned_at=excluded.pinned_at");
	if (s == NULL) {
		ret = MW_EDB;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct store_peer_row *p = &peers[i];
		if (p->id[0] == '\0')
			continue;
		sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, p->fqdn, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, p->ip, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, p->port);
		sqlite3_bind_int(s, 5, p->state);
		sqlite3_bind_int64(s, 6, (sqlite3_int64)p->incarnation);
		sqlite3_bind_int64(s, 7, p->first_seen);
		sqlite3_bind_int64(s, 8, p->last_seen);
		sqlite3_bind_text(s, 9, p->pin, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 10, p->pinned_at);
		if (sqlite3_step(s) != SQLITE_DONE)
			ret = MW_EDB;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	/* peers forgotten by the membership are forgotten here too */
	if (ret == 0) {
		store_exec_locked(st, "CREATE TEMP TABLE IF NOT EXISTS keep_ids(id TEXT PRIMARY KEY); DELETE FROM keep_ids;", NULL, 0);
		s = store_prep(st, "INSERT OR IGNORE INTO keep_ids VALUES(?)");
		for (int i = 0; s && i < n; i++) {
			if (peers[i].id[0] == '\0')
				continue;
			sqlite3_bind_text(s, 1, peers[i].id, -1, SQLITE_STATIC);
			sqlite3_step(s);
			sqlite3_reset(s);
		}
		sqlite3_finalize(s);
		if (store_exec_locked(st, "DELETE FROM peers WHERE id NOT IN (SELECT id FROM keep_ids);", NULL, 0))
			ret = MW_EDB;
	}
out:
	store_exec_locked(st, ret == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return ret;
}

int
store_peers_save(struct store *st, const struct store_peer_row *peers, int n)
{
	return LOCKED(st, peers_save_locked(st, peers, n));
}

static int
peers_load_locked(struct store *st, struct store_peer_row **out, int *n)
{
	*out = NULL;
	*n = 0;
	int total = store_int_query_locked(st, "SELECT COUNT(*) FROM peers");
	if (total < 0)
		return MW_EDB;
	struct store_peer_row *arr = calloc((size_t)(total ? total : 1), sizeof *arr);
	if (arr == NULL)
		return MW_ENOMEM;
	sqlite3_stmt *s = store_prep(st, "SELECT id,fqdn,ip,port,state,incarnation,first_seen,last_seen,pin,pinned_at FROM peers");
	if (s == NULL) {
		free(arr);
		return MW_EDB;
	}
	int k = 0;
	while (k < total && sqlite3_step(s) == SQLITE_ROW) {
		struct store_peer_row *p = &arr[k++];
		snprintf(p->id, sizeof p->id, "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(p->fqdn, sizeof p->fqdn, "%s", (const char *)sqlite3_column_text(s, 1));
		snprintf(p->ip, sizeof p->ip, "%s", (const char *)sqlite3_column_text(s, 2));
		p->port = sqlite3_column_int(s, 3);
		p->state = sqlite3_column_int(s, 4);
		p->incarnation = (uint64_t)sqlite3_column_int64(s, 5);
		p->first_seen = sqlite3_column_int64(s, 6);
		p->last_seen = sqlite3_column_int64(s, 7);
		const unsigned char *pin = sqlite3_column_text(s, 8);
		snprintf(p->pin, sizeof p->pin, "%s", pin ? (const char *)pin : "");
		p->pinned_at = sqlite3_column_int64(s, 9);
	}
	sqlite3_finalize(s);
	*out = arr;
	*n = k;
	return 0;
}

int
store_peers_load(struct store *st, struct store_peer_row **out, int *n)
{
	return LOCKED(st, peers_load_locked(st, out, n));
}

static int
peer_delete_locked(struct store *st, const char *id)
{
	int rc = store_delete_by_locked(st, "DELETE FROM peers WHERE id=?", 0, id);
	store_delete_by_locked(st, "DELETE FROM polls WHERE peer_id=?", 0, id);
	store_delete_by_locked(st, "DELETE FROM polls_5m WHERE peer_id=?", 0, id);
	store_delete_by_locked(st, "DELETE FROM pmtu_history WHERE peer_id=?", 0, id);
	return rc == MW_ENOTFOUND ? 0 : rc;
}

int
store_peer_delete(struct store *st, const char *id)
{
	return LOCKED(st, peer_delete_locked(st, id));
}

static int
poll_buckets_locked(struct store *st, const char *peer_id, int64_t since, struct store_bucket **out, int *n)
{
	*out = calloc(300, sizeof **out); /* 24 h of 5-minute buckets, and a few more */
	*n = 0;
	if (*out == NULL)
		return MW_ENOMEM;
	sqlite3_stmt *s = store_prep(st, "SELECT (ts/300)*300, COUNT(*), SUM(ok) FROM polls WHERE peer_id=? AND ts>=? "
	                           "GROUP BY 1 ORDER BY 1 DESC LIMIT 300");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, peer_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	while (*n < 300 && sqlite3_step(s) == SQLITE_ROW) {
		struct store_bucket *b = &(*out)[(*n)++];
		b->t = sqlite3_column_int64(s, 0);
		b->n = sqlite3_column_int(s, 1);
		b->ok = sqlite3_column_int(s, 2);
	}
	sqlite3_finalize(s);
	return 0;
}

int
store_poll_buckets(struct store *st, const char *peer_id, int64_t since, struct store_bucket **out, int *n)
{
	return LOCKED(st, poll_buckets_locked(st, peer_id, since, out, n));
}

static void
bind_ms(sqlite3_stmt *s, int i, double v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_double(s, i, v);
}

int
store_insert_rows_locked(struct store *st, const char *sql, const void *rows, size_t size, int n,
    void (*bind)(sqlite3_stmt *s, const void *row))
{
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int ret = 0;
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL) {
		ret = MW_EDB;
		goto out;
	}
	for (int i = 0; i < n && ret == 0; i++) {
		bind(s, (const char *)rows + (size_t)i * size);
		if (sqlite3_step(s) != SQLITE_DONE)
			ret = MW_EDB;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
out:
	store_exec_locked(st, ret == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return ret;
}

static void
bind_poll(sqlite3_stmt *s, const void *row)
{
	const struct poll_row *r = row;
	sqlite3_bind_text(s, 1, r->peer_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, r->ts);
	sqlite3_bind_int(s, 3, r->ok);
	if (r->ok)
		sqlite3_bind_null(s, 4);
	else
		sqlite3_bind_text(s, 4, r->error, -1, SQLITE_STATIC);
	bind_ms(s, 5, r->connect_ms);
	bind_ms(s, 6, r->tls_ms);
	bind_ms(s, 7, r->ttfb_ms);
	bind_ms(s, 8, r->total_ms);
	bind_ms(s, 9, r->rtt_avg_ms);
	bind_ms(s, 10, r->jitter_ms);
	bind_ms(s, 11, r->loss);
	sqlite3_bind_int(s, 12, r->excused != 0);
}

static int
polls_insert_locked(struct store *st, const struct poll_row *rows, int n)
{
	return store_insert_rows_locked(st,
	    "INSERT INTO polls(peer_id,ts,ok,error,connect_ms,tls_ms,ttfb_ms,total_ms,rtt_avg_ms,jitter_ms,loss,excused) "
	    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
	    rows, sizeof *rows, n, bind_poll);
}

int
store_polls_insert(struct store *st, const struct poll_row *rows, int n)
{
	if (n <= 0)
		return 0;
	return LOCKED(st, polls_insert_locked(st, rows, n));
}

static int
pmtu_insert_locked(struct store *st, const char *peer_id, const struct pmtu_row *p)
{
	sqlite3_stmt *s = store_prep(st, "INSERT INTO pmtu_history(peer_id,measured_at,value,method,probes,black_hole) "
	                           "VALUES(?,?,?,?,?,?)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, peer_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, p->measured_at);
	sqlite3_bind_int(s, 3, p->value);
	sqlite3_bind_text(s, 4, p->method, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, p->probes);
	sqlite3_bind_int(s, 6, p->black_hole);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : MW_EDB;
}

int
store_pmtu_insert(struct store *st, const char *peer_id, const struct pmtu_row *p)
{
	return LOCKED(st, pmtu_insert_locked(st, peer_id, p));
}

static int
pmtu_list_locked(struct store *st, const char *peer_id, int limit, struct pmtu_row **rows, int *n)
{
	*rows = calloc((size_t)(limit > 0 ? limit : 1), sizeof **rows);
	*n = 0;
	if (*rows == NULL)
		return MW_ENOMEM;
	sqlite3_stmt *s = store_prep(st, "SELECT measured_at,value,method,probes,black_hole FROM pmtu_history "
	                           "WHERE peer_id=? ORDER BY measured_at DESC, rowid DESC LIMIT ?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, peer_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, limit);
	while (*n < limit && sqlite3_step(s) == SQLITE_ROW) {
		struct pmtu_row *r = &(*rows)[(*n)++];
		r->measured_at = sqlite3_column_int64(s, 0);
		r->value = sqlite3_column_int(s, 1);
		snprintf(r->method, sizeof r->method, "%s", (const char *)sqlite3_column_text(s, 2));
		r->probes = sqlite3_column_int(s, 3);
		r->black_hole = sqlite3_column_int(s, 4);
	}
	sqlite3_finalize(s);
	return 0;
}

int
store_pmtu_list(struct store *st, const char *peer_id, int limit, struct pmtu_row **rows, int *n)
{
	return LOCKED(st, pmtu_list_locked(st, peer_id, limit, rows, n));
}

static double
col_or_neg(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? -1.0 : sqlite3_column_double(s, i);
}

static int
history_locked(struct store *st, const char *peer_id, int64_t from, int64_t to, int step, struct hist_row **rows,
    int *n)
{
	*rows = NULL;
	*n = 0;
	/* checked before the subtraction: the range comes from a query string */
	if (step < 1 || from < 0 || to < from || to > MW_TIME_MAX)
		return MW_EINVAL;
	int64_t cap = (to - from) / step + 2;
	if (cap > 100000)
		return MW_EINVAL;
	struct hist_row *arr = calloc((size_t)cap, sizeof *arr);
	if (arr == NULL)
		return MW_ENOMEM;
	/* Raw polls and 5-minute buckets, weighted by poll count, in one pass. */
	sqlite3_stmt *s = store_prep(st,
	    "SELECT (t/?4)*?4 AS b, SUM(n), SUM(ok), "
	    "SUM(connect_ms*n)/SUM(CASE WHEN connect_ms IS NULL THEN 0 ELSE n END), "
	    "SUM(tls_ms*n)/SUM(CASE WHEN tls_ms IS NULL THEN 0 ELSE n END), "
	    "SUM(ttfb_ms*n)/SUM(CASE WHEN ttfb_ms IS NULL THEN 0 ELSE n END), "
	    "SUM(total_ms*n)/SUM(CASE WHEN total_ms IS NULL THEN 0 ELSE n END), "
	    "SUM(rtt_avg_ms*n)/SUM(CASE WHEN rtt_avg_ms IS NULL THEN 0 ELSE n END), "
	    "SUM(jitter_ms*n)/SUM(CASE WHEN jitter_ms IS NULL THEN 0 ELSE n END), "
	    "SUM(loss*n)/SUM(CASE WHEN loss IS NULL THEN 0 ELSE n END), SUM(excused), "
	    "MIN(rtt_avg_ms), MAX(rtt_avg_ms) FROM ("
	    "  SELECT ts AS t, 1 AS n, ok, connect_ms, tls_ms, ttfb_ms, total_ms, rtt_avg_ms, jitter_ms, loss, excused "
	    "  FROM polls WHERE peer_id=?1 AND ts>=?2 AND ts<?3 "
	    "  UNION ALL SELECT bucket, n, ok, connect_ms, tls_ms, ttfb_ms, total_ms, rtt_avg_ms, jitter_ms, loss, excused "
	    "  FROM polls_5m WHERE peer_id=?1 AND bucket>=?2 AND bucket<?3) GROUP BY b ORDER BY b");
	if (s == NULL) {
		free(arr);
		return MW_EDB;
	}
	sqlite3_bind_text(s, 1, peer_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	sqlite3_bind_int(s, 4, step);
	int k = 0;
	while (k < cap && sqlite3_step(s) == SQLITE_ROW) {
		struct hist_row *r = &arr[k++];
		r->t = sqlite3_column_int64(s, 0);
		r->polls = sqlite3_column_int(s, 1);
		r->ok = sqlite3_column_int(s, 2);
		r->connect_ms = col_or_neg(s, 3);
		r->tls_ms = col_or_neg(s, 4);
		r->ttfb_ms = col_or_neg(s, 5);
		r->total_ms = col_or_neg(s, 6);
		r->rtt_avg_ms = col_or_neg(s, 7);
		r->jitter_ms = col_or_neg(s, 8);
		r->loss = col_or_neg(s, 9);
		r->excused = sqlite3_column_int(s, 10);
		r->rtt_min_ms = col_or_neg(s, 11);
		r->rtt_max_ms = col_or_neg(s, 12);
	}
	sqlite3_finalize(s);
	*rows = arr;
	*n = k;
	return 0;
}

int
store_poll_history(struct store *st, const char *peer_id, int64_t from, int64_t to, int step, struct hist_row **rows,
    int *n)
{
	if (step < 1 || to <= from)
		return MW_EINVAL;
	return LOCKED(st, history_locked(st, peer_id, from, to, step, rows, n));
}

int
store_bind_exec_locked(struct store *st, const char *sql, int64_t a)
{
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, a);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? sqlite3_changes(st->db) : MW_EDB;
}

/* Rows of a table of n rows to delete in one round: a tenth of them (at
   least rows); with chunk bytes, the share of n that a chunk is of
   the whole file (at least 50 rows), which overestimates the bytes per row
   of any one table and so keeps the pages a round rewrites (the WAL grows
   by them until the checkpoint) near chunk. */
static int
shed_rows(int n, int least, int64_t chunk, int64_t size)
{
	if (chunk > 0 && size > 0) {
		int64_t r = (int64_t)n * chunk / size;
		return r > 50 ? (int)r : 50;
	}
	return n / 10 > least ? n / 10 : least;
}

static int shed_origins_locked(struct store *st, int want);

/* Removes the oldest history, a round at a time, reclaiming the pages,
   until the file (database and WAL) is at most target bytes or nothing
   removable is left. chunk: about how many bytes of rows a round deletes
   (0: a tenth of each table). Returns the rows removed. Lock held. */
static int
shed_locked(struct store *st, int64_t target, int64_t chunk)
{
	int removed = 0;
	st->cap_busy = 1; /* its own writes do not schedule another check */
	store_exec_locked(st, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, 0);
	int64_t size;
	for (int round = 0; round < 200 && (size = store_size_bytes(st)) > target; round++) {
		/* far over (a cap just lowered): bigger rounds, so 200 get there */
		int64_t c = chunk > 0 && (size - target) / 8 > chunk ? (size - target) / 8 : chunk;
		int nb = store_int_query_locked(st, "SELECT COUNT(*) FROM polls_5m");
		int nr = store_int_query_locked(st, "SELECT COUNT(*) FROM polls");
		int nc = store_int_query_locked(st, "SELECT COUNT(*) FROM cells");
		int nt = store_int_query_locked(st, "SELECT COUNT(*) FROM target_checks");
		/* traffic minutes give first while they are older than our poll buckets */
		int64_t t_old = 0;
		int ntr = store_traffic_count_locked(st, &t_old);
		int b_old = nb > 0 ? store_int_query_locked(st, "SELECT MIN(bucket) FROM polls_5m") : 0;
		/* what stale origins said of their hosts, targets and traffic is the first to go */
		int d = store_inventory_shed_stale_locked(st, mw_wall_s(), 2000);
		if (d <= 0)
			d = ntr > 0 && (nb == 0 || t_old <= b_old) ? store_traffic_trim_locked(st, shed_rows(ntr, 60, c, size)) : 0;
		/* then the largest history: target checks, received cells, our own buckets */
		if (d <= 0 && nt > nb && nt >= nc)
			d = store_bind_exec_locked(st,
			    "DELETE FROM target_checks WHERE rowid IN (SELECT rowid FROM target_checks ORDER BY ts_ms LIMIT ?1)",
			    shed_rows(nt, 2000, c, size));
		if (d <= 0 && nc > nb)
			d = store_bind_exec_locked(st, "DELETE FROM cells WHERE rowid IN (SELECT rowid FROM cells ORDER BY t LIMIT ?1)",
			    shed_rows(nc, 2000, c, size));
		/* received sequence numbers (all but each origin's newest), then whole origins, stalest first */
		int ns = store_int_query_locked(st, "SELECT COUNT(*) FROM report_seqs");
		int nl = store_int_query_locked(st, "SELECT COUNT(*) FROM cells_latest");
		if (d <= 0 && ns > nb)
			d = store_bind_exec_locked(st,
			    "DELETE FROM report_seqs WHERE rowid IN (SELECT r.rowid FROM report_seqs r JOIN origins o ON o.id = r.origin "
			    "WHERE r.seq < o.last_seq ORDER BY r.rowid LIMIT ?1)",
			    shed_rows(ns, 2000, c, size));
		/* received discovery changes, oldest first, before whole origins */
		int ni = store_inventory_changes_count_locked(st);
		if (d <= 0 && ni > nb)
			d = store_inventory_shed_changes_locked(st, shed_rows(ni, 200, c, size));
		if (d <= 0 && nl > nb && (d = shed_origins_locked(st, shed_rows(nl, 200, c, size))) > 0)
			st->cap_matrix_rows += d;
		if (d <= 0)
			d = store_bind_exec_locked(st,
			    "DELETE FROM polls_5m WHERE rowid IN (SELECT rowid FROM polls_5m ORDER BY bucket LIMIT ?1)",
			    shed_rows(nb, 2000, c, size));
		if (d <= 0)
			d = store_bind_exec_locked(st, "DELETE FROM polls WHERE rowid IN (SELECT rowid FROM polls ORDER BY ts LIMIT ?1)",
			    shed_rows(nr, 2000, c, size));
		if (d <= 0)
			d = store_bind_exec_locked(st,
			    "DELETE FROM pmtu_history WHERE rowid IN (SELECT rowid FROM pmtu_history ORDER BY measured_at LIMIT ?1)",
			    200);
		if (d <= 0)
			d = store_discovery_shed_locked(st, 2000);
		if (d <= 0 && nl > 0 && (d = shed_origins_locked(st, 200)) > 0)
			st->cap_matrix_rows += d;
		if (d <= 0) /* ended alerts; active ones are state, never shed */
			d = store_bind_exec_locked(st,
			    "DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts WHERE state = 'resolved' ORDER BY id LIMIT ?1)",
			    500);
		if (d <= 0) /* the story of what happened goes last */
			d = store_events_shed_locked(st, 500);
		if (d <= 0)
			break; /* nothing left to give back: the rest is users, sessions, peers */
		removed += d;
		store_exec_locked(st, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);", NULL, 0);
	}
	st->cap_busy = 0;
	st->cap_due = 0;
	return removed;
}

/* ---- the size cap, checked by the writer ----
   Every commit appends pages to the WAL; SQLite reports how many the WAL
   holds after each one (the WAL hook, on the committing thread, which
   holds the store lock). After every commit that added pages, LOCKED runs
   store_cap_check_locked before it lets go of the lock: two stat() calls
   (checking only once a slice had been written let four writers of 300 KB
   reports grow the file 1.5 MB past a check, and past a 10 MB cap), and
   when the file (database + WAL) leaves less headroom than the next
   commit may take,
   the oldest history goes, in rounds of about a slice each, until the
   headroom is there again plus 1/8 of the cap. The headroom is two slices
   plus twice the largest recent write transaction: a commit first grows
   the WAL by its pages, and copying them back can grow the database by as
   much again. So database + WAL stay under the cap as long as the cap
   holds the history's irreducible part plus that headroom (a cap too small
   for the write rate keeps less history, and says so in the log). The
   WAL is copied back (a passive checkpoint, as SQLite's auto-checkpoint
   would) whenever it holds two slices, and journal_size_limit cuts the
   file back to that size. Measured in test_store.c
   (test_size_cap_from_the_writer) and test/integration/db_cap.sh. */

#define CAP_SLICE_DIV 32
#define CAP_MIN_SLICE 16384

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *st = arg;
	int64_t added = pages >= st->cap_wal_pages ? pages - st->cap_wal_pages : pages; /* a reset WAL starts over */
	st->cap_wal_pages = pages;
	if (!st->cap_busy && added * st->cap_page_size > st->cap_txn_recent)
		st->cap_txn_recent = added * st->cap_page_size;
	if (added > 0 && !st->cap_busy)
		st->cap_due = 1;
	if ((int64_t)pages * st->cap_page_size >= 2 * st->cap_slice || pages >= 1000)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static void
set_size_cap_locked(struct store *st, int64_t max_bytes)
{
	if (max_bytes <= 0 || max_bytes == st->cap_bytes)
		return;
	int first = st->cap_bytes == 0;
	st->cap_bytes = max_bytes;
	st->cap_slice = max_bytes / CAP_SLICE_DIV > CAP_MIN_SLICE ? max_bytes / CAP_SLICE_DIV : CAP_MIN_SLICE;
	st->cap_page_size = store_int_query_locked(st, "PRAGMA page_size");
	if (st->cap_page_size <= 0)
		st->cap_page_size = 4096;
	char sql[96];
	snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%lld", (long long)(2 * st->cap_slice));
	sqlite3_stmt *s = store_prep(st, sql); /* it answers with a row: not for exec */
	if (s) {
		sqlite3_step(s);
		sqlite3_finalize(s);
	}
	if (first) {
		/* replaces SQLite's auto-checkpoint, which wal_hook now does */
		sqlite3_wal_hook(st->db, wal_hook, st);
		st->cap_due = 1; /* check the file as it is now */
	}
}

void
store_set_size_cap(struct store *st, int64_t max_bytes)
{
	LOCKED(st, (set_size_cap_locked(st, max_bytes), 0));
}

/* A reporting node whose cap cannot hold the latest cells of every origin
   loses whole origins from its matrix: said plainly, not at info level
   among the routine removals. */
static void
warn_matrix_cut_locked(struct store *st, int64_t size)
{
	if (st->cap_matrix_rows <= 0)
		return;
	int cells = store_int_query_locked(st, "SELECT COUNT(*) FROM cells_latest");
	log_warn("db", "size cap %lld bytes: %lld latest cells of reporting origins removed to stay under it "
	               "(%d kept, %lld bytes now): the mesh matrix does not fit; raise db_max_bytes",
	    (long long)st->cap_bytes, (long long)st->cap_matrix_rows, cells, (long long)size);
	st->cap_matrix_rows = 0;
}

void
store_cap_check_locked(struct store *st)
{
	st->cap_due = 0;
	/* the file can grow by more than the WAL frames say (page splits of
	   random keys, the copy back into the database): all it grew since
	   the last check counts as one write too (half was not enough: a
	   flood of 300 KB reports ended 0.5 % over the cap) */
	int64_t size = store_size_bytes(st);
	if (st->cap_last_size > 0 && size - st->cap_last_size > st->cap_txn_recent)
		st->cap_txn_recent = size - st->cap_last_size;
	/* the largest write transaction lately: a burst is remembered, and
	   forgotten by 1/16 a check once it is over */
	int64_t decayed = st->cap_txn_max - st->cap_txn_max / 16;
	st->cap_txn_max = st->cap_txn_recent > decayed ? st->cap_txn_recent : decayed;
	st->cap_txn_recent = 0;
	int64_t headroom = 2 * st->cap_slice + 2 * st->cap_txn_max;
	/* a burst estimate past a third of the cap would shed all history
	   under a steady load on a small cap: the newest rows must stay */
	if (headroom > st->cap_bytes / 3)
		headroom = st->cap_bytes / 3;
	st->cap_last_size = size;
	if (size + headroom <= st->cap_bytes)
		return;
	int64_t target = st->cap_bytes - headroom - st->cap_bytes / 8;
	int small = target < st->cap_bytes / 8;
	if (small)
		target = st->cap_bytes / 8;
	int64_t ms = mw_now_ms();
	int removed = shed_locked(st, target, st->cap_slice);
	int64_t after = store_size_bytes(st);
	st->cap_last_size = after;
	st->cap_rows += removed;
	/* once a minute at most: under a steady flood this runs every slice */
	if (st->cap_logged_ms == 0 || ms - st->cap_logged_ms >= 60000) {
		log_info("db", "size cap %lld bytes: %lld rows of the oldest history removed (%lld -> %lld bytes now)",
		    (long long)st->cap_bytes, (long long)st->cap_rows, (long long)size, (long long)after);
		if (small || after + headroom > st->cap_bytes)
			log_warn("db", "write transactions of up to %lld bytes leave the %lld-byte cap little room for history "
			               "(%lld bytes left after removing what can go): raise db_max_bytes",
			    (long long)st->cap_txn_max, (long long)st->cap_bytes, (long long)after);
		warn_matrix_cut_locked(st, after);
		st->cap_rows = 0;
		st->cap_logged_ms = ms;
	}
}

static int
maintain_locked(struct store *st, int64_t now, int64_t raw_keep_s, int64_t keep_s, int64_t max_bytes,
    struct maint_stats *ms)
{
	memset(ms, 0, sizeof *ms);
	ms->size_before = store_size_bytes(st);
	/* whole 5-minute buckets only, so a bucket is written once */
	int64_t cut = ((now - raw_keep_s) / 300) * 300;
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int r = store_bind_exec_locked(st,
	    "INSERT INTO polls_5m(peer_id,bucket,n,ok,connect_ms,tls_ms,ttfb_ms,total_ms,rtt_avg_ms,jitter_ms,loss,excused) "
	    "SELECT peer_id, (ts/300)*300, COUNT(*), SUM(ok), AVG(connect_ms), AVG(tls_ms), AVG(ttfb_ms), AVG(total_ms), "
	    "AVG(rtt_avg_ms), AVG(jitter_ms), AVG(loss), SUM(excused) FROM polls WHERE ts < ?1 GROUP BY peer_id, (ts/300)*300 "
	    "ON CONFLICT(peer_id,bucket) DO UPDATE SET n=n+excluded.n, ok=ok+excluded.ok, excused=excused+excluded.excused",
	    cut);
	if (r >= 0) {
		ms->downsampled = store_bind_exec_locked(st, "DELETE FROM polls WHERE ts < ?1", cut);
		int e = store_bind_exec_locked(st, "DELETE FROM polls_5m WHERE bucket < ?1", now - keep_s);
		ms->expired = e > 0 ? e : 0;
		e = store_bind_exec_locked(st, "DELETE FROM cells WHERE t < ?1", now - keep_s);
		ms->expired += e > 0 ? e : 0;
		store_bind_exec_locked(st, "DELETE FROM report_seqs WHERE received_at < ?1", now - keep_s);
		e = store_traffic_expire_locked(st, now - keep_s);
		ms->expired += e > 0 ? e : 0;
		e = store_events_expire_locked(st, (now - keep_s) * 1000);
		ms->expired += e > 0 ? e : 0;
		e = store_alerts_expire_locked(st, now - keep_s);
		ms->expired += e > 0 ? e : 0;
		e = store_inventory_expire_locked(st, now - keep_s);
		ms->expired += e > 0 ? e : 0;
	}
	store_exec_locked(st, r >= 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	if (r < 0)
		return MW_EDB;
	/* The size cap: oldest history first, a slice at a time, reclaiming pages. */
	set_size_cap_locked(st, max_bytes);
	if (store_size_bytes(st) > max_bytes)
		ms->capped = shed_locked(st, max_bytes, 0);
	ms->size_after = store_size_bytes(st);
	warn_matrix_cut_locked(st, ms->size_after);
	return 0;
}

int
store_maintain(struct store *st, int64_t now, int64_t raw_keep_s, int64_t keep_s, int64_t max_bytes,
    struct maint_stats *ms)
{
	return LOCKED(st, maintain_locked(st, now, raw_keep_s, keep_s, max_bytes, ms));
}

/* ---- reporting ---- */

static int64_t
int64_query_locked(struct store *st, const char *sql, const char *arg)
{
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return -1;
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return v;
}

static int
outbox_add_locked(struct store *st, int64_t seqv, const char *body, int64_t now, int max_rows, int *dropped)
{
	*dropped = 0;
	int64_t *seq = &seqv;
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int ret = 0;
	/* sequence numbers never repeat, even after the outbox is trimmed */
	int64_t last = int64_query_locked(st, "SELECT value FROM meta WHERE key='report_seq'", NULL);
	if (seqv != last + 1) {
		ret = MW_EEXIST;
		goto out;
	}
	sqlite3_stmt *s = store_prep(st, "INSERT INTO outbox(seq,created_at,body) VALUES(?,?,?)");
	if (s == NULL) {
		ret = MW_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, *seq);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, body, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		ret = MW_EDB;
	sqlite3_finalize(s);
	if (ret == 0) {
		s = store_prep(st, "INSERT INTO meta(key,value) VALUES('report_seq',?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
		if (s == NULL) {
			ret = MW_EDB;
			goto out;
		}
		sqlite3_bind_int64(s, 1, *seq);
		if (sqlite3_step(s) != SQLITE_DONE)
			ret = MW_EDB;
		sqlite3_finalize(s);
	}
	if (ret == 0) {
		int r = store_bind_exec_locked(st, "DELETE FROM outbox WHERE seq <= (SELECT MAX(seq) FROM outbox) - ?1", max_rows);
		*dropped = r > 0 ? r : 0;
	}
out:
	store_exec_locked(st, ret == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return ret;
}

int
store_outbox_add(struct store *st, int64_t seq, const char *body, int64_t now, int max_rows, int *dropped)
{
	return LOCKED(st, outbox_add_locked(st, seq, body, now, max_rows, dropped));
}

static int
outbox_next_locked(struct store *st, int64_t after, int64_t *seq, char **body)
{
	sqlite3_stmt *s = store_prep(st, "SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, after);
	int rc = MW_ENOTFOUND;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		*body = strdup((const char *)sqlite3_column_text(s, 1));
		rc = *body ? 0 : MW_ENOMEM;
	}
	sqlite3_finalize(s);
	return rc;
}

int
store_outbox_next(struct store *st, int64_t after, int64_t *seq, char **body)
{
	return LOCKED(st, outbox_next_locked(st, after, seq, body));
}

int64_t
store_report_acked(struct store *st, const char *server)
{
	return LOCKED(st, int64_query_locked(st, "SELECT acked_seq FROM report_servers WHERE server=?", server));
}

static int
report_ack_locked(struct store *st, const char *server, int64_t seq)
{
	sqlite3_stmt *s = store_prep(st, "INSERT INTO report_servers(server,acked_seq) VALUES(?,?) "
	                           "ON CONFLICT(server) DO UPDATE SET acked_seq=MAX(acked_seq, excluded.acked_seq)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, seq);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : MW_EDB;
}

int
store_report_ack(struct store *st, const char *server, int64_t seq)
{
	return LOCKED(st, report_ack_locked(st, server, seq));
}

int
store_outbox_trim(struct store *st, int64_t seq)
{
	return LOCKED(st, store_bind_exec_locked(st, "DELETE FROM outbox WHERE seq <= ?1", seq));
}

int
store_outbox_count(struct store *st)
{
	return LOCKED(st, store_int_query_locked(st, "SELECT COUNT(*) FROM outbox"));
}

int64_t
store_outbox_last_seq(struct store *st)
{
	return LOCKED(st, int64_query_locked(st, "SELECT value FROM meta WHERE key='report_seq'", NULL));
}

/* Removes an origin and everything it sent; the rows removed. */
static int
forget_origin_locked(struct store *st, const char *id)
{
	static const char *const sql[] = {
	    "DELETE FROM cells_latest WHERE origin=?", "DELETE FROM cells WHERE origin=?",
	    "DELETE FROM report_seqs WHERE origin=?", "DELETE FROM origins WHERE id=?",
	};
	int removed = 0;
	for (size_t i = 0; i < MW_ARRAY_LEN(sql); i++) {
		sqlite3_stmt *s = store_prep(st, sql[i]);
		if (s == NULL)
			continue;
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_DONE)
			removed += sqlite3_changes(st->db);
		sqlite3_finalize(s);
	}
	return removed + store_inventory_forget_locked(st, id);
}

/* Removes about want rows of the stalest origin (oldest last report): its
   latest cells, then its history, then the origin itself, so that a round
   rewrites about as many pages as it was asked to; the rows removed. Lock
   held. */
static int
shed_origins_locked(struct store *st, int want)
{
	sqlite3_stmt *s = store_prep(st, "SELECT id FROM origins ORDER BY received_at LIMIT 1");
	char id[37] = "";
	if (s && sqlite3_step(s) == SQLITE_ROW)
		snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (id[0] == '\0') /* cells left by origins already gone */
		return store_bind_exec_locked(st, "DELETE FROM cells_latest WHERE rowid IN (SELECT rowid FROM cells_latest LIMIT ?1)",
		    want);
	static const char *const sql[] = {
	    "DELETE FROM cells_latest WHERE rowid IN (SELECT rowid FROM cells_latest WHERE origin=?1 LIMIT ?2)",
	    "DELETE FROM cells WHERE rowid IN (SELECT rowid FROM cells WHERE origin=?1 LIMIT ?2)",
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(sql); i++) {
		s = store_prep(st, sql[i]);
		if (s == NULL)
			return MW_EDB;
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, want);
		int d = sqlite3_step(s) == SQLITE_DONE ? sqlite3_changes(st->db) : 0;
		sqlite3_finalize(s);
		if (d > 0)
			return d;
	}
	return forget_origin_locked(st, id);
}

static int
report_insert_locked(struct store *st, const struct report_origin *o, const struct report_cell *cells, int n,
    const struct report_inventory *inv, int max_origins, int max_cells, int64_t now)
{
	if (store_exec_locked(st, "BEGIN IMMEDIATE", NULL, 0))
		return MW_EDB;
	int ret = 0;
	/* below the oldest number still remembered: trimmed, so delivered before */
	sqlite3_stmt *s = store_prep(st, "SELECT MIN(seq) FROM report_seqs WHERE origin=?");
	int64_t floor_seq = 0;
	if (s) {
		sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
			floor_seq = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	if (o->last_seq < floor_seq) {
		ret = MW_EEXIST;
		goto out;
	}
	if (int64_query_locked(st, "SELECT COUNT(*) FROM origins WHERE id=?", o->id) == 0 &&
	    store_int_query_locked(st, "SELECT COUNT(*) FROM origins") >= max_origins) {
		/* full: a stale origin (three intervals without a report) makes room */
		s = store_prep(st, "SELECT id FROM origins WHERE ?1 - received_at > 3 * interval_s ORDER BY received_at LIMIT 1");
		char gone[37] = "";
		if (s) {
			sqlite3_bind_int64(s, 1, now);
			if (sqlite3_step(s) == SQLITE_ROW)
				snprintf(gone, sizeof gone, "%s", (const char *)sqlite3_column_text(s, 0));
			sqlite3_finalize(s);
		}
		if (gone[0] == '\0') {
			ret = MW_ETOOBIG;
			goto out;
		}
		forget_origin_locked(st, gone);
		log_info("report", "origin %s (stale) removed to make room for %s (max_origins %d)", gone, o->id, max_origins);
	}
	s = store_prep(st, "INSERT OR IGNORE INTO report_seqs(origin,seq,received_at) VALUES(?,?,?)");
	if (s == NULL) {
		ret = MW_EDB;
		goto out;
	}
	sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, o->last_seq);
	sqlite3_bind_int64(s, 3, o->received_at);
	if (sqlite3_step(s) != SQLITE_DONE)
		ret = MW_EDB;
	sqlite3_finalize(s);
	if (ret == 0 && sqlite3_changes(st->db) == 0) {
		ret = MW_EEXIST; /* delivered before: nothing changes */
		goto out;
	}
	s = store_prep(st, "INSERT INTO origins(id,fqdn,ip,port,last_seq,generated_at,received_at,interval_s,reports) "
	             "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,1) ON CONFLICT(id) DO UPDATE SET fqdn=excluded.fqdn, ip=excluded.ip, "
	             "port=excluded.port, last_seq=MAX(last_seq, excluded.last_seq), "
	             "generated_at=MAX(generated_at, excluded.generated_at), received_at=excluded.received_at, "
	             "interval_s=excluded.interval_s, reports=reports+1");
	if (s == NULL) {
		ret = MW_EDB;
		goto out;
	}
	sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, o->fqdn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, o->ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, o->port);
	sqlite3_bind_int64(s, 5, o->last_seq);
	sqlite3_bind_int64(s, 6, o->generated_at);
	sqlite3_bind_int64(s, 7, o->received_at);
	sqlite3_bind_int(s, 8, o->interval_s);
	if (sqlite3_step(s) != SQLITE_DONE)
		ret = MW_EDB;
	sqlite3_finalize(s);
	sqlite3_stmt *h = store_prep(st, "INSERT INTO cells(origin,peer,t,state,rtt_ms,loss,pmtu,total_ms) VALUES(?,?,?,?,?,?,?,?)");
	/* the latest view only moves forward: a late backlog report does not overwrite a newer cell */
	sqlite3_stmt *l = store_prep(st, "INSERT INTO cells_latest(origin,peer,t,state,rtt_ms,loss,pmtu,total_ms,fqdn,ip) "
	                           "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(origin,peer) DO UPDATE SET t=excluded.t, "
	                           "state=excluded.state, rtt_ms=excluded.rtt_ms, loss=excluded.loss, pmtu=excluded.pmtu, "
	                           "total_ms=excluded.total_ms, fqdn=excluded.fqdn, ip=excluded.ip WHERE excluded.t >= t");
	if (h == NULL || l == NULL)
		ret = MW_EDB;
	for (int i = 0; ret == 0 && i < n; i++) {
		const struct report_cell *c = &cells[i];
		sqlite3_stmt *both[2] = {h, l};
		for (int k = 0; k < 2; k++) {
			sqlite3_stmt *q = both[k];
			sqlite3_bind_text(q, 1, o->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, c->peer, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 3, c->t);
			sqlite3_bind_int(q, 4, c->state);
			bind_ms(q, 5, c->rtt_ms);
			bind_ms(q, 6, c->loss);
			if (c->pmtu > 0)
				sqlite3_bind_int(q, 7, c->pmtu);
			else
				sqlite3_bind_null(q, 7);
			bind_ms(q, 8, c->total_ms);
			if (k == 1) {
				sqlite3_bind_text(q, 9, c->fqdn, -1, SQLITE_STATIC);
				sqlite3_bind_text(q, 10, c->ip, -1, SQLITE_STATIC);
			}
			if (sqlite3_step(q) != SQLITE_DONE)
				ret = MW_EDB;
			sqlite3_reset(q);
		}
	}
	sqlite3_finalize(h);
	sqlite3_finalize(l);
	/* an origin's row in the matrix: at most max_cells, the most recently measured */
	s = ret == 0 ? store_prep(st, "DELETE FROM cells_latest WHERE origin=?1 AND rowid NOT IN "
	                              "(SELECT rowid FROM cells_latest WHERE origin=?1 ORDER BY t DESC LIMIT ?2)")
	             : NULL;
	if (s) {
		sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, max_cells);
		if (sqlite3_step(s) != SQLITE_DONE)
			ret = MW_EDB;
		sqlite3_finalize(s);
	}
	if (ret == 0 && inv)
		ret = store_inventory_apply_locked(st, o->id, o->interval_s, o->generated_at, inv, now);
out:
	store_exec_locked(st, ret == 0 ? "COMMIT" : "ROLLBACK", NULL, 0);
	return ret;
}

int
store_report_insert(struct store *st, const struct report_origin *o, const struct report_cell *cells, int n,
    int max_origins, int max_cells, int64_t now)
{
	return LOCKED(st, report_insert_locked(st, o, cells, n, NULL, max_origins, max_cells, now));
}

int
store_report_insert_inventory(struct store *st, const struct report_origin *o, const struct report_cell *cells,
    int n, const struct report_inventory *inv, int max_origins, int max_cells, int64_t now)
{
	return LOCKED(st, report_insert_locked(st, o, cells, n, inv, max_origins, max_cells, now));
}

int
store_report_origin_count(struct store *st)
{
	return LOCKED(st, store_int_query_locked(st, "SELECT COUNT(*) FROM origins"));
}

static int
report_origins_locked(struct store *st, int offset, int limit, struct report_origin **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (limit < 0 || offset < 0)
		return MW_EINVAL;
	struct report_origin *arr = calloc((size_t)(limit ? limit : 1), sizeof *arr);
	if (arr == NULL)
		return MW_ENOMEM;
	sqlite3_stmt *s = store_prep(st, "SELECT id,fqdn,ip,port,last_seq,generated_at,received_at,interval_s,reports "
	                                 "FROM origins ORDER BY fqdn, id LIMIT ?1 OFFSET ?2");
	if (s) {
		sqlite3_bind_int(s, 1, limit);
		sqlite3_bind_int(s, 2, offset);
	}
	int k = 0;
	while (s && k < limit && sqlite3_step(s) == SQLITE_ROW) {
		struct report_origin *o = &arr[k++];
		snprintf(o->id, sizeof o->id, "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(o->fqdn, sizeof o->fqdn, "%s", (const char *)sqlite3_column_text(s, 1));
		snprintf(o->ip, sizeof o->ip, "%s", (const char *)sqlite3_column_text(s, 2));
		o->port = sqlite3_column_int(s, 3);
		o->last_seq = sqlite3_column_int64(s, 4);
		o->generated_at = sqlite3_column_int64(s, 5);
		o->received_at = sqlite3_column_int64(s, 6);
		o->interval_s = sqlite3_column_int(s, 7);
		o->reports = sqlite3_column_int(s, 8);
	}
	sqlite3_finalize(s);
	*out = arr;
	*n = k;
	return 0;
}

int
store_report_origins(struct store *st, int offset, int limit, struct report_origin **out, int *n)
{
	return LOCKED(st, report_origins_locked(st, offset, limit, out, n));
}

static void
read_cell(sqlite3_stmt *s, int base, struct report_cell *c)
{
	snprintf(c->peer, sizeof c->peer, "%s", (const char *)sqlite3_column_text(s, base));
	c->t = sqlite3_column_int64(s, base + 1);
	c->state = sqlite3_column_int(s, base + 2);
	c->rtt_ms = col_or_neg(s, base + 3);
	c->loss = col_or_neg(s, base + 4);
	c->pmtu = sqlite3_column_type(s, base + 5) == SQLITE_NULL ? 0 : sqlite3_column_int(s, base + 5);
	c->total_ms = col_or_neg(s, base + 6);
}

static int
report_latest_locked(struct store *st, const char *origin, int max, struct report_cell **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (max < 0)
		return MW_EINVAL;
	/* grown as rows come: callers pass a bound (a reporting node's
	   /metrics passes the matrix cells left, up to 40,001), and an array of
	   that size per origin was 15 MB allocated for a few hundred rows */
	int cap = max < 64 ? (max ? max : 1) : 64;
	struct report_cell *arr = calloc((size_t)cap, sizeof *arr);
	if (arr == NULL)
		return MW_ENOMEM;
	sqlite3_stmt *s = store_prep(st, "SELECT peer,t,state,rtt_ms,loss,pmtu,total_ms,fqdn,ip FROM cells_latest "
	                                 "WHERE origin=? ORDER BY peer LIMIT ?");
	if (s) {
		sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, max);
	}
	int k = 0;
	while (s && k < max && sqlite3_step(s) == SQLITE_ROW) {
		if (k == cap) {
			int ncap = cap > max / 2 ? max : 2 * cap;
			struct report_cell *g = realloc(arr, (size_t)ncap * sizeof *arr);
			if (g == NULL) {
				sqlite3_finalize(s);
				free(arr);
				return MW_ENOMEM;
			}
			memset(g + cap, 0, (size_t)(ncap - cap) * sizeof *g);
			arr = g;
			cap = ncap;
		}
		struct report_cell *c = &arr[k++];
		read_cell(s, 0, c);
		snprintf(c->fqdn, sizeof c->fqdn, "%s", sqlite3_column_text(s, 7) ? (const char *)sqlite3_column_text(s, 7) : "");
		snprintf(c->ip, sizeof c->ip, "%s", sqlite3_column_text(s, 8) ? (const char *)sqlite3_column_text(s, 8) : "");
	}
	sqlite3_finalize(s);
	*out = arr;
	*n = k;
	return 0;
}

int
store_report_latest(struct store *st, const char *origin, int max, struct report_cell **out, int *n)
{
	return LOCKED(st, report_latest_locked(st, origin, max, out, n));
}

static int
report_history_locked(struct store *st, const char *origin, const char *peer, int64_t from, int64_t to,
    struct report_cell **out, int *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = store_prep(st, "SELECT peer,t,state,rtt_ms,loss,pmtu,total_ms FROM cells "
	                           "WHERE origin=? AND peer=? AND t>=? AND t<? ORDER BY t LIMIT 10000");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, from);
	sqlite3_bind_int64(s, 4, to);
	int cap = 64, k = 0;
	struct report_cell *arr = malloc((size_t)cap * sizeof *arr);
	while (arr && sqlite3_step(s) == SQLITE_ROW) {
		if (k == cap) {
			cap *= 2;
			struct report_cell *na = realloc(arr, (size_t)cap * sizeof *arr);
			if (na == NULL)
				break;
			arr = na;
		}
		memset(&arr[k], 0, sizeof arr[k]);
		read_cell(s, 0, &arr[k++]);
	}
	sqlite3_finalize(s);
	if (arr == NULL)
		return MW_ENOMEM;
	*out = arr;
	*n = k;
	return 0;
}

int
store_report_history(struct store *st, const char *origin, const char *peer, int64_t from, int64_t to,
    struct report_cell **out, int *n)
{
	return LOCKED(st, report_history_locked(st, origin, peer, from, to, out, n));
}

int
store_report_seq_count(struct store *st, const char *origin)
{
	return LOCKED(st, (int)int64_query_locked(st, "SELECT COUNT(*) FROM report_seqs WHERE origin=?", origin));
}
