/* Unit tests for evloop.c and resolver.c: timer order, re-arm and cancel
   (also of other timers from a callback), posted calls from other threads
   in order, I/O readiness on a socket pair with deferred free, and the
   resolver's numeric, cached and pool answers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meshwatch/evloop.h"
#include "meshwatch/resolver.h"
#include "meshwatch/util.h"

static struct evloop *
start_loop(void)
{
	char err[128] = "";
	struct evloop *l = evloop_create("mw-test", err, sizeof err);
	if (l == NULL)
		fail_msg("evloop_create: %s", err);
	if (evloop_start(l, err, sizeof err) != MW_OK)
		fail_msg("evloop_start: %s", err);
	return l;
}

/* Runs fn(arg) on the loop and waits for it. */
struct sync_call {
	void (*fn)(void *);
	void *arg;
	atomic_int done;
};

static void
run_sync(void *p)
{
	struct sync_call *c = p;
	c->fn(c->arg);
	atomic_store(&c->done, 1);
}

static void
on_loop(struct evloop *l, void (*fn)(void *), void *arg)
{
	struct sync_call c = {.fn = fn, .arg = arg};
	assert_int_equal(evloop_post(l, run_sync, &c, NULL), 0);
	for (int i = 0; i < 2000 && !atomic_load(&c.done); i++)
		usleep(1000);
	assert_true(atomic_load(&c.done));
}

static void
wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 3000 && atomic_load(v) < want; i++)
		usleep(1000);
	assert_int_equal(atomic_load(v), want);
}

/* ---------- timers ---------- */

struct tctx {
	struct evloop *l;
	struct ev_timer t[8];
	int order[8];
	atomic_int fired;
	int cancel_victim;
};

static void
on_timer(struct ev_timer *t)
{
	struct tctx *c = t->arg;
	int idx = (int)(t - c->t);
	c->order[atomic_load(&c->fired)] = idx;
	if (idx == 0 && c->cancel_victim >= 0)
		evloop_timer_cancel(c->l, &c->t[c->cancel_victim]);
	atomic_fetch_add(&c->fired, 1);
}

static void
arm_timers(void *p)
{
	struct tctx *c = p;
	int64_t now = mw_now_ms();
	/* deadlines out of order; 5 is armed then moved earliest; 6 cancelled */
	static const int delay[8] = {30, 90, 60, 120, 150, 400, 10, 20};
	for (int i = 0; i < 8; i++) {
		evloop_timer_init(&c->t[i], on_timer, c);
		evloop_timer_at(c->l, &c->t[i], now + delay[i]);
	}
	evloop_timer_at(c->l, &c->t[5], now + 5);
	evloop_timer_cancel(c->l, &c->t[6]);
	assert_false(evloop_timer_armed(&c->t[6]));
	assert_int_equal(evloop_timer_count(c->l), 7);
}

static void
test_timers(void **state)
{
	(void)state;
	struct tctx c = {.cancel_victim = 3};
	c.l = start_loop();
	on_loop(c.l, arm_timers, &c);
	/* 5 (5 ms), 7 (20), 0 (30, cancels 3), 2 (60), 1 (90), 4 (150) */
	wait_for(&c.fired, 6);
	usleep(200 * 1000);
	assert_int_equal(atomic_load(&c.fired), 6);
	static const int want[6] = {5, 7, 0, 2, 1, 4};
	for (int i = 0; i < 6; i++)
		assert_int_equal(c.order[i], want[i]);
	evloop_destroy(c.l);
}

/* ---------- posted calls ---------- */

struct pctx {
	atomic_int n;
	int seen[2][1000];
	int count[2];
	atomic_int freed;
};

struct pmsg {
	struct pctx *c;
	int thread, seq;
};

static void
on_post(void *p)
{
	struct pmsg *m = p;
	m->c->seen[m->thread][m->c->count[m->thread]++] = m->seq;
	atomic_fetch_add(&m->c->n, 1);
	free(m);
}

static void
on_post_free(void *p)
{
	struct pmsg *m = p;
	atomic_fetch_add(&m->c->freed, 1);
	free(m);
}

struct poster {
	struct evloop *l;
	struct pctx *c;
	int thread;
};

static void *
poster_main(void *p)
{
	struct poster *ps = p;
	for (int i = 0; i < 1000; i++) {
		struct pmsg *m = malloc(sizeof *m);
		*m = (struct pmsg){ps->c, ps->thread, i};
		evloop_post(ps->l, on_post, m, on_post_free);
	}
	return NULL;
}

static void
test_post_order(void **state)
{
	(void)state;
	struct pctx c = {0};
	struct evloop *l = start_loop();
	pthread_t th[2];
	struct poster ps[2] = {{l, &c, 0}, {l, &c, 1}};
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, poster_main, &ps[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	wait_for(&c.n, 2000);
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < 1000; i++)
			assert_int_equal(c.seen[t][i], i);
	evloop_destroy(l);
	assert_int_equal(atomic_load(&c.freed), 0);
}

/* ---------- I/O ---------- */

struct ioctx {
	struct evloop *l;
	struct ev_io *io;
	atomic_int reads;
	char got[16];
};

static void
on_readable(struct ev_io *io, uint32_t events)
{
	struct ioctx *c = io->arg;
	assert_true(events & EPOLLIN);
	ssize_t n = read(io->fd, c->got, sizeof c->got - 1);
	assert_true(n > 0);
	evloop_del(c->l, io);
	close(io->fd);
	evloop_defer_free(c->l, io);
	atomic_fetch_add(&c->reads, 1);
}

static void
add_io(void *p)
{
	struct ioctx *c = p;
	assert_int_equal(evloop_add(c->l, c->io, EPOLLIN), 0);
}

static void
test_io(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct ioctx c = {0};
	c.l = start_loop();
	c.io = calloc(1, sizeof *c.io);
	*c.io = (struct ev_io){.fd = sv[0], .fn = on_readable, .arg = &c};
	on_loop(c.l, add_io, &c);
	assert_int_equal(write(sv[1], "hello", 5), 5);
	wait_for(&c.reads, 1);
	assert_string_equal(c.got, "hello");
	close(sv[1]);
	evloop_destroy(c.l);
}

/* ---------- resolver ---------- */

struct rctx {
	struct evloop *l;
	struct resolver *r;
	const char *host;
	int now_rc;
	struct resolved now;
	atomic_int answers;
	struct resolved later;
	uint64_t key;
};

static void
on_resolved(void *ctx, uint64_t key, const struct resolved *res)
{
	struct rctx *c = ctx;
	c->later = *res;
	c->key = key;
	atomic_fetch_add(&c->answers, 1);
}

static void
do_lookup(void *p)
{
	struct rctx *c = p;
	c->now_rc = resolver_lookup(c->r, c->host, &c->now, on_resolved, c, 42);
}

static void
test_resolver(void **state)
{
	(void)state;
	char err[128] = "";
	struct rctx c = {0};
	c.l = start_loop();
	c.r = resolver_create(c.l, 2, 60, 5, err, sizeof err);
	assert_non_null(c.r);
	assert_int_equal(resolver_start(c.r, err, sizeof err), MW_OK);

	c.host = "127.0.0.7";
	on_loop(c.l, do_lookup, &c);
	assert_int_equal(c.now_rc, 1);
	assert_int_equal(c.now.n, 1);
	assert_int_equal(c.now.addrs[0].ss_family, AF_INET);

	c.host = "[::1]";
	on_loop(c.l, do_lookup, &c);
	assert_int_equal(c.now_rc, 1);
	assert_int_equal(c.now.addrs[0].ss_family, AF_INET6);

	/* /etc/hosts: no query leaves the machine */
	c.host = "localhost";
	on_loop(c.l, do_lookup, &c);
	assert_int_equal(c.now_rc, 0);
	wait_for(&c.answers, 1);
	assert_int_equal(c.key, 42);
	assert_int_equal(c.later.status, 0);
	assert_true(c.later.n >= 1);
	/* the second time from the cache */
	on_loop(c.l, do_lookup, &c);
	assert_int_equal(c.now_rc, 1);
	uint64_t lookups, hits;
	int cached;
	resolver_stats(c.r, &lookups, &hits, &cached);
	assert_int_equal(lookups, 2);
	assert_int_equal(hits, 1);
	assert_int_equal(cached, 1);

	char long_name[300];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	c.host = long_name;
	on_loop(c.l, do_lookup, &c);
	assert_int_equal(c.now_rc, -1);
	assert_true(strstr(c.now.error, "longer") != NULL);

	resolver_stop(c.r);
	evloop_stop(c.l);
	resolver_destroy(c.r);
	evloop_destroy(c.l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_post_order),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_resolver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
