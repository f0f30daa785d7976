/*
 * authres.c - Authentication-Results (RFC 8601): the field this server
 * adds, with each value a token, an address or a quoted string, and the
 * authserv-id of a field that arrived with a message.
 *
 * Privilege: none.  Must never: write past AUTHRES_MAX, leave a half
 * result in the field, or read past the value it is given.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authres.h"

/* RFC 2045 tspecials */
static int
is_special(int c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

int
authres_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    is_special((unsigned char)*s))
			return 0;
	return 1;
}

/* RFC 5322 atext */
static int
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~",
	    c) != NULL);
}

/* dot_atom - S[0..n) is atext runs joined by single dots */
static int
dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* is_addr - S is [dot-atom] "@" dot-atom: RFC 8601's pvalue address form,
 * written without quotes */
static int
is_addr(const char *s)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || strchr(s, '@') != at)
		return 0;
	return (at == s || dot_atom(s, (size_t)(at - s))) &&
	    dot_atom(at + 1, strlen(at + 1));
}

/* utf8_ok - S has no control bytes and is well-formed UTF-8 */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n, i;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return 0;
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* put - append S (N bytes) to A; -1 when it does not fit */
static int
put(struct authres *a, const char *s, size_t n)
{
	if (n > AUTHRES_MAX - a->len)
		return -1;
	memcpy(a->buf + a->len, s, n);
	a->len += n;
	a->buf[a->len] = '\0';
	return 0;
}

static int
puts_(struct authres *a, const char *s)
{
	return put(a, s, strlen(s));
}

/* put_value - V as a token or address when it is one (ADDR_OK), else as
 * a quoted string */
static int
put_value(struct authres *a, const char *v, int addr_ok)
{
	const char *p;

	if (!utf8_ok(v))
		return -1;
	if (authres_is_token(v) || (addr_ok && is_addr(v)))
		return puts_(a, v);
	if (put(a, "\"", 1) == -1)
		return -1;
	for (p = v; *p != '\0'; p++) {
		if ((*p == '"' || *p == '\\') && put(a, "\\", 1) == -1)
			return -1;
		if (put(a, p, 1) == -1)
			return -1;
	}
	return put(a, "\"", 1);
}

int
authres_init(struct authres *a, const char *authserv_id)
{
	memset(a, 0, sizeof(*a));
	if (*authserv_id == '\0' || put_value(a, authserv_id, 0) == -1) {
		a->len = 0;
		a->buf[0] = '\0';
		return -1;
	}
	return 0;
}

int
authres_add(struct authres *a, const char *method, const char *result,
    const char *reason, const struct authres_prop *props, size_t nprop)
{
	size_t keep = a->len, i;

	if (!authres_is_token(method) || !authres_is_token(result))
		return -1;
	if (puts_(a, "; ") == -1 || puts_(a, method) == -1 ||
	    puts_(a, "=") == -1 || puts_(a, result) == -1)
		goto undo;
	if (reason != NULL && *reason != '\0' &&
	    (puts_(a, " reason=") == -1 || put_value(a, reason, 0) == -1))
		goto undo;
	for (i = 0; i < nprop; i++) {
		if (props[i].value == NULL || props[i].value[0] == '\0')
			continue;
		if (puts_(a, " ") == -1 || puts_(a, props[i].name) == -1 ||
		    puts_(a, "=") == -1 || put_value(a, props[i].value, 1) == -1)
			goto undo;
	}
	a->nres++;
	return 0;
undo:
	a->len = keep;
	a->buf[keep] = '\0';
	return -1;
}

const char *
authres_value(struct authres *a)
{
	if (a->nres == 0 && a->len > 0 && !a->none)
		a->none = puts_(a, "; none") == 0;
	return a->buf;
}

/* ---- reading ----------------------------------------------------------- */

/* cfws - past blanks, line ends and comments from P (END bounds); -1 when
 * a comment does not end */
static int
cfws(const char **pp, const char *end)
{
	const char *p = *pp;
	int depth;

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'))
			p++;
		if (p == end || *p != '(')
			break;
		for (depth = 0; p < end; p++) {
			if (*p == '\\') {
				if (++p == end)
					return -1;
			} else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				break;
		}
		if (p == end)
			return -1;
		p++;
	}
	*pp = p;
	return 0;
}

/* same_id - A (N bytes) and ID are equal without case, a final dot on
 * either ignored */
static int
same_id(const char *a, size_t n, const char *id)
{
	size_t m = strlen(id);

	if (n > 0 && a[n - 1] == '.')
		n--;
	if (m > 0 && id[m - 1] == '.')
		m--;
	return n == m && n > 0 && strncasecmp(a, id, n) == 0;
}

int
authres_claims(const char *value, size_t len, const char *authserv_id)
{
	const char *p = value, *end = value + len, *s;
	char id[AUTHRES_MAX + 1];
	size_t n = 0;

	if (cfws(&p, end) == -1 || p == end)
		return -1;
	if (*p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && ++p == end)
				return -1;
			if (*p == '\r' || *p == '\n')
				continue;
			if (n == sizeof(id) - 1)
				return -1;
			id[n++] = *p;
		}
		if (p == end)
			return -1;
		return same_id(id, n, authserv_id);
	}
	/* a token ends at a special; a reader that is less strict may
	 * read on to a blank: either reading that gives our id claims it */
	for (s = p; p < end; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    (is_special((unsigned char)*p) && *p != '.'))
			break;
	if (p > s && same_id(s, (size_t)(p - s), authserv_id))
		return 1;
	for (; p < end; p++)
		if ((unsigned char)*p <= 0x20 || *p == ';' || *p == '(')
			break;
	if (p == s)
		return -1;
	return same_id(s, (size_t)(p - s), authserv_id);
}
