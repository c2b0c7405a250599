/* Fuzzes what a scanned service says: the HTTP response parser, the
   banner-to-text copy, the service-hostname extraction and identification
   against the built-in definitions, and the container engine's JSON.
   Anything may arrive from a port; nothing may be read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/docker.h"
#include "meshwatch/scanner.h"
#include "meshwatch/services.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct svcdb *db;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (db == NULL) {
		char err[256];
		db = svcdb_load(NULL, err, sizeof err);
		if (db == NULL)
			abort();
	}
	if (size > SCAN_RAW_MAX)
		size = SCAN_RAW_MAX;
	/* the scanner keeps raw bytes NUL-terminated, as here */
	char *raw = malloc(size + 1);
	if (raw == NULL)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0';
	char headers[2048], title[128], banner[256], host[256];
	const char *body = NULL;
	int status = svc_parse_http(raw, size, headers, sizeof headers, title, sizeof title, &body);
	if (status != 0 && (status < 100 || status > 599))
		abort();
	if (body && (body < raw || body > raw + size))
		abort();
	svc_printable(raw, size, banner, sizeof banner);
	if (strlen(banner) >= sizeof banner)
		abort();
	scanner_service_hostname(banner, banner, host, sizeof host);
	struct svc_evidence ev = {
		.port = size ? (uint16_t)(data[0] << 8 | data[size - 1]) : 0,
		.banner = status ? NULL : banner,
		.http_status = status,
		.http_headers = status ? headers : NULL,
		.http_body = body,
		.http_title = title[0] ? title : NULL,
		.tls = size & 1,
		.tls_subject = banner,
		.vendor = title,
	};
	struct svc_match m;
	int c = svcdb_identify(db, &ev, &m);
	if (c < SVC_NONE || c > SVC_CERTAIN)
		abort();
	struct docker_container dc[4];
	struct docker_network dn[4];
	if (docker_parse_containers(raw, size, dc, 4) > 4 || docker_parse_networks(raw, size, dn, 4) > 4)
		abort(); /* more than asked for */
	free(raw);
	return 0;
}
