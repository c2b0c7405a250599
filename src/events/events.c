/* events: a bounded queue for the writer and a ring of the newest for the
   live feed, behind one mutex that nothing else is held under while it is
   taken except the emitting module's own lock (emitters call in with
   theirs held; events never calls out). */
#include "meshwatch/events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/log.h"
#include "meshwatch/util.h"

#define EVENTS_RING 64

struct events {
	pthread_mutex_t lock;
	struct store *st;
	int max_rows;
	struct event_row *queue;  /* waiting for the writer, oldest first */
	int nq, queue_max;
	struct event_row ring[EVENTS_RING];
	int ring_n, ring_head;    /* ring_head: the next slot to write */
	int64_t next_id;
	uint64_t emitted, stored, dropped;
	int64_t last_drop_log;
	void (*tap)(void *arg, const struct event_row *e);
	void *tap_arg;
};

struct events *
events_create(struct store *st, int queue_max, int max_rows)
{
	struct events *ev = calloc(1, sizeof *ev);
	if (ev == NULL)
		return NULL;
	ev->queue_max = queue_max > 0 ? queue_max : 256;
	ev->queue = calloc((size_t)ev->queue_max, sizeof *ev->queue);
	if (ev->queue == NULL) {
		free(ev);
		return NULL;
	}
	pthread_mutex_init(&ev->lock, NULL);
	ev->st = st;
	ev->max_rows = max_rows;
	/* ids go on from the newest stored */
	ev->next_id = (st ? store_events_last_id(st) : 0) + 1;
	return ev;
}

void
events_destroy(struct events *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_destroy(&ev->lock);
	free(ev->queue);
	free(ev);
}

void
event_init(struct event_row *e, const char *kind, int severity, const char *subject_type, const char *subject,
    const char *subject_name, const char *old_value, const char *new_value)
{
	memset(e, 0, sizeof *e);
	e->ts_ms = mw_wall_ms();
	e->severity = severity;
	snprintf(e->kind, sizeof e->kind, "%s", kind ? kind : "");
	snprintf(e->subject_type, sizeof e->subject_type, "%s", subject_type ? subject_type : "");
	snprintf(e->subject, sizeof e->subject, "%s", subject ? subject : "");
	snprintf(e->subject_name, sizeof e->subject_name, "%s", subject_name ? subject_name : "");
	snprintf(e->old_value, sizeof e->old_value, "%s", old_value ? old_value : "");
	snprintf(e->new_value, sizeof e->new_value, "%s", new_value ? new_value : "");
	snprintf(e->evidence, sizeof e->evidence, "{}");
}

void
event_set_evidence(struct event_row *e, cJSON *obj)
{
	snprintf(e->evidence, sizeof e->evidence, "{}");
	if (obj == NULL)
		return;
	if (!cJSON_PrintPreallocated(obj, e->evidence, (int)sizeof e->evidence, 0))
		snprintf(e->evidence, sizeof e->evidence, "{\"truncated\":true}");
	cJSON_Delete(obj);
}

void
events_emit(struct events *ev, const struct event_row *e)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	struct event_row *r = &ev->ring[ev->ring_head];
	*r = *e;
	r->id = ev->next_id++;
	ev->ring_head = (ev->ring_head + 1) % EVENTS_RING;
	if (ev->ring_n < EVENTS_RING)
		ev->ring_n++;
	ev->emitted++;
	if (ev->st && ev->nq < ev->queue_max)
		ev->queue[ev->nq++] = *r;
	else if (ev->st) {
		ev->dropped++;
		int64_t now = mw_now_ms();
		if (ev->last_drop_log == 0 || now - ev->last_drop_log >= 60000) {
			ev->last_drop_log = now;
			log_warn("events", "event queue full (%d waiting for the database): %llu events not stored so far",
			    ev->queue_max, (unsigned long long)ev->dropped);
		}
	}
	void (*tap)(void *, const struct event_row *) = ev->tap;
	void *tap_arg = ev->tap_arg;
	struct event_row copy;
	if (tap)
		copy = *r;
	pthread_mutex_unlock(&ev->lock);
	if (tap)
		tap(tap_arg, &copy);
}

void
events_set_tap(struct events *ev, void (*fn)(void *arg, const struct event_row *e), void *arg)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->tap = fn;
	ev->tap_arg = arg;
	pthread_mutex_unlock(&ev->lock);
}

int
events_flush(struct events *ev)
{
	if (ev == NULL || ev->st == NULL)
		return 0;
	pthread_mutex_lock(&ev->lock);
	int n = ev->nq;
	struct event_row *batch = n ? malloc((size_t)n * sizeof *batch) : NULL;
	if (batch)
		memcpy(batch, ev->queue, (size_t)n * sizeof *batch);
	pthread_mutex_unlock(&ev->lock);
	if (n == 0)
		return 0;
	if (batch == NULL)
		return MW_ENOMEM;
	/* outside the lock: emitters never wait for the disk */
	int rc = store_events_add(ev->st, batch, n, ev->max_rows);
	free(batch);
	if (rc)
		return rc;
	pthread_mutex_lock(&ev->lock);
	memmove(ev->queue, ev->queue + n, (size_t)(ev->nq - n) * sizeof *ev->queue);
	ev->nq -= n;
	ev->stored += (uint64_t)n;
	pthread_mutex_unlock(&ev->lock);
	return 0;
}

int
events_recent(struct events *ev, int64_t after_id, struct event_row *out, int max)
{
	if (ev == NULL)
		return 0;
	pthread_mutex_lock(&ev->lock);
	int k = 0;
	for (int i = 0; i < ev->ring_n && k < max; i++) {
		const struct event_row *r = &ev->ring[(ev->ring_head - ev->ring_n + i + EVENTS_RING) % EVENTS_RING];
		if (r->id > after_id)
			out[k++] = *r;
	}
	pthread_mutex_unlock(&ev->lock);
	return k;
}

void
events_get_stats(struct events *ev, struct events_stats *out)
{
	memset(out, 0, sizeof *out);
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	out->emitted = ev->emitted;
	out->stored = ev->stored;
	out->dropped = ev->dropped;
	out->queued = ev->nq;
	out->last_id = ev->next_id - 1;
	pthread_mutex_unlock(&ev->lock);
}
