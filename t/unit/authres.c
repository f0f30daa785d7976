/*
 * t/unit/authres.c - Authentication-Results (plugins/mailauth/authres.c):
 * the field built with quoting where a value is not a token, refusal
 * rather than truncation, and recognition of fields that claim our
 * authserv-id through comments, case and quoting.
 */
#include <string.h>

#include "../lib/tap.h"
#include "../../plugins/mailauth/authres.h"

static void
test_build(void)
{
	struct authres a;
	struct authres_prop p[4];
	char big[AUTHRES_MAX + 8];

	ok(authres_init(&a, "mx.example.org") == 0, "init");
	is_str(authres_value(&a), "mx.example.org; none", "no result: none");
	authres_init(&a, "mx.example.org");
	p[0].name = "smtp.mailfrom";
	p[0].value = "user@example.com";
	ok(authres_add(&a, "spf", "pass", NULL, p, 1) == 0, "spf added");
	p[0].name = "header.d";
	p[0].value = "example.com";
	p[1].name = "header.s";
	p[1].value = "sel";
	p[2].name = "header.b";
	p[2].value = "ab/c+d=";
	p[3].name = "header.i";
	p[3].value = "";
	ok(authres_add(&a, "dkim", "pass", NULL, p, 4) == 0, "dkim added");
	p[0].name = "header.from";
	p[0].value = "example.com";
	ok(authres_add(&a, "dmarc", "fail", "p=reject", p, 1) == 0,
	    "dmarc added");
	is_str(authres_value(&a), "mx.example.org; spf=pass "
	    "smtp.mailfrom=user@example.com; dkim=pass header.d=example.com "
	    "header.s=sel header.b=\"ab/c+d=\"; dmarc=fail reason=\"p=reject\" "
	    "header.from=example.com", "the field");

	authres_init(&a, "id");
	p[0].name = "smtp.mailfrom";
	p[0].value = "\"odd local\"@example.com";
	ok(authres_add(&a, "spf", "fail", "a \"quoted\" \\ reason", p, 1) == 0,
	    "quoting");
	is_str(authres_value(&a), "id; spf=fail reason=\"a \\\"quoted\\\" \\\\ "
	    "reason\" smtp.mailfrom=\"\\\"odd local\\\"@example.com\"",
	    "quotes and backslashes escaped");
	authres_init(&a, "id");
	p[0].value = "a..b@example.com";
	authres_add(&a, "spf", "pass", NULL, p, 1);
	is_str(authres_value(&a), "id; spf=pass smtp.mailfrom=\"a..b@example.com\"",
	    "not a dot-atom: quoted");
	authres_init(&a, "id");
	p[0].value = "a\r\nX-Evil: 1";
	ok(authres_add(&a, "spf", "pass", NULL, p, 1) == -1,
	    "a CR LF in a value is refused");
	p[0].value = "caf\xc3\xa9@example.com";
	ok(authres_add(&a, "spf", "pass", NULL, p, 1) == 0, "UTF-8 accepted");
	p[0].value = "bad\xff@example.com";
	ok(authres_add(&a, "spf", "pass", NULL, p, 1) == -1,
	    "malformed UTF-8 refused");
	ok(authres_add(&a, "sp f", "pass", NULL, NULL, 0) == -1,
	    "a method that is no token");
	is_str(authres_value(&a), "id; spf=pass smtp.mailfrom=\"caf\xc3\xa9"
	    "@example.com\"", "refused results left no trace");
	ok(authres_init(&a, "my server") == 0, "an id that is no token");
	is_str(authres_value(&a), "\"my server\"; none", "quoted");

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	authres_init(&a, "id");
	p[0].value = big;
	ok(authres_add(&a, "spf", "pass", NULL, p, 1) == -1,
	    "too long: refused, not cut");
	is_int(strlen(authres_value(&a)), strlen("id; none"), "field unchanged");
}

static int
claims(const char *v, const char *id)
{
	return authres_claims(v, strlen(v), id);
}

static void
test_claims(void)
{
	const char *id = "mx.example.org";

	is_int(claims("mx.example.org; spf=pass", id), 1, "plain");
	is_int(claims("MX.Example.ORG; spf=pass", id), 1, "case");
	is_int(claims("mx.example.org.; spf=pass", id), 1, "final dot");
	is_int(claims("  (forged (nested) \\) comment) mx.example.org "
	    "(c) 1; dkim=pass", id), 1, "comments before and after");
	is_int(claims("\r\n\tmx.example.org;\r\n\tspf=pass", id), 1, "folded");
	is_int(claims("\"mx.example.org\"; spf=pass", id), 1, "quoted");
	is_int(claims("\"mx.ex\\ample.org\"; spf=pass", id), 1,
	    "quoted pair in the quoted string");
	is_int(claims("mx.example.org 1; none", id), 1, "with version");
	is_int(claims("mx.example.org;spf=pass", id), 1, "no blank");
	is_int(claims("mx.example.org/x; spf=pass", id), 1,
	    "a special after the id: a lax reader sees ours");
	is_int(claims("mx.example.org(c); spf=pass", id), 1,
	    "a comment right after");
	is_int(claims("other.example.org; spf=pass", id), 0, "another id");
	is_int(claims("mx.example.org.evil; spf=pass", id), 0, "a longer id");
	is_int(claims("(mx.example.org) other.test; spf=pass", id), 0,
	    "our id only in a comment");
	is_int(claims("x mx.example.org; spf=pass", id), 0,
	    "our id in second place");
	is_int(claims("(unterminated mx.example.org; spf=pass", id), -1,
	    "an unterminated comment cannot be read");
	is_int(claims("\"mx.example.org; spf=pass", id), -1,
	    "an unterminated quoted string");
	is_int(claims("   ", id), -1, "empty");
	is_int(claims("; spf=pass", id), -1, "no authserv-id");
	ok(authres_is_token("abc.def-1") && !authres_is_token("a b") &&
	    !authres_is_token("a=b") && !authres_is_token(""), "tokens");
}

int
main(void)
{
	plan_no_plan();
	test_build();
	test_claims();
	return done_testing();
}
