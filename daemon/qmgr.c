/*
 * qmgr.c - queue manager process; see qmgr.h.  Runs as the server user,
 * never reads network input (the notification socket carries only queue ids
 * from our own workers, and a malformed one is ignored).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "maildir.h"
#include "paths.h"
#include "plugin.h"
#include "qmgr.h"
#include "queue.h"
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

struct qmgr {
	const struct config	*cfg;
	struct store		*store;
	const char		*home;
	long long		 next_scan;
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

enum dlv_result {
	DLV_DONE,		/* stored (or discarded by a plugin) */
	DLV_RETRY,		/* try again later */
	DLV_FAILED,		/* refused for good */
};

/*
 * qmgr_deliver_local - one local recipient: the deliver hook chain, the
 * Maildir, the delivered chain.  *ERR_R (owned) says why on RETRY/FAILED.
 */
static enum dlv_result
qmgr_deliver_local(struct qmgr *q, const struct envelope *env, size_t idx,
    const char *qpath, char *stored, size_t storedsize, char **err_r)
{
	const struct env_rcpt *r = &env->rcpt[idx];
	struct yh_delivery d;
	char *dir, *md;
	int n, hr = YH_DECLINED;

	yh_delivery_init(&d);
	d.qid = env->id;
	d.sender = env->sender;
	d.rcpt = r->addr;
	d.account = r->account;
	d.client_ip = env->client_ip;
	d.auth_user = env->auth_user;
	d.path = qpath;
	d.size = env->size;
	if (plugins_any(HP_DELIVER))
		hr = plugin_deliver(&d);
	if (hr == YH_DENY || hr == YH_DENYSOFT || hr == YH_DISCONNECT ||
	    hr == YH_DISCARD) {
		int soft = hr == YH_DENYSOFT;

		if (hr == YH_DISCARD) {
			log_info("%s: to=<%s> account=%s status=discarded by plugin",
			    env->id, r->addr, r->account);
			yh_delivery_free(&d);
			return DLV_DONE;
		}
		*err_r = xasprintf("%d %s %s", d.reply_code ? d.reply_code :
		    soft ? 451 : 550, d.reply_enh[0] ? d.reply_enh :
		    soft ? "4.7.1" : "5.7.1", d.reply_text[0] ? d.reply_text :
		    "refused by policy");
		log_info("%s: to=<%s> account=%s status=%s (%s)", env->id, r->addr,
		    r->account, soft ? "deferred" : "refused", *err_r);
		yh_delivery_free(&d);
		return soft ? DLV_RETRY : DLV_FAILED;
	}
	dir = paths_account_dir(q->cfg, r->account);
	md = xasprintf("%s/Maildir", dir);
	n = maildir_deliver_nosync(md, qpath, env->id, (unsigned)idx, env->size,
	    env->size_crlf, stored, storedsize);
	if (n == -1 && errno == ENOENT) {
		/* the account folder exists but not its Maildir: make it */
		if (maildir_create(md) == 0)
			n = maildir_deliver_nosync(md, qpath, env->id,
			    (unsigned)idx, env->size, env->size_crlf, stored,
			    storedsize);
	}
	if (n == -1) {
		*err_r = xasprintf("451 4.3.0 mailbox: %s", strerror(errno));
		log_warn("%s: to=<%s> account=%s status=deferred (%s)", env->id,
		    r->addr, r->account, strerror(errno));
	} else
		log_info("%s: to=<%s> account=%s status=sent%s delay=%llds",
		    env->id, r->addr, r->account, n == 0 ? " (already stored)" : "",
		    time_now() - env->arrival);
	if (n == 1 && plugins_any(HP_DELIVERED)) {
		/* the program may read it at once: make the name durable first */
		char *newdir = xasprintf("%s/new", md);

		if (fsync_dir(newdir) == -1)
			log_err("fsync %s: %s", newdir, strerror(errno));
		free(newdir);
		d.path = stored;
		if (d.fd != -1)
			close(d.fd);
		d.fd = -1;
		d.hdr_loaded = 0;
		plugin_delivered(&d);
	}
	if (n != 1)
		stored[0] = '\0';	/* nothing new to sync or count */
	yh_delivery_free(&d);
	free(md);
	free(dir);
	return n == -1 ? DLV_RETRY : DLV_DONE;
}

/*
 * Batches.  The queue manager delivers up to QMGR_BATCH queue entries, then
 * makes them durable together: one fsync per Maildir that received mail,
 * then one LMDB transaction that removes the finished envelopes, updates
 * the others and counts usage, then the queue files of the finished ones
 * are unlinked.  A crash anywhere in between repeats deliveries whose names
 * are already in the Maildir, which maildir_deliver turns into no-ops.
 */
#define QMGR_BATCH	64
#define QMGR_DIRS_MAX	QMGR_BATCH	/* distinct Maildirs per batch */

struct entry {
	struct envelope	 env;
	int		 changed;	/* envelope must be rewritten */
	int		 finished;	/* every recipient done or failed */
	long long	 stored_count;	/* per account usage is added in txn */
};

struct batch {
	struct entry	 e[QMGR_BATCH];
	size_t		 n;
	char		*dirs[QMGR_DIRS_MAX];	/* Maildir new/ to fsync */
	size_t		 ndirs;
	/* usage deltas: account, count, bytes */
	struct {
		char	*account;
		long long count, bytes;
	} use[QMGR_BATCH * 4];
	size_t		 nuse;
};

static void
batch_dir(struct batch *b, const char *maildir)
{
	char *d = xasprintf("%s/new", maildir);
	size_t i;

	for (i = 0; i < b->ndirs; i++)
		if (strcmp(b->dirs[i], d) == 0) {
			free(d);
			return;
		}
	if (b->ndirs == QMGR_DIRS_MAX) {
		/* full: sync this one now rather than remember it */
		if (fsync_dir(d) == -1)
			log_err("fsync %s: %s", d, strerror(errno));
		free(d);
		return;
	}
	b->dirs[b->ndirs++] = d;
}

static void
batch_use(struct batch *b, const char *account, long long bytes)
{
	size_t i;

	for (i = 0; i < b->nuse; i++)
		if (strcmp(b->use[i].account, account) == 0) {
			b->use[i].count++;
			b->use[i].bytes += bytes;
			return;
		}
	if (b->nuse == sizeof(b->use) / sizeof(b->use[0]))
		return;		/* cannot happen: at most one per recipient */
	b->use[b->nuse].account = xstrdup(account);
	b->use[b->nuse].count = 1;
	b->use[b->nuse].bytes = bytes;
	b->nuse++;
}

/* qmgr_entry - deliver what is due of queue entry ID into batch slot E.
 * 1 when E holds an envelope, 0 when there is nothing to do. */
static int
qmgr_entry(struct qmgr *q, struct batch *b, const char *id, struct entry *e)
{
	struct envelope *env = &e->env;
	char qpath[PATH_MAX], stored[PATH_MAX];
	long long now = time_now(), delay;
	size_t i, pending = 0;
	enum dlv_result dr;
	char *err;

	memset(e, 0, sizeof(*e));
	if (queue_get(q->store, id, env) != 1)
		return 0;
	if (queue_path(q->home, id, qpath, sizeof(qpath)) == -1 ||
	    env->release_at > now) {
		envelope_clear(env);
		return 0;
	}
	plugins_set_qid(id);
	for (i = 0; i < env->nrcpt && !qmgr_stop; i++) {
		struct env_rcpt *rc = &env->rcpt[i];

		if (rc->state != RCPT_PENDING)
			continue;
		if (rc->account == NULL || rc->next_try > now) {
			/* remote recipients wait for the outbound agents */
			pending++;
			continue;
		}
		err = NULL;
		stored[0] = '\0';
		dr = qmgr_deliver_local(q, env, i, qpath, stored, sizeof(stored),
		    &err);
		if (err) {
			free(rc->last_error);
			rc->last_error = err;
		}
		if (dr == DLV_DONE) {
			rc->state = RCPT_DONE;
			if (stored[0]) {
				char *md = paths_account_dir(q->cfg, rc->account);
				char *mdir = xasprintf("%s/Maildir", md);

				batch_dir(b, mdir);
				batch_use(b, rc->account, env->size_crlf);
				/* the next quota check sees it before the commit */
				plugins_usage_pending(rc->account, 1,
				    env->size_crlf);
				free(mdir);
				free(md);
			}
		} else if (dr == DLV_FAILED) {
			rc->state = RCPT_FAILED;
		} else {
			rc->attempts++;
			delay = config_int(q->cfg, "queue.retry_interval");
			delay <<= rc->attempts < 8 ? rc->attempts - 1 : 7;
			if (delay > QMGR_RETRY_MAX)
				delay = QMGR_RETRY_MAX;
			rc->next_try = now + delay;
			pending++;
		}
		e->changed = 1;
	}
	plugins_set_qid("");
	e->finished = pending == 0 && !qmgr_stop;
	return 1;
}

static int
qmgr_commit_fn(struct store_txn *txn, void *ctx)
{
	struct batch *b = ctx;
	struct buf rec;
	size_t i;
	int r = 0;

	buf_init(&rec, 0);
	for (i = 0; i < b->n && r == 0; i++) {
		struct entry *e = &b->e[i];

		if (e->finished)
			r = store_tdel(txn, STORE_QUEUE, e->env.id,
			    strlen(e->env.id)) == -1 ? -1 : 0;
		else if (e->changed) {
			envelope_encode(&e->env, &rec);
			r = store_tput(txn, STORE_QUEUE, e->env.id,
			    strlen(e->env.id), rec.data, rec.len, 0);
		}
	}
	for (i = 0; i < b->nuse && r == 0; i++)
		r = usage_add_txn(txn, b->use[i].account, b->use[i].count,
		    b->use[i].bytes, "received");
	buf_free(&rec);
	return r;
}

/* qmgr_batch - deliver the entries IDS[0..N), then make it all durable. */
static void
qmgr_batch(struct qmgr *q, char **ids, size_t n)
{
	static struct batch b;
	char qpath[PATH_MAX];
	size_t i;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < n && b.n < QMGR_BATCH; i++)
		if (qmgr_entry(q, &b, ids[i], &b.e[b.n]))
			b.n++;
	for (i = 0; i < b.ndirs; i++) {
		if (fsync_dir(b.dirs[i]) == -1)
			log_err("fsync %s: %s", b.dirs[i], strerror(errno));
		free(b.dirs[i]);
	}
	if (b.n > 0 && store_write(q->store, qmgr_commit_fn, &b) != 0)
		log_err("queue: cannot record a batch of %zu entries; they will "
		    "be retried (deliveries already made are not repeated)", b.n);
	else {
		for (i = 0; i < b.n; i++) {
			if (!b.e[i].finished)
				continue;
			if (queue_path(q->home, b.e[i].env.id, qpath,
			    sizeof(qpath)) == 0 && unlink(qpath) == -1 &&
			    errno != ENOENT)
				log_err("%s: cannot remove %s: %s", b.e[i].env.id,
				    qpath, strerror(errno));
			log_info("%s: removed", b.e[i].env.id);
		}
	}
	plugins_usage_pending_clear();
	for (i = 0; i < b.n; i++)
		envelope_clear(&b.e[i].env);
	for (i = 0; i < b.nuse; i++)
		free(b.use[i].account);
}

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

void
qmgr_main(const struct config *cfg, char *trace, size_t tracesize)
{
	struct sigaction sa;
	struct pollfd pfd;
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
	sdir = xasprintf("%s/state", q.home);
	if (store_open(&q.store, sdir, &why) == -1)
		log_fatal("queue manager: %s: %s", sdir, why);
	free(sdir);
	plugins_child_init(q.store, cfg, trace, tracesize);
	fd = qmgr_socket(q.home);
	kick = xasprintf("%s/run/qmgr.kick", q.home);
	interval = config_int(cfg, "queue.retry_interval");
	if (interval < 1)
		interval = 1;
	log_info("queue manager started");
	qmgr_orphans(&q);
	memset(&work, 0, sizeof(work));
	while (!qmgr_stop) {
		/* a scan: at start, every retry interval, when a worker could
		 * not reach our socket, and when the work list overflowed */
		if (time_now() >= q.next_scan || unlink(kick) == 0 ||
		    (work.overflow && work.n == 0)) {
			work.overflow = 0;
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
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		(void)poll(&pfd, fd == -1 ? 0 : 1, 1000);
	}
	for (i = 0; i < work.n; i++)
		free(work.ids[i]);
	free(work.ids);
	free(kick);
	log_info("queue manager stopped");
	store_close(&q.store);
	exit(0);
}
