/* Unit tests for log.c: one line per call, whatever the message holds.
   Control characters from outside (a login name, a peer's error text) come
   out escaped, so no caller can write a forged second line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshwatch/log.h"

/* Runs one log call with stderr sent to a temporary file; returns what it
   wrote (NUL-terminated, in buf). */
static size_t
capture(char *buf, size_t cap, void (*fn)(void))
{
	char path[] = "/tmp/mw-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	ssize_t n = pread(fd, buf, cap - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void
log_forged(void)
{
	const char *user = "x\n2026-01-01T00:00:00.000Z INFO  [auth] user \"admin\" logged in\r\x01\x1b[31m\x7f\tend";
	log_info("auth", "failed login for \"%s\" from %s", user, "192.0.2.1");
}

static void
test_control_chars_escaped(void **state)
{
	(void)state;
	char buf[4096];
	size_t n = capture(buf, sizeof buf, log_forged);
	/* one line: the only newline is the last byte */
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	assert_null(strchr(buf, '\r'));
	assert_non_null(strstr(buf,
	    " INFO  [auth] failed login for \"x\\n2026-01-01T00:00:00.000Z INFO  [auth] user \"admin\" logged in"
	    "\\r\\x01\\x1b[31m\\x7f\\tend\" from 192.0.2.1\n"));
	for (size_t i = 0; i + 1 < n; i++)
		assert_true((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
}

static void
log_utf8(void)
{
	log_warn("scan", "vendor %s", "Zürich \xe2\x9c\x93");
}

static void
test_utf8_kept(void **state)
{
	(void)state;
	char buf[1024];
	capture(buf, sizeof buf, log_utf8);
	assert_non_null(strstr(buf, "WARN  [scan] vendor Zürich \xe2\x9c\x93\n"));
}

static void
log_long(void)
{
	static char msg[3000];
	for (size_t i = 0; i < sizeof msg - 1; i++)
		msg[i] = i % 3 ? 'a' : '\n';
	msg[sizeof msg - 1] = '\0';
	log_error("http", "%s", msg);
}

static void
test_long_message_one_line(void **state)
{
	(void)state;
	char buf[4096];
	size_t n = capture(buf, sizeof buf, log_long);
	assert_true(n <= 1024);
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	/* cut between escapes, never inside one */
	assert_true(buf[n - 2] == 'a' || (buf[n - 3] == '\\' && buf[n - 2] == 'n'));
}

static void
log_errno(void)
{
	errno = ENOENT;
	log_error_errno("db", "open %s", "/no/such\nfile");
}

static void
test_errno_text(void **state)
{
	(void)state;
	char buf[1024];
	capture(buf, sizeof buf, log_errno);
	assert_non_null(strstr(buf, "ERROR [db] open /no/such\\nfile: No such file or directory\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_chars_escaped),
		cmocka_unit_test(test_utf8_kept),
		cmocka_unit_test(test_long_message_one_line),
		cmocka_unit_test(test_errno_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
