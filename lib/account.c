/*
 * account.c - account records in STORE_ACCOUNTS, scrypt password hashes,
 * name checks and the E-Post import/export format; see account.h.
 *
 * A record is versioned text, "v1\n" then one "key=value\n" line for every
 * field of struct account, values escaped (backslash, and every byte below
 * 0x20 or 0x7f, as \xNN).  Reading is strict: a missing, repeated, unknown
 * or over-long field, a bad number or a name that differs from the key makes
 * the record corrupt, which account_get logs and reports as -1.
 *
 * Never: keep a clear password for an account without the apop flag, compare
 * hashes with memcmp, or run the KDF with parameters from a record without
 * bounding them first (a bad record must not cost minutes or gigabytes).
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "account.h"
#include "buf.h"
#include "log.h"

#define ACCOUNT_RECORD_MAX	8192	/* every field at its longest, escaped, fits */
#define ACCOUNT_DOMAIN_MAX	255	/* RFC 1035 */

/* scrypt: N = 2^15, r = 8, p = 1 costs 32 MiB and some 50-100 ms; the
 * fuzz build (Makefile, build-fuzz/) makes N 2^4 so that a session target
 * can check a password per input */
#ifndef PASSWD_LN
#define PASSWD_LN		15
#endif
#define PASSWD_R		8
#define PASSWD_P		1
#define PASSWD_SALT_LEN		16
#define PASSWD_KEY_LEN		32
/* ceilings for parameters read back from a record */
#define PASSWD_LN_MAX		20
#define PASSWD_R_MAX		32
#define PASSWD_P_MAX		16
#define PASSWD_MEM_MAX		((uint64_t)256 << 20)	/* 128 * r * N */
#define PASSWD_WORK_MAX		((uint64_t)1 << 22)	/* N * r * p: 16 x ours */
#define PASSWD_SALT_MIN		4	/* RFC 7914 test vectors use "NaCl" */
#define PASSWD_BLOB_MAX		64	/* salt or key bytes */

#define HASH_TAG		"{HASH}"

static const char name_why[] =
    "account name must be 1-64 characters of a-z 0-9 . _ -";

int
account_local_valid(const char *name, const char **why_r)
{
	size_t i;

	for (i = 0; name && name[i]; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i >= ACCOUNT_NAME_MAX || !((c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			goto bad;
	}
	if (i == 0)
		goto bad;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		*why_r = "account name must not be '.' or '..'";
		return 0;
	}
	return 1;
bad:
	*why_r = name_why;
	return 0;
}

int
account_name_valid(const char *name, const char **why_r)
{
	char local[ACCOUNT_NAME_MAX + 1];
	const char *at, *d;
	size_t n;

	if (name == NULL || (at = strchr(name, '@')) == NULL)
		return account_local_valid(name, why_r);
	n = (size_t)(at - name);
	if (strlen(name) > ACCOUNT_NAME_MAX) {
		*why_r = "account name@domain must be at most 64 characters";
		return 0;
	}
	memcpy(local, name, n);
	local[n] = '\0';
	if (!account_local_valid(local, why_r))
		return 0;
	/* a lower-case host name: no '/', no empty label, never "." or ".." */
	for (d = at + 1; *d; d++)
		if (*d >= 'A' && *d <= 'Z')
			break;
	if (at[1] == '\0' || *d != '\0' ||
	    !account_domain_valid(at + 1, why_r)) {
		*why_r = "the domain of an account name@domain must be a "
		    "lower-case host name";
		return 0;
	}
	return 1;
}

int
account_domain_valid(const char *domain, const char **why_r)
{
	size_t i, n = strlen(domain), label = 0;

	if (n == 0)
		return 1;
	if (n > ACCOUNT_DOMAIN_MAX)
		goto bad;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)domain[i];

		if (c == '.') {
			if (label == 0 || domain[i - 1] == '-')
				goto bad;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			goto bad;
		if (c == '-' && label == 0)
			goto bad;
		if (++label > 63)
			goto bad;
	}
	if (label == 0 || domain[n - 1] == '-')
		goto bad;
	return 1;
bad:
	*why_r = "domain must be a host name of letters, digits, '-' and '.'";
	return 0;
}

/* text_ok - 1 if S has no control bytes (tab, CR, LF, ... DEL). */
static int
text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

static int
passwd_scrypt(const char *password, const unsigned char *salt, size_t slen,
    unsigned ln, unsigned r, unsigned p, unsigned char *key, size_t klen)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[7];
	uint64_t n = (uint64_t)1 << ln;
	uint64_t maxmem = PASSWD_MEM_MAX + ((uint64_t)1 << 20);
	uint32_t r32 = r, p32 = p;
	int rc;

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
	if (kdf == NULL) {
		log_err("account: scrypt is not available in OpenSSL");
		return -1;
	}
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL) {
		log_err("account: cannot create a KDF context");
		return -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)password, strlen(password));
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, slen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(ctx, key, klen, params);
	EVP_KDF_CTX_free(ctx);
	if (rc != 1) {
		log_err("account: scrypt failed (ln=%u r=%u p=%u)", ln, r, p);
		return -1;
	}
	return 0;
}

int
passwd_hash(const char *password, char *out, size_t outsize)
{
	unsigned char salt[PASSWD_SALT_LEN], key[PASSWD_KEY_LEN];
	char s64[4 * ((PASSWD_SALT_LEN + 2) / 3) + 1];
	char k64[4 * ((PASSWD_KEY_LEN + 2) / 3) + 1];
	int n, r = -1;

	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		log_err("account: no random bytes for a salt");
		return -1;
	}
	if (passwd_scrypt(password, salt, sizeof(salt), PASSWD_LN, PASSWD_R,
	    PASSWD_P, key, sizeof(key)) == -1)
		goto out;
	EVP_EncodeBlock((unsigned char *)s64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)k64, key, sizeof(key));
	n = snprintf(out, outsize, "$scrypt$ln=%u,r=%u,p=%u$%s$%s",
	    PASSWD_LN, PASSWD_R, PASSWD_P, s64, k64);
	if (n < 0 || (size_t)n >= outsize) {
		log_err("account: hash does not fit %zu bytes", outsize);
		if (outsize > 0)
			out[0] = '\0';
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(k64, sizeof(k64));
	return r;
}

/* parse_uint - decimal digits at *P (no sign, at most 2), value in *V. */
static int
parse_small(const char **pp, const char *prefix, unsigned *v)
{
	const char *p = *pp;
	size_t n = strlen(prefix);
	unsigned x = 0;
	int digits = 0;

	if (strncmp(p, prefix, n) != 0)
		return -1;
	p += n;
	while (*p >= '0' && *p <= '9') {
		if (++digits > 2)
			return -1;
		x = x * 10 + (unsigned)(*p++ - '0');
	}
	if (digits == 0 || (digits > 1 && p[-digits] == '0'))
		return -1;
	*v = x;
	*pp = p;
	return 0;
}

struct passwd_parsed {
	unsigned	ln, r, p;
	unsigned char	salt[PASSWD_BLOB_MAX];
	unsigned char	key[PASSWD_BLOB_MAX];
	size_t		slen, klen;
};

/* passwd_parse - split "$scrypt$ln=L,r=R,p=P$SALT$KEY" and check bounds. */
static int
passwd_parse(const char *hash, struct passwd_parsed *h)
{
	const char *p = hash, *salt, *key;
	ssize_t n;

	if (strlen(hash) >= ACCOUNT_HASH_MAX ||
	    strncmp(p, "$scrypt$", 8) != 0)
		return -1;
	p += 8;
	if (parse_small(&p, "ln=", &h->ln) == -1 ||
	    parse_small(&p, ",r=", &h->r) == -1 ||
	    parse_small(&p, ",p=", &h->p) == -1 || *p != '$')
		return -1;
	if (h->ln < 1 || h->ln > PASSWD_LN_MAX || h->r < 1 ||
	    h->r > PASSWD_R_MAX || h->p < 1 || h->p > PASSWD_P_MAX)
		return -1;
	if (((uint64_t)128 * h->r << h->ln) > PASSWD_MEM_MAX ||
	    ((uint64_t)h->r * h->p << h->ln) > PASSWD_WORK_MAX)
		return -1;
	salt = p + 1;
	key = strchr(salt, '$');
	if (key == NULL)
		return -1;
	key++;
	n = b64_decode_mem(salt, (size_t)(key - 1 - salt), h->salt,
	    sizeof(h->salt));
	if (n < PASSWD_SALT_MIN)
		return -1;
	h->slen = (size_t)n;
	n = b64_decode_mem(key, strlen(key), h->key, sizeof(h->key));
	if (n < 16)
		return -1;
	h->klen = (size_t)n;
	return 0;
}

int
passwd_hash_valid(const char *hash)
{
	struct passwd_parsed h;
	int r = passwd_parse(hash, &h) == 0;

	OPENSSL_cleanse(&h, sizeof(h));
	return r;
}

int
passwd_verify(const char *hash, const char *password)
{
	struct passwd_parsed h;
	unsigned char key[PASSWD_BLOB_MAX];
	int r = -1;

	if (passwd_parse(hash, &h) == -1)
		goto out;
	if (passwd_scrypt(password, h.salt, h.slen, h.ln, h.r, h.p, key,
	    h.klen) == -1)
		goto out;
	r = CRYPTO_memcmp(key, h.key, h.klen) == 0 ? 1 : 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&h, sizeof(h));
	return r;
}

int
account_set_password(struct account *a, const char *password,
    const char **why_r)
{
	char hash[ACCOUNT_HASH_MAX];
	size_t n = strlen(password);

	if (n == 0) {
		*why_r = "empty password";
		return -1;
	}
	if (n > ACCOUNT_PASSWORD_MAX) {
		*why_r = "password longer than 1024 bytes";
		return -1;
	}
	if (!text_ok(password)) {
		*why_r = "password must not contain control characters";
		return -1;
	}
	if (strncmp(password, HASH_TAG, strlen(HASH_TAG)) == 0) {
		*why_r = "password must not start with " HASH_TAG;
		return -1;
	}
	if (passwd_hash(password, hash, sizeof(hash)) == -1) {
		*why_r = "cannot hash the password";
		return -1;
	}
	memcpy(a->hash, hash, sizeof(a->hash));
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
	if (a->apop)
		memcpy(a->secret, password, n + 1);	/* n checked above */
	return 0;
}

int
account_locked(const struct account *a)
{
	return strcmp(a->hash, ACCOUNT_HASH_LOCKED) == 0;
}

int
account_verify(const struct account *a, const char *password)
{
	return passwd_verify(a->hash, password);
}

/*
 * The record.
 */
enum field_type { F_STR, F_BOOL, F_LL };

static const struct account_field {
	const char	*key;
	enum field_type	 type;
	size_t		 off;
	size_t		 size;		/* F_STR: buffer size */
} account_fields[] = {
#define STR(k) { #k, F_STR, offsetof(struct account, k), \
	    sizeof(((struct account *)0)->k) }
#define NUM(k, t) { #k, t, offsetof(struct account, k), 0 }
	STR(name),
	STR(domain),
	STR(fullname),
	STR(home),
	NUM(smtp_auth, F_BOOL),
	NUM(apop, F_BOOL),
	NUM(quota_size, F_LL),
	NUM(quota_count, F_LL),
	STR(hash),
	STR(secret),
	NUM(created, F_LL),
#undef STR
#undef NUM
};
#define ACCOUNT_NFIELDS	(sizeof(account_fields) / sizeof(account_fields[0]))

static int
record_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\') {
			if (buf_puts(b, "\\\\") == -1)
				return -1;
		} else if (c < 0x20 || c == 0x7f) {
			if (buf_putc(b, '\\') == -1 || buf_putc(b, 'x') == -1 ||
			    buf_putc(b, hex[c >> 4]) == -1 ||
			    buf_putc(b, hex[c & 15]) == -1)
				return -1;
		} else if (buf_putc(b, c) == -1)
			return -1;
	}
	return 0;
}

/* record_encode - A as a record into B (reset first).  0 or -1. */
static int
record_encode(const struct account *a, struct buf *b)
{
	const struct account_field *f;
	const char *base = (const char *)a;
	size_t i;
	int r = 0;

	buf_reset(b);
	r |= buf_puts(b, "v1\n");
	for (i = 0; i < ACCOUNT_NFIELDS; i++) {
		f = &account_fields[i];
		r |= buf_printf(b, "%s=", f->key);
		switch (f->type) {
		case F_STR:
			r |= record_escape(b, base + f->off);
			break;
		case F_BOOL:
			r |= buf_printf(b, "%d",
			    *(const int *)(const void *)(base + f->off) ? 1 : 0);
			break;
		case F_LL:
			r |= buf_printf(b, "%lld",
			    *(const long long *)(const void *)(base + f->off));
			break;
		}
		r |= buf_putc(b, '\n');
	}
	return r ? -1 : 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* record_unescape - V (LEN bytes) into OUT (SIZE); 0 or -1. */
static int
record_unescape(const char *v, size_t len, char *out, size_t size)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < len; i++) {
		char c = v[i];

		if (c == '\\') {
			if (i + 1 < len && v[i + 1] == '\\') {
				i++;
			} else if (i + 3 < len && v[i + 1] == 'x' &&
			    (h = hexval(v[i + 2])) >= 0 &&
			    (l = hexval(v[i + 3])) >= 0) {
				c = (char)(h << 4 | l);
				i += 3;
				if (c == '\0')
					return -1;
			} else
				return -1;
		} else if ((unsigned char)c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= size)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* parse_ll - strict decimal (optional '-'), whole of V (LEN). */
static int
parse_ll(const char *v, size_t len, long long min, long long *out)
{
	long long x = 0;
	size_t i = 0;
	int neg = 0;

	if (len > 0 && v[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, v[i] - '0', &x))
			return -1;
	}
	if (neg)
		x = -x;
	if (x < min)
		return -1;
	*out = x;
	return 0;
}

/*
 * record_decode - parse DATA (LEN) into A; 0, or -1 with *why_r.  KEY
 * (KLEN) is the store key, which must equal the name field.
 */
static int
record_decode(const char *data, size_t len, const char *key, size_t klen,
    struct account *a, const char **why_r)
{
	const struct account_field *f;
	const char *p = data, *end = data + len, *nl, *eq;
	char *base = (char *)a;
	unsigned seen = 0;
	long long v;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (len < 3 || memcmp(data, "v1\n", 3) != 0) {
		*why_r = "unknown record version";
		return -1;
	}
	for (p += 3; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			*why_r = "truncated record";
			return -1;
		}
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL) {
			*why_r = "line without '='";
			return -1;
		}
		for (i = 0; i < ACCOUNT_NFIELDS; i++) {
			f = &account_fields[i];
			if (strlen(f->key) == (size_t)(eq - p) &&
			    memcmp(f->key, p, (size_t)(eq - p)) == 0)
				break;
		}
		if (i == ACCOUNT_NFIELDS) {
			*why_r = "unknown field";
			return -1;
		}
		if (seen & (1u << i)) {
			*why_r = "repeated field";
			return -1;
		}
		seen |= 1u << i;
		eq++;
		switch (f->type) {
		case F_STR:
			if (record_unescape(eq, (size_t)(nl - eq), base + f->off,
			    f->size) == -1) {
				*why_r = "bad or over-long text field";
				return -1;
			}
			break;
		case F_BOOL:
			if (nl - eq != 1 || (*eq != '0' && *eq != '1')) {
				*why_r = "bad flag";
				return -1;
			}
			*(int *)(void *)(base + f->off) = *eq - '0';
			break;
		case F_LL:
			if (parse_ll(eq, (size_t)(nl - eq), 0, &v) == -1) {
				*why_r = "bad number";
				return -1;
			}
			*(long long *)(void *)(base + f->off) = v;
			break;
		}
	}
	if (seen != (1u << ACCOUNT_NFIELDS) - 1) {
		*why_r = "missing field";
		return -1;
	}
	if (!account_name_valid(a->name, why_r))
		return -1;
	if (strlen(a->name) != klen || memcmp(a->name, key, klen) != 0) {
		*why_r = "name differs from its key";
		return -1;
	}
	if (strchr(a->name, '@') != NULL &&
	    strcmp(strchr(a->name, '@') + 1, a->domain) != 0) {
		*why_r = "name@domain differs from the domain field";
		return -1;
	}
	if (!a->apop && a->secret[0]) {
		*why_r = "clear secret without the apop flag";
		return -1;
	}
	return 0;
}

int
account_record_encode(const struct account *a, struct buf *b)
{
	if (!account_name_valid(a->name, &(const char *){ NULL }) ||
	    (!a->apop && a->secret[0]))
		return -1;
	return record_encode(a, b);
}

int
account_record_decode(const void *data, size_t len, const char *name,
    struct account *a, const char **why_r)
{
	if (len > ACCOUNT_RECORD_MAX) {
		*why_r = "record too long";
		return -1;
	}
	if (record_decode(data, len, name, strlen(name), a, why_r) == -1)
		return -1;
	if (!account_locked(a) && !passwd_hash_valid(a->hash)) {
		*why_r = "malformed password hash";
		return -1;
	}
	return 0;
}

/*
 * The account cache: with a shared state (pgstate.h), one message reads
 * the same account records many times (RCPT, quota, hooks, the local
 * agent), each a round trip to PostgreSQL.  account_get keeps a record
 * it found for at most ACCOUNT_CACHE_MS in this process, in
 * ACCOUNT_CACHE_SLOTS slots chosen by the name's hash; a write to an
 * account by this process drops its slot.  An account made elsewhere is
 * seen at once (absence is not kept); a change or removal made on
 * another node (or by another process) within ACCOUNT_CACHE_MS (README,
 * "Several nodes").  A transaction (account_tget) always reads the
 * store.  With LMDB alone reads cost nothing and nothing is cached.
 */
#define ACCOUNT_CACHE_MS	1000
#define ACCOUNT_CACHE_SLOTS	32

struct account_slot {
	long long	 at;		/* now_ms() when read */
	int		 found;		/* 0: empty */
	struct account	 a;		/* a.name is the key */
};
static struct account_slot *account_cache;

static struct account_slot *
account_slot(const char *name)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	if (account_cache == NULL)
		account_cache = xcalloc(ACCOUNT_CACHE_SLOTS,
		    sizeof(*account_cache));
	return &account_cache[h % ACCOUNT_CACHE_SLOTS];
}

/* account_uncache - forget NAME (written by this process). */
static void
account_uncache(const char *name)
{
	struct account_slot *sl;

	if (account_cache == NULL)
		return;
	sl = account_slot(name);
	if (strcmp(sl->a.name, name) == 0) {
		OPENSSL_cleanse(sl, sizeof(*sl));
	}
}

static void
account_corrupt(const char *key, size_t klen, const char *why)
{
	char esc[ACCOUNT_NAME_MAX * 4 + 8];

	log_err("account: record '%s' is corrupt: %s",
	    str_escape(esc, sizeof(esc), key, klen), why);
}

int
account_tget(struct store_txn *txn, const char *name, struct account *a)
{
	struct buf b;
	const char *why;
	int r;

	if (!account_name_valid(name, &why))
		return 0;
	buf_init(&b, ACCOUNT_RECORD_MAX);
	r = store_tget(txn, STORE_ACCOUNTS, name, strlen(name), &b, NULL);
	if (r == 1 && record_decode(b.data, b.len, name, strlen(name), a,
	    &why) == -1) {
		account_corrupt(name, strlen(name), why);
		r = -1;
	}
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return r;
}

int
account_tput(struct store_txn *txn, const struct account *a)
{
	struct buf b;
	const char *why;
	int r;

	account_uncache(a->name);

	if (!account_name_valid(a->name, &why)) {
		log_err("account: refusing to store a bad name: %s", why);
		return -1;
	}
	if (!a->apop && a->secret[0])
		log_panic("account: clear secret without the apop flag");
	if (strchr(a->name, '@') != NULL &&
	    strcmp(strchr(a->name, '@') + 1, a->domain) != 0) {
		log_err("account: refusing to store '%s' with domain '%s'",
		    a->name, a->domain);
		return -1;
	}
	buf_init(&b, ACCOUNT_RECORD_MAX);
	if (record_encode(a, &b) == -1) {
		log_err("account: record for '%s' too large", a->name);
		r = -1;
	} else
		r = store_tput(txn, STORE_ACCOUNTS, a->name, strlen(a->name),
		    b.data, b.len, 0);
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return r;
}

int
account_tdel(struct store_txn *txn, const char *name)
{
	const char *why;

	if (!account_name_valid(name, &why))
		return 0;
	account_uncache(name);
	return store_tdel(txn, STORE_ACCOUNTS, name, strlen(name));
}

int
account_get(struct store *s, const char *name, struct account *a)
{
	struct account_slot *sl = NULL;
	struct store_txn *txn;
	long long now = 0;
	int r;

	if (store_shared(s) && strlen(name) <= ACCOUNT_NAME_MAX) {
		now = now_ms();
		sl = account_slot(name);
		if (sl->found && now - sl->at < ACCOUNT_CACHE_MS &&
		    strcmp(sl->a.name, name) == 0) {
			*a = sl->a;
			return 1;
		}
	}
	if (store_txn_begin(s, 1, &txn) == -1)
		return -1;
	r = account_tget(txn, name, a);
	store_txn_abort(&txn);
	if (sl != NULL && r == 1) {
		sl->a = *a;
		sl->found = 1;
		sl->at = now > 0 ? now : 1;
	}
	return r;
}

static int
account_put_fn(struct store_txn *txn, void *ctx)
{
	return account_tput(txn, ctx);
}

int
account_put(struct store *s, const struct account *a)
{
	return store_write(s, account_put_fn, (void *)a) == 0 ? 0 : -1;
}

struct account_del_ctx {
	const char	*name;
	int		 r;
};

static int
account_del_fn(struct store_txn *txn, void *ctx)
{
	struct account_del_ctx *c = ctx;

	c->r = account_tdel(txn, c->name);
	return c->r == -1 ? -1 : 0;
}

int
account_del(struct store *s, const char *name)
{
	struct account_del_ctx c = { name, 0 };

	if (store_write(s, account_del_fn, &c) != 0)
		return -1;
	return c.r;
}

struct account_each_ctx {
	int		(*fn)(void *, const struct account *);
	void		*ctx;
	int		 corrupt;
	struct account	 a;
};

static int
account_each_fn(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct account_each_ctx *c = ctx;
	const char *why;
	int r;

	(void)expires;
	if (record_decode(val, vlen, key, klen, &c->a, &why) == -1) {
		account_corrupt(key, klen, why);
		c->corrupt = 1;
		return 0;
	}
	r = c->fn(c->ctx, &c->a);
	OPENSSL_cleanse(&c->a, sizeof(c->a));
	return r;
}

int
account_each(struct store *s, int (*fn)(void *ctx, const struct account *a),
    void *ctx)
{
	struct account_each_ctx *c;
	struct store_txn *txn;
	int r;

	if (store_txn_begin(s, 1, &txn) == -1)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->fn = fn;
	c->ctx = ctx;
	r = store_titer(txn, STORE_ACCOUNTS, NULL, 0, account_each_fn, c);
	store_txn_abort(&txn);
	if (r == 0 && c->corrupt)
		r = -1;
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	return r;
}

struct account_count_ctx {
	const char	*domain;
	long long	 n;
};

static int
account_count_fn(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct account_count_ctx *c = ctx;
	const char *k = key, *at = memchr(k, '@', klen);
	size_t dlen;

	(void)val;
	(void)vlen;
	(void)expires;
	if (klen == sizeof(ACCOUNT_POSTMASTER) - 1 &&
	    memcmp(k, ACCOUNT_POSTMASTER, klen) == 0)
		return 0;
	if (c->domain == NULL)
		c->n++;
	else if (c->domain[0] == '\0')
		c->n += at == NULL;
	else if (at != NULL) {
		dlen = klen - (size_t)(at + 1 - k);
		c->n += dlen == strlen(c->domain) &&
		    strncasecmp(at + 1, c->domain, dlen) == 0;
	}
	return 0;
}

int
account_tcount(struct store_txn *txn, const char *domain, long long *n)
{
	struct account_count_ctx c = { domain, 0 };

	if (store_titer(txn, STORE_ACCOUNTS, NULL, 0, account_count_fn, &c) != 0)
		return -1;
	*n = c.n;
	return 0;
}

/*
 * Import and export.
 */

/* import_read_line - one line of F into LINE (SIZE); 1 a line, 0 EOF,
 * -1 read error.  *over_r: longer than SIZE - 1; *nul_r: a NUL byte. */
static int
import_read_line(FILE *f, char *line, size_t size, size_t *len_r,
    int *over_r, int *nul_r)
{
	size_t n = 0;
	int c, any = 0;

	*over_r = *nul_r = 0;
	while ((c = getc(f)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (c == '\0')
			*nul_r = 1;
		if (n < size - 1)
			line[n++] = (char)c;
		else
			*over_r = 1;
	}
	line[n] = '\0';
	*len_r = n;
	if (c == EOF && ferror(f))
		return -1;
	return any ? 1 : 0;
}

static int
import_flag(const char *s, int *v)
{
	if (s[0] == '\0' || strcmp(s, "0") == 0)
		*v = 0;
	else if (strcmp(s, "1") == 0)
		*v = 1;
	else
		return -1;
	return 0;
}

/* import_fields - the number of tab-separated fields of LINE. */
static size_t
import_fields(const char *line)
{
	size_t n = 1;

	for (; *line; line++)
		if (*line == '\t')
			n++;
	return n;
}

/* import_line - one non-comment line of 8 fields into A; NULL, or the
 * problem.  *CLEAR_R: A->secret holds a clear password still to hash. */
static const char *
import_line(char *line, struct account *a, int *clear_r)
{
	char *fld[8], *p;
	const char *why;
	size_t i;

	fld[0] = line;
	for (i = 1, p = line; i < 8; i++) {
		p = strchr(p, '\t');
		*p++ = '\0';
		fld[i] = p;
	}
	memset(a, 0, sizeof(*a));
	if (!account_local_valid(fld[0], &why))
		return why;
	memcpy(a->name, fld[0], strlen(fld[0]) + 1);
	if (import_flag(fld[5], &a->smtp_auth) == -1)
		return "SMTP-AUTH flag must be 0, 1 or empty";
	if (import_flag(fld[6], &a->apop) == -1)
		return "APOP flag must be 0, 1 or empty";
	if (fld[1][0] == '\0')
		return "empty password";
	if (strncmp(fld[1], HASH_TAG, strlen(HASH_TAG)) == 0) {
		if (a->apop)
			return "APOP flag needs the clear password, not " HASH_TAG;
		if (!passwd_hash_valid(fld[1] + strlen(HASH_TAG)) &&
		    strcmp(fld[1] + strlen(HASH_TAG), ACCOUNT_HASH_LOCKED) != 0)
			return "bad " HASH_TAG " password hash";
		memcpy(a->hash, fld[1] + strlen(HASH_TAG),
		    strlen(fld[1] + strlen(HASH_TAG)) + 1);
		*clear_r = 0;
	} else {
		if (strlen(fld[1]) > ACCOUNT_PASSWORD_MAX)
			return "password longer than 1024 bytes";
		if (!text_ok(fld[1]))
			return "password must not contain control characters";
		/* hashed later, once the whole file is known to be good */
		memcpy(a->secret, fld[1], strlen(fld[1]) + 1);
		*clear_r = 1;
	}
	if (str_copy(a->fullname, sizeof(a->fullname), fld[2]) == -1)
		return "full name longer than 255 bytes";
	if (!text_ok(fld[2]))
		return "full name must not contain control characters";
	if (!account_domain_valid(fld[3], &why))
		return why;
	memcpy(a->domain, fld[3], strlen(fld[3]) + 1);
	str_lower(a->domain);
	if (str_copy(a->home, sizeof(a->home), fld[4]) == -1)
		return "home folder longer than 1023 bytes";
	if (!text_ok(fld[4]))
		return "home folder must not contain control characters";
	if (fld[7][0] != '\0' && (fld[7][0] == '-' ||
	    parse_ll(fld[7], strlen(fld[7]), 0, &a->quota_size) == -1))
		return "mailbox limit must be a non-negative integer";
	return NULL;
}

/* A small open-addressing set of names, for duplicate detection. */
struct name_set {
	size_t	*slot;		/* index + 1 into the list; 0 = empty */
	size_t	 cap;
};

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* name_set_add - 0 added, or the 1-based index of the earlier entry. */
static size_t
name_set_add(struct name_set *ns, struct account *list, size_t idx)
{
	size_t i, j, *old, oldcap;

	if ((idx + 1) * 2 > ns->cap) {
		old = ns->slot;
		oldcap = ns->cap;
		ns->cap = ns->cap ? ns->cap * 2 : 64;
		ns->slot = xcalloc(ns->cap, sizeof(*ns->slot));
		for (i = 0; i < oldcap; i++) {
			if (old[i] == 0)
				continue;
			j = name_hash(list[old[i] - 1].name) & (ns->cap - 1);
			while (ns->slot[j])
				j = (j + 1) & (ns->cap - 1);
			ns->slot[j] = old[i];
		}
		free(old);
	}
	j = name_hash(list[idx].name) & (ns->cap - 1);
	while (ns->slot[j]) {
		if (strcmp(list[ns->slot[j] - 1].name, list[idx].name) == 0)
			return ns->slot[j];
		j = (j + 1) & (ns->cap - 1);
	}
	ns->slot[j] = idx + 1;
	return 0;
}

static void
import_free(struct account *list, size_t n)
{
	if (list) {
		OPENSSL_cleanse(list, n * sizeof(*list));
		free(list);
	}
}

int
account_import_parse(const char *path, account_id_fn *idfn, void *idctx,
    struct account **list_r, size_t *n_r, struct errlist *errs)
{
	struct account *list = NULL, *a;
	unsigned *lines = NULL;
	unsigned char *clear = NULL;
	struct name_set ns = { NULL, 0 };
	char line[ACCOUNT_IMPORT_LINE_MAX + 1], pw[ACCOUNT_PASSWORD_MAX + 1];
	const char *why;
	size_t n = 0, cap = 0, len, i, dup, nf, before = errlist_count(errs);
	unsigned lineno = 0;
	int r, over, nul, isclear;
	long long now = time_now();
	FILE *f;

	*list_r = NULL;
	*n_r = 0;
	if ((f = fopen(path, "re")) == NULL) {
		errlist_add(errs, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((r = import_read_line(f, line, sizeof(line), &len, &over,
	    &nul)) == 1) {
		lineno++;
		if (over) {
			errlist_add(errs, "%s:%u: line longer than %d bytes",
			    path, lineno, ACCOUNT_IMPORT_LINE_MAX);
			continue;
		}
		if (nul) {
			errlist_add(errs, "%s:%u: NUL byte in line", path,
			    lineno);
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (n == ACCOUNT_IMPORT_MAX) {
			errlist_add(errs, "%s:%u: more than %d accounts", path,
			    lineno, ACCOUNT_IMPORT_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, cap * sizeof(*list));
			lines = xrealloc(lines, cap * sizeof(*lines));
			clear = xrealloc(clear, cap);
		}
		a = &list[n];
		isclear = 0;
		if ((nf = import_fields(line)) != 8) {
			errlist_add(errs, "%s:%u: expected 8 tab-separated "
			    "fields, found %zu", path, lineno, nf);
			continue;
		}
		if ((why = import_line(line, a, &isclear)) != NULL ||
		    (idfn != NULL && idfn(idctx, a, &why) == -1)) {
			errlist_add(errs, "%s:%u: %s", path, lineno, why);
			OPENSSL_cleanse(a, sizeof(*a));
			continue;
		}
		if ((dup = name_set_add(&ns, list, n)) != 0) {
			errlist_add(errs, "%s:%u: duplicate account '%s' "
			    "(first on line %u)", path, lineno, a->name,
			    lines[dup - 1]);
			OPENSSL_cleanse(a, sizeof(*a));
			continue;
		}
		a->created = now;
		lines[n] = lineno;
		clear[n] = (unsigned char)isclear;
		n++;
	}
	if (r == -1)
		errlist_add(errs, "%s:%u: %s", path, lineno + 1,
		    strerror(errno));
	fclose(f);
	OPENSSL_cleanse(line, sizeof(line));
	free(ns.slot);
	/* the expensive part only for a file that is good throughout */
	for (i = 0; i < n && errlist_count(errs) == before; i++) {
		if (!clear[i])
			continue;
		memcpy(pw, list[i].secret, sizeof(pw));
		if (account_set_password(&list[i], pw, &why) == -1)
			errlist_add(errs, "%s:%u: %s", path, lines[i], why);
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	free(lines);
	free(clear);
	if (errlist_count(errs) != before) {
		import_free(list, cap);
		return -1;
	}
	*list_r = list;
	*n_r = n;
	return 0;
}

int
account_export_line(const struct account *a, struct buf *out)
{
	size_t mark = out->len;
	int r;

	if (!text_ok(a->fullname) || !text_ok(a->domain) ||
	    !text_ok(a->home) || !text_ok(a->secret) || !text_ok(a->hash)) {
		log_err("account: '%s' has a control character in a field, "
		    "cannot export it", a->name);
		return -1;
	}
	/* an account name@domain is written as NAME and DOMAIN */
	r = buf_printf(out, "%.*s\t", (int)strcspn(a->name, "@"), a->name);
	if (r == 0 && a->apop && a->secret[0])
		r = buf_printf(out, "%s\t", a->secret);
	else if (r == 0)
		r = buf_printf(out, HASH_TAG "%s\t", a->hash);
	if (r == 0)
		r = buf_printf(out, "%s\t%s\t%s\t%d\t%d\t%lld\n", a->fullname,
		    a->domain, a->home, a->smtp_auth ? 1 : 0, a->apop ? 1 : 0,
		    a->quota_size);
	if (r == -1) {
		/* leave OUT as it was */
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}
