/* store_tokens: API tokens, the machine credentials a script or a
   Prometheus server sends as "Authorization: Bearer mwt_...". The table
   holds only the SHA-256 of each secret (like sessions), its name, scope
   and times. Bounded by a count the caller gives (TOKENS_MAX), checked
   under the lock at insert. last_used_at is written at most once per
   touch interval per token, in the same locked call as the lookup, so a
   busy script costs one write a minute rather than one a request.
   Migration 11 also gives users their role: it lives here because roles
   and tokens are one change, and a migration must stay one entry. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

const char store_schema_tokens[] =
	"ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin','read'));"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  scope TEXT NOT NULL CHECK (scope IN ('admin','read')),"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL DEFAULT 0," /* 0: never */
	"  last_used_at INTEGER NOT NULL DEFAULT 0);";

#define TOKEN_COLS "id,name,scope,created_at,expires_at,last_used_at"

static void
read_token(sqlite3_stmt *s, struct token_row *t)
{
	t->id = sqlite3_column_int64(s, 0);
	snprintf(t->name, sizeof t->name, "%s", store_col_text(s, 1));
	t->scope = store_role_parse(store_col_text(s, 2)) == ROLE_ADMIN ? ROLE_ADMIN : ROLE_READ;
	t->created_at = sqlite3_column_int64(s, 3);
	t->expires_at = sqlite3_column_int64(s, 4);
	t->last_used_at = sqlite3_column_int64(s, 5);
}

static int
token_create_locked(struct store *st, const char *name, int scope, const char *hash, int64_t expires_at, int max,
    struct token_row *out)
{
	if (store_int_query_locked(st, "SELECT COUNT(*) FROM tokens") >= max)
		return MW_ETOOBIG;
	sqlite3_stmt *s = store_prep(st, "INSERT INTO tokens(name,scope,token_hash,created_at,expires_at) "
	                               "VALUES(?,?,?,?,?) RETURNING " TOKEN_COLS);
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, store_role_name(scope), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, mw_wall_s());
	sqlite3_bind_int64(s, 5, expires_at > 0 ? expires_at : 0);
	int rc = sqlite3_step(s), ret = 0;
	if (rc == SQLITE_ROW) {
		if (out)
			read_token(s, out);
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE)
		ret = sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE ? MW_EEXIST : MW_EDB;
	sqlite3_finalize(s);
	return ret;
}

int
store_token_create(struct store *st, const char *name, int scope, const char *token_hash, int64_t expires_at,
    int max, struct token_row *out)
{
	return LOCKED(st, token_create_locked(st, name, scope, token_hash, expires_at, max, out));
}

/* One row by id (text NULL) or by hash. */
static int
token_find_locked(struct store *st, int64_t id, const char *hash, struct token_row *out)
{
	sqlite3_stmt *s = store_prep(st, hash ? "SELECT " TOKEN_COLS " FROM tokens WHERE token_hash=?"
	                                      : "SELECT " TOKEN_COLS " FROM tokens WHERE id=?");
	if (s == NULL)
		return MW_EDB;
	if (hash)
		sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s), ret;
	if (rc == SQLITE_ROW) {
		read_token(s, out);
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? MW_ENOTFOUND : MW_EDB;
	}
	sqlite3_finalize(s);
	return ret;
}

int
store_token_get(struct store *st, int64_t id, struct token_row *out)
{
	return LOCKED(st, token_find_locked(st, id, NULL, out));
}

static int
token_lookup_locked(struct store *st, const char *hash, int64_t now, int touch_s, struct token_row *out)
{
	int ret = token_find_locked(st, 0, hash, out);
	if (ret != 0)
		return ret;
	int expired = out->expires_at > 0 && out->expires_at <= now;
	if (expired || now - out->last_used_at < touch_s)
		return 0;
	/* the WHERE repeats the interval so that two threads that both read
	   an old time write once */
	sqlite3_stmt *s = store_prep(st, "UPDATE tokens SET last_used_at=?1 WHERE id=?2 AND last_used_at<=?1-?3");
	if (s == NULL)
		return 0; /* the token is good; only its last use goes unrecorded */
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, out->id);
	sqlite3_bind_int(s, 3, touch_s);
	if (sqlite3_step(s) == SQLITE_DONE && sqlite3_changes(st->db) > 0)
		out->last_used_at = now;
	sqlite3_finalize(s);
	return 0;
}

int
store_token_lookup(struct store *st, const char *token_hash, int64_t now, int touch_s, struct token_row *out)
{
	return LOCKED(st, token_lookup_locked(st, token_hash, now, touch_s, out));
}

static int
token_delete_locked(struct store *st, int64_t id)
{
	int k = store_bind_exec_locked(st, "DELETE FROM tokens WHERE id=?1", id);
	return k < 0 ? k : k > 0 ? 0 : MW_ENOTFOUND;
}

int
store_token_delete(struct store *st, int64_t id)
{
	return LOCKED(st, token_delete_locked(st, id));
}

int
store_token_count(struct store *st)
{
	return LOCKED(st, store_int_query_locked(st, "SELECT COUNT(*) FROM tokens"));
}

static int
token_list_locked(struct store *st, int limit, int offset, struct token_row **rows, int *n, int *total)
{
	*rows = NULL;
	*n = 0;
	*total = store_int_query_locked(st, "SELECT COUNT(*) FROM tokens");
	sqlite3_stmt *s = store_prep(st, "SELECT " TOKEN_COLS " FROM tokens ORDER BY id LIMIT ? OFFSET ?");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int(s, 1, limit);
	sqlite3_bind_int(s, 2, offset);
	struct token_row *arr = calloc((size_t)(limit > 0 ? limit : 1), sizeof *arr);
	if (arr == NULL) {
		sqlite3_finalize(s);
		return MW_ENOMEM;
	}
	int i = 0;
	while (i < limit && sqlite3_step(s) == SQLITE_ROW)
		read_token(s, &arr[i++]);
	sqlite3_finalize(s);
	*rows = arr;
	*n = i;
	return 0;
}

int
store_token_list(struct store *st, int limit, int offset, struct token_row **rows, int *n, int *total)
{
	return LOCKED(st, token_list_locked(st, limit, offset, rows, n, total));
}
