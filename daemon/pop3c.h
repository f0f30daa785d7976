/*
 * pop3c - the POP3 client of the fetch runs (RFC 1939, STLS of RFC 2595,
 * implicit TLS of RFC 8314): connect, log in with USER/PASS, list the
 * messages by UIDL, read headers (TOP n 0) and messages (RETR), DELE,
 * QUIT.
 *
 * Every wait is bounded by the connection's timeout (one reply line, one
 * message line) and every size by a ceiling: a reply line
 * POP3C_LINE_MAX, a listing POP3C_MSGS_MAX entries, headers
 * POP3C_HEADER_MAX, a message the caller's maximum.  A reply that is not
 * "+OK"/"-ERR", a line too long (in a message: skipped and reported, as
 * the message cannot be taken whole), a multi-line answer that does not end
 * within its bound, a timeout or a closed connection end the session:
 * the call returns -1 with the reason in pop3c.why, and only pop3c_close
 * is left.  Multi-line answers are dot-unstuffed and their lines given
 * without their terminator (CRLF or a bare LF); a bare CR inside a line
 * is dropped.
 *
 * Never: send the password anywhere but after USER inside the session,
 * put it in why, or log (the caller logs, with why escaped).
 */
#ifndef YUBIN_POP3C_H
#define YUBIN_POP3C_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "conn.h"

#define POP3C_LINE_MAX		(64 * 1024)	/* a reply or message line */
#define POP3C_MSGS_MAX		100000		/* messages listed (UIDL, LIST) */
#define POP3C_HEADER_MAX	(256 * 1024)	/* TOP n 0: the header section */
#define POP3C_WHY_MAX		320
#define POP3C_UIDL_MAX		70		/* RFC 1939 §7 */

struct pop3c {
	struct conn	 c;
	int		 open;		/* c holds a connection */
	char		 why[POP3C_WHY_MAX];	/* the last failure */
	char		 peer[64];	/* the address connected to */
};

struct pop3c_msg {
	size_t		 num;		/* message number */
	long long	 size;		/* octets (LIST) */
	char		 uid[POP3C_UIDL_MAX + 1];
};

/*
 * pop3c_connect - connect to HOST:PORT (each address in turn, TIMEOUT_MS
 * for each and for every reply), TLS at once when IMPLICIT, read the
 * greeting, STLS when STLS (a server that refuses it fails the session).
 * CTX verifies the server (its name HOST) whenever TLS is used.  0 or -1.
 */
int	pop3c_connect(struct pop3c *p, const char *host, int port, int implicit,
	    int stls, SSL_CTX *ctx, int timeout_ms);
/* pop3c_login - USER then PASS.  0 or -1 (why carries the server's -ERR). */
int	pop3c_login(struct pop3c *p, const char *user, const char *pass);
/*
 * pop3c_list - every message with its UIDL and size (UIDL, then LIST):
 * *MSGS_R (owned, free()) and *N_R.  A UIDL outside RFC 1939's form
 * (1..70 bytes 0x21..0x7e) or a number twice fails.  0 or -1.
 */
int	pop3c_list(struct pop3c *p, struct pop3c_msg **msgs_r, size_t *n_r);
/* pop3c_top - the header section of message NUM (TOP NUM 0) into OUT
 * (reset first; LF line ends).  0, -1, or 1 when a line was over
 * POP3C_LINE_MAX (skipped; the session goes on, OUT lacks it). */
int	pop3c_top(struct pop3c *p, size_t num, struct buf *out);
/*
 * pop3c_retr - message NUM: FN gets each line (without its terminator,
 * unstuffed) in order; more than MAX octets (counted with CRLF) fails.
 * FN returns 0, or -1 to fail (why: "local error").  0, -1, or 1 when a
 * line was over POP3C_LINE_MAX (skipped, not given to FN; the session
 * goes on: the message is not whole).
 */
int	pop3c_retr(struct pop3c *p, size_t num, long long max,
	    int (*fn)(void *ctx, const char *line, size_t len), void *ctx);
/* pop3c_dele - mark NUM deleted.  0 or -1. */
int	pop3c_dele(struct pop3c *p, size_t num);
/* pop3c_quit - QUIT: 0 when the server answers +OK (its deletions are
 * done), -1 not. */
int	pop3c_quit(struct pop3c *p);
/* pop3c_close - end the connection (no QUIT). */
void	pop3c_close(struct pop3c *p);

#endif
