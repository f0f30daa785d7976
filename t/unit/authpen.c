/*
 * t/unit/authpen.c - the login penalty's arithmetic against a real LMDB in
 * a fresh folder under $TMPDIR: the delay doubles from the base to the
 * cap, a record is forgotten after the quiet time, a repeated wrong secret
 * does not escalate, an IPv6 client counts by its /64 (an IPv4-mapped one
 * as IPv4), the account penalty never delays a correct login, a correct
 * login forgives its address only for the account that failed there, the
 * state survives closing and reopening the store (a worker restart), and
 * base 0 turns it all off.  The clock is passed in, so nothing sleeps.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "../lib/tmpstore.h"
#include "authpen.h"
#include "buf.h"
#include "store.h"
#include "util.h"

/* "now": the real clock, for LMDB's own expiry of a record (now + the
 * forget time) compares with it; the tests move forward from it */
static long long T0;

static char dir[256];
static const struct authpen_conf conf = { .base = 2, .cap = 15, .forget = 3600 };

/* tag - the tag of (LOGIN, PW). */
static const unsigned char *
tag(struct store *s, const char *login, const char *pw)
{
	static unsigned char t[4][AUTHPEN_TAG_LEN];
	static int i;

	i = (i + 1) % 4;
	if (authpen_tag(s, login, pw, strlen(pw), t[i]) == -1)
		diag("authpen_tag failed");
	return t[i];
}

static void
test_delay(void)
{
	static const long long want[] = { 0, 2, 4, 8, 15, 15, 15 };
	struct authpen_conf off = conf, one = { 1, 60, 3600 };
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_int(authpen_delay(&conf, (long long)i), want[i],
		    "delay of %zu failures", i);
	is_int(authpen_delay(&conf, 1000), 15, "delay of 1000 failures: the cap");
	is_int(authpen_delay(&one, 6), 32, "base 1: 1, 2, 4, 8, 16, 32");
	is_int(authpen_delay(&one, 7), 60, "base 1: then the cap of 60");
	off.base = 0;
	is_int(authpen_delay(&off, 5), 0, "base 0: no delay");
}

static void
test_ip_key(void)
{
	static const struct {
		const char *ip, *want;
	} cases[] = {
		{ "127.0.0.1", "ip4/127.0.0.1" },
		{ "::ffff:192.0.2.7", "ip4/192.0.2.7" },
		{ "2001:db8:1:2:3:4:5:6", "ip6/2001:db8:1:2::/64" },
		{ "2001:db8:1:2:ffff:ffff:ffff:ffff", "ip6/2001:db8:1:2::/64" },
		{ "2001:DB8:1:3::1", "ip6/2001:db8:1:3::/64" },
		{ "::1", "ip6/::/64" },
		{ "fe80::1", "ip6/fe80::/64" },
	};
	static const char *const bad[] = { "local", "", "1.2.3", "1.2.3.4.5",
		"2001:db8::1::2", "example.org", "127.0.0.1 " };
	char out[AUTHPEN_KEY_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out[0] = '\0';
		ok(authpen_ip_key(cases[i].ip, out, sizeof(out)) == 0,
		    "ip key of %s", cases[i].ip);
		is_str(out, cases[i].want, "ip key of %s", cases[i].ip);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(authpen_ip_key(bad[i], out, sizeof(out)), -1,
		    "'%s' is no address", bad[i]);
	is_int(authpen_ip_key("2001:db8:1:2::1", out, 8), -1,
	    "a short buffer is refused, not truncated");
}

static void
test_escalation(struct store *s)
{
	struct authpen_state st;
	long long now = T0;
	int i;
	static const long long want[] = { 2, 4, 8, 15, 15 };

	for (i = 0; i < 5; i++) {
		char pw[32];

		snprintf(pw, sizeof(pw), "guess%d", i);
		ok(authpen_fail(s, &conf, "192.0.2.1", "alice",
		    tag(s, "alice", pw), now + i, &st) == 0, "failure %d recorded", i + 1);
		is_int(st.ip_count, i + 1, "failure %d: address count", i + 1);
		is_int(st.acct_count, i + 1, "failure %d: account count", i + 1);
		is_int(st.delay, want[i], "failure %d: delay", i + 1);
		is_int(st.repeat, 0, "failure %d: a new secret", i + 1);
	}

	/* the same wrong password again: no escalation, still the delay */
	ok(authpen_fail(s, &conf, "192.0.2.1", "alice", tag(s, "alice", "guess4"),
	    now + 10, &st) == 0, "repeat recorded");
	is_int(st.ip_count, 5, "repeat: address count unchanged");
	is_int(st.acct_count, 5, "repeat: account count unchanged");
	is_int(st.repeat, 1, "repeat: recognised");
	is_int(st.delay, 15, "repeat: still answered after the penalty");
	ok(authpen_fail(s, &conf, "192.0.2.1", "alice", tag(s, "alice", "guess2"),
	    now + 11, &st) == 0 && st.ip_count == 5 && st.repeat == 1,
	    "one of the last three wrong passwords: no escalation");
	ok(authpen_fail(s, &conf, "192.0.2.1", "alice", tag(s, "alice", "guess1"),
	    now + 12, &st) == 0 && st.ip_count == 6 && st.repeat == 0,
	    "the fourth last: escalates");
	/* the same password for another login is another pair */
	ok(authpen_fail(s, &conf, "192.0.2.1", "bob", tag(s, "bob", "guess4"),
	    now + 13, &st) == 0, "spray: same password, other account");
	is_int(st.ip_count, 7, "spray: the address escalates");
	is_int(st.acct_count, 1, "spray: bob's own count");
	is_int(st.delay, 15, "spray: the address's delay");

	/* the account penalty never delays a correct login from elsewhere */
	ok(authpen_ok(s, &conf, "198.51.100.9", "alice", now + 14, &st) == 0,
	    "correct login from another address");
	is_int(st.acct_count, 6, "other address: the account is penalised");
	is_int(st.delay, 0, "other address: not slowed");
	ok(authpen_peek(s, &conf, "192.0.2.1", "alice", now + 14, &st) == 0 &&
	    st.ip_count == 7, "the guessing address is still penalised");

	/* a correct login to the guesser's own account forgives nothing */
	ok(authpen_ok(s, &conf, "192.0.2.1", "mallory", now + 15, &st) == 0,
	    "guesser logs into his own account");
	is_int(st.delay, 15, "own account: answered after the address's penalty");
	is_int(st.forgiven, 0, "own account: nothing forgiven");
	ok(authpen_peek(s, &conf, "192.0.2.1", NULL, now + 15, &st) == 0 &&
	    st.ip_count == 7, "own account: the address keeps its count");

	/* forgotten after the quiet time, not before */
	ok(authpen_peek(s, &conf, "192.0.2.1", "alice", now + 12 + 3599, &st) == 0
	    && st.ip_count == 7 && st.acct_count == 6,
	    "one second before the forget time: remembered");
	ok(authpen_peek(s, &conf, "192.0.2.1", "alice", now + 13 + 3600, &st) == 0
	    && st.ip_count == 0 && st.acct_count == 0 && st.delay == 0,
	    "at the forget time: forgotten");
	ok(authpen_fail(s, &conf, "192.0.2.1", "alice", tag(s, "alice", "guess9"),
	    now + 13 + 3600, &st) == 0 && st.ip_count == 1 && st.acct_count == 1
	    && st.delay == 2, "after the forget time: starts again at the base");
	ok(authpen_fail(s, &conf, "192.0.2.1", "alice", tag(s, "alice", "guess4"),
	    now + 13 + 3601, &st) == 0 && st.ip_count == 2 && st.repeat == 0,
	    "a forgotten record forgot its passwords too");
}

static void
test_forgive(struct store *s)
{
	struct authpen_state st;
	long long now = T0 + 100000;

	ok(authpen_fail(s, &conf, "203.0.113.5", "carol", tag(s, "carol", "typo"),
	    now, &st) == 0 && st.ip_count == 1, "carol mistypes");
	ok(authpen_ok(s, &conf, "203.0.113.5", "carol", now + 1, &st) == 0,
	    "then gets it right");
	is_int(st.delay, 2, "the right one waits the address's penalty");
	is_int(st.forgiven, 1, "and forgives the address");
	ok(authpen_peek(s, &conf, "203.0.113.5", "carol", now + 2, &st) == 0 &&
	    st.ip_count == 0 && st.acct_count == 1,
	    "address clear, the account record stays (it only slows failures)");
	ok(authpen_ok(s, &conf, "203.0.113.5", "carol", now + 3, &st) == 0 &&
	    st.delay == 0, "the next correct login is not slowed");
}

static void
test_ipv6(struct store *s)
{
	struct authpen_state st;
	long long now = T0 + 200000;

	ok(authpen_fail(s, &conf, "2001:db8:5:6::1", NULL, tag(s, "x", "a"), now,
	    &st) == 0 && st.ip_count == 1 && st.acct_count == 0,
	    "IPv6 failure, no account");
	ok(authpen_fail(s, &conf, "2001:db8:5:6:aaaa:bbbb:cccc:dddd", NULL,
	    tag(s, "x", "b"), now, &st) == 0 && st.ip_count == 2,
	    "another address of the same /64 shares the count");
	ok(authpen_peek(s, &conf, "2001:db8:5:7::1", NULL, now, &st) == 0 &&
	    st.ip_count == 0, "the next /64 is another client");
	ok(authpen_fail(s, &conf, "::ffff:192.0.2.200", NULL, tag(s, "x", "c"),
	    now, &st) == 0 && st.ip_count == 1, "IPv4-mapped failure");
	ok(authpen_peek(s, &conf, "192.0.2.200", NULL, now, &st) == 0 &&
	    st.ip_count == 1, "counts for the IPv4 address");
	ok(authpen_fail(s, &conf, "local", "dave", tag(s, "dave", "c"), now,
	    &st) == 0 && st.ip_count == 1 && st.acct_count == 1,
	    "no address (local socket): counted as one client");
	ok(authpen_fail(s, &conf, "local", "frank", tag(s, "frank", "c"), now,
	    &st) == 0 && st.ip_count == 2 && st.acct_count == 1,
	    "every local client is that one client");
	ok(authpen_fail(s, &conf, NULL, "frank", tag(s, "frank", "d"), now,
	    &st) == 0 && st.ip_count == 0 && st.acct_count == 2,
	    "no client at all: only the account counts");
}

static void
test_restart(void)
{
	struct authpen_state st;
	struct store *s;
	struct buf b;
	struct authpen_conf off = conf;
	long long now = T0 + 300000;

	s = tmpstore_open(dir);
	ok(authpen_fail(s, &conf, "192.0.2.77", "erin", tag(s, "erin", "p1"),
	    now, &st) == 0 && authpen_fail(s, &conf, "192.0.2.77", "erin",
	    tag(s, "erin", "p2"), now, &st) == 0 && st.ip_count == 2,
	    "two failures before the restart");
	store_close(&s);
	s = tmpstore_open(dir);
	ok(authpen_peek(s, &conf, "192.0.2.77", "erin", now + 1, &st) == 0 &&
	    st.ip_count == 2 && st.acct_count == 2 && st.delay == 4,
	    "after reopening the store: still there");
	ok(authpen_fail(s, &conf, "192.0.2.77", "erin", tag(s, "erin", "p2"),
	    now + 2, &st) == 0 && st.repeat == 1 && st.ip_count == 2,
	    "and the last wrong password is still known");
	buf_init(&b, 0);
	ok(store_get(s, STORE_META, "authpen/key", 11, &b) == 1 && b.len == 32,
	    "the tag key is kept in the store");
	buf_free(&b);

	off.base = 0;
	ok(authpen_fail(s, &off, "192.0.2.78", "erin", tag(s, "erin", "p3"),
	    now + 3, &st) == 0 && st.delay == 0 && st.ip_count == 0,
	    "base 0: nothing recorded, no delay");
	ok(authpen_peek(s, &conf, "192.0.2.78", NULL, now + 3, &st) == 0 &&
	    st.ip_count == 0, "base 0: the address has no record");
	store_close(&s);
}

int
main(void)
{
	struct store *s;

	plan_no_plan();
	T0 = time_now();
	if (tmpstore_make(dir, sizeof(dir), "yubin-authpen") == -1)
		return 2;
	test_delay();
	test_ip_key();
	s = tmpstore_open(dir);
	test_escalation(s);
	test_forgive(s);
	test_ipv6(s);
	store_close(&s);
	test_restart();
	tmpstore_remove(dir);
	return done_testing();
}
