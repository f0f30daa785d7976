/*
 * queue.c - the durable incoming queue; see queue.h.
 *
 * Runs in SMTP workers (queue_in_*) and the queue manager (the rest), as the
 * server user.  Never answers a client itself: it tells the caller whether
 * the message is on stable storage.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "dsn.h"
#include "log.h"
#include "qcommit.h"
#include "queue.h"
#include "store.h"
#include "util.h"

#define QUEUE_WBUF	65536		/* write buffer of an incoming message */
#define ENV_RCPT_MAX	100000		/* recipients a decoded envelope may hold */
#define ENV_MAX		(64 * 1024 * 1024) /* encoded envelope ceiling */

struct queue_in {
	char	 id[QUEUE_ID_LEN + 1];
	char	 path[PATH_MAX];
	char	 dir[PATH_MAX];
	char	 home[PATH_MAX];
	int	 fd;
	struct buf wbuf;
	long long size;
};

void
envelope_add_rcpt(struct envelope *e, const char *addr, const char *account)
{
	struct env_rcpt *r;

	e->rcpt = xrealloc(e->rcpt, (e->nrcpt + 1) * sizeof(*e->rcpt));
	r = &e->rcpt[e->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrdup(addr);
	r->account = account ? xstrdup(account) : NULL;
}

void
envelope_clear(struct envelope *e)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr);
		free(e->rcpt[i].account);
		free(e->rcpt[i].last_error);
		free(e->rcpt[i].orcpt);
	}
	free(e->rcpt);
	free(e->sender);
	free(e->dsn_envid);
	memset(e, 0, sizeof(*e));
}

/* env_put - one field: %XX-escape everything but printable non-space ASCII;
 * NULL is written as "-" and "-" itself as %2D. */
static void
env_put(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	buf_putc(out, ' ');
	if (s == NULL) {
		buf_putc(out, '-');
		return;
	}
	if (*s == '\0') {
		buf_puts(out, "%");	/* empty string */
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		/* "-" alone would read back as NULL: escape it */
		if (*p > 0x20 && *p < 0x7f && *p != '%' &&
		    !(*p == '-' && strcmp(s, "-") == 0))
			buf_putc(out, *p);
		else {
			buf_putc(out, '%');
			buf_putc(out, hex[*p >> 4]);
			buf_putc(out, hex[*p & 15]);
		}
	}
}

void
envelope_encode(const struct envelope *e, struct buf *out)
{
	size_t i;

	buf_reset(out);
	buf_printf(out, "E1 %lld %lld %lld %lld %d %d", e->arrival, e->size,
	    e->size_crlf, e->release_at, e->body_8bit, e->smtputf8);
	env_put(out, e->sender ? e->sender : "");
	env_put(out, e->client_ip);
	env_put(out, e->helo);
	env_put(out, e->auth_user);
	buf_putc(out, '\n');
	if (e->hold || e->held > 0) {
		buf_printf(out, "H %d %lld %lld", e->hold ? 1 : 0, e->hold_since,
		    e->held);
		env_put(out, e->hold_reason);
		buf_putc(out, '\n');
	}
	if (e->dsn_ret != 0 || e->dsn_envid != NULL) {
		buf_printf(out, "D %d", e->dsn_ret);
		env_put(out, e->dsn_envid);
		buf_putc(out, '\n');
	}
	for (i = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		buf_printf(out, "R %d %d %lld", r->state, r->attempts, r->next_try);
		env_put(out, r->addr);
		env_put(out, r->account);
		env_put(out, r->last_error);
		if (r->crashes > 0)	/* an optional last field */
			buf_printf(out, " %d", r->crashes);
		buf_putc(out, '\n');
		if (r->notify != 0 || r->orcpt != NULL) {
			buf_printf(out, "N %d", r->notify);
			env_put(out, r->orcpt);
			buf_putc(out, '\n');
		}
	}
}

/* env_get - decode the next field of *P (advancing it); NULL for "-",
 * (char *)-1 on corrupt data.  Owned result. */
static char *
env_get(char **p)
{
	char *s = *p, *end, *out, *o;

	if (*s != ' ')
		return (char *)-1;
	s++;
	end = s + strcspn(s, " \n");
	*p = end;
	if (end - s == 1 && *s == '-')
		return NULL;
	if (end - s == 1 && *s == '%')
		return xstrdup("");
	out = o = xmalloc((size_t)(end - s) + 1);
	while (s < end) {
		if (*s == '%') {
			unsigned v;

			if (end - s < 3 || sscanf(s + 1, "%2x", &v) != 1) {
				free(out);
				return (char *)-1;
			}
			*o++ = (char)v;
			s += 3;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static int
env_get_into(char **p, char *dst, size_t size)
{
	char *v = env_get(p);
	int r;

	if (v == (char *)-1)
		return -1;
	r = str_copy(dst, size, v ? v : "");
	free(v);
	return r;
}

/* env_dsn_text - a decoded DSN value read back: NULL, or printable ASCII
 * of at most MAX bytes (it goes into report headers as it is). */
static int
env_dsn_text(const char *v, size_t max)
{
	return v == NULL || (strlen(v) <= max && dsn_printable(v));
}

/* env_get_dsn - the rest of a "D" or "N" line at *P: a number (0..MAX) into
 * *NUM_R and a field into *TEXT_R (owned, NULL for "-").  0 or -1. */
static int
env_get_dsn(char *line, int max, int *num_r, char **text_r, size_t tmax)
{
	char *v;
	int n;

	*text_r = NULL;
	if (sscanf(line, "%d%n", num_r, &n) != 1 || *num_r < 0 || *num_r > max)
		return -1;
	line += n;
	v = env_get(&line);
	if (v == (char *)-1)
		return -1;
	if (*line != '\0' || !env_dsn_text(v, tmax)) {
		free(v);
		return -1;
	}
	*text_r = v;
	return 0;
}

/* env_get_hold - the rest of an "H" line at LINE into E's hold fields.
 * 0 or -1 (corrupt; E's hold fields then undefined). */
static int
env_get_hold(char *line, struct envelope *e)
{
	char reason[QUEUE_HOLD_REASON_MAX + 2];
	int n;

	if (sscanf(line, "%d %lld %lld%n", &e->hold, &e->hold_since, &e->held,
	    &n) != 3 || (e->hold != 0 && e->hold != 1) || e->hold_since < 0 ||
	    e->held < 0)
		return -1;
	line += n;
	if (env_get_into(&line, reason, sizeof(reason)) == -1 ||
	    *line != '\0' || strlen(reason) > QUEUE_HOLD_REASON_MAX ||
	    !dsn_printable(reason))
		return -1;
	memcpy(e->hold_reason, reason, strlen(reason) + 1);
	return 0;
}

int
envelope_hold_copy(struct envelope *e, const void *data, size_t len)
{
	struct envelope h;
	const char *p = data, *nl = memchr(p, '\n', len), *end;
	char *line;
	int r;

	if (nl == NULL)
		return -1;
	memset(&h, 0, sizeof(h));
	len -= (size_t)(nl + 1 - p);
	p = nl + 1;
	if (len >= 2 && p[0] == 'H' && p[1] == ' ') {
		end = memchr(p, '\n', len);
		line = xstrndup(p + 2, (end ? (size_t)(end - p) : len) - 2);
		r = env_get_hold(line, &h);
		free(line);
		if (r == -1)
			return -1;
	}
	e->hold = h.hold;
	memcpy(e->hold_reason, h.hold_reason, sizeof(e->hold_reason));
	e->hold_since = h.hold_since;
	e->held = h.held;
	return 0;
}

static int
rcpt_waiting(int state)
{
	return state == RCPT_PENDING || state == RCPT_HELD;
}

int
envelope_admin_copy(struct envelope *e, const void *p, size_t len,
    const unsigned char *mine)
{
	struct envelope cur;
	size_t i, theirs = 0;

	if (envelope_hold_copy(e, p, len) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++)
		theirs += !mine[i] && rcpt_waiting(e->rcpt[i].state);
	if (theirs == 0)
		return 0;	/* the common case: nothing else to read */
	if (envelope_decode(&cur, p, len) == -1)
		return -1;
	if (cur.nrcpt != e->nrcpt) {
		envelope_clear(&cur);
		return -1;
	}
	for (i = 0; i < e->nrcpt; i++) {
		struct env_rcpt *to = &e->rcpt[i];
		const struct env_rcpt *from = &cur.rcpt[i];

		if (mine[i] || !rcpt_waiting(to->state) ||
		    !rcpt_waiting(from->state))
			continue;
		to->state = from->state;
		to->next_try = from->next_try;
		to->crashes = from->crashes;
	}
	envelope_clear(&cur);
	return 0;
}

long long
envelope_age(const struct envelope *e, long long now)
{
	long long age = now - e->arrival - e->held;

	if (e->hold && e->hold_since > 0 && now > e->hold_since)
		age -= now - e->hold_since;
	return age < 0 ? 0 : age;
}

int
envelope_decode(struct envelope *e, const void *data, size_t len)
{
	char *text, *p, *line, *v;
	int n, notes = 0;

	memset(e, 0, sizeof(*e));
	text = xstrndup(data, len);
	p = text;
	line = strsep(&p, "\n");
	if (line == NULL || sscanf(line, "E1 %lld %lld %lld %lld %d %d%n",
	    &e->arrival, &e->size, &e->size_crlf, &e->release_at, &e->body_8bit,
	    &e->smtputf8, &n) != 6)
		goto bad;
	line += n;
	v = env_get(&line);
	if (v == (char *)-1)
		goto bad;
	e->sender = v ? v : xstrdup("");
	if (env_get_into(&line, e->client_ip, sizeof(e->client_ip)) == -1 ||
	    env_get_into(&line, e->helo, sizeof(e->helo)) == -1 ||
	    env_get_into(&line, e->auth_user, sizeof(e->auth_user)) == -1)
		goto bad;
	/* the hold: only right after the E1 line */
	if (p != NULL && strncmp(p, "H ", 2) == 0) {
		line = strsep(&p, "\n");
		if (env_get_hold(line + 2, e) == -1)
			goto bad;
	}
	while ((line = strsep(&p, "\n")) != NULL && *line) {
		struct env_rcpt r;
		char *addr, *acct, *err;

		if (strncmp(line, "D ", 2) == 0) {
			/* the message's DSN line: once, before any recipient */
			if (e->nrcpt > 0 || notes++ > 0 ||
			    env_get_dsn(line + 2, DSN_RET_HDRS, &e->dsn_ret,
			    &e->dsn_envid, DSN_ENVID_MAX) == -1)
				goto bad;
			continue;
		}
		if (strncmp(line, "N ", 2) == 0) {
			/* a recipient's DSN line: once, after its R line */
			struct env_rcpt *last = e->nrcpt ? &e->rcpt[e->nrcpt - 1] :
			    NULL;

			if (last == NULL || notes++ > 0 ||
			    env_get_dsn(line + 2, DSN_NOTIFY_ALL, &last->notify,
			    &last->orcpt, DSN_ORCPT_SIZE - 1) == -1)
				goto bad;
			continue;
		}
		notes = 0;
		memset(&r, 0, sizeof(r));
		if (e->nrcpt >= ENV_RCPT_MAX ||
		    sscanf(line, "R %d %d %lld%n", &r.state, &r.attempts,
		    &r.next_try, &n) != 3)
			goto bad;
		line += n;
		addr = env_get(&line);
		if (addr == (char *)-1 || addr == NULL)
			goto bad;	/* a recipient always has an address */
		acct = env_get(&line);
		if (acct == (char *)-1) {
			free(addr);
			goto bad;
		}
		err = env_get(&line);
		if (err == (char *)-1) {
			free(addr);
			free(acct);
			goto bad;
		}
		if (*line == ' ' && (sscanf(line, " %d%n", &r.crashes, &n) != 1 ||
		    line[n] != '\0' || r.crashes < 0)) {
			free(addr);
			free(acct);
			free(err);
			goto bad;
		}
		e->rcpt = xrealloc(e->rcpt, (e->nrcpt + 1) * sizeof(*e->rcpt));
		r.addr = addr;
		r.account = acct;
		r.last_error = err;
		e->rcpt[e->nrcpt++] = r;
	}
	free(text);
	return 0;
bad:
	free(text);
	envelope_clear(e);
	return -1;
}

/* queue_new_id - time-ordered, unique among concurrent writers (the file is
 * created O_EXCL, so a clash only costs a retry). */
static void
queue_new_id(char *id)
{
	static unsigned counter;
	struct timeval tv;
	unsigned mix;

	gettimeofday(&tv, NULL);
	/* microseconds in the top 20 bits (maildir.c names copies by them),
	 * 12 bits to tell concurrent writers apart */
	mix = ((unsigned)tv.tv_usec << 12) | (((unsigned)getpid() ^
	    (++counter << 6) ^ (unsigned)random()) & 0xfffu);
	snprintf(id, QUEUE_ID_LEN + 1, "%08llX%08X",
	    (unsigned long long)tv.tv_sec & 0xffffffffULL, mix);
}

int
queue_path(const char *home, const char *id, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/queue/%s", home, id);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
queue_in_open(const char *home, struct queue_in **q_r)
{
	struct queue_in *q = xcalloc(1, sizeof(*q));
	int tries;

	if (str_copy(q->home, sizeof(q->home), home) == -1 ||
	    snprintf(q->dir, sizeof(q->dir), "%s/queue", home) >= (int)sizeof(q->dir)) {
		free(q);
		errno = ENAMETOOLONG;
		return -1;
	}
	for (tries = 0; tries < 100; tries++) {
		queue_new_id(q->id);
		if (queue_path(home, q->id, q->path, sizeof(q->path)) == -1) {
			free(q);
			errno = ENAMETOOLONG;
			return -1;
		}
		q->fd = open(q->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (q->fd != -1)
			break;
		if (errno != EEXIST) {
			free(q);
			return -1;
		}
	}
	if (q->fd == -1) {
		free(q);
		return -1;
	}
	buf_init(&q->wbuf, 0);
	*q_r = q;
	return 0;
}

const char *
queue_in_id(const struct queue_in *q)
{
	return q->id;
}

static int
queue_in_flush(struct queue_in *q)
{
	if (q->wbuf.len == 0)
		return 0;
	if (write_all(q->fd, q->wbuf.data, q->wbuf.len) == -1)
		return -1;
	buf_reset(&q->wbuf);
	return 0;
}

int
queue_in_write(struct queue_in *q, const void *p, size_t len)
{
	q->size += (long long)len;
	if (q->wbuf.len + len > QUEUE_WBUF && queue_in_flush(q) == -1)
		return -1;
	if (len >= QUEUE_WBUF)
		return write_all(q->fd, p, len);
	return buf_append(&q->wbuf, p, len);
}

int
queue_in_open_ro(struct queue_in *q)
{
	if (queue_in_flush(q) == -1)
		return -1;
	return open(q->path, O_RDONLY | O_CLOEXEC);
}

const char *
queue_in_path(struct queue_in *q)
{
	return queue_in_flush(q) == -1 ? NULL : q->path;
}

int
queue_in_prepend(struct queue_in *q, const void *p, size_t len)
{
	char chunk[65536];
	off_t off;
	size_t n;
	ssize_t r;

	if (queue_in_flush(q) == -1)
		return -1;
	if (len == 0)
		return 0;
	/*
	 * In place: the bytes move up by LEN, the last chunk first, so none
	 * is read after it was overwritten; then P goes in front.  The file
	 * has no envelope yet, so a crash half-way leaves an orphan the
	 * queue manager removes, and a failure here is answered 451 and the
	 * file aborted.  No second file: creating, renaming and unlinking
	 * one for every signed or checked message cost more than the copy.
	 */
	for (off = (off_t)q->size; off > 0; off -= (off_t)n) {
		n = off > (off_t)sizeof(chunk) ? sizeof(chunk) : (size_t)off;
		r = pread(q->fd, chunk, n, off - (off_t)n);
		if (r != (ssize_t)n) {
			if (r >= 0)
				errno = EIO;	/* the file shrank under us */
			return -1;
		}
		if (pwrite_all(q->fd, chunk, n, off - (off_t)n + (off_t)len) == -1)
			return -1;
	}
	if (pwrite_all(q->fd, p, len, 0) == -1)
		return -1;
	q->size += (long long)len;
	if (lseek(q->fd, 0, SEEK_END) == -1)	/* further writes append */
		return -1;
	return 0;
}

int
queue_in_replace(struct queue_in *q, int fd, long long *lines_r)
{
	char tmp[PATH_MAX + 8], chunk[65536];
	long long size = 0, lines = 0;
	off_t off = 0;
	ssize_t n, i;
	int out, saved;

	if (queue_in_flush(q) == -1)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.rep", q->path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out == -1)
		return -1;
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		off += n;
		for (i = 0; i < n; i++)
			lines += chunk[i] == '\n';
		size += n;
		if (write_all(out, chunk, (size_t)n) == -1)
			goto fail;
	}
	if (n == -1 || rename(tmp, q->path) == -1)
		goto fail;
	close(q->fd);
	q->fd = out;		/* commit fsyncs this one */
	q->size = size;
	*lines_r = lines;
	return 0;
fail:
	saved = errno;
	close(out);
	unlink(tmp);
	errno = saved;
	return -1;
}

long long
queue_in_size(const struct queue_in *q)
{
	return q->size;
}

static void
queue_in_free(struct queue_in **qp)
{
	struct queue_in *q = *qp;

	if (q == NULL)
		return;
	if (q->fd != -1)
		close(q->fd);
	buf_free(&q->wbuf);
	free(q);
	*qp = NULL;
}

void
queue_in_abort(struct queue_in **qp)
{
	if (*qp == NULL)
		return;
	unlink((*qp)->path);
	queue_in_free(qp);
}

struct put_ctx {
	const char	**ids;
	struct buf	*rec;		/* the encoded envelopes */
	size_t		 n;
	const void	*once;		/* marker key in STORE_META, or NULL */
	size_t		 oncelen;
	long long	 expires;	/* of the marker */
	int		 done_before;	/* the marker was there: nothing put */
};

static int
queue_put_fn(struct store_txn *txn, void *ctx)
{
	struct put_ctx *pc = ctx;
	struct buf old;
	size_t i;
	int r;

	if (pc->once != NULL) {
		buf_init(&old, 64);
		r = store_tget(txn, STORE_META, pc->once, pc->oncelen, &old, NULL);
		buf_free(&old);
		if (r == -1)
			return -1;
		if (r == 1) {
			pc->done_before = 1;
			return 0;
		}
		if (store_tput(txn, STORE_META, pc->once, pc->oncelen, "1", 1,
		    pc->expires) == -1)
			return -1;
	}
	for (i = 0; i < pc->n; i++)
		if (store_tput(txn, STORE_QUEUE, pc->ids[i], strlen(pc->ids[i]),
		    pc->rec[i].data, pc->rec[i].len, 0) == -1)
			return -1;
	return 0;
}

/* queue_in_sync - Q's file complete and on disk, closed.  0 or -1. */
static int
queue_in_sync(struct queue_in *q, const char **why_r)
{
	if (queue_in_flush(q) == -1 || fsync(q->fd) == -1) {
		*why_r = "cannot write the queue file";
		return -1;
	}
	if (close(q->fd) == -1) {
		q->fd = -1;
		*why_r = "cannot write the queue file";
		return -1;
	}
	q->fd = -1;
	return 0;
}

/* commit_group - the envelopes of PC through the committer (qcommit.h),
 * after the files were synced.  0 queued, 1 the marker was there, -1
 * failed (nothing queued), -2 not done (commit alone), -3 outcome
 * unknown (the files must stay). */
static int
commit_group(struct store *s, struct put_ctx *pc)
{
	struct buf val;
	int r;

	r = qc_client_commit(pc->ids, pc->rec, pc->n, pc->once, pc->oncelen,
	    pc->expires);
	switch (r) {
	case QC_OK:
		return 0;
	case QC_DONE_BEFORE:
		return 1;
	case QC_FAILED:
		return -1;
	case QC_UNSENT:
		return -2;
	case QC_LOST:
		/* the committer died with our request: its transaction is
		 * atomic, so the first id tells whether it committed; if it
		 * did, it may not have synced */
		buf_init(&val, ENV_MAX);
		r = store_get(s, STORE_QUEUE, pc->ids[0], strlen(pc->ids[0]),
		    &val);
		buf_free(&val);
		if (r == 1)
			return store_sync(s) == 0 ? 0 : -3;
		return r == 0 ? -2 : -3;
	}
	return -3;
}

/* commit_set - queue_in_commit_set and queue_in_commit_once: ONCE NULL
 * for the former.  0, 1 (ONCE was there: nothing queued) or -1. */
static int
commit_set(struct queue_in **qs, struct envelope **envs, size_t n,
    struct store *s, const void *once, size_t oncelen, long long expires,
    const char **why_r)
{
	struct put_ctx pc;
	size_t i;
	int r = -1, g = -2;

	memset(&pc, 0, sizeof(pc));
	pc.once = once;
	pc.oncelen = oncelen;
	pc.expires = expires;
	pc.ids = xcalloc(n, sizeof(*pc.ids));
	pc.n = n;
	pc.rec = xcalloc(n, sizeof(*pc.rec));
	for (i = 0; i < n; i++)
		pc.ids[i] = qs[i]->id;
	for (i = 0; i < n; i++)
		if (queue_in_sync(qs[i], why_r) == -1)
			goto fail;
	for (i = 0; i < n; i++) {
		memcpy(envs[i]->id, qs[i]->id, sizeof(envs[i]->id));
		envs[i]->size = qs[i]->size;
		buf_init(&pc.rec[i], ENV_MAX);
		envelope_encode(envs[i], &pc.rec[i]);
	}
	if (qc_client_active() && n > 0)
		g = commit_group(s, &pc);
	if (g == -1 || g == -3) {
		*why_r = "cannot record the envelope";
		if (g == -3) {
			/* it may yet be queued: the files stay (an orphan is
			 * removed by the queue manager) */
			for (i = 0; i < n; i++) {
				log_err("%s: queue commit outcome unknown",
				    qs[i]->id);
				queue_in_free(&qs[i]);
			}
			goto out;
		}
		goto fail;
	}
	if (g == 1)
		pc.done_before = 1;
	if (g == -2) {
		/* one folder: one sync makes every name durable */
		if (n > 0 && fsync_dir(qs[0]->dir) == -1) {
			*why_r = "cannot sync the queue folder";
			goto fail;
		}
		if (store_write(s, queue_put_fn, &pc) != 0) {
			*why_r = "cannot record the envelope";
			goto fail;
		}
	}
	if (pc.done_before) {
		for (i = 0; i < n; i++)
			queue_in_abort(&qs[i]);
		r = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		queue_notify(qs[i]->home, qs[i]->id);
		queue_in_free(&qs[i]);
	}
	r = 0;
fail:
	if (r == -1)
		for (i = 0; i < n; i++) {
			log_err("%s: queue commit failed: %s: %s", qs[i]->id,
			    *why_r, strerror(errno));
			queue_in_abort(&qs[i]);
		}
out:
	for (i = 0; i < n; i++)
		buf_free(&pc.rec[i]);
	free(pc.rec);
	free(pc.ids);
	return r;
}

int
queue_in_commit_set(struct queue_in **qs, struct envelope **envs, size_t n,
    struct store *s, const char **why_r)
{
	return commit_set(qs, envs, n, s, NULL, 0, 0, why_r);
}

int
queue_in_commit_once(struct queue_in **qs, struct envelope **envs, size_t n,
    struct store *s, const void *once, size_t oncelen, long long expires,
    const char **why_r)
{
	return commit_set(qs, envs, n, s, once, oncelen, expires, why_r);
}

int
queue_in_commit(struct queue_in **qp, struct store *s, struct envelope *env,
    const char **why_r)
{
	return queue_in_commit_set(qp, &env, 1, s, why_r);
}

int
queue_get(struct store *s, const char *id, struct envelope *env)
{
	struct buf val;
	int r;

	buf_init(&val, ENV_MAX);
	r = store_get(s, STORE_QUEUE, id, strlen(id), &val);
	if (r == 1 && envelope_decode(env, val.data, val.len) == -1) {
		log_err("%s: corrupt envelope record", id);
		r = -1;
	}
	if (r == 1)
		str_copy(env->id, sizeof(env->id), id);
	buf_free(&val);
	return r;
}

int
queue_update(struct store *s, const struct envelope *env)
{
	struct put_ctx pc;
	struct buf rec;
	const char *id = env->id;
	int r;

	memset(&pc, 0, sizeof(pc));
	buf_init(&rec, ENV_MAX);
	envelope_encode(env, &rec);
	pc.ids = &id;
	pc.rec = &rec;
	pc.n = 1;
	r = store_write(s, queue_put_fn, &pc);
	buf_free(&rec);
	return r;
}

int
queue_file_remove(const char *home, const char *id)
{
	char path[PATH_MAX];

	if (queue_path(home, id, path, sizeof(path)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
queue_remove(struct store *s, const char *home, const char *id)
{
	if (store_del(s, STORE_QUEUE, id, strlen(id)) == -1)
		return -1;
	return queue_file_remove(home, id);
}

struct each_ctx {
	int (*fn)(void *, const char *);
	void *ctx;
	char **ids;
	size_t n;
};

static int
queue_each_collect(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct each_ctx *ec = ctx;

	(void)val;
	(void)vlen;
	(void)expires;
	ec->ids = xrealloc(ec->ids, (ec->n + 1) * sizeof(*ec->ids));
	ec->ids[ec->n++] = xstrndup(key, klen);
	return 0;
}

int
queue_each(struct store *s, int (*fn)(void *ctx, const char *id), void *ctx)
{
	struct store_txn *txn;
	struct each_ctx ec;
	size_t i;
	int r = 0;

	memset(&ec, 0, sizeof(ec));
	/* collect first: the callback may write, and no txn may be held then */
	if (store_txn_begin(s, 1, &txn) == -1)
		return -1;
	if (store_titer(txn, STORE_QUEUE, NULL, 0, queue_each_collect, &ec) == -1)
		r = -1;
	store_txn_abort(&txn);
	for (i = 0; i < ec.n; i++) {
		if (r == 0)
			r = fn(ctx, ec.ids[i]);
		free(ec.ids[i]);
	}
	free(ec.ids);
	return r;
}

struct stats_ctx {
	size_t		n;
	long long	oldest;
};

static int
queue_stats_fn(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct stats_ctx *sc = ctx;
	const char *k = key;
	long long t = 0;
	size_t i;

	(void)val;
	(void)vlen;
	(void)expires;
	if (sc->n++ == 0 && klen >= 8) {
		/* keys sort as their ids: the first is the oldest */
		for (i = 0; i < 8; i++) {
			if (k[i] >= '0' && k[i] <= '9')
				t = t * 16 + (k[i] - '0');
			else if (k[i] >= 'A' && k[i] <= 'F')
				t = t * 16 + (k[i] - 'A' + 10);
			else
				return 0;
		}
		sc->oldest = t;
	}
	return 0;
}

int
queue_stats(struct store *s, size_t *n_r, long long *oldest_r)
{
	struct store_txn *txn;
	struct stats_ctx sc;
	int r = 0;

	memset(&sc, 0, sizeof(sc));
	if (store_txn_begin(s, 1, &txn) == -1)
		return -1;
	if (store_titer(txn, STORE_QUEUE, NULL, 0, queue_stats_fn, &sc) == -1)
		r = -1;
	store_txn_abort(&txn);
	*n_r = sc.n;
	*oldest_r = sc.oldest;
	return r;
}

int
queue_id_valid(const char *id, size_t len)
{
	size_t i;

	if (len != QUEUE_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)id[i]))
			return 0;
	return 1;
}

int
queue_orphans(struct store *s, const char *home, long long min_age,
    long long now, int dry, void (*fn)(void *ctx, const char *id,
    long long bytes), void *ctx, long long *n_r, long long *bytes_r)
{
	struct dirent *de;
	struct stat st;
	struct buf val;
	char *dir;
	DIR *d;
	int dfd, r = 0, got, saved = 0;

	*n_r = 0;
	*bytes_r = 0;
	dir = xasprintf("%s/queue", home);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd == -1 || (d = fdopendir(dfd)) == NULL) {
		saved = errno;
		if (dfd != -1)
			close(dfd);
		errno = saved;
		return -1;
	}
	buf_init(&val, 0);
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < min_age)
			continue;
		got = store_get(s, STORE_QUEUE, de->d_name, strlen(de->d_name),
		    &val);
		if (got == -1) {
			saved = errno;
			r = -1;
			continue;
		}
		if (got != 0)
			continue;
		if (fn)
			fn(ctx, de->d_name, (long long)st.st_size);
		if (!dry && unlinkat(dfd, de->d_name, 0) == -1 &&
		    errno != ENOENT) {
			saved = errno;
			r = -1;
			continue;
		}
		(*n_r)++;
		*bytes_r += (long long)st.st_size;
	}
	buf_free(&val);
	closedir(d);
	errno = saved;
	return r;
}

void
queue_notify(const char *home, const char *id)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/qmgr.sock",
	    home) >= (int)sizeof(sun.sun_path))
		return;		/* the queue manager's periodic scan finds it */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd != -1 && sendto(fd, id, strlen(id), MSG_DONTWAIT,
	    (struct sockaddr *)&sun, sizeof(sun)) != -1) {
		close(fd);
		return;
	}
	if (fd != -1)
		close(fd);
	/* the queue manager's socket is full (or it is not running): leave
	 * it a note to scan the whole queue, never block the client.  HOME/run
	 * is the server user's and yubinctl may run as root: never through a
	 * link planted there, never blocked by a FIFO */
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/qmgr.kick",
	    home) < (int)sizeof(sun.sun_path) &&
	    (fd = open(sun.sun_path, O_WRONLY | O_CREAT | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600)) != -1)
		close(fd);
}

enum edit_op { EDIT_HOLD, EDIT_RELEASE, EDIT_FLUSH };

struct edit_ctx {
	const char	*id;
	enum edit_op	 op;
	const char	*reason;	/* EDIT_HOLD's */
	long long	 now;
	int		 found;
	int		 was;		/* held before */
	struct envelope	*before;	/* EDIT_FLUSH: the envelope as read */
};

/* queue_edit_apply - EC's change to E.  1 when E changed. */
static int
queue_edit_apply(struct edit_ctx *ec, struct envelope *e)
{
	size_t i;
	int changed = 0;

	switch (ec->op) {
	case EDIT_HOLD:
		if (e->hold)
			return 0;
		e->hold = 1;
		e->hold_since = ec->now;
		str_copy(e->hold_reason, sizeof(e->hold_reason), ec->reason);
		return 1;
	case EDIT_RELEASE:
		if (e->hold && ec->now > e->hold_since)
			e->held += ec->now - e->hold_since;
		changed = e->hold;
		e->hold = 0;
		e->hold_since = 0;
		e->hold_reason[0] = '\0';
		break;
	case EDIT_FLUSH:
		/* recipients held after crashes get QUEUE_CRASH_MAX more
		 * tries; a message on hold stays on hold */
		for (i = 0; i < e->nrcpt; i++)
			if (e->rcpt[i].state == RCPT_HELD) {
				e->rcpt[i].state = RCPT_PENDING;
				e->rcpt[i].crashes = 0;
				changed = 1;
			}
		break;
	}
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == RCPT_PENDING && e->rcpt[i].next_try) {
			e->rcpt[i].next_try = 0;	/* due now */
			changed = 1;
		}
	return changed;
}

/* queue_edit_fn - one envelope read, changed and written in TXN. */
static int
queue_edit_fn(struct store_txn *txn, void *ctx)
{
	struct edit_ctx *ec = ctx;
	struct envelope e;
	struct buf val;
	int r;

	ec->found = 0;
	if (ec->before != NULL)		/* run again after MAP_FULL */
		envelope_clear(ec->before);
	buf_init(&val, ENV_MAX);
	r = store_tget(txn, STORE_QUEUE, ec->id, strlen(ec->id), &val, NULL);
	if (r != 1) {
		buf_free(&val);
		return r == 0 ? 0 : -1;
	}
	if (envelope_decode(&e, val.data, val.len) == -1 || (ec->before != NULL &&
	    envelope_decode(ec->before, val.data, val.len) == -1)) {
		log_err("%s: corrupt envelope record", ec->id);
		envelope_clear(&e);
		buf_free(&val);
		return -1;
	}
	str_copy(e.id, sizeof(e.id), ec->id);
	if (ec->before != NULL)
		str_copy(ec->before->id, sizeof(ec->before->id), ec->id);
	ec->found = 1;
	ec->was = e.hold;
	r = 0;
	if (queue_edit_apply(ec, &e)) {
		envelope_encode(&e, &val);
		r = store_tput(txn, STORE_QUEUE, ec->id, strlen(ec->id), val.data,
		    val.len, 0);
	}
	envelope_clear(&e);
	buf_free(&val);
	return r;
}

/* queue_edit - EC's change to its envelope in one transaction: 1 done,
 * 0 no such entry, -1 error. */
static int
queue_edit(struct store *s, struct edit_ctx *ec)
{
	if (store_write(s, queue_edit_fn, ec) != 0)
		return -1;
	return ec->found;
}

int
queue_hold(struct store *s, const char *id, const char *reason, long long now,
    int *was_r)
{
	struct edit_ctx ec = { .id = id, .op = EDIT_HOLD, .reason = reason,
	    .now = now };
	int r;

	if (strlen(reason) > QUEUE_HOLD_REASON_MAX || !dsn_printable(reason)) {
		errno = EINVAL;
		return -1;
	}
	r = queue_edit(s, &ec);
	if (r == 1 && was_r != NULL)
		*was_r = ec.was;
	return r;
}

int
queue_release(struct store *s, const char *id, long long now, int *was_r)
{
	struct edit_ctx ec = { .id = id, .op = EDIT_RELEASE, .now = now };
	int r = queue_edit(s, &ec);

	if (r == 1 && was_r != NULL)
		*was_r = ec.was;
	return r;
}

int
queue_flush_entry(struct store *s, const char *id, struct envelope *before_r)
{
	struct edit_ctx ec = { .id = id, .op = EDIT_FLUSH, .before = before_r };
	int r;

	memset(before_r, 0, sizeof(*before_r));
	r = queue_edit(s, &ec);
	if (r != 1)
		envelope_clear(before_r);
	return r;
}

int
queue_suspended(struct store *s, long long *since_r)
{
	struct buf val;
	char text[32];
	int r;

	buf_init(&val, 64);
	r = store_get(s, STORE_META, QUEUE_SUSPEND_KEY, strlen(QUEUE_SUSPEND_KEY),
	    &val);
	if (r == 1 && since_r != NULL) {
		*since_r = 0;
		if (val.len < sizeof(text)) {
			memcpy(text, val.data, val.len);
			text[val.len] = '\0';
			*since_r = strtoll(text, NULL, 10);
		}
	}
	buf_free(&val);
	return r;
}

int
queue_suspend(struct store *s, int on, long long now)
{
	char text[32];
	int r;

	if (!on)
		return store_del(s, STORE_META, QUEUE_SUSPEND_KEY,
		    strlen(QUEUE_SUSPEND_KEY)) == -1 ? -1 : 0;
	r = queue_suspended(s, NULL);
	if (r != 0)
		return r == 1 ? 0 : -1;	/* suspended already: since then */
	snprintf(text, sizeof(text), "%lld", now);
	return store_put(s, STORE_META, QUEUE_SUSPEND_KEY,
	    strlen(QUEUE_SUSPEND_KEY), text, strlen(text), 0);
}
