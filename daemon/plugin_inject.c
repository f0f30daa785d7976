/*
 * plugin_inject.c - new messages that plugins queue (yh_inject, yh_copy_add):
 * built with a Received field and a hop count, refused when they loop,
 * written through the queue's own durable path.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "bounce.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include "plugin_host.h"

/* ---- injection ---------------------------------------------------------- */

/*
 * inject_received - the trace field of a message a plugin queues (RFC 5321
 * §4.4): it enters the mail system here as surely as over SMTP, so it gets
 * a Received line as SMTP mail does, and hop counts (a forward loop guard,
 * the next MTA's) see every pass.  No "from" part: nothing sent it; the
 * comment names the plugin, as Postfix names the uid of a local
 * submission.  "for" only with one recipient, as the SMTP engine does.
 */
static void
inject_received(struct buf *out, const char *qid, const char *const *rcpts,
    size_t nrcpt)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec" };
	const char *host = config_str(ph.cfg, "smtp.hostname");
	char hbuf[256], date[64];
	time_t t = (time_t)time_now();
	struct tm tm;
	long off;

	if (*host == '\0') {
		if (gethostname(hbuf, sizeof(hbuf)) == -1 || hbuf[0] == '\0')
			snprintf(hbuf, sizeof(hbuf), "localhost");
		hbuf[sizeof(hbuf) - 1] = '\0';
		host = hbuf;
	}
	if (localtime_r(&t, &tm) == NULL)
		snprintf(date, sizeof(date), "Thu, 1 Jan 1970 00:00:00 +0000");
	else {
		off = tm.tm_gmtoff / 60;
		snprintf(date, sizeof(date), "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
		    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	}
	buf_printf(out, "Received: by %s (yubin, injected by plugin %s)\n\tid %s",
	    host, ph.current ? ph.current : "core", qid);
	if (nrcpt == 1)
		buf_printf(out, " for <%s>", rcpts[0]);
	buf_printf(out, "; %s\n", date);
}

/* inject_addr_ok - RCPT is a plain address: bounded, no blanks, angle
 * brackets or control bytes (it goes into the envelope and a header). */
static int
inject_addr_ok(const char *rcpt)
{
	const unsigned char *p;

	if (rcpt == NULL || *rcpt == '\0' || strlen(rcpt) > ADDR_PATH_MAX)
		return 0;
	for (p = (const unsigned char *)rcpt; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

/*
 * inject_build - the queue file and envelope of an injected message (see
 * yh_inject), not yet committed.  0 with *Q_R and ENV, or -1 (nothing
 * left behind).
 */
static int
inject_build(const char *sender, const char *const *rcpts, size_t nrcpt,
    const void *data, size_t len, struct queue_in **q_r, struct envelope *env)
{
	struct queue_in *q;
	struct buf rcvd;
	const char *p = data, *end = p + len, *nl;
	char acct[ACCOUNT_NAME_MAX + 1];
	long long lines = 0;
	size_t i;
	int r;

	memset(env, 0, sizeof(*env));
	if (ph.cfg == NULL || ph.store == NULL || nrcpt == 0 ||
	    nrcpt > INJECT_RCPT_MAX || sender == NULL || data == NULL)
		return -1;
	for (i = 0; i < nrcpt; i++) {
		if (!inject_addr_ok(rcpts[i]))
			goto fail;
		r = addr_resolve_local(ph.cfg, ph.store, rcpts[i], acct);
		if (r == -2 || r == 0)
			goto fail;
		envelope_add_rcpt(env, rcpts[i], r == 1 ? acct : NULL);
	}
	if (queue_in_open(config_home(ph.cfg), &q) == -1)
		goto fail;
	buf_init(&rcvd, 0);
	inject_received(&rcvd, queue_in_id(q), rcpts, nrcpt);
	for (i = 0; i < rcvd.len; i++)
		lines += rcvd.data[i] == '\n';
	r = queue_in_write(q, rcvd.data, rcvd.len);
	buf_free(&rcvd);
	if (r == -1)
		goto fail_q;
	/* store with LF line ends, as the SMTP engine does */
	while (p < end) {
		size_t l;

		nl = memchr(p, '\n', (size_t)(end - p));
		l = (size_t)((nl ? nl : end) - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (queue_in_write(q, p, l) == -1 || queue_in_write(q, "\n", 1) == -1)
			goto fail_q;
		lines++;
		p = nl ? nl + 1 : end;
	}
	env->sender = xstrdup(sender);
	snprintf(env->client_ip, sizeof(env->client_ip), "local");
	snprintf(env->helo, sizeof(env->helo), "plugin-%s",
	    ph.current ? ph.current : "core");
	env->arrival = time_now();
	env->size_crlf = queue_in_size(q) + lines;
	memcpy(env->id, queue_in_id(q), sizeof(env->id));
	*q_r = q;
	return 0;
fail_q:
	queue_in_abort(&q);
fail:
	envelope_clear(env);
	return -1;
}

/* inject_loops - 1 when DATA (LEN bytes), with the trace field injection
 * puts on top, carries more than smtp.max_hops (DESIGN §10). */
static int
inject_loops(const void *data, size_t len)
{
	return header_hops(data, len) + 1 > (size_t)config_int(ph.cfg,
	    "smtp.max_hops");
}

/*
 * inject_refuse - an injected message over the hop limit (Q and ENV from
 * inject_build) is not queued: it goes back to its sender in a report,
 * as a message SMTP refused would (a forward or program that loops is
 * told, nothing vanishes); with the sender <> there is no one to tell and
 * the call fails.  Q is aborted.  0 (returned to the sender) or -1.
 */
static int
inject_refuse(struct queue_in **q, struct envelope *env, const void *data,
    size_t len)
{
	char why[128];
	int r = -1;

	snprintf(why, sizeof(why), "554 5.4.6 too many hops (%zu Received/"
	    "Delivered-To fields, limit %lld); mail loop?",
	    header_hops(data, len) + 1, config_int(ph.cfg, "smtp.max_hops"));
	log_warn("%s: not queued (plugin=%s from=<%s>): %s", env->id,
	    ph.current ? ph.current : "?", env->sender, why + 10);
	if (env->sender[0] != '\0')
		r = bounce_refused(ph.cfg, ph.store, *q, env, why);
	queue_in_abort(q);
	return r;
}

/*
 * inject_queue - build SENDER/RCPTS/DATA into a queue entry, refuse it
 * over the hop limit (inject_refuse), else commit it; with ONCE (the
 * marker "once/PLUGIN/KEY") the marker is written in the same LMDB
 * transaction.  QID (when not NULL) gets the message's id.  0 or -1.
 */
static int
inject_queue(const char *sender, const char *const *rcpts, size_t nrcpt,
    const void *data, size_t len, const struct buf *once, const char *key,
    char *qid)
{
	struct queue_in *q;
	struct envelope env;
	const char *why;
	int r;

	if (inject_build(sender, rcpts, nrcpt, data, len, &q, &env) == -1)
		return -1;
	if (inject_loops(data, len))
		r = inject_refuse(&q, &env, data, len);
	else {
		r = queue_in_commit_once(&q, &(struct envelope *){ &env }, 1,
		    ph.store, once ? once->data : NULL, once ? once->len : 0,
		    once ? time_now() + INJECT_ONCE_TTL : 0, &why);
		if (r == 0)
			log_info("%s: injected by plugin=%s from=<%s> nrcpt=%zu"
			    "%s%s", env.id, ph.current ? ph.current : "?",
			    sender, nrcpt, once ? " once=" : "", once ? key : "");
	}
	if (r == 0 && qid)
		memcpy(qid, env.id, QUEUE_ID_LEN + 1);
	envelope_clear(&env);
	return r;
}

int
yh_inject(const char *sender, const char *const *rcpts, size_t nrcpt,
    const void *data, size_t len, char *qid)
{
	return inject_queue(sender, rcpts, nrcpt, data, len, NULL, NULL, qid);
}

int
yh_inject_once(const char *key, const char *sender, const char *const *rcpts,
    size_t nrcpt, const void *data, size_t len, char *qid)
{
	struct buf once, old;
	int r;

	if (key == NULL || *key == '\0' || strlen(key) > INJECT_ONCE_MAX ||
	    ph.store == NULL)
		return -1;
	buf_init(&once, 0);
	buf_printf(&once, "once/%s/%s", ph.current ? ph.current : "?", key);
	/* a message made before: not built again (checked once more in
	 * the transaction that would queue it) */
	buf_init(&old, 16);
	r = store_get(ph.store, STORE_META, once.data, once.len, &old);
	buf_free(&old);
	if (r == 0)
		r = inject_queue(sender, rcpts, nrcpt, data, len, &once, key,
		    qid);
	buf_free(&once);
	return r;
}

int
yh_copy_add(struct yh_session *s, const char *sender, const char *const *rcpts,
    size_t nrcpt, const void *data, size_t len, char *qid)
{
	struct queue_in *q;
	struct envelope env;

	if (s == NULL || s->msg_fd == -1 || s->ncopies >= YH_COPIES_MAX)
		return -1;	/* the data hook only */
	if (inject_build(sender, rcpts, nrcpt, data, len, &q, &env) == -1)
		return -1;
	if (inject_loops(data, len)) {	/* the caller keeps it unchanged */
		log_warn("%s: copy not written (plugin=%s): over smtp.max_hops",
		    s->qid, ph.current ? ph.current : "?");
		queue_in_abort(&q);
		envelope_clear(&env);
		return -1;
	}
	s->copy_q = xrealloc(s->copy_q, (s->ncopies + 1) * sizeof(*s->copy_q));
	s->copy_env = xrealloc(s->copy_env,
	    (s->ncopies + 1) * sizeof(*s->copy_env));
	s->copy_q[s->ncopies] = q;
	s->copy_env[s->ncopies] = env;
	s->ncopies++;
	log_info("%s: copy %s written by plugin=%s from=<%s> nrcpt=%zu; "
	    "queued with the message", s->qid, env.id,
	    ph.current ? ph.current : "?", sender, nrcpt);
	if (qid)
		memcpy(qid, env.id, QUEUE_ID_LEN + 1);
	return 0;
}
