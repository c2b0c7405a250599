/* alerts: the rules, the engine that turns events and measurements into
   alerts, and the API's side of both (see alerts.h). Messages are built
   and delivered by notify.c. */
#include "alerts_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/config.h"
#include "meshwatch/events.h"
#include "meshwatch/json.h"
#include "meshwatch/log.h"
#include "meshwatch/membership.h"
#include "meshwatch/mesh.h"
#include "meshwatch/node.h"
#include "meshwatch/util.h"

static const char *const metric_names[METRIC__COUNT] = {"peer_rtt_ms", "peer_loss_pct"};


static int
alert_state_parse(const char *s)
{
	for (int i = 0; i <= ALERT_RESOLVED; i++)
		if (strcmp(s, alert_state_name(i)) == 0)
			return i;
	return -1;
}

/* ---- rules as data ---- */

static const char *const rule_fields[] = {"name", "enabled", "type", "event_kind", "fire_on", "resolve_on", "metric",
    "op", "threshold", "for_s", "severity", "labels", "confirm_k", "repeat_s", "group_wait_s", "id", "builtin"};

static int why_set(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return MW_EINVAL;
}

/* v as compact JSON into out; 0, or MW_ETOOBIG when it does not fit. */
static int
print_into(const cJSON *v, char *out, size_t len)
{
	char *t = cJSON_PrintUnformatted(v);
	int rc = t && strlen(t) < len ? 0 : MW_ETOOBIG;
	if (rc == 0)
		memcpy(out, t, strlen(t) + 1);
	free(t);
	return rc;
}

/* A name or a value: 1..len-1 of [A-Za-z0-9_.:/-] (a port subject is
   "10.0.0.5:22/tcp"). */
static int
token_ok(const char *s, size_t len)
{
	size_t n = strlen(s);
	return n > 0 && n < len && s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-")] == '\0';
}

static int
values_field(const cJSON *o, const char *key, char (*out)[EVENT_VALUE_MAX], int *n, int min, char *why, size_t wl)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (v == NULL)
		return 1;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < min || cJSON_GetArraySize(v) > ALERT_VALUES_MAX)
		return why_set(why, wl, "field \"%s\" must be an array of 1 to 8 values", key);
	*n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e) || !token_ok(e->valuestring, EVENT_VALUE_MAX))
			return why_set(why, wl, "field \"%s\" holds a value that is not a word of letters, digits and _ . : / -",
			    key);
		snprintf(out[(*n)++], EVENT_VALUE_MAX, "%s", e->valuestring);
	}
	return 0;
}

static int
int_field(const cJSON *o, const char *key, int lo, int hi, int *out, char *why, size_t wl)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (v == NULL)
		return 1;
	double d;
	if (json_get_int(o, key, lo, hi, &d) != 0) {
		snprintf(why, wl, "field \"%s\" must be a whole number from %d to %d", key, lo, hi);
		return MW_EINVAL;
	}
	*out = (int)d;
	return 0;
}

/* The labels: an object of up to 16 string values, printed in <512 bytes. */
static int
labels_field(const cJSON *o, char *out, char *why, size_t wl)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "labels");
	if (v == NULL)
		return 1;
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) > 16)
		return why_set(why, wl, "field \"%s\" must be an object of at most 16 string values", "labels");
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e) || !token_ok(e->string, ALERT_NAME_MAX) || strchr(e->string, '/') ||
		    strlen(e->valuestring) > 200)
			return why_set(why, wl, "field \"%s\" must map names (letters, digits, _ . : -) to strings of at most 200 bytes",
			    "labels");
	}
	if (print_into(v, out, ALERT_LABELS_MAX) != 0)
		return why_set(why, wl, "field \"%s\" is longer than 511 bytes as JSON", "labels");
	return 0;
}

/* Applies the fields present in o to r (a whole rule, or a change to
   one); then checks the whole. 0 or MW_EINVAL with why. */
static int
rule_apply(struct rule *r, const cJSON *o, char *why, size_t wl)
{
	if (!cJSON_IsObject(o))
		return why_set(why, wl, "%s", "a rule must be a JSON object");
	const cJSON *f;
	cJSON_ArrayForEach(f, o)
	{
		size_t i;
		for (i = 0; i < MW_ARRAY_LEN(rule_fields); i++)
			if (strcmp(f->string, rule_fields[i]) == 0)
				break;
		if (i == MW_ARRAY_LEN(rule_fields))
			return why_set(why, wl, "unknown field \"%s\"", f->string);
	}
	char s[EVENT_KIND_MAX + 8];
	int rc;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "name");
	if (v) {
		if (!cJSON_IsString(v) || !token_ok(v->valuestring, ALERT_NAME_MAX))
			return why_set(why, wl, "field \"%s\" must be 1 to 63 letters, digits or _ . : / -", "name");
		snprintf(r->name, sizeof r->name, "%s", v->valuestring);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "enabled")) != NULL) {
		if (!cJSON_IsBool(v))
			return why_set(why, wl, "field \"%s\" must be true or false", "enabled");
		r->enabled = cJSON_IsTrue(v);
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "type")) {
		if (json_get_str(o, "type", s, sizeof s, 1) != 0 || (strcmp(s, "event") && strcmp(s, "threshold")))
			return why_set(why, wl, "field \"%s\" must be \"event\" or \"threshold\"", "type");
		r->type = strcmp(s, "event") == 0 ? RULE_EVENT : RULE_THRESHOLD;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "event_kind")) {
		if (json_get_str(o, "event_kind", r->event_kind, sizeof r->event_kind, 1) != 0 ||
		    !token_ok(r->event_kind, EVENT_KIND_MAX))
			return why_set(why, wl, "field \"%s\" must be an event kind (peer_state, target_state, ...)", "event_kind");
		if (strcmp(r->event_kind, "alert_state") == 0)
			return why_set(why, wl, "field \"%s\" may not be alert_state: an alert on alerts would feed itself",
			    "event_kind");
	}
	if ((rc = values_field(o, "fire_on", r->fire_on, &r->nfire, 1, why, wl)) < 0)
		return rc;
	if ((rc = values_field(o, "resolve_on", r->resolve_on, &r->nresolve, 0, why, wl)) < 0)
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(o, "metric")) {
		int m = -1;
		if (json_get_str(o, "metric", s, sizeof s, 1) == 0)
			for (int i = 0; i < METRIC__COUNT; i++)
				if (strcmp(s, metric_names[i]) == 0)
					m = i;
		if (m < 0)
			return why_set(why, wl, "field \"%s\" must be \"peer_rtt_ms\" or \"peer_loss_pct\"", "metric");
		r->metric = m;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "op")) {
		if (json_get_str(o, "op", s, sizeof s, 1) != 0 || (strcmp(s, ">") && strcmp(s, "<")))
			return why_set(why, wl, "field \"%s\" must be \">\" or \"<\"", "op");
		r->op_gt = s[0] == '>';
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "threshold")) != NULL) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1e9)
			return why_set(why, wl, "field \"%s\" must be a number from 0 to 1e9", "threshold");
		r->threshold = v->valuedouble;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "severity")) {
		if (json_get_str(o, "severity", s, sizeof s, 1) != 0 || event_severity_parse(s) < 0)
			return why_set(why, wl, "field \"%s\" must be \"info\", \"warning\" or \"critical\"", "severity");
		r->severity = event_severity_parse(s);
	}
	if ((rc = int_field(o, "for_s", 0, 7 * 86400, &r->for_s, why, wl)) < 0 ||
	    (rc = int_field(o, "confirm_k", 0, 64, &r->confirm_k, why, wl)) < 0 ||
	    (rc = int_field(o, "repeat_s", 0, 7 * 86400, &r->repeat_s, why, wl)) < 0 ||
	    (rc = int_field(o, "group_wait_s", 0, 300, &r->group_wait_s, why, wl)) < 0 ||
	    (rc = labels_field(o, r->labels, why, wl)) < 0)
		return rc;
	/* the whole */
	if (!r->name[0])
		return why_set(why, wl, "field \"%s\" is required", "name");
	if (r->repeat_s > 0 && r->repeat_s < 60)
		return why_set(why, wl, "field \"%s\" must be 0 (never) or at least 60", "repeat_s");
	if (r->type == RULE_EVENT && (!r->event_kind[0] || r->nfire == 0))
		return why_set(why, wl, "%s", "an event rule needs \"event_kind\" and \"fire_on\"");
	if (r->type == RULE_THRESHOLD && r->metric < 0)
		return why_set(why, wl, "%s", "a threshold rule needs \"metric\", \"op\" and \"threshold\"");
	return 0;
}

static void
rule_init(struct rule *r, int repeat_s, int group_wait_s)
{
	memset(r, 0, sizeof *r);
	r->enabled = 1;
	r->metric = -1;
	r->op_gt = 1;
	r->severity = EVENT_WARNING;
	r->repeat_s = repeat_s;
	r->group_wait_s = group_wait_s;
	snprintf(r->labels, sizeof r->labels, "{}");
}

static cJSON *
values_json(const char (*v)[EVENT_VALUE_MAX], int n)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *
rule_json(const struct rule *r, int with_id)
{
	cJSON *o = cJSON_CreateObject();
	if (with_id) {
		cJSON_AddNumberToObject(o, "id", (double)r->id);
		cJSON_AddBoolToObject(o, "builtin", r->builtin);
	}
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddBoolToObject(o, "enabled", r->enabled);
	cJSON_AddStringToObject(o, "type", r->type == RULE_EVENT ? "event" : "threshold");
	if (r->type == RULE_EVENT) {
		cJSON_AddStringToObject(o, "event_kind", r->event_kind);
		cJSON_AddItemToObject(o, "fire_on", values_json((const char(*)[EVENT_VALUE_MAX])r->fire_on, r->nfire));
		cJSON_AddItemToObject(o, "resolve_on", values_json((const char(*)[EVENT_VALUE_MAX])r->resolve_on, r->nresolve));
	} else {
		cJSON_AddStringToObject(o, "metric", metric_names[r->metric]);
		cJSON_AddStringToObject(o, "op", r->op_gt ? ">" : "<");
		cJSON_AddNumberToObject(o, "threshold", r->threshold);
	}
	cJSON_AddNumberToObject(o, "for_s", r->for_s);
	cJSON_AddStringToObject(o, "severity", event_severity_name(r->severity));
	cJSON_AddItemToObject(o, "labels", json_parse_object(r->labels));
	cJSON_AddNumberToObject(o, "confirm_k", r->confirm_k);
	cJSON_AddNumberToObject(o, "repeat_s", r->repeat_s);
	cJSON_AddNumberToObject(o, "group_wait_s", r->group_wait_s);
	return o;
}

/* The rules a node starts with: what every operator wants told. */
static const char *const default_rules[] = {
	"{\"name\":\"peer-dead\",\"event_kind\":\"peer_state\",\"fire_on\":[\"dead\"],\"resolve_on\":[\"alive\"],"
	"\"severity\":\"critical\"}",
	"{\"name\":\"target-down\",\"event_kind\":\"target_state\","
	"\"fire_on\":[\"refused\",\"timeout\",\"unreachable\",\"dns_error\"],\"resolve_on\":[\"up\"],\"severity\":\"critical\"}",
	"{\"name\":\"black-hole\",\"event_kind\":\"black_hole\",\"fire_on\":[\"found\"],\"resolve_on\":[\"gone\"],"
	"\"severity\":\"warning\"}",
	"{\"name\":\"cert-expiring\",\"event_kind\":\"cert_expiry\",\"fire_on\":[\"expiring\",\"expiring_soon\"],"
	"\"resolve_on\":[\"valid\"],\"severity\":\"warning\"}",
	"{\"name\":\"capture-failed\",\"event_kind\":\"capture_state\",\"fire_on\":[\"failed\"],"
	"\"resolve_on\":[\"running\"],\"severity\":\"warning\"}",
	"{\"name\":\"db-not-writable\",\"event_kind\":\"db_state\",\"fire_on\":[\"not_writable\"],"
	"\"resolve_on\":[\"writable\"],\"severity\":\"critical\"}",
};

/* Stores r (new: *id 0) as its JSON; the builtin flag rides along. */
static int
rule_save(struct alerts *a, struct rule *r)
{
	cJSON *o = rule_json(r, 0);
	cJSON_AddBoolToObject(o, "builtin", r->builtin);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return MW_ENOMEM;
	int rc = store_alert_rule_put(a->st, &r->id, r->name, text);
	free(text);
	return rc;
}

static struct rule *
rule_find(struct alerts *a, int64_t id)
{
	for (int i = 0; i < a->nrules; i++)
		if (a->rules[i].id == id)
			return &a->rules[i];
	return NULL;
}

static struct rule *
rule_by_name(struct alerts *a, const char *name)
{
	for (int i = 0; i < a->nrules; i++)
		if (strcmp(a->rules[i].name, name) == 0)
			return &a->rules[i];
	return NULL;
}

/* Stored rules into memory; on a first start the defaults are stored. */
static int
rules_load(struct alerts *a, char *err, size_t errlen)
{
	struct store_doc *d = NULL;
	int n = 0;
	if (store_alert_rules_load(a->st, ALERTS_MAX_RULES, &d, &n) != 0) {
		snprintf(err, errlen, "cannot read the alert rules from the database");
		return MW_EDB;
	}
	int first = n == 0 && store_alerts_last_id(a->st) == 0;
	for (int i = 0; i < n; i++) {
		struct rule r;
		rule_init(&r, a->repeat_default, a->group_wait_default);
		char why[200];
		cJSON *o = cJSON_Parse(d[i].body);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "builtin");
		r.builtin = cJSON_IsTrue(b);
		if (rule_apply(&r, o, why, sizeof why) != 0) {
			log_warn("alerts", "stored rule %lld left out: %s", (long long)d[i].id, why);
			cJSON_Delete(o);
			continue;
		}
		cJSON_Delete(o);
		r.id = d[i].id;
		a->rules[a->nrules++] = r;
	}
	store_docs_free(d, n);
	if (!first)
		return 0;
	for (size_t i = 0; i < MW_ARRAY_LEN(default_rules); i++) {
		struct rule r;
		rule_init(&r, a->repeat_default, a->group_wait_default);
		cJSON *o = cJSON_Parse(default_rules[i]);
		char why[200];
		int rc = rule_apply(&r, o, why, sizeof why);
		cJSON_Delete(o);
		r.builtin = 1;
		if (rc != 0 || rule_save(a, &r) != 0) {
			snprintf(err, errlen, "cannot store the default alert rules");
			return MW_EDB;
		}
		a->rules[a->nrules++] = r;
	}
	log_info("alerts", "first start: %d default alert rules stored", a->nrules);
	return 0;
}

/* ---- the file ---- */

static const char *const file_fields[] = {"channels", "rules", "confirm_k", "repeat_s", "group_wait_s"};

/* Parses alerts.json into a's settings, channels and (when apply) its
   rules, stored by name. */
static int
file_load(struct alerts *a, const char *path, int apply, char *err, size_t errlen)
{
	size_t len;
	int e = 0;
	char *text = mw_read_file(path, ALERTS_FILE_MAX, &len, &e);
	if (text == NULL) {
		snprintf(err, errlen, "%s: %s", path,
		    e == MW_ETOOBIG ? "larger than 256 KB" : "cannot be read (missing or no permission)");
		return MW_EINVAL;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	free(text);
	int rc = MW_EINVAL;
	char why[300] = "";
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, root)
	{
		size_t i;
		for (i = 0; i < MW_ARRAY_LEN(file_fields); i++)
			if (strcmp(f->string, file_fields[i]) == 0)
				break;
		if (i == MW_ARRAY_LEN(file_fields)) {
			snprintf(err, errlen, "%s: unknown field \"%s\"", path, f->string);
			goto out;
		}
	}
	if (int_field(root, "confirm_k", 0, 64, &a->confirm_k_default, why, sizeof why) < 0 ||
	    int_field(root, "repeat_s", 0, 7 * 86400, &a->repeat_default, why, sizeof why) < 0 ||
	    int_field(root, "group_wait_s", 0, 300, &a->group_wait_default, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(root, "channels");
	if (ch && channels_parse(ch, &a->channels, &a->nchannels, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
	if (rules && (!cJSON_IsArray(rules) || cJSON_GetArraySize(rules) > ALERTS_MAX_RULES)) {
		snprintf(err, errlen, "%s: \"rules\" must be an array of at most %d rules", path, ALERTS_MAX_RULES);
		goto out;
	}
	int i = 0;
	const cJSON *ro;
	cJSON_ArrayForEach(ro, rules)
	{
		struct rule r;
		rule_init(&r, a->repeat_default, a->group_wait_default);
		if (rule_apply(&r, ro, why, sizeof why) != 0) {
			snprintf(err, errlen, "%s: rules[%d]: %s", path, i, why);
			goto out;
		}
		i++;
		if (!apply)
			continue;
		/* the file's rule replaces a stored one of the same name */
		struct rule *old = rule_by_name(a, r.name);
		if (old) {
			r.id = old->id;
			r.builtin = old->builtin;
		} else if (a->nrules >= ALERTS_MAX_RULES) {
			snprintf(err, errlen, "%s: more than %d rules in all", path, ALERTS_MAX_RULES);
			goto out;
		}
		if (rule_save(a, &r) != 0) {
			snprintf(err, errlen, "%s: cannot store rule \"%s\"", path, r.name);
			goto out;
		}
		if (old)
			*old = r;
		else
			a->rules[a->nrules++] = r;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int
alerts_check_file(const char *path, char *err, size_t errlen)
{
	struct alerts a = {.confirm_k_default = 0, .repeat_default = ALERTS_REPEAT_DEFAULT_S,
	    .group_wait_default = ALERTS_GROUP_WAIT_DEFAULT_S};
	int rc = file_load(&a, path, 0, err, errlen);
	free(a.channels);
	return rc;
}

/* ---- alerts: memory and the store ---- */


static int64_t
time_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	int64_t t = 0;
	if (cJSON_IsString(v) && mw_parse_time(v->valuestring, &t) != 0)
		t = 0;
	return t;
}

static void
copy_str(const cJSON *o, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	snprintf(out, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static void
copy_obj(const cJSON *o, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsObject(v) || print_into(v, out, len) != 0)
		snprintf(out, len, "{}");
}

/* An active alert back from its stored JSON (a restart). */
static int
alert_from_json(const char *text, struct alert *x)
{
	memset(x, 0, sizeof *x);
	cJSON *o = cJSON_Parse(text);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return MW_EINVAL;
	}
	double d;
	x->id = json_get_int(o, "id", 1, 9e15, &d) == 0 ? (int64_t)d : 0;
	x->rule_id = json_get_int(o, "rule_id", 0, 9e15, &d) == 0 ? (int64_t)d : 0;
	copy_str(o, "rule", x->rule, sizeof x->rule);
	char s[32];
	copy_str(o, "severity", s, sizeof s);
	x->severity = event_severity_parse(s) < 0 ? EVENT_WARNING : event_severity_parse(s);
	copy_str(o, "subject_type", x->subject_type, sizeof x->subject_type);
	copy_str(o, "subject", x->subject, sizeof x->subject);
	copy_str(o, "subject_name", x->subject_name, sizeof x->subject_name);
	copy_str(o, "state", s, sizeof s);
	x->state = alert_state_parse(s);
	copy_str(o, "value", x->value, sizeof x->value);
	copy_str(o, "summary", x->summary, sizeof x->summary);
	x->started_at = time_field(o, "started_at");
	x->fired_at = time_field(o, "fired_at");
	x->resolved_at = time_field(o, "resolved_at");
	x->last_notified_at = time_field(o, "last_notified_at");
	x->acked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "acknowledged"));
	copy_str(o, "acked_by", x->acked_by, sizeof x->acked_by);
	x->notified = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "notified"));
	copy_str(o, "sent_by", x->sent_by, sizeof x->sent_by);
	copy_obj(o, "labels", x->labels, sizeof x->labels);
	copy_obj(o, "evidence", x->evidence, sizeof x->evidence);
	cJSON_Delete(o);
	return x->id > 0 && x->state >= 0 ? 0 : MW_EINVAL;
}

/* Writes x to the store and marks it changed for the live feed. */
static void
alert_save(struct alerts *a, struct alert *x)
{
	x->changed = ++a->change_seq;
	cJSON *o = alert_json(x);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return;
	struct store_alert row = {.id = x->id, .rule_id = x->rule_id, .updated_at = mw_wall_s(),
	    .state = alert_state_name(x->state), .subject = x->subject, .body = text};
	if (store_alert_put(a->st, &row, ALERTS_MAX_ROWS) != 0)
		log_warn("alerts", "alert %lld (%s on %s) could not be stored", (long long)x->id, x->rule, x->subject);
	free(text);
}

static struct alert *
active_find(struct alerts *a, int64_t rule_id, const char *type, const char *subject)
{
	for (int i = 0; i < a->nactive; i++) {
		struct alert *x = &a->active[i];
		if (x->rule_id == rule_id && x->state != ALERT_RESOLVED && strcmp(x->subject, subject) == 0 &&
		    strcmp(x->subject_type, type) == 0)
			return x;
	}
	return NULL;
}

static struct alert *
active_new(struct alerts *a, const struct rule *r, const char *type, const char *subject, const char *name)
{
	if (a->nactive >= ALERTS_MAX_ACTIVE) {
		log_warn("alerts", "%d alerts active: %s on %s is not raised", ALERTS_MAX_ACTIVE, r->name, subject);
		return NULL;
	}
	struct alert *x = &a->active[a->nactive++];
	memset(x, 0, sizeof *x);
	x->id = a->next_alert_id++;
	x->rule_id = r->id;
	snprintf(x->rule, sizeof x->rule, "%s", r->name);
	x->severity = r->severity;
	snprintf(x->subject_type, sizeof x->subject_type, "%s", type);
	snprintf(x->subject, sizeof x->subject, "%s", subject);
	snprintf(x->subject_name, sizeof x->subject_name, "%s", name && name[0] ? name : subject);
	snprintf(x->labels, sizeof x->labels, "%s", r->labels);
	snprintf(x->evidence, sizeof x->evidence, "{}");
	x->state = ALERT_PENDING;
	x->started_at = mw_wall_s();
	return x;
}

static void
active_remove(struct alerts *a, struct alert *x)
{
	a->gone[a->gone_head] = *x;
	a->gone_head = (a->gone_head + 1) % ALERTS_GONE_RING;
	int i = (int)(x - a->active);
	a->active[i] = a->active[--a->nactive];
}

/* ---- the engine ---- */

static int
has_value(const char (*v)[EVENT_VALUE_MAX], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* The sentence people read: what is wrong, with the evidence that says
   so ("n4.test is dead: timeout, 3 of 3 vantage points agreed"). */
static void
event_summary(const struct event_row *e, const cJSON *evd, int agree, int total, const char *self, char *out,
    size_t len)
{
	const char *name = e->subject_name[0] ? e->subject_name : e->subject;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(evd, "error");
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(evd, "host");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(evd, "port");
	/* a target's failure classes all mean "down"; the class follows */
	const char *state = strcmp(e->kind, "target_state") == 0 && strcmp(e->new_value, "up") ? "down" : e->new_value;
	/* what changed, for kinds whose subject is not the thing that failed */
	static const char *const nouns[][2] = {{"capture_state", "capture"}, {"cert_expiry", "certificate"},
	    {"db_state", "database"}, {"black_hole", "path MTU black hole"}, {"pmtu_change", "path MTU"},
	    {"origin_stale", "reports"}};
	const char *noun = NULL;
	for (size_t i = 0; i < MW_ARRAY_LEN(nouns); i++)
		if (strcmp(e->kind, nouns[i][0]) == 0)
			noun = nouns[i][1];
	int l;
	if (cJSON_IsString(host) && cJSON_IsNumber(port))
		l = snprintf(out, len, "%s (%s:%d) is %s", name, host->valuestring, port->valueint, state);
	else if (noun)
		l = snprintf(out, len, "%s: %s %s", name, noun, state);
	else
		l = snprintf(out, len, "%s is %s", name, state);
	if (l < 0 || (size_t)l >= len)
		return;
	if (cJSON_IsString(err) && err->valuestring[0])
		l += snprintf(out + l, len - (size_t)l, ": %s", err->valuestring);
	else if (state != e->new_value)
		l += snprintf(out + l, len - (size_t)l, ": %s", e->new_value);
	if (total <= 1 || l <= 0 || (size_t)l >= len)
		return;
	l += snprintf(out + l, len - (size_t)l, "%s%d of %d vantage points agreed", strchr(out, ':') ? ", " : ": ", agree,
	    total);
	/* and which: this node, then the others that could not reach it */
	const cJSON *who = cJSON_GetObjectItemCaseSensitive(evd, "vantage_agreed");
	if (!cJSON_IsArray(who) || l <= 0 || (size_t)l >= len)
		return;
	l += snprintf(out + l, len - (size_t)l, " (%s", self);
	const cJSON *w;
	cJSON_ArrayForEach(w, who)
	{
		if (cJSON_IsString(w) && l > 0 && (size_t)l < len)
			l += snprintf(out + l, len - (size_t)l, ", %s", w->valuestring);
	}
	if (l > 0 && (size_t)l < len)
		snprintf(out + l, len - (size_t)l, ")");
}

/* Whether enough of the nodes that poll a peer agree it is down: this
   node plus each vantage point asked that could not reach it, against
   k (0: a majority of those that answered, this node included). */
static int
confirmed(const struct rule *r, const cJSON *evd, int *agree, int *total)
{
	const cJSON *asked = cJSON_GetObjectItemCaseSensitive(evd, "vantage_asked");
	const cJSON *reached = cJSON_GetObjectItemCaseSensitive(evd, "vantage_reached");
	int n = cJSON_IsNumber(asked) ? asked->valueint : 0;
	int ok = cJSON_IsNumber(reached) ? reached->valueint : 0;
	*total = 1 + n;
	*agree = 1 + n - ok;
	int need = r->confirm_k > 0 ? r->confirm_k : *total / 2 + 1;
	return *agree >= need;
}

static void
apply_event_rule(struct alerts *a, const struct rule *r, const struct event_row *e)
{
	struct alert *x = active_find(a, r->id, e->subject_type, e->subject);
	int fire = has_value((const char(*)[EVENT_VALUE_MAX])r->fire_on, r->nfire, e->new_value);
	int resolve = has_value((const char(*)[EVENT_VALUE_MAX])r->resolve_on, r->nresolve, e->new_value);
	if (fire) {
		cJSON *evd = cJSON_Parse(e->evidence);
		int agree = 0, total = 0;
		if (strcmp(e->subject_type, "peer") == 0 && strcmp(e->kind, "peer_state") == 0 &&
		    !confirmed(r, evd, &agree, &total)) {
			log_info("alerts", "%s: %s is %s here, but only %d of %d vantage points agree: no alert", r->name,
			    e->subject_name, e->new_value, agree, total);
			cJSON_Delete(evd);
			return;
		}
		if (x == NULL && (x = active_new(a, r, e->subject_type, e->subject, e->subject_name)) == NULL) {
			cJSON_Delete(evd);
			return;
		}
		snprintf(x->value, sizeof x->value, "%s", e->new_value);
		event_summary(e, evd, agree, total, a->node->fqdn, x->summary, sizeof x->summary);
		snprintf(x->evidence, sizeof x->evidence, "%s", e->evidence);
		cJSON_Delete(evd);
		alert_save(a, x);
	} else if (resolve && x) {
		snprintf(x->value, sizeof x->value, "%s", e->new_value);
		if (x->state == ALERT_PENDING) {
			x->state = ALERT_RESOLVED; /* never fired: nothing to tell */
			x->resolved_at = mw_wall_s();
			alert_save(a, x);
			active_remove(a, x);
			return;
		}
		x->state = ALERT_RESOLVED;
		x->resolved_at = mw_wall_s();
		a->resolved++;
		snprintf(x->summary, sizeof x->summary, "%s is %s again", x->subject_name, e->new_value);
		log_info("alerts", "resolved: %s on %s (%s)", x->rule, x->subject_name, e->new_value);
		if (x->notified) {
			x->due_ms = mw_now_ms();
			x->due_status = ALERT_RESOLVED;
		}
		alert_save(a, x);
		if (!x->notified)
			active_remove(a, x);
	}
}

static void
process_event(struct alerts *a, const struct event_row *e)
{
	for (int i = 0; i < a->nrules; i++) {
		const struct rule *r = &a->rules[i];
		if (r->enabled && r->type == RULE_EVENT && strcmp(r->event_kind, e->kind) == 0)
			apply_event_rule(a, r, e);
	}
}

/* The measured value of a metric for p, or NAN when it has none now. */
static double
metric_value(int metric, const struct peer *p)
{
	const struct poll_result *r = &p->last;
	if (metric == METRIC_PEER_RTT_MS) {
		if (r->udp_received > 0 && r->rtt_avg_ms >= 0)
			return r->rtt_avg_ms;
		return r->ok && r->total_ms >= 0 ? r->total_ms : NAN;
	}
	if (r->udp_sent > 0)
		return 100.0 * (r->udp_sent - r->udp_received) / r->udp_sent;
	return NAN;
}

static void
threshold_event(struct alerts *a, const struct alert *x, const char *state)
{
	struct event_row e;
	event_init(&e, "threshold", strcmp(state, "over") == 0 ? x->severity : EVENT_INFO, x->subject_type, x->subject,
	    x->subject_name, strcmp(state, "over") == 0 ? "within" : "over", state);
	cJSON *evd = cJSON_CreateObject();
	cJSON_AddStringToObject(evd, "rule", x->rule);
	cJSON_AddStringToObject(evd, "value", x->value);
	event_set_evidence(&e, evd);
	events_emit(a->node->events, &e);
}

static void
apply_threshold(struct alerts *a, const struct rule *r, const struct peer *p, int64_t now)
{
	double v = metric_value(r->metric, p);
	if (isnan(v))
		return; /* no measurement: nothing changes */
	int over = r->op_gt ? v > r->threshold : v < r->threshold;
	struct alert *x = active_find(a, r->id, "peer", p->id);
	if (over) {
		if (x == NULL) {
			if ((x = active_new(a, r, "peer", p->id, p->fqdn)) == NULL)
				return;
			threshold_event(a, x, "over");
		}
		snprintf(x->value, sizeof x->value, "%.1f", v);
		snprintf(x->summary, sizeof x->summary, "%s: %s %.1f %s %g%s", x->subject_name,
		    r->metric == METRIC_PEER_RTT_MS ? "RTT" : "loss", v, r->op_gt ? ">" : "<", r->threshold,
		    r->metric == METRIC_PEER_RTT_MS ? " ms" : " %");
		if (x->changed == 0)
			alert_save(a, x);
	} else if (x) {
		threshold_event(a, x, "within");
		snprintf(x->value, sizeof x->value, "%.1f", v);
		x->resolved_at = now;
		int was_firing = x->state == ALERT_FIRING;
		x->state = ALERT_RESOLVED;
		if (was_firing) {
			a->resolved++;
			log_info("alerts", "resolved: %s on %s (%.1f)", x->rule, x->subject_name, v);
		}
		if (was_firing && x->notified) {
			x->due_ms = mw_now_ms();
			x->due_status = ALERT_RESOLVED;
			alert_save(a, x);
		} else {
			alert_save(a, x);
			active_remove(a, x);
		}
	}
}

static void
eval_thresholds(struct alerts *a)
{
	/* measurements change once a poll: once a second is often enough */
	int64_t t = mw_now_ms();
	if (t - a->thresholds_at < 1000)
		return;
	a->thresholds_at = t;
	int any = 0;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nrules; i++)
		any |= a->rules[i].enabled && a->rules[i].type == RULE_THRESHOLD;
	pthread_mutex_unlock(&a->lock);
	if (!any || a->node->mesh == NULL)
		return;
	int n = 0;
	struct peer *all = membership_snapshot(mesh_membership(a->node->mesh), &n);
	if (all == NULL)
		return;
	int64_t now = mw_wall_s();
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nrules; i++) {
		const struct rule *r = &a->rules[i];
		if (!r->enabled || r->type != RULE_THRESHOLD)
			continue;
		for (int j = 0; j < n; j++)
			if (all[j].id[0] && !all[j].quarantined && all[j].state != PEER_DEAD)
				apply_threshold(a, r, &all[j], now);
	}
	pthread_mutex_unlock(&a->lock);
	free(all);
}

/* ---- silences ---- */

static int
silence_matches(const cJSON *s, const struct alert *x, int64_t now)
{
	int64_t start = time_field(s, "starts_at"), end = time_field(s, "ends_at");
	if (now < start || now >= end)
		return 0;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "rule");
	if (cJSON_IsString(v) && strcmp(v->valuestring, x->rule) != 0)
		return 0;
	v = cJSON_GetObjectItemCaseSensitive(s, "subject");
	if (cJSON_IsString(v) && strcmp(v->valuestring, x->subject) != 0)
		return 0;
	v = cJSON_GetObjectItemCaseSensitive(s, "subject_type");
	if (cJSON_IsString(v) && strcmp(v->valuestring, x->subject_type) != 0)
		return 0;
	return 1;
}

static void
silences_reload_locked(struct alerts *a)
{
	struct store_doc *d = NULL;
	int n = 0;
	if (store_silences_load(a->st, mw_wall_s(), ALERTS_MAX_SILENCES, &d, &n) != 0)
		return;
	store_docs_free(a->silences, a->nsilences);
	a->silences = d;
	a->nsilences = n;
	a->silences_loaded_ms = mw_now_ms();
}

static void
apply_silences(struct alerts *a, int64_t now)
{
	cJSON *parsed[ALERTS_MAX_SILENCES];
	for (int i = 0; i < a->nsilences; i++)
		parsed[i] = cJSON_Parse(a->silences[i].body);
	for (int i = 0; i < a->nactive; i++) {
		struct alert *x = &a->active[i];
		int s = 0;
		for (int j = 0; j < a->nsilences && !s; j++)
			s = silence_matches(parsed[j], x, now);
		if (s != x->silenced) {
			x->silenced = s;
			alert_save(a, x);
		}
	}
	for (int i = 0; i < a->nsilences; i++)
		cJSON_Delete(parsed[i]);
}

/* ---- who tells ---- */

/* Of the nodes that see a peer, the alive one with the lowest id sends
   its messages, so a mesh of N nodes tells once, not N times. The two
   lowest alive ids are enough to answer for any subject (the subject may
   be one of them). They are read before a->lock is taken: the membership
   holds its own lock while it emits events into alerts_on_event, so
   taking the membership's lock under a->lock would deadlock the two. */
struct senders {
	int n;
	char id[2][37];
	char name[2][256];
};

static void
senders_load(struct alerts *a, struct senders *s)
{
	memset(s, 0, sizeof *s);
	if (a->node->mesh == NULL)
		return;
	int cnt = 0;
	struct peer *all = membership_snapshot(mesh_membership(a->node->mesh), &cnt);
	if (all == NULL)
		return;
	for (int i = 0; i < cnt; i++) {
		const struct peer *p = &all[i];
		if (!p->id[0] || p->quarantined || p->state != PEER_ALIVE)
			continue;
		int at = s->n;
		while (at > 0 && strcmp(p->id, s->id[at - 1]) < 0)
			at--;
		if (at >= 2)
			continue;
		if (at == 0 && s->n > 0) {
			memcpy(s->id[1], s->id[0], sizeof s->id[1]);
			memcpy(s->name[1], s->name[0], sizeof s->name[1]);
		}
		snprintf(s->id[at], sizeof s->id[at], "%s", p->id);
		snprintf(s->name[at], sizeof s->name[at], "%s", p->fqdn[0] ? p->fqdn : p->id);
		if (s->n < 2)
			s->n++;
	}
	free(all);
}

/* NULL: this node sends; otherwise the name of the node that does
   (copied into by). */
static const char *
peer_sender(const struct alerts *a, const struct senders *s, const char *subject, char *by, size_t bylen)
{
	for (int i = 0; i < s->n; i++) {
		if (strcmp(s->id[i], subject) == 0)
			continue;
		if (strcmp(s->id[i], a->node->id) >= 0)
			return NULL;
		snprintf(by, bylen, "%s", s->name[i]);
		return by;
	}
	return NULL;
}

/* Moves pending alerts past their "for" to firing, and marks repeats due. */
static void
advance(struct alerts *a, int64_t now)
{
	for (int i = 0; i < a->nactive; i++) {
		struct alert *x = &a->active[i];
		const struct rule *r = rule_find(a, x->rule_id);
		if (x->state == ALERT_PENDING && r && now - x->started_at >= r->for_s) {
			x->state = ALERT_FIRING;
			x->fired_at = now;
			a->fired++;
			x->due_ms = mw_now_ms();
			x->due_status = ALERT_FIRING;
			x->repeat = 0;
			log_warn("alerts", "firing: %s (%s): %s", x->rule, event_severity_name(x->severity), x->summary);
			alert_save(a, x);
		} else if (x->state == ALERT_FIRING && !x->notified && !x->silenced && !x->sent_by[0] && x->due_ms == 0) {
			/* held back by a silence that has ended, or by a restart */
			x->due_ms = mw_now_ms();
			x->due_status = ALERT_FIRING;
			x->repeat = 0;
		} else if (x->state == ALERT_FIRING && x->notified && !x->acked && x->due_ms == 0 && r && r->repeat_s > 0 &&
		           now - x->last_notified_at >= r->repeat_s) {
			x->due_ms = mw_now_ms();
			x->due_status = ALERT_FIRING;
			x->repeat = 1;
		}
	}
}

/* Due messages leave in groups: all due alerts of one rule and status,
   once the oldest has waited the rule's group_wait_s. */
static void
dispatch(struct alerts *a, const struct senders *senders, int64_t now_ms)
{
	struct alert *group[ALERTS_GROUP_MAX];
	for (int i = 0; i < a->nactive; i++) {
		struct alert *x = &a->active[i];
		if (x->due_ms == 0)
			continue;
		const struct rule *r = rule_find(a, x->rule_id);
		int wait_ms = (r ? r->group_wait_s : a->group_wait_default) * 1000;
		if (now_ms - x->due_ms < wait_ms)
			continue;
		int n = 0;
		for (int j = i; j < a->nactive && n < ALERTS_GROUP_MAX; j++) {
			struct alert *y = &a->active[j];
			if (y->due_ms && y->rule_id == x->rule_id && y->due_status == x->due_status)
				group[n++] = y;
		}
		int status = x->due_status;
		int keep = 0;
		for (int j = 0; j < n; j++) {
			struct alert *y = group[j];
			y->due_ms = 0;
			if (y->silenced) {
				continue; /* held back; a firing one is due again when the silence ends */
			}
			if (status == ALERT_FIRING && !y->repeat && strcmp(y->subject_type, "peer") == 0 &&
			    peer_sender(a, senders, y->subject, y->sent_by, sizeof y->sent_by) != NULL) {
				log_info("alerts", "%s on %s: %s sends the messages", y->rule, y->subject_name, y->sent_by);
				alert_save(a, y);
				continue;
			}
			group[keep++] = y;
		}
		for (int j = 0; j < keep; j++) {
			group[j]->last_notified_at = mw_wall_s();
			if (status == ALERT_FIRING)
				group[j]->notified = 1;
		}
		if (keep > 0)
			notify_queue_group(a, group, keep, status);
		for (int j = 0; j < keep; j++)
			alert_save(a, group[j]);
		/* resolved alerts leave memory once told (or held back) */
		for (int j = a->nactive - 1; j >= 0; j--)
			if (a->active[j].state == ALERT_RESOLVED && a->active[j].due_ms == 0)
				active_remove(a, &a->active[j]);
		i = -1; /* the array changed: start over (bounded by the due count) */
	}
}

void
alerts_on_event(void *arg, const struct event_row *e)
{
	struct alerts *a = arg;
	if (strcmp(e->kind, "threshold") == 0)
		return; /* the engine's own */
	pthread_mutex_lock(&a->lock);
	if (a->nevq < ALERTS_EVENT_QUEUE)
		a->evq[a->nevq++] = *e;
	else
		a->ev_dropped++;
	pthread_mutex_unlock(&a->lock);
}

void
alerts_tick(struct alerts *a)
{
	if (a == NULL)
		return;
	eval_thresholds(a);
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nevq; i++)
		process_event(a, &a->evq[i]);
	a->nevq = 0;
	if (a->ev_dropped) {
		log_warn("alerts", "%llu events arrived faster than the engine reads them and were not evaluated",
		    (unsigned long long)a->ev_dropped);
		a->ev_dropped = 0;
	}
	int64_t now = mw_wall_s();
	if (mw_now_ms() - a->silences_loaded_ms >= 10000)
		silences_reload_locked(a);
	apply_silences(a, now);
	advance(a, now);
	int peer_due = 0;
	for (int i = 0; i < a->nactive && !peer_due; i++)
		peer_due = a->active[i].due_ms != 0 && strcmp(a->active[i].subject_type, "peer") == 0;
	pthread_mutex_unlock(&a->lock);
	struct senders senders = {0};
	if (peer_due)
		senders_load(a, &senders); /* not under a->lock, see senders_load */
	pthread_mutex_lock(&a->lock);
	dispatch(a, &senders, mw_now_ms());
	pthread_mutex_unlock(&a->lock);
	pthread_cond_signal(&a->wake);
}

/* ---- life ---- */

static int
active_load(struct alerts *a, char *err, size_t errlen)
{
	struct store_doc *d = NULL;
	int n = 0, total = 0;
	if (store_alerts_list(a->st, "active", ALERTS_MAX_ACTIVE, 0, &d, &n, &total) != 0) {
		snprintf(err, errlen, "cannot read the active alerts from the database");
		return MW_EDB;
	}
	for (int i = n - 1; i >= 0; i--) {
		struct alert x;
		if (alert_from_json(d[i].body, &x) == 0 && rule_find(a, x.rule_id))
			a->active[a->nactive++] = x;
	}
	store_docs_free(d, n);
	a->next_alert_id = store_alerts_last_id(a->st) + 1;
	if (a->nactive)
		log_info("alerts", "%d alerts still active from the last run", a->nactive);
	return 0;
}

struct alerts *
alerts_create(struct node *n, char *err, size_t errlen)
{
	struct alerts *a = calloc(1, sizeof *a);
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	a->node = n;
	a->st = n->store;
	a->repeat_default = ALERTS_REPEAT_DEFAULT_S;
	a->group_wait_default = ALERTS_GROUP_WAIT_DEFAULT_S;
	a->rules = calloc(ALERTS_MAX_RULES, sizeof *a->rules);
	a->active = calloc(ALERTS_MAX_ACTIVE, sizeof *a->active);
	a->evq = calloc(ALERTS_EVENT_QUEUE, sizeof *a->evq);
	if (a->rules == NULL || a->active == NULL || a->evq == NULL) {
		snprintf(err, errlen, "out of memory");
		alerts_destroy(a);
		return NULL;
	}
	if (rules_load(a, err, errlen) != 0 ||
	    (n->cfg.alerts_file[0] && file_load(a, n->cfg.alerts_file, 1, err, errlen) != 0) ||
	    active_load(a, err, errlen) != 0) {
		alerts_destroy(a);
		return NULL;
	}
	silences_reload_locked(a);
	for (int i = 0; i < a->nchannels; i++)
		a->channels[i].queued = store_notify_count(a->st, a->channels[i].name);
	log_info("alerts", "%d alert rules, %d notification channels", a->nrules, a->nchannels);
	return a;
}

int
alerts_start(struct alerts *a, char *err, size_t errlen)
{
	if (a->nchannels == 0)
		return MW_OK;
	if (pthread_create(&a->thread, NULL, notify_main, a) != 0) {
		snprintf(err, errlen, "alerts: cannot start the delivery thread");
		return MW_EIO;
	}
	a->started = 1;
	return MW_OK;
}

void
alerts_stop(struct alerts *a)
{
	if (a == NULL || !a->started)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->started = 0;
}

void
alerts_destroy(struct alerts *a)
{
	if (a == NULL)
		return;
	alerts_stop(a);
	store_docs_free(a->silences, a->nsilences);
	free(a->rules);
	free(a->active);
	free(a->evq);
	free(a->channels);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ---- the API's side ---- */

cJSON *
alerts_rules_json(struct alerts *a)
{
	cJSON *arr = cJSON_CreateArray();
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nrules; i++)
		cJSON_AddItemToArray(arr, rule_json(&a->rules[i], 1));
	pthread_mutex_unlock(&a->lock);
	return arr;
}

static int
store_why(int rc, const char *name, char *why, size_t wl)
{
	if (rc == MW_EEXIST)
		snprintf(why, wl, "a rule named \"%s\" exists already", name);
	else if (rc == MW_ENOTFOUND)
		snprintf(why, wl, "no such rule");
	else
		snprintf(why, wl, "the database did not take the change");
	return rc;
}

int
alerts_rule_create(struct alerts *a, const cJSON *body, cJSON **out, char *why, size_t wl)
{
	struct rule r;
	rule_init(&r, a->repeat_default, a->group_wait_default);
	if (cJSON_GetObjectItemCaseSensitive(body, "id") || cJSON_GetObjectItemCaseSensitive(body, "builtin"))
		return why_set(why, wl, "%s", "\"id\" and \"builtin\" are given by the node");
	int rc = rule_apply(&r, body, why, wl);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&a->lock);
	if (a->nrules >= ALERTS_MAX_RULES) {
		pthread_mutex_unlock(&a->lock);
		snprintf(why, wl, "at most %d rules", ALERTS_MAX_RULES);
		return MW_ETOOBIG;
	}
	if (rule_by_name(a, r.name))
		rc = MW_EEXIST;
	else
		rc = rule_save(a, &r);
	if (rc == 0) {
		a->rules[a->nrules++] = r;
		*out = rule_json(&r, 1);
	}
	pthread_mutex_unlock(&a->lock);
	if (rc == 0)
		log_info("alerts", "rule %s added", r.name);
	return rc == 0 ? 0 : store_why(rc, r.name, why, wl);
}

int
alerts_rule_update(struct alerts *a, int64_t id, const cJSON *body, cJSON **out, char *why, size_t wl)
{
	pthread_mutex_lock(&a->lock);
	struct rule *old = rule_find(a, id);
	int rc;
	if (old == NULL) {
		rc = MW_ENOTFOUND;
		goto out;
	}
	struct rule r = *old;
	const cJSON *idf = cJSON_GetObjectItemCaseSensitive(body, "id");
	if ((idf && (!cJSON_IsNumber(idf) || idf->valuedouble != (double)id)) ||
	    cJSON_GetObjectItemCaseSensitive(body, "builtin")) {
		pthread_mutex_unlock(&a->lock);
		return why_set(why, wl, "%s", "\"id\" and \"builtin\" are given by the node");
	}
	if ((rc = rule_apply(&r, body, why, wl)) != 0) {
		pthread_mutex_unlock(&a->lock);
		return rc;
	}
	struct rule *same = rule_by_name(a, r.name);
	if (same && same != old)
		rc = MW_EEXIST;
	else if ((rc = rule_save(a, &r)) == 0) {
		*old = r;
		*out = rule_json(&r, 1);
	}
out:
	pthread_mutex_unlock(&a->lock);
	return rc == 0 ? 0 : store_why(rc, "", why, wl);
}

int
alerts_rule_delete(struct alerts *a, int64_t id, char *why, size_t wl)
{
	pthread_mutex_lock(&a->lock);
	struct rule *r = rule_find(a, id);
	int rc = MW_ENOTFOUND;
	if (r && r->builtin) {
		pthread_mutex_unlock(&a->lock);
		return why_set(why, wl, "%s", "a built-in rule cannot be deleted; set \"enabled\": false instead");
	}
	if (r && (rc = store_alert_rule_delete(a->st, id)) == 0) {
		/* its alerts end with it, untold */
		for (int i = a->nactive - 1; i >= 0; i--)
			if (a->active[i].rule_id == id) {
				a->active[i].state = ALERT_RESOLVED;
				a->active[i].resolved_at = mw_wall_s();
				alert_save(a, &a->active[i]);
				active_remove(a, &a->active[i]);
			}
		*r = a->rules[--a->nrules];
	}
	pthread_mutex_unlock(&a->lock);
	return rc == 0 ? 0 : store_why(rc, "", why, wl);
}

cJSON *
alerts_silences_json(struct alerts *a)
{
	cJSON *arr = cJSON_CreateArray();
	int64_t now = mw_wall_s();
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nsilences; i++) {
		cJSON *o = cJSON_Parse(a->silences[i].body);
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			continue;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(o, "id");
		cJSON_AddNumberToObject(o, "id", (double)a->silences[i].id);
		int64_t s = time_field(o, "starts_at"), e = time_field(o, "ends_at");
		cJSON_AddBoolToObject(o, "active", now >= s && now < e);
		cJSON_AddItemToArray(arr, o);
	}
	pthread_mutex_unlock(&a->lock);
	return arr;
}

static const char *const silence_fields[] = {"rule", "subject", "subject_type", "starts_at", "ends_at", "duration_s",
    "comment"};

int
alerts_silence_create(struct alerts *a, const cJSON *body, const char *user, cJSON **out, char *why, size_t wl)
{
	if (!cJSON_IsObject(body))
		return why_set(why, wl, "%s", "a silence must be a JSON object");
	const cJSON *f;
	cJSON_ArrayForEach(f, body)
	{
		size_t i;
		for (i = 0; i < MW_ARRAY_LEN(silence_fields); i++)
			if (strcmp(f->string, silence_fields[i]) == 0)
				break;
		if (i == MW_ARRAY_LEN(silence_fields))
			return why_set(why, wl, "unknown field \"%s\"", f->string);
	}
	cJSON *o = cJSON_CreateObject();
	const char *keys[] = {"rule", "subject", "subject_type"};
	int matchers = 0;
	for (size_t i = 0; i < MW_ARRAY_LEN(keys); i++) {
		char v[EVENT_SUBJECT_MAX];
		if (json_get_str(body, keys[i], v, sizeof v, 0) != 0 || (v[0] && !token_ok(v, sizeof v))) {
			cJSON_Delete(o);
			return why_set(why, wl, "field \"%s\" must be a word of letters, digits and _ . : / -", keys[i]);
		}
		if (v[0]) {
			cJSON_AddStringToObject(o, keys[i], v);
			matchers++;
		} else
			cJSON_AddNullToObject(o, keys[i]);
	}
	int64_t now = mw_wall_s(), start = now, end = 0;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "starts_at");
	if (v && (!cJSON_IsString(v) || mw_parse_time(v->valuestring, &start) != 0)) {
		cJSON_Delete(o);
		return why_set(why, wl, "field \"%s\" must be an RFC 3339 time", "starts_at");
	}
	v = cJSON_GetObjectItemCaseSensitive(body, "ends_at");
	double d;
	if (v && (!cJSON_IsString(v) || mw_parse_time(v->valuestring, &end) != 0)) {
		cJSON_Delete(o);
		return why_set(why, wl, "field \"%s\" must be an RFC 3339 time", "ends_at");
	}
	if (cJSON_GetObjectItemCaseSensitive(body, "duration_s")) {
		if (v || json_get_int(body, "duration_s", 60, 366 * 86400, &d) != 0) {
			cJSON_Delete(o);
			return why_set(why, wl, "%s",
			    "field \"duration_s\" must be a whole number of seconds from 60 to 31622400, without \"ends_at\"");
		}
		end = start + (int64_t)d;
	}
	if (end <= start || end <= now || end - start > 366 * 86400) {
		cJSON_Delete(o);
		return why_set(why, wl, "%s", "a silence needs \"ends_at\" (or \"duration_s\") in the future, after "
		                              "\"starts_at\", at most a year later");
	}
	char comment[256];
	if (json_get_str(body, "comment", comment, sizeof comment, 0) != 0) {
		cJSON_Delete(o);
		return why_set(why, wl, "field \"%s\" must be a string of at most 255 bytes", "comment");
	}
	(void)matchers; /* none: every alert, a maintenance window */
	json_add_time(o, "starts_at", start);
	json_add_time(o, "ends_at", end);
	cJSON_AddStringToObject(o, "comment", comment);
	cJSON_AddStringToObject(o, "created_by", user);
	char *text = cJSON_PrintUnformatted(o);
	int64_t id = 0;
	pthread_mutex_lock(&a->lock);
	int rc = MW_ETOOBIG;
	if (a->nsilences < ALERTS_MAX_SILENCES)
		rc = text ? store_silence_add(a->st, end, text, &id) : MW_ENOMEM;
	if (rc == 0)
		silences_reload_locked(a);
	pthread_mutex_unlock(&a->lock);
	free(text);
	if (rc != 0) {
		cJSON_Delete(o);
		snprintf(why, wl, rc == MW_ETOOBIG ? "at most %d silences at once" : "the database did not take the silence",
		    ALERTS_MAX_SILENCES);
		return rc;
	}
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddBoolToObject(o, "active", now >= start);
	*out = o;
	log_info("alerts", "silence %lld by %s until %lld", (long long)id, user, (long long)end);
	return 0;
}

int
alerts_silence_delete(struct alerts *a, int64_t id, char *why, size_t wl)
{
	pthread_mutex_lock(&a->lock);
	int rc = store_silence_delete(a->st, id);
	if (rc == 0)
		silences_reload_locked(a);
	pthread_mutex_unlock(&a->lock);
	if (rc != 0)
		snprintf(why, wl, rc == MW_ENOTFOUND ? "no such silence" : "the database did not take the change");
	return rc;
}

int
alerts_ack(struct alerts *a, int64_t id, int ack, const char *user, cJSON **out, char *why, size_t wl)
{
	pthread_mutex_lock(&a->lock);
	struct alert *x = NULL;
	for (int i = 0; i < a->nactive; i++)
		if (a->active[i].id == id && a->active[i].state != ALERT_RESOLVED)
			x = &a->active[i];
	if (x == NULL) {
		pthread_mutex_unlock(&a->lock);
		snprintf(why, wl, "no active alert %lld (resolved alerts need no acknowledgement)", (long long)id);
		return MW_ENOTFOUND;
	}
	x->acked = ack;
	snprintf(x->acked_by, sizeof x->acked_by, "%s", ack ? user : "");
	alert_save(a, x);
	*out = alert_json(x);
	pthread_mutex_unlock(&a->lock);
	log_info("alerts", "alert %lld (%s on %s) %s by %s", (long long)id, x->rule, x->subject_name,
	    ack ? "acknowledged" : "no longer acknowledged", user);
	return 0;
}

cJSON *
alerts_channels_json(struct alerts *a)
{
	cJSON *arr = cJSON_CreateArray();
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nchannels; i++)
		cJSON_AddItemToArray(arr, channel_json(&a->channels[i]));
	pthread_mutex_unlock(&a->lock);
	return arr;
}

int
alerts_channel_test(struct alerts *a, int64_t id, const char *user, char *why, size_t wl)
{
	pthread_mutex_lock(&a->lock);
	int rc = MW_ENOTFOUND;
	if (id >= 1 && id <= a->nchannels)
		rc = notify_queue_test(a, &a->channels[id - 1], user);
	pthread_mutex_unlock(&a->lock);
	pthread_cond_signal(&a->wake);
	if (rc != 0)
		snprintf(why, wl, rc == MW_ENOTFOUND ? "no such channel" : "the database did not take the message");
	return rc;
}

cJSON *
alerts_changed_since(struct alerts *a, uint64_t *cursor)
{
	cJSON *arr = NULL;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < ALERTS_GONE_RING + a->nactive; i++) {
		const struct alert *x = i < ALERTS_GONE_RING ? &a->gone[i] : &a->active[i - ALERTS_GONE_RING];
		if (x->id == 0 || x->changed <= *cursor)
			continue;
		if (arr == NULL)
			arr = cJSON_CreateArray();
		cJSON_AddItemToArray(arr, alert_json(x));
	}
	*cursor = a->change_seq;
	pthread_mutex_unlock(&a->lock);
	return arr;
}

void
alerts_get_stats(struct alerts *a, struct alerts_stats *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nactive; i++) {
		out->pending += a->active[i].state == ALERT_PENDING;
		out->firing += a->active[i].state == ALERT_FIRING;
	}
	out->rules = a->nrules;
	out->silences = a->nsilences;
	out->channels = a->nchannels;
	out->fired = a->fired;
	out->resolved = a->resolved;
	pthread_mutex_unlock(&a->lock);
}

int
alerts_get_channel_stats(struct alerts *a, struct alerts_channel_stats *out, int max)
{
	pthread_mutex_lock(&a->lock);
	int n = a->nchannels < max ? a->nchannels : max;
	for (int i = 0; i < n; i++) {
		const struct channel *c = &a->channels[i];
		snprintf(out[i].name, sizeof out[i].name, "%s", c->name);
		snprintf(out[i].type, sizeof out[i].type, "%s", channel_type_name(c->type));
		out[i].queued = c->queued;
		out[i].sent = c->sent;
		out[i].failed = c->failed;
		out[i].dropped = c->dropped;
		out[i].failing = c->failing;
	}
	pthread_mutex_unlock(&a->lock);
	return n;
}
