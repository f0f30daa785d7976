/*
 * authpen - the login penalty: failed logins slow the answers to later
 * ones from the same client address, and the failed answers for the same
 * account, across every session, worker and protocol (SMTP AUTH and POP3
 * share it).  The state lives in LMDB, so a worker restart forgets nothing.
 * The choices (who is slowed, and why a correct login from another
 * address never is) are in the header comment of authpen.c and in README
 * "Choices".
 *
 * The penalty of N failures is 0 for N = 0, else base * 2^(N-1), at most
 * the cap: 2, 4, 8, 15, 15 ... seconds by default (Dovecot's auth penalty).
 * Configured by smtp.auth_penalty_base (0: off), smtp.auth_penalty_max and
 * smtp.auth_penalty_forget.
 *
 * Runs in SMTP and POP3 workers as server.user.  Must never: keep, log or
 * compare a secret other than through its keyed tag; hold a transaction
 * while sleeping.
 */
#ifndef YUBIN_AUTHPEN_H
#define YUBIN_AUTHPEN_H

#include <stddef.h>

struct config;
struct store;

#define AUTHPEN_TAG_LEN		8	/* bytes of HMAC-SHA256 kept per wrong secret */
#define AUTHPEN_KEY_MAX		64	/* an address key: "ip6/" + INET6_ADDRSTRLEN + "/64" */

struct authpen_conf {
	long long	 base;		/* seconds for the first failure; 0: off */
	long long	 cap;		/* seconds, the longest delay */
	long long	 forget;	/* seconds of quiet after which a record is gone */
};

/* The state after a failure or a correct login. */
struct authpen_state {
	long long	 ip_count;	/* failures of the address (0: none or no address) */
	long long	 acct_count;	/* failures for the account (0: none or no account) */
	int		 repeat;	/* this wrong secret was among the last ones: no escalation */
	int		 forgiven;	/* a correct login cleared its address */
	long long	 delay;		/* seconds the answer must wait */
};

/* authpen_conf_load - the three keys of CFG into *PC. */
void	authpen_conf_load(const struct config *cfg, struct authpen_conf *pc);

/*
 * authpen_ip_key - the record key of the client address IP into OUT (SIZE
 * bytes, AUTHPEN_KEY_MAX is enough): "ip4/A.B.C.D" for IPv4 (also when
 * written IPv4-mapped, ::ffff:A.B.C.D), "ip6/P:Q:R:S::/64" for IPv6, the
 * address masked to its /64.  0, or -1 when IP is no address ("local", the
 * submission socket: authpen_fail and the others then count every such
 * client as the one client "local").
 */
int	authpen_ip_key(const char *ip, char *out, size_t size);

/* authpen_delay - the seconds COUNT failures cost under *PC. */
long long authpen_delay(const struct authpen_conf *pc, long long count);

/*
 * authpen_tag - the keyed tag of a wrong (LOGIN, SECRET of LEN bytes) pair
 * into TAG: HMAC-SHA256 under a random key kept in the store (made at the
 * first use by any process), cut to AUTHPEN_TAG_LEN bytes.  0 or -1.
 */
int	authpen_tag(struct store *s, const char *login, const void *secret,
	    size_t len, unsigned char tag[AUTHPEN_TAG_LEN]);

/*
 * authpen_fail - record a failed login from IP (NULL: none)
 * for ACCOUNT (a name as auth_account_name gives; NULL: none) whose wrong
 * secret has tag TAG, at time NOW, and fill *ST; ST->delay is what the
 * failed answer must wait.  0, or -1 on a store error (*ST then asks for
 * the cap: an error never opens the gate).
 */
int	authpen_fail(struct store *s, const struct authpen_conf *pc,
	    const char *ip, const char *account,
	    const unsigned char tag[AUTHPEN_TAG_LEN], long long now,
	    struct authpen_state *st);

/*
 * authpen_ok - a correct login for ACCOUNT from IP at NOW: ST->delay is the
 * penalty of the address (the account's own penalty never delays a correct
 * login), and the address is forgiven when its last failure was for the
 * same account.  0, or -1 on a store error (no delay then).
 */
int	authpen_ok(struct store *s, const struct authpen_conf *pc,
	    const char *ip, const char *account, long long now,
	    struct authpen_state *st);

/* authpen_peek - the counts of IP and ACCOUNT at NOW, nothing changed;
 * ST->delay is what a failure now would have waited before it.  0 or -1. */
int	authpen_peek(struct store *s, const struct authpen_conf *pc,
	    const char *ip, const char *account, long long now,
	    struct authpen_state *st);

/*
 * The daemon's entries: configuration from CFG, the clock, the account
 * from LOGIN (auth_account_name; none when LOGIN cannot be one), one log
 * line "auth penalty ...", and the seconds to wait returned (the caller
 * sleeps with authpen_sleep, no transaction open).  TAG NULL: a secret
 * that cannot be recognised again (malformed, or a fresh digest): a fresh
 * random tag, so it escalates.
 */
long long authpen_login_failed(const struct config *cfg, struct store *s,
	    const char *ip, const char *login,
	    const unsigned char *tag);
long long authpen_login_ok(const struct config *cfg, struct store *s,
	    const char *ip, const char *account);

/* authpen_sleep - wait SECONDS (0 or less: not at all), across EINTR. */
void	authpen_sleep(long long seconds);

#endif
