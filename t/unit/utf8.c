/*
 * t/unit/utf8.c - utf8_valid: RFC 3629 well-formedness, the 8-byte ASCII
 * path, and sequences cut at the end; text_charset's guesses.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/tap.h"
#include "utf8.h"

int
main(void)
{
	static const struct {
		const char	*s;
		size_t		 len;	/* 0: strlen */
		int		 valid;
		const char	*name;
	} c[] = {
		{ "", 0, 1, "empty" },
		{ "plain ASCII, more than eight bytes long", 0, 1, "ASCII" },
		{ "caf\xc3\xa9", 0, 1, "two bytes" },
		{ "\xe3\x81\x82\xe3\x81\x84", 0, 1, "three bytes (Japanese)" },
		{ "\xf0\x9f\x93\xae", 0, 1, "four bytes" },
		{ "\xf4\x8f\xbf\xbf", 0, 1, "U+10FFFF" },
		{ "\xed\x9f\xbf", 0, 1, "U+D7FF (below the surrogates)" },
		{ "\xc0\xaf", 0, 0, "overlong C0" },
		{ "\xc1\xbf", 0, 0, "overlong C1" },
		{ "\xe0\x80\xaf", 0, 0, "overlong three-byte" },
		{ "\xf0\x80\x80\xaf", 0, 0, "overlong four-byte" },
		{ "\xed\xa0\x80", 0, 0, "surrogate U+D800" },
		{ "\xf4\x90\x80\x80", 0, 0, "above U+10FFFF" },
		{ "\xf5\x80\x80\x80", 0, 0, "F5 lead" },
		{ "\xff", 0, 0, "FF" },
		{ "\x80", 0, 0, "a lone continuation byte" },
		{ "abc\xc3", 0, 0, "cut after the lead byte" },
		{ "abc\xe3\x81", 0, 0, "cut inside a three-byte sequence" },
		{ "\xc3\x28", 0, 0, "bad continuation" },
		{ "12345678\xc3\xa9", 0, 1, "two bytes after an 8-byte ASCII run" },
		{ "12345678\xc3", 0, 0, "cut after an 8-byte ASCII run" },
		{ "1234567\xc3\xa9" "89abcdef", 0, 1, "a sequence across the 8-byte step" },
		{ "a\0b", 3, 1, "NUL is ASCII" },
	};
	size_t i;

	static const struct {
		const char	*s;
		int		 cs;
		const char	*name;
	} t[] = {
		{ "hello", TEXT_ASCII, "plain ASCII" },
		{ "\x1b$B$\"\x1b(B", TEXT_JIS, "ISO-2022-JP (ESC $ B ... ESC ( B)" },
		{ "\xe3\x81\x82", TEXT_UTF8, "UTF-8" },
		{ "\x82\xa0\x82\xa2", TEXT_SJIS, "Shift_JIS (two hiragana)" },
		{ "\xb1\xb2", TEXT_SJIS, "Shift_JIS half-width katakana" },
		{ "\x82", TEXT_UNKNOWN, "a Shift_JIS lead byte cut at the end" },
		{ "\x80\x80", TEXT_UNKNOWN, "neither" },
	};

	plan_no_plan();
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_int(utf8_valid(c[i].s, c[i].len ? c[i].len : strlen(c[i].s)),
		    c[i].valid, "%s", c[i].name);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int((int)text_charset(t[i].s, strlen(t[i].s)), t[i].cs, "charset: %s",
		    t[i].name);
	return done_testing();
}
