/* pmtu: path-MTU search against a peer's udpprobe responder.

   DESIGN. pmtu_discover runs on the caller's thread (the poller's worker)
   and owns one connected UDP socket for the duration of the call; there is
   no shared state. Sizes are decided by acks from the peer (RFC 8899,
   "datagram PLPMTUD"): a size is good only when an ack reports that the
   probe arrived whole, and too big only after `tries` silent tries or when
   ICMP (read from the socket's error queue) reports a smaller MTU. The
   kernel's cached PMTU is deliberately ignored (IP_PMTUDISC_PROBE), because
   it may be stale, or learnt from ICMP that this run should not trust; the
   run instead reads each ICMP error itself. It must never send to anything
   but ip:port, never block without a deadline, and never take longer than
   PMTU_MAX_STEPS x tries x timeout_ms.

   Search order: the minimum size (proves a responder is there), then the
   local limit (most paths are clean: one more round trip), then the MTU an
   ICMP error reported (one more), then binary search between the largest
   acked and the smallest failed size. */
#include "meshwatch/pmtu.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/log.h"
#include "meshwatch/udpprobe.h"
#include "meshwatch/util.h"

#define V4_HDR 28      /* IPv4 header (no options) + UDP header */
#define V6_HDR 48      /* IPv6 header + UDP header */
#define V4_MAX 65535   /* IPv4 total length field */
#define V6_MAX 65575   /* 40 + the payload length field's 65535 */
#define V4_BASE 576
#define V6_BASE 1280
#define V4_MIN 68

enum probe_verdict {
	P_ACK = 1,          /* acked: the size reaches the peer */
	P_SILENT = 2,       /* no ack after every try, no ICMP */
	P_ICMP = 3,         /* ICMP reported an MTU below this size */
	P_LOCAL = 4,        /* the local interface refused the size (EMSGSIZE) */
	P_REFUSED = 5,      /* port unreachable: no responder */
};

struct run {
	int fd, v4, hdr, timeout_ms, tries, step;
	uint64_t nonce;
	struct pmtu_result *res;
	/* Feedback from the error queue since the last reset. */
	int ev_icmp_mtu, ev_refused, ev_local_mtu, ev_local;
	uint8_t *buf;
	const char *ip;
};

/* The kernel's current path MTU for the connected socket (0 if unknown). */
static int
kernel_mtu(const struct run *r)
{
	int mtu = 0;
	socklen_t l = sizeof mtu;
	if (r->v4)
		(void)getsockopt(r->fd, IPPROTO_IP, IP_MTU, &mtu, &l);
	else
		(void)getsockopt(r->fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &l);
	return mtu > 0 ? mtu : 0;
}

/* Reads every queued error (ICMP or local) and records what it says. */
static void
drain_errqueue(struct run *r)
{
	for (;;) {
		uint8_t data[64], ctl[512];
		struct sockaddr_storage from;
		struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof from,
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl, .msg_controllen = sizeof ctl,
		};
		if (recvmsg(r->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
			      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
				continue;
			if (c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err)))
				continue;
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(c), sizeof ee);
			int mtu = (int)ee.ee_info;
			if (ee.ee_origin == SO_EE_ORIGIN_LOCAL && ee.ee_errno == EMSGSIZE) {
				r->ev_local = 1;
				if (mtu > 0)
					r->ev_local_mtu = mtu;
			} else if ((ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && ee.ee_code == 4) ||
			           (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 2)) {
				if (mtu <= 0)
					mtu = kernel_mtu(r);
				if (mtu > 0) {
					r->ev_icmp_mtu = mtu;
					r->res->icmp_mtu = mtu;
					log_debug("pmtu", "%s: ICMP reports MTU %d", r->ip, mtu);
				}
			} else if ((ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && ee.ee_code == 3) ||
			           (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1 && ee.ee_code == 4)) {
				r->ev_refused = 1;
			}
		}
	}
}

/* Clears a pending asynchronous error, which would otherwise make the next
   send() or recv() fail once. */
static void
clear_pending(struct run *r)
{
	int e;
	socklen_t l = sizeof e;
	drain_errqueue(r);
	(void)getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &l);
}

/* Sends one probe of `size` IP bytes. Returns 0, 1 when the local interface
   refused the size, or MW_EIO. */
static int
send_probe(struct run *r, int size, int try)
{
	struct udpp_msg m = {
		.type = UDPP_TYPE_PROBE, .seq = (uint32_t)r->step << 8 | (uint32_t)try,
		.nonce = r->nonce, .ts_ns = mw_now_ns(),
	};
	size_t len = (size_t)(size - r->hdr);
	udpprobe_encode(&m, r->buf, len);
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t n = send(r->fd, r->buf, len, MSG_DONTWAIT);
		if (n == (ssize_t)len) {
			r->res->probes++;
			return 0;
		}
		if (n >= 0) {
			errno = EIO;
			break;
		}
		int e = errno;
		if (e == EMSGSIZE) {
			drain_errqueue(r);
			if (r->ev_local || attempt == 1)
				return 1;
			continue;  /* a pending ICMP-derived EMSGSIZE, not ours */
		}
		if (e == ECONNREFUSED) {
			r->ev_refused = 1;
			continue;
		}
		if (e == EINTR || e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
			continue;
		errno = e;
		break;
	}
	log_debug("pmtu", "%s: probe of %d bytes not sent: %s", r->ip, size, strerror(errno));
	return MW_EIO;
}

/* Reads acks; 1 when one acknowledges the current step whole. */
static int
read_acks(struct run *r, int size)
{
	for (;;) {
		uint8_t rx[UDPP_HDR_LEN + 1];
		ssize_t n = recv(r->fd, rx, sizeof rx, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ECONNREFUSED)
				r->ev_refused = 1;
			continue;  /* a pending ICMP error, reported once */
		}
		struct udpp_msg a;
		if (n != UDPP_HDR_LEN || udpprobe_decode(rx, (size_t)n, &a) != 0 ||
		    a.type != UDPP_TYPE_ACK || a.nonce != r->nonce)
			continue;
		/* Late acks for earlier sizes are ignored: each size was decided
		   when its tries ran out. */
		if ((a.seq >> 8) == (uint32_t)r->step && a.rx_len == (uint32_t)(size - r->hdr))
			return 1;
	}
}

static int
probe_size(struct run *r, int size)
{
	r->step++;
	for (int try = 0; try < r->tries; try++) {
		if (mw_abort_requested())
			return MW_EIO; /* the node is stopping */
		clear_pending(r);
		r->ev_icmp_mtu = r->ev_refused = r->ev_local = r->ev_local_mtu = 0;
		int s = send_probe(r, size, try);
		if (s == 1) {
			if (r->ev_local_mtu > 0 && r->ev_local_mtu < size)
				r->res->local_mtu = r->ev_local_mtu;
			return P_LOCAL;
		}
		if (s < 0)
			return s;
		if (r->ev_refused)
			return P_REFUSED;
		uint64_t deadline = mw_now_ns() + (uint64_t)r->timeout_ms * 1000000u;
		for (;;) {
			uint64_t now = mw_now_ns();
			if (now >= deadline)
				break;
			uint64_t left = deadline - now;
			struct timespec ts = { .tv_sec = (time_t)(left / 1000000000u),
				.tv_nsec = (long)(left % 1000000000u) };
			struct pollfd pf = { .fd = r->fd, .events = POLLIN };
			int pn = ppoll(&pf, 1, &ts, NULL);
			if (pn < 0) {
				if (errno == EINTR)
					continue;
				return MW_EIO;
			}
			if (pn == 0)
				break;
			if (pf.revents & POLLERR)
				drain_errqueue(r);
			if (read_acks(r, size))
				return P_ACK;
			if (r->ev_refused)
				return P_REFUSED;
			if (r->ev_icmp_mtu > 0 && r->ev_icmp_mtu < size)
				return P_ICMP;
		}
	}
	return P_SILENT;
}

/* MTU of the interface that holds the socket's local address, 0 if unknown.
   (If the route leaves by another interface, EMSGSIZE corrects it.) */
static int
iface_mtu(int fd)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof me;
	if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0)
		return 0;
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		return 0;
	char name[IF_NAMESIZE] = "";
	for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != me.ss_family)
			continue;
		int same = me.ss_family == AF_INET
			? ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr ==
			  ((struct sockaddr_in *)&me)->sin_addr.s_addr
			: memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
			         &((struct sockaddr_in6 *)&me)->sin6_addr, sizeof(struct in6_addr)) == 0;
		if (same) {
			snprintf(name, sizeof name, "%s", i->ifa_name);
			break;
		}
	}
	freeifaddrs(ifs);
	if (name[0] == '\0')
		return 0;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, name, sizeof name);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return 0;
	return ifr.ifr_mtu > 0 ? ifr.ifr_mtu : 0;
}

static int
set_options(int fd, int v4)
{
	int one = 1, probe = v4 ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
	if (v4)
		return setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe) < 0 ||
		       setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one) < 0 ? -1 : 0;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe) < 0 ||
	       setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one) < 0 ||
	       setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof one) < 0 ? -1 : 0;
}

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

int
pmtu_discover(const char *ip, int port, const struct pmtu_opts *o, struct pmtu_result *out)
{
	if (out == NULL)
		return MW_EINVAL;
	memset(out, 0, sizeof *out);
	struct run r = { .fd = -1, .res = out, .ip = ip,
		.timeout_ms = o && o->timeout_ms ? o->timeout_ms : PMTU_DEFAULT_TIMEOUT_MS,
		.tries = o && o->tries ? o->tries : PMTU_DEFAULT_TRIES };
	if (r.timeout_ms < 1 || r.timeout_ms > PMTU_MAX_TIMEOUT_MS || r.tries < 1 ||
	    r.tries > PMTU_MAX_TRIES || port < 1 || port > 65535)
		return MW_EINVAL;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (udpprobe_sockaddr(ip, port, &ss, &sl) != 0)
		return MW_EINVAL;
	r.v4 = ss.ss_family == AF_INET;
	r.hdr = r.v4 ? V4_HDR : V6_HDR;
	const int maxproto = r.v4 ? V4_MAX : V6_MAX, minproto = r.v4 ? V4_MIN : V6_BASE;

	int rc = 0;
	r.buf = malloc(UDPP_MAX_DGRAM);
	if (r.buf == NULL)
		return MW_ENOMEM;
	if (mw_random(&r.nonce, sizeof r.nonce) != 0) {
		rc = MW_EIO;
		goto out;
	}
	r.fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r.fd < 0 || set_options(r.fd, r.v4) < 0 || connect(r.fd, (struct sockaddr *)&ss, sl) < 0) {
		log_debug("pmtu", "%s port %d: %s", ip, port, strerror(errno));
		rc = MW_EIO;
		goto out;
	}
	out->local_mtu = iface_mtu(r.fd);

	int lo = 0;              /* largest acked size, 0: none yet */
	int hi = out->local_mtu ? min_int(out->local_mtu, maxproto) : maxproto;
	int tried_hi = 0, tried_icmp = 0, silent_above = 0;
	while (lo < hi) {
		if (r.step >= PMTU_MAX_STEPS) {
			log_warn("pmtu", "%s: gave up after %d sizes between %d and %d", ip, r.step, lo, hi);
			break;
		}
		int cand;
		if (lo == 0) {
			/* Below the base only an ICMP report takes us (IPv4). */
			int base = r.v4 ? V4_BASE : V6_BASE;
			cand = min_int(base, hi);
			if (tried_icmp == 0 && out->icmp_mtu >= minproto && out->icmp_mtu < cand) {
				cand = out->icmp_mtu;
				tried_icmp = 1;
			} else if (r.step > 0 && cand != hi) {
				rc = MW_ENOTFOUND;  /* the base got no ack */
				goto out;
			}
			if (cand < minproto) {
				rc = MW_EIO;  /* the local interface cannot carry the minimum */
				goto out;
			}
		} else if (!tried_icmp && out->icmp_mtu > lo && out->icmp_mtu <= hi) {
			cand = out->icmp_mtu;
			tried_icmp = 1;
		} else if (!tried_hi) {
			cand = hi;
			tried_hi = 1;
		} else {
			cand = lo + (hi - lo + 1) / 2;
		}
		int v = probe_size(&r, cand);
		if (v < 0) {
			rc = v;
			goto out;
		}
		log_debug("pmtu", "%s: %d bytes -> %d (range %d..%d)", ip, cand, v, lo, hi);
		switch (v) {
		case P_ACK:
			lo = cand;
			break;
		case P_LOCAL:
			hi = out->local_mtu > 0 && out->local_mtu < cand ? out->local_mtu : cand - 1;
			tried_hi = 0;
			break;
		case P_ICMP:
			hi = min_int(cand - 1, out->icmp_mtu);
			if (out->icmp_mtu > lo && out->icmp_mtu <= hi)
				tried_icmp = 0;  /* a new report: try it next */
			break;
		case P_REFUSED:
			rc = MW_ENOTFOUND;
			goto out;
		default: /* P_SILENT */
			if (lo == 0 && !(out->icmp_mtu >= minproto && out->icmp_mtu < cand)) {
				rc = MW_ENOTFOUND;
				goto out;
			}
			hi = cand - 1;
			if (out->icmp_mtu == 0 || cand <= out->icmp_mtu)
				silent_above = 1;
			break;
		}
		if (lo == 0 && hi < minproto) {
			rc = MW_ENOTFOUND;
			goto out;
		}
	}
	if (lo == 0) {
		rc = MW_ENOTFOUND;
		goto out;
	}
	out->value = lo;
	int local_limit = out->local_mtu ? min_int(out->local_mtu, maxproto) : maxproto;
	if (lo == local_limit)
		snprintf(out->method, sizeof out->method, "local");
	else if (out->icmp_mtu == lo)
		snprintf(out->method, sizeof out->method, "icmp+ack");
	else
		snprintf(out->method, sizeof out->method, "ack");
	out->black_hole = silent_above && (out->icmp_mtu == 0 || lo < out->icmp_mtu);
	log_debug("pmtu", "%s port %d: %d bytes (%s, %d probes, local %d, icmp %d%s)", ip, port,
		out->value, out->method, out->probes, out->local_mtu, out->icmp_mtu,
		out->black_hole ? ", black hole" : "");
out:
	if (r.fd >= 0)
		close(r.fd);
	free(r.buf);
	return rc;
}
