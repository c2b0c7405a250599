/* A growable byte buffer with a hard maximum set at init (curl's dynbuf):
   request and response bodies, rendered text. Appending past the maximum
   fails with MW_ETOOBIG and leaves the contents as they were, so a buffer
   fed from the network never grows without bound. The contents are always
   NUL-terminated (the NUL is not counted in the length or the maximum).
   Not locked: one thread uses a buffer at a time. */
#ifndef MESHWATCH_BUF_H
#define MESHWATCH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct mw_buf {
	/* private: callers use the functions below, which keep len <= max */
	char *p;
	size_t len, cap, max;
};

/* An empty buffer that will hold at most max bytes; allocates nothing yet. */
void mw_buf_init(struct mw_buf *b, size_t max);
/* Frees the memory; b is empty again, with the same maximum. */
void mw_buf_finish(struct mw_buf *b);
/* Empties b and keeps its memory for reuse. */
void mw_buf_reset(struct mw_buf *b);

/* Appends len bytes. 0; MW_ETOOBIG past the maximum or MW_ENOMEM, with
   nothing appended. */
int mw_buf_append(struct mw_buf *b, const void *data, size_t len);
/* Appends formatted text; the same returns as mw_buf_append. */
int mw_buf_printf(struct mw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mw_buf_vprintf(struct mw_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* For reading straight into the buffer: makes room for want more bytes
   (fewer when the maximum is nearer) and sets *at to where they go and
   *room to how many fit (at least 1). MW_ETOOBIG when b is at its maximum,
   MW_ENOMEM. Follow with mw_buf_commit() of the bytes written there. */
int mw_buf_space(struct mw_buf *b, size_t want, char **at, size_t *room);
/* Adds n bytes written at the place mw_buf_space gave (n <= its room). */
void mw_buf_commit(struct mw_buf *b, size_t n);

/* The contents, NUL-terminated: "" for an empty buffer. Valid until the
   next call that changes b. */
const char *mw_buf_str(const struct mw_buf *b);
size_t mw_buf_len(const struct mw_buf *b);

/* Hands the contents over as a malloc'd NUL-terminated string (the caller
   frees it; "" when empty) and sets *len (when not NULL) to its length;
   b is left empty with no memory. NULL when out of memory. */
char *mw_buf_take(struct mw_buf *b, size_t *len);

#endif
