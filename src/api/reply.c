/* reply: what every handler answers with: complete responses in one
   write (headers and body together, Content-Length, keep-alive unless the
   client closes), JSON errors, collections, and the query parameter
   readers that answer 400 themselves. Kept apart from the server (http.c)
   so the handlers depend on this file and not on the dispatcher that
   calls them: the route table (router.c) sits between the two. */
#include "meshwatch/http.h"

#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshwatch/buf.h"
#include "meshwatch/limits.h"
#include "meshwatch/util.h"

/* 1 when the client asked to close after this response (HTTP/1.0 without
   keep-alive, or Connection: close), so the response says so too. */
static int
client_closes(struct req *r)
{
	const char *h = mg_get_header(r->conn, "Connection");
	if (h)
		return strcasecmp(h, "close") == 0;
	return r->ri->http_version && strcmp(r->ri->http_version, "1.0") == 0;
}

/* Headers and body leave in one write: one TLS record and one TCP segment
   for a small response instead of two. */
static void
send_response(struct req *r, int status, const char *ctype, const void *data, size_t len, const char *extra)
{
	struct mg_connection *c = r->conn;
	int head = strcmp(r->method, "HEAD") == 0;
	char stackbuf[4096];
	char hdr[1024];
	r->status = status;
	int closing = client_closes(r) && (extra == NULL || strstr(extra, "Connection:") == NULL);
	int hl = snprintf(hdr, sizeof hdr,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s%s"
	    "\r\n",
	    status, mg_get_response_code_text(c, status), ctype, len, closing ? "Connection: close\r\n" : "",
	    extra ? extra : "");
	if (hl < 0 || (size_t)hl >= sizeof hdr) {
		hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
		len = 0;
	}
	size_t body = head ? 0 : len;
	size_t total = (size_t)hl + body;
	char *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
	if (buf == NULL) {
		mg_write(c, hdr, (size_t)hl);
		if (body)
			mg_write(c, data, body);
		return;
	}
	memcpy(buf, hdr, (size_t)hl);
	if (body)
		memcpy(buf + hl, data, body);
	mg_write(c, buf, total);
	if (buf != stackbuf)
		free(buf);
}

void
http_reply_raw(struct req *r, int status, const char *ctype, const void *data, size_t len, const char *extra)
{
	send_response(r, status, ctype, data, len, extra);
}

void
http_reply_json(struct req *r, int status, cJSON *body, const char *extra)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	if (body && text == NULL) {
		cJSON_Delete(body);
		http_reply_error(r, 500, "internal", "out of memory while writing the response");
		return;
	}
	send_response(r, status, "application/json", text ? text : "", text ? strlen(text) : 0, extra);
	free(text);
	cJSON_Delete(body);
}

__attribute__((format(printf, 5, 0))) static void
reply_error_v(struct req *r, int status, const char *code, const char *extra, const char *fmt, va_list ap)
{
	char detail[512];
	vsnprintf(detail, sizeof detail, fmt, ap);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", code);
	cJSON_AddStringToObject(o, "detail", detail);
	http_reply_json(r, status, o, extra);
}

void
http_reply_error(struct req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_error_v(r, status, code, NULL, fmt, ap);
	va_end(ap);
}

void
http_reply_error_headers(struct req *r, int status, const char *code, const char *extra, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_error_v(r, status, code, extra, fmt, ap);
	va_end(ap);
}

void
http_reply_collection(struct req *r, cJSON *items, int total, int limit, int offset)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "items", items);
	cJSON_AddNumberToObject(o, "total", total);
	cJSON_AddNumberToObject(o, "limit", limit);
	cJSON_AddNumberToObject(o, "offset", offset);
	http_reply_json(r, 200, o, NULL);
}

int
http_query_str(struct req *r, const char *name, char *out, size_t outlen)
{
	const char *q = r->ri->query_string;
	if (q == NULL)
		return MW_ENOTFOUND;
	int n = mg_get_var(q, strlen(q), name, out, outlen);
	if (n == -1) /* civetweb: not in the query */
		return MW_ENOTFOUND;
	if (n < 0) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"%s\" is longer than %zu bytes", name, outlen - 1);
		return MW_EREPLIED;
	}
	return MW_OK;
}

int
http_query_int(struct req *r, const char *name, int def, int min, int max, int *out)
{
	char buf[32], *end;
	int rc = http_query_str(r, name, buf, sizeof buf);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == MW_ENOTFOUND) {
		*out = def;
		return 0;
	}
	long v = strtol(buf, &end, 10);
	if (end == buf || *end || v < min || v > max) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"%s\" must be an integer from %d to %d", name, min,
		    max);
		return MW_EREPLIED;
	}
	*out = (int)v;
	return 0;
}

/* A time parameter: RFC 3339 UTC ("2026-11-22T10:30:00Z") or epoch seconds,
   checked against [0, MW_TIME_MAX] by mw_parse_time before any handler
   does arithmetic with it. */
int
http_query_time(struct req *r, const char *name, int64_t def, int64_t *out)
{
	char buf[40];
	int rc = http_query_str(r, name, buf, sizeof buf);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == MW_ENOTFOUND) {
		*out = def;
		return 0;
	}
	rc = mw_parse_time(buf, out);
	if (rc == 0)
		return 0;
	if (rc == MW_ETOOBIG)
		http_reply_error(r, 400, "invalid_query",
		    "query parameter \"%s\" is out of range: times must be from 1970-01-01T00:00:00Z (0) to "
		    "9999-12-31T23:59:59Z (%lld)", name, (long long)MW_TIME_MAX);
	else
		http_reply_error(r, 400, "invalid_query",
		    "query parameter \"%s\" must be an RFC 3339 UTC time like 2026-11-22T10:30:00Z or epoch seconds", name);
	return MW_EREPLIED;
}

