/* tlsclient: outgoing HTTPS for polls. Owns a client mbedTLS
   configuration, an RNG and a small cache of TLS sessions by address (for
   resumption), all shared by the poll worker threads under one mutex held
   only for cache look-ups. Sockets are non-blocking; every wait is a poll()
   bounded by the request's deadline (tlsio.c). Responses are parsed with
   libhttp-parser rather than by hand. */
#include "meshwatch/tlsclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meshwatch/buf.h"
#include "meshwatch/util.h"
#include "tlsio.h"

struct sess_slot {
	char key[80];             /* "ip:port" */
	char spki[65];            /* the peer key's hash, from the full handshake */
	mbedtls_ssl_session sess; /* without the peer's certificate (see session_save) */
	int used;
	int64_t last_ms;
};

struct tls_client {
	struct sockaddr_storage src;  /* where connections leave from; src_len 0: the kernel's choice */
	socklen_t src_len;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;          /* trusted roots, when certificates are checked */
	int verify;
	pthread_mutex_t lock;
	int nslots;
	struct sess_slot *slots;
	/* full handshakes (no session to resume) in progress, and the limit */
	pthread_cond_t full_cond;
	int full_busy, full_max;
	uint64_t full_waits;
	/* first-contact pacing (see tlsclient.h); pace_on 0: off */
	int pace_on;
	struct mw_bucket pace;
	uint64_t pace_deferred;
};

struct tls_client *
tlsclient_create(int session_slots, char *err, size_t errlen)
{
	struct tls_client *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->full_cond, NULL);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	c->nslots = session_slots > 0 ? session_slots : 1;
	c->slots = calloc((size_t)c->nslots, sizeof *c->slots);
	if (c->slots == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Peers' certificates are self-signed: accepted, and their key reported for pinning. */
	if (tlsio_client_conf(&c->conf, &c->drbg, "meshwatch-client", err, errlen) != 0)
		goto fail;
	mbedtls_ssl_conf_session_tickets(&c->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	return c;
fail:
	tlsclient_destroy(c);
	return NULL;
}

int
tlsclient_verify_with(struct tls_client *c, const char *ca_file, char *err, size_t errlen)
{
	int r = mbedtls_x509_crt_parse_file(&c->ca, ca_file);
	/* a bundle with a few unparsable entries still has its roots: r > 0 */
	if (r < 0 || c->ca.version == 0) {
		snprintf(err, errlen, "cannot read trusted certificates from %s (mbedTLS -0x%04x)", ca_file,
		    (unsigned)(r < 0 ? -r : 0));
		return MW_EINVAL;
	}
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	c->verify = 1;
	return MW_OK;
}

void
tlsclient_destroy(struct tls_client *c)
{
	if (c == NULL)
		return;
	if (c->slots)
		for (int i = 0; i < c->nslots; i++)
			if (c->slots[i].used)
				mbedtls_ssl_session_free(&c->slots[i].sess);
	free(c->slots);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_ctr_drbg_free(&c->drbg);
	pthread_cond_destroy(&c->full_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void
tlsclient_limit_full_handshakes(struct tls_client *c, int n)
{
	pthread_mutex_lock(&c->lock);
	c->full_max = n;
	pthread_cond_broadcast(&c->full_cond);
	pthread_mutex_unlock(&c->lock);
}

uint64_t
tlsclient_full_handshake_waits(struct tls_client *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t v = c->full_waits;
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* The cache slot holding key's session, or NULL. Lock held. */
static struct sess_slot *
find_slot_locked(struct tls_client *c, const char *key)
{
	for (int i = 0; i < c->nslots; i++)
		if (c->slots[i].used && strcmp(c->slots[i].key, key) == 0)
			return &c->slots[i];
	return NULL;
}

/* With no session to resume for key, waits for one of the full_max
   first-contact slots (1 when taken, to give back with full_release);
   0 when a session exists or there is no limit. A full handshake costs
   milliseconds of elliptic-curve CPU on both sides: a node meeting
   hundreds of peers at once would otherwise start them all together and
   let them all time out. The wait is before the poll's clock starts. */
static int
full_acquire(struct tls_client *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	if (c->full_max <= 0 || find_slot_locked(c, key)) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (c->full_busy >= c->full_max)
		c->full_waits++;
	while (c->full_busy >= c->full_max && c->full_max > 0 && !mw_abort_requested()) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->full_cond, &c->lock, &ts);
	}
	c->full_busy++;
	pthread_mutex_unlock(&c->lock);
	return 1;
}

static void
full_release(struct tls_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->full_busy--;
	pthread_cond_signal(&c->full_cond);
	pthread_mutex_unlock(&c->lock);
}

/* The session cache's key for ip:port. */
static void
session_key(char key[80], const char *ip, int port)
{
	snprintf(key, 80, "%s:%d", ip, port);
}

void
tlsclient_pace_first_contacts(struct tls_client *c, int per_min, int burst)
{
	pthread_mutex_lock(&c->lock);
	c->pace_on = per_min > 0;
	mw_bucket_init(&c->pace, per_min / 60.0, burst > 0 ? burst : 1);
	pthread_mutex_unlock(&c->lock);
}

void
tlsclient_set_source(struct tls_client *c, const char *ip)
{
	c->src_len = 0;
	if (ip == NULL || ip[0] == '\0')
		return;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&c->src;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->src;
	memset(&c->src, 0, sizeof c->src);
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1 && s4->sin_addr.s_addr != htonl(INADDR_ANY)) {
		s4->sin_family = AF_INET;
		c->src_len = sizeof *s4;
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1 && !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) {
		s6->sin6_family = AF_INET6;
		c->src_len = sizeof *s6;
	}
}

void
tlsclient_pace_rate(struct tls_client *c, double per_min)
{
	pthread_mutex_lock(&c->lock);
	if (c->pace_on && per_min > 0) {
		if (mw_bucket_take(&c->pace)) /* settles the tokens earned at the old rate */
			c->pace.tokens += 1.0;    /* (and gives back the one taken) */
		c->pace.rate_per_ns = per_min / 60e9;
	}
	pthread_mutex_unlock(&c->lock);
}

int
tlsclient_first_contact_ok(struct tls_client *c, const char *ip, int port)
{
	char key[80];
	session_key(key, ip, port);
	int ok = 1;
	pthread_mutex_lock(&c->lock);
	if (c->pace_on && find_slot_locked(c, key) == NULL && !mw_bucket_take(&c->pace)) {
		ok = 0;
		c->pace_deferred++;
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

uint64_t
tlsclient_first_contacts_deferred(struct tls_client *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t v = c->pace_deferred;
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* Sets a cached session on ssl, if there is one for key, and copies the
   peer key's hash remembered with it into spki ("" when none). */
static void
session_load(struct tls_client *c, const char *key, mbedtls_ssl_context *ssl, char spki[65])
{
	spki[0] = '\0';
	pthread_mutex_lock(&c->lock);
	struct sess_slot *slot = find_slot_locked(c, key);
	if (slot) {
		mbedtls_ssl_set_session(ssl, &slot->sess);
		slot->last_ms = mw_now_ms();
		memcpy(spki, slot->spki, sizeof slot->spki);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Keeps ssl's session for key. The peer's certificate is dropped from the
   copy: resumption needs only the ticket and the master secret, and a
   parsed certificate with its key is about 2 KB per peer, most of a
   node's heap at 200 peers; its key's hash is kept instead (spki, "" to
   keep the one already there). */
static void
session_save(struct tls_client *c, const char *key, const mbedtls_ssl_context *ssl, const char *spki)
{
	pthread_mutex_lock(&c->lock);
	struct sess_slot *slot = NULL, *lru = &c->slots[0];
	for (int i = 0; i < c->nslots; i++) {
		struct sess_slot *s = &c->slots[i];
		if (s->used && strcmp(s->key, key) == 0) {
			slot = s;
			break;
		}
		if (lru->used && (!s->used || s->last_ms < lru->last_ms))
			lru = s;
	}
	if (slot == NULL)
		slot = lru;
	if (slot->used)
		mbedtls_ssl_session_free(&slot->sess);
	mbedtls_ssl_session_init(&slot->sess);
	int same = slot->used && strcmp(slot->key, key) == 0;
	if (mbedtls_ssl_get_session(ssl, &slot->sess) == 0) {
		if (slot->sess.peer_cert != NULL) {
			mbedtls_x509_crt_free(slot->sess.peer_cert);
			free(slot->sess.peer_cert);
			slot->sess.peer_cert = NULL;
		}
		if (spki[0] || !same)
			snprintf(slot->spki, sizeof slot->spki, "%s", spki);
		slot->used = 1;
		snprintf(slot->key, sizeof slot->key, "%s", key);
		slot->last_ms = mw_now_ms();
	} else {
		mbedtls_ssl_session_free(&slot->sess);
		slot->used = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

/* Response parsing with libhttp-parser. */
struct parse {
	struct https_result *out;
	struct mw_buf *body; /* at most the caller's max_body */
	int too_big;
	int done;
	int in_sig;              /* the current header is X-Mw-Signature */
	int last_was_value;
	char field[32];
	size_t field_len;
	int field_overflow;
};

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct parse *ps = p->data;
	if (ps->last_was_value) { /* a new header begins */
		ps->field_len = 0;
		ps->field_overflow = 0;
		ps->last_was_value = 0;
	}
	if (ps->field_len + len >= sizeof ps->field) {
		ps->field_overflow = 1;
	} else {
		memcpy(ps->field + ps->field_len, at, len);
		ps->field_len += len;
		ps->field[ps->field_len] = '\0';
	}
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct parse *ps = p->data;
	if (!ps->last_was_value) {
		ps->in_sig = !ps->field_overflow && strcasecmp(ps->field, "X-Mw-Signature") == 0;
		ps->last_was_value = 1;
	}
	if (ps->in_sig) {
		size_t cur = strlen(ps->out->sig);
		if (cur + len < sizeof ps->out->sig) {
			memcpy(ps->out->sig + cur, at, len);
			ps->out->sig[cur + len] = '\0';
		}
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct parse *ps = p->data;
	if (mw_buf_append(ps->body, at, len) != 0) {
		ps->too_big = 1;
		return 1; /* stop parsing */
	}
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	((struct parse *)p->data)->done = 1;
	return 0;
}

__attribute__((format(printf, 3, 4))) static void
set_error(struct https_result *o, int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	o->error = error;
	vsnprintf(o->detail, sizeof o->detail, fmt, ap);
	va_end(ap);
}

static void
tls_error(struct https_result *o, const char *stage, int r)
{
	char buf[96];
	mbedtls_strerror(r, buf, sizeof buf);
	o->error = (r == MBEDTLS_ERR_SSL_TIMEOUT) ? PERR_TIMEOUT : (r == MBEDTLS_ERR_NET_CONN_RESET ? PERR_REFUSED : PERR_TLS);
	snprintf(o->detail, sizeof o->detail, "%s: %s", stage, r == MBEDTLS_ERR_SSL_TIMEOUT ? "timed out" : buf);
}

static void
spki_hash(const mbedtls_ssl_context *ssl, char out[65])
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(ssl);
	out[0] = '\0';
	if (crt == NULL)
		return;
	unsigned char der[512], d[32];
	mbedtls_pk_context *pk = (mbedtls_pk_context *)(uintptr_t)&crt->pk;
	int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);
	if (n <= 0)
		return;
	mbedtls_sha256_ret(der + sizeof der - n, (size_t)n, d, 0);
	mw_hex(d, sizeof d, out);
}

int
tlsclient_request(struct tls_client *c, const char *ip, int port, const char *method, const char *path,
    const char *extra_headers, const void *body, size_t blen, size_t max_body, int timeout_ms,
    struct https_result *out)
{
	struct fetch_req q = {.ip = ip, .port = port, .tls = 1, .method = method, .path = path,
	    .extra_headers = extra_headers, .body = body, .blen = blen, .max_body = max_body, .timeout_ms = timeout_ms};
	return tlsclient_fetch(c, &q, out);
}

/* Writes and reads through TLS, or straight through the socket buffers
   for plain HTTP; both return what mbedtls_ssl_write/read would. */
static int
conn_write(mbedtls_ssl_context *ssl, struct tlsio *io, int tls, const unsigned char *buf, size_t len)
{
	return tls ? mbedtls_ssl_write(ssl, buf, len) : tlsio_send(io, buf, len);
}

static int
conn_read(mbedtls_ssl_context *ssl, struct tlsio *io, int tls, unsigned char *buf, size_t len)
{
	return tls ? mbedtls_ssl_read(ssl, buf, len) : tlsio_recv(io, buf, len);
}

int
tlsclient_fetch(struct tls_client *c, const struct fetch_req *q, struct https_result *out)
{
	const char *ip = q->ip, *method = q->method, *path = q->path, *extra_headers = q->extra_headers;
	const void *body = q->body;
	size_t blen = q->blen, max_body = q->max_body;
	int port = q->port, timeout_ms = q->timeout_ms, tls = q->tls;
	const char *host = q->host ? q->host : ip;
	memset(out, 0, sizeof *out);
	out->connect_ms = out->tls_ms = out->ttfb_ms = out->total_ms = -1;
	struct mw_buf body_buf;
	mw_buf_init(&body_buf, max_body);
	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sslen = sizeof *s4;
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sslen = sizeof *s6;
	} else {
		set_error(out, PERR_DNS, "not a numeric address: %s", ip);
		return MW_EINVAL;
	}

	char key[80];
	session_key(key, ip, port);
	int full = full_acquire(c, key);
	double t0 = mw_now_s();
	struct tlsio io;
	tlsio_init(&io, timeout_ms);
	mbedtls_ssl_context ssl;
	mbedtls_ssl_init(&ssl);
	char *req = NULL;
	int rc = MW_EIO, r;

	int e = tlsio_connect_from(&io, (struct sockaddr *)&ss, sslen, c->src_len ? (struct sockaddr *)&c->src : NULL,
	    c->src_len);
	if (e != 0) {
		set_error(out, io.fd < 0 ? PERR_OTHER : e == ECONNREFUSED ? PERR_REFUSED : e == ETIMEDOUT ? PERR_TIMEOUT : PERR_UNREACHABLE,
		    "%s: %s", io.fd < 0 ? "socket" : "connect", e == ETIMEDOUT ? "timed out" : strerror(e));
		goto out;
	}
	double t1 = mw_now_s(), t2 = t1;
	out->connect_ms = (t1 - t0) * 1000.0;

	if (!tls)
		goto connected;
	if ((r = mbedtls_ssl_setup(&ssl, &c->conf)) != 0) {
		tls_error(out, "tls setup", r);
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &io, tlsio_send, tlsio_recv, NULL);
	/* a name: sent as SNI, and the certificate must carry it when checked */
	unsigned char bin[16];
	if (q->host && inet_pton(AF_INET, q->host, bin) != 1 && inet_pton(AF_INET6, q->host, bin) != 1 &&
	    (r = mbedtls_ssl_set_hostname(&ssl, q->host)) != 0) {
		tls_error(out, "tls setup", r);
		goto out;
	}
	char cached_spki[65];
	session_load(c, key, &ssl, cached_spki);
	while ((r = mbedtls_ssl_handshake(&ssl)) != 0) {
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
			uint32_t flags = c->verify ? mbedtls_ssl_get_verify_result(&ssl) : 0;
			if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags) {
				char why[256];
				mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
				why[strcspn(why, "\n")] = '\0';
				set_error(out, PERR_TLS, "tls handshake: the certificate of %s is not trusted: %s",
				    q->host ? q->host : ip, why);
			} else
				tls_error(out, "tls handshake", r);
			goto out;
		}
	}
	t2 = mw_now_s();
	out->tls_ms = (t2 - t1) * 1000.0;
	if (full) {
		full_release(c);
		full = 0;
	}
	spki_hash(&ssl, out->spki_sha256); /* "" on a resumed session: its certificate is not kept */
	session_save(c, key, &ssl, out->spki_sha256);
	if (out->spki_sha256[0] == '\0')
		memcpy(out->spki_sha256, cached_spki, sizeof cached_spki);
connected:;

	size_t hlen = strlen(path) + strlen(host) + (extra_headers ? strlen(extra_headers) : 0) + 256;
	req = malloc(hlen + blen);
	if (req == NULL) {
		set_error(out, PERR_OTHER, "%s", "out of memory");
		goto out;
	}
	int n = snprintf(req, hlen,
	    "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: meshwatch/%s\r\nAccept: application/json\r\n"
	    "Connection: close\r\nContent-Length: %zu\r\n%s\r\n",
	    method, path, strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port, MW_VERSION, blen,
	    extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= hlen) {
		set_error(out, PERR_OTHER, "%s", "request headers too long");
		goto out;
	}
	if (blen)
		memcpy(req + n, body, blen);
	size_t total = (size_t)n + blen, sent = 0;
	while (sent < total) {
		r = conn_write(&ssl, &io, tls, (const unsigned char *)req + sent, total - sent);
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r < 0) {
			tls_error(out, "send", r);
			goto out;
		}
		sent += (size_t)r;
	}
	if ((r = tlsio_flush(&io)) != 0) {
		tls_error(out, "send", r);
		goto out;
	}

	http_parser_settings settings;
	http_parser_settings_init(&settings);
	settings.on_header_field = on_header_field;
	settings.on_header_value = on_header_value;
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;
	struct parse ps = {.out = out, .body = &body_buf};
	http_parser parser;
	http_parser_init(&parser, HTTP_RESPONSE);
	parser.data = &ps;
	/* 4 KB at a time: a larger record comes in several reads. This frame
	   is below every poll, so its size is stack kept resident in each
	   poll worker (16 KB here made 12 KB more of each). */
	unsigned char buf[4096];
	int eof = 0;
	while (!ps.done) {
		r = conn_read(&ssl, &io, tls, buf, sizeof buf);
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == 0 || r == MBEDTLS_ERR_NET_CONN_RESET) {
			eof = 1;
			io.eof = 1;
			http_parser_execute(&parser, &settings, NULL, 0);
			break;
		}
		if (r < 0) {
			tls_error(out, "receive", r);
			goto out;
		}
		if (out->ttfb_ms < 0)
			out->ttfb_ms = (mw_now_s() - t2) * 1000.0;
		size_t used = http_parser_execute(&parser, &settings, (const char *)buf, (size_t)r);
		if (ps.too_big) {
			char lim[32];
			snprintf(lim, sizeof lim, "%zu", max_body);
			set_error(out, PERR_BODY, "response body larger than %s bytes", lim);
			goto out;
		}
		if (HTTP_PARSER_ERRNO(&parser) != HPE_OK || used != (size_t)r) {
			set_error(out, PERR_BODY, "malformed HTTP response: %s",
			    http_errno_description(HTTP_PARSER_ERRNO(&parser)));
			goto out;
		}
	}
	if (!ps.done) {
		set_error(out, PERR_BODY, "%s", eof ? "connection closed before the response was complete" : "incomplete response");
		goto out;
	}
	out->status = (int)parser.status_code;
	out->total_ms = (mw_now_s() - t0) * 1000.0;
	out->body = mw_buf_take(&body_buf, &out->body_len);
	if (out->body == NULL)
		goto out;
	rc = 0;
out:
	mw_buf_finish(&body_buf);
	if (full)
		full_release(c);
	if (ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER && !io.eof) {
		/* the peer closes after its answer; tell one that has not */
		mbedtls_ssl_close_notify(&ssl);
		if (io.wlen > 0)
			(void)send(io.fd, io.wbuf, io.wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	mbedtls_ssl_free(&ssl);
	if (io.fd >= 0)
		close(io.fd);
	free(req);
	if (rc != 0 && out->error == 0)
		set_error(out, PERR_OTHER, "%s", "request failed");
	return rc;
}

void
https_result_free(struct https_result *r)
{
	free(r->body);
	r->body = NULL;
}

static const char *const err_names[PERR__COUNT] = {
	"none", "timeout", "refused", "unreachable", "dns", "tls", "http", "bad_body", "auth", "self", "other",
};

const char *
poll_error_name(int e)
{
	return (e >= 0 && e < PERR__COUNT) ? err_names[e] : "other";
}
