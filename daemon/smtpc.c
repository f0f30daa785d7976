/*
 * smtpc.c - outbound SMTP transaction; see smtpc.h.  Runs in a delivery
 * agent (the server user).  Every reply is parsed with bounded lines and a
 * bounded number of lines; peer text is kept for logs only after escaping.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "conn.h"
#include "dsn.h"
#include "mime8.h"
#include "route.h"
#include "smtpc.h"
#include "util.h"

/* RFC 5321 §4.5.3.2 timeouts, seconds */
#define TMO_GREETING	300
#define TMO_MAIL	300
#define TMO_RCPT	300
#define TMO_DATA_INIT	120
#define TMO_DATA_BLOCK	180
#define TMO_DATA_TERM	600

static int tmo_cap;	/* queue.smtp_timeout: 0, or the longest wait */

void
smtpc_timeout_cap(int seconds)
{
	tmo_cap = seconds > 0 ? seconds : 0;
}

int
smtpc_timeout(int secs)
{
	return tmo_cap > 0 && tmo_cap < secs ? tmo_cap : secs;
}

static void
reply_local(struct smtpc_reply *r, const char *why)
{
	r->code = 0;
	str_copy(r->text, sizeof(r->text), why);
}

/*
 * smtpc_reply_read - one reply (all lines) within SECS seconds.  Fills R
 * (text: the lines joined by a space, escaped, bounded) and CAPS when not
 * NULL (EHLO keywords); LINE, when not NULL, sees each line escaped.
 * Returns the code, or 0 on I/O error/timeout/garbage.
 */
int
smtpc_reply_read(struct conn *c, int secs, struct smtpc_reply *r,
    struct smtpc_caps *caps, smtpc_line_fn *linefn, void *ctx)
{
	char *line, esc[SMTPC_TEXT_MAX];
	size_t len, tl = 0;
	int term, st, code = 0, nlines = 0;

	c->timeout_ms = smtpc_timeout(secs) * 1000;
	r->text[0] = '\0';
	for (;;) {
		st = conn_getline(c, SMTPC_LINE_MAX, &line, &len, &term);
		if (st != CONN_LINE) {
			reply_local(r, st == CONN_TIMEOUT ?
			    "timeout waiting for the server's reply" :
			    st == CONN_EOF ? "connection closed by the server" :
			    st == CONN_TOOLONG ? "reply line too long" :
			    "read error");
			return 0;
		}
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-')) {
			reply_local(r, "malformed reply from the server");
			return 0;
		}
		if (code == 0)
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
		if (caps && nlines > 0 && len >= 12 &&
		    strncasecmp(line + 4, "CHUNKING", 8) == 0 &&
		    (len == 12 || line[12] == ' '))
			caps->chunking = 1;
		if (caps && nlines > 0 && len > 4) {
			const char *kw = line + 4;

			if (strncasecmp(kw, "PIPELINING", 10) == 0)
				caps->pipelining = 1;
			else if (strncasecmp(kw, "8BITMIME", 8) == 0)
				caps->eightbit = 1;
			else if (strncasecmp(kw, "SMTPUTF8", 8) == 0)
				caps->smtputf8 = 1;
			else if (strncasecmp(kw, "STARTTLS", 8) == 0)
				caps->starttls = 1;
			else if (strncasecmp(kw, "DSN", 3) == 0 &&
			    (len == 7 || kw[3] == ' '))
				caps->dsn = 1;
			else if (strncasecmp(kw, "SIZE", 4) == 0)
{
				caps->size_adv = 1;
				caps->size = kw[4] == ' ' ? atoll(kw + 5) : 0;
			}
			else if (strncasecmp(kw, "AUTH", 4) == 0 &&
			    (kw[4] == ' ' || kw[4] == '=')) {
				char tmp[SMTPC_LINE_MAX + 1], *p, *w;

				str_copy(tmp, sizeof(tmp), kw + 5);
				for (p = tmp; (w = strsep(&p, " ")) != NULL;) {
					if (strcasecmp(w, "PLAIN") == 0)
						caps->auth_plain = 1;
					else if (strcasecmp(w, "LOGIN") == 0)
						caps->auth_login = 1;
				}
			}
		}
		str_escape(esc, sizeof(esc), line, len);
		if (linefn != NULL)
			linefn(ctx, esc);
		if (tl + strlen(esc) + 2 < sizeof(r->text)) {
			if (tl > 0)
				r->text[tl++] = ' ';
			memcpy(r->text + tl, nlines > 0 && strlen(esc) > 4 ?
			    esc + 4 : esc, strlen(nlines > 0 && strlen(esc) > 4 ?
			    esc + 4 : esc) + 1);
			tl = strlen(r->text);
		}
		nlines++;
		if (len == 3 || line[3] == ' ')
			break;
		if (nlines >= SMTPC_LINES_MAX) {
			reply_local(r, "reply with too many lines");
			return 0;
		}
	}
	r->code = code;
	return code;
}

/* smtpc_read - smtpc_reply_read without a line callback. */
static int
smtpc_read(struct conn *c, int secs, struct smtpc_reply *r, struct smtpc_caps *caps)
{
	return smtpc_reply_read(c, secs, r, caps, NULL, NULL);
}

/* smtpc_cmd - send VERB and ARG (may be NULL) and CRLF, read the reply. */
static int
smtpc_cmd(struct conn *c, int secs, struct smtpc_reply *r, struct smtpc_caps *caps,
    const char *verb, const char *arg)
{
	if (conn_printf(c, "%s%s%s\r\n", verb, arg ? " " : "", arg ? arg : "") == -1 ||
	    conn_flush(c) == -1) {
		reply_local(r, "write error");
		return 0;
	}
	return smtpc_read(c, secs, r, caps);
}

static int
smtpc_ehlo(struct conn *c, const struct smtpc_msg *m, struct smtpc_caps *caps,
    struct smtpc_reply *r)
{
	int code;

	memset(caps, 0, sizeof(*caps));
	code = smtpc_cmd(c, TMO_MAIL, r, caps, "EHLO", m->helo);
	if (code == 250) {
		caps->esmtp = 1;
		return 250;
	}
	if (code >= 500 && code != 554) {	/* not ESMTP: HELO */
		memset(caps, 0, sizeof(*caps));
		return smtpc_cmd(c, TMO_MAIL, r, NULL, "HELO", m->helo);
	}
	return code;
}

static void
b64(const char *in, size_t len, char *out, size_t size)
{
	if (size < 4 * ((len + 2) / 3) + 1) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
}

static int
smtpc_auth(struct conn *c, const struct smtpc_msg *m, const struct smtpc_caps *caps,
    struct smtpc_reply *r)
{
	char raw[2 * 256 + 4], enc[1024];
	size_t ul = strlen(m->user), pl = strlen(m->pass);
	int code;

	if (caps->auth_plain) {
		raw[0] = '\0';
		memcpy(raw + 1, m->user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, m->pass, pl);
		b64(raw, ul + pl + 2, enc, sizeof(enc));
		code = smtpc_cmd(c, TMO_MAIL, r, NULL, "AUTH PLAIN", enc);
		explicit_bzero(raw, sizeof(raw));
		explicit_bzero(enc, sizeof(enc));
		return code;
	}
	if (caps->auth_login) {
		code = smtpc_cmd(c, TMO_MAIL, r, NULL, "AUTH LOGIN", NULL);
		if (code != 334)
			return code;
		b64(m->user, ul, enc, sizeof(enc));
		code = smtpc_cmd(c, TMO_MAIL, r, NULL, enc, NULL);
		if (code != 334)
			return code;
		b64(m->pass, pl, enc, sizeof(enc));
		code = smtpc_cmd(c, TMO_MAIL, r, NULL, enc, NULL);
		explicit_bzero(enc, sizeof(enc));
		return code;
	}
	reply_local(r, "the server offers no AUTH PLAIN or LOGIN");
	return 0;
}

/* smtpc_body - the queue file, CRLF and dot-stuffed, then ".".  0 or -1. */
static int
smtpc_body(struct conn *c, int fd)
{
	char chunk[65536];
	ssize_t n;
	int bol = 1;

	if (lseek(fd, 0, SEEK_SET) == -1)
		return -1;
	c->timeout_ms = smtpc_timeout(TMO_DATA_BLOCK) * 1000;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		const char *p = chunk, *end = chunk + n, *nl;

		while (p < end) {
			if (bol && *p == '.' && conn_write(c, ".", 1) == -1)
				return -1;
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL) {
				if (conn_write(c, p, (size_t)(end - p)) == -1)
					return -1;
				bol = 0;
				break;
			}
			if (conn_write(c, p, (size_t)(nl - p)) == -1 ||
			    conn_write(c, "\r\n", 2) == -1)
				return -1;
			bol = 1;
			p = nl + 1;
		}
	}
	if (n == -1)
		return -1;
	if (!bol && conn_write(c, "\r\n", 2) == -1)
		return -1;
	if (conn_write(c, ".\r\n", 3) == -1 || conn_flush(c) == -1)
		return -1;
	return 0;
}

/* the queue file read as it goes on the wire: CRLF line ends, and a line
 * end added after an unfinished last line (as smtpc_body does) */
struct smtpc_wire {
	int	 fd;
	char	 in[16384];
	size_t	 off, len;		/* unread octets of in */
	int	 eof;			/* read() said end of file */
	int	 cr_sent;		/* the CR of the LF at in[off] is out */
	int	 bol;			/* the last octet taken was an LF */
	int	 owed;			/* octets of the added CRLF still due */
};

/*
 * smtpc_wire_fill - up to CAP octets of W's message in wire form into OUT:
 * *n_r, and *last_r = 1 when nothing is left after them (a read ahead
 * tells).  0, or -1 (read error).
 */
static int
smtpc_wire_fill(struct smtpc_wire *w, char *out, size_t cap, size_t *n_r,
    int *last_r)
{
	const char *nl;
	size_t n = 0, k;
	ssize_t r;

	for (;;) {
		if (w->off == w->len && !w->eof) {
			r = read(w->fd, w->in, sizeof(w->in));
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				return -1;
			w->off = 0;
			w->len = (size_t)r;
			if (r == 0) {
				w->eof = 1;
				w->owed = w->bol ? 0 : 2;
			}
			continue;
		}
		if (w->off == w->len) {		/* end of file */
			for (; w->owed > 0 && n < cap; w->owed--)
				out[n++] = w->owed == 2 ? '\r' : '\n';
			break;
		}
		if (n == cap)
			break;
		if (w->in[w->off] == '\n') {
			if (!w->cr_sent) {
				out[n++] = '\r';
				w->cr_sent = 1;
				continue;
			}
			out[n++] = '\n';
			w->off++;
			w->cr_sent = 0;
			w->bol = 1;
			continue;
		}
		nl = memchr(w->in + w->off, '\n', w->len - w->off);
		k = (nl != NULL ? (size_t)(nl - w->in) : w->len) - w->off;
		if (k > cap - n)
			k = cap - n;
		memcpy(out + n, w->in + w->off, k);
		n += k;
		w->off += k;
		w->bol = 0;
	}
	*n_r = n;
	*last_r = w->eof && w->off == w->len && w->owed == 0;
	return 0;
}

/*
 * smtpc_bdat - the message in FD as BDAT chunks (RFC 3030): with
 * PIPELINING up to SMTPC_BDAT_AHEAD of them go out before the oldest
 * one's reply is read.  Returns the code of the reply that ends the
 * transaction, in R: the last chunk's, or the first that is not 250 --
 * then no chunk follows, the replies to those already sent are read, and
 * *REFUSED_R = 1: the peer's transaction waits for RSET (RFC 3030 §2).
 * 0 on a local error, an I/O error or a timeout (R says which).
 */
static int
smtpc_bdat(struct conn *c, int fd, int pipelining, struct smtpc_reply *r,
    int *refused_r)
{
	struct smtpc_wire *w;
	struct smtpc_reply got;
	char *chunk;
	size_t n;
	int last = 0, sent = 0, ok = 1, code = 0, rc, at_last = 0;

	*refused_r = 0;
	if (lseek(fd, 0, SEEK_SET) == -1) {
		reply_local(r, "cannot read the queue file");
		return 0;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->bol = 1;
	chunk = xmalloc(SMTPC_CHUNK);
	for (;;) {
		if (ok && !last) {
			if (smtpc_wire_fill(w, chunk, SMTPC_CHUNK, &n, &last) == -1) {
				reply_local(r, "cannot read the queue file");
				code = 0;
				break;
			}
			c->timeout_ms = smtpc_timeout(TMO_DATA_BLOCK) * 1000;
			if (conn_printf(c, "BDAT %zu%s\r\n", n, last ? " LAST" :
			    "") == -1 || conn_write(c, chunk, n) == -1) {
				reply_local(r, "write error");
				code = 0;
				break;
			}
			sent++;
			if (pipelining && !last && sent < SMTPC_BDAT_AHEAD)
				continue;
		}
		if (sent == 0)
			break;
		c->timeout_ms = smtpc_timeout(TMO_DATA_BLOCK) * 1000;
		if (conn_flush(c) == -1) {
			reply_local(r, "write error");
			code = 0;
			break;
		}
		/* the oldest chunk's reply; the last chunk's waits for the
		 * commit, as the end of DATA does */
		rc = smtpc_read(c, sent == 1 && last ? TMO_DATA_TERM :
		    TMO_DATA_BLOCK, &got, NULL);
		sent--;
		if (rc == 0) {
			*r = got;
			code = 0;
			break;
		}
		if (ok) {
			*r = got;
			code = rc;
			ok = rc == 250;
			at_last = sent == 0 && last;
		}
	}
	*refused_r = code != 0 && !ok && !at_last;
	free(chunk);
	free(w);
	return code;
}

static void
smtpc_quit(struct conn *c)
{
	struct smtpc_reply r;

	if (conn_printf(c, "QUIT\r\n") == 0 && conn_flush(c) == 0)
		(void)smtpc_read(c, 10, &r, NULL);
}

void
smtpc_close(struct smtpc_session *s)
{
	if (s->alive)
		smtpc_quit(s->c);
	s->alive = s->clean = 0;
}

/* smtpc_fail - *SESS_R from R and CODE; S is alive when the peer answered. */
static int
smtpc_fail(struct smtpc_session *s, const struct smtpc_reply *r, int code,
    struct smtpc_reply *sess_r)
{
	*sess_r = *r;
	sess_r->code = code;
	s->clean = 0;
	s->alive = code != 0;
	return SMTPC_FAIL;
}

int
smtpc_open(struct smtpc_session *s, struct conn *c, const struct smtpc_msg *m,
    struct smtpc_reply *sess_r, int *stage_r)
{
	struct smtpc_reply r;
	const char *why;
	int code;

	memset(s, 0, sizeof(*s));
	memset(sess_r, 0, sizeof(*sess_r));
	s->c = c;
	*stage_r = SMTPC_ST_GREETING;
	code = smtpc_read(c, TMO_GREETING, &r, NULL);
	if (code != 220)
		return smtpc_fail(s, &r, code, sess_r);
	*stage_r = SMTPC_ST_EHLO;
	if ((code = smtpc_ehlo(c, m, &s->caps, &r)) != 250)
		return smtpc_fail(s, &r, code, sess_r);
	if (!m->implicit_tls && m->tls != ROUTE_TLS_NONE) {
		*stage_r = SMTPC_ST_TLS;
		if (!s->caps.starttls && m->tls >= ROUTE_TLS_ENCRYPT) {
			reply_local(&r, m->user && *m->user ?
			    "TLS is required (the route carries credentials) "
			    "but the server does not offer STARTTLS; AUTH not sent" :
			    "TLS is required but the server does not offer "
			    "STARTTLS");
			smtpc_quit(c);
			return smtpc_fail(s, &r, 0, sess_r);
		}
		if (s->caps.starttls) {
			code = smtpc_cmd(c, TMO_MAIL, &r, NULL, "STARTTLS", NULL);
			if (code != 220) {
				if (code == 0)
					return smtpc_fail(s, &r, 0, sess_r);
				if (m->tls >= ROUTE_TLS_ENCRYPT) {
					/* a refusal defers, never bounces (as
					 * Postfix): a man in the middle could
					 * forge it */
					char why2[SMTPC_TEXT_MAX];

					snprintf(why2, sizeof(why2), "TLS is required "
					    "but the server refused STARTTLS: %.400s",
					    r.text);
					reply_local(&r, why2);
					smtpc_quit(c);
					return smtpc_fail(s, &r, 0, sess_r);
				}
				/* may: go on in plain text */
			} else {
				conn_discard_input(c);
				if (conn_tls_connect(c, m->tls == ROUTE_TLS_VERIFY ?
				    m->tls_vctx : m->tls_ctx, m->servername,
				    &why) == -1) {
					reply_local(&r, why);
					return smtpc_fail(s, &r, 0, sess_r);
				}
				*stage_r = SMTPC_ST_EHLO;
				if ((code = smtpc_ehlo(c, m, &s->caps, &r)) != 250)
					return smtpc_fail(s, &r, code, sess_r);
			}
		}
	}
	if (m->user && *m->user) {
		*stage_r = SMTPC_ST_AUTH;
		if (c->ssl == NULL) {
			/* never a password in clear text, whatever the policy */
			reply_local(&r, "credentials are only sent over TLS and "
			    "the session is not encrypted; AUTH not sent");
			smtpc_quit(c);
			return smtpc_fail(s, &r, 0, sess_r);
		}
		if ((code = smtpc_auth(c, m, &s->caps, &r)) != 235) {
			/* a credential problem defers (code 0: no bounce) */
			(void)smtpc_fail(s, &r, code >= 500 ? 0 : code, sess_r);
			s->alive = code != 0;
			return SMTPC_FAIL;
		}
	}
	s->alive = s->clean = 1;
	return SMTPC_DONE;
}

/* smtpc_rset - end an open transaction; S is clean again on 250. */
static void
smtpc_rset(struct smtpc_session *s)
{
	struct smtpc_reply r;
	int code;

	code = smtpc_cmd(s->c, TMO_MAIL, &r, NULL, "RSET", NULL);
	s->alive = code != 0;
	s->clean = code == 250;
}

/*
 * smtpc_7bit - M's message made 7-bit for a peer without 8BITMIME (RFC
 * 6152 §3) in a memory file: its descriptor and *SIZE_R (with CRLF line
 * ends), or -1 with R saying why (5.6.5 when the message cannot be
 * converted, 4.3.0 for a local failure).
 */
static int
smtpc_7bit(const struct smtpc_msg *m, long long *size_r, struct smtpc_reply *r)
{
	char err[200], chunk[65536], *nl;
	long long lines = 0;
	struct stat st;
	ssize_t n;
	int fd;

	fd = memfd_create("yubin-7bit", MFD_CLOEXEC);
	if (fd == -1) {
		snprintf(r->text, sizeof(r->text), "451 4.3.0 cannot convert the "
		    "message to 7 bits: %s", strerror(errno));
		r->code = 451;
		return -1;
	}
	if (mime8_downgrade(m->fd, fd, err, sizeof(err)) == -1) {
		int io = strncmp(err, "read:", 5) == 0 || strncmp(err, "write:", 6) == 0;

		snprintf(r->text, sizeof(r->text), "%s the server does not accept "
		    "8-bit data and the message cannot be converted: %s",
		    io ? "451 4.3.0" : "554 5.6.5", err);
		r->code = io ? 451 : 554;
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) == -1 || lseek(fd, 0, SEEK_SET) == -1) {
		snprintf(r->text, sizeof(r->text), "451 4.3.0 cannot convert the "
		    "message to 7 bits: %s", strerror(errno));
		r->code = 451;
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		for (nl = chunk; (nl = memchr(nl, '\n', (size_t)(chunk + n - nl)));
		    nl++)
			lines++;
	*size_r = (long long)st.st_size + lines;
	return fd;
}

/* smtpc_txn_bdat - the message of smtpc_txn as BDAT chunks, once the
 * RCPT replies are in (ACCEPTED of them 250/251). */
static int
smtpc_txn_bdat(struct smtpc_session *s, const struct smtpc_msg *m, int fd,
    size_t accepted, struct smtpc_reply *rcpt_r, struct smtpc_reply *sess_r)
{
	struct smtpc_reply dr;
	size_t i;
	int code, refused;

	if (accepted == 0) {	/* no BDAT was sent: nothing to discard */
		smtpc_rset(s);
		return SMTPC_DONE;
	}
	code = smtpc_bdat(s->c, fd, s->caps.pipelining, &dr, &refused);
	if (code == 0)
		return smtpc_fail(s, &dr, 0, sess_r);
	/* the reply that ended the chunks is every accepted recipient's
	 * outcome, as the end of DATA's is */
	for (i = 0; i < m->nrcpt; i++)
		if (rcpt_r[i].code == 250 || rcpt_r[i].code == 251)
			rcpt_r[i] = dr;
	if (refused)
		smtpc_rset(s);
	else
		s->clean = 1;
	return SMTPC_DONE;
}

/* smtpc_mail_dsn - " RET=.. ENVID=.." for MAIL when S offers DSN, into
 * OUT ("" otherwise). */
static void
smtpc_mail_dsn(const struct smtpc_session *s, const struct smtpc_msg *m,
    char *out, size_t size)
{
	char x[3 * DSN_ENVID_MAX + 1];

	out[0] = '\0';
	if (!s->caps.dsn)
		return;
	if (m->dsn_envid && *m->dsn_envid &&
	    dsn_xtext_encode(m->dsn_envid, x, sizeof(x)) == 0)
		snprintf(out, size, " ENVID=%s", x);
	if (m->dsn_ret == DSN_RET_FULL || m->dsn_ret == DSN_RET_HDRS) {
		size_t l = strlen(out);

		snprintf(out + l, size - l, " RET=%s", m->dsn_ret == DSN_RET_FULL ?
		    "FULL" : "HDRS");
	}
}

/* smtpc_rcpt - the RCPT command of recipient I, with its NOTIFY and ORCPT
 * when S offers DSN.  0 or -1 (write error). */
static int
smtpc_rcpt(const struct smtpc_session *s, const struct smtpc_msg *m,
    size_t i)
{
	char bits[32], notify[48], x[3 * DSN_ORCPT_SIZE + 1];
	char orcpt[sizeof(x) + 32];
	const char *o = m->orcpt ? m->orcpt[i] : NULL, *semi;
	int n = m->notify ? m->notify[i] : 0;

	notify[0] = orcpt[0] = '\0';
	if (s->caps.dsn && n != 0)
		snprintf(notify, sizeof(notify), " NOTIFY=%s",
		    dsn_notify_str(n, bits, sizeof(bits)));
	/* "type;address": the type as it is, the address as xtext */
	if (s->caps.dsn && o != NULL && (semi = strchr(o, ';')) != NULL &&
	    dsn_xtext_encode(semi + 1, x, sizeof(x)) == 0)
		snprintf(orcpt, sizeof(orcpt), " ORCPT=%.*s;%s",
		    (int)(semi - o), o, x);
	return conn_printf(s->c, "RCPT TO:<%s>%s%s\r\n", m->rcpts[i], notify,
	    orcpt);
}

/* smtpc_txn - smtpc_send's transaction: the message in FD, SIZE bytes. */
static int
smtpc_txn(struct smtpc_session *s, const struct smtpc_msg *m, int fd,
    long long size, struct smtpc_reply *rcpt_r, struct smtpc_reply *sess_r,
    int *stage_r)
{
	const struct smtpc_caps *caps = &s->caps;
	struct conn *c = s->c;
	struct smtpc_reply r, dr;
	char params[128], dsnp[3 * DSN_ENVID_MAX + 32];
	size_t i, accepted = 0;
	int code;

	s->clean = 0;
	params[0] = '\0';
	if (caps->esmtp)
		snprintf(params, sizeof(params), "%s%s",
		    m->body_8bit && caps->eightbit ? " BODY=8BITMIME" : "",
		    m->smtputf8 ? " SMTPUTF8" : "");
	if (caps->size_adv) {
		size_t l = strlen(params);

		snprintf(params + l, sizeof(params) - l, " SIZE=%lld", size);
	}
	if (m->node_id != NULL) {
		size_t l = strlen(params);

		snprintf(params + l, sizeof(params) - l, " XNODEID=%s",
		    m->node_id);
	}
	smtpc_mail_dsn(s, m, dsnp, sizeof(dsnp));
	if (conn_printf(c, "MAIL FROM:<%s>%s%s\r\n", m->sender, params,
	    dsnp) == -1)
		goto io;
	if (caps->pipelining) {
		for (i = 0; i < m->nrcpt; i++)
			if (smtpc_rcpt(s, m, i) == -1)
				goto io;
		if (!caps->chunking && conn_printf(c, "DATA\r\n") == -1)
			goto io;
	}
	if (conn_flush(c) == -1)
		goto io;
	code = smtpc_read(c, TMO_MAIL, &r, NULL);
	if (code != 250) {
		/* with pipelining the RCPT and DATA replies follow: the
		 * session is not used again */
		return smtpc_fail(s, &r, code, sess_r);
	}
	*stage_r = SMTPC_ST_RCPT;
	for (i = 0; i < m->nrcpt; i++) {
		if (!caps->pipelining && (smtpc_rcpt(s, m, i) == -1 ||
		    conn_flush(c) == -1))
			goto io;
		code = smtpc_read(c, TMO_RCPT, &rcpt_r[i], NULL);
		if (code == 0)
			return smtpc_fail(s, &rcpt_r[i], 0, sess_r);
		if (code == 250 || code == 251)
			accepted++;
	}
	*stage_r = SMTPC_ST_DATA;
	if (caps->chunking)
		return smtpc_txn_bdat(s, m, fd, accepted, rcpt_r, sess_r);
	if (!caps->pipelining) {
		if (accepted == 0) {
			smtpc_rset(s);
			return SMTPC_DONE;
		}
		if (conn_printf(c, "DATA\r\n") == -1 || conn_flush(c) == -1)
			goto io;
	}
	code = smtpc_read(c, TMO_DATA_INIT, &dr, NULL);
	if (accepted == 0) {
		/* pipelined DATA after every RCPT failed: 503/554 expected;
		 * the peer may still hold the transaction open (Postfix
		 * does), so it is ended before the session serves again */
		if (code == 354 && conn_printf(c, ".\r\n") == 0 &&
		    conn_flush(c) == 0)
			code = smtpc_read(c, TMO_DATA_TERM, &dr, NULL);
		s->alive = code != 0;
		s->clean = 0;
		if (s->alive)
			smtpc_rset(s);
		return SMTPC_DONE;
	}
	if (code != 354) {
		if (code == 0)
			return smtpc_fail(s, &dr, 0, sess_r);
		/* DATA refused: the accepted recipients share that reply */
		for (i = 0; i < m->nrcpt; i++)
			if (rcpt_r[i].code == 250 || rcpt_r[i].code == 251)
				rcpt_r[i] = dr;
		smtpc_rset(s);
		return SMTPC_DONE;
	}
	if (smtpc_body(c, fd) == -1)
		goto io;
	code = smtpc_read(c, TMO_DATA_TERM, &dr, NULL);
	if (code == 0)
		return smtpc_fail(s, &dr, 0, sess_r);
	/* the final reply is every accepted recipient's outcome */
	for (i = 0; i < m->nrcpt; i++)
		if (rcpt_r[i].code == 250 || rcpt_r[i].code == 251)
			rcpt_r[i] = dr;
	s->clean = 1;
	return SMTPC_DONE;
io:
	reply_local(&r, "write error");
	return smtpc_fail(s, &r, 0, sess_r);
}

int
smtpc_send(struct smtpc_session *s, const struct smtpc_msg *m,
    struct smtpc_reply *rcpt_r, struct smtpc_reply *sess_r, int *stage_r)
{
	const struct smtpc_caps *caps = &s->caps;
	struct smtpc_reply r;
	long long size = m->size_crlf;
	int fd7 = -1, ret;

	memset(sess_r, 0, sizeof(*sess_r));
	*stage_r = SMTPC_ST_MAIL;
	if (caps->size > 0 && m->size_crlf > caps->size) {
		snprintf(r.text, sizeof(r.text), "552 5.3.4 message size %lld "
		    "exceeds the server's limit of %lld", m->size_crlf, caps->size);
		*sess_r = r;
		sess_r->code = 552;
		return SMTPC_FAIL;	/* nothing was sent: S stays clean */
	}
	if (m->smtputf8 && !caps->smtputf8) {
		snprintf(r.text, sizeof(r.text), "553 5.6.7 the server does not "
		    "support SMTPUTF8, which the message needs");
		*sess_r = r;
		sess_r->code = 553;
		return SMTPC_FAIL;
	}
	if (m->body_8bit && !caps->eightbit) {
		/* 8-bit data to a peer without 8BITMIME: convert */
		if ((fd7 = smtpc_7bit(m, &size, &r)) == -1) {
			*sess_r = r;
			return SMTPC_FAIL;	/* nothing was sent: S stays clean */
		}
	}
	ret = smtpc_txn(s, m, fd7 != -1 ? fd7 : m->fd, size, rcpt_r, sess_r,
	    stage_r);
	if (fd7 != -1)
		close(fd7);
	return ret;
}
