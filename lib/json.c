/*
 * json.c - JSON text output; see json.h.  Runs in yubinctl; never reads
 * JSON, never trusts the bytes it quotes to be text.
 */
#include <string.h>

#include "buf.h"
#include "json.h"
#include "utf8.h"

/* json_seq_len - the length of the well-formed UTF-8 sequence at P (LEFT
 * bytes remain), 0 when none begins there. */
static size_t
json_seq_len(const unsigned char *p, size_t left)
{
	size_t n;

	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4;
	else
		return 0;
	return n <= left && utf8_valid(p, n) ? n : 0;
}

int
json_str(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t left, n;
	int r = 0;

	if (s == NULL)
		return buf_puts(out, "null");
	r |= buf_putc(out, '"');
	left = strlen(s);
	for (p = (const unsigned char *)s; left > 0 && r == 0; p += n, left -= n) {
		n = 1;
		if (*p == '"' || *p == '\\') {
			r |= buf_putc(out, '\\');
			r |= buf_putc(out, *p);
		} else if (*p == '\n')
			r |= buf_puts(out, "\\n");
		else if (*p == '\r')
			r |= buf_puts(out, "\\r");
		else if (*p == '\t')
			r |= buf_puts(out, "\\t");
		else if (*p < 0x20 || *p == 0x7f) {
			r |= buf_puts(out, "\\u00");
			r |= buf_putc(out, hex[*p >> 4]);
			r |= buf_putc(out, hex[*p & 15]);
		} else if (*p < 0x80)
			r |= buf_putc(out, *p);
		else if ((n = json_seq_len(p, left)) > 0)
			r |= buf_append(out, p, n);
		else {
			n = 1;
			r |= buf_puts(out, "\\ufffd");
		}
	}
	r |= buf_putc(out, '"');
	return r == 0 ? 0 : -1;
}
