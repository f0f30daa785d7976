/*
 * smtp_bdat.c - BDAT for the SMTP engine (RFC 3030 CHUNKING): "BDAT SIZE
 * [LAST]" and then exactly SIZE octets, the chunk, with no dot-stuffing
 * and no end marker; one reply per chunk.  The chunks of a transaction
 * make one message, which goes the way of DATA's: the chunks are cut into
 * lines (a line may run across chunks, its CR at the end of one and its LF
 * at the start of the next) and fed to the message body consumer of
 * smtp_data.c, so the Received: header, the size limit, the trace-field
 * count, the bare CR / bare LF refusal, the data hook and the durable
 * commit are DATA's own.  BINARYMIME is not offered: the queue stores
 * text with LF line ends.
 *
 * Runs in an SMTP worker as server.user.  Must never:
 *  - take a byte of a chunk for a command, or a command for chunk data:
 *    every chunk is read to its last octet, whatever the reply (RFC 3030
 *    §2: a refused chunk is read and discarded first); a size we cannot
 *    read (not digits, over SMTP_BDAT_MAX) leaves us not knowing where the
 *    chunk ends, so that session is closed after the 501;
 *  - hold a chunk in memory: the octets go from the connection's input
 *    buffer to the queue file, with at most one unfinished line (bounded
 *    by SMTP_DATA_LINE_MAX) kept between reads;
 *  - answer 250 to the last chunk before queue_in_commit() said the
 *    message is on disk;
 *  - queue anything from a session that ended in the middle of a chunk.
 */
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "log.h"
#include "smtp_private.h"
#include "util.h"

int
smtp_bdat_parse(const char *arg, long long *size_r, int *last_r)
{
	const char *p = arg;
	long long n = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > SMTP_BDAT_MAX)	/* checked before it could overflow */
			return -1;
	}
	*last_r = 0;
	if (*p == ' ') {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, "LAST", 4) != 0)
			return -1;
		p += 4;
		*last_r = 1;
	}
	if (*p != '\0')
		return -1;
	*size_r = n;
	return 0;
}

int
smtp_bdat_active(const struct smtp_session *s)
{
	return s->bdat.body.q != NULL;
}

void
smtp_bdat_reset(struct smtp_session *s)
{
	struct smtp_bdat *bd = &s->bdat;

	if (bd->body.q != NULL)
		smtp_body_close(s, &bd->body);
	buf_free(&bd->part);
	bd->octets = 0;
	bd->skip = 0;
}

/* smtp_bdat_line - a line of the message that ended in LF (P, LEN bytes
 * before the LF): CRLF is the line end, anything else a bare LF. */
static void
smtp_bdat_line(struct smtp_session *s, const char *p, size_t len)
{
	int crlf = len > 0 && p[len - 1] == '\r';

	smtp_body_line(s, &s->bdat.body, p, crlf ? len - 1 : len, !crlf);
}

/*
 * smtp_bdat_feed - N octets of a chunk at P, cut into lines for the body
 * consumer.  A line the octets end in the middle of waits in bd->part for
 * the next ones, in this chunk or a later one; one longer than
 * SMTP_DATA_LINE_MAX (its CR aside) is dropped up to its LF and the
 * message marked, as DATA does.  Lines wholly inside P go straight from
 * the connection's buffer.
 */
static void
smtp_bdat_feed(struct smtp_session *s, const char *p, size_t n)
{
	struct smtp_bdat *bd = &s->bdat;
	const char *nl;
	size_t len;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) : n;
		if (bd->skip) {
			if (nl != NULL)
				bd->skip = 0;
		} else if (bd->part.len + len > SMTP_DATA_LINE_MAX + 1) {
			smtp_body_long(&bd->body);
			buf_reset(&bd->part);
			bd->skip = nl == NULL;
		} else if (nl == NULL) {
			/* within the ceiling, checked above */
			(void)buf_append(&bd->part, p, len);
		} else if (bd->part.len > 0) {
			(void)buf_append(&bd->part, p, len);
			smtp_bdat_line(s, bd->part.data, bd->part.len);
			buf_reset(&bd->part);
		} else
			smtp_bdat_line(s, p, len);
		if (nl == NULL)
			break;
		p = nl + 1;
		n -= len + 1;
	}
}

/*
 * smtp_bdat_read - the SIZE octets of a chunk, fed to the message when
 * FEED, else discarded.  The data deadline of DATA applies to each chunk
 * (smtp.timeout_data, smtp.data_min_rate); replies still waiting go out
 * before we wait for the client (RFC 2920 §3.1).  Returns CONN_LINE when
 * the chunk was read, else the conn status after smtp_input_lost (the
 * session is over).
 */
static int
smtp_bdat_read(struct smtp_session *s, long long size, int feed)
{
	long long left = size, seen = s->conn.bytes_in;
	char *p;
	size_t n;
	int r = CONN_LINE;

	s->conn.timeout_ms = s->timeout_data_ms;
	s->conn.deadline_ms = smtp_data_deadline(s, now_ms() + s->timeout_data_ms,
	    0, now_ms());
	while (left > 0) {
		if (!conn_buffered(&s->conn) && conn_flush(&s->conn) == -1) {
			r = CONN_ERROR;
			break;
		}
		r = conn_read(&s->conn, left < CONN_READ_CHUNK ? (size_t)left :
		    CONN_READ_CHUNK, &p, &n);
		if (r != CONN_LINE)
			break;
		s->conn.deadline_ms = smtp_data_deadline(s, s->conn.deadline_ms,
		    s->conn.bytes_in - seen, now_ms());
		seen = s->conn.bytes_in;
		left -= (long long)n;
		/* a refused message is not fed: its refusal is known */
		if (feed && !smtp_body_failed(&s->bdat.body))
			smtp_bdat_feed(s, p, n);
	}
	s->conn.timeout_ms = s->timeout_cmd_ms;
	s->conn.deadline_ms = s->session_end_ms;
	if (r != CONN_LINE)
		smtp_input_lost(s, r);
	return r;
}

/*
 * smtp_bdat_refused - why a chunk cannot be taken whatever it holds (the
 * 503 after it was read), or NULL.  The checks of smtp_state_ok for a
 * verb inside a transaction, and a recipient (Postfix: "need RCPT").
 */
static const char *
smtp_bdat_refused(const struct smtp_session *s)
{
	if (!s->helo_seen)
		return "send HELO/EHLO first";
	if (!s->txn_active)
		return "need MAIL command";
	if (s->txn.nrcpt == 0)
		return "need RCPT command";
	return NULL;
}

/* smtp_bdat_last - the last chunk was read: the line it left open ends the
 * message (as if it ended in CRLF: the queue keeps LF line ends), then
 * the message goes the way of DATA's. */
static void
smtp_bdat_last(struct smtp_session *s)
{
	struct smtp_bdat *bd = &s->bdat;

	if (bd->part.len > 0 && !smtp_body_failed(&bd->body))
		smtp_body_line(s, &bd->body, bd->part.data, bd->part.len, 0);
	buf_reset(&bd->part);
	smtp_body_end(s, &bd->body);
}

void
smtp_cmd_bdat(struct smtp_session *s, char *arg)
{
	struct smtp_bdat *bd = &s->bdat;
	const char *why;
	long long size = 0;
	int last = 0;

	if (smtp_bdat_parse(arg, &size, &last) == -1) {
		/* RFC 3030 does not say; we cannot tell where the chunk ends,
		 * so nothing that follows can be trusted to be a command */
		smtp_reject(s, 501, "5.5.4", "Syntax: BDAT octets [LAST]");
		smtp_reply(s, 421, "4.5.0", "%s cannot find the end of the "
		    "chunk; closing the connection", s->env->hostname);
		s->quit = 1;
		return;
	}
	if ((why = smtp_bdat_refused(s)) != NULL) {
		if (smtp_bdat_read(s, size, 0) == CONN_LINE)
			smtp_reject(s, 503, "5.5.1", "%s", why);
		return;
	}
	if (bd->body.q == NULL) {
		if (smtp_body_open(s, &bd->body) == -1) {
			if (smtp_bdat_read(s, size, 0) == CONN_LINE)
				smtp_reply(s, 451, "4.3.0", "queue file write "
				    "error; try again later");
			smtp_txn_reset(s);
			return;
		}
		buf_init(&bd->part, SMTP_DATA_LINE_MAX + 1);
	}
	/* known before a byte of it is read; the chunk is still read */
	if (s->max_size > 0 && size > s->max_size - bd->octets)
		smtp_body_oversize(&bd->body, bd->octets + size);
	if (smtp_bdat_read(s, size, 1) != CONN_LINE) {
		smtp_txn_reset(s);	/* nothing of it is queued */
		return;
	}
	bd->octets += size;
	if (smtp_body_failed(&bd->body)) {
		/* a chunk refused ends the transaction (RFC 3030 §2: the
		 * client sends no more chunks; pipelined ones get 503) */
		smtp_body_refuse(s, &bd->body);
		smtp_txn_reset(s);
		return;
	}
	if (!last) {
		smtp_reply(s, 250, "2.0.0", "Ok: %lld octets", bd->octets);
		return;
	}
	smtp_bdat_last(s);
	smtp_txn_reset(s);
}
