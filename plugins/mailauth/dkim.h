/*
 * dkim.h - DomainKeys Identified Mail (RFC 6376), rsa-sha256 and
 * ed25519-sha256 (RFC 8463), with OpenSSL 3 (EVP_DigestSign/Verify).
 *
 * Messages are given as the core stores them: LF line ends (yh_message_fd).
 * Canonicalisation works on the CRLF form the message travels in, so LF
 * is read as CRLF.  Signing uses relaxed/relaxed; verification accepts
 * simple and relaxed for header and body.  Keys come from DNS through a
 * struct dnsq (dnsq.h): "SELECTOR._domainkey.DOMAIN" TXT.
 *
 * RFC 8301: rsa-sha1 is never accepted, RSA keys under DKIM_RSA_MIN_VERIFY
 * bits are refused when verifying and under DKIM_RSA_MIN_SIGN when
 * signing.  l= is honoured as RFC 6376 says, and a signature whose l=
 * leaves part of the body unsigned says so (struct dkim_verdict.partial),
 * so a caller never treats unsigned text as signed.
 *
 * Privilege: none; private keys are read by the caller (dkim_key_load)
 * before privileges are dropped or from files readable by the server
 * group.  Must never: read past a field or the message, accept a
 * signature whose h= lacks From, verify more than DKIM_SIG_MAX
 * signatures of one message, or keep a private key in memory it did not
 * get from dkim_key_load (freed with dkim_key_free).
 */
#ifndef YUBIN_MAILAUTH_DKIM_H
#define YUBIN_MAILAUTH_DKIM_H

#include <stddef.h>

#include "../lib/dnsq.h"

#define DKIM_SIG_MAX		8	/* signatures verified per message */
#define DKIM_RSA_MIN_VERIFY	1024
#define DKIM_RSA_MIN_SIGN	2048
#define DKIM_DOMAIN_MAX		253
#define DKIM_SELECTOR_MAX	63

enum dkim_alg { DKIM_RSA_SHA256 = 1, DKIM_ED25519_SHA256 = 2 };

/* a private key with where it signs for (one dkim.dat line) */
struct dkim_key {
	char		 domain[DKIM_DOMAIN_MAX + 1];
	char		 selector[DKIM_SELECTOR_MAX + 1];
	enum dkim_alg	 alg;
	void		*pkey;		/* EVP_PKEY */
};

/*
 * dkim_key_load - the PEM private key in PATH (RSA of at least
 * DKIM_RSA_MIN_SIGN bits, or Ed25519) into K for DOMAIN and SELECTOR.
 * 0, or -1 with the reason in WHY (WHYSIZE bytes).
 */
int	dkim_key_load(struct dkim_key *k, const char *domain,
	    const char *selector, const char *path, char *why, size_t whysize);
void	dkim_key_free(struct dkim_key *k);

/*
 * dkim_sign - the DKIM-Signature header field for MSG (LEN bytes, LF line
 * ends, the header first) signed with K at time NOW: "DKIM-Signature: ..."
 * folded at 78 columns with LF line ends and no final LF, in *FIELD_R
 * (malloc'ed).  Signs, when present, From (twice: once more than there
 * are, against an added From), To, Cc, Subject, Date, Message-ID,
 * Reply-To, In-Reply-To, References, MIME-Version, Content-Type,
 * Content-Transfer-Encoding, List-Id, List-Post, List-Help,
 * List-Subscribe, List-Unsubscribe, List-Owner, List-Archive.
 * 0, or -1 with the reason in WHY (no From field, out of memory, a
 * signing error).
 */
int	dkim_sign(const struct dkim_key *k, const char *msg, size_t len,
	    long long now, char **field_r, char *why, size_t whysize);

enum dkim_result {
	DKIM_NONE = 0,		/* no signature */
	DKIM_PASS,
	DKIM_FAIL,		/* signature or body hash does not match */
	DKIM_NEUTRAL,		/* malformed, expired, or not acceptable */
	DKIM_POLICY,		/* valid but refused by local policy */
	DKIM_TEMPERROR,		/* key lookup failed for now */
	DKIM_PERMERROR		/* key record missing, revoked or bad */
};

struct dkim_verdict {
	enum dkim_result result;
	char		 domain[DKIM_DOMAIN_MAX + 1];	/* d= */
	char		 selector[DKIM_SELECTOR_MAX + 1];	/* s= */
	char		 alg[24];	/* a= as written */
	char		 b[16];		/* first 8+ characters of b= (RFC 6008) */
	char		 identity[256];	/* i=, "" when absent */
	int		 partial;	/* l= left body text unsigned */
	char		 reason[128];	/* why it did not pass */
};

/*
 * dkim_verify - every DKIM-Signature of MSG (LEN bytes, LF line ends),
 * at most DKIM_SIG_MAX, checked at time NOW: a verdict each into OUT
 * (MAX entries), their number in *N_R (0: no signature).
 */
void	dkim_verify(struct dnsq *q, const char *msg, size_t len,
	    long long now, struct dkim_verdict *out, size_t max, size_t *n_r);
/* dkim_result_name - "pass", "fail" ... as Authentication-Results. */
const char *dkim_result_name(enum dkim_result r);
/*
 * dkim_sig_check - 0 when VALUE (LEN bytes, a DKIM-Signature field body,
 * unfolded or not) has well-formed tags (RFC 6376 §3.5: v, a, b, bh, c,
 * d, h, i, l, q, s, t, x, z; each once; required ones there), else -1
 * with the reason in WHY.  The fuzz target's entry.
 */
int	dkim_sig_check(const char *value, size_t len, char *why,
	    size_t whysize);
/* dkim_keyrec_check - the same for a key record ("v=DKIM1; k=...; p=...") */
int	dkim_keyrec_check(const char *txt, size_t len, char *why,
	    size_t whysize);

#endif
