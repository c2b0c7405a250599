/* router: what the node serves at which path. The table of every route
   (method, path pattern, handler, authentication and body flags), the
   lookup that http.c's request handler calls, the route labels /metrics
   counts by, and the mounting of both the handler and the WebSocket on
   civetweb. A header of the api layer alone (http.c and router.c). */
#ifndef MESHWATCH_ROUTER_H
#define MESHWATCH_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h" /* MW_MUST_CHECK */

struct mg_connection;
struct mg_context;
struct node;
struct req;
struct ws_hub;

enum {
	ROUTE_PUBLIC = 0,
	ROUTE_USER = 1,   /* needs a session (cookie or bearer token) or an API token; a read-only
	                     one (role or scope "read") may only GET and HEAD */
	ROUTE_RAW = 2,    /* body not parsed and no forgery check: the handler checks its signature */
	ROUTE_REPORT = 4, /* body limit max_report_bytes (a whole mesh's view) instead of max_body_bytes */
	ROUTE_ADMIN = 8,  /* with ROUTE_USER: the admin role (user or token scope) even to read */
	ROUTE_SELF = 16,  /* with ROUTE_USER: a read-only session may call it whatever its method (logout) */
};

struct route {
	const char *method;
	const char *pattern; /* exact; "{id}" matches a positive integer, "{uuid}" a node id; trailing "*" a file name */
	int flags;           /* ROUTE_* */
	void (*fn)(struct req *);
};

/* What router_find found for a method and a path. */
struct route_match {
	const struct route *route; /* NULL: no route for this method (and path) */
	int label;                 /* the metrics label: the path's pattern, or "unmatched" */
	int64_t id;                /* the {id} in the path, or -1 */
	char sid[37];              /* the {uuid} in the path, or "" */
	char allow[128];           /* when route is NULL: the methods the path has ("" for none) */
	/* when no route has the path: one whose shape it has but for its id
	   segment ("/api/nodes/foo/history"), said in the 404 */
	const char *bad_kind;      /* what that route expects there, or NULL */
	const char *bad_seg;       /* the segment, bad_len bytes */
	int bad_len;
};

/* Looks up method (HEAD as GET already) and path. Any thread. */
void router_find(const char *method, const char *path, struct route_match *m);

/* The metrics labels, index = label; kept by reference. Any thread. */
const char *const *router_labels(int *n);
/* The label of requests that match no route. */
int router_unmatched_label(void);

/* Serves every path on ctx through handler(conn, cbdata) and /ws through
   the WebSocket hub ws, which it starts (ws.h). MW_OK, or an MW_E* code
   with a reason in err; the caller still owns the hub (ws_stop before
   mg_stop, ws_destroy after). */
int router_mount(struct mg_context *ctx, struct ws_hub *ws, int (*handler)(struct mg_connection *, void *),
    void *cbdata, char *err, size_t errlen) MW_MUST_CHECK;

#endif
