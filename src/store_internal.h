/* store_internal: what the store's own files share. The store is split by
   resource (store.c: identity, users, sessions, mesh, reporting;
   store_targets.c, store_traffic.c, store_discovery.c), but it is one
   connection behind one lock, and only these files see it. Everything
   outside the store goes through include/meshwatch/store.h. */
#ifndef MESHWATCH_STORE_INTERNAL_H
#define MESHWATCH_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	char path[4096];
};

/* Evaluates expr with the lock held; the pattern every query follows. */
#define LOCKED(st, expr) \
	__extension__({ \
		pthread_mutex_lock(&(st)->lock); \
		__typeof__(expr) r_ = (expr); \
		pthread_mutex_unlock(&(st)->lock); \
		r_; \
	})

/* The lock must be held for all three. */
sqlite3_stmt *store_prep(struct store *st, const char *sql); /* NULL and logged on error */
int store_exec_locked(struct store *st, const char *sql, char *err, size_t errlen);
int store_int_query_locked(struct store *st, const char *sql); /* first column of the first row; 0 if none */

/* Schema migrations owned by the resource files, in store.c's list. */
extern const char store_schema_targets[];
extern const char store_schema_traffic[];
extern const char store_schema_discovery[];

/* Size-cap help from store_discovery.c: deletes up to rows of the oldest
   discovery history (per-port scan results, then changes); returns how
   many went, 0 when none is left. Lock held. */
int store_discovery_shed_locked(struct store *st, int rows);

#endif
