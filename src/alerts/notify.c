/* notify: notification channels (alerts.json "channels"), the messages
   each kind of receiver reads, and their delivery.

   A message is built when its alerts become due and goes into the
   channel's SQLite outbox at once; one thread delivers each channel's
   outbox in order, oldest first, and removes a message only when the
   receiver took it (HTTP 2xx, SMTP 250). A receiver that is down is
   retried with exponential backoff (1 s doubling to 5 min, with jitter),
   and the messages wait for it across restarts. One it rejects outright
   (HTTP 4xx other than 408 and 429) is dropped with a WARN naming the
   answer, so one bad message cannot block a channel for good. HTTPS
   receivers' certificates are checked against the system's roots (and
   the URL's host name), unless a channel sets "tls_verify": false. */
#include "alerts_internal.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/md.h>

#include "meshwatch/buf.h"
#include "meshwatch/config.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/node.h"
#include "meshwatch/smtp.h"
#include "meshwatch/tlsclient.h"
#include "meshwatch/util.h"

#define NOTIFY_TIMEOUT_MS 10000
/* The system's trusted roots (Debian's ca-certificates). */
#define NOTIFY_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

static const char *const type_names[CH__COUNT] = {"webhook", "slack", "alertmanager", "smtp"};

const char *
channel_type_name(int t)
{
	return t >= 0 && t < CH__COUNT ? type_names[t] : "webhook";
}

/* ---- the file's channels ---- */

/* "http[s]://host[:port][/path]" into c; 0 or MW_EINVAL. */
static int
parse_url(const char *url, struct channel *c)
{
	const char *p;
	if (strncmp(url, "https://", 8) == 0) {
		c->tls = 1;
		c->port = 443;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		c->tls = 0;
		c->port = 80;
		p = url + 7;
	} else
		return MW_EINVAL;
	const char *end = p + strcspn(p, "/?#");
	const char *host = p, *hend;
	if (*p == '[') {
		host = p + 1;
		hend = memchr(p, ']', (size_t)(end - p));
		if (hend == NULL)
			return MW_EINVAL;
		p = hend + 1;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (hend == NULL)
			hend = end;
		p = hend;
	}
	size_t hl = (size_t)(hend - host);
	if (hl == 0 || hl >= sizeof c->host)
		return MW_EINVAL;
	memcpy(c->host, host, hl);
	c->host[hl] = '\0';
	if (strspn(c->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") != hl)
		return MW_EINVAL;
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);
		if (e == p + 1 || e != end || port < 1 || port > 65535)
			return MW_EINVAL;
		c->port = (int)port;
	} else if (p != end)
		return MW_EINVAL;
	snprintf(c->path, sizeof c->path, "%s", *end ? end : "/");
	if (c->path[0] != '/' || strpbrk(c->path, " \r\n\t"))
		return MW_EINVAL;
	return 0;
}

static const char *const channel_fields[] = {"name", "type", "url", "secret", "min_severity", "host", "port",
    "starttls", "user", "password", "from", "to", "tls_verify"};

static int
bad(char *why, size_t wl, int i, const char *what)
{
	snprintf(why, wl, "channels[%d]: %s", i, what);
	return MW_EINVAL;
}

static int
channel_parse(const cJSON *o, int i, struct channel *c, char *why, size_t wl)
{
	if (!cJSON_IsObject(o))
		return bad(why, wl, i, "must be an object");
	const cJSON *f;
	cJSON_ArrayForEach(f, o)
	{
		size_t k;
		for (k = 0; k < MW_ARRAY_LEN(channel_fields); k++)
			if (strcmp(f->string, channel_fields[k]) == 0)
				break;
		if (k == MW_ARRAY_LEN(channel_fields)) {
			char w[160];
			snprintf(w, sizeof w, "unknown field \"%.100s\"", f->string);
			return bad(why, wl, i, w);
		}
	}
	char type[32], sev[32] = "info";
	if (json_get_str(o, "name", c->name, sizeof c->name, 1) != 0 || !c->name[0] ||
	    c->name[strspn(c->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] != '\0')
		return bad(why, wl, i, "\"name\" must be 1 to 63 letters, digits or _ . -");
	c->type = -1;
	if (json_get_str(o, "type", type, sizeof type, 1) == 0)
		for (int t = 0; t < CH__COUNT; t++)
			if (strcmp(type, type_names[t]) == 0)
				c->type = t;
	if (c->type < 0)
		return bad(why, wl, i, "\"type\" must be webhook, slack, alertmanager or smtp");
	if (json_get_str(o, "min_severity", sev, sizeof sev, 0) != 0 || (c->min_severity = event_severity_parse(sev[0] ? sev : "info")) < 0)
		return bad(why, wl, i, "\"min_severity\" must be info, warning or critical");
	if (json_get_str(o, "secret", c->secret, sizeof c->secret, 0) != 0)
		return bad(why, wl, i, "\"secret\" must be a string of at most 255 bytes");
	const cJSON *tv = cJSON_GetObjectItemCaseSensitive(o, "tls_verify");
	if (tv && !cJSON_IsBool(tv))
		return bad(why, wl, i, "\"tls_verify\" must be true or false");
	c->tls_verify = tv ? cJSON_IsTrue(tv) : 1;
	if (c->type != CH_SMTP) {
		if (json_get_str(o, "url", c->url, sizeof c->url, 1) != 0 || parse_url(c->url, c) != 0)
			return bad(why, wl, i, "\"url\" must be http:// or https:// followed by a host, an optional port and a path");
		if (c->type == CH_ALERTMANAGER && strcmp(c->path, "/") == 0)
			snprintf(c->path, sizeof c->path, "/api/v2/alerts");
		return 0;
	}
	double port = 0;
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(o, "starttls");
	if (tls && !cJSON_IsBool(tls))
		return bad(why, wl, i, "\"starttls\" must be true or false");
	c->starttls = tls ? cJSON_IsTrue(tls) : 1;
	if (json_get_str(o, "host", c->host, sizeof c->host, 1) != 0 || !c->host[0])
		return bad(why, wl, i, "\"host\" (the mail server) is required");
	if (cJSON_GetObjectItemCaseSensitive(o, "port") && json_get_int(o, "port", 1, 65535, &port) != 0)
		return bad(why, wl, i, "\"port\" must be from 1 to 65535");
	c->port = port > 0 ? (int)port : (c->starttls ? 587 : 25);
	if (json_get_str(o, "user", c->user, sizeof c->user, 0) != 0 ||
	    json_get_str(o, "password", c->password, sizeof c->password, 0) != 0)
		return bad(why, wl, i, "\"user\" and \"password\" must be strings of at most 127 bytes");
	if (c->user[0] && !c->starttls)
		return bad(why, wl, i, "\"user\" needs \"starttls\": true (a password is never sent in the clear)");
	if (json_get_str(o, "from", c->from, sizeof c->from, 1) != 0 || !strchr(c->from, '@'))
		return bad(why, wl, i, "\"from\" must be an e-mail address");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");
	if (!cJSON_IsArray(to) || cJSON_GetArraySize(to) < 1 || cJSON_GetArraySize(to) > 4)
		return bad(why, wl, i, "\"to\" must be an array of 1 to 4 e-mail addresses");
	const cJSON *e;
	cJSON_ArrayForEach(e, to)
	{
		if (!cJSON_IsString(e) || !strchr(e->valuestring, '@') || strlen(e->valuestring) >= sizeof c->to[0])
			return bad(why, wl, i, "\"to\" must be an array of 1 to 4 e-mail addresses");
		snprintf(c->to[c->nto++], sizeof c->to[0], "%s", e->valuestring);
	}
	snprintf(c->url, sizeof c->url, "smtp://%s:%d", c->host, c->port);
	return 0;
}

int
channels_parse(const cJSON *arr, struct channel **out, int *n, char *why, size_t wl)
{
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > ALERTS_MAX_CHANNELS) {
		snprintf(why, wl, "\"channels\" must be an array of at most %d channels", ALERTS_MAX_CHANNELS);
		return MW_EINVAL;
	}
	int cnt = cJSON_GetArraySize(arr);
	struct channel *c = calloc((size_t)(cnt > 0 ? cnt : 1), sizeof *c);
	if (c == NULL) {
		snprintf(why, wl, "out of memory");
		return MW_ENOMEM;
	}
	int i = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		c[i].id = i + 1;
		if (channel_parse(o, i, &c[i], why, wl) != 0) {
			free(c);
			return MW_EINVAL;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(c[j].name, c[i].name) == 0) {
				free(c);
				return bad(why, wl, i, "\"name\" is used by an earlier channel");
			}
		i++;
	}
	*out = c;
	*n = cnt;
	return 0;
}

cJSON *
channel_json(const struct channel *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)c->id);
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "type", channel_type_name(c->type));
	/* the address only: a Slack URL's path is its secret */
	char target[1200];
	if (c->type == CH_SLACK)
		snprintf(target, sizeof target, "%s://%s:%d/...", c->tls ? "https" : "http", c->host, c->port);
	else if (c->type == CH_SMTP)
		snprintf(target, sizeof target, "smtp://%s:%d%s to %s%s", c->host, c->port, c->starttls ? " (STARTTLS)" : "",
		    c->to[0], c->nto > 1 ? " and others" : "");
	else
		/* without a query string: receivers put tokens there */
		snprintf(target, sizeof target, "%.*s%s", (int)strcspn(c->url, "?#"), c->url,
		    c->url[strcspn(c->url, "?#")] ? "?..." : "");
	cJSON_AddStringToObject(o, "target", target);
	cJSON_AddStringToObject(o, "min_severity", event_severity_name(c->min_severity));
	if (c->type != CH_SMTP && c->tls)
		cJSON_AddBoolToObject(o, "tls_verify", c->tls_verify);
	cJSON_AddStringToObject(o, "state", c->failing ? "failing" : (c->sent || c->queued ? "ok" : "idle"));
	cJSON_AddNumberToObject(o, "queued", c->queued);
	cJSON_AddNumberToObject(o, "sent", (double)c->sent);
	cJSON_AddNumberToObject(o, "failed", (double)c->failed);
	cJSON_AddNumberToObject(o, "dropped", (double)c->dropped);
	json_add_time_or_null(o, "last_ok_at", c->last_ok_at);
	if (c->last_error[0])
		cJSON_AddStringToObject(o, "last_error", c->last_error);
	else
		cJSON_AddNullToObject(o, "last_error");
	json_add_time_or_null(o, "last_error_at", c->last_error_at);
	return o;
}

/* ---- messages ---- */

/* "[FIRING] peer-dead: n4.test is dead: ..." or "[RESOLVED] target-down: 20 alerts". */
static void
title(char *out, size_t len, const char *status, struct alert *const *g, int n)
{
	/* precisions bound the fields to their arrays, so the compiler can see it fits */
	if (n == 1)
		snprintf(out, len, "[%s] %.*s: %.*s", status, ALERT_NAME_MAX - 1, g[0]->rule,
		    ALERT_SUMMARY_MAX - 1, g[0]->summary);
	else
		snprintf(out, len, "[%s] %.*s: %d alerts", status, ALERT_NAME_MAX - 1, g[0]->rule, n);
}

static void
lines(struct mw_buf *b, struct alert *const *g, int n)
{
	for (int i = 0; i < n; i++) {
		char t[40] = "";
		mw_rfc3339(g[i]->fired_at ? g[i]->fired_at : g[i]->started_at, t, sizeof t);
		(void)mw_buf_printf(b, "- %s (%s, since %s)\n", g[i]->summary, event_severity_name(g[i]->severity), t);
	}
}

static cJSON *
node_json(const struct node *nd)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", nd->id);
	cJSON_AddStringToObject(o, "fqdn", nd->fqdn);
	char url[300];
	snprintf(url, sizeof url, "https://%s%s%s:%d/#/alerts", strchr(nd->ip, ':') ? "[" : "", nd->ip,
	    strchr(nd->ip, ':') ? "]" : "", nd->cfg.listen_port);
	cJSON_AddStringToObject(o, "url", url);
	return o;
}

static cJSON *
am_alert(const struct node *nd, const struct alert *x, int resolved)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *l = json_parse_object(x->labels);
	/* the same labels from every node: Alertmanager folds repeats */
	cJSON_DeleteItemFromObjectCaseSensitive(l, "alertname");
	cJSON_AddStringToObject(l, "alertname", x->rule);
	cJSON_AddStringToObject(l, "severity", event_severity_name(x->severity));
	cJSON_AddStringToObject(l, "subject_type", x->subject_type);
	cJSON_AddStringToObject(l, "subject", x->subject);
	cJSON_AddStringToObject(l, "subject_name", x->subject_name);
	cJSON_AddItemToObject(o, "labels", l);
	cJSON *an = cJSON_AddObjectToObject(o, "annotations");
	cJSON_AddStringToObject(an, "summary", x->summary);
	cJSON_AddStringToObject(an, "sent_by", nd->fqdn);
	json_add_time(o, "startsAt", x->fired_at ? x->fired_at : x->started_at);
	if (resolved)
		json_add_time(o, "endsAt", x->resolved_at ? x->resolved_at : mw_wall_s());
	cJSON *nj = node_json(nd);
	cJSON_AddStringToObject(o, "generatorURL", cJSON_GetObjectItemCaseSensitive(nj, "url")->valuestring);
	cJSON_Delete(nj);
	return o;
}

/* The text that goes into the outbox for channel c. malloc'd. */
static char *
build(struct alerts *a, const struct channel *c, struct alert *const *g, int n, const char *status)
{
	const struct node *nd = a->node;
	char head[ALERT_SUMMARY_MAX + 100];
	title(head, sizeof head, status, g, n);
	struct mw_buf b;
	mw_buf_init(&b, 1024 * 1024);
	lines(&b, g, n);
	size_t blen;
	char *body = mw_buf_take(&b, &blen);
	if (body == NULL)
		body = strdup("");
	cJSON *o = NULL;
	if (c->type == CH_WEBHOOK) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "version", 1);
		cJSON_AddStringToObject(o, "status",
		    strcmp(status, "FIRING") == 0 ? "firing" : strcmp(status, "TEST") == 0 ? "test" : "resolved");
		cJSON_AddStringToObject(o, "rule", g[0]->rule);
		cJSON_AddStringToObject(o, "severity", event_severity_name(g[0]->severity));
		cJSON_AddStringToObject(o, "title", head);
		cJSON_AddItemToObject(o, "node", node_json(nd));
		cJSON *arr = cJSON_AddArrayToObject(o, "alerts");
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, alert_json(g[i]));
	} else if (c->type == CH_SLACK) {
		o = cJSON_CreateObject();
		struct mw_buf t;
		mw_buf_init(&t, 1024 * 1024);
		(void)mw_buf_printf(&t, "*%s*\n%s", head, body ? body : "");
		size_t tl;
		char *text = mw_buf_take(&t, &tl);
		cJSON_AddStringToObject(o, "text", text ? text : head);
		free(text);
	} else if (c->type == CH_ALERTMANAGER) {
		o = cJSON_CreateArray();
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(o, am_alert(nd, g[i], strcmp(status, "RESOLVED") == 0));
	} else {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "subject", head);
		struct mw_buf t;
		mw_buf_init(&t, 1024 * 1024);
		(void)mw_buf_printf(&t, "%s\n\n%s\nFrom meshwatch on %s (%s).\n", head, body ? body : "", nd->fqdn, nd->ip);
		size_t tl;
		char *text = mw_buf_take(&t, &tl);
		cJSON_AddStringToObject(o, "text", text ? text : head);
		free(text);
	}
	free(body);
	char *out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

static int
enqueue(struct alerts *a, struct channel *c, const char *text)
{
	int64_t id;
	int dropped = 0;
	int rc = store_notify_add(a->st, c->name, text, mw_wall_ms(), NOTIFY_OUTBOX_MAX, &id, &dropped);
	if (rc != 0) {
		log_warn("alerts", "channel %s: a message could not be stored: it is lost", c->name);
		c->dropped++;
		return rc;
	}
	c->queued += 1 - dropped;
	if (dropped > 0) {
		c->dropped += (uint64_t)dropped;
		log_warn("alerts", "channel %s: %d messages waiting; the oldest %d dropped", c->name, NOTIFY_OUTBOX_MAX,
		    dropped);
	}
	return 0;
}

void
notify_queue_group(struct alerts *a, struct alert *const *group, int n, int status)
{
	const char *st = status == ALERT_FIRING ? "FIRING" : "RESOLVED";
	for (int i = 0; i < a->nchannels; i++) {
		struct channel *c = &a->channels[i];
		if (group[0]->severity < c->min_severity)
			continue;
		char *text = build(a, c, group, n, st);
		if (text)
			(void)enqueue(a, c, text);
		free(text);
	}
}

int
notify_queue_test(struct alerts *a, struct channel *c, const char *user)
{
	struct alert x;
	memset(&x, 0, sizeof x);
	snprintf(x.rule, sizeof x.rule, "test");
	x.severity = EVENT_INFO;
	snprintf(x.subject_type, sizeof x.subject_type, "node");
	snprintf(x.subject, sizeof x.subject, "%s", a->node->id);
	snprintf(x.subject_name, sizeof x.subject_name, "%.120s", a->node->fqdn);
	snprintf(x.summary, sizeof x.summary, "test notification from %.120s, sent by %.64s", a->node->fqdn, user);
	snprintf(x.labels, sizeof x.labels, "{}");
	snprintf(x.evidence, sizeof x.evidence, "{}");
	x.state = ALERT_FIRING;
	x.started_at = x.fired_at = mw_wall_s();
	x.resolved_at = x.fired_at + 300;
	struct alert *g[1] = {&x};
	/* Alertmanager gets it as resolved in 5 minutes, so it clears itself */
	char *text = build(a, c, g, 1, c->type == CH_ALERTMANAGER ? "RESOLVED" : "TEST");
	if (text == NULL)
		return MW_ENOMEM;
	int rc = enqueue(a, c, text);
	free(text);
	return rc;
}

/* ---- delivery ---- */

static void
hmac_hex(const char *key, const char *body, char out[65])
{
	unsigned char mac[32];
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), (const unsigned char *)key, strlen(key),
	    (const unsigned char *)body, strlen(body), mac);
	mw_hex(mac, sizeof mac, out);
}

/* Posts body to c's URL. 0 delivered, 1 rejected for good, -1 retry. */
/* The two HTTPS clients of the delivery thread: one that checks
   receivers' certificates against the system's roots (the default), one
   that does not (a channel's "tls_verify": false, for a receiver with a
   self-signed certificate). */
struct clients {
	struct tls_client *checked, *unchecked;
	char ca_error[200];   /* why checked is NULL */
};

static int
send_http(struct alerts *a, struct clients *cls, const struct channel *c, int64_t row, const char *body, char *err,
    size_t errlen)
{
	struct tls_client *cl = c->tls && c->tls_verify ? cls->checked : cls->unchecked;
	if (cl == NULL) {
		snprintf(err, errlen, "%s", cls->ca_error);
		return -1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char port[8];
	snprintf(port, sizeof port, "%d", c->port);
	int g = getaddrinfo(c->host, port, &hints, &res);
	if (g != 0 || res == NULL) {
		snprintf(err, errlen, "cannot resolve %s: %s", c->host, gai_strerror(g));
		return -1;
	}
	char hdrs[512];
	int l = snprintf(hdrs, sizeof hdrs, "Content-Type: application/json\r\nX-Meshwatch-Delivery: %s-%lld\r\n",
	    a->node->id, (long long)row);
	if (c->type == CH_WEBHOOK && c->secret[0]) {
		char mac[65];
		hmac_hex(c->secret, body, mac);
		snprintf(hdrs + l, sizeof hdrs - (size_t)l, "X-Meshwatch-Signature: sha256=%s\r\n", mac);
	}
	/* each address the name has, in order, until one takes the connection
	   ("localhost" is ::1 and 127.0.0.1; a receiver may listen on one) */
	struct https_result r;
	int rc = MW_EIO;
	memset(&r, 0, sizeof r);
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		char ip[INET6_ADDRSTRLEN] = "";
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip, sizeof ip);
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip, sizeof ip);
		else
			continue;
		struct fetch_req q = {.ip = ip, .port = c->port, .tls = c->tls, .host = c->host, .method = "POST",
		    .path = c->path, .extra_headers = hdrs, .body = body, .blen = strlen(body),
		    .max_body = NOTIFY_MAX_RESPONSE, .timeout_ms = NOTIFY_TIMEOUT_MS};
		https_result_free(&r);
		rc = tlsclient_fetch(cl, &q, &r);
		if (rc == 0 || (r.error != PERR_REFUSED && r.error != PERR_UNREACHABLE))
			break;
	}
	freeaddrinfo(res);
	int out;
	if (rc != 0) {
		snprintf(err, errlen, "%s", r.detail[0] ? r.detail : "request failed");
		out = -1;
	} else if (r.status >= 200 && r.status < 300) {
		out = 0;
	} else {
		snprintf(err, errlen, "HTTP %d: %.120s", r.status, r.body ? r.body : "");
		for (char *p = err; *p; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
		out = r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429 ? 1 : -1;
	}
	https_result_free(&r);
	return out;
}

static int
send_mail(struct alerts *a, const struct channel *c, const char *stored, char *err, size_t errlen)
{
	cJSON *o = cJSON_Parse(stored);
	const cJSON *subj = cJSON_GetObjectItemCaseSensitive(o, "subject");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
	if (!cJSON_IsString(subj) || !cJSON_IsString(text)) {
		cJSON_Delete(o);
		snprintf(err, errlen, "a stored message is not a mail");
		return 1;
	}
	const char *to[4];
	for (int i = 0; i < c->nto; i++)
		to[i] = c->to[i];
	struct smtp_msg m = {.host = c->host, .port = c->port, .starttls = c->starttls,
	    .user = c->user[0] ? c->user : NULL, .password = c->password[0] ? c->password : NULL,
	    .helo_name = a->node->fqdn, .from = c->from, .to = to, .nto = c->nto, .subject = subj->valuestring,
	    .body = text->valuestring, .timeout_ms = NOTIFY_TIMEOUT_MS * 3};
	int rc = smtp_send(&m, err, errlen);
	cJSON_Delete(o);
	if (rc == 0)
		return 0;
	return rc == MW_EINVAL || rc == MW_ETOOBIG ? 1 : -1;
}

/* The next channel with a message to try now; NULL, with *wait_ms until
   one may be, when none. Lock held. */
static struct channel *
next_channel(struct alerts *a, int64_t now, int64_t *wait_ms)
{
	*wait_ms = 1000;
	for (int i = 0; i < a->nchannels; i++) {
		struct channel *c = &a->channels[i];
		if (c->queued <= 0)
			continue;
		if (c->next_try_ms <= now)
			return c;
		if (c->next_try_ms - now < *wait_ms)
			*wait_ms = c->next_try_ms - now;
	}
	return NULL;
}

static void
deliver_one(struct alerts *a, struct clients *cl, struct channel *c)
{
	struct store_doc d;
	char name[ALERT_NAME_MAX];
	int type;
	pthread_mutex_lock(&a->lock);
	snprintf(name, sizeof name, "%s", c->name);
	type = c->type;
	struct channel copy = *c;
	pthread_mutex_unlock(&a->lock);
	int rc = store_notify_next(a->st, name, &d);
	if (rc == MW_ENOTFOUND) {
		pthread_mutex_lock(&a->lock);
		c->queued = 0;
		pthread_mutex_unlock(&a->lock);
		return;
	}
	if (rc != 0) {
		pthread_mutex_lock(&a->lock);
		c->next_try_ms = mw_now_ms() + 5000;
		pthread_mutex_unlock(&a->lock);
		return;
	}
	char err[300] = "";
	int out = type == CH_SMTP ? send_mail(a, &copy, d.body, err, sizeof err)
	                          : send_http(a, cl, &copy, d.id, d.body, err, sizeof err);
	int64_t now = mw_now_ms();
	if (out >= 0 && store_notify_delete(a->st, d.id) != 0)
		log_warn("alerts", "channel %s: message %lld sent but not removed: it may be sent again", name,
		    (long long)d.id);
	pthread_mutex_lock(&a->lock);
	if (out == 0) {
		c->sent++;
		c->queued--;
		c->attempts = 0;
		c->next_try_ms = 0;
		if (c->failing)
			log_info("alerts", "channel %s delivers again (%d waiting)", name, c->queued);
		c->failing = 0;
		c->last_ok_at = mw_wall_s();
	} else {
		c->failed++;
		c->last_error_at = mw_wall_s();
		snprintf(c->last_error, sizeof c->last_error, "%s", err);
		if (out == 1) {
			c->queued--;
			c->dropped++;
			log_warn("alerts", "channel %s rejected message %lld for good (%s): dropped", name, (long long)d.id, err);
		} else {
			c->attempts++;
			int64_t back = 1000LL << (c->attempts < 9 ? c->attempts - 1 : 8);
			if (back > NOTIFY_BACKOFF_MAX_MS)
				back = NOTIFY_BACKOFF_MAX_MS;
			uint32_t jit = 0;
			mw_random(&jit, sizeof jit);
			back += (int64_t)(jit % (uint32_t)(back / 5 + 1));
			c->next_try_ms = now + back;
			if (!c->failing || c->attempts % 10 == 0)
				log_warn("alerts", "channel %s cannot deliver (%s); %d waiting, next try in %lld s", name, err,
				    c->queued, (long long)(back / 1000));
			c->failing = 1;
		}
	}
	pthread_mutex_unlock(&a->lock);
	free(d.body);
}

void *
notify_main(void *arg)
{
	struct alerts *a = arg;
	pthread_setname_np(pthread_self(), "mw-notify");
	char err[256];
	struct clients cls = {0};
	cls.unchecked = tlsclient_create(8, err, sizeof err);
	cls.checked = tlsclient_create(8, err, sizeof err);
	if (cls.unchecked == NULL || cls.checked == NULL) {
		log_error("alerts", "no HTTPS client for notifications: %s", err);
		tlsclient_destroy(cls.unchecked);
		tlsclient_destroy(cls.checked);
		return NULL;
	}
	if (tlsclient_verify_with(cls.checked, NOTIFY_CA_FILE, cls.ca_error, sizeof cls.ca_error) != MW_OK) {
		/* HTTPS channels that check certificates fail, naming this, rather
		   than send unchecked */
		log_warn("alerts", "%s: HTTPS receivers cannot be checked and are not sent to", cls.ca_error);
		tlsclient_destroy(cls.checked);
		cls.checked = NULL;
	}
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		int64_t wait_ms;
		struct channel *c = next_channel(a, mw_now_ms(), &wait_ms);
		if (c == NULL) {
			mw_cond_wait_until(&a->wake, &a->lock, mw_now_ms() + wait_ms);
			continue;
		}
		pthread_mutex_unlock(&a->lock);
		deliver_one(a, &cls, c);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	tlsclient_destroy(cls.checked);
	tlsclient_destroy(cls.unchecked);
	return NULL;
}
