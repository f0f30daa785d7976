/*
 * fetch_run - one fetch of a remote POP3 mailbox into a local account
 * (F072, F073), and the fetch process of yubind that runs every entry on
 * its interval.
 *
 * A run: log in (pop3c), list the messages by UIDL, and for each one not
 * seen before read its header section (TOP n 0) and apply the entry's
 * filters (accept-from, deny-from on the From: address, deny-mailer on
 * X-Mailer; a deny wins).  A message filtered out, over
 * smtp.max_message_size or over smtp.max_hops is left on the server,
 * logged and remembered as left ("fetch list" reports it).  Any other is
 * read (RETR) into a queue file and queued for the local account the
 * ordinary way, so the delivery hooks and quotas apply; its UIDL is
 * remembered in the same LMDB transaction that queues it
 * (queue_in_commit_once), so a message is queued once however a run ends.
 * Without --keep it is deleted on the server (DELE, then QUIT) only after
 * that: a crash at any point leaves at worst a message the next run finds
 * remembered and deletes.  UIDLs remembered for messages that are no
 * longer on the server are forgotten after a clean run.
 *
 * A failing run (connection, TLS, login, a garbage reply, a timeout, a
 * message longer than announced) queues nothing more, deletes nothing
 * (no QUIT: the server keeps everything) and is logged; the entry's state
 * keeps the reason.
 *
 * Privilege: the server user (the fetch process after priv_drop, or
 * yubinctl after dropping to it).
 */
#ifndef YUBIN_FETCH_RUN_H
#define YUBIN_FETCH_RUN_H

#include "fetch.h"

struct config;

struct fetch_result {
	long long fetched;		/* messages queued by this run */
	long long left;			/* on the server, filtered out */
	long long deleted;		/* DELE'd (applied when QUIT said +OK) */
	char	  why[FETCH_STATUS_MAX + 1];	/* the failure, "" when none */
};

enum fetch_run_status {
	FETCH_RUN_OK = 0,
	FETCH_RUN_FAILED = -1,		/* logged; RES->why */
	FETCH_RUN_BUSY = 1,		/* another run of E holds its lock */
};

/*
 * fetch_run - one run of E.  WAIT: wait for another run of the same entry
 * to end (yubinctl) instead of returning FETCH_RUN_BUSY (the fetch
 * process).  The entry's state (fetch_state) is updated unless busy.
 */
int	fetch_run(const struct config *cfg, struct store *s,
	    const struct fetch_entry *e, int wait, struct fetch_result *res);

/* fetch_main - the fetch process: every entry when its interval has
 * passed since its last run, until SIGTERM.  Never returns. */
void	fetch_main(const struct config *cfg) __attribute__((noreturn));

#endif
