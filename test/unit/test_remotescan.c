/* remotescan: reading another node's scan answers (what the follower and
   submit take from the network). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "meshwatch/remotescan.h"

static const char good[] =
	"{\"id\":7,\"state\":\"running\",\"trigger\":\"mesh\",\"subnets\":[\"10.0.0.0/24\",\"10.0.1.0/24\"],"
	"\"ports\":\"22,80\",\"port_count\":2,\"created_at\":\"2026-11-22T10:30:00Z\",\"started_at\":\"2026-11-22T10:30:01Z\","
	"\"finished_at\":null,\"progress\":{\"hosts_done\":3,\"hosts_total\":508,\"found\":1,\"hosts_up\":2},"
	"\"port_states\":{\"open\":1,\"closed\":4,\"filtered\":1},\"error\":null}";

static int
parse(const char *text, struct scan_row *r, char *why, size_t whylen)
{
	cJSON *o = cJSON_Parse(text);
	int rc = remotescan_parse_scan(o, r, why, whylen);
	cJSON_Delete(o);
	return rc;
}

static void
test_good(void **state)
{
	struct scan_row r;
	memset(&r, 0, sizeof r);
	snprintf(r.node_id, sizeof r.node_id, "kept");
	char why[160];
	assert_int_equal(parse(good, &r, why, sizeof why), 0);
	assert_int_equal(r.id, 7);
	assert_string_equal(r.state, "running");
	assert_string_equal(r.subnets, "10.0.0.0/24,10.0.1.0/24");
	assert_string_equal(r.ports, "22,80");
	assert_int_equal(r.nports, 2);
	assert_int_equal(r.started_at, 1795343401);
	assert_int_equal(r.finished_at, 0);
	assert_int_equal(r.hosts_total, 508);
	assert_int_equal(r.found, 1);
	assert_int_equal(r.closed, 4);
	assert_string_equal(r.error, "");
	assert_string_equal(r.node_id, "kept"); /* fields it does not name are left alone */
}

/* Each broken field is refused with a reason, and nothing is written. */
static void
test_bad(void **state)
{
	static const char *const edits[][2] = {
		{"\"id\":7", "\"id\":0"},
		{"\"id\":7", "\"id\":\"7\""},
		{"\"state\":\"running\"", "\"state\":\"exploded\""},
		{"\"port_count\":2", "\"port_count\":-1"},
		{"\"started_at\":\"2026-11-22T10:30:01Z\"", "\"started_at\":\"yesterday\""},
		{"\"hosts_done\":3", "\"hosts_done\":1e12"},
		{"\"found\":1", "\"found\":1.5"},
		{"\"filtered\":1", "\"filtered\":null"},
		{"\"error\":null", "\"error\":5"},
		{"[\"10.0.0.0/24\",\"10.0.1.0/24\"]", "\"10.0.0.0/24\""},
		{"[\"10.0.0.0/24\",\"10.0.1.0/24\"]", "[\"10.0.0.0/24,10.0.1.0/24\"]"},
		{"[\"10.0.0.0/24\",\"10.0.1.0/24\"]", "[7]"},
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char text[1024];
		const char *at = strstr(good, edits[i][0]);
		assert_non_null(at);
		snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good), good, edits[i][1], at + strlen(edits[i][0]));
		struct scan_row r;
		memset(&r, 0, sizeof r);
		char why[160] = "";
		assert_int_equal(parse(text, &r, why, sizeof why), MW_EINVAL);
		assert_true(why[0] != '\0');
		assert_int_equal(r.id, 0);
	}
	struct scan_row r;
	char why[160];
	assert_int_equal(parse("[1,2]", &r, why, sizeof why), MW_EINVAL);
	assert_int_equal(remotescan_parse_scan(NULL, &r, why, sizeof why), MW_EINVAL);
}

/* Subnets longer than a row holds are refused, not cut. */
static void
test_too_many_subnets(void **state)
{
	char text[8192];
	size_t k = (size_t)snprintf(text, sizeof text, "{\"id\":1,\"state\":\"queued\",\"subnets\":[");
	for (int i = 0; i < 100; i++)
		k += (size_t)snprintf(text + k, sizeof text - k, "%s\"10.%d.0.0/16\"", i ? "," : "", i);
	snprintf(text + k, sizeof text - k, "],\"ports\":\"22\",\"port_count\":1,\"progress\":{\"hosts_done\":0,"
	    "\"hosts_total\":1,\"found\":0,\"hosts_up\":0},\"port_states\":{\"open\":0,\"closed\":0,\"filtered\":0}}");
	struct scan_row r;
	memset(&r, 0, sizeof r);
	char why[160];
	assert_int_equal(parse(text, &r, why, sizeof why), MW_EINVAL);
	assert_non_null(strstr(why, "longer"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_many_subnets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
