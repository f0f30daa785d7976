/*
 * glkey - the pure part of the greylist plugin: client addresses and
 * networks, the store keys of triplets and networks, recipient lists,
 * and the decision on one triplet's record.
 *
 * Runs wherever the plugin runs (the master at init, SMTP workers in the
 * rcpt hook) and in the unit test.  Does no I/O, calls no yh_* function,
 * keeps no state.  Must never write past an output buffer nor cut a key
 * (a key that does not fit is an error, a long triplet is hashed whole).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "greylist.h"

/* ---- addresses and networks --------------------------------------------- */

int
gl_net_key(const struct pu_ip *ip, char *out, size_t size)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int v4 = ip->family == 4;

	memset(a, 0, sizeof(a));
	memcpy(a, ip->a, v4 ? 3 : 8);	/* the /24 or the /64 */
	if (inet_ntop(v4 ? AF_INET : AF_INET6, a, text, sizeof(text)) == NULL)
		return -1;
	if ((size_t)snprintf(out, size, "%s/%d", text, v4 ? 24 : 64) >= size) {
		if (size > 0)
			*out = '\0';
		return -1;
	}
	return 0;
}

/* ---- store keys ---------------------------------------------------------- */

int
gl_lower(const char *s, char *out, size_t size)
{
	size_t i, len = strlen(s);

	if (size == 0)
		return -1;
	if (len >= size) {
		*out = '\0';
		return -1;
	}
	for (i = 0; i < len; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	out[len] = '\0';
	return 0;
}

/* hash_lower - update CTX with S in ASCII lower case. */
static int
hash_lower(EVP_MD_CTX *ctx, const char *s)
{
	char chunk[256];
	size_t n = 0;

	for (; *s; s++) {
		chunk[n++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s + 32) : *s;
		if (n == sizeof(chunk)) {
			if (EVP_DigestUpdate(ctx, chunk, n) != 1)
				return -1;
			n = 0;
		}
	}
	return n == 0 || EVP_DigestUpdate(ctx, chunk, n) == 1 ? 0 : -1;
}

/* triplet_hash - "t/NET/h:" and the SHA-256 of "LEN:SENDER/RCPT" (lower
 * case) into OUT.  0 or -1. */
static int
triplet_hash(const char *net, const char *sender, const char *rcpt,
    char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char head[32], digest[2 * 32 + 1];
	unsigned mdlen = 0, i;
	EVP_MD_CTX *ctx;
	int r = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	snprintf(head, sizeof(head), "%zu:", strlen(sender));
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, head, strlen(head)) == 1 &&
	    hash_lower(ctx, sender) == 0 &&
	    EVP_DigestUpdate(ctx, "/", 1) == 1 &&
	    hash_lower(ctx, rcpt) == 0 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32) {
		for (i = 0; i < mdlen; i++) {
			digest[2 * i] = hex[md[i] >> 4];
			digest[2 * i + 1] = hex[md[i] & 15];
		}
		digest[2 * mdlen] = '\0';
		if ((size_t)snprintf(out, size, "t/%s/h:%s", net, digest) < size)
			r = 0;
	}
	EVP_MD_CTX_free(ctx);
	if (r == -1 && size > 0)
		*out = '\0';
	return r;
}

int
gl_triplet_key(const char *net, const char *sender, const char *rcpt,
    char *out, size_t size)
{
	char ls[GL_ADDR_MAX], lr[GL_ADDR_MAX];
	int n;

	if (size == 0)
		return -1;
	if (gl_lower(sender, ls, sizeof(ls)) == 0 &&
	    gl_lower(rcpt, lr, sizeof(lr)) == 0) {
		n = snprintf(out, size, "t/%s/%zu:%s/%s", net, strlen(ls), ls, lr);
		if (n >= 0 && (size_t)n < size && n <= GL_KEY_MAX)
			return 0;
	}
	return triplet_hash(net, sender, rcpt, out, size);
}

int
gl_net_store_key(const char *net, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "n/%s", net) >= size) {
		if (size > 0)
			*out = '\0';
		return -1;
	}
	return 0;
}

/* ---- recipients ---------------------------------------------------------- */

/* local_len - the length of RCPT's local part (all of it without '@'). */
static size_t
local_len(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');

	return at ? (size_t)(at - rcpt) : strlen(rcpt);
}

int
gl_role_rcpt(const char *rcpt)
{
	static const char *const roles[] = { "postmaster", "abuse" };
	size_t len = local_len(rcpt), i, rl;

	/* a quoted local part: "postmaster"@x is postmaster@x */
	if (len >= 2 && rcpt[0] == '"' && rcpt[len - 1] == '"') {
		rcpt++;
		len -= 2;
	}
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		rl = strlen(roles[i]);
		if (len == rl && strncasecmp(rcpt, roles[i], rl) == 0)
			return 1;
	}
	return 0;
}

/* dom_eq - domains A (LA bytes) and B equal, any case, one trailing dot
 * ignored on either. */
static int
dom_eq(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

int
gl_rcpt_listed(char *const *list, size_t n, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t i;

	for (i = 0; i < n; i++) {
		if (list[i][0] == '@') {
			if (at != NULL && dom_eq(at + 1, strlen(at + 1),
			    list[i] + 1))
				return 1;
		} else if (strcasecmp(list[i], rcpt) == 0)
			return 1;
	}
	return 0;
}

int
gl_domain_ok(const char *s)
{
	size_t label = 0;
	unsigned char c;

	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		c = (unsigned char)*s;
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '-' && c < 0x80)
			return 0;
		label++;
	}
	return 1;	/* one trailing dot is allowed */
}

/* ---- records and decisions ----------------------------------------------- */

int
gl_rec_parse(const char *buf, size_t len, struct gl_rec *r)
{
	char text[GL_REC_MAX], *end;
	long long t;

	r->state = GL_NONE;
	r->time = 0;
	if (len < 3 || len >= sizeof(text) || memchr(buf, '\0', len) != NULL)
		return -1;
	memcpy(text, buf, len);
	text[len] = '\0';
	if ((text[0] != 'w' && text[0] != 'p') || text[1] != ' ' ||
	    text[2] < '0' || text[2] > '9' || (text[2] == '0' && len > 3))
		return -1;	/* only the text gl_rec_format writes */
	errno = 0;
	t = strtoll(text + 2, &end, 10);
	if (errno != 0 || *end != '\0' || t < 0)
		return -1;
	r->state = text[0] == 'w' ? GL_WAIT : GL_PASS;
	r->time = t;
	return 0;
}

int
gl_rec_format(const struct gl_rec *r, char *out, size_t size)
{
	int n;

	if (r->state != GL_WAIT && r->state != GL_PASS)
		return -1;
	n = snprintf(out, size, "%c %lld", r->state == GL_WAIT ? 'w' : 'p',
	    r->time);
	return n >= 0 && (size_t)n < size ? n : -1;
}

enum gl_verdict
gl_decide(const struct gl_rec *r, long long now, const struct gl_times *t,
    struct gl_rec *next, long long *wait_r)
{
	long long age;

	*wait_r = 0;
	if (r->state == GL_PASS) {
		next->state = GL_PASS;
		next->time = now;
		return GL_KNOWN;
	}
	next->state = GL_WAIT;
	next->time = now;
	if (r->state != GL_WAIT) {
		*wait_r = t->delay;
		return GL_NEW;
	}
	age = now - r->time;
	if (age < 0 || age > t->window) {
		*wait_r = t->delay;
		return GL_RESTART;
	}
	if (age < t->delay) {
		next->time = r->time;	/* a retry never moves first sight */
		*wait_r = t->delay - age;
		return GL_EARLY;
	}
	next->state = GL_PASS;
	return GL_PASSED;
}

int
gl_refresh_due(long long last, long long now, const struct gl_times *t)
{
	long long every = GL_REFRESH;

	if (t->max_age / 2 < every)
		every = t->max_age / 2;
	return now < last || now - last >= every;
}

const char *
gl_verdict_name(enum gl_verdict v)
{
	switch (v) {
	case GL_NEW:
		return "new";
	case GL_EARLY:
		return "early";
	case GL_RESTART:
		return "restart";
	case GL_PASSED:
		return "passed";
	case GL_KNOWN:
		return "known";
	}
	return "?";
}
