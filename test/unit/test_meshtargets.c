/* meshtargets: what a node takes from another node's signed /nodeinfo
   answer. A real store in a temporary directory; no checker (copies are
   only stored). The bounds: a list of more than MESH_TARGETS_MAX items is
   ignored whole, so is a list with one invalid item; items for other
   vantage points are not copied; mesh_targets 0 declines and says so in
   the answer to that origin; nothing is taken without signing; at most
   MESH_TARGET_ORIGINS_MAX origins are remembered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "meshwatch/limits.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/meshtargets.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"

#include "testdir.h"

#define SELF "11111111-1111-4111-8111-111111111111"
#define ORIGIN "22222222-2222-4222-8222-222222222222"
#define OTHER "33333333-3333-4333-8333-333333333333"

struct fx {
	char dir[64];
	struct node *n;
	struct meshauth *auth;
	struct meshtargets *mt;
};

static int
setup_with(void **state, const char *secret)
{
	struct fx *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/mw-test-mt-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	char err[256];
	f->n = calloc(1, sizeof *f->n);
	f->n->store = store_open(f->dir, err, sizeof err);
	if (f->n->store == NULL)
		return -1;
	snprintf(f->n->id, sizeof f->n->id, SELF);
	snprintf(f->n->fqdn, sizeof f->n->fqdn, "self.test");
	f->n->cfg.mesh_targets = 1;
	f->n->cfg.mesh_targets_max = 2000;
	f->n->cfg.poll_interval_s = 30;
	f->auth = meshauth_create(secret, 64);
	f->mt = meshtargets_create(f->n, NULL, f->auth);
	*state = f;
	return f->auth && f->mt ? 0 : -1;
}

static int
setup(void **state)
{
	return setup_with(state, "s3cret");
}

static int
setup_unsigned(void **state)
{
	return setup_with(state, "");
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	meshtargets_destroy(f->mt);
	meshauth_destroy(f->auth);
	store_close(f->n->store);
	free(f->n);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

/* An answer carrying n items (ids 1..n); vantage for each as given (NULL: none). */
static char *
answer(int n, const char *digest, const char *vantage, const char *bad_host)
{
	size_t cap = 256 + (size_t)n * 256;
	char *b = malloc(cap);
	size_t len = (size_t)snprintf(b, cap, "{\"mesh_targets_digest\":\"%s\",\"mesh_targets\":[", digest);
	for (int i = 1; i <= n; i++)
		len += (size_t)snprintf(b + len, cap - len,
		    "%s{\"id\":%d,\"name\":\"t%d\",\"host\":\"%s\",\"port\":%d,\"interval_s\":30,\"timeout_ms\":2000,"
		    "\"retention_period\":1,\"retention_unit\":\"days\",\"enabled\":true,\"vantage\":[%s]}",
		    i > 1 ? "," : "", i, i, bad_host && i == n ? bad_host : "127.0.0.1", 1000 + i, vantage ? vantage : "");
	snprintf(b + len, cap - len, "]}");
	return b;
}

static int
copies(struct fx *f, const char *origin)
{
	struct target_row *rows = NULL;
	int n = 0;
	assert_int_equal(store_mesh_targets(f->n->store, origin, 100000, &rows, &n), 0);
	free(rows);
	return n;
}

static void
take(struct fx *f, const char *origin, const char *body)
{
	meshtargets_answer(f->mt, origin, "origin.test", body, strlen(body));
}

static void
test_list_taken_and_digest_kept(void **state)
{
	struct fx *f = *state;
	char *b = answer(2, "00000000000000aa", NULL, NULL);
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 2);
	char h[96];
	meshtargets_poll_header(f->mt, ORIGIN, h, sizeof h);
	assert_string_equal(h, "X-Mw-Targets-Digest: 00000000000000aa\r\n");
	/* an empty list removes them */
	take(f, ORIGIN, "{\"mesh_targets_digest\":\"\",\"mesh_targets\":[]}");
	assert_int_equal(copies(f, ORIGIN), 0);
	meshtargets_poll_header(f->mt, ORIGIN, h, sizeof h);
	assert_string_equal(h, "");
}

static void
test_too_long_or_invalid_list_ignored(void **state)
{
	struct fx *f = *state;
	char *b = answer(MESH_TARGETS_MAX + 1, "00000000000000bb", NULL, NULL);
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 0);
	/* one bad host spoils the whole list (nothing half-believed) */
	b = answer(3, "00000000000000cc", NULL, "a b");
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 0);
	char h[96];
	meshtargets_poll_header(f->mt, ORIGIN, h, sizeof h);
	assert_string_equal(h, ""); /* not taken: asked again */
	/* a digest that is not hex: the list is not read */
	b = answer(1, "zz", NULL, NULL);
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 0);
	/* not JSON at all */
	take(f, ORIGIN, "{\"mesh_targets\": [");
	assert_int_equal(copies(f, ORIGIN), 0);
}

static void
test_other_vantage_points_not_copied(void **state)
{
	struct fx *f = *state;
	char *b = answer(2, "00000000000000dd", "\"" OTHER "\"", NULL);
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 0);
	b = answer(2, "00000000000000de", "\"" OTHER "\",\"" SELF "\"", NULL);
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 2);
}

static void
test_declined_said_to_the_origin(void **state)
{
	struct fx *f = *state;
	f->n->cfg.mesh_targets = 0;
	char *b = answer(2, "00000000000000ee", NULL, NULL);
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 0);
	cJSON *o = cJSON_CreateObject();
	meshtargets_nodeinfo(f->mt, o, ORIGIN, "");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "mesh_results");
	assert_int_equal(cJSON_GetArraySize(res), 2);
	const cJSON *e = cJSON_GetArrayItem(res, 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "state")->valuestring, "declined");
	assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(e, "error")->valuestring, "mesh_targets"));
	/* another caller gets no results for the origin's targets */
	cJSON *o2 = cJSON_CreateObject();
	meshtargets_nodeinfo(f->mt, o2, OTHER, "");
	assert_null(cJSON_GetObjectItemCaseSensitive(o2, "mesh_results"));
	cJSON_Delete(o);
	cJSON_Delete(o2);
}

static void
test_origins_bounded(void **state)
{
	struct fx *f = *state;
	char *b = answer(1, "00000000000000ff", NULL, NULL);
	char id[40];
	for (int i = 0; i <= MESH_TARGET_ORIGINS_MAX; i++) {
		snprintf(id, sizeof id, "44444444-4444-4444-8444-%012d", i);
		take(f, id, b);
	}
	free(b);
	struct meshtargets_stats st;
	meshtargets_stats(f->mt, &st);
	assert_int_equal(st.origins, MESH_TARGET_ORIGINS_MAX);
	/* the one past the bound is not remembered: its list comes again */
	char h[96];
	meshtargets_poll_header(f->mt, id, h, sizeof h);
	assert_string_equal(h, "");
}

static void
test_nothing_without_signing(void **state)
{
	struct fx *f = *state;
	char *b = answer(2, "0000000000000011", NULL, NULL);
	take(f, ORIGIN, b);
	free(b);
	assert_int_equal(copies(f, ORIGIN), 0);
	cJSON *o = cJSON_CreateObject();
	meshtargets_nodeinfo(f->mt, o, ORIGIN, "x");
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "mesh_targets"));
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_taken_and_digest_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long_or_invalid_list_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_vantage_points_not_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_declined_said_to_the_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origins_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_without_signing, setup_unsigned, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
