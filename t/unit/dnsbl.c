/*
 * t/unit/dnsbl.c - the pure part of the dnsbl plugin
 * (plugins/dnsbl/dbzone.c) without a server: the names asked for IPv4
 * and IPv6 clients (RFC 5782 §2.1, §2.4), the words of `zones` (weights,
 * filters, bad names and numbers), what an A answer means, the score
 * against the threshold (allow-list zones, failures), the TXT reason made
 * printable and bounded, the cache record, and the role recipients.
 * Numbered, table-driven cases; a failure names its case.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../plugins/dnsbl/dnsbl.h"
#include "../lib/tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the names asked ------------------------------------------------------ */

static const struct {
	const char	*ip;
	const char	*zone;
	const char	*name;		/* NULL: refused */
} names[] = {
	{ "127.0.0.2", "bl.test", "2.0.0.127.bl.test" },
	{ "192.0.2.99", "zen.example", "99.2.0.192.zen.example" },
	{ "::ffff:198.51.100.7", "z.test", "7.100.51.198.z.test" },
	/* RFC 5782 §2.4's example */
	{ "2001:db8:1:2:3:4:567:89ab", "ugly.example",
	    "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2"
	    ".ugly.example" },
	{ "::1", "bl.test",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
	    ".bl.test" },
	{ "2001:DB8::FF", "bl.test",
	    "f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".bl.test" },
};

static void
test_names(void)
{
	char out[DNSQ_NAME_MAX + 1], zone[DB_ZONE_MAX + 2], small[12];
	struct pu_ip ip;
	size_t i;

	for (i = 0; i < NELEM(names); i++) {
		if (!ok(pu_ip_parse(names[i].ip, &ip) == 0, "name %zu: %s parses",
		    i, names[i].ip))
			continue;
		ok(db_query_name(&ip, names[i].zone, out, sizeof(out)) == 0,
		    "name %zu: built", i);
		is_str(out, names[i].name, "name %zu: %s in %s", i, names[i].ip,
		    names[i].zone);
	}
	/* the longest zone still fits an IPv6 name, one byte more does not */
	memset(zone, 'a', DB_ZONE_MAX);
	for (i = 63; i < DB_ZONE_MAX; i += 64)
		zone[i] = '.';
	zone[DB_ZONE_MAX] = '\0';
	pu_ip_parse("2001:db8::1", &ip);
	ok(db_query_name(&ip, zone, out, sizeof(out)) == 0 &&
	    strlen(out) == DNSQ_NAME_MAX, "IPv6 in a zone of %d bytes: %zu",
	    DB_ZONE_MAX, strlen(out));
	zone[DB_ZONE_MAX] = 'a';
	zone[DB_ZONE_MAX + 1] = '\0';
	ok(db_query_name(&ip, zone, out, sizeof(out)) == -1 && out[0] == '\0',
	    "IPv6 in a zone one byte longer: refused, never cut");
	pu_ip_parse("192.0.2.1", &ip);
	ok(db_query_name(&ip, "bl.test", small, sizeof(small)) == -1 &&
	    small[0] == '\0', "no room: refused");
	ip.family = 5;
	ok(db_query_name(&ip, "bl.test", out, sizeof(out)) == -1,
	    "an unknown family: refused");
}

/* ---- zones ---------------------------------------------------------------- */

static const struct {
	const char	*word;
	const char	*name;		/* NULL: refused */
	long		 weight;
	const char	*filter;	/* "" none */
} zones[] = {
	{ "bl.test", "bl.test", 1, "" },
	{ "BL.Test.", "bl.test", 1, "" },
	{ "zen.spamhaus.org=2", "zen.spamhaus.org", 2, "" },
	{ "list.dnswl.org=-5", "list.dnswl.org", -5, "" },
	{ "a_b-c.test=+3", "a_b-c.test", 3, "" },
	{ "bl.test=1000", "bl.test", 1000, "" },
	{ "bl.test=-1000", "bl.test", -1000, "" },
	{ "bl.test=127.0.0.2", "bl.test", 1, "127.0.0.2" },
	{ "bl.test=127.0.0.4*3", "bl.test", 3, "127.0.0.4" },
	{ "wl.test=127.0.2.1*-2", "wl.test", -2, "127.0.2.1" },
	{ "bl.test=0", NULL, 0, "" },
	{ "bl.test=1001", NULL, 0, "" },
	{ "bl.test=-1001", NULL, 0, "" },
	{ "bl.test=", NULL, 0, "" },
	{ "bl.test=x", NULL, 0, "" },
	{ "bl.test= 2", NULL, 0, "" },
	{ "bl.test=2x", NULL, 0, "" },
	{ "bl.test=99999999999999999999", NULL, 0, "" },
	{ "bl.test=10.0.0.2", NULL, 0, "" },
	{ "bl.test=127.0.0", NULL, 0, "" },
	{ "bl.test=127.0.0.2*", NULL, 0, "" },
	{ "bl.test=127.0.0.2*0", NULL, 0, "" },
	{ "bl.test=127.0.0.2x", NULL, 0, "" },
	{ "=2", NULL, 0, "" },
	{ "", NULL, 0, "" },
	{ ".", NULL, 0, "" },
	{ "bl..test", NULL, 0, "" },
	{ ".bl.test", NULL, 0, "" },
	{ "bl.test..", NULL, 0, "" },
	{ "bl test", NULL, 0, "" },
	{ "bl.t\xc3\xa9st", NULL, 0, "" },
	{ "bl/test", NULL, 0, "" },
};

static void
test_zones(void)
{
	struct db_zone z;
	const char *why;
	char filter[32], long_zone[DB_ZONE_MAX + 8];
	size_t i;
	int r;

	for (i = 0; i < NELEM(zones); i++) {
		why = NULL;
		r = db_zone_parse(zones[i].word, &z, &why);
		if (zones[i].name == NULL) {
			ok(r == -1 && why != NULL, "zone %zu: '%s' refused (%s)",
			    i, zones[i].word, why ? why : "no reason");
			continue;
		}
		if (!ok(r == 0, "zone %zu: '%s' taken", i, zones[i].word)) {
			diag("%s", why ? why : "");
			continue;
		}
		is_str(z.name, zones[i].name, "zone %zu: name", i);
		is_int(z.weight, zones[i].weight, "zone %zu: weight", i);
		if (z.has_filter)
			snprintf(filter, sizeof(filter), "%u.%u.%u.%u",
			    z.filter[0], z.filter[1], z.filter[2], z.filter[3]);
		else
			filter[0] = '\0';
		is_str(filter, zones[i].filter, "zone %zu: filter", i);
	}
	memset(long_zone, 'a', sizeof(long_zone));
	for (i = 60; i < DB_ZONE_MAX; i += 61)
		long_zone[i] = '.';
	long_zone[DB_ZONE_MAX] = '\0';
	ok(db_zone_parse(long_zone, &z, &why) == 0, "a zone of %d bytes",
	    DB_ZONE_MAX);
	long_zone[DB_ZONE_MAX] = 'a';
	long_zone[DB_ZONE_MAX + 1] = '\0';
	ok(db_zone_parse(long_zone, &z, &why) == -1, "one byte more: refused");
	memset(long_zone, 'a', 64);
	long_zone[64] = '\0';
	ok(db_zone_parse(long_zone, &z, &why) == -1, "a label of 64 bytes");
}

/* ---- answers -------------------------------------------------------------- */

static const struct {
	const char	*zone;
	const char	*a[3];		/* the A records, NULL ends */
	enum db_hit	 hit;
	const char	*addr;		/* DB_LISTED: the listing */
} answers[] = {
	{ "bl.test", { "127.0.0.2" }, DB_LISTED, "127.0.0.2" },
	{ "bl.test", { "127.0.0.10" }, DB_LISTED, "127.0.0.10" },
	{ "bl.test", { "127.1.2.3" }, DB_LISTED, "127.1.2.3" },
	{ "bl.test", { "127.0.0.1" }, DB_BOGUS, NULL },
	{ "bl.test", { "127.255.255.254" }, DB_BOGUS, NULL },
	{ "bl.test", { "127.255.255.252" }, DB_BOGUS, NULL },
	{ "bl.test", { "192.0.2.1" }, DB_BOGUS, NULL },
	{ "bl.test", { "10.0.0.2", "127.0.0.3" }, DB_LISTED, "127.0.0.3" },
	{ "bl.test", { "127.0.0.1", "127.0.0.4" }, DB_LISTED, "127.0.0.4" },
	{ "bl.test", { NULL }, DB_CLEAN, NULL },
	{ "bl.test=127.0.0.4", { "127.0.0.2" }, DB_CLEAN, NULL },
	{ "bl.test=127.0.0.4", { "127.0.0.2", "127.0.0.4" }, DB_LISTED,
	    "127.0.0.4" },
	{ "bl.test=127.0.0.4", { "192.0.2.4" }, DB_BOGUS, NULL },
	{ "bl.test=127.0.0.1", { "127.0.0.1" }, DB_BOGUS, NULL },
};

static void
test_answers(void)
{
	struct dnsq_ip ips[3];
	struct dnsq_ans ans;
	struct db_zone z;
	const char *why;
	unsigned char addr[4];
	char got[32];
	size_t i, j;
	enum db_hit hit;

	for (i = 0; i < NELEM(answers); i++) {
		if (db_zone_parse(answers[i].zone, &z, &why) == -1)
			abort();
		memset(&ans, 0, sizeof(ans));
		memset(ips, 0, sizeof(ips));
		ans.ip = ips;
		for (j = 0; j < 3 && answers[i].a[j] != NULL; j++) {
			ips[j].family = AF_INET;
			if (inet_pton(AF_INET, answers[i].a[j], ips[j].addr) != 1)
				abort();
			ans.n++;
		}
		memset(addr, 0, sizeof(addr));
		hit = db_classify(&z, &ans, addr);
		is_int(hit, answers[i].hit, "answer %zu: %s %s", i,
		    answers[i].zone, answers[i].a[0] ? answers[i].a[0] : "none");
		if (answers[i].addr == NULL)
			continue;
		snprintf(got, sizeof(got), "%u.%u.%u.%u", addr[0], addr[1],
		    addr[2], addr[3]);
		is_str(got, answers[i].addr, "answer %zu: the listing", i);
	}
	/* an AAAA record among them is not an IPv4 listing */
	db_zone_parse("bl.test", &z, &why);
	memset(ips, 0, sizeof(ips));
	ips[0].family = AF_INET6;
	ips[0].addr[0] = 127;
	ans.ip = ips;
	ans.n = 1;
	is_int(db_classify(&z, &ans, addr), DB_CLEAN, "an IPv6 record: clean");
}

/* ---- the score ------------------------------------------------------------ */

static const struct {
	const char	*zones[4];	/* NULL ends */
	enum db_state	 st[4];
	long		 threshold;
	enum db_verdict	 v;
	long		 score;
} scores[] = {
	{ { "a.test" }, { DB_ST_LISTED }, 1, DB_REJECT, 1 },
	{ { "a.test" }, { DB_ST_CLEAN }, 1, DB_PASS, 0 },
	{ { "a.test" }, { DB_ST_FAILED }, 1, DB_PASS, 0 },
	/* two zones of weight 1, threshold 2 */
	{ { "a.test", "b.test" }, { DB_ST_LISTED, DB_ST_CLEAN }, 2, DB_PASS, 1 },
	{ { "a.test", "b.test" }, { DB_ST_LISTED, DB_ST_LISTED }, 2,
	    DB_REJECT, 2 },
	{ { "a.test", "b.test" }, { DB_ST_LISTED, DB_ST_FAILED }, 2, DB_PASS, 1 },
	/* an allow-list zone cancels */
	{ { "a.test", "wl.test=-1" }, { DB_ST_LISTED, DB_ST_LISTED }, 1,
	    DB_PASS, 0 },
	{ { "a.test", "wl.test=-1" }, { DB_ST_LISTED, DB_ST_CLEAN }, 1,
	    DB_REJECT, 1 },
	/* a failed allow-list zone might have cancelled: never refused */
	{ { "a.test", "wl.test=-1" }, { DB_ST_LISTED, DB_ST_FAILED }, 1,
	    DB_UNSURE, 1 },
	/* a failed block zone could only have added: refused */
	{ { "a.test=3", "b.test" }, { DB_ST_LISTED, DB_ST_FAILED }, 3,
	    DB_REJECT, 3 },
	{ { "a.test=3", "b.test=2", "wl.test=-4" },
	    { DB_ST_LISTED, DB_ST_LISTED, DB_ST_LISTED }, 2, DB_PASS, 1 },
	{ { "a.test=3", "b.test=2", "wl.test=-4", "c.test" },
	    { DB_ST_LISTED, DB_ST_LISTED, DB_ST_LISTED, DB_ST_LISTED }, 2,
	    DB_REJECT, 2 },
};

static void
test_scores(void)
{
	struct db_zone z[4];
	const char *why;
	size_t i, n;
	long score;
	enum db_verdict v;

	for (i = 0; i < NELEM(scores); i++) {
		for (n = 0; n < 4 && scores[i].zones[n] != NULL; n++)
			if (db_zone_parse(scores[i].zones[n], &z[n], &why) == -1)
				abort();
		score = -99;
		v = db_decide(z, scores[i].st, n, scores[i].threshold, &score);
		is_int(v, scores[i].v, "score %zu: verdict", i);
		is_int(score, scores[i].score, "score %zu: score", i);
	}
}

/* ---- reasons -------------------------------------------------------------- */

static const struct {
	const char	*txt;
	size_t		 len;		/* 0: strlen */
	const char	*want;
} reasons[] = {
	{ "Listed; see https://bl.test/q?ip=127.0.0.2",
	    0, "Listed; see https://bl.test/q?ip=127.0.0.2" },
	{ "  two  words\t\there  ", 0, "two words here" },
	{ "line\r\n550 5.7.1 injected", 0, "line 550 5.7.1 injected" },
	{ "caf\xc3\xa9 \x7f\x01" "bell", 0, "caf bell" },
	{ "nul\0inside", 10, "nul inside" },
	{ "", 0, "" },
	{ "\r\n\t ", 0, "" },
	{ "%s %n %%", 0, "%s %n %%" },
};

static void
test_reasons(void)
{
	char out[DB_REASON_MAX + 4], big[1000], small[12];
	size_t i, n;

	for (i = 0; i < NELEM(reasons); i++) {
		n = db_reason(reasons[i].txt, reasons[i].len ? reasons[i].len :
		    strlen(reasons[i].txt), out, sizeof(out));
		is_str(out, reasons[i].want, "reason %zu", i);
		is_int(n, strlen(out), "reason %zu: its length", i);
	}
	memset(big, 'x', sizeof(big));
	n = db_reason(big, sizeof(big), out, sizeof(out));
	ok(n == DB_REASON_MAX + 3 && strlen(out) == n &&
	    strcmp(out + DB_REASON_MAX, "...") == 0,
	    "a long TXT: %d bytes and \"...\" (%zu)", DB_REASON_MAX, n);
	n = db_reason(big, DB_REASON_MAX, out, sizeof(out));
	ok(n == DB_REASON_MAX && strchr(out, '.') == NULL,
	    "exactly %d bytes: not cut", DB_REASON_MAX);
	n = db_reason(big, sizeof(big), small, sizeof(small));
	ok(n == sizeof(small) - 1 && strcmp(small + 8, "...") == 0,
	    "a small buffer: cut to fit with \"...\" ('%s')", small);
}

/* ---- the cache record ----------------------------------------------------- */

static void
test_records(void)
{
	static const char *const bad[] = {
		"", "x", "cc", "c ", "l", "l ", "l 127.0.0.2", "l 10.0.0.2 x",
		"l 127.0.0 x", "l 127.0.0.2x x", "L 127.0.0.2 x",
		"l 127.0.0.2 tab\there",
	};
	unsigned char addr[4] = { 127, 0, 0, 2 }, got[4];
	char rec[DB_REC_MAX], reason[DB_REASON_MAX + 4], tiny[4];
	size_t i;
	int n, listed;

	n = db_rec_format(0, addr, "", rec, sizeof(rec));
	is_str(rec, "c", "record: clean");
	ok(db_rec_parse(rec, (size_t)n, &listed, got, reason,
	    sizeof(reason)) == 0 && !listed, "clean read back");
	n = db_rec_format(1, addr, "see https://bl.test/", rec, sizeof(rec));
	is_str(rec, "l 127.0.0.2 see https://bl.test/", "record: listed");
	ok(db_rec_parse(rec, (size_t)n, &listed, got, reason,
	    sizeof(reason)) == 0 && listed && memcmp(got, addr, 4) == 0 &&
	    strcmp(reason, "see https://bl.test/") == 0, "listed read back");
	n = db_rec_format(1, addr, "", rec, sizeof(rec));
	ok(db_rec_parse(rec, (size_t)n, &listed, got, reason,
	    sizeof(reason)) == 0 && listed && reason[0] == '\0',
	    "listed without a reason read back ('%s')", rec);
	ok(db_rec_format(1, addr, "a reason", tiny, sizeof(tiny)) == -1,
	    "no room: refused");
	n = db_rec_format(1, addr, "a reason", rec, sizeof(rec));
	ok(db_rec_parse(rec, (size_t)n, &listed, got, tiny, sizeof(tiny)) == -1,
	    "a reason that does not fit: not a record");
	for (i = 0; i < NELEM(bad); i++)
		ok(db_rec_parse(bad[i], strlen(bad[i]), &listed, got, reason,
		    sizeof(reason)) == -1 && !listed, "bad record %zu: '%s'",
		    i, bad[i]);
	ok(db_rec_parse("c\0", 2, &listed, got, reason, sizeof(reason)) == -1,
	    "a NUL after c: not a record");
}

/* ---- role recipients ------------------------------------------------------ */

static void
test_roles(void)
{
	static const struct {
		const char	*rcpt;
		int		 role;
	} roles[] = {
		{ "postmaster@localhost", 1 }, { "PostMaster@example.org", 1 },
		{ "postmaster", 1 }, { "abuse@localhost", 1 },
		{ "\"abuse\"@localhost", 1 }, { "ABUSE", 1 },
		{ "alice@localhost", 0 }, { "postmaster2@localhost", 0 },
		{ "abuse.desk@localhost", 0 }, { "x@postmaster", 0 },
		{ "", 0 }, { "\"\"@localhost", 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(roles); i++)
		is_int(db_role_rcpt(roles[i].rcpt), roles[i].role, "role %zu: %s",
		    i, roles[i].rcpt);
}

int
main(void)
{
	plan_no_plan();
	test_names();
	test_zones();
	test_answers();
	test_scores();
	test_reasons();
	test_records();
	test_roles();
	return done_testing();
}
