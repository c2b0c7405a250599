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

#endif
