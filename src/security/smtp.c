/* smtp: one e-mail per call, over one connection (see smtp.h). Owns
   nothing between calls: each send makes its socket, and with STARTTLS its
   own mbedTLS configuration and RNG, on the calling thread's stack and
   heap. Everything the caller gives is checked before connecting, so a
   bad address or subject never reaches a server half-sent; everything the
   server says is read into a line buffer of SMTP_MAX_REPLY_LINE bytes.
   Every wait ends by one deadline for the whole exchange (tlsio.c). It
   never sends credentials on a connection that is not TLS, and it never
   reads a command reply that arrived before the TLS handshake as if it
   came after (the STARTTLS command injection of CVE-2011-0411). */
#include "meshwatch/smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/buf.h"
#include "meshwatch/limits.h"
#include "meshwatch/util.h"
#include "tlsio.h"

/* A QUIT's answer is waited for this long at most: the message is
   already accepted or refused, and a slow server must not hold us. */
#define QUIT_WAIT_MS 1000
/* RFC 2047: an encoded word is at most 75 characters. 39 bytes of UTF-8
   make 52 of base64, 64 with "=?UTF-8?B?" and "?=", so the Subject line
   stays under 78 characters. */
#define EWORD_BYTES 39
/* The server's text kept for an error message. */
#define REPLY_TEXT 256

struct reply {
	int code;
	char text[REPLY_TEXT]; /* the lines' texts joined by spaces, control characters as '?' */
};

struct smtp {
	const struct smtp_msg *m;
	struct tlsio io;
	int tls;                 /* the session runs on TLS (after STARTTLS) */
	int tls_init;            /* drbg, conf and ssl are initialised */
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	int ehlo;                /* the reply being read answers EHLO: note extensions */
	int ext_starttls, ext_plain, ext_login, ext_8bit, ext_size;
	size_t llen;             /* bytes received and not yet taken as lines */
	char line[SMTP_MAX_REPLY_LINE];
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int
fail(struct smtp *s, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- checking what the caller gives ---- */

/* RFC 5322's atext: what a dot-atom local part is made of. */
static int
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* 1 when s is a host name: dot-separated labels of letters, digits and
   inner hyphens, each 1..63 long. */
static int
is_hostname(const char *s, size_t len)
{
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		           (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[len - 1] != '-';
}

/* 0 when a is a plausible local@domain: a dot-atom local part of at most
   64 bytes, a host name for domain, SMTP_MAX_ADDR bytes in all. */
static int
check_addr(struct smtp *s, const char *what, const char *a)
{
	if (a == NULL || a[0] == '\0')
		return fail(s, MW_EINVAL, "%s: no address", what);
	size_t len = strlen(a);
	if (strpbrk(a, "\r\n"))
		return fail(s, MW_EINVAL, "%s: the address contains a line break (header injection refused)", what);
	if (len > SMTP_MAX_ADDR)
		return fail(s, MW_ETOOBIG, "%s: the address is %zu bytes, more than %d", what, len, SMTP_MAX_ADDR);
	const char *at = strchr(a, '@');
	size_t local = at ? (size_t)(at - a) : 0;
	int ok = at != NULL && local > 0 && local <= 64 && a[0] != '.' && a[local - 1] != '.' &&
	         is_hostname(at + 1, strlen(at + 1));
	for (size_t i = 0; ok && i < local; i++)
		ok = is_atext((unsigned char)a[i]) || (a[i] == '.' && a[i + 1] != '.');
	if (!ok)
		return fail(s, MW_EINVAL, "%s: \"%.80s\" is not an address of the form local@domain", what, a);
	return 0;
}

/* 0 when text has no control character but tabs (and no CR or LF). */
static int
check_text(struct smtp *s, const char *what, const char *t)
{
	for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return fail(s, MW_EINVAL, "%s contains a line break (header injection refused)", what);
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(s, MW_EINVAL, "%s contains the control character 0x%02x", what, *p);
	}
	return 0;
}

/* Lines within SMTP_MAX_BODY_LINE, the whole within SMTP_MAX_BODY. */
static int
check_body(struct smtp *s, const char *body)
{
	size_t len = strlen(body);
	if (len > SMTP_MAX_BODY)
		return fail(s, MW_ETOOBIG, "body: %zu bytes, more than %d", len, SMTP_MAX_BODY);
	size_t n = 1, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && body[i] != '\n' && body[i] != '\r')
			continue;
		if (i - start > SMTP_MAX_BODY_LINE)
			return fail(s, MW_ETOOBIG, "body: line %zu is %zu bytes, more than %d", n, i - start,
			    SMTP_MAX_BODY_LINE);
		if (i < len && body[i] == '\r' && body[i + 1] == '\n')
			i++;
		start = i + 1;
		n++;
	}
	return 0;
}

static int
check_msg(struct smtp *s)
{
	const struct smtp_msg *m = s->m;
	int rc;
	if (m->host == NULL || m->host[0] == '\0' || strpbrk(m->host, "\r\n"))
		return fail(s, MW_EINVAL, "no mail server host");
	if (m->port <= 0 || m->port > 65535)
		return fail(s, MW_EINVAL, "mail server port %d is not 1..65535", m->port);
	if (m->timeout_ms <= 0)
		return fail(s, MW_EINVAL, "timeout %d ms is not positive", m->timeout_ms);
	if (m->helo_name) {
		if ((rc = check_text(s, "the EHLO name", m->helo_name)) != 0)
			return rc;
		if (strlen(m->helo_name) >= MW_NAME_MAX || !is_hostname(m->helo_name, strlen(m->helo_name)))
			return fail(s, MW_EINVAL, "the EHLO name \"%.80s\" is not a host name", m->helo_name);
	}
	if ((rc = check_addr(s, "from", m->from)) != 0)
		return rc;
	if (m->nto < 1 || m->to == NULL)
		return fail(s, MW_EINVAL, "no recipient");
	if (m->nto > SMTP_MAX_RCPT)
		return fail(s, MW_ETOOBIG, "%d recipients, more than %d", m->nto, SMTP_MAX_RCPT);
	for (int i = 0; i < m->nto; i++)
		if ((rc = check_addr(s, "to", m->to[i])) != 0)
			return rc;
	if (m->subject) {
		if ((rc = check_text(s, "the subject", m->subject)) != 0)
			return rc;
		if (strlen(m->subject) > SMTP_MAX_SUBJECT)
			return fail(s, MW_ETOOBIG, "the subject is %zu bytes, more than %d", strlen(m->subject),
			    SMTP_MAX_SUBJECT);
	}
	if (m->body == NULL)
		return fail(s, MW_EINVAL, "no body");
	if ((rc = check_body(s, m->body)) != 0)
		return rc;
	if (m->user || m->password) {
		if (m->user == NULL || m->password == NULL || m->user[0] == '\0')
			return fail(s, MW_EINVAL, "AUTH needs both a user and a password");
		if (!m->starttls)
			return fail(s, MW_EINVAL, "AUTH needs STARTTLS: the password is never sent in the clear");
		if (strlen(m->user) > SMTP_MAX_CRED || strlen(m->password) > SMTP_MAX_CRED)
			return fail(s, MW_ETOOBIG, "AUTH: the user or the password is longer than %d bytes", SMTP_MAX_CRED);
	}
	return 0;
}

/* ---- the message ---- */

/* RFC 5322's date: "Sun, 22 Nov 2026 10:30:00 +0000" (names are English
   whatever the locale). */
static void
rfc5322_date(char *out, size_t outlen)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	    "Nov", "Dec"};
	time_t t = (time_t)mw_wall_s();
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%s, %02d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The subject as is when it is ASCII, else as RFC 2047 encoded words
   ("=?UTF-8?B?...?=") of whole characters, one per folded line. */
static int
put_subject(struct mw_buf *b, const char *subj)
{
	const unsigned char *p = (const unsigned char *)subj;
	size_t len = strlen(subj);
	int ascii = 1;
	for (size_t i = 0; i < len; i++)
		ascii &= p[i] < 0x80;
	if (ascii)
		return mw_buf_printf(b, "Subject: %s\r\n", subj);
	int rc = mw_buf_printf(b, "Subject:");
	for (size_t i = 0; i < len && rc == 0;) {
		size_t n = len - i < EWORD_BYTES ? len - i : EWORD_BYTES;
		/* end at a character's first byte, not inside a UTF-8 sequence */
		size_t cut = n;
		while (cut > 1 && i + cut < len && (p[i + cut] & 0xc0) == 0x80)
			cut--;
		if (i + cut == len || (p[i + cut] & 0xc0) != 0x80)
			n = cut; /* else not UTF-8: any cut will do */
		unsigned char word[(EWORD_BYTES + 2) / 3 * 4 + 1];
		size_t wl;
		if (mbedtls_base64_encode(word, sizeof word, &wl, p + i, n) != 0)
			return MW_EINVAL;
		rc = mw_buf_printf(b, "%s=?UTF-8?B?%s?=", i ? "\r\n " : " ", (const char *)word);
		i += n;
	}
	return rc == 0 ? mw_buf_append(b, "\r\n", 2) : rc;
}

/* The body in CRLF lines, dot-stuffed, then the end-of-data line. */
static int
put_body(struct mw_buf *b, const char *body)
{
	int rc = 0;
	const char *p = body;
	while (*p && rc == 0) {
		size_t n = strcspn(p, "\r\n");
		if (p[0] == '.')
			rc = mw_buf_append(b, ".", 1);
		if (rc == 0)
			rc = mw_buf_append(b, p, n);
		if (rc == 0)
			rc = mw_buf_append(b, "\r\n", 2);
		p += n;
		if (p[0] == '\r')
			p++;
		if (p[0] == '\n')
			p++;
	}
	return rc == 0 ? mw_buf_append(b, ".\r\n", 3) : rc;
}

/* The whole DATA: headers, body, final dot. Nothing the caller gave can
   break a header line: check_msg refused line breaks. */
static int
build_message(const struct smtp_msg *m, const char *helo, struct mw_buf *b)
{
	char date[48], uuid[37];
	rfc5322_date(date, sizeof date);
	if (mw_uuid4(uuid) != 0)
		return MW_EIO;
	int rc = mw_buf_printf(b, "Date: %s\r\nFrom: <%s>\r\nTo:", date, m->from);
	for (int i = 0; i < m->nto && rc == 0; i++)
		rc = mw_buf_printf(b, "%s<%s>", i ? ",\r\n " : " ", m->to[i]);
	if (rc == 0)
		rc = mw_buf_append(b, "\r\n", 2);
	if (rc == 0)
		rc = put_subject(b, m->subject ? m->subject : "");
	if (rc == 0)
		rc = mw_buf_printf(b, "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
		                      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		    uuid, helo);
	return rc == 0 ? put_body(b, m->body) : rc;
}

/* ---- the connection ---- */

/* err for an MBEDTLS_ERR_* (or 0: end of stream) from the connection. */
static int
io_fail(struct smtp *s, const char *step, int r)
{
	if (r == MBEDTLS_ERR_SSL_TIMEOUT)
		return fail(s, MW_EIO, "%s: timed out (the whole exchange may take %d ms)", step, s->m->timeout_ms);
	if (r == 0 || r == MBEDTLS_ERR_NET_CONN_RESET || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return fail(s, MW_EIO, "%s: the server closed the connection", step);
	char buf[96];
	mbedtls_strerror(r, buf, sizeof buf);
	return fail(s, MW_EIO, "%s: %s", step, buf);
}

static int
send_all(struct smtp *s, const char *step, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		const unsigned char *p = (const unsigned char *)data + off;
		int r = s->tls ? mbedtls_ssl_write(&s->ssl, p, len - off) : tlsio_send(&s->io, p, len - off);
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r < 0)
			return io_fail(s, step, r);
		off += (size_t)r;
	}
	int r = tlsio_flush(&s->io);
	return r == 0 ? 0 : io_fail(s, step, r);
}

__attribute__((format(printf, 3, 4))) static int
send_cmd(struct smtp *s, const char *step, const char *fmt, ...)
{
	char cmd[SMTP_MAX_CMD];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof cmd - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof cmd - 2)
		return fail(s, MW_ETOOBIG, "%s: command longer than %d bytes", step, SMTP_MAX_CMD);
	memcpy(cmd + n, "\r\n", 2);
	return send_all(s, step, cmd, (size_t)n + 2);
}

/* Takes one line (without its CR LF) into out[SMTP_MAX_REPLY_LINE],
   reading as needed. */
static int
read_line(struct smtp *s, const char *step, char *out)
{
	for (;;) {
		char *nl = memchr(s->line, '\n', s->llen);
		if (nl) {
			size_t n = (size_t)(nl - s->line), take = n + 1;
			if (n > 0 && s->line[n - 1] == '\r')
				n--;
			memcpy(out, s->line, n);
			out[n] = '\0';
			memmove(s->line, s->line + take, s->llen - take);
			s->llen -= take;
			return 0;
		}
		if (s->llen == sizeof s->line)
			return fail(s, MW_ETOOBIG, "%s: a reply line from the server is longer than %d bytes", step,
			    SMTP_MAX_REPLY_LINE);
		unsigned char *at = (unsigned char *)s->line + s->llen;
		size_t room = sizeof s->line - s->llen;
		int r;
		do
			r = s->tls ? mbedtls_ssl_read(&s->ssl, at, room) : tlsio_recv(&s->io, at, room);
		while (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);
		if (r <= 0)
			return io_fail(s, step, r);
		s->llen += (size_t)r;
	}
}

/* Notes the extensions of one EHLO reply line. */
static void
note_extension(struct smtp *s, const char *t)
{
	if (strcasecmp(t, "STARTTLS") == 0)
		s->ext_starttls = 1;
	else if (strcasecmp(t, "8BITMIME") == 0)
		s->ext_8bit = 1;
	else if (strncasecmp(t, "SIZE", 4) == 0 && (t[4] == ' ' || t[4] == '\0'))
		s->ext_size = 1;
	else if (strncasecmp(t, "AUTH ", 5) == 0 || strncasecmp(t, "AUTH=", 5) == 0) {
		char mechs[SMTP_MAX_REPLY_LINE];
		snprintf(mechs, sizeof mechs, "%s", t + 5);
		char *save = NULL;
		for (char *w = strtok_r(mechs, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			s->ext_plain |= strcasecmp(w, "PLAIN") == 0;
			s->ext_login |= strcasecmp(w, "LOGIN") == 0;
		}
	}
}

/* Reads one reply, of one line or several ("250-..." then "250 ..."). */
static int
read_reply(struct smtp *s, const char *step, struct reply *rp)
{
	char ln[SMTP_MAX_REPLY_LINE];
	size_t tl = 0;
	rp->code = 0;
	rp->text[0] = '\0';
	for (int n = 0;; n++) {
		if (n == SMTP_MAX_REPLY_LINES)
			return fail(s, MW_ETOOBIG, "%s: the server's reply is longer than %d lines", step,
			    SMTP_MAX_REPLY_LINES);
		int rc = read_line(s, step, ln);
		if (rc != 0)
			return rc;
		int code = (ln[0] >= '2' && ln[0] <= '5' && ln[1] >= '0' && ln[1] <= '9' && ln[2] >= '0' && ln[2] <= '9')
		               ? atoi(ln) : 0;
		if (code == 0 || (ln[3] != ' ' && ln[3] != '-' && ln[3] != '\0') || (n > 0 && code != rp->code))
			return fail(s, MW_EIO, "%s: not an SMTP reply: \"%.60s\"", step, ln);
		rp->code = code;
		const char *t = ln[3] ? ln + 4 : "";
		if (s->ehlo && n > 0)
			note_extension(s, t);
		for (const char *p = t; *p && tl + 2 < sizeof rp->text; p++) {
			if (p == t && tl > 0)
				rp->text[tl++] = ' ';
			rp->text[tl++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
		}
		rp->text[tl] = '\0';
		if (ln[3] != '-')
			return 0;
	}
}

/* Reads a reply and wants one of the class of want (2xx for 250, 3xx for
   354). refused: the code when the server says no. */
static int
expect(struct smtp *s, const char *step, int want, int refused)
{
	struct reply rp;
	int rc = read_reply(s, step, &rp);
	if (rc != 0)
		return rc;
	if (rp.code / 100 != want / 100)
		return fail(s, refused, "%s: %d %s", step, rp.code, rp.text);
	return 0;
}

/* Connects to the first address of host that answers. */
static int
dial(struct smtp *s)
{
	const struct smtp_msg *m = s->m;
	char port[8];
	snprintf(port, sizeof port, "%d", m->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(m->host, port, &hints, &res);
	if (g != 0)
		return fail(s, MW_ENOTFOUND, "resolve %.80s: %s", m->host, gai_strerror(g));
	int e = ENOENT;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (s->io.fd >= 0)
			close(s->io.fd);
		s->io.fd = -1;
		e = tlsio_connect(&s->io, ai->ai_addr, ai->ai_addrlen);
		if (e == 0 || e == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (e != 0)
		return fail(s, MW_EIO, "connect to %.80s port %d: %s", m->host, m->port,
		    e == ETIMEDOUT ? "timed out" : strerror(e));
	return 0;
}

/* EHLO, or HELO when the server does not know EHLO. */
static int
greet(struct smtp *s, const char *helo)
{
	struct reply rp;
	s->ext_starttls = s->ext_plain = s->ext_login = s->ext_8bit = s->ext_size = 0;
	int rc = send_cmd(s, "EHLO", "EHLO %s", helo);
	if (rc != 0)
		return rc;
	s->ehlo = 1;
	rc = read_reply(s, "EHLO", &rp);
	s->ehlo = 0;
	if (rc != 0)
		return rc;
	if (rp.code / 100 == 2)
		return 0;
	if (rp.code / 100 != 5)
		return fail(s, MW_EIO, "EHLO: %d %s", rp.code, rp.text);
	if ((rc = send_cmd(s, "HELO", "HELO %s", helo)) != 0)
		return rc;
	return expect(s, "HELO", 250, MW_EIO);
}

static int
starttls(struct smtp *s)
{
	int rc, r;
	if (!s->ext_starttls)
		return fail(s, MW_EIO, "STARTTLS: required, but the server does not offer it (nothing was sent)");
	if ((rc = send_cmd(s, "STARTTLS", "STARTTLS")) != 0 || (rc = expect(s, "STARTTLS", 220, MW_EIO)) != 0)
		return rc;
	/* Anything already received came in the clear before the handshake:
	   a man in the middle's injected replies, never the server's. */
	if (s->llen > 0 || s->io.rpos < s->io.rlen)
		return fail(s, MW_EIO, "STARTTLS: the server sent more after its 220 (injected text refused)");
	mbedtls_ctr_drbg_init(&s->drbg);
	mbedtls_ssl_config_init(&s->conf);
	mbedtls_ssl_init(&s->ssl);
	s->tls_init = 1;
	if ((rc = tlsio_client_conf(&s->conf, &s->drbg, "meshwatch-smtp", s->err, s->errlen)) != 0)
		return rc;
	struct in6_addr a;
	if ((r = mbedtls_ssl_setup(&s->ssl, &s->conf)) != 0 ||
	    /* SNI for a relay named by its host name, none for an address */
	    (inet_pton(AF_INET, s->m->host, &a) != 1 && inet_pton(AF_INET6, s->m->host, &a) != 1 &&
	        (r = mbedtls_ssl_set_hostname(&s->ssl, s->m->host)) != 0))
		return fail(s, MW_ECRYPTO, "STARTTLS: cannot set up TLS (mbedTLS -0x%04x)", (unsigned)-r);
	mbedtls_ssl_set_bio(&s->ssl, &s->io, tlsio_send, tlsio_recv, NULL);
	while ((r = mbedtls_ssl_handshake(&s->ssl)) != 0) {
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r == MBEDTLS_ERR_SSL_TIMEOUT)
			return io_fail(s, "STARTTLS: TLS handshake", r);
		char buf[96];
		mbedtls_strerror(r, buf, sizeof buf);
		return fail(s, MW_ECRYPTO, "STARTTLS: TLS handshake: %s", buf);
	}
	s->tls = 1;
	return 0;
}

static int
auth(struct smtp *s)
{
	const char *u = s->m->user, *pw = s->m->password;
	/* base64 of the longest credentials, with room for PLAIN's two NULs */
	unsigned char in[2 * SMTP_MAX_CRED + 2], b64[(2 * SMTP_MAX_CRED + 4) / 3 * 4 + 4];
	size_t ul = strlen(u), pl = strlen(pw), bl;
	int rc;
	if (s->ext_plain) {
		in[0] = '\0';
		memcpy(in + 1, u, ul);
		in[1 + ul] = '\0';
		memcpy(in + 2 + ul, pw, pl);
		if (mbedtls_base64_encode(b64, sizeof b64, &bl, in, ul + pl + 2) != 0)
			return fail(s, MW_EINVAL, "AUTH PLAIN: cannot encode the credentials");
		mbedtls_platform_zeroize(in, sizeof in);
		rc = send_cmd(s, "AUTH PLAIN", "AUTH PLAIN %s", (const char *)b64);
		mbedtls_platform_zeroize(b64, sizeof b64);
		return rc != 0 ? rc : expect(s, "AUTH PLAIN", 235, MW_EAUTH);
	}
	if (!s->ext_login)
		return fail(s, MW_EAUTH, "AUTH: the server offers neither PLAIN nor LOGIN");
	if ((rc = send_cmd(s, "AUTH LOGIN", "AUTH LOGIN")) != 0 || (rc = expect(s, "AUTH LOGIN", 334, MW_EAUTH)) != 0)
		return rc;
	if (mbedtls_base64_encode(b64, sizeof b64, &bl, (const unsigned char *)u, ul) != 0)
		return fail(s, MW_EINVAL, "AUTH LOGIN: cannot encode the user");
	if ((rc = send_cmd(s, "AUTH LOGIN user", "%s", (const char *)b64)) != 0 ||
	    (rc = expect(s, "AUTH LOGIN user", 334, MW_EAUTH)) != 0)
		return rc;
	if (mbedtls_base64_encode(b64, sizeof b64, &bl, (const unsigned char *)pw, pl) != 0)
		return fail(s, MW_EINVAL, "AUTH LOGIN: cannot encode the password");
	rc = send_cmd(s, "AUTH LOGIN password", "%s", (const char *)b64);
	mbedtls_platform_zeroize(b64, sizeof b64);
	return rc != 0 ? rc : expect(s, "AUTH LOGIN password", 235, MW_EAUTH);
}

/* MAIL, RCPT for each recipient, DATA and the message. */
static int
transfer(struct smtp *s, const struct mw_buf *msg)
{
	const struct smtp_msg *m = s->m;
	char step[SMTP_MAX_ADDR + 16];
	int rc, eight = 0;
	for (const unsigned char *p = (const unsigned char *)mw_buf_str(msg); *p && !eight; p++)
		eight = *p >= 0x80;
	char params[48] = "";
	snprintf(params, sizeof params, "%s", s->ext_8bit && eight ? " BODY=8BITMIME" : "");
	if (s->ext_size)
		snprintf(params + strlen(params), sizeof params - strlen(params), " SIZE=%zu", mw_buf_len(msg));
	snprintf(step, sizeof step, "MAIL FROM <%s>", m->from);
	if ((rc = send_cmd(s, step, "MAIL FROM:<%s>%s", m->from, params)) != 0 || (rc = expect(s, step, 250, MW_EIO)) != 0)
		return rc;
	for (int i = 0; i < m->nto; i++) {
		snprintf(step, sizeof step, "RCPT TO <%s>", m->to[i]);
		if ((rc = send_cmd(s, step, "RCPT TO:<%s>", m->to[i])) != 0 || (rc = expect(s, step, 250, MW_EIO)) != 0)
			return rc;
	}
	if ((rc = send_cmd(s, "DATA", "DATA")) != 0 || (rc = expect(s, "DATA", 354, MW_EIO)) != 0)
		return rc;
	if ((rc = send_all(s, "DATA (message)", mw_buf_str(msg), mw_buf_len(msg))) != 0)
		return rc;
	return expect(s, "DATA (end of message)", 250, MW_EIO);
}

/* Says goodbye and waits briefly for the answer, which changes nothing. */
static void
quit(struct smtp *s)
{
	char save[1];
	struct reply rp;
	int64_t soon = mw_now_ms() + QUIT_WAIT_MS;
	if (s->io.deadline_ms > soon)
		s->io.deadline_ms = soon;
	/* keep the error of the step that failed */
	char *err = s->err;
	size_t errlen = s->errlen;
	s->err = save;
	s->errlen = sizeof save;
	if (send_cmd(s, "QUIT", "QUIT") == 0 && read_reply(s, "QUIT", &rp) == 0 && s->tls)
		mbedtls_ssl_close_notify(&s->ssl);
	(void)tlsio_flush(&s->io);
	s->err = err;
	s->errlen = errlen;
}

/* The step that talks to the server, once connected. */
static int
converse(struct smtp *s, const char *helo, const struct mw_buf *msg)
{
	int rc;
	if ((rc = expect(s, "greeting", 220, MW_EIO)) != 0 || (rc = greet(s, helo)) != 0)
		return rc;
	if (s->m->starttls && ((rc = starttls(s)) != 0 || (rc = greet(s, helo)) != 0))
		return rc;
	if (s->m->user && (rc = auth(s)) != 0)
		return rc;
	return transfer(s, msg);
}

int
smtp_send(const struct smtp_msg *m, char *err, size_t errlen)
{
	struct smtp *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ENOMEM;
	}
	s->m = m;
	s->err = err;
	s->errlen = errlen;
	err[0] = '\0';
	tlsio_init(&s->io, m->timeout_ms);
	struct mw_buf msg;
	/* CRLF and dot-stuffing at most double the body */
	mw_buf_init(&msg, 2 * SMTP_MAX_BODY + 64 * 1024);
	char helo[MW_NAME_MAX + 2];
	int rc = check_msg(s);
	if (rc != 0)
		goto out;
	/* an address literal for a numeric EHLO name (RFC 5321 4.1.4) */
	const char *h = m->helo_name ? m->helo_name : "localhost";
	struct in6_addr a;
	snprintf(helo, sizeof helo, inet_pton(AF_INET, h, &a) == 1 ? "[%s]" : "%s", h);
	if ((rc = build_message(m, h, &msg)) != 0) {
		fail(s, rc, "cannot build the message: %s", mw_strerror(rc));
		goto out;
	}
	/* the deadline counts from here: the checks above cost no waiting */
	tlsio_init(&s->io, m->timeout_ms);
	if ((rc = dial(s)) != 0)
		goto out;
	rc = converse(s, helo, &msg);
	if (!s->tls_init || s->tls) /* not into a TLS handshake that failed halfway */
		quit(s);
out:
	mw_buf_finish(&msg);
	if (s->tls_init) {
		mbedtls_ssl_free(&s->ssl);
		mbedtls_ssl_config_free(&s->conf);
		mbedtls_ctr_drbg_free(&s->drbg);
	}
	if (s->io.fd >= 0)
		close(s->io.fd);
	free(s);
	return rc;
}
