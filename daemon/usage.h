/*
 * usage - per-account mailbox usage and the seed's monitor counters, kept
 * exactly in LMDB (STORE_COUNTERS):
 *   usage/count/NAME, usage/bytes/NAME   messages and bytes stored now
 *                                        (bytes as POP3 counts them, CRLF)
 *   received/NAME, deleted/NAME, sent/NAME   totals since the account began
 * Deliveries add, POP3 deletions subtract, an accepted authenticated
 * transaction counts as sent; `yubinctl mailbox --recount` rebuilds usage
 * from the Maildir.  The quota plugin reads usage through the hook ABI.
 */
#ifndef YUBIN_USAGE_H
#define YUBIN_USAGE_H

struct store;
struct config;

/* usage_add - DCOUNT messages, DBYTES bytes more (negative: fewer) for
 * ACCOUNT; also counts EVENT ("received", "deleted" or NULL) by |DCOUNT|.
 * 0 or -1. */
int	usage_add(struct store *s, const char *account, long long dcount,
	    long long dbytes, const char *event);
struct store_txn;
/* usage_add_txn - usage_add inside the caller's write transaction. */
int	usage_add_txn(struct store_txn *txn, const char *account, long long dcount,
	    long long dbytes, const char *event);
/* usage_get - current usage (0 when never recorded).  0 or -1. */
int	usage_get(struct store *s, const char *account, long long *count_r,
	    long long *bytes_r);
/* usage_counter - a monitor counter ("sent", "received", "deleted"). */
long long usage_counter(struct store *s, const char *what, const char *account);
/* usage_count_sent - one more message sent by ACCOUNT.  0 or -1. */
int	usage_count_sent(struct store *s, const char *account);
/* usage_recount - set usage from ACCOUNT's Maildir.  0 or -1. */
int	usage_recount(struct store *s, const struct config *cfg,
	    const char *account, long long *count_r, long long *bytes_r);

#endif
