/* auth: password hashing, session tokens and the login rate limiter.
   Thread-safe. Hashing is deliberately slow (PBKDF2, >= 100k iterations):
   call it from a request thread, never from an event loop. */
#ifndef MESHWATCH_AUTH_H
#define MESHWATCH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

#define AUTH_HASH_MAX 256
#define AUTH_TOKEN_LEN 64       /* hex characters of a session token */
#define AUTH_TOKEN_HASH_LEN 64  /* hex characters of its SHA-256 */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256

/* Encodes "pbkdf2-sha256$ITER$SALT_B64$HASH_B64" into out. 0, MW_ECRYPTO,
   or MW_ETOOBIG when out is too small. */
int auth_hash_password(const char *password, int iterations, char *out, size_t outlen);

/* 1 when password matches the encoded hash, 0 when not, negative when the
   encoding is not understood. Constant-time in the comparison. */
int auth_verify_password(const char *password, const char *encoded);

/* A new random token (AUTH_TOKEN_LEN hex chars + NUL) and its hash. */
int auth_new_token(char token[AUTH_TOKEN_LEN + 1], char hash[AUTH_TOKEN_HASH_LEN + 1]);

/* API tokens: "mwt_" and 64 hex characters (32 random bytes), so that a
   secret found in a file or a log is recognisable as meshwatch's. */
#define AUTH_API_TOKEN_PREFIX "mwt_"
#define AUTH_API_TOKEN_LEN (4 + 64)
/* A new random API token and its hash (as auth_token_hash). 0 or MW_EIO. */
int auth_new_api_token(char token[AUTH_API_TOKEN_LEN + 1], char hash[AUTH_TOKEN_HASH_LEN + 1]);

/* SHA-256 of a token, hex. */
void auth_token_hash(const char *token, char hash[AUTH_TOKEN_HASH_LEN + 1]);

/* Login rate limiter: a fixed table of keys (client addresses, or hashes
   of usernames), each with a fixed one-minute window. When the table is full the least recently
   used entry is reused, so memory is bounded whatever clients do. */
struct ratelimit;
/* NULL when slots or per_minute is below 1, or out of memory. */
struct ratelimit *ratelimit_create(int per_minute, int slots) MW_MUST_CHECK;
void ratelimit_destroy(struct ratelimit *rl);
/* Records an attempt from key at now_ms. Returns 0 when allowed, or the
   number of seconds to wait (> 0) when over the limit. */
int ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now_ms);
void ratelimit_set_rate(struct ratelimit *rl, int per_minute);
/* Forgets key's attempts (after a successful login). */
void ratelimit_reset(struct ratelimit *rl, const char *key);

/* The hash a login for an unknown username is checked against, so that it
   costs the same PBKDF2 run as a known user's: iterations is the node's
   configured pbkdf2_iterations. Writes "pbkdf2-sha256$ITER$...$..." (a
   fixed salt and key, which no password matches) into out: 0, or
   MW_ETOOBIG when out is too small. */
int auth_dummy_hash(int iterations, char *out, size_t outlen);

/* Validation shared by the API and the ROOT_* start-up path: NULL when
   fine, else a sentence naming the problem. */
const char *auth_check_username(const char *username);
const char *auth_check_password(const char *password);

#endif
