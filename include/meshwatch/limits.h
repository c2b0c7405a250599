/* The fixed size and count limits of every layer (core, security, probe,
   capture, discovery, the mesh, reporting, alerts, the API and HTTP
   requests), in one table (curl's "buffer limits in one place"), each
   with what it bounds. Limits an operator may
   change are settings, not here: their defaults and ranges are in config.c
   (max_body_bytes and max_report_bytes bound request bodies, max_flows the
   flow table, max_peers the peer table, ...). Past a limit the code fails
   cleanly or drops, never grows; changing one here changes memory use. */
#ifndef MESHWATCH_LIMITS_H
#define MESHWATCH_LIMITS_H

/* ---- core ---- */

/* A DNS name is at most 253 characters: with its terminator, the size of
   a buffer for a name or address a certificate may list. */
#define MW_NAME_MAX 254
/* A path that mw_write_file_atomic and mw_mkdir_p handle, terminator included. */
#define MW_PATH_MAX 4096
/* One log line as written, time stamp and tag included; longer is cut. */
#define LOG_LINE_MAX 1024
/* The largest node.json read at start or reload. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* A string setting (paths, listen address, BPF filter), terminator included. */
#define CONFIG_STR 512
/* Subnets in one scan request or in scan_subnets. */
#define SCAN_MAX_NETS 64
/* Ports in one port list: the hard ceiling for scan_max_ports. */
#define SCAN_PORTS_LIMIT 4096
/* Top talkers kept for each second of traffic. */
#define ROLLUP_TOP_K 10
/* Minute rollups waiting for the database (a day of minutes); the oldest
   gives way past it. */
#define ROLLUP_PENDING_MAX 1440

/* ---- security ---- */

/* API tokens (POST /api/tokens) a node keeps, expired ones included until
   deleted; the next create gets 409 token_limit. */
#define TOKENS_MAX 256
/* A token's name in bytes (printable ASCII). */
#define TOKEN_NAME_MAX 64
/* A token's last_used_at is written at most this often (seconds): a
   script polling every second costs one write a minute, not one a
   request. */
#define TOKEN_TOUCH_S 60
/* The metrics token (metrics_token_file), trimmed: at least MIN bytes of
   printable ASCII, at most MAX; the file itself may be at most 4 KiB. */
#define METRICS_TOKEN_MIN 20
#define METRICS_TOKEN_MAX 256
#define METRICS_TOKEN_FILE_MAX 4096

/* Recipients of one e-mail alert. */
#define SMTP_MAX_RCPT 16
/* The body of one e-mail as given (UTF-8 text, before CRLF and
   dot-stuffing); a larger one is refused before connecting. */
#define SMTP_MAX_BODY (256 * 1024)
/* One line of the body, without its line end: RFC 5321's 1000 octets
   with CRLF. A longer line is refused (servers would cut or bounce it). */
#define SMTP_MAX_BODY_LINE 998
/* One reply line from a mail server, CRLF included. RFC 5321 allows 512;
   twice that for servers with long rejection texts. */
#define SMTP_MAX_REPLY_LINE 1024
/* Lines of one (multi-line) reply: an EHLO lists about 10 extensions. */
#define SMTP_MAX_REPLY_LINES 64
/* An address (local@domain): RFC 5321's 256-octet path less its brackets. */
#define SMTP_MAX_ADDR 254
/* The subject in bytes of UTF-8, before RFC 2047 encoding. */
#define SMTP_MAX_SUBJECT 512
/* The AUTH user name and the password, each in bytes. */
#define SMTP_MAX_CRED 256

/* ---- probe ---- */

/* Addresses kept of one resolved name. */
#define RESOLVER_MAX_ADDRS 4
/* The longest host name the resolver looks up. */
#define RESOLVER_MAX_HOST 253
/* Names in the resolver's cache, answered or pending; past it a lookup fails
   with EAI_AGAIN. */
#define RESOLVER_MAX_ENTRIES 8192
/* Callers waiting for pending lookups at once; past it EAI_AGAIN. */
#define RESOLVER_MAX_WAITERS 100000
/* Resolver threads: the hard ceiling for resolver_threads. */
#define RESOLVER_MAX_THREADS 16
/* Target check results held until the main thread stores them (about 3
   minutes of 1000 checks/s): their array, doubling from 1024, grows no
   further than this; a result that finds it full is dropped and counted. */
#define TARGETS_MAX_RESULTS 200000

/* ---- capture ---- */

/* Distinct addresses ranked for the top talkers of one second; more are
   left out of that second's ranking (and counted). */
#define CAPTURE_TALKERS_MAX 6144
/* 802.1Q/QinQ tags decoded in one frame; a frame with more is not IP. */
#define DECODE_MAX_VLAN_TAGS 4
/* IPv6 extension headers walked in one packet; more is a bad packet. */
#define DECODE_MAX_V6_EXT 8
/* The recent-packet ring (pcap_ring_bytes): its largest size, and its
   smallest when on (it must hold at least a few of the largest records). */
#define PCAP_RING_MAX (256 * 1024 * 1024)
#define PCAP_RING_MIN (1024 * 1024)
/* Bytes of one frame a ring record keeps (libpcap's own largest snaplen);
   a file's longer record is cut to it. */
#define PCAP_RING_RECORD_MAX 262144
/* GET /api/capture/pcap: the largest answer (max_bytes' default and
   ceiling), the longest live part (seconds), and downloads at once (more
   get 429). */
#define PCAP_DOWNLOAD_MAX_BYTES (64 * 1024 * 1024)
#define PCAP_DOWNLOAD_MAX_SECONDS 60
#define PCAP_DOWNLOADS_MAX 2
/* The BPF filter of one download, in bytes. */
#define PCAP_DOWNLOAD_BPF_MAX 1024
/* IPFIX export (RFC 7011, UDP): the largest message (below a 1500-byte
   path MTU with IPv6 and UDP headers), and how often the templates go
   out again: every this many seconds or messages, whichever comes first
   (RFC 7011 10.3.6: a UDP collector that restarts learns them again). */
#define IPFIX_MSG_MAX 1400
#define IPFIX_TEMPLATE_REFRESH_S 60
#define IPFIX_TEMPLATE_REFRESH_MSGS 100
/* Reading a capture file, the pause after each IPFIX message (at most
   5000 messages, about 150000 records, a second): a collector's socket
   buffer drains meanwhile. Live traffic is not paced. */
#define IPFIX_FILE_PACE_US 200

/* ---- discovery ---- */

/* Containers taken from one Docker API answer. */
#define DOCKER_MAX_CONTAINERS 1024
/* Published ports kept per container. */
#define DOCKER_MAX_PORTS 16
/* Networks read from the container engine (their subnets name the
   containers' subnets). */
#define DOCKER_MAX_NETWORKS 256
/* The largest Docker API answer read. */
#define DOCKER_MAX_BODY (8 * 1024 * 1024)
/* The largest OUI (MAC vendor) file loaded. */
#define OUI_FILE_MAX (16 * 1024 * 1024)
/* The largest /proc/net/arp read after a scan. */
#define ARP_FILE_MAX (4 * 1024 * 1024)
/* Scans waiting in the queue: the hard ceiling for scan_queue_max. */
#define SCAN_QUEUE_MAX 64
/* Bytes kept of what a service says (banner, HTTP answer, TLS answer). */
#define SCAN_RAW_MAX 4096
/* TLS probes in one scan. */
#define SCAN_TLS_MAX 256
/* Per-port results stored for one scan. */
#define SCAN_MAX_RESULTS 100000
/* Events one scan emits for its changes (host_new, port_opened,
   port_closed); past it one scan_changes event counts the rest, so a /16
   scan cannot flood the events table. */
#define SCAN_EVENTS_MAX 100
/* A service definition's name, terminator included. */
#define SVC_NAME_MAX 64
/* Ports in one service definition. */
#define SVC_MAX_PORTS 16
/* A definition's service-specific HTTP path (with its NUL), the paths
   asked of one open port, and path fetches in one scan. */
#define SVC_PATH_MAX 128
#define SCAN_PATHS_PER_PORT 4
#define SCAN_PATH_FETCHES_MAX 512
/* Service definitions, built in and loaded together; more fail the load. */
#define SVC_MAX_DEFS 4096
/* The largest service definitions file loaded. */
#define SVC_FILE_MAX (4 * 1024 * 1024)
/* Remote scans (POST /api/scans with "node", POST /mesh/scans). On the
   node that runs them: scans one asking member may have queued or
   running here at once (more get 429 too_many_remote_scans), within
   scan_queue_max. On the node that asks: scans it follows at once (more
   get 429 too_many_remote_scans), how often it asks each one's state
   (ms), per-port results in one page of GET /mesh/scans/{id}, the
   largest answer it reads, and the longest wait for one request (ms). */
#define REMOTE_SCANS_PER_ASKER 4
#define REMOTE_SCANS_FOLLOW_MAX 32
#define REMOTE_SCAN_POLL_MS 2000
#define REMOTE_SCAN_RESULTS_PAGE 2000
#define REMOTE_SCAN_MAX_ANSWER (1024 * 1024)
#define REMOTE_SCAN_TIMEOUT_MS 5000

/* ---- HTTP server (bodies: max_body_bytes, max_report_bytes) ---- */

/* A request's line and headers together; civetweb refuses a larger one. */
#define HTTP_MAX_HEADER_BYTES 16384
/* Connections waiting to be accepted (the listen(2) backlog). */
#define HTTP_LISTEN_BACKLOG 1024

/* ---- alerts and notifications ---- */

/* Alert rules in all (built in, from alerts.json, from the API). */
#define ALERTS_MAX_RULES 256
/* Alerts pending or firing at once; more are not raised (and logged). */
#define ALERTS_MAX_ACTIVE 2048
/* Silences not yet ended. */
#define ALERTS_MAX_SILENCES 256
/* Alerts kept in the database; past it the oldest resolved ones go. */
#define ALERTS_MAX_ROWS 10000
/* Events waiting for the alert engine's next tick; more are counted, not read. */
#define ALERTS_EVENT_QUEUE 1024
/* Alerts in one message. */
#define ALERTS_GROUP_MAX 100
/* The largest alerts.json. */
#define ALERTS_FILE_MAX (256 * 1024)
/* Notification channels. */
#define ALERTS_MAX_CHANNELS 16
/* Messages waiting per channel; past it a channel's oldest go. */
#define NOTIFY_OUTBOX_MAX 10000
/* The longest answer read from a receiver. */
#define NOTIFY_MAX_RESPONSE (64 * 1024)
/* A firing alert's message is repeated this often unless acknowledged
   (alerts.json "repeat_s", per rule "repeat_s"; 0: never). */
#define ALERTS_REPEAT_DEFAULT_S 14400
/* Alerts of one rule due within this many seconds leave as one message. */
#define ALERTS_GROUP_WAIT_DEFAULT_S 2

/* ---- the mesh ---- */

/* Poll rows waiting for the main thread's write; past it the oldest go. */
#define MESH_BATCH_MAX 65536
/* PMTU changes waiting for the store (one per peer whose path changed
   within a second, so a few at most). */
#define MESH_PMTU_QUEUE_MAX 1024

/* ---- reporting ---- */

/* Reporting servers in reporting.json. */
#define REPORT_MAX_SERVERS 64
/* The longest wait between deliveries to a server that is down. */
#define REPORT_BACKOFF_MAX_MS 60000
/* Discovered hosts in one snapshot, and services per host. */
#define REPORT_MAX_HOSTS 200
#define REPORT_MAX_SERVICES 16
/* A received time this far ahead of our clock is refused. */
#define REPORT_MAX_SKEW_S 300
/* Older than the longest retention: refused. */
#define REPORT_MAX_AGE_S (400 * 86400)
/* Discovery changes in one snapshot: a backlog drains quickly but not in
   one blocking burst. */
#define REPORT_MAX_CHANGES 50
/* TCP targets listed in one snapshot. */
#define REPORT_MAX_TARGETS 200
/* Received inventory (hosts, targets, traffic, discovery changes of each
   origin; store_inventory.c). Per origin kept: at most this many hosts
   (the least recently seen go) and changes (the oldest go); targets and
   traffic are replaced by each report, so they are bounded by what one
   report may carry (REPORT_MAX_TARGETS, INVENTORY_MAX_PROTOS,
   INVENTORY_MAX_TALKERS). */
#define INVENTORY_MAX_HOSTS 1000
#define INVENTORY_MAX_CHANGES 1000
/* Protocols in one traffic by_proto, top talkers in one traffic part. */
#define INVENTORY_MAX_PROTOS 16
#define INVENTORY_MAX_TALKERS 10
/* Rows read for one /api/mesh/hosts page (an address seen by many
   origins is one row per origin); past it an item's seen_by is cut short
   and says so. */
#define INVENTORY_READ_MAX_ROWS 10000
/* This node's own inventory (its own snapshot fed through the same path)
   is rebuilt when a read of the mesh inventory finds it older than this. */
#define INVENTORY_SELF_REFRESH_MS 2000
/* One answer of /api/mesh stops after about this many bytes or this long,
   at an origin's boundary, and says where to go on. */
#define MATRIX_MAX_BYTES (1024 * 1024)
#define MATRIX_MAX_MS 500
/* Origins in one /api/mesh page. */
#define MATRIX_MAX_LIMIT 4096

/* ---- the API ---- */

/* Items in one page of any list (limit=). */
#define API_LIST_MAX 1000
/* The deepest offset into /api/flows. */
#define FLOWS_OFFSET_MAX 100000000
/* Points in one /api/counters answer, and its longest step. */
#define COUNTERS_MAX_POINTS 3600
#define COUNTERS_MAX_STEP 86400
/* Buckets in one target history answer, and rows read to make them. */
#define TARGET_HISTORY_MAX_BUCKETS 2000
#define TARGET_HISTORY_MAX_ROWS 1000000
/* Mesh targets (meshtargets.c): the most one node distributes, the
   vantage points one may name, the vantage results shown per target, the
   shortest interval a copy is checked at, and how long copies outlive
   their origin's silence before they are deleted. */
#define MESH_TARGETS_MAX 64
#define MESH_TARGET_VANTAGE_MAX 16
#define MESH_TARGET_RESULTS_MAX 1024
#define MESH_TARGET_MIN_INTERVAL_S 10
#define MESH_TARGET_ORPHAN_S 86400
/* Origins whose lists a node keeps track of. */
#define MESH_TARGET_ORIGINS_MAX 1024
/* A target's longest retention. */
#define TARGET_MAX_RETENTION_S (5LL * 366 * 86400)
/* The longest group_by, 1000000d: far from overflowing as milliseconds. */
#define TARGET_GROUP_BY_MAX_S (1000000LL * 86400)
/* A plain-HTTP request on the HTTPS port: the most of it read to find
   its target and Host for the redirect to https://. */
#define PLAIN_HTTP_MAX_BYTES 2048
/* The rendered /metrics page, and the service names of discovered
   services given series. The other label sets are bounded by settings
   (metrics_max_peers, metrics_max_targets, metrics_max_cells) whose
   ranges keep the page under METRICS_MAX_BYTES even at their maximum. */
#define METRICS_MAX_BYTES (64 * 1024 * 1024)
#define METRICS_MAX_SERVICE_SERIES 256
/* Bytes a WebSocket client may leave unread before frames skip it, and
   peers in one mesh frame. */
#define WS_MAX_UNSENT (512 * 1024)
#define WS_MAX_PEERS_PER_FRAME 2000

/* ---- notifications ---- */

/* The longest wait between tries of a channel whose receiver is down. */
#define NOTIFY_BACKOFF_MAX_MS 300000
/* One SMTP command line: AUTH PLAIN with the largest credentials is about
   700. */
#define SMTP_MAX_CMD 1024

#endif
