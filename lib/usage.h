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
/*
 * The queue manager's deliveries not yet committed: it stores a batch of
 * copies, then commits their usage in the batch's transaction.  Until
 * then the quota check of the next copy must see them: usage_pending_get
 * adds them (yh_mailbox_usage), usage_pending_commit writes them and
 * usage_pending_clear forgets them.  USAGE_PENDING_MAX accounts at once:
 * usage_pending_room says how many more a batch may touch.
 */
#define USAGE_PENDING_MAX	1024
/* usage_pending_add - one more copy of BYTES for ACCOUNT.  0, or -1 when
 * the table is full (check usage_pending_room first) or the name too long. */
int	usage_pending_add(const char *account, long long bytes);
size_t	usage_pending_room(void);
void	usage_pending_get(const char *account, long long *count, long long *bytes);
int	usage_pending_commit(struct store_txn *txn);
void	usage_pending_clear(void);

/*
 * The usage a delivery agent's quota check sees for the mailbox of its
 * job: the queue manager's figure when it sent the job (committed usage
 * plus the copies other agents are storing or have stored but not yet
 * recorded), so several agents delivering at once never overfill it.
 * usage_fixed_set replaces the figure (ACCOUNT NULL: none); usage_fixed_get
 * gives it for ACCOUNT: 1, or 0 when it has none for that account.
 */
void	usage_fixed_set(const char *account, long long count, long long bytes);
int	usage_fixed_get(const char *account, long long *count, long long *bytes);

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
