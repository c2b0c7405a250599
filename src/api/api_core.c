/* api_core: health, node information, the dashboard, metrics, login and
   users. Handlers run on civetweb worker threads and touch shared state
   only through thread-safe modules (store, metrics, node health). */
#include <civetweb.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/auth.h"
#include "meshwatch/http.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/metrics.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/tls.h"
#include "meshwatch/util.h"

#include "views.h"

#define LIST_LIMIT_DEFAULT 50

void
api_health(struct req *r)
{
	struct node *n = r->node;
	char problems[4][160];
	int k = node_health(n, problems, 4);
	int total, alive, suspect, dead;
	membership_counts(mesh_membership(n->mesh), &total, &alive, &suspect, &dead);
	/* Written with snprintf, not a cJSON tree: monitors ask for it every
	   second or more, and the tree's allocations were a tenth of the
	   request's CPU. "status" is this node's own health (what a load
	   balancer asks); the peers it sees say whether its mesh is degraded. */
	char id[96], fqdn[600], ip[200], ts[32], body[6144];
	if (json_quote(n->id, id, sizeof id) < 0 || json_quote(n->fqdn, fqdn, sizeof fqdn) < 0 ||
	    json_quote(n->ip, ip, sizeof ip) < 0) {
		http_reply_error(r, 500, "internal", "node identity too long to answer /health");
		return;
	}
	int len = snprintf(body, sizeof body,
	    "{\"status\":\"%s\",\"timestamp\":\"%s\",\"node_id\":%s,\"node_fqdn\":%s,\"node_ip\":%s,"
	    "\"known_nodes\":%d,\"peers\":{\"alive\":%d,\"suspect\":%d,\"dead\":%d},\"uptime_s\":%lld,"
	    "\"version\":\"%s\"",
	    k == 0 ? "healthy" : "unhealthy", mw_rfc3339(mw_wall_s(), ts, sizeof ts), id, fqdn, ip, total, alive,
	    suspect, dead, (long long)((mw_now_ms() - n->started_mono_ms) / 1000), MW_VERSION);
	for (int i = 0; i < k; i++) {
		char q[1000];
		if (json_quote(problems[i], q, sizeof q) < 0)
			snprintf(q, sizeof q, "\"(problem text not printable)\"");
		len += snprintf(body + len, sizeof body - (size_t)len, "%s%s", i == 0 ? ",\"problems\":[" : ",", q);
	}
	len += snprintf(body + len, sizeof body - (size_t)len, "%s}", k > 0 ? "]" : "");
	http_reply_raw(r, k == 0 ? 200 : 503, "application/json", body, (size_t)len, NULL);
}

static void
add_identity(cJSON *o, struct node *n)
{
	cJSON_AddStringToObject(o, "node_id", n->id);
	cJSON_AddStringToObject(o, "node_fqdn", n->fqdn);
	cJSON_AddStringToObject(o, "node_ip", n->ip);
	cJSON_AddNumberToObject(o, "port", n->cfg.listen_port);
	cJSON_AddStringToObject(o, "version", MW_VERSION);
	json_add_time(o, "started_at", n->started_wall);
	cJSON_AddNumberToObject(o, "uptime_s", (double)((mw_now_ms() - n->started_mono_ms) / 1000));
}

void
api_root(struct req *r)
{
	http_reply_raw(r, 302, "text/plain; charset=utf-8", "See /dashboard\n", 15, "Location: /dashboard\r\n");
}

static const struct asset *
find_asset(const char *name)
{
	for (unsigned long i = 0; i < mw_assets_count; i++)
		if (strcmp(mw_assets[i].name, name) == 0)
			return &mw_assets[i];
	return NULL;
}

/* The page loads only its own embedded files: nothing from elsewhere. */
#define PAGE_HEADERS \
	"Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self'; " \
	"script-src 'self'; connect-src 'self'; frame-ancestors 'none'\r\n" \
	"X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"

void
api_dashboard(struct req *r)
{
	const struct asset *a = find_asset("index.html");
	if (a == NULL) {
		http_reply_error(r, 500, "internal", "the dashboard was not built into this binary");
		return;
	}
	http_reply_raw(r, 200, a->content_type, a->data, a->len, PAGE_HEADERS);
}

void
api_asset(struct req *r)
{
	const char *name = r->path + strlen("/assets/");
	const struct asset *a = find_asset(name);
	if (a == NULL || strcmp(name, "index.html") == 0) {
		http_reply_error(r, 404, "not_found", "no such asset: %s", name);
		return;
	}
	http_reply_raw(r, 200, a->content_type, a->data, a->len, PAGE_HEADERS);
}

void
api_metrics(struct req *r)
{
	size_t len = 0;
	char *text = metrics_render(r->node->metrics, r->node, &len);
	if (text == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	/* Prometheus asks for gzip: the page of a large mesh shrinks about
	   tenfold (label names repeat on every line). Level 1: most of the
	   gain for a fraction of the CPU. */
	const char *ae = mg_get_header(r->conn, "Accept-Encoding");
	if (ae && strstr(ae, "gzip")) {
		z_stream z = {0};
		uLong cap = compressBound((uLong)len) + 32;
		unsigned char *gz = malloc(cap);
		if (gz && deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
			z.next_in = (unsigned char *)text;
			z.avail_in = (uInt)len;
			z.next_out = gz;
			z.avail_out = (uInt)cap;
			int zr = deflate(&z, Z_FINISH);
			size_t gzlen = z.total_out;
			deflateEnd(&z);
			if (zr == Z_STREAM_END) {
				free(text);
				http_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", gz, gzlen,
				    "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
				free(gz);
				return;
			}
		}
		free(gz); /* not compressed: sent as it is */
	}
	http_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, "Vary: Accept-Encoding\r\n");
	free(text);
}

void
api_node(struct req *r)
{
	struct node *n = r->node;
	struct tls_stats ts;
	struct cert_info cert;
	char problems[4][160];
	int k = node_health(n, problems, 4);
	pthread_mutex_lock(&n->health_lock);
	cert = n->cert;
	pthread_mutex_unlock(&n->health_lock);
	tls_server_stats(n->tls, &ts);

	cJSON *o = cJSON_CreateObject();
	add_identity(o, n);
	cJSON_AddStringToObject(o, "status", k == 0 ? "healthy" : "unhealthy");
	cJSON *p = cJSON_AddArrayToObject(o, "problems");
	for (int i = 0; i < k; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(problems[i]));
	cJSON_AddStringToObject(o, "listen", n->cfg.listen);
	cJSON_AddStringToObject(o, "node_env", n->cfg.node_env);
	cJSON *mc = views_mesh_counts(mesh_membership(n->mesh));
	cJSON_AddNumberToObject(o, "known_nodes", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(mc, "total")));
	cJSON_AddItemToObject(o, "mesh", mc);
	cJSON_AddNumberToObject(mc, "incarnation", (double)membership_incarnation(mesh_membership(n->mesh)));
	cJSON_AddBoolToObject(mc, "signed", n->cfg.mesh_secret[0] != '\0');
	cJSON *c = cJSON_AddObjectToObject(o, "certificate");
	cJSON_AddStringToObject(c, "subject", cert.subject);
	json_add_time(c, "not_before", cert.not_before);
	json_add_time(c, "not_after", cert.not_after);
	cJSON_AddNumberToObject(c, "days_left", (double)((cert.not_after - mw_wall_s()) / 86400));
	cJSON_AddStringToObject(c, "sha256", cert.fingerprint);
	cJSON *sans = cJSON_AddArrayToObject(c, "names");
	for (int i = 0; i < cert.san_count; i++)
		cJSON_AddItemToArray(sans, cJSON_CreateString(cert.sans[i]));
	cJSON *d = cJSON_AddObjectToObject(o, "database");
	cJSON_AddStringToObject(d, "path", store_path(n->store));
	cJSON_AddNumberToObject(d, "size_bytes", (double)store_size_bytes(n->store));
	cJSON_AddNumberToObject(d, "schema_version", store_schema_version(n->store));
	cJSON_AddBoolToObject(d, "writable", k == 0 || n->db_writable);
	cJSON *t = cJSON_AddObjectToObject(o, "tls");
	cJSON_AddNumberToObject(t, "handshakes_ok", (double)ts.handshakes_ok);
	cJSON_AddNumberToObject(t, "handshakes_failed", (double)ts.handshakes_failed);
	cJSON *why = cJSON_AddObjectToObject(t, "failed_by_kind");
	cJSON_AddNumberToObject(why, "no_hello", (double)ts.failed_no_hello);
	cJSON_AddNumberToObject(why, "not_tls", (double)ts.failed_not_tls);
	cJSON_AddNumberToObject(why, "tls_error", (double)ts.failed_tls_error);
	cJSON_AddNumberToObject(t, "handshake_avg_ms", ts.handshakes_ok ? ts.handshake_ms_sum / (double)ts.handshakes_ok : 0);
	cJSON_AddNumberToObject(t, "certificate_reloads", (double)ts.reloads);
	cJSON_AddNumberToObject(o, "users", store_user_count(n->store));
	cJSON_AddNumberToObject(o, "sessions", store_session_count(n->store));
	cJSON_AddNumberToObject(o, "tokens", store_token_count(n->store));
	http_reply_json(r, 200, o, NULL);
}

static cJSON *
user_json(const struct user_row *u)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)u->id);
	cJSON_AddStringToObject(o, "username", u->username);
	cJSON_AddStringToObject(o, "role", store_role_name(u->role));
	json_add_time(o, "created_at", u->created_at);
	json_add_time(o, "updated_at", u->updated_at);
	return o;
}

/* Reads a required (or optional) string field of the JSON body; replies 400
   naming it and returns NULL when missing or not a string. */
static const char *
body_string(struct req *r, const char *key, int required)
{
	if (!cJSON_IsObject(r->body)) {
		http_reply_error(r, 400, "invalid_body", "request body must be a JSON object");
		return NULL;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, key);
	if (v == NULL && !required)
		return "";
	if (!cJSON_IsString(v)) {
		http_reply_error(r, 400, "invalid_field", "field \"%s\" %s", key,
		    v == NULL ? "is required" : "must be a string");
		return NULL;
	}
	return v->valuestring;
}

static void
reply_rate_limited(struct req *r, int wait, const char *detail)
{
	char hdr[64];
	snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", wait);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", "rate_limited");
	cJSON_AddStringToObject(o, "detail", detail);
	http_reply_json(r, 429, o, hdr);
}

/* The per-account limiter's key: a hash of the username, whatever its
   length or bytes, so the table's entries stay small. */
static void
account_key(const char *username, char key[41])
{
	char h[AUTH_TOKEN_HASH_LEN + 1];
	auth_token_hash(username, h);
	memcpy(key, h, 40);
	key[40] = '\0';
}

/* Counts one password guess at username, from any address: 0 when it may
   be checked, else replies 429 and returns MW_EREPLIED. */
static int
account_limit(struct req *r, const char *username, const char key[41])
{
	struct node *n = r->node;
	int wait = ratelimit_hit(n->account_rl, key, mw_now_ms());
	if (wait == 0)
		return 0;
	char detail[256];
	snprintf(detail, sizeof detail,
	    "too many login attempts for user \"%.64s\": at most %d a minute from all addresses together "
	    "(login_attempts_per_account_per_min); retry in %d s", username, n->cfg.login_attempts_per_account_per_min,
	    wait);
	reply_rate_limited(r, wait, detail);
	log_warn("auth", "login rate limit reached for user \"%.64s\" (last attempt from %s)", username, r->client);
	return MW_EREPLIED;
}

/* Checks pass against the stored hash of username, or, for a username the
   store does not know, against a dummy hash with the configured
   pbkdf2_iterations: both paths cost one PBKDF2 run of that length, so
   response times do not tell which usernames exist. 1 with *u filled when
   the password is right, else 0. */
static int
check_password(struct req *r, const char *username, const char *pass, struct user_row *u)
{
	char hash[AUTH_HASH_MAX];
	int found = strlen(username) <= STORE_USERNAME_MAX && strlen(pass) <= AUTH_PASSWORD_MAX &&
	            store_user_get_by_name(r->node->store, username, u, hash, sizeof hash) == 0;
	if (!found && auth_dummy_hash(r->node->cfg.pbkdf2_iterations, hash, sizeof hash) != 0)
		return 0;
	return auth_verify_password(pass, hash) == 1 && found;
}

void
api_login(struct req *r)
{
	struct node *n = r->node;
	int wait = ratelimit_hit(n->login_rl, r->client, mw_now_ms());
	if (wait > 0) {
		char detail[160];
		snprintf(detail, sizeof detail,
		    "too many login attempts from %s: at most %d a minute; retry in %d s", r->client,
		    n->cfg.login_attempts_per_min, wait);
		reply_rate_limited(r, wait, detail);
		log_warn("auth", "login rate limit reached for %s", r->client);
		return;
	}
	const char *user = body_string(r, "username", 1);
	if (user == NULL)
		return;
	const char *pass = body_string(r, "password", 1);
	if (pass == NULL)
		return;
	char key[41];
	account_key(user, key);
	if (account_limit(r, user, key) != 0)
		return;
	struct user_row u;
	if (!check_password(r, user, pass, &u)) {
		log_info("auth", "failed login for \"%.64s\" from %s", user, r->client);
		http_reply_error(r, 401, "invalid_credentials", "unknown username or wrong password");
		return;
	}
	/* the right password: earlier wrong guesses no longer count against
	   this account */
	ratelimit_reset(n->account_rl, key);
	char token[AUTH_TOKEN_LEN + 1], th[AUTH_TOKEN_HASH_LEN + 1];
	int ttl = __atomic_load_n(&n->session_ttl_s, __ATOMIC_RELAXED);
	int64_t expires = mw_wall_s() + ttl;
	if (auth_new_token(token, th) != 0 || store_session_create(n->store, th, u.id, expires) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot store the session: the database refused the write");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", token);
	json_add_time(o, "expires_at", expires);
	cJSON_AddItemToObject(o, "user", user_json(&u));
	char cookie[256];
	snprintf(cookie, sizeof cookie,
	    "Set-Cookie: mw_session=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=Strict\r\n", token, ttl);
	log_info("auth", "user \"%s\" logged in from %s", u.username, r->client);
	http_reply_json(r, 200, o, cookie);
}

void
api_logout(struct req *r)
{
	store_session_delete(r->node->store, r->token_hash);
	http_reply_raw(r, 204, "application/json", "", 0,
	    "Set-Cookie: mw_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict\r\n");
}

/* The caller: a session's user (with its role), or for an API token the
   token and its scope as "role", so a script can check what it may do. */
void
api_me(struct req *r)
{
	if (r->cred == REQ_CRED_SESSION) {
		http_reply_json(r, 200, user_json(&r->user), NULL);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "role", store_role_name(r->role));
	if (r->cred == REQ_CRED_TOKEN) {
		cJSON *t = cJSON_AddObjectToObject(o, "token");
		cJSON_AddNumberToObject(t, "id", (double)r->token.id);
		cJSON_AddStringToObject(t, "name", r->token.name);
		cJSON_AddStringToObject(t, "scope", store_role_name(r->token.scope));
		json_add_time_or_null(t, "expires_at", r->token.expires_at);
	}
	http_reply_json(r, 200, o, NULL);
}

void
api_users_list(struct req *r)
{
	int limit, offset, n = 0, total = 0;
	char q[STORE_USERNAME_MAX + 1] = "";
	if (http_query_int(r, "limit", LIST_LIMIT_DEFAULT, 1, API_LIST_MAX, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset) || http_query_str(r, "q", q, sizeof q) == MW_EREPLIED)
		return;
	struct user_row *rows = NULL;
	if (store_user_list(r->node->store, q, limit, offset, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read users from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, user_json(&rows[i]));
	free(rows);
	http_reply_collection(r, items, total, limit, offset);
}

/* The optional "role" of a user: ROLE_* in *role, -1 when absent. 0, or
   MW_EREPLIED after a 400. */
static int
body_role(struct req *r, int *role)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, "role");
	*role = -1;
	if (v == NULL)
		return 0;
	*role = cJSON_IsString(v) ? store_role_parse(v->valuestring) : -1;
	if (*role < 0) {
		http_reply_error(r, 400, "invalid_field",
		    "field \"role\" must be \"admin\" (may change anything) or \"read\" (GET and HEAD only)");
		return MW_EREPLIED;
	}
	return 0;
}

static void
reply_last_admin(struct req *r, const char *what)
{
	http_reply_error(r, 409, "last_admin",
	    "cannot %s user %lld: it is the only admin, and without one nobody could manage this node; make another user "
	    "an admin first", what, (long long)r->id);
}

static int
validate_user_fields(struct req *r, const char *user, const char *pass)
{
	const char *why = NULL;
	const char *field = "username";
	if (user && *user)
		why = auth_check_username(user);
	if (!why && pass && *pass) {
		why = auth_check_password(pass);
		field = "password";
	}
	if (why) {
		http_reply_error(r, 400, "invalid_field", "field \"%s\": %s", field, why);
		return MW_EREPLIED;
	}
	return 0;
}

void
api_users_create(struct req *r)
{
	const char *user = body_string(r, "username", 1);
	if (user == NULL)
		return;
	const char *pass = body_string(r, "password", 1);
	if (pass == NULL)
		return;
	if (!*user || !*pass) {
		http_reply_error(r, 400, "invalid_field", "field \"%s\" must not be empty", *user ? "password" : "username");
		return;
	}
	int role;
	if (validate_user_fields(r, user, pass) != 0 || body_role(r, &role) != 0)
		return;
	char hash[AUTH_HASH_MAX];
	struct user_row u;
	if (auth_hash_password(pass, r->node->cfg.pbkdf2_iterations, hash, sizeof hash) != 0) {
		http_reply_error(r, 500, "internal", "cannot hash the password");
		return;
	}
	int rc = store_user_create_role(r->node->store, user, hash, role < 0 ? ROLE_ADMIN : role, r->node->cfg.max_users,
	    &u);
	if (rc == MW_EEXIST) {
		http_reply_error(r, 409, "username_taken", "a user named \"%s\" already exists", user);
	} else if (rc == MW_ETOOBIG) {
		http_reply_error(r, 409, "user_limit", "the node already has %d users, the limit (max_users)",
		    r->node->cfg.max_users);
	} else if (rc != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot write the user to the database");
	} else {
		log_info("auth", "user \"%s\" (role %s) created by \"%s\"", u.username, store_role_name(u.role),
		    r->user.username);
		char loc[80];
		snprintf(loc, sizeof loc, "Location: /api/users/%lld\r\n", (long long)u.id);
		http_reply_json(r, 201, user_json(&u), loc);
	}
}

void
api_users_get(struct req *r)
{
	struct user_row u;
	if (store_user_get(r->node->store, r->id, &u) != 0) {
		http_reply_error(r, 404, "not_found", "no user with id %lld", (long long)r->id);
		return;
	}
	http_reply_json(r, 200, user_json(&u), NULL);
}

/* A password change, one's own or another user's, needs the password of
   the user making it in "current_password": a stolen session or token
   alone cannot take over an account. An admin
   may set another user's password (a forgotten one can be replaced) by
   giving their own. Wrong guesses count against the acting user's
   per-account login limit. 0 when confirmed, else MW_EREPLIED after
   replying. */
static int
reauthenticate(struct req *r)
{
	if (r->cred != REQ_CRED_SESSION) {
		http_reply_error(r, 403, "forbidden",
		    "a password change needs a logged-in user and their \"current_password\"; an API token cannot make one");
		return MW_EREPLIED;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, "current_password");
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		http_reply_error(r, 400, "invalid_field",
		    "field \"current_password\" %s: a password change needs the password of the user making it (\"%s\")",
		    v == NULL ? "is required" : "must be a non-empty string", r->user.username);
		return MW_EREPLIED;
	}
	char key[41];
	account_key(r->user.username, key);
	if (account_limit(r, r->user.username, key) != 0)
		return MW_EREPLIED;
	struct user_row me;
	if (!check_password(r, r->user.username, v->valuestring, &me) || me.id != r->user.id) {
		log_info("auth", "password change refused: wrong current_password for \"%s\" from %s", r->user.username,
		    r->client);
		http_reply_error(r, 403, "wrong_current_password",
		    "field \"current_password\" is not the password of \"%s\", the user making this change", r->user.username);
		return MW_EREPLIED;
	}
	ratelimit_reset(r->node->account_rl, key);
	return 0;
}

void
api_users_update(struct req *r)
{
	const char *user = body_string(r, "username", 0);
	if (user == NULL)
		return;
	const char *pass = body_string(r, "password", 0);
	if (pass == NULL)
		return;
	int is_put = strcmp(r->method, "PUT") == 0;
	int role;
	if (body_role(r, &role) != 0)
		return;
	if (!*user && !*pass && role < 0) {
		http_reply_error(r, 400, "invalid_body", "give \"username\", \"password\", \"role\" or several");
		return;
	}
	if (is_put && !*user) {
		http_reply_error(r, 400, "invalid_field", "field \"username\" is required for PUT (use PATCH to change only the password)");
		return;
	}
	if (validate_user_fields(r, user, pass) != 0)
		return;
	if (*pass && reauthenticate(r) != 0)
		return;
	char hash[AUTH_HASH_MAX];
	if (*pass && auth_hash_password(pass, r->node->cfg.pbkdf2_iterations, hash, sizeof hash) != 0) {
		http_reply_error(r, 500, "internal", "cannot hash the password");
		return;
	}
	int rc = store_user_update(r->node->store, r->id, *user ? user : NULL, *pass ? hash : NULL, role,
	    r->cred == REQ_CRED_SESSION ? r->token_hash : NULL);
	if (rc == MW_ELAST) {
		reply_last_admin(r, "make read-only");
		return;
	}
	if (rc == MW_ENOTFOUND) {
		http_reply_error(r, 404, "not_found", "no user with id %lld", (long long)r->id);
		return;
	}
	if (rc == MW_EEXIST) {
		http_reply_error(r, 409, "username_taken", "a user named \"%s\" already exists", user);
		return;
	}
	if (rc != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot write the user to the database");
		return;
	}
	if (role >= 0)
		log_info("auth", "user %lld given the role %s by \"%s\"", (long long)r->id, store_role_name(role),
		    r->user.username);
	api_users_get(r);
}

void
api_users_delete(struct req *r)
{
	struct store *st = r->node->store;
	struct user_row u;
	if (store_user_get(st, r->id, &u) != 0) {
		http_reply_error(r, 404, "not_found", "no user with id %lld", (long long)r->id);
		return;
	}
	if (store_user_count(st) <= 1) {
		http_reply_error(r, 409, "last_user", "cannot delete the only user: nobody could log in afterwards");
		return;
	}
	int rc = store_user_delete_keep_admin(st, r->id);
	if (rc == MW_ELAST) {
		reply_last_admin(r, "delete");
		return;
	}
	if (rc != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot delete the user from the database");
		return;
	}
	log_info("auth", "user \"%s\" deleted by \"%s\"", u.username, r->user.username);
	http_reply_raw(r, 204, "application/json", "", 0, NULL);
}
