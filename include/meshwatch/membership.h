/* membership: the peer table and the rules that merge what a node hears.
   Thread-safe: one mutex guards the table; every function takes it for a
   short, bounded time and never does I/O under it. Readers get copies. */
#ifndef MESHWATCH_MEMBERSHIP_H
#define MESHWATCH_MEMBERSHIP_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/config.h"
#include "meshwatch/tlsclient.h"
#include "meshwatch/util.h"

/* The largest incarnation accepted from a caller or in gossip (a node
   bumps its own by one per restart or refutation). */
#define MEMBERSHIP_INCARNATION_MAX 1000000000000ull
/* The most a node's incarnation may rise in one piece of news: more is
   implausible (restarts and refutations count one each) and is ignored,
   so a forged rumour cannot push an incarnation to the bound, where it
   could no longer be refuted. */
#define MEMBERSHIP_INCARNATION_JUMP 65536ull

/* A table's position: "epoch.version" (8 hex digits, '.', a decimal). */
#define MEMBERSHIP_CURSOR_LEN 32

/* unknown: our own polls time out while this node is overloaded, so the
   verdict is withheld (for at most excuse_max_s, then given anyway). */
enum peer_state { PEER_ALIVE = 0, PEER_SUSPECT = 1, PEER_DEAD = 2, PEER_UNKNOWN = 3 };
#define PEER__STATES 4
enum peer_source { SRC_SEED = 0, SRC_DIRECT = 1, SRC_GOSSIP = 2 };

const char *peer_state_name(int s);
/* Parses "alive"/"suspect"/"dead"/"unknown"; -1 for anything else. */
int peer_state_parse(const char *s) MW_MUST_CHECK;

/* The most vantage points one poll asks: indirect_probes' ceiling in
   config.c. */
#define MEMBERSHIP_VANTAGE_MAX 16

/* One poll's measurements (times in ms; negative = not reached). */
struct poll_result {
	int ok;
	int error;            /* enum poll_error */
	char detail[128];     /* e.g. "HTTP 503", "connect: Connection refused" */
	double connect_ms, tls_ms, ttfb_ms, total_ms;
	int udp_sent, udp_received;
	double rtt_min_ms, rtt_avg_ms, rtt_max_ms, jitter_ms;
	int64_t at;           /* wall-clock seconds */
	/* indirect probes made because this failure would make the peer dead:
	   how many other nodes answered, and how many of them reach it */
	int vantage_asked, vantage_reached;
	/* the ids of the vantage points that agreed with this node (answered
	   and could not reach it either), for the peer_state event */
	int vantage_agreed_n;
	char vantage_agreed[MEMBERSHIP_VANTAGE_MAX][37];
	/* a timeout while this machine was overloaded: recorded as a failure
	   and counted, but the verdict (suspect, dead) is withheld for a while */
	int excused;
	/* answered by beats (UDP, see mesh.c) without an HTTPS exchange: the
	   HTTPS phase times are not measured (-1) */
	int beat;
};

struct pmtu_info {
	int value;            /* bytes, 0 = not measured */
	char method[24];      /* "ack", "icmp+ack", "local" */
	int probes;
	int black_hole;       /* larger probes vanished without ICMP feedback */
	int64_t measured_at;
};

/* A copy of one peer, as readers see it. */
struct peer {
	char id[37];          /* "" for a seed not yet contacted */
	char fqdn[256];
	char ip[64];
	int port;
	int state;            /* enum peer_state */
	int source;           /* enum peer_source: how we first/last learned of it */
	int seeded;           /* listed in the seed file: its first contact is never paced */
	uint64_t incarnation;
	int64_t first_seen, last_seen;   /* wall-clock seconds; last_seen: last sign of life */
	int64_t last_poll, last_ok;      /* our own polls */
	int64_t state_since;
	int fails;                       /* consecutive failed polls (excused ones included) */
	int64_t excused_since;           /* verdict withheld since (this node overloaded); 0 = not */
	struct poll_result last;         /* our last poll of it */
	/* success counts in 5-minute buckets over 24 h, for the rates */
	double success_rate_1h, success_rate_24h; /* -1 when no polls yet */
	int polls_1h, polls_24h;
	struct pmtu_info pmtu;
	int pmtu_due;                    /* a PMTU measurement is wanted */
	char list_digest[17];            /* digest of the view it last sent us */
	char list_cursor[MEMBERSHIP_CURSOR_LEN]; /* "epoch.version" of its table as of its last answer */
	/* beats (see mesh.c): the ticket and key it issued us in its last
	   HTTPS answer, its state digest as of that answer, and the polls
	   answered by beats since; beat_ok 0 = no ticket (an exchange next) */
	int beat_ok;
	uint8_t beat_ticket[8], beat_key[32];
	uint64_t beat_digest;
	int beats;
	int64_t last_exchange;           /* our last successful HTTPS exchange with it */
	/* the last indirect probes (see mesh.c): other nodes asked whether
	   they reach it, and how many did; vantage_at 0 = never asked */
	int vantage_asked, vantage_reached;
	int64_t vantage_at;
	/* the SHA-256 of its public key (SPKI, hex) as first met directly,
	   "" until then; see membership_apply_poll */
	char pin[65];
	int64_t pinned_at;
	char pin_refused[65];            /* the other key last refused, to log it once */
	/* heard of second-hand (or from a caller whose address is not the one
	   it connects from) and not reached by our own poll yet: shown as
	   unknown, never gossiped, left out of the counts, dropped after
	   quarantine_tries failed polls */
	int quarantined;
};

struct membership_opts {
	const char *self_id;
	int max_peers;
	int suspect_after;    /* consecutive failed polls before suspect */
	int dead_after;       /* consecutive failed polls before dead */
	int forget_after_s;   /* dead this long: removed */
	int pmtu_interval_s;  /* re-measure PMTU this often */
	int excuse_max_s;     /* longest a verdict is withheld while this node is overloaded */
	int max_quarantined;  /* quarantined entries at once (0: 256) */
	int new_per_source;   /* new entries one source may name per poll interval (0: 256) */
	int quarantine_tries; /* failed polls that drop a quarantined entry (0: 2) */
	int poll_interval_s;  /* the budget's window (0: 30) */
	struct events *events; /* state changes go here as events (NULL: none) */
};

struct membership;
struct events;

struct membership *membership_create(const struct membership_opts *o) MW_MUST_CHECK;
void membership_destroy(struct membership *m);

/* A peer remembered from the last run: identity, first/last seen,
   incarnation and last PMTU come back as they were; it is suspect until it
   answers. counts: 5-minute buckets (start time, polls, successes) from the
   stored history, so the success rates survive a restart. */
struct bucket_count {
	int64_t t;
	int n, ok;
};
int membership_restore(struct membership *m, const struct peer *saved, const struct bucket_count *counts, int ncounts);

/* Adds seed placeholders (no id yet). Returns how many were added. */
int membership_add_seeds(struct membership *m, const struct seed_entry *seeds, int n, int default_port);

/* A gossiped or announced entry, already validated for syntax. */
struct peer_news {
	char id[37];
	char fqdn[256];
	char ip[64];
	int port;
	int state;
	uint64_t incarnation;
	int64_t age_s;        /* seconds since the sender last saw it alive */
};

/* Result of merging one sender's list. */
struct merge_stats {
	int added, updated, ignored_stale, ignored_self, dropped_full;
	int over_budget;      /* new entries ignored: the source's budget is spent (or quarantine full) */
	int cut_off;          /* the source is cut off (now or already): nothing of its list was taken */
	uint64_t refute;      /* > 0: the sender thinks we are suspect/dead at this incarnation */
};

/* First-hand: a node called us (push) or answered our poll. Makes it alive
   at once, fills in a seed placeholder at the same address, and never
   lists a node twice. Returns 0, or MW_ETOOBIG when the table is full. */
int membership_heard_from(struct membership *m, const struct peer_news *who, int64_t now);
/* A node called us claiming an address it does not connect from: nothing
   is believed until our own poll reaches it there. A new id is added in
   quarantine (when there is room); a known one is left as it is. Returns
   1 when an entry was added, else 0. */
int membership_heard_unverified(struct membership *m, const struct peer_news *who, int64_t now);

/* This node's own identity, so that the view digest covers it too. */
void membership_set_self(struct membership *m, const char *fqdn, const char *ip, int port);

/* What a caller already has of this node's list (each field may be NULL
   or ""): the digest we last sent it, its own view's digest, and the
   cursor of our table we last sent it. */
struct gossip_ask {
	const char *known_digest, *view_digest, *since;
	int page;                              /* most entries per answer; 0: no limit */
};
/* What membership_gossip decided. */
struct gossip_meta {
	char digest[17];                       /* this node's view digest */
	char cursor[MEMBERSHIP_CURSOR_LEN];    /* the table's position now */
	int unchanged;                         /* the caller has it all: no list */
	int delta;                             /* the list holds only changes since ask->since */
	int more;                              /* a page: cursor is where the next one starts */
	/* a /nodeinfo answer's beat ticket ("beat": see mesh.h), parsed with it */
	int beat;                              /* 1: the three below are set */
	uint8_t beat_ticket[8], beat_key[32];
	uint64_t beat_digest;
};

/* What /nodeinfo gossips: contacted peers (seeds not yet reached are left
   out) with id, fqdn, address, port, state, incarnation and age_s
   (seconds since last seen, -1 never).
   The view digest sums a hash of every entry's fields but the age, this
   node's own entry included, so two nodes that agree on the whole mesh
   have the same digest whatever the order of their tables. The list is
   left out (*list NULL, meta->unchanged) when the caller's known or view
   digest is ours; when its cursor is from this table's epoch, only the
   entries changed since are listed (meta->delta); otherwise all of them.
   At most ask->page entries are listed, the oldest changes first: then
   meta->more is set and meta->cursor is the version of the last one
   listed, so the caller's next ask with that cursor gets the next page.
   Each entry carries the table version at which its fields last changed,
   found by comparing its hash with the one of the previous call, so no
   mutation can be missed. Returns 0 or MW_ENOMEM. */
int membership_gossip(struct membership *m, const struct gossip_ask *ask, int64_t now, struct peer_news **list,
    int *n, struct gossip_meta *meta);
/* Splits a cursor "epoch.version" (8 lowercase hex digits, '.', decimal
   digits; shorter than MEMBERSHIP_CURSOR_LEN). 0, or -1 when malformed. */
int membership_parse_cursor(const char *s, uint32_t *epoch, uint64_t *version) MW_MUST_CHECK;
/* This node's view digest (see membership_gossip) into digest (17 bytes). */
void membership_view_digest(struct membership *m, char digest[17]);

/* Second-hand: the peer list one node sent. Applies the merge rules (see
   membership.c). */
void membership_merge(struct membership *m, const struct peer_news *list, int n, int64_t now,
    struct merge_stats *st);
/* The same, for the list node from_id sent (NULL: no budget): new entries
   go to quarantine; a source naming more than new_per_source new entries
   in one poll interval is cut off for 10 intervals (st->cut_off, logged). */
void membership_merge_from(struct membership *m, const char *from_id, const struct peer_news *list, int n,
    int64_t now, struct merge_stats *st);
/* Quarantine figures: entries in quarantine now, and totals since start
   of entries dropped after failed polls, entries refused (budget spent or
   quarantine full) and sources cut off. */
struct quarantine_stats {
	int quarantined;
	uint64_t dropped, refused, sources_cut;
};
void membership_quarantine_stats(struct membership *m, struct quarantine_stats *out);

/* Key pinning, trust on first use (see membership_apply_poll). */
enum pin_verdict {
	PIN_SAME,       /* the key pinned */
	PIN_NEW,        /* the peer had no pin: now pinned */
	PIN_CHANGED,    /* another key, refused: the pin stays */
	PIN_REPLACED,   /* another key, proven with the mesh secret: now pinned */
	PIN_NONE        /* no peer with that id (or no key presented) */
};

/* Everything one poll learned, sent to the table in one message. The
   poller reads its copy of the peer and the view before it polls, and
   touches the table once more, when it is done. */
struct poll_outcome {
	/* the entry polled, as the poller's copy named it: its id, or "" for
	   a seed placeholder (found by the ip or fqdn and port it was seeded
	   with) */
	const char *id, *ip, *fqdn;
	int port;
	/* the poll did not happen (its first contact was deferred, see
	   tlsclient_first_contact_ok): the entry is free for the next round
	   and nothing is counted for or against it; the rest is unused */
	int deferred;
	/* A node other than this one answered /nodeinfo, signed when signing
	   is on: who as we believe it first-hand (the address we reached;
	   its own claims when taken), its peer list (owned by the caller)
	   and the position of that list. */
	int answered;
	struct peer_news who;
	int taken;                   /* the entry's address now answers as who, another node */
	const char *spki;            /* the SHA-256 (hex) of the key it presented */
	int signed_ok;               /* its answer is signed with the mesh secret: a new key is accepted */
	const struct peer_news *list;
	int nlist;
	char list_digest[17], list_cursor[MEMBERSHIP_CURSOR_LEN];
	/* the beat ticket its answer issued (beat_issued 0: none, an older
	   node or beats off: the peer's ticket is forgotten) */
	int beat_issued;
	uint8_t beat_ticket[8], beat_key[32];
	uint64_t beat_digest;
	int64_t answered_at;         /* wall-clock seconds, when the answer came */
	/* a path MTU measured during the poll */
	int pmtu_measured;
	struct pmtu_info pmtu;
	/* the result: ok when every check the poller could make passed (the
	   key pin is checked here); r.excused when the overload excuse
	   applies (a timeout while this node is overloaded) */
	struct poll_result r;
	int64_t at;                  /* wall-clock seconds, when the poll ended */
};

/* What the table made of a poll. */
struct poll_applied {
	struct poll_result r;        /* as recorded: a refused key makes the poll fail (PERR_AUTH) */
	char id[37];                 /* the entry's id now ("" for a seed that did not answer) */
	int history;                 /* a node not in quarantine: the poll belongs in its history */
	int excused;                 /* the failure was excused (verdict withheld) */
	int pin;                     /* enum pin_verdict, for an answered poll */
	char old_pin[65];            /* the pin before */
	int pin_first;               /* PIN_CHANGED: the first time this other key is seen */
	int address_taken;           /* the entry polled was made dead or dropped (taken) */
	struct merge_stats merge;    /* the merge of its list */
	uint64_t incarnation;        /* > 0: ours was raised to refute a suspicion */
};

/* Applies a poll, in this order and under one hold of the lock:
   - answered: a seed placeholder becomes node who (or goes, when the node
     is in the table already); who's key is checked against its pin: the
     first key met is pinned, a changed key is refused (the poll fails,
     PERR_AUTH, and nothing of the answer is taken) unless signed_ok, when
     the pin follows it. Then who is heard from first-hand
     (membership_heard_from); when taken, the entry polled is dead at once
     (rule 7: first-hand evidence only; a quarantined one is dropped); its
     list is merged (membership_merge_from) and its digest and cursor kept
     when the whole list was taken (else forgotten, so its next answer is
     a whole list again); a suspicion about us raises our incarnation.
   - the PMTU measured is kept; a change from one measured value to
     another, or a black hole found or gone, is logged and an event
     (pmtu_change, black_hole).
   - the poll's result counts for the entry (id who.id for an answered
     seed). A failure marked r.excused counts as a failure, but while the
     peer's excuse is younger than excuse_max_s its verdict is withheld:
     an alive peer becomes unknown (suspect and dead peers keep their
     state) and excused_since is set. Past that window the verdict is
     given as for any failure. A quarantined entry is dropped after
     quarantine_tries failures.
   out (may be NULL) says what happened, for the poller's log, history
   and counters. Never blocks beyond the lock; logs state changes. */
void membership_apply_poll(struct membership *m, const struct poll_outcome *o, struct poll_applied *out);

/* What a poller sends along: this node's incarnation and view digest
   (membership_view_digest), read together. */
void membership_poll_view(struct membership *m, uint64_t *incarnation, char digest[17]);

/* State timers: suspect -> dead by time, a withheld verdict given once
   its excuse is older than excuse_max_s (plus one poll interval for the
   poll that would give it), forgetting long-dead peers. Returns how many
   changed. */
int membership_tick(struct membership *m, int64_t now, int poll_interval_s);

/* Copies the table (malloc'd array, caller frees) ordered by id; *n set. */
struct peer *membership_snapshot(struct membership *m, int *n);
/* Copies one peer by id; 0 or MW_ENOTFOUND. */
int membership_get(struct membership *m, const char *id, struct peer *out);
/* Removes a peer by id; 0 or MW_ENOTFOUND. */
int membership_forget(struct membership *m, const char *id);

/* Counts by state; seeds not yet contacted are left out (they are not
   nodes until they answer); unknown peers count in total only. */
void membership_counts(struct membership *m, int *total, int *alive, int *suspect, int *dead);
/* Peers whose verdict is withheld now (state unknown) and peers with an
   excuse running (excused_since set: unknown ones and suspect ones). */
void membership_count_unknown(struct membership *m, int *unknown, int *excused);

/* Poll schedule: the next peer to poll in round-robin order, skipping
   peers with a poll in flight; dead peers only every dead_every-th round.
   Copies it to out and marks it in flight. 0 when one is due, MW_ENOTFOUND
   when none. */
int membership_next_poll(struct membership *m, int dead_every, struct peer *out);
/* Number of peers the round-robin visits each interval (alive+suspect,
   plus dead/dead_every, plus seeds). */
int membership_active_count(struct membership *m, int dead_every);

/* This node's incarnation; bumped to refute a suspicion about us. */
uint64_t membership_incarnation(struct membership *m);
void membership_set_incarnation(struct membership *m, uint64_t inc);

/* Validation helpers shared with the gossip parser. */
int membership_valid_id(const char *id);
int membership_valid_fqdn(const char *s);

#endif
