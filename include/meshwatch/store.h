/* store: the one module that speaks SQL. SQLite in WAL mode, schema
   versioned with migrations. All functions are thread-safe (one connection
   behind a mutex) and may block on disk I/O; none of them is called from a
   latency-critical loop. */
#ifndef MESHWATCH_STORE_H
#define MESHWATCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/limits.h"
#include "meshwatch/util.h"

struct store;

#define STORE_USERNAME_MAX 64
#define STORE_HASH_MAX 256

/* What a user, or a token, may do: everything, or read (GET and HEAD)
   only. Stored as the text "admin" or "read". */
enum store_role {
	ROLE_ADMIN = 0,
	ROLE_READ = 1,
};
/* "admin" or "read"; never NULL. */
const char *store_role_name(int role);
/* ROLE_ADMIN or ROLE_READ for "admin" or "read", else -1. */
int store_role_parse(const char *name);

struct user_row {
	int64_t id;
	char username[STORE_USERNAME_MAX + 1];
	int64_t created_at;
	int64_t updated_at;
	int role;                  /* ROLE_* */
};

/* Opens (creating if needed) DIR/meshwatch.db and migrates it to the
   current schema. Returns NULL and writes a reason to err. */
struct store *store_open(const char *dir, char *err, size_t errlen) MW_MUST_CHECK;
/* Closes the database; accepts NULL. */
void store_close(struct store *st);

int store_schema_version(struct store *st);
const char *store_path(const struct store *st);
/* Size of the database file plus its WAL, in bytes. */
int64_t store_size_bytes(struct store *st);

/* Proves the database takes writes (a small transaction on the meta
   table). 0, or MW_EDB with SQLite's message in err. */
int store_check_writable(struct store *st, char *err, size_t errlen);

/* meta: small key/value pairs. get returns MW_ENOTFOUND when absent. */
int store_meta_get(struct store *st, const char *key, char *out, size_t outlen);
int store_meta_set(struct store *st, const char *key, const char *value) MW_MUST_CHECK;

/* Users. create returns MW_EEXIST for a taken name and MW_ETOOBIG when
   max_users already exist. hash is the encoded password hash.
   store_user_create makes an administrator; _role one with role (ROLE_*). */
int store_user_create(struct store *st, const char *username, const char *hash, int max_users,
    struct user_row *out) MW_MUST_CHECK;
int store_user_create_role(struct store *st, const char *username, const char *hash, int role, int max_users,
    struct user_row *out) MW_MUST_CHECK;
int store_user_get(struct store *st, int64_t id, struct user_row *out);
/* Also copies the password hash into hash (hashlen bytes) when not NULL. */
int store_user_get_by_name(struct store *st, const char *username, struct user_row *out, char *hash,
    size_t hashlen);
/* NULL (role: -1) leaves a field unchanged; a changed password ends the
   user's sessions except keep_session_hash (may be NULL). MW_ELAST, and
   nothing changed, when role is ROLE_READ and id is the only
   administrator. */
int store_user_update(struct store *st, int64_t id, const char *username, const char *hash, int role,
    const char *keep_session_hash) MW_MUST_CHECK;
int store_user_delete(struct store *st, int64_t id) MW_MUST_CHECK;
/* store_user_delete, but MW_ELAST (and nothing deleted) when id is the
   only administrator: checked and done in one transaction. */
int store_user_delete_keep_admin(struct store *st, int64_t id) MW_MUST_CHECK;
int store_user_count(struct store *st);
/* Lists users whose name contains q (NULL or "" for all), ordered by id.
   *rows is malloc'd (caller frees), *n rows, *total matching in all. */
int store_user_list(struct store *st, const char *q, int limit, int offset, struct user_row **rows,
    int *n, int *total);

/* Sessions, keyed by the SHA-256 (hex) of the token. */
int store_session_create(struct store *st, const char *token_hash, int64_t user_id, int64_t expires_at) MW_MUST_CHECK;
/* MW_ENOTFOUND when unknown or expired at now. */
int store_session_lookup(struct store *st, const char *token_hash, int64_t now, struct user_row *user);
int store_session_delete(struct store *st, const char *token_hash);
/* Deletes sessions expired at now; returns how many, or a negative code. */
int store_session_purge(struct store *st, int64_t now);
int store_session_count(struct store *st);

/* API tokens: machine credentials with a name and a scope (ROLE_*),
   keyed, like sessions, by the SHA-256 (hex) of the secret, which the
   store never sees. Times in seconds; 0 for never (expires_at) or not
   yet (last_used_at). */
#define STORE_TOKEN_NAME_MAX 64
struct token_row {
	int64_t id;
	char name[STORE_TOKEN_NAME_MAX + 1];
	int scope;                 /* ROLE_* */
	int64_t created_at;
	int64_t expires_at;
	int64_t last_used_at;
};
/* MW_EEXIST for a taken name (or hash), MW_ETOOBIG when max tokens
   exist already. out gets the new row when not NULL. */
int store_token_create(struct store *st, const char *name, int scope, const char *token_hash, int64_t expires_at,
    int max, struct token_row *out) MW_MUST_CHECK;
int store_token_get(struct store *st, int64_t id, struct token_row *out);
/* The token whose secret hashes to token_hash, expired or not (the caller
   tells the two apart, to say which): 0, or MW_ENOTFOUND. A token found
   and not expired at now has last_used_at set to now when it was older
   than touch_s: at most one write per token per touch_s seconds. */
int store_token_lookup(struct store *st, const char *token_hash, int64_t now, int touch_s, struct token_row *out);
/* 0, or MW_ENOTFOUND. The token stops working at once. */
int store_token_delete(struct store *st, int64_t id) MW_MUST_CHECK;
int store_token_count(struct store *st);
/* Tokens ordered by id; *rows is malloc'd (caller frees), *n rows,
   *total in all. */
int store_token_list(struct store *st, int limit, int offset, struct token_row **rows, int *n, int *total);

/* The mesh. The store keeps its own rows: the mesh converts its peer
   table to and from them. */

struct poll_row {
	char peer_id[37];
	int64_t ts;
	int ok;
	char error[24];
	double connect_ms, tls_ms, ttfb_ms, total_ms;  /* < 0: not reached (stored as NULL) */
	double rtt_avg_ms, jitter_ms, loss;            /* < 0: no UDP data */
	int excused;   /* failed while this node was overloaded: the peer's verdict was withheld */
};

/* What is remembered of a peer across restarts. */
struct store_peer_row {
	char id[37];
	char fqdn[256];
	char ip[64];
	int port;
	int state;                       /* enum peer_state */
	uint64_t incarnation;
	int64_t first_seen, last_seen;   /* wall-clock seconds */
	char pin[65];                    /* SHA-256 of its public key (hex), "" none */
	int64_t pinned_at;
};

/* Saves every row with an id and deletes the peers not among them (one
   transaction). */
int store_peers_save(struct store *st, const struct store_peer_row *peers, int n) MW_MUST_CHECK;
/* Loads saved peers into a malloc'd array (caller frees). */
int store_peers_load(struct store *st, struct store_peer_row **out, int *n);
int store_peer_delete(struct store *st, const char *id);

/* Poll counts of one peer since a time, in 5-minute buckets (malloc'd). */
struct store_bucket {
	int64_t t;     /* the bucket's start, wall-clock seconds */
	int n, ok;     /* polls, successful ones */
};
int store_poll_buckets(struct store *st, const char *peer_id, int64_t since, struct store_bucket **out, int *n);

/* Inserts poll results in one transaction. */
int store_polls_insert(struct store *st, const struct poll_row *rows, int n) MW_MUST_CHECK;

struct pmtu_row {
	int64_t measured_at;
	int value, probes, black_hole;
	char method[24];
};
/* Adds a PMTU measurement to the history. */
int store_pmtu_insert(struct store *st, const char *peer_id, const struct pmtu_row *p) MW_MUST_CHECK;
/* Newest first, at most limit; *rows malloc'd. */
int store_pmtu_list(struct store *st, const char *peer_id, int limit, struct pmtu_row **rows, int *n);

/* History of one peer between from and to (seconds) in step-second
   buckets, from raw polls and 5-minute buckets. */
struct hist_row {
	int64_t t;
	int polls, ok;
	int excused;   /* failed polls among them made while this node was overloaded */
	double connect_ms, tls_ms, ttfb_ms, total_ms, rtt_avg_ms, jitter_ms, loss; /* < 0: no data */
	/* the lowest and highest RTT of the polls (or 5-minute buckets) in the
	   bucket: the spread that the average hides; < 0: no data */
	double rtt_min_ms, rtt_max_ms;
};
int store_poll_history(struct store *st, const char *peer_id, int64_t from, int64_t to, int step,
    struct hist_row **rows, int *n);

struct maint_stats {
	int downsampled, expired, capped;   /* rows */
	int64_t size_before, size_after;
};
/* Sets the size cap the writer enforces: once 1/32 of max_bytes has been
   written since the last check, the thread whose write got there checks
   the file (database + WAL) before releasing the store, and when it leaves
   less room than two such slices plus twice the largest recent write
   transaction, removes the oldest history (as store_maintain does) until
   that room plus 1/8 of max_bytes is free. The file then stays under
   max_bytes unless the cap cannot hold the irreducible data plus that
   room (logged; see store.c). Replaces SQLite's auto-checkpoint with one
   sized from the cap. Never fails; a later call changes the cap, and
   store_maintain sets it too. */
void store_set_size_cap(struct store *st, int64_t max_bytes);

/* Moves raw polls older than raw_keep_s into 5-minute buckets, drops
   buckets older than keep_s, and while the file is larger than max_bytes
   deletes the oldest history (buckets first, then raw polls) and reclaims
   the pages. Never touches users, sessions or peers. Sets max_bytes as
   the cap the writer checks (store_set_size_cap). */
int store_maintain(struct store *st, int64_t now, int64_t raw_keep_s, int64_t keep_s, int64_t max_bytes,
    struct maint_stats *ms);

/* Reporting: the outbox (this node's snapshots on their way out). */

/* Appends snapshot number seq, which must be store_outbox_last_seq() + 1
   (one thread adds); past max_rows the oldest rows are dropped and
   *dropped says how many. MW_EEXIST when seq is not the next number. */
int store_outbox_add(struct store *st, int64_t seq, const char *body, int64_t now, int max_rows, int *dropped) MW_MUST_CHECK;
/* The oldest snapshot with a sequence number above after: 0 with a malloc'd
   body, MW_ENOTFOUND when there is none. */
int store_outbox_next(struct store *st, int64_t after, int64_t *seq, char **body);
/* Per-server progress ("ip:port" keys). get returns 0 when unknown. */
int64_t store_report_acked(struct store *st, const char *server);
int store_report_ack(struct store *st, const char *server, int64_t seq) MW_MUST_CHECK;
/* Deletes outbox rows every server has acknowledged (<= seq). */
int store_outbox_trim(struct store *st, int64_t seq);
int store_outbox_count(struct store *st);
/* The highest sequence number handed out so far (0 when none). */
int64_t store_outbox_last_seq(struct store *st);

/* Reporting: what a node receives. */
struct report_cell {
	char peer[37];
	char fqdn[256];
	char ip[64];
	int state;
	double rtt_ms, loss, total_ms;   /* < 0: not measured */
	int pmtu;                        /* 0: not measured */
	int64_t t;                       /* when the origin measured it */
};
struct report_origin {
	char id[37];
	char fqdn[256];
	char ip[64];
	int port;
	int64_t last_seq, generated_at, received_at;
	int interval_s;
	int reports;
};
/* Stores one report: MW_EEXIST when (origin, seq) was stored before, or
   is older than the oldest sequence number still remembered for that
   origin (nothing changes). A new origin past max_origins replaces the
   stalest origin that is stale (no report for three of its intervals),
   with everything it sent; when none is stale: MW_ETOOBIG, nothing
   changes. An origin's latest cells are kept to max_cells (the most
   recently measured). Else 0. One transaction. */
int store_report_insert(struct store *st, const struct report_origin *o, const struct report_cell *cells, int n,
    int max_origins, int max_cells, int64_t now) MW_MUST_CHECK;
/* Origins stored (-1 on a database error). */
int store_report_origin_count(struct store *st);
/* Origins ordered by fqdn then id, from offset, at most limit of them
   (*out malloc'd, *n set). */
int store_report_origins(struct store *st, int offset, int limit, struct report_origin **out, int *n);
/* The latest cells of one origin ordered by peer, at most max (*out
   malloc'd, *n set; fqdn and ip filled). */
int store_report_latest(struct store *st, const char *origin, int max, struct report_cell **out, int *n);
/* History of one pair (origin -> peer) between from and to. */
int store_report_history(struct store *st, const char *origin, const char *peer, int64_t from, int64_t to,
    struct report_cell **out, int *n);
/* Sequence numbers received from origin between lo and hi (for tests). */
int store_report_seq_count(struct store *st, const char *origin);

/* ---------- TCP targets (store_targets.c) ---------- */

#define TARGET_NAME_MAX 128
#define TARGET_HOST_MAX 253

enum target_state { TS_UNKNOWN, TS_UP, TS_REFUSED, TS_TIMEOUT, TS_UNREACHABLE, TS_DNS_ERROR, TS_COUNT };

struct target_row {
	int64_t id;
	char name[TARGET_NAME_MAX + 1];
	char host[TARGET_HOST_MAX + 1];
	int port;
	int interval_s;
	int timeout_ms;
	int retention_period;
	char retention_unit[8];       /* minutes hours days weeks months */
	int enabled;
	int64_t created_at, updated_at;
	/* last check, written by store_checks_insert */
	int state;                    /* enum target_state */
	int64_t last_check_ms;        /* 0: never */
	double last_connect_ms;       /* < 0: none */
	char last_error[96];
	/* checked from many vantage points (meshtargets.c) */
	int mesh;                     /* 1: distributed to the mesh */
	char vantage[MESH_TARGET_VANTAGE_MAX * 37]; /* node ids "a,b"; "": every node */
	char origin_id[37];           /* "": this node's own; else the node it is checked for */
	char origin_fqdn[256];
	int64_t origin_target;        /* the target's id on that node */
};

/* A vantage point's last word on one of this node's mesh targets. */
struct vantage_row {
	char node_id[37];
	char fqdn[256];
	int state;                    /* enum target_state */
	double connect_ms;            /* < 0: none */
	int64_t checked_ms;           /* when it checked (its clock) */
	int64_t received_at;          /* when it reached this node (s) */
	int recent_checks;            /* its last (up to 32) checks ... */
	double recent_up;             /* ... and the share that was up, < 0 when none */
	char error[96];
};

struct check_row {
	int64_t target_id;
	int64_t ts_ms;                /* wall clock, when the check started */
	int state;                    /* enum target_state */
	double connect_ms;            /* < 0 when it failed */
	char error[96];
};

/* MW_ETOOBIG when max targets exist. out gets the stored row. */
int store_target_create(struct store *st, const struct target_row *in, int max, struct target_row *out) MW_MUST_CHECK;
int store_target_get(struct store *st, int64_t id, struct target_row *out);          /* MW_ENOTFOUND */
int store_target_update(struct store *st, const struct target_row *in) MW_MUST_CHECK;              /* config fields */
int store_target_delete(struct store *st, int64_t id) MW_MUST_CHECK;                               /* and its history */
/* q matches name or host (substring); enabled -1 = any; state -1 = any. */
int store_target_list(struct store *st, const char *q, int enabled, int state, int limit, int offset,
    struct target_row **rows, int *n, int *total);
int store_target_count(struct store *st);
/* This node's own mesh targets (at most max, by id), or the copies
   checked here for another node (origin != NULL: that node's; "": any). */
int store_mesh_targets(struct store *st, const char *origin, int max, struct target_row **rows, int *n) MW_MUST_CHECK;
/* Copies checked here for origin: the new list replaces the old one. Each
   item (origin_target, config fields) is added or updated, copies no
   longer listed are deleted with their history. The ids of the rows
   added or changed go to changed, of those deleted to removed (each of
   room max, the caller's arrays); a count over max_total copies from all
   origins stops adding (*refused counts those left out). 0 or MW_EDB. */
int store_mesh_targets_sync(struct store *st, const char *origin, const char *origin_fqdn, const struct target_row *items,
    int n, int max_total, int64_t *changed, int *nchanged, int64_t *removed, int *nremoved, int max, int *refused)
    MW_MUST_CHECK;
/* A vantage point's result for one of this node's targets (upsert). */
int store_vantage_put(struct store *st, int64_t target_id, const struct vantage_row *v) MW_MUST_CHECK;
/* Every vantage point's last result for a target (at most max). */
int store_vantage_list(struct store *st, int64_t target_id, int max, struct vantage_row **rows, int *n) MW_MUST_CHECK;
/* Results and the targets' last state, one transaction. */
int store_checks_insert(struct store *st, const struct check_row *rows, int n) MW_MUST_CHECK;
/* Raw checks of one target in [from_ms, to_ms), oldest first, at most max. */
int store_target_checks(struct store *st, int64_t id, int64_t from_ms, int64_t to_ms, int max, struct check_row **rows,
    int *n);
/* Deletes each target's checks older than its retention; returns rows deleted. */
int store_targets_purge(struct store *st, int64_t now_ms);
/* Retention of a period and unit in seconds; 0 for an unknown unit. */
int64_t target_retention_s(int period, const char *unit);
const char *target_state_name(int state);
int target_state_parse(const char *s); /* -1 when unknown */
/* Traffic: per-minute counters (store_traffic.c). */
struct rollup_sec;
/* Adds the minutes (t = minute start) in one transaction; a minute already
   stored is added to. 0 or MW_EDB. */
int store_traffic_minutes_add(struct store *st, const struct rollup_sec *rows, int n) MW_MUST_CHECK;
/* The minutes in [from, to) summed into step-second buckets starting at
   from (step >= 60; t = the bucket's start), oldest first, at most max
   buckets, empty ones left out; *out malloc'd. MW_EINVAL for a bad step
   or range. */
int store_traffic_minutes_range(struct store *st, int64_t from, int64_t to, int step, int max, struct rollup_sec **out,
    int *n);
/* ---- discovery (store_discovery.c) ---- */

#define DISC_IP_MAX 16
#define DISC_BANNER_MAX 256

struct scan_row {
	int64_t id;
	int64_t created_at, started_at, finished_at; /* 0: not yet */
	char state[12];            /* queued, running, completed, failed, cancelled */
	char trigger[12];          /* api, schedule or mesh (another node asked) */
	char subnets[1024];        /* "10.0.0.0/24,10.0.1.0/24" */
	char ports[1024];          /* "22,80,8000-8010" (ranges folded) */
	int nports;
	int hosts_total, hosts_done, hosts_up, found;  /* found: open ports */
	int open, closed, filtered;
	char error[200];
	/* a scan another node of the mesh asked this node to run: who asked
	   ("" when asked here) */
	char requested_by_id[37];
	char requested_by_fqdn[256];
	/* a scan this node asked another node to run: that node and the
	   scan's id there ("" and 0 when it ran here) */
	char node_id[37];
	char node_fqdn[256];
	int64_t remote_id;
};

struct disc_service {
	char ip[DISC_IP_MAX];
	int port;
	char proto[4];
	char state[10];            /* open, closed, filtered */
	char service[64];
	char confidence[8];
	char banner[DISC_BANNER_MAX];
	char title[128];
	char tls_subject[160];
	int64_t first_seen, last_seen;
};

struct disc_host {
	char ip[DISC_IP_MAX];
	char mac[18];
	char vendor[96];
	char hostname[256];
	char hostname_source[8];   /* dns, service, docker, ip */
	char source[8];            /* scan or docker */
	char detail[160];          /* docker: image and network */
	int64_t first_seen, last_seen;
	int gone;
	int nsvc;
	struct disc_service *svc;  /* malloc'd */
};

struct disc_change {
	int64_t id, t, scan_id;
	char ip[DISC_IP_MAX];
	char kind[16];             /* new_host, port_opened, port_closed, host_gone, host_back */
	int port;                  /* 0 for host changes */
	char detail[160];
};

/* What one apply changed: every change counted, by kind too, and the
   first max_rows of those that are events (new_host, port_opened,
   port_closed) copied to rows, the caller's array (NULL: counts only). */
struct disc_changes {
	int total;
	int new_host, host_back, port_opened, port_closed, host_gone;
	struct disc_change *rows;
	int nrows, max_rows;
};

/* One port's result in a scan (for GET /api/scans/{id}/results). */
struct disc_result {
	char ip[DISC_IP_MAX];
	int port;
	char state[10];
};

/* Bounds the discovery tables hold to (config). */
struct disc_limits {
	int max_hosts, max_changes, keep_scans, max_results_per_scan;
};

/* Scans: create fills row->id; update writes state, times, counts and
   error. get returns MW_ENOTFOUND for an unknown id. */
int store_scan_create(struct store *st, struct scan_row *row) MW_MUST_CHECK;
int store_scan_update(struct store *st, const struct scan_row *row) MW_MUST_CHECK;
int store_scan_get(struct store *st, int64_t id, struct scan_row *out);
/* Newest first; state "" for all. *rows malloc'd. */
int store_scan_list(struct store *st, const char *state, int limit, int offset, struct scan_row **rows, int *n,
    int *total);
/* Scans left queued or running by a previous run become failed; those
   another node runs for this one (node_id set) go on there and stay. */
int store_scans_interrupted(struct store *st, int64_t now) MW_MUST_CHECK;
/* The scans another node runs for this one that are still queued or
   running here, oldest first, at most max into *rows (malloc'd). 0 or
   MW_EDB. */
int store_scans_remote_active(struct store *st, int max, struct scan_row **rows, int *n) MW_MUST_CHECK;
/* Stores the per-port results another node found for scan scan_id (its
   earlier ones replaced), in one transaction. 0 or MW_EDB. */
int store_scan_results_put(struct store *st, int64_t scan_id, const struct disc_result *results, int n) MW_MUST_CHECK;

/* Records a finished scan in one transaction: hosts up (with their open
   services) are inserted or refreshed; against what was known before it
   records new_host, host_back, port_opened, port_closed (an open port of a
   scanned host within the scanned ports that is no longer open) and
   host_gone (a known scanned host in the scanned range that did not
   answer) changes, counted (and the first kept) in *changes; results holds the per-port outcomes kept for the scan.
   scanned (sorted, host order) and ports say what the scan covered. Then
   trims the tables to lim. Returns 0 or MW_EDB. */
int store_discovery_apply(struct store *st, int64_t scan_id, int64_t now, const struct disc_host *hosts, int nhosts,
    const uint32_t *scanned, int nscanned, const uint16_t *ports, int nports, const struct disc_result *results,
    int nresults, const struct disc_limits *lim, struct disc_changes *changes) MW_MUST_CHECK;
/* Containers from the container engine: upserts them as hosts with
   source "docker" and their ports as services; containers no longer listed
   are marked gone (host_gone change). */
int store_discovery_apply_docker(struct store *st, int64_t now, const struct disc_host *hosts, int n,
    const struct disc_limits *lim, struct disc_changes *changes) MW_MUST_CHECK;

/* Hosts whose ip, hostname, mac or vendor contains q, with a service whose
   name contains service, with an open port, exact ip; ordered by address.
   Empty / 0 filters are off. Each host's services are attached (free with
   store_hosts_free). */
int store_hosts_list(struct store *st, const char *q, const char *service, int port, const char *ip, int limit,
    int offset, struct disc_host **rows, int *n, int *total);
void store_hosts_free(struct disc_host *rows, int n);
/* Services (flat), same filters as hosts plus state. *rows malloc'd. */
int store_services_list(struct store *st, const char *q, const char *service, int port, const char *state,
    int limit, int offset, struct disc_service **rows, int *n, int *total);
/* Changes at or after since (seconds), newest first, optional kind and ip. */
int store_changes_list(struct store *st, int64_t since, const char *kind, const char *ip, int limit, int offset,
    struct disc_change **rows, int *n, int *total);
/* Changes after id after_id at or after since (seconds), oldest first:
   the next ones for a reader that remembers the last id it took. */
int store_changes_after(struct store *st, int64_t after_id, int64_t since, int limit, struct disc_change **rows,
    int *n);
/* Per-port results of a scan, optional state filter, ordered by address. */
int store_scan_results(struct store *st, int64_t scan_id, const char *state, int limit, int offset,
    struct disc_result **rows, int *n, int *total);
/* Counts for /metrics and reports. */
int store_discovery_counts(struct store *st, int *hosts, int *hosts_up, int *services, int *changes);
/* Open services counted by service name ("unknown" for unnamed), most
   common first, at most max; returns how many, or MW_EDB. */
struct name_count {
	char name[64];
	int count;
};
int store_services_by_name(struct store *st, struct name_count *out, int max);
/* Forgets a discovered host and its services (its changes stay): 0,
   MW_ENOTFOUND or MW_EDB. A later scan that finds it adds it again. */
int store_host_delete(struct store *st, const char *ip) MW_MUST_CHECK;

/* Events: what changed, when, to what, and on what evidence. */
enum event_severity { EVENT_INFO, EVENT_WARNING, EVENT_CRITICAL, EVENT_SEVERITY_COUNT };
const char *event_severity_name(int s);
int event_severity_parse(const char *s); /* -1 when unknown */

#define EVENT_KIND_MAX 32
#define EVENT_SUBJECT_MAX 128
#define EVENT_VALUE_MAX 64
#define EVENT_EVIDENCE_MAX 1024

struct event_row {
	int64_t id;       /* 0 until stored */
	int64_t ts_ms;
	char kind[EVENT_KIND_MAX];         /* peer_state, target_state, cert_expiry, ... */
	char subject_type[16];             /* peer, pair, target, interface, host, node */
	char subject[EVENT_SUBJECT_MAX];   /* its id (peer UUID, target id, address) */
	char subject_name[EVENT_SUBJECT_MAX];
	int severity;                      /* enum event_severity */
	char old_value[EVENT_VALUE_MAX], new_value[EVENT_VALUE_MAX];
	char evidence[EVENT_EVIDENCE_MAX]; /* a JSON object */
};

/* Inserts n events in one transaction (with their ids when set, and an
   id already stored is not written twice), then keeps only the newest
   max_rows (0: no bound). 0 or MW_EDB. */
int store_events_add(struct store *st, const struct event_row *rows, int n, int max_rows) MW_MUST_CHECK;

struct event_filter {
	const char *kind, *subject_type, *subject;  /* NULL or "": any */
	int64_t since_ms, until_ms;                 /* until 0: no end */
	int min_severity;
	int64_t after_id;                           /* only ids above it (0: all) */
	int limit, offset;
};
/* The newest stored event's id (0: none, or the database unreadable). */
int64_t store_events_last_id(struct store *st);
/* Newest first; *rows malloc'd (caller frees), *n of them, *total match. */
int store_events_list(struct store *st, const struct event_filter *f, struct event_row **rows, int *n, int *total);


/* Alerts (store_alerts.c): rules and silences kept as JSON documents, the
   alerts themselves, and the notification outbox. */
struct store_doc {
	int64_t id;
	char *body;      /* malloc'd */
	int64_t t;       /* a silence's end; an outbox row's creation (ms) */
};
void store_docs_free(struct store_doc *d, int n);
/* Up to max rules, oldest first; *out malloc'd (store_docs_free). */
int store_alert_rules_load(struct store *st, int max, struct store_doc **out, int *n) MW_MUST_CHECK;
/* Inserts (*id 0, given back) or replaces rule *id. MW_EEXIST when the
   name is taken, MW_ENOTFOUND for an unknown id, MW_EDB. */
int store_alert_rule_put(struct store *st, int64_t *id, const char *name, const char *body) MW_MUST_CHECK;
int store_alert_rule_delete(struct store *st, int64_t id) MW_MUST_CHECK;
/* Silences that end after now (their ends_at in t). */
int store_silences_load(struct store *st, int64_t now, int max, struct store_doc **out, int *n) MW_MUST_CHECK;
int store_silence_add(struct store *st, int64_t ends_at, const char *body, int64_t *id) MW_MUST_CHECK;
int store_silence_delete(struct store *st, int64_t id) MW_MUST_CHECK;

struct store_alert {
	int64_t id, rule_id, updated_at;
	const char *state;    /* pending, firing, resolved */
	const char *subject;
	const char *body;     /* the alert as the API shows it, JSON */
};
/* Writes an alert (by id); past max_rows alerts the oldest resolved go. */
int store_alert_put(struct store *st, const struct store_alert *a, int max_rows) MW_MUST_CHECK;
int64_t store_alerts_last_id(struct store *st);
/* Newest first; state "" all, "active" pending + firing, or one state. */
int store_alerts_list(struct store *st, const char *state, int limit, int offset, struct store_doc **out, int *n,
    int *total) MW_MUST_CHECK;
/* One alert's JSON (malloc'd), or MW_ENOTFOUND. */
int store_alert_get(struct store *st, int64_t id, char **body) MW_MUST_CHECK;

/* Appends a message for channel; past max_rows of the channel its oldest
   go (*dropped says how many). The new row's id in *id. */
int store_notify_add(struct store *st, const char *channel, const char *body, int64_t now_ms, int max_rows,
    int64_t *id, int *dropped) MW_MUST_CHECK;
/* The channel's oldest message (body malloc'd, t = created ms), or
   MW_ENOTFOUND. */
int store_notify_next(struct store *st, const char *channel, struct store_doc *out) MW_MUST_CHECK;
int store_notify_delete(struct store *st, int64_t id) MW_MUST_CHECK;
int store_notify_count(struct store *st, const char *channel);

/* ---- received inventory (store_inventory.c) ----
   What the reports of each origin say besides their matrix cells: the
   hosts its discovery found, its TCP targets, its newest traffic second
   and its discovery changes. Targets and traffic are replaced by each
   newer report; hosts are upserted (the earliest first_seen kept, at most
   INVENTORY_MAX_HOSTS per origin, the least recently seen go); changes
   are appended once each (origin, t, ip, kind, port), at most
   INVENTORY_MAX_CHANGES per origin. An origin forgotten (replaced past
   max_origins, or shed by the size cap) takes its inventory with it; the
   size cap sheds the inventory of stale origins first, then the oldest
   changes. This node's own inventory is stored the same way under its
   own id (store_inventory_set_self). */

#define INV_IP_MAX 46

struct inv_service {
	int port;
	char proto[8];                /* tcp, udp */
	char service[64];
	char confidence[16];
};

/* Where a row read back came from: the origin, its name and freshness
   (received_at 0 and interval_s 0 for this node's own rows, which have
   no origins row). */
struct inv_src {
	char id[37];
	char fqdn[256];
	int64_t received_at;          /* the origin's last report */
	int interval_s;
	int64_t updated_at;           /* the inventory's last write */
};

struct inv_host {
	struct inv_src src;           /* reads only */
	char ip[INV_IP_MAX];
	char mac[18];
	char vendor[96];
	char hostname[256];
	int gone;
	int64_t first_seen, last_seen;
	int nsvc;
	struct inv_service *svc;      /* malloc'd (at most REPORT_MAX_SERVICES) */
};

struct inv_target {
	struct inv_src src;           /* reads only */
	int64_t id;
	char name[TARGET_NAME_MAX + 1];
	char host[TARGET_HOST_MAX + 1];
	int port;
	char state[16];
	double success_ratio;         /* < 0: none */
	int64_t last_check;           /* 0: never */
};

struct inv_talker {
	char ip[INV_IP_MAX];
	uint64_t bytes, packets;
};

struct inv_proto {
	char name[16];
	uint64_t bytes;
};

struct inv_traffic {
	struct inv_src src;           /* reads only */
	char state[16];
	int64_t t;                    /* the newest second; 0: none */
	double pps, bps;
	uint64_t packets, bytes, drops;          /* of that second */
	uint64_t packets_total, bytes_total, drops_total;
	int flows;
	int nproto;
	struct inv_proto proto[INVENTORY_MAX_PROTOS];
	int ntalkers;
	struct inv_talker talkers[INVENTORY_MAX_TALKERS];
	int64_t generated_at;
};

struct inv_change {
	struct inv_src src;           /* reads only */
	int64_t t;
	char ip[INV_IP_MAX];
	char kind[16];
	int port;                     /* 0 for host changes */
	char detail[160];
};

/* One report's inventory. A part with has_* = 0 was absent or ignored
   (malformed): it changes nothing stored. */
struct report_inventory {
	int has_targets, has_traffic, has_discovery;
	struct inv_target *targets;   /* malloc'd */
	int ntargets;
	struct inv_traffic traffic;
	struct inv_host *hosts;       /* malloc'd, each with its svc */
	int nhosts;
	struct inv_change *changes;   /* malloc'd */
	int nchanges;
};
void store_inventory_free(struct report_inventory *inv);

/* store_report_insert, with the report's inventory (NULL: none) stored in
   the same transaction once the report is accepted. Targets and traffic
   are replaced only by a report generated no earlier than the one that
   wrote them. */
int store_report_insert_inventory(struct store *st, const struct report_origin *o, const struct report_cell *cells,
    int n, const struct report_inventory *inv, int max_origins, int max_cells, int64_t now) MW_MUST_CHECK;
/* This node's own inventory under its own id (no origins row): the same
   replace/upsert/append as a report's. 0 or MW_EDB. */
int store_inventory_set_self(struct store *st, const char *id, int interval_s, const struct report_inventory *inv,
    int64_t now) MW_MUST_CHECK;
/* When this node's own inventory was last written (0: never). */
int64_t store_inventory_self_updated(struct store *st, const char *id);

/* The id of the stored origin whose id or fqdn (any case) is name (the
   most recently reporting one), or MW_ENOTFOUND. */
int store_inventory_origin_id(struct store *st, const char *name, char id[37]) MW_MUST_CHECK;

/* Hosts one item per address: the addresses (ordered) whose rows match
   origin (id; "" all), q (ip, hostname, vendor or mac substring; ""
   off) and service (a service name, exact; "" off), limit/offset over
   addresses, *total of them; *rows are every origin's row of those
   addresses, by address then origin (at most INVENTORY_READ_MAX_ROWS;
   *cut set when rows were left out). Free with store_inventory_hosts_free. */
int store_inventory_hosts(struct store *st, const char *origin, const char *q, const char *service, int limit,
    int offset, struct inv_host **rows, int *n, int *total, int *cut) MW_MUST_CHECK;
void store_inventory_hosts_free(struct inv_host *rows, int n);
/* Targets of origin ("" all) whose name or host contains q, by origin
   name, target name, id. *rows malloc'd. */
int store_inventory_targets(struct store *st, const char *origin, const char *q, int limit, int offset,
    struct inv_target **rows, int *n, int *total) MW_MUST_CHECK;
/* Traffic rows of origin ("" all) by origin name. *rows malloc'd. */
int store_inventory_traffic(struct store *st, const char *origin, int limit, int offset, struct inv_traffic **rows,
    int *n, int *total) MW_MUST_CHECK;
/* Mesh totals over every traffic row of origin ("" all): sums of the
   totals, and of the newest second's rates of the origins fresh at now. */
struct inv_traffic_totals {
	int origins, fresh;
	double pps, bps;
	uint64_t packets_total, bytes_total, drops_total;
};
int store_inventory_traffic_totals(struct store *st, const char *origin, const char *self_id, int64_t now,
    struct inv_traffic_totals *out) MW_MUST_CHECK;
/* Changes of origin ("" all), ip containing q, kind exact ("" off),
   newest first. *rows malloc'd. */
int store_inventory_changes(struct store *st, const char *origin, const char *q, const char *kind, int limit,
    int offset, struct inv_change **rows, int *n, int *total) MW_MUST_CHECK;
/* Per origin (this node's own included) the rows it has. */
struct inv_origin_count {
	struct inv_src src;
	int hosts, targets, changes, traffic;
};
int store_inventory_origins(struct store *st, int limit, int offset, struct inv_origin_count **rows, int *n,
    int *total) MW_MUST_CHECK;

#endif
