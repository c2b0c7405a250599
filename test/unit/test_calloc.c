/* Unit tests for calloc.c: memory comes back zeroed whether it is a
   recycled small block or a large one, an overflowing count fails with
   ENOMEM, and (outside AddressSanitizer) a small calloc reuses the block
   the thread just freed, which is the lock-free per-thread cache the
   override exists for. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* MW_NO_CALLOC_OVERRIDE: built without calloc.c (AddressSanitizer). */

static int
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Frees a block full of 0xAB, then asks calloc for the same size. */
static unsigned char *
dirty_then_calloc(size_t n, void **freed)
{
	unsigned char *d = malloc(n);
	assert_non_null(d);
	memset(d, 0xAB, n);
	*freed = d;
	free(d);
	unsigned char *c = calloc(1, n);
	assert_non_null(c);
	return c;
}

static void
test_small_blocks_zeroed_and_recycled(void **state)
{
	(void)state;
	static const size_t sizes[] = {1, 16, 24, 100, 200, 512, 1000, 1024};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *freed;
		unsigned char *c = dirty_then_calloc(sizes[i], &freed);
		assert_true(all_zero(c, sizes[i]));
#ifndef MW_NO_CALLOC_OVERRIDE
		assert_ptr_equal(c, freed);
#endif
		free(c);
	}
}

static void
test_large_blocks_zeroed(void **state)
{
	(void)state;
	static const size_t sizes[] = {1025, 4096, 20000, 300000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *freed;
		unsigned char *c = dirty_then_calloc(sizes[i], &freed);
		assert_true(all_zero(c, sizes[i]));
		free(c);
	}
}

static void
test_overflow_fails(void **state)
{
	(void)state;
#ifdef MW_NO_CALLOC_OVERRIDE
	/* calloc.c is left out; AddressSanitizer's own calloc aborts here. */
	skip();
#endif
	errno = 0;
	/* The count is hidden from the compiler, which would warn about it. */
	volatile size_t huge = SIZE_MAX / 2;
	void *p = calloc(huge, 3);
	assert_null(p);
	assert_int_equal(errno, ENOMEM);
}

static void
test_zero_sized(void **state)
{
	(void)state;
	void *a = calloc(0, 8);
	void *b = calloc(8, 0);
	free(a); /* NULL or a unique pointer: both may be freed */
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_blocks_zeroed_and_recycled),
		cmocka_unit_test(test_large_blocks_zeroed),
		cmocka_unit_test(test_overflow_fails),
		cmocka_unit_test(test_zero_sized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
