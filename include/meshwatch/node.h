/* node: the process-wide state every module reaches through one pointer.
   The main thread creates it before any other thread starts and frees it
   after they have all stopped. Fields marked "main" are written only by the
   main thread; the others say how they are shared. */
#ifndef MESHWATCH_NODE_H
#define MESHWATCH_NODE_H

#include <pthread.h>
#include <stdint.h>

#include "meshwatch/certs.h"
#include "meshwatch/config.h"
#include "meshwatch/util.h"

struct store;
struct tls_server;
struct ratelimit;
struct metrics;
struct http_server;
struct mesh;
struct reporter;
struct evloop;
struct resolver;
struct targets;
struct capture;
struct scanner;
struct alerts;

struct node {
	struct config cfg;            /* main; settings that need a restart */
	char id[37];                  /* fixed after node_create */
	char fqdn[256];
	char ip[128];                 /* advertised address */
	int64_t started_wall;
	int64_t started_mono_ms;

	struct store *store;          /* thread-safe */
	struct events *events;        /* thread-safe; flushed by main (see events.h) */
	struct tls_server *tls;       /* thread-safe */
	struct ratelimit *login_rl;   /* thread-safe; keyed by client address */
	struct ratelimit *account_rl; /* thread-safe; keyed by a hash of the username */
	struct metrics *metrics;      /* atomic counters */
	struct http_server *http;
	struct mesh *mesh;            /* thread-safe (see mesh.h) */
	struct reporter *reporter;    /* its own thread (see report.h) */
	struct evloop *prober;        /* the prober's event loop (see evloop.h) */
	struct resolver *resolver;    /* name lookups for the prober (resolver.h) */
	struct targets *targets;      /* TCP targets (see targets.h) */
	struct capture *capture;      /* its own thread; readers use capture.h (never NULL once started) */
	struct scanner *scanner;      /* discovery scans, its own thread (scanner.h) */
	struct alerts *alerts;        /* rules, alerts, notifications; its own delivery thread (alerts.h) */

	/* SHA-256 (hex) of cfg.metrics_token, "" without one; fixed after
	   node_create. Requests compare hashes, in constant time. */
	char metrics_token_hash[65];

	/* Live settings (SIGHUP may change them): read with relaxed atomics. */
	int session_ttl_s;

	/* Health, refreshed by the main thread's timers; under health_lock. */
	pthread_mutex_t health_lock;
	struct cert_info cert;
	int db_writable;
	char db_error[256];
	int cert_level;               /* 0 fine, 1 warning, 2 critical: the last cert_expiry event */

	volatile int stopping;        /* set once by main at shutdown */
};

/* Builds the node from a validated config: identity (UUID kept in
   DATA_DIR/node_id), certificate, database, root user. NULL with a reason
   in err that names what to fix. Blocks on disk and key generation. */
struct node *node_create(const struct config *cfg, char *err, size_t errlen) MW_MUST_CHECK;
void node_destroy(struct node *n);

/* Timer work for the main thread; each logs what it changes. */
void node_check_db(struct node *n);
void node_check_cert(struct node *n);
void node_purge_sessions(struct node *n);

/* Applies the reloadable settings of a freshly loaded config and logs
   those that need a restart. */
void node_apply_reload(struct node *n, const struct config *fresh);

/* Health snapshot: fills problems (up to max entries of 160 chars) and
   returns how many there are (0 = healthy). */
int node_health(struct node *n, char problems[][160], int max);

#endif
