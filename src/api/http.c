/* http: the transport of every request: one civetweb handler for every
   path that looks the route up (router.c's table), answers 404/405
   itself, checks cross-site forgery, authenticates (authn.c) and
   authorises (read-only roles and tokens, admin-only routes), enforces the body
   limit before reading, parses JSON bodies, and counts every response for
   /metrics (the replies themselves: reply.c). Runs on civetweb's worker threads; keeps no
   mutable state of its own beyond the civetweb context, except the
   refused-connection log throttle, which only civetweb's master (accept)
   thread touches. Transport limits live in our civetweb patch and are set
   here before mg_start: max_conns_per_addr per client address, and the
   WebSocket frame limit. */
#include "meshwatch/http.h"

#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "meshwatch/auth.h"
#include "meshwatch/buf.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/metrics.h"
#include "meshwatch/node.h"
#include "meshwatch/tls.h"
#include "meshwatch/util.h"
#include "meshwatch/ws.h"

#include "authn.h"
#include "router.h"

struct http_server {
	struct mg_context *ctx;
	struct node *node;
	struct ws_hub *ws;
	int64_t refused_logged_ms; /* master thread only: last refusal logged */
	uint64_t refused_unlogged; /* master thread only: refusals since */
};

/* Finds the credential (authn.c) and fills r. 0 when authenticated, else
   MW_EREPLIED after a 401 that says why. */
static int
authenticate(struct req *r)
{
	struct authn a;
	enum authn_result res = authn_check(r->node, r->conn, &a);
	const char *hdr = "WWW-Authenticate: Bearer realm=\"meshwatch\"\r\n";
	if (res == AUTHN_EXPIRED) {
		char t[32];
		http_reply_error_headers(r, 401, "token_expired", hdr,
		    "the API token \"%s\" expired at %s; an admin can create a new one with POST /api/tokens", a.token.name,
		    mw_rfc3339(a.token.expires_at, t, sizeof t));
		return MW_EREPLIED;
	}
	if (res != AUTHN_OK) {
		http_reply_error_headers(r, 401, "unauthenticated", hdr, "%s",
		    res == AUTHN_NONE ? "log in with POST /api/login and send the session cookie or an Authorization: Bearer token"
		                      : "the session or token is unknown, has ended or was revoked: log in again with POST "
		                        "/api/login, or use a current API token");
		return MW_EREPLIED;
	}
	r->authed = 1;
	r->cred = a.cred;
	r->role = a.role;
	r->user = a.user;
	r->token = a.token;
	/* what handlers record as the actor (an alert's acknowledger, a log
	   line's "created by"): a name no user can have, since user names
	   have no colon */
	if (a.cred == REQ_CRED_TOKEN)
		snprintf(r->user.username, sizeof r->user.username, "token:%.58s", a.token.name);
	else if (a.cred == REQ_CRED_METRICS)
		snprintf(r->user.username, sizeof r->user.username, "metrics-token");
	memcpy(r->token_hash, a.token_hash, sizeof r->token_hash);
	return 0;
}

/* The paths the metrics token opens: what a Prometheus server scrapes. */
static int
metrics_token_path(const char *path)
{
	return strcmp(path, "/metrics") == 0 || strcmp(path, "/api/prometheus/sd") == 0;
}

/* Who is asking, for messages: user "bob", token "ci", the metrics token. */
static void
describe_caller(const struct req *r, char *out, size_t outlen)
{
	if (r->cred == REQ_CRED_TOKEN)
		snprintf(out, outlen, "API token \"%s\"", r->token.name);
	else if (r->cred == REQ_CRED_METRICS)
		snprintf(out, outlen, "the metrics token (metrics_token_file)");
	else
		snprintf(out, outlen, "user \"%s\"", r->user.username);
}

/* Authorisation, in one place for every route: the metrics token opens
   only what Prometheus reads; a read-only user or token may only GET (and
   HEAD), and a session may always log itself out (ROUTE_SELF); managing
   tokens (ROUTE_ADMIN) needs an admin even to read. 0 when allowed, else
   MW_EREPLIED after a 403. */
static int
authorize(struct req *r, const struct route *rt, const char *method)
{
	char who[STORE_TOKEN_NAME_MAX + 64];
	describe_caller(r, who, sizeof who);
	if (r->cred == REQ_CRED_METRICS && !metrics_token_path(r->path)) {
		http_reply_error(r, 403, "forbidden",
		    "%s opens only GET /metrics and GET /api/prometheus/sd, not %s %s", who, r->method, r->path);
		return MW_EREPLIED;
	}
	if (r->role == ROLE_ADMIN)
		return 0;
	int self = (rt->flags & ROUTE_SELF) && r->cred == REQ_CRED_SESSION;
	if (strcmp(method, "GET") != 0 && !self) {
		http_reply_error(r, 403, "forbidden", "%s is read-only (role \"read\"): only GET and HEAD are allowed, not %s %s",
		    who, r->method, r->path);
		return MW_EREPLIED;
	}
	if (rt->flags & ROUTE_ADMIN) {
		http_reply_error(r, 403, "forbidden", "%s is read-only (role \"read\"): %s %s needs the admin role", who,
		    r->method, r->path);
		return MW_EREPLIED;
	}
	return 0;
}

/* Host without a trailing ":443", the port a browser leaves out of both
   Host and Origin when it is the default. */
static size_t
host_len(const char *h)
{
	size_t n = strlen(h);
	return n > 4 && strcmp(h + n - 4, ":443") == 0 ? n - 4 : n;
}

/* 1 when origin is this node as the browser reached it: "https://" + Host. */
static int
same_origin(const char *origin, const char *host)
{
	if (host == NULL || strncasecmp(origin, "https://", 8) != 0)
		return 0;
	origin += 8;
	size_t ol = host_len(origin), hl = host_len(host);
	return ol == hl && hl > 0 && strncasecmp(origin, host, hl) == 0;
}

static int
is_json_type(const char *ct)
{
	if (strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

/* Cross-site request forgery, beyond the SameSite=Strict cookie: a state
   change (POST, PUT, PATCH, DELETE) that a browser could send must come
   from this node's own pages. An Origin other than this node's, or a
   Sec-Fetch-Site of cross-site or same-site, is refused (403); a body must
   be JSON (415), which a plain HTML form cannot send. A request with an
   Authorization: Bearer header is a script, not a browser (a page elsewhere
   cannot add that header without a CORS preflight, which this node never
   grants), so its Content-Type is not checked: curl -d keeps working. The
   signed mesh endpoints (RAW) are machine to machine and not checked.
   0 when the request may go on, MW_EREPLIED after replying. */
static int
check_forgery(struct req *r, const struct route *rt, const char *method)
{
	if ((rt->flags & ROUTE_RAW) || !(strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	                            strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0))
		return 0;
	const char *site = mg_get_header(r->conn, "Sec-Fetch-Site");
	if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
		http_reply_error(r, 403, "cross_site_request",
		    "%s %s from another site (Sec-Fetch-Site: %.32s) is refused: changes must come from this node's own pages",
		    r->method, r->path, site);
		return MW_EREPLIED;
	}
	const char *origin = mg_get_header(r->conn, "Origin");
	const char *host = mg_get_header(r->conn, "Host");
	if (origin && !same_origin(origin, host)) {
		http_reply_error(r, 403, "cross_site_request",
		    "%s %s from origin %.100s is refused: changes must come from this node's own pages (https://%.100s)",
		    r->method, r->path, origin, host ? host : "its address");
		return MW_EREPLIED;
	}
	const char *auth = mg_get_header(r->conn, "Authorization");
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
		return 0;
	const char *ct = mg_get_header(r->conn, "Content-Type");
	int has_body = r->ri->content_length > 0 ||
	               (r->ri->content_length < 0 && mg_get_header(r->conn, "Transfer-Encoding") != NULL);
	if ((ct && !is_json_type(ct)) || (ct == NULL && has_body)) {
		http_reply_error(r, 415, "unsupported_media_type",
		    "%s %s needs Content-Type: application/json (got %.64s); without a bearer token, request bodies must be JSON",
		    r->method, r->path, ct ? ct : "none");
		return MW_EREPLIED;
	}
	return 0;
}

/* Reads the body into a NUL-terminated buffer of at most max bytes.
   Returns the buffer, or NULL after replying 413 (or 400). */
static char *
read_body(struct req *r, int max, size_t *len)
{
	long long cl = r->ri->content_length;
	if (cl > max) {
		mg_close_after_response(r->conn);
		http_reply_error_headers(r, 413, "body_too_large", "Connection: close\r\n",
		    "request body of %lld bytes is larger than the limit of %d bytes (%s)", cl, max,
		    r->path && strcmp(r->path, "/report") == 0 ? "max_report_bytes" : "max_body_bytes");
		return NULL;
	}
	/* a declared length is read to the byte; a chunked body may grow to max */
	struct mw_buf b;
	mw_buf_init(&b, cl >= 0 ? (size_t)cl : (size_t)max);
	while (cl < 0 || mw_buf_len(&b) < (size_t)cl) {
		char *at;
		size_t room;
		int rc = mw_buf_space(&b, cl >= 0 ? (size_t)cl : 4096, &at, &room);
		if (rc == MW_ETOOBIG) {
			/* chunked and still coming: refuse without reading the rest */
			mw_buf_finish(&b);
			mg_close_after_response(r->conn);
			http_reply_error_headers(r, 413, "body_too_large", "Connection: close\r\n",
			    "request body is larger than the limit of %d bytes (%s)", max,
			    strcmp(r->path, "/report") == 0 ? "max_report_bytes" : "max_body_bytes");
			return NULL;
		}
		if (rc != 0) {
			mw_buf_finish(&b);
			http_reply_error(r, 500, "internal", "out of memory");
			return NULL;
		}
		int n = mg_read(r->conn, at, room);
		if (n <= 0)
			break;
		mw_buf_commit(&b, (size_t)n);
	}
	if (cl >= 0 && (long long)mw_buf_len(&b) != cl) {
		size_t used = mw_buf_len(&b);
		mw_buf_finish(&b);
		mg_close_after_response(r->conn);
		http_reply_error_headers(r, 400, "incomplete_body", "Connection: close\r\n",
		    "the connection ended after %zu of %lld body bytes", used, cl);
		return NULL;
	}
	char *body = mw_buf_take(&b, len);
	if (body == NULL)
		http_reply_error(r, 500, "internal", "out of memory");
	return body;
}

static int
handle(struct mg_connection *conn, void *cbdata)
{
	struct http_server *h = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct req r = {
		.conn = conn,
		.node = h->node,
		.ri = ri,
		.method = ri->request_method,
		.path = ri->local_uri ? ri->local_uri : "/",
		.id = -1,
	};
	snprintf(r.client, sizeof r.client, "%s", ri->remote_addr);
	const char *method = strcmp(r.method, "HEAD") == 0 ? "GET" : r.method;
	struct route_match m;
	router_find(method, r.path, &m);
	const struct route *rt = m.route;
	char *body = NULL;
	if (rt == NULL) {
		if (m.allow[0]) {
			char hdr[160];
			snprintf(hdr, sizeof hdr, "Allow: %s\r\n", m.allow);
			http_reply_error_headers(&r, 405, "method_not_allowed", hdr, "%s is not allowed on %s; use %s", r.method, r.path,
			    m.allow);
		} else {
			if (m.bad_kind)
				http_reply_error(&r, 404, "not_found", "no such endpoint: %s (\"%.*s\" is not %s)", r.path,
				    m.bad_len, m.bad_seg, m.bad_kind);
			else
				http_reply_error(&r, 404, "not_found", "no such endpoint: %s", r.path);
		}
		goto out;
	}
	r.id = m.id;
	memcpy(r.sid, m.sid, sizeof r.sid);
	if (check_forgery(&r, rt, method) != 0)
		goto out;
	if ((rt->flags & ROUTE_USER) && (authenticate(&r) != 0 || authorize(&r, rt, method) != 0))
		goto out;
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
		size_t len = 0;
		/* reports carry a whole mesh's view: their own, larger limit */
		int limit = (rt->flags & ROUTE_REPORT) ? h->node->cfg.max_report_bytes : h->node->cfg.max_body_bytes;
		body = read_body(&r, limit, &len);
		if (body == NULL)
			goto out;
		r.raw_body = body;
		r.raw_len = len;
		if (len > 0 && !(rt->flags & ROUTE_RAW)) {
			r.body = cJSON_ParseWithLength(body, len);
			if (r.body == NULL) {
				const char *at = cJSON_GetErrorPtr();
				long off = (at && at >= body && at <= body + len) ? (long)(at - body) : -1;
				http_reply_error(&r, 400, "invalid_json", "request body is not valid JSON (error near byte %ld)", off);
				goto out;
			}
		}
	}
	rt->fn(&r);
out:
	if (r.status == 0)
		http_reply_error(&r, 500, "internal", "the handler sent no response");
	metrics_count_request(h->node->metrics, m.label, r.status);
	log_debug("http", "%s %s %s -> %d", r.client, r.method, r.path, r.status);
	cJSON_Delete(r.body);
	free(body);
	return r.status;
}

/* civetweb's own errors (bad request line, headers too large, ...) get the
   same JSON shape as ours. */
static int
on_http_error(struct mg_connection *conn, int status, const char *msg)
{
	struct http_server *h = mg_get_user_data(mg_get_context(conn));
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct req r = {.conn = conn, .node = h->node, .ri = ri, .method = ri && ri->request_method ? ri->request_method : "GET"};
	if (strcmp(r.method, "HEAD") == 0)
		r.method = "GET";
	mg_close_after_response(conn);
	http_reply_error_headers(&r, status, status == 413 ? "headers_too_large" : "bad_request", "Connection: close\r\n", "%s",
	    msg && *msg ? msg : "the request could not be parsed");
	metrics_count_request(h->node->metrics, router_unmatched_label(), status);
	return 0;
}

/* civetweb's master thread closed a connection at accept: its address
   has max_conns_per_addr open. Counted always, logged at most every 10 s
   (a client hammering the port must not flood the log). */
static void
on_conn_refused(void *arg, const char *addr, int max)
{
	struct http_server *h = arg;
	metrics_count_conn_refused(h->node->metrics);
	int64_t now = mw_now_ms();
	if (h->refused_logged_ms != 0 && now - h->refused_logged_ms < 10000) {
		h->refused_unlogged++;
		return;
	}
	log_warn("http", "closed a connection from %s: it has %d open already (max_conns_per_addr); %llu more refused "
	    "since the last warning", addr, max, (unsigned long long)h->refused_unlogged);
	h->refused_logged_ms = now;
	h->refused_unlogged = 0;
}

static int
on_log(const struct mg_connection *conn, const char *message)
{
	log_warn("http", "%s", message);
	return 1;
}

struct http_server *
http_create(struct node *n, char *err, size_t errlen)
{
	struct http_server *h = calloc(1, sizeof *h);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->node = n;
	int nlabels;
	const char *const *labels = router_labels(&nlabels);
	n->metrics = metrics_create(labels, nlabels);
	if (n->metrics == NULL) {
		snprintf(err, errlen, "out of memory");
		http_destroy(h);
		return NULL;
	}
	h->ws = ws_create(n, err, errlen);
	if (h->ws == NULL) {
		http_destroy(h);
		return NULL;
	}
	return h;
}

int
http_start(struct http_server *h, char *err, size_t errlen)
{
	struct node *n = h->node;
	char ports[200], threads[16], req_to[16], ka_to[16], hdr_max[16], backlog[16];
	const char *a = n->cfg.listen_addr;
	if (strchr(a, ':'))
		snprintf(ports, sizeof ports, "[%s]:%ds", a, n->cfg.listen_port);
	else
		snprintf(ports, sizeof ports, "%s:%ds", a, n->cfg.listen_port);
	snprintf(threads, sizeof threads, "%d", n->cfg.http_threads);
	snprintf(req_to, sizeof req_to, "%d", n->cfg.request_timeout_ms);
	snprintf(ka_to, sizeof ka_to, "%d", n->cfg.request_timeout_ms);
	snprintf(hdr_max, sizeof hdr_max, "%d", HTTP_MAX_HEADER_BYTES);
	snprintf(backlog, sizeof backlog, "%d", HTTP_LISTEN_BACKLOG);
	const char *options[] = {
		"listening_ports", ports,
		"num_threads", threads,
		"request_timeout_ms", req_to,
		"keep_alive_timeout_ms", ka_to,
		"enable_keep_alive", "yes",
		"tcp_nodelay", "1",
		"max_request_size", hdr_max,
		"listen_backlog", backlog,
		"additional_header", "Strict-Transport-Security: max-age=31536000",
		NULL,
	};
	struct mg_callbacks cb = {0};
	cb.http_error = on_http_error;
	cb.log_message = on_log;
	tls_server_install(n->tls, n->cfg.handshake_timeout_ms, &n->stopping);
	/* No SO_LINGER: a close returns at once and the kernel delivers the
	   rest of the response however slowly the client reads (a zero
	   linger would reset the connection and cut it). */
	struct mg_conn_limits lim = {
		.max_per_addr = n->cfg.max_conns_per_addr,
		.ws_max_frame = WS_MAX_MESSAGE,
		.on_refused = on_conn_refused,
		.arg = h,
	};
	mg_set_conn_limits(&lim);
	struct mg_init_data init = {.callbacks = &cb, .user_data = h, .configuration_options = options};
	char cerr[256] = "";
	struct mg_error_data ed = {.text = cerr, .text_buffer_size = sizeof cerr};
	h->ctx = mg_start2(&init, &ed);
	if (h->ctx == NULL) {
		snprintf(err, errlen, "cannot serve HTTPS on %s: %s", n->cfg.listen, cerr[0] ? cerr : "unknown error");
		mg_set_conn_limits(NULL);
		return MW_EIO;
	}
	int rc = router_mount(h->ctx, h->ws, handle, h, err, errlen);
	if (rc != MW_OK)
		return rc;
	log_info("http", "serving HTTPS on %s with %d worker threads", n->cfg.listen, n->cfg.http_threads);
	return MW_OK;
}

void
http_stop(struct http_server *h)
{
	if (h == NULL)
		return;
	ws_stop(h->ws);
	if (h->ctx) {
		mg_stop(h->ctx);
		h->ctx = NULL;
		mg_set_conn_limits(NULL);
	}
}

void
http_destroy(struct http_server *h)
{
	if (h == NULL)
		return;
	http_stop(h);
	ws_destroy(h->ws);
	metrics_destroy(h->node->metrics);
	h->node->metrics = NULL;
	free(h);
}
