/* calloc through the per-thread cache.
 *
 * glibc 2.36 (Debian 12) serves malloc() and free() of small blocks from a
 * per-thread cache without a lock, but its calloc() skips that cache and
 * always takes the arena lock. mbedTLS allocates every bignum with calloc:
 * a full TLS handshake makes thousands of them, and with the single malloc
 * arena main.c asks for, parallel handshakes queued on that one lock
 * (futex wake-ups and calloc were a third of the server's CPU in perf).
 * Small blocks are therefore taken with malloc() and cleared here; large
 * ones keep glibc's calloc, which knows when fresh pages are already zero.
 *
 * The executable's definition takes precedence over libc's for every
 * shared library in the process (ELF symbol interposition), which is how
 * mbedTLS, SQLite and civetweb get it. meson.build leaves this file out
 * under AddressSanitizer, which must see every allocation through its own
 * calloc.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* glibc's own calloc, exported under this name since glibc 2.2.5. */
extern void *__libc_calloc(size_t nmemb, size_t size);

/* glibc's per-thread cache holds blocks up to 1032 bytes. */
enum { SMALL_BLOCK = 1024 };

void *calloc(size_t nmemb, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	if (bytes > SMALL_BLOCK)
		return __libc_calloc(nmemb, size);
	void *p = malloc(bytes);
	/* Hides the pointer's origin from the compiler, which would otherwise
	   fuse malloc + memset back into a call to calloc: this one. */
	__asm__("" : "+r"(p));
	if (p != NULL)
		memset(p, 0, bytes);
	return p;
}
