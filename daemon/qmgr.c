/*
 * qmgr.c - queue manager process; see qmgr.h.  Runs as the server user,
 * never reads network input (the notification socket carries only queue ids
 * from our own workers and yubinctl, or QUEUE_NOTE_STATE, and a malformed
 * one is ignored).
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
#include "board.h"
#include "bounce.h"
#include "config.h"
#include "agent.h"
#include "local.h"
#include "maint.h"
#include "log.h"
#include "master.h"
#include "maildir.h"
#include "paths.h"
#include "plugin.h"
#include "qmgr.h"
#include "queue.h"
#include "route.h"
#include "store.h"
#include "tls.h"
#include "usage.h"
#include "util.h"
#include "qmgr_private.h"

volatile sig_atomic_t qmgr_stop;	/* qmgr_private.h */

static void
qmgr_on_term(int sig)
{
	(void)sig;
	qmgr_stop = 1;
}

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
	struct route_dest *nodes = NULL;	/* per recipient, with q->shared */
	char qpath[PATH_MAX];
	long long now = time_now();
	size_t i, pending = 0, remote = 0;
	int r;

	memset(e, 0, sizeof(*e));
	if (queue_get(q->store, id, env) != 1) {
		qmgr_unqueue(q, id);	/* deleted: nothing of it starts */
		return 0;
	}
	if (env->hold) {
		/* yubinctl queue hold: kept, never tried, until released */
		qmgr_unqueue(q, id);
		envelope_clear(env);
		return 0;
	}
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
		if (q->shared) {
			/* a mailbox homed on another node goes there */
			if (nodes == NULL)
				nodes = xcalloc(env->nrcpt, sizeof(*nodes));
			r = qmgr_home_route(q, rc->account, &nodes[i]);
			if (r == 1) {
				remote++;
				continue;
			}
			if (r == -1) {
				/* the home is not known now: neither here
				 * nor there, tried again soon */
				if (now + QMGR_STATE_RETRY < q->next_scan)
					q->next_scan = now + QMGR_STATE_RETRY;
				continue;
			}
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
		qmgr_dispatch(q, env, qpath, nodes);
	if (nodes != NULL) {
		for (i = 0; i < env->nrcpt; i++)
			explicit_bzero(nodes[i].pass, sizeof(nodes[i].pass));
		free(nodes);
	}
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

/*
 * qmgr_state - read the delivery state (yubinctl suspend / resume) again:
 * at start, at every scan, and when told (QUEUE_NOTE_STATE).  Suspended,
 * the jobs waiting for an agent are forgotten and the work list WORK
 * emptied: nothing more starts, what runs ends.  Resumed, the whole queue
 * is scanned at once.  A state that cannot be read leaves it as it was.
 */
static void
qmgr_state(struct qmgr *q, struct pending *work)
{
	size_t i;
	int r = queue_suspended(q->store, NULL);

	if (r == -1 || r == q->suspended)
		return;
	q->suspended = r;
	if (r == 1) {
		qmgr_unqueue(q, NULL);
		for (i = 0; i < work->n; i++)
			free(work->ids[i]);
		work->n = 0;
		work->overflow = 0;
		log_info("delivery suspended; yubinctl resume restarts it");
		return;
	}
	q->next_scan = 0;
	log_info("delivery resumed");
}

/* qmgr_orphan_log - one line per orphan queue_orphans removes. */
static void
qmgr_orphan_log(void *ctx, const char *id, long long bytes)
{
	(void)ctx;
	log_warn("%s: removing orphan queue file size=%lld", id, bytes);
}

/* qmgr_orphans - remove queue files that never got an envelope. */
static void
qmgr_orphans(struct qmgr *q)
{
	long long n, bytes;

	if (queue_orphans(q->store, q->home, QMGR_ORPHAN_AGE, time_now(), 0,
	    qmgr_orphan_log, NULL, &n, &bytes) == -1 && errno != ENOENT)
		log_err("queue manager: orphan files: %s", strerror(errno));
}

/*
 * qmgr_maint - the maintenance purge of server.maint_interval (F130), the
 * one `yubinctl maint` runs, here where the queue is known to be ours.
 */
static void
qmgr_maint(struct qmgr *q)
{
	struct maint_opts o = { -1, 0, time_now() };
	struct maint_result r;
	int k;

	(void)maint_run(q->cfg, q->store, &o, &r);
	for (k = 0; k < MAINT_NKINDS; k++)
		if (r.files[k] > 0)
			log_info("maint: removed %s files=%lld bytes=%lld",
			    maint_kind_name((enum maint_kind)k), r.files[k],
			    r.bytes[k]);
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
	size_t i, n = 0, base, busy = 0;
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
		busy += q->agents[i].job != NULL;
	}
	board_gauge(BG_DELIVERING, (long long)busy);	/* for status, metrics */
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
qmgr_main(const struct config *cfg, const struct routes *routes, char *trace,
    size_t tracesize)
{
	struct sigaction sa;
	struct pending work;
	struct qmgr q;
	const char *why;
	char *sdir, *kick, *tlswhy;
	char id[64];
	ssize_t n;
	size_t i;
	long long interval, maint_every, next_maint;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* the master forks us with its signals blocked: a stop that came
	 * meanwhile reaches the handler above now */
	child_unblock();
	memset(&q, 0, sizeof(q));
	q.cfg = cfg;
	q.home = config_home(cfg);
	qmgr_lock(q.home);
	/* an earlier queue manager has ended (its lock): what arrives from
	 * the next second on was never handed to a delivery agent */
	q.started = time_now();
	sdir = xasprintf("%s/state", q.home);
	if (store_open(&q.store, sdir, &why) == -1)
		log_fatal("queue manager: %s: %s", sdir, why);
	free(sdir);
	plugins_child_init(q.store, cfg, trace, tracesize);
	plugins_process_init(YH_PROC_QUEUE);
	q.routes = routes;
	q.forward_all = config_bool(cfg, "queue.forward_all_to_gateway") &&
	    *config_str(cfg, "queue.smarthost") != '\0';
	q.shared = *config_str(cfg, "server.state") != '\0';
	q.node_verify = *config_str(cfg, "server.node_tls_ca") != '\0';
	if (q.node_verify && tls_node_ctx(cfg, &q.node_ctx, &tlswhy) == -1) {
		/* checked at start: gone since; node mail waits for it */
		log_err("queue manager: %s", tlswhy);
		free(tlswhy);
	}
	fd = qmgr_socket(q.home);
	q.notify_fd = fd;
	kick = xasprintf("%s/run/qmgr.kick", q.home);
	interval = config_int(cfg, "queue.retry_interval");
	if (interval < 1)
		interval = 1;
	log_info("queue manager started");
	qmgr_orphans(&q);
	maint_every = config_int(cfg, "server.maint_interval");
	next_maint = time_now() + maint_every;
	memset(&work, 0, sizeof(work));
	while (!qmgr_stop) {
		qmgr_reap(&q);
		if (maint_every > 0 && time_now() >= next_maint) {
			qmgr_maint(&q);
			next_maint = time_now() + maint_every;
		}
		/* a scan: at start, every retry interval, when a worker could
		 * not reach our socket, and when the work list overflowed;
		 * while delivery is suspended, only the state is read */
		if (time_now() >= q.next_scan || unlink(kick) == 0 ||
		    (work.overflow && work.n == 0) ||
		    (q.full && q.njobs < QMGR_WAIT_MAX / 2)) {
			work.overflow = 0;
			q.full = 0;
			qmgr_state(&q, &work);
			if (!q.suspended)
				queue_each(q.store, pending_scan_fn, &work);
			q.next_scan = time_now() + interval;
		}
		/* take every notification waiting, then work a batch */
		while (fd != -1 && (n = recv(fd, id, sizeof(id) - 1,
		    MSG_DONTWAIT)) > 0) {
			id[n] = '\0';
			if ((size_t)n == strlen(QUEUE_NOTE_STATE) &&
			    memcmp(id, QUEUE_NOTE_STATE, (size_t)n) == 0)
				qmgr_state(&q, &work);
			else if (qmgr_valid_id(id, (size_t)n) && q.suspended)
				log_info("%s: delivery suspended; kept in the "
				    "queue", id);
			else if (qmgr_valid_id(id, (size_t)n))
				pending_add(&work, id);
		}
		if (q.next_scan == 0)
			continue;	/* resumed: scan now */
		if (work.n > 0) {
			pending_run(&q, &work);
			qmgr_jobs_poll(&q, 0);
			continue;
		}
		qmgr_jobs_poll(&q, fd);
	}
	qmgr_remote_stop(&q);
	board_gauge(BG_DELIVERING, 0);
	for (i = 0; i < work.n; i++)
		free(work.ids[i]);
	free(work.ids);
	free(kick);
	SSL_CTX_free(q.node_ctx);
	log_info("queue manager stopped");
	store_close(&q.store);
	exit(0);
}
