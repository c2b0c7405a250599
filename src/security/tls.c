/* tls: owns the mbedTLS server state: one RNG, one ticket key set and one
   session cache for the whole process, and a chain of configuration
   "generations", each holding a certificate and key. civetweb threads call
   acquire/release through the hooks our civetweb patch adds; the main
   thread calls reload. A generation is freed when it is no longer current
   and its last connection has closed. */
#include "meshwatch/tls.h"

#include <civetweb.h>
#include <ctype.h>
#include <errno.h>
#include <http_parser.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/util.h"

struct tls_gen {
	mbedtls_ssl_config conf; /* first member: the hooks hand out &conf */
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	int refs;                /* connections using it, +1 while current */
};

struct tls_server {
	pthread_mutex_t lock;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_ticket_context tickets;
	mbedtls_ssl_cache_context cache;
	struct tls_gen *current;
	struct tls_stats stats;
};

/* ECDHE on X25519 and P-256 only: mbedTLS's default list starts with
   secp521r1, which makes each handshake several times slower. */
static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE,
};

/* Our certificate is ECDSA, so only ECDHE-ECDSA AEAD suites can be used. */
static const int ciphersuites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	0,
};

static void
gen_free(struct tls_gen *g)
{
	if (g == NULL)
		return;
	mbedtls_ssl_config_free(&g->conf);
	mbedtls_x509_crt_free(&g->crt);
	mbedtls_pk_free(&g->key);
	free(g);
}

static struct tls_gen *
gen_create(struct tls_server *ts, const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	struct tls_gen *g = calloc(1, sizeof *g);
	int r;
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_ssl_config_init(&g->conf);
	mbedtls_x509_crt_init(&g->crt);
	mbedtls_pk_init(&g->key);
	if ((r = mbedtls_x509_crt_parse_file(&g->crt, cert_path)) != 0) {
		snprintf(err, errlen, "%s: cannot parse certificate (mbedTLS -0x%04x)", cert_path, (unsigned)-r);
		goto fail;
	}
	if ((r = mbedtls_pk_parse_keyfile(&g->key, key_path, NULL)) != 0) {
		snprintf(err, errlen, "%s: cannot parse key (mbedTLS -0x%04x)", key_path, (unsigned)-r);
		goto fail;
	}
	if ((r = mbedtls_ssl_config_defaults(&g->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
	         MBEDTLS_SSL_PRESET_DEFAULT)) != 0 ||
	    (r = mbedtls_ssl_conf_own_cert(&g->conf, &g->crt, &g->key)) != 0) {
		snprintf(err, errlen, "cannot configure TLS (mbedTLS -0x%04x)", (unsigned)-r);
		goto fail;
	}
	mbedtls_ssl_conf_rng(&g->conf, mbedtls_ctr_drbg_random, &ts->drbg);
	mbedtls_ssl_conf_min_version(&g->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_curves(&g->conf, curves);
	mbedtls_ssl_conf_ciphersuites(&g->conf, ciphersuites);
	mbedtls_ssl_conf_authmode(&g->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_session_tickets_cb(&g->conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, &ts->tickets);
	mbedtls_ssl_conf_session_cache(&g->conf, &ts->cache, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
	g->refs = 1;
	return g;
fail:
	gen_free(g);
	return NULL;
}

struct tls_server *
tls_server_create(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	struct tls_server *ts = calloc(1, sizeof *ts);
	int r;
	if (ts == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ts->lock, NULL);
	mbedtls_ctr_drbg_init(&ts->drbg);
	mbedtls_ssl_ticket_init(&ts->tickets);
	mbedtls_ssl_cache_init(&ts->cache);
	mbedtls_ssl_cache_set_max_entries(&ts->cache, 1024);
	if ((r = mbedtls_ctr_drbg_seed(&ts->drbg, mw_drbg_entropy, NULL, (const unsigned char *)"meshwatch-tls", 13)) != 0) {
		snprintf(err, errlen, "cannot seed the random generator (mbedTLS -0x%04x)", (unsigned)-r);
		goto fail;
	}
	/* Ticket keys rotate every 12 hours; a ticket stays valid for two periods. */
	if ((r = mbedtls_ssl_ticket_setup(&ts->tickets, mbedtls_ctr_drbg_random, &ts->drbg, MBEDTLS_CIPHER_AES_256_GCM, 43200)) != 0) {
		snprintf(err, errlen, "cannot set up session tickets (mbedTLS -0x%04x)", (unsigned)-r);
		goto fail;
	}
	ts->current = gen_create(ts, cert_path, key_path, err, errlen);
	if (ts->current == NULL)
		goto fail;
	return ts;
fail:
	tls_server_destroy(ts);
	return NULL;
}

int
tls_server_reload(struct tls_server *ts, const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	struct tls_gen *g = gen_create(ts, cert_path, key_path, err, errlen), *old;
	if (g == NULL)
		return MW_ECRYPTO;
	pthread_mutex_lock(&ts->lock);
	old = ts->current;
	ts->current = g;
	ts->stats.reloads++;
	if (old && --old->refs > 0)
		old = NULL; /* the last connection using it frees it */
	pthread_mutex_unlock(&ts->lock);
	gen_free(old);
	return 0;
}

static void *
hook_acquire(void *arg)
{
	struct tls_server *ts = arg;
	pthread_mutex_lock(&ts->lock);
	struct tls_gen *g = ts->current;
	if (g)
		g->refs++;
	pthread_mutex_unlock(&ts->lock);
	return g ? &g->conf : NULL;
}

static void
hook_release(void *arg, const void *conf)
{
	struct tls_server *ts = arg;
	struct tls_gen *g = (struct tls_gen *)(uintptr_t)conf; /* conf is the first member */
	pthread_mutex_lock(&ts->lock);
	int last = (--g->refs == 0);
	pthread_mutex_unlock(&ts->lock);
	if (last)
		gen_free(g);
}

/* What a failed handshake's client did (see struct tls_stats): once its
   ClientHello was read, or when the hello named no version or cipher this
   server takes, it was a TLS client; before that, an end of the connection
   or silence is a scan or a TCP check, and anything else is not TLS. */
static uint64_t *
failure_kind(struct tls_stats *st, int rc, int hello)
{
	if (hello)
		return &st->failed_tls_error;
	switch (rc) {
	case MBEDTLS_ERR_SSL_CONN_EOF:
	case MBEDTLS_ERR_NET_CONN_RESET:
	case MBEDTLS_ERR_NET_RECV_FAILED:
	case MBEDTLS_ERR_SSL_TIMEOUT:
	case MBEDTLS_ERR_SSL_WANT_READ:
		return &st->failed_no_hello;
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
	case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
	case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return &st->failed_tls_error;
	default:
		return &st->failed_not_tls;
	}
}

static void
hook_handshake(void *arg, int rc, int hello, double ms)
{
	struct tls_server *ts = arg;
	pthread_mutex_lock(&ts->lock);
	if (rc == 0) {
		ts->stats.handshakes_ok++;
		ts->stats.handshake_ms_sum += ms;
		hist_observe(&ts->stats.handshake_s, ms / 1000.0);
	} else {
		ts->stats.handshakes_failed++;
		(*failure_kind(&ts->stats, rc, hello))++;
	}
	pthread_mutex_unlock(&ts->lock);
}

/* ---- a plain-HTTP request on the HTTPS port ---- */

/* What the parser keeps of the request: its target and Host header. */
struct plain_req {
	char url[PLAIN_HTTP_MAX_BYTES];
	char host[256];
	size_t url_len, host_len;
	int in_host;      /* the header being read is Host */
	int bad;          /* a part too long to keep */
	int done;         /* the headers are complete */
};

static int
plain_on_url(http_parser *hp, const char *at, size_t len)
{
	struct plain_req *pr = hp->data;
	if (pr->url_len + len >= sizeof pr->url)
		return pr->bad = 1;
	memcpy(pr->url + pr->url_len, at, len);
	pr->url[pr->url_len += len] = '\0';
	return 0;
}

static int
plain_on_field(http_parser *hp, const char *at, size_t len)
{
	struct plain_req *pr = hp->data;
	pr->in_host = len == 4 && strncasecmp(at, "host", 4) == 0;
	return 0;
}

static int
plain_on_value(http_parser *hp, const char *at, size_t len)
{
	struct plain_req *pr = hp->data;
	if (!pr->in_host)
		return 0;
	if (pr->host_len + len >= sizeof pr->host)
		return pr->bad = 1;
	memcpy(pr->host + pr->host_len, at, len);
	pr->host[pr->host_len += len] = '\0';
	return 0;
}

static int
plain_on_headers_complete(http_parser *hp)
{
	((struct plain_req *)hp->data)->done = 1;
	return 1; /* stop: the body does not matter */
}

/* Only what a URL may carry as it is: no spaces, quotes, angle brackets or
   controls, so that the Location header and the text echo nothing else. */
static int
url_safe(const char *s, int host)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '`')
			return 0;
		if (host && !(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'))
			return 0;
	}
	return 1;
}

static void
send_all(int sock, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = send(sock, buf, len, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		buf += k;
		len -= (size_t)k;
	}
}

/* A plain-HTTP client on the HTTPS port: reads its request (at most
   PLAIN_HTTP_MAX_BYTES, within timeout_ms) and sends it where it meant to
   go, https:// with the same host and path (308, which keeps the method),
   or a 400 that says what to do when the request has no usable Host. */
static void
hook_plain_request(void *arg, int sock, int timeout_ms)
{
	struct tls_server *ts = arg;
	pthread_mutex_lock(&ts->lock);
	ts->stats.plain_http++;
	pthread_mutex_unlock(&ts->lock);
	struct plain_req pr = {0};
	http_parser hp;
	http_parser_init(&hp, HTTP_REQUEST);
	hp.data = &pr;
	http_parser_settings cb = {0};
	cb.on_url = plain_on_url;
	cb.on_header_field = plain_on_field;
	cb.on_header_value = plain_on_value;
	cb.on_headers_complete = plain_on_headers_complete;
	char buf[1024];
	size_t total = 0;
	int64_t deadline = mw_now_ms() + timeout_ms;
	while (!pr.done && !pr.bad && total < PLAIN_HTTP_MAX_BYTES) {
		int64_t left = deadline - mw_now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		if (poll(&pfd, 1, (int)(left < 200 ? left : 200)) < 0 && errno != EINTR)
			break;
		ssize_t k = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			break;
		if (k < 0)
			continue;
		total += (size_t)k;
		size_t used = http_parser_execute(&hp, &cb, buf, (size_t)k);
		if (!pr.done && used != (size_t)k)
			break; /* not HTTP */
	}
	char out[PLAIN_HTTP_MAX_BYTES * 2 + 512];
	int n;
	if (pr.done && url_safe(pr.host, 1) && pr.url[0] == '/' && url_safe(pr.url, 0)) {
		char body[PLAIN_HTTP_MAX_BYTES + 384];
		int bl = snprintf(body, sizeof body, "This port speaks HTTPS only: https://%s%s\n", pr.host, pr.url);
		n = snprintf(out, sizeof out,
		    "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://%s%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		    pr.host, pr.url, bl, body);
	} else {
		static const char body[] = "This port speaks HTTPS only: use https:// with this host and port.\n";
		n = snprintf(out, sizeof out,
		    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s",
		    sizeof body - 1, body);
	}
	if (n > 0)
		send_all(sock, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
}

void
tls_server_install(struct tls_server *ts, int timeout_ms, const volatile int *stopping)
{
	struct mg_tls_hooks h = {
		.acquire_conf = hook_acquire,
		.release_conf = hook_release,
		.on_handshake = hook_handshake,
		.on_plain_request = hook_plain_request,
		.arg = ts,
		.handshake_timeout_ms = timeout_ms,
		.stopping = stopping,
	};
	mg_set_tls_hooks(&h);
}

void
tls_server_stats(struct tls_server *ts, struct tls_stats *out)
{
	pthread_mutex_lock(&ts->lock);
	*out = ts->stats;
	pthread_mutex_unlock(&ts->lock);
}

void
tls_server_destroy(struct tls_server *ts)
{
	if (ts == NULL)
		return;
	mg_set_tls_hooks(NULL);
	if (ts->current && --ts->current->refs == 0)
		gen_free(ts->current);
	mbedtls_ssl_cache_free(&ts->cache);
	mbedtls_ssl_ticket_free(&ts->tickets);
	mbedtls_ctr_drbg_free(&ts->drbg);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}
