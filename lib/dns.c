/*
 * dns.c - MX and A/AAAA look-ups through libresolv; see dns.h.  Runs in
 * delivery agents (the server user).  Answers from the network are parsed
 * with ns_initparse/ns_parserr, which bound every read to the message.
 * With server.resolver set, queries are built by res_nmkquery and sent over
 * TCP here (IPv4 or IPv6 server; TCP: no truncation, no spoofing by race);
 * without it res_nquery asks the servers of resolv.conf.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "util.h"

#define DNS_ANSWER_MAX	65536	/* largest DNS message (TCP) */
#define DNS_TIMEOUT	5	/* seconds per try (RES_TIMEOUT) */
#define DNS_RETRIES	2

int
dns_server_parse(const char *text, struct sockaddr_storage *ss,
    socklen_t *len_r)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *end, *port = NULL;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	unsigned long p = 53;
	int bracket = text[0] == '[';
	size_t len;
	char *e;

	memset(ss, 0, sizeof(*ss));
	if (bracket) {
		/* "[V6]" or "[V6]:PORT" */
		if ((end = strchr(text, ']')) == NULL)
			return -1;
		len = (size_t)(end - text - 1);
		text++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((end = strchr(text, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL) {
		/* one colon: "V4:PORT" */
		len = (size_t)(end - text);
		port = end + 1;
	} else
		len = strlen(text);	/* "V4", or a bare "V6" without port */
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, text, len);
	host[len] = '\0';
	if (port != NULL) {
		if (*port < '0' || *port > '9' || strlen(port) > 5)
			return -1;
		p = strtoul(port, &e, 10);
		if (*e != '\0' || p == 0 || p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if (bracket)
			return -1;	/* brackets are for IPv6 */
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)p);
		*len_r = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)p);
		*len_r = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/*
 * A resolver: the system's (res_nquery over resolv.conf) or the one
 * server.resolver names, asked by dns_tcp_query over TCP.  glibc keeps IPv6
 * name servers in private fields of its state, so a configured server is
 * not put into the res_state at all; the state only builds the queries.
 */
struct dns_ctx {
	struct __res_state	rs;
	int			custom;		/* server.resolver set */
	struct sockaddr_storage	ss;
	socklen_t		sslen;
};

/* dns_init - C ready for RESOLVER ("" = resolv.conf).  0 or -1 (bad
 * RESOLVER, or no resolver state). */
static int
dns_init(struct dns_ctx *c, const char *resolver)
{
	memset(c, 0, sizeof(*c));
	if (resolver != NULL && *resolver != '\0') {
		if (dns_server_parse(resolver, &c->ss, &c->sslen) == -1)
			return -1;
		c->custom = 1;
	}
	if (res_ninit(&c->rs) == -1)
		return -1;
	c->rs.retrans = DNS_TIMEOUT;
	c->rs.retry = DNS_RETRIES;
	if (c->custom)
		c->rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	return 0;
}

int
dns_server(const char *resolver, struct sockaddr_storage *ss, socklen_t *len_r)
{
	struct __res_state rs;

	if (resolver != NULL && *resolver != '\0')
		return dns_server_parse(resolver, ss, len_r);
	memset(ss, 0, sizeof(*ss));
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) == -1)
		return -1;
	if (rs.nscount == 0) {
		res_nclose(&rs);
		return -1;
	}
	memcpy(ss, &rs.nsaddr_list[0], sizeof(rs.nsaddr_list[0]));
	*len_r = sizeof(rs.nsaddr_list[0]);
	res_nclose(&rs);
	return 0;
}

static void
dns_done(struct dns_ctx *c)
{
	res_nclose(&c->rs);
}

/* dns_wait - poll FD for EVENTS until DEADLINE (now_ms clock).  1 ready,
 * 0 timed out, -1 error. */
static int
dns_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return r;
		return 1;
	}
}

/* dns_xfer - send LEN bytes of P (WRITE) or read exactly LEN into P,
 * before DEADLINE.  0 or -1. */
static int
dns_xfer(int fd, int write, unsigned char *p, size_t len, long long deadline)
{
	ssize_t n;

	while (len > 0) {
		if (dns_wait(fd, write ? POLLOUT : POLLIN, deadline) != 1)
			return -1;
		n = write ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * dns_tcp_once - one exchange with C's server over TCP (RFC 1035 §4.2.2:
 * two length bytes in front of each message): Q (QLEN) out, the answer
 * into ANS (SIZE).  The answer's length, or -1 (no answer in DNS_TIMEOUT,
 * or one that is not the reply to Q).
 */
static int
dns_tcp_once(struct dns_ctx *c, const unsigned char *q, size_t qlen,
    unsigned char *ans, size_t size)
{
	unsigned char hdr[2], out[2 + NS_PACKETSZ];
	long long deadline = now_ms() + DNS_TIMEOUT * 1000LL;
	socklen_t elen = sizeof(int);
	size_t alen;
	int fd, err = 0, r = -1;

	fd = socket(c->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&c->ss, c->sslen) == -1) {
		if (errno != EINPROGRESS ||
		    dns_wait(fd, POLLOUT, deadline) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 ||
		    err != 0)
			goto out;
	}
	out[0] = (unsigned char)(qlen >> 8);
	out[1] = (unsigned char)qlen;
	memcpy(out + 2, q, qlen);
	if (dns_xfer(fd, 1, out, qlen + 2, deadline) == -1 ||
	    dns_xfer(fd, 0, hdr, 2, deadline) == -1)
		goto out;
	alen = (size_t)hdr[0] << 8 | hdr[1];
	if (alen < NS_HFIXEDSZ || alen > size ||
	    dns_xfer(fd, 0, ans, alen, deadline) == -1)
		goto out;
	/* the same id, a response (QR), a query opcode */
	if (ans[0] != q[0] || ans[1] != q[1] || !(ans[2] & 0x80) ||
	    (ans[2] & 0x78) != 0)
		goto out;
	r = (int)alen;
out:
	close(fd);
	return r;
}

/* dns_query - one query; the answer into ANS.  Length, or a negative
 * enum dns_status-ish: -1 tempfail, -2 nxdomain, -3 nodata. */
static int
dns_query(struct dns_ctx *c, const char *name, int type, unsigned char *ans,
    size_t size)
{
	unsigned char q[NS_PACKETSZ];
	int n, qlen, try;

	if (!c->custom) {
		h_errno = 0;
		n = res_nquery(&c->rs, name, ns_c_in, type, ans, (int)size);
		if (n >= 0)
			return n;
		switch (c->rs.res_h_errno) {
		case HOST_NOT_FOUND:
			return -2;
		case NO_DATA:
			return -3;
		default:
			return -1;
		}
	}
	qlen = res_nmkquery(&c->rs, ns_o_query, name, ns_c_in, type, NULL, 0,
	    NULL, q, sizeof(q));
	if (qlen <= 0)
		return -1;
	for (try = 0, n = -1; try < DNS_RETRIES && n < 0; try++)
		n = dns_tcp_once(c, q, (size_t)qlen, ans, size);
	if (n < 0)
		return -1;
	/* what res_nquery reports through h_errno, from the header */
	switch (ans[3] & 0x0f) {
	case ns_r_noerror:
		return (ans[6] | ans[7]) == 0 ? -3 : n;	/* no answer: NODATA */
	case ns_r_nxdomain:
		return -2;
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
dns_mx_answer(const unsigned char *ans, size_t n, struct dns_mx *out,
    size_t max, size_t *n_r)
{
	ns_msg msg;
	ns_rr rr;
	int i, count, nullmx = 0;
	size_t got = 0;

	*n_r = 0;
	if (n > DNS_ANSWER_MAX || ns_initparse(ans, (int)n, &msg) == -1)
		return DNS_TEMPFAIL;
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
		return nullmx ? DNS_NULLMX : DNS_NODATA;
	dns_sort_mx(out, got);
	*n_r = got;
	return DNS_OK;
}

int
dns_mx(const char *resolver, const char *domain, struct dns_mx *out,
    size_t max, size_t *n_r)
{
	struct dns_ctx c;
	unsigned char *ans;
	int n, status;

	*n_r = 0;
	if (dns_init(&c, resolver) == -1)
		return DNS_TEMPFAIL;
	ans = xmalloc(DNS_ANSWER_MAX);
	n = dns_query(&c, domain, ns_t_mx, ans, DNS_ANSWER_MAX);
	if (n < 0) {
		status = n == -2 ? DNS_NXDOMAIN : n == -3 ? DNS_NODATA : DNS_TEMPFAIL;
		goto out;
	}
	status = dns_mx_answer(ans, (size_t)n, out, max, n_r);
out:
	free(ans);
	dns_done(&c);
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
dns_addrs_answer(const unsigned char *ans, size_t n, int port,
    struct sockaddr_storage *out, size_t max, size_t *n_r)
{
	ns_msg msg;
	ns_rr rr;
	int i, count;

	if (n > DNS_ANSWER_MAX || ns_initparse(ans, (int)n, &msg) == -1)
		return -1;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
			dns_addr_put(out, max, n_r, AF_INET, ns_rr_rdata(rr),
			    port);
		else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16)
			dns_addr_put(out, max, n_r, AF_INET6, ns_rr_rdata(rr),
			    port);
	}
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
		struct dns_ctx c;
		unsigned char *ans;
		int n;

		if (dns_init(&c, resolver) == -1)
			return DNS_TEMPFAIL;
		ans = xmalloc(DNS_ANSWER_MAX);
		for (k = 0; k < 2; k++) {
			type = k == 0 ? ns_t_a : ns_t_aaaa;
			n = dns_query(&c, host, type, ans, DNS_ANSWER_MAX);
			if (n < 0) {
				if (n == -1)
					status = DNS_TEMPFAIL;
				else if (n == -3 && status == DNS_NXDOMAIN)
					status = DNS_NODATA;
				continue;
			}
			if (dns_addrs_answer(ans, (size_t)n, port, out, max,
			    n_r) == -1)
				status = DNS_TEMPFAIL;
		}
		free(ans);
		dns_done(&c);
		return *n_r ? DNS_OK : status;
	}
}
