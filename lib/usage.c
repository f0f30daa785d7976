/*
 * usage.c - mailbox usage and monitor counters; see usage.h.  Runs in the
 * queue manager, POP3 workers, SMTP workers and yubinctl.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "buf.h"
#include "maildir.h"
#include "paths.h"
#include "store.h"
#include "usage.h"
#include "util.h"

#define USAGE_SCAN_MAX	10000000	/* messages counted by a recount */

static void
usage_key(struct buf *k, const char *what, const char *account)
{
	buf_reset(k);
	buf_printf(k, "%s/%s", what, account);
}

struct add_ctx {
	const char	*account;
	long long	 dcount, dbytes;
	const char	*event;
	int		 set;		/* absolute values instead of deltas */
};

static int
counter_write(struct store_txn *txn, const char *what, const char *account,
    long long v, int set)
{
	struct buf k, cur;
	unsigned char b[STORE_COUNTER_SIZE];
	long long old = 0;
	int i;

	buf_init(&k, 0);
	buf_init(&cur, 0);
	usage_key(&k, what, account);
	/* a value that is not a counter reads as 0 and is overwritten */
	if (!set && store_tget(txn, STORE_COUNTERS, k.data, k.len, &cur,
	    NULL) == 1 && store_counter_decode(cur.data, cur.len, &old) == -1)
		old = 0;
	v = set ? v : old + v;
	if (v < 0)
		v = 0;	/* a file removed behind our back: never below zero */
	store_counter_encode(b, v);
	i = store_tput(txn, STORE_COUNTERS, k.data, k.len, b, sizeof(b), 0);
	buf_free(&k);
	buf_free(&cur);
	return i;
}

static int
usage_add_fn(struct store_txn *txn, void *ctx)
{
	struct add_ctx *a = ctx;

	if (counter_write(txn, "usage/count", a->account, a->dcount, a->set) == -1 ||
	    counter_write(txn, "usage/bytes", a->account, a->dbytes, a->set) == -1)
		return -1;
	if (a->event && counter_write(txn, a->event, a->account,
	    a->dcount < 0 ? -a->dcount : a->dcount, 0) == -1)
		return -1;
	return 0;
}

int
usage_add_txn(struct store_txn *txn, const char *account, long long dcount,
    long long dbytes, const char *event)
{
	struct add_ctx a = { account, dcount, dbytes, event, 0 };

	return usage_add_fn(txn, &a);
}

int
usage_add(struct store *s, const char *account, long long dcount,
    long long dbytes, const char *event)
{
	struct add_ctx a = { account, dcount, dbytes, event, 0 };

	return store_write(s, usage_add_fn, &a);
}

long long
usage_counter(struct store *s, const char *what, const char *account)
{
	struct buf k, v;
	long long n = 0;

	buf_init(&k, 0);
	buf_init(&v, 0);
	usage_key(&k, what, account);
	if (store_get(s, STORE_COUNTERS, k.data, k.len, &v) == 1 &&
	    store_counter_decode(v.data, v.len, &n) == -1)
		n = 0;
	buf_free(&k);
	buf_free(&v);
	return n;
}

int
usage_get(struct store *s, const char *account, long long *count_r,
    long long *bytes_r)
{
	*count_r = usage_counter(s, "usage/count", account);
	*bytes_r = usage_counter(s, "usage/bytes", account);
	return 0;
}

static int
sent_fn(struct store_txn *txn, void *ctx)
{
	return counter_write(txn, "sent", ctx, 1, 0);
}

int
usage_count_sent(struct store *s, const char *account)
{
	return store_write(s, sent_fn, (void *)account);
}

int
usage_recount(struct store *s, const struct config *cfg, const char *account,
    long long *count_r, long long *bytes_r)
{
	struct maildir_list l;
	struct add_ctx a;
	char *dir, *md;
	size_t i;
	int r;

	dir = paths_account_dir(cfg, account);
	md = xasprintf("%s/Maildir", dir);
	memset(&l, 0, sizeof(l));
	r = maildir_scan(md, USAGE_SCAN_MAX, &l);
	free(md);
	free(dir);
	if (r == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	a.account = account;
	a.set = 1;
	a.dcount = (long long)l.n;
	for (i = 0; i < l.n; i++)
		a.dbytes += l.msg[i].size;
	maildir_list_free(&l);
	*count_r = a.dcount;
	*bytes_r = a.dbytes;
	return store_write(s, usage_add_fn, &a);
}

struct pending {
	char		 account[ACCOUNT_NAME_MAX + 1];
	long long	 count, bytes;
};
static struct pending pending[USAGE_PENDING_MAX];
static size_t npending;

static int
pending_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pending *)a)->account,
	    ((const struct pending *)b)->account);
}

int
usage_pending_add(const char *account, long long bytes)
{
	size_t i;

	for (i = 0; i < npending; i++)
		if (strcmp(pending[i].account, account) == 0)
			break;
	if (i == npending) {
		if (npending == USAGE_PENDING_MAX ||
		    str_copy(pending[i].account, sizeof(pending[i].account),
		    account) == -1)
			return -1;
		pending[i].count = pending[i].bytes = 0;
		npending++;
	}
	pending[i].count++;
	pending[i].bytes += bytes;
	return 0;
}

size_t
usage_pending_room(void)
{
	return USAGE_PENDING_MAX - npending;
}

void
usage_pending_get(const char *account, long long *count, long long *bytes)
{
	size_t i;

	for (i = 0; i < npending; i++)
		if (strcmp(pending[i].account, account) == 0) {
			*count += pending[i].count;
			*bytes += pending[i].bytes;
		}
}

int
usage_pending_commit(struct store_txn *txn)
{
	size_t i;

	/* in name order: two queue managers sharing the counters
	 * (pgstate.h) take their rows in one order, so neither waits for
	 * the other in a cycle */
	qsort(pending, npending, sizeof(pending[0]), pending_cmp);
	for (i = 0; i < npending; i++)
		if (usage_add_txn(txn, pending[i].account, pending[i].count,
		    pending[i].bytes, "received") == -1)
			return -1;
	return 0;
}

void
usage_pending_clear(void)
{
	npending = 0;
}

static struct {
	char		 account[ACCOUNT_NAME_MAX + 1];
	long long	 count, bytes;
	int		 set;
} fixed;

void
usage_fixed_set(const char *account, long long count, long long bytes)
{
	fixed.set = account != NULL &&
	    str_copy(fixed.account, sizeof(fixed.account), account) == 0;
	fixed.count = count;
	fixed.bytes = bytes;
}

int
usage_fixed_get(const char *account, long long *count, long long *bytes)
{
	if (!fixed.set || strcmp(fixed.account, account) != 0)
		return 0;
	*count = fixed.count;
	*bytes = fixed.bytes;
	return 1;
}
