/*
 * qmgr_private.h - what the queue manager's files share: its limits, the
 * job, destination and agent structures, and the functions one file calls
 * in another.  qmgr.c runs the loop (notifications, scans, batches, agent
 * reports); qmgr_jobs.c makes jobs and hands them to delivery agents, local
 * and remote; qmgr_record.c applies the outcomes to the envelopes and writes
 * them.  All three run in the queue manager process, as the server user.
 */
#ifndef QMGR_PRIVATE_H
#define QMGR_PRIVATE_H

#include <signal.h>
#include <sys/types.h>

#include "agent.h"
#include "buf.h"
#include "config.h"
#include "dns.h"
#include "local.h"
#include "queue.h"
#include "route.h"
#include "store.h"

#define QMGR_ORPHAN_AGE	QUEUE_ORPHAN_AGE	/* a queue file without envelope this old is debris */
#define QMGR_RETRY_MAX	(6 * 3600) /* ceiling of the local retry back-off */
#define QMGR_STATE_RETRY 10	/* seconds: a home not known (shared state down) */

/*
 * Remote delivery.  Every due remote recipient of a message whose route
 * has the same key (gateway host, or the domain for MX) makes one job (at
 * most 100 recipients, RFC 5321 §4.5.3.1.8).  Jobs wait in memory, in one
 * first-in first-out list per destination, until a delivery agent is free;
 * at most queue.delivery_workers agents exist and at most
 * queue.destination_concurrency work for one destination at once.  Agents
 * are kept (agent.h): an idle agent whose last job went to a
 * destination takes that destination's next job first, so its SMTP session
 * carries it.  An agent unused for QMGR_AGENT_IDLE seconds is ended.  An
 * agent reports each recipient on its socket (struct dlv_msg); the queue
 * manager alone writes the envelope: state, attempts, next_try, last_error
 * ("RELAY\tREPLY").  The outcomes of every job that ended in one turn of
 * the loop are recorded in one LMDB transaction, after the free agents
 * have their next jobs, and without waiting for LMDB's meta page to reach
 * the disk (store_write_lazy): a system crash may make a message go out
 * twice, never lose it.
 *
 * Retry: a 4xx reply is retried queue.retry_count_rejected times; a host
 * that cannot be reached for queue.retry_period_no_response; a connection
 * that fails after connect for queue.retry_period_line_error; everything
 * ends after smtp.resend_timeout.  The wait is queue.retry_interval,
 * doubling with each attempt (up to QMGR_RETRY_MAX) unless
 * queue.keep_retry_interval.  5xx, null MX and unknown domains bounce at
 * once.  The schedule lives in the envelope (LMDB), so it survives
 * restarts; jobs waiting or running when the queue manager stops are made
 * again after the next start (SMTP's at-least-once).
 */
#define QMGR_JOBS_MAX	200	/* = the ceiling of queue.delivery_workers */
#define QMGR_STOP_WAIT	10000	/* ms given to running agents at stop */
#define QMGR_WAIT_MAX	20000	/* jobs held in memory; the rest wait for a scan */
#define QMGR_AGENT_IDLE	60	/* seconds an idle agent is kept */
#define QMGR_JOB_HASH	4096	/* buckets of the queue id index */

/*
 * Local delivery.  It runs in agents too (local.h): each due local recipient
 * makes a job for the destination "local:ACCOUNT", its mailbox.  Local
 * agents are a pool of their own, so a slow delivery program never holds
 * up remote dispatch: at most max(2, queue.delivery_workers) of them, and
 * one mailbox gets at most queue.destination_concurrency of them and never
 * all, so a mailbox whose program sleeps never holds up the others.  A
 * local agent is given a deadline (every hook's server.hook_timeout, twice,
 * and a margin) past which it is killed: a temporary failure.  An agent
 * that dies of a signal costs that attempt (a temporary failure, the
 * normal back-off); a recipient whose delivery killed QUEUE_CRASH_MAX
 * agents is held (RCPT_HELD) until `yubinctl queue flush`.  The quota check
 * in the agent sees the committed usage plus the copies this queue manager
 * knows to be in flight or stored but not yet recorded (usage_fixed_set).
 */
#define QMGR_AGENTS_MAX	(2 * QMGR_JOBS_MAX)	/* remote and local */
#define QMGR_TRACE_MAX	128	/* a local agent's "plugin=P hook=H" */
#define QMGR_LOCAL_MARGIN 60	/* seconds a local job gets past its hooks' */

enum qmgr_kill {
	QMGR_KILL_NONE = 0,
	QMGR_KILL_BAD,		/* a malformed report */
	QMGR_KILL_DEADLINE,	/* ran past its deadline */
	QMGR_KILL_STOP,		/* the queue manager stops */
};

struct rdest;
struct agent_slot;

/* a remote job: waiting for an agent, or running on one */
struct rjob {
	struct rjob	*next;		/* in its destination's list */
	struct rjob	*hnext;		/* in the queue id index */
	struct rjob	*dnext;		/* in the list of ended jobs */
	char		 qid[QUEUE_ID_LEN + 1];
	struct rdest	*rd;
	struct agent_slot *agent;	/* NULL while waiting */
	struct buf	 msg;		/* the encoded job (agent.h) */
	size_t		*idx;
	size_t		 n;
	struct dlv_msg	*res;		/* per recipient */
	int		*got;
	struct dns_mx	*mx;		/* reported for the cache */
	size_t		 nmx;
	int		 bad;		/* malformed report: agent killed */
	int		 local;		/* a local job (local.h), one recipient */
	int		 crashed;	/* local: its agent died of a signal */
	int		 norecord;	/* local: cut short by a stop: as if never run */
	long long	 size_crlf;	/* local: what the copy adds to the usage */
	int		 unsynced;	/* local: its folder's fsync failed */
};

/* a destination with jobs waiting or running */
struct rdest {
	struct rdest	*next;
	char		 key[sizeof(((struct route_dest *)0)->key)];
	char		 host[ROUTE_HOST_MAX + 1];	/* for the MX cache */
	int		 kind;
	struct rjob	*head, *tail;	/* waiting */
	size_t		 running;	/* agents working for it */
	int		 local;		/* a mailbox: "local:ACCOUNT" */
	char		 account[ACCOUNT_NAME_MAX + 1];
};

struct agent_slot {
	pid_t		 pid;
	int		 fd;
	struct rjob	*job;		/* NULL: idle */
	struct rjob	*next;		/* sent after JOB, same destination */
	char		 key[sizeof(((struct route_dest *)0)->key)];	/* its last job's */
	long long	 idle_since;	/* ms */
	int		 local;		/* serves local jobs only */
	char		*trace;		/* local: shared, the hook running */
	long long	 deadline;	/* local: ms the running job is killed at */
	int		 killed;	/* enum qmgr_kill */
	int		 reaped;	/* local: STATUS is its wait status */
	int		 status;
};

#define QMGR_REAP_MAX	1024	/* ended agents not yet reaped */

struct qmgr {
	pid_t			 reap[QMGR_REAP_MAX];
	size_t			 nreap;
	const struct config	*cfg;
	struct store		*store;
	const char		*home;
	long long		 next_scan;
	const struct routes	*routes;	/* the master's (qmgr_main) */
	struct agent_slot	 agents[QMGR_AGENTS_MAX];
	size_t			 nagents;
	struct rdest		*dests;
	struct rjob		*byqid[QMGR_JOB_HASH];
	size_t			 njobs;		/* waiting and running */
	struct rjob		*ended;		/* to record */
	int			 full;		/* jobs were not made: scan later */
	int			 notify_fd;
	int			 forward_all;	/* queue.forward_all_to_gateway */
	int			 shared;	/* [server] state: mailboxes
						 * may be homed on other nodes */
	int			 node_verify;	/* server.node_tls_ca set */
	SSL_CTX			*node_ctx;	/* its context (agents
						 * inherit it); NULL: not
						 * loaded, node mail waits */
	int			 suspended;	/* yubinctl suspend: no job
						 * is made or started */
	long long		 started;	/* seconds: mail that arrived
						 * later, on its first try, can
						 * have no copy yet (MAILDIR_FIRST);
						 * LLONG_MAX after a lost record */
};

/* qmgr.c: set by SIGTERM/SIGINT, the loop ends */
extern volatile sig_atomic_t qmgr_stop;

/* qmgr_jobs.c */
/* 1 when recipient IDX of QID is in a job now */
int	qmgr_inflight(const struct qmgr *q, const char *qid, size_t idx);
void	qmgr_rdest_gc(struct qmgr *q, struct rdest *rd);
/* qmgr_maildir - the Maildir of local ACCOUNT (owned by the caller). */
char	*qmgr_maildir(const struct qmgr *q, const char *account);
void	qmgr_local_new(struct qmgr *q, const struct envelope *env, size_t idx,
	    const char *qpath);
void	qmgr_job_free(struct qmgr *q, struct rjob *jb);
/* forget the waiting jobs of QID (NULL: all); running ones go on */
void	qmgr_unqueue(struct qmgr *q, const char *qid);
/* jobs for every due recipient of ENV; NODES (NULL: none) the route of
 * each local recipient homed on another node (qmgr_home_route), by index */
void	qmgr_dispatch(struct qmgr *q, const struct envelope *env,
	    const char *qpath, const struct route_dest *nodes);
/* qmgr_home_route - ACCOUNT's home node when it is another one: 1 and its
 * route in *D; 0 kept here (no home, or this node); -1 not known now. */
int	qmgr_home_route(struct qmgr *q, const char *account, struct route_dest *d);
void	qmgr_agent_done(struct qmgr *q, struct agent_slot *ag, int gone);
void	qmgr_agent_end(struct qmgr *q, size_t i, int kill_it);
/* waiting jobs to free agents */
void	qmgr_assign(struct qmgr *q);

/* qmgr_record.c */
void	qmgr_done(struct qmgr *q, const char *id);
/* the outcomes of the jobs that ended this turn, in one transaction */
void	qmgr_record(struct qmgr *q);

#endif
