/*
 * log.c - event log to stderr, a file or syslog; see log.h.
 *
 * State is per process (set before fork, inherited, adjusted by log_role in
 * the child); nothing here allocates, so it is safe to call on the
 * out-of-memory path.
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
	long long	maxsize;
	char		role[32];
	int		debug;
	int		owner_set;	/* log_set_owner was called */
	uid_t		uid;
	gid_t		gid;
} lg = { LOG_DEST_STDERR, -1, "", 0, "yubin", 0, 0, 0, 0 };

/* set by log_reopen_request (a signal handler): reopen before the next line */
static volatile sig_atomic_t reopen_wanted;

static const char *const lvl_name[] = {
	[LOG_LVL_DEBUG] = "debug: ",
	[LOG_LVL_INFO] = "",
	[LOG_LVL_WARN] = "warning: ",
	[LOG_LVL_ERR] = "error: ",
	[LOG_LVL_FATAL] = "fatal: ",
};

int
log_open(enum log_dest dest, const char *path, long long maxsize)
{
	log_close();
	lg.dest = dest;
	lg.maxsize = maxsize;
	if (dest == LOG_DEST_SYSLOG) {
		openlog("yubind", LOG_PID | LOG_NDELAY, LOG_MAIL);
		return 0;
	}
	if (dest != LOG_DEST_FILE)
		return 0;
	if (path == NULL || strlen(path) >= sizeof(lg.path)) {
		lg.dest = LOG_DEST_STDERR;
		return -1;
	}
	strcpy(lg.path, path);	/* length checked above */
	lg.fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
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
log_set_owner(uid_t uid, gid_t gid)
{
	lg.owner_set = 1;
	lg.uid = uid;
	lg.gid = gid;
}

void
log_reopen_request(void)
{
	reopen_wanted = 1;
}

/*
 * reopen_fd - the log file again after a rotation.  When it is gone, a new
 * one is created (O_EXCL|O_NOFOLLOW: a fresh regular file, never the target
 * of a link) and, when root creates it, given to the owner of the tree
 * (log_set_owner) so that the workers, who no longer run as root, can
 * reopen it too.  The descriptor, or -1.
 */
static int
reopen_fd(void)
{
	int fd;

	fd = open(lg.path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd != -1 || errno != ENOENT)
		return fd;
	fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd == -1)
		return errno == EEXIST ? open(lg.path, O_WRONLY | O_APPEND |
		    O_CLOEXEC) : -1;
	if (lg.owner_set && geteuid() == 0)
		(void)!fchown(fd, lg.uid, lg.gid);
	return fd;
}

void
log_reopen(void)
{
	int fd;

	reopen_wanted = 0;
	if (lg.dest != LOG_DEST_FILE)
		return;
	fd = reopen_fd();
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

	if (fstat(lg.fd, &fst) == -1)
		return;
	if (stat(lg.path, &pst) == -1 || pst.st_ino != fst.st_ino ||
	    pst.st_dev != fst.st_dev) {
		log_reopen();
		return;
	}
	if (lg.maxsize <= 0 || fst.st_size <= lg.maxsize)
		return;
	snprintf(old, sizeof(old), "%s.1", lg.path);
	(void)rename(lg.path, old);
	log_reopen();
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR,
	    LOG_CRIT };
	char line[LOG_LINE_MAX];
	char stamp[40];
	struct timespec ts;
	struct tm tm;
	int saved = errno, n, m;
	int fd;

	if (lvl == LOG_LVL_DEBUG && !lg.debug)
		return;
	if (lg.dest == LOG_DEST_SYSLOG) {
		n = vsnprintf(line, sizeof(line), fmt, ap);
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
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n >= sizeof(line) - 1) {
		n = (int)sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	if (lg.dest == LOG_DEST_FILE && reopen_wanted)
		log_reopen();
	else if (lg.dest == LOG_DEST_FILE && lg.fd != -1)
		log_rotate_check();
	fd = lg.dest == LOG_DEST_FILE && lg.fd != -1 ? lg.fd : STDERR_FILENO;
	(void)!write(fd, line, (size_t)n);
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
