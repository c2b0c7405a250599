/* api_events: GET /api/events, the story of what changed, newest first
   (one event's JSON is views.c's: the WebSocket topic "events" sends it
   too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/api.h"
#include "meshwatch/events.h"
#include "meshwatch/http.h"
#include "meshwatch/limits.h"
#include "meshwatch/node.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

#include "views.h"

#define EVENTS_LIST_DEFAULT 100

/* A name-like query parameter: absent is "", and only [a-z0-9_.:/-] of
   up to len-1 bytes (ids, kinds, addresses, "ip:port/proto") is accepted.
   MW_EREPLIED after a 400. */
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
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-";
	if (out[strspn(out, ok)] != '\0') {
		http_reply_error(r, 400, "invalid_query", "parameter \"%s\" may hold only letters, digits and _ . : / -", name);
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
	if (http_query_int(r, "limit", EVENTS_LIST_DEFAULT, 1, API_LIST_MAX, &f.limit) ||
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
		http_reply_error(r, 503, "store_unavailable", "cannot read events from the database");
		return;
	}
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, views_event(&rows[i]));
	free(rows);
	http_reply_collection(r, items, total, f.limit, f.offset);
}
