/* api: request handlers, grouped by resource. router.c's table names
   each; http.c calls it after routing, authentication and body parsing;
   each sends exactly one reply. */
#ifndef MESHWATCH_API_H
#define MESHWATCH_API_H

struct req;

void api_health(struct req *r);
void api_nodeinfo(struct req *r);
void api_nodeinfo_reach(struct req *r);
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
void api_tokens_list(struct req *r);
void api_tokens_create(struct req *r);
void api_tokens_get(struct req *r);
void api_tokens_delete(struct req *r);
void api_nodes_list(struct req *r);
void api_prometheus_sd(struct req *r);
void api_nodes_get(struct req *r);
void api_nodes_delete(struct req *r);
void api_nodes_history(struct req *r);
void api_nodes_pmtu(struct req *r);
void api_report(struct req *r);
void api_mesh_matrix(struct req *r);
void api_mesh_history(struct req *r);
/* the mesh inventory (api_inventory.c) */
void api_mesh_hosts(struct req *r);
void api_mesh_targets(struct req *r);
void api_mesh_traffic(struct req *r);
void api_mesh_changes(struct req *r);
void api_mesh_inventory(struct req *r);
void api_targets_list(struct req *r);
void api_targets_create(struct req *r);
void api_targets_get(struct req *r);
void api_targets_update(struct req *r);
void api_targets_delete(struct req *r);
void api_targets_history(struct req *r);
void api_targets_stats(struct req *r);
void api_traffic_flows(struct req *r);
void api_traffic_counters(struct req *r);
void api_traffic_stats(struct req *r);
void api_capture_pcap(struct req *r);
void api_scans_create(struct req *r);
void api_scans_defaults(struct req *r);
void api_scans_list(struct req *r);
void api_scans_get(struct req *r);
void api_scans_delete(struct req *r);
void api_scans_results(struct req *r);
/* the mesh side of remote scans (api_discovery.c) */
void api_mesh_scans_create(struct req *r);
void api_mesh_scans_get(struct req *r);
void api_mesh_scans_delete(struct req *r);
void api_hosts_list(struct req *r);
void api_hosts_get(struct req *r);
void api_hosts_delete(struct req *r);
void api_services_list(struct req *r);
void api_changes_list(struct req *r);
void api_events_list(struct req *r);

/* alerts (api_alerts.c) */
void api_alerts_list(struct req *r);
void api_alerts_get(struct req *r);
void api_alerts_ack(struct req *r);
void api_alerts_unack(struct req *r);
void api_alert_rules_list(struct req *r);
void api_alert_rules_create(struct req *r);
void api_alert_rules_update(struct req *r);
void api_alert_rules_delete(struct req *r);
void api_alert_silences_list(struct req *r);
void api_alert_silences_create(struct req *r);
void api_alert_silences_delete(struct req *r);
void api_alert_channels_list(struct req *r);
void api_alert_channels_test(struct req *r);

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
