/*
 * utf8.c - UTF-8 validity; see utf8.h.
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
