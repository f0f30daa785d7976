/*
 * local.c - the local delivery agent and its job datagram; see local.h.
 * Runs in a process forked by the queue manager, as the server user; reads
 * no network input (the job comes from the queue manager, the message from
 * the queue), and runs the plugins' delivery hooks, which may crash or
 * hang: that costs this process, never the queue manager.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "agent.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "plugin.h"
#include "store.h"
#include "usage.h"
#include "util.h"

/* the agent's state the timeout handler reads */
static struct {
	int		 fd;
	struct dlv_msg	 tmo;	/* the report of a hook that times out now */
} L;

/* local_send - one report; a queue manager that is gone ends us. */
static void
local_send(const struct dlv_msg *m)
{
	ssize_t n;

	do
		n = send(L.fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(*m))
		_exit(3);
}

/* safe_cat - S appended to the text of L.tmo; async-signal-safe. */
static void
safe_cat(const char *s)
{
	size_t o = 0;

	while (o + 1 < sizeof(L.tmo.text) && L.tmo.text[o])
		o++;
	while (*s && o + 1 < sizeof(L.tmo.text))
		L.tmo.text[o++] = *s++;
	L.tmo.text[o] = '\0';
}

/*
 * local_on_timeout - a hook ran past server.hook_timeout (called from the
 * SIGALRM handler, plugin.c): the prepared report, naming the hook, and
 * the end of this process.  Async-signal-safe only; never returns.
 */
static void
local_on_timeout(const char *plugin, const char *hook)
{
	safe_cat(" (plugin=");
	safe_cat(plugin);
	safe_cat(" hook=");
	safe_cat(hook);
	safe_cat(" timed out)");
	(void)send(L.fd, &L.tmo, sizeof(L.tmo), MSG_NOSIGNAL);
	_exit(4);
}

/* local_set - M gets class CLS, kind KIND and TEXT (printf). */
static void
local_set(struct dlv_msg *m, int cls, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
local_set(struct dlv_msg *m, int cls, int kind, const char *fmt, ...)
{
	va_list ap;

	m->cls = (uint32_t)cls;
	m->pref = kind;
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
}

/*
 * local_job - deliver J: the deliver chain, the Maildir (durably), the
 * delivered chain; then its report.
 */
static void
local_job(const struct local_job *j)
{
	struct yh_delivery d;
	struct dlv_msg m;
	char stored[PATH_MAX], trace[MAILDIR_TRACE_MAX];
	size_t tl;
	unsigned flags;
	int n, hr = YH_DECLINED;

	memset(&m, 0, sizeof(m));
	m.version = DLV_PROTO_VERSION;
	m.type = DLV_MSG_RCPT;
	m.idx = (uint32_t)j->idx;
	plugins_set_qid(j->qid);
	usage_fixed_set(j->account, j->usage_count, j->usage_bytes);
	hook_delivery_init(&d);
	d.qid = j->qid;
	d.sender = j->sender;
	d.rcpt = j->rcpt;
	d.account = j->account;
	d.client_ip = j->client_ip;
	d.auth_user = j->auth_user;
	d.path = j->qpath;
	d.size = j->size;
	L.tmo = m;
	local_set(&L.tmo, DLV_C_TEMP, LOCAL_NONE, "451 4.3.0 delivery deferred");
	if (plugins_any(HP_DELIVER))
		hr = plugin_deliver(&d);
	if (hr == YH_DISCARD) {
		local_set(&m, DLV_C_SENT, LOCAL_DISCARDED, "250 2.0.0 discarded");
		goto out;
	}
	if (hr == YH_DENY || hr == YH_DENYSOFT || hr == YH_DISCONNECT) {
		int soft = hr == YH_DENYSOFT;

		local_set(&m, soft ? DLV_C_TEMP : DLV_C_PERM, LOCAL_NONE,
		    "%d %s %s", d.reply_code ? d.reply_code : soft ? 451 : 550,
		    d.reply_enh[0] ? d.reply_enh : soft ? "4.7.1" : "5.7.1",
		    d.reply_text[0] ? d.reply_text : "refused by policy");
		goto out;
	}
	/* the queue manager counted these lines in j->size and j->size_crlf */
	if ((tl = maildir_trace(j->sender, j->rcpt, trace, sizeof(trace))) == 0) {
		local_set(&m, DLV_C_PERM, LOCAL_NONE,
		    "554 5.6.0 envelope address unfit for Return-Path/Delivered-To");
		goto out;
	}
	/* delivered hooks are told the copy is stored for good: the folder
	 * is synced here; else the queue manager syncs it (local.h) */
	flags = (j->first ? MAILDIR_FIRST : 0) |
	    (plugins_any(HP_DELIVERED) ? 0 : MAILDIR_NOSYNC);
	n = maildir_deliver(j->maildir, j->qpath, j->qid, (unsigned)j->idx,
	    trace, tl, j->size, j->size_crlf, flags, stored, sizeof(stored));
	if (n == -1 && errno == ENOENT && maildir_create(j->maildir) == 0)
		/* the account folder exists but not its Maildir: made */
		n = maildir_deliver(j->maildir, j->qpath, j->qid,
		    (unsigned)j->idx, trace, tl, j->size, j->size_crlf, flags,
		    stored, sizeof(stored));
	if (n == -1) {
		local_set(&m, DLV_C_TEMP, LOCAL_NONE, "451 4.3.0 mailbox: %s",
		    strerror(errno));
		goto out;
	}
	local_set(&m, DLV_C_SENT, n == 1 ? LOCAL_STORED : LOCAL_ALREADY,
	    "250 2.0.0 stored");
	if (n == 1 && plugins_any(HP_DELIVERED)) {
		/* stored for good (maildir_deliver synced new/): a timeout from
		 * here on still reports the copy */
		L.tmo = m;
		d.path = stored;
		if (d.fd != -1)
			close(d.fd);
		d.fd = -1;
		d.hdr_loaded = 0;
		plugin_delivered(&d);
	}
out:
	hook_delivery_free(&d);
	usage_fixed_set(NULL, 0, 0);
	plugins_set_qid("");
	local_send(&m);
}

void
local_agent(int fd, const struct config *cfg, char *trace, size_t tracesize)
{
	static char in[LOCAL_JOB_MAX];
	struct local_job j;
	struct dlv_msg end;
	struct store *st;
	const char *why;
	char *sdir;
	ssize_t len;

	prctl(PR_SET_NAME, "yubind-local");
	/* a restarted queue manager delivers again: never two of us at once */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	L.fd = fd;
	/* our own environment: the queue manager's is never used here (and
	 * never closed: that would drop this process's LMDB locks) */
	sdir = xasprintf("%s/state", config_home(cfg));
	if (store_open(&st, sdir, &why) == -1) {
		log_err("local delivery agent: %s: %s", sdir, why);
		_exit(3);
	}
	free(sdir);
	plugins_child_init(st, cfg, trace, tracesize);
	plugins_process_init(YH_PROC_LOCAL_AGENT);
	plugins_on_timeout(local_on_timeout);
	memset(&end, 0, sizeof(end));
	end.version = DLV_PROTO_VERSION;
	end.type = DLV_MSG_END;
	for (;;) {
		len = recv(fd, in, sizeof(in), 0);
		if (len == -1 && errno == EINTR)
			continue;
		if (len <= 0)
			break;		/* the queue manager closed: done */
		if (local_job_decode(&j, in, (size_t)len) == -1)
			_exit(3);	/* it reads as "ended without a report" */
		local_job(&j);
		local_send(&end);
	}
	store_close(&st);
	_exit(0);
}

/*
 * The job datagram: "YDL1", then qid, qpath, sender, rcpt, account,
 * client_ip, auth_user, maildir (strings: u32 length, the bytes, NUL),
 * size and size_crlf (i64), idx and first (u32), and last the usage count
 * and bytes (i64), filled in when the job is sent.  Host order: both ends are this
 * program.
 */
static void
put_str(struct buf *b, const char *s)
{
	uint32_t len = (uint32_t)strlen(s);

	buf_append(b, &len, sizeof(len));
	buf_append(b, s, (size_t)len + 1);
}

int
local_job_encode(const struct local_job *j, struct buf *out)
{
	int64_t v[2] = { j->size, j->size_crlf }, u[2] = { 0, 0 };
	uint32_t idx[2] = { (uint32_t)j->idx, j->first ? 1 : 0 };

	buf_reset(out);
	buf_append(out, "YDL1", 4);
	put_str(out, j->qid);
	put_str(out, j->qpath);
	put_str(out, j->sender);
	put_str(out, j->rcpt);
	put_str(out, j->account);
	put_str(out, j->client_ip);
	put_str(out, j->auth_user);
	put_str(out, j->maildir);
	buf_append(out, v, sizeof(v));
	buf_append(out, idx, sizeof(idx));
	buf_append(out, u, sizeof(u));
	return out->len > LOCAL_JOB_MAX ? -1 : 0;
}

void
local_job_usage(void *p, size_t len, long long count, long long bytes)
{
	int64_t u[2] = { count, bytes };

	if (len >= 4 + sizeof(u))
		memcpy((char *)p + len - sizeof(u), u, sizeof(u));
}

/* get_str - the next string of P[*OFF..LEN), or NULL when malformed. */
static const char *
get_str(char *p, size_t len, size_t *off)
{
	uint32_t n;
	const char *s;

	if (len - *off < sizeof(n))
		return NULL;
	memcpy(&n, p + *off, sizeof(n));
	*off += sizeof(n);
	if (len - *off < (size_t)n + 1 || p[*off + n] != '\0' ||
	    memchr(p + *off, '\0', n) != NULL)
		return NULL;
	s = p + *off;
	*off += (size_t)n + 1;
	return s;
}

int
local_job_decode(struct local_job *j, char *p, size_t len)
{
	const char **f[8];
	int64_t v[2], u[2];
	uint32_t idx[2];
	size_t off = 4, i;

	memset(j, 0, sizeof(*j));
	if (len < 4 || memcmp(p, "YDL1", 4) != 0)
		return -1;
	f[0] = &j->qid;
	f[1] = &j->qpath;
	f[2] = &j->sender;
	f[3] = &j->rcpt;
	f[4] = &j->account;
	f[5] = &j->client_ip;
	f[6] = &j->auth_user;
	f[7] = &j->maildir;
	for (i = 0; i < 8; i++)
		if ((*f[i] = get_str(p, len, &off)) == NULL)
			return -1;
	if (len - off != sizeof(v) + sizeof(idx) + sizeof(u))
		return -1;
	memcpy(v, p + off, sizeof(v));
	off += sizeof(v);
	memcpy(idx, p + off, sizeof(idx));
	off += sizeof(idx);
	memcpy(u, p + off, sizeof(u));
	j->size = v[0];
	j->size_crlf = v[1];
	j->idx = idx[0];
	j->first = idx[1] == 1;
	j->usage_count = u[0];
	j->usage_bytes = u[1];
	if (*j->qid == '\0' || *j->account == '\0' || *j->maildir == '\0' ||
	    j->size < 0 || j->size_crlf < 0 || idx[1] > 1)
		return -1;
	return 0;
}
