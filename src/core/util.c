/* util: shared helpers, safe from any thread. The one piece of state is
   the process-wide abort flag (mw_request_abort), set once at shutdown. */
#include "meshwatch/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/buf.h"

const char *
mw_strerror(int code)
{
	switch (code) {
	case MW_OK: return "success";
	case MW_EINVAL: return "invalid input";
	case MW_ENOMEM: return "out of memory";
	case MW_EIO: return "input/output error";
	case MW_ENOTFOUND: return "not found";
	case MW_EEXIST: return "already exists";
	case MW_ETOOBIG: return "limit exceeded";
	case MW_EDB: return "database error";
	case MW_ECRYPTO: return "cryptography error";
	case MW_EAUTH: return "authentication failed";
	case MW_ELIMIT: return "rate limited";
	case MW_EREPLIED: return "error reply sent";
	case MW_ELAST: return "the last one must remain";
	default: return "unknown error";
	}
}

void
mw_cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

int
mw_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t deadline_ms)
{
	if (deadline_ms < 0)
		deadline_ms = 0;
	struct timespec ts = {deadline_ms / 1000, (deadline_ms % 1000) * 1000000};
	return pthread_cond_timedwait(c, mu, &ts) == ETIMEDOUT ? 1 : 0;
}

uint64_t
mw_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
mw_bucket_init(struct mw_bucket *b, double rate_per_s, double burst)
{
	b->rate_per_ns = rate_per_s / 1e9;
	b->burst = burst;
	b->tokens = burst;
	b->at_ns = (int64_t)mw_now_ns();
}

int
mw_bucket_take(struct mw_bucket *b)
{
	int64_t now = (int64_t)mw_now_ns();
	b->tokens += (double)(now - b->at_ns) * b->rate_per_ns;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->at_ns = now;
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}

int64_t
mw_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
mw_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
mw_wall_s(void)
{
	return (int64_t)time(NULL);
}

int64_t
mw_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
mw_rfc3339(int64_t t, char *out, size_t outlen)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		if (outlen > 0)
			out[0] = '\0';
	}
	return out;
}

char *
mw_rfc3339_ms(int64_t ms, char *out, size_t outlen)
{
	struct tm tm;
	time_t tt = (time_t)(ms / 1000);
	if (outlen < 25 || gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		if (outlen > 0)
			out[0] = '\0';
		return out;
	}
	size_t l = strlen(out);
	snprintf(out + l, outlen - l, ".%03dZ", (int)(ms % 1000));
	return out;
}

int
mw_parse_time(const char *s, int64_t *out)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (*p >= '0' && *p <= '9') {
		size_t k = strspn(p, "0123456789");
		if (p[k] == '\0') {
			errno = 0;
			char *end;
			long long v = strtoll(s, &end, 10);
			if (errno == ERANGE || *end || v < 0 || v > MW_TIME_MAX)
				return MW_ETOOBIG;
			*out = v;
			return 0;
		}
	}
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0))
		return MW_EINVAL;
	errno = 0;
	time_t t = timegm(&tm);
	if ((t == (time_t)-1 && errno) || t < 0 || (int64_t)t > MW_TIME_MAX)
		return MW_ETOOBIG;
	*out = (int64_t)t;
	return 0;
}

int
mw_parse_duration(const char *s, int64_t min_s, int64_t max_s, int64_t *out_s)
{
	char *end;
	errno = 0;
	/* strtoll, as every caller used: leading blanks and a '+' pass */
	long long v = strtoll(s, &end, 10);
	if (end == s || memchr(s, '-', (size_t)(end - s)) != NULL)
		return MW_EINVAL;
	int64_t unit = 1;
	if (*end != '\0') {
		unit = end[1] != '\0' ? 0 : *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
		if (unit == 0)
			return MW_EINVAL;
	}
	/* dividing the bound, not multiplying the number, cannot overflow */
	if (errno == ERANGE || v > max_s / unit || v * unit < min_s)
		return MW_ETOOBIG;
	*out_s = v * unit;
	return 0;
}

int
mw_random(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return MW_EIO;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
mw_drbg_entropy(void *ctx, unsigned char *out, size_t len)
{
	(void)ctx;
	return mw_random(out, len) == 0 ? 0 : -0x003C; /* MBEDTLS_ERR_ENTROPY_SOURCE_FAILED */
}

void
mw_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
mw_uuid4(char out[37])
{
	uint8_t b[16];
	if (mw_random(b, sizeof b) != 0)
		return MW_EIO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
	return 0;
}

char *
mw_read_file(const char *path, size_t max, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = MW_EIO;
		return NULL;
	}
	/* one byte over max tells a file of max bytes from a longer one */
	struct mw_buf b;
	mw_buf_init(&b, max + 1);
	for (;;) {
		char *at;
		size_t room;
		int rc = mw_buf_space(&b, 4096, &at, &room);
		if (rc != 0) {
			*err = rc;
			goto fail;
		}
		ssize_t r = read(fd, at, room);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*err = MW_EIO;
			goto fail;
		}
		if (r == 0)
			break;
		mw_buf_commit(&b, (size_t)r);
		if (mw_buf_len(&b) > max) {
			*err = MW_ETOOBIG;
			goto fail;
		}
	}
	close(fd);
	char *text = mw_buf_take(&b, len);
	if (text == NULL)
		*err = MW_ENOMEM;
	return text;
fail:
	{
		int saved = errno;
		close(fd);
		mw_buf_finish(&b);
		errno = saved;
	}
	return NULL;
}

int
mw_write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	char tmp[MW_PATH_MAX];
	if (mw_snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) != 0) {
		errno = ENAMETOOLONG;
		return MW_EIO;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return MW_EIO;
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return 0;
fail:
	{
		int saved = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		errno = saved;
	}
	return MW_EIO;
}

int
mw_mkdir_p(const char *path, int mode)
{
	char buf[MW_PATH_MAX];
	if (mw_snprintf(buf, sizeof buf, "%s", path) != 0) {
		errno = ENAMETOOLONG;
		return MW_EIO;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return MW_EIO;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return MW_EIO;
	struct stat st;
	if (stat(buf, &st) != 0)
		return MW_EIO;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return MW_EIO;
	}
	return 0;
}

int
mw_snprintf(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= outlen) ? MW_ETOOBIG : 0;
}

int
mw_resolve(const char *host, char *ip, size_t iplen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
		return MW_ENOTFOUND;
	int rc = MW_ENOTFOUND;
	for (struct addrinfo *a = res; a && rc; a = a->ai_next) {
		const void *src = a->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr
		                  : a->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr
		                                             : NULL;
		if (src && inet_ntop(a->ai_family, src, ip, (socklen_t)iplen))
			rc = 0;
	}
	freeaddrinfo(res);
	return rc;
}

static volatile int abort_flag;

void
mw_request_abort(void)
{
	__atomic_store_n(&abort_flag, 1, __ATOMIC_RELAXED);
}

int
mw_abort_requested(void)
{
	return __atomic_load_n(&abort_flag, __ATOMIC_RELAXED);
}

int
mw_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= (uint8_t)(x[i] ^ y[i]);
	return d == 0;
}

/* IPv4 as IPv4-mapped IPv6, so both spellings compare equal. */
static int
ip_bytes(const char *s, unsigned char o[16])
{
	memset(o, 0, 16);
	if (inet_pton(AF_INET, s, o + 12) == 1) {
		o[10] = o[11] = 0xff;
		return 0;
	}
	return inet_pton(AF_INET6, s, o) == 1 ? 0 : -1;
}

int
mw_ip_same(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	return ip_bytes(a, x) == 0 && ip_bytes(b, y) == 0 && memcmp(x, y, 16) == 0;
}

int
mw_ip_is_loopback(const char *ip)
{
	static const unsigned char one[16] = {[15] = 1}, mapped[12] = {[10] = 0xff, [11] = 0xff};
	unsigned char x[16];
	if (ip_bytes(ip, x) != 0)
		return 0;
	return memcmp(x, one, 16) == 0 || (memcmp(x, mapped, 12) == 0 && x[12] == 127);
}

int
mw_ip_same_host(const char *client, const char *ip)
{
	return mw_ip_same(client, ip) || (mw_ip_is_loopback(client) && mw_ip_is_loopback(ip));
}

int
mw_valid_san(const char *s)
{
	unsigned char ip[16];
	if (inet_pton(AF_INET, s, ip) == 1 || inet_pton(AF_INET6, s, ip) == 1)
		return 1;
	size_t n = strlen(s);
	if (n == 0 || n >= MW_NAME_MAX)
		return 0;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return 0;
	return *s != '\0' && *s != '.' && *s != '-';
}
