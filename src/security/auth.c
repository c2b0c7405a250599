/* auth: stateless helpers plus the rate limiter's table, which any
   request thread may touch under its mutex. */
#include "meshwatch/auth.h"

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/util.h"

#define SALT_LEN 16
#define DK_LEN 32

static int
pbkdf2(const char *password, const unsigned char *salt, size_t saltlen, int iterations, unsigned char *out, size_t outlen)
{
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	int r = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	if (r == 0)
		r = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)password, strlen(password), salt, saltlen,
		    (unsigned)iterations, (uint32_t)outlen, out);
	mbedtls_md_free(&md);
	return r == 0 ? 0 : MW_ECRYPTO;
}

int
auth_hash_password(const char *password, int iterations, char *out, size_t outlen)
{
	unsigned char salt[SALT_LEN], dk[DK_LEN];
	unsigned char s64[64], d64[64];
	size_t sl, dl;
	if (mw_random(salt, sizeof salt) != 0 || pbkdf2(password, salt, sizeof salt, iterations, dk, sizeof dk) != 0)
		return MW_ECRYPTO;
	if (mbedtls_base64_encode(s64, sizeof s64, &sl, salt, sizeof salt) != 0 ||
	    mbedtls_base64_encode(d64, sizeof d64, &dl, dk, sizeof dk) != 0)
		return MW_ECRYPTO;
	return mw_snprintf(out, outlen, "pbkdf2-sha256$%d$%s$%s", iterations, s64, d64) == 0 ? 0 : MW_ETOOBIG;
}

int
auth_verify_password(const char *password, const char *encoded)
{
	char copy[AUTH_HASH_MAX];
	unsigned char salt[64], want[64], got[64];
	size_t sl, wl;
	if (mw_snprintf(copy, sizeof copy, "%s", encoded) != 0 || strncmp(copy, "pbkdf2-sha256$", 14) != 0)
		return MW_EINVAL;
	char *iter = copy + 14;
	char *s = strchr(iter, '$');
	if (s == NULL)
		return MW_EINVAL;
	*s++ = '\0';
	char *d = strchr(s, '$');
	if (d == NULL)
		return MW_EINVAL;
	*d++ = '\0';
	char *end;
	long it = strtol(iter, &end, 10);
	if (*end || it < 1 || it > 100000000)
		return MW_EINVAL;
	if (mbedtls_base64_decode(salt, sizeof salt, &sl, (unsigned char *)s, strlen(s)) != 0 ||
	    mbedtls_base64_decode(want, sizeof want, &wl, (unsigned char *)d, strlen(d)) != 0 || wl != DK_LEN ||
	    sl < SALT_LEN)
		return MW_EINVAL;
	if (pbkdf2(password, salt, sl, (int)it, got, wl) != 0)
		return MW_ECRYPTO;
	return mw_ct_equal(got, want, wl);
}

int
auth_dummy_hash(int iterations, char *out, size_t outlen)
{
	/* base64 of a 16-byte salt and a 32-byte key, all zero */
	return mw_snprintf(out, outlen, "pbkdf2-sha256$%d$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    iterations);
}

void
auth_token_hash(const char *token, char hash[AUTH_TOKEN_HASH_LEN + 1])
{
	unsigned char d[32];
	mbedtls_sha256_ret((const unsigned char *)token, strlen(token), d, 0);
	mw_hex(d, sizeof d, hash);
}

int
auth_new_token(char token[AUTH_TOKEN_LEN + 1], char hash[AUTH_TOKEN_HASH_LEN + 1])
{
	unsigned char raw[AUTH_TOKEN_LEN / 2];
	if (mw_random(raw, sizeof raw) != 0)
		return MW_EIO;
	mw_hex(raw, sizeof raw, token);
	auth_token_hash(token, hash);
	return 0;
}

int
auth_new_api_token(char token[AUTH_API_TOKEN_LEN + 1], char hash[AUTH_TOKEN_HASH_LEN + 1])
{
	unsigned char raw[32];
	if (mw_random(raw, sizeof raw) != 0)
		return MW_EIO;
	memcpy(token, AUTH_API_TOKEN_PREFIX, 4);
	mw_hex(raw, sizeof raw, token + 4);
	auth_token_hash(token, hash);
	return 0;
}

const char *
auth_check_username(const char *u)
{
	size_t n = strlen(u);
	if (n < 1 || n > 64)
		return "username must be 1 to 64 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		        c == '_' || c == '-' || c == '@'))
			return "username may contain only letters, digits and . _ - @";
	}
	return NULL;
}

const char *
auth_check_password(const char *p)
{
	size_t n = strlen(p);
	if (n < AUTH_PASSWORD_MIN)
		return "password must be at least 8 characters";
	if (n > AUTH_PASSWORD_MAX)
		return "password must be at most 256 characters";
	return NULL;
}

/* Rate limiter */

struct rl_slot {
	char key[48];
	int64_t window_start_ms;
	int count;
	int64_t last_ms;
};

struct ratelimit {
	pthread_mutex_t lock;
	int per_minute;
	int nslots;
	struct rl_slot slots[];
};

struct ratelimit *
ratelimit_create(int per_minute, int slots)
{
	if (slots < 1 || per_minute < 1)
		return NULL;
	struct ratelimit *rl = calloc(1, sizeof *rl + (size_t)slots * sizeof(struct rl_slot));
	if (rl == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->per_minute = per_minute;
	rl->nslots = slots;
	return rl;
}

void
ratelimit_destroy(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

void
ratelimit_set_rate(struct ratelimit *rl, int per_minute)
{
	pthread_mutex_lock(&rl->lock);
	rl->per_minute = per_minute;
	pthread_mutex_unlock(&rl->lock);
}

int
ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	int wait = 0;
	pthread_mutex_lock(&rl->lock);
	struct rl_slot *slot = NULL, *oldest = &rl->slots[0];
	for (int i = 0; i < rl->nslots; i++) {
		struct rl_slot *s = &rl->slots[i];
		if (s->key[0] && strncmp(s->key, key, sizeof s->key - 1) == 0) {
			slot = s;
			break;
		}
		/* an empty slot first, else the least recently used */
		if (oldest->key[0] && (!s->key[0] || s->last_ms < oldest->last_ms))
			oldest = s;
	}
	if (slot == NULL) {
		slot = oldest;
		memset(slot, 0, sizeof *slot);
		snprintf(slot->key, sizeof slot->key, "%s", key);
		slot->window_start_ms = now_ms;
	}
	if (now_ms - slot->window_start_ms >= 60000) {
		slot->window_start_ms = now_ms;
		slot->count = 0;
	}
	slot->last_ms = now_ms;
	if (slot->count >= rl->per_minute) {
		wait = (int)((slot->window_start_ms + 60000 - now_ms + 999) / 1000);
		if (wait < 1)
			wait = 1;
	} else {
		slot->count++;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void
ratelimit_reset(struct ratelimit *rl, const char *key)
{
	pthread_mutex_lock(&rl->lock);
	for (int i = 0; i < rl->nslots; i++) {
		struct rl_slot *s = &rl->slots[i];
		if (s->key[0] && strncmp(s->key, key, sizeof s->key - 1) == 0) {
			s->count = 0;
			break;
		}
	}
	pthread_mutex_unlock(&rl->lock);
}
