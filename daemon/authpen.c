/*
 * authpen.c - the login penalty shared by SMTP AUTH and POP3; see
 * authpen.h.  Dovecot's auth penalty is the anchor (2 s, doubling, 15 s
 * cap, forgotten after a quiet hour, a repeated wrong password does not
 * escalate); the state is in LMDB rather than in one anvil process, so
 * every worker of both pools sees it and a restart keeps it.
 *
 * Records, in STORE_META, one fixed AUTHPEN_REC_LEN value each:
 *   "authpen/ip/KEY"     the client address (authpen_ip_key): an IPv4
 *                        address, or an IPv6 /64 (one LAN; a guesser gets
 *                        a whole /64 as easily as one address, and a /48
 *                        would lump unrelated customers of one provider);
 *                        "local" for the local socket (one client).
 *   "authpen/acct/NAME"  the account the login names, whether or not it
 *                        exists (its absence must not show).
 *   "authpen/key"        the random HMAC key of the tags (made once).
 * A record holds the failure count, the time of the last failure, the tag
 * of the account that failed last (address records) and the tags of the
 * last AUTHPEN_TAGS wrong (login, secret) pairs.  A record whose last
 * failure is AUTHPEN forget seconds old reads as absent (LMDB's expiry
 * drops it at the same time).
 *
 * Who is slowed (README "Choices"):
 * - The answer to a failed login waits the larger of the address's and
 *   the account's penalty, counted after this failure.
 * - The answer to a correct login waits the address's penalty (so a
 *   guesser's hit is not faster than his misses), never the account's:
 *   a guesser can slow the failed answers for alice from anywhere, but
 *   not alice's correct login from an address he does not share.
 * - A wrong pair among the last AUTHPEN_TAGS of a record does not
 *   escalate it (a client retrying a stale saved password is no guesser),
 *   but its answer still waits the penalty.  APOP and CRAM-MD5 send a
 *   digest over a fresh challenge, which cannot be recognised: each of
 *   their failures escalates.
 * - A correct login forgives its address when the address's last failure
 *   was for the same account (the user mistyped, then got it right); a
 *   correct login to another account (the guesser's own) forgives
 *   nothing.  The account record is never cleared by a success: it only
 *   slows failures, and clearing it would restart a guesser at 2 s.
 * Bounds: one delay is at most smtp.auth_penalty_max (60 s at most); a
 * session ends after smtp.auth_max_failures failures (3 by default, 100
 * at most), so a guessing session holds its worker for at most that many
 * delays (45 s by default, less than smtp.timeout_command an idle client
 * may take anyway).
 *
 * Never: keep, log or compare a secret itself (only its tag, HMAC-SHA256
 * under the stored key cut to 8 bytes); hold a transaction while the
 * caller sleeps; let a store error shorten a failed answer (it waits the
 * cap).
 *
 * Runs in SMTP and POP3 workers as server.user.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"
#include "authpen.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define AUTHPEN_TAGS		3	/* wrong pairs remembered per record (Dovecot's count) */
#define AUTHPEN_COUNT_MAX	1000	/* failures counted; the delay is capped long before */
#define AUTHPEN_HMAC_KEY_LEN	32
#define AUTHPEN_REC_LEN		(3 * STORE_COUNTER_SIZE + AUTHPEN_TAGS * AUTHPEN_TAG_LEN)
#define AUTHPEN_DBKEY_MAX	(16 + AUTHPEN_KEY_MAX + ACCOUNT_NAME_MAX)

static const char authpen_keyname[] = "authpen/key";

struct authpen_rec {
	long long	 count;
	long long	 last;		/* unix seconds of the last failure */
	unsigned char	 acct[AUTHPEN_TAG_LEN];	/* account of the last failure */
	unsigned char	 tags[AUTHPEN_TAGS][AUTHPEN_TAG_LEN];
};

static unsigned char authpen_hkey[AUTHPEN_HMAC_KEY_LEN];
static int authpen_hkey_ready;

void
authpen_conf_load(const struct config *cfg, struct authpen_conf *pc)
{
	pc->base = config_int(cfg, "smtp.auth_penalty_base");
	pc->cap = config_int(cfg, "smtp.auth_penalty_max");
	pc->forget = config_int(cfg, "smtp.auth_penalty_forget");
}

int
authpen_ip_key(const char *ip, char *out, size_t size)
{
	unsigned char a6[16];
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];
	int n;

	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		if (inet_ntop(AF_INET, &a4, text, sizeof(text)) == NULL)
			return -1;
		n = snprintf(out, size, "ip4/%s", text);
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		static const unsigned char mapped[12] =
		    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			memcpy(&a4, a6 + 12, 4);
			if (inet_ntop(AF_INET, &a4, text, sizeof(text)) == NULL)
				return -1;
			n = snprintf(out, size, "ip4/%s", text);
		} else {
			memset(a6 + 8, 0, 8);	/* the /64 */
			if (inet_ntop(AF_INET6, a6, text, sizeof(text)) == NULL)
				return -1;
			n = snprintf(out, size, "ip6/%s/64", text);
		}
	} else
		return -1;
	if (n < 0 || (size_t)n >= size)
		return -1;
	return 0;
}

long long
authpen_delay(const struct authpen_conf *pc, long long count)
{
	long long d;

	if (pc->base <= 0 || count <= 0)
		return 0;
	d = pc->base;
	while (--count > 0 && d < pc->cap)
		d *= 2;		/* base and cap are at most a minute: no overflow */
	return d < pc->cap ? d : pc->cap;
}

/* authpen_key_fn - read the HMAC key, or make and store it. */
static int
authpen_key_fn(struct store_txn *txn, void *ctx)
{
	unsigned char *key = ctx;
	struct buf b;
	int r;

	buf_init(&b, 0);
	r = store_tget(txn, STORE_META, authpen_keyname,
	    sizeof(authpen_keyname) - 1, &b, NULL);
	if (r == 1 && b.len == AUTHPEN_HMAC_KEY_LEN) {
		memcpy(key, b.data, AUTHPEN_HMAC_KEY_LEN);
		OPENSSL_cleanse(b.data, b.len);
		buf_free(&b);
		return 0;
	}
	buf_free(&b);
	if (r == -1 || RAND_bytes(key, AUTHPEN_HMAC_KEY_LEN) != 1)
		return -1;
	return store_tput(txn, STORE_META, authpen_keyname,
	    sizeof(authpen_keyname) - 1, key, AUTHPEN_HMAC_KEY_LEN, 0);
}

/* authpen_key - the HMAC key, fetched once per process.  0 or -1. */
static int
authpen_key(struct store *s)
{
	struct buf b;
	int r;

	if (authpen_hkey_ready)
		return 0;
	buf_init(&b, 0);
	r = store_get(s, STORE_META, authpen_keyname,
	    sizeof(authpen_keyname) - 1, &b);
	if (r == 1 && b.len == AUTHPEN_HMAC_KEY_LEN)
		memcpy(authpen_hkey, b.data, AUTHPEN_HMAC_KEY_LEN);
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	if (r != 1 && store_write(s, authpen_key_fn, authpen_hkey) == -1) {
		log_err("auth penalty: cannot read or make the tag key");
		return -1;
	}
	authpen_hkey_ready = 1;
	return 0;
}

/* authpen_mac - HMAC of DOMAIN NUL A NUL B (B: LEN bytes) cut into TAG. */
static int
authpen_mac(char domain, const char *a, const void *b, size_t len,
    unsigned char tag[AUTHPEN_TAG_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE], *msg;
	unsigned int mdlen = 0;
	size_t alen = strlen(a), n;
	int ok;

	n = 2 + alen + 1 + len;
	msg = xmalloc(n);
	msg[0] = (unsigned char)domain;
	msg[1] = '\0';
	memcpy(msg + 2, a, alen + 1);
	if (len > 0)
		memcpy(msg + 2 + alen + 1, b, len);
	ok = HMAC(EVP_sha256(), authpen_hkey, AUTHPEN_HMAC_KEY_LEN, msg, n, md,
	    &mdlen) != NULL && mdlen >= AUTHPEN_TAG_LEN;
	OPENSSL_cleanse(msg, n);
	free(msg);
	if (ok)
		memcpy(tag, md, AUTHPEN_TAG_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return ok ? 0 : -1;
}

int
authpen_tag(struct store *s, const char *login, const void *secret,
    size_t len, unsigned char tag[AUTHPEN_TAG_LEN])
{
	if (authpen_key(s) == -1)
		return -1;
	return authpen_mac('p', login, secret, len, tag);
}

/* authpen_acct_tag - the tag of ACCOUNT kept in address records. */
static int
authpen_acct_tag(struct store *s, const char *account,
    unsigned char tag[AUTHPEN_TAG_LEN])
{
	if (authpen_key(s) == -1)
		return -1;
	return authpen_mac('a', account, "", 0, tag);
}

static void
authpen_rec_encode(const struct authpen_rec *r, unsigned char *p)
{
	store_counter_encode(p, r->count);
	store_counter_encode(p + STORE_COUNTER_SIZE, r->last);
	memcpy(p + 2 * STORE_COUNTER_SIZE, r->acct, AUTHPEN_TAG_LEN);
	memcpy(p + 3 * STORE_COUNTER_SIZE, r->tags, sizeof(r->tags));
}

/* authpen_rec_get - the record KEY as of NOW into *R (zero when absent,
 * forgotten or not a record).  0 or -1. */
static int
authpen_rec_get(struct store_txn *txn, const struct authpen_conf *pc,
    const char *key, long long now, struct authpen_rec *r)
{
	struct buf b;
	const unsigned char *p;
	int got;

	memset(r, 0, sizeof(*r));
	buf_init(&b, 0);
	got = store_tget(txn, STORE_META, key, strlen(key), &b, NULL);
	if (got == 1 && b.len == AUTHPEN_REC_LEN) {
		p = (const unsigned char *)b.data;
		(void)store_counter_decode(p, STORE_COUNTER_SIZE, &r->count);
		(void)store_counter_decode(p + STORE_COUNTER_SIZE,
		    STORE_COUNTER_SIZE, &r->last);
		memcpy(r->acct, p + 2 * STORE_COUNTER_SIZE, AUTHPEN_TAG_LEN);
		memcpy(r->tags, p + 3 * STORE_COUNTER_SIZE, sizeof(r->tags));
		/* quiet long enough, a clock set back, or garbage: forgotten */
		if (r->count < 0 || r->count > AUTHPEN_COUNT_MAX ||
		    now - r->last >= pc->forget || r->last > now + pc->forget)
			memset(r, 0, sizeof(*r));
	}
	buf_free(&b);
	return got == -1 ? -1 : 0;
}

/* authpen_rec_fail - add a failure with TAG (and account tag ACCT, NULL
 * for an account record) to the record KEY.  *REPEAT_R set when TAG was
 * known.  0 or -1. */
static int
authpen_rec_fail(struct store_txn *txn, const struct authpen_conf *pc,
    const char *key, const unsigned char *tag, const unsigned char *acct,
    long long now, long long *count_r, int *repeat_r)
{
	unsigned char val[AUTHPEN_REC_LEN];
	struct authpen_rec r;
	int i, known = 0;

	if (authpen_rec_get(txn, pc, key, now, &r) == -1)
		return -1;
	for (i = 0; i < AUTHPEN_TAGS && r.count > 0; i++)
		if (CRYPTO_memcmp(r.tags[i], tag, AUTHPEN_TAG_LEN) == 0)
			known = 1;
	if (!known) {
		if (r.count < AUTHPEN_COUNT_MAX)
			r.count++;
		memmove(r.tags[1], r.tags[0], (AUTHPEN_TAGS - 1) * AUTHPEN_TAG_LEN);
		memcpy(r.tags[0], tag, AUTHPEN_TAG_LEN);
	}
	if (acct != NULL)
		memcpy(r.acct, acct, AUTHPEN_TAG_LEN);
	r.last = now;
	*count_r = r.count;
	*repeat_r |= known;
	authpen_rec_encode(&r, val);
	return store_tput(txn, STORE_META, key, strlen(key), val, sizeof(val),
	    now + pc->forget);
}

struct authpen_job {
	const struct authpen_conf *pc;
	const char	*ipkey;		/* record key, or NULL */
	const char	*acctkey;	/* record key, or NULL */
	const unsigned char *tag;
	const unsigned char *acct;	/* account tag, or NULL */
	long long	 now;
	struct authpen_state *st;
};

static int
authpen_fail_fn(struct store_txn *txn, void *ctx)
{
	struct authpen_job *j = ctx;

	/* store_write may run this again: start from nothing each time */
	j->st->ip_count = j->st->acct_count = 0;
	j->st->repeat = 0;
	if (j->ipkey != NULL && authpen_rec_fail(txn, j->pc, j->ipkey, j->tag,
	    j->acct, j->now, &j->st->ip_count, &j->st->repeat) == -1)
		return -1;
	if (j->acctkey != NULL && authpen_rec_fail(txn, j->pc, j->acctkey,
	    j->tag, NULL, j->now, &j->st->acct_count, &j->st->repeat) == -1)
		return -1;
	return 0;
}

/* authpen_keys - the record keys of IP and ACCOUNT (each "" when none). */
static void
authpen_keys(const char *ip, const char *account, char *ipkey,
    char *acctkey)
{
	char k[AUTHPEN_KEY_MAX];
	int n;

	ipkey[0] = acctkey[0] = '\0';
	if (authpen_ip_key(ip, k, sizeof(k)) == 0) {
		n = snprintf(ipkey, AUTHPEN_DBKEY_MAX, "authpen/ip/%s", k);
		if (n < 0 || n >= AUTHPEN_DBKEY_MAX)
			ipkey[0] = '\0';
	} else if (ip != NULL && ip[0] != '\0')
		/* the local socket: every local client is one client */
		(void)snprintf(ipkey, AUTHPEN_DBKEY_MAX, "authpen/ip/local");
	if (account != NULL && account[0] != '\0') {
		n = snprintf(acctkey, AUTHPEN_DBKEY_MAX, "authpen/acct/%s", account);
		if (n < 0 || n >= AUTHPEN_DBKEY_MAX)
			acctkey[0] = '\0';
	}
}

int
authpen_fail(struct store *s, const struct authpen_conf *pc, const char *ip,
    const char *account, const unsigned char tag[AUTHPEN_TAG_LEN],
    long long now, struct authpen_state *st)
{
	char ipkey[AUTHPEN_DBKEY_MAX], acctkey[AUTHPEN_DBKEY_MAX];
	unsigned char acct[AUTHPEN_TAG_LEN];
	struct authpen_job j;
	long long d1, d2;

	memset(st, 0, sizeof(*st));
	if (pc->base <= 0)
		return 0;
	authpen_keys(ip, account, ipkey, acctkey);
	memset(acct, 0, sizeof(acct));
	if (account != NULL && authpen_acct_tag(s, account, acct) == -1) {
		st->delay = pc->cap;
		return -1;
	}
	j.pc = pc;
	j.ipkey = ipkey[0] ? ipkey : NULL;
	j.acctkey = acctkey[0] ? acctkey : NULL;
	j.tag = tag;
	j.acct = acct;
	j.now = now;
	j.st = st;
	if (store_write(s, authpen_fail_fn, &j) != 0) {
		memset(st, 0, sizeof(*st));
		st->delay = pc->cap;
		return -1;
	}
	d1 = authpen_delay(pc, st->ip_count);
	d2 = authpen_delay(pc, st->acct_count);
	st->delay = d1 > d2 ? d1 : d2;
	return 0;
}

/* authpen_read - both records of IP and ACCOUNT into *IR and *AR. */
static int
authpen_read(struct store *s, const struct authpen_conf *pc, const char *ipkey,
    const char *acctkey, long long now, struct authpen_rec *ir,
    struct authpen_rec *ar)
{
	struct store_txn *txn;
	int r = 0;

	memset(ir, 0, sizeof(*ir));
	memset(ar, 0, sizeof(*ar));
	if (store_txn_begin(s, 1, &txn) == -1)
		return -1;
	if (ipkey[0] && authpen_rec_get(txn, pc, ipkey, now, ir) == -1)
		r = -1;
	if (acctkey[0] && authpen_rec_get(txn, pc, acctkey, now, ar) == -1)
		r = -1;
	store_txn_abort(&txn);
	return r;
}

int
authpen_peek(struct store *s, const struct authpen_conf *pc, const char *ip,
    const char *account, long long now, struct authpen_state *st)
{
	char ipkey[AUTHPEN_DBKEY_MAX], acctkey[AUTHPEN_DBKEY_MAX];
	struct authpen_rec ir, ar;
	long long d1, d2;

	memset(st, 0, sizeof(*st));
	if (pc->base <= 0)
		return 0;
	authpen_keys(ip, account, ipkey, acctkey);
	if (authpen_read(s, pc, ipkey, acctkey, now, &ir, &ar) == -1)
		return -1;
	st->ip_count = ir.count;
	st->acct_count = ar.count;
	d1 = authpen_delay(pc, ir.count);
	d2 = authpen_delay(pc, ar.count);
	st->delay = d1 > d2 ? d1 : d2;
	return 0;
}

struct authpen_forgive {
	const char	*ipkey;
	const struct authpen_conf *pc;
	const unsigned char *acct;
	long long	 now;
	int		 done;
};

/* authpen_forgive_fn - drop the address record if its last failure is
 * still the account's (another process may have changed it). */
static int
authpen_forgive_fn(struct store_txn *txn, void *ctx)
{
	struct authpen_forgive *f = ctx;
	struct authpen_rec r;

	f->done = 0;
	if (authpen_rec_get(txn, f->pc, f->ipkey, f->now, &r) == -1)
		return -1;
	if (r.count == 0 || CRYPTO_memcmp(r.acct, f->acct, AUTHPEN_TAG_LEN) != 0)
		return 0;
	if (store_tdel(txn, STORE_META, f->ipkey, strlen(f->ipkey)) == -1)
		return -1;
	f->done = 1;
	return 0;
}

int
authpen_ok(struct store *s, const struct authpen_conf *pc, const char *ip,
    const char *account, long long now, struct authpen_state *st)
{
	char ipkey[AUTHPEN_DBKEY_MAX], acctkey[AUTHPEN_DBKEY_MAX];
	unsigned char acct[AUTHPEN_TAG_LEN];
	struct authpen_rec ir, ar;
	struct authpen_forgive f;

	memset(st, 0, sizeof(*st));
	if (pc->base <= 0)
		return 0;
	authpen_keys(ip, account, ipkey, acctkey);
	if (authpen_read(s, pc, ipkey, acctkey, now, &ir, &ar) == -1)
		return -1;
	st->ip_count = ir.count;
	st->acct_count = ar.count;
	st->delay = authpen_delay(pc, ir.count);	/* never the account's */
	if (ir.count == 0 || account == NULL)
		return 0;
	if (authpen_acct_tag(s, account, acct) == -1)
		return -1;
	if (CRYPTO_memcmp(ir.acct, acct, AUTHPEN_TAG_LEN) != 0)
		return 0;
	f.ipkey = ipkey;
	f.pc = pc;
	f.acct = acct;
	f.now = now;
	f.done = 0;
	if (store_write(s, authpen_forgive_fn, &f) != 0)
		return -1;
	st->forgiven = f.done;
	return 0;
}

long long
authpen_login_failed(const struct config *cfg, struct store *s,
    const char *ip, const char *login, const unsigned char *tag)
{
	char account[ACCOUNT_NAME_MAX + 1];
	unsigned char fresh[AUTHPEN_TAG_LEN];
	struct authpen_conf pc;
	struct authpen_state st;
	int has;

	authpen_conf_load(cfg, &pc);
	if (pc.base <= 0)
		return 0;
	has = login != NULL && auth_account_name(cfg, login, account);
	if (tag == NULL) {
		if (RAND_bytes(fresh, sizeof(fresh)) != 1)
			memset(fresh, 0xa5, sizeof(fresh));
		tag = fresh;
	}
	if (authpen_fail(s, &pc, ip, has ? account : NULL, tag, time_now(),
	    &st) == -1)
		log_err("auth penalty: cannot record a failure client=%s; "
		    "answering after %llds", ip, st.delay);
	else
		log_info("auth penalty client=%s account=%s ip_failures=%lld "
		    "account_failures=%lld repeat=%d delay=%lld result=failed",
		    ip, has ? account : "-", st.ip_count, st.acct_count,
		    st.repeat, st.delay);
	return st.delay;
}

long long
authpen_login_ok(const struct config *cfg, struct store *s, const char *ip,
    const char *account)
{
	struct authpen_conf pc;
	struct authpen_state st;

	authpen_conf_load(cfg, &pc);
	if (pc.base <= 0)
		return 0;
	if (authpen_ok(s, &pc, ip, account, time_now(), &st) == -1) {
		log_err("auth penalty: cannot read the state client=%s "
		    "account=%s", ip, account);
		return st.delay;
	}
	if (st.ip_count > 0 || st.acct_count > 0)
		log_info("auth penalty client=%s account=%s ip_failures=%lld "
		    "account_failures=%lld forgiven=%d delay=%lld result=ok",
		    ip, account, st.ip_count, st.acct_count, st.forgiven,
		    st.delay);
	return st.delay;
}

void
authpen_sleep(long long seconds)
{
	struct timespec ts, rem;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = 0;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}
