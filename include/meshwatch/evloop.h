/* evloop: the prober's event loop. One thread runs epoll over non-blocking
   sockets and a min-heap of timers; thousands of outstanding probes (TCP
   target checks, scan connects) cost one thread and no polling.

   Threading: everything but evloop_post and the lifecycle (create, start,
   stop, destroy) must be called on the loop thread (from a callback). Other threads hand work
   to the loop with evloop_post.

   Ownership: struct ev_io and struct ev_timer live in the caller's memory.
   A callback may evloop_del/evloop_timer_cancel and free other watchers
   of its own; freeing an ev_io whose events may still be pending in the
   current epoll batch must go through evloop_defer_free (run after the
   batch), which is the one safe way for an I/O callback to free its own
   state. */
#ifndef MESHWATCH_EVLOOP_H
#define MESHWATCH_EVLOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "meshwatch/util.h"

struct evloop;

struct ev_io {
	int fd;
	void (*fn)(struct ev_io *io, uint32_t events); /* EPOLLIN/OUT/ERR/HUP */
	void *arg;
	int dead; /* set by evloop_del: pending events of this batch are skipped */
};

struct ev_timer {
	int64_t at_ms; /* monotonic (mw_now_ms) */
	void (*fn)(struct ev_timer *t);
	void *arg;
	int heap_index; /* -1 when not armed; owned by the loop */
};

/* A loop whose thread will be named (for top -H) after name. NULL with a
   reason. Work may be posted before it starts; it runs once it does. */
struct evloop *evloop_create(const char *name, char *err, size_t errlen) MW_MUST_CHECK;
/* Starts the loop thread. 0, or MW_EIO with a reason. */
int evloop_start(struct evloop *l, char *err, size_t errlen) MW_MUST_CHECK;
/* Stops and joins the thread; posted work not yet run is dropped (its
   free_fn is called) and later posts are refused. Watchers still
   registered are forgotten, not called. Idempotent; accepts NULL. */
void evloop_stop(struct evloop *l);
/* Stops (if still running) and frees the loop. Accepts NULL. */
void evloop_destroy(struct evloop *l);

/* Any thread: runs fn(arg) on the loop thread soon, in posting order. If
   the loop is stopping, fn is not run and free_fn(arg) (if given) is
   called instead; returns -1 then. */
int evloop_post(struct evloop *l, void (*fn)(void *arg), void *arg, void (*free_fn)(void *arg));

/* Loop thread only. */
int evloop_add(struct evloop *l, struct ev_io *io, uint32_t events);
int evloop_mod(struct evloop *l, struct ev_io *io, uint32_t events);
void evloop_del(struct evloop *l, struct ev_io *io); /* does not close fd */
void evloop_timer_init(struct ev_timer *t, void (*fn)(struct ev_timer *t), void *arg);
void evloop_timer_at(struct evloop *l, struct ev_timer *t, int64_t at_ms); /* (re)arms */
void evloop_timer_cancel(struct evloop *l, struct ev_timer *t);
int evloop_timer_armed(const struct ev_timer *t);
void evloop_defer_free(struct evloop *l, void *p); /* free(p) after this batch */
int64_t evloop_now(const struct evloop *l);       /* cached ms, this iteration */
int evloop_timer_count(const struct evloop *l);

#endif
