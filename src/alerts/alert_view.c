/* alert_view: an alert as the API, the store, the live feed and the
   webhook show it. Apart from the engine (alerts.c) and the messages
   (notify.c) because both use it and neither should need the other. */
#include "alerts_internal.h"

#include <string.h>

#include "meshwatch/json.h"

static const char *const state_names[] = {"pending", "firing", "resolved"};

const char *
alert_state_name(int s)
{
	return s >= 0 && s <= ALERT_RESOLVED ? state_names[s] : "pending";
}

cJSON *
alert_json(const struct alert *x)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)x->id);
	cJSON_AddNumberToObject(o, "rule_id", (double)x->rule_id);
	cJSON_AddStringToObject(o, "rule", x->rule);
	cJSON_AddStringToObject(o, "severity", event_severity_name(x->severity));
	cJSON_AddStringToObject(o, "subject_type", x->subject_type);
	cJSON_AddStringToObject(o, "subject", x->subject);
	cJSON_AddStringToObject(o, "subject_name", x->subject_name);
	cJSON_AddStringToObject(o, "state", alert_state_name(x->state));
	cJSON_AddStringToObject(o, "value", x->value);
	cJSON_AddStringToObject(o, "summary", x->summary);
	json_add_time_or_null(o, "started_at", x->started_at);
	json_add_time_or_null(o, "fired_at", x->fired_at);
	json_add_time_or_null(o, "resolved_at", x->resolved_at);
	json_add_time_or_null(o, "last_notified_at", x->last_notified_at);
	cJSON_AddBoolToObject(o, "acknowledged", x->acked);
	if (x->acked)
		cJSON_AddStringToObject(o, "acked_by", x->acked_by);
	else
		cJSON_AddNullToObject(o, "acked_by");
	cJSON_AddBoolToObject(o, "silenced", x->silenced);
	cJSON_AddBoolToObject(o, "notified", x->notified);
	if (x->sent_by[0])
		cJSON_AddStringToObject(o, "sent_by", x->sent_by);
	else
		cJSON_AddNullToObject(o, "sent_by");
	cJSON_AddItemToObject(o, "labels", json_parse_object(x->labels));
	cJSON_AddItemToObject(o, "evidence", json_parse_object(x->evidence));
	return o;
}
