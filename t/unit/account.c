/*
 * t/unit/account.c - account names, password hashes, records in the store,
 * and the E-Post import/export format with its exact error lines.
 *
 * scrypt runs at the production cost (N=2^15, r=8, p=1); the test makes
 * about fifteen KDF calls.  The store lives in a fresh folder under
 * $TMPDIR (default /tmp), removed at the end.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "account.h"
#include "buf.h"
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
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void
test_names(void)
{
	static const struct {
		const char *name;
		int valid;
	} cases[] = {
		{ "a", 1 },
		{ "taro", 1 },
		{ "taro.yamada", 1 },
		{ "a_b-c.d", 1 },
		{ "0", 1 },
		{ "...", 1 },
		{ ".hidden", 1 },
		{ "-dash", 1 },
		{ "1234567890123456789012345678901234567890123456789012345678901234",
		    1 },
		{ "", 0 },
		{ ".", 0 },
		{ "..", 0 },
		{ "A", 0 },
		{ "Taro", 0 },
		{ "a/b", 0 },
		{ "/", 0 },
		{ "a b", 0 },
		{ "a@b", 1 },		/* NAME@DOMAIN: per-domain mailboxes */
		{ "alice@example.net", 1 },
		{ "a.b@x-y.example", 1 },
		{ "a@B", 0 },		/* domains are kept lower-case */
		{ "a@", 0 },
		{ "@b", 0 },
		{ "a@b@c", 0 },
		{ "A@b", 0 },
		{ "a@b/c", 0 },
		{ "a@..", 0 },
		{ "a@.", 0 },
		{ "a@b..c", 0 },
		{ "a@-b", 0 },
		{ "..@b", 0 },
		{ "a@b.", 0 },
		{ "a@[127.0.0.1]", 0 },
		{ "123456789012345678901234567890@1234567890123456789012345678901.b",
		    1 },
		{ "123456789012345678901234567890@12345678901234567890123456789012.b",
		    0 },		/* 65 characters in all */
		{ "a\tb", 0 },
		{ "a\nb", 0 },
		{ "\xe9", 0 },
		{ "a+b", 0 },
		{ "12345678901234567890123456789012345678901234567890123456789012345",
		    0 },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		is_int(account_name_valid(cases[i].name, &why), cases[i].valid,
		    "name %zu (%zu chars) is %s", i, strlen(cases[i].name),
		    cases[i].valid ? "valid" : "refused");
		if (!cases[i].valid)
			ok(why != NULL && *why, "  with a reason");
	}
	why = NULL;
	account_name_valid("A", &why);
	is_str(why, "account name must be 1-64 characters of a-z 0-9 . _ -",
	    "reason for a bad character");
	account_name_valid("..", &why);
	is_str(why, "account name must not be '.' or '..'", "reason for '..'");
	account_name_valid("a@b/c", &why);
	is_str(why, "the domain of an account name@domain must be a lower-case "
	    "host name", "reason for a bad domain");
	account_name_valid("123456789012345678901234567890@"
	    "12345678901234567890123456789012.b", &why);
	is_str(why, "account name@domain must be at most 64 characters",
	    "reason for a long name@domain");
	/* a plain name: never with a domain */
	is_int(account_local_valid("alice", &why), 1, "local: alice");
	is_int(account_local_valid("alice@example.net", &why), 0,
	    "local: no '@'");
	is_str(why, "account name must be 1-64 characters of a-z 0-9 . _ -",
	    "local: reason");
}

static void
test_domains(void)
{
	static const struct {
		const char *domain;
		int valid;
	} cases[] = {
		{ "", 1 },
		{ "example.org", 1 },
		{ "Abc.Co.JP", 1 },
		{ "a-b.example", 1 },
		{ "localhost", 1 },
		{ ".example.org", 0 },
		{ "example..org", 0 },
		{ "example.org.", 0 },
		{ "-a.example", 0 },
		{ "a-.example", 0 },
		{ "a_b.example", 0 },
		{ "a b", 0 },
		{ "[127.0.0.1]", 0 },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(account_domain_valid(cases[i].domain, &why),
		    cases[i].valid, "domain '%s'", cases[i].domain);
}

static void
test_hash(void)
{
	char h[ACCOUNT_HASH_MAX], h2[ACCOUNT_HASH_MAX];
	static const char *const malformed[] = {
		"",
		"x",
		"$scrypt$",
		"$scrypt$ln=15,r=8,p=1$",
		"$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==",
		"$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$",
		"$scrypt$ln=15,r=8,p=1$$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY",
		"$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=$",
		"$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjq*TY=",
		"$scrypt$ln=15,r=8,p=1$MDEy$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EK",
		"$scrypt$ln=21,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=0,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=15,r=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=15,r=8,p=0$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=15,r=33,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=15,r=8,p=17$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=20,r=32,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=18,r=8,p=16$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=015,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=15,r=8,p=1,x=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$r=8,ln=15,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$pbkdf2$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
		"$scrypt$ln=-1,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=",
	};
	/* computed independently (Python hashlib.scrypt) */
	static const char known[] = "$scrypt$ln=15,r=8,p=1$"
	    "MDEyMzQ1Njc4OWFiY2RlZg==$"
	    "Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=";
	/* RFC 7914 section 12, third vector: N=1024 r=8 p=16, 64 bytes */
	static const char rfc[] = "$scrypt$ln=10,r=8,p=16$TmFDbA==$"
	    "/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDa"
	    "xyevuUqD7m2DYMvfoswGQA==";
	size_t i;

	is_int(passwd_hash("secret", h, sizeof(h)), 0, "hash");
	ok(strncmp(h, "$scrypt$ln=15,r=8,p=1$", 22) == 0 && strlen(h) ==
	    22 + 24 + 1 + 44, "hash format: %s", h);
	ok(passwd_hash_valid(h), "our own hash is well-formed");
	is_int(passwd_verify(h, "secret"), 1, "good password verifies");
	is_int(passwd_verify(h, "Secret"), 0, "bad password does not");
	is_int(passwd_hash("", h2, sizeof(h2)), 0, "hash of empty works");
	ok(strcmp(h, h2) != 0, "salts differ");
	is_int(passwd_hash("secret", h2, 20), -1, "hash does not fit: -1");
	is_str(h2, "", "  and the output is empty");
	is_int(passwd_verify(known, "secret"), 1,
	    "verifies a hash made by another scrypt implementation");
	is_int(passwd_verify(rfc, "password"), 1,
	    "RFC 7914 vector verifies (other ln/r/p, 64-byte key)");
	is_int(passwd_verify(rfc, "passwore"), 0, "RFC 7914 vector, wrong one");
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		is_int(passwd_verify(malformed[i], "secret"), -1,
		    "malformed hash %zu refused", i);
		is_int(passwd_hash_valid(malformed[i]), 0, "  and not valid");
	}
}

static void
test_set_password(void)
{
	struct account a;
	const char *why;
	char *big;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "taro");
	is_int(account_set_password(&a, "pw1", &why), 0, "set (no apop)");
	is_str(a.secret, "", "secret not kept without apop");
	is_int(account_verify(&a, "pw1"), 1, "account_verify good");
	is_int(account_verify(&a, "pw2"), 0, "account_verify bad");
	a.apop = 1;
	is_int(account_set_password(&a, "apop secret", &why), 0, "set (apop)");
	is_str(a.secret, "apop secret", "secret kept with apop");
	a.apop = 0;
	is_int(account_set_password(&a, "", &why), -1, "empty refused");
	is_str(why, "empty password", "  why");
	is_int(account_set_password(&a, "a\tb", &why), -1,
	    "control character refused");
	is_int(account_set_password(&a, "{HASH}abc", &why), -1,
	    "{HASH} prefix refused");
	big = xmalloc(ACCOUNT_PASSWORD_MAX + 2);
	memset(big, 'x', ACCOUNT_PASSWORD_MAX + 1);
	big[ACCOUNT_PASSWORD_MAX + 1] = '\0';
	is_int(account_set_password(&a, big, &why), -1, "1025 bytes refused");
	is_str(why, "password longer than 1024 bytes", "  why");
	big[ACCOUNT_PASSWORD_MAX] = '\0';
	a.apop = 1;
	is_int(account_set_password(&a, big, &why), 0, "1024 bytes accepted");
	is_int(strlen(a.secret), ACCOUNT_PASSWORD_MAX, "  and kept whole");
	free(big);
	is_int(account_verify(&a, "pw1"), 0, "old password no longer verifies");
}

static struct store *
open_store(void)
{
	struct store *s = NULL;
	const char *why;

	if (store_open(&s, dir, &why) == -1) {
		diag("store_open: %s", why);
		exit(2);
	}
	return s;
}

static int
same_account(const struct account *a, const struct account *b)
{
	return strcmp(a->name, b->name) == 0 &&
	    strcmp(a->domain, b->domain) == 0 &&
	    strcmp(a->fullname, b->fullname) == 0 &&
	    strcmp(a->home, b->home) == 0 && a->smtp_auth == b->smtp_auth &&
	    a->apop == b->apop && a->quota_size == b->quota_size &&
	    a->quota_count == b->quota_count && strcmp(a->hash, b->hash) == 0 &&
	    strcmp(a->secret, b->secret) == 0 && a->created == b->created;
}

struct each_ctx {
	char	names[256];
	int	stop;
};

static int
each_fn(void *ctx, const struct account *a)
{
	struct each_ctx *c = ctx;
	size_t n = strlen(c->names);

	snprintf(c->names + n, sizeof(c->names) - n, "%s%s", n ? "," : "",
	    a->name);
	return c->stop;
}

static void
test_records(void)
{
	struct store *s = open_store();
	struct account a, b, hanako;
	struct each_ctx ec;
	const char *why;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "taro");
	snprintf(a.domain, sizeof(a.domain), "abc.co.jp");
	snprintf(a.fullname, sizeof(a.fullname),
	    "Yamada, Taro \\ \xe5\xb1\xb1\xe7\x94\xb0 = x\nnext\x7f");
	snprintf(a.home, sizeof(a.home), "/home/taro=1");
	a.smtp_auth = 1;
	a.apop = 1;
	a.quota_size = 123456789012LL;
	a.quota_count = 77;
	a.created = 1700000000;
	is_int(account_set_password(&a, "s3cret \\x41", &why), 0, "password");
	is_int(account_put(s, &a), 0, "put");
	memset(&b, 0xff, sizeof(b));
	is_int(account_get(s, "taro", &b), 1, "get");
	ok(same_account(&a, &b), "every field round trips");
	is_int(account_verify(&b, "s3cret \\x41"), 1, "stored hash verifies");
	is_int(account_get(s, "jiro", &b), 0, "absent account");
	is_int(account_get(s, "Bad/Name", &b), 0, "a bad name is absent");

	memset(&hanako, 0, sizeof(hanako));
	snprintf(hanako.name, sizeof(hanako.name), "hanako");
	snprintf(hanako.hash, sizeof(hanako.hash), "%s", a.hash);
	is_int(account_put(s, &hanako), 0, "put a second account");
	memset(&ec, 0, sizeof(ec));
	is_int(account_each(s, each_fn, &ec), 0, "each");
	is_str(ec.names, "hanako,taro", "each in name order");
	memset(&ec, 0, sizeof(ec));
	ec.stop = 5;
	is_int(account_each(s, each_fn, &ec), 5, "each stops on non-zero");
	is_str(ec.names, "hanako", "  after the first");

	/* corrupt records: -1 from get, skipped (and -1) by each */
	store_put(s, STORE_ACCOUNTS, "v2", 2, "v2\nname=v2\n", 11, 0);
	store_put(s, STORE_ACCOUNTS, "short", 5, "v1\nname=short\n", 14, 0);
	store_put(s, STORE_ACCOUNTS, "zz", 2, "v1\nname=zz", 10, 0);
	is_int(account_get(s, "v2", &b), -1, "unknown version is corrupt");
	is_int(account_get(s, "short", &b), -1, "missing fields are corrupt");
	is_int(account_get(s, "zz", &b), -1, "truncated record is corrupt");
	{
		struct buf rec;
		char *p;

		/* a whole record, then one change at a time */
		buf_init(&rec, 0);
		store_get(s, STORE_ACCOUNTS, "hanako", 6, &rec);
		store_put(s, STORE_ACCOUNTS, "other", 5, rec.data, rec.len, 0);
		is_int(account_get(s, "other", &b), -1,
		    "name differing from the key is corrupt");
		p = strstr(rec.data, "apop=0");
		if (p)
			p[5] = '7';
		store_put(s, STORE_ACCOUNTS, "hanako", 6, rec.data, rec.len, 0);
		is_int(account_get(s, "hanako", &b), -1, "bad flag is corrupt");
		if (p)
			p[5] = '0';
		buf_append(&rec, "created=1\n", 10);
		store_put(s, STORE_ACCOUNTS, "hanako", 6, rec.data, rec.len, 0);
		is_int(account_get(s, "hanako", &b), -1,
		    "repeated field is corrupt");
		rec.len -= 10;
		store_put(s, STORE_ACCOUNTS, "hanako", 6, rec.data, rec.len, 0);
		is_int(account_get(s, "hanako", &b), 1, "restored record reads");
		buf_free(&rec);
	}
	memset(&ec, 0, sizeof(ec));
	is_int(account_each(s, each_fn, &ec), -1,
	    "each reports the corrupt records");
	is_str(ec.names, "hanako,taro", "  but still visits the good ones");
	store_del(s, STORE_ACCOUNTS, "v2", 2);
	store_del(s, STORE_ACCOUNTS, "short", 5);
	store_del(s, STORE_ACCOUNTS, "zz", 2);
	store_del(s, STORE_ACCOUNTS, "other", 5);

	is_int(account_del(s, "taro"), 1, "del");
	is_int(account_get(s, "taro", &b), 0, "gone");
	is_int(account_del(s, "taro"), 0, "del again: absent");
	is_int(account_del(s, "hanako"), 1, "del the second");
	strcpy(a.name, "Bad");
	is_int(account_put(s, &a), -1, "put with a bad name refused");
	store_close(&s);
}

static void
test_import_roundtrip(void)
{
	struct account in[3], *list = NULL;
	struct errlist errs;
	struct buf out;
	char path[300];
	const char *why;
	size_t n = 0, i;
	int r;

	memset(in, 0, sizeof(in));
	snprintf(in[0].name, sizeof(in[0].name), "taro");
	snprintf(in[0].fullname, sizeof(in[0].fullname), "Yamada, Taro");
	snprintf(in[0].domain, sizeof(in[0].domain), "abc.co.jp");
	in[0].smtp_auth = 1;
	in[0].apop = 1;
	account_set_password(&in[0], "s3cret", &why);
	snprintf(in[1].name, sizeof(in[1].name), "hanako");
	snprintf(in[1].home, sizeof(in[1].home), "/home/hanako");
	in[1].quota_size = 5000000;
	account_set_password(&in[1], "flower pw", &why);
	snprintf(in[2].name, sizeof(in[2].name), "x.y-z_9");
	account_set_password(&in[2], "#not a comment", &why);

	buf_init(&out, 0);
	for (i = 0; i < 3; i++)
		is_int(account_export_line(&in[i], &out), 0, "export %zu", i);
	{
		static const char l0[] =
		    "taro\ts3cret\tYamada, Taro\tabc.co.jp\t\t1\t1\t0\n";

		ok(strncmp(out.data, l0, strlen(l0)) == 0,
		    "apop account exports its clear password");
	}
	ok(strstr(out.data, "hanako\t{HASH}$scrypt$ln=15,r=8,p=1$") != NULL,
	    "other accounts export {HASH}");
	snprintf(path, sizeof(path), "%s/export.txt", dir);
	write_file(path, out.data);
	errlist_init(&errs);
	r = account_import_parse(path, NULL, NULL, &list, &n, &errs);
	is_int(r, 0, "import of the export");
	is_int(errlist_count(&errs), 0, "no errors");
	if (errs.n)
		diag("%s", errs.msg[0]);
	is_int(n, 3, "three accounts");
	for (i = 0; i < n && i < 3; i++) {
		list[i].created = in[i].created = 0;
		if (i == 0) {
			/* rehashed from the clear secret: new salt */
			is_int(account_verify(&list[i], "s3cret"), 1,
			    "apop password verifies after import");
			memcpy(list[i].hash, in[i].hash, sizeof(list[i].hash));
		}
		ok(same_account(&in[i], &list[i]), "account %zu the same", i);
	}
	if (n >= 2)
		is_int(account_verify(&list[1], "flower pw"), 1,
		    "hashed password verifies after import");
	free(list);
	list = NULL;

	/* skipped lines, CRLF, empty optional fields, upper-case domain */
	buf_reset(&out);
	buf_printf(&out, "# a comment\n\n\r\n"
	    "jiro\t{HASH}%s\t\tExample.ORG\t\t\t\t\r\n"
	    "#x\t\t\n"
	    "saburo\t{HASH}%s\tSaburo\t\t\t0\t0\t0", in[1].hash, in[1].hash);
	write_file(path, out.data);
	r = account_import_parse(path, NULL, NULL, &list, &n, &errs);
	is_int(r, 0, "import with comments, CRLF, no final newline");
	is_int(n, 2, "two accounts");
	if (n == 2) {
		is_str(list[0].name, "jiro", "first");
		is_str(list[0].domain, "example.org", "domain lower-cased");
		ok(list[0].apop == 0 && list[0].smtp_auth == 0 &&
		    list[0].quota_size == 0, "empty flags and limit are 0");
		is_str(list[1].fullname, "Saburo", "second, no final newline");
		is_str(list[1].hash, in[1].hash, "{HASH} taken as the hash");
		ok(list[1].created > 0, "created set");
	}
	free(list);
	errlist_free(&errs);
	buf_free(&out);

	/* an account that cannot be exported */
	buf_init(&out, 0);
	snprintf(in[1].fullname, sizeof(in[1].fullname), "tab\there");
	is_int(account_export_line(&in[1], &out), -1,
	    "a tab in a field cannot be exported");
	is_int(out.len, 0, "  and nothing was appended");
	buf_free(&out);
}

static void
test_import_errors(void)
{
	static const char hash[] = "$scrypt$ln=15,r=8,p=1$"
	    "MDEyMzQ1Njc4OWFiY2RlZg==$"
	    "Nui/98EKsTl3DyaSIPz3SvARe0YqUtfUVkX8cfjqvTY=";
	struct account *list = (void *)1;
	struct errlist errs;
	struct buf text, want;
	char path[300], longline[ACCOUNT_IMPORT_LINE_MAX + 10];
	size_t n = 99, i;
	int r;

	snprintf(path, sizeof(path), "%s/bad.txt", dir);
	buf_init(&text, 0);
	buf_init(&want, 0);
	/* line 1: good */
	buf_printf(&text, "good\tpw\t\t\t\t0\t0\t0\n");
	/* 2 */ buf_printf(&text, "few\tpw\t\t\t0\t0\t0\n");
	buf_printf(&want, "%s:2: expected 8 tab-separated fields, found 7\n", path);
	/* 3 */ buf_printf(&text, "many\tpw\t\t\t\t0\t0\t0\t\n");
	buf_printf(&want, "%s:3: expected 8 tab-separated fields, found 9\n", path);
	/* 4 */ buf_printf(&text, "Taro\tpw\t\t\t\t0\t0\t0\n");
	buf_printf(&want, "%s:4: account name must be 1-64 characters of "
	    "a-z 0-9 . _ -\n", path);
	/* 5 */ buf_printf(&text, "..\tpw\t\t\t\t0\t0\t0\n");
	buf_printf(&want, "%s:5: account name must not be '.' or '..'\n", path);
	/* 6 */ buf_printf(&text, "nopw\t\t\t\t\t0\t0\t0\n");
	buf_printf(&want, "%s:6: empty password\n", path);
	/* 7 */ buf_printf(&text, "flag\tpw\t\t\t\t2\t0\t0\n");
	buf_printf(&want, "%s:7: SMTP-AUTH flag must be 0, 1 or empty\n", path);
	/* 8 */ buf_printf(&text, "flag2\tpw\t\t\t\t1\tyes\t0\n");
	buf_printf(&want, "%s:8: APOP flag must be 0, 1 or empty\n", path);
	/* 9 */ buf_printf(&text, "lim\tpw\t\t\t\t0\t0\t-1\n");
	buf_printf(&want, "%s:9: mailbox limit must be a non-negative integer\n",
	    path);
	/* 10 */ buf_printf(&text, "lim2\tpw\t\t\t\t0\t0\t10MB\n");
	buf_printf(&want, "%s:10: mailbox limit must be a non-negative "
	    "integer\n", path);
	/* 11 */ buf_printf(&text, "lim3\tpw\t\t\t\t0\t0\t99999999999999999999\n");
	buf_printf(&want, "%s:11: mailbox limit must be a non-negative "
	    "integer\n", path);
	/* 12 */ buf_printf(&text, "good\tpw2\t\t\t\t0\t0\t0\n");
	buf_printf(&want, "%s:12: duplicate account 'good' (first on line 1)\n",
	    path);
	/* 13 */ buf_printf(&text, "hashbad\t{HASH}$scrypt$ln=99\t\t\t\t0\t0\t0\n");
	buf_printf(&want, "%s:13: bad {HASH} password hash\n", path);
	/* 14 */ buf_printf(&text, "hashapop\t{HASH}%s\t\t\t\t0\t1\t0\n", hash);
	buf_printf(&want, "%s:14: APOP flag needs the clear password, not "
	    "{HASH}\n", path);
	/* 15 */ buf_printf(&text, "dom\tpw\t\tbad_domain\t\t0\t0\t0\n");
	buf_printf(&want, "%s:15: domain must be a host name of letters, "
	    "digits, '-' and '.'\n", path);
	/* 16: too long */
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	buf_printf(&text, "%s\n", longline);
	buf_printf(&want, "%s:16: line longer than 4096 bytes\n", path);
	/* 17 */ buf_printf(&text, "ctl\tp\x01w\t\t\t\t0\t0\t0\n");
	buf_printf(&want, "%s:17: password must not contain control "
	    "characters\n", path);
	/* 18 */ buf_printf(&text, "   \n");
	buf_printf(&want, "%s:18: expected 8 tab-separated fields, found 1\n",
	    path);
	/* 19 */ buf_printf(&text, "ok2\t{HASH}%s\t\t\t\t\t\t\n", hash);
	/* 20: NUL byte */
	buf_append(&text, "nul\tp\0w\t\t\t\t0\t0\t0\n", 17);
	buf_printf(&want, "%s:20: NUL byte in line\n", path);
	/* 21: a line exactly at the limit is fine (as a line; 1 field) */
	memset(longline, 'b', ACCOUNT_IMPORT_LINE_MAX);
	longline[ACCOUNT_IMPORT_LINE_MAX] = '\0';
	buf_printf(&text, "%s\n", longline);
	buf_printf(&want, "%s:21: expected 8 tab-separated fields, found 1\n",
	    path);
	{
		FILE *f = fopen(path, "w");

		if (f == NULL || fwrite(text.data, 1, text.len, f) != text.len ||
		    fclose(f) != 0)
			exit(2);
	}
	errlist_init(&errs);
	r = account_import_parse(path, NULL, NULL, &list, &n, &errs);
	is_int(r, -1, "a file with bad lines is refused");
	ok(list == NULL && n == 0, "nothing handed back");
	buf_reset(&text);
	for (i = 0; i < errs.n; i++)
		buf_printf(&text, "%s\n", errs.msg[i]);
	is_str(text.data, want.data, "every bad line, exact file:line: text");
	errlist_free(&errs);

	/* one bad line per file, each alone */
	{
		static const struct {
			const char *line;
			const char *msg;
		} one[] = {
			{ "a\tpw\t\t\t\t0\t0", "expected 8 tab-separated fields, found 7" },
			{ "A\tpw\t\t\t\t0\t0\t0", "account name must be 1-64 characters of a-z 0-9 . _ -" },
			{ "\tpw\t\t\t\t0\t0\t0", "account name must be 1-64 characters of a-z 0-9 . _ -" },
			{ "a\t\t\t\t\t0\t0\t0", "empty password" },
			{ "a\tpw\t\t\t\t0\t2\t0", "APOP flag must be 0, 1 or empty" },
			{ "a\tpw\t\t\t\t0\t0\t1.5", "mailbox limit must be a non-negative integer" },
			{ "a\tpw\t\t\t\t0\t0\t+5", "mailbox limit must be a non-negative integer" },
		};

		for (i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
			char expect[512];

			buf_reset(&text);
			buf_printf(&text, "# header\n%s\n", one[i].line);
			write_file(path, text.data);
			errlist_init(&errs);
			list = (void *)1;
			r = account_import_parse(path, NULL, NULL, &list, &n, &errs);
			snprintf(expect, sizeof(expect), "%s:2: %s", path,
			    one[i].msg);
			ok(r == -1 && list == NULL && errs.n == 1,
			    "single bad line %zu refused", i);
			is_str(errs.n ? errs.msg[0] : "", expect, "  message");
			errlist_free(&errs);
		}
	}

	/* a missing file */
	{
		char missing[320], expect[400];

		snprintf(missing, sizeof(missing), "%s/none.txt", dir);
		errlist_init(&errs);
		r = account_import_parse(missing, NULL, NULL, &list, &n, &errs);
		snprintf(expect, sizeof(expect),
		    "%s: No such file or directory", missing);
		is_int(r, -1, "missing file refused");
		is_str(errs.n ? errs.msg[0] : "", expect, "  message");
		errlist_free(&errs);
	}
	buf_free(&text);
	buf_free(&want);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	plan_no_plan();
	snprintf(dir, sizeof(dir), "%s/yubin-account-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_names();
	test_domains();
	test_hash();
	test_set_password();
	test_records();
	test_import_roundtrip();
	test_import_errors();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
