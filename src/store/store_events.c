/* store_events: the events table, the story of what changed (a peer went
   dead, a target came back, a certificate nears expiry). Bounded twice:
   by a row count (events_max_rows) kept at every insert, and by the size
   cap, which removes the oldest events last of all history. Ids only
   grow, and only the oldest rows ever go, so "id <= newest - max" is the
   whole trim. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

const char store_schema_events[] =
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
	"  subject_type TEXT NOT NULL, subject TEXT NOT NULL, subject_name TEXT NOT NULL DEFAULT '',"
	"  severity INTEGER NOT NULL, old_value TEXT NOT NULL DEFAULT '', new_value TEXT NOT NULL DEFAULT '',"
	"  evidence TEXT NOT NULL DEFAULT '{}');"
	"CREATE INDEX events_ts ON events(ts_ms);"
	"CREATE INDEX events_subject ON events(subject_type, subject, id);"
	"CREATE INDEX events_kind ON events(kind, id);";

static const char *const severity_names[EVENT_SEVERITY_COUNT] = {"info", "warning", "critical"};

const char *
event_severity_name(int s)
{
	return s >= 0 && s < EVENT_SEVERITY_COUNT ? severity_names[s] : "info";
}

int
event_severity_parse(const char *s)
{
	for (int i = 0; i < EVENT_SEVERITY_COUNT; i++)
		if (strcmp(s, severity_names[i]) == 0)
			return i;
	return -1;
}

static void
bind_event(sqlite3_stmt *s, const void *row)
{
	const struct event_row *e = row;
	sqlite3_bind_int64(s, 1, e->ts_ms);
	sqlite3_bind_text(s, 2, e->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, e->subject_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, e->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, e->subject_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, e->severity);
	sqlite3_bind_text(s, 7, e->old_value, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, e->new_value, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, e->evidence[0] ? e->evidence : "{}", -1, SQLITE_STATIC);
	if (e->id > 0)
		sqlite3_bind_int64(s, 10, e->id);
	else
		sqlite3_bind_null(s, 10); /* the store gives it */
}

static int
add_locked(struct store *st, const struct event_row *rows, int n, int max_rows)
{
	if (store_insert_rows_locked(st,
	        "INSERT OR IGNORE INTO events(ts_ms,kind,subject_type,subject,subject_name,severity,old_value,new_value,"
	        "evidence,id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	        rows, sizeof *rows, n, bind_event))
		return MW_EDB;
	if (max_rows > 0 &&
	    store_bind_exec_locked(st, "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?1", max_rows) < 0)
		return MW_EDB;
	return 0;
}

int
store_events_add(struct store *st, const struct event_row *rows, int n, int max_rows)
{
	if (n <= 0)
		return 0;
	return LOCKED(st, add_locked(st, rows, n, max_rows));
}

static void
read_event(sqlite3_stmt *s, struct event_row *e)
{
	memset(e, 0, sizeof *e);
	e->id = sqlite3_column_int64(s, 0);
	e->ts_ms = sqlite3_column_int64(s, 1);
	snprintf(e->kind, sizeof e->kind, "%s", store_col_text(s, 2));
	snprintf(e->subject_type, sizeof e->subject_type, "%s", store_col_text(s, 3));
	snprintf(e->subject, sizeof e->subject, "%s", store_col_text(s, 4));
	snprintf(e->subject_name, sizeof e->subject_name, "%s", store_col_text(s, 5));
	e->severity = sqlite3_column_int(s, 6);
	snprintf(e->old_value, sizeof e->old_value, "%s", store_col_text(s, 7));
	snprintf(e->new_value, sizeof e->new_value, "%s", store_col_text(s, 8));
	snprintf(e->evidence, sizeof e->evidence, "%s", store_col_text(s, 9));
}

/* The WHERE clause of a filter; every value is bound, never pasted. */
#define EVENT_WHERE \
	" WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR subject_type = ?2) AND (?3 = '' OR subject = ?3)" \
	" AND ts_ms >= ?4 AND ts_ms <= ?5 AND severity >= ?6 AND id > ?7"

static void
bind_filter(sqlite3_stmt *s, const struct event_filter *f)
{
	sqlite3_bind_text(s, 1, f->kind ? f->kind : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, f->subject_type ? f->subject_type : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, f->subject ? f->subject : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, f->since_ms);
	sqlite3_bind_int64(s, 5, f->until_ms > 0 ? f->until_ms : INT64_MAX);
	sqlite3_bind_int(s, 6, f->min_severity);
	sqlite3_bind_int64(s, 7, f->after_id);
}

static int
list_locked(struct store *st, const struct event_filter *f, struct event_row *rows, int *n, int *total)
{
	*n = 0;
	*total = 0;
	sqlite3_stmt *s = store_prep(st, "SELECT COUNT(*) FROM events" EVENT_WHERE);
	if (s == NULL)
		return MW_EDB;
	bind_filter(s, f);
	if (sqlite3_step(s) == SQLITE_ROW)
		*total = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = store_prep(st, "SELECT id,ts_ms,kind,subject_type,subject,subject_name,severity,old_value,new_value,evidence "
	                   "FROM events" EVENT_WHERE " ORDER BY id DESC LIMIT ?8 OFFSET ?9");
	if (s == NULL)
		return MW_EDB;
	bind_filter(s, f);
	sqlite3_bind_int(s, 8, f->limit);
	sqlite3_bind_int(s, 9, f->offset);
	int rc;
	while (*n < f->limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_event(s, &rows[(*n)++]);
	sqlite3_finalize(s);
	return 0;
}

int
store_events_list(struct store *st, const struct event_filter *f, struct event_row **rows, int *n, int *total)
{
	*rows = NULL;
	*n = *total = 0;
	if (f->limit <= 0)
		return MW_EINVAL;
	*rows = calloc((size_t)f->limit, sizeof **rows);
	if (*rows == NULL)
		return MW_ENOMEM;
	int rc = LOCKED(st, list_locked(st, f, *rows, n, total));
	if (rc) {
		free(*rows);
		*rows = NULL;
	}
	return rc;
}

static int64_t
last_id_locked(struct store *st)
{
	sqlite3_stmt *s = store_prep(st, "SELECT COALESCE(MAX(id), 0) FROM events");
	if (s == NULL)
		return 0;
	int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return id;
}

int64_t
store_events_last_id(struct store *st)
{
	return LOCKED(st, last_id_locked(st));
}

int
store_events_expire_locked(struct store *st, int64_t before_ms)
{
	return store_bind_exec_locked(st, "DELETE FROM events WHERE ts_ms < ?1", before_ms);
}

int
store_events_shed_locked(struct store *st, int rows)
{
	return store_bind_exec_locked(st, "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?1)", rows);
}
