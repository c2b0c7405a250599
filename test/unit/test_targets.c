/* Unit tests for the targets' pure parts and their store: group-by
   arithmetic on known histories (success ratio, count, average and p95 by
   nearest rank, bucket edges, negative times), and the per-target retention purge and size-cap behaviour in a real SQLite
   file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "meshwatch/store.h"
#include "meshwatch/targets.h"
#include "meshwatch/util.h"
#include "testdir.h"

static struct check_row
chk(int64_t ts_ms, int state, double ms)
{
	struct check_row c = {.target_id = 1, .ts_ms = ts_ms, .state = state, .connect_ms = ms};
	return c;
}

static void
test_group_ratio_and_counts(void **state)
{
	(void)state;
	/* 10 s buckets: [0,10) one up one down (0.5), [10,20) empty, [20,30) three up */
	struct check_row rows[] = {
	    chk(1000, TS_UP, 2.0), chk(9999, TS_REFUSED, -1),
	    chk(20000, TS_UP, 1.0), chk(25000, TS_UP, 3.0), chk(29999, TS_UP, 5.0),
	};
	struct target_bucket b[8];
	int n = targets_group(rows, 5, 10000, b, 8);
	assert_int_equal(n, 2);
	assert_int_equal(b[0].t_ms, 0);
	assert_int_equal(b[0].checks, 2);
	assert_int_equal(b[0].up, 1);
	assert_true(b[0].avg_ms == 2.0 && b[0].p95_ms == 2.0);
	assert_int_equal(b[1].t_ms, 20000);
	assert_int_equal(b[1].checks, 3);
	assert_int_equal(b[1].up, 3);
	assert_true(b[1].avg_ms == 3.0);
	assert_true(b[1].p95_ms == 5.0); /* rank ceil(0.95*3) = 3 */
}

static void
test_group_p95_nearest_rank(void **state)
{
	(void)state;
	/* 40 successes 1..40 ms (shuffled) and 10 timeouts in one bucket */
	struct check_row rows[50];
	for (int i = 0; i < 40; i++)
		rows[i] = chk(i, TS_UP, (double)((i * 7) % 40 + 1));
	for (int i = 40; i < 50; i++)
		rows[i] = chk(i, TS_TIMEOUT, -1);
	struct target_bucket b[2];
	assert_int_equal(targets_group(rows, 50, 60000, b, 2), 1);
	assert_int_equal(b[0].checks, 50);
	assert_int_equal(b[0].up, 40);
	assert_true(b[0].avg_ms == 20.5);
	assert_true(b[0].p95_ms == 38.0); /* rank ceil(0.95*40) = 38 */
}

static void
test_group_all_failed_and_bounds(void **state)
{
	(void)state;
	struct check_row rows[] = {chk(-1500, TS_TIMEOUT, -1), chk(-500, TS_DNS_ERROR, -1), chk(500, TS_UP, 1)};
	struct target_bucket b[1];
	/* negative times floor down; max 1 bucket written */
	assert_int_equal(targets_group(rows, 3, 1000, b, 1), 1);
	assert_int_equal(b[0].t_ms, -2000);
	assert_int_equal(b[0].up, 0);
	assert_true(b[0].avg_ms < 0 && b[0].p95_ms < 0);
	assert_int_equal(targets_group(rows, 0, 1000, b, 1), 0);
}

static void
test_retention_units(void **state)
{
	(void)state;
	assert_int_equal(target_retention_s(90, "minutes"), 5400);
	assert_int_equal(target_retention_s(2, "hours"), 7200);
	assert_int_equal(target_retention_s(3, "days"), 3 * 86400);
	assert_int_equal(target_retention_s(1, "weeks"), 7 * 86400);
	assert_int_equal(target_retention_s(1, "months"), 30 * 86400);
	assert_int_equal(target_retention_s(1, "years"), 0);
	assert_int_equal(target_state_parse("dns_error"), TS_DNS_ERROR);
	assert_int_equal(target_state_parse("down"), -1);
	assert_string_equal(target_state_name(TS_REFUSED), "refused");
}

static struct target_row
row(const char *name, int period, const char *unit)
{
	struct target_row t = {0};
	snprintf(t.name, sizeof t.name, "%s", name);
	snprintf(t.host, sizeof t.host, "127.0.0.1");
	t.port = 80;
	t.interval_s = 10;
	t.timeout_ms = 1000;
	t.retention_period = period;
	snprintf(t.retention_unit, sizeof t.retention_unit, "%s", unit);
	t.enabled = 1;
	return t;
}

static void
test_store_purge_by_retention(void **state)
{
	(void)state;
	char dir[] = "/tmp/mw-targets-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[256];
	struct store *st = store_open(dir, err, sizeof err);
	assert_non_null(st);
	struct target_row a = row("short", 10, "minutes"), b = row("long", 2, "days"), out_a, out_b;
	assert_int_equal(store_target_create(st, &a, 10, &out_a), 0);
	assert_int_equal(store_target_create(st, &b, 10, &out_b), 0);
	assert_int_equal(store_target_create(st, &b, 2, &out_b), MW_ETOOBIG);
	int64_t now = 1800000000000LL;
	struct check_row rows[6];
	int64_t ages_min[3] = {5, 30, 60 * 30}; /* 5 min, 30 min, 30 h */
	for (int i = 0; i < 3; i++) {
		rows[i] = chk(now - ages_min[i] * 60000, TS_UP, 1);
		rows[i].target_id = out_a.id;
		rows[3 + i] = chk(now - ages_min[i] * 60000, TS_REFUSED, -1);
		rows[3 + i].target_id = out_b.id;
	}
	assert_int_equal(store_checks_insert(st, rows, 6), 0);
	/* a: 10 minutes keeps 1; b: 2 days keeps 3 */
	assert_int_equal(store_targets_purge(st, now), 2);
	struct check_row *got = NULL;
	int n = 0;
	assert_int_equal(store_target_checks(st, out_a.id, 0, now + 1, 100, &got, &n), 0);
	assert_int_equal(n, 1);
	free(got);
	assert_int_equal(store_target_checks(st, out_b.id, 0, now + 1, 100, &got, &n), 0);
	assert_int_equal(n, 3);
	free(got);
	/* the last state follows the newest check, whatever the insert order */
	struct target_row t;
	assert_int_equal(store_target_get(st, out_a.id, &t), 0);
	assert_int_equal(t.state, TS_UP);
	assert_int_equal(t.last_check_ms, now - 5 * 60000);
	/* delete takes the history along */
	assert_int_equal(store_target_delete(st, out_b.id), 0);
	assert_int_equal(store_target_checks(st, out_b.id, 0, now + 1, 100, &got, &n), 0);
	assert_int_equal(n, 0);
	free(got);
	assert_int_equal(store_target_delete(st, out_b.id), MW_ENOTFOUND);
	/* checks of a target that no longer exists are not stored */
	assert_int_equal(store_checks_insert(st, &rows[3], 1), 0);
	assert_int_equal(store_target_checks(st, out_b.id, 0, now + 1, 100, &got, &n), 0);
	assert_int_equal(n, 0);
	free(got);
	store_close(st);
	testdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_ratio_and_counts),
		cmocka_unit_test(test_group_p95_nearest_rank),
		cmocka_unit_test(test_group_all_failed_and_bounds),
		cmocka_unit_test(test_retention_units),
		cmocka_unit_test(test_store_purge_by_retention),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
