/*
 * dns.c - MX and A/AAAA look-ups through libresolv; see dns.h.  Runs in
 * delivery agents (the server user).  Answers from the network are parsed
 * with ns_initparse/ns_parserr, which bound every read to the message.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "util.h"

#define DNS_ANSWER_MAX	65536	/* largest DNS message (TCP) */
#define DNS_TIMEOUT	5	/* seconds per try (RES_TIMEOUT) */
#define DNS_RETRIES	2

/* dns_init - a resolver state, the server replaced by RESOLVER when set.
 * 0 or -1 (bad RESOLVER). */
static int
dns_init(res_state rs, const char *resolver)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port = NULL;
	struct in_addr a4;
	size_t len;

	memset(rs, 0, sizeof(*rs));
	if (res_ninit(rs) == -1)
		return -1;
	rs->retrans = DNS_TIMEOUT;
	rs->retry = DNS_RETRIES;
	if (resolver == NULL || *resolver == '\0')
		return 0;
	/* ADDRESS[:PORT]; "[v6]:port" for IPv6 is not supported by the
	 * nsaddr_list of IPv4 slots, so only IPv4 servers are accepted */
	colon = strrchr(resolver, ':');
	len = colon ? (size_t)(colon - resolver) : strlen(resolver);
	if (colon)
		port = colon + 1;
	if (len >= sizeof(host))
		goto bad;
	memcpy(host, resolver, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, &a4) != 1)
		goto bad;
	rs->nscount = 1;
	memset(&rs->nsaddr_list[0], 0, sizeof(rs->nsaddr_list[0]));
	rs->nsaddr_list[0].sin_family = AF_INET;
	rs->nsaddr_list[0].sin_addr = a4;
	rs->nsaddr_list[0].sin_port = htons(port ? (unsigned short)atoi(port) : 53);
	rs->options |= RES_USEVC;	/* TCP: no truncation, no spoofing by race */
	rs->options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	return 0;
bad:
	res_nclose(rs);
	return -1;
}

/* dns_query - one query; the answer into ANS.  Length, or a negative
 * enum dns_status-ish: -1 tempfail, -2 nxdomain, -3 nodata. */
static int
dns_query(res_state rs, const char *name, int type, unsigned char *ans,
    size_t size)
{
	int n;

	h_errno = 0;
	n = res_nquery(rs, name, ns_c_in, type, ans, (int)size);
	if (n >= 0)
		return n;
	switch (rs->res_h_errno) {
	case HOST_NOT_FOUND:
		return -2;
	case NO_DATA:
		return -3;
	default:
		return -1;
	}
}

void
dns_sort_mx(struct dns_mx *out, size_t n)
{
	size_t i, j, k;
	struct dns_mx t;

	/* insertion sort by preference (n <= DNS_MX_MAX) */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && out[j].pref < out[j - 1].pref; j--) {
			t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	/* shuffle each run of equal preference (Fisher-Yates) */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && out[j].pref == out[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			size_t r = i + (size_t)random() % (k - i + 1);

			t = out[k];
			out[k] = out[r];
			out[r] = t;
		}
	}
}

int
dns_mx(const char *resolver, const char *domain, struct dns_mx *out,
    size_t max, size_t *n_r)
{
	struct __res_state rs;
	unsigned char *ans;
	ns_msg msg;
	ns_rr rr;
	int n, i, count, status = DNS_OK, nullmx = 0;
	size_t got = 0;

	*n_r = 0;
	if (dns_init(&rs, resolver) == -1)
		return DNS_TEMPFAIL;
	ans = xmalloc(DNS_ANSWER_MAX);
	n = dns_query(&rs, domain, ns_t_mx, ans, DNS_ANSWER_MAX);
	if (n < 0) {
		status = n == -2 ? DNS_NXDOMAIN : n == -3 ? DNS_NODATA : DNS_TEMPFAIL;
		goto out;
	}
	if (ns_initparse(ans, n, &msg) == -1) {
		status = DNS_TEMPFAIL;
		goto out;
	}
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && got < max; i++) {
		char name[NS_MAXDNAME];
		const unsigned char *rd;

		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		rd = ns_rr_rdata(rr);
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd + 2,
		    name, sizeof(name)) == -1)
			continue;
		if (name[0] == '\0' || strcmp(name, ".") == 0) {
			nullmx = 1;	/* RFC 7505: "0 ." */
			continue;
		}
		if (str_copy(out[got].name, sizeof(out[got].name), name) == -1)
			continue;
		out[got].pref = (rd[0] << 8) | rd[1];
		got++;
	}
	if (got == 0)
		status = nullmx ? DNS_NULLMX : DNS_NODATA;
	else {
		dns_sort_mx(out, got);
		*n_r = got;
	}
out:
	free(ans);
	res_nclose(&rs);
	return status;
}

static int
dns_addr_put(struct sockaddr_storage *out, size_t max, size_t *n, int family,
    const void *a, int port)
{
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;

	if (*n >= max)
		return -1;
	memset(&out[*n], 0, sizeof(out[*n]));
	if (family == AF_INET) {
		sin = (struct sockaddr_in *)&out[*n];
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		memcpy(&sin->sin_addr, a, 4);
	} else {
		sin6 = (struct sockaddr_in6 *)&out[*n];
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		memcpy(&sin6->sin6_addr, a, 16);
	}
	(*n)++;
	return 0;
}

int
dns_addrs(const char *resolver, const char *host, int port,
    struct sockaddr_storage *out, size_t max, size_t *n_r)
{
	unsigned char a[16];
	char lit[DNS_NAME_MAX + 1];
	size_t len = strlen(host);
	int status = DNS_NXDOMAIN, type, k;

	*n_r = 0;
	/* address literals: "1.2.3.4", "[1.2.3.4]", "[IPv6:::1]", "::1" */
	if (len > 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(lit)) {
		memcpy(lit, host + 1, len - 2);
		lit[len - 2] = '\0';
		host = strncasecmp(lit, "IPv6:", 5) == 0 ? lit + 5 : lit;
	}
	if (inet_pton(AF_INET, host, a) == 1)
		return dns_addr_put(out, max, n_r, AF_INET, a, port), DNS_OK;
	if (inet_pton(AF_INET6, host, a) == 1)
		return dns_addr_put(out, max, n_r, AF_INET6, a, port), DNS_OK;
	if (resolver == NULL || *resolver == '\0') {
		struct addrinfo hints, *res, *ai;
		int e;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		e = getaddrinfo(host, NULL, &hints, &res);
		if (e == EAI_NONAME)
			return DNS_NXDOMAIN;
		if (e == EAI_NODATA)
			return DNS_NODATA;
		if (e != 0)
			return DNS_TEMPFAIL;
		for (ai = res; ai; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET)
				dns_addr_put(out, max, n_r, AF_INET,
				    &((struct sockaddr_in *)ai->ai_addr)->sin_addr, port);
			else if (ai->ai_family == AF_INET6)
				dns_addr_put(out, max, n_r, AF_INET6,
				    &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, port);
		}
		freeaddrinfo(res);
		return *n_r ? DNS_OK : DNS_NODATA;
	} else {
		struct __res_state rs;
		unsigned char *ans;
		ns_msg msg;
		ns_rr rr;
		int n, i, count;

		if (dns_init(&rs, resolver) == -1)
			return DNS_TEMPFAIL;
		ans = xmalloc(DNS_ANSWER_MAX);
		for (k = 0; k < 2; k++) {
			type = k == 0 ? ns_t_a : ns_t_aaaa;
			n = dns_query(&rs, host, type, ans, DNS_ANSWER_MAX);
			if (n < 0) {
				if (n == -1)
					status = DNS_TEMPFAIL;
				else if (n == -3 && status == DNS_NXDOMAIN)
					status = DNS_NODATA;
				continue;
			}
			if (ns_initparse(ans, n, &msg) == -1) {
				status = DNS_TEMPFAIL;
				continue;
			}
			count = ns_msg_count(msg, ns_s_an);
			for (i = 0; i < count; i++) {
				if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
					break;
				if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
					dns_addr_put(out, max, n_r, AF_INET,
					    ns_rr_rdata(rr), port);
				else if (ns_rr_type(rr) == ns_t_aaaa &&
				    ns_rr_rdlen(rr) == 16)
					dns_addr_put(out, max, n_r, AF_INET6,
					    ns_rr_rdata(rr), port);
			}
		}
		free(ans);
		res_nclose(&rs);
		return *n_r ? DNS_OK : status;
	}
}
