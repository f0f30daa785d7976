/*
 * dkim.c - unit tests of DKIM (plugins/mailauth/dkim*.c): RFC 6376
 * canonicalisation examples, the tag parser, sign-then-verify with keys
 * answered by a table instead of DNS, every verdict, and the RFC 8463
 * appendix A signatures reproduced byte for byte.
 *
 * With arguments it is the tool t/proto/dkim_interop.t drives (prove
 * runs it without any):
 *   dkim.t sign KEYFILE DOMAIN SELECTOR NOW < MSG   prints the field
 *   dkim.t verify NOW [NAME TXT]... < MSG           prints a line per
 *     verdict: RESULT DOMAIN SELECTOR ALG PARTIAL REASON
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../plugins/mailauth/dkim_private.h"
#include "../lib/tap.h"

#define ASP(...) do { if (asprintf(__VA_ARGS__) < 0) abort(); } while (0)

/* ---- a DNS answered from a table ---- */

#define ZONE_MAX	16

struct zrec {
	char		 name[300];
	int		 rc;
	const char	*txt[3];	/* up to 3 records */
};

static struct zrec zone[ZONE_MAX];
static size_t nzone;

static void
zone_reset(void)
{
	nzone = 0;
}

static void
zone_add(const char *name, int rc, const char *t1, const char *t2)
{
	struct zrec *z = &zone[nzone++];

	snprintf(z->name, sizeof(z->name), "%s", name);
	z->rc = rc;
	z->txt[0] = t1;
	z->txt[1] = t2;
	z->txt[2] = NULL;
}

static int
zone_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *out)
{
	size_t i, n;

	(void)q;
	if (type != DNSQ_TXT)
		return DNSQ_NXDOMAIN;
	for (i = 0; i < nzone; i++) {
		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		if (zone[i].rc != DNSQ_OK)
			return zone[i].rc;
		for (n = 0; n < 3 && zone[i].txt[n] != NULL; n++)
			;
		out->str = calloc(n, sizeof(char *));
		out->len = calloc(n, sizeof(size_t));
		for (out->n = 0; out->n < n; out->n++) {
			out->str[out->n] = strdup(zone[i].txt[out->n]);
			out->len[out->n] = strlen(zone[i].txt[out->n]);
		}
		return DNSQ_OK;
	}
	return DNSQ_NXDOMAIN;
}

static struct dnsq dns = { zone_lookup, NULL, 1000, 0 };

/* ---- helpers ---- */

static char tmpdir[] = "/tmp/dkimtestXXXXXX";

static char *
b64(const unsigned char *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* keyrec - "v=DKIM1; k=...; p=..." for PKEY (malloc'ed) */
static char *
keyrec(EVP_PKEY *pkey)
{
	unsigned char raw[32], *der = NULL;
	size_t rl = sizeof(raw);
	char *p, *out;
	int n;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		EVP_PKEY_get_raw_public_key(pkey, raw, &rl);
		p = b64(raw, rl);
		n = asprintf(&out, "v=DKIM1; k=ed25519; p=%s", p);
	} else {
		n = i2d_PUBKEY(pkey, &der);
		p = b64(der, (size_t)n);
		OPENSSL_free(der);
		n = asprintf(&out, "v=DKIM1; k=rsa; p=%s", p);
	}
	free(p);
	return n < 0 ? NULL : out;
}

static EVP_PKEY *
genkey(const char *type, int bits)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

/* keyfile - PKEY written as PEM to TMPDIR/NAME; the path (static) */
static const char *
keyfile(EVP_PKEY *pkey, const char *name)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	return path;
}

/* mkkey - K for DOMAIN/SELECTOR around PKEY, without dkim_key_load's
 * size check (for the 1024- and 512-bit keys a verifier meets) */
static void
mkkey(struct dkim_key *k, EVP_PKEY *pkey, const char *d, const char *s)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->domain, sizeof(k->domain), "%s", d);
	snprintf(k->selector, sizeof(k->selector), "%s", s);
	k->alg = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 ?
	    DKIM_ED25519_SHA256 : DKIM_RSA_SHA256;
	k->pkey = pkey;
}

/* cat - A then B (malloc'ed) */
static char *
cat(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s%s", a, b) < 0)
		return NULL;
	return s;
}

/* signed_msg - MSG with FIELD (and LF) on top (malloc'ed) */
static char *
signed_msg(const char *field, const char *msg)
{
	char *s;

	if (asprintf(&s, "%s\n%s", field, msg) < 0)
		return NULL;
	return s;
}

/*
 * mksig - a DKIM-Signature field made by hand: A=, C=, EXTRA tags, H=,
 * the body hash of MSG in C's body form (of its first L bytes when L >=
 * 0), signed with K (malloc'ed).
 */
static char *
mksig(const struct dkim_key *k, const char *msg, const char *a,
    const char *c, const char *extra, const char *h, long long l)
{
	struct dkim_msg m;
	unsigned char md[32];
	char *field, *sig, *bh, *out;
	long long total;

	dkim_msg_split(msg, strlen(msg), &m, NULL, 0);
	dkim_body_hash(strstr(c, "/relaxed") ? DKIM_RELAXED : DKIM_SIMPLE,
	    m.body, m.blen, l, md, &total);
	dkim_msg_free(&m);
	bh = b64(md, 32);
	if (asprintf(&field, "DKIM-Signature: v=1; a=%s; c=%s; d=%s; s=%s;"
	    "%s h=%s;\n\tbh=%s;\n\tb=", a, c, k->domain, k->selector, extra, h,
	    bh) < 0)
		return NULL;
	free(bh);
	if (dkim_sign_field(k, msg, strlen(msg), field, strlen(field), &sig,
	    NULL, 0) == -1) {
		free(field);
		return NULL;
	}
	out = cat(field, sig);
	free(field);
	free(sig);
	return out;
}

/* verify1 - the verdict of the first signature of MSG; their count */
static size_t
verify1(const char *msg, long long now, struct dkim_verdict *v)
{
	struct dkim_verdict out[DKIM_SIG_MAX];
	size_t n;

	dkim_verify(&dns, msg, strlen(msg), now, out, DKIM_SIG_MAX, &n);
	memset(v, 0, sizeof(*v));
	if (n > 0)
		*v = out[0];
	return n;
}

/* collect - a body canonicalised, gathered in a buffer */
struct coll {
	char	 buf[4096];
	size_t	 len;
};

static void
coll_emit(void *ctx, const void *p, size_t n)
{
	struct coll *c = ctx;

	if (c->len + n < sizeof(c->buf)) {
		memcpy(c->buf + c->len, p, n);
		c->len += n;
	}
	c->buf[c->len] = '\0';
}

static const char *
body_form(enum dkim_canon c, const char *body)
{
	static struct coll co;

	co.len = 0;
	co.buf[0] = '\0';
	dkim_canon_body(c, body, strlen(body), coll_emit, &co);
	return co.buf;
}

/* header_form - the fields of MSG in form C, each with CRLF */
static const char *
header_form(enum dkim_canon c, const char *msg)
{
	static char out[4096];
	struct dkim_msg m;
	size_t i, o = 0;

	dkim_msg_split(msg, strlen(msg), &m, NULL, 0);
	for (i = 0; i < m.nf && o + 2 * m.f[i].len + 4 < sizeof(out); i++) {
		o += dkim_canon_header(c, m.f[i].p, m.f[i].len, out + o);
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o] = '\0';
	dkim_msg_free(&m);
	return out;
}

/* ---- the tests ---- */

static void
test_canon(void)
{
	/* RFC 6376 §3.4.5, in the LF form the core stores */
	const char *ex = "A: X\nB : Y\t\n\tZ  \n\n C \nD \t E\n\n\n";
	struct dkim_msg m;

	is_str(header_form(DKIM_RELAXED, ex), "a:X\r\nb:Y Z\r\n",
	    "canon: RFC 6376 3.4.5 relaxed header");
	is_str(header_form(DKIM_SIMPLE, ex), "A: X\r\nB : Y\t\r\n\tZ  \r\n",
	    "canon: RFC 6376 3.4.5 simple header");
	dkim_msg_split(ex, strlen(ex), &m, NULL, 0);
	is_int(m.nf, 2, "canon: two fields, the fold joined");
	is_str(body_form(DKIM_RELAXED, m.body), " C\r\nD E\r\n",
	    "canon: RFC 6376 3.4.5 relaxed body");
	is_str(body_form(DKIM_SIMPLE, m.body), " C \r\nD \t E\r\n",
	    "canon: RFC 6376 3.4.5 simple body");
	dkim_msg_free(&m);
	is_str(header_form(DKIM_SIMPLE, "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n"),
	    "A: X\r\nB : Y\t\r\n\tZ  \r\n", "canon: CRLF input reads the same");
	is_str(body_form(DKIM_SIMPLE, ""), "\r\n", "canon: empty body, simple");
	is_str(body_form(DKIM_RELAXED, ""), "", "canon: empty body, relaxed");
	is_str(body_form(DKIM_SIMPLE, "\n\n\n"), "\r\n",
	    "canon: only empty lines, simple");
	is_str(body_form(DKIM_RELAXED, " \n\t\n\n"), "",
	    "canon: only blank lines, relaxed");
	is_str(body_form(DKIM_SIMPLE, "abc"), "abc\r\n",
	    "canon: a last line without LF gets CRLF");
	is_str(body_form(DKIM_RELAXED, "a \t b  \n\n\nc\t\n\n"),
	    "a b\r\n\r\n\r\nc\r\n", "canon: relaxed keeps inner empty lines");
	is_str(body_form(DKIM_SIMPLE, "a\r\n\r\nb\r\n"), "a\r\n\r\nb\r\n",
	    "canon: CRLF body reads as LF");
	is_str(body_form(DKIM_RELAXED, "a\rb \r\n"), "a\rb\r\n",
	    "canon: a lone CR is text");
	is_str(header_form(DKIM_RELAXED, "SubJect :  a \t b  \n\t c  \n\n"),
	    "subject:a b c\r\n", "canon: relaxed unfolds and lowercases");
	is_str(header_form(DKIM_RELAXED, "X:\n\n"), "x:\r\n",
	    "canon: relaxed empty value");
	dkim_msg_split("Only: header", 12, &m, NULL, 0);
	ok(m.nf == 1 && m.blen == 0, "split: no empty line, no body");
	dkim_msg_free(&m);
}

static const char good_sig[] =
    " v=1; a=rsa-sha256; c=relaxed/simple; d=example.org; s=sel;\n"
    "\th=From : To:Subject; i=joe@mail.example.org; t=100; x=200;\n"
    "\tbh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; z=x; foo=bar;\n"
    "\tb=dGVzdA==";

/* sigwith - good_sig with FROM replaced by TO (static) */
static const char *
sigwith(const char *from, const char *to)
{
	static char out[1024];
	const char *p = strstr(good_sig, from);
	size_t n = (size_t)(p - good_sig);

	snprintf(out, sizeof(out), "%.*s%s%s", (int)n, good_sig, to,
	    p + strlen(from));
	return out;
}

static void
test_tags(void)
{
	static const struct {
		const char *from, *to, *what;
	} bad[] = {
		{ "a=rsa-sha256", "a=rsa-sha256; a=rsa-sha256", "a tag twice" },
		{ "v=1; ", "", "no v=" },
		{ "a=rsa-sha256; ", "", "no a=" },
		{ "d=example.org; ", "", "no d=" },
		{ "s=sel;", "", "no s=" },
		{ "h=From : To:Subject; ", "", "no h=" },
		{ "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; ", "",
		    "no bh=" },
		{ "\tb=dGVzdA==", "\tb=dGVz!A==", "b= not base64" },
		{ "\tb=dGVzdA==", "\tb=dGVzdA=", "b= short padding" },
		{ "\tb=dGVzdA==", "\tb=dG=VzdA=", "b= '=' inside" },
		{ "\tb=dGVzdA==", "\tb=", "b= empty" },
		{ "bh=2jUS", "bh=*jUS", "bh= not base64" },
		{ "v=1", "v=2", "v=2" },
		{ "From : To", "To", "h= without From" },
		{ "From : To", "From::To", "h= with an empty name" },
		{ "i=joe@mail.example.org", "i=joe@example.com",
		    "i= outside d=" },
		{ "i=joe@mail.example.org", "i=joe", "i= without @" },
		{ "i=joe@mail.example.org", "i=joe@badexample.org",
		    "i= a suffix but not a subdomain" },
		{ "c=relaxed/simple", "c=relaxed/fancy", "unknown c=" },
		{ "x=200", "x=50", "x= before t=" },
		{ "t=100", "t=1234567890123", "t= of 13 digits" },
		{ "t=100", "t=-5", "t= negative" },
		{ "d=example.org", "d=exa mple.org", "d= with a space" },
		{ "d=example.org", "d=-example.org", "d= label with '-' first" },
		{ "d=example.org", "d=example..org", "d= empty label" },
		{ "s=sel", "s=sel/../x", "s= with '/'" },
		{ "a=rsa-sha256", "a=rsa", "a= without '-'" },
		{ "z=x; ", "z=x;; ", "an empty tag" },
		{ "foo=bar", "9foo=bar", "a tag name with a digit first" },
		{ "foo=bar", "foo bar", "a tag without '='" },
		{ "foo=bar", "foo=b\xc3\xa4r", "a value with 8-bit bytes" },
		{ "z=x", "z=x\001", "a value with a control byte" },
		{ "x=200", "x=200; l=1234567890123456789",
		    "l= of 19 digits" },
		{ "t=100", "t=100; q=http", "q= without dns/txt" },
	};
	char why[128];
	size_t i;
	const char *s;

	why[0] = '\0';
	ok(dkim_sig_check(good_sig, strlen(good_sig), why, sizeof(why)) == 0,
	    "tags: a good signature (unknown tags ignored) %s", why);
	s = sigwith("t=100", "t=100; l=0; q=dns/txt:other");
	ok(dkim_sig_check(s, strlen(s), why, sizeof(why)) == 0,
	    "tags: l=0 and q= listing dns/txt");
	s = sigwith("i=joe@mail.example.org", "i=@EXAMPLE.org");
	ok(dkim_sig_check(s, strlen(s), why, sizeof(why)) == 0,
	    "tags: i= of d= itself, any case");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = sigwith(bad[i].from, bad[i].to);
		why[0] = '\0';
		ok(dkim_sig_check(s, strlen(s), why, sizeof(why)) == -1 &&
		    why[0] != '\0', "tags: refused, %s (%s)", bad[i].what, why);
	}
	ok(dkim_sig_check("", 0, why, sizeof(why)) == -1, "tags: empty");
	ok(dkim_sig_check("v=1; a=rsa-sha256; b=dGVzdA==; bh=dGVzdA==; d=a.b;"
	    " h=from; s=x;", strlen("v=1; a=rsa-sha256; b=dGVzdA==; bh=dGVzdA==; "
	    "d=a.b; h=from; s=x;"), why, sizeof(why)) == 0,
	    "tags: minimal, trailing ';'");

	ok(dkim_keyrec_check("v=DKIM1; k=rsa; p=dGVzdA==", 26, why,
	    sizeof(why)) == 0, "keyrec: good");
	ok(dkim_keyrec_check("p=dGVzdA==; n=a note; q=x", 25, why,
	    sizeof(why)) == 0, "keyrec: no v=, unknown tags");
	ok(dkim_keyrec_check("v=DKIM1; p=", 11, why, sizeof(why)) == 0,
	    "keyrec: empty p= is well-formed (revoked)");
	ok(dkim_keyrec_check("k=rsa; v=DKIM1; p=dGVzdA==", 26, why,
	    sizeof(why)) == -1, "keyrec: v= not first (%s)", why);
	ok(dkim_keyrec_check("v=DKIM2; p=dGVzdA==", 19, why,
	    sizeof(why)) == -1, "keyrec: v=DKIM2 (%s)", why);
	ok(dkim_keyrec_check("v=DKIM1; k=rsa", 14, why, sizeof(why)) == -1,
	    "keyrec: no p= (%s)", why);
	ok(dkim_keyrec_check("v=DKIM1; p=dGV@zdA==", 20, why,
	    sizeof(why)) == -1, "keyrec: p= not base64 (%s)", why);
	ok(dkim_keyrec_check("v=DKIM1; p=a; p=b", 17, why,
	    sizeof(why)) == -1, "keyrec: p= twice (%s)", why);
	ok(dkim_keyrec_check("v=DKIM1; p=dGVzdA==\0x", 21, why,
	    sizeof(why)) == -1, "keyrec: a NUL byte (%s)", why);
}

static const char msg1[] =
    "Received: from a by b; Fri, 1 Jan 2027 00:00:00 +0000\n"
    "From: Joe <joe@example.org>\n"
    "To: Suzie <suzie@example.net>\n"
    "Subject: dinner\n"
    "\t  tonight?\n"
    "Date: Fri, 1 Jan 2027 00:00:00 +0000\n"
    "Message-ID: <1@example.org>\n"
    "X-Other: not signed\n"
    "\n"
    "Hi.  \n"
    "\n"
    "We lost the game.\tAre you hungry yet?\n"
    "\n"
    "\n";

static void
check_field(const char *field, const char *what)
{
	const char *p = field, *nl;
	size_t longest = 0, n;
	int from = 0;

	for (;;) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > longest)
			longest = n;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	for (p = field; (p = strstr(p, "From")) != NULL; p++)
		from++;
	ok(longest <= DKIM_FOLD_COL, "%s: lines of at most 78 (%zu)", what,
	    longest);
	ok(field[strlen(field) - 1] != '\n', "%s: no final LF", what);
	is_int(from, 2, "%s: From signed twice", what);
	ok(strncmp(field, "DKIM-Signature: v=1; a=", 23) == 0 &&
	    strstr(field, "c=relaxed/relaxed;") && strstr(field, "t=1700000000;")
	    && strstr(field, "Subject") && strstr(field, "Message-ID") &&
	    !strstr(field, "X-Other") && !strstr(field, "Received"),
	    "%s: the tags and the fields signed", what);
}

static void
roundtrip(EVP_PKEY *pkey, const char *type, const char *sel)
{
	struct dkim_key k;
	struct dkim_verdict v;
	char why[128], name[128], *field, *sm, *rec, *bad;
	const char *path;

	path = keyfile(pkey, sel);
	ok(dkim_key_load(&k, "example.org", sel, path, why, sizeof(why)) == 0,
	    "%s: key loaded %s", type, why);
	is_int(k.alg, strcmp(type, "rsa") == 0 ? DKIM_RSA_SHA256 :
	    DKIM_ED25519_SHA256, "%s: its algorithm", type);
	ok(dkim_sign(&k, msg1, strlen(msg1), 1700000000, &field, why,
	    sizeof(why)) == 0, "%s: signed %s", type, why);
	check_field(field, type);
	rec = keyrec(pkey);
	snprintf(name, sizeof(name), "%s._domainkey.example.org", sel);
	zone_reset();
	zone_add(name, DNSQ_OK, rec, NULL);
	sm = signed_msg(field, msg1);
	is_int(verify1(sm, 1700000000, &v), 1, "%s: one signature", type);
	is_str(dkim_result_name(v.result), "pass", "%s: pass (%s)", type,
	    v.reason);
	is_str(v.domain, "example.org", "%s: verdict d=", type);
	is_str(v.selector, sel, "%s: verdict s=", type);
	is_str(v.alg, strcmp(type, "rsa") == 0 ? "rsa-sha256" :
	    "ed25519-sha256", "%s: verdict a=", type);
	ok(strlen(v.b) >= 8 && strncmp(strstr(field, " b=") + 3, v.b,
	    strlen(v.b)) == 0, "%s: verdict b= prefix %s", type, v.b);
	ok(v.partial == 0 && v.identity[0] == '\0',
	    "%s: not partial, no i=", type);

	/* in transit: another Received, refolded Subject, CRLF ends */
	bad = cat("Received: from c by d\n", sm);
	verify1(bad, 1700000000, &v);
	is_str(dkim_result_name(v.result), "pass", "%s: a field added above",
	    type);
	free(bad);
	bad = strdup(sm);
	*strstr(bad, "Hi.") = 'h';
	verify1(bad, 1700000000, &v);
	ok(v.result == DKIM_FAIL && strstr(v.reason, "body hash"),
	    "%s: body changed = fail (%s)", type, v.reason);
	free(bad);
	bad = strdup(sm);
	*strstr(bad, "dinner") = 'D';
	verify1(bad, 1700000000, &v);
	ok(v.result == DKIM_FAIL && strstr(v.reason, "signature"),
	    "%s: Subject changed = fail (%s)", type, v.reason);
	free(bad);
	bad = cat(sm, "P.S.\n");
	verify1(bad, 1700000000, &v);
	is_int(v.result, DKIM_FAIL, "%s: a line appended = fail", type);
	free(bad);
	{
		const char *f = strstr(sm, "From: Joe");
		char *out;

		ASP(&out, "%.*sFrom: Mallory <m@evil.example>\n%s",
		    (int)(f - sm), sm, f);
		verify1(out, 1700000000, &v);
		is_int(v.result, DKIM_FAIL, "%s: a From added = fail", type);
		free(out);
	}
	free(sm);
	free(field);
	free(rec);
	dkim_key_free(&k);
	ok(k.pkey == NULL, "%s: key freed", type);
}

/* relaxed verification meets what relays do */
static void
test_relaxed_transit(struct dkim_key *k, const char *rec)
{
	struct dkim_verdict v;
	char *field, *sm, *crlf, *p, *q;

	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, rec, NULL);
	dkim_sign(k, msg1, strlen(msg1), 1700000000, &field, NULL, 0);
	sm = signed_msg(field, msg1);
	crlf = malloc(2 * strlen(sm) + 1);
	for (p = sm, q = crlf; *p; p++) {
		if (*p == '\n')
			*q++ = '\r';
		*q++ = *p;
	}
	*q = '\0';
	verify1(crlf, 1700000000, &v);
	is_str(dkim_result_name(v.result), "pass", "transit: CRLF line ends");
	free(crlf);
	p = strstr(sm, "Subject: dinner");
	ASP(&crlf, "%.*sSubject:\n\t  dinner   %s", (int)(p - sm), sm,
	    p + 15);
	verify1(crlf, 1700000000, &v);
	is_str(dkim_result_name(v.result), "pass",
	    "transit: Subject refolded");
	free(crlf);
	free(sm);
	free(field);
}

static void
test_verdicts(struct dkim_key *rsa, const char *rsarec, struct dkim_key *ed,
    const char *edrec)
{
	struct dkim_verdict v;
	char *f, *sm, *m2, ltag[32];
	const char *h = "From:To:Subject";
	long long total = 0;

	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, rsarec, NULL);
	zone_add("ed._domainkey.example.org", DNSQ_OK, edrec, NULL);

	/* l= */
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed", " l=4;", h, 4);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PASS && v.partial == 1,
	    "l=: shorter than the body = pass, partial (%s)", v.reason);
	m2 = cat(sm, "Unsigned text.\n");
	verify1(m2, 0, &v);
	ok(v.result == DKIM_PASS && v.partial == 1,
	    "l=: text appended stays partial pass");
	free(m2);
	free(sm);
	free(f);
	{
		struct dkim_msg m;
		unsigned char md[32];

		dkim_msg_split(msg1, strlen(msg1), &m, NULL, 0);
		dkim_body_hash(DKIM_RELAXED, m.body, m.blen, -1, md, &total);
		dkim_msg_free(&m);
	}
	snprintf(ltag, sizeof(ltag), " l=%lld;", total);
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed", ltag, h, total);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PASS && v.partial == 0,
	    "l=: the whole body = pass, not partial (%s)", v.reason);
	free(sm);
	free(f);
	snprintf(ltag, sizeof(ltag), " l=%lld;", total + 1);
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed", ltag, h,
	    total + 1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_FAIL && strstr(v.reason, "l="),
	    "l=: past the body = fail (%s)", v.reason);
	free(sm);
	free(f);

	/* simple/simple */
	f = mksig(ed, msg1, "ed25519-sha256", "simple/simple", "", h, -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	is_str(dkim_result_name(v.result), "pass", "simple/simple ed25519");
	m2 = strdup(sm);
	*strstr(m2, "Hi.  ") = 'h';
	verify1(m2, 0, &v);
	is_int(v.result, DKIM_FAIL, "simple/simple: body changed");
	free(m2);
	free(sm);
	free(f);
	f = mksig(rsa, msg1, "rsa-sha256", "simple", "", h, -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	is_str(dkim_result_name(v.result), "pass", "c=simple alone");
	free(sm);
	free(f);

	/* x= */
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed",
	    " t=1000; x=2000;", h, -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 2000, &v);
	is_str(dkim_result_name(v.result), "pass", "x=: at the limit = pass");
	verify1(sm, 2001, &v);
	ok(v.result == DKIM_NEUTRAL && strstr(v.reason, "expired"),
	    "x=: expired = neutral (%s)", v.reason);
	free(sm);
	free(f);

	/* i= */
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed",
	    " i=joe@mail.example.org;", h, -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PASS && strcmp(v.identity,
	    "joe@mail.example.org") == 0, "i=: in the verdict");
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK,
	    strstr(rsarec, "p=") - 0, NULL);
	{
		char *strict;

		ASP(&strict, "t=s; %s", strstr(rsarec, "p="));
		zone_reset();
		zone_add("rsa._domainkey.example.org", DNSQ_OK, strict, NULL);
		verify1(sm, 0, &v);
		ok(v.result == DKIM_PERMERROR && strstr(v.reason, "t=s"),
		    "key t=s: i= in a subdomain = permerror (%s)", v.reason);
		free(strict);
	}
	free(sm);
	free(f);

	/* the key */
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed", "", h, -1);
	sm = signed_msg(f, msg1);
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, "v=DKIM1; k=rsa; p=",
	    NULL);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PERMERROR && strstr(v.reason, "revoked"),
	    "key: p= empty = permerror revoked (%s)", v.reason);
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_TEMP, NULL, NULL);
	verify1(sm, 0, &v);
	is_str(dkim_result_name(v.result), "temperror",
	    "key: DNS failure = temperror");
	zone_reset();
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PERMERROR && strstr(v.reason, "no key"),
	    "key: NXDOMAIN = permerror (%s)", v.reason);
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_NODATA, NULL, NULL);
	verify1(sm, 0, &v);
	is_int(v.result, DKIM_PERMERROR, "key: no TXT = permerror");
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, edrec, NULL);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PERMERROR && strstr(v.reason, "k="),
	    "key: k=ed25519 for rsa-sha256 = permerror (%s)", v.reason);
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK,
	    "v=DKIM1; k=rsa; p=AAAAAAAA", NULL);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PERMERROR && strstr(v.reason, "not a key"),
	    "key: p= not a key = permerror (%s)", v.reason);
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK,
	    "v=DKIM1; k=rsa; p=!!", NULL);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_PERMERROR && strstr(v.reason, "bad key record"),
	    "key: p= not base64 = permerror (%s)", v.reason);
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, "garbage", rsarec);
	verify1(sm, 0, &v);
	is_str(dkim_result_name(v.result), "pass",
	    "key: a bad record then a good one = pass");
	{
		char *hs;

		ASP(&hs, "v=DKIM1; h=sha1; %s", strstr(rsarec, "k="));
		zone_reset();
		zone_add("rsa._domainkey.example.org", DNSQ_OK, hs, NULL);
		verify1(sm, 0, &v);
		ok(v.result == DKIM_PERMERROR && strstr(v.reason, "sha256"),
		    "key: h=sha1 = permerror (%s)", v.reason);
		free(hs);
		ASP(&hs, "v=DKIM1; s=other; %s", strstr(rsarec, "k="));
		zone_reset();
		zone_add("rsa._domainkey.example.org", DNSQ_OK, hs, NULL);
		verify1(sm, 0, &v);
		ok(v.result == DKIM_PERMERROR && strstr(v.reason, "email"),
		    "key: s=other = permerror (%s)", v.reason);
		free(hs);
	}
	free(sm);
	free(f);
	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, rsarec, NULL);
	zone_add("ed._domainkey.example.org", DNSQ_OK, edrec, NULL);

	/* algorithms and h= */
	f = mksig(rsa, msg1, "rsa-sha1", "relaxed/relaxed", "", h, -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_POLICY && strstr(v.reason, "rsa-sha1") &&
	    strcmp(v.alg, "rsa-sha1") == 0, "rsa-sha1 = policy (%s)", v.reason);
	free(sm);
	free(f);
	f = mksig(rsa, msg1, "foo-bar", "relaxed/relaxed", "", h, -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	is_int(v.result, DKIM_NEUTRAL, "a=foo-bar = neutral");
	free(sm);
	free(f);
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed", "",
	    "To:Subject", -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_NEUTRAL && strstr(v.reason, "From") &&
	    strcmp(v.domain, "example.org") == 0,
	    "h= without From = neutral (%s), d= still named", v.reason);
	free(sm);
	free(f);
	f = mksig(ed, msg1, "ed25519-sha256", "relaxed/relaxed", "",
	    "From:From:Subject:Nothing:Nothing", -1);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	is_str(dkim_result_name(v.result), "pass",
	    "h= names absent fields (the null string)");
	m2 = cat("Nothing: added\n", sm);
	verify1(m2, 0, &v);
	is_int(v.result, DKIM_FAIL, "h=: a field listed absent then added");
	free(m2);
	free(sm);
	free(f);

	/* bad base64 in b= and bh= inside a message */
	f = mksig(rsa, msg1, "rsa-sha256", "relaxed/relaxed", "", h, -1);
	sm = signed_msg(f, msg1);
	*(strstr(sm, "\tb=") + 5) = '%';
	verify1(sm, 0, &v);
	ok(v.result == DKIM_NEUTRAL && strstr(v.reason, "b="),
	    "b= with a bad character = neutral (%s)", v.reason);
	free(sm);
	sm = signed_msg(f, msg1);
	*(strstr(sm, "bh=") + 4) = (*(strstr(sm, "bh=") + 4) == 'A') ? 'B' :
	    'A';
	verify1(sm, 0, &v);
	is_int(v.result, DKIM_FAIL, "bh= of another body = fail");
	free(sm);
	sm = signed_msg(f, msg1);
	*(strstr(sm, "\tb=") + 4) = (*(strstr(sm, "\tb=") + 4) == 'A') ? 'B' :
	    'A';
	verify1(sm, 0, &v);
	is_int(v.result, DKIM_FAIL, "b= of another signature = fail");
	free(sm);
	free(f);
}

static void
test_rsa_sizes(void)
{
	struct dkim_key k;
	struct dkim_verdict v;
	EVP_PKEY *p1024, *p512;
	char *rec, *f, *sm, why[128];
	const char *path;

	p1024 = genkey("RSA", 1024);
	p512 = genkey("RSA", 512);
	ok(p1024 && p512, "rsa: 1024- and 512-bit keys made");
	path = keyfile(p1024, "k1024");
	ok(dkim_key_load(&k, "example.org", "s", path, why, sizeof(why)) == -1
	    && strstr(why, "1024"), "rsa: 1024 bits not loaded to sign (%s)",
	    why);
	mkkey(&k, p1024, "example.org", "k1024");
	rec = keyrec(p1024);
	zone_reset();
	zone_add("k1024._domainkey.example.org", DNSQ_OK, rec, NULL);
	dkim_sign(&k, msg1, strlen(msg1), 1, &f, NULL, 0);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	is_str(dkim_result_name(v.result), "pass", "rsa: 1024 bits verified");
	free(sm);
	free(f);
	free(rec);
	mkkey(&k, p512, "example.org", "k512");
	rec = keyrec(p512);
	zone_add("k512._domainkey.example.org", DNSQ_OK, rec, NULL);
	dkim_sign(&k, msg1, strlen(msg1), 1, &f, NULL, 0);
	sm = signed_msg(f, msg1);
	verify1(sm, 0, &v);
	ok(v.result == DKIM_POLICY && strstr(v.reason, "512"),
	    "rsa: 512 bits refused = policy (%s)", v.reason);
	free(sm);
	free(f);
	free(rec);
	EVP_PKEY_free(p1024);
	EVP_PKEY_free(p512);
}

static void
test_key_load(void)
{
	struct dkim_key k;
	EVP_PKEY *ec;
	char why[128], path[256];
	FILE *fp;

	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ok(dkim_key_load(&k, "example.org", "s", keyfile(ec, "ec"), why,
	    sizeof(why)) == -1 && strstr(why, "not an RSA"),
	    "load: an EC key refused (%s)", why);
	EVP_PKEY_free(ec);
	snprintf(path, sizeof(path), "%s/junk", tmpdir);
	fp = fopen(path, "w");
	fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	    fp);
	fclose(fp);
	ok(dkim_key_load(&k, "example.org", "s", path, why, sizeof(why)) == -1,
	    "load: not a key (%s)", why);
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	ok(dkim_key_load(&k, "example.org", "s", path, why, sizeof(why)) == -1,
	    "load: missing file (%s)", why);
	ok(dkim_key_load(&k, "exa mple.org", "s", path, why, sizeof(why)) == -1
	    && strstr(why, "domain"), "load: bad domain (%s)", why);
	ok(dkim_key_load(&k, "example.org", "s;x=1", path, why,
	    sizeof(why)) == -1 && strstr(why, "selector"),
	    "load: bad selector (%s)", why);
}

static void
test_sign_errors(struct dkim_key *k)
{
	char *f = (char *)"x", why[128];
	const char *nofrom = "To: a@b\nSubject: x\n\nbody\n";

	ok(dkim_sign(k, nofrom, strlen(nofrom), 1, &f, why, sizeof(why)) == -1
	    && f == NULL && strstr(why, "From"), "sign: no From (%s)", why);
}

static void
test_many(struct dkim_key *k, const char *rec)
{
	struct dkim_verdict out[DKIM_SIG_MAX];
	char *f, *sm, *m2;
	size_t i, n;

	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, rec, NULL);
	dkim_sign(k, msg1, strlen(msg1), 1, &f, NULL, 0);
	sm = signed_msg(f, msg1);
	for (i = 0; i < DKIM_SIG_MAX + 2; i++) {
		m2 = signed_msg(f, sm);
		free(sm);
		sm = m2;
	}
	dns.queries = 0;
	dkim_verify(&dns, sm, strlen(sm), 1, out, DKIM_SIG_MAX, &n);
	is_int(n, DKIM_SIG_MAX, "many: %d signatures verified of %d",
	    DKIM_SIG_MAX, DKIM_SIG_MAX + 3);
	is_int(dns.queries, DKIM_SIG_MAX, "many: one key lookup each");
	for (i = 0; i < n && out[i].result == DKIM_PASS; i++)
		;
	is_int(i, n, "many: each passes");
	dkim_verify(&dns, sm, strlen(sm), 1, out, 3, &n);
	is_int(n, 3, "many: no more than MAX verdicts");
	dkim_verify(&dns, msg1, strlen(msg1), 1, out, DKIM_SIG_MAX, &n);
	is_int(n, 0, "none: no signature, no verdict");
	free(sm);
	free(f);
}

/* a Subject folded over 1000 lines, a 2000-byte line and odd input */
static void
test_big(struct dkim_key *k, const char *rec)
{
	struct dkim_verdict v;
	char *msg, *f, *sm, *p;
	size_t i, n = 0, cap = 64 * 1024;

	zone_reset();
	zone_add("rsa._domainkey.example.org", DNSQ_OK, rec, NULL);
	msg = malloc(cap);
	n += (size_t)snprintf(msg, cap, "From: a@example.org\nSubject: x");
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(msg + n, cap - n, "\n\tline %zu", i);
	n += (size_t)snprintf(msg + n, cap - n, "\nX-Long: ");
	for (i = 0; i < 2000; i++)
		msg[n++] = 'y';
	n += (size_t)snprintf(msg + n, cap - n, "\n\nbody\n");
	ok(dkim_sign(k, msg, n, 1, &f, NULL, 0) == 0, "big: signed");
	sm = signed_msg(f, msg);
	verify1(sm, 0, &v);
	is_str(dkim_result_name(v.result), "pass",
	    "big: Subject folded over 1000 lines = pass");
	p = strstr(sm, "line 500");
	*p = 'L';
	verify1(sm, 0, &v);
	is_int(v.result, DKIM_FAIL, "big: one fold changed = fail");
	free(sm);
	free(f);
	free(msg);

	/* signature fields broken in many ways: a verdict, never a crash */
	{
		static const char *const odd[] = {
			"DKIM-Signature:\n\nbody\n",
			"DKIM-Signature: ;;;;\n\n",
			"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; "
			    "s=rsa; h=from; bh=; b=\n\n",
			"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; "
			    "s=rsa; h=from; bh=AAAA; b=AAAA\nFrom: x\n\nb\n",
			"DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; "
			    "s=rsa; h=from; bh=AAAA; b=AAAA\nFrom: x\n\nb\n",
			"DKIM-Signature  : v=1\n\n",
			"DKIM-Signature: v=1; l=99999999999999999; a=rsa-sha256;"
			    " d=example.org; s=rsa; h=from; bh=AAAA; b=AAAA\n",
			"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; "
			    "s=a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x"
			    ".y.z.a.b.c.d.e; h=from; bh=AAAA; b=AAAA\n",
		};
		static const enum dkim_result want[] = {
			DKIM_NEUTRAL, DKIM_NEUTRAL, DKIM_NEUTRAL, DKIM_FAIL,
			DKIM_PERMERROR, DKIM_NEUTRAL, DKIM_FAIL, DKIM_PERMERROR,
		};

		for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
			n = verify1(odd[i], 0, &v);
			ok(n == 1 && v.result == want[i],
			    "odd signature %zu: %s (%s)", i,
			    dkim_result_name(v.result), v.reason);
		}
		is_int(verify1("DKIM-Signature\n\n", 0, &v), 0,
		    "a DKIM-Signature line without ':' is no signature");
	}
}

/* ---- RFC 8463 appendix A ---- */

static const char rfc_rsa_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";
static const char rfc_ed_seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char rfc_ed_rec[] =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rfc_rsa_rec[] =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5"
    "V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfz"
    "wQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip"
    "3G+2kryOTIKT+l/K4w3QIDAQAB";
static const char rfc_ed_sig[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\n"
    " d=football.example.com; i=@football.example.com;\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\n"
    " subject : date : message-id : from : subject : date;\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n"
    " b=";
static const char rfc_ed_b[] =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
static const char rfc_rsa_sig[] =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n"
    " d=football.example.com; i=@football.example.com;\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\n"
    " date : message-id : from : subject : date;\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n"
    " b=";
static const char rfc_rsa_b[] =
    "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";
static const char rfc_msg[] =
    "From: Joe SixPack <joe@football.example.com>\n"
    "To: Suzie Q <suzie@shopping.example.net>\n"
    "Subject: Is dinner ready?\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
    "\n"
    "Hi.\n"
    "\n"
    "We lost the game.  Are you hungry yet?\n"
    "\n"
    "Joe.\n";

static char *
nows(const char *s)
{
	char *o = strdup(s), *q = o;

	for (; *s; s++)
		if (*s != ' ' && *s != '\n' && *s != '\t')
			*q++ = *s;
	*q = '\0';
	return o;
}

static void
test_rfc8463(void)
{
	struct dkim_key ked, krsa;
	struct dkim_verdict out[DKIM_SIG_MAX];
	unsigned char seed[32];
	EVP_PKEY *pe, *pr;
	BIO *bio;
	char *b, *want, *msg, why[128];
	size_t n;

	EVP_DecodeBlock(seed, (const unsigned char *)rfc_ed_seed, 44);
	pe = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	ok(dkim_key_load(&ked, "football.example.com", "brisbane",
	    keyfile(pe, "rfc-ed"), why, sizeof(why)) == 0,
	    "rfc8463: the Ed25519 key loads from PEM %s", why);
	EVP_PKEY_free(pe);
	bio = BIO_new_mem_buf(rfc_rsa_pem, -1);
	pr = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ok(pr != NULL, "rfc8463: the RSA key reads");
	mkkey(&krsa, pr, "football.example.com", "test");

	b = NULL;
	ok(dkim_sign_field(&ked, rfc_msg, strlen(rfc_msg), rfc_ed_sig,
	    strlen(rfc_ed_sig), &b, why, sizeof(why)) == 0,
	    "rfc8463: Ed25519 signed %s", why);
	want = nows(rfc_ed_b);
	is_str(b, want, "rfc8463: the Ed25519 signature, byte for byte");
	free(b);
	free(want);
	b = NULL;
	ok(dkim_sign_field(&krsa, rfc_msg, strlen(rfc_msg), rfc_rsa_sig,
	    strlen(rfc_rsa_sig), &b, why, sizeof(why)) == 0,
	    "rfc8463: RSA signed %s", why);
	want = nows(rfc_rsa_b);
	is_str(b, want, "rfc8463: the RSA signature, byte for byte");
	free(b);
	free(want);

	ASP(&msg, "%s%s\n%s%s\n%s", rfc_ed_sig, rfc_ed_b, rfc_rsa_sig,
	    rfc_rsa_b, rfc_msg);
	zone_reset();
	zone_add("brisbane._domainkey.football.example.com", DNSQ_OK,
	    rfc_ed_rec, NULL);
	zone_add("test._domainkey.football.example.com", DNSQ_OK, rfc_rsa_rec,
	    NULL);
	dkim_verify(&dns, msg, strlen(msg), 1528637909, out, DKIM_SIG_MAX, &n);
	ok(n == 2 && out[0].result == DKIM_PASS && out[1].result == DKIM_PASS,
	    "rfc8463: both published signatures verify (%s / %s)",
	    n > 0 ? out[0].reason : "", n > 1 ? out[1].reason : "");
	ok(n == 2 && strcmp(out[0].identity, "@football.example.com") == 0 &&
	    strcmp(out[0].alg, "ed25519-sha256") == 0 &&
	    strcmp(out[1].alg, "rsa-sha256") == 0 &&
	    strncmp(out[1].b, "F45dVWDf", 8) == 0, "rfc8463: their verdicts");
	free(msg);
	dkim_key_free(&ked);
	EVP_PKEY_free(pr);
}

/* ---- the tool mode ---- */

static char *
read_stdin(size_t *len_r)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t r;

	for (;;) {
		if (len == cap)
			buf = realloc(buf, cap *= 2);
		r = read(0, buf + len, cap - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	*len_r = len;
	return buf;
}

static int
tool_run(int argc, char **argv, const char *msg, size_t len)
{
	struct dkim_key k;
	struct dkim_verdict out[DKIM_SIG_MAX];
	char why[256], *field;
	size_t n, i;
	int a;

	if (strcmp(argv[1], "sign") == 0 && argc == 6) {
		if (dkim_key_load(&k, argv[3], argv[4], argv[2], why,
		    sizeof(why)) == -1) {
			fprintf(stderr, "dkim.t: %s\n", why);
			return 1;
		}
		if (dkim_sign(&k, msg, len, atoll(argv[5]), &field, why,
		    sizeof(why)) == -1) {
			fprintf(stderr, "dkim.t: %s\n", why);
			dkim_key_free(&k);
			return 1;
		}
		printf("%s\n", field);
		free(field);
		dkim_key_free(&k);
		return 0;
	}
	if (strcmp(argv[1], "verify") == 0 && argc >= 3 && argc % 2 == 1) {
		zone_reset();
		for (a = 3; a + 1 < argc && nzone < ZONE_MAX; a += 2)
			zone_add(argv[a], DNSQ_OK, argv[a + 1], NULL);
		dkim_verify(&dns, msg, len, atoll(argv[2]), out, DKIM_SIG_MAX,
		    &n);
		for (i = 0; i < n; i++)
			printf("%s %s %s %s %d %s\n",
			    dkim_result_name(out[i].result), out[i].domain,
			    out[i].selector, out[i].alg, out[i].partial,
			    out[i].reason);
		return 0;
	}
	fprintf(stderr, "usage: dkim.t [sign KEY DOMAIN SELECTOR NOW | "
	    "verify NOW [NAME TXT]...] < MSG\n");
	return 2;
}

/* tool - sign or verify standard input for the interop and keygen tests */
static int
tool(int argc, char **argv)
{
	size_t len;
	char *msg = read_stdin(&len);
	int r = tool_run(argc, argv, msg, len);

	free(msg);
	zone_reset();
	return r;
}

int
main(int argc, char **argv)
{
	struct dkim_key rsa, ed;
	EVP_PKEY *prsa, *ped;
	char *rsarec, *edrec, cmd[300];

	if (argc > 1)
		return tool(argc, argv);
	plan_no_plan();
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_canon();
	test_tags();
	prsa = genkey("RSA", 2048);
	ped = genkey("ED25519", 0);
	roundtrip(prsa, "rsa", "rsa");
	roundtrip(ped, "ed25519", "ed");
	mkkey(&rsa, prsa, "example.org", "rsa");
	mkkey(&ed, ped, "example.org", "ed");
	rsarec = keyrec(prsa);
	edrec = keyrec(ped);
	test_relaxed_transit(&rsa, rsarec);
	test_verdicts(&rsa, rsarec, &ed, edrec);
	test_rsa_sizes();
	test_key_load();
	test_sign_errors(&rsa);
	test_many(&rsa, rsarec);
	test_big(&rsa, rsarec);
	test_rfc8463();
	free(rsarec);
	free(edrec);
	EVP_PKEY_free(prsa);
	EVP_PKEY_free(ped);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
