/*
 * t/unit/dnsq.c - the plugins' shared DNS client (plugins/lib/dnsq.c).
 *
 * Run alone (by prove): the packet layer on answers built in memory (ids,
 * questions, RCODEs, truncation, CNAME chains, compression loops, the
 * record and TXT limits), then dnsq_net_init against a server this
 * program forks on loopback (a truncated UDP answer asked again over TCP,
 * a stray answer ignored, silence ending at the deadline).
 *
 * Also the helper of t/proto/spf_dns.t (a second mode, so that no binary
 * of its own is needed and prove never runs a helper by itself):
 *   dnsq.t spf IP SENDER HELO TIMEOUT_MS
 * asks the server in $YUBIN_TEST_RESOLVER (server.resolver's forms) and
 * prints "RESULT<TAB>EXPLANATION<TAB>ELAPSED_MS".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "dns.h"
#include "../../plugins/mailauth/spf.h"

/* the core's accessor, here from the environment */
int	yh_dns_server(struct sockaddr_storage *ss, socklen_t *len);

int
yh_dns_server(struct sockaddr_storage *ss, socklen_t *len)
{
	const char *r = getenv("YUBIN_TEST_RESOLVER");

	if (r == NULL || *r == '\0')
		return -1;
	return dns_server_parse(r, ss, len);
}

/* ---- building answers ------------------------------------------------- */

struct pkt {
	unsigned char	b[70000];
	size_t		n;
	size_t		qend;	/* end of the question */
};

static void
p16(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (unsigned char)(v >> 8);
	p->b[p->n++] = (unsigned char)v;
}

static void
pname(struct pkt *p, const char *name)
{
	const char *dot;
	size_t l;

	while (*name != '\0') {
		dot = strchr(name, '.');
		l = dot ? (size_t)(dot - name) : strlen(name);
		p->b[p->n++] = (unsigned char)l;
		memcpy(p->b + p->n, name, l);
		p->n += l;
		name += l + (dot != NULL);
	}
	p->b[p->n++] = 0;
}

/* start - the reply header and question for NAME/TYPE, id ID, RCODE */
static void
start(struct pkt *p, unsigned id, const char *name, unsigned type,
    unsigned flags, unsigned rcode, unsigned an)
{
	p->n = 0;
	p16(p, id);
	p->b[p->n++] = (unsigned char)(0x81 | flags);	/* QR, RD */
	p->b[p->n++] = (unsigned char)(0x80 | rcode);
	p16(p, 1);
	p16(p, an);
	p16(p, 0);
	p16(p, 0);
	pname(p, name);
	p16(p, type);
	p16(p, 1);
	p->qend = p->n;
}

/* rr_ttl - a record: OWNER (NULL: a pointer to the question's name) */
static void
rr_ttl(struct pkt *p, const char *owner, unsigned type, const void *rd,
    size_t rdlen, unsigned long ttl)
{
	if (owner == NULL)
		p16(p, 0xc00c);
	else
		pname(p, owner);
	p16(p, type);
	p16(p, 1);
	p16(p, (unsigned)(ttl >> 16) & 0xffff);
	p16(p, (unsigned)ttl & 0xffff);
	p16(p, (unsigned)rdlen);
	memcpy(p->b + p->n, rd, rdlen);
	p->n += rdlen;
}

/* rr - a record of TTL 300 */
static void
rr(struct pkt *p, const char *owner, unsigned type, const void *rd,
    size_t rdlen)
{
	rr_ttl(p, owner, type, rd, rdlen, 300);
}

static size_t
wire(unsigned char *out, const char *name)
{
	struct pkt p;

	p.n = 0;
	pname(&p, name);
	memcpy(out, p.b, p.n);
	return p.n;
}

static int
answer(struct pkt *p, unsigned id, const char *name, enum dnsq_type type,
    struct dnsq_ans *a, char *next)
{
	unsigned hops = 0;

	return dnsq_answer(p->b, p->n, id, name, type, a, next, &hops);
}

static void
test_query(void)
{
	unsigned char b[600];
	char long_name[300];
	int n;

	n = dnsq_query("x.test", DNSQ_TXT, 0x1234, b, sizeof(b));
	is_int(n, 12 + 8 + 4 + 11, "question length with OPT");
	ok(b[0] == 0x12 && b[1] == 0x34 && b[2] == 0x01 && b[5] == 1 &&
	    b[11] == 1, "id, RD, one question, one additional");
	ok(memcmp(b + 12, "\1x\4test\0\0\x10\0\1", 12) == 0,
	    "the question's name, type and class");
	ok(b[24] == 0 && b[25] == 0 && b[26] == 41 && b[27] == 0x10 &&
	    b[28] == 0, "OPT record announcing 4096 bytes");
	ok(dnsq_query("a..b", DNSQ_A, 1, b, sizeof(b)) == -1, "empty label");
	ok(dnsq_query("", DNSQ_A, 1, b, sizeof(b)) == -1, "empty name");
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	ok(dnsq_query(long_name, DNSQ_A, 1, b, sizeof(b)) == -1,
	    "a label of 64 bytes");
	ok(dnsq_query("x.test", DNSQ_A, 1, b, 20) == -1, "no room");
	ok(dnsq_name_ok("a.b") && !dnsq_name_ok("a.b.") && !dnsq_name_ok(".a"),
	    "dnsq_name_ok");
}

static void
test_answers(void)
{
	static struct pkt p;
	struct dnsq_ans a;
	char next[DNSQ_NAME_MAX + 1];
	unsigned char rd[600], ip4[4] = { 192, 0, 2, 1 };
	size_t i, o;
	int r;

	start(&p, 7, "x.test", DNSQ_A, 0, 0, 2);
	rr(&p, NULL, DNSQ_A, ip4, 4);
	ip4[3] = 2;
	rr(&p, "X.Test", DNSQ_A, ip4, 4);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_OK && a.n == 2 && a.ip[0].family == AF_INET &&
	    a.ip[0].addr[3] == 1 && a.ip[1].addr[3] == 2,
	    "two A records, owner case ignored");
	dnsq_ans_free(&a);
	is_int(answer(&p, 8, "x.test", DNSQ_A, &a, next), DNSQ_ALIEN,
	    "another id: not ours");
	is_int(answer(&p, 7, "y.test", DNSQ_A, &a, next), DNSQ_ALIEN,
	    "another question: not ours");
	is_int(answer(&p, 7, "x.test", DNSQ_AAAA, &a, next), DNSQ_ALIEN,
	    "another type: not ours");
	p.b[2] &= 0x7f;
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_ALIEN,
	    "a query, not a response");
	{
		static struct pkt empty;

		is_int(answer(&empty, 7, "x.test", DNSQ_A, &a, next),
		    DNSQ_ALIEN, "an empty packet");
	}
	p.n = p.qend - 1;
	p.b[2] |= 0x80;
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_ALIEN,
	    "a question cut short");

	start(&p, 7, "x.test", DNSQ_A, 0x02, 0, 0);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_TRUNC,
	    "TC: truncated");
	start(&p, 7, "x.test", DNSQ_A, 0, 3, 0);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_NXDOMAIN,
	    "NXDOMAIN");
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 0);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_NODATA,
	    "NOERROR without records: NODATA");
	start(&p, 7, "x.test", DNSQ_A, 0, 2, 0);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_TEMP,
	    "SERVFAIL");
	start(&p, 7, "x.test", DNSQ_A, 0, 5, 0);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_TEMP,
	    "REFUSED");

	start(&p, 7, "x.test", DNSQ_A, 0, 0, 1);
	rr(&p, NULL, DNSQ_A, ip4, 3);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_PERM,
	    "an A record of 3 bytes");
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 1);
	rr(&p, NULL, DNSQ_A, ip4, 4);
	p.n -= 2;
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_PERM,
	    "rdata past the end");
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 1);
	p16(&p, 0xc000 | (unsigned)p.n);	/* a pointer to itself */
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_PERM,
	    "a compression loop");

	/* TXT: strings joined, a NUL kept, the length limit */
	start(&p, 7, "x.test", DNSQ_TXT, 0, 0, 1);
	memcpy(rd, "\3abc\0\3d\0e", 10);
	rr(&p, NULL, DNSQ_TXT, rd, 10);
	r = answer(&p, 7, "x.test", DNSQ_TXT, &a, next);
	ok(r == DNSQ_OK && a.n == 1 && a.len[0] == 6 &&
	    memcmp(a.str[0], "abcd\0e", 7) == 0,
	    "TXT strings joined, empty string and NUL kept");
	dnsq_ans_free(&a);
	start(&p, 7, "x.test", DNSQ_TXT, 0, 0, 1);
	memcpy(rd, "\5ab", 3);
	rr(&p, NULL, DNSQ_TXT, rd, 3);
	is_int(answer(&p, 7, "x.test", DNSQ_TXT, &a, next), DNSQ_PERM,
	    "a TXT string past its rdata");
	start(&p, 7, "x.test", DNSQ_TXT, 0, 0, 1);
	memset(rd, 'v', sizeof(rd));
	for (i = 0, o = 0; i < 2; i++, o += 256)
		rd[o] = 255;
	rr(&p, NULL, DNSQ_TXT, rd, 512);
	r = answer(&p, 7, "x.test", DNSQ_TXT, &a, next);
	ok(r == DNSQ_OK && a.len[0] == 510, "TXT of 510 bytes");
	dnsq_ans_free(&a);
	{
		static unsigned char big[40 * 256];

		start(&p, 7, "x.test", DNSQ_TXT, 0, 0, 1);
		memset(big, 'w', sizeof(big));
		for (i = 0; i < 33; i++)
			big[i * 256] = 255;
		rr(&p, NULL, DNSQ_TXT, big, 33 * 256);
		is_int(answer(&p, 7, "x.test", DNSQ_TXT, &a, next),
		    DNSQ_PERM, "a TXT record over DNSQ_TXT_MAX");
	}
	start(&p, 7, "x.test", DNSQ_A, 0, 0, DNSQ_RR_MAX + 1);
	for (i = 0; i <= DNSQ_RR_MAX; i++)
		rr(&p, NULL, DNSQ_A, ip4, 4);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_PERM,
	    "more than DNSQ_RR_MAX records");

	/* MX sorted by preference */
	start(&p, 7, "x.test", DNSQ_MX, 0, 0, 3);
	rd[0] = 0; rd[1] = 20;
	o = wire(rd + 2, "b.x.test");
	rr(&p, NULL, DNSQ_MX, rd, o + 2);
	rd[1] = 5;
	o = wire(rd + 2, "a.x.test");
	rr(&p, NULL, DNSQ_MX, rd, o + 2);
	rd[1] = 10;
	o = wire(rd + 2, "c.x.test");
	rr(&p, NULL, DNSQ_MX, rd, o + 2);
	r = answer(&p, 7, "x.test", DNSQ_MX, &a, next);
	ok(r == DNSQ_OK && a.n == 3 && strcmp(a.str[0], "a.x.test") == 0 &&
	    strcmp(a.str[1], "c.x.test") == 0 &&
	    strcmp(a.str[2], "b.x.test") == 0, "MX by preference");
	dnsq_ans_free(&a);

	/* CNAME chains */
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 3);
	o = wire(rd, "y.test");
	rr(&p, NULL, 5, rd, o);
	o = wire(rd, "z.test");
	rr(&p, "y.test", 5, rd, o);
	rr(&p, "z.test", DNSQ_A, ip4, 4);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_OK && a.n == 1, "a CNAME chain followed in the answer");
	dnsq_ans_free(&a);
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 1);
	o = wire(rd, "elsewhere.test");
	rr(&p, NULL, 5, rd, o);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_CNAMED && strcmp(next, "elsewhere.test") == 0,
	    "a CNAME without its target's records: ask the target");
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 2);
	o = wire(rd, "y.test");
	rr(&p, NULL, 5, rd, o);
	o = wire(rd, "x.test");
	rr(&p, "y.test", 5, rd, o);
	is_int(answer(&p, 7, "x.test", DNSQ_A, &a, next), DNSQ_PERM,
	    "a CNAME loop");
	/* a PTR name no host can have is skipped */
	start(&p, 7, "1.2.0.192.in-addr.arpa", DNSQ_PTR, 0, 0, 2);
	o = wire(rd, "ok.test");
	rr(&p, NULL, DNSQ_PTR, rd, o);
	memcpy(rd, "\4a b\1\0", 7);
	rr(&p, NULL, DNSQ_PTR, rd, 6);
	r = answer(&p, 7, "1.2.0.192.in-addr.arpa", DNSQ_PTR, &a, next);
	ok(r == DNSQ_OK && a.n == 1 && strcmp(a.str[0], "ok.test") == 0,
	    "PTR: a name with a space skipped");
	dnsq_ans_free(&a);
}

/* soa - a SOA record of TTL in the authority section (NS count 1) with
 * MINIMUM; CUT bytes taken off its rdata */
static void
soa(struct pkt *p, unsigned long ttl, unsigned long minimum, size_t cut)
{
	unsigned char rd[100];
	size_t o;
	int i;

	o = wire(rd, "ns.test");
	o += wire(rd + o, "admin.test");
	for (i = 0; i < 4; i++) {	/* serial, refresh, retry, expire */
		memset(rd + o, 0, 3);
		rd[o + 3] = (unsigned char)(i + 1);
		o += 4;
	}
	rd[o++] = (unsigned char)(minimum >> 24);
	rd[o++] = (unsigned char)(minimum >> 16);
	rd[o++] = (unsigned char)(minimum >> 8);
	rd[o++] = (unsigned char)minimum;
	p->b[9] = 1;
	rr_ttl(p, "test", 6, rd, o - cut, ttl);
}

/* test_ttl - how long an answer may be kept */
static void
test_ttl(void)
{
	static struct pkt p;
	struct dnsq_ans a;
	char next[DNSQ_NAME_MAX + 1];
	unsigned char ip4[4] = { 127, 0, 0, 2 };
	int r;

	start(&p, 7, "x.test", DNSQ_A, 0, 0, 2);
	rr_ttl(&p, NULL, DNSQ_A, ip4, 4, 900);
	rr_ttl(&p, NULL, DNSQ_A, ip4, 4, 120);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_OK && a.ttl == 120, "the smallest TTL of the records "
	    "(%lu)", a.ttl);
	dnsq_ans_free(&a);
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 1);
	rr_ttl(&p, NULL, DNSQ_A, ip4, 4, 0x80000000UL);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_OK && a.ttl == 0, "a TTL with the high bit set reads as 0");
	dnsq_ans_free(&a);
	start(&p, 7, "x.test", DNSQ_TXT, 0, 0, 1);
	rr_ttl(&p, NULL, DNSQ_TXT, "\2hi", 3, 3600);
	r = answer(&p, 7, "x.test", DNSQ_TXT, &a, next);
	ok(r == DNSQ_OK && a.ttl == 3600, "a TXT record's TTL");
	dnsq_ans_free(&a);

	start(&p, 7, "x.test", DNSQ_A, 0, 3, 0);
	soa(&p, 600, 90, 0);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_NXDOMAIN && a.ttl == 90, "NXDOMAIN: the SOA's MINIMUM "
	    "when smaller (%lu)", a.ttl);
	start(&p, 7, "x.test", DNSQ_A, 0, 3, 0);
	soa(&p, 45, 900, 0);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_NXDOMAIN && a.ttl == 45, "NXDOMAIN: the SOA's TTL when "
	    "smaller (%lu)", a.ttl);
	start(&p, 7, "x.test", DNSQ_A, 0, 0, 0);
	soa(&p, 300, 200, 0);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_NODATA && a.ttl == 200, "NODATA: the SOA (%lu)", a.ttl);
	start(&p, 7, "x.test", DNSQ_A, 0, 3, 0);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_NXDOMAIN && a.ttl == 0, "NXDOMAIN without a SOA: 0");
	start(&p, 7, "x.test", DNSQ_A, 0, 3, 0);
	soa(&p, 300, 200, 1);
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_NXDOMAIN && a.ttl == 0, "a SOA one byte short: 0, the "
	    "answer stands");
	start(&p, 7, "x.test", DNSQ_A, 0, 3, 0);
	soa(&p, 300, 200, 0);
	p.n -= 3;
	r = answer(&p, 7, "x.test", DNSQ_A, &a, next);
	ok(r == DNSQ_NXDOMAIN && a.ttl == 0, "a SOA past the packet: 0");
}

/* test_batch_table - dnsq_batch over a lookup that is not the network:
 * one question after the other, each answered, each counted */
static unsigned table_calls;

static int
table_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *out)
{
	(void)q;
	(void)type;
	table_calls++;
	if (strcmp(name, "listed.test") != 0)
		return DNSQ_NXDOMAIN;
	out->ip = calloc(1, sizeof(*out->ip));
	out->ip[0].family = AF_INET;
	out->ip[0].addr[0] = 127;
	out->n = 1;
	return DNSQ_OK;
}

static void
test_batch_table(void)
{
	struct dnsq q;
	struct dnsq_one qs[DNSQ_BATCH_MAX + 1];
	size_t i;

	memset(&q, 0, sizeof(q));
	q.lookup = table_lookup;
	memset(qs, 0, sizeof(qs));
	qs[0].name = "clean.test";
	qs[1].name = "listed.test";
	qs[0].type = qs[1].type = DNSQ_A;
	ok(dnsq_batch(&q, qs, 2, 100) == 0 && table_calls == 2 &&
	    q.queries == 2, "a table lookup: asked one by one, counted");
	ok(qs[0].rc == DNSQ_NXDOMAIN && qs[1].rc == DNSQ_OK &&
	    qs[1].ans.n == 1 && qs[1].ans.ip[0].addr[0] == 127,
	    "each question its own answer");
	dnsq_ans_free(&qs[1].ans);
	for (i = 0; i <= DNSQ_BATCH_MAX; i++) {
		qs[i].name = "clean.test";
		qs[i].type = DNSQ_A;
		qs[i].rc = DNSQ_OK;
	}
	ok(dnsq_batch(&q, qs, DNSQ_BATCH_MAX + 1, 100) == -1 &&
	    qs[0].rc == DNSQ_TEMP && qs[DNSQ_BATCH_MAX].rc == DNSQ_TEMP &&
	    table_calls == 2, "more than DNSQ_BATCH_MAX: refused, none asked");
}

/* ---- a server on loopback --------------------------------------------- */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* reply - the answer to query Q (N bytes) of MODE into P */
static void
reply(struct pkt *p, const unsigned char *q, size_t n, int tc)
{
	unsigned char ip4[4] = { 192, 0, 2, 7 };

	memcpy(p->b, q, n);
	p->n = n - 11;			/* the OPT record dropped */
	p->b[2] |= 0x80 | (tc ? 0x02 : 0);
	p->b[3] = 0x80;
	p->b[7] = tc ? 0 : 1;
	p->b[11] = 0;
	if (!tc)
		rr(p, NULL, DNSQ_A, ip4, 4);
}

/*
 * serve - in a child: UDP and TCP on PORT.  MODE 0: a truncated UDP
 * answer, the whole one over TCP; 1: a stray answer (another id) then the
 * right one; 2: silence.
 */
static void
serve(int udp, int tcp, int mode)
{
	static struct pkt p;
	unsigned char q[600], len[2];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	int c;

	for (;;) {
		n = recvfrom(udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 12 || mode == 2)
			continue;
		reply(&p, q, (size_t)n, mode == 0);
		if (mode == 1) {
			p.b[0] ^= 0xff;
			sendto(udp, p.b, p.n, 0, (struct sockaddr *)&from, fl);
			p.b[0] ^= 0xff;
		}
		sendto(udp, p.b, p.n, 0, (struct sockaddr *)&from, fl);
		if (mode != 0)
			continue;
		if ((c = accept(tcp, NULL, NULL)) == -1)
			continue;
		if (recv(c, len, 2, MSG_WAITALL) == 2 &&
		    (n = recv(c, q, (size_t)(len[0] << 8 | len[1]),
		    MSG_WAITALL)) > 12) {
			reply(&p, q, (size_t)n, 0);
			len[0] = (unsigned char)(p.n >> 8);
			len[1] = (unsigned char)p.n;
			send(c, len, 2, 0);
			send(c, p.b, p.n, 0);
		}
		close(c);
	}
}

static void
test_net(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	static const char *const names[] = { "a.test", "b.test", "c.test",
	    "d.test" };
	struct dnsq q;
	struct dnsq_ans a;
	struct dnsq_one qs[4];
	char res[64];
	long long t0, took;
	int udp, tcp, mode, rc, good;
	pid_t pid;
	size_t i;

	unsetenv("YUBIN_TEST_RESOLVER");
	ok(dnsq_net_init(&q, 100) == -1, "no server: dnsq_net_init fails");
	for (mode = 0; mode < 3; mode++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		udp = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(udp, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(udp, (struct sockaddr *)&sin, &sl) == -1)
			abort();
		tcp = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(tcp, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    listen(tcp, 4) == -1) {
			ok(1, "# SKIP no TCP on the UDP port");
			close(udp);
			close(tcp);
			continue;
		}
		if ((pid = fork()) == 0) {
			serve(udp, tcp, mode);
			_exit(0);
		}
		close(udp);
		close(tcp);
		snprintf(res, sizeof(res), "127.0.0.1:%u", ntohs(sin.sin_port));
		setenv("YUBIN_TEST_RESOLVER", res, 1);
		ok(dnsq_net_init(&q, 800) == 0, "dnsq_net_init");
		t0 = now_ms();
		rc = dnsq_lookup(&q, "x.test", DNSQ_A, &a);
		if (mode < 2)
			ok(rc == DNSQ_OK && a.n == 1 && a.ip[0].addr[3] == 7,
			    mode == 0 ? "truncated over UDP, answered over TCP" :
			    "a stray answer ignored, ours taken");
		else
			ok(rc == DNSQ_TEMP && now_ms() - t0 < 5000 &&
			    now_ms() - t0 >= 700, "silence: DNSQ_TEMP at the "
			    "deadline");
		dnsq_ans_free(&a);
		is_int(q.queries, 1, "one question counted");
		/* four questions at once, one deadline */
		memset(qs, 0, sizeof(qs));
		for (i = 0; i < 4; i++) {
			qs[i].name = names[i];
			qs[i].type = DNSQ_A;
		}
		t0 = now_ms();
		ok(dnsq_batch(&q, qs, 4, 800) == 0, "a batch of 4");
		took = now_ms() - t0;
		for (i = 0, good = 1; i < 4; i++) {
			if (mode < 2)
				good &= qs[i].rc == DNSQ_OK && qs[i].ans.n == 1 &&
				    qs[i].ans.ip[0].addr[3] == 7 &&
				    qs[i].ans.ttl == 300;
			else
				good &= qs[i].rc == DNSQ_TEMP;
			dnsq_ans_free(&qs[i].ans);
		}
		if (mode < 2)
			ok(good, "batch: every question answered, with its TTL");
		else
			ok(good && took >= 700 && took < 2 * 800, "silence: all "
			    "DNSQ_TEMP at the one deadline, not one per question "
			    "(%lld ms)", took);
		is_int(q.queries, 5, "and counted");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* spf_mode - the helper of t/proto/spf_dns.t */
static int
spf_mode(char **argv)
{
	struct spf_request r;
	struct spf_outcome out;
	struct dnsq q;
	long long t0;

	memset(&r, 0, sizeof(r));
	if (inet_pton(AF_INET, argv[2], r.ip.addr) == 1)
		r.ip.family = AF_INET;
	else if (inet_pton(AF_INET6, argv[2], r.ip.addr) == 1)
		r.ip.family = AF_INET6;
	else
		return 2;
	r.sender = argv[3];
	r.helo = argv[4];
	r.receiver = "mx.receiver.test";
	r.now = (long long)time(NULL);
	if (dnsq_net_init(&q, atoi(argv[5])) == -1) {
		printf("noserver\t\t0\n");
		return 0;
	}
	t0 = now_ms();
	spf_check(&q, &r, &out);
	printf("%s\t%s\t%lld\n", spf_result_name(out.result), out.explanation,
	    now_ms() - t0);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "spf") == 0)
		return spf_mode(argv);
	plan_no_plan();
	test_query();
	test_answers();
	test_ttl();
	test_batch_table();
	test_net();
	return done_testing();
}
