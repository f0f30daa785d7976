/*
 * ctl.h - what the yubinctl command modules share.
 *
 * yubinctl.c parses the global options, loads the configuration and
 * dispatches to one handler per command word (its table).  Each command
 * module (ctl_*.c) exports its handlers here.  Exit status of a handler:
 * CTL_OK 0 done, CTL_USAGE 1 bad usage or input (one line on stderr says
 * why), CTL_RUNTIME 2 runtime error.
 */
#ifndef YUBIN_CTL_H
#define YUBIN_CTL_H

#include <sys/types.h>

#include "config.h"
#include "store.h"

enum {
	CTL_OK = 0,
	CTL_USAGE = 1,
	CTL_RUNTIME = 2,
};

struct ctl {
	struct config	*cfg;		/* loaded before dispatch */
	const char	*cfg_path;	/* NULL: compiled-in defaults */
	char		*const *defs;	/* -D overrides */
	size_t		 ndefs;
	struct store	*store;		/* opened by ctl_store() on first use */
};

/* ctl_store - the LMDB store of HOME/state, opened on first use (creating
 * the home layout's state folder).  NULL after printing why. */
struct store *ctl_store(struct ctl *c);
/* ctl_read_secret - one line from stdin without its newline, into OUT.
 * 0, or -1 (empty, too long, EOF) after printing why. */
int	ctl_read_secret(const char *what, char *out, size_t size);
/* ctl_error - "yubinctl: " + message on stderr; returns CODE. */
int	ctl_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* handlers: argc/argv start after the command word(s) */
int	ctl_cmd_setup(struct ctl *c, int argc, char **argv);
int	ctl_cmd_start(struct ctl *c, int argc, char **argv);
int	ctl_cmd_stop(struct ctl *c, int argc, char **argv);
int	ctl_cmd_reload(struct ctl *c, int argc, char **argv);
int	ctl_cmd_status(struct ctl *c, int argc, char **argv);
/* ctl_status_board - the running yubind's (PID) pools, counters, queue and,
 * when WORKERS, one line per worker (ctl_status.c).  CTL_OK or the exit
 * code after saying why. */
int	ctl_status_board(struct ctl *c, pid_t pid, int workers);
int	ctl_cmd_account(struct ctl *c, int argc, char **argv);	/* ctl_account.c */
/* ctl_postmaster_ensure - create the postmaster account (no password yet:
 * ACCOUNT_HASH_LOCKED) and its Maildir unless it exists; an existing one
 * is left as it is.  CTL_OK or the exit code after saying why. */
int	ctl_postmaster_ensure(struct ctl *c);			/* ctl_account.c */
/* ctl_account_counts - print "accounts[ DOMAIN]: N[/MAX]" lines (the
 * status of server.accounts_per_domain_max, F013).  0 or -1. */
int	ctl_account_counts(struct ctl *c);			/* ctl_account.c */
struct account;
/*
 * ctl_account_create - what "account add" does once its options are read:
 * SPEC is NAME[@DOMAIN] (modified), the password PWARG or, when NULL, one
 * line of standard input; A (zeroed but for apop and quotas) receives the
 * account, its name in A->name (NAME@DOMAIN in per-domain mode).  The
 * record and the folder with its Maildir exist together or not at all.
 * CTL_OK, or the exit code after saying why.			(ctl_account.c)
 */
int	ctl_account_create(struct ctl *c, char *spec, const char *pwarg,
	    struct account *a);
/*
 * ctl_account_remove - delete the account NAME: its record (and whatever
 * EXTRA, when not NULL, does in the same write transaction: 0 or -1) and
 * its folder, never through a link.  No check of NAME's form or of the
 * postmaster rule.  CTL_OK, or the exit code after saying why.
 */
int	ctl_account_remove(struct ctl *c, const char *name,
	    store_write_fn *extra, void *ctx);
/* ctl_owner - the uid/gid what yubinctl creates is given to: the server
 * user when running as root, else (-1, -1).  0, or -1 after saying why. */
int	ctl_owner(struct ctl *c, uid_t *uid_r, gid_t *gid_r);
/* ctl_mailbox_create - the folder of account NAME (valid) with its
 * Maildir, given to the server user when running as root; existing
 * folders are kept.  0, or -1 after saying why.	(ctl_account.c) */
int	ctl_mailbox_create(struct ctl *c, const char *name);
/* ctl_running_pid - the pid of the yubind running on HOME (its pid file,
 * checked as "status" does), 0 when none runs, or -1 after saying why
 * (exit status CTL_RUNTIME).				(ctl_daemon.c) */
pid_t	ctl_running_pid(struct ctl *c);
int	ctl_cmd_backup(struct ctl *c, int argc, char **argv);	/* ctl_backup.c */
int	ctl_cmd_restore(struct ctl *c, int argc, char **argv);	/* ctl_backup.c */
int	ctl_cmd_ml(struct ctl *c, int argc, char **argv);	/* ctl_ml.c */
int	ctl_cmd_config(struct ctl *c, int argc, char **argv);	/* ctl_config.c */
int	ctl_cmd_mailbox(struct ctl *c, int argc, char **argv);	/* ctl_mailbox.c */
int	ctl_cmd_maint(struct ctl *c, int argc, char **argv);	/* ctl_maint.c */
int	ctl_cmd_queue(struct ctl *c, int argc, char **argv);	/* ctl_queue.c */
int	ctl_cmd_suspend(struct ctl *c, int argc, char **argv);	/* ctl_queue.c */
int	ctl_cmd_resume(struct ctl *c, int argc, char **argv);	/* ctl_queue.c */
/* ctl_delivery_status - print "delivery: suspended" or "delivery: on"
 * (yubinctl status).					(ctl_queue.c) */
void	ctl_delivery_status(struct ctl *c);
int	ctl_cmd_plugins(struct ctl *c, int argc, char **argv);
int	ctl_cmd_block(struct ctl *c, int argc, char **argv);
int	ctl_cmd_notify(struct ctl *c, int argc, char **argv);
int	ctl_cmd_dkim(struct ctl *c, int argc, char **argv);	/* ctl_dkim.c */
int	ctl_cmd_check(struct ctl *c, int argc, char **argv);	/* ctl_check.c */
int	ctl_cmd_fetch(struct ctl *c, int argc, char **argv);	/* ctl_fetch.c */
int	ctl_cmd_node(struct ctl *c, int argc, char **argv);	/* ctl_node.c */
int	ctl_account_move(struct ctl *c, int argc, char **argv);	/* ctl_node.c */

#endif
