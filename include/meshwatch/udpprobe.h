/* udpprobe: the UDP responder every node runs next to its HTTPS port, and
   the blocking client that measures RTT, jitter and loss against a peer's
   responder. pmtu.c uses the same wire format for path-MTU probes.

   Wire format (all integers big-endian; a datagram is one message):

     offset size field
     0      4    magic      "MWU1"
     4      1    type       1 = probe, 2 = ack
     5      1    flags      0 (senders write 0, receivers ignore)
     6      2    reserved   0
     8      4    seq        chosen by the prober, echoed in the ack
     12     8    nonce      random per burst / per PMTU run, echoed
     20     8    ts_ns      prober's monotonic clock, echoed (informational)
     28     4    rx_len     ack: the UDP payload length of the probe as the
                            responder received it; probe: 0
     32     ...  padding    probe only: zero bytes up to the probe size

   A probe is at least UDPP_HDR_LEN bytes; an ack is exactly UDPP_HDR_LEN
   bytes, so an ack is never larger than the probe it answers. Receivers drop
   (and count) anything shorter than the header, with the wrong magic, with an
   unknown type, or truncated (larger than the receive buffer). A responder
   never answers an ack, so two responders cannot be made to ping-pong.

   Beats (types 3 and 4) are the per-interval liveness and RTT probes of
   the mesh poller: small, and answered with an authenticated ack that
   carries the responder's state digest, so the poller knows without an
   HTTPS exchange whether the peer has news. Both are exactly
   UDPP_BEAT_LEN bytes:

     beat (3):  magic | 3 | flags 0 | seq (2) | nonce (8) | ticket (8) | 0 (8)
     ack  (4):  magic | 4 | flags 0 | seq (2) | nonce (8) | digest (8) | mac (8)

   The ticket (8 random bytes) and its key (32 bytes) are issued by the
   responder over HTTPS (udp_responder_ticket); the key is
   HMAC-SHA256(responder secret, ticket), so the responder keeps no state
   per ticket, and a restart (a new secret) invalidates every ticket. The
   mac is the first 8 bytes of HMAC-SHA256(key, ack[0..23]); only a holder
   of the key, the poller it was issued to and the responder, can make it.
   A responder answers beats only while its owner says it is healthy
   (udp_responder_set_beat), so a wedged node stops acking. */
#ifndef MESHWATCH_UDPPROBE_H
#define MESHWATCH_UDPPROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "meshwatch/util.h"

#define UDPP_MAGIC "MWU1"
#define UDPP_HDR_LEN 32
#define UDPP_TYPE_PROBE 1
#define UDPP_TYPE_ACK 2
/* Largest UDP payload a datagram can carry (IPv4: 65535 - 20 - 8). IPv6
   allows 65527; both fit in a buffer of UDPP_MAX_DGRAM. */
#define UDPP_MAX_DGRAM 65536
/* Default ack budget of a responder, acks per second over all sources. */
#define UDPP_DEFAULT_RATE 20000
/* Limits of udpprobe_burst(). */
#define UDPP_MAX_COUNT 1000
#define UDPP_BURST_PROBE_LEN 64
#define UDPP_TYPE_BEAT 3
#define UDPP_TYPE_BEAT_ACK 4
#define UDPP_BEAT_LEN 32
#define UDPP_TICKET_LEN 8
#define UDPP_KEY_LEN 32

struct udpp_msg {
	uint8_t type;
	uint32_t seq;
	uint64_t nonce;
	uint64_t ts_ns;
	uint32_t rx_len;
};

/* Writes the header of m into buf (at least UDPP_HDR_LEN bytes) and zeroes
   the rest up to len. Returns 0, or MW_EINVAL when len < UDPP_HDR_LEN. */
int udpprobe_encode(const struct udpp_msg *m, uint8_t *buf, size_t len);
/* Parses a received datagram of len bytes. Returns 0 with *m filled, or
   MW_EINVAL when it is too short, has the wrong magic or an unknown type.
   Never reads past buf[len - 1]. */
int udpprobe_decode(const uint8_t *buf, size_t len, struct udpp_msg *m);

/* Fills *ss with the numeric IPv4 or IPv6 address ip and port (0..65535).
   An IPv6 link-local address may carry a "%iface" scope. Returns 0 or
   MW_EINVAL (no name lookups are done). */
int udpprobe_sockaddr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len);

struct udp_responder;

struct udp_responder_opts {
	int rate_per_s;  /* ack budget per second overall; <= 0: UDPP_DEFAULT_RATE */
};

/* Binds UDP on addr:port (addr numeric IPv4 or IPv6; "0.0.0.0" or "::" =
   all; "::" is dual-stack); udp_responder_start then answers probes on its
   own thread. port 0 picks an ephemeral port (see udp_responder_port).
   Replies leave from the address the probe was sent to (IP_PKTINFO /
   IPV6_RECVPKTINFO). Probes sent to a multicast or broadcast address are
   not answered. Acks are never larger than the probe and are rate-limited
   by a token bucket (rate_per_s per second, bursts up to one second's
   worth); excess probes are dropped and counted. create returns NULL with
   a reason in err (bad address, port in use); start 0 or MW_EIO (thread
   failure). */
struct udp_responder *udp_responder_create(const char *addr, int port, char *err, size_t errlen) MW_MUST_CHECK;
struct udp_responder *udp_responder_create_opts(const char *addr, int port,
	const struct udp_responder_opts *o, char *err, size_t errlen) MW_MUST_CHECK;
int udp_responder_start(struct udp_responder *r, char *err, size_t errlen) MW_MUST_CHECK;
/* Stops the thread (woken at once through an eventfd, joined well within
   200 ms). Idempotent; accepts NULL. */
void udp_responder_stop(struct udp_responder *r);
/* Stops (if still running), closes the socket and frees r. Accepts NULL. */
void udp_responder_destroy(struct udp_responder *r);
/* The bound UDP port (useful after port 0). */
int udp_responder_port(const struct udp_responder *r);

/* Issues a beat ticket and its key (see the wire format above). */
void udp_responder_ticket(struct udp_responder *r, uint8_t ticket[UDPP_TICKET_LEN], uint8_t key[UDPP_KEY_LEN]);
/* The state digest beat acks carry, and how long (ms from now) beats are
   answered: the owner calls this while it is healthy (e.g. every second
   with 5000); once that time has passed, beats are not answered.
   valid_ms < 0: only the digest changes, the health time stays. */
void udp_responder_set_beat(struct udp_responder *r, uint64_t digest, int valid_ms);

struct udp_responder_stats {
	uint64_t probes;        /* valid probes received (beats included) */
	uint64_t beats;         /* valid beats received */
	uint64_t beats_unhealthy; /* beats not answered: the owner's health expired */
	uint64_t acks;          /* acks sent */
	uint64_t dropped_rate;  /* valid probes not answered: over the budget */
	uint64_t malformed;     /* datagrams dropped: short, bad magic/type,
	                           truncated, acks, or sent to multicast/broadcast */
};
/* A consistent-enough snapshot of the counters; any thread may call. */
void udp_responder_stats(struct udp_responder *r, struct udp_responder_stats *out);

struct udp_stats {
	int sent, received;
	double rtt_min_ms, rtt_avg_ms, rtt_max_ms, jitter_ms, loss;
};

/* Sends count (1..UDPP_MAX_COUNT) probes of UDPP_BURST_PROBE_LEN bytes,
   spaced spacing_ms (>= 0) apart, to ip:port (numeric IPv4 or IPv6) and
   waits up to timeout_ms (>= 0) after the last one, or less when every
   probe has been answered. jitter = mean absolute difference of the RTTs of
   consecutive answered probes (seq order), in ms; loss = 1 - received/sent.
   Acks are matched by a random per-burst nonce and seq; duplicates and acks
   that report a different probe length are ignored. Returns 0 (also with
   100% loss: received = 0, rtt and jitter fields 0, loss 1), MW_EINVAL for
   bad arguments, MW_EIO when the local socket cannot be made or connected
   (e.g. no route). Blocking, at most count * spacing_ms + timeout_ms (plus
   scheduling slack). Thread-safe: no shared state. */
int udpprobe_burst(const char *ip, int port, int count, int spacing_ms, int timeout_ms,
	struct udp_stats *out);

/* A ticket and key as udp_responder_ticket issued them to this poller. */
struct udpp_beat_key {
	uint8_t ticket[UDPP_TICKET_LEN];
	uint8_t key[UDPP_KEY_LEN];
};
/* udpprobe_burst with beats: count beats carrying k's ticket; an ack
   counts only with a valid mac under k's key. *digest is the digest of
   the last valid ack (unchanged when none came). Same limits, timing and
   return values as udpprobe_burst. */
int udpprobe_beat(const char *ip, int port, int count, int spacing_ms, int timeout_ms,
	const struct udpp_beat_key *k, struct udp_stats *out, uint64_t *digest);
/* The 8-byte mac of an ack's first 24 bytes under key (for tests). */
void udpprobe_beat_mac(const uint8_t key[UDPP_KEY_LEN], const uint8_t ack[UDPP_BEAT_LEN], uint8_t mac[8]);

/* Beats in flight: bursts of beats sent and collected by one thread
   without blocking (the mesh scheduler), from one unconnected socket per
   address family. Not thread-safe: one owner thread. */
#define UDPP_BEATER_MAX_COUNT 16     /* beats per burst */
#define UDPP_BEATER_MAX_FLIGHTS 1024 /* bursts in flight */
struct udp_beater;
struct pollfd;
/* A beater for up to max_flights bursts at once; NULL when out of memory
   or max_flights is outside 1..UDPP_BEATER_MAX_FLIGHTS. */
struct udp_beater *udp_beater_create(int max_flights);
/* Closes its sockets; drop (when not NULL) gets the tag of every burst
   still in flight. */
void udp_beater_destroy(struct udp_beater *b, void (*drop)(void *tag));
/* Sends count (1..UDPP_BEATER_MAX_COUNT) beats under k to ip:port
   (numeric) back to back, to be answered within timeout_ms; tag comes
   back with the result. 0; MW_EINVAL for bad arguments; MW_ELIMIT when
   max_flights bursts are in flight; MW_EIO when nothing could be sent
   (no socket, no route): no result will come. */
int udp_beater_send(struct udp_beater *b, const char *ip, int port, int count, int timeout_ms,
	const struct udpp_beat_key *k, void *tag);
/* Bursts in flight. */
int udp_beater_in_flight(const struct udp_beater *b);
/* The sockets to wait on (POLLIN), at most max (2 do): how many. */
int udp_beater_fds(const struct udp_beater *b, struct pollfd *pf, int max);
/* The earliest deadline of a burst in flight (CLOCK_MONOTONIC ns), 0 when
   none is. */
uint64_t udp_beater_deadline_ns(const struct udp_beater *b);
/* Reads the acks waiting (on the sockets pf, npf entries, marks readable
   after a poll; pf NULL: on all of them), then ends every burst answered
   in full or past its deadline: done gets its tag, its figures (as
   udpprobe_beat gives them: loss 1 when nothing came) and the digest of
   its last valid ack (0 when none). RTTs run to the kernel's receive
   stamp, so the caller need not wake for each ack; an ack stamped after
   the burst's timeout is lost. Returns how many ended. Never blocks. */
int udp_beater_collect(struct udp_beater *b, const struct pollfd *pf, int npf,
	void (*done)(void *arg, void *tag, const struct udp_stats *us, uint64_t digest), void *arg);

#endif
