/*
 * spf.c - Sender Policy Framework (RFC 7208): check_host() of a client
 * address against the SPF record of a domain.
 *
 * A record is read twice: spf_record_check() parses every term (§12's
 * grammar, macro syntax included) so that an error anywhere gives
 * permerror before anything is evaluated (§4.6), then eval() walks the
 * terms again in order, asking DNS through struct dnsq.  One struct
 * spf_ctx carries the counters of §4.6.4 across include and redirect, so
 * a loop of either ends at SPF_DNS_TERMS_MAX as permerror.
 *
 * Privilege: none.  Must never: ask more questions than §4.6.4 allows,
 * recurse past SPF_DNS_TERMS_MAX levels, write past a buffer (expansions
 * that do not fit are refused), or read past the record.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf.h"

#define SPF_EXPAND_MAX	2048	/* one macro-string expanded */
#define SPF_VALUE_MAX	1024	/* one macro's value */
#define SPF_SENDER_MAX	(64 + 1 + SPF_DOMAIN_MAX + 64)

enum kind {
	K_ALL, K_INCLUDE, K_A, K_MX, K_PTR, K_IP4, K_IP6, K_EXISTS,
	K_REDIRECT, K_EXP, K_UNKNOWN_MOD
};

static const struct {
	const char	*name;
	enum kind	 kind;
} mechs[] = {
	{ "all", K_ALL }, { "include", K_INCLUDE }, { "a", K_A },
	{ "mx", K_MX }, { "ptr", K_PTR }, { "ip4", K_IP4 }, { "ip6", K_IP6 },
	{ "exists", K_EXISTS },
};

/* one term of a record, pointing into it */
struct term {
	enum kind	 kind;
	char		 qual;		/* + - ~ ? */
	const char	*text;		/* the whole term */
	size_t		 textlen;
	const char	*spec;		/* domain-spec or modifier value */
	size_t		 speclen;	/* 0: none given */
	int		 cidr4, cidr6;	/* prefix lengths */
	struct dnsq_ip	 net;		/* ip4, ip6 */
};

/* the state of one check_host() and the ones it starts */
struct spf_ctx {
	struct dnsq		*q;
	const struct spf_request *r;
	struct dnsq_ip		 ip;		/* IPv4-mapped made IPv4 */
	char			 sender[SPF_SENDER_MAX + 1];
	char			 local[SPF_SENDER_MAX + 1];
	char			 sdomain[SPF_DOMAIN_MAX + 2];
	unsigned		 terms;		/* DNS-querying terms */
	unsigned		 voids;		/* void lookups */
	struct spf_outcome	*out;
};

/* match()'s answers besides a result */
#define NOMATCH	0
#define MATCH	1

const char *
spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPF_NONE:		return "none";
	case SPF_NEUTRAL:	return "neutral";
	case SPF_PASS:		return "pass";
	case SPF_FAIL:		return "fail";
	case SPF_SOFTFAIL:	return "softfail";
	case SPF_TEMPERROR:	return "temperror";
	case SPF_PERMERROR:	return "permerror";
	}
	return "permerror";
}

/* problem - the first cause of an error: FMT (a literal of this file
 * with one %s) with ARG (ARGLEN bytes, cut to 63) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
problem(struct spf_ctx *c, const char *fmt, const char *arg, size_t arglen)
{
	char a[64];

	if (c->out->problem[0] != '\0')
		return;		/* the first one is the cause */
	if (arglen >= sizeof(a))
		arglen = sizeof(a) - 1;
	memcpy(a, arg, arglen);
	a[arglen] = '\0';
	snprintf(c->out->problem, sizeof(c->out->problem), fmt, a);
}
#pragma GCC diagnostic pop

/* ---- macros (§7) ------------------------------------------------------ */

static int
is_delim(int ch)
{
	return ch != '\0' && strchr(".-+,/_=", ch) != NULL;
}

/* url_unreserved - RFC 3986 unreserved, kept as is by upper-case macros */
static int
url_unreserved(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* out_put - append LEN bytes of S to OUT (*O used of SIZE).  0 or -1. */
static int
out_put(char *out, size_t size, size_t *o, const char *s, size_t len)
{
	if (len >= size - *o)
		return -1;
	memcpy(out + *o, s, len);
	*o += len;
	out[*o] = '\0';
	return 0;
}

static void
ip_nibbles(const struct dnsq_ip *ip, int reverse, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned n;

	for (i = 0; i < 32; i++) {
		n = reverse ? 31 - i : i;
		out[o++] = hex[(ip->addr[n / 2] >> (n % 2 ? 0 : 4)) & 0xf];
		out[o++] = '.';
	}
	out[o - 1] = '\0';
}

static int
name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* name_under - NAME is DOMAIN or a name below it */
static int
name_under(const char *name, const char *domain)
{
	size_t ln = strlen(name), ld = strlen(domain);

	if (ln > 0 && name[ln - 1] == '.')
		ln--;
	if (ld > 0 && domain[ld - 1] == '.')
		ld--;
	if (ln == ld)
		return strncasecmp(name, domain, ld) == 0;
	return ln > ld && name[ln - ld - 1] == '.' &&
	    strncasecmp(name + ln - ld, domain, ld) == 0;
}

static int lookup_addrs(struct spf_ctx *, const char *, int,
    struct dnsq_ans *);
static int ip_in(const struct dnsq_ip *, const struct dnsq_ip *, int);

/* macro_p - %{p}: a validated name of the client (§7.3), preferring
 * DOMAIN, then a name below it, else "unknown" */
static void
macro_p(struct spf_ctx *c, const char *domain, char *val, size_t size)
{
	char rev[80];
	struct dnsq_ans ptr, a;
	size_t i, j;
	int best = 0, rank;

	snprintf(val, size, "unknown");
	if (c->ip.family == AF_INET)
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa",
		    c->ip.addr[3], c->ip.addr[2], c->ip.addr[1], c->ip.addr[0]);
	else {
		ip_nibbles(&c->ip, 1, rev);
		strcat(rev, ".ip6.arpa");
	}
	if (dnsq_lookup(c->q, rev, DNSQ_PTR, &ptr) != DNSQ_OK)
		return;
	for (i = 0; i < ptr.n && i < SPF_MX_PTR_MAX; i++) {
		rank = name_eq(ptr.str[i], domain) ? 3 :
		    name_under(ptr.str[i], domain) ? 2 : 1;
		if (rank <= best || !dnsq_name_ok(ptr.str[i]) ||
		    lookup_addrs(c, ptr.str[i], c->ip.family, &a) != DNSQ_OK)
			continue;
		for (j = 0; j < a.n; j++)
			if (ip_in(&c->ip, &a.ip[j], c->ip.family == AF_INET ?
			    32 : 128))
				break;
		if (j < a.n && strlen(ptr.str[i]) < size) {
			best = rank;
			snprintf(val, size, "%s", ptr.str[i]);
		}
		dnsq_ans_free(&a);
	}
	dnsq_ans_free(&ptr);
}

/* macro_value - the value of macro LETTER (lower case) into VAL.  0, or -1
 * (a letter not allowed here, or not known). */
static int
macro_value(struct spf_ctx *c, int letter, const char *domain, int exp,
    char *val, size_t size)
{
	char buf[INET6_ADDRSTRLEN];

	switch (letter) {
	case 's':
		snprintf(val, size, "%s", c->sender);
		break;
	case 'l':
		snprintf(val, size, "%s", c->local);
		break;
	case 'o':
		snprintf(val, size, "%s", c->sdomain);
		break;
	case 'd':
		snprintf(val, size, "%s", domain);
		break;
	case 'i':
		if (c->ip.family == AF_INET)
			inet_ntop(AF_INET, c->ip.addr, val, (socklen_t)size);
		else
			ip_nibbles(&c->ip, 0, val);
		break;
	case 'p':
		macro_p(c, domain, val, size);
		break;
	case 'v':
		snprintf(val, size, "%s", c->ip.family == AF_INET ? "in-addr" :
		    "ip6");
		break;
	case 'h':
		snprintf(val, size, "%s", c->r->helo ? c->r->helo : "");
		break;
	case 'c':
	case 'r':
	case 't':
		if (!exp)
			return -1;
		if (letter == 'c') {
			inet_ntop(c->ip.family, c->ip.addr, buf, sizeof(buf));
			snprintf(val, size, "%s", buf);
		} else if (letter == 'r')
			snprintf(val, size, "%s", c->r->receiver &&
			    *c->r->receiver ? c->r->receiver : "unknown");
		else
			snprintf(val, size, "%lld", c->r->now);
		break;
	default:
		return -1;
	}
	return 0;
}

/*
 * macro_transform - split VAL on the delimiters DELIM (".", when none),
 * reverse when REV, keep the DIGITS rightmost parts (0: all), join with
 * dots, URL-escape when UPPER, and append to OUT.  0 or -1 (no room).
 */
static int
macro_transform(const char *val, const char *delim, size_t ndelim,
    unsigned digits, int rev, int upper, char *out, size_t size, size_t *o)
{
	size_t start[SPF_VALUE_MAX + 1], len[SPF_VALUE_MAX + 1];
	size_t n = 0, i, k, first, vlen = strlen(val), b;
	char esc[4];
	int isdel;

	for (i = 0, b = 0; i <= vlen; i++) {
		isdel = i == vlen ? 1 : ndelim == 0 ? val[i] == '.' :
		    memchr(delim, val[i], ndelim) != NULL;
		if (!isdel)
			continue;
		start[n] = b;
		len[n++] = i - b;
		b = i + 1;
	}
	first = digits > 0 && digits < n ? n - digits : 0;
	for (k = first; k < n; k++) {
		/* the parts first..n-1 of the (reversed) list */
		i = rev ? n - 1 - k : k;
		if (k > first && out_put(out, size, o, ".", 1) == -1)
			return -1;
		for (b = start[i]; b < start[i] + len[i]; b++) {
			if (!upper || url_unreserved((unsigned char)val[b])) {
				if (out_put(out, size, o, val + b, 1) == -1)
					return -1;
				continue;
			}
			snprintf(esc, sizeof(esc), "%%%02X",
			    (unsigned char)val[b]);
			if (out_put(out, size, o, esc, 3) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * expand - the macro-string S (LEN bytes) of §7.1, with DOMAIN as %{d},
 * into OUT (SIZE bytes).  EXP: explain-string (spaces, c r t allowed).
 * With C NULL only the syntax is checked.  *ENDS_MACRO (may be NULL) says
 * whether the last token is a macro-expand (domain-end).  0, or -1 for a
 * syntax error or an expansion that does not fit.
 */
static int
expand(struct spf_ctx *c, const char *s, size_t len, const char *domain,
    int exp, char *out, size_t size, int *ends_macro)
{
	char val[SPF_VALUE_MAX + 1];
	const char *delim;
	size_t i = 0, o = 0, ndelim;
	unsigned digits;
	int letter, upper, rev, ndig;

	if (out != NULL && size > 0)
		out[0] = '\0';
	while (i < len) {
		unsigned char ch = (unsigned char)s[i];

		if (ends_macro != NULL)
			*ends_macro = ch == '%';
		if (ch != '%') {
			if ((ch < 0x21 || ch > 0x7e) && !(exp && ch == ' '))
				return -1;
			if (c != NULL && out_put(out, size, &o, s + i, 1) == -1)
				return -1;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
			const char *lit = s[i + 1] == '%' ? "%" :
			    s[i + 1] == '_' ? " " : "%20";

			if (c != NULL && out_put(out, size, &o, lit,
			    strlen(lit)) == -1)
				return -1;
			i += 2;
			continue;
		}
		if (s[i + 1] != '{' || i + 2 >= len)
			return -1;
		i += 2;
		letter = tolower((unsigned char)s[i]);
		upper = isupper((unsigned char)s[i]);
		if (strchr("slodiphcrtv", letter) == NULL || letter == '\0')
			return -1;
		if (!exp && (letter == 'c' || letter == 'r' || letter == 't'))
			return -1;
		i++;
		for (digits = 0, ndig = 0; i < len && isdigit((unsigned char)s[i]);
		    i++, ndig++)
			if (digits < 1000)
				digits = digits * 10 + (unsigned)(s[i] - '0');
		if (ndig > 0 && digits == 0)
			return -1;	/* §7.1: a DIGIT transformer is nonzero */
		rev = i < len && (s[i] == 'r' || s[i] == 'R');
		if (rev)
			i++;
		delim = s + i;
		for (ndelim = 0; i < len && is_delim(s[i]); i++)
			ndelim++;
		if (i >= len || s[i] != '}')
			return -1;
		i++;
		if (c == NULL)
			continue;
		if (macro_value(c, letter, domain, exp, val, sizeof(val)) == -1 ||
		    macro_transform(val, delim, ndelim, digits, rev, upper, out,
		    size, &o) == -1)
			return -1;
	}
	return 0;
}

/* ---- syntax (§12) ----------------------------------------------------- */

/* toplabel_ok - §4.6.1's toplabel: alphanumerics and dashes, not at either
 * end, not all digits */
static int
toplabel_ok(const char *s, size_t len)
{
	size_t i;
	int alpha = 0, dash = 0;

	if (len == 0 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			dash = 1;
		else if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	return alpha || dash;
}

/* dspec_ok - S (LEN) is a domain-spec: a macro-string ending in a
 * macro-expand or "." toplabel ["."] */
static int
dspec_ok(const char *s, size_t len)
{
	size_t end, i;
	int ends_macro = 0;	/* the last token is a macro-expand */

	if (len == 0 || expand(NULL, s, len, NULL, 0, NULL, 0,
	    &ends_macro) == -1)
		return 0;
	if (ends_macro)
		return 1;
	end = len;
	if (s[end - 1] == '.')
		end--;
	for (i = end; i > 0 && s[i - 1] != '.'; i--)
		;
	if (i == 0)
		return 0;	/* "." toplabel: the dot is required */
	return toplabel_ok(s + i, end - i);
}

/* cidr_len - the digits S (LEN) as a prefix length of at most MAX with no
 * leading zero.  The length or -1. */
static int
cidr_len(const char *s, size_t len, int max)
{
	size_t i;
	int v = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* cidr_tail - take a dual-cidr-length off the end of S (*LEN shortened).
 * 0 or -1 (a bad length). */
static int
cidr_tail(const char *s, size_t *len, struct term *t)
{
	size_t i, n = *len;

	for (i = n; i > 0 && isdigit((unsigned char)s[i - 1]); i--)
		;
	if (i == 0 || i == n || s[i - 1] != '/')
		return 0;	/* no "/digits" at the end */
	if (i >= 2 && s[i - 2] == '/') {
		if ((t->cidr6 = cidr_len(s + i, n - i, 128)) == -1)
			return -1;
		n = i - 2;
		for (i = n; i > 0 && isdigit((unsigned char)s[i - 1]); i--)
			;
		if (i == 0 || i == n || s[i - 1] != '/') {
			*len = n;
			return 0;
		}
	}
	if ((t->cidr4 = cidr_len(s + i, n - i, 32)) == -1)
		return -1;
	*len = i - 1;
	return 0;
}

/* ip_net - "ADDR[/LEN]" of FAMILY into T.  0 or -1. */
static int
ip_net(const char *s, size_t len, int family, struct term *t)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	int max = family == AF_INET ? 32 : 128, plen = max;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(family, addr, t->net.addr) != 1)
		return -1;
	if (slash != NULL && (plen = cidr_len(slash + 1,
	    len - alen - 1, max)) == -1)
		return -1;
	t->net.family = family;
	if (family == AF_INET)
		t->cidr4 = plen;
	else
		t->cidr6 = plen;
	return 0;
}

/*
 * parse_term - one term S (LEN bytes, no spaces) into T.  0, or -1 with
 * the reason in WHY.
 */
static int
parse_term(const char *s, size_t len, struct term *t, char *why,
    size_t whysize)
{
	const char *p = s, *end = s + len, *name, *rest;
	size_t namelen, restlen, i;
	int qualified = 0;

	memset(t, 0, sizeof(*t));
	t->qual = '+';
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->text = s;
	t->textlen = len;
	if (p < end && strchr("+-~?", *p) != NULL) {
		t->qual = *p++;
		qualified = 1;
	}
	name = p;
	if (p == end || !isalpha((unsigned char)*p))
		goto bad;
	while (p < end && (isalnum((unsigned char)*p) || *p == '-' ||
	    *p == '_' || *p == '.'))
		p++;
	namelen = (size_t)(p - name);
	if (p < end && *p == '=') {
		if (qualified)
			goto bad;
		t->spec = p + 1;
		t->speclen = (size_t)(end - p - 1);
		if (namelen == 8 && strncasecmp(name, "redirect", 8) == 0)
			t->kind = K_REDIRECT;
		else if (namelen == 3 && strncasecmp(name, "exp", 3) == 0)
			t->kind = K_EXP;
		else {
			t->kind = K_UNKNOWN_MOD;
			if (expand(NULL, t->spec, t->speclen, NULL, 1, NULL, 0,
			    NULL) == -1)
				goto bad;
			return 0;
		}
		if (!dspec_ok(t->spec, t->speclen))
			goto bad;
		return 0;
	}
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == namelen &&
		    strncasecmp(name, mechs[i].name, namelen) == 0)
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		goto bad;
	t->kind = mechs[i].kind;
	rest = p;
	restlen = (size_t)(end - p);
	switch (t->kind) {
	case K_ALL:
		if (restlen != 0)
			goto bad;
		return 0;
	case K_IP4:
	case K_IP6:
		if (restlen < 2 || rest[0] != ':' || ip_net(rest + 1,
		    restlen - 1, t->kind == K_IP4 ? AF_INET : AF_INET6, t) == -1)
			goto bad;
		return 0;
	case K_A:
	case K_MX:
		if (cidr_tail(rest, &restlen, t) == -1)
			goto bad;
		/* FALLTHROUGH */
	case K_PTR:
		if (restlen == 0)
			return 0;
		/* FALLTHROUGH */
	case K_INCLUDE:
	case K_EXISTS:
		if (restlen < 2 || rest[0] != ':' ||
		    !dspec_ok(rest + 1, restlen - 1))
			goto bad;
		t->spec = rest + 1;
		t->speclen = restlen - 1;
		return 0;
	default:
		goto bad;
	}
bad:
	snprintf(why, whysize, "bad term \"%.*s\"", len > 64 ? 64 : (int)len,
	    s);
	return -1;
}

/* record_is_spf - TXT (LEN) is an SPF record: "v=spf1" then a space or
 * the end (§4.5) */
static int
record_is_spf(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (len == 6 || txt[6] == ' ');
}

/* next_term - the term from *POS of TXT (LEN) in *S, *N; 0 at the end */
static int
next_term(const char *txt, size_t len, size_t *pos, const char **s,
    size_t *n)
{
	size_t i = *pos;

	while (i < len && txt[i] == ' ')
		i++;
	if (i == len)
		return 0;
	*s = txt + i;
	while (i < len && txt[i] != ' ')
		i++;
	*n = (size_t)(txt + i - *s);
	*pos = i;
	return 1;
}

int
spf_record_check(const char *txt, size_t len, char *why, size_t whysize)
{
	struct term t;
	const char *s;
	size_t pos = 6, n, i;
	int redirect = 0, exp = 0;

	if (whysize > 0)
		why[0] = '\0';
	if (!record_is_spf(txt, len)) {
		snprintf(why, whysize, "not an SPF record");
		return -1;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)txt[i] < 0x20 ||
		    (unsigned char)txt[i] > 0x7e) {
			snprintf(why, whysize, "a byte not printable ASCII "
			    "(0x%02x)", (unsigned char)txt[i]);
			return -1;
		}
	while (next_term(txt, len, &pos, &s, &n)) {
		if (parse_term(s, n, &t, why, whysize) == -1)
			return -1;
		if ((t.kind == K_REDIRECT && redirect++) ||
		    (t.kind == K_EXP && exp++)) {
			snprintf(why, whysize, "%s given twice",
			    t.kind == K_EXP ? "exp" : "redirect");
			return -1;
		}
	}
	return 0;
}

/* ---- DNS -------------------------------------------------------------- */

/* lookup_addrs - A (AF_INET) or AAAA records of NAME into A */
static int
lookup_addrs(struct spf_ctx *c, const char *name, int family,
    struct dnsq_ans *a)
{
	return dnsq_lookup(c->q, name, family == AF_INET ? DNSQ_A : DNSQ_AAAA,
	    a);
}

/* ip_in - IP is in NET/PLEN (both of one family) */
static int
ip_in(const struct dnsq_ip *ip, const struct dnsq_ip *net, int plen)
{
	int i, bytes = plen / 8, bits = plen % 8;

	if (ip->family != net->family)
		return 0;
	for (i = 0; i < bytes; i++)
		if (ip->addr[i] != net->addr[i])
			return 0;
	if (bits == 0)
		return 1;
	return ((ip->addr[bytes] ^ net->addr[bytes]) &
	    (0xff << (8 - bits)) & 0xff) == 0;
}

/* void_lookup - count a void lookup: NOMATCH, or permerror past the
 * limit (§4.6.4) */
static int
void_lookup(struct spf_ctx *c, const char *name)
{
	if (++c->voids > SPF_VOID_MAX) {
		problem(c, "too many void lookups (at %s)", name, strlen(name));
		return -SPF_PERMERROR;
	}
	return NOMATCH;
}

/* dns_error - a failed question as a match() answer */
static int
dns_error(struct spf_ctx *c, int rc, const char *name)
{
	if (rc == DNSQ_PERM) {
		problem(c, "malformed DNS answer for %s", name, strlen(name));
		return -SPF_PERMERROR;
	}
	problem(c, "DNS failure for %s", name, strlen(name));
	return -SPF_TEMPERROR;
}

/* target_name - the domain-spec of T expanded (DOMAIN when T has none)
 * into OUT (SPF_DOMAIN_MAX + 1), cut on the left to 253 bytes (§4.8), a
 * trailing dot removed.  1, 0 (not a name DNS can be asked: the
 * mechanism does not match), or -1 (the macros do not expand). */
static int
target_name(struct spf_ctx *c, const struct term *t, const char *domain,
    char *out)
{
	char buf[SPF_EXPAND_MAX];
	const char *p = buf;
	size_t len;

	if (t->speclen == 0)
		snprintf(buf, sizeof(buf), "%s", domain);
	else if (expand(c, t->spec, t->speclen, domain, 0, buf, sizeof(buf),
	    NULL) == -1)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	while (len > SPF_DOMAIN_MAX) {
		const char *dot = strchr(p, '.');

		if (dot == NULL)
			return 0;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	memmove(out, p, len + 1);
	return dnsq_name_ok(out);
}

static enum spf_result check_host(struct spf_ctx *, const char *, int);

/* count_term - one more DNS-querying term: 0, or permerror past the
 * limit */
static int
count_term(struct spf_ctx *c, const struct term *t)
{
	if (++c->terms > SPF_DNS_TERMS_MAX) {
		problem(c, "more than 10 DNS-querying terms (at %s)", t->text,
		    t->textlen);
		return -1;
	}
	return 0;
}

static int
match_a(struct spf_ctx *c, const char *name, const struct term *t)
{
	struct dnsq_ans a;
	size_t i;
	int rc, m = NOMATCH;

	rc = lookup_addrs(c, name, c->ip.family, &a);
	if (rc == DNSQ_NXDOMAIN || rc == DNSQ_NODATA)
		return void_lookup(c, name);
	if (rc != DNSQ_OK)
		return dns_error(c, rc, name);
	for (i = 0; i < a.n && m == NOMATCH; i++)
		if (ip_in(&c->ip, &a.ip[i], c->ip.family == AF_INET ?
		    t->cidr4 : t->cidr6))
			m = MATCH;
	dnsq_ans_free(&a);
	return m;
}

static int
match_mx(struct spf_ctx *c, const char *name, const struct term *t)
{
	struct dnsq_ans mx, a;
	size_t i, j;
	int rc, m = NOMATCH;

	rc = dnsq_lookup(c->q, name, DNSQ_MX, &mx);
	if (rc == DNSQ_NXDOMAIN || rc == DNSQ_NODATA)
		return void_lookup(c, name);
	if (rc != DNSQ_OK)
		return dns_error(c, rc, name);
	if (mx.n > SPF_MX_PTR_MAX) {
		problem(c, "more than 10 MX names for %s", name, strlen(name));
		dnsq_ans_free(&mx);
		return -SPF_PERMERROR;
	}
	for (i = 0; i < mx.n && m == NOMATCH; i++) {
		if (!dnsq_name_ok(mx.str[i]))
			continue;	/* the null MX "." and the like */
		rc = lookup_addrs(c, mx.str[i], c->ip.family, &a);
		if (rc == DNSQ_TEMP || rc == DNSQ_PERM) {
			m = dns_error(c, rc, mx.str[i]);
			break;
		}
		for (j = 0; rc == DNSQ_OK && j < a.n; j++)
			if (ip_in(&c->ip, &a.ip[j], c->ip.family == AF_INET ?
			    t->cidr4 : t->cidr6))
				m = MATCH;
		dnsq_ans_free(&a);
	}
	dnsq_ans_free(&mx);
	return m;
}

static int
match_ptr(struct spf_ctx *c, const char *name)
{
	char rev[80];
	struct dnsq_ans ptr, a;
	size_t i, j;
	int rc, m = NOMATCH;

	if (c->ip.family == AF_INET)
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa",
		    c->ip.addr[3], c->ip.addr[2], c->ip.addr[1], c->ip.addr[0]);
	else {
		ip_nibbles(&c->ip, 1, rev);
		strcat(rev, ".ip6.arpa");
	}
	rc = dnsq_lookup(c->q, rev, DNSQ_PTR, &ptr);
	if (rc == DNSQ_NXDOMAIN || rc == DNSQ_NODATA)
		return void_lookup(c, rev);
	if (rc != DNSQ_OK)
		return NOMATCH;		/* §5.5: a DNS error is no match */
	/* §4.6.4: only the first 10 names are looked at */
	for (i = 0; i < ptr.n && i < SPF_MX_PTR_MAX && m == NOMATCH; i++) {
		if (!name_under(ptr.str[i], name) ||
		    !dnsq_name_ok(ptr.str[i]) ||
		    lookup_addrs(c, ptr.str[i], c->ip.family, &a) != DNSQ_OK)
			continue;
		for (j = 0; j < a.n; j++)
			if (ip_in(&c->ip, &a.ip[j], c->ip.family == AF_INET ?
			    32 : 128))
				m = MATCH;
		dnsq_ans_free(&a);
	}
	dnsq_ans_free(&ptr);
	return m;
}

static int
match_exists(struct spf_ctx *c, const char *name)
{
	struct dnsq_ans a;
	int rc;

	rc = dnsq_lookup(c->q, name, DNSQ_A, &a);	/* A, whatever the client */
	if (rc == DNSQ_NXDOMAIN || rc == DNSQ_NODATA)
		return void_lookup(c, name);
	if (rc != DNSQ_OK)
		return dns_error(c, rc, name);
	dnsq_ans_free(&a);
	return MATCH;
}

/* match_include - §5.2's table */
static int
match_include(struct spf_ctx *c, const char *name)
{
	switch (check_host(c, name, 1)) {
	case SPF_PASS:
		return MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return NOMATCH;
	case SPF_TEMPERROR:
		return -SPF_TEMPERROR;
	case SPF_NONE:
		problem(c, "include:%s has no SPF record", name, strlen(name));
		return -SPF_PERMERROR;
	default:
		return -SPF_PERMERROR;
	}
}

/*
 * match - does mechanism T of DOMAIN's record match: MATCH, NOMATCH, or
 * minus an SPF_TEMPERROR / SPF_PERMERROR.
 */
static int
match(struct spf_ctx *c, const struct term *t, const char *domain)
{
	char name[SPF_EXPAND_MAX];
	int r;

	switch (t->kind) {
	case K_ALL:
		return MATCH;
	case K_IP4:
	case K_IP6:
		return ip_in(&c->ip, &t->net, t->kind == K_IP4 ? t->cidr4 :
		    t->cidr6) ? MATCH : NOMATCH;
	default:
		break;
	}
	if (count_term(c, t) == -1)
		return -SPF_PERMERROR;
	if ((r = target_name(c, t, domain, name)) == -1) {
		problem(c, "macros of %s do not expand", t->text, t->textlen);
		return -SPF_PERMERROR;
	}
	if (r == 0) {
		/* not a name DNS can be asked: as a name that does not
		 * exist, except where none is an error */
		if (t->kind != K_INCLUDE)
			return NOMATCH;
		problem(c, "bad target in %s", t->text, t->textlen);
		return -SPF_PERMERROR;
	}
	switch (t->kind) {
	case K_A:
		return match_a(c, name, t);
	case K_MX:
		return match_mx(c, name, t);
	case K_PTR:
		return match_ptr(c, name);
	case K_EXISTS:
		return match_exists(c, name);
	case K_INCLUDE:
		return match_include(c, name);
	default:
		return -SPF_PERMERROR;
	}
}

/* explain - the exp= text (§6.2) for a fail of DOMAIN into the outcome;
 * any trouble leaves it empty */
static void
explain(struct spf_ctx *c, const struct term *t, const char *domain)
{
	char name[SPF_EXPAND_MAX];
	struct dnsq_ans a;

	if (target_name(c, t, domain, name) != 1)
		return;
	if (dnsq_lookup(c->q, name, DNSQ_TXT, &a) != DNSQ_OK)
		return;
	if (a.n == 1 && expand(c, a.str[0], a.len[0], domain, 1,
	    c->out->explanation, sizeof(c->out->explanation), NULL) == -1)
		c->out->explanation[0] = '\0';
	dnsq_ans_free(&a);
}

static enum spf_result
qual_result(char q)
{
	switch (q) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

/* eval - the terms of DOMAIN's record TXT (LEN, well-formed) in order
 * (§4.6), then redirect (§6.1).  NESTED: inside an include, where no
 * explanation is made. */
static enum spf_result
eval(struct spf_ctx *c, const char *domain, const char *txt, size_t len,
    int nested)
{
	struct term t, redirect = { 0 }, exp = { 0 };
	char why[8], name[SPF_EXPAND_MAX];
	const char *s;
	size_t pos = 6, n;
	int has_all = 0, has_redirect = 0, has_exp = 0, m;
	enum spf_result r;

	while (next_term(txt, len, &pos, &s, &n)) {
		(void)parse_term(s, n, &t, why, sizeof(why));
		if (t.kind == K_ALL)
			has_all = 1;
		else if (t.kind == K_REDIRECT) {
			redirect = t;
			has_redirect = 1;
		} else if (t.kind == K_EXP) {
			exp = t;
			has_exp = 1;
		}
	}
	pos = 6;
	while (next_term(txt, len, &pos, &s, &n)) {
		(void)parse_term(s, n, &t, why, sizeof(why));
		if (t.kind == K_REDIRECT || t.kind == K_EXP ||
		    t.kind == K_UNKNOWN_MOD)
			continue;
		if ((m = match(c, &t, domain)) < 0)
			return (enum spf_result)-m;
		if (m == NOMATCH)
			continue;
		r = qual_result(t.qual);
		if (!nested) {
			snprintf(c->out->mechanism, sizeof(c->out->mechanism),
			    "%.*s", (int)t.textlen, t.text);
			if (r == SPF_FAIL && has_exp)
				explain(c, &exp, domain);
		}
		return r;
	}
	if (!has_redirect || has_all)
		return SPF_NEUTRAL;
	if (count_term(c, &redirect) == -1)
		return SPF_PERMERROR;
	if (target_name(c, &redirect, domain, name) != 1) {
		problem(c, "bad target in %s", redirect.text,
		    redirect.textlen);
		return SPF_PERMERROR;
	}
	r = check_host(c, name, nested);
	if (r == SPF_NONE) {
		problem(c, "redirect=%s has no SPF record", name, strlen(name));
		return SPF_PERMERROR;
	}
	return r;
}

/* domain_ok - §4.3: a multi-label name, labels of 1-63 bytes, one
 * trailing dot at most, no domain literal */
static int
domain_ok(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 0, i;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX || d[0] == '[')
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (label == 0 || label > 63)
				return 0;
			labels++;
			label = 0;
		} else if ((unsigned char)d[i] <= 0x20 ||
		    (unsigned char)d[i] >= 0x7f)
			return 0;
		else
			label++;
	}
	return labels >= 2;
}

/* check_host - §4: the record of DOMAIN and its evaluation */
static enum spf_result
check_host(struct spf_ctx *c, const char *domain, int nested)
{
	char why[96], *rec = NULL;
	struct dnsq_ans a;
	size_t i, len = 0, found = 0;
	enum spf_result r;
	int rc;

	if (!domain_ok(domain))
		return SPF_NONE;
	rc = dnsq_lookup(c->q, domain, DNSQ_TXT, &a);
	if (rc == DNSQ_NXDOMAIN || rc == DNSQ_NODATA)
		return SPF_NONE;
	if (rc != DNSQ_OK) {
		problem(c, rc == DNSQ_PERM ? "malformed TXT answer for %s" :
		    "DNS failure for %s", domain, strlen(domain));
		return rc == DNSQ_PERM ? SPF_PERMERROR : SPF_TEMPERROR;
	}
	for (i = 0; i < a.n; i++)
		if (record_is_spf(a.str[i], a.len[i])) {
			found++;
			rec = a.str[i];
			len = a.len[i];
		}
	if (found == 0) {
		dnsq_ans_free(&a);
		return SPF_NONE;
	}
	if (found > 1) {
		problem(c, "%s has several SPF records", domain,
		    strlen(domain));
		r = SPF_PERMERROR;
	} else if (spf_record_check(rec, len, why, sizeof(why)) == -1) {
		problem(c, "%s", why, strlen(why));
		r = SPF_PERMERROR;
	} else
		r = eval(c, domain, rec, len, nested);
	dnsq_ans_free(&a);
	return r;
}

/* ctx_init - C for request R and SENDER ("local@domain", or a domain) */
static int
ctx_init(struct spf_ctx *c, struct dnsq *q, const struct spf_request *r,
    const char *sender, struct spf_outcome *out)
{
	const char *at;
	int n;

	memset(c, 0, sizeof(*c));
	c->q = q;
	c->r = r;
	c->out = out;
	c->ip = r->ip;
	if (c->ip.family == AF_INET6) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
		};

		if (memcmp(c->ip.addr, mapped, 12) == 0) {
			memmove(c->ip.addr, c->ip.addr + 12, 4);
			memset(c->ip.addr + 4, 0, 12);
			c->ip.family = AF_INET;
		}
	} else if (c->ip.family != AF_INET)
		return -1;
	at = strrchr(sender, '@');
	if (at == NULL || at == sender)
		n = snprintf(c->local, sizeof(c->local), "postmaster");
	else
		n = snprintf(c->local, sizeof(c->local), "%.*s",
		    (int)(at - sender), sender);
	if (n < 0 || (size_t)n >= sizeof(c->local))
		return -1;
	n = snprintf(c->sdomain, sizeof(c->sdomain), "%s",
	    at ? at + 1 : sender);
	if (n < 0 || (size_t)n >= sizeof(c->sdomain))
		return -1;
	n = snprintf(c->sender, sizeof(c->sender), "%s@%s", c->local,
	    c->sdomain);
	if (n < 0 || (size_t)n >= sizeof(c->sender))
		return -1;
	return 0;
}

void
spf_check_host(struct dnsq *q, const struct spf_request *r,
    const char *domain, const char *sender, struct spf_outcome *out)
{
	struct spf_ctx c;

	out->result = SPF_NONE;
	out->mechanism[0] = out->explanation[0] = out->problem[0] = '\0';
	snprintf(out->domain, sizeof(out->domain), "%.*s", SPF_DOMAIN_MAX,
	    domain);
	if (ctx_init(&c, q, r, sender, out) == -1) {
		snprintf(out->problem, sizeof(out->problem),
		    "sender or client address unusable");
		return;
	}
	out->result = check_host(&c, domain, 0);
}

void
spf_check(struct dnsq *q, const struct spf_request *r,
    struct spf_outcome *out)
{
	const char *sender = r->sender ? r->sender : "";
	const char *helo = r->helo ? r->helo : "";
	const char *at, *domain;

	memset(out, 0, sizeof(*out));
	out->result = SPF_NONE;
	if (*sender == '\0') {
		snprintf(out->identity, sizeof(out->identity), "helo");
		domain = helo;
		sender = helo;	/* ctx_init makes it postmaster@HELO */
	} else {
		snprintf(out->identity, sizeof(out->identity), "mailfrom");
		at = strrchr(sender, '@');
		domain = at ? at + 1 : sender;
	}
	snprintf(out->domain, sizeof(out->domain), "%.*s", SPF_DOMAIN_MAX,
	    domain);
	if (!domain_ok(domain)) {
		snprintf(out->problem, sizeof(out->problem),
		    "%s is not a domain", out->identity);
		return;
	}
	spf_check_host(q, r, domain, sender, out);
}
