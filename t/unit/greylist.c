/*
 * t/unit/greylist.c - the pure part of the greylist plugin
 * (plugins/greylist/glkey.c) without a server: the client network of an
 * IPv4 or IPv6 address, IP/CIDR parsing and matching, the store keys of
 * triplets (lower case, <> as empty, unambiguous, long ones hashed and
 * never cut), recipient lists and role addresses, the record text, and
 * every verdict of the decision on a triplet's record.  Numbered,
 * table-driven cases; a failure names its case.
 */
#include <stdio.h>
#include <string.h>

#include "../../plugins/greylist/greylist.h"
#include "../lib/tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- networks ------------------------------------------------------------ */

static const struct {
	const char	*ip;
	const char	*net;		/* NULL: not an address */
} nets[] = {
	{ "192.0.2.1", "192.0.2.0/24" },
	{ "192.0.2.254", "192.0.2.0/24" },
	{ "10.1.2.3", "10.1.2.0/24" },
	{ "::ffff:198.51.100.7", "198.51.100.0/24" },	/* mapped: IPv4 */
	{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
	{ "2001:db8:1:2::1", "2001:db8:1:2::/64" },
	{ "2001:DB8:1:2:ffff::1", "2001:db8:1:2::/64" },
	{ "::1", "::/64" },
	{ "fe80::1", "fe80::/64" },
	{ "", NULL },
	{ "192.0.2", NULL },
	{ "192.0.2.1/24", NULL },
	{ "localhost", NULL },
	{ "1.2.3.4 ", NULL },
};

static void
test_net_key(void)
{
	struct pu_ip ip;
	char out[GL_NET_MAX], small[12];
	size_t i;
	int r;

	for (i = 0; i < NELEM(nets); i++) {
		r = pu_ip_parse(nets[i].ip, &ip);
		if (nets[i].net == NULL) {
			is_int(r, -1, "net %zu: '%s' is not an address", i,
			    nets[i].ip);
			continue;
		}
		if (!ok(r == 0, "net %zu: '%s' parses", i, nets[i].ip))
			continue;
		r = gl_net_key(&ip, out, sizeof(out));
		is_int(r, 0, "net %zu: key made", i);
		is_str(out, nets[i].net, "net %zu: '%s' network", i, nets[i].ip);
	}
	is_int(pu_ip_parse(NULL, &ip), -1, "net: NULL is not an address");
	pu_ip_parse("2001:db8:1:2::1", &ip);
	is_int(gl_net_key(&ip, small, sizeof(small)), -1,
	    "net: a buffer too small is an error");
	is_str(small, "", "net: and leaves it empty, never cut");
}

static const struct {
	const char	*net;
	const char	*ip;
	int		 match;		/* -1: NET does not parse */
} cidrs[] = {
	{ "192.0.2.0/24", "192.0.2.77", 1 },
	{ "192.0.2.0/24", "192.0.3.1", 0 },
	{ "192.0.2.9/24", "192.0.2.200", 1 },	/* host bits ignored */
	{ "192.0.2.5", "192.0.2.5", 1 },
	{ "192.0.2.5", "192.0.2.6", 0 },
	{ "10.0.0.0/8", "10.255.0.1", 1 },
	{ "10.0.0.0/9", "10.128.0.1", 0 },
	{ "0.0.0.0/0", "203.0.113.1", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },	/* another family */
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/33", "2001:db8:8000::1", 0 },
	{ "::1", "::1", 1 },
	{ "127.0.0.1", "::ffff:127.0.0.1", 1 },	/* a mapped client */
	{ "192.0.2.0/33", "192.0.2.1", -1 },
	{ "2001:db8::/129", "2001:db8::1", -1 },
	{ "10.0.0.0/x", "10.0.0.1", -1 },
	{ "10.0.0.0/", "10.0.0.1", -1 },
	{ "10.0.0.0/-1", "10.0.0.1", -1 },
	{ "10.0.0.0/0008", "10.0.0.1", -1 },
	{ "not-an-ip", "10.0.0.1", -1 },
	{ "::ffff:10.0.0.0/104", "10.0.0.1", -1 },
	{ "", "10.0.0.1", -1 },
};

static void
test_cidr(void)
{
	struct pu_net net;
	struct pu_ip ip;
	size_t i;
	int r;

	for (i = 0; i < NELEM(cidrs); i++) {
		r = pu_net_parse(cidrs[i].net, &net);
		if (cidrs[i].match == -1) {
			is_int(r, -1, "cidr %zu: '%s' refused", i, cidrs[i].net);
			continue;
		}
		if (!ok(r == 0 && pu_ip_parse(cidrs[i].ip, &ip) == 0,
		    "cidr %zu: '%s' parses", i, cidrs[i].net))
			continue;
		is_int(pu_net_match(&net, &ip), cidrs[i].match,
		    "cidr %zu: %s in %s", i, cidrs[i].ip, cidrs[i].net);
	}
}

/* ---- keys ---------------------------------------------------------------- */

static void
test_triplet_key(void)
{
	char k1[GL_KEY_MAX + 128], k2[GL_KEY_MAX + 128], tiny[16];
	char longaddr[300], longer[300];

	is_int(gl_triplet_key("192.0.2.0/24", "Bob@Example.ORG",
	    "Alice@LocalHost", k1, sizeof(k1)), 0, "key 1: made");
	is_str(k1, "t/192.0.2.0/24/15:bob@example.org/alice@localhost",
	    "key 1: lower case, the sender's length first");
	is_int(gl_triplet_key("192.0.2.0/24", "", "alice@localhost", k1,
	    sizeof(k1)), 0, "key 2: <> made");
	is_str(k1, "t/192.0.2.0/24/0:/alice@localhost", "key 2: <> is empty");

	/* a '/' in an address cannot make two triplets one key */
	gl_triplet_key("n", "a/b@x", "c@y", k1, sizeof(k1));
	gl_triplet_key("n", "a", "b@x/c@y", k2, sizeof(k2));
	ok(strcmp(k1, k2) != 0, "key 3: '/' in addresses stays unambiguous");
	gl_triplet_key("n", "a@x", "b@y", k1, sizeof(k1));
	gl_triplet_key("n", "A@X", "B@Y", k2, sizeof(k2));
	is_str(k1, k2, "key 4: case does not matter");

	/* long triplets: hashed, fixed size, case-blind, still distinct */
	memset(longaddr, 'a', 250);
	strcpy(longaddr + 250, "@x.org");
	memcpy(longer, longaddr, sizeof(longer));
	longer[0] = 'b';
	is_int(gl_triplet_key("2001:db8:1:2::/64", longaddr, longaddr, k1,
	    sizeof(k1)), 0, "key 5: a long triplet is made");
	ok(strncmp(k1, "t/2001:db8:1:2::/64/h:", 22) == 0 &&
	    strlen(k1) == 22 + 64, "key 5: hashed (%s)", k1);
	gl_triplet_key("2001:db8:1:2::/64", longer, longaddr, k2, sizeof(k2));
	ok(strcmp(k1, k2) != 0, "key 6: another long sender, another hash");
	longer[0] = 'A';
	longaddr[0] = 'a';
	gl_triplet_key("2001:db8:1:2::/64", longer, longaddr, k2, sizeof(k2));
	is_str(k1, k2, "key 7: the hash is case-blind too");
	ok(strlen(k1) <= GL_KEY_MAX, "key 8: within GL_KEY_MAX");

	is_int(gl_triplet_key("192.0.2.0/24", "a@b", "c@d", tiny, sizeof(tiny)),
	    -1, "key 9: a buffer too small is an error");
	is_str(tiny, "", "key 9: and is left empty");

	is_int(gl_net_store_key("192.0.2.0/24", k1, sizeof(k1)), 0,
	    "key 10: network key made");
	is_str(k1, "n/192.0.2.0/24", "key 10: n/NET");
	is_int(gl_net_store_key("192.0.2.0/24", tiny, 8), -1,
	    "key 11: network key too long");
}

/* ---- recipients ------------------------------------------------------------ */

static void
test_rcpts(void)
{
	char *list[] = { "bob@example.org", "@example.net", "@Trail.example." };
	char buf[8];

	ok(gl_role_rcpt("postmaster@localhost"), "role 1: postmaster@");
	ok(gl_role_rcpt("PostMaster@example.org"), "role 2: any case");
	ok(gl_role_rcpt("postmaster"), "role 3: without a domain");
	ok(gl_role_rcpt("\"postmaster\"@x"), "role 4: quoted");
	ok(gl_role_rcpt("abuse@x"), "role 5: abuse@");
	ok(!gl_role_rcpt("postmasters@x"), "role 6: postmasters@ is not");
	ok(!gl_role_rcpt("alice@postmaster"), "role 7: a domain is not");
	ok(!gl_role_rcpt(""), "role 8: empty is not");

	ok(gl_rcpt_listed(list, NELEM(list), "Bob@Example.org"),
	    "list 1: an address, any case");
	ok(!gl_rcpt_listed(list, NELEM(list), "bob@example.org.uk"),
	    "list 2: not a longer one");
	ok(gl_rcpt_listed(list, NELEM(list), "anyone@EXAMPLE.net"),
	    "list 3: a domain");
	ok(!gl_rcpt_listed(list, NELEM(list), "anyone@sub.example.net"),
	    "list 4: not its subdomains");
	ok(gl_rcpt_listed(list, NELEM(list), "x@trail.example"),
	    "list 5: a trailing dot ignored");
	ok(!gl_rcpt_listed(list, NELEM(list), "example.net"),
	    "list 6: no '@', no domain");
	ok(!gl_rcpt_listed(list, 0, "bob@example.org"), "list 7: empty list");

	ok(gl_domain_ok("example.org"), "domain 1: example.org");
	ok(gl_domain_ok("example.org."), "domain 2: one trailing dot");
	ok(!gl_domain_ok(""), "domain 3: empty");
	ok(!gl_domain_ok("a..b"), "domain 4: empty label");
	ok(!gl_domain_ok(".a"), "domain 5: leading dot");
	ok(!gl_domain_ok("a b"), "domain 6: blank");
	ok(!gl_domain_ok("a@b"), "domain 7: '@'");
	ok(gl_domain_ok("\xe4\xbe\x8b.jp"), "domain 8: UTF-8 labels");

	is_int(gl_lower("ABC", buf, sizeof(buf)), 0, "lower 1");
	is_str(buf, "abc", "lower 1: text");
	is_int(gl_lower("ABCDEFGH", buf, sizeof(buf)), -1, "lower 2: too long");
	is_str(buf, "", "lower 2: never cut");
}

/* ---- records and verdicts --------------------------------------------------- */

static const struct {
	const char	*text;
	int		 state;		/* -1: refused */
	long long	 time;
} recs[] = {
	{ "w 1700000000", GL_WAIT, 1700000000 },
	{ "p 0", GL_PASS, 0 },
	{ "x 1", -1, 0 },
	{ "w", -1, 0 },
	{ "w ", -1, 0 },
	{ "w -5", -1, 0 },
	{ "w 12x", -1, 0 },
	{ "w  12", -1, 0 },
	{ "w 012", -1, 0 },
	{ "w +12", -1, 0 },
	{ "p 99999999999999999999999", -1, 0 },
	{ "", -1, 0 },
};

static void
test_records(void)
{
	struct gl_rec r;
	char out[GL_REC_MAX];
	size_t i;
	int n;

	for (i = 0; i < NELEM(recs); i++) {
		n = gl_rec_parse(recs[i].text, strlen(recs[i].text), &r);
		if (recs[i].state == -1) {
			ok(n == -1 && r.state == GL_NONE, "rec %zu: '%s' refused",
			    i, recs[i].text);
			continue;
		}
		ok(n == 0 && (int)r.state == recs[i].state &&
		    r.time == recs[i].time, "rec %zu: '%s' read", i,
		    recs[i].text);
		n = gl_rec_format(&r, out, sizeof(out));
		ok(n == (int)strlen(recs[i].text) && strcmp(out,
		    recs[i].text) == 0, "rec %zu: written back", i);
	}
	/* a value longer than any record (the store copies at most LEN) */
	is_int(gl_rec_parse("w 12\0\0003", 7, &r), -1, "rec: a NUL inside refused");
	is_int(gl_rec_parse("w 1234567890123456789012345678901234567890"
	    "1234567890123456789012345", 67, &r), -1, "rec: too long refused");
	r.state = GL_NONE;
	is_int(gl_rec_format(&r, out, sizeof(out)), -1, "rec: none is not written");
	r.state = GL_WAIT;
	r.time = 1700000000;
	is_int(gl_rec_format(&r, out, 5), -1, "rec: too small a buffer");
}

static const struct gl_times T = { 300, 2 * 86400, 35 * 86400 };
#define NOW	1700000000LL

static const struct {
	int		 state;
	long long	 time;		/* the record's */
	long long	 now;
	enum gl_verdict	 v;
	int		 nstate;
	long long	 ntime;
	long long	 wait;
} dec[] = {
	{ GL_NONE, 0, NOW, GL_NEW, GL_WAIT, NOW, 300 },
	{ GL_WAIT, NOW, NOW, GL_EARLY, GL_WAIT, NOW, 300 },
	{ GL_WAIT, NOW, NOW + 1, GL_EARLY, GL_WAIT, NOW, 299 },
	{ GL_WAIT, NOW, NOW + 299, GL_EARLY, GL_WAIT, NOW, 1 },
	{ GL_WAIT, NOW, NOW + 300, GL_PASSED, GL_PASS, NOW + 300, 0 },
	{ GL_WAIT, NOW, NOW + 3600, GL_PASSED, GL_PASS, NOW + 3600, 0 },
	{ GL_WAIT, NOW, NOW + 2 * 86400, GL_PASSED, GL_PASS, NOW + 2 * 86400, 0 },
	{ GL_WAIT, NOW, NOW + 2 * 86400 + 1, GL_RESTART, GL_WAIT,
	    NOW + 2 * 86400 + 1, 300 },
	{ GL_WAIT, NOW, NOW - 10, GL_RESTART, GL_WAIT, NOW - 10, 300 },
	{ GL_PASS, NOW, NOW + 86400, GL_KNOWN, GL_PASS, NOW + 86400, 0 },
	{ GL_PASS, NOW, NOW, GL_KNOWN, GL_PASS, NOW, 0 },
};

static void
test_decide(void)
{
	struct gl_rec r, next;
	long long wait;
	enum gl_verdict v;
	size_t i;

	for (i = 0; i < NELEM(dec); i++) {
		r.state = dec[i].state;
		r.time = dec[i].time;
		v = gl_decide(&r, dec[i].now, &T, &next, &wait);
		is_str(gl_verdict_name(v), gl_verdict_name(dec[i].v),
		    "decide %zu: verdict", i);
		ok(next.state == (enum gl_state)dec[i].nstate &&
		    next.time == dec[i].ntime, "decide %zu: next record %d %lld",
		    i, (int)next.state, next.time);
		is_int(wait, dec[i].wait, "decide %zu: retry in", i);
	}
	is_str(gl_verdict_name((enum gl_verdict)99), "?", "decide: unknown name");
}

static void
test_refresh(void)
{
	static const struct gl_times shortlived = { 60, 600, 1000 };

	is_int(gl_refresh_due(NOW, NOW, &T), 0, "refresh: just written");
	is_int(gl_refresh_due(NOW, NOW + GL_REFRESH - 1, &T), 0,
	    "refresh: not before GL_REFRESH");
	is_int(gl_refresh_due(NOW, NOW + GL_REFRESH, &T), 1,
	    "refresh: due at GL_REFRESH");
	is_int(gl_refresh_due(0, NOW, &T), 1, "refresh: a record without a time");
	is_int(gl_refresh_due(NOW, NOW - 1, &T), 1, "refresh: the clock went back");
	is_int(gl_refresh_due(NOW, NOW + 499, &shortlived), 0,
	    "refresh: short max_age, before half of it");
	is_int(gl_refresh_due(NOW, NOW + 500, &shortlived), 1,
	    "refresh: short max_age, at half of it");
}

int
main(void)
{
	plan_no_plan();
	test_net_key();
	test_cidr();
	test_triplet_key();
	test_rcpts();
	test_records();
	test_decide();
	test_refresh();
	return done_testing();
}
