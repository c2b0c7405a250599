/* api_discovery: /api/scans, /api/hosts, /api/services and /api/changes,
   and the mesh's /mesh/scans, where another member asks this node for a
   scan. Runs on civetweb worker threads; reads through the store and the
   scanner's short-locked accessors, never waits for a scan. A scan on
   another node (POST /api/scans with "node") and its cancel wait for one
   signed request to that node (remotescan.h), at most
   REMOTE_SCAN_TIMEOUT_MS. */
#include <arpa/inet.h>
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshwatch/api.h"
#include "meshwatch/gossip.h"
#include "meshwatch/http.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshauth.h"
#include "meshwatch/meshcall.h"
#include "meshwatch/node.h"
#include "meshwatch/remotescan.h"
#include "meshwatch/scanner.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "views.h"

#define LIST_DEFAULT 50

/* An error answer: {"error": code, "detail": ...}. */
static cJSON *error_json(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static cJSON *
error_json(const char *code, const char *fmt, ...)
{
	char detail[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", code);
	cJSON_AddStringToObject(o, "detail", detail);
	return o;
}

/* Collects a body field that may be an array of strings (and, for ports,
   numbers): items point into the JSON or into numbuf. 0, or 400 with the
   error in *err. */
static int
string_items(const cJSON *body, const char *key, int allow_numbers, const char **items, int max, char (*numbuf)[8],
    int *n, cJSON **err)
{
	*n = 0;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v)) {
		*err = error_json("invalid_field", "field \"%s\" must be an array of %s", key,
		    allow_numbers ? "ports (numbers or \"from-to\" strings)" : "CIDR strings like \"192.168.1.0/24\"");
		return 400;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		if (*n >= max) {
			*err = error_json("too_many", "field \"%s\" holds more than %d items", key, max);
			return 400;
		}
		if (cJSON_IsString(e)) {
			items[(*n)++] = e->valuestring;
		} else if (allow_numbers && cJSON_IsNumber(e)) {
			if (e->valuedouble != (double)(int)e->valuedouble || e->valuedouble < 1 || e->valuedouble > 65535) {
				*err = error_json("invalid_field", "field \"%s\": %g is not a port (1-65535)", key, e->valuedouble);
				return 400;
			}
			snprintf(numbuf[*n], sizeof numbuf[*n], "%d", e->valueint);
			items[*n] = numbuf[*n];
			(*n)++;
		} else {
			*err = error_json("invalid_field", "field \"%s\" must hold only %s", key,
			    allow_numbers ? "port numbers or \"from-to\" strings" : "CIDR strings");
			return 400;
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

/* The body of a scan request: a JSON object (or none) whose fields are
   subnets, ports, confirm (and node, where with_node). 0, or 400 with the
   error in *err. */
static int
check_body(const cJSON *body, int with_node, cJSON **err)
{
	if (body && !cJSON_IsObject(body)) {
		*err = error_json("invalid_json", "the body must be a JSON object like {\"subnets\":[...],\"ports\":[...]}");
		return 400;
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, body) {
		if (strcmp(f->string, "subnets") != 0 && strcmp(f->string, "ports") != 0 && strcmp(f->string, "confirm") != 0 &&
		    !(with_node && strcmp(f->string, "node") == 0)) {
			*err = error_json("unknown_field", "unknown field \"%.60s\" (known: subnets, ports, confirm%s)", f->string,
			    with_node ? ", node" : "");
			return 400;
		}
	}
	const cJSON *confirm = cJSON_GetObjectItemCaseSensitive(body, "confirm");
	if (confirm && !cJSON_IsBool(confirm)) {
		*err = error_json("invalid_field", "field \"confirm\" must be true or false");
		return 400;
	}
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(body, "node");
	if (node && !cJSON_IsNull(node) && !cJSON_IsString(node)) {
		*err = error_json("invalid_field", "field \"node\" must be a node's id (UUID) or name (fqdn)");
		return 400;
	}
	return 0;
}

/* A checked scan request queued on this node, for one of its users or
   (by) for another member of the mesh: this node's limits and its default
   subnets apply. Returns the status to answer with, and the scan or the
   error in *out. */
static int
scan_request(struct node *n, const cJSON *body, const struct peer *by, cJSON **out)
{
	struct scanner *sc = n->scanner;
	const cJSON *confirm = cJSON_GetObjectItemCaseSensitive(body, "confirm");
	static const int max_items = SCAN_PORTS_LIMIT;
	const char **subnets = calloc(SCAN_MAX_NETS + 1, sizeof *subnets);
	const char **ports = calloc((size_t)max_items, sizeof *ports);
	char(*nums)[8] = calloc((size_t)max_items, sizeof *nums);
	int ns = 0, np = 0, status;
	char dummy[SCAN_MAX_NETS + 1][8];
	if (!subnets || !ports || !nums) {
		*out = error_json("internal", "out of memory");
		status = 500;
	} else if ((status = string_items(body, "subnets", 0, subnets, SCAN_MAX_NETS, dummy, &ns, out)) != 0 ||
	           (status = string_items(body, "ports", 1, ports, max_items, nums, &np, out)) != 0) {
		/* *out says which */
	} else if (ns == 0 && !cJSON_IsTrue(confirm)) {
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
		*out = o;
		status = 409;
	} else {
		struct scan_row row;
		char err[600];
		int rc = by ? scanner_submit_for(sc, subnets, ns, ports, np, by->id, by->fqdn, &row, err, sizeof err)
		            : scanner_submit(sc, subnets, ns, ports, np, "api", &row, err, sizeof err);
		status = rc == 0 ? 201 : rc == MW_EINVAL ? 400 : rc == MW_ELIMIT || rc == MW_ETOOBIG ? 429 : 503;
		*out = rc == 0 ? views_scan(&row)
		     : error_json(rc == MW_EINVAL ? "invalid_scan" : rc == MW_ELIMIT ? "queue_full"
		                  : rc == MW_ETOOBIG ? "too_many_remote_scans" : "store_unavailable", "%s", err);
		if (rc == 0 && by)
			log_info("scan", "scan %lld queued for node %s (%s): %s", (long long)row.id, by->id, by->fqdn, row.subnets);
	}
	free(subnets);
	free(ports);
	free(nums);
	return status;
}

/* ---- remote scans: this node asks another member ---- */

/* The member name names (its id, or its fqdn), in *p: 0, or MW_ENOTFOUND. */
static int
find_member(struct node *n, const char *name, struct peer *p)
{
	struct membership *m = mesh_membership(n->mesh);
	if (membership_valid_id(name))
		return membership_get(m, name, p) == 0 ? 0 : MW_ENOTFOUND;
	int np = 0, found = MW_ENOTFOUND;
	struct peer *ps = membership_snapshot(m, &np);
	for (int i = 0; ps && i < np; i++) {
		if (ps[i].id[0] == '\0' || strcasecmp(ps[i].fqdn, name) != 0)
			continue;
		/* an fqdn two entries share: the alive, trusted one */
		if (found != 0 || (!ps[i].quarantined && ps[i].state == PEER_ALIVE)) {
			*p = ps[i];
			found = 0;
		}
	}
	free(ps);
	return found;
}

/* Passes on what node p answered when it refused a scan: its status and
   its error, the detail naming p (400 invalid_scan, 403, 409
   confirm_required with its default subnets, 429); any other answer is
   502 peer_error. */
static void
pass_on(struct req *r, const struct peer *p, const struct https_result *hr)
{
	cJSON *o = cJSON_ParseWithLength(hr->body ? hr->body : "", hr->body_len);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *detail = cJSON_GetObjectItemCaseSensitive(o, "detail");
	int st = hr->status;
	if (!cJSON_IsObject(o) || !cJSON_IsString(code) || !(st == 400 || st == 403 || st == 409 || st == 429)) {
		http_reply_error(r, 502, "peer_error", "node %s (%s) answered HTTP %d: %.60s: %.300s", p->fqdn, p->id, st,
		    cJSON_IsString(code) ? code->valuestring : "", cJSON_IsString(detail) ? detail->valuestring : "no detail");
		cJSON_Delete(o);
		return;
	}
	char d[1600];
	snprintf(d, sizeof d, "node %s (%s): %s", p->fqdn, p->id, cJSON_IsString(detail) ? detail->valuestring : "");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "detail");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "node");
	cJSON_AddStringToObject(o, "detail", d);
	cJSON *nd = cJSON_AddObjectToObject(o, "node");
	cJSON_AddStringToObject(nd, "id", p->id);
	cJSON_AddStringToObject(nd, "fqdn", p->fqdn);
	http_reply_json(r, st, o, NULL);
}

/* POST /api/scans with "node": the scan runs there, with its limits. */
static void
remote_scan_create(struct req *r, const char *name)
{
	struct node *n = r->node;
	if (!meshauth_enabled(mesh_auth(n->mesh))) {
		http_reply_error(r, 409, "mesh_secret_required",
		    "a scan on another node needs a mesh secret (MESH_SECRET or mesh_secret) on both nodes: a mesh without "
		    "signed requests would let anyone who reaches a node make it scan its networks");
		return;
	}
	struct peer p;
	if (find_member(n, name, &p) != 0) {
		http_reply_error(r, 404, "not_found", "\"node\": no member of the mesh has the id or name \"%.200s\"", name);
		return;
	}
	if (p.quarantined || p.state != PEER_ALIVE) {
		http_reply_error(r, 409, "node_not_alive", "\"node\": %s (%s) is %s here: only an alive member can be asked to scan",
		    p.fqdn, p.id, p.quarantined ? "not verified yet (quarantined)" : peer_state_name(p.state));
		return;
	}
	cJSON *fwd = cJSON_Duplicate(r->body, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(fwd, "node");
	char *text = fwd ? cJSON_PrintUnformatted(fwd) : NULL;
	cJSON_Delete(fwd);
	if (text == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	struct scan_row row;
	struct https_result hr;
	int rc = remotescan_submit(scanner_remote(n->scanner), &p, text, strlen(text), &row, &hr);
	free(text);
	if (rc == 0) {
		log_info("scan", "\"%s\" asked node %s (%s) for a scan: scan %lld here, %lld there", r->user.username, p.id,
		    p.fqdn, (long long)row.id, (long long)row.remote_id);
		http_reply_json(r, 201, views_scan(&row), NULL);
	} else if (rc == MW_EINVAL) {
		pass_on(r, &p, &hr);
	} else if (rc == MW_ETOOBIG) {
		http_reply_error(r, 429, "too_many_remote_scans",
		    "this node follows %d scans on other nodes already; wait until one finishes or cancel one", REMOTE_SCANS_FOLLOW_MAX);
	} else if (rc == MW_EDB) {
		http_reply_error(r, 503, "store_unavailable", "the database refused the scan (node %s may have queued it)", p.fqdn);
	} else {
		http_reply_error(r, 502, "peer_unreachable", "node %s (%s) at %s:%d could not be asked: %s", p.fqdn, p.id, p.ip,
		    p.port, hr.detail);
	}
	https_result_free(&hr);
}

void
api_scans_create(struct req *r)
{
	cJSON *o = NULL;
	int status = check_body(r->body, 1, &o);
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(r->body, "node");
	if (status == 0 && cJSON_IsString(node) && strcmp(node->valuestring, r->node->id) != 0 &&
	    strcasecmp(node->valuestring, r->node->fqdn) != 0) {
		remote_scan_create(r, node->valuestring);
		return;
	}
	if (status == 0)
		status = scan_request(r->node, r->body, NULL, &o);
	http_reply_json(r, status, o, NULL);
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

/* DELETE /api/scans/{id} of a scan another node runs: cancelled there. */
static void
remote_scan_cancel(struct req *r, const struct scan_row *row)
{
	if (strcmp(row->state, "queued") != 0 && strcmp(row->state, "running") != 0) {
		http_reply_error(r, 409, "not_cancellable", "scan %lld is %s: only queued or running scans can be cancelled",
		    (long long)row->id, row->state);
		return;
	}
	struct scan_row out;
	struct https_result hr;
	struct peer p = {0};
	snprintf(p.id, sizeof p.id, "%s", row->node_id);
	snprintf(p.fqdn, sizeof p.fqdn, "%s", row->node_fqdn);
	int rc = remotescan_cancel(scanner_remote(r->node->scanner), row, &out, &hr);
	if (rc == 0) {
		log_info("scan", "scan %lld (%lld on %s) cancelled by \"%s\"", (long long)row->id, (long long)row->remote_id,
		    row->node_fqdn, r->user.username);
		http_reply_json(r, 200, views_scan(&out), NULL);
	} else if (rc == MW_EINVAL) {
		pass_on(r, &p, &hr);
	} else if (rc == MW_ENOTFOUND) {
		http_reply_error(r, 502, "peer_unreachable", "node %s (%s), where scan %lld runs, is no longer in the peer table",
		    row->node_fqdn, row->node_id, (long long)row->id);
	} else {
		http_reply_error(r, 502, "peer_unreachable", "node %s (%s), where scan %lld runs, could not be asked to cancel it: %s",
		    row->node_fqdn, row->node_id, (long long)row->id, hr.detail);
	}
	https_result_free(&hr);
}

void
api_scans_delete(struct req *r)
{
	struct scan_row row;
	if (store_scan_get(r->node->store, r->id, &row) != 0) {
		http_reply_error(r, 404, "not_found", "no scan with id %lld", (long long)r->id);
		return;
	}
	if (row.node_id[0]) {
		remote_scan_cancel(r, &row);
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

/* Per-port results as /api/scans/{id}/results and /mesh/scans/{id} list
   them: {ip, port, proto, state}. */
static void
add_results(cJSON *items, const struct disc_result *rows, int n)
{
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "ip", rows[i].ip);
		cJSON_AddNumberToObject(e, "port", rows[i].port);
		cJSON_AddStringToObject(e, "proto", "tcp");
		cJSON_AddStringToObject(e, "state", rows[i].state);
		cJSON_AddItemToArray(items, e);
	}
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
	add_results(items, rows, n);
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

/* ---- remote scans: another member asks this node (/mesh/scans) ---- */

/* Answers a mesh caller with o (freed here), signed for its request's
   nonce so that it can tell this node's answer from any other. */
static void
mesh_reply(struct req *r, int status, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	char hdr[160] = "", sig[MESHAUTH_SIG_LEN + 1];
	const char *nonce = mg_get_header(r->conn, "X-Mw-Nonce");
	struct meshauth *a = mesh_auth(r->node->mesh);
	if (meshauth_enabled(a) && nonce) {
		meshauth_sign_response(a, nonce, status, text, strlen(text), sig);
		snprintf(hdr, sizeof hdr, "X-Mw-Signature: %s\r\n", sig);
	}
	http_reply_raw(r, status, "application/json", text, strlen(text), hdr);
	free(text);
}

static void
hdr_copy(struct req *r, const char *name, char *out, size_t outlen)
{
	const char *v = mg_get_header(r->conn, name);
	snprintf(out, outlen, "%s", v ? v : "");
}

/* Who calls a /mesh/scans endpoint: the request (path, query and body)
   must be signed with the mesh secret, for this node, by the node its
   X-Mw-* identity names; with member, that node must be an alive member
   calling from its own address. 0 with its id and name in *by, or
   MW_EREPLIED. Without a mesh secret nothing is run for anyone (409). */
static int
mesh_caller(struct req *r, int member, struct peer *by)
{
	struct node *n = r->node;
	struct mesh *m = n->mesh;
	if (!meshauth_enabled(mesh_auth(m))) {
		http_reply_error(r, 409, "mesh_secret_required",
		    "this node has no mesh secret (MESH_SECRET or mesh_secret): it runs scans for other nodes only when "
		    "their requests are signed, since an unsigned mesh would let anyone make it scan");
		return MW_EREPLIED;
	}
	struct peer_news who = {0};
	char port[16], inc[32], ident[512] = "", path[2048], why[200];
	hdr_copy(r, "X-Mw-Id", who.id, sizeof who.id);
	hdr_copy(r, "X-Mw-Fqdn", who.fqdn, sizeof who.fqdn);
	hdr_copy(r, "X-Mw-Ip", who.ip, sizeof who.ip);
	hdr_copy(r, "X-Mw-Port", port, sizeof port);
	hdr_copy(r, "X-Mw-Incarnation", inc, sizeof inc);
	who.port = atoi(port);
	who.incarnation = strtoull(inc, NULL, 10);
	if (who.id[0])
		gossip_identity_string(&who, ident, sizeof ident);
	const char *q = r->ri->query_string;
	snprintf(path, sizeof path, "%s%s%s", r->path, q ? "?" : "", q ? q : "");
	int rc = meshauth_verify_request(mesh_auth(m), r->method, path, ident, n->id, mg_get_header(r->conn, "X-Mw-Timestamp"),
	    mg_get_header(r->conn, "X-Mw-Nonce"), mg_get_header(r->conn, "X-Mw-Signature"), r->raw_body ? r->raw_body : "",
	    r->raw_len, mw_wall_s(), why, sizeof why);
	if (rc != 0) {
		mesh_count_rejected(m);
		log_warn("scan", "%s %s from %s refused: %s", r->method, r->path, r->client, why);
		http_reply_error(r, rc == MW_ELIMIT ? 503 : 401, rc == MW_ELIMIT ? "busy" : "bad_signature", "%s", why);
		return MW_EREPLIED;
	}
	snprintf(r->mesh_signer, sizeof r->mesh_signer, "%s", who.id);
	memset(by, 0, sizeof *by);
	snprintf(by->id, sizeof by->id, "%s", who.id);
	snprintf(by->fqdn, sizeof by->fqdn, "%s", who.fqdn);
	if (member && !meshcall_member(m, who.id, r->client, by, why, sizeof why)) {
		mesh_count_rejected(m);
		log_warn("scan", "%s %s from %s refused: %s", r->method, r->path, r->client, why);
		mesh_reply(r, 403, error_json("not_a_member", "%s", why));
		return MW_EREPLIED;
	}
	return 0;
}

void
api_mesh_scans_create(struct req *r)
{
	struct peer by;
	if (mesh_caller(r, 1, &by) != 0)
		return;
	if (!r->node->cfg.remote_scans) {
		mesh_reply(r, 403, error_json("remote_scans_off", "this node does not run scans for other nodes (remote_scans is off)"));
		return;
	}
	cJSON *body = r->raw_len ? cJSON_ParseWithLength(r->raw_body, r->raw_len) : NULL;
	cJSON *o = NULL;
	int status = r->raw_len && body == NULL ? 400 : check_body(body, 0, &o);
	if (status == 400 && o == NULL)
		o = error_json("invalid_json", "the request body is not valid JSON");
	if (status == 0)
		status = scan_request(r->node, body, &by, &o);
	cJSON_Delete(body);
	mesh_reply(r, status, o);
}

/* The scan {id} for the member that asked for it (403 for anyone else),
   into *row: 0, or MW_EREPLIED. */
static int
asked_scan(struct req *r, struct scan_row *row)
{
	struct peer by;
	if (mesh_caller(r, 0, &by) != 0)
		return MW_EREPLIED;
	if (store_scan_get(r->node->store, r->id, row) != 0) {
		mesh_reply(r, 404, error_json("not_found", "no scan with id %lld", (long long)r->id));
		return MW_EREPLIED;
	}
	if (strcmp(row->requested_by_id, by.id) != 0) {
		mesh_reply(r, 403, error_json("not_requester", "scan %lld was not asked for by node %s", (long long)r->id, by.id));
		return MW_EREPLIED;
	}
	scanner_live(r->node->scanner, row);
	return 0;
}

/* GET /mesh/scans/{id}?offset=N: the scan and, once it is finished, a
   page of its per-port results (REMOTE_SCAN_RESULTS_PAGE from offset;
   results_total says how many there are). */
void
api_mesh_scans_get(struct req *r)
{
	struct scan_row row;
	int offset;
	if (asked_scan(r, &row) != 0 || http_query_int(r, "offset", 0, 0, SCAN_MAX_RESULTS, &offset) != 0)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "scan", views_scan(&row));
	int finished = strcmp(row.state, "queued") != 0 && strcmp(row.state, "running") != 0;
	struct disc_result *rows = NULL;
	int n = 0, total = 0;
	if (finished &&
	    store_scan_results(r->node->store, row.id, "", REMOTE_SCAN_RESULTS_PAGE, offset, &rows, &n, &total) != 0) {
		cJSON_Delete(o);
		free(rows);
		mesh_reply(r, 503, error_json("store_unavailable", "cannot read scan results from the database"));
		return;
	}
	add_results(cJSON_AddArrayToObject(o, "results"), rows, n);
	free(rows);
	cJSON_AddNumberToObject(o, "results_total", total);
	cJSON_AddNumberToObject(o, "results_offset", offset);
	mesh_reply(r, 200, o);
}

/* DELETE /mesh/scans/{id}: the member that asked cancels it. */
void
api_mesh_scans_delete(struct req *r)
{
	struct scan_row row;
	if (asked_scan(r, &row) != 0)
		return;
	if (scanner_cancel(r->node->scanner, r->id) != 0) {
		mesh_reply(r, 409, error_json("not_cancellable", "scan %lld is %s: only queued or running scans can be cancelled",
		    (long long)r->id, row.state));
		return;
	}
	if (store_scan_get(r->node->store, r->id, &row) == 0)
		scanner_live(r->node->scanner, &row);
	log_info("scan", "scan %lld cancelled by node %s (%s), which asked for it", (long long)row.id, row.requested_by_id,
	    row.requested_by_fqdn);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "scan", views_scan(&row));
	mesh_reply(r, 200, o);
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
