/*
 * spf.h - Sender Policy Framework (RFC 7208): the check_host() of one
 * client address against the SPF record of a domain.
 *
 * The record is found with TXT questions through a struct dnsq (dnsq.h),
 * so the RFC 7208 test suite runs it against its own zone data.  Every
 * mechanism and modifier (all, include, a, mx, ptr, ip4, ip6, exists,
 * redirect, exp) and macro expansion (§7) are evaluated; the limits of
 * §4.6.4 hold: at most SPF_DNS_TERMS_MAX terms that cause DNS questions,
 * SPF_VOID_MAX void lookups, SPF_MX_PTR_MAX names per mx and ptr.
 *
 * Privilege: none.  Must never: ask more questions than the limits allow,
 * recurse without bound (include/redirect loops end as permerror), expand
 * a macro past SPF_DOMAIN_MAX, or read past the record.
 */
#ifndef YUBIN_MAILAUTH_SPF_H
#define YUBIN_MAILAUTH_SPF_H

#include <stddef.h>

#include "../lib/dnsq.h"

#define SPF_DNS_TERMS_MAX	10
#define SPF_VOID_MAX		2
#define SPF_MX_PTR_MAX		10
#define SPF_DOMAIN_MAX		253
#define SPF_EXPLAIN_MAX		512

enum spf_result {
	SPF_NONE = 0,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

struct spf_request {
	struct dnsq_ip	 ip;		/* the client */
	const char	*sender;	/* MAIL FROM address, "" for <> */
	const char	*helo;		/* HELO/EHLO argument */
	const char	*receiver;	/* our host name (%{r}) */
	long long	 now;		/* unix seconds (%{t}) */
};

struct spf_outcome {
	enum spf_result	 result;
	char		 identity[16];	/* "mailfrom" or "helo" */
	char		 domain[SPF_DOMAIN_MAX + 1];	/* checked */
	char		 mechanism[128];	/* that matched, "" none */
	char		 explanation[SPF_EXPLAIN_MAX];	/* fail: exp= text */
	char		 problem[128];	/* permerror/temperror: why */
};

/*
 * spf_check - the SPF result of request R: the MAIL FROM identity, or
 * the HELO identity when the sender is <> (postmaster@HELO, §2.4).  A
 * sender or HELO that is not a domain gives SPF_NONE.  Always fills OUT.
 */
void	spf_check(struct dnsq *q, const struct spf_request *r,
	    struct spf_outcome *out);
/*
 * spf_check_host - check_host(IP, DOMAIN, SENDER) of RFC 7208 §4 for one
 * identity (the suite calls it directly).
 */
void	spf_check_host(struct dnsq *q, const struct spf_request *r,
	    const char *domain, const char *sender, struct spf_outcome *out);
/* spf_result_name - "pass", "fail" ... as Received-SPF and
 * Authentication-Results write them. */
const char *spf_result_name(enum spf_result r);
/*
 * spf_record_check - 0 when TXT (LEN bytes) is a well-formed SPF record
 * ("v=spf1" and terms of §12's grammar), else -1 with the reason in WHY
 * (WHYSIZE bytes).  No DNS: the syntax only (the fuzz target's entry).
 */
int	spf_record_check(const char *txt, size_t len, char *why,
	    size_t whysize);

#endif
