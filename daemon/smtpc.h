/*
 * smtpc - the SMTP client of the delivery agents: one transaction (one
 * message, every recipient of one destination) over a connected socket.
 *
 * EHLO with HELO fallback; STARTTLS by policy (none / may / encrypt /
 * verify) or implicit TLS; AUTH PLAIN or LOGIN when credentials are given;
 * PIPELINING (MAIL, every RCPT and DATA in one write); SIZE (a message over
 * the peer's limit is not sent); BODY=8BITMIME when the peer offers it (8-bit
 * data is sent unchanged otherwise, as most MTAs do); SMTPUTF8 when the
 * message needs it (a peer without it gets nothing: 5.6.7).  The queue file
 * has LF line ends: lines go out with CRLF and dot-stuffed.  Timeouts are
 * those of RFC 5321 §4.5.3.2.
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
 * smtpc_deliver - run the transaction on C (connected, TLS already done for
 * implicit TLS).  Returns enum smtpc_result; on SMTPC_FAIL *STAGE_R tells
 * where, *SESS_R the reply (code 0 for I/O, timeout and TLS problems).
 * RCPT_R has M->nrcpt slots.  Sends QUIT when the peer is still there.
 */
int	smtpc_deliver(struct conn *c, const struct smtpc_msg *m,
	    struct smtpc_reply *rcpt_r, struct smtpc_reply *sess_r, int *stage_r);

#endif
