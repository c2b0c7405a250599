/* certs: the node's ECDSA P-256 key and self-signed certificate in
   CERT_DIR (key.pem mode 0600, cert.pem). Called from the main thread at
   start and from its renewal timer; holds no state between calls. */
#ifndef MESHWATCH_CERTS_H
#define MESHWATCH_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

#define CERTS_MAX_SANS 64
#define CERTS_SAN_LEN MW_NAME_MAX

struct certs_opts {
	const char *dir;          /* CERT_DIR */
	const char *name;         /* node FQDN, may be NULL */
	const char *listen_addr;  /* the advertised address (else the listen address), may be NULL */
	const char *extra_sans;   /* more names or addresses, comma-separated, may be NULL */
	int64_t validity_s;       /* validity of a new certificate */
	int64_t renew_before_s;   /* renew when less than this remains */
};

struct cert_info {
	int64_t not_before;       /* seconds since the epoch */
	int64_t not_after;
	char fingerprint[65];     /* SHA-256 of the DER certificate, hex */
	char subject[256];
	int san_count;
	char sans[CERTS_MAX_SANS][CERTS_SAN_LEN];
};

/* Makes sure CERT_DIR holds a usable key and certificate: creates them
   when missing, replaces them (with a log line saying why) when unreadable,
   corrupt, not matching, expired, due for renewal or listing other names
   than certs_local_sans gives. The key is kept whenever it is valid, so a
   renewed certificate keeps the pin peers hold (the key's hash). Returns 0 when the files were fine, 1 when new
   ones were written, or a negative MW_E* with a reason in err. Blocks on
   file I/O and key generation (milliseconds). */
int certs_ensure(const struct certs_opts *o, struct cert_info *info, char *err, size_t errlen) MW_MUST_CHECK;

/* Reads the certificate at path into info. 0 or a negative MW_E*. */
int certs_read_info(const char *path, struct cert_info *info);

/* Paths of the files inside dir; out must hold 4096 bytes. */
void certs_key_path(const char *dir, char *out, size_t outlen);
void certs_cert_path(const char *dir, char *out, size_t outlen);

/* Collects the subject alternative names for this node: name, addr (its
   advertised address; skipped when a wildcard) and the comma-separated
   entries of extra, and nothing else: the certificate, which anyone may
   read, names no address the node does not advertise ("localhost" alone
   when none of them is given). Returns the count
   (at most max). */
int certs_local_sans(const char *name, const char *addr, const char *extra, char sans[][CERTS_SAN_LEN], int max);

#endif
