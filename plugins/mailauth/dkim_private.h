/*
 * dkim_private.h - what the DKIM files of the mailauth plugin share (not
 * the plugin's interface: that is dkim.h).  The tag=value lists of
 * signatures and key records (dkim_tag.c), the split of a message into
 * header fields and body and their canonical forms (dkim_canon.c), and
 * the signature step signing and tests share (dkim_sign.c).
 *
 * Privilege: none.  Must never: point past the text it was given, or
 * hold more than the named ceilings below.
 */
#ifndef YUBIN_MAILAUTH_DKIM_PRIVATE_H
#define YUBIN_MAILAUTH_DKIM_PRIVATE_H

#include <stddef.h>

#include "dkim.h"

#define DKIM_TAG_MAX	64	/* tags of one list; RFC 6376 defines 14 */
#define DKIM_H_MAX	128	/* names in one h=; a signer lists ~25 */
#define DKIM_FIELDS_MAX	4096	/* header fields of a message looked at */
#define DKIM_B_MAX	1024	/* b= bytes: an 8192-bit RSA signature */
#define DKIM_KEY_MAX	2048	/* p= bytes: an 8192-bit RSA key */
#define DKIM_L_DIGITS	18	/* l= digits, so it fits a long long */
#define DKIM_T_DIGITS	12	/* t= and x= digits (RFC 6376 §3.5) */
#define DKIM_FOLD_COL	78	/* signature lines are folded at */

/* dkim_why - format WHY (WHYSIZE bytes, may be 0); returns -1 */
int	dkim_why(char *why, size_t whysize, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* one tag of a list: NAME and VALUE (trimmed of white space) point into
 * the text parsed; [RAW_OFF, RAW_END) is the value with the white space
 * around it, offsets into that text (b= is cut there, RFC 6376 §3.7) */
struct dkim_tag {
	const char	*name;
	size_t		 nlen;
	const char	*val;
	size_t		 vlen;
	size_t		 raw_off;
	size_t		 raw_end;
};

struct dkim_tags {
	size_t		 n;
	struct dkim_tag	 t[DKIM_TAG_MAX];
};

/*
 * dkim_tags_parse - the tag-list S (LEN bytes, RFC 6376 §3.2, folds as
 * CRLF or LF) into TL: each tag once, names ALPHA *(ALPHA/DIGIT/"_"),
 * values of VALCHAR with inner white space.  0, or -1 with WHY.
 */
int	dkim_tags_parse(const char *s, size_t len, struct dkim_tags *tl,
	    char *why, size_t whysize);
/* dkim_tag_get - the tag NAME of TL, or NULL */
const struct dkim_tag *dkim_tag_get(const struct dkim_tags *tl,
	    const char *name);
/*
 * dkim_b64_decode - base64 S (LEN bytes, white space between characters
 * allowed as FWS) into OUT (SIZE bytes): the byte count, or -1 (bad
 * character, bad padding, bits under the padding, longer than SIZE).
 */
long	dkim_b64_decode(const char *s, size_t len, unsigned char *out,
	    size_t size);
/* dkim_domain_ok - S (LEN bytes) is a domain name: dot-separated labels
 * of letters, digits, '-' and '_' (selectors), 1 to 63 bytes each, no
 * label starting or ending with '-', at most MAX bytes.  1 or 0. */
int	dkim_domain_ok(const char *s, size_t len, size_t max);

enum dkim_canon { DKIM_SIMPLE = 0, DKIM_RELAXED = 1 };

/* a DKIM-Signature parsed (dkim_sig_parse) */
struct dkim_sig {
	char		 a[24];		/* as written */
	enum dkim_alg	 alg;		/* 0: rsa-sha1 or unknown */
	enum dkim_canon	 hc, bc;
	char		 d[DKIM_DOMAIN_MAX + 1];
	char		 s[DKIM_SELECTOR_MAX + 1];
	char		 i[256];	/* "" when absent */
	char		 bpre[16];	/* first characters of b= */
	unsigned char	 b[DKIM_B_MAX];
	size_t		 blen;
	unsigned char	 bh[64];
	size_t		 bhlen;
	size_t		 nh;		/* names of h= */
	const char	*h[DKIM_H_MAX];	/* point into the field */
	size_t		 hl[DKIM_H_MAX];
	int		 has_l, has_x, has_t;
	long long	 l, x, t;
	struct dkim_tags tags;
};

/*
 * dkim_sig_parse - the DKIM-Signature value V (LEN bytes) into SIG (whose
 * pointers point into V): RFC 6376 §3.5 syntax, every required tag, v=1,
 * known c=, i= within d=, x= not before t=.  0, or -1 with WHY (SIG may
 * then hold what was read before the error).
 */
int	dkim_sig_parse(const char *v, size_t len, struct dkim_sig *sig,
	    char *why, size_t whysize);

/* a key record parsed (dkim_keyrec_parse) */
struct dkim_keyrec {
	int		 k;		/* DKIM_RSA_SHA256's key, ED25519, 0 */
	int		 sha256_ok;	/* h= absent or lists sha256 */
	int		 email_ok;	/* s= absent or lists email or '*' */
	int		 strict;	/* t=s */
	int		 testing;	/* t=y */
	unsigned char	 p[DKIM_KEY_MAX];
	size_t		 plen;		/* 0: revoked */
};

/* dkim_keyrec_parse - the key record TXT (LEN bytes) into K.  0, or -1
 * with WHY (syntax, v= not DKIM1 or not first, no p=). */
int	dkim_keyrec_parse(const char *txt, size_t len, struct dkim_keyrec *k,
	    char *why, size_t whysize);

/* a message split: fields (each up to, not with, its last line end, folds
 * kept) in order, then the body */
struct dkim_field {
	const char	*p;
	size_t		 len;
	size_t		 nlen;		/* the name, white space before ':' cut */
};

struct dkim_msg {
	struct dkim_field *f;
	size_t		 nf;
	const char	*body;
	size_t		 blen;
};

/* dkim_msg_split - MSG (LEN bytes) into M (M->f malloc'ed).  0, or -1
 * with WHY (more than DKIM_FIELDS_MAX fields, out of memory). */
int	dkim_msg_split(const char *msg, size_t len, struct dkim_msg *m,
	    char *why, size_t whysize);
void	dkim_msg_free(struct dkim_msg *m);
/* dkim_field_is - F's name is NAME (NLEN bytes), any case */
int	dkim_field_is(const struct dkim_field *f, const char *name,
	    size_t nlen);

/*
 * dkim_canon_header - the field P (LEN bytes, folds as LF or CRLF) in
 * canonical form C, without the final CRLF, into OUT (at least 2*LEN+2
 * bytes).  Its length.
 */
size_t	dkim_canon_header(enum dkim_canon c, const char *p, size_t len,
	    char *out);

typedef void dkim_emit_fn(void *ctx, const void *p, size_t n);
/* dkim_canon_body - the body P (LEN bytes, LF line ends read as CRLF) in
 * canonical form C, given to EMIT in pieces. */
void	dkim_canon_body(enum dkim_canon c, const char *p, size_t len,
	    dkim_emit_fn *emit, void *ctx);
/*
 * dkim_body_hash - SHA-256 of the body P (LEN bytes) in form C, of its
 * first L bytes when L >= 0, into MD (32 bytes); the canonical body's
 * full length in *TOTAL_R.  0, or -1 (digest error).
 */
int	dkim_body_hash(enum dkim_canon c, const char *p, size_t len,
	    long long l, unsigned char *md, long long *total_r);
/*
 * dkim_header_data - what the header hash covers (RFC 6376 §3.7): the
 * fields of M that names H (NH of them, lengths HL) select bottom-up, in
 * form C, each with CRLF, then SIGF (SIGLEN bytes, a DKIM-Signature field
 * whose b= value is already cut) in form C without CRLF.  0 (*OUT_R
 * malloc'ed, length *OUTLEN_R), or -1 with WHY.
 */
int	dkim_header_data(enum dkim_canon c, const struct dkim_msg *m,
	    const char *const *h, const size_t *hl, size_t nh,
	    const char *sigf, size_t siglen, char **out_r, size_t *outlen_r,
	    char *why, size_t whysize);

/*
 * dkim_sign_field - the b= value (base64, malloc'ed in *B64_R) that K
 * gives FIELD (FLEN bytes: a whole "DKIM-Signature:" field with "b="
 * empty, its h= and c= read from it) over MSG (LEN bytes).  What
 * dkim_sign does once it has built its field; tests reproduce published
 * signatures with it.  0, or -1 with WHY.
 */
int	dkim_sign_field(const struct dkim_key *k, const char *msg, size_t len,
	    const char *field, size_t flen, char **b64_r, char *why,
	    size_t whysize);

#endif
