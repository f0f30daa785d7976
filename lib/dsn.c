/*
 * dsn.c - RFC 3461 parameter values and xtext; see dsn.h.  Pure functions
 * of their input, used by the SMTP workers (parsing), the delivery agents
 * (encoding) and the queue manager (reports), as the server user.
 *
 * Must never: write past an output buffer or let a control byte through.
 */
#include <string.h>
#include <strings.h>

#include "dsn.h"

int
dsn_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* dsn_hex - the value of an upper-case hex digit, or -1. */
static int
dsn_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
dsn_xtext_decode(const char *in, char *out, size_t size)
{
	size_t o = 0;
	int hi, lo, c;

	if (size == 0)
		return -1;
	out[0] = '\0';
	if (*in == '\0')
		return -1;
	while (*in) {
		c = (unsigned char)*in;
		if (c == '+') {
			if ((hi = dsn_hex(in[1])) == -1 || (lo = dsn_hex(in[2])) == -1)
				goto bad;
			c = hi * 16 + lo;
			in += 3;
		} else if (c < 0x21 || c > 0x7e || c == '=')
			goto bad;
		else
			in++;
		if (c < 0x20 || c > 0x7e || o + 1 >= size)
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
bad:
	out[0] = '\0';
	return -1;
}

int
dsn_xtext_encode(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t o = 0;

	if (size == 0)
		return -1;
	for (p = (const unsigned char *)in; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '+' && *p != '=') {
			if (o + 1 >= size)
				goto full;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= size)
				goto full;
			out[o++] = '+';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
full:
	out[0] = '\0';
	return -1;
}

int
dsn_notify_parse(const char *v, int *bits_r)
{
	static const struct {
		const char *name;
		int bit;
	} words[] = {
		{ "SUCCESS", DSN_NOTIFY_SUCCESS },
		{ "FAILURE", DSN_NOTIFY_FAILURE },
		{ "DELAY", DSN_NOTIFY_DELAY },
		{ "NEVER", DSN_NOTIFY_NEVER },
	};
	const char *p = v;
	size_t n, i;
	int bits = 0;

	*bits_r = 0;
	if (v == NULL || *v == '\0')
		return -1;
	for (;;) {
		n = strcspn(p, ",");
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == n &&
			    strncasecmp(p, words[i].name, n) == 0)
				break;
		if (i == sizeof(words) / sizeof(words[0]) ||
		    (bits & words[i].bit))
			return -1;	/* unknown word, or one twice */
		bits |= words[i].bit;
		p += n;
		if (*p == '\0')
			break;
		p++;			/* the comma; "A," leaves "" */
	}
	if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
		return -1;		/* RFC 3461 §4.1: NEVER stands alone */
	*bits_r = bits;
	return 0;
}

const char *
dsn_notify_str(int bits, char *out, size_t size)
{
	static const char *const names[] = { "SUCCESS", "FAILURE", "DELAY" };
	size_t o = 0, i, n;

	if (size == 0)
		return out;
	out[0] = '\0';
	if (bits & DSN_NOTIFY_NEVER) {
		if (size > 5)
			memcpy(out, "NEVER", 6);
		return out;
	}
	for (i = 0; i < 3; i++) {
		if (!(bits & (1 << i)))
			continue;
		n = strlen(names[i]);
		if (o + (o > 0) + n + 1 > size) {
			out[0] = '\0';
			return out;
		}
		if (o > 0)
			out[o++] = ',';
		memcpy(out + o, names[i], n + 1);
		o += n;
	}
	return out;
}

int
dsn_orcpt_parse(const char *v, char out[DSN_ORCPT_SIZE], const char **why_r)
{
	static const char *const types[] = { "rfc822", "utf-8" };
	const char *semi = strchr(v, ';');
	size_t tl, i;

	out[0] = '\0';
	if (semi == NULL || semi == v) {
		*why_r = "ORCPT needs an address type (rfc822;ADDRESS)";
		return -1;
	}
	tl = (size_t)(semi - v);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == tl && strncasecmp(v, types[i], tl) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		*why_r = "ORCPT address type must be rfc822 or utf-8";
		return -1;
	}
	memcpy(out, types[i], tl);
	out[tl] = ';';
	if (dsn_xtext_decode(semi + 1, out + tl + 1, DSN_ORCPT_MAX + 1) == -1) {
		out[0] = '\0';
		*why_r = "bad ORCPT address (xtext, at most 500 characters)";
		return -1;
	}
	return 0;
}

int
dsn_wants(int notify, int bit)
{
	if (notify == 0)
		return bit != DSN_NOTIFY_SUCCESS;
	return (notify & bit) != 0;
}
