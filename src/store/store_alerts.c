/* store_alerts: what the alert engine keeps (src/alerts/): its rules and
   silences as JSON documents, the alerts themselves (one row per alert,
   from its start to its end, its whole state as JSON beside the columns a
   query filters on), and the notification outbox, one queue per channel
   delivered in order. Every table is bounded: rules and silences by the
   API's counts, alerts and the outbox by a row bound kept at each write,
   resolved alerts also by the retention. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

const char store_schema_alerts[] =
	"CREATE TABLE alert_rules (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
	"  body TEXT NOT NULL);"
	"CREATE TABLE alert_silences (id INTEGER PRIMARY KEY AUTOINCREMENT, ends_at INTEGER NOT NULL,"
	"  body TEXT NOT NULL);"
	"CREATE TABLE alerts (id INTEGER PRIMARY KEY, state TEXT NOT NULL, rule_id INTEGER NOT NULL,"
	"  subject TEXT NOT NULL, updated_at INTEGER NOT NULL, body TEXT NOT NULL);"
	"CREATE INDEX alerts_state ON alerts(state, id);"
	"CREATE TABLE notify_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL, body TEXT NOT NULL);"
	"CREATE INDEX notify_outbox_channel ON notify_outbox(channel, id);";

void
store_docs_free(struct store_doc *d, int n)
{
	for (int i = 0; i < n && d; i++)
		free(d[i].body);
	free(d);
}

/* Steps a prepared two- or three-column query (id, body[, t]) into a
   malloc'd array of at most max documents, and finalizes it. */
static int
collect_docs(sqlite3_stmt *s, int max, struct store_doc **out, int *n)
{
	*out = NULL;
	*n = 0;
	struct store_doc *d = calloc((size_t)(max > 0 ? max : 1), sizeof *d);
	int rc = d ? 0 : MW_ENOMEM;
	while (rc == 0 && *n < max && sqlite3_step(s) == SQLITE_ROW) {
		struct store_doc *x = &d[*n];
		x->id = sqlite3_column_int64(s, 0);
		if (sqlite3_column_count(s) > 2)
			x->t = sqlite3_column_int64(s, 2);
		if ((x->body = strdup(store_col_text(s, 1))) == NULL)
			rc = MW_ENOMEM;
		else
			(*n)++;
	}
	sqlite3_finalize(s);
	if (rc != 0) {
		store_docs_free(d, *n);
		*n = 0;
		return rc;
	}
	*out = d;
	return 0;
}

/* The same for a query with one integer parameter. */
static int
docs_locked(struct store *st, const char *sql, int64_t arg, int max, struct store_doc **out, int *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = store_prep(st, sql);
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, arg);
	return collect_docs(s, max, out, n);
}

/* ---- rules ---- */

int
store_alert_rules_load(struct store *st, int max, struct store_doc **out, int *n)
{
	return LOCKED(st, docs_locked(st, "SELECT id, body FROM alert_rules WHERE ?1 = ?1 ORDER BY id", 0, max, out, n));
}

static int
rule_put_locked(struct store *st, int64_t *id, const char *name, const char *body)
{
	sqlite3_stmt *s = store_prep(st, *id > 0 ? "UPDATE alert_rules SET name = ?2, body = ?3 WHERE id = ?1"
	                                         : "INSERT INTO alert_rules(name, body) VALUES (?2, ?3)");
	if (s == NULL)
		return MW_EDB;
	if (*id > 0)
		sqlite3_bind_int64(s, 1, *id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, body, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return MW_EEXIST;
	if (rc != SQLITE_DONE)
		return MW_EDB;
	if (*id <= 0)
		*id = sqlite3_last_insert_rowid(st->db);
	else if (sqlite3_changes(st->db) == 0)
		return MW_ENOTFOUND;
	return 0;
}

int
store_alert_rule_put(struct store *st, int64_t *id, const char *name, const char *body)
{
	return LOCKED(st, rule_put_locked(st, id, name, body));
}

int
store_alert_rule_delete(struct store *st, int64_t id)
{
	int r = LOCKED(st, store_bind_exec_locked(st, "DELETE FROM alert_rules WHERE id = ?1", id));
	return r < 0 ? r : (r == 0 ? MW_ENOTFOUND : 0);
}

/* ---- silences ---- */

int
store_silences_load(struct store *st, int64_t now, int max, struct store_doc **out, int *n)
{
	return LOCKED(st, docs_locked(st, "SELECT id, body, ends_at FROM alert_silences WHERE ends_at > ?1 ORDER BY id",
	                      now, max, out, n));
}

static int
silence_add_locked(struct store *st, int64_t ends_at, const char *body, int64_t *id)
{
	sqlite3_stmt *s = store_prep(st, "INSERT INTO alert_silences(ends_at, body) VALUES (?1, ?2)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, ends_at);
	sqlite3_bind_text(s, 2, body, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return MW_EDB;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_silence_add(struct store *st, int64_t ends_at, const char *body, int64_t *id)
{
	return LOCKED(st, silence_add_locked(st, ends_at, body, id));
}

int
store_silence_delete(struct store *st, int64_t id)
{
	int r = LOCKED(st, store_bind_exec_locked(st, "DELETE FROM alert_silences WHERE id = ?1", id));
	return r < 0 ? r : (r == 0 ? MW_ENOTFOUND : 0);
}

/* ---- alerts ---- */

static int
alert_put_locked(struct store *st, const struct store_alert *a, int max_rows)
{
	sqlite3_stmt *s = store_prep(st, "INSERT OR REPLACE INTO alerts(id, state, rule_id, subject, updated_at, body) "
	                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, a->id);
	sqlite3_bind_text(s, 2, a->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, a->rule_id);
	sqlite3_bind_text(s, 4, a->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, a->updated_at);
	sqlite3_bind_text(s, 6, a->body, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return MW_EDB;
	/* only resolved alerts go past the bound; the active ones are bounded
	   by the engine */
	if (max_rows > 0 &&
	    store_bind_exec_locked(st,
	        "DELETE FROM alerts WHERE state = 'resolved' AND id <= (SELECT MAX(id) FROM alerts) - ?1", max_rows) < 0)
		return MW_EDB;
	return 0;
}

int
store_alert_put(struct store *st, const struct store_alert *a, int max_rows)
{
	return LOCKED(st, alert_put_locked(st, a, max_rows));
}

int64_t
store_alerts_last_id(struct store *st)
{
	return LOCKED(st, (int64_t)store_int_query_locked(st, "SELECT COALESCE(MAX(id), 0) FROM alerts"));
}

/* state: "" for all, "active" for pending and firing, or one state. */
#define ALERT_WHERE \
	" WHERE (?1 = '' OR state = ?1 OR (?1 = 'active' AND state IN ('pending', 'firing')))"

static int
alerts_list_locked(struct store *st, const char *state, int limit, int offset, struct store_doc **out, int *n,
    int *total)
{
	*total = 0;
	sqlite3_stmt *s = store_prep(st, "SELECT COUNT(*) FROM alerts" ALERT_WHERE);
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		*total = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	*out = NULL;
	*n = 0;
	s = store_prep(st, "SELECT id, body FROM alerts" ALERT_WHERE " ORDER BY id DESC LIMIT ?2 OFFSET ?3");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, limit);
	sqlite3_bind_int(s, 3, offset);
	return collect_docs(s, limit, out, n);
}

int
store_alerts_list(struct store *st, const char *state, int limit, int offset, struct store_doc **out, int *n,
    int *total)
{
	return LOCKED(st, alerts_list_locked(st, state ? state : "", limit, offset, out, n, total));
}

int
store_alert_get(struct store *st, int64_t id, char **body)
{
	struct store_doc *d;
	int n;
	*body = NULL;
	int rc = LOCKED(st, docs_locked(st, "SELECT id, body FROM alerts WHERE id = ?1", id, 1, &d, &n));
	if (rc != 0)
		return rc;
	if (n == 0) {
		store_docs_free(d, n);
		return MW_ENOTFOUND;
	}
	*body = d[0].body;
	d[0].body = NULL;
	store_docs_free(d, n);
	return 0;
}

int
store_alerts_expire_locked(struct store *st, int64_t before)
{
	int a = store_bind_exec_locked(st, "DELETE FROM alerts WHERE state = 'resolved' AND updated_at < ?1", before);
	/* silences that ended before then: only their history is left */
	int s = store_bind_exec_locked(st, "DELETE FROM alert_silences WHERE ends_at < ?1", before);
	return a < 0 || s < 0 ? MW_EDB : a + s;
}

/* ---- the notification outbox ---- */

static int
notify_add_locked(struct store *st, const char *channel, const char *body, int64_t now_ms, int max_rows,
    int64_t *id, int *dropped)
{
	*dropped = 0;
	sqlite3_stmt *s = store_prep(st, "INSERT INTO notify_outbox(channel, created_ms, body) VALUES (?1, ?2, ?3)");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now_ms);
	sqlite3_bind_text(s, 3, body, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return MW_EDB;
	*id = sqlite3_last_insert_rowid(st->db);
	if (max_rows > 0) {
		/* a channel down for long loses its oldest messages, never the
		   newest, and never another channel's */
		s = store_prep(st, "DELETE FROM notify_outbox WHERE channel = ?1 AND id <= "
		                   "(SELECT id FROM notify_outbox WHERE channel = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
		if (s == NULL)
			return MW_EDB;
		sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, max_rows);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return MW_EDB;
		*dropped = sqlite3_changes(st->db);
	}
	return 0;
}

int
store_notify_add(struct store *st, const char *channel, const char *body, int64_t now_ms, int max_rows, int64_t *id,
    int *dropped)
{
	return LOCKED(st, notify_add_locked(st, channel, body, now_ms, max_rows, id, dropped));
}

static int
notify_next_locked(struct store *st, const char *channel, struct store_doc *out)
{
	sqlite3_stmt *s = store_prep(st, "SELECT id, body, created_ms FROM notify_outbox WHERE channel = ?1 "
	                                 "ORDER BY id LIMIT 1");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
	int rc = MW_ENOTFOUND;
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		out->t = sqlite3_column_int64(s, 2);
		out->body = strdup(store_col_text(s, 1));
		rc = out->body ? 0 : MW_ENOMEM;
	}
	sqlite3_finalize(s);
	return rc;
}

int
store_notify_next(struct store *st, const char *channel, struct store_doc *out)
{
	memset(out, 0, sizeof *out);
	return LOCKED(st, notify_next_locked(st, channel, out));
}

int
store_notify_delete(struct store *st, int64_t id)
{
	int r = LOCKED(st, store_bind_exec_locked(st, "DELETE FROM notify_outbox WHERE id = ?1", id));
	return r < 0 ? r : 0;
}

static int
notify_count_locked(struct store *st, const char *channel)
{
	sqlite3_stmt *s = store_prep(st, "SELECT COUNT(*) FROM notify_outbox WHERE channel = ?1");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
	int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return n;
}

int
store_notify_count(struct store *st, const char *channel)
{
	return LOCKED(st, notify_count_locked(st, channel));
}
