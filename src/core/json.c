/* json: cJSON helpers shared by every layer; no state of their own. */
#include "meshwatch/json.h"

#include "meshwatch/util.h"

void
json_add_num(cJSON *obj, const char *key, double v)
{
	if (v < 0)
		cJSON_AddNullToObject(obj, key);
	else
		cJSON_AddNumberToObject(obj, key, (double)(int64_t)(v * 1000.0 + 0.5) / 1000.0);
}

void
json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	cJSON_AddNumberToObject(obj, key, (double)v);
}

void
json_add_time(cJSON *obj, const char *key, int64_t t)
{
	char buf[32];
	cJSON_AddStringToObject(obj, key, mw_rfc3339(t, buf, sizeof buf));
}

void
json_add_time_or_null(cJSON *obj, const char *key, int64_t t)
{
	if (t > 0)
		json_add_time(obj, key, t);
	else
		cJSON_AddNullToObject(obj, key);
}
