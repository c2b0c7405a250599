/* Unit tests for util.c: time formatting, hex, UUIDs, whole-file I/O,
   directories, bounded snprintf, constant-time comparison and the duration
   parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/util.h"

#include "testdir.h"

/* Per-test temporary directory */

struct tmp {
	char dir[256];
};

static int
setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof t->dir, "/tmp/mw-test-util-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
teardown_tmp(void **state)
{
	struct tmp *t = *state;
	umask(022);
	if (t) {
		chmod(t->dir, 0700);
		testdir_remove(t->dir);
		free(t);
	}
	return 0;
}

static void
path_in(const struct tmp *t, const char *name, char *out, size_t outlen)
{
	assert_int_equal(mw_snprintf(out, outlen, "%s/%s", t->dir, name), 0);
}

static void
write_bytes(const char *path, size_t n, char fill)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fputc(fill, f), (unsigned char)fill);
	assert_int_equal(fclose(f), 0);
}

static mode_t
mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 07777;
}

/* mw_strerror */

static void
test_strerror_distinct(void **state)
{
	(void)state;
	static const int codes[] = {MW_OK, MW_EINVAL, MW_ENOMEM, MW_EIO, MW_ENOTFOUND, MW_EEXIST, MW_ETOOBIG,
	    MW_EDB, MW_ECRYPTO, MW_EAUTH, MW_ELIMIT, MW_EREPLIED, MW_ELAST};
	for (size_t i = 0; i < MW_ARRAY_LEN(codes); i++) {
		const char *a = mw_strerror(codes[i]);
		assert_non_null(a);
		assert_true(strlen(a) > 0);
		assert_string_not_equal(a, mw_strerror(12345));
		for (size_t j = i + 1; j < MW_ARRAY_LEN(codes); j++)
			assert_string_not_equal(a, mw_strerror(codes[j]));
	}
	assert_non_null(mw_strerror(-999));
	assert_non_null(mw_strerror(1));
}

/* time */

static void
test_rfc3339_known(void **state)
{
	(void)state;
	static const struct {
		int64_t t;
		const char *s;
	} cases[] = {
		{0, "1970-01-01T00:00:00Z"},
		{1, "1970-01-01T00:00:01Z"},
		{-1, "1969-12-31T23:59:59Z"},
		{951782400, "2000-02-29T00:00:00Z"},
		{1700000000, "2023-11-14T22:13:20Z"},
		{1795343400, "2026-11-22T10:30:00Z"},
		{2147483647, "2038-01-19T03:14:07Z"},
		{2147483648LL, "2038-01-19T03:14:08Z"},
		{4102444799LL, "2099-12-31T23:59:59Z"},
		{253402300799LL, "9999-12-31T23:59:59Z"},
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(cases); i++) {
		char out[32];
		memset(out, 'x', sizeof out);
		char *r = mw_rfc3339(cases[i].t, out, sizeof out);
		assert_ptr_equal(r, out);
		assert_string_equal(out, cases[i].s);
	}
}

static void
test_rfc3339_buffer_limit(void **state)
{
	(void)state;
	char out[21];
	/* exactly 21 bytes is enough */
	assert_string_equal(mw_rfc3339(1700000000, out, 21), "2023-11-14T22:13:20Z");
	/* one byte short: an empty string, never a truncated time */
	memset(out, 'x', sizeof out);
	assert_ptr_equal(mw_rfc3339(1700000000, out, 20), out);
	assert_string_equal(out, "");
	/* with milliseconds: 25 bytes, and never a truncated time either */
	char ms[25];
	assert_string_equal(mw_rfc3339_ms(1700000000007LL, ms, 25), "2023-11-14T22:13:20.007Z");
	assert_string_equal(mw_rfc3339_ms(999, ms, 25), "1970-01-01T00:00:00.999Z");
	assert_string_equal(mw_rfc3339_ms(1700000000007LL, ms, 24), "");
}

static void
test_clocks(void **state)
{
	(void)state;
	int64_t a = mw_now_ms();
	double as = mw_now_s();
	usleep(20 * 1000);
	int64_t b = mw_now_ms();
	double bs = mw_now_s();
	assert_true(b - a >= 19);
	assert_true(b - a < 5000);
	assert_true(bs - as >= 0.019);
	assert_true(bs > as);
	/* mw_now_s and mw_now_ms share a clock */
	assert_true(bs * 1000.0 - (double)b > -50.0 && bs * 1000.0 - (double)b < 50.0);
	int64_t w = mw_wall_s();
	assert_true(w > 1600000000); /* after 2020 */
	assert_true(w - (int64_t)time(NULL) <= 1 && (int64_t)time(NULL) - w <= 1);
}

/* randomness, hex, uuid */

static void
test_hex_known(void **state)
{
	(void)state;
	const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
	char out[2 * sizeof in + 2];
	memset(out, 'Z', sizeof out);
	mw_hex(in, sizeof in, out);
	assert_string_equal(out, "00017f80abcdefff");
	assert_int_equal(out[2 * sizeof in + 1], 'Z'); /* writes exactly 2n+1 bytes */
	mw_hex(in, 0, out);
	assert_string_equal(out, "");
	mw_hex(in + 4, 1, out);
	assert_string_equal(out, "ab");
}

static void
test_random(void **state)
{
	(void)state;
	uint8_t a[32], b[32], z[32];
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	memset(z, 0, sizeof z);
	assert_int_equal(mw_random(a, sizeof a), 0);
	assert_int_equal(mw_random(b, sizeof b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	assert_memory_not_equal(a, z, sizeof a);
	assert_int_equal(mw_random(a, 0), 0);
	/* larger than one getrandom() call is guaranteed to return */
	size_t big = 1 << 20;
	uint8_t *p = calloc(1, big);
	assert_non_null(p);
	assert_int_equal(mw_random(p, big), 0);
	size_t zeros = 0;
	for (size_t i = big - 4096; i < big; i++)
		zeros += p[i] == 0;
	assert_true(zeros < 100); /* the tail was filled too */
	free(p);
}

static int
is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void
check_uuid_format(const char *u)
{
	assert_int_equal(strlen(u), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else
			assert_true(is_lower_hex(u[i]));
	}
	assert_int_equal(u[14], '4'); /* version 4 */
	assert_non_null(strchr("89ab", u[19])); /* RFC 4122 variant */
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void
test_uuid4(void **state)
{
	(void)state;
	enum { N = 2000 };
	char (*ids)[37] = calloc(N, sizeof *ids);
	assert_non_null(ids);
	int variant_seen[4] = {0};
	for (int i = 0; i < N; i++) {
		memset(ids[i], 'Q', 37);
		assert_int_equal(mw_uuid4(ids[i]), 0);
		check_uuid_format(ids[i]);
		variant_seen[strchr("89ab", ids[i][19]) - "89ab"]++;
	}
	/* the variant nibble keeps its two random bits */
	for (int i = 0; i < 4; i++)
		assert_true(variant_seen[i] > 0);
	qsort(ids, N, sizeof *ids, cmp_str);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	free(ids);
}

/* mw_read_file */

static void
test_read_file_exact_limit(void **state)
{
	struct tmp *t = *state;
	char p[512];
	static const size_t sizes[] = {0, 1, 10, 4095, 4096, 4097, 8192, 10000, 65536};
	for (size_t i = 0; i < MW_ARRAY_LEN(sizes); i++) {
		size_t n = sizes[i];
		path_in(t, "exact", p, sizeof p);
		write_bytes(p, n, 'a');
		size_t len = 12345;
		int err = 0;
		char *buf = mw_read_file(p, n, &len, &err);
		assert_non_null(buf);
		assert_int_equal(len, n);
		assert_int_equal(buf[n], '\0');
		if (n)
			assert_int_equal(buf[n - 1], 'a');
		free(buf);
		/* a generous limit reads the same */
		buf = mw_read_file(p, n * 3 + 1, &len, &err);
		assert_non_null(buf);
		assert_int_equal(len, n);
		free(buf);
	}
}

static void
test_read_file_one_over(void **state)
{
	struct tmp *t = *state;
	char p[512];
	static const size_t limits[] = {0, 1, 10, 4095, 4096, 4097, 8191, 8192, 10000};
	for (size_t i = 0; i < MW_ARRAY_LEN(limits); i++) {
		size_t max = limits[i];
		path_in(t, "over", p, sizeof p);
		write_bytes(p, max + 1, 'b');
		int err = 0;
		size_t len = 777;
		char *buf = mw_read_file(p, max, &len, &err);
		assert_null(buf);
		assert_int_equal(err, MW_ETOOBIG);
	}
	/* far over the limit */
	path_in(t, "big", p, sizeof p);
	write_bytes(p, 300000, 'c');
	int err = 0;
	assert_null(mw_read_file(p, 1000, NULL, &err));
	assert_int_equal(err, MW_ETOOBIG);
}

static void
test_read_file_binary_and_null_len(void **state)
{
	struct tmp *t = *state;
	char p[512];
	path_in(t, "bin", p, sizeof p);
	const char data[] = {'a', '\0', 'b', '\n', '\0', 'c'};
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, sizeof data, f), sizeof data);
	fclose(f);
	size_t len = 0;
	int err = 0;
	char *buf = mw_read_file(p, 100, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, sizeof data);
	assert_memory_equal(buf, data, sizeof data);
	assert_int_equal(buf[len], '\0');
	free(buf);
	buf = mw_read_file(p, 100, NULL, &err); /* len may be NULL */
	assert_non_null(buf);
	free(buf);
}

static void
test_read_file_missing_and_dir(void **state)
{
	struct tmp *t = *state;
	char p[512];
	path_in(t, "does-not-exist", p, sizeof p);
	int err = 0;
	assert_null(mw_read_file(p, 100, NULL, &err));
	assert_int_equal(err, MW_EIO);
	assert_int_equal(errno, ENOENT);
	err = 0;
	assert_null(mw_read_file(t->dir, 100, NULL, &err));
	assert_int_equal(err, MW_EIO);
}

/* mw_write_file_atomic */

static void
test_write_atomic_modes(void **state)
{
	struct tmp *t = *state;
	char p[512];
	static const int modes[] = {0600, 0644, 0640, 0400, 0755};
	/* a restrictive umask must not change the requested mode */
	umask(077);
	for (size_t i = 0; i < MW_ARRAY_LEN(modes); i++) {
		char name[32];
		snprintf(name, sizeof name, "f%zu", i);
		path_in(t, name, p, sizeof p);
		char content[64];
		snprintf(content, sizeof content, "content %zu\n", i);
		assert_int_equal(mw_write_file_atomic(p, content, strlen(content), modes[i]), 0);
		assert_int_equal(mode_of(p), modes[i]);
		int err = 0;
		size_t len = 0;
		char *back = mw_read_file(p, 1024, &len, &err);
		assert_non_null(back);
		assert_int_equal(len, strlen(content));
		assert_string_equal(back, content);
		free(back);
	}
	umask(022);
}

static void
test_write_atomic_replace(void **state)
{
	struct tmp *t = *state;
	char p[512];
	path_in(t, "replace", p, sizeof p);
	assert_int_equal(mw_write_file_atomic(p, "first version, longer", 21, 0644), 0);
	struct stat before;
	assert_int_equal(stat(p, &before), 0);
	assert_int_equal(mw_write_file_atomic(p, "second", 6, 0600), 0);
	struct stat after;
	assert_int_equal(stat(p, &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino); /* renamed into place */
	assert_int_equal(after.st_size, 6);
	assert_int_equal(after.st_mode & 0777, 0600);
	int err;
	char *back = mw_read_file(p, 100, NULL, &err);
	assert_non_null(back);
	assert_string_equal(back, "second");
	free(back);
	/* empty content */
	assert_int_equal(mw_write_file_atomic(p, "", 0, 0644), 0);
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(after.st_size, 0);
	/* binary content survives */
	uint8_t bin[5000];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)(i * 7);
	assert_int_equal(mw_write_file_atomic(p, bin, sizeof bin, 0644), 0);
	size_t len;
	back = mw_read_file(p, sizeof bin, &len, &err);
	assert_non_null(back);
	assert_int_equal(len, sizeof bin);
	assert_memory_equal(back, bin, sizeof bin);
	free(back);
	/* no temporary file is left behind */
	char tmpname[600];
	snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", p, (long)getpid());
	assert_int_equal(access(tmpname, F_OK), -1);
}

static void
test_write_atomic_fails_cleanly(void **state)
{
	struct tmp *t = *state;
	char p[512];
	path_in(t, "no-such-dir/file", p, sizeof p);
	assert_int_equal(mw_write_file_atomic(p, "x", 1, 0644), MW_EIO);
	assert_int_equal(access(p, F_OK), -1);
	/* target is a directory: rename fails, the temporary file goes away */
	path_in(t, "adir", p, sizeof p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(mw_write_file_atomic(p, "x", 1, 0644), MW_EIO);
	char tmpname[600];
	snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", p, (long)getpid());
	assert_int_equal(access(tmpname, F_OK), -1);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
}

/* mw_mkdir_p */

static void
test_mkdir_p_nested(void **state)
{
	struct tmp *t = *state;
	char p[512];
	umask(0);
	path_in(t, "a/b/c/d", p, sizeof p);
	assert_int_equal(mw_mkdir_p(p, 0750), 0);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0750);
	char mid[512];
	path_in(t, "a/b", mid, sizeof mid);
	assert_int_equal(stat(mid, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	/* existing: fine, and idempotent */
	assert_int_equal(mw_mkdir_p(p, 0750), 0);
	assert_int_equal(mw_mkdir_p(mid, 0700), 0);
	/* trailing slash and doubled slashes */
	path_in(t, "x//y/", p, sizeof p);
	assert_int_equal(mw_mkdir_p(p, 0700), 0);
	path_in(t, "x/y", p, sizeof p);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	umask(022);
}

static void
test_mkdir_p_on_file_fails(void **state)
{
	struct tmp *t = *state;
	char p[512], below[512];
	path_in(t, "plainfile", p, sizeof p);
	write_bytes(p, 3, 'f');
	assert_int_equal(mw_mkdir_p(p, 0700), MW_EIO);
	assert_int_equal(errno, ENOTDIR);
	path_in(t, "plainfile/sub/dir", below, sizeof below);
	assert_int_equal(mw_mkdir_p(below, 0700), MW_EIO);
	/* the file is untouched */
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_size, 3);
}

static void
test_mkdir_p_too_long(void **state)
{
	(void)state;
	char *p = malloc(5000);
	assert_non_null(p);
	memset(p, 'a', 4999);
	p[0] = '/';
	p[4999] = '\0';
	assert_int_equal(mw_mkdir_p(p, 0700), MW_EIO);
	free(p);
}

/* mw_snprintf */

static void
test_snprintf_truncation(void **state)
{
	(void)state;
	char out[8];
	assert_int_equal(mw_snprintf(out, sizeof out, "%s", "1234567"), 0); /* 7 + NUL fits */
	assert_string_equal(out, "1234567");
	assert_int_equal(mw_snprintf(out, sizeof out, "%s", "12345678"), MW_ETOOBIG);
	assert_string_equal(out, "1234567"); /* truncated, still terminated */
	assert_int_equal(mw_snprintf(out, sizeof out, "%d-%s", 42, "x"), 0);
	assert_string_equal(out, "42-x");
	assert_int_equal(mw_snprintf(out, sizeof out, "%d", 123456789), MW_ETOOBIG);
	assert_string_equal(out, "1234567");
	assert_int_equal(mw_snprintf(out, 1, "%s", ""), 0);
	assert_string_equal(out, "");
	assert_int_equal(mw_snprintf(out, 1, "%s", "a"), MW_ETOOBIG);
	assert_string_equal(out, "");
	out[0] = 'K';
	assert_int_equal(mw_snprintf(out, 0, "%s", ""), MW_ETOOBIG);
	assert_int_equal(out[0], 'K'); /* outlen 0 writes nothing */
}

/* mw_ct_equal */

static void
test_ct_equal(void **state)
{
	(void)state;
	uint8_t a[64], b[64];
	for (size_t i = 0; i < sizeof a; i++)
		a[i] = b[i] = (uint8_t)i;
	assert_int_equal(mw_ct_equal(a, b, sizeof a), 1);
	assert_int_equal(mw_ct_equal(a, b, 0), 1);
	for (size_t i = 0; i < sizeof a; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(mw_ct_equal(a, b, sizeof a), 0);
			/* only the first n bytes count */
			assert_int_equal(mw_ct_equal(a, b, i), 1);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(mw_ct_equal("abc", "abd", 3), 0);
	assert_int_equal(mw_ct_equal("abc", "abd", 2), 1);
}

/* mw_parse_time */

static void
test_parse_time(void **state)
{
	(void)state;
	int64_t t = -5;
	assert_int_equal(mw_parse_time("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(mw_parse_time("1764000000", &t), 0);
	assert_int_equal(t, 1764000000);
	assert_int_equal(mw_parse_time("2026-11-22T10:30:00Z", &t), 0);
	assert_int_equal(t, 1795343400);
	assert_int_equal(mw_parse_time("2026-11-22T10:30:00+00:00", &t), 0);
	assert_int_equal(t, 1795343400);
	assert_int_equal(mw_parse_time("253402300799", &t), 0);
	assert_int_equal(t, MW_TIME_MAX);
	assert_int_equal(mw_parse_time("9999-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, MW_TIME_MAX);
	/* numbers outside [0, MW_TIME_MAX], however long: out of range */
	t = 7;
	static const char *const range[] = {"253402300800", "-1", "-9223372036854775808", "9223372036854775807",
	    "9223372036854775808", "99999999999999999999999999", "-99999999999999999999999999"};
	for (size_t i = 0; i < MW_ARRAY_LEN(range); i++) {
		assert_int_equal(mw_parse_time(range[i], &t), MW_ETOOBIG);
		assert_int_equal(t, 7);
	}
	/* not a time at all */
	static const char *const bad[] = {"", "abc", "1e300", "12abc", "0x10", " 5", "5 ", "-", "+",
	    "2026-11-22T10:30:00", "2026-11-22T10:30:00+01:00", "2026-13-01T00:00:00Z", "2026-11-22 10:30:00Z",
	    "10000-01-01T00:00:00Z"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad); i++) {
		assert_int_equal(mw_parse_time(bad[i], &t), MW_EINVAL);
		assert_int_equal(t, 7);
	}
}

static void
test_ip_same_host(void **state)
{
	(void)state;
	assert_true(mw_ip_same("10.0.0.1", "::ffff:10.0.0.1"));
	assert_true(mw_ip_same("2001:db8::1", "2001:db8:0::1"));
	assert_false(mw_ip_same("10.0.0.1", "10.0.0.2"));
	assert_false(mw_ip_same("not-an-ip", "not-an-ip"));
	assert_true(mw_ip_is_loopback("127.4.5.6"));
	assert_true(mw_ip_is_loopback("::1"));
	assert_true(mw_ip_is_loopback("::ffff:127.0.0.1"));
	assert_false(mw_ip_is_loopback("10.0.0.1"));
	assert_false(mw_ip_is_loopback("::2"));
	/* nodes on one machine connect from 127.0.0.1 whatever they listen on */
	assert_true(mw_ip_same_host("127.0.0.1", "127.9.8.7"));
	assert_true(mw_ip_same_host("::ffff:192.0.2.1", "192.0.2.1"));
	assert_false(mw_ip_same_host("192.0.2.1", "127.0.0.1"));
	assert_false(mw_ip_same_host("192.0.2.1", "192.0.2.2"));
}

static void
test_parse_duration_good(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int64_t s;
	} ok[] = {
		{"0", 0}, {"90", 90}, {"90s", 90}, {"60m", 3600}, {"2h", 7200}, {"1d", 86400}, {"30d", 30 * 86400},
		{"+5m", 300}, {" 7s", 7}, {"007", 7}, {"0d", 0},
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(ok); i++) {
		int64_t v = -1;
		assert_int_equal(mw_parse_duration(ok[i].in, 0, INT64_MAX, &v), 0);
		assert_int_equal(v, ok[i].s);
	}
}

static void
test_parse_duration_bounds(void **state)
{
	(void)state;
	int64_t v = 42;
	/* both ends are inclusive, in seconds whatever the unit */
	assert_int_equal(mw_parse_duration("60", 60, 86400, &v), 0);
	assert_int_equal(v, 60);
	assert_int_equal(mw_parse_duration("1m", 60, 86400, &v), 0);
	assert_int_equal(mw_parse_duration("1d", 60, 86400, &v), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(mw_parse_duration("24h", 60, 86400, &v), 0);
	v = 42;
	assert_int_equal(mw_parse_duration("59s", 60, 86400, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("86401", 60, 86400, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("1441m", 60, 86400, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("2d", 60, 86400, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("0s", 1, 86400, &v), MW_ETOOBIG);
	assert_int_equal(v, 42); /* untouched on failure */
}

static void
test_parse_duration_overflow(void **state)
{
	(void)state;
	int64_t v = 42;
	/* the largest number and unit that fit, then one past them */
	assert_int_equal(mw_parse_duration("9223372036854775807", 0, INT64_MAX, &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(mw_parse_duration("9223372036854775808", 0, INT64_MAX, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("106751991167300d", 0, INT64_MAX, &v), 0);
	assert_int_equal(v, INT64_C(106751991167300) * 86400);
	assert_int_equal(mw_parse_duration("106751991167301d", 0, INT64_MAX, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("153722867280912931m", 0, INT64_MAX, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("99999999999999999999999999h", 0, INT64_MAX, &v), MW_ETOOBIG);
	assert_int_equal(mw_parse_duration("1000001d", 0, 1000000LL * 86400, &v), MW_ETOOBIG);
	assert_int_equal(v, INT64_C(106751991167300) * 86400);
}

static void
test_parse_duration_junk(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " ", "s", "m", "fast", "1w", "1mm", "1 s", "1s ", "1.5h", "1e3", "0x10", "10sec", "5M", "1d1h",
		/* negative, with and without a unit, and as large as it gets */
		"-1", "-1m", "-0", "-0s", " -5h", "-9223372036854775809", "+-1",
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad); i++) {
		int64_t v = 42;
		assert_int_equal(mw_parse_duration(bad[i], 0, INT64_MAX, &v), MW_EINVAL);
		assert_int_equal(v, 42);
	}
}

#define T(f) cmocka_unit_test(f)
#define TT(f) cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_strerror_distinct),
		T(test_rfc3339_known),
		T(test_rfc3339_buffer_limit),
		T(test_clocks),
		T(test_hex_known),
		T(test_random),
		T(test_uuid4),
		TT(test_read_file_exact_limit),
		TT(test_read_file_one_over),
		TT(test_read_file_binary_and_null_len),
		TT(test_read_file_missing_and_dir),
		TT(test_write_atomic_modes),
		TT(test_write_atomic_replace),
		TT(test_write_atomic_fails_cleanly),
		TT(test_mkdir_p_nested),
		TT(test_mkdir_p_on_file_fails),
		T(test_mkdir_p_too_long),
		T(test_snprintf_truncation),
		T(test_ct_equal),
		T(test_parse_time),
		T(test_parse_duration_good),
		T(test_parse_duration_bounds),
		T(test_parse_duration_overflow),
		T(test_parse_duration_junk),
		T(test_ip_same_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
