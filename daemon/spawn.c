/*
 * spawn.c - yh_spawn: run a per-mailbox program (exec.def, IMS.CTL
 * Program=, ...) for a plugin, the one runner every plugin shares
 * (SEEDS.md §16, issue 8, F086-F091).
 *
 * SECURITY.  Mail is hostile, so: no shell, ever -- fork + execve of an
 * argv built here.  The command is split into words at blanks, "double
 * quotes" grouping (no escapes: Windows paths keep their backslashes); a
 * bare program name is looked up in the caller's PATH list, a relative
 * path with a slash is refused, and the seed's send tool (sendmail,
 * sendmail.exe, yubin-sendmail, any folder) becomes yubin-sendmail.  An
 * argument that is exactly FROM_ADDRESS, TO_ADDRESS, SUBJECT (decoded to
 * UTF-8) or MAILFILE_PATH becomes that value as one argument however it
 * looks.  The program gets a clean environment (PATH, HOME, LANG,
 * YUBIN_CONF, and for a delivery YUBIN_FROM, YUBIN_TO, YUBIN_QUEUE_ID),
 * every descriptor but 0-2 closed, signals reset, umask 077, its own
 * process group, the account folder (or the caller's) as working folder;
 * stdin is /dev/null or the message; stdout and stderr go to the log,
 * escaped and bounded.  It runs as the process that calls (the server
 * user).
 *
 * MAILFILE_PATH is a private hard link of the message in the account
 * folder (".exec-QID-PID-N.eml"), removed when the program ends, so it
 * stays valid even if a POP3 client deletes the message meanwhile.
 *
 * PROCESSES.  Each program is supervised: started, its output and exit
 * status logged, its timeout enforced (SIGTERM to its group, then SIGKILL
 * after the grace), its link removed.  A waited program is supervised by
 * the caller itself; otherwise a forked supervisor does the same job and
 * stays a child of the caller, reaped with waitpid(pid, WNOHANG) before
 * the next hook chain (spawn_reap) -- only our own pids.  At most
 * max_running supervisors live at once; past it the call waits for one to
 * end.  Inside a hook, every wait is bounded by what the hook has left of
 * server.hook_timeout less SPAWN_MARGIN_MS, so the core's hook timeout
 * never fires: a waited program is killed at its timeout or when that
 * budget ends, whichever comes first, and once the budget is used up a
 * program runs without waiting (logged).
 *
 * WHAT PROGRAMS ARE PROMISED (hook.h, the yh_spawn comment): argv built
 * here (spawn_argv.c) and given to execve, never a shell; the def file's
 * words as written; values from mail (FROM_ADDRESS, TO_ADDRESS, SUBJECT)
 * as data, one argument each, which may begin with '-' -- a program that
 * parses options must stop before them, and yubin-sendmail's seed forms
 * do (it recognises them before option parsing); SUBJECT valid UTF-8 of
 * at most SPAWN_SUBJECT_MAX - 1 bytes, control characters as blanks; the
 * clean environment above; the server user's privileges.
 *
 * Log lines go through yh_log: the queue id and the calling plugin first.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin.h"
#include "spawn.h"
#include "spawn_argv.h"
#include "util.h"

#define SPAWN_RUNNING_CAP 1024		/* ceiling of max_running */
#define SPAWN_MARGIN_MS	1000		/* kept from server.hook_timeout */
#define SPAWN_ENV_MAX	16		/* variables of the clean environment */
#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* supervisors of unwaited programs: this process's own children */
static struct {
	pid_t		 running[SPAWN_RUNNING_CAP];
	size_t		 nrunning;
	unsigned	 seq;		/* MAILFILE_PATH link names */
} S;

/* ---- the command -------------------------------------------------------- */

/* is_sendmail - the seed's send tool under any of its names and folders. */
static int
is_sendmail(const char *prog)
{
	const char *b = prog, *p;

	for (p = prog; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return strcasecmp(b, "sendmail") == 0 || strcasecmp(b, "sendmail.exe") == 0 ||
	    strcasecmp(b, "yubin-sendmail") == 0;
}

/* find_in_path - NAME in the colon list PATH, as an executable regular
 * file, into OUT.  0 or -1. */
static int
find_in_path(const char *path, const char *name, char *out, size_t size)
{
	const char *p = path, *c;
	struct stat st;

	while (*p) {
		size_t l;
		int n;

		c = strchr(p, ':');
		l = c ? (size_t)(c - p) : strlen(p);
		if (l > 0 && p[0] == '/') {
			n = snprintf(out, size, "%.*s/%s", (int)l, p, name);
			if (n > 0 && (size_t)n < size && stat(out, &st) == 0 &&
			    S_ISREG(st.st_mode) && access(out, X_OK) == 0)
				return 0;
		}
		p = c ? c + 1 : p + l;
	}
	return -1;
}

/* ---- supervisors -------------------------------------------------------- */

/* reap - forget supervisors that ended (our pids only); with BLOCK_ONE,
 * wait until one did or DEADLINE_MS (monotonic) passed. */
static void
reap(int block_one, long long deadline_ms)
{
	size_t i;
	int st;
	pid_t r;

	for (;;) {
		for (i = 0; i < S.nrunning;) {
			r = waitpid(S.running[i], &st, WNOHANG);
			if (r == S.running[i] || (r == -1 && errno == ECHILD)) {
				S.running[i] = S.running[--S.nrunning];
				block_one = 0;
				continue;
			}
			i++;
		}
		if (!block_one || S.nrunning == 0 || now_ms() >= deadline_ms)
			return;
		poll(NULL, 0, 5);	/* a supervisor is bounded by its timeout */
	}
}

void
spawn_reap(void)
{
	if (S.nrunning > 0)
		reap(0, 0);
}

static void
close_from(int lowfd)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0)
		return;
#endif
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		close(fd);
}

/* log_output - the program's output, escaped, one log line per line. */
static void
log_output(const char *prog, const char *buf, size_t len, size_t dropped)
{
	char line[600];
	size_t i, o = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || buf[i] == '\n' || o + 5 >= sizeof(line)) {
			if (o > 0) {
				line[o] = '\0';
				yh_log(YH_LOG_INFO, "program=%s output: %s", prog, line);
			}
			o = 0;
			if (i < len && buf[i] != '\n')
				i--;	/* a long line continues on the next */
			continue;
		}
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f ||
		    buf[i] == '\\')
			o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x",
			    (unsigned char)buf[i]);
		else
			line[o++] = buf[i];
	}
	if (dropped)
		yh_log(YH_LOG_INFO, "program=%s output: (%zu more bytes not logged)",
		    prog, dropped);
}

struct job {
	const char	*label;		/* the program's source, for logs */
	char		*argv[SPAWN_ARGV_MAX + 1];
	char		*envp[SPAWN_ENV_MAX + 1];
	const char	*cwd;
	int		 stdin_fd;	/* -1: /dev/null */
	char		*link;		/* MAILFILE_PATH link to remove, or NULL */
	long long	 timeout_ms;	/* then SIGTERM, then SIGKILL after grace */
	long long	 grace_ms;
	size_t		 output_max;
};

/* output_take - N bytes of CHUNK into OUT (*OUTLEN used, MAX kept), the
 * rest counted in *DROPPED. */
static void
output_take(const struct job *j, char *out, size_t *outlen, size_t *dropped,
    const char *chunk, size_t n)
{
	size_t take = *outlen < j->output_max ? j->output_max - *outlen : 0;

	if (take > n)
		take = n;
	if (take)
		memcpy(out + *outlen, chunk, take);
	*outlen += take;
	*dropped += n - take;
}

/* program_child - in the forked child: the program's process state, then
 * execve.  Never returns. */
static void
program_child(const struct job *j, int outfd)
{
	struct sigaction sa;
	sigset_t none;
	int sig, in;

	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(077);
	in = j->stdin_fd != -1 ? j->stdin_fd : open("/dev/null", O_RDONLY);
	if (in == -1 || dup2(in, 0) == -1 || dup2(outfd, 1) == -1 ||
	    dup2(outfd, 2) == -1)
		_exit(126);
	close_from(3);
	if (chdir(j->cwd) == -1) {
		dprintf(2, "cannot enter %s: %s\n", j->cwd, strerror(errno));
		_exit(126);
	}
	execve(j->argv[0], j->argv, j->envp);
	dprintf(2, "cannot execute %s: %s\n", j->argv[0], strerror(errno));
	_exit(127);
}

/*
 * supervise - run J to its end: start it, log its output and status,
 * enforce its timeout, remove its link, close its stdin.  The wait status,
 * or -1 when it could not start (logged).  Called by the hook when it
 * waits, else in a forked supervisor.
 */
static int
supervise(struct job *j)
{
	char *out;
	size_t outlen = 0, dropped = 0;
	int pfd[2] = { -1, -1 }, st = 0, killed = 0, open_pipe = 1, pidfd = -1;
	long long deadline, kill_at = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		yh_log(YH_LOG_ERR, "%s: cannot start program=%s: %s", j->label,
		    j->argv[0], strerror(errno));
		if (pfd[0] != -1) {
			close(pfd[0]);
			close(pfd[1]);
		}
		if (j->stdin_fd != -1)
			close(j->stdin_fd);
		if (j->link)
			unlink(j->link);
		return -1;
	}
	if (pid == 0)
		program_child(j, pfd[1]);
	close(pfd[1]);
	if (j->stdin_fd != -1)
		close(j->stdin_fd);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
	/* a descriptor that becomes readable when the program exits; without
	 * it (old kernels) the exit is seen within 50 ms */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	out = xmalloc(j->output_max + 1);
	deadline = now_ms() + j->timeout_ms;
	for (;;) {
		struct pollfd p[2];
		long long now = now_ms(), wake;
		char chunk[4096];
		ssize_t n;
		nfds_t np = 0;

		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (!killed && now >= deadline) {
			yh_log(YH_LOG_WARN, "%s: program=%s timed out after %llds; "
			    "SIGTERM", j->label, j->argv[0], j->timeout_ms / 1000);
			kill(-pid, SIGTERM);
			kill(pid, SIGTERM);
			killed = 1;
			kill_at = now + j->grace_ms;
		} else if (killed == 1 && now >= kill_at) {
			yh_log(YH_LOG_WARN, "%s: program=%s still running; SIGKILL",
			    j->label, j->argv[0]);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = 2;
		}
		/* the pipe wakes us for output and EOF, the pidfd for the
		 * exit, the clock for the next kill step */
		if (open_pipe) {
			p[np].fd = pfd[0];
			p[np++].events = POLLIN;
		}
		if (pidfd != -1) {
			p[np].fd = pidfd;
			p[np++].events = POLLIN;
		}
		wake = killed == 0 ? deadline : killed == 1 ? kill_at : now + 1000;
		if (pidfd == -1 && wake > now + 50)
			wake = now + 50;
		if (wake < now)
			wake = now;
		if (poll(p, np, (int)(wake - now)) > 0 && open_pipe &&
		    (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(pfd[0], chunk, sizeof(chunk));
			if (n == 0)
				open_pipe = 0;
			else if (n > 0)
				output_take(j, out, &outlen, &dropped, chunk, (size_t)n);
		}
	}
	/* what is left in the pipe; a descendant keeping it open is not waited for */
	for (;;) {
		char chunk[4096];
		ssize_t n = read(pfd[0], chunk, sizeof(chunk));

		if (n <= 0)
			break;
		output_take(j, out, &outlen, &dropped, chunk, (size_t)n);
	}
	close(pfd[0]);
	if (pidfd != -1)
		close(pidfd);
	log_output(j->argv[0], out, outlen, dropped);
	free(out);
	if (j->link)
		unlink(j->link);
	if (WIFSIGNALED(st))
		yh_log(killed ? YH_LOG_WARN : YH_LOG_INFO, "%s: program=%s killed by "
		    "signal %d%s", j->label, j->argv[0], WTERMSIG(st),
		    killed ? " (timeout)" : "");
	else
		yh_log(WEXITSTATUS(st) ? YH_LOG_WARN : YH_LOG_INFO,
		    "%s: program=%s exit status %d", j->label, j->argv[0],
		    WEXITSTATUS(st));
	return st;
}

/* ---- building the job --------------------------------------------------- */

/* mailfile_link - a private name of the message of DLV in DIR (the
 * account folder), valid while the program runs; owned, or NULL (logged)
 * when no link can be made. */
static char *
mailfile_link(struct yh_delivery *dlv, const char *dir, const char *label)
{
	const char *stored = yh_dlv_path(dlv);
	char *lp;
	int i;

	for (i = 0; i < 10; i++) {
		lp = xasprintf("%s/.exec-%s-%ld-%u.eml", dir, yh_dlv_queue_id(dlv),
		    (long)getpid(), ++S.seq);
		if (link(stored, lp) == 0)
			return lp;
		free(lp);
		if (errno != EEXIST) {
			yh_log(YH_LOG_WARN, "%s: link %s in %s: %s; MAILFILE_PATH is "
			    "the stored file", label, stored, dir, strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

static void
job_free(struct job *j, char **owned, size_t nowned)
{
	size_t i;

	if (j->stdin_fd != -1)
		close(j->stdin_fd);
	j->stdin_fd = -1;
	if (j->link) {
		unlink(j->link);
		free(j->link);
	}
	j->link = NULL;
	for (i = 0; i < nowned; i++)
		free(owned[i]);
}

/* program_resolve - WORD (the command's first word) as the absolute path
 * of the program into OUT.  0, or -1 (logged: not run). */
static int
program_resolve(const struct yh_spawn *sp, const char *word, const char *path,
    char *out, size_t size)
{
	if (is_sendmail(word)) {
		if (sp->sendmail && *sp->sendmail)
			return str_copy(out, size, sp->sendmail) == 0 ? 0 : -1;
		if (find_in_path(path, "yubin-sendmail", out, size) == 0)
			return 0;
		yh_log(YH_LOG_WARN, "%s: yubin-sendmail not found in %s; not run",
		    sp->label, path);
		return -1;
	}
	if (word[0] == '/') {
		if (str_copy(out, size, word) == 0)
			return 0;
		yh_log(YH_LOG_WARN, "%s: program path too long; not run", sp->label);
		return -1;
	}
	if (strchr(word, '/') || strchr(word, '\\')) {
		yh_log(YH_LOG_WARN, "%s: program=%s: a relative path; give an "
		    "absolute one or a bare name; not run", sp->label, word);
		return -1;
	}
	if (find_in_path(path, word, out, size) == -1) {
		yh_log(YH_LOG_WARN, "%s: program=%s not found in %s; not run",
		    sp->label, word, path);
		return -1;
	}
	return 0;
}

/* spawn_copy - the caller's request into SP with defaults for what an
 * older plugin's struct lacks or left 0.  0, or -1 (logged). */
static int
spawn_copy(const struct yh_spawn *in, struct yh_spawn *sp)
{
	size_t n;

	memset(sp, 0, sizeof(*sp));
	if (in == NULL || in->size < sizeof(in->size)) {
		yh_log(YH_LOG_ERR, "yh_spawn: no request (size not set)");
		return -1;
	}
	n = in->size < sizeof(*sp) ? in->size : sizeof(*sp);
	memcpy(sp, in, n);
	if (sp->label == NULL)
		sp->label = "program";
	if (sp->timeout_ms <= 0)
		sp->timeout_ms = 60000;
	if (sp->kill_grace_ms < 0)
		sp->kill_grace_ms = 2000;
	if (sp->output_max < 0)
		sp->output_max = 2048;
	if (sp->output_max > (1 << 20))
		sp->output_max = 1 << 20;
	if (sp->max_running <= 0)
		sp->max_running = 16;
	if (sp->max_running > SPAWN_RUNNING_CAP)
		sp->max_running = SPAWN_RUNNING_CAP;
	if (sp->command == NULL) {
		yh_log(YH_LOG_ERR, "%s: yh_spawn: no command", sp->label);
		return -1;
	}
	return 0;
}

/* job_build - SP into J: argv with placeholders, environment, cwd, stdin.
 * Strings J points at are in OWNED (*NOWNED used) or in WORDBUF.  0, or -1
 * (logged: not run). */
static int
job_build(const struct yh_spawn *sp, struct job *j, char *wordbuf,
    char *prog, size_t progsize, char *cwd, size_t cwdsize, char **owned,
    size_t *nowned)
{
	struct yh_delivery *dv = sp->dlv;
	const char *path = sp->path && *sp->path ? sp->path : SPAWN_DEFAULT_PATH;
	const char *conf = sp->conf ? sp->conf : yh_config_file();
	struct spawn_values vals;
	struct spawn_argv *a;
	const char *why = NULL;
	char *subject = NULL;
	int i, e = 0;

	a = xmalloc(sizeof(*a));
	if (dv) {
		vals.from = yh_dlv_sender(dv);
		vals.to = yh_dlv_rcpt(dv);
		vals.subject_raw = yh_dlv_header(dv, "Subject", 0);
	}
	if (spawn_argv_build(wordbuf, sp->args, dv ? &vals : NULL, a, &why) == -1) {
		yh_log(YH_LOG_WARN, "%s: %s; not run", sp->label, why);
		free(a);
		return -1;
	}
	if (program_resolve(sp, a->argv[0], path, prog, progsize) == -1) {
		free(a);
		return -1;
	}
	if (sp->cwd)
		i = str_copy(cwd, cwdsize, sp->cwd);
	else
		i = dv ? yh_account_dir(yh_dlv_account(dv), cwd, cwdsize) : -1;
	if (i == -1) {
		yh_log(YH_LOG_ERR, "%s: no working folder; not run", sp->label);
		free(a);
		return -1;
	}
	for (i = 0; i <= a->argc; i++)
		j->argv[i] = a->argv[i];
	j->argv[0] = prog;
	for (i = 1; i < a->argc; i++)
		if (a->argv[i] == a->subject) {
			/* SUBJECT's value outlives A: one copy for all */
			if (subject == NULL)
				subject = owned[(*nowned)++] = xstrdup(a->subject);
			j->argv[i] = subject;
		}
	if (a->need_mailfile) {
		j->link = mailfile_link(dv, cwd, sp->label);
		for (i = 1; i < a->argc; i++)
			if (a->mailfile[i])
				j->argv[i] = j->link ? j->link : (char *)yh_dlv_path(dv);
	}
	free(a);
	if (dv && sp->stdin_message) {
		j->stdin_fd = open(yh_dlv_path(dv), O_RDONLY | O_CLOEXEC);
		if (j->stdin_fd == -1)
			yh_log(YH_LOG_WARN, "%s: %s: %s; stdin is /dev/null",
			    sp->label, yh_dlv_path(dv), strerror(errno));
	}
	owned[(*nowned)++] = j->envp[e++] = xasprintf("PATH=%s", path);
	owned[(*nowned)++] = j->envp[e++] = xasprintf("HOME=%s", cwd);
	owned[(*nowned)++] = j->envp[e++] = xasprintf("LANG=%s",
	    sp->lang && *sp->lang ? sp->lang : "C.UTF-8");
	if (conf && *conf)
		owned[(*nowned)++] = j->envp[e++] = xasprintf("YUBIN_CONF=%s", conf);
	if (dv) {
		owned[(*nowned)++] = j->envp[e++] = xasprintf("YUBIN_FROM=%s",
		    yh_dlv_sender(dv));
		owned[(*nowned)++] = j->envp[e++] = xasprintf("YUBIN_TO=%s",
		    yh_dlv_rcpt(dv));
		owned[(*nowned)++] = j->envp[e++] = xasprintf("YUBIN_QUEUE_ID=%s",
		    yh_dlv_queue_id(dv));
	}
	j->envp[e] = NULL;
	j->cwd = cwd;
	return 0;
}

/* ---- the call ----------------------------------------------------------- */

int
yh_spawn(const struct yh_spawn *in, int *status_r)
{
	struct yh_spawn sp;
	struct job j;
	char prog[PATH_MAX], cwd[PATH_MAX], *wordbuf = NULL;
	char *owned[SPAWN_ENV_MAX + 2];
	size_t nowned = 0;
	long long hook_end = plugins_hook_deadline(), budget_end, need;
	int wait, r = -1, st;
	pid_t pid;

	if (status_r)
		*status_r = -1;
	if (spawn_copy(in, &sp) == -1)
		return -1;
	memset(&j, 0, sizeof(j));
	j.label = sp.label;
	j.stdin_fd = -1;
	j.grace_ms = sp.kill_grace_ms;
	j.output_max = (size_t)sp.output_max;
	wordbuf = xstrdup(sp.command);
	if (job_build(&sp, &j, wordbuf, prog, sizeof(prog), cwd, sizeof(cwd),
	    owned, &nowned) == -1)
		goto out;
	/* inside a hook, every wait ends before the core's hook timeout */
	budget_end = hook_end ? hook_end - SPAWN_MARGIN_MS :
	    now_ms() + sp.timeout_ms + sp.kill_grace_ms + SPAWN_MARGIN_MS;
	wait = sp.wait != 0;
	reap(0, 0);
	if (S.nrunning >= (size_t)sp.max_running) {
		reap(1, budget_end);
		if (S.nrunning >= (size_t)sp.max_running) {
			yh_log(YH_LOG_WARN, "%s: %lld programs running; program=%s "
			    "not run", sp.label, sp.max_running, prog);
			goto out;
		}
	}
	/* a waited program must end (killed if need be) within the budget:
	 * its timeout is cut to what is left of it */
	j.timeout_ms = sp.timeout_ms;
	need = budget_end - now_ms() - sp.kill_grace_ms - 500;
	if (wait && hook_end && need < 1000) {
		yh_log(YH_LOG_WARN, "%s: program=%s runs without waiting: "
		    "server.hook_timeout is used up", sp.label, prog);
		wait = 0;
	} else if (wait && hook_end && need < j.timeout_ms)
		j.timeout_ms = need;
	yh_log(YH_LOG_INFO, "%s: starting program=%s wait=%d", sp.label, prog, wait);
	if (wait) {
		/* the caller itself supervises: one fork fewer */
		st = supervise(&j);
		j.stdin_fd = -1;	/* closed by supervise */
		free(j.link);
		j.link = NULL;		/* removed by supervise */
		if (st != -1) {
			r = 0;
			if (status_r)
				*status_r = st;
		}
		goto out;
	}
	pid = fork();
	if (pid == -1) {
		yh_log(YH_LOG_ERR, "%s: fork: %s", sp.label, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		prctl(PR_SET_NAME, "yubind-spawn");
		(void)supervise(&j);
		_exit(0);
	}
	if (j.stdin_fd != -1) {
		close(j.stdin_fd);
		j.stdin_fd = -1;
	}
	free(j.link);
	j.link = NULL;		/* the supervisor removes it */
	S.running[S.nrunning++] = pid;
	r = 0;
out:
	job_free(&j, owned, nowned);
	free(wordbuf);
	return r;
}
