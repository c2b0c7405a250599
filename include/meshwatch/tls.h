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
