/* Unit tests for buf.c: the maximum is reached exactly and never passed,
   printf grows the buffer, zero-length appends, reuse after reset, reading
   straight into the buffer, and handing the contents over. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "meshwatch/buf.h"
#include "meshwatch/util.h"

static void
test_limit_reached(void **state)
{
	(void)state;
	struct mw_buf b;
	mw_buf_init(&b, 10);
	assert_int_equal(mw_buf_append(&b, "0123456", 7), 0);
	/* past the maximum: refused whole, the contents as they were */
	assert_int_equal(mw_buf_append(&b, "7890", 4), MW_ETOOBIG);
	assert_int_equal(mw_buf_len(&b), 7);
	assert_string_equal(mw_buf_str(&b), "0123456");
	/* exactly up to it: accepted */
	assert_int_equal(mw_buf_append(&b, "789", 3), 0);
	assert_string_equal(mw_buf_str(&b), "0123456789");
	assert_int_equal(mw_buf_append(&b, "x", 1), MW_ETOOBIG);
	assert_int_equal(mw_buf_printf(&b, "%d", 1), MW_ETOOBIG);
	char *at;
	size_t room;
	assert_int_equal(mw_buf_space(&b, 1, &at, &room), MW_ETOOBIG);
	assert_string_equal(mw_buf_str(&b), "0123456789");
	/* a huge length cannot wrap the check */
	assert_int_equal(mw_buf_append(&b, "", SIZE_MAX), MW_ETOOBIG);
	mw_buf_finish(&b);

	/* a maximum of 0 takes nothing but empty appends */
	mw_buf_init(&b, 0);
	assert_int_equal(mw_buf_append(&b, "a", 1), MW_ETOOBIG);
	assert_int_equal(mw_buf_append(&b, "", 0), 0);
	assert_int_equal(mw_buf_printf(&b, "%s", ""), 0);
	assert_string_equal(mw_buf_str(&b), "");
	mw_buf_finish(&b);
}

static void
test_printf_growth(void **state)
{
	(void)state;
	struct mw_buf b;
	mw_buf_init(&b, 1 << 20);
	/* many small pieces, across several growths of the memory */
	for (int i = 0; i < 5000; i++)
		assert_int_equal(mw_buf_printf(&b, "%04d,", i), 0);
	assert_int_equal(mw_buf_len(&b), 5000 * 5);
	assert_memory_equal(mw_buf_str(&b), "0000,0001,", 10);
	assert_string_equal(mw_buf_str(&b) + mw_buf_len(&b) - 5, "4999,");
	assert_int_equal(strlen(mw_buf_str(&b)), mw_buf_len(&b));
	/* one piece larger than everything so far */
	char big[70001];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(mw_buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(mw_buf_len(&b), 25000 + 70002);
	assert_int_equal(mw_buf_str(&b)[25000], '[');
	assert_int_equal(mw_buf_str(&b)[mw_buf_len(&b) - 1], ']');
	mw_buf_finish(&b);

	/* a printf over the maximum appends nothing, even the part that fit */
	mw_buf_init(&b, 8);
	assert_int_equal(mw_buf_printf(&b, "%s", "abc"), 0);
	assert_int_equal(mw_buf_printf(&b, "%s", "defghi"), MW_ETOOBIG);
	assert_string_equal(mw_buf_str(&b), "abc");
	assert_int_equal(mw_buf_printf(&b, "%s", "defgh"), 0);
	assert_string_equal(mw_buf_str(&b), "abcdefgh");
	mw_buf_finish(&b);
}

static void
test_zero_length(void **state)
{
	(void)state;
	struct mw_buf b;
	mw_buf_init(&b, 100);
	/* never written: an empty string, no memory needed */
	assert_int_equal(mw_buf_len(&b), 0);
	assert_string_equal(mw_buf_str(&b), "");
	assert_int_equal(mw_buf_append(&b, NULL, 0), 0);
	assert_int_equal(mw_buf_len(&b), 0);
	assert_string_equal(mw_buf_str(&b), "");
	assert_int_equal(mw_buf_append(&b, "ab", 2), 0);
	assert_int_equal(mw_buf_append(&b, "cd", 0), 0);
	assert_int_equal(mw_buf_printf(&b, "%s", ""), 0);
	assert_string_equal(mw_buf_str(&b), "ab");
	/* an empty buffer handed over is an empty string */
	mw_buf_reset(&b);
	size_t len = 99;
	char *s = mw_buf_take(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	mw_buf_init(&b, 100);
	s = mw_buf_take(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	/* binary bytes, NULs included, count in the length */
	mw_buf_init(&b, 100);
	assert_int_equal(mw_buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(mw_buf_len(&b), 3);
	assert_memory_equal(mw_buf_str(&b), "a\0b", 4);
	mw_buf_finish(&b);
}

static void
test_reuse_after_reset(void **state)
{
	(void)state;
	struct mw_buf b;
	mw_buf_init(&b, 6);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(mw_buf_append(&b, "abcdef", 6), 0);
		assert_int_equal(mw_buf_append(&b, "g", 1), MW_ETOOBIG);
		/* emptied, the whole maximum is there again */
		mw_buf_reset(&b);
		assert_int_equal(mw_buf_len(&b), 0);
		assert_string_equal(mw_buf_str(&b), "");
		assert_int_equal(mw_buf_printf(&b, "%d", 123456), 0);
		assert_string_equal(mw_buf_str(&b), "123456");
		mw_buf_reset(&b);
	}
	/* and after finish, with the same maximum */
	mw_buf_finish(&b);
	assert_int_equal(mw_buf_append(&b, "abcdefg", 7), MW_ETOOBIG);
	assert_int_equal(mw_buf_append(&b, "xyz", 3), 0);
	assert_string_equal(mw_buf_str(&b), "xyz");
	mw_buf_finish(&b);
}

static void
test_space_and_take(void **state)
{
	(void)state;
	struct mw_buf b;
	mw_buf_init(&b, 10000);
	size_t total = 0;
	for (;;) {
		char *at;
		size_t room;
		int rc = mw_buf_space(&b, 3000, &at, &room);
		if (rc == MW_ETOOBIG)
			break;
		assert_int_equal(rc, 0);
		assert_true(room >= 1 && room <= 10000 - total);
		/* a short read: less than the room given */
		size_t n = room > 1000 ? 1000 : room;
		memset(at, 'a' + (int)(total / 1000 % 26), n);
		mw_buf_commit(&b, n);
		total += n;
		assert_int_equal(mw_buf_len(&b), total);
		assert_int_equal(strlen(mw_buf_str(&b)), total);
	}
	assert_int_equal(total, 10000);
	size_t len = 0;
	char *s = mw_buf_take(&b, &len);
	assert_int_equal(len, 10000);
	assert_int_equal(s[0], 'a');
	assert_int_equal(s[9999], 'j');
	assert_int_equal(s[10000], '\0');
	free(s);
	/* taken: b is empty and usable */
	assert_int_equal(mw_buf_len(&b), 0);
	assert_int_equal(mw_buf_append(&b, "x", 1), 0);
	assert_string_equal(mw_buf_str(&b), "x");
	mw_buf_finish(&b);

	/* room asked for and nothing written there (end of input): empty */
	mw_buf_init(&b, 100);
	char *at0;
	size_t room0;
	assert_int_equal(mw_buf_space(&b, 50, &at0, &room0), 0);
	assert_true(room0 >= 50);
	assert_string_equal(mw_buf_str(&b), "");
	s = mw_buf_take(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);

	/* the room never passes the maximum, even when more is wanted */
	mw_buf_init(&b, 5);
	char *at;
	size_t room;
	assert_int_equal(mw_buf_space(&b, 100, &at, &room), 0);
	assert_int_equal(room, 5);
	memcpy(at, "hello", 5);
	mw_buf_commit(&b, 5);
	assert_string_equal(mw_buf_str(&b), "hello");
	assert_int_equal(mw_buf_space(&b, 1, &at, &room), MW_ETOOBIG);
	mw_buf_finish(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_reached),
		cmocka_unit_test(test_printf_growth),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_reuse_after_reset),
		cmocka_unit_test(test_space_and_take),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
