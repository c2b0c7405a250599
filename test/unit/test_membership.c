/* Unit tests for membership.c: the merge rules that decide a peer's state,
   driven with explicit times so that the time rules of membership_tick are
   checked too; and where the overload rule reads CPU pressure from
   (mesh_overload_source, on a fake file tree). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "meshwatch/config.h"
#include "meshwatch/events.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/util.h"
#include "testdir.h"

#define SELF "00000000-0000-4000-8000-000000000001"
#define B_ID "00000000-0000-4000-8000-00000000000b"
#define C_ID "00000000-0000-4000-8000-00000000000c"

static struct membership *
make(void)
{
	struct membership_opts o = {
		.self_id = SELF, .max_peers = 16, .suspect_after = 1, .dead_after = 3,
		.forget_after_s = 3600, .pmtu_interval_s = 3600, .excuse_max_s = 90,
	};
	struct membership *m = membership_create(&o);
	assert_non_null(m);
	return m;
}

static struct peer_news
news(const char *id, const char *ip, int state, uint64_t inc)
{
	struct peer_news x;
	memset(&x, 0, sizeof x);
	snprintf(x.id, sizeof x.id, "%s", id);
	snprintf(x.ip, sizeof x.ip, "%s", ip);
	x.port = 8443;
	x.state = state;
	x.incarnation = inc;
	return x;
}

/* One poll of entry id (or, id "", of the seed placeholder at ip) that
   no node answered, with result r at time t, as a poller sends it. */
static struct poll_applied
apply(struct membership *m, const char *id, const char *ip, const struct poll_result *r, int64_t t)
{
	struct poll_outcome o;
	memset(&o, 0, sizeof o);
	o.id = id;
	o.ip = ip;
	o.fqdn = "";
	o.port = 8443;
	o.r = *r;
	o.at = t;
	struct poll_applied a;
	membership_apply_poll(m, &o, &a);
	return a;
}

/* One poll of entry id (or the seed at ip) answered by node who (at the
   address reached, or as it describes itself when taken) presenting key
   spki, signed or not, with an empty list, at time t. */
static struct poll_applied
answer(struct membership *m, const char *id, const char *ip, const struct peer_news *who, const char *spki,
    int signed_ok, int taken, int64_t t)
{
	struct poll_outcome o;
	memset(&o, 0, sizeof o);
	o.id = id;
	o.ip = ip;
	o.fqdn = "";
	o.port = 8443;
	o.answered = 1;
	o.who = *who;
	o.taken = taken;
	o.spki = spki;
	o.signed_ok = signed_ok;
	o.answered_at = t;
	o.r.ok = !taken;
	o.r.error = taken ? PERR_BODY : 0;
	o.r.at = t;
	o.at = t;
	struct poll_applied a;
	membership_apply_poll(m, &o, &a);
	return a;
}

static void
fail_seed_poll(struct membership *m, const char *ip, int64_t at)
{
	struct peer p;
	assert_int_equal(membership_next_poll(m, 4, &p), 0);
	assert_string_equal(p.ip, ip);
	struct poll_result r;
	memset(&r, 0, sizeof r);
	r.error = PERR_REFUSED;
	r.at = at;
	struct poll_applied a = apply(m, "", ip, &r, at);
	assert_int_equal(a.history, 0); /* no node yet: no history */
}

/* A seed that was not up when we started (its polls failed while it was a
   placeholder) and that we then hear of through gossip is what gossip says:
   alive, and not made dead by the placeholder's old failures and age. */
static void
test_seed_learned_by_gossip_is_alive(void **state)
{
	(void)state;
	struct membership *m = make();
	struct seed_entry s = {.ip = "127.0.0.12", .port = 8443};
	assert_int_equal(membership_add_seeds(m, &s, 1, 8443), 1);
	int64_t t0 = mw_wall_s();
	for (int i = 0; i < 4; i++)
		fail_seed_poll(m, "127.0.0.12", t0 + i);

	int64_t t1 = t0 + 60; /* long after the placeholder was made */
	struct peer_news x = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	struct merge_stats ms;
	membership_merge(m, &x, 1, t1, &ms);
	struct peer p;
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.state, PEER_ALIVE);
	assert_int_equal(p.fails, 0);
	/* the placeholder's failures have no rows in B's history: no rate either */
	assert_int_equal(p.polls_1h, 0);
	assert_true(p.success_rate_1h < 0);

	membership_tick(m, t1 + 1, 6);
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.state, PEER_ALIVE);
	int total, alive, suspect, dead;
	membership_counts(m, &total, &alive, &suspect, &dead);
	assert_int_equal(total, 1); /* the placeholder became the node: never listed twice */
	assert_int_equal(alive, 1);
	membership_destroy(m);
}

/* A seed that was not up at first, then answers: its success rates count
   polls from the first contact on, as its stored history does (the refused
   polls before had no node id to be filed under). */
static void
test_seed_rates_start_at_first_contact(void **state)
{
	(void)state;
	struct membership *m = make();
	struct seed_entry s = {.ip = "127.0.0.12", .port = 8443};
	assert_int_equal(membership_add_seeds(m, &s, 1, 8443), 1);
	int64_t t0 = mw_wall_s();
	fail_seed_poll(m, "127.0.0.12", t0);
	fail_seed_poll(m, "127.0.0.12", t0);

	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	struct poll_applied a = answer(m, "", "127.0.0.12", &b, "", 0, 0, t0);
	assert_string_equal(a.id, B_ID);
	assert_int_equal(a.history, 1);
	struct peer p;
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.polls_1h, 1);
	assert_int_equal(p.polls_24h, 1);
	assert_true(p.success_rate_1h == 1.0);
	assert_int_equal(p.fails, 0);
	membership_destroy(m);
}

/* A seed stays a seed (its first contact is never paced) however we learn
   its id: from gossip that fills in the placeholder, from its own request
   when another entry already had the id, or as a node remembered from the
   last run; peers that were not in the seed file are not seeds. */
static void
test_seed_flag_survives_identification(void **state)
{
	(void)state;
	struct membership *m = make();
	struct seed_entry s[2] = {{.ip = "127.0.0.12", .port = 8443}, {.ip = "127.0.0.13", .port = 8443}};
	assert_int_equal(membership_add_seeds(m, s, 2, 8443), 2);
	int64_t t0 = mw_wall_s();
	struct peer_news x[2] = {news(B_ID, "127.0.0.12", PEER_ALIVE, 1), news(C_ID, "127.0.0.99", PEER_ALIVE, 1)};
	struct merge_stats ms;
	membership_merge(m, x, 2, t0, &ms);
	struct peer p;
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.seeded, 1); /* gossip gave the placeholder its id */
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_int_equal(p.seeded, 0); /* named by gossip only */

	assert_int_equal(p.quarantined, 1); /* hearsay until reached */
	/* C, known under another address, answers as the second seed: our
	   poll reached it there */
	struct peer_news c13 = news(C_ID, "127.0.0.13", PEER_ALIVE, 1);
	struct poll_applied a = answer(m, "", "127.0.0.13", &c13, "", 0, 0, t0);
	assert_int_equal(a.history, 1);
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_string_equal(p.ip, "127.0.0.13");
	assert_int_equal(p.quarantined, 0);
	assert_int_equal(p.seeded, 1);
	int total, alive, suspect, dead;
	membership_counts(m, &total, &alive, &suspect, &dead);
	assert_int_equal(total, 2); /* the placeholder went: never listed twice */
	membership_destroy(m);

	/* a seed already known from the last run is marked, not added */
	m = make();
	struct peer_news y = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	membership_merge(m, &y, 1, t0, &ms);
	assert_int_equal(membership_add_seeds(m, s, 1, 8443), 0);
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.seeded, 1);
	membership_destroy(m);
}

/* Rule 3: a dead peer is not brought back by second-hand news at the same
   incarnation, only by a newer one. */
static void
test_dead_needs_newer_incarnation(void **state)
{
	(void)state;
	struct membership *m = make();
	int64_t t = mw_wall_s();
	struct peer_news c = news(C_ID, "127.0.0.13", PEER_ALIVE, 5);
	assert_int_equal(membership_heard_from(m, &c, t), 0);
	struct poll_result r;
	memset(&r, 0, sizeof r);
	r.error = PERR_TIMEOUT;
	for (int i = 0; i < 3; i++)
		apply(m, C_ID, "", &r, t + 1 + i);
	struct peer p;
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_int_equal(p.state, PEER_DEAD);

	struct merge_stats ms;
	membership_merge(m, &c, 1, t + 10, &ms); /* stale: incarnation 5 again */
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_int_equal(p.state, PEER_DEAD);

	c.incarnation = 6;
	membership_merge(m, &c, 1, t + 11, &ms);
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_int_equal(p.state, PEER_ALIVE);
	membership_destroy(m);
}

/* Rule 5: news of ourselves is never a peer, and a suspicion at our
   incarnation asks for a refutation. */
static void
test_self_is_never_a_peer(void **state)
{
	(void)state;
	struct membership *m = make();
	membership_set_incarnation(m, 3);
	struct peer_news me = news(SELF, "127.0.0.11", PEER_SUSPECT, 3);
	struct merge_stats ms;
	membership_merge(m, &me, 1, mw_wall_s(), &ms);
	assert_int_equal(ms.ignored_self, 1);
	assert_true(ms.refute >= 3);
	int total, alive, suspect, dead;
	membership_counts(m, &total, &alive, &suspect, &dead);
	assert_int_equal(total, 0);
	membership_destroy(m);
}

#define D_ID "00000000-0000-4000-8000-00000000000d"

/* Rule 4: another node's suspicion changes nothing here (not for a peer
   we know, nor for one we learn of); its report of a death makes a peer we
   have not reached lately suspect, never dead. */
static void
test_second_hand_suspicion_ignored(void **state)
{
	(void)state;
	struct membership *m = make();
	int64_t t = mw_wall_s();
	struct peer_news x[2] = {news(B_ID, "127.0.0.12", PEER_ALIVE, 1), news(C_ID, "127.0.0.13", PEER_SUSPECT, 1)};
	struct merge_stats ms;
	membership_merge(m, x, 2, t, &ms);
	struct peer p;
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_int_equal(p.quarantined, 1); /* learned while another node suspected it: quarantined, not suspect */
	assert_int_equal(membership_heard_from(m, &x[0], t), 0);
	assert_int_equal(membership_heard_from(m, &x[1], t), 0);
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_int_equal(p.state, PEER_ALIVE);
	x[0].state = PEER_SUSPECT;
	membership_merge(m, x, 1, t + 1, &ms);
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.state, PEER_ALIVE);
	/* B called us (heard_from) and we never polled it: another node's
	   verdict does not outweigh that call for two minutes (rule 4) */
	x[0].state = PEER_DEAD;
	membership_merge(m, x, 1, t + 2, &ms);
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.state, PEER_ALIVE);
	assert_int_equal(p.last_ok, 0);
	membership_merge(m, x, 1, t + 120, &ms);
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.state, PEER_ALIVE);
	membership_merge(m, x, 1, t + 121, &ms);
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_int_equal(p.state, PEER_SUSPECT);
	membership_destroy(m);
}

/* gossip of m for a caller that has (known, view, since); returns the list
   length, with *meta filled */
static int
ask(struct membership *m, const char *known, const char *view, const char *since, struct gossip_meta *meta,
    struct peer_news **list)
{
	struct gossip_ask a = {.known_digest = known, .view_digest = view, .since = since};
	int n = -1;
	assert_int_equal(membership_gossip(m, &a, mw_wall_s(), list, &n, meta), 0);
	return n;
}

/* Delta gossip: a caller with a cursor gets only the entries whose fields
   changed since; a cursor from another run (epoch) or from the future gets
   the whole list; the same digest gets no list at all. */
static void
test_gossip_deltas(void **state)
{
	(void)state;
	struct membership *m = make();
	membership_set_self(m, "self.test", "127.0.0.11", 8443);
	int64_t t = mw_wall_s();
	struct peer_news two[2] = {news(B_ID, "127.0.0.12", PEER_ALIVE, 1), news(C_ID, "127.0.0.13", PEER_ALIVE, 1)};
	struct merge_stats ms;
	membership_merge(m, two, 2, t, &ms);
	struct peer_news *l = NULL;
	struct gossip_meta g0;
	assert_int_equal(ask(m, NULL, NULL, NULL, &g0, &l), 0); /* quarantined: never gossiped */
	free(l);
	assert_int_equal(membership_heard_from(m, &two[0], t), 0);
	assert_int_equal(membership_heard_from(m, &two[1], t), 0);

	struct gossip_meta g1, g2, g3;
	assert_int_equal(ask(m, NULL, NULL, NULL, &g1, &l), 2); /* first contact: everything */
	free(l);
	assert_false(g1.delta);
	assert_false(g1.unchanged);
	assert_int_equal(strlen(g1.digest), 16);

	assert_int_equal(ask(m, NULL, NULL, g1.cursor, &g2, &l), 0); /* nothing changed since */
	free(l);
	assert_true(g2.delta);
	assert_string_equal(g2.cursor, g1.cursor);

	/* one change (C's new incarnation) and one new peer (D): exactly those two */
	struct peer_news more[2] = {news(C_ID, "127.0.0.13", PEER_ALIVE, 2), news(D_ID, "127.0.0.14", PEER_ALIVE, 1)};
	membership_merge(m, more, 2, t + 1, &ms);
	assert_int_equal(membership_heard_from(m, &more[1], t + 1), 0);
	assert_int_equal(ask(m, NULL, NULL, g1.cursor, &g3, &l), 2);
	assert_true(g3.delta);
	int seen_c = 0, seen_d = 0;
	for (int i = 0; i < 2; i++) {
		seen_c += strcmp(l[i].id, C_ID) == 0 && l[i].incarnation == 2;
		seen_d += strcmp(l[i].id, D_ID) == 0;
	}
	free(l);
	assert_int_equal(seen_c + seen_d, 2);
	assert_string_not_equal(g3.cursor, g1.cursor);
	assert_string_not_equal(g3.digest, g1.digest);

	/* unknown epoch, a version from the future, garbage: the whole list */
	struct gossip_meta g;
	char bad[64];
	snprintf(bad, sizeof bad, "%08x.1", (unsigned)(strtoul(g3.cursor, NULL, 16) ^ 1u));
	assert_int_equal(ask(m, NULL, NULL, bad, &g, &l), 3);
	free(l);
	assert_false(g.delta);
	snprintf(bad, sizeof bad, "%.8s.999999", g3.cursor);
	assert_int_equal(ask(m, NULL, NULL, bad, &g, &l), 3);
	free(l);
	assert_int_equal(ask(m, NULL, NULL, "zz.-1", &g, &l), 3);
	free(l);

	/* the digest last sent, or a caller whose own view is this one: no list */
	assert_int_equal(ask(m, g3.digest, NULL, NULL, &g, &l), 0);
	assert_null(l);
	assert_true(g.unchanged);
	assert_int_equal(ask(m, "0000000000000000", g3.digest, NULL, &g, &l), 0);
	assert_true(g.unchanged);
	membership_destroy(m);
}

/* A page of gossip: at most ask.page entries, oldest changes first; the
   cursor after the last one gives the rest, and no entry is skipped. */
static void
test_gossip_pages(void **state)
{
	(void)state;
	struct membership *m = make();
	membership_set_self(m, "self.test", "127.0.0.11", 8443);
	struct peer_news three[3] = {news(B_ID, "127.0.0.12", PEER_ALIVE, 1), news(C_ID, "127.0.0.13", PEER_ALIVE, 1),
	    news(D_ID, "127.0.0.14", PEER_ALIVE, 1)};
	for (int i = 0; i < 3; i++)
		membership_heard_from(m, &three[i], mw_wall_s());
	struct gossip_ask a = {.page = 2};
	struct gossip_meta g;
	struct peer_news *l = NULL;
	int n = -1, seen = 0;
	assert_int_equal(membership_gossip(m, &a, mw_wall_s(), &l, &n, &g), 0);
	assert_int_equal(n, 2);
	assert_true(g.more);
	seen += n;
	free(l);
	char cur[MEMBERSHIP_CURSOR_LEN];
	snprintf(cur, sizeof cur, "%s", g.cursor);
	a.since = cur;
	assert_int_equal(membership_gossip(m, &a, mw_wall_s(), &l, &n, &g), 0);
	assert_int_equal(n, 1);
	assert_false(g.more);
	assert_true(g.delta);
	seen += n;
	free(l);
	assert_int_equal(seen, 3);
	membership_destroy(m);
}

/* Key pins: the first key is pinned (on a first contact too), the same
   key passes, another is refused (logged once per key; the poll fails
   and nothing of the answer is taken) unless the change is proven, and a
   forgotten peer loses its pin with it. */
static void
test_pins(void **state)
{
	(void)state;
	struct membership *m = make();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	membership_heard_from(m, &b, mw_wall_s());
	assert_int_equal(answer(m, B_ID, "127.0.0.12", &b, "aa", 0, 0, 10).pin, PIN_NEW);
	assert_int_equal(answer(m, B_ID, "127.0.0.12", &b, "aa", 0, 0, 11).pin, PIN_SAME);
	struct poll_applied a = answer(m, B_ID, "127.0.0.12", &b, "bb", 0, 0, 12);
	assert_int_equal(a.pin, PIN_CHANGED);
	assert_string_equal(a.old_pin, "aa");
	assert_int_equal(a.pin_first, 1);
	assert_int_equal(a.r.ok, 0);
	assert_int_equal(a.r.error, PERR_AUTH);
	assert_non_null(strstr(a.r.detail, "key changed: pinned sha256:aa"));
	assert_int_equal(a.history, 1); /* a failed poll, in the history */
	struct peer_news b2 = b;
	b2.incarnation = 2;
	a = answer(m, B_ID, "127.0.0.12", &b2, "bb", 0, 0, 13);
	assert_int_equal(a.pin, PIN_CHANGED);
	assert_int_equal(a.pin_first, 0);
	struct peer p;
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_string_equal(p.pin, "aa");
	assert_int_equal(p.pinned_at, 10);
	assert_true(p.incarnation == 1); /* nothing of a refused answer is taken */
	assert_int_equal(p.fails, 2);
	assert_int_equal(answer(m, B_ID, "127.0.0.12", &b, "bb", 1, 0, 14).pin, PIN_REPLACED);
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_string_equal(p.pin, "bb");
	assert_int_equal(p.pinned_at, 14);
	assert_int_equal(p.fails, 0);
	assert_int_equal(membership_forget(m, B_ID), 0);
	membership_heard_from(m, &b, mw_wall_s());
	assert_int_equal(membership_get(m, B_ID, &p), 0);
	assert_string_equal(p.pin, "");
	/* a first contact: the node is in the table, and pinned, at once */
	struct peer_news c = news(C_ID, "127.0.0.13", PEER_ALIVE, 1);
	struct seed_entry s = {.ip = "127.0.0.13", .port = 8443};
	assert_int_equal(membership_add_seeds(m, &s, 1, 8443), 1);
	a = answer(m, "", "127.0.0.13", &c, "cc", 0, 0, 15);
	assert_int_equal(a.pin, PIN_NEW);
	assert_string_equal(a.id, C_ID);
	assert_int_equal(membership_get(m, C_ID, &p), 0);
	assert_string_equal(p.pin, "cc");
	assert_int_equal(p.state, PEER_ALIVE);
	membership_destroy(m);
}

/* Two tables that agree on the whole mesh (each knowing the other and a
   third node, alive, at the same incarnations) have the same view digest;
   any difference (a state, an incarnation) makes them differ. */
static void
test_view_digest_agrees(void **state)
{
	(void)state;
	struct membership_opts o = {
		.self_id = B_ID, .max_peers = 16, .suspect_after = 1, .dead_after = 3,
		.forget_after_s = 3600, .pmtu_interval_s = 3600, .excuse_max_s = 90,
	};
	struct membership *a = make(), *b = membership_create(&o);
	assert_non_null(b);
	membership_set_self(a, "", "127.0.0.11", 8443);
	membership_set_self(b, "", "127.0.0.12", 8443);
	int64_t t = mw_wall_s();
	struct peer_news for_a[2] = {news(B_ID, "127.0.0.12", PEER_ALIVE, 1), news(C_ID, "127.0.0.13", PEER_ALIVE, 1)};
	struct peer_news for_b[2] = {news(SELF, "127.0.0.11", PEER_ALIVE, 1), news(C_ID, "127.0.0.13", PEER_ALIVE, 1)};
	struct merge_stats ms;
	membership_merge(a, for_a, 2, t, &ms);
	membership_merge(b, for_b, 2, t, &ms);
	for (int i = 0; i < 2; i++) { /* out of quarantine: reached */
		assert_int_equal(membership_heard_from(a, &for_a[i], t), 0);
		assert_int_equal(membership_heard_from(b, &for_b[i], t), 0);
	}
	char da[17], db[17];
	membership_view_digest(a, da);
	membership_view_digest(b, db);
	assert_string_equal(da, db);

	struct peer_news c2 = news(C_ID, "127.0.0.13", PEER_ALIVE, 2);
	membership_merge(b, &c2, 1, t + 1, &ms);
	membership_view_digest(b, db);
	assert_string_not_equal(da, db);
	membership_destroy(a);
	membership_destroy(b);
}

/* One poll of id failing with error at time t, excused or not; returns
   what the table said (1: excused). */
static int
fail_poll(struct membership *m, const char *id, int error, int excused, int64_t t)
{
	struct poll_result r;
	memset(&r, 0, sizeof r);
	r.error = error;
	r.excused = excused;
	r.at = t;
	return apply(m, id, "", &r, t).excused;
}

static struct peer
get_peer(struct membership *m, const char *id)
{
	struct peer p;
	assert_int_equal(membership_get(m, id, &p), 0);
	return p;
}

/* Rule 8: timeouts excused while this node is overloaded still count as
   failed polls; the peer is unknown (never alive) meanwhile, and once the
   excuse is excuse_max_s old the verdict comes from every failure counted. */
static void
test_excuse_delays_the_verdict(void **state)
{
	(void)state;
	struct membership *m = make();
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 1), 1);
	struct peer p = get_peer(m, B_ID);
	assert_int_equal(p.state, PEER_UNKNOWN);
	assert_int_equal(p.excused_since, t + 1);
	assert_int_equal(p.fails, 1);
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 31), 1);
	assert_int_equal(fail_poll(m, B_ID, PERR_TLS, 1, t + 61), 1);
	p = get_peer(m, B_ID);
	assert_int_equal(p.state, PEER_UNKNOWN); /* three failures, dead_after 3: still withheld */
	assert_int_equal(p.fails, 3);
	assert_int_equal(p.excused_since, t + 1);
	assert_true(p.success_rate_1h <= 0); /* the rates keep the failures (buckets ahead of the clock are left out) */
	int unknown, excused, total, alive, suspect, dead;
	membership_count_unknown(m, &unknown, &excused);
	membership_counts(m, &total, &alive, &suspect, &dead);
	assert_int_equal(unknown, 1);
	assert_int_equal(excused, 1);
	assert_int_equal(alive, 0);
	assert_int_equal(total, 1);
	/* 90 s after the first excuse: no longer excused, the verdict is given */
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 91), 0);
	p = get_peer(m, B_ID);
	assert_int_equal(p.state, PEER_DEAD);
	assert_int_equal(p.excused_since, 0);
	assert_int_equal(p.fails, 4);
	/* a dead peer's verdict is given: its timeouts are not excused */
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 121), 0);
	assert_int_equal(get_peer(m, B_ID).state, PEER_DEAD);
	membership_destroy(m);
}

/* The time bound holds without polls too (membership_tick), a success or
   a failure that is not excused ends the excuse, and a suspect peer stays
   suspect while excused. */
static void
test_excuse_ends(void **state)
{
	(void)state;
	struct membership *m = make();
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1), c = news(C_ID, "127.0.0.13", PEER_ALIVE, 1);
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	assert_int_equal(membership_heard_from(m, &c, t), 0);
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 1), 1);
	assert_int_equal(fail_poll(m, C_ID, PERR_TIMEOUT, 1, t + 1), 1);
	assert_int_equal(membership_tick(m, t + 100, 30), 0); /* 99 s: the next poll may still come */
	assert_int_equal(get_peer(m, B_ID).state, PEER_UNKNOWN);
	assert_int_equal(membership_tick(m, t + 121, 30), 2);
	struct peer p = get_peer(m, B_ID);
	assert_int_equal(p.state, PEER_SUSPECT); /* one failure: suspect_after 1, dead_after 3 */
	assert_int_equal(p.excused_since, 0);

	/* success clears the excuse */
	assert_int_equal(membership_heard_from(m, &b, t + 130), 0);
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 131), 1);
	struct poll_result ok;
	memset(&ok, 0, sizeof ok);
	ok.ok = 1;
	assert_int_equal(apply(m, B_ID, "", &ok, t + 132).excused, 0);
	p = get_peer(m, B_ID);
	assert_int_equal(p.state, PEER_ALIVE);
	assert_int_equal(p.excused_since, 0);
	assert_int_equal(p.fails, 0);

	/* a failure not excused: the failures counted meanwhile give the verdict */
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 140), 1);
	assert_int_equal(fail_poll(m, B_ID, PERR_TIMEOUT, 1, t + 141), 1);
	assert_int_equal(get_peer(m, B_ID).state, PEER_UNKNOWN);
	assert_int_equal(fail_poll(m, B_ID, PERR_REFUSED, 0, t + 142), 0);
	assert_int_equal(get_peer(m, B_ID).state, PEER_DEAD);

	/* a suspect peer stays suspect (never unknown) while excused */
	struct peer_news d = news("00000000-0000-4000-8000-00000000000e", "127.0.0.14", PEER_ALIVE, 1);
	assert_int_equal(membership_heard_from(m, &d, t + 150), 0);
	assert_int_equal(fail_poll(m, d.id, PERR_REFUSED, 0, t + 151), 0);
	assert_int_equal(get_peer(m, d.id).state, PEER_SUSPECT);
	assert_int_equal(fail_poll(m, d.id, PERR_TIMEOUT, 1, t + 152), 1);
	p = get_peer(m, d.id);
	assert_int_equal(p.state, PEER_SUSPECT);
	assert_int_equal(p.excused_since, t + 152);
	membership_destroy(m);
}

/* Another node's withheld verdict (unknown) is no accusation: it changes
   nothing here and asks for no refutation. */
static void
test_unknown_gossip(void **state)
{
	(void)state;
	assert_int_equal(peer_state_parse("unknown"), PEER_UNKNOWN);
	assert_string_equal(peer_state_name(PEER_UNKNOWN), "unknown");
	struct membership *m = make();
	membership_set_incarnation(m, 3);
	int64_t t = mw_wall_s();
	struct peer_news x[2] = {news(SELF, "127.0.0.11", PEER_UNKNOWN, 3), news(B_ID, "127.0.0.12", PEER_UNKNOWN, 1)};
	struct merge_stats ms;
	membership_merge(m, x, 2, t, &ms);
	assert_int_equal(ms.refute, 0);
	assert_int_equal(get_peer(m, B_ID).quarantined, 1);
	assert_int_equal(membership_heard_from(m, &x[1], t), 0);
	assert_int_equal(get_peer(m, B_ID).state, PEER_ALIVE);
	membership_merge(m, x + 1, 1, t + 1, &ms);
	assert_int_equal(get_peer(m, B_ID).state, PEER_ALIVE);
	membership_destroy(m);
}

/* Rule 7: our own poll of a peer's address answered by another node id
   makes that peer dead at once (and the other node is heard from); an
   answer from another address does not. */
static void
test_address_taken(void **state)
{
	(void)state;
	struct membership *m = make();
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1), c = news(C_ID, "127.0.0.12", PEER_ALIVE, 1);
	struct peer_news d = news("00000000-0000-4000-8000-00000000000d", "127.0.0.14", PEER_ALIVE, 1);
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	assert_int_equal(membership_heard_from(m, &d, t), 0);
	struct poll_applied a = answer(m, B_ID, "127.0.0.12", &c, "", 0, 1, t + 1);
	assert_int_equal(a.address_taken, 1);
	assert_int_equal(a.r.ok, 0);
	assert_int_equal(get_peer(m, B_ID).state, PEER_DEAD);
	assert_int_equal(get_peer(m, C_ID).state, PEER_ALIVE);
	a = answer(m, B_ID, "127.0.0.12", &c, "", 0, 1, t + 2);
	assert_int_equal(a.address_taken, 0); /* dead already */
	/* the poller's copy named another address than the table now does */
	a = answer(m, d.id, "127.0.0.99", &c, "", 0, 1, t + 3);
	assert_int_equal(a.address_taken, 0);
	assert_int_not_equal(get_peer(m, d.id).state, PEER_DEAD);
	/* second-hand news of B at the same incarnation does not bring it back */
	struct merge_stats ms;
	membership_merge(m, &b, 1, t + 5, &ms);
	assert_int_equal(get_peer(m, B_ID).state, PEER_DEAD);
	membership_destroy(m);
}

/* One answered poll is one message: the sender's list is merged, its
   digest and cursor kept for the next poll, a suspicion about us refuted,
   the PMTU measured kept; a deferred poll only frees the entry. */
static void
test_apply_poll(void **state)
{
	(void)state;
	struct membership *m = make();
	membership_set_incarnation(m, 3);
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	struct peer p;
	assert_int_equal(membership_next_poll(m, 4, &p), 0);
	assert_int_equal(membership_next_poll(m, 4, &p), MW_ENOTFOUND); /* in flight */
	struct poll_outcome o;
	memset(&o, 0, sizeof o);
	o.id = B_ID;
	o.ip = "127.0.0.12";
	o.fqdn = "";
	o.port = 8443;
	o.deferred = 1;
	membership_apply_poll(m, &o, NULL);
	assert_int_equal(membership_next_poll(m, 4, &p), 0); /* free again, nothing counted */
	assert_int_equal(get_peer(m, B_ID).polls_1h, 0);

	struct peer_news list[2] = {news(SELF, "127.0.0.11", PEER_SUSPECT, 3), news(C_ID, "127.0.0.13", PEER_ALIVE, 1)};
	memset(&o, 0, sizeof o);
	o.id = B_ID;
	o.ip = "127.0.0.12";
	o.fqdn = "";
	o.port = 8443;
	o.answered = 1;
	o.who = b;
	o.spki = "aa";
	o.list = list;
	o.nlist = 2;
	snprintf(o.list_digest, sizeof o.list_digest, "0123456789abcdef");
	snprintf(o.list_cursor, sizeof o.list_cursor, "0000000a.7");
	o.answered_at = t + 1;
	o.pmtu_measured = 1;
	o.pmtu.value = 1400;
	o.pmtu.measured_at = t + 1;
	o.r.ok = 1;
	o.r.at = t + 1;
	o.at = t + 2;
	struct poll_applied a;
	membership_apply_poll(m, &o, &a);
	assert_int_equal(a.r.ok, 1);
	assert_int_equal(a.history, 1);
	assert_int_equal(a.merge.added, 1);
	assert_true(a.incarnation == 4);
	assert_true(membership_incarnation(m) == 4);
	p = get_peer(m, B_ID);
	assert_string_equal(p.list_digest, "0123456789abcdef");
	assert_string_equal(p.list_cursor, "0000000a.7");
	assert_int_equal(p.pmtu.value, 1400);
	assert_int_equal(p.pmtu_due, 0);
	assert_int_equal(p.last_poll, t + 2);
	assert_int_equal(p.polls_1h, 1);
	assert_int_equal(get_peer(m, C_ID).quarantined, 1);
	membership_destroy(m);
}

/* Rules 9 and 10: one answer naming thousands of fakes fills neither the
   table nor the quarantine; the source is cut off; a quarantined entry is
   not gossiped, leaves quarantine when reached and is dropped after its
   failed polls; a real peer's id never moves to a new address on hearsay. */
static void
test_quarantine_and_budget(void **state)
{
	(void)state;
	struct membership_opts o = {
		.self_id = SELF, .max_peers = 4096, .suspect_after = 1, .dead_after = 3, .forget_after_s = 3600,
		.pmtu_interval_s = 3600, .excuse_max_s = 90, .max_quarantined = 50, .new_per_source = 20,
		.quarantine_tries = 2, .poll_interval_s = 30,
	};
	struct membership *m = membership_create(&o);
	assert_non_null(m);
	int64_t t = mw_wall_s();
	struct peer_news src = news(B_ID, "127.0.0.12", PEER_ALIVE, 1), c = news(C_ID, "127.0.0.13", PEER_ALIVE, 1);
	assert_int_equal(membership_heard_from(m, &src, t), 0);
	assert_int_equal(membership_heard_from(m, &c, t), 0);
	struct poll_result ok;
	memset(&ok, 0, sizeof ok);
	ok.ok = 1;
	apply(m, C_ID, "", &ok, t); /* C answers at .13 */
	enum { NF = 1000 };
	struct peer_news *fl = calloc(NF + 1, sizeof *fl);
	assert_non_null(fl);
	for (int i = 0; i < NF; i++) {
		char id[40], ip[64];
		snprintf(id, sizeof id, "00000000-0000-4000-9000-%012x", i);
		snprintf(ip, sizeof ip, "127.9.%d.%d", i / 250, i % 250 + 1);
		fl[i] = news(id, ip, PEER_ALIVE, 1);
	}
	fl[NF] = news(C_ID, "127.0.0.66", PEER_ALIVE, 2); /* the real C, elsewhere */
	struct merge_stats ms;
	membership_merge_from(m, B_ID, fl, NF + 1, t, &ms);
	assert_int_equal(ms.added, 20);
	assert_true(ms.cut_off);
	struct quarantine_stats qs;
	membership_quarantine_stats(m, &qs);
	assert_int_equal(qs.quarantined, 20);
	assert_int_equal(qs.sources_cut, 1);
	assert_string_equal(get_peer(m, C_ID).ip, "127.0.0.13");
	/* cut off: its next lists are ignored altogether */
	membership_merge_from(m, B_ID, fl + 500, 10, t + 1, &ms);
	assert_int_equal(ms.added, 0);
	assert_true(ms.cut_off);
	/* another source: the quarantine's bound holds */
	membership_merge_from(m, C_ID, fl + 500, 100, t + 2, &ms);
	assert_int_equal(ms.added, 20);
	membership_quarantine_stats(m, &qs);
	assert_int_equal(qs.quarantined, 40);
	membership_merge_from(m, NULL, fl + 600, 100, t + 2, &ms);
	membership_quarantine_stats(m, &qs);
	assert_int_equal(qs.quarantined, 50);
	int total, alive, suspect, dead;
	membership_counts(m, &total, &alive, &suspect, &dead);
	assert_int_equal(total, 2); /* hearsay is not counted */
	struct peer_news *l = NULL;
	struct gossip_meta g;
	int n = -1;
	assert_int_equal(membership_gossip(m, NULL, t, &l, &n, &g), 0);
	assert_int_equal(n, 2); /* nor gossiped */
	free(l);
	/* reached: out of quarantine; not reached twice: dropped */
	struct peer f0 = get_peer(m, fl[0].id);
	assert_int_equal(f0.quarantined, 1);
	assert_int_equal(f0.state, PEER_UNKNOWN);
	assert_int_equal(membership_heard_from(m, &fl[0], t + 3), 0);
	assert_int_equal(get_peer(m, fl[0].id).quarantined, 0);
	fail_poll(m, fl[1].id, PERR_REFUSED, 0, t + 4);
	assert_int_equal(get_peer(m, fl[1].id).quarantined, 1);
	fail_poll(m, fl[1].id, PERR_REFUSED, 0, t + 5);
	struct peer gone;
	assert_int_equal(membership_get(m, fl[1].id, &gone), MW_ENOTFOUND);
	membership_quarantine_stats(m, &qs);
	assert_int_equal(qs.dropped, 1);
	/* a caller claiming C's id from elsewhere moves nothing while our polls reach C */
	struct peer_news c2 = news(C_ID, "127.0.0.77", PEER_ALIVE, 3);
	assert_int_equal(membership_heard_from(m, &c2, t + 6), 0);
	assert_string_equal(get_peer(m, C_ID).ip, "127.0.0.13");
	assert_int_equal(membership_heard_unverified(m, &c2, t + 6), 0);
	assert_string_equal(get_peer(m, C_ID).ip, "127.0.0.13");
	/* once our polls of it fail, the node may have moved: it may say so itself */
	fail_poll(m, C_ID, PERR_REFUSED, 0, t + 7);
	assert_int_equal(membership_heard_from(m, &c2, t + 8), 0);
	assert_string_equal(get_peer(m, C_ID).ip, "127.0.0.77");
	free(fl);
	membership_destroy(m);
}

/* Rule 11: incarnations are bounded; a rumour about us far above our own
   incarnation is forged and refuted by nobody, one within reach is. */
static void
test_incarnation_bounds(void **state)
{
	(void)state;
	struct membership *m = make();
	membership_set_incarnation(m, 5);
	struct peer_news me = news(SELF, "127.0.0.11", PEER_DEAD, 1000000000000ull);
	struct merge_stats ms;
	membership_merge(m, &me, 1, mw_wall_s(), &ms);
	assert_int_equal(ms.refute, 0);
	me.incarnation = 7;
	membership_merge(m, &me, 1, mw_wall_s(), &ms);
	assert_int_equal(ms.refute, 7);
	membership_set_incarnation(m, UINT64_MAX);
	assert_true(membership_incarnation(m) == MEMBERSHIP_INCARNATION_MAX);
	/* another node's incarnation does not leap on hearsay */
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 3);
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	b.incarnation = 3 + MEMBERSHIP_INCARNATION_JUMP + 1;
	b.state = PEER_DEAD;
	membership_merge(m, &b, 1, t + 1, &ms);
	assert_int_equal(ms.ignored_stale, 1);
	assert_true(get_peer(m, B_ID).incarnation == 3);
	membership_destroy(m);
}

static void
put_file(const char *root, const char *rel, const char *text)
{
	char p[600];
	snprintf(p, sizeof p, "%s%s", root, rel);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define PSI "some avg10=12.50 avg60=3.00 avg300=1.00 total=100\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"

/* Where CPU pressure comes from: this node's own cgroup when it has one;
   /proc/pressure/cpu outside containers only (inside, it is the host's);
   nothing readable: the rule is off and says why. */
static void
test_overload_source(void **state)
{
	(void)state;
	char root[] = "/tmp/mw-psi-XXXXXX", path[256], why[256], p2[300], p3[300];
	assert_non_null(mkdtemp(root));
	/* cgroup v2 at the root cgroup (no cgroup.type), the machine's PSI readable */
	put_file(root, "/proc/self/cgroup", "0::/\n");
	put_file(root, "/proc/self/mountinfo", "30 25 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n");
	put_file(root, "/sys/fs/cgroup/cpu.pressure", PSI);
	put_file(root, "/proc/pressure/cpu", PSI);
	assert_int_equal(mesh_overload_source(root, NULL, path, sizeof path, why, sizeof why), OVL_SYSTEM);
	assert_non_null(strstr(path, "/proc/pressure/cpu"));
	snprintf(p2, sizeof p2, "%s/proc/pressure/cpu", root);
	assert_true(mesh_read_pressure(p2) == 12.5);
	/* the same in a container: the host's file must not switch the rule on */
	assert_int_equal(mesh_overload_source(root, "podman", path, sizeof path, why, sizeof why), OVL_NONE);
	assert_string_equal(path, "");
	assert_non_null(strstr(why, "container"));
	put_file(root, "/.dockerenv", "");
	assert_int_equal(mesh_overload_source(root, NULL, path, sizeof path, why, sizeof why), OVL_NONE);
	/* a cgroup of its own (non-root: it has cgroup.type): its file, container or not */
	put_file(root, "/proc/self/cgroup", "0::/system.slice/mw.service\n");
	put_file(root, "/sys/fs/cgroup/system.slice/mw.service/cgroup.type", "domain\n");
	put_file(root, "/sys/fs/cgroup/system.slice/mw.service/cpu.pressure", PSI);
	assert_int_equal(mesh_overload_source(root, NULL, path, sizeof path, why, sizeof why), OVL_CGROUP);
	assert_non_null(strstr(path, "/sys/fs/cgroup/system.slice/mw.service/cpu.pressure"));
	/* a mount of a subtree only: the path is below its root */
	put_file(root, "/proc/self/mountinfo",
	    "30 25 0:26 /system.slice /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n");
	put_file(root, "/sys/fs/cgroup/mw.service/cgroup.type", "domain\n");
	put_file(root, "/sys/fs/cgroup/mw.service/cpu.pressure", PSI);
	assert_int_equal(mesh_overload_source(root, NULL, path, sizeof path, why, sizeof why), OVL_CGROUP);
	assert_non_null(strstr(path, "/sys/fs/cgroup/mw.service/cpu.pressure"));
	/* outside a container with /proc/pressure hidden (ProtectProc, ProcSubset=pid): off, and why */
	snprintf(p3, sizeof p3, "%s/.dockerenv", root);
	unlink(p3);
	put_file(root, "/proc/self/cgroup", "0::/\n");
	unlink(p2);
	assert_int_equal(mesh_overload_source(root, NULL, path, sizeof path, why, sizeof why), OVL_NONE);
	assert_non_null(strstr(why, "cannot read"));
	assert_non_null(strstr(why, "ProtectProc"));
	assert_true(mesh_read_pressure(p2) < 0);
	testdir_remove(root);
}

/* Each change of a peer's state is an event: from and to, severity, and the
   evidence (reason, address, error class, failed polls). */
static void
test_state_events(void **state)
{
	(void)state;
	struct events *ev = events_create(NULL, 16, 0);
	struct membership_opts o = {
		.self_id = SELF, .max_peers = 16, .suspect_after = 1, .dead_after = 3,
		.forget_after_s = 3600, .pmtu_interval_s = 3600, .poll_interval_s = 30, .events = ev,
	};
	struct membership *m = membership_create(&o);
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	for (int i = 1; i <= 3; i++)
		fail_poll(m, B_ID, PERR_REFUSED, 0, t + 30 * i);
	assert_int_equal(get_peer(m, B_ID).state, PEER_DEAD);
	struct event_row out[8];
	int k = events_recent(ev, 0, out, 8);
	assert_int_equal(k, 2); /* alive -> suspect, suspect -> dead */
	assert_string_equal(out[0].old_value, "alive");
	assert_string_equal(out[0].new_value, "suspect");
	assert_int_equal(out[0].severity, EVENT_WARNING);
	assert_string_equal(out[1].kind, "peer_state");
	assert_string_equal(out[1].subject_type, "peer");
	assert_string_equal(out[1].subject, B_ID);
	assert_string_equal(out[1].new_value, "dead");
	assert_int_equal(out[1].severity, EVENT_CRITICAL);
	assert_non_null(strstr(out[1].evidence, "\"error\":\"refused\""));
	assert_non_null(strstr(out[1].evidence, "\"failed_polls\":3"));
	assert_non_null(strstr(out[1].evidence, "\"address\":\"127.0.0.12:8443\""));
	membership_destroy(m);
	events_destroy(ev);
}

static struct membership *
make_with_events(struct events *ev)
{
	struct membership_opts o = {
		.self_id = SELF, .max_peers = 16, .suspect_after = 1, .dead_after = 3,
		.forget_after_s = 3600, .pmtu_interval_s = 3600, .poll_interval_s = 30, .events = ev,
	};
	struct membership *m = membership_create(&o);
	assert_non_null(m);
	return m;
}

/* A successful poll of id that measured the path MTU value (black_hole
   as given) at time t. */
static void
pmtu_poll(struct membership *m, const char *id, int value, int black_hole, int64_t t)
{
	struct poll_outcome o;
	memset(&o, 0, sizeof o);
	o.id = id;
	o.ip = "";
	o.fqdn = "";
	o.port = 8443;
	o.r.ok = 1;
	o.r.at = t;
	o.at = t;
	o.pmtu_measured = 1;
	o.pmtu = (struct pmtu_info){.value = value, .probes = 4, .black_hole = black_hole, .measured_at = t};
	snprintf(o.pmtu.method, sizeof o.pmtu.method, "%s", black_hole ? "ack" : "icmp+ack");
	membership_apply_poll(m, &o, NULL);
}

/* A path MTU that changes from one known value to another is a
   pmtu_change event (smaller: warning, larger: info); the first value and
   a repeated one are not; a black hole found and gone are black_hole
   events. */
static void
test_pmtu_events(void **state)
{
	(void)state;
	struct events *ev = events_create(NULL, 16, 0);
	struct membership *m = make_with_events(ev);
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	snprintf(b.fqdn, sizeof b.fqdn, "b.test");
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	pmtu_poll(m, B_ID, 1500, 0, t + 1);
	pmtu_poll(m, B_ID, 1500, 0, t + 2);
	struct event_row out[8];
	assert_int_equal(events_recent(ev, 0, out, 8), 0); /* first value, then the same: nothing */
	pmtu_poll(m, B_ID, 1400, 0, t + 3);
	assert_int_equal(get_peer(m, B_ID).pmtu.value, 1400);
	pmtu_poll(m, B_ID, 1400, 1, t + 4);
	pmtu_poll(m, B_ID, 1500, 0, t + 5);
	int k = events_recent(ev, 0, out, 8);
	assert_int_equal(k, 4);
	assert_string_equal(out[0].kind, "pmtu_change");
	assert_string_equal(out[0].subject_type, "peer");
	assert_string_equal(out[0].subject, B_ID);
	assert_string_equal(out[0].subject_name, "b.test");
	assert_string_equal(out[0].old_value, "1500");
	assert_string_equal(out[0].new_value, "1400");
	assert_int_equal(out[0].severity, EVENT_WARNING);
	assert_non_null(strstr(out[0].evidence, "\"pmtu\":1400"));
	assert_non_null(strstr(out[0].evidence, "\"previous_pmtu\":1500"));
	assert_non_null(strstr(out[0].evidence, "\"method\":\"icmp+ack\""));
	assert_non_null(strstr(out[0].evidence, "\"address\":\"127.0.0.12:8443\""));
	assert_string_equal(out[1].kind, "black_hole");
	assert_string_equal(out[1].old_value, "gone");
	assert_string_equal(out[1].new_value, "found");
	assert_int_equal(out[1].severity, EVENT_WARNING);
	assert_non_null(strstr(out[1].evidence, "\"method\":\"ack\""));
	assert_string_equal(out[2].kind, "pmtu_change");
	assert_string_equal(out[2].new_value, "1500");
	assert_int_equal(out[2].severity, EVENT_INFO);
	assert_string_equal(out[3].kind, "black_hole");
	assert_string_equal(out[3].new_value, "gone");
	assert_int_equal(out[3].severity, EVENT_INFO);
	membership_destroy(m);
	events_destroy(ev);
}

/* A peer made dead after indirect probes names the vantage points that
   agreed (could not reach it either): by fqdn from the table, by id when
   the table has none for it. */
static void
test_vantage_agreed(void **state)
{
	(void)state;
	struct events *ev = events_create(NULL, 16, 0);
	struct membership *m = make_with_events(ev);
	int64_t t = mw_wall_s();
	struct peer_news b = news(B_ID, "127.0.0.12", PEER_ALIVE, 1);
	struct peer_news c = news(C_ID, "127.0.0.13", PEER_ALIVE, 1);
	snprintf(c.fqdn, sizeof c.fqdn, "c.test");
	assert_int_equal(membership_heard_from(m, &b, t), 0);
	assert_int_equal(membership_heard_from(m, &c, t), 0);
	const char *unknown = "00000000-0000-4000-8000-00000000000d";
	for (int i = 1; i <= 3; i++) {
		struct poll_result r;
		memset(&r, 0, sizeof r);
		r.error = PERR_TIMEOUT;
		r.at = t + 30 * i;
		r.vantage_asked = 3;
		r.vantage_reached = 0;
		r.vantage_agreed_n = 2;
		snprintf(r.vantage_agreed[0], sizeof r.vantage_agreed[0], "%s", C_ID);
		snprintf(r.vantage_agreed[1], sizeof r.vantage_agreed[1], "%s", unknown);
		apply(m, B_ID, "", &r, t + 30 * i);
	}
	assert_int_equal(get_peer(m, B_ID).state, PEER_DEAD);
	struct event_row out[8];
	int k = events_recent(ev, 0, out, 8);
	assert_int_equal(k, 2);
	assert_string_equal(out[1].new_value, "dead");
	assert_non_null(strstr(out[1].evidence, "\"vantage_asked\":3"));
	assert_non_null(strstr(out[1].evidence, "\"vantage_reached\":0"));
	char want[128];
	snprintf(want, sizeof want, "\"vantage_agreed\":[\"c.test\",\"%s\"]", unknown);
	assert_non_null(strstr(out[1].evidence, want));
	membership_destroy(m);
	events_destroy(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_learned_by_gossip_is_alive),
		cmocka_unit_test(test_seed_flag_survives_identification),
		cmocka_unit_test(test_seed_rates_start_at_first_contact),
		cmocka_unit_test(test_dead_needs_newer_incarnation),
		cmocka_unit_test(test_self_is_never_a_peer),
		cmocka_unit_test(test_second_hand_suspicion_ignored),
		cmocka_unit_test(test_gossip_deltas),
		cmocka_unit_test(test_view_digest_agrees),
		cmocka_unit_test(test_excuse_delays_the_verdict),
		cmocka_unit_test(test_excuse_ends),
		cmocka_unit_test(test_unknown_gossip),
		cmocka_unit_test(test_address_taken),
		cmocka_unit_test(test_gossip_pages),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_apply_poll),
		cmocka_unit_test(test_quarantine_and_budget),
		cmocka_unit_test(test_incarnation_bounds),
		cmocka_unit_test(test_overload_source),
		cmocka_unit_test(test_state_events),
		cmocka_unit_test(test_pmtu_events),
		cmocka_unit_test(test_vantage_agreed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
