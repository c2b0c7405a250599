/* Temporary directories for unit tests: removed whole after each test. */
#ifndef MESHWATCH_TEST_TESTDIR_H
#define MESHWATCH_TEST_TESTDIR_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int
testdir_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it (links are not followed). */
static inline void
testdir_remove(const char *dir)
{
	nftw(dir, testdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* SQL that takes a database back from schema 13 to 12 (mesh targets'
   columns and table), for tests that make an older file: a file of an
   older build has none of what later migrations add. */
#define TEST_UNDO_MIGRATION_13 \
	"DROP INDEX targets_origin; DROP TABLE target_vantage; ALTER TABLE targets DROP COLUMN mesh; " \
	"ALTER TABLE targets DROP COLUMN vantage; ALTER TABLE targets DROP COLUMN origin_id; " \
	"ALTER TABLE targets DROP COLUMN origin_fqdn; ALTER TABLE targets DROP COLUMN origin_target;"

/* ... and from 14 to 13 (remote scans' columns). */
#define TEST_UNDO_MIGRATION_14 \
	"DROP INDEX scans_node; ALTER TABLE scans DROP COLUMN requested_by_id; " \
	"ALTER TABLE scans DROP COLUMN requested_by_fqdn; ALTER TABLE scans DROP COLUMN node_id; " \
	"ALTER TABLE scans DROP COLUMN node_fqdn; ALTER TABLE scans DROP COLUMN remote_id; "

#endif
