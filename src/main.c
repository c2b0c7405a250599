/* main: parses the configuration, builds the node and starts its modules
   (start_node), then runs the main thread's timers (writing queued poll
   rows, check results, traffic minutes and events; retention; database and
   certificate checks; session purge; scheduled scans; heap trim) and acts
   on signal flags: SIGTERM/SIGINT stop cleanly (teardown, also after a
   failed start), SIGHUP reloads. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "meshwatch/alerts.h"
#include "meshwatch/capture.h"
#include "meshwatch/config.h"
#include "meshwatch/http.h"
#include "meshwatch/events.h"
#include "meshwatch/log.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshtargets.h"
#include "meshwatch/node.h"
#include "meshwatch/evloop.h"
#include "meshwatch/report.h"
#include "meshwatch/resolver.h"
#include "meshwatch/targets.h"
#include "meshwatch/scanner.h"
#include "meshwatch/util.h"

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

/* The stop and reload signals are blocked here, before any thread exists,
   so every thread inherits the mask and the main loop takes them with
   sigtimedwait: it sleeps until the next timer instead of waking ten times
   a second to look at flags. The handlers remain for the time before. */
static void
install_signals(sigset_t *set)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Sleeps until a stop or reload signal or for wait_ms, whichever is first. */
static void
wait_signal(const sigset_t *set, int64_t wait_ms)
{
	if (wait_ms < 1)
		wait_ms = 1;
	struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000};
	int sig = sigtimedwait(set, NULL, &ts);
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGTERM || sig == SIGINT)
		got_stop = 1;
}

/* Seed and reporting files are checked at start so a typo fails fast. */
static int
check_mesh_files(const struct config *cfg, char *err, size_t errlen)
{
	struct seed_entry *e = NULL;
	int n;
	if (cfg->seed_file[0]) {
		n = config_load_seeds(cfg->seed_file, 4096, &e, err, errlen);
		free(e);
		if (n < 0)
			return n;
		log_info("config", "%s lists %d seed nodes", cfg->seed_file, n);
	}
	if (cfg->reporting_file[0]) {
		n = config_load_reporting(cfg->reporting_file, 64, &e, err, errlen);
		free(e);
		if (n < 0)
			return n;
		log_info("config", "%s names %d reporting nodes", cfg->reporting_file, n);
	}
	if (cfg->alerts_file[0] && alerts_check_file(cfg->alerts_file, err, errlen) != 0)
		return MW_EINVAL;
	return 0;
}

static void
flush_mesh(struct node *n)
{
	mesh_flush(n->mesh);
}

/* Hands the free pages of the malloc arenas back to the kernel. A burst
   (a few dozen TLS connections at once, each with two 16 KB record
   buffers; a peer list being built or parsed) leaves free chunks between
   live ones that glibc keeps resident until the top of the heap is free;
   at 200 peers that was most of a node's anonymous memory. Cheap: two
   small arenas, every 5 s. */
static void
trim_heap(struct node *n)
{
	(void)n;
	malloc_trim(0);
}

/* Completed traffic minutes go to the database here, never on the capture
   thread. */
static void
persist_traffic(struct node *n)
{
	capture_persist(n->capture, n->store);
}

static void
maintain_mesh(struct node *n)
{
	mesh_maintain(n->mesh);
}

static void
flush_targets(struct node *n)
{
	targets_flush(n->targets);
}

/* The writer's share of events: what the modules emitted this second goes
   to the database (kept queued and said once a minute while it cannot). */
static void
flush_events(struct node *n)
{
	static int64_t last_warn;
	if (events_flush(n->events) == 0)
		return;
	int64_t now = mw_now_ms();
	if (last_warn == 0 || now - last_warn >= 60000) {
		last_warn = now;
		log_warn("events", "events cannot be stored now; they wait in memory (up to 1024, more are counted as dropped)");
	}
}

static void
tick_alerts(struct node *n)
{
	alerts_tick(n->alerts);
}

static void
maintain_targets(struct node *n)
{
	targets_maintain(n->targets);
	meshtargets_maintain(mesh_targets(n->mesh));
}

/* Creates and starts the modules in dependency order. Each is hung on n
   as soon as it exists, so teardown() finds whatever a failed start left.
   0, or non-zero with a reason in err. */
static int
start_node(struct node *n, char *err, size_t errlen)
{
	const struct config *cfg = &n->cfg;
	/* The alert engine listens first, so no event of the start (a
	   capture that cannot open) passes it by. */
	n->alerts = alerts_create(n, err, errlen);
	if (n->alerts == NULL || alerts_start(n->alerts, err, errlen) != MW_OK)
		return MW_EIO;
	events_set_tap(n->events, alerts_on_event, n->alerts);
	n->mesh = mesh_create(n, err, errlen);
	if (n->mesh == NULL)
		return MW_EINVAL;
	/* Capture opens before HTTPS starts so the handlers always find it;
	   it failing (permission, interface, filter) is not fatal, so its
	   start's result is not checked: it logs and shows the reason. */
	n->capture = capture_create(cfg, n->events);
	if (n->capture == NULL) {
		snprintf(err, errlen, "out of memory for the capture");
		return MW_ENOMEM;
	}
	capture_start(n->capture);
	n->prober = evloop_create("mw-prober", err, errlen);
	if (n->prober == NULL || evloop_start(n->prober, err, errlen) != MW_OK)
		return MW_EIO;
	n->resolver = resolver_create(n->prober, cfg->resolver_threads, cfg->dns_cache_ttl_s, 5, err, errlen);
	if (n->resolver == NULL || resolver_start(n->resolver, err, errlen) != MW_OK)
		return MW_EIO;
	n->targets = targets_create(n, err, errlen);
	if (n->targets == NULL || targets_start(n->targets, err, errlen) != MW_OK)
		return MW_EIO;
	n->scanner = scanner_create(n, err, errlen);
	if (n->scanner == NULL || scanner_start(n->scanner, err, errlen) != MW_OK)
		return MW_EIO;
	n->http = http_create(n, err, errlen);
	if (n->http == NULL || http_start(n->http, err, errlen) != MW_OK)
		return MW_EIO;
	if (mesh_start(n->mesh, err, errlen) != MW_OK)
		return MW_EIO;
	n->reporter = reporter_create(n, err, errlen);
	if (n->reporter == NULL || reporter_start(n->reporter, err, errlen) != MW_OK)
		return MW_EIO;
	return MW_OK;
}

/* The one way down, after a normal run or a start that failed half-way:
   threads stop in the reverse order of start_node (the prober's users
   before the resolver pool, the pool before the loop, so nothing is
   posted to a stopped loop), then everything is freed, the node last.
   Every step accepts a module that was never created or started. */
static void
teardown(struct node *n)
{
	n->stopping = 1;
	mw_request_abort();
	reporter_stop(n->reporter);
	mesh_stop(n->mesh);
	http_stop(n->http);
	events_set_tap(n->events, NULL, NULL);
	alerts_stop(n->alerts);
	scanner_stop(n->scanner);
	targets_stop(n->targets);
	resolver_stop(n->resolver);
	evloop_stop(n->prober);
	capture_stop(n->capture);
	capture_persist(n->capture, n->store);

	reporter_destroy(n->reporter);
	http_destroy(n->http);
	alerts_destroy(n->alerts);
	scanner_destroy(n->scanner);
	targets_destroy(n->targets);
	resolver_destroy(n->resolver);
	evloop_destroy(n->prober);
	capture_destroy(n->capture);
	mesh_destroy(n->mesh);
	node_destroy(n);
}

struct timer {
	int64_t next_ms;
	int interval_ms;
	void (*fn)(struct node *);
};

int
main(int argc, char **argv)
{
	char err[1024];
	struct config *cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL)
		return 1;
	if (config_load(cfg, argc, argv, err, sizeof err) != 0) {
		fprintf(stderr, "meshwatch: invalid configuration: %s\n", err);
		free(cfg);
		return 2;
	}
	if (check_mesh_files(cfg, err, sizeof err) != 0) {
		fprintf(stderr, "meshwatch: invalid configuration: %s\n", err);
		free(cfg);
		return 2;
	}
	if (cfg->show_help) {
		config_usage(stdout);
		free(cfg);
		return 0;
	}
	if (cfg->show_version) {
		printf("meshwatch %s\n", MW_VERSION);
		free(cfg);
		return 0;
	}
	if (cfg->check_config) {
		config_print(cfg, stdout);
		free(cfg);
		return 0;
	}
	log_set_level(log_parse_level(cfg->log_level));
	/* Everything the node creates is its own: the database and SQLite's
	   -wal/-shm files (which hold password hashes) take the mode of the
	   umask, also in a data directory that already existed with wider
	   permissions. Files meant to be shared (node_id, cert.pem) set their
	   mode explicitly. */
	umask(077);
	sigset_t stop_signals;
	install_signals(&stop_signals);
	/* One malloc arena for all threads. Per-thread arenas kept megabytes
	   idle (14 -> 12 MB RSS after load with two); on the 200-node mesh
	   bench a second arena still held 0.9 MB of mostly free chunks, and
	   one arena takes a node from 7.4 / 7.7 to 7.3 / 7.5 MiB RSS (median
	   / max) at the same CPU per poll (2.50 vs 2.46 ms). Parallel full
	   TLS handshakes, whose bignum code allocates constantly, would queue
	   on the one arena lock; calloc.c keeps their small blocks in the
	   lock-free per-thread cache. MALLOC_ARENA_MAX in the environment
	   wins. */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, 1);
	/* Blocks of 16 KB and more get their own mapping, returned to the
	   kernel when freed: a TLS connection's two record buffers (16.7 KB
	   each) no longer push the top of the heap up, and a burst of
	   connections leaves no free holes resident behind it. 200-node bench:
	   peak RSS (VmHWM) 7.3 / 7.9 -> 7.2 / 7.6 MiB (median / max), CPU per
	   poll unchanged (2.46 ms). The environment (MALLOC_MMAP_THRESHOLD_,
	   GLIBC_TUNABLES) wins. */
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL &&
	    (tunables == NULL || strstr(tunables, "mmap_threshold") == NULL))
		mallopt(M_MMAP_THRESHOLD, 16 * 1024);

	struct node *n = node_create(cfg, err, sizeof err);
	if (n == NULL) {
		log_error("main", "cannot start: %s", err);
		free(cfg);
		return 1;
	}
	if (start_node(n, err, sizeof err) != MW_OK) {
		log_error("main", "cannot start: %s", err);
		teardown(n);
		free(cfg);
		return 1;
	}
	if (!cfg->mesh_secret[0])
		log_warn("main", "MESH_SECRET is not set: mesh requests are not authenticated");
	log_info("main", "meshwatch %s node %s (%s, %s) ready on https://%s/", MW_VERSION, n->id, n->fqdn, n->ip,
	    cfg->listen);

	int64_t now = mw_now_ms();
	struct timer timers[] = {
		{now + 1000, 1000, flush_mesh},
		{now + 1000, 1000, persist_traffic},
		{now + 30000, 60000, maintain_mesh},
		{now + 1000, 1000, flush_targets},
		{now + 1000, 1000, flush_events},
		{now + 250, 250, tick_alerts},
		{now + 20000, 60000, maintain_targets},
		{now + 5000, 5000, node_check_db},
		{now + (int64_t)cfg->cert_check_interval_s * 1000, cfg->cert_check_interval_s * 1000, node_check_cert},
		{now + (int64_t)cfg->session_purge_interval_s * 1000, cfg->session_purge_interval_s * 1000, node_purge_sessions},
		{now + 1000, 1000, scanner_tick},
		{now + 5000, 5000, report_watch_origins},
		{now + 5000, 5000, trim_heap},
	};
	while (!got_stop) {
		int64_t next = now + 1000;
		for (size_t i = 0; i < MW_ARRAY_LEN(timers); i++)
			if (timers[i].next_ms < next)
				next = timers[i].next_ms;
		wait_signal(&stop_signals, next - mw_now_ms());
		if (got_stop)
			break;
		if (got_hup) {
			got_hup = 0;
			struct config *fresh = calloc(1, sizeof *fresh);
			if (fresh && config_load(fresh, argc, argv, err, sizeof err) == 0)
				node_apply_reload(n, fresh);
			else
				log_error("config", "reload failed, keeping the running configuration: %s", fresh ? err : "out of memory");
			free(fresh);
		}
		now = mw_now_ms();
		for (size_t i = 0; i < MW_ARRAY_LEN(timers); i++) {
			if (now >= timers[i].next_ms) {
				timers[i].fn(n);
				timers[i].next_ms = mw_now_ms() + timers[i].interval_ms;
			}
		}
	}
	log_info("main", "stopping");
	teardown(n);
	free(cfg);
	log_info("main", "stopped");
	return 0;
}
