/* Unit tests for config.c: defaults, the file < environment < flags
   layering, validation with messages naming source and field, reload, and
   the seed.json / reporting.json parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meshwatch/config.h"
#include "meshwatch/log.h"
#include "meshwatch/util.h"

#include "testdir.h"

/* Every variable config.c reads: cleared before each test. */
static const char *const env_vars[] = {
	"MESHWATCH_CONFIG", "MESHWATCH_LISTEN", "DATA_DIR", "CERT_DIR", "MESHWATCH_SEED", "MESHWATCH_REPORTING",
	"MESHWATCH_NAME", "MESHWATCH_ADVERTISE", "MESHWATCH_POLL_INTERVAL", "MESHWATCH_LOG_LEVEL", "NODE_ENV", "ROOT_USER", "ROOT_PASSWORD",
	"MESH_SECRET", "MESHWATCH_MAX_BODY_BYTES", "MESHWATCH_HTTP_THREADS", "MESHWATCH_HANDSHAKE_TIMEOUT_MS",
	"MESHWATCH_REQUEST_TIMEOUT_MS", "MESHWATCH_CERT_VALIDITY_DAYS", "MESHWATCH_CERT_RENEW_DAYS",
	"MESHWATCH_CERT_CHECK_INTERVAL", "MESHWATCH_SESSION_TTL", "MESHWATCH_SESSION_PURGE_INTERVAL",
	"MESHWATCH_LOGIN_RATE", "MESHWATCH_LOGIN_ACCOUNT_RATE", "MESHWATCH_MAX_USERS", "MESHWATCH_PBKDF2_ITERATIONS",
	"MESHWATCH_IFACE", "MESHWATCH_BPF", "MESHWATCH_SNAPLEN", "MESHWATCH_RETENTION", "MESHWATCH_CAPTURE_BUFFER",
	"MESHWATCH_PCAP", "MESHWATCH_MAX_FLOWS", "MESHWATCH_METRICS_TOKEN_FILE",
};

struct fx {
	char dir[256];
	struct config cfg;
	char err[1024];
};

static void
clear_env(void)
{
	for (size_t i = 0; i < MW_ARRAY_LEN(env_vars); i++)
		unsetenv(env_vars[i]);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/mw-test-config-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	clear_env();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	clear_env();
	if (f) {
		testdir_remove(f->dir);
		free(f);
	}
	return 0;
}

/* Writes content to DIR/name and returns the path in out. */
static void
put_file(struct fx *f, const char *name, const char *content, char *out, size_t outlen)
{
	assert_int_equal(mw_snprintf(out, outlen, "%s/%s", f->dir, name), 0);
	FILE *fp = fopen(out, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, strlen(content), fp), strlen(content));
	assert_int_equal(fclose(fp), 0);
}

/* argv arrays: config_load takes char **, so keep mutable copies. */
struct args {
	int argc;
	char *argv[32];
	char store[32][1200];
};

static struct args *
mkargs(const char *first, ...)
{
	struct args *a = calloc(1, sizeof *a);
	assert_non_null(a);
	va_list ap;
	va_start(ap, first);
	snprintf(a->store[0], sizeof a->store[0], "%s", "meshwatch");
	a->argv[0] = a->store[0];
	a->argc = 1;
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
		assert_true(a->argc < 31);
		snprintf(a->store[a->argc], sizeof a->store[0], "%s", s);
		a->argv[a->argc] = a->store[a->argc];
		a->argc++;
	}
	va_end(ap);
	a->argv[a->argc] = NULL;
	return a;
}

static int
load(struct fx *f, struct args *a)
{
	f->err[0] = '\0';
	int rc = config_load(&f->cfg, a->argc, a->argv, f->err, sizeof f->err);
	free(a);
	return rc;
}

/* Expects MW_EINVAL with every needle in the message. */
#define expect_einval(f, a, ...) expect_einval_((f), (a), __VA_ARGS__, (const char *)NULL)
static void
expect_einval_(struct fx *f, struct args *a, ...)
{
	int rc = load(f, a);
	if (rc != MW_EINVAL)
		print_error("config_load returned %d, err \"%s\"\n", rc, f->err);
	assert_int_equal(rc, MW_EINVAL);
	va_list ap;
	va_start(ap, a);
	for (const char *n = va_arg(ap, const char *); n != NULL; n = va_arg(ap, const char *)) {
		if (strstr(f->err, n) == NULL)
			print_error("message \"%s\" does not mention \"%s\"\n", f->err, n);
		assert_non_null(strstr(f->err, n));
	}
	va_end(ap);
}

static void
expect_ok(struct fx *f, struct args *a)
{
	int rc = load(f, a);
	if (rc != 0)
		print_error("config_load failed (%d): %s\n", rc, f->err);
	assert_int_equal(rc, 0);
}

/* defaults */

static void
test_defaults(void **state)
{
	struct fx *f = *state;
	memset(&f->cfg, 0x5a, sizeof f->cfg);
	expect_ok(f, mkargs(NULL));
	struct config *c = &f->cfg;
	assert_string_equal(c->config_file, "");
	assert_string_equal(c->listen, "0.0.0.0:8443");
	assert_string_equal(c->listen_addr, "0.0.0.0");
	assert_int_equal(c->listen_port, 8443);
	assert_string_equal(c->data_dir, "./data");
	assert_string_equal(c->cert_dir, "./data/certs");
	assert_string_equal(c->seed_file, "");
	assert_string_equal(c->reporting_file, "");
	assert_string_equal(c->name, "");
	assert_string_equal(c->advertise, "");
	assert_int_equal(c->poll_interval_s, 30);
	assert_string_equal(c->log_level, "info");
	assert_string_equal(c->node_env, "production");
	assert_string_equal(c->root_user, "");
	assert_string_equal(c->root_password, "");
	assert_string_equal(c->mesh_secret, "");
	assert_int_equal(c->max_body_bytes, 1048576);
	assert_int_equal(c->http_threads, 96);
	assert_int_equal(c->handshake_timeout_ms, 5000);
	assert_int_equal(c->request_timeout_ms, 15000);
	assert_int_equal(c->cert_validity_days, 365);
	assert_int_equal(c->cert_renew_days, 30);
	assert_int_equal(c->cert_check_interval_s, 3600);
	assert_int_equal(c->session_ttl_s, 43200);
	assert_int_equal(c->session_purge_interval_s, 300);
	assert_int_equal(c->login_attempts_per_min, 10);
	assert_int_equal(c->max_users, 1000);
	assert_true(c->pbkdf2_iterations >= 100000);
	assert_int_equal(c->check_config, 0);
	assert_int_equal(c->show_version, 0);
	assert_int_equal(c->show_help, 0);
}

static void
test_action_flags(void **state)
{
	struct fx *f = *state;
	expect_ok(f, mkargs("--check-config", "--version", "--help", NULL));
	assert_int_equal(f->cfg.check_config, 1);
	assert_int_equal(f->cfg.show_version, 1);
	assert_int_equal(f->cfg.show_help, 1);
	expect_ok(f, mkargs("-h", NULL));
	assert_int_equal(f->cfg.show_help, 1);
	assert_int_equal(f->cfg.check_config, 0);
}

/* precedence */

static void
test_precedence(void **state)
{
	struct fx *f = *state;
	char path[512];
	put_file(f, "node.json",
	    "{\"listen\":\"127.0.0.1:1001\",\"poll_interval_s\":11,\"data_dir\":\"/from/file\","
	    "\"log_level\":\"warn\",\"http_threads\":100,\"name\":\"file.example\"}",
	    path, sizeof path);
	/* file over defaults */
	expect_ok(f, mkargs("--config", path, NULL));
	assert_string_equal(f->cfg.config_file, path);
	assert_string_equal(f->cfg.listen, "127.0.0.1:1001");
	assert_int_equal(f->cfg.listen_port, 1001);
	assert_int_equal(f->cfg.poll_interval_s, 11);
	assert_string_equal(f->cfg.data_dir, "/from/file");
	assert_string_equal(f->cfg.cert_dir, "/from/file/certs");
	assert_string_equal(f->cfg.log_level, "warn");
	assert_int_equal(f->cfg.http_threads, 100);
	assert_int_equal(f->cfg.max_users, 1000); /* untouched default */

	/* environment over file */
	setenv("MESHWATCH_LISTEN", "127.0.0.1:1002", 1);
	setenv("MESHWATCH_POLL_INTERVAL", "12", 1);
	setenv("MESHWATCH_HTTP_THREADS", "200", 1);
	expect_ok(f, mkargs("--config", path, NULL));
	assert_string_equal(f->cfg.listen, "127.0.0.1:1002");
	assert_int_equal(f->cfg.listen_port, 1002);
	assert_int_equal(f->cfg.poll_interval_s, 12);
	assert_int_equal(f->cfg.http_threads, 200);
	assert_string_equal(f->cfg.data_dir, "/from/file"); /* not in env: file wins */
	assert_string_equal(f->cfg.name, "file.example");

	/* flags over environment, in both --flag VALUE and --flag=VALUE forms */
	expect_ok(f, mkargs("--config", path, "--listen", "127.0.0.1:1003", "--http-threads=300", NULL));
	assert_string_equal(f->cfg.listen, "127.0.0.1:1003");
	assert_int_equal(f->cfg.listen_port, 1003);
	assert_int_equal(f->cfg.http_threads, 300);
	assert_int_equal(f->cfg.poll_interval_s, 12); /* env still beats file */
	assert_string_equal(f->cfg.log_level, "warn");

	/* flags before --config are applied over the file as well */
	expect_ok(f, mkargs("--name=cli.example", "--config", path, NULL));
	assert_string_equal(f->cfg.name, "cli.example");

	/* an empty environment variable counts as unset */
	setenv("MESHWATCH_LISTEN", "", 1);
	expect_ok(f, mkargs("--config", path, NULL));
	assert_string_equal(f->cfg.listen, "127.0.0.1:1001");
}

static void
test_config_file_from_env(void **state)
{
	struct fx *f = *state;
	char a[512], b[512];
	put_file(f, "a.json", "{\"poll_interval_s\":41}", a, sizeof a);
	put_file(f, "b.json", "{\"poll_interval_s\":42}", b, sizeof b);
	setenv("MESHWATCH_CONFIG", a, 1);
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.poll_interval_s, 41);
	assert_string_equal(f->cfg.config_file, a);
	/* --config beats MESHWATCH_CONFIG */
	expect_ok(f, mkargs("--config", b, NULL));
	assert_int_equal(f->cfg.poll_interval_s, 42);
	assert_string_equal(f->cfg.config_file, b);
	char eq[600];
	snprintf(eq, sizeof eq, "--config=%s", b);
	expect_ok(f, mkargs(eq, NULL));
	assert_int_equal(f->cfg.poll_interval_s, 42);
	/* a missing config file is an error naming it */
	char missing[512];
	snprintf(missing, sizeof missing, "%s/missing.json", f->dir);
	setenv("MESHWATCH_CONFIG", missing, 1);
	expect_einval(f, mkargs(NULL), missing);
}

/* unknown or malformed input */

static void
test_file_errors(void **state)
{
	struct fx *f = *state;
	char p[512];
	put_file(f, "unknown.json", "{\"listen\":\"127.0.0.1:1\",\"colour\":\"blue\"}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), p, "colour");
	put_file(f, "syntax.json", "{\"listen\": ", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), p);
	put_file(f, "array.json", "[1,2,3]", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), p);
	put_file(f, "empty.json", "", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), p);
	put_file(f, "type.json", "{\"listen\":8443}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), p, "listen");
	put_file(f, "null.json", "{\"data_dir\":null}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), p, "data_dir");
	/* a near miss of a real field or flag is unknown */
	put_file(f, "capture.json", "{\"snap_len\":160}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), p, "snap_len");
	expect_einval(f, mkargs("--bpf-filter", "ip", NULL), "--bpf-filter");
	/* an empty object is fine */
	put_file(f, "ok.json", "{ }", p, sizeof p);
	expect_ok(f, mkargs("--config", p, NULL));
}

static void
test_unknown_flag_and_args(void **state)
{
	struct fx *f = *state;
	expect_einval(f, mkargs("--bogus", "1", NULL), "--bogus");
	expect_einval(f, mkargs("--bogus=1", NULL), "--bogus");
	expect_einval(f, mkargs("--lis", "127.0.0.1:1", NULL), "--lis");
	expect_einval(f, mkargs("--listenx=127.0.0.1:1", NULL), "--listenx");
	/* keys that have no flag are not flags */
	expect_einval(f, mkargs("--root-user", "x", NULL), "--root-user");
	expect_einval(f, mkargs("positional", NULL), "positional");
	/* a flag without its value */
	expect_einval(f, mkargs("--listen", NULL), "--listen");
	expect_einval(f, mkargs("--config", NULL), "--config");
}

static void
test_bad_ints(void **state)
{
	struct fx *f = *state;
	char p[512];
	/* boundaries from the file */
	put_file(f, "lo.json", "{\"poll_interval_s\":1,\"max_body_bytes\":1024,\"http_threads\":4}", p, sizeof p);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_int_equal(f->cfg.poll_interval_s, 1);
	assert_int_equal(f->cfg.max_body_bytes, 1024);
	assert_int_equal(f->cfg.http_threads, 4);
	put_file(f, "hi.json", "{\"poll_interval_s\":86400,\"max_body_bytes\":67108864,\"http_threads\":1024}", p, sizeof p);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_int_equal(f->cfg.poll_interval_s, 86400);
	assert_int_equal(f->cfg.max_body_bytes, 67108864);
	assert_int_equal(f->cfg.http_threads, 1024);
	static const char *const bad_file[] = {
		"{\"poll_interval_s\":0}", "{\"poll_interval_s\":86401}", "{\"poll_interval_s\":-5}",
		"{\"poll_interval_s\":1.5}", "{\"poll_interval_s\":\"30\"}", "{\"poll_interval_s\":true}",
		"{\"poll_interval_s\":null}", "{\"poll_interval_s\":1e10}", "{\"poll_interval_s\":[30]}",
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad_file); i++) {
		put_file(f, "bad.json", bad_file[i], p, sizeof p);
		expect_einval(f, mkargs("--config", p, NULL), p, "poll_interval_s");
	}
	/* from the environment */
	static const char *const bad_text[] = {"abc", "12x", "0", "86401", "-1", "99999999999999999999", "1.0", "0x10"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad_text); i++) {
		setenv("MESHWATCH_POLL_INTERVAL", bad_text[i], 1);
		expect_einval(f, mkargs(NULL), "MESHWATCH_POLL_INTERVAL", "poll_interval_s", "1", "86400");
	}
	unsetenv("MESHWATCH_POLL_INTERVAL");
	setenv("MESHWATCH_PBKDF2_ITERATIONS", "99999", 1);
	expect_einval(f, mkargs(NULL), "MESHWATCH_PBKDF2_ITERATIONS", "pbkdf2_iterations", "100000");
	setenv("MESHWATCH_PBKDF2_ITERATIONS", "100000", 1);
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.pbkdf2_iterations, 100000);
	unsetenv("MESHWATCH_PBKDF2_ITERATIONS");
	/* the events table's bound: 100 .. 100000000, 100000 by default */
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.events_max_rows, 100000);
	setenv("MESHWATCH_EVENTS_MAX_ROWS", "99", 1);
	expect_einval(f, mkargs(NULL), "MESHWATCH_EVENTS_MAX_ROWS", "events_max_rows", "100");
	setenv("MESHWATCH_EVENTS_MAX_ROWS", "100000001", 1);
	expect_einval(f, mkargs(NULL), "MESHWATCH_EVENTS_MAX_ROWS", "events_max_rows", "100000000");
	setenv("MESHWATCH_EVENTS_MAX_ROWS", "100", 1);
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.events_max_rows, 100);
	unsetenv("MESHWATCH_EVENTS_MAX_ROWS");
	/* from a flag */
	for (size_t i = 0; i < MW_ARRAY_LEN(bad_text); i++)
		expect_einval(f, mkargs("--poll-interval", bad_text[i], NULL), "--poll-interval", "poll_interval_s");
	expect_einval(f, mkargs("--poll-interval=", NULL), "--poll-interval");
	expect_einval(f, mkargs("--max-body", "1023", NULL), "--max-body", "max_body_bytes");
	expect_ok(f, mkargs("--max-body", "1024", NULL));
	assert_int_equal(f->cfg.max_body_bytes, 1024);
	expect_ok(f, mkargs("--max-body", "67108864", NULL));
	expect_einval(f, mkargs("--max-body", "67108865", NULL), "--max-body");
}

/* remote_scans: on by default; true/false (or 1/0) from the file and the
   environment; anything else names the setting. remote_scan_lost_s: a
   duration of at least 5 s. */
static void
test_remote_scans(void **state)
{
	struct fx *f = *state;
	char p[512];
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.remote_scans, 1);
	assert_int_equal(f->cfg.remote_scan_lost_s, 120);
	put_file(f, "off.json", "{\"remote_scans\":false,\"remote_scan_lost_s\":\"5m\"}", p, sizeof p);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_int_equal(f->cfg.remote_scans, 0);
	assert_int_equal(f->cfg.remote_scan_lost_s, 300);
	put_file(f, "on.json", "{\"remote_scans\":true}", p, sizeof p);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_int_equal(f->cfg.remote_scans, 1);
	put_file(f, "bad.json", "{\"remote_scans\":\"yes\"}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), "remote_scans");
	setenv("MESHWATCH_REMOTE_SCANS", "false", 1);
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.remote_scans, 0);
	setenv("MESHWATCH_REMOTE_SCANS", "1", 1);
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.remote_scans, 1);
	setenv("MESHWATCH_REMOTE_SCANS", "on", 1);
	expect_einval(f, mkargs(NULL), "MESHWATCH_REMOTE_SCANS", "remote_scans");
	unsetenv("MESHWATCH_REMOTE_SCANS");
	setenv("MESHWATCH_REMOTE_SCAN_LOST", "4s", 1);
	expect_einval(f, mkargs(NULL), "MESHWATCH_REMOTE_SCAN_LOST", "remote_scan_lost_s");
	unsetenv("MESHWATCH_REMOTE_SCAN_LOST");
}

static void
test_long_strings(void **state)
{
	struct fx *f = *state;
	char big[400];
	memset(big, 'n', 253);
	big[253] = '\0';
	expect_ok(f, mkargs("--name", big, NULL)); /* a DNS name holds 253 characters */
	assert_int_equal(strlen(f->cfg.name), 253);
	memset(big, 'n', 254);
	big[254] = '\0';
	expect_einval(f, mkargs("--name", big, NULL), "--name", "name");
	setenv("MESHWATCH_NAME", big, 1);
	expect_einval(f, mkargs(NULL), "MESHWATCH_NAME");
}

static void
test_listen(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *in, *addr;
		int port;
	} good[] = {
		{"[::1]:8443", "::1", 8443},
		{"127.0.0.1:1", "127.0.0.1", 1},
		{"0.0.0.0:65535", "0.0.0.0", 65535},
		{"[::]:443", "::", 443},
		{"[2001:db8::5]:9000", "2001:db8::5", 9000},
		{":8080", "0.0.0.0", 8080},
		{"8080", "0.0.0.0", 8080},
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(good); i++) {
		expect_ok(f, mkargs("--listen", good[i].in, NULL));
		assert_string_equal(f->cfg.listen, good[i].in);
		assert_string_equal(f->cfg.listen_addr, good[i].addr);
		assert_int_equal(f->cfg.listen_port, good[i].port);
	}
	static const char *const bad[] = {"1.2.3.4:0", "host:80", "localhost:8443", "1.2.3.4:65536", "1.2.3.4",
	    "1.2.3.4:", "[::1]8443", "[::1]", "[::1:8443", "[]:80", "256.1.1.1:80", "1.2.3.4:-1", "1.2.3.4:80x",
	    "", ":"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad); i++) {
		expect_einval(f, mkargs("--listen", bad[i], NULL), "listen");
		char quoted[64];
		snprintf(quoted, sizeof quoted, "\"%s\"", bad[i]);
		assert_non_null(strstr(f->err, quoted)); /* the message shows the value */
	}
	setenv("MESHWATCH_LISTEN", "host:80", 1);
	expect_einval(f, mkargs(NULL), "listen", "host:80");
	unsetenv("MESHWATCH_LISTEN");
	char p[512];
	put_file(f, "l.json", "{\"listen\":\"1.2.3.4:0\"}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), "listen", "1.2.3.4:0");
}

/* Known bug: values checked after layering (listen, log_level, advertise)
   give messages without their source, contrary to config.h. */
static void
test_validation_names_source(void **state)
{
	struct fx *f = *state;
	char p[512];
	expect_einval(f, mkargs("--listen", "host:80", NULL), "listen", "--listen");
	setenv("MESHWATCH_LISTEN", "host:80", 1);
	expect_einval(f, mkargs(NULL), "listen", "MESHWATCH_LISTEN");
	unsetenv("MESHWATCH_LISTEN");
	put_file(f, "l.json", "{\"listen\":\"1.2.3.4:0\"}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), "listen", p);
	put_file(f, "v.json", "{\"log_level\":\"loud\"}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), "log_level", p);
	setenv("MESHWATCH_ADVERTISE", "nope", 1);
	expect_einval(f, mkargs(NULL), "advertise", "MESHWATCH_ADVERTISE");
}

static void
test_log_level(void **state)
{
	struct fx *f = *state;
	static const char *const good[] = {"error", "warn", "info", "debug", "DEBUG", "Warn"};
	for (size_t i = 0; i < MW_ARRAY_LEN(good); i++) {
		expect_ok(f, mkargs("--log-level", good[i], NULL));
		assert_string_equal(f->cfg.log_level, good[i]);
		assert_true(log_parse_level(f->cfg.log_level) >= 0);
	}
	static const char *const bad[] = {"verbose", "trace", "", "info ", "0", "errors"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad); i++)
		expect_einval(f, mkargs("--log-level", bad[i], NULL), "log_level");
	setenv("MESHWATCH_LOG_LEVEL", "loud", 1);
	expect_einval(f, mkargs(NULL), "log_level", "loud");
	assert_int_equal(log_parse_level("error"), LOG_ERROR);
	assert_int_equal(log_parse_level("warn"), LOG_WARN);
	assert_int_equal(log_parse_level("info"), LOG_INFO);
	assert_int_equal(log_parse_level("debug"), LOG_DEBUG);
	assert_int_equal(log_parse_level("nope"), -1);
}

static void
test_advertise(void **state)
{
	struct fx *f = *state;
	expect_ok(f, mkargs("--advertise", "192.0.2.7", NULL));
	assert_string_equal(f->cfg.advertise, "192.0.2.7");
	expect_ok(f, mkargs("--advertise", "2001:db8::7", NULL));
	expect_einval(f, mkargs("--advertise", "node.example", NULL), "advertise", "node.example");
	expect_einval(f, mkargs("--advertise", "192.0.2.7:80", NULL), "advertise");
}

static void
test_capture_options(void **state)
{
	struct fx *f = *state;
	char p[512];
	expect_ok(f, mkargs(NULL));
	assert_string_equal(f->cfg.capture_iface, "");
	assert_string_equal(f->cfg.capture_pcap, "");
	assert_string_equal(f->cfg.capture_bpf, "ip or ip6 or (vlan and (ip or ip6 or (vlan and (ip or ip6))))");
	assert_int_equal(f->cfg.capture_snaplen, 160);
	assert_int_equal(f->cfg.capture_retention_s, 3600);
	assert_int_equal(f->cfg.capture_buffer_bytes, 32 * 1024 * 1024);
	assert_int_equal(f->cfg.capture_max_flows, 262144);
	/* retention is a duration */
	expect_ok(f, mkargs("--retention", "2h", NULL));
	assert_int_equal(f->cfg.capture_retention_s, 7200);
	expect_ok(f, mkargs("--retention=90s", NULL));
	assert_int_equal(f->cfg.capture_retention_s, 90);
	expect_ok(f, mkargs("--retention", "1d", NULL));
	assert_int_equal(f->cfg.capture_retention_s, 86400);
	expect_ok(f, mkargs("--retention", "600", NULL));
	assert_int_equal(f->cfg.capture_retention_s, 600);
	expect_einval(f, mkargs("--retention", "59s", NULL), "retention", "59s");
	expect_einval(f, mkargs("--retention", "25h", NULL), "retention");
	expect_einval(f, mkargs("--retention", "2x", NULL), "retention");
	expect_einval(f, mkargs("--retention", "h", NULL), "retention");
	expect_einval(f, mkargs("--retention", "-1h", NULL), "retention");
	setenv("MESHWATCH_RETENTION", "30m", 1);
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.capture_retention_s, 1800);
	unsetenv("MESHWATCH_RETENTION");
	put_file(f, "ret.json", "{\"retention\":\"3h\",\"max_flows\":1000}", p, sizeof p);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_int_equal(f->cfg.capture_retention_s, 10800);
	assert_int_equal(f->cfg.capture_max_flows, 1000);
	put_file(f, "ret2.json", "{\"retention\":120}", p, sizeof p);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_int_equal(f->cfg.capture_retention_s, 120);
	put_file(f, "ret3.json", "{\"retention\":true}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), "retention");
	/* the flow cap and the other limits */
	expect_ok(f, mkargs("--max-flows", "16", NULL));
	expect_einval(f, mkargs("--max-flows", "15", NULL), "max_flows");
	expect_einval(f, mkargs("--max-flows", "16777217", NULL), "max_flows");
	expect_einval(f, mkargs("--snaplen", "63", NULL), "snaplen");
	expect_einval(f, mkargs("--capture-buffer", "1048575", NULL), "capture_buffer_bytes");
	/* a live interface or a file, not both */
	expect_ok(f, mkargs("--iface", "any", "--bpf", "udp", NULL));
	assert_string_equal(f->cfg.capture_iface, "any");
	assert_string_equal(f->cfg.capture_bpf, "udp");
	expect_einval(f, mkargs("--iface", "lo", "--pcap", "x.pcap", NULL), "iface", "pcap");
}

static void
test_root_user_needs_password(void **state)
{
	struct fx *f = *state;
	setenv("ROOT_USER", "admin", 1);
	expect_einval(f, mkargs(NULL), "ROOT_USER", "ROOT_PASSWORD");
	setenv("ROOT_PASSWORD", "", 1);
	expect_einval(f, mkargs(NULL), "ROOT_USER", "ROOT_PASSWORD");
	setenv("ROOT_PASSWORD", "s3cret-password", 1);
	expect_ok(f, mkargs(NULL));
	assert_string_equal(f->cfg.root_user, "admin");
	assert_string_equal(f->cfg.root_password, "s3cret-password");
	/* root_user in the file without a password anywhere */
	unsetenv("ROOT_USER");
	unsetenv("ROOT_PASSWORD");
	char p[512];
	put_file(f, "root.json", "{\"root_user\":\"admin\"}", p, sizeof p);
	expect_einval(f, mkargs("--config", p, NULL), "ROOT_PASSWORD");
	/* ... and with the password from the environment */
	setenv("ROOT_PASSWORD", "s3cret-password", 1);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_string_equal(f->cfg.root_user, "admin");
}

static void
test_cert_dir_and_renewal_window(void **state)
{
	struct fx *f = *state;
	expect_ok(f, mkargs("--data-dir", "/var/lib/mw", NULL));
	assert_string_equal(f->cfg.data_dir, "/var/lib/mw");
	assert_string_equal(f->cfg.cert_dir, "/var/lib/mw/certs");
	setenv("DATA_DIR", "/srv/x", 1);
	expect_ok(f, mkargs(NULL));
	assert_string_equal(f->cfg.cert_dir, "/srv/x/certs");
	/* an explicit cert_dir wins */
	expect_ok(f, mkargs("--cert-dir", "/etc/mw-certs", NULL));
	assert_string_equal(f->cfg.cert_dir, "/etc/mw-certs");
	assert_string_equal(f->cfg.data_dir, "/srv/x");
	setenv("CERT_DIR", "/c", 1);
	expect_ok(f, mkargs(NULL));
	assert_string_equal(f->cfg.cert_dir, "/c");
	unsetenv("CERT_DIR");
	/* data_dir so long that "/certs" no longer fits */
	char longdir[CONFIG_STR];
	memset(longdir, 'd', CONFIG_STR - 3);
	longdir[0] = '/';
	longdir[CONFIG_STR - 3] = '\0';
	expect_einval(f, mkargs("--data-dir", longdir, NULL), "data_dir");
	unsetenv("DATA_DIR");
	expect_einval(f, mkargs("--data-dir", "", NULL), "data_dir");
	/* renewal must happen before expiry */
	setenv("MESHWATCH_CERT_VALIDITY_DAYS", "30", 1);
	expect_einval(f, mkargs(NULL), "cert_renew_days", "cert_validity_days");
	setenv("MESHWATCH_CERT_RENEW_DAYS", "29", 1);
	expect_ok(f, mkargs(NULL));
	assert_int_equal(f->cfg.cert_validity_days, 30);
	assert_int_equal(f->cfg.cert_renew_days, 29);
}

/* A JSON object of exactly n bytes: {"name":"x"} padded with spaces. */
static char *
padded_json(size_t n)
{
	const char *body = "{\"name\":\"padded.example\"";
	char *s = malloc(n + 1);
	assert_non_null(s);
	size_t bl = strlen(body);
	memcpy(s, body, bl);
	memset(s + bl, ' ', n - bl - 1);
	s[n - 1] = '}';
	s[n] = '\0';
	return s;
}

static void
test_config_file_size_limit(void **state)
{
	struct fx *f = *state;
	char p[512];
	char *s = padded_json(1024 * 1024);
	put_file(f, "exact.json", s, p, sizeof p);
	free(s);
	expect_ok(f, mkargs("--config", p, NULL));
	assert_string_equal(f->cfg.name, "padded.example");
	s = padded_json(1024 * 1024 + 1);
	put_file(f, "over.json", s, p, sizeof p);
	free(s);
	expect_einval(f, mkargs("--config", p, NULL), p);
}

static void
test_reload_keeps_old_on_error(void **state)
{
	struct fx *f = *state;
	char p[512];
	put_file(f, "node.json", "{\"poll_interval_s\":11,\"name\":\"one.example\"}", p, sizeof p);
	struct args *a = mkargs("--config", p, "--http-threads", "99", NULL);
	assert_int_equal(config_load(&f->cfg, a->argc, a->argv, f->err, sizeof f->err), 0);
	assert_int_equal(f->cfg.poll_interval_s, 11);
	struct config saved = f->cfg;

	static const char *const broken[] = {
		"{\"poll_interval_s\":0,\"name\":\"two.example\"}",
		"{\"name\":\"two.example\",\"surprise\":1}",
		"{\"name\":\"two.example\"",
		"{\"listen\":\"host:80\"}",
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(broken); i++) {
		put_file(f, "node.json", broken[i], p, sizeof p);
		f->err[0] = '\0';
		assert_int_equal(config_reload(&f->cfg, a->argc, a->argv, f->err, sizeof f->err), MW_EINVAL);
		assert_true(strlen(f->err) > 0);
		assert_memory_equal(&saved, &f->cfg, sizeof saved);
	}
	unlink(p);
	assert_int_equal(config_reload(&f->cfg, a->argc, a->argv, f->err, sizeof f->err), MW_EINVAL);
	assert_non_null(strstr(f->err, p));
	assert_memory_equal(&saved, &f->cfg, sizeof saved);

	/* a good file is picked up, with CLI and environment still on top */
	put_file(f, "node.json", "{\"poll_interval_s\":22,\"name\":\"two.example\",\"http_threads\":500}", p, sizeof p);
	setenv("MESHWATCH_NAME", "env.example", 1);
	assert_int_equal(config_reload(&f->cfg, a->argc, a->argv, f->err, sizeof f->err), 0);
	assert_int_equal(f->cfg.poll_interval_s, 22);
	assert_string_equal(f->cfg.name, "env.example");
	assert_int_equal(f->cfg.http_threads, 99);
	free(a);
}

/* metrics_token_file: the token trimmed of white space, at least 20
   printable characters; a bad file is an error naming it and why. */
static void
test_metrics_token_file(void **state)
{
	struct fx *f = *state;
	char p[512], big[METRICS_TOKEN_FILE_MAX + 2];
	expect_ok(f, mkargs(NULL));
	assert_string_equal(f->cfg.metrics_token, "");
	put_file(f, "good", "\n  0123456789abcdefghij\r\n\n", p, sizeof p);
	expect_ok(f, mkargs("--metrics-token-file", p, NULL));
	assert_string_equal(f->cfg.metrics_token, "0123456789abcdefghij");
	assert_string_equal(f->cfg.metrics_token_file, p);
	setenv("MESHWATCH_METRICS_TOKEN_FILE", p, 1);
	expect_ok(f, mkargs(NULL));
	assert_string_equal(f->cfg.metrics_token, "0123456789abcdefghij");
	unsetenv("MESHWATCH_METRICS_TOKEN_FILE");
	put_file(f, "short", "0123456789abcdefghi\n", p, sizeof p);
	expect_einval(f, mkargs("--metrics-token-file", p, NULL), "metrics_token_file", p, "shorter than 20");
	put_file(f, "empty", "", p, sizeof p);
	expect_einval(f, mkargs("--metrics-token-file", p, NULL), p, "shorter than 20");
	put_file(f, "spaced", "0123456789 abcdefghij", p, sizeof p);
	expect_einval(f, mkargs("--metrics-token-file", p, NULL), p, "printable");
	memset(big, 'x', METRICS_TOKEN_MAX + 1);
	big[METRICS_TOKEN_MAX + 1] = '\0';
	put_file(f, "long", big, p, sizeof p);
	expect_einval(f, mkargs("--metrics-token-file", p, NULL), p, "longer than 256");
	big[METRICS_TOKEN_MAX] = '\0';
	put_file(f, "max", big, p, sizeof p);
	expect_ok(f, mkargs("--metrics-token-file", p, NULL));
	assert_int_equal(strlen(f->cfg.metrics_token), METRICS_TOKEN_MAX);
	memset(big, ' ', METRICS_TOKEN_FILE_MAX + 1);
	memcpy(big, "0123456789abcdefghij", 20);
	big[METRICS_TOKEN_FILE_MAX + 1] = '\0';
	put_file(f, "huge", big, p, sizeof p);
	expect_einval(f, mkargs("--metrics-token-file", p, NULL), p, "larger than 4096");
	snprintf(p, sizeof p, "%s/missing", f->dir);
	expect_einval(f, mkargs("--metrics-token-file", p, NULL), p, "No such file");
	/* the token is never printed */
	put_file(f, "good", "0123456789abcdefghij", p, sizeof p);
	expect_ok(f, mkargs("--metrics-token-file", p, NULL));
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	config_print(&f->cfg, out);
	fclose(out);
	assert_null(strstr(buf, "0123456789abcdefghij"));
	assert_non_null(strstr(buf, "metrics_token_file"));
	free(buf);
}

static void
test_print_redacts_secrets(void **state)
{
	struct fx *f = *state;
	setenv("ROOT_USER", "admin", 1);
	setenv("ROOT_PASSWORD", "very-secret-password", 1);
	setenv("MESH_SECRET", "mesh-secret-value", 1);
	expect_ok(f, mkargs("--name", "print.example", NULL));
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	config_print(&f->cfg, out);
	fclose(out);
	assert_non_null(buf);
	assert_null(strstr(buf, "very-secret-password"));
	assert_null(strstr(buf, "mesh-secret-value"));
	assert_non_null(strstr(buf, "print.example"));
	assert_non_null(strstr(buf, "admin"));
	assert_non_null(strstr(buf, "\"listen\""));
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	config_usage(out);
	fclose(out);
	assert_non_null(strstr(buf, "--listen"));
	assert_non_null(strstr(buf, "MESHWATCH_LISTEN"));
	free(buf);
}

/* seed.json */

static void
test_seeds_ok(void **state)
{
	struct fx *f = *state;
	char p[512], err[512];
	put_file(f, "seed.json",
	    "{\"nodes\":[{\"fqdn\":\"a.example\",\"ip\":\"192.0.2.1\"},"
	    "{\"fqdn\":\"b.example\",\"ip\":\"192.0.2.2\",\"port\":9443},"
	    "{\"fqdn\":\"c.example\"},"
	    "{\"ip\":\"2001:db8::1\",\"port\":1},"
	    "{\"fqdn\":\"e.example\",\"ip\":null,\"port\":65535}]}",
	    p, sizeof p);
	struct seed_entry *e = NULL;
	int n = config_load_seeds(p, 16, &e, err, sizeof err);
	assert_int_equal(n, 5);
	assert_non_null(e);
	assert_string_equal(e[0].fqdn, "a.example");
	assert_string_equal(e[0].ip, "192.0.2.1");
	assert_int_equal(e[0].port, 0);
	assert_string_equal(e[1].fqdn, "b.example");
	assert_int_equal(e[1].port, 9443);
	assert_string_equal(e[2].fqdn, "c.example");
	assert_string_equal(e[2].ip, "");
	assert_string_equal(e[3].fqdn, "");
	assert_string_equal(e[3].ip, "2001:db8::1");
	assert_int_equal(e[3].port, 1);
	assert_string_equal(e[4].ip, "");
	assert_int_equal(e[4].port, 65535);
	free(e);
	/* exactly max entries is fine */
	e = NULL;
	assert_int_equal(config_load_seeds(p, 5, &e, err, sizeof err), 5);
	free(e);
	/* an empty list */
	put_file(f, "empty.json", "{\"nodes\":[]}", p, sizeof p);
	e = NULL;
	assert_int_equal(config_load_seeds(p, 16, &e, err, sizeof err), 0);
	free(e);
}

static void
expect_seed_error(struct fx *f, const char *json, size_t max, int want, const char *n1, const char *n2)
{
	char p[512], err[512] = "";
	put_file(f, "bad-seed.json", json, p, sizeof p);
	struct seed_entry *e = (struct seed_entry *)(void *)&err; /* must be reset */
	int rc = config_load_seeds(p, max, &e, err, sizeof err);
	if (rc != want)
		print_error("seed %s: got %d (%s)\n", json, rc, err);
	assert_int_equal(rc, want);
	assert_null(e);
	assert_non_null(strstr(err, p));
	if (n1)
		assert_non_null(strstr(err, n1));
	if (n2)
		assert_non_null(strstr(err, n2));
}

static void
test_seeds_errors(void **state)
{
	struct fx *f = *state;
	/* neither fqdn nor ip: the message names the entry */
	expect_seed_error(f, "{\"nodes\":[{\"fqdn\":\"a\"},{\"port\":80}]}", 16, MW_EINVAL, "entry 1", NULL);
	expect_seed_error(f, "{\"nodes\":[{}]}", 16, MW_EINVAL, "entry 0", NULL);
	expect_seed_error(f, "{\"nodes\":[{\"fqdn\":\"a\"},{\"fqdn\":\"b\"},{\"fqdn\":null,\"ip\":null}]}", 16,
	    MW_EINVAL, "entry 2", NULL);
	expect_seed_error(f, "{\"nodes\":[{\"fqdn\":\"\",\"ip\":\"\"}]}", 16, MW_EINVAL, "entry 0", NULL);
	/* invalid addresses */
	static const char *const bad_ip[] = {"999.1.1.1", "a.b.c.d", "192.0.2.1:80", "localhost", "1.2.3", "::g"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad_ip); i++) {
		char json[256];
		snprintf(json, sizeof json, "{\"nodes\":[{\"fqdn\":\"a\",\"ip\":\"192.0.2.1\"},{\"fqdn\":\"b\",\"ip\":\"%s\"}]}",
		    bad_ip[i]);
		expect_seed_error(f, json, 16, MW_EINVAL, "entry 1", "ip");
	}
	expect_seed_error(f, "{\"nodes\":[{\"ip\":42}]}", 16, MW_EINVAL, "entry 0", "ip");
	expect_seed_error(f, "{\"nodes\":[{\"fqdn\":42}]}", 16, MW_EINVAL, "entry 0", "fqdn");
	/* ports */
	static const char *const bad_port[] = {"0", "65536", "-1", "1.5", "\"80\"", "true", "1e9"};
	for (size_t i = 0; i < MW_ARRAY_LEN(bad_port); i++) {
		char json[256];
		snprintf(json, sizeof json, "{\"nodes\":[{\"fqdn\":\"a\",\"port\":%s}]}", bad_port[i]);
		expect_seed_error(f, json, 16, MW_EINVAL, "entry 0", "port");
	}
	/* shape */
	expect_seed_error(f, "{\"nodes\":{\"fqdn\":\"a\"}}", 16, MW_EINVAL, "nodes", NULL);
	expect_seed_error(f, "{\"peers\":[]}", 16, MW_EINVAL, "nodes", NULL);
	expect_seed_error(f, "[{\"fqdn\":\"a\"}]", 16, MW_EINVAL, NULL, NULL);
	expect_seed_error(f, "{\"nodes\":[", 16, MW_EINVAL, NULL, NULL);
	expect_seed_error(f, "{\"nodes\":[\"a.example\"]}", 16, MW_EINVAL, "entry 0", NULL);
	/* an over-long host name */
	char json[600];
	char longname[300];
	memset(longname, 'h', 256);
	longname[256] = '\0';
	snprintf(json, sizeof json, "{\"nodes\":[{\"fqdn\":\"%s\"}]}", longname);
	expect_seed_error(f, json, 16, MW_EINVAL, "entry 0", "fqdn");
	longname[255] = '\0';
	char p[512], err[256];
	snprintf(json, sizeof json, "{\"nodes\":[{\"fqdn\":\"%s\"}]}", longname);
	put_file(f, "long-ok.json", json, p, sizeof p);
	struct seed_entry *e = NULL;
	assert_int_equal(config_load_seeds(p, 16, &e, err, sizeof err), 1);
	assert_int_equal(strlen(e[0].fqdn), 255);
	free(e);
}

static void
test_seeds_limits(void **state)
{
	struct fx *f = *state;
	char p[512], err[256];
	expect_seed_error(f,
	    "{\"nodes\":[{\"fqdn\":\"a\"},{\"fqdn\":\"b\"},{\"fqdn\":\"c\"}]}", 2, MW_ETOOBIG, "3", "2");
	expect_seed_error(f, "{\"nodes\":[{\"fqdn\":\"a\"}]}", 0, MW_ETOOBIG, NULL, NULL);
	/* a missing file */
	snprintf(p, sizeof p, "%s/nope.json", f->dir);
	struct seed_entry *e = (struct seed_entry *)(void *)&err;
	assert_int_equal(config_load_seeds(p, 16, &e, err, sizeof err), MW_EIO);
	assert_null(e);
	assert_non_null(strstr(err, p));
	/* a file over 1 MiB */
	char *big = padded_json(1024 * 1024 + 1);
	put_file(f, "big.json", big, p, sizeof p);
	free(big);
	e = NULL;
	assert_int_equal(config_load_seeds(p, 16, &e, err, sizeof err), MW_ETOOBIG);
	assert_null(e);
	/* many entries, up to the limit */
	size_t cap = 64 + 1000 * 32;
	char *many = malloc(cap);
	assert_non_null(many);
	size_t off = (size_t)snprintf(many, cap, "{\"nodes\":[");
	for (int i = 0; i < 1000; i++)
		off += (size_t)snprintf(many + off, cap - off, "%s{\"ip\":\"10.0.%d.%d\"}", i ? "," : "", i / 256, i % 256);
	snprintf(many + off, cap - off, "]}");
	put_file(f, "many.json", many, p, sizeof p);
	free(many);
	e = NULL;
	assert_int_equal(config_load_seeds(p, 1000, &e, err, sizeof err), 1000);
	assert_string_equal(e[999].ip, "10.0.3.231");
	free(e);
	e = NULL;
	assert_int_equal(config_load_seeds(p, 999, &e, err, sizeof err), MW_ETOOBIG);
	assert_null(e);
}

/* reporting.json */

static void
test_reporting(void **state)
{
	struct fx *f = *state;
	char p[512], err[512];
	struct seed_entry *e = NULL;
	put_file(f, "r1.json", "{\"server_fqdn\":\"report.example\",\"server_ip\":\"192.0.2.50\"}", p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), 1);
	assert_string_equal(e[0].fqdn, "report.example");
	assert_string_equal(e[0].ip, "192.0.2.50");
	assert_int_equal(e[0].port, 0);
	free(e);
	e = NULL;
	put_file(f, "r2.json", "{\"server_ip\":\"2001:db8::50\",\"port\":8443}", p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), 1);
	assert_string_equal(e[0].fqdn, "");
	assert_string_equal(e[0].ip, "2001:db8::50");
	assert_int_equal(e[0].port, 8443);
	free(e);
	e = NULL;
	put_file(f, "r3.json",
	    "{\"servers\":[{\"server_fqdn\":\"a.example\",\"server_ip\":\"192.0.2.1\"},"
	    "{\"fqdn\":\"b.example\",\"ip\":\"192.0.2.2\",\"port\":7000},{\"server_fqdn\":\"c.example\"}]}",
	    p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), 3);
	assert_string_equal(e[0].fqdn, "a.example");
	assert_string_equal(e[0].ip, "192.0.2.1");
	assert_string_equal(e[1].fqdn, "b.example");
	assert_string_equal(e[1].ip, "192.0.2.2");
	assert_int_equal(e[1].port, 7000);
	assert_string_equal(e[2].fqdn, "c.example");
	free(e);
	e = NULL;
	assert_int_equal(config_load_reporting(p, 2, &e, err, sizeof err), MW_ETOOBIG);
	assert_null(e);
	/* errors */
	put_file(f, "r4.json", "{\"server_ip\":\"not-an-ip\"}", p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), MW_EINVAL);
	assert_null(e);
	assert_non_null(strstr(err, "server_ip"));
	put_file(f, "r5.json", "{}", p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "entry 0"));
	put_file(f, "r6.json", "{\"servers\":[{\"server_fqdn\":\"a\"},{\"port\":1}]}", p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "entry 1"));
	put_file(f, "r7.json", "{\"servers\":{}}", p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "servers"));
	put_file(f, "r8.json", "{\"server_fqdn\":\"a\",\"port\":70000}", p, sizeof p);
	assert_int_equal(config_load_reporting(p, 8, &e, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "port"));
	assert_null(e);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_action_flags),
		T(test_precedence),
		T(test_config_file_from_env),
		T(test_file_errors),
		T(test_unknown_flag_and_args),
		T(test_bad_ints),
		T(test_remote_scans),
		T(test_long_strings),
		T(test_listen),
		T(test_validation_names_source),
		T(test_log_level),
		T(test_advertise),
		T(test_capture_options),
		T(test_root_user_needs_password),
		T(test_cert_dir_and_renewal_window),
		T(test_config_file_size_limit),
		T(test_reload_keeps_old_on_error),
		T(test_metrics_token_file),
		T(test_print_redacts_secrets),
		T(test_seeds_ok),
		T(test_seeds_errors),
		T(test_seeds_limits),
		T(test_reporting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
