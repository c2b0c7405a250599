/* meshauth: signatures on mesh traffic. Owns the nonce memory, a fixed
   array guarded by a mutex; entries live until their timestamp could no
   longer pass the skew check, so a replay inside the window is caught and
   the array never grows. */
#include "meshwatch/meshauth.h"

#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/util.h"

struct nonce_slot {
	char nonce[MESHAUTH_NONCE_LEN + 1];
	int64_t expires;
};

struct meshauth {
	char *secret;
	size_t secret_len;
	pthread_mutex_t lock;
	int nslots;
	struct nonce_slot *slots;
};

struct meshauth *
meshauth_create(const char *secret, int replay_slots)
{
	struct meshauth *a = calloc(1, sizeof *a);
	if (a == NULL)
		return NULL;
	a->secret = strdup(secret ? secret : "");
	a->secret_len = strlen(a->secret);
	a->nslots = replay_slots > 0 ? replay_slots : 1;
	a->slots = calloc((size_t)a->nslots, sizeof *a->slots);
	pthread_mutex_init(&a->lock, NULL);
	if (a->secret == NULL || a->slots == NULL) {
		meshauth_destroy(a);
		return NULL;
	}
	return a;
}

void
meshauth_destroy(struct meshauth *a)
{
	if (a == NULL)
		return;
	if (a->secret)
		memset(a->secret, 0, a->secret_len);
	free(a->secret);
	free(a->slots);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int
meshauth_enabled(const struct meshauth *a)
{
	return a != NULL && a->secret_len > 0;
}

static void
body_hash(const void *body, size_t blen, char out[65])
{
	unsigned char d[32];
	mbedtls_sha256_ret(body ? body : (const void *)"", blen, d, 0);
	mw_hex(d, sizeof d, out);
}

/* HMAC over the newline-joined parts. */
static void
hmac_parts(struct meshauth *a, const char *const *parts, int n, char out[MESHAUTH_SIG_LEN + 1])
{
	unsigned char mac[32];
	mbedtls_md_context_t ctx;
	mbedtls_md_init(&ctx);
	mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	mbedtls_md_hmac_starts(&ctx, (const unsigned char *)a->secret, a->secret_len);
	for (int i = 0; i < n; i++) {
		mbedtls_md_hmac_update(&ctx, (const unsigned char *)parts[i], strlen(parts[i]));
		mbedtls_md_hmac_update(&ctx, (const unsigned char *)"\n", 1);
	}
	mbedtls_md_hmac_finish(&ctx, mac);
	mbedtls_md_free(&ctx);
	mw_hex(mac, sizeof mac, out);
}

static void
request_mac(struct meshauth *a, const char *method, const char *path, const char *identity, const char *dest,
    const char *ts, const char *nonce, const void *body, size_t blen, char out[MESHAUTH_SIG_LEN + 1])
{
	char bh[65];
	body_hash(body, blen, bh);
	const char *parts[] = {"meshwatch-request-v2", method, path, identity ? identity : "", dest ? dest : "", ts, nonce,
	    bh};
	hmac_parts(a, parts, (int)MW_ARRAY_LEN(parts), out);
}

int
meshauth_sign_request(struct meshauth *a, const char *method, const char *path, const char *identity,
    const char *dest, const void *body, size_t blen, int64_t now, char *out, size_t outlen, char *nonce_out)
{
	nonce_out[0] = '\0';
	if (!meshauth_enabled(a)) {
		if (outlen)
			out[0] = '\0';
		return 0;
	}
	unsigned char raw[MESHAUTH_NONCE_LEN / 2];
	char ts[24], sig[MESHAUTH_SIG_LEN + 1];
	if (mw_random(raw, sizeof raw) != 0)
		return MW_EIO;
	mw_hex(raw, sizeof raw, nonce_out);
	snprintf(ts, sizeof ts, "%lld", (long long)now);
	request_mac(a, method, path, identity, dest, ts, nonce_out, body, blen, sig);
	return mw_snprintf(out, outlen, "X-Mw-Timestamp: %s\r\nX-Mw-Nonce: %s\r\nX-Mw-Signature: %s\r\n", ts, nonce_out,
	           sig) == 0 ? 0 : MW_ETOOBIG;
}

static int
is_hex(const char *s, size_t n)
{
	if (s == NULL || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
meshauth_verify_request(struct meshauth *a, const char *method, const char *path, const char *identity,
    const char *dest, const char *ts, const char *nonce, const char *sig, const void *body, size_t blen, int64_t now, char *why,
    size_t whylen)
{
	if (!meshauth_enabled(a))
		return 0;
	if (ts == NULL || nonce == NULL || sig == NULL) {
		snprintf(why, whylen, "unsigned request: the mesh secret is set, so X-Mw-Timestamp, X-Mw-Nonce and X-Mw-Signature are required");
		return MW_EAUTH;
	}
	char *end;
	long long t = strtoll(ts, &end, 10);
	if (*ts == '\0' || *end != '\0') {
		snprintf(why, whylen, "X-Mw-Timestamp is not a number");
		return MW_EAUTH;
	}
	if (t < now - MESHAUTH_SKEW_S || t > now + MESHAUTH_SKEW_S) {
		snprintf(why, whylen, "stale or future timestamp: %lld s away from this node's clock (limit %d s)",
		    t - (long long)now, MESHAUTH_SKEW_S);
		return MW_EAUTH;
	}
	if (!is_hex(nonce, MESHAUTH_NONCE_LEN) || !is_hex(sig, MESHAUTH_SIG_LEN)) {
		snprintf(why, whylen, "malformed nonce or signature");
		return MW_EAUTH;
	}
	char want[MESHAUTH_SIG_LEN + 1];
	request_mac(a, method, path, identity, dest, ts, nonce, body, blen, want);
	if (!mw_ct_equal(want, sig, MESHAUTH_SIG_LEN)) {
		snprintf(why, whylen, "bad signature (wrong mesh secret, the request was altered, or it was signed for another node)");
		return MW_EAUTH;
	}
	int rc = 0;
	pthread_mutex_lock(&a->lock);
	struct nonce_slot *free_slot = NULL;
	for (int i = 0; i < a->nslots; i++) {
		struct nonce_slot *s = &a->slots[i];
		if (s->expires <= now) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (strcmp(s->nonce, nonce) == 0) {
			snprintf(why, whylen, "replayed request (nonce already used)");
			rc = MW_EAUTH;
			goto out;
		}
	}
	if (free_slot == NULL) {
		snprintf(why, whylen, "too many signed requests in the last %d s to remember their nonces", 2 * MESHAUTH_SKEW_S);
		rc = MW_ELIMIT;
		goto out;
	}
	memcpy(free_slot->nonce, nonce, MESHAUTH_NONCE_LEN + 1);
	free_slot->expires = t + MESHAUTH_SKEW_S + 1;
out:
	pthread_mutex_unlock(&a->lock);
	return rc;
}

void
meshauth_sign_response(struct meshauth *a, const char *nonce, int status, const void *body, size_t blen,
    char *sig_out)
{
	char st[16], bh[65];
	snprintf(st, sizeof st, "%d", status);
	body_hash(body, blen, bh);
	const char *parts[] = {"meshwatch-response-v1", nonce, st, bh};
	hmac_parts(a, parts, (int)MW_ARRAY_LEN(parts), sig_out);
}

int
meshauth_verify_response(struct meshauth *a, const char *nonce, int status, const void *body, size_t blen,
    const char *sig)
{
	if (!meshauth_enabled(a))
		return 0;
	if (!is_hex(sig, MESHAUTH_SIG_LEN))
		return MW_EAUTH;
	char want[MESHAUTH_SIG_LEN + 1];
	meshauth_sign_response(a, nonce, status, body, blen, want);
	return mw_ct_equal(want, sig, MESHAUTH_SIG_LEN) ? 0 : MW_EAUTH;
}
