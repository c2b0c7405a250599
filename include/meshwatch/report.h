/* report: snapshots of this node's view sent to reporting nodes, and the
   parser for the snapshots a reporting node receives.

   Sending is store-and-forward: every report interval a snapshot with the
   next sequence number goes into the outbox table first; a sender thread
   then delivers the outbox in order to each reporting node (POST /report),
   remembering per server the last sequence number it acknowledged, with
   exponential backoff while a server is down. Nothing is lost across
   restarts of either side; the outbox is bounded (the oldest are dropped
   and counted); a repeated delivery changes nothing on the receiver. */
#ifndef MESHWATCH_REPORT_H
#define MESHWATCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

struct node;
struct reporter;

struct reporter_stats {
	int64_t last_seq;        /* newest snapshot made */
	int outbox;              /* snapshots waiting */
	uint64_t sent, failed, dropped;
	int servers;
};

/* Reads the reporting servers from cfg.reporting_file (if any) and their
   delivery cursors from the store. Returns NULL with a reason in err on a
   bad file; a node without reporting servers makes no snapshots and gets
   a reporter that does nothing. */
struct reporter *reporter_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Starts the sender thread (none without servers). 0, or MW_EIO with a
   reason. */
int reporter_start(struct reporter *r, char *err, size_t errlen) MW_MUST_CHECK;
/* Joins the sender thread. Idempotent; accepts NULL. */
void reporter_stop(struct reporter *r);
/* Stops (if still running) and frees. Accepts NULL. */
void reporter_destroy(struct reporter *r);
void reporter_stats(struct reporter *r, struct reporter_stats *out);
/* 1 when fqdn (any case) or ip, at port, is one of this node's reporting
   servers (fixed after reporter_create: no lock). */
int reporter_is_server(const struct reporter *r, const char *fqdn, const char *ip, int port);
/* A reporting node's watch on its origins (main thread, every few
   seconds): an origin whose last report is older than three of its
   report intervals (counted from this node's start at the earliest, as
   nothing could arrive while it was down) is stale, and fresh again once
   it reports; each change is an origin_stale event and a log line. What
   the stored events last said of an origin is where a new run starts, so
   a restart repeats nothing. Reads the store; never blocks on the
   network. */
void report_watch_origins(struct node *n);

/* Builds this node's snapshot number seq (malloc'd JSON text), with the
   discovery changes of the last two report intervals. */
char *report_snapshot(struct node *n, int64_t seq);
/* The same, for a series of snapshots that together carry every
   discovery change once: those after *change_cursor (the last change id
   an earlier one carried; 0 at first: from two report intervals back;
   -1 at first: from the oldest kept),
   at most REPORT_MAX_CHANGES, oldest first; *change_cursor moves on. */
char *report_snapshot_since(struct node *n, int64_t seq, int64_t *change_cursor);

/* The inventory parts of a snapshot, each checked on its own. */
enum { REPORT_PART_TARGETS, REPORT_PART_TRAFFIC, REPORT_PART_DISCOVERY, REPORT_PARTS };
const char *report_part_name(int part);
struct report_ignored {
	int part;                    /* REPORT_PART_* */
	char reason[300];
};

/* A parsed snapshot. */
struct report {
	struct report_origin origin;
	uint64_t incarnation;
	struct report_cell *cells;   /* malloc'd; report_free releases */
	int ncells;
	struct report_inventory inv; /* its parts; report_free releases */
	struct report_ignored ignored[REPORT_PARTS]; /* malformed parts left out */
	int nignored;
};
/* Validates and parses a snapshot; at most max_peers cells. 0, or
   MW_EINVAL / MW_ETOOBIG with a sentence naming the field in why. */
int report_parse(const char *body, size_t len, int max_peers, int64_t now, struct report *out, char *why,
    size_t whylen) MW_MUST_CHECK;
void report_free(struct report *r);

/* Parses the inventory parts of a snapshot whose origin and cells
   report_parse has read (root: the whole snapshot) into out->inv; a
   malformed part is left out (has_* 0), named with the reason in
   out->ignored and counted; never fails the report. */
struct cJSON;
void report_inventory_parse(const struct cJSON *root, int64_t now, struct report *out);
/* Parts ignored since the start, by REPORT_PART_*. */
void report_inventory_ignored_counts(uint64_t out[REPORT_PARTS]);

#endif
