/* services: identifies what listens on a port from the evidence a scan
   collected (port, banner, HTTP answer, TLS certificate, MAC vendor),
   using definitions held as data: a JSON list compiled into the binary
   (data/services.json) and optionally a file (services_file) whose entries
   replace built-in ones of the same name or add new ones. A database is
   immutable once loaded, so any thread may use it. */
#ifndef MESHWATCH_SERVICES_H
#define MESHWATCH_SERVICES_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

enum svc_confidence { SVC_NONE = 0, SVC_LOW = 1, SVC_MEDIUM = 2, SVC_HIGH = 3, SVC_CERTAIN = 4 };

#include "meshwatch/limits.h" /* SVC_NAME_MAX */

struct svcdb;

/* What a scan learned about one open port; NULL/0 where unknown. */
struct svc_evidence {
	uint16_t port;
	const char *banner;       /* what the service said first (text) */
	int http_status;          /* 0: no HTTP answer */
	const char *http_headers; /* header block, "Name: value\r\n"... */
	const char *http_body;
	const char *http_title;
	int tls;                  /* 1 when a TLS handshake succeeded */
	const char *tls_subject;  /* certificate subject, e.g. "CN=example" */
	const char *vendor;       /* MAC vendor of the host */
	/* a container's port, known from the engine and not probed: only a
	   definition's image matcher (and its ports) apply */
	int unprobed;
	const char *image;        /* e.g. "nginx:1.25", "registry.example/gitlab/gitlab-ce:16.0" */
	const char *image_title;  /* its org.opencontainers.image.title label, or NULL */
};

struct svc_match {
	char name[SVC_NAME_MAX];
	int confidence;           /* enum svc_confidence */
};

/* Parses a JSON array of definitions. NULL with err naming the entry and
   field on a bad definition (or a bad regular expression). */
struct svcdb *svcdb_parse(const char *json, size_t len, char *err, size_t errlen) MW_MUST_CHECK;
/* The built-in definitions, then those of path (may be NULL or ""). */
struct svcdb *svcdb_load(const char *path, char *err, size_t errlen) MW_MUST_CHECK;
void svcdb_free(struct svcdb *db);
int svcdb_count(const struct svcdb *db);

/* Best definition for the evidence: confidence low for a port-only match,
   medium for a weak content hint (generic HTTP/TLS, vendor), high for a
   banner, header, title, body, status or certificate match, and one level
   more (up to certain) when several independent pieces agree (content and
   port, or two content matchers). Returns the confidence (SVC_NONE when
   nothing matched; out->name is then ""). */
int svcdb_identify(const struct svcdb *db, const struct svc_evidence *ev, struct svc_match *out);

const char *svc_confidence_name(int c);

/* Parses an HTTP response head and body out of raw bytes (the first
   bytes a service sent): status, header block, title. Copies into the
   caller's buffers (NUL-terminated, truncated). Returns the status, or 0
   when raw is not an HTTP response. */
int svc_parse_http(const char *raw, size_t len, char *headers, size_t hlen, char *title, size_t tlen,
    const char **body);

/* Copies raw bytes as printable text: control bytes but \t become
   spaces, a trailing newline is dropped, at most outlen-1 bytes. */
void svc_printable(const char *raw, size_t len, char *out, size_t outlen);

/* The embedded definitions (generated from data/services.json). */
extern const char mw_services_json[];
extern const unsigned long mw_services_json_len;

#endif
