/*
 * json.c - JSON string output: escapes, UTF-8 kept, bytes that are not
 * UTF-8 replaced, NULL as null.
 */
#include <string.h>

#include "../lib/tap.h"
#include "buf.h"
#include "json.h"

/* quoted - S through json_str, as a C string (static). */
static const char *
quoted(const char *s)
{
	static char out[512];
	struct buf b;

	buf_init(&b, 0);
	if (json_str(&b, s) == -1 || b.len >= sizeof(out)) {
		buf_free(&b);
		return "(failed)";
	}
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	buf_free(&b);
	return out;
}

int
main(void)
{
	struct buf b;

	plan_no_plan();
	is_str(quoted(NULL), "null", "NULL is null");
	is_str(quoted(""), "\"\"", "empty string");
	is_str(quoted("a@b.example"), "\"a@b.example\"", "plain ASCII as it is");
	is_str(quoted("\"x\\\"y\"@z"), "\"\\\"x\\\\\\\"y\\\"@z\"",
	    "quotes and backslashes escaped");
	is_str(quoted("a\tb\r\nc"), "\"a\\tb\\r\\nc\"", "tab, CR, LF");
	is_str(quoted("\x01\x1f\x7f"), "\"\\u0001\\u001f\\u007f\"",
	    "other control characters as \\u00XX");
	is_str(quoted("j\xc3\xb6rg \xe6\x97\xa5 \xf0\x9f\x93\xa8"),
	    "\"j\xc3\xb6rg \xe6\x97\xa5 \xf0\x9f\x93\xa8\"",
	    "well-formed UTF-8 kept");
	is_str(quoted("a\xff" "b"), "\"a\\ufffdb\"", "a stray byte replaced");
	is_str(quoted("\xc3"), "\"\\ufffd\"", "a sequence cut at the end replaced");
	is_str(quoted("\xc0\xaf"), "\"\\ufffd\\ufffd\"", "an overlong form replaced");
	is_str(quoted("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"",
	    "a surrogate replaced");
	is_str(quoted("\xe6\x97" "x"), "\"\\ufffd\\ufffdx\"",
	    "a cut sequence before ASCII: the ASCII kept");
	buf_init(&b, 4);
	is_int(json_str(&b, "longer than four"), -1, "past the ceiling: -1");
	buf_free(&b);
	return done_testing();
}
