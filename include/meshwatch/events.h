/* events: the story of what changed. A module that notices a change (a
   peer's state, a target's, the certificate, the database) emits an
   event; it is queued without touching the disk, kept in a short ring for
   the live WebSocket topic, and written to the store by the writer
   (events_flush, from the main loop once a second). Ids are given at
   emit, so the live feed and GET /api/events name an event alike. */
#ifndef MESHWATCH_EVENTS_H
#define MESHWATCH_EVENTS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

struct events;

/* queue_max: events waiting for the writer (past it they are dropped and
   counted); max_rows: the store's bound. st may be NULL (events kept in
   the ring only). */
struct events *events_create(struct store *st, int queue_max, int max_rows) MW_MUST_CHECK;
void events_destroy(struct events *ev);

/* Fills the identity of an event; the values may be NULL. The time is
   now; evidence starts as {}. */
void event_init(struct event_row *e, const char *kind, int severity, const char *subject_type, const char *subject,
    const char *subject_name, const char *old_value, const char *new_value);
/* Sets the evidence from a JSON object (taken and freed; NULL: {}). An
   object too long for the row is replaced by {"truncated":true}. */
void event_set_evidence(struct event_row *e, cJSON *obj);

/* Records e (thread-safe, never blocks on disk; ev NULL: nothing). */
void events_emit(struct events *ev, const struct event_row *e);

/* fn(arg, e) is called for every event emitted from now on, with its id,
   on the emitting thread after the events lock is released (NULL: none).
   It must only queue: the alert engine's entry. */
void events_set_tap(struct events *ev, void (*fn)(void *arg, const struct event_row *e), void *arg);

/* Writes the queued events to the store: the writer's call. 0, or MW_EDB
   with the events kept for the next call. */
int events_flush(struct events *ev) MW_MUST_CHECK;

/* Up to max events with ids above after_id from the ring of the newest,
   oldest first; returns how many. */
int events_recent(struct events *ev, int64_t after_id, struct event_row *out, int max);

struct events_stats {
	uint64_t emitted, stored, dropped;
	int queued;
	int64_t last_id;
};
void events_get_stats(struct events *ev, struct events_stats *out);

#endif
