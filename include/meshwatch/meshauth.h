/* meshauth: HMAC-SHA256 signatures on mesh requests and responses when a
   mesh secret is set. A request signature covers the method, the path with
   its query, a timestamp, a random nonce, the caller's identity headers, the
   destination node's id (so a captured request is refused by every other
   node) and the SHA-256 of the body; the response signature binds the status and the
   body to the request's nonce. Timestamps off by more than MESHAUTH_SKEW_S
   and nonces seen before are rejected. Thread-safe. */
#ifndef MESHWATCH_MESHAUTH_H
#define MESHWATCH_MESHAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

#define MESHAUTH_SKEW_S 60
#define MESHAUTH_NONCE_LEN 32      /* hex characters */
#define MESHAUTH_SIG_LEN 64        /* hex characters */

struct meshauth;

/* secret may be "" (then nothing is signed and everything is accepted).
   replay_slots bounds the nonce memory. NULL when out of memory. */
struct meshauth *meshauth_create(const char *secret, int replay_slots) MW_MUST_CHECK;
void meshauth_destroy(struct meshauth *a);
int meshauth_enabled(const struct meshauth *a);

/* Writes "X-Mw-Timestamp: ..\r\nX-Mw-Nonce: ..\r\nX-Mw-Signature: ..\r\n"
   to out and the nonce to nonce_out (MESHAUTH_NONCE_LEN+1 bytes). identity
   is the caller's identity text (the same string the callee rebuilds from
   the X-Mw-* identity headers). dest is the id of the node the request is
   for ("" only where the callee accepts that, see api_mesh.c). Returns 0 or MW_ETOOBIG. Writes "" when
   signing is off. */
int meshauth_sign_request(struct meshauth *a, const char *method, const char *path, const char *identity,
    const char *dest, const void *body, size_t blen, int64_t now, char *out, size_t outlen, char *nonce_out);

/* Checks a request signed for destination dest (the callee's own id). 0 when valid (or signing is off), else MW_EAUTH with a
   reason in why. A valid nonce is remembered until it could no longer pass
   the timestamp check; MW_ELIMIT when the nonce memory is full of live
   nonces. */
int meshauth_verify_request(struct meshauth *a, const char *method, const char *path, const char *identity,
    const char *dest, const char *ts, const char *nonce, const char *sig, const void *body, size_t blen, int64_t now, char *why,
    size_t whylen);

/* Response signature (hex, MESHAUTH_SIG_LEN+1 bytes) for status and body
   answering the request with this nonce. */
void meshauth_sign_response(struct meshauth *a, const char *nonce, int status, const void *body, size_t blen,
    char *sig_out);
/* 0 when sig matches, MW_EAUTH otherwise (always 0 when signing is off). */
int meshauth_verify_response(struct meshauth *a, const char *nonce, int status, const void *body, size_t blen,
    const char *sig);

#endif
