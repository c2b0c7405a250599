/* targets: the table of targets (id -> struct tgt) belongs to the prober's
   loop thread; other threads reach it only by posting, except for reads of
   the recent results and the counters, which take t->lock. Results wait in
   t->results (under t->lock) until the main thread stores them. */
#include "meshwatch/targets.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "meshwatch/config.h"
#include "meshwatch/events.h"
#include "meshwatch/evloop.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/hist.h"
#include "meshwatch/node.h"
#include "meshwatch/resolver.h"
#include "meshwatch/util.h"

#define LATE_BUCKETS 2001    /* 0..1999 ms by the millisecond, then "2 s or more" */

struct check;

struct tgt {
	struct targets *ts;
	struct target_row cfg;
	struct ev_timer timer;
	int64_t due_ms;             /* monotonic time the current round was due */
	struct check *check;        /* in flight, or NULL */
	int queued;                 /* waiting for a free slot */
	int resolving;
	int spread;                 /* loaded at start: first round spread over the interval */
	/* last results, bit i = 1 for up; under t->lock */
	uint32_t recent_bits;
	int recent_n;
	int state;
	/* since start, under ts->lock: checks by result, connect times of
	   those that connected (the metrics' per-target series) */
	uint64_t by_state[TS_COUNT];
	struct hist connect_s;
};

struct check {
	struct ev_io io;
	struct ev_timer deadline;
	struct targets *ts;
	struct tgt *t;
	struct resolved addrs;
	int addr_i;
	double start_s;             /* of this address's connect (mw_now_s) */
	int64_t started_ms;         /* wall clock of the check */
	int64_t deadline_ms;        /* monotonic */
};

struct targets {
	struct node *node;
	struct evloop *loop;
	struct resolver *resolver;
	int max_in_flight;

	/* loop thread */
	struct tgt **slots;         /* open addressing by id; NULL empty, TOMB deleted */
	int cap, count, used;
	int64_t *queue;             /* ids waiting for a slot, a ring */
	int qhead, qlen, qcap;
	int in_flight;

	pthread_mutex_t lock;       /* results, recent bits, counters below */
	struct check_row *results;
	int nresults, capresults;
	uint64_t checks, skipped, dropped;
	uint32_t late_all[LATE_BUCKETS], late_cur[LATE_BUCKETS], late_prev[LATE_BUCKETS];
	double late_max;
	int64_t late_minute;
	struct targets_stats shown;  /* counts the loop publishes each second */
	struct ev_timer tick;        /* loop thread */

	/* shutdown handshake */
	int started;                 /* main thread: do_init is posted, stop must post do_shutdown */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	int stopped;
};

static struct tgt TOMB_;
#define TOMB (&TOMB_)

/* ---------- the table (loop thread) ---------- */

static unsigned
slot_of(int64_t id, int cap)
{
	return (unsigned)(XXH3_64bits(&id, sizeof id) & (uint64_t)(cap - 1));
}

static struct tgt *
find(struct targets *ts, int64_t id)
{
	if (ts->cap == 0)
		return NULL;
	for (unsigned i = slot_of(id, ts->cap), k = 0; k < (unsigned)ts->cap; i = (i + 1) & (unsigned)(ts->cap - 1), k++) {
		struct tgt *t = ts->slots[i];
		if (t == NULL)
			return NULL;
		if (t != TOMB && t->cfg.id == id)
			return t;
	}
	return NULL;
}

static int
put(struct targets *ts, struct tgt *t);

static int
grow(struct targets *ts)
{
	int cap = ts->cap ? ts->cap * 2 : 1024;
	struct tgt **old = ts->slots;
	int oldcap = ts->cap;
	ts->slots = calloc((size_t)cap, sizeof *ts->slots);
	if (ts->slots == NULL) {
		ts->slots = old;
		return MW_ENOMEM;
	}
	ts->cap = cap;
	ts->count = ts->used = 0;
	for (int i = 0; i < oldcap; i++)
		if (old[i] && old[i] != TOMB)
			put(ts, old[i]);
	free(old);
	return 0;
}

static int
put(struct targets *ts, struct tgt *t)
{
	if ((ts->used + 1) * 4 > ts->cap * 3 && grow(ts) != 0)
		return MW_ENOMEM;
	unsigned i = slot_of(t->cfg.id, ts->cap);
	while (ts->slots[i] && ts->slots[i] != TOMB)
		i = (i + 1) & (unsigned)(ts->cap - 1);
	if (ts->slots[i] == NULL)
		ts->used++;
	ts->slots[i] = t;
	ts->count++;
	return 0;
}

static void
unput(struct targets *ts, struct tgt *t)
{
	for (unsigned i = slot_of(t->cfg.id, ts->cap);; i = (i + 1) & (unsigned)(ts->cap - 1))
		if (ts->slots[i] == t) {
			ts->slots[i] = TOMB;
			ts->count--;
			return;
		}
}

/* ---------- results ---------- */

static void
note_lateness_locked(struct targets *ts, double late_ms)
{
	int64_t minute = mw_now_ms() / 60000;
	if (minute != ts->late_minute) {
		if (minute == ts->late_minute + 1)
			memcpy(ts->late_prev, ts->late_cur, sizeof ts->late_prev);
		else
			memset(ts->late_prev, 0, sizeof ts->late_prev);
		memset(ts->late_cur, 0, sizeof ts->late_cur);
		ts->late_minute = minute;
	}
	int b = late_ms < 0 ? 0 : late_ms >= LATE_BUCKETS - 1 ? LATE_BUCKETS - 1 : (int)late_ms;
	ts->late_all[b]++;
	ts->late_cur[b]++;
	if (late_ms > ts->late_max)
		ts->late_max = late_ms;
}

static double
percentile(const uint32_t *h, double p)
{
	uint64_t total = 0, seen = 0;
	for (int i = 0; i < LATE_BUCKETS; i++)
		total += h[i];
	if (total == 0)
		return -1;
	uint64_t want = (uint64_t)ceil(p * (double)total);
	if (want == 0)
		want = 1;
	for (int i = 0; i < LATE_BUCKETS; i++) {
		seen += h[i];
		if (seen >= want)
			return i; /* the bucket's lower edge: lateness in [i, i+1) ms */
	}
	return LATE_BUCKETS - 1;
}

/* A target that changed state: an event and a log line (a failure is
   critical from up, a warning between two failures; back up is info). */
static void
state_changed(struct targets *ts, const struct tgt *t, int from, int to, double connect_ms, const char *error)
{
	int sev = to == TS_UP ? EVENT_INFO : from == TS_UP || from == TS_UNKNOWN ? EVENT_CRITICAL : EVENT_WARNING;
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)t->cfg.id);
	struct event_row e;
	event_init(&e, "target_state", sev, "target", id, t->cfg.name, target_state_name(from), target_state_name(to));
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "host", t->cfg.host);
	cJSON_AddNumberToObject(evd, "port", t->cfg.port);
	if (error && error[0])
		cJSON_AddStringToObject(evd, "error", error);
	if (connect_ms >= 0)
		cJSON_AddNumberToObject(evd, "connect_ms", connect_ms);
	event_set_evidence(&e, evd);
	events_emit(ts->node->events, &e);
	MW_LOG_AT(to == TS_UP ? LOG_INFO : LOG_WARN, "targets", 0, "target %lld \"%s\" (%s:%d) %s -> %s%s%s", (long long)t->cfg.id,
	    t->cfg.name, t->cfg.host, t->cfg.port, target_state_name(from), target_state_name(to),
	    error && error[0] ? ": " : "", error ? error : "");
}

static void
record(struct targets *ts, struct tgt *t, int64_t started_ms, int state, double connect_ms, const char *error)
{
	pthread_mutex_lock(&ts->lock);
	ts->checks++;
	if (state >= 0 && state < TS_COUNT)
		t->by_state[state]++;
	if (state == TS_UP)
		hist_observe(&t->connect_s, connect_ms / 1000.0);
	t->recent_bits = (t->recent_bits << 1) | (state == TS_UP ? 1u : 0u);
	if (t->recent_n < 32)
		t->recent_n++;
	if (t->state != state)
		state_changed(ts, t, t->state, state, connect_ms, error);
	t->state = state;
	if (ts->nresults == ts->capresults) {
		int cap = ts->capresults ? ts->capresults * 2 : 1024;
		struct check_row *r = cap <= TARGETS_MAX_RESULTS ? realloc(ts->results, (size_t)cap * sizeof *r) : NULL;
		if (r) {
			ts->results = r;
			ts->capresults = cap;
		}
	}
	if (ts->nresults < ts->capresults) {
		struct check_row *r = &ts->results[ts->nresults++];
		r->target_id = t->cfg.id;
		r->ts_ms = started_ms;
		r->state = state;
		r->connect_ms = connect_ms;
		snprintf(r->error, sizeof r->error, "%s", error ? error : "");
	} else {
		ts->dropped++;
	}
	pthread_mutex_unlock(&ts->lock);
}

/* ---------- checks (loop thread) ---------- */

static void start_check(struct targets *ts, struct tgt *t);

static void
close_check(struct check *c)
{
	struct targets *ts = c->ts;
	if (c->io.fd >= 0) {
		evloop_del(ts->loop, &c->io);
		/* an RST instead of a FIN: no TIME_WAIT piles up at 1000 checks/s */
		struct linger lg = {1, 0};
		setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(c->io.fd);
		c->io.fd = -1;
	}
	evloop_timer_cancel(ts->loop, &c->deadline);
}

/* Starts queued checks while there is room. */
static void
drain_queue(struct targets *ts)
{
	while (ts->qlen > 0 && ts->in_flight < ts->max_in_flight) {
		int64_t id = ts->queue[ts->qhead];
		ts->qhead = (ts->qhead + 1) % ts->qcap;
		ts->qlen--;
		struct tgt *t = find(ts, id);
		if (t && t->queued) {
			t->queued = 0;
			start_check(ts, t);
		}
	}
}

static void
finish(struct check *c, int state, double connect_ms, const char *error)
{
	struct targets *ts = c->ts;
	struct tgt *t = c->t;
	close_check(c);
	record(ts, t, c->started_ms, state, connect_ms, error);
	t->check = NULL;
	ts->in_flight--;
	evloop_defer_free(ts->loop, c);
	drain_queue(ts);
}

static int
state_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return TS_REFUSED;
	case ETIMEDOUT:
		return TS_TIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EACCES:
	case EPERM:
		return TS_UNREACHABLE;
	default:
		return TS_UNKNOWN;
	}
}

static void connect_next(struct check *c);

/* A failed address: the next one if time is left, else the verdict. */
static void
failed(struct check *c, int e)
{
	int state = state_of_errno(e);
	char why[96];
	if (state == TS_UNKNOWN)
		snprintf(why, sizeof why, "could not check: %s", strerror(e));
	else
		snprintf(why, sizeof why, "%s", strerror(e));
	if (c->addr_i + 1 < c->addrs.n && mw_now_ms() < c->deadline_ms && state != TS_UNKNOWN) {
		close_check(c);
		c->addr_i++;
		connect_next(c);
		return;
	}
	finish(c, state, -1, why);
}

static void
on_writable(struct ev_io *io, uint32_t events)
{
	struct check *c = io->arg;
	int e = 0;
	socklen_t len = sizeof e;
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		e = errno;
	if (e == 0 && !(events & (EPOLLERR | EPOLLHUP))) {
		finish(c, TS_UP, (mw_now_s() - c->start_s) * 1000.0, NULL);
		return;
	}
	failed(c, e ? e : ECONNRESET);
}

static void
on_deadline(struct ev_timer *tm)
{
	struct check *c = tm->arg;
	char why[64];
	snprintf(why, sizeof why, "no answer within %d ms", c->t->cfg.timeout_ms);
	finish(c, TS_TIMEOUT, -1, why);
}

static void
connect_next(struct check *c)
{
	struct sockaddr_storage sa = c->addrs.addrs[c->addr_i];
	socklen_t sl = c->addrs.lens[c->addr_i];
	uint16_t port = htons((uint16_t)c->t->cfg.port);
	if (sa.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&sa)->sin_port = port;
	else
		((struct sockaddr_in6 *)(void *)&sa)->sin6_port = port;
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		failed(c, errno);
		return;
	}
	c->io = (struct ev_io){.fd = fd, .fn = on_writable, .arg = c};
	c->start_s = mw_now_s();
	if (connect(fd, (struct sockaddr *)&sa, sl) == 0) {
		evloop_add(c->ts->loop, &c->io, EPOLLOUT); /* reported at once */
	} else if (errno == EINPROGRESS) {
		if (evloop_add(c->ts->loop, &c->io, EPOLLOUT) != 0) {
			failed(c, errno);
			return;
		}
	} else {
		failed(c, errno);
		return;
	}
	if (!evloop_timer_armed(&c->deadline))
		evloop_timer_at(c->ts->loop, &c->deadline, c->deadline_ms);
}

static void
begin_connect(struct targets *ts, struct tgt *t, const struct resolved *r)
{
	struct check *c = calloc(1, sizeof *c);
	if (c == NULL) {
		record(ts, t, mw_wall_ms(), TS_UNKNOWN, -1, "could not check: out of memory");
		return;
	}
	c->ts = ts;
	c->t = t;
	c->addrs = *r;
	c->io.fd = -1;
	c->started_ms = mw_wall_ms();
	c->deadline_ms = mw_now_ms() + t->cfg.timeout_ms;
	evloop_timer_init(&c->deadline, on_deadline, c);
	t->check = c;
	ts->in_flight++;
	connect_next(c);
}

static void
on_resolved(void *ctx, uint64_t key, const struct resolved *r)
{
	struct targets *ts = ctx;
	struct tgt *t = find(ts, (int64_t)key);
	if (t == NULL || !t->resolving)
		return;
	t->resolving = 0;
	if (r->status != 0) {
		record(ts, t, mw_wall_ms(), TS_DNS_ERROR, -1, r->error);
		return;
	}
	if (t->check == NULL)
		begin_connect(ts, t, r);
}

static void
start_check(struct targets *ts, struct tgt *t)
{
	if (t->check || t->resolving)
		return; /* the last round is still running */
	if (ts->in_flight >= ts->max_in_flight) {
		if (!t->queued && ts->qlen < ts->qcap) {
			ts->queue[(ts->qhead + ts->qlen) % ts->qcap] = t->cfg.id;
			ts->qlen++;
			t->queued = 1;
		}
		return;
	}
	pthread_mutex_lock(&ts->lock);
	note_lateness_locked(ts, (double)(evloop_now(ts->loop) - t->due_ms));
	pthread_mutex_unlock(&ts->lock);
	struct resolved r;
	int rc = resolver_lookup(ts->resolver, t->cfg.host, &r, on_resolved, ts, (uint64_t)t->cfg.id);
	if (rc == 1)
		begin_connect(ts, t, &r);
	else if (rc == 0)
		t->resolving = 1;
	else
		record(ts, t, mw_wall_ms(), TS_DNS_ERROR, -1, r.error);
}

/* ---------- scheduling (loop thread) ---------- */

static void
schedule(struct targets *ts, struct tgt *t, int64_t due_ms)
{
	t->due_ms = due_ms;
	evloop_timer_at(ts->loop, &t->timer, due_ms);
}

/* A round is due: the next one is one interval after this one's due time
   (no drift); a round late by a whole interval is skipped, not bunched. */
static void
on_due(struct ev_timer *tm)
{
	struct tgt *t = tm->arg;
	struct targets *ts = t->ts;
	int64_t due = t->due_ms, now = evloop_now(ts->loop);
	int64_t next = due + (int64_t)t->cfg.interval_s * 1000;
	if (next <= now) {
		pthread_mutex_lock(&ts->lock);
		ts->skipped++;
		pthread_mutex_unlock(&ts->lock);
		next = now + (int64_t)t->cfg.interval_s * 1000;
	}
	start_check(ts, t);
	t->due_ms = due; /* start_check measured lateness against it */
	schedule(ts, t, next);
}

/* Where in its interval a target's rounds fall: spread by its id, so
   targets added together do not connect together. */
static int64_t
first_due(const struct tgt *t, int64_t now)
{
	int64_t iv = (int64_t)t->cfg.interval_s * 1000;
	return now + (int64_t)(XXH3_64bits(&t->cfg.id, sizeof t->cfg.id) % (uint64_t)iv);
}

static void
abort_check(struct targets *ts, struct tgt *t)
{
	if (t->check) {
		struct check *c = t->check;
		close_check(c);
		t->check = NULL;
		ts->in_flight--;
		evloop_defer_free(ts->loop, c);
	}
	t->resolving = 0;
	t->queued = 0; /* a queued id no longer found or not queued is skipped */
}

static void
do_upsert(void *arg)
{
	struct tgt *fresh = arg;
	struct targets *ts = fresh->ts;
	struct tgt *t = find(ts, fresh->cfg.id);
	int64_t now = evloop_now(ts->loop);
	if (t == NULL) {
		pthread_mutex_lock(&ts->lock);
		int rc = put(ts, fresh);
		pthread_mutex_unlock(&ts->lock);
		if (rc != 0) {
			log_error("targets", "out of memory adding target %lld", (long long)fresh->cfg.id);
			free(fresh);
			return;
		}
		t = fresh;
		evloop_timer_init(&t->timer, on_due, t);
		if (t->cfg.enabled)
			schedule(ts, t, t->spread ? first_due(t, now) : now);
		return;
	}
	int interval_changed = t->cfg.interval_s != fresh->cfg.interval_s;
	int was_enabled = t->cfg.enabled;
	t->cfg = fresh->cfg;
	free(fresh);
	if (!t->cfg.enabled) {
		evloop_timer_cancel(ts->loop, &t->timer);
		abort_check(ts, t);
	} else if (!was_enabled || interval_changed) {
		schedule(ts, t, now); /* at once, then every new interval */
	}
}

struct removal {
	struct targets *ts;
	int64_t id;
};

static void
do_remove(void *arg)
{
	struct removal *rm = arg;
	struct targets *ts = rm->ts;
	struct tgt *t = find(ts, rm->id);
	free(rm);
	if (t == NULL)
		return;
	evloop_timer_cancel(ts->loop, &t->timer);
	abort_check(ts, t);
	pthread_mutex_lock(&ts->lock); /* targets_recent reads the table */
	unput(ts, t);
	pthread_mutex_unlock(&ts->lock);
	evloop_defer_free(ts->loop, t);
}

static void
do_shutdown(void *arg)
{
	struct targets *ts = arg;
	evloop_timer_cancel(ts->loop, &ts->tick);
	for (int i = 0; i < ts->cap; i++) {
		struct tgt *t = ts->slots[i];
		if (t == NULL || t == TOMB)
			continue;
		evloop_timer_cancel(ts->loop, &t->timer);
		abort_check(ts, t);
		pthread_mutex_lock(&ts->lock);
		unput(ts, t);
		pthread_mutex_unlock(&ts->lock);
		evloop_defer_free(ts->loop, t);
	}
	pthread_mutex_lock(&ts->stop_lock);
	ts->stopped = 1;
	pthread_cond_signal(&ts->stop_cond);
	pthread_mutex_unlock(&ts->stop_lock);
}

static void
publish_counts(struct targets *ts)
{
	struct targets_stats c = {0};
	for (int i = 0; i < ts->cap; i++) {
		struct tgt *t = ts->slots[i];
		if (t == NULL || t == TOMB)
			continue;
		c.targets++;
		if (t->cfg.enabled) {
			c.enabled++;
			c.by_state[t->state >= 0 && t->state < TS_COUNT ? t->state : TS_UNKNOWN]++;
		}
	}
	c.in_flight = ts->in_flight;
	c.queued = ts->qlen;
	resolver_stats(ts->resolver, &c.dns_lookups, &c.dns_cache_hits, &(int){0});
	pthread_mutex_lock(&ts->lock);
	ts->shown = c;
	pthread_mutex_unlock(&ts->lock);
}

static void
on_tick(struct ev_timer *tm)
{
	struct targets *ts = tm->arg;
	publish_counts(ts);
	evloop_timer_at(ts->loop, &ts->tick, evloop_now(ts->loop) + 1000);
}

static void
do_init(void *arg)
{
	struct targets *ts = arg;
	evloop_timer_init(&ts->tick, on_tick, ts);
	evloop_timer_at(ts->loop, &ts->tick, evloop_now(ts->loop));
}

/* ---------- the other threads ---------- */

static struct tgt *
new_tgt(struct targets *ts, const struct target_row *row)
{
	struct tgt *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->ts = ts;
	t->cfg = *row;
	t->state = row->state;
	t->timer.heap_index = -1;
	return t;
}

static void
hand_over(struct targets *ts, const struct target_row *row, int spread)
{
	struct tgt *t = new_tgt(ts, row);
	if (t)
		t->spread = spread;
	if (t == NULL || evloop_post(ts->loop, do_upsert, t, free) != 0)
		log_error("targets", "cannot hand target %lld to the checker", (long long)row->id);
}

void
targets_changed(struct targets *ts, const struct target_row *row)
{
	hand_over(ts, row, 0);
}

void
targets_removed(struct targets *ts, int64_t id)
{
	struct removal *rm = malloc(sizeof *rm);
	if (rm == NULL)
		return;
	*rm = (struct removal){.ts = ts, .id = id};
	evloop_post(ts->loop, do_remove, rm, free);
}

int
targets_recent(struct targets *ts, int64_t id, double *ratio)
{
	pthread_mutex_lock(&ts->lock);
	struct tgt *t = find(ts, id);
	int n = t ? t->recent_n : 0;
	*ratio = n > 0 ? (double)__builtin_popcount(t->recent_bits & (n == 32 ? ~0u : (1u << n) - 1)) / n : 0;
	pthread_mutex_unlock(&ts->lock);
	return n;
}

int
targets_series(struct targets *ts, int64_t id, struct target_series *out)
{
	pthread_mutex_lock(&ts->lock);
	struct tgt *t = find(ts, id);
	if (t) {
		memcpy(out->by_state, t->by_state, sizeof out->by_state);
		out->connect_s = t->connect_s;
	}
	pthread_mutex_unlock(&ts->lock);
	return t ? 0 : MW_ENOTFOUND;
}

void
targets_stats(struct targets *ts, struct targets_stats *out)
{
	pthread_mutex_lock(&ts->lock);
	*out = ts->shown;
	out->checks = ts->checks;
	out->skipped = ts->skipped;
	out->results_dropped = ts->dropped;
	out->lateness_p50_ms = percentile(ts->late_all, 0.50);
	out->lateness_p99_ms = percentile(ts->late_all, 0.99);
	out->lateness_max_ms = ts->late_max;
	out->lateness_p50_ms_1m = percentile(ts->late_prev, 0.50);
	out->lateness_p99_ms_1m = percentile(ts->late_prev, 0.99);
	pthread_mutex_unlock(&ts->lock);
}

void
targets_flush(struct targets *ts)
{
	if (ts == NULL)
		return;
	pthread_mutex_lock(&ts->lock);
	struct check_row *rows = ts->results;
	int n = ts->nresults;
	ts->results = NULL;
	ts->nresults = ts->capresults = 0;
	pthread_mutex_unlock(&ts->lock);
	if (n > 0 && store_checks_insert(ts->node->store, rows, n) != 0)
		log_error("targets", "could not store %d check results", n);
	free(rows);
}

void
targets_maintain(struct targets *ts)
{
	if (ts == NULL)
		return;
	int d = store_targets_purge(ts->node->store, mw_wall_ms());
	if (d > 0)
		log_debug("targets", "%d checks older than their target's retention deleted", d);
}

struct targets *
targets_create(struct node *n, char *err, size_t errlen)
{
	struct targets *ts = calloc(1, sizeof *ts);
	if (ts == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ts->node = n;
	ts->loop = n->prober;
	ts->resolver = n->resolver;
	ts->max_in_flight = n->cfg.max_checks_in_flight;
	ts->qcap = n->cfg.max_targets + 1;
	pthread_mutex_init(&ts->lock, NULL);
	pthread_mutex_init(&ts->stop_lock, NULL);
	pthread_cond_init(&ts->stop_cond, NULL);
	ts->queue = calloc((size_t)ts->qcap, sizeof *ts->queue);
	if (ts->queue == NULL) {
		snprintf(err, errlen, "out of memory");
		targets_destroy(ts);
		return NULL;
	}
	return ts;
}

int
targets_start(struct targets *ts, char *err, size_t errlen)
{
	struct node *n = ts->node;
	struct target_row *rows = NULL;
	int nrows = 0, total = 0;
	if (evloop_post(ts->loop, do_init, ts, NULL) != 0) {
		snprintf(err, errlen, "cannot load the TCP targets from the database");
		return MW_EIO;
	}
	ts->started = 1;
	if (store_target_list(n->store, NULL, -1, -1, n->cfg.max_targets, 0, &rows, &nrows, &total) != 0) {
		snprintf(err, errlen, "cannot load the TCP targets from the database");
		return MW_EDB;
	}
	for (int i = 0; i < nrows; i++)
		hand_over(ts, &rows[i], 1);
	free(rows);
	if (nrows > 0)
		log_info("targets", "%d TCP targets loaded", nrows);
	return MW_OK;
}

void
targets_stop(struct targets *ts)
{
	if (ts == NULL)
		return;
	if (ts->started && evloop_post(ts->loop, do_shutdown, ts, NULL) == 0) {
		pthread_mutex_lock(&ts->stop_lock);
		while (!ts->stopped)
			pthread_cond_wait(&ts->stop_cond, &ts->stop_lock);
		pthread_mutex_unlock(&ts->stop_lock);
	}
	ts->started = 0;
	targets_flush(ts);
}

void
targets_destroy(struct targets *ts)
{
	if (ts == NULL)
		return;
	targets_stop(ts);
	free(ts->slots);
	free(ts->queue);
	free(ts->results);
	pthread_mutex_destroy(&ts->lock);
	pthread_mutex_destroy(&ts->stop_lock);
	pthread_cond_destroy(&ts->stop_cond);
	free(ts);
}

/* ---------- history ---------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
targets_group(const struct check_row *rows, int n, int64_t step_ms, struct target_bucket *out, int max)
{
	double *lat = n > 0 ? malloc((size_t)n * sizeof *lat) : NULL;
	int k = 0;
	for (int i = 0; i < n && k < max;) {
		int64_t b = rows[i].ts_ms - ((rows[i].ts_ms % step_ms) + step_ms) % step_ms;
		struct target_bucket *o = &out[k++];
		memset(o, 0, sizeof *o);
		o->t_ms = b;
		int nl = 0;
		double sum = 0;
		for (; i < n && rows[i].ts_ms < b + step_ms; i++) {
			o->checks++;
			if (rows[i].state == TS_UP) {
				o->up++;
				if (rows[i].connect_ms >= 0 && lat) {
					lat[nl++] = rows[i].connect_ms;
					sum += rows[i].connect_ms;
				}
			}
		}
		o->avg_ms = o->p95_ms = -1;
		if (nl > 0) {
			qsort(lat, (size_t)nl, sizeof *lat, cmp_double);
			o->avg_ms = sum / nl;
			int rank = (int)ceil(0.95 * nl); /* nearest rank, 1-based */
			o->p95_ms = lat[(rank < 1 ? 1 : rank) - 1];
		}
	}
	free(lat);
	return k;
}

const char *
targets_host_problem(const char *h)
{
	unsigned char buf[16];
	size_t n = strlen(h);
	if (n == 0)
		return "must not be empty";
	if (n > TARGET_HOST_MAX)
		return "must be at most 253 characters";
	if (inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1)
		return NULL;
	size_t label = 0;
	for (const char *c = h; *c; c++) {
		if (*c == '.') {
			if (label == 0)
				return "must be an IPv4 or IPv6 address or a DNS name (empty label)";
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return "must be an IPv4 or IPv6 address or a DNS name (letters, digits, '-', '.')";
		if (++label > 63)
			return "must be a DNS name whose labels are at most 63 characters";
	}
	return NULL;
}
