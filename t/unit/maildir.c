/*
 * t/unit/maildir.c - Maildir delivery and listing: names, contents, exactly
 * once on repeated delivery (also after a move to cur/), the copy fallback
 * across file systems, stale tmp/ files, and scans that take sizes from W=,
 * S= or the file itself while ignoring dot files, folders and links.
 *
 * Everything lives in a fresh folder under $TMPDIR (default /tmp), removed
 * at the end; the cross-file-system case uses /dev/shm when that is another
 * file system, else it is skipped.
 */
#include <errno.h>
#include <stdarg.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "log.h"
#include "maildir.h"
#include "util.h"

static char top[PATH_MAX];

/* pathf - snprintf that stops the test when the result does not fit. */
static void __attribute__((format(printf, 3, 4)))
pathf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		diag("path too long: %s", out);
		exit(2);
	}
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
put_file(const char *path, const char *data)
{
	if (file_write_atomic(path, data, strlen(data), 0600) == -1) {
		diag("cannot write %s: %s", path, strerror(errno));
		exit(2);
	}
}

/* slurp - file contents (static buffer) or "(unreadable)". */
static const char *
slurp(const char *path)
{
	static char out[4096];
	char *data;
	size_t len;

	if (file_read(path, sizeof(out) - 1, &data, &len) == -1)
		return "(unreadable)";
	memcpy(out, data, len + 1);
	free(data);
	return out;
}

/* count_files - entries of DIR that do not start with a dot, or -1. */
static int
count_files(const char *dir)
{
	char cmd[PATH_MAX + 64];
	FILE *f;
	int n = -1;

	pathf(cmd, sizeof(cmd), "ls -1 '%s' | wc -l", dir);
	if ((f = popen(cmd, "r")) != NULL) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void
test_deliver(void)
{
	char md[PATH_MAX], src[PATH_MAX], path[PATH_MAX], want[PATH_MAX];
	char host[256], sub[PATH_MAX + 8], cur[PATH_MAX + 64];
	const char *msg = "Subject: hi\n\nbody\n";
	struct stat st;
	int r;

	pathf(md, sizeof(md), "%s/alice/Maildir", top);
	pathf(src, sizeof(src), "%s/queuefile", top);
	put_file(src, msg);

	is_int(maildir_create(md), 0, "maildir_create makes the folders");
	pathf(sub, sizeof(sub), "%s/tmp", md);
	ok(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700, "tmp/ exists, mode 0700");
	pathf(sub, sizeof(sub), "%s/new", md);
	ok(stat(sub, &st) == 0 && S_ISDIR(st.st_mode), "new/ exists");
	pathf(sub, sizeof(sub), "%s/cur", md);
	ok(stat(sub, &st) == 0 && S_ISDIR(st.st_mode), "cur/ exists");
	is_int(maildir_create(md), 0, "maildir_create again is fine");

	r = maildir_deliver(md, src, "4F2A91C07B3E", 0, NULL, 0, 18, 21, 0, path,
	    sizeof(path));
	is_int(r, 1, "first delivery stores");
	gethostname(host, sizeof(host));
	pathf(want, sizeof(want), "%s/new/4F2A91C07B3E.0.%s,S=18,W=21", md,
	    host);
	if (strchr(host, '/') == NULL && strchr(host, ':') == NULL &&
	    strchr(host, ',') == NULL)
		is_str(path, want, "stored under QID.IDX.HOST,S=,W= in new/");
	is_str(slurp(path), msg, "stored content is the queue file");
	ok(stat(path, &st) == 0 && st.st_nlink == 1 &&
	    (st.st_mode & 0777) == 0600,
	    "a file of its own (never a link of the queue file), mode 0600");
	pathf(sub, sizeof(sub), "%s/new", md);
	is_int(count_files(sub), 1, "one file in new/");
	pathf(sub, sizeof(sub), "%s/tmp", md);
	is_int(count_files(sub), 0, "tmp/ left empty");

	r = maildir_deliver(md, src, "4F2A91C07B3E", 0, NULL, 0, 18, 21, 0, NULL, 0);
	is_int(r, 0, "same queue id and index again: already stored");
	pathf(sub, sizeof(sub), "%s/new", md);
	is_int(count_files(sub), 1, "still one file in new/");

	r = maildir_deliver(md, src, "4F2A91C07B3E", 1, NULL, 0, 18, 21, 0, NULL, 0);
	is_int(r, 1, "another recipient index stores again");
	is_int(count_files(sub), 2, "two files in new/");

	/* a reader moved the first copy to cur/ with flags */
	pathf(cur, sizeof(cur), "%s/cur/%s:2,S", md, strrchr(path, '/') + 1);
	ok(rename(path, cur) == 0, "moved to cur/ with flags");
	r = maildir_deliver(md, src, "4F2A91C07B3E", 0, NULL, 0, 18, 21, 0, path,
	    sizeof(path));
	is_int(r, 0, "a copy in cur/ counts as stored");
	is_str(path, cur, "and its path in cur/ is returned");
	is_int(count_files(sub), 1, "nothing new in new/");
	r = maildir_deliver(md, src, "4F2A91C07B3E", 1, NULL, 0, 18, 21,
	    MAILDIR_FIRST, path, sizeof(path));
	is_int(r, 0, "MAILDIR_FIRST: a twin in new/ is still never replaced");
	is_int(count_files(sub), 1, "and nothing added to new/");
	r = maildir_deliver(md, src, "4F2A91C07B3E", 0, NULL, 0, 18, 21,
	    MAILDIR_FIRST, path, sizeof(path));
	is_int(r, 1, "MAILDIR_FIRST: cur/ is not read");
	is_int(count_files(sub), 2, "so the copy is stored in new/");
	ok(unlink(path) == 0, "(removed again)");

	/* MAILDIR_NOSYNC: stored the same, new/ synced by the caller */
	r = maildir_deliver(md, src, "4F2A91C07B3E", 5, NULL, 0, 18, 21,
	    MAILDIR_FIRST | MAILDIR_NOSYNC, path, sizeof(path));
	is_int(r, 1, "MAILDIR_NOSYNC stores");
	is_str(slurp(path), msg, "the same content");
	is_int(maildir_sync_new(md), 0, "maildir_sync_new syncs new/");
	pathf(sub, sizeof(sub), "%s/nosuch", top);
	errno = 0;
	ok(maildir_sync_new(sub) == -1 && errno == ENOENT,
	    "maildir_sync_new of a missing Maildir: ENOENT");
	ok(unlink(path) == 0, "(removed again)");
	pathf(sub, sizeof(sub), "%s/new", md);

	/* a stale tmp/ file of a crashed attempt is replaced */
	pathf(want, sizeof(want), "%s/tmp/4F2A91C07B3E.7.%s,S=18,W=21", md,
	    host);
	if (strchr(host, '/') == NULL && strchr(host, ':') == NULL &&
	    strchr(host, ',') == NULL) {
		put_file(want, "half a message");
		r = maildir_deliver(md, src, "4F2A91C07B3E", 7, NULL, 0, 18, 21, 0, path,
		    sizeof(path));
		is_int(r, 1, "delivery over a stale tmp/ file");
		is_str(slurp(path), msg, "with the right content");
		ok(access(want, F_OK) == -1, "and the tmp/ file gone");
	}

	errno = 0;
	r = maildir_deliver(md, src, "bad/qid", 0, NULL, 0, 18, 21, 0, NULL, 0);
	ok(r == -1 && errno == EINVAL, "a queue id with '/' is refused");
	r = maildir_deliver(md, src, ".hidden", 0, NULL, 0, 18, 21, 0, NULL, 0);
	ok(r == -1 && errno == EINVAL, "a queue id starting with '.' is refused");
	r = maildir_deliver(md, src, "Q,1", 0, NULL, 0, 18, 21, 0, NULL, 0);
	ok(r == -1 && errno == EINVAL, "a queue id with ',' is refused");
	pathf(want, sizeof(want), "%s/nonexistent", top);
	r = maildir_deliver(md, want, "MISSING", 0, NULL, 0, 1, 1, 0, NULL, 0);
	ok(r == -1 && errno == ENOENT, "a missing source fails with ENOENT");
	pathf(want, sizeof(want), "%s/tmp", md);
	is_int(count_files(want), 0, "failed deliveries leave tmp/ empty");

	/* tmp/ removed behind our back: delivery repairs the Maildir */
	pathf(want, sizeof(want), "%s/tmp", md);
	rmdir(want);
	r = maildir_deliver(md, src, "REPAIR", 0, NULL, 0, 18, 21, 0, path, sizeof(path));
	is_int(r, 1, "missing tmp/ is recreated");
	is_str(slurp(path), msg, "and the message stored");
}

/* test_trace - the copy begins with the recipient's trace lines */
static void
test_trace(void)
{
	char md[PATH_MAX], src[PATH_MAX], path[PATH_MAX], tr[MAILDIR_TRACE_MAX];
	char want[4096];
	const char *msg = "Subject: t\n\nbody\n";
	size_t tl;
	int r;

	pathf(md, sizeof(md), "%s/dave/Maildir", top);
	pathf(src, sizeof(src), "%s/queuefile-trace", top);
	put_file(src, msg);
	tl = maildir_trace("a@example.org", "dave@example.net", tr, sizeof(tr));
	is_str(tr, "Return-Path: <a@example.org>\nDelivered-To: dave@example.net\n",
	    "maildir_trace writes both lines");
	is_int((int)tl, (int)strlen(tr), "and returns their length");
	tl = maildir_trace("", "dave@example.net", tr, sizeof(tr));
	is_str(tr, "Return-Path: <>\nDelivered-To: dave@example.net\n",
	    "null sender: Return-Path: <>");
	is_int((int)maildir_trace("a\r\nX: y", "c@d", tr, sizeof(tr)), 0,
	    "an address with CR LF is refused");
	is_int((int)maildir_trace("a@b", "c@d", tr, 10), 0,
	    "no room: refused, not cut");
	tl = maildir_trace("a@example.org", "dave@example.net", tr, sizeof(tr));
	is_int(maildir_create(md), 0, "maildir for the trace test");
	r = maildir_deliver(md, src, "TRACE", 0, tr, tl,
	    (long long)(strlen(msg) + tl), (long long)(strlen(msg) + tl + 4), 0,
	    path, sizeof(path));
	is_int(r, 1, "stored with trace lines");
	snprintf(want, sizeof(want), "%s%s", tr, msg);
	is_str(slurp(path), want, "the trace lines, then the queue file");
	r = maildir_deliver(md, src, "TRACE", 0, tr, tl,
	    (long long)(strlen(msg) + tl), (long long)(strlen(msg) + tl + 4), 0,
	    NULL, 0);
	is_int(r, 0, "again: already stored (exactly once)");
}

static void
test_copy_fallback(void)
{
	char md[PATH_MAX], src[PATH_MAX], path[PATH_MAX];
	const char *msg = "Subject: copied\n\nacross file systems\n";
	struct stat a, b;
	int r;

	if (stat("/dev/shm", &a) == -1 || stat(top, &b) == -1 ||
	    a.st_dev == b.st_dev || access("/dev/shm", W_OK) == -1) {
		ok(1, "# SKIP no second file system for the copy fallback");
		return;
	}
	pathf(md, sizeof(md), "%s/bob/Maildir", top);
	pathf(src, sizeof(src), "/dev/shm/yubin-maildir-t.%ld", (long)getpid());
	put_file(src, msg);
	maildir_create(md);
	r = maildir_deliver(md, src, "CROSSFS", 3, NULL, 0, (long long)strlen(msg),
	    (long long)strlen(msg) + 3, 0, path, sizeof(path));
	is_int(r, 1, "delivery from another file system stores");
	is_str(slurp(path), msg, "copied content is right");
	ok(stat(path, &a) == 0 && a.st_nlink == 1 && (a.st_mode & 0777) == 0600,
	    "a copy (one link), mode 0600");
	unlink(src);
}

static void
test_scan(void)
{
	char md[PATH_MAX], p[PATH_MAX + 64];
	struct maildir_list l;
	int r;

	pathf(md, sizeof(md), "%s/carol/Maildir", top);
	maildir_create(md);
	/* sizes in the name win over the content */
	pathf(p, sizeof(p), "%s/new/A.0.h,S=10,W=12", md);
	put_file(p, "x");
	pathf(p, sizeof(p), "%s/new/B.0.h,S=5", md);
	put_file(p, "y");
	/* no size in the name: bytes + bare LFs + 2 for a missing last LF */
	pathf(p, sizeof(p), "%s/new/C", md);
	put_file(p, "a\nb\r\nc");
	pathf(p, sizeof(p), "%s/new/E-empty", md);
	put_file(p, "");
	pathf(p, sizeof(p), "%s/new/F-lf", md);
	put_file(p, "one\ntwo\n\n");
	pathf(p, sizeof(p), "%s/cur/D.1.h,S=3,W=4:2,S", md);
	put_file(p, "z");
	/* a bad W= falls back to S= */
	pathf(p, sizeof(p), "%s/new/G.0.h,W=x,S=7", md);
	put_file(p, "");
	/* junk that must not be listed */
	pathf(p, sizeof(p), "%s/new/.hidden", md);
	put_file(p, "dot file");
	pathf(p, sizeof(p), "%s/new/subdir", md);
	mkdir(p, 0700);
	pathf(p, sizeof(p), "%s/new/link", md);
	if (symlink("/etc/passwd", p) == -1)
		diag("symlink: %s", strerror(errno));

	r = maildir_scan(md, 1000, &l);
	is_int(r, 0, "scan succeeds");
	is_int(l.n, 7, "seven messages, junk ignored");
	if (l.n == 7) {
		is_str(l.msg[0].name, "new/A.0.h,S=10,W=12", "1st: A");
		is_str(l.msg[0].uid, "A.0.h,S=10,W=12", "uid is the base name");
		is_int(l.msg[0].size, 12, "size from W=");
		is_str(l.msg[1].name, "new/B.0.h,S=5", "2nd: B");
		is_int(l.msg[1].size, 5, "size from S= without W=");
		is_str(l.msg[2].name, "new/C", "3rd: C");
		is_int(l.msg[2].size, 9, "size counted: 6 bytes + 1 LF + final CRLF");
		is_str(l.msg[3].name, "cur/D.1.h,S=3,W=4:2,S", "4th: D from cur/");
		is_str(l.msg[3].uid, "D.1.h,S=3,W=4", "uid stops at ':'");
		is_int(l.msg[3].size, 4, "size from W= before the flags");
		is_str(l.msg[4].name, "new/E-empty", "5th: empty file");
		is_int(l.msg[4].size, 0, "empty file has size 0");
		is_int(l.msg[5].size, 12, "three LF lines: 9 bytes + 3");
		is_int(l.msg[6].size, 7, "bad W= value: S= used");
		ok(!l.msg[0].deleted && !l.msg[6].deleted, "none marked deleted");
	}
	maildir_list_free(&l);
	ok(l.msg == NULL && l.n == 0, "list_free empties the list");

	pathf(p, sizeof(p), "%s/test.log", top);
	log_open(LOG_DEST_FILE, p, 0);
	r = maildir_scan(md, 3, &l);
	log_open(LOG_DEST_STDERR, NULL, 0);
	is_int(r, 0, "scan with a limit succeeds");
	is_int(l.n, 3, "at most MAX messages listed");
	ok(strstr(slurp(p), "4 messages past the limit of 3 not listed") != NULL,
	    "the messages left out are logged");
	maildir_list_free(&l);

	/* the same message in new/ and cur/ (caught mid-move) is listed once */
	pathf(p, sizeof(p), "%s/cur/A.0.h,S=10,W=12:2,", md);
	put_file(p, "x");
	r = maildir_scan(md, 1000, &l);
	is_int(l.n, 7, "a message in new/ and cur/ is listed once");
	maildir_list_free(&l);

	pathf(p, sizeof(p), "%s/nobody/Maildir", top);
	errno = 0;
	r = maildir_scan(p, 1000, &l);
	ok(r == -1 && errno == ENOENT, "scan of a missing Maildir: -1 ENOENT");
	ok(l.n == 0 && l.msg == NULL, "and an empty list");
}

/* names in arrival order: SECONDS.M<usec>Q<qid>R<idx>.HOST from the queue id */
static void
test_arrival_names(void)
{
	char md[PATH_MAX], src[PATH_MAX], p[PATH_MAX + 64], name[NAME_MAX + 1];
	char path[PATH_MAX], path2[PATH_MAX];
	struct maildir_list l;
	int r;

	/* queue id 675E4A10 = 1734232592 s, 0x0C350 = 50000 us */
	is_int(maildir_name(name, sizeof(name), "675E4A100C350ABC", 2, "vm", 18,
	    21), 0, "maildir_name of a queue id");
	is_str(name, "1734232592.M050000Q675E4A100C350ABCR2.vm,S=18,W=21",
	    "SECONDS.M<usec>Q<qid>R<idx>.HOST,S=,W=");
	is_int(maildir_name(name, sizeof(name), "4F2A91C07B3E", 0, "vm", 1, 2),
	    0, "an id that is not a queue id");
	is_str(name, "4F2A91C07B3E.0.vm,S=1,W=2", "keeps the older form");

	pathf(md, sizeof(md), "%s/erin/Maildir", top);
	pathf(src, sizeof(src), "%s/queuefile-erin", top);
	put_file(src, "Subject: x\n\nbody\n");
	maildir_create(md);
	r = maildir_deliver(md, src, "675E4A100C350ABC", 0, NULL, 0, 18, 21, 0,
	    path, sizeof(path));
	is_int(r, 1, "a queue-id delivery stores");
	r = maildir_deliver(md, src, "675E4A100C350ABC", 0, NULL, 0, 18, 21, 0,
	    path2, sizeof(path2));
	is_int(r, 0, "the same job again: already stored");
	is_str(path2, path, "under the same name");
	pathf(p, sizeof(p), "%s/new", md);
	is_int(count_files(p), 1, "delivering the same job twice leaves one file");

	/* order: numeric leading seconds, then the rest; old names last */
	pathf(p, sizeof(p), "%s/new/675E4A0F0FFFF123.0.vm,S=1,W=1", md);
	put_file(p, "o");
	pathf(p, sizeof(p), "%s/new/1734232592.M049999Q675E4A100C34F000R0.vm,S=1,W=1", md);
	put_file(p, "a");
	pathf(p, sizeof(p), "%s/cur/1733300000.M1P2.other:2,S", md);
	put_file(p, "b\n");
	pathf(p, sizeof(p), "%s/new/999999999.M9P9.other", md);
	put_file(p, "c\n");
	r = maildir_scan(md, 1000, &l);
	is_int(r, 0, "scan");
	is_int(l.n, 5, "five messages");
	if (l.n == 5) {
		is_str(l.msg[0].uid, "999999999.M9P9.other",
		    "1st: fewer digits but the oldest second");
		is_str(l.msg[1].uid, "1733300000.M1P2.other", "2nd: other software's, older");
		is_str(l.msg[2].uid, "1734232592.M049999Q675E4A100C34F000R0.vm,S=1,W=1",
		    "3rd: same second, earlier microsecond");
		ok(strncmp(l.msg[3].uid, "1734232592.M050000Q", 19) == 0,
		    "4th: the copy delivered above");
		is_str(l.msg[4].uid, "675E4A0F0FFFF123.0.vm,S=1,W=1",
		    "5th: an older-style name after every time-named one");
		is_int(l.msg[4].size, 1, "and its size still read from W=");
	}
	maildir_list_free(&l);
	ok(maildir_uid_cmp("10.a", "9.b") > 0, "seconds compare as numbers");
	ok(maildir_uid_cmp("9.b", "9.a") > 0, "then the rest of the name");
	ok(maildir_uid_cmp("ABC", "1.x") > 0, "a name without digits sorts last");
	ok(maildir_uid_cmp("6B12C1403E050C3C.0.vm", "9999999999.x") > 0,
	    "an older name that begins with a digit too");
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	plan_no_plan();
	pathf(top, sizeof(top), "%s/yubin-maildir-XXXXXX", tmp && *tmp ? tmp :
	    "/tmp");
	if (mkdtemp(top) == NULL) {
		diag("mkdtemp: %s", strerror(errno));
		return 2;
	}
	test_deliver();
	test_trace();
	test_copy_fallback();
	test_scan();
	test_arrival_names();
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
