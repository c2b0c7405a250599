/* services: definitions as data and the matcher (see services.h). A
   definition lists matchers; every content matcher it has must match for
   a content hit, and its ports give a port hit. Scores follow the
   confidence levels low < medium < high < certain. */
#include "meshwatch/services.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshwatch/limits.h"
#include "meshwatch/util.h"


struct svcdef {
	char name[SVC_NAME_MAX];
	uint16_t ports[SVC_MAX_PORTS];
	int nports;
	int has_banner;
	regex_t banner;
	int has_image;
	regex_t image;        /* a container's image (or its OCI title label) */
	int http_status;
	char *header_name, *header_value;
	char *body, *title, *tls_subject, *vendor;
	int want_http, want_tls;
};

struct svcdb {
	struct svcdef *defs;
	int n, cap;
};

const char *
svc_confidence_name(int c)
{
	static const char *const names[] = {"none", "low", "medium", "high", "certain"};
	return names[c < 0 || c > 4 ? 0 : c];
}

static void
def_clear(struct svcdef *d)
{
	if (d->has_banner)
		regfree(&d->banner);
	if (d->has_image)
		regfree(&d->image);
	free(d->header_name);
	free(d->header_value);
	free(d->body);
	free(d->title);
	free(d->tls_subject);
	free(d->vendor);
	memset(d, 0, sizeof *d);
}

void
svcdb_free(struct svcdb *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < db->n; i++)
		def_clear(&db->defs[i]);
	free(db->defs);
	free(db);
}

int
svcdb_count(const struct svcdb *db)
{
	return db ? db->n : 0;
}

static int
opt_str(const cJSON *e, const char *key, char **out, int idx, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > 256) {
		snprintf(err, errlen, "definition %d: \"%s\" must be a non-empty string of at most 256 characters", idx, key);
		return MW_EINVAL;
	}
	*out = strdup(v->valuestring);
	return *out ? 0 : MW_ENOMEM;
}

static int
opt_bool(const cJSON *e, const char *key, int *out, int idx, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v)) {
		snprintf(err, errlen, "definition %d: \"%s\" must be true or false", idx, key);
		return MW_EINVAL;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

static const char *const known_keys[] = {"name", "ports", "banner", "http_status", "header", "body", "title",
	"tls_subject", "vendor", "http", "tls", "image", "description"};

static int
parse_def(const cJSON *e, int idx, struct svcdef *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	if (!cJSON_IsObject(e)) {
		snprintf(err, errlen, "definition %d is not an object", idx);
		return MW_EINVAL;
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, e) {
		size_t k = 0;
		while (k < MW_ARRAY_LEN(known_keys) && strcmp(f->string, known_keys[k]) != 0)
			k++;
		if (k == MW_ARRAY_LEN(known_keys)) {
			snprintf(err, errlen, "definition %d: unknown field \"%.40s\"", idx, f->string);
			return MW_EINVAL;
		}
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
	if (!cJSON_IsString(name) || name->valuestring[0] == '\0' || strlen(name->valuestring) >= SVC_NAME_MAX) {
		snprintf(err, errlen, "definition %d: \"name\" must be a string of 1 to %d characters", idx, SVC_NAME_MAX - 1);
		return MW_EINVAL;
	}
	snprintf(d->name, sizeof d->name, "%s", name->valuestring);
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(e, "ports");
	if (ports) {
		const cJSON *p;
		if (!cJSON_IsArray(ports) || cJSON_GetArraySize(ports) > SVC_MAX_PORTS) {
			snprintf(err, errlen, "definition %d (%s): \"ports\" must be an array of at most %d ports", idx, d->name,
			    SVC_MAX_PORTS);
			return MW_EINVAL;
		}
		cJSON_ArrayForEach(p, ports) {
			if (!cJSON_IsNumber(p) || p->valuedouble < 1 || p->valuedouble > 65535 || p->valuedouble != (int)p->valuedouble) {
				snprintf(err, errlen, "definition %d (%s): \"ports\" must hold integers from 1 to 65535", idx, d->name);
				return MW_EINVAL;
			}
			d->ports[d->nports++] = (uint16_t)p->valueint;
		}
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "http_status");
	if (st) {
		if (!cJSON_IsNumber(st) || st->valueint < 100 || st->valueint > 599) {
			snprintf(err, errlen, "definition %d (%s): \"http_status\" must be an integer from 100 to 599", idx, d->name);
			return MW_EINVAL;
		}
		d->http_status = st->valueint;
	}
	char *banner = NULL, *header = NULL, *image = NULL;
	int rc = opt_str(e, "banner", &banner, idx, err, errlen);
	if (rc == 0)
		rc = opt_str(e, "image", &image, idx, err, errlen);
	if (rc == 0)
		rc = opt_str(e, "header", &header, idx, err, errlen);
	if (rc == 0)
		rc = opt_str(e, "body", &d->body, idx, err, errlen);
	if (rc == 0)
		rc = opt_str(e, "title", &d->title, idx, err, errlen);
	if (rc == 0)
		rc = opt_str(e, "tls_subject", &d->tls_subject, idx, err, errlen);
	if (rc == 0)
		rc = opt_str(e, "vendor", &d->vendor, idx, err, errlen);
	if (rc == 0)
		rc = opt_bool(e, "http", &d->want_http, idx, err, errlen);
	if (rc == 0)
		rc = opt_bool(e, "tls", &d->want_tls, idx, err, errlen);
	if (rc == 0 && banner) {
		int re = regcomp(&d->banner, banner, REG_EXTENDED | REG_NOSUB);
		if (re != 0) {
			char why[128];
			regerror(re, &d->banner, why, sizeof why);
			snprintf(err, errlen, "definition %d (%s): \"banner\" is not a valid regular expression: %s", idx, d->name, why);
			rc = MW_EINVAL;
		} else {
			d->has_banner = 1;
		}
	}
	if (rc == 0 && image) {
		int re = regcomp(&d->image, image, REG_EXTENDED | REG_NOSUB | REG_ICASE);
		if (re != 0) {
			char why[128];
			regerror(re, &d->image, why, sizeof why);
			snprintf(err, errlen, "definition %d (%s): \"image\" is not a valid regular expression: %s", idx, d->name, why);
			rc = MW_EINVAL;
		} else {
			d->has_image = 1;
		}
	}
	if (rc == 0 && header) {
		/* "Name: value" matches a header whose value contains value; "Name" its presence */
		char *colon = strchr(header, ':');
		if (colon) {
			*colon = '\0';
			const char *v = colon + 1;
			while (*v == ' ')
				v++;
			d->header_value = *v ? strdup(v) : NULL;
		}
		d->header_name = strdup(header);
	}
	free(banner);
	free(header);
	free(image);
	if (rc == 0 && d->nports == 0 && !d->has_image && !d->has_banner && !d->http_status && !d->header_name && !d->body && !d->title &&
	    !d->tls_subject && !d->vendor && !d->want_http && !d->want_tls) {
		snprintf(err, errlen, "definition %d (%s) has no matcher (ports, banner, image, http_status, header, body, "
		                      "title, tls_subject, vendor, http or tls)", idx, d->name);
		rc = MW_EINVAL;
	}
	if (rc != 0)
		def_clear(d);
	return rc;
}

/* Adds the definitions of json to db; one with a name already present
   replaces it in place (file entries override built-in ones). */
static int
db_add_json(struct svcdb *db, const char *json, size_t len, const char *what, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsArray(root)) {
		snprintf(err, errlen, "%s: not a JSON array of service definitions", what);
		cJSON_Delete(root);
		return MW_EINVAL;
	}
	int idx = 0, rc = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, root) {
		struct svcdef d;
		char why[300];
		rc = parse_def(e, idx++, &d, why, sizeof why);
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", what, why);
			break;
		}
		int at = -1;
		for (int i = 0; i < db->n && at < 0; i++)
			if (strcmp(db->defs[i].name, d.name) == 0)
				at = i;
		if (at >= 0) {
			def_clear(&db->defs[at]);
			db->defs[at] = d;
			continue;
		}
		if (db->n >= SVC_MAX_DEFS) {
			def_clear(&d);
			snprintf(err, errlen, "%s: more than %d definitions", what, SVC_MAX_DEFS);
			rc = MW_ETOOBIG;
			break;
		}
		if (db->n == db->cap) {
			int cap = db->cap ? db->cap * 2 : 256;
			struct svcdef *nd = realloc(db->defs, (size_t)cap * sizeof *nd);
			if (nd == NULL) {
				def_clear(&d);
				rc = MW_ENOMEM;
				snprintf(err, errlen, "out of memory");
				break;
			}
			db->defs = nd;
			db->cap = cap;
		}
		db->defs[db->n++] = d;
	}
	cJSON_Delete(root);
	return rc;
}

struct svcdb *
svcdb_parse(const char *json, size_t len, char *err, size_t errlen)
{
	struct svcdb *db = calloc(1, sizeof *db);
	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (db_add_json(db, json, len, "service definitions", err, errlen) != 0) {
		svcdb_free(db);
		return NULL;
	}
	return db;
}

struct svcdb *
svcdb_load(const char *path, char *err, size_t errlen)
{
	struct svcdb *db = svcdb_parse(mw_services_json, mw_services_json_len, err, errlen);
	if (db == NULL || path == NULL || path[0] == '\0')
		return db;
	int rerr = 0;
	size_t len = 0;
	char *text = mw_read_file(path, SVC_FILE_MAX, &len, &rerr);
	if (text == NULL) {
		snprintf(err, errlen, "services_file %s: %s", path, mw_strerror(rerr));
		svcdb_free(db);
		return NULL;
	}
	char what[600];
	snprintf(what, sizeof what, "services_file %s", path);
	int rc = db_add_json(db, text, len, what, err, errlen);
	free(text);
	if (rc != 0) {
		svcdb_free(db);
		return NULL;
	}
	return db;
}

static int
has_ci(const char *hay, const char *needle)
{
	return hay && needle && strcasestr(hay, needle) != NULL;
}

/* A header line "name: value" in the block whose value contains want
   (or that is present, when want is NULL). */
static int
header_match(const char *headers, const char *name, const char *want)
{
	if (headers == NULL)
		return 0;
	size_t nl = strlen(name);
	for (const char *p = headers; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			if (want == NULL)
				return 1;
			char line[512];
			size_t vl = len - nl - 1 < sizeof line - 1 ? len - nl - 1 : sizeof line - 1;
			memcpy(line, p + nl + 1, vl);
			line[vl] = '\0';
			if (strcasestr(line, want))
				return 1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* Score of one definition for the evidence (SVC_NONE when it does not
   apply). */
static int
def_score(const struct svcdef *d, const struct svc_evidence *ev)
{
	int port_hit = 0;
	for (int i = 0; i < d->nports; i++)
		port_hit |= d->ports[i] == ev->port;
	if (ev->unprobed) {
		/* a container's port: nothing was asked of it, so only its image
		   (or its OCI title label) and the port say anything */
		int hit = d->has_image && ((ev->image && regexec(&d->image, ev->image, 0, NULL, 0) == 0) ||
		                              (ev->image_title && regexec(&d->image, ev->image_title, 0, NULL, 0) == 0));
		if (!hit)
			return port_hit ? SVC_LOW : SVC_NONE;
		return port_hit ? SVC_CERTAIN : SVC_HIGH;
	}
	int strong = 0, weak = 0, missed = 0;
#define CHECK(present, ok, counter) \
	do { \
		if (present) { \
			if (ok) \
				counter++; \
			else \
				missed++; \
		} \
	} while (0)
	CHECK(d->has_banner, ev->banner && regexec(&d->banner, ev->banner, 0, NULL, 0) == 0, strong);
	CHECK(d->http_status, ev->http_status == d->http_status, strong);
	CHECK(d->header_name, header_match(ev->http_headers, d->header_name, d->header_value), strong);
	CHECK(d->body, has_ci(ev->http_body, d->body), strong);
	CHECK(d->title, has_ci(ev->http_title, d->title), strong);
	CHECK(d->tls_subject, has_ci(ev->tls_subject, d->tls_subject), strong);
	CHECK(d->vendor, has_ci(ev->vendor, d->vendor), weak);
	CHECK(d->want_http, ev->http_status > 0, weak);
	CHECK(d->want_tls, ev->tls, weak);
#undef CHECK
	if (missed || (strong == 0 && weak == 0))
		return port_hit ? SVC_LOW : SVC_NONE;
	int score = strong ? SVC_HIGH : SVC_MEDIUM;
	if (port_hit || strong + weak >= 2)
		score++;
	return score > SVC_CERTAIN ? SVC_CERTAIN : score;
}

int
svcdb_identify(const struct svcdb *db, const struct svc_evidence *ev, struct svc_match *out)
{
	int best = SVC_NONE, at = -1;
	for (int i = 0; db && i < db->n; i++) {
		int s = def_score(&db->defs[i], ev);
		/* a guess from the port alone names the broadest definition of
		   that port (the one listing the most ports: "HTTP" for 80, not
		   the first product that happens to use it) */
		if (s > best || (s == SVC_LOW && best == SVC_LOW && db->defs[i].nports > db->defs[at].nports)) {
			best = s;
			at = i;
		}
	}
	snprintf(out->name, sizeof out->name, "%s", at >= 0 ? db->defs[at].name : "");
	out->confidence = best;
	return best;
}

void
svc_printable(const char *raw, size_t len, char *out, size_t outlen)
{
	size_t k = 0;
	for (size_t i = 0; i < len && k + 1 < outlen; i++) {
		unsigned char c = (unsigned char)raw[i];
		out[k++] = (c < 32 && c != '\t') || c == 127 ? ' ' : (char)c;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	if (outlen)
		out[k] = '\0';
}

int
svc_parse_http(const char *raw, size_t len, char *headers, size_t hlen, char *title, size_t tlen, const char **body)
{
	if (hlen)
		headers[0] = '\0';
	if (tlen)
		title[0] = '\0';
	*body = NULL;
	if (len < 12 || memcmp(raw, "HTTP/1.", 7) != 0 || raw[8] != ' ')
		return 0;
	int status = 0;
	for (int i = 9; i < 12; i++) {
		if (raw[i] < '0' || raw[i] > '9')
			return 0;
		status = status * 10 + (raw[i] - '0');
	}
	if (status < 100 || status > 599)
		return 0;
	const char *end = raw + len;
	const char *eol = memchr(raw, '\n', len);
	const char *hs = eol ? eol + 1 : end;
	const char *he = hs;
	/* headers end at the first empty line */
	while (he < end) {
		const char *nl = memchr(he, '\n', (size_t)(end - he));
		if (nl == NULL) {
			he = end;
			break;
		}
		size_t ll = (size_t)(nl - he);
		if (ll == 0 || (ll == 1 && he[0] == '\r')) {
			*body = nl + 1;
			break;
		}
		he = nl + 1;
	}
	size_t hn = (size_t)(he - hs) < hlen - 1 ? (size_t)(he - hs) : hlen - 1;
	for (size_t i = 0; i < hn; i++)
		headers[i] = hs[i] == '\0' ? ' ' : hs[i];
	headers[hn] = '\0';
	if (*body && tlen) {
		size_t bl = (size_t)(end - *body);
		const char *t = NULL;
		for (size_t i = 0; i + 7 <= bl && !t; i++)
			if (strncasecmp(*body + i, "<title", 6) == 0)
				t = memchr(*body + i, '>', bl - i);
		if (t) {
			t++;
			const char *te = t;
			while (te < end && *te != '<')
				te++;
			while (t < te && isspace((unsigned char)*t))
				t++;
			svc_printable(t, (size_t)(te - t), title, tlen);
		}
	}
	return status;
}
