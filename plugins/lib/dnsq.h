/*
 * dnsq.h - the DNS client the shipped plugins share (plugins/lib/): the
 * questions of sender authentication (mailauth: SPF, DKIM, DMARC) and of
 * DNS blocklists (dnsbl): TXT, A, AAAA, MX and PTR, each answered within a
 * deadline, one at a time or many at once (dnsq_batch).
 *
 * Every evaluator asks through a struct dnsq, never the resolver itself,
 * so that unit tests answer from tables (the RFC 7208 suite's zone data)
 * and the plugin from the network: dnsq_net_init() asks the server
 * yh_dns_server() names over UDP (EDNS0, 4096 bytes), falls back to TCP
 * when an answer comes back truncated, and checks the id and the question
 * of every answer.  Answers are copied out of the packet: nothing points
 * into it.  Each answer carries how long it may be kept (its TTL, or for
 * a negative one the SOA's negative-caching time, RFC 2308).
 *
 * Privilege: none; runs in the SMTP worker as the server user.
 * Must never: block past the deadline, follow a CNAME chain longer than
 * DNSQ_CNAME_MAX, return more than DNSQ_RR_MAX records or a TXT string
 * longer than DNSQ_TXT_MAX (longer answers are DNSQ_PERM: a malformed
 * record, never cut).
 */
#ifndef YUBIN_PLUGLIB_DNSQ_H
#define YUBIN_PLUGLIB_DNSQ_H

#include <stddef.h>

#define DNSQ_RR_MAX	64	/* records of one answer */
#define DNSQ_TXT_MAX	8192	/* one TXT record, its strings joined */
#define DNSQ_NAME_MAX	253
#define DNSQ_CNAME_MAX	8
#define DNSQ_TTL_MAX	2147483647UL	/* RFC 2181 §8: larger ones read as 0 */
#define DNSQ_BATCH_MAX	64	/* questions of one dnsq_batch */

enum dnsq_type {
	DNSQ_A = 1,
	DNSQ_AAAA = 28,
	DNSQ_MX = 15,
	DNSQ_PTR = 12,
	DNSQ_TXT = 16
};

enum dnsq_rc {
	DNSQ_OK = 0,		/* records in the answer (n > 0) */
	DNSQ_NODATA = 1,	/* the name exists, no record of the type */
	DNSQ_NXDOMAIN = 2,	/* no such name */
	DNSQ_TEMP = -1,		/* timeout, SERVFAIL, REFUSED, no server */
	DNSQ_PERM = -2		/* a malformed answer or name */
};

struct dnsq_ip {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network order; 4 bytes for AF_INET */
};

/* one answer; free with dnsq_ans_free */
struct dnsq_ans {
	size_t		 n;
	char		**str;		/* TXT: each record's strings joined
					 * (NUL-terminated; len[] has the
					 * length, a TXT may hold NUL bytes);
					 * MX: exchange names, lowest
					 * preference first; PTR: names */
	size_t		*len;		/* TXT only: length of str[i] */
	struct dnsq_ip	*ip;		/* A, AAAA */
	unsigned long	 ttl;		/* seconds it may be kept: DNSQ_OK,
					 * the smallest TTL of the records
					 * taken; DNSQ_NXDOMAIN and
					 * DNSQ_NODATA, the SOA of the
					 * authority section's TTL or MINIMUM,
					 * the smaller (RFC 2308 §5); 0 when
					 * unknown.  At most DNSQ_TTL_MAX */
};

struct dnsq {
	/* ask NAME (no trailing dot) for TYPE: an enum dnsq_rc; OUT is
	 * filled for DNSQ_OK and empty otherwise */
	int		(*lookup)(struct dnsq *q, const char *name,
			    enum dnsq_type type, struct dnsq_ans *out);
	void		*ctx;		/* the implementation's */
	int		 timeout_ms;	/* per question */
	unsigned	 queries;	/* questions asked so far (limits) */
};

/* dnsq_net_init - Q asks the configured server (yh_dns_server), each
 * question within TIMEOUT_MS.  0, or -1 (no server configured). */
int	dnsq_net_init(struct dnsq *q, int timeout_ms);
/* dnsq_lookup - Q's lookup, counted in q->queries. */
int	dnsq_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
	    struct dnsq_ans *out);
void	dnsq_ans_free(struct dnsq_ans *a);

/* one question of a batch */
struct dnsq_one {
	const char	*name;		/* in: no trailing dot; borrowed */
	enum dnsq_type	 type;		/* in */
	int		 rc;		/* out: an enum dnsq_rc */
	struct dnsq_ans	 ans;		/* out: filled for DNSQ_OK, its ttl
					 * also for DNSQ_NXDOMAIN and
					 * DNSQ_NODATA; free with dnsq_ans_free */
};

/*
 * dnsq_batch - Q's answers to the N questions of QS, all within one
 * deadline of TIMEOUT_MS.  Over the network (dnsq_net_init) every question
 * goes out before any answer is awaited, each on a socket of its own, so
 * a dead server costs one timeout, not one per question; a question still
 * unanswered at the deadline is DNSQ_TEMP.  Any other lookup (the tables
 * of unit tests) is asked one question after the other.  Counted in
 * q->queries.  0, or -1 when N is over DNSQ_BATCH_MAX (every rc DNSQ_TEMP).
 */
int	dnsq_batch(struct dnsq *q, struct dnsq_one *qs, size_t n,
	    int timeout_ms);

/*
 * The packet layer under dnsq_net_init, separate from the sockets so that
 * tests and the fuzz target give it packets built in memory.
 */
#define DNSQ_PKT_MAX	65535	/* a DNS message over TCP */
#define DNSQ_EDNS_SIZE	4096	/* the UDP size we announce (EDNS0) */

/* dnsq_answer's results besides enum dnsq_rc; a lookup never returns them */
#define DNSQ_ALIEN	3	/* not the answer to this question: ignore */
#define DNSQ_TRUNC	4	/* TC set: ask again over TCP */
#define DNSQ_CNAMED	5	/* a CNAME chain ends at NEXT without its
				 * records: ask NEXT */

/* dnsq_name_ok - NAME is a domain name a question can carry: 1 to
 * DNSQ_NAME_MAX bytes, labels of 1-63 bytes, no trailing dot. */
int	dnsq_name_ok(const char *name);
/* dnsq_query - the question NAME/TYPE with ID, recursion desired and an
 * EDNS0 OPT record, into BUF (SIZE bytes).  Its length, or -1 (bad name,
 * no room). */
int	dnsq_query(const char *name, enum dnsq_type type, unsigned id,
	    unsigned char *buf, size_t size);
/*
 * dnsq_answer - read PKT (N bytes, untrusted) as the reply to question
 * NAME/TYPE with ID.  An enum dnsq_rc with OUT filled for DNSQ_OK, or
 * DNSQ_ALIEN, DNSQ_TRUNC, or DNSQ_CNAMED with the name to ask next in
 * NEXT (DNSQ_NAME_MAX + 1 bytes).  CNAMEs inside the answer are followed,
 * each counted in *HOPS; past DNSQ_CNAME_MAX the answer is DNSQ_PERM.  Must never read outside PKT[0..N).
 */
int	dnsq_answer(const unsigned char *pkt, size_t n, unsigned id,
	    const char *name, enum dnsq_type type, struct dnsq_ans *out,
	    char *next, unsigned *hops);

#endif
