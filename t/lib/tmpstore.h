/*
 * t/lib/tmpstore.h - a throwaway LMDB store for the unit tests: a fresh
 * folder under $TMPDIR (default /tmp), opened with store_open, removed
 * with everything in it at the end.  Include after tap.h.
 *
 * Must never: remove anything but the folder tmpstore_make made (nftw does
 * not follow links: FTW_PHYS).
 */
#ifndef YUBIN_TMPSTORE_H
#define YUBIN_TMPSTORE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"

/* tmpstore_make - DIR (SIZE bytes) becomes a new folder $TMPDIR/NAME-XXXXXX.
 * 0, or -1 with the reason printed. */
static inline int
tmpstore_make(char *dir, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* tmpstore_open - the store in DIR; a failure ends the test (exit 2). */
static inline struct store *
tmpstore_open(const char *dir)
{
	struct store *s = NULL;
	const char *why = NULL;

	if (store_open(&s, dir, &why) == -1) {
		diag("store_open %s: %s", dir, why);
		exit(2);
	}
	return s;
}

static inline int
tmpstore_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* tmpstore_remove - DIR and everything under it. */
static inline void
tmpstore_remove(const char *dir)
{
	nftw(dir, tmpstore_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
