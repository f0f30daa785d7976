/*
 * t/unit/spawn_argv.c - the SUBJECT conversion and the argument vector of
 * yh_spawn (daemon/spawn_argv.c): a buffer filled exactly and then given
 * an invalid byte (the Subject that overflowed the queue manager's stack),
 * invalid bytes (EILSEQ), a character cut at the end (EINVAL), output
 * larger than a chunk (E2BIG), empty and huge input, "=?" that is no
 * encoded word, charset names that are not plain; and argv: placeholders
 * as whole arguments (a value starting with '-' stays one argument), the
 * word and argument limits, unbalanced quotes.  Every output buffer sits
 * in front of a guard zone that must stay untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "spawn_argv.h"
#include "utf8.h"

#define GUARD		64
#define GUARD_BYTE	0x5a

static char area[SPAWN_SUBJECT_MAX + GUARD];

/* fresh - an output buffer of SIZE bytes followed by the guard. */
static char *
fresh(size_t size)
{
	memset(area, GUARD_BYTE, sizeof(area));
	return area + SPAWN_SUBJECT_MAX - size;
}

/* guard_ok - the GUARD bytes after the buffer are untouched. */
static int
guard_ok(void)
{
	size_t i;

	for (i = SPAWN_SUBJECT_MAX; i < sizeof(area); i++)
		if ((unsigned char)area[i] != GUARD_BYTE)
			return 0;
	return 1;
}

static char *
repeat(const char *unit, size_t n, const char *head, const char *tail)
{
	size_t ul = strlen(unit), hl = strlen(head), tl = strlen(tail), i;
	char *s = malloc(hl + ul * n + tl + 1), *p = s;

	memcpy(p, head, hl);
	p += hl;
	for (i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

static void
test_conv(void)
{
	char *out, *in;
	size_t ol;
	int r;

	/* the overflow: OUT exactly full, then an invalid byte */
	out = fresh(64);
	ol = 0;
	in = repeat("A", 63, "", "");
	is_int(spawn_conv_append("us-ascii", in, 63, out, 64, &ol), 0, "63 bytes fit in 64");
	free(in);
	is_int(ol, 63, "the buffer is exactly full");
	r = spawn_conv_append("shift_jis", "\xff\xff\xff\xff", 4, out, 64, &ol);
	ok(r == -1 && ol == 63 && out[63] == '\0' && guard_ok(),
	    "exactly full, then EILSEQ: refused, nothing written past the end");

	/* iconv fills the room to the last byte, then meets an invalid byte */
	out = fresh(8);
	ol = 4;
	memcpy(out, "abcd", 5);
	r = spawn_conv_append("shift_jis", "\x82\xa0\xff\xff\xff", 5, out, 8, &ol);
	ok(r == -1 && ol == 7 && strcmp(out, "abcd\xe3\x81\x82") == 0 && guard_ok(),
	    "a character fills the room to the byte, the invalid bytes after it are cut");

	/* EILSEQ in the middle */
	out = fresh(64);
	ol = 0;
	r = spawn_conv_append("shift_jis", "\x82\xa0\xff\x82\xa2", 5, out, 64, &ol);
	ok(r == 0 && strcmp(out, "\xe3\x81\x82?\xe3\x81\x84") == 0 && guard_ok(),
	    "EILSEQ: an invalid byte becomes '?', conversion goes on");

	/* EINVAL: a character cut at the end */
	out = fresh(64);
	ol = 0;
	r = spawn_conv_append("shift_jis", "\x82\xa0\x82", 3, out, 64, &ol);
	ok(r == 0 && strcmp(out, "\xe3\x81\x82?") == 0 && guard_ok(),
	    "EINVAL: a multibyte character cut at the end becomes one '?'");

	/* E2BIG: more output than one iconv chunk, and more than fits */
	in = repeat("\x82\xa0", 1000, "", "");
	out = fresh(SPAWN_SUBJECT_MAX);
	ol = 0;
	r = spawn_conv_append("shift_jis", in, 2000, out, SPAWN_SUBJECT_MAX, &ol);
	ok(r == 0 && ol == 3000 && utf8_valid(out, ol) && guard_ok(),
	    "E2BIG: 3000 bytes of output come through the chunks whole");
	out = fresh(101);
	ol = 0;
	r = spawn_conv_append("shift_jis", in, 2000, out, 101, &ol);
	ok(r == -1 && ol == 99 && utf8_valid(out, ol) && guard_ok(),
	    "E2BIG into a small buffer: cut at a character boundary (99 of 100)");
	free(in);

	/* UTF-8 as it is: cut at a character boundary */
	out = fresh(5);
	ol = 0;
	r = spawn_conv_append("utf-8", "\xe3\x81\x82\xe3\x81\x84", 6, out, 5, &ol);
	ok(r == -1 && ol == 3 && strcmp(out, "\xe3\x81\x82") == 0 && guard_ok(),
	    "UTF-8 that does not fit is cut before the character that does not");

	/* empty input, a one-byte buffer, a count past the buffer */
	out = fresh(1);
	ol = 0;
	ok(spawn_conv_append("utf-8", "", 0, out, 1, &ol) == 0 && ol == 0,
	    "empty input into a one-byte buffer: nothing to do");
	ok(spawn_conv_append("shift_jis", "\xff", 1, out, 1, &ol) == -1 && ol == 0 &&
	    out[0] == '\0' && guard_ok(), "one invalid byte into a one-byte buffer: full");
	out = fresh(16);
	ol = 40;
	ok(spawn_conv_append("utf-8", "x", 1, out, 16, &ol) == -1 && ol == 15 &&
	    guard_ok(), "a count past the buffer is pulled back, never used");
	ol = 0;
	ok(spawn_conv_append("utf-8", "x", 1, out, 0, &ol) == -1 && guard_ok(),
	    "a zero-sized buffer: refused");

	/* charset names from mail */
	out = fresh(64);
	ol = 0;
	ok(spawn_conv_append("UTF-8//TRANSLIT", "\xe9", 1, out, 64, &ol) == 0 &&
	    strcmp(out, "\xc3\xa9") == 0, "a name with '/' is not given to iconv (ISO-8859-1)");
	ol = 0;
	ok(spawn_conv_append("no-such-charset", "\xe9", 1, out, 64, &ol) == 0 &&
	    strcmp(out, "\xc3\xa9") == 0, "an unknown charset is read as ISO-8859-1");
	ol = 0;
	ok(spawn_conv_append("utf-8", "\x82\xa0", 2, out, 64, &ol) == 0 &&
	    strcmp(out, "\xe3\x81\x82") == 0 && guard_ok(),
	    "\"utf-8\" that is not UTF-8 is read as Shift_JIS (CP932)");
}

static void
subj(const char *raw, size_t size, const char *want, const char *name)
{
	char *out = fresh(size);
	size_t n = spawn_subject_utf8(raw, out, size);

	ok(n == strlen(out) && strcmp(out, want) == 0 && guard_ok(), "%s", name);
	if (strcmp(out, want) != 0)
		diag("got '%s', want '%s'", out, want);
}

static void
test_subject(void)
{
	char *raw, *out;
	size_t n, i;

	/* the Subject of the report: 4092 A, a word, 3000 invalid bytes */
	raw = repeat("=FF", 3000, "", "?=");
	{
		char *a = repeat("A", 4092, "", "=?shift_jis?Q?=82=A0");
		char *all = malloc(strlen(a) + strlen(raw) + 1);

		strcpy(all, a);
		strcat(all, raw);
		out = fresh(SPAWN_SUBJECT_MAX);
		n = spawn_subject_utf8(all, out, SPAWN_SUBJECT_MAX);
		ok(n == 4095 && strcmp(out + 4092, "\xe3\x81\x82") == 0 && guard_ok(),
		    "4092 A + a Shift_JIS word + 3000 invalid bytes: 4095 bytes, nothing past");
		free(a);
		free(all);
	}
	free(raw);
	/* the same through every fill level around the end */
	for (i = 4080; i < 4100; i++) {
		char *a = repeat("A", i, "", "=?shift_jis?Q?=82=A0=FF=FF=FF=82?=");

		out = fresh(SPAWN_SUBJECT_MAX);
		n = spawn_subject_utf8(a, out, SPAWN_SUBJECT_MAX);
		free(a);
		if (!ok(n < SPAWN_SUBJECT_MAX && out[n] == '\0' && utf8_valid(out, n) &&
		    guard_ok(), "%zu A then a word with invalid bytes: bounded", i))
			break;
	}

	subj("", 16, "", "empty");
	subj("anything", 1, "", "a one-byte buffer holds the NUL only");
	subj("plain text", 64, "plain text", "plain text");
	subj("=?UTF-8?B?44GC?= =?UTF-8?B?44GE?=", 64, "\xe3\x81\x82\xe3\x81\x84",
	    "two B words: the blank between them dropped");
	subj("abc =?utf-8?Q?x_y?= def", 64, "abc x y def", "Q word between text: blanks kept");
	subj("=?iso-2022-jp?B?GyRCJCIbKEI=?=", 64, "\xe3\x81\x82", "ISO-2022-JP");
	subj("=?utf-8*ja?Q?z?=", 64, "z", "RFC 2231 language dropped");
	subj("a\tb=?utf-8?Q?=00=01?=c", 64, "a b  c", "control characters and NUL become blanks");
	subj("=?foo", 64, "=?foo", "\"=?\" that is no word is text (and ends)");
	subj("=??Q?x?=", 64, "=??Q?x?=", "an empty charset is no word");
	subj("=?utf-8?X?x?=", 64, "=?utf-8?X?x?=", "an encoding other than B or Q is no word");
	subj("=?utf-8?B?!!!?=", 64, "=?utf-8?B?!!!?=", "a B text outside the alphabet stays text");
	subj("=?shift_jis?Q?=82?=", 64, "?", "a Shift_JIS word cut inside a character");
	subj("\x82\xa0\x82\xa2", 64, "\xe3\x81\x82\xe3\x81\x84", "raw Shift_JIS");
	subj("\xe3\x81\x82\xe3\x81\x84", 5, "\xe3\x81\x82", "raw UTF-8 cut at a character");

	/* huge input: linear, bounded */
	raw = repeat("=?", 500000, "", "");
	out = fresh(SPAWN_SUBJECT_MAX);
	n = spawn_subject_utf8(raw, out, SPAWN_SUBJECT_MAX);
	ok(n == SPAWN_SUBJECT_MAX - 1 && guard_ok(), "a megabyte of \"=?\": cut, ends");
	free(raw);
	raw = repeat("=?a?Q?", 100000, "", "");
	out = fresh(SPAWN_SUBJECT_MAX);
	n = spawn_subject_utf8(raw, out, SPAWN_SUBJECT_MAX);
	ok(n == SPAWN_SUBJECT_MAX - 1 && guard_ok(), "100000 words never closed: cut, ends");
	free(raw);
	raw = repeat("=?shift_jis?Q?=FF?=", 100000, "", "");
	out = fresh(SPAWN_SUBJECT_MAX);
	n = spawn_subject_utf8(raw, out, SPAWN_SUBJECT_MAX);
	ok(n == SPAWN_SUBJECT_MAX - 1 && guard_ok(), "100000 invalid words: cut, ends");
	free(raw);
	raw = repeat("\xff", 1 << 20, "", "");
	out = fresh(SPAWN_SUBJECT_MAX);
	n = spawn_subject_utf8(raw, out, SPAWN_SUBJECT_MAX);
	ok(n == SPAWN_SUBJECT_MAX - 1 && guard_ok(), "a megabyte of raw invalid bytes: cut");
	free(raw);
	raw = repeat("QUFB", 300000, "=?utf-8?B?", "?=");
	out = fresh(SPAWN_SUBJECT_MAX);
	n = spawn_subject_utf8(raw, out, SPAWN_SUBJECT_MAX);
	ok(n == SPAWN_SUBJECT_MAX - 1 && guard_ok(), "one B word of 1.2 MB: cut");
	free(raw);

	/* random bytes from the alphabets that matter, every size */
	{
		static const char alpha[] = "=?QqBb_ \t\x82\xa0\xff\xe3\x81\x1b$(AZaz09+/";
		unsigned seed = 12345;
		char buf[600];
		int bad = 0, k;

		for (k = 0; k < 3000 && !bad; k++) {
			size_t len = (size_t)(k % 590), j, sz = (size_t)(k % 70) + 1;

			for (j = 0; j < len; j++) {
				seed = seed * 1103515245u + 12345u;
				buf[j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
			}
			buf[len] = '\0';
			if (k % 5 == 0)
				memcpy(buf, "=?shift_jis?Q?", len > 14 ? 14 : len);
			out = fresh(sz);
			n = spawn_subject_utf8(buf, out, sz);
			if (n >= sz || out[n] != '\0' || !guard_ok())
				bad = 1;
		}
		ok(!bad, "3000 random subjects into buffers of 1..70 bytes: bounded");
	}
}

static void
test_argv(void)
{
	struct spawn_argv *a = malloc(sizeof(*a));
	struct spawn_values v = { "-fx@example.org", "bob@localhost",
	    "=?utf-8?Q?-rf_/?=" };
	const char *args[] = { "FROM_ADDRESS", "TO_ADDRESS", "-mf", "MAILFILE_PATH",
	    "SUBJECT", "SUBJECT", NULL };
	const char *why = NULL;
	char cmd[512];
	const char **many;
	int i, r;

	strcpy(cmd, "FROM_ADDRESS \"a b\" c");
	r = spawn_argv_build(cmd, args, &v, a, &why);
	ok(r == 0 && a->argc == 9 && a->argv[9] == NULL, "three words and six arguments");
	is_str(a->argv[0], "FROM_ADDRESS", "the program is never a placeholder");
	is_str(a->argv[1], "a b", "\"double quotes\" group a word");
	is_str(a->argv[3], "-fx@example.org", "a sender starting with '-' is one argument, as it is");
	is_str(a->argv[4], "bob@localhost", "TO_ADDRESS");
	ok(a->mailfile[6] && a->need_mailfile && !a->mailfile[5],
	    "MAILFILE_PATH is marked for the caller");
	is_str(a->argv[7], "-rf /", "SUBJECT decoded, one argument");
	ok(a->argv[8] == a->argv[7], "SUBJECT twice: decoded once");

	strcpy(cmd, "prog SUBJECT");
	ok(spawn_argv_build(cmd, args, NULL, a, &why) == 0 &&
	    strcmp(a->argv[1], "SUBJECT") == 0 && strcmp(a->argv[2], "FROM_ADDRESS") == 0 &&
	    !a->need_mailfile, "without a delivery the words stay as written");

	strcpy(cmd, "");
	ok(spawn_argv_build(cmd, NULL, NULL, a, &why) == -1 && why, "an empty command");
	strcpy(cmd, "  \t ");
	ok(spawn_argv_build(cmd, NULL, NULL, a, &why) == -1, "a blank command");
	strcpy(cmd, "\"/bin/echo unbalanced");
	ok(spawn_argv_build(cmd, NULL, NULL, a, &why) == -1, "an unbalanced quote");
	cmd[0] = '\0';
	for (i = 0; i < SPAWN_WORDS_MAX; i++)
		strcat(cmd, "w ");
	ok(spawn_argv_build(cmd, NULL, NULL, a, &why) == 0 && a->argc == SPAWN_WORDS_MAX,
	    "%d words", SPAWN_WORDS_MAX);
	cmd[0] = '\0';
	for (i = 0; i <= SPAWN_WORDS_MAX; i++)
		strcat(cmd, "w ");
	ok(spawn_argv_build(cmd, NULL, NULL, a, &why) == -1, "%d words: refused",
	    SPAWN_WORDS_MAX + 1);

	many = malloc((SPAWN_ARGV_MAX + 2) * sizeof(*many));
	for (i = 0; i < SPAWN_ARGV_MAX + 1; i++)
		many[i] = "SUBJECT";
	many[SPAWN_ARGV_MAX - 1] = NULL;
	strcpy(cmd, "prog");
	ok(spawn_argv_build(cmd, many, &v, a, &why) == 0 && a->argc == SPAWN_ARGV_MAX &&
	    a->argv[SPAWN_ARGV_MAX] == NULL, "%d arguments in all", SPAWN_ARGV_MAX);
	many[SPAWN_ARGV_MAX - 1] = "x";
	many[SPAWN_ARGV_MAX] = NULL;
	strcpy(cmd, "prog");
	ok(spawn_argv_build(cmd, many, &v, a, &why) == -1 &&
	    a->argv[SPAWN_ARGV_MAX] == NULL, "%d: refused", SPAWN_ARGV_MAX + 1);
	free(many);
	free(a);
}

int
main(void)
{
	plan_no_plan();
	test_conv();
	test_subject();
	test_argv();
	return done_testing();
}
