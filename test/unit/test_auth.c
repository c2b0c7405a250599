/* Unit tests for auth.c: PBKDF2 password hashes, session tokens, input
   validation and the login rate limiter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/auth.h"
#include "meshwatch/util.h"

#define ITER 100000

static int
is_lower_hex_str(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Splits "pbkdf2-sha256$ITER$SALT$HASH" (modifies buf). */
static void
split_encoding(char *buf, char **scheme, char **iter, char **salt, char **hash)
{
	*scheme = buf;
	*iter = strchr(buf, '$');
	assert_non_null(*iter);
	*(*iter)++ = '\0';
	*salt = strchr(*iter, '$');
	assert_non_null(*salt);
	*(*salt)++ = '\0';
	*hash = strchr(*salt, '$');
	assert_non_null(*hash);
	*(*hash)++ = '\0';
	assert_null(strchr(*hash, '$'));
}

/* password hashing */

static void
test_hash_verify_round_trip(void **state)
{
	(void)state;
	char enc[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password("correct horse battery", ITER, enc, sizeof enc), 0);
	assert_true(strlen(enc) < AUTH_HASH_MAX);
	assert_int_equal(auth_verify_password("correct horse battery", enc), 1);
	assert_int_equal(auth_verify_password("correct horse batterY", enc), 0);
	assert_int_equal(auth_verify_password("correct horse battery ", enc), 0);
	assert_int_equal(auth_verify_password("", enc), 0);
	assert_int_equal(auth_verify_password("wrong", enc), 0);
}

static void
test_hash_long_and_unicode_passwords(void **state)
{
	(void)state;
	char pw[AUTH_PASSWORD_MAX + 1];
	memset(pw, 'p', AUTH_PASSWORD_MAX);
	pw[AUTH_PASSWORD_MAX] = '\0';
	char enc[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password(pw, ITER, enc, sizeof enc), 0);
	assert_int_equal(auth_verify_password(pw, enc), 1);
	pw[AUTH_PASSWORD_MAX - 1] = 'q'; /* only the last character differs */
	assert_int_equal(auth_verify_password(pw, enc), 0);
	const char *u = "p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac$";
	assert_int_equal(auth_hash_password(u, ITER, enc, sizeof enc), 0);
	assert_int_equal(auth_verify_password(u, enc), 1);
	assert_int_equal(auth_verify_password("passw\xc3\xb6rd \xe2\x82\xac$", enc), 0);
}

static void
test_hash_salts_differ(void **state)
{
	(void)state;
	char a[AUTH_HASH_MAX], b[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password("same password", ITER, a, sizeof a), 0);
	assert_int_equal(auth_hash_password("same password", ITER, b, sizeof b), 0);
	assert_string_not_equal(a, b);
	char *sa, *ia, *xa, *ha, *sb, *ib, *xb, *hb;
	split_encoding(a, &sa, &ia, &xa, &ha);
	split_encoding(b, &sb, &ib, &xb, &hb);
	assert_string_not_equal(xa, xb); /* salts */
	assert_string_not_equal(ha, hb); /* and so the derived keys */
}

/* The encoding really is PBKDF2-HMAC-SHA256 over the encoded salt with the
   encoded iteration count: recompute it independently. */
static void
check_encoding_matches_pbkdf2(const char *password, int iterations)
{
	char enc[AUTH_HASH_MAX], copy[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password(password, iterations, enc, sizeof enc), 0);
	snprintf(copy, sizeof copy, "%s", enc);
	char *scheme, *iter, *salt_b64, *hash_b64;
	split_encoding(copy, &scheme, &iter, &salt_b64, &hash_b64);
	assert_string_equal(scheme, "pbkdf2-sha256");
	char want_iter[32];
	snprintf(want_iter, sizeof want_iter, "%d", iterations);
	assert_string_equal(iter, want_iter);
	unsigned char salt[64], dk[64], mine[32];
	size_t sl = 0, dl = 0;
	assert_int_equal(mbedtls_base64_decode(salt, sizeof salt, &sl, (const unsigned char *)salt_b64, strlen(salt_b64)), 0);
	assert_int_equal(mbedtls_base64_decode(dk, sizeof dk, &dl, (const unsigned char *)hash_b64, strlen(hash_b64)), 0);
	assert_true(sl >= 16);
	assert_int_equal(dl, 32);
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	assert_int_equal(mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1), 0);
	assert_int_equal(mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)password, strlen(password), salt, sl,
	                     (unsigned)iterations, sizeof mine, mine),
	    0);
	mbedtls_md_free(&md);
	assert_memory_equal(mine, dk, sizeof mine);
	assert_int_equal(auth_verify_password(password, enc), 1);
}

static void
test_hash_encoding_is_pbkdf2(void **state)
{
	(void)state;
	check_encoding_matches_pbkdf2("hunter2hunter2", ITER);
	check_encoding_matches_pbkdf2("another password", 123457);
}

/* verify uses the count written in the encoding, not a built-in one */
static void
test_verify_honours_encoded_iterations(void **state)
{
	(void)state;
	char enc[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password("iteration test", ITER + 1, enc, sizeof enc), 0);
	assert_non_null(strstr(enc, "$100001$"));
	assert_int_equal(auth_verify_password("iteration test", enc), 1);
	/* the same salt and key claimed at another count no longer verify */
	char tampered[AUTH_HASH_MAX];
	const char *rest = strchr(enc + strlen("pbkdf2-sha256$"), '$');
	assert_non_null(rest);
	snprintf(tampered, sizeof tampered, "pbkdf2-sha256$%d%s", ITER, rest);
	assert_int_equal(auth_verify_password("iteration test", tampered), 0);
	snprintf(tampered, sizeof tampered, "pbkdf2-sha256$%d%s", ITER + 2, rest);
	assert_int_equal(auth_verify_password("iteration test", tampered), 0);
}

static void
test_hash_output_too_small(void **state)
{
	(void)state;
	char enc[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password("some password", ITER, enc, sizeof enc), 0);
	size_t need = strlen(enc) + 1;
	char *small = malloc(need);
	assert_non_null(small);
	assert_int_equal(auth_hash_password("some password", ITER, small, need), 0);
	assert_int_equal(strlen(small), need - 1);
	/* one byte short is an error, never a truncated hash */
	assert_true(auth_hash_password("some password", ITER, small, need - 1) < 0);
	free(small);
}

static void
test_verify_rejects_malformed(void **state)
{
	(void)state;
	char good[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password("password1", ITER, good, sizeof good), 0);
	char copy[AUTH_HASH_MAX];
	snprintf(copy, sizeof copy, "%s", good);
	char *scheme, *iter, *salt, *hash;
	split_encoding(copy, &scheme, &iter, &salt, &hash);

	char long_enc[600];
	memset(long_enc, 'A', sizeof long_enc - 1);
	long_enc[sizeof long_enc - 1] = '\0';
	memcpy(long_enc, "pbkdf2-sha256$100000$", 21);

	char bufs[16][AUTH_HASH_MAX * 2];
	int n = 0;
	snprintf(bufs[n++], sizeof bufs[0], "%s", "");
	snprintf(bufs[n++], sizeof bufs[0], "%s", "pbkdf2-sha256");
	snprintf(bufs[n++], sizeof bufs[0], "%s", "pbkdf2-sha256$");
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$%s", iter);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$%s$%s", iter, salt);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$%s$%s$", iter, salt);           /* empty key */
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha1$%s$%s$%s", iter, salt, hash);      /* scheme */
	snprintf(bufs[n++], sizeof bufs[0], "PBKDF2-SHA256$%s$%s$%s", iter, salt, hash);    /* case */
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$abc$%s$%s", salt, hash);         /* count */
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$0$%s$%s", salt, hash);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$-100000$%s$%s", salt, hash);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$100000x$%s$%s", salt, hash);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$$%s$%s", salt, hash);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$%s$%s$%s", iter, "!!not-base64!!", hash);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$%s$%s$%s$extra", iter, salt, hash);
	snprintf(bufs[n++], sizeof bufs[0], "pbkdf2-sha256$999999999999$%s$%s", salt, hash); /* absurd count */
	for (int i = 0; i < n; i++) {
		int r = auth_verify_password("password1", bufs[i]);
		if (r >= 0)
			print_error("accepted malformed encoding \"%s\" (%d)\n", bufs[i], r);
		assert_true(r < 0);
	}
	/* longer than any hash this module writes */
	assert_true(auth_verify_password("password1", long_enc) < 0);
	/* a derived key longer than the buffers */
	char huge_key[AUTH_HASH_MAX];
	char b64[200];
	memset(b64, 'A', 128);
	b64[128] = '\0';
	snprintf(huge_key, sizeof huge_key, "pbkdf2-sha256$%s$%s$%s", iter, salt, b64);
	assert_true(auth_verify_password("password1", huge_key) < 0);
	/* the untouched original still verifies */
	assert_int_equal(auth_verify_password("password1", good), 1);
}

/* A derived key of one byte would match a wrong password one time in 256:
   an encoding whose key is not the 32 bytes this module writes should not be
   understood. Known bug: auth_verify_password accepts any key length. */
static void
test_verify_rejects_short_key(void **state)
{
	(void)state;
	char good[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password("password1", ITER, good, sizeof good), 0);
	char *scheme, *iter, *salt, *hash;
	split_encoding(good, &scheme, &iter, &salt, &hash);
	char enc[AUTH_HASH_MAX];
	snprintf(enc, sizeof enc, "pbkdf2-sha256$%s$%s$%s", iter, salt, "AA==");
	assert_true(auth_verify_password("password1", enc) < 0);
}

/* tokens */

static void
test_token_hash_known_vectors(void **state)
{
	(void)state;
	char h[AUTH_TOKEN_HASH_LEN + 1];
	auth_token_hash("abc", h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	auth_token_hash("", h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_new_token(void **state)
{
	(void)state;
	char t1[AUTH_TOKEN_LEN + 1], h1[AUTH_TOKEN_HASH_LEN + 1];
	char t2[AUTH_TOKEN_LEN + 1], h2[AUTH_TOKEN_HASH_LEN + 1];
	char check[AUTH_TOKEN_HASH_LEN + 1];
	assert_int_equal(auth_new_token(t1, h1), 0);
	assert_int_equal(auth_new_token(t2, h2), 0);
	assert_true(is_lower_hex_str(t1, AUTH_TOKEN_LEN));
	assert_true(is_lower_hex_str(h1, AUTH_TOKEN_HASH_LEN));
	assert_true(is_lower_hex_str(t2, AUTH_TOKEN_LEN));
	assert_string_not_equal(t1, t2);
	assert_string_not_equal(h1, h2);
	assert_string_not_equal(t1, h1); /* the stored hash is not the token */
	auth_token_hash(t1, check);
	assert_string_equal(check, h1);
	auth_token_hash(t2, check);
	assert_string_equal(check, h2);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(auth_new_token(t2, h2), 0);
		assert_true(is_lower_hex_str(t2, AUTH_TOKEN_LEN));
		assert_string_not_equal(t1, t2);
	}
}

/* validation */

static void
fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void
test_check_username(void **state)
{
	(void)state;
	char u[100];
	assert_non_null(auth_check_username(""));
	assert_null(auth_check_username("a"));
	assert_null(auth_check_username("Z"));
	assert_null(auth_check_username("0"));
	assert_null(auth_check_username("alice.Bob_c-d@example.org"));
	fill(u, 64, 'x');
	assert_null(auth_check_username(u));
	fill(u, 65, 'x');
	const char *msg = auth_check_username(u);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "64"));
	static const char *const bad[] = {"a b", " a", "a ", "a/b", "a:b", "a\tb", "a\nb", "a$b", "a'b", "a\"b",
	    "a;b", "a%b", "a+b", "a,b", "a\\b", "\xc3\xa4", "a\x7f", "a\x01", "../x", "a*b", "<a>"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad); i++) {
		const char *m = auth_check_username(bad[i]);
		if (m == NULL)
			print_error("accepted username \"%s\"\n", bad[i]);
		assert_non_null(m);
		assert_non_null(strstr(m, "username"));
	}
}

static void
test_check_password(void **state)
{
	(void)state;
	char p[400];
	assert_non_null(auth_check_password(""));
	fill(p, AUTH_PASSWORD_MIN - 1, 'p');
	const char *m = auth_check_password(p);
	assert_non_null(m);
	assert_non_null(strstr(m, "8"));
	fill(p, AUTH_PASSWORD_MIN, 'p');
	assert_null(auth_check_password(p));
	fill(p, AUTH_PASSWORD_MAX, 'p');
	assert_null(auth_check_password(p));
	fill(p, AUTH_PASSWORD_MAX + 1, 'p');
	m = auth_check_password(p);
	assert_non_null(m);
	assert_non_null(strstr(m, "256"));
	/* any characters are fine in a password */
	assert_null(auth_check_password("with spaces and $ and \xc3\xa4"));
	assert_int_equal(AUTH_PASSWORD_MIN, 8);
	assert_int_equal(AUTH_PASSWORD_MAX, 256);
}

/* rate limiter */

static void
test_ratelimit_basic(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(5, 16);
	assert_non_null(rl);
	int64_t t0 = 1000000;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_hit(rl, "192.0.2.1", t0 + i), 0);
	int w = ratelimit_hit(rl, "192.0.2.1", t0 + 10);
	assert_true(w > 0);
	assert_true(w <= 60);
	assert_int_equal(w, 60);
	/* the wait counts down with the window */
	assert_int_equal(ratelimit_hit(rl, "192.0.2.1", t0 + 30000), 30);
	assert_int_equal(ratelimit_hit(rl, "192.0.2.1", t0 + 59000), 1);
	assert_int_equal(ratelimit_hit(rl, "192.0.2.1", t0 + 59999), 1);
	/* a fixed window: the refused attempts above did not extend it */
	assert_int_equal(ratelimit_hit(rl, "192.0.2.1", t0 + 60000), 0);
	for (int i = 1; i < 5; i++)
		assert_int_equal(ratelimit_hit(rl, "192.0.2.1", t0 + 60000 + i), 0);
	assert_true(ratelimit_hit(rl, "192.0.2.1", t0 + 60010) > 0);
	/* long after: allowed again */
	assert_int_equal(ratelimit_hit(rl, "192.0.2.1", t0 + 10 * 60000), 0);
	ratelimit_destroy(rl);
	ratelimit_destroy(NULL);
}

static void
test_ratelimit_keys_independent(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(3, 16);
	assert_non_null(rl);
	int64_t t = 5000;
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_hit(rl, "10.0.0.1", t), 0);
	assert_true(ratelimit_hit(rl, "10.0.0.1", t) > 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ratelimit_hit(rl, "10.0.0.2", t), 0);
		assert_int_equal(ratelimit_hit(rl, "2001:db8::1", t), 0);
	}
	assert_true(ratelimit_hit(rl, "10.0.0.2", t) > 0);
	assert_true(ratelimit_hit(rl, "2001:db8::1", t) > 0);
	/* prefixes are different keys */
	assert_int_equal(ratelimit_hit(rl, "10.0.0.10", t), 0);
	assert_int_equal(ratelimit_hit(rl, "10.0.0.", t), 0);
	assert_true(ratelimit_hit(rl, "10.0.0.1", t) > 0);
	ratelimit_destroy(rl);
}

static void
test_ratelimit_set_rate(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(2, 4);
	assert_non_null(rl);
	assert_int_equal(ratelimit_hit(rl, "k", 1000), 0);
	assert_int_equal(ratelimit_hit(rl, "k", 1001), 0);
	assert_true(ratelimit_hit(rl, "k", 1002) > 0);
	ratelimit_set_rate(rl, 4);
	assert_int_equal(ratelimit_hit(rl, "k", 1003), 0);
	assert_int_equal(ratelimit_hit(rl, "k", 1004), 0);
	assert_true(ratelimit_hit(rl, "k", 1005) > 0);
	ratelimit_set_rate(rl, 1);
	assert_true(ratelimit_hit(rl, "other", 1006) == 0);
	assert_true(ratelimit_hit(rl, "other", 1007) > 0);
	ratelimit_destroy(rl);
}

static void
test_ratelimit_lru_reuse(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(2, 4);
	assert_non_null(rl);
	const char *keys[] = {"A", "B", "C", "D"};
	/* fill the table with four exhausted clients */
	for (int k = 0; k < 4; k++) {
		int64_t t = 1000 * (k + 1);
		assert_int_equal(ratelimit_hit(rl, keys[k], t), 0);
		assert_int_equal(ratelimit_hit(rl, keys[k], t), 0);
		assert_true(ratelimit_hit(rl, keys[k], t) > 0);
	}
	/* A is used again: now B is the least recently used */
	assert_true(ratelimit_hit(rl, "A", 5000) > 0);
	/* E takes B's slot */
	assert_int_equal(ratelimit_hit(rl, "E", 6000), 0);
	assert_true(ratelimit_hit(rl, "A", 6500) > 0);
	assert_true(ratelimit_hit(rl, "C", 6600) > 0);
	assert_true(ratelimit_hit(rl, "D", 6700) > 0);
	/* B was forgotten, so it starts afresh (and evicts E, now the oldest) */
	assert_int_equal(ratelimit_hit(rl, "B", 7000), 0);
	assert_true(ratelimit_hit(rl, "A", 7100) > 0);
	assert_true(ratelimit_hit(rl, "C", 7200) > 0);
	assert_true(ratelimit_hit(rl, "D", 7300) > 0);
	ratelimit_destroy(rl);
}

static void
test_ratelimit_many_keys_bounded(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(3, 8);
	assert_non_null(rl);
	char key[128];
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "198.51.%d.%d", (i / 256) % 256, i % 256);
		assert_int_equal(ratelimit_hit(rl, key, 1000 + i), 0);
	}
	/* keys longer than the slot's key buffer do not overflow it */
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	for (int i = 0; i < 10; i++)
		(void)ratelimit_hit(rl, key, 50000 + i);
	assert_true(ratelimit_hit(rl, key, 50100) > 0);
	/* a single slot table works too */
	struct ratelimit *one = ratelimit_create(1, 1);
	assert_non_null(one);
	assert_int_equal(ratelimit_hit(one, "x", 1000), 0);
	assert_true(ratelimit_hit(one, "x", 1001) > 0);
	assert_int_equal(ratelimit_hit(one, "y", 1002), 0);
	assert_int_equal(ratelimit_hit(one, "x", 1003), 0); /* x was evicted by y */
	ratelimit_destroy(one);
	ratelimit_destroy(rl);
}

struct hammer {
	struct ratelimit *rl;
	int allowed;
};

static void *
hammer_thread(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 2000; i++)
		if (ratelimit_hit(h->rl, "203.0.113.7", 424242) == 0)
			h->allowed++;
	return NULL;
}

static void
test_ratelimit_threads(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(100, 8);
	assert_non_null(rl);
	pthread_t th[4];
	struct hammer h[4];
	for (int i = 0; i < 4; i++) {
		h[i].rl = rl;
		h[i].allowed = 0;
		assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &h[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += h[i].allowed;
	}
	assert_int_equal(total, 100);
	ratelimit_destroy(rl);
}

/* Time zero is a legal now_ms: an empty slot must still be preferred over
   evicting a live one. Known bug: with now_ms == 0 every used slot ties with
   the empty ones and slot 0 is reused, so two clients reset each other. */
static void
test_ratelimit_time_zero(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(1, 4);
	assert_non_null(rl);
	int first = ratelimit_hit(rl, "a", 0);
	int other = ratelimit_hit(rl, "b", 0);
	int again = ratelimit_hit(rl, "a", 0);
	ratelimit_destroy(rl);
	assert_int_equal(first, 0);
	assert_int_equal(other, 0);
	assert_true(again > 0); /* "a" is still over its limit */
}

/* The unknown-user path of a login checks the password against this hash:
   it must carry the configured iteration count (so it costs what a real
   user's check costs), parse as a valid hash, and match no password. */
static void
test_dummy_hash_follows_iterations(void **state)
{
	(void)state;
	static const int counts[] = {100000, 120000, 250000, 10000000};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		char h[AUTH_HASH_MAX], want[64];
		assert_int_equal(auth_dummy_hash(counts[i], h, sizeof h), 0);
		snprintf(want, sizeof want, "pbkdf2-sha256$%d$", counts[i]);
		assert_memory_equal(h, want, strlen(want));
	}
	/* verified (0: no match), not refused as malformed (negative) */
	char h[AUTH_HASH_MAX];
	assert_int_equal(auth_dummy_hash(ITER, h, sizeof h), 0);
	assert_int_equal(auth_verify_password("", h), 0);
	assert_int_equal(auth_verify_password("any password at all", h), 0);
	/* its cost is the iteration count's: same shape as a real hash */
	char real[AUTH_HASH_MAX];
	assert_int_equal(auth_hash_password("x", ITER, real, sizeof real), 0);
	assert_int_equal(strlen(real), strlen(h));
	char small[20];
	assert_int_equal(auth_dummy_hash(ITER, small, sizeof small), MW_ETOOBIG);
}

static void
test_ratelimit_reset(void **state)
{
	(void)state;
	struct ratelimit *rl = ratelimit_create(2, 4);
	assert_non_null(rl);
	assert_int_equal(ratelimit_hit(rl, "acct", 1000), 0);
	assert_int_equal(ratelimit_hit(rl, "acct", 1001), 0);
	assert_int_equal(ratelimit_hit(rl, "other", 1001), 0);
	assert_int_equal(ratelimit_hit(rl, "other", 1001), 0);
	assert_true(ratelimit_hit(rl, "acct", 1002) > 0);
	ratelimit_reset(rl, "acct");
	ratelimit_reset(rl, "never-seen");
	assert_int_equal(ratelimit_hit(rl, "acct", 1003), 0);
	assert_int_equal(ratelimit_hit(rl, "acct", 1004), 0);
	assert_true(ratelimit_hit(rl, "acct", 1005) > 0);
	/* other keys keep their count */
	assert_true(ratelimit_hit(rl, "other", 1006) > 0);
	ratelimit_destroy(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify_round_trip),
		cmocka_unit_test(test_hash_long_and_unicode_passwords),
		cmocka_unit_test(test_hash_salts_differ),
		cmocka_unit_test(test_hash_encoding_is_pbkdf2),
		cmocka_unit_test(test_verify_honours_encoded_iterations),
		cmocka_unit_test(test_hash_output_too_small),
		cmocka_unit_test(test_verify_rejects_malformed),
		cmocka_unit_test(test_verify_rejects_short_key),
		cmocka_unit_test(test_token_hash_known_vectors),
		cmocka_unit_test(test_new_token),
		cmocka_unit_test(test_check_username),
		cmocka_unit_test(test_check_password),
		cmocka_unit_test(test_ratelimit_basic),
		cmocka_unit_test(test_ratelimit_keys_independent),
		cmocka_unit_test(test_ratelimit_set_rate),
		cmocka_unit_test(test_ratelimit_lru_reuse),
		cmocka_unit_test(test_ratelimit_many_keys_bounded),
		cmocka_unit_test(test_ratelimit_reset),
		cmocka_unit_test(test_dummy_hash_follows_iterations),
		cmocka_unit_test(test_ratelimit_threads),
		cmocka_unit_test(test_ratelimit_time_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
