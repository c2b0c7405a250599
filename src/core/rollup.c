/* rollup: the ring holds one slot per second of the retention window,
   slot = t mod size; `newest` is the latest second pushed. Minutes are
   summed as seconds arrive and queued when the next minute starts. Every
   function takes the one lock for a few copies at most; none allocates
   after rollup_create. */
#include "meshwatch/rollup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct rollup {
	pthread_mutex_t lock;
	int size;
	struct rollup_sec *ring;
	int64_t newest, oldest;   /* 0: empty */
	struct rollup_sec minute; /* in progress; minute.t = 0 when none */
	struct rollup_sec pending[ROLLUP_PENDING_MAX];
	int npending;
	uint64_t minutes_dropped;
	struct talker top[ROLLUP_TOP_K];
	int ntop;
	int64_t top_t;
};

void
rollup_add(struct rollup_sec *a, const struct rollup_sec *b)
{
	a->packets += b->packets;
	a->bytes += b->bytes;
	for (int i = 0; i < ROLLUP_NPROTO; i++)
		a->proto_bytes[i] += b->proto_bytes[i];
	a->drops += b->drops;
}

struct rollup *
rollup_create(int seconds)
{
	if (seconds < 60 || seconds > 86400)
		return NULL;
	struct rollup *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->ring = calloc((size_t)seconds, sizeof *r->ring);
	if (r->ring == NULL) {
		free(r);
		return NULL;
	}
	r->size = seconds;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
rollup_destroy(struct rollup *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->ring);
	free(r);
}

static void
queue_minute_locked(struct rollup *r)
{
	if (r->minute.t == 0)
		return;
	if (r->npending == ROLLUP_PENDING_MAX) {
		memmove(r->pending, r->pending + 1, sizeof r->pending[0] * (ROLLUP_PENDING_MAX - 1));
		r->npending--;
		r->minutes_dropped++;
	}
	r->pending[r->npending++] = r->minute;
	memset(&r->minute, 0, sizeof r->minute);
}

static void
minute_add_locked(struct rollup *r, const struct rollup_sec *s)
{
	int64_t m = s->t - s->t % 60;
	if (r->minute.t != m) {
		queue_minute_locked(r);
		r->minute.t = m;
	}
	rollup_add(&r->minute, s);
}

void
rollup_push(struct rollup *r, const struct rollup_sec *s)
{
	pthread_mutex_lock(&r->lock);
	if (r->newest != 0 && s->t <= r->newest) {
		/* late: count it in the newest second */
		rollup_add(&r->ring[r->newest % r->size], s);
		struct rollup_sec late = *s;
		late.t = r->newest;
		minute_add_locked(r, &late);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	int64_t t = s->t;
	if (r->newest != 0) {
		t = r->newest + 1;
		if (s->t - t >= r->size)
			t = s->t - r->size + 1;
	}
	for (; t < s->t; t++)
		r->ring[t % r->size] = (struct rollup_sec){.t = t};
	r->ring[s->t % r->size] = *s;
	r->newest = s->t;
	if (r->oldest == 0)
		r->oldest = s->t;
	else if (r->oldest < s->t - r->size + 1)
		r->oldest = s->t - r->size + 1;
	minute_add_locked(r, s);
	pthread_mutex_unlock(&r->lock);
}

void
rollup_finish_minute(struct rollup *r)
{
	pthread_mutex_lock(&r->lock);
	queue_minute_locked(r);
	pthread_mutex_unlock(&r->lock);
}

int
rollup_take_minutes(struct rollup *r, struct rollup_sec *out, int max)
{
	pthread_mutex_lock(&r->lock);
	int n = r->npending < max ? r->npending : max;
	memcpy(out, r->pending, sizeof *out * (size_t)n);
	memmove(r->pending, r->pending + n, sizeof *out * (size_t)(r->npending - n));
	r->npending -= n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void
rollup_return_minutes(struct rollup *r, const struct rollup_sec *in, int n)
{
	pthread_mutex_lock(&r->lock);
	int room = ROLLUP_PENDING_MAX - r->npending;
	if (n > room) {
		r->minutes_dropped += (uint64_t)(n - room);
		in += n - room;
		n = room;
	}
	memmove(r->pending + n, r->pending, sizeof *in * (size_t)r->npending);
	memcpy(r->pending, in, sizeof *in * (size_t)n);
	r->npending += n;
	pthread_mutex_unlock(&r->lock);
}

void
rollup_set_top(struct rollup *r, const struct talker *top, int n, int64_t t)
{
	if (n > ROLLUP_TOP_K)
		n = ROLLUP_TOP_K;
	pthread_mutex_lock(&r->lock);
	memcpy(r->top, top, sizeof *top * (size_t)n);
	r->ntop = n;
	r->top_t = t;
	pthread_mutex_unlock(&r->lock);
}

int
rollup_latest(struct rollup *r, struct rollup_sec *last, struct talker top[ROLLUP_TOP_K], int *ntop, int64_t *top_t)
{
	pthread_mutex_lock(&r->lock);
	int rc = r->newest == 0 ? -1 : 0;
	if (rc == 0 && last)
		*last = r->ring[r->newest % r->size];
	if (top) {
		memcpy(top, r->top, sizeof *top * (size_t)r->ntop);
		*ntop = r->ntop;
		*top_t = r->top_t;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
rollup_range(struct rollup *r, int64_t from, int64_t to, struct rollup_sec *out, int max, int64_t *oldest,
    int64_t *newest)
{
	pthread_mutex_lock(&r->lock);
	*oldest = r->oldest;
	*newest = r->newest;
	int n = 0;
	if (r->newest != 0) {
		int64_t a = from > r->oldest ? from : r->oldest;
		int64_t b = to < r->newest + 1 ? to : r->newest + 1;
		for (int64_t t = a; t < b && n < max; t++)
			out[n++] = r->ring[t % r->size];
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

int
rollup_seconds(const struct rollup *r)
{
	return r->size;
}

uint64_t
rollup_minutes_dropped(struct rollup *r)
{
	pthread_mutex_lock(&r->lock);
	uint64_t v = r->minutes_dropped;
	pthread_mutex_unlock(&r->lock);
	return v;
}

const char *
rollup_proto_name(int slot)
{
	static const char *const names[ROLLUP_NPROTO] = {"tcp", "udp", "icmp", "icmpv6", "other"};
	return slot >= 0 && slot < ROLLUP_NPROTO ? names[slot] : "other";
}
