/*
 * pgstate - the shared state of several yubind nodes in PostgreSQL
 * (DESIGN.md §15), behind store.h.
 *
 * With `[server] state = postgresql://...` the store keeps in PostgreSQL
 * what every node must agree on: accounts and their hashes, counters,
 * plugin records, and the META records of blocks, POP-before-SMTP grants
 * and login penalties (store.c: store_shared says which).  What is per
 * node stays in LMDB: the queue index, once markers, the MX cache.
 *
 * Schema (version PGSTATE_SCHEMA, in yubin_schema):
 *
 *	yubin_kv (db smallint, k bytea, v bytea, expires bigint,
 *	          PRIMARY KEY (db, k))
 *
 * one row per store entry: db is the store_db number, v the value without
 * the expiry, which has its own column (0 = never).  bytea compares byte by
 * byte, so prefix walks come in LMDB's key order.  The first connection
 * creates the tables (under an advisory lock, so that many processes
 * starting at once do not race); a schema newer than this build refuses
 * every operation and says so.
 *
 * Connections.  Each process opens its own, lazily, on first use after
 * fork; one inherited from a parent is dropped without a word to the
 * server (the parent still uses it).  A failed connection is tried again
 * at most once a second; meanwhile every operation fails at once, so
 * callers answer 4xx instead of waiting.  libpq's connect_timeout (3 s)
 * and tcp_user_timeout (10 s) bound a stalled server; the URI may set
 * its own.
 *
 * Transactions.  A store write transaction that touches shared data runs
 * one PostgreSQL transaction at SERIALIZABLE isolation: a counter's read
 * and write are atomic across nodes.  A conflict (SQLSTATE 40001, 40P01)
 * is reported as PGSTATE_RETRY and store_write runs the transaction again.
 * Reads outside a write transaction are single statements.
 */
#ifndef YUBIN_PGSTATE_H
#define YUBIN_PGSTATE_H

#include <stddef.h>

#include "buf.h"

#define PGSTATE_SCHEMA	1

#define PGSTATE_OK	0
#define PGSTATE_FAIL	(-1)
#define PGSTATE_RETRY	(-2)	/* serialization conflict: run again */

struct pgstate;

/* pgstate_uri_check - URI is a postgresql:// (or postgres://) URI libpq
 * accepts.  0, or -1 with the reason in WHY. */
int	pgstate_uri_check(const char *uri, char *why, size_t whysize);

struct pgstate *pgstate_new(const char *uri);
void	pgstate_free(struct pgstate **p);

/* pgstate_ready - connect now (if not connected) and check the schema.
 * 0, or with the reason in WHY: -1 not reachable now, -2 the schema is
 * newer than this build (no operation will work). */
int	pgstate_ready(struct pgstate *p, char *why, size_t whysize);

/* A transaction: begin, then statements, then commit or rollback.
 * begin: 0/-1; commit: PGSTATE_OK, _FAIL or _RETRY; rollback: always. */
int	pgstate_begin(struct pgstate *p);
int	pgstate_commit(struct pgstate *p);
void	pgstate_rollback(struct pgstate *p);
int	pgstate_in_txn(const struct pgstate *p);
/* the last failure was a serialization conflict */
int	pgstate_conflict(const struct pgstate *p);

/* The store's operations on database DB (enum store_db); the same
 * results as store_tget, store_tput, store_tdel and store_titer. */
int	pgstate_get(struct pgstate *p, int db, const void *key, size_t klen,
	    struct buf *val, long long *expires_r);
int	pgstate_put(struct pgstate *p, int db, const void *key, size_t klen,
	    const void *val, size_t vlen, long long expires);
int	pgstate_del(struct pgstate *p, int db, const void *key, size_t klen);
typedef int pgstate_iter_fn(void *ctx, const void *key, size_t klen,
	    const void *val, size_t vlen, long long expires);
int	pgstate_iter(struct pgstate *p, int db, const void *prefix, size_t plen,
	    pgstate_iter_fn *fn, void *ctx);
/* pgstate_expire - delete the expired rows; how many, or -1. */
long long pgstate_expire(struct pgstate *p);

#endif
