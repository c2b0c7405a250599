/* pmtu: path-MTU discovery to a peer's UDP responder (udpprobe.h wire
   format), RFC 8899 style: sizes are proven by acks, so it works where ICMP
   is filtered; ICMP "fragmentation needed" / "packet too big" feedback, when
   it arrives, narrows the search and is then confirmed by an ack. */
#ifndef MESHWATCH_PMTU_H
#define MESHWATCH_PMTU_H

struct pmtu_result {
	int value;            /* largest IP packet (header included) that reaches the peer
	                         with DF set and is acknowledged, in bytes, exact */
	char method[24];      /* "ack": found by acks alone;
	                         "icmp+ack": the value is the MTU an ICMP error reported,
	                                     confirmed by an ack;
	                         "local": the value is the local limit (outgoing interface
	                                  MTU, or the protocol maximum: IPv4 65535,
	                                  IPv6 65575), confirmed by an ack */
	int probes;           /* probe datagrams sent */
	int black_hole;       /* 1: probes above value vanished with no ICMP feedback */
	int local_mtu;        /* MTU of the outgoing interface */
	int icmp_mtu;         /* MTU reported by ICMP during this run, 0 if none */
};

/* Defaults used for zero fields (or o == NULL). */
#define PMTU_DEFAULT_TIMEOUT_MS 250
#define PMTU_DEFAULT_TRIES 3
#define PMTU_MAX_TIMEOUT_MS 5000
#define PMTU_MAX_TRIES 10
/* Probe sizes tried in one run (each up to tries x timeout_ms). */
#define PMTU_MAX_STEPS 24

struct pmtu_opts {
	int timeout_ms;  /* wait for an ack per try; 0: default; 1..PMTU_MAX_TIMEOUT_MS */
	int tries;       /* tries before a size counts as too big; 0: default; 1..PMTU_MAX_TRIES */
};

/* Finds the path MTU to ip:port (numeric IPv4 or IPv6) where a udpprobe
   responder listens. Probes carry DF (IP_PMTUDISC_PROBE /
   IPV6_PMTUDISC_PROBE + IPV6_DONTFRAG, so the kernel's cached PMTU neither
   caps nor fragments them); ICMP errors are read from the socket's error
   queue (IP_RECVERR / IPV6_RECVERR). The value is exact to the byte: every
   size is decided by acks (a size is too big only after `tries` tries of
   timeout_ms each got no ack, or when ICMP reports a smaller MTU), and it
   never exceeds the local interface MTU.

   Returns 0 with *out filled; MW_ENOTFOUND when the minimum size (IPv4 576,
   or the ICMP-reported MTU if smaller, down to 68; IPv6 1280) gets no ack
   or the peer answers "port unreachable" (no responder, peer down);
   MW_EINVAL for bad arguments; MW_EIO for local socket errors (e.g. no
   route). out is zeroed first and partly filled on errors.

   Blocking, on the caller's thread; no shared state (thread-safe). Time is
   bounded: at most PMTU_MAX_STEPS sizes, each at most tries x timeout_ms,
   i.e. worst case 24 x tries x timeout_ms plus scheduling slack (18 s with
   the defaults 250 ms x 3). Typical: a clean path takes two round trips; an
   ICMP-reporting bottleneck three; a black hole between 1280 and 9000 about
   seven timed-out sizes (about 5-6 s with the defaults). Sends only to
   ip:port. */
int pmtu_discover(const char *ip, int port, const struct pmtu_opts *o, struct pmtu_result *out);

#endif
