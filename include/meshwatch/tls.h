/* tls: the live mbedTLS server configuration behind civetweb. Each
   certificate load makes a new reference-counted generation; connections
   hold the generation they started with, so a renewal never disturbs a
   connection in flight. Thread-safe. */
#ifndef MESHWATCH_TLS_H
#define MESHWATCH_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/hist.h"
#include "meshwatch/util.h"

struct tls_server;

struct tls_stats {
	uint64_t handshakes_ok;
	uint64_t handshakes_failed;
	/* the failed ones by what the client did (they add up to handshakes_failed):
	   no_hello: closed, reset or stayed silent before a ClientHello (port
	   scans, TCP health checks); not_tls: sent bytes that are no TLS hello
	   (other protocols' probes); tls_error: a TLS client whose handshake
	   failed (no common version or cipher, or it refused this node's
	   self-signed certificate): the only kind that may need a look */
	uint64_t failed_no_hello;
	uint64_t failed_not_tls;
	uint64_t failed_tls_error;
	double handshake_ms_sum;
	struct hist handshake_s;   /* successful handshakes, seconds */
	uint64_t reloads;
	uint64_t plain_http;        /* plain-HTTP requests on the HTTPS port (redirected, not counted as failed handshakes) */
};

/* Loads key and certificate and prepares tickets, curves (X25519, P-256)
   and ciphersuites. NULL with a reason in err. */
struct tls_server *tls_server_create(const char *cert_path, const char *key_path, char *err, size_t errlen) MW_MUST_CHECK;

/* Loads a new certificate and key; new connections use them at once. On
   error the current ones stay. 0 or a negative MW_E* with err. */
int tls_server_reload(struct tls_server *ts, const char *cert_path, const char *key_path, char *err, size_t errlen);

/* Installs this server into civetweb (mg_set_tls_hooks); call before
   mg_start. Handshakes give up after timeout_ms or once *stopping. */
void tls_server_install(struct tls_server *ts, int timeout_ms, const volatile int *stopping);

void tls_server_stats(struct tls_server *ts, struct tls_stats *out);

/* Uninstalls the hooks and frees everything; call after mg_stop. Accepts
   NULL. */
void tls_server_destroy(struct tls_server *ts);

#endif
