/* Unit tests for the mesh inventory: store_inventory.c against a fresh
   database (a report's targets and traffic replace the origin's, hosts
   are upserted keeping the earliest first_seen, changes appended once;
   an older report replaces nothing; the per-origin bounds; an origin
   replaced past max_origins takes its inventory along; the size cap
   sheds stale origins' inventory first, then the oldest changes;
   retention; this node's own inventory) and report_inventory.c (each
   part checked on its own; every limit of a part). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/report.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "testdir.h"

#define ID_A "aaaaaaaa-2222-4333-8444-555555555555"
#define ID_B "bbbbbbbb-2222-4333-8444-555555555555"
#define ID_C "cccccccc-2222-4333-8444-555555555555"
#define ID_SELF "eeeeeeee-2222-4333-8444-555555555555"

struct fx {
	char dir[256];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	snprintf(f->dir, sizeof f->dir, "/tmp/mw-test-inv-XXXXXX");
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

static struct report_origin
origin(const char *id, const char *fqdn, int64_t seq, int64_t t)
{
	struct report_origin o = {0};
	snprintf(o.id, sizeof o.id, "%s", id);
	snprintf(o.fqdn, sizeof o.fqdn, "%s", fqdn);
	snprintf(o.ip, sizeof o.ip, "10.0.0.1");
	o.port = 8443;
	o.last_seq = seq;
	o.generated_at = t;
	o.received_at = t;
	o.interval_s = 10;
	return o;
}

/* An inventory of nt targets (ids from 1, state st), nh hosts 10.1.<k>.<i>
   seen at t with ns services each, nc changes at t.. t+nc-1. */
static void
mkinv(struct report_inventory *inv, int nt, const char *st, int nh, int k, int ns, int nc, int64_t t)
{
	memset(inv, 0, sizeof *inv);
	inv->has_targets = inv->has_traffic = inv->has_discovery = 1;
	inv->targets = calloc((size_t)nt + 1, sizeof *inv->targets);
	for (int i = 0; i < nt; i++) {
		struct inv_target *x = &inv->targets[i];
		x->id = i + 1;
		snprintf(x->name, sizeof x->name, "t%d", i + 1);
		snprintf(x->host, sizeof x->host, "h%d.test", i + 1);
		x->port = 1000 + i;
		snprintf(x->state, sizeof x->state, "%s", st);
		x->success_ratio = i == 0 ? -1 : 0.5;
		x->last_check = t;
	}
	inv->ntargets = nt;
	struct inv_traffic *tr = &inv->traffic;
	snprintf(tr->state, sizeof tr->state, "running");
	tr->t = t;
	tr->pps = 10;
	tr->packets_total = 100 + (uint64_t)nt;
	tr->nproto = 2;
	snprintf(tr->proto[0].name, sizeof tr->proto[0].name, "tcp");
	tr->proto[0].bytes = 5;
	snprintf(tr->proto[1].name, sizeof tr->proto[1].name, "udp");
	tr->ntalkers = 1;
	snprintf(tr->talkers[0].ip, sizeof tr->talkers[0].ip, "10.9.9.9");
	tr->talkers[0].bytes = 7;
	inv->hosts = calloc((size_t)nh + 1, sizeof *inv->hosts);
	for (int i = 0; i < nh; i++) {
		struct inv_host *h = &inv->hosts[i];
		snprintf(h->ip, sizeof h->ip, "10.1.%d.%d", k, i);
		snprintf(h->hostname, sizeof h->hostname, "host%d", i);
		h->first_seen = h->last_seen = t;
		h->svc = calloc(REPORT_MAX_SERVICES, sizeof *h->svc);
		for (int j = 0; j < ns; j++) {
			h->svc[j].port = 20 + j;
			snprintf(h->svc[j].proto, sizeof h->svc[j].proto, "tcp");
			snprintf(h->svc[j].service, sizeof h->svc[j].service, j == 0 ? "ssh" : "svc%d", j);
		}
		h->nsvc = ns;
	}
	inv->nhosts = nh;
	inv->changes = calloc((size_t)nc + 1, sizeof *inv->changes);
	for (int i = 0; i < nc; i++) {
		struct inv_change *c = &inv->changes[i];
		c->t = t + i;
		snprintf(c->ip, sizeof c->ip, "10.1.%d.%d", k, i % 250);
		snprintf(c->kind, sizeof c->kind, "new_host");
	}
	inv->nchanges = nc;
}

static int
put(struct fx *f, const char *id, int64_t seq, int64_t t, const struct report_inventory *inv, int max_origins)
{
	struct report_origin o = origin(id, id[0] == 'a' ? "a.test" : id[0] == 'b' ? "b.test" : "c.test", seq, t);
	struct report_cell c = {0};
	snprintf(c.peer, sizeof c.peer, "%s", ID_C);
	c.t = t;
	c.rtt_ms = c.loss = c.total_ms = -1;
	return store_report_insert_inventory(f->st, &o, &c, 1, inv, max_origins, 10, t);
}

static int
count_hosts(struct fx *f, const char *origin_id, const char *q, const char *service)
{
	struct inv_host *rows = NULL;
	int n = 0, total = 0, cut = 0;
	assert_int_equal(store_inventory_hosts(f->st, origin_id, q, service, 1000, 0, &rows, &n, &total, &cut), 0);
	store_inventory_hosts_free(rows, n);
	return total;
}

static int
count_changes(struct fx *f, const char *origin_id)
{
	struct inv_change *rows = NULL;
	int n = 0, total = 0;
	assert_int_equal(store_inventory_changes(f->st, origin_id, "", "", 1, 0, &rows, &n, &total), 0);
	free(rows);
	return total;
}

static void
test_insert_replace_upsert(void **state)
{
	struct fx *f = *state;
	int64_t t = 1800000000;
	struct report_inventory inv;
	mkinv(&inv, 3, "up", 2, 1, 2, 2, t);
	assert_int_equal(put(f, ID_A, 1, t, &inv, 10), 0);
	store_inventory_free(&inv);

	struct inv_target *tg = NULL;
	int n = 0, total = 0;
	assert_int_equal(store_inventory_targets(f->st, "", "", 100, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 3);
	assert_string_equal(tg[0].src.id, ID_A);
	assert_string_equal(tg[0].src.fqdn, "a.test");
	assert_int_equal(tg[0].src.interval_s, 10);
	assert_true(tg[0].success_ratio < 0);
	assert_true(tg[1].success_ratio == 0.5);
	assert_int_equal(tg[2].last_check, t);
	free(tg);

	/* the next report: 1 target down, other hosts data, a repeated and a new change */
	mkinv(&inv, 1, "refused", 2, 1, 1, 3, t);
	inv.hosts[0].first_seen = t - 100; /* earlier sighting */
	inv.hosts[0].last_seen = t + 10;
	inv.hosts[1].first_seen = inv.hosts[1].last_seen = t + 10;
	snprintf(inv.hosts[1].vendor, sizeof inv.hosts[1].vendor, "Acme");
	assert_int_equal(put(f, ID_A, 2, t + 10, &inv, 10), 0);
	store_inventory_free(&inv);
	assert_int_equal(store_inventory_targets(f->st, "", "", 100, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 1);
	assert_string_equal(tg[0].state, "refused");
	free(tg);
	struct inv_host *hs = NULL;
	int cut;
	assert_int_equal(store_inventory_hosts(f->st, ID_A, "", "", 100, 0, &hs, &n, &total, &cut), 0);
	assert_int_equal(total, 2);
	assert_int_equal(n, 2);
	assert_string_equal(hs[0].ip, "10.1.1.0");
	assert_int_equal(hs[0].first_seen, t - 100); /* the earliest kept */
	assert_int_equal(hs[0].last_seen, t + 10);
	assert_int_equal(hs[0].nsvc, 1);              /* the newest report's services */
	assert_string_equal(hs[0].svc[0].service, "ssh");
	assert_int_equal(hs[1].first_seen, t);        /* a later first_seen does not move it */
	assert_string_equal(hs[1].vendor, "Acme");
	store_inventory_hosts_free(hs, n);
	/* 2 + 3 changes, 2 of them the same (origin, t, ip, kind, port) */
	assert_int_equal(count_changes(f, ID_A), 3);
	struct inv_traffic *tr = NULL;
	assert_int_equal(store_inventory_traffic(f->st, "", 10, 0, &tr, &n, &total), 0);
	assert_int_equal(total, 1);
	assert_int_equal(tr[0].packets_total, 101);
	assert_int_equal(tr[0].nproto, 2);
	assert_string_equal(tr[0].proto[1].name, "udp");
	assert_int_equal(tr[0].ntalkers, 1);
	assert_string_equal(tr[0].talkers[0].ip, "10.9.9.9");
	free(tr);

	/* an older report (a late backlog) replaces neither targets nor traffic,
	   and does not roll a host back */
	mkinv(&inv, 5, "timeout", 1, 1, 0, 0, t - 50);
	inv.traffic.state[0] = '\0';
	assert_int_equal(put(f, ID_A, 3, t - 50, &inv, 10), 0);
	store_inventory_free(&inv);
	assert_int_equal(store_inventory_targets(f->st, "", "", 100, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 1);
	free(tg);
	assert_int_equal(store_inventory_traffic(f->st, "", 10, 0, &tr, &n, &total), 0);
	assert_int_equal(total, 1);
	free(tr);
	assert_int_equal(store_inventory_hosts(f->st, ID_A, "10.1.1.0", "", 100, 0, &hs, &n, &total, &cut), 0);
	assert_int_equal(hs[0].nsvc, 1);
	assert_int_equal(hs[0].last_seen, t + 10);
	store_inventory_hosts_free(hs, n);

	/* a newer report without traffic (capture gone) removes it; a part
	   ignored as malformed (has_* 0) keeps what was there */
	mkinv(&inv, 2, "up", 0, 1, 0, 0, t + 20);
	inv.traffic.state[0] = '\0';
	inv.has_targets = 0;
	assert_int_equal(put(f, ID_A, 4, t + 20, &inv, 10), 0);
	store_inventory_free(&inv);
	assert_int_equal(store_inventory_traffic(f->st, "", 10, 0, &tr, &n, &total), 0);
	assert_int_equal(total, 0);
	free(tr);
	assert_int_equal(store_inventory_targets(f->st, "", "", 100, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 1);
	free(tg);

	/* a duplicate report changes nothing */
	mkinv(&inv, 7, "up", 0, 1, 0, 0, t + 30);
	assert_int_equal(put(f, ID_A, 4, t + 30, &inv, 10), MW_EEXIST);
	store_inventory_free(&inv);
	assert_int_equal(store_inventory_targets(f->st, "", "", 100, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 1);
	free(tg);
}

static void
test_mesh_view_filters(void **state)
{
	struct fx *f = *state;
	int64_t t = 1800000000;
	struct report_inventory inv;
	/* two origins see the same two addresses, one more each */
	mkinv(&inv, 2, "up", 3, 1, 2, 1, t);
	assert_int_equal(put(f, ID_A, 1, t, &inv, 10), 0);
	store_inventory_free(&inv);
	mkinv(&inv, 1, "up", 2, 1, 1, 1, t + 1);
	snprintf(inv.hosts[1].ip, sizeof inv.hosts[1].ip, "10.2.0.1");
	assert_int_equal(put(f, ID_B, 1, t + 1, &inv, 10), 0);
	store_inventory_free(&inv);
	assert_int_equal(count_hosts(f, "", "", ""), 4);
	assert_int_equal(count_hosts(f, ID_B, "", ""), 2);
	assert_int_equal(count_hosts(f, "", "10.2.", ""), 1);
	assert_int_equal(count_hosts(f, "", "HOST2", ""), 1);
	assert_int_equal(count_hosts(f, "", "", "ssh"), 4);
	assert_int_equal(count_hosts(f, "", "", "svc1"), 3); /* A's three hosts have it, B's one service is ssh */
	/* a page of addresses carries every origin's row of each */
	struct inv_host *hs = NULL;
	int n, total, cut;
	assert_int_equal(store_inventory_hosts(f->st, "", "", "", 1, 0, &hs, &n, &total, &cut), 0);
	assert_int_equal(total, 4);
	assert_int_equal(n, 2);
	assert_string_equal(hs[0].ip, "10.1.1.0");
	assert_string_equal(hs[1].ip, "10.1.1.0");
	assert_string_not_equal(hs[0].src.id, hs[1].src.id);
	assert_int_equal(cut, 0);
	store_inventory_hosts_free(hs, n);
	/* origin names */
	char id[37];
	assert_int_equal(store_inventory_origin_id(f->st, "B.TEST", id), 0);
	assert_string_equal(id, ID_B);
	assert_int_equal(store_inventory_origin_id(f->st, ID_A, id), 0);
	assert_string_equal(id, ID_A);
	assert_int_equal(store_inventory_origin_id(f->st, "nobody", id), MW_ENOTFOUND);
	/* targets: q on name or host */
	struct inv_target *tg = NULL;
	assert_int_equal(store_inventory_targets(f->st, "", "H2.", 100, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 1);
	free(tg);
	/* changes newest first, kind filter */
	struct inv_change *cs = NULL;
	assert_int_equal(store_inventory_changes(f->st, "", "", "new_host", 10, 0, &cs, &n, &total), 0);
	assert_int_equal(total, 2);
	assert_true(cs[0].t >= cs[1].t);
	free(cs);
	assert_int_equal(store_inventory_changes(f->st, "", "", "port_opened", 10, 0, &cs, &n, &total), 0);
	assert_int_equal(total, 0);
	free(cs);
	/* totals: fresh at t + 5, both; at t + 100 (3 intervals of 10 s past) none */
	struct inv_traffic_totals tt;
	assert_int_equal(store_inventory_traffic_totals(f->st, "", ID_SELF, t + 5, &tt), 0);
	assert_int_equal(tt.origins, 2);
	assert_int_equal(tt.fresh, 2);
	assert_true(tt.pps == 20);
	assert_int_equal(tt.packets_total, 102 + 101);
	assert_int_equal(store_inventory_traffic_totals(f->st, "", ID_SELF, t + 100, &tt), 0);
	assert_int_equal(tt.fresh, 0);
	assert_true(tt.pps == 0);
	/* this node's own: no origins row, but fresh */
	mkinv(&inv, 1, "up", 1, 7, 0, 0, t + 100);
	assert_int_equal(store_inventory_set_self(f->st, ID_SELF, 10, &inv, t + 100), 0);
	store_inventory_free(&inv);
	assert_int_equal(store_inventory_self_updated(f->st, ID_SELF), t + 100);
	assert_int_equal(store_inventory_traffic_totals(f->st, "", ID_SELF, t + 100, &tt), 0);
	assert_int_equal(tt.fresh, 1);
	assert_int_equal(count_hosts(f, ID_SELF, "", ""), 1);
	struct inv_origin_count *oc = NULL;
	assert_int_equal(store_inventory_origins(f->st, 10, 0, &oc, &n, &total), 0);
	assert_int_equal(total, 3);
	free(oc);
}

static void
test_per_origin_bounds(void **state)
{
	struct fx *f = *state;
	int64_t t = 1800000000;
	struct report_inventory inv;
	/* six reports of 200 new hosts and 50 changes each: 1200 hosts, 300 changes */
	for (int r = 0; r < 6; r++) {
		mkinv(&inv, 0, "up", REPORT_MAX_HOSTS, r, 1, REPORT_MAX_CHANGES, t + r * 100);
		assert_int_equal(put(f, ID_A, r + 1, t + r * 100, &inv, 10), 0);
		store_inventory_free(&inv);
	}
	assert_int_equal(count_hosts(f, ID_A, "", ""), INVENTORY_MAX_HOSTS);
	/* the least recently seen went: the first report's */
	assert_int_equal(count_hosts(f, ID_A, "10.1.0.", ""), 0);
	assert_int_equal(count_hosts(f, ID_A, "10.1.5.", ""), REPORT_MAX_HOSTS);
	assert_int_equal(count_changes(f, ID_A), 6 * REPORT_MAX_CHANGES);
	/* changes: the newest INVENTORY_MAX_CHANGES */
	for (int r = 6; r < 6 + INVENTORY_MAX_CHANGES / REPORT_MAX_CHANGES; r++) {
		mkinv(&inv, 0, "up", 0, 0, 0, REPORT_MAX_CHANGES, t + r * 100);
		assert_int_equal(put(f, ID_A, r + 1, t + r * 100, &inv, 10), 0);
		store_inventory_free(&inv);
	}
	assert_int_equal(count_changes(f, ID_A), INVENTORY_MAX_CHANGES);
	struct inv_change *cs = NULL;
	int n, total;
	assert_int_equal(store_inventory_changes(f->st, ID_A, "", "", 1, INVENTORY_MAX_CHANGES - 1, &cs, &n, &total), 0);
	assert_int_equal(cs[0].t, t + 600); /* the oldest left is the seventh report's first */
	free(cs);
}

/* A page of addresses seen by more origins than INVENTORY_READ_MAX_ROWS
   rows hold: the rows stop there and say so. */
static void
test_read_rows_cut(void **state)
{
	struct fx *f = *state;
	int64_t t = 1800000000;
	int origins = INVENTORY_READ_MAX_ROWS / INVENTORY_MAX_HOSTS + 1;
	for (int o = 0; o < origins; o++) {
		char id[37];
		snprintf(id, sizeof id, "%08x-2222-4333-8444-555555555555", (unsigned)o + 1);
		for (int r = 0; r < INVENTORY_MAX_HOSTS / REPORT_MAX_HOSTS; r++) {
			struct report_inventory inv;
			mkinv(&inv, 0, "up", REPORT_MAX_HOSTS, r, 0, 0, t);
			struct report_origin org = origin(id, "x.test", r + 1, t);
			assert_int_equal(store_report_insert_inventory(f->st, &org, NULL, 0, &inv, 100, 10, t), 0);
			store_inventory_free(&inv);
		}
	}
	struct inv_host *hs = NULL;
	int n, total, cut;
	assert_int_equal(store_inventory_hosts(f->st, "", "", "", API_LIST_MAX, 0, &hs, &n, &total, &cut), 0);
	assert_int_equal(total, INVENTORY_MAX_HOSTS);
	assert_int_equal(n, INVENTORY_READ_MAX_ROWS);
	assert_int_equal(cut, 1);
	store_inventory_hosts_free(hs, n);
	/* a smaller page is whole */
	assert_int_equal(store_inventory_hosts(f->st, "", "", "", 10, 0, &hs, &n, &total, &cut), 0);
	assert_int_equal(n, 10 * origins);
	assert_int_equal(cut, 0);
	store_inventory_hosts_free(hs, n);
}

static void
test_forget_with_origin(void **state)
{
	struct fx *f = *state;
	int64_t t = 1800000000;
	struct report_inventory inv;
	mkinv(&inv, 2, "up", 2, 1, 1, 2, t);
	assert_int_equal(put(f, ID_A, 1, t, &inv, 1), 0);
	store_inventory_free(&inv);
	/* one origin kept: B while A is fresh gets MW_ETOOBIG and stores nothing */
	mkinv(&inv, 1, "up", 1, 2, 1, 1, t + 5);
	assert_int_equal(put(f, ID_B, 1, t + 5, &inv, 1), MW_ETOOBIG);
	assert_int_equal(count_hosts(f, ID_B, "", ""), 0);
	/* A stale (no report for three intervals): B replaces it, with A's inventory */
	assert_int_equal(put(f, ID_B, 1, t + 100, &inv, 1), 0);
	store_inventory_free(&inv);
	assert_int_equal(count_hosts(f, ID_A, "", ""), 0);
	assert_int_equal(count_changes(f, ID_A), 0);
	struct inv_target *tg = NULL;
	int n, total;
	assert_int_equal(store_inventory_targets(f->st, ID_A, "", 10, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 0);
	free(tg);
	struct inv_origin_count *oc = NULL;
	assert_int_equal(store_inventory_origins(f->st, 10, 0, &oc, &n, &total), 0);
	assert_int_equal(total, 1);
	assert_string_equal(oc[0].src.id, ID_B);
	free(oc);
	assert_int_equal(count_hosts(f, ID_B, "", ""), 1);
}

static void
test_size_cap_sheds_stale_first(void **state)
{
	struct fx *f = *state;
	int64_t now = mw_wall_s();
	struct report_inventory inv;
	/* a stale origin (reported 1000 s ago, every 10 s) with 1000 hosts of 16
	   services; a fresh one with 50 hosts and 100 changes */
	for (int r = 0; r < 5; r++) {
		mkinv(&inv, 0, "up", REPORT_MAX_HOSTS, r, REPORT_MAX_SERVICES, 0, now - 1000 + r);
		assert_int_equal(put(f, ID_A, r + 1, now - 1000 + r, &inv, 10), 0);
		store_inventory_free(&inv);
	}
	mkinv(&inv, 3, "up", 50, 9, 2, REPORT_MAX_CHANGES, now - 200);
	assert_int_equal(put(f, ID_B, 1, now - 200, &inv, 10), 0);
	store_inventory_free(&inv);
	mkinv(&inv, 3, "up", 0, 9, 0, REPORT_MAX_CHANGES, now - 100);
	assert_int_equal(put(f, ID_B, 2, now - 100, &inv, 10), 0);
	store_inventory_free(&inv);
	mkinv(&inv, 3, "up", 0, 9, 0, 0, now);
	assert_int_equal(put(f, ID_B, 3, now, &inv, 10), 0);
	store_inventory_free(&inv);
	int64_t before = store_size_bytes(f->st);
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, now, 86400, 30 * 86400, before * 2 / 3, &ms), 0);
	assert_true(ms.capped > 0);
	assert_true(store_size_bytes(f->st) <= before * 2 / 3);
	/* the stale origin's inventory gave (its services first), the fresh one's stayed whole */
	assert_true(count_hosts(f, ID_A, "", "svc15") < INVENTORY_MAX_HOSTS);
	assert_int_equal(count_hosts(f, ID_B, "", ""), 50);
	assert_int_equal(count_hosts(f, ID_B, "", "svc1"), 50);
	assert_int_equal(count_changes(f, ID_B), 2 * REPORT_MAX_CHANGES);
	struct inv_target *tg = NULL;
	int n, total;
	assert_int_equal(store_inventory_targets(f->st, ID_B, "", 10, 0, &tg, &n, &total), 0);
	assert_int_equal(total, 3);
	free(tg);
	char err[256];
	assert_int_equal(store_check_writable(f->st, err, sizeof err), 0);
}

static void
test_size_cap_sheds_oldest_changes(void **state)
{
	struct fx *f = *state;
	int64_t now = mw_wall_s();
	struct report_inventory inv;
	/* one fresh origin: 50 hosts, then INVENTORY_MAX_CHANGES changes */
	int reports = INVENTORY_MAX_CHANGES / REPORT_MAX_CHANGES;
	for (int r = 0; r < reports; r++) {
		mkinv(&inv, 3, "up", r == 0 ? 50 : 0, 9, 2, REPORT_MAX_CHANGES, now - 1000 + r * REPORT_MAX_CHANGES);
		assert_int_equal(put(f, ID_B, r + 1, now - (reports - r), &inv, 10), 0);
		store_inventory_free(&inv);
	}
	assert_int_equal(count_changes(f, ID_B), INVENTORY_MAX_CHANGES);
	struct maint_stats ms;
	/* settle the file (the WAL copied back and cut to a small cap's slices)
	   before measuring it */
	assert_int_equal(store_maintain(f->st, now, 86400, 30 * 86400, 1024 * 1024, &ms), 0);
	assert_int_equal(store_maintain(f->st, now, 86400, 30 * 86400, 1024 * 1024, &ms), 0);
	int64_t before = ms.size_after;
	assert_int_equal(store_maintain(f->st, now, 86400, 30 * 86400, before - 8192, &ms), 0);
	assert_true(ms.capped > 0);
	/* the oldest changes went, the newest stayed; hosts and targets did not give */
	int left = count_changes(f, ID_B);
	assert_true(left < INVENTORY_MAX_CHANGES);
	struct inv_change *cs = NULL;
	int n, total;
	assert_int_equal(store_inventory_changes(f->st, ID_B, "", "", 1, 0, &cs, &n, &total), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cs[0].t, now - 1000 + INVENTORY_MAX_CHANGES - 1);
	free(cs);
	assert_int_equal(count_hosts(f, ID_B, "", ""), 50);
	/* retention: changes and hosts older than keep_s expire */
	assert_int_equal(store_maintain(f->st, now + 86400 * 31, 86400, 30 * 86400, 100 * 1024 * 1024, &ms), 0);
	assert_int_equal(count_changes(f, ""), 0);
	assert_int_equal(count_hosts(f, "", "", ""), 0);
}

/* A version-11 file (reports stored, no inventory tables) gets migration
   12 and keeps its origins. */
static void
test_migration_to_12(void **state)
{
	struct fx *f = *state;
	int64_t t = 1800000000;
	assert_int_equal(put(f, ID_A, 1, t, NULL, 10), 0);
	char db[600], err[256];
	snprintf(db, sizeof db, "%s", store_path(f->st));
	store_close(f->st);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "DROP TABLE inv_origins; DROP TABLE inv_hosts; DROP TABLE inv_services; "
	                                 "DROP TABLE inv_targets; DROP TABLE inv_traffic; DROP TABLE inv_traffic_items; "
	                                 "DROP TABLE inv_changes; " TEST_UNDO_MIGRATION_14 TEST_UNDO_MIGRATION_13 " UPDATE schema_version SET version=11;",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	f->st = store_open(f->dir, err, sizeof err);
	assert_non_null(f->st);
	assert_true(store_schema_version(f->st) >= 12);
	assert_int_equal(store_report_origin_count(f->st), 1);
	struct report_inventory inv;
	mkinv(&inv, 1, "up", 1, 1, 1, 1, t + 10);
	assert_int_equal(put(f, ID_A, 2, t + 10, &inv, 10), 0);
	store_inventory_free(&inv);
	assert_int_equal(count_hosts(f, ID_A, "", ""), 1);
}

/* ---- parsing ---- */

static cJSON *
snapshot(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON *org = cJSON_AddObjectToObject(o, "origin");
	cJSON_AddStringToObject(org, "id", ID_A);
	cJSON_AddStringToObject(org, "fqdn", "a.test");
	cJSON_AddStringToObject(org, "ip", "10.0.0.1");
	cJSON_AddNumberToObject(org, "port", 8443);
	cJSON_AddNumberToObject(org, "incarnation", 1);
	cJSON_AddNumberToObject(o, "seq", 5);
	json_add_time(o, "generated_at", mw_wall_s());
	cJSON_AddNumberToObject(o, "interval_s", 10);
	cJSON *peers = cJSON_AddArrayToObject(o, "peers");
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "id", ID_B);
	cJSON_AddStringToObject(p, "fqdn", "b.test");
	cJSON_AddStringToObject(p, "ip", "10.0.0.2");
	cJSON_AddNumberToObject(p, "port", 8443);
	cJSON_AddStringToObject(p, "state", "alive");
	cJSON_AddItemToArray(peers, p);
	cJSON *tg = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "summaries"), "targets");
	cJSON *items = cJSON_AddArrayToObject(tg, "items");
	cJSON *t = cJSON_CreateObject();
	cJSON_AddNumberToObject(t, "id", 1);
	cJSON_AddStringToObject(t, "name", "web");
	cJSON_AddStringToObject(t, "host", "web.test");
	cJSON_AddNumberToObject(t, "port", 443);
	cJSON_AddStringToObject(t, "state", "up");
	cJSON_AddNumberToObject(t, "success_ratio", 1);
	cJSON_AddItemToArray(items, t);
	cJSON *tr = cJSON_AddObjectToObject(o, "traffic");
	cJSON_AddStringToObject(tr, "state", "running");
	cJSON_AddNumberToObject(tr, "pps", 3);
	cJSON_AddNumberToObject(tr, "packets_total", 30);
	cJSON *bp = cJSON_AddObjectToObject(tr, "by_proto");
	cJSON_AddNumberToObject(bp, "tcp", 10);
	cJSON *top = cJSON_AddArrayToObject(tr, "top_talkers");
	cJSON *k = cJSON_CreateObject();
	cJSON_AddStringToObject(k, "ip", "10.0.0.9");
	cJSON_AddNumberToObject(k, "bytes", 10);
	cJSON_AddItemToArray(top, k);
	cJSON *d = cJSON_AddObjectToObject(o, "discovery");
	cJSON *hl = cJSON_AddArrayToObject(d, "host_list");
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "ip", "10.0.0.7");
	cJSON_AddStringToObject(h, "mac", "aa:bb:cc:dd:ee:ff");
	cJSON_AddStringToObject(h, "state", "up");
	cJSON *sv = cJSON_AddArrayToObject(h, "services");
	cJSON_AddItemToArray(sv, cJSON_CreateString("22/ssh"));
	cJSON_AddItemToArray(hl, h);
	cJSON *ch = cJSON_AddArrayToObject(d, "recent_changes");
	cJSON *c = cJSON_CreateObject();
	json_add_time(c, "time", mw_wall_s() - 5);
	cJSON_AddStringToObject(c, "ip", "10.0.0.7");
	cJSON_AddStringToObject(c, "kind", "port_opened");
	cJSON_AddNumberToObject(c, "port", 22);
	cJSON_AddItemToArray(ch, c);
	return o;
}

/* Parses o (and deletes it); the report in *r, 0 or the parse error. */
static int
parse(cJSON *o, struct report *r)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char why[400];
	int rc = report_parse(text, strlen(text), 100, mw_wall_s(), r, why, sizeof why);
	free(text);
	return rc;
}

static void
test_parse_parts(void **state)
{
	(void)state;
	struct report r;
	assert_int_equal(parse(snapshot(), &r), 0);
	assert_int_equal(r.nignored, 0);
	assert_int_equal(r.ncells, 1);
	assert_true(r.inv.has_targets && r.inv.has_traffic && r.inv.has_discovery);
	assert_int_equal(r.inv.ntargets, 1);
	assert_string_equal(r.inv.targets[0].name, "web");
	assert_true(r.inv.targets[0].success_ratio == 1);
	assert_string_equal(r.inv.traffic.state, "running");
	assert_int_equal(r.inv.traffic.packets_total, 30);
	assert_int_equal(r.inv.traffic.nproto, 1);
	assert_int_equal(r.inv.traffic.ntalkers, 1);
	assert_int_equal(r.inv.nhosts, 1);
	assert_int_equal(r.inv.hosts[0].nsvc, 1);
	assert_int_equal(r.inv.hosts[0].svc[0].port, 22);
	assert_string_equal(r.inv.hosts[0].svc[0].service, "ssh");
	assert_int_equal(r.inv.nchanges, 1);
	assert_int_equal(r.inv.changes[0].port, 22);
	report_free(&r);

	/* service_details win over the older "port/name" strings */
	cJSON *o = snapshot();
	cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "discovery"), "host_list"), 0);
	cJSON *det = cJSON_AddArrayToObject(h, "service_details");
	cJSON *v = cJSON_CreateObject();
	cJSON_AddNumberToObject(v, "port", 53);
	cJSON_AddStringToObject(v, "proto", "udp");
	cJSON_AddStringToObject(v, "service", "dns");
	cJSON_AddStringToObject(v, "confidence", "high");
	cJSON_AddItemToArray(det, v);
	assert_int_equal(parse(o, &r), 0);
	assert_int_equal(r.inv.hosts[0].nsvc, 1);
	assert_string_equal(r.inv.hosts[0].svc[0].proto, "udp");
	assert_string_equal(r.inv.hosts[0].svc[0].confidence, "high");
	report_free(&r);

	/* a snapshot without the parts (an older sender): no targets, no traffic */
	o = snapshot();
	cJSON_DeleteItemFromObject(o, "summaries");
	cJSON_DeleteItemFromObject(o, "traffic");
	cJSON_DeleteItemFromObject(o, "discovery");
	assert_int_equal(parse(o, &r), 0);
	assert_true(r.inv.has_targets && r.inv.has_traffic && !r.inv.has_discovery);
	assert_int_equal(r.inv.ntargets, 0);
	assert_string_equal(r.inv.traffic.state, "");
	report_free(&r);
}

/* Applies mutate to a fresh snapshot and expects exactly part ignored,
   the cells and the other parts kept. */
static void
expect_ignored(void (*mutate)(cJSON *o), int part)
{
	struct report r;
	cJSON *o = snapshot();
	mutate(o);
	assert_int_equal(parse(o, &r), 0);
	assert_int_equal(r.ncells, 1);
	assert_int_equal(r.nignored, 1);
	assert_int_equal(r.ignored[0].part, part);
	assert_true(r.ignored[0].reason[0] != '\0');
	assert_int_equal(r.inv.has_targets, part != REPORT_PART_TARGETS);
	assert_int_equal(r.inv.has_traffic, part != REPORT_PART_TRAFFIC);
	assert_int_equal(r.inv.has_discovery, part != REPORT_PART_DISCOVERY);
	if (part == REPORT_PART_DISCOVERY)
		assert_int_equal(r.inv.nhosts + r.inv.nchanges, 0);
	report_free(&r);
}

static cJSON *
part(cJSON *o, const char *a, const char *b)
{
	cJSON *x = cJSON_GetObjectItem(o, a);
	return b ? cJSON_GetObjectItem(x, b) : x;
}

/* arr gets copies of its first item until it holds n */
static void
grow(cJSON *arr, int n)
{
	while (cJSON_GetArraySize(arr) < n)
		cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(arr, 0), 1));
}

static void m_targets_many(cJSON *o) { grow(cJSON_GetObjectItem(part(o, "summaries", "targets"), "items"), REPORT_MAX_TARGETS + 1); }
static void m_target_state(cJSON *o)
{
	cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(part(o, "summaries", "targets"), "items"), 0);
	cJSON_ReplaceItemInObject(t, "state", cJSON_CreateString("fine"));
}
static void m_target_ratio(cJSON *o)
{
	cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(part(o, "summaries", "targets"), "items"), 0);
	cJSON_ReplaceItemInObject(t, "success_ratio", cJSON_CreateNumber(1.5));
}
static void m_summaries(cJSON *o) { cJSON_ReplaceItemInObject(o, "summaries", cJSON_CreateString("x")); }
static void m_traffic_type(cJSON *o) { cJSON_ReplaceItemInObject(o, "traffic", cJSON_CreateNumber(1)); }
static void m_traffic_neg(cJSON *o) { cJSON_ReplaceItemInObject(part(o, "traffic", NULL), "pps", cJSON_CreateNumber(-1)); }
static void m_protos_many(cJSON *o)
{
	cJSON *bp = part(o, "traffic", "by_proto");
	for (int i = 0; i < INVENTORY_MAX_PROTOS; i++) {
		char k[16];
		snprintf(k, sizeof k, "p%d", i);
		cJSON_AddNumberToObject(bp, k, 1);
	}
}
static void m_talkers_many(cJSON *o) { grow(part(o, "traffic", "top_talkers"), INVENTORY_MAX_TALKERS + 1); }
static void m_talker_ip(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(part(o, "traffic", "top_talkers"), 0), "ip", cJSON_CreateString("x"));
}
static void m_hosts_many(cJSON *o) { grow(part(o, "discovery", "host_list"), REPORT_MAX_HOSTS + 1); }
static void m_host_ip(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(part(o, "discovery", "host_list"), 0), "ip", cJSON_CreateString("not-an-ip"));
}
static void m_host_mac(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(part(o, "discovery", "host_list"), 0), "mac", cJSON_CreateString("aa:bb"));
}
static void m_services_many(cJSON *o)
{
	grow(cJSON_GetObjectItem(cJSON_GetArrayItem(part(o, "discovery", "host_list"), 0), "services"), REPORT_MAX_SERVICES + 1);
}
static void m_service_text(cJSON *o)
{
	cJSON *sv = cJSON_GetObjectItem(cJSON_GetArrayItem(part(o, "discovery", "host_list"), 0), "services");
	cJSON_AddItemToArray(sv, cJSON_CreateString("99999/x"));
}
static void m_changes_many(cJSON *o) { grow(part(o, "discovery", "recent_changes"), REPORT_MAX_CHANGES + 1); }
static void m_change_future(cJSON *o)
{
	cJSON *c = cJSON_GetArrayItem(part(o, "discovery", "recent_changes"), 0);
	cJSON_DeleteItemFromObject(c, "time");
	json_add_time(c, "time", mw_wall_s() + REPORT_MAX_SKEW_S + 60);
}
static void m_host_name_long(cJSON *o)
{
	char name[300];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	cJSON_AddStringToObject(cJSON_GetArrayItem(part(o, "discovery", "host_list"), 0), "hostname", name);
}
static void m_discovery_type(cJSON *o) { cJSON_ReplaceItemInObject(o, "discovery", cJSON_CreateArray()); }

static void
test_parse_limits(void **state)
{
	(void)state;
	uint64_t before[REPORT_PARTS], after[REPORT_PARTS];
	report_inventory_ignored_counts(before);
	expect_ignored(m_targets_many, REPORT_PART_TARGETS);
	expect_ignored(m_target_state, REPORT_PART_TARGETS);
	expect_ignored(m_target_ratio, REPORT_PART_TARGETS);
	expect_ignored(m_summaries, REPORT_PART_TARGETS);
	expect_ignored(m_traffic_type, REPORT_PART_TRAFFIC);
	expect_ignored(m_traffic_neg, REPORT_PART_TRAFFIC);
	expect_ignored(m_protos_many, REPORT_PART_TRAFFIC);
	expect_ignored(m_talkers_many, REPORT_PART_TRAFFIC);
	expect_ignored(m_talker_ip, REPORT_PART_TRAFFIC);
	expect_ignored(m_hosts_many, REPORT_PART_DISCOVERY);
	expect_ignored(m_host_ip, REPORT_PART_DISCOVERY);
	expect_ignored(m_host_mac, REPORT_PART_DISCOVERY);
	expect_ignored(m_services_many, REPORT_PART_DISCOVERY);
	expect_ignored(m_service_text, REPORT_PART_DISCOVERY);
	expect_ignored(m_changes_many, REPORT_PART_DISCOVERY);
	expect_ignored(m_change_future, REPORT_PART_DISCOVERY);
	expect_ignored(m_host_name_long, REPORT_PART_DISCOVERY);
	expect_ignored(m_discovery_type, REPORT_PART_DISCOVERY);
	report_inventory_ignored_counts(after);
	assert_int_equal(after[REPORT_PART_TARGETS] - before[REPORT_PART_TARGETS], 4);
	assert_int_equal(after[REPORT_PART_TRAFFIC] - before[REPORT_PART_TRAFFIC], 5);
	assert_int_equal(after[REPORT_PART_DISCOVERY] - before[REPORT_PART_DISCOVERY], 9);
	/* at the limits exactly: accepted */
	struct report r;
	cJSON *o = snapshot();
	grow(cJSON_GetObjectItem(part(o, "summaries", "targets"), "items"), REPORT_MAX_TARGETS);
	grow(part(o, "discovery", "host_list"), REPORT_MAX_HOSTS);
	grow(part(o, "discovery", "recent_changes"), REPORT_MAX_CHANGES);
	grow(part(o, "traffic", "top_talkers"), INVENTORY_MAX_TALKERS);
	assert_int_equal(parse(o, &r), 0);
	assert_int_equal(r.nignored, 0);
	assert_int_equal(r.inv.ntargets, REPORT_MAX_TARGETS);
	assert_int_equal(r.inv.nhosts, REPORT_MAX_HOSTS);
	assert_int_equal(r.inv.nchanges, REPORT_MAX_CHANGES);
	assert_int_equal(r.inv.traffic.ntalkers, INVENTORY_MAX_TALKERS);
	report_free(&r);
}

/* An origin's latest cells read back whole past the array's growth steps
   (64, 128), in peer order, with a bound far above them (a reporting
   node's /metrics passes the matrix cells left), and cut at a bound that
   falls between two steps. */
static void
test_latest_cells_grow(void **state)
{
	struct fx *f = *state;
	enum { NCELLS = 150 };
	int64_t t = 1700000000;
	struct report_origin o = origin(ID_A, "a.test", 1, t);
	struct report_cell *cs = calloc(NCELLS, sizeof *cs);
	assert_non_null(cs);
	for (int i = 0; i < NCELLS; i++) {
		snprintf(cs[i].peer, sizeof cs[i].peer, "%08d-2222-4333-8444-555555555555", NCELLS - i);
		snprintf(cs[i].fqdn, sizeof cs[i].fqdn, "p%d.test", NCELLS - i);
		cs[i].t = t;
		cs[i].state = 1;
		cs[i].rtt_ms = i;
		cs[i].loss = cs[i].total_ms = -1;
	}
	assert_int_equal(store_report_insert(f->st, &o, cs, NCELLS, 10, 1000, t), 0);
	free(cs);
	struct report_cell *out = NULL;
	int n = 0;
	assert_int_equal(store_report_latest(f->st, ID_A, 40001, &out, &n), 0);
	assert_int_equal(n, NCELLS);
	for (int i = 0; i < n; i++) {
		char want[40];
		snprintf(want, sizeof want, "%08d-2222-4333-8444-555555555555", i + 1);
		assert_string_equal(out[i].peer, want);
		assert_int_equal((int)out[i].rtt_ms, NCELLS - 1 - i);
	}
	free(out);
	assert_int_equal(store_report_latest(f->st, ID_A, 100, &out, &n), 0);
	assert_int_equal(n, 100);
	assert_string_equal(out[99].peer, "00000100-2222-4333-8444-555555555555");
	free(out);
	assert_int_equal(store_report_latest(f->st, ID_A, 0, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

/* A cap too small for the matrix: whole origins' latest cells go, oldest
   report first, and the log says the matrix does not fit. */
static void
test_size_cap_cuts_matrix_loudly(void **state)
{
	struct fx *f = *state;
	enum { NORIGINS = 4, NCELLS = 500 };
	int64_t t = mw_wall_s();
	struct report_cell *cs = calloc(NCELLS, sizeof *cs);
	assert_non_null(cs);
	for (int i = 0; i < NCELLS; i++) {
		snprintf(cs[i].peer, sizeof cs[i].peer, "%08d-2222-4333-8444-555555555555", i);
		snprintf(cs[i].fqdn, sizeof cs[i].fqdn, "p%d.test", i);
		cs[i].t = t;
		cs[i].state = 1;
		cs[i].rtt_ms = cs[i].loss = cs[i].total_ms = -1;
	}
	static const char *const ids[NORIGINS] = {ID_A, ID_B, ID_C, "dddddddd-2222-4333-8444-555555555555"};
	for (int k = 0; k < NORIGINS; k++) {
		struct report_origin o = origin(ids[k], "o.test", 1, t - NORIGINS + k);
		assert_int_equal(store_report_insert(f->st, &o, cs, NCELLS, 10, NCELLS, t - NORIGINS + k), 0);
	}
	free(cs);
	struct maint_stats ms;
	assert_int_equal(store_maintain(f->st, t, 86400, 30 * 86400, 100 * 1024 * 1024, &ms), 0);
	int64_t before = store_size_bytes(f->st);
	char logf[] = "/tmp/mw-test-log-XXXXXX";
	int lfd = mkstemp(logf);
	assert_true(lfd >= 0);
	int saved = dup(STDERR_FILENO);
	dup2(lfd, STDERR_FILENO);
	int rc = store_maintain(f->st, t, 86400, 30 * 86400, before / 3, &ms);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(rc, 0);
	assert_true(ms.capped > 0);
	char buf[2048] = "";
	ssize_t n = pread(lfd, buf, sizeof buf - 1, 0);
	close(lfd);
	unlink(logf);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "the mesh matrix does not fit; raise db_max_bytes"));
	/* the origin that reported first lost its cells, the newest kept all */
	struct report_cell *out = NULL;
	int got = 0;
	assert_int_equal(store_report_latest(f->st, ids[0], NCELLS, &out, &got), 0);
	free(out);
	assert_true(got < NCELLS);
	assert_int_equal(store_report_latest(f->st, ids[NORIGINS - 1], NCELLS, &out, &got), 0);
	free(out);
	assert_int_equal(got, NCELLS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_insert_replace_upsert),
	    T(test_mesh_view_filters),
	    T(test_per_origin_bounds),
	    T(test_read_rows_cut),
	    T(test_forget_with_origin),
	    T(test_size_cap_sheds_stale_first),
	    T(test_size_cap_sheds_oldest_changes),
	    T(test_size_cap_cuts_matrix_loudly),
	    T(test_migration_to_12),
	    T(test_latest_cells_grow),
	    cmocka_unit_test(test_parse_parts),
	    cmocka_unit_test(test_parse_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
