/* evloop: one thread, epoll, a binary min-heap of caller-owned timers and
   a mutex-protected queue of posted calls woken through an eventfd. */
#include "meshwatch/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "meshwatch/log.h"
#include "meshwatch/util.h"

#define EV_BATCH 256

struct posted {
	struct posted *next;
	void (*fn)(void *arg);
	void *arg;
	void (*free_fn)(void *arg);
};

struct evloop {
	int epfd;
	struct ev_io wake;          /* eventfd */
	pthread_t thread;
	int started;                /* the thread runs: stop joins it */
	char name[16];
	volatile int stop;
	int64_t now;

	struct ev_timer **heap;
	int nheap, capheap;

	void **deferred;
	int ndeferred, capdeferred;

	pthread_mutex_t lock;       /* guards the posted queue and closing */
	struct posted *head, *tail;
	int closing;
};

/* ---------- timers ---------- */

static void
heap_set(struct evloop *l, int i, struct ev_timer *t)
{
	l->heap[i] = t;
	t->heap_index = i;
}

static void
heap_up(struct evloop *l, int i)
{
	struct ev_timer *t = l->heap[i];
	while (i > 0) {
		int p = (i - 1) / 2;
		if (l->heap[p]->at_ms <= t->at_ms)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void
heap_down(struct evloop *l, int i)
{
	struct ev_timer *t = l->heap[i];
	for (;;) {
		int c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->at_ms < l->heap[c]->at_ms)
			c++;
		if (t->at_ms <= l->heap[c]->at_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void
evloop_timer_init(struct ev_timer *t, void (*fn)(struct ev_timer *t), void *arg)
{
	t->at_ms = 0;
	t->fn = fn;
	t->arg = arg;
	t->heap_index = -1;
}

int
evloop_timer_armed(const struct ev_timer *t)
{
	return t->heap_index >= 0;
}

void
evloop_timer_cancel(struct evloop *l, struct ev_timer *t)
{
	int i = t->heap_index;
	if (i < 0)
		return;
	t->heap_index = -1;
	struct ev_timer *last = l->heap[--l->nheap];
	if (i == l->nheap)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->heap_index);
}

void
evloop_timer_at(struct evloop *l, struct ev_timer *t, int64_t at_ms)
{
	if (t->heap_index >= 0) {
		t->at_ms = at_ms;
		heap_up(l, t->heap_index);
		heap_down(l, t->heap_index);
		return;
	}
	if (l->nheap == l->capheap) {
		int cap = l->capheap ? l->capheap * 2 : 64;
		struct ev_timer **h = realloc(l->heap, (size_t)cap * sizeof *h);
		if (h == NULL) {
			/* cannot arm: say so rather than lose the watcher silently */
			log_error("evloop", "out of memory arming a timer");
			return;
		}
		l->heap = h;
		l->capheap = cap;
	}
	t->at_ms = at_ms;
	heap_set(l, l->nheap++, t);
	heap_up(l, t->heap_index);
}

int
evloop_timer_count(const struct evloop *l)
{
	return l->nheap;
}

int64_t
evloop_now(const struct evloop *l)
{
	return l->now;
}

/* ---------- I/O ---------- */

int
evloop_add(struct evloop *l, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	io->dead = 0;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int
evloop_mod(struct evloop *l, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void
evloop_del(struct evloop *l, struct ev_io *io)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->dead = 1;
}

void
evloop_defer_free(struct evloop *l, void *p)
{
	if (p == NULL)
		return;
	if (l->ndeferred == l->capdeferred) {
		int cap = l->capdeferred ? l->capdeferred * 2 : 64;
		void **d = realloc(l->deferred, (size_t)cap * sizeof *d);
		if (d == NULL) {
			/* leak rather than free under a pending event */
			log_error("evloop", "out of memory deferring a free");
			return;
		}
		l->deferred = d;
		l->capdeferred = cap;
	}
	l->deferred[l->ndeferred++] = p;
}

/* ---------- posted calls ---------- */

int
evloop_post(struct evloop *l, void (*fn)(void *arg), void *arg, void (*free_fn)(void *arg))
{
	struct posted *p = malloc(sizeof *p);
	if (p == NULL) {
		if (free_fn)
			free_fn(arg);
		return -1;
	}
	*p = (struct posted){.fn = fn, .arg = arg, .free_fn = free_fn};
	pthread_mutex_lock(&l->lock);
	if (l->closing) {
		pthread_mutex_unlock(&l->lock);
		free(p);
		if (free_fn)
			free_fn(arg);
		return -1;
	}
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	pthread_mutex_unlock(&l->lock);
	uint64_t one = 1;
	ssize_t w = write(l->wake.fd, &one, sizeof one);
	(void)w; /* EAGAIN: the counter is already non-zero, the loop wakes */
	return 0;
}

static void
run_posted(struct evloop *l)
{
	uint64_t v;
	ssize_t r = read(l->wake.fd, &v, sizeof v);
	(void)r;
	pthread_mutex_lock(&l->lock);
	struct posted *p = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->lock);
	while (p) {
		struct posted *next = p->next;
		p->fn(p->arg);
		free(p);
		p = next;
	}
}

static void
on_wake(struct ev_io *io, uint32_t events)
{
	(void)events;
	run_posted(io->arg);
}

/* ---------- the loop ---------- */

static void *
loop_main(void *arg)
{
	struct evloop *l = arg;
	struct epoll_event evs[EV_BATCH];
	pthread_setname_np(pthread_self(), l->name);
	while (!l->stop) {
		l->now = mw_now_ms();
		int timeout = 1000;
		if (l->nheap > 0) {
			int64_t d = l->heap[0]->at_ms - l->now;
			timeout = d <= 0 ? 0 : d < 1000 ? (int)d : 1000;
		}
		int n = epoll_wait(l->epfd, evs, EV_BATCH, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("evloop", "epoll_wait: %s", strerror(errno));
			break;
		}
		l->now = mw_now_ms();
		for (int i = 0; i < n && !l->stop; i++) {
			struct ev_io *io = evs[i].data.ptr;
			if (!io->dead)
				io->fn(io, evs[i].events);
		}
		/* timers due now, in deadline order; one re-armed for "now" waits
		   for the next turn so I/O is never starved */
		int64_t now = l->now;
		while (l->nheap > 0 && l->heap[0]->at_ms <= now && !l->stop) {
			struct ev_timer *t = l->heap[0];
			evloop_timer_cancel(l, t);
			t->fn(t);
		}
		for (int i = 0; i < l->ndeferred; i++)
			free(l->deferred[i]);
		l->ndeferred = 0;
	}
	return NULL;
}

struct evloop *
evloop_create(const char *name, char *err, size_t errlen)
{
	struct evloop *l = calloc(1, sizeof *l);
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(l->name, sizeof l->name, "%s", name);
	pthread_mutex_init(&l->lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->wake.fn = on_wake;
	l->wake.arg = l;
	l->now = mw_now_ms();
	if (l->epfd < 0 || l->wake.fd < 0 || evloop_add(l, &l->wake, EPOLLIN) != 0) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		evloop_destroy(l);
		return NULL;
	}
	return l;
}

int
evloop_start(struct evloop *l, char *err, size_t errlen)
{
	if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
		snprintf(err, errlen, "event loop: cannot start its thread");
		return MW_EIO;
	}
	l->started = 1;
	return MW_OK;
}

void
evloop_stop(struct evloop *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->closing = 1;
	pthread_mutex_unlock(&l->lock);
	l->stop = 1;
	if (l->started) {
		uint64_t one = 1;
		ssize_t w = write(l->wake.fd, &one, sizeof one);
		(void)w;
		pthread_join(l->thread, NULL);
		l->started = 0;
	}
	for (struct posted *p = l->head, *next; p; p = next) {
		next = p->next;
		if (p->free_fn)
			p->free_fn(p->arg);
		free(p);
	}
	l->head = l->tail = NULL;
}

void
evloop_destroy(struct evloop *l)
{
	if (l == NULL)
		return;
	evloop_stop(l);
	for (int i = 0; i < l->ndeferred; i++)
		free(l->deferred[i]);
	free(l->deferred);
	free(l->heap);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wake.fd >= 0)
		close(l->wake.fd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
