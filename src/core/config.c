/* config: builds a struct config from defaults, the JSON config file, the
   environment and the command line, in that order of increasing
   precedence. Every value is validated where it is read, and an error names
   where it came from (file and field, variable, or flag) and what was
   expected. Runs on the main thread only. */
#include "meshwatch/config.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/scan.h"
#include "meshwatch/util.h"

enum opt_type { OPT_STR, OPT_INT, OPT_PATH, OPT_DUR /* seconds, written 90, 90s, 60m, 2h or 1d */ };

struct opt {
	const char *key;   /* JSON key in node.json */
	const char *flag;  /* CLI flag without "--", or NULL */
	const char *env;   /* environment variable, or NULL */
	enum opt_type type;
	size_t offset;
	size_t size;       /* for strings */
	long min, max;     /* for integers */
	const char *def;
	int secret;
	const char *help;
};

#define S(field) OPT_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define P(field) OPT_PATH, offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define I(field) OPT_INT, offsetof(struct config, field), 0
#define D(field) OPT_DUR, offsetof(struct config, field), 0

static const struct opt opts[] = {
	{"listen", "listen", "MESHWATCH_LISTEN", S(listen), 0, 0, "0.0.0.0:8443", 0, "address and port to serve HTTPS on"},
	{"data_dir", "data-dir", "DATA_DIR", P(data_dir), 0, 0, "./data", 0, "directory for the database and node identity"},
	{"cert_dir", "cert-dir", "CERT_DIR", P(cert_dir), 0, 0, "", 0, "directory for key and certificate (default DATA_DIR/certs)"},
	{"seed_file", "seed", "MESHWATCH_SEED", P(seed_file), 0, 0, "", 0, "seed.json listing nodes to bootstrap from"},
	{"reporting_file", "reporting", "MESHWATCH_REPORTING", P(reporting_file), 0, 0, "", 0, "reporting.json naming reporting nodes (validated at start)"},
	{"alerts_file", "alerts", "MESHWATCH_ALERTS", P(alerts_file), 0, 0, "", 0, "alerts.json: notification channels and alert rules (validated at start)"},
	{"metrics_token_file", "metrics-token-file", "MESHWATCH_METRICS_TOKEN_FILE", P(metrics_token_file), 0, 0, "", 0, "a file holding one token (at least 20 characters) that Prometheus may send as a bearer token for GET /metrics and GET /api/prometheus/sd only"},
	{"name", "name", "MESHWATCH_NAME", S(name), 0, 0, "", 0, "this node's FQDN (default: host name)"},
	{"advertise", "advertise", "MESHWATCH_ADVERTISE", S(advertise), 0, 0, "", 0, "IP address peers should use (default: first interface address)"},
	{"poll_interval_s", "poll-interval", "MESHWATCH_POLL_INTERVAL", I(poll_interval_s), 1, 86400, "30", 0, "seconds between polls of each peer"},
	{"log_level", "log-level", "MESHWATCH_LOG_LEVEL", S(log_level), 0, 0, "info", 0, "error, warn, info or debug"},
	{"node_env", NULL, "NODE_ENV", S(node_env), 0, 0, "production", 0, "deployment label"},
	{"root_user", NULL, "ROOT_USER", S(root_user), 0, 0, "", 0, "administrator created or updated at start"},
	{"root_password", NULL, "ROOT_PASSWORD", S(root_password), 0, 0, "", 1, "password of root_user"},
	{"mesh_secret", NULL, "MESH_SECRET", S(mesh_secret), 0, 0, "", 1, "shared secret signing mesh requests (HMAC-SHA256)"},
	{"max_body_bytes", "max-body", "MESHWATCH_MAX_BODY_BYTES", I(max_body_bytes), 1024, 64 * 1024 * 1024, "1048576", 0, "largest request body accepted"},
	{"http_threads", "http-threads", "MESHWATCH_HTTP_THREADS", I(http_threads), 4, 1024, "96", 0, "HTTPS worker threads"},
	{"handshake_timeout_ms", NULL, "MESHWATCH_HANDSHAKE_TIMEOUT_MS", I(handshake_timeout_ms), 100, 120000, "5000", 0, "longest a TLS handshake may take"},
	{"max_conns_per_addr", NULL, "MESHWATCH_MAX_CONNS_PER_ADDR", I(max_conns_per_addr), 0, 100000, "32", 0, "most HTTPS connections one client address may hold open at once (more are closed at accept; 0: no limit)"},
	{"request_timeout_ms", NULL, "MESHWATCH_REQUEST_TIMEOUT_MS", I(request_timeout_ms), 100, 600000, "15000", 0, "longest wait for a request's headers, then for its body, and longest time to write one response"},
	{"cert_validity_days", NULL, "MESHWATCH_CERT_VALIDITY_DAYS", I(cert_validity_days), 1, 3650, "365", 0, "validity of generated certificates"},
	{"cert_renew_days", NULL, "MESHWATCH_CERT_RENEW_DAYS", I(cert_renew_days), 0, 3650, "30", 0, "renew when fewer days than this remain"},
	{"cert_extra_sans", NULL, "MESHWATCH_CERT_EXTRA_SANS", S(cert_extra_sans), 0, 0, "", 0, "more names or addresses for the certificate, comma-separated (it lists only the node name and its advertised address otherwise)"},
	{"cert_check_interval_s", NULL, "MESHWATCH_CERT_CHECK_INTERVAL", I(cert_check_interval_s), 1, 86400, "3600", 0, "how often the certificate is checked"},
	{"session_ttl_s", NULL, "MESHWATCH_SESSION_TTL", I(session_ttl_s), 60, 30 * 86400, "43200", 0, "lifetime of a login session"},
	{"session_purge_interval_s", NULL, "MESHWATCH_SESSION_PURGE_INTERVAL", I(session_purge_interval_s), 1, 86400, "300", 0, "how often expired sessions are purged"},
	{"login_attempts_per_min", NULL, "MESHWATCH_LOGIN_RATE", I(login_attempts_per_min), 1, 10000, "10", 0, "login attempts per client address per minute"},
	{"login_attempts_per_account_per_min", NULL, "MESHWATCH_LOGIN_ACCOUNT_RATE", I(login_attempts_per_account_per_min), 1, 10000, "10", 0, "login attempts per username per minute, from all addresses together"},
	{"max_users", NULL, "MESHWATCH_MAX_USERS", I(max_users), 1, 1000000, "1000", 0, "most users the node keeps"},
	{"max_peers", NULL, "MESHWATCH_MAX_PEERS", I(max_peers), 1, 100000, "4096", 0, "most peers the node keeps"},
	{"metrics_max_peers", NULL, "MESHWATCH_METRICS_MAX_PEERS", I(metrics_max_peers), 0, 5000, "1000", 0, "peers given series of their own on /metrics (13 each; the first by id; meshwatch_metrics_capped says when some are left out)"},
	{"metrics_max_targets", NULL, "MESHWATCH_METRICS_MAX_TARGETS", I(metrics_max_targets), 0, 5000, "1000", 0, "enabled targets given series of their own on /metrics (21 each; the first by id)"},
	{"metrics_max_cells", NULL, "MESHWATCH_METRICS_MAX_CELLS", I(metrics_max_cells), 0, 100000, "40000", 0, "cells of the mesh matrix on a reporting node's /metrics (4 series each; 40000 is 200 x 200 nodes)"},
	{"max_quarantined", NULL, "MESHWATCH_MAX_QUARANTINED", I(max_quarantined), 1, 100000, "256", 0, "peers heard of second-hand (or from a caller whose address is not the one it connects from) kept in quarantine at once, until this node's own poll reaches them; more are dropped"},
	{"new_peers_per_source", NULL, "MESHWATCH_NEW_PEERS_PER_SOURCE", I(new_peers_per_source), 1, 100000, "256", 0, "new peers one node's answers may name per poll interval; a node sending more is cut off (its lists ignored) for 10 intervals and logged"},
	{"quarantine_tries", NULL, "MESHWATCH_QUARANTINE_TRIES", I(quarantine_tries), 1, 100, "2", 0, "failed polls after which a quarantined peer (never reached by this node) is dropped"},
	{"reach_per_min", NULL, "MESHWATCH_REACH_PER_MIN", I(reach_per_min), 1, 60000, "60", 0, "indirect probes (/nodeinfo/reach) this node answers per minute, after a burst of up to 10; more get 429"},
	{"suspect_after", NULL, "MESHWATCH_SUSPECT_AFTER", I(suspect_after), 1, 100, "1", 0, "failed polls before a peer is suspect"},
	{"dead_after", NULL, "MESHWATCH_DEAD_AFTER", I(dead_after), 1, 1000, "3", 0, "failed polls before a peer is dead"},
	{"forget_after_s", NULL, "MESHWATCH_FORGET_AFTER", I(forget_after_s), 10, 90 * 86400, "86400", 0, "dead peers are forgotten after this long"},
	{"indirect_probes", NULL, "MESHWATCH_INDIRECT_PROBES", I(indirect_probes), 0, 16, "3", 0, "other nodes asked whether they reach a peer while its polls fail, before it is declared dead (0: off)"},
	{"dead_poll_every", NULL, "MESHWATCH_DEAD_POLL_EVERY", I(dead_poll_every), 1, 100, "4", 0, "dead peers are polled every Nth round"},
	{"poll_concurrency", NULL, "MESHWATCH_POLL_CONCURRENCY", I(poll_concurrency), 1, 256, "8", 0, "polls in flight at once"},
	{"overload_poll_concurrency", NULL, "MESHWATCH_OVERLOAD_POLL_CONCURRENCY", I(overload_poll_concurrency), 1, 256, "2", 0, "polls in flight at once while the machine is overloaded (overload_cpu_pressure): when the CPU is what limits, more buy no polls, only memory and latency"},
	{"overload_cpu_pressure", NULL, "MESHWATCH_OVERLOAD_CPU_PRESSURE", I(overload_cpu_pressure), 0, 100, "50", 0, "when CPU pressure (some avg10 of this node's cgroup cpu.pressure, else /proc/pressure/cpu outside a container) is at least this %, a peer whose polls time out is shown unknown (verdict withheld) instead of suspect or dead, for at most overload_excuse_max_s (0: off)"},
	{"overload_excuse_max_s", NULL, "MESHWATCH_OVERLOAD_EXCUSE_MAX_S", I(overload_excuse_max_s), 0, 86400, "0", 0, "longest a peer's verdict is withheld (state unknown) while the machine is overloaded; then its failed polls count as usual (0: dead_after poll intervals)"},
	{"first_contact_rate", NULL, "MESHWATCH_FIRST_CONTACT_RATE", I(first_contact_rate), 0, 60000, "30", 0, "first contacts (full TLS handshakes) a node starts per minute, after a burst of up to 10; polls of peers still waiting are deferred, not failed (0: no pacing)"},
	{"first_contact_growth", NULL, "MESHWATCH_FIRST_CONTACT_GROWTH", I(first_contact_growth), 0, 1, "1", 0, "1: first contacts may also go at one per peer already reached per poll interval, when that is more than first_contact_rate (a forming mesh meets everyone in about log2(N) intervals); 0: first_contact_rate only"},
	{"first_contacts", NULL, "MESHWATCH_FIRST_CONTACTS", I(first_contacts), 0, 256, "2", 0, "polls needing a full TLS handshake (no session yet) at once; 0: no limit"},
	{"poll_timeout_ms", NULL, "MESHWATCH_POLL_TIMEOUT_MS", I(poll_timeout_ms), 100, 60000, "5000", 0, "a poll taking longer fails as a timeout"},
	{"poll_budget", NULL, "MESHWATCH_POLL_BUDGET", I(poll_budget), 1, 1000000, "1000", 0, "most polls per interval; more peers rotate across intervals"},
	{"pmtu_interval_s", NULL, "MESHWATCH_PMTU_INTERVAL", I(pmtu_interval_s), 10, 7 * 86400, "3600", 0, "path MTU is measured again this often"},
	{"udp_probes", NULL, "MESHWATCH_UDP_PROBES", I(udp_probes), 0, 100, "3", 0, "UDP probes (beats) per poll: RTT, jitter, loss and, between HTTPS exchanges, liveness (0: no UDP, every poll an HTTPS exchange)"},
	{"exchange_every", NULL, "MESHWATCH_EXCHANGE_EVERY", I(exchange_every), 1, 1000, "10", 0, "an HTTPS exchange (identity, peer lists, mesh targets) with each peer at least every this many polls; between them, beats answered with an unchanged state digest stand for the poll (1: every poll is an exchange)"},
	{"udp_probe_spacing_ms", NULL, "MESHWATCH_UDP_PROBE_SPACING_MS", I(udp_probe_spacing_ms), 0, 1000, "0", 0, "ms between the UDP probes of a poll (0: back to back, one wake-up per burst)"},
	{"db_max_bytes", NULL, "MESHWATCH_DB_MAX_BYTES", I(db_max_bytes), 1048576, 2000000000, "10485760", 0, "database size cap; oldest history goes first"},
	{"events_max_rows", NULL, "MESHWATCH_EVENTS_MAX_ROWS", I(events_max_rows), 100, 100000000, "100000", 0, "events kept in the database (the newest; older ones also go with retention_days and the size cap)"},
	{"retention_days", NULL, "MESHWATCH_RETENTION_DAYS", I(retention_days), 1, 3650, "30", 0, "poll history kept (raw for 24 h, then 5-minute buckets)"},
	{"report_interval_s", NULL, "MESHWATCH_REPORT_INTERVAL", I(report_interval_s), 1, 86400, "60", 0, "a snapshot goes to the reporting nodes this often"},
	{"max_outbox", NULL, "MESHWATCH_MAX_OUTBOX", I(max_outbox), 1, 10000000, "10080", 0, "snapshots kept for reporting nodes that are down (a week at 60 s)"},
	{"max_report_bytes", NULL, "MESHWATCH_MAX_REPORT_BYTES", I(max_report_bytes), 1024, 67108864, "4194304", 0, "largest POST /report accepted"},
	{"nodeinfo_page_peers", NULL, "MESHWATCH_NODEINFO_PAGE_PEERS", I(nodeinfo_page_peers), 1, 65536, "256", 0, "most peers in one /nodeinfo answer; a caller gets the rest from its cursor in later exchanges"},
	{"max_origins", NULL, "MESHWATCH_MAX_ORIGINS", I(max_origins), 1, 100000, "1024", 0, "reporting origins kept; a new one past it replaces the stalest stale origin, or gets 507"},
	{"max_nodeinfo_bytes", NULL, "MESHWATCH_MAX_NODEINFO_BYTES", I(max_nodeinfo_bytes), 1024, 67108864, "4194304", 0, "largest /nodeinfo answer accepted from a peer"},
	{"iface", "iface", "MESHWATCH_IFACE", S(capture_iface), 0, 0, "", 0, "capture traffic on this interface (\"any\": all of them); capture is off without iface or pcap"},
	{"bpf", "bpf", "MESHWATCH_BPF", S(capture_bpf), 0, 0, CONFIG_DEFAULT_BPF, 0, "BPF filter for captured traffic (the default keeps IP untagged, 802.1Q-tagged and QinQ)"},
	{"snaplen", "snaplen", "MESHWATCH_SNAPLEN", I(capture_snaplen), 64, 65535, "160", 0, "bytes captured of each frame (headers are enough)"},
	{"retention", "retention", "MESHWATCH_RETENTION", D(capture_retention_s), 60, 86400, "60m", 0, "per-second traffic counters kept in memory (60m, 2h, ...); older traffic is kept per minute in the database"},
	{"capture_buffer_bytes", "capture-buffer", "MESHWATCH_CAPTURE_BUFFER", I(capture_buffer_bytes), 1048576, 1073741824, "33554432", 0, "kernel buffer for captured frames"},
	{"pcap", "pcap", "MESHWATCH_PCAP", P(capture_pcap), 0, 0, "", 0, "read this capture file as fast as possible (packet times from the file) instead of an interface, then keep serving the results"},
	{"max_flows", "max-flows", "MESHWATCH_MAX_FLOWS", I(capture_max_flows), 16, 16777216, "262144", 0, "flows tracked at once; past it the least recently seen give way"},
	{"pcap_ring_bytes", "pcap-ring-bytes", "MESHWATCH_PCAP_RING_BYTES", I(pcap_ring_bytes), 0, PCAP_RING_MAX, "4194304", 0, "the most recent captured packets kept in memory for GET /api/capture/pcap (0: off, else at least 1048576)"},
	{"ipfix_collector", "ipfix-collector", "MESHWATCH_IPFIX_COLLECTOR", S(ipfix_collector), 0, 0, "", 0, "send finished flows as IPFIX (RFC 7011) over UDP to this HOST:PORT or [IPV6]:PORT (one record per direction); off when empty"},
	{"pbkdf2_iterations", NULL, "MESHWATCH_PBKDF2_ITERATIONS", I(pbkdf2_iterations), 100000, 10000000, "120000", 0, "PBKDF2-HMAC-SHA256 iterations for new password hashes"},
	/* the prober: event loop and name lookups */
	{"resolver_threads", NULL, "MESHWATCH_RESOLVER_THREADS", I(resolver_threads), 1, RESOLVER_MAX_THREADS, "2", 0, "threads resolving host names for checks and scans"},
	{"dns_cache_ttl_s", NULL, "MESHWATCH_DNS_CACHE_TTL", I(dns_cache_ttl_s), 1, 86400, "60", 0, "how long a resolved name is reused"},
	/* TCP targets */
	{"max_targets", NULL, "MESHWATCH_MAX_TARGETS", I(max_targets), 1, 1000000, "10000", 0, "most TCP targets the node keeps"},
	{"max_checks_in_flight", NULL, "MESHWATCH_MAX_CHECKS_IN_FLIGHT", I(max_checks_in_flight), 1, 60000, "4096", 0, "TCP target checks connecting at once"},
	{"mesh_targets", NULL, "MESHWATCH_MESH_TARGETS", I(mesh_targets), 0, 1, "1", 0, "1: check the mesh targets other nodes publish (only with a mesh secret), as one of their vantage points"},
	{"mesh_targets_max", NULL, "MESHWATCH_MESH_TARGETS_MAX", I(mesh_targets_max), 0, 100000, "256", 0, "most copies of other nodes' mesh targets checked here (from all of them); past it new ones are declined"},

	/* traffic capture */

	/* discovery */
	{"scan_subnets", NULL, "MESHWATCH_SCAN_SUBNETS", S(scan_subnets), 0, 0, "", 0, "IPv4 subnets scans may cover, comma-separated (default: the directly connected ones)"},
	{"scan_ports", NULL, "MESHWATCH_SCAN_PORTS", S(scan_ports), 0, 0, "", 0, "ports added to the built-in list, e.g. 8000-8010,9999"},
	{"scan_max_hosts", NULL, "MESHWATCH_SCAN_MAX_HOSTS", I(scan_max_hosts), 1, 65536, "1024", 0, "most hosts one scan covers"},
	{"scan_max_ports", NULL, "MESHWATCH_SCAN_MAX_PORTS", I(scan_max_ports), 1, SCAN_PORTS_LIMIT, "1024", 0, "most ports one scan tries per host"},
	{"scan_concurrency", NULL, "MESHWATCH_SCAN_CONCURRENCY", I(scan_concurrency), 1, 4096, "256", 0, "scan connects in flight at once"},
	{"scan_timeout_ms", NULL, "MESHWATCH_SCAN_TIMEOUT_MS", I(scan_timeout_ms), 50, 30000, "1000", 0, "a port that does not answer in this time is filtered"},
	{"scan_retries", NULL, "MESHWATCH_SCAN_RETRIES", I(scan_retries), 0, 5, "1", 0, "retries of a port that did not answer (never of a refused one)"},
	{"scan_banner_ms", NULL, "MESHWATCH_SCAN_BANNER_MS", I(scan_banner_ms), 50, 10000, "800", 0, "wait for a service to speak first (HTTP answers get twice this)"},
	{"scan_host_window", NULL, "MESHWATCH_SCAN_HOST_WINDOW", I(scan_host_window), 1, 1024, "64", 0, "distinct hosts probed at once (keeps the neighbour table small)"},
	{"scan_queue_max", NULL, "MESHWATCH_SCAN_QUEUE_MAX", I(scan_queue_max), 1, SCAN_QUEUE_MAX, "8", 0, "scans waiting in the queue"},
	{"scan_interval_s", NULL, "MESHWATCH_SCAN_INTERVAL", I(scan_interval_s), 0, 30 * 86400, "0", 0, "a scheduled scan of the allowed subnets this often (0 = off)"},
	{"scan_rdns", NULL, "MESHWATCH_SCAN_RDNS", I(scan_rdns), 0, 1, "1", 0, "1: look host names up by reverse DNS"},
	{"scan_rdns_timeout_ms", NULL, "MESHWATCH_SCAN_RDNS_TIMEOUT_MS", I(scan_rdns_timeout_ms), 100, 60000, "2000", 0, "longest wait for the reverse lookups of one scan"},
	{"scan_keep", NULL, "MESHWATCH_SCAN_KEEP", I(scan_keep), 1, 10000, "100", 0, "finished scans kept (with their per-port results)"},
	{"remote_scans", NULL, "MESHWATCH_REMOTE_SCANS", I(remote_scans), 0, 1, "1", 0, "true (1): alive members of the mesh may ask this node to scan its allowed subnets (needs mesh_secret; its own limits apply); false (0): they get 403"},
	{"remote_scan_lost_s", NULL, "MESHWATCH_REMOTE_SCAN_LOST", D(remote_scan_lost_s), 5, 86400, "120s", 0, "a scan this node asked another node to run fails when that node cannot be reached for this long (90s, 5m, ...)"},
	{"discovery_max_hosts", NULL, "MESHWATCH_DISCOVERY_MAX_HOSTS", I(discovery_max_hosts), 1, 1000000, "10000", 0, "most discovered hosts kept (least recently seen go first)"},
	{"discovery_max_changes", NULL, "MESHWATCH_DISCOVERY_MAX_CHANGES", I(discovery_max_changes), 1, 10000000, "10000", 0, "most host and port changes kept"},
	{"services_file", NULL, "MESHWATCH_SERVICES_FILE", P(services_file), 0, 0, "", 0, "JSON service definitions replacing or adding to the built-in ones"},
	{"oui_file", NULL, "MESHWATCH_OUI_FILE", P(oui_file), 0, 0, "/usr/share/ieee-data/oui.txt", 0, "IEEE MAC vendor registry (Debian package ieee-data)"},
	{"docker_socket", NULL, "MESHWATCH_DOCKER_SOCKET", P(docker_socket), 0, 0, "/var/run/docker.sock", 0, "container engine API socket; containers appear as hosts when readable"},

};

static int parse_listen_into(const char *s, char *addr, size_t addrlen, int *port);

/* Field checks that need only the value, run where the source is known so
   the message can name it. NULL when fine, else what was expected. */
static const char *
check_field(const char *key, const char *val)
{
	unsigned char tmp[16];
	char addr[128];
	int port;
	if (strcmp(key, "listen") == 0 && parse_listen_into(val, addr, sizeof addr, &port) != 0)
		return "IPV4:PORT or [IPV6]:PORT with a numeric address and a port from 1 to 65535";
	if (strcmp(key, "ipfix_collector") == 0 && val[0] &&
	    config_split_hostport(val, addr, sizeof addr, &port) != 0)
		return "HOST:PORT or [IPV6]:PORT with a port from 1 to 65535 (an IPFIX collector such as nfcapd)";
	if (strcmp(key, "log_level") == 0 && log_parse_level(val) < 0)
		return "error, warn, info or debug";
	if (strcmp(key, "advertise") == 0 && val[0] && inet_pton(AF_INET, val, tmp) != 1 &&
	    inet_pton(AF_INET6, val, tmp) != 1)
		return "an IPv4 or IPv6 address";
	if (strcmp(key, "cert_extra_sans") == 0 && val[0]) {
		char one[MW_NAME_MAX];
		const char *q = val;
		while (*q) {
			size_t len = strcspn(q, ", ");
			if (len >= sizeof one)
				return "names of at most 253 characters, comma-separated";
			memcpy(one, q, len);
			one[len] = '\0';
			if (len && !mw_valid_san(one))
				return "DNS names or IP addresses, comma-separated";
			q += len;
			q += strspn(q, ", ");
		}
	}
	if (strcmp(key, "scan_subnets") == 0 && val[0]) {
		static char why[256];
		struct scan_net nets[SCAN_MAX_NETS];
		if (scan_parse_net_list(val, nets, SCAN_MAX_NETS, why, sizeof why) < 0)
			return why;
	}
	if (strcmp(key, "scan_ports") == 0 && val[0]) {
		static char why[256];
		uint16_t ports[SCAN_PORTS_LIMIT];
		if (scan_parse_port_list(val, ports, SCAN_PORTS_LIMIT, why, sizeof why) < 0)
			return why;
	}
	if (strcmp(key, "name") == 0) {
		if (strlen(val) > 253)
			return "a host name of at most 253 characters";
		for (const char *c = val; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
			        *c == '-' || *c == '_'))
				return "a host name (letters, digits, '.', '-', '_')";
	}
	return NULL;
}

static int
set_value(struct config *cfg, const struct opt *o, const char *val, const char *src, char *err, size_t errlen)
{
	char *field = (char *)cfg + o->offset;
	const char *want = check_field(o->key, val);
	if (want) {
		snprintf(err, errlen, "%s: \"%s\" must be %s, got \"%s\"", src, o->key, want, val);
		return MW_EINVAL;
	}
	if (o->type == OPT_DUR) {
		int64_t v;
		if (mw_parse_duration(val, o->min, o->max, &v) != 0) {
			snprintf(err, errlen, "%s: \"%s\" must be a duration from %lds to %lds like 90s, 60m or 2h, got \"%s\"",
			    src, o->key, o->min, o->max, val);
			return MW_EINVAL;
		}
		*(int *)(void *)field = (int)v;
		return 0;
	}
	if (o->type == OPT_INT && o->min == 0 && o->max == 1 && (strcmp(val, "true") == 0 || strcmp(val, "false") == 0))
		val = val[0] == 't' ? "1" : "0";
	if (o->type == OPT_INT) {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0' || v > o->max || v < o->min) {
			snprintf(err, errlen, "%s: \"%s\" must be an integer from %ld to %ld, got \"%s\"", src, o->key,
			    o->min, o->max, val);
			return MW_EINVAL;
		}
		*(int *)(void *)field = (int)v;
		return 0;
	}
	if (strlen(val) >= o->size) {
		snprintf(err, errlen, "%s: \"%s\" is longer than %zu characters", src, o->key, o->size - 1);
		return MW_EINVAL;
	}
	memcpy(field, val, strlen(val) + 1);
	return 0;
}

static int
load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	int rc = MW_EINVAL, ferr = 0;
	size_t len = 0;
	char *text = mw_read_file(path, CONFIG_FILE_MAX, &len, &ferr);
	cJSON *root = NULL;
	if (text == NULL) {
		if (ferr == MW_ETOOBIG)
			snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		else
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return MW_EINVAL;
	}
	root = cJSON_ParseWithLength(text, len);
	if (root == NULL || !cJSON_IsObject(root)) {
		snprintf(err, errlen, "%s: not a JSON object (check the syntax near byte %ld)", path,
		    root == NULL ? (long)(cJSON_GetErrorPtr() - text) : 0L);
		goto out;
	}
	char src[CONFIG_STR + 16];
	snprintf(src, sizeof src, "%s", path);
	for (cJSON *it = root->child; it != NULL; it = it->next) {
		const struct opt *o = NULL;
		for (size_t i = 0; i < MW_ARRAY_LEN(opts); i++)
			if (strcmp(opts[i].key, it->string) == 0)
				o = &opts[i];
		if (o == NULL) {
			snprintf(err, errlen, "%s: unknown field \"%s\" (see meshwatch --help for the fields)", path, it->string);
			goto out;
		}
		char buf[64];
		const char *val;
		if (o->type == OPT_DUR && cJSON_IsString(it)) {
			val = it->valuestring;
		} else if (o->type == OPT_INT && o->min == 0 && o->max == 1 && cJSON_IsBool(it)) {
			val = cJSON_IsTrue(it) ? "1" : "0"; /* an on/off setting: true and false read as 1 and 0 */
		} else if (o->type == OPT_INT || o->type == OPT_DUR) {
			if (!cJSON_IsNumber(it) || it->valuedouble < (double)o->min || it->valuedouble > (double)o->max ||
			    it->valuedouble != (double)(long)it->valuedouble) {
				snprintf(err, errlen, "%s: \"%s\" must be an integer from %ld to %ld", path, o->key, o->min, o->max);
				goto out;
			}
			snprintf(buf, sizeof buf, "%ld", (long)it->valuedouble);
			val = buf;
		} else {
			if (!cJSON_IsString(it)) {
				snprintf(err, errlen, "%s: \"%s\" must be a string", path, o->key);
				goto out;
			}
			val = it->valuestring;
		}
		if (set_value(cfg, o, val, src, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(text);
	return rc;
}

static const struct opt *
find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < MW_ARRAY_LEN(opts); i++)
		if (opts[i].flag && strlen(opts[i].flag) == len && strncmp(opts[i].flag, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* Splits "ADDR:PORT" / "[V6]:PORT" / ":PORT" / "PORT". 0 or MW_EINVAL. */
static int
parse_listen_into(const char *s, char *out, size_t outlen, int *portp)
{
	const char *colon;
	char addr[128] = "";
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		if ((size_t)(close - s - 1) >= sizeof addr)
			goto bad;
		memcpy(addr, s + 1, (size_t)(close - s - 1));
		addr[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			colon = s - 1; /* bare port */
			strcpy(addr, "0.0.0.0");
		} else {
			if ((size_t)(colon - s) >= sizeof addr)
				goto bad;
			memcpy(addr, s, (size_t)(colon - s));
			addr[colon - s] = '\0';
			if (addr[0] == '\0')
				strcpy(addr, "0.0.0.0");
		}
	}
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
		goto bad;
	unsigned char tmp[16];
	if (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1)
		goto bad;
	snprintf(out, outlen, "%s", addr);
	*portp = (int)port;
	return 0;
bad:
	return MW_EINVAL;
}

int
config_split_hostport(const char *s, char *host, size_t hostlen, int *portp)
{
	const char *colon, *h = s;
	size_t hl;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return MW_EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
		unsigned char tmp[16];
		char v6[64];
		if (hl == 0 || hl >= sizeof v6)
			return MW_EINVAL;
		memcpy(v6, h, hl);
		v6[hl] = '\0';
		if (inet_pton(AF_INET6, v6, tmp) != 1)
			return MW_EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return MW_EINVAL; /* no port, or an IPv6 address without brackets */
		hl = (size_t)(colon - s);
		for (size_t i = 0; i < hl; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
			        s[i] == '.' || s[i] == '-' || s[i] == '_'))
				return MW_EINVAL;
	}
	if (hl == 0 || hl >= hostlen || hl > 253)
		return MW_EINVAL;
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || colon[1] == '+' || colon[1] == '-' || port < 1 || port > 65535)
		return MW_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*portp = (int)port;
	return 0;
}

/* Reads the metrics token: the file's content less surrounding white
   space, METRICS_TOKEN_MIN to METRICS_TOKEN_MAX printable ASCII
   characters, no spaces inside. */
static int
load_metrics_token(struct config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->metrics_token_file;
	size_t len = 0;
	int ferr = 0;
	char *text = mw_read_file(path, METRICS_TOKEN_FILE_MAX, &len, &ferr);
	if (text == NULL) {
		snprintf(err, errlen, "metrics_token_file %s: %s", path,
		    ferr == MW_ETOOBIG ? "larger than 4096 bytes: it must hold one token" : strerror(errno));
		return MW_EINVAL;
	}
	size_t a = 0, b = len;
	while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r' || text[a] == '\n'))
		a++;
	while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r' || text[b - 1] == '\n'))
		b--;
	const char *why = NULL;
	if (b - a < METRICS_TOKEN_MIN)
		why = "the token is shorter than 20 characters (leading and trailing white space aside): use a long random one, "
		      "e.g. openssl rand -hex 32";
	else if (b - a > METRICS_TOKEN_MAX)
		why = "the token is longer than 256 characters";
	for (size_t i = a; why == NULL && i < b; i++)
		if ((unsigned char)text[i] <= ' ' || (unsigned char)text[i] >= 0x7f)
			why = "the token may contain only printable ASCII characters without spaces (one token, one line)";
	if (why == NULL) {
		memcpy(cfg->metrics_token, text + a, b - a);
		cfg->metrics_token[b - a] = '\0';
	}
	memset(text, 0, len);
	free(text);
	if (why) {
		snprintf(err, errlen, "metrics_token_file %s: %s", path, why);
		return MW_EINVAL;
	}
	return 0;
}

static int
validate(struct config *cfg, char *err, size_t errlen)
{
	/* listen, log_level, advertise and name were checked as they were set. */
	if (parse_listen_into(cfg->listen, cfg->listen_addr, sizeof cfg->listen_addr, &cfg->listen_port) != 0) {
		snprintf(err, errlen, "listen: \"%s\" is not IPV4:PORT or [IPV6]:PORT", cfg->listen);
		return MW_EINVAL;
	}
	if (cfg->data_dir[0] == '\0') {
		snprintf(err, errlen, "data_dir: must not be empty");
		return MW_EINVAL;
	}
	if (cfg->cert_dir[0] == '\0' &&
	    mw_snprintf(cfg->cert_dir, sizeof cfg->cert_dir, "%s/certs", cfg->data_dir) != 0) {
		snprintf(err, errlen, "data_dir: too long to derive cert_dir");
		return MW_EINVAL;
	}
	if (cfg->root_user[0] && cfg->root_password[0] == '\0') {
		snprintf(err, errlen, "ROOT_USER is set but ROOT_PASSWORD is empty: set both or neither");
		return MW_EINVAL;
	}
	if (cfg->capture_iface[0] && cfg->capture_pcap[0]) {
		snprintf(err, errlen, "iface (\"%s\") and pcap (\"%s\") are both set: capture from an interface or read a file, not both",
		    cfg->capture_iface, cfg->capture_pcap);
		return MW_EINVAL;
	}
	if (cfg->pcap_ring_bytes > 0 && cfg->pcap_ring_bytes < PCAP_RING_MIN) {
		snprintf(err, errlen, "pcap_ring_bytes (%d) must be 0 (off) or from %d to %d", cfg->pcap_ring_bytes,
		    PCAP_RING_MIN, PCAP_RING_MAX);
		return MW_EINVAL;
	}
	if (cfg->ipfix_collector[0]) {
		char host[256];
		int port, gai;
		if (config_split_hostport(cfg->ipfix_collector, host, sizeof host, &port) != 0) {
			snprintf(err, errlen, "ipfix_collector: \"%s\" is not HOST:PORT or [IPV6]:PORT", cfg->ipfix_collector);
			return MW_EINVAL;
		}
		char ports[8];
		snprintf(ports, sizeof ports, "%d", port);
		struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
		struct addrinfo *res = NULL;
		if ((gai = getaddrinfo(host, ports, &hints, &res)) != 0) {
			snprintf(err, errlen, "ipfix_collector: cannot resolve \"%s\": %s", host, gai_strerror(gai));
			return MW_EINVAL;
		}
		freeaddrinfo(res);
	}
	if (cfg->metrics_token_file[0] && load_metrics_token(cfg, err, errlen) != 0)
		return MW_EINVAL;
	if (cfg->cert_renew_days >= cfg->cert_validity_days) {
		snprintf(err, errlen, "cert_renew_days (%d) must be less than cert_validity_days (%d) (set in defaults, file, environment or flags)",
		    cfg->cert_renew_days, cfg->cert_validity_days);
		return MW_EINVAL;
	}
	return 0;
}

/* Applies everything above defaults. */
static int
layer(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	/* 1. the config file: --config wins over MESHWATCH_CONFIG */
	const char *file = getenv("MESHWATCH_CONFIG");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
	}
	if (file && *file) {
		if (strlen(file) >= sizeof cfg->config_file) {
			snprintf(err, errlen, "--config: path too long");
			return MW_EINVAL;
		}
		strcpy(cfg->config_file, file);
		if (load_file(cfg, file, err, errlen) != 0)
			return MW_EINVAL;
	}
	/* 2. environment */
	for (size_t i = 0; i < MW_ARRAY_LEN(opts); i++) {
		const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
		if (v == NULL || *v == '\0')
			continue;
		char src[96];
		snprintf(src, sizeof src, "environment variable %s", opts[i].env);
		if (set_value(cfg, &opts[i], v, src, err, errlen) != 0)
			return MW_EINVAL;
	}
	/* 3. command line */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--check-config") == 0) {
			cfg->check_config = 1;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			cfg->show_version = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cfg->show_help = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%s\" (flags start with --; see --help)", a);
			return MW_EINVAL;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const char *val;
		if (nlen == 6 && strncmp(name, "config", 6) == 0) {
			if (!eq)
				i++;
			continue;
		}
		const struct opt *o = find_flag(name, nlen);
		if (o == NULL) {
			snprintf(err, errlen, "unknown flag \"%.*s\" (see --help)", (int)(nlen + 2), a);
			return MW_EINVAL;
		}
		if (eq) {
			val = eq + 1;
		} else {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "flag --%s needs a value", o->flag);
				return MW_EINVAL;
			}
			val = argv[++i];
		}
		char src[96];
		snprintf(src, sizeof src, "flag --%s", o->flag);
		if (set_value(cfg, o, val, src, err, errlen) != 0)
			return MW_EINVAL;
	}
	if (argc > 1 && strcmp(argv[argc - 1], "--config") == 0) {
		snprintf(err, errlen, "flag --config needs a value");
		return MW_EINVAL;
	}
	return validate(cfg, err, errlen);
}

static void
defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	char src[] = "defaults";
	char err[256];
	for (size_t i = 0; i < MW_ARRAY_LEN(opts); i++)
		set_value(cfg, &opts[i], opts[i].def, src, err, sizeof err);
}

int
config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	defaults(cfg);
	return layer(cfg, argc, argv, err, errlen);
}

int
config_reload(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct config *fresh = malloc(sizeof *fresh);
	if (fresh == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ENOMEM;
	}
	int rc = config_load(fresh, argc, argv, err, errlen);
	if (rc == 0)
		*cfg = *fresh;
	free(fresh);
	return rc;
}

void
config_print(const struct config *cfg, FILE *out)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < MW_ARRAY_LEN(opts); i++) {
		const char *field = (const char *)cfg + opts[i].offset;
		if (opts[i].type == OPT_INT || opts[i].type == OPT_DUR)
			cJSON_AddNumberToObject(o, opts[i].key, *(const int *)(const void *)field);
		else if (opts[i].secret && field[0])
			cJSON_AddStringToObject(o, opts[i].key, "(set)");
		else
			cJSON_AddStringToObject(o, opts[i].key, field);
	}
	cJSON_AddStringToObject(o, "config_file", cfg->config_file);
	char *s = cJSON_Print(o);
	if (s) {
		fprintf(out, "%s\n", s);
		free(s);
	}
	cJSON_Delete(o);
}

void
config_usage(FILE *out)
{
	fprintf(out,
	    "usage: meshwatch [--config FILE] [flags]\n"
	    "\n"
	    "A peer-to-peer mesh monitoring node. Precedence: flags > environment >\n"
	    "config file (JSON object with the keys below) > defaults.\n"
	    "\n"
	    "  --config FILE            JSON config file (env MESHWATCH_CONFIG)\n"
	    "  --check-config           validate, print the effective config, exit\n"
	    "  --version                print the version and exit\n");
	for (size_t i = 0; i < MW_ARRAY_LEN(opts); i++) {
		const struct opt *o = &opts[i];
		char flag[48];
		if (o->flag)
			snprintf(flag, sizeof flag, "--%s %s", o->flag, o->type == OPT_INT ? "N" : o->type == OPT_DUR ? "DURATION" : "VALUE");
		else
			snprintf(flag, sizeof flag, "(no flag)");
		fprintf(out, "  %-24s %s\n      key \"%s\"%s%s, default \"%s\"\n", flag, o->help, o->key,
		    o->env ? ", env " : "", o->env ? o->env : "", o->def);
	}
}

/* seed.json and reporting.json */

static int
entry_from_json(const cJSON *e, const char *fqdn_key, const char *ip_key, struct seed_entry *out,
    const char *path, size_t idx, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!cJSON_IsObject(e)) {
		snprintf(err, errlen, "%s: entry %zu must be an object", path, idx);
		return MW_EINVAL;
	}
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, fqdn_key);
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(e, ip_key);
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(e, "port");
	if (f && !cJSON_IsNull(f)) {
		if (!cJSON_IsString(f) || strlen(f->valuestring) >= sizeof out->fqdn) {
			snprintf(err, errlen, "%s: entry %zu: \"%s\" must be a host name string", path, idx, fqdn_key);
			return MW_EINVAL;
		}
		strcpy(out->fqdn, f->valuestring);
	}
	if (ip && !cJSON_IsNull(ip)) {
		unsigned char tmp[16];
		if (!cJSON_IsString(ip) || strlen(ip->valuestring) >= sizeof out->ip ||
		    (inet_pton(AF_INET, ip->valuestring, tmp) != 1 && inet_pton(AF_INET6, ip->valuestring, tmp) != 1)) {
			snprintf(err, errlen, "%s: entry %zu: \"%s\" must be an IPv4 or IPv6 address", path, idx, ip_key);
			return MW_EINVAL;
		}
		strcpy(out->ip, ip->valuestring);
	}
	if (port && !cJSON_IsNull(port)) {
		if (!cJSON_IsNumber(port) || port->valuedouble < 1 || port->valuedouble > 65535 ||
		    port->valuedouble != (double)(int)port->valuedouble) {
			snprintf(err, errlen, "%s: entry %zu: \"port\" must be an integer from 1 to 65535", path, idx);
			return MW_EINVAL;
		}
		out->port = (int)port->valuedouble;
	}
	if (out->fqdn[0] == '\0' && out->ip[0] == '\0') {
		snprintf(err, errlen, "%s: entry %zu needs \"%s\" or \"%s\"", path, idx, fqdn_key, ip_key);
		return MW_EINVAL;
	}
	return 0;
}

static int
load_entries(const char *path, size_t max, struct seed_entry **out, char *err, size_t errlen, int reporting)
{
	int ferr = 0, rc = MW_EINVAL;
	size_t len;
	struct seed_entry *arr = NULL;
	*out = NULL;
	char *text = mw_read_file(path, CONFIG_FILE_MAX, &len, &ferr);
	if (text == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    ferr == MW_ETOOBIG ? "file too large" : strerror(errno));
		return ferr == MW_ETOOBIG ? MW_ETOOBIG : MW_EIO;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, reporting ? "servers" : "nodes");
	int single = 0;
	if (list == NULL && reporting) {
		list = root;
		single = 1;
	} else if (!cJSON_IsArray(list)) {
		snprintf(err, errlen, "%s: \"%s\" must be an array", path, reporting ? "servers" : "nodes");
		goto out;
	}
	size_t n = single ? 1 : (size_t)cJSON_GetArraySize(list);
	if (n > max) {
		snprintf(err, errlen, "%s: %zu entries, more than the limit of %zu", path, n, max);
		rc = MW_ETOOBIG;
		goto out;
	}
	arr = calloc(n ? n : 1, sizeof *arr);
	if (arr == NULL) {
		rc = MW_ENOMEM;
		goto out;
	}
	size_t i = 0;
	if (single) {
		if (entry_from_json(list, "server_fqdn", "server_ip", &arr[0], path, 0, err, errlen) != 0)
			goto out;
		i = 1;
	} else {
		const cJSON *e;
		cJSON_ArrayForEach(e, list) {
			const char *fk = reporting && cJSON_GetObjectItemCaseSensitive(e, "server_fqdn") ? "server_fqdn" : "fqdn";
			const char *ik = reporting && cJSON_GetObjectItemCaseSensitive(e, "server_ip") ? "server_ip" : "ip";
			if (entry_from_json(e, fk, ik, &arr[i], path, i, err, errlen) != 0)
				goto out;
			i++;
		}
	}
	*out = arr;
	arr = NULL;
	rc = (int)i;
out:
	free(arr);
	cJSON_Delete(root);
	free(text);
	return rc;
}

int
config_load_seeds(const char *path, size_t max, struct seed_entry **out, char *err, size_t errlen)
{
	return load_entries(path, max, out, err, errlen, 0);
}

int
config_load_reporting(const char *path, size_t max, struct seed_entry **out, char *err, size_t errlen)
{
	return load_entries(path, max, out, err, errlen, 1);
}
