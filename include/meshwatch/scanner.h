/* scanner: discovery scans. One scanner thread owns the queue of scans
   (bounded, one scan at a time) and everything that may block: TLS
   probes, reverse DNS, reading the neighbour table, the container engine
   and the database. The port sweep itself runs on the prober's event loop
   (non-blocking connects, banners, HTTP), posted there with evloop_post;
   the scanner thread waits for it to finish.

   Port states: open (connect succeeded), closed (refused), filtered (no
   answer within scan_timeout_ms after scan_retries retries, or host/admin
   unreachable). Sockets close with an RST (SO_LINGER 0), so a scan leaves
   no TIME_WAIT behind; at most scan_host_window distinct hosts are probed
   at once so the kernel's neighbour table is never flooded. */
#ifndef MESHWATCH_SCANNER_H
#define MESHWATCH_SCANNER_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/limits.h" /* SCAN_RAW_MAX, SCAN_TLS_MAX */
#include "meshwatch/scan.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

struct node;
struct scanner;
struct svcdb;
struct remotescan;

#define SCAN_TLS_THREADS 4
#define SCAN_RDNS_THREADS 4

struct scanner_stats {
	uint64_t scans_completed, scans_failed, scans_cancelled;
	uint64_t probes, open, closed, filtered;
	uint64_t docker_runs;
	int peak_connects;          /* the last sweep's most connects in flight */
	int peak_hosts;             /* and most distinct hosts probed at once */
	int queued;
	int running;                /* 1 while a scan runs */
};

/* Loads the service definitions (services_file) and works out the allowed
   subnets (scan_subnets, else the directly connected ones); makes the
   remote scan follower, which scanner_start starts and scanner_stop
   stops. NULL with a
   reason naming the option to fix. The node's prober must exist. */
struct scanner *scanner_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Marks scans a previous run left unfinished as failed and starts the
   thread. 0, or MW_EIO with a reason. */
int scanner_start(struct scanner *s, char *err, size_t errlen) MW_MUST_CHECK;
/* Cancels the running scan, waits for its sweep to drain from the loop,
   joins the thread and marks queued scans failed in the store. Call before
   the prober stops. Idempotent; accepts NULL. */
void scanner_stop(struct scanner *s);
/* Stops (if still running) and frees. Accepts NULL. */
void scanner_destroy(struct scanner *s);

/* Validates and queues a scan. subnets/ports are the request's items
   (NULL/0: the allowed subnets; the built-in and scan_ports ports).
   Returns 0 with the queued scan in out; MW_EINVAL with err naming the
   bad subnet/port/limit (400); MW_ELIMIT when the queue is full (429). */
int scanner_submit(struct scanner *s, const char *const *subnets, int nsubnets, const char *const *ports,
    int nports, const char *trigger, struct scan_row *out, char *err, size_t errlen);
/* scanner_submit for another member of the mesh (trigger "mesh"): the
   scan records who asked (by_id, by_fqdn). Also MW_ETOOBIG (429) when
   that member has REMOTE_SCANS_PER_ASKER scans queued or running here. */
int scanner_submit_for(struct scanner *s, const char *const *subnets, int nsubnets, const char *const *ports,
    int nports, const char *by_id, const char *by_fqdn, struct scan_row *out, char *err, size_t errlen);
/* The follower of the scans this node asks other nodes to run
   (remotescan.h); valid from scanner_create to scanner_destroy. */
struct remotescan *scanner_remote(struct scanner *s);
/* Cancels a queued or running scan: 0, MW_ENOTFOUND when it is neither
   (already finished or unknown). */
int scanner_cancel(struct scanner *s, int64_t id);
/* Overlays live progress onto row when row->id is queued or running here. */
void scanner_live(struct scanner *s, struct scan_row *row);
/* The running scan's row (live counts): 0, or MW_ENOTFOUND when idle. */
int scanner_current(struct scanner *s, struct scan_row *out);
void scanner_get_stats(struct scanner *s, struct scanner_stats *out);
/* The allowed subnets, formatted "a/b,c/d" into out. */
void scanner_allowed(struct scanner *s, char *out, size_t outlen);
/* What a scan without subnets covers: the allowed subnets (scan_subnets,
   or the connected subnets found at start, each with its interface name),
   at most max into out. Returns the count; *from_config is 1 when they
   come from scan_subnets. */
int scanner_defaults(struct scanner *s, struct scan_net *out, int max, int *from_config);
/* "192.168.1.0/24 (eth0), 10.9.0.0/16" into out: the defaults for a
   sentence; "none" when there are none. */
void scanner_defaults_text(struct scanner *s, char *out, size_t outlen);
const struct svcdb *scanner_services(struct scanner *s);

/* Main thread timer: queues a scheduled scan every scan_interval_s
   (when on), unless one is already queued or running. */
void scanner_tick(struct node *n);

/* Neighbour table parsing (/proc/net/arp format): calls fn for each
   complete entry (flags 0x2) with the ip and mac text. For tests. */
int scanner_parse_arp(const char *text, void (*fn)(void *ctx, const char *ip, const char *mac), void *ctx);
/* A host name a service gave: an SMTP/FTP greeting's host
   ("220 mail.example.com ESMTP"), a certificate's CN. "" when none. */
void scanner_service_hostname(const char *banner, const char *tls_subject, char *out, size_t outlen);

#endif
