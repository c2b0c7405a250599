/* resolver: name lookups off the event loop. getaddrinfo blocks, so a small
   pool of threads runs it; answers come back to the loop thread through
   evloop_post, and stay in a cache for ttl_s (failures for neg_ttl_s), so
   thousands of checks against a few names cost a few lookups a minute.
   Numeric addresses never leave the caller's thread. */
#ifndef MESHWATCH_RESOLVER_H
#define MESHWATCH_RESOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "meshwatch/util.h"

struct evloop;
struct resolver;

#include "meshwatch/limits.h" /* RESOLVER_MAX_ADDRS, RESOLVER_MAX_HOST */

struct resolved {
	int status;                  /* 0, or an EAI_* code */
	int n;                       /* addresses in addrs */
	struct sockaddr_storage addrs[RESOLVER_MAX_ADDRS]; /* port is 0 */
	socklen_t lens[RESOLVER_MAX_ADDRS];
	char error[96];              /* plain words when status != 0 */
};

/* Answer callback, on the loop thread. key is the caller's: look the
   requester up by it (it may be gone by now). */
typedef void (*resolver_fn)(void *ctx, uint64_t key, const struct resolved *r);

/* A resolver answering on loop l with a pool of threads (1..16). NULL
   with a reason. */
struct resolver *resolver_create(struct evloop *l, int threads, int ttl_s, int neg_ttl_s, char *err,
    size_t errlen) MW_MUST_CHECK;
/* Starts the pool. 0, or MW_EIO with a reason (threads already started
   are joined by resolver_stop). */
int resolver_start(struct resolver *r, char *err, size_t errlen) MW_MUST_CHECK;
/* Shutdown in this order: resolver_stop (joins the pool: nothing more is
   posted; idempotent), evloop_stop (drops answers still queued),
   resolver_destroy. Both accept NULL. */
void resolver_stop(struct resolver *r);
void resolver_destroy(struct resolver *r);

/* Loop thread only. Returns 1 with *out filled when the answer is known
   now (numeric host or cached); 0 when fn(ctx, key, ...) will be called
   later; -1 when the lookup cannot be queued (out filled with the reason). */
int resolver_lookup(struct resolver *r, const char *host, struct resolved *out, resolver_fn fn, void *ctx,
    uint64_t key);

/* Counters for /metrics and tests. */
void resolver_stats(struct resolver *r, uint64_t *lookups, uint64_t *cache_hits, int *cached);

#endif
