/*
 * log.c - event log to stderr, a file or syslog; see log.h.
 *
 * State is per process (set before fork, inherited, adjusted by log_role in
 * the child); nothing here allocates, so it is safe to call on the
 * out-of-memory path.
 *
 * Privilege: the master opens, rotates and reopens the file as root, its
 * workers as the server user, and the folder (HOME/log) belongs to the
 * server user, who could plant a link there.  So root never opens the file
 * by its path: the folder is opened with O_NOFOLLOW|O_DIRECTORY and must be
 * owned by root or the server user (log_set_owner) and not writable by
 * others; the file is opened in that folder with O_NOFOLLOW (O_NONBLOCK, so
 * a FIFO cannot hang us) and must be a regular file with one link, owned by
 * root or the server user.  A file we create is given to the server user
 * (fchown on the fd) so that the workers can reopen it.  Rotation renames
 * within the same folder descriptor (renameat never follows a link).  The
 * only file root ever appends to is thus one the server user could write
 * anyway, inside HOME: a planted link, FIFO, device or hard link is refused
 * (log_open fails with ELOOP, EINVAL or EPERM; log_reopen keeps the old fd).
 * Must never: open the log by a path whose last components the server user
 * controls, or write to a file that is not a single-link regular file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	4096	/* longer events are cut with "..." */

static struct {
	enum log_dest	dest;
	int		fd;
	char		path[4096];
	char		dir[4096];	/* PATH up to the last '/' */
	const char	*base;		/* in PATH: after the last '/' */
	uid_t		uid;		/* expected owner; -1: the euid */
	gid_t		gid;
	long long	maxsize;
	char		role[32];
	int		debug;
	unsigned	kinds;		/* bit (1 << kind): written */
	int		fg;		/* yubind -f */
	long long	fgmax;		/* -f: clear a regular-file stderr past it */
	int		failed;		/* the last write failed (said once) */
} lg = { LOG_DEST_STDERR, -1, "", "", "", (uid_t)-1, (gid_t)-1, 0, "yubin",
    0, LOG_KINDS_ALL, 0, 0, 0 };

const char *const log_kind_name[LOG_NKINDS] = {
	[LOG_KIND_RECEIVE] = "receive",
	[LOG_KIND_SEND] = "send",
	[LOG_KIND_CONNECTION] = "connection",
	[LOG_KIND_DELIVERY] = "delivery",
	[LOG_KIND_FAILURE] = "failure",
};

/* set by log_reopen_request (a signal handler): reopen before the next line */
static volatile sig_atomic_t reopen_wanted;

static const char *const lvl_name[] = {
	[LOG_LVL_DEBUG] = "debug: ",
	[LOG_LVL_INFO] = "",
	[LOG_LVL_WARN] = "warning: ",
	[LOG_LVL_ERR] = "error: ",
	[LOG_LVL_FATAL] = "fatal: ",
};

void
log_set_owner(uid_t uid, gid_t gid)
{
	lg.uid = uid;
	lg.gid = gid;
}

void
log_reopen_request(void)
{
	reopen_wanted = 1;
}

/* owner_ok - UID is root's or the expected owner's. */
static int
owner_ok(uid_t uid)
{
	return uid == 0 || uid == (lg.uid == (uid_t)-1 ? geteuid() : lg.uid);
}

/* log_dir_open - the log folder, checked as the header says; fd or -1. */
static int
log_dir_open(void)
{
	struct stat st;
	int dfd;

	dfd = open(lg.dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1)
		return -1;
	if (fstat(dfd, &st) == -1 || !owner_ok(st.st_uid) ||
	    (st.st_mode & S_IWOTH)) {
		close(dfd);
		errno = EPERM;
		return -1;
	}
	return dfd;
}

/* log_file_open - open (or create) the log file in DFD; fd or -1 (errno:
 * ELOOP a link, EINVAL not a regular file, EPERM owner or links). */
static int
log_file_open(int dfd)
{
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC;
	struct stat st;
	int fd, created = 0, saved;

	fd = openat(dfd, lg.base, flags);
	if (fd == -1 && errno == ENOENT) {
		fd = openat(dfd, lg.base, flags | O_CREAT | O_EXCL, 0640);
		created = fd != -1;
	}
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_nlink != 1 || !owner_ok(st.st_uid)) {
		errno = EPERM;
		goto fail;
	}
	if (created && geteuid() == 0 && lg.uid != (uid_t)-1 && lg.uid != 0 &&
	    fchown(fd, lg.uid, lg.gid) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* log_path_open - open lg.path safely; fd or -1 (errno). */
static int
log_path_open(void)
{
	int dfd, fd, saved;

	if ((dfd = log_dir_open()) == -1)
		return -1;
	fd = log_file_open(dfd);
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

int
log_open(enum log_dest dest, const char *path, long long maxsize)
{
	const char *slash;

	log_close();
	lg.dest = dest;
	lg.maxsize = maxsize;
	if (dest == LOG_DEST_SYSLOG) {
		openlog("yubind", LOG_PID | LOG_NDELAY, LOG_MAIL);
		return 0;
	}
	if (dest != LOG_DEST_FILE)
		return 0;
	if (path == NULL || strlen(path) >= sizeof(lg.path) ||
	    (slash = strrchr(path, '/')) == NULL || slash[1] == '\0') {
		lg.dest = LOG_DEST_STDERR;
		errno = EINVAL;
		return -1;
	}
	strcpy(lg.path, path);	/* length checked above */
	lg.base = lg.path + (slash - path) + 1;
	memcpy(lg.dir, path, (size_t)(slash - path));
	lg.dir[slash - path] = '\0';
	if (slash == path)
		strcpy(lg.dir, "/");
	lg.fd = log_path_open();
	if (lg.fd == -1) {
		lg.dest = LOG_DEST_STDERR;
		return -1;
	}
	return 0;
}

void
log_role(const char *role)
{
	snprintf(lg.role, sizeof(lg.role), "%s", role);
}

void
log_set_debug(int on)
{
	lg.debug = on;
}

void
log_set_kinds(unsigned mask)
{
	lg.kinds = mask & LOG_KINDS_ALL;
}

int
log_kinds_parse(char *const *names, size_t n, unsigned *mask_r)
{
	unsigned mask = 0;
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < LOG_NKINDS; k++)
			if (strcmp(names[i], log_kind_name[k]) == 0)
				break;
		if (k == LOG_NKINDS)
			return -1;
		mask |= 1u << k;
	}
	*mask_r = mask;
	return 0;
}

int
log_kind_on(enum log_kind kind)
{
	return (unsigned)kind < LOG_NKINDS && (lg.kinds & (1u << kind));
}

void
log_set_foreground(int on, long long maxsize)
{
	lg.fg = on;
	lg.fgmax = on ? maxsize : 0;
}

void
log_reopen(void)
{
	int fd;

	reopen_wanted = 0;
	if (lg.dest != LOG_DEST_FILE)
		return;
	fd = log_path_open();
	if (fd == -1)
		return;		/* keep writing to the old one */
	if (lg.fd != -1)
		close(lg.fd);
	lg.fd = fd;
}

void
log_close(void)
{
	if (lg.fd != -1)
		close(lg.fd);
	lg.fd = -1;
	if (lg.dest == LOG_DEST_SYSLOG)
		closelog();
	lg.dest = LOG_DEST_STDERR;
}

/*
 * log_rotate_check - a file renamed away (by a rotation here or outside)
 * is reopened; past log_size_max (when set) the file is renamed to FILE.1
 * (one generation kept) and a new one started.  Every process of the tree
 * shares the file, so one that still writes to a renamed file only reopens.
 */
static void
log_rotate_check(void)
{
	struct stat fst, pst;
	char old[sizeof(lg.path) + 3];
	int dfd;

	if (fstat(lg.fd, &fst) == -1)
		return;
	if (fstatat(AT_FDCWD, lg.path, &pst, AT_SYMLINK_NOFOLLOW) == -1 ||
	    pst.st_ino != fst.st_ino || pst.st_dev != fst.st_dev) {
		log_reopen();
		return;
	}
	if (lg.maxsize <= 0 || fst.st_size <= lg.maxsize)
		return;
	if (snprintf(old, sizeof(old), "%s.1", lg.base) >= (int)sizeof(old))
		return;
	if ((dfd = log_dir_open()) == -1)
		return;
	(void)renameat(dfd, lg.base, dfd, old);
	close(dfd);
	log_reopen();
}

/*
 * log_stderr_check - under -f with log_size_max: a stderr that is a
 * regular file past it is cleared (every process of the tree shares its
 * offset, so the next line lands at the start).
 */
static void
log_stderr_check(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= lg.fgmax)
		return;
	if (ftruncate(STDERR_FILENO, 0) == 0)
		(void)lseek(STDERR_FILENO, 0, SEEK_SET);
}

/*
 * log_write_failed - say once that a line was lost (ERR the write's
 * errno; 0 a short write): in the foreground on stderr, else to syslog
 * (which a full disk under HOME does not stop).
 */
static void
log_write_failed(int err)
{
	char msg[256];
	int n;

	n = snprintf(msg, sizeof(msg), "yubind/%s[%ld]: warning: cannot write "
	    "the log%s%s: %s; lines are lost until it can be written again\n",
	    lg.role, (long)getpid(), lg.dest == LOG_DEST_FILE ? " " : "",
	    lg.dest == LOG_DEST_FILE ? lg.path : "",
	    err ? strerror(err) : "short write");
	if (n < 0)
		return;
	if (n >= (int)sizeof(msg))
		n = (int)sizeof(msg) - 1;
	if (lg.fg && lg.dest == LOG_DEST_FILE) {
		(void)!write(STDERR_FILENO, msg, (size_t)n);
		return;
	}
	openlog("yubind", LOG_PID | LOG_NDELAY, LOG_MAIL);
	syslog(LOG_WARNING, "%.*s", n - 1, msg);	/* syslog ends the line */
	closelog();
}

/*
 * log_escape - copy the formatted event SRC into DST (SIZE bytes, at least
 * 5), a control byte (below 0x20, or 0x7f) as \xNN, so that no text a
 * client or a user file carried can end the line or forge another event.
 * NUL-terminated; cut with "..." when DST is too small.  Length written.
 */
static size_t
log_escape(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t n = 0;

	if (size < 5) {
		if (size)
			dst[0] = '\0';
		return 0;
	}
	for (p = (const unsigned char *)src; *p; p++) {
		size_t need = *p < 0x20 || *p == 0x7f ? 4 : 1;

		if (n + need + 4 > size) {
			memcpy(dst + n, "...", 4);
			return n + 3;
		}
		if (need == 1) {
			dst[n++] = (char)*p;
			continue;
		}
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[*p >> 4];
		dst[n++] = hex[*p & 15];
	}
	dst[n] = '\0';
	return n;
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR,
	    LOG_CRIT };
	char line[LOG_LINE_MAX];
	char msg[LOG_LINE_MAX];
	char stamp[40];
	struct timespec ts;
	struct tm tm;
	int saved = errno, n, m;
	ssize_t w;
	int fd;

	if (lvl == LOG_LVL_DEBUG && !lg.debug)
		return;
	if (lg.dest == LOG_DEST_SYSLOG) {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		log_escape(line, sizeof(line), msg);
		syslog(prio[lvl], "%s: %s%s", lg.role, lvl_name[lvl], line);
		errno = saved;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ld yubind/%s[%ld]: %s", stamp,
	    ts.tv_nsec / 1000000, lg.role, (long)getpid(), lvl_name[lvl]);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m >= (int)sizeof(msg) - 1)
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	n += (int)log_escape(line + n, sizeof(line) - (size_t)n - 1, msg);
	line[n++] = '\n';
	if (lg.dest == LOG_DEST_FILE && reopen_wanted)
		log_reopen();
	else if (lg.dest == LOG_DEST_FILE && lg.fd != -1)
		log_rotate_check();
	else if (lg.dest == LOG_DEST_STDERR && lg.fgmax > 0)
		log_stderr_check();
	fd = lg.dest == LOG_DEST_FILE && lg.fd != -1 ? lg.fd : STDERR_FILENO;
	w = write(fd, line, (size_t)n);
	if (w == n)
		lg.failed = 0;
	else if (!lg.failed) {
		lg.failed = 1;
		log_write_failed(w == -1 ? errno : 0);
	}
	errno = saved;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void
log_kmsg(enum log_kind kind, enum log_level lvl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;
	int m;

	if (!log_kind_on(kind))
		return;
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m >= (int)sizeof(msg) - 1)
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	log_msg(lvl, "%s kind=%s", msg, log_kind_name[kind]);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_FATAL, fmt, ap);
	va_end(ap);
	exit(2);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_FATAL, fmt, ap);
	va_end(ap);
	abort();
}
