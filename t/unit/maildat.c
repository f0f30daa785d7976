/*
 * t/unit/maildat.c - the maildat plugin (plugins/maildat/) without a
 * server: every load-time error text of the rule parser, the readings the
 * parser takes (the five SEEDS.md §19 examples, a Warning: in a non-2xx
 * rule, Shift_JIS rule lines), the decoders (RFC 2047 B and Q in
 * ISO-2022-JP, Shift_JIS, EUC-JP and UTF-8; base64; quoted-printable; the
 * MIME walk), the URI domain reduction, and rule matching on whole
 * messages.  Linked with the plugin's objects but act.o (the hooks); the
 * few yh_* functions the rest calls are stubbed here.  Numbered, table-driven cases; a failure names its case.
 */
#include "../../plugins/maildat/maildat.h"
#include "../lib/maildat_stubs.inc"

#include "../lib/tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- stub accessors ----------------------------------------------------- */

static char lastlog[2048];

void
yh_log(enum yh_level lvl, const char *fmt, ...)
{
	va_list ap;

	(void)lvl;
	va_start(ap, fmt);
	vsnprintf(lastlog, sizeof(lastlog), fmt, ap);
	va_end(ap);
}

/* ---- the parser: error texts --------------------------------------------- */

static const struct {
	const char	*text;
	const char	*err;		/* the first error, exactly */
} perr[] = {
	{ "Virus:a\nSubject:x\nLevel:100\n",
	  "mail.dat:1: rule 'a' has no VirusEnd:" },
	{ "Virus:a\nVirus:b\nSubject:x\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: Virus: inside rule 'a' (line 1) without VirusEnd:" },
	{ "Virus:a\nSubjekt:x\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: unknown field 'Subjekt'" },
	{ "Virus:a\nSubject:x\nLevel:800\nVirusEnd:\n",
	  "mail.dat:3: Level must be three digits ABC (A 0-7, B 0-1, C 0-1), not '800'" },
	{ "Virus:a\nSubject:x\nLevel:12\nVirusEnd:\n",
	  "mail.dat:3: Level must be three digits ABC (A 0-7, B 0-1, C 0-1), not '12'" },
	{ "Virus:a\nSubject:x\nLevel:7\nVirusEnd:\n",	/* fuzz: read past the value */
	  "mail.dat:3: Level must be three digits ABC (A 0-7, B 0-1, C 0-1), not '7'" },
	{ "Virus:a\nSubject:x\nLevel:1000\nVirusEnd:\n",
	  "mail.dat:3: Level must be three digits ABC (A 0-7, B 0-1, C 0-1), not '1000'" },
	{ "Virus:a\nSubject:x\nLevel:120\nVirusEnd:\n",
	  "mail.dat:3: Level must be three digits ABC (A 0-7, B 0-1, C 0-1), not '120'" },
	{ "Virus:a\nSubject:x\nLevel:1a0\nVirusEnd:\n",
	  "mail.dat:3: Level must be three digits ABC (A 0-7, B 0-1, C 0-1), not '1a0'" },
	{ "Virus:a\nSubject:x\nLevel:100\nLevel:100\nVirusEnd:\n",
	  "mail.dat:4: duplicate Level:" },
	{ "Virus:a\nSubject:x\nVirusEnd:\n",
	  "mail.dat:1: rule 'a' has no Level:" },
	{ "Virus:a\nSubject:x\nLevel:100\nBody:\n1\n2\n3\n4\n5\n6\nBodyEnd:\nVirusEnd:\n",
	  "mail.dat:10: Body: block over 5 lines" },
	{ "Virus:a\nSubject:x\nLevel:100\nBody:\n1\nVirusEnd:\n",
	  "mail.dat:4: Body: block without BodyEnd:" },
	{ "Virus:a\nSubject:x\nLevel:100\nBody:\n1\n",
	  "mail.dat:4: Body: block without BodyEnd:" },
	{ "Virus:a\nSubject:x\nLevel:200\nWarning:\n1\n2\n3\n4\n5\n6\nWarningEnd:\nVirusEnd:\n",
	  "mail.dat:10: Warning: block over 5 lines" },
	{ "Virus:a\nSubject:x\nLevel:200\nWarning:\nw\nVirus:b\n",
	  "mail.dat:4: Warning: block without WarningEnd:" },
	{ "Virus:a\nSubject:x\nLevel:200\nVirusEnd:\n",
	  "mail.dat:1: rule 'a': Level 2xx needs a Warning: block" },
	{ "Virus:a\nSubject:x\nLevel:300\nVirusEnd:\n",
	  "mail.dat:1: rule 'a': Level 300 needs Tag:" },
	{ "Virus:a\nSubject:x\nLevel:610\nForward:a@b.jp\nVirusEnd:\n",
	  "mail.dat:1: rule 'a': Level 610 needs Tag:" },
	{ "Virus:a\nSubject:x\nLevel:701\nForward:a@b.jp\nVirusEnd:\n",
	  "mail.dat:1: rule 'a': Level 701 needs Tag:" },
	{ "Virus:a\nSubject:x\nLevel:400\nTag:nocolon\nVirusEnd:\n",
	  "mail.dat:1: rule 'a': Tag: for Level 4xx must be NAME:VALUE, e.g. X-SPAM:TRUE" },
	{ "Virus:a\nSubject:x\nLevel:500\nVirusEnd:\n",
	  "mail.dat:1: rule 'a': Level 500 needs Forward:" },
	{ "Virus:a\nSubject:x\nLevel:500\nForward:nobody\nVirusEnd:\n",
	  "mail.dat:4: Forward: 'nobody' is not an address (local@domain)" },
	{ "Virus:a\nSubject:x\nLevel:500\nForward:<a@b.jp>\nVirusEnd:\n",
	  "mail.dat:4: Forward: '<a@b.jp>' is not an address (local@domain)" },
	{ "Virus:a\nSubject:x\nLevel:500\nForward:a@b@c.jp\nVirusEnd:\n",
	  "mail.dat:4: Forward: 'a@b@c.jp' is not an address (local@domain)" },
	{ "Virus:a\nSubject:/x(/\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: bad regex /x(/: missing closing parenthesis at offset 2" },
	{ "Virus:a\nLevel:100\nBody:\n/[z-a]/\nBodyEnd:\nVirusEnd:\n",
	  "mail.dat:4: bad regex /[z-a]/: range out of order in character class at offset 3" },
	{ "Subject:x\n",
	  "mail.dat:1: 'Subject:x' outside a Virus: rule" },
	{ "Virus:a\nLevel:100\nVirusEnd:\n",
	  "mail.dat:1: rule 'a' has no condition (a header field, Body: or RBL:)" },
	{ "Virus:a\nSubject:\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: Subject: needs a value (#blank for a missing or empty header)" },
	{ "Virus:a\nUnique-Header:nocolon\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: Unique-Header: needs NAME:TOKEN" },
	{ "Virus:a\nUnique-Header:bad name:x\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: Unique-Header: needs NAME:TOKEN" },
	{ "Virus:a\nSubject:x\nTag:a\nTag:b\nLevel:300\nVirusEnd:\n",
	  "mail.dat:4: duplicate Tag:" },
	{ "Virus:a\nSubject:x\nFolder:\nLevel:110\nVirusEnd:\n",
	  "mail.dat:3: Folder: needs a value" },
	{ "Virus:a\nRBL:bad zone\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: RBL: 'bad zone' is not a DNS zone" },
	{ "Virus:a\nRBL:http://x.org\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: RBL: 'http://x.org' is not a DNS zone" },
	{ "Virus:a\nSubject x\nLevel:100\nVirusEnd:\n",
	  "mail.dat:2: not a Name:value line" },
	{ "Virus:a\nLevel:100\nBody:\nx\nBodyEnd:\nBody:\ny\nBodyEnd:\nVirusEnd:\n",
	  "mail.dat:6: duplicate Body:" },
	{ "Virus:a\nSubject:x\nLevel:100\nVirus\0End:\n",
	  "mail.dat:4: NUL byte in line" },
};

/* text lengths: a NUL in a case is part of it */
static size_t
case_len(const char *s)
{
	size_t n = strlen(s);

	if (strstr(s, "Virus") == s && n > 0 && s[n - 1] != '\n')
		n += strlen(s + n + 1) + 1;	/* "...Virus\0End:\n" */
	return n;
}

static void
test_parse_errors(void)
{
	struct md_errs e;
	struct md_table *t;
	size_t i;

	for (i = 0; i < NELEM(perr); i++) {
		memset(&e, 0, sizeof(e));
		t = md_parse("mail.dat", perr[i].text, case_len(perr[i].text), &e);
		ok(t == NULL, "parse error %zu: no table", i + 1);
		if (!ok(e.n >= 1 && strcmp(e.msg[0], perr[i].err) == 0,
		    "parse error %zu: text", i + 1)) {
			diag("got  '%s'", e.n ? e.msg[0] : "(none)");
			diag("want '%s'", perr[i].err);
		}
		md_table_free(&t);
		md_warns_free(&e);
		md_errs_free(&e);
	}
}

static void
test_parse_many(void)
{
	struct md_errs e;
	struct md_table *t;
	const char *ctext;
	char *text;
	size_t i, len = 0;

	/* every error of a file is reported, in order */
	memset(&e, 0, sizeof(e));
	ctext = "Virus:a\nSubjekt:x\nLevel:100\nVirusEnd:\n"
	    "Virus:b\nSubject:x\nLevel:999\nVirusEnd:\nstray\n";
	t = md_parse("f", ctext, strlen(ctext), &e);
	ok(t == NULL && e.count == 4, "four errors counted (%zu)", e.count);
	ok(e.n == 4 && strcmp(e.msg[0], "f:2: unknown field 'Subjekt'") == 0 &&
	    strcmp(e.msg[1], "f:1: rule 'a' has no condition (a header field, "
	    "Body: or RBL:)") == 0 && strncmp(e.msg[2], "f:7: Level", 10) == 0 &&
	    strcmp(e.msg[3], "f:9: 'stray' outside a Virus: rule") == 0,
	    "every error reported, as found");
	md_errs_free(&e);

	/* over MD_ERRS_MAX errors: counted, MD_ERRS_MAX kept */
	text = md_alloc(1200 * 8 + 1);
	for (i = 0; i < 1200; i++)
		len += (size_t)sprintf(text + len, "stray%02zu\n", i % 100);
	memset(&e, 0, sizeof(e));
	t = md_parse("f", text, len, &e);
	ok(t == NULL && e.count == 1200 && e.n == MD_ERRS_MAX,
	    "1200 errors: counted %zu, kept %zu", e.count, e.n);
	md_errs_free(&e);
	free(text);

	/* a line over MD_LINE_MAX */
	text = md_alloc(MD_LINE_MAX + 64);
	len = (size_t)sprintf(text, "Virus:a\nSubject:");
	memset(text + len, 'x', MD_LINE_MAX);
	len += MD_LINE_MAX;
	len += (size_t)sprintf(text + len, "\nLevel:100\nVirusEnd:\n");
	memset(&e, 0, sizeof(e));
	t = md_parse("f", text, len, &e);
	ok(t == NULL && e.n >= 1 && strcmp(e.msg[0],
	    "f:2: line too long (over 4096 bytes)") == 0, "a line too long");
	md_errs_free(&e);
	free(text);
}

static const char examples[] =
    "Virus:URIBL multi.surbl.org\nRBL:multi.surbl.org\nLevel:300\nWarning:\n"
    "----- warning -----\n\"URIBL multi.surbl.org\"\n-----\nWarningEnd:\n"
    "Tag:[SPAM !!]\nVirusEnd:\n\n"
    "Virus:Add Header \"X-SPAM:TRUE\"\nLevel:400\nSubject:test\n"
    "Tag:X-SPAM:TRUE\nVirusEnd:\n\n"
    "Virus:Mail Forward by \"X-SPAM:TRUE\"\nLevel:500\n"
    "Forward:xxx@test-sample.jp\nUnique-Header:X-SPAM:TRUE\nVirusEnd:\n\n"
    "Virus:Add Subject Header \"[SPAM]\" AND Mail Forward\nLevel:600\n"
    "Subject:test\nTag:[SPAM]\nForward:xxxx@test-sample.jp\nVirusEnd:\n\n"
    "Virus:Add Header \"X-SPAM:TRUE\" AND Mail Forward\nLevel:700\n"
    "Subject:test\nTag:X-SPAM:TRUE\nForward:xxxx@test-sample.jp\nVirusEnd:\n";

static void
test_parse_ok(void)
{
	struct md_errs e;
	struct md_table *t;
	const struct md_rule *r;
	const char *ctext;
	char sjis[64];
	size_t n;

	memset(&e, 0, sizeof(e));
	t = md_parse("mail.dat", examples, sizeof(examples) - 1, &e);
	if (!ok(t != NULL && t->n == 5, "the five SEEDS.md examples parse"))
		diag("%s", e.n ? e.msg[0] : "");
	if (t != NULL && t->n == 5) {
		r = &t->rules[0];
		ok(r->action == 3 && r->backup == 0 && r->reg == 0 &&
		    strcmp(r->rbl, "multi.surbl.org") == 0 &&
		    strcmp(r->tag, "[SPAM !!]") == 0 && r->warning == NULL,
		    "example 1: 300, RBL, Tag, the Warning: not kept");
		ok(e.nwarn == 1 && strcmp(e.warn[0], "mail.dat:4: rule 'URIBL "
		    "multi.surbl.org': Warning: ignored, Level is not 2xx") == 0,
		    "example 1: the ignored Warning: is a warning");
		r = &t->rules[1];
		ok(r->action == 4 && strcmp(r->tag_name, "X-SPAM") == 0 &&
		    r->nconds == 1 && r->conds[0].field == MDF_SUBJECT,
		    "example 2: 400, Tag X-SPAM, Subject");
		r = &t->rules[2];
		ok(r->action == 5 && strcmp(r->forward, "xxx@test-sample.jp") == 0 &&
		    r->nconds == 1 && r->conds[0].field == MDF_UNIQUE &&
		    strcmp(r->conds[0].hname, "X-SPAM") == 0 &&
		    strcmp(r->conds[0].tok.lit, "true") == 0,
		    "example 3: 500, Forward, Unique-Header X-SPAM");
		ok(t->rules[3].action == 6 && t->rules[4].action == 7 &&
		    t->rules[4].tag_name != NULL,
		    "examples 4 and 5: 600 and 700");
		ok(t->need_body && t->need_rbl, "the table needs the body (RBL)");
	}
	md_table_free(&t);
	md_warns_free(&e);
	md_errs_free(&e);

	/* a rule file line in Shift_JIS is read as such */
	n = (size_t)snprintf(sjis, sizeof(sjis), "Virus:sj\nSubject:%s\n"
	    "Level:100\nVirusEnd:\n", "\x96\xc0\x98\x66");	/* 迷惑 */
	memset(&e, 0, sizeof(e));
	t = md_parse("f", sjis, n, &e);
	ok(t != NULL && t->n == 1 && strcmp(t->rules[0].conds[0].tok.lit,
	    "迷惑") == 0, "a Shift_JIS line is converted to UTF-8");
	md_table_free(&t);
	md_errs_free(&e);

	/* comments, blank lines, CRLF, case-insensitive field names, #blank */
	memset(&e, 0, sizeof(e));
	ctext = "# c\r\n\r\n  # indented\r\nvirus:x\r\nsubject:#BLANK\r\n"
	    "LEVEL:010\r\nfolder:spam\r\nvirusend:\r\n";
	t = md_parse("f", ctext, strlen(ctext), &e);
	ok(t != NULL && t->n == 1 && t->rules[0].conds[0].tok.blank &&
	    t->rules[0].backup == 1 && strcmp(t->rules[0].folder, "spam") == 0,
	    "comments, CRLF, any case, #blank, Folder");
	md_table_free(&t);
	md_errs_free(&e);

	/* a regex token with flags */
	memset(&e, 0, sizeof(e));
	ctext = "Virus:r\nX-Mailer:/^a\\s+b$/ix\nLevel:100\nVirusEnd:\n";
	t = md_parse("f", ctext, strlen(ctext), &e);
	ok(t != NULL && t->rules[0].conds[0].tok.re != NULL &&
	    t->rules[0].conds[0].field == MDF_XMAILER, "a /regex/flags token");
	md_table_free(&t);
	md_errs_free(&e);
}

/* ---- decoders ------------------------------------------------------------ */

static const struct {
	const char	*in;
	const char	*out;
} rfc2047[] = {
	{ "=?ISO-2022-JP?B?GyRCTEJPRyVhITwlaxsoQg==?=", "迷惑メール" },
	{ "=?iso-2022-jp?b?GyRCTEJPRyVhITwlaxsoQg==?=", "迷惑メール" },
	{ "=?ISO-2022-JP?Q?=1B=24BLBOG=1B=28B?=", "迷惑" },
	{ "=?Shift_JIS?B?lsCYZoOBgVuDiw==?=", "迷惑メール" },
	{ "=?Shift_JIS?Q?=96=C0=98f?=", "迷惑" },
	{ "=?EUC-JP?B?zMLPx6Xhobyl6w==?=", "迷惑メール" },
	{ "=?EUC-JP?Q?=CC=C2=CF=C7?=", "迷惑" },
	{ "=?UTF-8?B?6L+35oOR44Oh44O844Or?=", "迷惑メール" },
	{ "=?UTF-8?Q?=E8=BF=B7=E6=83=91?=", "迷惑" },
	{ "=?utf-8?q?a_b=20c?=", "a b c" },
	{ "=?UTF-8*ja?Q?x?=", "x" },			/* RFC 2231 language */
	{ "re: =?UTF-8?Q?a?= =?UTF-8?Q?b?= end", "re: ab end" },
	{ "=?UTF-8?Q?a?=\t \t=?UTF-8?Q?b?=", "ab" },
	{ "a =?UTF-8?Q?b?=c", "a bc" },
	{ "plain text", "plain text" },
	{ "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },	/* unknown encoding */
	{ "=?UTF-8?B?abc", "=?UTF-8?B?abc" },		/* unterminated */
	{ "=?", "=?" },
	{ "=?UTF-8?B?!!!!?=", "" },			/* nothing decodes */
	{ "=?ISO-2022-JP?B?GyRC?=", "" },		/* escape only */
	{ "\x96\xc0\x98\x66", "迷惑" },			/* raw Shift_JIS */
	{ "", "" },
};

static void
test_2047(void)
{
	struct md_text t;
	size_t i;

	for (i = 0; i < NELEM(rfc2047); i++) {
		md_text_init(&t, 4096);
		md_2047(&t, rfc2047[i].in, strlen(rfc2047[i].in));
		md_text_add(&t, "", 0);
		is_str(t.data ? t.data : "", rfc2047[i].out, "rfc2047 %zu: %s",
		    i + 1, rfc2047[i].in);
		md_text_free(&t);
	}
}

static const struct {
	const char	*in;
	const char	*out;
	size_t		 outlen;
} b64[] = {
	{ "", "", 0 },
	{ "YQ==", "a", 1 },
	{ "YWI=", "ab", 2 },
	{ "YWJj", "abc", 3 },
	{ "YW\nJj\r\nZA==", "abcd", 4 },	/* line breaks skipped */
	{ "Y W!J#j", "abc", 3 },		/* junk skipped */
	{ "AAE=", "\0\1", 2 },
	{ "YWJj=ZGVm", "abc", 3 },		/* stops at '=' */
	{ "YWJjZ", "abc", 3 },			/* a lone sextet is dropped */
	{ "////", "\xff\xff\xff", 3 },
};

static const struct {
	const char	*in;
	int		 hdr;
	const char	*out;
} qp[] = {
	{ "abc", 0, "abc" },
	{ "a=3Db", 0, "a=b" },
	{ "a=3db", 0, "a=b" },
	{ "soft=\nbreak", 0, "softbreak" },
	{ "soft=  \r\nbreak", 0, "softbreak" },
	{ "a=XYb", 0, "a=XYb" },		/* not hex: kept */
	{ "end=", 0, "end" },
	{ "end=4", 0, "end=4" },		/* half an escape: kept */
	{ "a_b", 0, "a_b" },
	{ "a_b", 1, "a b" },
	{ "=E8=BF=B7", 0, "迷" },
	{ "=e8=bf=b7", 1, "迷" },
};

static void
test_b64_qp(void)
{
	char out[256];
	size_t i, n;

	for (i = 0; i < NELEM(b64); i++) {
		n = md_b64(b64[i].in, strlen(b64[i].in), out);
		ok(n == b64[i].outlen && memcmp(out, b64[i].out, n) == 0,
		    "base64 %zu: %zu bytes", i + 1, n);
	}
	for (i = 0; i < NELEM(qp); i++) {
		n = md_qp(qp[i].in, strlen(qp[i].in), out, qp[i].hdr);
		out[n] = '\0';
		is_str(out, qp[i].out, "qp %zu", i + 1);
	}
}

static const struct {
	const char	*msg;
	const char	*want;		/* must occur in the decoded text */
	const char	*not;		/* must not, or NULL */
} mime[] = {
	{ "Subject: x\n\nplain body\n", "plain body", NULL },
	{ "Content-Type: text/plain; charset=ISO-2022-JP\n"
	  "Content-Transfer-Encoding: base64\n\nGyRCRnxLXDhsJUYlLSU5JUgbKEI=\n",
	  "日本語テキスト", NULL },
	{ "Content-Type: text/plain; charset=\"Shift_JIS\"\n"
	  "Content-Transfer-Encoding: quoted-printable\n\n=96=C0=98f=\n\n",
	  "迷惑", NULL },
	{ "Content-Type: multipart/mixed;\n boundary=\"XX\"\n\npreamble\n"
	  "--XX\nContent-Type: text/plain; charset=UTF-8\n\nfirst part\n"
	  "--XX\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
	  "aGlkZGVuIHRleHQ=\n--XX\nContent-Type: text/html\n"
	  "Content-Transfer-Encoding: quoted-printable\n\n<b>th=\nird</b>\n"
	  "--XX--\nepilogue\n", "third", "hidden text" },
	{ "Content-Type: multipart/mixed; boundary=XX\n\n--XX\n"
	  "Content-Type: message/rfc822\n\nSubject: inner\n"
	  "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
	  "aW5uZXIgdGV4dA==\n--XX--\n", "inner text", NULL },
	{ "Content-Type: multipart/mixed; boundary=XX\n\n--XX\n\nno close\n",
	  "no close", NULL },
	{ "Content-Type: multipart/mixed\n\nno boundary\n", NULL, "no boundary" },
	{ "Content-Type: text/plain; charset=x-no-such-charset\n\nkept as is\n",
	  "kept as is", NULL },
	{ "\nno header\n", "no header", NULL },
	{ "", NULL, NULL },
};

static void
test_mime(void)
{
	struct md_text t;
	size_t i;
	int good;

	for (i = 0; i < NELEM(mime); i++) {
		md_text_init(&t, 1 << 20);
		md_mime_decode(&t, mime[i].msg, strlen(mime[i].msg));
		md_text_add(&t, "", 0);
		good = (mime[i].want == NULL || (t.data &&
		    strstr(t.data, mime[i].want))) && (mime[i].not == NULL ||
		    t.data == NULL || !strstr(t.data, mime[i].not));
		if (!ok(good, "mime %zu", i + 1))
			diag("decoded: '%s'", t.data ? t.data : "");
		md_text_free(&t);
	}

	/* the ceiling: text past max is dropped */
	md_text_init(&t, 10);
	md_mime_decode(&t, "\n0123456789abcdef\n", 18);
	ok(t.len == 10 && t.full, "the decoded text stops at its ceiling");
	md_text_free(&t);
}

/* ---- URI domains --------------------------------------------------------- */

static const struct {
	const char	*text;
	const char	*doms;		/* space separated, in order */
} uris[] = {
	{ "see http://www.example.com/x", "example.com" },
	{ "https://a.b.Example.CO.JP:8080/", "example.co.jp" },
	{ "http://user@evil.org/ and www.other.net.", "evil.org other.net" },
	{ "http://one.com http://ONE.com/y https://x.one.com", "one.com" },
	{ "no urls, just www or http:// or co.jp", "" },
	{ "http://co.jp/ http://localhost/", "" },
	{ "xwww.notme.com", "" },
	{ "http://t.co/a", "t.co" },
};

static void
test_uris(void)
{
	char doms[MD_RBL_DOMAINS][MD_DOMAIN_MAX + 1], got[1024];
	size_t i, j, n, len;

	for (i = 0; i < NELEM(uris); i++) {
		n = md_uri_domains(uris[i].text, strlen(uris[i].text), doms);
		got[0] = '\0';
		for (j = 0, len = 0; j < n; j++)
			len += (size_t)snprintf(got + len, sizeof(got) - len,
			    "%s%s", j ? " " : "", doms[j]);
		is_str(got, uris[i].doms, "uri %zu: %s", i + 1, uris[i].text);
	}
}

/* ---- matching whole messages --------------------------------------------- */

static const char match_rules[] =
    "Virus:subject\nSubject:迷惑\nLevel:100\nVirusEnd:\n"
    "Virus:and\nFrom:carol@\nTo:bob@\nLevel:100\nVirusEnd:\n"
    "Virus:blank\nX-UIDL:#blank\nReceived:relay.evil\nLevel:100\nVirusEnd:\n"
    "Virus:ctype\nContent-Type:application/x-msdownload\nLevel:100\nVirusEnd:\n"
    "Virus:body\nBody:\nline one\nLINE TWO\nBodyEnd:\nLevel:100\nVirusEnd:\n"
    "Virus:regex\nUnique-Header:X-Score:/^\\d{3,}$/\nLevel:100\nVirusEnd:\n";

static const struct {
	const char	*msg;
	const char	*rule;		/* NULL: none matches */
} matches[] = {
	{ "Subject: =?ISO-2022-JP?B?GyRCTEJPRyVhITwlaxsoQg==?=\n\nx\n", "subject" },
	{ "Subject:\n =?Shift_JIS?B?lsCYZoOBgVuDiw==?=\n\nx\n", "subject" },
	{ "Subject: fine\n\nx\n", NULL },
	{ "From: Carol <carol@x.org>\nTo: bob@y.org\n\nx\n", "and" },
	{ "From: Carol <carol@x.org>\nTo: dave@y.org\n\nx\n", NULL },
	{ "Received: from a\nReceived: from relay.EVIL.org\n\nx\n", "blank" },
	{ "Received: from relay.evil.org\nX-UIDL:\n\nx\n", "blank" },
	{ "Received: from relay.evil.org\nX-UIDL: abc\n\nx\n", NULL },
	{ "Content-Type: Application/X-MSDownload; name=a.exe\n\nx\n", "ctype" },
	{ "Content-Transfer-Encoding: base64\n\nbGluZSBvbmUKbGluZSB0d28K\n", "body" },
	{ "\nline one\n", NULL },
	{ "X-Score: 12345\n\nx\n", "regex" },
	{ "X-Score: 12\n\nx\n", NULL },
	{ "X-Score 12345\n\nx\n", NULL },		/* no colon: no field */
	{ "Subject: \xff\xfe\n\n\xff\n", NULL },	/* undecodable */
	{ "", NULL },			/* empty: no header block at all */
};

static void
test_match(void)
{
	struct md_errs e;
	struct md_table *t;
	struct md_msg m;
	const struct md_rule *r;
	char hit[MD_DOMAIN_MAX + 1];
	size_t i;
	FILE *f;

	memset(&e, 0, sizeof(e));
	t = md_parse("f", match_rules, sizeof(match_rules) - 1, &e);
	if (!ok(t != NULL && t->n == 6, "the match rules parse")) {
		diag("%s", e.n ? e.msg[0] : "");
		md_errs_free(&e);
		return;
	}
	for (i = 0; i < NELEM(matches); i++) {
		f = tmpfile();
		fputs(matches[i].msg, f);
		fflush(f);
		if (md_msg_load(&m, fileno(f), 1, 1 << 20) == -1) {
			ok(0, "match %zu: load", i + 1);
			fclose(f);
			continue;
		}
		r = md_table_match(t, &m, 1 << 20, 100, hit, sizeof(hit));
		is_str(r ? r->name : "(none)", matches[i].rule ? matches[i].rule :
		    "(none)", "match %zu", i + 1);
		md_msg_free(&m);
		fclose(f);
	}
	md_table_free(&t);
	md_errs_free(&e);
}

/* ---- the text a regex requires -------------------------------------------- */

static const struct {
	const char	*re;
	uint32_t	 opts;
	const char	*req;		/* "" none */
} rreq[] = {
	{ "viagra", 0, "viagra" },
	{ "cheap\\s+meds", 0, "cheap" },
	{ "colou?r", 0, "colo" },
	{ "ab+c", 0, "ab" },
	{ "x{2}yz", 0, "yz" },
	{ "a{0,3}bcd", 0, "bcd" },
	{ "win\\.exe", 0, "win.exe" },
	{ "[a-z]+@Example\\.COM", 0, "@example.com" },
	{ "(foo|bar)bazz", 0, "bazz" },
	{ "(?:foo|bar)bazz", 0, "bazz" },
	{ "^Subject: hi$", 0, "subject: hi" },
	{ "foo\\b", 0, "foo" },
	{ "\\d{3}-\\d{4}", 0, "-" },
	{ "[]ab]cd", 0, "cd" },
	{ "[[:alpha:]]xy", 0, "xy" },
	{ "\xe6\x97\xa5\xe6\x9c\xac?x", 0, "\xe6\x97\xa5" },
	{ "Hello World", PCRE2_CASELESS, "hello world" },
	{ "kiss me", PCRE2_CASELESS, " me" },
	{ "\xe6\x97\xa5\xe6\x9c\xac", PCRE2_CASELESS, "" },
	{ "a|b", 0, "" },
	{ "abc|", 0, "" },
	{ "(?i)abc", 0, "" },
	{ "(?=ab)abc", 0, "" },
	{ "(*UCP)abc", 0, "" },
	{ "\\Qa.b\\E", 0, "" },
	{ "a\\x41b", 0, "" },
	{ "(a)\\1bb", 0, "" },
	{ "abc{,3}", 0, "" },
	{ "abc{", 0, "" },
	{ "x*", 0, "" },
	{ "*x", 0, "" },
	{ "abc)", 0, "" },
	{ "abc", PCRE2_EXTENDED, "" },
};

/* texts a regex may or may not match: the required text is in every one
 * it matches (lower-cased), which is all that skipping it relies on */
static const char *const rsubj[] = {
	"VIAGRA now", "cheap  meds", "COLOR", "colour", "abbbc", "xxyz",
	"aaabcd", "WIN.EXE", "joe@example.com", "barbazz", "Subject: hi",
	"foo bar", "555-1234", "]cd", "bxy", "\xe6\x97\xa5x", "HELLO WORLD",
	"\xe2\x84\xaaiss me", "ki\xc5\xbf\xc5\xbf me", "KISS ME", "abc", "abcabc",
	"\xe6\x97\xa5\xe6\x9c\xac", "",
};

static void
test_required(void)
{
	char out[256], low[256];
	size_t i, k, n;

	for (i = 0; i < NELEM(rreq); i++) {
		n = md_re_required(rreq[i].re, strlen(rreq[i].re), rreq[i].opts,
		    out, sizeof(out));
		out[n] = '\0';
		is_str(out, rreq[i].req, "required text of /%s/ (case %zu)",
		    rreq[i].re, i);
	}
	for (i = 0; i < NELEM(rreq); i++) {
		uint32_t opts = rreq[i].opts | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
		pcre2_match_data *md;
		pcre2_code *re;
		PCRE2_SIZE off;
		int code, bad = 0;

		re = pcre2_compile((PCRE2_SPTR)rreq[i].re, PCRE2_ZERO_TERMINATED,
		    opts, &code, &off, NULL);
		if (re == NULL)
			continue;	/* "*x", "abc)": not a regex at all */
		md = pcre2_match_data_create(1, NULL);
		n = md_re_required(rreq[i].re, strlen(rreq[i].re), rreq[i].opts,
		    out, sizeof(out));
		for (k = 0; k < NELEM(rsubj); k++) {
			size_t sl = strlen(rsubj[k]);

			memcpy(low, rsubj[k], sl);
			md_lower(low, sl);
			if (pcre2_match(re, (PCRE2_SPTR)rsubj[k], sl, 0, 0, md,
			    NULL) >= 0 && n > 0 && memmem(low, sl, out, n) == NULL) {
				bad = 1;
				diag("/%s/ matches \"%s\" without \"%.*s\"",
				    rreq[i].re, rsubj[k], (int)n, out);
			}
		}
		ok(!bad, "/%s/: every text it matches holds what it requires",
		    rreq[i].re);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
}

int
main(void)
{
	plan_no_plan();
	test_parse_errors();
	test_parse_many();
	test_parse_ok();
	test_2047();
	test_b64_qp();
	test_mime();
	test_uris();
	test_match();
	test_required();
	return done_testing();
}
