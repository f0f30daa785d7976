/*
 * clamav.h - what the files of the clamav plugin share: limits, the clamd
 * address, the INSTREAM client and its reply parser (clamd.c), and the
 * notice's recipients and text (notify.c).  Neither file makes a yh_*
 * call, so t/unit/clamav.c and t/fuzz/clamav_fuzz.c link them without a
 * server; the hooks live in clamav.c.  Private to plugins/clamav/.
 */
#ifndef CLAMAV_H
#define CLAMAV_H

#include <stddef.h>
#include <sys/socket.h>

#define CV_REPLY_MAX	1024	/* a clamd reply; its longest real one
				 * ("stream: NAME FOUND") is far shorter */
#define CV_NAME_MAX	256	/* a signature name: clamd's own names stay
				 * under 128 characters */
#define CV_CHUNK	65536	/* bytes per INSTREAM chunk: clamd reads any
				 * size up to StreamMaxLength */
#define CV_ADDR_MAX	512	/* an address as the core hands it (<= 256) */

/* ---- clamd's address (clamd.c) ------------------------------------------- */

struct cv_sock {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[300];	/* as configured, for logs */
};

/*
 * cv_sock_parse - the `socket` key S into *SK: an absolute PATH (a Unix
 * socket; it must fit sun_path), or HOST:PORT with HOST an IPv4 address,
 * [IPv6] or a name (resolved now, with getaddrinfo: the first address)
 * and PORT 1..65535.  0, or -1 with *WHY saying what is wrong (static
 * text).
 */
int	cv_sock_parse(const char *s, struct cv_sock *sk, const char **why);

/* ---- clamd's replies (clamd.c) ------------------------------------------- */

enum cv_status {
	CV_CLEAN,	/* "stream: OK" */
	CV_FOUND,	/* "stream: NAME FOUND": NAME in the result */
	CV_ERROR,	/* "... ERROR": clamd could not scan */
	CV_FAIL,	/* no answer: connect, write or read failed, timed
			 * out, closed early, or an answer that is none of
			 * the above */
};

struct cv_result {
	enum cv_status	 status;
	char		 name[CV_NAME_MAX + 1];	/* CV_FOUND: the signature */
	char		 why[160];	/* CV_ERROR, CV_FAIL: printable text */
	long long	 sent;		/* message bytes streamed */
};

/*
 * cv_reply_parse - clamd's answer to INSTREAM, BUF of LEN bytes (without
 * the NUL that ends it; a trailing LF is allowed), into *R.  Printable
 * ASCII only; NAME is 1..CV_NAME_MAX bytes without blanks.  Returns
 * R->status: CV_CLEAN, CV_FOUND, CV_ERROR (R->why holds clamd's text,
 * escaped) or CV_FAIL (R->why "unexpected reply ..." with the reply
 * escaped and cut).  Never reads past LEN.
 */
enum cv_status cv_reply_parse(const char *buf, size_t len,
	    struct cv_result *r);
/* cv_status_name - "clean", "infected", "error", "fail". */
const char *cv_status_name(enum cv_status st);
/* cv_printable - BUF (LEN bytes) into OUT (SIZE >= 1 bytes) with every
 * byte outside printable ASCII as '?'; cut at SIZE - 1.  Returns OUT. */
char	*cv_printable(char *out, size_t size, const char *buf, size_t len);

/* ---- the conversation (clamd.c) ----------------------------------------- */

/* cv_now_ms - the monotonic clock in milliseconds. */
long long cv_now_ms(void);

/*
 * cv_scan - stream the message of descriptor FD (read with pread from
 * offset 0: the caller's offset is not moved) to clamd at SK with
 * zINSTREAM, at most MAX bytes of it, in chunks of CV_CHUNK, and read the
 * answer.  Every connect, write and read waits with poll until DEADLINE
 * (cv_now_ms time) at the latest; writes use MSG_NOSIGNAL (no SIGPIPE).
 * When clamd answers before the stream ends (its StreamMaxLength was
 * reached) the answer is read and parsed.  The result in *R (R->sent the
 * bytes streamed); returns R->status.
 */
enum cv_status cv_scan(const struct cv_sock *sk, int fd, long long max,
	    long long deadline, struct cv_result *r);
/* cv_ping - zPING, expecting PONG, by DEADLINE.  0, or -1 with R->why
 * saying why. */
int	cv_ping(const struct cv_sock *sk, long long deadline,
	    struct cv_result *r);

/* ---- the notice (notify.c) ---------------------------------------------- */

/* What one word of `notify` names. */
enum cv_target {
	CV_T_ADDR,	/* an address */
	CV_T_TO,	/* &TO: the first address of To: */
	CV_T_FROM,	/* &FROM: the first address of From: */
	CV_T_RCV,	/* &RCV: every envelope recipient */
	CV_T_SND,	/* &SND: the envelope sender */
	CV_T_BAD,	/* an '&' word that is none of the four */
};

/* cv_target_parse - what WORD names (the variables in any case). */
enum cv_target cv_target_parse(const char *word);

/*
 * cv_first_addr - the first mailbox address of header value V (an
 * address list as To: and From: hold, unfolded: display names, quoted
 * strings, comments, <angle> forms, groups) into OUT (SIZE bytes), without
 * angle brackets or surrounding blanks.  1 found, 0 none (an empty list,
 * an empty group, "<>"), -1 it does not fit SIZE or is not closed (OUT
 * "" in both: never cut).
 */
int	cv_first_addr(const char *v, char *out, size_t size);

/* The data one notice is made from: all borrowed. */
struct cv_msginfo {
	const char		*sender;	/* envelope sender, "" = <> */
	const char *const	*rcpts;		/* envelope recipients */
	size_t			 nrcpt;
	const char		*hdr_to;	/* first To: address, or NULL */
	const char		*hdr_from;	/* first From: address, or NULL */
	const char		*client;	/* client IP */
	const char		*helo;
	const char		*qid;
	const char		*subject;	/* UTF-8, printable, or NULL */
	const char		*virus;		/* printable ASCII */
	const char		*date;		/* RFC 5322 date */
};

/* A list of addresses, each once (compared without ASCII case). */
struct cv_addrs {
	char	**v;
	size_t	 n;
};

/*
 * cv_expand - the notice's recipients: the N words of WORDS in order,
 * each variable replaced by what it names in *M (&RCV by every envelope
 * recipient), kept only when VALID(address) says 1 (never "" = <>), each
 * address once.  Into *OUT (owned: cv_addrs_free).  0, or -1 out of
 * memory (*OUT empty).
 */
int	cv_expand(const char *const *words, size_t n,
	    const struct cv_msginfo *m, int (*valid)(const char *),
	    struct cv_addrs *out);
void	cv_addrs_free(struct cv_addrs *a);

/*
 * cv_notice - the notice's text (LF line ends) from FROM, the recipients
 * A (the first in To:, the rest in Cc:, folded) and *M: a header that
 * marks it (X-Yubin-Notice: clamav, Auto-Submitted: auto-generated) and a
 * body naming the virus, the client, the envelope and the queue id.
 * *TEXT_R is owned (free), its length in *LEN_R.  0, or -1 (no
 * recipient, out of memory).
 */
int	cv_notice(const char *from, const struct cv_addrs *a,
	    const struct cv_msginfo *m, char **text_r, size_t *len_r);

#endif
