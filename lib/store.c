/*
 * store.c - the LMDB environment under HOME/state; see store.h.
 *
 * One struct store per process, opened after fork() and never shared with
 * another process.  Every value is stored as an 8-byte little-endian expiry
 * (int64 unix seconds, 0 = never) followed by the payload; an expired entry
 * reads as absent and store_expire() deletes it.
 *
 * The map starts small (STORE_MAP_INITIAL) and doubles whenever a write
 * transaction runs out of room: the failed transaction is aborted, the map
 * grown while no transaction of this process is open (mdb_env_set_mapsize
 * requires it), and store_write runs its callback again.  A map grown by
 * another process is adopted when mdb_txn_begin reports MDB_MAP_RESIZED.
 * Reader slots left by dead processes are cleared at open and when the table
 * is full.  A writer killed mid-transaction leaves the last committed state:
 * LMDB never overwrites live pages and its write mutex is a robust one.
 *
 * Never: hold a transaction across network I/O, keep a pointer into the map
 * past the end of its transaction, or write with MDB_NOSYNC (a committed
 * transaction is the durability promise of DESIGN.md §4).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "log.h"
#include "pgstate.h"
#include "store.h"
#include "util.h"

#define STORE_MAP_INITIAL	((size_t)16 << 20)	/* 16 MiB: small homes stay small; tests see growth */
#if SIZE_MAX > 0xffffffffu
#define STORE_MAP_MAX		((size_t)64 << 30)	/* 64 GiB: past it a full map is an error */
#else
#define STORE_MAP_MAX		((size_t)1 << 30)	/* 32-bit address space */
#endif
#define STORE_MAX_READERS	512	/* every worker of every pool, with room to spare */
#define STORE_BEGIN_TRIES	8	/* MAP_RESIZED / READERS_FULL retries of one begin */
#define STORE_WRITE_TRIES	40	/* store_write attempts: doublings to STORE_MAP_MAX and a margin */
#define STORE_HDR		8	/* expiry in front of every value */
#define STORE_FILE_MODE		0600	/* password hashes live here */

/* transaction errors of the shared state, beside LMDB's (-30799..-30780) */
#define STORE_ESHARED		(-31900)	/* PostgreSQL failed */
#define STORE_ERETRY		(-31901)	/* serialization conflict: again */
#define STORE_SHARED_TRIES	20	/* conflicts before store_write gives up */

static char *store_shared_uri;	/* [server] state; NULL: LMDB only */

static const char *const store_db_name[STORE_NDB] = {
	[STORE_ACCOUNTS] = "accounts",
	[STORE_COUNTERS] = "counters",
	[STORE_PLUGIN] = "plugin",
	[STORE_QUEUE] = "queue",
	[STORE_META] = "meta",
};

struct store {
	MDB_env		*env;
	struct pgstate	*pg;		/* the shared state, or NULL */
	MDB_dbi		 dbi[STORE_NDB];
	int		 ntxn;		/* transactions of this process now open */
	int		 wtxn;		/* one of them is a write transaction */
	int		 grow;		/* MAP_FULL seen: grow once ntxn is 0 */
	char		*dir;
};

struct store_txn {
	struct store	*s;
	MDB_txn		*txn;		/* NULL until first needed, with s->pg */
	int		 rdonly;
	int		 pgtx;		/* this txn began the shared one */
	int		 err;		/* last MDB error in this txn (MDB_MAP_FULL...),
					 * or STORE_ESHARED / STORE_ERETRY */
};

void
store_set_shared(const char *uri)
{
	free(store_shared_uri);
	store_shared_uri = uri != NULL && *uri != '\0' ? xstrdup(uri) : NULL;
}

int
store_shared_ready(struct store *s, char *why, size_t whysize)
{
	if (s->pg == NULL)
		return 0;
	return pgstate_ready(s->pg, why, whysize);
}

/*
 * store_is_shared - the entry KEY of DB lives in the shared state: every
 * database but the queue, and of META the records nodes must agree on
 * (blocks, POP-before-SMTP grants, login penalties, nodes, homes, files
 * carried by a move and the node key: node.h).  Once markers, the
 * MX cache, delay warnings, fetch state and the queue's suspension stay
 * with the node.
 */
int
store_shared(const struct store *s)
{
	return s != NULL && s->pg != NULL;
}

static int
store_is_shared(const struct store *s, enum store_db db, const void *key,
    size_t klen)
{
	static const char *const meta[] = { "block/", "login/", "popip/",
	    "authpen/", "node/", "home/", "carry/", "nodekey", NULL };
	size_t i, n;

	if (s->pg == NULL || db == STORE_QUEUE)
		return 0;
	if (db != STORE_META)
		return 1;
	for (i = 0; meta[i] != NULL; i++) {
		n = strlen(meta[i]);
		if (klen >= n && memcmp(key, meta[i], n) == 0)
			return 1;
	}
	return 0;
}

static const char *
store_strerror(int rc)
{
	if (rc == STORE_ESHARED)
		return "shared state unavailable";
	if (rc == STORE_ERETRY)
		return "shared state conflict";
	return mdb_strerror(rc);
}

void
store_counter_encode(unsigned char p[STORE_COUNTER_SIZE], long long v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 0; i < STORE_COUNTER_SIZE; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

int
store_counter_decode(const void *p, size_t len, long long *v_r)
{
	const unsigned char *b = p;
	uint64_t u = 0;
	int i;

	if (len != STORE_COUNTER_SIZE)
		return -1;
	for (i = STORE_COUNTER_SIZE - 1; i >= 0; i--)
		u = (u << 8) | b[i];
	*v_r = (long long)u;
	return 0;
}

/* store_dec_i64 - the 8-byte header (expiry) at P. */
static long long
store_dec_i64(const unsigned char *p)
{
	long long v;

	(void)store_counter_decode(p, STORE_COUNTER_SIZE, &v);
	return v;
}

/* store_live - 1 if the value V (with its header) has not expired. */
static int
store_live(const MDB_val *v, long long now, long long *expires_r)
{
	long long exp = store_dec_i64(v->mv_data);

	if (expires_r)
		*expires_r = exp;
	return exp == 0 || exp > now;
}

static const char *
store_dbname(enum store_db db)
{
	if ((unsigned)db >= STORE_NDB)
		log_panic("store: bad database %d", (int)db);
	return store_db_name[db];
}

/* store_dbi - the handle of DB; a bad DB is our bug. */
static MDB_dbi
store_dbi(const struct store *s, enum store_db db)
{
	if ((unsigned)db >= STORE_NDB)
		log_panic("store: bad database %d", (int)db);
	return s->dbi[db];
}

/*
 * store_grow - double the map (or adopt a larger size another process
 * recorded), only while no transaction of this process is open.  0 or -1.
 */
static int
store_grow(struct store *s)
{
	MDB_envinfo info;
	size_t old, want;
	int rc;

	if (s->ntxn > 0) {
		log_err("store: %s: map full while a transaction of this "
		    "process is still open", s->dir);
		return -1;
	}
	s->grow = 0;
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		goto fail;
	old = info.me_mapsize;
	/* a size of 0 takes the one in the meta page: another process may have
	 * grown the map past ours already */
	if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0)
		goto fail;
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		goto fail;
	if (info.me_mapsize > old) {
		log_info("store: %s: map adopted at %zu bytes", s->dir,
		    info.me_mapsize);
		return 0;
	}
	if (old >= STORE_MAP_MAX) {
		log_err("store: %s: map full at its ceiling of %zu bytes",
		    s->dir, (size_t)STORE_MAP_MAX);
		return -1;
	}
	want = old > STORE_MAP_MAX / 2 ? STORE_MAP_MAX : old * 2;
	if ((rc = mdb_env_set_mapsize(s->env, want)) != 0)
		goto fail;
	log_info("store: %s: map grown from %zu to %zu bytes", s->dir, old,
	    want);
	return 0;
fail:
	log_err("store: %s: cannot resize the map: %s", s->dir,
	    mdb_strerror(rc));
	return -1;
}

/*
 * store_begin - mdb_txn_begin that adopts a map grown by another process
 * and clears stale readers when the reader table is full.  MDB error code.
 */
static int
store_begin(struct store *s, unsigned flags, MDB_txn **txn_r)
{
	int rc = 0, tries, checked = 0, dead;

	if (!(flags & MDB_RDONLY) && s->wtxn)
		log_panic("store: second write transaction in one process");
	if (s->grow && s->ntxn == 0)
		(void)store_grow(s);
	for (tries = 0; tries < STORE_BEGIN_TRIES; tries++) {
		rc = mdb_txn_begin(s->env, NULL, flags, txn_r);
		if (rc == 0) {
			s->ntxn++;
			if (!(flags & MDB_RDONLY))
				s->wtxn = 1;
			return 0;
		}
		if (rc == MDB_MAP_RESIZED && s->ntxn == 0) {
			if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0)
				break;
			continue;
		}
		if (rc == MDB_READERS_FULL && !checked) {
			checked = 1;
			dead = 0;
			(void)mdb_reader_check(s->env, &dead);
			if (dead > 0)
				log_warn("store: %s: cleared %d stale readers",
				    s->dir, dead);
			continue;
		}
		break;
	}
	return rc;
}

/* store_end - bookkeeping after a transaction is committed or aborted. */
static void
store_end(struct store *s, int rdonly)
{
	s->ntxn--;
	if (!rdonly)
		s->wtxn = 0;
}

int
store_open(struct store **store_r, const char *dir, const char **error_r)
{
	struct store *s;
	MDB_txn *txn;
	int rc, i, dead;

	*store_r = NULL;
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	if ((rc = mdb_env_create(&s->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_maxdbs(s->env, STORE_NDB)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, STORE_MAP_INITIAL)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, STORE_MAX_READERS)) != 0)
		goto fail;
	if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS, STORE_FILE_MODE)) != 0)
		goto fail;
	/* an existing environment may have grown past the initial size */
	if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0)
		goto fail;
	dead = 0;
	if ((rc = mdb_reader_check(s->env, &dead)) != 0)
		goto fail;
	if (dead > 0)
		log_info("store: %s: cleared %d stale readers", dir, dead);
	if ((rc = store_begin(s, 0, &txn)) != 0)
		goto fail;
	for (i = 0; i < STORE_NDB; i++) {
		rc = mdb_dbi_open(txn, store_db_name[i], MDB_CREATE, &s->dbi[i]);
		if (rc != 0) {
			mdb_txn_abort(txn);
			store_end(s, 0);
			goto fail;
		}
	}
	rc = mdb_txn_commit(txn);
	store_end(s, 0);
	if (rc != 0)
		goto fail;
	if (store_shared_uri != NULL)
		s->pg = pgstate_new(store_shared_uri);
	*store_r = s;
	return 0;
fail:
	*error_r = mdb_strerror(rc);
	if (s->env)
		mdb_env_close(s->env);
	free(s->dir);
	free(s);
	return -1;
}

void
store_close(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	if (s->ntxn > 0)
		log_panic("store: close with %d transactions open", s->ntxn);
	mdb_env_close(s->env);
	pgstate_free(&s->pg);
	free(s->dir);
	free(s);
	*sp = NULL;
}

int
store_txn_begin(struct store *s, int rdonly, struct store_txn **txn_r)
{
	struct store_txn *t;
	MDB_txn *txn;
	int rc;

	*txn_r = NULL;
	if (s->pg != NULL) {
		/* each side begins when first used (store_lmdb, store_pg):
		 * a transaction of shared data alone holds no LMDB lock */
		t = xcalloc(1, sizeof(*t));
		t->s = s;
		t->rdonly = rdonly;
		*txn_r = t;
		return 0;
	}
	rc = store_begin(s, rdonly ? MDB_RDONLY : 0, &txn);
	if (rc != 0) {
		log_err("store: %s: cannot begin a %s transaction: %s", s->dir,
		    rdonly ? "read" : "write", mdb_strerror(rc));
		return -1;
	}
	t = xcalloc(1, sizeof(*t));
	t->s = s;
	t->txn = txn;
	t->rdonly = rdonly;
	*txn_r = t;
	return 0;
}

/*
 * store_txn_finish - commit (or abort) *TXN and free it; the MDB code of
 * the commit, or the error that left the transaction unusable.
 */
static int
store_txn_finish(struct store_txn **tp, int commit)
{
	struct store_txn *t = *tp;
	struct store *s;
	int rc = 0, r;

	if (t == NULL)
		return 0;
	s = t->s;
	/* the shared side first: its loss (a node reading the same row)
	 * matters more than a local step repeated */
	if (t->pgtx) {
		if (commit && t->err == 0) {
			r = pgstate_commit(s->pg);
			if (r != PGSTATE_OK)
				t->err = r == PGSTATE_RETRY ? STORE_ERETRY :
				    STORE_ESHARED;
		} else
			pgstate_rollback(s->pg);
	}
	if (t->txn == NULL)
		rc = commit ? t->err : 0;
	else if (commit && t->err != 0) {
		/* a failed put poisons an LMDB write transaction */
		mdb_txn_abort(t->txn);
		rc = t->err;
	} else if (commit)
		rc = mdb_txn_commit(t->txn);
	else
		mdb_txn_abort(t->txn);
	if (rc == MDB_MAP_FULL || t->err == MDB_MAP_FULL)
		s->grow = 1;
	if (t->txn != NULL)
		store_end(s, t->rdonly);
	free(t);
	*tp = NULL;
	return rc;
}

int
store_txn_commit(struct store_txn **tp)
{
	struct store *s;
	int rc;

	if (*tp == NULL)
		return -1;
	s = (*tp)->s;
	rc = store_txn_finish(tp, 1);
	if (rc != 0) {
		log_err("store: %s: commit failed: %s", s->dir,
		    store_strerror(rc));
		return -1;
	}
	return 0;
}

void
store_txn_abort(struct store_txn **tp)
{
	(void)store_txn_finish(tp, 0);
}

/* store_lmdb - T's LMDB transaction, begun now if not yet.  0 or -1. */
static int
store_lmdb(struct store_txn *t)
{
	int rc;

	if (t->txn != NULL)
		return 0;
	rc = store_begin(t->s, t->rdonly ? MDB_RDONLY : 0, &t->txn);
	if (rc != 0) {
		t->txn = NULL;
		t->err = rc;
		log_err("store: %s: cannot begin a %s transaction: %s",
		    t->s->dir, t->rdonly ? "read" : "write", mdb_strerror(rc));
		return -1;
	}
	return 0;
}

/* store_pg - T's shared transaction, begun now if T writes and it has
 * not; reads outside a write run alone.  0 or -1. */
static int
store_pg(struct store_txn *t)
{
	if (t->err == STORE_ESHARED || t->err == STORE_ERETRY)
		return -1;	/* lost already: no statement more */
	if (t->rdonly || t->pgtx)
		return 0;
	if (pgstate_begin(t->s->pg) == -1) {
		t->err = STORE_ESHARED;
		return -1;
	}
	t->pgtx = 1;
	return 0;
}

/* store_pg_fail - a shared operation of T failed: T is not committed. */
static int
store_pg_fail(struct store_txn *t)
{
	if (!t->rdonly)
		t->err = pgstate_conflict(t->s->pg) ? STORE_ERETRY :
		    STORE_ESHARED;
	return -1;
}

/* store_fail - record RC in the txn; log it unless store_write handles it. */
static void
store_fail(struct store_txn *t, const char *op, enum store_db db, int rc)
{
	t->err = rc;
	if (rc == MDB_MAP_FULL)
		log_debug("store: %s %s: %s (map will grow)", op,
		    store_dbname(db), mdb_strerror(rc));
	else
		log_err("store: %s: %s %s: %s", t->s->dir, op, store_dbname(db),
		    mdb_strerror(rc));
}

int
store_tget(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, struct buf *val, long long *expires_r)
{
	MDB_val k, v;
	long long exp;
	int rc;

	if (store_is_shared(t->s, db, key, klen)) {
		if (store_pg(t) == -1)
			return -1;
		rc = pgstate_get(t->s->pg, (int)db, key, klen, val, expires_r);
		return rc == -1 ? store_pg_fail(t) : rc;
	}
	if (store_lmdb(t) == -1)
		return -1;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_get(t->txn, store_dbi(t->s, db), &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		store_fail(t, "get from", db, rc);
		return -1;
	}
	if (v.mv_size < STORE_HDR) {
		log_err("store: %s: corrupt value in %s (%zu bytes)", t->s->dir,
		    store_dbname(db), v.mv_size);
		return -1;
	}
	if (!store_live(&v, time_now(), &exp))
		return 0;
	buf_reset(val);
	if (buf_append(val, (const char *)v.mv_data + STORE_HDR,
	    v.mv_size - STORE_HDR) == -1) {
		log_err("store: %s: value in %s too large for the buffer "
		    "(%zu bytes)", t->s->dir, store_dbname(db),
		    v.mv_size - STORE_HDR);
		return -1;
	}
	if (expires_r)
		*expires_r = exp;
	return 1;
}

int
store_tput(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen, long long expires)
{
	MDB_val k, v;
	int rc;

	if (t->rdonly)
		log_panic("store: put in a read-only transaction");
	if (vlen > SIZE_MAX - STORE_HDR) {
		log_err("store: value too large");
		return -1;
	}
	if (store_is_shared(t->s, db, key, klen)) {
		if (store_pg(t) == -1)
			return -1;
		if (pgstate_put(t->s->pg, (int)db, key, klen, val, vlen,
		    expires) == -1)
			return store_pg_fail(t);
		return 0;
	}
	if (store_lmdb(t) == -1)
		return -1;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_data = NULL;
	v.mv_size = vlen + STORE_HDR;
	/* MDB_RESERVE: LMDB hands out the space and we fill it in place */
	rc = mdb_put(t->txn, store_dbi(t->s, db),
	    &k, &v, MDB_RESERVE);
	if (rc != 0) {
		store_fail(t, "put in", db, rc);
		return -1;
	}
	store_counter_encode(v.mv_data, expires);
	if (vlen > 0)
		memcpy((char *)v.mv_data + STORE_HDR, val, vlen);
	return 0;
}

int
store_tdel(struct store_txn *t, enum store_db db, const void *key,
    size_t klen)
{
	MDB_val k, v;
	int rc, live;

	if (t->rdonly)
		log_panic("store: delete in a read-only transaction");
	if (store_is_shared(t->s, db, key, klen)) {
		if (store_pg(t) == -1)
			return -1;
		rc = pgstate_del(t->s->pg, (int)db, key, klen);
		return rc == -1 ? store_pg_fail(t) : rc;
	}
	if (store_lmdb(t) == -1)
		return -1;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_get(t->txn, store_dbi(t->s, db), &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		store_fail(t, "get from", db, rc);
		return -1;
	}
	live = v.mv_size >= STORE_HDR && store_live(&v, time_now(), NULL);
	rc = mdb_del(t->txn, store_dbi(t->s, db), &k, NULL);
	if (rc != 0) {
		store_fail(t, "delete from", db, rc);
		return -1;
	}
	return live ? 1 : 0;
}

int
store_titer(struct store_txn *t, enum store_db db, const void *prefix,
    size_t plen, store_iter_fn *fn, void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_cursor_op op;
	long long now = time_now(), exp;
	int rc, r = 0;

	/* a META walk is shared when its prefix names a shared kind */
	if (store_is_shared(t->s, db, prefix, plen)) {
		if (store_pg(t) == -1)
			return -1;
		r = pgstate_iter(t->s->pg, (int)db, prefix, plen, fn, ctx);
		return r == -1 ? store_pg_fail(t) : r;
	}
	if (store_lmdb(t) == -1)
		return -1;
	rc = mdb_cursor_open(t->txn, store_dbi(t->s, db),
	    &cur);
	if (rc != 0) {
		store_fail(t, "cursor on", db, rc);
		return -1;
	}
	k.mv_data = (void *)prefix;
	k.mv_size = plen;
	op = plen > 0 ? MDB_SET_RANGE : MDB_FIRST;
	for (;;) {
		rc = mdb_cursor_get(cur, &k, &v, op);
		op = MDB_NEXT;
		if (rc == MDB_NOTFOUND)
			break;
		if (rc != 0) {
			store_fail(t, "iterate over", db, rc);
			r = -1;
			break;
		}
		if (plen > 0 && (k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if (v.mv_size < STORE_HDR) {
			log_err("store: %s: corrupt value in %s (%zu bytes)",
			    t->s->dir, store_dbname(db), v.mv_size);
			r = -1;
			break;
		}
		if (!store_live(&v, now, &exp))
			continue;
		r = fn(ctx, k.mv_data, k.mv_size, (const char *)v.mv_data +
		    STORE_HDR, v.mv_size - STORE_HDR, exp);
		if (r != 0)
			break;
	}
	mdb_cursor_close(cur);
	return r;
}

int
store_write(struct store *s, store_write_fn *fn, void *ctx)
{
	struct store_txn *t;
	int tries, r, rc, conflicts = 0;

	for (tries = 0; tries < STORE_WRITE_TRIES; tries++) {
		if (store_txn_begin(s, 0, &t) == -1)
			return -1;
		r = fn(t, ctx);
		if (t->err == STORE_ERETRY && conflicts++ < STORE_SHARED_TRIES) {
			/* another node wrote the same rows: run again */
			store_txn_abort(&t);
			usleep(1000 * (unsigned)conflicts);
			tries--;
			continue;
		}
		if (t->err == MDB_MAP_FULL) {
			/* whatever FN made of the failed put: grow and rerun */
			store_txn_abort(&t);
			if (store_grow(s) == -1)
				return -1;
			continue;
		}
		if (r != 0) {
			store_txn_abort(&t);
			return r;
		}
		rc = store_txn_finish(&t, 1);
		if (rc == MDB_MAP_FULL) {
			if (store_grow(s) == -1)
				return -1;
			continue;
		}
		if (rc == STORE_ERETRY && conflicts++ < STORE_SHARED_TRIES) {
			usleep(1000 * (unsigned)conflicts);
			tries--;
			continue;
		}
		if (rc != 0) {
			log_err("store: %s: commit failed: %s", s->dir,
			    store_strerror(rc));
			return -1;
		}
		return 0;
	}
	log_err("store: %s: write gave up after %d attempts", s->dir, tries);
	return -1;
}

int
store_write_lazy(struct store *s, store_write_fn *fn, void *ctx)
{
	int r;

	if (mdb_env_set_flags(s->env, MDB_NOMETASYNC, 1) != 0)
		return store_write(s, fn, ctx);
	r = store_write(s, fn, ctx);
	(void)mdb_env_set_flags(s->env, MDB_NOMETASYNC, 0);
	return r;
}

int
store_sync(struct store *s)
{
	int rc = mdb_env_sync(s->env, 1);

	if (rc != 0) {
		log_err("store: %s: sync failed: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	return 0;
}

int
store_get(struct store *s, enum store_db db, const void *key, size_t klen,
    struct buf *val)
{
	struct store_txn *t;
	int r;

	if (store_txn_begin(s, 1, &t) == -1)
		return -1;
	r = store_tget(t, db, key, klen, val, NULL);
	store_txn_abort(&t);
	return r;
}

struct store_put_ctx {
	enum store_db	 db;
	const void	*key;
	size_t		 klen;
	const void	*val;
	size_t		 vlen;
	long long	 expires;
	long long	 delta;
	long long	 result;
};

static int
store_put_fn(struct store_txn *t, void *ctx)
{
	struct store_put_ctx *c = ctx;

	return store_tput(t, c->db, c->key, c->klen, c->val, c->vlen,
	    c->expires) == -1 ? -1 : 0;
}

int
store_put(struct store *s, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen, long long expires)
{
	struct store_put_ctx c = { db, key, klen, val, vlen, expires, 0, 0 };

	return store_write(s, store_put_fn, &c) == 0 ? 0 : -1;
}

static int
store_del_fn(struct store_txn *t, void *ctx)
{
	struct store_put_ctx *c = ctx;
	int r;

	r = store_tdel(t, c->db, c->key, c->klen);
	if (r == -1)
		return -1;
	c->result = r;
	return 0;
}

int
store_del(struct store *s, enum store_db db, const void *key, size_t klen)
{
	struct store_put_ctx c = { db, key, klen, NULL, 0, 0, 0, 0 };

	if (store_write(s, store_del_fn, &c) != 0)
		return -1;
	return (int)c.result;
}

static int
store_incr_fn(struct store_txn *t, void *ctx)
{
	struct store_put_ctx *c = ctx;
	unsigned char enc[STORE_COUNTER_SIZE];
	struct buf b;
	long long cur = 0, exp = c->expires;
	int r;

	buf_init(&b, 64);
	r = store_tget(t, c->db, c->key, c->klen, &b, &exp);	/* keeps its expiry */
	if (r == 1) {
		if (store_counter_decode(b.data, b.len, &cur) == -1) {
			log_err("store: counter in %s is %zu bytes, not %d",
			    store_dbname(c->db), b.len, STORE_COUNTER_SIZE);
			buf_free(&b);
			return -1;
		}
	}
	buf_free(&b);
	if (r == -1)
		return -1;
	if (__builtin_add_overflow(cur, c->delta, &c->result)) {
		log_err("store: counter in %s would overflow",
		    store_dbname(c->db));
		return -1;
	}
	store_counter_encode(enc, c->result);
	return store_tput(t, c->db, c->key, c->klen, enc, sizeof(enc), exp) ==
	    -1 ? -1 : 0;
}

int
store_incr(struct store *s, enum store_db db, const void *key, size_t klen,
    long long delta, long long expires, long long *value_r)
{
	struct store_put_ctx c = { db, key, klen, NULL, 0, expires, delta, 0 };

	if (store_write(s, store_incr_fn, &c) != 0)
		return -1;
	if (value_r)
		*value_r = c.result;
	return 0;
}

struct store_expire_ctx {
	long long	n;
};

static int
store_expire_fn(struct store_txn *t, void *ctx)
{
	struct store_expire_ctx *c = ctx;
	MDB_cursor *cur;
	MDB_val k, v;
	long long now = time_now();
	int i, rc;

	c->n = 0;
	if (store_lmdb(t) == -1)
		return -1;
	for (i = 0; i < STORE_NDB; i++) {
		rc = mdb_cursor_open(t->txn, t->s->dbi[i], &cur);
		if (rc != 0) {
			store_fail(t, "cursor on", (enum store_db)i, rc);
			return -1;
		}
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
			if (v.mv_size >= STORE_HDR && store_live(&v, now, NULL))
				continue;
			/* expired, or too short to be ours: away with it */
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			c->n++;
		}
		mdb_cursor_close(cur);
		if (rc != MDB_NOTFOUND) {
			store_fail(t, "expire in", (enum store_db)i, rc);
			return -1;
		}
	}
	return 0;
}

long long
store_expire(struct store *s)
{
	struct store_expire_ctx c = { 0 };
	long long n;

	if (store_write(s, store_expire_fn, &c) != 0)
		return -1;
	if (s->pg != NULL) {
		/* every node does it; what one deleted the others find gone */
		if ((n = pgstate_expire(s->pg)) == -1)
			return -1;
		c.n += n;
	}
	return c.n;
}

size_t
store_mapsize(struct store *s)
{
	MDB_envinfo info;

	if (mdb_env_info(s->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}
