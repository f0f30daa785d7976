/*
 * dbzone.c - the pure part of the dnsbl plugin (dnsbl.h): the words of
 * `zones`, the names asked (RFC 5782 §2.1, §2.4), what an A answer means,
 * the score and the verdict, the reason text quoted from a TXT record and
 * the cache record.  libc only, no yh_* call and no I/O, so the unit test
 * and the fuzz target link it alone.
 *
 * Must never: read past the text it is given, write past a buffer, cut
 * a zone name or a record (refused instead), or let a byte of a TXT record
 * through that is not printable ASCII.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsbl.h"

/* zone_ok - ZONE (LEN bytes) is a host name: labels of letters, digits,
 * '-' and '_' (1..63 bytes each), separated by single dots. */
static int
zone_ok(const char *zone, size_t len)
{
	size_t i, label = 0;
	unsigned char c;

	if (len == 0 || len > DB_ZONE_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)zone[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* weight_parse - S as a non-zero weight within DB_WEIGHT_MAX.  0 or -1. */
static int
weight_parse(const char *s, long *w)
{
	char *end;
	long v;

	if (*s == '\0' || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v == 0 || v > DB_WEIGHT_MAX || v < -DB_WEIGHT_MAX)
		return -1;
	*w = v;
	return 0;
}

int
db_zone_parse(const char *word, struct db_zone *z, const char **why)
{
	const char *eq = strchr(word, '='), *star;
	char addr[INET_ADDRSTRLEN];
	size_t len = eq ? (size_t)(eq - word) : strlen(word), i;

	memset(z, 0, sizeof(*z));
	z->weight = 1;
	if (len > 0 && word[len - 1] == '.')
		len--;
	if (!zone_ok(word, len)) {
		*why = "not a zone name (letters, digits, '-', '_' and dots, "
		    "at most 189 bytes)";
		return -1;
	}
	for (i = 0; i < len; i++)
		z->name[i] = (char)(word[i] >= 'A' && word[i] <= 'Z' ?
		    word[i] - 'A' + 'a' : word[i]);
	z->name[len] = '\0';
	if (eq == NULL)
		return 0;
	eq++;
	if (strchr(eq, '.') == NULL) {
		if (weight_parse(eq, &z->weight) == -1) {
			*why = "the weight is not a non-zero integer within "
			    "-1000..1000";
			return -1;
		}
		return 0;
	}
	/* a filter: "127.0.0.N", then maybe "*WEIGHT" */
	star = strchr(eq, '*');
	len = star ? (size_t)(star - eq) : strlen(eq);
	if (len >= sizeof(addr)) {
		*why = "the filter is not an IPv4 address of 127.0.0.0/8";
		return -1;
	}
	memcpy(addr, eq, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, z->filter) != 1 || z->filter[0] != 127) {
		*why = "the filter is not an IPv4 address of 127.0.0.0/8";
		return -1;
	}
	z->has_filter = 1;
	if (star != NULL && weight_parse(star + 1, &z->weight) == -1) {
		*why = "the weight is not a non-zero integer within "
		    "-1000..1000";
		return -1;
	}
	return 0;
}

int
db_query_name(const struct pu_ip *ip, const char *zone, char *out,
    size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char rev[72];
	size_t o = 0;
	int i, n;

	if (ip->family == 4)
		o = (size_t)snprintf(rev, sizeof(rev), "%u.%u.%u.%u",
		    ip->a[3], ip->a[2], ip->a[1], ip->a[0]);
	else if (ip->family == 6) {
		for (i = 15; i >= 0; i--) {
			rev[o++] = hex[ip->a[i] & 0x0f];
			rev[o++] = '.';
			rev[o++] = hex[ip->a[i] >> 4];
			rev[o++] = i > 0 ? '.' : '\0';
		}
	} else
		return -1;
	n = snprintf(out, size, "%s.%s", rev, zone);
	if (n < 0 || (size_t)n >= size || (size_t)n > DNSQ_NAME_MAX) {
		if (size > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

enum db_hit
db_classify(const struct db_zone *z, const struct dnsq_ans *ans,
    unsigned char *addr_r)
{
	const unsigned char *a;
	size_t i;
	int bogus = 0;

	for (i = 0; i < ans->n; i++) {
		if (ans->ip == NULL || ans->ip[i].family != AF_INET)
			continue;
		a = ans->ip[i].addr;
		if (a[0] != 127 || (a[1] == 0 && a[2] == 0 && a[3] == 1) ||
		    (a[1] == 255 && a[2] == 255)) {
			bogus = 1;
			continue;
		}
		if (z->has_filter && memcmp(a, z->filter, 4) != 0)
			continue;
		memcpy(addr_r, a, 4);
		return DB_LISTED;
	}
	return bogus ? DB_BOGUS : DB_CLEAN;
}

enum db_verdict
db_decide(const struct db_zone *zones, const enum db_state *st, size_t n,
    long threshold, long *score_r)
{
	size_t i;
	long score = 0;
	int unsure = 0;

	for (i = 0; i < n; i++) {
		if (st[i] == DB_ST_LISTED)
			score += zones[i].weight;
		else if (st[i] == DB_ST_FAILED && zones[i].weight < 0)
			unsure = 1;	/* it might have lowered the score */
	}
	*score_r = score;
	if (score < threshold)
		return DB_PASS;
	return unsure ? DB_UNSURE : DB_REJECT;
}

size_t
db_reason(const char *src, size_t len, char *out, size_t size)
{
	size_t i, o = 0, max = size - 4;
	int space = 0;
	unsigned char c;

	if (max > DB_REASON_MAX)
		max = DB_REASON_MAX;
	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c <= ' ' || c >= 0x7f) {
			space = o > 0;
			continue;
		}
		if (o + space + 1 > max) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

int
db_rec_format(int listed, const unsigned char *addr, const char *reason,
    char *out, size_t size)
{
	int n;

	if (!listed)
		n = snprintf(out, size, "c");
	else
		n = snprintf(out, size, "l %u.%u.%u.%u %s", addr[0], addr[1],
		    addr[2], addr[3], reason);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

int
db_rec_parse(const char *buf, size_t len, int *listed_r,
    unsigned char *addr_r, char *reason, size_t rsize)
{
	char addr[INET_ADDRSTRLEN];
	const char *sp;
	size_t al, i;

	*listed_r = 0;
	memset(addr_r, 0, 4);
	if (rsize > 0)
		reason[0] = '\0';
	if (len == 1 && buf[0] == 'c')
		return 0;
	if (len < 2 || buf[0] != 'l' || buf[1] != ' ')
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < ' ' || (unsigned char)buf[i] >= 0x7f)
			return -1;
	sp = memchr(buf + 2, ' ', len - 2);
	if (sp == NULL)
		return -1;
	al = (size_t)(sp - (buf + 2));
	if (al >= sizeof(addr))
		return -1;
	memcpy(addr, buf + 2, al);
	addr[al] = '\0';
	if (inet_pton(AF_INET, addr, addr_r) != 1 || addr_r[0] != 127)
		return -1;
	if ((size_t)(buf + len - (sp + 1)) >= rsize)
		return -1;
	memcpy(reason, sp + 1, (size_t)(buf + len - (sp + 1)));
	reason[buf + len - (sp + 1)] = '\0';
	*listed_r = 1;
	return 0;
}

int
db_role_rcpt(const char *rcpt)
{
	static const char *const roles[] = { "postmaster", "abuse" };
	const char *at = strrchr(rcpt, '@');
	size_t len = at ? (size_t)(at - rcpt) : strlen(rcpt), i, rl;

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
