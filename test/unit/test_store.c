/* Unit tests for store.c, each against a fresh database in its own
   temporary directory (removed afterwards). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meshwatch/rollup.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "testdir.h"

#define HASH_A "pbkdf2-sha256$100000$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g="
#define HASH_B "pbkdf2-sha256$100000$b3RoZXJvdGhlcm90aGVyMQ==$b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyMTI="

struct fx {
	char dir[256];
	struct store *st;
	char err[512];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/mw-test-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	f->st = store_open(f->dir, f->err, sizeof f->err);
	if (f->st == NULL) {
		fprintf(stderr, "store_open: %s\n", f->err);
		testdir_remove(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	if (f) {
		store_close(f->st);
		testdir_remove(f->dir);
		free(f);
	}
	return 0;
}

static void
reopen(struct fx *f)
{
	store_close(f->st);
	f->st = store_open(f->dir, f->err, sizeof f->err);
	if (f->st == NULL)
		print_error("reopen: %s\n", f->err);
	assert_non_null(f->st);
}

static int64_t
mkuser(struct fx *f, const char *name)
{
	struct user_row u;
	assert_int_equal(store_user_create(f->st, name, HASH_A, 1000000, &u), 0);
	assert_true(u.id > 0);
	return u.id;
}

/* Runs a one-value query on a separate connection. */
static void
side_query(const char *path, const char *sql, char *out, size_t outlen)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	int rc = sqlite3_step(s);
	assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
	if (out)
		snprintf(out, outlen, "%s", rc == SQLITE_ROW && sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0) : "");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Runs every statement of sql on a side connection. */
static void
side_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* open, schema, WAL */

static void
test_open_schema_wal(void **state)
{
	struct fx *f = *state;
	char want[512];
	snprintf(want, sizeof want, "%s/meshwatch.db", f->dir);
	assert_string_equal(store_path(f->st), want);
	struct stat sb;
	assert_int_equal(stat(want, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(store_schema_version(f->st), 14);
	char mode[32];
	side_query(want, "PRAGMA journal_mode", mode, sizeof mode);
	assert_string_equal(mode, "wal");
	/* a write goes to the WAL file */
	assert_int_equal(store_meta_set(f->st, "k", "v"), 0);
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", want);
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 0);
	struct stat db;
	assert_int_equal(stat(want, &db), 0);
	assert_true(store_size_bytes(f->st) >= db.st_size + sb.st_size);
	assert_true(store_size_bytes(f->st) > 0);
	/* the tables the migration created */
	char v[32];
	side_query(want, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN ('meta','users','sessions','schema_version')",
	    v, sizeof v);
	assert_string_equal(v, "4");
	side_query(want, "SELECT version FROM schema_version", v, sizeof v);
	assert_string_equal(v, "14");
	side_query(want, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN ('peers','polls','polls_5m','pmtu_history')",
	    v, sizeof v);
	assert_string_equal(v, "4");
	side_query(want, "PRAGMA auto_vacuum", v, sizeof v);
	assert_string_equal(v, "2"); /* incremental, so the size cap can give pages back */
	side_query(want, "SELECT COUNT(*) FROM schema_version", v, sizeof v);
	assert_string_equal(v, "1");
}

static void
test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct user_row u, back;
	assert_int_equal(store_user_create(f->st, "keeper", HASH_A, 10, &u), 0);
	assert_int_equal(store_meta_set(f->st, "node_id", "abc-123"), 0);
	int64_t exp = mw_wall_s() + 3600;
	assert_int_equal(store_session_create(f->st, "tok-hash-1", u.id, exp), 0);
	reopen(f);
	/* migrated to 11 and on to the newest */
	assert_true(store_schema_version(f->st) >= 11);
	assert_int_equal(store_user_count(f->st), 1);
	char hash[STORE_HASH_MAX];
	assert_int_equal(store_user_get_by_name(f->st, "keeper", &back, hash, sizeof hash), 0);
	assert_int_equal(back.id, u.id);
	assert_string_equal(hash, HASH_A);
	char val[64];
	assert_int_equal(store_meta_get(f->st, "node_id", val, sizeof val), 0);
	assert_string_equal(val, "abc-123");
	assert_int_equal(store_session_lookup(f->st, "tok-hash-1", mw_wall_s(), &back), 0);
	assert_int_equal(back.id, u.id);
	/* and foreign keys are still enforced after a reopen */
	assert_int_equal(store_user_delete(f->st, u.id), 0);
	assert_int_equal(store_session_count(f->st), 0);
	/* ids are not reused after a delete (AUTOINCREMENT) */
	struct user_row u2;
	assert_int_equal(store_user_create(f->st, "keeper", HASH_A, 10, &u2), 0);
	assert_true(u2.id > u.id);
}

static void
test_open_failures(void **state)
{
	struct fx *f = *state;
	char p[512], err[512];
	snprintf(p, sizeof p, "%s/no/such/dir", f->dir);
	err[0] = '\0';
	assert_null(store_open(p, err, sizeof err));
	assert_true(strlen(err) > 0);
	/* the data directory is a regular file */
	snprintf(p, sizeof p, "%s/file", f->dir);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	err[0] = '\0';
	assert_null(store_open(p, err, sizeof err));
	assert_true(strlen(err) > 0);
	/* a database from a newer build is refused, not downgraded */
	char db[600];
	snprintf(db, sizeof db, "%s", store_path(f->st));
	store_close(f->st);
	f->st = NULL;
	side_query(db, "UPDATE schema_version SET version=99", NULL, 0);
	err[0] = '\0';
	assert_null(store_open(f->dir, err, sizeof err));
	assert_non_null(strstr(err, "newer"));
	char v[32];
	side_query(db, "SELECT version FROM schema_version", v, sizeof v);
	assert_string_equal(v, "99");
	/* a file that is not a database */
	snprintf(p, sizeof p, "%s/junk", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(db, sizeof db, "%s/junk/meshwatch.db", f->dir);
	fp = fopen(db, "w");
	assert_non_null(fp);
	for (int i = 0; i < 4096; i++)
		fputc('J', fp);
	fclose(fp);
	err[0] = '\0';
	assert_null(store_open(p, err, sizeof err));
	assert_true(strlen(err) > 0);
	store_close(NULL);
}

/* meta */

static void
test_meta(void **state)
{
	struct fx *f = *state;
	char v[64];
	assert_int_equal(store_meta_get(f->st, "missing", v, sizeof v), MW_ENOTFOUND);
	assert_int_equal(store_meta_set(f->st, "a", "1"), 0);
	assert_int_equal(store_meta_get(f->st, "a", v, sizeof v), 0);
	assert_string_equal(v, "1");
	assert_int_equal(store_meta_set(f->st, "a", "two"), 0);
	assert_int_equal(store_meta_get(f->st, "a", v, sizeof v), 0);
	assert_string_equal(v, "two");
	assert_int_equal(store_meta_set(f->st, "empty", ""), 0);
	memset(v, 'x', sizeof v);
	assert_int_equal(store_meta_get(f->st, "empty", v, sizeof v), 0);
	assert_string_equal(v, "");
	/* quotes are data, not SQL */
	assert_int_equal(store_meta_set(f->st, "q'uote", "it's \"fine\"; DROP TABLE meta;"), 0);
	assert_int_equal(store_meta_get(f->st, "q'uote", v, sizeof v), 0);
	assert_string_equal(v, "it's \"fine\"; DROP TABLE meta;");
	/* keys are exact */
	assert_int_equal(store_meta_get(f->st, "A", v, sizeof v), MW_ENOTFOUND);
	/* a small buffer gets a terminated prefix */
	char small[4];
	assert_int_equal(store_meta_get(f->st, "a", small, sizeof small), 0);
	assert_string_equal(small, "two");
	assert_int_equal(store_meta_set(f->st, "long", "abcdefgh"), 0);
	assert_int_equal(store_meta_get(f->st, "long", small, sizeof small), 0);
	assert_int_equal(strlen(small), 3);
}

/* users */

static void
test_user_create_get(void **state)
{
	struct fx *f = *state;
	struct user_row u, g;
	int64_t before = mw_wall_s();
	memset(&u, 0, sizeof u);
	assert_int_equal(store_user_create(f->st, "alice", HASH_A, 10, &u), 0);
	int64_t after = mw_wall_s();
	assert_true(u.id > 0);
	assert_string_equal(u.username, "alice");
	assert_true(u.created_at >= before && u.created_at <= after);
	assert_int_equal(u.updated_at, u.created_at);
	assert_int_equal(store_user_get(f->st, u.id, &g), 0);
	assert_int_equal(g.id, u.id);
	assert_string_equal(g.username, "alice");
	assert_int_equal(g.created_at, u.created_at);
	char hash[STORE_HASH_MAX];
	memset(&g, 0, sizeof g);
	assert_int_equal(store_user_get_by_name(f->st, "alice", &g, hash, sizeof hash), 0);
	assert_int_equal(g.id, u.id);
	assert_string_equal(hash, HASH_A);
	assert_int_equal(store_user_get_by_name(f->st, "alice", &g, NULL, 0), 0);
	assert_int_equal(store_user_get(f->st, u.id + 1000, &g), MW_ENOTFOUND);
	assert_int_equal(store_user_get_by_name(f->st, "bob", &g, hash, sizeof hash), MW_ENOTFOUND);
	assert_int_equal(store_user_get_by_name(f->st, "alic", &g, NULL, 0), MW_ENOTFOUND);
	assert_int_equal(store_user_get_by_name(f->st, "alice%", &g, NULL, 0), MW_ENOTFOUND);
	/* out may be NULL */
	assert_int_equal(store_user_create(f->st, "bob", HASH_B, 10, NULL), 0);
	assert_int_equal(store_user_get_by_name(f->st, "bob", &g, hash, sizeof hash), 0);
	assert_string_equal(hash, HASH_B);
	assert_true(g.id > u.id);
	assert_int_equal(store_user_count(f->st), 2);
	/* a 64-character name round-trips */
	char name[STORE_USERNAME_MAX + 1];
	memset(name, 'n', STORE_USERNAME_MAX);
	name[STORE_USERNAME_MAX] = '\0';
	assert_int_equal(store_user_create(f->st, name, HASH_A, 10, &u), 0);
	assert_string_equal(u.username, name);
	assert_int_equal(store_user_get(f->st, u.id, &g), 0);
	assert_string_equal(g.username, name);
}

static void
test_user_duplicate_and_limit(void **state)
{
	struct fx *f = *state;
	struct user_row u;
	assert_int_equal(store_user_create(f->st, "dup", HASH_A, 3, &u), 0);
	assert_int_equal(store_user_create(f->st, "dup", HASH_B, 3, NULL), MW_EEXIST);
	assert_int_equal(store_user_count(f->st), 1);
	char hash[STORE_HASH_MAX];
	assert_int_equal(store_user_get_by_name(f->st, "dup", &u, hash, sizeof hash), 0);
	assert_string_equal(hash, HASH_A); /* the original is untouched */
	assert_int_equal(store_user_create(f->st, "two", HASH_A, 3, NULL), 0);
	assert_int_equal(store_user_create(f->st, "three", HASH_A, 3, NULL), 0);
	/* exactly max_users exist: one more is refused */
	assert_int_equal(store_user_create(f->st, "four", HASH_A, 3, NULL), MW_ETOOBIG);
	assert_int_equal(store_user_count(f->st), 3);
	assert_int_equal(store_user_get_by_name(f->st, "four", &u, NULL, 0), MW_ENOTFOUND);
	/* a larger limit lets it in */
	assert_int_equal(store_user_create(f->st, "four", HASH_A, 4, NULL), 0);
	assert_int_equal(store_user_create(f->st, "five", HASH_A, 4, NULL), MW_ETOOBIG);
	/* deleting makes room again */
	assert_int_equal(store_user_get_by_name(f->st, "two", &u, NULL, 0), 0);
	assert_int_equal(store_user_delete(f->st, u.id), 0);
	assert_int_equal(store_user_create(f->st, "five", HASH_A, 4, NULL), 0);
	assert_int_equal(store_user_count(f->st), 4);
	assert_int_equal(store_user_create(f->st, "zero", HASH_A, 0, NULL), MW_ETOOBIG);
}

static void
test_user_update(void **state)
{
	struct fx *f = *state;
	struct user_row u, g;
	char hash[STORE_HASH_MAX];
	int64_t id = mkuser(f, "carol");
	int64_t other = mkuser(f, "dave");
	/* rename */
	assert_int_equal(store_user_update(f->st, id, "caroline", NULL, -1, NULL), 0);
	assert_int_equal(store_user_get_by_name(f->st, "carol", &g, NULL, 0), MW_ENOTFOUND);
	assert_int_equal(store_user_get_by_name(f->st, "caroline", &g, hash, sizeof hash), 0);
	assert_int_equal(g.id, id);
	assert_string_equal(hash, HASH_A); /* hash unchanged */
	assert_true(g.updated_at >= g.created_at);
	/* new hash, same name */
	assert_int_equal(store_user_update(f->st, id, NULL, HASH_B, -1, NULL), 0);
	assert_int_equal(store_user_get_by_name(f->st, "caroline", &g, hash, sizeof hash), 0);
	assert_string_equal(hash, HASH_B);
	/* both at once */
	assert_int_equal(store_user_update(f->st, id, "carrie", HASH_A, -1, NULL), 0);
	assert_int_equal(store_user_get_by_name(f->st, "carrie", &g, hash, sizeof hash), 0);
	assert_string_equal(hash, HASH_A);
	/* taking another user's name */
	assert_int_equal(store_user_update(f->st, id, "dave", NULL, -1, NULL), MW_EEXIST);
	assert_int_equal(store_user_get(f->st, id, &u), 0);
	assert_string_equal(u.username, "carrie");
	assert_int_equal(store_user_get(f->st, other, &u), 0);
	assert_string_equal(u.username, "dave");
	/* the same name again is fine */
	assert_int_equal(store_user_update(f->st, id, "carrie", NULL, -1, NULL), 0);
	/* unknown id */
	assert_int_equal(store_user_update(f->st, id + other + 100, "ghost", NULL, -1, NULL), MW_ENOTFOUND);
	assert_int_equal(store_user_update(f->st, id + other + 100, NULL, HASH_B, -1, NULL), MW_ENOTFOUND);
	assert_int_equal(store_user_get_by_name(f->st, "ghost", &g, NULL, 0), MW_ENOTFOUND);
	assert_int_equal(store_user_count(f->st), 2);
	/* the store still takes writes: no transaction was left open */
	assert_int_equal(store_meta_set(f->st, "after", "update"), 0);
	reopen(f);
	char v[16];
	assert_int_equal(store_meta_get(f->st, "after", v, sizeof v), 0);
	assert_int_equal(store_user_get_by_name(f->st, "carrie", &g, NULL, 0), 0);
}

static void
test_user_delete_count(void **state)
{
	struct fx *f = *state;
	struct user_row g;
	assert_int_equal(store_user_count(f->st), 0);
	int64_t a = mkuser(f, "a1");
	int64_t b = mkuser(f, "b1");
	assert_int_equal(store_user_count(f->st), 2);
	assert_int_equal(store_user_delete(f->st, a), 0);
	assert_int_equal(store_user_count(f->st), 1);
	assert_int_equal(store_user_get(f->st, a, &g), MW_ENOTFOUND);
	assert_int_equal(store_user_delete(f->st, a), MW_ENOTFOUND);
	assert_int_equal(store_user_delete(f->st, 999999), MW_ENOTFOUND);
	assert_int_equal(store_user_get(f->st, b, &g), 0);
	assert_int_equal(store_user_delete(f->st, b), 0);
	assert_int_equal(store_user_count(f->st), 0);
}

static void
test_user_list(void **state)
{
	struct fx *f = *state;
	char name[32];
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof name, "user%02d", i);
		mkuser(f, name);
	}
	mkuser(f, "Alice");
	mkuser(f, "a_b");
	struct user_row *rows = NULL;
	int n = -1, total = -1;
	/* everything, in id order */
	assert_int_equal(store_user_list(f->st, NULL, 100, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 27);
	assert_int_equal(total, 27);
	for (int i = 1; i < n; i++)
		assert_true(rows[i].id > rows[i - 1].id);
	assert_string_equal(rows[0].username, "user00");
	assert_string_equal(rows[26].username, "a_b");
	free(rows);
	assert_int_equal(store_user_list(f->st, "", 100, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 27);
	free(rows);
	/* pages */
	assert_int_equal(store_user_list(f->st, NULL, 10, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 10);
	assert_int_equal(total, 27);
	assert_string_equal(rows[9].username, "user09");
	free(rows);
	assert_int_equal(store_user_list(f->st, NULL, 10, 10, &rows, &n, &total), 0);
	assert_int_equal(n, 10);
	assert_string_equal(rows[0].username, "user10");
	free(rows);
	assert_int_equal(store_user_list(f->st, NULL, 10, 20, &rows, &n, &total), 0);
	assert_int_equal(n, 7);
	assert_int_equal(total, 27);
	assert_string_equal(rows[0].username, "user20");
	assert_string_equal(rows[6].username, "a_b");
	free(rows);
	assert_int_equal(store_user_list(f->st, NULL, 10, 27, &rows, &n, &total), 0);
	assert_int_equal(n, 0);
	assert_int_equal(total, 27);
	free(rows);
	assert_int_equal(store_user_list(f->st, NULL, 0, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 0);
	assert_int_equal(total, 27);
	free(rows);
	/* a filter: substring, case-insensitive, total counts all matches */
	assert_int_equal(store_user_list(f->st, "user1", 100, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 10);
	assert_int_equal(total, 10);
	for (int i = 0; i < n; i++)
		assert_non_null(strstr(rows[i].username, "user1"));
	free(rows);
	assert_int_equal(store_user_list(f->st, "USER1", 3, 2, &rows, &n, &total), 0);
	assert_int_equal(n, 3);
	assert_int_equal(total, 10);
	assert_string_equal(rows[0].username, "user12");
	free(rows);
	assert_int_equal(store_user_list(f->st, "aLiCe", 100, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].username, "Alice");
	free(rows);
	/* no LIKE wildcards: "_" and "%" are literal */
	assert_int_equal(store_user_list(f->st, "_", 100, 0, &rows, &n, &total), 0);
	assert_int_equal(total, 1);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].username, "a_b");
	free(rows);
	assert_int_equal(store_user_list(f->st, "%", 100, 0, &rows, &n, &total), 0);
	assert_int_equal(total, 0);
	assert_int_equal(n, 0);
	free(rows);
	assert_int_equal(store_user_list(f->st, "zzz", 100, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 0);
	assert_int_equal(total, 0);
	free(rows);
}

/* sessions */

static void
test_sessions(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "sess");
	int64_t now = mw_wall_s();
	struct user_row u;
	assert_int_equal(store_session_count(f->st), 0);
	assert_int_equal(store_session_create(f->st, "h-live", uid, now + 100), 0);
	assert_int_equal(store_session_create(f->st, "h-soon", uid, now + 10), 0);
	assert_int_equal(store_session_create(f->st, "h-old", uid, now - 10), 0);
	assert_int_equal(store_session_count(f->st), 3);
	memset(&u, 0, sizeof u);
	assert_int_equal(store_session_lookup(f->st, "h-live", now, &u), 0);
	assert_int_equal(u.id, uid);
	assert_string_equal(u.username, "sess");
	/* expiry: valid strictly before expires_at */
	assert_int_equal(store_session_lookup(f->st, "h-soon", now + 9, &u), 0);
	assert_int_equal(store_session_lookup(f->st, "h-soon", now + 10, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "h-old", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "h-unknown", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "h-live'--", now, &u), MW_ENOTFOUND);
	/* an expired session still counts until purged */
	assert_int_equal(store_session_count(f->st), 3);
	assert_int_equal(store_session_purge(f->st, now), 1);
	assert_int_equal(store_session_count(f->st), 2);
	assert_int_equal(store_session_purge(f->st, now), 0);
	assert_int_equal(store_session_purge(f->st, now + 10), 1); /* expires_at == now counts */
	assert_int_equal(store_session_count(f->st), 1);
	/* delete */
	assert_int_equal(store_session_delete(f->st, "h-live"), 0);
	assert_int_equal(store_session_delete(f->st, "h-live"), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "h-live", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_count(f->st), 0);
	/* duplicate token hashes and unknown users are refused */
	assert_int_equal(store_session_create(f->st, "h-dup", uid, now + 100), 0);
	assert_true(store_session_create(f->st, "h-dup", uid, now + 200) < 0);
	assert_true(store_session_create(f->st, "h-nouser", uid + 1000, now + 100) < 0);
	assert_int_equal(store_session_count(f->st), 1);
	/* purge many */
	char h[32];
	for (int i = 0; i < 50; i++) {
		snprintf(h, sizeof h, "bulk-%d", i);
		assert_int_equal(store_session_create(f->st, h, uid, now + i), 0);
	}
	assert_int_equal(store_session_purge(f->st, now + 24), 25);
	assert_int_equal(store_session_count(f->st), 26);
}

static void
test_delete_user_cascades(void **state)
{
	struct fx *f = *state;
	int64_t now = mw_wall_s();
	int64_t a = mkuser(f, "gone");
	int64_t b = mkuser(f, "stays");
	assert_int_equal(store_session_create(f->st, "a1", a, now + 100), 0);
	assert_int_equal(store_session_create(f->st, "a2", a, now + 100), 0);
	assert_int_equal(store_session_create(f->st, "b1", b, now + 100), 0);
	assert_int_equal(store_user_delete(f->st, a), 0);
	struct user_row u;
	assert_int_equal(store_session_lookup(f->st, "a1", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "a2", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_count(f->st), 1);
	assert_int_equal(store_session_lookup(f->st, "b1", now, &u), 0);
	assert_int_equal(u.id, b);
	char v[16];
	side_query(store_path(f->st), "SELECT COUNT(*) FROM sessions WHERE user_id NOT IN (SELECT id FROM users)", v,
	    sizeof v);
	assert_string_equal(v, "0");
}

static void
test_password_change_ends_other_sessions(void **state)
{
	struct fx *f = *state;
	int64_t now = mw_wall_s();
	int64_t a = mkuser(f, "changer");
	int64_t b = mkuser(f, "bystander");
	struct user_row u;
	assert_int_equal(store_session_create(f->st, "s1", a, now + 100), 0);
	assert_int_equal(store_session_create(f->st, "s2", a, now + 100), 0);
	assert_int_equal(store_session_create(f->st, "s3", a, now + 100), 0);
	assert_int_equal(store_session_create(f->st, "o1", b, now + 100), 0);
	/* a rename alone keeps every session */
	assert_int_equal(store_user_update(f->st, a, "changer2", NULL, -1, "s2"), 0);
	assert_int_equal(store_session_count(f->st), 4);
	/* a failed update (name taken) changes nothing, sessions included */
	assert_int_equal(store_user_update(f->st, a, "bystander", HASH_B, -1, "s2"), MW_EEXIST);
	assert_int_equal(store_session_count(f->st), 4);
	char hash[STORE_HASH_MAX];
	assert_int_equal(store_user_get(f->st, a, &u), 0);
	assert_int_equal(store_user_get_by_name(f->st, "changer2", &u, hash, sizeof hash), 0);
	assert_string_equal(hash, HASH_A);
	/* a new password keeps only keep_session_hash */
	assert_int_equal(store_user_update(f->st, a, NULL, HASH_B, -1, "s2"), 0);
	assert_int_equal(store_session_lookup(f->st, "s1", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "s3", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "s2", now, &u), 0);
	assert_int_equal(u.id, a);
	/* other users are not affected */
	assert_int_equal(store_session_lookup(f->st, "o1", now, &u), 0);
	assert_int_equal(u.id, b);
	assert_int_equal(store_session_count(f->st), 2);
	/* without keep_session_hash every session of the user ends */
	assert_int_equal(store_session_create(f->st, "s4", a, now + 100), 0);
	assert_int_equal(store_user_update(f->st, a, NULL, HASH_A, -1, NULL), 0);
	assert_int_equal(store_session_lookup(f->st, "s2", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "s4", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_count(f->st), 1);
	/* keeping another user's session hash does not protect this user's */
	assert_int_equal(store_session_create(f->st, "s5", a, now + 100), 0);
	assert_int_equal(store_user_update(f->st, a, NULL, HASH_B, -1, "o1"), 0);
	assert_int_equal(store_session_lookup(f->st, "s5", now, &u), MW_ENOTFOUND);
	assert_int_equal(store_session_lookup(f->st, "o1", now, &u), 0);
}

/* writability */

static void
test_check_writable(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	assert_int_equal(store_check_writable(f->st, err, sizeof err), 0);
	char v[32];
	/* every check writes a new value: a counter */
	assert_int_equal(store_meta_get(f->st, "write_checks", v, sizeof v), 0);
	assert_int_equal(strtoll(v, NULL, 10), 1);
	assert_int_equal(store_check_writable(f->st, err, sizeof err), 0);
	assert_int_equal(store_meta_get(f->st, "write_checks", v, sizeof v), 0);
	assert_int_equal(strtoll(v, NULL, 10), 2);
}

/* Making the database read-only does not work as root (permissions are
   bypassed, and the connection's descriptors are open already). Instead, a
   file-size limit of zero makes every write(2) fail with EFBIG, which SQLite
   reports as an I/O error on commit. with_zero_fsize() runs the checks with
   that limit in place and restores it. */
struct limited {
	int check_rc;
	char check_err[512];
	int set_rc;
};

static void
with_zero_fsize(struct store *st, struct limited *out)
{
	struct rlimit old, zero;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	zero = old;
	zero.rlim_cur = 0;
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &zero), 0);
	out->check_err[0] = '\0';
	out->check_rc = store_check_writable(st, out->check_err, sizeof out->check_err);
	out->set_rc = store_meta_set(st, "blocked", "x");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
}

static void
test_check_writable_fails(void **state)
{
	struct fx *f = *state;
	struct limited l;
	with_zero_fsize(f->st, &l);
	assert_int_equal(l.check_rc, MW_EDB);
	assert_true(strlen(l.check_err) > 0); /* SQLite's message */
	assert_int_equal(l.set_rc, MW_EDB);
	/* the store recovers once writes work again */
	char v[8], err[512] = "";
	assert_int_equal(store_meta_get(f->st, "blocked", v, sizeof v), MW_ENOTFOUND);
	assert_int_equal(store_check_writable(f->st, err, sizeof err), 0);
	assert_int_equal(store_meta_set(f->st, "after", "ok"), 0);
	reopen(f);
	assert_int_equal(store_meta_get(f->st, "after", v, sizeof v), 0);
	assert_string_equal(v, "ok");
}

/* Known bug: store_check_writable writes the current second, and SQLite
   skips rewriting a row whose content is unchanged, so a second check in
   the same second commits without writing anything and "proves" nothing:
   it returns 0 even though no write can succeed. */
static void
test_check_writable_twice_in_a_second(void **state)
{
	struct fx *f = *state;
	char err[512];
	struct limited l;
	for (int attempt = 0; attempt < 5; attempt++) {
		int64_t t0 = mw_wall_s();
		assert_int_equal(store_check_writable(f->st, err, sizeof err), 0);
		with_zero_fsize(f->st, &l);
		if (mw_wall_s() == t0)
			break;
	}
	assert_int_equal(l.set_rc, MW_EDB); /* writes really are impossible */
	assert_int_equal(l.check_rc, MW_EDB);
}

/* thread safety: one connection shared by many threads */

struct worker {
	struct store *st;
	int index;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char name[32], tok[32];
	for (int i = 0; i < 25; i++) {
		struct user_row u;
		snprintf(name, sizeof name, "t%d-u%d", w->index, i);
		if (store_user_create(w->st, name, HASH_A, 1000, &u) != 0) {
			w->failures++;
			continue;
		}
		snprintf(tok, sizeof tok, "t%d-s%d", w->index, i);
		if (store_session_create(w->st, tok, u.id, mw_wall_s() + 100) != 0)
			w->failures++;
		struct user_row g;
		if (store_session_lookup(w->st, tok, mw_wall_s(), &g) != 0 || g.id != u.id)
			w->failures++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	pthread_t th[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i].st = f->st;
		w[i].index = i;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(store_user_count(f->st), 100);
	assert_int_equal(store_session_count(f->st), 100);
}

/* mesh history: downsampling after 24 h, retention, and the size cap */

static void
fill_polls(struct store *st, const char *peer, int64_t from, int64_t to, int step)
{
	int cap = (int)((to - from) / step) + 1, n = 0;
	struct poll_row *rows = calloc((size_t)cap, sizeof *rows);
	assert_non_null(rows);
	for (int64_t t = from; t < to && n < cap; t += step) {
		struct poll_row *r = &rows[n++];
		snprintf(r->peer_id, sizeof r->peer_id, "%s", peer);
		r->ts = t;
		r->ok = (t / step) % 4 != 0; /* 3 of 4 succeed */
		snprintf(r->error, sizeof r->error, "%s", r->ok ? "none" : "timeout");
		r->connect_ms = 1;
		r->tls_ms = 2;
		r->ttfb_ms = 3;
		r->total_ms = 10;
		r->rtt_avg_ms = 0.5 + (double)((t / step) % 3) * 0.25; /* 0.5, 0.75, 1.0 in turn */
		r->jitter_ms = 0.1;
		r->loss = 0;
	}
	assert_int_equal(store_polls_insert(st, rows, n), 0);
	free(rows);
}

static void
test_history_downsample_and_retention(void **state)
{
	struct fx *f = *state;
	const char *peer = "11111111-2222-4333-8444-555555555555";
	int64_t now = 1800000000; /* a fixed time, on a 5-minute boundary */
	/* three days of polls every 30 s */
	fill_polls(f->st, peer, now - 3 * 86400, now, 30);
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, now, 86400, 2 * 86400, 1 << 30, &ms), 0);
	/* raw rows older than 24 h became 5-minute buckets; older than 2 days expired */
	assert_int_equal(ms.downsampled, 2 * 86400 / 30);
	assert_int_equal(ms.expired, 86400 / 300);
	struct hist_row *rows = NULL;
	int n = 0;
	/* a day ago .. two days ago, in hours: from buckets only */
	assert_int_equal(store_poll_history(f->st, peer, now - 2 * 86400, now - 86400, 3600, &rows, &n), 0);
	assert_int_equal(n, 24);
	for (int i = 0; i < n; i++) {
		assert_int_equal(rows[i].polls, 120);
		assert_int_equal(rows[i].ok, 90);
		assert_true(rows[i].total_ms > 9.99 && rows[i].total_ms < 10.01);
	}
	free(rows);
	/* the last day: raw rows, the same arithmetic */
	assert_int_equal(store_poll_history(f->st, peer, now - 86400, now, 3600, &rows, &n), 0);
	assert_int_equal(n, 24);
	assert_int_equal(rows[0].polls, 120);
	assert_int_equal(rows[0].ok, 90);
	/* each bucket's RTT spread: the lowest and highest poll, the mean between */
	assert_true(rows[0].rtt_min_ms > 0.49 && rows[0].rtt_min_ms < 0.51);
	assert_true(rows[0].rtt_max_ms > 0.99 && rows[0].rtt_max_ms < 1.01);
	assert_true(rows[0].rtt_avg_ms > 0.74 && rows[0].rtt_avg_ms < 0.76);
	free(rows);
	assert_int_equal(store_poll_history(f->st, peer, now, now - 1, 60, &rows, &n), MW_EINVAL);
}

static void
test_size_cap_deletes_oldest_first(void **state)
{
	struct fx *f = *state;
	const char *peer = "11111111-2222-4333-8444-555555555555";
	int64_t now = 1800000000;
	struct user_row u;
	assert_int_equal(store_user_create(f->st, "keeper", HASH_A, 10, &u), 0);
	/* about 14 MB of raw polls within the last day */
	for (int k = 0; k < 4; k++)
		fill_polls(f->st, peer, now - 86400 + k, now, 1);
	int64_t before = store_size_bytes(f->st);
	assert_true(before > 4 * 1024 * 1024);
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, now, 86400, 30 * 86400, 2 * 1024 * 1024, &ms), 0);
	assert_true(ms.capped > 0);
	assert_true(store_size_bytes(f->st) <= 2 * 1024 * 1024);
	/* the newest history stayed, the oldest went; users are untouched */
	struct hist_row *rows = NULL;
	int n = 0;
	assert_int_equal(store_poll_history(f->st, peer, now - 600, now, 600, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_true(rows[0].polls > 0);
	free(rows);
	assert_int_equal(store_poll_history(f->st, peer, now - 86400, now - 86400 + 600, 600, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(rows);
	assert_int_equal(store_user_count(f->st), 1);
	char err[256];
	assert_int_equal(store_check_writable(f->st, err, sizeof err), 0);
}

static void
test_traffic_minutes(void **state)
{
	struct fx *f = *state;
	int64_t now = 1800000000;
	/* three days of minutes, stored in batches as the capture hands them over */
	int total = 3 * 1440;
	struct rollup_sec *rows = calloc((size_t)total, sizeof *rows);
	assert_non_null(rows);
	for (int i = 0; i < total; i++) {
		rows[i].t = now - 3 * 86400 + i * 60;
		rows[i].packets = 10;
		rows[i].bytes = 1000;
		rows[i].proto_bytes[ROLLUP_UDP] = 600;
		rows[i].proto_bytes[ROLLUP_TCP] = 400;
		rows[i].drops = 1;
	}
	for (int i = 0; i < total; i += 500)
		assert_int_equal(store_traffic_minutes_add(f->st, rows + i, total - i < 500 ? total - i : 500), 0);
	/* a minute stored twice (shutdown, then restart within it) adds up */
	assert_int_equal(store_traffic_minutes_add(f->st, &rows[total - 1], 1), 0);
	struct rollup_sec *got = NULL;
	int n = 0;
	assert_int_equal(store_traffic_minutes_range(f->st, now - 120, now, 60, 100, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(got[0].t, now - 120);
	assert_int_equal(got[0].packets, 10);
	assert_int_equal(got[1].packets, 20);
	assert_int_equal(got[1].proto_bytes[ROLLUP_UDP], 1200);
	assert_int_equal(got[1].drops, 2);
	free(got);
	/* max bounds the answer */
	assert_int_equal(store_traffic_minutes_range(f->st, 0, now, 60, 7, &got, &n), 0);
	assert_int_equal(n, 7);
	free(got);
	/* a day in hours: summed in the database, 60 minutes each */
	assert_int_equal(store_traffic_minutes_range(f->st, now - 86400, now, 3600, 100, &got, &n), 0);
	assert_int_equal(n, 24);
	assert_int_equal(got[0].t, now - 86400);
	assert_int_equal(got[0].packets, 600);
	assert_int_equal(got[23].packets, 610); /* the minute stored twice */
	assert_int_equal(got[5].proto_bytes[ROLLUP_TCP], 60 * 400);
	free(got);
	/* three days in 1-day steps never reads more rows than buckets */
	assert_int_equal(store_traffic_minutes_range(f->st, now - 3 * 86400, now, 86400, 2, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(got[1].packets, 14400);
	free(got);
	assert_int_equal(store_traffic_minutes_range(f->st, 0, now, 59, 10, &got, &n), MW_EINVAL);
	assert_int_equal(store_traffic_minutes_range(f->st, now, now, 60, 10, &got, &n), MW_EINVAL);
	/* retention: older than two days goes */
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, now, 86400, 2 * 86400, 1 << 30, &ms), 0);
	assert_int_equal(ms.expired, 1440);
	assert_int_equal(store_traffic_minutes_range(f->st, 0, now, 60, 10000, &got, &n), 0);
	assert_int_equal(n, 2 * 1440);
	assert_int_equal(got[0].t, now - 2 * 86400);
	free(got);
	free(rows);
}

static void
test_size_cap_takes_oldest_traffic_minutes(void **state)
{
	struct fx *f = *state;
	int64_t now = 1800000000;
	/* ten days of minutes: the cap takes the oldest first */
	int total = 10 * 1440;
	struct rollup_sec *rows = calloc((size_t)total, sizeof *rows);
	assert_non_null(rows);
	for (int i = 0; i < total; i++) {
		rows[i].t = now - 10 * 86400 + i * 60;
		rows[i].packets = (uint64_t)i * 1000003u;
		rows[i].bytes = (uint64_t)i * 1000000007u;
	}
	assert_int_equal(store_traffic_minutes_add(f->st, rows, total), 0);
	free(rows);
	struct maint_stats ms;
	int64_t cap = store_size_bytes(f->st) / 2;
	assert_int_equal(store_maintain(f->st, now, 86400, 30 * 86400, cap, &ms), 0);
	assert_true(ms.capped > 0);
	struct rollup_sec *got = NULL;
	int n = 0;
	assert_int_equal(store_traffic_minutes_range(f->st, 0, now, 60, total, &got, &n), 0);
	assert_true(n > 0 && n < total);
	/* what is left is the newest, without holes */
	assert_int_equal(got[n - 1].t, now - 60);
	assert_int_equal(got[0].t, now - (int64_t)n * 60);
	free(got);
}

/* Samples the file size (database + WAL) as fast as it can until told to
   stop, keeping the largest. */
struct sampler {
	struct store *st;
	volatile int stop;
	int64_t max;
	long samples;
};

static void *
sample_sizes(void *arg)
{
	struct sampler *sm = arg;
	while (!sm->stop) {
		int64_t size = store_size_bytes(sm->st);
		if (size > sm->max)
			sm->max = size;
		sm->samples++;
		usleep(200);
	}
	return NULL;
}

/* The cap is checked by the writer, not once a minute: 30,000 polls
   (about 3 MB with their indexes) written in 300 transactions with a 1 MiB
   cap and no maintenance run keep database + WAL under the cap at every
   sample taken by another thread; the newest polls survive and the file
   is sound. */
static void
test_size_cap_from_the_writer(void **state)
{
	struct fx *f = *state;
	const char *peer = "11111111-2222-4333-8444-555555555555";
	int64_t now = 1800000000, cap = 1024 * 1024;
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, now, 86400, 30 * 86400, cap, &ms), 0);
	struct sampler sm = {.st = f->st};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, sample_sizes, &sm), 0);
	int batches = 300, rows = 100;
	int64_t t0 = now - (int64_t)batches * rows;
	for (int b = 0; b < batches; b++)
		fill_polls(f->st, peer, t0 + (int64_t)b * rows, t0 + (int64_t)(b + 1) * rows, 1);
	sm.stop = 1;
	pthread_join(th, NULL);
	int64_t end = store_size_bytes(f->st);
	print_message("# 300 x 100 polls with a %lld-byte cap: largest of %ld samples %lld bytes, %lld at the end\n",
	    (long long)cap, sm.samples, (long long)sm.max, (long long)end);
	assert_true(sm.samples > 100);
	assert_true(end <= cap);
	assert_true(sm.max <= cap);
	/* the newest minute is all there; the oldest is gone */
	struct hist_row *hr = NULL;
	int n = 0;
	assert_int_equal(store_poll_history(f->st, peer, now - 60, now, 60, &hr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(hr[0].polls, 60);
	free(hr);
	assert_int_equal(store_poll_history(f->st, peer, t0, t0 + 600, 600, &hr, &n), 0);
	assert_int_equal(n, 0);
	free(hr);
	char ok[64];
	side_query(store_path(f->st), "PRAGMA integrity_check", ok, sizeof ok);
	assert_string_equal(ok, "ok");
}

static void
fill_event(struct event_row *e, int64_t ts_ms, const char *kind, const char *type, const char *subject, int sev)
{
	memset(e, 0, sizeof *e);
	e->ts_ms = ts_ms;
	snprintf(e->kind, sizeof e->kind, "%s", kind);
	snprintf(e->subject_type, sizeof e->subject_type, "%s", type);
	snprintf(e->subject, sizeof e->subject, "%s", subject);
	snprintf(e->subject_name, sizeof e->subject_name, "name of %s", subject);
	e->severity = sev;
	snprintf(e->old_value, sizeof e->old_value, "up");
	snprintf(e->new_value, sizeof e->new_value, "down");
	snprintf(e->evidence, sizeof e->evidence, "{\"error\":\"timeout\"}");
}

/* Events: filters, newest first, the count bound, expiry with the rest of
   history, and the size cap takes them last. */
static void
test_events(void **state)
{
	struct fx *f = *state;
	int64_t now_s = mw_wall_s();
	struct event_row in[6];
	fill_event(&in[0], (now_s - 100) * 1000, "peer_state", "peer", "p1", EVENT_WARNING);
	fill_event(&in[1], (now_s - 90) * 1000, "target_state", "target", "7", EVENT_CRITICAL);
	fill_event(&in[2], (now_s - 80) * 1000, "peer_state", "peer", "p2", EVENT_CRITICAL);
	fill_event(&in[3], (now_s - 70) * 1000, "peer_state", "peer", "p1", EVENT_INFO);
	fill_event(&in[4], (now_s - 60) * 1000, "cert_expiry", "node", "self", EVENT_WARNING);
	fill_event(&in[5], (now_s - 50) * 1000, "target_state", "target", "7", EVENT_INFO);
	in[5].evidence[0] = '\0'; /* no evidence: stored as {} */
	assert_int_equal(store_events_add(f->st, in, 6, 0), 0);

	struct event_row *r;
	int n, total;
	struct event_filter all = {.limit = 100};
	assert_int_equal(store_events_list(f->st, &all, &r, &n, &total), 0);
	assert_int_equal(n, 6);
	assert_int_equal(total, 6);
	assert_string_equal(r[0].kind, "target_state"); /* newest first */
	assert_string_equal(r[0].evidence, "{}");
	assert_string_equal(r[5].subject, "p1");
	assert_string_equal(r[5].subject_name, "name of p1");
	assert_string_equal(r[5].evidence, "{\"error\":\"timeout\"}");
	assert_string_equal(r[5].old_value, "up");
	assert_true(r[0].id > r[5].id);
	int64_t first_id = r[5].id;
	free(r);

	struct event_filter fl = {.kind = "peer_state", .subject = "p1", .limit = 100};
	assert_int_equal(store_events_list(f->st, &fl, &r, &n, &total), 0);
	assert_int_equal(n, 2);
	free(r);
	fl = (struct event_filter){.subject_type = "target", .min_severity = EVENT_WARNING, .limit = 100};
	assert_int_equal(store_events_list(f->st, &fl, &r, &n, &total), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].severity, EVENT_CRITICAL);
	free(r);
	fl = (struct event_filter){.since_ms = (now_s - 85) * 1000, .until_ms = (now_s - 60) * 1000, .limit = 100};
	assert_int_equal(store_events_list(f->st, &fl, &r, &n, &total), 0);
	assert_int_equal(n, 3);
	free(r);
	/* paging: total counts all matches, limit and offset cut the page */
	fl = (struct event_filter){.limit = 2, .offset = 3};
	assert_int_equal(store_events_list(f->st, &fl, &r, &n, &total), 0);
	assert_int_equal(n, 2);
	assert_int_equal(total, 6);
	assert_string_equal(r[0].kind, "peer_state");
	assert_string_equal(r[0].subject, "p2");
	free(r);
	fl = (struct event_filter){.after_id = first_id + 3, .limit = 100};
	assert_int_equal(store_events_list(f->st, &fl, &r, &n, &total), 0);
	assert_int_equal(n, 2);
	free(r);
	fl = (struct event_filter){.limit = 0};
	assert_int_equal(store_events_list(f->st, &fl, &r, &n, &total), MW_EINVAL);

	/* the count bound keeps the newest */
	struct event_row more[10];
	for (int i = 0; i < 10; i++)
		fill_event(&more[i], (now_s - 40 + i) * 1000, "peer_state", "peer", "p3", EVENT_INFO);
	assert_int_equal(store_events_add(f->st, more, 10, 8), 0);
	assert_int_equal(store_events_list(f->st, &all, &r, &n, &total), 0);
	assert_int_equal(total, 8);
	assert_string_equal(r[7].subject, "p3"); /* the six older ones went */
	free(r);

	/* retention: events older than keep_s go with the rest of history */
	struct event_row old;
	fill_event(&old, (now_s - 5 * 86400) * 1000, "peer_state", "peer", "ancient", EVENT_INFO);
	assert_int_equal(store_events_add(f->st, &old, 1, 0), 0);
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, now_s, 86400, 2 * 86400, 1 << 30, &ms), 0);
	fl = (struct event_filter){.subject = "ancient", .limit = 10};
	assert_int_equal(store_events_list(f->st, &fl, &r, &n, &total), 0);
	assert_int_equal(total, 0);
	free(r);
	assert_int_equal(store_events_list(f->st, &all, &r, &n, &total), 0);
	assert_int_equal(total, 8);
	free(r);
}

/* roles and the last administrator */

static void
test_roles_last_admin(void **state)
{
	struct fx *f = *state;
	struct user_row u, back;
	int64_t a = mkuser(f, "first");
	assert_int_equal(store_user_get(f->st, a, &back), 0);
	assert_int_equal(back.role, ROLE_ADMIN); /* the default */
	assert_int_equal(store_user_create_role(f->st, "reader", HASH_A, ROLE_READ, 10, &u), 0);
	assert_int_equal(u.role, ROLE_READ);
	int64_t r = u.id;
	/* the one admin can be neither demoted nor deleted, and stays as it was */
	assert_int_equal(store_user_update(f->st, a, "renamed", NULL, ROLE_READ, NULL), MW_ELAST);
	assert_int_equal(store_user_get(f->st, a, &back), 0);
	assert_string_equal(back.username, "first");
	assert_int_equal(back.role, ROLE_ADMIN);
	assert_int_equal(store_user_delete_keep_admin(f->st, a), MW_ELAST);
	assert_int_equal(store_user_count(f->st), 2);
	/* setting admin on an admin, or read on a reader, is fine */
	assert_int_equal(store_user_update(f->st, a, NULL, NULL, ROLE_ADMIN, NULL), 0);
	assert_int_equal(store_user_update(f->st, r, NULL, NULL, ROLE_READ, NULL), 0);
	/* a session reports its user's role, live */
	assert_int_equal(store_session_create(f->st, "reader-session", r, mw_wall_s() + 60), 0);
	assert_int_equal(store_session_lookup(f->st, "reader-session", mw_wall_s(), &back), 0);
	assert_int_equal(back.role, ROLE_READ);
	/* with a second admin, the first may go read-only; then the second is the last */
	assert_int_equal(store_user_update(f->st, r, NULL, NULL, ROLE_ADMIN, NULL), 0);
	assert_int_equal(store_session_lookup(f->st, "reader-session", mw_wall_s(), &back), 0);
	assert_int_equal(back.role, ROLE_ADMIN);
	assert_int_equal(store_user_update(f->st, a, NULL, NULL, ROLE_READ, NULL), 0);
	assert_int_equal(store_user_update(f->st, r, NULL, NULL, ROLE_READ, NULL), MW_ELAST);
	assert_int_equal(store_user_delete_keep_admin(f->st, r), MW_ELAST);
	/* a read user may be deleted; an unknown one is not found */
	assert_int_equal(store_user_delete_keep_admin(f->st, a), 0);
	assert_int_equal(store_user_delete_keep_admin(f->st, a), MW_ENOTFOUND);
	assert_int_equal(store_user_update(f->st, a, NULL, NULL, ROLE_READ, NULL), MW_ENOTFOUND);
	/* names */
	assert_string_equal(store_role_name(ROLE_ADMIN), "admin");
	assert_string_equal(store_role_name(ROLE_READ), "read");
	assert_int_equal(store_role_parse("read"), ROLE_READ);
	assert_int_equal(store_role_parse("admin"), ROLE_ADMIN);
	assert_int_equal(store_role_parse("root"), -1);
	assert_int_equal(store_role_parse(NULL), -1);
}

/* API tokens */

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	struct token_row t, back;
	int64_t now = mw_wall_s();
	assert_int_equal(store_token_count(f->st), 0);
	assert_int_equal(store_token_create(f->st, "ci", ROLE_READ, "hash-ci", 0, TOKENS_MAX, &t), 0);
	assert_true(t.id > 0);
	assert_string_equal(t.name, "ci");
	assert_int_equal(t.scope, ROLE_READ);
	assert_true(t.created_at >= now - 1 && t.created_at <= now + 1);
	assert_int_equal(t.expires_at, 0);
	assert_int_equal(t.last_used_at, 0);
	int64_t ci = t.id;
	assert_int_equal(store_token_create(f->st, "deploy", ROLE_ADMIN, "hash-deploy", now + 3600, TOKENS_MAX, &t), 0);
	assert_int_equal(t.scope, ROLE_ADMIN);
	assert_int_equal(t.expires_at, now + 3600);
	/* the name and the hash are unique */
	assert_int_equal(store_token_create(f->st, "ci", ROLE_READ, "hash-other", 0, TOKENS_MAX, NULL), MW_EEXIST);
	assert_int_equal(store_token_create(f->st, "other", ROLE_READ, "hash-ci", 0, TOKENS_MAX, NULL), MW_EEXIST);
	/* lookup by hash; the first use is recorded, the next within the
	   interval is not written, a later one is */
	assert_int_equal(store_token_lookup(f->st, "hash-ci", now, 60, &back), 0);
	assert_int_equal(back.id, ci);
	assert_int_equal(back.last_used_at, now);
	assert_int_equal(store_token_lookup(f->st, "hash-ci", now + 59, 60, &back), 0);
	assert_int_equal(back.last_used_at, now);
	assert_int_equal(store_token_get(f->st, ci, &back), 0);
	assert_int_equal(back.last_used_at, now);
	assert_int_equal(store_token_lookup(f->st, "hash-ci", now + 60, 60, &back), 0);
	assert_int_equal(back.last_used_at, now + 60);
	assert_int_equal(store_token_get(f->st, ci, &back), 0);
	assert_int_equal(back.last_used_at, now + 60);
	assert_int_equal(store_token_lookup(f->st, "no-such-hash", now, 60, &back), MW_ENOTFOUND);
	/* an expired token is still found (the caller says "expired"), and its
	   use is not recorded */
	assert_int_equal(store_token_lookup(f->st, "hash-deploy", now + 3600, 60, &back), 0);
	assert_int_equal(back.expires_at, now + 3600);
	assert_int_equal(back.last_used_at, 0);
	/* list, with paging */
	struct token_row *rows = NULL;
	int n = 0, total = 0;
	assert_int_equal(store_token_list(f->st, 10, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 2);
	assert_int_equal(total, 2);
	assert_string_equal(rows[0].name, "ci");
	assert_string_equal(rows[1].name, "deploy");
	free(rows);
	assert_int_equal(store_token_list(f->st, 1, 1, &rows, &n, &total), 0);
	assert_int_equal(n, 1);
	assert_int_equal(total, 2);
	assert_string_equal(rows[0].name, "deploy");
	free(rows);
	/* revoke: gone at once, and its name free again */
	assert_int_equal(store_token_delete(f->st, ci), 0);
	assert_int_equal(store_token_lookup(f->st, "hash-ci", now, 60, &back), MW_ENOTFOUND);
	assert_int_equal(store_token_get(f->st, ci, &back), MW_ENOTFOUND);
	assert_int_equal(store_token_delete(f->st, ci), MW_ENOTFOUND);
	assert_int_equal(store_token_create(f->st, "ci", ROLE_READ, "hash-ci-2", 0, TOKENS_MAX, &t), 0);
	assert_true(t.id > ci); /* ids are not reused */
	/* tokens survive a reopen */
	reopen(f);
	assert_int_equal(store_token_lookup(f->st, "hash-ci-2", now, 60, &back), 0);
	assert_string_equal(back.name, "ci");
}

static void
test_tokens_cap(void **state)
{
	struct fx *f = *state;
	char name[32], hash[32];
	for (int i = 0; i < TOKENS_MAX; i++) {
		snprintf(name, sizeof name, "t%d", i);
		snprintf(hash, sizeof hash, "h%d", i);
		assert_int_equal(store_token_create(f->st, name, ROLE_READ, hash, 0, TOKENS_MAX, NULL), 0);
	}
	assert_int_equal(store_token_count(f->st), TOKENS_MAX);
	/* the next one is refused, and nothing is written */
	assert_int_equal(store_token_create(f->st, "one-more", ROLE_READ, "h-more", 0, TOKENS_MAX, NULL), MW_ETOOBIG);
	assert_int_equal(store_token_count(f->st), TOKENS_MAX);
	struct token_row t;
	assert_int_equal(store_token_lookup(f->st, "h-more", mw_wall_s(), 60, &t), MW_ENOTFOUND);
	/* revoking one makes room */
	assert_int_equal(store_token_lookup(f->st, "h7", mw_wall_s(), 60, &t), 0);
	assert_int_equal(store_token_delete(f->st, t.id), 0);
	assert_int_equal(store_token_create(f->st, "one-more", ROLE_READ, "h-more", 0, TOKENS_MAX, NULL), 0);
}

/* A database of schema 10 (before roles and tokens), as a node of that
   build left it, opens and moves to 11: its users become admins, their
   sessions keep working, and tokens can be made. The old schema is made
   by undoing migration 11 on a side connection. */
static void
test_migration_to_11(void **state)
{
	struct fx *f = *state;
	int64_t a = mkuser(f, "old-admin");
	int64_t b = mkuser(f, "old-other");
	assert_int_equal(store_session_create(f->st, "old-session", b, mw_wall_s() + 3600), 0);
	char db[600], v[32];
	snprintf(db, sizeof db, "%s", store_path(f->st));
	store_close(f->st);
	f->st = NULL;
	side_query(db, "DROP TABLE tokens", NULL, 0);
	/* and what later migrations made, as a version-10 file has none of it */
	static const char *const later[] = {"inv_origins", "inv_hosts", "inv_services", "inv_targets", "inv_traffic",
	    "inv_traffic_items", "inv_changes"};
	for (size_t i = 0; i < MW_ARRAY_LEN(later); i++) {
		char sql[64];
		snprintf(sql, sizeof sql, "DROP TABLE %s", later[i]);
		side_query(db, sql, NULL, 0);
	}
	side_exec(db, TEST_UNDO_MIGRATION_14 TEST_UNDO_MIGRATION_13);
	side_query(db, "ALTER TABLE users DROP COLUMN role", NULL, 0);
	side_query(db, "UPDATE schema_version SET version=10", NULL, 0);
	side_query(db, "SELECT COUNT(*) FROM pragma_table_info('users') WHERE name='role'", v, sizeof v);
	assert_string_equal(v, "0");
	reopen(f);
	/* migrated to 11 and on to the newest */
	assert_true(store_schema_version(f->st) >= 11);
	struct user_row u;
	assert_int_equal(store_user_get(f->st, a, &u), 0);
	assert_int_equal(u.role, ROLE_ADMIN);
	assert_int_equal(store_session_lookup(f->st, "old-session", mw_wall_s(), &u), 0);
	assert_int_equal(u.id, b);
	assert_int_equal(u.role, ROLE_ADMIN);
	assert_int_equal(store_token_create(f->st, "new", ROLE_READ, "hash-new", 0, TOKENS_MAX, NULL), 0);
	side_query(db, "SELECT version FROM schema_version", v, sizeof v);
	assert_true(atoi(v) >= 11);
	side_query(db, "PRAGMA integrity_check", v, sizeof v);
	assert_string_equal(v, "ok");
}

/* A target row for the mesh tests. */
static struct target_row
mktarget(const char *name, int port, int64_t origin_target)
{
	struct target_row t;
	memset(&t, 0, sizeof t);
	snprintf(t.name, sizeof t.name, "%s", name);
	snprintf(t.host, sizeof t.host, "127.0.0.1");
	t.port = port;
	t.interval_s = 60;
	t.timeout_ms = 1000;
	t.retention_period = 1;
	snprintf(t.retention_unit, sizeof t.retention_unit, "days");
	t.enabled = 1;
	t.origin_target = origin_target;
	return t;
}

#define ORIGIN_A "aaaaaaaa-1111-4111-8111-111111111111"
#define ORIGIN_B "bbbbbbbb-2222-4222-8222-222222222222"

/* Copies of other nodes' mesh targets: a list replaces the last one
   (added, changed, unchanged, removed with its history), the cap over
   all origins refuses the surplus, and vantage results are kept per
   target and node (only for a target that exists). */
static void
test_mesh_targets_sync(void **state)
{
	struct fx *f = *state;
	struct target_row own = mktarget("own", 80, 0), out;
	own.mesh = 1;
	assert_int_equal(store_target_create(f->st, &own, 100, &out), 0);
	struct target_row *rows = NULL;
	int n = 0;
	assert_int_equal(store_mesh_targets(f->st, NULL, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, out.id);
	free(rows);

	struct target_row items[2] = {mktarget("a1", 81, 7), mktarget("a2", 82, 9)};
	int64_t ch[8], rm[8];
	int nch, nrm, refused;
	assert_int_equal(store_mesh_targets_sync(f->st, ORIGIN_A, "a.test", items, 2, 10, ch, &nch, rm, &nrm, 8, &refused), 0);
	assert_int_equal(nch, 2);
	assert_int_equal(nrm, 0);
	assert_int_equal(store_mesh_targets(f->st, ORIGIN_A, 10, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].origin_fqdn, "a.test");
	assert_int_equal(rows[0].origin_target, 7);
	assert_int_equal(rows[0].mesh, 0); /* a copy is not published again */
	int64_t copy7 = rows[0].id;
	free(rows);
	/* the same list again changes nothing */
	assert_int_equal(store_mesh_targets_sync(f->st, ORIGIN_A, "a.test", items, 2, 10, ch, &nch, rm, &nrm, 8, &refused), 0);
	assert_int_equal(nch + nrm, 0);
	/* a history for copy 7, then 7 changes port and 9 goes */
	struct check_row c = {.target_id = copy7, .ts_ms = 1000, .state = TS_UP, .connect_ms = 1};
	assert_int_equal(store_checks_insert(f->st, &c, 1), 0);
	items[0].port = 8081;
	assert_int_equal(store_mesh_targets_sync(f->st, ORIGIN_A, "a.test", items, 1, 10, ch, &nch, rm, &nrm, 8, &refused), 0);
	assert_int_equal(nch, 1);
	assert_int_equal(ch[0], copy7);
	assert_int_equal(nrm, 1);
	struct target_row t;
	assert_int_equal(store_target_get(f->st, copy7, &t), 0);
	assert_int_equal(t.port, 8081);
	assert_int_equal(store_target_get(f->st, rm[0], &t), MW_ENOTFOUND);
	/* the cap over every origin: one copy exists, a total of 2 takes one more of B's two */
	struct target_row b[2] = {mktarget("b1", 91, 1), mktarget("b2", 92, 2)};
	assert_int_equal(store_mesh_targets_sync(f->st, ORIGIN_B, "b.test", b, 2, 2, ch, &nch, rm, &nrm, 8, &refused), 0);
	assert_int_equal(nch, 1);
	assert_int_equal(refused, 1);
	assert_int_equal(store_mesh_targets(f->st, "", 10, &rows, &n), 0);
	assert_int_equal(n, 2);
	free(rows);
	/* an empty list removes an origin's copies with their history */
	assert_int_equal(store_mesh_targets_sync(f->st, ORIGIN_A, "a.test", NULL, 0, 10, ch, &nch, rm, &nrm, 8, &refused), 0);
	assert_int_equal(nrm, 1);
	struct check_row *cr = NULL;
	assert_int_equal(store_target_checks(f->st, copy7, 0, 1LL << 50, 10, &cr, &n), 0);
	assert_int_equal(n, 0);
	free(cr);
	assert_int_equal(store_mesh_targets_sync(f->st, "", "x", NULL, 0, 10, ch, &nch, rm, &nrm, 8, &refused), MW_EINVAL);

	/* vantage results: one row per node, updated in place */
	struct vantage_row v = {.node_id = ORIGIN_A, .fqdn = "a.test", .state = TS_UP, .connect_ms = 1.5,
	    .checked_ms = 5000, .received_at = 5, .recent_checks = 3, .recent_up = 1};
	assert_int_equal(store_vantage_put(f->st, out.id, &v), 0);
	v.state = TS_REFUSED;
	v.connect_ms = -1;
	assert_int_equal(store_vantage_put(f->st, out.id, &v), 0);
	snprintf(v.node_id, sizeof v.node_id, ORIGIN_B);
	assert_int_equal(store_vantage_put(f->st, 999999, &v), 0); /* no such target: nothing kept */
	struct vantage_row *vr = NULL;
	assert_int_equal(store_vantage_list(f->st, out.id, 10, &vr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vr[0].state, TS_REFUSED);
	assert_true(vr[0].connect_ms < 0);
	free(vr);
	assert_int_equal(store_vantage_list(f->st, 999999, 10, &vr, &n), 0);
	assert_int_equal(n, 0);
	free(vr);
	/* deleting the target takes its vantage rows */
	assert_int_equal(store_target_delete(f->st, out.id), 0);
	char v2[32], db[600];
	snprintf(db, sizeof db, "%s", store_path(f->st));
	side_query(db, "SELECT COUNT(*) FROM target_vantage", v2, sizeof v2);
	assert_string_equal(v2, "0");
}

/* A version-12 file (targets, no mesh columns) gets migration 13 (and 14) and
   keeps its targets, as this node's own and not mesh targets. */
static void
test_migration_to_13(void **state)
{
	struct fx *f = *state;
	struct target_row t = mktarget("kept", 443, 0), out;
	assert_int_equal(store_target_create(f->st, &t, 100, &out), 0);
	char db[600], v[32];
	snprintf(db, sizeof db, "%s", store_path(f->st));
	store_close(f->st);
	f->st = NULL;
	side_exec(db, TEST_UNDO_MIGRATION_14 TEST_UNDO_MIGRATION_13 " UPDATE schema_version SET version=12;");
	reopen(f);
	assert_int_equal(store_schema_version(f->st), 14);
	assert_int_equal(store_target_get(f->st, out.id, &t), 0);
	assert_string_equal(t.name, "kept");
	assert_int_equal(t.mesh, 0);
	assert_string_equal(t.origin_id, "");
	side_query(db, "PRAGMA integrity_check", v, sizeof v);
	assert_string_equal(v, "ok");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* Alerts' tables: rule names are unique, the outbox keeps each channel's
   messages in order and bounds each channel alone, and the alert list
   filters active (pending + firing) from resolved. */
static void
test_alerts_tables(void **state)
{
	struct fx *f = *state;
	int64_t id1 = 0, id2 = 0;
	assert_int_equal(store_alert_rule_put(f->st, &id1, "peer-dead", "{\"name\":\"peer-dead\"}"), 0);
	assert_true(id1 > 0);
	assert_int_equal(store_alert_rule_put(f->st, &id2, "peer-dead", "{}"), MW_EEXIST);
	id2 = 999;
	assert_int_equal(store_alert_rule_put(f->st, &id2, "x", "{}"), MW_ENOTFOUND);
	struct store_doc *d;
	int n;
	assert_int_equal(store_alert_rules_load(f->st, 10, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].body, "{\"name\":\"peer-dead\"}");
	store_docs_free(d, n);
	assert_int_equal(store_alert_rule_delete(f->st, id1), 0);
	assert_int_equal(store_alert_rule_delete(f->st, id1), MW_ENOTFOUND);

	/* the outbox: 5 to "a" with a bound of 3, 1 to "b" */
	int64_t mid;
	int dropped, total_dropped = 0;
	char body[16];
	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof body, "a%d", i);
		assert_int_equal(store_notify_add(f->st, "a", body, 1000 + i, 3, &mid, &dropped), 0);
		total_dropped += dropped;
	}
	assert_int_equal(store_notify_add(f->st, "b", "b0", 2000, 3, &mid, &dropped), 0);
	assert_int_equal(total_dropped, 2);
	assert_int_equal(store_notify_count(f->st, "a"), 3);
	assert_int_equal(store_notify_count(f->st, "b"), 1);
	struct store_doc m;
	assert_int_equal(store_notify_next(f->st, "a", &m), 0);
	assert_string_equal(m.body, "a2"); /* the oldest two went */
	assert_int_equal(m.t, 1002);
	assert_int_equal(store_notify_delete(f->st, m.id), 0);
	free(m.body);
	assert_int_equal(store_notify_next(f->st, "a", &m), 0);
	assert_string_equal(m.body, "a3");
	free(m.body);
	assert_int_equal(store_notify_next(f->st, "zz", &m), MW_ENOTFOUND);

	/* alerts */
	const char *states[] = {"firing", "resolved", "pending", "resolved"};
	for (int i = 0; i < 4; i++) {
		struct store_alert a = {.id = i + 1, .rule_id = 1, .updated_at = mw_wall_s(), .state = states[i],
		    .subject = "s", .body = states[i]};
		assert_int_equal(store_alert_put(f->st, &a, 100), 0);
	}
	int total;
	assert_int_equal(store_alerts_list(f->st, "active", 10, 0, &d, &n, &total), 0);
	assert_int_equal(total, 2);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].body, "pending"); /* newest first */
	assert_string_equal(d[1].body, "firing");
	store_docs_free(d, n);
	assert_int_equal(store_alerts_list(f->st, "", 1, 1, &d, &n, &total), 0);
	assert_int_equal(total, 4);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].id, 3);
	store_docs_free(d, n);
	assert_int_equal(store_alerts_last_id(f->st), 4);
	char *one;
	assert_int_equal(store_alert_get(f->st, 2, &one), 0);
	assert_string_equal(one, "resolved");
	free(one);
	assert_int_equal(store_alert_get(f->st, 42, &one), MW_ENOTFOUND);
	/* the bound takes resolved alerts only */
	struct store_alert a = {.id = 5, .rule_id = 1, .updated_at = mw_wall_s(), .state = "firing", .subject = "s",
	    .body = "firing"};
	assert_int_equal(store_alert_put(f->st, &a, 1), 0);
	assert_int_equal(store_alerts_list(f->st, "", 10, 0, &d, &n, &total), 0);
	assert_int_equal(total, 3); /* 1, 3 and 5: the resolved 2 and 4 went */
	store_docs_free(d, n);

	/* retention: a resolved alert and a silence that ended 3 days ago go
	   with a 2-day retention; a firing alert and a running silence stay */
	int64_t now = mw_wall_s(), sid;
	struct store_alert old = {.id = 6, .rule_id = 1, .updated_at = now - 3 * 86400, .state = "resolved",
	    .subject = "s", .body = "old"};
	assert_int_equal(store_alert_put(f->st, &old, 100), 0);
	assert_int_equal(store_silence_add(f->st, now - 3 * 86400, "{}", &sid), 0);
	assert_int_equal(store_silence_add(f->st, now + 3600, "{}", &sid), 0);
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, now, 86400, 2 * 86400, 1 << 30, &ms), 0);
	assert_int_equal(store_alert_get(f->st, 6, &one), MW_ENOTFOUND);
	assert_int_equal(store_alert_get(f->st, 5, &one), 0);
	free(one);
	assert_int_equal(store_silences_load(f->st, 0, 10, &d, &n), 0);
	assert_int_equal(n, 1); /* loaded from time 0: only the running one is left */
	assert_int_equal(d[0].id, sid);
	store_docs_free(d, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_schema_wal),
		T(test_reopen_keeps_data),
		T(test_open_failures),
		T(test_meta),
		T(test_user_create_get),
		T(test_user_duplicate_and_limit),
		T(test_user_update),
		T(test_user_delete_count),
		T(test_user_list),
		T(test_sessions),
		T(test_delete_user_cascades),
		T(test_password_change_ends_other_sessions),
		T(test_check_writable),
		T(test_check_writable_fails),
		T(test_check_writable_twice_in_a_second),
		T(test_threads),
		T(test_history_downsample_and_retention),
		T(test_size_cap_deletes_oldest_first),
		T(test_size_cap_from_the_writer),
		T(test_traffic_minutes),
		T(test_size_cap_takes_oldest_traffic_minutes),
		T(test_events),
		T(test_alerts_tables),
		T(test_roles_last_admin),
		T(test_tokens),
		T(test_tokens_cap),
		T(test_migration_to_11),
		T(test_mesh_targets_sync),
		T(test_migration_to_13),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
