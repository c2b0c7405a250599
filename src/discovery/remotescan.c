/* remotescan: scans run by another member of the mesh for this node, and
   the follower thread that mirrors them (see remotescan.h).

   The follower thread wakes every REMOTE_SCAN_POLL_MS while it follows a
   scan (and when one is submitted; with none, it sleeps until then), reads this node's remote scans that are still queued or
   running (at most REMOTE_SCANS_FOLLOW_MAX) and asks each one's node for
   it with a signed GET /mesh/scans/{id}. It may block on those requests;
   nothing else waits for it. It alone owns the follow table. Every write
   of a row's mirrored state re-reads the row under rs->lock and leaves a
   row that is already finished here alone. */
#include "meshwatch/remotescan.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/mesh.h"
#include "meshwatch/meshcall.h"
#include "meshwatch/node.h"

/* When the node of one followed scan last answered. */
struct follow {
	int64_t id;                 /* this node's scan id */
	int64_t last_ok_ms;         /* monotonic; the first look counts as an answer */
	char last_err[160];
};

struct remotescan {
	struct node *n;
	pthread_mutex_t lock;       /* stop, kick, and row writes */
	pthread_cond_t wake;        /* monotonic */
	volatile int stop;          /* read unlocked by the follower's loops */
	int kick, started;
	pthread_t thread;
	struct follow follows[REMOTE_SCANS_FOLLOW_MAX]; /* the follower thread's */
	int nfollows;
};

static int
is_final(const char *state)
{
	return strcmp(state, "completed") == 0 || strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0;
}

/* ---------- reading another node's answers ---------- */

static int
get_count(const cJSON *o, const char *key, int *out)
{
	double v;
	if (json_get_int(o, key, 0, 1e9, &v) != 0)
		return MW_EINVAL;
	*out = (int)v;
	return 0;
}

static int
get_time(const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	return cJSON_IsString(v) && mw_parse_time(v->valuestring, out) == 0 ? 0 : MW_EINVAL;
}

int
remotescan_parse_scan(const cJSON *o, struct scan_row *out, char *why, size_t whylen)
{
	struct scan_row r = *out;
	double id;
	const char *bad = NULL;
	if (!cJSON_IsObject(o))
		bad = "not a JSON object";
	else if (json_get_int(o, "id", 1, 9007199254740991.0, &id) != 0)
		bad = "\"id\" is not a scan id";
	else if (json_get_str(o, "state", r.state, sizeof r.state, 1) != 0 ||
	         !(strcmp(r.state, "queued") == 0 || strcmp(r.state, "running") == 0 || is_final(r.state)))
		bad = "\"state\" is not queued, running, completed, failed or cancelled";
	else if (json_get_str(o, "ports", r.ports, sizeof r.ports, 0) != 0)
		bad = "\"ports\" is not a port list";
	else if (get_count(o, "port_count", &r.nports) != 0)
		bad = "\"port_count\" is not a count";
	else if (get_time(o, "created_at", &r.created_at) || get_time(o, "started_at", &r.started_at) ||
	         get_time(o, "finished_at", &r.finished_at))
		bad = "a time is not an RFC 3339 time";
	if (bad == NULL) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "progress");
		const cJSON *ps = cJSON_GetObjectItemCaseSensitive(o, "port_states");
		if (get_count(p, "hosts_done", &r.hosts_done) || get_count(p, "hosts_total", &r.hosts_total) ||
		    get_count(p, "found", &r.found) || get_count(p, "hosts_up", &r.hosts_up))
			bad = "\"progress\" lacks hosts_done, hosts_total, found or hosts_up";
		else if (get_count(ps, "open", &r.open) || get_count(ps, "closed", &r.closed) ||
		         get_count(ps, "filtered", &r.filtered))
			bad = "\"port_states\" lacks open, closed or filtered";
	}
	if (bad == NULL) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		r.error[0] = '\0';
		if (cJSON_IsString(e))
			snprintf(r.error, sizeof r.error, "%s", e->valuestring);
		else if (e != NULL && !cJSON_IsNull(e))
			bad = "\"error\" is not a string";
	}
	if (bad == NULL) {
		const cJSON *nets = cJSON_GetObjectItemCaseSensitive(o, "subnets"), *x;
		size_t used = 0;
		r.subnets[0] = '\0';
		if (!cJSON_IsArray(nets)) {
			bad = "\"subnets\" is not an array";
			nets = NULL;
		}
		cJSON_ArrayForEach(x, nets) {
			if (!cJSON_IsString(x) || strlen(x->valuestring) > 18 || strchr(x->valuestring, ',')) {
				bad = "\"subnets\" holds something other than CIDR strings";
				break;
			}
			int k = snprintf(r.subnets + used, sizeof r.subnets - used, "%s%s", used ? "," : "", x->valuestring);
			if (k < 0 || (size_t)k >= sizeof r.subnets - used) {
				bad = "\"subnets\" is longer than a scan's subnets can be";
				break;
			}
			used += (size_t)k;
		}
	}
	if (bad) {
		snprintf(why, whylen, "%s", bad);
		return MW_EINVAL;
	}
	r.id = (int64_t)id;
	*out = r;
	return 0;
}

/* One per-port result of an answer's "results"; 0 or MW_EINVAL. */
static int
parse_result(const cJSON *e, struct disc_result *out)
{
	struct in_addr a;
	double port;
	if (json_get_str(e, "ip", out->ip, sizeof out->ip, 1) != 0 || inet_pton(AF_INET, out->ip, &a) != 1 ||
	    json_get_int(e, "port", 1, 65535, &port) != 0 || json_get_str(e, "state", out->state, sizeof out->state, 1) != 0)
		return MW_EINVAL;
	out->port = (int)port;
	if (strcmp(out->state, "open") && strcmp(out->state, "closed") && strcmp(out->state, "filtered"))
		return MW_EINVAL;
	return 0;
}

/* ---------- asking ---------- */

/* A signed request to peer p; see meshcall_request. A node without a
   mesh secret never gets here (the API refuses first), so its MW_EINVAL
   counts as "could not be asked". */
static int
call(struct remotescan *rs, const struct peer *p, const char *method, const char *path, const char *body, size_t blen,
    struct https_result *hr)
{
	if (p->ip[0] == '\0') {
		memset(hr, 0, sizeof *hr);
		snprintf(hr->detail, sizeof hr->detail, "no address is known for it");
		return MW_EIO;
	}
	struct meshcall c = {.ip = p->ip, .port = p->port, .dest = p->id, .method = method, .path = path, .body = body,
	    .blen = blen, .max_body = REMOTE_SCAN_MAX_ANSWER, .timeout_ms = REMOTE_SCAN_TIMEOUT_MS};
	int rc = meshcall_request(rs->n->mesh, &c, hr);
	return rc == MW_EINVAL ? MW_EIO : rc;
}

/* Writes what the node says of the scan (got) into this node's row id,
   unless the row is finished here already. A finished state is written
   only when final (its results are stored); until then the row stays
   running. 0, MW_ENOTFOUND (gone or finished here) or MW_EDB. */
static int
mirror(struct remotescan *rs, int64_t id, const struct scan_row *got, int final)
{
	struct store *st = rs->n->store;
	struct scan_row cur;
	pthread_mutex_lock(&rs->lock);
	int rc = store_scan_get(st, id, &cur);
	if (rc == 0 && is_final(cur.state))
		rc = MW_ENOTFOUND;
	if (rc == 0) {
		if (final || !is_final(got->state))
			snprintf(cur.state, sizeof cur.state, "%s", got->state);
		else
			snprintf(cur.state, sizeof cur.state, "running");
		cur.started_at = got->started_at;
		cur.finished_at = final ? got->finished_at : 0;
		cur.hosts_total = got->hosts_total;
		cur.hosts_done = got->hosts_done;
		cur.hosts_up = got->hosts_up;
		cur.found = got->found;
		cur.open = got->open;
		cur.closed = got->closed;
		cur.filtered = got->filtered;
		snprintf(cur.error, sizeof cur.error, "%s", got->error);
		rc = store_scan_update(st, &cur) == 0 ? 0 : MW_EDB;
	}
	pthread_mutex_unlock(&rs->lock);
	return rc;
}

/* Fails this node's row id with error (unless finished already). */
static void
fail_row(struct remotescan *rs, int64_t id, const char *error)
{
	struct scan_row cur;
	pthread_mutex_lock(&rs->lock);
	if (store_scan_get(rs->n->store, id, &cur) == 0 && !is_final(cur.state)) {
		snprintf(cur.state, sizeof cur.state, "failed");
		cur.finished_at = mw_wall_s();
		snprintf(cur.error, sizeof cur.error, "%s", error);
		if (store_scan_update(rs->n->store, &cur) != 0)
			log_warn("db", "could not store the state of scan %lld (failed)", (long long)id);
	}
	pthread_mutex_unlock(&rs->lock);
	log_warn("scan", "remote scan %lld failed: %s", (long long)id, error);
}

/* Appends the "results" of one answer to res (at most SCAN_MAX_RESULTS);
   *total is the node's count. 0, or MW_EINVAL with why. */
static int
take_results(const cJSON *a, struct disc_result *res, int *nres, int *total, char *why, size_t whylen)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(a, "results"), *e;
	double t;
	if (!cJSON_IsArray(items) || json_get_int(a, "results_total", 0, SCAN_MAX_RESULTS, &t) != 0) {
		snprintf(why, whylen, "its answer has no \"results\" and \"results_total\" (at most %d)", SCAN_MAX_RESULTS);
		return MW_EINVAL;
	}
	*total = (int)t;
	cJSON_ArrayForEach(e, items) {
		if (*nres >= *total || *nres >= SCAN_MAX_RESULTS)
			break;
		if (parse_result(e, &res[*nres]) != 0) {
			snprintf(why, whylen, "result %d of its answer is not {ip, port, state}", *nres);
			return MW_EINVAL;
		}
		(*nres)++;
	}
	return 0;
}

/* The scan got (finished on p) is copied here: its per-port results,
   page by page from first (an answer that already holds the first page,
   or NULL), then its final state. 0, or MW_EIO with why (tried again at
   the next look). */
static int
settle(struct remotescan *rs, const struct scan_row *row, const struct peer *p, const struct scan_row *got,
    const cJSON *first, char *why, size_t whylen)
{
	struct disc_result *res = calloc(SCAN_MAX_RESULTS, sizeof *res);
	int nres = 0, total = -1, rc = 0;
	if (res == NULL) {
		snprintf(why, whylen, "out of memory");
		return MW_EIO;
	}
	if (first != NULL && take_results(first, res, &nres, &total, why, whylen) != 0)
		rc = MW_EIO;
	while (rc == 0 && (total < 0 || nres < total) && nres < SCAN_MAX_RESULTS && !rs->stop) {
		char path[96];
		snprintf(path, sizeof path, "/mesh/scans/%lld?offset=%d", (long long)row->remote_id, nres);
		struct https_result hr;
		int before = nres;
		rc = call(rs, p, "GET", path, NULL, 0, &hr);
		if (rc != 0 || hr.status != 200) {
			snprintf(why, whylen, "its results could not be read: %s", rc ? hr.detail : "HTTP error");
			rc = MW_EIO;
		} else {
			cJSON *a = cJSON_ParseWithLength(hr.body, hr.body_len);
			if (take_results(a, res, &nres, &total, why, whylen) != 0)
				rc = MW_EIO;
			else if (nres == before && nres < total) {
				snprintf(why, whylen, "its results stop at %d of %d", nres, total);
				rc = MW_EIO;
			}
			cJSON_Delete(a);
		}
		https_result_free(&hr);
	}
	if (rc == 0 && rs->stop)
		rc = MW_EIO;
	if (rc == 0 && store_scan_results_put(rs->n->store, row->id, res, nres) != 0) {
		snprintf(why, whylen, "the database refused its results");
		rc = MW_EIO;
	}
	free(res);
	if (rc != 0)
		return rc;
	if (mirror(rs, row->id, got, 1) == MW_EDB) {
		snprintf(why, whylen, "the database refused its state");
		return MW_EIO;
	}
	log_info("scan", "remote scan %lld (%lld on %s): %s, %d per-port results", (long long)row->id,
	    (long long)row->remote_id, p->fqdn, got->state, nres);
	return 0;
}

/* What a node answered about the scan row (an answer with "scan" and,
   once finished, the first page of "results"): mirrored, or settled. 0,
   or MW_EIO with why. */
static int
take_answer(struct remotescan *rs, const struct scan_row *row, const struct peer *p, const struct https_result *hr,
    struct scan_row *got, char *why, size_t whylen)
{
	cJSON *a = cJSON_ParseWithLength(hr->body, hr->body_len);
	const cJSON *scan = cJSON_GetObjectItemCaseSensitive(a, "scan");
	*got = *row;
	char w[160];
	int rc = 0;
	if (remotescan_parse_scan(scan ? scan : a, got, w, sizeof w) != 0) {
		snprintf(why, whylen, "its answer is not a scan: %s", w);
		rc = MW_EIO;
	} else if (got->id != row->remote_id) {
		snprintf(why, whylen, "it answers with scan %lld, not %lld", (long long)got->id, (long long)row->remote_id);
		rc = MW_EIO;
	} else if (is_final(got->state)) {
		rc = settle(rs, row, p, got, cJSON_GetObjectItemCaseSensitive(a, "results") ? a : NULL, why, whylen);
	} else if (mirror(rs, row->id, got, 0) == MW_EDB) {
		snprintf(why, whylen, "the database refused its state");
		rc = MW_EIO;
	}
	cJSON_Delete(a);
	return rc;
}

static void
kick(struct remotescan *rs)
{
	pthread_mutex_lock(&rs->lock);
	rs->kick = 1;
	pthread_cond_broadcast(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
}

int
remotescan_submit(struct remotescan *rs, const struct peer *p, const char *body, size_t blen, struct scan_row *out,
    struct https_result *hr)
{
	memset(hr, 0, sizeof *hr);
	struct scan_row *rows = NULL;
	int n = 0;
	if (store_scans_remote_active(rs->n->store, REMOTE_SCANS_FOLLOW_MAX, &rows, &n) != 0) {
		free(rows);
		return MW_EDB;
	}
	free(rows);
	if (n >= REMOTE_SCANS_FOLLOW_MAX)
		return MW_ETOOBIG;
	int rc = call(rs, p, "POST", "/mesh/scans", body, blen, hr);
	if (rc != 0)
		return rc;
	if (hr->status != 201)
		return MW_EINVAL;
	cJSON *a = cJSON_ParseWithLength(hr->body, hr->body_len);
	struct scan_row got;
	memset(&got, 0, sizeof got);
	char why[160];
	rc = remotescan_parse_scan(a, &got, why, sizeof why);
	cJSON_Delete(a);
	if (rc != 0) {
		snprintf(hr->detail, sizeof hr->detail, "its answer (201) is not a scan: %.90s", why);
		return MW_EIO;
	}
	struct scan_row r;
	memset(&r, 0, sizeof r);
	r.created_at = mw_wall_s();
	snprintf(r.state, sizeof r.state, "%s", is_final(got.state) ? "running" : got.state);
	snprintf(r.trigger, sizeof r.trigger, "api");
	snprintf(r.subnets, sizeof r.subnets, "%s", got.subnets);
	snprintf(r.ports, sizeof r.ports, "%s", got.ports);
	r.nports = got.nports;
	r.hosts_total = got.hosts_total;
	snprintf(r.node_id, sizeof r.node_id, "%s", p->id);
	snprintf(r.node_fqdn, sizeof r.node_fqdn, "%s", p->fqdn);
	r.remote_id = got.id;
	if (store_scan_create(rs->n->store, &r) != 0) {
		log_warn("scan", "node %s (%s) queued scan %lld for this node, but the database refused this node's row for it",
		    p->id, p->fqdn, (long long)got.id);
		return MW_EDB;
	}
	log_info("scan", "scan %lld runs on node %s (%s) as its scan %lld (%s)", (long long)r.id, p->id, p->fqdn,
	    (long long)got.id, r.subnets);
	kick(rs);
	*out = r;
	return 0;
}

int
remotescan_cancel(struct remotescan *rs, const struct scan_row *row, struct scan_row *out, struct https_result *hr)
{
	memset(hr, 0, sizeof *hr);
	struct peer p;
	if (membership_get(mesh_membership(rs->n->mesh), row->node_id, &p) != 0)
		return MW_ENOTFOUND;
	char path[64];
	snprintf(path, sizeof path, "/mesh/scans/%lld", (long long)row->remote_id);
	int rc = call(rs, &p, "DELETE", path, NULL, 0, hr);
	if (rc != 0)
		return rc;
	if (hr->status != 200)
		return MW_EINVAL;
	struct scan_row got;
	char why[200];
	if (take_answer(rs, row, &p, hr, &got, why, sizeof why) != 0)
		log_warn("scan", "scan %lld: node %s cancelled its scan %lld, but %s (the follower tries again)",
		    (long long)row->id, p.fqdn, (long long)row->remote_id, why);
	kick(rs);
	if (store_scan_get(rs->n->store, row->id, out) != 0)
		*out = *row;
	return 0;
}

/* ---------- the follower ---------- */

static struct follow *
follow_of(struct remotescan *rs, int64_t id)
{
	for (int i = 0; i < rs->nfollows; i++)
		if (rs->follows[i].id == id)
			return &rs->follows[i];
	if (rs->nfollows >= REMOTE_SCANS_FOLLOW_MAX)
		return NULL;
	struct follow *f = &rs->follows[rs->nfollows++];
	memset(f, 0, sizeof *f);
	f->id = id;
	f->last_ok_ms = mw_now_ms();
	return f;
}

/* Keeps the follow entries of the rows still followed. */
static void
follow_prune(struct remotescan *rs, const struct scan_row *rows, int n)
{
	int k = 0;
	for (int i = 0; i < rs->nfollows; i++) {
		int keep = 0;
		for (int j = 0; j < n && !keep; j++)
			keep = rows[j].id == rs->follows[i].id;
		if (keep)
			rs->follows[k++] = rs->follows[i];
	}
	rs->nfollows = k;
}

static void
follow_one(struct remotescan *rs, const struct scan_row *row, struct follow *f)
{
	struct peer p;
	struct https_result hr = {0};
	char why[200] = "", path[64];
	int rc;
	snprintf(path, sizeof path, "/mesh/scans/%lld", (long long)row->remote_id);
	if (membership_get(mesh_membership(rs->n->mesh), row->node_id, &p) != 0) {
		snprintf(why, sizeof why, "it is no longer in this node's peer table");
		rc = MW_ENOTFOUND;
	} else {
		rc = call(rs, &p, "GET", path, NULL, 0, &hr);
	}
	if (rc == 0 && (hr.status == 404 || hr.status == 403)) {
		cJSON *a = cJSON_ParseWithLength(hr.body, hr.body_len);
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "detail");
		char err[sizeof row->error];
		snprintf(err, sizeof err, "node %.40s answers %d for its scan %lld: %.100s", row->node_fqdn, hr.status,
		    (long long)row->remote_id, cJSON_IsString(d) ? d->valuestring : "");
		cJSON_Delete(a);
		fail_row(rs, row->id, err);
	} else if (rc == 0 && hr.status == 200) {
		struct scan_row got;
		if (take_answer(rs, row, &p, &hr, &got, why, sizeof why) == 0)
			f->last_ok_ms = mw_now_ms();
	} else if (rc != MW_ENOTFOUND) {
		snprintf(why, sizeof why, "%s", rc ? hr.detail : "");
		if (rc == 0)
			snprintf(why, sizeof why, "HTTP %d", hr.status);
	}
	https_result_free(&hr);
	if (why[0] && strcmp(why, f->last_err) != 0) {
		log_warn("scan", "remote scan %lld on node %s (%s): %s", (long long)row->id, row->node_id, row->node_fqdn, why);
		snprintf(f->last_err, sizeof f->last_err, "%s", why);
	}
	int64_t lost_ms = (int64_t)rs->n->cfg.remote_scan_lost_s * 1000;
	if (why[0] && mw_now_ms() - f->last_ok_ms > lost_ms) {
		char err[sizeof row->error];
		snprintf(err, sizeof err, "node %.40s could not be reached for %d s (remote_scan_lost_s): %.90s", row->node_fqdn,
		    rs->n->cfg.remote_scan_lost_s, why);
		fail_row(rs, row->id, err);
	}
}

/* Returns how many scans it follows (-1: the store could not say). */
static int
follow_round(struct remotescan *rs)
{
	struct scan_row *rows = NULL;
	int n = 0;
	if (store_scans_remote_active(rs->n->store, REMOTE_SCANS_FOLLOW_MAX, &rows, &n) != 0) {
		log_warn("db", "cannot read the remote scans to follow");
		free(rows);
		return -1;
	}
	follow_prune(rs, rows, n);
	for (int i = 0; i < n && !rs->stop; i++) {
		struct follow *f = follow_of(rs, rows[i].id);
		if (f)
			follow_one(rs, &rows[i], f);
	}
	free(rows);
	return n;
}

static void *
follower_main(void *arg)
{
	struct remotescan *rs = arg;
	pthread_setname_np(pthread_self(), "mw-remotescan");
	pthread_mutex_lock(&rs->lock);
	int following = 1; /* the first round looks for scans left from the last run */
	while (!rs->stop) {
		/* nothing to follow: a scan comes only through remotescan_submit,
		   which kicks, so there is nothing to look at until then */
		int64_t deadline = mw_now_ms() + REMOTE_SCAN_POLL_MS;
		while (!rs->stop && !rs->kick) {
			if (!following)
				pthread_cond_wait(&rs->wake, &rs->lock);
			else if (mw_cond_wait_until(&rs->wake, &rs->lock, deadline))
				break;
		}
		if (rs->stop)
			break;
		rs->kick = 0;
		pthread_mutex_unlock(&rs->lock);
		following = follow_round(rs) != 0;
		pthread_mutex_lock(&rs->lock);
	}
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

struct remotescan *
remotescan_create(struct node *n, char *err, size_t errlen)
{
	struct remotescan *rs = calloc(1, sizeof *rs);
	if (rs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rs->n = n;
	pthread_mutex_init(&rs->lock, NULL);
	mw_cond_init_mono(&rs->wake);
	return rs;
}

int
remotescan_start(struct remotescan *rs, char *err, size_t errlen)
{
	if (pthread_create(&rs->thread, NULL, follower_main, rs) != 0) {
		snprintf(err, errlen, "cannot start the remote scan follower thread");
		return MW_EIO;
	}
	rs->started = 1;
	return 0;
}

void
remotescan_stop(struct remotescan *rs)
{
	if (rs == NULL)
		return;
	pthread_mutex_lock(&rs->lock);
	rs->stop = 1;
	pthread_cond_broadcast(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
	if (rs->started)
		pthread_join(rs->thread, NULL);
	rs->started = 0;
}

void
remotescan_destroy(struct remotescan *rs)
{
	if (rs == NULL)
		return;
	remotescan_stop(rs);
	pthread_mutex_destroy(&rs->lock);
	pthread_cond_destroy(&rs->wake);
	free(rs);
}
