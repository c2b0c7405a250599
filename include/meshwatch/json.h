/* json: small cJSON helpers that every layer writing or reading JSON
   shares, so a measurement, a time or a missing value looks the same in
   /nodeinfo, the REST API, WebSocket frames and report snapshots. No
   state; any thread. */
#ifndef MESHWATCH_JSON_H
#define MESHWATCH_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h" /* MW_EINVAL, MW_MUST_CHECK */

/* Adds a measurement rounded to 3 decimals, or null when v < 0 (not
   measured). */
void json_add_num(cJSON *obj, const char *key, double v);

/* Adds a counter as a JSON number (cJSON prints 15 significant digits:
   exact below 10^15). */
void json_add_u64(cJSON *obj, const char *key, uint64_t v);

/* s as a JSON string literal, quotes included, into out (NUL-terminated):
   its length, or -1 when it does not fit. For answers written without
   building a cJSON tree (/health, asked once a second by every monitor). */
int json_quote(const char *s, char *out, size_t outlen);

/* Adds a time as an RFC 3339 UTC string ("2026-11-22T10:30:00Z"); the
   _or_null form adds null for t <= 0 (never happened). */
void json_add_time(cJSON *obj, const char *key, int64_t t);
void json_add_time_or_null(cJSON *obj, const char *key, int64_t t);

/* Reads string member key into out. Absent or null: out = "" and 0,
   unless required (MW_EINVAL). Not a string, or outlen bytes or longer:
   MW_EINVAL. */
int json_get_str(const cJSON *obj, const char *key, char *out, size_t outlen, int required) MW_MUST_CHECK;

/* Reads whole-number member key within [lo, hi] into *out; MW_EINVAL
   when absent, not a number, fractional or out of range. */
int json_get_int(const cJSON *obj, const char *key, double lo, double hi, double *out) MW_MUST_CHECK;

/* The JSON object in text (a stored evidence or label set), or a new
   empty object when text is not one. Never NULL but out of memory. */
cJSON *json_parse_object(const char *text);

#endif
