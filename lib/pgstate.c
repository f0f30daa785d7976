/*
 * pgstate.c - the shared state in PostgreSQL through libpq; see pgstate.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"
#include "pgstate.h"
#include "util.h"

#define PG_RETRY_MS	1000		/* between connection attempts */
#define PG_LOG_MS	60000		/* a lasting outage: one line a minute */
#define PG_LOCK_KEY	"7953920015"	/* advisory lock of the schema set-up */

/* the statements, prepared on each connection: parsed and planned once */
enum pg_stmt { PS_GET, PS_PUT, PS_DEL, PS_ITER, PS_EXPIRE, PS_N };

static const struct {
	const char	*name;
	int		 nparams;
	const char	*sql;
} pg_stmts[PS_N] = {
	[PS_GET] = { "yubin_get", 3,
	    "SELECT v, expires FROM yubin_kv WHERE db = $1::smallint AND"
	    " k = $2::bytea AND (expires = 0 OR expires > $3::bigint)" },
	[PS_PUT] = { "yubin_put", 4,
	    "INSERT INTO yubin_kv (db, k, v, expires) VALUES ($1::smallint,"
	    " $2::bytea, $3::bytea, $4::bigint) ON CONFLICT (db, k) DO UPDATE"
	    " SET v = EXCLUDED.v, expires = EXCLUDED.expires" },
	[PS_DEL] = { "yubin_del", 3,
	    "DELETE FROM yubin_kv WHERE db = $1::smallint AND k = $2::bytea"
	    " RETURNING (expires = 0 OR expires > $3::bigint)" },
	/* k >= prefix lets the primary key find the first one */
	[PS_ITER] = { "yubin_iter", 4,
	    "SELECT k, v, expires FROM yubin_kv WHERE db = $1::smallint AND"
	    " k >= $2::bytea AND substr(k, 1, $3::integer) = $2::bytea AND"
	    " (expires = 0 OR expires > $4::bigint) ORDER BY k" },
	[PS_EXPIRE] = { "yubin_expire", 1,
	    "DELETE FROM yubin_kv WHERE expires > 0 AND expires <= $1::bigint" },
};

struct pgstate {
	char		*uri;
	PGconn		*conn;
	pid_t		 pid;		/* the process that opened conn */
	int		 intx;		/* a transaction is open */
	int		 txbad;		/* a statement of it failed */
	int		 conflict;	/* the last failure: 40001 / 40P01 */
	int		 newer;		/* the schema is newer than ours */
	long long	 next_ms;	/* no attempt to connect before */
	long long	 logged_ms;	/* last outage line */
	int		 down;		/* the last attempt failed */
	char		 why[256];
};

int
pgstate_uri_check(const char *uri, char *why, size_t whysize)
{
	PQconninfoOption *o;
	char *err = NULL;

	if (strncmp(uri, "postgresql://", 13) != 0 &&
	    strncmp(uri, "postgres://", 11) != 0) {
		snprintf(why, whysize, "not a postgresql:// URI");
		return -1;
	}
	o = PQconninfoParse(uri, &err);
	if (o == NULL) {
		snprintf(why, whysize, "%s", err ? err : "cannot be parsed");
		if (err)
			PQfreemem(err);
		/* libpq's message ends in a newline */
		why[strcspn(why, "\n")] = '\0';
		return -1;
	}
	PQconninfoFree(o);
	return 0;
}

struct pgstate *
pgstate_new(const char *uri)
{
	struct pgstate *p = xcalloc(1, sizeof(*p));

	p->uri = xstrdup(uri);
	return p;
}

/* pg_forget - the connection dropped; one inherited across fork is the
 * parent's: only our descriptor of it is closed. */
static void
pg_forget(struct pgstate *p)
{
	if (p->conn == NULL)
		return;
	if (p->pid != getpid())
		(void)close(PQsocket(p->conn));	/* the struct stays, unused */
	else
		PQfinish(p->conn);
	p->conn = NULL;
	if (p->intx)
		p->txbad = 1;	/* lost with it: never reported committed */
}

void
pgstate_free(struct pgstate **pp)
{
	struct pgstate *p = *pp;

	if (p == NULL)
		return;
	pg_forget(p);
	free(p->uri);
	free(p);
	*pp = NULL;
}

/* pg_down - note a failure to reach the server: logged when it starts,
 * then once a minute. */
static void
pg_down(struct pgstate *p, const char *what)
{
	long long now = now_ms();

	snprintf(p->why, sizeof(p->why), "%s", what);
	p->why[strcspn(p->why, "\n")] = '\0';
	if (!p->down || now - p->logged_ms >= PG_LOG_MS) {
		log_err("state: PostgreSQL: %s", p->why);
		p->logged_ms = now;
	}
	p->down = 1;
	p->next_ms = now + PG_RETRY_MS;
}

/* pg_notice - the server's notices ("already exists, skipping") are not
 * for the logs, nor for a tool's standard error. */
static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* pg_schema - create the tables when missing; check the version.  0/-1. */
static int
pg_schema(struct pgstate *p)
{
	static const char setup[] =
	    "BEGIN;"
	    "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ");"
	    "CREATE TABLE IF NOT EXISTS yubin_schema (version integer NOT NULL);"
	    "CREATE TABLE IF NOT EXISTS yubin_kv (db smallint NOT NULL,"
	    " k bytea NOT NULL, v bytea NOT NULL, expires bigint NOT NULL"
	    " DEFAULT 0, PRIMARY KEY (db, k));"
	    "INSERT INTO yubin_schema (version) SELECT 1 WHERE NOT EXISTS"
	    " (SELECT 1 FROM yubin_schema);"
	    "COMMIT;";
	PGresult *r;
	long v;

	r = PQexec(p->conn, setup);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_down(p, PQerrorMessage(p->conn));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	r = PQexec(p->conn, "SELECT max(version) FROM yubin_schema");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		pg_down(p, PQerrorMessage(p->conn));
		PQclear(r);
		return -1;
	}
	v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (v > PGSTATE_SCHEMA) {
		p->newer = 1;
		snprintf(p->why, sizeof(p->why), "schema version %ld is newer "
		    "than this yubind's (%d): upgrade yubind", v, PGSTATE_SCHEMA);
		log_err("state: PostgreSQL: %s", p->why);
		return -1;
	}
	return 0;
}

/* pg_prepare - every statement of pg_stmts on the new connection.  0/-1. */
static int
pg_prepare(struct pgstate *p)
{
	PGresult *r;
	int i, ok;

	for (i = 0; i < PS_N; i++) {
		r = PQprepare(p->conn, pg_stmts[i].name, pg_stmts[i].sql,
		    pg_stmts[i].nparams, NULL);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok) {
			pg_down(p, PQerrorMessage(p->conn));
			return -1;
		}
	}
	return 0;
}

/* pg_connect - a working connection of this process.  0/-1. */
static int
pg_connect(struct pgstate *p)
{
	const char *kw[] = { "connect_timeout", "tcp_user_timeout",
	    "application_name", "dbname", NULL };
	const char *val[] = { "3", "10000", "yubind", p->uri, NULL };

	if (p->newer)
		return -1;
	if (p->conn != NULL && p->pid != getpid())
		pg_forget(p);
	if (p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK)
		return 0;
	pg_forget(p);
	if (now_ms() < p->next_ms)
		return -1;
	/* the URI comes last: what it says wins over our defaults */
	p->conn = PQconnectdbParams(kw, val, 1);
	p->pid = getpid();
	if (p->conn != NULL)
		PQsetNoticeProcessor(p->conn, pg_notice, NULL);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		pg_down(p, p->conn ? PQerrorMessage(p->conn) : "out of memory");
		pg_forget(p);
		return -1;
	}
	if (pg_schema(p) == -1 || pg_prepare(p) == -1) {
		pg_forget(p);
		if (!p->newer)
			p->next_ms = now_ms() + PG_RETRY_MS;
		return -1;
	}
	if (p->down)
		log_info("state: PostgreSQL reachable again");
	p->down = 0;
	return 0;
}

int
pgstate_ready(struct pgstate *p, char *why, size_t whysize)
{
	p->next_ms = 0;		/* asked now: try now */
	if (pg_connect(p) == 0)
		return 0;
	snprintf(why, whysize, "%s", p->why[0] ? p->why : "cannot connect");
	return p->newer ? -2 : -1;
}

/*
 * pg_exec - run statement ST with its parameters VALS (LENS, FMTS: text
 * or binary), results in binary.  The result of a successful statement, or
 * NULL (logged; the transaction, if any, marked failed).  A statement
 * outside a transaction whose connection had dropped (a restarted
 * server) is run once more on a new one.
 */
static PGresult *
pg_exec(struct pgstate *p, enum pg_stmt st_id, const char *const *vals,
    const int *lens, const int *fmts)
{
	PGresult *r;
	ExecStatusType st;
	const char *code;
	int again;

	if (p->intx && p->txbad)
		return NULL;	/* the transaction is lost already */
	for (again = !p->intx;; again = 0) {
		if (!p->intx && pg_connect(p) == -1)
			return NULL;
		if (p->intx && (p->conn == NULL || p->pid != getpid()))
			return NULL;
		r = PQexecPrepared(p->conn, pg_stmts[st_id].name,
		    pg_stmts[st_id].nparams, vals, lens, fmts, 1);
		st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			return r;
		code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		p->conflict = code != NULL && (strcmp(code, "40001") == 0 ||
		    strcmp(code, "40P01") == 0);
		if (p->intx)
			p->txbad = 1;
		if (PQstatus(p->conn) != CONNECTION_OK) {
			PQclear(r);
			pg_down(p, PQerrorMessage(p->conn));
			pg_forget(p);
			p->next_ms = 0;		/* may come back at once */
			if (again)
				continue;
			p->next_ms = now_ms() + PG_RETRY_MS;
			return NULL;
		}
		if (!p->conflict)
			log_err("state: PostgreSQL: %s", PQerrorMessage(p->conn));
		PQclear(r);
		return NULL;
	}
}

int
pgstate_begin(struct pgstate *p)
{
	PGresult *r;

	if (p->intx)
		log_panic("state: second shared transaction in one process");
	if (pg_connect(p) == -1)
		return -1;
	r = PQexec(p->conn, "BEGIN ISOLATION LEVEL SERIALIZABLE");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_down(p, PQerrorMessage(p->conn));
		PQclear(r);
		pg_forget(p);
		return -1;
	}
	PQclear(r);
	p->intx = 1;
	p->txbad = 0;
	p->conflict = 0;
	return 0;
}

int
pgstate_commit(struct pgstate *p)
{
	PGresult *r;
	const char *code;
	int ok, rc;

	if (!p->intx)
		return PGSTATE_OK;
	if (p->txbad) {
		rc = p->conflict ? PGSTATE_RETRY : PGSTATE_FAIL;
		pgstate_rollback(p);
		return rc;
	}
	if (p->conn == NULL || p->pid != getpid()) {
		p->intx = 0;
		return PGSTATE_FAIL;
	}
	r = PQexec(p->conn, "COMMIT");
	/* a transaction that failed answers COMMIT with "ROLLBACK" */
	ok = PQresultStatus(r) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdStatus(r), "COMMIT") == 0;
	code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	p->conflict = code != NULL && (strcmp(code, "40001") == 0 ||
	    strcmp(code, "40P01") == 0);
	if (!ok && !p->conflict)
		log_err("state: PostgreSQL: commit failed: %s",
		    PQerrorMessage(p->conn));
	PQclear(r);
	p->intx = 0;
	p->txbad = 0;
	if (PQstatus(p->conn) != CONNECTION_OK)
		pg_forget(p);
	if (ok)
		return PGSTATE_OK;
	return p->conflict ? PGSTATE_RETRY : PGSTATE_FAIL;
}

void
pgstate_rollback(struct pgstate *p)
{
	if (!p->intx)
		return;
	p->intx = 0;
	p->txbad = 0;
	if (p->conn != NULL && p->pid == getpid())
		PQclear(PQexec(p->conn, "ROLLBACK"));
	if (p->conn != NULL && PQstatus(p->conn) != CONNECTION_OK)
		pg_forget(p);
}

int
pgstate_in_txn(const struct pgstate *p)
{
	return p->intx;
}

int
pgstate_conflict(const struct pgstate *p)
{
	return p->conflict;
}

/* be64 - the big-endian int8 of a binary result. */
static long long
be64(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t u = 0;
	int i;

	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (long long)u;
}

/* pg_key_exec - statement ST on the entry KEY of DB: $1 the database,
 * $2 the key, $3 the time now (for the expiry).  As pg_exec. */
static PGresult *
pg_key_exec(struct pgstate *p, enum pg_stmt st, int db, const void *key,
    size_t klen)
{
	char dbs[16], nows[32];
	const char *vals[3] = { dbs, key ? key : "", nows };
	int lens[3] = { 0, (int)klen, 0 }, fmts[3] = { 0, 1, 0 };

	snprintf(dbs, sizeof(dbs), "%d", db);
	snprintf(nows, sizeof(nows), "%lld", time_now());
	return pg_exec(p, st, vals, lens, fmts);
}

int
pgstate_get(struct pgstate *p, int db, const void *key, size_t klen,
    struct buf *val, long long *expires_r)
{
	PGresult *r;
	int found;

	r = pg_key_exec(p, PS_GET, db, key, klen);
	if (r == NULL)
		return -1;
	found = PQntuples(r) == 1;
	if (found) {
		buf_reset(val);
		if (buf_append(val, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0)) == -1) {
			log_err("state: value too large for the buffer");
			PQclear(r);
			return -1;
		}
		if (expires_r)
			*expires_r = be64(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return found;
}

int
pgstate_put(struct pgstate *p, int db, const void *key, size_t klen,
    const void *val, size_t vlen, long long expires)
{
	char dbs[16], exps[32];
	const char *vals[4] = { dbs, key ? key : "", val ? val : "", exps };
	int lens[4] = { 0, (int)klen, (int)vlen, 0 }, fmts[4] = { 0, 1, 1, 0 };
	PGresult *r;

	if (klen > INT32_MAX || vlen > INT32_MAX) {
		log_err("state: value too large");
		return -1;
	}
	snprintf(dbs, sizeof(dbs), "%d", db);
	snprintf(exps, sizeof(exps), "%lld", expires);
	r = pg_exec(p, PS_PUT, vals, lens, fmts);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
pgstate_del(struct pgstate *p, int db, const void *key, size_t klen)
{
	PGresult *r;
	int live;

	r = pg_key_exec(p, PS_DEL, db, key, klen);
	if (r == NULL)
		return -1;
	live = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 &&
	    PQgetvalue(r, 0, 0)[0] != 0;
	PQclear(r);
	return live;
}

int
pgstate_iter(struct pgstate *p, int db, const void *prefix, size_t plen,
    pgstate_iter_fn *fn, void *ctx)
{
	char dbs[16], nows[32], lens_s[16];
	const char *vals[4] = { dbs, prefix ? prefix : "", lens_s, nows };
	int lens[4] = { 0, (int)plen, 0, 0 }, fmts[4] = { 0, 1, 0, 0 };
	PGresult *r;
	int i, n, rc = 0;

	snprintf(dbs, sizeof(dbs), "%d", db);
	snprintf(lens_s, sizeof(lens_s), "%zu", plen);
	snprintf(nows, sizeof(nows), "%lld", time_now());
	r = pg_exec(p, PS_ITER, vals, lens, fmts);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(ctx, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0),
		    PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1),
		    be64(PQgetvalue(r, i, 2)));
	PQclear(r);
	return rc;
}

long long
pgstate_expire(struct pgstate *p)
{
	char nows[32];
	const char *vals[1] = { nows };
	int lens[1] = { 0 }, fmts[1] = { 0 };
	PGresult *r;
	long long n;

	snprintf(nows, sizeof(nows), "%lld", time_now());
	r = pg_exec(p, PS_EXPIRE, vals, lens, fmts);
	if (r == NULL)
		return -1;
	n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}
