/* oui: the MAC vendor table (see oui.h). */
#include "meshwatch/oui.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/buf.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/util.h"


struct oui_entry {
	uint32_t prefix;
	uint32_t name;   /* offset into names */
};

struct oui_db {
	struct oui_entry *e;
	int n, cap;
	struct mw_buf names; /* every name with its NUL, at most OUI_FILE_MAX */
};

void
oui_free(struct oui_db *db)
{
	if (db == NULL)
		return;
	free(db->e);
	mw_buf_finish(&db->names);
	free(db);
}

int
oui_count(const struct oui_db *db)
{
	return db ? db->n : 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Six hex digits, optionally split by '-' or ':' after each pair. */
static int
parse_prefix(const char *p, const char **end, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 6; i++) {
		if (i > 0 && i % 2 == 0 && (*p == '-' || *p == ':'))
			p++;
		int h = hexval((unsigned char)*p);
		if (h < 0)
			return -1;
		v = v << 4 | (uint32_t)h;
		p++;
	}
	*end = p;
	*out = v;
	return 0;
}

static int
add(struct oui_db *db, uint32_t prefix, const char *name, size_t len)
{
	while (len > 0 && isspace((unsigned char)name[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*name)) {
		name++;
		len--;
	}
	if (len > 0 && name[0] == '"') {
		name++;
		len--;
		while (len > 0 && name[len - 1] == '"')
			len--;
	}
	if (len == 0)
		return 0;
	if (db->n == db->cap) {
		int cap = db->cap ? db->cap * 2 : 1024;
		struct oui_entry *e = realloc(db->e, (size_t)cap * sizeof *e);
		if (e == NULL)
			return MW_ENOMEM;
		db->e = e;
		db->cap = cap;
	}
	size_t at = mw_buf_len(&db->names);
	int rc = mw_buf_append(&db->names, name, len);
	if (rc == 0)
		rc = mw_buf_append(&db->names, "", 1); /* the name's NUL, kept in the pool */
	if (rc != 0)
		return rc;
	db->e[db->n++] = (struct oui_entry){prefix, (uint32_t)at};
	return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
	uint32_t x = ((const struct oui_entry *)a)->prefix, y = ((const struct oui_entry *)b)->prefix;
	return x < y ? -1 : x > y;
}

struct oui_db *
oui_parse(const char *text, size_t len)
{
	struct oui_db *db = calloc(1, sizeof *db);
	if (db == NULL)
		return NULL;
	mw_buf_init(&db->names, OUI_FILE_MAX);
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		const char *q;
		uint32_t prefix;
		size_t ll = (size_t)(eol - p);
		if (ll > 8 && strncmp(p, "MA-L,", 5) == 0 && parse_prefix(p + 5, &q, &prefix) == 0 && *q == ',') {
			/* csv: MA-L,002272,Name,Address (a quoted name may hold commas) */
			const char *n = q + 1, *ne = n;
			if (*n == '"') {
				ne = memchr(n + 1, '"', (size_t)(eol - n - 1));
				ne = ne ? ne + 1 : eol;
			} else {
				while (ne < eol && *ne != ',')
					ne++;
			}
			if (add(db, prefix, n, (size_t)(ne - n)) != 0)
				goto oom;
		} else if (ll > 8 && parse_prefix(p, &q, &prefix) == 0 && q - p == 8) {
			/* txt: "00-22-72   (hex)\t\tName" */
			/* memmem within the line: strstr would scan (and, under
			   sanitizers, measure) the rest of the file for every line */
			const char *h = memmem(q, (size_t)(eol - q), "(hex)", 5);
			if (h && add(db, prefix, h + 5, (size_t)(eol - h - 5)) != 0)
				goto oom;
		}
		p = eol + 1;
	}
	qsort(db->e, (size_t)db->n, sizeof *db->e, cmp_entry);
	return db;
oom:
	oui_free(db);
	return NULL;
}

struct oui_db *
oui_load(const char *path, char *err, size_t errlen)
{
	int rerr = 0;
	size_t len = 0;
	char *text = mw_read_file(path, OUI_FILE_MAX, &len, &rerr);
	if (text == NULL) {
		snprintf(err, errlen, "%s: %s", path, mw_strerror(rerr));
		return NULL;
	}
	struct oui_db *db = oui_parse(text, len);
	free(text);
	if (db == NULL)
		snprintf(err, errlen, "out of memory");
	return db;
}

const char *
oui_lookup(const struct oui_db *db, const char *mac)
{
	uint32_t prefix;
	const char *end;
	if (db == NULL || mac == NULL || parse_prefix(mac, &end, &prefix) != 0)
		return NULL;
	int lo = 0, hi = db->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (db->e[mid].prefix == prefix)
			return mw_buf_str(&db->names) + db->e[mid].name;
		if (db->e[mid].prefix < prefix)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oui_db *shared;
static int shared_tried;

const struct oui_db *
oui_shared(const char *path)
{
	pthread_mutex_lock(&shared_lock);
	if (!shared_tried) {
		shared_tried = 1;
		char err[600];
		shared = oui_load(path, err, sizeof err);
		if (shared)
			log_info("scan", "MAC vendors: %d prefixes from %s", shared->n, path);
		else
			log_debug("scan", "no MAC vendor table (%s); install ieee-data for vendor names", err);
	}
	struct oui_db *db = shared;
	pthread_mutex_unlock(&shared_lock);
	return db;
}

void
oui_shared_free(void)
{
	pthread_mutex_lock(&shared_lock);
	oui_free(shared);
	shared = NULL;
	shared_tried = 0;
	pthread_mutex_unlock(&shared_lock);
}
