/* Configuration: defaults < config file (node.json) < environment < CLI.
   A struct config is plain data; the main thread owns the live copy and
   replaces it whole on SIGHUP. */
#ifndef MESHWATCH_CONFIG_H
#define MESHWATCH_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "meshwatch/limits.h" /* CONFIG_STR */
#include "meshwatch/util.h"

struct config {
	char config_file[CONFIG_STR];
	char listen[CONFIG_STR];     /* "ADDR:PORT" or "[V6]:PORT" */
	char listen_addr[128];       /* derived from listen */
	int listen_port;             /* derived from listen */
	char data_dir[CONFIG_STR];
	char cert_dir[CONFIG_STR];   /* default: <data_dir>/certs */
	char seed_file[CONFIG_STR];
	char reporting_file[CONFIG_STR];
	char alerts_file[CONFIG_STR];
	char metrics_token_file[CONFIG_STR];
	/* its token, read and checked by config_load (trimmed; "" when no
	   file): a secret, never printed */
	char metrics_token[METRICS_TOKEN_MAX + 1];
	char name[256];              /* fqdn; default: the host name */
	char advertise[128];         /* advertised IP; default: first interface */
	int poll_interval_s;
	char log_level[16];
	char node_env[32];
	char root_user[128];
	char root_password[256];
	char mesh_secret[256];
	int max_body_bytes;
	int http_threads;
	int handshake_timeout_ms;
	int max_conns_per_addr;      /* 0: no limit */
	int request_timeout_ms;
	int cert_validity_days;
	int cert_renew_days;
	int cert_check_interval_s;
	char cert_extra_sans[512];   /* names/addresses the certificate lists besides name and advertise */
	int session_ttl_s;
	int session_purge_interval_s;
	int login_attempts_per_min;
	int login_attempts_per_account_per_min;
	int max_users;
	int pbkdf2_iterations;
	int max_peers;
	int metrics_max_peers;
	int metrics_max_targets;
	int metrics_max_cells;
	int max_quarantined;
	int new_peers_per_source;
	int quarantine_tries;
	int reach_per_min;
	int suspect_after;
	int dead_after;
	int indirect_probes;
	int first_contacts;
	int first_contact_rate;
	int first_contact_growth;    /* 1: the pace also grows with the peers reached */
	int overload_cpu_pressure;
	int overload_excuse_max_s;
	int forget_after_s;
	int dead_poll_every;
	int poll_concurrency;
	int overload_poll_concurrency;
	int poll_timeout_ms;
	int poll_budget;
	int pmtu_interval_s;
	int udp_probes;
	int udp_probe_spacing_ms;
	int exchange_every;          /* an HTTPS exchange at least every this many polls of a peer */
	int db_max_bytes;
	int events_max_rows;
	int retention_days;
	int max_nodeinfo_bytes;
	int nodeinfo_page_peers;     /* most peers in one /nodeinfo answer */
	int report_interval_s;
	int max_outbox;
	int max_report_bytes;
	int max_origins;
	int resolver_threads;
	int dns_cache_ttl_s;
	int max_targets;
	int max_checks_in_flight;
	int mesh_targets;       /* 1: check other nodes' mesh targets from here */
	int mesh_targets_max;   /* copies of other nodes' mesh targets kept */
	/* traffic capture (off unless capture_iface or capture_pcap is set) */
	char capture_iface[64];
/* IP and IPv6, untagged, behind one 802.1Q/802.1ad tag, or two (QinQ):
   each "vlan" moves the filter's offsets past one tag, and libpcap checks
   the tag the Linux kernel took out of the frame (VLAN offload) as well. */
#define CONFIG_DEFAULT_BPF "ip or ip6 or (vlan and (ip or ip6 or (vlan and (ip or ip6))))"
	char capture_bpf[CONFIG_STR];
	int capture_snaplen;
	int capture_retention_s;
	int capture_buffer_bytes;
	char capture_pcap[CONFIG_STR];
	int capture_max_flows;
	int pcap_ring_bytes;            /* recent-packet ring for GET /api/capture/pcap; 0 = off */
	char ipfix_collector[CONFIG_STR]; /* "host:port" or "[v6]:port"; "" = no IPFIX export */
	/* discovery */
	char scan_subnets[CONFIG_STR];   /* allowed subnets, "a/b,c/d"; "" = connected ones */
	char scan_ports[CONFIG_STR];     /* ports added to the built-in list */
	int scan_max_hosts;
	int scan_max_ports;
	int scan_concurrency;
	int scan_timeout_ms;
	int scan_retries;
	int scan_banner_ms;
	int scan_host_window;
	int scan_queue_max;
	int scan_interval_s;
	int scan_rdns;
	int scan_rdns_timeout_ms;
	int scan_keep;
	int remote_scans;                /* 1: members of the mesh may ask this node to scan (POST /mesh/scans) */
	int remote_scan_lost_s;          /* a remote scan whose node cannot be reached this long fails */
	int discovery_max_hosts;
	int discovery_max_changes;
	char services_file[CONFIG_STR];
	char oui_file[CONFIG_STR];
	char docker_socket[CONFIG_STR];

	/* actions */
	int check_config;
	int show_version;
	int show_help;
};

/* Fills cfg from defaults, the config file (--config or MESHWATCH_CONFIG),
   the environment and argv. On error returns MW_EINVAL and writes a message
   naming the source (file, variable or flag), the field and what was
   expected into err. Does not touch the file system beyond reading the
   config file. */
int config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen) MW_MUST_CHECK;

/* Re-reads the config file on top of the current CLI and environment; on
   error leaves *cfg unchanged. Same contract as config_load. */
int config_reload(struct config *cfg, int argc, char **argv, char *err, size_t errlen) MW_MUST_CHECK;

/* Splits "HOST:PORT" (a host name or IPv4 address) or "[IPV6]:PORT" into
   host (without brackets) and a port from 1 to 65535. 0, or MW_EINVAL
   when s has neither shape. Resolves nothing. */
int config_split_hostport(const char *s, char *host, size_t hostlen, int *port) MW_MUST_CHECK;

/* Prints the effective configuration as JSON, secrets redacted. */
void config_print(const struct config *cfg, FILE *out);

/* Usage text for --help. */
void config_usage(FILE *out);

/* A seed entry as in seed.json: either fqdn or ip may be empty; port 0
   means the default port. */
struct seed_entry {
	char fqdn[256];
	char ip[64];
	int port;
};

/* Parses seed.json ({"nodes":[{"fqdn","ip","port"?}]}), at most max
   entries. Returns the count (>= 0) and a malloc'd array in *out, or
   MW_EINVAL/MW_EIO/MW_ETOOBIG with a message in err. */
int config_load_seeds(const char *path, size_t max, struct seed_entry **out, char *err, size_t errlen) MW_MUST_CHECK;

/* Parses reporting.json: {"server_fqdn","server_ip","port"?} or
   {"servers":[{...}]}. Same contract as config_load_seeds. */
int config_load_reporting(const char *path, size_t max, struct seed_entry **out, char *err, size_t errlen) MW_MUST_CHECK;

#endif
