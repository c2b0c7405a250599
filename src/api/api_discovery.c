/* api_discovery: /api/scans, /api/hosts, /api/services and /api/changes.
   Runs on civetweb worker threads; reads through the store and the
   scanner's short-locked accessors, never waits for a scan. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/http.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/node.h"
#include "meshwatch/scanner.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "views.h"

#define LIST_DEFAULT 50

/* Collects a body field that may be an array of strings (and, for ports,
   numbers): items point into the JSON or into numbuf. MW_EREPLIED
   after a 400. */
static int
string_items(struct req *r, const char *key, int allow_numbers, const char **items, int max, char (*numbuf)[8],
    int *n)
{
	*n = 0;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, key);
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v)) {
		http_reply_error(r, 400, "invalid_field", "field \"%s\" must be an array of %s", key,
		    allow_numbers ? "ports (numbers or \"from-to\" strings)" : "CIDR strings like \"192.168.1.0/24\"");
		return MW_EREPLIED;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		if (*n >= max) {
			http_reply_error(r, 400, "too_many", "field \"%s\" holds more than %d items", key, max);
			return MW_EREPLIED;
		}
		if (cJSON_IsString(e)) {
			items[(*n)++] = e->valuestring;
		} else if (allow_numbers && cJSON_IsNumber(e)) {
			if (e->valuedouble != (double)(int)e->valuedouble || e->valuedouble < 1 || e->valuedouble > 65535) {
				http_reply_error(r, 400, "invalid_field", "field \"%s\": %g is not a port (1-65535)", key, e->valuedouble);
				return MW_EREPLIED;
			}
			snprintf(numbuf[*n], sizeof numbuf[*n], "%d", e->valueint);
			items[*n] = numbuf[*n];
			(*n)++;
		} else {
			http_reply_error(r, 400, "invalid_field", "field \"%s\" must hold only %s", key,
			    allow_numbers ? "port numbers or \"from-to\" strings" : "CIDR strings");
			return MW_EREPLIED;
		}
	}
	return 0;
}

/* {"subnets":[{"subnet","interface","hosts"}],"source"}: what a scan
   without subnets covers. */
static cJSON *
defaults_json(struct scanner *sc)
{
	struct scan_net nets[SCAN_MAX_NETS];
	int from_config = 0;
	int n = scanner_defaults(sc, nets, SCAN_MAX_NETS, &from_config);
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "subnets");
	uint64_t hosts = 0;
	for (int i = 0; i < n; i++) {
		char buf[32];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "subnet", scan_net_format(&nets[i], buf, sizeof buf));
		if (nets[i].ifname[0])
			cJSON_AddStringToObject(e, "interface", nets[i].ifname);
		else
			cJSON_AddNullToObject(e, "interface");
		cJSON_AddNumberToObject(e, "hosts", (double)scan_net_hosts(&nets[i]));
		hosts += scan_net_hosts(&nets[i]);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddNumberToObject(o, "hosts", (double)hosts);
	cJSON_AddStringToObject(o, "source", from_config ? "scan_subnets" : "connected");
	return o;
}

void
api_scans_defaults(struct req *r)
{
	http_reply_json(r, 200, defaults_json(r->node->scanner), NULL);
}

void
api_scans_create(struct req *r)
{
	struct scanner *sc = r->node->scanner;
	if (r->body && !cJSON_IsObject(r->body)) {
		http_reply_error(r, 400, "invalid_json", "the body must be a JSON object like {\"subnets\":[...],\"ports\":[...]}");
		return;
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, r->body) {
		if (strcmp(f->string, "subnets") != 0 && strcmp(f->string, "ports") != 0 && strcmp(f->string, "confirm") != 0) {
			http_reply_error(r, 400, "unknown_field", "unknown field \"%.60s\" (known: subnets, ports, confirm)",
			    f->string);
			return;
		}
	}
	const cJSON *confirm = cJSON_GetObjectItemCaseSensitive(r->body, "confirm");
	if (confirm && !cJSON_IsBool(confirm)) {
		http_reply_error(r, 400, "invalid_field", "field \"confirm\" must be true or false");
		return;
	}
	static const int max_items = SCAN_PORTS_LIMIT;
	const char **subnets = calloc(SCAN_MAX_NETS + 1, sizeof *subnets);
	const char **ports = calloc((size_t)max_items, sizeof *ports);
	char(*nums)[8] = calloc((size_t)max_items, sizeof *nums);
	int ns = 0, np = 0;
	if (!subnets || !ports || !nums) {
		http_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	char dummy[SCAN_MAX_NETS + 1][8];
	if (string_items(r, "subnets", 0, subnets, SCAN_MAX_NETS, dummy, &ns) != 0 ||
	    string_items(r, "ports", 1, ports, max_items, nums, &np) != 0)
		goto out;
	if (ns == 0 && !cJSON_IsTrue(confirm)) {
		/* Without subnets a scan covers every allowed subnet, by default
		   the networks this machine is connected to (an office LAN, a
		   data centre VLAN): never without the caller saying so, knowing
		   which. */
		char list[1024];
		scanner_defaults_text(sc, list, sizeof list);
		cJSON *o = defaults_json(sc);
		char detail[1400];
		snprintf(detail, sizeof detail,
		    "no \"subnets\" given: a default scan covers %s; resend with \"confirm\": true to scan them, or list "
		    "\"subnets\"",
		    list);
		cJSON_AddStringToObject(o, "error", "confirm_required");
		cJSON_AddStringToObject(o, "detail", detail);
		http_reply_json(r, 409, o, NULL);
		goto out;
	}
	struct scan_row row;
	char err[600];
	int rc = scanner_submit(sc, subnets, ns, ports, np, "api", &row, err, sizeof err);
	if (rc == MW_EINVAL)
		http_reply_error(r, 400, "invalid_scan", "%s", err);
	else if (rc == MW_ELIMIT)
		http_reply_error(r, 429, "queue_full", "%s", err);
	else if (rc != 0)
		http_reply_error(r, 503, "store_unavailable", "%s", err);
	else
		http_reply_json(r, 201, views_scan(&row), NULL);
out:
	free(subnets);
	free(ports);
	free(nums);
}

void
api_scans_list(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	char state[16] = "";
	if (http_query_int(r, "limit", LIST_DEFAULT, 1, API_LIST_MAX, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset) || http_query_str(r, "state", state, sizeof state) == MW_EREPLIED)
		return;
	static const char *const states[] = {"", "queued", "running", "completed", "failed", "cancelled"};
	int known = 0;
	for (size_t i = 0; i < MW_ARRAY_LEN(states); i++)
		known |= strcmp(state, states[i]) == 0;
	if (!known) {
		http_reply_error(r, 400, "invalid_query",
		    "query parameter \"state\" must be queued, running, completed, failed or cancelled");
		return;
	}
	struct scan_row *rows = NULL;
	if (store_scan_list(r->node->store, state, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read scans from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		scanner_live(r->node->scanner, &rows[i]);
		cJSON_AddItemToArray(items, views_scan(&rows[i]));
	}
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_scans_get(struct req *r)
{
	struct scan_row row;
	if (store_scan_get(r->node->store, r->id, &row) != 0) {
		http_reply_error(r, 404, "not_found", "no scan with id %lld", (long long)r->id);
		return;
	}
	scanner_live(r->node->scanner, &row);
	http_reply_json(r, 200, views_scan(&row), NULL);
}

void
api_scans_delete(struct req *r)
{
	struct scan_row row;
	if (store_scan_get(r->node->store, r->id, &row) != 0) {
		http_reply_error(r, 404, "not_found", "no scan with id %lld", (long long)r->id);
		return;
	}
	if (scanner_cancel(r->node->scanner, r->id) != 0) {
		http_reply_error(r, 409, "not_cancellable", "scan %lld is %s: only queued or running scans can be cancelled",
		    (long long)r->id, row.state);
		return;
	}
	if (store_scan_get(r->node->store, r->id, &row) == 0)
		scanner_live(r->node->scanner, &row);
	/* a running scan stops within scan_timeout_ms; its state says cancelled then */
	http_reply_json(r, 200, views_scan(&row), NULL);
}

void
api_scans_results(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	char state[16] = "";
	if (http_query_int(r, "limit", 1000, 1, 10000, &limit) || http_query_int(r, "offset", 0, 0, 1000000000, &offset) ||
	    http_query_str(r, "state", state, sizeof state) == MW_EREPLIED)
		return;
	if (state[0] && strcmp(state, "open") && strcmp(state, "closed") && strcmp(state, "filtered")) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"state\" must be open, closed or filtered");
		return;
	}
	struct scan_row row;
	if (store_scan_get(r->node->store, r->id, &row) != 0) {
		http_reply_error(r, 404, "not_found", "no scan with id %lld", (long long)r->id);
		return;
	}
	struct disc_result *rows = NULL;
	if (store_scan_results(r->node->store, r->id, state, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read scan results from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "ip", rows[i].ip);
		cJSON_AddNumberToObject(e, "port", rows[i].port);
		cJSON_AddStringToObject(e, "proto", "tcp");
		cJSON_AddStringToObject(e, "state", rows[i].state);
		cJSON_AddItemToArray(items, e);
	}
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

/* Common filters of /api/hosts and /api/services; MW_EREPLIED after a
   400. */
static int
list_filters(struct req *r, int *limit, int *offset, char *q, size_t qlen, char *service, size_t slen, int *port)
{
	if (http_query_int(r, "limit", LIST_DEFAULT, 1, API_LIST_MAX, limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, offset) || http_query_str(r, "q", q, qlen) == MW_EREPLIED ||
	    http_query_str(r, "service", service, slen) == MW_EREPLIED || http_query_int(r, "port", 0, 0, 65535, port))
		return MW_EREPLIED;
	return 0;
}

static void
reply_hosts(struct req *r, const char *ip, int one)
{
	int limit, offset, port, n = 0, total = 0;
	char q[128] = "", service[64] = "";
	if (list_filters(r, &limit, &offset, q, sizeof q, service, sizeof service, &port))
		return;
	struct disc_host *rows = NULL;
	if (store_hosts_list(r->node->store, q, service, port, ip, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read hosts from the database");
		return;
	}
	if (one) {
		if (n == 0)
			http_reply_error(r, 404, "not_found", "no host %s has been discovered", ip);
		else
			http_reply_json(r, 200, views_host(&rows[0]), NULL);
		store_hosts_free(rows, n);
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, views_host(&rows[i]));
	store_hosts_free(rows, n);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_hosts_list(struct req *r)
{
	char ip[DISC_IP_MAX + 8] = "";
	unsigned char tmp[4];
	if (http_query_str(r, "ip", ip, sizeof ip) == MW_EREPLIED)
		return;
	if (ip[0] && inet_pton(AF_INET, ip, tmp) != 1) {
		http_reply_error(r, 400, "invalid_query", "query parameter \"ip\" must be an IPv4 address");
		return;
	}
	reply_hosts(r, ip, 0);
}

void
api_hosts_get(struct req *r)
{
	const char *ip = r->path + strlen("/api/hosts/");
	unsigned char tmp[4];
	if (inet_pton(AF_INET, ip, tmp) != 1) {
		http_reply_error(r, 400, "invalid_path", "\"%.40s\" is not an IPv4 address", ip);
		return;
	}
	reply_hosts(r, ip, 1);
}

void
api_hosts_delete(struct req *r)
{
	const char *ip = r->path + strlen("/api/hosts/");
	unsigned char tmp[4];
	if (inet_pton(AF_INET, ip, tmp) != 1) {
		http_reply_error(r, 400, "invalid_path", "\"%.40s\" is not an IPv4 address", ip);
		return;
	}
	int rc = store_host_delete(r->node->store, ip);
	if (rc == MW_ENOTFOUND) {
		http_reply_error(r, 404, "not_found", "no discovered host %s", ip);
		return;
	}
	if (rc != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot delete the host from the database");
		return;
	}
	log_info("discovery", "host %s and its services deleted by \"%s\"", ip, r->user.username);
	http_reply_raw(r, 204, "application/json", "", 0, NULL);
}

void
api_services_list(struct req *r)
{
	int limit, offset, port, n = 0, total = 0;
	char q[128] = "", service[64] = "", state[16] = "";
	if (list_filters(r, &limit, &offset, q, sizeof q, service, sizeof service, &port) ||
	    http_query_str(r, "state", state, sizeof state) == MW_EREPLIED)
		return;
	struct disc_service *rows = NULL;
	if (store_services_list(r->node->store, q, service, port, state, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read services from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, views_service(&rows[i], 1));
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_changes_list(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	int64_t since;
	char kind[16] = "", ip[DISC_IP_MAX + 8] = "";
	if (http_query_int(r, "limit", LIST_DEFAULT, 1, API_LIST_MAX, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset) || http_query_time(r, "since", 0, &since) ||
	    http_query_str(r, "kind", kind, sizeof kind) == MW_EREPLIED || http_query_str(r, "ip", ip, sizeof ip) == MW_EREPLIED)
		return;
	static const char *const kinds[] = {"", "new_host", "host_back", "host_gone", "port_opened", "port_closed"};
	int known = 0;
	for (size_t i = 0; i < MW_ARRAY_LEN(kinds); i++)
		known |= strcmp(kind, kinds[i]) == 0;
	if (!known) {
		http_reply_error(r, 400, "invalid_query",
		    "query parameter \"kind\" must be new_host, host_back, host_gone, port_opened or port_closed");
		return;
	}
	struct disc_change *rows = NULL;
	if (store_changes_list(r->node->store, since, kind, ip, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read changes from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, views_change(&rows[i]));
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}
