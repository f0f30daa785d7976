/*
 * account - mail accounts in LMDB (STORE_ACCOUNTS) and their passwords.
 *
 * Names are [a-z0-9._-], 1..64 characters, never "." or "..", checked by
 * account_name_valid() before a name touches the filesystem or the store.
 * Passwords are kept only as a salted scrypt hash (OpenSSL EVP_KDF), in the
 * form "$scrypt$ln=15,r=8,p=1$SALT$HASH" (base64); the clear secret is kept as
 * well only for accounts with the apop flag, because APOP and CRAM-MD5 need
 * it.  Verification compares in constant time (CRYPTO_memcmp).
 */
#ifndef YUBIN_ACCOUNT_H
#define YUBIN_ACCOUNT_H

#include "store.h"
#include "util.h"

#define ACCOUNT_NAME_MAX	64
#define ACCOUNT_PASSWORD_MAX	1024	/* long passwords welcome (F014) */
#define ACCOUNT_HASH_MAX	256

struct account {
	char	name[ACCOUNT_NAME_MAX + 1];
	char	domain[256];		/* E-Post account domain; "" = server.domain */
	char	fullname[256];
	char	home[1024];		/* E-Post home folder (%HOME%); may be "" */
	int	smtp_auth;		/* E-Post "use SMTP-AUTH & APOP" flag */
	int	apop;			/* clear secret kept (APOP, CRAM-MD5) */
	long long quota_size;		/* bytes; 0 = server default */
	long long quota_count;		/* messages; 0 = server default */
	char	hash[ACCOUNT_HASH_MAX];	/* "$scrypt$..." */
	char	secret[ACCOUNT_PASSWORD_MAX + 1]; /* only when apop, else "" */
	long long created;		/* unix seconds */
};

/* account_name_valid - 1 valid, 0 not (reason in *why_r, static). */
int	account_name_valid(const char *name, const char **why_r);

/* account_get - 1 found (*a filled), 0 absent, -1 store error. */
int	account_get(struct store *s, const char *name, struct account *a);
/* account_put - create or replace.  0 or -1. */
int	account_put(struct store *s, const struct account *a);
/* account_del - 1 deleted, 0 absent, -1 error. */
int	account_del(struct store *s, const char *name);
/* account_each - FN for every account in name order; FN non-zero stops. */
int	account_each(struct store *s, int (*fn)(void *ctx, const struct account *a),
	    void *ctx);
/* account_set_password - hash PASSWORD into A (and keep it when A->apop).
 * 0, or -1 (empty or too long password, KDF failure) with *why_r. */
int	account_set_password(struct account *a, const char *password,
	    const char **why_r);
/* account_verify - 1 the password matches, 0 it does not, -1 bad hash. */
int	account_verify(const struct account *a, const char *password);

/* passwd_hash - new salted hash of PASSWORD into OUT.  0 or -1. */
int	passwd_hash(const char *password, char *out, size_t outsize);
/* passwd_verify - 1 match, 0 no match, -1 malformed HASH.  Constant time
 * in the password bytes. */
int	passwd_verify(const char *hash, const char *password);

/*
 * E-Post tab-separated import/export (SEEDS.md §3.5):
 *   ACCOUNT PASSWORD FULLNAME DOMAIN HOMEFOLDER SMTPAUTH APOP MAILBOXLIMIT
 * Export writes the clear password only when it is kept (apop accounts);
 * otherwise the hash, marked "{HASH}$scrypt$...", which import accepts back.
 * account_import_parse reads every line of PATH; a bad line is reported as
 * "PATH:LINE: message" and the whole file is refused (returns -1) so that
 * nothing of it is applied.  On 0, *list_r (owned, free()) holds *n_r
 * accounts ready for account_put.
 */
int	account_import_parse(const char *path, struct account **list_r,
	    size_t *n_r, struct errlist *errs);
/* account_export_line - one line (with "\n") for A appended to OUT. */
int	account_export_line(const struct account *a, struct buf *out);

#endif
