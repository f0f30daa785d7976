/*
 * smtp_data.c - DATA for the SMTP engine: read the message, add the
 * Received: header (CONFDIR/header.dat or the built-in one), and hand it to
 * the durable queue (queue.h) before answering 250.  The message body
 * consumer (smtp_body_*) is shared with BDAT (smtp_bdat.c): whatever the
 * verb, a message meets the same size, trace-field and line-end checks,
 * the same data hook and the same commit.
 *
 * Runs in an SMTP worker as server.user.  Must never:
 *  - take anything but <CRLF>.<CRLF> as the end of the data: a "." line
 *    ends the data only when it and the line before it both end in CRLF;
 *  - queue a message that holds a bare CR or a bare LF (SMTP smuggling,
 *    CVE-2023-51764..51766): it is read to its real end and refused 550;
 *  - answer 250 before queue_in_commit() said the message is on disk;
 *  - let client bytes (HELO, addresses) put a line break or a control
 *    byte into the Received: header;
 *  - take a message that would carry more than smtp.max_hops trace fields
 *    (Received:, Delivered-To:, counting the one added here): 554 5.4.6,
 *    or, for the local submission socket, whose callers (exec.def
 *    programs, forwards) cannot be told "no", a report to the sender.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "board.h"
#include "bounce.h"
#include "buf.h"
#include "config.h"
#include "dsn.h"
#include "log.h"
#include "node.h"
#include "queue.h"
#include "smtp_private.h"
#include "usage.h"
#include "util.h"

/* what went wrong while reading; the message is refused at its end */
#define SMTP_DATA_BARE	0x01	/* bare CR or bare LF */
#define SMTP_DATA_BIG	0x02	/* over smtp.max_message_size */
#define SMTP_DATA_LONG	0x04	/* a line over SMTP_DATA_LINE_MAX */
#define SMTP_DATA_IOERR	0x08	/* the queue file could not be written */
#define SMTP_DATA_HOPS	0x10	/* over smtp.max_hops (still written) */

#define SMTP_DATE_MAX	64

/* ------------------------------------------------------------------ */
/* the Received: header                                                 */

/* smtp_date - RFC 5322 §3.3 date-time of T in local time, C locale. */
static void
smtp_date(char *out, size_t size, long long t)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	if (localtime_r(&tt, &tm) == NULL) {
		snprintf(out, size, "Thu, 1 Jan 1970 00:00:00 +0000");
		return;
	}
	off = tm.tm_gmtoff / 60;
	snprintf(out, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/*
 * smtp_clean - IN made safe for a header: every byte outside printable
 * ASCII (and the space unless SPACE) becomes '?', so no line break, no
 * control byte and no raw 8-bit reaches the header.  Into OUT (SIZE).
 */
static void
smtp_clean(char *out, size_t size, const char *in, int space)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c > 0x20 && c < 0x7f) || (space && c == ' ') ? (char)c : '?';
	}
	out[i] = '\0';
}

/* the values a header.dat template may use, as %NAME% */
enum smtp_var {
	SV_HELO, SV_CLIENT_IP, SV_CLIENT_NAME, SV_HOSTNAME, SV_ID, SV_RCPT,
	SV_DATE, SV_PROTOCOL, SV_COUNT
};

static const char *const smtp_var_names[SV_COUNT] = {
	[SV_HELO] = "HELO",
	[SV_CLIENT_IP] = "CLIENT_IP",
	[SV_CLIENT_NAME] = "CLIENT_NAME",
	[SV_HOSTNAME] = "HOSTNAME",
	[SV_ID] = "ID",
	[SV_RCPT] = "RCPT",
	[SV_DATE] = "DATE",
	[SV_PROTOCOL] = "PROTOCOL",
};

/*
 * smtp_drop_rcpt - with several recipients %RCPT% has no value: remove
 * "for <%RCPT%>" (the "for" and the brackets when present) from LINE.
 */
static void
smtp_drop_rcpt(char *line)
{
	char *p, *start, *end;

	while ((p = strstr(line, "%RCPT%")) != NULL) {
		start = p;
		end = p + 6;
		if (start > line && start[-1] == '<' && *end == '>') {
			start--;
			end++;
		}
		p = start;
		while (p > line && (p[-1] == ' ' || p[-1] == '\t'))
			p--;
		if (p - line >= 3 && strncasecmp(p - 3, "for", 3) == 0 &&
		    (p - 3 == line || p[-4] == ' ' || p[-4] == '\t'))
			start = p - 3;
		memmove(start, end, strlen(end) + 1);
	}
}

/*
 * smtp_expand - the template TPL (LEN bytes) with VALS into OUT.  Lines
 * that are empty or start with '#' are skipped (an empty line would end the
 * header section); each line ends in LF.  0, or -1 when nothing is left or
 * the result is too long.
 */
static int
smtp_expand(const char *tpl, size_t len, int one_rcpt,
    const char *const vals[SV_COUNT], struct buf *out)
{
	char line[SMTP_HEADER_TPL_MAX + 1], *p;
	const char *nl;
	size_t n, i, k;

	while (len > 0) {
		nl = memchr(tpl, '\n', len);
		n = nl ? (size_t)(nl - tpl) : len;
		memcpy(line, tpl, n);	/* n <= len <= SMTP_HEADER_TPL_MAX */
		line[n] = '\0';
		tpl += nl ? n + 1 : n;
		len -= nl ? n + 1 : n;
		line[strcspn(line, "\r")] = '\0';
		if (!one_rcpt)
			smtp_drop_rcpt(line);
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		for (p = line; *p; ) {
			if (*p == '%') {
				for (i = 0; i < SV_COUNT; i++) {
					k = strlen(smtp_var_names[i]);
					if (strncmp(p + 1, smtp_var_names[i], k) == 0 &&
					    p[k + 1] == '%')
						break;
				}
				if (i < SV_COUNT) {
					if (buf_puts(out, vals[i]) == -1)
						return -1;
					p += k + 2;
					continue;
				}
			}
			if (buf_putc(out, *p++) == -1)
				return -1;
		}
		if (buf_putc(out, '\n') == -1)
			return -1;
	}
	return out->len > 0 ? 0 : -1;
}

/* smtp_template - header.dat, read once per session; NULL when absent. */
static const char *
smtp_template(struct smtp_session *s, size_t *len_r)
{
	char *path;

	if (!s->tpl_loaded) {
		s->tpl_loaded = 1;
		path = xasprintf("%s/header.dat", config_confdir(s->cfg));
		if (file_read(path, SMTP_HEADER_TPL_MAX, &s->tpl, &s->tpl_len) == -1) {
			if (errno != ENOENT)
				smtp_logw(s, "cannot read %s: %s; using the "
				    "built-in Received header", path,
				    strerror(errno));
			s->tpl = NULL;
		}
		free(path);
	}
	*len_r = s->tpl_len;
	return s->tpl;
}

int
smtp_received(struct smtp_session *s, struct buf *out)
{
	char helo[SMTP_HELO_MAX + 1], rcpt[ADDR_PATH_MAX + 1], date[SMTP_DATE_MAX];
	char client[INET6_ADDRSTRLEN + 8];
	const char *vals[SV_COUNT], *tpl, *ip = s->conn.peer_ip;
	int one = s->txn.nrcpt == 1;
	size_t tlen;

	smtp_clean(helo, sizeof(helo), s->helo, 0);
	smtp_clean(rcpt, sizeof(rcpt), one ? s->txn.rcpt[0].addr : "", 1);
	smtp_date(date, sizeof(date), time_now());
	/* RFC 5321 §4.1.3 address literal */
	snprintf(client, sizeof(client), "%s%s", strchr(ip, ':') ? "IPv6:" : "", ip);
	vals[SV_HELO] = helo;
	vals[SV_CLIENT_IP] = ip;
	vals[SV_CLIENT_NAME] = ip;	/* no reverse lookup yet */
	vals[SV_HOSTNAME] = s->env->hostname;
	vals[SV_ID] = s->qid;
	vals[SV_RCPT] = rcpt;
	vals[SV_DATE] = date;
	vals[SV_PROTOCOL] = smtp_protocol(s);

	buf_reset(out);
	if ((tpl = smtp_template(s, &tlen)) != NULL) {
		if (smtp_expand(tpl, tlen, one, vals, out) == 0)
			return 0;
		smtp_logw(s, "header.dat expands to nothing or too much; using "
		    "the built-in Received header");
		buf_reset(out);
	}
	/* the shape of Postfix's, which every log parser knows */
	if (buf_printf(out, "Received: from %s ([%s])\n", helo, client) == -1)
		return -1;
	if (s->conn.ssl != NULL &&
	    buf_printf(out, "\t(using %s with cipher %s)\n",
	    SSL_get_version(s->conn.ssl), SSL_get_cipher_name(s->conn.ssl)) == -1)
		return -1;
	if (buf_printf(out, "\tby %s (yubin) with %s id %s", s->env->hostname,
	    vals[SV_PROTOCOL], s->qid) == -1)
		return -1;
	if (one)
		return buf_printf(out, "\n\tfor <%s>; %s\n", rcpt, date);
	return buf_printf(out, ";\n\t%s\n", date);
}

/* ------------------------------------------------------------------ */
/* reading the message                                                  */

/*
 * smtp_data_deadline - the DATA (or BDAT chunk) deadline after BYTES more
 * arrived by NOW: each byte buys 1/smtp.data_min_rate s, never more than
 * smtp.timeout_data ahead, and never past the session's end (Postfix's
 * smtpd_min_data_rate).  A client that trickles runs out of time however
 * it spaces its lines.
 */
long long
smtp_data_deadline(const struct smtp_session *s, long long end, long long bytes,
    long long now)
{
	long long cap = now + s->timeout_data_ms;

	if (s->data_min_rate > 0)
		end += bytes * 1000 / s->data_min_rate;
	else
		end = cap;
	if (end > cap)
		end = cap;
	if (s->session_end_ms > 0 && end > s->session_end_ms)
		end = s->session_end_ms;
	return end;
}

/*
 * smtp_body_line - the consumer both DATA and BDAT feed: size, trace
 * fields, bare CR and LF judged the same way whatever the verb; the line
 * goes to the queue file with an LF line end.
 */
void
smtp_body_line(struct smtp_session *s, struct smtp_body *b, const char *p,
    size_t len, int bare)
{
	if (bare || memchr(p, '\r', len) != NULL)
		b->flags |= SMTP_DATA_BARE;
	b->wire += (long long)len + 2;
	if (s->max_size > 0 && b->wire > s->max_size)
		b->flags |= SMTP_DATA_BIG;
	if (b->in_header && len == 0)
		b->in_header = 0;
	else if (b->in_header && header_is_hop(p, len) &&
	    ++b->hops > s->max_hops)	/* hops starts at ours: 1 */
		b->flags |= SMTP_DATA_HOPS;
	if (b->flags & ~SMTP_DATA_HOPS)
		return;
	if (queue_in_write(b->q, p, len) == -1 ||
	    queue_in_write(b->q, "\n", 1) == -1) {
		smtp_logw(s, "queue file write error: %s client=%s",
		    strerror(errno), s->conn.peer_ip);
		b->flags |= SMTP_DATA_IOERR;
	}
}

void
smtp_body_long(struct smtp_body *b)
{
	b->flags |= SMTP_DATA_LONG;
}

void
smtp_body_oversize(struct smtp_body *b, long long wire)
{
	b->flags |= SMTP_DATA_BIG;
	b->wire = wire;
}

int
smtp_body_failed(const struct smtp_body *b)
{
	return (b->flags & ~SMTP_DATA_HOPS) != 0;
}

/*
 * smtp_data_read - the message lines up to <CRLF>.<CRLF>, dot-unstuffed,
 * fed to B.  The data is read to its end even when B already refuses the
 * message, so the client and we agree where the next command starts.
 * Returns CONN_LINE at the end of the data, else the conn status (the
 * session is over).
 */
static int
smtp_data_read(struct smtp_session *s, struct smtp_body *b)
{
	char *line, *p;
	size_t len;
	long long seen = s->conn.bytes_in;
	int r, term, prev_crlf = 1;

	s->conn.deadline_ms = smtp_data_deadline(s, now_ms() + s->timeout_data_ms,
	    0, now_ms());
	for (;;) {
		r = smtp_read_line(s, SMTP_DATA_LINE_MAX, &line, &len, &term);
		s->conn.deadline_ms = smtp_data_deadline(s, s->conn.deadline_ms,
		    s->conn.bytes_in - seen, now_ms());
		seen = s->conn.bytes_in;
		if (r == CONN_TOOLONG) {
			/*
			 * conn does not say how an over-long line ended, so
			 * it does not count as CRLF-terminated: a "." right
			 * after it is data, not the end.  Smuggling through
			 * a 1 MB line stays impossible; an honest client that
			 * ends with such a line times out instead of getting
			 * the 554 -- a message we refuse anyway.
			 */
			smtp_body_long(b);
			prev_crlf = 0;
			continue;
		}
		if (r != CONN_LINE)
			return r;
		if (term == 2 && prev_crlf && len == 1 && line[0] == '.')
			return CONN_LINE;
		prev_crlf = term == 2;
		p = line;
		if (len > 0 && p[0] == '.') {		/* RFC 5321 §4.5.2 */
			p++;
			len--;
		}
		smtp_body_line(s, b, p, len, term != 2);
	}
}

/* smtp_check_data - the whole message is in Q: the hook chain "data",
 * then the default: take it. */
static enum smtp_verdict
smtp_check_data(struct smtp_session *s, struct queue_in *q,
    struct smtp_decision *d, long long *crlf_r)
{
	enum smtp_verdict v;
	long long lines;
	int fd;

	*crlf_r = -1;
	if (!plugins_any(HP_DATA))
		return SMTP_GO;
	fd = queue_in_open_ro(q);
	if (fd == -1) {
		smtp_deny(d, 451, "4.3.0", "queue file read error; try again later");
		return SMTP_DENY;
	}
	s->hs.msg_fd = fd;
	s->hs.msg_size = queue_in_size(q);
	s->hs.qid = s->qid;		/* yh_queue_id and yh_log know it */
	plugins_set_qid(s->qid);
	v = smtp_hook(s, HP_DATA, NULL, d, NULL);
	s->hs.msg_fd = -1;
	s->hs.qid = "";
	close(fd);
	if (v == SMTP_GO && s->hs.msg_new_fd != -1) {
		if (queue_in_replace(q, s->hs.msg_new_fd, &lines) == -1) {
			smtp_logw(s, "cannot rewrite the queue file: %s",
			    strerror(errno));
			smtp_deny(d, 451, "4.3.0", "queue file write error; try "
			    "again later");
			return SMTP_DENY;
		}
		*crlf_r = queue_in_size(q) + lines;
	}
	if (v == SMTP_GO)
		(void)hook_session_rcpt_apply(&s->hs, &s->txn);
	if (v == SMTP_GO && s->hs.hdr_add.len > 0 &&
	    queue_in_prepend(q, s->hs.hdr_add.data, s->hs.hdr_add.len) == -1) {
		smtp_deny(d, 451, "4.3.0", "queue file write error; try again later");
		return SMTP_DENY;
	}
	return v;
}

/*
 * smtp_data_hops - a message over smtp.max_hops (HOPS fields in all): from
 * the local submission socket it is returned to its sender in a report
 * (yubin-sendmail's callers are programs and forwards, for which a refusal
 * would be a silent loss), from anyone else refused 554 5.4.6.  Q is
 * freed either way.
 */
static void
smtp_data_hops(struct smtp_session *s, struct queue_in **q, long long hops)
{
	char why[128];
	int r;

	snprintf(why, sizeof(why), "554 5.4.6 too many hops (%lld Received/"
	    "Delivered-To fields, limit %lld); mail loop?", hops, s->max_hops);
	smtp_log(s, "refused: %s client=%s", why + 10, s->env->kind == LK_LOCAL ?
	    "local" : s->conn.peer_ip);
	if (s->env->kind != LK_LOCAL || s->txn.sender == NULL ||
	    s->txn.sender[0] == '\0') {
		queue_in_abort(q);
		smtp_reject(s, 554, "5.4.6", "too many hops (%lld Received/"
		    "Delivered-To fields, limit %lld); mail loop?", hops,
		    s->max_hops);
		return;
	}
	memcpy(s->txn.id, queue_in_id(*q), sizeof(s->txn.id));
	s->txn.arrival = time_now();
	r = bounce_refused(s->cfg, s->env->store, *q, &s->txn, why);
	queue_in_abort(q);
	if (r == -1)
		smtp_reply(s, 451, "4.3.0", "cannot return the message; try "
		    "again later");
	else
		smtp_reply(s, 250, "2.0.0", "Ok: not delivered (mail loop), "
		    "returned to <%s>", s->txn.sender);
}

/* smtp_data_refuse - answer a message not taken for FLAGS. */
static void
smtp_data_refuse(struct smtp_session *s, int flags, long long wire)
{
	if (flags & SMTP_DATA_BARE)
		smtp_reject(s, 550, "5.6.0", "message contains bare CR or LF; "
		    "refused");
	else if (flags & SMTP_DATA_BIG)
		smtp_reject(s, 552, "5.3.4", "message too big (%lld > %lld)",
		    wire, s->max_size);
	else if (flags & SMTP_DATA_LONG)
		/*
		 * Not 500 5.5.6: that answers a command line, and DATA was
		 * a good command.  Not 552: nothing was over a size limit of
		 * storage.  554 with X.6.0 (media error, RFC 3463) says the
		 * content is refused for what it is.
		 */
		smtp_reject(s, 554, "5.6.0", "line too long (over %d octets)",
		    SMTP_DATA_LINE_MAX);
	else			/* SMTP_DATA_IOERR, logged when it happened */
		smtp_reply(s, 451, "4.3.0", "queue file write error; try "
		    "again later");
}

/*
 * smtp_count_sent - count the message just queued as sent by its account:
 * the AUTH user, else, on the local submission socket (yubin-sendmail,
 * which has no AUTH: its session is "local:UID", no account), the account
 * the envelope sender is (an address that resolves to a local account;
 * other senders count for nobody).  Must
 * never refuse or delay the message: a failure is only logged.
 */
static void
smtp_count_sent(struct smtp_session *s)
{
	char account[ACCOUNT_NAME_MAX + 1];
	const char *who = s->auth_user;

	/* on the local socket auth_user is "local:UID" (smtp.c), no account */
	if (s->hs.local && strncmp(who, "local:", 6) == 0)
		who = "";
	if (s->hs.local && who[0] == '\0' && s->txn.sender[0] != '\0' &&
	    addr_resolve_local(s->cfg, s->env->store, s->txn.sender,
	    account) == 1)
		who = account;
	if (who[0] != '\0' && usage_count_sent(s->env->store, who) == -1)
		smtp_logw(s, "sent counter not updated user=%s", who);
}

/*
 * smtp_archive - server.archive_address (F128): each address there becomes
 * one more recipient of the message being queued, unless it already is one
 * (so a copy that comes back, or mail sent to the archive itself, is never
 * archived twice: the archive gets one copy per message and cannot feed a
 * loop).  Only mail received over SMTP is archived, after every check has
 * passed; what yubin writes itself (bounces, notices, list copies) is not.
 * 0, or -1 when the store cannot say who an address is (then 451: the
 * archive would miss the message).
 */
static int
smtp_archive(struct smtp_session *s)
{
	const struct cfg_list *l = config_list(s->cfg, "server.archive_address");
	char esc[ADDR_PATH_MAX * 4 + 8];
	struct addr_rcpt to;
	const char *acc;
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++) {
		str_escape(esc, sizeof(esc), l->v[i], strlen(l->v[i]));
		switch (addr_resolve_rcpt(s->cfg, s->env->store, l->v[i], &to)) {
		case ADDR_DEST_ERROR:
			smtp_logw(s, "archive <%s>: account lookup failed", esc);
			return -1;
		case ADDR_DEST_NONE:
			smtp_logw(s, "archive <%s>: no such local recipient; "
			    "not archived", esc);
			continue;
		case ADDR_DEST_LOCAL:
			acc = to.account;
			break;
		default:
			acc = NULL;
			break;
		}
		if (smtp_rcpt_dup(s, to.addr, acc))
			continue;
		envelope_add_rcpt(&s->txn, to.addr, acc);
		/* the sender never hears of the archive: no DSN of any kind */
		s->txn.rcpt[s->txn.nrcpt - 1].notify = DSN_NOTIFY_NEVER;
		smtp_log(s, "archive to=<%s> account=%s", esc, acc ? acc : "-");
	}
	return 0;
}

/*
 * smtp_commit_node - a peer node's message under the once marker of its
 * XNODEID (the relaying node's queue id) and recipients: a retry of mail
 * this node already queued (the 250 was lost with the connection, or this
 * node died after its commit) queues nothing.  The marker outlives the
 * relaying node's retries (queue.retry_period_*, the same on every node
 * of a site) by a day.  0 queued, 1 a retry (nothing queued), -1.
 */
static int
smtp_commit_node(struct smtp_session *s, struct queue_in **q,
    const char **why_r)
{
	unsigned long long h = 1469598103934665603ULL;	/* FNV-1a 64 */
	long long keep;
	struct buf once;
	const char *p;
	size_t i;
	int r;

	for (i = 0; i < s->txn.nrcpt; i++)
		for (p = s->txn.rcpt[i].addr; ; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
	keep = config_int(s->cfg, "queue.retry_period_line_error");
	if (config_int(s->cfg, "queue.retry_period_no_response") > keep)
		keep = config_int(s->cfg, "queue.retry_period_no_response");
	buf_init(&once, 0);
	buf_printf(&once, "peer/%s/%s/%016llx", s->auth_user +
	    strlen(NODE_AUTH_PREFIX), s->node_id, h);
	r = queue_in_commit_once(q, &(struct envelope *){ &s->txn }, 1,
	    s->env->store, once.data, once.len, time_now() + keep + 86400,
	    why_r);
	buf_free(&once);
	*q = NULL;
	return r;
}

/* smtp_commit - Q and the copies plugins added (yh_copy_add) queued
 * together: all or none.  0, 1 (a peer node's retry: nothing queued) or
 * -1 (*WHY_R), Q freed either way. */
static int
smtp_commit(struct smtp_session *s, struct queue_in **q, const char **why_r)
{
	struct queue_in **cq, **qs;
	struct envelope *cenv, **envs;
	size_t n, i;
	int r;

	if (s->peer_node && s->node_id[0] != '\0')
		return smtp_commit_node(s, q, why_r);	/* no plugin ran */
	n = hook_session_copies(&s->hs, &cq, &cenv);
	if (n == 0)
		return queue_in_commit(q, s->env->store, &s->txn, why_r);
	qs = xcalloc(n + 1, sizeof(*qs));
	envs = xcalloc(n + 1, sizeof(*envs));
	qs[0] = *q;
	envs[0] = &s->txn;
	for (i = 0; i < n; i++) {
		qs[i + 1] = cq[i];
		envs[i + 1] = &cenv[i];
	}
	r = queue_in_commit_set(qs, envs, n + 1, s->env->store, why_r);
	/* the files are the commit's now (freed, or removed on failure) */
	*q = NULL;
	for (i = 0; i < n; i++)
		cq[i] = NULL;
	if (r == 0)
		for (i = 0; i < n; i++)
			smtp_log(s, "copy %s queued with the message nrcpt=%zu",
			    cenv[i].id, cenv[i].nrcpt);
	free(qs);
	free(envs);
	return r;
}

int
smtp_body_open(struct smtp_session *s, struct smtp_body *b)
{
	struct buf hdr;
	size_t i;

	memset(b, 0, sizeof(*b));
	b->in_header = 1;
	b->hops = 1;
	if (queue_in_open(config_home(s->cfg), &b->q) == -1) {
		smtp_logw(s, "cannot create a queue file: %s", strerror(errno));
		b->q = NULL;
		return -1;
	}
	(void)str_copy(s->qid, sizeof(s->qid), queue_in_id(b->q));
	buf_init(&hdr, SMTP_HEADER_MAX);
	if (smtp_received(s, &hdr) == -1 ||
	    queue_in_write(b->q, hdr.data, hdr.len) == -1) {
		smtp_logw(s, "cannot write the Received header: %s",
		    strerror(errno));
		buf_free(&hdr);
		smtp_body_close(s, b);
		return -1;
	}
	for (b->hdr_crlf = (long long)hdr.len, i = 0; i < hdr.len; i++)
		b->hdr_crlf += hdr.data[i] == '\n';
	buf_free(&hdr);
	return 0;
}

void
smtp_body_close(struct smtp_session *s, struct smtp_body *b)
{
	queue_in_abort(&b->q);		/* the message was not taken */
	memset(b, 0, sizeof(*b));
	s->qid[0] = '\0';
	plugins_set_qid("");
}

void
smtp_body_refuse(struct smtp_session *s, struct smtp_body *b)
{
	smtp_data_refuse(s, b->flags & ~SMTP_DATA_HOPS, b->wire);
	smtp_body_close(s, b);
}

/* smtp_data_queued - what follows the 250 for a message now queued: the
 * "accepted" line, the sent counter and the "queued" hook. */
static void
smtp_data_queued(struct smtp_session *s)
{
	char esc[ADDR_PATH_MAX * 4 + 8];

	s->messages++;
	board_count(BC_RECEIVED);
	smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", s->qid);
	smtp_klog(s, LOG_KIND_RECEIVE,
	    "accepted from=<%s> size=%lld nrcpt=%zu client=%s",
	    str_escape(esc, sizeof(esc), s->txn.sender, strlen(s->txn.sender)),
	    s->txn.size_crlf, s->txn.nrcpt, s->conn.peer_ip);
	smtp_count_sent(s);
	if (plugins_any(HP_QUEUED)) {
		s->hs.qid = s->qid;
		s->hs.txn = &s->txn;
		plugins_set_qid(s->qid);
		plugin_smtp_notify(HP_QUEUED, &s->hs);
		if (plugins_tainted())
			s->quit = 1;	/* see smtp_hook */
	}
}

/*
 * smtp_data_take - the message in *Q, complete and not refused: let the
 * data hook refuse it, or queue it, and answer.  *Q is left NULL when it
 * was queued, else for the caller to abort.
 */
static void
smtp_data_take(struct smtp_session *s, struct queue_in **q, long long wire,
    long long hdr_crlf)
{
	struct smtp_decision d = { .code = 0 };
	enum smtp_verdict v;
	long long new_crlf = -1;
	const char *why;
	size_t i;

	v = smtp_check_data(s, *q, &d, &new_crlf);
	if (smtp_decide(s, v, &d) != SMTP_GO)
		return;
	(void)str_copy(s->txn.client_ip, sizeof(s->txn.client_ip),
	    s->conn.peer_ip);
	(void)str_copy(s->txn.helo, sizeof(s->txn.helo), s->helo);
	(void)str_copy(s->txn.auth_user, sizeof(s->txn.auth_user),
	    s->auth_user);
	s->txn.arrival = time_now();
	s->txn.size_crlf = new_crlf >= 0 ? new_crlf : hdr_crlf + wire;
	for (i = 0; i < s->hs.hdr_add.len; i++)	/* plugins' headers */
		s->txn.size_crlf += 1 + (s->hs.hdr_add.data[i] == '\n');
	if (smtp_archive(s) == -1) {
		smtp_reply(s, 451, "4.3.0", "temporary lookup failure; try "
		    "again later");
		return;
	}
	switch (smtp_commit(s, q, &why)) {
	case -1:
		smtp_logw(s, "queue commit failed: %s client=%s", why,
		    s->conn.peer_ip);
		smtp_reply(s, 451, "4.3.0", "queue file write error; try again "
		    "later");
		return;
	case 1:
		smtp_reply(s, 250, "2.0.0", "Ok: already queued (%s id %s)",
		    s->auth_user, s->node_id);
		smtp_log(s, "retry of %s id %s: queued before, not again "
		    "client=%s", s->auth_user, s->node_id, s->conn.peer_ip);
		return;
	}
	smtp_data_queued(s);
}

void
smtp_body_end(struct smtp_session *s, struct smtp_body *b)
{
	if (b->flags == SMTP_DATA_HOPS)
		smtp_data_hops(s, &b->q, b->hops);
	else if (b->flags != 0)
		smtp_data_refuse(s, b->flags & ~SMTP_DATA_HOPS, b->wire);
	else
		smtp_data_take(s, &b->q, b->wire, b->hdr_crlf);
	smtp_body_close(s, b);
}

/*
 * smtp_cmd_data - DATA: 354, the message, one answer.  Every way out
 * passes "out": a queue file not taken is removed there, and once the
 * 354 went out the transaction ends there too, however DATA ended.  A 554
 * (no recipients) or a 451 before the 354 leaves the transaction open.
 * DATA after BDAT never gets here (smtp.c: 503 5.5.1, RFC 3030 §2).
 */
void
smtp_cmd_data(struct smtp_session *s, char *arg)
{
	struct smtp_body b = { .q = NULL };
	int started = 0, r;

	(void)arg;
	if (s->txn.nrcpt == 0) {
		smtp_reject(s, 554, "5.5.1", "no valid recipients");
		goto out;
	}
	if (smtp_body_open(s, &b) == -1) {
		smtp_reply(s, 451, "4.3.0", "queue file write error; try again later");
		goto out;
	}
	started = 1;
	smtp_reply(s, 354, "2.0.0", "End data with <CR><LF>.<CR><LF>");
	if (conn_flush(&s->conn) == -1) {
		smtp_log(s, "lost connection (write) after DATA client=%s",
		    s->conn.peer_ip);
		s->quit = 1;
		goto out;
	}
	s->conn.timeout_ms = s->timeout_data_ms;
	r = smtp_data_read(s, &b);
	s->conn.timeout_ms = s->timeout_cmd_ms;
	s->conn.deadline_ms = s->session_end_ms;
	if (r != CONN_LINE)	/* smtp_read_line logged it and set quit */
		goto out;
	smtp_body_end(s, &b);
out:
	smtp_body_close(s, &b);
	if (started)
		smtp_txn_reset(s);
}
