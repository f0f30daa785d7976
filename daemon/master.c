/*
 * master.c - the yubind master process; see master.h.
 *
 * Pools: SMTP (listeners smtp, submission, smtps), POP3 (pop3, pop3s) and
 * LOCAL (the local submission socket HOME/run/submit.sock only: SMTP
 * workers of their own, 1 kept idle, at most LOCAL_POOL_MAX), so
 * yubin-sendmail -- forwards, replies, exec programs -- still gets a
 * worker when network clients hold the whole SMTP pool, and network
 * clients can never take the local workers.
 * Each worker is a forked child that accepts on its pool's listeners and
 * serves one connection at a time.  A shared scoreboard (anonymous shared
 * mapping, one slot per possible worker) tells the master which workers are
 * idle or busy; the master keeps smtp.min_spare..max_spare idle workers and
 * never more than the pool maximum (smtp.multiprocessing, pop3.max_processes).
 * When a pool is at its maximum with no idle worker, the master itself
 * accepts on that pool's listeners and answers "421 4.7.0" / "-ERR
 * [SYS/TEMP]" at once, so excess clients never hang.
 *
 * Besides the pools the master keeps two processes of the server user: the
 * queue manager (qmgr.h) and the fetch process (fetch_run.h), each
 * restarted when it dies (with back-off) or after a reload.
 *
 * Generations: SIGHUP reloads the configuration; workers of an older
 * generation get SIGTERM, which an idle worker obeys at once and a busy one
 * after its session.  SIGTERM stops gracefully (time_out_of_stop), SIGINT
 * fast (sessions cut; accepted mail is already on disk).  Workers that die
 * are logged with their signal or status; a pool whose workers keep dying
 * young is restarted with growing back-off.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "config.h"
#include "fetch_run.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "paths.h"
#include "plugin.h"
#include "priv.h"
#include "auth.h"
#include "committer.h"
#include "qcommit.h"
#include "qmgr.h"
#include "route.h"
#include "session.h"
#include "store.h"
#include "tls.h"
#include "util.h"

#define LISTEN_MAX	32	/* bound sockets in all */
#define LISTEN_BACKLOG	128
#define BACKOFF_MAX_MS	30000	/* ceiling of the respawn back-off */
#define YOUNG_DEATH_MS	2000	/* a worker dying younger than this counts as a failure */
#define LOCAL_POOL_MAX	4	/* workers serving only HOME/run/submit.sock */

#define TRACE_MAX	BOARD_TRACE_MAX
#define SLOT_FREE	BOARD_FREE
#define SLOT_IDLE	BOARD_IDLE
#define SLOT_BUSY	BOARD_BUSY

struct listener {
	int			fd;
	enum listener_kind	kind;
	char			name[16];
	char			addr[64];
};

enum pool_id { POOL_SMTP, POOL_POP3, POOL_LOCAL, POOL_COUNT };

struct pool {
	const char	*name;
	int		 max, min_spare, max_spare;
	struct board_slot *slots;	/* in the shared scoreboard */
	int		 nslots;
	int		 failures;	/* young deaths in a row */
	long long	 hold_until_ms;	/* back-off: no spawn before */
};

static struct listener listeners[LISTEN_MAX];
static int nlisteners;
/* server.metrics_listen: served by the metrics process alone */
static struct listener mlisteners[METRICS_LISTEN_FDS];
static int nmlisteners;

static struct {
	struct config		*cfg;
	const struct master_opts *opts;
	SSL_CTX			*tls;
	char			 hostname[256];
	uid_t			 uid;
	gid_t			 gid;
	unsigned		 gen;
	struct pool		 pools[POOL_COUNT];
	struct board_head	*head;		/* the scoreboard (board.h) */
	struct board_slot	*board;		/* its slot 0 */
	size_t			 board_size;
	long long		 next_midnight;	/* board_day: day_base[] due */
	pid_t			 metrics_pid;
	long long		 metrics_hold_ms;
	int			 metrics_failures;
	long long		 metrics_started_ms;
	pid_t			 qmgr_pid;
	struct routes		*routes;	/* gateway.dat, read here as root */
	char			*qmgr_trace;	/* shared: the queue manager's hook */
	long long		 qmgr_hold_ms;
	int			 qmgr_failures;
	long long		 qmgr_started_ms;
	pid_t			 fetch_pid;	/* the fetch process (fetch_run.h) */
	long long		 fetch_hold_ms;
	int			 fetch_failures;
	long long		 fetch_started_ms;
	int			 commit_chan[2];	/* workers' end, committer's end */
	pid_t			 commit_pid;
	long long		 commit_hold_ms;
	int			 commit_failures;
	long long		 commit_started_ms;
	int			 sigpipe[2];
	int			 stopping;	/* 1 graceful, 2 fast */
	long long		 stop_deadline_ms;
} m;

static volatile sig_atomic_t worker_stop;

static void	board_create(const struct config *, size_t);
static size_t	board_slots_for(const struct config *);

static enum pool_id
pool_of(enum listener_kind k)
{
	if (k == LK_LOCAL)
		return POOL_LOCAL;
	return k == LK_POP3 || k == LK_POP3S ? POOL_POP3 : POOL_SMTP;
}

/* ---- listeners ---------------------------------------------------------- */

static int
listen_one(struct listener *tab, int *ntab, int cap, const char *name,
    enum listener_kind kind, const char *host, int port)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_storage ss;
	socklen_t len;
	struct listener *l;
	char portstr[16], ip[INET6_ADDRSTRLEN];
	int fd, on = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	e = getaddrinfo(strcmp(host, "*") == 0 ? "0.0.0.0" : host, portstr, &hints, &res);
	if (e != 0) {
		log_err("listen %s on %s: %s", name, host, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (*ntab == cap) {
			log_err("listen %s: more than %d listeners", name, cap);
			freeaddrinfo(res);
			return -1;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd == -1)
			goto fail;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, LISTEN_BACKLOG) == -1) {
			close(fd);
			goto fail;
		}
		len = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &len);
		l = &tab[(*ntab)++];
		l->fd = fd;
		l->kind = kind;
		snprintf(l->name, sizeof(l->name), "%s", name);
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (void *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(l->addr, sizeof(l->addr), "[%s]:%d", ip, ntohs(s6->sin6_port));
		} else {
			struct sockaddr_in *s4 = (void *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			snprintf(l->addr, sizeof(l->addr), "%s:%d", ip, ntohs(s4->sin_port));
		}
	}
	freeaddrinfo(res);
	return 0;
fail:
	log_err("listen %s on %s port %d: %s", name, host, port, strerror(errno));
	freeaddrinfo(res);
	return -1;
}

/*
 * bind_in - bind FD to NAME inside the folder DFD, the socket file mode
 * 0666: the path is resolved from DFD (fchdir, then a relative name), and the
 * mode comes from the umask at bind time, so no path is followed after the
 * folder was checked and nothing is chmod'ed by name.  0 or -1 (errno).
 */
static int
bind_in(int fd, int dfd, const char *name)
{
	struct sockaddr_un sun;
	mode_t old;
	int cwd, r, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), name) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fchdir(dfd) == -1) {
		saved = errno;
		close(cwd);
		errno = saved;
		return -1;
	}
	old = umask(0111);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	umask(old);
	if (fchdir(cwd) == -1)
		log_fatal("listen local: cannot return to the working folder: %s",
		    strerror(errno));
	close(cwd);
	errno = saved;
	return r;
}

/*
 * listen_local - the local submission channel: a Unix socket
 * HOME/run/submit.sock, mode 0666, served by the LOCAL pool as LK_LOCAL
 * (yubin-sendmail connects to it; the SMTP engine takes the caller's uid
 * with SO_PEERCRED).  HOME/run is made traversable (0751) so that any
 * local user may reach the socket by name; it is not listed in
 * HOME/run/ports.  A stale socket left by a crash is replaced.  Root
 * works through the checked HOME/run descriptor (paths_run_dir) only.
 */
static int
listen_local(const struct config *cfg)
{
	struct listener *l;
	char *path;
	int fd, dfd, r = -1;

	if (nlisteners == LISTEN_MAX) {
		log_err("listen: more than %d listeners", LISTEN_MAX);
		return -1;
	}
	path = xasprintf("%s/run/submit.sock", config_home(cfg));
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		/* bound by a relative name, but clients connect by PATH */
		log_err("listen local: %s: path too long for a socket", path);
		free(path);
		return -1;
	}
	if ((dfd = paths_run_dir(cfg)) == -1) {
		log_err("listen local: %s/run: %s", config_home(cfg),
		    strerror(errno));
		free(path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		log_err("listen local: socket: %s", strerror(errno));
		goto out;
	}
	if (unlinkat(dfd, "submit.sock", 0) == -1 && errno != ENOENT)
		log_warn("listen local: unlink %s: %s", path, strerror(errno));
	if (bind_in(fd, dfd, "submit.sock") == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		log_err("listen local: %s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	if (fchmod(dfd, 0751) == -1)
		log_warn("listen local: chmod %s/run: %s", config_home(cfg),
		    strerror(errno));
	l = &listeners[nlisteners++];
	l->fd = fd;
	l->kind = LK_LOCAL;
	snprintf(l->name, sizeof(l->name), "local");
	(void)str_copy(l->addr, sizeof(l->addr), "run/submit.sock");
	r = 0;
out:
	close(dfd);
	free(path);
	return r;
}

/* run_write - write NAME in HOME/run as root may (paths_run_dir,
 * file_write_atomicat: never through a link).  0 or -1 (logged). */
static int
run_write(const struct config *cfg, const char *name, const struct buf *b)
{
	int dfd, r = -1;

	if ((dfd = paths_run_dir(cfg)) != -1) {
		r = file_write_atomicat(dfd, name, b->data ? b->data : "",
		    b->len, 0644);
		close(dfd);
	}
	if (r == -1)
		log_err("%s/run/%s: %s", config_home(cfg), name, strerror(errno));
	return r;
}

/* plugins_write_run - HOME/run/plugins: the loaded generation, for
 * "yubinctl plugins". */
static void
plugins_write_run(const struct config *cfg)
{
	struct buf b;

	buf_init(&b, 0);
	plugins_describe(&b);
	(void)run_write(cfg, "plugins", &b);
	buf_free(&b);
}

/* listen_metrics - server.metrics_listen, when set (checked as the file
 * was loaded: ADDRESS:PORT).  0 or -1 (logged). */
static int
listen_metrics(const struct config *cfg)
{
	const char *text = config_str(cfg, "server.metrics_listen");
	char host[INET6_ADDRSTRLEN], why[128];
	int port;

	if (*text == '\0')
		return 0;
	if (hostport_parse(text, host, sizeof(host), &port, why,
	    sizeof(why)) == -1) {
		log_err("server.metrics_listen: %s", why);
		return -1;
	}
	return listen_one(mlisteners, &nmlisteners, METRICS_LISTEN_FDS,
	    "metrics", LK_COUNT, host, port);
}

int
master_listen(const struct config *cfg)
{
	static const struct {
		const char *name, *key, *listen_key;
		enum listener_kind kind;
		int needs_tls;
	} defs[] = {
		{ "smtp", "smtp.port", "smtp.listen", LK_SMTP, 0 },
		{ "submission", "smtp.submission_port", "smtp.listen", LK_SUBMISSION, 0 },
		{ "smtps", "smtp.smtps_port", "smtp.listen", LK_SMTPS, 1 },
		{ "pop3", "pop3.port", "pop3.listen", LK_POP3, 0 },
		{ "pop3s", "pop3.pop3s_port", "pop3.listen", LK_POP3S, 1 },
	};
	const struct cfg_list *addrs;
	size_t i, j;
	int have_tls = *config_str(cfg, "server.tls_cert") != '\0';
	long long port;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		port = config_int(cfg, defs[i].key);
		if (port < 0)
			continue;
		if (defs[i].needs_tls && !have_tls) {
			log_info("%s listener not started: no server.tls_cert", defs[i].name);
			continue;
		}
		addrs = config_list(cfg, defs[i].listen_key);
		if (addrs->n == 0)
			addrs = config_list(cfg, "smtp.listen");
		for (j = 0; j < addrs->n; j++)
			if (listen_one(listeners, &nlisteners, LISTEN_MAX,
			    defs[i].name, defs[i].kind, addrs->v[j],
			    (int)port) == -1)
				return -1;
	}
	if (nlisteners == 0) {
		log_err("no listener configured");
		return -1;
	}
	if (listen_metrics(cfg) == -1)
		return -1;
	if (listen_local(cfg) == -1)
		return -1;
	for (i = 0; i < (size_t)nlisteners; i++)
		log_info("listening: %s %s", listeners[i].name, listeners[i].addr);
	for (i = 0; i < (size_t)nmlisteners; i++)
		log_info("listening: metrics %s", mlisteners[i].addr);
	return 0;
}

int
master_announce(const struct config *cfg)
{
	struct buf ports;
	size_t i;

	/* before the ports file: who sees the ports sees the plugins and
	 * the scoreboard too */
	plugins_write_run(cfg);
	board_create(cfg, board_slots_for(cfg));
	buf_init(&ports, 0);
	for (i = 0; i < (size_t)nlisteners; i++)
		if (listeners[i].kind != LK_LOCAL)
			buf_printf(&ports, "%s %s\n", listeners[i].name,
			    listeners[i].addr);
	for (i = 0; i < (size_t)nmlisteners; i++)
		buf_printf(&ports, "metrics %s\n", mlisteners[i].addr);
	if (run_write(cfg, "ports", &ports) == -1) {
		buf_free(&ports);
		return -1;
	}
	buf_free(&ports);
	return 0;
}

/* ---- per-client limit ---------------------------------------------------- */

/*
 * peer_key - who a client is for smtp/pop3.max_connections_per_ip: an IPv4
 * address (also v4-mapped) as ff00:0:a.b.c.d (ff00::/8 is multicast, never
 * a source), an IPv6 address by its /64 (one site or host); 0 for the local
 * socket, which is never counted.
 */
static unsigned long long
peer_key(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const unsigned char *b;
	unsigned long long k = 0;
	int i;

	if (ss->ss_family == AF_INET)
		return 0xff00000000000000ULL | ntohl(s4->sin_addr.s_addr);
	if (ss->ss_family != AF_INET6)
		return 0;
	b = s6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return 0xff00000000000000ULL | (unsigned long long)b[12] << 24 |
		    (unsigned long long)b[13] << 16 | (unsigned long long)b[14] << 8 | b[15];
	for (i = 0; i < 8; i++)
		k = k << 8 | b[i];
	return k != 0 ? k : 0xff01000000000000ULL;	/* ::/64 (::1) */
}

/* per_ip_cap - the pool's per-client cap: the configured one, or by default
 * (0) half the pool maximum, at least 1 and at most Postfix anvil's 50. */
static int
per_ip_cap(enum pool_id id)
{
	long long cap = config_int(m.cfg, id == POOL_SMTP ?
	    "smtp.max_connections_per_ip" : "pop3.max_connections_per_ip");

	if (cap > 0)
		return (int)cap;
	cap = m.pools[id].max / 2;
	return cap < 1 ? 1 : cap > 50 ? 50 : (int)cap;
}

/*
 * peer_over_cap - the master's count, across every worker of the pool, of
 * the sessions of the client that SLOT just accepted (KEY): its own slot
 * shows KEY first, then every slot is read, so of two workers accepting the
 * same client at once at least one sees the other (never both miss).  1
 * when the client is now over the cap.  Runs in the worker; the scoreboard
 * is the master's shared memory, cleared by the master when a worker dies.
 */
static int
peer_over_cap(enum pool_id id, struct board_slot *slot, unsigned long long key)
{
	struct pool *p = &m.pools[id];
	int i, n = 0;

	__atomic_store_n(&slot->peer, key, __ATOMIC_SEQ_CST);
	if (key == 0)
		return 0;
	for (i = 0; i < p->nslots; i++)
		if (__atomic_load_n(&p->slots[i].peer, __ATOMIC_SEQ_CST) == key)
			n++;
	return n > per_ip_cap(id);
}

/* peer_text - the client's address SS as text into IP (SIZE bytes);
 * "?" when it has none. */
static void
peer_text(const struct sockaddr_storage *ss, char *ip, size_t size)
{
	const char *r = NULL;

	if (ss->ss_family == AF_INET)
		r = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr,
		    ip, (socklen_t)size);
	else if (ss->ss_family == AF_INET6)
		r = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr,
		    ip, (socklen_t)size);
	if (r == NULL)
		(void)str_copy(ip, size, "?");
}

/* peer_refuse - the client is over its cap: the same fixed reply as a full
 * pool (overflow_accept), then close. */
static void
peer_refuse(enum pool_id id, enum listener_kind kind, int fd,
    const struct sockaddr_storage *ss)
{
	static const char smtp_busy[] =
	    "421 4.7.0 Too many connections from your address, try again later\r\n";
	static const char pop_busy[] =
	    "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n";
	char ip[INET6_ADDRSTRLEN];

	board_count(BC_REFUSED_PER_IP);
	if (kind == LK_SMTP || kind == LK_SUBMISSION)
		(void)!send(fd, smtp_busy, sizeof(smtp_busy) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	else if (kind == LK_POP3)
		(void)!send(fd, pop_busy, sizeof(pop_busy) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	/* implicit-TLS listeners: no handshake for a refusal; the close says it */
	close(fd);
	peer_text(ss, ip, sizeof(ip));
	log_warn("%s: client %s over its limit of %d connections, refused",
	    m.pools[id].name, ip, per_ip_cap(id));
}

/* ---- workers ------------------------------------------------------------ */

static void
worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

/* child_on_usr1 - the master's SIGUSR1 (log rotation): reopen the log
 * before the next line; never end the process for it. */
static void
child_on_usr1(int sig)
{
	(void)sig;
	log_reopen_request();
}

/* master_sigset - the signals the master handles, blocked across fork */
static void
master_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
}

/*
 * fork_child - fork with the master's signals blocked: until the child has
 * handlers of its own (child_signals, then child_unblock; the queue
 * manager's in qmgr_main), a signal meant for it -- a stop just after the
 * start -- waits, instead of running the master's handler it inherited,
 * which would swallow it.  The parent's mask is back at once.
 */
static pid_t
fork_child(void)
{
	sigset_t set, old;
	pid_t pid;
	int saved;

	master_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	saved = errno;
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return pid;
}

void
child_unblock(void)
{
	sigset_t set;

	master_sigset(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void
child_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* inherited by the delivery agents; SA_RESTART: a session's read or
	 * write goes on as if nothing happened */
	sa.sa_handler = child_on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_flags = 0;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = worker_on_term;
	sigaction(SIGTERM, &sa, NULL);
	close(m.sigpipe[0]);
	close(m.sigpipe[1]);
}

/*
 * child_tie - make a child that has just dropped its privileges end with
 * the master.  Linux clears the parent-death signal when the uid changes,
 * so it is set here, after priv_drop; a master that died before that is
 * seen by getppid.  A child that outlives its master would serve (or, the
 * queue manager, deliver) beside the next generation.
 */
static void
child_tie(pid_t master)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
}

static void __attribute__((noreturn))
worker_main(enum pool_id pid, struct board_slot *slot)
{
	struct pollfd pfd[LISTEN_MAX];
	enum listener_kind kinds[LISTEN_MAX];
	struct session_env env;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct store *store;
	const char *why;
	char *sdir, ip[INET6_ADDRSTRLEN];
	pid_t master = getppid();
	long long served = 0, max_sessions;
	int n = 0, i, r, fd;

	prctl(PR_SET_NAME, pid == POOL_SMTP ? "yubind-smtp" : pid == POOL_LOCAL ?
	    "yubind-submit" : "yubind-pop3");
	log_role(pid == POOL_POP3 ? "pop3" : "smtp");
	child_signals();
	child_unblock();
	board_set_self(slot);
	for (i = 0; i < nmlisteners; i++)
		close(mlisteners[i].fd);
	for (i = 0; i < nlisteners; i++) {
		if (pool_of(listeners[i].kind) != pid) {
			close(listeners[i].fd);
			continue;
		}
		pfd[n].fd = listeners[i].fd;
		pfd[n].events = POLLIN;
		kinds[n++] = listeners[i].kind;
	}
	priv_drop(m.uid, m.gid);
	child_tie(master);
	close(m.commit_chan[1]);
	if (pid == POOL_POP3)
		close(m.commit_chan[0]);
	else
		qc_client_init(m.commit_chan[0]);
	sdir = xasprintf("%s/state", config_home(m.cfg));
	if (store_open(&store, sdir, &why) == -1)
		log_fatal("%s: %s", sdir, why);
	free(sdir);
	plugins_child_init(store, m.cfg, slot->trace, sizeof(slot->trace));
	plugins_process_init(pid == POOL_POP3 ? YH_PROC_POP3 :
	    pid == POOL_LOCAL ? YH_PROC_SUBMIT : YH_PROC_SMTP);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	max_sessions = config_int(m.cfg, "server.max_sessions_per_worker");
	memset(&env, 0, sizeof(env));
	env.cfg = m.cfg;
	env.store = store;
	env.tls = m.tls;
	env.hostname = m.hostname;
	while (!worker_stop && served < max_sessions && !plugins_tainted()) {
		r = poll(pfd, (nfds_t)n, 1000);
		if (getppid() != master)
			break;
		if (r <= 0)
			continue;
		for (i = 0; i < n && !worker_stop; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			sslen = sizeof(ss);
			memset(&ss, 0, sizeof(ss));
			fd = accept4(pfd[i].fd, (struct sockaddr *)&ss, &sslen,
			    SOCK_CLOEXEC);
			if (fd == -1)
				continue;	/* another worker took it */
			__atomic_store_n(&slot->state, SLOT_BUSY, __ATOMIC_SEQ_CST);
			if (peer_over_cap(pid, slot, kinds[i] == LK_LOCAL ? 0 :
			    peer_key(&ss))) {
				peer_refuse(pid, kinds[i], fd, &ss);
				__atomic_store_n(&slot->peer, 0ULL, __ATOMIC_SEQ_CST);
				__atomic_store_n(&slot->state, SLOT_IDLE,
				    __ATOMIC_SEQ_CST);
				break;
			}
			board_count((enum board_ctr)(BC_CONN_SMTP + kinds[i]));
			if (kinds[i] == LK_LOCAL)
				(void)str_copy(ip, sizeof(ip), "local");
			else
				peer_text(&ss, ip, sizeof(ip));
			board_client(ip);
			board_phase(BP_CONNECT);
			env.kind = kinds[i];
			env.sid = ((unsigned long)getpid() << 12 ^ (unsigned long)random()) & 0xffffff;
			if (pid != POOL_POP3)
				smtp_session(&env, fd);
			else
				pop3_session(&env, fd);
			served++;
			board_client(NULL);
			board_phase(BP_IDLE);
			__atomic_store_n(&slot->peer, 0ULL, __ATOMIC_SEQ_CST);
			__atomic_store_n(&slot->state, SLOT_IDLE, __ATOMIC_SEQ_CST);
			break;
		}
	}
	store_close(&store);
	_exit(0);
}

static void
pool_spawn(enum pool_id id, struct board_slot *slot)
{
	pid_t pid;

	slot->state = SLOT_IDLE;
	slot->peer = 0;
	slot->trace[0] = '\0';
	slot->client[0] = '\0';
	slot->gen = m.gen;
	slot->started_ms = now_ms();
	slot->phase_ms = slot->started_ms;
	slot->phase = BP_IDLE;
	pid = fork_child();
	if (pid == -1) {
		log_err("fork: %s", strerror(errno));
		slot->state = SLOT_FREE;
		slot->phase = BP_NONE;
		return;
	}
	if (pid == 0)
		worker_main(id, slot);
	slot->pid = pid;
}

/*
 * board_create - the scoreboard for NSLOTS slots (board.h): HOME/run/status
 * made afresh through the checked HOME/run descriptor -- whatever has that
 * name is removed, the new file is created O_EXCL|O_NOFOLLOW (nothing
 * planted is followed or reused), its blocks allocated (a full disk never
 * faults a write to the map) -- and mapped shared.  Without the file
 * (logged) an anonymous map serves, and "yubinctl status" says so.
 */
static void
board_create(const struct config *cfg, size_t nslots)
{
	size_t size = board_size(nslots);
	void *p;
	int dfd, fd = -1, e = 0;

	if ((dfd = paths_run_dir(cfg)) == -1)
		e = errno;
	else {
		if (unlinkat(dfd, BOARD_NAME, 0) == -1 && errno != ENOENT)
			e = errno;
		else if ((fd = openat(dfd, BOARD_NAME, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
			e = errno;
		else if ((e = posix_fallocate(fd, 0, (off_t)size)) != 0) {
			close(fd);
			fd = -1;
			(void)unlinkat(dfd, BOARD_NAME, 0);
		}
		close(dfd);
	}
	if (fd == -1)
		log_warn("%s/run/%s: %s; yubinctl status will show no workers",
		    config_home(cfg), BOARD_NAME, strerror(e));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED |
	    (fd == -1 ? MAP_ANONYMOUS : 0), fd, 0);
	if (p == MAP_FAILED)
		log_fatal("scoreboard: %s", strerror(errno));
	if (fd != -1)
		close(fd);
	memset(p, 0, size);
	board_map = p;
	board_map->head_size = (uint32_t)board_size(0);
	board_map->slot_size = sizeof(struct board_slot);
	board_map->nslots = (uint32_t)nslots;
	board_map->master_pid = (int32_t)getpid();
	board_map->started = time_now();
	board_map->version = BOARD_VERSION;
	__atomic_store_n(&board_map->magic, BOARD_MAGIC, __ATOMIC_RELEASE);
}

/* board_slots_for - the scoreboard's size for CFG's pools (pools_setup) */
static size_t
board_slots_for(const struct config *cfg)
{
	return (size_t)(config_int(cfg, "smtp.multiprocessing") +
	    config_int(cfg, "pop3.max_processes") + LOCAL_POOL_MAX);
}

/* board_day - at local midnight, today's counts start again: day_base[]
 * takes the counters' values (board.h). */
static void
board_day(void)
{
	long long now = time_now();
	time_t t = (time_t)now;
	struct tm tm;
	int i;

	if (now < m.next_midnight)
		return;
	if (m.next_midnight != 0)
		for (i = 0; i < BC_COUNT; i++)
			__atomic_store_n(&m.head->day_base[i],
			    __atomic_load_n(&m.head->ctr[i], __ATOMIC_RELAXED),
			    __ATOMIC_RELAXED);
	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday++;
	tm.tm_isdst = -1;
	m.next_midnight = (long long)mktime(&tm);
	if (m.next_midnight <= now)
		m.next_midnight = now + 3600;	/* a clock gone odd: look again */
}

static void
pools_setup(void)
{
	size_t total;
	int i;

	m.pools[POOL_SMTP].name = "smtp";
	m.pools[POOL_SMTP].max = (int)config_int(m.cfg, "smtp.multiprocessing");
	m.pools[POOL_SMTP].min_spare = (int)config_int(m.cfg, "smtp.min_spare");
	m.pools[POOL_SMTP].max_spare = (int)config_int(m.cfg, "smtp.max_spare");
	m.pools[POOL_POP3].name = "pop3";
	m.pools[POOL_POP3].max = (int)config_int(m.cfg, "pop3.max_processes");
	m.pools[POOL_POP3].min_spare = (int)config_int(m.cfg, "pop3.min_spare");
	m.pools[POOL_POP3].max_spare = (int)config_int(m.cfg, "pop3.max_spare");
	m.pools[POOL_LOCAL].name = "local";
	m.pools[POOL_LOCAL].max = LOCAL_POOL_MAX;
	m.pools[POOL_LOCAL].min_spare = 1;
	m.pools[POOL_LOCAL].max_spare = 1;
	/* the scoreboard is sized once; a reload may lower a maximum, and a
	 * raised one is capped by the first size (logged) */
	if (m.board == NULL) {
		m.pools[POOL_SMTP].nslots = m.pools[POOL_SMTP].max;
		m.pools[POOL_POP3].nslots = m.pools[POOL_POP3].max;
		m.pools[POOL_LOCAL].nslots = LOCAL_POOL_MAX;
		total = (size_t)(m.pools[POOL_SMTP].nslots + m.pools[POOL_POP3].nslots +
		    m.pools[POOL_LOCAL].nslots);
		/* master_announce made it, unless it failed there */
		if (board_map == NULL || board_map->nslots != total)
			board_create(m.cfg, total);
		m.head = board_map;
		m.board_size = board_size(total);
		m.board = board_slots(m.head);
		m.pools[POOL_SMTP].slots = m.board;
		m.pools[POOL_POP3].slots = m.board + m.pools[POOL_SMTP].nslots;
		m.pools[POOL_LOCAL].slots = m.pools[POOL_POP3].slots +
		    m.pools[POOL_POP3].nslots;
	}
	for (i = 0; i < POOL_COUNT; i++) {
		struct pool *p = &m.pools[i];

		if (p->max > p->nslots) {
			log_warn("%s: maximum %d needs a restart; keeping %d",
			    p->name, p->max, p->nslots);
			p->max = p->nslots;
		}
		if (p->min_spare > p->max)
			p->min_spare = p->max;
		if (p->max_spare < p->min_spare)
			p->max_spare = p->min_spare;
		(void)str_copy(m.head->pools[i].name,
		    sizeof(m.head->pools[i].name), p->name);
		m.head->pools[i].first = (int32_t)(p->slots - m.board);
		m.head->pools[i].nslots = p->nslots;
		__atomic_store_n(&m.head->pools[i].max, (int32_t)p->max,
		    __ATOMIC_RELAXED);
	}
}

static int
pool_has_listeners(enum pool_id id)
{
	int i;

	for (i = 0; i < nlisteners; i++)
		if (pool_of(listeners[i].kind) == id)
			return 1;
	return 0;
}

/* pool_count - live workers (all generations) and idle current ones. */
static void
pool_count(struct pool *p, int *alive_r, int *idle_r)
{
	int i, alive = 0, idle = 0;

	for (i = 0; i < p->nslots; i++) {
		if (p->slots[i].pid == 0)
			continue;
		alive++;
		if (__atomic_load_n(&p->slots[i].state, __ATOMIC_SEQ_CST) == SLOT_IDLE &&
		    p->slots[i].gen == m.gen)
			idle++;
	}
	*alive_r = alive;
	*idle_r = idle;
}

/* pools_maintain - spawn and retire workers.  Returns 1 when a pool is
 * still short of idle workers, so the caller polls again soon. */
static int
pools_maintain(void)
{
	int id, i, alive, idle, want, short_of = 0;

	if (m.stopping)
		return 0;
	for (id = 0; id < POOL_COUNT; id++) {
		struct pool *p = &m.pools[id];

		if (!pool_has_listeners((enum pool_id)id))
			continue;
		pool_count(p, &alive, &idle);
		if (idle > p->max_spare) {
			for (i = 0; i < p->nslots && idle > p->max_spare; i++) {
				if (p->slots[i].pid && p->slots[i].state == SLOT_IDLE) {
					kill(p->slots[i].pid, SIGTERM);
					idle--;
				}
			}
			continue;
		}
		if (now_ms() < p->hold_until_ms)
			continue;
		want = p->min_spare - idle;
		if (want < 1 && idle == 0)
			want = 1;
		for (i = 0; i < p->nslots && want > 0 && alive < p->max; i++) {
			if (p->slots[i].pid != 0)
				continue;
			pool_spawn((enum pool_id)id, &p->slots[i]);
			want--;
			alive++;
		}
		if (alive < p->max && idle < p->min_spare)
			short_of = 1;
	}
	return short_of;
}

/* pool_full - at the maximum with no idle worker of the current generation */
static int
pool_full(enum pool_id id)
{
	int alive, idle;

	pool_count(&m.pools[id], &alive, &idle);
	return idle == 0 && alive >= m.pools[id].max;
}

static void
overflow_accept(struct listener *l)
{
	static const char smtp_busy[] =
	    "421 4.7.0 Too many connections, try again later\r\n";
	static const char pop_busy[] =
	    "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd == -1)
		return;
	if (pool_of(l->kind) != POOL_POP3 && l->kind != LK_SMTPS)
		(void)!write(fd, smtp_busy, sizeof(smtp_busy) - 1);
	else if (l->kind == LK_POP3)
		(void)!write(fd, pop_busy, sizeof(pop_busy) - 1);
	/* implicit-TLS listeners: the master does no TLS; the close says it */
	close(fd);
	board_count(BC_REFUSED_FULL);
	log_warn("%s: pool full (%d), connection refused", l->name,
	    m.pools[pool_of(l->kind)].max);
}

/* ---- the single processes ----------------------------------------------- */

/*
 * aux_fork - fork one of the master's single processes (queue manager,
 * metrics, fetch, committer).  In the child: named NAME, logging as ROLE,
 * the master's handlers gone (its signals still blocked: the child
 * unblocks them once its own are set), the listeners closed but the
 * metrics ones when KEEP_METRICS, the group-commit channel closed but its
 * end KEEP_CHAN (or -1), the server user, tied to the master.  Returns
 * the pid (0 in the child), or -1 (logged).
 */
static pid_t
aux_fork(const char *name, const char *role, int keep_metrics, int keep_chan)
{
	pid_t pid, master = getpid();
	int i;

	pid = fork_child();
	if (pid == -1) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid != 0)
		return pid;
	prctl(PR_SET_NAME, name);
	log_role(role);
	child_signals();
	for (i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	for (i = 0; i < nmlisteners && !keep_metrics; i++)
		close(mlisteners[i].fd);
	for (i = 0; i < 2; i++)
		if (m.commit_chan[i] != keep_chan)
			close(m.commit_chan[i]);
	priv_drop(m.uid, m.gid);
	child_tie(master);
	return 0;
}

static void
qmgr_spawn(void)
{
	pid_t pid;

	if (m.stopping || now_ms() < m.qmgr_hold_ms)
		return;
	m.qmgr_started_ms = now_ms();
	m.qmgr_trace[0] = '\0';
	pid = aux_fork("yubind-queue", "queue", 0, -1);
	if (pid == 0)
		qmgr_main(m.cfg, m.routes, m.qmgr_trace, TRACE_MAX);	/* unblocks */
	if (pid > 0)
		m.qmgr_pid = pid;
}

/* metrics_spawn - the process that serves server.metrics_listen (metrics.h):
 * the server user, the scoreboard read-only, restarted like the queue
 * manager when it dies. */
static void
metrics_spawn(void)
{
	int fds[METRICS_LISTEN_FDS], i;
	pid_t pid;

	if (nmlisteners == 0 || m.stopping || now_ms() < m.metrics_hold_ms)
		return;
	m.metrics_started_ms = now_ms();
	pid = aux_fork("yubind-metrics", "metrics", 1, -1);
	if (pid == 0) {
		child_unblock();
		for (i = 0; i < nmlisteners; i++)
			fds[i] = mlisteners[i].fd;
		metrics_main(m.cfg, fds, nmlisteners, m.head, m.board_size,
		    &worker_stop);
	}
	if (pid > 0)
		m.metrics_pid = pid;
}

/* fetch_spawn - the process that fetches remote POP3 mailboxes on their
 * intervals (fetch_run.h), as the server user. */
static void
fetch_spawn(void)
{
	pid_t pid;

	if (m.stopping || now_ms() < m.fetch_hold_ms)
		return;
	m.fetch_started_ms = now_ms();
	pid = aux_fork("yubind-fetch", "fetch", 0, -1);
	if (pid == 0)
		fetch_main(m.cfg);		/* unblocks */
	if (pid > 0)
		m.fetch_pid = pid;
}

/* committer_spawn - the group-commit process (committer.c); it runs
 * until every worker is gone at a stop, so it is started again even while
 * stopping, as long as workers live. */
static void
committer_spawn(void)
{
	pid_t pid;

	if (now_ms() < m.commit_hold_ms)
		return;
	m.commit_started_ms = now_ms();
	pid = aux_fork("yubind-commit", "commit", 0, m.commit_chan[1]);
	if (pid == 0)
		committer_main(m.cfg, m.commit_chan[1]);	/* unblocks */
	if (pid > 0)
		m.commit_pid = pid;
}

/* ---- signals and reaping ------------------------------------------------ */

static void
master_on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(m.sigpipe[1], &c, 1);
	errno = saved;
}

static void
describe_exit(int status, char *out, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(out, size, "exit status %d", WEXITSTATUS(status));
}

static void
backoff(int *failures, long long *hold_ms, long long started_ms, int abnormal)
{
	if (abnormal && now_ms() - started_ms < YOUNG_DEATH_MS) {
		long long delay;

		(*failures)++;
		delay = 100LL << (*failures < 9 ? *failures : 9);
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		if (*failures >= 3)
			*hold_ms = now_ms() + delay;
	} else
		*failures = 0;
}

/*
 * trace_show - a printable copy of a trace in the shared scoreboard, which
 * the worker (the server user, perhaps gone bad) writes: at most
 * TRACE_MAX - 1 bytes even when it left no NUL, and control or non-ASCII
 * bytes shown as '?', so it can neither overrun the slot nor forge a line.
 */
static const char *
trace_show(const char *trace, char out[TRACE_MAX])
{
	size_t i;

	for (i = 0; i < TRACE_MAX - 1 && trace[i] != '\0'; i++)
		out[i] = trace[i] >= 0x20 && trace[i] < 0x7f ? trace[i] : '?';
	out[i] = '\0';
	return out;
}

static void
reap(void)
{
	char how[96], trace[TRACE_MAX];
	pid_t pid;
	int status, id, i, abnormal;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		abnormal = WIFSIGNALED(status) ? WTERMSIG(status) != SIGTERM &&
		    WTERMSIG(status) != SIGINT : WEXITSTATUS(status) != 0;
		describe_exit(status, how, sizeof(how));
		if (pid == m.metrics_pid) {
			m.metrics_pid = 0;
			if (abnormal)
				log_warn("metrics pid %ld %s", (long)pid, how);
			backoff(&m.metrics_failures, &m.metrics_hold_ms,
			    m.metrics_started_ms, abnormal);
			continue;
		}
		if (pid == m.commit_pid) {
			m.commit_pid = 0;
			if (abnormal)
				log_warn("committer pid %ld %s", (long)pid, how);
			backoff(&m.commit_failures, &m.commit_hold_ms,
			    m.commit_started_ms, abnormal);
			continue;
		}
		if (pid == m.qmgr_pid) {
			m.qmgr_pid = 0;
			if (abnormal || !m.stopping)
				log_msg(abnormal ? LOG_LVL_WARN : LOG_LVL_INFO,
				    "queue manager pid %ld %s%s%s", (long)pid, how,
				    abnormal && m.qmgr_trace[0] ? " in " : "",
				    abnormal ? trace_show(m.qmgr_trace, trace) : "");
			backoff(&m.qmgr_failures, &m.qmgr_hold_ms,
			    m.qmgr_started_ms, abnormal);
			continue;
		}
		if (pid == m.fetch_pid) {
			m.fetch_pid = 0;
			if (abnormal)
				log_warn("fetch process pid %ld %s", (long)pid, how);
			backoff(&m.fetch_failures, &m.fetch_hold_ms,
			    m.fetch_started_ms, abnormal);
			continue;
		}
		for (id = 0; id < POOL_COUNT; id++) {
			struct pool *p = &m.pools[id];

			for (i = 0; i < p->nslots; i++) {
				if (p->slots[i].pid != pid)
					continue;
				if (abnormal)
					log_warn("%s worker pid %ld %s%s%s", p->name,
					    (long)pid, how, p->slots[i].trace[0] ?
					    " in " : "", trace_show(p->slots[i].trace,
					    trace));
				backoff(&p->failures, &p->hold_until_ms,
				    p->slots[i].started_ms, abnormal);
				p->slots[i].pid = 0;
				p->slots[i].peer = 0;
				p->slots[i].state = SLOT_FREE;
				p->slots[i].phase = BP_NONE;
				p->slots[i].client[0] = '\0';
			}
		}
	}
}

static void
signal_workers(int sig, int only_old)
{
	int id, i;

	for (id = 0; id < POOL_COUNT; id++)
		for (i = 0; i < m.pools[id].nslots; i++)
			if (m.pools[id].slots[i].pid &&
			    (!only_old || m.pools[id].slots[i].gen != m.gen))
				kill(m.pools[id].slots[i].pid, sig);
}

static int
children_alive(void)
{
	int id, i;

	if (m.qmgr_pid || m.metrics_pid || m.fetch_pid)
		return 1;
	for (id = 0; id < POOL_COUNT; id++)
		for (i = 0; i < m.pools[id].nslots; i++)
			if (m.pools[id].slots[i].pid)
				return 1;
	return 0;
}

static void
master_hostname(void)
{
	const char *h = config_str(m.cfg, "smtp.hostname");

	if (*h)
		snprintf(m.hostname, sizeof(m.hostname), "%s", h);
	else if (gethostname(m.hostname, sizeof(m.hostname)) == -1)
		snprintf(m.hostname, sizeof(m.hostname), "localhost");
	m.hostname[sizeof(m.hostname) - 1] = '\0';
}

static void
master_reload(void)
{
	struct errlist errs;
	struct config *cfg;
	struct routes *routes = NULL;
	SSL_CTX *tls = NULL, *nctx = NULL;
	char *why = NULL;
	unsigned kinds;
	size_t i;

	errlist_init(&errs);
	if (config_load(&cfg, m.opts->cfg_path, m.opts->defs, m.opts->ndefs,
	    &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			log_err("reload: %s", errs.msg[i]);
		log_err("reload failed; keeping the running configuration");
		errlist_free(&errs);
		return;
	}
	errlist_free(&errs);
	if (tls_server_ctx(cfg, &tls, &why) == -1 ||
	    tls_node_ctx(cfg, &nctx, &why) == -1) {
		SSL_CTX_free(tls);
		log_err("reload: %s; keeping the running configuration", why);
		free(why);
		config_free(&cfg);
		return;
	}
	SSL_CTX_free(nctx);
	errlist_init(&errs);
	if (route_load(cfg, &routes, &errs) == -1 ||
	    plugins_load(cfg, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			log_err("reload: %s", errs.msg[i]);
		log_err("reload failed; keeping the running configuration");
		errlist_free(&errs);
		route_free(&routes);
		if (tls)
			SSL_CTX_free(tls);
		config_free(&cfg);
		return;
	}
	errlist_free(&errs);
	route_free(&m.routes);
	m.routes = routes;
	if (m.tls)
		SSL_CTX_free(m.tls);
	m.tls = tls;
	/* listeners are bound once, as root: a new address needs a restart */
	if (strcmp(config_str(m.cfg, "server.metrics_listen"),
	    config_str(cfg, "server.metrics_listen")) != 0)
		log_warn("reload: server.metrics_listen changes at the next "
		    "restart; serving %s still", nmlisteners ? mlisteners[0].addr :
		    "nothing");
	config_free(&m.cfg);
	m.cfg = cfg;
	if (log_kinds_parse(config_list(cfg, "server.log_kinds")->v,
	    config_list(cfg, "server.log_kinds")->n, &kinds) == 0)
		log_set_kinds(kinds);
	master_hostname();
	pools_setup();
	m.gen++;
	plugins_write_run(m.cfg);
	signal_workers(SIGTERM, 1);
	if (m.qmgr_pid)
		kill(m.qmgr_pid, SIGTERM);	/* restarted with the new config */
	if (m.fetch_pid)
		kill(m.fetch_pid, SIGTERM);
	log_info("reloaded configuration, generation %u", m.gen);
	if (config_bool(m.cfg, "smtp.relay"))
		log_warn("smtp.relay = 1: this server is an open relay");
}

int
master_run(struct config *cfg, const struct master_opts *opts)
{
	struct pollfd pfd[1 + LISTEN_MAX];
	struct listener *pl[1 + LISTEN_MAX];
	struct sigaction sa;
	sigset_t held;
	unsigned char sigs[32];
	SSL_CTX *nctx = NULL;
	char *why = NULL;
	ssize_t ns;
	int i, n, np, busy;

	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.opts = opts;
	if (priv_lookup(cfg, &m.uid, &m.gid, &why) == -1) {
		log_err("%s", why);
		free(why);
		return 1;
	}
	if (tls_server_ctx(cfg, &m.tls, &why) == -1 ||
	    tls_node_ctx(cfg, &nctx, &why) == -1) {
		log_err("%s", why);
		free(why);
		return 1;
	}
	SSL_CTX_free(nctx);	/* loaded where it is used: checked here */
	/* gateway.dat may hold passwords and be root's alone (0600): read
	 * here, the queue manager inherits the table */
	{
		struct errlist errs;
		size_t k;

		errlist_init(&errs);
		if (route_load(cfg, &m.routes, &errs) == -1) {
			for (k = 0; k < errs.n; k++)
				log_err("%s", errs.msg[k]);
			errlist_free(&errs);
			return 1;
		}
		errlist_free(&errs);
	}
	log_set_owner(m.uid, m.gid);
	master_hostname();
	if (pipe2(m.sigpipe, O_CLOEXEC | O_NONBLOCK) == -1)
		log_fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* yubind.c held these while the listeners came up; any that came
	 * meanwhile is delivered now, to the handlers above */
	sigemptyset(&held);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &held, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    m.commit_chan) == -1)
		log_fatal("socketpair: %s", strerror(errno));
	if (auth_shared_setup() == -1)
		log_warn("no shared login cache: each worker keeps its own");
	pools_setup();
	m.qmgr_trace = mmap(NULL, TRACE_MAX, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m.qmgr_trace == MAP_FAILED)
		log_fatal("mmap: %s", strerror(errno));
	m.qmgr_trace[0] = '\0';
	log_info("started: smtp max %d, pop3 max %d", m.pools[POOL_SMTP].max,
	    m.pools[POOL_POP3].max);
	if (config_bool(cfg, "smtp.relay"))
		log_warn("smtp.relay = 1: this server is an open relay");
	for (;;) {
		if (!m.qmgr_pid && !m.stopping)
			qmgr_spawn();
		if (!m.metrics_pid && !m.stopping)
			metrics_spawn();
		board_day();
		if (!m.fetch_pid && !m.stopping)
			fetch_spawn();
		if (!m.commit_pid && (!m.stopping || children_alive()))
			committer_spawn();
		busy = pools_maintain();
		if (m.stopping && !children_alive()) {
			/* the committer goes last: no worker is left to ask */
			if (!m.commit_pid)
				break;
			kill(m.commit_pid, SIGTERM);
		}
		if (m.stopping && now_ms() > m.stop_deadline_ms) {
			log_warn("stop: time_out_of_stop passed, killing sessions");
			signal_workers(SIGKILL, 0);
			if (m.qmgr_pid)
				kill(m.qmgr_pid, SIGKILL);
			if (m.metrics_pid)
				kill(m.metrics_pid, SIGKILL);
			if (m.fetch_pid)
				kill(m.fetch_pid, SIGKILL);
			if (m.commit_pid && !children_alive())
				kill(m.commit_pid, SIGKILL);
			m.stop_deadline_ms = now_ms() + 60000;
		}
		np = 0;
		pfd[np].fd = m.sigpipe[0];
		pfd[np].events = POLLIN;
		pl[np++] = NULL;
		for (i = 0; i < nlisteners && !m.stopping; i++) {
			if (!pool_full(pool_of(listeners[i].kind)))
				continue;
			pfd[np].fd = listeners[i].fd;
			pfd[np].events = POLLIN;
			pl[np++] = &listeners[i];
		}
		/* a pool short of idle workers or at its maximum is watched
		 * closely; otherwise SIGCHLD and the 200 ms tick suffice */
		n = poll(pfd, (nfds_t)np, busy ? 5 : np > 1 ? 20 : 200);
		if (n < 0 && errno != EINTR)
			log_fatal("poll: %s", strerror(errno));
		for (i = 1; i < np && n > 0; i++)
			if (pfd[i].revents & POLLIN)
				overflow_accept(pl[i]);
		while ((ns = read(m.sigpipe[0], sigs, sizeof(sigs))) > 0) {
			for (i = 0; i < ns; i++) {
				switch (sigs[i]) {
				case SIGCHLD:
					break;
				case SIGHUP:
					if (!m.stopping)
						master_reload();
					break;
				case SIGUSR1:
					/* children reopen too (child_on_usr1),
					 * busy ones included, and live on */
					log_reopen();
					signal_workers(SIGUSR1, 0);
					if (m.qmgr_pid)
						kill(m.qmgr_pid, SIGUSR1);
					if (m.metrics_pid)
						kill(m.metrics_pid, SIGUSR1);
					if (m.fetch_pid)
						kill(m.fetch_pid, SIGUSR1);
					if (m.commit_pid)
						kill(m.commit_pid, SIGUSR1);
					log_info("log reopened");
					break;
				case SIGTERM:
					if (m.stopping)
						break;
					log_info("stopping (graceful)");
					m.stopping = 1;
					m.stop_deadline_ms = now_ms() + 1000 *
					    config_int(m.cfg, "server.time_out_of_stop");
					signal_workers(SIGTERM, 0);
					if (m.qmgr_pid)
						kill(m.qmgr_pid, SIGTERM);
					if (m.metrics_pid)
						kill(m.metrics_pid, SIGTERM);
					if (m.fetch_pid)
						kill(m.fetch_pid, SIGTERM);
					break;
				case SIGINT:
					log_info("stopping (fast)");
					m.stopping = 2;
					m.stop_deadline_ms = now_ms() + 1000 *
					    config_int(m.cfg, "server.time_out_of_stop");
					signal_workers(SIGKILL, 0);
					if (m.qmgr_pid)
						kill(m.qmgr_pid, SIGTERM);
					if (m.metrics_pid)
						kill(m.metrics_pid, SIGTERM);
					if (m.fetch_pid)
						kill(m.fetch_pid, SIGKILL);
					break;
				}
			}
		}
		reap();
	}
	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].kind == LK_LOCAL) {
			int dfd = paths_run_dir(m.cfg);

			if (dfd != -1) {
				(void)unlinkat(dfd, "submit.sock", 0);
				close(dfd);
			}
		}
		close(listeners[i].fd);
	}
	for (i = 0; i < nmlisteners; i++)
		close(mlisteners[i].fd);
	{
		int dfd = paths_run_dir(m.cfg);

		if (dfd != -1) {
			(void)unlinkat(dfd, BOARD_NAME, 0);
			close(dfd);
		}
	}
	if (m.tls)
		SSL_CTX_free(m.tls);
	board_map = NULL;
	munmap(m.head, m.board_size);
	close(m.commit_chan[0]);
	close(m.commit_chan[1]);
	munmap(m.qmgr_trace, TRACE_MAX);
	plugins_unload();
	log_info("stopped");
	route_free(&m.routes);
	config_free(&m.cfg);
	return 0;
}
