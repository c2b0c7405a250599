/* Small helpers every module shares: time, randomness, hex, error codes. */
#ifndef MESHWATCH_UTIL_H
#define MESHWATCH_UTIL_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "meshwatch/limits.h"

/* One error convention: 0 on success, a negative MW_E* code on failure. */
enum {
	MW_OK = 0,
	MW_EINVAL = -1,   /* bad argument or input */
	MW_ENOMEM = -2,   /* allocation failed */
	MW_EIO = -3,      /* file or socket I/O failed (see errno) */
	MW_ENOTFOUND = -4,
	MW_EEXIST = -5,
	MW_ETOOBIG = -6,  /* a size or count limit was reached */
	MW_EDB = -7,      /* the database refused */
	MW_ECRYPTO = -8,  /* mbedTLS failed */
	MW_EAUTH = -9,    /* credentials rejected */
	MW_ELIMIT = -10,  /* rate limited */
	MW_EREPLIED = -11, /* an HTTP handler's helper already sent the error
	                      reply: its caller only returns */
	MW_ELAST = -12,   /* refused: it would remove the last of something
	                     that must remain (the last administrator) */
};

/* On a function whose result must not be dropped: a create or start that
   can fail, a store write, a parser. GCC warns even through a (void) cast,
   so a caller that may ignore the result says so with an if. */
#define MW_MUST_CHECK __attribute__((warn_unused_result))

/* A short English description of an MW_E* code; never NULL. */
const char *mw_strerror(int code);

/* Monotonic milliseconds, for durations and deadlines. */
int64_t mw_now_ms(void);
/* Monotonic nanoseconds, for send times and RTTs. */
uint64_t mw_now_ns(void);
/* Wall clock in milliseconds since the epoch. */
int64_t mw_wall_ms(void);
/* Monotonic time in seconds with sub-millisecond precision. */
double mw_now_s(void);
/* Wall-clock seconds since the epoch. */
int64_t mw_wall_s(void);

/* A condition variable timed on the monotonic clock, for threads that
   sleep until a deadline or until another thread signals (a stop): they
   wake once per deadline instead of polling a flag. */
void mw_cond_init_mono(pthread_cond_t *c);
/* Waits on c (mu held) until signalled or until deadline_ms (mw_now_ms
   time). Returns 0 when signalled (or spuriously woken), 1 at the deadline. */
int mw_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t deadline_ms);

/* A token bucket: rate_per_s tokens a second, at most burst saved; starts
   full. Not locked: its owner serialises the calls. */
struct mw_bucket {
	double rate_per_ns, burst, tokens;
	int64_t at_ns;
};
void mw_bucket_init(struct mw_bucket *b, double rate_per_s, double burst);
/* Takes one token: 1, or 0 when the bucket is empty. */
int mw_bucket_take(struct mw_bucket *b);

/* Formats t (seconds since the epoch, UTC) as "2026-11-22T10:30:00Z".
   out must hold at least 21 bytes; returns out. */
char *mw_rfc3339(int64_t t, char *out, size_t outlen);
/* The same with milliseconds, from ms since the epoch (ms >= 0):
   "2026-11-22T10:30:00.123Z"; out must hold at least 25 bytes. */
char *mw_rfc3339_ms(int64_t ms, char *out, size_t outlen);

/* The latest time any API accepts: 9999-12-31T23:59:59Z. Times from
   outside are checked against [0, MW_TIME_MAX] before any arithmetic, so
   milliseconds (t * 1000) and spans (to - from) cannot overflow. */
#define MW_TIME_MAX INT64_C(253402300799)

/* Parses a time from outside: epoch seconds ("1764000000") or RFC 3339 UTC
   ("2026-11-22T10:30:00Z", also "+00:00"). 0 with *out set; MW_EINVAL when
   s is neither; MW_ETOOBIG when it is a time outside [0, MW_TIME_MAX]
   (negative, or too large, whatever its number of digits). */
int mw_parse_time(const char *s, int64_t *out) MW_MUST_CHECK;

/* Parses a duration from outside: a whole number with an optional unit,
   s, m, h or d ("90", "90s", "60m", "2h", "1d"; no unit means seconds),
   into *out_s seconds. 0 with *out_s set; MW_EINVAL when s is not such a
   duration (empty, negative, junk, another or a longer unit); MW_ETOOBIG
   when it is one outside [min_s, max_s] (0 <= min_s <= max_s), however
   large its number. */
int mw_parse_duration(const char *s, int64_t min_s, int64_t max_s, int64_t *out_s);

/* Fills buf with n bytes from the kernel's CSPRNG. Returns 0 or MW_EIO. */
int mw_random(void *buf, size_t n);

/* The entropy source for mbedTLS's CTR-DRBG (mbedtls_ctr_drbg_seed's
   f_entropy; ctx unused): the kernel's CSPRNG. Used instead of an
   mbedtls_entropy_context, which in this mbedTLS build carries the HAVEGE
   timing generator (not advised in virtual machines): 38 KB written at
   every init, in each TLS server, client and certificate check.
   0, or mbedTLS's "entropy source failed". */
int mw_drbg_entropy(void *ctx, unsigned char *out, size_t len);

/* Writes 2n lowercase hex digits and a NUL to out (2n+1 bytes). */
void mw_hex(const uint8_t *in, size_t n, char *out);

/* Random version-4 UUID text (37 bytes with NUL). Returns 0 or MW_EIO. */
int mw_uuid4(char out[37]);

/* Reads a whole file of at most max bytes into a NUL-terminated malloc'd
   buffer. Returns NULL and sets *err (MW_EIO, MW_ETOOBIG, MW_ENOMEM). */
char *mw_read_file(const char *path, size_t max, size_t *len, int *err);

/* Writes data to path atomically (temporary file, fsync, rename) with the
   given mode. Returns 0 or MW_EIO (errno set). */
int mw_write_file_atomic(const char *path, const void *data, size_t len, int mode);

/* Creates a directory (and its parents) with mode if missing. 0 or MW_EIO. */
int mw_mkdir_p(const char *path, int mode);

/* snprintf that reports truncation: 0 when it fit, MW_ETOOBIG otherwise. */
int mw_snprintf(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Constant-time comparison of n bytes: 1 when equal. */
int mw_ct_equal(const void *a, const void *b, size_t n);

/* Resolves a host name to its first IPv4 or IPv6 address (numeric text).
   Blocking (getaddrinfo): worker threads only. 0 or MW_ENOTFOUND. */
int mw_resolve(const char *host, char *ip, size_t iplen);

/* 1 when a and b are the same IP address (IPv4 also written as
   IPv4-mapped IPv6), 0 otherwise or when either is not an address. */
int mw_ip_same(const char *a, const char *b);
/* 1 when ip is a loopback address: 127.0.0.0/8, ::1, or 127/8 mapped. */
int mw_ip_is_loopback(const char *ip);
/* 1 when a connection from client can come from the host at ip: the same
   address, or both on this host (loopback connections between nodes on
   one machine leave from 127.0.0.1 whatever address a node listens on). */
int mw_ip_same_host(const char *client, const char *ip);

/* Process-wide shutdown flag: blocking network work (polls, PMTU searches,
   report deliveries) checks it at least every 100 ms and gives up, so a
   clean stop never waits for a slow peer. */
void mw_request_abort(void);
int mw_abort_requested(void);

#define MW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* 1 when s is an IP address or a DNS name shorter than MW_NAME_MAX
   (letters, digits, '-', '.', a leading "*." allowed), 0 otherwise. */
int mw_valid_san(const char *s);

#endif
