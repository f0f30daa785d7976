/*
 * dnsq.c - the DNS client the shipped plugins share (mailauth, dnsbl): the
 * counting wrapper every evaluator calls, the answer's release, and the
 * network resolver (dnsq_net_init) the plugins use.
 *
 * The network resolver is two layers: dnsq_query and dnsq_answer build
 * and read packets in memory (bounded, every offset checked against the
 * packet's length), and net_many moves them over UDP, or TCP when the
 * UDP answer is truncated: any number of questions (up to DNSQ_BATCH_MAX)
 * at once, each on a socket of its own, within one deadline.  A single
 * lookup is a batch of one.  The server is the one yh_dns_server() names;
 * it is process-wide, so the resolver's context is one static record
 * filled by dnsq_net_init.
 *
 * Privilege: none.  Must never: block past the deadline it was given,
 * take an answer whose id or question is not ours, follow more than
 * DNSQ_CNAME_MAX CNAMEs, or read outside a packet.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "yubin/hook.h"
#include "dnsq.h"

#define T_CNAME	5
#define T_SOA	6
#define T_OPT	41
#define C_IN	1

/* the server every network question goes to */
static struct {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
} net;

int
dnsq_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *out)
{
	memset(out, 0, sizeof(*out));
	q->queries++;
	return q->lookup(q, name, type, out);
}

void
dnsq_ans_free(struct dnsq_ans *a)
{
	size_t i;

	if (a->str != NULL)
		for (i = 0; i < a->n; i++)
			free(a->str[i]);
	free(a->str);
	free(a->len);
	free(a->ip);
	memset(a, 0, sizeof(*a));
}

int
dnsq_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len == 0 || len > DNSQ_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (++label > 63)
			return 0;
	}
	return label > 0;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* get_ttl - a 32-bit TTL at P; one with the high bit set reads as 0
 * (RFC 2181 §8). */
static unsigned long
get_ttl(const unsigned char *p)
{
	unsigned long v = (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];

	return v > DNSQ_TTL_MAX ? 0 : v;
}

int
dnsq_query(const char *name, enum dnsq_type type, unsigned id,
    unsigned char *buf, size_t size)
{
	size_t len = strlen(name), o = 12, i, l;

	/* header, name (len + 2 bytes), type, class, OPT (11 bytes) */
	if (!dnsq_name_ok(name) || size < 12 + len + 2 + 4 + 11)
		return -1;
	memset(buf, 0, 12);
	put16(buf, id & 0xffff);
	buf[2] = 0x01;			/* RD */
	put16(buf + 4, 1);		/* QDCOUNT */
	put16(buf + 10, 1);		/* ARCOUNT: the OPT record */
	for (i = 0; i < len; i += l + 1) {
		for (l = 0; i + l < len && name[i + l] != '.'; l++)
			;
		buf[o++] = (unsigned char)l;
		memcpy(buf + o, name + i, l);
		o += l;
	}
	buf[o++] = 0;
	put16(buf + o, type);
	put16(buf + o + 2, C_IN);
	o += 4;
	buf[o++] = 0;			/* OPT: the root name */
	put16(buf + o, T_OPT);
	put16(buf + o + 2, DNSQ_EDNS_SIZE);
	memset(buf + o + 4, 0, 6);	/* extended rcode, flags, rdlen */
	o += 10;
	return (int)o;
}

/*
 * pkt_name - the name at *OFF of P (N bytes) as text into OUT
 * (DNSQ_NAME_MAX + 1), *OFF moved past it.  *ODD set when a label holds a
 * byte a host name cannot (a dot, a space, a control or 8-bit byte).
 * 0, or -1 for a name that leaves the packet, loops or is too long.
 */
static int
pkt_name(const unsigned char *p, size_t n, size_t *off, char *out, int *odd)
{
	size_t o = *off, len = 0, end = 0, i;
	unsigned c, jumps = 0;
	int jumped = 0;

	*odd = 0;
	for (;;) {
		if (o >= n)
			return -1;
		c = p[o];
		if ((c & 0xc0) == 0xc0) {
			if (o + 1 >= n || ++jumps > 127)
				return -1;
			if (!jumped)
				end = o + 2;
			jumped = 1;
			o = (c & 0x3f) << 8 | p[o + 1];
			continue;
		}
		if (c & 0xc0)
			return -1;	/* the reserved label types */
		if (c == 0)
			break;
		if (o + 1 + c > n || len + (len > 0) + c > DNSQ_NAME_MAX)
			return -1;
		if (len > 0)
			out[len++] = '.';
		for (i = 0; i < c; i++) {
			unsigned char ch = p[o + 1 + i];

			if (ch <= 0x20 || ch >= 0x7f || ch == '.')
				*odd = 1;
			out[len++] = (char)ch;
		}
		o += 1 + c;
	}
	if (!jumped)
		end = o + 1;
	out[len] = '\0';
	*off = end;
	return 0;
}

/* one resource record's fixed part */
struct rr {
	char	 owner[DNSQ_NAME_MAX + 1];
	unsigned type, class;
	unsigned long ttl;
	size_t	 rd, rdlen;	/* rdata offset and length */
};

/* rr_next - the record at *OFF into R, *OFF moved past it.  0 or -1. */
static int
rr_next(const unsigned char *p, size_t n, size_t *off, struct rr *r)
{
	int odd;

	if (pkt_name(p, n, off, r->owner, &odd) == -1 || *off + 10 > n)
		return -1;
	r->type = get16(p + *off);
	r->class = get16(p + *off + 2);
	r->ttl = get_ttl(p + *off + 4);
	r->rdlen = get16(p + *off + 8);
	r->rd = *off + 10;
	if (r->rd + r->rdlen > n)
		return -1;
	*off = r->rd + r->rdlen;
	return 0;
}

/*
 * scan - walk the AN records from OFF: count those of TYPE owned by
 * OWNER into *COUNT, and the target of a CNAME OWNER has into CNAME ("" when
 * none).  0 or -1 (malformed).
 */
static int
scan(const unsigned char *p, size_t n, size_t off, unsigned an,
    const char *owner, unsigned type, size_t *count, char *cname)
{
	struct rr r;
	size_t o;
	unsigned i;
	int odd;

	*count = 0;
	cname[0] = '\0';
	for (i = 0; i < an; i++) {
		if (rr_next(p, n, &off, &r) == -1)
			return -1;
		if (r.class != C_IN || strcasecmp(r.owner, owner) != 0)
			continue;
		if (r.type == type)
			(*count)++;
		else if (r.type == T_CNAME) {
			o = r.rd;
			if (pkt_name(p, n, &o, cname, &odd) == -1 ||
			    o != r.rd + r.rdlen || odd || cname[0] == '\0')
				return -1;
		}
	}
	return 0;
}

/* txt_join - the character-strings of a TXT rdata joined into a new
 * string (*LEN its length).  0, or -1 (malformed, longer than
 * DNSQ_TXT_MAX, no memory). */
static int
txt_join(const unsigned char *p, size_t rd, size_t rdlen, char **s,
    size_t *len)
{
	size_t o, total = 0, l;

	for (o = rd; o < rd + rdlen; o += 1 + l) {
		l = p[o];
		if (o + 1 + l > rd + rdlen)
			return -1;
		total += l;
	}
	if (rdlen == 0 || total > DNSQ_TXT_MAX || (*s = malloc(total + 1)) == NULL)
		return -1;
	total = 0;
	for (o = rd; o < rd + rdlen; o += 1 + l) {
		l = p[o];
		memcpy(*s + total, p + o + 1, l);
		total += l;
	}
	(*s)[total] = '\0';
	*len = total;
	return 0;
}

/* mx_sort - OUT's names by PREF, lowest first, equal ones kept in order */
static void
mx_sort(struct dnsq_ans *a, unsigned *pref)
{
	size_t i, j;
	unsigned tp;
	char *ts;

	for (i = 1; i < a->n; i++)
		for (j = i; j > 0 && pref[j] < pref[j - 1]; j--) {
			tp = pref[j];
			pref[j] = pref[j - 1];
			pref[j - 1] = tp;
			ts = a->str[j];
			a->str[j] = a->str[j - 1];
			a->str[j - 1] = ts;
		}
}

/* collect - copy the COUNT records of TYPE owned by OWNER out of the AN
 * section at OFF into A.  DNSQ_OK, DNSQ_NODATA (every one skipped), or
 * DNSQ_PERM. */
static int
collect(const unsigned char *p, size_t n, size_t off, unsigned an,
    const char *owner, unsigned type, size_t count, struct dnsq_ans *a)
{
	unsigned pref[DNSQ_RR_MAX];
	char name[DNSQ_NAME_MAX + 1];
	struct rr r;
	size_t o, before;
	unsigned i;
	int odd;

	if (type == DNSQ_A || type == DNSQ_AAAA)
		a->ip = calloc(count, sizeof(*a->ip));
	else
		a->str = calloc(count, sizeof(*a->str));
	if (type == DNSQ_TXT)
		a->len = calloc(count, sizeof(*a->len));
	if ((a->ip == NULL && a->str == NULL) ||
	    (type == DNSQ_TXT && a->len == NULL))
		return DNSQ_TEMP;
	for (i = 0; i < an; i++) {
		if (rr_next(p, n, &off, &r) == -1)
			return DNSQ_PERM;
		if (r.class != C_IN || r.type != type ||
		    strcasecmp(r.owner, owner) != 0)
			continue;
		before = a->n;
		switch (type) {
		case DNSQ_A:
		case DNSQ_AAAA:
			if (r.rdlen != (type == DNSQ_A ? 4u : 16u))
				return DNSQ_PERM;
			a->ip[a->n].family = type == DNSQ_A ? AF_INET : AF_INET6;
			memcpy(a->ip[a->n].addr, p + r.rd, r.rdlen);
			a->n++;
			break;
		case DNSQ_TXT:
			if (txt_join(p, r.rd, r.rdlen, &a->str[a->n],
			    &a->len[a->n]) == -1)
				return DNSQ_PERM;
			a->n++;
			break;
		case DNSQ_MX:
		case DNSQ_PTR:
			o = r.rd + (type == DNSQ_MX ? 2 : 0);
			if (r.rdlen < (type == DNSQ_MX ? 3u : 1u) ||
			    pkt_name(p, n, &o, name, &odd) == -1 ||
			    o != r.rd + r.rdlen)
				return DNSQ_PERM;
			if (odd)
				break;	/* not a host name: skipped */
			if (type == DNSQ_MX)
				pref[a->n] = get16(p + r.rd);
			if ((a->str[a->n] = strdup(name)) == NULL)
				return DNSQ_TEMP;
			a->n++;
			break;
		}
		if (a->n > before && (before == 0 || r.ttl < a->ttl))
			a->ttl = r.ttl;
	}
	if (type == DNSQ_MX)
		mx_sort(a, pref);
	return a->n > 0 ? DNSQ_OK : DNSQ_NODATA;
}

/*
 * neg_ttl - how long a negative answer may be kept (RFC 2308 §5): the
 * first SOA of the authority section (NS records after the AN records at
 * OFF), the smaller of its TTL and its MINIMUM field.  0 when there is
 * none or the section is malformed (the answer itself stands).
 */
static unsigned long
neg_ttl(const unsigned char *p, size_t n, size_t off, unsigned an,
    unsigned ns)
{
	char name[DNSQ_NAME_MAX + 1];
	unsigned long min;
	struct rr r;
	size_t o;
	unsigned i;
	int odd;

	for (i = 0; i < an; i++)
		if (rr_next(p, n, &off, &r) == -1)
			return 0;
	for (i = 0; i < ns; i++) {
		if (rr_next(p, n, &off, &r) == -1)
			return 0;
		if (r.type != T_SOA || r.class != C_IN)
			continue;
		/* MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM */
		o = r.rd;
		if (pkt_name(p, n, &o, name, &odd) == -1 ||
		    pkt_name(p, n, &o, name, &odd) == -1 ||
		    o + 20 != r.rd + r.rdlen)
			return 0;
		min = get_ttl(p + o + 16);
		return r.ttl < min ? r.ttl : min;
	}
	return 0;
}

int
dnsq_answer(const unsigned char *pkt, size_t n, unsigned id,
    const char *name, enum dnsq_type type, struct dnsq_ans *out,
    char *next, unsigned *hops)
{
	char qname[DNSQ_NAME_MAX + 1], cur[DNSQ_NAME_MAX + 1];
	char cname[DNSQ_NAME_MAX + 1];
	size_t off = 12, count;
	unsigned an, ns;
	int odd, r;

	memset(out, 0, sizeof(*out));
	next[0] = '\0';
	/* ours: the id, a response to a standard query, our one question */
	if (n < 12 || get16(pkt) != (id & 0xffff) || !(pkt[2] & 0x80) ||
	    (pkt[2] & 0x78) != 0 || get16(pkt + 4) != 1)
		return DNSQ_ALIEN;
	if (pkt_name(pkt, n, &off, qname, &odd) == -1 || off + 4 > n ||
	    strcasecmp(qname, name) != 0 || get16(pkt + off) != type ||
	    get16(pkt + off + 2) != C_IN)
		return DNSQ_ALIEN;
	off += 4;
	if (pkt[2] & 0x02)
		return DNSQ_TRUNC;
	an = get16(pkt + 6);
	ns = get16(pkt + 8);
	switch (pkt[3] & 0x0f) {
	case 0:
		break;
	case 3:
		out->ttl = neg_ttl(pkt, n, off, an, ns);
		return DNSQ_NXDOMAIN;
	default:
		return DNSQ_TEMP;	/* SERVFAIL, REFUSED, FORMERR ... */
	}
	if (strlen(name) > DNSQ_NAME_MAX)
		return DNSQ_PERM;
	memcpy(cur, name, strlen(name) + 1);
	for (;;) {
		if (scan(pkt, n, off, an, cur, type, &count, cname) == -1)
			return DNSQ_PERM;
		if (count > 0 || cname[0] == '\0')
			break;
		if (++*hops > DNSQ_CNAME_MAX)
			return DNSQ_PERM;
		memcpy(cur, cname, sizeof(cur));
	}
	if (count > DNSQ_RR_MAX)
		return DNSQ_PERM;
	if (count == 0) {
		if (strcasecmp(cur, name) == 0) {
			out->ttl = neg_ttl(pkt, n, off, an, ns);
			return DNSQ_NODATA;
		}
		memcpy(next, cur, strlen(cur) + 1);
		return DNSQ_CNAMED;
	}
	if ((r = collect(pkt, n, off, an, cur, type, count, out)) != DNSQ_OK)
		dnsq_ans_free(out);
	return r;
}

/* ---- the network ------------------------------------------------------ */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* net_wait - poll FD for EVENTS until UNTIL (now_ms clock).  1 ready, 0
 * the time is up, -1 error. */
static int
net_wait(int fd, short events, long long until)
{
	struct pollfd pfd;
	long long left;
	int r;

	for (;;) {
		if ((left = until - now_ms()) <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0)
			continue;	/* until is checked again */
		return r > 0 ? 1 : -1;
	}
}

/* net_socket - a non-blocking socket of TYPE connected (or connecting,
 * for TCP) to the server.  The descriptor or -1. */
static int
net_socket(int type, long long deadline)
{
	socklen_t elen = sizeof(int);
	int fd, err = 0;

	fd = socket(net.ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&net.ss, net.len) == 0)
		return fd;
	if (errno == EINPROGRESS && net_wait(fd, POLLOUT, deadline) == 1 &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
		return fd;
	close(fd);
	return -1;
}

/* net_xfer - send LEN bytes of P (WRITE) or read exactly LEN into P
 * before DEADLINE.  0 or -1. */
static int
net_xfer(int fd, int write, unsigned char *p, size_t len, long long deadline)
{
	ssize_t n;

	while (len > 0) {
		if (net_wait(fd, write ? POLLOUT : POLLIN, deadline) != 1)
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

/* one question on the wire: a batch's member, the name asked now (the
 * question's own, or the target of a CNAME chain the server left
 * unresolved) and its socket */
struct ask {
	struct dnsq_one	*one;
	const char	*name;		/* cur */
	enum dnsq_type	 type;
	unsigned	 id;
	unsigned char	 q[12 + DNSQ_NAME_MAX + 2 + 4 + 11];
	size_t		 qlen;
	unsigned char	*buf;		/* DNSQ_PKT_MAX bytes, shared */
	struct dnsq_ans	*out;
	char		*next;
	unsigned	*hops;
	long long	 deadline;
	char		 cur[DNSQ_NAME_MAX + 1];
	char		 nextbuf[DNSQ_NAME_MAX + 1];
	unsigned	 nhops;
	int		 fd;		/* UDP, connected; -1 none */
	int		 sent;		/* sends of the current question */
	long long	 resend;	/* when to send it again */
	int		 done;		/* rc is final */
};

/* net_tcp - ask A over TCP (RFC 1035 §4.2.2: two length bytes in front
 * of each message).  dnsq_answer's result, or DNSQ_TEMP. */
static int
net_tcp(struct ask *a)
{
	unsigned char len[2], out[2 + sizeof(a->q)];
	size_t alen;
	int fd, r = DNSQ_TEMP;

	if ((fd = net_socket(SOCK_STREAM, a->deadline)) == -1)
		return DNSQ_TEMP;
	put16(out, (unsigned)a->qlen);
	memcpy(out + 2, a->q, a->qlen);
	if (net_xfer(fd, 1, out, a->qlen + 2, a->deadline) == 0 &&
	    net_xfer(fd, 0, len, 2, a->deadline) == 0 &&
	    (alen = get16(len)) > 0 &&
	    net_xfer(fd, 0, a->buf, alen, a->deadline) == 0) {
		r = dnsq_answer(a->buf, alen, a->id, a->name, a->type, a->out,
		    a->next, a->hops);
		if (r == DNSQ_ALIEN || r == DNSQ_TRUNC)
			r = DNSQ_TEMP;
	}
	close(fd);
	return r;
}

static unsigned
net_id(void)
{
	uint16_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint16_t)random();
	return id;
}

/* ask_end - A's result is RC: final, its socket closed.  Returns 1. */
static int
ask_end(struct ask *a, int rc)
{
	a->one->rc = rc;
	a->done = 1;
	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
	return 1;
}

/* ask_send - send A's question (a new id for A->cur) over UDP, opening
 * its socket first.  0, or 1 with A ended (a bad name, no socket). */
static int
ask_send(struct ask *a)
{
	int ql;

	a->id = net_id();
	if ((ql = dnsq_query(a->cur, a->type, a->id, a->q, sizeof(a->q))) == -1)
		return ask_end(a, DNSQ_PERM);
	a->qlen = (size_t)ql;
	if (a->fd == -1 && (a->fd = net_socket(SOCK_DGRAM, a->deadline)) == -1)
		return ask_end(a, DNSQ_TEMP);
	a->sent = 0;
	a->resend = now_ms() + (a->deadline - now_ms()) / 2;
	if (send(a->fd, a->q, a->qlen, 0) != (ssize_t)a->qlen)
		return ask_end(a, DNSQ_TEMP);
	a->sent = 1;
	return 0;
}

/*
 * ask_read - read what A's socket holds: answers not ours are ignored, a
 * truncated one is asked again over TCP, a CNAME chain left unresolved
 * is followed with a new question.  0 still waiting, 1 ended.
 */
static int
ask_read(struct ask *a)
{
	ssize_t n;
	int r;

	for (;;) {
		n = recv(a->fd, a->buf, DNSQ_PKT_MAX, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			return ask_end(a, DNSQ_TEMP);	/* ECONNREFUSED */
		r = dnsq_answer(a->buf, (size_t)n, a->id, a->name, a->type,
		    a->out, a->next, a->hops);
		if (r == DNSQ_ALIEN)
			continue;
		if (r == DNSQ_TRUNC)
			r = net_tcp(a);
		if (r != DNSQ_CNAMED)
			return ask_end(a, r);
		if (++*a->hops > DNSQ_CNAME_MAX)
			return ask_end(a, DNSQ_PERM);
		memcpy(a->cur, a->next, sizeof(a->cur));
		return ask_send(a);
	}
}

/* ask_init - A for question ONE, answered before DEADLINE into BUF's
 * reads; 1 when it ended at once (a bad name), else 0. */
static int
ask_init(struct ask *a, struct dnsq_one *one, unsigned char *buf,
    long long deadline)
{
	memset(a, 0, sizeof(*a));
	memset(&one->ans, 0, sizeof(one->ans));
	a->one = one;
	a->fd = -1;
	a->type = one->type;
	a->buf = buf;
	a->out = &one->ans;
	a->name = a->cur;
	a->next = a->nextbuf;
	a->hops = &a->nhops;
	a->deadline = deadline;
	if (one->name == NULL || !dnsq_name_ok(one->name))
		return ask_end(a, DNSQ_PERM);
	memcpy(a->cur, one->name, strlen(one->name) + 1);
	return ask_send(a);
}

/*
 * net_many - the N questions of QS over the network, every one sent
 * before any answer is awaited, all within TIMEOUT_MS: one poll over the
 * sockets of those still waiting, each question sent once more half-way
 * to the deadline when nothing came for it.  Those without an answer at
 * the deadline are DNSQ_TEMP.
 */
static void
net_many(struct dnsq_one *qs, size_t n, int timeout_ms)
{
	struct pollfd pfd[DNSQ_BATCH_MAX];
	size_t idx[DNSQ_BATCH_MAX], i, np, waiting = 0;
	unsigned char *buf = malloc(DNSQ_PKT_MAX);
	struct ask *as = calloc(n, sizeof(*as));
	long long deadline, now, wake;
	int r;

	if (buf == NULL || as == NULL) {
		for (i = 0; i < n; i++) {
			memset(&qs[i].ans, 0, sizeof(qs[i].ans));
			qs[i].rc = DNSQ_TEMP;
		}
		goto out;
	}
	deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	for (i = 0; i < n; i++)
		if (ask_init(&as[i], &qs[i], buf, deadline) == 0)
			waiting++;
	while (waiting > 0 && (now = now_ms()) < deadline) {
		wake = deadline;
		for (i = np = 0; i < n; i++) {
			if (as[i].done)
				continue;
			if (as[i].sent < 2 && now >= as[i].resend) {
				if (send(as[i].fd, as[i].q, as[i].qlen, 0) !=
				    (ssize_t)as[i].qlen) {
					ask_end(&as[i], DNSQ_TEMP);
					waiting--;
					continue;
				}
				as[i].sent = 2;
			}
			if (as[i].sent < 2 && as[i].resend < wake)
				wake = as[i].resend;
			pfd[np].fd = as[i].fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			idx[np++] = i;
		}
		if (np == 0)
			break;
		r = poll(pfd, np, wake - now > 60000 ? 60000 :
		    (int)(wake - now > 0 ? wake - now : 0));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		for (i = 0; i < np; i++)
			if (pfd[i].revents != 0 && ask_read(&as[idx[i]]) == 1)
				waiting--;
	}
	for (i = 0; i < n; i++)
		if (!as[i].done)
			ask_end(&as[i], DNSQ_TEMP);	/* the deadline */
out:
	free(as);
	free(buf);
}

/* net_lookup - struct dnsq's lookup over the network: a batch of one */
static int
net_lookup(struct dnsq *dq, const char *name, enum dnsq_type type,
    struct dnsq_ans *out)
{
	struct dnsq_one one;

	memset(&one, 0, sizeof(one));
	one.name = name;
	one.type = type;
	net_many(&one, 1, dq->timeout_ms);
	*out = one.ans;
	return one.rc;
}

int
dnsq_batch(struct dnsq *q, struct dnsq_one *qs, size_t n, int timeout_ms)
{
	size_t i;

	if (n > DNSQ_BATCH_MAX) {
		for (i = 0; i < n; i++) {
			memset(&qs[i].ans, 0, sizeof(qs[i].ans));
			qs[i].rc = DNSQ_TEMP;
		}
		return -1;
	}
	q->queries += (unsigned)n;
	if (q->lookup == net_lookup) {
		net_many(qs, n, timeout_ms);
		return 0;
	}
	for (i = 0; i < n; i++) {
		memset(&qs[i].ans, 0, sizeof(qs[i].ans));
		qs[i].rc = q->lookup(q, qs[i].name, qs[i].type, &qs[i].ans);
	}
	return 0;
}

int
dnsq_net_init(struct dnsq *q, int timeout_ms)
{
	memset(q, 0, sizeof(*q));
	if (yh_dns_server(&net.ss, &net.len) == -1)
		return -1;
	q->lookup = net_lookup;
	q->ctx = &net;
	q->timeout_ms = timeout_ms;
	return 0;
}
