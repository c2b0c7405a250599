/* store_internal: what the store's own files share. The store is split by
   resource (store.c: identity, users, sessions, mesh, reporting;
   store_targets.c, store_traffic.c, store_discovery.c, store_tokens.c, ...), but it is one
   connection behind one lock, and only these files see it. Everything
   outside the store goes through include/meshwatch/store.h. */
#ifndef MESHWATCH_STORE_INTERNAL_H
#define MESHWATCH_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct report_inventory;

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	char path[4096];
	/* the size cap, checked by the writer (store.c's wal_hook); under lock */
	int64_t cap_bytes;      /* 0: no cap set */
	int64_t cap_slice;      /* 1/32 of the cap: the unit of shedding and of WAL size */
	int cap_wal_pages;      /* WAL frames after the last commit */
	int cap_page_size;
	int cap_due, cap_busy;
	int64_t cap_txn_recent; /* the largest commit (bytes) since the last check */
	int64_t cap_txn_max;    /* ... lately, decaying */
	int64_t cap_last_size;  /* database + WAL after the last check */
	int64_t cap_rows, cap_logged_ms; /* rows removed since the last log line */
	int64_t cap_matrix_rows;          /* of those, latest cells of report origins (the mesh matrix) */
};

/* Evaluates expr with the lock held; the pattern every query follows.
   A write that took the bytes written past a slice of the size cap is
   followed by the size check (and, over the cap's mark, by removing the
   oldest history) before the lock is released. */
#define LOCKED(st, expr) \
	__extension__({ \
		pthread_mutex_lock(&(st)->lock); \
		__typeof__(expr) r_ = (expr); \
		if ((st)->cap_due) \
			store_cap_check_locked(st); \
		pthread_mutex_unlock(&(st)->lock); \
		r_; \
	})

/* The size check LOCKED runs when due (store.c). */
void store_cap_check_locked(struct store *st);

/* The lock must be held for all of these. */
sqlite3_stmt *store_prep(struct store *st, const char *sql); /* NULL and logged on error */
/* Runs a DELETE with one parameter (text when not NULL, else id): 0, or
   MW_ENOTFOUND when no row went, MW_EDB. */
int store_delete_by_locked(struct store *st, const char *sql, int64_t id, const char *text);
int store_exec_locked(struct store *st, const char *sql, char *err, size_t errlen);
int store_int_query_locked(struct store *st, const char *sql); /* first column of the first row; 0 if none */
/* Column i as text, "" for NULL (valid until the next step). */
const char *store_col_text(sqlite3_stmt *s, int i);
/* Runs sql with ?1 bound to a; rows changed, or MW_EDB. */
int store_bind_exec_locked(struct store *st, const char *sql, int64_t a);
/* Runs sql once per row (n rows of size bytes; bind binds one) in one
   transaction, rolled back when any row fails. 0 or MW_EDB. */
int store_insert_rows_locked(struct store *st, const char *sql, const void *rows, size_t size, int n,
    void (*bind)(sqlite3_stmt *s, const void *row));

/* Schema migrations owned by the resource files, in store.c's list. */
extern const char store_schema_targets[];
extern const char store_schema_traffic[];
extern const char store_schema_discovery[];
extern const char store_schema_events[];
extern const char store_schema_alerts[];
extern const char store_schema_tokens[];
extern const char store_schema_inventory[];
extern const char store_schema_mesh_targets[];
extern const char store_schema_remote_scans[];

/* Traffic minutes for store_maintain (lock held): expire deletes rows
   before a time, trim the oldest rows (both return how many); count
   returns how many there are and sets *oldest (0 when none). */
int store_traffic_expire_locked(struct store *st, int64_t before);
int store_traffic_trim_locked(struct store *st, int rows);
int store_traffic_count_locked(struct store *st, int64_t *oldest);
/* Size-cap help from store_discovery.c: deletes up to rows of the oldest
   discovery history (per-port scan results, then changes); returns how
   many went, 0 when none is left. Lock held. */
int store_discovery_shed_locked(struct store *st, int rows);

/* Received inventory (store_inventory.c), lock held. apply stores one
   origin's parts (within the caller's transaction); forget removes all
   of an origin's; shed_stale removes about rows of the stalest stale
   origin's inventory (then its row), shed_changes the oldest changes,
   expire changes and hosts last seen before a time. Each returns the
   rows removed (0 when none), or MW_EDB. */
int store_inventory_apply_locked(struct store *st, const char *origin, int interval_s, int64_t generated_at,
    const struct report_inventory *inv, int64_t now);
int store_inventory_forget_locked(struct store *st, const char *origin);
int store_inventory_shed_stale_locked(struct store *st, int64_t now, int rows);
int store_inventory_shed_changes_locked(struct store *st, int rows);
int store_inventory_changes_count_locked(struct store *st);
int store_inventory_expire_locked(struct store *st, int64_t before);

/* Events for store_maintain and the size cap (lock held): expire deletes
   events before a time (ms), shed the oldest rows; both return how many. */
int store_events_expire_locked(struct store *st, int64_t before_ms);
int store_events_shed_locked(struct store *st, int rows);
/* Resolved alerts last updated, and silences ended, before a time (s)
   go; how many. */
int store_alerts_expire_locked(struct store *st, int64_t before);

#endif
