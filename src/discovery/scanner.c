/* scanner: owns the scan queue, the scanner thread and, while a scan
   runs, its sweep (see scanner.h).

   Threads: the scanner thread takes scans off the queue, posts a sweep to
   the prober's loop and waits on s->cond until the loop says it is done;
   then it does what may block (TLS probes in a few short-lived threads,
   reverse DNS with a deadline, /proc/net/arp, the container engine, the
   database). The sweep's memory belongs to the loop from evloop_post until
   it sets sw->done under s->lock; the scanner thread frees it afterwards.
   Live counters are written by the loop and read by API threads under
   s->lock. The loop thread never blocks: every socket is non-blocking and
   new connects are started from a timer, never inside an I/O callback, so
   a slot is never reused while an event for its old socket is pending. */
#include "meshwatch/scanner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/docker.h"
#include "meshwatch/events.h"
#include "meshwatch/evloop.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/node.h"
#include "meshwatch/oui.h"
#include "meshwatch/remotescan.h"
#include "meshwatch/services.h"
#include "meshwatch/util.h"

#define SCAN_MIN_TIMEOUT_MS 150  /* the adaptive timeout never goes below this */

enum { T_PENDING = 0, T_OPEN = 1, T_CLOSED = 2, T_FILTERED = 3 };
enum { H_STARTED = 1, H_ANSWERED = 2, H_DOWN = 4, H_CHECKED = 8 };
enum { P_FREE = 0, P_CONNECT, P_BANNER, P_HTTP };

struct job {
	struct scan_row row;        /* counts under s->lock */
	uint32_t *hosts;
	int nhosts;
	uint16_t *ports;
	int nports;
	volatile int cancel;
};

/* What an open port said; filled on the loop, read by the scanner thread. */
struct open_port {
	int host, port;
	int len;
	int http_sent;
	char raw[SCAN_RAW_MAX + 1];
	/* filled by the scanner thread */
	int tls;
	char tls_subject[160];
	int tls_len;
	char tls_raw[SCAN_RAW_MAX + 1];
	/* answers to the service-specific paths of the definitions for this
	   port (after the TLS probes, when it spoke HTTP) */
	int npaths;
	struct path_answer *paths;
};

struct path_answer {
	char path[SVC_PATH_MAX];
	int len;
	char raw[SCAN_RAW_MAX + 1];
};

/* Smoothed connect round-trip time and its variation (RFC 6298), ms. */
struct rtt {
	float srtt, var;
	int n;
};

struct sweep;

struct probe {
	struct ev_io io;
	struct ev_timer timer;
	struct sweep *sw;
	int target;
	int tries;
	int phase;
	int64_t started_ms;
	struct open_port *op;
};

struct sweep {
	struct scanner *sc;
	struct job *job;
	struct evloop *loop;
	int conc, timeout_ms, retries, banner_ms, host_window;
	int ntargets, next, inflight, active_hosts;
	int peak_inflight, peak_hosts;
	uint8_t *state;
	uint16_t *host_pending;
	uint8_t *host_flags;
	struct rtt *host_rtt;       /* per host, from answered connects */
	struct rtt all_rtt;         /* every host of this sweep */
	struct probe *probes;
	int *free_slots, nfree;
	struct ev_timer refill;
	struct open_port **opens;
	int nopen, capopen;
	int done;                   /* under sc->lock */
};

struct scanner {
	struct node *n;
	struct svcdb *db;
	struct scan_net allowed[SCAN_MAX_NETS];
	int nallowed;
	int allowed_from_config; /* 1: scan_subnets, 0: the connected subnets */
	uint16_t *base_ports;
	int nbase;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *queue[SCAN_QUEUE_MAX];
	int nq;
	struct job *running;
	int stop;
	pthread_t thread;
	int started;
	int64_t next_scheduled_ms;
	struct scanner_stats stats;
	struct remotescan *remote;  /* scans other nodes run for this one */
};

/* ---------- the sweep, on the prober's loop ---------- */

static void sweep_refill(struct ev_timer *t);

static void
want_refill(struct sweep *sw)
{
	if (!evloop_timer_armed(&sw->refill))
		evloop_timer_at(sw->loop, &sw->refill, evloop_now(sw->loop));
}

static void
rtt_add(struct rtt *r, float ms)
{
	if (r->n++ == 0) {
		r->srtt = ms;
		r->var = ms / 2;
		return;
	}
	float d = ms > r->srtt ? ms - r->srtt : r->srtt - ms;
	r->var = 0.75f * r->var + 0.25f * d;
	r->srtt = 0.875f * r->srtt + 0.125f * ms;
}

/* How long a connect to host h may take before it counts as unanswered:
   srtt + 4 var of that host once it has answered; four times that of the
   whole sweep before (a host further away than the others gets room);
   scan_timeout_ms while nothing has answered. Never below
   SCAN_MIN_TIMEOUT_MS nor above scan_timeout_ms. */
static int
effective_timeout(const struct sweep *sw, int h)
{
	const struct rtt *r = &sw->host_rtt[h];
	float t = sw->timeout_ms;
	if (r->n > 0)
		t = r->srtt + 4 * r->var;
	else if (sw->all_rtt.n > 0)
		t = 4 * (sw->all_rtt.srtt + 4 * sw->all_rtt.var);
	int lo = sw->timeout_ms < SCAN_MIN_TIMEOUT_MS ? sw->timeout_ms : SCAN_MIN_TIMEOUT_MS;
	return t < lo ? lo : t > sw->timeout_ms ? sw->timeout_ms : (int)t;
}

/* The neighbour entry of ip is incomplete: on-link and no ARP answer. */
static int
neighbour_unresolved(uint32_t ip)
{
	char want[DISC_IP_MAX + 1];
	snprintf(want, sizeof want, "%u.%u.%u.%u ", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	FILE *f = fopen("/proc/net/arp", "re");
	if (f == NULL)
		return 0;
	char line[256];
	int unresolved = 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, want, strlen(want)) == 0) {
			unsigned hw, flags;
			char ipb[64];
			if (sscanf(line, "%63s 0x%x 0x%x", ipb, &hw, &flags) == 3 && !(flags & 0x2))
				unresolved = 1;
			break;
		}
	fclose(f);
	return unresolved;
}

/* A target's final state; host and scan progress follow. */
static void
target_done(struct sweep *sw, int target, int state)
{
	struct scanner *sc = sw->sc;
	int h = target / sw->job->nports;
	sw->state[target] = (uint8_t)state;
	if (state == T_OPEN || state == T_CLOSED)
		sw->host_flags[h] |= H_ANSWERED;
	int host_finished = --sw->host_pending[h] == 0;
	if (host_finished)
		sw->active_hosts--;
	pthread_mutex_lock(&sc->lock);
	struct scan_row *r = &sw->job->row;
	if (state == T_OPEN) {
		r->open++;
		r->found++;
		sc->stats.open++;
	} else if (state == T_CLOSED) {
		r->closed++;
		sc->stats.closed++;
	} else {
		r->filtered++;
		sc->stats.filtered++;
	}
	if (host_finished)
		r->hosts_done++;
	pthread_mutex_unlock(&sc->lock);
}

static void
probe_close(struct probe *p)
{
	struct sweep *sw = p->sw;
	if (p->io.fd >= 0) {
		evloop_del(sw->loop, &p->io);
		close(p->io.fd); /* SO_LINGER {1,0}: an RST, no TIME_WAIT */
		p->io.fd = -1;
	}
	evloop_timer_cancel(sw->loop, &p->timer);
}

/* Ends a probe: the slot returns to the free list; new connects start
   from the refill timer. */
static void
probe_finish(struct probe *p, int state)
{
	struct sweep *sw = p->sw;
	probe_close(p);
	if (p->op) {
		if (sw->nopen == sw->capopen) {
			int cap = sw->capopen ? sw->capopen * 2 : 64;
			struct open_port **no = realloc(sw->opens, (size_t)cap * sizeof *no);
			if (no) {
				sw->opens = no;
				sw->capopen = cap;
			}
		}
		if (sw->nopen < sw->capopen)
			sw->opens[sw->nopen++] = p->op;
		else
			free(p->op);
		p->op = NULL;
	}
	target_done(sw, p->target, state);
	p->phase = P_FREE;
	sw->inflight--;
	sw->free_slots[sw->nfree++] = (int)(p - sw->probes);
	want_refill(sw);
}

static void probe_io(struct ev_io *io, uint32_t events);
static void probe_timeout(struct ev_timer *t);

static int
classify_error(int e)
{
	if (e == ECONNREFUSED)
		return T_CLOSED;
	return T_FILTERED; /* EHOSTUNREACH, ENETUNREACH, EACCES (admin prohibited), ETIMEDOUT ... */
}

/* Starts (or restarts) the connect of p->target. Timer context only. */
static void
probe_connect(struct probe *p)
{
	struct sweep *sw = p->sw;
	int h = p->target / sw->job->nports;
	int port = sw->job->ports[p->target % sw->job->nports];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(sw->job->hosts[h]);
	p->phase = P_CONNECT;
	p->started_ms = evloop_now(sw->loop);
	p->io.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->io.fd < 0) {
		log_warn("scan", "socket: %s (counted as filtered)", strerror(errno));
		probe_finish(p, T_FILTERED);
		return;
	}
	struct linger lg = {1, 0};
	setsockopt(p->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	pthread_mutex_lock(&sw->sc->lock);
	sw->sc->stats.probes++;
	pthread_mutex_unlock(&sw->sc->lock);
	int rc = connect(p->io.fd, (struct sockaddr *)&sa, sizeof sa);
	int e = rc == 0 ? 0 : errno;
	if (rc != 0 && e != EINPROGRESS) {
		probe_finish(p, classify_error(e));
		return;
	}
	p->io.fn = probe_io;
	p->io.arg = p;
	if (evloop_add(sw->loop, &p->io, rc == 0 ? EPOLLIN : EPOLLOUT) != 0) {
		probe_finish(p, T_FILTERED);
		return;
	}
	evloop_timer_init(&p->timer, probe_timeout, p);
	if (rc == 0) {
		/* connected at once (loopback): straight to the banner */
		p->phase = P_BANNER;
		p->op = calloc(1, sizeof *p->op);
		if (p->op) {
			p->op->host = h;
			p->op->port = port;
		}
		evloop_timer_at(sw->loop, &p->timer, evloop_now(sw->loop) + sw->banner_ms);
		return;
	}
	/* first look at the minimum; probe_timeout waits longer while the
	   round-trip estimate says so */
	int first = sw->timeout_ms < SCAN_MIN_TIMEOUT_MS ? sw->timeout_ms : SCAN_MIN_TIMEOUT_MS;
	evloop_timer_at(sw->loop, &p->timer, p->started_ms + first);
}

static void
send_http(struct probe *p)
{
	struct sweep *sw = p->sw;
	char req[256];
	uint32_t ip = sw->job->hosts[p->op->host];
	int n = snprintf(req, sizeof req,
	    "GET / HTTP/1.0\r\nHost: %u.%u.%u.%u:%d\r\nUser-Agent: meshwatch/%s\r\nAccept: */*\r\n\r\n", ip >> 24,
	    (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, p->op->port, MW_VERSION);
	p->op->http_sent = 1;
	p->phase = P_HTTP;
	if (write(p->io.fd, req, (size_t)n) != n) {
		probe_finish(p, T_OPEN);
		return;
	}
	evloop_timer_at(sw->loop, &p->timer, evloop_now(sw->loop) + 2 * sw->banner_ms);
}

static void
probe_timeout(struct ev_timer *t)
{
	struct probe *p = t->arg;
	struct sweep *sw = p->sw;
	if (p->phase == P_CONNECT) {
		int h = p->target / sw->job->nports;
		int64_t due = p->started_ms + effective_timeout(sw, h);
		if (due > evloop_now(sw->loop)) {
			evloop_timer_at(sw->loop, t, due);
			return;
		}
		/* no answer: retry, unless the host is known down */
		if (!(sw->host_flags[h] & (H_ANSWERED | H_CHECKED))) {
			sw->host_flags[h] |= H_CHECKED;
			if (neighbour_unresolved(sw->job->hosts[h]))
				sw->host_flags[h] |= H_DOWN;
		}
		if (p->tries < sw->retries && !(sw->host_flags[h] & H_DOWN) && !sw->job->cancel) {
			p->tries++;
			probe_close(p);
			probe_connect(p);
			return;
		}
		probe_finish(p, T_FILTERED);
		return;
	}
	if (p->phase == P_BANNER && p->op && p->op->len == 0 && !p->op->http_sent) {
		send_http(p); /* silent service: ask it as a web server */
		return;
	}
	probe_finish(p, T_OPEN);
}

static void
probe_io(struct ev_io *io, uint32_t events)
{
	struct probe *p = io->arg;
	struct sweep *sw = p->sw;
	if (p->phase == P_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr == 0 || soerr == ECONNREFUSED) {
			float ms = (float)(evloop_now(sw->loop) - p->started_ms);
			rtt_add(&sw->host_rtt[p->target / sw->job->nports], ms);
			rtt_add(&sw->all_rtt, ms);
		}
		if (soerr != 0) {
			int h = p->target / sw->job->nports;
			if (soerr == EHOSTUNREACH && !(sw->host_flags[h] & H_ANSWERED) &&
			    evloop_now(sw->loop) - p->started_ms >= 2000)
				sw->host_flags[h] |= H_DOWN; /* the neighbour never answered */
			probe_finish(p, classify_error(soerr));
			return;
		}
		p->phase = P_BANNER;
		p->op = calloc(1, sizeof *p->op);
		if (p->op == NULL) {
			probe_finish(p, T_OPEN);
			return;
		}
		p->op->host = p->target / sw->job->nports;
		p->op->port = sw->job->ports[p->target % sw->job->nports];
		evloop_mod(sw->loop, io, EPOLLIN);
		evloop_timer_at(sw->loop, &p->timer, evloop_now(sw->loop) + sw->banner_ms);
		return;
	}
	if (p->op == NULL) {
		probe_finish(p, T_OPEN);
		return;
	}
	struct open_port *op = p->op;
	ssize_t r = read(io->fd, op->raw + op->len, (size_t)(SCAN_RAW_MAX - op->len));
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		op->len += (int)r;
		op->raw[op->len] = '\0';
	}
	if (r <= 0 || op->len >= SCAN_RAW_MAX || (p->phase == P_BANNER && memchr(op->raw, '\n', (size_t)op->len)))
		probe_finish(p, T_OPEN);
}

static void
sweep_finish(struct sweep *sw)
{
	struct scanner *sc = sw->sc;
	pthread_mutex_lock(&sc->lock);
	sc->stats.peak_connects = sw->peak_inflight;
	sc->stats.peak_hosts = sw->peak_hosts;
	sw->done = 1;
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
	/* the scanner thread owns sw from here on */
}

static void
sweep_refill(struct ev_timer *t)
{
	struct sweep *sw = t->arg;
	int nports = sw->job->nports;
	while (sw->next < sw->ntargets && sw->inflight < sw->conc) {
		int target = sw->next, h = target / nports;
		if (sw->job->cancel || (sw->host_flags[h] & H_DOWN)) {
			/* cancelled or the host is down: the rest of its ports are not tried */
			if (!(sw->host_flags[h] & H_STARTED)) {
				sw->host_flags[h] |= H_STARTED;
				sw->active_hosts++;
			}
			sw->next++;
			target_done(sw, target, T_FILTERED);
			continue;
		}
		if (!(sw->host_flags[h] & H_STARTED)) {
			if (sw->active_hosts >= sw->host_window)
				break;
			sw->host_flags[h] |= H_STARTED;
			sw->active_hosts++;
			if (sw->active_hosts > sw->peak_hosts)
				sw->peak_hosts = sw->active_hosts;
		}
		struct probe *p = &sw->probes[sw->free_slots[--sw->nfree]];
		p->target = target;
		p->tries = 0;
		p->op = NULL;
		sw->next++;
		if (++sw->inflight > sw->peak_inflight)
			sw->peak_inflight = sw->inflight;
		probe_connect(p);
	}
	if (sw->next >= sw->ntargets && sw->inflight == 0 && !evloop_timer_armed(&sw->refill))
		sweep_finish(sw);
}

static void
sweep_begin(void *arg)
{
	struct sweep *sw = arg;
	evloop_timer_init(&sw->refill, sweep_refill, sw);
	for (int i = 0; i < sw->conc; i++) {
		sw->probes[i].sw = sw;
		sw->probes[i].io.fd = -1;
		sw->probes[i].timer.heap_index = -1;
		sw->free_slots[sw->nfree++] = sw->conc - 1 - i;
	}
	if (sw->ntargets == 0) {
		sweep_finish(sw);
		return;
	}
	want_refill(sw);
}

static void
sweep_free(struct sweep *sw)
{
	if (sw == NULL)
		return;
	for (int i = 0; i < sw->nopen; i++)
		if (sw->opens[i])
			free(sw->opens[i]->paths);
	for (int i = 0; i < sw->nopen; i++)
		free(sw->opens[i]);
	free(sw->opens);
	free(sw->state);
	free(sw->host_pending);
	free(sw->host_flags);
	free(sw->host_rtt);
	free(sw->probes);
	free(sw->free_slots);
	free(sw);
}

static struct sweep *
sweep_new(struct scanner *sc, struct job *job)
{
	const struct config *c = &sc->n->cfg;
	struct sweep *sw = calloc(1, sizeof *sw);
	if (sw == NULL)
		return NULL;
	sw->sc = sc;
	sw->job = job;
	sw->loop = sc->n->prober;
	sw->conc = c->scan_concurrency;
	sw->timeout_ms = c->scan_timeout_ms;
	sw->retries = c->scan_retries;
	sw->banner_ms = c->scan_banner_ms;
	sw->host_window = c->scan_host_window;
	sw->ntargets = job->nhosts * job->nports;
	sw->state = calloc((size_t)sw->ntargets + 1, 1);
	sw->host_pending = calloc((size_t)job->nhosts + 1, sizeof *sw->host_pending);
	sw->host_flags = calloc((size_t)job->nhosts + 1, 1);
	sw->host_rtt = calloc((size_t)job->nhosts + 1, sizeof *sw->host_rtt);
	sw->probes = calloc((size_t)sw->conc, sizeof *sw->probes);
	sw->free_slots = calloc((size_t)sw->conc, sizeof *sw->free_slots);
	if (!sw->state || !sw->host_pending || !sw->host_flags || !sw->host_rtt || !sw->probes || !sw->free_slots) {
		sweep_free(sw);
		return NULL;
	}
	for (int h = 0; h < job->nhosts; h++)
		sw->host_pending[h] = (uint16_t)job->nports;
	return sw;
}

/* ---------- what may block: the scanner thread and its helpers ---------- */

/* A blocking TCP connect with a deadline; the socket is blocking after. */
static int
connect_timeout(uint32_t ip, int port, int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(ip);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd pf = {.fd = fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (poll(&pf, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* One fetch of a batch: GET / over TLS (path -1), or GET of op's path
   number path (over TLS when the port spoke it). */
struct fetch {
	struct open_port *op;
	int path;
};

struct tls_batch {
	struct fetch *items;
	int n;
	int next;                   /* under lock */
	pthread_mutex_t lock;
	const uint32_t *hosts;
	int timeout_ms;
	volatile int *cancel;
};

/* GET path from op's host and port, over TLS when tls (certificate not
   verified: we want its subject, not trust; the subject goes to subject
   when not NULL); the answer's first SCAN_RAW_MAX bytes into raw
   (NUL-terminated). Returns its length, or -1 when no connection or
   handshake came about. */
static int
http_get(struct tls_batch *b, mbedtls_ssl_config *conf, const struct open_port *op, const char *path, int tls,
    char *raw, char *subject, size_t sublen)
{
	uint32_t ip = b->hosts[op->host];
	int fd = connect_timeout(ip, op->port, b->timeout_ms);
	if (fd < 0)
		return -1;
	int len = -1, r;
	int64_t deadline = mw_now_ms() + b->timeout_ms;
	char req[SVC_PATH_MAX + 160];
	int n = snprintf(req, sizeof req,
	    "GET %s HTTP/1.0\r\nHost: %u.%u.%u.%u:%d\r\nUser-Agent: meshwatch/%s\r\nAccept: */*\r\n\r\n", path,
	    ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, op->port, MW_VERSION);
	mbedtls_net_context net = {.fd = fd};
	mbedtls_ssl_context ssl;
	mbedtls_ssl_init(&ssl);
	if (!tls) {
		if (write(fd, req, (size_t)n) != n)
			goto out;
		len = 0;
		struct timeval tv = {b->timeout_ms / 1000, (b->timeout_ms % 1000) * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		while (len < SCAN_RAW_MAX && mw_now_ms() < deadline && (r = (int)read(fd, raw + len, (size_t)(SCAN_RAW_MAX - len))) > 0)
			len += r;
		raw[len] = '\0';
		goto out;
	}
	if (mbedtls_ssl_setup(&ssl, conf) != 0)
		goto out;
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	while ((r = mbedtls_ssl_handshake(&ssl)) != 0) {
		if ((r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) || mw_now_ms() > deadline)
			goto out;
	}
	len = 0;
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&ssl);
	if (subject && crt && mbedtls_x509_dn_gets(subject, sublen, &crt->subject) < 0)
		subject[0] = '\0';
	if (mbedtls_ssl_write(&ssl, (const unsigned char *)req, (size_t)n) == n) {
		while (len < SCAN_RAW_MAX && mw_now_ms() < deadline) {
			r = mbedtls_ssl_read(&ssl, (unsigned char *)raw + len, (size_t)(SCAN_RAW_MAX - len));
			if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
				continue;
			if (r <= 0)
				break;
			len += r;
		}
	}
	raw[len] = '\0';
	mbedtls_ssl_close_notify(&ssl);
out:
	mbedtls_ssl_free(&ssl);
	close(fd);
	return len;
}

static void
fetch_one(struct tls_batch *b, mbedtls_ssl_config *conf, const struct fetch *f)
{
	struct open_port *op = f->op;
	if (f->path < 0) {
		int len = http_get(b, conf, op, "/", 1, op->tls_raw, op->tls_subject, sizeof op->tls_subject);
		if (len >= 0) {
			op->tls = 1;
			op->tls_len = len;
		}
		return;
	}
	struct path_answer *pa = &op->paths[f->path];
	int len = http_get(b, conf, op, pa->path, op->tls, pa->raw, NULL, 0);
	pa->len = len > 0 ? len : 0;
}

static void *
tls_worker(void *arg)
{
	struct tls_batch *b = arg;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	if (mbedtls_ctr_drbg_seed(&drbg, mw_drbg_entropy, NULL, (const unsigned char *)"mw-scan", 7) == 0 &&
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	        MBEDTLS_SSL_PRESET_DEFAULT) == 0) {
		mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
		mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
		mbedtls_ssl_conf_read_timeout(&conf, (uint32_t)b->timeout_ms);
		for (;;) {
			pthread_mutex_lock(&b->lock);
			int i = b->next < b->n && !*b->cancel ? b->next++ : -1;
			pthread_mutex_unlock(&b->lock);
			if (i < 0)
				break;
			fetch_one(b, &conf, &b->items[i]);
		}
	}
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	return NULL;
}

/* Open ports that neither spoke nor answered HTTP may speak TLS; so may
   those whose plain-HTTP answer sends us to https:// or says the port
   speaks HTTPS (a TLS port answering a plain request in plain text). */
static int
tls_candidate(const struct open_port *op)
{
	if (op->len == 0)
		return 1;
	const unsigned char *u = (const unsigned char *)op->raw;
	if (op->http_sent && u[0] == 0x15 && u[1] == 0x03) /* a TLS alert to our plain GET */
		return 1;
	return op->http_sent && strncmp(op->raw, "HTTP/", 5) == 0 &&
	       (strcasestr(op->raw, "\nLocation: https://") || strcasestr(op->raw, "HTTPS port") ||
	           strcasestr(op->raw, "speaks HTTPS"));
}

/* Runs a batch's fetches on SCAN_TLS_THREADS threads. */
static void
run_batch(struct tls_batch *b)
{
	if (b->n == 0)
		return;
	pthread_mutex_init(&b->lock, NULL);
	pthread_t th[SCAN_TLS_THREADS];
	int nt = 0;
	for (int i = 0; i < SCAN_TLS_THREADS && i < b->n; i++)
		if (pthread_create(&th[nt], NULL, tls_worker, b) == 0)
			nt++;
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&b->lock);
}

static void
run_tls_probes(struct sweep *sw, int timeout_ms)
{
	struct tls_batch b = {.hosts = sw->job->hosts, .timeout_ms = timeout_ms, .cancel = &sw->job->cancel};
	b.items = calloc((size_t)sw->nopen + 1, sizeof *b.items);
	if (b.items == NULL)
		return;
	for (int i = 0; i < sw->nopen && b.n < SCAN_TLS_MAX; i++)
		if (tls_candidate(sw->opens[i]))
			b.items[b.n++] = (struct fetch){sw->opens[i], -1};
	run_batch(&b);
	free(b.items);
}

/* Ports that answered HTTP (plain or over TLS) are asked for the paths of
   the definitions listing that port (at most SCAN_PATHS_PER_PORT each,
   SCAN_PATH_FETCHES_MAX per scan): identify() then weighs each answer
   against the definitions of its path. */
static void
run_path_probes(struct scanner *sc, struct sweep *sw, int timeout_ms)
{
	struct tls_batch b = {.hosts = sw->job->hosts, .timeout_ms = timeout_ms, .cancel = &sw->job->cancel};
	b.items = calloc(SCAN_PATH_FETCHES_MAX, sizeof *b.items);
	if (b.items == NULL)
		return;
	for (int i = 0; i < sw->nopen && b.n < SCAN_PATH_FETCHES_MAX; i++) {
		struct open_port *op = sw->opens[i];
		const char *raw = op->tls ? op->tls_raw : op->raw;
		size_t len = (size_t)(op->tls ? op->tls_len : op->len);
		if (len < 5 || strncmp(raw, "HTTP/", 5) != 0)
			continue;
		char paths[SCAN_PATHS_PER_PORT][SVC_PATH_MAX];
		int np = svcdb_paths(sc->db, (uint16_t)op->port, paths, SCAN_PATHS_PER_PORT);
		if (np <= 0 || (op->paths = calloc((size_t)np, sizeof *op->paths)) == NULL)
			continue;
		for (int k = 0; k < np && b.n < SCAN_PATH_FETCHES_MAX; k++) {
			memcpy(op->paths[k].path, paths[k], sizeof op->paths[k].path);
			op->npaths = k + 1;
			b.items[b.n++] = (struct fetch){op, k};
		}
	}
	run_batch(&b);
	free(b.items);
}

/* Reverse DNS: getnameinfo blocks for as long as the resolver likes, so a
   batch runs in detached threads and the scanner waits at most until the
   deadline; a late thread finds the batch by its reference and frees it. */
struct rdns_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs, next, n, finished;
	uint32_t *ips;
	char (*names)[256];
};

static void
rdns_unref(struct rdns_batch *b)
{
	pthread_mutex_lock(&b->lock);
	int last = --b->refs == 0;
	pthread_mutex_unlock(&b->lock);
	if (last) {
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->cond);
		free(b->ips);
		free(b->names);
		free(b);
	}
}

static void *
rdns_worker(void *arg)
{
	struct rdns_batch *b = arg;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		int i = b->next < b->n && b->refs > 1 ? b->next++ : -1;
		pthread_mutex_unlock(&b->lock);
		if (i < 0)
			break;
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(b->ips[i]);
		char host[256];
		int rc = getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, NULL, 0, NI_NAMEREQD);
		pthread_mutex_lock(&b->lock);
		if (rc == 0)
			snprintf(b->names[i], sizeof b->names[i], "%s", host);
		b->finished++;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
	rdns_unref(b);
	return NULL;
}

/* Names for ips (n entries) into names; those not answered by the deadline
   stay "". */
static void
rdns_lookup(const uint32_t *ips, int n, char (*names)[256], int timeout_ms)
{
	if (n == 0)
		return;
	struct rdns_batch *b = calloc(1, sizeof *b);
	if (b == NULL)
		return;
	b->ips = malloc((size_t)n * sizeof *b->ips);
	b->names = calloc((size_t)n, sizeof *b->names);
	if (b->ips == NULL || b->names == NULL) {
		free(b->ips);
		free(b->names);
		free(b);
		return;
	}
	memcpy(b->ips, ips, (size_t)n * sizeof *ips);
	b->n = n;
	b->refs = 1;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	for (int i = 0; i < SCAN_RDNS_THREADS && i < n; i++) {
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&b->lock);
		b->refs++;
		pthread_mutex_unlock(&b->lock);
		if (pthread_create(&th, &at, rdns_worker, b) != 0)
			rdns_unref(b);
		pthread_attr_destroy(&at);
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	while (b->finished < b->n && b->refs > 1)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &ts) != 0)
			break;
	memcpy(names, b->names, (size_t)n * sizeof *names);
	b->next = b->n; /* late workers take nothing more */
	pthread_mutex_unlock(&b->lock);
	rdns_unref(b);
}

int
scanner_parse_arp(const char *text, void (*fn)(void *ctx, const char *ip, const char *mac), void *ctx)
{
	int n = 0;
	const char *p = strchr(text, '\n'); /* header line */
	while (p && *++p) {
		char ip[64], mac[64], dev[64], mask[16];
		unsigned hw, flags;
		if (sscanf(p, "%63s 0x%x 0x%x %63s %15s %63s", ip, &hw, &flags, mac, mask, dev) == 6 && (flags & 0x2) &&
		    strlen(ip) < DISC_IP_MAX && strlen(mac) == 17 && strcmp(mac, "00:00:00:00:00:00") != 0) {
			fn(ctx, ip, mac);
			n++;
		}
		p = strchr(p, '\n');
	}
	return n;
}

void
scanner_service_hostname(const char *banner, const char *tls_subject, char *out, size_t outlen)
{
	out[0] = '\0';
	const char *cn = tls_subject ? strstr(tls_subject, "CN=") : NULL;
	if (cn) {
		size_t l = strcspn(cn + 3, ",");
		if (l > 0 && l < outlen && cn[3] != '*') {
			memcpy(out, cn + 3, l);
			out[l] = '\0';
			return;
		}
	}
	/* "220 host.example.com ESMTP ..." and the like: a dotted second word */
	if (banner && (strncmp(banner, "220", 3) == 0 || strncmp(banner, "+OK", 3) == 0 || strncmp(banner, "* OK", 4) == 0)) {
		const char *w = strchr(banner, ' ');
		while (w && *w == ' ')
			w++;
		if (w == NULL)
			return;
		size_t l = strcspn(w, " \r\n");
		int dotted = memchr(w, '.', l) != NULL, ok = l > 2 && l < outlen && dotted;
		for (size_t i = 0; ok && i < l; i++)
			ok = (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') || (w[i] >= '0' && w[i] <= '9') ||
			     w[i] == '.' || w[i] == '-';
		if (ok) {
			memcpy(out, w, l);
			out[l] = '\0';
		}
	}
}

struct arp_ctx {
	struct job *job;
	char (*macs)[18];
	uint8_t *present;
};

static int
host_index(const struct job *job, uint32_t v)
{
	int lo = 0, hi = job->nhosts - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (job->hosts[mid] == v)
			return mid;
		if (job->hosts[mid] < v)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static void
on_arp(void *arg, const char *ip, const char *mac)
{
	struct arp_ctx *c = arg;
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return;
	int h = host_index(c->job, ntohl(a.s_addr));
	if (h >= 0) {
		snprintf(c->macs[h], sizeof c->macs[h], "%s", mac);
		c->present[h] = 1;
	}
}

/* Evidence for one open port, and the service it names. */
static void
identify(struct scanner *sc, struct open_port *op, const char *vendor, struct disc_service *out)
{
	const char *raw = op->tls ? op->tls_raw : op->raw;
	size_t len = (size_t)(op->tls ? op->tls_len : op->len);
	char headers[2048], title[128], banner[DISC_BANNER_MAX];
	const char *body = NULL;
	int status = svc_parse_http(raw, len, headers, sizeof headers, title, sizeof title, &body);
	banner[0] = '\0';
	if (status == 0 && !op->tls && !op->http_sent) {
		const char *nl = memchr(op->raw, '\n', (size_t)op->len);
		svc_printable(op->raw, nl ? (size_t)(nl - op->raw) : (size_t)op->len, banner, sizeof banner);
	} else if (status > 0) {
		const char *nl = memchr(raw, '\n', len);
		svc_printable(raw, nl ? (size_t)(nl - raw) : len, banner, sizeof banner);
		/* the Server header says more than the status line */
		const char *sv = strcasestr(headers, "server:");
		if (sv) {
			size_t l = strlen(banner);
			char server[128];
			const char *eol = strchr(sv, '\n');
			svc_printable(sv, eol ? (size_t)(eol - sv) : strlen(sv), server, sizeof server);
			snprintf(banner + l, sizeof banner - l, "; %s", server);
		}
	}
	struct svc_evidence ev = {
		.port = (uint16_t)op->port,
		.banner = banner[0] && status == 0 ? banner : NULL,
		.http_status = status,
		.http_headers = status ? headers : NULL,
		.http_body = body,
		.http_title = title[0] ? title : NULL,
		.tls = op->tls,
		.tls_subject = op->tls_subject[0] ? op->tls_subject : NULL,
		.vendor = vendor && vendor[0] ? vendor : NULL,
	};
	struct svc_match m;
	svcdb_identify(sc->db, &ev, &m);
	/* the answers to service-specific paths, each weighed by its own
	   definitions; a better match names the service */
	for (int k = 0; k < op->npaths; k++) {
		struct path_answer *pa = &op->paths[k];
		char ph[2048], pt[128];
		const char *pb = NULL;
		int pst = svc_parse_http(pa->raw, (size_t)pa->len, ph, sizeof ph, pt, sizeof pt, &pb);
		if (pst == 0)
			continue;
		struct svc_evidence pev = ev;
		pev.banner = NULL;
		pev.http_status = pst;
		pev.http_headers = ph;
		pev.http_body = pb;
		pev.http_title = pt[0] ? pt : NULL;
		pev.path = pa->path;
		struct svc_match pm;
		if (svcdb_identify(sc->db, &pev, &pm) > m.confidence)
			m = pm;
	}
	snprintf(out->proto, sizeof out->proto, "tcp");
	snprintf(out->state, sizeof out->state, "open");
	out->port = op->port;
	snprintf(out->service, sizeof out->service, "%s", m.confidence ? m.name : "unknown");
	snprintf(out->confidence, sizeof out->confidence, "%s", svc_confidence_name(m.confidence));
	snprintf(out->banner, sizeof out->banner, "%s", banner);
	snprintf(out->title, sizeof out->title, "%s", title);
	snprintf(out->tls_subject, sizeof out->tls_subject, "%s", op->tls_subject);
}

static struct disc_limits
limits_of(const struct config *c)
{
	return (struct disc_limits){c->discovery_max_hosts, c->discovery_max_changes, c->scan_keep, SCAN_MAX_RESULTS};
}

static void
docker_refresh(struct scanner *sc, int64_t now)
{
	const struct config *c = &sc->n->cfg;
	if (c->docker_socket[0] == '\0' || access(c->docker_socket, R_OK | W_OK) != 0) {
		static int said;
		if (!said++)
			log_debug("scan", "no container engine socket at %s: containers are not listed", c->docker_socket);
		return;
	}
	char err[300], *body = NULL;
	size_t len = 0;
	if (docker_get(c->docker_socket, "/containers/json", 3000, &body, &len, err, sizeof err) != 0) {
		log_warn("scan", "container engine: %s", err);
		return;
	}
	struct docker_container *cs = calloc(DOCKER_MAX_CONTAINERS, sizeof *cs);
	struct disc_host *hs = calloc(DOCKER_MAX_CONTAINERS, sizeof *hs);
	int n = cs ? docker_parse_containers(body, len, cs, DOCKER_MAX_CONTAINERS) : MW_ENOMEM;
	free(body);
	/* the engine's networks give each container's subnet (a failure here
	   only leaves the subnets out) */
	struct docker_network *nets = calloc(DOCKER_MAX_NETWORKS, sizeof *nets);
	int nnets = 0;
	if (nets && docker_get(c->docker_socket, "/networks", 3000, &body, &len, err, sizeof err) == 0) {
		nnets = docker_parse_networks(body, len, nets, DOCKER_MAX_NETWORKS);
		free(body);
		if (nnets < 0)
			nnets = 0;
	}
	int k = 0;
	for (int i = 0; hs && i < n; i++) {
		if (cs[i].ip[0] == '\0')
			continue;
		struct disc_host *h = &hs[k];
		const char *subnet = "";
		for (int j = 0; j < nnets; j++)
			if (strcmp(nets[j].name, cs[i].network) == 0)
				subnet = nets[j].subnet;
		snprintf(h->ip, sizeof h->ip, "%s", cs[i].ip);
		snprintf(h->mac, sizeof h->mac, "%s", cs[i].mac);
		snprintf(h->hostname, sizeof h->hostname, "%s", cs[i].name);
		snprintf(h->hostname_source, sizeof h->hostname_source, "docker");
		snprintf(h->source, sizeof h->source, "docker");
		snprintf(h->detail, sizeof h->detail, "container %.36s (%.36s) on network %.20s%s%.18s of node %.8s",
		    cs[i].name, cs[i].image, cs[i].network, subnet[0] ? " " : "", subnet, sc->n->id);
		char label[64];
		svc_printable(cs[i].label_service, strlen(cs[i].label_service), label, sizeof label);
		h->svc = calloc((size_t)cs[i].nports + 1, sizeof *h->svc);
		for (int p = 0; h->svc && p < cs[i].nports; p++) {
			struct disc_service *v = &h->svc[h->nsvc++];
			struct svc_evidence ev = {.port = cs[i].ports[p].port, .unprobed = 1, .image = cs[i].image,
			    .image_title = cs[i].label_title[0] ? cs[i].label_title : NULL};
			struct svc_match m;
			if (label[0]) { /* the container says what it is */
				snprintf(m.name, sizeof m.name, "%s", label);
				m.confidence = SVC_CERTAIN;
			} else {
				svcdb_identify(sc->db, &ev, &m);
			}
			v->port = cs[i].ports[p].port;
			snprintf(v->proto, sizeof v->proto, "%s", cs[i].ports[p].proto);
			snprintf(v->state, sizeof v->state, "open");
			snprintf(v->service, sizeof v->service, "%s", m.confidence ? m.name : "unknown");
			snprintf(v->confidence, sizeof v->confidence, "%s", svc_confidence_name(m.confidence));
			snprintf(v->banner, sizeof v->banner, "image %s%s%s%s", cs[i].image,
			    cs[i].compose_service[0] ? ", compose service " : "", cs[i].compose_service,
			    cs[i].ports[p].public_port ? ", published" : "");
		}
		k++;
	}
	struct disc_changes changes = {0};
	struct disc_limits lim = limits_of(c);
	if (n >= 0 && store_discovery_apply_docker(sc->n->store, now, hs, k, &lim, &changes) == 0)
		log_info("scan", "container engine: %d containers with an address, %d changes", k, changes.total);
	else if (n < 0)
		log_warn("scan", "container engine: %s could not be parsed", "/containers/json");
	for (int i = 0; hs && i < k; i++)
		free(hs[i].svc);
	free(hs);
	free(cs);
	free(nets);
	pthread_mutex_lock(&sc->lock);
	sc->stats.docker_runs++;
	pthread_mutex_unlock(&sc->lock);
}

/* One change of scan scan_id as an event and a log line: a new host
   (info), a port opened (a warning: something new listens) or closed
   (info). */
static void
change_event(struct scanner *sc, const struct disc_change *ch)
{
	int host = strcmp(ch->kind, "new_host") == 0, opened = strcmp(ch->kind, "port_opened") == 0;
	char subject[EVENT_SUBJECT_MAX];
	if (host)
		snprintf(subject, sizeof subject, "%s", ch->ip);
	else
		snprintf(subject, sizeof subject, "%s:%d/tcp", ch->ip, ch->port);
	struct event_row e;
	event_init(&e, host ? "host_new" : ch->kind, opened ? EVENT_WARNING : EVENT_INFO, "host", subject,
	    host ? ch->detail : ch->ip, host ? "" : opened ? "closed" : "open", host ? "up" : opened ? "open" : "closed");
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddNumberToObject(evd, "scan_id", (double)ch->scan_id);
	cJSON_AddStringToObject(evd, host ? "hostname" : "service", ch->detail);
	event_set_evidence(&e, evd);
	events_emit(sc->n->events, &e);
	if (host)
		log_info("scan", "scan %lld: new host %s (%s)", (long long)ch->scan_id, ch->ip, ch->detail);
	else
		MW_LOG_AT(opened ? LOG_WARN : LOG_INFO, "scan", 0, "scan %lld: %s port %s (%s)", (long long)ch->scan_id,
		    opened ? "open" : "closed", subject, ch->detail[0] ? ch->detail : "unknown");
}

/* A scan's changes as events: each of the first SCAN_EVENTS_MAX, and past
   them one scan_changes event with the counts, so a wide scan that finds
   a whole network cannot flood the events table. */
static void
scan_events(struct scanner *sc, int64_t scan_id, const struct disc_changes *ch)
{
	for (int i = 0; i < ch->nrows; i++)
		change_event(sc, &ch->rows[i]);
	int events = ch->new_host + ch->port_opened + ch->port_closed;
	if (events <= ch->nrows)
		return;
	char id[24], total[24];
	snprintf(id, sizeof id, "%lld", (long long)scan_id);
	snprintf(total, sizeof total, "%d", ch->total);
	struct event_row e;
	event_init(&e, "scan_changes", EVENT_WARNING, "scan", id, NULL, "", total);
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddNumberToObject(evd, "host_new", ch->new_host);
	cJSON_AddNumberToObject(evd, "port_opened", ch->port_opened);
	cJSON_AddNumberToObject(evd, "port_closed", ch->port_closed);
	cJSON_AddNumberToObject(evd, "host_back", ch->host_back);
	cJSON_AddNumberToObject(evd, "host_gone", ch->host_gone);
	cJSON_AddNumberToObject(evd, "events", ch->nrows);
	cJSON_AddNumberToObject(evd, "left_out", events - ch->nrows);
	event_set_evidence(&e, evd);
	events_emit(sc->n->events, &e);
	log_warn("scan", "scan %lld: %d changes (%d new hosts, %d ports opened, %d closed): events for the first %d only, "
	                 "see GET /api/changes", (long long)scan_id, ch->total, ch->new_host, ch->port_opened,
	    ch->port_closed, ch->nrows);
}

/* Everything after the sweep: enrichment, identification, the store. */
static int
record_scan(struct scanner *sc, struct sweep *sw, char *err, size_t errlen)
{
	const struct config *c = &sc->n->cfg;
	struct job *job = sw->job;
	int64_t now = mw_wall_s();
	run_tls_probes(sw, c->scan_timeout_ms + 2 * c->scan_banner_ms);
	run_path_probes(sc, sw, c->scan_timeout_ms + 2 * c->scan_banner_ms);

	char(*macs)[18] = calloc((size_t)job->nhosts + 1, sizeof *macs);
	uint8_t *arp = calloc((size_t)job->nhosts + 1, 1);
	int *nopen = calloc((size_t)job->nhosts + 1, sizeof *nopen);
	int rc = MW_ENOMEM;
	struct disc_host *hs = NULL;
	struct disc_result *res = NULL;
	uint32_t *up_ips = NULL;
	char(*names)[256] = NULL;
	int nup = 0, nres = 0;
	if (!macs || !arp || !nopen)
		goto out;
	size_t alen = 0;
	int aerr = 0;
	char *arptext = mw_read_file("/proc/net/arp", ARP_FILE_MAX, &alen, &aerr);
	if (arptext) {
		struct arp_ctx ac = {job, macs, arp};
		scanner_parse_arp(arptext, on_arp, &ac);
		free(arptext);
	}
	for (int i = 0; i < sw->nopen; i++)
		nopen[sw->opens[i]->host]++;
	/* up: it answered on some port, or the neighbour table knows its MAC */
	int *up_index = calloc((size_t)job->nhosts + 1, sizeof *up_index);
	if (up_index == NULL)
		goto out;
	for (int h = 0; h < job->nhosts; h++) {
		up_index[h] = -1;
		if ((sw->host_flags[h] & H_ANSWERED) || arp[h])
			up_index[h] = nup++;
	}
	hs = calloc((size_t)nup + 1, sizeof *hs);
	up_ips = calloc((size_t)nup + 1, sizeof *up_ips);
	names = calloc((size_t)nup + 1, sizeof *names);
	if (!hs || !up_ips || !names) {
		free(up_index);
		goto out;
	}
	const struct oui_db *oui = oui_shared(c->oui_file);
	for (int h = 0; h < job->nhosts; h++) {
		int u = up_index[h];
		if (u < 0)
			continue;
		up_ips[u] = job->hosts[h];
		struct disc_host *d = &hs[u];
		snprintf(d->ip, sizeof d->ip, "%u.%u.%u.%u", job->hosts[h] >> 24, (job->hosts[h] >> 16) & 255,
		    (job->hosts[h] >> 8) & 255, job->hosts[h] & 255);
		snprintf(d->source, sizeof d->source, "scan");
		snprintf(d->mac, sizeof d->mac, "%s", macs[h]);
		const char *v = macs[h][0] ? oui_lookup(oui, macs[h]) : NULL;
		snprintf(d->vendor, sizeof d->vendor, "%s", v ? v : "");
		d->svc = calloc((size_t)nopen[h] + 1, sizeof *d->svc);
		if (d->svc == NULL) {
			free(up_index);
			goto out;
		}
	}
	for (int i = 0; i < sw->nopen; i++) {
		struct open_port *op = sw->opens[i];
		int u = up_index[op->host];
		if (u < 0)
			continue;
		struct disc_host *d = &hs[u];
		struct disc_service *v = &d->svc[d->nsvc++];
		identify(sc, op, d->vendor, v);
		snprintf(v->ip, sizeof v->ip, "%s", d->ip);
		if (d->hostname[0] == '\0') {
			scanner_service_hostname(v->banner, v->tls_subject, d->hostname, sizeof d->hostname);
			if (d->hostname[0] == '\0' && v->title[0])
				snprintf(d->hostname, sizeof d->hostname, "%s", v->title);
		}
	}
	free(up_index);
	if (c->scan_rdns && !job->cancel)
		rdns_lookup(up_ips, nup, names, c->scan_rdns_timeout_ms);
	for (int u = 0; u < nup; u++) {
		struct disc_host *d = &hs[u];
		if (names[u][0]) {
			snprintf(d->hostname, sizeof d->hostname, "%s", names[u]);
			snprintf(d->hostname_source, sizeof d->hostname_source, "dns");
		} else if (d->hostname[0]) {
			snprintf(d->hostname_source, sizeof d->hostname_source, "service");
		} else {
			snprintf(d->hostname, sizeof d->hostname, "%s", d->ip);
			snprintf(d->hostname_source, sizeof d->hostname_source, "ip");
		}
	}
	/* per-port results: every port of the hosts that are up */
	int maxres = SCAN_MAX_RESULTS;
	res = calloc((size_t)maxres, sizeof *res);
	if (res == NULL)
		goto out;
	for (int t = 0; t < sw->ntargets && nres < maxres; t++) {
		int h = t / job->nports;
		if (!((sw->host_flags[h] & H_ANSWERED) || arp[h]))
			continue;
		struct disc_result *r = &res[nres++];
		snprintf(r->ip, sizeof r->ip, "%u.%u.%u.%u", job->hosts[h] >> 24, (job->hosts[h] >> 16) & 255,
		    (job->hosts[h] >> 8) & 255, job->hosts[h] & 255);
		r->port = job->ports[t % job->nports];
		snprintf(r->state, sizeof r->state, "%s",
		    sw->state[t] == T_OPEN ? "open" : sw->state[t] == T_CLOSED ? "closed" : "filtered");
	}
	struct disc_change *kept = calloc(SCAN_EVENTS_MAX, sizeof *kept);
	struct disc_changes changes = {.rows = kept, .max_rows = kept ? SCAN_EVENTS_MAX : 0};
	struct disc_limits lim = limits_of(c);
	lim.max_results_per_scan = maxres;
	/* a cancelled scan saw only part of its range: it must not mark hosts gone */
	rc = store_discovery_apply(sc->n->store, job->row.id, now, hs, nup, job->cancel ? NULL : job->hosts,
	    job->cancel ? 0 : job->nhosts, job->ports, job->cancel ? 0 : job->nports, res, nres, &lim, &changes);
	if (rc != 0)
		snprintf(err, errlen, "the database refused the results");
	else
		scan_events(sc, job->row.id, &changes);
	free(kept);
	pthread_mutex_lock(&sc->lock);
	job->row.hosts_up = nup;
	pthread_mutex_unlock(&sc->lock);
	log_info("scan", "scan %lld: %d hosts up of %d, %d open ports, %d changes", (long long)job->row.id, nup,
	    job->nhosts, job->row.open, changes.total);
out:
	if (rc == MW_ENOMEM)
		snprintf(err, errlen, "out of memory");
	for (int u = 0; hs && u < nup; u++)
		free(hs[u].svc);
	free(hs);
	free(res);
	free(up_ips);
	free(names);
	free(macs);
	free(arp);
	free(nopen);
	return rc;
}

/* A scan's state into the store. A refused write is logged and the scan
   goes on: the row catches up at its next change. */
static void
save_scan(struct store *st, const struct scan_row *row)
{
	if (store_scan_update(st, row) != 0)
		log_warn("db", "could not store the state of scan %lld (%s)", (long long)row->id, row->state);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->hosts);
	free(j->ports);
	free(j);
}

static void
sweep_post_free(void *arg)
{
	/* the loop is stopping and never ran the sweep: say so to the waiter */
	sweep_finish(arg);
}

static void
run_job(struct scanner *sc, struct job *job)
{
	char err[200] = "";
	pthread_mutex_lock(&sc->lock);
	job->row.started_at = mw_wall_s();
	snprintf(job->row.state, sizeof job->row.state, "running");
	struct scan_row snap = job->row;
	pthread_mutex_unlock(&sc->lock);
	save_scan(sc->n->store, &snap);
	log_info("scan", "scan %lld started: %d hosts x %d ports (%s)", (long long)snap.id, job->nhosts, job->nports,
	    snap.subnets);
	struct sweep *sw = sweep_new(sc, job);
	int failed = 0;
	if (sw == NULL) {
		snprintf(err, sizeof err, "out of memory for %d probes", job->nhosts * job->nports);
		failed = 1;
	} else {
		evloop_post(sc->n->prober, sweep_begin, sw, sweep_post_free);
		pthread_mutex_lock(&sc->lock);
		while (!sw->done)
			pthread_cond_wait(&sc->cond, &sc->lock);
		pthread_mutex_unlock(&sc->lock);
		if (!sc->stop && record_scan(sc, sw, err, sizeof err) != 0)
			failed = 1;
		sweep_free(sw);
	}
	if (!sc->stop && !job->cancel)
		docker_refresh(sc, mw_wall_s());
	pthread_mutex_lock(&sc->lock);
	job->row.finished_at = mw_wall_s();
	const char *state = job->cancel ? "cancelled" : failed ? "failed" : "completed";
	if (sc->stop && !job->cancel)
		state = "failed";
	snprintf(job->row.state, sizeof job->row.state, "%s", state);
	if (sc->stop)
		snprintf(job->row.error, sizeof job->row.error, "the node stopped during the scan");
	else
		snprintf(job->row.error, sizeof job->row.error, "%s", err);
	if (strcmp(state, "completed") == 0)
		sc->stats.scans_completed++;
	else if (strcmp(state, "cancelled") == 0)
		sc->stats.scans_cancelled++;
	else
		sc->stats.scans_failed++;
	snap = job->row;
	pthread_mutex_unlock(&sc->lock);
	save_scan(sc->n->store, &snap);
	log_info("scan", "scan %lld %s in %lld s%s%s", (long long)snap.id, snap.state,
	    (long long)(snap.finished_at - snap.started_at), err[0] ? ": " : "", err);
}

static void *
scanner_main(void *arg)
{
	struct scanner *sc = arg;
	pthread_setname_np(pthread_self(), "mw-scanner");
	pthread_mutex_lock(&sc->lock);
	for (;;) {
		while (!sc->stop && sc->nq == 0)
			pthread_cond_wait(&sc->cond, &sc->lock);
		if (sc->stop)
			break;
		struct job *job = sc->queue[0];
		memmove(sc->queue, sc->queue + 1, (size_t)(--sc->nq) * sizeof *sc->queue);
		sc->running = job;
		pthread_mutex_unlock(&sc->lock);
		run_job(sc, job);
		pthread_mutex_lock(&sc->lock);
		sc->running = NULL;
		pthread_mutex_unlock(&sc->lock);
		job_free(job);
		pthread_mutex_lock(&sc->lock);
	}
	pthread_mutex_unlock(&sc->lock);
	return NULL;
}

/* ---------- the public side ---------- */

static void
format_nets(const struct scan_net *nets, int n, char *out, size_t outlen)
{
	size_t off = 0;
	out[0] = '\0';
	for (int i = 0; i < n && off < outlen; i++) {
		char b[32];
		off += (size_t)snprintf(out + off, outlen - off, "%s%s", i ? "," : "", scan_net_format(&nets[i], b, sizeof b));
	}
}

/* "22,80,8000-8010" from a port list (sorted copy, ranges folded). */
static void
format_ports(const uint16_t *ports, int n, char *out, size_t outlen)
{
	uint8_t *seen = calloc(65536, 1);
	size_t off = 0;
	out[0] = '\0';
	if (seen == NULL)
		return;
	for (int i = 0; i < n; i++)
		seen[ports[i]] = 1;
	for (int p = 1; p < 65536 && off + 16 < outlen; p++) {
		if (!seen[p])
			continue;
		int q = p;
		while (q + 1 < 65536 && seen[q + 1])
			q++;
		off += (size_t)(q > p ? snprintf(out + off, outlen - off, "%s%d-%d", off ? "," : "", p, q)
		                      : snprintf(out + off, outlen - off, "%s%d", off ? "," : "", p));
		p = q;
	}
	free(seen);
}

/* Scans member id has queued or running here (s->lock held). */
static int
asked_by_locked(struct scanner *s, const char *id)
{
	int k = s->running && strcmp(s->running->row.requested_by_id, id) == 0;
	for (int i = 0; i < s->nq; i++)
		k += strcmp(s->queue[i]->row.requested_by_id, id) == 0;
	return k;
}

/* The limits a new scan meets under s->lock: the queue, and for a scan
   another member asked for, that member's share. 0, or MW_ELIMIT /
   MW_ETOOBIG with err. */
static int
room_locked(struct scanner *s, const struct scan_row *r, char *err, size_t errlen)
{
	int qmax = s->n->cfg.scan_queue_max;
	if (s->nq >= qmax || s->stop) {
		snprintf(err, errlen, "%d scans are queued already (scan_queue_max); wait or cancel one", qmax);
		return MW_ELIMIT;
	}
	if (r->requested_by_id[0] && asked_by_locked(s, r->requested_by_id) >= REMOTE_SCANS_PER_ASKER) {
		snprintf(err, errlen, "node %s (%.100s) has %d scans queued or running here already, the most one node may ask for",
		    r->requested_by_id, r->requested_by_fqdn, REMOTE_SCANS_PER_ASKER);
		return MW_ETOOBIG;
	}
	return 0;
}

static int
submit(struct scanner *s, const char *const *subnets, int nsubnets, const char *const *ports, int nports,
    const char *trigger, const char *by_id, const char *by_fqdn, struct scan_row *out, char *err, size_t errlen)
{
	const struct config *c = &s->n->cfg;
	struct scan_net nets[SCAN_MAX_NETS];
	int nn = 0;
	char buf[32];
	if (nsubnets > SCAN_MAX_NETS) {
		snprintf(err, errlen, "\"subnets\" holds more than %d subnets", SCAN_MAX_NETS);
		return MW_EINVAL;
	}
	for (int i = 0; i < nsubnets; i++) {
		char why[200];
		if (scan_parse_cidr(subnets[i], &nets[nn], why, sizeof why) != 0) {
			snprintf(err, errlen, "\"subnets\": %s", why);
			return MW_EINVAL;
		}
		if (scan_allowed(s->allowed, s->nallowed, &nets[nn]) < 0) {
			char allowed[512];
			scanner_allowed(s, allowed, sizeof allowed);
			snprintf(err, errlen, "\"subnets\": %s is outside the subnets this node may scan (scan_subnets: %s)",
			    scan_net_format(&nets[nn], buf, sizeof buf), allowed[0] ? allowed : "none");
			return MW_EINVAL;
		}
		nn++;
	}
	if (nsubnets == 0) {
		if (s->nallowed == 0) {
			snprintf(err, errlen, "no subnets to scan: the node has no connected IPv4 subnet and scan_subnets is empty");
			return MW_EINVAL;
		}
		memcpy(nets, s->allowed, (size_t)s->nallowed * sizeof *nets);
		nn = s->nallowed;
	}
	struct job *job = calloc(1, sizeof *job);
	if (job == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ENOMEM;
	}
	char why[300];
	int nh = scan_expand(nets, nn, c->scan_max_hosts, &job->hosts, why, sizeof why);
	if (nh < 0) {
		snprintf(err, errlen, "\"subnets\": %s", why);
		job_free(job);
		return MW_EINVAL;
	}
	job->nhosts = nh;
	job->ports = calloc((size_t)c->scan_max_ports, sizeof *job->ports);
	if (job->ports == NULL) {
		job_free(job);
		snprintf(err, errlen, "out of memory");
		return MW_ENOMEM;
	}
	if (nports == 0 && scan_ports_add(job->ports, &job->nports, c->scan_max_ports, s->base_ports, s->nbase) != 0) {
		snprintf(err, errlen, "the built-in and scan_ports ports are more than scan_max_ports (%d)", c->scan_max_ports);
		job_free(job);
		return MW_EINVAL;
	}
	for (int i = 0; i < nports; i++) {
		uint16_t tmp[SCAN_PORTS_LIMIT];
		int k = scan_parse_port_list(ports[i], tmp, c->scan_max_ports, why, sizeof why);
		if (k < 0 || scan_ports_add(job->ports, &job->nports, c->scan_max_ports, tmp, k) != 0) {
			if (k >= 0)
				snprintf(why, sizeof why, "more than %d ports (scan_max_ports)", c->scan_max_ports);
			snprintf(err, errlen, "\"ports\": %s", why);
			job_free(job);
			return MW_EINVAL;
		}
	}
	struct scan_row *r = &job->row;
	r->created_at = mw_wall_s();
	snprintf(r->state, sizeof r->state, "queued");
	snprintf(r->trigger, sizeof r->trigger, "%s", trigger);
	snprintf(r->requested_by_id, sizeof r->requested_by_id, "%s", by_id ? by_id : "");
	snprintf(r->requested_by_fqdn, sizeof r->requested_by_fqdn, "%s", by_fqdn ? by_fqdn : "");
	format_nets(nets, nn, r->subnets, sizeof r->subnets);
	format_ports(job->ports, job->nports, r->ports, sizeof r->ports);
	r->nports = job->nports;
	r->hosts_total = job->nhosts;
	pthread_mutex_lock(&s->lock);
	int full = room_locked(s, r, err, errlen);
	pthread_mutex_unlock(&s->lock);
	if (full) {
		job_free(job);
		return full;
	}
	if (store_scan_create(s->n->store, r) != 0) {
		snprintf(err, errlen, "the database refused the scan");
		job_free(job);
		return MW_EDB;
	}
	pthread_mutex_lock(&s->lock);
	if ((full = room_locked(s, r, err, errlen)) != 0) {
		pthread_mutex_unlock(&s->lock);
		snprintf(r->state, sizeof r->state, "failed");
		snprintf(r->error, sizeof r->error, "%s", full == MW_ELIMIT ? "the queue filled up" : "its node asked for too many");
		save_scan(s->n->store, r);
		job_free(job);
		return full;
	}
	s->queue[s->nq++] = job;
	*out = job->row;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int
scanner_submit(struct scanner *s, const char *const *subnets, int nsubnets, const char *const *ports, int nports,
    const char *trigger, struct scan_row *out, char *err, size_t errlen)
{
	return submit(s, subnets, nsubnets, ports, nports, trigger, NULL, NULL, out, err, errlen);
}

int
scanner_submit_for(struct scanner *s, const char *const *subnets, int nsubnets, const char *const *ports, int nports,
    const char *by_id, const char *by_fqdn, struct scan_row *out, char *err, size_t errlen)
{
	return submit(s, subnets, nsubnets, ports, nports, "mesh", by_id, by_fqdn, out, err, errlen);
}

struct remotescan *
scanner_remote(struct scanner *s)
{
	return s->remote;
}

int
scanner_cancel(struct scanner *s, int64_t id)
{
	pthread_mutex_lock(&s->lock);
	if (s->running && s->running->row.id == id) {
		s->running->cancel = 1;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	for (int i = 0; i < s->nq; i++) {
		if (s->queue[i]->row.id != id)
			continue;
		struct job *j = s->queue[i];
		memmove(s->queue + i, s->queue + i + 1, (size_t)(s->nq - i - 1) * sizeof *s->queue);
		s->nq--;
		s->stats.scans_cancelled++;
		pthread_mutex_unlock(&s->lock);
		j->row.finished_at = mw_wall_s();
		snprintf(j->row.state, sizeof j->row.state, "cancelled");
		save_scan(s->n->store, &j->row);
		job_free(j);
		return 0;
	}
	pthread_mutex_unlock(&s->lock);
	return MW_ENOTFOUND;
}

void
scanner_live(struct scanner *s, struct scan_row *row)
{
	pthread_mutex_lock(&s->lock);
	if (s->running && s->running->row.id == row->id)
		*row = s->running->row;
	pthread_mutex_unlock(&s->lock);
}

int
scanner_current(struct scanner *s, struct scan_row *out)
{
	pthread_mutex_lock(&s->lock);
	int rc = s->running ? 0 : MW_ENOTFOUND;
	if (s->running)
		*out = s->running->row;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
scanner_get_stats(struct scanner *s, struct scanner_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	out->queued = s->nq;
	out->running = s->running != NULL;
	pthread_mutex_unlock(&s->lock);
}

void
scanner_allowed(struct scanner *s, char *out, size_t outlen)
{
	format_nets(s->allowed, s->nallowed, out, outlen);
}

int
scanner_defaults(struct scanner *s, struct scan_net *out, int max, int *from_config)
{
	/* fixed after scanner_create: no lock needed */
	int n = s->nallowed < max ? s->nallowed : max;
	memcpy(out, s->allowed, (size_t)n * sizeof *out);
	*from_config = s->allowed_from_config;
	return n;
}

void
scanner_defaults_text(struct scanner *s, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < s->nallowed && used < outlen; i++) {
		char buf[32];
		int k = snprintf(out + used, outlen - used, "%s%s%s%s%s", i ? ", " : "",
		    scan_net_format(&s->allowed[i], buf, sizeof buf), s->allowed[i].ifname[0] ? " (" : "",
		    s->allowed[i].ifname, s->allowed[i].ifname[0] ? ")" : "");
		if (k < 0)
			break;
		used += (size_t)k;
	}
	if (s->nallowed == 0)
		snprintf(out, outlen, "none");
}

const struct svcdb *
scanner_services(struct scanner *s)
{
	return s->db;
}

void
scanner_tick(struct node *n)
{
	struct scanner *s = n->scanner;
	if (s == NULL || n->cfg.scan_interval_s <= 0)
		return;
	int64_t now = mw_now_ms();
	if (s->next_scheduled_ms == 0)
		s->next_scheduled_ms = now + (int64_t)n->cfg.scan_interval_s * 1000;
	if (now < s->next_scheduled_ms)
		return;
	s->next_scheduled_ms = now + (int64_t)n->cfg.scan_interval_s * 1000;
	pthread_mutex_lock(&s->lock);
	int busy = s->nq > 0 || s->running;
	pthread_mutex_unlock(&s->lock);
	if (busy) {
		log_info("scan", "scheduled scan skipped: a scan is still queued or running");
		return;
	}
	struct scan_row row;
	char err[400];
	if (scanner_submit(s, NULL, 0, NULL, 0, "schedule", &row, err, sizeof err) != 0)
		log_warn("scan", "scheduled scan not started: %s", err);
}

struct scanner *
scanner_create(struct node *n, char *err, size_t errlen)
{
	const struct config *c = &n->cfg;
	struct scanner *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->n = n;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	char why[600];
	s->db = svcdb_load(c->services_file, why, sizeof why);
	if (s->db == NULL) {
		snprintf(err, errlen, "%s", why);
		goto fail;
	}
	int k = scan_parse_net_list(c->scan_subnets, s->allowed, SCAN_MAX_NETS, why, sizeof why);
	if (k < 0) {
		snprintf(err, errlen, "scan_subnets: %s", why);
		goto fail;
	}
	s->allowed_from_config = k > 0;
	s->nallowed = k > 0 ? k : scan_local_subnets(s->allowed, SCAN_MAX_NETS);
	s->remote = remotescan_create(n, err, errlen);
	if (s->remote == NULL)
		goto fail;
	s->base_ports = calloc(SCAN_PORTS_LIMIT, sizeof *s->base_ports);
	if (s->base_ports == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int nd;
	const uint16_t *def = scan_default_ports(&nd);
	scan_ports_add(s->base_ports, &s->nbase, SCAN_PORTS_LIMIT, def, nd);
	uint16_t extra[SCAN_PORTS_LIMIT];
	int ne = scan_parse_port_list(c->scan_ports, extra, SCAN_PORTS_LIMIT, why, sizeof why);
	if (ne < 0 || scan_ports_add(s->base_ports, &s->nbase, SCAN_PORTS_LIMIT, extra, ne) != 0) {
		snprintf(err, errlen, "scan_ports: %s", ne < 0 ? why : "too many ports");
		goto fail;
	}
	return s;
fail:
	scanner_destroy(s);
	return NULL;
}

int
scanner_start(struct scanner *s, char *err, size_t errlen)
{
	if (store_scans_interrupted(s->n->store, mw_wall_s()) != 0)
		log_warn("db", "could not mark the scans a previous run left unfinished as failed");
	if (pthread_create(&s->thread, NULL, scanner_main, s) != 0) {
		snprintf(err, errlen, "cannot start the scanner thread");
		return MW_EIO;
	}
	s->started = 1;
	if (remotescan_start(s->remote, err, errlen) != 0)
		return MW_EIO;
	char allowed[512];
	scanner_allowed(s, allowed, sizeof allowed);
	log_info("scan", "%d service definitions; may scan %s", svcdb_count(s->db), allowed[0] ? allowed : "no subnet");
	return MW_OK;
}

/* Scans still queued are marked failed in the store: stop before the
   store closes. */
void
scanner_stop(struct scanner *s)
{
	if (s == NULL)
		return;
	remotescan_stop(s->remote);
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	if (s->running)
		s->running->cancel = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->started)
		pthread_join(s->thread, NULL);
	s->started = 0;
	for (int i = 0; i < s->nq; i++) {
		s->queue[i]->row.finished_at = mw_wall_s();
		snprintf(s->queue[i]->row.state, sizeof s->queue[i]->row.state, "failed");
		snprintf(s->queue[i]->row.error, sizeof s->queue[i]->row.error, "the node stopped before the scan started");
		save_scan(s->n->store, &s->queue[i]->row);
		job_free(s->queue[i]);
	}
	s->nq = 0;
}

void
scanner_destroy(struct scanner *s)
{
	if (s == NULL)
		return;
	scanner_stop(s);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	remotescan_destroy(s->remote);
	free(s->base_ports);
	svcdb_free(s->db);
	oui_shared_free();
	free(s);
}
