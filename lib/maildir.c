/*
 * maildir.c - local mailboxes in Maildir form; see maildir.h.
 *
 * Delivery: the recipient's trace lines (Return-Path:, Delivered-To:) and
 * then the queue file's bytes are written into tmp/ under the final name and
 * fsync'ed, then renamed into new/ without replacing anything, and new/ is
 * fsync'ed before success is reported: the durability rule of DESIGN.md §4.
 * (With MAILDIR_NOSYNC the caller syncs new/ later, for many copies at once.)
 * (The copy cannot be a hard link of the queue file any more: each
 * recipient's copy begins with its own Delivered-To.)  The name is a function of (queue id,
 * recipient index, host), so a delivery repeated after a crash finds its
 * earlier copy and stores nothing: exactly once.
 *
 * Scan: names only, from readdir of new/ and cur/; the POP3 size of a message
 * comes from its W= field (else S=, else one pass over that single file), so
 * a mailbox of many thousands of messages opens without reading bodies.
 *
 * Never: overwrite a stored message, follow a symbolic link out of the
 * Maildir, list dot files or anything that is not a regular file, or report
 * a delivery as done before the directory holding it is on disk.
 *
 * Runs in the delivery agents (delivery) and the POP3 workers (scan), as
 * server.user.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "maildir.h"
#include "util.h"

#define MAILDIR_MODE		0700
#define MAILDIR_FILE_MODE	0600
#define MAILDIR_HOST_MAX	64	/* host part of a name; long enough for any FQDN label run we meet */
#define MAILDIR_QID_MAX		64	/* queue ids are short; bounded so the name fits NAME_MAX */
#define MAILDIR_COPY_CHUNK	65536	/* one read()/write() of the copy fallback and the LF count */

/*
 * maildir_host - this host's name for file names, with '/', ':' and ','
 * written as \057, \072, \054 (the Maildir convention), so that the name
 * splits unambiguously.  Cut at MAILDIR_HOST_MAX.
 */
static void
maildir_host(char *out, size_t size)
{
	static char host[256];	/* asked once a process: names stay steady */
	size_t i, o = 0;

	if (host[0] == '\0' && (gethostname(host, sizeof(host)) == -1 ||
	    host[0] == '\0'))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && o + 5 < size && o < MAILDIR_HOST_MAX; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (ch == '/' || ch == ':' || ch == ',' || ch == '\\' ||
		    ch <= 0x20 || ch >= 0x7f) {
			snprintf(out + o, size - o, "\\%03o", ch);
			o += 4;
		} else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

/* maildir_qid_valid - queue ids become file names: printable, no '/', ':'
 * or ',', not starting with a dot, bounded. */
static int
maildir_qid_valid(const char *qid)
{
	size_t i;

	if (qid[0] == '\0' || qid[0] == '.')
		return 0;
	for (i = 0; qid[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)qid[i];

		if (i >= MAILDIR_QID_MAX || ch <= 0x20 || ch >= 0x7f ||
		    ch == '/' || ch == ':' || ch == ',')
			return 0;
	}
	return 1;
}

int
maildir_create(const char *dir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char path[PATH_MAX];
	size_t i;

	if (mkdir_p(dir, MAILDIR_MODE) == -1)
		return -1;
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub[i]) >=
		    sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(path, MAILDIR_MODE) == -1 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* maildir_in_cur - 1 when cur/ holds NAME with any ":2,FLAGS" suffix (its
 * path then written to PATH_R when not NULL), 0 not, -1 error.  cur/ is
 * normally empty or small: POP3 leaves mail in new/. */
static int
maildir_in_cur(const char *dir, const char *name, char *path_r,
    size_t pathsize)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t nlen = strlen(name);
	DIR *d;
	int found = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/cur", dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, name, nlen) == 0 &&
		    (de->d_name[nlen] == ':' || de->d_name[nlen] == '\0')) {
			found = 1;
			if (path_r != NULL && pathsize > 0 &&
			    (size_t)snprintf(path_r, pathsize, "%s/%s", path,
			    de->d_name) >= pathsize)
				path_r[0] = '\0';	/* too long to report */
			break;
		}
	}
	closedir(d);
	return found;
}

/* maildir_copy - write PRE (PRELEN bytes) then a copy of SRC into the new
 * file DST (O_EXCL) and fsync it.  0 or -1 (errno; DST removed). */
static int
maildir_copy(const char *src, const char *dst, const char *pre, size_t prelen)
{
	char *chunk;
	ssize_t n;
	int in, out, saved;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    MAILDIR_FILE_MODE);
	if (out == -1) {
		saved = errno;
		close(in);
		errno = saved;
		return -1;
	}
	chunk = xmalloc(MAILDIR_COPY_CHUNK);
	n = prelen > 0 && write_all(out, pre, prelen) == -1 ? -1 : 1;
	while (n > 0) {
		n = read(in, chunk, MAILDIR_COPY_CHUNK);
		if (n == -1 && errno == EINTR) {
			n = 1;
			continue;
		}
		if (n <= 0)
			break;
		if (write_all(out, chunk, (size_t)n) == -1) {
			n = -1;
			break;
		}
	}
	if (n == 0 && fsync(out) == -1)
		n = -1;
	saved = errno;
	free(chunk);
	close(in);
	if (close(out) == -1 && n == 0) {
		saved = errno;
		n = -1;
	}
	if (n != 0) {
		(void)unlink(dst);
		errno = saved;
		return -1;
	}
	return 0;
}

size_t
maildir_trace(const char *sender, const char *rcpt, char *out, size_t size)
{
	int n;

	if (strpbrk(sender, "\r\n") != NULL || strpbrk(rcpt, "\r\n") != NULL)
		return 0;
	n = snprintf(out, size, "Return-Path: <%s>\nDelivered-To: %s\n", sender,
	    rcpt);
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}

/* maildir_hex8 - the value of the 8 upper-case hex digits at P, or -1. */
static long long
maildir_hex8(const char *p)
{
	long long v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			v = v * 16 + (p[i] - '0');
		else if (p[i] >= 'A' && p[i] <= 'F')
			v = v * 16 + (p[i] - 'A' + 10);
		else
			return -1;
	}
	return v;
}

int
maildir_name(char *out, size_t outsize, const char *qid, unsigned idx,
    const char *host, long long size, long long crlfsize)
{
	long long sec = 0, low = 0;
	int n;

	if (!maildir_qid_valid(qid) || size < 0 || crlfsize < 0) {
		errno = EINVAL;
		return -1;
	}
	/* a queue id carries its arrival (queue.h): the name repeats it */
	if (strlen(qid) == 16 && (sec = maildir_hex8(qid)) >= 0 &&
	    (low = maildir_hex8(qid + 8)) >= 0 && (low >> 12) < 1000000)
		n = snprintf(out, outsize, "%lld.M%06lldQ%sR%u.%s,S=%lld,W=%lld",
		    sec, low >> 12, qid, idx, host, size, crlfsize);
	else
		n = snprintf(out, outsize, "%s.%u.%s,S=%lld,W=%lld", qid, idx,
		    host, size, crlfsize);
	if (n < 0 || (size_t)n >= outsize) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* maildir_store - maildir_deliver without the final fsync of new/. */
static int
maildir_store(const char *dir, const char *srcpath, const char *qid,
    unsigned idx, const char *trace, size_t tracelen, long long size,
    long long crlfsize, unsigned flags, char *path_r, size_t pathsize)
{
	char host[MAILDIR_HOST_MAX + 8];
	char name[NAME_MAX + 1];
	char tmp[PATH_MAX], new[PATH_MAX], newdir[PATH_MAX];
	struct stat st;
	int r, saved;

	if (!maildir_qid_valid(qid) || size < 0 || crlfsize < 0) {
		errno = EINVAL;
		return -1;
	}
	maildir_host(host, sizeof(host));
	if (maildir_name(name, sizeof(name), qid, idx, host, size,
	    crlfsize) == -1 ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name) >=
	    sizeof(tmp) ||
	    (size_t)snprintf(newdir, sizeof(newdir), "%s/new", dir) >=
	    sizeof(newdir) ||
	    (size_t)snprintf(new, sizeof(new), "%s/%s", newdir, name) >=
	    sizeof(new)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (path_r != NULL && pathsize > 0 &&
	    (size_t)snprintf(path_r, pathsize, "%s", new) >= pathsize) {
		errno = ENAMETOOLONG;
		return -1;
	}

	/* stored before (a delivery repeated after a crash)?  A first
	 * attempt cannot be: the rename below still never overwrites */
	if (!(flags & MAILDIR_FIRST)) {
		if (lstat(new, &st) == 0)
			return 0;
		if (errno != ENOENT)
			return -1;
		if ((r = maildir_in_cur(dir, name, path_r, pathsize)) != 0)
			return r == 1 ? 0 : -1;
	}
	r = maildir_copy(srcpath, tmp, trace, tracelen);
	if (r == -1 && errno == EEXIST) {
		/* a tmp/ file of an interrupted attempt is stale: again */
		if (unlink(tmp) == -1 && errno != ENOENT)
			return -1;
		r = maildir_copy(srcpath, tmp, trace, tracelen);
	}
	if (r == -1 && errno == ENOENT && access(srcpath, F_OK) == 0) {
		/* tmp/ itself is missing: repair the Maildir once */
		if (maildir_create(dir) == -1)
			return -1;
		r = maildir_copy(srcpath, tmp, trace, tracelen);
	}
	if (r == -1)
		return -1;
	/* never replace: a racing twin of this delivery wins, we are a no-op */
	r = renameat2(AT_FDCWD, tmp, AT_FDCWD, new, RENAME_NOREPLACE);
	if (r == -1 && (errno == EINVAL || errno == ENOSYS)) {
		/* file system without RENAME_NOREPLACE */
		if (link(tmp, new) == 0)
			r = unlink(tmp) == -1 && errno != ENOENT ? -1 : 0;
		else
			r = -1;
	}
	if (r == -1) {
		saved = errno;
		(void)unlink(tmp);
		if (saved == EEXIST)
			return 0;
		errno = saved;
		return -1;
	}
	return 1;
}

int
maildir_sync_new(const char *dir)
{
	char newdir[PATH_MAX];

	if ((size_t)snprintf(newdir, sizeof(newdir), "%s/new", dir) >=
	    sizeof(newdir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return fsync_dir(newdir);
}

int
maildir_deliver(const char *dir, const char *srcpath, const char *qid,
    unsigned idx, const char *trace, size_t tracelen, long long size,
    long long crlfsize, unsigned flags, char *path_r, size_t pathsize)
{
	int r;

	r = maildir_store(dir, srcpath, qid, idx, trace, tracelen, size,
	    crlfsize, flags, path_r, pathsize);
	if (r != 1 || (flags & MAILDIR_NOSYNC))
		return r;
	return maildir_sync_new(dir) == -1 ? -1 : 1;
}

/*
 * maildir_name_size - the POP3 size of base name NAME from ",W=" (else
 * ",S="), looked for before any ':'.  -1 when neither is there.
 */
static long long
maildir_name_size(const char *name)
{
	static const char *const field[] = { ",W=", ",S=" };
	const char *end, *p, *q;
	size_t i;
	long long v;

	end = strchr(name, ':');
	if (end == NULL)
		end = name + strlen(name);
	for (i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
		for (p = name; (p = strstr(p, field[i])) != NULL && p < end; p++) {
			q = p + 3;
			if (q >= end || *q < '0' || *q > '9')
				continue;
			for (v = 0; q < end && *q >= '0' && *q <= '9'; q++) {
				if (v > (LLONG_MAX - 9) / 10)
					break;
				v = v * 10 + (*q - '0');
			}
			if (q == end || *q == ',')
				return v;
		}
	}
	return -1;
}

/*
 * maildir_count_size - the POP3 size of the file NAME in directory DFD: its
 * bytes, plus one for each LF not preceded by CR (it goes out as CRLF), plus
 * two when the last line has no terminator (the server adds CRLF).  -1 on
 * error.  Must agree with how pop3.c sends a message.
 */
static long long
maildir_count_size(int dfd, const char *name)
{
	long long size;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	size = maildir_wire_size(fd, NULL);
	close(fd);
	return size;
}

long long
maildir_wire_size(int fd, long long *bytes)
{
	char *chunk;
	long long size = 0, raw = 0;
	ssize_t n, i;
	char prev = '\n';

	chunk = xmalloc(MAILDIR_COPY_CHUNK);
	for (;;) {
		n = pread(fd, chunk, MAILDIR_COPY_CHUNK, (off_t)raw);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (chunk[i] == '\n' && prev != '\r')
				size++;
			prev = chunk[i];
		}
		size += n;
		raw += n;
	}
	free(chunk);
	if (n == -1)
		return -1;
	if (prev != '\n')
		size += 2;
	if (bytes)
		*bytes = raw;
	return size;
}

/* maildir_lead - the leading decimal number of NAME (its arrival second in
 * the Maildir convention SECONDS.UNIQUE.HOST), -1 when NAME does not begin
 * with digits followed by '.' (or its end) or the number is out of range;
 * *REST then points after the digits. */
static long long
maildir_lead(const char *name, const char **rest)
{
	long long v = 0;

	*rest = name;
	if (*name < '0' || *name > '9')
		return -1;
	for (; *name >= '0' && *name <= '9'; name++) {
		if (v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*name - '0');
	}
	if (*name != '.' && *name != '\0')
		return -1;	/* "6B12C1403E050C3C.0.vm": an older yubin name */
	*rest = name;
	return v;
}

int
maildir_uid_cmp(const char *a, const char *b)
{
	const char *ra, *rb;
	long long ta = maildir_lead(a, &ra), tb = maildir_lead(b, &rb);
	int r;

	if (ta >= 0 && tb >= 0) {
		if (ta != tb)
			return ta < tb ? -1 : 1;
		if ((r = strcmp(ra, rb)) != 0)
			return r;
	} else if (ta >= 0 || tb >= 0) {
		return ta >= 0 ? -1 : 1;	/* time-named ones first */
	}
	return strcmp(a, b);
}

/* maildir_cmp - order by base name (the UID, maildir_uid_cmp), so a message
 * moved from new/ to cur/ keeps its place, then by full name. */
static int
maildir_cmp(const void *a, const void *b)
{
	const struct maildir_msg *x = a, *y = b;
	int r = maildir_uid_cmp(x->uid, y->uid);

	return r != 0 ? r : strcmp(x->name, y->name);
}

/* maildir_scan_sub - add the messages of DIR/SUB to L (capacity *CAP).
 * Entries past MAX are counted in *dropped.  0 or -1. */
static int
maildir_scan_sub(const char *dir, const char *sub, size_t max,
    struct maildir_list *l, size_t *cap, size_t *dropped)
{
	char path[PATH_MAX];
	struct maildir_msg *m;
	struct dirent *de;
	struct stat st;
	long long size;
	DIR *d;
	int dfd, isreg;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	dfd = dirfd(d);
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_REG)
			isreg = 1;
		else if (de->d_type == DT_UNKNOWN)
			isreg = fstatat(dfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
		else
			isreg = 0;
		if (!isreg)
			continue;
		if (l->n >= max) {
			(*dropped)++;
			continue;
		}
		size = maildir_name_size(de->d_name);
		if (size < 0 && (size = maildir_count_size(dfd, de->d_name)) < 0)
			continue;	/* vanished or unreadable: not listed */
		if (l->n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			l->msg = xrealloc(l->msg, *cap * sizeof(*l->msg));
		}
		m = &l->msg[l->n++];
		m->name = xasprintf("%s/%s", sub, de->d_name);
		m->uid = xstrndup(de->d_name, strcspn(de->d_name, ":"));
		m->size = size;
		m->deleted = 0;
		errno = 0;
	}
	if (errno != 0) {
		int saved = errno;

		closedir(d);
		errno = saved;
		return -1;
	}
	closedir(d);
	return 0;
}

int
maildir_scan(const char *dir, size_t max, struct maildir_list *l)
{
	size_t cap = 0, dropped = 0, i, o;

	l->msg = NULL;
	l->n = 0;
	if (maildir_scan_sub(dir, "new", max, l, &cap, &dropped) == -1 ||
	    maildir_scan_sub(dir, "cur", max, l, &cap, &dropped) == -1) {
		int saved = errno;

		maildir_list_free(l);
		errno = saved;
		return -1;
	}
	if (l->n > 1)
		qsort(l->msg, l->n, sizeof(*l->msg), maildir_cmp);
	/* the same UID in new/ and cur/ (caught mid-move): list it once */
	for (i = o = 0; i < l->n; i++) {
		if (o > 0 && strcmp(l->msg[o - 1].uid, l->msg[i].uid) == 0) {
			free(l->msg[i].name);
			free(l->msg[i].uid);
			continue;
		}
		l->msg[o++] = l->msg[i];
	}
	l->n = o;
	if (dropped > 0)
		log_warn("maildir: %s: %zu messages past the limit of %zu not listed",
		    dir, dropped, max);
	return 0;
}

void
maildir_list_free(struct maildir_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->msg[i].name);
		free(l->msg[i].uid);
	}
	free(l->msg);
	l->msg = NULL;
	l->n = 0;
}

const char *
maildir_uidl(const struct maildir_msg *m, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t len = strlen(m->uid);
	const char *s;

	for (s = m->uid; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			break;
	if (*s == '\0' && len >= 1 && len <= MAILDIR_UIDL_MAX)
		return m->uid;
	if (EVP_Digest(m->uid, len, md, &mdlen, EVP_md5(), NULL) != 1)
		mdlen = 0;
	for (i = 0; i < mdlen && 2 * i + 2 <= MAILDIR_UIDL_MAX; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * i] = '\0';
	return out;
}
