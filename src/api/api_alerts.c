/* api_alerts: /api/alerts (the alerts, acknowledgement), its rules,
   silences and channels. The engine (alerts.h) validates what it is given
   and says why in a sentence; this file maps its codes to statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/alerts.h"
#include "meshwatch/api.h"
#include "meshwatch/http.h"
#include "meshwatch/limits.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#define ALERTS_LIST_DEFAULT 100

/* The engine is there on every started node; NULL only before start. */
static struct alerts *
engine(struct req *r)
{
	if (r->node->alerts == NULL)
		http_reply_error(r, 503, "alerts_unavailable", "the alert engine is not running on this node");
	return r->node->alerts;
}

static void
reply_rc(struct req *r, int rc, const char *why)
{
	switch (rc) {
	case MW_EINVAL:
		http_reply_error(r, 400, "invalid_field", "%s", why);
		break;
	case MW_ENOTFOUND:
		http_reply_error(r, 404, "not_found", "%s", why);
		break;
	case MW_EEXIST:
		http_reply_error(r, 409, "conflict", "%s", why);
		break;
	case MW_ETOOBIG:
		http_reply_error(r, 409, "limit_reached", "%s", why);
		break;
	default:
		http_reply_error(r, 503, "store_unavailable", "%s", why);
	}
}

static int
need_body(struct req *r)
{
	if (!cJSON_IsObject(r->body)) {
		http_reply_error(r, 400, "invalid_body", "the body must be a JSON object");
		return MW_EREPLIED;
	}
	return 0;
}

static void
reply_items(struct req *r, cJSON *items)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total", cJSON_GetArraySize(items));
	cJSON_AddItemToObject(o, "items", items);
	http_reply_json(r, 200, o, NULL);
}

void
api_alerts_list(struct req *r)
{
	int limit, offset;
	char state[16] = "active";
	int rc = http_query_str(r, "state", state, sizeof state);
	if (rc == MW_EREPLIED || http_query_int(r, "limit", ALERTS_LIST_DEFAULT, 1, API_LIST_MAX, &limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &offset))
		return;
	if (rc == MW_ENOTFOUND)
		snprintf(state, sizeof state, "active");
	if (strcmp(state, "active") && strcmp(state, "pending") && strcmp(state, "firing") &&
	    strcmp(state, "resolved") && strcmp(state, "all")) {
		http_reply_error(r, 400, "invalid_query", "parameter \"state\" must be active, pending, firing, resolved or all");
		return;
	}
	struct store_doc *d;
	int n, total;
	if (store_alerts_list(r->node->store, strcmp(state, "all") ? state : "", limit, offset, &d, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot read alerts from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_Parse(d[i].body);
		if (o)
			cJSON_AddItemToArray(items, o);
	}
	store_docs_free(d, n);
	http_reply_collection(r, items, total, limit, offset);
}

void
api_alerts_get(struct req *r)
{
	char *body;
	int rc = store_alert_get(r->node->store, r->id, &body);
	if (rc != 0) {
		reply_rc(r, rc, rc == MW_ENOTFOUND ? "no such alert" : "cannot read alerts from the database");
		return;
	}
	cJSON *o = cJSON_Parse(body);
	free(body);
	http_reply_json(r, 200, o ? o : cJSON_CreateObject(), NULL);
}

static void
ack(struct req *r, int on)
{
	struct alerts *a = engine(r);
	if (a == NULL)
		return;
	cJSON *out = NULL;
	char why[200];
	int rc = alerts_ack(a, r->id, on, r->user.username, &out, why, sizeof why);
	if (rc != 0)
		reply_rc(r, rc, why);
	else
		http_reply_json(r, 200, out, NULL);
}

void
api_alerts_ack(struct req *r)
{
	ack(r, 1);
}

void
api_alerts_unack(struct req *r)
{
	ack(r, 0);
}

void
api_alert_rules_list(struct req *r)
{
	struct alerts *a = engine(r);
	if (a)
		reply_items(r, alerts_rules_json(a));
}

void
api_alert_rules_create(struct req *r)
{
	struct alerts *a = engine(r);
	if (a == NULL || need_body(r))
		return;
	cJSON *out = NULL;
	char why[300];
	int rc = alerts_rule_create(a, r->body, &out, why, sizeof why);
	if (rc != 0)
		reply_rc(r, rc, why);
	else
		http_reply_json(r, 201, out, NULL);
}

void
api_alert_rules_update(struct req *r)
{
	struct alerts *a = engine(r);
	if (a == NULL || need_body(r))
		return;
	cJSON *out = NULL;
	char why[300];
	int rc = alerts_rule_update(a, r->id, r->body, &out, why, sizeof why);
	if (rc != 0)
		reply_rc(r, rc, why);
	else
		http_reply_json(r, 200, out, NULL);
}

void
api_alert_rules_delete(struct req *r)
{
	struct alerts *a = engine(r);
	if (a == NULL)
		return;
	char why[200];
	int rc = alerts_rule_delete(a, r->id, why, sizeof why);
	if (rc != 0)
		reply_rc(r, rc, why);
	else
		http_reply_raw(r, 204, "application/json", "", 0, NULL);
}

void
api_alert_silences_list(struct req *r)
{
	struct alerts *a = engine(r);
	if (a)
		reply_items(r, alerts_silences_json(a));
}

void
api_alert_silences_create(struct req *r)
{
	struct alerts *a = engine(r);
	if (a == NULL || need_body(r))
		return;
	cJSON *out = NULL;
	char why[300];
	int rc = alerts_silence_create(a, r->body, r->user.username, &out, why, sizeof why);
	if (rc != 0)
		reply_rc(r, rc, why);
	else
		http_reply_json(r, 201, out, NULL);
}

void
api_alert_silences_delete(struct req *r)
{
	struct alerts *a = engine(r);
	if (a == NULL)
		return;
	char why[200];
	int rc = alerts_silence_delete(a, r->id, why, sizeof why);
	if (rc != 0)
		reply_rc(r, rc, why);
	else
		http_reply_raw(r, 204, "application/json", "", 0, NULL);
}

void
api_alert_channels_list(struct req *r)
{
	struct alerts *a = engine(r);
	if (a)
		reply_items(r, alerts_channels_json(a));
}

void
api_alert_channels_test(struct req *r)
{
	struct alerts *a = engine(r);
	if (a == NULL)
		return;
	char why[200];
	int rc = alerts_channel_test(a, r->id, r->user.username, why, sizeof why);
	if (rc != 0) {
		reply_rc(r, rc, why);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "queued", 1);
	http_reply_json(r, 202, o, NULL);
}
