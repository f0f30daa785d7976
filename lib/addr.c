/*
 * addr.c - RFC 5321 path parsing and local-domain logic; see addr.h.
 *
 * Must never: accept a control byte into an address (it would reach
 * headers, logs and file names), read past the argument, or write past a
 * fixed field: every field is checked against its limit before the copy.
 * Runs in SMTP workers as the server user; no privilege needed.
 *
 * One liberality on purpose: dot-string local parts may have leading,
 * trailing and repeated dots ("taro..yamada.@example.jp").  RFC 5321 does
 * not allow them, but Japanese mobile carriers handed out such addresses for
 * years and their owners still write to us; dots cannot carry an attack.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "addr.h"
#include "alias.h"
#include "config.h"
#include "dsn.h"
#include "mlfile.h"
#include "paths.h"
#include "util.h"

#define ADDR_LABEL_MAX	63	/* RFC 1035 §2.3.4 */
#define ADDR_SIZE_DIGITS 20	/* SIZE=: more digits than LLONG_MAX has */

static void __attribute__((format(printf, 4, 5)))
addr_fail(struct addr_error *e, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	e->enh = enh;
	va_start(ap, fmt);
	if (vsnprintf(e->text, sizeof(e->text), fmt, ap) >= (int)sizeof(e->text))
		memcpy(e->text + sizeof(e->text) - 4, "...", 4);
	va_end(ap);
}

/* addr_enh - the enhanced code for a bad address of KIND (RFC 3463). */
static const char *
addr_enh(enum addr_kind kind)
{
	return kind == ADDR_MAIL ? "5.1.7" : "5.1.3";
}

static int
addr_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * addr_utf8_len - length of the well-formed UTF-8 sequence at P (at most N
 * bytes available), or 0 when it is not one (overlong, surrogate, > U+10FFFF
 * or truncated).
 */
static size_t
addr_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * addr_scan_local - length of the local part at P (up to END), quoted or
 * dot-string; *eightbit set when it holds UTF-8.  0 when malformed.
 */
static size_t
addr_scan_local(const char *p, const char *end, int *eightbit)
{
	const unsigned char *u = (const unsigned char *)p;
	const unsigned char *e = (const unsigned char *)end;
	const unsigned char *q = u;
	size_t n;

	if (q < e && *q == '"') {
		for (q++; q < e && *q != '"'; ) {
			if (*q == '\\') {
				if (q + 1 >= e || q[1] < 0x20 || q[1] > 0x7e)
					return 0;
				q += 2;
			} else if (*q >= 0x80) {
				if ((n = addr_utf8_len(q, (size_t)(e - q))) == 0)
					return 0;
				*eightbit = 1;
				q += n;
			} else if (*q < 0x20 || *q == 0x7f)
				return 0;
			else
				q++;
		}
		if (q >= e || q == u + 1)	/* unterminated or "" */
			return 0;
		return (size_t)(q + 1 - u);
	}
	while (q < e && (addr_is_atext(*q) || *q == '.' || *q >= 0x80)) {
		if (*q >= 0x80) {
			if ((n = addr_utf8_len(q, (size_t)(e - q))) == 0)
				return 0;
			*eightbit = 1;
			q += n;
		} else
			q++;
	}
	return (size_t)(q - u);
}

/*
 * addr_check_domain - 1 when D (LEN bytes) is a domain (letters, digits,
 * hyphens, underscores, UTF-8 in labels; no empty label) or an IPv4 /
 * "IPv6:" address literal.  *eightbit set for UTF-8.
 */
static int
addr_check_domain(const char *d, size_t len, int *eightbit)
{
	char lit[ADDR_DOMAIN_MAX + 1];
	unsigned char addr6[16];
	const unsigned char *u = (const unsigned char *)d;
	size_t i, label = 0, n;

	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return 0;
	if (d[0] == '[') {
		if (len < 3 || d[len - 1] != ']')
			return 0;
		memcpy(lit, d + 1, len - 2);
		lit[len - 2] = '\0';
		if (strncasecmp(lit, "IPv6:", 5) == 0)
			return inet_pton(AF_INET6, lit + 5, addr6) == 1;
		return inet_pton(AF_INET, lit, addr6) == 1;
	}
	for (i = 0; i < len; ) {
		if (u[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			i++;
			continue;
		}
		if (u[i] >= 0x80) {
			if ((n = addr_utf8_len(u + i, len - i)) == 0)
				return 0;
			*eightbit = 1;
		} else if ((u[i] >= 'a' && u[i] <= 'z') ||
		    (u[i] >= 'A' && u[i] <= 'Z') || (u[i] >= '0' && u[i] <= '9') ||
		    u[i] == '-' || u[i] == '_')
			n = 1;
		else
			return 0;
		label += n;
		if (label > ADDR_LABEL_MAX)
			return 0;
		i += n;
	}
	return label > 0;
}

/* addr_skip_route - past "@a,@b:" at P (before END); NULL when malformed. */
static const char *
addr_skip_route(const char *p, const char *end)
{
	const char *q;
	int eightbit = 0;

	for (;;) {
		if (p >= end || *p != '@')
			return NULL;
		p++;
		for (q = p; q < end && *q != ',' && *q != ':'; q++)
			;
		if (q >= end || !addr_check_domain(p, (size_t)(q - p), &eightbit))
			return NULL;
		if (*q == ':')
			return q + 1;
		p = q + 1;
	}
}

/* addr_rfc3339 - "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" as unix
 * seconds, -1 when malformed. */
static long long
addr_rfc3339(const char *v)
{
	int Y, M, D, h, m, sec, n = 0, oh = 0, om = 0, sign = 0;
	struct tm tm;
	const char *z;
	time_t t;

	if (v == NULL || strlen(v) > 40 ||
	    sscanf(v, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m,
	    &sec, &n) != 6 || n != 19)
		return -1;
	z = v + n;
	if (*z == '.') {
		z++;
		if (!isdigit((unsigned char)*z))
			return -1;
		while (isdigit((unsigned char)*z))
			z++;
	}
	if (*z == 'Z' || *z == 'z')
		z++;
	else if (*z == '+' || *z == '-') {
		sign = *z == '+' ? 1 : -1;
		if (strlen(z) != 6 || z[3] != ':' ||
		    sscanf(z + 1, "%2d:%2d", &oh, &om) != 2)
			return -1;
		z += 6;
	} else
		return -1;
	if (*z != '\0' || Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 ||
	    h > 23 || m > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec > 59 ? 59 : sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (long long)t - sign * (oh * 3600LL + om * 60LL);
}

/* addr_param_dsn - the DSN parameter KEY=VAL (RFC 3461 §4). */
static int
addr_param_dsn(const char *key, const char *val, struct addr_path *p,
    struct addr_error *e)
{
	const char *why;

	if (strcmp(key, "RET") == 0) {
		if (val && strcasecmp(val, "FULL") == 0)
			p->ret = DSN_RET_FULL;
		else if (val && strcasecmp(val, "HDRS") == 0)
			p->ret = DSN_RET_HDRS;
		else {
			addr_fail(e, 501, "5.5.4", "bad RET value (FULL or HDRS)");
			return -1;
		}
	} else if (strcmp(key, "ENVID") == 0) {
		if (val == NULL || dsn_xtext_decode(val, p->envid,
		    sizeof(p->envid)) == -1) {
			addr_fail(e, 501, "5.5.4", "bad ENVID value (xtext, at "
			    "most %d characters)", DSN_ENVID_MAX);
			return -1;
		}
	} else if (strcmp(key, "NOTIFY") == 0) {
		if (val == NULL || dsn_notify_parse(val, &p->notify) == -1) {
			addr_fail(e, 501, "5.5.4", "bad NOTIFY value (NEVER, or "
			    "SUCCESS, FAILURE, DELAY joined by commas)");
			return -1;
		}
	} else if (val == NULL || dsn_orcpt_parse(val, p->orcpt, &why) == -1) {
		addr_fail(e, 501, "5.5.4", "%s", val == NULL ?
		    "bad ORCPT value" : why);
		return -1;
	}
	return 0;
}

/* addr_param - one ESMTP parameter KEY[=VAL] (VAL NULL when none). */
static int
addr_param(enum addr_kind kind, const char *key, const char *val,
    unsigned *seen, struct addr_path *p, struct addr_error *e)
{
	static const struct {
		const char *name;
		enum addr_kind kind;
	} known[] = {
		{ "SIZE", ADDR_MAIL }, { "BODY", ADDR_MAIL },
		{ "SMTPUTF8", ADDR_MAIL }, { "AUTH", ADDR_MAIL },
		{ "HOLDFOR", ADDR_MAIL }, { "HOLDUNTIL", ADDR_MAIL },
		{ "RET", ADDR_MAIL }, { "ENVID", ADDR_MAIL },
		{ "NOTIFY", ADDR_RCPT }, { "ORCPT", ADDR_RCPT },
		{ "XNODEID", ADDR_MAIL },
	};
	char ek[64];
	size_t i, n;
	unsigned bit;
	long long v;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(key, known[i].name) == 0)
			break;
	if (i == sizeof(known) / sizeof(known[0]) || kind != known[i].kind) {
		addr_fail(e, 555, "5.5.4", "unsupported parameter %s",
		    str_escape(ek, sizeof(ek), key, strlen(key)));
		return -1;
	}
	bit = 1u << i;
	if (*seen & bit) {
		addr_fail(e, 501, "5.5.4", "duplicate parameter %s",
		    known[i].name);
		return -1;
	}
	*seen |= bit;
	if (i == 10) {		/* XNODEID=letters and digits */
		n = val ? strlen(val) : 0;
		if (n == 0 || n > ADDR_NODE_ID_MAX || strspn(val,
		    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
		    != n) {
			addr_fail(e, 501, "5.5.4", "bad XNODEID value (letters "
			    "and digits, at most %d)", ADDR_NODE_ID_MAX);
			return -1;
		}
		memcpy(p->node_id, val, n + 1);
		return 0;
	}
	if (i >= 6)		/* RET, ENVID, NOTIFY, ORCPT */
		return addr_param_dsn(known[i].name, val, p, e);
	switch (i) {
	case 0:		/* SIZE=digits (RFC 1870) */
		n = val ? strlen(val) : 0;
		if (n == 0 || n > ADDR_SIZE_DIGITS ||
		    strspn(val, "0123456789") != n) {
			addr_fail(e, 501, "5.5.4", "bad SIZE value");
			return -1;
		}
		for (v = 0; *val; val++) {
			if (v > (LLONG_MAX - 9) / 10) {
				v = LLONG_MAX;
				break;
			}
			v = v * 10 + (*val - '0');
		}
		p->size = v;
		break;
	case 1:		/* BODY= (RFC 6152) */
		if (val && strcasecmp(val, "7BIT") == 0)
			p->body = ADDR_BODY_7BIT;
		else if (val && strcasecmp(val, "8BITMIME") == 0)
			p->body = ADDR_BODY_8BITMIME;
		else {
			addr_fail(e, 501, "5.5.4", "unsupported BODY value");
			return -1;
		}
		break;
	case 2:		/* SMTPUTF8 (RFC 6531 §3.4): no value */
		if (val != NULL) {
			addr_fail(e, 501, "5.5.4", "SMTPUTF8 takes no value");
			return -1;
		}
		p->smtputf8 = 1;
		break;
	case 3:		/* AUTH=xtext (RFC 4954 §5), recorded, not trusted */
		n = val ? strlen(val) : 0;
		if (n == 0 || n > ADDR_AUTH_MAX) {
			addr_fail(e, 501, "5.5.4", "bad AUTH value");
			return -1;
		}
		memcpy(p->auth, val, n + 1);
		break;
	case 4:		/* HOLDFOR=seconds (RFC 4865) */
	case 5:		/* HOLDUNTIL=RFC 3339 date-time (RFC 4865) */
		if (*seen & (i == 4 ? 1u << 5 : 1u << 4)) {
			addr_fail(e, 501, "5.5.4", "HOLDFOR and HOLDUNTIL "
			    "are mutually exclusive");
			return -1;
		}
		if (i == 4) {
			n = val ? strlen(val) : 0;
			if (n == 0 || n > 9 || strspn(val, "0123456789") != n) {
				addr_fail(e, 501, "5.5.4", "bad HOLDFOR value");
				return -1;
			}
			p->hold_for = atoll(val);
		} else if ((p->hold_until = addr_rfc3339(val)) < 0) {
			addr_fail(e, 501, "5.5.4", "bad HOLDUNTIL value");
			return -1;
		}
		break;
	}
	return 0;
}

/* addr_params - parse the parameters after the path ("" or " K=V ..."). */
static int
addr_params(enum addr_kind kind, const char *s, struct addr_path *p,
    struct addr_error *e)
{
	char word[ADDR_PARAM_MAX + 1], *eq;
	const char *t;
	unsigned seen = 0, count = 0;
	size_t n, i;

	for (t = s; *t; t += n) {
		t += strspn(t, " ");
		if ((n = strcspn(t, " ")) > 0)
			count++;
	}
	if (count > ADDR_PARAMS_MAX) {
		addr_fail(e, 501, "5.5.4", "too many parameters");
		return -1;
	}
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return 0;
		n = strcspn(s, " ");
		if (n >= sizeof(word)) {
			addr_fail(e, 501, "5.5.4", "parameter too long");
			return -1;
		}
		memcpy(word, s, n);
		word[n] = '\0';
		s += n;
		/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
		eq = strchr(word, '=');
		if (eq)
			*eq++ = '\0';
		if (word[0] == '\0' || word[0] == '-' ||
		    strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-") != strlen(word)) {
			addr_fail(e, 501, "5.5.4", "malformed parameter");
			return -1;
		}
		/* esmtp-value = 1*(%d33-60 / %d62-126) */
		if (eq) {
			for (i = 0; eq[i]; i++)
				if ((unsigned char)eq[i] < 33 ||
				    (unsigned char)eq[i] > 126 || eq[i] == '=')
					break;
			if (eq[i] != '\0' || i == 0) {
				addr_fail(e, 501, "5.5.4", "malformed parameter value");
				return -1;
			}
		}
		if (addr_param(kind, word, eq, &seen, p, e) == -1)
			return -1;
	}
}

int
addr_parse(const char *arg, enum addr_kind kind, int utf8_ok,
    struct addr_path *p, struct addr_error *e)
{
	const char *kw = kind == ADDR_MAIL ? "FROM:" : "TO:";
	const char *enh = addr_enh(kind);
	const char *s, *open, *close, *mbox, *at;
	char esc[96];
	size_t kwlen = strlen(kw), n, llen;
	int eightbit = 0, inquote = 0;

	memset(p, 0, sizeof(*p));
	p->size = -1;
	p->hold_for = -1;
	p->hold_until = -1;
	s = arg;
	while (*s == ' ')
		s++;
	if (strncasecmp(s, kw, kwlen) != 0) {
		addr_fail(e, 501, "5.5.4", "Syntax: %s <address>",
		    kind == ADDR_MAIL ? "MAIL FROM:" : "RCPT TO:");
		return -1;
	}
	s += kwlen;
	while (*s == ' ')		/* liberal: "FROM: <a@b>" */
		s++;
	if (*s != '<') {
		addr_fail(e, 501, "5.5.2", "%s address must be enclosed in <>",
		    kind == ADDR_MAIL ? "sender" : "recipient");
		return -1;
	}
	open = s;
	/* the closing '>' is the first one outside a quoted string */
	for (close = open + 1; *close; close++) {
		if (inquote && *close == '\\' && close[1] != '\0')
			close++;
		else if (*close == '"')
			inquote = !inquote;
		else if (!inquote && *close == '>')
			break;
	}
	if (*close != '>') {
		addr_fail(e, 501, "5.5.2", "missing '>' after the address");
		return -1;
	}
	str_escape(esc, sizeof(esc), open, (size_t)(close - open + 1));
	if ((size_t)(close - open + 1) > ADDR_PATH_MAX) {
		addr_fail(e, 501, enh, "%s: path longer than %d octets", esc,
		    ADDR_PATH_MAX);
		return -1;
	}
	if (close[1] != '\0' && close[1] != ' ') {
		addr_fail(e, 501, "5.5.2", "junk after the address");
		return -1;
	}
	mbox = open + 1;
	if (mbox == close) {			/* <> */
		if (kind != ADDR_MAIL) {
			addr_fail(e, 501, enh, "<>: null recipient not allowed");
			return -1;
		}
		p->null = 1;
		goto params;
	}
	if (*mbox == '@' && (mbox = addr_skip_route(mbox, close)) == NULL) {
		addr_fail(e, 501, enh, "%s: malformed source route", esc);
		return -1;
	}
	llen = addr_scan_local(mbox, close, &eightbit);
	if (llen == 0) {
		addr_fail(e, 501, enh, "%s: malformed local part", esc);
		return -1;
	}
	if (llen > ADDR_LOCAL_MAX) {
		addr_fail(e, 501, enh, "%s: local part longer than %d octets",
		    esc, ADDR_LOCAL_MAX);
		return -1;
	}
	memcpy(p->local, mbox, llen);
	p->local[llen] = '\0';
	at = mbox + llen;
	if (at == close) {
		/* RFC 5321 §4.1.1.3: RCPT TO:<Postmaster> without a domain */
		if (kind == ADDR_RCPT && strcasecmp(p->local, "postmaster") == 0) {
			memcpy(p->addr, p->local, llen + 1);
			goto params;
		}
		addr_fail(e, 501, enh, "%s: address has no domain", esc);
		return -1;
	}
	if (*at != '@') {
		addr_fail(e, 501, enh, "%s: malformed local part", esc);
		return -1;
	}
	n = (size_t)(close - (at + 1));
	if (n > ADDR_DOMAIN_MAX) {
		addr_fail(e, 501, enh, "%s: domain longer than %d octets", esc,
		    ADDR_DOMAIN_MAX);
		return -1;
	}
	if (!addr_check_domain(at + 1, n, &eightbit)) {
		addr_fail(e, 501, enh, "%s: malformed domain", esc);
		return -1;
	}
	memcpy(p->domain, at + 1, n);
	p->domain[n] = '\0';
	/* fits: the whole path was checked against ADDR_PATH_MAX above */
	n = (size_t)(close - mbox);
	memcpy(p->addr, mbox, n);
	p->addr[n] = '\0';
params:
	if (addr_params(kind, close + 1, p, e) == -1)
		return -1;
	if (kind == ADDR_MAIL)
		utf8_ok = p->smtputf8;
	if (eightbit && !utf8_ok) {
		addr_fail(e, 553, "5.6.7", "%s: non-ASCII address needs SMTPUTF8",
		    esc);
		return -1;
	}
	return 0;
}

const char *
addr_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/*
 * addr_literal_core - for "[x]" / "[IPv6:x]" / "x" / "IPv6:x" the x (LEN in
 * *len_r); NULL when S is not bracketed and BRACKETS is set.
 */
static const char *
addr_literal_core(const char *s, int brackets, size_t *len_r)
{
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	} else if (brackets)
		return NULL;
	if (len >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		len -= 5;
	}
	*len_r = len;
	return s;
}

/* addr_domain_eq - A and B equal, case-insensitive, one trailing dot
 * ignored. */
static int
addr_domain_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

static int
addr_in_list(const struct cfg_list *l, const char *domain)
{
	const char *lit, *ent;
	size_t i, llen, elen;

	lit = addr_literal_core(domain, 1, &llen);
	for (i = 0; l != NULL && i < l->n; i++) {
		if (lit != NULL) {
			ent = addr_literal_core(l->v[i], 0, &elen);
			if (elen == llen && llen > 0 &&
			    strncasecmp(ent, lit, llen) == 0)
				return 1;
		} else if (addr_domain_eq(l->v[i], domain))
			return 1;
	}
	return 0;
}

int
addr_domain_is_local(const struct config *cfg, const char *domain)
{
	size_t len;

	if (domain == NULL || *domain == '\0')
		return 0;
	if (addr_literal_core(domain, 1, &len) == NULL &&
	    addr_domain_eq(config_str(cfg, "server.domain"), domain))
		return 1;
	return addr_in_list(config_list(cfg, "server.alias"), domain) ||
	    addr_in_list(config_list(cfg, "smtp.subhost"), domain);
}

/* addr_domain_primary - 1 when DOMAIN stands for server.domain in
 * per-domain mode: "" (a bare local part), server.domain itself, or an
 * address literal (this host). */
static int
addr_domain_primary(const struct config *cfg, const char *domain)
{
	size_t len;

	return *domain == '\0' || addr_literal_core(domain, 1, &len) != NULL ||
	    addr_domain_eq(config_str(cfg, "server.domain"), domain);
}

int
addr_account_id(const struct config *cfg, const char *local,
    const char *domain, char out[ACCOUNT_NAME_MAX + 1], const char **why_r)
{
	char d[ADDR_DOMAIN_MAX + 1];
	size_t n;
	int w;

	out[0] = '\0';
	if (!account_local_valid(local, why_r))
		return -1;
	if (!config_bool(cfg, "server.domain_mailboxes") ||
	    addr_domain_primary(cfg, domain)) {
		memcpy(out, local, strlen(local) + 1);	/* valid: <= 64 */
		return 0;
	}
	if (!addr_domain_is_local(cfg, domain)) {
		*why_r = "the domain is not a local domain (server.domain, "
		    "server.alias, smtp.subhost)";
		return -1;
	}
	if (str_copy(d, sizeof(d), domain) == -1) {
		*why_r = "domain longer than 255 characters";
		return -1;
	}
	n = strlen(d);
	if (n > 0 && d[n - 1] == '.')
		d[n - 1] = '\0';
	str_lower(d);
	w = snprintf(out, ACCOUNT_NAME_MAX + 1, "%s@%s", local, d);
	if (w < 0 || w > ACCOUNT_NAME_MAX) {
		out[0] = '\0';
		*why_r = "name@domain must be at most 64 characters";
		return -1;
	}
	if (!account_name_valid(out, why_r)) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
addr_account_find(const struct config *cfg, struct store *s, const char *local,
    const char *domain, struct account *a)
{
	char id[ACCOUNT_NAME_MAX + 1];
	const char *why;
	int r;

	if (!account_local_valid(local, &why))
		return 0;
	if (domain == NULL || !config_bool(cfg, "server.domain_mailboxes"))
		return account_get(s, local, a);
	if (addr_domain_primary(cfg, domain)) {
		/* a plain account is server.domain's unless its domain field
		 * names another domain */
		r = account_get(s, local, a);
		if (r == 1 && !addr_domain_primary(cfg, a->domain))
			r = 0;
		return r;
	}
	if (addr_account_id(cfg, local, domain, id, &why) == -1)
		return 0;
	if ((r = account_get(s, id, a)) != 0)
		return r;
	/* an account made before it had its own name: a plain NAME whose
	 * domain field is DOMAIN */
	r = account_get(s, local, a);
	if (r == 1 && !addr_domain_eq(a->domain, domain))
		r = 0;
	return r;
}

/*
 * addr_lookup - 1 the account for NAME at DOMAIN (addr_account_find; NULL:
 * the account NAME, any domain) exists, its name copied to ACCOUNT_R;
 * 0; -2 error.
 */
static int
addr_lookup(const struct config *cfg, struct store *s, const char *name,
    const char *domain, char account_r[ACCOUNT_NAME_MAX + 1])
{
	struct account a;
	int r;

	r = addr_account_find(cfg, s, name, domain, &a);
	if (r == 1)
		/* account_get only finds valid names, which fit */
		(void)str_copy(account_r, ACCOUNT_NAME_MAX + 1, a.name);
	explicit_bzero(&a, sizeof(a));
	return r == 1 ? 1 : r == 0 ? 0 : -2;
}

const char *
addr_list_suffix(const char *local, char *base, size_t size)
{
	const char *role = ml_addr_role(local, base, size), *why;

	return role != NULL && account_local_valid(base, &why) ? role : NULL;
}

int
addr_is_list(const struct config *cfg, const char *name)
{
	const char *why;
	char *dir, *path;
	int r;

	if (!account_name_valid(name, &why))
		return 0;
	dir = paths_account_dir(cfg, name);
	path = xasprintf("%s/%s", dir, ML_DEF_FILE);
	r = access(path, F_OK) == 0;
	free(path);
	free(dir);
	return r;
}

enum addr_dest
addr_resolve_rcpt(const struct config *cfg, struct store *s, const char *addr,
    struct addr_rcpt *r)
{
	return addr_resolve_trace(cfg, s, addr, r, NULL, NULL);
}

/* TRACE - tell the caller of addr_resolve_trace one step, when it asked. */
#define TRACE(step, from, to) do {					\
	if (trace != NULL)						\
		trace(ctx, (step), (from), (to));			\
} while (0)

enum addr_dest
addr_resolve_trace(const struct config *cfg, struct store *s, const char *addr,
    struct addr_rcpt *r, addr_trace_fn *trace, void *ctx)
{
	const struct alias_table *al = config_aliases(cfg);
	char cur[ADDR_PATH_MAX + 1], real[ADDR_PATH_MAX + 1];
	char local[ADDR_LOCAL_MAX + 1], name[ACCOUNT_NAME_MAX + 1];
	const char *at, *domain, *adm, *why;
	int depth, rw, res, role = 0, tried_admin = 0;

	r->account[0] = '\0';
	if (str_copy(r->addr, sizeof(r->addr), addr) == -1 ||
	    str_copy(cur, sizeof(cur), addr) == -1)
		return ADDR_DEST_NONE;
	for (depth = 0; depth <= ALIAS_DEPTH_MAX; depth++) {
		at = strrchr(cur, '@');
		domain = at ? at + 1 : "";
		if (at != NULL && !addr_domain_is_local(cfg, domain)) {
			if (depth == 0)
				return ADDR_DEST_FOREIGN;
			/* an alias or admin_address outside: R->addr was
			 * rewritten (alias.c refuses ",0" to a remote REAL) */
			return ADDR_DEST_REMOTE;
		}
		if (alias_local_norm(cur, at ? (size_t)(at - cur) : strlen(cur),
		    local, sizeof(local)) == -1)
			return ADDR_DEST_NONE;
		if (depth == 0)
			role = strcmp(local, "postmaster") == 0 ||
			    strcmp(local, "abuse") == 0;
		/* 1. exact alias */
		if (at != NULL && alias_lookup(al, local, domain, 0, real,
		    sizeof(real), &rw) == 1) {
			TRACE("alias", cur, real);
			goto follow;
		}
		/* 2. the account; not, for the address itself, the
		 * postmaster account that setup makes: admin_address (by
		 * default that account) says who takes postmaster mail */
		if (str_copy(name, sizeof(name), local) == 0 &&
		    account_local_valid(name, &why)) {
			res = addr_lookup(cfg, s, name, domain, r->account);
			adm = config_str(cfg, "server.admin_address");
			if (res == 1 && depth == 0 && *adm != '\0' &&
			    strcmp(r->account, ACCOUNT_POSTMASTER) == 0) {
				r->account[0] = '\0';
				res = 0;
			}
			if (res == 1)
				TRACE("account", cur, r->account);
			if (res != 0)
				return res == 1 ? ADDR_DEST_LOCAL : ADDR_DEST_ERROR;
		}
		/* 2b. a list's own addresses */
		if (addr_list_suffix(local, name, sizeof(name)) != NULL) {
			res = addr_lookup(cfg, s, name, domain, r->account);
			if (res == -2)
				return ADDR_DEST_ERROR;
			if (res == 1 && addr_is_list(cfg, r->account)) {
				TRACE("list", cur, r->account);
				return ADDR_DEST_LOCAL;
			}
			r->account[0] = '\0';
		}
		/* 3. the catch-all (its own mailbox ends the chain) */
		if (at != NULL && alias_lookup(al, local, domain, 1, real,
		    sizeof(real), &rw) == 1 && strcasecmp(real, cur) != 0) {
			TRACE("catch-all", cur, real);
			goto follow;
		}
		/* 4. postmaster and abuse: see addr.h */
		if (role && !tried_admin) {
			tried_admin = 1;
			adm = config_str(cfg, "server.admin_address");
			if (*adm != '\0' && str_copy(real, sizeof(real), adm) == 0) {
				rw = strrchr(adm, '@') != NULL &&
				    !addr_domain_is_local(cfg, addr_domain_of(adm));
				TRACE("admin_address", cur, real);
				goto follow;
			}
		}
		break;
follow:
		if (rw)
			memcpy(r->addr, real, sizeof(real));
		memcpy(cur, real, sizeof(real));
	}
	if (role) {
		res = addr_lookup(cfg, s, "postmaster", NULL, r->account);
		if (res == 1)
			TRACE("postmaster", cur, r->account);
		if (res != 0)
			return res == 1 ? ADDR_DEST_LOCAL : ADDR_DEST_ERROR;
	}
	return ADDR_DEST_NONE;
}

#undef TRACE

int
addr_resolve_local(const struct config *cfg, struct store *s, const char *addr,
    char account_r[ACCOUNT_NAME_MAX + 1])
{
	struct addr_rcpt r;

	account_r[0] = '\0';
	switch (addr_resolve_rcpt(cfg, s, addr, &r)) {
	case ADDR_DEST_LOCAL:
		memcpy(account_r, r.account, ACCOUNT_NAME_MAX + 1);
		return 1;
	case ADDR_DEST_NONE:
		return 0;
	case ADDR_DEST_FOREIGN:
	case ADDR_DEST_REMOTE:
		return -1;
	default:
		return -2;
	}
}
