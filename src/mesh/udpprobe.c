/* udpprobe: the UDP responder and the RTT / jitter / loss burst client.

   DESIGN. A responder owns one UDP socket, an eventfd and one thread
   ("mw-udp") that answers probes; only that thread touches the socket and the
   token bucket. Other threads read its counters (relaxed atomics) and stop
   it (eventfd, then join). The responder must never amplify: an ack is the
   fixed-size header, never more than the probe, and acks are rate-limited
   overall by a token bucket; it never answers acks, malformed datagrams,
   or probes sent to multicast/broadcast addresses, and it only ever sends to
   the source of a probe it received. It reads up to RX_BATCH datagrams per
   call (recvmmsg; only their headers, the kernel gives the real length)
   and sends their acks in one call (sendmmsg): a burst of beats costs it
   one wake-up and two system calls.

   udpprobe_burst runs on the caller's thread (the poller's worker), owns
   its socket for the duration of the call and shares nothing. The socket is
   connect()ed to the peer, so the kernel only hands it datagrams from that
   address and port; every ack is still validated (magic, type, nonce, seq,
   length) before it counts. A beater (below) does the same for many
   bursts at once from one thread, without blocking. */
#include "meshwatch/udpprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "meshwatch/log.h"
#include "meshwatch/util.h"

/* Datagrams read (and acks sent) per system call; RX_CALLS calls per
   wake-up before the stop flag is looked at again. */
#define RX_BATCH 16
#define RX_CALLS 4
/* What the responder reads of a datagram: the header (the rest of a probe
   is padding; its length comes from the kernel). */
#define RX_SLOT 64
/* At most one "over budget" warning per this many ms. */
#define DROP_LOG_MS 10000

/* Wire format */

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

int
udpprobe_encode(const struct udpp_msg *m, uint8_t *buf, size_t len)
{
	if (m == NULL || buf == NULL || len < UDPP_HDR_LEN)
		return MW_EINVAL;
	memset(buf, 0, len);
	memcpy(buf, UDPP_MAGIC, 4);
	buf[4] = m->type;
	put_be32(buf + 8, m->seq);
	put_be64(buf + 12, m->nonce);
	put_be64(buf + 20, m->ts_ns);
	put_be32(buf + 28, m->rx_len);
	return 0;
}

int
udpprobe_decode(const uint8_t *buf, size_t len, struct udpp_msg *m)
{
	if (buf == NULL || m == NULL || len < UDPP_HDR_LEN)
		return MW_EINVAL;
	if (memcmp(buf, UDPP_MAGIC, 4) != 0)
		return MW_EINVAL;
	if (buf[4] != UDPP_TYPE_PROBE && buf[4] != UDPP_TYPE_ACK)
		return MW_EINVAL;
	m->type = buf[4];
	m->seq = get_be32(buf + 8);
	m->nonce = get_be64(buf + 12);
	m->ts_ns = get_be64(buf + 20);
	m->rx_len = get_be32(buf + 28);
	return 0;
}

int
udpprobe_sockaddr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	if (ip == NULL || ss == NULL || len == NULL || port < 0 || port > 65535)
		return MW_EINVAL;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
		return 0;
	}
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	if (strlen(ip) >= sizeof buf)
		return MW_EINVAL;
	strcpy(buf, ip);
	unsigned scope = 0;
	char *pct = strchr(buf, '%');
	if (pct != NULL) {
		*pct = '\0';
		scope = if_nametoindex(pct + 1);
		if (scope == 0)
			return MW_EINVAL;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1)
		return MW_EINVAL;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	s6->sin6_scope_id = scope;
	*len = sizeof *s6;
	return 0;
}

/* Beats */

/* An HMAC-SHA256 context set up once per thread that uses it: no
   allocation per mac. ok 0: setup failed, mbedtls_md_hmac is used. */
struct mac {
	mbedtls_md_context_t md;
	int ok;
};

static void
mac_init(struct mac *c)
{
	mbedtls_md_init(&c->md);
	c->ok = mbedtls_md_setup(&c->md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0;
}

static void
mac_free(struct mac *c)
{
	mbedtls_md_free(&c->md);
	c->ok = 0;
}

static void
hmac256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len, uint8_t out[32])
{
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, keylen, data, len, out);
}

static void
mac_compute(struct mac *c, const uint8_t *key, size_t keylen, const uint8_t *data, size_t len, uint8_t out[32])
{
	if (c == NULL || !c->ok || mbedtls_md_hmac_starts(&c->md, key, keylen) != 0 ||
	    mbedtls_md_hmac_update(&c->md, data, len) != 0 || mbedtls_md_hmac_finish(&c->md, out) != 0)
		hmac256(key, keylen, data, len, out);
}

static void
beat_mac(struct mac *c, const uint8_t key[UDPP_KEY_LEN], const uint8_t ack[UDPP_BEAT_LEN], uint8_t mac[8])
{
	uint8_t h[32];
	mac_compute(c, key, UDPP_KEY_LEN, ack, 24, h);
	memcpy(mac, h, 8);
}

void
udpprobe_beat_mac(const uint8_t key[UDPP_KEY_LEN], const uint8_t ack[UDPP_BEAT_LEN], uint8_t mac[8])
{
	beat_mac(NULL, key, ack, mac);
}

static void
beat_encode(uint8_t *buf, uint8_t type, uint16_t seq, uint64_t nonce, const uint8_t word[8])
{
	memset(buf, 0, UDPP_BEAT_LEN);
	memcpy(buf, UDPP_MAGIC, 4);
	buf[4] = type;
	buf[6] = (uint8_t)(seq >> 8);
	buf[7] = (uint8_t)seq;
	put_be64(buf + 8, nonce);
	memcpy(buf + 16, word, 8);
}

/* Responder */

struct udp_responder {
	int fd, evfd, family, port;
	pthread_t thread;
	int started;          /* the owner's: between start and stop */
	char addr[INET6_ADDRSTRLEN + 16];
	atomic_int stop;
	struct mw_bucket acks_budget;
	int64_t last_drop_log_ms;
	uint64_t drops_logged;
	_Atomic uint64_t probes, acks, dropped_rate, malformed, beats, beats_unhealthy;
	uint8_t secret[32];                 /* beat keys derive from it; never leaves the process */
	_Atomic uint64_t beat_digest;
	_Atomic int64_t beat_until_ms;      /* beats are answered until then (monotonic ms) */
	/* the responder thread's: the last ticket seen and its key (a
	   burst's beats carry the same ticket), and an HMAC context */
	int have_ticket;
	uint8_t last_ticket[UDPP_TICKET_LEN], last_key[32];
	struct mac mac;
};

/* The acks of one batch, sent in one sendmmsg. */
struct ack_batch {
	int n;
	uint8_t ack[RX_BATCH][UDPP_HDR_LEN];
	_Alignas(struct cmsghdr) uint8_t ctl[RX_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))]; /* rows of 40: each aligned */
	struct iovec iov[RX_BATCH];
	struct mmsghdr mm[RX_BATCH];
};

static void
bump(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Builds the reply's source-address control message from the one received.
   Returns the control length to send (0: none). Sets *bad when the probe
   was not sent to a unicast address of ours. */
static size_t
reply_cmsg(struct msghdr *in, uint8_t *ctl, size_t ctllen, int *bad)
{
	*bad = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c != NULL; c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			/* For a local unicast destination the kernel sets spec_dst
			   to the destination itself; otherwise it was broadcast
			   or multicast, which must not be answered. */
			if (IN_MULTICAST(ntohl(pi.ipi_addr.s_addr)) ||
			    pi.ipi_addr.s_addr == htonl(INADDR_BROADCAST) ||
			    pi.ipi_addr.s_addr != pi.ipi_spec_dst.s_addr) {
				*bad = 1;
				return 0;
			}
			struct in_pktinfo out = { 0 };
			out.ipi_spec_dst = pi.ipi_addr;
			if (ctllen < CMSG_SPACE(sizeof out))
				return 0;
			memset(ctl, 0, CMSG_SPACE(sizeof out));
			struct cmsghdr *o = (struct cmsghdr *)(void *)ctl;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof out);
			memcpy(CMSG_DATA(o), &out, sizeof out);
			return CMSG_SPACE(sizeof out);
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr)) {
				*bad = 1;
				return 0;
			}
			if (ctllen < CMSG_SPACE(sizeof pi))
				return 0;
			memset(ctl, 0, CMSG_SPACE(sizeof pi));
			struct cmsghdr *o = (struct cmsghdr *)(void *)ctl;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof pi);
			memcpy(CMSG_DATA(o), &pi, sizeof pi);
			return CMSG_SPACE(sizeof pi);
		}
	}
	return 0;
}

static int
src_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* Whether the ack budget allows one more ack (else counted and, now and
   then, logged). */
static int
budget_take(struct udp_responder *r)
{
	if (!mw_bucket_take(&r->acks_budget)) {
		bump(&r->dropped_rate);
		int64_t now = mw_now_ms();
		if (now - r->last_drop_log_ms >= DROP_LOG_MS) {
			uint64_t d = atomic_load_explicit(&r->dropped_rate, memory_order_relaxed);
			log_warn("udp", "ack budget of %.0f/s reached: %llu probes dropped so far",
				r->acks_budget.burst, (unsigned long long)d);
			r->last_drop_log_ms = now;
		}
		return 0;
	}
	return 1;
}

/* Queues the ack in ob->ack[ob->n] (UDPP_HDR_LEN bytes, as long as a
   beat ack) for the source of the datagram mh describes, from the address
   it was sent to (the control message in ob->ctl[ob->n], ctllen bytes). */
static void
queue_ack(struct ack_batch *ob, const struct msghdr *mh, size_t ctllen)
{
	int i = ob->n++;
	ob->iov[i] = (struct iovec){ .iov_base = ob->ack[i], .iov_len = UDPP_HDR_LEN };
	ob->mm[i].msg_hdr = (struct msghdr){
		.msg_name = mh->msg_name, .msg_namelen = mh->msg_namelen,
		.msg_iov = &ob->iov[i], .msg_iovlen = 1,
		.msg_control = ctllen ? ob->ctl[i] : NULL, .msg_controllen = ctllen,
	};
}

/* Sends the acks queued, in one call. */
static void
send_acks(struct udp_responder *r, struct ack_batch *ob)
{
	int sent = 0;
	while (sent < ob->n) {
		int k = sendmmsg(r->fd, ob->mm + sent, (unsigned)(ob->n - sent), MSG_DONTWAIT);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			/* the failed one is skipped; the rest are tried */
			log_debug("udp", "ack not sent: %s", k < 0 ? strerror(errno) : "none taken");
			sent++;
			continue;
		}
		for (int i = 0; i < k; i++)
			bump(&r->acks);
		sent += k;
	}
	ob->n = 0;
}

/* A beat: answered with the digest and a mac under the ticket's key, while
   the owner's health holds. */
static void
handle_beat(struct udp_responder *r, const uint8_t *b, const struct msghdr *mh, struct ack_batch *ob, size_t ctllen)
{
	bump(&r->probes);
	bump(&r->beats);
	if (mw_now_ms() >= atomic_load_explicit(&r->beat_until_ms, memory_order_relaxed)) {
		bump(&r->beats_unhealthy);
		return;
	}
	if (!budget_take(r))
		return;
	if (!r->have_ticket || memcmp(r->last_ticket, b + 16, UDPP_TICKET_LEN) != 0) {
		mac_compute(&r->mac, r->secret, sizeof r->secret, b + 16, UDPP_TICKET_LEN, r->last_key);
		memcpy(r->last_ticket, b + 16, UDPP_TICKET_LEN);
		r->have_ticket = 1;
	}
	uint8_t dg[8], *ack = ob->ack[ob->n];
	put_be64(dg, atomic_load_explicit(&r->beat_digest, memory_order_relaxed));
	beat_encode(ack, UDPP_TYPE_BEAT_ACK, (uint16_t)(b[6] << 8 | b[7]), get_be64(b + 8), dg);
	beat_mac(&r->mac, r->last_key, ack, ack + 24);
	queue_ack(ob, mh, ctllen);
}

/* One datagram: buf holds its first bytes (up to RX_SLOT), n is its real
   length. An ack, when one is due, joins ob. */
static void
responder_handle(struct udp_responder *r, const uint8_t *buf, struct msghdr *mh, ssize_t n, struct ack_batch *ob)
{
	struct udpp_msg m;
	int beat = n == UDPP_BEAT_LEN && memcmp(buf, UDPP_MAGIC, 4) == 0 && buf[4] == UDPP_TYPE_BEAT;
	if ((mh->msg_flags & MSG_CTRUNC) || src_port(mh->msg_name) == 0 ||
	    (!beat && (udpprobe_decode(buf, (size_t)n, &m) != 0 || m.type != UDPP_TYPE_PROBE))) {
		bump(&r->malformed);
		return;
	}
	int bad;
	size_t ctllen = reply_cmsg(mh, ob->ctl[ob->n], sizeof ob->ctl[ob->n], &bad);
	if (bad) {
		bump(&r->malformed);
		return;
	}
	if (beat) {
		handle_beat(r, buf, mh, ob, ctllen);
		return;
	}
	bump(&r->probes);
	if (!budget_take(r))
		return;
	struct udpp_msg a = m;
	a.type = UDPP_TYPE_ACK;
	a.rx_len = (uint32_t)n;
	udpprobe_encode(&a, ob->ack[ob->n], UDPP_HDR_LEN);
	queue_ack(ob, mh, ctllen);
}

static void *
responder_main(void *arg)
{
	struct udp_responder *r = arg;
	struct pollfd pf[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->evfd, .events = POLLIN } };
	struct ack_batch *ob = calloc(1, sizeof *ob);
	if (ob == NULL) {
		log_error("udp", "responder: out of memory");
		return NULL;
	}
	mac_init(&r->mac);
	r->have_ticket = 0;
	while (!atomic_load(&r->stop)) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error_errno("udp", "responder poll failed");
			break;
		}
		if (pf[1].revents)
			break;
		for (int call = 0; call < RX_CALLS; call++) {
			struct sockaddr_storage from[RX_BATCH];
			uint8_t buf[RX_BATCH][RX_SLOT];
			_Alignas(struct cmsghdr) uint8_t ctl[RX_BATCH][256];
			struct iovec iov[RX_BATCH];
			struct mmsghdr mm[RX_BATCH];
			for (int i = 0; i < RX_BATCH; i++) {
				iov[i] = (struct iovec){ .iov_base = buf[i], .iov_len = RX_SLOT };
				mm[i] = (struct mmsghdr){ .msg_hdr = {
					.msg_name = &from[i], .msg_namelen = sizeof from[i],
					.msg_iov = &iov[i], .msg_iovlen = 1,
					.msg_control = ctl[i], .msg_controllen = sizeof ctl[i] } };
			}
			/* MSG_TRUNC: a datagram's real length, however little of it is read */
			int n = recvmmsg(r->fd, mm, RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;  /* EAGAIN, or a transient socket error */
			for (int i = 0; i < n; i++)
				responder_handle(r, buf[i], &mm[i].msg_hdr, (ssize_t)mm[i].msg_len, ob);
			send_acks(r, ob);
			if (n < RX_BATCH)
				break;  /* drained: back to poll, no call to learn it */
		}
	}
	mac_free(&r->mac);
	free(ob);
	return NULL;
}

static void
set_err(char *err, size_t errlen, const char *addr, int port, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "udp responder on %s port %d: %s", addr ? addr : "(null)", port, why);
}

struct udp_responder *
udp_responder_create(const char *addr, int port, char *err, size_t errlen)
{
	return udp_responder_create_opts(addr, port, NULL, err, errlen);
}

struct udp_responder *
udp_responder_create_opts(const char *addr, int port, const struct udp_responder_opts *o,
	char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (udpprobe_sockaddr(addr, port, &ss, &sl) != 0) {
		set_err(err, errlen, addr, port, "not a numeric IPv4/IPv6 address and port 0..65535");
		return NULL;
	}
	struct udp_responder *r = calloc(1, sizeof *r);
	if (r == NULL) {
		set_err(err, errlen, addr, port, "out of memory");
		return NULL;
	}
	r->fd = -1;
	r->evfd = -1;
	r->family = ss.ss_family;
	double rate = (o != NULL && o->rate_per_s > 0) ? o->rate_per_s : UDPP_DEFAULT_RATE;
	mw_bucket_init(&r->acks_budget, rate, rate); /* bursts up to one second's worth */
	r->last_drop_log_ms = mw_now_ms() - DROP_LOG_MS;
	int one = 1, zero = 0, e;
	if (mw_random(r->secret, sizeof r->secret) != 0) {
		set_err(err, errlen, addr, port, "no random bytes for the beat secret");
		free(r);
		return NULL;
	}

	r->fd = socket(r->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		goto fail_errno;
	if (r->family == AF_INET6) {
		/* "::" also serves IPv4 (dual-stack); a specific address is v6 only. */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		int v6only = !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		if (setsockopt(r->fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof one) < 0 ||
		    setsockopt(r->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0)
			goto fail_errno;
		if (!v6only && setsockopt(r->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0)
			goto fail_errno;
	} else if (setsockopt(r->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) {
		goto fail_errno;
	}
	/* Room for a few 64 KiB PMTU probes; the kernel caps it at rmem_max. */
	int rcvbuf = 1 << 20;
	(void)setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (bind(r->fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail_errno;
	struct sockaddr_storage bound;
	socklen_t bl = sizeof bound;
	if (getsockname(r->fd, (struct sockaddr *)&bound, &bl) < 0)
		goto fail_errno;
	r->port = src_port(&bound);
	r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->evfd < 0)
		goto fail_errno;
	snprintf(r->addr, sizeof r->addr, "%s", addr);
	return r;

fail_errno:
	e = errno;
	set_err(err, errlen, addr, port, strerror(e));
	if (r->evfd >= 0)
		close(r->evfd);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return NULL;
}

int
udp_responder_start(struct udp_responder *r, char *err, size_t errlen)
{
	if (r->started)
		return MW_OK;
	/* after a stop: clear its flag and its wake-up */
	atomic_store(&r->stop, 0);
	uint64_t pending;
	while (read(r->evfd, &pending, sizeof pending) > 0)
		;
	int e = pthread_create(&r->thread, NULL, responder_main, r);
	if (e != 0) {
		set_err(err, errlen, r->addr, r->port, strerror(e));
		return MW_EIO;
	}
	r->started = 1;
	pthread_setname_np(r->thread, "mw-udp");
	log_info("udp", "responder on %s port %d (%.0f acks/s budget)", r->addr, r->port, r->acks_budget.burst);
	return MW_OK;
}

void
udp_responder_stop(struct udp_responder *r)
{
	if (r == NULL || !r->started)
		return;
	atomic_store(&r->stop, 1);
	uint64_t one = 1;
	if (write(r->evfd, &one, sizeof one) < 0)
		log_warn_errno("udp", "could not wake the responder");
	pthread_join(r->thread, NULL);
	r->started = 0;
	log_info("udp", "responder on port %d stopped", r->port);
}

void
udp_responder_destroy(struct udp_responder *r)
{
	if (r == NULL)
		return;
	udp_responder_stop(r);
	close(r->evfd);
	close(r->fd);
	free(r);
}

int
udp_responder_port(const struct udp_responder *r)
{
	return r ? r->port : 0;
}

void
udp_responder_ticket(struct udp_responder *r, uint8_t ticket[UDPP_TICKET_LEN], uint8_t key[UDPP_KEY_LEN])
{
	uint8_t h[32];
	if (r == NULL) {
		memset(ticket, 0, UDPP_TICKET_LEN);
		memset(key, 0, UDPP_KEY_LEN);
		return;
	}
	if (mw_random(ticket, UDPP_TICKET_LEN) != 0)
		memset(ticket, 0, UDPP_TICKET_LEN); /* still a valid ticket; its key is as secret as any */
	hmac256(r->secret, sizeof r->secret, ticket, UDPP_TICKET_LEN, h);
	memcpy(key, h, UDPP_KEY_LEN);
}

void
udp_responder_set_beat(struct udp_responder *r, uint64_t digest, int valid_ms)
{
	if (r == NULL)
		return;
	atomic_store_explicit(&r->beat_digest, digest, memory_order_relaxed);
	if (valid_ms >= 0)
		atomic_store_explicit(&r->beat_until_ms, mw_now_ms() + valid_ms, memory_order_relaxed);
}

void
udp_responder_stats(struct udp_responder *r, struct udp_responder_stats *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof *out);
	if (r == NULL)
		return;
	out->probes = atomic_load_explicit(&r->probes, memory_order_relaxed);
	out->acks = atomic_load_explicit(&r->acks, memory_order_relaxed);
	out->dropped_rate = atomic_load_explicit(&r->dropped_rate, memory_order_relaxed);
	out->malformed = atomic_load_explicit(&r->malformed, memory_order_relaxed);
	out->beats = atomic_load_explicit(&r->beats, memory_order_relaxed);
	out->beats_unhealthy = atomic_load_explicit(&r->beats_unhealthy, memory_order_relaxed);
}

/* Receive time stamps: the kernel stamps each datagram as it arrives
   (SO_TIMESTAMPNS, CLOCK_REALTIME), so an RTT does not include the time
   until the prober's thread runs and reads it; on a busy machine that was
   most of the figure. */

static uint64_t
real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
stamps_on(int fd)
{
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0)
		log_debug("udp", "no receive time stamps: %s (RTTs are taken when acks are read)", strerror(errno));
}

/* The receive stamp of a datagram read with its control messages (0: none). */
static uint64_t
rx_stamp(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		}
	return 0;
}

/* The RTT in ms of a probe sent at sent (monotonic) / sent_rt (realtime)
   whose ack was read at now (monotonic), stamped rx_rt (0: no stamp): the
   stamp, unless the wall clock was stepped meanwhile; then the time until
   read, which is never less. */
static double
rtt_ms(uint64_t sent, uint64_t sent_rt, uint64_t now, uint64_t rx_rt)
{
	double upper = (double)(now - sent) / 1e6;
	if (rx_rt > 0) {
		double stamped = ((double)rx_rt - (double)sent_rt) / 1e6;
		if (stamped >= 0 && stamped <= upper)
			return stamped;
	}
	return upper;
}

/* Burst client */

/* Waits for fd to become readable until the absolute monotonic deadline.
   Returns >0 readable, 0 deadline passed, <0 poll failed. */
static int
wait_readable(int fd, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = mw_now_ns();
		if (now >= deadline_ns)
			return 0;
		uint64_t left = deadline_ns - now;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000u),
			.tv_nsec = (long)(left % 1000000000u) };
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int n = ppoll(&pf, 1, &ts, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* Sends one datagram on a connected socket. A pending asynchronous error
   (an ICMP error for an earlier datagram) makes send() fail once without
   sending, so that case is retried. Returns 0 or -1 with errno. */
static int
send_once(int fd, const uint8_t *buf, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			errno = EIO;
		if (errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH &&
		    errno != EINTR)
			return -1;
	}
	return -1;
}

/* Whether rx (n bytes) is a valid answer to probe seq of this burst:
   a plain ack (k NULL) or a beat ack with a good mac (its digest then in
   *digest). */
static int
ack_seq(const uint8_t *rx, ssize_t n, uint64_t nonce, const struct udpp_beat_key *k, struct mac *mc, uint32_t *seq,
	uint64_t *digest)
{
	if (k == NULL) {
		struct udpp_msg a;
		if (n != UDPP_HDR_LEN || udpprobe_decode(rx, (size_t)n, &a) != 0 || a.type != UDPP_TYPE_ACK ||
		    a.nonce != nonce || a.rx_len != UDPP_BURST_PROBE_LEN)
			return 0;
		*seq = a.seq;
		return 1;
	}
	if (n != UDPP_BEAT_LEN || memcmp(rx, UDPP_MAGIC, 4) != 0 || rx[4] != UDPP_TYPE_BEAT_ACK ||
	    get_be64(rx + 8) != nonce)
		return 0;
	uint8_t mac[8];
	beat_mac(mc, k->key, rx, mac);
	uint8_t diff = 0;
	for (int i = 0; i < 8; i++)
		diff |= (uint8_t)(mac[i] ^ rx[24 + i]);
	if (diff != 0)
		return 0;
	*seq = (uint32_t)(rx[6] << 8 | rx[7]);
	*digest = get_be64(rx + 16);
	return 1;
}

/* RTT, jitter and loss of nsent probes, got[i] set for the nrecv answered
   (rtt[i] ms); out zeroed by the caller. */
static void
burst_stats(int nsent, const uint8_t *got, const double *rtt, int nrecv, struct udp_stats *out)
{
	out->sent = nsent;
	out->received = nrecv;
	out->loss = 1.0 - (double)nrecv / (double)nsent;
	if (nrecv == 0)
		return;
	double sum = 0, jsum = 0, prev = -1;
	int pairs = 0;
	out->rtt_min_ms = 1e300;
	for (int i = 0; i < nsent; i++) {
		if (!got[i])
			continue;
		sum += rtt[i];
		if (rtt[i] < out->rtt_min_ms)
			out->rtt_min_ms = rtt[i];
		if (rtt[i] > out->rtt_max_ms)
			out->rtt_max_ms = rtt[i];
		if (prev >= 0) {
			jsum += rtt[i] > prev ? rtt[i] - prev : prev - rtt[i];
			pairs++;
		}
		prev = rtt[i];
	}
	out->rtt_avg_ms = sum / nrecv;
	out->jitter_ms = pairs ? jsum / pairs : 0;
}

static int
burst_run(const char *ip, int port, int count, int spacing_ms, int timeout_ms, const struct udpp_beat_key *k,
	struct udp_stats *out, uint64_t *digest)
{
	if (out == NULL)
		return MW_EINVAL;
	memset(out, 0, sizeof *out);
	if (count < 1 || count > UDPP_MAX_COUNT || spacing_ms < 0 || timeout_ms < 0 ||
	    port < 1 || port > 65535)
		return MW_EINVAL;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (udpprobe_sockaddr(ip, port, &ss, &sl) != 0)
		return MW_EINVAL;

	int rc = 0, fd = -1;
	uint64_t *sent_ns = calloc((size_t)count, sizeof *sent_ns);
	uint64_t *sent_rt = calloc((size_t)count, sizeof *sent_rt);
	double *rtt = calloc((size_t)count, sizeof *rtt);
	uint8_t *got = calloc((size_t)count, 1);
	uint64_t nonce;
	if (sent_ns == NULL || sent_rt == NULL || rtt == NULL || got == NULL) {
		rc = MW_ENOMEM;
		goto out;
	}
	if (mw_random(&nonce, sizeof nonce) != 0) {
		rc = MW_EIO;
		goto out;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		log_debug("udp", "burst to %s port %d: %s", ip, port, strerror(errno));
		rc = MW_EIO;
		goto out;
	}
	stamps_on(fd);

	uint8_t pkt[UDPP_BURST_PROBE_LEN], rx[UDPP_HDR_LEN + 1];
	size_t pkt_len = k ? UDPP_BEAT_LEN : sizeof pkt;
	uint64_t spacing = (uint64_t)spacing_ms * 1000000u, next_send = mw_now_ns(), deadline = 0;
	int nsent = 0, nrecv = 0;
	for (;;) {
		uint64_t now = mw_now_ns();
		while (nsent < count && now >= next_send) {
			if (k) {
				beat_encode(pkt, UDPP_TYPE_BEAT, (uint16_t)nsent, nonce, k->ticket);
			} else {
				struct udpp_msg m = { .type = UDPP_TYPE_PROBE, .seq = (uint32_t)nsent,
					.nonce = nonce, .ts_ns = now };
				udpprobe_encode(&m, pkt, sizeof pkt);
			}
			sent_ns[nsent] = now;
			sent_rt[nsent] = real_ns();
			if (send_once(fd, pkt, pkt_len) < 0)
				log_debug("udp", "probe %d to %s not sent: %s", nsent, ip, strerror(errno));
			nsent++;
			next_send += spacing;
			if (nsent == count)
				deadline = now + (uint64_t)timeout_ms * 1000000u;
			now = mw_now_ns();
		}
		if (nsent == count && (nrecv == count || now >= deadline))
			break;
		int w = wait_readable(fd, nsent < count ? next_send : deadline);
		if (w < 0) {
			rc = MW_EIO;
			goto out;
		}
		if (w == 0)
			continue;
		for (;;) {
			/* One byte more than an ack, so an oversized datagram shows. */
			uint64_t ctl[CMSG_SPACE(sizeof(struct timespec)) / sizeof(uint64_t) + 1];
			struct iovec iov = { .iov_base = rx, .iov_len = sizeof rx };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				.msg_controllen = sizeof ctl };
			ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				continue;  /* an ICMP error reported once (e.g. refused) */
			}
			uint64_t t = mw_now_ns(), dg = 0;
			uint32_t seq;
			if (!ack_seq(rx, n, nonce, k, NULL, &seq, &dg) || seq >= (uint32_t)nsent || got[seq])
				continue;
			if (digest)
				*digest = dg;
			got[seq] = 1;
			rtt[seq] = rtt_ms(sent_ns[seq], sent_rt[seq], t, rx_stamp(&mh));
			nrecv++;
		}
	}

	burst_stats(nsent, got, rtt, nrecv, out);
out:
	if (fd >= 0)
		close(fd);
	free(sent_ns);
	free(sent_rt);
	free(rtt);
	free(got);
	return rc;
}

int
udpprobe_burst(const char *ip, int port, int count, int spacing_ms, int timeout_ms,
	struct udp_stats *out)
{
	return burst_run(ip, port, count, spacing_ms, timeout_ms, NULL, out, NULL);
}

int
udpprobe_beat(const char *ip, int port, int count, int spacing_ms, int timeout_ms,
	const struct udpp_beat_key *k, struct udp_stats *out, uint64_t *digest)
{
	if (k == NULL || digest == NULL) { /* count is checked by burst_run */
		if (out)
			memset(out, 0, sizeof *out);
		return MW_EINVAL;
	}
	return burst_run(ip, port, count, spacing_ms, timeout_ms, k, out, digest);
}

/* Beats in flight (one thread, no blocking)

   A beater sends each burst back to back in one sendmmsg from one
   unconnected socket per address family, and its owner's event loop
   collects the acks of every burst in flight with recvmmsg: no socket,
   connect and close per burst, no thread hand-off per poll. The owner
   need not wake for each ack: the kernel stamps each datagram as it
   arrives (SO_TIMESTAMPNS), and the RTT is that stamp less the send
   time, whenever the ack is read. An ack is matched by its nonce and its
   source (the address the beats went to), and counts only with a good
   mac under that burst's key and within the burst's timeout, as in
   udpprobe_beat. */

#define BEATER_RX_BATCH 16
/* Calls per collect: its socket takes datagrams from anyone, and a flood
   must not keep the scheduler reading (what is left waits for the next
   turn, or is dropped by the kernel: those beats count as lost, and the
   polls go on over HTTPS). */
#define BEATER_RX_CALLS 8

struct flight {
	int used;
	void *tag;
	uint64_t nonce, sent_ns, sent_rt_ns, deadline_ns, digest; /* sent_rt_ns: CLOCK_REALTIME, as kernel stamps */
	int timeout_ms;
	int count, nrecv;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct udpp_beat_key k;
	uint8_t got[UDPP_BEATER_MAX_COUNT];
	double rtt[UDPP_BEATER_MAX_COUNT];
};

struct udp_beater {
	int fd4, fd6; /* -1 until a peer of that family is beaten */
	int max, used;
	struct flight *f;
	struct mac mac;
	uint64_t nonce; /* random at start, then one more per burst: never one twice */
};

struct udp_beater *
udp_beater_create(int max_flights)
{
	if (max_flights < 1 || max_flights > UDPP_BEATER_MAX_FLIGHTS)
		return NULL;
	struct udp_beater *b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	b->f = calloc((size_t)max_flights, sizeof *b->f);
	if (b->f == NULL) {
		free(b);
		return NULL;
	}
	if (mw_random(&b->nonce, sizeof b->nonce) != 0) {
		free(b->f);
		free(b);
		return NULL;
	}
	mac_init(&b->mac);
	b->fd4 = b->fd6 = -1;
	b->max = max_flights;
	return b;
}

void
udp_beater_destroy(struct udp_beater *b, void (*drop)(void *tag))
{
	if (b == NULL)
		return;
	for (int i = 0; i < b->max; i++)
		if (b->f[i].used && drop)
			drop(b->f[i].tag);
	if (b->fd4 >= 0)
		close(b->fd4);
	if (b->fd6 >= 0)
		close(b->fd6);
	mac_free(&b->mac);
	free(b->f);
	free(b);
}

int
udp_beater_in_flight(const struct udp_beater *b)
{
	return b ? b->used : 0;
}

static int
beater_fd(struct udp_beater *b, int family)
{
	int *fd = family == AF_INET6 ? &b->fd6 : &b->fd4;
	if (*fd < 0) {
		*fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (*fd >= 0)
			stamps_on(*fd);
	}
	return *fd;
}

int
udp_beater_send(struct udp_beater *b, const char *ip, int port, int count, int timeout_ms,
	const struct udpp_beat_key *k, void *tag)
{
	if (b == NULL || k == NULL || count < 1 || count > UDPP_BEATER_MAX_COUNT || timeout_ms < 0 ||
	    port < 1 || port > 65535)
		return MW_EINVAL;
	if (b->used == b->max)
		return MW_ELIMIT;
	struct flight *f = NULL;
	for (int i = 0; i < b->max && f == NULL; i++)
		if (!b->f[i].used)
			f = &b->f[i];
	memset(f, 0, sizeof *f);
	if (udpprobe_sockaddr(ip, port, &f->to, &f->tolen) != 0)
		return MW_EINVAL;
	int fd = beater_fd(b, f->to.ss_family);
	if (fd < 0)
		return MW_EIO;
	f->nonce = ++b->nonce;
	uint8_t pkt[UDPP_BEATER_MAX_COUNT][UDPP_BEAT_LEN];
	struct iovec iov[UDPP_BEATER_MAX_COUNT];
	struct mmsghdr mm[UDPP_BEATER_MAX_COUNT];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < count; i++) {
		beat_encode(pkt[i], UDPP_TYPE_BEAT, (uint16_t)i, f->nonce, k->ticket);
		iov[i] = (struct iovec){ .iov_base = pkt[i], .iov_len = UDPP_BEAT_LEN };
		mm[i].msg_hdr = (struct msghdr){ .msg_name = &f->to, .msg_namelen = f->tolen,
			.msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	f->sent_rt_ns = real_ns();
	f->sent_ns = mw_now_ns();
	int n = sendmmsg(fd, mm, (unsigned)count, MSG_DONTWAIT);
	if (n <= 0) {
		/* nothing left (no route, buffer full): not a burst, the caller
		   polls another way */
		log_debug("udp", "beats to %s port %d not sent: %s", ip, port, n < 0 ? strerror(errno) : "none");
		return MW_EIO;
	}
	/* beats the kernel did not take count as lost, as in udpprobe_beat */
	f->used = 1;
	f->tag = tag;
	f->count = count;
	f->k = *k;
	f->timeout_ms = timeout_ms;
	f->deadline_ns = f->sent_ns + (uint64_t)timeout_ms * 1000000u;
	b->used++;
	return 0;
}

int
udp_beater_fds(const struct udp_beater *b, struct pollfd *pf, int max)
{
	int n = 0;
	if (b && b->fd4 >= 0 && n < max)
		pf[n++] = (struct pollfd){ .fd = b->fd4, .events = POLLIN };
	if (b && b->fd6 >= 0 && n < max)
		pf[n++] = (struct pollfd){ .fd = b->fd6, .events = POLLIN };
	return n;
}

uint64_t
udp_beater_deadline_ns(const struct udp_beater *b)
{
	uint64_t d = 0;
	for (int i = 0; b && i < b->max; i++)
		if (b->f[i].used && (d == 0 || b->f[i].deadline_ns < d))
			d = b->f[i].deadline_ns;
	return d;
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* One datagram, read at now (monotonic) and stamped at rx_rt (realtime,
   0: no stamp): an ack of a burst in flight, or ignored. */
static void
beater_take(struct udp_beater *b, const uint8_t *rx, ssize_t n, const struct sockaddr_storage *from,
	uint64_t now, uint64_t rx_rt)
{
	if (n != UDPP_BEAT_LEN)
		return;
	uint64_t nonce = get_be64(rx + 8);
	for (int i = 0; i < b->max; i++) {
		struct flight *f = &b->f[i];
		if (!f->used || f->nonce != nonce || !same_addr(&f->to, from))
			continue;
		uint32_t seq;
		uint64_t dg;
		if (!ack_seq(rx, n, nonce, &f->k, &b->mac, &seq, &dg) || seq >= (uint32_t)f->count || f->got[seq])
			return;
		double rtt = rtt_ms(f->sent_ns, f->sent_rt_ns, now, rx_rt);
		if (rtt > f->timeout_ms)
			return; /* came after the burst's time was up: lost */
		f->digest = dg;
		f->got[seq] = 1;
		f->rtt[seq] = rtt;
		f->nrecv++;
		return;
	}
}

static void
beater_read(struct udp_beater *b, int fd)
{
	uint8_t rx[BEATER_RX_BATCH][UDPP_BEAT_LEN + 1];
	struct sockaddr_storage from[BEATER_RX_BATCH];
	struct iovec iov[BEATER_RX_BATCH];
	struct mmsghdr mm[BEATER_RX_BATCH];
	uint64_t ctl[BEATER_RX_BATCH][CMSG_SPACE(sizeof(struct timespec)) / sizeof(uint64_t) + 1];
	for (int call = 0; call < BEATER_RX_CALLS; call++) {
		memset(mm, 0, sizeof mm);
		for (int i = 0; i < BEATER_RX_BATCH; i++) {
			/* one byte more than an ack, so an oversized datagram shows */
			iov[i] = (struct iovec){ .iov_base = rx[i], .iov_len = sizeof rx[i] };
			mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
				.msg_iov = &iov[i], .msg_iovlen = 1, .msg_control = ctl[i], .msg_controllen = sizeof ctl[i] };
		}
		int n = recvmmsg(fd, mm, BEATER_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return; /* EAGAIN, or an ICMP error reported once */
		}
		uint64_t now = mw_now_ns();
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &mm[i].msg_hdr;
			if (h->msg_flags & MSG_TRUNC)
				continue;
			beater_take(b, rx[i], (ssize_t)mm[i].msg_len, &from[i], now, rx_stamp(h));
		}
		if (n < BEATER_RX_BATCH)
			return;
	}
}

int
udp_beater_collect(struct udp_beater *b, const struct pollfd *pf, int npf,
	void (*done)(void *arg, void *tag, const struct udp_stats *us, uint64_t digest), void *arg)
{
	if (b == NULL || b->used == 0)
		return 0;
	if (pf == NULL) {
		if (b->fd4 >= 0)
			beater_read(b, b->fd4);
		if (b->fd6 >= 0)
			beater_read(b, b->fd6);
	}
	for (int i = 0; pf && i < npf; i++)
		if ((pf[i].fd == b->fd4 || pf[i].fd == b->fd6) && (pf[i].revents & (POLLIN | POLLERR)))
			beater_read(b, pf[i].fd);
	uint64_t now = mw_now_ns();
	int completed = 0;
	for (int i = 0; i < b->max; i++) {
		struct flight *f = &b->f[i];
		if (!f->used || (f->nrecv < f->count && now < f->deadline_ns))
			continue;
		struct udp_stats us;
		memset(&us, 0, sizeof us);
		burst_stats(f->count, f->got, f->rtt, f->nrecv, &us);
		void *tag = f->tag;
		uint64_t dg = f->digest;
		f->used = 0;
		b->used--;
		completed++;
		if (done)
			done(arg, tag, &us, dg);
	}
	return completed;
}
