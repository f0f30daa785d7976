/*
 * mime8.c - 8BITMIME downgrade: a message made 7-bit for a peer that did
 * not advertise 8BITMIME; see mime8.h.
 *
 * The walk is recursive descent over entities (a header block, then a
 * body), one level per nested multipart or message/rfc822, never deeper
 * than MIME8_DEPTH_MAX.  Input comes through a reader that hands out line
 * pieces (a line, or RD_PIECE bytes of a longer one) and can go back to an
 * earlier offset (pread: no file offset is shared with anyone); a part's
 * body is scanned first (8-bit count, NULs, UTF-8) to choose its encoding,
 * then read again and written.  A delimiter line ends every open part it
 * belongs to; the reader is left at its start so that the multipart that
 * owns it writes it.
 *
 * The line end before a delimiter belongs to the delimiter (RFC 2046
 * §5.1.1), so an encoded body never encodes it: the encoder holds each line
 * end back until the next content arrives.
 *
 * Runs in delivery agents (server user).  Never: trust a length from the
 * message, keep more than one header block, or write past its buffers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mime8.h"
#include "util.h"

#define RD_SIZE		65536	/* read buffer */
#define RD_PIECE	4096	/* longest line looked at whole: delimiters are far shorter */
#define WR_SIZE		16384	/* write buffer */
#define M8_VALUE_MAX	4096	/* unfolded header value parsed (longer: the rest ignored) */
#define M8_WORD_MAX	64	/* type, subtype, encoding names */
#define QP_LINE		76	/* RFC 2045 §6.7 (5) */
#define B64_LINE	76	/* RFC 2045 §6.8 */

struct rd {
	int		 fd;
	off_t		 base;		/* file offset of buf[0] */
	size_t		 len, pos;
	int		 eof;		/* nothing past base + len */
	int		 bol;		/* the next piece starts a line */
	unsigned char	 buf[RD_SIZE];
};

struct wr {
	int		 fd;
	size_t		 len;
	unsigned char	 buf[WR_SIZE];
};

struct m8 {
	struct rd	 rd;
	struct wr	 wr;
	char		*err;
	size_t		 errsize;
	int		 failed;
	size_t		 nb;		/* open boundaries */
	char		 bnd[MIME8_DEPTH_MAX][MIME8_BOUNDARY_MAX + 1];
	size_t		 bndlen[MIME8_DEPTH_MAX];
	size_t		 hit;		/* level of the delimiter that ended a part */
	int		 hit_close;
	char		*hdr;		/* the current header block */
	size_t		 hdrlen;
};

/* the outcome of reading a part */
enum m8_end {
	M8_EOF,		/* the message ended */
	M8_DELIM,	/* a delimiter (m->hit) is next in the reader */
	M8_ERR,		/* m->err says why */
};

/* what a header block says */
struct m8_info {
	char	type[M8_WORD_MAX], subtype[M8_WORD_MAX];
	char	cte[M8_WORD_MAX];
	char	boundary[MIME8_BOUNDARY_MAX + 1];
	int	has_ct, has_mv, has_cte;
};

static void __attribute__((format(printf, 2, 3)))
m8_fail(struct m8 *m, const char *fmt, ...)
{
	va_list ap;

	if (m->failed)
		return;
	m->failed = 1;
	va_start(ap, fmt);
	(void)vsnprintf(m->err, m->errsize, fmt, ap);
	va_end(ap);
}

/*
 * The reader.
 */
static off_t
rd_tell(const struct rd *r)
{
	return r->base + (off_t)r->pos;
}

/* rd_seek - go back (or on) to OFF, always the start of a line here. */
static void
rd_seek(struct rd *r, off_t off)
{
	if (off >= r->base && off <= r->base + (off_t)r->len)
		r->pos = (size_t)(off - r->base);
	else {
		r->base = off;
		r->len = r->pos = 0;
		r->eof = 0;
	}
	r->bol = 1;
}

/* rd_fill - keep the unread bytes and read more after them.  0, or -1
 * (errno). */
static int
rd_fill(struct rd *r)
{
	ssize_t n;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += (off_t)r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	do
		n = pread(r->fd, r->buf + r->len, sizeof(r->buf) - r->len,
		    r->base + (off_t)r->len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return 0;
}

/*
 * rd_piece - the next piece: up to and including a LF, or RD_PIECE bytes
 * of a longer line, or the last bytes before the end.  *P (valid until the
 * next call), *N, *BOL_R (it starts a line).  1, 0 at the end, -1 error.
 */
static int
rd_piece(struct m8 *m, const unsigned char **p, size_t *n, int *bol_r)
{
	struct rd *r = &m->rd;
	const unsigned char *nl;
	size_t avail, look;

	for (;;) {
		avail = r->len - r->pos;
		look = avail < RD_PIECE ? avail : RD_PIECE;
		nl = memchr(r->buf + r->pos, '\n', look);
		if (nl != NULL || avail >= RD_PIECE || (r->eof && avail > 0)) {
			*p = r->buf + r->pos;
			*n = nl ? (size_t)(nl - *p) + 1 : look;
			*bol_r = r->bol;
			r->bol = nl != NULL;
			r->pos += *n;
			return 1;
		}
		if (r->eof)
			return 0;
		if (rd_fill(r) == -1) {
			m8_fail(m, "read: %s", strerror(errno));
			return -1;
		}
	}
}

/*
 * The writer.
 */
static void
wr_flush(struct m8 *m)
{
	if (m->wr.len > 0 && !m->failed &&
	    write_all(m->wr.fd, m->wr.buf, m->wr.len) == -1)
		m8_fail(m, "write: %s", strerror(errno));
	m->wr.len = 0;
}

static void
wr_put(struct m8 *m, const void *p, size_t n)
{
	if (m->failed)
		return;
	if (m->wr.len + n > sizeof(m->wr.buf))
		wr_flush(m);
	if (n >= sizeof(m->wr.buf)) {
		if (!m->failed && write_all(m->wr.fd, p, n) == -1)
			m8_fail(m, "write: %s", strerror(errno));
		return;
	}
	memcpy(m->wr.buf + m->wr.len, p, n);
	m->wr.len += n;
}

static void
wr_str(struct m8 *m, const char *s)
{
	wr_put(m, s, strlen(s));
}

/*
 * Delimiters (RFC 2046 §5.1.1): "--" boundary, or "--" boundary "--", then
 * optional white space (transport padding).
 */

/* m8_delim - 1 when the line P (N bytes, at the start of a line) is a
 * delimiter of an open level: m->hit and m->hit_close say which. */
static int
m8_delim(struct m8 *m, const unsigned char *p, size_t n)
{
	size_t i, rest;

	if (m->nb == 0 || n < 3 || p[0] != '-' || p[1] != '-')
		return 0;
	while (n > 2 && (p[n - 1] == '\n' || p[n - 1] == '\r' ||
	    p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	for (i = m->nb; i-- > 0;) {
		if (n - 2 < m->bndlen[i] ||
		    memcmp(p + 2, m->bnd[i], m->bndlen[i]) != 0)
			continue;
		rest = n - 2 - m->bndlen[i];
		if (rest == 0 || (rest == 2 && p[n - 2] == '-' && p[n - 1] == '-')) {
			m->hit = i;
			m->hit_close = rest == 2;
			return 1;
		}
	}
	return 0;
}

/*
 * m8_next - the next piece of a part's body, or where the part ends: 1 a
 * piece, M8_EOF / M8_DELIM as negative values -1 / -2 (the reader is then
 * at the delimiter's start), -3 error.
 */
#define NEXT_EOF	(-1)
#define NEXT_DELIM	(-2)
#define NEXT_ERR	(-3)
static int
m8_next(struct m8 *m, const unsigned char **p, size_t *n)
{
	off_t at = rd_tell(&m->rd);
	int bol, r;

	r = rd_piece(m, p, n, &bol);
	if (r == -1)
		return NEXT_ERR;
	if (r == 0)
		return NEXT_EOF;
	if (bol && m8_delim(m, *p, *n)) {
		rd_seek(&m->rd, at);
		return NEXT_DELIM;
	}
	return 1;
}

static enum m8_end
m8_end_of(int next)
{
	return next == NEXT_EOF ? M8_EOF : next == NEXT_DELIM ? M8_DELIM : M8_ERR;
}

/*
 * Header blocks.
 */

/* m8_headers - read a header block into m->hdr: up to and including its
 * empty line (1), or up to a delimiter (NEXT_DELIM) or the end (NEXT_EOF)
 * when it has none; NEXT_ERR when it is too long or unreadable. */
static int
m8_headers(struct m8 *m)
{
	const unsigned char *p;
	size_t n;
	int r;

	m->hdrlen = 0;
	for (;;) {
		r = m8_next(m, &p, &n);
		if (r != 1)
			return r;
		if (m->hdrlen + n > MIME8_HEADER_MAX) {
			m8_fail(m, "a header block longer than %d bytes at offset "
			    "%lld", MIME8_HEADER_MAX,
			    (long long)(rd_tell(&m->rd) - (off_t)n));
			return NEXT_ERR;
		}
		memcpy(m->hdr + m->hdrlen, p, n);
		m->hdrlen += n;
		if ((n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' &&
		    p[1] == '\n'))
			return 1;
	}
}

/* m8_blank_len - the length of the empty line that ends m->hdr, or 0. */
static size_t
m8_blank_len(const struct m8 *m)
{
	const char *h = m->hdr;
	size_t n = m->hdrlen;

	if (n >= 2 && h[n - 2] == '\r' && h[n - 1] == '\n' &&
	    (n == 2 || h[n - 3] == '\n'))
		return 2;
	if (n >= 1 && h[n - 1] == '\n' && (n == 1 || h[n - 2] == '\n'))
		return 1;
	return 0;
}

/* m8_field_end - the end of the field that starts at OFF in m->hdr (its
 * continuation lines included), at most LIMIT. */
static size_t
m8_field_end(const struct m8 *m, size_t off, size_t limit)
{
	const char *nl;

	for (;;) {
		nl = memchr(m->hdr + off, '\n', limit - off);
		if (nl == NULL)
			return limit;
		off = (size_t)(nl - m->hdr) + 1;
		if (off >= limit || (m->hdr[off] != ' ' && m->hdr[off] != '\t'))
			return off;
	}
}

/* m8_field_is - 1 when the field at F (LEN bytes) is named NAME. */
static int
m8_field_is(const char *f, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(f, name, n) != 0)
		return 0;
	while (n < len && (f[n] == ' ' || f[n] == '\t'))
		n++;
	return n < len && f[n] == ':';
}

/* m8_unfold - the value of the field F (LEN bytes) without its line ends,
 * into OUT (M8_VALUE_MAX, cut there). */
static void
m8_unfold(const char *f, size_t len, char *out)
{
	const char *colon = memchr(f, ':', len);
	size_t i, o = 0;

	out[0] = '\0';
	if (colon == NULL)
		return;
	for (i = (size_t)(colon + 1 - f); i < len && o + 1 < M8_VALUE_MAX; i++)
		if (f[i] != '\r' && f[i] != '\n')
			out[o++] = f[i];
	out[o] = '\0';
}

/* m8_skip - past white space and (nested) comments. */
static const char *
m8_skip(const char *s)
{
	int depth;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '(')
			return s;
		for (depth = 0; *s; s++) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
		}
	}
}

/* m8_token - an RFC 2045 token at S, lower-cased into OUT (SIZE; cut). */
static const char *
m8_token(const char *s, char *out, size_t size)
{
	size_t o = 0;

	s = m8_skip(s);
	while (*s && *s != ' ' && *s != '\t' && *s != '(' &&
	    !strchr("()<>@,;:\\\"/[]?=", *s) && (unsigned char)*s > 0x20 &&
	    (unsigned char)*s < 0x7f) {
		if (o + 1 < size)
			out[o++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		s++;
	}
	out[o] = '\0';
	return m8_skip(s);
}

/* m8_content_type - type, subtype and boundary from the value V. */
static void
m8_content_type(const char *v, struct m8_info *mi)
{
	char attr[M8_WORD_MAX], val[MIME8_BOUNDARY_MAX + 2];
	size_t o;
	int toolong;

	v = m8_token(v, mi->type, sizeof(mi->type));
	if (*v == '/')
		v = m8_token(v + 1, mi->subtype, sizeof(mi->subtype));
	while (*v == ';') {
		v = m8_token(v + 1, attr, sizeof(attr));
		if (*v != '=')
			continue;
		v = m8_skip(v + 1);
		o = 0;
		toolong = 0;
		if (*v == '"') {
			for (v++; *v && *v != '"'; v++) {
				if (*v == '\\' && v[1])
					v++;
				if (o + 1 < sizeof(val))
					val[o++] = *v;
				else
					toolong = 1;
			}
			if (*v == '"')
				v++;
		} else
			while (*v && *v != ';' && *v != ' ' && *v != '\t' &&
			    *v != '(') {
				if (o + 1 < sizeof(val))
					val[o++] = *v;
				else
					toolong = 1;
				v++;
			}
		val[o] = '\0';
		v = m8_skip(v);
		if (strcmp(attr, "boundary") == 0 && !toolong &&
		    o <= MIME8_BOUNDARY_MAX)
			memcpy(mi->boundary, val, o + 1);
		while (*v && *v != ';')	/* junk after a value: skip it */
			v++;
	}
}

/* m8_info - what m->hdr says (DIGEST: the parent is multipart/digest, so
 * the default type is message/rfc822). */
static void
m8_info(const struct m8 *m, int digest, struct m8_info *mi)
{
	char v[M8_VALUE_MAX];
	size_t off = 0, end, limit = m->hdrlen - m8_blank_len(m);

	memset(mi, 0, sizeof(*mi));
	while (off < limit) {
		end = m8_field_end(m, off, limit);
		if (m8_field_is(m->hdr + off, end - off, "Content-Type") &&
		    !mi->has_ct) {
			mi->has_ct = 1;
			m8_unfold(m->hdr + off, end - off, v);
			m8_content_type(v, mi);
		} else if (m8_field_is(m->hdr + off, end - off,
		    "Content-Transfer-Encoding") && !mi->has_cte) {
			mi->has_cte = 1;
			m8_unfold(m->hdr + off, end - off, v);
			(void)m8_token(v, mi->cte, sizeof(mi->cte));
		} else if (m8_field_is(m->hdr + off, end - off, "MIME-Version"))
			mi->has_mv = 1;
		off = end;
	}
	if (!mi->has_ct || mi->type[0] == '\0' || mi->subtype[0] == '\0') {
		/* RFC 2045 §5.2: absent or unparsable means the default */
		snprintf(mi->type, sizeof(mi->type), "%s", digest ? "message" : "text");
		snprintf(mi->subtype, sizeof(mi->subtype), "%s",
		    digest ? "rfc822" : "plain");
	}
}

/* m8_identity - 1 when the encoding leaves the body as it is. */
static int
m8_identity(const struct m8_info *mi)
{
	return !mi->has_cte || mi->cte[0] == '\0' ||
	    strcmp(mi->cte, "7bit") == 0 || strcmp(mi->cte, "8bit") == 0 ||
	    strcmp(mi->cte, "binary") == 0;
}

/*
 * Bodies copied.
 */
enum m8_copy {
	COPY_AS_IS,
	COPY_SANITIZE,	/* preamble, epilogue: 8-bit octets become '?' */
	COPY_QP_FIX,	/* labelled quoted-printable: 8-bit octets as =XX */
	COPY_B64_FIX,	/* labelled base64: 8-bit octets left out */
};

/* m8_copy - the body up to the next delimiter or the end. */
static enum m8_end
m8_copy(struct m8 *m, enum m8_copy how)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	unsigned char out[3];
	size_t n, i, from;
	int r;

	while ((r = m8_next(m, &p, &n)) == 1) {
		if (how == COPY_AS_IS) {
			wr_put(m, p, n);
			continue;
		}
		for (i = from = 0; i < n; i++) {
			if (p[i] < 0x80)
				continue;
			wr_put(m, p + from, i - from);
			from = i + 1;
			if (how == COPY_SANITIZE)
				wr_put(m, "?", 1);
			else if (how == COPY_QP_FIX) {
				out[0] = '=';
				out[1] = (unsigned char)hex[p[i] >> 4];
				out[2] = (unsigned char)hex[p[i] & 15];
				wr_put(m, out, 3);
			}
		}
		wr_put(m, p + from, n - from);
	}
	return m8_end_of(r);
}

/*
 * Bodies encoded.
 */
struct m8_stats {
	unsigned long long	bytes, high, nul;
	int			utf8_bad;
	int			need;	/* UTF-8 continuation bytes still due */
};

static void
m8_stats_add(struct m8_stats *st, const unsigned char *p, size_t n)
{
	size_t i;
	unsigned char c;

	st->bytes += n;
	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == 0)
			st->nul++;
		if (c < 0x80) {
			if (st->need)
				st->utf8_bad = 1;
			st->need = 0;
			continue;
		}
		st->high++;
		if (st->need) {
			if ((c & 0xc0) == 0x80)
				st->need--;
			else
				st->utf8_bad = 1;
		} else if (c >= 0xc2 && c <= 0xdf)
			st->need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			st->need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			st->need = 3;
		else
			st->utf8_bad = 1;
	}
}

struct m8_enc {
	int		b64;
	unsigned char	q[3];
	int		nq;
	int		col;
	int		pend_nl;	/* a line end held back */
	int		pend_ws;	/* QP: a blank held back (0: none) */
};

static void
enc_b64_flush(struct m8 *m, struct m8_enc *e, int final)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char o[4];
	unsigned v;

	if (e->nq == 0 || (e->nq < 3 && !final))
		return;
	v = (unsigned)e->q[0] << 16 | (e->nq > 1 ? (unsigned)e->q[1] << 8 : 0) |
	    (e->nq > 2 ? e->q[2] : 0);
	o[0] = al[v >> 18 & 63];
	o[1] = al[v >> 12 & 63];
	o[2] = e->nq > 1 ? al[v >> 6 & 63] : '=';
	o[3] = e->nq > 2 ? al[v & 63] : '=';
	if (e->col + 4 > B64_LINE) {
		wr_put(m, "\n", 1);
		e->col = 0;
	}
	wr_put(m, o, 4);
	e->col += 4;
	e->nq = 0;
}

static void
enc_b64_byte(struct m8 *m, struct m8_enc *e, unsigned char c)
{
	e->q[e->nq++] = c;
	enc_b64_flush(m, e, 0);
}

/* enc_qp_token - T (LEN bytes) on the current line, after a soft line
 * break when it would pass QP_LINE - 1 (the break's '=' takes the last). */
static void
enc_qp_token(struct m8 *m, struct m8_enc *e, const char *t, int len)
{
	if (e->col + len > QP_LINE - 1) {
		wr_put(m, "=\n", 2);
		e->col = 0;
	}
	wr_put(m, t, (size_t)len);
	e->col += len;
}

static void
enc_qp_hex(struct m8 *m, struct m8_enc *e, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3];

	t[0] = '=';
	t[1] = hex[c >> 4];
	t[2] = hex[c & 15];
	enc_qp_token(m, e, t, 3);
}

static void
enc_qp_byte(struct m8 *m, struct m8_enc *e, unsigned char c)
{
	char t = (char)c;

	if (e->pend_ws) {
		t = (char)e->pend_ws;
		e->pend_ws = 0;
		enc_qp_token(m, e, &t, 1);	/* not at a line end: literal */
		t = (char)c;
	}
	if (c == ' ' || c == '\t')
		e->pend_ws = c;
	else if (c >= 33 && c <= 126 && c != '=')
		enc_qp_token(m, e, &t, 1);
	else
		enc_qp_hex(m, e, c);
}

/* enc_newline - a line end of the content. */
static void
enc_newline(struct m8 *m, struct m8_enc *e)
{
	if (e->b64) {
		enc_b64_byte(m, e, '\r');
		enc_b64_byte(m, e, '\n');
		return;
	}
	if (e->pend_ws) {
		enc_qp_hex(m, e, (unsigned char)e->pend_ws);	/* RFC 2045 §6.7 (3) */
		e->pend_ws = 0;
	}
	wr_put(m, "\n", 1);
	e->col = 0;
}

/* enc_finish - end the encoded body; AT_DELIM: a delimiter follows, and
 * the line end held back is its own. */
static void
enc_finish(struct m8 *m, struct m8_enc *e, int at_delim)
{
	if (e->pend_nl && !at_delim)
		enc_newline(m, e);
	e->pend_nl = 0;
	if (e->b64) {
		enc_b64_flush(m, e, 1);
		if (e->col > 0 || at_delim)
			wr_put(m, "\n", 1);
		return;
	}
	if (e->pend_ws)
		enc_qp_hex(m, e, (unsigned char)e->pend_ws);
	if (at_delim)
		wr_put(m, "\n", 1);
	else if (e->col > 0)
		wr_put(m, "=\n", 2);	/* no line end in the content: a soft one */
}

/* m8_encode - the body up to the next delimiter or the end, encoded. */
static enum m8_end
m8_encode(struct m8 *m, int b64)
{
	struct m8_enc e;
	const unsigned char *p;
	size_t n, i, len;
	int r;

	memset(&e, 0, sizeof(e));
	e.b64 = b64;
	while ((r = m8_next(m, &p, &n)) == 1) {
		if (e.pend_nl) {
			enc_newline(m, &e);
			e.pend_nl = 0;
		}
		len = n > 0 && p[n - 1] == '\n' ? n - 1 : n;
		for (i = 0; i < len; i++) {
			if (b64)
				enc_b64_byte(m, &e, p[i]);
			else
				enc_qp_byte(m, &e, p[i]);
		}
		e.pend_nl = len < n;
	}
	if (r != NEXT_ERR)
		enc_finish(m, &e, r == NEXT_DELIM);
	return m8_end_of(r);
}

/*
 * Parts.
 */

/* m8_write_header - m->hdr; when ENC is set, without its
 * Content-Transfer-Encoding fields and with ADD and "C-T-E: ENC" before
 * the empty line. */
static void
m8_write_header(struct m8 *m, const char *add, const char *enc)
{
	size_t off = 0, end, blank = m8_blank_len(m), limit = m->hdrlen - blank;

	if (enc == NULL) {
		wr_put(m, m->hdr, m->hdrlen);
		return;
	}
	while (off < limit) {
		end = m8_field_end(m, off, limit);
		if (!m8_field_is(m->hdr + off, end - off,
		    "Content-Transfer-Encoding"))
			wr_put(m, m->hdr + off, end - off);
		off = end;
	}
	wr_str(m, add);
	wr_str(m, "Content-Transfer-Encoding: ");
	wr_str(m, enc);
	wr_str(m, "\n");
	wr_put(m, m->hdr + limit, blank);
}

/* m8_leaf - a part that is not walked into: copied when 7-bit, else
 * encoded.  BINARY: treat it as non-text whatever its type.  MESSAGE: it
 * is a message (MIME-Version is added when missing). */
static enum m8_end
m8_leaf(struct m8 *m, const struct m8_info *mi, int message, int binary)
{
	struct m8_stats st;
	const unsigned char *p;
	char add[128];
	off_t body = rd_tell(&m->rd);
	size_t n;
	int r, b64;

	memset(&st, 0, sizeof(st));
	while ((r = m8_next(m, &p, &n)) == 1)
		m8_stats_add(&st, p, n);
	if (r == NEXT_ERR)
		return M8_ERR;
	rd_seek(&m->rd, body);
	if (st.high == 0) {
		m8_write_header(m, NULL, NULL);
		return m8_copy(m, COPY_AS_IS);
	}
	if (!m8_identity(mi)) {
		/* already encoded, yet 8-bit: repair, keep the label */
		m8_write_header(m, NULL, NULL);
		if (strcmp(mi->cte, "quoted-printable") == 0)
			return m8_copy(m, COPY_QP_FIX);
		if (strcmp(mi->cte, "base64") == 0)
			return m8_copy(m, COPY_B64_FIX);
		/* an unknown encoding: nobody can read it anyway */
		return m8_copy(m, COPY_SANITIZE);
	}
	b64 = binary || strcmp(mi->type, "text") != 0 || st.nul > 0 ||
	    st.high > st.bytes / 3;
	add[0] = '\0';
	if (message && !mi->has_mv)
		(void)strcat(add, "MIME-Version: 1.0\n");
	if (!mi->has_ct)
		(void)strcat(add, st.utf8_bad || st.need ?
		    "Content-Type: text/plain; charset=unknown-8bit\n" :
		    "Content-Type: text/plain; charset=utf-8\n");
	m8_write_header(m, add, b64 ? "base64" : "quoted-printable");
	return m8_encode(m, b64);
}

/* m8_first_delim - 1 when the body ahead reaches a delimiter of LEVEL
 * before any outer one or the end; the reader is put back. */
static int
m8_first_delim(struct m8 *m, size_t level)
{
	const unsigned char *p;
	off_t at = rd_tell(&m->rd);
	size_t n;
	int r;

	while ((r = m8_next(m, &p, &n)) == 1)
		;
	rd_seek(&m->rd, at);
	if (r == NEXT_ERR)
		return -1;
	return r == NEXT_DELIM && m->hit == level;
}

static enum m8_end m8_entity(struct m8 *m, int depth, int message, int digest);

/* m8_multipart - the body of a multipart whose boundary is open at LEVEL
 * and whose first delimiter is known to come: preamble, parts, epilogue. */
static enum m8_end
m8_multipart(struct m8 *m, size_t level, int depth, int digest)
{
	const unsigned char *p;
	enum m8_end r;
	size_t n;
	int bol;

	r = m8_copy(m, COPY_SANITIZE);	/* the preamble */
	while (r == M8_DELIM && m->hit == level) {
		/* the delimiter line itself, as it was */
		if (rd_piece(m, &p, &n, &bol) != 1)
			return M8_ERR;
		wr_put(m, p, n);
		if (m->hit_close) {
			/* the epilogue: only an outer delimiter ends it */
			m->nb = level;
			return m8_copy(m, COPY_SANITIZE);
		}
		r = m8_entity(m, depth + 1, 0, digest);
	}
	return r;	/* the end, an outer delimiter, or an error */
}

/*
 * m8_entity - one entity: a header block, then its body, at DEPTH.
 * MESSAGE: it is a whole message (the top, or an embedded message/rfc822);
 * DIGEST: its parent is multipart/digest.
 */
static enum m8_end
m8_entity(struct m8 *m, int depth, int message, int digest)
{
	struct m8_info mi;
	enum m8_end r;
	size_t level;
	int h, found;

	h = m8_headers(m);
	if (h == NEXT_ERR)
		return M8_ERR;
	if (h != 1) {
		/* no empty line: a header without a body */
		m8_write_header(m, NULL, NULL);
		return m8_end_of(h);
	}
	m8_info(m, digest, &mi);
	if (strcmp(mi.type, "multipart") == 0 && mi.boundary[0] != '\0' &&
	    depth < MIME8_DEPTH_MAX && m->nb < MIME8_DEPTH_MAX) {
		level = m->nb++;
		memcpy(m->bnd[level], mi.boundary, strlen(mi.boundary) + 1);
		m->bndlen[level] = strlen(mi.boundary);
		found = m8_first_delim(m, level);
		if (found == -1)
			return M8_ERR;
		if (found) {
			m8_write_header(m, NULL, NULL);
			r = m8_multipart(m, level, depth,
			    strcmp(mi.subtype, "digest") == 0);
			m->nb = level;
			return r;
		}
		m->nb = level;	/* its boundary never comes: one leaf */
		return m8_leaf(m, &mi, message, 1);
	}
	if (strcmp(mi.type, "multipart") == 0)
		return m8_leaf(m, &mi, message, 1);	/* no boundary, or too deep */
	if (strcmp(mi.type, "message") == 0 && strcmp(mi.subtype, "rfc822") == 0 &&
	    m8_identity(&mi) && depth < MIME8_DEPTH_MAX) {
		m8_write_header(m, NULL, NULL);
		return m8_entity(m, depth + 1, 1, 0);
	}
	return m8_leaf(m, &mi, message, 0);
}

int
mime8_downgrade(int in_fd, int out_fd, char *err, size_t errsize)
{
	struct m8 *m;
	enum m8_end r;
	int rc;

	if (errsize > 0)
		err[0] = '\0';
	m = xcalloc(1, sizeof(*m));
	m->hdr = xmalloc(MIME8_HEADER_MAX);
	m->err = err;
	m->errsize = errsize;
	m->rd.fd = in_fd;
	m->rd.bol = 1;
	m->wr.fd = out_fd;
	r = m8_entity(m, 0, 1, 0);
	/* the top has no boundary: only the end stops it */
	if (r == M8_DELIM)
		m8_fail(m, "internal: delimiter at the top level");
	wr_flush(m);
	rc = m->failed ? -1 : 0;
	free(m->hdr);
	free(m);
	return rc;
}
