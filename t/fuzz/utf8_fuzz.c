/*
 * t/fuzz/utf8_fuzz.c - libFuzzer target for lib/utf8.c: the UTF-8
 * validator (utf8_valid, which guards SMTPUTF8 addresses and headers)
 * checked against a plain reference decoder, and the charset guess
 * (text_charset) of users' texts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* ref_valid - RFC 3629 by the book: shortest form, no surrogates, at most
 * U+10FFFF. */
static int
ref_valid(const uint8_t *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t c, min;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			len = 2, c &= 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			len = 3, c &= 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			len = 4, c &= 0x07, min = 0x10000;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;
	enum text_cs cs;

	p = malloc(size ? size : 1);
	if (p == NULL)
		abort();
	memcpy(p, data, size);
	if (!utf8_valid(p, size) != !ref_valid(p, size))
		abort();
	cs = text_charset(p, size);
	if (cs > TEXT_UNKNOWN)
		abort();
	free(p);
	return 0;
}
