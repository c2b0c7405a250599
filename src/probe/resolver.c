/* resolver: the cache and the waiters belong to the loop thread; the pool
   threads only see jobs (a host name in, a struct resolved out). Lookups
   for a name already in flight wait on that one lookup. */
#include "meshwatch/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "meshwatch/evloop.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/util.h"

#define NBUCKETS 1024

struct waiter {
	struct waiter *next;
	resolver_fn fn;
	void *ctx;
	uint64_t key;
};

struct entry {
	struct entry *next;          /* bucket chain */
	char host[RESOLVER_MAX_HOST + 1];
	int pending;
	int64_t expires_ms;
	struct resolved r;
	struct waiter *waiters;
};

struct job {
	struct job *next;
	struct resolver *res;
	char host[RESOLVER_MAX_HOST + 1];
	struct resolved r;
};

struct resolver {
	struct evloop *loop;
	int ttl_ms, neg_ttl_ms;
	/* loop thread */
	struct entry *buckets[NBUCKETS];
	int nentries, nwaiters;
	uint64_t lookups, hits;
	/* pool */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	int stop;
	int want_threads;            /* the pool's size, started by resolver_start */
	int nthreads;                /* running */
	pthread_t threads[RESOLVER_MAX_THREADS];
};

static unsigned
bucket_of(const char *host)
{
	return (unsigned)(XXH3_64bits(host, strlen(host)) % NBUCKETS);
}

static struct entry *
find(struct resolver *r, const char *host)
{
	for (struct entry *e = r->buckets[bucket_of(host)]; e; e = e->next)
		if (strcmp(e->host, host) == 0)
			return e;
	return NULL;
}

static void
unlink_entry(struct resolver *r, struct entry *e)
{
	struct entry **pp = &r->buckets[bucket_of(e->host)];
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	r->nentries--;
	free(e);
}

/* Drops expired answers; called when the cache is full. */
static void
sweep(struct resolver *r, int64_t now)
{
	for (int b = 0; b < NBUCKETS; b++) {
		struct entry *e = r->buckets[b];
		while (e) {
			struct entry *next = e->next;
			if (!e->pending && e->expires_ms <= now)
				unlink_entry(r, e);
			e = next;
		}
	}
}

static int
numeric(const char *host, struct resolved *out)
{
	memset(out, 0, sizeof *out);
	struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&out->addrs[0];
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&out->addrs[0];
	char buf[RESOLVER_MAX_HOST + 1];
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		out->lens[0] = sizeof *a4;
		out->n = 1;
		return 1;
	}
	memset(&out->addrs[0], 0, sizeof out->addrs[0]);
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		out->lens[0] = sizeof *a6;
		out->n = 1;
		return 1;
	}
	return 0;
}

static void
job_free(void *arg)
{
	free(arg);
}

/* Loop thread: a pool answer arrives. */
static void
on_answer(void *arg)
{
	struct job *j = arg;
	struct resolver *r = j->res;
	struct entry *e = find(r, j->host);
	if (e == NULL) {
		free(j);
		return;
	}
	e->r = j->r;
	e->pending = 0;
	e->expires_ms = evloop_now(r->loop) + (j->r.status == 0 ? r->ttl_ms : r->neg_ttl_ms);
	struct waiter *w = e->waiters;
	e->waiters = NULL;
	free(j);
	/* e may be swept by a callback's own lookup: work from a copy */
	struct resolved copy = e->r;
	while (w) {
		struct waiter *next = w->next;
		r->nwaiters--;
		w->fn(w->ctx, w->key, &copy);
		free(w);
		w = next;
	}
}

static void
lookup_blocking(struct job *j)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	memset(&j->r, 0, sizeof j->r);
	int rc = getaddrinfo(j->host, NULL, &hints, &res);
	if (rc != 0) {
		j->r.status = rc;
		snprintf(j->r.error, sizeof j->r.error, "%s: %s", rc == EAI_NONAME ? "no such name" : "lookup failed",
		    gai_strerror(rc));
		return;
	}
	/* IPv4 first, then IPv6: the order connect attempts use */
	for (int pass = 0; pass < 2; pass++)
		for (struct addrinfo *a = res; a && j->r.n < RESOLVER_MAX_ADDRS; a = a->ai_next) {
			if (a->ai_family != (pass == 0 ? AF_INET : AF_INET6) || a->ai_addrlen > sizeof j->r.addrs[0])
				continue;
			memcpy(&j->r.addrs[j->r.n], a->ai_addr, a->ai_addrlen);
			j->r.lens[j->r.n++] = a->ai_addrlen;
		}
	freeaddrinfo(res);
	if (j->r.n == 0) {
		j->r.status = EAI_NODATA;
		snprintf(j->r.error, sizeof j->r.error, "no usable address for this name");
	}
}

static void *
pool_main(void *arg)
{
	struct resolver *r = arg;
	pthread_setname_np(pthread_self(), "mw-resolve");
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct job *j = r->head;
		if (j == NULL) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		r->head = j->next;
		if (r->head == NULL)
			r->tail = NULL;
		pthread_mutex_unlock(&r->lock);
		lookup_blocking(j);
		evloop_post(r->loop, on_answer, j, job_free);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int
resolver_lookup(struct resolver *r, const char *host, struct resolved *out, resolver_fn fn, void *ctx, uint64_t key)
{
	if (numeric(host, out))
		return 1;
	r->lookups++;
	if (strlen(host) > RESOLVER_MAX_HOST) {
		out->status = EAI_NONAME;
		snprintf(out->error, sizeof out->error, "name longer than %d characters", RESOLVER_MAX_HOST);
		return -1;
	}
	int64_t now = evloop_now(r->loop);
	struct entry *e = find(r, host);
	if (e && !e->pending && e->expires_ms > now) {
		r->hits++;
		*out = e->r;
		return 1;
	}
	if (r->nwaiters >= RESOLVER_MAX_WAITERS) {
		out->status = EAI_AGAIN;
		snprintf(out->error, sizeof out->error, "too many lookups waiting");
		return -1;
	}
	struct waiter *w = malloc(sizeof *w);
	if (w == NULL)
		goto oom;
	*w = (struct waiter){.fn = fn, .ctx = ctx, .key = key};
	if (e && e->pending) {
		w->next = e->waiters;
		e->waiters = w;
		r->nwaiters++;
		return 0;
	}
	if (e == NULL) {
		if (r->nentries >= RESOLVER_MAX_ENTRIES)
			sweep(r, now);
		if (r->nentries >= RESOLVER_MAX_ENTRIES) {
			free(w);
			out->status = EAI_AGAIN;
			snprintf(out->error, sizeof out->error, "too many names being looked up");
			return -1;
		}
		e = calloc(1, sizeof *e);
		if (e == NULL) {
			free(w);
			goto oom;
		}
		snprintf(e->host, sizeof e->host, "%s", host);
		unsigned b = bucket_of(host);
		e->next = r->buckets[b];
		r->buckets[b] = e;
		r->nentries++;
	}
	struct job *j = calloc(1, sizeof *j);
	if (j == NULL) {
		free(w);
		goto oom;
	}
	j->res = r;
	snprintf(j->host, sizeof j->host, "%s", host);
	e->pending = 1;
	e->waiters = w;
	r->nwaiters++;
	pthread_mutex_lock(&r->lock);
	if (r->tail)
		r->tail->next = j;
	else
		r->head = j;
	r->tail = j;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return 0;
oom:
	out->status = EAI_MEMORY;
	snprintf(out->error, sizeof out->error, "out of memory");
	return -1;
}

void
resolver_stats(struct resolver *r, uint64_t *lookups, uint64_t *cache_hits, int *cached)
{
	*lookups = r->lookups;
	*cache_hits = r->hits;
	*cached = r->nentries;
}

struct resolver *
resolver_create(struct evloop *l, int threads, int ttl_s, int neg_ttl_s, char *err, size_t errlen)
{
	struct resolver *r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = l;
	r->ttl_ms = ttl_s * 1000;
	r->neg_ttl_ms = neg_ttl_s * 1000;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (threads < 1)
		threads = 1;
	if (threads > RESOLVER_MAX_THREADS)
		threads = RESOLVER_MAX_THREADS;
	r->want_threads = threads;
	return r;
}

int
resolver_start(struct resolver *r, char *err, size_t errlen)
{
	for (int i = r->nthreads; i < r->want_threads; i++) {
		if (pthread_create(&r->threads[i], NULL, pool_main, r) != 0) {
			snprintf(err, errlen, "resolver: cannot start its threads");
			return MW_EIO;
		}
		r->nthreads++;
	}
	return MW_OK;
}

void
resolver_stop(struct resolver *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	r->nthreads = 0;
}

/* Pending waiters are dropped without a call: their loop has stopped. */
void
resolver_destroy(struct resolver *r)
{
	if (r == NULL)
		return;
	resolver_stop(r);
	for (struct job *j = r->head, *next; j; j = next) {
		next = j->next;
		free(j);
	}
	for (int b = 0; b < NBUCKETS; b++)
		for (struct entry *e = r->buckets[b], *next; e; e = next) {
			next = e->next;
			for (struct waiter *w = e->waiters, *wn; w; w = wn) {
				wn = w->next;
				free(w);
			}
			free(e);
		}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
