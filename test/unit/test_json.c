/* Unit tests for json.c: the shapes every layer's JSON shares (rounded
   measurements, null for "not measured", RFC 3339 times) and the bounded
   readers of received JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "meshwatch/json.h"

static char *
print(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static void
test_add_num(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	json_add_num(o, "a", 1.23456);
	json_add_num(o, "b", 0);
	json_add_num(o, "c", -1);
	json_add_num(o, "d", 2.0005);
	char *t = print(o);
	assert_string_equal(t, "{\"a\":1.235,\"b\":0,\"c\":null,\"d\":2.001}");
	free(t);
}

/* json_quote gives what cJSON would print for the same string, and -1
   instead of a truncated literal. */
static void
test_quote(void **state)
{
	(void)state;
	const char *in[] = {"", "n1.mesh.test", "a\"b\\c", "tab\there\nnl\rcr", "\x01\x1f ctl", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		char out[64];
		assert_true(json_quote(in[i], out, sizeof out) == (int)strlen(out));
		cJSON *s = cJSON_CreateString(in[i]);
		char *want = cJSON_PrintUnformatted(s);
		assert_string_equal(out, want);
		cJSON *back = cJSON_Parse(out);
		assert_string_equal(cJSON_GetStringValue(back), in[i]);
		cJSON_Delete(back);
		free(want);
		cJSON_Delete(s);
	}
	char small[8];
	assert_int_equal(json_quote("abcde", small, sizeof small), 7);    /* "abcde" + NUL fits exactly */
	assert_int_equal(json_quote("abcdef", small, sizeof small), -1);  /* one more does not */
	assert_int_equal(json_quote("\x01", small, sizeof small), -1);   /* \u0001 is 6 bytes */
	assert_int_equal(json_quote("", small, 2), -1);
}

static void
test_add_u64(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	json_add_u64(o, "n", 999999999999999ull);
	json_add_u64(o, "z", 0);
	char *t = print(o);
	assert_string_equal(t, "{\"n\":999999999999999,\"z\":0}");
	free(t);
}

static void
test_add_time(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	json_add_time(o, "t", 1795343400);
	json_add_time(o, "epoch", 0);
	json_add_time_or_null(o, "u", 1795343400);
	json_add_time_or_null(o, "never", 0);
	json_add_time_or_null(o, "neg", -5);
	char *t = print(o);
	assert_string_equal(t, "{\"t\":\"2026-11-22T10:30:00Z\",\"epoch\":\"1970-01-01T00:00:00Z\","
	                       "\"u\":\"2026-11-22T10:30:00Z\",\"never\":null,\"neg\":null}");
	free(t);
}

static void
test_get_str(void **state)
{
	(void)state;
	cJSON *o = cJSON_Parse("{\"s\":\"abc\",\"n\":null,\"x\":5,\"long\":\"abcdefgh\"}");
	char out[16];
	assert_int_equal(json_get_str(o, "s", out, 8, 1), 0);
	assert_string_equal(out, "abc");
	/* absent or null: "" when optional, an error when required */
	assert_int_equal(json_get_str(o, "n", out, 8, 0), 0);
	assert_string_equal(out, "");
	assert_int_equal(json_get_str(o, "missing", out, 8, 0), 0);
	assert_int_equal(json_get_str(o, "n", out, 8, 1), MW_EINVAL);
	assert_int_equal(json_get_str(o, "missing", out, 8, 1), MW_EINVAL);
	/* not a string, or no room for it and its NUL */
	assert_int_equal(json_get_str(o, "x", out, 8, 0), MW_EINVAL);
	assert_int_equal(json_get_str(o, "long", out, 8, 0), MW_EINVAL);
	assert_int_equal(json_get_str(o, "long", out, 9, 0), 0);
	assert_string_equal(out, "abcdefgh");
	cJSON_Delete(o);
}

static void
test_get_int(void **state)
{
	(void)state;
	cJSON *o = cJSON_Parse("{\"a\":42,\"f\":1.5,\"neg\":-1,\"s\":\"7\",\"big\":1e13}");
	double d = -7;
	assert_int_equal(json_get_int(o, "a", 0, 100, &d), 0);
	assert_true(d == 42);
	assert_int_equal(json_get_int(o, "a", 0, 41, &d), MW_EINVAL);
	assert_int_equal(json_get_int(o, "a", 43, 100, &d), MW_EINVAL);
	assert_int_equal(json_get_int(o, "f", 0, 100, &d), MW_EINVAL);
	assert_int_equal(json_get_int(o, "neg", 0, 100, &d), MW_EINVAL);
	assert_int_equal(json_get_int(o, "neg", -1, 100, &d), 0);
	assert_int_equal(json_get_int(o, "s", 0, 100, &d), MW_EINVAL);
	assert_int_equal(json_get_int(o, "missing", 0, 100, &d), MW_EINVAL);
	assert_int_equal(json_get_int(o, "big", 0, 1e12, &d), MW_EINVAL);
	cJSON_Delete(o);
}

/* A stored object comes back as one; anything else as {} (never NULL). */
static void
test_parse_object(void **state)
{
	(void)state;
	const char *bad[] = {NULL, "", "[1]", "\"x\"", "{\"a\":", "3"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *o = json_parse_object(bad[i]);
		assert_true(cJSON_IsObject(o));
		assert_int_equal(cJSON_GetArraySize(o), 0);
		cJSON_Delete(o);
	}
	cJSON *o = json_parse_object("{\"k\":\"v\"}");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "k")->valuestring, "v");
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_num),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_add_u64),
		cmocka_unit_test(test_add_time),
		cmocka_unit_test(test_get_str),
		cmocka_unit_test(test_get_int),
		cmocka_unit_test(test_parse_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
