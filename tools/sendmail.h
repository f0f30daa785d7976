/*
 * sendmail.h - what the files of yubin-sendmail share.
 *
 * yubin-sendmail.c parses the three command forms (DESIGN.md §5) and maps
 * every outcome to a sysexits.h status; yubin-sendmail_smtp.c is the SMTP
 * client (local socket HOME/run/submit.sock, or TCP with --smtp);
 * yubin-sendmail_msg.c builds and inspects messages (the -sb MIME message,
 * charset detection, RFC 2047, -t recipients, -onlyonce records).
 *
 * The tool runs as whoever calls it, often a program yubind started for a
 * hostile message: every file it is given is read as data, never executed,
 * and nothing it reads reaches a shell.
 */
#ifndef YUBIN_SENDMAIL_H
#define YUBIN_SENDMAIL_H

#include <stddef.h>

#include "buf.h"

/* sysexits.h values, named here so the mapping is in one place */
enum sm_exit {
	SM_OK = 0,
	SM_USAGE = 64,		/* EX_USAGE: bad command line */
	SM_DATAERR = 65,	/* EX_DATAERR: bad input data, refused message */
	SM_NOINPUT = 66,	/* EX_NOINPUT: an input file is missing/unreadable */
	SM_NOUSER = 67,		/* EX_NOUSER: a recipient was refused (5.1.x) */
	SM_UNAVAILABLE = 69,	/* EX_UNAVAILABLE: no server, or 5xx */
	SM_SOFTWARE = 70,	/* EX_SOFTWARE: our bug */
	SM_OSERR = 71,		/* EX_OSERR */
	SM_CANTCREAT = 73,	/* EX_CANTCREAT: the -onlyonce file */
	SM_IOERR = 74,		/* EX_IOERR */
	SM_TEMPFAIL = 75,	/* EX_TEMPFAIL: 4xx, dropped connection, timeout */
	SM_CONFIG = 78,		/* EX_CONFIG: the configuration cannot be read */
};

#define SM_RCPT_MAX	1000		/* recipients of one run */
#define SM_ADDR_MAX	320		/* RFC 5321 path limits, 64 + 1 + 255 */
#define SM_MSG_MAX	(256LL << 20)	/* a message read from a file or stdin */
#define SM_SB_MAX	(4 << 20)	/* a subject & body file */
#define SM_LINE_MAX	4096		/* one SMTP reply line */

struct sm_rcpts {
	char	*v[SM_RCPT_MAX];	/* owned */
	size_t	 n;
};

/* sm_fail - print "yubin-sendmail: MESSAGE" on stderr; returns CODE. */
int	sm_fail(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* sm_addr_ok - 1 when A is usable as an SMTP path (no white space, control
 * bytes, <>, and at most SM_ADDR_MAX bytes); "" (the null sender) is not. */
int	sm_addr_ok(const char *a);
/* sm_rcpt_add - add ADDR (copied) unless already there.  0, or -1 past
 * SM_RCPT_MAX. */
int	sm_rcpt_add(struct sm_rcpts *r, const char *addr);
void	sm_rcpt_free(struct sm_rcpts *r);

/* ---- yubin-sendmail_smtp.c ---------------------------------------------- */

/*
 * sm_submit - hand one message to a server: TARGET "HOST:PORT" (TCP) or a
 * socket path starting with '/'.  FROM ("" = <>), RCPTS, DATA (LF or CRLF
 * line ends; dot-stuffed and CRLF-terminated here).  All-or-nothing: a
 * refused recipient aborts the transaction.  Returns SM_OK once the server
 * said 250 after the data, else an sm_exit code after printing one line.
 */
int	sm_submit(const char *target, const char *helo, const char *from,
	    const struct sm_rcpts *rcpts, const char *data, size_t len,
	    const char *hold);
/* HOLD: NULL, or the RFC 4865 MAIL parameter ("HOLDFOR=N" or
 * "HOLDUNTIL=DATE-TIME") for --at; a server that does not offer
 * FUTURERELEASE gets nothing and the result is SM_UNAVAILABLE. */

/* ---- yubin-sendmail_msg.c ----------------------------------------------- */

enum sm_charset { SM_CS_ASCII, SM_CS_UTF8, SM_CS_JIS, SM_CS_SJIS, SM_CS_UNKNOWN };

/* sm_detect_charset - the charset of LEN bytes at P. */
enum sm_charset sm_detect_charset(const char *p, size_t len);
/* sm_charset_name - the MIME name ("UTF-8", "ISO-2022-JP", ...). */
const char *sm_charset_name(enum sm_charset cs);

/*
 * sm_build_sb - the -sb message: subject on line 1 of SB, body after it,
 * From FROM, To RCPTS, Date, Message-ID (@DOMAIN), MIME headers with the
 * detected charset, subject RFC 2047-encoded when not ASCII.  0, or -1
 * with a reason in *why_r (static).
 */
int	sm_build_sb(const char *sb, size_t sblen, const char *from,
	    const struct sm_rcpts *rcpts, const char *domain, struct buf *out,
	    const char **why_r);
/*
 * sm_prepare_stdin - the sendmail(8) form: with EXTRACT, add the To/Cc/Bcc
 * addresses of the header to RCPTS; drop Bcc; add From (FROM), Date and
 * Message-ID when missing.  MSG is replaced.  0, or -1 with *why_r.
 */
int	sm_prepare_stdin(struct buf *msg, int extract, const char *from,
	    const char *domain, struct sm_rcpts *rcpts, const char **why_r);

/*
 * sm_onlyonce_* - the -onlyonce RECORDFILE: "sender,recipient" lines.
 * open takes an exclusive flock held until close, so two runs at once
 * send one copy.  open: fd, or -1 after printing why (*code_r set).
 */
int	sm_onlyonce_open(const char *path, int *code_r);
/* sm_onlyonce_filter - drop from RCPTS the pairs FROM,rcpt already in the
 * record. */
void	sm_onlyonce_filter(int fd, const char *from, struct sm_rcpts *rcpts);
/* sm_onlyonce_add - append FROM,rcpt for every RCPT and fsync; 0 or -1. */
int	sm_onlyonce_add(int fd, const char *from, const struct sm_rcpts *rcpts);

#endif
