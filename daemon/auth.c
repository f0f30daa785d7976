/*
 * auth.c - credential checks for SMTP AUTH and POP3; see auth.h.
 *
 * A login names an account either bare ("alice") or with a local domain
 * ("alice@example.org", the domain one of server.domain, server.alias or
 * smtp.subhost, compared without regard to case).  With per-domain
 * mailboxes the domain picks the account (addr_account_find): alice@d1 and
 * alice@d2 are two accounts with two passwords, and a domain the account
 * does not belong to finds nothing.  Passwords are checked
 * against the account's salted hash (account_verify); APOP and CRAM-MD5 need
 * the clear secret that only accounts created with --apop keep.
 *
 * Never: tell a caller, by answer or by timing, whether an account exists (a
 * login for no account still pays one KDF run against a dummy hash); compare
 * secrets or digests with memcmp/strcmp; log a password; keep a secret in
 * memory longer than the call (copies are cleansed).
 *
 * Runs in SMTP and POP3 workers, as server.user.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "hours.h"
#include "log.h"
#include "paths.h"
#include "store.h"
#include "util.h"

#define AUTH_LOGIN_MAX		(ACCOUNT_NAME_MAX + 1 + 255)	/* name@domain, domain per RFC 1035 */
#define AUTH_MD5_HEX		32

/*
 * auth_split - LOGIN as a lower-cased plain account name in LOCAL
 * (ACCOUNT_NAME_MAX + 1) and its domain in DOMAIN (AUTH_LOGIN_MAX + 1; ""
 * for a bare name).  1, or 0 when it cannot be an account: a domain that
 * is not local, a bad name.
 */
static int
auth_split(const struct config *cfg, const char *login, char *local,
    char *domain)
{
	char tmp[AUTH_LOGIN_MAX + 1];
	const char *why;
	char *at;

	local[0] = domain[0] = '\0';
	if (str_copy(tmp, sizeof(tmp), login) == -1)
		return 0;
	if ((at = strrchr(tmp, '@')) != NULL) {
		*at = '\0';
		if (at[1] == '\0' || !addr_domain_is_local(cfg, at + 1))
			return 0;
		memcpy(domain, at + 1, strlen(at + 1) + 1);
	}
	if (strlen(tmp) > ACCOUNT_NAME_MAX)
		return 0;
	str_lower(tmp);
	if (!account_local_valid(tmp, &why))
		return 0;
	memcpy(local, tmp, strlen(tmp) + 1);
	return 1;
}

int
auth_account_name(const struct config *cfg, const char *login, char *out)
{
	char local[ACCOUNT_NAME_MAX + 1], domain[AUTH_LOGIN_MAX + 1];
	const char *why;

	out[0] = '\0';
	if (!auth_split(cfg, login, local, domain))
		return 0;
	return addr_account_id(cfg, local, domain, out, &why) == 0;
}

/*
 * auth_burn_kdf - spend the time a real password check costs, so that a
 * login for no account answers as slowly as a wrong password.  The dummy hash
 * is made once per process (a cache, not state).
 */
static void
auth_burn_kdf(const char *password)
{
	static char dummy[ACCOUNT_HASH_MAX];

	if (dummy[0] == '\0' && passwd_hash("yubin-dummy-password", dummy,
	    sizeof(dummy)) == -1) {
		dummy[0] = '\0';
		return;
	}
	(void)passwd_verify(dummy, password);
}

/* auth_lookup - resolve LOGIN and read its account into *A.  1/0/-1. */
static int
auth_lookup(const struct config *cfg, struct store *s, const char *login,
    struct account *a)
{
	char local[ACCOUNT_NAME_MAX + 1], domain[AUTH_LOGIN_MAX + 1];

	if (!auth_split(cfg, login, local, domain))
		return 0;
	/* a bare name is the account of that name, in either mode */
	return addr_account_find(cfg, s, local, domain[0] ? domain : NULL, a);
}

/*
 * The verification cache.  A worker serves many sessions, and a mail client
 * logs in every few minutes with the same password: one scrypt per login
 * would be most of the CPU a POP3 session costs.  A successful check is
 * remembered as HMAC-SHA256(per-process random key, name NUL stored-hash NUL
 * password) for AUTH_CACHE_TTL seconds; a changed password (another stored
 * hash) or a different password misses, and the entry never holds the
 * password itself.  Like Dovecot's auth_cache; failures are never cached.
 */
#define AUTH_CACHE_SIZE	64	/* entries per worker process */
#define AUTH_CACHE_TTL	600	/* seconds a success is trusted */

static struct {
	unsigned char	 mac[32];
	long long	 expires;
} auth_cache[AUTH_CACHE_SIZE];
static unsigned char auth_cache_key[32];
static int auth_cache_ready;

/* auth_cache_mac - the cache tag of (A, PASSWORD) into MAC.  0 or -1. */
static int
auth_cache_mac(const struct account *a, const char *password, unsigned char *mac)
{
	unsigned char buf[ACCOUNT_NAME_MAX + ACCOUNT_HASH_MAX + ACCOUNT_PASSWORD_MAX + 3];
	size_t n = 0, l;
	unsigned int maclen = 32;

	if (!auth_cache_ready) {
		if (RAND_bytes(auth_cache_key, sizeof(auth_cache_key)) != 1)
			return -1;
		auth_cache_ready = 1;
	}
	l = strlen(a->name) + 1;
	memcpy(buf + n, a->name, l);
	n += l;
	l = strlen(a->hash) + 1;
	memcpy(buf + n, a->hash, l);
	n += l;
	l = strlen(password);
	memcpy(buf + n, password, l);
	n += l;
	if (HMAC(EVP_sha256(), auth_cache_key, sizeof(auth_cache_key), buf, n,
	    mac, &maclen) == NULL) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static int
auth_cache_hit(const unsigned char *mac)
{
	long long now = time_now();
	size_t i;

	for (i = 0; i < AUTH_CACHE_SIZE; i++)
		if (auth_cache[i].expires > now &&
		    CRYPTO_memcmp(auth_cache[i].mac, mac, 32) == 0)
			return 1;
	return 0;
}

static void
auth_cache_put(const unsigned char *mac)
{
	long long now = time_now();
	size_t i, oldest = 0;

	for (i = 0; i < AUTH_CACHE_SIZE; i++) {
		if (auth_cache[i].expires <= now) {
			oldest = i;
			break;
		}
		if (auth_cache[i].expires < auth_cache[oldest].expires)
			oldest = i;
	}
	memcpy(auth_cache[oldest].mac, mac, 32);
	auth_cache[oldest].expires = now + AUTH_CACHE_TTL;
}

int
auth_password(const struct config *cfg, struct store *s, const char *login,
    const char *password, struct account *a)
{
	unsigned char mac[32];
	int cacheable = 0;
	struct account *tmp;
	int r;

	if (password[0] == '\0' || strlen(password) > ACCOUNT_PASSWORD_MAX)
		return 0;
	tmp = xmalloc(sizeof(*tmp));
	r = auth_lookup(cfg, s, login, tmp);
	if (r == 1) {
		cacheable = auth_cache_mac(tmp, password, mac) == 0;
		if (account_locked(tmp)) {
			/* no password yet: a failed login, as slow as one */
			auth_burn_kdf(password);
			malloc_trim(0);
			r = 0;
		} else if (cacheable && auth_cache_hit(mac))
			r = 1;
		else {
			r = account_verify(tmp, password);
			if (r == -1) {
				log_err("auth: account %s: stored hash is "
				    "malformed", tmp->name);
				r = 0;
			}
			if (r == 1 && cacheable)
				auth_cache_put(mac);
			/* scrypt's 32 MiB buffer: give it back to the system */
			malloc_trim(0);
		}
	} else if (r == 0) {
		auth_burn_kdf(password);
		malloc_trim(0);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	if (r == 1)
		*a = *tmp;
	OPENSSL_cleanse(tmp, sizeof(*tmp));
	free(tmp);
	return r;
}

/* auth_hex_lower - lower-case hex of LEN bytes into OUT (2*LEN+1). */
static void
auth_hex_lower(const unsigned char *p, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * len] = '\0';
}

/* auth_digest_match - 1 when the client's hex DIGEST (any case, exactly 32
 * digits) equals the lower-case WANT; constant time in the digits. */
static int
auth_digest_match(const char *digest, const char *want)
{
	char got[AUTH_MD5_HEX + 1];
	size_t i;

	for (i = 0; i < AUTH_MD5_HEX; i++) {
		char ch = digest[i];

		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return 0;	/* also stops at the NUL of a short one */
		got[i] = ch;
	}
	if (digest[AUTH_MD5_HEX] != '\0')
		return 0;
	got[AUTH_MD5_HEX] = '\0';
	return CRYPTO_memcmp(got, want, AUTH_MD5_HEX) == 0;
}

int
auth_apop(const struct config *cfg, struct store *s, const char *login,
    const char *timestamp, const char *digest_hex, struct account *a)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char want[AUTH_MD5_HEX + 1];
	unsigned int mdlen = 0;
	struct account *tmp;
	EVP_MD_CTX *ctx;
	int r;

	tmp = xmalloc(sizeof(*tmp));
	r = auth_lookup(cfg, s, login, tmp);
	if (r == 1 && (!tmp->apop || tmp->secret[0] == '\0'))
		r = 0;
	if (r == 1) {
		if ((ctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, timestamp, strlen(timestamp)) != 1 ||
		    EVP_DigestUpdate(ctx, tmp->secret, strlen(tmp->secret)) != 1 ||
		    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 16) {
			log_err("auth: MD5 unavailable");
			r = -1;
		}
		EVP_MD_CTX_free(ctx);
	}
	if (r == 1) {
		auth_hex_lower(md, 16, want);
		r = auth_digest_match(digest_hex, want);
	}
	if (r == 1)
		*a = *tmp;
	OPENSSL_cleanse(tmp, sizeof(*tmp));
	OPENSSL_cleanse(md, sizeof(md));
	free(tmp);
	return r;
}

int
auth_cram_md5(const struct config *cfg, struct store *s,
    const char *challenge, const char *response, struct account *a)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char login[AUTH_LOGIN_MAX + 1];
	char want[AUTH_MD5_HEX + 1];
	unsigned int mdlen = 0;
	struct account *tmp;
	const char *sp;
	int r;

	/* "login hexdigest": the login may hold spaces, the digest not */
	if ((sp = strrchr(response, ' ')) == NULL || sp == response ||
	    (size_t)(sp - response) > AUTH_LOGIN_MAX)
		return 0;
	memcpy(login, response, (size_t)(sp - response));
	login[sp - response] = '\0';
	tmp = xmalloc(sizeof(*tmp));
	r = auth_lookup(cfg, s, login, tmp);
	if (r == 1 && (!tmp->apop || tmp->secret[0] == '\0'))
		r = 0;
	if (r == 1 && HMAC(EVP_md5(), tmp->secret, (int)strlen(tmp->secret),
	    (const unsigned char *)challenge, strlen(challenge), md,
	    &mdlen) == NULL) {
		log_err("auth: HMAC-MD5 unavailable");
		r = -1;
	}
	if (r == 1 && mdlen != 16)
		r = -1;
	if (r == 1) {
		auth_hex_lower(md, 16, want);
		r = auth_digest_match(sp + 1, want);
	}
	if (r == 1)
		*a = *tmp;
	OPENSSL_cleanse(tmp, sizeof(*tmp));
	OPENSSL_cleanse(md, sizeof(md));
	free(tmp);
	return r;
}

int
auth_plain_decode(char *raw, size_t len, char **authz_r, char **authc_r,
    char **pass_r)
{
	char *nul1, *nul2;

	if (len == 0)
		return -1;
	if ((nul1 = memchr(raw, '\0', len)) == NULL)
		return -1;
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - raw));
	if (nul2 == NULL)
		return -1;
	/* no third NUL; authcid and passwd are 1*SAFE (RFC 4616) */
	if (memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - raw)) != NULL ||
	    nul2 == nul1 + 1 || nul2 + 1 == raw + len)
		return -1;
	raw[len] = '\0';	/* RAW holds LEN + 1 bytes (see auth.h) */
	*authz_r = raw;
	*authc_r = nul1 + 1;
	*pass_r = nul2 + 1;
	return 0;
}

struct auth_login_rec {
	const char	*name;
	const char	*ip;
	char		 val[64];
	size_t		 vlen;
	long long	 expires;
};

static int
auth_record_fn(struct store_txn *txn, void *ctx)
{
	struct auth_login_rec *r = ctx;
	char key[128];
	int klen;

	klen = snprintf(key, sizeof(key), "login/%s", r->name);
	if (klen < 0 || (size_t)klen >= sizeof(key) ||
	    store_tput(txn, STORE_META, key, (size_t)klen, r->val, r->vlen,
	    0) == -1)
		return -1;
	klen = snprintf(key, sizeof(key), "popip/%s", r->ip);
	if (klen < 0 || (size_t)klen >= sizeof(key) ||
	    store_tput(txn, STORE_META, key, (size_t)klen, r->name,
	    strlen(r->name), r->expires) == -1)
		return -1;
	return 0;
}

int
auth_record_login(const struct config *cfg, struct store *s,
    const char *name, const char *ip)
{
	struct auth_login_rec r;
	long long now = time_now(), ttl;
	int n;

	ttl = config_int(cfg, "smtp.pop_befor_smtp_time_to_live");
	r.name = name;
	r.ip = ip;
	r.expires = now + (ttl > 0 ? ttl : 0);
	n = snprintf(r.val, sizeof(r.val), "%lld,%s", now, ip);
	if (n < 0 || (size_t)n >= sizeof(r.val)) {
		errno = EINVAL;
		return -1;
	}
	r.vlen = (size_t)n;
	return store_write(s, auth_record_fn, &r) == 0 ? 0 : -1;
}

struct config *
auth_account_cfg(const struct config *cfg, const char *name)
{
	struct config *acfg = NULL;
	struct errlist errs;
	char *dir, *path;
	size_t i;

	dir = paths_account_dir(cfg, name);
	path = xasprintf("%s/config.def", dir);
	free(dir);
	errlist_init(&errs);
	/* none, or unusable: the server's values, as the plugins take them */
	if (config_account_file(cfg, path, &acfg, &errs) == -1)
		for (i = 0; i < errs.n; i++)
			log_warn("%s", errs.msg[i]);
	errlist_free(&errs);
	free(path);
	return acfg;
}

int
auth_hours_allow(const struct config *acfg, long long now, char *why,
    size_t whysize)
{
	const char *text = config_str(acfg, "server.usage_hours");
	struct hours h;
	struct tm tm;
	time_t t = (time_t)now;

	if (text[0] == '\0')
		return 1;
	if (hours_parse(text, &h, why, whysize) == -1 ||
	    localtime_r(&t, &tm) == NULL) {
		/* checked when the file was read: cannot happen */
		snprintf(why, whysize, "usage_hours unusable");
		return 0;
	}
	if (hours_allow(&h, &tm))
		return 1;
	snprintf(why, whysize, "usage hours are %s", text);
	return 0;
}

/* rcpt_match - ADDR against one allowed_recipients PATTERN: a pattern
 * with '@' matches the whole address, one without its domain. */
static int
rcpt_match(const char *pattern, const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (strchr(pattern, '@') != NULL)
		return fnmatch(pattern, addr, FNM_CASEFOLD) == 0;
	return at != NULL && fnmatch(pattern, at + 1, FNM_CASEFOLD) == 0;
}

int
auth_rcpt_allow(const struct config *acfg, const char *addr)
{
	const struct cfg_list *l = config_list(acfg, "smtp.allowed_recipients");
	size_t i;

	if (l->n == 0)
		return 1;
	for (i = 0; i < l->n; i++)
		if (rcpt_match(l->v[i], addr))
			return 1;
	return 0;
}
