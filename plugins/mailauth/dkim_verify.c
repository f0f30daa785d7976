/*
 * dkim_verify.c - DKIM verification (RFC 6376 §6, RFC 8463, RFC 8301):
 * each DKIM-Signature field of a message, at most DKIM_SIG_MAX of them,
 * its key from "SELECTOR._domainkey.DOMAIN" TXT through a struct dnsq,
 * and one verdict each.
 *
 * Results: a signature that cannot be read, uses an unknown algorithm or
 * canonicalisation, lacks From in h= or has expired is neutral; rsa-sha1
 * and RSA keys under DKIM_RSA_MIN_VERIFY bits are policy (RFC 8301); a key
 * lookup that fails for now is temperror; no key, a revoked key (p=
 * empty), a key of another type or one that is not a key is permerror;
 * a body hash or signature that does not match, or an l= past the body,
 * is fail.
 *
 * Privilege: none; everything here comes from the network.  Must never:
 * verify more than DKIM_SIG_MAX signatures, accept rsa-sha1, accept a
 * signature whose h= lacks From, or copy a value into a verdict without
 * checking its form and size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim_private.h"

const char *
dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_NONE:
		return "none";
	case DKIM_PASS:
		return "pass";
	case DKIM_FAIL:
		return "fail";
	case DKIM_NEUTRAL:
		return "neutral";
	case DKIM_POLICY:
		return "policy";
	case DKIM_TEMPERROR:
		return "temperror";
	case DKIM_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

static void
verdict(struct dkim_verdict *v, enum dkim_result r, const char *reason)
{
	v->result = r;
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

/* alg_ok - S (LEN bytes) may go into a verdict's alg */
static int
alg_ok(const char *s, size_t len, size_t size)
{
	size_t i;

	if (len == 0 || len >= size)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* verdict_tags - d=, s= and a= of a signature that did not parse, when
 * their form is right */
static void
verdict_tags(struct dkim_verdict *v, const struct dkim_tags *tl)
{
	const struct dkim_tag *t;

	if ((t = dkim_tag_get(tl, "d")) != NULL &&
	    dkim_domain_ok(t->val, t->vlen, DKIM_DOMAIN_MAX))
		snprintf(v->domain, sizeof(v->domain), "%.*s", (int)t->vlen,
		    t->val);
	if ((t = dkim_tag_get(tl, "s")) != NULL &&
	    dkim_domain_ok(t->val, t->vlen, DKIM_SELECTOR_MAX))
		snprintf(v->selector, sizeof(v->selector), "%.*s",
		    (int)t->vlen, t->val);
	if ((t = dkim_tag_get(tl, "a")) != NULL &&
	    alg_ok(t->val, t->vlen, sizeof(v->alg)))
		snprintf(v->alg, sizeof(v->alg), "%.*s", (int)t->vlen, t->val);
}

/*
 * key_get - the public key for SIG: 0 with *PKEY_R, or -1 with the
 * verdict set.
 */
static int
key_get(struct dnsq *q, const struct dkim_sig *sig, struct dkim_verdict *v,
    EVP_PKEY **pkey_r)
{
	struct dnsq_ans ans;
	struct dkim_keyrec *k;
	char name[DNSQ_NAME_MAX + 2], why[96], reason[128];
	const unsigned char *pp;
	const char *idom;
	EVP_PKEY *pkey = NULL;
	size_t i;
	int rc, found = 0;

	*pkey_r = NULL;
	if ((size_t)snprintf(name, sizeof(name), "%s._domainkey.%s", sig->s,
	    sig->d) > DNSQ_NAME_MAX) {
		verdict(v, DKIM_PERMERROR, "key name too long");
		return -1;
	}
	rc = dnsq_lookup(q, name, DNSQ_TXT, &ans);
	if (rc == DNSQ_TEMP) {
		dnsq_ans_free(&ans);
		verdict(v, DKIM_TEMPERROR, "key lookup failed for now");
		return -1;
	}
	if (rc != DNSQ_OK || ans.n == 0) {
		dnsq_ans_free(&ans);
		verdict(v, DKIM_PERMERROR, "no key record");
		return -1;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		dnsq_ans_free(&ans);
		verdict(v, DKIM_TEMPERROR, "out of memory");
		return -1;
	}
	why[0] = '\0';
	for (i = 0; i < ans.n && !found; i++)
		if (ans.str[i] != NULL && dkim_keyrec_parse(ans.str[i],
		    ans.len ? ans.len[i] : strlen(ans.str[i]), k, why,
		    sizeof(why)) == 0)
			found = 1;
	dnsq_ans_free(&ans);
	if (!found) {
		snprintf(reason, sizeof(reason), "bad key record: %s", why);
		verdict(v, DKIM_PERMERROR, reason);
	} else if (k->plen == 0)
		verdict(v, DKIM_PERMERROR, "key revoked");
	else if (!k->sha256_ok)
		verdict(v, DKIM_PERMERROR, "key h= excludes sha256");
	else if (!k->email_ok)
		verdict(v, DKIM_PERMERROR, "key s= excludes email");
	else if (k->k != (int)sig->alg)
		verdict(v, DKIM_PERMERROR, "key k= does not match a=");
	else if (k->strict && sig->i[0] != '\0' &&
	    ((idom = strrchr(sig->i, '@')) == NULL ||
	    strcasecmp(idom + 1, sig->d) != 0))
		verdict(v, DKIM_PERMERROR, "key t=s and i= is not d=");
	else {
		pp = k->p;
		if (sig->alg == DKIM_ED25519_SHA256) {
			if (k->plen == 32)
				pkey = EVP_PKEY_new_raw_public_key(
				    EVP_PKEY_ED25519, NULL, k->p, 32);
		} else if ((pkey = d2i_PUBKEY(NULL, &pp, (long)k->plen)) ==
		    NULL) {
			/* some publish the bare RSAPublicKey */
			pp = k->p;
			pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &pp,
			    (long)k->plen);
		}
		ERR_clear_error();
		if (pkey != NULL && sig->alg == DKIM_RSA_SHA256 &&
		    EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		if (pkey == NULL)
			verdict(v, DKIM_PERMERROR, "p= is not a key");
		else if (sig->alg == DKIM_RSA_SHA256 &&
		    EVP_PKEY_get_bits(pkey) < DKIM_RSA_MIN_VERIFY) {
			snprintf(reason, sizeof(reason), "RSA key of %d bits "
			    "(under %d)", EVP_PKEY_get_bits(pkey),
			    DKIM_RSA_MIN_VERIFY);
			verdict(v, DKIM_POLICY, reason);
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	free(k);
	*pkey_r = pkey;
	return pkey ? 0 : -1;
}

/* sig_ok - whether B (BLEN bytes) signs DATA (LEN bytes) with PKEY */
static int
sig_ok(const struct dkim_sig *sig, EVP_PKEY *pkey, const char *data,
    size_t len)
{
	EVP_MD_CTX *ctx;
	unsigned char md[32];
	const unsigned char *in = (const unsigned char *)data;
	size_t inlen = len;
	int ok = 0;

	if (sig->alg == DKIM_ED25519_SHA256) {
		if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
			return 0;
		in = md;
		inlen = sizeof(md);
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_DigestVerifyInit(ctx, NULL, sig->alg == DKIM_RSA_SHA256 ?
	    EVP_sha256() : NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig->b, sig->blen, in, inlen) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* cut_b - field F with the value of SIG's b= (white space around it
 * too) taken out, into *OUT_R (malloc'ed) */
static int
cut_b(const struct dkim_field *f, const struct dkim_sig *sig, size_t voff,
    char **out_r, size_t *len_r)
{
	const struct dkim_tag *b = dkim_tag_get(&sig->tags, "b");
	size_t from = voff + b->raw_off, to = voff + b->raw_end;
	char *out;

	if ((out = malloc(f->len + 1)) == NULL)
		return -1;
	memcpy(out, f->p, from);
	memcpy(out + from, f->p + to, f->len - to);
	*out_r = out;
	*len_r = from + f->len - to;
	return 0;
}

static void
verify_one(struct dnsq *q, const struct dkim_msg *m,
    const struct dkim_field *f, long long now, struct dkim_sig *sig,
    struct dkim_verdict *v)
{
	EVP_PKEY *pkey;
	unsigned char md[32];
	char why[96], *cut = NULL, *data = NULL;
	const char *colon;
	size_t voff, cutlen, dlen;
	long long total;

	memset(v, 0, sizeof(*v));
	colon = memchr(f->p, ':', f->len);
	voff = (size_t)(colon + 1 - f->p);
	if (dkim_sig_parse(colon + 1, f->len - voff, sig, why,
	    sizeof(why)) == -1) {
		verdict_tags(v, &sig->tags);
		verdict(v, DKIM_NEUTRAL, why);
		return;
	}
	snprintf(v->domain, sizeof(v->domain), "%s", sig->d);
	snprintf(v->selector, sizeof(v->selector), "%s", sig->s);
	snprintf(v->alg, sizeof(v->alg), "%s", sig->a);
	snprintf(v->b, sizeof(v->b), "%s", sig->bpre);
	snprintf(v->identity, sizeof(v->identity), "%s", sig->i);
	if (sig->alg == 0) {
		if (strcasecmp(sig->a, "rsa-sha1") == 0)
			verdict(v, DKIM_POLICY, "rsa-sha1 is not accepted "
			    "(RFC 8301)");
		else
			verdict(v, DKIM_NEUTRAL, "unknown algorithm");
		return;
	}
	if (sig->has_x && sig->x < now) {
		verdict(v, DKIM_NEUTRAL, "signature expired");
		return;
	}
	if (key_get(q, sig, v, &pkey) == -1)
		return;
	if (dkim_body_hash(sig->bc, m->body, m->blen, sig->has_l ? sig->l : -1,
	    md, &total) == -1)
		verdict(v, DKIM_TEMPERROR, "digest error");
	else if (sig->has_l && sig->l > total)
		verdict(v, DKIM_FAIL, "l= is past the body");
	else if (sig->bhlen != sizeof(md) || memcmp(md, sig->bh, sizeof(md)))
		verdict(v, DKIM_FAIL, "body hash does not match");
	else if (cut_b(f, sig, voff, &cut, &cutlen) == -1 ||
	    dkim_header_data(sig->hc, m, sig->h, sig->hl, sig->nh, cut, cutlen,
	    &data, &dlen, why, sizeof(why)) == -1)
		verdict(v, DKIM_TEMPERROR, "out of memory");
	else if (!sig_ok(sig, pkey, data, dlen))
		verdict(v, DKIM_FAIL, "signature does not verify");
	else {
		verdict(v, DKIM_PASS, "");
		v->partial = sig->has_l && sig->l < total;
	}
	free(cut);
	free(data);
	EVP_PKEY_free(pkey);
}

void
dkim_verify(struct dnsq *q, const char *msg, size_t len, long long now,
    struct dkim_verdict *out, size_t max, size_t *n_r)
{
	static const char name[] = "DKIM-Signature";
	struct dkim_msg m;
	struct dkim_sig *sig;
	char why[96];
	size_t j, n = 0;

	*n_r = 0;
	if (max > DKIM_SIG_MAX)
		max = DKIM_SIG_MAX;
	if (max == 0)
		return;
	if (dkim_msg_split(msg, len, &m, why, sizeof(why)) == -1) {
		memset(&out[0], 0, sizeof(out[0]));
		verdict(&out[0], DKIM_NEUTRAL, why);
		*n_r = 1;
		return;
	}
	if ((sig = malloc(sizeof(*sig))) == NULL) {
		dkim_msg_free(&m);
		memset(&out[0], 0, sizeof(out[0]));
		verdict(&out[0], DKIM_TEMPERROR, "out of memory");
		*n_r = 1;
		return;
	}
	for (j = 0; j < m.nf && n < max; j++)
		if (dkim_field_is(&m.f[j], name, sizeof(name) - 1))
			verify_one(q, &m, &m.f[j], now, sig, &out[n++]);
	free(sig);
	dkim_msg_free(&m);
	*n_r = n;
}
