/*
 * dkim_tag.c - the tag=value lists of DKIM (RFC 6376 §3.2): the
 * DKIM-Signature field (§3.5) and the key record (§3.6.1), their base64
 * values, and the checks the fuzz target drives (dkim_sig_check,
 * dkim_keyrec_check).
 *
 * Privilege: none; the text parsed comes from the network (a message, a
 * DNS answer).  Must never: read past the LEN bytes it is given, accept a
 * tag twice or a signature without one of v a b bh d h s or with an h=
 * that lacks From, or write past a fixed field (a value that does not
 * fit is refused, never cut).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim_private.h"

int
dkim_why(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysize > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysize, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* VALCHAR: %x21-3A / %x3C-7E */
static int
is_valchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

int
dkim_tags_parse(const char *s, size_t len, struct dkim_tags *tl, char *why,
    size_t whysize)
{
	struct dkim_tag *t;
	size_t i = 0, j, end;

	tl->n = 0;
	for (;;) {
		while (i < len && is_ws((unsigned char)s[i]))
			i++;
		if (i == len)
			return 0;
		if (!is_alpha((unsigned char)s[i]))
			return dkim_why(why, whysize, "tag %zu: bad tag name",
			    tl->n + 1);
		if (tl->n == DKIM_TAG_MAX)
			return dkim_why(why, whysize, "more than %d tags",
			    DKIM_TAG_MAX);
		t = &tl->t[tl->n];
		t->name = s + i;
		while (i < len && (is_alpha((unsigned char)s[i]) ||
		    is_digit((unsigned char)s[i]) || s[i] == '_'))
			i++;
		t->nlen = (size_t)(s + i - t->name);
		while (i < len && is_ws((unsigned char)s[i]))
			i++;
		if (i == len || s[i] != '=')
			return dkim_why(why, whysize, "tag %.*s: no '='",
			    (int)(t->nlen > 16 ? 16 : t->nlen), t->name);
		t->raw_off = ++i;
		while (i < len && is_ws((unsigned char)s[i]))
			i++;
		t->val = s + i;
		end = i;
		for (; i < len && s[i] != ';'; i++) {
			if (is_ws((unsigned char)s[i]))
				continue;
			if (!is_valchar((unsigned char)s[i]))
				return dkim_why(why, whysize,
				    "tag %.*s: bad character in value",
				    (int)(t->nlen > 16 ? 16 : t->nlen), t->name);
			end = i + 1;
		}
		t->vlen = end - (size_t)(t->val - s);
		t->raw_end = i;
		for (j = 0; j < tl->n; j++)
			if (tl->t[j].nlen == t->nlen &&
			    memcmp(tl->t[j].name, t->name, t->nlen) == 0)
				return dkim_why(why, whysize,
				    "tag %.*s given twice",
				    (int)(t->nlen > 16 ? 16 : t->nlen), t->name);
		tl->n++;
		if (i == len)
			return 0;
		i++;			/* the ';' */
	}
}

const struct dkim_tag *
dkim_tag_get(const struct dkim_tags *tl, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < tl->n; i++)
		if (tl->t[i].nlen == n && memcmp(tl->t[i].name, name, n) == 0)
			return &tl->t[i];
	return NULL;
}

static int
b64_val(unsigned char c)
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

long
dkim_b64_decode(const char *s, size_t len, unsigned char *out, size_t size)
{
	unsigned long acc = 0;
	size_t i, n = 0, chars = 0, pad = 0;
	int v;

	for (i = 0; i < len; i++) {
		if (is_ws((unsigned char)s[i]))
			continue;
		if (s[i] == '=') {
			if (++pad > 2)
				return -1;
			chars++;
			continue;
		}
		if (pad > 0 || (v = b64_val((unsigned char)s[i])) == -1)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		if (++chars % 4 == 0) {
			if (n + 3 > size)
				return -1;
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (chars % 4 != 0)
		return -1;
	if (pad > 0) {
		/* the last quantum: 4 - pad characters of data */
		if (pad == 2) {
			if (n + 1 > size)
				return -1;
			out[n++] = (unsigned char)(acc >> 4);
		} else {
			if (n + 2 > size)
				return -1;
			out[n++] = (unsigned char)(acc >> 10);
			out[n++] = (unsigned char)(acc >> 2);
		}
	}
	return (long)n;
}

int
dkim_domain_ok(const char *s, size_t len, size_t max)
{
	size_t i, lab = 0;
	unsigned char c;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			return 0;
		if (c == '-' && lab == 0)
			return 0;
		if (++lab > 63)
			return 0;
	}
	return lab > 0 && s[len - 1] != '-';
}

static int
val_is(const struct dkim_tag *t, const char *s)
{
	size_t n = strlen(s);

	return t->vlen == n && strncasecmp(t->val, s, n) == 0;
}

/* copy_val - T's value into DST (SIZE bytes); -1 when it does not fit */
static int
copy_val(char *dst, size_t size, const struct dkim_tag *t)
{
	if (t->vlen >= size)
		return -1;
	memcpy(dst, t->val, t->vlen);
	dst[t->vlen] = '\0';
	return 0;
}

/* num - T's value as 1..MAXD digits into *OUT; -1 otherwise */
static int
num(const struct dkim_tag *t, size_t maxd, long long *out)
{
	long long v = 0;
	size_t i;

	if (t->vlen == 0 || t->vlen > maxd)
		return -1;
	for (i = 0; i < t->vlen; i++) {
		if (!is_digit((unsigned char)t->val[i]))
			return -1;
		v = v * 10 + (t->val[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * list_next - the next element of the colon list [*P, END), white space
 * around it cut, in *E and *ELEN; *P moves past it.  0, or -1 at the end.
 */
static int
list_next(const char **p, const char *end, const char **e, size_t *elen)
{
	const char *s = *p, *q;

	if (s == NULL)
		return -1;
	q = memchr(s, ':', (size_t)(end - s));
	*p = q ? q + 1 : NULL;
	if (q == NULL)
		q = end;
	while (s < q && is_ws((unsigned char)*s))
		s++;
	while (q > s && is_ws((unsigned char)q[-1]))
		q--;
	*e = s;
	*elen = (size_t)(q - s);
	return 0;
}

static int
list_has(const struct dkim_tag *t, const char *want)
{
	const char *p = t->val, *e;
	size_t n, wl = strlen(want);

	while (list_next(&p, t->val + t->vlen, &e, &n) == 0)
		if (n == wl && strncasecmp(e, want, n) == 0)
			return 1;
	return 0;
}

/* sig_h - h=: field names (ftext: %x21-39 / %x3B-7E) */
static int
sig_h(struct dkim_sig *sig, const struct dkim_tag *t, char *why,
    size_t whysize)
{
	const char *p = t->val, *e;
	size_t n, i;
	int from = 0;

	sig->nh = 0;
	while (list_next(&p, t->val + t->vlen, &e, &n) == 0) {
		if (n == 0)
			return dkim_why(why, whysize, "h= has an empty name");
		for (i = 0; i < n; i++)
			if ((unsigned char)e[i] < 0x21 ||
			    (unsigned char)e[i] > 0x7e || e[i] == ':')
				return dkim_why(why, whysize,
				    "h= has a bad field name");
		if (sig->nh == DKIM_H_MAX)
			return dkim_why(why, whysize, "h= names more than %d",
			    DKIM_H_MAX);
		sig->h[sig->nh] = e;
		sig->hl[sig->nh++] = n;
		if (n == 4 && strncasecmp(e, "from", 4) == 0)
			from = 1;
	}
	if (!from)
		return dkim_why(why, whysize, "h= does not sign From");
	return 0;
}

static int
sig_c(struct dkim_sig *sig, const struct dkim_tag *t)
{
	static const struct {
		const char *v;
		enum dkim_canon hc, bc;
	} cs[] = {
		{ "simple", DKIM_SIMPLE, DKIM_SIMPLE },
		{ "relaxed", DKIM_RELAXED, DKIM_SIMPLE },
		{ "simple/simple", DKIM_SIMPLE, DKIM_SIMPLE },
		{ "simple/relaxed", DKIM_SIMPLE, DKIM_RELAXED },
		{ "relaxed/simple", DKIM_RELAXED, DKIM_SIMPLE },
		{ "relaxed/relaxed", DKIM_RELAXED, DKIM_RELAXED },
	};
	size_t i;

	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		if (val_is(t, cs[i].v)) {
			sig->hc = cs[i].hc;
			sig->bc = cs[i].bc;
			return 0;
		}
	return -1;
}

/* sig_a - a=: ALPHA *(ALPHA/DIGIT) "-" ALPHA *(ALPHA/DIGIT) */
static int
sig_a(struct dkim_sig *sig, const struct dkim_tag *t)
{
	const char *dash = memchr(t->val, '-', t->vlen);
	size_t i;

	if (dash == NULL || dash == t->val || dash == t->val + t->vlen - 1 ||
	    !is_alpha((unsigned char)t->val[0]) ||
	    !is_alpha((unsigned char)dash[1]))
		return -1;
	for (i = 0; i < t->vlen; i++)
		if (t->val + i != dash && !is_alpha((unsigned char)t->val[i]) &&
		    !is_digit((unsigned char)t->val[i]))
			return -1;
	if (copy_val(sig->a, sizeof(sig->a), t) == -1)
		return -1;
	if (strcasecmp(sig->a, "rsa-sha256") == 0)
		sig->alg = DKIM_RSA_SHA256;
	else if (strcasecmp(sig->a, "ed25519-sha256") == 0)
		sig->alg = DKIM_ED25519_SHA256;
	return 0;
}

/* sig_i - i=: [local-part] "@" domain, the domain d= or under it */
static int
sig_i(struct dkim_sig *sig, const struct dkim_tag *t, char *why,
    size_t whysize)
{
	const char *at = NULL, *dom;
	size_t i, dl, sl;

	for (i = 0; i < t->vlen; i++)
		if (t->val[i] == '@')
			at = t->val + i;
	if (at == NULL)
		return dkim_why(why, whysize, "i= has no '@'");
	dom = at + 1;
	dl = (size_t)(t->val + t->vlen - dom);
	if (!dkim_domain_ok(dom, dl, DKIM_DOMAIN_MAX))
		return dkim_why(why, whysize, "i= has a bad domain");
	if (copy_val(sig->i, sizeof(sig->i), t) == -1)
		return dkim_why(why, whysize, "i= is too long");
	sl = strlen(sig->d);
	if (dl < sl || strncasecmp(dom + dl - sl, sig->d, sl) != 0 ||
	    (dl > sl && dom[dl - sl - 1] != '.'))
		return dkim_why(why, whysize, "i= is not within d=");
	return 0;
}

static int
sig_b64(const struct dkim_tag *t, unsigned char *out, size_t size,
    size_t *n_r)
{
	long n;

	if (t->vlen == 0 ||
	    (n = dkim_b64_decode(t->val, t->vlen, out, size)) <= 0)
		return -1;
	*n_r = (size_t)n;
	return 0;
}

static void
sig_bpre(struct dkim_sig *sig, const struct dkim_tag *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->vlen && n + 1 < sizeof(sig->bpre); i++)
		if (!is_ws((unsigned char)t->val[i]))
			sig->bpre[n++] = t->val[i];
	sig->bpre[n] = '\0';
}

/* sig_tag - one tag of a signature into SIG (d= is already there) */
static int
sig_tag(struct dkim_sig *sig, const struct dkim_tag *t, char *why,
    size_t whysize)
{
	char nm[4];

	if (t->nlen > 2)
		return 0;		/* unknown: ignored */
	memcpy(nm, t->name, t->nlen);
	nm[t->nlen] = '\0';
	if (strcmp(nm, "v") == 0) {
		if (!val_is(t, "1"))
			return dkim_why(why, whysize, "v= is not 1");
	} else if (strcmp(nm, "a") == 0) {
		if (sig_a(sig, t) == -1)
			return dkim_why(why, whysize, "bad a=");
	} else if (strcmp(nm, "b") == 0) {
		sig_bpre(sig, t);
		if (sig_b64(t, sig->b, sizeof(sig->b), &sig->blen) == -1)
			return dkim_why(why, whysize, "b= is not base64 "
			    "of at most %d bytes", DKIM_B_MAX);
	} else if (strcmp(nm, "bh") == 0) {
		if (sig_b64(t, sig->bh, sizeof(sig->bh), &sig->bhlen) == -1)
			return dkim_why(why, whysize, "bh= is not base64");
	} else if (strcmp(nm, "c") == 0) {
		if (sig_c(sig, t) == -1)
			return dkim_why(why, whysize, "unknown c=");
	} else if (strcmp(nm, "h") == 0)
		return sig_h(sig, t, why, whysize);
	else if (strcmp(nm, "i") == 0)
		return sig_i(sig, t, why, whysize);
	else if (strcmp(nm, "l") == 0) {
		if (num(t, DKIM_L_DIGITS, &sig->l) == -1)
			return dkim_why(why, whysize, "bad l=");
		sig->has_l = 1;
	} else if (strcmp(nm, "q") == 0) {
		if (!list_has(t, "dns/txt"))
			return dkim_why(why, whysize, "q= lacks dns/txt");
	} else if (strcmp(nm, "s") == 0) {
		if (!dkim_domain_ok(t->val, t->vlen, DKIM_SELECTOR_MAX) ||
		    copy_val(sig->s, sizeof(sig->s), t) == -1)
			return dkim_why(why, whysize, "bad s=");
	} else if (strcmp(nm, "t") == 0) {
		if (num(t, DKIM_T_DIGITS, &sig->t) == -1)
			return dkim_why(why, whysize, "bad t=");
		sig->has_t = 1;
	} else if (strcmp(nm, "x") == 0) {
		if (num(t, DKIM_T_DIGITS, &sig->x) == -1)
			return dkim_why(why, whysize, "bad x=");
		sig->has_x = 1;
	}
	return 0;
}

int
dkim_sig_parse(const char *v, size_t len, struct dkim_sig *sig, char *why,
    size_t whysize)
{
	static const char *const req[] = { "v", "a", "b", "bh", "d", "h", "s" };
	const struct dkim_tag *d;
	size_t i;

	memset(sig, 0, sizeof(*sig));
	sig->hc = sig->bc = DKIM_SIMPLE;
	if (dkim_tags_parse(v, len, &sig->tags, why, whysize) == -1)
		return -1;
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (dkim_tag_get(&sig->tags, req[i]) == NULL)
			return dkim_why(why, whysize, "no %s= tag", req[i]);
	/* d= first: i= is checked against it */
	d = dkim_tag_get(&sig->tags, "d");
	if (!dkim_domain_ok(d->val, d->vlen, DKIM_DOMAIN_MAX) ||
	    copy_val(sig->d, sizeof(sig->d), d) == -1)
		return dkim_why(why, whysize, "bad d=");
	for (i = 0; i < sig->tags.n; i++)
		if (sig_tag(sig, &sig->tags.t[i], why, whysize) == -1)
			return -1;
	if (sig->has_t && sig->has_x && sig->x < sig->t)
		return dkim_why(why, whysize, "x= is before t=");
	return 0;
}

int
dkim_sig_check(const char *value, size_t len, char *why, size_t whysize)
{
	struct dkim_sig sig;

	return dkim_sig_parse(value, len, &sig, why, whysize);
}

int
dkim_keyrec_parse(const char *txt, size_t len, struct dkim_keyrec *k,
    char *why, size_t whysize)
{
	struct dkim_tags tl;
	const struct dkim_tag *t;
	long n;

	memset(k, 0, sizeof(*k));
	if (dkim_tags_parse(txt, len, &tl, why, whysize) == -1)
		return -1;
	if ((t = dkim_tag_get(&tl, "v")) != NULL &&
	    (t != &tl.t[0] || !val_is(t, "DKIM1")))
		return dkim_why(why, whysize, "v= is not DKIM1 first");
	k->sha256_ok = (t = dkim_tag_get(&tl, "h")) == NULL ||
	    list_has(t, "sha256");
	k->email_ok = (t = dkim_tag_get(&tl, "s")) == NULL ||
	    list_has(t, "email") || list_has(t, "*");
	if ((t = dkim_tag_get(&tl, "t")) != NULL) {
		k->strict = list_has(t, "s");
		k->testing = list_has(t, "y");
	}
	if ((t = dkim_tag_get(&tl, "k")) == NULL || val_is(t, "rsa"))
		k->k = DKIM_RSA_SHA256;
	else if (val_is(t, "ed25519"))
		k->k = DKIM_ED25519_SHA256;
	if ((t = dkim_tag_get(&tl, "p")) == NULL)
		return dkim_why(why, whysize, "no p= tag");
	if ((n = dkim_b64_decode(t->val, t->vlen, k->p, sizeof(k->p))) < 0)
		return dkim_why(why, whysize, "p= is not base64 of at most "
		    "%d bytes", DKIM_KEY_MAX);
	k->plen = (size_t)n;
	return 0;
}

int
dkim_keyrec_check(const char *txt, size_t len, char *why, size_t whysize)
{
	struct dkim_keyrec k;

	return dkim_keyrec_parse(txt, len, &k, why, whysize);
}
