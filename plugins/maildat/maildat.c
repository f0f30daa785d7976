/*
 * maildat.c - the E-Post mail.dat filter (SEEDS.md §19, §22.3; F115-F119):
 * rules that describe unwanted mail by its header fields, body text and
 * URI blocklists, and what to do with it.
 *
 * The server table (CONFDIR/mail.dat, or [plugin maildat] file) and the
 * per-account tables (MAILBOX/ACCOUNT/mail.dat) run at the data hook, before
 * the 250: refusing is a 550 5.7.1 and never a bounce.
 *
 * Readings of what the seed leaves open:
 *  - every field given in a rule must match (AND); rules are tried in file
 *    order and the first that matches decides;
 *  - a token matches when it occurs in the field, case-insensitively (ASCII
 *    letters), after RFC 2047 decoding to UTF-8 (ISO-2022-JP, Shift_JIS,
 *    EUC-JP, UTF-8; B and Q); a field present several times (Received)
 *    matches when one of its instances does; "#blank" = missing or empty;
 *  - a token written /regex/flags (flags i, m, s, x) is a PCRE2 pattern,
 *    run against the decoded text with a match limit and a depth limit
 *    (compiled to machine code when the library has a JIT, whose depth is
 *    bounded by its stack instead); a pattern that hits a limit does not
 *    match (logged);
 *  - Body: lines must all occur in the decoded text of the message (text
 *    parts, base64 and quoted-printable decoded, charsets converted to
 *    UTF-8), looked at up to scan_limit bytes;
 *  - a Warning: block in a rule whose action is not 2 is ignored (logged
 *    at load; `yubind -t` shows it);
 *  - actions 5-7 redirect the message to Forward: instead of the original
 *    recipients;
 *  - the register digit blocks the client address (yh_block_add: refused
 *    at connect, `yubinctl block list|del`), for register_ttl seconds
 *    (0 = until removed);
 *  - the warning (action 2) goes at the head of the body; in a multipart
 *    message inside its first text part (nested multiparts followed by
 *    their first part), quoted-printable encoded when that part is; when
 *    that first leaf cannot take it as it is (base64, another charset, not
 *    text/plain) the warning is a text/plain part of its own placed before
 *    it; a single part that cannot take it is wrapped in multipart/mixed
 *    after a warning part.  The message stays valid MIME;
 *  - the backup digit copies the message as received to Folder: (default
 *    viruslog; relative to HOME, missing folders created) as QUEUEID, the
 *    envelope and the rule beside it as QUEUEID.env; a Folder: with a ".."
 *    component is a load-time error;
 *  - a per-account table is read once per message for all recipients of
 *    its account and applies to that account's copy only: a refusal drops
 *    the copy (logged), all refusing is 550 at DATA; a redirect (5)
 *    replaces the account's recipients by Forward:; a changed copy
 *    (2, 3, 4, 6, 7) is a copy of its own (yh_copy_add: queued with the
 *    message, before the 250, or dropped with it if it is refused later)
 *    for the account's recipients (or Forward:), unless no unchanged copy
 *    is left, when the message itself carries the first changed account's
 *    copy; a copy that cannot be queued on its own is stored unchanged
 *    (logged), never lost.  The register digit of an account rule acts as
 *    a server rule's does; its backup goes under the account's folder
 *    (MAILBOX/ACCOUNT/viruslog by default), and an absolute Folder: there
 *    is not followed (logged);
 *  - the rule file is UTF-8; a line that is not is read as Shift_JIS.
 *
 * [plugin maildat] keys: file, scan_limit (bytes, default 1 MiB),
 * rbl_timeout (ms, default 3000), register_ttl (seconds, default 0),
 * exempt (addresses and CIDRs, comma or space separated), exempt_auth
 * (1: authenticated sessions are not checked), per_account (default 1).
 *
 * Cost: a message is read once per data hook; a header field is decoded
 * (and lower-cased) the first time a rule looks at it, the body the first
 * time a Body: or RBL: rule needs it: once per message, shared by the
 * server table and the account tables.  A Body: literal is searched
 * only when every byte pair of it occurs in the body (a 64 Kibit set built
 * in one pass), so a table of rules that do not match costs about one pass
 * over the body plus one short test per rule (bench/maildat_vs_postfix).
 *
 * Must never: crash or allocate without bound on any message, header or
 * MIME structure; stall past the RBL deadline; send a bounce.  Runs as the
 * server user in the SMTP workers; init() runs as root in the master and
 * only reads the rule file and creates the backup folders, never through a
 * link the server user could plant (md_mkdir_walk).
 */
#include "maildat.h"

/* ---- the message as the rules see it ------------------------------------ */

void
md_msg_free(struct md_msg *m)
{
	size_t i;

	for (i = 0; i < m->nf; i++) {
		free(m->f[i].dec);
		free(m->f[i].low);
	}
	free(m->f);
	free(m->hdr);
	free(m->raw);
	free(m->body_low);
	free(m->pairs);
	md_text_free(&m->body);
	if (m->md)
		pcre2_match_data_free(m->md);
	if (m->mctx)
		pcre2_match_context_free(m->mctx);
	memset(m, 0, sizeof(*m));
}

static void
md_hdr_add(struct md_msg *m, const char *p, size_t n)
{
	if (m->hlen + n + 1 > m->hcap) {
		size_t c = m->hcap ? m->hcap : 65536;

		while (c < m->hlen + n + 1)
			c *= 2;
		m->hdr = realloc(m->hdr, c);
		if (m->hdr == NULL)
			abort();
		m->hcap = c;
	}
	memcpy(m->hdr + m->hlen, p, n);
	m->hlen += n;
	m->hdr[m->hlen] = '\0';
}

/* md_hdr_index - split the unfolded header text into fields. */
static void
md_hdr_index(struct md_msg *m)
{
	/* no header at all leaves hdr NULL: no pointer arithmetic on it */
	const char *p = m->hdr, *e = p != NULL ? p + m->hlen : p, *nl, *c;
	struct md_field_ix *x;
	size_t cap = 64;

	/* grown as needed: most messages have a few dozen fields */
	m->f = md_alloc(sizeof(*m->f) * cap);
	while (p < e && m->nf < MD_FIELDS_MAX) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL)
			nl = e;
		c = memchr(p, ':', (size_t)(nl - p));
		if (c != NULL && c > p) {
			if (m->nf == cap) {
				cap *= 2;
				m->f = realloc(m->f, sizeof(*m->f) * cap);
				if (m->f == NULL)
					abort();
			}
			x = &m->f[m->nf++];
			memset(x, 0, sizeof(*x));
			x->name = (size_t)(p - m->hdr);
			x->nlen = (size_t)(c - p);
			while (x->nlen > 0 && (p[x->nlen - 1] == ' ' ||
			    p[x->nlen - 1] == '\t'))
				x->nlen--;
			c++;
			while (c < nl && (*c == ' ' || *c == '\t'))
				c++;
			x->val = (size_t)(c - m->hdr);
			x->vlen = (size_t)(nl - c);
			while (x->vlen > 0 && (m->hdr[x->val + x->vlen - 1] == ' ' ||
			    m->hdr[x->val + x->vlen - 1] == '\t' ||
			    m->hdr[x->val + x->vlen - 1] == '\r'))
				x->vlen--;
		}
		p = nl < e ? nl + 1 : e;
	}
}

/*
 * md_msg_load - read the message FD: the header unfolded (each field kept
 * up to MD_FIELD_MAX, the whole up to MD_HEADER_MAX), and when BODY, the
 * raw body up to RAWMAX bytes for decoding.  0 or -1 (read error).
 */
int
md_msg_load(struct md_msg *m, int fd, int body, size_t rawmax)
{
	char chunk[65536];
	struct stat st;
	off_t off = 0;
	ssize_t n, i, s;
	size_t flen = 0;
	int state = 0;		/* 0 line start, 1 in a line, 2 body */
	int at_start = 1, dropping = 0;

	memset(m, 0, sizeof(*m));
	while (state != 2 && (n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		for (i = 0, s = 0; i < n; i++) {
			char c = chunk[i];

			if (at_start) {
				at_start = 0;
				if (c == '\n' || (c == '\r' && i + 1 < n &&
				    chunk[i + 1] == '\n')) {
					state = 2;
					off += i + (c == '\r' ? 2 : 1);
					break;
				}
				if (c == ' ' || c == '\t') {
					/* a fold: the field goes on */
				} else {
					if (m->hlen > 0)
						md_hdr_add(m, "\n", 1);
					flen = 0;
					dropping = m->hlen >= MD_HEADER_MAX;
				}
			}
			if (c == '\n') {
				at_start = 1;
				continue;
			}
			if (c == '\r')
				continue;
			if (dropping || flen >= MD_FIELD_MAX)
				continue;
			md_hdr_add(m, &c, 1);
			flen++;
			(void)s;
		}
		if (state != 2)
			off += n;
	}
	if (state != 2 && n == -1)
		return -1;
	md_hdr_index(m);
	if (!body || state != 2)
		return 0;
	/* no bigger than the body: a buffer of RAWMAX for every message would
	 * be zeroed each time and kept by malloc between messages */
	if (fstat(fd, &st) == 0 && st.st_size >= off &&
	    (unsigned long long)(st.st_size - off) < rawmax)
		rawmax = (size_t)(st.st_size - off);
	m->raw = md_alloc(rawmax + 1);
	while (m->rawlen < rawmax && (n = pread(fd, m->raw + m->rawlen,
	    rawmax - m->rawlen, off)) > 0) {
		off += n;
		m->rawlen += (size_t)n;
	}
	return 0;
}

/* md_field_dec - field I decoded (and lower-cased in *LOW_R). */
static const char *
md_field_dec(struct md_msg *m, size_t i, const char **low_r, size_t *len_r)
{
	struct md_field_ix *x = &m->f[i];
	struct md_text t;

	if (x->dec == NULL) {
		md_text_init(&t, 4 * x->vlen + 64);
		md_2047(&t, m->hdr + x->val, x->vlen);
		md_text_add(&t, "", 0);
		x->dec = t.data ? t.data : md_strdup("");
		x->dlen = t.len;
		x->low = md_strndup(x->dec, x->dlen);
		md_lower(x->low, x->dlen);
	}
	*low_r = x->low;
	*len_r = x->dlen;
	return x->dec;
}

static int
md_re_match(struct md_msg *m, pcre2_code *re, const char *s, size_t n)
{
	int r;

	if (m->mctx == NULL) {
		m->mctx = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(m->mctx, MD_MATCH_LIMIT);
		pcre2_set_depth_limit(m->mctx, MD_DEPTH_LIMIT);
		m->md = pcre2_match_data_create(1, NULL);
		if (m->mctx == NULL || m->md == NULL)
			abort();
	}
	r = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, m->md, m->mctx);
	if (r < 0 && r != PCRE2_ERROR_NOMATCH)
		yh_log(YH_LOG_WARN, "regex gave error %d (match or depth "
		    "limit?): no match", r);
	return r >= 0;
}

static int
md_tok_match(struct md_msg *m, const struct md_tok *t, const char *s,
    const char *low, size_t n)
{
	if (t->re)
		return (t->reqlen == 0 ||
		    memmem(low, n, t->req, t->reqlen) != NULL) &&
		    md_re_match(m, t->re, s, n);
	return memmem(low, n, t->lit, t->litlen) != NULL;
}

/*
 * md_body_lit - 1 when LIT (LEN bytes, lower case) occurs in the decoded
 * body, lower-cased.  It is first checked against the set of byte pairs of
 * the body (built once per message, one pass): when one of its pairs never
 * occurs, neither does it, and the body is not searched.  Most rules of a
 * large table do not match most mail, so most searches end there; the
 * answer is the same as memmem's.
 */
static int
md_body_lit(struct md_msg *m, const char *lit, size_t len)
{
	const unsigned char *b = (const unsigned char *)m->body_low, *l;
	size_t i, n = m->body.len;
	unsigned v, last = 0x10000;

	if (len > n)
		return 0;
	if (len >= 2) {
		if (m->pairs == NULL) {
			m->pairs = md_alloc(65536 / 8);
			for (i = 0; i + 1 < n; i++) {
				v = (unsigned)b[i] << 8 | b[i + 1];
				if (v != last)	/* runs of one byte are common */
					m->pairs[v >> 3] |= (unsigned char)
					    (1u << (v & 7));
				last = v;
			}
		}
		l = (const unsigned char *)lit;
		for (i = 0; i + 1 < len; i++) {
			v = (unsigned)l[i] << 8 | l[i + 1];
			if (!(m->pairs[v >> 3] & (1u << (v & 7))))
				return 0;
		}
	}
	return memmem(m->body_low, n, lit, len) != NULL;
}

/* md_body_has - 1 when body token T occurs in the decoded body: a literal
 * by md_body_lit; a regex only when the text it requires is there. */
int
md_body_has(struct md_msg *m, const struct md_tok *t)
{
	if (t->re)
		return (t->reqlen == 0 || md_body_lit(m, t->req, t->reqlen)) &&
		    md_re_match(m, t->re, m->body.data ? m->body.data : "",
		    m->body.len);
	return md_body_lit(m, t->lit, t->litlen);
}

static int
md_cond_match(struct md_msg *m, const struct md_cond *c)
{
	const char *dec, *low;
	size_t i, n, nl = strlen(c->hname);
	int seen = 0;

	for (i = 0; i < m->nf; i++) {
		if (m->f[i].nlen != nl ||
		    strncasecmp(m->hdr + m->f[i].name, c->hname, nl) != 0)
			continue;
		if (c->tok.blank) {
			if (m->f[i].vlen > 0)
				return 0;
			seen = 1;
			continue;
		}
		dec = md_field_dec(m, i, &low, &n);
		if (md_tok_match(m, &c->tok, dec, low, n))
			return 1;
	}
	(void)seen;
	return c->tok.blank;
}

void
md_body_decode(struct md_msg *m, size_t scan)
{
	size_t i;

	if (m->body_done)
		return;
	m->body_done = 1;
	md_text_init(&m->body, scan);
	memset(&m->top, 0, sizeof(m->top));
	/* the top-level Content-Type and -Transfer-Encoding, together */
	{
		struct md_text h;

		md_text_init(&h, 8192);
		for (i = 0; i < m->nf; i++)
			if ((m->f[i].nlen == 12 && strncasecmp(m->hdr + m->f[i].name,
			    "Content-Type", 12) == 0) || (m->f[i].nlen == 25 &&
			    strncasecmp(m->hdr + m->f[i].name,
			    "Content-Transfer-Encoding", 25) == 0)) {
				md_text_add(&h, m->hdr + m->f[i].name,
				    m->f[i].val + m->f[i].vlen - m->f[i].name);
				md_text_add(&h, "\n", 1);
			}
		if (h.data)
			md_part_header(h.data, h.data + h.len, &m->top);
		md_text_free(&h);
	}
	if (m->raw)
		md_mime_body(&m->body, &m->top, m->raw, m->raw + m->rawlen, 0);
	md_text_add(&m->body, "", 0);
	m->body_low = md_strndup(m->body.data ? m->body.data : "", m->body.len);
	md_lower(m->body_low, m->body.len);
}

/* md_rule_match - 1 when every condition of R holds for M. */
static int
md_rule_match(struct md_msg *m, const struct md_rule *r, size_t scan,
    int rbl_ms, char *hit, size_t hitsize)
{
	size_t i;

	hit[0] = '\0';
	/* every condition must hold: the literal ones first, which are
	 * cheaper and usually decide, then the regular expressions */
	for (i = 0; i < r->nconds; i++)
		if (r->conds[i].tok.re == NULL && !md_cond_match(m, &r->conds[i]))
			return 0;
	for (i = 0; i < r->nconds; i++)
		if (r->conds[i].tok.re != NULL && !md_cond_match(m, &r->conds[i]))
			return 0;
	if (r->nbody > 0 || r->rbl)
		md_body_decode(m, scan);
	for (i = 0; i < r->nbody; i++)
		if (!md_body_has(m, &r->body[i]))
			return 0;
	if (r->rbl) {
		if (!m->doms_done) {
			m->doms_done = 1;
			m->ndoms = md_uri_domains(m->body.data ? m->body.data : "",
			    m->body.len, m->doms);
		}
		if (m->ndoms == 0 || md_rbl_check(r->rbl, m->doms, m->ndoms,
		    rbl_ms, hit, hitsize) != 1)
			return 0;
	}
	return 1;
}

/* md_table_match - the first rule of T that matches M, or NULL. */
const struct md_rule *
md_table_match(const struct md_table *t, struct md_msg *m, size_t scan,
    int rbl_ms, char *hit, size_t hitsize)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (md_rule_match(m, &t->rules[i], scan, rbl_ms, hit, hitsize))
			return &t->rules[i];
	return NULL;
}

