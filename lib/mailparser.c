/*
 * mailparser.c - the MIME walk, transfer decoding and file names of
 * yubin-mailparser; see mailparser.h.
 *
 * Everything here reads untrusted bytes: every scan is bounded by the
 * lengths it was given, recursion by MP_DEPTH_MAX, copies by their
 * destination's size.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailparser.h"
#include "utf8.h"
#include "util.h"

struct walk {
	mp_part_fn	*fn;
	void		*ctx;
	unsigned	 nparts;
	unsigned	 warn;
	int		 stopped;
	int		 toolong;
};

const char *
mp_warn_text(unsigned bit)
{
	switch (bit) {
	case MP_W_NOCLOSE:
		return "multipart without its closing boundary";
	case MP_W_NOSTART:
		return "multipart without a boundary: kept as one part";
	case MP_W_DEPTH:
		return "MIME nesting deeper than 16: kept as one part";
	case MP_W_PARTS:
		return "more than 1000 parts: the rest left out";
	}
	return "unknown";
}

/* ---- header blocks ------------------------------------------------------ */

int
mp_header_split(const char *msg, size_t len, size_t *hlen_r, size_t *body_r)
{
	const char *p = msg, *e = msg + len, *nl;

	if (len > 0 && msg[0] == '\n') {
		*hlen_r = 0;
		*body_r = 1;
		return 0;
	}
	if (len > 1 && msg[0] == '\r' && msg[1] == '\n') {
		*hlen_r = 0;
		*body_r = 2;
		return 0;
	}
	while (p < e) {
		if ((size_t)(p - msg) > MP_HEADER_MAX)
			return -1;
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL)
			break;
		if (nl + 1 < e && nl[1] == '\n') {
			*hlen_r = (size_t)(nl + 1 - msg);
			*body_r = *hlen_r + 1;
			return *hlen_r > MP_HEADER_MAX ? -1 : 0;
		}
		if (nl + 2 < e && nl[1] == '\r' && nl[2] == '\n') {
			*hlen_r = (size_t)(nl + 1 - msg);
			*body_r = *hlen_r + 2;
			return *hlen_r > MP_HEADER_MAX ? -1 : 0;
		}
		p = nl + 1;
	}
	if (len > MP_HEADER_MAX)
		return -1;
	*hlen_r = len;
	*body_r = len;
	return 0;
}

int
mp_field(const char *hdr, size_t hlen, const char *name, char *out,
    size_t size)
{
	const char *p = hdr, *e = hdr + hlen, *nl, *v;
	size_t nlen = strlen(name), o = 0;

	if (size == 0)
		return 0;
	if (size > MP_FIELD_MAX)
		size = MP_FIELD_MAX;
	for (; p < e; p = nl ? nl + 1 : e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if ((size_t)(e - p) <= nlen || p[nlen] != ':' ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		v = p + nlen + 1;
		for (;;) {
			const char *le = nl ? nl : e;

			for (; v < le && o + 1 < size; v++)
				out[o++] = *v == '\t' || *v == '\r' ? ' ' : *v;
			if (nl == NULL || nl + 1 >= e ||
			    (nl[1] != ' ' && nl[1] != '\t'))
				break;
			v = nl + 1;
			nl = memchr(v, '\n', (size_t)(e - v));
		}
		out[o] = '\0';
		while (o > 0 && out[o - 1] == ' ')
			out[--o] = '\0';
		v = out + strspn(out, " ");
		memmove(out, v, strlen(v) + 1);
		return 1;
	}
	out[0] = '\0';
	return 0;
}

/* ---- charsets and encoded words ----------------------------------------- */

/* cut_utf8 - the largest length <= N of S that ends on a character. */
static size_t
cut_utf8(const char *s, size_t n)
{
	size_t k = n;

	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* put - append IN (N) to OUT (*O used of SIZE, NUL kept), cut at a
 * character when it does not fit. */
static void
put(char *out, size_t size, size_t *o, const char *in, size_t n)
{
	if (*o + 1 >= size)
		return;
	if (n > size - *o - 1)
		n = cut_utf8(in, size - *o - 1);
	memcpy(out + *o, in, n);
	*o += n;
	out[*o] = '\0';
}

/* put_cs - IN (N bytes) in CHARSET appended as UTF-8 when iconv converts
 * it; as it is otherwise (the sanitizer deals with what is not UTF-8). */
static void
put_cs(char *out, size_t size, size_t *o, const char *cs, const char *in,
    size_t n)
{
	char conv[4 * MP_NAME_MAX + 16], *ip = (char *)in, *op = conv;
	size_t il = n, ol = sizeof(conv);
	iconv_t cd;

	if (cs[0] == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "us-ascii") == 0 || n > MP_NAME_MAX ||
	    (cd = iconv_open("UTF-8", cs)) == (iconv_t)-1) {
		put(out, size, o, in, n);
		return;
	}
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
		iconv_close(cd);
		put(out, size, o, in, n);
		return;
	}
	iconv_close(cd);
	put(out, size, o, conv, (size_t)(op - conv));
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* word_decode - the text of one encoded word, B or Q, into OUT (at least
 * N bytes).  The decoded length. */
static size_t
word_decode(int enc, const char *in, size_t n, char *out)
{
	unsigned acc = 0;
	size_t i, o = 0;
	int bits = 0, v, h, l;

	for (i = 0; i < n; i++) {
		if (enc == 'B') {
			if ((v = b64_value((unsigned char)in[i])) < 0)
				continue;
			acc = (acc << 6) | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (char)((acc >> bits) & 0xff);
			}
		} else if (in[i] == '_')
			out[o++] = ' ';
		else if (in[i] == '=' && i + 2 < n &&
		    (h = hexval((unsigned char)in[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)in[i + 2])) >= 0) {
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else
			out[o++] = in[i];
	}
	return o;
}

size_t
mp_decode_2047(const char *in, size_t n, char *out, size_t size)
{
	const char *p = in, *e = in + n, *q, *enc, *txt, *end, *ws = NULL;
	char cs[64], dec[MP_NAME_MAX + 1];
	size_t o = 0, csl;
	int last_word = 0;

	if (size == 0)
		return 0;
	out[0] = '\0';
	while (p < e && o + 1 < size) {
		if (*p == ' ' || *p == '\t') {
			if (ws == NULL)
				ws = p;
			p++;
			continue;
		}
		if (e - p < 2 || p[0] != '=' || p[1] != '?')
			goto plain;
		enc = memchr(p + 2, '?', (size_t)(e - p - 2));
		if (enc == NULL || e - enc < 3 || enc[2] != '?' ||
		    strchr("BbQq", enc[1]) == NULL)
			goto plain;
		txt = enc + 3;
		for (end = NULL, q = txt; q + 1 < e; q++)
			if (q[0] == '?' && q[1] == '=') {
				end = q;
				break;
			}
		csl = (size_t)(enc - (p + 2));
		if (memchr(p + 2, '*', csl) != NULL)	/* RFC 2231 §5 language */
			csl = (size_t)((const char *)memchr(p + 2, '*', csl) - (p + 2));
		if (end == NULL || csl == 0 || csl >= sizeof(cs) ||
		    (size_t)(end - txt) > sizeof(dec))
			goto plain;
		memcpy(cs, p + 2, csl);
		cs[csl] = '\0';
		if (ws != NULL && !last_word)
			put(out, size, &o, ws, (size_t)(p - ws));
		put_cs(out, size, &o, cs, dec,
		    word_decode(enc[1] == 'b' ? 'B' : enc[1] == 'q' ? 'Q' :
		    enc[1], txt, (size_t)(end - txt), dec));
		ws = NULL;
		last_word = 1;
		p = end + 2;
		continue;
plain:
		if (ws != NULL)
			put(out, size, &o, ws, (size_t)(p - ws));
		ws = NULL;
		last_word = 0;
		for (q = p + 1; q < e && *q != ' ' && *q != '\t' &&
		    !(q + 1 < e && q[0] == '=' && q[1] == '?'); q++)
			;
		put(out, size, &o, p, (size_t)(q - p));
		p = q;
	}
	if (ws != NULL && o + 1 < size)
		put(out, size, &o, ws, (size_t)(e - ws));
	return o;
}

/* ---- parameters (RFC 2045 §5.1, RFC 2231) ------------------------------- */

/*
 * param_next - the next "name=value" of a parameter list at *PP: the name
 * into NAME, the value (quotes and backslashes removed) into VAL.  1, or
 * 0 at the end.
 */
static int
param_next(const char **pp, char *name, size_t nsize, char *val, size_t vsize)
{
	const char *p = *pp;
	size_t n = 0, v = 0;

	for (;;) {
		p = strchr(p, ';');
		if (p == NULL)
			return 0;
		p++;
		p += strspn(p, " ");
		n = strcspn(p, "= ;");
		if (n > 0 && p[n] == '=' && n < nsize)
			break;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	p += n + 1;
	p += strspn(p, " ");
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (v + 1 < vsize)
				val[v++] = *p;
		}
		if (*p == '"')
			p++;
	} else
		for (; *p && *p != ';' && *p != ' '; p++)
			if (v + 1 < vsize)
				val[v++] = *p;
	val[v] = '\0';
	*pp = p;
	return 1;
}

/* pct_decode - RFC 2231 §4 %XX octets of IN appended to OUT (*O of SIZE). */
static void
pct_decode(const char *in, char *out, size_t size, size_t *o)
{
	int h, l;

	for (; *in && *o + 1 < size; in++) {
		if (in[0] == '%' && (h = hexval((unsigned char)in[1])) >= 0 &&
		    (l = hexval((unsigned char)in[2])) >= 0) {
			out[(*o)++] = (char)(h * 16 + l);
			in += 2;
		} else
			out[(*o)++] = *in;
	}
	out[*o] = '\0';
}

/* param_value - mp_param; DECODE 0 keeps the joined value's octets as
 * they are (a boundary is compared byte for byte, never decoded). */
static int
param_value(const char *v, const char *name, char *out, size_t size,
    int decode)
{
	static const char none[] = "";
	char pname[128], val[MP_FIELD_MAX], raw[MP_NAME_MAX * 3 + 1];
	char cs[64] = "", *seg[MP_CONT_MAX] = { 0 };
	int ext[MP_CONT_MAX] = { 0 }, plain = 0, found = 0, extended = 0;
	const char *p = v, *q;
	size_t nl = strlen(name), o = 0, i;
	char *endp;
	long k;

	if (size == 0)
		return 0;
	out[0] = '\0';
	while (param_next(&p, pname, sizeof(pname), val, sizeof(val))) {
		if (strncasecmp(pname, name, nl) != 0)
			continue;
		q = pname + nl;
		if (*q == '\0') {		/* name=value */
			if (!plain && !extended) {
				free(seg[0]);
				seg[0] = xstrdup(val);
				plain = 1;
			}
			continue;
		}
		if (*q != '*')
			continue;
		if (q[1] == '\0') {		/* name*=cs'lang'value */
			k = 0;
			ext[0] = 1;
		} else {
			errno = 0;
			k = strtol(q + 1, &endp, 10);
			if (errno || endp == q + 1 || k < 0 || k >= MP_CONT_MAX ||
			    (*endp != '\0' && strcmp(endp, "*") != 0))
				continue;
			ext[k] = *endp == '*';
		}
		if (plain) {			/* the RFC 2231 form wins */
			free(seg[0]);
			seg[0] = NULL;
			plain = 0;
		}
		extended = 1;
		free(seg[k]);
		seg[k] = xstrdup(val);
	}
	for (i = 0; i < MP_CONT_MAX && seg[i] != NULL; i++) {
		const char *s = seg[i];

		found = 1;
		if (i == 0 && ext[0] && extended) {	/* charset'language' */
			const char *a = strchr(s, '\''), *b;

			if (a != NULL && (b = strchr(a + 1, '\'')) != NULL) {
				if ((size_t)(a - s) < sizeof(cs)) {
					memcpy(cs, s, (size_t)(a - s));
					cs[a - s] = '\0';
				}
				s = b + 1;
			}
		}
		if (ext[i])
			pct_decode(s, raw, sizeof(raw), &o);
		else
			put(raw, sizeof(raw), &o, s, strlen(s));
	}
	for (i = 0; i < MP_CONT_MAX; i++)
		free(seg[i]);
	if (!found)
		return 0;
	raw[o] = '\0';
	o = 0;
	if (!decode)
		put(out, size, &o, raw, strlen(raw));
	else if (extended)
		put_cs(out, size, &o, cs[0] ? cs : none, raw, strlen(raw));
	else
		(void)mp_decode_2047(raw, strlen(raw), out, size);
	return 1;
}

int
mp_param(const char *v, const char *name, char *out, size_t size)
{
	return param_value(v, name, out, size, 1);
}

/* ---- file names --------------------------------------------------------- */

/* utf8_seq - the length of the well-formed UTF-8 character at P (N bytes
 * left), 0 when there is none. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;

	return k > 0 && k <= n && utf8_valid(p, k) ? k : 0;
}

size_t
mp_filename_sanitize(const char *name, size_t len, char *out, size_t size)
{
	char tmp[4 * MP_NAME_MAX + 1];
	const unsigned char *p = (const unsigned char *)name;
	size_t i, o = 0, k, ext = 0, cut;
	const char *dot;

	if (size <= MP_SAFE_MAX)
		return 0;
	for (i = 0; i < len && o + 4 < sizeof(tmp);) {
		if (p[i] >= 0x80) {
			if ((k = utf8_seq(p + i, len - i)) > 0) {
				memcpy(tmp + o, p + i, k);
				o += k;
				i += k;
				continue;
			}
			tmp[o++] = '_';
		} else if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '/' ||
		    p[i] == '\\')
			tmp[o++] = '_';
		else
			tmp[o++] = (char)p[i];
		i++;
	}
	while (o > 0 && (tmp[o - 1] == ' ' || tmp[o - 1] == '.'))
		o--;
	for (i = 0; i < o && (tmp[i] == '.' || tmp[i] == ' '); i++)
		tmp[i] = '_';
	tmp[o] = '\0';
	if (o <= MP_SAFE_MAX) {
		memcpy(out, tmp, o + 1);
		return o;
	}
	/* too long: keep a short extension, cut the stem at a character */
	dot = strrchr(tmp, '.');
	if (dot != NULL && dot != tmp && strlen(dot) <= 16)
		ext = strlen(dot);
	cut = cut_utf8(tmp, MP_SAFE_MAX - ext);
	memcpy(out, tmp, cut);
	memcpy(out + cut, tmp + o - ext, ext);
	out[cut + ext] = '\0';
	return cut + ext;
}

/* ---- transfer decoding -------------------------------------------------- */

int
mp_decode(const struct mp_part *p, struct buf *out, size_t *bad_r)
{
	const unsigned char *s = (const unsigned char *)p->body;
	size_t i, n = p->blen, run;
	unsigned acc = 0;
	int bits = 0, v, h, l, pad = 0, nchars = 0;
	char c;

	*bad_r = 0;
	if (strcmp(p->cte, "base64") == 0) {
		for (i = 0; i < n; i++) {
			if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
			    s[i] == '\n')
				continue;
			if (s[i] == '=') {
				pad = 1;
				continue;
			}
			if ((v = b64_value(s[i])) < 0 || pad) {
				(*bad_r)++;	/* data after padding, or junk */
				continue;
			}
			nchars++;
			acc = (acc << 6) | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				c = (char)((acc >> bits) & 0xff);
				if (buf_append(out, &c, 1) == -1)
					return -1;
			}
		}
		if (nchars % 4 == 1)
			(*bad_r)++;		/* a dangling sextet */
		return 0;
	}
	if (strcmp(p->cte, "quoted-printable") == 0) {
		for (i = 0; i < n; i += run) {
			const char *q = memchr(s + i, '=', n - i);

			run = q ? (size_t)((const unsigned char *)q - (s + i)) : n - i;
			if (run > 0) {
				if (buf_append(out, s + i, run) == -1)
					return -1;
				continue;
			}
			if (i + 2 < n && (h = hexval(s[i + 1])) >= 0 &&
			    (l = hexval(s[i + 2])) >= 0) {
				c = (char)(h * 16 + l);
				if (buf_append(out, &c, 1) == -1)
					return -1;
				run = 3;
				continue;
			}
			/* a soft line break: '=', blanks, then the line end */
			for (run = 1; i + run < n && (s[i + run] == ' ' ||
			    s[i + run] == '\t' || s[i + run] == '\r'); run++)
				;
			if (i + run < n && s[i + run] == '\n') {
				run++;
				continue;
			}
			if (i + run == n)
				continue;	/* '=' at the very end */
			(*bad_r)++;
			if (buf_append(out, "=", 1) == -1)
				return -1;
			run = 1;
		}
		return 0;
	}
	return buf_append(out, p->body, p->blen);
}

/* ---- the walk ----------------------------------------------------------- */

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* first_word - the value's first token (up to ';' or a blank), lower case,
 * into OUT (SIZE; a longer one is cut). */
static void
first_word(const char *v, char *out, size_t size)
{
	size_t n = strcspn(v, "; ");

	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	lower(out);
}

/* part_info - P's type, charset, encoding, disposition and file name from
 * its header block; DEFTYPE when it has no Content-Type. */
static void
part_info(struct mp_part *p, const char *deftype)
{
	char v[MP_FIELD_MAX];

	if (mp_field(p->hdr, p->hlen, "Content-Type", v, sizeof(v)) &&
	    strchr(v, '/') != NULL) {
		first_word(v, p->type, sizeof(p->type));
		(void)mp_param(v, "charset", p->charset, sizeof(p->charset));
		(void)mp_param(v, "name", p->filename, sizeof(p->filename));
	} else
		(void)str_copy(p->type, sizeof(p->type), deftype);
	if (mp_field(p->hdr, p->hlen, "Content-Transfer-Encoding", v, sizeof(v)))
		first_word(v, p->cte, sizeof(p->cte));
	if (mp_field(p->hdr, p->hlen, "Content-Disposition", v, sizeof(v))) {
		char disp[32], fn[MP_NAME_MAX + 1];

		first_word(v, disp, sizeof(disp));
		p->attachment = strcmp(disp, "attachment") == 0;
		if (mp_param(v, "filename", fn, sizeof(fn)) && fn[0])
			memcpy(p->filename, fn, strlen(fn) + 1);
	}
}

static void walk_entity(struct walk *w, const char *m, size_t len, int depth,
    const char *deftype);

/* emit - hand the leaf P to the callback, counting it. */
static void
emit(struct walk *w, struct mp_part *p)
{
	if (w->stopped)
		return;
	if (w->nparts >= MP_PARTS_MAX) {
		w->warn |= MP_W_PARTS;
		return;
	}
	p->index = ++w->nparts;
	if (w->fn(w->ctx, p) == -1)
		w->stopped = 1;
}

/* delim - 1 when the line L (N bytes, no line end) is "--BOUNDARY" (2 for
 * the closing "--BOUNDARY--"), blanks after it allowed. */
static int
delim(const char *l, size_t n, const char *b, size_t bl)
{
	size_t i = bl + 2;
	int r = 1;

	if (n < bl + 2 || l[0] != '-' || l[1] != '-' || memcmp(l + 2, b, bl) != 0)
		return 0;
	if (n >= bl + 4 && l[i] == '-' && l[i + 1] == '-') {
		r = 2;
		i += 2;
	}
	for (; i < n; i++)
		if (l[i] != ' ' && l[i] != '\t' && l[i] != '\r')
			return 0;
	return r;
}

/* body_end - the end of a part's content just before the delimiter line
 * at D: its preceding line end belongs to the delimiter (RFC 2046 §5.1.1). */
static const char *
body_end(const char *start, const char *d)
{
	if (d > start && d[-1] == '\n')
		d--;
	if (d > start && d[-1] == '\r')
		d--;
	return d;
}

/* walk_multipart - the parts of B..E, BOUNDARY's delimiters between them;
 * 0, or -1 when the first delimiter never comes. */
static int
walk_multipart(struct walk *w, const char *b, const char *e,
    const char *boundary, int depth, const char *childtype)
{
	const char *p, *nl, *start = NULL;
	size_t bl = strlen(boundary), n;
	int d;

	for (p = b; p < e && !w->stopped && !w->toolong; p = nl ? nl + 1 : e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		n = (size_t)((nl ? nl : e) - p);
		if ((d = delim(p, n, boundary, bl)) == 0)
			continue;
		if (start != NULL)
			walk_entity(w, start, (size_t)(body_end(start, p) - start),
			    depth + 1, childtype);
		if (d == 2)
			return 0;
		start = nl ? nl + 1 : e;
	}
	if (start == NULL)
		return -1;
	if (!w->stopped && !w->toolong) {
		w->warn |= MP_W_NOCLOSE;
		if (start < e)
			walk_entity(w, start, (size_t)(e - start), depth + 1,
			    childtype);
	}
	return 0;
}

/* walk_entity - one entity (header and body) M..M+LEN at DEPTH. */
static void
walk_entity(struct walk *w, const char *m, size_t len, int depth,
    const char *deftype)
{
	struct mp_part p;
	char v[MP_FIELD_MAX], boundary[MP_BOUNDARY_MAX + 1];
	size_t hlen, boff;

	if (w->stopped || w->toolong)
		return;
	if (mp_header_split(m, len, &hlen, &boff) == -1) {
		w->toolong = 1;
		return;
	}
	memset(&p, 0, sizeof(p));
	p.depth = depth;
	p.hdr = m;
	p.hlen = hlen;
	p.body = m + boff;
	p.blen = len - boff;
	part_info(&p, deftype);
	if (strncmp(p.type, "multipart/", 10) == 0) {
		if (depth >= MP_DEPTH_MAX) {
			w->warn |= MP_W_DEPTH;
			emit(w, &p);
			return;
		}
		if (mp_field(p.hdr, p.hlen, "Content-Type", v, sizeof(v)) &&
		    param_value(v, "boundary", boundary, sizeof(boundary), 0) &&
		    boundary[0] != '\0' &&
		    walk_multipart(w, p.body, p.body + p.blen, boundary, depth,
		    strcmp(p.type, "multipart/digest") == 0 ?
		    "message/rfc822" : "text/plain") == 0)
			return;
		w->warn |= MP_W_NOSTART;
		emit(w, &p);
		return;
	}
	if (strcmp(p.type, "message/rfc822") == 0 && p.cte[0] != 'b' &&
	    p.cte[0] != 'q') {
		if (depth >= MP_DEPTH_MAX) {
			w->warn |= MP_W_DEPTH;
			emit(w, &p);
			return;
		}
		walk_entity(w, p.body, p.blen, depth + 1, "text/plain");
		return;
	}
	emit(w, &p);
}

int
mp_parse(const char *msg, size_t len, mp_part_fn *fn, void *ctx,
    unsigned *warn_r, const char **why_r)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.fn = fn;
	w.ctx = ctx;
	walk_entity(&w, msg, len, 0, "text/plain");
	*warn_r = w.warn;
	if (w.toolong) {
		*why_r = "header block longer than 262144 bytes";
		return -1;
	}
	if (w.stopped) {
		*why_r = "stopped";
		return -1;
	}
	return 0;
}
