/*
 * dkim_sign.c - DKIM signing (RFC 6376 §5, RFC 8463): the private keys
 * of CONFDIR/dkim.dat (dkim_key_load) and the DKIM-Signature field of a
 * message (dkim_sign), relaxed/relaxed, rsa-sha256 or ed25519-sha256.
 *
 * Privilege: none; the key files are read by the caller's process before
 * it drops privileges or as the server group.  Must never: load an RSA
 * key under DKIM_RSA_MIN_SIGN bits (dkim_sign signs with the key it is
 * given), ask for a passphrase, sign a message without From, or leave a
 * key in memory dkim_key_free does not release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim_private.h"

/* the fields signed when present, each as often as it is there; From
 * once more, so that no From can be added (RFC 6376 §8.15) */
static const char *const sign_names[] = {
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Id", "List-Post", "List-Help",
	"List-Subscribe", "List-Unsubscribe", "List-Owner", "List-Archive",
};

#define SIGN_FIELD_MAX	(64 * 1024)	/* a field we build; ~2 kB in use */

/* no_pass - the PEM passphrase callback: an encrypted key is refused */
static int
no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
dkim_key_load(struct dkim_key *k, const char *domain, const char *selector,
    const char *path, char *why, size_t whysize)
{
	EVP_PKEY *pkey;
	BIO *bio;
	int id, bits;

	memset(k, 0, sizeof(*k));
	if (!dkim_domain_ok(domain, strlen(domain), DKIM_DOMAIN_MAX))
		return dkim_why(why, whysize, "bad domain");
	if (!dkim_domain_ok(selector, strlen(selector), DKIM_SELECTOR_MAX))
		return dkim_why(why, whysize, "bad selector");
	if ((bio = BIO_new_file(path, "r")) == NULL) {
		ERR_clear_error();
		return dkim_why(why, whysize, "%s: cannot open", path);
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
		return dkim_why(why, whysize, "%s: no PEM private key "
		    "(or an encrypted one)", path);
	id = EVP_PKEY_get_base_id(pkey);
	bits = EVP_PKEY_get_bits(pkey);
	if (id == EVP_PKEY_RSA && bits >= DKIM_RSA_MIN_SIGN)
		k->alg = DKIM_RSA_SHA256;
	else if (id == EVP_PKEY_ED25519)
		k->alg = DKIM_ED25519_SHA256;
	else {
		EVP_PKEY_free(pkey);
		if (id == EVP_PKEY_RSA)
			return dkim_why(why, whysize, "%s: RSA key of %d bits, "
			    "under %d", path, bits, DKIM_RSA_MIN_SIGN);
		return dkim_why(why, whysize, "%s: not an RSA or Ed25519 key",
		    path);
	}
	snprintf(k->domain, sizeof(k->domain), "%s", domain);
	snprintf(k->selector, sizeof(k->selector), "%s", selector);
	k->pkey = pkey;
	return 0;
}

void
dkim_key_free(struct dkim_key *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

/* sign_data - K's signature of DATA (LEN bytes), base64, into *B64_R */
static int
sign_data(const struct dkim_key *k, const char *data, size_t len,
    char **b64_r, char *why, size_t whysize)
{
	EVP_MD_CTX *ctx;
	unsigned char md[32], *sig = NULL;
	const unsigned char *in = (const unsigned char *)data;
	size_t siglen = 0, inlen = len;
	int ok = 0;

	*b64_r = NULL;
	if (k->alg == DKIM_ED25519_SHA256) {
		/* RFC 8463 §3: Ed25519 over the SHA-256 hash */
		if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
			return dkim_why(why, whysize, "digest error");
		in = md;
		inlen = sizeof(md);
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return dkim_why(why, whysize, "out of memory");
	if (EVP_DigestSignInit(ctx, NULL, k->alg == DKIM_RSA_SHA256 ?
	    EVP_sha256() : NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, NULL, &siglen, in, inlen) == 1 &&
	    siglen > 0 && siglen <= DKIM_B_MAX &&
	    (sig = malloc(siglen)) != NULL &&
	    EVP_DigestSign(ctx, sig, &siglen, in, inlen) == 1 &&
	    (*b64_r = malloc(4 * ((siglen + 2) / 3) + 1)) != NULL) {
		EVP_EncodeBlock((unsigned char *)*b64_r, sig, (int)siglen);
		ok = 1;
	}
	EVP_MD_CTX_free(ctx);
	free(sig);
	ERR_clear_error();
	if (!ok)
		return dkim_why(why, whysize, "signing error");
	return 0;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
dkim_sign_field(const struct dkim_key *k, const char *msg, size_t len,
    const char *field, size_t flen, char **b64_r, char *why, size_t whysize)
{
	struct dkim_tags tl;
	struct dkim_msg m;
	const struct dkim_tag *h, *c;
	const char *names[DKIM_H_MAX], *colon, *p, *e, *end;
	size_t nl[DKIM_H_MAX], nh = 0, dlen;
	char *data;
	int r;

	*b64_r = NULL;
	if ((colon = memchr(field, ':', flen)) == NULL)
		return dkim_why(why, whysize, "not a header field");
	if (dkim_tags_parse(colon + 1, flen - (size_t)(colon + 1 - field), &tl,
	    why, whysize) == -1)
		return -1;
	if ((h = dkim_tag_get(&tl, "h")) == NULL)
		return dkim_why(why, whysize, "no h=");
	c = dkim_tag_get(&tl, "c");
	for (p = h->val, end = h->val + h->vlen; p < end; p = e + 1) {
		if ((e = memchr(p, ':', (size_t)(end - p))) == NULL)
			e = end;
		if (nh == DKIM_H_MAX)
			return dkim_why(why, whysize, "h= too long");
		names[nh] = p;
		nl[nh] = (size_t)(e - p);
		while (nl[nh] > 0 && is_ws(*names[nh])) {
			names[nh]++;
			nl[nh]--;
		}
		while (nl[nh] > 0 && is_ws(names[nh][nl[nh] - 1]))
			nl[nh]--;
		nh++;
	}
	if (dkim_msg_split(msg, len, &m, why, whysize) == -1)
		return -1;
	r = dkim_header_data(c != NULL && c->vlen >= 7 &&
	    strncasecmp(c->val, "relaxed", 7) == 0 ? DKIM_RELAXED : DKIM_SIMPLE,
	    &m, names, nl, nh, field, flen, &data, &dlen, why, whysize);
	dkim_msg_free(&m);
	if (r == -1)
		return -1;
	r = sign_data(k, data, dlen, b64_r, why, whysize);
	free(data);
	return r;
}

/* a field being built, folded at DKIM_FOLD_COL columns */
struct fold {
	char	*buf;
	size_t	 len, cap, col;
	int	 err;
};

static void
fold_raw(struct fold *f, const char *s, size_t n)
{
	char *nb;
	size_t want;

	if (f->err)
		return;
	if (f->len + n + 1 > f->cap) {
		want = f->cap ? f->cap * 2 : 512;
		while (want < f->len + n + 1)
			want *= 2;
		if (want > SIGN_FIELD_MAX || (nb = realloc(f->buf, want)) == NULL) {
			f->err = 1;
			return;
		}
		f->buf = nb;
		f->cap = want;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
	f->col += n;
}

/* fold_add - TOK after SEP, or on a new line when it would pass the
 * fold column (a token longer than a line gets a line of its own) */
static void
fold_add(struct fold *f, const char *sep, const char *tok)
{
	size_t sl = strlen(sep), tl = strlen(tok);

	if (f->col + sl + tl > DKIM_FOLD_COL && f->col > 1) {
		fold_raw(f, "\n\t", 2);
		f->col = 1;
	} else
		fold_raw(f, sep, sl);
	fold_raw(f, tok, tl);
}

/* fold_b64 - the b= value S, as much as fits on each line */
static void
fold_b64(struct fold *f, const char *s)
{
	size_t n = strlen(s), room;

	while (n > 0) {
		if (f->col >= DKIM_FOLD_COL) {
			fold_raw(f, "\n\t", 2);
			f->col = 1;
		}
		room = DKIM_FOLD_COL - f->col;
		if (room > n)
			room = n;
		fold_raw(f, s, room);
		s += room;
		n -= room;
	}
}

static int
count_fields(const struct dkim_msg *m, const char *name)
{
	size_t j, n = strlen(name);
	int c = 0;

	for (j = 0; j < m->nf; j++)
		if (dkim_field_is(&m->f[j], name, n))
			c++;
	return c;
}

/* sign_head - the field up to "b=" (H: the names signed) */
static void
sign_head(struct fold *f, const struct dkim_key *k, const struct dkim_msg *m,
    const char *bh, long long now)
{
	char tok[DKIM_DOMAIN_MAX + 16];
	size_t i, nn = sizeof(sign_names) / sizeof(sign_names[0]);
	int c, first = 1;

	fold_raw(f, "DKIM-Signature: v=1;", 20);
	fold_add(f, " ", k->alg == DKIM_RSA_SHA256 ? "a=rsa-sha256;" :
	    "a=ed25519-sha256;");
	fold_add(f, " ", "c=relaxed/relaxed;");
	snprintf(tok, sizeof(tok), "d=%s;", k->domain);
	fold_add(f, " ", tok);
	snprintf(tok, sizeof(tok), "s=%s;", k->selector);
	fold_add(f, " ", tok);
	snprintf(tok, sizeof(tok), "t=%lld;", now);
	fold_add(f, " ", tok);
	for (i = 0; i < nn; i++) {
		c = count_fields(m, sign_names[i]) + (i == 0);
		while (c-- > 0) {
			snprintf(tok, sizeof(tok), "%s%s", first ? "h=" : ":",
			    sign_names[i]);
			fold_add(f, first ? " " : "", tok);
			first = 0;
		}
	}
	fold_raw(f, ";", 1);
	snprintf(tok, sizeof(tok), "bh=%s;", bh);
	fold_add(f, " ", tok);
	fold_add(f, " ", "b=");
}

int
dkim_sign(const struct dkim_key *k, const char *msg, size_t len,
    long long now, char **field_r, char *why, size_t whysize)
{
	struct dkim_msg m;
	struct fold f;
	unsigned char md[32];
	char bh[64], *b64 = NULL;
	long long total;

	*field_r = NULL;
	if (k->pkey == NULL)
		return dkim_why(why, whysize, "no key");
	if (dkim_msg_split(msg, len, &m, why, whysize) == -1)
		return -1;
	if (count_fields(&m, "From") == 0) {
		dkim_msg_free(&m);
		return dkim_why(why, whysize, "no From field");
	}
	if (dkim_body_hash(DKIM_RELAXED, m.body, m.blen, -1, md, &total) == -1) {
		dkim_msg_free(&m);
		return dkim_why(why, whysize, "digest error");
	}
	EVP_EncodeBlock((unsigned char *)bh, md, sizeof(md));
	memset(&f, 0, sizeof(f));
	sign_head(&f, k, &m, bh, now);
	dkim_msg_free(&m);
	if (f.err) {
		free(f.buf);
		return dkim_why(why, whysize, "out of memory");
	}
	if (dkim_sign_field(k, msg, len, f.buf, f.len, &b64, why,
	    whysize) == -1) {
		free(f.buf);
		return -1;
	}
	fold_b64(&f, b64);
	free(b64);
	if (f.err) {
		free(f.buf);
		return dkim_why(why, whysize, "out of memory");
	}
	*field_r = f.buf;
	return 0;
}
