/* store: the one module that speaks SQL. SQLite in WAL mode, schema
   versioned with migrations. All functions are thread-safe (one connection
   behind a mutex) and may block on disk I/O; none of them is called from a
   latency-critical loop. */
#ifndef MESHWATCH_STORE_H
#define MESHWATCH_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define STORE_USERNAME_MAX 64
#define STORE_HASH_MAX 256

struct user_row {
	int64_t id;
	char username[STORE_USERNAME_MAX + 1];
	int64_t created_at;
	int64_t updated_at;
};

/* Opens (creating if needed) DIR/meshwatch.db and migrates it to the
   current schema. Returns NULL and writes a reason to err. */
struct store *store_open(const char *dir, char *err, size_t errlen);
/* Closes the database; accepts NULL. */
void store_close(struct store *st);

int store_schema_version(struct store *st);
const char *store_path(const struct store *st);
/* Size of the database file plus its WAL, in bytes. */
int64_t store_size_bytes(struct store *st);

/* Proves the database takes writes (a small transaction on the meta
   table). 0, or MW_EDB with SQLite's message in err. */
int store_check_writable(struct store *st, char *err, size_t errlen);

/* meta: small key/value pairs. get returns MW_ENOTFOUND when absent. */
int store_meta_get(struct store *st, const char *key, char *out, size_t outlen);
int store_meta_set(struct store *st, const char *key, const char *value);

/* Users. create returns MW_EEXIST for a taken name and MW_ETOOBIG when
   max_users already exist. hash is the encoded password hash. */
int store_user_create(struct store *st, const char *username, const char *hash, int max_users,
    struct user_row *out);
int store_user_get(struct store *st, int64_t id, struct user_row *out);
/* Also copies the password hash into hash (hashlen bytes) when not NULL. */
int store_user_get_by_name(struct store *st, const char *username, struct user_row *out, char *hash,
    size_t hashlen);
/* NULL leaves a field unchanged; a changed password ends the user's
   sessions except keep_session_hash (may be NULL). */
int store_user_update(struct store *st, int64_t id, const char *username, const char *hash,
    const char *keep_session_hash);
int store_user_delete(struct store *st, int64_t id);
int store_user_count(struct store *st);
/* Lists users whose name contains q (NULL or "" for all), ordered by id.
   *rows is malloc'd (caller frees), *n rows, *total matching in all. */
int store_user_list(struct store *st, const char *q, int limit, int offset, struct user_row **rows,
    int *n, int *total);

/* Sessions, keyed by the SHA-256 (hex) of the token. */
int store_session_create(struct store *st, const char *token_hash, int64_t user_id, int64_t expires_at);
/* MW_ENOTFOUND when unknown or expired at now. */
int store_session_lookup(struct store *st, const char *token_hash, int64_t now, struct user_row *user);
int store_session_delete(struct store *st, const char *token_hash);
/* Deletes sessions expired at now; returns how many, or a negative code. */
int store_session_purge(struct store *st, int64_t now);
int store_session_count(struct store *st);

#endif
