/*
 * utf8.c - UTF-8 validity and the charset guess; see utf8.h.
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

int
utf8_valid(const void *vp, size_t len)
{
	const unsigned char *p = vp, *e = p + len;
	uint64_t w;
	unsigned c;
	size_t n, k;

	while (p < e) {
		if (e - p >= 8) {
			memcpy(&w, p, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				p += 8;
				continue;
			}
		}
		c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return 0;
		if ((size_t)(e - p) <= n)
			return 0;
		for (k = 1; k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		/* overlong forms, surrogates, above U+10FFFF */
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
		    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* sjis_valid - 1 when P[0..LEN) reads as Shift_JIS (CP932 byte ranges). */
static int
sjis_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;
	unsigned c;

	while (i < len) {
		c = p[i];
		if (c < 0x80 || (c >= 0xa1 && c <= 0xdf)) {
			i++;
			continue;
		}
		if (!((c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc)) ||
		    i + 1 >= len)
			return 0;
		c = p[i + 1];
		if (c < 0x40 || c == 0x7f || c > 0xfc)
			return 0;
		i += 2;
	}
	return 1;
}

enum text_cs
text_charset(const void *vp, size_t len)
{
	const unsigned char *p = vp;
	size_t i;
	int high = 0, esc = 0;

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			high = 1;
		else if (p[i] == 0x1b && i + 2 < len &&
		    (p[i + 1] == '$' || p[i + 1] == '('))
			esc = 1;
	}
	if (!high)
		return esc ? TEXT_JIS : TEXT_ASCII;
	if (utf8_valid(p, len))
		return TEXT_UTF8;
	if (sjis_valid(p, len))
		return TEXT_SJIS;
	return TEXT_UNKNOWN;
}

const char *
text_charset_name(enum text_cs cs)
{
	switch (cs) {
	case TEXT_ASCII:	return "US-ASCII";
	case TEXT_UTF8:		return "UTF-8";
	case TEXT_JIS:		return "ISO-2022-JP";
	case TEXT_SJIS:		return "Shift_JIS";
	default:		return "unknown-8bit";
	}
}
