/* mesh: polls peers. One scheduler thread walks the peer table round-robin,
   spacing the polls evenly over the poll interval (interval / peers to
   visit, or / the budget when there are more peers than the budget, so
   the rotation goes on across intervals; it wakes at most every
   POLL_BATCH_MS and starts the polls due by then). A poll that may be
   beats (a ticket held, no exchange due) is sent by the scheduler itself
   from one socket and ends there when the acks carry the digest we knew:
   no thread hand-off, no connection. Every other poll, and a beaten one
   that must go on (no answer, news, a path MTU due), goes to a pool of
   poll workers. A worker does one poll: GET /nodeinfo over a fresh TLS
   connection (resumed session), a short UDP burst, and a path-MTU search
   when one is due. Either way, what was learned goes to the peer table in
   one message (membership_apply_poll) and the rows (the poll, a changed
   path MTU) are queued for the store. The main thread writes queued rows in
   batches (one transaction, so far fewer than one fsync per poll).
   Workers never touch SQLite; the scheduler never blocks on the network.
   The main thread also reads CPU pressure once a second (the overload
   rule): while this node is overloaded, a poll that times out is still a
   failure, but the peer's verdict is withheld (unknown) for a bounded
   time, since a starved poller cannot tell a slow peer from a slow self. */
#include "meshwatch/mesh.h"

#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <xxhash.h>

#include "meshwatch/gossip.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/meshtargets.h"
#include "meshwatch/node.h"
#include "meshwatch/pmtu.h"
#include "meshwatch/store.h"
#include "meshwatch/tlsclient.h"
#include "meshwatch/udpprobe.h"
#include "meshwatch/util.h"

/* A PMTU measurement on its way to the store. */
struct pmtu_queued {
	char peer_id[37];
	struct pmtu_row row;
};

/* One poll: the peer (a copy), and when the scheduler has beaten it
   already, what the beats found. */
struct poll_job {
	struct peer p;
	int64_t at;             /* wall clock when the poll began */
	int beaten;             /* beats were sent: us holds their figures */
	int beat_answered;      /* ... and they answered with the digest we knew */
	struct udp_stats us;
	struct poll_job *next;  /* the scheduler's hand-off list */
};

struct poll_worker {
	struct mesh *mesh;
	pthread_t thread;
	pthread_cond_t ready;    /* job set, or stopping */
	struct poll_job *job;    /* the poll to make, or NULL */
};

/* The mesh: written by the main thread (create, start, flush, stop),
   except what the lock guards, which workers, the scheduler and the
   HTTP threads share; other modules reach it through mesh.h's functions. */
struct mesh {
	struct node *node;
	struct membership *members;
	struct meshauth *auth;
	struct tls_client *client;
	struct udp_responder *udp;
	struct meshtargets *mtargets;

	pthread_t scheduler;
	struct poll_worker *workers;
	int nworkers;
	int *idle, nidle;            /* idle workers, the most recently idle last */
	int started;
	volatile int stopping;

	pthread_mutex_t lock;        /* guards the workers' jobs and the idle list, the batch and stats */
	pthread_cond_t worker_idle;  /* a worker joined the idle list */
	int wake_fd;                 /* eventfd: wakes the scheduler (a worker idle while it waits, stop) */
	int sched_waiting;           /* under lock: the scheduler waits for an idle worker */
	struct udp_beater *beater;   /* the scheduler's beats in flight (scheduler thread only) */
	struct poll_job *handoff;    /* scheduler only: beaten polls that go on over HTTPS */
	struct poll_row *batch;      /* results waiting for the store */
	int batch_n, batch_cap;
	struct pmtu_queued *pmtu_batch; /* PMTU changes waiting for the store */
	int pmtu_n, pmtu_cap;
	struct mesh_stats stats;
	uint64_t saved_incarnation;
	unsigned flushes;            /* main thread only */
	int reach_in_flight;         /* /nodeinfo/reach probes being answered (atomic) */
	int64_t reach_at;            /* under lock: the reach pacer's last refill (monotonic ms; 0 never) */
	double reach_tokens;         /* under lock: indirect probes it may answer now */
	struct mw_bucket stall_pmtu; /* under lock: PMTU searches after a TLS stall (STALL_PMTU_PER_MIN) */
	int overloaded;              /* CPU pressure above overload_cpu_pressure (atomic; main thread sets) */
	struct mesh_overload ovl;    /* under lock; the main thread writes it */
};

/* First contacts a node may make at once before first_contact_rate paces
   them (at most a minute's worth): enough for its seeds and the first
   peers it hears of. */
#define FIRST_CONTACT_BURST 10

/* Path MTU searches after a TLS stall, per minute over all peers (after a
   burst of as many): a search sends up to the link's MTU (64 KiB on
   loopback) a dozen times, and on a machine too busy to finish handshakes
   in time, every stalled poll asking for one made it busier still (200
   nodes on two cores: half the bytes on the wire were PMTU probes). Not
   when the poll's small beats went unanswered too: then nothing small
   passes either, which is not what a shrunken path looks like. */
#define STALL_PMTU_PER_MIN 6

/* Bursts of beats the scheduler may have in flight at once; past that, a
   poll's beats go out from a worker. A burst lasts until the turn after
   its acks came (at most BEAT_TIMEOUT_MS plus a turn): 256 is several
   hundred polls per second. */
#define MESH_BEATS_IN_FLIGHT 256

/* The scheduler wakes at most once per this many ms to start the polls
   that are due (a poll may start up to this late; each still comes once
   per interval): at 25 polls/s a wake-up starts about six. */
#define POLL_BATCH_MS 250

static void save_peers(struct mesh *m);

static void
self_news(const struct mesh *m, uint64_t incarnation, struct peer_news *out)
{
	const struct node *n = m->node;
	memset(out, 0, sizeof *out);
	snprintf(out->id, sizeof out->id, "%s", n->id);
	snprintf(out->fqdn, sizeof out->fqdn, "%s", n->fqdn);
	snprintf(out->ip, sizeof out->ip, "%.63s", n->ip);
	out->port = n->cfg.listen_port;
	out->incarnation = incarnation;
}

void
mesh_self(struct mesh *m, struct peer_news *out)
{
	self_news(m, membership_incarnation(m->members), out);
}

/* A stored peer as the table's copy: what the store keeps, no more. */
static void
peer_from_row(struct peer *p, const struct store_peer_row *r)
{
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "%s", r->id);
	snprintf(p->fqdn, sizeof p->fqdn, "%s", r->fqdn);
	snprintf(p->ip, sizeof p->ip, "%s", r->ip);
	p->port = r->port;
	p->state = r->state;
	p->incarnation = r->incarnation;
	p->first_seen = r->first_seen;
	p->last_seen = r->last_seen;
	snprintf(p->pin, sizeof p->pin, "%s", r->pin);
	p->pinned_at = r->pinned_at;
}

static void
row_from_peer(struct store_peer_row *r, const struct peer *p)
{
	memset(r, 0, sizeof *r);
	snprintf(r->id, sizeof r->id, "%s", p->id);
	snprintf(r->fqdn, sizeof r->fqdn, "%s", p->fqdn);
	snprintf(r->ip, sizeof r->ip, "%s", p->ip);
	r->port = p->port;
	r->state = p->state;
	r->incarnation = p->incarnation;
	r->first_seen = p->first_seen;
	r->last_seen = p->last_seen;
	snprintf(r->pin, sizeof r->pin, "%s", p->pin);
	r->pinned_at = p->pinned_at;
}

/* One remembered peer back into the table, with its last PMTU and the
   last day's success counts. 0, or MW_E* when it was not taken. */
static int
restore_peer(struct mesh *m, const struct store_peer_row *row, int64_t now)
{
	struct store *st = m->node->store;
	struct peer p;
	peer_from_row(&p, row);
	struct pmtu_row *pr = NULL;
	int npr = 0;
	if (store_pmtu_list(st, p.id, 1, &pr, &npr) == 0 && npr == 1) {
		p.pmtu.value = pr[0].value;
		snprintf(p.pmtu.method, sizeof p.pmtu.method, "%s", pr[0].method);
		p.pmtu.probes = pr[0].probes;
		p.pmtu.black_hole = pr[0].black_hole;
		p.pmtu.measured_at = pr[0].measured_at;
	}
	free(pr);
	struct store_bucket *sb = NULL;
	int nb = 0;
	store_poll_buckets(st, p.id, now - 86400, &sb, &nb);
	struct bucket_count *bc = calloc((size_t)(nb > 0 ? nb : 1), sizeof *bc);
	int rc = MW_ENOMEM;
	if (bc) {
		for (int i = 0; i < nb; i++)
			bc[i] = (struct bucket_count){.t = sb[i].t, .n = sb[i].n, .ok = sb[i].ok};
		rc = membership_restore(m->members, &p, bc, nb);
	}
	free(bc);
	free(sb);
	return rc;
}

static void
load_peers(struct mesh *m)
{
	struct store_peer_row *saved = NULL;
	int ns = 0, kept = 0;
	if (store_peers_load(m->node->store, &saved, &ns) != 0)
		return;
	int64_t now = mw_wall_s();
	for (int i = 0; i < ns; i++) {
		struct peer_news x = {0};
		snprintf(x.id, sizeof x.id, "%s", saved[i].id);
		snprintf(x.fqdn, sizeof x.fqdn, "%s", saved[i].fqdn);
		snprintf(x.ip, sizeof x.ip, "%s", saved[i].ip);
		x.port = saved[i].port;
		if (gossip_check_identity(&x, 0) != NULL)
			continue;
		if (restore_peer(m, &saved[i], now) == 0)
			kept++;
	}
	if (ns > 0)
		log_info("mesh", "%d peers remembered from the last run", kept);
	free(saved);
}

struct mesh *
mesh_create(struct node *n, char *err, size_t errlen)
{
	const struct config *c = &n->cfg;
	struct mesh *m = calloc(1, sizeof *m);
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->node = n;
	pthread_mutex_init(&m->lock, NULL);
	mw_bucket_init(&m->stall_pmtu, STALL_PMTU_PER_MIN / 60.0, STALL_PMTU_PER_MIN);
	pthread_cond_init(&m->worker_idle, NULL);
	m->wake_fd = -1;
	struct membership_opts mo = {
		.self_id = n->id,
		.max_peers = c->max_peers,
		.suspect_after = c->suspect_after,
		.dead_after = c->dead_after,
		.forget_after_s = c->forget_after_s,
		.pmtu_interval_s = c->pmtu_interval_s,
		/* by default as long as dead_after polls would take */
		.excuse_max_s = c->overload_excuse_max_s > 0 ? c->overload_excuse_max_s : c->dead_after * c->poll_interval_s,
		.max_quarantined = c->max_quarantined,
		.new_per_source = c->new_peers_per_source,
		.quarantine_tries = c->quarantine_tries,
		.poll_interval_s = c->poll_interval_s,
		.events = n->events,
	};
	m->ovl.threshold = c->overload_cpu_pressure;
	m->ovl.excuse_max_s = mo.excuse_max_s;
	m->ovl.pressure = -1;
	const char *forced = getenv("MESHWATCH_CPU_PRESSURE_FILE"); /* tests, and hosts where detection guesses wrong */
	if (c->overload_cpu_pressure <= 0) {
		snprintf(m->ovl.why, sizeof m->ovl.why, "overload_cpu_pressure is 0");
	} else if (forced && forced[0]) {
		errno = 0;
		if (mesh_read_pressure(forced) < 0) {
			snprintf(m->ovl.why, sizeof m->ovl.why, "cannot read %.150s (MESHWATCH_CPU_PRESSURE_FILE): %s", forced,
			    strerror(errno ? errno : EINVAL));
		} else {
			m->ovl.source = OVL_FILE;
			snprintf(m->ovl.path, sizeof m->ovl.path, "%s", forced);
			snprintf(m->ovl.why, sizeof m->ovl.why, "CPU pressure from %.150s (MESHWATCH_CPU_PRESSURE_FILE)", forced);
		}
	} else {
		m->ovl.source = mesh_overload_source("", getenv("container"), m->ovl.path, sizeof m->ovl.path, m->ovl.why,
		    sizeof m->ovl.why);
	}
	if (m->ovl.source != OVL_NONE)
		log_info("mesh", "overload rule on: %s; at %d %% a peer whose polls time out is shown unknown for up to %d s",
		    m->ovl.why, c->overload_cpu_pressure, mo.excuse_max_s);
	else if (c->overload_cpu_pressure > 0)
		log_warn("mesh", "overload rule off: %s", m->ovl.why);
	else
		log_info("mesh", "overload rule off: %s", m->ovl.why);
	m->members = membership_create(&mo);
	if (m->members)
		membership_set_self(m->members, n->fqdn, n->ip, c->listen_port);
	m->auth = meshauth_create(c->mesh_secret, 16384);
	if (m->members && m->auth)
		m->mtargets = meshtargets_create(n, m->members, m->auth);
	m->client = tlsclient_create(c->max_peers < 8192 ? c->max_peers + 16 : 8192, err, errlen);
	if (m->client) {
		tlsclient_set_source(m->client, c->listen_addr);
		tlsclient_limit_full_handshakes(m->client, c->first_contacts);
		tlsclient_pace_first_contacts(m->client, c->first_contact_rate,
		    c->first_contact_rate < FIRST_CONTACT_BURST ? c->first_contact_rate : FIRST_CONTACT_BURST);
	}
	if (m->members == NULL || m->auth == NULL || m->client == NULL || m->mtargets == NULL) {
		if (!err[0])
			snprintf(err, errlen, "out of memory");
		mesh_destroy(m);
		return NULL;
	}
	/* A restart is a new incarnation: its news beats what peers remember. */
	char buf[32];
	uint64_t inc = 0;
	if (store_meta_get(n->store, "incarnation", buf, sizeof buf) == 0)
		inc = strtoull(buf, NULL, 10);
	inc++;
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)inc);
	if (store_meta_set(n->store, "incarnation", buf) != 0)
		log_warn("db", "could not save incarnation %llu: the next start may reuse it", (unsigned long long)inc);
	membership_set_incarnation(m->members, inc);
	m->saved_incarnation = inc;

	load_peers(m);
	if (c->seed_file[0]) {
		struct seed_entry *seeds = NULL;
		char e2[512];
		int k = config_load_seeds(c->seed_file, (size_t)c->max_peers, &seeds, e2, sizeof e2);
		if (k < 0) {
			snprintf(err, errlen, "%s", e2);
			mesh_destroy(m);
			return NULL;
		}
		/* a seed naming this very node is skipped */
		int kept = 0;
		for (int i = 0; i < k; i++)
			if (!(seeds[i].ip[0] && strcmp(seeds[i].ip, n->ip) == 0 &&
			        (seeds[i].port ? seeds[i].port : c->listen_port) == c->listen_port))
				seeds[kept++] = seeds[i];
		int added = membership_add_seeds(m->members, seeds, kept, c->listen_port);
		log_info("mesh", "%d seeds from %s", added, c->seed_file);
		free(seeds);
	}
	return m;
}

/* A poll's row for the store; m->lock held. */
static void
queue_row_locked(struct mesh *m, const char *id, const struct poll_result *r)
{
	if (m->batch_n == m->batch_cap) {
		if (m->batch_cap >= MESH_BATCH_MAX) {
			/* the store is not keeping up: drop the oldest, count it */
			memmove(m->batch, m->batch + 1, (size_t)(m->batch_n - 1) * sizeof *m->batch);
			m->batch_n--;
			m->stats.rows_dropped++;
		} else {
			int ncap = m->batch_cap ? m->batch_cap * 2 : 256;
			struct poll_row *nb = realloc(m->batch, (size_t)ncap * sizeof *nb);
			if (nb == NULL) {
				m->stats.rows_dropped++;
				return;
			}
			m->batch = nb;
			m->batch_cap = ncap;
		}
	}
	struct poll_row *row = &m->batch[m->batch_n++];
	memset(row, 0, sizeof *row);
	snprintf(row->peer_id, sizeof row->peer_id, "%s", id);
	row->ts = r->at;
	row->ok = r->ok;
	snprintf(row->error, sizeof row->error, "%s", poll_error_name(r->error));
	row->connect_ms = r->connect_ms;
	row->tls_ms = r->tls_ms;
	row->ttfb_ms = r->ttfb_ms;
	row->total_ms = r->total_ms;
	row->rtt_avg_ms = r->udp_sent ? (r->udp_received ? r->rtt_avg_ms : -1) : -1;
	row->jitter_ms = r->udp_received > 1 ? r->jitter_ms : -1;
	row->loss = r->udp_sent ? 1.0 - (double)r->udp_received / r->udp_sent : -1;
	row->excused = r->excused;
	if (r->ok)
		m->stats.polls_ok++;
	else
		m->stats.polls_failed++;
	if (r->beat)
		m->stats.polls_beat++;
	if (r->excused)
		m->stats.polls_excused++;
	if (r->total_ms > 0)
		hist_observe(&m->stats.poll_s, r->total_ms / 1000.0);
	const double phase_ms[MESH_POLL_PHASES] = {r->connect_ms, r->tls_ms, r->ttfb_ms, r->total_ms};
	for (int i = 0; i < MESH_POLL_PHASES; i++)
		if (phase_ms[i] >= 0)
			hist_observe(&m->stats.phase_s[i], phase_ms[i] / 1000.0);
}

/* A changed path MTU for the store; m->lock held. Past MESH_PMTU_QUEUE_MAX
   waiting, the newest is left out. */
static void
queue_pmtu_locked(struct mesh *m, const char *id, const struct pmtu_info *pi)
{
	if (m->pmtu_n == m->pmtu_cap && m->pmtu_cap < MESH_PMTU_QUEUE_MAX) {
		int ncap = m->pmtu_cap ? m->pmtu_cap * 2 : 16;
		struct pmtu_queued *nq = realloc(m->pmtu_batch, (size_t)ncap * sizeof *nq);
		if (nq) {
			m->pmtu_batch = nq;
			m->pmtu_cap = ncap;
		}
	}
	if (m->pmtu_n < m->pmtu_cap) {
		struct pmtu_queued *q = &m->pmtu_batch[m->pmtu_n++];
		memset(q, 0, sizeof *q);
		snprintf(q->peer_id, sizeof q->peer_id, "%s", id);
		q->row.measured_at = pi->measured_at;
		q->row.value = pi->value;
		q->row.probes = pi->probes;
		q->row.black_hole = pi->black_hole;
		snprintf(q->row.method, sizeof q->row.method, "%s", pi->method);
	}
}

/* What a poll leaves for the main thread, under one hold of m->lock: its
   history row (a node not in quarantine), a changed path MTU (NULL:
   none), and the count of gossip entries dropped. Workers never touch
   SQLite. */
static void
queue_results(struct mesh *m, const struct poll_applied *a, const struct pmtu_info *pmtu, int dropped)
{
	pthread_mutex_lock(&m->lock);
	m->stats.gossip_entries_dropped += (uint64_t)dropped;
	if (pmtu)
		queue_pmtu_locked(m, a->id, pmtu);
	if (a->history)
		queue_row_locked(m, a->id, &a->r);
	pthread_mutex_unlock(&m->lock);
}

/* Measures the path MTU to p at ip into o (nothing when there is no
   result). Returns 1 when it changed (a row for the store), else 0; the
   table logs the change and makes it an event (membership_apply_poll). */
static int
measure_pmtu(const struct peer *p, const char *ip, struct poll_outcome *o)
{
	struct pmtu_opts po = {.timeout_ms = 250, .tries = 3};
	struct pmtu_result pr;
	int rc = pmtu_discover(ip, p->port, &po, &pr);
	if (rc != 0) {
		log_debug("pmtu", "peer %s (%s): no PMTU result: %s", p->id, ip, mw_strerror(rc));
		return 0;
	}
	struct pmtu_info *pi = &o->pmtu;
	*pi = (struct pmtu_info){.value = pr.value, .probes = pr.probes, .black_hole = pr.black_hole,
		.measured_at = mw_wall_s()};
	snprintf(pi->method, sizeof pi->method, "%s", pr.method);
	o->pmtu_measured = 1;
	return p->pmtu.value != pi->value || p->pmtu.black_hole != pi->black_hole;
}

/* How long a burst of beats waits for its acks. */
#define BEAT_TIMEOUT_MS 200

/* How long beats are answered after the main thread last said this node
   is healthy (it says so every second, from mesh_flush): a node whose main
   loop is stuck stops acking, and its pollers fall back to HTTPS. */
#define BEAT_HEALTH_MS 5000

uint64_t
mesh_beat_digest(struct mesh *m)
{
	char view[17];
	membership_view_digest(m->members, view);
	uint64_t parts[2] = {strtoull(view, NULL, 16), meshtargets_own_digest(m->mtargets)};
	return XXH3_64bits(parts, sizeof parts);
}

void
mesh_beat_issue(struct mesh *m, cJSON *o)
{
	if (m->udp == NULL || o == NULL)
		return;
	uint8_t ticket[UDPP_TICKET_LEN], key[UDPP_KEY_LEN];
	udp_responder_ticket(m->udp, ticket, key);
	/* the responder acks with this digest from now on (only the main
	   loop renews its health) */
	uint64_t digest = mesh_beat_digest(m);
	udp_responder_set_beat(m->udp, digest, -1);
	char t[2 * UDPP_TICKET_LEN + 1], k[2 * UDPP_KEY_LEN + 1], d[17];
	mw_hex(ticket, sizeof ticket, t);
	mw_hex(key, sizeof key, k);
	snprintf(d, sizeof d, "%016llx", (unsigned long long)digest);
	cJSON *b = cJSON_AddObjectToObject(o, "beat");
	cJSON_AddStringToObject(b, "ticket", t);
	cJSON_AddStringToObject(b, "key", k);
	cJSON_AddStringToObject(b, "digest", d);
}

/* Copies a UDP measurement into the poll's result. */
static void
take_udp(struct poll_result *r, const struct udp_stats *us)
{
	r->udp_sent = us->sent;
	r->udp_received = us->received;
	r->rtt_min_ms = us->rtt_min_ms;
	r->rtt_avg_ms = us->rtt_avg_ms;
	r->rtt_max_ms = us->rtt_max_ms;
	r->jitter_ms = us->jitter_ms;
}

/* Beats (see mesh.h): between HTTPS exchanges, a poll of a peer whose
   ticket we hold is a burst of beats. Answered, with the digest the
   peer's last exchange gave, it stands for the poll: liveness, RTT,
   jitter and loss measured, nothing new to fetch. Otherwise (no answer,
   another digest, an exchange due) the poll goes on over HTTPS, keeping
   the UDP figures. Returns 1 when the beats answered the poll, with *us
   filled whenever beats were sent (*sent 1). */
/* Whether this poll of p may be beats (a ticket held, no exchange due). */
static int
beat_due(struct mesh *m, const struct peer *p)
{
	const struct config *c = &m->node->cfg;
	return p->beat_ok && p->id[0] != '\0' && !p->quarantined && p->state == PEER_ALIVE && c->udp_probes > 0 &&
	       p->beats + 1 < c->exchange_every && !meshtargets_wants_results(m->mtargets, p->id);
}

/* Counts what a burst of beats found; returns whether they answered the
   poll (answered with the digest p's last exchange gave). */
static int
beat_verdict(struct mesh *m, const struct peer *p, const struct udp_stats *us, uint64_t digest)
{
	int answered = us->received > 0;
	pthread_mutex_lock(&m->lock);
	if (!answered)
		m->stats.beats_lost++;
	else if (digest != p->beat_digest)
		m->stats.beats_stale++;
	pthread_mutex_unlock(&m->lock);
	return answered && digest == p->beat_digest;
}

static void
beat_key_of(const struct peer *p, struct udpp_beat_key *k)
{
	memcpy(k->ticket, p->beat_ticket, sizeof k->ticket);
	memcpy(k->key, p->beat_key, sizeof k->key);
}

/* Beats on the worker's thread (when the scheduler could not send them). */
static int
beat_poll(struct mesh *m, const struct peer *p, const char *ip, struct udp_stats *us, int *sent)
{
	const struct config *c = &m->node->cfg;
	*sent = 0;
	if (!beat_due(m, p))
		return 0;
	struct udpp_beat_key k;
	beat_key_of(p, &k);
	uint64_t digest = p->beat_digest;
	if (udpprobe_beat(ip, p->port, c->udp_probes, c->udp_probe_spacing_ms, BEAT_TIMEOUT_MS, &k, us, &digest) != 0)
		return 0;
	*sent = 1;
	return beat_verdict(m, p, us, digest);
}

/* SWIM's indirect probe: before a failed poll makes p dead, ask up to
   indirect_probes other alive nodes (chosen at random) whether they reach
   it. Each answers from a connect of its own (GET /nodeinfo/reach). */
static void
indirect_probe(struct mesh *m, const struct peer *p, struct poll_result *r)
{
	const struct config *c = &m->node->cfg;
	int n = 0, k = 0;
	struct peer *all = membership_snapshot(m->members, &n);
	if (all == NULL)
		return;
	/* candidates: alive, identified, not p; a partial Fisher-Yates shuffle */
	for (int i = 0; i < n; i++)
		if (all[i].id[0] && all[i].state == PEER_ALIVE && strcmp(all[i].id, p->id) != 0)
			all[k++] = all[i];
	int want = k < c->indirect_probes ? k : c->indirect_probes;
	int timeout = c->poll_timeout_ms < 3000 ? c->poll_timeout_ms : 3000;
	for (int i = 0; i < want && !m->stopping; i++) {
		uint32_t rnd = 0;
		mw_random(&rnd, sizeof rnd);
		int j = i + (int)(rnd % (uint32_t)(k - i));
		struct peer v = all[j];
		all[j] = all[i];
		char path[128], hdrs[512], sig[256], nonce[MESHAUTH_NONCE_LEN + 1];
		snprintf(path, sizeof path, "/nodeinfo/reach?id=%s", p->id);
		/* who asks: the asked node answers alive members only */
		snprintf(hdrs, sizeof hdrs, "X-Mw-Id: %s\r\n", m->node->id);
		meshauth_sign_request(m->auth, "GET", path, "", v.id, "", 0, mw_wall_s(), sig, sizeof sig, nonce);
		strncat(hdrs, sig, sizeof hdrs - strlen(hdrs) - 1);
		struct https_result hr = {0};
		/* the vantage point needs up to its own timeout, plus our round trip */
		int rc = tlsclient_request(m->client, v.ip, v.port, "GET", path, hdrs, NULL, 0, 4096, timeout + 1000, &hr);
		cJSON *o = rc == 0 && hr.status == 200 ? cJSON_ParseWithLength(hr.body, hr.body_len) : NULL;
		const cJSON *reached = cJSON_GetObjectItemCaseSensitive(o, "reached");
		if (cJSON_IsBool(reached) &&
		    (!meshauth_enabled(m->auth) ||
		        meshauth_verify_response(m->auth, nonce, hr.status, hr.body, hr.body_len, hr.sig) == 0)) {
			r->vantage_asked++;
			if (cJSON_IsTrue(reached))
				r->vantage_reached++;
			else if (r->vantage_agreed_n < MEMBERSHIP_VANTAGE_MAX)
				snprintf(r->vantage_agreed[r->vantage_agreed_n++], sizeof r->vantage_agreed[0], "%s", v.id);
		}
		cJSON_Delete(o);
		https_result_free(&hr);
	}
	free(all);
	if (want > 0)
		log_info("mesh", "peer %s (%s) fails from here: %d of %d other nodes asked reach it", p->id, p->fqdn,
		    r->vantage_reached, r->vantage_asked);
}

static int
reach_peer(struct mesh *m, const char *id, int timeout_ms, struct https_result *hr)
{
	struct peer p;
	if (membership_get(m->members, id, &p) != 0 || p.quarantined)
		return MW_ENOTFOUND; /* never contacted on another node's behalf */
	int rc = tlsclient_request(m->client, p.ip, p.port, "GET", "/health", "", NULL, 0, 65536, timeout_ms, hr);
	if (rc != 0 || hr->status <= 0)
		return 0;
	/* any HTTP answer (503 included) means a node is there, but it must be
	   this one: a new node on a dead one's address would vouch for a ghost */
	cJSON *o = cJSON_ParseWithLength(hr->body, hr->body_len);
	const cJSON *nid = cJSON_GetObjectItemCaseSensitive(o, "node_id");
	int same = cJSON_IsString(nid) && strcmp(nid->valuestring, id) == 0;
	if (!same)
		snprintf(hr->detail, sizeof hr->detail, "%s:%d answers as node %.36s", p.ip, p.port,
		    cJSON_IsString(nid) ? nid->valuestring : "(none)");
	cJSON_Delete(o);
	return same;
}

int
mesh_reach(struct mesh *m, const char *id, int timeout_ms, struct https_result *hr)
{
	if (__atomic_add_fetch(&m->reach_in_flight, 1, __ATOMIC_RELAXED) > MESH_REACH_MAX_IN_FLIGHT) {
		__atomic_sub_fetch(&m->reach_in_flight, 1, __ATOMIC_RELAXED);
		return MW_ELIMIT;
	}
	int rc = reach_peer(m, id, timeout_ms, hr);
	__atomic_sub_fetch(&m->reach_in_flight, 1, __ATOMIC_RELAXED);
	return rc;
}

int
mesh_reach_pace(struct mesh *m, int per_min)
{
	int64_t now = mw_now_ms();
	double burst = per_min < 10 ? per_min : 10;
	pthread_mutex_lock(&m->lock);
	if (m->reach_at == 0)
		m->reach_tokens = burst;
	else
		m->reach_tokens += (double)(now - m->reach_at) * per_min / 60000.0;
	if (m->reach_tokens > burst)
		m->reach_tokens = burst;
	m->reach_at = now;
	int wait = 0;
	if (m->reach_tokens >= 1)
		m->reach_tokens -= 1;
	else
		wait = (int)((1 - m->reach_tokens) * 60.0 / per_min) + 1;
	pthread_mutex_unlock(&m->lock);
	return wait;
}

/* The node id answering at ip:port, from its public GET /health (for a
   seed not reached yet). 0, or MW_E* with the failure in r. */
static int
learn_id(struct mesh *m, const char *ip, int port, char id[37], struct poll_result *r)
{
	struct https_result hr = {0};
	int rc = tlsclient_request(m->client, ip, port, "GET", "/health", "", NULL, 0, 65536,
	    m->node->cfg.poll_timeout_ms, &hr);
	if (rc != 0) {
		r->error = hr.error;
		snprintf(r->detail, sizeof r->detail, "%s", hr.detail);
		https_result_free(&hr);
		return rc;
	}
	cJSON *o = cJSON_ParseWithLength(hr.body, hr.body_len);
	const cJSON *nid = cJSON_GetObjectItemCaseSensitive(o, "node_id");
	rc = cJSON_IsString(nid) && membership_valid_id(nid->valuestring) ? 0 : MW_EINVAL;
	if (rc == 0) {
		snprintf(id, 37, "%s", nid->valuestring);
	} else {
		r->error = PERR_BODY;
		snprintf(r->detail, sizeof r->detail, "GET /health (HTTP %d) names no node id", hr.status);
	}
	cJSON_Delete(o);
	https_result_free(&hr);
	return rc;
}

/* Whether the table will refuse the key node id presented (hash spki):
   another key than its pin, and no mesh signature to prove the change.
   membership_apply_poll decides; this spares a poll it will refuse the
   UDP burst and the PMTU search. The pin comes from the copy p when id
   is the node polled, else from the table. */
static int
pin_refused(struct mesh *m, const struct peer *p, const char *polled_id, const char *id, const char *spki,
    int signed_ok)
{
	if (signed_ok || spki[0] == '\0')
		return 0;
	struct peer cur;
	const char *pin = p->pin;
	if (strcmp(polled_id, id) != 0) {
		if (membership_get(m->members, id, &cur) != 0)
			return 0; /* a first contact: its key is pinned now */
		pin = cur.pin;
	}
	return pin[0] && strcmp(pin, spki) != 0;
}

/* Logs what the table made of an answer: the key pinned or refused, the
   address taken from the peer polled, a suspicion about us refuted. */
static void
log_answer(const struct poll_outcome *o, const struct poll_applied *a, const char *ip, const struct peer *p)
{
	const struct peer_news *who = &o->who;
	if (a->pin == PIN_NEW)
		log_info("mesh", "peer %s (%s:%d): key pinned sha256:%s", who->id, ip, o->port, o->spki);
	else if (a->pin == PIN_REPLACED)
		log_info("mesh", "peer %s (%s:%d): key changed from sha256:%s to sha256:%s, proven with the mesh secret: "
		                 "pin updated", who->id, ip, o->port, a->old_pin, o->spki);
	else if (a->pin == PIN_CHANGED && a->pin_first)
		log_warn("mesh", "peer %s (%s:%d): key changed: pinned sha256:%s, presented sha256:%s; refused (forget the "
		                 "node to accept the new key)", who->id, ip, o->port, a->old_pin, o->spki);
	if (a->address_taken)
		log_warn("mesh", "peer %s (%s) is gone: its address %s:%d now belongs to node %s (%s)", o->id, p->fqdn, o->ip,
		    o->port, who->id, who->fqdn);
	if (a->incarnation > 0)
		log_info("mesh", "peer %s thinks this node is suspect or dead: incarnation now %llu", who->id,
		    (unsigned long long)a->incarnation);
}


static int
stall_pmtu_ok(struct mesh *m)
{
	pthread_mutex_lock(&m->lock);
	int ok = mw_bucket_take(&m->stall_pmtu);
	pthread_mutex_unlock(&m->lock);
	return ok;
}

/* A poll's outcome, nothing measured yet; id is the peer's id as scheduled. */
static void
outcome_init(struct poll_outcome *o, const struct poll_job *job, const char *id)
{
	memset(o, 0, sizeof *o);
	o->id = id;
	o->ip = job->p.ip;
	o->fqdn = job->p.fqdn;
	o->port = job->p.port;
	struct poll_result *r = &o->r;
	r->connect_ms = r->tls_ms = r->ttfb_ms = r->total_ms = -1;
	r->at = job->at;
}

/* One poll of peer p (a copy); runs on a worker thread. What it learns
   goes to the peer table in one message at the end
   (membership_apply_poll), and its rows to the store's queue. */
static void
poll_peer(struct mesh *m, struct poll_job *job)
{
	struct peer *p = &job->p;
	struct node *n = m->node;
	const struct config *c = &n->cfg;
	char polled_id[37]; /* p->id as scheduled; a seed's copy learns its id below */
	snprintf(polled_id, sizeof polled_id, "%s", p->id);
	struct poll_outcome o;
	outcome_init(&o, job, polled_id);
	struct poll_result *r = &o.r;
	char ip[64];
	snprintf(ip, sizeof ip, "%s", p->ip);
	struct https_result hr = {0};
	struct peer_news who, *list = NULL;
	int nlist = 0, dropped = 0, refused = 0, pmtu_changed = 0;
	struct udp_stats beat_us = {0};
	int beat_sent = 0;

	if (ip[0] == '\0' && mw_resolve(p->fqdn, ip, sizeof ip) != 0) {
		r->error = PERR_DNS;
		snprintf(r->detail, sizeof r->detail, "cannot resolve %.100s", p->fqdn);
		goto done;
	}
	int beat_answered;
	if (job->beaten) {
		beat_us = job->us;
		beat_sent = 1;
		beat_answered = job->beat_answered;
	} else {
		beat_answered = beat_poll(m, p, ip, &beat_us, &beat_sent);
	}
	if (beat_answered) {
		r->ok = 1;
		r->beat = 1;
		take_udp(r, &beat_us);
		if (p->pmtu_due || p->pmtu.value == 0)
			pmtu_changed = measure_pmtu(p, ip, &o);
		goto done;
	}
	/* A seed's first contact is never paced: seeds are what join this
	   node's part of the mesh to the rest. Paced behind the peers gossip
	   had already named (gossip also gives a seed its id before we reach
	   it), a seed waited its turn for up to ten intervals, and two such
	   seeds left the 50-node ring split in two halves that did not know
	   each other for that long. */
	if (!p->seeded && !tlsclient_first_contact_ok(m->client, ip, p->port)) {
		/* not met yet and this minute's first contacts are spent: the
		   next round comes back to it; gossip keeps its state meanwhile */
		o.deferred = 1;
		membership_apply_poll(m->members, &o, NULL);
		return;
	}
	/* A signed request names the node it is for. A seed not reached yet
	   has no id here: its public GET /health says which node answers at
	   that address, and the request is signed for that node (one that
	   lies about its id fails the signature check there). */
	char dest[37];
	snprintf(dest, sizeof dest, "%s", p->id);
	if (dest[0] == '\0' && meshauth_enabled(m->auth) && learn_id(m, ip, p->port, dest, r) != 0)
		goto done;
	/* What we have of its list: it answers with only what is new to us,
	   or nothing when our view is already its view. */
	uint64_t inc;
	char view[17];
	membership_poll_view(m->members, &inc, view);
	struct peer_news self;
	self_news(m, inc, &self);
	char ident[512], hdrs[1536], sig[256], nonce[MESHAUTH_NONCE_LEN + 1];
	gossip_identity_string(&self, ident, sizeof ident);
	gossip_identity_headers(&self, hdrs, sizeof hdrs);
	meshauth_sign_request(m->auth, "GET", "/nodeinfo", ident, dest, "", 0, r->at, sig, sizeof sig, nonce);
	strncat(hdrs, sig, sizeof hdrs - strlen(hdrs) - 1);
	char dh[160];
	int dl = snprintf(dh, sizeof dh, "X-Mw-View-Digest: %s\r\n", view);
	if (p->id[0] && p->list_digest[0])
		dl += snprintf(dh + dl, sizeof dh - (size_t)dl, "X-Mw-Peers-Digest: %s\r\n", p->list_digest);
	if (p->id[0] && p->list_cursor[0])
		snprintf(dh + dl, sizeof dh - (size_t)dl, "X-Mw-Peers-Since: %s\r\n", p->list_cursor);
	strncat(hdrs, dh, sizeof hdrs - strlen(hdrs) - 1);
	meshtargets_poll_header(m->mtargets, p->id, dh, sizeof dh);
	strncat(hdrs, dh, sizeof hdrs - strlen(hdrs) - 1);
	if (c->udp_probes > 0 && c->exchange_every > 1)
		strncat(hdrs, "X-Mw-Beat: 1\r\n", sizeof hdrs - strlen(hdrs) - 1);

	int rc = tlsclient_request(m->client, ip, p->port, "GET", "/nodeinfo", hdrs, NULL, 0,
	    (size_t)c->max_nodeinfo_bytes, c->poll_timeout_ms, &hr);
	r->connect_ms = hr.connect_ms;
	r->tls_ms = hr.tls_ms;
	r->ttfb_ms = hr.ttfb_ms;
	r->total_ms = hr.total_ms;
	if (rc != 0) {
		r->error = hr.error;
		snprintf(r->detail, sizeof r->detail, "%s", hr.detail);
		goto done;
	}
	if (meshauth_enabled(m->auth) &&
	    meshauth_verify_response(m->auth, nonce, hr.status, hr.body, hr.body_len, hr.sig) != 0) {
		r->error = PERR_AUTH;
		snprintf(r->detail, sizeof r->detail, "answer not signed with the mesh secret (HTTP %d)", hr.status);
		goto done;
	}
	if (hr.status != 200) {
		r->error = PERR_HTTP;
		snprintf(r->detail, sizeof r->detail, "HTTP %d", hr.status);
		goto done;
	}
	char why[160];
	struct gossip_meta gm;
	if (gossip_parse_nodeinfo(hr.body, hr.body_len, c->max_peers, &who, &list, &nlist, &dropped, &gm, why,
	        sizeof why) != 0) {
		r->error = PERR_BODY;
		snprintf(r->detail, sizeof r->detail, "%.120s", why);
		goto done;
	}
	if (strcmp(who.id, n->id) == 0) {
		r->error = PERR_SELF;
		snprintf(r->detail, sizeof r->detail, "%s:%d answers as this node", ip, p->port);
		goto done;
	}
	if (p->id[0] && strcmp(who.id, p->id) != 0) {
		r->error = PERR_BODY;
		snprintf(r->detail, sizeof r->detail, "%s:%d now answers as node %.36s", ip, p->port, who.id);
		/* it is a node all the same: learn it first-hand, but this poll failed */
		o.taken = 1;
	}
	/* First-hand: the address we reached is the one to keep (a node now
	   answering at another's address is taken as it describes itself). */
	o.answered = 1;
	o.who = who;
	if (!o.taken) {
		snprintf(o.who.ip, sizeof o.who.ip, "%s", ip);
		o.who.port = p->port;
		if (p->id[0] == '\0' && p->fqdn[0] && who.fqdn[0] == '\0')
			snprintf(o.who.fqdn, sizeof o.who.fqdn, "%s", p->fqdn);
	}
	o.spki = hr.spki_sha256;
	o.signed_ok = meshauth_enabled(m->auth); /* its answer is signed already when signing is on */
	o.list = list;
	o.nlist = nlist;
	snprintf(o.list_digest, sizeof o.list_digest, "%s", gm.digest);
	snprintf(o.list_cursor, sizeof o.list_cursor, "%s", gm.cursor);
	o.answered_at = mw_wall_s();
	if (gm.beat) {
		memcpy(o.beat_ticket, gm.beat_ticket, sizeof o.beat_ticket);
		memcpy(o.beat_key, gm.beat_key, sizeof o.beat_key);
		o.beat_digest = gm.beat_digest;
		o.beat_issued = 1;
	}
	if (p->id[0] == '\0')
		snprintf(p->id, sizeof p->id, "%s", who.id);
	if (dropped > 0)
		log_warn("mesh", "peer %s (%s) sent %d invalid or surplus peer entries: dropped", who.id, ip, dropped);
	if (r->error != 0)
		goto done;
	r->ok = 1; /* unless the table refuses its key: it must be the one pinned for that node */
	refused = pin_refused(m, p, polled_id, who.id, o.spki, o.signed_ok);
	if (refused)
		goto done;
	/* its mesh targets and its results for ours (signed answers only) */
	meshtargets_answer(m->mtargets, who.id, who.fqdn, hr.body, hr.body_len);

	/* RTT, jitter and loss: the beats of this poll when they were sent,
	   else beats under the ticket just issued (an older node: plain
	   probes) */
	if (beat_sent) {
		take_udp(r, &beat_us);
	} else if (c->udp_probes > 0) {
		struct udp_stats us;
		struct udpp_beat_key k;
		memcpy(k.ticket, o.beat_ticket, sizeof k.ticket);
		memcpy(k.key, o.beat_key, sizeof k.key);
		uint64_t digest = o.beat_digest;
		int rc2 = o.beat_issued ? udpprobe_beat(ip, p->port, c->udp_probes, c->udp_probe_spacing_ms, BEAT_TIMEOUT_MS, &k,
		                                        &us, &digest)
		                        : udpprobe_burst(ip, p->port, c->udp_probes, c->udp_probe_spacing_ms, BEAT_TIMEOUT_MS, &us);
		if (rc2 == 0)
			take_udp(r, &us);
	}
	if (p->pmtu_due || p->pmtu.value == 0)
		pmtu_changed = measure_pmtu(p, ip, &o);
done:
	/* TCP connected but TLS stalled: the classic sign of a path MTU that
	   shrank (small packets pass, the certificate does not). Measure again
	   now, over UDP, which does not need the poll to succeed. */
	if (!r->ok && p->id[0] && r->connect_ms >= 0 && (r->error == PERR_TIMEOUT || r->error == PERR_TLS) &&
	    p->pmtu.value > 0 && mw_wall_s() - p->pmtu.measured_at >= 10 && !(beat_sent && beat_us.received == 0) &&
	    !__atomic_load_n(&m->overloaded, __ATOMIC_RELAXED) && stall_pmtu_ok(m)) {
		log_info("pmtu", "peer %s (%s): TLS stalled after connect: measuring the path MTU again", p->id, ip);
		pmtu_changed = measure_pmtu(p, ip, &o);
	}
	/* A timeout (or a handshake cut off) while this machine is overloaded
	   may say more about this node than about the peer: a failed poll all
	   the same, in the history and the counts, but the peer's verdict is
	   withheld (unknown) for at most excuse_max_s, and meanwhile no other
	   node is asked to probe it (which would add load to a mesh already
	   short of CPU). Refused, unreachable and bad answers count at once.
	   The copy p may be a poll old: membership_apply_poll has the last word. */
	int64_t t_done = mw_wall_s();
	r->excused = !r->ok && (r->error == PERR_TIMEOUT || r->error == PERR_TLS) && p->id[0] &&
	             __atomic_load_n(&m->overloaded, __ATOMIC_RELAXED);
	int withheld = r->excused && p->state != PEER_DEAD && m->ovl.excuse_max_s > 0 &&
	               (p->excused_since == 0 || t_done - p->excused_since < m->ovl.excuse_max_s);
	/* every failure of a suspect peer asks the others again, so the time
	   rule in membership_tick sees a fresh answer too */
	if ((!r->ok || refused) && !withheld && p->id[0] && !p->quarantined && c->indirect_probes > 0 &&
	    p->state != PEER_DEAD && p->fails + 1 >= c->suspect_after)
		indirect_probe(m, p, r);
	o.at = t_done;
	struct poll_applied a;
	membership_apply_poll(m->members, &o, &a);
	if (o.answered)
		log_answer(&o, &a, ip, p);
	queue_results(m, &a, pmtu_changed && a.pin != PIN_CHANGED ? &o.pmtu : NULL, dropped);
	free(list);
	https_result_free(&hr);
}

/* A worker waits on its own condition and joins the idle list when done.
   The scheduler hands each poll to the most recently idle worker (LIFO),
   so at a few polls per second one or two workers do the work with warm
   stacks and caches, and the rest stay shallow: eight workers cycled in
   turn each kept ~40 KB of stack touched by TLS handshakes. */
static void *
worker_main(void *arg)
{
	struct poll_worker *w = arg;
	struct mesh *m = w->mesh;
	pthread_setname_np(pthread_self(), "mw-poll");
	pthread_mutex_lock(&m->lock);
	for (;;) {
		if (m->stopping)
			break;
		m->idle[m->nidle++] = (int)(w - m->workers);
		if (m->sched_waiting) {
			m->sched_waiting = 0;
			if (eventfd_write(m->wake_fd, 1) != 0)
				log_debug("mesh", "could not wake the scheduler: %s", strerror(errno));
		}
		while (w->job == NULL && !m->stopping)
			pthread_cond_wait(&w->ready, &m->lock);
		if (m->stopping)
			break; /* a job handed over just now is freed by mesh_stop */
		struct poll_job *job = w->job;
		w->job = NULL;
		pthread_mutex_unlock(&m->lock);
		poll_peer(m, job);
		free(job);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Spacing between two polls: the interval over the peers to visit (or
   over the budget). */
static int64_t
poll_gap_ms(struct mesh *m)
{
	const struct config *c = &m->node->cfg;
	int visits = membership_active_count(m->members, c->dead_poll_every);
	if (visits > c->poll_budget)
		visits = c->poll_budget;
	return (int64_t)c->poll_interval_s * 1000 / (visits > 0 ? visits : 1);
}

/* A burst of beats the scheduler sent has ended (scheduler thread). When
   it answered the poll and nothing else is due, the poll ends here: no
   worker, no thread hand-off. Otherwise the poll goes on over HTTPS (or
   measures the path MTU) on a worker, with the beats' figures. */
static void
beat_ended(void *arg, void *tag, const struct udp_stats *us, uint64_t digest)
{
	struct mesh *m = arg;
	struct poll_job *job = tag;
	struct peer *p = &job->p;
	job->beaten = 1;
	job->us = *us;
	job->beat_answered = beat_verdict(m, p, us, digest);
	if (!job->beat_answered || p->pmtu_due || p->pmtu.value == 0) {
		job->next = m->handoff;
		m->handoff = job;
		return;
	}
	struct poll_outcome o;
	outcome_init(&o, job, p->id);
	struct poll_result *r = &o.r;
	r->ok = 1;
	r->beat = 1;
	take_udp(r, us);
	o.at = mw_wall_s();
	struct poll_applied a;
	membership_apply_poll(m->members, &o, &a);
	queue_results(m, &a, NULL, 0);
	free(job);
}

/* The scheduler's only wait: until deadline_ms (monotonic), a burst's
   deadline, or a wake-up (a worker idle while it waits for one, stop);
   then ends the bursts that are done. It does not wake for acks: the
   kernel stamps them as they come, and they are read at the next turn. */
static void
sched_wait(struct mesh *m, int64_t deadline_ms)
{
	struct pollfd pf = { .fd = m->wake_fd, .events = POLLIN };
	int64_t wait_ms = deadline_ms - mw_now_ms();
	uint64_t bd = udp_beater_deadline_ns(m->beater);
	if (bd) {
		int64_t left = ((int64_t)bd / 1000000 + 1) - mw_now_ms();
		if (left < wait_ms)
			wait_ms = left;
	}
	if (wait_ms < 0)
		wait_ms = 0;
	if (poll(&pf, 1, (int)wait_ms) > 0) {
		eventfd_t v;
		(void)eventfd_read(m->wake_fd, &v);
	}
	udp_beater_collect(m->beater, NULL, 0, beat_ended, m);
}

/* Hands job to an idle worker, waiting for one (and meanwhile ending
   bursts of beats) while every worker is busy, or as many polls are in
   flight as an overloaded machine is allowed. Returns 0, or -1 when the
   node is stopping (job not taken). */
static int
dispatch(struct mesh *m, struct poll_job *job)
{
	const struct config *c = &m->node->cfg;
	pthread_mutex_lock(&m->lock);
	while (!m->stopping && (m->nidle == 0 || (m->nworkers - m->nidle >= c->overload_poll_concurrency &&
	                                              __atomic_load_n(&m->overloaded, __ATOMIC_RELAXED)))) {
		m->sched_waiting = 1;
		pthread_mutex_unlock(&m->lock);
		sched_wait(m, mw_now_ms() + 1000); /* the overload flag may clear without a wake-up */
		pthread_mutex_lock(&m->lock);
	}
	m->sched_waiting = 0;
	int rc = -1;
	if (!m->stopping) {
		struct poll_worker *w = &m->workers[m->idle[--m->nidle]];
		w->job = job;
		pthread_cond_signal(&w->ready);
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Starts the poll of job: beats sent from here when the poll may be beats
   (the scheduler collects them), else on a worker. Returns 0 when the job
   was taken. */
static int
start_poll(struct mesh *m, struct poll_job *job)
{
	const struct config *c = &m->node->cfg;
	job->at = mw_wall_s();
	if (m->beater && c->udp_probe_spacing_ms == 0 && c->udp_probes <= UDPP_BEATER_MAX_COUNT && job->p.ip[0] &&
	    beat_due(m, &job->p)) {
		struct udpp_beat_key k;
		beat_key_of(&job->p, &k);
		if (udp_beater_send(m->beater, job->p.ip, job->p.port, c->udp_probes, BEAT_TIMEOUT_MS, &k, job) == 0)
			return 0;
	}
	return dispatch(m, job);
}

static void *
scheduler_main(void *arg)
{
	struct mesh *m = arg;
	const struct config *c = &m->node->cfg;
	pthread_setname_np(pthread_self(), "mw-sched");
	int64_t prev = mw_now_ms(), next = prev; /* when the last poll was due, when the next is */
	int64_t woke = prev; /* when the last wait ended */
	int idle = 1; /* the last turn found nothing to poll (and the first turn polls at once) */
	while (!m->stopping) {
		/* polls the beats handed on come first */
		if (m->handoff) {
			struct poll_job *job = m->handoff;
			m->handoff = job->next;
			if (dispatch(m, job) != 0)
				free(job);
			continue;
		}
		/* The next poll is due one gap after the last, and the gap is
		   taken again at least every second while waiting: a node that
		   knew one peer and has just heard of fifty polls the newcomers
		   within a second or so, not after the 30 s its one peer was worth. */
		int64_t now = mw_now_ms();
		if (!idle)
			next = prev + poll_gap_ms(m);
		if (next < now - 1000)
			prev = next = now; /* fell behind (slow workers): do not burst to catch up */
		if (now < next) {
			/* polls due within POLL_BATCH_MS of the last wake-up wait
			   for the next one: fewer wake-ups, never a poll early */
			int64_t until = next < woke + POLL_BATCH_MS ? woke + POLL_BATCH_MS : next;
			sched_wait(m, until < now + 1000 ? until : now + 1000);
			woke = mw_now_ms();
			continue;
		}
		prev = next;
		struct poll_job *job = calloc(1, sizeof *job);
		if (job && membership_next_poll(m->members, c->dead_poll_every, &job->p) == 0) {
			if (start_poll(m, job) == 0)
				job = NULL;
			idle = 0; /* stopping with the job still ours: the peer stays marked in flight, which no longer matters */
		} else {
			next = prev + 200; /* nothing to poll yet */
			idle = 1;
		}
		free(job);
	}
	while (m->handoff) {
		struct poll_job *job = m->handoff;
		m->handoff = job->next;
		free(job);
	}
	return NULL;
}

int
mesh_start(struct mesh *m, char *err, size_t errlen)
{
	struct node *n = m->node;
	m->udp = udp_responder_create(n->cfg.listen_addr, n->cfg.listen_port, err, errlen);
	if (m->udp == NULL || udp_responder_start(m->udp, err, errlen) != MW_OK)
		return MW_EIO;
	/* healthy from the start, as mesh_flush renews it: the main loop's
	   first flush comes a second later, and a peer that polled in that
	   second would get its HTTPS answer but no acks, and record 100 %
	   loss on a path that lost nothing */
	udp_responder_set_beat(m->udp, mesh_beat_digest(m), BEAT_HEALTH_MS);
	m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->wake_fd < 0) {
		snprintf(err, errlen, "cannot make the scheduler's eventfd: %s", strerror(errno));
		return MW_EIO;
	}
	m->beater = udp_beater_create(MESH_BEATS_IN_FLIGHT);
	if (m->beater == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ENOMEM;
	}
	int nw = n->cfg.poll_concurrency;
	m->workers = calloc((size_t)nw, sizeof *m->workers);
	m->idle = calloc((size_t)nw, sizeof *m->idle);
	if (m->workers == NULL || m->idle == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ENOMEM;
	}
	for (int i = 0; i < nw; i++) {
		struct poll_worker *w = &m->workers[i];
		w->mesh = m;
		pthread_cond_init(&w->ready, NULL);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			pthread_cond_destroy(&w->ready);
			snprintf(err, errlen, "cannot start poll threads");
			return MW_EIO;
		}
		m->nworkers = i + 1;
	}
	if (pthread_create(&m->scheduler, NULL, scheduler_main, m) != 0) {
		snprintf(err, errlen, "cannot start the poll scheduler");
		return MW_EIO;
	}
	m->started = 1;
	log_info("mesh", "polling every %d s with %d workers; UDP responder on %s:%d", n->cfg.poll_interval_s,
	    m->nworkers, n->cfg.listen_addr, n->cfg.listen_port);
	return 0;
}

static void
save_peers(struct mesh *m)
{
	int np = 0;
	struct peer *ps = membership_snapshot(m->members, &np);
	struct store_peer_row *rows = ps ? calloc((size_t)(np > 0 ? np : 1), sizeof *rows) : NULL;
	if (rows) {
		int k = 0; /* quarantined hearsay is not remembered across a restart; seeds not reached have no id */
		for (int i = 0; i < np; i++)
			if (!ps[i].quarantined && ps[i].id[0])
				row_from_peer(&rows[k++], &ps[i]);
		if (store_peers_save(m->node->store, rows, k) != 0)
			log_warn("db", "could not save the peer table");
	}
	free(rows);
	free(ps);
}

void
mesh_stop(struct mesh *m)
{
	if (m == NULL || m->stopping)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	for (int i = 0; i < m->nworkers; i++)
		pthread_cond_signal(&m->workers[i].ready);
	pthread_cond_broadcast(&m->worker_idle);
	if (m->wake_fd >= 0 && eventfd_write(m->wake_fd, 1) != 0)
		log_warn_errno("mesh", "could not wake the poll scheduler");
	pthread_mutex_unlock(&m->lock);
	if (m->started)
		pthread_join(m->scheduler, NULL);
	udp_beater_destroy(m->beater, free); /* bursts in flight: their jobs */
	m->beater = NULL;
	for (int i = 0; i < m->nworkers; i++) {
		struct poll_worker *w = &m->workers[i];
		pthread_join(w->thread, NULL);
		pthread_cond_destroy(&w->ready);
		free(w->job); /* handed over just as the node stopped */
		w->job = NULL;
	}
	m->nworkers = 0;
	m->nidle = 0;
	m->started = 0;
	udp_responder_destroy(m->udp);
	m->udp = NULL;
	mesh_flush(m);
	save_peers(m);
}

void
mesh_destroy(struct mesh *m)
{
	if (m == NULL)
		return;
	if (m->nworkers > 0 || m->udp)
		mesh_stop(m); /* a start that failed half-way left threads */
	membership_destroy(m->members);
	meshauth_destroy(m->auth);
	meshtargets_destroy(m->mtargets);
	tlsclient_destroy(m->client);
	free(m->workers);
	free(m->idle);
	free(m->batch);
	free(m->pmtu_batch);
	pthread_cond_destroy(&m->worker_idle);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

double
mesh_read_pressure(const char *path)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	double v = -1;
	if (fscanf(f, "some avg10=%lf", &v) != 1) {
		v = -1;
		if (errno == 0)
			errno = EINVAL;
	}
	fclose(f);
	return v;
}

/* This process's cgroup v2 directory: the "0::" line of /proc/self/cgroup
   under the cgroup2 mount of /proc/self/mountinfo. 0, or -1 without one. */
static int
own_cgroup_dir(const char *root, char *out, size_t outlen)
{
	char p[512], line[1024], rel[512] = "", mnt[512] = "", mroot[512] = "";
	int found = 0;
	snprintf(p, sizeof p, "%s/proc/self/cgroup", root);
	FILE *f = fopen(p, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(rel, sizeof rel, "%.511s", line + 3);
			found = 1;
			break;
		}
	fclose(f);
	if (!found)
		return -1;
	snprintf(p, sizeof p, "%s/proc/self/mountinfo", root);
	if ((f = fopen(p, "re")) == NULL)
		return -1;
	found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER */
		char *dash = strstr(line, " - ");
		char mr[512], mp[512];
		if (dash && strncmp(dash + 3, "cgroup2 ", 8) == 0 && sscanf(line, "%*s %*s %*s %511s %511s", mr, mp) == 2) {
			snprintf(mnt, sizeof mnt, "%s", mp);
			snprintf(mroot, sizeof mroot, "%s", mr);
			found = 1;
		}
	}
	fclose(f);
	if (!found)
		return -1;
	/* the mount may show a subtree only (its ROOT): the path is below it */
	size_t rl = strcmp(mroot, "/") == 0 ? 0 : strlen(mroot);
	const char *below = rel;
	if (rl > 0) {
		if (strncmp(rel, mroot, rl) != 0 || (rel[rl] != '\0' && rel[rl] != '/'))
			return -1; /* our cgroup is not under that mount */
		below = rel + rl;
	}
	snprintf(out, outlen, "%s%s%s", root, mnt, strcmp(below, "/") == 0 ? "" : below);
	return 0;
}

int
mesh_overload_source(const char *root, const char *container_env, char *path, size_t pathlen, char *why,
    size_t whylen)
{
	char dir[1100], p[1200];
	path[0] = why[0] = '\0';
	/* a cgroup's own file, but never the root cgroup's (which counts every
	   task of the machine): only non-root cgroups have cgroup.type */
	if (own_cgroup_dir(root, dir, sizeof dir) == 0) {
		snprintf(p, sizeof p, "%s/cgroup.type", dir);
		if (access(p, F_OK) == 0) {
			snprintf(p, sizeof p, "%s/cpu.pressure", dir);
			if (mesh_read_pressure(p) >= 0) {
				snprintf(path, pathlen, "%s", p);
				snprintf(why, whylen, "CPU pressure of this node's cgroup (%s)", p);
				return OVL_CGROUP;
			}
		}
	}
	char a[600], b[600];
	snprintf(a, sizeof a, "%s/.dockerenv", root);
	snprintf(b, sizeof b, "%s/run/.containerenv", root);
	int in_container = access(a, F_OK) == 0 || access(b, F_OK) == 0 || (container_env && container_env[0]);
	if (in_container) {
		snprintf(why, whylen, "in a container, /proc/pressure/cpu counts the whole host's tasks, and this node's "
		                      "cgroup has no readable cpu.pressure of its own");
		return OVL_NONE;
	}
	snprintf(p, sizeof p, "%s/proc/pressure/cpu", root);
	errno = 0;
	if (mesh_read_pressure(p) < 0) {
		snprintf(why, whylen, "cannot read %s: %s (hidden by systemd's ProtectProc=/ProcSubset=, or a kernel without "
		                      "PSI)", p, strerror(errno ? errno : EINVAL));
		return OVL_NONE;
	}
	snprintf(path, pathlen, "%s", p);
	snprintf(why, whylen, "CPU pressure of the whole machine (%s)", p);
	return OVL_SYSTEM;
}

/* Once a second: is this machine overloaded? On at overload_cpu_pressure,
   off again below half of it, each change logged. */
static void
check_overload(struct mesh *m)
{
	if (m->ovl.source == OVL_NONE)
		return; /* the main thread is the only writer: reading without the lock is safe */
	int limit = m->ovl.threshold;
	double p = mesh_read_pressure(m->ovl.path);
	int was = __atomic_load_n(&m->overloaded, __ATOMIC_RELAXED), now = was;
	if (p >= limit)
		now = 1;
	else if (p >= 0 && p < limit / 2.0)
		now = 0;
	pthread_mutex_lock(&m->lock);
	m->ovl.pressure = p;
	m->ovl.overloaded = now;
	if (now != was)
		m->ovl.since = now ? mw_wall_s() : 0;
	pthread_mutex_unlock(&m->lock);
	if (now == was)
		return;
	__atomic_store_n(&m->overloaded, now, __ATOMIC_RELAXED);
	if (now)
		log_warn("mesh", "this machine is overloaded (CPU pressure %.0f %% >= %d %%): a peer whose polls time out "
		                 "is shown unknown (verdict withheld for up to %d s), and at most %d polls are in flight, "
		                 "until it falls below %d %%",
		    p, limit, m->ovl.excuse_max_s, m->node->cfg.overload_poll_concurrency, limit / 2);
	else
		log_info("mesh", "CPU pressure down to %.0f %%: timed-out polls count against peers again, up to %d polls in flight",
		    p, m->node->cfg.poll_concurrency);
}

/* Writes the queued PMTU changes (main thread). */
static void
write_pmtu(struct mesh *m)
{
	pthread_mutex_lock(&m->lock);
	struct pmtu_queued *q = m->pmtu_batch;
	int n = m->pmtu_n;
	m->pmtu_batch = NULL;
	m->pmtu_n = m->pmtu_cap = 0;
	pthread_mutex_unlock(&m->lock);
	for (int i = 0; i < n; i++)
		if (store_pmtu_insert(m->node->store, q[i].peer_id, &q[i].row) != 0)
			log_warn("db", "could not write the path MTU of peer %s", q[i].peer_id);
	free(q);
}

void
mesh_flush(struct mesh *m)
{
	check_overload(m);
	/* First contacts (first_contact_growth): first_contact_rate a minute,
	   or, when more, one per peer this node has reached per poll interval. A mesh forming from
	   seeds then meets everyone in about log2(N) intervals (the peers
	   reached double each interval) instead of N / first_contact_rate
	   minutes, while gossip naming unknown addresses (a poisoned list)
	   still makes at most as many first contacts as the real mesh has
	   members reached, bounded by first_contacts handshakes at once. */
	const struct config *c = &m->node->cfg;
	if (c->first_contact_rate > 0 && c->first_contact_growth) {
		int total, alive, suspect, dead;
		membership_counts(m->members, &total, &alive, &suspect, &dead);
		double per_min = (alive + 1) * 60.0 / c->poll_interval_s;
		tlsclient_pace_rate(m->client, per_min > c->first_contact_rate ? per_min : c->first_contact_rate);
	}
	/* this node is healthy: beats are answered, with the state as of now */
	if (m->udp)
		udp_responder_set_beat(m->udp, mesh_beat_digest(m), BEAT_HEALTH_MS);
	membership_tick(m->members, mw_wall_s(), m->node->cfg.poll_interval_s);
	pthread_mutex_lock(&m->lock);
	struct poll_row *rows = m->batch;
	int n = m->batch_n;
	m->batch = NULL;
	m->batch_n = m->batch_cap = 0;
	pthread_mutex_unlock(&m->lock);
	if (n > 0) {
		if (store_polls_insert(m->node->store, rows, n) == 0) {
			pthread_mutex_lock(&m->lock);
			m->stats.rows_written += (uint64_t)n;
			pthread_mutex_unlock(&m->lock);
		} else {
			log_warn("db", "could not write %d poll results", n);
			pthread_mutex_lock(&m->lock);
			m->stats.rows_dropped += (uint64_t)n;
			pthread_mutex_unlock(&m->lock);
		}
	}
	free(rows);
	write_pmtu(m);
	/* the peer table reaches the database every 10 s, so even a kill -9
	   leaves the next start a recent one to remember */
	if (++m->flushes % 10 == 0)
		save_peers(m);
	uint64_t inc = membership_incarnation(m->members);
	if (inc != m->saved_incarnation) {
		char buf[32];
		snprintf(buf, sizeof buf, "%llu", (unsigned long long)inc);
		if (store_meta_set(m->node->store, "incarnation", buf) == 0)
			m->saved_incarnation = inc;
	}
}

void
mesh_maintain(struct mesh *m)
{
	const struct config *c = &m->node->cfg;
	int64_t now = mw_wall_s();
	save_peers(m);
	struct maint_stats ms;
	if (store_maintain(m->node->store, now, 86400, (int64_t)c->retention_days * 86400, c->db_max_bytes, &ms) == 0 &&
	    (ms.capped > 0 || ms.downsampled > 0 || ms.expired > 0))
		log_info("db", "history: %d polls downsampled, %d buckets expired, %d rows removed for the %d-byte cap "
		               "(%lld -> %lld bytes)",
		    ms.downsampled, ms.expired, ms.capped, c->db_max_bytes, (long long)ms.size_before,
		    (long long)ms.size_after);
}

const char *
mesh_poll_phase_name(int phase)
{
	static const char *const names[MESH_POLL_PHASES] = {"connect", "tls", "ttfb", "total"};
	return phase >= 0 && phase < MESH_POLL_PHASES ? names[phase] : "total";
}

void
mesh_get_stats(struct mesh *m, struct mesh_stats *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->stats;
	pthread_mutex_unlock(&m->lock);
}

void
mesh_get_overload(struct mesh *m, struct mesh_overload *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->ovl;
	pthread_mutex_unlock(&m->lock);
}

void
mesh_count_rejected(struct mesh *m)
{
	pthread_mutex_lock(&m->lock);
	m->stats.callers_rejected++;
	pthread_mutex_unlock(&m->lock);
}

struct membership *
mesh_membership(struct mesh *m)
{
	return m->members;
}

struct meshauth *
mesh_auth(struct mesh *m)
{
	return m->auth;
}

struct meshtargets *
mesh_targets(struct mesh *m)
{
	return m ? m->mtargets : NULL;
}

struct tls_client *
mesh_client(struct mesh *m)
{
	return m->client;
}
