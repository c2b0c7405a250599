/* Levelled logging with subsystem tags. Thread-safe: one write(2) per line. */
#ifndef MESHWATCH_LOG_H
#define MESHWATCH_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern volatile int mw_log_level;

/* Parses "error", "warn", "info", "debug". Returns the level or -1. */
int log_parse_level(const char *s);
const char *log_level_name(int level);
void log_set_level(int level);

/* Writes one line "2026-11-22T10:30:00Z INFO [tag] message" to stderr;
   control characters in the message come out escaped (\n, \xNN).
   with_errno appends ": strerror(errno)". */
void mw_log(int level, const char *tag, int with_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The level check happens before any argument is formatted. */
#define MW_LOG_AT(lvl, tag, en, ...) \
	do { \
		if ((lvl) <= mw_log_level) \
			mw_log((lvl), (tag), (en), __VA_ARGS__); \
	} while (0)
#define log_error(tag, ...) MW_LOG_AT(LOG_ERROR, tag, 0, __VA_ARGS__)
#define log_warn(tag, ...) MW_LOG_AT(LOG_WARN, tag, 0, __VA_ARGS__)
#define log_info(tag, ...) MW_LOG_AT(LOG_INFO, tag, 0, __VA_ARGS__)
#define log_debug(tag, ...) MW_LOG_AT(LOG_DEBUG, tag, 0, __VA_ARGS__)
/* Variants that append the current errno text. */
#define log_error_errno(tag, ...) MW_LOG_AT(LOG_ERROR, tag, 1, __VA_ARGS__)
#define log_warn_errno(tag, ...) MW_LOG_AT(LOG_WARN, tag, 1, __VA_ARGS__)

#endif
