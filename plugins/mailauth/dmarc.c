/*
 * dmarc.c - DMARC (RFC 7489): the policy record's grammar (§6.3-6.4),
 * policy discovery (§6.6.3), identifier alignment (§3.1) and the policy a
 * failing message gets, with its pct sampling (§6.6.4).  The
 * organisational domain comes from libpsl's built-in Public Suffix List.
 *
 * Privilege: none.  Must never: read past LEN of a record or the end of a
 * header value, write past an output buffer (values that do not fit are
 * errors, never cut), or apply a policy from a record it refused.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "dmarc.h"

#define DMARC_TAG_MAX	32	/* tag names we keep for the duplicate check */
#define DMARC_NAME_MAX	16	/* a tag name's characters we compare */

static void why_set(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- the record -------------------------------------------------------- */

struct dmarc_tag {
	char		 name[DMARC_NAME_MAX + 1];
	const char	*v;		/* the value, trimmed */
	size_t		 vlen;
};

/*
 * tag_next - the next tag-spec of TXT[*POS..LEN) into T (RFC 6376 §3.2 as
 * §6.4 uses it).  1 a tag, 0 the end, -1 malformed (WHY).  Empty specs
 * (";;", a final ';') are passed over.
 */
static int
tag_next(const char *txt, size_t len, size_t *pos, struct dmarc_tag *t,
    char *why, size_t whysize)
{
	size_t i = *pos, n = 0, end;
	unsigned char c;

	for (;;) {
		while (i < len && is_wsp((unsigned char)txt[i]))
			i++;
		if (i == len) {
			*pos = i;
			return 0;
		}
		if (txt[i] != ';')
			break;
		i++;
	}
	if (!isalpha((unsigned char)txt[i])) {
		why_set(why, whysize, "a tag name must start with a letter");
		return -1;
	}
	while (i < len && (isalnum((unsigned char)txt[i]) || txt[i] == '_')) {
		if (n == DMARC_NAME_MAX) {
			why_set(why, whysize, "a tag name too long");
			return -1;
		}
		t->name[n++] = (char)tolower((unsigned char)txt[i++]);
	}
	t->name[n] = '\0';
	while (i < len && is_wsp((unsigned char)txt[i]))
		i++;
	if (i == len || txt[i] != '=') {
		why_set(why, whysize, "tag %s without '='", t->name);
		return -1;
	}
	i++;
	while (i < len && is_wsp((unsigned char)txt[i]))
		i++;
	t->v = txt + i;
	for (end = i; end < len && txt[end] != ';'; end++) {
		c = (unsigned char)txt[end];
		if (!is_wsp(c) && (c < 0x21 || c > 0x7e)) {
			why_set(why, whysize, "tag %s: a control or non-ASCII "
			    "byte in the value", t->name);
			return -1;
		}
	}
	*pos = end;
	while (end > i && is_wsp((unsigned char)txt[end - 1]))
		end--;
	t->vlen = end - i;
	return 1;
}

static int
val_is(const struct dmarc_tag *t, const char *word)
{
	return strlen(word) == t->vlen && strncasecmp(t->v, word, t->vlen) == 0;
}

static int
policy_parse(const struct dmarc_tag *t, enum dmarc_policy *p)
{
	if (val_is(t, "none"))
		*p = DMARC_P_NONE;
	else if (val_is(t, "quarantine"))
		*p = DMARC_P_QUARANTINE;
	else if (val_is(t, "reject"))
		*p = DMARC_P_REJECT;
	else
		return -1;
	return 0;
}

/* uri_list_ok - §6.4 dmarc-uri *("," dmarc-uri), each a URI with a
 * scheme ("mailto:...") and an optional "!size[kmgt]".  The number of
 * URIs, or -1. */
static int
uri_list_ok(const char *v, size_t len)
{
	size_t i = 0, start;
	int n = 0;

	for (;;) {
		while (i < len && is_wsp((unsigned char)v[i]))
			i++;
		start = i;
		if (i == len || !isalpha((unsigned char)v[i]))
			return -1;
		while (i < len && (isalnum((unsigned char)v[i]) ||
		    v[i] == '+' || v[i] == '-' || v[i] == '.'))
			i++;
		if (i == len || v[i] != ':' || i + 1 == len ||
		    v[i + 1] == ',' || v[i + 1] == '!')
			return -1;
		while (i < len && v[i] != ',' && !is_wsp((unsigned char)v[i]))
			i++;
		if (i == start)
			return -1;
		n++;
		while (i < len && is_wsp((unsigned char)v[i]))
			i++;
		if (i == len)
			return n;
		if (v[i] != ',')
			return -1;
		i++;
	}
}

/* words_ok - V is words of ALLOWED characters joined by ':' (fo, rf). */
static int
words_ok(const char *v, size_t len, int (*allowed)(const char *, size_t))
{
	size_t i = 0, start;

	for (;;) {
		while (i < len && is_wsp((unsigned char)v[i]))
			i++;
		start = i;
		while (i < len && v[i] != ':' && !is_wsp((unsigned char)v[i]))
			i++;
		if (i == start || !allowed(v + start, i - start))
			return 0;
		while (i < len && is_wsp((unsigned char)v[i]))
			i++;
		if (i == len)
			return 1;
		if (v[i] != ':')
			return 0;
		i++;
	}
}

static int
fo_word(const char *w, size_t n)
{
	return n == 1 && strchr("01dDsS", w[0]) != NULL;
}

static int
rf_word(const char *w, size_t n)
{
	size_t i;

	if (!isalpha((unsigned char)w[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)w[i]) && w[i] != '-')
			return 0;
	return 1;
}

/* digits - V (LEN bytes) as a decimal of at most MAXDIG digits; -1 none */
static long
digits(const char *v, size_t len, size_t maxdig)
{
	long n = 0;
	size_t i;

	if (len == 0 || len > maxdig)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* tag_apply - one tag after v into R; 0, or -1 with WHY.  *P_BAD and
 * *SP_BAD note a bad p or sp (§6.6.3 may still save the record). */
static int
tag_apply(const struct dmarc_tag *t, struct dmarc_record *r, int *have_p,
    int *have_sp, int *p_bad, int *nuri, char *why, size_t whysize)
{
	long n;

	if (strcmp(t->name, "p") == 0) {
		*have_p = 1;
		if (policy_parse(t, &r->p) == -1)
			*p_bad = 1;
	} else if (strcmp(t->name, "sp") == 0) {
		*have_sp = 1;
		if (policy_parse(t, &r->sp) == -1)
			*p_bad = 1;
	} else if (strcmp(t->name, "pct") == 0) {
		if ((n = digits(t->v, t->vlen, 3)) < 0 || n > 100) {
			why_set(why, whysize, "pct is not 0..100");
			return -1;
		}
		r->pct = (int)n;
	} else if (strcmp(t->name, "adkim") == 0 ||
	    strcmp(t->name, "aspf") == 0) {
		int *strict = t->name[1] == 'd' ? &r->adkim_strict :
		    &r->aspf_strict;

		if (val_is(t, "s"))
			*strict = 1;
		else if (val_is(t, "r"))
			*strict = 0;
		else {
			why_set(why, whysize, "%s is not r or s", t->name);
			return -1;
		}
	} else if (strcmp(t->name, "rua") == 0 || strcmp(t->name, "ruf") == 0) {
		if ((n = uri_list_ok(t->v, t->vlen)) < 0) {
			why_set(why, whysize, "%s is not a list of URIs", t->name);
			return -1;
		}
		if (t->name[2] == 'a')
			*nuri = (int)n;
	} else if (strcmp(t->name, "ri") == 0) {
		if (digits(t->v, t->vlen, 10) < 0 ||
		    digits(t->v, t->vlen, 10) > 4294967295L) {
			why_set(why, whysize, "ri is not a number");
			return -1;
		}
	} else if (strcmp(t->name, "fo") == 0) {
		if (!words_ok(t->v, t->vlen, fo_word)) {
			why_set(why, whysize, "fo is not of 0, 1, d, s");
			return -1;
		}
	} else if (strcmp(t->name, "rf") == 0) {
		if (!words_ok(t->v, t->vlen, rf_word)) {
			why_set(why, whysize, "rf is not a list of formats");
			return -1;
		}
	} else if (strcmp(t->name, "v") == 0) {
		why_set(why, whysize, "v is not the first tag");
		return -1;
	}
	/* other tags are ignored (§6.3) */
	return 0;
}

int
dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r,
    char *why, size_t whysize)
{
	char seen[DMARC_TAG_MAX][DMARC_NAME_MAX + 1];
	struct dmarc_tag t;
	size_t pos = 0, nseen = 0, i;
	int rc, have_p = 0, have_sp = 0, p_bad = 0, nuri = 0;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	if (why != NULL && whysize > 0)
		why[0] = '\0';
	if (tag_next(txt, len, &pos, &t, NULL, 0) != 1 ||
	    strcmp(t.name, "v") != 0 || t.vlen != 6 ||
	    memcmp(t.v, "DMARC1", 6) != 0) {
		why_set(why, whysize, "not v=DMARC1 first");
		return DMARC_REC_OTHER;
	}
	strcpy(seen[nseen++], "v");
	while ((rc = tag_next(txt, len, &pos, &t, why, whysize)) == 1) {
		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i], t.name) == 0) {
				why_set(why, whysize, "tag %s twice", t.name);
				return DMARC_REC_BAD;
			}
		if (nseen == DMARC_TAG_MAX) {
			why_set(why, whysize, "too many tags");
			return DMARC_REC_BAD;
		}
		strcpy(seen[nseen++], t.name);
		if (tag_apply(&t, r, &have_p, &have_sp, &p_bad, &nuri, why,
		    whysize) == -1)
			return DMARC_REC_BAD;
	}
	if (rc == -1)
		return DMARC_REC_BAD;
	if (!have_p || p_bad) {
		/* §6.6.3: a record without a valid p (or with a bad sp) is
		 * taken as p=none when rua names a URI, else dropped */
		if (nuri == 0) {
			why_set(why, whysize, "%s", have_p ? "p or sp is not "
			    "none, quarantine or reject" : "no p tag");
			return DMARC_REC_BAD;
		}
		r->p = r->sp = DMARC_P_NONE;
		r->p_assumed = 1;
		return DMARC_REC_OK;
	}
	if (!have_sp)
		r->sp = r->p;
	return DMARC_REC_OK;
}

int
dmarc_record_check(const char *txt, size_t len, char *why, size_t whysize)
{
	struct dmarc_record r;

	return dmarc_record_parse(txt, len, &r, why, whysize) == DMARC_REC_OK ?
	    0 : -1;
}

/* ---- the From domain --------------------------------------------------- */

/* host_ok - D (lower case, no final dot) is a host name: LDH labels of
 * 1..63 characters, not starting or ending with '-', at most
 * DMARC_DOMAIN_MAX in all. */
static int
host_ok(const char *d)
{
	size_t n = strlen(d), lab = 0, i;

	if (n == 0 || n > DMARC_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (lab == 0 || lab > 63 || d[i - 1] == '-' ||
			    d[i - lab] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!isalnum((unsigned char)d[i]) && d[i] != '-')
			return 0;
		lab++;
	}
	return 1;
}

/*
 * skip_comment - past the comment starting at *P ('('), nested, with
 * quoted pairs; -1 when it does not end.
 */
static int
skip_comment(const char **p)
{
	const char *s = *p;
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				return -1;
			s++;
		} else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0) {
			*p = s + 1;
			return 0;
		}
	}
	return -1;
}

static int
skip_quoted(const char **p)
{
	const char *s = *p + 1;

	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				return -1;
			s++;
		} else if (*s == '"') {
			*p = s + 1;
			return 0;
		}
	}
	return -1;
}

/*
 * An address is collected as the characters outside comments and
 * quoted strings' delimiters: enough to find its last '@' and the domain
 * after it (a quoted local part may hold '@'; its quotes mark it).
 */
struct addr_acc {
	char	 dom[DMARC_DOMAIN_MAX + 2];
	size_t	 dlen;
	int	 at;		/* an '@' was seen outside quotes */
	int	 any;		/* anything but blanks and comments */
	int	 overflow;
	int	 literal;	/* '[' in the domain */
};

static void
acc_char(struct addr_acc *a, char c, int quoted)
{
	if (is_wsp((unsigned char)c) && !quoted)
		return;
	a->any = 1;
	if (c == '@' && !quoted) {
		a->at = 1;
		a->dlen = 0;
		a->overflow = a->literal = 0;
		return;
	}
	if (!a->at)
		return;
	if (quoted || c == '[')
		a->literal = 1;
	if (a->dlen + 1 >= sizeof(a->dom))
		a->overflow = 1;
	else
		a->dom[a->dlen++] = c;
}

/*
 * one_mailbox - the address part of the mailbox TEXT[0..len) without its
 * display name: what is between the last top-level '<' '>' pair, else the
 * whole.  Into A.
 */
static int
one_mailbox(const char *s, const char *end, struct addr_acc *a)
{
	const char *p, *lt = NULL, *gt = NULL;

	for (p = s; p < end;) {
		if (*p == '(') {
			if (skip_comment(&p) == -1)
				return -1;
		} else if (*p == '"') {
			if (skip_quoted(&p) == -1)
				return -1;
		} else {
			if (*p == '<')
				lt = p;
			else if (*p == '>' && lt != NULL && gt == NULL)
				gt = p;
			p++;
		}
	}
	if (lt != NULL) {
		if (gt == NULL || gt < lt)
			return -1;
		s = lt + 1;
		end = gt;
	}
	memset(a, 0, sizeof(*a));
	for (p = s; p < end;) {
		if (*p == '(') {
			if (skip_comment(&p) == -1)
				return -1;
		} else if (*p == '"') {
			const char *q = p;

			if (skip_quoted(&q) == -1)
				return -1;
			for (p++; p < q - 1; p++) {
				if (*p == '\\')
					p++;
				acc_char(a, *p, 1);
			}
			a->any = 1;
			p = q;
		} else if (*p == '<' || *p == '>')
			return -1;
		else
			acc_char(a, *p++, 0);
	}
	return 0;
}

int
dmarc_from_domain(const char *value, char *dom, size_t size, char *why,
    size_t whysize)
{
	struct addr_acc a, found;
	const char *p, *start;
	int n = 0, in_group = 0, in_angle = 0;
	size_t i;

	if (size > 0)
		dom[0] = '\0';
	memset(&found, 0, sizeof(found));
	for (p = start = value;; ) {
		if (*p == '(') {
			if (skip_comment(&p) == -1)
				goto unterminated;
			continue;
		}
		if (*p == '"') {
			if (skip_quoted(&p) == -1)
				goto unterminated;
			continue;
		}
		if (*p == '<')
			in_angle = 1;
		else if (*p == '>')
			in_angle = 0;
		if (*p == ':' && !in_angle && !in_group) {
			/* a group: "name: a, b;" -- its name is no address */
			in_group = 1;
			start = ++p;
			continue;
		}
		if (*p == ',' && in_angle) {
			/* obs-route "<@a,@b:x@y>": inside the brackets */
			p++;
			continue;
		}
		if (*p == '\0' || ((*p == ',' || *p == ';') && !in_angle)) {
			if (one_mailbox(start, p, &a) == -1)
				goto unterminated;
			if (a.any) {
				if (++n > 1) {
					why_set(why, whysize,
					    "more than one address");
					return -1;
				}
				found = a;
			}
			if (*p == ';')
				in_group = 0;
			if (*p == '\0')
				break;
			start = ++p;
			continue;
		}
		p++;
	}
	if (n == 0) {
		why_set(why, whysize, "no address");
		return -1;
	}
	if (!found.at || found.dlen == 0) {
		why_set(why, whysize, "an address without a domain");
		return -1;
	}
	if (found.literal) {
		why_set(why, whysize, "a domain literal");
		return -1;
	}
	if (found.overflow) {
		why_set(why, whysize, "a domain too long");
		return -1;
	}
	if (found.dom[found.dlen - 1] == '.')
		found.dlen--;
	found.dom[found.dlen] = '\0';
	for (i = 0; i < found.dlen; i++)
		found.dom[i] = (char)tolower((unsigned char)found.dom[i]);
	if (!host_ok(found.dom)) {
		why_set(why, whysize, "a domain that is not a host name");
		return -1;
	}
	if (found.dlen + 1 > size) {
		why_set(why, whysize, "a domain too long");
		return -1;
	}
	memcpy(dom, found.dom, found.dlen + 1);
	return 0;
unterminated:
	why_set(why, whysize, "an unterminated comment, quote or '<'");
	return -1;
}

/* ---- organisational domain and alignment ------------------------------- */

int
dmarc_org_domain(const char *domain, char *out, size_t size)
{
	static const psl_ctx_t *psl;
	const char *reg = NULL;
	size_t n;

	if (psl == NULL)
		psl = psl_builtin();
	if (psl != NULL)
		reg = psl_registrable_domain(psl, domain);
	if (reg == NULL)
		reg = domain;
	n = strlen(reg);
	if (n >= size) {
		if (size > 0)
			out[0] = '\0';
		return -1;
	}
	memcpy(out, reg, n + 1);
	return 0;
}

/* aligned - identifier ID (any case, a final dot allowed) aligns with the
 * From domain FROM whose org domain is ORG. */
static int
aligned(const char *id, const char *from, const char *org, int strict)
{
	char d[DMARC_DOMAIN_MAX + 2], o[DMARC_DOMAIN_MAX + 1];
	size_t n = strlen(id), i;

	if (n == 0 || n >= sizeof(d))
		return 0;
	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)id[i]);
	if (d[n - 1] == '.')
		n--;
	d[n] = '\0';
	if (strict)
		return strcmp(d, from) == 0;
	return dmarc_org_domain(d, o, sizeof(o)) == 0 && strcmp(o, org) == 0;
}

/* ---- discovery and evaluation ------------------------------------------ */

enum find_rc { FIND_ONE, FIND_NONE, FIND_MANY, FIND_BAD, FIND_TEMP };

/* record_find - the DMARC record at "_dmarc.DOMAIN" into R. */
static enum find_rc
record_find(struct dnsq *q, const char *domain, struct dmarc_record *r,
    char *why, size_t whysize)
{
	char name[DNSQ_NAME_MAX + 1], w[96];
	struct dnsq_ans a;
	struct dmarc_record one;
	size_t i, found = 0;
	int rc, bad = 0;

	if ((size_t)snprintf(name, sizeof(name), "_dmarc.%s", domain) >=
	    sizeof(name))
		return FIND_NONE;		/* no such name can exist */
	rc = dnsq_lookup(q, name, DNSQ_TXT, &a);
	if (rc != DNSQ_OK)
		dnsq_ans_free(&a);
	if (rc == DNSQ_TEMP) {
		why_set(why, whysize, "DNS: %s: temporary failure", name);
		return FIND_TEMP;
	}
	if (rc == DNSQ_PERM) {
		why_set(why, whysize, "DNS: %s: malformed answer", name);
		return FIND_BAD;
	}
	if (rc != DNSQ_OK)
		return FIND_NONE;
	for (i = 0; i < a.n; i++) {
		rc = dmarc_record_parse(a.str[i], a.len != NULL ? a.len[i] :
		    strlen(a.str[i]), &one, w, sizeof(w));
		if (rc == DMARC_REC_OTHER)
			continue;
		if (++found == 1) {
			*r = one;
			bad = rc == DMARC_REC_BAD;
			if (bad)
				why_set(why, whysize, "bad record: %s", w);
		}
	}
	dnsq_ans_free(&a);
	if (found > 1)
		return FIND_MANY;
	if (found == 0)
		return FIND_NONE;
	return bad ? FIND_BAD : FIND_ONE;
}

static enum dmarc_policy
milder(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

/* identifiers_align - the SPF and DKIM identifiers of IN against OUT's
 * From domain under record R. */
static void
identifiers_align(const struct dmarc_input *in, const struct dmarc_record *r,
    struct dmarc_outcome *out)
{
	size_t i;

	if (in->spf != NULL && in->spf->result == SPF_PASS &&
	    strcmp(in->spf->identity, "mailfrom") == 0 &&
	    aligned(in->spf->domain, out->domain, out->org, r->aspf_strict))
		out->spf_aligned = 1;
	for (i = 0; i < in->ndkim && in->dkim != NULL; i++) {
		const struct dkim_verdict *v = &in->dkim[i];

		if (v->result == DKIM_PASS && !v->partial &&
		    aligned(v->domain, out->domain, out->org, r->adkim_strict))
			out->dkim_aligned = 1;
	}
}

void
dmarc_check(struct dnsq *q, const struct dmarc_input *in,
    struct dmarc_outcome *out)
{
	struct dmarc_record r;
	enum find_rc rc;
	int at_org = 0;

	memset(out, 0, sizeof(*out));
	out->result = DMARC_NONE;
	if (in->from_domain == NULL || snprintf(out->domain,
	    sizeof(out->domain), "%s", in->from_domain) >=
	    (int)sizeof(out->domain) || !host_ok(out->domain)) {
		out->result = DMARC_PERMERROR;
		why_set(out->reason, sizeof(out->reason),
		    "no usable From domain");
		return;
	}
	if (dmarc_org_domain(out->domain, out->org, sizeof(out->org)) == -1)
		snprintf(out->org, sizeof(out->org), "%s", out->domain);
	rc = record_find(q, out->domain, &r, out->reason, sizeof(out->reason));
	if (rc == FIND_NONE && strcmp(out->org, out->domain) != 0) {
		at_org = 1;
		rc = record_find(q, out->org, &r, out->reason,
		    sizeof(out->reason));
	}
	switch (rc) {
	case FIND_NONE:
		why_set(out->reason, sizeof(out->reason), "no DMARC record");
		return;
	case FIND_MANY:
		why_set(out->reason, sizeof(out->reason), "several DMARC "
		    "records at _dmarc.%s", at_org ? out->org : out->domain);
		return;
	case FIND_TEMP:
		out->result = DMARC_TEMPERROR;
		return;
	case FIND_BAD:
		out->result = DMARC_PERMERROR;
		return;
	case FIND_ONE:
		break;
	}
	snprintf(out->record_at, sizeof(out->record_at), "%s",
	    at_org ? out->org : out->domain);
	out->published = at_org ? r.sp : r.p;
	identifiers_align(in, &r, out);
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_PASS;
		return;
	}
	out->result = DMARC_FAIL;
	out->policy = out->published;
	if (in->sample >= (unsigned)r.pct && out->policy != DMARC_P_NONE) {
		out->policy = milder(out->policy);
		out->sampled_out = 1;
	}
}

const char *
dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_PASS:	return "pass";
	case DMARC_FAIL:	return "fail";
	case DMARC_TEMPERROR:	return "temperror";
	case DMARC_PERMERROR:	return "permerror";
	case DMARC_NONE:	break;
	}
	return "none";
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_QUARANTINE:	return "quarantine";
	case DMARC_P_REJECT:		return "reject";
	case DMARC_P_NONE:		break;
	}
	return "none";
}
