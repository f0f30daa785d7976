/*
 * local - local delivery in the delivery agents (DESIGN.md §8: delivery
 * hooks run in the delivery agent, and a crash costs one worker).
 *
 * The queue manager forks local agents as it forks remote ones (qmgr.c
 * keeps both pools) and sends each a job over the same SOCK_SEQPACKET
 * socket pair: one message and one local recipient.  The agent opens its
 * own LMDB environment after fork (DESIGN.md §3), runs the deliver hook
 * chain, stores the copy in the Maildir (file fsync, rename:
 * maildir_deliver), runs the delivered chain, and reports one
 * DLV_MSG_RCPT (agent.h) whose pref says what happened to the copy
 * (enum local_kind), then DLV_MSG_END.  Messages the hooks make
 * (yh_inject) are committed to the queue before the hook returns, so before
 * the report.  The queue manager alone writes the envelope and the usage
 * counters (its batched outcome commit).
 *
 * The folder fsync that makes the rename durable: with delivered hooks the
 * agent makes it before they run (they are told the copy is stored for
 * good); without, the queue manager makes it for every folder that got a
 * copy, once for all the jobs that ended together, before it writes their
 * outcomes (qmgr_record).  A copy found stored already (a repeat after a
 * crash, which may have come before that fsync) is synced the same way.
 *
 * A hook past server.hook_timeout ends the agent from its signal handler
 * after reporting: a temporary failure in the deliver chain, the stored
 * copy in the delivered chain (plugins_on_timeout).  A crash ends it with
 * no report; the queue manager counts it against the recipient.
 *
 * The agent runs as the server user and ends when the queue manager closes
 * its socket, or dies with it (PR_SET_PDEATHSIG).  It must never write an
 * envelope or a usage counter, use the queue manager's LMDB environment
 * (inherited across fork), or carry on after a hook was abandoned.
 */
#ifndef YUBIN_LOCAL_H
#define YUBIN_LOCAL_H

#include <stddef.h>

#include "buf.h"

struct config;

#define LOCAL_JOB_MAX	(16 * 1024)	/* an encoded job */

/* what a local job's report (pref of its DLV_MSG_RCPT) says of the copy */
enum local_kind {
	LOCAL_NONE = 0,		/* not stored: refused, deferred, failed */
	LOCAL_STORED = 1,	/* a new copy in the Maildir: usage counts it */
	LOCAL_ALREADY = 2,	/* stored by an earlier attempt */
	LOCAL_DISCARDED = 3,	/* a deliver hook dropped it */
};

struct local_job {
	const char	*qid;
	const char	*qpath;
	const char	*sender;
	const char	*rcpt;
	const char	*account;
	const char	*client_ip;
	const char	*auth_user;
	const char	*maildir;	/* HOME/mailbox/ACCOUNT/Maildir */
	long long	 size;		/* the queue file (LF) */
	long long	 size_crlf;
	size_t		 idx;		/* the recipient's envelope index */
	int		 first;		/* no earlier attempt possible
					 * (MAILDIR_FIRST) */
	long long	 usage_count;	/* the mailbox as the queue manager */
	long long	 usage_bytes;	/* sees it (usage_fixed_set) */
};

/* local_job_encode - J into OUT.  0, or -1 past LOCAL_JOB_MAX. */
int	local_job_encode(const struct local_job *j, struct buf *out);
/* local_job_usage - set the usage fields of the encoded job P (LEN bytes)
 * just before it is sent. */
void	local_job_usage(void *p, size_t len, long long count, long long bytes);
/* local_job_decode - P[0..LEN) into *J (strings point into P).  0, or -1
 * when malformed. */
int	local_job_decode(struct local_job *j, char *p, size_t len);

/* local_agent - serve local jobs from FD until end of file; CFG is the
 * queue manager's configuration, TRACE (TRACESIZE bytes, shared with the
 * queue manager) names the hook running.  Never returns. */
void	local_agent(int fd, const struct config *cfg, char *trace,
	    size_t tracesize);

#endif
