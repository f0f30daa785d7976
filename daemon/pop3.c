/*
 * pop3.c - the POP3 engine: one session on one connection (RFC 1939, CAPA
 * and response codes of RFC 2449, STLS of RFC 2595, AUTH PLAIN of RFC 5034,
 * APOP).
 *
 * AUTHORIZATION takes USER/PASS, APOP, AUTH PLAIN, STLS, CAPA and QUIT.  A
 * login locks the mailbox (flock on HOME/mailbox/NAME/.pop3.lock; a second
 * session gets -ERR [IN-USE]), records the login for POP before SMTP and
 * lists the Maildir by file names only.  TRANSACTION serves messages
 * streamed in chunks with CRLF line ends and dot-stuffing whatever is on
 * disk; DELE only marks.  QUIT applies the deletions (unlink, or a move into
 * the dustbox), fsyncs the directories and only then answers +OK
 * (DESIGN.md §4); any other end of the session deletes nothing.
 *
 * Never: say whether an account exists (same answer and delay for a wrong
 * password and an unknown name); accept a clear-text password without TLS
 * from a non-loopback client unless pop3.auth_plaintext allows it; keep a
 * whole message in memory; read more than POP3_LINE_MAX bytes of a command;
 * log a password or unescaped client bytes.
 *
 * Privilege: a POP3 worker, as server.user after priv_drop(); touches only
 * the mailbox and dustbox folders and the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "account.h"
#include "auth.h"
#include "authpen.h"
#include "board.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "maildir.h"
#include "paths.h"
#include "node.h"
#include "plugin.h"
#include "pop3proxy.h"
#include "session.h"
#include "usage.h"
#include "util.h"

/*
 * RFC 2449 §4 caps a command at 255 octets, but PASS carries passwords up to
 * ACCOUNT_PASSWORD_MAX (F014: long passwords welcome) and AUTH PLAIN their
 * base64 with authzid and authcid (4/3 of about 1,700 bytes).
 */
#define POP3_LINE_MAX		3072
#define POP3_LOGIN_MAX		(ACCOUNT_NAME_MAX + 1 + 255)	/* name@domain */
#define POP3_MAX_MESSAGES	100000	/* listed per session; 10x the largest mailbox we test */
#define POP3_ERRORS_MAX		10	/* -ERR answers before we hang up on a confused client */
#define POP3_ARGS_MAX		4	/* XNODE node key account (3) and the verb */
#define POP3_CHUNK		65536	/* message bytes read per read(); output is at most twice that */
#define POP3_STAMP_MAX		(64 + 256)	/* <pid.random.time@hostname> */
#define POP3_LOCK_FILE		".pop3.lock"
#define POP3_BYE_MS		5000	/* for the -ERR after a timeout */
#define POP3_DIR_MODE		0700
#define POP3_FILE_MODE		0600

enum pop3_state {
	POP3_AUTHORIZATION = 1,
	POP3_TRANSACTION = 2,
};

struct pop3 {
	const struct session_env *env;
	const struct config *cfg;
	struct conn	 c;
	enum pop3_state	 state;
	char		 stamp[POP3_STAMP_MAX];	/* APOP timestamp of the greeting */
	char		 user[POP3_LOGIN_MAX + 1];	/* USER argument, "" none */
	char		 name[ACCOUNT_NAME_MAX + 1];	/* account once logged in */
	char		*maildir;	/* owned: HOME/mailbox/NAME/Maildir */
	int		 lockfd;	/* holds the mailbox lock; -1 none */
	struct maildir_list ml;
	size_t		 nlive;		/* messages not marked deleted */
	long long	 live_size;
	unsigned	 nerrors;	/* -ERR answers so far */
	unsigned	 nfailures;	/* failed logins so far */
	unsigned	 nretr, ndele;
	char		*in;		/* owned: POP3_CHUNK bytes of message */
	char		*out;		/* owned: its CRLF, dot-stuffed form */
	int		 done;		/* end the session after this reply */
	int		 proxied;	/* carried on to the home node */
};

struct pop3_cmd {
	const char	*verb;
	unsigned	 states;	/* mask of enum pop3_state */
	int		 min_args, max_args;	/* -1 max: the raw rest of the line */
	void		(*fn)(struct pop3 *, int argc, char **argv);
};

static void	pop3_user(struct pop3 *, int, char **);
static void	pop3_pass(struct pop3 *, int, char **);
static void	pop3_apop(struct pop3 *, int, char **);
static void	pop3_auth(struct pop3 *, int, char **);
static void	pop3_stls(struct pop3 *, int, char **);
static void	pop3_capa(struct pop3 *, int, char **);
static void	pop3_quit(struct pop3 *, int, char **);
static void	pop3_stat(struct pop3 *, int, char **);
static void	pop3_list(struct pop3 *, int, char **);
static void	pop3_uidl(struct pop3 *, int, char **);
static void	pop3_retr(struct pop3 *, int, char **);
static void	pop3_top(struct pop3 *, int, char **);
static void	pop3_dele(struct pop3 *, int, char **);
static void	pop3_rset(struct pop3 *, int, char **);
static void	pop3_noop(struct pop3 *, int, char **);
static void	pop3_xnode(struct pop3 *, int, char **);

#define S_AUTH	POP3_AUTHORIZATION
#define S_TRANS	POP3_TRANSACTION

static const struct pop3_cmd pop3_cmds[] = {
	{ "USER", S_AUTH,		1, 1,	pop3_user },
	{ "PASS", S_AUTH,		1, -1,	pop3_pass },
	{ "APOP", S_AUTH,		2, 2,	pop3_apop },
	{ "AUTH", S_AUTH,		0, 2,	pop3_auth },
	{ "STLS", S_AUTH,		0, 0,	pop3_stls },
	{ "CAPA", S_AUTH | S_TRANS,	0, 0,	pop3_capa },
	{ "QUIT", S_AUTH | S_TRANS,	0, 0,	pop3_quit },
	{ "STAT", S_TRANS,		0, 0,	pop3_stat },
	{ "LIST", S_TRANS,		0, 1,	pop3_list },
	{ "UIDL", S_TRANS,		0, 1,	pop3_uidl },
	{ "RETR", S_TRANS,		1, 1,	pop3_retr },
	{ "TOP", S_TRANS,		2, 2,	pop3_top },
	{ "DELE", S_TRANS,		1, 1,	pop3_dele },
	{ "RSET", S_TRANS,		0, 0,	pop3_rset },
	{ "NOOP", S_TRANS,		0, 0,	pop3_noop },
	{ "XNODE", S_AUTH,		3, 3,	pop3_xnode },	/* node.h */
};

/* pop3_buffered - the client has already sent more (pipelining): hold our
 * replies until it has been served. */
static int
pop3_buffered(const struct conn *c)
{
	return c->in.len > c->in_off || (c->ssl != NULL && SSL_pending(c->ssl) > 0);
}

static void
pop3_sleep_ms(long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* pop3_err - answer -ERR TEXT and count it; past POP3_ERRORS_MAX the
 * session ends. */
static void
pop3_err(struct pop3 *p, const char *text)
{
	(void)conn_printf(&p->c, "-ERR %s\r\n", text);
	if (++p->nerrors >= POP3_ERRORS_MAX) {
		log_info("pop3 too many errors client=%s user=%s errors=%u sid=%06lx",
		    p->c.peer_ip, p->name[0] ? p->name : "-", p->nerrors,
		    p->env->sid);
		(void)conn_printf(&p->c, "-ERR too many errors, closing\r\n");
		p->done = 1;
	}
}

/* pop3_plaintext_ok - a clear-text password may be sent on this connection. */
static int
pop3_plaintext_ok(const struct pop3 *p)
{
	return p->c.ssl != NULL || p->c.peer_loopback ||
	    config_bool(p->cfg, "pop3.auth_plaintext");
}

/* pop3_auth_failed - a login was refused: log, wait the login penalty
 * (authpen.c; TAG the wrong secret's tag, NULL none) or
 * smtp.auth_fail_delay, the longer, answer; past smtp.auth_max_failures
 * the session ends. */
static void
pop3_auth_failed(struct pop3 *p, const char *method, const char *login,
    const unsigned char *tag)
{
	char esc[128];
	long long maxf, pen, delay;

	log_info("pop3 auth failed login=%s client=%s method=%s sid=%06lx",
	    str_escape(esc, sizeof(esc), login, strlen(login)), p->c.peer_ip,
	    method, p->env->sid);
	p->user[0] = '\0';
	p->nfailures++;
	pen = authpen_login_failed(p->cfg, p->env->store, p->c.peer_ip, login,
	    tag);
	delay = config_int(p->cfg, "smtp.auth_fail_delay");
	authpen_sleep(pen > delay ? pen : delay);
	maxf = config_int(p->cfg, "smtp.auth_max_failures");
	if (maxf > 0 && p->nfailures >= (unsigned long long)maxf) {
		(void)conn_printf(&p->c,
		    "-ERR [AUTH] invalid login, too many failures\r\n");
		log_info("pop3 too many auth failures client=%s failures=%u "
		    "sid=%06lx", p->c.peer_ip, p->nfailures, p->env->sid);
		p->done = 1;
		return;
	}
	(void)conn_printf(&p->c, "-ERR [AUTH] invalid login\r\n");
}

/* pop3_count - recompute the live message count and size. */
static void
pop3_count(struct pop3 *p)
{
	size_t i;

	p->nlive = 0;
	p->live_size = 0;
	for (i = 0; i < p->ml.n; i++) {
		if (p->ml.msg[i].deleted)
			continue;
		p->nlive++;
		p->live_size += p->ml.msg[i].size;
	}
}

/*
 * pop3_login - credentials were right for account NAME: lock its mailbox,
 * record the login, list the Maildir, enter TRANSACTION.  Answers the client
 * either way.
 */
static void
pop3_login(struct pop3 *p, const char *name, const char *method)
{
	char *accdir, *lockpath;
	int fd = -1;

	accdir = paths_account_dir(p->cfg, name);
	free(p->maildir);
	p->maildir = xasprintf("%s/Maildir", accdir);
	lockpath = xasprintf("%s/%s", accdir, POP3_LOCK_FILE);
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    POP3_FILE_MODE);
	if (fd == -1 && errno == ENOENT && maildir_create(p->maildir) == 0)
		fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    POP3_FILE_MODE);
	if (fd == -1) {
		log_err("pop3 cannot open lock user=%s path=%s error=%s sid=%06lx",
		    name, lockpath, strerror(errno), p->env->sid);
		(void)conn_printf(&p->c, "-ERR [SYS/TEMP] cannot open mailbox\r\n");
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			log_info("pop3 mailbox in use user=%s client=%s sid=%06lx",
			    name, p->c.peer_ip, p->env->sid);
			(void)conn_printf(&p->c, "-ERR [IN-USE] mailbox in use\r\n");
		} else {
			log_err("pop3 cannot lock user=%s error=%s sid=%06lx",
			    name, strerror(errno), p->env->sid);
			(void)conn_printf(&p->c,
			    "-ERR [SYS/TEMP] cannot lock mailbox\r\n");
		}
		goto out;
	}
	if (auth_record_login(p->cfg, p->env->store, name, p->c.peer_ip) == -1)
		log_err("pop3 cannot record login user=%s client=%s sid=%06lx",
		    name, p->c.peer_ip, p->env->sid);
	if (plugins_any(HP_POP_AUTH)) {
		struct yh_pop yp = { name, p->c.peer_ip };

		plugin_pop_auth(&yp);
	}
	if (maildir_scan(p->maildir, POP3_MAX_MESSAGES, &p->ml) == -1 &&
	    (errno != ENOENT || maildir_create(p->maildir) == -1 ||
	    maildir_scan(p->maildir, POP3_MAX_MESSAGES, &p->ml) == -1)) {
		log_err("pop3 cannot list mailbox user=%s path=%s error=%s "
		    "sid=%06lx", name, p->maildir, strerror(errno), p->env->sid);
		(void)conn_printf(&p->c, "-ERR [SYS/TEMP] cannot open mailbox\r\n");
		goto out;
	}
	/* account names are validated, so NAME is safe to log as it is */
	str_copy(p->name, sizeof(p->name), name);
	p->lockfd = fd;
	fd = -1;
	p->state = POP3_TRANSACTION;
	p->user[0] = '\0';
	pop3_count(p);
	log_info("pop3 login user=%s client=%s method=%s%s msgs=%zu size=%lld%s%s "
	    "sid=%06lx", name, p->c.peer_ip, method,
	    auth_last_cached() ? " cache=hit" : "", p->nlive, p->live_size,
	    p->c.ssl ? " tls=" : "", p->c.ssl ? conn_tls_info(&p->c) : "",
	    p->env->sid);
	(void)conn_printf(&p->c, "+OK maildrop has %zu messages (%lld octets)\r\n",
	    p->nlive, p->live_size);
out:
	if (fd != -1)
		close(fd);
	free(lockpath);
	free(accdir);
}

/* pop3_hours - 1 when account NAME may log in now (usage_hours, F124);
 * else 0, answered: the client proved who it is and learns the hours. */
static int
pop3_hours(struct pop3 *p, const char *name)
{
	struct config *acfg = auth_account_cfg(p->cfg, name);
	char why[256], text[300];
	int ok;

	ok = auth_hours_allow(acfg ? acfg : p->cfg, time_now(), why,
	    sizeof(why));
	config_free(&acfg);
	if (ok)
		return 1;
	log_info("pop3 login refused user=%s client=%s: outside usage hours "
	    "sid=%06lx", name, p->c.peer_ip, p->env->sid);
	snprintf(text, sizeof(text), "[AUTH] login not permitted at this "
	    "time: %s", why);
	pop3_err(p, text);
	return 0;
}

/*
 * pop3_elsewhere - 1 when account NAME is homed on another node (node.h):
 * the session was carried on there (pop3proxy.h) and ends, or the client
 * was told to come back.  0: the mailbox is here.
 */
static int
pop3_elsewhere(struct pop3 *p, const char *name)
{
	char home[NODE_NAME_MAX + 1];
	struct node_rec n;
	int r;

	if (*config_str(p->cfg, "server.state") == '\0')
		return 0;
	r = node_home_elsewhere(p->env->store, node_self(p->cfg), name, home);
	if (r == 0)
		return 0;
	if (r == 1 && (r = node_get(p->env->store, home, &n)) == 0)
		log_err("pop3 user=%s homed on node %s, which is not registered "
		    "sid=%06lx", name, home, p->env->sid);
	if (r != 1) {
		(void)conn_printf(&p->c,
		    "-ERR [SYS/TEMP] mailbox not reachable now\r\n");
		return 1;
	}
	p->user[0] = '\0';
	r = pop3proxy_run(&p->c, p->cfg, p->env->store, name, &n, p->env->sid);
	if (r != 0) {
		str_copy(p->name, sizeof(p->name), name);
		p->proxied = 1;
		p->done = 1;
	}
	return 1;
}

/*
 * pop3_xnode - "XNODE NODE KEY ACCOUNT": a peer node whose client logged
 * in there, for a mailbox homed here (pop3proxy.h).  Not offered in CAPA;
 * without [server] state it does not exist.  A wrong node or key counts
 * as a failed login, as a wrong password does.
 */
static void
pop3_xnode(struct pop3 *p, int argc, char **argv)
{
	char home[NODE_NAME_MAX + 1];
	struct node_rec n;
	struct account a;
	int r;

	(void)argc;
	if (*config_str(p->cfg, "server.state") == '\0') {
		pop3_err(p, "unknown command");
		return;
	}
	r = node_name_valid(argv[1]) ? node_get(p->env->store, argv[1], &n) : 0;
	if (r == 1)
		r = node_key_ok(p->env->store, argv[2]);
	OPENSSL_cleanse(argv[2], strlen(argv[2]));
	if (r == 0) {
		pop3_auth_failed(p, "xnode", argv[1], NULL);
		return;
	}
	memset(&a, 0, sizeof(a));
	if (r == 1 && account_name_valid(argv[3], NULL))
		r = account_get(p->env->store, argv[3], &a);
	else if (r == 1)
		r = 0;
	explicit_bzero(&a, sizeof(a));
	if (r == 0) {
		pop3_err(p, "[AUTH] no such mailbox");
		return;
	}
	if (r == 1)
		r = node_home_elsewhere(p->env->store, node_self(p->cfg), argv[3],
		    home);
	if (r == -1) {
		(void)conn_printf(&p->c,
		    "-ERR [SYS/TEMP] authentication temporarily unavailable\r\n");
		return;
	}
	if (r == 1) {
		/* moved since the peer looked: one hop only */
		(void)conn_printf(&p->c, "-ERR [SYS/TEMP] mailbox homed on node "
		    "%s\r\n", home);
		return;
	}
	log_info("pop3 node login node=%s user=%s client=%s sid=%06lx", argv[1],
	    argv[3], p->c.peer_ip, p->env->sid);
	pop3_login(p, argv[3], "xnode");
}

/* pop3_check_result - act on the result R of a credential check; TAG is
 * the penalty tag of a wrong secret (NULL: none). */
static void
pop3_check_result(struct pop3 *p, int r, const struct account *a,
    const char *method, const char *login, const unsigned char *tag)
{
	if (r == 1) {
		/* the address's login penalty, never the account's */
		authpen_sleep(authpen_login_ok(p->cfg, p->env->store,
		    p->c.peer_ip, a->name));
		if (pop3_hours(p, a->name) && !pop3_elsewhere(p, a->name))
			pop3_login(p, a->name, method);
	} else if (r == 0)
		pop3_auth_failed(p, method, login, tag);
	else {
		log_err("pop3 credential check failed client=%s sid=%06lx",
		    p->c.peer_ip, p->env->sid);
		(void)conn_printf(&p->c,
		    "-ERR [SYS/TEMP] authentication temporarily unavailable\r\n");
	}
}

static void
pop3_user(struct pop3 *p, int argc, char **argv)
{
	(void)argc;
	if (!pop3_plaintext_ok(p)) {
		pop3_err(p, "[AUTH] plaintext login requires TLS (use STLS)");
		return;
	}
	if (str_copy(p->user, sizeof(p->user), argv[1]) == -1) {
		pop3_err(p, "[AUTH] invalid login");
		return;
	}
	(void)conn_printf(&p->c, "+OK send PASS\r\n");
}

static void
pop3_pass(struct pop3 *p, int argc, char **argv)
{
	struct account *a;
	char login[POP3_LOGIN_MAX + 1];
	unsigned char tag[AUTHPEN_TAG_LEN];
	int r, tagged = 0;

	(void)argc;
	if (!pop3_plaintext_ok(p)) {
		pop3_err(p, "[AUTH] plaintext login requires TLS (use STLS)");
		return;
	}
	if (p->user[0] == '\0') {
		pop3_err(p, "USER first");
		return;
	}
	memcpy(login, p->user, sizeof(login));
	a = xcalloc(1, sizeof(*a));
	r = auth_password(p->cfg, p->env->store, login, argv[1], a);
	if (r == 0)
		tagged = authpen_tag(p->env->store, login, argv[1],
		    strlen(argv[1]), tag) == 0;
	OPENSSL_cleanse(argv[1], strlen(argv[1]));
	pop3_check_result(p, r, a, "user", login, tagged ? tag : NULL);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	p->user[0] = '\0';
}

static void
pop3_apop(struct pop3 *p, int argc, char **argv)
{
	struct account *a;
	int r;

	(void)argc;
	a = xcalloc(1, sizeof(*a));
	r = auth_apop(p->cfg, p->env->store, argv[1], p->stamp, argv[2], a);
	/* a digest over this greeting's stamp: never a repeat */
	pop3_check_result(p, r, a, "apop", argv[1], NULL);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* pop3_auth_plain - check an RFC 4616 response in B64 (len LEN). */
static void
pop3_auth_plain(struct pop3 *p, const char *b64, size_t len)
{
	char name[ACCOUNT_NAME_MAX + 1], zname[ACCOUNT_NAME_MAX + 1];
	char *authz, *authc, *pass;
	unsigned char tag[AUTHPEN_TAG_LEN];
	struct account *a;
	struct buf raw;
	int r = 0, tagged = 0;

	buf_init(&raw, POP3_LINE_MAX);
	a = xcalloc(1, sizeof(*a));
	if (len == 1 && b64[0] == '=')
		len = 0;	/* RFC 5034: "=" is an empty response */
	if (b64_decode(b64, len, &raw) == -1 || raw.data == NULL ||
	    auth_plain_decode(raw.data, raw.len, &authz, &authc, &pass) == -1) {
		pop3_auth_failed(p, "plain", "(malformed)", NULL);
		goto out;
	}
	/* an authorization identity must be the account itself */
	if (authz[0] != '\0' && (!auth_account_name(p->cfg, authz, zname) ||
	    !auth_account_name(p->cfg, authc, name) || strcmp(zname, name) != 0))
		r = 0;
	else
		r = auth_password(p->cfg, p->env->store, authc, pass, a);
	if (r == 0)
		tagged = authpen_tag(p->env->store, authc, pass, strlen(pass),
		    tag) == 0;
	pop3_check_result(p, r, a, "plain", authc, tagged ? tag : NULL);
out:
	if (raw.data)
		OPENSSL_cleanse(raw.data, raw.cap);
	buf_free(&raw);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

static void
pop3_auth(struct pop3 *p, int argc, char **argv)
{
	char *line;
	size_t len;
	int r, term;

	if (argc == 1) {
		/* the pre-RFC 5034 mechanism listing some clients ask for */
		(void)conn_printf(&p->c, "+OK\r\n%s.\r\n",
		    pop3_plaintext_ok(p) ? "PLAIN\r\n" : "");
		return;
	}
	if (strcasecmp(argv[1], "PLAIN") != 0) {
		pop3_err(p, "unsupported authentication mechanism");
		return;
	}
	if (!pop3_plaintext_ok(p)) {
		pop3_err(p, "[AUTH] plaintext authentication requires TLS (use STLS)");
		return;
	}
	if (argc == 3) {
		pop3_auth_plain(p, argv[2], strlen(argv[2]));
		OPENSSL_cleanse(argv[2], strlen(argv[2]));
		return;
	}
	(void)conn_printf(&p->c, "+ \r\n");
	if (conn_flush(&p->c) == -1) {
		p->done = 1;
		return;
	}
	r = conn_getline(&p->c, POP3_LINE_MAX, &line, &len, &term);
	if (r == CONN_TOOLONG) {
		pop3_err(p, "line too long");
		return;
	}
	if (r != CONN_LINE) {
		p->done = 1;
		return;
	}
	if (len == 1 && line[0] == '*') {
		pop3_err(p, "authentication cancelled");
		return;
	}
	pop3_auth_plain(p, line, len);
	OPENSSL_cleanse(line, len);
}

static void
pop3_stls(struct pop3 *p, int argc, char **argv)
{
	const char *why;

	(void)argc;
	(void)argv;
	if (p->env->tls == NULL || p->c.ssl != NULL) {
		pop3_err(p, "STLS not available");
		return;
	}
	(void)conn_printf(&p->c, "+OK Begin TLS negotiation\r\n");
	if (conn_flush(&p->c) == -1) {
		p->done = 1;
		return;
	}
	/* anything pipelined after STLS was sent in clear: never act on it */
	conn_discard_input(&p->c);
	if (conn_tls_accept(&p->c, p->env->tls, &why) == -1) {
		log_info("pop3 stls failed client=%s reason=\"%s\" sid=%06lx",
		    p->c.peer_ip, why, p->env->sid);
		p->done = 1;
		return;
	}
	OPENSSL_cleanse(p->user, sizeof(p->user));
	log_debug("pop3 stls client=%s tls=\"%s\" sid=%06lx", p->c.peer_ip,
	    conn_tls_info(&p->c), p->env->sid);
}

static void
pop3_capa(struct pop3 *p, int argc, char **argv)
{
	int authz = p->state == POP3_AUTHORIZATION;

	(void)argc;
	(void)argv;
	(void)conn_printf(&p->c, "+OK capability list follows\r\n"
	    "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (authz && pop3_plaintext_ok(p))
		(void)conn_printf(&p->c, "USER\r\nSASL PLAIN\r\n");
	if (authz && p->env->tls != NULL && p->c.ssl == NULL)
		(void)conn_printf(&p->c, "STLS\r\n");
	(void)conn_printf(&p->c, "IMPLEMENTATION yubin\r\n.\r\n");
}

/* pop3_copy_file - SRC into new file DST, fsync'ed (dustbox on another file
 * system).  0 or -1. */
static int
pop3_copy_file(struct pop3 *p, const char *src, const char *dst)
{
	ssize_t n;
	int in, out, r = 0;

	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    POP3_FILE_MODE);
	if (out == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, p->in, POP3_CHUNK)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write_all(out, p->in, (size_t)n) == -1) {
			r = -1;
			break;
		}
	}
	if (r == 0 && fsync(out) == -1)
		r = -1;
	if (close(out) == -1)
		r = -1;
	close(in);
	if (r == -1)
		(void)unlink(dst);
	return r;
}

/*
 * pop3_update - the UPDATE state: remove (or move to the dustbox) every
 * message marked deleted, then fsync the directories.  Returns the number of
 * messages that could not be removed, or (unsigned)-1 when the directories
 * could not be synced.
 */
static unsigned
pop3_update(struct pop3 *p)
{
	char src[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX];
	char *dustroot = NULL, *dust = NULL;
	int synced_new = 0, synced_cur = 0, moved = 0;
	long long gone = 0, gone_bytes = 0;
	unsigned failed = 0;
	const char *base;
	size_t i;
	int r;

	if (config_bool(p->cfg, "pop3.dustbox")) {
		dustroot = paths_dustbox_root(p->cfg);
		dust = xasprintf("%s/%s", dustroot, p->name);
		if (mkdir_p(dust, POP3_DIR_MODE) == -1) {
			log_err("pop3 cannot create dustbox path=%s error=%s "
			    "sid=%06lx", dust, strerror(errno), p->env->sid);
			free(dustroot);
			free(dust);
			return p->ndele;
		}
	}
	for (i = 0; i < p->ml.n; i++) {
		const struct maildir_msg *m = &p->ml.msg[i];

		if (!m->deleted)
			continue;
		if ((size_t)snprintf(src, sizeof(src), "%s/%s", p->maildir,
		    m->name) >= sizeof(src)) {
			failed++;
			continue;
		}
		base = strchr(m->name, '/') + 1;
		if (dust) {
			if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dust,
			    base) >= sizeof(dst)) {
				failed++;
				continue;
			}
			r = rename(src, dst);
			if (r == -1 && errno == EXDEV &&
			    (r = pop3_copy_file(p, src, dst)) == 0)
				r = unlink(src);
			moved |= r == 0;
		} else
			r = unlink(src);
		if (r == -1 && errno == ENOENT) {
			/* removed meanwhile (yubinctl mailbox remove), which
			 * counted it: gone, and not counted twice */
			log_info("pop3 already removed user=%s file=%s "
			    "sid=%06lx", p->name, m->name, p->env->sid);
			continue;
		}
		if (r == -1) {
			log_err("pop3 cannot remove user=%s file=%s error=%s "
			    "sid=%06lx", p->name, m->name, strerror(errno),
			    p->env->sid);
			failed++;
			continue;
		}
		if (m->name[0] == 'n')
			synced_new = 1;
		else
			synced_cur = 1;
		gone++;
		gone_bytes += m->size;
	}
	r = 0;
	if (synced_new) {
		snprintf(dir, sizeof(dir), "%s/new", p->maildir);
		r |= fsync_dir(dir);
	}
	if (synced_cur) {
		snprintf(dir, sizeof(dir), "%s/cur", p->maildir);
		r |= fsync_dir(dir);
	}
	if (moved)
		r |= fsync_dir(dust);
	if (r != 0) {
		log_err("pop3 cannot sync mailbox user=%s error=%s sid=%06lx",
		    p->name, strerror(errno), p->env->sid);
		failed = (unsigned)-1;
	}
	if (gone > 0 && usage_add(p->env->store, p->name, -gone, -gone_bytes,
	    "deleted") == -1)
		log_warn("pop3 usage not updated user=%s sid=%06lx", p->name,
		    p->env->sid);
	free(dustroot);
	free(dust);
	return failed;
}

static void
pop3_quit(struct pop3 *p, int argc, char **argv)
{
	unsigned failed;

	(void)argc;
	(void)argv;
	p->done = 1;
	if (p->state != POP3_TRANSACTION) {
		(void)conn_printf(&p->c, "+OK yubin POP3 server signing off\r\n");
		return;
	}
	failed = p->ndele > 0 ? pop3_update(p) : 0;
	/* the session is over: free the mailbox before the client hears so,
	 * or its next login could still find it in use */
	if (p->lockfd != -1) {
		close(p->lockfd);
		p->lockfd = -1;
	}
	log_info("pop3 quit user=%s retr=%u dele=%u left=%zu%s sid=%06lx",
	    p->name, p->nretr, p->ndele, p->nlive,
	    failed ? " update=failed" : "", p->env->sid);
	if (failed == (unsigned)-1)
		(void)conn_printf(&p->c, "-ERR [SYS/TEMP] deletions may not be "
		    "on disk, check the mailbox\r\n");
	else if (failed > 0)
		(void)conn_printf(&p->c, "-ERR [SYS/TEMP] %u deleted messages "
		    "could not be removed\r\n", failed);
	else
		(void)conn_printf(&p->c, "+OK yubin POP3 server signing off "
		    "(%zu messages left)\r\n", p->nlive);
}

/* pop3_number - parse a decimal message number or line count.  0 or -1. */
static int
pop3_number(const char *s, long long *v_r)
{
	long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (LLONG_MAX - 9) / 10)
			v = LLONG_MAX;	/* saturate: "huge" is enough */
		else
			v = v * 10 + (*s - '0');
	}
	*v_r = v;
	return 0;
}

/* pop3_msg - the message numbered S, or NULL after answering -ERR. */
static struct maildir_msg *
pop3_msg(struct pop3 *p, const char *s)
{
	long long v;

	if (pop3_number(s, &v) == -1 || v < 1 || (unsigned long long)v > p->ml.n ||
	    p->ml.msg[v - 1].deleted) {
		pop3_err(p, "no such message");
		return NULL;
	}
	return &p->ml.msg[v - 1];
}

static void
pop3_stat(struct pop3 *p, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	(void)conn_printf(&p->c, "+OK %zu %lld\r\n", p->nlive, p->live_size);
}

static void
pop3_list(struct pop3 *p, int argc, char **argv)
{
	struct maildir_msg *m;
	size_t i;

	if (argc == 2) {
		if ((m = pop3_msg(p, argv[1])) != NULL)
			(void)conn_printf(&p->c, "+OK %zu %lld\r\n",
			    (size_t)(m - p->ml.msg) + 1, m->size);
		return;
	}
	(void)conn_printf(&p->c, "+OK %zu messages (%lld octets)\r\n", p->nlive,
	    p->live_size);
	for (i = 0; i < p->ml.n; i++)
		if (!p->ml.msg[i].deleted)
			(void)conn_printf(&p->c, "%zu %lld\r\n", i + 1,
			    p->ml.msg[i].size);
	(void)conn_printf(&p->c, ".\r\n");
}

static void
pop3_uidl(struct pop3 *p, int argc, char **argv)
{
	char uid[MAILDIR_UIDL_MAX + 1];
	struct maildir_msg *m;
	long long pause;
	size_t i;

	if (argc == 2) {
		if ((m = pop3_msg(p, argv[1])) != NULL)
			(void)conn_printf(&p->c, "+OK %zu %s\r\n",
			    (size_t)(m - p->ml.msg) + 1, maildir_uidl(m, uid));
		return;
	}
	/* the seed's uidl_interval: milliseconds between listing lines */
	pause = config_int(p->cfg, "pop3.uidl_interval");
	(void)conn_printf(&p->c, "+OK unique-id listing follows\r\n");
	for (i = 0; i < p->ml.n; i++) {
		if (p->ml.msg[i].deleted)
			continue;
		(void)conn_printf(&p->c, "%zu %s\r\n", i + 1,
		    maildir_uidl(&p->ml.msg[i], uid));
		if (pause > 0) {
			if (conn_flush(&p->c) == -1) {
				p->done = 1;
				return;
			}
			pop3_sleep_ms(pause);
		}
	}
	(void)conn_printf(&p->c, ".\r\n");
}

/*
 * pop3_send - stream message M: every line ending in CRLF (a bare LF gets its
 * CR, an unterminated last line a CRLF), a leading '.' doubled, then the
 * terminating ".".  BODY >= 0: only the header, the blank line and BODY lines
 * of the body (TOP).  The +OK line goes first, once the file is open.
 * Sizes agree with maildir.c (maildir_count_size) for the whole message.
 */
static void
pop3_send(struct pop3 *p, const struct maildir_msg *m, long long body)
{
	char path[PATH_MAX];
	char prev = '\n';
	int at_bol = 1, in_body = 0, stop = 0, fd;
	long long left = body, linelen = 0;
	ssize_t n, i, seg;
	size_t o;
	char *nl;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", p->maildir, m->name) >=
	    sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT) {
			/* the administrator removed it during the session */
			log_info("pop3 message gone user=%s file=%s sid=%06lx",
			    p->name, m->name, p->env->sid);
			(void)conn_printf(&p->c, "-ERR message was removed "
			    "from the mailbox\r\n");
			return;
		}
		log_err("pop3 cannot open message user=%s file=%s error=%s "
		    "sid=%06lx", p->name, m->name, strerror(errno), p->env->sid);
		(void)conn_printf(&p->c,
		    "-ERR [SYS/TEMP] message cannot be read\r\n");
		return;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (body < 0)
		(void)conn_printf(&p->c, "+OK %lld octets\r\n", m->size);
	else
		(void)conn_printf(&p->c, "+OK top of message follows\r\n");
	while (!stop && (n = read(fd, p->in, POP3_CHUNK)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* half a message is out: the client must not take it
			 * for a whole one, so end the session without "." */
			log_err("pop3 read error user=%s file=%s error=%s "
			    "sid=%06lx", p->name, m->name, strerror(errno),
			    p->env->sid);
			close(fd);
			p->done = 1;
			return;
		}
		for (i = 0, o = 0; i < n;) {
			if (at_bol) {
				if (in_body && left == 0) {
					stop = 1;
					break;
				}
				if (p->in[i] == '.')
					p->out[o++] = '.';
				at_bol = 0;
				linelen = 0;
			}
			nl = memchr(p->in + i, '\n', (size_t)(n - i));
			seg = nl ? nl - (p->in + i) : n - i;
			memcpy(p->out + o, p->in + i, (size_t)seg);
			o += (size_t)seg;
			linelen += seg;
			if (seg > 0)
				prev = p->in[i + seg - 1];
			i += seg;
			if (nl == NULL)
				break;
			/* end of a line */
			if (prev != '\r')
				p->out[o++] = '\r';
			p->out[o++] = '\n';
			if (in_body) {
				if (left > 0)
					left--;
			} else if (linelen == 0 || (linelen == 1 && prev == '\r'))
				in_body = 1;
			prev = '\n';
			at_bol = 1;
			i++;
		}
		if (o > 0 && conn_write(&p->c, p->out, o) == -1) {
			close(fd);
			p->done = 1;
			return;
		}
	}
	close(fd);
	if (!at_bol && !stop)
		(void)conn_write(&p->c, "\r\n", 2);
	(void)conn_write(&p->c, ".\r\n", 3);
}

static void
pop3_retr(struct pop3 *p, int argc, char **argv)
{
	struct maildir_msg *m;

	(void)argc;
	if ((m = pop3_msg(p, argv[1])) == NULL)
		return;
	p->nretr++;
	pop3_send(p, m, -1);
}

static void
pop3_top(struct pop3 *p, int argc, char **argv)
{
	struct maildir_msg *m;
	long long lines;

	(void)argc;
	if ((m = pop3_msg(p, argv[1])) == NULL)
		return;
	if (pop3_number(argv[2], &lines) == -1) {
		pop3_err(p, "invalid line count");
		return;
	}
	pop3_send(p, m, lines);
}

static void
pop3_dele(struct pop3 *p, int argc, char **argv)
{
	struct maildir_msg *m;

	(void)argc;
	if ((m = pop3_msg(p, argv[1])) == NULL)
		return;
	m->deleted = 1;
	p->ndele++;
	p->nlive--;
	p->live_size -= m->size;
	(void)conn_printf(&p->c, "+OK message %zu deleted\r\n",
	    (size_t)(m - p->ml.msg) + 1);
}

static void
pop3_rset(struct pop3 *p, int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < p->ml.n; i++)
		p->ml.msg[i].deleted = 0;
	p->ndele = 0;
	pop3_count(p);
	(void)conn_printf(&p->c, "+OK maildrop has %zu messages (%lld octets)\r\n",
	    p->nlive, p->live_size);
}

static void
pop3_noop(struct pop3 *p, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	(void)conn_printf(&p->c, "+OK\r\n");
}

/* pop3_phase - what the worker does while FN runs in STATE (board.h) */
static enum board_phase
pop3_phase(void (*fn)(struct pop3 *, int, char **), enum pop3_state state)
{
	if (fn == pop3_user || fn == pop3_pass || fn == pop3_apop ||
	    fn == pop3_auth)
		return BP_AUTH;
	if (fn == pop3_stls)
		return BP_TLS;
	if (fn == pop3_retr || fn == pop3_top)
		return BP_RETR;
	if (fn == pop3_quit && state == POP3_TRANSACTION)
		return BP_UPDATE;
	return state == POP3_TRANSACTION ? BP_TRANSACTION : BP_COMMAND;
}

/* pop3_dispatch - split LINE and run its command. */
static void
pop3_dispatch(struct pop3 *p, char *line)
{
	char *argv[POP3_ARGS_MAX + 1];
	const struct pop3_cmd *cmd = NULL;
	char *s, *sp, *save = NULL;
	int argc = 0;
	size_t i;

	sp = strchr(line, ' ');
	if (sp != NULL)
		*sp = '\0';
	for (i = 0; i < sizeof(pop3_cmds) / sizeof(pop3_cmds[0]); i++)
		if (strcasecmp(line, pop3_cmds[i].verb) == 0) {
			cmd = &pop3_cmds[i];
			break;
		}
	if (cmd == NULL) {
		pop3_err(p, "unknown command");
		return;
	}
	if (!(cmd->states & p->state)) {
		pop3_err(p, "command not valid in this state");
		return;
	}
	argv[argc++] = line;
	if (cmd->max_args == -1) {
		/* PASS: the rest of the line, spaces and all (RFC 1939 §7) */
		if (sp != NULL && sp[1] != '\0')
			argv[argc++] = sp + 1;
	} else if (sp != NULL) {
		for (s = strtok_r(sp + 1, " ", &save); s != NULL;
		    s = strtok_r(NULL, " ", &save)) {
			if (argc > cmd->max_args) {
				pop3_err(p, "too many arguments");
				return;
			}
			argv[argc++] = s;
		}
	}
	if (argc - 1 < cmd->min_args) {
		pop3_err(p, "missing argument");
		return;
	}
	argv[argc] = NULL;
	board_phase(pop3_phase(cmd->fn, p->state));
	cmd->fn(p, argc, argv);
}

/* pop3_greet - TLS for POP3S, then the banner with the APOP timestamp.
 * 0, or -1 to close at once. */
static int
pop3_greet(struct pop3 *p)
{
	unsigned char rnd[8];
	const char *why;
	char hex[17];
	size_t i;

	if (p->env->kind == LK_POP3S) {
		if (p->env->tls == NULL) {
			log_err("pop3s listener without TLS context sid=%06lx",
			    p->env->sid);
			return -1;
		}
		if (conn_tls_accept(&p->c, p->env->tls, &why) == -1) {
			log_info("pop3 tls failed client=%s reason=\"%s\" "
			    "sid=%06lx", p->c.peer_ip, why, p->env->sid);
			return -1;
		}
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		long long t = now_ms() ^ (long long)p->env->sid;

		memcpy(rnd, &t, sizeof(rnd));
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	snprintf(p->stamp, sizeof(p->stamp), "<%ld.%s.%lld@%.200s>",
	    (long)getpid(), hex, time_now(),
	    p->env->hostname && *p->env->hostname ? p->env->hostname :
	    "localhost");
	(void)conn_printf(&p->c, "+OK yubin POP3 ready %s\r\n", p->stamp);
	return 0;
}

void
pop3_session(const struct session_env *env, int fd)
{
	struct pop3 *p;
	char esc[64];
	const char *end = "quit";
	char *line;
	size_t len;
	long long t;
	int r, term;

	p = xcalloc(1, sizeof(*p));
	p->env = env;
	p->cfg = env->cfg;
	p->state = POP3_AUTHORIZATION;
	p->lockfd = -1;
	conn_init(&p->c, fd);
	/* RFC 1939 §3 autologout: each command line whole within
	 * pop3.timeout, the session within pop3.timeout_session */
	p->c.timeout_ms = (int)(config_int(p->cfg, "pop3.timeout") * 1000);
	t = config_int(p->cfg, "pop3.timeout_session");
	p->c.deadline_ms = t > 0 && t < LLONG_MAX / 2000 ? now_ms() + t * 1000 : 0;
	log_info("pop3 connect client=%s port=%d sid=%06lx", p->c.peer_ip,
	    p->c.peer_port, env->sid);
	if (pop3_greet(p) == -1)
		goto out;
	p->in = xmalloc(POP3_CHUNK);
	p->out = xmalloc(2 * POP3_CHUNK + 2);
	while (!p->done) {
		if (!pop3_buffered(&p->c) && conn_flush(&p->c) == -1) {
			end = "write error";
			break;
		}
		board_phase(p->state == POP3_TRANSACTION ? BP_TRANSACTION :
		    BP_COMMAND);
		r = conn_getline(&p->c, POP3_LINE_MAX, &line, &len, &term);
		if (r == CONN_TOOLONG) {
			pop3_err(p, "line too long");
			continue;
		}
		if (r == CONN_TIMEOUT) {
			/* RFC 1939 §3: autologout, no UPDATE; the line gets a
			 * short moment of its own to go out */
			end = conn_expired(&p->c) ? "time limit" : "timeout";
			p->c.deadline_ms = 0;
			p->c.timeout_ms = POP3_BYE_MS;
			(void)conn_printf(&p->c, "-ERR autologout timer expired\r\n");
			break;
		}
		if (r != CONN_LINE) {
			end = r == CONN_EOF ? "lost connection" : "read error";
			break;
		}
		if (memchr(line, '\0', len) != NULL) {
			pop3_err(p, "NUL in command");
			continue;
		}
		if (strncasecmp(line, "PASS ", 5) != 0 &&
		    strncasecmp(line, "AUTH ", 5) != 0 &&
		    strncasecmp(line, "XNODE ", 6) != 0)
			log_debug("pop3 command client=%s line=\"%s\" sid=%06lx",
			    p->c.peer_ip, str_escape(esc, sizeof(esc), line, len),
			    env->sid);
		pop3_dispatch(p, line);
	}
	(void)conn_flush(&p->c);
	if (strcmp(end, "quit") != 0 || p->state != POP3_TRANSACTION)
		log_info("pop3 disconnect client=%s user=%s reason=\"%s\" "
		    "in=%lld out=%lld sid=%06lx", p->c.peer_ip,
		    p->name[0] ? p->name : "-", end, p->c.bytes_in,
		    p->c.bytes_out, env->sid);
out:
	conn_close(&p->c);
	if (p->lockfd != -1)
		close(p->lockfd);
	maildir_list_free(&p->ml);
	OPENSSL_cleanse(p->user, sizeof(p->user));
	free(p->maildir);
	free(p->in);
	free(p->out);
	free(p);
}
