/* capture: owns the pcap handle, the flow table, the second in progress
   and the per-IP talker table, all on the capture thread. For each frame:
   decode, count into the flow table and the current second. When packet
   time enters a new second (or, live and idle, when the wall clock does),
   the finished second goes to the rollup ring, idle flows are swept out and
   the top talkers of the interval are picked. Readers see only what this
   thread publishes under c->lock: the counters after every batch, a copy
   of the flows once a second of wall time. The thread never touches the
   database (the main thread stores finished minutes) and never waits for
   a reader longer than a pointer swap.

   Two more things leave the thread: every frame also goes into the
   recent-packet ring (pktring.c: no lock; GET /api/capture/pcap reads it
   through capture_pcap_*, on civetweb's threads, each download with its
   own cursor), and every flow that leaves the table (expired, evicted,
   or still there at the end of a file or of the capture) goes to the
   IPFIX exporter (ipfix.c), which this thread alone uses. */
#include "meshwatch/capture.h"

#include <dlfcn.h>
#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "meshwatch/config.h"
#include "meshwatch/events.h"
#include "meshwatch/ipfix.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/pktring.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

/* libpcap is opened when a capture starts (dlopen), not linked: a node
   that does not capture (most of a mesh) then maps neither it nor what it
   pulls in (libdbus, libsystemd, libgcrypt, three compressors: about 1 MiB
   of resident pages and a few ms of start-up per node, measured with 200
   nodes on one machine). The functions used, looked up once: */
#define LIBPCAP_SONAME "libpcap.so.0.8"
static struct libpcap_fns {
	pcap_t *(*create)(const char *, char *);
	pcap_t *(*open_offline_with_tstamp_precision)(const char *, u_int, char *);
	int (*set_snaplen)(pcap_t *, int);
	int (*set_buffer_size)(pcap_t *, int);
	int (*set_timeout)(pcap_t *, int);
	int (*set_promisc)(pcap_t *, int);
	int (*activate)(pcap_t *);
	int (*setnonblock)(pcap_t *, int, char *);
	int (*compile)(pcap_t *, struct bpf_program *, const char *, int, bpf_u_int32);
	int (*setfilter)(pcap_t *, struct bpf_program *);
	void (*freecode)(struct bpf_program *);
	int (*datalink)(pcap_t *);
	const char *(*datalink_val_to_name)(int);
	int (*get_selectable_fd)(pcap_t *);
	int (*dispatch)(pcap_t *, int, pcap_handler, u_char *);
	int (*stats)(pcap_t *, struct pcap_stat *);
	void (*breakloop)(pcap_t *);
	void (*close)(pcap_t *);
	char *(*geterr)(pcap_t *);
	const char *(*statustostr)(int);
	pcap_t *(*open_dead)(int, int);
	int (*offline_filter)(const struct bpf_program *, const struct pcap_pkthdr *, const u_char *);
	int (*snapshot)(pcap_t *);
} LP;
static pthread_once_t lp_once = PTHREAD_ONCE_INIT;
static char lp_error[256]; /* "" when LP is usable */

static void
lp_load(void)
{
	void *h = dlopen(LIBPCAP_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(lp_error, sizeof lp_error, "cannot load %s (install libpcap0.8): %s", LIBPCAP_SONAME, dlerror());
		return;
	}
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(f) {"pcap_" #f, offsetof(struct libpcap_fns, f)}
		SYM(create), SYM(open_offline_with_tstamp_precision), SYM(set_snaplen), SYM(set_buffer_size),
		SYM(set_timeout), SYM(set_promisc), SYM(activate), SYM(setnonblock), SYM(compile), SYM(setfilter),
		SYM(freecode), SYM(datalink), SYM(datalink_val_to_name), SYM(get_selectable_fd), SYM(dispatch), SYM(stats),
		SYM(breakloop), SYM(close), SYM(geterr), SYM(statustostr), SYM(open_dead), SYM(offline_filter),
		SYM(snapshot),
#undef SYM
	};
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		void *f = dlsym(h, syms[i].name);
		if (f == NULL) {
			snprintf(lp_error, sizeof lp_error, "%s lacks %s: libpcap 1.9 or newer is needed", LIBPCAP_SONAME,
			    syms[i].name);
			return; /* the handle stays open: harmless, and LP is never used */
		}
		memcpy((char *)&LP + syms[i].off, &f, sizeof f);
	}
}

/* 0 when libpcap is loaded, else MW_EIO with the reason in err. */
static int
lp_ready(char *err, size_t errlen)
{
	pthread_once(&lp_once, lp_load);
	if (lp_error[0] == '\0')
		return 0;
	snprintf(err, errlen, "%s", lp_error);
	return MW_EIO;
}

#define BATCH 4096              /* frames per pcap_dispatch: then counters are published */
#define READ_TIMEOUT_MS 100     /* live: how long a quiet interface blocks the thread */
#define TALKER_SLOTS 8192       /* per-IP accumulation for one interval; a power of 2 above TALKER_MAX */
#define TALKER_MAX CAPTURE_TALKERS_MAX
#define PERSIST_BATCH 256

struct talker_slot {
	struct talker t;
	int used;
};

struct capture {
	/* fixed after capture_create */
	int enabled, offline;
	char source[CONFIG_STR], bpf[CONFIG_STR];
	int snaplen, buffer_bytes, retention_s;
	uint32_t max_flows;
	struct rollup *rollup;
	int ring_bytes;
	char ipfix_collector[CONFIG_STR];

	/* set by capture_start before the thread runs, then fixed */
	struct pktring *ring;          /* NULL when pcap_ring_bytes is 0 */
	int dlt;                       /* the handle's DLT_* (for compiling download filters) */
	int file_snaplen;              /* the snaplen a download's file header gives */
	/* downloads, on civetweb's threads */
	atomic_int downloads;
	atomic_uint_fast64_t downloads_total, downloads_refused, download_lost_bytes;

	/* the capture thread's (and capture_start's, before the thread runs) */
	pcap_t *pcap;
	int linktype;
	struct flowtable *ft;
	struct flow_batch batch;        /* packets on their way into ft */
	struct ipfix *ipfix;            /* NULL when ipfix_collector is empty */
	int flows_exported;             /* the flows left at the end went to ipfix */
	struct rollup_sec cur;          /* the second in progress; cur.t = 0 before the first */
	uint64_t packets, bytes, decode[DECODE_NSTATUS];
	uint64_t proto_bytes[ROLLUP_NPROTO], proto_packets[ROLLUP_NPROTO];
	int64_t first_us, last_us;
	unsigned kdrop_seen, ifdrop_seen;
	uint64_t kernel_drops, if_drops;
	struct talker_slot *talkers;
	int *talker_used;
	int ntalkers;
	uint64_t talker_seed;
	uint64_t talkers_left_out;
	int64_t last_publish_ms;
	double started_s;
	/* capture_state events: the value last emitted ("" none yet), owned
	   by capture_start until the thread runs, then by the thread */
	struct events *events;
	const char *ev_state;
	struct capture_drop_watch drops;

	pthread_t thread;
	int started;
	volatile int stop;

	/* published, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct capture_stats pub;
	struct flow_snapshot *snap;
	int thread_done;
};

const char *
capture_state_name(int state)
{
	static const char *const names[] = {"off", "starting", "running", "finished", "failed", "stopped"};
	return state >= 0 && state < (int)MW_ARRAY_LEN(names) ? names[state] : "unknown";
}

const char *
capture_linktype_name(int lt)
{
	switch (lt) {
	case DECODE_LINK_ETHERNET:
		return "ethernet";
	case DECODE_LINK_RAW:
		return "raw";
	case DECODE_LINK_SLL:
		return "linux_sll";
	case DECODE_LINK_SLL2:
		return "linux_sll2";
	case DECODE_LINK_IPV4:
		return "ipv4";
	case DECODE_LINK_IPV6:
		return "ipv6";
	default:
		return "unknown";
	}
}

/* LP.datalink() gives DLT_* values, which differ from the LINKTYPE_*
   values in files for raw IP only. */
static int
linktype_of(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return DECODE_LINK_ETHERNET;
#ifdef DLT_RAW
	case DLT_RAW:
#endif
	case 14:  /* DLT_RAW on OpenBSD */
	case 101: /* LINKTYPE_RAW */
		return DECODE_LINK_RAW;
	case DLT_LINUX_SLL:
		return DECODE_LINK_SLL;
	case 276:
		return DECODE_LINK_SLL2;
	case 228:
		return DECODE_LINK_IPV4;
	case 229:
		return DECODE_LINK_IPV6;
	default:
		return -1;
	}
}

int
capture_drop_watch_update(struct capture_drop_watch *w, int64_t now, uint64_t packets, uint64_t drops)
{
	if (w->start == 0 || now < w->start) {
		w->start = now;
		w->packets = packets;
		w->drops = drops;
		return 0;
	}
	if (now - w->start < CAPTURE_DROP_WINDOW_S)
		return 0;
	w->last_packets = packets - w->packets;
	w->last_drops = drops - w->drops;
	w->start = now;
	w->packets = packets;
	w->drops = drops;
	/* more than 1 % of what the kernel offered: received + dropped */
	int dropping = w->last_drops * 100 > w->last_packets + w->last_drops;
	int change = dropping == w->dropping ? 0 : dropping ? 1 : -1;
	w->dropping = dropping;
	return change;
}

/* A capture_state event (and nothing when to is the value last emitted).
   evd is taken (NULL: {}). */
static void
state_event(struct capture *c, const char *to, int severity, cJSON *evd)
{
	if (c->ev_state && strcmp(c->ev_state, to) == 0) {
		cJSON_Delete(evd);
		return;
	}
	struct event_row e;
	event_init(&e, "capture_state", severity, "interface", c->source, c->source,
	    c->ev_state ? c->ev_state : "", to);
	if (evd == NULL)
		evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "mode", c->offline ? "file" : "live");
	if (c->bpf[0])
		cJSON_AddStringToObject(evd, "bpf", c->bpf);
	event_set_evidence(&e, evd);
	events_emit(c->events, &e);
	c->ev_state = to;
}

/* The minute's drops, from the thread: dropping (a warning) when more than
   1 % of what the kernel offered was lost, running again (info) after a
   clean minute. */
static void
watch_drops(struct capture *c, int64_t now)
{
	int change = capture_drop_watch_update(&c->drops, now, c->packets, c->kernel_drops);
	if (change == 0)
		return;
	const struct capture_drop_watch *w = &c->drops;
	uint64_t offered = w->last_packets + w->last_drops;
	double pct = offered ? 100.0 * (double)w->last_drops / (double)offered : 0;
	MW_LOG_AT(change > 0 ? LOG_WARN : LOG_INFO, "pcap", 0,
	    "%s: the kernel dropped %llu of %llu packets in the last minute (%.1f %%)%s", c->source,
	    (unsigned long long)w->last_drops, (unsigned long long)offered, pct,
	    change > 0 ? ": raise capture_buffer_bytes or narrow the BPF filter" : ": no longer dropping");
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddNumberToObject(evd, "window_s", CAPTURE_DROP_WINDOW_S);
	cJSON_AddNumberToObject(evd, "packets", (double)w->last_packets);
	cJSON_AddNumberToObject(evd, "kernel_drops", (double)w->last_drops);
	cJSON_AddNumberToObject(evd, "drop_pct", pct);
	cJSON_AddNumberToObject(evd, "kernel_drops_total", (double)c->kernel_drops);
	cJSON_AddNumberToObject(evd, "if_drops_total", (double)c->if_drops);
	state_event(c, change > 0 ? "dropping" : "running", change > 0 ? EVENT_WARNING : EVENT_INFO, evd);
}

struct capture *
capture_create(const struct config *cfg, struct events *ev)
{
	struct capture *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->events = ev;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->offline = cfg->capture_pcap[0] != '\0';
	c->enabled = c->offline || cfg->capture_iface[0] != '\0';
	snprintf(c->source, sizeof c->source, "%s", c->offline ? cfg->capture_pcap : cfg->capture_iface);
	snprintf(c->bpf, sizeof c->bpf, "%s", cfg->capture_bpf);
	c->snaplen = cfg->capture_snaplen;
	c->buffer_bytes = cfg->capture_buffer_bytes;
	c->retention_s = cfg->capture_retention_s;
	c->max_flows = (uint32_t)cfg->capture_max_flows;
	c->ring_bytes = cfg->pcap_ring_bytes;
	snprintf(c->ipfix_collector, sizeof c->ipfix_collector, "%s", cfg->ipfix_collector);
	c->pub.state = CAPTURE_OFF;
	c->pub.offline = c->offline;
	snprintf(c->pub.source, sizeof c->pub.source, "%s", c->source);
	snprintf(c->pub.bpf, sizeof c->pub.bpf, "%s", c->bpf);
	c->pub.snaplen = c->snaplen;
	c->pub.buffer_bytes = c->buffer_bytes;
	c->pub.retention_s = c->retention_s;
	c->pub.max_flows = c->max_flows;
	snprintf(c->pub.ipfix_collector, sizeof c->pub.ipfix_collector, "%s", c->enabled ? c->ipfix_collector : "");
	if (c->enabled) {
		c->rollup = rollup_create(c->retention_s);
		c->talkers = calloc(TALKER_SLOTS, sizeof *c->talkers);
		c->talker_used = calloc(TALKER_MAX, sizeof *c->talker_used);
		if (c->rollup == NULL || c->talkers == NULL || c->talker_used == NULL) {
			capture_destroy(c);
			return NULL;
		}
	}
	return c;
}

static void
set_failed(struct capture *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_failed(struct capture *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->lock);
	c->pub.state = CAPTURE_FAILED;
	size_t l = strnlen(msg, sizeof c->pub.error - 1);
	memcpy(c->pub.error, msg, l);
	c->pub.error[l] = '\0';
	pthread_mutex_unlock(&c->lock);
	log_error("pcap", "capture is off: %s (the rest of the node runs on)", msg);
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "error", msg);
	state_event(c, "failed", EVENT_CRITICAL, evd);
}

/* ---- the capture thread ---- */

static void
talker_add(struct capture *c, const uint8_t ip[16], uint64_t bytes, uint64_t packets)
{
	uint32_t i = (uint32_t)XXH3_64bits_withSeed(ip, 16, c->talker_seed) & (TALKER_SLOTS - 1);
	for (;;) {
		struct talker_slot *s = &c->talkers[i];
		if (!s->used) {
			if (c->ntalkers == TALKER_MAX) {
				c->talkers_left_out++;
				return;
			}
			s->used = 1;
			memcpy(s->t.ip, ip, 16);
			c->talker_used[c->ntalkers++] = (int)i;
		}
		if (memcmp(s->t.ip, ip, 16) == 0) {
			s->t.bytes += bytes;
			s->t.packets += packets;
			return;
		}
		i = (i + 1) & (TALKER_SLOTS - 1);
	}
}

static void
on_flow_tick(const struct flow *f, void *arg)
{
	struct capture *c = arg;
	uint64_t db = f->bytes - f->tick_bytes, dp = f->packets - f->tick_packets;
	if (dp == 0)
		return;
	talker_add(c, f->key.a, db, dp);
	if (memcmp(f->key.a, f->key.b, 16) != 0)
		talker_add(c, f->key.b, db, dp);
}

/* The K largest by bytes, then the table is emptied for the next interval. */
static void
pick_top(struct capture *c, int64_t t)
{
	struct talker top[ROLLUP_TOP_K];
	int n = 0;
	for (int k = 0; k < c->ntalkers; k++) {
		struct talker_slot *s = &c->talkers[c->talker_used[k]];
		int pos = n;
		while (pos > 0 && top[pos - 1].bytes < s->t.bytes)
			pos--;
		if (pos < ROLLUP_TOP_K) {
			int last = n < ROLLUP_TOP_K ? n : ROLLUP_TOP_K - 1;
			memmove(&top[pos + 1], &top[pos], sizeof top[0] * (size_t)(last - pos));
			top[pos] = s->t;
			if (n < ROLLUP_TOP_K)
				n++;
		}
		memset(s, 0, sizeof *s);
	}
	c->ntalkers = 0;
	rollup_set_top(c->rollup, top, n, t);
}

/* Closes the second in progress and opens second sec (now_us: the time
   idle flows are judged by). */
static void
advance(struct capture *c, int64_t sec, int64_t now_us)
{
	if (!c->offline && c->pcap) {
		struct pcap_stat ps;
		if (LP.stats(c->pcap, &ps) == 0) {
			/* 32-bit counters that wrap: the difference is still right */
			unsigned kd = ps.ps_drop - c->kdrop_seen, id = ps.ps_ifdrop - c->ifdrop_seen;
			c->kdrop_seen = ps.ps_drop;
			c->ifdrop_seen = ps.ps_ifdrop;
			c->kernel_drops += kd;
			c->if_drops += id;
			c->cur.drops += (uint64_t)kd + id;
			watch_drops(c, sec);
		}
	}
	if (c->cur.t != 0)
		rollup_push(c->rollup, &c->cur);
	flowtable_batch_flush(c->ft, &c->batch);
	flowtable_sweep(c->ft, now_us, on_flow_tick, c);
	pick_top(c, c->cur.t);
	memset(&c->cur, 0, sizeof c->cur);
	c->cur.t = sec;
}

/* The flow table drops a flow: its records go to the collector. */
static void
on_flow_end(const struct flow *f, int reason, void *arg)
{
	struct capture *c = arg;
	ipfix_flow_end(c->ipfix, f, reason, mw_wall_ms());
}

/* The end of the file or of the capture: the flows still in the table
   are finished too (they stay in the table for the API). Once. */
static void
export_remaining(struct capture *c)
{
	if (c->ipfix == NULL || c->flows_exported)
		return;
	flowtable_batch_flush(c->ft, &c->batch);
	uint32_t n;
	const struct flow *f = flowtable_flows(c->ft, &n);
	int64_t now = mw_wall_ms();
	for (uint32_t i = 0; i < n; i++)
		ipfix_flow_end(c->ipfix, &f[i], FLOW_END_FORCED, now);
	ipfix_flush(c->ipfix, now);
	c->flows_exported = 1;
}

static int
proto_slot(const struct decoded *d)
{
	switch (d->proto) {
	case 6:
		return ROLLUP_TCP;
	case 17:
		return ROLLUP_UDP;
	case 1:
		return ROLLUP_ICMP;
	case 58:
		return ROLLUP_ICMPV6;
	default:
		return ROLLUP_OTHER;
	}
}

static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)(void *)user;
	int64_t sec = (int64_t)h->ts.tv_sec;
	int64_t us = sec * 1000000 + (int64_t)h->ts.tv_usec;
	if (c->cur.t == 0)
		c->cur.t = sec;
	else if (sec > c->cur.t)
		advance(c, sec, us);
	if (c->first_us == 0)
		c->first_us = us;
	if (us > c->last_us)
		c->last_us = us;
	if (c->ring)
		pktring_push(c->ring, (uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec, h->caplen, h->len, bytes);
	uint32_t len = decode_wire_len(c->linktype, bytes, h->caplen, h->len);
	c->packets++;
	c->bytes += len;
	c->cur.packets++;
	c->cur.bytes += len;
	struct decoded d;
	int st = decode_packet(c->linktype, bytes, h->caplen, h->len, &d);
	c->decode[st]++;
	if (st == DECODE_OK) {
		flowtable_batch_add(c->ft, &c->batch, &d, len, us);
		int slot = proto_slot(&d);
		c->cur.proto_bytes[slot] += len;
		c->proto_bytes[slot] += len;
		c->proto_packets[slot]++;
	} else {
		c->cur.proto_bytes[ROLLUP_OTHER] += len;
		c->proto_bytes[ROLLUP_OTHER] += len;
		c->proto_packets[ROLLUP_OTHER]++;
	}
}

static void
publish_stats(struct capture *c, int state)
{
	flowtable_batch_flush(c->ft, &c->batch);
	struct ipfix_stats xs = {0};
	if (c->ipfix) {
		ipfix_flush(c->ipfix, mw_wall_ms());
		ipfix_get_stats(c->ipfix, &xs);
	}
	pthread_mutex_lock(&c->lock);
	struct capture_stats *p = &c->pub;
	p->ipfix = xs;
	if (state >= 0)
		p->state = state;
	p->linktype = c->linktype;
	p->packets = c->packets;
	p->bytes = c->bytes;
	p->kernel_drops = c->kernel_drops;
	p->if_drops = c->if_drops;
	memcpy(p->decode, c->decode, sizeof p->decode);
	memcpy(p->proto_bytes, c->proto_bytes, sizeof p->proto_bytes);
	memcpy(p->proto_packets, c->proto_packets, sizeof p->proto_packets);
	p->flows = flowtable_count(c->ft);
	flowtable_get_stats(c->ft, &p->ft);
	p->first_us = c->first_us;
	p->last_us = c->last_us;
	p->talkers_left_out = c->talkers_left_out;
	if (c->offline)
		p->processing_s = mw_now_s() - c->started_s;
	pthread_mutex_unlock(&c->lock);
}

static void
snapshot_unref_locked(struct flow_snapshot *s)
{
	if (s && --s->refs == 0)
		free(s);
}

static void
publish_flows(struct capture *c)
{
	flowtable_batch_flush(c->ft, &c->batch);
	uint32_t n;
	const struct flow *f = flowtable_flows(c->ft, &n);
	struct flow_snapshot *s = malloc(sizeof *s + sizeof *f * (size_t)n);
	if (s == NULL)
		return; /* readers keep the previous snapshot */
	s->refs = 1;
	s->at_us = c->last_us;
	s->n = n;
	memcpy(s->flows, f, sizeof *f * (size_t)n);
	pthread_mutex_lock(&c->lock);
	struct flow_snapshot *old = c->snap;
	c->snap = s;
	snapshot_unref_locked(old);
	pthread_mutex_unlock(&c->lock);
	c->last_publish_ms = mw_now_ms();
}

static void *
capture_main(void *arg)
{
	struct capture *c = arg;
	int end_state = CAPTURE_STOPPED;
	if (!c->offline)
		c->cur.t = mw_wall_s();
	int fd = c->offline ? -1 : LP.get_selectable_fd(c->pcap);
	while (!c->stop) {
		if (fd >= 0) {
			/* non-blocking handle: wait here, so a quiet interface still
			   lets seconds close and snapshots go out */
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			poll(&pfd, 1, READ_TIMEOUT_MS);
		}
		int r = LP.dispatch(c->pcap, BATCH, on_packet, (u_char *)(void *)c);
		if (r == PCAP_ERROR_BREAK)
			break;
		if (r < 0) {
			char why[PCAP_ERRBUF_SIZE + 1];
			snprintf(why, sizeof why, "%s", LP.geterr(c->pcap));
			set_failed(c, "reading from %s failed: %s", c->source, why);
			end_state = -1;
			break;
		}
		if (c->offline && r == 0) {
			/* the end of the file: close its last second, keep the flows */
			if (c->cur.t != 0)
				advance(c, c->cur.t + 1, c->last_us);
			rollup_finish_minute(c->rollup);
			export_remaining(c);
			end_state = CAPTURE_FINISHED;
			double s = mw_now_s() - c->started_s;
			log_info("pcap", "read %s: %llu frames in %.3f s (%.0f frames/s), %u flows", c->source,
			    (unsigned long long)c->packets, s, s > 0 ? (double)c->packets / s : 0.0, flowtable_count(c->ft));
			break;
		}
		if (!c->offline) {
			/* quiet interface: seconds still pass */
			int64_t wall = mw_wall_s();
			if (wall - 1 > c->cur.t)
				advance(c, wall - 1, wall * 1000000);
		}
		publish_stats(c, -1);
		if (mw_now_ms() - c->last_publish_ms >= 1000)
			publish_flows(c);
	}
	if (!c->offline && end_state == CAPTURE_STOPPED) {
		/* the second in progress belongs to the minute stored at exit */
		advance(c, c->cur.t + 1, c->last_us);
		rollup_finish_minute(c->rollup);
	}
	export_remaining(c);
	publish_flows(c);
	publish_stats(c, end_state);
	pthread_mutex_lock(&c->lock);
	c->thread_done = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- start and stop (main thread) ---- */

static int
open_live(struct capture *c, char *err, size_t errlen)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	c->pcap = LP.create(c->source, eb);
	if (c->pcap == NULL) {
		snprintf(err, errlen, "cannot open interface %s: %s", c->source, eb);
		return MW_EIO;
	}
	LP.set_snaplen(c->pcap, c->snaplen);
	LP.set_buffer_size(c->pcap, c->buffer_bytes);
	LP.set_timeout(c->pcap, READ_TIMEOUT_MS);
	LP.set_promisc(c->pcap, 0);
	int rc = LP.activate(c->pcap);
	if (rc < 0) {
		const char *detail = LP.geterr(c->pcap);
		if (rc == PCAP_ERROR_PERM_DENIED)
			snprintf(err, errlen,
			    "no permission to capture on %s (%s): run as root or grant the binary "
			    "cap_net_raw,cap_net_admin+eip with setcap",
			    c->source, detail);
		else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			snprintf(err, errlen, "no interface named \"%s\" (iface): %s", c->source, detail);
		else
			snprintf(err, errlen, "cannot capture on %s: %s (%s)", c->source, LP.statustostr(rc), detail);
		return MW_EIO;
	}
	if (rc > 0)
		log_warn("pcap", "%s: %s (%s)", c->source, LP.statustostr(rc), LP.geterr(c->pcap));
	if (LP.setnonblock(c->pcap, 1, eb) != 0) {
		snprintf(err, errlen, "cannot make the capture on %s non-blocking: %s", c->source, eb);
		return MW_EIO;
	}
	return 0;
}

static int
open_file(struct capture *c, char *err, size_t errlen)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	c->pcap = LP.open_offline_with_tstamp_precision(c->source, PCAP_TSTAMP_PRECISION_MICRO, eb);
	if (c->pcap == NULL) {
		snprintf(err, errlen, "cannot read capture file %s (pcap): %s", c->source, eb);
		return MW_EIO;
	}
	return 0;
}

int
capture_start(struct capture *c)
{
	char err[1536];
	if (!c->enabled) {
		log_info("pcap", "traffic capture is off (start with --iface IF or --pcap FILE)");
		if (c->ipfix_collector[0])
			log_warn("ipfix", "ipfix_collector is %s but capture is off: no flows to export", c->ipfix_collector);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	c->pub.state = CAPTURE_STARTING;
	pthread_mutex_unlock(&c->lock);
	if (lp_ready(err, sizeof err) != 0)
		goto fail;
	if ((c->offline ? open_file(c, err, sizeof err) : open_live(c, err, sizeof err)) != 0)
		goto fail;
	struct bpf_program prog;
	if (c->bpf[0]) {
		if (LP.compile(c->pcap, &prog, c->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			snprintf(err, sizeof err, "bad BPF filter \"%s\" (bpf): %s", c->bpf, LP.geterr(c->pcap));
			goto fail;
		}
		int rc = LP.setfilter(c->pcap, &prog);
		LP.freecode(&prog);
		if (rc != 0) {
			snprintf(err, sizeof err, "cannot apply BPF filter \"%s\" (bpf): %s", c->bpf, LP.geterr(c->pcap));
			goto fail;
		}
	}
	int dlt = LP.datalink(c->pcap);
	c->linktype = linktype_of(dlt);
	if (c->linktype < 0) {
		const char *name = LP.datalink_val_to_name(dlt);
		snprintf(err, sizeof err,
		    "%s has link type %s (%d), which is not supported (Ethernet, Linux cooked capture and raw IP are)",
		    c->source, name ? name : "?", dlt);
		c->linktype = 0;
		goto fail;
	}
	uint64_t seed = 0;
	mw_random(&seed, sizeof seed);
	mw_random(&c->talker_seed, sizeof c->talker_seed);
	c->ft = flowtable_create(c->max_flows, seed);
	if (c->ft == NULL) {
		snprintf(err, sizeof err, "out of memory for %u flows (max_flows)", c->max_flows);
		goto fail;
	}
	c->dlt = dlt;
	c->file_snaplen = c->offline ? LP.snapshot(c->pcap) : c->snaplen;
	if (c->file_snaplen <= 0 || c->file_snaplen > PCAP_RING_RECORD_MAX)
		c->file_snaplen = PCAP_RING_RECORD_MAX;
	if (c->ring_bytes > 0 && (c->ring = pktring_create((size_t)c->ring_bytes)) == NULL) {
		snprintf(err, sizeof err, "out of memory for the packet ring of %d bytes (pcap_ring_bytes)", c->ring_bytes);
		goto fail;
	}
	if (c->ipfix_collector[0]) {
		char xerr[512];
		c->ipfix = ipfix_create(c->ipfix_collector, CAPTURE_IPFIX_DOMAIN, c->offline ? IPFIX_FILE_PACE_US : 0, xerr,
		    sizeof xerr);
		if (c->ipfix == NULL) {
			snprintf(err, sizeof err, "%s", xerr);
			goto fail;
		}
		flowtable_set_on_end(c->ft, on_flow_end, c);
		log_info("ipfix", "finished flows go to %s (IPFIX over UDP, one record per direction)", c->ipfix_collector);
	}
	c->started_s = mw_now_s();
	publish_stats(c, CAPTURE_RUNNING);
	/* before the thread runs: from then on it owns the event state */
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "link_type", capture_linktype_name(c->linktype));
	cJSON_AddNumberToObject(evd, "snaplen", c->snaplen);
	if (!c->offline)
		cJSON_AddNumberToObject(evd, "buffer_bytes", c->buffer_bytes);
	state_event(c, "running", EVENT_INFO, evd);
	if (pthread_create(&c->thread, NULL, capture_main, c) != 0) {
		snprintf(err, sizeof err, "cannot start the capture thread");
		goto fail;
	}
	c->started = 1;
	log_info("pcap", "capturing %s %s (link type %s, filter \"%s\", snaplen %d, buffer %d bytes, up to %u flows)",
	    c->offline ? "from file" : "on", c->source, capture_linktype_name(c->linktype), c->bpf, c->snaplen,
	    c->buffer_bytes, c->max_flows);
	return 0;
fail:
	if (c->pcap) {
		LP.close(c->pcap);
		c->pcap = NULL;
	}
	set_failed(c, "%s", err);
	return MW_EIO;
}

void
capture_wait(struct capture *c)
{
	if (c == NULL || !c->started)
		return;
	pthread_mutex_lock(&c->lock);
	while (!c->thread_done)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void
capture_stop(struct capture *c)
{
	if (c == NULL || !c->started)
		return;
	c->stop = 1;
	LP.breakloop(c->pcap);
	pthread_join(c->thread, NULL);
	c->started = 0;
	LP.close(c->pcap);
	c->pcap = NULL;
}

void
capture_destroy(struct capture *c)
{
	if (c == NULL)
		return;
	capture_stop(c);
	pthread_mutex_lock(&c->lock);
	snapshot_unref_locked(c->snap);
	c->snap = NULL;
	pthread_mutex_unlock(&c->lock);
	flowtable_destroy(c->ft);
	ipfix_destroy(c->ipfix);
	pktring_destroy(c->ring);
	rollup_destroy(c->rollup);
	free(c->talkers);
	free(c->talker_used);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---- readers ---- */

void
capture_get_stats(struct capture *c, struct capture_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->pub;
	pthread_mutex_unlock(&c->lock);
	if (c->rollup)
		out->minutes_dropped = rollup_minutes_dropped(c->rollup);
	out->ring_bytes = c->ring_bytes;
	if (c->ring) {
		struct pktring_stats rs;
		pktring_get_stats(c->ring, &rs);
		out->ring_used_bytes = rs.head - rs.tail;
		out->ring_packets = rs.records;
	}
	out->downloads_active = atomic_load(&c->downloads);
	out->downloads_total = atomic_load(&c->downloads_total);
	out->downloads_refused = atomic_load(&c->downloads_refused);
	out->download_lost_bytes = atomic_load(&c->download_lost_bytes);
}

struct flow_snapshot *
capture_flows(struct capture *c)
{
	pthread_mutex_lock(&c->lock);
	struct flow_snapshot *s = c->snap;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&c->lock);
	return s;
}

void
capture_flows_release(struct capture *c, struct flow_snapshot *s)
{
	pthread_mutex_lock(&c->lock);
	snapshot_unref_locked(s);
	pthread_mutex_unlock(&c->lock);
}

struct rollup *
capture_rollup(struct capture *c)
{
	return c->rollup;
}

void
capture_persist(struct capture *c, struct store *st)
{
	if (c == NULL || c->rollup == NULL)
		return;
	struct rollup_sec *rows = malloc(sizeof *rows * PERSIST_BATCH);
	if (rows == NULL)
		return;
	int n;
	while ((n = rollup_take_minutes(c->rollup, rows, PERSIST_BATCH)) > 0) {
		if (store_traffic_minutes_add(st, rows, n) != 0) {
			rollup_return_minutes(c->rollup, rows, n);
			log_warn("db", "could not store %d traffic minutes; trying again later", n);
			break;
		}
		pthread_mutex_lock(&c->lock);
		c->pub.minutes_stored += (uint64_t)n;
		pthread_mutex_unlock(&c->lock);
	}
	free(rows);
}

/* ---- downloads of the recent-packet ring (civetweb's threads) ---- */

/* Enough for the largest record twice over: a record that began in one
   copy always completes in the next. */
#define STAGE_BYTES (2 * (PKTRING_HDR + PCAP_RING_RECORD_MAX))

struct capture_pcap {
	struct capture *c;
	struct bpf_program prog;
	int has_prog;
	uint64_t cursor, stop_at;
	uint8_t *stage;
	size_t sbeg, send;
	uint64_t lost_bytes;
};

/* pcap_compile keeps state in the handle only, but the libpcap of some
   distributions had a global parser: one compile at a time costs
   nothing here. */
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

struct capture_pcap *
capture_pcap_open(struct capture *c, const char *bpf, int *why, char *err, size_t errlen)
{
	struct capture_stats s;
	capture_get_stats(c, &s);
	err[0] = '\0';
	if (s.state == CAPTURE_OFF) {
		*why = CAPTURE_PCAP_OFF;
		snprintf(err, errlen, "traffic capture is off: start the node with iface (--iface IF) or pcap (--pcap FILE)");
		return NULL;
	}
	if (s.state == CAPTURE_STARTING || s.state == CAPTURE_FAILED) {
		*why = CAPTURE_PCAP_UNAVAILABLE;
		snprintf(err, errlen, "traffic capture %s%s%s", s.state == CAPTURE_FAILED ? "failed: " : "is starting",
		    s.state == CAPTURE_FAILED ? s.error : "", s.state == CAPTURE_FAILED ? "" : "; try again in a moment");
		return NULL;
	}
	if (c->ring == NULL) {
		*why = CAPTURE_PCAP_RING_OFF;
		snprintf(err, errlen, "the recent-packet ring is off (pcap_ring_bytes is 0): set pcap_ring_bytes (at least %d) "
		    "to download packets", PCAP_RING_MIN);
		return NULL;
	}
	if (atomic_fetch_add(&c->downloads, 1) >= PCAP_DOWNLOADS_MAX) {
		atomic_fetch_sub(&c->downloads, 1);
		atomic_fetch_add(&c->downloads_refused, 1);
		*why = CAPTURE_PCAP_BUSY;
		snprintf(err, errlen, "%d packet downloads are running, the most at once (PCAP_DOWNLOADS_MAX)", PCAP_DOWNLOADS_MAX);
		return NULL;
	}
	struct capture_pcap *p = calloc(1, sizeof *p);
	if (p == NULL || (p->stage = malloc(STAGE_BYTES)) == NULL) {
		free(p);
		atomic_fetch_sub(&c->downloads, 1);
		*why = CAPTURE_PCAP_NOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->c = c;
	if (bpf && bpf[0]) {
		pthread_mutex_lock(&compile_lock);
		pcap_t *dead = LP.open_dead(c->dlt, c->file_snaplen);
		int rc = dead ? LP.compile(dead, &p->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) : -1;
		if (rc != 0)
			snprintf(err, errlen, "%s", dead ? LP.geterr(dead) : "out of memory");
		if (dead)
			LP.close(dead);
		pthread_mutex_unlock(&compile_lock);
		if (rc != 0) {
			*why = dead ? CAPTURE_PCAP_BAD_FILTER : CAPTURE_PCAP_NOMEM;
			p->has_prog = 0;
			capture_pcap_close(p);
			return NULL;
		}
		p->has_prog = 1;
	}
	struct pktring_stats rs;
	pktring_get_stats(c->ring, &rs);
	p->cursor = rs.tail;
	p->stop_at = rs.head;
	atomic_fetch_add(&c->downloads_total, 1);
	*why = 0;
	return p;
}

void
capture_pcap_file_header(const struct capture_pcap *p, uint8_t out[CAPTURE_PCAP_FILE_HDR])
{
	/* the classic format in host byte order, microsecond time stamps (the
	   precision both live and file capture ask libpcap for) */
	uint32_t magic = 0xa1b2c3d4, zero = 0, snap = (uint32_t)p->c->file_snaplen, lt = (uint32_t)p->c->linktype;
	uint16_t major = 2, minor = 4;
	memcpy(out, &magic, 4);
	memcpy(out + 4, &major, 2);
	memcpy(out + 6, &minor, 2);
	memcpy(out + 8, &zero, 4);
	memcpy(out + 12, &zero, 4);
	memcpy(out + 16, &snap, 4);
	memcpy(out + 20, &lt, 4);
}

int
capture_pcap_offline(const struct capture_pcap *p)
{
	return p->c->offline;
}

int
capture_pcap_next(struct capture_pcap *p, int follow, const uint8_t **rec, size_t *len)
{
	for (;;) {
		size_t have = p->send - p->sbeg;
		if (have >= PKTRING_HDR) {
			const uint8_t *r = p->stage + p->sbeg;
			uint32_t hdr[4];
			memcpy(hdr, r, sizeof hdr);
			size_t rl = PKTRING_HDR + (size_t)hdr[2];
			if (have >= rl) {
				p->sbeg += rl;
				if (p->has_prog) {
					struct pcap_pkthdr ph = {.ts = {.tv_sec = hdr[0], .tv_usec = hdr[1]}, .caplen = hdr[2], .len = hdr[3]};
					if (LP.offline_filter(&p->prog, &ph, r + PKTRING_HDR) == 0)
						continue;
				}
				*rec = r;
				*len = rl;
				return 1;
			}
		}
		/* a partial record (or none): keep it, copy more after it */
		memmove(p->stage, p->stage + p->sbeg, have);
		p->sbeg = 0;
		p->send = have;
		size_t got;
		uint64_t lost;
		int rc = pktring_read(p->c->ring, &p->cursor, follow ? 0 : p->stop_at, p->stage + have, STAGE_BYTES - have,
		    &got, &lost);
		if (rc != 0) {
			/* overwritten while this reader was behind: what was staged
			   cannot be completed; go on from the oldest record */
			p->lost_bytes += lost + have;
			p->sbeg = p->send = 0;
			continue;
		}
		if (got == 0)
			return 0;
		p->send += got;
	}
}

uint64_t
capture_pcap_lost_bytes(const struct capture_pcap *p)
{
	return p->lost_bytes;
}

void
capture_pcap_close(struct capture_pcap *p)
{
	if (p == NULL)
		return;
	if (p->has_prog)
		LP.freecode(&p->prog);
	if (p->lost_bytes) {
		atomic_fetch_add(&p->c->download_lost_bytes, p->lost_bytes);
		log_warn("pcap", "a packet download fell more than the ring (pcap_ring_bytes) behind the capture and skipped "
		    "%llu bytes of records", (unsigned long long)p->lost_bytes);
	}
	atomic_fetch_sub(&p->c->downloads, 1);
	free(p->stage);
	free(p);
}
