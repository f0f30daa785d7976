/*
 * account - mail accounts in LMDB (STORE_ACCOUNTS) and their passwords.
 *
 * Names are [a-z0-9._-], 1..64 characters, never "." or "..", checked by
 * account_name_valid() before a name touches the filesystem or the store.
 *
 * Per-domain mailboxes (server.domain_mailboxes = 1, E-Post "separate"
 * mode, SEEDS §4.3): an account of a local domain other than server.domain
 * is named NAME@DOMAIN ("alice@example.net"), so alice@example.org and
 * alice@example.net are two accounts with their own passwords and folders
 * (HOME/mailbox/alice@example.net).  Such a name is the account's key in
 * the store, its folder's name and what every module passes around; it is
 * at most ACCOUNT_NAME_MAX characters in all, so it fits wherever a name
 * does.  Which name an address or login gives is addr_account_id's rule
 * (addr.h); this module only checks the form.
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
	char	hash[ACCOUNT_HASH_MAX];	/* "$scrypt$...", or ACCOUNT_HASH_LOCKED */
	char	secret[ACCOUNT_PASSWORD_MAX + 1]; /* only when apop, else "" */
	long long created;		/* unix seconds */
};

/*
 * account_local_valid - 1 when NAME is a plain account name ([a-z0-9._-],
 * 1..64, not "." or ".."), 0 not (reason in *why_r, static).
 * account_name_valid - the same for any account name: a plain one, or
 * LOCAL@DOMAIN with LOCAL plain and DOMAIN a lower-case host name
 * (account_domain_valid), at most ACCOUNT_NAME_MAX characters in all.  Safe
 * as one path component: no '/', never "." or "..".
 */
int	account_local_valid(const char *name, const char **why_r);
int	account_name_valid(const char *name, const char **why_r);

/* account_get - 1 found (*a filled), 0 absent, -1 store error. */
int	account_get(struct store *s, const char *name, struct account *a);
/* account_put - create or replace.  0 or -1. */
int	account_put(struct store *s, const struct account *a);
/* account_del - 1 deleted, 0 absent, -1 error. */
int	account_del(struct store *s, const char *name);
/*
 * account_tget, account_tput, account_tdel - the same inside a transaction
 * (account_tput and account_tdel: a write one, e.g. from store_write, so
 * that a whole import is one transaction).  Same return values.
 */
int	account_tget(struct store_txn *txn, const char *name, struct account *a);
int	account_tput(struct store_txn *txn, const struct account *a);
int	account_tdel(struct store_txn *txn, const char *name);
/*
 * account_each - FN for every account in name order; FN non-zero stops and
 * is returned.  FN runs inside a read transaction: it must not write to the
 * store.  A corrupt record is logged and skipped (the others are still
 * visited) and makes the result -1, as does a store error.
 */
int	account_each(struct store *s, int (*fn)(void *ctx, const struct account *a),
	    void *ctx);
/*
 * account_tcount - the accounts of DOMAIN inside TXN into *N (F013):
 * DOMAIN NULL counts every account (Wiz98's shared mode, where each
 * account serves every domain), "" the plain ones (server.domain's in
 * per-domain mode), else those named NAME@DOMAIN (case-insensitive).  The
 * postmaster account "yubinctl setup" makes is never counted.  0 or -1.
 */
int	account_tcount(struct store_txn *txn, const char *domain, long long *n);
/* account_domain_valid - 1 if DOMAIN is "" or a host name of letters,
 * digits, '-' and '.' (at most 255 bytes), 0 not (reason in *why_r, static). */
int	account_domain_valid(const char *domain, const char **why_r);
/* account_set_password - hash PASSWORD into A (and keep it when A->apop).
 * 0, or -1 with *why_r (static): empty, longer than ACCOUNT_PASSWORD_MAX,
 * a control character in it (it could not be exported or typed at a POP3
 * client), a leading "{HASH}" (import would take it for a hash), KDF
 * failure. */
int	account_set_password(struct account *a, const char *password,
	    const char **why_r);
/*
 * ACCOUNT_HASH_LOCKED - the stored hash of an account that has no password
 * yet (the postmaster account made by "yubinctl setup"): no password
 * matches it; account_locked tells it apart from a malformed hash.
 */
#define ACCOUNT_HASH_LOCKED	"!"
/* ACCOUNT_POSTMASTER - the account "yubinctl setup" makes and "account del"
 * refuses to remove (RFC 5321 §4.5.1). */
#define ACCOUNT_POSTMASTER	"postmaster"
/* account_locked - 1 when A has no password yet (ACCOUNT_HASH_LOCKED). */
int	account_locked(const struct account *a);
/*
 * account_record_encode - A as its stored record ("v1\n" then one
 * "field=value" line per field) into B (reset first): the form a backup
 * keeps (F150).  0, or -1 (bad name, secret without apop, past B's ceiling).
 * account_record_decode - such a record (DATA, LEN bytes) of the account
 * NAME into A, checked as a stored one is (fields, name, domain) and its
 * hash well-formed (or ACCOUNT_HASH_LOCKED).  0, or -1 with *why_r (static).
 */
int	account_record_encode(const struct account *a, struct buf *b);
int	account_record_decode(const void *data, size_t len, const char *name,
	    struct account *a, const char **why_r);
/* account_verify - 1 the password matches, 0 it does not, -1 bad hash. */
int	account_verify(const struct account *a, const char *password);

/* passwd_hash - new salted hash of PASSWORD into OUT.  0 or -1. */
int	passwd_hash(const char *password, char *out, size_t outsize);
/* passwd_verify - 1 match, 0 no match, -1 malformed HASH (or parameters
 * past the ceilings that keep a bad record from costing minutes or
 * gigabytes: ln <= 20, r <= 32, p <= 16, 128*r*2^ln <= 256 MiB).  Constant
 * time in the password bytes. */
int	passwd_verify(const char *hash, const char *password);
/* passwd_hash_valid - 1 if HASH is a well-formed "$scrypt$..." within the
 * ceilings above, else 0.  Does not run the KDF. */
int	passwd_hash_valid(const char *hash);

/*
 * E-Post tab-separated import/export (SEEDS.md §3.5):
 *   ACCOUNT PASSWORD FULLNAME DOMAIN HOMEFOLDER SMTPAUTH APOP MAILBOXLIMIT
 * An account NAME@DOMAIN is exported as ACCOUNT NAME with its DOMAIN.
 * Export writes the clear password only when it is kept (apop accounts);
 * otherwise the hash, marked "{HASH}$scrypt$...", which import accepts back.
 * account_import_parse reads every line of PATH; a bad line is reported as
 * "PATH:LINE: message" and the whole file is refused (returns -1) so that
 * nothing of it is applied.  On 0, *list_r (owned, free()) holds *n_r
 * accounts ready for account_put.
 * Lines: at most ACCOUNT_IMPORT_LINE_MAX bytes (a trailing CR is dropped);
 * empty lines and lines starting with '#' are skipped; exactly 8 fields;
 * flags 0, 1 or empty; MAILBOXLIMIT a non-negative integer or empty; a
 * PASSWORD "{HASH}$scrypt$..." is taken as the hash (not with APOP 1, which
 * needs the clear secret), any other is hashed (only once the whole file
 * parsed cleanly); a name twice in one file is an error.  The format has no
 * message-count limit: quota_count is 0 after import.  On -1, *list_r is
 * NULL and *n_r 0.
 */
#define ACCOUNT_IMPORT_LINE_MAX	4096	/* a line of 8 short fields; more is not an account */
#define ACCOUNT_IMPORT_MAX	100000	/* accounts in one file (about 300 MB parsed) */
/* account_id_fn - gives an imported account (ACCOUNT in A->name, DOMAIN in
 * A->domain) its name, e.g. NAME@DOMAIN in per-domain mode: 0, or -1 with
 * the line's problem in *why_r (static). */
typedef int account_id_fn(void *ctx, struct account *a, const char **why_r);
/* IDFN (may be NULL: names as in the file) runs on every good line before
 * duplicates are looked for, so a name twice means the same account twice. */
int	account_import_parse(const char *path, account_id_fn *idfn, void *idctx,
	    struct account **list_r, size_t *n_r, struct errlist *errs);
/* account_export_line - one line (with "\n") for A appended to OUT.
 * 0, or -1 when OUT's ceiling is reached or a field holds a tab or another
 * control character (the line could not be read back). */
int	account_export_line(const struct account *a, struct buf *out);

#endif
