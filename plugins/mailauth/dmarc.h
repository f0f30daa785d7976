/*
 * dmarc.h - Domain-based Message Authentication, Reporting and Conformance
 * (RFC 7489): the policy record, its discovery in DNS (the From domain,
 * then its organisational domain from the Public Suffix List), identifier
 * alignment of the SPF and DKIM results, and the policy that applies.
 *
 * Reports (rua, ruf, ri, fo, rf) are parsed for syntax and ignored: this
 * server sends none.
 *
 * Privilege: none.  Must never: ask more than two TXT questions for one
 * message, read past a record or a header value, count a DKIM signature
 * that left part of the body unsigned (l=) or an SPF result of the HELO
 * identity as an authenticated identifier, or apply a policy from a
 * record it could not parse.
 */
#ifndef YUBIN_MAILAUTH_DMARC_H
#define YUBIN_MAILAUTH_DMARC_H

#include <stddef.h>

#include "../lib/dnsq.h"
#include "dkim.h"
#include "spf.h"

#define DMARC_DOMAIN_MAX	253

enum dmarc_policy {
	DMARC_P_NONE = 0,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT
};

/* one parsed record */
struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp;		/* p when the record has none */
	int		 pct;		/* 0..100, default 100 */
	int		 adkim_strict;	/* adkim=s */
	int		 aspf_strict;	/* aspf=s */
	int		 p_assumed;	/* p missing or bad, taken as none
					 * because rua names a URI (§6.6.3) */
};

enum dmarc_rec_rc {
	DMARC_REC_OK = 0,	/* a valid record in *R */
	DMARC_REC_OTHER = 1,	/* not "v=DMARC1" first: not a DMARC record */
	DMARC_REC_BAD = -1	/* a DMARC record with an error (WHY) */
};

/*
 * dmarc_record_parse - TXT (LEN bytes, may hold NUL bytes) as a DMARC
 * record (RFC 7489 §6.3-6.4): "v=DMARC1" first, then tags separated by
 * ';' (each tag once; unknown tags ignored).  p is required (none,
 * quarantine, reject) unless rua names at least one URI, when a missing
 * or bad p (or sp) is taken as none (§6.6.3); sp as p; pct 0..100; adkim
 * and aspf r or s; rua and ruf lists of URIs, ri a number, fo of 0 1 d s
 * joined by ':', rf a keyword list.  A value out of its grammar makes the
 * whole record bad: no policy is taken from it.  An enum dmarc_rec_rc;
 * WHY (WHYSIZE bytes) says what was wrong for DMARC_REC_BAD and
 * DMARC_REC_OTHER.
 */
int	dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r,
	    char *why, size_t whysize);
/* dmarc_record_check - 0 when TXT is a valid record, else -1 with WHY
 * (the fuzz target's entry). */
int	dmarc_record_check(const char *txt, size_t len, char *why,
	    size_t whysize);

/*
 * dmarc_from_domain - the domain of the single address in VALUE (a From:
 * field body, unfolded or not: RFC 5322 mailbox-list with display names,
 * quoted strings, comments, angle addresses and groups), lower case
 * without a final dot, into DOM (SIZE bytes).  0, or -1 with WHY when
 * VALUE holds no address, more than one, one without a domain, a domain
 * literal, or a domain that is not a host name of at most
 * DMARC_DOMAIN_MAX characters.
 */
int	dmarc_from_domain(const char *value, char *dom, size_t size,
	    char *why, size_t whysize);

/*
 * dmarc_org_domain - the organisational domain of DOMAIN (lower case):
 * its registrable domain by the Public Suffix List built into libpsl,
 * DOMAIN itself when it is a public suffix or the list cannot tell.
 * Into OUT (SIZE bytes); 0, or -1 when it does not fit.
 */
int	dmarc_org_domain(const char *domain, char *out, size_t size);

enum dmarc_result {
	DMARC_NONE = 0,		/* no policy record (or no usable one) */
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,	/* a DNS question failed for now */
	DMARC_PERMERROR		/* a bad record, a bad From, a bad answer */
};

struct dmarc_input {
	const char		 *from_domain;	/* dmarc_from_domain's */
	const struct spf_outcome *spf;		/* NULL: SPF not checked */
	const struct dkim_verdict *dkim;	/* verdicts of dkim_verify */
	size_t			  ndkim;
	unsigned		  sample;	/* 0..99, uniformly random:
						 * the policy applies when
						 * it is below pct */
};

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy policy;	/* applied: none unless fail */
	enum dmarc_policy published;	/* p or sp that the record gives for
					 * the From domain (none: no record) */
	int		 sampled_out;	/* fail, but pct spared the message:
					 * policy is one step milder */
	int		 spf_aligned;
	int		 dkim_aligned;
	char		 domain[DMARC_DOMAIN_MAX + 1];	/* the From domain */
	char		 org[DMARC_DOMAIN_MAX + 1];	/* its org domain */
	char		 record_at[DMARC_DOMAIN_MAX + 1]; /* where the record
					 * was found, "" none */
	char		 reason[128];	/* none/temperror/permerror: why */
};

/*
 * dmarc_check - the DMARC result for IN, the record asked through Q:
 * "_dmarc.FROM" TXT, and when that name has no DMARC record,
 * "_dmarc.ORG" (§6.6.3).  Several DMARC records at one name are none; a
 * DNS failure for now is temperror; a bad record or a malformed answer
 * is permerror.  Identifiers align relaxed (the same organisational
 * domain) or strict (equal) as adkim and aspf say; pass when an aligned
 * SPF (mailfrom identity) or DKIM (a pass without l= leaving text
 * unsigned) result exists.  On fail the policy is sp for a From domain
 * below the organisational domain whose record came from there, else p,
 * one step milder (reject -> quarantine -> none) when IN->sample is not
 * below pct.  Always fills OUT.
 */
void	dmarc_check(struct dnsq *q, const struct dmarc_input *in,
	    struct dmarc_outcome *out);
/* dmarc_result_name - "pass", "fail" ... as Authentication-Results. */
const char *dmarc_result_name(enum dmarc_result r);
/* dmarc_policy_name - "none", "quarantine", "reject". */
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
