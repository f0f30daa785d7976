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
    const char *qpath, char **err_r)
{
	const struct env_rcpt *r = &env->rcpt[idx];
	struct yh_delivery d;
	char stored[PATH_MAX];
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
	n = maildir_deliver(md, qpath, env->id, (unsigned)idx, env->size,
	    env->size_crlf, stored, sizeof(stored));
	if (n == -1 && errno == ENOENT) {
		/* the account folder exists but not its Maildir: make it */
		if (maildir_create(md) == 0)
			n = maildir_deliver(md, qpath, env->id, (unsigned)idx,
			    env->size, env->size_crlf, stored, sizeof(stored));
	}
	if (n == -1) {
		*err_r = xasprintf("451 4.3.0 mailbox: %s", strerror(errno));
		log_warn("%s: to=<%s> account=%s status=deferred (%s)", env->id,
		    r->addr, r->account, strerror(errno));
	} else
		log_info("%s: to=<%s> account=%s status=sent%s delay=%llds",
		    env->id, r->addr, r->account, n == 0 ? " (already stored)" : "",
		    time_now() - env->arrival);
	if (n == 1 && usage_add(q->store, r->account, 1, env->size_crlf,
	    "received") == -1)
		log_warn("%s: account=%s usage not updated", env->id, r->account);
	if (n == 1 && plugins_any(HP_DELIVERED)) {
		d.path = stored;
		if (d.fd != -1)
			close(d.fd);
		d.fd = -1;
		d.hdr_loaded = 0;
		plugin_delivered(&d);
	}
	yh_delivery_free(&d);
	free(md);
	free(dir);
	return n == -1 ? DLV_RETRY : DLV_DONE;
}

/* qmgr_run_one - deliver what is due of queue entry ID. */
static int
qmgr_run_one(void *ctx, const char *id)
{
	struct qmgr *q = ctx;
	struct envelope env;
	char qpath[PATH_MAX];
	long long now = time_now(), delay;
	size_t i, pending = 0;
	enum dlv_result dr;
	char *err;
	int changed = 0, r;

	r = queue_get(q->store, id, &env);
	if (r != 1)
		return 0;
	if (queue_path(q->home, id, qpath, sizeof(qpath)) == -1) {
		envelope_clear(&env);
		return 0;
	}
	if (env.release_at > now) {
		envelope_clear(&env);
		return 0;
	}
	for (i = 0; i < env.nrcpt && !qmgr_stop; i++) {
		struct env_rcpt *rc = &env.rcpt[i];

		if (rc->state != RCPT_PENDING)
			continue;
		if (rc->account == NULL) {
			/* remote: waits for the outbound delivery agents */
			pending++;
			continue;
		}
		if (rc->next_try > now) {
			pending++;
			continue;
		}
		plugins_set_qid(id);
		err = NULL;
		dr = qmgr_deliver_local(q, &env, i, qpath, &err);
		plugins_set_qid("");
		if (err) {
			free(rc->last_error);
			rc->last_error = err;
		}
		if (dr == DLV_DONE) {
			rc->state = RCPT_DONE;
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
		changed = 1;
	}
	if (pending == 0 && !qmgr_stop) {
		if (queue_remove(q->store, q->home, id) == -1)
			log_err("%s: cannot remove the queue entry", id);
		else
			log_info("%s: removed", id);
	} else if (changed && queue_update(q->store, &env) == -1)
		log_err("%s: cannot update the envelope", id);
	envelope_clear(&env);
	return 0;
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
	struct qmgr q;
	const char *why;
	char *sdir;
	char id[64];
	ssize_t n;
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
	interval = config_int(cfg, "queue.retry_interval");
	if (interval < 1)
		interval = 1;
	log_info("queue manager started");
	qmgr_orphans(&q);
	while (!qmgr_stop) {
		if (time_now() >= q.next_scan) {
			queue_each(q.store, qmgr_run_one, &q);
			q.next_scan = time_now() + interval;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, fd == -1 ? 0 : 1, 1000) <= 0)
			continue;
		while (!qmgr_stop &&
		    (n = recv(fd, id, sizeof(id) - 1, MSG_DONTWAIT)) > 0) {
			id[n] = '\0';
			if (qmgr_valid_id(id, (size_t)n))
				qmgr_run_one(&q, id);
		}
	}
	log_info("queue manager stopped");
	store_close(&q.store);
	exit(0);
}
