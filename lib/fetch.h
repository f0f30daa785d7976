/*
 * fetch - the remote POP3 mailboxes fetched into local accounts (seed 000
 * §12.9; "yubinctl fetch", the fetch process of yubind): their records in
 * LMDB, the encryption of their passwords, their filters.
 *
 * Records, all in STORE_META:
 *   "fetch/ACCOUNT/HOST/USER"   the entry (fetch_encode; the password
 *                               encrypted)
 *   "fetchst/ID"                its last run: when, outcome, counts
 *   "fetchuid/ID/UIDL"          a message fetched (queued) from it: the
 *                               marker the queue writes in the same
 *                               transaction as the message's envelope
 *   "fetchleft/ID/UIDL"         a message its filters leave on the server,
 *                               with the reason
 * ID is fetch_id(): 16 hex digits of a SHA-256 of account, host and user,
 * so the per-message keys stay short whatever the names.
 *
 * Passwords: AES-256-GCM under a 32-byte key in HOME/state/fetch.key
 * (mode 0600, made on first use by the user who runs the command, which
 * yubinctl makes the server user), a random 96-bit nonce per encryption,
 * the entry's key as additional data (a ciphertext moved to another entry
 * does not decrypt).  Threat model: a backup, a copy or a dump of the
 * LMDB store does not reveal the passwords unless the key file goes with
 * it; the server user (who must log in with them) can always read them.
 *
 * Never: keep a clear password in the store, in a log line or in argv.
 */
#ifndef YUBIN_FETCH_H
#define YUBIN_FETCH_H

#include <stddef.h>

#include "account.h"
#include "buf.h"
#include "store.h"

#define FETCH_HOST_MAX		253	/* a DNS name (RFC 1035), or an IP literal */
#define FETCH_USER_MAX		128	/* the remote login; keeps the key < 511 */
#define FETCH_PASS_MAX		1024	/* as ACCOUNT_PASSWORD_MAX */
#define FETCH_PATTERN_MAX	256	/* one filter pattern */
#define FETCH_PATTERNS_MAX	64	/* patterns of one kind per entry */
#define FETCH_CA_MAX		1024	/* the --ca path */
#define FETCH_INTERVAL_DEF	300	/* seconds: the fetch every 5 minutes */
#define FETCH_INTERVAL_MAX	(30LL * 86400)
#define FETCH_ID_LEN		16
#define FETCH_KEY_LEN		32	/* AES-256 */
#define FETCH_REASON_MAX	400	/* a left message's reason, kept */
#define FETCH_STATUS_MAX	400	/* a run's outcome, kept */
#define FETCH_UIDL_MAX		70	/* RFC 1939 §7 */

enum fetch_tls {
	FETCH_TLS_NONE = 0,	/* clear text */
	FETCH_TLS_STLS,		/* STLS (RFC 2595), required */
	FETCH_TLS_IMPLICIT,	/* TLS from the start (RFC 8314, port 995) */
};

struct fetch_list {
	char	*v[FETCH_PATTERNS_MAX];	/* owned */
	size_t	 n;
};

struct fetch_entry {
	char	 account[ACCOUNT_NAME_MAX + 1];
	char	 host[FETCH_HOST_MAX + 1];
	int	 port;
	char	 user[FETCH_USER_MAX + 1];
	int	 tls;			/* enum fetch_tls */
	long long interval;		/* seconds */
	int	 keep;			/* leave fetched mail on the server */
	char	 ca[FETCH_CA_MAX + 1];	/* CA file for verification; "" system */
	struct fetch_list accept_from;	/* From: patterns; none: every sender */
	struct fetch_list deny_from;	/* From: patterns refused (win) */
	struct fetch_list deny_mailer;	/* X-Mailer: patterns refused */
	char	*secret;		/* owned: the encrypted password (base64) */
};

/* fetch_entry_clear - free the owned parts; E is all zero after it. */
void	fetch_entry_clear(struct fetch_entry *e);
/* fetch_list_add - append a copy of PAT.  0, or -1 when the list is full. */
int	fetch_list_add(struct fetch_list *l, const char *pat);

/*
 * Checks of what a user gives (yubinctl fetch add); each 1 good, 0 bad
 * with *why_r (static).
 * fetch_host_parse - SPEC "HOST", "HOST:PORT", "[IPv6]" or "[IPv6]:PORT"
 *   into E->host (without brackets) and E->port (DEFPORT when absent).
 *   HOST: letters, digits, '-', '.', or an IP literal.
 * fetch_user_valid - 1..FETCH_USER_MAX bytes, printable ASCII, no blank.
 * fetch_pattern_valid - 1..FETCH_PATTERN_MAX printable bytes, no blank.
 */
int	fetch_host_parse(const char *spec, int defport, struct fetch_entry *e,
	    const char **why_r);
int	fetch_user_valid(const char *user, const char **why_r);
int	fetch_pattern_valid(const char *pat, const char **why_r);

/* fetch_key - the record key "fetch/ACCOUNT/HOST/USER" of E into OUT
 * (reset first).  fetch_id - E's ID (FETCH_ID_LEN hex + NUL). */
void	fetch_key(const struct fetch_entry *e, struct buf *out);
void	fetch_id(const struct fetch_entry *e, char out[FETCH_ID_LEN + 1]);

/* fetch_server - "HOST:PORT" of E into OUT ("[HOST]:PORT" for IPv6). */
#define FETCH_SERVER_MAX	(FETCH_HOST_MAX + 10)
const char *fetch_server(const struct fetch_entry *e,
	    char out[FETCH_SERVER_MAX]);

/* fetch_encode - the record of E appended to OUT.  fetch_decode - E from a
 * record (E is cleared first): 0, or -1 when it is corrupt. */
void	fetch_encode(const struct fetch_entry *e, struct buf *out);
int	fetch_decode(struct fetch_entry *e, const void *p, size_t len);

/*
 * fetch_key_load - the password key of HOME (HOME/state/fetch.key) into
 * KEY; with CREATE a missing one is made (random, 0600, durable).  0, or
 * -1 with *why_r (static): unreadable, wrong size, or readable by group or
 * others.
 */
int	fetch_key_load(const char *home, int create,
	    unsigned char key[FETCH_KEY_LEN], const char **why_r);
/* fetch_seal - encrypt PASS for E into E->secret (replaced).  0 or -1.
 * fetch_open - E's password into OUT (SIZE bytes, NUL-terminated): 0, or
 * -1 when it does not decrypt (wrong key, moved or damaged record).
 * The caller wipes OUT (explicit_bzero) after use. */
int	fetch_seal(struct fetch_entry *e, const unsigned char key[FETCH_KEY_LEN],
	    const char *pass);
int	fetch_open(const struct fetch_entry *e,
	    const unsigned char key[FETCH_KEY_LEN], char *out, size_t size);

/*
 * fetch_each - FN for every entry (ACCOUNT not NULL: that account's only),
 * in key order.  The entries are read in one transaction and copied out,
 * then FN runs for each with no transaction open (it may write, and run
 * for long).  The entry is borrowed for the call.  FN non-zero stops and
 * is returned; -1 on a store error.  A corrupt record is skipped and
 * logged.
 */
int	fetch_each(struct store *s, const char *account,
	    int (*fn)(void *ctx, const struct fetch_entry *e), void *ctx);
/* fetch_get - the entry ACCOUNT/HOST/USER: 1 found (*E filled), 0 none, -1. */
int	fetch_get(struct store *s, const char *account, const char *host,
	    const char *user, struct fetch_entry *e);
/* fetch_put - create or replace E's record (its state is kept).  ADDED
 * (unix seconds, 0: none): an entry without a state yet gets one whose
 * last run is ADDED, in the same transaction, so its first run comes one
 * interval later.  0 or -1. */
int	fetch_put(struct store *s, const struct fetch_entry *e, long long added);
/* fetch_del - remove E's record, its state and every UIDL it remembers, in
 * one transaction.  1 removed, 0 none, -1.  fetch_tdel - the same inside
 * the write transaction TXN.  fetch_tdel_account - fetch_tdel for every
 * entry of ACCOUNT (its deletion): 0 or -1. */
int	fetch_del(struct store *s, const struct fetch_entry *e);
int	fetch_tdel(struct store_txn *txn, const struct fetch_entry *e);
int	fetch_tdel_account(struct store_txn *txn, const char *account);

/* The state of an entry (fetchst/ID). */
struct fetch_state {
	long long last;			/* unix seconds of the last run; 0 never */
	int	 ok;			/* the last run ended cleanly */
	long long fetched;		/* messages queued, all runs */
	long long left;			/* messages the last run left */
	char	 status[FETCH_STATUS_MAX + 1];	/* "ok" or the error */
};
/* fetch_state_get - 1 found, 0 none (*ST zero), -1. */
int	fetch_state_get(struct store *s, const char *id, struct fetch_state *st);
int	fetch_state_put(struct store *s, const char *id,
	    const struct fetch_state *st);

/* fetch_match - 1 when ADDR (or a domain: no '@' in PAT) matches one of
 * L's patterns (* and ?, case-insensitive).  fetch_match_text - the same
 * for a whole text (X-Mailer). */
int	fetch_match(const struct fetch_list *l, const char *addr);
int	fetch_match_text(const struct fetch_list *l, const char *text);

#endif
