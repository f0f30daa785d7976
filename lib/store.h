/*
 * store - the one LMDB environment under HOME/state.
 *
 * Every process opens its own handle after fork() (never before: LMDB
 * environments do not survive fork).  Transactions are short and never held
 * across network I/O.  Values read are copied out before the transaction
 * ends.
 *
 * Named databases:
 *   STORE_ACCOUNTS  account name -> account record (account.c)
 *   STORE_COUNTERS  counter name -> int64 with expiry
 *   STORE_PLUGIN    "namespace\0key" -> bytes with expiry (plugins' space)
 *   STORE_QUEUE     queue id -> envelope (queue.c)
 *   STORE_META      everything else keyed by a prefix ("login/NAME", ...)
 *
 * Every value carries an expiry (unix seconds, 0 = never) in front; an
 * expired entry reads as absent and is purged by store_expire().
 *
 * Robustness: the map grows on MDB_MAP_FULL (store_write retries the whole
 * transaction), a map grown by another process is adopted (MDB_MAP_RESIZED),
 * stale reader slots of dead processes are cleared at open (mdb_reader_check),
 * and a writer killed mid-transaction leaves the last committed state (LMDB's
 * robust mutex and copy-on-write pages).
 */
#ifndef YUBIN_STORE_H
#define YUBIN_STORE_H

#include <stddef.h>

#include "buf.h"

enum store_db {
	STORE_ACCOUNTS,
	STORE_COUNTERS,
	STORE_PLUGIN,
	STORE_QUEUE,
	STORE_META,
	STORE_NDB
};

struct store;
struct store_txn;

/*
 * store_set_shared - the PostgreSQL URI of the state several nodes share
 * ([server] state, pgstate.h), or NULL / "" for none; for every store
 * opened after it in this process and the processes it forks.  With it,
 * the databases but STORE_QUEUE, and the META records of blocks, grants
 * and login penalties, live there; the rest stays in LMDB.
 */
void	store_set_shared(const char *uri);
/* store_shared_ready - S reaches its shared state now (0; also without
 * one), or as pgstate_ready: -1 not now, -2 never (a newer schema). */
int	store_shared_ready(struct store *s, char *why, size_t whysize);
/* store_shared - 1 when S keeps part of its data in the shared state. */
int	store_shared(const struct store *s);

/*
 * store_open - open (creating) the environment in DIR.  0, or -1 with a
 * static message in *error_r.
 */
int	store_open(struct store **store_r, const char *dir, const char **error_r);
void	store_close(struct store **store);

/* Transactions.  begin: 0 or -1.  commit: 0 or -1 (the txn is gone either
 * way); a write txn in which a get, put or delete failed is not committed
 * (-1).  abort: always succeeds.  A txn is used by one thread of one process;
 * one write txn at a time per process (a second is our bug: log_panic).
 * After MDB_MAP_FULL the map grows at the next begin with no txn open. */
int	store_txn_begin(struct store *s, int rdonly, struct store_txn **txn_r);
int	store_txn_commit(struct store_txn **txn);
void	store_txn_abort(struct store_txn **txn);

/* store_tget - 1 found (value appended to VAL after buf_reset, expiry in
 * *expires_r if not NULL), 0 absent or expired, -1 error. */
int	store_tget(struct store_txn *txn, enum store_db db, const void *key,
	    size_t klen, struct buf *val, long long *expires_r);
/* store_tput - 0 or -1 (-1 with MAP_FULL is retried by store_write). */
int	store_tput(struct store_txn *txn, enum store_db db, const void *key,
	    size_t klen, const void *val, size_t vlen, long long expires);
/* store_tdel - 1 deleted, 0 absent, -1 error. */
int	store_tdel(struct store_txn *txn, enum store_db db, const void *key,
	    size_t klen);
/* store_titer - call FN for each live entry whose key starts with PREFIX
 * (PLEN 0: all), in key order.  FN's pointers are borrowed for the call only.
 * FN returns 0 to go on, non-zero to stop (returned).  -1 on error.
 * FN must not write to DB itself while it is iterated. */
typedef int store_iter_fn(void *ctx, const void *key, size_t klen,
	    const void *val, size_t vlen, long long expires);
int	store_titer(struct store_txn *txn, enum store_db db, const void *prefix,
	    size_t plen, store_iter_fn *fn, void *ctx);

/*
 * store_write - run FN in a write transaction and commit when it returns 0
 * (abort when it returns non-zero, which is then returned).  When the map is
 * full the transaction is aborted, the map doubled and FN run again, so FN
 * must not have side effects outside the transaction (and no other txn of
 * this process may be open, or the map cannot be resized).  The map doubles
 * from 16 MiB up to 64 GiB.  0 or -1.
 */
typedef int store_write_fn(struct store_txn *txn, void *ctx);
int	store_write(struct store *s, store_write_fn *fn, void *ctx);
/*
 * store_write_lazy - store_write whose commit flushes the data but not the
 * meta page (LMDB's MDB_NOMETASYNC): the database stays consistent, but a
 * system crash may undo this transaction until the next commit of any
 * process.  Only for writes whose loss repeats work and loses nothing
 * (delivery outcomes: a message sent again).
 */
int	store_write_lazy(struct store *s, store_write_fn *fn, void *ctx);

/* store_sync - flush what is committed to stable storage (for a commit
 * another process made and may have died before syncing).  0 or -1. */
int	store_sync(struct store *s);

/* One-shot helpers, each in its own transaction (store_write for writes). */
int	store_get(struct store *s, enum store_db db, const void *key, size_t klen,
	    struct buf *val);				/* 1/0/-1 */
int	store_put(struct store *s, enum store_db db, const void *key, size_t klen,
	    const void *val, size_t vlen, long long expires);	/* 0/-1 */
int	store_del(struct store *s, enum store_db db, const void *key,
	    size_t klen);				/* 1/0/-1 */
/*
 * store_incr - add DELTA to the int64 counter KEY (absent or expired = 0)
 * and set its expiry to EXPIRES when it was absent or expired (0 = never);
 * the new value in *value_r.  0 or -1.
 */
int	store_incr(struct store *s, enum store_db db, const void *key, size_t klen,
	    long long delta, long long expires, long long *value_r);
/*
 * The counter format: a counter value (STORE_COUNTERS, and any other value
 * that holds one) is a 64-bit two's-complement integer in STORE_COUNTER_SIZE
 * bytes, least significant first; the expiry in front of every value uses
 * the same encoding.  store_counter_encode writes V into P;
 * store_counter_decode reads LEN bytes at P into *V_R: 0, or -1 when LEN is
 * not STORE_COUNTER_SIZE (not a counter; *V_R untouched).
 */
#define STORE_COUNTER_SIZE	8
void	store_counter_encode(unsigned char p[STORE_COUNTER_SIZE], long long v);
int	store_counter_decode(const void *p, size_t len, long long *v_r);
/* store_expire - delete every expired entry of every database; the count
 * deleted, or -1. */
long long store_expire(struct store *s);
/* store_mapsize - current map size in bytes (tests). */
size_t	store_mapsize(struct store *s);

#endif
