/*
 * smtp_private - what the files of the SMTP engine share (smtp.c: session,
 * command loop and the small verbs; smtp_auth.c: AUTH; smtp_data.c: DATA,
 * the message body consumer both DATA and BDAT feed, the Received: header
 * and the hand-over to the queue; smtp_bdat.c: BDAT, RFC 3030).  Not for
 * any other module: the engine's only public entry point is smtp_session()
 * in session.h.
 */
#ifndef YUBIN_SMTP_PRIVATE_H
#define YUBIN_SMTP_PRIVATE_H

#include <stddef.h>

#include "account.h"
#include "addr.h"
#include "log.h"
#include "conn.h"
#include "plugin.h"
#include "queue.h"
#include "session.h"

/*
 * Line limits.  RFC 5321 §4.5.3.1.4/6 give 512 octets for a command line
 * and 1000 for a text line as minimums a server must accept; real clients
 * exceed both, so we take more, but never without bound.
 */
#define SMTP_LINE_MAX		2048	/* a command line; ESMTP params need slack */
#define SMTP_AUTH_LINE_MAX	12288	/* AUTH command and responses (RFC 4954 §4) */
#define SMTP_DATA_LINE_MAX	1000000	/* one DATA line; past it the message is refused */
#define SMTP_HELO_MAX		255	/* the envelope keeps helo[256] */
#define SMTP_TEXT_MAX		512	/* a reply text we compose */
#define SMTP_BYE_MS		5000	/* for the 421 after a timeout */
#define SMTP_HEADER_TPL_MAX	8192	/* CONFDIR/header.dat */
#define SMTP_HEADER_MAX		16384	/* the Received: header we build */
/* a BDAT chunk's size: past it the argument is refused as malformed.  2^53
 * octets (8 PiB) is beyond any message we could store, and every client's
 * arithmetic (a double included) counts it exactly */
#define SMTP_BDAT_MAX		(1LL << 53)

/* smtp_decision - what a decision point (its hook chain, then the
 * built-in default) answers. */
enum smtp_verdict {
	SMTP_GO = 0,		/* go on with the default action */
	SMTP_DENY,		/* reply CODE ENH TEXT, go on with the session */
	SMTP_DROP,		/* reply CODE ENH TEXT and close the session */
};

struct smtp_decision {
	int	 code;
	const char *enh;
	char	 text[SMTP_TEXT_MAX];
};

/*
 * smtp_body - one message on its way into the queue, fed line by line by
 * DATA (smtp_data.c) or BDAT (smtp_bdat.c) alike: what it holds and what
 * was wrong with it.  Once something is wrong nothing more is written, but
 * the feeder still reads the message to its end.
 */
struct smtp_body {
	struct queue_in *q;		/* owned; NULL: no message open */
	int	 flags;			/* what went wrong (smtp_data.c) */
	int	 in_header;		/* no empty line seen yet */
	long long wire;			/* octets as they travel (CRLF lines) */
	long long hops;			/* trace fields, ours (1) included */
	long long hdr_crlf;		/* our Received: header, CRLF octets */
};

/*
 * smtp_bdat - a BDAT transaction (RFC 3030): the message, open from the
 * first chunk to the last one, RSET, MAIL, EHLO or a refusal.
 */
struct smtp_bdat {
	struct smtp_body body;
	long long octets;		/* chunk octets taken so far */
	struct buf part;		/* a line begun in one chunk and not
					 * ended yet (bounded: SMTP_DATA_LINE_MAX) */
	int	 skip;			/* dropping the rest of an over-long line */
};

struct smtp_session {
	const struct session_env *env;
	const struct config *cfg;
	struct conn conn;

	/* limits, read once from the configuration (0 = unlimited) */
	long long max_size;		/* smtp.max_message_size, bytes */
	long long max_rcpt;		/* smtp.max_recipients */
	long long max_hops;		/* smtp.max_hops */
	long long max_errors;		/* smtp.max_errors */
	long long max_commands;		/* smtp.max_commands */
	long long auth_max_failures;	/* smtp.auth_max_failures */
	long long auth_fail_delay;	/* smtp.auth_fail_delay, seconds */
	int	 timeout_cmd_ms;	/* smtp.timeout_command */
	int	 timeout_data_ms;	/* smtp.timeout_data */
	long long session_end_ms;	/* now_ms() + smtp.timeout_session; 0 none */
	long long data_min_rate;	/* smtp.data_min_rate, bytes/s; 0 none */

	/* session state */
	int	 helo_seen;		/* HELO or EHLO accepted */
	int	 esmtp;			/* it was EHLO */
	char	 helo[SMTP_HELO_MAX + 1];	/* as sent (log-escaped on use) */
	char	 auth_user[ACCOUNT_NAME_MAX + 1];	/* "" = not authenticated */
	int	 peer_node;	/* authenticated as a node of this site
				 * (node.h): local mailboxes only, no
				 * plugin runs again */
	char	 node_id[ADDR_NODE_ID_MAX + 1];	/* the transaction's MAIL
				 * XNODEID= (peer nodes only): the relaying
				 * node's queue id, "" none */
	struct config	*auth_cfg;	/* the AUTH account's config.def over
					 * cfg (allowed_recipients); NULL: cfg */
	unsigned long auth_failures;
	unsigned long errors;		/* 4xx/5xx replies to the client's mistakes */
	unsigned long commands;
	unsigned long messages;		/* queued in this session */
	int	 quit;			/* close after the replies are flushed */
	const char *verb;		/* the command being served (for logs) */
	char	 qid[QUEUE_ID_LEN + 1];	/* during DATA: the queue id, else "" */

	/* the transaction: MAIL to end of DATA or RSET */
	int	 txn_active;
	struct envelope txn;		/* sender, accepted recipients, flags */

	struct smtp_bdat bdat;		/* BDAT: the message between chunks */

	/* what plugins see (plugin.h); kept current by the engine */
	struct yh_session hs;

	/* header.dat, read on first use; NULL: use the built-in default */
	int	 tpl_loaded;
	char	*tpl;
	size_t	 tpl_len;
};

/* smtp_reply - queue one reply line "CODE ENH TEXT" (ENH NULL: no enhanced
 * code; only for the greeting and HELO/EHLO, RFC 2034 §3). */
void	smtp_reply(struct smtp_session *s, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* smtp_reject - smtp_reply, count it against smtp.max_errors, and log it. */
void	smtp_reject(struct smtp_session *s, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* smtp_log - info line "QID|NOQUEUE: TEXT sid=%06lx". */
void	smtp_log(struct smtp_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* smtp_rcpt_dup - 1 when ADDR/ACCOUNT (NULL: not local) is already a
 * recipient of the transaction. */
int	smtp_rcpt_dup(const struct smtp_session *s, const char *addr,
	    const char *account);
/* smtp_klog - smtp_log for an event of KIND (log.h): nothing when the
 * kind is off, else "QID|NOQUEUE: TEXT kind=NAME sid=%06lx". */
void	smtp_klog(struct smtp_session *s, enum log_kind kind, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* smtp_logw - the same at warning level. */
void	smtp_logw(struct smtp_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* smtp_decide - send D's reply for verdict V (SMTP_DROP ends the session);
 * returns V. */
enum smtp_verdict smtp_decide(struct smtp_session *s, enum smtp_verdict v,
	    const struct smtp_decision *d);

/*
 * smtp_read_line - flush pending replies unless more input is already
 * buffered (PIPELINING, RFC 2920 §3.1), then read one line of at most MAX
 * bytes.  Returns CONN_LINE, or CONN_TOOLONG; on EOF, error or timeout it
 * has already replied / logged as needed, set s->quit and returns that
 * status.  *line_r borrowed until the next read.
 */
int	smtp_read_line(struct smtp_session *s, size_t max, char **line_r,
	    size_t *len_r, int *term_r);
/* smtp_input_lost - the input ended with conn status R (EOF, error,
 * timeout): the 421 for a timeout, the log line, s->quit. */
void	smtp_input_lost(struct smtp_session *s, int r);
/* smtp_deny - fill D with a refusal CODE ENH TEXT. */
void	smtp_deny(struct smtp_decision *d, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * smtp_hook - run the plugin chain of decision point HP (ARG: the rcpt).
 * Returns SMTP_GO when no plugin refused (and sets *ok_r to 1 when one
 * answered YH_OK, so the caller may skip its own default), else fills D
 * with the plugin's reply (or the default for its result) and returns
 * SMTP_DENY or SMTP_DROP.
 */
enum smtp_verdict smtp_hook(struct smtp_session *s, enum hook_point hp,
	    const char *arg, struct smtp_decision *d, int *ok_r);

/* smtp_txn_reset - forget the transaction (RSET, HELO, after DATA). */
void	smtp_txn_reset(struct smtp_session *s);
/* smtp_protocol - "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" (RFC 3848). */
const char *smtp_protocol(const struct smtp_session *s);

/* smtp_auth.c */
void	smtp_cmd_auth(struct smtp_session *s, char *arg);
/* smtp_auth_advertise - the EHLO "AUTH ..." mechanisms into OUT (SIZE
 * bytes); 0 when none is offered, else 1. */
int	smtp_auth_advertise(const struct smtp_session *s, char *out, size_t size);

/* smtp_data.c */
void	smtp_cmd_data(struct smtp_session *s, char *arg);

/*
 * The message body consumer.  smtp_body_open - a queue file for a new
 * message in B (s->qid is its id), the Received: header written.  0, or
 * -1 (logged; the caller answers 451 4.3.0 and B holds nothing).
 */
int	smtp_body_open(struct smtp_session *s, struct smtp_body *b);
/* smtp_body_line - one line of the message, LEN bytes at P without its line
 * end (and without DATA's dot-stuffing); BARE: it did not end in CRLF. */
void	smtp_body_line(struct smtp_session *s, struct smtp_body *b,
	    const char *p, size_t len, int bare);
/* smtp_body_long - a line over SMTP_DATA_LINE_MAX went by (not stored). */
void	smtp_body_long(struct smtp_body *b);
/* smtp_body_oversize - the message will be WIRE octets, over
 * smtp.max_message_size (BDAT knows it from the chunk sizes). */
void	smtp_body_oversize(struct smtp_body *b, long long wire);
/* smtp_body_failed - 1 when the message will be refused whatever follows
 * (bare CR/LF, too big, a line too long, a write error). */
int	smtp_body_failed(const struct smtp_body *b);
/* smtp_body_refuse - the reply for a message smtp_body_failed refuses
 * (the same as at the end of DATA); B is closed. */
void	smtp_body_refuse(struct smtp_session *s, struct smtp_body *b);
/* smtp_body_end - the message in B is complete: refuse it, let the data
 * hook refuse it, or queue it (250 only once durable), and answer.  B is
 * closed. */
void	smtp_body_end(struct smtp_session *s, struct smtp_body *b);
/* smtp_body_close - drop whatever B holds (the queue file is removed);
 * s->qid is forgotten. */
void	smtp_body_close(struct smtp_session *s, struct smtp_body *b);
/*
 * smtp_data_deadline - the data deadline after BYTES more arrived by NOW,
 * from the deadline END before them (smtp.data_min_rate, capped by
 * smtp.timeout_data and the session's end).
 */
long long smtp_data_deadline(const struct smtp_session *s, long long end,
	    long long bytes, long long now);

/* smtp_bdat.c */
/* smtp_cmd_bdat - BDAT SIZE [LAST]: the chunk, then one reply. */
void	smtp_cmd_bdat(struct smtp_session *s, char *arg);
/*
 * smtp_bdat_parse - BDAT's argument ARG ("SIZE" or "SIZE LAST", RFC 3030
 * §2; LAST in any case, blanks between): 0 with *size_r and *last_r, or -1
 * (not of that form, or SIZE over SMTP_BDAT_MAX).
 */
int	smtp_bdat_parse(const char *arg, long long *size_r, int *last_r);
/* smtp_bdat_reset - forget a BDAT transaction (from smtp_txn_reset). */
void	smtp_bdat_reset(struct smtp_session *s);
/* smtp_bdat_active - 1 when a chunk of this transaction was taken. */
int	smtp_bdat_active(const struct smtp_session *s);
/* smtp_received - the Received: header for the current transaction into
 * OUT (LF line ends).  0, or -1 when it does not fit (never for the
 * default). */
int	smtp_received(struct smtp_session *s, struct buf *out);

#endif
