/*
 * dkim_canon.c - DKIM canonicalisation (RFC 6376 §3.4): a message split
 * into header fields and body, the simple and relaxed forms of a field
 * and of the body, the body hash (with l=, §3.5) and the data the header
 * hash covers (§3.7, fields chosen bottom-up as §5.4.2 says).
 *
 * The message comes with LF line ends, as the core stores it, and is
 * canonicalised as the CRLF form it travels in: each LF (or CRLF) is one
 * CRLF; a CR elsewhere is text.
 *
 * Privilege: none.  Must never: read outside the message, write past the
 * buffers it sizes itself, or look at more than DKIM_FIELDS_MAX fields.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "dkim_private.h"

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field_name - the length of the name of field P (LEN bytes): up to its
 * ':' with white space before it cut; 0 when the first line has none */
static size_t
field_name(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && p[i] != ':' && p[i] != '\n'; i++)
		;
	if (i == len || p[i] != ':')
		return 0;
	while (i > 0 && is_wsp((unsigned char)p[i - 1]))
		i--;
	return i;
}

int
dkim_msg_split(const char *msg, size_t len, struct dkim_msg *m, char *why,
    size_t whysize)
{
	struct dkim_field *f;
	const char *e;
	size_t i = 0, start, cend, next, cap = 0;

	memset(m, 0, sizeof(*m));
	m->body = msg + len;
	while (i < len) {
		start = i;
		e = memchr(msg + i, '\n', len - i);
		cend = e ? (size_t)(e - msg) : len;
		next = e ? cend + 1 : len;
		if (e != NULL && cend > start && msg[cend - 1] == '\r')
			cend--;
		if (cend == start && e != NULL) {
			m->body = msg + next;
			break;
		}
		if (is_wsp((unsigned char)msg[start]) && m->nf > 0)
			m->f[m->nf - 1].len = cend - (size_t)(m->f[m->nf - 1].p -
			    msg);
		else {
			if (m->nf == DKIM_FIELDS_MAX) {
				dkim_msg_free(m);
				return dkim_why(why, whysize,
				    "more than %d header fields",
				    DKIM_FIELDS_MAX);
			}
			if (m->nf == cap) {
				cap = cap ? cap * 2 : 32;
				if ((f = reallocarray(m->f, cap,
				    sizeof(*f))) == NULL) {
					dkim_msg_free(m);
					return dkim_why(why, whysize,
					    "out of memory");
				}
				m->f = f;
			}
			f = &m->f[m->nf++];
			f->p = msg + start;
			f->len = cend - start;
			f->nlen = field_name(f->p, f->len);
		}
		i = next;
	}
	m->blen = (size_t)(msg + len - m->body);
	return 0;
}

void
dkim_msg_free(struct dkim_msg *m)
{
	free(m->f);
	memset(m, 0, sizeof(*m));
}

int
dkim_field_is(const struct dkim_field *f, const char *name, size_t nlen)
{
	return f->nlen == nlen && nlen > 0 &&
	    strncasecmp(f->p, name, nlen) == 0;
}

static size_t
canon_simple(const char *p, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = p[i];
	}
	return o;
}

/* relaxed_value - P (LEN bytes) unfolded, white space runs as one SP,
 * none at either end, appended at OUT; its length */
static size_t
relaxed_value(const char *p, size_t len, char *out)
{
	size_t i, o = 0;
	int sp = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < len &&
		    p[i + 1] == '\n'))
			continue;
		if (is_wsp((unsigned char)p[i])) {
			sp = 1;
			continue;
		}
		if (sp && o > 0)
			out[o++] = ' ';
		sp = 0;
		out[o++] = p[i];
	}
	return o;
}

size_t
dkim_canon_header(enum dkim_canon c, const char *p, size_t len, char *out)
{
	const char *colon;
	size_t i, n, o = 0;

	if (c == DKIM_SIMPLE)
		return canon_simple(p, len, out);
	if ((colon = memchr(p, ':', len)) == NULL)
		return relaxed_value(p, len, out);
	n = (size_t)(colon - p);
	while (n > 0 && is_wsp((unsigned char)p[n - 1]))
		n--;
	for (i = 0; i < n; i++) {
		out[o] = p[i];
		if (out[o] >= 'A' && out[o] <= 'Z')
			out[o] = (char)(out[o] - 'A' + 'a');
		o++;
	}
	out[o++] = ':';
	o += relaxed_value(colon + 1, len - (size_t)(colon + 1 - p), out + o);
	return o;
}

static const char crlfs[] =
    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

static void
emit_crlfs(size_t n, dkim_emit_fn *emit, void *ctx)
{
	size_t k, most = (sizeof(crlfs) - 1) / 2;

	while (n > 0) {
		k = n < most ? n : most;
		emit(ctx, crlfs, 2 * k);
		n -= k;
	}
}

/* relaxed_line - line P (LEN bytes, not blank) in relaxed form, with CRLF */
static void
relaxed_line(const char *p, size_t len, dkim_emit_fn *emit, void *ctx)
{
	size_t i = 0, j;

	while (i < len) {
		if (is_wsp((unsigned char)p[i])) {
			for (j = i; j < len && is_wsp((unsigned char)p[j]); j++)
				;
			if (j < len)
				emit(ctx, " ", 1);
			i = j;
			continue;
		}
		for (j = i; j < len && !is_wsp((unsigned char)p[j]); j++)
			;
		emit(ctx, p + i, j - i);
		i = j;
	}
	emit(ctx, "\r\n", 2);
}

static int
blank(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_wsp((unsigned char)p[i]))
			return 0;
	return 1;
}

void
dkim_canon_body(enum dkim_canon c, const char *p, size_t len,
    dkim_emit_fn *emit, void *ctx)
{
	const char *e;
	size_t i = 0, cend, next, empties = 0;
	int any = 0;

	while (i < len) {
		e = memchr(p + i, '\n', len - i);
		cend = e ? (size_t)(e - p) : len;
		next = e ? cend + 1 : len;
		if (e != NULL && cend > i && p[cend - 1] == '\r')
			cend--;
		if (cend == i || (c == DKIM_RELAXED && blank(p + i, cend - i))) {
			empties++;
			i = next;
			continue;
		}
		emit_crlfs(empties, emit, ctx);
		empties = 0;
		if (c == DKIM_SIMPLE) {
			emit(ctx, p + i, cend - i);
			emit(ctx, "\r\n", 2);
		} else
			relaxed_line(p + i, cend - i, emit, ctx);
		any = 1;
		i = next;
	}
	if (!any && c == DKIM_SIMPLE)
		emit(ctx, "\r\n", 2);
}

struct body_md {
	EVP_MD_CTX	*md;
	long long	 limit;		/* -1: none */
	long long	 total;
	int		 err;
};

static void
body_emit(void *ctx, const void *p, size_t n)
{
	struct body_md *b = ctx;
	size_t k = n;

	if (b->limit >= 0) {
		if (b->total >= b->limit)
			k = 0;
		else if ((long long)n > b->limit - b->total)
			k = (size_t)(b->limit - b->total);
	}
	if (k > 0 && EVP_DigestUpdate(b->md, p, k) != 1)
		b->err = 1;
	b->total += (long long)n;
}

int
dkim_body_hash(enum dkim_canon c, const char *p, size_t len, long long l,
    unsigned char *md, long long *total_r)
{
	struct body_md b;
	unsigned int mdlen = 0;
	int r = -1;

	memset(&b, 0, sizeof(b));
	b.limit = l;
	if ((b.md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(b.md, EVP_sha256(), NULL) == 1) {
		dkim_canon_body(c, p, len, body_emit, &b);
		if (!b.err && EVP_DigestFinal_ex(b.md, md, &mdlen) == 1 &&
		    mdlen == 32)
			r = 0;
	}
	EVP_MD_CTX_free(b.md);
	*total_r = b.total;
	return r;
}

/* grow - room for N more bytes in *BUF (*LEN used, *CAP allocated) */
static int
grow(char **buf, size_t *len, size_t *cap, size_t n)
{
	size_t want;
	char *nb;

	if (n > ((size_t)-1) / 4 - *len)
		return -1;
	if (*len + n <= *cap)
		return 0;
	want = *cap ? *cap : 1024;
	while (want < *len + n)
		want *= 2;
	if ((nb = realloc(*buf, want)) == NULL)
		return -1;
	*buf = nb;
	*cap = want;
	return 0;
}

int
dkim_header_data(enum dkim_canon c, const struct dkim_msg *m,
    const char *const *h, const size_t *hl, size_t nh, const char *sigf,
    size_t siglen, char **out_r, size_t *outlen_r, char *why,
    size_t whysize)
{
	unsigned char *used;
	char *buf = NULL;
	size_t k, j, len = 0, cap = 0;

	*out_r = NULL;
	if ((used = calloc(m->nf ? m->nf : 1, 1)) == NULL)
		return dkim_why(why, whysize, "out of memory");
	for (k = 0; k < nh; k++) {
		for (j = m->nf; j-- > 0; ) {
			if (used[j] || !dkim_field_is(&m->f[j], h[k], hl[k]))
				continue;
			used[j] = 1;
			if (grow(&buf, &len, &cap, 2 * m->f[j].len + 4) == -1)
				goto oom;
			len += dkim_canon_header(c, m->f[j].p, m->f[j].len,
			    buf + len);
			buf[len++] = '\r';
			buf[len++] = '\n';
			break;
		}
	}
	if (grow(&buf, &len, &cap, 2 * siglen + 2) == -1)
		goto oom;
	len += dkim_canon_header(c, sigf, siglen, buf + len);
	free(used);
	*out_r = buf;
	*outlen_r = len;
	return 0;
oom:
	free(used);
	free(buf);
	return dkim_why(why, whysize, "out of memory");
}
