/* membership: owns the peer table. Any thread may call in; one mutex
   guards everything and is held only for in-memory work (no I/O, no
   allocation larger than a snapshot copy).

   Merge rules, in order of strength:
   1. First-hand beats second-hand: a node that called us, or answered our
      poll, is alive, whatever gossip says; its address is what it told us.
   2. Stale news never overrides fresh: gossip about a node carries the
      node's incarnation; a lower incarnation than ours is ignored.
   3. A dead node is not brought back by second-hand gossip at the same
      incarnation, only by its own newer incarnation or our direct contact.
   4. Second-hand bad news is a suspicion, never a death, and only a
      death counts: a peer another node reports dead (after its own failed
      polls and indirect probes) becomes suspect here unless we reached it,
      or it called us, within the last two minutes; only our own failed
      polls make it dead.
      Another node's suspicion is its own opinion (one timed-out poll on a
      busy machine) and changes nothing here: adopted, it spread to the
      whole mesh at once and took hundreds of healthy nodes out of "alive"
      on every hiccup. The suspected node still hears of it and refutes it
      with a new incarnation (rule 5).
   5. A node never lists itself; gossip saying we are suspect or dead at our
      incarnation makes us bump it (the refutation spreads with our answers).
   6. The table is bounded (max_peers); when full, new names are dropped and
      counted, and the log says so (rate-limited).
   7. An address answers for one node: when our own poll of a peer's
      ip:port is answered by another node id, the peer we knew there is
      dead at once (membership_apply_poll, taken). Only that first-hand
      evidence counts; what callers or gossip claim about an address never
      kills a peer.
   8. An overloaded node delays its verdict, never erases it: a timeout it
      excuses still counts as a failed poll, an alive peer becomes unknown
      (verdict withheld), and once the excuse is older than excuse_max_s
      the verdict is given from the failures counted meanwhile.
   9. Hearsay is quarantined: an entry learned second-hand (or from a caller
      claiming an address it does not connect from) is kept apart, shown as
      unknown, never gossiped onward and left out of the counts and the
      view digest, until our own poll reaches it; after quarantine_tries
      failed polls it is dropped. At most max_quarantined are kept, and a
      source naming more than new_per_source new entries in a poll
      interval is cut off for 10 intervals (logged), so one bad answer can
      neither fill the table nor make this node contact thousands of
      addresses. Real nodes still join: a node that calls us from its own
      address, or that our poll reaches, is first-hand.
  10. An id never moves to a new address on hearsay: gossip never changes a
      known entry's address, and first-hand news moves it only when the
      entry is not alive at its current address (our last poll there
      failed, or it never answered there).
  11. Incarnations are bounded (MEMBERSHIP_INCARNATION_MAX) and rise at most
      MEMBERSHIP_INCARNATION_JUMP in one piece of news, so a rumour cannot
      be made unrefutable. */
#include "meshwatch/membership.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "meshwatch/events.h"
#include "meshwatch/log.h"
#include "meshwatch/util.h"

/* Success counts for the rates: the last hour in 5-minute buckets, the
   last 24 hours in hourly ones (288 bytes a peer instead of 2.3 KB for
   24 h of 5-minute buckets; the 24 h rate moves in hourly steps). */
#define FINE_S 300
#define NFINE 12
#define COARSE_S 3600
#define NCOARSE 24

struct bucket {
	uint32_t slot;  /* time / FINE_S or COARSE_S when the counts were made */
	uint16_t ok, n;
};

struct entry {
	struct peer p;
	uint64_t h;     /* hash of the gossiped fields at the last refresh */
	uint64_t ver;   /* table version when they last changed */
	int in_flight;
	int skip;       /* dead peers: polls skipped since the last one */
	int64_t heard_at; /* it last called us, or answered us, first-hand (0: never) */
	/* as a gossip source: new entries it named in the window starting at
	   budget_t, and the end of its cut-off (0: none) */
	int64_t budget_t, cut_until;
	int budget_n;
	struct bucket fine[NFINE], coarse[NCOARSE];
};

struct membership {
	pthread_mutex_t lock;
	struct membership_opts o;
	char self_id[37];
	uint64_t incarnation;
	struct entry **e;
	int n, cap;
	int cursor;
	/* the table's position for delta gossip: epoch (random, per run) and
	   version (bumped for each entry found changed) */
	uint32_t epoch;
	uint64_t version;
	char self_fqdn[256], self_ip[64];
	int self_port;
	int64_t last_full_log;
	uint64_t dropped_full;
	uint64_t q_dropped, q_refused, q_cut;
	int64_t last_qfull_log, last_move_log;
};

static void add_counts(struct entry *e, int64_t t, int n, int ok);

static const char *const state_names[PEER__STATES] = {"alive", "suspect", "dead", "unknown"};

const char *
peer_state_name(int s)
{
	return (s >= 0 && s < PEER__STATES) ? state_names[s] : "unknown";
}

int
peer_state_parse(const char *s)
{
	for (int i = 0; i < PEER__STATES; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

int
membership_valid_id(const char *id)
{
	if (strlen(id) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		char c = id[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

int
membership_valid_fqdn(const char *s)
{
	size_t n = strlen(s);
	if (n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		        c == '_'))
			return 0;
	}
	return 1;
}

struct membership *
membership_create(const struct membership_opts *o)
{
	struct membership *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->o = *o;
	if (m->o.max_quarantined <= 0)
		m->o.max_quarantined = 256;
	if (m->o.new_per_source <= 0)
		m->o.new_per_source = 256;
	if (m->o.quarantine_tries <= 0)
		m->o.quarantine_tries = 2;
	if (m->o.poll_interval_s <= 0)
		m->o.poll_interval_s = 30;
	snprintf(m->self_id, sizeof m->self_id, "%s", o->self_id);
	m->incarnation = 1;
	if (mw_random(&m->epoch, sizeof m->epoch) != 0)
		m->epoch = (uint32_t)mw_now_ms();
	return m;
}

void
membership_set_self(struct membership *m, const char *fqdn, const char *ip, int port)
{
	pthread_mutex_lock(&m->lock);
	snprintf(m->self_fqdn, sizeof m->self_fqdn, "%s", fqdn ? fqdn : "");
	snprintf(m->self_ip, sizeof m->self_ip, "%s", ip ? ip : "");
	m->self_port = port;
	pthread_mutex_unlock(&m->lock);
}

void
membership_destroy(struct membership *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->n; i++)
		free(m->e[i]);
	free(m->e);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct entry *
find_id(struct membership *m, const char *id)
{
	if (id == NULL || id[0] == '\0')
		return NULL;
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->e[i]->p.id, id) == 0)
			return m->e[i];
	return NULL;
}

/* A seed placeholder at this address (matching by ip, or by fqdn when the
   seed named no ip). */
static struct entry *
find_placeholder(struct membership *m, const char *ip, const char *fqdn, int port)
{
	for (int i = 0; i < m->n; i++) {
		struct peer *p = &m->e[i]->p;
		if (p->id[0] != '\0' || p->port != port)
			continue;
		if ((ip && ip[0] && p->ip[0] && strcmp(p->ip, ip) == 0) ||
		    (fqdn && fqdn[0] && p->ip[0] == '\0' && strcmp(p->fqdn, fqdn) == 0))
			return m->e[i];
	}
	return NULL;
}

static void
remove_at(struct membership *m, int i)
{
	free(m->e[i]);
	memmove(&m->e[i], &m->e[i + 1], (size_t)(m->n - i - 1) * sizeof m->e[0]);
	m->n--;
	if (m->cursor > i)
		m->cursor--;
	if (m->cursor >= m->n)
		m->cursor = 0;
}

static void
remove_entry(struct membership *m, struct entry *e)
{
	for (int i = 0; i < m->n; i++)
		if (m->e[i] == e) {
			remove_at(m, i);
			return;
		}
}

static struct entry *
add_entry(struct membership *m, int64_t now)
{
	if (m->n >= m->o.max_peers) {
		m->dropped_full++;
		if (now - m->last_full_log >= 60) {
			log_warn("mesh", "peer table full (max_peers %d): %llu new peers dropped so far", m->o.max_peers,
			    (unsigned long long)m->dropped_full);
			m->last_full_log = now;
		}
		return NULL;
	}
	if (m->n == m->cap) {
		int ncap = m->cap ? m->cap * 2 : 16;
		struct entry **ne = realloc(m->e, (size_t)ncap * sizeof *ne);
		if (ne == NULL)
			return NULL;
		m->e = ne;
		m->cap = ncap;
	}
	struct entry *e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	e->p.first_seen = now;
	e->p.state_since = now;
	e->p.success_rate_1h = e->p.success_rate_24h = -1;
	e->p.pmtu_due = 1;
	m->e[m->n++] = e;
	return e;
}

/* Bytes of the evidence the names of the vantage points that agreed may
   take: with the reason and the poll's detail the object must stay
   within EVENT_EVIDENCE_MAX, so a long list is cut here, not lost whole. */
#define AGREED_NAMES_BYTES 256

/* The vantage points of r that agreed with this node (could not reach
   the peer either), by name: fqdn, or id when the table has none. Lock
   held. */
static void
add_agreed(struct membership *m, cJSON *o, const struct poll_result *r)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "vantage_agreed");
	size_t used = 0;
	for (int i = 0; i < r->vantage_agreed_n && i < MEMBERSHIP_VANTAGE_MAX; i++) {
		const struct entry *v = find_id(m, r->vantage_agreed[i]);
		char name[64];
		snprintf(name, sizeof name, "%.63s", v && v->p.fqdn[0] ? v->p.fqdn : r->vantage_agreed[i]);
		used += strlen(name) + 3; /* quotes and comma */
		if (used > AGREED_NAMES_BYTES)
			break;
		cJSON_AddItemToArray(arr, cJSON_CreateString(name));
	}
}

/* A peer's change of state as an event, with what this node saw: the
   reason, the failed polls and their error class, and how many other
   nodes (vantage points) reached the peer when asked, and which agreed.
   Lock held. */
static void
state_event(struct membership *m, const struct entry *e, int state, int64_t now, const char *why)
{
	if (m->o.events == NULL || e->p.id[0] == '\0')
		return;
	int sev = state == PEER_DEAD ? EVENT_CRITICAL : state == PEER_ALIVE ? EVENT_INFO : EVENT_WARNING;
	struct event_row ev;
	event_init(&ev, "peer_state", sev, "peer", e->p.id, e->p.fqdn, peer_state_name(e->p.state), peer_state_name(state));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "why", why);
	char addr[96];
	snprintf(addr, sizeof addr, strchr(e->p.ip, ':') ? "[%s]:%d" : "%s:%d", e->p.ip, e->p.port);
	cJSON_AddStringToObject(o, "address", addr);
	if (e->p.last_poll > 0 && !e->p.last.ok) {
		cJSON_AddStringToObject(o, "error", poll_error_name(e->p.last.error));
		if (e->p.last.detail[0])
			cJSON_AddStringToObject(o, "detail", e->p.last.detail);
	}
	cJSON_AddNumberToObject(o, "failed_polls", e->p.fails);
	if (e->p.vantage_asked > 0 && now - e->p.vantage_at <= 2 * (int64_t)m->o.poll_interval_s + 5) {
		cJSON_AddNumberToObject(o, "vantage_asked", e->p.vantage_asked);
		cJSON_AddNumberToObject(o, "vantage_reached", e->p.vantage_reached);
		if (e->p.last.vantage_asked > 0)
			add_agreed(m, o, &e->p.last);
	}
	event_set_evidence(&ev, o);
	events_emit(m->o.events, &ev);
}

static void
set_state(struct membership *m, struct entry *e, int state, int64_t now, const char *why)
{
	if (e->p.state == state)
		return;
	/* a peer going bad is WARN, anything else (back alive, a first
	   verdict on a seed) INFO: an operator greps WARN at 3 am */
	int bad = state == PEER_DEAD || (state == PEER_SUSPECT && e->p.state == PEER_ALIVE);
	MW_LOG_AT(bad ? LOG_WARN : LOG_INFO, "mesh", 0, "peer %s (%s %s:%d) %s -> %s: %s", e->p.id[0] ? e->p.id : "(seed)",
	    e->p.fqdn, e->p.ip, e->p.port, peer_state_name(e->p.state), peer_state_name(state), why);
	state_event(m, e, state, now, why);
	e->p.state = state;
	e->p.state_since = now;
	if (state == PEER_DEAD)
		e->p.excused_since = 0; /* a verdict given: nothing withheld any more */
}

int
membership_restore(struct membership *m, const struct peer *saved, const struct bucket_count *counts, int ncounts)
{
	int64_t now = mw_wall_s();
	pthread_mutex_lock(&m->lock);
	int rc = 0;
	if (find_id(m, saved->id) != NULL || strcmp(saved->id, m->self_id) == 0)
		goto out;
	struct entry *e = add_entry(m, now);
	if (e == NULL) {
		rc = MW_ETOOBIG;
		goto out;
	}
	snprintf(e->p.id, sizeof e->p.id, "%s", saved->id);
	snprintf(e->p.fqdn, sizeof e->p.fqdn, "%s", saved->fqdn);
	snprintf(e->p.ip, sizeof e->p.ip, "%s", saved->ip);
	e->p.port = saved->port;
	e->p.incarnation = saved->incarnation;
	e->p.first_seen = saved->first_seen > 0 ? saved->first_seen : now;
	e->p.last_seen = saved->last_seen;
	e->p.state = PEER_SUSPECT; /* not heard from in this run yet */
	e->p.source = SRC_GOSSIP;
	snprintf(e->p.pin, sizeof e->p.pin, "%s", saved->pin);
	e->p.pinned_at = saved->pin[0] ? saved->pinned_at : 0;
	if (saved->pmtu.value > 0) {
		e->p.pmtu = saved->pmtu;
		e->p.pmtu_due = now - saved->pmtu.measured_at >= m->o.pmtu_interval_s;
	}
	for (int i = 0; i < ncounts; i++)
		add_counts(e, counts[i].t, counts[i].n, counts[i].ok);
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int
membership_add_seeds(struct membership *m, const struct seed_entry *seeds, int n, int default_port)
{
	int added = 0;
	int64_t now = mw_wall_s();
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < n; i++) {
		int port = seeds[i].port ? seeds[i].port : default_port;
		if (find_placeholder(m, seeds[i].ip, seeds[i].fqdn, port))
			continue; /* the same seed listed twice */
		struct entry *known = NULL;
		for (int k = 0; k < m->n && !known; k++)
			if (m->e[k]->p.id[0] && m->e[k]->p.port == port &&
			    ((seeds[i].ip[0] && strcmp(m->e[k]->p.ip, seeds[i].ip) == 0) ||
			        (!seeds[i].ip[0] && seeds[i].fqdn[0] && strcmp(m->e[k]->p.fqdn, seeds[i].fqdn) == 0)))
				known = m->e[k];
		if (known) {
			known->p.seeded = 1;
			continue; /* remembered from the last run: already a node, not a placeholder */
		}
		struct entry *e = add_entry(m, now);
		if (e == NULL)
			break;
		snprintf(e->p.fqdn, sizeof e->p.fqdn, "%s", seeds[i].fqdn);
		snprintf(e->p.ip, sizeof e->p.ip, "%s", seeds[i].ip);
		e->p.port = port;
		e->p.source = SRC_SEED;
		e->p.seeded = 1;
		e->p.state = PEER_SUSPECT; /* not known to be alive until it answers */
		e->p.last_seen = 0;
		added++;
	}
	pthread_mutex_unlock(&m->lock);
	return added;
}

/* A seed placeholder learns which node it is. Its failed polls were about
   an address, not this node, and left no rows in the node's history (they
   had no id to file them under): the counts behind the success rates start
   here too, so rates and history always agree. */
static void
identify(struct entry *e, const char *id)
{
	snprintf(e->p.id, sizeof e->p.id, "%s", id);
	memset(e->fine, 0, sizeof e->fine);
	memset(e->coarse, 0, sizeof e->coarse);
	e->p.fails = 0;
}

/* Lock held. */
static int
heard_from_locked(struct membership *m, const struct peer_news *who, int64_t now)
{
	int rc = 0;
	struct entry *e = find_id(m, who->id);
	struct entry *ph = find_placeholder(m, who->ip, who->fqdn, who->port);
	if (e == NULL && ph != NULL) {
		e = ph; /* the seed turns out to be this node */
		identify(e, who->id);
		log_info("mesh", "seed %s:%d is node %s (%s)", who->ip, who->port, who->id, who->fqdn);
		ph = NULL;
	}
	if (e == NULL) {
		e = add_entry(m, now);
		if (e == NULL) {
			rc = MW_ETOOBIG;
			goto out;
		}
		snprintf(e->p.id, sizeof e->p.id, "%s", who->id);
		e->p.state = PEER_ALIVE;
		log_info("mesh", "new peer %s (%s %s:%d) first-hand", who->id, who->fqdn, who->ip, who->port);
	}
	if (ph != NULL && ph != e) {
		e->p.seeded |= ph->p.seeded;
		remove_entry(m, ph); /* never list a node twice */
	}
	int moves = e->p.ip[0] && ((who->ip[0] && strcmp(who->ip, e->p.ip) != 0) || (who->port && who->port != e->p.port));
	if (moves && !e->p.quarantined && e->p.state == PEER_ALIVE && e->p.last_ok > 0 && e->p.last.ok) {
		/* our last poll reached it where it is: the id does not move (rule 10) */
		if (now - m->last_move_log >= 10) {
			log_warn("mesh", "node %s announced at %s:%d while our polls reach it at %s:%d: address kept", who->id,
			    who->ip, who->port, e->p.ip, e->p.port);
			m->last_move_log = now;
		}
		goto out;
	}
	if (e->p.quarantined) {
		e->p.quarantined = 0;
		log_info("mesh", "peer %s (%s:%d) reached first-hand: out of quarantine", who->id,
		    who->ip[0] ? who->ip : e->p.ip, who->port ? who->port : e->p.port);
	}
	if (who->fqdn[0])
		snprintf(e->p.fqdn, sizeof e->p.fqdn, "%s", who->fqdn);
	if (who->ip[0])
		snprintf(e->p.ip, sizeof e->p.ip, "%s", who->ip);
	if (who->port)
		e->p.port = who->port;
	if (who->incarnation > e->p.incarnation)
		e->p.incarnation = who->incarnation;
	e->p.source = SRC_DIRECT;
	e->p.last_seen = now;
	e->heard_at = now;
	e->p.fails = 0;
	e->p.excused_since = 0;
	set_state(m, e, PEER_ALIVE, now, "heard first-hand");
out:
	return rc;
}

int
membership_heard_from(struct membership *m, const struct peer_news *who, int64_t now)
{
	pthread_mutex_lock(&m->lock);
	int rc = heard_from_locked(m, who, now);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
count_quarantined(const struct membership *m)
{
	int k = 0;
	for (int i = 0; i < m->n; i++)
		k += m->e[i]->p.quarantined;
	return k;
}

/* A new entry in quarantine for x, or NULL (table or quarantine full).
   Lock held. */
static struct entry *
add_quarantined(struct membership *m, const struct peer_news *x, int64_t now)
{
	struct entry *e = add_entry(m, now);
	if (e == NULL)
		return NULL;
	snprintf(e->p.id, sizeof e->p.id, "%s", x->id);
	snprintf(e->p.fqdn, sizeof e->p.fqdn, "%s", x->fqdn);
	snprintf(e->p.ip, sizeof e->p.ip, "%s", x->ip);
	e->p.port = x->port;
	e->p.incarnation = x->incarnation;
	e->p.state = PEER_UNKNOWN;
	e->p.source = SRC_GOSSIP;
	e->p.quarantined = 1;
	return e;
}

static void
quarantine_full(struct membership *m, int64_t now)
{
	m->q_refused++;
	if (now - m->last_qfull_log >= 60) {
		log_warn("mesh", "quarantine full (max_quarantined %d): %llu new peers heard of second-hand refused so far",
		    m->o.max_quarantined, (unsigned long long)m->q_refused);
		m->last_qfull_log = now;
	}
}

int
membership_heard_unverified(struct membership *m, const struct peer_news *who, int64_t now)
{
	int added = 0;
	pthread_mutex_lock(&m->lock);
	if (find_id(m, who->id) == NULL && strcmp(who->id, m->self_id) != 0) {
		if (count_quarantined(m) >= m->o.max_quarantined)
			quarantine_full(m, now);
		else if (add_quarantined(m, who, now) != NULL) {
			added = 1;
			log_info("mesh", "caller %s claims %s:%d, not the address it connects from: quarantined until polled",
			    who->id, who->ip, who->port);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return added;
}

void
membership_quarantine_stats(struct membership *m, struct quarantine_stats *out)
{
	pthread_mutex_lock(&m->lock);
	out->quarantined = count_quarantined(m);
	out->dropped = m->q_dropped;
	out->refused = m->q_refused;
	out->sources_cut = m->q_cut;
	pthread_mutex_unlock(&m->lock);
}

void
membership_merge(struct membership *m, const struct peer_news *list, int n, int64_t now, struct merge_stats *st)
{
	membership_merge_from(m, NULL, list, n, now, st);
}

/* Lock held. */
static void
merge_from_locked(struct membership *m, const char *from_id, const struct peer_news *list, int n, int64_t now,
    struct merge_stats *st)
{
	memset(st, 0, sizeof *st);
	struct entry *src = find_id(m, from_id);
	if (src != NULL && src->cut_until > now) {
		st->cut_off = 1; /* still cut off: nothing it says is taken */
		return;
	}
	if (src != NULL && now - src->budget_t >= m->o.poll_interval_s) {
		src->budget_t = now;
		src->budget_n = 0;
	}
	int nq = count_quarantined(m), spent = 0;
	for (int i = 0; i < n; i++) {
		const struct peer_news *x = &list[i];
		if (strcmp(x->id, m->self_id) == 0) {
			st->ignored_self++;
			/* unknown is the sender's withheld verdict, not an accusation */
			/* above ours by more than a jump: forged (only we raise ours) */
			if ((x->state == PEER_SUSPECT || x->state == PEER_DEAD) && x->incarnation >= m->incarnation &&
			    x->incarnation <= m->incarnation + MEMBERSHIP_INCARNATION_JUMP && x->incarnation + 1 > st->refute)
				st->refute = x->incarnation;
			continue;
		}
		int64_t seen = now - (x->age_s > 0 ? x->age_s : 0);
		struct entry *e = find_id(m, x->id);
		if (e == NULL) {
			if (x->state == PEER_DEAD) {
				st->ignored_stale++; /* never learn a node second-hand as dead */
				continue;
			}
			e = find_placeholder(m, x->ip, x->fqdn, x->port);
			if (e == NULL) {
				/* hearsay: quarantined until our own poll reaches it (rule 9) */
				if (x->incarnation > MEMBERSHIP_INCARNATION_MAX) {
					st->ignored_stale++;
					continue;
				}
				if (src != NULL && src->budget_n >= m->o.new_per_source) {
					st->over_budget++;
					spent = 1;
					continue;
				}
				if (nq >= m->o.max_quarantined) {
					st->over_budget++;
					quarantine_full(m, now);
					continue;
				}
				if (add_quarantined(m, x, now) == NULL) {
					st->dropped_full++;
					continue;
				}
				nq++;
				if (src != NULL)
					src->budget_n++;
				st->added++;
				continue;
			}
			/* a seed placeholder: its address comes from the seed file */
			/* A seed that never answered us (it was not up yet) is known
			   from now on by what gossip says of it: its failed polls
			   (cleared by identify) and its time as a placeholder must not
			   make it dead at once. */
			e->p.state = PEER_ALIVE; /* never dead here (above); a suspicion is the sender's own (rule 4) */
			e->p.state_since = now;
			e->p.source = SRC_GOSSIP;
			e->p.last_seen = seen;
			identify(e, x->id);
			snprintf(e->p.fqdn, sizeof e->p.fqdn, "%s", x->fqdn);
			snprintf(e->p.ip, sizeof e->p.ip, "%s", x->ip);
			e->p.port = x->port;
			e->p.incarnation = x->incarnation;
			st->added++;
			continue;
		}
		if (x->incarnation < e->p.incarnation || x->incarnation > e->p.incarnation + MEMBERSHIP_INCARNATION_JUMP) {
			st->ignored_stale++; /* stale, or an implausible jump (rule 11) */
			continue;
		}
		if (e->p.quarantined) {
			e->p.incarnation = x->incarnation; /* nothing else until our poll reaches it */
			st->updated++;
			continue;
		}
		/* first-hand and fresh: our poll reached it, or it called us (rule
		   1); a node that has not polled a caller yet (its first contact
		   paced) must not take another node's verdict over the caller's own
		   call: 200 nodes on two cores made 219 k such suspicions while
		   forming, each an event and a poll sooner */
		int recent_ok = (e->p.last_ok > 0 && now - e->p.last_ok <= 2 * 60) ||
		    (e->heard_at > 0 && now - e->heard_at <= 2 * 60);
		if (x->incarnation > e->p.incarnation) {
			e->p.incarnation = x->incarnation; /* its address stays: never moved on hearsay (rule 10) */
			if (x->state == PEER_ALIVE) {
				if (seen > e->p.last_seen)
					e->p.last_seen = seen;
				e->p.fails = 0;
				set_state(m, e, PEER_ALIVE, now, "newer incarnation reported alive");
			} else if (x->state == PEER_DEAD && !recent_ok && (e->p.state == PEER_ALIVE || e->p.state == PEER_UNKNOWN)) {
				set_state(m, e, PEER_SUSPECT, now, "reported dead by a peer");
			}
			st->updated++;
			continue;
		}
		/* same incarnation */
		if (x->state == PEER_ALIVE) {
			if (seen > e->p.last_seen && e->p.state != PEER_DEAD)
				e->p.last_seen = seen;
			st->updated++;
		} else if (x->state == PEER_DEAD && (e->p.state == PEER_ALIVE || e->p.state == PEER_UNKNOWN) && !recent_ok) {
			set_state(m, e, PEER_SUSPECT, now, "reported dead by a peer");
			st->updated++;
		} else {
			st->ignored_stale++;
		}
	}
	if (spent && src != NULL) {
		src->cut_until = now + 10 * (int64_t)m->o.poll_interval_s;
		src->p.list_digest[0] = src->p.list_cursor[0] = '\0';
		m->q_cut++;
		st->cut_off = 1;
		log_warn("mesh", "peer %s (%s:%d) named more than %d new peers in one poll interval (%d ignored): its lists "
		    "are cut off for %d s", src->p.id, src->p.ip, src->p.port, m->o.new_per_source, st->over_budget,
		    10 * m->o.poll_interval_s);
	}
}

void
membership_merge_from(struct membership *m, const char *from_id, const struct peer_news *list, int n, int64_t now,
    struct merge_stats *st)
{
	pthread_mutex_lock(&m->lock);
	merge_from_locked(m, from_id, list, n, now, st);
	pthread_mutex_unlock(&m->lock);
}

/* Our poll of a seed placeholder (matched by the ip or fqdn and port it
   was seeded with) was answered by node id: it becomes that node, or
   disappears when the node is already in the table. Lock held. */
static void
seed_is_locked(struct membership *m, const char *seed_ip, const char *seed_fqdn, int port, const char *id)
{
	struct entry *ph = find_placeholder(m, seed_ip, seed_fqdn, port);
	if (ph != NULL) {
		struct entry *e = find_id(m, id);
		if (e != NULL) {
			e->p.seeded = 1;
			remove_entry(m, ph); /* never list a node twice */
		} else {
			identify(ph, id);
			log_info("mesh", "seed %s%s%s:%d is node %s", seed_fqdn ? seed_fqdn : "", seed_ip && seed_ip[0] ? " " : "",
			    seed_ip ? seed_ip : "", port, id);
		}
	}
}

static void
bucket_add(struct bucket *ring, int len, uint32_t slot, int n, int ok)
{
	struct bucket *b = &ring[slot % (uint32_t)len];
	if (b->slot != slot) {
		b->slot = slot;
		b->ok = b->n = 0;
	}
	int tn = b->n + n, tok = b->ok + ok;
	b->n = (uint16_t)(tn > UINT16_MAX ? UINT16_MAX : tn);
	b->ok = (uint16_t)(tok > b->n ? b->n : tok);
}

/* n polls, ok of them successful, made at time t */
static void
add_counts(struct entry *e, int64_t t, int n, int ok)
{
	bucket_add(e->fine, NFINE, (uint32_t)(t / FINE_S), n, ok);
	bucket_add(e->coarse, NCOARSE, (uint32_t)(t / COARSE_S), n, ok);
}

/* sums the buckets of ring made within its span before now */
static void
ring_sum(const struct bucket *ring, int len, int64_t now, int span_s, int *n, int *ok)
{
	uint32_t cur = (uint32_t)(now / span_s);
	*n = *ok = 0;
	for (int i = 0; i < len; i++) {
		const struct bucket *b = &ring[i];
		if (b->n == 0 || b->slot + (uint32_t)len <= cur || b->slot > cur)
			continue;
		*n += b->n;
		*ok += b->ok;
	}
}

static void
compute_rates(struct entry *e, int64_t now)
{
	int ok1, n1, ok24, n24;
	ring_sum(e->fine, NFINE, now, FINE_S, &n1, &ok1);
	ring_sum(e->coarse, NCOARSE, now, COARSE_S, &n24, &ok24);
	e->p.polls_1h = n1;
	e->p.polls_24h = n24;
	e->p.success_rate_1h = n1 ? (double)ok1 / n1 : -1;
	e->p.success_rate_24h = n24 ? (double)ok24 / n24 : -1;
}

/* The verdict on e after a failure that is not (or no longer) excused,
   from the failures counted so far. Lock held. */
static void
give_verdict(struct membership *m, struct entry *e, const char *why, int vantage_reached, int vantage_asked, int64_t now)
{
	int open = e->p.state == PEER_ALIVE || e->p.state == PEER_UNKNOWN;
	char text[300];
	snprintf(text, sizeof text, "%s", why);
	if (e->p.fails >= m->o.dead_after && vantage_reached > 0) {
		/* other nodes reach it: the trouble is between us, not the peer */
		size_t l = strlen(text);
		snprintf(text + l, sizeof text - l, "; but %d of %d other nodes reach it", vantage_reached, vantage_asked);
		if (open)
			set_state(m, e, PEER_SUSPECT, now, text);
	} else if (e->p.fails >= m->o.dead_after)
		set_state(m, e, PEER_DEAD, now, text);
	else if (e->p.fails >= m->o.suspect_after && open)
		set_state(m, e, PEER_SUSPECT, now, text);
	else if (e->p.state == PEER_UNKNOWN)
		set_state(m, e, PEER_ALIVE, now, text); /* too few failures to suspect it */
}

/* The entry a poll was for: by id, or (id "") the seed placeholder. */
static struct entry *
find_polled(struct membership *m, const char *id, const char *seed_ip, const char *seed_fqdn, int port)
{
	return (id && id[0]) ? find_id(m, id) : find_placeholder(m, seed_ip, seed_fqdn, port);
}

/* Our poll of e finished with r (see membership_apply_poll). Returns 1
   when the failure was excused, else 0. Lock held; e may be removed. */
static int
poll_done_locked(struct membership *m, struct entry *e, const struct poll_result *r, int64_t now)
{
	int excused = 0;
	e->in_flight = 0;
	struct poll_result was = e->p.last;
	e->p.last = *r;
	e->p.last_poll = now;
	if (r->beat) {
		/* the HTTPS times shown stay those of the last exchange */
		e->p.beats++;
		e->p.last.connect_ms = was.connect_ms;
		e->p.last.tls_ms = was.tls_ms;
		e->p.last.ttfb_ms = was.ttfb_ms;
		e->p.last.total_ms = was.total_ms;
	} else if (!r->ok) {
		e->p.beat_ok = 0; /* an exchange failed: the next poll is one again */
	}
	add_counts(e, now, 1, r->ok ? 1 : 0);
	if (r->ok) {
		if (e->p.quarantined) {
			e->p.quarantined = 0;
			log_info("mesh", "peer %s (%s:%d) reached: out of quarantine", e->p.id, e->p.ip, e->p.port);
		}
		e->p.fails = 0;
		e->p.last_ok = now;
		e->p.last_seen = now;
		e->p.excused_since = 0;
		if (e->p.id[0])
			set_state(m, e, PEER_ALIVE, now, "poll succeeded");
		goto out;
	}
	e->p.fails++;
	if (e->p.id[0] == '\0')
		goto out; /* a seed never reached: stays a placeholder */
	if (e->p.quarantined) {
		/* hearsay our polls do not confirm: dropped, not kept as dead */
		if (e->p.fails >= m->o.quarantine_tries) {
			m->q_dropped++;
			log_info("mesh", "quarantined peer %s (%s:%d) not reached in %d polls (%s): dropped", e->p.id, e->p.ip,
			    e->p.port, e->p.fails, poll_error_name(r->error));
			remove_entry(m, e);
		}
		goto out;
	}
	char why[240];
	snprintf(why, sizeof why, "%d failed polls (%s%s%s)", e->p.fails, poll_error_name(r->error),
	    r->detail[0] ? ": " : "", r->detail);
	if (r->vantage_asked > 0) {
		e->p.vantage_asked = r->vantage_asked;
		e->p.vantage_reached = r->vantage_reached;
		e->p.vantage_at = now;
	}
	/* A dead peer's verdict is given already: nothing to withhold. */
	if (r->excused && e->p.state != PEER_DEAD && m->o.excuse_max_s > 0 &&
	    (e->p.excused_since == 0 || now - e->p.excused_since < m->o.excuse_max_s)) {
		excused = 1;
		if (e->p.excused_since == 0)
			e->p.excused_since = now;
		if (e->p.state == PEER_ALIVE) {
			size_t l = strlen(why);
			snprintf(why + l, sizeof why - l, " while this node is overloaded: verdict withheld for up to %d s",
			    m->o.excuse_max_s);
			set_state(m, e, PEER_UNKNOWN, now, why);
		}
		goto out;
	}
	if (r->excused && e->p.excused_since > 0) {
		size_t l = strlen(why);
		snprintf(why + l, sizeof why - l, "; withheld for %lld s while this node is overloaded, the longest allowed",
		    (long long)(now - e->p.excused_since));
	}
	e->p.excused_since = 0;
	give_verdict(m, e, why, r->vantage_reached, r->vantage_asked, now);
out:
	return excused;
}

/* Our own poll of ip:port, where we knew node old_id, was answered by
   node new_id (rule 7). Returns 1 when old_id changed state or was
   dropped, else 0. Lock held. */
static int
address_taken_locked(struct membership *m, const char *old_id, const char *ip, int port, const char *new_id,
    int64_t now)
{
	int changed = 0;
	struct entry *e = find_id(m, old_id);
	if (e != NULL && e->p.quarantined && e->p.port == port && strcmp(e->p.ip, ip) == 0) {
		remove_entry(m, e); /* hearsay the address itself contradicts */
		m->q_dropped++;
		changed = 1;
		goto out;
	}
	/* only when the entry still names the address we polled */
	if (e != NULL && strcmp(old_id, new_id) != 0 && e->p.port == port && strcmp(e->p.ip, ip) == 0 &&
	    e->p.state != PEER_DEAD) {
		char why[200];
		snprintf(why, sizeof why, "its address %s:%d now answers as node %s", ip, port, new_id);
		e->p.excused_since = 0;
		set_state(m, e, PEER_DEAD, now, why);
		changed = 1;
	}
out:
	return changed;
}

int
membership_tick(struct membership *m, int64_t now, int poll_interval_s)
{
	int changed = 0;
	pthread_mutex_lock(&m->lock);
	for (int i = m->n - 1; i >= 0; i--) {
		struct entry *e = m->e[i];
		if (e->p.id[0] == '\0')
			continue;
		/* A suspicion nobody confirms or clears in dead_after intervals ends as dead. */
		/* another node reached it lately (indirect probe): not dead by time;
		   the window spans a few rounds of slow, timing-out polls */
		int vouched = e->p.vantage_reached > 0 && now - e->p.vantage_at <= 2 * (int64_t)m->o.dead_after * poll_interval_s + 10;
		/* Not a peer this node has never polled (one that called us, its
		   first poll still paced): a death reported by another node made it
		   suspect, and passing that on as our own verdict turned one
		   overloaded node's timeouts into a mesh-wide cascade (200 nodes on
		   two cores: 65 k such verdicts while forming). Our first poll decides. */
		int polled = e->p.last_poll > 0;
		if (e->p.state == PEER_SUSPECT && !vouched && polled &&
		    now - e->p.state_since > (int64_t)m->o.dead_after * poll_interval_s + poll_interval_s &&
		    (e->p.last_ok == 0 || now - e->p.last_ok > (int64_t)m->o.dead_after * poll_interval_s)) {
			set_state(m, e, PEER_DEAD, now, "suspect for too long");
			changed++;
		} else if (e->p.state == PEER_UNKNOWN && e->p.excused_since > 0 &&
		    now - e->p.excused_since >= (int64_t)m->o.excuse_max_s + poll_interval_s) {
			/* no poll came to give the verdict: give it from the failures counted */
			char why[200];
			snprintf(why, sizeof why, "%d failed polls; verdict withheld for %lld s while this node is overloaded, "
			    "the longest allowed", e->p.fails, (long long)(now - e->p.excused_since));
			e->p.excused_since = 0;
			give_verdict(m, e, why, 0, 0, now);
			changed++;
		} else if (e->p.state == PEER_DEAD && now - e->p.state_since > m->o.forget_after_s) {
			log_info("mesh", "forgetting peer %s (%s): dead for %lld s", e->p.id, e->p.fqdn,
			    (long long)(now - e->p.state_since));
			remove_at(m, i);
			changed++;
		}
		if (i < m->n && m->e[i] == e && e->p.pmtu.measured_at > 0 &&
		    now - e->p.pmtu.measured_at >= m->o.pmtu_interval_s)
			e->p.pmtu_due = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return changed;
}

static int
cmp_peer(const void *a, const void *b)
{
	const struct peer *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	c = strcmp(x->ip, y->ip);
	return c ? c : x->port - y->port;
}

struct peer *
membership_snapshot(struct membership *m, int *n)
{
	int64_t now = mw_wall_s();
	pthread_mutex_lock(&m->lock);
	struct peer *out = malloc((size_t)(m->n ? m->n : 1) * sizeof *out);
	if (out) {
		for (int i = 0; i < m->n; i++) {
			compute_rates(m->e[i], now);
			out[i] = m->e[i]->p;
		}
		*n = m->n;
	} else {
		*n = 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (out)
		qsort(out, (size_t)*n, sizeof *out, cmp_peer);
	return out;
}

static uint64_t
entry_hash(const struct peer *p)
{
	struct {
		int32_t port, state;
		uint64_t incarnation;
	} fixed = {p->port, p->state, p->incarnation};
	uint64_t h = XXH3_64bits_withSeed(&fixed, sizeof fixed, 0);
	h = XXH3_64bits_withSeed(p->id, strlen(p->id), h);
	h = XXH3_64bits_withSeed(p->ip, strlen(p->ip) + 1, h); /* the NUL keeps ip|fqdn splits apart */
	return XXH3_64bits_withSeed(p->fqdn, strlen(p->fqdn), h);
}

/* Re-hashes every identified entry, stamping the ones whose gossiped
   fields changed with a new version; returns the view digest (this node
   included). Lock held. */
static uint64_t
refresh_locked(struct membership *m, int *count)
{
	uint64_t sum = 0;
	int k = 0;
	for (int i = 0; i < m->n; i++) {
		struct entry *e = m->e[i];
		if (e->p.id[0] == '\0' || e->p.quarantined)
			continue; /* quarantined entries are not part of the view */
		uint64_t h = entry_hash(&e->p);
		if (h != e->h || e->ver == 0) {
			e->h = h;
			e->ver = ++m->version;
		}
		sum += h; /* a sum: the order of the table does not matter */
		k++;
	}
	struct peer self;
	memset(&self, 0, sizeof self);
	memcpy(self.id, m->self_id, sizeof self.id);
	memcpy(self.fqdn, m->self_fqdn, sizeof self.fqdn);
	memcpy(self.ip, m->self_ip, sizeof self.ip);
	self.port = m->self_port;
	self.state = PEER_ALIVE;
	self.incarnation = m->incarnation;
	sum += entry_hash(&self);
	if (count)
		*count = k;
	return sum ^ (uint64_t)(k + 1) * 0x9E3779B97F4A7C15ull;
}

void
membership_view_digest(struct membership *m, char digest[17])
{
	pthread_mutex_lock(&m->lock);
	uint64_t d = refresh_locked(m, NULL);
	pthread_mutex_unlock(&m->lock);
	snprintf(digest, 17, "%016llx", (unsigned long long)d);
}

void
membership_poll_view(struct membership *m, uint64_t *incarnation, char digest[17])
{
	pthread_mutex_lock(&m->lock);
	uint64_t d = refresh_locked(m, NULL);
	*incarnation = m->incarnation;
	pthread_mutex_unlock(&m->lock);
	snprintf(digest, 17, "%016llx", (unsigned long long)d);
}

int
membership_parse_cursor(const char *s, uint32_t *epoch, uint64_t *version)
{
	if (s == NULL)
		return -1;
	size_t len = strlen(s);
	/* digits only (strtoul alone would take signs, spaces and "0x") */
	if (len < 10 || len >= MEMBERSHIP_CURSOR_LEN || strspn(s, "0123456789abcdef") != 8 || s[8] != '.' ||
	    strspn(s + 9, "0123456789") != len - 9)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s + 9, NULL, 10);
	if (errno != 0)
		return -1;
	*epoch = (uint32_t)strtoul(s, NULL, 16);
	*version = v;
	return 0;
}

/* The version of a cursor "epoch.version" from this table's epoch, or -1. */
static int64_t
cursor_version(const struct membership *m, const char *since)
{
	uint32_t ep;
	uint64_t ver;
	if (membership_parse_cursor(since, &ep, &ver) != 0 || ep != m->epoch || ver > m->version)
		return -1;
	return (int64_t)ver;
}

static int
entry_ver_cmp(const void *a, const void *b)
{
	uint64_t x = (*(const struct entry *const *)a)->ver, y = (*(const struct entry *const *)b)->ver;
	return x < y ? -1 : x > y;
}

int
membership_gossip(struct membership *m, const struct gossip_ask *ask, int64_t now, struct peer_news **list,
    int *n, struct gossip_meta *meta)
{
	*list = NULL;
	*n = 0;
	memset(meta, 0, sizeof *meta);
	int rc = 0, count = 0;
	pthread_mutex_lock(&m->lock);
	uint64_t d = refresh_locked(m, &count);
	snprintf(meta->digest, sizeof meta->digest, "%016llx", (unsigned long long)d);
	snprintf(meta->cursor, sizeof meta->cursor, "%08x.%llu", (unsigned)m->epoch, (unsigned long long)m->version);
	if (ask && ((ask->known_digest && strcmp(ask->known_digest, meta->digest) == 0) ||
	               (ask->view_digest && strcmp(ask->view_digest, meta->digest) == 0))) {
		meta->unchanged = 1; /* the caller's view is ours, or it has our list already */
		goto out;
	}
	int64_t since = cursor_version(m, ask ? ask->since : NULL);
	meta->delta = since >= 0;
	*list = malloc((size_t)(count ? count : 1) * sizeof **list);
	const struct entry **pick = malloc((size_t)(count ? count : 1) * sizeof *pick);
	if (*list == NULL || pick == NULL) {
		free(*list);
		*list = NULL;
		free(pick);
		rc = MW_ENOMEM;
		goto out;
	}
	int np = 0;
	for (int i = 0; i < m->n && np < count; i++) {
		const struct entry *e = m->e[i];
		if (e->p.id[0] == '\0' || e->p.quarantined || (since >= 0 && e->ver <= (uint64_t)since))
			continue; /* quarantined: never gossiped onward */
		pick[np++] = e;
	}
	if (ask && ask->page > 0 && np > ask->page) {
		/* a page: the oldest changes first, the cursor after the last one */
		qsort(pick, (size_t)np, sizeof *pick, entry_ver_cmp);
		np = ask->page;
		meta->more = 1;
		snprintf(meta->cursor, sizeof meta->cursor, "%08x.%llu", (unsigned)m->epoch,
		    (unsigned long long)pick[np - 1]->ver);
	}
	for (int i = 0; i < np; i++) {
		const struct entry *e = pick[i];
		const struct peer *p = &e->p;
		struct peer_news *x = &(*list)[(*n)++];
		memcpy(x->id, p->id, sizeof x->id);
		memcpy(x->fqdn, p->fqdn, sizeof x->fqdn);
		memcpy(x->ip, p->ip, sizeof x->ip);
		x->port = p->port;
		x->state = p->state;
		x->incarnation = p->incarnation;
		x->age_s = p->last_seen > 0 ? (now > p->last_seen ? now - p->last_seen : 0) : -1;
	}
	free(pick);
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int
membership_get(struct membership *m, const char *id, struct peer *out)
{
	int rc = MW_ENOTFOUND;
	pthread_mutex_lock(&m->lock);
	struct entry *e = find_id(m, id);
	if (e) {
		compute_rates(e, mw_wall_s());
		*out = e->p;
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Key pinning, trust on first use. spki: the key hash peer id presented
   on a direct contact. PIN_CHANGED (the pin stays) when it differs and
   accept_change is 0: *first is 1 the first time this other key is seen,
   so it is logged once. old_out (65 bytes) gets the previous pin. Lock
   held. */
static int
pin_locked(struct membership *m, const char *id, const char *spki, int accept_change, int64_t now, char *old_out,
    int *first)
{
	int rc = PIN_NONE;
	*first = 0;
	old_out[0] = '\0';
	struct entry *e = find_id(m, id);
	if (e == NULL || spki == NULL || spki[0] == '\0')
		goto out;
	struct peer *p = &e->p;
	snprintf(old_out, 65, "%s", p->pin);
	if (strcmp(p->pin, spki) == 0) {
		rc = PIN_SAME;
		p->pin_refused[0] = '\0';
	} else if (p->pin[0] == '\0' || accept_change) {
		rc = p->pin[0] ? PIN_REPLACED : PIN_NEW;
		snprintf(p->pin, sizeof p->pin, "%s", spki);
		p->pinned_at = now;
		p->pin_refused[0] = '\0';
	} else {
		rc = PIN_CHANGED;
		*first = strcmp(p->pin_refused, spki) != 0;
		snprintf(p->pin_refused, sizeof p->pin_refused, "%s", spki);
	}
out:
	return rc;
}

int
membership_forget(struct membership *m, const char *id)
{
	int rc = MW_ENOTFOUND;
	pthread_mutex_lock(&m->lock);
	struct entry *e = find_id(m, id);
	if (e) {
		remove_entry(m, e);
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void
membership_counts(struct membership *m, int *total, int *alive, int *suspect, int *dead)
{
	*total = *alive = *suspect = *dead = 0;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < m->n; i++) {
		const struct peer *p = &m->e[i]->p;
		if (p->id[0] == '\0' || p->quarantined)
			continue; /* seeds are not nodes until they answer; hearsay until we reach it */
		(*total)++;
		if (p->state == PEER_ALIVE)
			(*alive)++;
		else if (p->state == PEER_SUSPECT)
			(*suspect)++;
		else if (p->state == PEER_DEAD)
			(*dead)++;
	}
	pthread_mutex_unlock(&m->lock);
}

void
membership_count_unknown(struct membership *m, int *unknown, int *excused)
{
	*unknown = *excused = 0;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < m->n; i++) {
		const struct peer *p = &m->e[i]->p;
		if (p->id[0] == '\0' || p->quarantined)
			continue;
		*unknown += p->state == PEER_UNKNOWN;
		*excused += p->excused_since > 0;
	}
	pthread_mutex_unlock(&m->lock);
}

int
membership_next_poll(struct membership *m, int dead_every, struct peer *out)
{
	int rc = MW_ENOTFOUND;
	pthread_mutex_lock(&m->lock);
	for (int k = 0; k < m->n; k++) {
		if (m->cursor >= m->n)
			m->cursor = 0;
		struct entry *e = m->e[m->cursor++];
		if (e->in_flight)
			continue;
		if (e->p.state == PEER_DEAD && e->p.id[0]) {
			if (++e->skip < dead_every)
				continue;
			e->skip = 0;
		}
		e->in_flight = 1;
		*out = e->p;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int
membership_active_count(struct membership *m, int dead_every)
{
	int alive = 0, dead = 0;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < m->n; i++) {
		if (m->e[i]->p.state == PEER_DEAD && m->e[i]->p.id[0])
			dead++;
		else
			alive++;
	}
	pthread_mutex_unlock(&m->lock);
	return alive + (dead + dead_every - 1) / dead_every;
}

uint64_t
membership_incarnation(struct membership *m)
{
	pthread_mutex_lock(&m->lock);
	uint64_t v = m->incarnation;
	pthread_mutex_unlock(&m->lock);
	return v;
}

static void
set_incarnation_locked(struct membership *m, uint64_t inc)
{
	if (inc > MEMBERSHIP_INCARNATION_MAX)
		inc = MEMBERSHIP_INCARNATION_MAX;
	if (inc > m->incarnation)
		m->incarnation = inc;
}

void
membership_set_incarnation(struct membership *m, uint64_t inc)
{
	pthread_mutex_lock(&m->lock);
	set_incarnation_locked(m, inc);
	pthread_mutex_unlock(&m->lock);
}

/* An answered poll: seed, key pin, first-hand news, address taken, list
   (see membership_apply_poll). 0, or -1 when the key was refused and
   nothing of the answer may be taken. Lock held. */
static int
apply_answer_locked(struct membership *m, const struct poll_outcome *o, struct poll_applied *a)
{
	const struct peer_news *who = &o->who;
	if (o->id[0] == '\0')
		seed_is_locked(m, o->ip, o->fqdn, o->port, who->id);
	const char *spki = o->spki ? o->spki : "";
	a->pin = pin_locked(m, who->id, spki, o->signed_ok, o->answered_at, a->old_pin, &a->pin_first);
	if (a->pin == PIN_CHANGED)
		return -1;
	heard_from_locked(m, who, o->answered_at);
	if (a->pin == PIN_NONE) { /* a first contact: in the table only now */
		char old[65];
		int first;
		a->pin = pin_locked(m, who->id, spki, 0, o->answered_at, old, &first);
	}
	if (o->taken)
		a->address_taken = address_taken_locked(m, o->id, o->ip, o->port, who->id, o->answered_at);
	merge_from_locked(m, who->id, o->list, o->nlist, o->answered_at, &a->merge);
	/* entries left out (budget spent, quarantine full): no digest or
	   cursor, so its next answer is a whole list again */
	int whole = a->merge.over_budget == 0 && !a->merge.cut_off;
	struct entry *e = find_id(m, who->id);
	if (e) {
		snprintf(e->p.list_digest, sizeof e->p.list_digest, "%s", whole ? o->list_digest : "");
		snprintf(e->p.list_cursor, sizeof e->p.list_cursor, "%s", whole ? o->list_cursor : "");
		/* beats stand for the next polls only when the whole answer was
		   taken: else the next poll is an exchange again */
		e->p.beat_ok = o->beat_issued && whole && !o->taken;
		memcpy(e->p.beat_ticket, o->beat_ticket, sizeof e->p.beat_ticket);
		memcpy(e->p.beat_key, o->beat_key, sizeof e->p.beat_key);
		e->p.beat_digest = o->beat_digest;
		e->p.beats = 0;
		e->p.last_exchange = o->answered_at;
	}
	if (a->merge.refute > 0) {
		set_incarnation_locked(m, a->merge.refute + 1);
		a->incarnation = m->incarnation;
	}
	return 0;
}

/* One PMTU event: kind, from and to, with the measurement as evidence. */
static void
pmtu_event(struct membership *m, const struct entry *e, const char *kind, int severity, const char *from,
    const char *to, const struct pmtu_info *now)
{
	struct event_row ev;
	event_init(&ev, kind, severity, "peer", e->p.id, e->p.fqdn, from, to);
	cJSON *o = cJSON_CreateObject();
	char addr[96];
	snprintf(addr, sizeof addr, strchr(e->p.ip, ':') ? "[%s]:%d" : "%s:%d", e->p.ip, e->p.port);
	cJSON_AddStringToObject(o, "address", addr);
	cJSON_AddNumberToObject(o, "pmtu", now->value);
	cJSON_AddStringToObject(o, "method", now->method);
	cJSON_AddNumberToObject(o, "probes", now->probes);
	if (e->p.pmtu.value > 0)
		cJSON_AddNumberToObject(o, "previous_pmtu", e->p.pmtu.value);
	event_set_evidence(&ev, o);
	events_emit(m->o.events, &ev);
}

/* A path MTU measured for e (its old one still in e->p.pmtu): a change
   from one known value to another is a pmtu_change event (smaller: a
   warning, as a tunnel or a link that shrank breaks large transfers;
   larger: info), and large packets that start or stop vanishing without
   ICMP feedback are a black_hole event (found: warning, gone: info).
   The first measurement is logged only. Lock held. */
static void
pmtu_events(struct membership *m, const struct entry *e, const struct pmtu_info *now)
{
	const struct pmtu_info *was = &e->p.pmtu;
	if (was->value == 0 && now->value > 0)
		log_info("pmtu", "peer %s (%s %s): path MTU %d (%s, %d probes)", e->p.id, e->p.fqdn, e->p.ip, now->value,
		    now->method, now->probes);
	if (was->value > 0 && now->value > 0 && was->value != now->value) {
		int smaller = now->value < was->value;
		MW_LOG_AT(smaller ? LOG_WARN : LOG_INFO, "pmtu", 0, "peer %s (%s %s): path MTU %d -> %d (%s, %d probes)",
		    e->p.id, e->p.fqdn, e->p.ip, was->value, now->value, now->method, now->probes);
		if (m->o.events) {
			char from[16], to[16];
			snprintf(from, sizeof from, "%d", was->value);
			snprintf(to, sizeof to, "%d", now->value);
			pmtu_event(m, e, "pmtu_change", smaller ? EVENT_WARNING : EVENT_INFO, from, to, now);
		}
	}
	if (!now->black_hole != !was->black_hole) {
		if (now->black_hole)
			log_warn("pmtu", "peer %s (%s %s): packets above %d bytes vanish without ICMP feedback (black hole)",
			    e->p.id, e->p.fqdn, e->p.ip, now->value);
		else
			log_info("pmtu", "peer %s (%s %s): the path MTU black hole is gone (path MTU %d)", e->p.id, e->p.fqdn,
			    e->p.ip, now->value);
		if (m->o.events)
			pmtu_event(m, e, "black_hole", now->black_hole ? EVENT_WARNING : EVENT_INFO,
			    was->value == 0 ? "" : was->black_hole ? "found" : "gone", now->black_hole ? "found" : "gone", now);
	}
}

void
membership_apply_poll(struct membership *m, const struct poll_outcome *o, struct poll_applied *out)
{
	struct poll_applied a;
	memset(&a, 0, sizeof a);
	a.r = o->r;
	a.pin = PIN_NONE;
	snprintf(a.id, sizeof a.id, "%s", o->id[0] == '\0' && o->answered ? o->who.id : o->id);
	pthread_mutex_lock(&m->lock);
	if (o->deferred) {
		struct entry *e = find_polled(m, o->id, o->ip, o->fqdn, o->port);
		if (e)
			e->in_flight = 0;
		goto out;
	}
	int refused = o->answered && apply_answer_locked(m, o, &a) != 0;
	if (refused) {
		/* nothing measured after the answer counts: the poll failed */
		struct poll_result *r = &a.r;
		r->ok = 0;
		r->error = PERR_AUTH;
		snprintf(r->detail, sizeof r->detail, "key changed: pinned sha256:%.16s..., presented sha256:%.16s...; "
		         "forget the node to accept the new key", a.old_pin, o->spki);
		r->udp_sent = r->udp_received = 0;
		r->rtt_min_ms = r->rtt_avg_ms = r->rtt_max_ms = r->jitter_ms = 0;
	}
	struct entry *e = find_polled(m, a.id, o->ip, o->fqdn, o->port);
	if (e == NULL)
		goto out; /* forgotten while the poll ran */
	if (o->pmtu_measured && !refused && a.id[0]) {
		pmtu_events(m, e, &o->pmtu);
		e->p.pmtu = o->pmtu;
		e->p.pmtu_due = 0;
	}
	a.excused = poll_done_locked(m, e, &a.r, o->at);
	e = a.id[0] ? find_id(m, a.id) : NULL; /* dropped, or out of quarantine */
	a.history = e != NULL && !e->p.quarantined;
out:
	pthread_mutex_unlock(&m->lock);
	a.r.excused = a.excused; /* as the table saw it: the poller's copy may be a poll old */
	if (out)
		*out = a;
}
