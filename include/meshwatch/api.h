/* api: request handlers, grouped by resource. Each is called by http.c's
   router after routing, authentication and body parsing; each sends
   exactly one reply. */
#ifndef MESHWATCH_API_H
#define MESHWATCH_API_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct req;

void api_health(struct req *r);
void api_nodeinfo(struct req *r);
void api_root(struct req *r);
void api_dashboard(struct req *r);
void api_asset(struct req *r);
void api_metrics(struct req *r);
void api_node(struct req *r);
void api_login(struct req *r);
void api_logout(struct req *r);
void api_me(struct req *r);
void api_users_list(struct req *r);
void api_users_create(struct req *r);
void api_users_get(struct req *r);
void api_users_update(struct req *r);
void api_users_delete(struct req *r);
void api_nodes_list(struct req *r);
void api_nodes_get(struct req *r);
void api_nodes_delete(struct req *r);
void api_nodes_history(struct req *r);
void api_nodes_pmtu(struct req *r);
void api_report(struct req *r);
void api_mesh_matrix(struct req *r);
void api_mesh_history(struct req *r);
void api_scans_create(struct req *r);
void api_scans_list(struct req *r);
void api_scans_get(struct req *r);
void api_scans_delete(struct req *r);
void api_scans_results(struct req *r);
void api_hosts_list(struct req *r);
void api_hosts_get(struct req *r);
void api_services_list(struct req *r);
void api_changes_list(struct req *r);

/* Discovery JSON shared by the API, the WebSocket and reports (caller
   owns the result). */
struct scan_row;
struct disc_host;
struct disc_change;
cJSON *api_scan_json(const struct scan_row *s);
cJSON *api_host_json(const struct disc_host *h);
cJSON *api_change_json(const struct disc_change *c);

struct peer;
/* The JSON of one peer as /api/nodes shows it (caller owns the result). */
cJSON *api_peer_json(const struct peer *p, int64_t now);

/* Embedded dashboard files (generated at build time from web/). */
struct asset {
	const char *name;          /* "index.html", "app.js", ... */
	const char *content_type;
	const unsigned char *data;
	unsigned long len;
};
extern const struct asset mw_assets[];
extern const unsigned long mw_assets_count;

#endif
