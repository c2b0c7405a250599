/* Unit tests for store_discovery.c against a fresh database: a scan's
   outcome becomes hosts, services and changes (new host, port opened,
   port closed, host gone, host back); a cancelled-style apply without a
   range marks nothing gone; the limits on hosts, changes and kept scans
   hold; filters and paging of the lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "testdir.h"

struct fx {
	char dir[256];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	snprintf(f->dir, sizeof f->dir, "/tmp/mw-test-disc-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->st = store_open(f->dir, err, sizeof err);
	if (f->st == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->st);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

static const struct disc_limits big = {1000, 1000, 100, 1000};

/* A host 10.0.0.<last> with open ports ports[0..n-1]. */
static void
mkhost(struct disc_host *h, struct disc_service *svc, int last, const int *ports, int n)
{
	memset(h, 0, sizeof *h);
	snprintf(h->ip, sizeof h->ip, "10.0.0.%u", (unsigned)(last & 255));
	snprintf(h->source, sizeof h->source, "scan");
	h->svc = svc;
	h->nsvc = n;
	for (int i = 0; i < n; i++) {
		memset(&svc[i], 0, sizeof svc[i]);
		svc[i].port = ports[i];
		snprintf(svc[i].proto, sizeof svc[i].proto, "tcp");
		snprintf(svc[i].state, sizeof svc[i].state, "open");
		snprintf(svc[i].service, sizeof svc[i].service, "svc%d", ports[i]);
		snprintf(svc[i].confidence, sizeof svc[i].confidence, "low");
	}
}

static int
count_kind(struct store *st, const char *kind)
{
	struct disc_change *c = NULL;
	int n = 0, total = 0;
	assert_int_equal(store_changes_list(st, 0, kind, "", 100, 0, &c, &n, &total), 0);
	free(c);
	return total;
}

static void
test_changes(void **state)
{
	struct fx *f = *state;
	uint32_t scanned[] = {0x0a000001, 0x0a000002, 0x0a000003};
	uint16_t ports[] = {22, 80, 443};
	struct disc_host h[2];
	struct disc_service s1[3], s2[3];
	struct disc_changes changes = {0};
	int p1[] = {22, 80}, p2[] = {443};
	mkhost(&h[0], s1, 1, p1, 2);
	mkhost(&h[1], s2, 2, p2, 1);
	struct disc_result res[] = {{"10.0.0.1", 443, "closed"}, {"10.0.0.2", 22, "filtered"}};
	for (int i = 1; i <= 5; i++) { /* scans 1..5: results of unknown scans are trimmed */
		struct scan_row row = {.created_at = i};
		snprintf(row.state, sizeof row.state, "completed");
		snprintf(row.trigger, sizeof row.trigger, "api");
		assert_int_equal(store_scan_create(f->st, &row), 0);
		assert_int_equal(row.id, i);
	}
	assert_int_equal(store_discovery_apply(f->st, 1, 1000, h, 2, scanned, 3, ports, 3, res, 2, &big, &changes), 0);
	assert_int_equal(changes.total, 2); /* two new hosts */
	assert_int_equal(count_kind(f->st, "new_host"), 2);

	/* second scan: 10.0.0.1 closed 22 and opened 443; 10.0.0.2 gone */
	int p1b[] = {80, 443};
	mkhost(&h[0], s1, 1, p1b, 2);
	struct disc_change kept[1];
	changes.rows = kept;
	changes.max_rows = 1;
	assert_int_equal(store_discovery_apply(f->st, 2, 2000, h, 1, scanned, 3, ports, 3, NULL, 0, &big, &changes), 0);
	assert_int_equal(changes.total, 3);
	/* counted by kind; of the events (not host_gone) the first kept */
	assert_int_equal(changes.port_opened, 1);
	assert_int_equal(changes.port_closed, 1);
	assert_int_equal(changes.host_gone, 1);
	assert_int_equal(changes.new_host, 0);
	assert_int_equal(changes.nrows, 1);
	assert_string_equal(kept[0].kind, "port_opened");
	assert_string_equal(kept[0].ip, "10.0.0.1");
	assert_int_equal(kept[0].port, 443);
	assert_int_equal(kept[0].scan_id, 2);
	changes.rows = NULL;
	assert_int_equal(count_kind(f->st, "port_closed"), 1);
	assert_int_equal(count_kind(f->st, "port_opened"), 1);
	assert_int_equal(count_kind(f->st, "host_gone"), 1);

	struct disc_host *rows = NULL;
	int n, total;
	assert_int_equal(store_hosts_list(f->st, "", "", 0, "10.0.0.1", 10, 0, &rows, &n, &total), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].nsvc, 2);
	assert_int_equal(rows[0].svc[0].port, 80);
	assert_int_equal(rows[0].svc[1].port, 443);
	assert_int_equal(rows[0].first_seen, 1000);
	assert_int_equal(rows[0].last_seen, 2000);
	assert_string_equal(rows[0].hostname, "10.0.0.1");
	store_hosts_free(rows, n);
	assert_int_equal(store_hosts_list(f->st, "", "", 0, "10.0.0.2", 10, 0, &rows, &n, &total), 0);
	assert_int_equal(rows[0].gone, 1);
	store_hosts_free(rows, n);

	/* a scan that did not cover the range (cancelled) marks nothing gone,
	   and one that covered other ports closes nothing */
	assert_int_equal(store_discovery_apply(f->st, 3, 3000, NULL, 0, NULL, 0, NULL, 0, NULL, 0, &big, &changes), 0);
	assert_int_equal(changes.total, 0);
	uint16_t other[] = {8080};
	mkhost(&h[0], s1, 1, NULL, 0);
	assert_int_equal(store_discovery_apply(f->st, 4, 4000, h, 1, scanned, 3, other, 1, NULL, 0, &big, &changes), 0);
	assert_int_equal(changes.total, 0);

	/* it comes back */
	mkhost(&h[1], s2, 2, p2, 1);
	assert_int_equal(store_discovery_apply(f->st, 5, 5000, &h[1], 1, &scanned[1], 1, ports, 3, NULL, 0, &big, &changes),
	    0);
	assert_int_equal(count_kind(f->st, "host_back"), 1);

	/* filters */
	assert_int_equal(store_hosts_list(f->st, "", "svc443", 0, "", 10, 0, &rows, &n, &total), 0);
	assert_int_equal(total, 2);
	store_hosts_free(rows, n);
	assert_int_equal(store_hosts_list(f->st, "", "", 80, "", 10, 0, &rows, &n, &total), 0);
	assert_int_equal(total, 1);
	store_hosts_free(rows, n);
	struct disc_service *sv = NULL;
	assert_int_equal(store_services_list(f->st, "", "", 0, "open", 1, 1, &sv, &n, &total), 0);
	assert_int_equal(total, 3);
	assert_int_equal(n, 1);
	free(sv);
	struct disc_result *rr = NULL;
	assert_int_equal(store_scan_results(f->st, 1, "filtered", 10, 0, &rr, &n, &total), 0);
	assert_int_equal(total, 1);
	assert_string_equal(rr[0].ip, "10.0.0.2");
	free(rr);
	int hosts, up, services, nchanges;
	assert_int_equal(store_discovery_counts(f->st, &hosts, &up, &services, &nchanges), 0);
	assert_int_equal(hosts, 2);
	assert_int_equal(up, 2);
	assert_int_equal(services, 3);
}

static void
test_limits(void **state)
{
	struct fx *f = *state;
	struct disc_limits lim = {5, 7, 3, 4};
	struct disc_host h;
	struct disc_service s[1];
	int p[] = {22};
	struct disc_changes changes = {0};
	struct disc_result res[6];
	for (int i = 0; i < 6; i++) {
		snprintf(res[i].ip, sizeof res[i].ip, "10.0.0.%d", i + 1);
		res[i].port = 22;
		snprintf(res[i].state, sizeof res[i].state, "closed");
	}
	for (int i = 1; i <= 10; i++) {
		struct scan_row row = {.created_at = i};
		snprintf(row.state, sizeof row.state, "completed");
		snprintf(row.trigger, sizeof row.trigger, "api");
		assert_int_equal(store_scan_create(f->st, &row), 0);
		mkhost(&h, s, i, p, 1);
		assert_int_equal(store_discovery_apply(f->st, row.id, 1000 + i, &h, 1, NULL, 0, NULL, 0, res, 6, &lim, &changes), 0);
	}
	int hosts, up, services, nchanges, n, total;
	store_discovery_counts(f->st, &hosts, &up, &services, &nchanges);
	assert_int_equal(hosts, 5);          /* discovery_max_hosts: the least recently seen went */
	assert_int_equal(services, 5);       /* with their services */
	assert_true(nchanges <= 7);          /* discovery_max_changes */
	struct disc_host *rows = NULL;
	assert_int_equal(store_hosts_list(f->st, "", "", 0, "", 100, 0, &rows, &n, &total), 0);
	assert_string_equal(rows[0].ip, "10.0.0.6");
	store_hosts_free(rows, n);
	struct scan_row *scans = NULL;
	assert_int_equal(store_scan_list(f->st, "", 100, 0, &scans, &n, &total), 0);
	assert_int_equal(total, 3);          /* scan_keep */
	assert_int_equal(scans[0].id, 10);
	free(scans);
	struct disc_result *rr = NULL;
	assert_int_equal(store_scan_results(f->st, 10, "", 100, 0, &rr, &n, &total), 0);
	assert_int_equal(total, 4);          /* results kept per scan */
	free(rr);
	assert_int_equal(store_scan_results(f->st, 1, "", 100, 0, &rr, &n, &total), 0);
	assert_int_equal(total, 0);          /* gone with its scan */
	free(rr);
}

static void
test_scans(void **state)
{
	struct fx *f = *state;
	struct scan_row r = {.created_at = 100, .nports = 3, .hosts_total = 254};
	snprintf(r.state, sizeof r.state, "queued");
	snprintf(r.trigger, sizeof r.trigger, "schedule");
	snprintf(r.subnets, sizeof r.subnets, "10.0.0.0/24");
	snprintf(r.ports, sizeof r.ports, "22,80-81");
	assert_int_equal(store_scan_create(f->st, &r), 0);
	struct scan_row g;
	assert_int_equal(store_scan_get(f->st, r.id, &g), 0);
	assert_string_equal(g.ports, "22,80-81");
	assert_string_equal(g.trigger, "schedule");
	assert_int_equal(store_scans_interrupted(f->st, 200), 0);
	assert_int_equal(store_scan_get(f->st, r.id, &g), 0);
	assert_string_equal(g.state, "failed");
	assert_int_equal(g.finished_at, 200);
	assert_non_null(strstr(g.error, "interrupted"));
	assert_int_equal(store_scan_get(f->st, 999, &g), MW_ENOTFOUND);
}

/* Remote scans: who asked and where one runs round-trip; the asking
   node's rows survive a restart and are listed for the follower; another
   node's results replace earlier ones under this node's id. */
static void
test_remote_scans(void **state)
{
	struct fx *f = *state;
	struct scan_row asked = {.created_at = 100};
	snprintf(asked.state, sizeof asked.state, "queued");
	snprintf(asked.trigger, sizeof asked.trigger, "mesh");
	snprintf(asked.requested_by_id, sizeof asked.requested_by_id, "11111111-2222-4333-8444-555555555555");
	snprintf(asked.requested_by_fqdn, sizeof asked.requested_by_fqdn, "a.test");
	assert_int_equal(store_scan_create(f->st, &asked), 0);
	struct scan_row there = {.created_at = 100, .remote_id = 42};
	snprintf(there.state, sizeof there.state, "running");
	snprintf(there.trigger, sizeof there.trigger, "api");
	snprintf(there.node_id, sizeof there.node_id, "99999999-2222-4333-8444-555555555555");
	snprintf(there.node_fqdn, sizeof there.node_fqdn, "b.test");
	assert_int_equal(store_scan_create(f->st, &there), 0);
	struct scan_row g;
	assert_int_equal(store_scan_get(f->st, asked.id, &g), 0);
	assert_string_equal(g.requested_by_id, asked.requested_by_id);
	assert_string_equal(g.requested_by_fqdn, "a.test");
	assert_string_equal(g.node_id, "");
	assert_int_equal(store_scans_interrupted(f->st, 200), 0);
	assert_int_equal(store_scan_get(f->st, asked.id, &g), 0);
	assert_string_equal(g.state, "failed"); /* it ran here: interrupted */
	assert_int_equal(store_scan_get(f->st, there.id, &g), 0);
	assert_string_equal(g.state, "running"); /* it goes on there */
	assert_string_equal(g.node_fqdn, "b.test");
	assert_int_equal(g.remote_id, 42);
	struct scan_row *rows = NULL;
	int n = 0;
	assert_int_equal(store_scans_remote_active(f->st, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, there.id);
	free(rows);
	struct disc_result res[3] = {{"10.0.0.2", 22, "open"}, {"10.0.0.1", 80, "closed"}, {"10.0.0.1", 22, "filtered"}};
	assert_int_equal(store_scan_results_put(f->st, there.id, res, 3), 0);
	assert_int_equal(store_scan_results_put(f->st, there.id, res, 2), 0); /* replaces */
	struct disc_result *rr = NULL;
	int total = 0;
	assert_int_equal(store_scan_results(f->st, there.id, "", 10, 0, &rr, &n, &total), 0);
	assert_int_equal(total, 2);
	assert_string_equal(rr[0].ip, "10.0.0.1");
	assert_string_equal(rr[0].state, "closed");
	assert_string_equal(rr[1].ip, "10.0.0.2");
	free(rr);
	snprintf(g.state, sizeof g.state, "completed");
	assert_int_equal(store_scan_update(f->st, &g), 0);
	assert_int_equal(store_scans_remote_active(f->st, 10, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(rows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_scans, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
