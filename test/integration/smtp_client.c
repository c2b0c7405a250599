/* The SMTP client (smtp.c) against the sink of smtp_sink.py, which runs
   this program with the sink's ports and spool directory in the
   environment (see there). Each case uses its own EHLO name, under which
   the sink keeps the session's transcript (session-<helo>.log, "plain" or
   "tls" before each command) and the message (msg-<helo>.eml). Checks: a
   message arrives whole (headers, dot-stuffed body restored, CRLF lines),
   STARTTLS is used and AUTH comes only after it, every refusal (no
   STARTTLS, a 550 recipient, bad credentials, a silent server, injected
   text, header injection, a bad address) is an error naming its step, and
   each SMTP_* limit of limits.h holds at its value and fails one past it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/limits.h"
#include "meshwatch/smtp.h"
#include "meshwatch/util.h"

static const char *spool;
static const char *const one_rcpt[] = {"ops@example.com"};

static int
port_of(const char *mode)
{
	char name[64];
	snprintf(name, sizeof name, "SMTP_PORT_%s", mode);
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	const char *v = getenv(name);
	assert_non_null(v);
	return atoi(v);
}

/* A plain message to the sink's port for mode, with EHLO name helo. */
static struct smtp_msg
msg_for(const char *mode, const char *helo)
{
	struct smtp_msg m = {
		.host = "127.0.0.1",
		.port = port_of(mode),
		.helo_name = helo,
		.from = "alerts@node1.example.net",
		.to = one_rcpt,
		.nto = 1,
		.subject = "meshwatch: test",
		.body = "hello\n",
		.timeout_ms = 10000,
	};
	return m;
}

/* msg_for over STARTTLS, with AUTH as user (NULL: none) and password. */
static struct smtp_msg
msg_tls(const char *mode, const char *helo, const char *user, const char *password)
{
	struct smtp_msg m = msg_for(mode, helo);
	m.starttls = 1;
	m.user = user;
	m.password = password;
	return m;
}

/* The sink's file kind-helo.ext ("session", ".log" or "msg", ".eml"),
   malloc'd, or NULL when the sink wrote none. */
static char *
spool_file(const char *kind, const char *helo)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s-%s.%s", spool, kind, helo, strcmp(kind, "msg") == 0 ? "eml" : "log");
	size_t len;
	int err;
	return mw_read_file(path, 4 * SMTP_MAX_BODY, &len, &err);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Asserts that the sink's transcript of the session under helo has text
   (has 1) or has not (has 0). */
static void
session_has(const char *helo, const char *text, int has)
{
	char *s = spool_file("session", helo);
	assert_non_null(s);
	if ((strstr(s, text) != NULL) != has)
		fail_msg("session %s %s \"%s\":\n%s", helo, has ? "lacks" : "has", text, s);
	free(s);
}

/* Sends m, expecting rc and (when not NULL) want in the error. */
static void
send_expect(const struct smtp_msg *m, int rc, const char *want)
{
	char err[512];
	int got = smtp_send(m, err, sizeof err);
	if (got != rc || (want && strstr(err, want) == NULL))
		fail_msg("smtp_send: %d (wanted %d) \"%s\" (wanted \"%s\")", got, rc, err, want ? want : "");
	if (rc == 0)
		assert_string_equal(err, "");
}

/* Sends m, which must succeed: the message as the sink received it
   (the caller frees it). */
static char *
deliver(const struct smtp_msg *m)
{
	send_expect(m, 0, NULL);
	char *msg = spool_file("msg", m->helo_name);
	assert_non_null(msg);
	return msg;
}

/* Refused before connecting: no session under helo at the sink. */
static void
refused_early(const struct smtp_msg *m, int rc, const char *want)
{
	send_expect(m, rc, want);
	char *s = spool_file("session", m->helo_name);
	assert_null(s);
}

/* The body of a received message: what follows the blank line. */
static const char *
body_of(const char *msg)
{
	const char *b = strstr(msg, "\r\n\r\n");
	assert_non_null(b);
	return b + 4;
}

static void
test_delivers_over_starttls_with_auth(void **state)
{
	(void)state;
	static const char *const to[] = {"ops@example.com", "on-call.team+mesh@example.org"};
	struct smtp_msg m = msg_tls("normal", "full.test", "alice", "s3cret");
	m.to = to;
	m.nto = 2;
	m.subject = "meshwatch: node2 is down";
	m.body = ".\n.hidden\n..two\nplain\r\n\nlast without newline";
	char *msg = deliver(&m);
	session_has("full.test", "plain EHLO full.test\nplain STARTTLS\ntls EHLO full.test\ntls AUTH PLAIN alice ok\n"
	                         "tls MAIL FROM:<alerts@node1.example.net> SIZE=", 1);
	session_has("full.test", "tls RCPT TO:<ops@example.com>\ntls RCPT TO:<on-call.team+mesh@example.org>\n"
	                         "tls DATA\ntls QUIT\n", 1);
	session_has("full.test", "plain AUTH", 0);
	assert_non_null(strstr(msg, "\r\nFrom: <alerts@node1.example.net>\r\n"));
	assert_non_null(strstr(msg, "\r\nTo: <ops@example.com>,\r\n <on-call.team+mesh@example.org>\r\n"));
	assert_non_null(strstr(msg, "\r\nSubject: meshwatch: node2 is down\r\n"));
	assert_non_null(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(msg, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(msg, "\r\nContent-Transfer-Encoding: 8bit\r\n"));
	/* RFC 5322: "Date: Sun, 22 Nov 2026 10:30:00 +0000" first */
	char day[4], mon[4];
	int d, y, hh, mm, ss, n = 0;
	assert_int_equal(sscanf(msg, "Date: %3[A-Za-z], %d %3[A-Za-z] %d %d:%d:%d +0000\r\n%n", day, &d, mon, &y, &hh,
	                     &mm, &ss, &n), 7);
	assert_true(n > 0 && strstr("SunMonTueWedThuFriSat", day) && strstr("JanFebMarAprMayJunJulAugSepOctNovDec", mon));
	assert_true(y >= 2024 && d >= 1 && d <= 31 && hh < 24 && mm < 60 && ss < 61);
	const char *id = strstr(msg, "\r\nMessage-ID: <");
	assert_non_null(id);
	assert_int_equal(strcspn(id + 15, "@"), 36);
	assert_memory_equal(id + 15 + 36, "@full.test>\r\n", 13);
	/* dot-stuffing undone by the sink gives back the body, in CRLF lines */
	assert_string_equal(body_of(msg), ".\r\n.hidden\r\n..two\r\nplain\r\n\r\nlast without newline\r\n");
	for (const char *p = msg; (p = strchr(p, '\n')) != NULL; p++)
		assert_true(p > msg && p[-1] == '\r');
	free(msg);
}

static void
test_auth_login(void **state)
{
	(void)state;
	struct smtp_msg m = msg_tls("login", "login.test", "alice", "s3cret");
	send_expect(&m, 0, NULL);
	session_has("login.test", "tls AUTH LOGIN alice ok\ntls MAIL FROM:", 1);
	session_has("login.test", "plain AUTH", 0);
}

static void
test_auth_refused(void **state)
{
	(void)state;
	struct smtp_msg m = msg_tls("normal", "badpass.test", "alice", "wrong");
	send_expect(&m, MW_EAUTH, "AUTH PLAIN: 535 5.7.8 bad credentials");
	session_has("badpass.test", "tls AUTH PLAIN alice bad\n", 1);
	session_has("badpass.test", "MAIL", 0);
	assert_null(spool_file("msg", "badpass.test"));
	/* the password is not repeated in the error */
	char err[256];
	assert_int_equal(smtp_send(&m, err, sizeof err), MW_EAUTH);
	assert_null(strstr(err, "wrong"));
}

static void
test_auth_needs_starttls(void **state)
{
	(void)state;
	struct smtp_msg m = msg_for("notls", "clearauth.test");
	m.user = "alice";
	m.password = "s3cret";
	refused_early(&m, MW_EINVAL, "AUTH needs STARTTLS");
	m.password = NULL;
	refused_early(&m, MW_EINVAL, "both a user and a password");
}

static void
test_starttls_missing(void **state)
{
	(void)state;
	struct smtp_msg m = msg_tls("notls", "nostarttls.test", "alice", "s3cret");
	send_expect(&m, MW_EIO, "STARTTLS: required, but the server does not offer it");
	char *s = spool_file("session", "nostarttls.test");
	assert_non_null(s);
	assert_string_equal(s, "plain EHLO nostarttls.test\nplain QUIT\n");
	free(s);
	assert_null(spool_file("msg", "nostarttls.test"));

	/* without EHLO there are no extensions at all: the same refusal */
	m = msg_tls("helo", "helo-tls.test", NULL, NULL);
	send_expect(&m, MW_EIO, "STARTTLS: required, but the server does not offer it");
	assert_null(spool_file("msg", "helo-tls.test"));
}

static void
test_starttls_injection(void **state)
{
	(void)state;
	struct smtp_msg m = msg_tls("inject", "inject.test", NULL, NULL);
	send_expect(&m, MW_EIO, "STARTTLS: the server sent more after its 220");
	session_has("inject.test", "MAIL", 0);
}

static void
test_plain_and_helo(void **state)
{
	(void)state;
	struct smtp_msg m = msg_for("notls", "plain.test");
	char *msg = deliver(&m);
	session_has("plain.test", "plain EHLO plain.test\nplain MAIL FROM:<alerts@node1.example.net> SIZE=", 1);
	assert_string_equal(body_of(msg), "hello\r\n");
	free(msg);

	/* EHLO refused: HELO instead */
	m = msg_for("helo", "helo.test");
	send_expect(&m, 0, NULL);
	session_has("helo.test", "plain EHLO helo.test\nplain HELO helo.test\nplain MAIL FROM:<alerts@node1.example.net>\n", 1);

	/* a name resolves to each of its addresses in turn (localhost may be
	   ::1 first, where the sink does not listen) */
	m = msg_for("notls", "byname.test");
	m.host = "localhost";
	msg = deliver(&m);
	free(msg);
}

static void
test_rcpt_refused(void **state)
{
	(void)state;
	static const char *const to[] = {"ops@example.com", "nobody@example.com", "ops2@example.com"};
	struct smtp_msg m = msg_tls("normal", "rcpt550.test", NULL, NULL);
	m.to = to;
	m.nto = 3;
	send_expect(&m, MW_EIO, "RCPT TO <nobody@example.com>: 550 5.1.1 no such user");
	session_has("rcpt550.test", "DATA", 0);
	session_has("rcpt550.test", "ops2@", 0);
	assert_null(spool_file("msg", "rcpt550.test"));
}

static void
test_timeout_silent_server(void **state)
{
	(void)state;
	struct smtp_msg m = msg_for("silent", "silent.test");
	m.timeout_ms = 700;
	int64_t t0 = mw_now_ms();
	send_expect(&m, MW_EIO, "greeting: timed out");
	int64_t took = mw_now_ms() - t0;
	assert_true(took >= 650);
	assert_true(took < 3000);
}

static void
test_connect_refused(void **state)
{
	(void)state;
	struct smtp_msg m = msg_for("notls", "closed.test");
	m.port = atoi(getenv("SMTP_CLOSED_PORT"));
	char want[96];
	snprintf(want, sizeof want, "connect to 127.0.0.1 port %d: Connection refused", m.port);
	send_expect(&m, MW_EIO, want);
}

static void
test_header_injection(void **state)
{
	(void)state;
	static const char *const to_bad[] = {"ops@example.com", "x@example.com\r\nBcc: victim@example.org"};
	struct smtp_msg m = msg_for("notls", "inj.test");
	m.from = "alerts@example.net\r\nBcc: victim@example.org";
	refused_early(&m, MW_EINVAL, "from: the address contains a line break");
	m = msg_for("notls", "inj.test");
	m.to = to_bad;
	m.nto = 2;
	refused_early(&m, MW_EINVAL, "to: the address contains a line break");
	m = msg_for("notls", "inj.test");
	m.subject = "down\nBcc: victim@example.org";
	refused_early(&m, MW_EINVAL, "the subject contains a line break");
	m.subject = "down\rX";
	refused_early(&m, MW_EINVAL, "the subject contains a line break");
	m.subject = "bell\a";
	refused_early(&m, MW_EINVAL, "the subject contains the control character 0x07");
	m = msg_for("notls", "inj.test");
	m.helo_name = "inj.test\r\nRCPT TO:<victim@example.org>";
	refused_early(&m, MW_EINVAL, "the EHLO name contains a line break");
	m.helo_name = "not a name";
	refused_early(&m, MW_EINVAL, "is not a host name");
}

static void
test_bad_addresses(void **state)
{
	(void)state;
	static const char *const bad[] = {"nobody", "@example.com", "ops@", "ops@@example.com", "o ps@example.com",
	    "<ops@example.com>", "ops@exa_mple.com", ".ops@example.com", "ops.@example.com", "o..ps@example.com",
	    "ops@-example.com", "ops@example-.com", "ops@example..com", "\xc3\xbc@example.com", "ops@example.com>",
	    "ops@[127.0.0.1]", "", "a\"b@example.com"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad); i++) {
		struct smtp_msg m = msg_for("notls", "badaddr.test");
		const char *to[] = {bad[i]};
		m.to = to;
		refused_early(&m, MW_EINVAL, bad[i][0] ? "is not an address of the form local@domain" : "no address");
		m = msg_for("notls", "badaddr.test");
		m.from = bad[i];
		refused_early(&m, MW_EINVAL, "from: ");
	}
	/* odd but valid */
	static const char *const good[] = {"x@y", "o'brien+alerts@mail-1.example.com", "a.b.c@EXAMPLE.com"};
	struct smtp_msg m = msg_for("notls", "goodaddr.test");
	m.to = good;
	m.nto = 3;
	send_expect(&m, 0, NULL);
	struct smtp_msg none = msg_for("notls", "norcpt.test");
	none.nto = 0;
	refused_early(&none, MW_EINVAL, "no recipient");
}

/* The Subject header of msg unfolded, its encoded words decoded, into
   out; each encoded word at most 75 characters. */
static void
decode_subject(const char *msg, char *out, size_t outlen)
{
	const char *p = strstr(msg, "\r\nSubject:");
	assert_non_null(p);
	p += 10;
	size_t o = 0;
	for (;;) {
		assert_true(*p == ' ');
		p++;
		assert_memory_equal(p, "=?UTF-8?B?", 10);
		const char *q = strstr(p + 10, "?=");
		assert_non_null(q);
		assert_true(q + 2 - p <= 75);
		size_t dl;
		assert_int_equal(mbedtls_base64_decode((unsigned char *)out + o, outlen - o - 1, &dl,
		                     (const unsigned char *)p + 10, (size_t)(q - p - 10)), 0);
		/* whole characters in each word: it does not end inside a sequence */
		assert_true(dl > 0 && ((unsigned char)out[o + dl - 1] < 0x80 || (unsigned char)out[o + dl - 1] >= 0xc0 ||
		                          q[2] == '\r'));
		o += dl;
		p = q + 2;
		assert_memory_equal(p, "\r\n", 2);
		p += 2;
		if (*p != ' ')
			break;
	}
	out[o] = '\0';
}

static void
test_utf8_subject_and_body(void **state)
{
	(void)state;
	const char *subject = getenv("SMTP_UTF8_SUBJECT");
	assert_non_null(subject);
	struct smtp_msg m = msg_tls("normal", "utf8.test", NULL, NULL);
	m.subject = subject;
	m.body = "Paketverlust auf node1 \xe2\x80\x94 12 %\n";
	char *msg = deliver(&m);
	session_has("utf8.test", "tls MAIL FROM:<alerts@node1.example.net> BODY=8BITMIME SIZE=", 1);
	char dec[2 * SMTP_MAX_SUBJECT];
	decode_subject(msg, dec, sizeof dec);
	assert_string_equal(dec, subject);
	/* header lines stay within RFC 5322's 78 characters */
	const char *end = strstr(msg, "\r\n\r\n");
	for (const char *p = msg; p < end;) {
		const char *e = strstr(p, "\r\n");
		assert_true(e - p <= 78);
		p = e + 2;
	}
	assert_string_equal(body_of(msg), "Paketverlust auf node1 \xe2\x80\x94 12 %\r\n");
	free(msg);
}

static void
test_limit_recipients(void **state)
{
	(void)state;
	static char addrs[SMTP_MAX_RCPT + 1][32];
	const char *to[SMTP_MAX_RCPT + 1];
	for (int i = 0; i <= SMTP_MAX_RCPT; i++) {
		snprintf(addrs[i], sizeof addrs[i], "r%d@example.com", i);
		to[i] = addrs[i];
	}
	struct smtp_msg m = msg_for("notls", "rcptmax.test");
	m.to = to;
	m.nto = SMTP_MAX_RCPT;
	send_expect(&m, 0, NULL);
	char *s = spool_file("session", "rcptmax.test");
	assert_non_null(s);
	assert_int_equal(count(s, "RCPT TO:<r"), SMTP_MAX_RCPT);
	free(s);
	m = msg_for("notls", "rcptover.test");
	m.to = to;
	m.nto = SMTP_MAX_RCPT + 1;
	refused_early(&m, MW_ETOOBIG, "17 recipients, more than 16");
}

static void
test_limit_body(void **state)
{
	(void)state;
	/* lines of 100 bytes, the last shorter, SMTP_MAX_BODY bytes in all */
	char *body = malloc(SMTP_MAX_BODY + 2);
	assert_non_null(body);
	size_t lines = 0;
	for (size_t i = 0; i < SMTP_MAX_BODY; i++) {
		body[i] = (i % 100 == 99 || i == SMTP_MAX_BODY - 1) ? '\n' : (i % 100 == 0 ? '.' : 'x');
		lines += body[i] == '\n';
	}
	body[SMTP_MAX_BODY] = '\0';
	struct smtp_msg m = msg_for("notls", "bodymax.test");
	m.body = body;
	char *msg = deliver(&m);
	assert_int_equal(strlen(body_of(msg)), SMTP_MAX_BODY + lines);
	free(msg);

	body[SMTP_MAX_BODY] = 'x';
	body[SMTP_MAX_BODY + 1] = '\0';
	m = msg_for("notls", "bodyover.test");
	m.body = body;
	refused_early(&m, MW_ETOOBIG, "body: 262145 bytes, more than 262144");
	free(body);
}

static void
test_limit_body_line(void **state)
{
	(void)state;
	/* line 2 exactly at the limit, then one byte over it */
	char body[2 * SMTP_MAX_BODY_LINE];
	int n = snprintf(body, sizeof body, "first\r\n%*s\nlast", SMTP_MAX_BODY_LINE, "y");
	assert_int_equal(n, 7 + SMTP_MAX_BODY_LINE + 5);
	struct smtp_msg m = msg_for("notls", "linemax.test");
	m.body = body;
	char *msg = deliver(&m);
	assert_int_equal(strlen(body_of(msg)), 7 + SMTP_MAX_BODY_LINE + 2 + 6);
	free(msg);
	snprintf(body, sizeof body, "first\r\n%*s\nlast", SMTP_MAX_BODY_LINE + 1, "y");
	m = msg_for("notls", "lineover.test");
	m.body = body;
	refused_early(&m, MW_ETOOBIG, "body: line 2 is 999 bytes, more than 998");
}

static void
test_limit_reply_line(void **state)
{
	(void)state;
	struct smtp_msg m = msg_for("line_max", "replymax.test");
	send_expect(&m, 0, NULL);
	m = msg_for("line_over", "replyover.test");
	send_expect(&m, MW_ETOOBIG, "greeting: a reply line from the server is longer than 1024 bytes");
}

static void
test_limit_reply_lines(void **state)
{
	(void)state;
	struct smtp_msg m = msg_tls("lines_max", "linesmax.test", NULL, NULL);
	send_expect(&m, 0, NULL);
	m = msg_for("lines_over", "linesover.test");
	send_expect(&m, MW_ETOOBIG, "EHLO: the server's reply is longer than 64 lines");
}

static void
test_limit_address(void **state)
{
	(void)state;
	/* 64 + 1 + 63 + 1 + 63 + 1 + 57 + 4 = SMTP_MAX_ADDR */
	char addr[SMTP_MAX_ADDR + 2], *p = addr;
	static const int parts[] = {64, 63, 63, 57};
	for (size_t i = 0; i < MW_ARRAY_LEN(parts); i++) {
		memset(p, 'a' + (int)i, (size_t)parts[i]);
		p += parts[i];
		*p++ = i == 0 ? '@' : '.';
	}
	strcpy(p, "com");
	assert_int_equal(strlen(addr), SMTP_MAX_ADDR);
	const char *to[] = {addr};
	struct smtp_msg m = msg_for("notls", "addrmax.test");
	m.to = to;
	m.from = addr;
	send_expect(&m, 0, NULL);
	session_has("addrmax.test", addr, 1);

	char longer[SMTP_MAX_ADDR + 2];
	snprintf(longer, sizeof longer, "x%s", addr);
	to[0] = longer;
	m = msg_for("notls", "addrover.test");
	m.to = to;
	refused_early(&m, MW_ETOOBIG, "to: the address is 255 bytes, more than 254");
	/* a local part of 65 bytes, a short address */
	to[0] = "lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@example.com";
	refused_early(&m, MW_EINVAL, "is not an address of the form local@domain");
}

static void
test_limit_subject(void **state)
{
	(void)state;
	char subj[SMTP_MAX_SUBJECT + 2];
	memset(subj, 's', SMTP_MAX_SUBJECT);
	subj[SMTP_MAX_SUBJECT] = '\0';
	struct smtp_msg m = msg_for("notls", "subjmax.test");
	m.subject = subj;
	char *msg = deliver(&m);
	assert_non_null(strstr(msg, subj));
	free(msg);
	strcat(subj, "s");
	m = msg_for("notls", "subjover.test");
	m.subject = subj;
	refused_early(&m, MW_ETOOBIG, "the subject is 513 bytes, more than 512");
}

static void
test_limit_credentials(void **state)
{
	(void)state;
	char user[SMTP_MAX_CRED + 2], pw[SMTP_MAX_CRED + 2];
	memset(user, 'u', SMTP_MAX_CRED);
	user[SMTP_MAX_CRED] = '\0';
	memset(pw, 'p', SMTP_MAX_CRED);
	pw[SMTP_MAX_CRED] = '\0';
	/* at the limit both are sent (the sink knows only alice: 535) */
	struct smtp_msg m = msg_tls("normal", "credmax.test", user, pw);
	send_expect(&m, MW_EAUTH, "AUTH PLAIN: 535");
	session_has("credmax.test", "tls AUTH PLAIN uuuuuuuu", 1);
	strcat(pw, "p");
	m = msg_tls("normal", "credover.test", user, pw);
	refused_early(&m, MW_ETOOBIG, "AUTH: the user or the password is longer than 256 bytes");
}

int
main(void)
{
	spool = getenv("SMTP_SINK_DIR");
	if (spool == NULL) {
		printf("skipped: run by smtp_sink.py, which starts the SMTP sink\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivers_over_starttls_with_auth),
		cmocka_unit_test(test_auth_login),
		cmocka_unit_test(test_auth_refused),
		cmocka_unit_test(test_auth_needs_starttls),
		cmocka_unit_test(test_starttls_missing),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_plain_and_helo),
		cmocka_unit_test(test_rcpt_refused),
		cmocka_unit_test(test_timeout_silent_server),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_utf8_subject_and_body),
		cmocka_unit_test(test_limit_recipients),
		cmocka_unit_test(test_limit_body),
		cmocka_unit_test(test_limit_body_line),
		cmocka_unit_test(test_limit_reply_line),
		cmocka_unit_test(test_limit_reply_lines),
		cmocka_unit_test(test_limit_address),
		cmocka_unit_test(test_limit_subject),
		cmocka_unit_test(test_limit_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
