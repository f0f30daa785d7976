/*
 * yubind - the yubin mail server (DESIGN.md §3, §5).
 *
 *   yubind [-c CONFIG] [-f] [-t] [-D section.key=value]...
 *
 * Reads the configuration (as root when started by init, to bind low ports
 * and read the TLS key), creates the home layout, binds the listeners,
 * detaches unless -f, writes the pidfile, then HOME/run/ports (so whoever
 * sees the ports finds the pid file), and hands over to the master.  -t checks the configuration and every rule file,
 * prints each problem as file:line: message, and exits.
 * Exit status: 0 stopped cleanly, 1 configuration error, 2 could not start.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "master.h"
#include "paths.h"
#include "pgstate.h"
#include "plugin.h"
#include "priv.h"
#include "route.h"
#include "store.h"
#include "tls.h"
#include "util.h"

#define DEFS_MAX	64	/* -D options */

static void
usage(void)
{
	fprintf(stderr, "usage: yubind [-c CONFIG] [-f] [-t] [-D section.key=value]...\n");
	exit(1);
}

static int
open_log(const struct config *cfg, int foreground)
{
	const char *dest = config_str(cfg, "server.log");
	long long max = config_int(cfg, "server.log_size_max");
	const struct cfg_list *kinds = config_list(cfg, "server.log_kinds");
	unsigned mask;
	char *path;
	int r;

	/* the key's table admits the kind names only */
	if (log_kinds_parse(kinds->v, kinds->n, &mask) == 0)
		log_set_kinds(mask);
	log_set_foreground(foreground, max);
	if (foreground || strcmp(dest, "stderr") == 0)
		return log_open(LOG_DEST_STDERR, NULL, 0);
	if (strcmp(dest, "syslog") == 0)
		return log_open(LOG_DEST_SYSLOG, NULL, 0);
	path = xasprintf("%s/log/yubind.log", config_home(cfg));
	r = log_open(LOG_DEST_FILE, path, max);
	if (r == -1)
		fprintf(stderr, "yubind: cannot open %s: %s%s\n", path,
		    strerror(errno), errno == ELOOP || errno == EPERM ||
		    errno == EINVAL ? " (it must be a regular file with one "
		    "link, owned by the server user, in a folder of its own "
		    "that is no symbolic link)" : "");
	free(path);
	return r;
}

/*
 * home_reachable - the workers run as UID/GID: check, as them, that they can
 * reach and write HOME's state and queue folders, so a home under a private
 * parent (e.g. /root) fails here with one clear line, not in every worker.
 */
static int
home_reachable(const struct config *cfg, uid_t uid, gid_t gid)
{
	const char *home = config_home(cfg);
	char *state, *queue;
	pid_t pid;
	int status, ok;

	if (geteuid() != 0)
		return 0;
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		priv_drop(uid, gid);
		state = xasprintf("%s/state", home);
		queue = xasprintf("%s/queue", home);
		ok = access(state, R_OK | W_OK | X_OK) == 0 &&
		    access(queue, R_OK | W_OK | X_OK) == 0;
		_exit(ok ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "yubind: %s: not reachable by the server user "
		    "(uid %ld); make every parent folder traversable or move "
		    "server.home\n", home, (long)uid);
		return -1;
	}
	return 0;
}

/*
 * write_pidfile - HOME/run/yubind.pid, written as root through the checked
 * HOME/run descriptor (never through a link), and write-locked (fcntl
 * F_SETLK) by this process for as long as it runs: the fd is kept open and
 * never closed, and POSIX locks are not inherited by the workers.  yubinctl
 * signals only the pid that holds this lock on a root-owned file, so a
 * rewritten or stale pid file can never make it signal another process.
 */
static int
write_pidfile(const struct config *cfg)
{
	static int held = -1;
	struct flock fl;
	char pid[32], tmp[NAME_MAX + 1];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	int dfd, fd = -1, saved;

	if ((dfd = paths_run_dir(cfg)) == -1)
		goto fail;
	if ((fd = file_tmpat(dfd, "yubind.pid", 0644, tmp, sizeof(tmp))) == -1)
		goto fail;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1 ||
	    write_all(fd, pid, (size_t)n) == -1 || fsync(fd) == -1 ||
	    renameat(dfd, tmp, dfd, "yubind.pid") == -1) {
		saved = errno;
		unlinkat(dfd, tmp, 0);
		errno = saved;
		goto fail;
	}
	(void)fsync(dfd);
	close(dfd);
	if (held != -1)
		close(held);
	held = fd;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	log_err("%s/run/yubind.pid: %s", config_home(cfg), strerror(saved));
	return -1;
}

/*
 * check_tls - for -t: load the TLS certificate and key as start-up does
 * (tls_server_ctx), so that a missing or bad file is found now.  0 or -1
 * (the reason in ERRS).
 */
static int
check_tls(const struct config *cfg, struct errlist *errs)
{
	SSL_CTX *ctx = NULL;
	char *why = NULL;

	if (tls_server_ctx(cfg, &ctx, &why) == -1 ||
	    (SSL_CTX_free(ctx), tls_node_ctx(cfg, &ctx, &why)) == -1) {
		errlist_add(errs, "%s", why);
		free(why);
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}

/*
 * check_state - the shared state of [server] state (DESIGN.md §15), asked
 * before the first process opens the store.  A schema newer than ours
 * stops the start (nothing would work); a server not reachable now does
 * not: mail needing it is answered 4xx until it is (pgstate.h).  CHECK
 * (-t) says which.  0 or -1.
 */
static int
check_state(const struct config *cfg, int check)
{
	const char *uri = config_str(cfg, "server.state");
	struct pgstate *p;
	char why[300];
	int r;

	if (*uri == '\0')
		return 0;
	p = pgstate_new(uri);
	r = pgstate_ready(p, why, sizeof(why));
	pgstate_free(&p);
	if (r == -2) {
		fprintf(stderr, "yubind: state: %s\n", why);
		return -1;
	}
	if (r == -1)
		fprintf(stderr, "yubind: warning: state: %s; mail and logins "
		    "that need it are answered 4xx until it is reachable\n",
		    why);
	else if (check)
		printf("state: PostgreSQL reachable, schema version %d\n",
		    PGSTATE_SCHEMA);
	return 0;
}

/*
 * check_accounts - for -t: parse the config.def of every folder under the
 * mailbox root with the parser delivery uses (config_account), so that a
 * server-only key or a bad value is reported with file:line now.  A root
 * that cannot be read (not made yet, or not ours) is no error: start-up
 * does not read it.  0 or -1.
 */
static int
check_accounts(const struct config *cfg, struct errlist *errs)
{
	char *root = paths_mailbox_root(cfg), *path;
	struct config *acc;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	if ((d = opendir(root)) == NULL) {
		free(root);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s/config.def", root, de->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			acc = NULL;
			if (config_account(cfg, path, &acc, errs) == -1)
				r = -1;
			config_free(&acc);
		}
		free(path);
	}
	closedir(d);
	free(root);
	return r;
}

static void
daemonize(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid == -1)
		log_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid == -1)
		log_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

int
main(int argc, char **argv)
{
	struct master_opts opts;
	struct errlist errs;
	sigset_t held;
	struct config *cfg;
	char *defs[DEFS_MAX];
	const char *what;
	char *why = NULL;
	uid_t uid;
	gid_t gid;
	int ch, check = 0, r;

	memset(&opts, 0, sizeof(opts));
	opts.defs = defs;
	while ((ch = getopt(argc, argv, "c:D:ft")) != -1) {
		switch (ch) {
		case 'c':
			opts.cfg_path = optarg;
			break;
		case 'D':
			if (opts.ndefs == DEFS_MAX) {
				fprintf(stderr, "yubind: too many -D options\n");
				return 1;
			}
			defs[opts.ndefs++] = optarg;
			break;
		case 'f':
			opts.foreground = 1;
			break;
		case 't':
			check = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (opts.cfg_path == NULL)
		opts.cfg_path = paths_default_config();
	log_role("master");
	errlist_init(&errs);
	r = config_load(&cfg, opts.cfg_path, opts.defs, opts.ndefs, &errs);
	if (r == 0)
		store_set_shared(config_str(cfg, "server.state"));
	/* the queue manager's tables (gateway.dat), checked at start-up */
	if (r == 0) {
		struct routes *rt = NULL;

		if (route_load(cfg, &rt, &errs) == -1) {
			errlist_print(&errs, stderr);
			errlist_free(&errs);
			config_free(&cfg);
			return 1;
		}
		route_free(&rt);
	}
	/* plugins read their rule files in init(): -t checks them too */
	if (r == 0 && plugins_load(cfg, &errs) == -1) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		config_free(&cfg);
		return 1;
	}
	/* what start-up and delivery check later: -t must catch it too */
	if (r == 0 && check && ((check_tls(cfg, &errs) == -1) |
	    (check_accounts(cfg, &errs) == -1))) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		plugins_unload();
		config_free(&cfg);
		return 1;
	}
	if (r == 0 && check_state(cfg, check) == -1) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		plugins_unload();
		config_free(&cfg);
		return check ? 1 : 2;
	}
	if (r == -1 || check) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		if (r == 0) {
			printf("%s: configuration ok\n", opts.cfg_path ?
			    opts.cfg_path : "(compiled-in defaults)");
			plugins_unload();
			config_free(&cfg);
		}
		return r == -1 ? 1 : 0;
	}
	errlist_free(&errs);
	if (priv_lookup(cfg, &uid, &gid, &why) == -1) {
		fprintf(stderr, "yubind: %s\n", why);
		free(why);
		config_free(&cfg);
		return 1;
	}
	if (paths_setup(cfg, geteuid() == 0 ? uid : (uid_t)-1, gid, &what) == -1) {
		fprintf(stderr, "yubind: %s: %s\n", what, strerror(errno));
		config_free(&cfg);
		return 2;
	}
	if (home_reachable(cfg, uid, gid) == -1) {
		config_free(&cfg);
		return 2;
	}
	log_set_owner(uid, gid);
	if (open_log(cfg, opts.foreground) == -1 && !opts.foreground) {
		config_free(&cfg);
		return 2;
	}
	/* from here on a supervisor may signal us (the ports file says we
	 * are up): hold the signals until the master's handlers are in */
	sigemptyset(&held);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGUSR1);
	sigprocmask(SIG_BLOCK, &held, NULL);
	if (master_listen(cfg) == -1) {
		config_free(&cfg);
		return 2;
	}
	if (!opts.foreground)
		daemonize();
	if (write_pidfile(cfg) == -1 || master_announce(cfg) == -1) {
		config_free(&cfg);
		return 2;
	}
	r = master_run(cfg, &opts);
	return r;
}
