/*
 * mime.c - decoders of the maildat plugin: charsets to UTF-8 (iconv),
 * RFC 2047 encoded words, base64, quoted-printable, and the MIME walk that turns a message body
 * into the text the Body: lines and RBL: URLs are looked for in.
 *
 * Everything here takes untrusted bytes: it never reads past the lengths
 * it is given, never recurses deeper than MD_MIME_DEPTH, and never writes
 * more than the struct md_text ceiling.  What cannot be decoded is kept as
 * it is or dropped -- a rule then simply does not match it.
 */
#include "maildat.h"

/* ---- a bounded text buffer ---------------------------------------------- */

void
md_text_init(struct md_text *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
}

void
md_text_free(struct md_text *t)
{
	free(t->data);
	t->data = NULL;
	t->len = t->cap = 0;
}

/* md_text_add - append; past the ceiling the rest is dropped and FULL set
 * (the scan limit is the documented bound on what is looked at). */
void
md_text_add(struct md_text *t, const char *p, size_t n)
{
	size_t ncap;

	if (t->len + n > t->max) {
		n = t->max - t->len;
		t->full = 1;
	}
	if (n == 0)
		return;
	if (t->len + n + 1 > t->cap) {
		ncap = t->cap ? t->cap : 4096;
		while (ncap < t->len + n + 1)
			ncap *= 2;
		t->data = realloc(t->data, ncap);
		if (t->data == NULL)
			abort();
		t->cap = ncap;
	}
	memcpy(t->data + t->len, p, n);
	t->len += n;
	t->data[t->len] = '\0';
}

/* ---- charsets ----------------------------------------------------------- */

/* md_charset - the iconv name for a MIME charset, or NULL for UTF-8 and
 * ASCII (nothing to convert). */
static const char *
md_charset(const char *cs)
{
	if (cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0)
		return NULL;
	if (strcasecmp(cs, "shift_jis") == 0 || strcasecmp(cs, "sjis") == 0 ||
	    strcasecmp(cs, "x-sjis") == 0 || strcasecmp(cs, "shift-jis") == 0 ||
	    strcasecmp(cs, "windows-31j") == 0 || strcasecmp(cs, "cp932") == 0)
		return "CP932";
	if (strcasecmp(cs, "iso-2022-jp") == 0 || strcasecmp(cs, "csiso2022jp") == 0)
		return "ISO-2022-JP-3";	/* a superset: JIS X 0213 too */
	if (strcasecmp(cs, "euc-jp") == 0 || strcasecmp(cs, "x-euc-jp") == 0)
		return "EUC-JP-MS";
	return cs;
}

/*
 * md_iconv - IN (N bytes) from CHARSET (an iconv name) to UTF-8, as a new
 * string (owned), its length in *LEN_R when not NULL.  Bytes that do not
 * convert are skipped.  NULL when iconv does not know the charset.
 */
char *
md_iconv(const char *charset, const char *in, size_t n, size_t *len_r)
{
	iconv_t cd;
	char *out, *ip = (char *)in, *op;
	size_t il = n, ol, cap = 4 * n + 16;

	if (n > MD_ICONV_MAX)
		return NULL;
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1 && strcmp(charset, "ISO-2022-JP-3") == 0)
		cd = iconv_open("UTF-8", "ISO-2022-JP");
	if (cd == (iconv_t)-1 && strcmp(charset, "EUC-JP-MS") == 0)
		cd = iconv_open("UTF-8", "EUC-JP");
	if (cd == (iconv_t)-1)
		return NULL;
	out = md_alloc(cap + 1);
	op = out;
	ol = cap;
	while (il > 0) {
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
			break;
		if (errno == E2BIG)
			break;		/* 4n is always enough; stop if not */
		/* EILSEQ / EINVAL: skip one byte, start afresh */
		ip++;
		il--;
		(void)iconv(cd, NULL, NULL, NULL, NULL);
	}
	(void)iconv(cd, NULL, NULL, &op, &ol);
	iconv_close(cd);
	*op = '\0';
	if (len_r)
		*len_r = (size_t)(op - out);
	return out;
}

/* md_to_utf8 - append IN (N bytes) in CHARSET (MIME name, may be NULL) to
 * T as UTF-8.  Unlabelled text with ISO-2022-JP escapes is read as such. */
static void
md_to_utf8(struct md_text *t, const char *charset, const char *in, size_t n)
{
	const char *cs = md_charset(charset);
	char *conv;
	size_t clen;

	if (cs == NULL && memmem(in, n, "\033$B", 3) != NULL)
		cs = "ISO-2022-JP-3";
	if (cs == NULL && !yh_utf8_valid(in, n) && charset == NULL)
		cs = "CP932";	/* raw 8-bit Japanese: most often Shift_JIS */
	if (cs != NULL && (conv = md_iconv(cs, in, n, &clen)) != NULL) {
		md_text_add(t, conv, clen);
		free(conv);
		return;
	}
	md_text_add(t, in, n);
}

/* ---- transfer encodings ------------------------------------------------- */

static int
md_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* md_b64 - decode base64 IN (N) into OUT (at least 3n/4 + 3 bytes),
 * skipping anything that is not in the alphabet.  The decoded length. */
size_t
md_b64(const char *in, size_t n, char *out)
{
	unsigned acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	for (i = 0; i < n; i++) {
		if (in[i] == '=')
			break;
		if ((v = md_b64val((unsigned char)in[i])) < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

static int
md_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* md_qp - decode quoted-printable IN (N) into OUT (at least N bytes);
 * HDR: the RFC 2047 Q form ("_" is a space).  The decoded length. */
size_t
md_qp(const char *in, size_t n, char *out, int hdr)
{
	size_t i, o = 0, j;
	int h, l;

	for (i = 0; i < n; i++) {
		if (hdr && in[i] == '_') {
			out[o++] = ' ';
		} else if (in[i] == '=') {
			if (i + 2 < n && (h = md_hexval((unsigned char)in[i + 1])) >= 0 &&
			    (l = md_hexval((unsigned char)in[i + 2])) >= 0) {
				out[o++] = (char)(h * 16 + l);
				i += 2;
				continue;
			}
			/* soft line break: "=" then optional blanks, LF */
			for (j = i + 1; j < n && (in[j] == ' ' || in[j] == '\t' ||
			    in[j] == '\r'); j++)
				;
			if (j < n && in[j] == '\n') {
				i = j;
				continue;
			}
			if (j == n)
				break;
			out[o++] = '=';
		} else
			out[o++] = in[i];
	}
	return o;
}

/* ---- RFC 2047 ----------------------------------------------------------- */

/*
 * md_2047 - the header value IN (N bytes) with its encoded words decoded,
 * all in UTF-8, appended to T.  Whitespace between two encoded words goes
 * (RFC 2047 §6.2); a malformed word stays as it is.
 */
void
md_2047(struct md_text *t, const char *in, size_t n)
{
	const char *p = in, *e = in + n, *q, *cs, *enc, *txt, *end, *ws = NULL;
	char csname[64], *dec;
	size_t dl, csl;
	int last_word = 0;

	while (p < e) {
		q = p;
		if (!(e - p >= 2 && p[0] == '=' && p[1] == '?')) {
			if (*p == ' ' || *p == '\t') {
				if (ws == NULL)
					ws = p;
				p++;
				continue;
			}
			goto plain;
		}
		cs = p + 2;
		enc = memchr(cs, '?', (size_t)(e - cs));
		if (enc == NULL || enc + 3 > e || enc[2] != '?' ||
		    !strchr("BbQq", enc[1]))
			goto plain;
		txt = enc + 3;
		end = NULL;
		for (q = txt; q + 1 < e; q++)
			if (q[0] == '?' && q[1] == '=') {
				end = q;
				break;
			}
		if (end == NULL)
			goto plain;
		csl = (size_t)(enc - cs);
		if (memchr(cs, '*', csl))	/* RFC 2231 language */
			csl = (size_t)((const char *)memchr(cs, '*', csl) - cs);
		if (csl == 0 || csl >= sizeof(csname))
			goto plain;
		memcpy(csname, cs, csl);
		csname[csl] = '\0';
		dec = md_alloc((size_t)(end - txt) + 4);
		if (enc[1] == 'B' || enc[1] == 'b')
			dl = md_b64(txt, (size_t)(end - txt), dec);
		else
			dl = md_qp(txt, (size_t)(end - txt), dec, 1);
		if (ws != NULL && !last_word)
			md_text_add(t, ws, (size_t)(p - ws));
		md_to_utf8(t, csname, dec, dl);
		free(dec);
		ws = NULL;
		last_word = 1;
		p = end + 2;
		continue;
plain:
		if (ws != NULL)
			md_text_add(t, ws, (size_t)(p - ws));
		ws = NULL;
		last_word = 0;
		q = p + 1;
		while (q < e && *q != ' ' && *q != '\t' &&
		    !(q + 1 < e && q[0] == '=' && q[1] == '?'))
			q++;
		md_to_utf8(t, NULL, p, (size_t)(q - p));
		p = q;
	}
	if (ws != NULL)
		md_text_add(t, ws, (size_t)(e - ws));
}

/* ---- MIME --------------------------------------------------------------- */

/*
 * md_param - the value of parameter NAME in the header value V ("text/plain;
 * charset=ISO-2022-JP"), quotes removed, into OUT (SIZE).  1 found, 0 not.
 */
static int
md_param(const char *v, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name), i;
	const char *p = v;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		i = 0;
		if (*p == '"') {
			for (p++; *p && *p != '"' && i + 1 < size; p++)
				out[i++] = *p == '\\' && p[1] ? *++p : *p;
		} else
			for (; *p && !strchr("; \t", *p) && i + 1 < size; p++)
				out[i++] = *p;
		out[i] = '\0';
		return i > 0;
	}
	return 0;
}

/* md_part_header - parse the header lines of P..E (already split off). */
void
md_part_header(const char *p, const char *e, struct md_part *mp)
{
	const char *nl, *v, *vend;
	char val[1024];
	size_t n, vl;
	int which;

	memset(mp, 0, sizeof(*mp));
	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		n = (size_t)((nl ? nl : e) - p);
		which = n > 13 && strncasecmp(p, "Content-Type:", 13) == 0 ? 1 :
		    n > 26 && strncasecmp(p, "Content-Transfer-Encoding:", 26) == 0 ? 2 : 0;
		if (which) {
			v = p + (which == 1 ? 13 : 26);
			/* the value, unfolded, up to sizeof(val) */
			vl = 0;
			vend = nl ? nl : e;
			for (;;) {
				for (; v < vend && vl + 1 < sizeof(val); v++)
					val[vl++] = *v == '\t' || *v == '\r' ? ' ' : *v;
				if (vend >= e || vend + 1 >= e ||
				    (vend[1] != ' ' && vend[1] != '\t'))
					break;
				v = vend + 1;
				nl = memchr(v, '\n', (size_t)(e - v));
				vend = nl ? nl : e;
			}
			val[vl] = '\0';
			v = val + strspn(val, " ");
			if (which == 1) {
				n = strcspn(v, "; ");
				if (n >= sizeof(mp->type))
					n = sizeof(mp->type) - 1;
				memcpy(mp->type, v, n);
				mp->type[n] = '\0';
				md_lower(mp->type, n);
				(void)md_param(v, "charset", mp->charset,
				    sizeof(mp->charset));
				(void)md_param(v, "boundary", mp->boundary,
				    sizeof(mp->boundary));
			} else {
				n = strcspn(v, "; ");
				if (n >= sizeof(mp->cte))
					n = sizeof(mp->cte) - 1;
				memcpy(mp->cte, v, n);
				mp->cte[n] = '\0';
				md_lower(mp->cte, n);
			}
			p = vend;
			p = p < e ? p + 1 : e;
			continue;
		}
		p = nl ? nl + 1 : e;
	}
}

/* md_split - the header of the part P..E ends at the first empty line;
 * *BODY_R is where its body starts (E when there is none). */
static const char *
md_split(const char *p, const char *e, const char **body_r)
{
	const char *q = p;

	if (q < e && *q == '\n') {	/* no header at all */
		*body_r = q + 1;
		return q;
	}
	while (q < e) {
		const char *nl = memchr(q, '\n', (size_t)(e - q));

		if (nl == NULL)
			break;
		if (nl + 1 < e && nl[1] == '\n') {
			*body_r = nl + 2;
			return nl + 1;
		}
		if (nl + 2 < e && nl[1] == '\r' && nl[2] == '\n') {
			*body_r = nl + 3;
			return nl + 1;
		}
		q = nl + 1;
	}
	*body_r = e;
	return e;
}

/* md_decode_text - a leaf text part's BODY..E, decoded, into OUT. */
static void
md_decode_text(struct md_text *out, const struct md_part *mp, const char *b,
    const char *e)
{
	size_t n = (size_t)(e - b), dl;
	char *dec;

	if (strcmp(mp->cte, "base64") == 0) {
		dec = md_alloc(n / 4 * 3 + 4);
		dl = md_b64(b, n, dec);
	} else if (strcmp(mp->cte, "quoted-printable") == 0) {
		dec = md_alloc(n + 1);
		dl = md_qp(b, n, dec, 0);
	} else {
		md_to_utf8(out, mp->charset[0] ? mp->charset : NULL, b, n);
		md_text_add(out, "\n", 1);
		return;
	}
	md_to_utf8(out, mp->charset[0] ? mp->charset : NULL, dec, dl);
	md_text_add(out, "\n", 1);
	free(dec);
}

/*
 * md_mime_body - the body B..E of a part whose header is MP, decoded into
 * OUT: text parts converted, multiparts walked, message/rfc822 entered,
 * anything else skipped.  DEPTH counts nesting (MD_MIME_DEPTH at most).
 */
void
md_mime_body(struct md_text *out, const struct md_part *mp, const char *b,
    const char *e, int depth)
{
	const char *p, *nl, *start = NULL, *hend, *body;
	struct md_part sub;
	size_t bl, n;

	if (out->full || depth > MD_MIME_DEPTH)
		return;
	if (strncmp(mp->type, "multipart/", 10) == 0 && mp->boundary[0]) {
		bl = strlen(mp->boundary);
		for (p = b; p < e; p = nl ? nl + 1 : e) {
			nl = memchr(p, '\n', (size_t)(e - p));
			n = (size_t)((nl ? nl : e) - p);
			if (n < bl + 2 || p[0] != '-' || p[1] != '-' ||
			    memcmp(p + 2, mp->boundary, bl) != 0)
				continue;
			if (start != NULL) {
				hend = md_split(start, p, &body);
				md_part_header(start, hend, &sub);
				md_mime_body(out, &sub, body, p, depth + 1);
			}
			if (n >= bl + 4 && p[bl + 2] == '-' && p[bl + 3] == '-')
				return;		/* the close delimiter */
			start = nl ? nl + 1 : e;
		}
		if (start != NULL && start < e) {	/* no close: to the end */
			hend = md_split(start, e, &body);
			md_part_header(start, hend, &sub);
			md_mime_body(out, &sub, body, e, depth + 1);
		}
		return;
	}
	if (strcmp(mp->type, "message/rfc822") == 0) {
		hend = md_split(b, e, &body);
		md_part_header(b, hend, &sub);
		md_mime_body(out, &sub, body, e, depth + 1);
		return;
	}
	if (mp->type[0] == '\0' || strncmp(mp->type, "text/", 5) == 0)
		md_decode_text(out, mp, b, e);
}

/*
 * md_mime_decode - the decoded text of a whole message MSG (LEN bytes, the
 * header included; LF line ends) into OUT, bounded by OUT's ceiling.
 */
void
md_mime_decode(struct md_text *out, const char *msg, size_t len)
{
	const char *hend, *body;
	struct md_part mp;

	hend = md_split(msg, msg + len, &body);
	md_part_header(msg, hend, &mp);
	md_mime_body(out, &mp, body, msg + len, 0);
}
