/* router: the route table and its lookup, the metrics labels, and the
   mounting of the request handler and the WebSocket on civetweb. The
   table is constant; the labels are computed once (pthread_once), so
   every function here may run on any thread. */
#include "router.h"

#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/membership.h"
#include "meshwatch/util.h"
#include "meshwatch/ws.h"

static const struct route routes[] = {
	{"GET", "/health", ROUTE_PUBLIC, api_health},
	{"GET", "/nodeinfo", ROUTE_PUBLIC, api_nodeinfo},
	{"GET", "/nodeinfo/reach", ROUTE_PUBLIC, api_nodeinfo_reach},
	{"GET", "/", ROUTE_PUBLIC, api_root},
	{"GET", "/dashboard", ROUTE_PUBLIC, api_dashboard},
	{"GET", "/assets/*", ROUTE_PUBLIC, api_asset},
	{"POST", "/api/login", ROUTE_PUBLIC, api_login},
	{"POST", "/api/logout", ROUTE_USER | ROUTE_SELF, api_logout},
	{"GET", "/api/me", ROUTE_USER, api_me},
	{"GET", "/api/node", ROUTE_USER, api_node},
	{"GET", "/api/users", ROUTE_USER, api_users_list},
	{"POST", "/api/users", ROUTE_USER, api_users_create},
	{"GET", "/api/users/{id}", ROUTE_USER, api_users_get},
	{"PUT", "/api/users/{id}", ROUTE_USER, api_users_update},
	{"PATCH", "/api/users/{id}", ROUTE_USER, api_users_update},
	{"DELETE", "/api/users/{id}", ROUTE_USER, api_users_delete},
	{"GET", "/api/tokens", ROUTE_USER | ROUTE_ADMIN, api_tokens_list},
	{"POST", "/api/tokens", ROUTE_USER | ROUTE_ADMIN, api_tokens_create},
	{"GET", "/api/tokens/{id}", ROUTE_USER | ROUTE_ADMIN, api_tokens_get},
	{"DELETE", "/api/tokens/{id}", ROUTE_USER | ROUTE_ADMIN, api_tokens_delete},
	{"GET", "/metrics", ROUTE_USER, api_metrics},
	{"GET", "/api/prometheus/sd", ROUTE_USER, api_prometheus_sd},
	{"GET", "/api/nodes", ROUTE_USER, api_nodes_list},
	{"GET", "/api/nodes/{uuid}", ROUTE_USER, api_nodes_get},
	{"DELETE", "/api/nodes/{uuid}", ROUTE_USER, api_nodes_delete},
	{"GET", "/api/nodes/{uuid}/history", ROUTE_USER, api_nodes_history},
	{"GET", "/api/nodes/{uuid}/pmtu", ROUTE_USER, api_nodes_pmtu},
	{"POST", "/report", ROUTE_PUBLIC | ROUTE_RAW | ROUTE_REPORT, api_report},
	{"GET", "/api/mesh", ROUTE_USER, api_mesh_matrix},
	{"GET", "/api/mesh/history", ROUTE_USER, api_mesh_history},
	{"GET", "/api/mesh/hosts", ROUTE_USER, api_mesh_hosts},
	{"GET", "/api/mesh/targets", ROUTE_USER, api_mesh_targets},
	{"GET", "/api/mesh/traffic", ROUTE_USER, api_mesh_traffic},
	{"GET", "/api/mesh/changes", ROUTE_USER, api_mesh_changes},
	{"GET", "/api/mesh/inventory", ROUTE_USER, api_mesh_inventory},
	/* TCP targets */
	{"GET", "/api/targets", ROUTE_USER, api_targets_list},
	{"POST", "/api/targets", ROUTE_USER, api_targets_create},
	{"GET", "/api/targets/stats", ROUTE_USER, api_targets_stats},
	{"GET", "/api/targets/{id}", ROUTE_USER, api_targets_get},
	{"PUT", "/api/targets/{id}", ROUTE_USER, api_targets_update},
	{"PATCH", "/api/targets/{id}", ROUTE_USER, api_targets_update},
	{"DELETE", "/api/targets/{id}", ROUTE_USER, api_targets_delete},
	{"GET", "/api/targets/{id}/history", ROUTE_USER, api_targets_history},

	/* traffic */
	{"GET", "/api/flows", ROUTE_USER, api_traffic_flows},
	{"GET", "/api/counters", ROUTE_USER, api_traffic_counters},
	{"GET", "/api/stats", ROUTE_USER, api_traffic_stats},
	/* packet payloads: admins only, also to read */
	{"GET", "/api/capture/pcap", ROUTE_USER | ROUTE_ADMIN, api_capture_pcap},
	/* discovery */
	{"POST", "/api/scans", ROUTE_USER, api_scans_create},
	{"GET", "/api/scans", ROUTE_USER, api_scans_list},
	{"GET", "/api/scans/defaults", ROUTE_USER, api_scans_defaults},
	{"GET", "/api/scans/{id}", ROUTE_USER, api_scans_get},
	{"DELETE", "/api/scans/{id}", ROUTE_USER, api_scans_delete},
	{"GET", "/api/scans/{id}/results", ROUTE_USER, api_scans_results},
	{"POST", "/mesh/scans", ROUTE_PUBLIC | ROUTE_RAW, api_mesh_scans_create},
	{"GET", "/mesh/scans/{id}", ROUTE_PUBLIC | ROUTE_RAW, api_mesh_scans_get},
	{"DELETE", "/mesh/scans/{id}", ROUTE_PUBLIC | ROUTE_RAW, api_mesh_scans_delete},
	{"GET", "/api/hosts", ROUTE_USER, api_hosts_list},
	{"GET", "/api/hosts/*", ROUTE_USER, api_hosts_get},
	{"DELETE", "/api/hosts/*", ROUTE_USER, api_hosts_delete},
	{"GET", "/api/services", ROUTE_USER, api_services_list},
	{"GET", "/api/changes", ROUTE_USER, api_changes_list},
	{"GET", "/api/events", ROUTE_USER, api_events_list},
	/* alerts */
	{"GET", "/api/alerts", ROUTE_USER, api_alerts_list},
	{"GET", "/api/alerts/rules", ROUTE_USER, api_alert_rules_list},
	{"POST", "/api/alerts/rules", ROUTE_USER, api_alert_rules_create},
	{"PUT", "/api/alerts/rules/{id}", ROUTE_USER, api_alert_rules_update},
	{"PATCH", "/api/alerts/rules/{id}", ROUTE_USER, api_alert_rules_update},
	{"DELETE", "/api/alerts/rules/{id}", ROUTE_USER, api_alert_rules_delete},
	{"GET", "/api/alerts/silences", ROUTE_USER, api_alert_silences_list},
	{"POST", "/api/alerts/silences", ROUTE_USER, api_alert_silences_create},
	{"DELETE", "/api/alerts/silences/{id}", ROUTE_USER, api_alert_silences_delete},
	{"GET", "/api/alerts/channels", ROUTE_USER, api_alert_channels_list},
	{"POST", "/api/alerts/channels/{id}/test", ROUTE_USER, api_alert_channels_test},
	{"GET", "/api/alerts/{id}", ROUTE_USER, api_alerts_get},
	{"POST", "/api/alerts/{id}/ack", ROUTE_USER, api_alerts_ack},
	{"DELETE", "/api/alerts/{id}/ack", ROUTE_USER, api_alerts_unack},
};

/* Metric labels: one per distinct pattern, then "unmatched". */
static const char *route_labels[MW_ARRAY_LEN(routes) + 1];
static int nlabels;
static int route_label[MW_ARRAY_LEN(routes)];
static int unmatched_label;
static pthread_once_t labels_once = PTHREAD_ONCE_INIT;

static void
init_labels(void)
{
	nlabels = 0;
	for (size_t i = 0; i < MW_ARRAY_LEN(routes); i++) {
		int found = -1;
		for (int j = 0; j < nlabels; j++)
			if (strcmp(route_labels[j], routes[i].pattern) == 0)
				found = j;
		if (found < 0) {
			found = nlabels;
			route_labels[nlabels++] = routes[i].pattern;
		}
		route_label[i] = found;
	}
	unmatched_label = nlabels;
	route_labels[nlabels++] = "unmatched";
}

const char *const *
router_labels(int *n)
{
	pthread_once(&labels_once, init_labels);
	*n = nlabels;
	return route_labels;
}

int
router_unmatched_label(void)
{
	pthread_once(&labels_once, init_labels);
	return unmatched_label;
}

enum { NO_MATCH = 0, MATCH = 1, BAD_PARAM = -1 };

/* A path with a route's shape whose id segment is not an id. */
struct bad_param {
	const char *kind; /* what the route expects */
	const char *seg;  /* the segment in the path, len bytes */
	int len;
};

/* MATCH when path matches pattern; sets *id for "{id}" patterns and sid for
   "{uuid}" (a lowercase UUID). BAD_PARAM when path has the pattern's shape
   but its parameter segment is not such an id ("/api/nodes/foo/history"):
   bad then says which segment and what the pattern expects. */
static int
match(const char *pattern, const char *path, int64_t *id, char sid[37], struct bad_param *bad)
{
	size_t plen = strlen(pattern), len = strlen(path);
	if (plen > 0 && pattern[plen - 1] == '*') {
		const char *rest = path + plen - 1;
		return strncmp(pattern, path, plen - 1) == 0 && *rest && strchr(rest, '/') == NULL;
	}
	const char *b = strstr(pattern, "{uuid}");
	size_t tok = 6;
	if (b == NULL) {
		b = strstr(pattern, "{id}");
		tok = 4;
	}
	if (b == NULL)
		return strcmp(pattern, path) == 0;
	size_t pre = (size_t)(b - pattern), post = plen - pre - tok;
	if (len <= pre + post || strncmp(pattern, path, pre) != 0 || strcmp(path + len - post, b + tok) != 0)
		return NO_MATCH;
	const char *seg = path + pre;
	size_t n = len - pre - post;
	if (memchr(seg, '/', n) != NULL)
		return NO_MATCH;
	bad->seg = seg;
	bad->len = n < 64 ? (int)n : 64;
	if (tok == 6) {
		bad->kind = "a node id (a UUID)";
		if (n != 36)
			return BAD_PARAM;
		char tmp[37];
		memcpy(tmp, seg, 36);
		tmp[36] = '\0';
		if (!membership_valid_id(tmp))
			return BAD_PARAM;
		memcpy(sid, tmp, 37);
		return MATCH;
	}
	bad->kind = "an id (a positive integer)";
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (seg[i] < '0' || seg[i] > '9' || i >= 18)
			return BAD_PARAM;
		v = v * 10 + (seg[i] - '0');
	}
	if (v <= 0)
		return BAD_PARAM;
	*id = v;
	return MATCH;
}

void
router_find(const char *method, const char *path, struct route_match *m)
{
	pthread_once(&labels_once, init_labels);
	memset(m, 0, sizeof *m);
	m->id = -1;
	m->label = unmatched_label;
	for (size_t i = 0; i < MW_ARRAY_LEN(routes); i++) {
		int64_t id = -1;
		char sid[37] = "";
		struct bad_param b;
		int mr = match(routes[i].pattern, path, &id, sid, &b);
		if (mr == BAD_PARAM && m->bad_kind == NULL) {
			m->bad_kind = b.kind;
			m->bad_seg = b.seg;
			m->bad_len = b.len;
		}
		if (mr != MATCH)
			continue;
		m->label = route_label[i];
		if (strcmp(routes[i].method, method) == 0) {
			m->route = &routes[i];
			m->id = id;
			memcpy(m->sid, sid, sizeof sid);
			return;
		}
		if (strstr(m->allow, routes[i].method) == NULL) {
			size_t l = strlen(m->allow);
			snprintf(m->allow + l, sizeof m->allow - l, "%s%s", l ? ", " : "", routes[i].method);
		}
	}
}

static int
allow_all(struct mg_connection *conn, void *cbdata)
{
	return 1;
}

int
router_mount(struct mg_context *ctx, struct ws_hub *ws, int (*handler)(struct mg_connection *, void *), void *cbdata,
    char *err, size_t errlen)
{
	mg_set_request_handler(ctx, "**", handler, cbdata);
	/* Authentication is ours; without a handler civetweb looks for an
	   .htpasswd file on every request. */
	mg_set_auth_handler(ctx, "**", allow_all, NULL);
	return ws_start(ws, ctx, err, errlen);
}
