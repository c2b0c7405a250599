/* store_traffic: per-minute traffic counters (see store_internal.h). The
   capture thread never calls these: the main thread stores the minutes
   the rollup queued, one transaction per batch (normally one a minute). */
#include "store_internal.h"

#include <stdlib.h>

#include "meshwatch/rollup.h"
#include "meshwatch/store.h"
#include "meshwatch/util.h"

/* 5: traffic counters, one row per minute of packet time. */
const char store_schema_traffic[] =
	"CREATE TABLE traffic_minutes ("
	"  minute INTEGER PRIMARY KEY,"
	"  packets INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	"  tcp_bytes INTEGER NOT NULL, udp_bytes INTEGER NOT NULL, icmp_bytes INTEGER NOT NULL,"
	"  icmpv6_bytes INTEGER NOT NULL, other_bytes INTEGER NOT NULL,"
	"  drops INTEGER NOT NULL);";

static void
bind_minute(sqlite3_stmt *s, const void *row)
{
	const struct rollup_sec *r = row;
	sqlite3_bind_int64(s, 1, r->t);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)r->packets);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)r->bytes);
	for (int k = 0; k < ROLLUP_NPROTO; k++)
		sqlite3_bind_int64(s, 4 + k, (sqlite3_int64)r->proto_bytes[k]);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)r->drops);
}

/* A minute stored at shutdown goes on after a restart: it is added to. */
static int
minutes_add_locked(struct store *st, const struct rollup_sec *rows, int n)
{
	return store_insert_rows_locked(st,
	    "INSERT INTO traffic_minutes(minute,packets,bytes,tcp_bytes,udp_bytes,icmp_bytes,icmpv6_bytes,other_bytes,drops) "
	    "VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(minute) DO UPDATE SET packets=packets+excluded.packets, "
	    "bytes=bytes+excluded.bytes, tcp_bytes=tcp_bytes+excluded.tcp_bytes, udp_bytes=udp_bytes+excluded.udp_bytes, "
	    "icmp_bytes=icmp_bytes+excluded.icmp_bytes, icmpv6_bytes=icmpv6_bytes+excluded.icmpv6_bytes, "
	    "other_bytes=other_bytes+excluded.other_bytes, drops=drops+excluded.drops",
	    rows, sizeof *rows, n, bind_minute);
}

int
store_traffic_minutes_add(struct store *st, const struct rollup_sec *rows, int n)
{
	return LOCKED(st, minutes_add_locked(st, rows, n));
}

static int
minutes_range_locked(struct store *st, int64_t from, int64_t to, int step, int max, struct rollup_sec **out, int *n)
{
	*out = NULL;
	*n = 0;
	/* summed in SQL, so a long range never brings every minute over */
	sqlite3_stmt *s = store_prep(st,
	    "SELECT (minute - ?1) / ?3 AS b, SUM(packets), SUM(bytes), SUM(tcp_bytes), SUM(udp_bytes), SUM(icmp_bytes), "
	    "SUM(icmpv6_bytes), SUM(other_bytes), SUM(drops) "
	    "FROM traffic_minutes WHERE minute >= ?1 AND minute < ?2 GROUP BY b ORDER BY b LIMIT ?4");
	if (s == NULL)
		return MW_EDB;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	sqlite3_bind_int(s, 3, step);
	sqlite3_bind_int(s, 4, max);
	struct rollup_sec *rows = calloc((size_t)(max > 0 ? max : 1), sizeof *rows);
	if (rows == NULL) {
		sqlite3_finalize(s);
		return MW_ENOMEM;
	}
	int k = 0;
	while (k < max && sqlite3_step(s) == SQLITE_ROW) {
		struct rollup_sec *r = &rows[k++];
		r->t = from + sqlite3_column_int64(s, 0) * step;
		r->packets = (uint64_t)sqlite3_column_int64(s, 1);
		r->bytes = (uint64_t)sqlite3_column_int64(s, 2);
		for (int p = 0; p < ROLLUP_NPROTO; p++)
			r->proto_bytes[p] = (uint64_t)sqlite3_column_int64(s, 3 + p);
		r->drops = (uint64_t)sqlite3_column_int64(s, 8);
	}
	sqlite3_finalize(s);
	*out = rows;
	*n = k;
	return 0;
}

int
store_traffic_minutes_range(struct store *st, int64_t from, int64_t to, int step, int max, struct rollup_sec **out,
    int *n)
{
	if (step < 60 || to <= from)
		return MW_EINVAL;
	return LOCKED(st, minutes_range_locked(st, from, to, step, max, out, n));
}

int
store_traffic_expire_locked(struct store *st, int64_t before)
{
	return store_bind_exec_locked(st, "DELETE FROM traffic_minutes WHERE minute < ?1", before);
}

int
store_traffic_trim_locked(struct store *st, int rows)
{
	return store_bind_exec_locked(st,
	    "DELETE FROM traffic_minutes WHERE minute IN (SELECT minute FROM traffic_minutes ORDER BY minute LIMIT ?1)", rows);
}

int
store_traffic_count_locked(struct store *st, int64_t *oldest)
{
	*oldest = 0;
	sqlite3_stmt *s = store_prep(st, "SELECT COUNT(*), COALESCE(MIN(minute), 0) FROM traffic_minutes");
	if (s == NULL)
		return MW_EDB;
	int n = 0;
	if (sqlite3_step(s) == SQLITE_ROW) {
		n = sqlite3_column_int(s, 0);
		*oldest = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return n;
}
