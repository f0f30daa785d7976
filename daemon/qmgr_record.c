/*
 * qmgr_record.c - the outcomes of ended jobs (qmgr_private.h): the retry
 * schedule, delay notices, bounces, and every envelope written in one LMDB
 * transaction before the finished queue files go.  Runs in the queue
 * manager, as the server user; reads no network input.
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
#include "dsn.h"
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
#include "qmgr_private.h"

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

	/* the time held does not count (envelope_age) */
	if (dwt <= 0 || envelope_age(env, now) - (since - env->arrival) < dwt ||
	    env->sender[0] == '\0')
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
	if (n > 0 && bounce_send(q->cfg, q->store, env, qpath, idx, n,
	    BOUNCE_DELAYED) == 0 &&
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
	size_t		*ok;		/* delivered recipients with NOTIFY=SUCCESS */
	int		*okkind;	/* each one's enum bounce_kind */
	size_t		 nok;
	int		 gone;		/* removed meanwhile: nothing to do */
	int		 finished;	/* nothing left: remove */
	int		 anyfail;
	unsigned char	*mine;		/* recipients whose outcome this is */
};

/* qmgr_success - recipient IDX of O is to be reported as KIND. */
static void
qmgr_success(struct outcome *o, size_t idx, int kind)
{
	o->ok[o->nok] = idx;
	o->okkind[o->nok++] = kind;
}

/* qmgr_success_send - O's success reports, one per kind. */
static void
qmgr_success_send(struct qmgr *q, struct outcome *o, const char *qpath)
{
	static const int kinds[] = { BOUNCE_DELIVERED, BOUNCE_RELAYED,
	    BOUNCE_EXPANDED };
	size_t *idx, n, i, k;

	if (o->nok == 0)
		return;
	idx = xcalloc(o->nok, sizeof(*idx));
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (i = 0, n = 0; i < o->nok; i++)
			if (o->okkind[i] == kinds[k])
				idx[n++] = o->ok[i];
		if (n > 0)
			(void)bounce_send(q->cfg, q->store, &o->env, qpath, idx,
			    n, kinds[k]);
	}
	free(idx);
}

/* qmgr_job_apply - JB's reports into ENV (the message's envelope). */
static void
qmgr_job_apply(struct qmgr *q, struct rjob *jb, struct outcome *o,
    long long now)
{
	struct envelope *env = &o->env;
	long long age = envelope_age(env, now);	/* for the expiry */
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
		o->mine[jb->idx[k]] = 1;
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
		if (cls == DLV_C_SENT) {
			board_count(BC_SENT);
			rc->state = RCPT_DONE;
			/* RFC 3461 §5.2.2: a next hop without DSN took it;
			 * with DSN it reports success itself */
			if (!m->dsn && dsn_wants(rc->notify, DSN_NOTIFY_SUCCESS))
				qmgr_success(o, jb->idx[k], BOUNCE_RELAYED);
		} else if (cls == DLV_C_PERM || expired) {
			board_count(BC_BOUNCED);
			rc->state = RCPT_FAILED;
			o->failed[o->nfailed++] = jb->idx[k];
		} else {
			board_count(BC_DEFERRED);
			rc->next_try = now + qmgr_retry_delay(q, rc->attempts);
			if (rc->next_try < q->next_scan)
				q->next_scan = rc->next_try;
		}
		/* sent out: the send log; given up: the failure log; a
		 * try to come again: the delivery detail */
		log_kmsg(cls == DLV_C_SENT ? LOG_KIND_SEND : cls == DLV_C_PERM ||
		    expired ? LOG_KIND_FAILURE : LOG_KIND_DELIVERY, LOG_LVL_INFO,
		    "%s: to=<%s> relay=%s status=%s (%s)%s%s%s delay=%llds "
		    "attempts=%d", env->id, rc->addr, m->relay[0] ? m->relay : "none",
		    expired ? "bounced" : cls <= DLV_C_LINE_ERROR ?
		    qmgr_cls_names[cls] : "?", m->text, expired ? " (" : "", why,
		    expired ? ")" : "", now - env->arrival, rc->attempts);
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
	o->mine[jb->idx[0]] = 1;
	if (!jb->got[0]) {
		memset(m, 0, sizeof(*m));
		m->cls = DLV_C_TEMP;
		snprintf(m->text, sizeof(m->text), "451 4.3.0 the delivery "
		    "agent ended without a report");
	}
	if (m->cls == DLV_C_SENT) {
		rc->state = RCPT_DONE;
		/* RFC 3461 §5.2.7: a mailing list takes the copy (its
		 * plugin drops it once sent on): expanded; any other copy
		 * a plugin dropped is not reported as delivered */
		if (dsn_wants(rc->notify, DSN_NOTIFY_SUCCESS)) {
			if (addr_is_list(q->cfg, rc->account))
				qmgr_success(o, jb->idx[0], BOUNCE_EXPANDED);
			else if (m->pref != LOCAL_DISCARDED)
				qmgr_success(o, jb->idx[0], BOUNCE_DELIVERED);
		}
		if (m->pref == LOCAL_DISCARDED)
			log_kmsg(LOG_KIND_DELIVERY, LOG_LVL_INFO,
			    "%s: to=<%s> account=%s status=discarded by plugin",
			    env->id, rc->addr, rc->account);
		else {
			board_count(BC_DELIVERED);
			log_kmsg(LOG_KIND_DELIVERY, LOG_LVL_INFO,
			    "%s: to=<%s> account=%s status=sent%s delay=%llds",
			    env->id, rc->addr, rc->account, m->pref == LOCAL_ALREADY ?
			    " (already stored)" : "", now - env->arrival);
		}
		return;
	}
	free(rc->last_error);
	rc->last_error = xstrdup(m->text);
	if (m->cls == DLV_C_PERM) {
		board_count(BC_BOUNCED);
		rc->state = RCPT_FAILED;
		o->failed[o->nfailed++] = jb->idx[0];
		log_kmsg(LOG_KIND_FAILURE, LOG_LVL_INFO,
		    "%s: to=<%s> account=%s status=refused (%s)", env->id,
		    rc->addr, rc->account, m->text);
		return;
	}
	rc->attempts++;
	board_count(BC_DEFERRED);
	if (jb->crashed && ++rc->crashes >= QUEUE_CRASH_MAX) {
		rc->state = RCPT_HELD;
		free(rc->last_error);
		rc->last_error = xasprintf("%s; held after %d crashes",
		    m->text, rc->crashes);
		log_kmsg(LOG_KIND_FAILURE, LOG_LVL_WARN,
		    "%s: to=<%s> account=%s status=held (%s) attempts=%d; "
		    "yubinctl queue flush tries it again", env->id, rc->addr,
		    rc->account, rc->last_error, rc->attempts);
		return;
	}
	rc->next_try = now + qmgr_local_delay(q, rc->attempts);
	if (rc->next_try < q->next_scan)
		q->next_scan = rc->next_try;
	log_kmsg(LOG_KIND_DELIVERY, LOG_LVL_INFO,
	    "%s: to=<%s> account=%s status=deferred (%s) attempts=%d",
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
			/* a hold, release or flush made meanwhile (yubinctl)
			 * stays: it read the envelope after our queue_get */
			(void)envelope_admin_copy(&o->env, v.data, v.len,
			    o->mine);
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
void
qmgr_done(struct qmgr *q, const char *id)
{
	if (queue_file_remove(q->home, id) == -1)
		log_err("%s: cannot remove the queue file: %s", id, strerror(errno));
	log_info("%s: removed", id);
}

/* qmgr_local_stored - local job JB left a copy in its Maildir. */
static int
qmgr_local_stored(const struct rjob *jb)
{
	return jb->local && !jb->norecord && jb->got[0] &&
	    jb->res[0].cls == DLV_C_SENT && (jb->res[0].pref == LOCAL_STORED ||
	    jb->res[0].pref == LOCAL_ALREADY);
}

/*
 * qmgr_sync_folders - fsync new/ of every Maildir that the local jobs
 * JOBS[0..N) left a copy in, each folder once (local.h): the copies are
 * on disk before their outcomes are written.  The jobs of a folder that
 * cannot be synced are marked unsynced: recorded as a temporary failure,
 * tried again, they find their copy and have it synced again.
 */
static void
qmgr_sync_folders(struct qmgr *q, struct rjob **jobs, size_t n)
{
	struct rdest **seen;
	int *bad;
	size_t i, k, ns = 0;
	char *md;

	seen = xcalloc(n, sizeof(*seen));
	bad = xcalloc(n, sizeof(*bad));
	for (i = 0; i < n; i++) {
		if (!qmgr_local_stored(jobs[i]))
			continue;
		for (k = 0; k < ns && seen[k] != jobs[i]->rd; k++)
			;
		if (k == ns) {
			seen[ns] = jobs[i]->rd;
			md = qmgr_maildir(q, jobs[i]->rd->account);
			if (maildir_sync_new(md) == -1) {
				bad[ns] = errno ? errno : EIO;
				log_err("%s: cannot sync %s/new: %s", jobs[i]->qid,
				    md, strerror(bad[ns]));
			}
			free(md);
			ns++;
		}
		if (bad[k]) {
			jobs[i]->unsynced = 1;
			snprintf(jobs[i]->res[0].text, sizeof(jobs[i]->res[0].text),
			    "451 4.3.0 mailbox folder not synced: %s",
			    strerror(bad[k]));
		}
	}
	free(seen);
	free(bad);
}

/*
 * qmgr_record - the outcomes of the jobs that ended this turn: applied to
 * their envelopes, bounces queued and dead mail kept, then every envelope
 * written (or removed) in one transaction, then the queue files of the
 * finished messages removed.
 */
void
qmgr_record(struct qmgr *q)
{
	struct record rc;
	struct outcome **outs;
	struct rjob *jb;
	char qpath[PATH_MAX];
	struct rdest **rds;
	size_t n = 0, no = 0, nrd, i, k, left;
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
	qmgr_sync_folders(q, rc.jobs, n);
	for (i = 0; i < n; i++) {
		jb = rc.jobs[i];
		/* a stored copy counts, whatever became of its message (one
		 * not synced is found and not counted when tried again) */
		if (qmgr_local_stored(jb) && jb->res[0].pref == LOCAL_STORED &&
		    usage_pending_add(jb->rd->account, jb->size_crlf) == -1)
			log_err("%s: usage of %s not counted (table full)", jb->qid,
			    jb->rd->account);
		if (jb->unsynced)
			jb->res[0].cls = DLV_C_TEMP;
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
			} else {
				outs[no]->failed = xcalloc(outs[no]->env.nrcpt,
				    sizeof(size_t));
				outs[no]->ok = xcalloc(outs[no]->env.nrcpt,
				    sizeof(size_t));
				outs[no]->okkind = xcalloc(outs[no]->env.nrcpt,
				    sizeof(int));
				outs[no]->mine = xcalloc(outs[no]->env.nrcpt, 1);
			}
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
			    o->failed, o->nfailed, BOUNCE_FAILED);
		qmgr_success_send(q, o, qpath);
		if (left > 0)
			qmgr_delay_warn(q, &o->env, qpath, now);
		if (o->finished && o->anyfail)
			(void)bounce_deadmail(q->cfg, &o->env, qpath);
	}
	rc.outs = outs;
	rc.nouts = no;
	/* a crash that undoes this sends those messages again: at least once */
	if (store_write_lazy(q->store, qmgr_record_fn, &rc) != 0) {
		log_err("queue: cannot record the delivery results of %zu "
		    "messages; they will be repeated", no);
		q->started = LLONG_MAX;	/* repeated: look for each copy */
	} else
		for (k = 0; k < no; k++) {
			struct outcome *o = outs[k];

			if (!o->gone && o->finished)
				qmgr_done(q, o->env.id);
		}
	usage_pending_clear();
	for (k = 0; k < no; k++) {
		envelope_clear(&outs[k]->env);
		free(outs[k]->failed);
		free(outs[k]->ok);
		free(outs[k]->okkind);
		free(outs[k]->mine);
		free(outs[k]);
	}
	/*
	 * Jobs of one batch often share a destination (two messages for one
	 * mailbox): take each destination once, before any is forgotten.
	 */
	rds = xcalloc(n, sizeof(*rds));
	for (i = 0, nrd = 0; i < n; i++) {
		for (k = 0; k < nrd; k++)
			if (rds[k] == rc.jobs[i]->rd)
				break;
		if (k == nrd)
			rds[nrd++] = rc.jobs[i]->rd;
		qmgr_job_free(q, rc.jobs[i]);
	}
	for (k = 0; k < nrd; k++)
		qmgr_rdest_gc(q, rds[k]);
	free(rds);
	free(outs);
	free(rc.jobs);
}
