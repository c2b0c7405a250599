/* log: formats one line per call and writes it with a single write(2), so
   lines from different threads never interleave. Control characters in the
   message are escaped here (a newline becomes the two characters \n, other
   control characters \xNN), so a string from outside (a login name, a
   peer's error text) can never start a forged line, whichever caller logged
   it. Owns no other state than the level, which any thread may read. */
#include "meshwatch/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/limits.h"

volatile int mw_log_level = LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

int
log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "warning") == 0)
		return LOG_WARN;
	return -1;
}

const char *
log_level_name(int level)
{
	return (level >= 0 && level < 4) ? names[level] : "info";
}

void
log_set_level(int level)
{
	if (level >= LOG_ERROR && level <= LOG_DEBUG)
		mw_log_level = level;
}

/* Appends src to line[*n..cap-2], escaping control characters; stops
   (without splitting an escape) when the line is full. */
static void
append_escaped(char *line, size_t cap, size_t *n, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = *n;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char esc[4];
		size_t el = 0;
		if (*p == '\n') {
			esc[0] = '\\', esc[1] = 'n', el = 2;
		} else if (*p == '\r') {
			esc[0] = '\\', esc[1] = 'r', el = 2;
		} else if (*p == '\t') {
			esc[0] = '\\', esc[1] = 't', el = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			esc[0] = '\\', esc[1] = 'x', esc[2] = hex[*p >> 4], esc[3] = hex[*p & 15], el = 4;
		} else {
			esc[0] = (char)*p, el = 1;
		}
		if (k + el > cap - 2)
			break;
		memcpy(line + k, esc, el);
		k += el;
	}
	*n = k;
}

void
mw_log(int level, const char *tag, int with_errno, const char *fmt, ...)
{
	static const char *const upper[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	int saved = errno;
	char line[LOG_LINE_MAX], msg[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	int w = snprintf(line + n, sizeof line - n, ".%03ldZ %-5s [%s] ", ts.tv_nsec / 1000000,
	    upper[level & 3], tag);
	if (w > 0)
		n = (n + (size_t)w < sizeof line) ? n + (size_t)w : sizeof line - 1;
	va_list ap;
	va_start(ap, fmt);
	w = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (w >= 0)
		append_escaped(line, sizeof line, &n, msg);
	if (with_errno && n < sizeof line - 2) {
		char eb[128];
		const char *es = strerror_r(saved, eb, sizeof eb);
		append_escaped(line, sizeof line, &n, ": ");
		append_escaped(line, sizeof line, &n, es);
	}
	if (n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	ssize_t r = write(STDERR_FILENO, line, n);
	(void)r;
	errno = saved;
}
