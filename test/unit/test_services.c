/* Unit tests for services.c: the built-in definitions load and number at
   least 150; each matcher; how confidence combines; a file overriding
   and extending the built-in list; bad definitions named; HTTP parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "meshwatch/services.h"
#include "meshwatch/util.h"

static struct svcdb *
parse(const char *json)
{
	char err[400];
	struct svcdb *db = svcdb_parse(json, strlen(json), err, sizeof err);
	if (db == NULL)
		fail_msg("%s", err);
	return db;
}

static void
test_builtin(void **state)
{
	(void)state;
	char err[400];
	struct svcdb *db = svcdb_load(NULL, err, sizeof err);
	assert_non_null(db);
	assert_true(svcdb_count(db) >= 150);
	struct svc_match m;
	/* a banner alone: high; with its port: certain */
	struct svc_evidence ssh = {.port = 2200, .banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2"};
	assert_int_equal(svcdb_identify(db, &ssh, &m), SVC_HIGH);
	assert_string_equal(m.name, "OpenSSH");
	ssh.port = 22;
	assert_int_equal(svcdb_identify(db, &ssh, &m), SVC_CERTAIN);
	/* port only: low */
	struct svc_evidence pg = {.port = 5432};
	assert_int_equal(svcdb_identify(db, &pg, &m), SVC_LOW);
	assert_string_equal(m.name, "PostgreSQL");
	/* a Server header beats the generic HTTP definition */
	struct svc_evidence web = {.port = 8081, .http_status = 200, .http_headers = "Server: nginx/1.22\r\n"};
	assert_int_equal(svcdb_identify(db, &web, &m), SVC_HIGH);
	assert_string_equal(m.name, "nginx");
	/* TLS plus HTTP: HTTPS */
	struct svc_evidence tls = {.port = 9444, .http_status = 200, .http_headers = "Server: x\r\n", .tls = 1,
		.tls_subject = "CN=t"};
	assert_true(svcdb_identify(db, &tls, &m) >= SVC_HIGH);
	assert_string_equal(m.name, "HTTPS");
	struct svc_evidence none = {.port = 40000};
	assert_int_equal(svcdb_identify(db, &none, &m), SVC_NONE);
	assert_string_equal(m.name, "");
	svcdb_free(db);
}

static void
test_matchers(void **state)
{
	(void)state;
	struct svcdb *db = parse("["
	                         "{\"name\":\"Title\",\"title\":\"Widget\"},"
	                         "{\"name\":\"Body\",\"body\":\"magic-word\"},"
	                         "{\"name\":\"Header\",\"header\":\"X-Thing: yes\"},"
	                         "{\"name\":\"HeaderPresent\",\"header\":\"X-Only\"},"
	                         "{\"name\":\"Status\",\"http_status\":418},"
	                         "{\"name\":\"Cert\",\"tls_subject\":\"CN=vault\"},"
	                         "{\"name\":\"Vendor\",\"vendor\":\"Acme\"},"
	                         "{\"name\":\"Both\",\"ports\":[7000],\"banner\":\"^HELLO [0-9]+\",\"vendor\":\"Acme\"},"
	                         "{\"name\":\"PortOnly\",\"ports\":[7001]}"
	                         "]");
	struct svc_match m;
	struct svc_evidence e = {.port = 1, .http_status = 200, .http_title = "My widget page"};
	assert_int_equal(svcdb_identify(db, &e, &m), SVC_HIGH);
	assert_string_equal(m.name, "Title");
	e = (struct svc_evidence){.port = 1, .http_status = 200, .http_body = "<p>MAGIC-WORD</p>"};
	svcdb_identify(db, &e, &m);
	assert_string_equal(m.name, "Body");
	e = (struct svc_evidence){.port = 1, .http_status = 200, .http_headers = "A: b\r\nx-thing: oh yes\r\n"};
	svcdb_identify(db, &e, &m);
	assert_string_equal(m.name, "Header");
	e = (struct svc_evidence){.port = 1, .http_status = 200, .http_headers = "X-Thing: no\r\nX-Only: 1\r\n"};
	svcdb_identify(db, &e, &m);
	assert_string_equal(m.name, "HeaderPresent");
	e = (struct svc_evidence){.port = 1, .http_status = 418};
	svcdb_identify(db, &e, &m);
	assert_string_equal(m.name, "Status");
	e = (struct svc_evidence){.port = 1, .tls = 1, .tls_subject = "O=x, CN=vault.lan"};
	svcdb_identify(db, &e, &m);
	assert_string_equal(m.name, "Cert");
	/* a vendor alone is a weak hint: medium */
	e = (struct svc_evidence){.port = 1, .vendor = "Acme Corp"};
	assert_int_equal(svcdb_identify(db, &e, &m), SVC_MEDIUM);
	assert_string_equal(m.name, "Vendor");
	/* banner + vendor agree: certain even off its port */
	e = (struct svc_evidence){.port = 1, .banner = "HELLO 42", .vendor = "Acme"};
	assert_int_equal(svcdb_identify(db, &e, &m), SVC_CERTAIN);
	assert_string_equal(m.name, "Both");
	/* a matcher that misses: only the port is left (low) */
	e = (struct svc_evidence){.port = 7000, .banner = "BYE"};
	assert_int_equal(svcdb_identify(db, &e, &m), SVC_LOW);
	assert_string_equal(m.name, "Both");
	e = (struct svc_evidence){.port = 7001};
	assert_int_equal(svcdb_identify(db, &e, &m), SVC_LOW);
	assert_string_equal(svc_confidence_name(SVC_CERTAIN), "certain");
	assert_string_equal(svc_confidence_name(SVC_LOW), "low");
	svcdb_free(db);
}

static void
test_bad_definitions(void **state)
{
	(void)state;
	char err[400];
	const char *bad[][2] = {
		{"{}", "array"},
		{"[{\"ports\":[1]}]", "\"name\""},
		{"[{\"name\":\"x\"}]", "no matcher"},
		{"[{\"name\":\"x\",\"banner\":\"(\"}]", "regular expression"},
		{"[{\"name\":\"x\",\"ports\":[70000]}]", "\"ports\""},
		{"[{\"name\":\"x\",\"http_status\":9}]", "\"http_status\""},
		{"[{\"name\":\"x\",\"ports\":[1],\"colour\":1}]", "unknown field \"colour\""},
		{"[{\"name\":\"x\",\"tls\":1}]", "\"tls\""},
		{"[{\"name\":\"x\",\"image\":\"[\"}]", "\"image\" is not a valid regular expression"},
		{"[{\"name\":\"x\",\"image\":7}]", "\"image\""},
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad); i++) {
		struct svcdb *db = svcdb_parse(bad[i][0], strlen(bad[i][0]), err, sizeof err);
		assert_null(db);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("%s: error \"%s\" does not mention %s", bad[i][0], err, bad[i][1]);
	}
}

static void
test_file_override(void **state)
{
	(void)state;
	char path[] = "/tmp/mw-test-services-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "[{\"name\":\"OpenSSH\",\"ports\":[22],\"banner\":\"^SSH-2\\\\.0-OpenSSH_10\"},"
	                   "{\"name\":\"Lab widget\",\"ports\":[7777],\"title\":\"Lab\"}]";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char err[400];
	struct svcdb *base = svcdb_load(NULL, err, sizeof err);
	struct svcdb *db = svcdb_load(path, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(svcdb_count(db), svcdb_count(base) + 1);
	struct svc_match m;
	struct svc_evidence e = {.port = 2200, .banner = "SSH-2.0-OpenSSH_10.0"};
	svcdb_identify(db, &e, &m);
	assert_string_equal(m.name, "OpenSSH");
	e.banner = "SSH-2.0-OpenSSH_9.2"; /* the replaced definition no longer matches 9.x */
	svcdb_identify(db, &e, &m);
	assert_string_equal(m.name, "SSH");
	svcdb_free(db);
	svcdb_free(base);
	/* a broken file names itself */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "[1]", 3), 3);
	close(fd);
	assert_null(svcdb_load(path, err, sizeof err));
	assert_non_null(strstr(err, path));
	unlink(path);
	assert_null(svcdb_load("/nonexistent/services.json", err, sizeof err));
	assert_non_null(strstr(err, "services_file"));
}

/* Containers: the engine says which image runs, nothing was probed. The
   image names the service (with its port: certain); an unknown image on
   port 80 is only "HTTP" from the port, not the first product listing 80
   (an nginx:1.25 container was once named GitLab). */
static void
test_container_images(void **state)
{
	(void)state;
	char err[400];
	struct svcdb *db = svcdb_load(NULL, err, sizeof err);
	assert_non_null(db);
	struct svc_match m;
	struct svc_evidence ev = {.port = 80, .unprobed = 1, .image = "nginx:1.25"};
	assert_int_equal(svcdb_identify(db, &ev, &m), SVC_CERTAIN);
	assert_string_equal(m.name, "nginx");
	ev.image = "registry.example.net:5000/library/nginx@sha256:0123";
	assert_int_equal(svcdb_identify(db, &ev, &m), SVC_CERTAIN);
	assert_string_equal(m.name, "nginx");
	ev.image = "gitlab/gitlab-ce:16.0.1-ce.0";
	assert_int_equal(svcdb_identify(db, &ev, &m), SVC_CERTAIN);
	assert_string_equal(m.name, "GitLab");
	ev.image = "acme/storefront:3";
	assert_int_equal(svcdb_identify(db, &ev, &m), SVC_LOW);
	assert_string_equal(m.name, "HTTP");
	/* an image whose name is not a known one, but whose OCI title is */
	ev.image = "acme/db:1";
	ev.image_title = "postgres";
	ev.port = 5432;
	assert_int_equal(svcdb_identify(db, &ev, &m), SVC_CERTAIN);
	assert_string_equal(m.name, "PostgreSQL");
	/* the image off its usual port: still named, one level lower */
	ev.image = "redis:7";
	ev.image_title = NULL;
	ev.port = 7000;
	assert_int_equal(svcdb_identify(db, &ev, &m), SVC_HIGH);
	assert_string_equal(m.name, "Redis");
	/* "nginx" inside another word is not nginx */
	ev.image = "acme/nginx-exporter-fork:1";
	ev.port = 80;
	assert_int_equal(svcdb_identify(db, &ev, &m), SVC_LOW);
	assert_string_equal(m.name, "HTTP");
	/* a scanned port ignores image matchers: its evidence decides */
	struct svc_evidence scanned = {.port = 22};
	assert_int_equal(svcdb_identify(db, &scanned, &m), SVC_LOW);
	assert_string_equal(m.name, "SSH");
	svcdb_free(db);
}

static void
test_http_parse(void **state)
{
	(void)state;
	char h[256], t[64];
	const char *body;
	const char *raw = "HTTP/1.1 401 Unauthorized\r\nServer: test\r\nX-A: b\r\n\r\n<html><TITLE>\n  Hello\tthere </title>";
	assert_int_equal(svc_parse_http(raw, strlen(raw), h, sizeof h, t, sizeof t, &body), 401);
	assert_string_equal(h, "Server: test\r\nX-A: b\r\n");
	assert_string_equal(t, "Hello\tthere");
	assert_non_null(body);
	assert_int_equal(svc_parse_http("SSH-2.0-x\r\n", 11, h, sizeof h, t, sizeof t, &body), 0);
	assert_int_equal(svc_parse_http("HTTP/1.1 99", 11, h, sizeof h, t, sizeof t, &body), 0);
	/* headers without an end, tiny buffers */
	raw = "HTTP/1.0 200 OK\r\nServer: a-very-long-server-name";
	assert_int_equal(svc_parse_http(raw, strlen(raw), h, 8, t, 4, &body), 200);
	assert_int_equal(strlen(h), 7);
	assert_null(body);
	char p[16];
	svc_printable("a\0b\r\n", 5, p, sizeof p);
	assert_string_equal(p, "a b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_bad_definitions),
		cmocka_unit_test(test_file_override),
		cmocka_unit_test(test_container_images),
		cmocka_unit_test(test_http_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
