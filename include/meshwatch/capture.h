/* capture: libpcap (a live interface or a capture file) -> decode ->
   flowtable, with a 1-second rollup. One capture thread owns the pcap
   handle and the flow table; it publishes a flow snapshot and its counters
   for readers, and never waits on the database or on HTTP clients. Capture
   is optional and never fatal: when it cannot start, the node runs on and
   the reason is in capture_get_stats() and in the log. */
#ifndef MESHWATCH_CAPTURE_H
#define MESHWATCH_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/limits.h" /* CAPTURE_TALKERS_MAX */

#include "meshwatch/decode.h"
#include "meshwatch/flowtable.h"
#include "meshwatch/ipfix.h"
#include "meshwatch/rollup.h"
#include "meshwatch/util.h"

struct config;
struct events;
struct store;
struct capture;

enum capture_state {
	CAPTURE_OFF,        /* neither iface nor pcap configured */
	CAPTURE_STARTING,
	CAPTURE_RUNNING,
	CAPTURE_FINISHED,   /* a capture file was read to its end */
	CAPTURE_FAILED,     /* could not start, or the handle failed; see error */
	CAPTURE_STOPPED,
};

struct capture_stats {
	int state;
	char error[512];
	int offline;
	char source[512];              /* interface or file */
	char bpf[512];
	int snaplen;
	int buffer_bytes;
	int linktype;                  /* LINKTYPE_* once open */
	uint64_t packets, bytes;       /* frames seen (wire length) */
	uint64_t kernel_drops, if_drops;
	uint64_t decode[DECODE_NSTATUS]; /* frames by decode outcome */
	/* frames and bytes by protocol (ROLLUP_TCP ...; frames that did not
	   decode count as other) */
	uint64_t proto_bytes[ROLLUP_NPROTO], proto_packets[ROLLUP_NPROTO];
	uint32_t flows, max_flows;
	struct flowtable_stats ft;
	int64_t first_us, last_us;     /* packet times seen */
	double processing_s;           /* wall time spent reading a file */
	int retention_s;
	uint64_t minutes_stored, minutes_dropped;
	uint64_t talkers_left_out;     /* addresses past the per-second talker table (CAPTURE_TALKERS_MAX) */
	/* the recent-packet ring and its downloads (GET /api/capture/pcap) */
	int ring_bytes;                /* pcap_ring_bytes; 0 = off */
	uint64_t ring_used_bytes, ring_packets; /* held now */
	int downloads_active;
	uint64_t downloads_total;      /* started */
	uint64_t downloads_refused;    /* 429: PCAP_DOWNLOADS_MAX were running */
	uint64_t download_lost_bytes;  /* skipped by live downloads that fell a ring behind */
	/* IPFIX export: collector "" when off */
	char ipfix_collector[512];
	struct ipfix_stats ipfix;
};

/* The IPFIX observation domain of this node's records. */
#define CAPTURE_IPFIX_DOMAIN 1

/* The flows at one moment, shared read-only by reference counting. */
struct flow_snapshot {
	int refs;
	int64_t at_us;                 /* packet time of the snapshot */
	uint32_t n;
	struct flow flows[];
};

/* A capture set up from cfg (state CAPTURE_OFF when cfg names neither an
   interface nor a file). Its changes (running, failed, dropping, back to
   running) go to ev as capture_state events (NULL: none). NULL only when
   out of memory. */
struct capture *capture_create(const struct config *cfg, struct events *ev) MW_MUST_CHECK;
/* Opens the interface or file and starts the thread. On failure the state
   is CAPTURE_FAILED with the reason, logged once, and MW_EIO is returned;
   the caller carries on (so the result may be ignored). Call from the main
   thread (privileges). */
int capture_start(struct capture *c);
/* Stops and joins the thread; the results stay readable. Idempotent;
   accepts NULL. */
void capture_stop(struct capture *c);
/* Stops (if still running) and frees. Accepts NULL. */
void capture_destroy(struct capture *c);

void capture_get_stats(struct capture *c, struct capture_stats *out);
/* The latest published flows (a reference: release it), or NULL. */
struct flow_snapshot *capture_flows(struct capture *c);
void capture_flows_release(struct capture *c, struct flow_snapshot *s);
/* The rollup ring; NULL when capture is off. */
struct rollup *capture_rollup(struct capture *c);
/* Stores completed minutes in one transaction (main thread, once a
   second is fine: minutes arrive once a minute). */
void capture_persist(struct capture *c, struct store *st);
/* Blocks until a capture file has been read (or the thread ended). */
void capture_wait(struct capture *c);

/* ---- packet downloads: the recent-packet ring as a pcap file ---- */

struct capture_pcap;
/* Why capture_pcap_open refused. */
enum capture_pcap_refusal {
	CAPTURE_PCAP_OFF = 1,      /* capture is off */
	CAPTURE_PCAP_RING_OFF,     /* pcap_ring_bytes is 0 */
	CAPTURE_PCAP_UNAVAILABLE,  /* starting, or failed */
	CAPTURE_PCAP_BUSY,         /* PCAP_DOWNLOADS_MAX downloads are running */
	CAPTURE_PCAP_BAD_FILTER,   /* bpf does not compile (err: libpcap's message) */
	CAPTURE_PCAP_NOMEM,
};
/* A download: a reader of the ring from its oldest record, keeping only
   the records that match bpf (NULL or "": all; compiled for the
   capture's link type). NULL with *why (capture_pcap_refusal) and a
   sentence in err. Any thread; never blocks the capture. Close it. */
struct capture_pcap *capture_pcap_open(struct capture *c, const char *bpf, int *why, char *err, size_t errlen)
	MW_MUST_CHECK;
#define CAPTURE_PCAP_FILE_HDR 24
/* The pcap file header of the download: microsecond magic in host byte
   order, version 2.4, the capture's snaplen and link type. */
void capture_pcap_file_header(const struct capture_pcap *p, uint8_t out[CAPTURE_PCAP_FILE_HDR]);
/* 1 when the capture reads a file (nothing new comes after its end). */
int capture_pcap_offline(const struct capture_pcap *p);
/* The next matching record (pcap record header and data): 1 with *rec
   and *len set (valid until the next call), 0 when there is none yet.
   follow 0: stops at the newest record of when the download opened;
   1: goes on with what the capture adds. A reader more than the ring's
   size behind skips to the oldest record (capture_pcap_lost_bytes). */
int capture_pcap_next(struct capture_pcap *p, int follow, const uint8_t **rec, size_t *len);
uint64_t capture_pcap_lost_bytes(const struct capture_pcap *p);
/* Ends the download. Accepts NULL. */
void capture_pcap_close(struct capture_pcap *p);

/* Kernel drops judged a minute at a time: a live capture is dropping
   while the packets the kernel dropped in a minute exceed 1 % of those
   it offered (received + dropped). */
#define CAPTURE_DROP_WINDOW_S 60
struct capture_drop_watch {
	int64_t start;                   /* the window's start (seconds); 0 before the first */
	uint64_t packets, drops;         /* the totals at its start */
	uint64_t last_packets, last_drops; /* the last full window's counts */
	int dropping;
};
/* Feeds the running totals at time now (seconds). Returns 1 when a window
   ends dropping after one that did not, -1 when one ends clean after
   dropping, else 0. */
int capture_drop_watch_update(struct capture_drop_watch *w, int64_t now, uint64_t packets, uint64_t drops);

const char *capture_state_name(int state);
/* "ethernet", "linux_sll", ... or "unknown". */
const char *capture_linktype_name(int linktype);

#endif
