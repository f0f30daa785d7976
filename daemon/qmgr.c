/*
 * qmgr.c - queue manager process; see qmgr.h.  Runs as the server user,
 * never reads network input (the notification socket carries only queue ids
 * from our own workers, and a malformed one is ignored).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "account.h"
#include "addr.h"
#include "bounce.h"
#include "config.h"
#include "agent.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "paths.h"
#include "plugin.h"
#include "qmgr.h"
#include "queue.h"
#include "route.h"
#include "store.h"
#include "usage.h"
#include "util.h"

#define QMGR_ORPHAN_AGE	3600	/* a queue file without envelope this old is debris */
#define QMGR_RETRY_MAX	(6 * 3600) /* ceiling of the local retry back-off */

static volatile sig_atomic_t qmgr_stop;

static void
qmgr_on_term(int sig)
{
	(void)sig;
	qmgr_stop = 1;
}

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
	struct routes		*routes;
	struct agent_slot	 agents[QMGR_AGENTS_MAX];
	size_t			 nagents;
	struct rdest		*dests;
	struct rjob		*byqid[QMGR_JOB_HASH];
	size_t			 njobs;		/* waiting and running */
	struct rjob		*ended;		/* to record */
	int			 full;		/* jobs were not made: scan later */
	int			 notify_fd;
	int			 forward_all;	/* queue.forward_all_to_gateway */
};

static int
qmgr_valid_id(const char *id, size_t len)
{
	size_t i;

	if (len != QUEUE_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)id[i]))
			return 0;
	return 1;
}

/*
 * Batches.  The queue manager takes up to QMGR_BATCH queue entries at a
 * time: it makes jobs of their due recipients (local and remote), and
 * removes in one LMDB transaction the envelopes with nothing left to do,
 * then their queue files.  The outcomes of the jobs are recorded as they
 * end (qmgr_record).
 */
#define QMGR_BATCH	64

struct entry {
	struct envelope	 env;
	int		 finished;	/* every recipient done or failed */
};

struct batch {
	struct entry	 e[QMGR_BATCH];
	size_t		 n;
};

/* The work list: queue ids waiting for a batch, without duplicates. */
#define QMGR_PENDING_MAX	100000	/* ids held in memory; the rest wait for a scan */

struct pending {
	char	**ids;
	size_t	  n;
	int	  overflow;	/* some were dropped: scan again */
};

static void
pending_add(struct pending *p, const char *id)
{
	size_t i, from;

	/* recent additions are the likely duplicates */
	from = p->n > 256 ? p->n - 256 : 0;
	for (i = from; i < p->n; i++)
		if (strcmp(p->ids[i], id) == 0)
			return;
	if (p->n == QMGR_PENDING_MAX) {
		p->overflow = 1;
		return;
	}
	p->ids = xrealloc(p->ids, (p->n + 1) * sizeof(*p->ids));
	p->ids[p->n++] = xstrdup(id);
}


static unsigned
qmgr_hash(const char *qid)
{
	unsigned h = 2166136261u;

	while (*qid)
		h = (h ^ (unsigned char)*qid++) * 16777619u;
	return h % QMGR_JOB_HASH;
}

/* qmgr_inflight - 1 when recipient IDX of QID is in a job. */
static int
qmgr_inflight(const struct qmgr *q, const char *qid, size_t idx)
{
	const struct rjob *jb;
	size_t k;

	for (jb = q->byqid[qmgr_hash(qid)]; jb != NULL; jb = jb->hnext) {
		if (strcmp(jb->qid, qid) != 0)
			continue;
		for (k = 0; k < jb->n; k++)
			if (jb->idx[k] == idx)
				return 1;
	}
	return 0;
}

/* qmgr_rdest - the destination KEY, made when MAKE. */
static struct rdest *
qmgr_rdest(struct qmgr *q, const struct route_dest *d, int make)
{
	struct rdest *rd;

	for (rd = q->dests; rd != NULL; rd = rd->next)
		if (strcmp(rd->key, d->key) == 0)
			return rd;
	if (!make)
		return NULL;
	rd = xcalloc(1, sizeof(*rd));
	str_copy(rd->key, sizeof(rd->key), d->key);
	str_copy(rd->host, sizeof(rd->host), d->host);
	rd->kind = d->kind;
	rd->next = q->dests;
	q->dests = rd;
	return rd;
}

/* qmgr_rdest_gc - forget RD when nothing waits or runs for it. */
static void
qmgr_rdest_gc(struct qmgr *q, struct rdest *rd)
{
	struct rdest **pp;

	if (rd->head != NULL || rd->running > 0)
		return;
	for (pp = &q->dests; *pp != NULL; pp = &(*pp)->next)
		if (*pp == rd) {
			*pp = rd->next;
			free(rd);
			return;
		}
}

/* qmgr_mx_cached - the MX cache entry of DOMAIN into J (nmx 0: none). */
static void
qmgr_mx_cached(struct qmgr *q, const char *domain, struct dlv_job *j)
{
	struct buf val;
	char *key, *text, *p, *line;

	j->nmx = 0;
	if (config_int(q->cfg, "queue.mx_cache_ttl") <= 0)
		return;
	key = xasprintf("mx/%s", domain);
	buf_init(&val, 0);
	if (store_get(q->store, STORE_META, key, strlen(key), &val) == 1) {
		text = xstrndup(val.data, val.len);
		for (p = text; (line = strsep(&p, "\n")) != NULL &&
		    j->nmx < DNS_MX_MAX;) {
			int pref, n = 0;

			if (sscanf(line, "%d %n", &pref, &n) != 1 || n == 0 ||
			    str_copy(j->mx[j->nmx].name, sizeof(j->mx[0].name),
			    line + n) == -1 || line[n] == '\0')
				continue;
			j->mx[j->nmx++].pref = pref;
		}
		free(text);
	}
	buf_free(&val);
	free(key);
}

/* qmgr_job_new - a waiting job for ENV's recipients IDX[0..N) to D. */
static void
qmgr_job_new(struct qmgr *q, const struct envelope *env, const char *qpath,
    const struct route_dest *d, const size_t *idx, size_t n)
{
	struct dlv_job j;
	struct rjob *jb;
	struct rdest *rd;
	const char *helo = config_str(q->cfg, "smtp.hostname");
	size_t i;
	unsigned h;

	memset(&j, 0, sizeof(j));
	j.qid = env->id;
	j.qpath = qpath;
	j.sender = env->sender;
	j.helo = *helo ? helo : config_str(q->cfg, "server.domain");
	j.resolver = config_str(q->cfg, "server.resolver");
	j.size_crlf = env->size_crlf;
	j.body_8bit = env->body_8bit;
	j.smtputf8 = env->smtputf8;
	j.timeout = (int)config_int(q->cfg, "queue.smtp_timeout");
	j.dest = *d;
	if (d->kind == ROUTE_MX)
		qmgr_mx_cached(q, d->host, &j);
	j.n = n;
	j.idx = (size_t *)idx;
	j.rcpts = xcalloc(n, sizeof(*j.rcpts));
	for (i = 0; i < n; i++)
		j.rcpts[i] = env->rcpt[idx[i]].addr;
	jb = xcalloc(1, sizeof(*jb));
	buf_init(&jb->msg, 0);
	if (dlv_job_encode(&j, &jb->msg) == -1) {
		/* cannot happen within the envelope's limits */
		log_err("%s: delivery job too large", env->id);
		buf_free(&jb->msg);
		free(jb);
		free(j.rcpts);
		return;
	}
	free(j.rcpts);
	memcpy(jb->qid, env->id, sizeof(jb->qid));
	jb->n = n;
	jb->idx = xcalloc(n, sizeof(*jb->idx));
	memcpy(jb->idx, idx, n * sizeof(*idx));
	jb->res = xcalloc(n, sizeof(*jb->res));
	jb->got = xcalloc(n, sizeof(*jb->got));
	rd = qmgr_rdest(q, d, 1);
	jb->rd = rd;
	if (rd->tail)
		rd->tail->next = jb;
	else
		rd->head = jb;
	rd->tail = jb;
	h = qmgr_hash(jb->qid);
	jb->hnext = q->byqid[h];
	q->byqid[h] = jb;
	q->njobs++;
}

/* qmgr_rdest_local - the destination of ACCOUNT's mailbox, made. */
static struct rdest *
qmgr_rdest_local(struct qmgr *q, const char *account)
{
	char key[sizeof(((struct rdest *)0)->key)];
	struct rdest *rd;

	snprintf(key, sizeof(key), "local:%s", account);
	for (rd = q->dests; rd != NULL; rd = rd->next)
		if (strcmp(rd->key, key) == 0)
			return rd;
	rd = xcalloc(1, sizeof(*rd));
	str_copy(rd->key, sizeof(rd->key), key);
	str_copy(rd->account, sizeof(rd->account), account);
	rd->local = 1;
	rd->kind = -1;
	rd->next = q->dests;
	q->dests = rd;
	return rd;
}

/* qmgr_local_new - a waiting local job for ENV's recipient IDX. */
static void
qmgr_local_new(struct qmgr *q, const struct envelope *env, size_t idx,
    const char *qpath)
{
	const struct env_rcpt *rc = &env->rcpt[idx];
	struct local_job j;
	struct rjob *jb;
	struct rdest *rd;
	char trace[MAILDIR_TRACE_MAX];
	char *dir, *md;
	size_t tl;
	unsigned h;

	dir = paths_account_dir(q->cfg, rc->account);
	md = xasprintf("%s/Maildir", dir);
	free(dir);
	memset(&j, 0, sizeof(j));
	j.qid = env->id;
	j.qpath = qpath;
	j.sender = env->sender;
	j.rcpt = rc->addr;
	j.account = rc->account;
	j.client_ip = env->client_ip;
	j.auth_user = env->auth_user;
	j.maildir = md;
	/* the stored copy begins with its trace lines: they count in the
	 * name's sizes and in the mailbox usage (maildir.h) */
	tl = maildir_trace(env->sender, rc->addr, trace, sizeof(trace));
	j.size = env->size + (long long)tl;
	j.size_crlf = env->size_crlf + (tl > 0 ? (long long)tl + 2 : 0);
	j.idx = idx;
	jb = xcalloc(1, sizeof(*jb));
	buf_init(&jb->msg, 0);
	if (local_job_encode(&j, &jb->msg) == -1) {
		/* cannot happen within the envelope's limits */
		log_err("%s: local delivery job too large", env->id);
		buf_free(&jb->msg);
		free(jb);
		free(md);
		return;
	}
	free(md);
	memcpy(jb->qid, env->id, sizeof(jb->qid));
	jb->local = 1;
	jb->size_crlf = j.size_crlf;
	jb->n = 1;
	jb->idx = xcalloc(1, sizeof(*jb->idx));
	jb->idx[0] = idx;
	jb->res = xcalloc(1, sizeof(*jb->res));
	jb->got = xcalloc(1, sizeof(*jb->got));
	rd = qmgr_rdest_local(q, rc->account);
	jb->rd = rd;
	if (rd->tail)
		rd->tail->next = jb;
	else
		rd->head = jb;
	rd->tail = jb;
	h = qmgr_hash(jb->qid);
	jb->hnext = q->byqid[h];
	q->byqid[h] = jb;
	q->njobs++;
}

/* qmgr_job_free - unlink JB from the queue id index and free it. */
static void
qmgr_job_free(struct qmgr *q, struct rjob *jb)
{
	struct rjob **pp;

	for (pp = &q->byqid[qmgr_hash(jb->qid)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == jb) {
			*pp = jb->hnext;
			break;
		}
	q->njobs--;
	explicit_bzero(jb->msg.data, jb->msg.len);	/* gateway passwords */
	buf_free(&jb->msg);
	free(jb->idx);
	free(jb->res);
	free(jb->got);
	free(jb->mx);
	free(jb);
}

/*
 * qmgr_dispatch - make jobs of ENV's due remote recipients, one per
 * destination (and per 100 recipients).  They start in qmgr_assign.
 */
static void
qmgr_dispatch(struct qmgr *q, const struct envelope *env, const char *qpath)
{
	long long now = time_now();
	struct route_dest *dests, d;
	size_t *group, i, k, n, ng;
	int *taken;

	dests = xcalloc(env->nrcpt, sizeof(*dests));
	taken = xcalloc(env->nrcpt, sizeof(*taken));
	group = xcalloc(env->nrcpt, sizeof(*group));
	for (i = 0; i < env->nrcpt; i++) {
		const struct env_rcpt *rc = &env->rcpt[i];

		if (rc->state != RCPT_PENDING || rc->next_try > now ||
		    (rc->account != NULL && !q->forward_all) ||
		    qmgr_inflight(q, env->id, i)) {
			taken[i] = 1;
			continue;
		}
		route_for(q->cfg, q->routes, addr_domain_of(rc->addr), &dests[i]);
	}
	for (i = 0; i < env->nrcpt; i++) {
		if (taken[i])
			continue;
		d = dests[i];
		ng = 0;
		for (k = i; k < env->nrcpt; k++)
			if (!taken[k] && strcmp(dests[k].key, d.key) == 0) {
				group[ng++] = k;
				taken[k] = 1;
			}
		for (n = 0; n < ng; n += k) {
			k = ng - n > 100 ? 100 : ng - n;
			if (q->njobs >= QMGR_WAIT_MAX) {
				q->full = 1;
				break;
			}
			qmgr_job_new(q, env, qpath, &d, group + n, k);
		}
	}
	for (i = 0; i < env->nrcpt; i++)
		explicit_bzero(dests[i].pass, sizeof(dests[i].pass));
	explicit_bzero(d.pass, sizeof(d.pass));
	free(dests);
	free(taken);
	free(group);
}

/* qmgr_agent_new - fork an agent (LOCAL: a local one) into a new slot.
 * The slot, or NULL. */
static struct agent_slot *
qmgr_agent_new(struct qmgr *q, int local)
{
	struct agent_slot *ag;
	struct sigaction sa;
	char *trace = NULL;
	size_t i;
	pid_t pid;
	int p[2];

	if (q->nagents >= QMGR_AGENTS_MAX)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) == -1) {
		log_err("delivery agent: socketpair: %s", strerror(errno));
		return NULL;
	}
	if (local) {
		/* where the agent names the hook running, for a crash report */
		trace = mmap(NULL, QMGR_TRACE_MAX, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (trace == MAP_FAILED)
			trace = NULL;
	}
	pid = fork();
	if (pid == -1) {
		log_err("delivery agent: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (trace)
			munmap(trace, QMGR_TRACE_MAX);
		return NULL;
	}
	if (pid == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		/* the other agents must see end of file when we end them */
		for (i = 0; i < q->nagents; i++)
			close(q->agents[i].fd);
		if (q->notify_fd != -1)
			close(q->notify_fd);
		close(p[0]);
		if (local)
			local_agent(p[1], q->cfg, trace, trace ? QMGR_TRACE_MAX : 0);
		plugins_process_init(YH_PROC_REMOTE_AGENT);
		delivery_agent(p[1]);
		_exit(0);
	}
	close(p[1]);
	ag = &q->agents[q->nagents++];
	memset(ag, 0, sizeof(*ag));
	ag->pid = pid;
	ag->fd = p[0];
	ag->idle_since = now_ms();
	ag->local = local;
	ag->trace = trace;
	return ag;
}

/*
 * qmgr_local_lost - the local agent AG ended without reporting its job JB:
 * the report is made here from how it ended (its wait status; it has
 * closed its socket or been killed, so the wait is short).  A death by a
 * signal we did not send counts as a crash.
 */
static void
qmgr_local_lost(struct agent_slot *ag, struct rjob *jb)
{
	struct dlv_msg *m = &jb->res[0];
	char where[QMGR_TRACE_MAX + 8] = "";
	pid_t r;
	int st = 0, sig;

	if (!ag->reaped) {
		do
			r = waitpid(ag->pid, &st, 0);
		while (r == -1 && errno == EINTR);
		ag->reaped = 1;
		ag->status = r == ag->pid ? st : 0;
	}
	st = ag->status;
	memset(m, 0, sizeof(*m));
	m->version = DLV_PROTO_VERSION;
	m->type = DLV_MSG_RCPT;
	m->idx = (uint32_t)jb->idx[0];
	m->cls = DLV_C_TEMP;
	jb->got[0] = 1;
	if (ag->trace && ag->trace[0])
		snprintf(where, sizeof(where), " in %.*s", QMGR_TRACE_MAX - 1,
		    ag->trace);
	if (ag->killed == QMGR_KILL_STOP || qmgr_stop)
		jb->norecord = 1;
	else if (ag->killed == QMGR_KILL_DEADLINE)
		snprintf(m->text, sizeof(m->text), "451 4.3.0 local delivery ran "
		    "past its deadline%s; agent killed", where);
	else if (ag->killed == QMGR_KILL_BAD)
		snprintf(m->text, sizeof(m->text), "451 4.3.0 malformed report "
		    "from the delivery agent");
	else if (WIFSIGNALED(st) && (WTERMSIG(st) == SIGTERM ||
	    WTERMSIG(st) == SIGINT || WTERMSIG(st) == SIGHUP))
		/* stopped from outside (a terminal's ^C): no crash */
		snprintf(m->text, sizeof(m->text), "451 4.3.0 delivery agent "
		    "stopped by signal %d", WTERMSIG(st));
	else if (WIFSIGNALED(st)) {
		sig = WTERMSIG(st);
		jb->crashed = 1;
		snprintf(m->text, sizeof(m->text), "451 4.3.0 delivery agent "
		    "killed by signal %d (%s)%s", sig, strsignal(sig), where);
		log_err("%s: local delivery agent %ld killed by signal %d (%s)%s",
		    jb->qid, (long)ag->pid, sig, strsignal(sig), where);
	} else
		snprintf(m->text, sizeof(m->text), "451 4.3.0 the delivery agent "
		    "ended without a report (exit status %d)",
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* qmgr_job_ended - JB's agent is done with it: record it this turn. */
static void
qmgr_job_ended(struct qmgr *q, struct rjob *jb)
{
	jb->agent = NULL;
	jb->dnext = q->ended;
	q->ended = jb;
}

/* qmgr_agent_done - agent AG ended its current job (or itself, GONE):
 * that job is recorded, a queued next job runs now or, when the agent is
 * gone, waits again at the head of its destination's list. */
static void
qmgr_agent_done(struct qmgr *q, struct agent_slot *ag, int gone)
{
	struct rjob *jb = ag->job, *nx = ag->next;

	if (jb == NULL)
		return;
	if (gone && jb->local && !jb->got[0])
		qmgr_local_lost(ag, jb);
	ag->job = NULL;
	ag->next = NULL;
	if (nx != NULL && !gone)
		ag->job = nx;
	else {
		jb->rd->running--;
		if (nx != NULL) {
			nx->agent = NULL;
			nx->next = nx->rd->head;
			nx->rd->head = nx;
			if (nx->rd->tail == NULL)
				nx->rd->tail = nx;
		}
	}
	qmgr_job_ended(q, jb);
}

/* qmgr_agent_end - close agent I's socket (it ends on end of file) and
 * free its slot; its process is reaped later. */
static void
qmgr_agent_end(struct qmgr *q, size_t i, int kill_it)
{
	struct agent_slot *ag = &q->agents[i];
	pid_t r;
	int st;

	if (kill_it)
		kill(ag->pid, SIGKILL);
	qmgr_agent_done(q, ag, 1);
	close(ag->fd);
	if (ag->trace)
		munmap(ag->trace, QMGR_TRACE_MAX);
	r = ag->reaped ? -1 : waitpid(ag->pid, &st, WNOHANG);
	if (r == 0 && q->nreap < QMGR_REAP_MAX)
		q->reap[q->nreap++] = ag->pid;
	else if (r == 0)	/* reap list full: wait for this one */
		while (waitpid(ag->pid, &st, 0) == -1 && errno == EINTR)
			;
	q->agents[i] = q->agents[--q->nagents];
}

/* qmgr_agent_pick - an idle agent whose kept session (if still kept)
 * serves KEY, else one without; KEY NULL: any idle agent. */
static struct agent_slot *
qmgr_agent_pick(struct qmgr *q, const char *key)
{
	struct agent_slot *free_ag = NULL, *ag;
	long long now = now_ms();
	size_t i;

	for (i = 0; i < q->nagents; i++) {
		ag = &q->agents[i];
		if (ag->job != NULL || ag->local)
			continue;
		if (key == NULL)
			return ag;
		if (now - ag->idle_since >= DLV_IDLE_KEEP * 1000LL)
			ag->key[0] = '\0';	/* its session is gone by now */
		if (strcmp(ag->key, key) == 0)
			return ag;
		if (ag->key[0] == '\0' && free_ag == NULL)
			free_ag = ag;
	}
	return free_ag;
}

/* qmgr_agent_busy - a busy agent working for KEY with room for a next
 * job, or NULL. */
static struct agent_slot *
qmgr_agent_busy(struct qmgr *q, const char *key)
{
	size_t i;

	for (i = 0; i < q->nagents; i++)
		if (q->agents[i].job != NULL && q->agents[i].next == NULL &&
		    !q->agents[i].local && strcmp(q->agents[i].key, key) == 0)
			return &q->agents[i];
	return NULL;
}

/* qmgr_agents_of - the agents of one pool (LOCAL or remote). */
static size_t
qmgr_agents_of(const struct qmgr *q, int local)
{
	size_t i, n = 0;

	for (i = 0; i < q->nagents; i++)
		n += q->agents[i].local == local;
	return n;
}

/* qmgr_local_agent - an idle local agent, or a new one within LIMIT. */
static struct agent_slot *
qmgr_local_agent(struct qmgr *q, size_t limit)
{
	size_t i;

	for (i = 0; i < q->nagents; i++)
		if (q->agents[i].local && q->agents[i].job == NULL)
			return &q->agents[i];
	return qmgr_agents_of(q, 1) < limit ? qmgr_agent_new(q, 1) : NULL;
}

/*
 * qmgr_local_usage - the usage JB's quota check is to see, written into
 * its datagram: the mailbox's committed usage, plus each copy other agents
 * are delivering there now (counted as if stored), plus each stored copy
 * not yet recorded.  Never less than the truth: several agents delivering
 * to one mailbox cannot overfill it.
 */
static void
qmgr_local_usage(struct qmgr *q, const struct rdest *rd, struct rjob *jb)
{
	const struct rjob *o;
	long long count = 0, bytes = 0;
	size_t i;

	(void)usage_get(q->store, rd->account, &count, &bytes);
	for (i = 0; i < q->nagents; i++)
		if ((o = q->agents[i].job) != NULL && o->rd == rd) {
			count++;
			bytes += o->size_crlf;
		}
	for (o = q->ended; o != NULL; o = o->dnext)
		if (o->rd == rd && o->got[0] && o->res[0].cls == DLV_C_SENT &&
		    o->res[0].pref == LOCAL_STORED) {
			count++;
			bytes += o->size_crlf;
		}
	local_job_usage(jb->msg.data, jb->msg.len, count, bytes);
}

/* qmgr_local_deadline - ms a local job may run: every hook chain's
 * plugins each get server.hook_timeout, the deliver and the delivered
 * chain, and a margin for the Maildir. */
static long long
qmgr_local_deadline(const struct qmgr *q)
{
	long long n = (long long)plugins_count();

	return (2 * (n > 0 ? n : 1) * config_int(q->cfg, "server.hook_timeout") +
	    QMGR_LOCAL_MARGIN) * 1000LL;
}

/*
 * qmgr_assign - start waiting jobs: each destination in turn.  A mailbox
 * (local) gets an idle local agent or a new one, within its share.  Within its
 * concurrency an idle agent whose session serves the destination, then one
 * without a session, then a new one; past that (or when no agent is free)
 * a busy agent of the destination takes the job as its next, so it never
 * waits for the queue manager between two jobs; only then an idle agent
 * whose session goes elsewhere.
 */
static void
qmgr_assign(struct qmgr *q)
{
	size_t workers = (size_t)config_int(q->cfg, "queue.delivery_workers");
	size_t perdest = (size_t)config_int(q->cfg, "queue.destination_concurrency");
	struct agent_slot *ag;
	struct rdest *rd, *next;
	struct rjob *jb;
	size_t lworkers, lper;
	int progress = 1, queued;

	if (workers > QMGR_JOBS_MAX)
		workers = QMGR_JOBS_MAX;
	/* local: a pool of its own; one mailbox never takes all of it */
	lworkers = workers < 2 ? 2 : workers;
	lper = perdest < lworkers - 1 ? perdest : lworkers - 1;
	while (progress) {
		progress = 0;
		for (rd = q->dests; rd != NULL; rd = next) {
			next = rd->next;
			if (rd->head == NULL)
				continue;
			if (rd->local) {
				if (rd->running >= lper ||
				    (ag = qmgr_local_agent(q, lworkers)) == NULL)
					continue;
				jb = rd->head;
				qmgr_local_usage(q, rd, jb);
				if (send(ag->fd, jb->msg.data, jb->msg.len,
				    MSG_NOSIGNAL) != (ssize_t)jb->msg.len) {
					log_err("%s: local delivery agent %ld: %s",
					    jb->qid, (long)ag->pid, strerror(errno));
					qmgr_agent_end(q, (size_t)(ag - q->agents), 1);
					progress = 1;
					continue;
				}
				rd->head = jb->next;
				if (rd->head == NULL)
					rd->tail = NULL;
				jb->next = NULL;
				jb->agent = ag;
				rd->running++;
				ag->job = jb;
				ag->deadline = now_ms() + qmgr_local_deadline(q);
				str_copy(ag->key, sizeof(ag->key), rd->key);
				progress = 1;
				continue;
			}
			ag = NULL;
			queued = 0;
			if (rd->running < perdest) {
				ag = qmgr_agent_pick(q, rd->key);
				if (ag == NULL && qmgr_agents_of(q, 0) < workers)
					ag = qmgr_agent_new(q, 0);
			}
			if (ag == NULL && (ag = qmgr_agent_busy(q, rd->key)) != NULL)
				queued = 1;
			if (ag == NULL && rd->running < perdest)
				ag = qmgr_agent_pick(q, NULL);
			if (ag == NULL)
				continue;
			jb = rd->head;
			if (send(ag->fd, jb->msg.data, jb->msg.len, MSG_NOSIGNAL) !=
			    (ssize_t)jb->msg.len) {
				log_err("%s: delivery agent %ld: %s", jb->qid,
				    (long)ag->pid, strerror(errno));
				qmgr_agent_end(q, (size_t)(ag - q->agents), 1);
				progress = 1;
				continue;
			}
			rd->head = jb->next;
			if (rd->head == NULL)
				rd->tail = NULL;
			jb->next = NULL;
			jb->agent = ag;
			if (queued)
				ag->next = jb;
			else {
				rd->running++;
				ag->job = jb;
				str_copy(ag->key, sizeof(ag->key), rd->key);
			}
			progress = 1;
		}
	}
}

static const char *const qmgr_cls_names[] = {
	"sent", "bounced", "deferred", "deferred", "deferred",
};

/* qmgr_retry_delay - the wait after ATTEMPTS failures. */
static long long
qmgr_retry_delay(const struct qmgr *q, int attempts)
{
	long long delay = config_int(q->cfg, "queue.retry_interval");

	if (!config_bool(q->cfg, "queue.keep_retry_interval") && attempts > 1)
		delay <<= attempts - 1 < 12 ? attempts - 1 : 12;
	if (delay > QMGR_RETRY_MAX)
		delay = QMGR_RETRY_MAX;
	return delay < 1 ? 1 : delay;
}

/*
 * qmgr_delay_warn - one RFC 3464 "delayed" report to ENV's sender once the
 * message has waited queue.delay_warning_time (from its arrival, or its
 * FUTURERELEASE time) with remote recipients pending.  Once per message:
 * STORE_META "dw/ID" records it (expiring when the message must be gone).
 * Never to <> (bounce_send refuses).
 */
static void
qmgr_delay_warn(struct qmgr *q, const struct envelope *env, const char *qpath,
    long long now)
{
	long long dwt = config_int(q->cfg, "queue.delay_warning_time");
	long long since = env->release_at > env->arrival ? env->release_at :
	    env->arrival;
	size_t *idx, n = 0, i;
	struct buf v;
	char *key;
	int r;

	if (dwt <= 0 || now - since < dwt || env->sender[0] == '\0')
		return;
	key = xasprintf("dw/%s", env->id);
	buf_init(&v, 0);
	r = store_get(q->store, STORE_META, key, strlen(key), &v);
	buf_free(&v);
	if (r != 0) {		/* warned already, or cannot tell: not twice */
		free(key);
		return;
	}
	idx = xcalloc(env->nrcpt, sizeof(*idx));
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == RCPT_PENDING &&
		    env->rcpt[i].account == NULL)
			idx[n++] = i;
	if (n > 0 && bounce_send(q->cfg, q->store, env, qpath, idx, n, 1) == 0 &&
	    store_put(q->store, STORE_META, key, strlen(key), "1", 1, since +
	    config_int(q->cfg, "smtp.resend_timeout") + 86400) == -1)
		log_warn("%s: cannot record the delay warning", env->id);
	free(idx);
	free(key);
}

/* one message's outcomes of the jobs that ended this turn */
struct outcome {
	struct envelope	 env;
	size_t		*failed;	/* newly failed recipients: bounce */
	size_t		 nfailed;
	int		 gone;		/* removed meanwhile: nothing to do */
	int		 finished;	/* nothing left: remove */
	int		 anyfail;
};

/* qmgr_job_apply - JB's reports into ENV (the message's envelope). */
static void
qmgr_job_apply(struct qmgr *q, struct rjob *jb, struct outcome *o,
    long long now)
{
	struct envelope *env = &o->env;
	long long age = now - env->arrival;
	size_t k;

	for (k = 0; k < jb->n; k++) {
		struct env_rcpt *rc;
		struct dlv_msg *m = &jb->res[k];
		const char *why = "";
		int cls, expired = 0;

		if (jb->idx[k] >= env->nrcpt)
			continue;
		rc = &env->rcpt[jb->idx[k]];
		if (rc->state != RCPT_PENDING)
			continue;
		if (!jb->got[k]) {
			memset(m, 0, sizeof(*m));
			m->cls = DLV_C_LINE_ERROR;
			snprintf(m->text, sizeof(m->text), "451 4.3.0 the delivery "
			    "agent ended without a report");
		}
		cls = (int)m->cls;
		free(rc->last_error);
		/* a connect or DNS failure, a timeout or a dropped line is
		 * ours to report, not the relay's (bounce.h) */
		rc->last_error = m->relay[0] ? xasprintf("%s\t%s%s", m->relay,
		    cls == DLV_C_SENT || cls == DLV_C_PERM || cls == DLV_C_TEMP ?
		    "" : "\t", m->text) : xstrdup(m->text);
		if (cls != DLV_C_SENT && cls != DLV_C_PERM) {
			rc->attempts++;
			if (cls == DLV_C_TEMP && rc->attempts >
			    config_int(q->cfg, "queue.retry_count_rejected")) {
				expired = 1;
				why = "retry count exhausted";
			} else if (cls == DLV_C_NO_RESPONSE && age >=
			    config_int(q->cfg, "queue.retry_period_no_response")) {
				expired = 1;
				why = "no response for too long";
			} else if (cls == DLV_C_LINE_ERROR && age >=
			    config_int(q->cfg, "queue.retry_period_line_error")) {
				expired = 1;
				why = "line errors for too long";
			} else if (age >= config_int(q->cfg, "smtp.resend_timeout")) {
				expired = 1;
				why = "resend timeout";
			}
		}
		if (cls == DLV_C_SENT)
			rc->state = RCPT_DONE;
		else if (cls == DLV_C_PERM || expired) {
			rc->state = RCPT_FAILED;
			o->failed[o->nfailed++] = jb->idx[k];
		} else {
			rc->next_try = now + qmgr_retry_delay(q, rc->attempts);
			if (rc->next_try < q->next_scan)
				q->next_scan = rc->next_try;
		}
		log_info("%s: to=<%s> relay=%s status=%s (%s)%s%s%s delay=%llds "
		    "attempts=%d", env->id, rc->addr, m->relay[0] ? m->relay : "none",
		    expired ? "bounced" : cls <= DLV_C_LINE_ERROR ?
		    qmgr_cls_names[cls] : "?", m->text, expired ? " (" : "", why,
		    expired ? ")" : "", age, rc->attempts);
	}
}

/* qmgr_local_delay - the wait after a local delivery's ATTEMPTS failures. */
static long long
qmgr_local_delay(const struct qmgr *q, int attempts)
{
	long long delay = config_int(q->cfg, "queue.retry_interval");

	delay <<= attempts < 8 ? (attempts > 0 ? attempts - 1 : 0) : 7;
	if (delay > QMGR_RETRY_MAX)
		delay = QMGR_RETRY_MAX;
	return delay < 1 ? 1 : delay;
}

/* qmgr_local_apply - local job JB's report into O's envelope, logged. */
static void
qmgr_local_apply(struct qmgr *q, struct rjob *jb, struct outcome *o,
    long long now)
{
	struct envelope *env = &o->env;
	struct dlv_msg *m = &jb->res[0];
	struct env_rcpt *rc;

	if (jb->norecord || jb->idx[0] >= env->nrcpt)
		return;
	rc = &env->rcpt[jb->idx[0]];
	if (rc->state != RCPT_PENDING)
		return;
	if (!jb->got[0]) {
		memset(m, 0, sizeof(*m));
		m->cls = DLV_C_TEMP;
		snprintf(m->text, sizeof(m->text), "451 4.3.0 the delivery "
		    "agent ended without a report");
	}
	if (m->cls == DLV_C_SENT) {
		rc->state = RCPT_DONE;
		if (m->pref == LOCAL_DISCARDED)
			log_info("%s: to=<%s> account=%s status=discarded by plugin",
			    env->id, rc->addr, rc->account);
		else
			log_info("%s: to=<%s> account=%s status=sent%s delay=%llds",
			    env->id, rc->addr, rc->account, m->pref == LOCAL_ALREADY ?
			    " (already stored)" : "", now - env->arrival);
		return;
	}
	free(rc->last_error);
	rc->last_error = xstrdup(m->text);
	if (m->cls == DLV_C_PERM) {
		rc->state = RCPT_FAILED;
		o->failed[o->nfailed++] = jb->idx[0];
		log_info("%s: to=<%s> account=%s status=refused (%s)", env->id,
		    rc->addr, rc->account, m->text);
		return;
	}
	rc->attempts++;
	if (jb->crashed && ++rc->crashes >= QUEUE_CRASH_MAX) {
		rc->state = RCPT_HELD;
		free(rc->last_error);
		rc->last_error = xasprintf("%s; held after %d crashes",
		    m->text, rc->crashes);
		log_warn("%s: to=<%s> account=%s status=held (%s) attempts=%d; "
		    "yubinctl queue flush tries it again", env->id, rc->addr,
		    rc->account, rc->last_error, rc->attempts);
		return;
	}
	rc->next_try = now + qmgr_local_delay(q, rc->attempts);
	if (rc->next_try < q->next_scan)
		q->next_scan = rc->next_try;
	log_info("%s: to=<%s> account=%s status=deferred (%s) attempts=%d",
	    env->id, rc->addr, rc->account, m->text, rc->attempts);
}

struct record {
	struct qmgr	*q;
	struct rjob	**jobs;		/* the jobs that ended, oldest first */
	size_t		 n;
	struct outcome	**outs;		/* their messages, each once */
	size_t		 nouts;
	long long	 now;
};

/* qmgr_record_fn - write every outcome and the MX cache in one go. */
static int
qmgr_record_fn(struct store_txn *txn, void *ctx)
{
	struct record *rc = ctx;
	long long ttl = config_int(rc->q->cfg, "queue.mx_cache_ttl");
	struct buf rec, v;
	size_t i, k;
	int r = 0, got;

	buf_init(&rec, 0);
	buf_init(&v, 0);
	for (i = 0; i < rc->nouts && r == 0; i++) {
		struct outcome *o = rc->outs[i];

		if (o->gone)
			continue;
		/* deleted meanwhile (yubinctl queue delete): leave it */
		got = store_tget(txn, STORE_QUEUE, o->env.id, strlen(o->env.id),
		    &v, NULL);
		if (got == -1)
			r = -1;
		else if (got != 1)
			o->gone = 1;
		else if (o->finished)
			r = store_tdel(txn, STORE_QUEUE, o->env.id,
			    strlen(o->env.id)) == -1 ? -1 : 0;
		else {
			envelope_encode(&o->env, &rec);
			r = store_tput(txn, STORE_QUEUE, o->env.id,
			    strlen(o->env.id), rec.data, rec.len, 0);
		}
	}
	/* the copies the local agents stored */
	if (r == 0)
		r = usage_pending_commit(txn);
	/* the MX cache: hosts of a domain that took mail */
	for (i = 0; i < rc->n && r == 0 && ttl > 0; i++) {
		struct rjob *jb = rc->jobs[i];
		char *key;

		if (jb->local || jb->nmx == 0)
			continue;
		key = xasprintf("mx/%s", jb->rd->host);
		buf_reset(&v);
		for (k = 0; k < jb->nmx; k++)
			buf_printf(&v, "%d %s\n", jb->mx[k].pref, jb->mx[k].name);
		r = store_tput(txn, STORE_META, key, strlen(key), v.data, v.len,
		    rc->now + ttl);
		free(key);
	}
	buf_free(&rec);
	buf_free(&v);
	return r == 0 ? 0 : -1;
}

/* qmgr_done - the queue file of finished message ID, whose envelope is
 * gone now. */
static void
qmgr_done(struct qmgr *q, const char *id)
{
	if (queue_file_remove(q->home, id) == -1)
		log_err("%s: cannot remove the queue file: %s", id, strerror(errno));
	log_info("%s: removed", id);
}

/*
 * qmgr_record - the outcomes of the jobs that ended this turn: applied to
 * their envelopes, bounces queued and dead mail kept, then every envelope
 * written (or removed) in one transaction, then the queue files of the
 * finished messages removed.
 */
static void
qmgr_record(struct qmgr *q)
{
	struct record rc;
	struct outcome **outs;
	struct rjob *jb;
	char qpath[PATH_MAX];
	size_t n = 0, no = 0, i, k, left;
	long long now = time_now();

	for (jb = q->ended; jb != NULL; jb = jb->dnext)
		n++;
	if (n == 0)
		return;
	memset(&rc, 0, sizeof(rc));
	rc.q = q;
	rc.now = now;
	rc.jobs = xcalloc(n, sizeof(*rc.jobs));
	outs = xcalloc(n, sizeof(*outs));
	/* oldest first, as they ended */
	for (jb = q->ended, i = n; jb != NULL; jb = jb->dnext)
		rc.jobs[--i] = jb;
	rc.n = n;
	q->ended = NULL;
	for (i = 0; i < n; i++) {
		jb = rc.jobs[i];
		/* a stored copy counts, whatever became of its message */
		if (jb->local && !jb->norecord && jb->got[0] &&
		    jb->res[0].cls == DLV_C_SENT && jb->res[0].pref == LOCAL_STORED &&
		    usage_pending_add(jb->rd->account, jb->size_crlf) == -1)
			log_err("%s: usage of %s not counted (table full)", jb->qid,
			    jb->rd->account);
		if (jb->local && jb->norecord)
			continue;
		for (k = 0; k < no; k++)
			if (strcmp(outs[k]->env.id, jb->qid) == 0)
				break;
		if (k == no) {
			outs[no] = xcalloc(1, sizeof(**outs));
			if (queue_get(q->store, jb->qid, &outs[no]->env) != 1) {
				log_info("%s: removed while being delivered", jb->qid);
				outs[no]->gone = 1;
				memcpy(outs[no]->env.id, jb->qid, sizeof(jb->qid));
			} else
				outs[no]->failed = xcalloc(outs[no]->env.nrcpt,
				    sizeof(size_t));
			no++;
		}
		if (outs[k]->gone)
			continue;
		if (jb->local)
			qmgr_local_apply(q, jb, outs[k], now);
		else
			qmgr_job_apply(q, jb, outs[k], now);
	}
	for (k = 0; k < no; k++) {
		struct outcome *o = outs[k];

		if (o->gone || queue_path(q->home, o->env.id, qpath,
		    sizeof(qpath)) == -1) {
			o->gone = 1;
			continue;
		}
		for (i = 0, left = 0; i < o->env.nrcpt; i++) {
			if (o->env.rcpt[i].state == RCPT_PENDING ||
			    o->env.rcpt[i].state == RCPT_HELD)
				left++;
			else if (o->env.rcpt[i].state == RCPT_FAILED)
				o->anyfail = 1;
		}
		o->finished = left == 0;
		if (o->nfailed > 0)
			(void)bounce_send(q->cfg, q->store, &o->env, qpath,
			    o->failed, o->nfailed, 0);
		if (left > 0)
			qmgr_delay_warn(q, &o->env, qpath, now);
		if (o->finished && o->anyfail)
			(void)bounce_deadmail(q->cfg, &o->env, qpath);
	}
	rc.outs = outs;
	rc.nouts = no;
	/* a crash that undoes this sends those messages again: at least once */
	if (store_write_lazy(q->store, qmgr_record_fn, &rc) != 0)
		log_err("queue: cannot record the delivery results of %zu "
		    "messages; they will be repeated", no);
	else
		for (k = 0; k < no; k++) {
			struct outcome *o = outs[k];

			if (!o->gone && o->finished)
				qmgr_done(q, o->env.id);
		}
	usage_pending_clear();
	for (k = 0; k < no; k++) {
		envelope_clear(&outs[k]->env);
		free(outs[k]->failed);
		free(outs[k]);
	}
	for (i = 0; i < n; i++) {
		struct rdest *rd = rc.jobs[i]->rd;

		qmgr_job_free(q, rc.jobs[i]);
		qmgr_rdest_gc(q, rd);
	}
	free(outs);
	free(rc.jobs);
}

/* qmgr_agent_read - take agent I's reports.  1 when it has ended (its
 * job, if any, is done as far as it got). */
static int
qmgr_agent_read(struct qmgr *q, size_t i)
{
	struct agent_slot *ag = &q->agents[i];
	struct rjob *jb;
	struct dlv_msg m;
	ssize_t n;
	size_t k;

	for (;;) {
		n = recv(ag->fd, &m, sizeof(m), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			goto ended;
		jb = ag->job;
		m.relay[sizeof(m.relay) - 1] = '\0';
		m.text[sizeof(m.text) - 1] = '\0';
		if (n != (ssize_t)sizeof(m) || jb == NULL ||
		    m.version != DLV_PROTO_VERSION || (m.type != DLV_MSG_RCPT &&
		    m.type != DLV_MSG_MX && m.type != DLV_MSG_END) ||
		    m.cls > DLV_C_LINE_ERROR ||
		    (jb->local && m.type == DLV_MSG_MX)) {
			log_err("%s: malformed report from delivery agent %ld",
			    jb ? jb->qid : "NOQUEUE", (long)ag->pid);
			ag->killed = QMGR_KILL_BAD;
			kill(ag->pid, SIGKILL);
			goto ended;
		}
		if (m.type == DLV_MSG_END) {
			qmgr_agent_done(q, ag, 0);
			ag->idle_since = now_ms();
			continue;
		}
		if (m.type == DLV_MSG_MX) {
			if (jb->mx == NULL)
				jb->mx = xcalloc(DNS_MX_MAX, sizeof(*jb->mx));
			if (jb->nmx < DNS_MX_MAX) {
				str_copy(jb->mx[jb->nmx].name,
				    sizeof(jb->mx[0].name), m.relay);
				jb->mx[jb->nmx++].pref = m.pref;
			}
			continue;
		}
		for (k = 0; k < jb->n; k++)
			if (jb->idx[k] == m.idx && !jb->got[k]) {
				jb->res[k] = m;
				jb->got[k] = 1;
				break;
			}
	}
ended:
	qmgr_agent_done(q, ag, 1);
	return 1;
}

/* qmgr_reap - collect ended agents that were still exiting. */
static void
qmgr_reap(struct qmgr *q)
{
	size_t i = 0;
	pid_t r;
	int st;

	while (i < q->nreap) {
		r = waitpid(q->reap[i], &st, WNOHANG);
		if (r == 0) {
			i++;
			continue;
		}
		if (r > 0 && WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
			log_err("delivery agent %ld killed by signal %d",
			    (long)q->reap[i], WTERMSIG(st));
		q->reap[i] = q->reap[--q->nreap];
	}
}

/* qmgr_entry - make jobs of what is due of queue entry ID, in slot E.
 * 1 when E holds an envelope, 0 when there is nothing to do. */
static int
qmgr_entry(struct qmgr *q, const char *id, struct entry *e)
{
	struct envelope *env = &e->env;
	char qpath[PATH_MAX];
	long long now = time_now();
	size_t i, pending = 0, remote = 0;

	memset(e, 0, sizeof(*e));
	if (queue_get(q->store, id, env) != 1)
		return 0;
	if (queue_path(q->home, id, qpath, sizeof(qpath)) == -1 ||
	    env->release_at > now) {
		if (env->release_at > now && env->release_at < q->next_scan)
			q->next_scan = env->release_at;
		envelope_clear(env);
		return 0;
	}
	for (i = 0; i < env->nrcpt && !qmgr_stop; i++) {
		struct env_rcpt *rc = &env->rcpt[i];

		if (rc->state == RCPT_HELD)
			pending++;	/* kept until yubinctl queue flush */
		if (rc->state != RCPT_PENDING)
			continue;
		pending++;
		if (rc->next_try > now) {
			if (rc->next_try < q->next_scan)
				q->next_scan = rc->next_try;
			continue;
		}
		if (rc->account == NULL || q->forward_all) {
			/* remote recipients go to the delivery agents */
			remote++;
			continue;
		}
		if (qmgr_inflight(q, env->id, i))
			continue;
		if (q->njobs >= QMGR_WAIT_MAX) {
			q->full = 1;
			continue;
		}
		qmgr_local_new(q, env, i, qpath);
	}
	if (remote > 0 && !qmgr_stop)
		qmgr_dispatch(q, env, qpath);
	e->finished = pending == 0 && !qmgr_stop;
	return 1;
}

static int
qmgr_commit_fn(struct store_txn *txn, void *ctx)
{
	struct batch *b = ctx;
	size_t i;
	int r = 0;

	for (i = 0; i < b->n && r == 0; i++)
		if (b->e[i].finished)
			r = store_tdel(txn, STORE_QUEUE, b->e[i].env.id,
			    strlen(b->e[i].env.id)) == -1 ? -1 : 0;
	return r;
}

/* qmgr_batch - make the jobs of the entries IDS[0..N), and remove the
 * finished ones. */
static void
qmgr_batch(struct qmgr *q, char **ids, size_t n)
{
	static struct batch b;
	char qpath[PATH_MAX];
	size_t i, k, done = 0;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < n && b.n < QMGR_BATCH; i++)
		if (qmgr_entry(q, ids[i], &b.e[b.n])) {
			done += b.e[b.n].finished;
			b.n++;
		}
	if (done > 0 && store_write(q->store, qmgr_commit_fn, &b) != 0)
		log_err("queue: cannot remove %zu finished entries; they will "
		    "be tried again", done);
	else if (done > 0) {
		for (i = 0; i < b.n; i++) {
			struct entry *e = &b.e[i];

			if (!e->finished || queue_path(q->home, e->env.id, qpath,
			    sizeof(qpath)) == -1)
				continue;
			for (k = 0; k < e->env.nrcpt; k++)
				if (e->env.rcpt[k].state == RCPT_FAILED) {
					(void)bounce_deadmail(q->cfg, &e->env, qpath);
					break;
				}
			qmgr_done(q, e->env.id);
		}
	}
	for (i = 0; i < b.n; i++)
		envelope_clear(&b.e[i].env);
}

static int
pending_scan_fn(void *ctx, const char *id)
{
	pending_add(ctx, id);
	return 0;
}

/* pending_take - run a batch over the first ids, then drop them. */
static void
pending_run(struct qmgr *q, struct pending *p)
{
	size_t n = p->n < QMGR_BATCH ? p->n : QMGR_BATCH, i;

	qmgr_batch(q, p->ids, n);
	for (i = 0; i < n; i++)
		free(p->ids[i]);
	memmove(p->ids, p->ids + n, (p->n - n) * sizeof(*p->ids));
	p->n -= n;
}

/* qmgr_orphans - remove queue files that never got an envelope. */
static void
qmgr_orphans(struct qmgr *q)
{
	struct dirent *de;
	struct stat st;
	struct buf val;
	char path[PATH_MAX];
	char *dir;
	DIR *d;

	dir = xasprintf("%s/queue", q->home);
	d = opendir(dir);
	if (d == NULL) {
		free(dir);
		return;
	}
	buf_init(&val, 0);
	while ((de = readdir(d)) != NULL) {
		if (!qmgr_valid_id(de->d_name, strlen(de->d_name)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path) || stat(path, &st) == -1)
			continue;
		if (time_now() - st.st_mtime < QMGR_ORPHAN_AGE)
			continue;
		if (store_get(q->store, STORE_QUEUE, de->d_name,
		    strlen(de->d_name), &val) == 0) {
			log_warn("%s: removing orphan queue file", de->d_name);
			unlink(path);
		}
	}
	buf_free(&val);
	closedir(d);
	free(dir);
}

/*
 * qmgr_lock - hold HOME/queue/.lock for as long as this queue manager runs
 * (the descriptor is never closed; the kernel lets go when the process
 * ends): two queue managers on one queue would deliver every message
 * twice.  A new one waits here while an old one, whose master is gone,
 * finishes.  Returns when the lock is held; fatal when it cannot be.
 */
static void
qmgr_lock(const char *home)
{
	char *path = xasprintf("%s/queue/.lock", home);
	int fd, logged = 0;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		log_fatal("queue manager: %s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			log_fatal("queue manager: lock %s: %s", path,
			    strerror(errno));
		if (!logged++)
			log_warn("queue manager: another one still holds %s; "
			    "waiting for it to end", path);
		if (qmgr_stop)
			exit(0);
		sleep(1);
	}
	free(path);
}

static int
qmgr_socket(const char *home)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/qmgr.sock",
	    home) >= (int)sizeof(sun.sun_path)) {
		log_warn("queue notification socket path too long; scanning only");
		return -1;
	}
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_err("bind %s: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}


/*
 * qmgr_local_check - busy local agents that ended while a program they
 * started still holds their socket open (so no end of file comes), and
 * those past their deadline (killed).
 */
static void
qmgr_local_check(struct qmgr *q)
{
	struct agent_slot *ag;
	long long now = now_ms();
	size_t i;
	int st;

	for (i = q->nagents; i-- > 0;) {
		ag = &q->agents[i];
		if (!ag->local || ag->job == NULL)
			continue;
		if (now >= ag->deadline) {
			log_warn("%s: local delivery agent %ld ran past its "
			    "deadline; killed", ag->job->qid, (long)ag->pid);
			ag->killed = QMGR_KILL_DEADLINE;
			qmgr_agent_end(q, i, 1);
			continue;
		}
		if (waitpid(ag->pid, &st, WNOHANG) != ag->pid)
			continue;
		ag->reaped = 1;
		ag->status = st;
		(void)qmgr_agent_read(q, i);	/* what it sent before */
		qmgr_agent_end(q, i, 0);
	}
}

/*
 * qmgr_jobs_poll - wait (up to a second, none when NOTIFY_FD is 0) for the
 * notification socket NOTIFY_FD (-1: none) or an agent's report; take the
 * reports, record the jobs that ended, end agents idle too long, and start
 * waiting jobs.
 */
static void
qmgr_jobs_poll(struct qmgr *q, int notify_fd)
{
	struct pollfd pfd[QMGR_AGENTS_MAX + 1];
	size_t i, n = 0, base;
	long long wait, now;
	int r;

	wait = notify_fd == 0 ? 0 : 1000;
	if (notify_fd > 0) {
		pfd[n].fd = notify_fd;
		pfd[n].events = POLLIN;
		n++;
	}
	base = n;
	for (i = 0; i < q->nagents; i++) {
		pfd[n].fd = q->agents[i].fd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (q->next_scan > 0 && notify_fd != 0) {
		long long ms = (q->next_scan - time_now()) * 1000;

		if (ms < wait)
			wait = ms < 0 ? 0 : ms;
	}
	r = poll(pfd, (nfds_t)n, (int)wait);
	/* backwards: ending an agent moves the last slot into its place */
	for (i = n - base; r > 0 && i-- > 0;)
		if (pfd[base + i].revents != 0 && qmgr_agent_read(q, i))
			qmgr_agent_end(q, i, 0);
	qmgr_local_check(q);
	/* free agents work while the outcomes are written */
	qmgr_assign(q);
	qmgr_record(q);
	now = now_ms();
	for (i = q->nagents; i-- > 0;)
		if (q->agents[i].job == NULL &&
		    now - q->agents[i].idle_since > QMGR_AGENT_IDLE * 1000LL)
			qmgr_agent_end(q, i, 0);
	qmgr_assign(q);
}

/* qmgr_remote_stop - give running agents a moment, then end every agent
 * and forget the jobs (the envelopes keep them for the next start). */
static void
qmgr_remote_stop(struct qmgr *q)
{
	long long until = now_ms() + QMGR_STOP_WAIT;
	struct rdest *rd;
	struct rjob *jb;
	size_t i, busy;

	for (rd = q->dests; rd != NULL; rd = rd->next)
		while ((jb = rd->head) != NULL) {
			rd->head = jb->next;
			qmgr_job_free(q, jb);
		}
	for (;;) {
		for (i = 0, busy = 0; i < q->nagents; i++)
			busy += q->agents[i].job != NULL;
		if (busy == 0 || now_ms() >= until)
			break;
		qmgr_jobs_poll(q, -1);
	}
	while (q->nagents > 0) {
		struct agent_slot *ag = &q->agents[q->nagents - 1];

		if (ag->job != NULL)
			ag->killed = QMGR_KILL_STOP;
		qmgr_agent_end(q, q->nagents - 1, ag->job != NULL);
	}
	qmgr_record(q);
	while ((rd = q->dests) != NULL) {
		/* jobs an ended agent had queued came back here */
		while ((jb = rd->head) != NULL) {
			rd->head = jb->next;
			qmgr_job_free(q, jb);
		}
		q->dests = rd->next;
		free(rd);
	}
	for (i = 0; i < q->nreap; i++)
		while (waitpid(q->reap[i], NULL, 0) == -1 && errno == EINTR)
			;
	q->nreap = 0;
}

void
qmgr_main(const struct config *cfg, char *trace, size_t tracesize)
{
	struct sigaction sa;
	struct pending work;
	struct qmgr q;
	const char *why;
	char *sdir, *kick;
	char id[64];
	ssize_t n;
	size_t i;
	long long interval;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&q, 0, sizeof(q));
	q.cfg = cfg;
	q.home = config_home(cfg);
	qmgr_lock(q.home);
	sdir = xasprintf("%s/state", q.home);
	if (store_open(&q.store, sdir, &why) == -1)
		log_fatal("queue manager: %s: %s", sdir, why);
	free(sdir);
	plugins_child_init(q.store, cfg, trace, tracesize);
	plugins_process_init(YH_PROC_QUEUE);
	{
		struct errlist errs;

		errlist_init(&errs);
		if (route_load(cfg, &q.routes, &errs) == -1) {
			/* yubind -t and start-up check it; a file changed
			 * since then: deliver by MX and smarthost only */
			for (i = 0; i < errlist_count(&errs); i++)
				log_err("%s", errs.msg[i]);
			q.routes = NULL;
		}
		errlist_free(&errs);
	}
	q.forward_all = config_bool(cfg, "queue.forward_all_to_gateway") &&
	    *config_str(cfg, "queue.smarthost") != '\0';
	fd = qmgr_socket(q.home);
	q.notify_fd = fd;
	kick = xasprintf("%s/run/qmgr.kick", q.home);
	interval = config_int(cfg, "queue.retry_interval");
	if (interval < 1)
		interval = 1;
	log_info("queue manager started");
	qmgr_orphans(&q);
	memset(&work, 0, sizeof(work));
	while (!qmgr_stop) {
		qmgr_reap(&q);
		/* a scan: at start, every retry interval, when a worker could
		 * not reach our socket, and when the work list overflowed */
		if (time_now() >= q.next_scan || unlink(kick) == 0 ||
		    (work.overflow && work.n == 0) ||
		    (q.full && q.njobs < QMGR_WAIT_MAX / 2)) {
			work.overflow = 0;
			q.full = 0;
			queue_each(q.store, pending_scan_fn, &work);
			q.next_scan = time_now() + interval;
		}
		/* take every notification waiting, then work a batch */
		while (fd != -1 && (n = recv(fd, id, sizeof(id) - 1,
		    MSG_DONTWAIT)) > 0) {
			id[n] = '\0';
			if (qmgr_valid_id(id, (size_t)n))
				pending_add(&work, id);
		}
		if (work.n > 0) {
			pending_run(&q, &work);
			qmgr_jobs_poll(&q, 0);
			continue;
		}
		qmgr_jobs_poll(&q, fd);
	}
	qmgr_remote_stop(&q);
	route_free(&q.routes);
	for (i = 0; i < work.n; i++)
		free(work.ids[i]);
	free(work.ids);
	free(kick);
	log_info("queue manager stopped");
	store_close(&q.store);
	exit(0);
}
