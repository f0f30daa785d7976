/*
 * dnsbl.h - what the files of the dnsbl plugin share: limits, the zone
 * list's words, the names asked, what an answer means, the score, the
 * reason text and the cache record (dbzone.c, pure: no yh_* call, no
 * I/O), used by the hooks in dnsbl.c and by t/unit/dnsbl.c.  Private to
 * plugins/dnsbl/.
 */
#ifndef DNSBL_H
#define DNSBL_H

#include <stddef.h>

#include "../lib/dnsq.h"
#include "../lib/plugutil.h"

/* a zone's name: an IPv6 client's name is 32 nibble labels (64 bytes with
 * their dots) in front of it, and the whole must fit DNSQ_NAME_MAX */
#define DB_ZONE_MAX	(DNSQ_NAME_MAX - 64)
/* zones of one configuration: every zone's A question, then the TXT of
 * the listed ones, go out as one batch each */
#define DB_ZONES_MAX	32
#define DB_WEIGHT_MAX	1000	/* |weight| of one zone */
#define DB_REASON_MAX	200	/* a TXT reason as quoted in a reply */
#define DB_REC_MAX	(DB_REASON_MAX + 32)	/* a cache record */
#define DB_TTL_MIN	60	/* seconds a result is cached, at least */
#define DB_TTL_MAX	3600	/* and at most */

/* One word of `zones`. */
struct db_zone {
	char		 name[DB_ZONE_MAX + 1];	/* lower case, no trailing dot */
	long		 weight;	/* negative: an allow-list zone */
	int		 has_filter;	/* only the answer FILTER lists */
	unsigned char	 filter[4];
};

/*
 * db_zone_parse - a word of `zones` into *Z: "ZONE" (weight 1),
 * "ZONE=WEIGHT" (a non-zero integer, -DB_WEIGHT_MAX..DB_WEIGHT_MAX), or
 * "ZONE=127.0.0.N[*WEIGHT]" (only that answer lists, as postscreen's
 * filters).  ZONE is a host name of at most DB_ZONE_MAX bytes (letters,
 * digits, '-', '_', dots between labels; one trailing dot dropped).  0,
 * or -1 with the reason in *WHY.
 */
int	db_zone_parse(const char *word, struct db_zone *z, const char **why);

/* db_query_name - the name asked for IP in ZONE (RFC 5782 §2.1, §2.4):
 * IPv4 octets reversed ("2.0.0.127.ZONE"), IPv6 nibbles reversed (32
 * labels), into OUT (SIZE bytes).  0, or -1 when it does not fit. */
int	db_query_name(const struct pu_ip *ip, const char *zone, char *out,
	    size_t size);

/* What one zone's A answer says. */
enum db_hit {
	DB_CLEAN,	/* not listed: NXDOMAIN, no A record, or only codes
			 * the zone's filter does not name */
	DB_LISTED,	/* an address of 127.0.0.0/8 (RFC 5782 §2.3) */
	DB_BOGUS,	/* only addresses that are no listing: outside
			 * 127.0.0.0/8 (a resolver that answers every name),
			 * 127.0.0.1 (RFC 5782 §5: never a listing) or
			 * 127.255.255.0/24 (the zone's own error codes) */
};

/* db_classify - what A answer ANS (DNSQ_OK) means for zone Z; for
 * DB_LISTED the listing address in ADDR_R (4 bytes). */
enum db_hit db_classify(const struct db_zone *z, const struct dnsq_ans *ans,
	    unsigned char *addr_r);

/* A zone's state for one client, after the cache or the questions. */
enum db_state {
	DB_ST_CLEAN,
	DB_ST_LISTED,
	DB_ST_FAILED,	/* no answer that can be trusted (logged) */
};

enum db_verdict {
	DB_PASS,	/* score below the threshold */
	DB_REJECT,	/* score at or above it, nothing that could lower it
			 * unknown */
	DB_UNSURE,	/* at or above it, but an allow-list zone (negative
			 * weight) failed: passes, since a DNS failure never
			 * refuses mail */
};

/* db_decide - the verdict on the N zones ZONES in states ST: the weights
 * of the listed ones summed into *SCORE_R, compared with THRESHOLD. */
enum db_verdict db_decide(const struct db_zone *zones, const enum db_state *st,
	    size_t n, long threshold, long *score_r);

/* db_reason - the TXT text SRC (LEN bytes, untrusted) made fit to quote
 * in a reply and a log line, into OUT (SIZE bytes, SIZE > 4): printable
 * ASCII kept, each run of other bytes and blanks one space, no blank at
 * either end; past DB_REASON_MAX (or SIZE - 1) bytes cut and ended with
 * "...".  Its length. */
size_t	db_reason(const char *src, size_t len, char *out, size_t size);

/* db_rec_format - the cache record of one zone for one client: "c"
 * (clean) or "l A.B.C.D REASON" (listed, REASON may be empty) into OUT.
 * Its length, or -1 when it does not fit. */
int	db_rec_format(int listed, const unsigned char *addr, const char *reason,
	    char *out, size_t size);
/* db_rec_parse - record BUF (LEN bytes) into *LISTED_R, ADDR_R (4 bytes)
 * and REASON (RSIZE bytes), only in the form db_rec_format writes.  0, or
 * -1 (not a record). */
int	db_rec_parse(const char *buf, size_t len, int *listed_r,
	    unsigned char *addr_r, char *reason, size_t rsize);

/* db_role_rcpt - 1 when RCPT's local part is postmaster or abuse (any
 * case, quoted or not), else 0. */
int	db_role_rcpt(const char *rcpt);

#endif
