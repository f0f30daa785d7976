/*
 * t/unit/mailparser.c - the MIME walk of yubin-mailparser (lib/mailparser.c):
 * boundaries (RFC 2046 §5.1), transfer decoding, the nesting and part
 * bounds, parameters (RFC 2231, RFC 2047) and file name sanitizing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "buf.h"
#include "mailparser.h"
#include "utf8.h"

#define GOT_MAX	64

struct got {
	unsigned	 n;
	char		 type[GOT_MAX][128];
	char		 name[GOT_MAX][MP_NAME_MAX + 1];
	char		 body[GOT_MAX][256];	/* decoded */
	size_t		 bad[GOT_MAX];
	int		 attach[GOT_MAX];
	int		 depth[GOT_MAX];
	int		 stop_at;		/* return -1 at this part */
};

static int
collect(void *ctx, const struct mp_part *p)
{
	struct got *g = ctx;
	struct buf b;
	size_t bad;

	if (g->n < GOT_MAX) {
		snprintf(g->type[g->n], sizeof(g->type[0]), "%s", p->type);
		snprintf(g->name[g->n], sizeof(g->name[0]), "%s", p->filename);
		buf_init(&b, 1 << 20);
		if (mp_decode(p, &b, &bad) == 0)
			snprintf(g->body[g->n], sizeof(g->body[0]), "%.*s",
			    (int)b.len, b.data ? b.data : "");
		g->bad[g->n] = bad;
		g->attach[g->n] = p->attachment;
		g->depth[g->n] = p->depth;
		buf_free(&b);
	}
	g->n++;
	return g->stop_at && (int)g->n == g->stop_at ? -1 : 0;
}

static int
parse(const char *msg, struct got *g, unsigned *warn)
{
	const char *why = NULL;

	memset(g, 0, sizeof(*g));
	return mp_parse(msg, strlen(msg), collect, g, warn, &why);
}

/* nest - a message of DEPTH nested multiparts around one text part. */
static char *
nest(int depth)
{
	struct buf b;
	int i;

	buf_init(&b, 0);
	for (i = 0; i < depth; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n"
		    "--b%d\n", i, i);
	buf_printf(&b, "Content-Type: text/plain\n\ninner\n");
	for (i = depth - 1; i >= 0; i--)
		buf_printf(&b, "--b%d--\n", i);
	return buf_steal(&b);
}

static void
test_walk(void)
{
	struct got g;
	unsigned warn;
	char *m;
	struct buf b;
	int i;

	/* 1: a plain message is one text/plain part; CRLF line ends */
	is_int(parse("Subject: x\r\n\r\nhello\r\n", &g, &warn), 0, "1 plain parses");
	is_int((int)g.n, 1, "1 one part");
	is_str(g.type[0], "text/plain", "1 default type");
	is_str(g.body[0], "hello\r\n", "1 body as it is");
	is_int((int)warn, 0, "1 no warning");

	/* 2: multipart/mixed with preamble, epilogue, two parts: the line
	 * end before each delimiter belongs to the delimiter */
	is_int(parse("Content-Type: multipart/mixed; boundary=\"XX\"\n\n"
	    "preamble\n--XX\nContent-Type: text/plain\n\none\n"
	    "--XX  \nContent-Type: text/html\n\n<p>two</p>\n\n--XX--\nepilogue\n",
	    &g, &warn), 0, "2 multipart parses");
	is_int((int)g.n, 2, "2 two parts");
	is_str(g.body[0], "one", "2 first part ends before the delimiter's line end");
	is_str(g.type[1], "text/html", "2 second type");
	is_str(g.body[1], "<p>two</p>\n", "2 a blank line before the delimiter stays");
	is_int((int)warn, 0, "2 well formed");

	/* 3: a boundary that is a prefix of a line is not a delimiter */
	is_int(parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n"
	    "--bb is text\n--b--\n", &g, &warn), 0, "3 parses");
	is_int((int)g.n, 1, "3 one part");
	is_str(g.body[0], "--bb is text", "3 '--bb' is body text");

	/* 4: missing closing boundary: the last part runs to the end */
	is_int(parse("Content-Type: multipart/mixed; boundary=q\n\n--q\n\na\n"
	    "--q\n\nlast part\n", &g, &warn), 0, "4 parses");
	is_int((int)g.n, 2, "4 both parts");
	is_str(g.body[1], "last part\n", "4 last part to the end");
	ok(warn & MP_W_NOCLOSE, "4 MP_W_NOCLOSE");

	/* 5: a multipart whose boundary never comes is one part */
	is_int(parse("Content-Type: multipart/mixed; boundary=zz\n\nno parts\n",
	    &g, &warn), 0, "5 parses");
	is_int((int)g.n, 1, "5 one part");
	ok(warn & MP_W_NOSTART, "5 MP_W_NOSTART");
	is_int(parse("Content-Type: multipart/mixed\n\n--\n", &g, &warn), 0,
	    "5b no boundary parameter");
	ok(g.n == 1 && (warn & MP_W_NOSTART), "5b one part, MP_W_NOSTART");

	/* 6: nesting: 16 levels are walked, 17 are cut to one part */
	m = nest(MP_DEPTH_MAX);
	is_int(parse(m, &g, &warn), 0, "6 depth 16 parses");
	ok(g.n == 1 && strcmp(g.type[0], "text/plain") == 0 &&
	    g.depth[0] == MP_DEPTH_MAX && warn == 0, "6 depth 16 reaches the leaf");
	free(m);
	m = nest(MP_DEPTH_MAX + 1);
	is_int(parse(m, &g, &warn), 0, "6 depth 17 parses");
	ok(g.n == 1 && strcmp(g.type[0], "multipart/mixed") == 0 &&
	    (warn & MP_W_DEPTH), "6 depth 17: one multipart leaf, MP_W_DEPTH");
	free(m);
	m = nest(5000);		/* deep input never recurses deeper */
	is_int(parse(m, &g, &warn), 0, "6 depth 5000 parses");
	ok(warn & MP_W_DEPTH, "6 depth 5000 bounded");
	free(m);

	/* 7: part count bound */
	buf_init(&b, 0);
	buf_printf(&b, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (i = 0; i < MP_PARTS_MAX + 5; i++)
		buf_printf(&b, "--p\n\n%d\n", i);
	buf_printf(&b, "--p--\n");
	is_int(parse(b.data, &g, &warn), 0, "7 many parts parse");
	is_int((int)g.n, MP_PARTS_MAX, "7 at most 1000 handed out");
	ok(warn & MP_W_PARTS, "7 MP_W_PARTS");
	buf_free(&b);

	/* 8: message/rfc822 is entered; digest children default to it */
	is_int(parse("Content-Type: message/rfc822\n\nSubject: in\n"
	    "Content-Type: text/html\n\n<b>x</b>\n", &g, &warn), 0, "8 parses");
	ok(g.n == 1 && strcmp(g.type[0], "text/html") == 0 && g.depth[0] == 1,
	    "8 the embedded message's part");
	is_int(parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
	    "Content-Type: image/png\n\nPNG\n--d--\n", &g, &warn), 0, "8b digest");
	ok(g.n == 1 && strcmp(g.type[0], "image/png") == 0, "8b digest child is a message");

	/* 9: a header block over MP_HEADER_MAX is an error */
	buf_init(&b, 0);
	buf_printf(&b, "Subject: x\n");
	for (i = 0; i < MP_HEADER_MAX / 20 + 10; i++)
		buf_printf(&b, "X-Filler: 0123456789\n");
	buf_printf(&b, "\nbody\n");
	{
		const char *why = "";

		memset(&g, 0, sizeof(g));
		is_int(mp_parse(b.data, b.len, collect, &g, &warn, &why), -1,
		    "9 huge header refused");
		is_str(why, "header block longer than 262144 bytes", "9 why");
	}
	buf_free(&b);
	buf_init(&b, 0);
	buf_printf(&b, "Content-Type: multipart/mixed; boundary=h\n\n--h\n");
	for (i = 0; i < MP_HEADER_MAX / 20 + 10; i++)
		buf_printf(&b, "X-Filler: 0123456789\n");
	buf_printf(&b, "\nbody\n--h--\n");
	is_int(parse(b.data, &g, &warn), -1, "9b huge part header refused");
	buf_free(&b);

	/* 9c: header blocks: LF, CRLF, none at all, no body */
	{
		size_t hl, bo;

		ok(mp_header_split("A: b\n\nx", 8, &hl, &bo) == 0 && hl == 5 &&
		    bo == 6, "9c LF");
		ok(mp_header_split("A: b\r\n\r\nx", 11, &hl, &bo) == 0 &&
		    hl == 6 && bo == 8, "9c CRLF");
		ok(mp_header_split("A: b\nC: d", 10, &hl, &bo) == 0 && hl == 10 &&
		    bo == 10, "9c all header");
		ok(mp_header_split("\nbody", 5, &hl, &bo) == 0 && hl == 0 &&
		    bo == 1, "9c no header");
	}

	/* 10: the callback stops the walk */
	memset(&g, 0, sizeof(g));
	g.stop_at = 1;
	{
		const char *why = "";

		static const char two[] = "Content-Type: multipart/mixed; "
		    "boundary=s\n\n--s\n\na\n--s\n\nb\n--s--\n";

		is_int(mp_parse(two, strlen(two), collect, &g, &warn, &why),
		    -1, "10 stopped");
		ok(g.n == 1 && strcmp(why, "stopped") == 0, "10 after one part");
	}
}

static void
test_decode(void)
{
	struct got g;
	unsigned warn;

	/* 11: base64 with line breaks */
	parse("Content-Transfer-Encoding: base64\n\naGVs\nbG8g\r\nd29y\nbGQ=\n",
	    &g, &warn);
	is_str(g.body[0], "hello world", "11 base64");
	is_int((int)g.bad[0], 0, "11 nothing bad");
	/* 12: bad base64: junk skipped and counted */
	parse("Content-Transfer-Encoding: BASE64\n\naGVs*bG8$\n", &g, &warn);
	is_str(g.body[0], "hello", "12 bad base64: the valid characters decoded");
	is_int((int)g.bad[0], 2, "12 two bad characters");
	parse("Content-Transfer-Encoding: base64\n\naGVsbA==aGk=\n", &g, &warn);
	ok(g.bad[0] > 0, "12b data after padding is bad");
	parse("Content-Transfer-Encoding: base64\n\naGVsb\n", &g, &warn);
	is_int((int)g.bad[0], 1, "12c a dangling character is bad");
	/* 13: quoted-printable */
	parse("Content-Transfer-Encoding: quoted-printable\n\n"
	    "caf=C3=A9 =\nsoft=3d=20\n=ZZ end=", &g, &warn);
	is_str(g.body[0], "caf\xc3\xa9 soft= \n=ZZ end", "13 quoted-printable");
	is_int((int)g.bad[0], 1, "13 '=ZZ' counted");
	/* 14: unknown encodings are copied */
	parse("Content-Transfer-Encoding: 8bit\n\n=41\n", &g, &warn);
	is_str(g.body[0], "=41\n", "14 8bit as it is");
}

static void
test_names(void)
{
	static const struct {
		const char	*field;
		const char	*want;
		const char	*name;
	} pc[] = {
		{ "attachment; filename=plain.txt", "plain.txt", "15 token" },
		{ "attachment; filename=\"a \\\"q\\\" b.txt\"", "a \"q\" b.txt",
		    "16 quoted with escapes" },
		{ "attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt",
		    "\xe6\x97\xa5\xe6\x9c\xac.txt", "17 RFC 2231 UTF-8" },
		{ "attachment; filename*0=\"long\"; filename*1=\"name\";"
		    " filename*2=\".pdf\"", "longname.pdf", "18 RFC 2231 continuations" },
		{ "attachment; filename*0*=iso-8859-1'en'caf%E9; filename*1=\".txt\"",
		    "caf\xc3\xa9.txt", "19 RFC 2231 charset, then a plain part" },
		{ "attachment; filename=\"=?UTF-8?B?5pel5pys?= =?UTF-8?Q?_x.txt?=\"",
		    "\xe6\x97\xa5\xe6\x9c\xac x.txt", "20 RFC 2047 words, blank between dropped" },
		{ "attachment; filename=\"=?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=.doc\"",
		    "\xe6\x97\xa5\xe6\x9c\xac.doc", "21 RFC 2047 ISO-2022-JP" },
		{ "attachment; filename=\"=?bad\"", "=?bad", "22 a malformed word stays" },
		{ "attachment; filename=a.txt; filename*=utf-8''b.txt", "b.txt",
		    "23 the RFC 2231 form wins" },
	};
	static const struct {
		const char	*in;
		const char	*want;
		const char	*name;
	} sc[] = {
		{ "../../etc/passwd", "___.._etc_passwd", "24 ../ cannot climb" },
		{ "/etc/passwd", "_etc_passwd", "25 absolute path" },
		{ ".bashrc", "_bashrc", "26 no leading dot" },
		{ "..", "", "27 '..' is nothing" },
		{ "a\\b\x01" "c\x7f.txt", "a_b_c_.txt", "28 backslash and control" },
		{ "caf\xe9.txt", "caf_.txt", "29 not UTF-8" },
		{ " name. ", "_name", "30 blanks and trailing dots" },
		{ "\xe6\x97\xa5.txt", "\xe6\x97\xa5.txt", "31 UTF-8 kept" },
	};
	char out[MP_NAME_MAX + 1], safe[MP_SAFE_MAX + 1], longname[400];
	size_t i, n;
	struct got g;
	unsigned warn;

	for (i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
		ok(mp_param(pc[i].field, "filename", out, sizeof(out)) == 1,
		    "%s: found", pc[i].name);
		is_str(out, pc[i].want, "%s", pc[i].name);
	}
	ok(mp_param("attachment; name=x", "filename", out, sizeof(out)) == 0,
	    "32 'name' is not 'filename'");
	for (i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		n = mp_filename_sanitize(sc[i].in, strlen(sc[i].in), safe,
		    sizeof(safe));
		is_str(safe, sc[i].want, "%s", sc[i].name);
		ok(n == strlen(sc[i].want), "%s: length", sc[i].name);
		ok(strchr(safe, '/') == NULL && safe[0] != '.', "%s: safe", sc[i].name);
	}
	/* 33: a long name is cut at a character, its extension kept */
	memset(longname, 0, sizeof(longname));
	for (i = 0; i + 3 < 300; i += 3)
		memcpy(longname + i, "\xe6\x97\xa5", 3);
	memcpy(longname + i, ".pdf", 5);
	n = mp_filename_sanitize(longname, strlen(longname), safe, sizeof(safe));
	ok(n <= MP_SAFE_MAX && n == strlen(safe), "33 bounded (%zu)", n);
	ok(strcmp(safe + n - 4, ".pdf") == 0, "33 extension kept");
	ok((n - 4) % 3 == 0, "33 cut at a character");

	/* 33b: the cut never splits a character */
	memset(longname, 0, sizeof(longname));
	longname[0] = 'a';
	for (i = 1; i + 2 < 300; i += 2)
		memcpy(longname + i, "\xc3\xa9", 2);
	memcpy(longname + i, ".txt", 5);
	n = mp_filename_sanitize(longname, strlen(longname), safe, sizeof(safe));
	ok(n == 99 && utf8_valid(safe, n), "33b cut back to a character (%zu)", n);

	/* 34: a part's file name from Content-Type name= or the disposition */
	parse("Content-Type: multipart/mixed; boundary=f\n\n--f\n"
	    "Content-Type: application/pdf; name=\"ct.pdf\"\n\n%PDF\n--f\n"
	    "Content-Type: application/pdf; name=\"ct.pdf\"\n"
	    "Content-Disposition: attachment;\n filename=\"../../etc/passwd\"\n\n"
	    "x\n--f--\n", &g, &warn);
	is_str(g.name[0], "ct.pdf", "34 name= of Content-Type");
	is_str(g.name[1], "../../etc/passwd", "34 folded disposition filename wins");
	ok(g.attach[1] && !g.attach[0], "34 attachment flag");
}

int
main(void)
{
	plan_no_plan();
	test_walk();
	test_decode();
	test_names();
	return done_testing();
}
