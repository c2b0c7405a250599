/* gossip: encode and decode /nodeinfo and the caller identity headers. */
#include "meshwatch/gossip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/json.h"
#include "meshwatch/node.h"
#include "meshwatch/util.h"

int
gossip_identity_headers(const struct peer_news *self, char *out, size_t outlen)
{
	return mw_snprintf(out, outlen, "X-Mw-Id: %s\r\nX-Mw-Fqdn: %s\r\nX-Mw-Ip: %s\r\nX-Mw-Port: %d\r\nX-Mw-Incarnation: %llu\r\n",
	    self->id, self->fqdn, self->ip, self->port, (unsigned long long)self->incarnation);
}

void
gossip_identity_string(const struct peer_news *who, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s|%s|%s|%d|%llu", who->id, who->fqdn, who->ip, who->port,
	    (unsigned long long)who->incarnation);
}

/* A routable-looking unicast address: not unspecified, not multicast. */
static int
valid_ip(const char *ip)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, ip, b) == 1)
		return !(b[0] == 0 || b[0] >= 224);
	if (inet_pton(AF_INET6, ip, b) == 1) {
		static const unsigned char zero[16];
		return memcmp(b, zero, 16) != 0 && b[0] != 0xff;
	}
	return 0;
}

const char *
gossip_check_identity(const struct peer_news *who, int allow_no_ip)
{
	if (!membership_valid_id(who->id))
		return "node id is not a lowercase UUID";
	if (!membership_valid_fqdn(who->fqdn))
		return "fqdn is not a host name";
	if (who->ip[0] == '\0' ? !allow_no_ip : !valid_ip(who->ip))
		return "ip is not a unicast IPv4 or IPv6 address";
	if (who->port < 1 || who->port > 65535)
		return "port is not between 1 and 65535";
	return NULL;
}

void
gossip_add_peer_identity(cJSON *o, const char *id, const char *fqdn, const char *ip, int port, int state)
{
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "fqdn", fqdn);
	cJSON_AddStringToObject(o, "ip", ip);
	cJSON_AddNumberToObject(o, "port", port);
	cJSON_AddStringToObject(o, "state", peer_state_name(state));
}

cJSON *
gossip_nodeinfo(struct node *n, struct membership *m, const struct gossip_ask *ask)
{
	cJSON *o = cJSON_CreateObject();
	uint64_t inc = membership_incarnation(m);
	cJSON_AddStringToObject(o, "node_id", n->id);
	cJSON_AddStringToObject(o, "node_fqdn", n->fqdn);
	cJSON_AddStringToObject(o, "node_ip", n->ip);
	cJSON_AddNumberToObject(o, "port", n->cfg.listen_port);
	cJSON_AddNumberToObject(o, "incarnation", (double)inc);
	cJSON_AddStringToObject(o, "version", MW_VERSION);
	json_add_time(o, "started_at", n->started_wall);
	cJSON_AddNumberToObject(o, "uptime_s", (double)((mw_now_ms() - n->started_mono_ms) / 1000));
	int64_t now = mw_wall_s();
	int np = 0;
	struct peer_news *ps = NULL;
	struct gossip_meta meta;
	if (membership_gossip(m, ask, now, &ps, &np, &meta) != 0) {
		cJSON_Delete(o);
		return NULL;
	}
	/* a page: no digest, so the caller does not take its part for the whole
	   list; it asks again from peers_cursor for the next page */
	if (!meta.more)
		cJSON_AddStringToObject(o, "peers_digest", meta.digest);
	cJSON_AddStringToObject(o, "peers_cursor", meta.cursor);
	cJSON_AddBoolToObject(o, "peers_more", meta.more);
	cJSON_AddBoolToObject(o, "peers_unchanged", meta.unchanged); /* the caller has this list already */
	cJSON_AddBoolToObject(o, "peers_delta", meta.delta);         /* only what changed since its cursor */
	cJSON *arr = cJSON_AddArrayToObject(o, "peers");
	json_add_time(o, "timestamp", now);
	for (int i = 0; i < np; i++) {
		const struct peer_news *p = &ps[i];
		cJSON *e = cJSON_CreateObject();
		gossip_add_peer_identity(e, p->id, p->fqdn, p->ip, p->port, p->state);
		cJSON_AddNumberToObject(e, "incarnation", (double)p->incarnation);
		if (p->age_s >= 0) {
			json_add_time(e, "last_seen", now - p->age_s);
			cJSON_AddNumberToObject(e, "age_s", (double)p->age_s);
		} else {
			cJSON_AddNullToObject(e, "last_seen");
			cJSON_AddNullToObject(e, "age_s");
		}
		cJSON_AddItemToArray(arr, e);
	}
	free(ps);
	return o;
}

static int
parse_entry(const cJSON *e, struct peer_news *x, int self_entry)
{
	double port, inc;
	char state[16];
	memset(x, 0, sizeof *x);
	if (!cJSON_IsObject(e))
		return -1;
	if (json_get_str(e, self_entry ? "node_id" : "id", x->id, sizeof x->id, 1) ||
	    json_get_str(e, self_entry ? "node_fqdn" : "fqdn", x->fqdn, sizeof x->fqdn, 0) ||
	    json_get_str(e, self_entry ? "node_ip" : "ip", x->ip, sizeof x->ip, 1) ||
	    json_get_int(e, "port", 0, 65535, &port) ||
	    json_get_int(e, "incarnation", 0, (double)MEMBERSHIP_INCARNATION_MAX, &inc))
		return -1;
	x->port = (int)port;
	x->incarnation = (uint64_t)inc;
	if (gossip_check_identity(x, 0) != NULL)
		return -1;
	if (!self_entry) {
		if (json_get_str(e, "state", state, sizeof state, 1) || (x->state = peer_state_parse(state)) < 0)
			return -1;
		double age = 0;
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "age_s");
		if (a && !cJSON_IsNull(a) && json_get_int(e, "age_s", 0, 1e9, &age))
			return -1;
		x->age_s = (int64_t)age;
		if (a == NULL || cJSON_IsNull(a))
			x->age_s = 1000000000; /* never seen alive by the sender */
	}
	return 0;
}

/* n bytes from exactly 2n lowercase hex digits; 0 or -1. */
static int
unhex(const char *s, uint8_t *out, size_t n)
{
	if (s == NULL || strlen(s) != 2 * n || strspn(s, "0123456789abcdef") != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char b[3] = {s[2 * i], s[2 * i + 1], 0};
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	return 0;
}

/* The beat ticket of an answer ({ticket, key, digest}, hex) into meta;
   meta->beat stays 0 when there is none or it is malformed. */
static void
take_beat(const cJSON *b, struct gossip_meta *meta)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "ticket");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(b, "key");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(b, "digest");
	uint8_t dg[8];
	if (cJSON_IsString(t) && cJSON_IsString(k) && cJSON_IsString(d) &&
	    unhex(t->valuestring, meta->beat_ticket, sizeof meta->beat_ticket) == 0 &&
	    unhex(k->valuestring, meta->beat_key, sizeof meta->beat_key) == 0 &&
	    unhex(d->valuestring, dg, sizeof dg) == 0) {
		meta->beat_digest = 0;
		for (size_t i = 0; i < sizeof dg; i++)
			meta->beat_digest = meta->beat_digest << 8 | dg[i];
		meta->beat = 1;
	}
}

int
gossip_parse_nodeinfo(const char *body, size_t len, int max_peers, struct peer_news *who, struct peer_news **list,
    int *n, int *dropped, struct gossip_meta *meta, char *why, size_t whylen)
{
	*list = NULL;
	*n = 0;
	*dropped = 0;
	int rc = MW_EINVAL;
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		snprintf(why, whylen, "answer is not a JSON object");
		goto out;
	}
	if (parse_entry(root, who, 1) != 0) {
		snprintf(why, whylen, "answer lacks a valid node_id, node_ip, port or incarnation");
		goto out;
	}
	if (meta) {
		memset(meta, 0, sizeof *meta);
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "peers_digest");
		if (cJSON_IsString(d) && strlen(d->valuestring) == 16 && strspn(d->valuestring, "0123456789abcdef") == 16)
			memcpy(meta->digest, d->valuestring, 17);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "peers_cursor");
		uint32_t ep;
		uint64_t ver;
		if (cJSON_IsString(c) && membership_parse_cursor(c->valuestring, &ep, &ver) == 0)
			snprintf(meta->cursor, sizeof meta->cursor, "%s", c->valuestring); /* kept only when well formed */
		take_beat(cJSON_GetObjectItemCaseSensitive(root, "beat"), meta);
	}
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(root, "peers");
	if (!cJSON_IsArray(peers)) {
		snprintf(why, whylen, "answer has no \"peers\" array");
		goto out;
	}
	int total = cJSON_GetArraySize(peers);
	int keep = total < max_peers ? total : max_peers;
	struct peer_news *arr = calloc((size_t)(keep > 0 ? keep : 1), sizeof *arr);
	if (arr == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	int k = 0, i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, peers) {
		if (i++ >= keep)
			break;
		if (parse_entry(e, &arr[k], 0) == 0)
			k++;
	}
	*dropped = total - k;
	*list = arr;
	*n = k;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

