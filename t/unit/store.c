/*
 * t/unit/store.c - the LMDB store: values, expiry, counters, iteration,
 * map growth, two writers at once, and a writer killed mid-transaction.
 *
 * Every process opens its own handle: the parent closes its store before
 * each fork() and reopens it afterwards.  Expiry is tested in a re-executed
 * copy of this program that runs with YUBIN_TEST_CLOCK_OFFSET set (time_now
 * reads it once per process).  The store lives in a fresh folder under
 * $TMPDIR (default /tmp), removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "../lib/tmpstore.h"
#include "buf.h"
#include "store.h"
#include "util.h"

#define WRITERS_N	2000	/* increments and puts per writer process */
#define BIG_VALUE	(1 << 20)	/* 1 MiB values for the growth test */
#define BIG_COUNT	40		/* 40 MiB in all: the 16 MiB map must grow */
#define CLOCK_SHIFT	200		/* seconds the clock child runs ahead */

static char dir[256];

/* get_str - the value of KEY as a string, "(absent)" or "(error)". */
static const char *
get_str(struct store *s, enum store_db db, const char *key, struct buf *b)
{
	static char out[256];
	int r = store_get(s, db, key, strlen(key), b);

	if (r == 1)
		snprintf(out, sizeof(out), "%.*s", (int)b->len, b->data);
	else
		snprintf(out, sizeof(out), "%s", r == 0 ? "(absent)" : "(error)");
	return out;
}

static int
wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void
test_basic(void)
{
	struct store *s = tmpstore_open(dir);
	struct store_txn *t;
	struct buf b;
	long long exp = -1;
	const char bin[] = { 'k', '\0', 'x' };
	const char binv[] = { '\0', '\1', '\0' };

	buf_init(&b, 0);
	is_int(store_get(s, STORE_META, "nope", 4, &b), 0, "get absent");
	is_int(store_put(s, STORE_META, "k1", 2, "hello", 5, 0), 0, "put");
	is_str(get_str(s, STORE_META, "k1", &b), "hello", "get after put");
	is_str(get_str(s, STORE_ACCOUNTS, "k1", &b), "(absent)",
	    "databases are separate");
	is_int(store_put(s, STORE_META, "k1", 2, "bye", 3, 0), 0, "replace");
	is_str(get_str(s, STORE_META, "k1", &b), "bye", "replaced value");
	is_int(store_put(s, STORE_META, "empty", 5, "", 0, 0), 0,
	    "empty value");
	is_int(store_get(s, STORE_META, "empty", 5, &b), 1,
	    "empty value found");
	is_int(b.len, 0, "empty value has length 0");
	is_int(store_put(s, STORE_PLUGIN, bin, sizeof(bin), binv,
	    sizeof(binv), 0), 0, "binary key and value");
	ok(store_get(s, STORE_PLUGIN, bin, sizeof(bin), &b) == 1 &&
	    b.len == 3 && memcmp(b.data, binv, 3) == 0,
	    "binary value reads back");
	is_int(store_get(s, STORE_PLUGIN, "k", 1, &b), 0,
	    "key prefix is another key");
	is_int(store_del(s, STORE_META, "k1", 2), 1, "del present");
	is_int(store_del(s, STORE_META, "k1", 2), 0, "del absent");
	is_str(get_str(s, STORE_META, "k1", &b), "(absent)", "gone after del");

	/* expiry in the past: absent at once */
	is_int(store_put(s, STORE_META, "old", 3, "x", 1, time_now() - 5), 0,
	    "put already expired");
	is_str(get_str(s, STORE_META, "old", &b), "(absent)",
	    "expired reads as absent");
	is_int(store_del(s, STORE_META, "old", 3), 0,
	    "del of an expired entry says absent");

	/* expiry reported by store_tget */
	is_int(store_put(s, STORE_META, "fut", 3, "y", 1, time_now() + 100),
	    0, "put with future expiry");
	if (store_txn_begin(s, 1, &t) == 0) {
		is_int(store_tget(t, STORE_META, "fut", 3, &b, &exp), 1,
		    "tget future");
		ok(exp > time_now() + 90 && exp <= time_now() + 100,
		    "tget reports the expiry");
		store_txn_abort(&t);
	} else
		ok(0, "read txn");
	ok(t == NULL, "abort clears the caller's pointer");

	/* a buffer ceiling below the value is an error, not a truncation */
	{
		struct buf small;

		buf_init(&small, 2);
		is_int(store_get(s, STORE_META, "fut", 3, &small), 1,
		    "value within the ceiling");
		is_int(store_put(s, STORE_META, "long", 4, "abcdef", 6, 0), 0,
		    "put long");
		is_int(store_get(s, STORE_META, "long", 4, &small), -1,
		    "value past the buffer ceiling is an error");
		buf_free(&small);
	}
	buf_free(&b);
	store_close(&s);
	ok(s == NULL, "close clears the caller's pointer");
}

struct abort_ctx {
	int	calls;
};

static int
put_then_fail(struct store_txn *t, void *ctx)
{
	struct abort_ctx *c = ctx;

	c->calls++;
	if (store_tput(t, STORE_META, "aborted", 7, "z", 1, 0) == -1)
		return -1;
	return 7;
}

static int
put_two(struct store_txn *t, void *ctx)
{
	(void)ctx;
	if (store_tput(t, STORE_META, "two/a", 5, "A", 1, 0) == -1 ||
	    store_tput(t, STORE_META, "two/b", 5, "B", 1, 0) == -1)
		return -1;
	return 0;
}

static void
test_write(void)
{
	struct store *s = tmpstore_open(dir);
	struct abort_ctx c = { 0 };
	struct buf b;

	buf_init(&b, 0);
	is_int(store_write(s, put_then_fail, &c), 7,
	    "store_write returns FN's non-zero result");
	is_int(c.calls, 1, "FN ran once");
	is_str(get_str(s, STORE_META, "aborted", &b), "(absent)",
	    "FN's writes were aborted");
	is_int(store_write(s, put_two, NULL), 0, "store_write commits");
	is_str(get_str(s, STORE_META, "two/a", &b), "A", "first write");
	is_str(get_str(s, STORE_META, "two/b", &b), "B", "second write");
	buf_free(&b);
	store_close(&s);
}

static void
test_counters(void)
{
	struct store *s = tmpstore_open(dir);
	struct store_txn *t;
	struct buf b;
	long long v = 0, exp = -1, e1 = time_now() + 500;

	buf_init(&b, 0);
	is_int(store_incr(s, STORE_COUNTERS, "c", 1, 3, e1, &v), 0, "incr new");
	is_int(v, 3, "new counter starts at 0 + delta");
	is_int(store_incr(s, STORE_COUNTERS, "c", 1, -5, e1 + 1000, &v), 0,
	    "incr existing");
	is_int(v, -2, "negative delta");
	if (store_txn_begin(s, 1, &t) == 0) {
		is_int(store_tget(t, STORE_COUNTERS, "c", 1, &b, &exp), 1,
		    "counter readable");
		is_int(exp, e1, "existing counter keeps its first expiry");
		is_int(b.len, 8, "counter payload is 8 bytes");
		store_txn_abort(&t);
	}
	is_int(store_incr(s, STORE_COUNTERS, "gone", 4, 1, time_now() - 1, &v),
	    0, "incr with an expiry in the past");
	is_int(store_incr(s, STORE_COUNTERS, "gone", 4, 1, 0, &v), 0,
	    "incr again");
	is_int(v, 1, "expired counter restarts at 0");
	if (store_txn_begin(s, 1, &t) == 0) {
		is_int(store_tget(t, STORE_COUNTERS, "gone", 4, &b, &exp), 1,
		    "restarted counter readable");
		is_int(exp, 0, "restarted counter takes the new expiry");
		store_txn_abort(&t);
	}
	is_int(store_put(s, STORE_COUNTERS, "bad", 3, "abc", 3, 0), 0,
	    "a value that is not a counter");
	is_int(store_incr(s, STORE_COUNTERS, "bad", 3, 1, 0, &v), -1,
	    "incr on a non-counter fails");
	is_int(store_put(s, STORE_COUNTERS, "max", 3,
	    "\xff\xff\xff\xff\xff\xff\xff\x7f", 8, 0), 0, "counter at INT64_MAX");
	is_int(store_incr(s, STORE_COUNTERS, "max", 3, 1, 0, &v), -1,
	    "overflow refused");
	buf_free(&b);
	store_close(&s);
}

struct iter_ctx {
	char	seen[512];
	int	stop_after;
	int	n;
};

static int
iter_fn(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct iter_ctx *c = ctx;
	size_t n = strlen(c->seen);

	(void)expires;
	snprintf(c->seen + n, sizeof(c->seen) - n, "%s%.*s=%.*s",
	    n ? "," : "", (int)klen, (const char *)key, (int)vlen,
	    (const char *)val);
	if (++c->n == c->stop_after)
		return 42;
	return 0;
}

static void
test_iter(void)
{
	struct store *s = tmpstore_open(dir);
	struct store_txn *t;
	struct iter_ctx c;
	static const char *const keys[] = { "b/2", "a", "a/2", "b/1", "a/1",
	    "a0", "a/3" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		store_put(s, STORE_QUEUE, keys[i], strlen(keys[i]), "v", 1,
		    strcmp(keys[i], "a/3") == 0 ? time_now() - 1 : 0);
	if (store_txn_begin(s, 1, &t) == -1) {
		ok(0, "read txn");
		return;
	}
	memset(&c, 0, sizeof(c));
	is_int(store_titer(t, STORE_QUEUE, "a/", 2, iter_fn, &c), 0,
	    "iterate prefix");
	is_str(c.seen, "a/1=v,a/2=v", "prefix a/: in order, expired skipped");
	memset(&c, 0, sizeof(c));
	is_int(store_titer(t, STORE_QUEUE, NULL, 0, iter_fn, &c), 0,
	    "iterate all");
	is_str(c.seen, "a=v,a/1=v,a/2=v,a0=v,b/1=v,b/2=v", "all, in key order");
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	is_int(store_titer(t, STORE_QUEUE, "", 0, iter_fn, &c), 42,
	    "FN's non-zero stops and is returned");
	is_str(c.seen, "a=v,a/1=v", "stopped after two");
	memset(&c, 0, sizeof(c));
	is_int(store_titer(t, STORE_QUEUE, "c", 1, iter_fn, &c), 0,
	    "prefix past the end");
	is_str(c.seen, "", "nothing there");
	memset(&c, 0, sizeof(c));
	is_int(store_titer(t, STORE_QUEUE, "a/", 2, iter_fn, &c), 0,
	    "the same transaction iterates again");
	store_txn_abort(&t);
	is_int(store_expire(s), 1, "store_expire deletes the one expired entry");
	store_close(&s);
}

/* fill - deterministic content for big value I. */
static void
fill(char *p, size_t n, int i)
{
	size_t j;

	for (j = 0; j < n; j++)
		p[j] = (char)('a' + (i * 7 + j) % 26);
}

struct big_ctx {
	char	*val;
	int	 from, to, calls;
};

static int
put_big(struct store_txn *t, void *ctx)
{
	struct big_ctx *c = ctx;
	char key[32];
	int i;

	c->calls++;
	for (i = c->from; i < c->to; i++) {
		snprintf(key, sizeof(key), "big/%03d", i);
		fill(c->val, BIG_VALUE, i);
		if (store_tput(t, STORE_PLUGIN, key, strlen(key), c->val,
		    BIG_VALUE, 0) == -1)
			return -1;
	}
	return 0;
}

static int
check_big(struct store *s, int n)
{
	struct buf b;
	char key[32], *want = xmalloc(BIG_VALUE);
	int i, bad = 0;

	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "big/%03d", i);
		fill(want, BIG_VALUE, i);
		if (store_get(s, STORE_PLUGIN, key, strlen(key), &b) != 1 ||
		    b.len != BIG_VALUE || memcmp(b.data, want, BIG_VALUE) != 0)
			bad++;
	}
	buf_free(&b);
	free(want);
	return bad;
}

static void
test_growth(void)
{
	struct store *s = tmpstore_open(dir);
	struct big_ctx c;
	size_t before = store_mapsize(s), after;
	int fd[2], i;
	char ch;
	pid_t pid;

	is_int(before, 16 << 20, "initial map is 16 MiB");
	store_close(&s);

	/* a reader that opened the small map before the growth */
	if (pipe(fd) == -1)
		exit(2);
	pid = fork();
	if (pid == 0) {
		struct store *cs;

		close(fd[1]);
		cs = tmpstore_open(dir);
		if (read(fd[0], &ch, 1) != 1)
			_exit(3);
		/* MDB_MAP_RESIZED on begin, adopted, then everything reads */
		i = check_big(cs, BIG_COUNT);
		store_close(&cs);
		_exit(i ? 1 : 0);
	}
	close(fd[0]);

	s = tmpstore_open(dir);
	memset(&c, 0, sizeof(c));
	c.val = xmalloc(BIG_VALUE);
	/* one transaction bigger than the map: doubled until it fits */
	c.from = 0;
	c.to = 24;
	is_int(store_write(s, put_big, &c), 0, "24 MiB in one transaction");
	ok(c.calls > 1, "FN ran again after the map grew (%d runs)", c.calls);
	/* then many small ones */
	for (i = 24; i < BIG_COUNT; i++) {
		c.from = i;
		c.to = i + 1;
		if (store_write(s, put_big, &c) != 0)
			break;
	}
	is_int(i, BIG_COUNT, "1 MiB transactions past the first growth");
	free(c.val);
	after = store_mapsize(s);
	ok(after > before && after >= (size_t)BIG_COUNT * BIG_VALUE,
	    "map grew (%zu -> %zu bytes)", before, after);
	is_int(check_big(s, BIG_COUNT), 0, "every big value reads back");
	store_close(&s);

	if (write(fd[1], "g", 1) != 1)
		exit(2);
	close(fd[1]);
	is_int(wait_child(pid), 0,
	    "a process holding the old map size adopts the grown map");

	s = tmpstore_open(dir);
	ok(store_mapsize(s) >= after, "reopen keeps the grown map (%zu)",
	    store_mapsize(s));
	is_int(check_big(s, BIG_COUNT), 0, "big values after reopen");
	store_close(&s);
}

static int
writer_child(int id)
{
	struct store *s = tmpstore_open(dir);
	char key[64], val[64];
	long long v;
	int i;

	for (i = 0; i < WRITERS_N; i++) {
		if (store_incr(s, STORE_COUNTERS, "shared", 6, 1, 0, &v) == -1)
			return 1;
		snprintf(key, sizeof(key), "w/%d/%04d", id, i);
		snprintf(val, sizeof(val), "%d:%d", id, i);
		if (store_put(s, STORE_META, key, strlen(key), val,
		    strlen(val), 0) == -1)
			return 1;
	}
	store_close(&s);
	return 0;
}

static int
count_fn(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	int *n = ctx;
	char k[64], want[64];
	int id, i;

	(void)expires;
	if (klen >= sizeof(k))
		return 1;
	memcpy(k, key, klen);
	k[klen] = '\0';
	if (sscanf(k, "w/%d/%4d", &id, &i) != 2)
		return 1;
	snprintf(want, sizeof(want), "%d:%d", id, i);
	if (vlen != strlen(want) || memcmp(val, want, vlen) != 0)
		return 1;
	(*n)++;
	return 0;
}

static void
test_two_writers(void)
{
	struct store *s;
	struct store_txn *t;
	struct buf b;
	pid_t pid[2];
	long long v = 0;
	int i, n = 0, r;

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(writer_child(i));
	}
	for (i = 0; i < 2; i++)
		is_int(wait_child(pid[i]), 0, "writer %d finished", i);
	s = tmpstore_open(dir);
	buf_init(&b, 0);
	if (store_get(s, STORE_COUNTERS, "shared", 6, &b) == 1 && b.len == 8)
		for (i = 7; i >= 0; i--)
			v = (v << 8) | (unsigned char)b.data[i];
	is_int(v, 2 * WRITERS_N, "no increment lost");
	r = -1;
	if (store_txn_begin(s, 1, &t) == 0) {
		r = store_titer(t, STORE_META, "w/", 2, count_fn, &n);
		store_txn_abort(&t);
	}
	is_int(r, 0, "every key well-formed");
	is_int(n, 2 * WRITERS_N, "every key of both writers present");
	buf_free(&b);
	store_close(&s);
}

static void
test_killed_writer(void)
{
	struct store *s;
	struct buf b;
	int fd[2];
	char ch;
	pid_t pid, pid2;

	s = tmpstore_open(dir);
	is_int(store_put(s, STORE_META, "stable", 6, "old", 3, 0), 0,
	    "committed value");
	store_close(&s);

	if (pipe(fd) == -1)
		exit(2);
	pid = fork();
	if (pid == 0) {
		struct store_txn *t;

		close(fd[0]);
		s = tmpstore_open(dir);
		if (store_txn_begin(s, 0, &t) == -1 ||
		    store_tput(t, STORE_META, "stable", 6, "new", 3, 0) == -1 ||
		    store_tput(t, STORE_META, "uncommitted", 11, "x", 1, 0) == -1)
			_exit(1);
		if (write(fd[1], "w", 1) != 1)
			_exit(1);
		for (;;)
			pause();	/* holding the write lock */
	}
	close(fd[1]);
	is_int(read(fd[0], &ch, 1), 1, "child is inside its write transaction");
	close(fd[0]);
	kill(pid, SIGKILL);
	is_int(wait_child(pid), 128 + SIGKILL, "writer killed with SIGKILL");

	/* another process writes; a hang here would be a stuck mutex */
	pid2 = fork();
	if (pid2 == 0) {
		alarm(20);
		s = tmpstore_open(dir);
		if (store_put(s, STORE_META, "after", 5, "ok", 2, 0) == -1)
			_exit(1);
		store_close(&s);
		_exit(0);
	}
	is_int(wait_child(pid2), 0, "next writer gets the lock (robust mutex)");

	s = tmpstore_open(dir);
	buf_init(&b, 0);
	is_str(get_str(s, STORE_META, "stable", &b), "old",
	    "killed transaction did not change committed data");
	is_str(get_str(s, STORE_META, "uncommitted", &b), "(absent)",
	    "killed transaction's new key is absent");
	is_str(get_str(s, STORE_META, "after", &b), "ok",
	    "the later write is there");
	is_int(store_put(s, STORE_META, "after2", 6, "ok", 2, 0), 0,
	    "this process writes too");
	buf_free(&b);
	store_close(&s);
}

/*
 * The clock child: run with YUBIN_TEST_CLOCK_OFFSET=CLOCK_SHIFT against a
 * store the parent filled; prints what it sees on one line.
 */
static int
clock_child(void)
{
	struct store *s = tmpstore_open(dir);
	struct store_txn *t;
	struct iter_ctx c;
	struct buf b;
	long long v1 = 0, v2 = 0, e1 = -1, e2 = -1, n;
	int r;

	buf_init(&b, 0);
	printf("short=%s ", get_str(s, STORE_META, "x/short", &b));
	printf("long=%s ", get_str(s, STORE_META, "x/long", &b));
	printf("never=%s ", get_str(s, STORE_META, "x/never", &b));
	memset(&c, 0, sizeof(c));
	r = -1;
	if (store_txn_begin(s, 1, &t) == 0) {
		r = store_titer(t, STORE_META, "x/", 2, iter_fn, &c);
		store_txn_abort(&t);
	}
	printf("iter=%d:%s ", r, c.seen);
	store_incr(s, STORE_COUNTERS, "cs", 2, 1, 0, &v1);
	store_incr(s, STORE_COUNTERS, "cl", 2, 1, 0, &v2);
	if (store_txn_begin(s, 1, &t) == 0) {
		store_tget(t, STORE_COUNTERS, "cs", 2, &b, &e1);
		store_tget(t, STORE_COUNTERS, "cl", 2, &b, &e2);
		store_txn_abort(&t);
	}
	printf("cs=%lld/%s cl=%lld/%s ", v1, e1 == 0 ? "never" : "set", v2,
	    e2 > 0 ? "kept" : "lost");
	n = store_expire(s);
	printf("expired=%lld ", n);
	n = store_expire(s);
	printf("again=%lld\n", n);
	buf_free(&b);
	store_close(&s);
	return 0;
}

static void
test_clock(const char *self)
{
	struct store *s = tmpstore_open(dir);
	char out[512], shift[32];
	long long now = time_now();
	ssize_t n;
	int fd[2];
	pid_t pid;

	store_put(s, STORE_META, "x/short", 7, "S", 1, now + CLOCK_SHIFT / 2);
	store_put(s, STORE_META, "x/long", 6, "L", 1, now + CLOCK_SHIFT * 10);
	store_put(s, STORE_META, "x/never", 7, "N", 1, 0);
	store_incr(s, STORE_COUNTERS, "cs", 2, 5, now + CLOCK_SHIFT / 2, NULL);
	store_incr(s, STORE_COUNTERS, "cl", 2, 5, now + CLOCK_SHIFT * 10, NULL);
	store_close(&s);

	if (pipe(fd) == -1)
		exit(2);
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		snprintf(shift, sizeof(shift), "%d", CLOCK_SHIFT);
		setenv("YUBIN_TEST_CLOCK_OFFSET", shift, 1);
		execl(self, self, "--clock-child", dir, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	n = read_all(fd[0], out, sizeof(out) - 1);
	close(fd[0]);
	out[n > 0 ? n : 0] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	is_int(wait_child(pid), 0, "clock child ran");
	is_str(out, "short=(absent) long=L never=N "
	    "iter=0:x/long=L,x/never=N "
	    "cs=1/never cl=6/kept expired=1 again=0",
	    "200 s later: expired entries absent, counters restart or keep "
	    "their expiry, store_expire purges");

	s = tmpstore_open(dir);
	{
		struct buf b;

		buf_init(&b, 0);
		/* in this process's time x/short is still live, but it is
		 * gone from the file */
		is_str(get_str(s, STORE_META, "x/short", &b), "(absent)",
		    "purged entry gone for every process");
		is_str(get_str(s, STORE_META, "x/long", &b), "L",
		    "live entry kept by store_expire");
		buf_free(&b);
	}
	store_close(&s);
}

static void
test_open_errors(void)
{
	struct store *s = NULL;
	const char *why = NULL;
	char missing[300];

	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	is_int(store_open(&s, missing, &why), -1, "open of a missing folder");
	ok(s == NULL && why != NULL && *why, "error message: %s",
	    why ? why : "(null)");
}

/* the counter format: one reader and one writer (store.h) */
static void
test_counter_format(void)
{
	static const long long vals[] = { 0, 1, 255, 256, -1, 1LL << 40,
	    9223372036854775807LL, -9223372036854775807LL - 1 };
	unsigned char b[STORE_COUNTER_SIZE];
	long long v;
	size_t i;

	store_counter_encode(b, 0x0102030405060708LL);
	ok(b[0] == 8 && b[1] == 7 && b[7] == 1, "least significant byte first");
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		store_counter_encode(b, vals[i]);
		v = 42;
		is_int(store_counter_decode(b, sizeof(b), &v), 0,
		    "decode #%zu", i);
		ok(v == vals[i], "round trip of %lld", vals[i]);
	}
	v = 42;
	is_int(store_counter_decode(b, 7, &v), -1, "7 bytes: not a counter");
	is_int(store_counter_decode(b, 9, &v), -1, "9 bytes: not a counter");
	is_int(store_counter_decode(b, 0, &v), -1, "empty: not a counter");
	ok(v == 42, "nothing stored on refusal");
}

int
main(int argc, char **argv)
{

	if (argc == 3 && strcmp(argv[1], "--clock-child") == 0) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		return clock_child();
	}
	plan_no_plan();
	if (tmpstore_make(dir, sizeof(dir), "yubin-store") == -1)
		return 2;
	test_open_errors();
	test_clock("/proc/self/exe");	/* first: its expiry count is exact */
	test_basic();
	test_write();
	test_counters();
	test_counter_format();
	test_iter();
	test_killed_writer();
	test_two_writers();
	test_growth();
	tmpstore_remove(dir);
	return done_testing();
}
