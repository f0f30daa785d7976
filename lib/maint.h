/*
 * maint - the maintenance purge (the seed's wmsmnt, F130): the dustbox,
 * dead mail, finished or orphaned queue entries and rotated logs.  One
 * implementation for `yubinctl maint` and for yubind's schedule
 * (server.maint_interval, run by the queue manager).
 *
 * Every folder below a purge root is opened with O_NOFOLLOW relative to
 * its parent and every entry is examined with fstatat(AT_SYMLINK_NOFOLLOW)
 * and removed with unlinkat: a symbolic link is never followed, never
 * counted and never removed, so a link the server user planted cannot
 * lead a purge run by root outside the folder.  Only regular files are
 * removed; folders are kept (POP3 recreates them anyway).
 */
#ifndef YUBIN_MAINT_H
#define YUBIN_MAINT_H

struct config;
struct store;

#define MAINT_LOG_AGE	(30LL * 86400)	/* rotated logs kept by default */
#define MAINT_DEPTH	8		/* folder depth a purge descends */

enum maint_kind {
	MAINT_DUSTBOX,
	MAINT_DEADMAIL,
	MAINT_QUEUE,
	MAINT_LOGS,
	MAINT_NKINDS,
};

struct maint_opts {
	long long	 older_than;	/* seconds; -1: each kind's default */
	int		 dry_run;	/* count only, remove nothing */
	long long	 now;		/* unix seconds */
};

struct maint_result {
	long long	 files[MAINT_NKINDS];	/* removed (or would be) */
	long long	 bytes[MAINT_NKINDS];
	unsigned	 errors;		/* entries that could not go */
};

/* maint_kind_name - "dustbox", "deadmail", "queue" or "logs". */
const char *maint_kind_name(enum maint_kind k);

/*
 * maint_run - purge what CFG's home holds: everything in the dustbox and
 * deadmail (or what is OPTS->older_than old), queue envelopes whose every
 * recipient is done or failed and queue files without an envelope older
 * than QUEUE_ORPHAN_AGE (never younger: a message may be arriving), and
 * rotated logs (HOME/log/NAME.N[.gz]) older than MAINT_LOG_AGE or
 * OPTS->older_than.  S may be NULL (the queue is then left alone).
 * Counts into *R (zeroed here).  0, or -1 when something could not be
 * removed or read (R->errors; the rest is still done); each failure is
 * logged with log_err.
 */
int	maint_run(const struct config *cfg, struct store *s,
	    const struct maint_opts *opts, struct maint_result *r);

#endif
