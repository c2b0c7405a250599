/* node: builds and frees the state every module shares (identity,
   certificate and TLS server, database, login rate limits, root user;
   main.c hangs the modules on it), does the main thread's periodic work
   (database and certificate checks, session purge), applies a reload and
   sums up health. Request threads only read what this file writes, under
   health_lock. */
#include "meshwatch/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshwatch/auth.h"
#include "meshwatch/events.h"
#include "meshwatch/log.h"
#include "meshwatch/store.h"
#include "meshwatch/tls.h"
#include "meshwatch/util.h"

static int
load_or_make_id(const char *dir, char id[37], char *err, size_t errlen)
{
	char path[4200];
	int ferr = 0;
	snprintf(path, sizeof path, "%s/node_id", dir);
	char *text = mw_read_file(path, 256, NULL, &ferr);
	if (text) {
		size_t n = strcspn(text, " \r\n\t");
		text[n] = '\0';
		if (n == 36) {
			memcpy(id, text, 37);
			free(text);
			return 0;
		}
		log_warn("node", "%s does not hold a UUID: making a new identity", path);
		free(text);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return MW_EIO;
	}
	char line[40];
	if (mw_uuid4(id) != 0) {
		snprintf(err, errlen, "cannot read random bytes for the node id");
		return MW_EIO;
	}
	snprintf(line, sizeof line, "%s\n", id);
	if (mw_write_file_atomic(path, line, strlen(line), 0644) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return MW_EIO;
	}
	log_info("node", "new node id %s written to %s", id, path);
	return 0;
}

/* First non-loopback interface address, IPv4 preferred. */
static int
first_interface_ip(char *out, size_t outlen)
{
	struct ifaddrs *ifa = NULL;
	int found = 0;
	if (getifaddrs(&ifa) != 0)
		return 0;
	for (int pass = 0; pass < 2 && !found; pass++) {
		int fam = pass == 0 ? AF_INET : AF_INET6;
		for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != fam || (i->ifa_flags & IFF_LOOPBACK) ||
			    !(i->ifa_flags & IFF_UP))
				continue;
			if (fam == AF_INET6) {
				struct in6_addr *a = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
				if (IN6_IS_ADDR_LINKLOCAL(a))
					continue;
				inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
			} else {
				inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, out, (socklen_t)outlen);
			}
			found = 1;
		}
	}
	freeifaddrs(ifa);
	return found;
}

/* ROOT_USER/ROOT_PASSWORD create or update that user; with neither and no
   users at all, the user "admin" is made with a generated password, which
   goes to DATA_DIR/admin-password (0600, the password alone on one line),
   written once. */
static int
ensure_admin(struct node *n, char *err, size_t errlen)
{
	const struct config *c = &n->cfg;
	char hash[AUTH_HASH_MAX];
	struct user_row u;
	if (c->root_user[0]) {
		const char *why = auth_check_username(c->root_user);
		if (!why)
			why = auth_check_password(c->root_password);
		if (why) {
			snprintf(err, errlen, "ROOT_USER/ROOT_PASSWORD: %s", why);
			return MW_EINVAL;
		}
		if (auth_hash_password(c->root_password, c->pbkdf2_iterations, hash, sizeof hash) != 0) {
			snprintf(err, errlen, "cannot hash ROOT_PASSWORD");
			return MW_ECRYPTO;
		}
		char old[AUTH_HASH_MAX];
		if (store_user_get_by_name(n->store, c->root_user, &u, old, sizeof old) == 0) {
			/* ROOT_USER is the way back in: always an administrator */
			int same = auth_verify_password(c->root_password, old) == 1;
			if (same && u.role == ROLE_ADMIN)
				return 0;
			if (store_user_update(n->store, u.id, NULL, same ? NULL : hash, ROLE_ADMIN, NULL) != 0) {
				snprintf(err, errlen, "cannot update root user in the database");
				return MW_EDB;
			}
			if (u.role != ROLE_ADMIN)
				log_warn("auth", "root user \"%s\" had the read role: made an admin again (ROOT_USER)", c->root_user);
			if (!same)
				log_info("auth", "root user \"%s\" password updated from ROOT_PASSWORD", c->root_user);
			return 0;
		}
		if (store_user_create(n->store, c->root_user, hash, c->max_users + 1, &u) != 0) {
			snprintf(err, errlen, "cannot create root user in the database");
			return MW_EDB;
		}
		log_info("auth", "root user \"%s\" created from ROOT_USER", c->root_user);
		return 0;
	}
	if (store_user_count(n->store) > 0)
		return 0;
	char path[4200], pw[33], line[64];
	unsigned char raw[16];
	snprintf(path, sizeof path, "%s/admin-password", c->data_dir);
	if (access(path, F_OK) == 0) {
		log_warn("auth", "no users exist; %s is from an earlier start: delete it and restart to make a new one, "
		                 "or set ROOT_USER and ROOT_PASSWORD", path);
		return 0;
	}
	if (mw_random(raw, sizeof raw) != 0)
		return MW_EIO;
	mw_hex(raw, sizeof raw, pw);
	if (auth_hash_password(pw, c->pbkdf2_iterations, hash, sizeof hash) != 0 ||
	    store_user_create(n->store, "admin", hash, c->max_users, &u) != 0) {
		snprintf(err, errlen, "cannot create the admin user");
		return MW_EDB;
	}
	snprintf(line, sizeof line, "%s\n", pw);
	if (mw_write_file_atomic(path, line, strlen(line), 0600) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return MW_EIO;
	}
	log_warn("auth", "no users and no ROOT_USER: created user \"admin\"; its password (the file's only line) is in %s",
	    path);
	return 0;
}

static struct certs_opts
cert_opts(const struct node *n)
{
	struct certs_opts o = {
		.dir = n->cfg.cert_dir,
		.name = n->fqdn,
		.listen_addr = n->ip, /* the advertised address */
		.extra_sans = n->cfg.cert_extra_sans,
		.validity_s = (int64_t)n->cfg.cert_validity_days * 86400,
		.renew_before_s = (int64_t)n->cfg.cert_renew_days * 86400,
	};
	/* Tests shorten these to see a renewal happen in seconds. */
	const char *v = getenv("MESHWATCH_CERT_VALIDITY_S");
	if (v && atoll(v) > 0)
		o.validity_s = atoll(v);
	v = getenv("MESHWATCH_CERT_RENEW_BEFORE_S");
	if (v && atoll(v) >= 0 && *v)
		o.renew_before_s = atoll(v);
	return o;
}

struct node *
node_create(const struct config *cfg, char *err, size_t errlen)
{
	struct node *n = calloc(1, sizeof *n);
	char keyp[4200], certp[4200];
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&n->health_lock, NULL);
	n->cfg = *cfg;
	n->started_wall = mw_wall_s();
	n->started_mono_ms = mw_now_ms();
	n->session_ttl_s = cfg->session_ttl_s;
	if (cfg->metrics_token[0])
		auth_token_hash(cfg->metrics_token, n->metrics_token_hash);
	if (mw_mkdir_p(cfg->data_dir, 0700) != 0) {
		snprintf(err, errlen, "data_dir %s: cannot create: %s", cfg->data_dir, strerror(errno));
		goto fail;
	}
	if (load_or_make_id(cfg->data_dir, n->id, err, errlen) != 0)
		goto fail;
	if (cfg->name[0]) {
		snprintf(n->fqdn, sizeof n->fqdn, "%s", cfg->name);
	} else if (gethostname(n->fqdn, sizeof n->fqdn) != 0) {
		strcpy(n->fqdn, "localhost");
	}
	n->fqdn[sizeof n->fqdn - 1] = '\0';
	if (cfg->advertise[0])
		snprintf(n->ip, sizeof n->ip, "%s", cfg->advertise);
	else if (strcmp(cfg->listen_addr, "0.0.0.0") != 0 && strcmp(cfg->listen_addr, "::") != 0)
		snprintf(n->ip, sizeof n->ip, "%s", cfg->listen_addr);
	else if (!first_interface_ip(n->ip, sizeof n->ip))
		snprintf(n->ip, sizeof n->ip, "%s", cfg->listen_addr);

	struct certs_opts co = cert_opts(n);
	if (certs_ensure(&co, &n->cert, err, errlen) < 0)
		goto fail;
	certs_key_path(cfg->cert_dir, keyp, sizeof keyp);
	certs_cert_path(cfg->cert_dir, certp, sizeof certp);
	n->tls = tls_server_create(certp, keyp, err, errlen);
	if (n->tls == NULL)
		goto fail;

	n->store = store_open(cfg->data_dir, err, errlen);
	if (n->store == NULL)
		goto fail;
	store_set_size_cap(n->store, cfg->db_max_bytes);
	n->events = events_create(n->store, 1024, cfg->events_max_rows);
	if (n->events == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n->login_rl = ratelimit_create(cfg->login_attempts_per_min, 4096);
	n->account_rl = ratelimit_create(cfg->login_attempts_per_account_per_min, 4096);
	if (n->login_rl == NULL || n->account_rl == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (ensure_admin(n, err, errlen) != 0)
		goto fail;
	node_check_db(n);
	return n;
fail:
	node_destroy(n);
	return NULL;
}

void
node_destroy(struct node *n)
{
	if (n == NULL)
		return;
	ratelimit_destroy(n->login_rl);
	ratelimit_destroy(n->account_rl);
	if (n->events && events_flush(n->events) != 0)
		log_warn("events", "the last events could not be stored");
	events_destroy(n->events);
	store_close(n->store);
	tls_server_destroy(n->tls);
	pthread_mutex_destroy(&n->health_lock);
	free(n);
}

/* The database state as an event (kept in the ring until the database
   takes writes again). */
static void
db_event(struct node *n, const char *from, const char *to, int severity, const char *error)
{
	struct event_row e;
	event_init(&e, "db_state", severity, "node", n->id, n->fqdn, from, to);
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "path", store_path(n->store));
	if (error[0])
		cJSON_AddStringToObject(evd, "error", error);
	event_set_evidence(&e, evd);
	events_emit(n->events, &e);
}

/* A certificate nearer its end than the renewal window means renewal
   failed: a warning inside the window, critical in its last fifth (or 2
   days), and one event back to fine once renewed. */
static void
cert_event(struct node *n, const struct cert_info *info, int64_t renew_before_s)
{
	int64_t left = info->not_after - mw_wall_s();
	int64_t crit = renew_before_s / 5 > 2 * 86400 ? renew_before_s / 5 : 2 * 86400;
	int level = left < crit ? 2 : left < renew_before_s ? 1 : 0;
	if (level == n->cert_level)
		return;
	static const char *const names[] = {"valid", "expiring", "expiring_soon"};
	struct event_row e;
	event_init(&e, "cert_expiry", level == 2 ? EVENT_CRITICAL : level == 1 ? EVENT_WARNING : EVENT_INFO, "node", n->id,
	    n->fqdn, names[n->cert_level], names[level]);
	cJSON *evd = cJSON_CreateObject();
	char t[32];
	mw_rfc3339(info->not_after, t, sizeof t);
	cJSON_AddStringToObject(evd, "not_after", t);
	cJSON_AddNumberToObject(evd, "seconds_left", (double)left);
	cJSON_AddStringToObject(evd, "fingerprint", info->fingerprint);
	event_set_evidence(&e, evd);
	events_emit(n->events, &e);
	if (level > 0)
		log_warn("cert", "the certificate ends at %s (%lld s from now) and was not renewed", t, (long long)left);
	n->cert_level = level;
}

void
node_check_db(struct node *n)
{
	char err[256] = "";
	int ok = store_check_writable(n->store, err, sizeof err) == 0;
	pthread_mutex_lock(&n->health_lock);
	int was = n->db_writable, had_error = n->db_error[0] != '\0';
	n->db_writable = ok;
	snprintf(n->db_error, sizeof n->db_error, "%s", err);
	pthread_mutex_unlock(&n->health_lock);
	if (was && !ok) {
		log_error("db", "database is not writable: %s", err);
		db_event(n, "writable", "not_writable", EVENT_CRITICAL, err);
	} else if (!was && ok && had_error) {
		log_info("db", "database is writable again");
		db_event(n, "not_writable", "writable", EVENT_INFO, "");
	}
}

void
node_check_cert(struct node *n)
{
	char err[256], keyp[4200], certp[4200];
	struct cert_info info;
	struct certs_opts co = cert_opts(n);
	int rc = certs_ensure(&co, &info, err, sizeof err);
	if (rc < 0) {
		log_error("cert", "certificate check failed: %s (keeping the current one)", err);
		pthread_mutex_lock(&n->health_lock);
		info = n->cert;
		pthread_mutex_unlock(&n->health_lock);
		cert_event(n, &info, co.renew_before_s);
		return;
	}
	if (rc == 1) {
		certs_key_path(n->cfg.cert_dir, keyp, sizeof keyp);
		certs_cert_path(n->cfg.cert_dir, certp, sizeof certp);
		if (tls_server_reload(n->tls, certp, keyp, err, sizeof err) != 0) {
			log_error("cert", "cannot load the renewed certificate: %s (keeping the current one)", err);
			return;
		}
		log_info("cert", "serving the renewed certificate from now on");
	}
	pthread_mutex_lock(&n->health_lock);
	n->cert = info;
	pthread_mutex_unlock(&n->health_lock);
	cert_event(n, &info, co.renew_before_s);
}

void
node_purge_sessions(struct node *n)
{
	int k = store_session_purge(n->store, mw_wall_s());
	if (k > 0)
		log_info("auth", "purged %d expired sessions", k);
	else if (k < 0)
		log_warn("auth", "session purge failed: %s", mw_strerror(k));
}

void
node_apply_reload(struct node *n, const struct config *fresh)
{
	ratelimit_set_rate(n->login_rl, fresh->login_attempts_per_min);
	ratelimit_set_rate(n->account_rl, fresh->login_attempts_per_account_per_min);
	__atomic_store_n(&n->session_ttl_s, fresh->session_ttl_s, __ATOMIC_RELAXED);
	static const struct {
		const char *name;
		size_t off, size;
	} restart[] = {
		{"listen", offsetof(struct config, listen), sizeof(((struct config *)0)->listen)},
		{"data_dir", offsetof(struct config, data_dir), sizeof(((struct config *)0)->data_dir)},
		{"cert_dir", offsetof(struct config, cert_dir), sizeof(((struct config *)0)->cert_dir)},
		{"name", offsetof(struct config, name), sizeof(((struct config *)0)->name)},
		{"advertise", offsetof(struct config, advertise), sizeof(((struct config *)0)->advertise)},
		{"http_threads", offsetof(struct config, http_threads), sizeof(int)},
		{"max_body_bytes", offsetof(struct config, max_body_bytes), sizeof(int)},
		{"iface", offsetof(struct config, capture_iface), sizeof(((struct config *)0)->capture_iface)},
		{"pcap", offsetof(struct config, capture_pcap), sizeof(((struct config *)0)->capture_pcap)},
		{"bpf", offsetof(struct config, capture_bpf), sizeof(((struct config *)0)->capture_bpf)},
		{"snaplen", offsetof(struct config, capture_snaplen), sizeof(int)},
		{"retention", offsetof(struct config, capture_retention_s), sizeof(int)},
		{"capture_buffer_bytes", offsetof(struct config, capture_buffer_bytes), sizeof(int)},
		{"max_flows", offsetof(struct config, capture_max_flows), sizeof(int)},
		{"metrics_token_file", offsetof(struct config, metrics_token_file), sizeof(((struct config *)0)->metrics_token_file)},
		{"the token in metrics_token_file", offsetof(struct config, metrics_token), sizeof(((struct config *)0)->metrics_token)},
	};
	for (size_t i = 0; i < MW_ARRAY_LEN(restart); i++)
		if (memcmp((const char *)&n->cfg + restart[i].off, (const char *)fresh + restart[i].off, restart[i].size) != 0)
			log_warn("config", "%s changed: it takes effect at the next restart", restart[i].name);
	n->cfg.session_ttl_s = fresh->session_ttl_s;
	n->cfg.login_attempts_per_min = fresh->login_attempts_per_min;
	n->cfg.login_attempts_per_account_per_min = fresh->login_attempts_per_account_per_min;
	snprintf(n->cfg.log_level, sizeof n->cfg.log_level, "%s", fresh->log_level);
	/* Said before the new level applies, so it shows whatever the level. */
	log_info("config", "reloaded: log_level=%s login_attempts_per_min=%d session_ttl_s=%d "
	    "login_attempts_per_account_per_min=%d", fresh->log_level, fresh->login_attempts_per_min, fresh->session_ttl_s,
	    fresh->login_attempts_per_account_per_min);
	log_set_level(log_parse_level(fresh->log_level));
}

int
node_health(struct node *n, char problems[][160], int max)
{
	int k = 0;
	int64_t now = mw_wall_s();
	pthread_mutex_lock(&n->health_lock);
	if (!n->db_writable && k < max)
		snprintf(problems[k++], 160, "database not writable: %.120s", n->db_error);
	if (n->cert.not_after <= now && k < max) {
		char t[32];
		snprintf(problems[k++], 160, "certificate expired at %s", mw_rfc3339(n->cert.not_after, t, sizeof t));
	}
	pthread_mutex_unlock(&n->health_lock);
	return k;
}
