/* meshwatch's settings for mbedTLS 2.28, read at the end of mbedtls/config.h
 * (MBEDTLS_USER_CONFIG_FILE). The library is the distribution's own source,
 * built with the options Debian's package sets (threading) plus two that it
 * leaves off:
 *
 * - The Everest X25519 (HACL*, a formally verified Curve25519 in 64-bit
 *   arithmetic): one ECDHE on X25519 costs about 70 us instead of about
 *   600 us with the generic bignum code, and every full TLS handshake does
 *   two of them at each end (test/bench/README.md, "Full handshakes").
 *   It needs the opaque ECDH context, so the legacy one goes.
 * - A window of 6 for elliptic-curve scalar multiplication: the comb for
 *   the fixed generator may then use 5 bits, which takes an ECDSA P-256
 *   signature from about 338 to 294 us (the table is 16 points per key).
 */
#define MBEDTLS_THREADING_C
#define MBEDTLS_THREADING_PTHREAD
#define MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED
#undef MBEDTLS_ECDH_LEGACY_CONTEXT
#undef MBEDTLS_ECP_WINDOW_SIZE
#define MBEDTLS_ECP_WINDOW_SIZE 6
