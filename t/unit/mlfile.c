/*
 * t/unit/mlfile.c - the list files (lib/mlfile.h): ml_member.csv and
 * ml.def parsers with every bad input and its exact "FILE:LINE:" text,
 * a 100 000-member file, add/del/export round trips, ml.def edits, and
 * the file helpers (atomic write, links refused).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfile.h"
#include "../lib/tap.h"

struct bad {
	int		 n;
	const char	*text;
	const char	*err;	/* the first message, exactly */
};

static const struct bad member_bads[] = {
	{ 1, "bad\n", "m.csv:1: address \"bad\": no '@' in the address" },
	{ 2, "a@b@c\n", "m.csv:1: address \"a@b@c\": more than one '@' in "
	    "the address" },
	{ 3, "# c\n@b\n", "m.csv:2: address \"@b\": empty local part" },
	{ 4, "a@\n", "m.csv:1: address \"a@\": empty domain" },
	{ 5, "a@.b\n", "m.csv:1: address \"a@.b\": empty label in the domain" },
	{ 6, "a@b..c\n", "m.csv:1: address \"a@b..c\": empty label in the "
	    "domain" },
	{ 7, "a b@c\n", "m.csv:1: address \"a b@c\": blank or control byte in "
	    "the address" },
	{ 8, "<a\x01@b>\n", "m.csv:1: address \"a\\x01@b\": blank or control "
	    "byte in the address" },
	{ 9, "<a@b\n", "m.csv:1: '<' without a closing '>'" },
	{ 10, "<a@b> x\n", "m.csv:1: unexpected text after the address: \"x\"" },
	{ 11, "\"Q <a@b>\n", "m.csv:1: quoted name without its closing '\"'" },
	{ 12, "\"Q\" a@b\n", "m.csv:1: expected <address> after the quoted "
	    "name" },
	{ 13, "Name <>\n", "m.csv:1: empty address" },
	{ 14, "a@b>\n", "m.csv:1: '>' without an opening '<'" },
	{ 15, "<a(b)@c>\n", "m.csv:1: address \"a(b)@c\": one of < > \" ( ) , "
	    "; \\ in the address" },
	{ 16, "a@b,nomail\n", "m.csv:1: address \"a@b,nomail\": one of < > \" "
	    "( ) , ; \\ in the address" },
	{ 17, "a@b.example\nX <a@B.EXAMPLE>\n", "m.csv:2: duplicate member "
	    "a@B.EXAMPLE (also line 1)" },
	{ 18, "Na\x02me <a@b>\n", "m.csv:1: control byte in the name" },
	{ 19, "a@b\n<a@b>\n\"A\" <a@b>\n",
	    "m.csv:2: duplicate member a@b (also line 1)" },
	{ 0, NULL, NULL },
};

static const struct bad def_bads[] = {
	{ 1, "x\n", "d.def:1: expected key=value, got \"x\"" },
	{ 2, "# c\nnokey=1\n", "d.def:2: unknown key 'nokey'" },
	{ 3, "split=2\nsplit=3\n", "d.def:2: split: given twice (first at "
	    "line 1)" },
	{ 4, "split=0\n", "d.def:1: split: expected an integer from 1 to 1000, "
	    "got \"0\"" },
	{ 5, "silent=maybe\n", "d.def:1: silent: expected a boolean (1/0, "
	    "true/false, yes/no, on/off), got \"maybe\"" },
	{ 6, "packing=round\n", "d.def:1: packing: expected domain or even, "
	    "got \"round\"" },
	{ 7, "manager=bob\n", "d.def:1: manager: bad address \"bob\": no '@' "
	    "in the address" },
	{ 8, "error_report=x\n", "d.def:1: error_report: expected admin, "
	    "sender, none or an address, got \"x\"" },
	{ 9, "domain=a..b\n", "d.def:1: domain: expected a host name, got "
	    "\"a..b\"" },
	{ 10, "subject_format=[x %s]\n", "d.def:1: subject_format: \"[x %s]\": "
	    "'%' must start %0Nd (N 1-9), %d or %%" },
	{ 11, "subject_format=%d %03d\n", "d.def:1: subject_format: "
	    "\"%d %03d\": more than one counter" },
	{ 12, "mailing_list_public_level=3\n", "d.def:1: "
	    "mailing_list_public_level: expected an integer from -1 to 2, got "
	    "\"3\"" },
	{ 13, "count=-1\n", "d.def:1: count: expected an integer from 0 to "
	    "999999999, got \"-1\"" },
	{ 14, "keygen_minutes=ten\n", "d.def:1: keygen_minutes: expected an "
	    "integer from 0 to 525600, got \"ten\"" },
	{ 15, "admin_mail_address=a@@b\n", "d.def:1: admin_mail_address: bad "
	    "address \"a@@b\": more than one '@' in the address" },
	{ 16, "name=a\x01\n", "d.def:1: name: control byte in the value" },
	{ 17, "=1\n", "d.def:1: unknown key ''" },
	{ 0, NULL, NULL },
};

static void
test_member_bads(void)
{
	const struct bad *b;
	struct ml_errs e;
	struct ml_list l;
	int r;

	for (b = member_bads; b->text; b++) {
		ml_list_init(&l);
		ml_errs_init(&e);
		r = ml_list_parse(&l, "m.csv", b->text, strlen(b->text), &e);
		ok(r == -1 && e.n >= 1, "member bad %d refused", b->n);
		is_str(e.n ? e.msg[0] : "", b->err, "member bad %d message", b->n);
		ml_errs_free(&e);
		ml_list_free(&l);
	}
}

static void
test_member_limits(void)
{
	char line[ML_LINE_MAX + 64], addr[300];
	struct ml_errs e;
	struct ml_list l;
	int r;

	/* a line past the bound */
	memset(line, 'x', ML_LINE_MAX + 1);
	memcpy(line, "a@b <", 5);
	line[ML_LINE_MAX + 1] = '\n';
	ml_list_init(&l);
	ml_errs_init(&e);
	r = ml_list_parse(&l, "m.csv", line, ML_LINE_MAX + 2, &e);
	ok(r == -1, "over-long line refused");
	is_str(e.n ? e.msg[0] : "", "m.csv:1: line longer than 1000 bytes",
	    "over-long line message");
	ml_errs_free(&e);
	ml_list_free(&l);
	/* a NUL byte */
	ml_list_init(&l);
	ml_errs_init(&e);
	r = ml_list_parse(&l, "m.csv", "ok@b\na\0@b\n", 10, &e);
	ok(r == -1, "NUL byte refused");
	is_str(e.n ? e.msg[0] : "", "m.csv:2: NUL byte in line", "NUL message");
	ml_errs_free(&e);
	ml_list_free(&l);
	/* 255 and 254 bytes; 65 and 64 bytes of local part */
	memset(addr, 'a', sizeof(addr));
	memcpy(addr + 64, "@", 1);
	memcpy(addr + 250, ".org", 5);	/* 254 bytes */
	{
		const char *why;

		ok(ml_addr_check(addr, &why), "254-byte address taken");
		memcpy(addr + 251, ".org", 5);	/* 255 */
		ok(!ml_addr_check(addr, &why) &&
		    strcmp(why, "address longer than 254 bytes") == 0,
		    "255-byte address refused");
		memset(addr, 'l', 65);
		memcpy(addr + 65, "@b", 3);
		ok(!ml_addr_check(addr, &why) &&
		    strcmp(why, "local part longer than 64 bytes") == 0,
		    "65-byte local part refused");
		addr[64] = '@';
		memcpy(addr + 65, "b", 2);
		ok(ml_addr_check(addr, &why), "64-byte local part taken");
	}
	/* a long path is never cut */
	{
		char path[1500];

		memset(path, 'p', sizeof(path) - 1);
		path[sizeof(path) - 1] = '\0';
		ml_list_init(&l);
		ml_errs_init(&e);
		ml_list_parse(&l, path, "x\n", 2, &e);
		ok(e.n == 1 && strlen(e.msg[0]) == sizeof(path) - 1 +
		    strlen(":1: address \"x\": no '@' in the address"),
		    "a message with a long path kept whole");
		ml_errs_free(&e);
		ml_list_free(&l);
	}
	/* every bad line of a file is reported */
	ml_list_init(&l);
	ml_errs_init(&e);
	r = ml_list_parse(&l, "m.csv", "x\ny\nz@w\n", 8, &e);
	ok(r == -1 && e.n == 2, "two bad lines, two messages");
	is_str(e.n == 2 ? e.msg[1] : "", "m.csv:2: address \"y\": no '@' in "
	    "the address", "the second one too");
	is_int(l.members, 1, "the good line kept");
	ml_errs_free(&e);
	ml_list_free(&l);
}

static void
test_member_forms(void)
{
	static const struct {
		const char *line, *name, *addr;
		int r;
	} forms[] = {
		{ "Owner <listowner@abc.co.jp>", "Owner", "listowner@abc.co.jp", 1 },
		{ "  Guest1  <User1@def.or.jp>  \r", "Guest1", "User1@def.or.jp", 1 },
		{ "User2@ghi.com", "", "User2@ghi.com", 1 },
		{ "<User3@jkl.co.jp>", "", "User3@jkl.co.jp", 1 },
		{ "\"Yamada, \\\"Taro\\\"\" <taro@x.jp>", "Yamada, \"Taro\"",
		    "taro@x.jp", 1 },
		{ "Yamada, Taro <taro@x.jp>", "Yamada, Taro", "taro@x.jp", 1 },
		{ "\xe5\xb1\xb1\xe7\x94\xb0 <y@x.jp>", "\xe5\xb1\xb1\xe7\x94\xb0",
		    "y@x.jp", 1 },
		{ "# sample file", "", "", 0 },
		{ "   # indented comment", "", "", 0 },
		{ "<#x@y>", "", "#x@y", 1 },
		{ "", "", "", 0 },
		{ " \t\r", "", "", 0 },
		{ NULL, NULL, NULL, 0 },
	};
	char name[ML_LINE_MAX + 1], addr[ML_ADDR_MAX + 1], why[256];
	int i, r;

	for (i = 0; forms[i].line; i++) {
		r = ml_member_parse(forms[i].line, strlen(forms[i].line), name,
		    sizeof(name), addr, sizeof(addr), why, sizeof(why));
		is_int(r, forms[i].r, "form %d: kind", i);
		is_str(name, forms[i].name, "form %d: name", i);
		is_str(addr, forms[i].addr, "form %d: address", i);
	}
	/* canonical forms read back the same */
	{
		static const char *const names[] = { "", "Bob", "Yamada, Taro",
		    "A \"q\" \\ b", "#hash", "x <y>", NULL };
		char out[600];

		for (i = 0; names[i]; i++) {
			ok(ml_member_format(names[i], "a@b.c", out,
			    sizeof(out)) == 0, "format %d", i);
			r = ml_member_parse(out, strlen(out), name, sizeof(name),
			    addr, sizeof(addr), why, sizeof(why));
			ok(r == 1 && strcmp(name, names[i]) == 0 &&
			    strcmp(addr, "a@b.c") == 0, "format %d reads back "
			    "(%s)", i, out);
		}
		is_str((ml_member_format("Yamada, Taro", "t@x", out,
		    sizeof(out)), out), "Yamada, Taro <t@x>", "bare name kept bare");
		is_str((ml_member_format("A \"q\"", "t@x", out, sizeof(out)),
		    out), "\"A \\\"q\\\"\" <t@x>", "quotes escaped");
		is_str((ml_member_format("", "#t@x", out, sizeof(out)), out),
		    "<#t@x>", "an address that would read as a comment");
		ok(ml_member_format("Bob", "t@x", out, 8) == -1,
		    "too small a buffer is an error");
	}
}

static void
test_big(void)
{
	struct ml_errs e;
	struct ml_list l;
	size_t cap = 100000 * 40, len = 0, i;
	char *data = malloc(cap + 64);
	int r;

	for (i = 0; i < 100000; i++)
		len += (size_t)(i % 3 ? snprintf(data + len, cap - len,
		    "user%zu@example%zu.org\n", i, i % 97) :
		    snprintf(data + len, cap - len, "User %zu <u%zu@x.jp>\n",
		    i, i));
	ml_list_init(&l);
	ml_errs_init(&e);
	r = ml_list_parse(&l, "big.csv", data, len, &e);
	ok(r == 0 && e.n == 0, "100 000 lines parse");
	is_int(l.members, 100000, "100 000 members");
	ok(ml_list_find(&l, "user99998@EXAMPLE88.ORG") >= 0,
	    "a member found, domain case ignored");
	ok(ml_list_find(&l, "USER99998@example8.org") == -1,
	    "local part compared exactly");
	ml_errs_free(&e);
	ml_list_free(&l);
	/* the same with a duplicate at the end */
	len += (size_t)snprintf(data + len, 64, "user50000@example45.org\n");
	ml_list_init(&l);
	ml_errs_init(&e);
	r = ml_list_parse(&l, "big.csv", data, len, &e);
	ok(r == -1, "a duplicate in 100 001 lines found");
	is_str(e.n ? e.msg[0] : "", "big.csv:100001: duplicate member "
	    "user50000@example45.org (also line 50001)", "and named");
	ml_errs_free(&e);
	ml_list_free(&l);
	free(data);
}

static void
test_round_trip(void)
{
	static const char file[] =
	    "# members\n"
	    "Owner <owner@a.example>\n"
	    "\n"
	    "  bob@b.example   \r\n"
	    "# the end\n"
	    "carol@c.example";
	struct ml_errs e;
	struct ml_list l, l2;
	const char *why;
	char *out;
	size_t len, i;

	ml_list_init(&l);
	ml_errs_init(&e);
	ok(ml_list_parse(&l, "m.csv", file, strlen(file), &e) == 0,
	    "round trip: parse");
	is_int(l.members, 3, "three members");
	is_int(ml_list_add(&l, "New One", "new@d.example", &why), 1, "add");
	is_int(ml_list_add(&l, NULL, "BOB@b.example", &why), 1,
	    "add: other local-part case is another member");
	is_int(ml_list_add(&l, "x", "bob@B.EXAMPLE", &why), 0,
	    "add: a member already");
	is_int(ml_list_add(&l, "x", "nope", &why), -1, "add: bad address");
	is_str(why, "no '@' in the address", "add: why");
	is_int(ml_list_del(&l, "bob@B.example"), 1, "del");
	is_int(ml_list_del(&l, "bob@b.example"), 0, "del again: not a member");
	is_int(ml_list_add(&l, NULL, "bob@b.example", &why), 1,
	    "add back after del");
	is_int(ml_list_del(&l, "bob@b.example"), 1, "del once more");
	is_int(l.members, 4, "four members");
	ok(ml_list_format(&l, 1, &out, &len) == 0, "format with comments");
	is_str(out, "# members\nOwner <owner@a.example>\n\n# the end\n"
	    "carol@c.example\nNew One <new@d.example>\nBOB@b.example\n",
	    "comments and lines kept, removed line gone, new ones appended");
	free(out);
	ok(ml_list_format(&l, 0, &out, &len) == 0, "export format");
	is_str(out, "Owner <owner@a.example>\ncarol@c.example\n"
	    "New One <new@d.example>\nBOB@b.example\n", "members only");
	ml_list_init(&l2);
	ok(ml_list_parse(&l2, "x", out, len, &e) == 0, "export reads back");
	is_int(l2.members, l.members, "same member count");
	for (i = 0; i < l.n; i++)
		if (l.v[i].addr && !l.v[i].gone)
			ok(ml_list_find(&l2, l.v[i].addr) >= 0, "member %s "
			    "exported", l.v[i].addr);
	free(out);
	ml_list_free(&l2);
	ml_list_free(&l);
	ml_errs_free(&e);
}

static void
test_def(void)
{
	static const char good[] =
	    "// Wiz98 comment\n"
	    "# another\n"
	    "  count = 10  \r\n"
	    "admin_mail_address=ml_error@localhost\n"
	    "name=Support mailing list\n"
	    "packing=EVEN\n"
	    "subject_format=[test %03d] 100%%\n"
	    "mailing_list_public_level=-1\n"
	    "silent=yes\n"
	    "error_report=errors@example.org\n";
	const struct bad *b;
	struct ml_errs e;
	struct ml_def d;
	char *out, why[256];
	size_t len;
	int r;

	for (b = def_bads; b->text; b++) {
		ok(ml_def_init(&d) == 0, "def bad %d: init", b->n);
		ml_errs_init(&e);
		r = ml_def_parse(&d, "d.def", b->text, strlen(b->text), &e);
		ok(r == -1, "def bad %d refused", b->n);
		is_str(e.n ? e.msg[0] : "", b->err, "def bad %d message", b->n);
		ml_errs_free(&e);
		ml_def_free(&d);
	}
	ml_def_init(&d);
	ml_errs_init(&e);
	ok(ml_def_parse(&d, "d.def", good, strlen(good), &e) == 0,
	    "good ml.def parses");
	is_int(d.num[ML_COUNT], 10, "count");
	is_int(d.line[ML_COUNT], 3, "count's line");
	is_str(d.str[ML_ADMIN], "ml_error@localhost", "admin");
	is_str(d.str[ML_NAME], "Support mailing list", "name");
	is_str(d.str[ML_PACKING], "even", "packing lower-cased");
	is_str(d.str[ML_SUBJECT_FORMAT], "[test %03d] 100%%", "subject format");
	is_int(d.num[ML_PUBLIC_LEVEL], -1, "public level");
	is_int(d.num[ML_SILENT], 1, "silent");
	is_int(d.num[ML_SPLIT], 2, "split default");
	is_int(d.num[ML_CONFIRM], 1, "confirm default");
	is_int(d.line[ML_SPLIT], 0, "split not set");
	is_str(d.str[ML_ERROR_REPORT], "errors@example.org", "error_report");
	ml_errs_free(&e);
	ml_def_free(&d);
	/* a line past the bound */
	{
		char *big = malloc(ML_DEF_LINE_MAX + 16);

		memcpy(big, "name=", 5);
		memset(big + 5, 'x', ML_DEF_LINE_MAX);
		ml_def_init(&d);
		ml_errs_init(&e);
		r = ml_def_parse(&d, "d.def", big, ML_DEF_LINE_MAX + 5, &e);
		is_str(e.n ? e.msg[0] : "", "d.def:1: line longer than 4096 "
		    "bytes", "over-long ml.def line");
		ml_errs_free(&e);
		ml_def_free(&d);
		free(big);
	}
	/* edits */
	{
		static const char t1[] = "# c\nsplit = 3\ncount=1\nsplit=4\n";

		ok(ml_def_edit(t1, strlen(t1), "split", "5", &out, &len, why,
		    sizeof(why)) == 0, "edit: replace");
	}
	is_str(out, "# c\nsplit=5\ncount=1\n", "first line replaced, second gone");
	free(out);
	ok(ml_def_edit("count=1", 7, "silent", "on", &out, &len, why,
	    sizeof(why)) == 0, "edit: append");
	is_str(out, "count=1\nsilent=on\n", "appended");
	free(out);
	ok(ml_def_edit("count=1\nsilent=on\n", 18, "silent", "", &out, &len,
	    why, sizeof(why)) == 0, "edit: remove");
	is_str(out, "count=1\n", "removed");
	free(out);
	ok(ml_def_edit("", 0, "nokey", "1", &out, &len, why, sizeof(why)) == -1,
	    "edit: unknown key refused");
	is_str(why, "unknown key 'nokey'", "edit: why");
	ok(ml_def_edit("", 0, "split", "x", &out, &len, why, sizeof(why)) == -1,
	    "edit: bad value refused");
	is_str(why, "expected an integer from 1 to 1000, got \"x\"",
	    "edit: bad value why");
	is_int(ml_key_find("bounce_limit"), ML_BOUNCE_LIMIT, "key table");
	is_int(ml_key_find("program"), ML_PROGRAM, "key table: program");
	is_int(ml_key_find("max_post_size"), ML_MAX_SIZE, "key table: max_post_size");
}

static void
test_files(void)
{
	char dir[] = "/tmp/mlfile-t-XXXXXX", path[256], why[256], *data;
	struct ml_errs e;
	struct ml_list l;
	struct stat st;
	size_t len;
	int dfd;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ok(ml_file_write(dfd, ML_MEMBER_FILE, "a@b\n# c\n", 8, ML_FILE_MODE,
	    (uid_t)-1, (gid_t)-1, why, sizeof(why)) == 0, "write");
	snprintf(path, sizeof(path), "%s/%s", dir, ML_MEMBER_FILE);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	ml_list_init(&l);
	ml_errs_init(&e);
	ok(ml_list_load(&l, dfd, path, &e) == 0 && l.members == 1, "load");
	ml_list_free(&l);
	ok(ml_lock(dfd) == 0, "lock");
	/* a link where the file should be */
	unlink(path);
	ok(symlink("/etc/passwd", path) == 0, "link planted");
	ml_list_init(&l);
	ok(ml_list_load(&l, dfd, path, &e) == -1, "symbolic link refused");
	ok(e.n == 1 && strstr(e.msg[0], "is a symbolic link") != NULL,
	    "and said so");
	ml_list_free(&l);
	ml_errs_free(&e);
	ok(ml_file_write(dfd, ML_MEMBER_FILE, "x@y\n", 4, ML_FILE_MODE,
	    (uid_t)-1, (gid_t)-1, why, sizeof(why)) == 0,
	    "write replaces the link itself");
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "a file now");
	ok(ml_file_read(dfd, ML_MEMBER_FILE, 100, &data, &len, why,
	    sizeof(why)) == 0 && strcmp(data, "x@y\n") == 0, "read back");
	free(data);
	/* a second hard link */
	snprintf(path, sizeof(path), "%s/other", dir);
	{
		char p2[256];

		snprintf(p2, sizeof(p2), "%s/%s", dir, ML_MEMBER_FILE);
		ok(link(p2, path) == 0, "hard link made");
	}
	ok(ml_file_read(dfd, ML_MEMBER_FILE, 100, &data, &len, why,
	    sizeof(why)) == -1, "a file with two links refused");
	is_str(why, "has more than one link; refusing to read it", "why");
	unlink(path);
	ok(ml_file_read(dfd, "missing", 100, &data, &len, why,
	    sizeof(why)) == 1, "a missing file: 1");
	ok(ml_file_read(dfd, ML_MEMBER_FILE, 2, &data, &len, why,
	    sizeof(why)) == -1, "a file over the bound refused");
	snprintf(path, sizeof(path), "%s/%s", dir, ML_MEMBER_FILE);
	unlink(path);
	rmdir(dir);
	close(dfd);
}

int
main(void)
{
	plan_no_plan();
	test_member_bads();
	test_member_limits();
	test_member_forms();
	test_big();
	test_round_trip();
	test_def();
	test_files();
	return done_testing();
}
