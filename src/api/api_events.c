/* api_events: GET /api/events, the story of what changed, newest first,
   and the JSON of one event that the WebSocket topic "events" sends too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/events.h"
#include "meshwatch/http.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#define EVENTS_LIST_DEFAULT 100
#define EVENTS_LIST_MAX 1000

cJSON *
api_event_json(const struct event_row *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)e->id);
	char t[40];
	int64_t s = e->ts_ms / 1000;
	mw_rfc3339(s, t, sizeof t);
	/* milliseconds kept: events of one second stay in order for a reader */
	if (strlen(t) == 20)
		snprintf(t + 19, sizeof t - 19, ".%03dZ", (int)(e->ts_ms % 1000));
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddStringToObject(o, "kind", e->kind);
	cJSON_AddStringToObject(o, "severity", event_severity_name(e->severity));
	cJSON_AddStringToObject(o, "subject_type", e->subject_type);
	cJSON_AddStringToObject(o, "subject", e->subject);
	cJSON_AddStringToObject(o, "subject_name", e->subject_name);
	cJSON_AddStringToObject(o, "old", e->old_value);
	cJSON_AddStringToObject(o, "new", e->new_value);
	cJSON *evd = cJSON_Parse(e->evidence);
	if (!cJSON_IsObject(evd)) {
		cJSON_Delete(evd);
		evd = cJSON_CreateObject();
	}
	cJSON_AddItemToObject(o, "evidence", evd);
	return o;
}

/* A name-like query parameter: absent is "", and only [a-z0-9_.:-] of up
   to len-1 bytes (ids, kinds, addresses) is accepted. MW_EREPLIED after a
   400. */
static int
query_token(struct req *r, const char *name, char *out, size_t len)
{
	int rc = http_query_str(r, name, out, len);
	if (rc == MW_EREPLIED)
		return MW_EREPLIED;
	if (rc == MW_ENOTFOUND) {
		out[0] = '\0';
		return 0;
	}
	for (const char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		        strchr("_.:-", *p))) {
			http_reply_error(r, 400, "invalid_query", "parameter \"%s\" may hold only letters, digits and _ . : -",
			    name);
			return MW_EREPLIED;
		}
	return 0;
}

void
api_events_list(struct req *r)
{
	struct event_filter f = {0};
	char kind[EVENT_KIND_MAX], type[16], subject[EVENT_SUBJECT_MAX], sev[16];
	int64_t since, until;
	if (http_query_int(r, "limit", EVENTS_LIST_DEFAULT, 1, EVENTS_LIST_MAX, &f.limit) ||
	    http_query_int(r, "offset", 0, 0, 1000000000, &f.offset) || query_token(r, "kind", kind, sizeof kind) ||
	    query_token(r, "subject_type", type, sizeof type) || query_token(r, "subject", subject, sizeof subject) ||
	    query_token(r, "severity", sev, sizeof sev) || http_query_time(r, "since", 0, &since) ||
	    http_query_time(r, "until", 0, &until))
		return;
	if (sev[0] && (f.min_severity = event_severity_parse(sev)) < 0) {
		http_reply_error(r, 400, "invalid_query", "parameter \"severity\" must be info, warning or critical");
		return;
	}
	if (until > 0 && until < since) {
		http_reply_error(r, 400, "invalid_query", "parameter \"until\" is before \"since\"");
		return;
	}
	f.kind = kind;
	f.subject_type = type;
	f.subject = subject;
	f.since_ms = since * 1000;
	f.until_ms = until > 0 ? until * 1000 + 999 : 0;
	struct event_row *rows;
	int n, total;
	if (store_events_list(r->node->store, &f, &rows, &n, &total) != 0) {
		http_reply_error(r, 503, "store_unavailable", "cannot reach the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, api_event_json(&rows[i]));
	free(rows);
	http_reply_collection(r, items, total, f.limit, f.offset);
}
