/*
 * smtp.c - the SMTP server engine (RFC 5321 with PIPELINING, SIZE, 8BITMIME,
 * ENHANCEDSTATUSCODES, SMTPUTF8, STARTTLS, AUTH, CHUNKING, DSN): one session
 * per call of smtp_session(), the command loop, the verbs table and the
 * small verbs.  AUTH lives in smtp_auth.c, DATA in smtp_data.c, BDAT in
 * smtp_bdat.c.
 *
 * Runs in an SMTP worker process as server.user (after priv_drop in the
 * worker); never as root.  Every byte the client sends is bounded
 * (SMTP_*_MAX, smtp.max_* keys) and escaped before it reaches a log line.
 * Must never: answer 250 to DATA before the message is durable (queue.h),
 * act on plaintext pipelined after STARTTLS, take the end of DATA from
 * anything but <CRLF>.<CRLF>, or log a password.
 *
 * Each decision a plugin may take (connect, helo, mail, rcpt, auth, data)
 * goes through one smtp_check_*() function, which runs the hook chain
 * (smtp_hook) before the built-in default.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "auth.h"
#include "board.h"
#include "block.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "node.h"
#include "queue.h"
#include "session.h"
#include "smtp_private.h"
#include "util.h"

#define SMTP_TAINT_GRACE	10	/* seconds to end after an abandoned hook */

#define SMTP_VERB_MAX	16	/* longer than any verb we know */
#define SMTP_LOG_MAX	1024	/* one log line's message part */

/* verb flags */
#define SMTP_F_NOARG	0x01	/* arguments are a syntax error (501 5.5.4) */
#define SMTP_F_LONG	0x02	/* line may be up to SMTP_AUTH_LINE_MAX */
#define SMTP_F_HTTP	0x04	/* a web client or proxy probe: 421 and close */
#define SMTP_F_CHUNK	0x08	/* counted data follows the line (BDAT): a
				 * line we cannot take ends the session */

/* verb states: what must hold for a verb to run.  smtp_state_ok checks
 * them in this order; the first that fails gives the 503 reply. */
#define SMTP_S_HELO	0x01	/* HELO or EHLO accepted */
#define SMTP_S_NOAUTH	0x02	/* not yet authenticated */
#define SMTP_S_MAIL	0x04	/* inside a transaction (after MAIL) */
#define SMTP_S_NOMAIL	0x08	/* outside a transaction */
#define SMTP_S_NOBDAT	0x10	/* no BDAT chunk taken in this transaction */

struct smtp_cmd {
	const char *verb;
	int	 flags;
	int	 state;		/* SMTP_S_*: 0 = any state */
	void	(*fn)(struct smtp_session *s, char *arg);
};

static void smtp_cmd_helo(struct smtp_session *, char *);
static void smtp_cmd_ehlo(struct smtp_session *, char *);
static void smtp_cmd_mail(struct smtp_session *, char *);
static void smtp_cmd_rcpt(struct smtp_session *, char *);
static void smtp_cmd_rset(struct smtp_session *, char *);
static void smtp_cmd_noop(struct smtp_session *, char *);
static void smtp_cmd_quit(struct smtp_session *, char *);
static void smtp_cmd_vrfy(struct smtp_session *, char *);
static void smtp_cmd_expn(struct smtp_session *, char *);
static void smtp_cmd_help(struct smtp_session *, char *);
static void smtp_cmd_starttls(struct smtp_session *, char *);
static void smtp_cmd_http(struct smtp_session *, char *);

static const struct smtp_cmd smtp_cmds[] = {
	{ "EHLO",	0,		0,		smtp_cmd_ehlo },
	{ "HELO",	0,		0,		smtp_cmd_helo },
	{ "MAIL",	0,		SMTP_S_HELO | SMTP_S_NOMAIL,
							smtp_cmd_mail },
	{ "RCPT",	0,		SMTP_S_MAIL | SMTP_S_NOBDAT,
							smtp_cmd_rcpt },
	{ "DATA",	SMTP_F_NOARG,	SMTP_S_MAIL | SMTP_S_NOBDAT,
							smtp_cmd_data },
	/* its state is checked after the chunk is read (RFC 3030 §2) */
	{ "BDAT",	SMTP_F_CHUNK,	0,		smtp_cmd_bdat },
	{ "RSET",	SMTP_F_NOARG,	0,		smtp_cmd_rset },
	{ "NOOP",	0,		0,		smtp_cmd_noop },
	{ "QUIT",	0,		0,		smtp_cmd_quit },
	{ "VRFY",	0,		0,		smtp_cmd_vrfy },
	{ "EXPN",	0,		0,		smtp_cmd_expn },
	{ "HELP",	0,		0,		smtp_cmd_help },
	{ "STARTTLS",	SMTP_F_NOARG,	0,		smtp_cmd_starttls },
	{ "AUTH",	SMTP_F_LONG,	SMTP_S_HELO | SMTP_S_NOAUTH | SMTP_S_NOMAIL,
							smtp_cmd_auth },
	/* Postfix smtpd_forbidden_commands: nobody speaks SMTP like this */
	{ "GET",	SMTP_F_HTTP,	0,		smtp_cmd_http },
	{ "POST",	SMTP_F_HTTP,	0,		smtp_cmd_http },
	{ "CONNECT",	SMTP_F_HTTP,	0,		smtp_cmd_http },
	{ NULL,		0,		0,		NULL },
};

/* ------------------------------------------------------------------ */
/* replies and logs                                                    */

static void
smtp_vreply(struct smtp_session *s, int code, const char *enh, const char *fmt,
    va_list ap)
{
	char text[SMTP_TEXT_MAX];

	if (vsnprintf(text, sizeof(text), fmt, ap) >= (int)sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);
	if (enh)
		(void)conn_printf(&s->conn, "%d %s %s\r\n", code, enh, text);
	else
		(void)conn_printf(&s->conn, "%d %s\r\n", code, text);
}

void
smtp_reply(struct smtp_session *s, int code, const char *enh,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, code, enh, fmt, ap);
	va_end(ap);
}

static void
smtp_vlog(struct smtp_session *s, enum log_level lvl, const char *fmt,
    va_list ap)
{
	char msg[SMTP_LOG_MAX];

	if (vsnprintf(msg, sizeof(msg), fmt, ap) >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	log_msg(lvl, "%s: %s sid=%06lx", s->qid[0] ? s->qid : "NOQUEUE", msg,
	    s->env->sid);
}

void
smtp_log(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vlog(s, LOG_LVL_INFO, fmt, ap);
	va_end(ap);
}

void
smtp_klog(struct smtp_session *s, enum log_kind kind, const char *fmt, ...)
{
	char msg[SMTP_LOG_MAX];
	va_list ap;

	if (!log_kind_on(kind))
		return;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	va_end(ap);
	log_msg(LOG_LVL_INFO, "%s: %s kind=%s sid=%06lx",
	    s->qid[0] ? s->qid : "NOQUEUE", msg, log_kind_name[kind],
	    s->env->sid);
}

void
smtp_logw(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vlog(s, LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

void
smtp_reject(struct smtp_session *s, int code, const char *enh,
    const char *fmt, ...)
{
	char text[SMTP_TEXT_MAX], esc[SMTP_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(text), fmt, ap) >= (int)sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);
	va_end(ap);
	smtp_reply(s, code, enh, "%s", text);
	s->errors++;
	board_count(board_reject_class(enh));
	str_escape(esc, sizeof(esc), text, strlen(text));
	/* a refused MAIL FROM is an attempt the connection log keeps */
	if (s->verb && strcasecmp(s->verb, "MAIL") == 0)
		smtp_klog(s, LOG_KIND_CONNECTION, "reject cmd=%s code=%d dsn=%s "
		    "client=%s text=\"%s\"", s->verb, code, enh,
		    s->conn.peer_ip, esc);
	else
		smtp_log(s, "reject cmd=%s code=%d dsn=%s client=%s "
		    "text=\"%s\"", s->verb ? s->verb : "-", code, enh,
		    s->conn.peer_ip, esc);
}

enum smtp_verdict
smtp_decide(struct smtp_session *s, enum smtp_verdict v,
    const struct smtp_decision *d)
{
	if (v == SMTP_GO)
		return v;
	smtp_reject(s, d->code, d->enh, "%s", d->text);
	if (v == SMTP_DROP)
		s->quit = 1;
	return v;
}

void
smtp_deny(struct smtp_decision *d, int code, const char *enh,
    const char *fmt, ...)
{
	va_list ap;

	d->code = code;
	d->enh = enh;
	va_start(ap, fmt);
	if (vsnprintf(d->text, sizeof(d->text), fmt, ap) >= (int)sizeof(d->text))
		memcpy(d->text + sizeof(d->text) - 4, "...", 4);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* input                                                                */

int
smtp_read_line(struct smtp_session *s, size_t max, char **line_r, size_t *len_r,
    int *term_r)
{
	int r;

	/* RFC 2920 §3.1: replies may wait while more commands are already
	 * here; flush before we would block */
	if (!conn_buffered(&s->conn) && conn_flush(&s->conn) == -1) {
		smtp_log(s, "lost connection (write) after %s client=%s",
		    s->verb ? s->verb : "CONNECT", s->conn.peer_ip);
		s->quit = 1;
		return CONN_ERROR;
	}
	r = conn_getline(&s->conn, max, line_r, len_r, term_r);
	if (r != CONN_LINE && r != CONN_TOOLONG)
		smtp_input_lost(s, r);
	return r;
}

void
smtp_input_lost(struct smtp_session *s, int r)
{
	int limit;

	switch (r) {
	case CONN_TIMEOUT:
		/* the session's limit, or one line's (or DATA's); the
		 * reply still gets a short moment of its own to go out */
		limit = s->session_end_ms > 0 && now_ms() >= s->session_end_ms;
		s->conn.deadline_ms = 0;
		s->conn.timeout_ms = SMTP_BYE_MS;
		smtp_reply(s, 421, "4.4.2", "%s %s exceeded", s->env->hostname,
		    limit ? "time limit" : "timeout");
		(void)conn_flush(&s->conn);
		smtp_log(s, "%s after %s client=%s", limit ? "time limit" :
		    "timeout", s->verb ? s->verb : "CONNECT", s->conn.peer_ip);
		break;
	default:
		smtp_log(s, "lost connection after %s client=%s",
		    s->verb ? s->verb : "CONNECT", s->conn.peer_ip);
		break;
	}
	s->quit = 1;
}

/* ------------------------------------------------------------------ */
/* decision points: the plugins' hook chains are called here           */

enum smtp_verdict
smtp_hook(struct smtp_session *s, enum hook_point hp, const char *arg,
    struct smtp_decision *d, int *ok_r)
{
	int r;

	if (ok_r)
		*ok_r = 0;
	/* a peer node relays what this site's policy passed at the edge */
	if (!plugins_any(hp) || s->peer_node)
		return SMTP_GO;
	s->hs.tls = s->conn.ssl != NULL;
	plugins_set_qid(s->qid);
	r = plugin_smtp(hp, &s->hs, arg);
	if (plugins_tainted()) {
		/* a hook was abandoned by siglongjmp: its state, a lock or
		 * malloc's may be broken.  This reply, then the session and
		 * the worker end (master.c), no plugin runs again here, and a
		 * hang on the way out is cut short by the alarm. */
		signal(SIGALRM, SIG_DFL);
		alarm(SMTP_TAINT_GRACE);
		smtp_deny(d, 421, "4.3.0", "%s a policy check timed out; closing "
		    "the connection", s->env->hostname);
		return SMTP_DROP;
	}
	switch (r) {
	case YH_DECLINED:
		return SMTP_GO;
	case YH_OK:
		if (ok_r)
			*ok_r = 1;
		return SMTP_GO;
	case YH_DENYSOFT:
		d->code = 451;
		d->enh = "4.7.1";
		break;
	case YH_DISCONNECT:
		d->code = 421;
		d->enh = "4.7.0";
		break;
	default:		/* YH_DENY; YH_DISCARD outside delivery */
		d->code = hp == HP_CONNECT ? 554 : 550;
		d->enh = "5.7.1";
		break;
	}
	snprintf(d->text, sizeof(d->text), "%s", "rejected by policy");
	/* the plugin's own reply, when it is of the same class */
	if (s->hs.reply_code / 100 == d->code / 100 && r != YH_DISCONNECT) {
		d->code = s->hs.reply_code;
		if (s->hs.reply_enh[0] && s->hs.reply_enh[0] == '0' + d->code / 100)
			d->enh = s->hs.reply_enh;
	}
	if (s->hs.reply_text[0])
		snprintf(d->text, sizeof(d->text), "%s", s->hs.reply_text);
	/* a refused connection or a disconnect ends the session */
	return r == YH_DISCONNECT || hp == HP_CONNECT ? SMTP_DROP : SMTP_DENY;
}

/* smtp_check_connect - a new client; default: welcome, unless a run-time
 * block (block.h) names its address. */
static enum smtp_verdict
smtp_check_connect(struct smtp_session *s, struct smtp_decision *d)
{
	if (block_check(s->env->store, s->conn.peer_ip) == 1) {
		smtp_deny(d, 554, "5.7.1", "%s: client %s is blocked",
		    s->env->hostname, s->conn.peer_ip);
		return SMTP_DROP;
	}
	return smtp_hook(s, HP_CONNECT, NULL, d, NULL);
}

/* smtp_check_helo - HELO/EHLO NAME; default: any name. */
static enum smtp_verdict
smtp_check_helo(struct smtp_session *s, const char *name,
    struct smtp_decision *d)
{
	enum smtp_verdict v;
	char saved[SMTP_HELO_MAX + 1];

	if (!plugins_any(HP_HELO))
		return SMTP_GO;
	/* the hook sees the name being decided */
	memcpy(saved, s->helo, sizeof(saved));
	(void)str_copy(s->helo, sizeof(s->helo), name);
	v = smtp_hook(s, HP_HELO, NULL, d, NULL);
	memcpy(s->helo, saved, sizeof(saved));
	return v;
}

/* smtp_check_mail - MAIL FROM P; default: submission ports need AUTH,
 * SIZE must fit. */
static enum smtp_verdict
smtp_check_mail(struct smtp_session *s, const struct addr_path *p,
    struct smtp_decision *d)
{
	struct envelope probe;
	enum smtp_verdict v;

	if ((s->env->kind == LK_SUBMISSION || s->env->kind == LK_SMTPS) &&
	    s->auth_user[0] == '\0') {
		smtp_deny(d, 530, "5.7.0", "Authentication required");
		return SMTP_DENY;
	}
	if (p->size >= 0 && s->max_size > 0 && p->size > s->max_size) {
		smtp_deny(d, 552, "5.3.4", "message size exceeds fixed limit");
		return SMTP_DENY;
	}
	if (!plugins_any(HP_MAIL))
		return SMTP_GO;
	/* the hook sees the sender being decided, with no recipient yet */
	memset(&probe, 0, sizeof(probe));
	probe.sender = (char *)p->addr;
	s->hs.size_param = p->size;
	s->hs.txn = &probe;
	v = smtp_hook(s, HP_MAIL, NULL, d, NULL);
	s->hs.txn = NULL;
	return v;
}

/*
 * smtp_check_peer_rcpt - a recipient from a peer node (node.h): only a
 * mailbox this node keeps.  One homed elsewhere (moved since the peer
 * looked) is deferred, never passed on: mail crosses one node hop, so
 * two nodes that disagree cannot bounce it between them.
 */
static enum smtp_verdict
smtp_check_peer_rcpt(struct smtp_session *s, const struct addr_path *p,
    int local, const char *account, struct smtp_decision *d)
{
	char home[NODE_NAME_MAX + 1];
	int r;

	if (local == ADDR_DEST_ERROR) {
		smtp_deny(d, 451, "4.3.0", "<%s>: temporary lookup failure",
		    p->addr);
		return SMTP_DENY;
	}
	if (local != 1 || account == NULL) {
		smtp_deny(d, 550, "5.7.1", "<%s>: a node relays only to the "
		    "mailboxes of this node", p->addr);
		return SMTP_DENY;
	}
	r = node_home_elsewhere(s->env->store, node_self(s->cfg), account, home);
	if (r == -1) {
		smtp_deny(d, 451, "4.3.0", "<%s>: temporary lookup failure",
		    p->addr);
		return SMTP_DENY;
	}
	if (r == 1) {
		smtp_deny(d, 451, "4.3.0", "<%s>: mailbox homed on node %s, not "
		    "here", p->addr, home);
		return SMTP_DENY;
	}
	return SMTP_GO;
}

/*
 * smtp_check_rcpt - RCPT TO P; LOCAL is addr_resolve_local's answer and
 * ACCOUNT the account it found.  Default: existing local users, and
 * anything from an authenticated client.
 */
static enum smtp_verdict
smtp_check_rcpt(struct smtp_session *s, const struct addr_path *p, int local,
    const char *account, struct smtp_decision *d)
{
	enum smtp_verdict v;
	int ok = 0;

	if (s->peer_node)
		return smtp_check_peer_rcpt(s, p, local, account, d);
	/* unknown local users and lookup failures are never a plugin's call */
	if ((local == 1 || local == -1) && plugins_any(HP_RCPT)) {
		s->hs.rcpt_local = local;
		v = smtp_hook(s, HP_RCPT, p->addr, d, &ok);
		if (v != SMTP_GO || ok)
			return v;
	}
	switch (local) {
	case 1:
		return SMTP_GO;
	case 0:
		smtp_deny(d, 550, "5.1.1", "<%s>: no such user here", p->addr);
		return SMTP_DENY;
	case -1:
		if (s->auth_user[0] != '\0')
			return SMTP_GO;
		smtp_deny(d, 554, "5.7.1", "<%s>: relay access denied", p->addr);
		return SMTP_DENY;
	default:
		smtp_deny(d, 451, "4.3.0", "<%s>: temporary lookup failure",
		    p->addr);
		return SMTP_DENY;
	}
}

/* ------------------------------------------------------------------ */
/* helpers                                                              */

void
smtp_txn_reset(struct smtp_session *s)
{
	smtp_bdat_reset(s);
	envelope_clear(&s->txn);
	s->node_id[0] = '\0';
	s->txn_active = 0;
	s->hs.txn = NULL;
	hook_session_txn_reset(&s->hs);
}

const char *
smtp_protocol(const struct smtp_session *s)
{
	static const char *const names[] = { "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" };

	if (!s->esmtp)
		return "SMTP";
	return names[(s->conn.ssl != NULL) + 2 * (s->auth_user[0] != '\0')];
}

/* ------------------------------------------------------------------ */
/* verbs                                                                */

static void
smtp_hello(struct smtp_session *s, char *arg, int esmtp)
{
	struct smtp_decision d = { .code = 0 };
	char esc[SMTP_HELO_MAX * 4 + 8], mechs[128];
	size_t len = strlen(arg);

	if (len == 0) {
		smtp_reject(s, 501, "5.5.4", "Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	if (len > SMTP_HELO_MAX) {
		smtp_reject(s, 501, "5.5.4", "hostname longer than %d octets",
		    SMTP_HELO_MAX);
		return;
	}
	if (smtp_decide(s, smtp_check_helo(s, arg, &d), &d) != SMTP_GO)
		return;
	/* RFC 5321 §4.1.4: a second EHLO is like RSET plus the new name */
	smtp_txn_reset(s);
	memcpy(s->helo, arg, len + 1);
	s->helo_seen = 1;
	s->esmtp = esmtp;
	smtp_log(s, "helo=%s esmtp=%d client=%s",
	    str_escape(esc, sizeof(esc), arg, len), esmtp, s->conn.peer_ip);
	if (!esmtp) {
		smtp_reply(s, 250, NULL, "%s", s->env->hostname);
		return;
	}
	/* RFC 2034 §3: no enhanced codes in the EHLO reply */
	(void)conn_printf(&s->conn, "250-%s\r\n", s->env->hostname);
	(void)conn_printf(&s->conn, "250-PIPELINING\r\n");
	/* RFC 3030 CHUNKING, without BINARYMIME: the queue stores text with
	 * LF line ends, so a chunk is text like DATA's (smtp_bdat.c) */
	(void)conn_printf(&s->conn, "250-CHUNKING\r\n");
	(void)conn_printf(&s->conn, "250-SIZE %lld\r\n", s->max_size);
	(void)conn_printf(&s->conn, "250-8BITMIME\r\n");
	(void)conn_printf(&s->conn, "250-ENHANCEDSTATUSCODES\r\n");
	(void)conn_printf(&s->conn, "250-DSN\r\n");	/* RFC 3461 */
	if (config_int(s->cfg, "queue.max_hold") > 0) {
		/* RFC 4865: max-future-release-interval max-future-release-date-time */
		long long lim = config_int(s->cfg, "queue.max_hold");
		time_t until = (time_t)(time_now() + lim);
		char when[32];
		struct tm tm;

		gmtime_r(&until, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		(void)conn_printf(&s->conn, "250-FUTURERELEASE %lld %s\r\n", lim,
		    when);
	}
	if (s->env->tls != NULL && s->conn.ssl == NULL)
		(void)conn_printf(&s->conn, "250-STARTTLS\r\n");
	if (smtp_auth_advertise(s, mechs, sizeof(mechs)))
		(void)conn_printf(&s->conn, "250-AUTH %s\r\n", mechs);
	(void)conn_printf(&s->conn, "250 SMTPUTF8\r\n");
}

static void
smtp_cmd_helo(struct smtp_session *s, char *arg)
{
	smtp_hello(s, arg, 0);
}

static void
smtp_cmd_ehlo(struct smtp_session *s, char *arg)
{
	smtp_hello(s, arg, 1);
}

/* smtp_mail_dsn - the DSN parameters of MAIL (RFC 3461) into the
 * transaction's envelope. */
static void
smtp_mail_dsn(struct smtp_session *s, const struct addr_path *p)
{
	s->txn.dsn_ret = p->ret;
	free(s->txn.dsn_envid);
	s->txn.dsn_envid = p->envid[0] ? xstrdup(p->envid) : NULL;
}

/*
 * smtp_rcpt_dsn - the DSN parameters of RCPT P into the recipient R just
 * added.  None is made up: an alias that rewrites the address passes
 * NOTIFY and ORCPT on as given (RFC 3461 §5.2.7.1), and a report shows
 * Original-Recipient only when the client gave an ORCPT (§6.3).
 */
static void
smtp_rcpt_dsn(struct env_rcpt *r, const struct addr_path *p)
{
	r->notify = p->notify;
	if (p->orcpt[0])
		r->orcpt = xstrdup(p->orcpt);
}

static void
smtp_cmd_mail(struct smtp_session *s, char *arg)
{
	char esc[ADDR_PATH_MAX * 4 + 8];
	struct smtp_decision d = { .code = 0 };
	struct addr_path p;
	struct addr_error e;

	if (addr_parse(arg, ADDR_MAIL, 0, &p, &e) == -1) {
		smtp_reject(s, e.code, e.enh, "%s", e.text);
		return;
	}
	if (p.hold_for >= 0 || p.hold_until >= 0) {
		/* RFC 4865 FUTURERELEASE: within queue.max_hold */
		long long now = time_now(), max = config_int(s->cfg, "queue.max_hold");
		long long until = p.hold_for >= 0 ? now + p.hold_for : p.hold_until;

		if (max <= 0) {
			smtp_reject(s, 555, "5.5.4", "FUTURERELEASE not available");
			return;
		}
		if (until - now > max) {
			smtp_reject(s, 501, "5.5.4", "hold time over the limit of "
			    "%lld seconds", max);
			return;
		}
		p.hold_until = until > now ? until : 0;
	}
	/* a new transaction before the mail hook: what it leaves (notes,
	 * yh_txn_slot) lasts to the end of this one */
	if (p.node_id[0] != '\0' && !s->peer_node) {
		/* a parameter of node sessions alone (addr.h) */
		smtp_reject(s, 555, "5.5.4", "unsupported parameter XNODEID");
		return;
	}
	smtp_txn_reset(s);
	if (smtp_decide(s, smtp_check_mail(s, &p, &d), &d) != SMTP_GO)
		return;
	(void)str_copy(s->node_id, sizeof(s->node_id), p.node_id);
	s->txn.release_at = p.hold_until > 0 ? p.hold_until : 0;
	s->txn.sender = xstrdup(p.addr);
	s->txn.body_8bit = p.body == ADDR_BODY_8BITMIME;
	s->txn.smtputf8 = p.smtputf8;
	smtp_mail_dsn(s, &p);
	s->txn_active = 1;
	s->hs.txn = &s->txn;
	s->hs.size_param = p.size;
	smtp_reply(s, 250, "2.1.0", "Ok");
	smtp_klog(s, LOG_KIND_CONNECTION,
	    "mail from=<%s> size=%lld body=%s smtputf8=%d client=%s",
	    str_escape(esc, sizeof(esc), p.addr, strlen(p.addr)), p.size,
	    p.body == ADDR_BODY_8BITMIME ? "8bitmime" :
	    p.body == ADDR_BODY_7BIT ? "7bit" : "-", p.smtputf8,
	    s->conn.peer_ip);
}

/* smtp_rcpt_dup - 1 when ADDR/ACCOUNT is already a recipient. */
int
smtp_rcpt_dup(const struct smtp_session *s, const char *addr,
    const char *account)
{
	size_t i;

	for (i = 0; i < s->txn.nrcpt; i++) {
		const struct env_rcpt *r = &s->txn.rcpt[i];

		if (account != NULL && r->account != NULL &&
		    strcmp(account, r->account) == 0)
			return 1;
		if (account == NULL && r->account == NULL &&
		    strcasecmp(addr, r->addr) == 0)
			return 1;
	}
	return 0;
}

static void
smtp_cmd_rcpt(struct smtp_session *s, char *arg)
{
	char esc[ADDR_PATH_MAX * 4 + 8];
	struct smtp_decision d = { .code = 0 };
	struct addr_rcpt to;
	struct addr_path p;
	struct addr_error e;
	const char *acc;
	int local;

	if (addr_parse(arg, ADDR_RCPT, s->txn.smtputf8, &p, &e) == -1) {
		smtp_reject(s, e.code, e.enh, "%s", e.text);
		return;
	}
	str_escape(esc, sizeof(esc), p.addr, strlen(p.addr));
	if (s->auth_cfg != NULL && !auth_rcpt_allow(s->auth_cfg, p.addr)) {
		/* F125: this account may send only to allowed_recipients */
		smtp_reject(s, 550, "5.7.1", "<%s>: %s may not send to this "
		    "recipient", esc, s->auth_user);
		return;
	}
	if (s->max_rcpt > 0 && (long long)s->txn.nrcpt >= s->max_rcpt) {
		/* RFC 5321 §4.5.3.1.10: the client sends the rest later; this
		 * is flow control, not a client error, so it is not counted */
		smtp_reply(s, 452, "4.5.3", "too many recipients");
		smtp_log(s, "reject cmd=RCPT code=452 dsn=4.5.3 to=<%s> "
		    "client=%s text=\"too many recipients\"", esc,
		    s->conn.peer_ip);
		return;
	}
	/* aliases and postmaster (addr.h): TO.addr is the recipient to
	 * store, rewritten when an alias says so; a local address sent out
	 * (ADDR_DEST_REMOTE) is ours to accept, like a local account */
	local = addr_resolve_rcpt(s->cfg, s->env->store, p.addr, &to);
	if (local == ADDR_DEST_ERROR)
		smtp_logw(s, "account lookup failed for <%s>", esc);
	acc = local == ADDR_DEST_LOCAL ? to.account : NULL;
	if (smtp_decide(s, smtp_check_rcpt(s, &p, local == ADDR_DEST_REMOTE ?
	    1 : local, acc, &d), &d) != SMTP_GO)
		return;
	if (smtp_rcpt_dup(s, to.addr, acc)) {
		smtp_reply(s, 250, "2.1.5", "Ok (duplicate recipient)");
		return;
	}
	envelope_add_rcpt(&s->txn, to.addr, acc);
	smtp_rcpt_dsn(&s->txn.rcpt[s->txn.nrcpt - 1], &p);
	smtp_reply(s, 250, "2.1.5", "Ok");
	if (strcmp(to.addr, p.addr) != 0) {
		char esc2[ADDR_PATH_MAX * 4 + 8];

		smtp_log(s, "rcpt to=<%s> alias=<%s> account=%s client=%s",
		    str_escape(esc2, sizeof(esc2), to.addr, strlen(to.addr)),
		    esc, acc ? acc : "-", s->conn.peer_ip);
	} else
		smtp_log(s, "rcpt to=<%s> account=%s client=%s", esc,
		    acc ? acc : "-", s->conn.peer_ip);
}

static void
smtp_cmd_rset(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_txn_reset(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void
smtp_cmd_noop(struct smtp_session *s, char *arg)
{
	(void)arg;		/* RFC 5321 §4.1.1.9: a parameter is ignored */
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void
smtp_cmd_quit(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, 221, "2.0.0", "Bye");
	s->quit = 1;
}

/* smtp_verify - VRFY/EXPN ARG answered for local accounts. */
static void
smtp_verify(struct smtp_session *s, char *arg, const char *verb)
{
	char account[ACCOUNT_NAME_MAX + 1], esc[ADDR_PATH_MAX + 16];
	size_t len = strlen(arg), i;
	int r;

	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg[len - 1] = '\0';
		arg++;
		len -= 2;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
			break;
	if (len == 0 || i < len || len > ADDR_PATH_MAX) {
		smtp_reject(s, 501, "5.5.4", "Syntax: %s address", verb);
		return;
	}
	str_escape(esc, sizeof(esc), arg, len);
	r = addr_resolve_local(s->cfg, s->env->store, arg, account);
	switch (r) {
	case 1:
		/* a per-domain account (NAME@DOMAIN) is its own address */
		if (strchr(account, '@') != NULL)
			smtp_reply(s, 250, "2.1.5", "<%s>", account);
		else
			smtp_reply(s, 250, "2.1.5", "<%s@%s>", account,
			    config_str(s->cfg, "server.domain"));
		break;
	case 0:
		smtp_reject(s, 550, "5.1.1", "<%s>: no such user here", esc);
		break;
	case -1:
		smtp_reply(s, 252, "2.1.5", "<%s>: cannot verify, try RCPT", esc);
		break;
	default:
		smtp_reject(s, 451, "4.3.0", "temporary lookup failure");
		break;
	}
}

static void
smtp_cmd_vrfy(struct smtp_session *s, char *arg)
{
	if (!config_bool(s->cfg, "smtp.vrfy_expn")) {
		smtp_reply(s, 252, "2.5.0", "Cannot VRFY user");
		return;
	}
	smtp_verify(s, arg, "VRFY");
}

static void
smtp_cmd_expn(struct smtp_session *s, char *arg)
{
	if (!config_bool(s->cfg, "smtp.vrfy_expn")) {
		smtp_reject(s, 502, "5.5.1", "EXPN not supported");
		return;
	}
	/* no lists yet: a user expands to itself (RFC 5321 §3.5.2) */
	smtp_verify(s, arg, "EXPN");
}

static void
smtp_cmd_help(struct smtp_session *s, char *arg)
{
	(void)arg;
	/* only what this session can use */
	smtp_reply(s, 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT "
	    "RSET NOOP QUIT%s HELP%s AUTH; see RFC 5321",
	    config_bool(s->cfg, "smtp.vrfy_expn") ? " VRFY EXPN" : "",
	    s->env->tls != NULL && s->conn.ssl == NULL ? " STARTTLS" : "");
}

static void
smtp_cmd_starttls(struct smtp_session *s, char *arg)
{
	const char *why;
	size_t dropped;

	(void)arg;
	if (s->conn.ssl != NULL) {
		smtp_reject(s, 503, "5.5.1", "TLS already active");
		return;
	}
	if (s->env->tls == NULL) {
		smtp_reject(s, 454, "4.7.0", "TLS not available");
		return;
	}
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (conn_flush(&s->conn) == -1) {
		s->quit = 1;
		return;
	}
	/* CVE-2011-0411: plaintext pipelined after STARTTLS must not be
	 * taken as if it came over TLS */
	dropped = s->conn.in.len - s->conn.in_off;
	conn_discard_input(&s->conn);
	if (dropped > 0)
		smtp_logw(s, "discarded %zu bytes pipelined after STARTTLS "
		    "client=%s", dropped, s->conn.peer_ip);
	/* port 25 only: the wider opportunistic cipher list (tls.h) */
	s->conn.tls_opportunistic = s->env->kind == LK_SMTP;
	if (conn_tls_accept(&s->conn, s->env->tls, &why) == -1) {
		smtp_log(s, "starttls failed client=%s: %s", s->conn.peer_ip, why);
		s->quit = 1;
		return;
	}
	/* RFC 3207 §4.2: forget everything learnt before TLS */
	smtp_txn_reset(s);
	s->helo_seen = 0;
	s->esmtp = 0;
	s->helo[0] = '\0';
	s->auth_user[0] = '\0';
	config_free(&s->auth_cfg);
	smtp_log(s, "starttls %s client=%s", conn_tls_info(&s->conn),
	    s->conn.peer_ip);
}

static void
smtp_cmd_http(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reject(s, 421, "4.7.0", "%s this is an SMTP server",
	    s->env->hostname);
	s->quit = 1;
}

/* ------------------------------------------------------------------ */
/* the command loop                                                     */

static const struct smtp_cmd *
smtp_lookup(const char *verb, size_t len)
{
	const struct smtp_cmd *c;

	for (c = smtp_cmds; c->verb != NULL; c++)
		if (strlen(c->verb) == len && strncasecmp(c->verb, verb, len) == 0)
			return c;
	return NULL;
}

/*
 * smtp_state_ok - 1 when the session is in a state where C may run, else
 * 0 after the 503 for the first of C's states that does not hold.  AUTH
 * (an ESMTP extension) asks for EHLO and is "not permitted" inside a
 * transaction; a second MAIL is "nested".
 */
static int
smtp_state_ok(struct smtp_session *s, const struct smtp_cmd *c)
{
	int auth = strcmp(c->verb, "AUTH") == 0;

	if ((c->state & SMTP_S_HELO) && !s->helo_seen)
		smtp_reject(s, 503, "5.5.1", "send %s first",
		    auth ? "EHLO" : "HELO/EHLO");
	else if ((c->state & SMTP_S_NOAUTH) && s->auth_user[0] != '\0')
		smtp_reject(s, 503, "5.5.1", "already authenticated");
	else if ((c->state & SMTP_S_MAIL) && !s->txn_active)
		smtp_reject(s, 503, "5.5.1", "need MAIL command");
	else if ((c->state & SMTP_S_NOMAIL) && s->txn_active)
		smtp_reject(s, 503, "5.5.1", "%s", auth ?
		    "AUTH not permitted during a mail transaction" :
		    "nested MAIL command");
	else if ((c->state & SMTP_S_NOBDAT) && smtp_bdat_active(s))
		/* RFC 3030 §2: no DATA in a BDAT transaction; nor RCPT, as
		 * the Received: header already names the recipients */
		smtp_reject(s, 503, "5.5.1", "%s after BDAT", c->verb);
	else
		return 1;
	return 0;
}

/* smtp_phase - what the worker does while VERB runs (board.h) */
static enum board_phase
smtp_phase(const char *verb)
{
	if (strcmp(verb, "DATA") == 0)
		return BP_DATA;
	if (strcmp(verb, "BDAT") == 0)
		return BP_BDAT;
	if (strcmp(verb, "AUTH") == 0)
		return BP_AUTH;
	if (strcmp(verb, "STARTTLS") == 0)
		return BP_TLS;
	return BP_COMMAND;
}

/* smtp_dispatch - one command LINE (LEN bytes, NUL-terminated). */
static void
smtp_dispatch(struct smtp_session *s, char *line, size_t len)
{
	const struct smtp_cmd *c;
	char esc[64], *arg, *end;
	size_t vlen;

	s->verb = "-";
	if (memchr(line, '\0', len) != NULL) {
		smtp_reject(s, 500, "5.5.2", "NUL byte in command");
		return;
	}
	vlen = strcspn(line, " ");
	c = vlen <= SMTP_VERB_MAX ? smtp_lookup(line, vlen) : NULL;
	if (c == NULL) {
		s->verb = "UNKNOWN";
		smtp_reject(s, 500, "5.5.1", "command unrecognized: %s",
		    str_escape(esc, sizeof(esc), line, vlen < 32 ? vlen : 32));
		return;
	}
	s->verb = c->verb;
	if (len > SMTP_LINE_MAX && !(c->flags & SMTP_F_LONG)) {
		smtp_reject(s, 500, "5.5.6", "line too long");
		if (c->flags & SMTP_F_CHUNK)	/* where would its chunk end? */
			s->quit = 1;
		return;
	}
	arg = line + vlen;
	while (*arg == ' ')
		arg++;
	end = arg + strlen(arg);
	while (end > arg && end[-1] == ' ')	/* liberal: trailing blanks */
		*--end = '\0';
	if ((c->flags & SMTP_F_NOARG) && *arg != '\0') {
		smtp_reject(s, 501, "5.5.4", "Syntax: %s (no parameters)", c->verb);
		return;
	}
	if (!smtp_state_ok(s, c))
		return;
	board_phase(smtp_phase(c->verb));
	c->fn(s, arg);
}

static void
smtp_limits(struct smtp_session *s)
{
	const struct config *cfg = s->cfg;
	long long t;

	s->max_size = config_int(cfg, "smtp.max_message_size");
	s->max_rcpt = config_int(cfg, "smtp.max_recipients");
	s->max_hops = config_int(cfg, "smtp.max_hops");
	s->max_errors = config_int(cfg, "smtp.max_errors");
	s->max_commands = config_int(cfg, "smtp.max_commands");
	s->auth_max_failures = config_int(cfg, "smtp.auth_max_failures");
	s->auth_fail_delay = config_int(cfg, "smtp.auth_fail_delay");
	t = config_int(cfg, "smtp.timeout_command");
	s->timeout_cmd_ms = t > 0 && t < INT_MAX / 1000 ? (int)t * 1000 : INT_MAX;
	t = config_int(cfg, "smtp.timeout_data");
	s->timeout_data_ms = t > 0 && t < INT_MAX / 1000 ? (int)t * 1000 : INT_MAX;
	/* a session, however busy, ends in bounded time (slowloris) */
	t = config_int(cfg, "smtp.timeout_session");
	s->session_end_ms = t > 0 && t < LLONG_MAX / 2000 ? now_ms() + t * 1000 : 0;
	s->data_min_rate = config_int(cfg, "smtp.data_min_rate");
}

/* smtp_greet - TLS for smtps, early-talker check, the 220.  0 or -1 (end). */
static int
smtp_greet(struct smtp_session *s)
{
	struct smtp_decision d = { .code = 0 };
	const char *why;
	long long delay;
	int early;

	if (s->env->kind == LK_SMTPS) {
		if (s->env->tls == NULL) {
			smtp_logw(s, "smtps without TLS configured client=%s",
			    s->conn.peer_ip);
			return -1;
		}
		if (conn_tls_accept(&s->conn, s->env->tls, &why) == -1) {
			smtp_log(s, "tls failed client=%s: %s", s->conn.peer_ip, why);
			return -1;
		}
	}
	/* a refused connection is closed at once (as postscreen does) */
	if (smtp_decide(s, smtp_check_connect(s, &d), &d) != SMTP_GO)
		return -1;
	/* RFC 5321 §4.3.1: the client waits for the greeting.  One that
	 * talks first is a spam engine blasting blindly. */
	delay = config_int(s->cfg, "smtp.greet_delay");
	if (delay > 0)
		early = conn_wait_readable(&s->conn,
		    delay < INT_MAX / 1000 ? (int)delay * 1000 : INT_MAX) == 1;
	else
		early = conn_pending(&s->conn);
	if (early) {
		s->verb = "CONNECT";
		smtp_reject(s, 554, "5.5.0", "%s protocol error: talked before "
		    "the greeting", s->env->hostname);
		return -1;
	}
	smtp_reply(s, 220, NULL, "%s ESMTP yubin", s->env->hostname);
	return 0;
}

void
smtp_session(const struct session_env *env, int fd)
{
	struct smtp_session s;
	char *line;
	size_t len;
	int r, term;

	memset(&s, 0, sizeof(s));
	s.env = env;
	s.cfg = env->cfg;
	conn_init(&s.conn, fd);
	hook_session_init(&s.hs);
	s.hs.peer_ip = s.conn.peer_ip;
	s.hs.peer_port = s.conn.peer_port;
	/* the local socket (HOME/run/submit.sock) is submission by a local
	 * user: plugins see it as the submission listener */
	s.hs.listener = env->kind == LK_SMTPS ? YH_LISTEN_SMTPS :
	    env->kind == LK_SUBMISSION || env->kind == LK_LOCAL ?
	    YH_LISTEN_SUBMISSION : YH_LISTEN_SMTP;
	s.hs.local = env->kind == LK_LOCAL;	/* yh_local_submission */
	s.hs.helo = s.helo;
	s.hs.auth_user = s.auth_user;
	smtp_limits(&s);
	s.conn.timeout_ms = s.timeout_cmd_ms;
	s.conn.deadline_ms = s.session_end_ms;
	if (env->kind == LK_LOCAL) {
		/* the kernel's word for who is calling is the identity: the
		 * session counts as authenticated as "local:UID" (relay
		 * allowed, as for AUTH); no credentials, no session */
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
		    clen != sizeof(cred)) {
			smtp_logw(&s, "local connect: SO_PEERCRED: %s",
			    strerror(errno));
			smtp_reply(&s, 421, "4.7.0", "%s cannot identify the "
			    "local caller", env->hostname);
			s.quit = 1;
		} else {
			snprintf(s.auth_user, sizeof(s.auth_user), "local:%lu",
			    (unsigned long)cred.uid);
			smtp_log(&s, "connect client=local uid=%lu pid=%ld "
			    "listener=local", (unsigned long)cred.uid,
			    (long)cred.pid);
		}
	} else
		smtp_log(&s, "connect client=%s port=%d listener=%s",
		    s.conn.peer_ip, s.conn.peer_port, env->kind == LK_SMTPS ?
		    "smtps" : env->kind == LK_SUBMISSION ? "submission" : "smtp");
	if (!s.quit && smtp_greet(&s) == -1)
		s.quit = 1;
	while (!s.quit) {
		board_phase(BP_COMMAND);
		r = smtp_read_line(&s, SMTP_AUTH_LINE_MAX, &line, &len, &term);
		if (r == CONN_TOOLONG) {
			s.verb = "-";
			smtp_reject(&s, 500, "5.5.6", "line too long");
		} else if (r != CONN_LINE)
			break;
		else if ((long long)++s.commands > s.max_commands &&
		    s.max_commands > 0) {
			smtp_reject(&s, 421, "4.7.0", "%s too many commands",
			    env->hostname);
			s.quit = 1;
			break;
		} else
			smtp_dispatch(&s, line, len);
		if (!s.quit && s.max_errors > 0 &&
		    (long long)s.errors >= s.max_errors) {
			smtp_reply(&s, 421, "4.7.0", "%s too many errors",
			    env->hostname);
			smtp_log(&s, "too many errors client=%s errors=%lu",
			    s.conn.peer_ip, s.errors);
			s.quit = 1;
		}
	}
	(void)conn_flush(&s.conn);
	smtp_txn_reset(&s);
	smtp_log(&s, "disconnect client=%s commands=%lu errors=%lu messages=%lu",
	    s.conn.peer_ip, s.commands, s.errors, s.messages);
	if (plugins_any(HP_DISCONNECT) && !plugins_tainted()) {
		s.hs.tls = s.conn.ssl != NULL;
		plugins_set_qid("");
		plugin_smtp_notify(HP_DISCONNECT, &s.hs);
	}
	hook_session_free(&s.hs);
	config_free(&s.auth_cfg);
	free(s.tpl);
	conn_close(&s.conn);
}
