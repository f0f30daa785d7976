/*
 * smtpc - the SMTP client of the delivery agents: a session over a
 * connected socket (greeting, EHLO, STARTTLS, AUTH), then one transaction
 * per message (every recipient of one destination), then QUIT.  A session
 * whose last transaction ended cleanly may carry the next message: the
 * agents keep it for a while (agent.c, connection reuse).
 *
 * EHLO with HELO fallback; STARTTLS by policy (none / may / encrypt /
 * verify) or implicit TLS; AUTH PLAIN or LOGIN when credentials are given,
 * and only inside TLS (never in clear text, whatever the policy);
 * PIPELINING (MAIL, every RCPT and DATA in one write); SIZE (a message over
 * the peer's limit is not sent); BODY=8BITMIME when the peer offers it, and
 * a message declared 8-bit converted to 7 bits (mime8.h) for a peer that
 * does not (RFC 6152 §3; one that cannot be converted bounces with
 * 5.6.5); DSN (RFC 3461: RET, ENVID, NOTIFY, ORCPT passed on, as xtext,
 * when the peer offers it); SMTPUTF8 when the
 * message needs it (a peer without it gets nothing: 5.6.7).  The queue file
 * has LF line ends: lines go out with CRLF and dot-stuffed.  A peer that
 * offers CHUNKING (RFC 3030) gets the message as BDAT chunks instead of
 * DATA: SMTPC_CHUNK octets each, CRLF line ends, no dot-stuffing, the last
 * one "BDAT n LAST", several in one write with PIPELINING.  BDAT is used
 * whenever it is offered, as Exim's client does (Postfix's never uses
 * it): it spares the peer the end-of-data scan and us the dot-stuffing,
 * and its replies are the same as DATA's.  Timeouts are
 * those of RFC 5321 §4.5.3.2, each capped by queue.smtp_timeout when set.
 *
 * Never: log (the caller logs one line per recipient), or touch the store.
 */
#ifndef YUBIN_SMTPC_H
#define YUBIN_SMTPC_H

#include <stddef.h>

#include <openssl/ssl.h>

struct conn;

#define SMTPC_TEXT_MAX	512	/* a reply kept for logs and bounces */
#define SMTPC_LINE_MAX	4096	/* a reply line we accept (RFC 5321: 512) */
#define SMTPC_LINES_MAX	100	/* lines of one multi-line reply */
#define SMTPC_CHUNK	65536	/* octets of one BDAT chunk: big enough that
				 * the command costs nothing, small enough
				 * for a peer's one read */
#define SMTPC_BDAT_AHEAD 8	/* BDAT chunks sent before the oldest one's
				 * reply is read (PIPELINING) */

struct smtpc_msg {
	const char	*helo;		/* our name for EHLO */
	const char	*sender;	/* "" = <> */
	const char *const *rcpts;
	size_t		 nrcpt;
	int		 fd;		/* queue file, read from offset 0 */
	long long	 size_crlf;
	int		 body_8bit;
	int		 smtputf8;
	int		 tls;		/* enum route_tls */
	int		 implicit_tls;	/* already TLS when called */
	const char	*servername;	/* for SNI and verification */
	SSL_CTX		*tls_ctx;	/* unverified client context */
	SSL_CTX		*tls_vctx;	/* verifying context (tls=verify) */
	const char	*user;		/* "" or NULL = no AUTH */
	const char	*pass;
	int		 dsn_ret;	/* DSN (dsn.h), passed on when the peer */
	const char	*dsn_envid;	/* offers DSN: RET, ENVID ("" none), */
	const int	*notify;	/* each recipient's NOTIFY (0 none) and */
	const char *const *orcpt;	/* ORCPT ("" none); NULL: none at all */
	const char	*node_id;	/* MAIL XNODEID= to a node of this
					 * site (our queue id); NULL none */
};

struct smtpc_reply {
	int	code;			/* 0: no reply (I/O error, timeout) */
	char	text[SMTPC_TEXT_MAX];	/* "550 5.1.1 ..." or a local reason */
};

enum smtpc_result {
	SMTPC_DONE = 0,		/* RCPT_R[i] holds each recipient's outcome */
	SMTPC_FAIL = -1,	/* the session failed before any recipient
				 * outcome: *SESS_R says why */
};

/* What EHLO said. */
struct smtpc_caps {
	int	esmtp;
	int	pipelining;
	int	size_adv;	/* SIZE offered */
	long long size;		/* 0: no limit stated */
	int	eightbit;
	int	smtputf8;
	int	starttls;
	int	auth_plain;
	int	auth_login;
	int	chunking;	/* CHUNKING offered: BDAT (RFC 3030) */
	int	dsn;		/* DSN (RFC 3461) offered */
};

struct smtpc_session {
	struct conn	*c;
	struct smtpc_caps caps;
	int		 alive;		/* the peer still answers: QUIT at close */
	int		 clean;		/* no transaction open: MAIL may follow */
};

enum smtpc_stage {
	SMTPC_ST_GREETING,
	SMTPC_ST_EHLO,
	SMTPC_ST_TLS,
	SMTPC_ST_AUTH,
	SMTPC_ST_MAIL,
	SMTPC_ST_RCPT,
	SMTPC_ST_DATA,
};

/*
 * smtpc_open - start session S on C (connected, TLS already done for
 * implicit TLS): greeting, EHLO (HELO), STARTTLS and AUTH as M asks.
 * SMTPC_DONE, or SMTPC_FAIL with *STAGE_R and *SESS_R (code 0 for I/O,
 * timeout and TLS problems); after a failure only smtpc_close is left.
 */
int	smtpc_open(struct smtpc_session *s, struct conn *c,
	    const struct smtpc_msg *m, struct smtpc_reply *sess_r, int *stage_r);
/*
 * smtpc_send - one transaction of M on open session S.  SMTPC_DONE with
 * RCPT_R[i] (M->nrcpt slots) each recipient's outcome, or SMTPC_FAIL as
 * smtpc_open.  Afterwards S->clean says whether another may follow.
 */
int	smtpc_send(struct smtpc_session *s, const struct smtpc_msg *m,
	    struct smtpc_reply *rcpt_r, struct smtpc_reply *sess_r, int *stage_r);
/* smtpc_timeout_cap - no wait longer than SECONDS from now on (0: the
 * RFC 5321 §4.5.3.2 values); queue.smtp_timeout. */
void	smtpc_timeout_cap(int seconds);
/* smtpc_timeout - SECS, or the cap when it is shorter: every wait of the
 * client and its delivery agent (connect, TLS handshake) goes through it. */
int	smtpc_timeout(int secs);
/* smtpc_line_fn - sees one reply line, escaped (str_escape), bounded. */
typedef void	smtpc_line_fn(void *ctx, const char *line);
/*
 * smtpc_reply_read - one reply from C within SECS seconds (capped as every
 * wait is), parsed as the client parses its own: bounded line length and
 * count, the code, R's text, CAPS (EHLO keywords) when not NULL, and LINE
 * (when not NULL) called with each line.  The code, or 0 (R->text says
 * why).  For tools that show what a server answers (yubinctl check).
 */
int	smtpc_reply_read(struct conn *c, int secs, struct smtpc_reply *r,
	    struct smtpc_caps *caps, smtpc_line_fn *line, void *ctx);
/* smtpc_close - QUIT when the peer is still talking; C stays the caller's. */
void	smtpc_close(struct smtpc_session *s);

#endif
