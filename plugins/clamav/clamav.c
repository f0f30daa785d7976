/*
 * clamav - scan every received message with clamd (DESIGN §13, SEEDS §20:
 * F120 virus scan and refusal, F121 notification).
 *
 * At the end of DATA the message, as it will be stored, is streamed to
 * clamd with zINSTREAM (clamd.c).  Its verdict:
 *   clean            the chain goes on (YH_DECLINED)
 *   NAME FOUND       554 5.7.1 naming the signature; with `keep` a copy
 *                    goes to HOME/viruslog/QUEUEID; with `notify` a notice
 *                    is queued (notify.c)
 *   no verdict       clamd down, too slow, closed mid-stream, ERROR or an
 *                    answer that makes no sense: 451 4.7.1, or with
 *                    on_error = accept the message passes unscanned
 * One log line per scan: result, signature, bytes scanned, milliseconds.
 * Authenticated and local-submission mail is scanned too (the seed scans
 * everything); only clients in `exempt` are not.
 *
 * A message longer than `max_size` is scanned in its first max_size bytes
 * only (as clamav-milter does with clamd's StreamMaxLength): set
 * max_size to clamd's StreamMaxLength or less, since clamd refuses a
 * longer stream with an ERROR (451 here).  The log line says partial=1.
 *
 * [plugin clamav]
 *   socket = /var/run/clamav/clamd.ctl   clamd: PATH (Unix) or HOST:PORT
 *   keep = 0             1: copy infected mail to HOME/viruslog/QUEUEID
 *   keep_max = 1000      files viruslog may hold before copies stop (0: no
 *                        limit)
 *   on_error = tempfail  or accept
 *   notify = LIST        addresses and &TO &FROM &RCV &SND: the first
 *                        becomes the notice's To:, the rest Cc:
 *   notify_from = ADDR   the notice's sender (postmaster@server.domain)
 *   exempt = LIST        IP, IP/N: clients whose mail is not scanned
 *   timeout = 30s        for the whole scan (cut to server.hook_timeout
 *                        less one second)
 *   max_size = 25M       bytes streamed to clamd
 *
 * A notice is never made for a message that is itself automatic (it
 * carries X-Yubin-Notice or an Auto-Submitted other than "no"), so
 * notices cannot feed each other; it never goes to <> or to an address
 * that is not valid.  A notice is queued with yh_inject, as a new
 * message, and is not scanned (it holds no part of the infected mail).
 *
 * init() runs as root in the master and only reads keys (and resolves a
 * clamd host name); init_process() asks clamd for PING in each SMTP
 * worker and logs when it does not answer (start is never refused for
 * that); the data hook runs in SMTP workers as the server user.  This
 * plugin must never log a client byte unescaped, never wait for clamd past
 * its deadline, never follow a link in viruslog, and never lose a message
 * it passes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "../lib/plugutil.h"
#include "clamav.h"

#define CV_WHERE_MAX	1024			/* "FILE:LINE" */
#define CV_ESC_MAX	(4 * CV_ADDR_MAX + 4)	/* an address escaped */
#define CV_PING_MAX_MS	5000LL			/* start-up PING: not longer */
#define CV_HOOK_MARGIN_MS 1000LL		/* kept from server.hook_timeout */
#define CV_PATH_MAX	4096

struct cv_conf {
	struct cv_sock	 sock;
	int		 keep;
	long long	 keep_max;	/* 0: no limit */
	int		 accept_on_error;
	char		**notify;	/* the words of `notify` */
	size_t		 nnotify;
	char		 from[CV_ADDR_MAX];	/* notify_from */
	struct pu_net	*nets;		/* exempt clients */
	size_t		 nnets;
	long long	 timeout_ms;	/* the whole scan */
	long long	 max_size;
};

static struct cv_conf *cv;	/* the generation in use */

/* ---- configuration -------------------------------------------------------- */

static void
conf_free(struct cv_conf **cp)
{
	struct cv_conf *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nnotify; i++)
		free(c->notify[i]);
	free(c->notify);
	free(c->nets);
	free(c);
	*cp = NULL;
}

/* key_where - "FILE:LINE" (or "-D") where KEY is set, into OUT. */
static const char *
key_where(const struct yh_config *cfg, const char *key, char *out,
    size_t size)
{
	return pu_key_where(cfg, key, "[plugin clamav]", out, size);
}

/* bad_value - one load error for KEY's VALUE. */
static void
bad_value(const struct yh_config *cfg, const char *key, const char *value,
    const char *why)
{
	char where[CV_WHERE_MAX], esc[CV_ESC_MAX];

	yh_error("%s: [plugin clamav] %s: '%s': %s",
	    key_where(cfg, key, where, sizeof(where)), key,
	    yh_escape(esc, sizeof(esc), value, strlen(value)), why);
}

/* exempt_load - `exempt` into C.  The number of errors. */
static unsigned
exempt_load(const struct yh_config *cfg, struct cv_conf *c)
{
	const char *const *words;
	size_t n, i;
	unsigned errors = 0;

	n = yh_config_list(cfg, "exempt", &words);
	if (n > 0 && (c->nets = calloc(n, sizeof(*c->nets))) == NULL) {
		yh_error("[plugin clamav] out of memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (pu_net_parse(words[i], &c->nets[c->nnets]) == 0)
			c->nnets++;
		else {
			bad_value(cfg, "exempt", words[i], "not an IP or IP/N");
			errors++;
		}
	}
	return errors;
}

/* notify_load - `notify` and `notify_from` into C.  The number of errors. */
static unsigned
notify_load(const struct yh_config *cfg, struct cv_conf *c)
{
	const char *const *words, *v;
	size_t n, i;
	unsigned errors = 0;
	int r;

	n = yh_config_list(cfg, "notify", &words);
	if (n > 0 && (c->notify = calloc(n, sizeof(*c->notify))) == NULL) {
		yh_error("[plugin clamav] out of memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		switch (cv_target_parse(words[i])) {
		case CV_T_BAD:
			bad_value(cfg, "notify", words[i], "not &TO, &FROM, "
			    "&RCV or &SND");
			errors++;
			continue;
		case CV_T_ADDR:
			if (!yh_addr_valid(words[i])) {
				bad_value(cfg, "notify", words[i],
				    "not an address (local@domain)");
				errors++;
				continue;
			}
			break;
		default:
			break;
		}
		if ((c->notify[c->nnotify] = strdup(words[i])) == NULL) {
			yh_error("[plugin clamav] out of memory");
			return errors + 1;
		}
		c->nnotify++;
	}
	if ((v = yh_config_str(cfg, "notify_from")) != NULL) {
		if (!yh_addr_valid(v) ||
		    pu_scopy(c->from, sizeof(c->from), v) == -1) {
			bad_value(cfg, "notify_from", v,
			    "not an address (local@domain)");
			errors++;
		}
		return errors;
	}
	v = yh_server_get("server.domain");
	r = snprintf(c->from, sizeof(c->from), "postmaster@%s",
	    v && *v ? v : "localhost");
	if (r < 0 || (size_t)r >= sizeof(c->from) || !yh_addr_valid(c->from)) {
		yh_error("[plugin clamav] notify_from: postmaster@server.domain "
		    "is not an address: set notify_from");
		errors++;
	}
	return errors;
}

/* timeout_cut - TIMEOUT (ms) cut so that the scan ends before
 * server.hook_timeout abandons the hook. */
static long long
timeout_cut(long long timeout)
{
	const char *v = yh_server_get("server.hook_timeout");
	long long hook = v ? strtoll(v, NULL, 10) * 1000 : 30000;

	if (hook - CV_HOOK_MARGIN_MS < timeout)
		timeout = hook - CV_HOOK_MARGIN_MS;
	return timeout < 500 ? 500 : timeout;
}

static const struct yh_key cv_keys[] = {
	{ "socket",	YH_KEY_STRING,	 "/var/run/clamav/clamd.ctl", 0, 0 },
	{ "keep",	YH_KEY_BOOL,	 "0", 0, 0 },
	{ "keep_max",	YH_KEY_INT,	 "1000", 0, 10000000 },
	{ "on_error",	YH_KEY_STRING,	 "tempfail", 0, 0 },
	{ "notify",	YH_KEY_LIST,	 NULL, 0, 0 },
	{ "notify_from", YH_KEY_STRING,	 NULL, 0, 0 },
	{ "exempt",	YH_KEY_LIST,	 NULL, 0, 0 },
	{ "timeout",	YH_KEY_DURATION, "30s", 100LL, 3600000LL },
	{ "max_size",	YH_KEY_SIZE,	 "25M", 1024LL, 2147483647LL },
	{ NULL, 0, NULL, 0, 0 }
};

/* cv_init - the next generation, read aside; the running one untouched. */
static int
cv_init(const struct yh_config *cfg, void **gen)
{
	struct cv_conf *c;
	const char *v, *why;
	unsigned errors = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		yh_error("[plugin clamav] out of memory");
		return -1;
	}
	v = yh_config_str(cfg, "socket");
	if (cv_sock_parse(v, &c->sock, &why) == -1) {
		bad_value(cfg, "socket", v ? v : "", why);
		errors++;
	}
	c->keep = yh_config_bool(cfg, "keep");
	c->keep_max = yh_config_int(cfg, "keep_max");
	v = yh_config_str(cfg, "on_error");
	if (v != NULL && strcmp(v, "accept") == 0)
		c->accept_on_error = 1;
	else if (v == NULL || strcmp(v, "tempfail") != 0) {
		bad_value(cfg, "on_error", v ? v : "", "not tempfail or accept");
		errors++;
	}
	c->timeout_ms = timeout_cut(yh_config_duration(cfg, "timeout"));
	c->max_size = yh_config_size(cfg, "max_size");
	errors += exempt_load(cfg, c);
	errors += notify_load(cfg, c);
	if (errors > 0) {
		conf_free(&c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
cv_commit(void *gen)
{
	conf_free(&cv);
	cv = gen;
}

static void
cv_discard(void *gen)
{
	struct cv_conf *c = gen;

	conf_free(&c);
}

static void
cv_fini(void)
{
	conf_free(&cv);
}

/* cv_init_process - in each SMTP worker: is clamd there?  Logged, never
 * fatal. */
static void
cv_init_process(enum yh_process kind)
{
	const struct cv_conf *c = cv;
	struct cv_result r;
	long long tmo;

	if (c == NULL || (kind != YH_PROC_SMTP && kind != YH_PROC_SUBMIT))
		return;
	tmo = c->timeout_ms < CV_PING_MAX_MS ? c->timeout_ms : CV_PING_MAX_MS;
	if (cv_ping(&c->sock, cv_now_ms() + tmo, &r) == 0) {
		yh_log(YH_LOG_DEBUG, "clamav clamd=%s answers PING",
		    c->sock.text);
		return;
	}
	yh_log(YH_LOG_WARN, "clamav clamd=%s does not answer PING (%s): mail "
	    "will be %s until it does", c->sock.text, r.why,
	    c->accept_on_error ? "accepted unscanned" : "refused with 451");
}

/* ---- keep ----------------------------------------------------------------- */

/* dir_count - entries of folder DFD other than . and .., counted up to
 * MAX.  -1 when unreadable. */
static long long
dir_count(int dfd, long long max)
{
	struct dirent *e;
	long long n = 0;
	DIR *d;
	int fd;

	if ((fd = dup(dfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while (n < max && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* copy_fd - the whole of FD (pread from 0) into OFD.  0 or -1. */
static int
copy_fd(int fd, int ofd)
{
	char buf[CV_CHUNK];
	off_t off = 0;
	ssize_t n, w, done;

	for (;;) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		for (done = 0; done < n; done += w) {
			w = write(ofd, buf + done, (size_t)(n - done));
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				return -1;
		}
		off += n;
	}
}

/*
 * keep_copy - message FD into HOME/viruslog/QID: the folder opened without
 * following a link at "viruslog", the file created new (O_EXCL,
 * O_NOFOLLOW, mode 0640), never more than keep_max files.  The outcome
 * for the log line ("viruslog/QID", or why not) into OUT.
 */
static void
keep_copy(const struct cv_conf *c, int fd, const char *qid, char *out,
    size_t size)
{
	const char *home = yh_server_get("server.home");
	char dir[CV_PATH_MAX];
	long long n;
	int dfd, ofd, r;

	snprintf(out, size, "no");
	if (qid == NULL || *qid == '\0' || *qid == '.' || strchr(qid, '/'))
		return;		/* the core's ids are [0-9A-F]: never */
	if (home == NULL || *home == '\0' ||
	    snprintf(dir, sizeof(dir), "%s/viruslog", home) >= (int)sizeof(dir))
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1 && errno == ENOENT && mkdir(dir, 0750) == 0)
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1) {
		snprintf(out, size, "no(viruslog:%s)", strerror(errno));
		return;
	}
	if (c->keep_max > 0 && (n = dir_count(dfd, c->keep_max)) >= c->keep_max) {
		snprintf(out, size, "no(viruslog_full:%lld)", n);
		close(dfd);
		return;
	}
	ofd = openat(dfd, qid, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (ofd == -1) {
		snprintf(out, size, "no(%s)", strerror(errno));
		close(dfd);
		return;
	}
	r = copy_fd(fd, ofd);
	if (close(ofd) == -1)
		r = -1;
	if (r == -1) {
		snprintf(out, size, "no(write:%s)", strerror(errno));
		unlinkat(dfd, qid, 0);
	} else
		snprintf(out, size, "viruslog/%s", qid);
	close(dfd);
}

/* ---- notify --------------------------------------------------------------- */

/* automatic - 1 when the message in S is itself automatic: a notice of
 * ours or any Auto-Submitted other than "no" (RFC 3834). */
static int
automatic(struct yh_session *s)
{
	const char *v;

	if (yh_header(s, "X-Yubin-Notice", 0) != NULL)
		return 1;
	v = yh_header(s, "Auto-Submitted", 0);
	if (v == NULL)
		return 0;
	while (*v == ' ' || *v == '\t')
		v++;
	return strncasecmp(v, "no", 2) != 0 ||
	    (v[2] != '\0' && v[2] != ' ' && v[2] != '\t' && v[2] != ';' &&
	    v[2] != '(');
}

/* header_addr - the first address of header NAME into OUT when it is a
 * valid one; OUT or NULL. */
static const char *
header_addr(struct yh_session *s, const char *name, char *out, size_t size)
{
	const char *v = yh_header(s, name, 0);

	if (v == NULL || cv_first_addr(v, out, size) != 1 || !yh_addr_valid(out))
		return NULL;
	return out;
}

/* rfc5322_date - now, as a Date: field wants it, into OUT. */
static void
rfc5322_date(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(out, size, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/*
 * notice_send - the notice of virus NAME in the message of S, to what
 * `notify` expands to.  The outcome for the log line ("QID" of the
 * notice, "none" or why not) into OUT.
 */
static void
notice_send(const struct cv_conf *c, struct yh_session *s, const char *name,
    char *out, size_t size)
{
	char to[CV_ADDR_MAX], from[CV_ADDR_MAX], subj[512], date[64];
	char helo[256], nqid[YH_QID_SIZE], *text;
	const char **rcpts = NULL, *sender = yh_sender(s), *subject;
	struct cv_msginfo m;
	struct cv_addrs a = { NULL, 0 };
	size_t i, n = yh_rcpt_count(s), len;

	snprintf(out, size, "none");
	if (c->nnotify == 0)
		return;
	if (automatic(s)) {
		snprintf(out, size, "no(automatic_message)");
		return;
	}
	if (n > 0 && (rcpts = calloc(n, sizeof(*rcpts))) == NULL) {
		snprintf(out, size, "no(out_of_memory)");
		return;
	}
	for (i = 0; i < n; i++)
		rcpts[i] = yh_rcpt_addr(s, i);
	memset(&m, 0, sizeof(m));
	m.sender = sender ? sender : "";
	m.rcpts = rcpts;
	m.nrcpt = n;
	m.hdr_to = header_addr(s, "To", to, sizeof(to));
	m.hdr_from = header_addr(s, "From", from, sizeof(from));
	m.client = yh_peer_ip(s) ? yh_peer_ip(s) : "";
	m.helo = yh_escape(helo, sizeof(helo), yh_helo(s), strlen(yh_helo(s)));
	m.qid = yh_queue_id(s);
	if ((subject = yh_header(s, "Subject", 0)) != NULL) {
		yh_subject_utf8(subject, subj, sizeof(subj));
		m.subject = subj;
	}
	m.virus = name;
	rfc5322_date(date, sizeof(date));
	m.date = date;
	if (cv_expand((const char *const *)c->notify, c->nnotify, &m,
	    yh_addr_valid, &a) == -1)
		snprintf(out, size, "no(out_of_memory)");
	else if (a.n == 0)
		snprintf(out, size, "no(no_valid_recipient)");
	else if (cv_notice(c->from, &a, &m, &text, &len) == -1)
		snprintf(out, size, "no(out_of_memory)");
	else {
		if (yh_inject(c->from, (const char *const *)a.v, a.n, text, len,
		    nqid) == 0)
			snprintf(out, size, "%s(%zu_rcpt)", nqid, a.n);
		else
			snprintf(out, size, "no(queue_error)");
		free(text);
	}
	cv_addrs_free(&a);
	free(rcpts);
}

/* ---- the data hook -------------------------------------------------------- */

/* exempt - 1 when client IP is in `exempt`. */
static int
exempt(const struct cv_conf *c, const char *ip)
{
	struct pu_ip a;
	size_t i;

	if (ip == NULL || c->nnets == 0 || pu_ip_parse(ip, &a) == -1)
		return 0;
	for (i = 0; i < c->nnets; i++)
		if (pu_net_match(&c->nets[i], &a))
			return 1;
	return 0;
}

/*
 * cv_data - end of DATA: scan the message.  YH_DECLINED (clean, exempt,
 * or no verdict with on_error = accept), YH_DENY (554 5.7.1, infected) or
 * YH_DENYSOFT (451 4.7.1, no verdict).
 */
static int
cv_data(struct yh_session *s)
{
	const struct cv_conf *c = cv;
	const char *ip = yh_peer_ip(s), *sender = yh_sender(s);
	char eip[CV_ESC_MAX], efrom[CV_ESC_MAX], ename[4 * CV_NAME_MAX + 4];
	char ewhy[4 * sizeof(((struct cv_result *)0)->why)];
	char kept[160], notice[160];
	struct cv_result r;
	long long t0, ms, size = yh_message_size(s);
	int fd = yh_message_fd(s);

	if (c == NULL)
		return YH_DECLINED;
	yh_escape(eip, sizeof(eip), ip ? ip : "", ip ? strlen(ip) : 0);
	yh_escape(efrom, sizeof(efrom), sender ? sender : "",
	    sender ? strlen(sender) : 0);
	if (exempt(c, ip)) {
		yh_log(YH_LOG_INFO, "clamav result=skipped reason=exempt "
		    "client=%s from=<%s> size=%lld", eip, efrom, size);
		return YH_DECLINED;
	}
	t0 = cv_now_ms();
	if (fd == -1) {
		memset(&r, 0, sizeof(r));
		r.status = CV_FAIL;
		snprintf(r.why, sizeof(r.why), "no message");
	} else
		cv_scan(&c->sock, fd, c->max_size, t0 + c->timeout_ms, &r);
	ms = cv_now_ms() - t0;
	switch (r.status) {
	case CV_CLEAN:
		yh_log(YH_LOG_INFO, "clamav result=clean client=%s from=<%s> "
		    "size=%lld scanned=%lld%s ms=%lld", eip, efrom, size,
		    r.sent, r.sent < size ? " partial=1" : "", ms);
		return YH_DECLINED;
	case CV_FOUND:
		yh_escape(ename, sizeof(ename), r.name, strlen(r.name));
		if (c->keep)
			keep_copy(c, fd, yh_queue_id(s), kept, sizeof(kept));
		else
			snprintf(kept, sizeof(kept), "no");
		notice_send(c, s, r.name, notice, sizeof(notice));
		yh_log(YH_LOG_INFO, "clamav result=infected signature=%s "
		    "action=reject client=%s from=<%s> size=%lld scanned=%lld%s "
		    "ms=%lld kept=%s notice=%s", ename, eip, efrom, size, r.sent,
		    r.sent < size ? " partial=1" : "", ms, kept, notice);
		yh_reply(s, 554, "5.7.1", "Message refused: virus found: %s",
		    r.name);
		return YH_DENY;
	case CV_ERROR:
	case CV_FAIL:
		break;
	}
	yh_escape(ewhy, sizeof(ewhy), r.why, strlen(r.why));
	yh_log(YH_LOG_WARN, "clamav result=%s action=%s client=%s from=<%s> "
	    "size=%lld scanned=%lld ms=%lld clamd=%s why=\"%s\"",
	    cv_status_name(r.status), c->accept_on_error ? "accept_unscanned" :
	    "tempfail", eip, efrom, size, r.sent, ms, c->sock.text, ewhy);
	if (c->accept_on_error)
		return YH_DECLINED;
	yh_reply(s, 451, "4.7.1", "Virus scan unavailable: please try again "
	    "later");
	return YH_DENYSOFT;
}

static const struct yh_hooks cv_hooks = {
	YH_HOOKS_INIT,
	.data = cv_data,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "clamav",
	.keys = cv_keys,
	.init = cv_init,
	.commit = cv_commit,
	.discard = cv_discard,
	.fini = cv_fini,
	.hooks = &cv_hooks,
	.init_process = cv_init_process,
};
