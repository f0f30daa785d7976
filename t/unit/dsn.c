/*
 * t/unit/dsn.c - the RFC 3461 values (lib/dsn.c): xtext both ways, NOTIFY
 * lists, ORCPT values, and which reports a NOTIFY asks for.  Numbered,
 * table-driven cases; a failure names its number.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/tap.h"
#include "dsn.h"

struct xcase {
	int	 n;
	const char *in;
	const char *out;	/* NULL: refused */
};

static const struct xcase xcases[] = {
	{ 1, "abc", "abc" },
	{ 2, "a+2Bb", "a+b" },
	{ 3, "+3Dx+20y", "=x y" },
	{ 4, "user@example.org", "user@example.org" },
	{ 5, "+7E", "~" },
	{ 6, "", NULL },		/* empty */
	{ 7, "a+ZZ", NULL },		/* not hex */
	{ 8, "a+2b", NULL },		/* lower-case hex */
	{ 9, "a+2", NULL },		/* cut short */
	{ 10, "a+", NULL },
	{ 11, "a=b", NULL },		/* "=" must be encoded */
	{ 12, "a b", NULL },		/* space must be encoded */
	{ 13, "a+0Db", NULL },		/* CR decoded: not printable */
	{ 14, "a+0A", NULL },
	{ 15, "+7F", NULL },		/* DEL */
	{ 16, "+C3+A4", NULL },		/* 8-bit */
	{ 17, "a\x7f", NULL },
	{ 18, "\xc3\xa4", NULL },
	{ 0, NULL, NULL },
};

static void
run_xtext(void)
{
	char out[64], enc[200], back[64];
	const struct xcase *c;
	int r;

	for (c = xcases; c->n; c++) {
		r = dsn_xtext_decode(c->in, out, sizeof(out));
		if (c->out == NULL) {
			ok(r == -1 && out[0] == '\0', "%d \"%s\" refused", c->n,
			    c->in);
			continue;
		}
		if (!ok(r == 0 && strcmp(out, c->out) == 0, "%d \"%s\" -> \"%s\" "
		    "(%s)", c->n, c->in, c->out, out))
			continue;
		/* encoded again, it decodes to the same */
		r = dsn_xtext_encode(out, enc, sizeof(enc));
		ok(r == 0 && dsn_xtext_decode(enc, back, sizeof(back)) == 0 &&
		    strcmp(back, out) == 0, "%d round trip via \"%s\"", c->n, enc);
	}
	ok(dsn_xtext_encode("a+b=c d~", enc, sizeof(enc)) == 0 &&
	    strcmp(enc, "a+2Bb+3Dc+20d~") == 0, "30 encode: %s", enc);
	/* the output limit: 3 bytes fit "ab" and its NUL, not "abc" */
	ok(dsn_xtext_decode("ab", out, 3) == 0, "31 decode fits exactly");
	ok(dsn_xtext_decode("abc", out, 3) == -1 && out[0] == '\0',
	    "32 decode one too long refused");
	ok(dsn_xtext_encode("a+", enc, 5) == 0 && strcmp(enc, "a+2B") == 0,
	    "33 encode fits exactly");
	ok(dsn_xtext_encode("a+", enc, 4) == -1 && enc[0] == '\0',
	    "34 encode one too long refused");
}

struct ncase {
	int	 n;
	const char *in;
	int	 bits;		/* -1: refused */
	const char *out;	/* dsn_notify_str of the bits */
};

static const struct ncase ncases[] = {
	{ 40, "NEVER", DSN_NOTIFY_NEVER, "NEVER" },
	{ 41, "SUCCESS", DSN_NOTIFY_SUCCESS, "SUCCESS" },
	{ 42, "failure,delay", DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
	    "FAILURE,DELAY" },
	{ 43, "DELAY,SUCCESS,FAILURE", DSN_NOTIFY_ALL & ~DSN_NOTIFY_NEVER,
	    "SUCCESS,FAILURE,DELAY" },
	{ 44, "NEVER,SUCCESS", -1, NULL },
	{ 45, "SUCCESS,NEVER", -1, NULL },
	{ 46, "BOGUS", -1, NULL },
	{ 47, "", -1, NULL },
	{ 48, "SUCCESS,", -1, NULL },
	{ 49, ",SUCCESS", -1, NULL },
	{ 50, "SUCCESS,SUCCESS", -1, NULL },
	{ 51, "SUCCESS FAILURE", -1, NULL },
	{ 52, "SUCCESSX", -1, NULL },
	{ 0, NULL, 0, NULL },
};

static void
run_notify(void)
{
	const struct ncase *c;
	char out[32];
	int bits, r;

	for (c = ncases; c->n; c++) {
		r = dsn_notify_parse(c->in, &bits);
		if (c->bits == -1)
			ok(r == -1 && bits == 0, "%d NOTIFY=%s refused", c->n, c->in);
		else
			ok(r == 0 && bits == c->bits && strcmp(dsn_notify_str(bits,
			    out, sizeof(out)), c->out) == 0, "%d NOTIFY=%s: %s",
			    c->n, c->in, out);
	}
	/* which reports a NOTIFY asks for (RFC 3461 §4.1) */
	ok(!dsn_wants(0, DSN_NOTIFY_SUCCESS) && dsn_wants(0, DSN_NOTIFY_FAILURE) &&
	    dsn_wants(0, DSN_NOTIFY_DELAY), "60 no NOTIFY: failures and delays");
	ok(!dsn_wants(DSN_NOTIFY_NEVER, DSN_NOTIFY_FAILURE) &&
	    !dsn_wants(DSN_NOTIFY_NEVER, DSN_NOTIFY_DELAY) &&
	    !dsn_wants(DSN_NOTIFY_NEVER, DSN_NOTIFY_SUCCESS), "61 NEVER: nothing");
	ok(dsn_wants(DSN_NOTIFY_FAILURE, DSN_NOTIFY_FAILURE) &&
	    !dsn_wants(DSN_NOTIFY_FAILURE, DSN_NOTIFY_DELAY),
	    "62 FAILURE alone: no delay notice");
	ok(dsn_wants(DSN_NOTIFY_SUCCESS, DSN_NOTIFY_SUCCESS) &&
	    !dsn_wants(DSN_NOTIFY_SUCCESS, DSN_NOTIFY_FAILURE),
	    "63 SUCCESS alone: no failure report");
}

static void
run_orcpt(void)
{
	char out[DSN_ORCPT_SIZE], big[3 * DSN_ORCPT_MAX + 16];
	const char *why = NULL;
	int r;

	r = dsn_orcpt_parse("rfc822;bob+2Bx@example.org", out, &why);
	ok(r == 0 && strcmp(out, "rfc822;bob+x@example.org") == 0,
	    "70 rfc822 decoded (%s)", out);
	r = dsn_orcpt_parse("RFC822;a@b", out, &why);
	ok(r == 0 && strcmp(out, "rfc822;a@b") == 0, "71 type lower-cased");
	r = dsn_orcpt_parse("UTF-8;j\\x{E4}rvi@example.fi", out, &why);
	ok(r == 0 && strcmp(out, "utf-8;j\\x{E4}rvi@example.fi") == 0,
	    "72 utf-8 type, escapes kept (%s)", out);
	r = dsn_orcpt_parse("a@b", out, &why);
	ok(r == -1 && strstr(why, "address type"), "73 no type: %s", why);
	r = dsn_orcpt_parse(";a@b", out, &why);
	ok(r == -1 && strstr(why, "address type"), "74 empty type: %s", why);
	r = dsn_orcpt_parse("x400;a@b", out, &why);
	ok(r == -1 && strstr(why, "rfc822 or utf-8"), "75 other type: %s", why);
	r = dsn_orcpt_parse("rfc822;", out, &why);
	ok(r == -1 && strstr(why, "xtext"), "76 empty address: %s", why);
	r = dsn_orcpt_parse("rfc822;a+ZZ@b", out, &why);
	ok(r == -1 && out[0] == '\0', "77 bad xtext refused");
	/* DSN_ORCPT_MAX decoded octets fit, one more does not */
	memcpy(big, "rfc822;", 7);
	memset(big + 7, 'a', DSN_ORCPT_MAX);
	big[7 + DSN_ORCPT_MAX] = '\0';
	ok(dsn_orcpt_parse(big, out, &why) == 0 &&
	    strlen(out) == 7 + DSN_ORCPT_MAX, "78 %d octets taken", DSN_ORCPT_MAX);
	big[7 + DSN_ORCPT_MAX] = 'a';
	big[8 + DSN_ORCPT_MAX] = '\0';
	ok(dsn_orcpt_parse(big, out, &why) == -1, "79 %d octets refused",
	    DSN_ORCPT_MAX + 1);
}

int
main(void)
{
	plan_no_plan();
	run_xtext();
	run_notify();
	run_orcpt();
	return done_testing();
}
