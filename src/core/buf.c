/* buf: the one growable byte buffer. Owns nothing but its memory; safe
   from any thread that owns the buffer. It must never hold more than its
   maximum: every growth goes through reserve(), which checks it first. */
#include "meshwatch/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/util.h"

/* The first allocation: most bodies and pages fit. */
#define BUF_FIRST_CAP 4096

void
mw_buf_init(struct mw_buf *b, size_t max)
{
	/* max + 1 (the NUL) and the doubling below must not wrap */
	*b = (struct mw_buf){.max = max < SIZE_MAX / 2 ? max : SIZE_MAX / 2};
}

void
mw_buf_finish(struct mw_buf *b)
{
	free(b->p);
	mw_buf_init(b, b->max);
}

void
mw_buf_reset(struct mw_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

/* Makes room for n more bytes and the NUL: 0, MW_ETOOBIG or MW_ENOMEM. */
static int
reserve(struct mw_buf *b, size_t n)
{
	if (n > b->max - b->len)
		return MW_ETOOBIG;
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap * 2 : BUF_FIRST_CAP;
	if (cap < need)
		cap = need;
	if (cap > b->max + 1)
		cap = b->max + 1;
	char *p = realloc(b->p, cap);
	if (p == NULL)
		return MW_ENOMEM;
	b->p = p;
	b->cap = cap;
	p[b->len] = '\0'; /* a first allocation, with nothing committed after it */
	return 0;
}

int
mw_buf_append(struct mw_buf *b, const void *data, size_t len)
{
	int rc = reserve(b, len);
	if (rc != 0)
		return rc;
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	if (b->p)
		b->p[b->len] = '\0';
	return 0;
}

int
mw_buf_vprintf(struct mw_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	size_t room = b->p ? b->cap - b->len : 0;
	int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
	int rc = n < 0 ? MW_EINVAL : 0;
	if (rc == 0 && (size_t)n >= room) {
		/* it did not fit: grow once to the size it told, then write */
		rc = reserve(b, (size_t)n);
		if (rc == 0)
			vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
		else if (b->p)
			b->p[b->len] = '\0'; /* undo the cut-off part the first try wrote */
	}
	if (rc == 0)
		b->len += (size_t)n;
	va_end(again);
	return rc;
}

int
mw_buf_printf(struct mw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = mw_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int
mw_buf_space(struct mw_buf *b, size_t want, char **at, size_t *room)
{
	if (b->len == b->max)
		return MW_ETOOBIG;
	if (want == 0)
		want = 1;
	int rc = reserve(b, want < b->max - b->len ? want : b->max - b->len);
	if (rc != 0)
		return rc;
	*at = b->p + b->len;
	*room = b->cap - 1 - b->len;
	return 0;
}

void
mw_buf_commit(struct mw_buf *b, size_t n)
{
	b->len += n;
	b->p[b->len] = '\0';
}

const char *
mw_buf_str(const struct mw_buf *b)
{
	return b->p ? b->p : "";
}

size_t
mw_buf_len(const struct mw_buf *b)
{
	return b->len;
}

char *
mw_buf_take(struct mw_buf *b, size_t *len)
{
	char *p = b->p ? b->p : calloc(1, 1);
	if (p != NULL && len != NULL)
		*len = b->len;
	b->p = NULL;
	mw_buf_finish(b);
	return p;
}
