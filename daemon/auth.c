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
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

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
 * The verification cache.  A mail client logs in every few minutes with the
 * same password, and with twenty workers a login rarely lands on a worker
 * that saw that account before: one scrypt per login would be most of the
 * CPU a POP3 session costs, and twenty at once most of the memory.  A
 * successful check is remembered as HMAC-SHA256(key, name NUL stored-hash
 * NUL password) for AUTH_CACHE_TTL seconds in a table every worker shares
 * (auth_shared_setup: anonymous shared memory the master maps before it
 * forks, with a key drawn at start-up, so nothing outlives the process
 * tree).  A changed password (another stored hash) or a different password
 * misses, no entry holds the password, and failures are never cached.
 * Like Dovecot's auth_cache, without the auth process.
 *
 * Entries are written without a lock: a writer claims a slot by moving its
 * sequence number from even to odd (compare-and-swap; a slot being written
 * is skipped), writes, and makes it even again; a reader that sees an odd
 * or changed number treats the slot as a miss.  Where no table was set up
 * (yubinctl, tests) the process keeps a private one.
 */
#define AUTH_CACHE_SLOTS	4096	/* entries, shared */
#define AUTH_CACHE_PROBE	8	/* slots one tag may sit in */
#define AUTH_CACHE_TTL		600	/* seconds a success is trusted */

struct auth_slot {
	unsigned	 seq;		/* odd while written */
	long long	 expires;
	unsigned char	 mac[32];
};

struct auth_table {
	unsigned char	 key[32];
	struct auth_slot slot[AUTH_CACHE_SLOTS];
};

static struct auth_table *auth_table;
static int auth_cached;		/* the last auth_password came from the cache */

int
auth_last_cached(void)
{
	return auth_cached;
}

int
auth_shared_setup(void)
{
	void *p;

	if (auth_table != NULL)
		return 0;
	p = mmap(NULL, sizeof(*auth_table), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	auth_table = p;
	if (RAND_bytes(auth_table->key, sizeof(auth_table->key)) != 1) {
		munmap(p, sizeof(*auth_table));
		auth_table = NULL;
		return -1;
	}
	return 0;
}

/* auth_table_get - the shared table, else a private one.  NULL when no
 * key can be drawn. */
static struct auth_table *
auth_table_get(void)
{
	if (auth_table == NULL && auth_shared_setup() == -1) {
		log_err("auth: no memory or randomness for the login cache");
		return NULL;
	}
	return auth_table;
}

/* auth_cache_mac - the cache tag of (NAME, HASH, PASSWORD) into MAC.
 * 0 or -1. */
static int
auth_cache_mac(const char *name, const char *hash, const char *password,
    unsigned char *mac)
{
	unsigned char buf[ACCOUNT_NAME_MAX + ACCOUNT_HASH_MAX + ACCOUNT_PASSWORD_MAX + 3];
	struct auth_table *t = auth_table_get();
	size_t n = 0, l;
	unsigned int maclen = 32;

	if (t == NULL)
		return -1;
	l = strlen(name) + 1;
	if (l > ACCOUNT_NAME_MAX + 1 || strlen(hash) + 1 > ACCOUNT_HASH_MAX + 1)
		return -1;
	memcpy(buf + n, name, l);
	n += l;
	l = strlen(hash) + 1;
	memcpy(buf + n, hash, l);
	n += l;
	l = strlen(password);
	memcpy(buf + n, password, l);
	n += l;
	if (HMAC(EVP_sha256(), t->key, sizeof(t->key), buf, n, mac,
	    &maclen) == NULL) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* auth_cache_first - the first slot tag MAC may sit in. */
static size_t
auth_cache_first(const unsigned char *mac)
{
	return ((size_t)mac[0] | (size_t)mac[1] << 8 | (size_t)mac[2] << 16) %
	    AUTH_CACHE_SLOTS;
}

static int
auth_cache_hit(const unsigned char *mac)
{
	struct auth_table *t = auth_table_get();
	struct auth_slot copy, *sl;
	long long now = time_now();
	size_t i, at;
	unsigned seq;

	if (t == NULL)
		return 0;
	at = auth_cache_first(mac);
	for (i = 0; i < AUTH_CACHE_PROBE; i++) {
		sl = &t->slot[(at + i) % AUTH_CACHE_SLOTS];
		seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		copy.expires = __atomic_load_n(&sl->expires, __ATOMIC_RELAXED);
		memcpy(copy.mac, sl->mac, sizeof(copy.mac));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&sl->seq, __ATOMIC_RELAXED) != seq)
			continue;	/* written meanwhile: a miss */
		if (copy.expires > now && CRYPTO_memcmp(copy.mac, mac, 32) == 0)
			return 1;
	}
	return 0;
}

static void
auth_cache_put(const unsigned char *mac)
{
	struct auth_table *t = auth_table_get();
	struct auth_slot *sl, *pick = NULL;
	long long now = time_now(), exp;
	size_t i, at;
	unsigned seq;

	if (t == NULL)
		return;
	at = auth_cache_first(mac);
	for (i = 0; i < AUTH_CACHE_PROBE; i++) {
		sl = &t->slot[(at + i) % AUTH_CACHE_SLOTS];
		exp = __atomic_load_n(&sl->expires, __ATOMIC_RELAXED);
		if (exp <= now || CRYPTO_memcmp(sl->mac, mac, 32) == 0) {
			pick = sl;
			break;
		}
		if (pick == NULL || exp < pick->expires)
			pick = sl;
	}
	seq = __atomic_load_n(&pick->seq, __ATOMIC_RELAXED);
	if ((seq & 1) || !__atomic_compare_exchange_n(&pick->seq, &seq, seq + 1,
	    0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;		/* another writer has it: this is only a cache */
	memcpy(pick->mac, mac, 32);
	__atomic_store_n(&pick->expires, now + AUTH_CACHE_TTL, __ATOMIC_RELAXED);
	__atomic_store_n(&pick->seq, seq + 2, __ATOMIC_RELEASE);
}

/*
 * The KDF's memory.  scrypt takes 32 MiB for each check; twenty workers
 * checking at once would hold 640 MiB.  At most one check per CPU runs at a
 * time: each takes a byte-range lock (open file description lock, released
 * by the kernel if the process dies) on one byte of HOME/state/kdf.lock,
 * waiting for one when all are taken; where the file cannot be used, checks
 * are not bounded (logged once).  The buffer goes back to the system after
 * each check: allocations of 1 MiB or more are always mapped on their own
 * (a fixed M_MMAP_THRESHOLD also stops glibc from raising it after the
 * first such free, which would put the next buffer on the heap).
 */
static int auth_kdf_fd = -1;
static int auth_kdf_slots;
static int auth_kdf_held = -1;

static void
auth_kdf_lock(int slot, int cmd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = slot;
	fl.l_len = 1;
	if (fcntl(auth_kdf_fd, cmd, &fl) == 0)
		auth_kdf_held = type == F_UNLCK ? -1 : slot;
}

static void
auth_kdf_begin(const struct config *cfg)
{
	static int warned, tuned;
	char *path;
	int i;

	if (!tuned) {
		(void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
		tuned = 1;
	}
	if (auth_kdf_fd == -1 && cfg != NULL && !warned) {
		path = xasprintf("%s/state/kdf.lock", config_home(cfg));
		auth_kdf_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (auth_kdf_fd == -1) {
			log_warn("auth: %s: %s: password checks are not bounded",
			    path, strerror(errno));
			warned = 1;
		}
		free(path);
		auth_kdf_slots = (int)sysconf(_SC_NPROCESSORS_ONLN);
		if (auth_kdf_slots < 1)
			auth_kdf_slots = 1;
		if (auth_kdf_slots > 64)
			auth_kdf_slots = 64;
	}
	if (auth_kdf_fd == -1)
		return;
	for (i = 0; i < auth_kdf_slots && auth_kdf_held == -1; i++)
		auth_kdf_lock(i, F_OFD_SETLK, F_WRLCK);
	if (auth_kdf_held == -1)	/* all taken: wait for one */
		auth_kdf_lock((int)(getpid() % auth_kdf_slots), F_OFD_SETLKW,
		    F_WRLCK);
}

static void
auth_kdf_end(void)
{
	if (auth_kdf_held != -1)
		auth_kdf_lock(auth_kdf_held, F_OFD_SETLK, F_UNLCK);
	auth_kdf_held = -1;
}

int
auth_check_hash(const struct config *cfg, const char *name, const char *hash,
    const char *password)
{
	unsigned char mac[32];
	int cacheable, r;

	auth_cached = 0;
	if (strlen(password) > ACCOUNT_PASSWORD_MAX)
		return 0;
	cacheable = auth_cache_mac(name, hash, password, mac) == 0;
	if (cacheable && auth_cache_hit(mac)) {
		OPENSSL_cleanse(mac, sizeof(mac));
		auth_cached = 1;
		return 1;
	}
	auth_kdf_begin(cfg);
	r = passwd_verify(hash, password);
	auth_kdf_end();
	if (r == 1 && cacheable)
		auth_cache_put(mac);
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

int
auth_password(const struct config *cfg, struct store *s, const char *login,
    const char *password, struct account *a)
{
	struct account *tmp;
	int r;

	auth_cached = 0;
	if (password[0] == '\0' || strlen(password) > ACCOUNT_PASSWORD_MAX)
		return 0;
	tmp = xmalloc(sizeof(*tmp));
	r = auth_lookup(cfg, s, login, tmp);
	if (r == 1) {
		if (account_locked(tmp)) {
			/* no password yet: a failed login, as slow as one */
			auth_kdf_begin(cfg);
			auth_burn_kdf(password);
			auth_kdf_end();
			r = 0;
		} else {
			r = auth_check_hash(cfg, tmp->name, tmp->hash, password);
			if (r == -1) {
				log_err("auth: account %s: stored hash is "
				    "malformed", tmp->name);
				r = 0;
			}
		}
	} else if (r == 0) {
		auth_kdf_begin(cfg);
		auth_burn_kdf(password);
		auth_kdf_end();
	}
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

	auth_cached = 0;
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

	auth_cached = 0;
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
