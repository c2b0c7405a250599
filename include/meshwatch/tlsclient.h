/* tlsclient: the HTTPS client nodes use to poll each other, on mbedTLS.
   One request per fresh connection, so every poll measures TCP connect,
   TLS handshake, time to first byte and total time; TLS sessions are
   resumed from a per-address cache (session tickets), so a repeat poll
   costs no full handshake. Peer certificates are self-signed and accepted;
   the SHA-256 of the peer's public key is reported so callers can pin it.
   Thread-safe; each request blocks its calling thread up to the timeout. */
#ifndef MESHWATCH_TLSCLIENT_H
#define MESHWATCH_TLSCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

/* Why a request to a peer failed (the client classifies its own
   failures; the poller adds the rest); also the labels used in JSON and
   metrics. */
enum poll_error {
	PERR_NONE = 0,
	PERR_TIMEOUT,
	PERR_REFUSED,
	PERR_UNREACHABLE,
	PERR_DNS,
	PERR_TLS,
	PERR_HTTP,     /* a status other than 200 */
	PERR_BODY,     /* not a valid /nodeinfo answer */
	PERR_AUTH,     /* mesh signature missing or wrong */
	PERR_SELF,     /* the address answers as this node */
	PERR_OTHER,
	PERR__COUNT
};
const char *poll_error_name(int e);

struct tls_client;

struct https_result {
	int status;                 /* HTTP status, 0 when none arrived */
	char *body;                 /* malloc'd, NUL-terminated; caller frees */
	size_t body_len;
	int error;                  /* enum poll_error (membership.h), 0 on success */
	char detail[128];
	double connect_ms, tls_ms, ttfb_ms, total_ms;  /* -1 when not reached */
	char spki_sha256[65];       /* of the peer's public key */
	char sig[80];               /* X-Mw-Signature response header, "" if absent */
};

/* NULL with a reason in err. session_slots bounds the resumption cache. */
struct tls_client *tlsclient_create(int session_slots, char *err, size_t errlen) MW_MUST_CHECK;
void tlsclient_destroy(struct tls_client *c);
/* From now on c checks servers' certificates against the roots in ca_file
   (a PEM bundle) and, when a request names a host, that the certificate
   is for it; a failure names the reason. 0, or MW_EINVAL with a reason in
   err (c then still checks nothing). For notification receivers, never
   for peers (their certificates are self-signed and pinned). */
int tlsclient_verify_with(struct tls_client *c, const char *ca_file, char *err, size_t errlen) MW_MUST_CHECK;

/* Sends one request to ip:port (numeric IPv4 or IPv6) and reads the whole
   response. extra_headers: "Name: value\r\n"... or NULL. A body larger than
   max_body fails with PERR_BODY. Returns 0 when a response arrived (any
   status), a negative MW_E* with out->error and out->detail otherwise.
   out->body must be freed by the caller in every case. */
int tlsclient_request(struct tls_client *c, const char *ip, int port, const char *method, const char *path,
    const char *extra_headers, const void *body, size_t blen, size_t max_body, int timeout_ms,
    struct https_result *out);

/* The same for any HTTP(S) server (alert notifications): tls 0 speaks
   plain HTTP; host names the Host header (NULL: ip). No pinning and no
   certificate check here either: the caller says what that means for
   its users. */
struct fetch_req {
	const char *ip;              /* numeric IPv4 or IPv6 */
	int port;
	int tls;
	const char *host;
	const char *method, *path;
	const char *extra_headers;
	const void *body;
	size_t blen, max_body;
	int timeout_ms;
};
int tlsclient_fetch(struct tls_client *c, const struct fetch_req *q, struct https_result *out);

void https_result_free(struct https_result *r);

/* At most n full handshakes (no session to resume) at once; more wait
   before connecting (0: no limit, the default). The count of requests
   that had to wait, for metrics. */
void tlsclient_limit_full_handshakes(struct tls_client *c, int n);
uint64_t tlsclient_full_handshake_waits(struct tls_client *c);

/* First contacts are paced: a full handshake costs about 5 ms of
   elliptic-curve CPU across both nodes (against about 1 ms for a whole
   resumed poll), and a node that learns of hundreds of peers at once
   would otherwise meet them all in one interval. per_min tokens a minute,
   up to burst saved (per_min <= 0: no pacing, the default). */
void tlsclient_pace_first_contacts(struct tls_client *c, int per_min, int burst);
/* Connections leave from this numeric address (a node listening on one
   address polls from it, so peers see the address it claims; on loopback
   every node would otherwise call from 127.0.0.1). NULL, "", "0.0.0.0" or
   "::": the kernel's choice. Call before the first request. */
void tlsclient_set_source(struct tls_client *c, const char *ip);
/* Changes the pace (tokens a minute, > 0) and keeps the tokens saved;
   nothing when pacing is off. */
void tlsclient_pace_rate(struct tls_client *c, double per_min);
/* 1 when a request to ip:port may go now: a session to resume is cached,
   pacing is off, or a first-contact token was taken. 0 when it should be
   deferred (counted, see tlsclient_first_contacts_deferred). */
int tlsclient_first_contact_ok(struct tls_client *c, const char *ip, int port);
uint64_t tlsclient_first_contacts_deferred(struct tls_client *c);

#endif
