/*
 * t/unit/spf_suite.c - SPF (plugins/mailauth/spf.c) against a struct dnsq
 * answering from zone tables.
 *
 * Run alone (by prove) it checks its own cases: RFC 7208 §7.4's macro
 * examples, the limits of §4.6.4, loops, bad records and DNS failures.
 * Run as "spf_suite.t --suite" it reads zone data and cases as lines from
 * stdin (t/proto/spf_rfc7208.t writes them from the RFC 7208 test suite)
 * and prints one result line per case; the caller compares.  Fields are
 * separated by tabs, with \t \n \\ and \xHH escapes:
 *   R                          forget the zone
 *   Z NAME TYPE VALUE          a record (A AAAA MX PTR TXT CNAME; MX value
 *                              "PREF NAME"; TIMEOUT: VALUE the type that
 *                              times out, "" for all)
 *   C ID IP MAILFROM HELO      a case; prints "ID<TAB>RESULT<TAB>EXPLANATION"
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../lib/tap.h"
#include "../../plugins/mailauth/spf.h"

/* the core's resolver accessor: no network in this program */
int	yh_dns_server(struct sockaddr_storage *ss, socklen_t *len);

int
yh_dns_server(struct sockaddr_storage *ss, socklen_t *len)
{
	(void)ss;
	(void)len;
	return -1;
}

#define T_CNAME		5
#define T_TIMEOUT	-1
#define T_PERM		-2	/* answers DNSQ_PERM (an oversized answer) */

struct zrec {
	char	*name;
	int	 type;
	char	*val;
	size_t	 vlen;
};

static struct zrec *zone;
static size_t nzone;
static char last_q[DNSQ_NAME_MAX + 1];	/* the last name asked */

static void
zone_reset(void)
{
	size_t i;

	for (i = 0; i < nzone; i++) {
		free(zone[i].name);
		free(zone[i].val);
	}
	free(zone);
	zone = NULL;
	nzone = 0;
}

static int
type_of(const char *s)
{
	static const struct { const char *n; int t; } types[] = {
		{ "A", DNSQ_A }, { "AAAA", DNSQ_AAAA }, { "MX", DNSQ_MX },
		{ "PTR", DNSQ_PTR }, { "TXT", DNSQ_TXT }, { "CNAME", T_CNAME },
		{ "TIMEOUT", T_TIMEOUT }, { "PERM", T_PERM },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].n) == 0)
			return types[i].t;
	return 0;
}

static void
zone_add(const char *name, const char *type, const char *val, size_t vlen)
{
	struct zrec *z;
	size_t nl = strlen(name);

	zone = realloc(zone, (nzone + 1) * sizeof(*zone));
	if (zone == NULL)
		abort();
	z = &zone[nzone++];
	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	z->name = strndup(name, nl);
	z->type = type_of(type);
	z->val = malloc(vlen + 1);
	if (z->name == NULL || z->val == NULL)
		abort();
	memcpy(z->val, val, vlen);
	z->val[vlen] = '\0';
	z->vlen = vlen;
}

static int
name_is(const char *zname, const char *name)
{
	size_t l = strlen(name);

	if (l > 0 && name[l - 1] == '.')
		l--;
	return strlen(zname) == l && strncasecmp(zname, name, l) == 0;
}

static int
ans_add(struct dnsq_ans *a, const struct zrec *z, enum dnsq_type type,
    unsigned *pref)
{
	size_t n = a->n;
	char *sp;

	if (type == DNSQ_A || type == DNSQ_AAAA) {
		a->ip = realloc(a->ip, (n + 1) * sizeof(*a->ip));
		a->ip[n].family = type == DNSQ_A ? AF_INET : AF_INET6;
		if (inet_pton(a->ip[n].family, z->val, a->ip[n].addr) != 1)
			return DNSQ_PERM;
	} else {
		a->str = realloc(a->str, (n + 1) * sizeof(*a->str));
		a->len = realloc(a->len, (n + 1) * sizeof(*a->len));
		if (type == DNSQ_MX) {
			pref[n] = (unsigned)strtoul(z->val, &sp, 10);
			a->str[n] = strdup(*sp == ' ' ? sp + 1 : sp);
		} else
			a->str[n] = strndup(z->val, z->vlen);
		a->len[n] = z->vlen;
		if (type == DNSQ_TXT) {
			a->str[n] = realloc(a->str[n], z->vlen + 1);
			memcpy(a->str[n], z->val, z->vlen + 1);
		}
	}
	a->n++;
	return DNSQ_OK;
}

/* zone_lookup - struct dnsq's lookup from the table, following CNAMEs */
static int
zone_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *a)
{
	unsigned pref[DNSQ_RR_MAX + 1], tp;
	const char *cur = name;
	size_t i, j;
	int hops = 0, seen, typed, found;
	char *ts;

	(void)q;
	snprintf(last_q, sizeof(last_q), "%s", name);
again:
	seen = typed = found = 0;
	for (i = 0; i < nzone; i++) {
		if (!name_is(zone[i].name, cur))
			continue;
		seen = 1;
		if (zone[i].type == T_PERM)
			return DNSQ_PERM;
		if (zone[i].type == T_TIMEOUT && (zone[i].vlen == 0 ?
		    !typed : type_of(zone[i].val) == (int)type))
			return DNSQ_TEMP;
		if (zone[i].type == T_CNAME && !found) {
			if (++hops > DNSQ_CNAME_MAX)
				return DNSQ_PERM;
			cur = zone[i].val;
			goto again;
		}
		if (zone[i].type != (int)type)
			continue;
		typed = 1;
		if (a->n == DNSQ_RR_MAX) {
			dnsq_ans_free(a);
			return DNSQ_PERM;
		}
		if (ans_add(a, &zone[i], type, pref) != DNSQ_OK) {
			dnsq_ans_free(a);
			return DNSQ_PERM;
		}
		found = 1;
	}
	if (type == DNSQ_MX)
		for (i = 1; i < a->n; i++)
			for (j = i; j > 0 && pref[j] < pref[j - 1]; j--) {
				tp = pref[j]; pref[j] = pref[j - 1]; pref[j - 1] = tp;
				ts = a->str[j]; a->str[j] = a->str[j - 1];
				a->str[j - 1] = ts;
			}
	if (a->n > 0)
		return DNSQ_OK;
	return seen ? DNSQ_NODATA : DNSQ_NXDOMAIN;
}

static void
zone_dnsq(struct dnsq *q)
{
	memset(q, 0, sizeof(*q));
	q->lookup = zone_lookup;
	q->timeout_ms = 1000;
}

static int
set_ip(struct dnsq_ip *ip, const char *text)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, text, ip->addr) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, ip->addr) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* ---- the line format -------------------------------------------------- */

/* unescape - S in place; its new length */
static size_t
unescape(char *s)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] != '\\' || s[i + 1] == '\0') {
			s[o++] = s[i];
			continue;
		}
		i++;
		if (s[i] == 't')
			s[o++] = '\t';
		else if (s[i] == 'n')
			s[o++] = '\n';
		else if (s[i] == 'x' && sscanf(s + i + 1, "%2x", &v) == 1) {
			s[o++] = (char)v;
			i += 2;
		} else
			s[o++] = s[i];
	}
	s[o] = '\0';
	return o;
}

static void
put_escaped(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			printf("\\x%02x", (unsigned char)*s);
		else
			putchar(*s);
	}
}

static int
run_suite(void)
{
	char line[65536], *f[8], *p;
	size_t nf, vlen;
	struct spf_request r;
	struct spf_outcome out;
	struct dnsq q;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (nf = 0, p = line; nf < 8; nf++) {
			f[nf] = p;
			if ((p = strchr(p, '\t')) == NULL) {
				nf++;
				break;
			}
			*p++ = '\0';
		}
		if (nf == 1 && strcmp(f[0], "R") == 0)
			zone_reset();
		else if (nf == 4 && strcmp(f[0], "Z") == 0) {
			unescape(f[1]);
			vlen = unescape(f[3]);
			zone_add(f[1], f[2], f[3], vlen);
		} else if (nf == 5 && strcmp(f[0], "C") == 0) {
			unescape(f[3]);
			unescape(f[4]);
			memset(&r, 0, sizeof(r));
			if (set_ip(&r.ip, f[2]) == -1) {
				printf("%s\tbadip\t\n", f[1]);
				continue;
			}
			r.sender = f[3];
			r.helo = f[4];
			r.receiver = "receiver.test";
			r.now = 1700000000;
			zone_dnsq(&q);
			spf_check(&q, &r, &out);
			printf("%s\t%s\t", f[1], spf_result_name(out.result));
			put_escaped(out.explanation);
			printf("\n");
			fflush(stdout);
		} else {
			fprintf(stderr, "spf_suite: bad line\n");
			return 2;
		}
	}
	zone_reset();
	return 0;
}

/* ---- this program's own cases ----------------------------------------- */

/* check - one case: RECORDS ("name|TYPE|value" lines) as the zone */
static void
check(const char *records, const char *ip, const char *sender,
    const char *helo, enum spf_result want, const char *name)
{
	char buf[16384], *line, *save, *t, *v;
	struct spf_request r;
	struct spf_outcome out;
	struct dnsq q;

	zone_reset();
	snprintf(buf, sizeof(buf), "%s", records);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		t = strchr(line, '|');
		v = t ? strchr(t + 1, '|') : NULL;
		if (v == NULL)
			abort();
		*t++ = '\0';
		*v++ = '\0';
		zone_add(line, t, v, strlen(v));
	}
	memset(&r, 0, sizeof(r));
	if (set_ip(&r.ip, ip) == -1)
		abort();
	r.sender = sender;
	r.helo = helo;
	r.receiver = "mx.receiver.test";
	r.now = 1700000000;
	zone_dnsq(&q);
	spf_check(&q, &r, &out);
	if (!ok(out.result == want, "%s: %s", name, spf_result_name(want)))
		diag("got %s (%s)", spf_result_name(out.result), out.problem);
}

/* expands - exists:MACRO asks for WANT (the zone answers every name) */
static void
expands(const char *macro, const char *ip, const char *sender,
    const char *want)
{
	char rec[512];
	struct spf_request r;
	struct spf_outcome out;
	struct dnsq q;

	zone_reset();
	snprintf(rec, sizeof(rec), "v=spf1 exists:%s -all", macro);
	zone_add("email.example.com", "TXT", rec, strlen(rec));
	memset(&r, 0, sizeof(r));
	set_ip(&r.ip, ip);
	r.sender = sender;
	r.helo = "helo.example.org";
	zone_dnsq(&q);
	last_q[0] = '\0';
	spf_check(&q, &r, &out);
	if (!ok(strcmp(last_q, want) == 0, "%s expands to %s", macro, want))
		diag("asked for %s", last_q);
}

static void
test_macros(void)
{
	static const struct { const char *m, *want; } ex[] = {
		{ "%{s}.x.test", "strong-bad@email.example.com.x.test" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}.x.test", "com.x.test" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}.x.test", "strong-bad.x.test" },
		{ "%{l-}.x.test", "strong.bad.x.test" },
		{ "%{lr}.x.test", "strong-bad.x.test" },
		{ "%{lr-}.x.test", "bad.strong.x.test" },
		{ "%{l1r-}.x.test", "strong.x.test" },
		{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net",
		    "example.com.trusted-domains.example.net" },
		{ "%{h}", "helo.example.org" },
		{ "%{L}.x.test", "strong-bad.x.test" },
		{ "a%%b%_c%-d.x.test", "a%b c%20d.x.test" },
	};
	size_t i;

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		expands(ex[i].m, "192.0.2.3", "strong-bad@email.example.com",
		    ex[i].want);
	expands("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01",
	    "strong-bad@email.example.com", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	expands("%{S}.x.test", "192.0.2.3", "a b@email.example.com",
	    "a%20b%40email.example.com.x.test");
	/* a name longer than 253 loses labels on the left (§4.8) */
	expands("%{l}.%{l}.%{l}.%{l}.%{l}.%{d}", "192.0.2.3",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@email.example.com",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "email.example.com");
}

static void
test_record_check(void)
{
	static const char *const good[] = {
		"v=spf1", "v=spf1 ", "V=SPF1 -all", "v=spf1 a mx ptr -all",
		"v=spf1 a:x.test/24//64 mx/0 ip4:192.0.2.0/24 ip6:::1/128",
		"v=spf1 include:_spf.x.test ~all", "v=spf1 exists:%{i}.x.test",
		"v=spf1 redirect=x.test", "v=spf1 exp=e.x.test -all",
		"v=spf1 foo=bar -all", "v=spf1 a:%{d}", "v=spf1 ?all  +a",
		"v=spf1 exists:x%%%%", "v=spf1 exists:x%_", "v=spf1 a:%{d}.x.",
	};
	static const char *const bad[] = {
		"", "v=spf", "v=spf1x", "v=spf10", "spf1", "v=spf1 -all.",
		"v=spf1 all:x", "v=spf1 all/8", "v=spf1 ip4:1.2.3.4/33",
		"v=spf1 ip4:1.2.3", "v=spf1 ip6:::1/129", "v=spf1 ip4:",
		"v=spf1 a:x.test/024", "v=spf1 a//129", "v=spf1 include:",
		"v=spf1 include", "v=spf1 exists", "v=spf1 a:foo",
		"v=spf1 a:1.2.3.4", "v=spf1 a:x.-test", "v=spf1 redirect=",
		"v=spf1 -redirect=x.test", "v=spf1 redirect:x.test",
		"v=spf1 redirect=a.test redirect=b.test",
		"v=spf1 exp=a.test exp=b.test", "v=spf1 a:%{x}.test",
		"v=spf1 a:%{d0}.test", "v=spf1 a:%{c}.test", "v=spf1 a:%",
		"v=spf1 a:%{d", "v=spf1 foo:bar", "v=spf1 1foo=bar",
		"v=spf1 a\tmx", "v=spf1 a:\x80x.test", "v=spf1 =x",
		"v=spf1 ptr/0", "v=spf1 -", "v=spf1 exists:x%%%", "v=spf1 a:x.",
		"v=spf1 a:%{d}.",
	};
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(spf_record_check(good[i], strlen(good[i]), why,
		    sizeof(why)) == 0, "record \"%s\" well-formed", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(spf_record_check(bad[i], strlen(bad[i]), why,
		    sizeof(why)) == -1 && why[0] != '\0',
		    "record \"%s\" refused (%s)", bad[i], why);
	ok(spf_record_check("v=spf1 a\0b", 10, why, sizeof(why)) == -1,
	    "a NUL byte refused");
}

static void
test_eval(void)
{
	char big[8192], rec[4096];
	size_t i, o;

	check("x.test|TXT|v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.9",
	    "a@x.test", "h.test", SPF_PASS, "ip4 /24");
	check("x.test|TXT|v=spf1 ip4:192.0.2.0/24 -all", "192.0.3.9",
	    "a@x.test", "h.test", SPF_FAIL, "ip4 outside");
	check("x.test|TXT|v=spf1 ~all", "192.0.3.9", "a@x.test", "h.test",
	    SPF_SOFTFAIL, "softfail");
	check("x.test|TXT|v=spf1", "192.0.3.9", "a@x.test", "h.test",
	    SPF_NEUTRAL, "empty record neutral");
	check("x.test|TXT|other", "192.0.3.9", "a@x.test", "h.test",
	    SPF_NONE, "no SPF record");
	check("", "192.0.3.9", "a@x.test", "h.test", SPF_NONE, "nxdomain");
	check("x.test|TXT|v=spf1 -all\nx.test|TXT|v=spf1 +all", "192.0.3.9",
	    "a@x.test", "h.test", SPF_PERMERROR, "two SPF records");
	check("x.test|TXT|v=spf1 a:bad_ +all", "192.0.3.9", "a@x.test",
	    "h.test", SPF_PERMERROR, "malformed record");
	check("x.test|TXT|v=spf1 +all moo", "192.0.3.9", "a@x.test",
	    "h.test", SPF_PERMERROR, "error after a match");
	check("x.test|TIMEOUT|", "192.0.3.9", "a@x.test", "h.test",
	    SPF_TEMPERROR, "TXT timeout");
	check("x.test|PERM|", "192.0.3.9", "a@x.test", "h.test",
	    SPF_PERMERROR, "oversized TXT answer");
	check("x.test|TXT|v=spf1 a:y.test -all\ny.test|TIMEOUT|", "192.0.3.9",
	    "a@x.test", "h.test", SPF_TEMPERROR, "a timeout");
	check("x.test|TXT|v=spf1 include:x.test -all", "192.0.3.9",
	    "a@x.test", "h.test", SPF_PERMERROR, "include loop");
	check("x.test|TXT|v=spf1 redirect=y.test\n"
	    "y.test|TXT|v=spf1 redirect=x.test", "192.0.3.9", "a@x.test",
	    "h.test", SPF_PERMERROR, "redirect loop");
	check("x.test|TXT|v=spf1 include:none.test -all\nnone.test|A|1.2.3.4",
	    "192.0.3.9", "a@x.test", "h.test", SPF_PERMERROR,
	    "include of a domain with no record");
	check("x.test|TXT|v=spf1 redirect=none.test", "192.0.3.9",
	    "a@x.test", "h.test", SPF_PERMERROR, "redirect to no record");
	check("x.test|TXT|v=spf1 include:y.test -all\n"
	    "y.test|TXT|v=spf1 ip4:192.0.3.9", "192.0.3.9", "a@x.test",
	    "h.test", SPF_PASS, "include pass");
	check("x.test|TXT|v=spf1 include:y.test ?all\n"
	    "y.test|TXT|v=spf1 -all", "192.0.3.9", "a@x.test",
	    "h.test", SPF_NEUTRAL, "include fail does not match");
	check("x.test|TXT|v=spf1 redirect=y.test\n"
	    "y.test|TXT|v=spf1 -all", "192.0.3.9", "a@x.test",
	    "h.test", SPF_FAIL, "redirect result");
	/* 10 DNS terms pass, the 11th is permerror */
	for (i = 0, o = 0; i < 10; i++)
		o += (size_t)snprintf(rec + o, sizeof(rec) - o,
		    "%sa:h%zu.x.test", i ? " " : "v=spf1 ", i);
	snprintf(big, sizeof(big), "x.test|TXT|%s ip4:192.0.3.9 -all\n"
	    "h0.x.test|A|10.0.0.1\nh1.x.test|A|10.0.0.1\nh2.x.test|A|10.0.0.1\n"
	    "h3.x.test|A|10.0.0.1\nh4.x.test|A|10.0.0.1\nh5.x.test|A|10.0.0.1\n"
	    "h6.x.test|A|10.0.0.1\nh7.x.test|A|10.0.0.1\nh8.x.test|A|10.0.0.1\n"
	    "h9.x.test|A|10.0.0.1\nh10.x.test|A|10.0.0.1", rec);
	check(big, "192.0.3.9", "a@x.test", "h.test", SPF_PASS,
	    "10 DNS terms");
	snprintf(big, sizeof(big), "x.test|TXT|%s a:h10.x.test "
	    "ip4:192.0.3.9 -all\nh0.x.test|A|10.0.0.1\nh1.x.test|A|10.0.0.1\n"
	    "h2.x.test|A|10.0.0.1\nh3.x.test|A|10.0.0.1\nh4.x.test|A|10.0.0.1\n"
	    "h5.x.test|A|10.0.0.1\nh6.x.test|A|10.0.0.1\nh7.x.test|A|10.0.0.1\n"
	    "h8.x.test|A|10.0.0.1\nh9.x.test|A|10.0.0.1\nh10.x.test|A|10.0.0.1",
	    rec);
	check(big, "192.0.3.9", "a@x.test", "h.test", SPF_PERMERROR,
	    "11 DNS terms");
	check("x.test|TXT|v=spf1 a:n1.x.test a:n2.x.test ip4:192.0.3.9",
	    "192.0.3.9", "a@x.test", "h.test", SPF_PASS, "2 void lookups");
	check("x.test|TXT|v=spf1 a:n1.x.test a:n2.x.test a:n3.x.test "
	    "ip4:192.0.3.9", "192.0.3.9", "a@x.test", "h.test",
	    SPF_PERMERROR, "3 void lookups");
	/* 11 MX names: permerror */
	for (i = 0, o = 0; i < 11; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
		    "x.test|MX|%zu m%zu.x.test\n", i, i);
	snprintf(big + o, sizeof(big) - o, "x.test|TXT|v=spf1 mx -all\n"
	    "m10.x.test|A|192.0.3.9");
	check(big, "192.0.3.9", "a@x.test", "h.test", SPF_PERMERROR,
	    "11 MX names");
	check("x.test|TXT|v=spf1 mx -all\nx.test|MX|10 m.x.test\n"
	    "m.x.test|A|192.0.3.9", "192.0.3.9", "a@x.test", "h.test",
	    SPF_PASS, "mx match");
	/* PTR: only the first 10 names are looked at */
	for (i = 0, o = 0; i < 11; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
		    "9.3.0.192.in-addr.arpa|PTR|p%zu.x.test\n", i);
	snprintf(big + o, sizeof(big) - o, "x.test|TXT|v=spf1 ptr -all\n"
	    "p10.x.test|A|192.0.3.9");
	check(big, "192.0.3.9", "a@x.test", "h.test", SPF_FAIL,
	    "the 11th PTR name is ignored");
	check("x.test|TXT|v=spf1 ptr -all\n9.3.0.192.in-addr.arpa|PTR|p.x.test"
	    "\np.x.test|A|192.0.3.9", "192.0.3.9", "a@x.test", "h.test",
	    SPF_PASS, "ptr match");
	check("h.test|TXT|v=spf1 ip4:192.0.3.9 -all", "192.0.3.9", "",
	    "h.test", SPF_PASS, "HELO identity for <>");
	check("", "192.0.3.9", "", "nodot", SPF_NONE, "HELO not a domain");
	check("x.test|TXT|v=spf1 exists:%{l}.l.x.test -all\n"
	    "postmaster.l.x.test|A|127.0.0.2", "192.0.3.9", "@x.test", "h.test",
	    SPF_PASS, "no local-part: postmaster");
	check("x.test|TXT|v=spf1 a -all\nx.test|CNAME|y.test\n"
	    "y.test|CNAME|x.test", "192.0.3.9", "a@x.test", "h.test",
	    SPF_PERMERROR, "CNAME loop");
	check("x.test|TXT|v=spf1 ip6:2001:db8::/32 -all", "2001:db8::1",
	    "a@x.test", "h.test", SPF_PASS, "ip6");
	check("x.test|TXT|v=spf1 ip4:192.0.3.9 -all", "::ffff:192.0.3.9",
	    "a@x.test", "h.test", SPF_PASS, "IPv4-mapped client as IPv4");
	memset(big, 'a', 8000);
	memcpy(big, "x.test|TXT|v=spf1 a:", 20);
	snprintf(big + 8000, 64, ".x.test -all");
	check(big, "192.0.3.9", "a@x.test", "h.test", SPF_PERMERROR,
	    "a huge label in a record");
}

static void
test_explanation(void)
{
	struct spf_request r;
	struct spf_outcome out;
	struct dnsq q;
	const char *rec = "v=spf1 -all exp=e.x.test";
	const char *txt = "%{l} of %{o} from %{c} (%{r}) %{t}: see "
	    "http://%{d}/why?s=%{S}";

	zone_reset();
	zone_add("x.test", "TXT", rec, strlen(rec));
	zone_add("e.x.test", "TXT", txt, strlen(txt));
	memset(&r, 0, sizeof(r));
	set_ip(&r.ip, "2001:db8::1");
	r.sender = "joe@x.test";
	r.helo = "h.test";
	r.receiver = "mx.test";
	r.now = 1234;
	zone_dnsq(&q);
	spf_check(&q, &r, &out);
	is_int(out.result, SPF_FAIL, "fail with exp");
	is_str(out.explanation, "joe of x.test from 2001:db8::1 (mx.test) "
	    "1234: see http://x.test/why?s=joe%40x.test", "exp text expanded");
	is_str(out.mechanism, "-all", "the matching mechanism");
	is_str(out.identity, "mailfrom", "identity");
	is_str(out.domain, "x.test", "domain");
	zone_add("e.x.test", "TXT", "two", 3);
	spf_check(&q, &r, &out);
	is_str(out.explanation, "", "two exp records: no explanation");
	is_str(spf_result_name(SPF_SOFTFAIL), "softfail", "result name");
	is_str(spf_result_name(SPF_TEMPERROR), "temperror", "result name 2");
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--suite") == 0)
		return run_suite();
	plan_no_plan();
	test_record_check();
	test_macros();
	test_eval();
	test_explanation();
	zone_reset();
	return done_testing();
}
