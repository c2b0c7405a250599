/* ws: owns the table of WebSocket clients (under hub->lock) and the pusher
   thread. civetweb's threads call the connect/ready/data/close handlers;
   the pusher writes frames. A write happens only with hub->lock held and
   only when the client's socket has room, so a close handler never frees a
   connection under a write, and a stalled client cannot stall the pusher
   for long: it is cut off once it has WS_MAX_UNSENT bytes unread.
   A client takes its slot when on_connect accepts it and gives it back in
   on_close, which civetweb calls for every accepted client, also when the
   handshake fails after on_connect: no path keeps a slot. */
#include "meshwatch/ws.h"

#include <civetweb.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "meshwatch/auth.h"
#include "meshwatch/alerts.h"
#include "meshwatch/events.h"
#include "meshwatch/json.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/node.h"
#include "meshwatch/rollup.h"
#include "meshwatch/scanner.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "authn.h"
#include "views.h"

/* Topics a client may subscribe to. Each has a frame builder that the
   pusher calls once a second while at least one client wants it; a builder
   returns a malloc'd JSON text, or NULL for "nothing to send this second". */
static char *mesh_frame(struct ws_hub *h);
static char *rates_frame(struct ws_hub *h);
static char *top_talkers_frame(struct ws_hub *h);
static char *scans_frame(struct ws_hub *h);
static char *events_frame(struct ws_hub *h);
static char *alerts_frame(struct ws_hub *h);
struct ws_hub;

static const struct ws_topic {
	const char *name;
	char *(*frame)(struct ws_hub *h);
} topics[] = {
	{"mesh", mesh_frame},
	{"rates", rates_frame},
	{"top_talkers", top_talkers_frame},
	{"scans", scans_frame},
	{"events", events_frame},
	{"alerts", alerts_frame},
};
#define TOPIC_NAMES "mesh, rates, top_talkers, scans, events, alerts"

struct ws_client {
	struct mg_connection *conn; /* slot taken (from on_connect) */
	int ready;                 /* handshake done: the pusher may write */
	unsigned topics;           /* bit k: topics[k] */
	int dropped;
};

struct ws_hub {
	struct node *node;
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* the pusher's once-a-second sleep (monotonic); signalled at stop */
	struct ws_client clients[WS_MAX_CLIENTS];
	pthread_t thread;
	int started;
	volatile int stop;
	uint64_t drops;
	int64_t events_sent;       /* the newest event id sent (pusher thread) */
	int64_t events_frame_ms;   /* when the events frame was last built */
	uint64_t alerts_cursor;    /* the alert engine's change counter as of the last frame */
	int64_t alerts_frame_ms;
	char hello[256];           /* {"type":"hello","topics":[...]} */
};

static int
count_locked(struct ws_hub *h)
{
	int k = 0;
	for (int i = 0; i < WS_MAX_CLIENTS; i++)
		if (h->clients[i].conn)
			k++;
	return k;
}

/* Same origin only (the cookie is SameSite=Strict too), a valid session
   or API token (authn.c, as for every other route), and room in the
   table. */
static int
on_connect(const struct mg_connection *conn, void *cbdata)
{
	struct ws_hub *h = cbdata;
	const char *origin = mg_get_header(conn, "Origin");
	const char *host = mg_get_header(conn, "Host");
	if (origin && host) {
		const char *o = strstr(origin, "://");
		if (o == NULL || strcmp(o + 3, host) != 0) {
			log_warn("ws", "refused a WebSocket from origin %.100s (host %.100s)", origin, host);
			return 1;
		}
	}
	/* the frames only read: a session or an API token of either scope;
	   not the metrics token, which is for /metrics alone */
	struct authn who;
	if (authn_check(h->node, conn, &who) != AUTHN_OK || who.cred == REQ_CRED_METRICS)
		return 1;
	pthread_mutex_lock(&h->lock);
	int full = 1;
	for (int i = 0; i < WS_MAX_CLIENTS && full; i++)
		if (h->clients[i].conn == NULL) {
			/* the same connection civetweb passes on_ready and on_close
			   (on_connect only gets it as const) */
			h->clients[i] = (struct ws_client){.conn = (struct mg_connection *)(uintptr_t)conn};
			full = 0;
		}
	pthread_mutex_unlock(&h->lock);
	if (full) {
		log_warn("ws", "refused a WebSocket: %d clients already (the limit)", WS_MAX_CLIENTS);
		return 1;
	}
	return 0;
}

static void
send_text_locked(struct mg_connection *conn, const char *text)
{
	mg_lock_connection(conn);
	mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text));
	mg_unlock_connection(conn);
}

static struct ws_client *
find_locked(struct ws_hub *h, const struct mg_connection *conn)
{
	for (int i = 0; i < WS_MAX_CLIENTS; i++)
		if (h->clients[i].conn == conn)
			return &h->clients[i];
	return NULL;
}

static void
on_ready(struct mg_connection *conn, void *cbdata)
{
	struct ws_hub *h = cbdata;
	pthread_mutex_lock(&h->lock);
	struct ws_client *c = find_locked(h, conn);
	if (c) {
		c->ready = 1;
		send_text_locked(conn, h->hello);
	}
	pthread_mutex_unlock(&h->lock);
}

static int
on_data(struct mg_connection *conn, int flags, char *data, size_t len, void *cbdata)
{
	struct ws_hub *h = cbdata;
	int op = flags & 0x0f;
	if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
		return 0;
	if (op != MG_WEBSOCKET_OPCODE_TEXT)
		return 1; /* pings are answered by civetweb; binary is ignored */
	const char *err = NULL;
	unsigned want = 0;
	cJSON *msg = len <= WS_MAX_MESSAGE ? cJSON_ParseWithLength(data, len) : NULL;
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(msg, "subscribe");
	if (len > WS_MAX_MESSAGE)
		err = "message larger than 4096 bytes";
	else if (!cJSON_IsArray(sub))
		err = "expected {\"subscribe\":[\"mesh\"]}";
	else {
		const cJSON *t;
		cJSON_ArrayForEach(t, sub) {
			size_t k = 0;
			while (k < MW_ARRAY_LEN(topics) && !(cJSON_IsString(t) && strcmp(t->valuestring, topics[k].name) == 0))
				k++;
			if (k < MW_ARRAY_LEN(topics))
				want |= 1u << k;
			else
				err = "unknown topic (known: " TOPIC_NAMES ")";
		}
	}
	cJSON_Delete(msg);
	pthread_mutex_lock(&h->lock);
	struct ws_client *c = find_locked(h, conn);
	if (c) {
		if (err) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "type", "error");
			cJSON_AddStringToObject(e, "detail", err);
			char *text = cJSON_PrintUnformatted(e);
			if (text)
				send_text_locked(conn, text);
			free(text);
			cJSON_Delete(e);
		} else {
			c->topics = want;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return 1;
}

static void
on_close(const struct mg_connection *conn, void *cbdata)
{
	struct ws_hub *h = cbdata;
	pthread_mutex_lock(&h->lock);
	struct ws_client *c = find_locked(h, conn);
	if (c)
		memset(c, 0, sizeof *c);
	pthread_mutex_unlock(&h->lock);
}

static char *
mesh_frame(struct ws_hub *h)
{
	struct node *n = h->node;
	int np = 0;
	struct peer *ps = membership_snapshot(mesh_membership(n->mesh), &np);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "mesh");
	json_add_time(o, "time", mw_wall_s());
	cJSON_AddItemToObject(o, "counts", views_mesh_counts(mesh_membership(n->mesh)));
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	int k = 0;
	for (int i = 0; ps && i < np; i++) {
		if (ps[i].id[0] == '\0')
			continue;
		if (k++ >= WS_MAX_PEERS_PER_FRAME)
			break;
		cJSON_AddItemToArray(items, views_peer(&ps[i]));
	}
	cJSON_AddBoolToObject(o, "truncated", k > WS_MAX_PEERS_PER_FRAME);
	free(ps);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* Traffic: the newest second of counters and its top talkers (nothing
   while capture is off or has seen no second yet). */
static char *
typed_frame(cJSON *o, const char *type)
{
	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "type", type);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* The running scan's progress; nothing while no scan runs. */
static char *
scans_frame(struct ws_hub *h)
{
	struct node *n = h->node;
	struct scan_row row;
	if (n->scanner == NULL || scanner_current(n->scanner, &row) != 0)
		return NULL;
	struct scanner_stats st;
	scanner_get_stats(n->scanner, &st);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "scans");
	json_add_time(o, "time", mw_wall_s());
	cJSON_AddItemToObject(o, "scan", views_scan(&row));
	cJSON_AddNumberToObject(o, "queued", st.queued);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static char *
rates_frame(struct ws_hub *h)
{
	return typed_frame(views_traffic_rates(h->node), "rates");
}

static char *
top_talkers_frame(struct ws_hub *h)
{
	return typed_frame(views_traffic_top(h->node, ROLLUP_TOP_K), "top_talkers");
}

#define WS_EVENTS_PER_FRAME 64

/* The events emitted since the last frame ({"type":"events","items":[...]},
   oldest first; NULL when none). A client that subscribes gets those from
   then on; GET /api/events has the ones before. */
static char *
events_frame(struct ws_hub *h)
{
	struct events_stats st;
	events_get_stats(h->node->events, &st);
	/* no one subscribed a moment ago: a new subscriber starts from now */
	int64_t now = mw_now_ms();
	if (h->events_frame_ms == 0 || now - h->events_frame_ms > 2500 || h->events_sent > st.last_id)
		h->events_sent = st.last_id;
	h->events_frame_ms = now;
	if (h->events_sent >= st.last_id)
		return NULL; /* nothing new this second: the usual case */
	struct event_row *rows = malloc(WS_EVENTS_PER_FRAME * sizeof *rows);
	if (rows == NULL)
		return NULL;
	int k = events_recent(h->node->events, h->events_sent, rows, WS_EVENTS_PER_FRAME);
	char *out = NULL;
	if (k > 0) {
		cJSON *items = cJSON_CreateArray();
		for (int i = 0; i < k; i++)
			cJSON_AddItemToArray(items, views_event(&rows[i]));
		h->events_sent = rows[k - 1].id;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "events");
		cJSON_AddItemToObject(o, "items", items);
		out = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	free(rows);
	return out;
}

/* The alerts that changed since the last frame ({"type":"alerts",
   "items":[...]}; NULL when none). A new subscriber starts from now;
   GET /api/alerts has the state before. */
static char *
alerts_frame(struct ws_hub *h)
{
	if (h->node->alerts == NULL)
		return NULL;
	int64_t now = mw_now_ms();
	int fresh = h->alerts_frame_ms == 0 || now - h->alerts_frame_ms > 2500;
	h->alerts_frame_ms = now;
	cJSON *items = alerts_changed_since(h->node->alerts, &h->alerts_cursor);
	if (items == NULL || fresh) {
		cJSON_Delete(items);
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "alerts");
	cJSON_AddItemToObject(o, "items", items);
	char *out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* Room for len bytes without blocking, and not too much unread already. */
static int
client_ok(struct mg_connection *conn)
{
	int fd = mg_get_socket_fd(conn), unsent = 0;
	if (fd < 0)
		return 0;
	if (ioctl(fd, SIOCOUTQ, &unsent) == 0 && unsent > WS_MAX_UNSENT)
		return 0;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* Builds topic k's frame and writes it to every client subscribed to it. */
static void
push_topic(struct ws_hub *h, unsigned k)
{
	char *frame = topics[k].frame(h);
	if (frame == NULL)
		return;
	size_t len = strlen(frame);
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < WS_MAX_CLIENTS; i++) {
		struct ws_client *c = &h->clients[i];
		if (!c->conn || !c->ready || !(c->topics & (1u << k)) || c->dropped)
			continue;
		struct mg_connection *conn = c->conn;
		if (!client_ok(conn)) {
			/* not reading: cut it off rather than buffer for it */
			c->dropped = 1;
			h->drops++;
			log_warn("ws", "dropping a WebSocket client that does not keep up");
			shutdown(mg_get_socket_fd(conn), SHUT_RDWR);
			continue;
		}
		mg_lock_connection(conn);
		mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, frame, len);
		mg_unlock_connection(conn);
	}
	pthread_mutex_unlock(&h->lock);
	free(frame);
}

static void *
pusher_main(void *arg)
{
	struct ws_hub *h = arg;
	int64_t next = mw_now_ms();
	while (!h->stop) {
		next += 1000;
		if (next < mw_now_ms())
			next = mw_now_ms() + 1000; /* fell behind: no burst to catch up */
		pthread_mutex_lock(&h->lock);
		while (!h->stop && mw_cond_wait_until(&h->wake, &h->lock, next) == 0)
			;
		if (h->stop) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		unsigned want = 0;
		for (int i = 0; i < WS_MAX_CLIENTS; i++)
			if (h->clients[i].conn && h->clients[i].ready && !h->clients[i].dropped)
				want |= h->clients[i].topics;
		pthread_mutex_unlock(&h->lock);
		for (size_t k = 0; k < MW_ARRAY_LEN(topics) && !h->stop; k++)
			if (want & (1u << k))
				push_topic(h, (unsigned)k);
	}
	return NULL;
}

struct ws_hub *
ws_create(struct node *n, char *err, size_t errlen)
{
	struct ws_hub *h = calloc(1, sizeof *h);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->node = n;
	pthread_mutex_init(&h->lock, NULL);
	mw_cond_init_mono(&h->wake);
	size_t off = (size_t)snprintf(h->hello, sizeof h->hello, "{\"type\":\"hello\",\"topics\":[");
	for (size_t k = 0; k < MW_ARRAY_LEN(topics) && off < sizeof h->hello; k++)
		off += (size_t)snprintf(h->hello + off, sizeof h->hello - off, "%s\"%s\"", k ? "," : "", topics[k].name);
	if (off < sizeof h->hello)
		snprintf(h->hello + off, sizeof h->hello - off, "]}");
	return h;
}

int
ws_start(struct ws_hub *h, struct mg_context *ctx, char *err, size_t errlen)
{
	mg_set_websocket_handler(ctx, "/ws", on_connect, on_ready, on_data, on_close, h);
	if (pthread_create(&h->thread, NULL, pusher_main, h) != 0) {
		snprintf(err, errlen, "cannot start the WebSocket pusher");
		mg_set_websocket_handler(ctx, "/ws", NULL, NULL, NULL, NULL, NULL);
		return MW_EIO;
	}
	h->started = 1;
	return MW_OK;
}

void
ws_stop(struct ws_hub *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
	if (h->started)
		pthread_join(h->thread, NULL);
	h->started = 0;
}

void
ws_destroy(struct ws_hub *h)
{
	if (h == NULL)
		return;
	ws_stop(h);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->wake);
	free(h);
}

int
ws_client_count(struct ws_hub *h)
{
	pthread_mutex_lock(&h->lock);
	int k = count_locked(h);
	pthread_mutex_unlock(&h->lock);
	return k;
}
