/*
 * qmgr_jobs.c - the queue manager's jobs and agents (qmgr_private.h): due
 * recipients made into jobs per destination, the agent pool, and the
 * assignment of waiting jobs to free agents.  Runs in the queue manager, as
 * the server user; reads no network input.
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
#include "node.h"
#include "paths.h"
#include "plugin.h"
#include "qmgr.h"
#include "queue.h"
#include "route.h"
#include "store.h"
#include "usage.h"
#include "util.h"
#include "qmgr_private.h"

static unsigned
qmgr_hash(const char *qid)
{
	unsigned h = 2166136261u;

	while (*qid)
		h = (h ^ (unsigned char)*qid++) * 16777619u;
	return h % QMGR_JOB_HASH;
}

/* qmgr_inflight - 1 when recipient IDX of QID is in a job. */
int
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
void
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

/* qmgr_job_link - JB waits last in RD's list and is found by its queue id
 * (byqid); the queue manager counts it. */
static void
qmgr_job_link(struct qmgr *q, struct rjob *jb, struct rdest *rd)
{
	unsigned h;

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
	j.notify = xcalloc(n, sizeof(*j.notify));
	j.orcpt = xcalloc(n, sizeof(*j.orcpt));
	j.dsn_ret = env->dsn_ret;
	j.dsn_envid = env->dsn_envid ? env->dsn_envid : "";
	for (i = 0; i < n; i++) {
		j.rcpts[i] = env->rcpt[idx[i]].addr;
		j.notify[i] = env->rcpt[idx[i]].notify;
		j.orcpt[i] = env->rcpt[idx[i]].orcpt ? env->rcpt[idx[i]].orcpt : "";
	}
	jb = xcalloc(1, sizeof(*jb));
	buf_init(&jb->msg, 0);
	if (dlv_job_encode(&j, &jb->msg) == -1) {
		/* cannot happen within the envelope's limits */
		log_err("%s: delivery job too large", env->id);
		buf_free(&jb->msg);
		free(jb);
		free(j.rcpts);
		free(j.notify);
		free(j.orcpt);
		return;
	}
	free(j.rcpts);
	free(j.notify);
	free(j.orcpt);
	memcpy(jb->qid, env->id, sizeof(jb->qid));
	jb->n = n;
	jb->idx = xcalloc(n, sizeof(*jb->idx));
	memcpy(jb->idx, idx, n * sizeof(*idx));
	jb->res = xcalloc(n, sizeof(*jb->res));
	jb->got = xcalloc(n, sizeof(*jb->got));
	rd = qmgr_rdest(q, d, 1);
	qmgr_job_link(q, jb, rd);
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

char *
qmgr_maildir(const struct qmgr *q, const char *account)
{
	char *dir = paths_account_dir(q->cfg, account), *md;

	md = xasprintf("%s/Maildir", dir);
	free(dir);
	return md;
}

/* qmgr_local_new - a waiting local job for ENV's recipient IDX. */
void
qmgr_local_new(struct qmgr *q, const struct envelope *env, size_t idx,
    const char *qpath)
{
	const struct env_rcpt *rc = &env->rcpt[idx];
	struct local_job j;
	struct rjob *jb;
	struct rdest *rd;
	char trace[MAILDIR_TRACE_MAX];
	char *md;
	size_t tl;

	md = qmgr_maildir(q, rc->account);
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
	j.first = rc->attempts == 0 && rc->crashes == 0 &&
	    env->arrival > q->started;
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
	qmgr_job_link(q, jb, rd);
}

/* qmgr_job_free - unlink JB from the queue id index and free it. */
void
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
 * qmgr_unqueue - forget the jobs of QID (NULL: of every message) that wait
 * for an agent: the message was held or deleted, or delivery suspended.
 * Jobs an agent has already taken go on.  The envelopes keep the
 * recipients, so a later scan makes the jobs again.
 */
void
qmgr_unqueue(struct qmgr *q, const char *qid)
{
	struct rdest *rd, *next;
	struct rjob **pp, *jb;

	if (qid != NULL) {
		for (jb = q->byqid[qmgr_hash(qid)]; jb != NULL; jb = jb->hnext)
			if (strcmp(jb->qid, qid) == 0 && jb->agent == NULL)
				break;
		if (jb == NULL)
			return;		/* none waits: the common case */
	}
	for (rd = q->dests; rd != NULL; rd = next) {
		next = rd->next;
		rd->tail = NULL;
		for (pp = &rd->head; (jb = *pp) != NULL;) {
			if (qid != NULL && strcmp(jb->qid, qid) != 0) {
				rd->tail = jb;
				pp = &jb->next;
				continue;
			}
			*pp = jb->next;
			qmgr_job_free(q, jb);
		}
		if (q->ended == NULL)	/* no ended job still points at RD */
			qmgr_rdest_gc(q, rd);
	}
}

/*
 * qmgr_dispatch - make jobs of ENV's due remote recipients, one per
 * destination (and per 100 recipients).  They start in qmgr_assign.
 */
int
qmgr_home_route(struct qmgr *q, const char *account, struct route_dest *d)
{
	char home[NODE_NAME_MAX + 1], key[NODE_KEY_HEX + 1], why[256], *root;
	struct node_rec n;
	int r, carry;

	r = node_home_x(q->store, account, home, &carry);
	if (r == 1 && strcmp(home, node_self(q->cfg)) == 0) {
		if (!carry)
			return 0;
		/* a list moved here: its files first (node_carry.c) */
		root = paths_mailbox_root(q->cfg);
		r = node_carry_take(q->store, home, account, root, (uid_t)-1,
		    (gid_t)-1, why, sizeof(why));
		free(root);
		if (r == -1) {
			log_err("%s: the list's files moved here cannot be "
			    "written: %s; its mail waits", account, why);
			return -1;
		}
		log_info("%s: the list's files moved here are written",
		    account);
		return 0;
	}
	if (r != 1)
		return r;
	r = node_get(q->store, home, &n);
	if (r == 0)
		log_warn("%s: homed on node %s, which is not registered (yubinctl "
		    "node add); kept waiting", account, home);
	if (r != 1 || (r = node_key(q->store, key, 0)) != 1)
		return -1;
	memset(d, 0, sizeof(*d));
	d->kind = ROUTE_GATEWAY;
	str_copy(d->host, sizeof(d->host), n.smtp_host);
	d->port = n.smtp_port;
	/* the node key crosses only TLS (smtpc never sends it in clear),
	 * to a certificate for the node's name when there is a site CA */
	if (q->node_verify && q->node_ctx == NULL)
		return -1;
	d->tls = q->node_verify ? ROUTE_TLS_VERIFY : ROUTE_TLS_ENCRYPT;
	snprintf(d->user, sizeof(d->user), NODE_AUTH_PREFIX "%s",
	    node_self(q->cfg));
	str_copy(d->pass, sizeof(d->pass), key);
	explicit_bzero(key, sizeof(key));
	snprintf(d->key, sizeof(d->key), "node:%s", n.name);
	return 1;
}

void
qmgr_dispatch(struct qmgr *q, const struct envelope *env, const char *qpath,
    const struct route_dest *nodes)
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
		    (rc->account != NULL && !q->forward_all &&
		    (nodes == NULL || nodes[i].key[0] == '\0')) ||
		    qmgr_inflight(q, env->id, i)) {
			taken[i] = 1;
			continue;
		}
		if (rc->account != NULL && nodes != NULL && nodes[i].key[0] != '\0')
			dests[i] = nodes[i];
		else
			route_for(q->cfg, q->routes, addr_domain_of(rc->addr),
			    &dests[i]);
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
		delivery_agent(p[1], q->node_ctx);
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
void
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
void
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
void
qmgr_assign(struct qmgr *q)
{
	size_t workers = (size_t)config_int(q->cfg, "queue.delivery_workers");
	size_t perdest = (size_t)config_int(q->cfg, "queue.destination_concurrency");
	struct agent_slot *ag;
	struct rdest *rd, *next;
	struct rjob *jb;
	size_t lworkers, lper;
	int progress = 1, queued;

	if (q->suspended)
		return;		/* yubinctl suspend: nothing starts */
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
