/* log: formats one line per call and writes it with a single write(2), so
   lines from different threads never interleave. Owns no other state than
   the level, which any thread may read. */
#include "meshwatch/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

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

void
mw_log(int level, const char *tag, int with_errno, const char *fmt, ...)
{
	static const char *const upper[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	int saved = errno;
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	int w = snprintf(line + n, sizeof line - n, ".%03ldZ %-5s [%s] ", ts.tv_nsec / 1000000,
	    upper[level & 3], tag);
	if (w > 0)
		n += (size_t)w;
	va_list ap;
	va_start(ap, fmt);
	w = vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	if (w > 0)
		n = (n + (size_t)w < sizeof line) ? n + (size_t)w : sizeof line - 1;
	if (with_errno && n < sizeof line - 1) {
		char eb[128];
		const char *es = strerror_r(saved, eb, sizeof eb);
		w = snprintf(line + n, sizeof line - n, ": %s", es);
		if (w > 0)
			n = (n + (size_t)w < sizeof line) ? n + (size_t)w : sizeof line - 1;
	}
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	ssize_t r = write(STDERR_FILENO, line, n);
	(void)r;
	errno = saved;
}
