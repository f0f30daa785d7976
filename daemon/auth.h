/*
 * auth - checking credentials for SMTP AUTH and POP3 logins.
 *
 * Logins are "account" or "account@domain" where domain is a local domain
 * (server.domain, server.alias, smtp.subhost); both name the account.  With
 * server.domain_mailboxes = 1 the domain picks one of several accounts of
 * that name (addr_account_find in addr.h); a bare name is the account of
 * exactly that name (server.domain's).
 * Secrets are compared in constant time.  Failures never say whether the
 * account exists.
 */
#ifndef YUBIN_AUTH_H
#define YUBIN_AUTH_H

#include <stddef.h>

#include "account.h"

struct config;
struct store;

/* auth_account_name - the account name a LOGIN gives (lower-cased,
 * validated; NAME@DOMAIN in per-domain mode, addr_account_id) into OUT
 * (ACCOUNT_NAME_MAX + 1), for comparing two logins; it does not look the
 * account up.  1, or 0 when it cannot be an account. */
int	auth_account_name(const struct config *cfg, const char *login, char *out);
/* auth_shared_setup - the login cache shared by every process forked
 * after this call (the master calls it before the pools start).  0 or -1
 * (each process then keeps its own). */
int	auth_shared_setup(void);
/* auth_password - 1 LOGIN/PASSWORD are right (*a filled), 0 wrong or no such
 * account, -1 store error. */
int	auth_password(const struct config *cfg, struct store *s, const char *login,
	    const char *password, struct account *a);
/* auth_check_hash - PASSWORD against the stored HASH of NAME, through the
 * login cache and the bound on concurrent KDF runs.  1 match, 0 not, -1
 * malformed HASH. */
int	auth_check_hash(const struct config *cfg, const char *name,
	    const char *hash, const char *password);
/* auth_last_cached - 1 when the last successful auth_password of this
 * process was answered from the login cache (for the log). */
int	auth_last_cached(void);
/* auth_apop - RFC 1939 APOP: DIGEST_HEX = md5(TIMESTAMP secret).  1/0/-1;
 * 0 also for accounts that keep no secret. */
int	auth_apop(const struct config *cfg, struct store *s, const char *login,
	    const char *timestamp, const char *digest_hex, struct account *a);
/* auth_cram_md5 - RFC 2195: RESPONSE (decoded) is "login hexhmac" over
 * CHALLENGE.  1/0/-1; 0 for accounts that keep no secret. */
int	auth_cram_md5(const struct config *cfg, struct store *s,
	    const char *challenge, const char *response, struct account *a);
/* auth_plain_decode - RFC 4616: split decoded "authzid\0authcid\0passwd".
 * Pointers into RAW (modified: RAW[LEN] is set to NUL, so RAW must hold
 * LEN + 1 bytes, as a struct buf always does).  0, or -1 malformed (no
 * authcid or password, or not exactly two NULs). */
int	auth_plain_decode(char *raw, size_t len, char **authz_r, char **authc_r,
	    char **pass_r);

/* base64: b64_encode and b64_decode are in util.h. */

/* auth_record_login - POP3 success: STORE_META "login/NAME" = "SECONDS,IP"
 * (the seed's ip file) and "popip/IP" = NAME with expiry
 * smtp.pop_befor_smtp_time_to_live (POP before SMTP reads it).  0 or -1. */
int	auth_record_login(const struct config *cfg, struct store *s,
	    const char *name, const char *ip);

/*
 * Per-account restrictions of a login (config.def, F124, F125).
 * auth_account_cfg - account NAME's config.def over CFG; NULL when it has
 * none or it cannot be used (logged): CFG's values hold then.  Owned:
 * config_free.
 * auth_hours_allow - 1 when usage_hours of ACFG allow a login at NOW (the
 * server's local time), else 0 with the allowed hours in WHY.
 * auth_rcpt_allow - 1 when ADDR matches allowed_recipients of ACFG (an
 * empty list allows everyone): patterns with '@' match the address, the
 * others its domain; * and ? are wildcards, case does not matter.
 */
struct config *auth_account_cfg(const struct config *cfg, const char *name);
int	auth_hours_allow(const struct config *acfg, long long now, char *why,
	    size_t whysize);
int	auth_rcpt_allow(const struct config *acfg, const char *addr);

#endif
