/*
 * ctl_daemon.c - yubinctl setup, start, stop, reload and status:
 * the commands that drive a running yubind or read its home.
 *
 * start runs the yubind that sits beside yubinctl (or SBINDIR's) with the
 * same -c and -D options (start --watchdog stays as its parent and starts
 * it again after an abnormal end); stop, reload and status use
 * HOME/run/yubind.pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "auth.h"
#include "block.h"
#include "ctl.h"
#include "maildir.h"
#include "paths.h"
#include "priv.h"
#include "bounce.h"
#include "queue.h"
#include "usage.h"
#include "utf8.h"
#include "util.h"

#define STOP_WAIT_EXTRA	10	/* seconds beyond time_out_of_stop */
#define WATCHDOG_SECONDS 60	/* the seed's wmsresur default */

int
ctl_cmd_setup(struct ctl *c, int argc, char **argv)
{
	const char *what;
	char *why = NULL;
	uid_t uid;
	gid_t gid;

	(void)argv;
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: setup");
	if (priv_lookup(c->cfg, &uid, &gid, &why) == -1) {
		ctl_error(CTL_USAGE, "%s", why);
		free(why);
		return CTL_USAGE;
	}
	if (paths_setup(c->cfg, geteuid() == 0 ? uid : (uid_t)-1, gid, &what) == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", what, strerror(errno));
	if (ctl_store(c) == NULL)
		return CTL_RUNTIME;
	if (ctl_postmaster_ensure(c) != CTL_OK)
		return CTL_RUNTIME;
	printf("home ready: %s\n", config_home(c->cfg));
	return CTL_OK;
}

/* pid_alive - 1 while PID runs (a zombie, stopped but not yet reaped by
 * its parent, counts as gone). */
static int
pid_alive(pid_t pid)
{
	char path[64], line[1024], *p;
	FILE *f;
	int alive = 1;

	if (kill(pid, 0) == -1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) != NULL &&
	    p[1] == ' ' && p[2] == 'Z')
		alive = 0;
	fclose(f);
	return alive;
}

/* pid_locker - the pid holding a write lock on FD's file, 0 when none,
 * -1 when a read lock is held (not yubind's). */
static pid_t
pid_locker(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == -1 || fl.l_type == F_UNLCK)
		return 0;
	return fl.l_type == F_WRLCK && fl.l_pid > 0 ? fl.l_pid : -1;
}

/*
 * read_pid - the pid of the running yubind: 0 when none runs (no pid file,
 * or no process holds its lock: a stale file), -1 with *why_r (owned) when
 * the file is not to be trusted.  HOME/run belongs to the server user, who
 * could replace the file: it is opened through the checked folder without
 * following a link, must be a regular file owned by the user yubind runs as
 * (root) and writable by no one else, and the pid it names must be the
 * process that holds its write lock (yubind takes it at start and keeps it;
 * only an owner can open the file to write-lock it).  Must never return a
 * pid that only the file's text vouches for.
 */
static pid_t
read_pid(struct ctl *c, char **why_r)
{
	char path[PATH_MAX], buf[64], *end;
	struct stat st;
	ssize_t n;
	long pid;
	pid_t holder;
	int dfd, fd;

	*why_r = NULL;
	snprintf(path, sizeof(path), "%s/run/yubind.pid", config_home(c->cfg));
	if ((dfd = paths_run_dir(c->cfg)) == -1) {
		if (errno == ENOENT)
			return 0;
		*why_r = xasprintf("%s/run: %s: not trusted", config_home(c->cfg),
		    strerror(errno));
		return -1;
	}
	fd = openat(dfd, "yubind.pid", O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	close(dfd);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		*why_r = xasprintf("%s: %s: not trusted", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		*why_r = xasprintf("%s: not a regular file of uid %ld that only "
		    "it may write (uid %ld): not trusted", path,
		    (long)geteuid(), (long)st.st_uid);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	holder = pid_locker(fd);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (holder == 0)
		return 0;
	if (n <= 0 || errno || end == buf || *end != '\n') {
		*why_r = xasprintf("%s: no pid in the file: not trusted, "
		    "nothing signalled", path);
		return -1;
	}
	if (holder == -1 || pid != (long)holder) {
		*why_r = xasprintf("%s names pid %ld, which is not the yubind "
		    "holding the file's lock: not trusted, nothing signalled",
		    path, pid);
		return -1;
	}
	if (!pid_alive(holder))
		return 0;
	return holder;
}

pid_t
ctl_running_pid(struct ctl *c)
{
	char *why = NULL;
	pid_t pid = read_pid(c, &why);

	if (pid == -1) {
		ctl_error(CTL_RUNTIME, "%s", why);
		free(why);
	}
	return pid;
}

static char *
yubind_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash, *p;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			p = xasprintf("%s/yubind", self);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return xstrdup("yubind");
}

/* yubind_argv - yubind with this command's -c and -D (and -f when FG);
 * owned: free the array and its first element */
static char **
yubind_argv(struct ctl *c, int fg)
{
	char **av = xcalloc(5 + 2 * c->ndefs, sizeof(*av));
	size_t i, n = 0;

	av[n++] = yubind_path();
	if (c->cfg_path) {
		av[n++] = "-c";
		av[n++] = (char *)c->cfg_path;
	}
	for (i = 0; i < c->ndefs; i++) {
		av[n++] = "-D";
		av[n++] = c->defs[i];
	}
	if (fg)
		av[n++] = "-f";
	av[n] = NULL;
	return av;
}

/* the watchdog's signal to pass on to yubind (0: none) */
static volatile sig_atomic_t wd_signal;
static volatile sig_atomic_t wd_stopping;

static void
wd_on_signal(int sig)
{
	wd_signal = sig;
	if (sig == SIGTERM || sig == SIGINT)
		wd_stopping = 1;
}

/*
 * watchdog - "start --watchdog [SECONDS]" (the seed's wmsresur, F141): run
 * yubind -f as a child and start it again SECONDS after an abnormal end
 * (killed by a signal, or exit status 2: could not start or died); stay
 * in the foreground.  An exit 0 (stopped, e.g. by "yubinctl stop") ends
 * the watch, as does exit 1 (a configuration that would fail again).
 * SIGTERM, SIGINT, SIGHUP and SIGUSR1 are passed on to yubind; after
 * SIGTERM or SIGINT nothing is started again.
 */
static int
watchdog(struct ctl *c, long long secs)
{
	struct sigaction sa;
	char **av, why[64];
	long long until;
	pid_t pid, w;
	int status, sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wd_on_signal;	/* no SA_RESTART: waitpid returns */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	av = yubind_argv(c, 1);
	for (;;) {
		if ((pid = fork()) == -1) {
			ctl_error(CTL_RUNTIME, "fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
				signal(sigs[i], SIG_DFL);
			execvp(av[0], av);
			fprintf(stderr, "yubinctl: %s: %s\n", av[0], strerror(errno));
			_exit(2);
		}
		fprintf(stderr, "yubinctl: watchdog: yubind started (pid %ld)\n",
		    (long)pid);
		for (;;) {
			w = waitpid(pid, &status, 0);
			if (w == pid)
				break;
			if (w == -1 && errno != EINTR) {
				ctl_error(CTL_RUNTIME, "waitpid: %s", strerror(errno));
				goto out;
			}
			if (wd_signal) {
				(void)kill(pid, wd_signal);
				wd_signal = 0;
			}
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			fprintf(stderr, "yubinctl: watchdog: yubind stopped\n");
			free(av[0]);
			free(av);
			return CTL_OK;
		}
		if (WIFEXITED(status))
			snprintf(why, sizeof(why), "exit status %d",
			    WEXITSTATUS(status));
		else
			snprintf(why, sizeof(why), "killed by signal %d",
			    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		if (wd_stopping || (WIFEXITED(status) &&
		    WEXITSTATUS(status) == 1)) {
			ctl_error(CTL_RUNTIME, "watchdog: yubind (pid %ld) ended "
			    "(%s); not started again", (long)pid, why);
			break;
		}
		fprintf(stderr, "yubinctl: watchdog: yubind (pid %ld) ended "
		    "abnormally (%s); starting it again in %lld s\n",
		    (long)pid, why, secs);
		until = now_ms() + secs * 1000;
		while (!wd_stopping && now_ms() < until)
			usleep(100000);
		if (wd_stopping)
			break;
		wd_signal = 0;
	}
out:
	free(av[0]);
	free(av);
	return CTL_RUNTIME;
}

int
ctl_cmd_start(struct ctl *c, int argc, char **argv)
{
	char **av, *why = NULL, *end;
	long long secs = WATCHDOG_SECONDS;
	pid_t pid;
	int status, wd = 0;

	if (argc >= 1 && strcmp(argv[0], "--watchdog") == 0) {
		wd = 1;
		if (argc == 2) {
			errno = 0;
			secs = strtoll(argv[1], &end, 10);
			if (errno || end == argv[1] || *end || secs < 1 ||
			    secs > 86400)
				return ctl_error(CTL_USAGE, "--watchdog: SECONDS "
				    "is 1 to 86400, not '%s'", argv[1]);
		}
	}
	if (argc > 2 || (argc >= 1 && !wd))
		return ctl_error(CTL_USAGE, "usage: start [--watchdog [SECONDS]]");
	/* a pid file not to be trusted names no running yubind: start (the
	 * new yubind replaces it; a running one would hold the ports) */
	pid = read_pid(c, &why);
	free(why);
	if (pid > 0)
		return ctl_error(CTL_USAGE, "yubind is already running (pid %ld)", (long)pid);
	if (wd)
		return watchdog(c, secs);
	av = yubind_argv(c, 0);
	pid = fork();
	if (pid == 0) {
		execvp(av[0], av);
		fprintf(stderr, "yubinctl: %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	free(av[0]);
	free(av);
	if (pid == -1 || waitpid(pid, &status, 0) == -1)
		return ctl_error(CTL_RUNTIME, "cannot start yubind: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ctl_error(CTL_RUNTIME, "yubind did not start (status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	printf("started\n");
	return CTL_OK;
}

int
ctl_cmd_stop(struct ctl *c, int argc, char **argv)
{
	long long deadline;
	pid_t pid;
	int fast = argc == 1 && strcmp(argv[0], "-f") == 0;

	if (argc > 1 || (argc == 1 && !fast))
		return ctl_error(CTL_USAGE, "usage: stop [-f]");
	if ((pid = ctl_running_pid(c)) == -1)
		return CTL_RUNTIME;
	if (pid == 0)
		return ctl_error(CTL_RUNTIME, "yubind is not running");
	if (kill(pid, fast ? SIGINT : SIGTERM) == -1)
		return ctl_error(CTL_RUNTIME, "kill %ld: %s", (long)pid, strerror(errno));
	deadline = now_ms() + 1000 * (config_int(c->cfg, "server.time_out_of_stop") +
	    STOP_WAIT_EXTRA);
	while (pid_alive(pid)) {
		if (now_ms() > deadline)
			return ctl_error(CTL_RUNTIME, "yubind (pid %ld) did not stop",
			    (long)pid);
		usleep(50000);
	}
	printf("stopped\n");
	return CTL_OK;
}

int
ctl_cmd_reload(struct ctl *c, int argc, char **argv)
{
	pid_t pid;

	(void)argv;
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: reload");
	if ((pid = ctl_running_pid(c)) == -1)
		return CTL_RUNTIME;
	if (pid == 0)
		return ctl_error(CTL_RUNTIME, "yubind is not running");
	if (kill(pid, SIGHUP) == -1)
		return ctl_error(CTL_RUNTIME, "kill %ld: %s", (long)pid, strerror(errno));
	printf("reload requested\n");
	return CTL_OK;
}

#define STATUS_COUNT_MAX 86400	/* --count: a day of one-second snapshots */

/* status_once - one snapshot: the pid, ports, accounts, then the live
 * part (ctl_status.c). */
static int
status_once(struct ctl *c, int workers)
{
	char *path, *data;
	size_t len;
	pid_t pid;

	if ((pid = ctl_running_pid(c)) == -1)
		return CTL_RUNTIME;
	if (pid == 0) {
		printf("not running\n");
		ctl_delivery_status(c);
		(void)ctl_account_counts(c);
		return CTL_RUNTIME;
	}
	printf("running pid %ld\n", (long)pid);
	path = xasprintf("%s/run/ports", config_home(c->cfg));
	if (file_read(path, 65536, &data, &len) == 0) {
		fputs(data, stdout);
		free(data);
	}
	free(path);
	ctl_delivery_status(c);
	(void)ctl_account_counts(c);
	return ctl_status_board(c, pid, workers);
}

/*
 * status [--workers] [--count N] - status_once, N times one second apart
 * (the seed's wmsmng -t), a blank line between snapshots.  Stops at the
 * first snapshot that finds no running yubind.
 */
int
ctl_cmd_status(struct ctl *c, int argc, char **argv)
{
	long long count = 1, n;
	char *end;
	int i, workers = 0, r;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--workers") == 0)
			workers = 1;
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			errno = 0;
			count = strtoll(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end != '\0' || count < 1 ||
			    count > STATUS_COUNT_MAX)
				return ctl_error(CTL_USAGE, "status: --count: "
				    "expected a number 1-%d, got \"%.32s\"",
				    STATUS_COUNT_MAX, argv[i]);
		} else
			return ctl_error(CTL_USAGE,
			    "usage: status [--workers] [--count N]");
	}
	for (n = 0; n < count; n++) {
		if (n > 0) {
			fflush(stdout);
			sleep(1);
			putchar('\n');
		}
		if ((r = status_once(c, workers)) != CTL_OK)
			return r;
	}
	return CTL_OK;
}

int
ctl_cmd_plugins(struct ctl *c, int argc, char **argv)
{
	char *path, *data;
	size_t len;
	pid_t pid;

	(void)argv;
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: plugins");
	if ((pid = ctl_running_pid(c)) == -1)
		return CTL_RUNTIME;
	if (pid == 0)
		return ctl_error(CTL_RUNTIME, "yubind is not running");
	path = xasprintf("%s/run/plugins", config_home(c->cfg));
	if (file_read(path, 1024 * 1024, &data, &len) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", path, strerror(errno));
		free(path);
		return CTL_RUNTIME;
	}
	fputs(len ? data : "(no plugins loaded)\n", stdout);
	free(data);
	free(path);
	return CTL_OK;
}

static int
block_list_one(void *ctx, const char *ip, long long expires, const char *info)
{
	char when[32] = "never";
	long long since = strtoll(info, NULL, 10);
	const char *reason = strchr(info, ' ');
	time_t t;

	(void)ctx;
	if (expires) {
		t = (time_t)expires;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	}
	printf("%s since=%lld expires=%s reason=%s\n", ip, since, when,
	    reason ? reason + 1 : "-");
	return 0;
}

int
ctl_cmd_block(struct ctl *c, int argc, char **argv)
{
	int r;

	if (ctl_store(c) == NULL)
		return CTL_RUNTIME;
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return block_each(c->store, block_list_one, NULL) == -1 ?
		    CTL_RUNTIME : CTL_OK;
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		r = block_del(c->store, argv[1]);
		if (r == 1) {
			printf("unblocked %s\n", argv[1]);
			return CTL_OK;
		}
		if (r == 0)
			return ctl_error(CTL_USAGE, "%s is not blocked", argv[1]);
		return ctl_error(CTL_USAGE, "%s: not an IP address", argv[1]);
	}
	return ctl_error(CTL_USAGE, "usage: block list | block del ADDR");
}

/*
 * notify FILE - the seed's user notice: a message built from FILE (first
 * line the subject, the rest the body) stored straight into every
 * account's Maildir.  It does not pass the queue or the delivery hooks, so
 * no exec, forward or auto-reply runs for it.  As root it drops to the
 * server user before it touches HOME/queue or a mailbox, so a link planted
 * in a Maildir leads only where the server user could write anyway.
 */
struct notify_ctx {
	struct ctl	*c;
	const char	*msgpath;
	const char	*id;
	long long	 size, crlf;
	uid_t		 uid;
	gid_t		 gid;
	int		 stored, failed;
};

static int
notify_one(void *ctx, const struct account *a)
{
	struct notify_ctx *n = ctx;
	char stored[PATH_MAX], trace[MAILDIR_TRACE_MAX], rcpt[ACCOUNT_NAME_MAX + 258];
	char *dir = paths_account_dir(n->c->cfg, a->name);
	char *md = xasprintf("%s/Maildir", dir);
	long long size, crlf;
	size_t tl;
	int r;

	/* like every stored message, the notice begins with its trace lines:
	 * a null Return-Path (nobody to bounce to) and the account's address */
	snprintf(rcpt, sizeof(rcpt), "%s@%s", a->name, a->domain[0] ? a->domain :
	    config_str(n->c->cfg, "server.domain"));
	tl = maildir_trace("", rcpt, trace, sizeof(trace));
	size = n->size + (long long)tl;
	crlf = n->crlf + (tl > 0 ? (long long)tl + 2 : 0);
	r = maildir_deliver(md, n->msgpath, n->id, 0, trace, tl, size, crlf, 0,
	    stored, sizeof(stored));
	if (r == -1 && errno == ENOENT && maildir_create(md) == 0)
		r = maildir_deliver(md, n->msgpath, n->id, 0, trace, tl, size,
		    crlf, 0, stored, sizeof(stored));
	if (r == 1 && n->uid != (uid_t)-1 && chown(stored, n->uid, n->gid) == -1)
		r = -1;
	if (r == 1 && usage_add(n->c->store, a->name, 1, crlf, "received") == -1)
		r = -1;
	if (r == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", a->name, strerror(errno));
		n->failed++;
	} else
		n->stored++;
	free(md);
	free(dir);
	return 0;
}

int
ctl_cmd_notify(struct ctl *c, int argc, char **argv)
{
	struct notify_ctx n;
	struct buf msg;
	char *data, *body, *subject, *tmp, id[40], date[64];
	size_t len, i;
	time_t now = time(NULL);
	struct timeval tv;
	struct tm tm;
	char *why = NULL;
	enum text_cs cs;
	int fd;

	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: notify FILE");
	if (file_read(argv[0], 1024 * 1024, &data, &len) == -1)
		return ctl_error(CTL_USAGE, "%s: %s", argv[0], strerror(errno));
	if (memchr(data, '\0', len) != NULL) {
		free(data);
		return ctl_error(CTL_USAGE, "%s: not a text file", argv[0]);
	}
	/* the charset guess yubin-sendmail makes for its subject & body file */
	cs = text_charset(data, len);
	if (cs == TEXT_UNKNOWN) {
		free(data);
		return ctl_error(CTL_USAGE, "%s: not UTF-8, ISO-2022-JP or "
		    "Shift_JIS text", argv[0]);
	}
	subject = data;
	body = strchr(data, '\n');
	if (body)
		*body++ = '\0';
	else
		body = "";
	subject = str_trim(subject);
	if (*subject == '\0') {
		free(data);
		return ctl_error(CTL_USAGE, "%s: the first line (the subject) is "
		    "empty", argv[0]);
	}
	memset(&n, 0, sizeof(n));
	n.c = c;
	n.uid = (uid_t)-1;
	n.gid = (gid_t)-1;
	if (geteuid() == 0 && priv_lookup(c->cfg, &n.uid, &n.gid, &why) == -1) {
		ctl_error(CTL_USAGE, "%s", why);
		free(why);
		free(data);
		return CTL_USAGE;
	}
	if (ctl_store(c) == NULL) {
		free(data);
		return CTL_RUNTIME;
	}
	/* the mailboxes belong to the server user, who could replace any
	 * folder on the way with a link: touch them only as that user (the
	 * store stays usable through the descriptors already open) */
	if (n.uid != (uid_t)-1) {
		priv_drop(n.uid, n.gid);
		n.uid = (uid_t)-1;
		n.gid = (gid_t)-1;
	}
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* a queue-style id: the Maildir name then says when the notice came */
	gettimeofday(&tv, NULL);
	snprintf(id, sizeof(id), "%08llX%08X",
	    (unsigned long long)tv.tv_sec & 0xffffffffULL,
	    ((unsigned)tv.tv_usec << 12) | ((unsigned)getpid() & 0xfffu));
	buf_init(&msg, 0);
	buf_printf(&msg, "From: postmaster@%s\nTo: undisclosed-recipients:;\n"
	    "Date: %s\nMessage-ID: <%s@%s>\n", config_str(c->cfg, "server.domain"),
	    date, id, config_str(c->cfg, "server.domain"));
	if (cs == TEXT_ASCII)
		buf_printf(&msg, "Subject: %s\nMIME-Version: 1.0\nContent-Type: "
		    "text/plain; charset=us-ascii\n", subject);
	else {
		struct buf enc;

		/* the subject in its own charset (RFC 2047 allows any) */
		buf_init(&enc, 0);
		b64_encode(subject, strlen(subject), &enc);
		buf_printf(&msg, "Subject: =?%s?B?%s?=\nMIME-Version: 1.0\n"
		    "Content-Type: text/plain; charset=%s\n"
		    "Content-Transfer-Encoding: %s\n", text_charset_name(cs),
		    buf_cstr(&enc), text_charset_name(cs),
		    cs == TEXT_JIS ? "7bit" : "8bit");
		buf_free(&enc);
	}
	buf_printf(&msg, "Auto-Submitted: auto-generated\n\n");
	for (i = 0; body[i]; i++)
		if (body[i] != '\r')
			buf_putc(&msg, body[i]);
	if (msg.len && msg.data[msg.len - 1] != '\n')
		buf_putc(&msg, '\n');
	n.size = (long long)msg.len;
	n.crlf = n.size;
	for (i = 0; i < msg.len; i++)
		n.crlf += msg.data[i] == '\n';
	tmp = xasprintf("%s/queue/.notice.%ld", config_home(c->cfg), (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd == -1 || write_all(fd, msg.data, msg.len) == -1 || fsync(fd) == -1 ||
	    (n.uid != (uid_t)-1 && fchown(fd, n.uid, n.gid) == -1)) {
		ctl_error(CTL_RUNTIME, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		buf_free(&msg);
		free(tmp);
		free(data);
		return CTL_RUNTIME;
	}
	close(fd);
	n.msgpath = tmp;
	n.id = id;
	account_each(c->store, notify_one, &n);
	unlink(tmp);
	printf("notice stored in %d mailbox%s\n", n.stored, n.stored == 1 ? "" : "es");
	buf_free(&msg);
	free(tmp);
	free(data);
	return n.failed ? CTL_RUNTIME : CTL_OK;
}
