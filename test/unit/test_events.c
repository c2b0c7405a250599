/* events: emit -> ring and queue, flush -> store, ids that go on across a
   restart, the queue bound, evidence too long for a row. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshwatch/events.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "testdir.h"

struct fx {
	char dir[64];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mw-events-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char err[256];
	f->st = store_open(f->dir, err, sizeof err);
	assert_non_null(f->st);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->st);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

static void
emit_target(struct events *ev, const char *id, const char *from, const char *to)
{
	struct event_row e;
	event_init(&e, "target_state", EVENT_CRITICAL, "target", id, "web", from, to);
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "error", "connection refused");
	cJSON_AddNumberToObject(evd, "port", 443);
	event_set_evidence(&e, evd);
	events_emit(ev, &e);
}

static void
test_emit_flush_list(void **state)
{
	struct fx *f = *state;
	struct events *ev = events_create(f->st, 16, 0);
	assert_non_null(ev);
	emit_target(ev, "1", "up", "refused");
	emit_target(ev, "1", "refused", "up");
	struct events_stats s;
	events_get_stats(ev, &s);
	assert_int_equal(s.emitted, 2);
	assert_int_equal(s.queued, 2);
	assert_int_equal(s.last_id, 2);

	/* the ring has them at once, oldest first, with their ids */
	struct event_row out[8];
	assert_int_equal(events_recent(ev, 0, out, 8), 2);
	assert_int_equal(out[0].id, 1);
	assert_string_equal(out[0].new_value, "refused");
	assert_string_equal(out[0].evidence, "{\"error\":\"connection refused\",\"port\":443}");
	assert_int_equal(events_recent(ev, 1, out, 8), 1);
	assert_int_equal(events_recent(ev, 2, out, 8), 0);

	/* nothing in the store until the writer flushes */
	struct event_filter all = {.limit = 10};
	struct event_row *r;
	int n, total;
	assert_int_equal(store_events_list(f->st, &all, &r, &n, &total), 0);
	assert_int_equal(total, 0);
	free(r);
	assert_int_equal(events_flush(ev), 0);
	assert_int_equal(store_events_list(f->st, &all, &r, &n, &total), 0);
	assert_int_equal(total, 2);
	assert_int_equal(r[0].id, 2); /* the same ids as the live feed */
	assert_string_equal(r[0].new_value, "up");
	assert_int_equal(r[0].severity, EVENT_CRITICAL);
	free(r);
	events_get_stats(ev, &s);
	assert_int_equal(s.stored, 2);
	assert_int_equal(s.queued, 0);
	events_destroy(ev);

	/* a new run goes on from the newest stored id */
	ev = events_create(f->st, 16, 0);
	emit_target(ev, "1", "up", "timeout");
	assert_int_equal(events_recent(ev, 0, out, 8), 1);
	assert_int_equal(out[0].id, 3);
	assert_int_equal(events_flush(ev), 0);
	events_destroy(ev);
}

static void
test_queue_bound_and_ring(void **state)
{
	struct fx *f = *state;
	struct events *ev = events_create(f->st, 4, 0);
	for (int i = 0; i < 100; i++)
		emit_target(ev, "2", "up", "refused");
	struct events_stats s;
	events_get_stats(ev, &s);
	assert_int_equal(s.emitted, 100);
	assert_int_equal(s.queued, 4);
	assert_int_equal(s.dropped, 96);
	/* the ring keeps the newest 64, whatever the queue dropped */
	struct event_row out[128];
	int k = events_recent(ev, 0, out, 128);
	assert_int_equal(k, 64);
	assert_int_equal(out[0].id, 37);
	assert_int_equal(out[63].id, 100);
	assert_int_equal(events_flush(ev), 0);
	events_get_stats(ev, &s);
	assert_int_equal(s.stored, 4);
	/* with room again, events are stored again */
	emit_target(ev, "2", "refused", "up");
	assert_int_equal(events_flush(ev), 0);
	struct event_filter all = {.limit = 10};
	struct event_row *r;
	int n, total;
	assert_int_equal(store_events_list(f->st, &all, &r, &n, &total), 0);
	assert_int_equal(total, 5);
	assert_int_equal(r[0].id, 101);
	free(r);
	events_destroy(ev);
}

static void
test_evidence_too_long(void **state)
{
	(void)state;
	struct event_row e;
	event_init(&e, "peer_state", EVENT_WARNING, "peer", NULL, NULL, "alive", "dead");
	assert_string_equal(e.subject, "");
	assert_string_equal(e.evidence, "{}");
	cJSON *o = cJSON_CreateObject();
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cJSON_AddStringToObject(o, "detail", big);
	event_set_evidence(&e, o);
	assert_string_equal(e.evidence, "{\"truncated\":true}");
	event_set_evidence(&e, NULL);
	assert_string_equal(e.evidence, "{}");
	/* no store: the ring only, nothing dropped */
	struct events *ev = events_create(NULL, 4, 0);
	for (int i = 0; i < 10; i++)
		events_emit(ev, &e);
	struct events_stats s;
	events_get_stats(ev, &s);
	assert_int_equal(s.dropped, 0);
	assert_int_equal(events_flush(ev), 0);
	events_destroy(ev);
	events_emit(NULL, &e); /* no events module: nothing happens */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_emit_flush_list),
		T(test_queue_bound_and_ring),
		T(test_evidence_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
