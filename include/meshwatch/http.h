/* http: civetweb set-up, routing, authentication, body limits (http.c)
   and the JSON replies every handler sends (reply.c). Handlers run on
   civetweb worker threads; each gets a struct req that lives for one
   request. */
#ifndef MESHWATCH_HTTP_H
#define MESHWATCH_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

struct mg_connection;
struct mg_request_info;
struct node;
struct http_server;

/* What authenticated a request. */
enum req_cred {
	REQ_CRED_NONE = 0,
	REQ_CRED_SESSION,  /* a login session: user is set */
	REQ_CRED_TOKEN,    /* an API token: token is set */
	REQ_CRED_METRICS,  /* the metrics token (metrics_token_file): /metrics and /api/prometheus/sd only */
};

struct req {
	struct mg_connection *conn;
	struct node *node;
	const struct mg_request_info *ri;
	const char *method;
	const char *path;
	int64_t id;                /* the {id} in the path, or -1 */
	char sid[37];              /* the {uuid} in the path, or "" */
	cJSON *body;               /* parsed JSON body (POST/PUT/PATCH), or NULL */
	const char *raw_body;      /* the body as received (NUL-terminated), or NULL */
	size_t raw_len;
	int authed;
	int cred;                  /* REQ_CRED_*, when authed */
	int role;                  /* ROLE_* (store.h), when authed: the user's role or the token's scope */
	struct user_row user;      /* when authed: the session's user; for a token only username, "token:NAME" (id 0) */
	struct token_row token;    /* when authed by an API token */
	char token_hash[65];       /* the session or token used, when authed */
	char client[64];           /* remote address */
	/* the node whose signature a mesh handler verified (its X-Mw-Id, the
	   identity the signature covers); "" when signing is off or the
	   request carried no identity: set by api_mesh.c's verify_signed */
	char mesh_signer[37];
	int status;                /* status sent, for metrics */
};

/* The server, its route metrics (n->metrics) and WebSocket hub, not yet
   listening. NULL with a reason in err. */
struct http_server *http_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Starts HTTPS on cfg.listen and the WebSocket pusher. 0, or MW_E* with a
   reason in err (port in use, bad address). */
int http_start(struct http_server *h, char *err, size_t errlen) MW_MUST_CHECK;
/* Stops accepting and waits for the workers. Idempotent; accepts NULL. */
void http_stop(struct http_server *h);
/* Stops (if still running) and frees, n->metrics with it. Accepts NULL. */
void http_destroy(struct http_server *h);

/* Replies. Each sends a complete response with Content-Length (keep-alive
   friendly) and records the status. extra_headers: "Name: value\r\n"... or
   NULL. http_reply_json takes ownership of body. */
void http_reply_json(struct req *r, int status, cJSON *body, const char *extra_headers);
void http_reply_error(struct req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* http_reply_error with extra headers ("Allow: GET\r\n", "Connection: close\r\n"). */
void http_reply_error_headers(struct req *r, int status, const char *code, const char *extra_headers,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void http_reply_raw(struct req *r, int status, const char *content_type, const void *data, size_t len,
    const char *extra_headers);

/* The query helpers below, and the handlers' own validation helpers,
   reply 400 themselves on a bad value and return MW_EREPLIED: the caller
   then only returns. */

/* Reads an integer query parameter within [min, max] into *out (def when
   absent). 0, or MW_EREPLIED after a 400 naming the parameter. */
int http_query_int(struct req *r, const char *name, int def, int min, int max, int *out) MW_MUST_CHECK;
/* Copies a query parameter: 0 when present, MW_ENOTFOUND when absent,
   MW_EREPLIED when too long (after a 400). */
int http_query_str(struct req *r, const char *name, char *out, size_t outlen) MW_MUST_CHECK;

/* A time query parameter: RFC 3339 UTC ("2026-11-22T10:30:00Z") or epoch
   seconds, within [0, MW_TIME_MAX]; def when absent. 0, or MW_EREPLIED
   after a 400 naming the parameter (bad or out of range). */
int http_query_time(struct req *r, const char *name, int64_t def, int64_t *out) MW_MUST_CHECK;

/* Replies 200 with {"items": items, "total", "limit", "offset"}; takes
   ownership of items (a JSON array). */
void http_reply_collection(struct req *r, cJSON *items, int total, int limit, int offset);

#endif
