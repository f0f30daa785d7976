/*
 * t/unit/addr.c - the RFC 5321 path parser and the local-domain logic
 * (lib/addr.c), table-driven.  Each case is numbered; a failure names
 * its number.
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/tap.h"

#include "account.h"
#include "addr.h"
#include "config.h"
#include "store.h"
#include "util.h"

struct pcase {
	int	 n;
	enum addr_kind kind;
	int	 utf8_ok;		/* RCPT: the transaction has SMTPUTF8 */
	const char *arg;
	int	 code;			/* 0: accepted */
	const char *enh;		/* expected enhanced code when refused */
	const char *addr;		/* expected addr when accepted */
	const char *domain;
	long long size;
	int	 body;
	int	 smtputf8;
	const char *text;		/* substring of the error text, or NULL */
};

#define OK_MAIL(n, arg, addr, dom)	{ n, ADDR_MAIL, 0, arg, 0, NULL, addr, dom, -1, 0, 0, NULL }
#define OK_RCPT(n, arg, addr, dom)	{ n, ADDR_RCPT, 0, arg, 0, NULL, addr, dom, -1, 0, 0, NULL }
#define BAD(n, k, arg, code, enh, text)	{ n, k, 0, arg, code, enh, NULL, NULL, -1, 0, 0, text }

static char L65[80], LOCAL64[80], DOM255[300], D256[sizeof(DOM255) + 1], P257[sizeof(DOM255) + 16];


static const struct pcase pcases[] = {
	/* plain paths */
	OK_MAIL(1, "FROM:<alice@example.org>", "alice@example.org", "example.org"),
	OK_MAIL(2, "from:<alice@example.org>", "alice@example.org", "example.org"),
	OK_MAIL(3, "FROM: <alice@example.org>", "alice@example.org", "example.org"),
	OK_MAIL(4, "FROM:   <a@b.c>", "a@b.c", "b.c"),
	OK_MAIL(5, "FROM:<>", "", ""),
	OK_RCPT(6, "TO:<bob@Example.ORG>", "bob@Example.ORG", "Example.ORG"),
	OK_RCPT(7, "TO:<postmaster>", "postmaster", ""),
	OK_RCPT(8, "To:<PostMaster>", "PostMaster", ""),
	OK_RCPT(9, "TO:<\"john doe\"@example.org>", "\"john doe\"@example.org", "example.org"),
	OK_RCPT(10, "TO:<\"a>b\"@example.org>", "\"a>b\"@example.org", "example.org"),
	OK_RCPT(11, "TO:<\"a\\\"b\"@example.org>", "\"a\\\"b\"@example.org", "example.org"),
	OK_RCPT(12, "TO:<@relay.example,@r2.example:carol@example.org>",
	    "carol@example.org", "example.org"),
	OK_RCPT(13, "TO:<user@[192.0.2.1]>", "user@[192.0.2.1]", "[192.0.2.1]"),
	OK_RCPT(14, "TO:<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]",
	    "[IPv6:2001:db8::1]"),
	OK_RCPT(15, "TO:<taro..yamada.@docomo.ne.jp>", "taro..yamada.@docomo.ne.jp",
	    "docomo.ne.jp"),
	OK_RCPT(16, "TO:<a+tag@sub_domain.example>", "a+tag@sub_domain.example",
	    "sub_domain.example"),
	OK_RCPT(17, "TO:<x@example.org>   ", "x@example.org", "example.org"),
	OK_MAIL(18, "  FROM:<x@example.org>", "x@example.org", "example.org"),
	OK_RCPT(19, "TO:<!#$%&'*+-/=?^_`{|}~@example.org>",
	    "!#$%&'*+-/=?^_`{|}~@example.org", "example.org"),

	/* missing keyword, brackets */
	BAD(30, ADDR_MAIL, "<a@b.c>", 501, "5.5.4", "Syntax"),
	BAD(31, ADDR_MAIL, "TO:<a@b.c>", 501, "5.5.4", "Syntax"),
	BAD(32, ADDR_RCPT, "FROM:<a@b.c>", 501, "5.5.4", "Syntax"),
	BAD(33, ADDR_MAIL, "FROM:a@b.c", 501, "5.5.2", "<>"),
	BAD(34, ADDR_RCPT, "TO:a@b.c", 501, "5.5.2", "<>"),
	BAD(35, ADDR_RCPT, "TO:<a@b.c", 501, "5.5.2", "missing '>'"),
	BAD(36, ADDR_RCPT, "TO:<a@b.c>x", 501, "5.5.2", "junk"),
	BAD(37, ADDR_RCPT, "TO:", 501, "5.5.2", NULL),
	BAD(38, ADDR_MAIL, "FROM", 501, "5.5.4", NULL),
	BAD(39, ADDR_RCPT, "TO:<\"a@b.c>", 501, "5.5.2", NULL),

	/* null path, missing domain */
	BAD(40, ADDR_RCPT, "TO:<>", 501, "5.1.3", "null recipient"),
	BAD(41, ADDR_MAIL, "FROM:<alice>", 501, "5.1.7", "no domain"),
	BAD(42, ADDR_RCPT, "TO:<alice>", 501, "5.1.3", "no domain"),
	BAD(43, ADDR_RCPT, "TO:<alice@>", 501, "5.1.3", "malformed domain"),
	BAD(44, ADDR_RCPT, "TO:<@example.org>", 501, "5.1.3", "source route"),

	/* bad local parts and domains */
	BAD(50, ADDR_RCPT, "TO:<a b@example.org>", 501, "5.1.3", "local part"),
	BAD(51, ADDR_RCPT, "TO:<a(b)@example.org>", 501, "5.1.3", "local part"),
	BAD(52, ADDR_RCPT, "TO:<\"\"@example.org>", 501, "5.1.3", "local part"),
	BAD(53, ADDR_RCPT, "TO:<\"a\rb\"@example.org>", 501, "5.1.3", "local part"),
	BAD(54, ADDR_RCPT, "TO:<a@exa mple.org>", 501, "5.1.3", "domain"),
	BAD(55, ADDR_RCPT, "TO:<a@example..org>", 501, "5.1.3", "domain"),
	BAD(56, ADDR_RCPT, "TO:<a@.example.org>", 501, "5.1.3", "domain"),
	BAD(57, ADDR_RCPT, "TO:<a@example.org.>", 501, "5.1.3", "domain"),
	BAD(58, ADDR_RCPT, "TO:<a@[300.1.1.1]>", 501, "5.1.3", "domain"),
	BAD(59, ADDR_RCPT, "TO:<a@[tag:stuff]>", 501, "5.1.3", "domain"),
	BAD(60, ADDR_MAIL, "FROM:<a@b@c>", 501, "5.1.7", "domain"),
	BAD(61, ADDR_RCPT, "TO:<a@ex\x01mple.org>", 501, "5.1.3", "domain"),
	BAD(62, ADDR_RCPT, "TO:<@a.example,b.example:c@d.example>", 501, "5.1.3",
	    "source route"),
	BAD(63, ADDR_RCPT, "TO:<a@b.c\r>", 501, "5.1.3", "domain"),

	/* parameters */
	{ 70, ADDR_MAIL, 0, "FROM:<a@b.c> SIZE=12345", 0, NULL, "a@b.c", "b.c",
	    12345, 0, 0, NULL },
	{ 71, ADDR_MAIL, 0, "FROM:<a@b.c> size=0 body=8bitmime", 0, NULL, "a@b.c",
	    "b.c", 0, ADDR_BODY_8BITMIME, 0, NULL },
	{ 72, ADDR_MAIL, 0, "FROM:<a@b.c> BODY=7BIT", 0, NULL, "a@b.c", "b.c",
	    -1, ADDR_BODY_7BIT, 0, NULL },
	{ 73, ADDR_MAIL, 0, "FROM:<a@b.c> SMTPUTF8", 0, NULL, "a@b.c", "b.c",
	    -1, 0, 1, NULL },
	{ 74, ADDR_MAIL, 0, "FROM:<a@b.c>  AUTH=<>  SIZE=99999999999999999999",
	    0, NULL, "a@b.c", "b.c", LLONG_MAX, 0, 0, NULL },
	{ 75, ADDR_MAIL, 0, "FROM:<> BODY=8BITMIME SMTPUTF8 SIZE=1", 0, NULL, "",
	    "", 1, ADDR_BODY_8BITMIME, 1, NULL },
	BAD(76, ADDR_MAIL, "FROM:<a@b.c> FOO=bar", 555, "5.5.4", "unsupported parameter FOO"),
	BAD(77, ADDR_RCPT, "TO:<a@b.c> ENVID=x", 555, "5.5.4", "unsupported parameter ENVID"),
	BAD(78, ADDR_RCPT, "TO:<a@b.c> SIZE=10", 555, "5.5.4", "unsupported parameter"),
	BAD(79, ADDR_MAIL, "FROM:<a@b.c> SIZE=", 501, "5.5.4", "malformed parameter value"),
	BAD(80, ADDR_MAIL, "FROM:<a@b.c> SIZE=12a", 501, "5.5.4", "SIZE"),
	BAD(81, ADDR_MAIL, "FROM:<a@b.c> SIZE=1 SIZE=2", 501, "5.5.4", "duplicate"),
	BAD(82, ADDR_MAIL, "FROM:<a@b.c> BODY=BINARYMIME", 501, "5.5.4", "BODY"),
	BAD(83, ADDR_MAIL, "FROM:<a@b.c> SMTPUTF8=yes", 501, "5.5.4", "SMTPUTF8"),
	BAD(84, ADDR_MAIL, "FROM:<a@b.c> =x", 501, "5.5.4", "malformed parameter"),
	BAD(85, ADDR_MAIL, "FROM:<a@b.c> S_Z=1", 501, "5.5.4", "malformed parameter"),
	BAD(86, ADDR_MAIL, "FROM:<a@b.c> SIZE=1=2", 501, "5.5.4", "malformed"),
	BAD(87, ADDR_MAIL, "FROM:<a@b.c> A B C D E F G H I J K L M N O P Q",
	    501, "5.5.4", "too many parameters"),
	BAD(88, ADDR_MAIL, "FROM:<a@b.c> SIZE=123456789012345678901", 501, "5.5.4", "SIZE"),

	/* SMTPUTF8 (RFC 6531) */
	BAD(90, ADDR_MAIL, "FROM:<\xe5\xa4\xaa\xe9\x83\x8e@example.jp>", 553, "5.6.7", "SMTPUTF8"),
	{ 91, ADDR_MAIL, 0, "FROM:<\xe5\xa4\xaa\xe9\x83\x8e@example.jp> SMTPUTF8", 0,
	    NULL, "\xe5\xa4\xaa\xe9\x83\x8e@example.jp", "example.jp", -1, 0, 1, NULL },
	{ 92, ADDR_RCPT, 1, "TO:<user@\xe4\xbe\x8b\xe3\x81\x88.jp>", 0, NULL,
	    "user@\xe4\xbe\x8b\xe3\x81\x88.jp", "\xe4\xbe\x8b\xe3\x81\x88.jp", -1, 0, 0, NULL },
	BAD(93, ADDR_RCPT, "TO:<user@\xe4\xbe\x8b\xe3\x81\x88.jp>", 553, "5.6.7", NULL),
	{ 94, ADDR_RCPT, 1, "TO:<\xc0\xaf@example.jp>", 501, "5.1.3", NULL, NULL,
	    -1, 0, 0, "local part" },	/* overlong UTF-8 */
	{ 95, ADDR_RCPT, 1, "TO:<\xed\xa0\x80@example.jp>", 501, "5.1.3", NULL, NULL,
	    -1, 0, 0, "local part" },	/* surrogate */
	{ 96, ADDR_RCPT, 1, "TO:<a@\xff.jp>", 501, "5.1.3", NULL, NULL,
	    -1, 0, 0, "domain" },

	{ 0, ADDR_MAIL, 0, NULL, 0, NULL, NULL, NULL, -1, 0, 0, NULL },
};

/* the length cases, built at run time */
static void
run_limits(void)
{
	struct addr_path p;
	struct addr_error e;
	char arg[700];
	int r;

	memset(LOCAL64, 'l', 64);
	LOCAL64[64] = '\0';
	memset(L65, 'l', 65);
	L65[65] = '\0';
	/* 255 octets of domain: labels of 63 + dots */
	snprintf(DOM255, sizeof(DOM255), "%.63s.%.63s.%.63s.%.63s",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
	    "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	is_int(strlen(DOM255), 255, "101 test domain is 255 octets");
	snprintf(D256, sizeof(D256), "e%s", DOM255);

	/* local part of exactly 64: fine */
	snprintf(arg, sizeof(arg), "TO:<%s@example.org>", LOCAL64);
	r = addr_parse(arg, ADDR_RCPT, 0, &p, &e);
	is_int(r, 0, "102 local part of 64 octets accepted");
	/* 65: refused */
	snprintf(arg, sizeof(arg), "TO:<%s@example.org>", L65);
	r = addr_parse(arg, ADDR_RCPT, 0, &p, &e);
	ok(r == -1 && e.code == 501 && strcmp(e.enh, "5.1.3") == 0 &&
	    strstr(e.text, "local part longer than 64 octets") != NULL,
	    "103 local part of 65 octets: 501 5.1.3 (%d %s %s)", e.code, e.enh, e.text);
	snprintf(arg, sizeof(arg), "FROM:<%s@example.org>", L65);
	r = addr_parse(arg, ADDR_MAIL, 0, &p, &e);
	ok(r == -1 && e.code == 501 && strcmp(e.enh, "5.1.7") == 0,
	    "104 MAIL local part of 65 octets: 501 5.1.7 (%d %s)", e.code, e.enh);
	/* a domain of 256: refused (the path is long too: the domain check
	 * must speak first only when the path fits, so use a short local) */
	snprintf(arg, sizeof(arg), "TO:<a@%s>", D256);
	r = addr_parse(arg, ADDR_RCPT, 0, &p, &e);
	ok(r == -1 && e.code == 501 && strcmp(e.enh, "5.1.3") == 0 &&
	    strstr(e.text, "path longer than 256") != NULL,
	    "105 path of 260 octets: 501 5.1.3 path (%d %s %s)", e.code, e.enh, e.text);
	/* path exactly 256: "<" + 1 + "@" + 253 + ">" */
	snprintf(P257, sizeof(P257), "TO:<a@%.252s>", DOM255 + 2);
	r = addr_parse(P257, ADDR_RCPT, 0, &p, &e);
	ok(r == 0, "106 path of 256 octets accepted (%s)", r ? e.text : "");
	snprintf(P257, sizeof(P257), "TO:<ab@%.252s>", DOM255 + 2);
	r = addr_parse(P257, ADDR_RCPT, 0, &p, &e);
	ok(r == -1 && e.code == 501 && strstr(e.text, "path longer than 256"),
	    "107 path of 257 octets: 501 (%d %s)", e.code, e.text);
	/* a 64-octet label is one too many (RFC 1035) */
	snprintf(arg, sizeof(arg), "TO:<a@%s%s.org>", "x", LOCAL64);
	r = addr_parse(arg, ADDR_RCPT, 0, &p, &e);
	ok(r == -1 && e.code == 501 && strstr(e.text, "domain"),
	    "108 label of 65 octets refused (%s)", e.text);
	/* domain over 255 with the path still under 256 cannot happen (the
	 * path includes the domain), so the domain text is reached only via
	 * the route: check the text exists for a MAIL with route */
	snprintf(arg, sizeof(arg), "FROM:<a@%s> SIZE=1", DOM255);
	r = addr_parse(arg, ADDR_MAIL, 0, &p, &e);
	ok(r == -1 && strcmp(e.enh, "5.1.7") == 0,
	    "109 MAIL path over 256 with a 255 domain: 5.1.7 (%s)", e.text);
}

static void
run_parse(void)
{
	const struct pcase *c;
	struct addr_path p;
	struct addr_error e;
	int r;

	for (c = pcases; c->arg != NULL; c++) {
		memset(&e, 0, sizeof(e));
		r = addr_parse(c->arg, c->kind, c->utf8_ok, &p, &e);
		if (c->code == 0) {
			if (!ok(r == 0, "%d accepted", c->n)) {
				diag("%d %s %s", e.code, e.enh ? e.enh : "", e.text);
				continue;
			}
			is_str(p.addr, c->addr, "%d addr", c->n);
			is_str(p.domain, c->domain, "%d domain", c->n);
			is_int(p.size, c->size, "%d size", c->n);
			is_int(p.body, c->body, "%d body", c->n);
			is_int(p.smtputf8, c->smtputf8, "%d smtputf8", c->n);
			is_int(p.null, c->addr[0] == '\0', "%d null", c->n);
		} else {
			if (!ok(r == -1 && e.code == c->code &&
			    e.enh && strcmp(e.enh, c->enh) == 0 &&
			    (c->text == NULL || strstr(e.text, c->text) != NULL),
			    "%d refused %d %s", c->n, c->code, c->enh))
				diag("got r=%d %d %s '%s'", r, e.code,
				    e.enh ? e.enh : "", e.text);
		}
	}
}

/* ------------------------------------------------------------------ */

struct dcase {
	int	 n;
	const char *domain;
	int	 local;
};

static const struct dcase dcases[] = {
	{ 200, "example.org", 1 },
	{ 201, "EXAMPLE.ORG", 1 },
	{ 202, "example.org.", 1 },
	{ 203, "mail.example.org", 0 },
	{ 204, "alias.example", 1 },
	{ 205, "Alias.Example", 1 },
	{ 206, "sub.example.net", 1 },
	{ 207, "example.net", 0 },
	{ 208, "[192.0.2.7]", 1 },		/* listed as 192.0.2.7 */
	{ 209, "[192.0.2.8]", 1 },		/* listed as [192.0.2.8] */
	{ 210, "[192.0.2.9]", 0 },
	{ 211, "[IPv6:2001:db8::5]", 1 },	/* listed as 2001:db8::5 */
	{ 212, "[ipv6:2001:DB8::5]", 1 },
	{ 213, "", 0 },
	{ 214, "org", 0 },
	{ 215, "[example.org]", 0 },
	{ 0, NULL, 0 },
};

struct rcase {
	int	 n;
	const char *addr;
	int	 want;
	const char *account;
};

static const struct rcase rcases[] = {
	{ 300, "alice@example.org", 1, "alice" },
	{ 301, "Alice@EXAMPLE.org", 1, "alice" },
	{ 302, "\"alice\"@example.org", 1, "alice" },
	{ 303, "alice@alias.example", 1, "alice" },
	{ 304, "alice@[192.0.2.7]", 1, "alice" },
	{ 305, "nobody@example.org", 0, "" },
	{ 306, "alice@example.net", -1, "" },
	{ 307, "a+b@example.org", 0, "" },	/* not an account name */
	{ 308, "\"a b\"@example.org", 0, "" },
	{ 309, "bob.smith@sub.example.net", 1, "bob.smith" },
	{ 310, "../etc@example.org", 0, "" },
	{ 0, NULL, 0, NULL },
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static int
put_account(struct store *s, const char *name)
{
	struct account a;

	memset(&a, 0, sizeof(a));
	(void)str_copy(a.name, sizeof(a.name), name);
	a.created = 1;
	return account_put(s, &a);
}

static struct config *
load_config(const char *admin)
{
	char *defs[5];
	struct config *cfg = NULL;
	struct errlist errs;
	size_t i;

	errlist_init(&errs);
	defs[0] = "server.domain=example.org";
	defs[1] = "server.alias=alias.example,192.0.2.7,[192.0.2.8],2001:db8::5";
	defs[2] = "smtp.subhost=sub.example.net";
	defs[3] = xasprintf("server.admin_address=%s", admin);
	defs[4] = "server.home=/nonexistent-yubin-test";
	if (config_load(&cfg, NULL, defs, 5, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			diag("config: %s", errs.msg[i]);
		cfg = NULL;
	}
	free(defs[3]);
	errlist_free(&errs);
	return cfg;
}

static void
run_local(void)
{
	char tmpl[] = "/tmp/yubin-addr-XXXXXX";
	char account[ACCOUNT_NAME_MAX + 1];
	const struct dcase *d;
	const struct rcase *r;
	struct config *cfg;
	struct store *st = NULL;
	const char *why;
	int got;

	cfg = load_config("admin@example.org");
	if (!ok(cfg != NULL, "199 config loads"))
		return;
	for (d = dcases; d->domain != NULL; d++)
		is_int(addr_domain_is_local(cfg, d->domain), d->local,
		    "%d domain '%s' local=%d", d->n, d->domain, d->local);

	if (!ok(mkdtemp(tmpl) != NULL, "298 temp dir"))
		goto out;
	if (!ok(store_open(&st, tmpl, &why) == 0, "299 store opens")) {
		diag("%s", why);
		goto out;
	}
	put_account(st, "alice");
	put_account(st, "bob.smith");
	for (r = rcases; r->addr != NULL; r++) {
		got = addr_resolve_local(cfg, st, r->addr, account);
		is_int(got, r->want, "%d resolve '%s'", r->n, r->addr);
		is_str(account, r->account, "%d account", r->n);
	}

	/* role mailboxes: no postmaster, no admin account: refused */
	is_int(addr_resolve_local(cfg, st, "postmaster@example.org", account), 0,
	    "320 postmaster without any target");
	is_int(addr_resolve_local(cfg, st, "postmaster", account), 0,
	    "321 bare postmaster without any target");
	/* the admin_address account takes them */
	put_account(st, "admin");
	is_int(addr_resolve_local(cfg, st, "postmaster", account), 1,
	    "322 bare postmaster -> admin");
	is_str(account, "admin", "322 account");
	is_int(addr_resolve_local(cfg, st, "Abuse@alias.example", account), 1,
	    "323 abuse -> admin");
	is_str(account, "admin", "323 account");
	/* the postmaster account (setup makes it) does not take postmaster@
	 * while admin_address names another target (DESIGN §7) */
	put_account(st, "postmaster");
	is_int(addr_resolve_local(cfg, st, "PostMaster@example.org", account), 1,
	    "324 postmaster -> admin while admin_address says so");
	is_str(account, "admin", "324 account");
	/* admin_address "postmaster" (the default) or empty: that account */
	config_free(&cfg);
	cfg = load_config("postmaster");
	if (!ok(cfg != NULL, "324a config loads"))
		goto out;
	is_int(addr_resolve_local(cfg, st, "PostMaster@example.org", account), 1,
	    "324b postmaster -> postmaster (default admin_address)");
	is_str(account, "postmaster", "324b account");
	is_int(addr_resolve_local(cfg, st, "postmaster", account), 1,
	    "324c bare postmaster -> postmaster");
	is_str(account, "postmaster", "324c account");
	config_free(&cfg);
	cfg = load_config("");
	if (!ok(cfg != NULL, "324d config loads"))
		goto out;
	is_int(addr_resolve_local(cfg, st, "postmaster@alias.example", account),
	    1, "324e postmaster -> postmaster (admin_address empty)");
	is_str(account, "postmaster", "324e account");
	config_free(&cfg);
	cfg = load_config("admin@example.org");
	if (!ok(cfg != NULL, "324f config loads"))
		goto out;
	is_int(addr_resolve_local(cfg, st, "abuse@example.org", account), 1,
	    "325 abuse -> admin still");
	is_str(account, "admin", "325 account");
	/* abuse account wins */
	put_account(st, "abuse");
	is_int(addr_resolve_local(cfg, st, "abuse@example.org", account), 1,
	    "326 abuse -> abuse");
	is_str(account, "abuse", "326 account");
	/* non-local admin address: abuse goes out to it (issue 6: postmaster
	 * and abuse always resolve to server.admin_address) */
	config_free(&cfg);
	cfg = load_config("root@elsewhere.example");
	if (!ok(cfg != NULL, "327 config loads"))
		goto out;
	(void)account_del(st, "abuse");
	is_int(addr_resolve_local(cfg, st, "abuse@example.org", account), -1,
	    "328 abuse -> remote admin_address: not a local account");
	{
		struct addr_rcpt rr;

		is_int(addr_resolve_rcpt(cfg, st, "Abuse@example.org", &rr),
		    ADDR_DEST_REMOTE, "328a abuse -> ADDR_DEST_REMOTE");
		is_str(rr.addr, "root@elsewhere.example", "328a rewritten");
	}
	is_int(addr_resolve_local(cfg, st, "postmaster@example.net", account), -1,
	    "329 postmaster of a foreign domain is not ours");
out:
	store_close(&st);
	config_free(&cfg);
	if (tmpl[16] != 'X')
		(void)nftw(tmpl, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* per-domain mailboxes: addr_account_id and addr_account_find */
static void
run_separate(void)
{
	static const struct {
		const char *local, *domain, *want, *why;
	} ids[] = {
		{ "alice", "", "alice", NULL },
		{ "alice", "example.org", "alice", NULL },
		{ "alice", "EXAMPLE.ORG", "alice", NULL },
		{ "alice", "[192.0.2.8]", "alice", NULL },
		{ "alice", "alias.example", "alice@alias.example", NULL },
		{ "alice", "Alias.Example.", "alice@alias.example", NULL },
		{ "alice", "sub.example.net", "alice@sub.example.net", NULL },
		{ "alice", "other.example", "", "the domain is not a local domain "
		    "(server.domain, server.alias, smtp.subhost)" },
		{ "Alice", "alias.example", "", "account name must be 1-64 "
		    "characters of a-z 0-9 . _ -" },
		{ "a@b", "alias.example", "", "account name must be 1-64 "
		    "characters of a-z 0-9 . _ -" },
		{ "12345678901234567890123456789012345678901234567890123",
		    "alias.example", "", "name@domain must be at most 64 characters" },
		{ NULL, NULL, NULL, NULL },
	};
	char tmpl[] = "/tmp/yubin-addr-XXXXXX";
	char *defs[5], id[ACCOUNT_NAME_MAX + 1];
	struct config *cfg = NULL, *shared = NULL;
	struct errlist errs;
	struct store *st = NULL;
	struct account a;
	const char *why;
	size_t i;

	errlist_init(&errs);
	defs[0] = "server.domain=example.org";
	defs[1] = "server.alias=alias.example,[192.0.2.8]";
	defs[2] = "smtp.subhost=sub.example.net";
	defs[3] = "server.home=/nonexistent-yubin-test";
	defs[4] = "server.domain_mailboxes=1";
	if (!ok(config_load(&cfg, NULL, defs, 5, &errs) == 0 &&
	    config_load(&shared, NULL, defs, 4, &errs) == 0,
	    "400 configs load"))
		goto out;
	for (i = 0; ids[i].local; i++) {
		why = NULL;
		is_int(addr_account_id(cfg, ids[i].local, ids[i].domain, id, &why),
		    ids[i].why ? -1 : 0, "401 id of %s @ '%s'", ids[i].local,
		    ids[i].domain);
		is_str(id, ids[i].want, "401   is the expected name");
		if (ids[i].why)
			is_str(why, ids[i].why, "401   reason");
	}
	/* shared mode: always the plain name, any domain (as before) */
	is_int(addr_account_id(shared, "alice", "alias.example", id, &why), 0,
	    "402 shared: alice@alias.example");
	is_str(id, "alice", "402 shared: plain alice");
	is_int(addr_account_id(shared, "alice", "other.example", id, &why), 0,
	    "403 shared: the domain is only a field");

	if (!ok(mkdtemp(tmpl) != NULL, "404 temp dir") ||
	    !ok(store_open(&st, tmpl, &why) == 0, "405 store opens"))
		goto out;
	put_account(st, "alice");
	memset(&a, 0, sizeof(a));
	(void)str_copy(a.name, sizeof(a.name), "alice@alias.example");
	(void)str_copy(a.domain, sizeof(a.domain), "alias.example");
	a.created = 1;
	is_int(account_put(st, &a), 0, "405a alice@alias.example");
	memset(&a, 0, sizeof(a));
	(void)str_copy(a.name, sizeof(a.name), "bob");	/* made in shared mode */
	(void)str_copy(a.domain, sizeof(a.domain), "sub.example.net");
	a.created = 1;
	is_int(account_put(st, &a), 0, "406 legacy bob with a domain field");
	memset(&a, 0, sizeof(a));
	(void)str_copy(a.name, sizeof(a.name), "carol@alias.example");
	(void)str_copy(a.domain, sizeof(a.domain), "sub.example.net");
	is_int(account_put(st, &a), -1, "407 name@domain must match the field");

#define FIND(l, d, want, acct, n) do {					\
	memset(&a, 0, sizeof(a));					\
	is_int(addr_account_find(cfg, st, l, d, &a), want, n " find %s@%s",	\
	    l, d ? d : "(any)");					\
	if (want == 1)							\
		is_str(a.name, acct, n "   account %s", acct);		\
} while (0)
	FIND("alice", "example.org", 1, "alice", "408");
	FIND("alice", "", 1, "alice", "409");
	FIND("alice", "alias.example", 1, "alice@alias.example", "410");
	FIND("alice", "ALIAS.example", 1, "alice@alias.example", "411");
	FIND("alice", "sub.example.net", 0, "", "412");
	FIND("bob", "sub.example.net", 1, "bob", "413");
	FIND("bob", "alias.example", 0, "", "414");
	FIND("bob", "example.org", 0, "", "415");
	FIND("bob", NULL, 1, "bob", "416");
	FIND("nobody", "alias.example", 0, "", "417");
	FIND("../x", "alias.example", 0, "", "418");
#undef FIND
	{
		char acct[ACCOUNT_NAME_MAX + 1];

		is_int(addr_resolve_local(cfg, st, "Alice@Alias.Example", acct),
		    1, "419 resolve Alice@Alias.Example");
		is_str(acct, "alice@alias.example", "419 account");
		is_int(addr_resolve_local(cfg, st, "alice@[192.0.2.8]", acct),
		    1, "420 a listed literal is server.domain");
		is_str(acct, "alice", "420 account");
		is_int(addr_resolve_local(shared, st, "alice@alias.example",
		    acct), 1, "421 shared: alice@alias.example");
		is_str(acct, "alice", "421 shared: the plain account");
	}
out:
	store_close(&st);
	config_free(&cfg);
	config_free(&shared);
	errlist_free(&errs);
	if (tmpl[16] != 'X')
		(void)nftw(tmpl, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* run_lists - a list's own addresses resolve to the list (DESIGN §11),
 * and only for an account whose folder holds ml.def. */
static void
run_lists(void)
{
	static const struct {
		const char	*local, *base, *kind;
	} sfx[] = {
		{ "staff-request", "staff", "request" },
		{ "staff-owner", "staff", "owner" },
		{ "staff-bounces", "staff", "bounces" },
		{ "staff-bounces+bob=example.net", "staff", "bounces" },
		{ "my-list-request", "my-list", "request" },
		{ "staff-requests", NULL, NULL },
		{ "staff-owner+x", NULL, NULL },
		{ "-request", NULL, NULL },
		{ "staff", NULL, NULL },
		{ "sta/ff-request", NULL, NULL },
	};
	char tmpl[] = "/tmp/yubin-addrl-XXXXXX";
	char account[ACCOUNT_NAME_MAX + 1], base[ACCOUNT_NAME_MAX + 1], *def;
	char *defs[2];
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct errlist errs;
	const char *why, *kind;
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		kind = addr_list_suffix(sfx[i].local, base, sizeof(base));
		if (sfx[i].kind == NULL) {
			ok(kind == NULL, "list 1.%zu '%s' is no list address", i,
			    sfx[i].local);
			continue;
		}
		ok(kind && strcmp(kind, sfx[i].kind) == 0 &&
		    strcmp(base, sfx[i].base) == 0, "list 1.%zu '%s' -> %s %s", i,
		    sfx[i].local, sfx[i].base, sfx[i].kind);
	}

	errlist_init(&errs);
	if (!ok(mkdtemp(tmpl) != NULL, "list 2 temp dir"))
		return;
	defs[0] = "server.domain=example.org";
	defs[1] = xasprintf("server.home=%s", tmpl);
	if (!ok(config_load(&cfg, NULL, defs, 2, &errs) == 0, "list 2 config") ||
	    !ok(store_open(&st, tmpl, &why) == 0, "list 2 store"))
		goto out;
	put_account(st, "staff");
	put_account(st, "plain");
	is_int(addr_resolve_local(cfg, st, "staff-request@example.org", account),
	    0, "list 3 not a list yet: -request is nobody");
	def = xasprintf("%s/mailbox", tmpl);
	(void)mkdir(def, 0755);
	free(def);
	def = xasprintf("%s/mailbox/staff", tmpl);
	(void)mkdir(def, 0755);
	free(def);
	def = xasprintf("%s/mailbox/staff/ml.def", tmpl);
	if ((f = fopen(def, "w")) != NULL)
		fclose(f);
	free(def);
	ok(addr_is_list(cfg, "staff") && !addr_is_list(cfg, "plain") &&
	    !addr_is_list(cfg, "../staff"), "list 4 addr_is_list");
	for (i = 0; i < 4; i++) {
		is_int(addr_resolve_local(cfg, st, i == 3 ?
		    "Staff-Bounces+bob=example.net@example.org" : i == 2 ?
		    "staff-bounces@example.org" : i == 1 ? "staff-owner@example.org" :
		    "staff-request@example.org", account), 1,
		    "list 5.%zu a list address resolves", i);
		is_str(account, "staff", "list 5.%zu to the list", i);
	}
	is_int(addr_resolve_local(cfg, st, "plain-request@example.org", account),
	    0, "list 6 another account's -request is nobody");
	is_int(addr_resolve_local(cfg, st, "staff@example.org", account), 1,
	    "list 7 the list itself");
	put_account(st, "staff-owner");
	is_int(addr_resolve_local(cfg, st, "staff-owner@example.org", account),
	    1, "list 8 a real account of that name comes first");
	is_str(account, "staff-owner", "list 8 account");
out:
	free(defs[1]);
	if (st)
		store_close(&st);
	config_free(&cfg);
	errlist_free(&errs);
	(void)nftw(tmpl, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* DSN parameters (RFC 3461): each value, each refusal naming its parameter */
struct paramcase {
	int	 n;
	enum addr_kind kind;
	const char *arg;
	int	 code;			/* 0: accepted */
	const char *text;		/* substring of the error text */
	int	 ret;
	const char *envid;
	int	 notify;
	const char *orcpt;
};

#define DOK_MAIL(n, arg, ret, envid) \
	{ n, ADDR_MAIL, arg, 0, NULL, ret, envid, 0, "" }
#define DOK_RCPT(n, arg, notify, orcpt) \
	{ n, ADDR_RCPT, arg, 0, NULL, 0, "", notify, orcpt }
#define DBAD(n, k, arg, code, text) \
	{ n, k, arg, code, text, 0, "", 0, "" }

static const struct paramcase paramcases[] = {
	DOK_MAIL(200, "FROM:<a@b.c> RET=FULL", DSN_RET_FULL, ""),
	DOK_MAIL(201, "FROM:<a@b.c> ret=hdrs ENVID=QQ314159", DSN_RET_HDRS,
	    "QQ314159"),
	DOK_MAIL(202, "FROM:<> ENVID=a+2Bb+20c", 0, "a+b c"),
	DOK_MAIL(203, "FROM:<a@b.c> SIZE=10 ENVID=x RET=HDRS BODY=8BITMIME",
	    DSN_RET_HDRS, "x"),
	DOK_RCPT(204, "TO:<a@b.c> NOTIFY=NEVER", DSN_NOTIFY_NEVER, ""),
	DOK_RCPT(205, "TO:<a@b.c> NOTIFY=success,failure,DELAY",
	    DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, ""),
	DOK_RCPT(206, "TO:<a@b.c> ORCPT=rfc822;Old+2Bx@b.c NOTIFY=FAILURE",
	    DSN_NOTIFY_FAILURE, "rfc822;Old+x@b.c"),
	DOK_RCPT(207, "TO:<a@b.c> ORCPT=utf-8;t\\x{E4}@b.c", 0,
	    "utf-8;t\\x{E4}@b.c"),
	DOK_RCPT(208, "TO:<postmaster> NOTIFY=DELAY", DSN_NOTIFY_DELAY, ""),
	DBAD(210, ADDR_RCPT, "TO:<a@b.c> NOTIFY=NEVER,SUCCESS", 501, "NOTIFY"),
	DBAD(211, ADDR_RCPT, "TO:<a@b.c> NOTIFY=BOGUS", 501, "NOTIFY"),
	DBAD(212, ADDR_RCPT, "TO:<a@b.c> NOTIFY", 501, "NOTIFY"),
	DBAD(213, ADDR_RCPT, "TO:<a@b.c> NOTIFY=SUCCESS,", 501, "NOTIFY"),
	DBAD(214, ADDR_RCPT, "TO:<a@b.c> NOTIFY=DELAY NOTIFY=DELAY", 501,
	    "duplicate parameter NOTIFY"),
	DBAD(215, ADDR_RCPT, "TO:<a@b.c> ORCPT=a@b.c", 501, "ORCPT"),
	DBAD(216, ADDR_RCPT, "TO:<a@b.c> ORCPT=x400;a@b.c", 501, "ORCPT"),
	DBAD(217, ADDR_RCPT, "TO:<a@b.c> ORCPT=rfc822;a+ZZ@b.c", 501, "ORCPT"),
	DBAD(218, ADDR_RCPT, "TO:<a@b.c> ORCPT=rfc822;a@b ORCPT=rfc822;c@d",
	    501, "duplicate parameter ORCPT"),
	DBAD(219, ADDR_RCPT, "TO:<a@b.c> ORCPT", 501, "ORCPT"),
	DBAD(220, ADDR_MAIL, "FROM:<a@b.c> RET=BOTH", 501, "RET"),
	DBAD(221, ADDR_MAIL, "FROM:<a@b.c> RET", 501, "RET"),
	DBAD(222, ADDR_MAIL, "FROM:<a@b.c> RET=FULL RET=HDRS", 501,
	    "duplicate parameter RET"),
	DBAD(223, ADDR_MAIL, "FROM:<a@b.c> ENVID=+ZZ", 501, "ENVID"),
	DBAD(224, ADDR_MAIL, "FROM:<a@b.c> ENVID=a+0Db", 501, "ENVID"),
	DBAD(225, ADDR_MAIL, "FROM:<a@b.c> ENVID=a ENVID=b", 501,
	    "duplicate parameter ENVID"),
	DBAD(226, ADDR_MAIL, "FROM:<a@b.c> ENVID", 501, "ENVID"),
	DBAD(227, ADDR_MAIL, "FROM:<a@b.c> NOTIFY=NEVER", 555,
	    "unsupported parameter NOTIFY"),
	DBAD(228, ADDR_MAIL, "FROM:<a@b.c> ORCPT=rfc822;a@b.c", 555,
	    "unsupported parameter ORCPT"),
	DBAD(229, ADDR_RCPT, "TO:<a@b.c> RET=FULL", 555,
	    "unsupported parameter RET"),
	{ 0, ADDR_MAIL, NULL, 0, NULL, 0, NULL, 0, NULL },
};

static void
run_dsn(void)
{
	const struct paramcase *c;
	struct addr_path p;
	struct addr_error e;
	char arg[2 * ADDR_PARAM_MAX];
	size_t i;
	int r;

	for (c = paramcases; c->n; c++) {
		memset(&e, 0, sizeof(e));
		r = addr_parse(c->arg, c->kind, 0, &p, &e);
		if (c->code) {
			ok(r == -1 && e.code == c->code &&
			    strcmp(e.enh, "5.5.4") == 0 &&
			    strstr(e.text, c->text) != NULL,
			    "%d %s: %d 5.5.4 %s (%d %s %s)", c->n, c->arg, c->code,
			    c->text, e.code, e.enh ? e.enh : "-", e.text);
			continue;
		}
		ok(r == 0 && p.ret == c->ret && strcmp(p.envid, c->envid) == 0 &&
		    p.notify == c->notify && strcmp(p.orcpt, c->orcpt) == 0,
		    "%d %s (%s ret=%d envid=%s notify=%d orcpt=%s)", c->n, c->arg,
		    r ? e.text : "ok", p.ret, p.envid, p.notify, p.orcpt);
	}
	/* XNODEID: a relaying node's queue id, letters and digits, MAIL only */
	r = addr_parse("FROM:<a@b.c> XNODEID=0A1B2C3D4E5F6071 SIZE=5", ADDR_MAIL,
	    0, &p, &e);
	ok(r == 0 && strcmp(p.node_id, "0A1B2C3D4E5F6071") == 0 && p.size == 5,
	    "230 XNODEID taken (%s)", r ? e.text : p.node_id);
	r = addr_parse("FROM:<a@b.c>", ADDR_MAIL, 0, &p, &e);
	ok(r == 0 && p.node_id[0] == '\0', "231 no XNODEID: empty");
	{
		static const struct { const char *arg; int code; const char *text; }
		    xb[] = {
			{ "FROM:<a@b.c> XNODEID", 501, "XNODEID" },
			{ "FROM:<a@b.c> XNODEID=ab-cd", 501, "XNODEID" },
			{ "FROM:<a@b.c> XNODEID=A XNODEID=B", 501,
			    "duplicate parameter XNODEID" },
			{ "FROM:<a@b.c> XNODEID=0123456789abcdef0123456789abcdef0",
			    501, "XNODEID" },
			{ "TO:<a@b.c> XNODEID=A", 555, "unsupported parameter" },
		};
		for (i = 0; i < sizeof(xb) / sizeof(xb[0]); i++) {
			r = addr_parse(xb[i].arg, xb[i].arg[0] == 'T' ? ADDR_RCPT :
			    ADDR_MAIL, 0, &p, &e);
			ok(r == -1 && e.code == xb[i].code &&
			    strstr(e.text, xb[i].text) != NULL,
			    "%zu %s: %d (%d %s)", 232 + i, xb[i].arg, xb[i].code,
			    e.code, e.text);
		}
	}
	/* ENVID: 100 characters decoded are taken, 101 are not, however
	 * they are written */
	snprintf(arg, sizeof(arg), "FROM:<a@b.c> ENVID=");
	for (i = 0; i < DSN_ENVID_MAX; i++)
		strcat(arg, i % 2 ? "x" : "+20");
	r = addr_parse(arg, ADDR_MAIL, 0, &p, &e);
	ok(r == 0 && strlen(p.envid) == DSN_ENVID_MAX,
	    "240 ENVID of %d characters (%s)", DSN_ENVID_MAX, r ? e.text : "ok");
	strcat(arg, "y");
	r = addr_parse(arg, ADDR_MAIL, 0, &p, &e);
	ok(r == -1 && e.code == 501 && strstr(e.text, "ENVID"),
	    "241 ENVID of %d characters: 501 (%s)", DSN_ENVID_MAX + 1, e.text);
	/* ORCPT: an address of DSN_ORCPT_MAX octets, all of them encoded */
	snprintf(arg, sizeof(arg), "TO:<a@b.c> ORCPT=rfc822;");
	for (i = 0; i < DSN_ORCPT_MAX; i++)
		strcat(arg, "+41");
	r = addr_parse(arg, ADDR_RCPT, 0, &p, &e);
	ok(r == 0 && strlen(p.orcpt) == 7 + DSN_ORCPT_MAX,
	    "242 ORCPT of %d octets in xtext (%s)", DSN_ORCPT_MAX,
	    r ? e.text : "ok");
	strcat(arg, "B");
	r = addr_parse(arg, ADDR_RCPT, 0, &p, &e);
	ok(r == -1 && e.code == 501 && strstr(e.text, "ORCPT"),
	    "243 ORCPT of %d octets: 501 (%s)", DSN_ORCPT_MAX + 1, e.text);
}

int
main(void)
{
	plan_no_plan();
	run_parse();
	run_limits();
	run_dsn();
	run_local();
	run_lists();
	run_separate();
	return done_testing();
}
