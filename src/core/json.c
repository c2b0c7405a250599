/* json: cJSON helpers shared by every layer; no state of their own. */
#include "meshwatch/json.h"

#include <string.h>

#include "meshwatch/util.h"

int
json_quote(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outlen < 3)
		return -1;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc = 0;
		switch (*p) {
		case '"': esc = '"'; break;
		case '\\': esc = '\\'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		default: break;
		}
		size_t need = esc ? 2 : (*p < 0x20 ? 6 : 1);
		if (o + need + 2 > outlen)
			return -1;
		if (esc) {
			out[o++] = '\\';
			out[o++] = esc;
		} else if (*p < 0x20) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[*p >> 4];
			out[o + 5] = hex[*p & 15];
			o += 6;
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return (int)o;
}

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

int
json_get_str(const cJSON *obj, const char *key, char *out, size_t outlen, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL || cJSON_IsNull(v)) {
		out[0] = '\0';
		return required ? MW_EINVAL : 0;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
		return MW_EINVAL;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

int
json_get_int(const cJSON *obj, const char *key, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return MW_EINVAL;
	*out = v->valuedouble;
	return 0;
}

cJSON *
json_parse_object(const char *text)
{
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	if (cJSON_IsObject(o))
		return o;
	cJSON_Delete(o);
	return cJSON_CreateObject();
}
