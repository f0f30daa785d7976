/*
 * t/unit/dmarc.c - DMARC (plugins/mailauth/dmarc.c): the record grammar,
 * the From domain, discovery through a struct dnsq answered from a table
 * (organisational-domain fallback by the Public Suffix List, several
 * records, temporary failures), alignment and the applied policy.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "../../plugins/mailauth/dmarc.h"

/* ---- a DNS table ---- */

struct zrec {
	const char	*name;
	const char	*txt;		/* NULL: TEMP for this name */
};

static const struct zrec *zone;
static size_t zone_n;
static char asked[8][DNSQ_NAME_MAX + 1];
static size_t nasked;

static int
zone_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *a)
{
	size_t i, n = 0;

	(void)q;
	if (nasked < 8)
		snprintf(asked[nasked++], sizeof(asked[0]), "%s", name);
	if (type != DNSQ_TXT)
		return DNSQ_NODATA;
	for (i = 0; i < zone_n; i++)
		if (strcasecmp(zone[i].name, name) == 0) {
			if (zone[i].txt == NULL)
				return DNSQ_TEMP;
			n++;
		}
	if (n == 0)
		return DNSQ_NXDOMAIN;
	a->str = calloc(n, sizeof(char *));
	a->len = calloc(n, sizeof(size_t));
	for (i = 0; i < zone_n; i++)
		if (strcasecmp(zone[i].name, name) == 0) {
			a->str[a->n] = strdup(zone[i].txt);
			a->len[a->n++] = strlen(zone[i].txt);
		}
	return DNSQ_OK;
}

static void
use_zone(struct dnsq *q, const struct zrec *z, size_t n)
{
	memset(q, 0, sizeof(*q));
	q->lookup = zone_lookup;
	zone = z;
	zone_n = n;
	nasked = 0;
}

/* ---- records ---- */

static int
rec(const char *txt, struct dmarc_record *r)
{
	char why[128];

	return dmarc_record_parse(txt, strlen(txt), r, why, sizeof(why));
}

static void
test_records(void)
{
	static const char *bad[] = {
		"v=DMARC1",				/* no p */
		"v=DMARC1; p=maybe",			/* bad p */
		"v=DMARC1; p=none; sp=sometimes",	/* bad sp */
		"v=DMARC1; p=none; pct=101",
		"v=DMARC1; p=none; pct=-1",
		"v=DMARC1; p=none; pct=",
		"v=DMARC1; p=none; adkim=x",
		"v=DMARC1; p=none; aspf=relaxed",
		"v=DMARC1; p=none; p=reject",		/* twice */
		"v=DMARC1; p=none; rua=example.com",	/* no scheme */
		"v=DMARC1; p=none; fo=2",
		"v=DMARC1; p=none; ri=abc",
		"v=DMARC1; p=none; v=DMARC1",
		"v=DMARC1; p none",
		"v=DMARC1; p=none; 9x=1",
		"v=DMARC1; p=none\x01",
	};
	struct dmarc_record r;
	size_t i;
	char why[128];

	is_int(rec("v=DMARC1; p=reject", &r), DMARC_REC_OK, "minimal record");
	is_int(r.p, DMARC_P_REJECT, "p=reject");
	is_int(r.sp, DMARC_P_REJECT, "sp defaults to p");
	is_int(r.pct, 100, "pct defaults to 100");
	ok(!r.adkim_strict && !r.aspf_strict, "relaxed by default");
	is_int(rec(" v = DMARC1 ;P=Quarantine;sp=none; pct=0; adkim=s; "
	    "aspf=S; rua=mailto:a@example.com,mailto:b@example.com!10m; "
	    "ruf=mailto:f@example.com; ri=86400; fo=0:1:d:s; rf=afrf; "
	    "future=thing;", &r), DMARC_REC_OK, "every tag, blanks, case");
	ok(r.p == DMARC_P_QUARANTINE && r.sp == DMARC_P_NONE && r.pct == 0 &&
	    r.adkim_strict && r.aspf_strict, "values taken");
	is_int(rec("p=reject; v=DMARC1", &r), DMARC_REC_OTHER, "v not first");
	is_int(rec("v=DMARC2; p=reject", &r), DMARC_REC_OTHER, "v=DMARC2");
	is_int(rec("v=dmarc1; p=reject", &r), DMARC_REC_OTHER,
	    "DMARC1 is case-sensitive");
	is_int(rec("v=spf1 -all", &r), DMARC_REC_OTHER, "an SPF record");
	is_int(rec("", &r), DMARC_REC_OTHER, "empty");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(rec(bad[i], &r), DMARC_REC_BAD, "bad: %s", bad[i]);
	is_int(rec("v=DMARC1; rua=mailto:r@example.com", &r), DMARC_REC_OK,
	    "no p but rua: taken as p=none (RFC 7489 6.6.3)");
	ok(r.p == DMARC_P_NONE && r.p_assumed, "p assumed none");
	is_int(rec("v=DMARC1; p=bogus; rua=mailto:r@example.com", &r),
	    DMARC_REC_OK, "bad p but rua: p=none");
	is_int(dmarc_record_parse("v=DMARC1; p=none\0; p=reject", 27, &r,
	    why, sizeof(why)), DMARC_REC_BAD, "a NUL in the record");
	is_int(dmarc_record_check("v=DMARC1; p=none", 16, why, sizeof(why)), 0,
	    "check: good");
	is_int(dmarc_record_check("v=DMARC1; pct=5", 15, why, sizeof(why)), -1,
	    "check: bad");
	is_str(why, "no p tag", "the reason");
}

/* ---- From ---- */

static void
from_is(const char *value, const char *want)
{
	char dom[DMARC_DOMAIN_MAX + 1], why[96], name[128];
	int rc = dmarc_from_domain(value, dom, sizeof(dom), why, sizeof(why));
	size_t i;

	/* the test's name on one line */
	snprintf(name, sizeof(name), "%s", value);
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] == '\r' || name[i] == '\n')
			name[i] = ' ';
	value = name;

	if (want == NULL) {
		if (!ok(rc == -1, "From %s: refused", value))
			diag("got %s", dom);
	} else {
		if (!ok(rc == 0 && strcmp(dom, want) == 0, "From %s: %s", value,
		    want))
			diag("rc %d dom '%s' why '%s'", rc, dom, rc ? why : "");
	}
}

static void
test_from(void)
{
	from_is("a@Example.COM", "example.com");
	from_is("Alice <alice@mail.example.org>", "mail.example.org");
	from_is("\"Bob, <x@evil.test>\" <bob@good.test>", "good.test");
	from_is("(x@evil.test) c@good.test (comment)", "good.test");
	from_is("\"q@evil.test\"@good.test", "good.test");
	from_is("a@example.com.", "example.com");
	from_is(" Name\r\n <n@folded.test>", "folded.test");
	from_is("group: g@one.test;", "one.test");
	from_is("undisclosed:; x@two.test", "two.test");
	from_is("a@one.test, b@two.test", NULL);
	from_is("A <a@one.test>, b@one.test", NULL);
	from_is("", NULL);
	from_is("undisclosed-recipients:;", NULL);
	from_is("no-domain", NULL);
	from_is("a@[192.0.2.1]", NULL);
	from_is("a@bad_domain.test", NULL);
	from_is("a@-x.test", NULL);
	from_is("Alice <alice@example.com", NULL);
	from_is("(open comment a@example.com", NULL);
	from_is("\"open quote a@example.com", NULL);
	from_is("a@\xc3\xa9.test", NULL);
}

/* ---- discovery and evaluation ---- */

static struct spf_outcome
spf_of(enum spf_result res, const char *identity, const char *domain)
{
	struct spf_outcome s;

	memset(&s, 0, sizeof(s));
	s.result = res;
	snprintf(s.identity, sizeof(s.identity), "%s", identity);
	snprintf(s.domain, sizeof(s.domain), "%s", domain);
	return s;
}

static struct dkim_verdict
dkim_of(enum dkim_result res, const char *d, int partial)
{
	struct dkim_verdict v;

	memset(&v, 0, sizeof(v));
	v.result = res;
	snprintf(v.domain, sizeof(v.domain), "%s", d);
	v.partial = partial;
	return v;
}

static const struct zrec Z[] = {
	{ "_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine" },
	{ "_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s" },
	{ "_dmarc.direct.strict.test", "v=DMARC1; p=quarantine" },
	{ "_dmarc.many.test", "v=DMARC1; p=reject" },
	{ "_dmarc.many.test", "v=DMARC1; p=none" },
	{ "_dmarc.mixed.test", "v=spf1 -all" },
	{ "_dmarc.mixed.test", "v=DMARC1; p=reject" },
	{ "_dmarc.other.test", "some text" },
	{ "_dmarc.temp.test", NULL },
	{ "_dmarc.bad.test", "v=DMARC1; p=reject; pct=200" },
	{ "_dmarc.pct0.test", "v=DMARC1; p=reject; pct=0" },
	{ "_dmarc.qpct0.test", "v=DMARC1; p=quarantine; pct=0" },
	{ "_dmarc.half.test", "v=DMARC1; p=reject; pct=50" },
};

static void
check(const char *from, const struct spf_outcome *spf,
    const struct dkim_verdict *dk, size_t ndk, unsigned sample,
    struct dmarc_outcome *out)
{
	struct dnsq q;
	struct dmarc_input in;

	use_zone(&q, Z, sizeof(Z) / sizeof(Z[0]));
	memset(&in, 0, sizeof(in));
	in.from_domain = from;
	in.spf = spf;
	in.dkim = dk;
	in.ndkim = ndk;
	in.sample = sample;
	dmarc_check(&q, &in, out);
}

static void
test_eval(void)
{
	struct dmarc_outcome o;
	struct spf_outcome sp;
	struct dkim_verdict dk[3];
	char org[DMARC_DOMAIN_MAX + 1];

	is_int(dmarc_org_domain("mail.example.co.uk", org, sizeof(org)), 0,
	    "org domain");
	is_str(org, "example.co.uk", "PSL: mail.example.co.uk -> example.co.uk");
	dmarc_org_domain("a.b.example.com", org, sizeof(org));
	is_str(org, "example.com", "a.b.example.com -> example.com");
	dmarc_org_domain("co.uk", org, sizeof(org));
	is_str(org, "co.uk", "a public suffix is its own");

	/* fallback to the org domain, sp for the subdomain */
	sp = spf_of(SPF_FAIL, "mailfrom", "mail.example.co.uk");
	check("mail.example.co.uk", &sp, NULL, 0, 0, &o);
	is_int(nasked, 2, "two questions: From, then org domain");
	is_str(asked[0], "_dmarc.mail.example.co.uk", "first the From domain");
	is_str(asked[1], "_dmarc.example.co.uk", "then the org domain");
	is_int(o.result, DMARC_FAIL, "no aligned pass: fail");
	is_int(o.policy, DMARC_P_QUARANTINE, "sp applies to a subdomain");
	is_str(o.record_at, "example.co.uk", "record found at the org domain");
	check("example.co.uk", &sp, NULL, 0, 0, &o);
	is_int(nasked, 1, "org domain itself: one question");
	is_int(o.policy, DMARC_P_REJECT, "p applies at the org domain");

	/* relaxed alignment */
	sp = spf_of(SPF_PASS, "mailfrom", "bounce.example.co.uk");
	check("mail.example.co.uk", &sp, NULL, 0, 0, &o);
	ok(o.result == DMARC_PASS && o.spf_aligned, "relaxed SPF alignment");
	sp = spf_of(SPF_PASS, "helo", "example.co.uk");
	check("example.co.uk", &sp, NULL, 0, 0, &o);
	is_int(o.result, DMARC_FAIL, "the HELO identity does not count");
	sp = spf_of(SPF_PASS, "mailfrom", "other.co.uk");
	check("example.co.uk", &sp, NULL, 0, 0, &o);
	is_int(o.result, DMARC_FAIL, "another org domain does not align");
	dk[0] = dkim_of(DKIM_PASS, "Sign.Example.CO.UK.", 0);
	check("mail.example.co.uk", NULL, dk, 1, 0, &o);
	ok(o.result == DMARC_PASS && o.dkim_aligned,
	    "relaxed DKIM alignment, any case, final dot");
	dk[0] = dkim_of(DKIM_PASS, "example.co.uk", 1);
	check("example.co.uk", NULL, dk, 1, 0, &o);
	is_int(o.result, DMARC_FAIL, "a partial (l=) signature does not count");
	dk[0] = dkim_of(DKIM_FAIL, "example.co.uk", 0);
	dk[1] = dkim_of(DKIM_PASS, "evil.test", 0);
	dk[2] = dkim_of(DKIM_PASS, "example.co.uk", 0);
	check("example.co.uk", NULL, dk, 3, 0, &o);
	is_int(o.result, DMARC_PASS, "one aligned pass among several");

	/* strict alignment */
	sp = spf_of(SPF_PASS, "mailfrom", "a.strict.test");
	dk[0] = dkim_of(DKIM_PASS, "strict.test", 0);
	check("b.strict.test", &sp, dk, 1, 0, &o);
	is_int(o.result, DMARC_FAIL, "strict: subdomains do not align");
	sp = spf_of(SPF_PASS, "mailfrom", "strict.test");
	check("strict.test", &sp, NULL, 0, 0, &o);
	is_int(o.result, DMARC_PASS, "strict: equal SPF domain aligns");
	check("strict.test", NULL, dk, 1, 0, &o);
	is_int(o.result, DMARC_PASS, "strict: equal DKIM domain aligns");
	check("direct.strict.test", NULL, NULL, 0, 0, &o);
	is_int(o.policy, DMARC_P_QUARANTINE,
	    "a subdomain with its own record: its p");

	/* none, several, temperror, permerror */
	check("nothing.test", NULL, NULL, 0, 0, &o);
	is_int(o.result, DMARC_NONE, "no record: none");
	check("many.test", NULL, NULL, 0, 0, &o);
	is_int(o.result, DMARC_NONE, "several records: none");
	check("sub.many.test", NULL, NULL, 0, 0, &o);
	is_int(o.result, DMARC_NONE, "several at the org domain: none");
	check("mixed.test", NULL, NULL, 0, 0, &o);
	ok(o.result == DMARC_FAIL && o.policy == DMARC_P_REJECT,
	    "a non-DMARC TXT beside the record is ignored");
	check("other.test", NULL, NULL, 0, 0, &o);
	is_int(o.result, DMARC_NONE, "only other TXT: none");
	check("temp.test", NULL, NULL, 0, 0, &o);
	is_int(o.result, DMARC_TEMPERROR, "DNS failure: temperror");
	check("x.temp.test", NULL, NULL, 0, 0, &o);
	is_int(o.result, DMARC_TEMPERROR, "at the org domain too");
	check("bad.test", NULL, NULL, 0, 0, &o);
	ok(o.result == DMARC_PERMERROR && o.policy == DMARC_P_NONE,
	    "bad record: permerror, no policy");
	check("bad..test", NULL, NULL, 0, 0, &o);
	is_int(o.result, DMARC_PERMERROR, "bad From domain: permerror");

	/* pct */
	check("pct0.test", NULL, NULL, 0, 0, &o);
	ok(o.result == DMARC_FAIL && o.policy == DMARC_P_QUARANTINE &&
	    o.sampled_out, "pct=0: reject becomes quarantine");
	check("qpct0.test", NULL, NULL, 0, 0, &o);
	is_int(o.policy, DMARC_P_NONE, "pct=0: quarantine becomes none");
	check("half.test", NULL, NULL, 0, 49, &o);
	is_int(o.policy, DMARC_P_REJECT, "pct=50, sample 49: applied");
	check("half.test", NULL, NULL, 0, 50, &o);
	is_int(o.policy, DMARC_P_QUARANTINE, "pct=50, sample 50: milder");
	sp = spf_of(SPF_PASS, "mailfrom", "pct0.test");
	check("pct0.test", &sp, NULL, 0, 0, &o);
	ok(o.result == DMARC_PASS && o.policy == DMARC_P_NONE,
	    "pass: no policy");
	is_str(dmarc_result_name(DMARC_TEMPERROR), "temperror", "result name");
	is_str(dmarc_policy_name(DMARC_P_QUARANTINE), "quarantine",
	    "policy name");
}

int
main(void)
{
	plan_no_plan();
	test_records();
	test_from();
	test_eval();
	return done_testing();
}
