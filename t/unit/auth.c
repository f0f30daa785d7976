/*
 * t/unit/auth.c - credential checks: SASL PLAIN splitting, login names
 * with local domains, passwords, APOP against the RFC 1939 example, CRAM-MD5 against the RFC 2195 example, and
 * the POP login record that POP before SMTP reads.
 *
 * The store lives in a fresh folder under $TMPDIR (default /tmp), removed at
 * the end; each account costs one scrypt run at the production cost.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "account.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "store.h"
#include "util.h"

static char dir[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
test_plain(void)
{
	char *z, *c, *p;
	char r1[] = "\0tim\0tanstaaf";
	char r2[] = "admin\0tim\0pass word";
	char r3[] = "tim\0tanstaaf";
	char r4[] = "\0\0pw";
	char r5[] = "\0tim\0";
	char r6[] = "\0tim\0pw\0x";
	char r7[] = "plain";

	is_int(auth_plain_decode(r1, sizeof(r1) - 1, &z, &c, &p), 0,
	    "PLAIN without authzid");
	ok(strcmp(z, "") == 0 && strcmp(c, "tim") == 0 &&
	    strcmp(p, "tanstaaf") == 0, "fields split");
	is_int(auth_plain_decode(r2, sizeof(r2) - 1, &z, &c, &p), 0,
	    "PLAIN with authzid");
	ok(strcmp(z, "admin") == 0 && strcmp(c, "tim") == 0 &&
	    strcmp(p, "pass word") == 0, "fields split, spaces kept");
	is_int(auth_plain_decode(r3, sizeof(r3) - 1, &z, &c, &p), -1,
	    "one NUL only: refused");
	is_int(auth_plain_decode(r4, sizeof(r4) - 1, &z, &c, &p), -1,
	    "empty authcid: refused");
	is_int(auth_plain_decode(r5, sizeof(r5) - 1, &z, &c, &p), -1,
	    "empty password: refused");
	is_int(auth_plain_decode(r6, sizeof(r6) - 1, &z, &c, &p), -1,
	    "three NULs: refused");
	is_int(auth_plain_decode(r7, sizeof(r7) - 1, &z, &c, &p), -1,
	    "no NUL: refused");
	is_int(auth_plain_decode(r7, 0, &z, &c, &p), -1, "empty: refused");
}

static struct config *
load_config(void)
{
	static char *defs[] = {
		"server.domain=example.org",
		"server.alias=alias.example, Other.Example",
		"smtp.subhost=sub.example",
	};
	struct config *cfg = NULL;
	struct errlist errs;

	errlist_init(&errs);
	if (config_load(&cfg, NULL, defs, 3, &errs) == -1) {
		errlist_print(&errs, stdout);
		exit(2);
	}
	errlist_free(&errs);
	return cfg;
}

static void
test_names(const struct config *cfg)
{
	static const struct {
		const char *login, *name;	/* NULL: not an account */
	} cases[] = {
		{ "tim", "tim" },
		{ "Tim", "tim" },
		{ "tim@example.org", "tim" },
		{ "tim@EXAMPLE.ORG", "tim" },
		{ "TIM@alias.example", "tim" },
		{ "tim@other.example", "tim" },
		{ "tim@sub.example", "tim" },
		{ "tim@elsewhere.example", NULL },
		{ "tim@", NULL },
		{ "@example.org", NULL },
		{ "", NULL },
		{ "a@b@example.org", NULL },
		{ "../etc", NULL },
		{ "..", NULL },
		{ "a/b", NULL },
		{ "tim smith", NULL },
		{ "1234567890123456789012345678901234567890123456789012345678901234",
		    "1234567890123456789012345678901234567890123456789012345678901234" },
		{ "12345678901234567890123456789012345678901234567890123456789012345",
		    NULL },
	};
	char out[ACCOUNT_NAME_MAX + 1];
	char longlogin[2000];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = auth_account_name(cfg, cases[i].login, out);
		if (cases[i].name == NULL)
			is_int(r, 0, "login \"%s\" names no account", cases[i].login);
		else {
			is_int(r, 1, "login \"%s\" names an account", cases[i].login);
			is_str(out, cases[i].name, "login \"%s\" is account %s",
			    cases[i].login, cases[i].name);
		}
	}
	memset(longlogin, 'a', sizeof(longlogin) - 1);
	longlogin[sizeof(longlogin) - 1] = '\0';
	is_int(auth_account_name(cfg, longlogin, out), 0,
	    "a 2000-byte login names no account");
}

static void
add_account(struct store *s, const char *name, const char *pw, int apop)
{
	struct account a;
	const char *why = NULL;

	memset(&a, 0, sizeof(a));
	str_copy(a.name, sizeof(a.name), name);
	a.apop = apop;
	if (account_set_password(&a, pw, &why) == -1 || account_put(s, &a) == -1) {
		diag("cannot add %s: %s", name, why ? why : "store");
		exit(2);
	}
}

static void
test_store(const struct config *cfg)
{
	static const char apop_stamp[] = "<1896.697170952@dbc.mtview.ca.us>";
	static const char cram_chal[] = "<1896.697170952@postoffice.reston.mci.net>";
	struct store *s = NULL;
	struct account a;
	const char *why = NULL;
	struct store_txn *txn;
	long long expires = 0, now;
	struct buf v;
	char want[64];

	if (store_open(&s, dir, &why) == -1) {
		diag("store_open: %s", why);
		exit(2);
	}
	add_account(s, "mrose", "tanstaaf", 1);		/* RFC 1939 §7 */
	add_account(s, "tim", "tanstaaftanstaaf", 1);	/* RFC 2195 §2 */
	add_account(s, "plain", "secret word", 0);

	/* passwords */
	memset(&a, 0, sizeof(a));
	is_int(auth_password(cfg, s, "plain", "secret word", &a), 1,
	    "right password");
	is_str(a.name, "plain", "account filled in");
	is_int(auth_password(cfg, s, "PLAIN@Example.Org", "secret word", &a), 1,
	    "right password with a local domain, any case");
	is_int(auth_password(cfg, s, "plain@elsewhere.example", "secret word",
	    &a), 0, "foreign domain: refused");
	is_int(auth_password(cfg, s, "plain", "secret Word", &a), 0,
	    "wrong password");
	is_int(auth_password(cfg, s, "plain", "", &a), 0, "empty password");
	is_int(auth_password(cfg, s, "nobody", "secret word", &a), 0,
	    "no such account: the same 0");
	is_int(auth_password(cfg, s, "tim", "tanstaaftanstaaf", &a), 1,
	    "apop account logs in with its password too");

	/* APOP, RFC 1939 §7 */
	memset(&a, 0, sizeof(a));
	is_int(auth_apop(cfg, s, "mrose", apop_stamp,
	    "c4c9334bac560ecc979e58001b3e22fb", &a), 1, "APOP RFC 1939 example");
	is_str(a.name, "mrose", "APOP fills the account");
	is_int(auth_apop(cfg, s, "mrose", apop_stamp,
	    "C4C9334BAC560ECC979E58001B3E22FB", &a), 1, "APOP digest in upper case");
	is_int(auth_apop(cfg, s, "mrose@example.org", apop_stamp,
	    "c4c9334bac560ecc979e58001b3e22fb", &a), 1, "APOP with a local domain");
	is_int(auth_apop(cfg, s, "mrose", "<1896.697170953@dbc.mtview.ca.us>",
	    "c4c9334bac560ecc979e58001b3e22fb", &a), 0, "APOP other timestamp");
	is_int(auth_apop(cfg, s, "mrose", apop_stamp,
	    "c4c9334bac560ecc979e58001b3e22fa", &a), 0, "APOP wrong digest");
	is_int(auth_apop(cfg, s, "mrose", apop_stamp,
	    "c4c9334bac560ecc979e58001b3e22f", &a), 0, "APOP short digest");
	is_int(auth_apop(cfg, s, "mrose", apop_stamp,
	    "c4c9334bac560ecc979e58001b3e22fb0", &a), 0, "APOP long digest");
	is_int(auth_apop(cfg, s, "mrose", apop_stamp,
	    "c4c9334bac560ecc979e58001b3e22fg", &a), 0, "APOP non-hex digest");
	is_int(auth_apop(cfg, s, "nobody", apop_stamp,
	    "c4c9334bac560ecc979e58001b3e22fb", &a), 0, "APOP no such account");
	/* md5("<stamp>secret word") for the account without a kept secret */
	is_int(auth_apop(cfg, s, "plain", apop_stamp,
	    "00000000000000000000000000000000", &a), 0,
	    "APOP for an account that keeps no secret: 0");

	/* CRAM-MD5, RFC 2195 §2 */
	memset(&a, 0, sizeof(a));
	is_int(auth_cram_md5(cfg, s, cram_chal,
	    "tim b913a602c7eda7a495b4e6e7334d3890", &a), 1,
	    "CRAM-MD5 RFC 2195 example");
	is_str(a.name, "tim", "CRAM-MD5 fills the account");
	is_int(auth_cram_md5(cfg, s, cram_chal,
	    "tim@sub.example B913A602C7EDA7A495B4E6E7334D3890", &a), 1,
	    "CRAM-MD5 with a local domain and upper-case digest");
	is_int(auth_cram_md5(cfg, s, "<1@x>",
	    "tim b913a602c7eda7a495b4e6e7334d3890", &a), 0,
	    "CRAM-MD5 other challenge");
	is_int(auth_cram_md5(cfg, s, cram_chal,
	    "timb913a602c7eda7a495b4e6e7334d3890", &a), 0, "CRAM-MD5 no space");
	is_int(auth_cram_md5(cfg, s, cram_chal,
	    " b913a602c7eda7a495b4e6e7334d3890", &a), 0, "CRAM-MD5 no login");
	is_int(auth_cram_md5(cfg, s, cram_chal,
	    "plain b913a602c7eda7a495b4e6e7334d3890", &a), 0,
	    "CRAM-MD5 for an account that keeps no secret: 0");
	is_int(auth_cram_md5(cfg, s, cram_chal,
	    "nobody b913a602c7eda7a495b4e6e7334d3890", &a), 0,
	    "CRAM-MD5 no such account");

	/* the login record */
	now = time_now();
	is_int(auth_record_login(cfg, s, "tim", "192.0.2.7"), 0,
	    "record a POP login");
	buf_init(&v, 0);
	is_int(store_get(s, STORE_META, "login/tim", 9, &v), 1,
	    "login/tim written");
	snprintf(want, sizeof(want), ",192.0.2.7");
	ok(v.len > strlen(want) && strcmp(v.data + v.len - strlen(want), want) == 0 &&
	    strtoll(v.data, NULL, 10) >= now && strtoll(v.data, NULL, 10) <= now + 5,
	    "login/tim is SECONDS,IP (%s)", buf_cstr(&v));
	if (store_txn_begin(s, 1, &txn) == 0) {
		is_int(store_tget(txn, STORE_META, "popip/192.0.2.7", 15, &v,
		    &expires), 1, "popip/IP written");
		is_str(buf_cstr(&v), "tim", "popip/IP names the account");
		/* default pop_befor_smtp_time_to_live: 30 minutes */
		ok(expires >= now + 1800 && expires <= now + 1805,
		    "popip/IP expires after the POP-before-SMTP window (%lld)",
		    expires - now);
		store_txn_abort(&txn);
	}
	buf_free(&v);
	store_close(&s);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct config *cfg;

	plan_no_plan();
	test_plain();
	cfg = load_config();
	test_names(cfg);
	snprintf(dir, sizeof(dir), "%s/yubin-auth-XXXXXX", tmp && *tmp ? tmp :
	    "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_store(cfg);
	config_free(&cfg);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
