/*
 * yubin/hook.h - the plugin ABI of the yubin mail server.  The only header a
 * plugin includes.
 *
 * A plugin is a shared object in server.plugin_dir that exports
 *
 *	static const struct yh_hooks example_hooks = {
 *		YH_HOOKS_INIT,
 *		.rcpt  = example_rcpt,
 *	};
 *	static const struct yh_key example_keys[] = {
 *		{ "greeting", YH_KEY_STRING,   "hello", 0, 0 },
 *		{ "timeout",  YH_KEY_DURATION, "30s",   1000, 3600000 },
 *		{ NULL }
 *	};
 *	const struct yh_plugin yubin_plugin = {
 *		YH_PLUGIN_INIT,
 *		.name    = "example",
 *		.keys    = example_keys,
 *		.init    = example_init,
 *		.commit  = example_commit,
 *		.discard = example_discard,
 *		.fini    = example_fini,
 *		.hooks   = &example_hooks,
 *	};
 *
 * LOADING.  The master loads the plugins named in server.plugins, in that
 * order, with dlopen(RTLD_NOW | RTLD_LOCAL), refuses one whose .abi is not
 * YH_ABI_VERSION (naming the file and both versions; yubind exits 1), and
 * reads of yh_plugin and yh_hooks only what their .size covers (members
 * past it count as NULL).
 *
 * KEYS.  A plugin declares the keys of its [plugin NAME] section in .keys
 * (name, type, default, range; a NULL name ends the table).  The core
 * checks the section before init() runs, with the parser of yubin.conf
 * itself: an unknown key or a bad value is a "FILE:LINE: message" error
 * under `yubind -t`, at start (exit 1) and at reload (the running
 * generation stays).  A plugin without .keys accepts no key at all.
 * init() reads the values with the typed getters (yh_config_bool ...).
 *
 * GENERATIONS.  A configuration (at start, and again at each SIGHUP) is
 * loaded in two steps so that a failed reload leaves every plugin exactly
 * as it was.  init(cfg, &gen) runs as root in the master, before
 * privileges are dropped: it reads the section and its rule files and
 * builds everything the new generation needs in memory it allocates and
 * returns in *gen, touching nothing the running generation uses (read rule
 * files there, never trust anything from the network there).  It returns
 * 0, or -1 after yh_error() lines that say why ("FILE:LINE: message").
 * Only when every plugin's init succeeded does the core call commit(gen)
 * on each: the plugin makes GEN its running state and frees what it
 * replaced; commit cannot fail.  When any init failed, discard(gen) frees
 * what the others built, and nothing changed.  fini() frees the running
 * state when yubind exits or a reload drops the plugin.  A plugin with no
 * state leaves init, commit and discard NULL.
 * init_process(kind), when set, runs in each child the master forks (and
 * each agent the queue manager forks) after privileges are dropped, before
 * it serves anything: open per-process resources there.  Workers, the
 * queue manager and the delivery agents are forked after commit and
 * inherit the loaded plugins.
 *
 * LIFE CYCLE.  init, commit (master, root; again at each SIGHUP) ->
 * init_process (each child) -> hooks (children) -> fini (master, at exit
 * or when a reload drops the plugin).  Per-transaction state goes in
 * yh_txn_slot, never in globals keyed by session.
 *
 * HOOK POINTS.  Each runs in one process, as the server user.
 *
 *   SMTP session (SMTP worker):
 *     connect      after accept, before the greeting        decision
 *     helo         after HELO/EHLO (name via yh_helo)       decision
 *     auth         after a successful AUTH (yh_auth_user)   decision
 *     mail         MAIL FROM accepted by the core           decision
 *     rcpt         RCPT TO, the recipient in ARG            decision
 *                  (the core has resolved it: yh_rcpt_local() says
 *                  whether it is a local account; YH_OK accepts a
 *                  recipient the core would refuse as relay)
 *     data         end of DATA, message readable            decision
 *     queued       after the 250 (queue id known)           notification
 *     disconnect   session end                              notification
 *   Delivery (queue manager, per local recipient):
 *     deliver      before the copy is stored                decision
 *     delivered    after it is on disk                      notification
 *   POP3 (POP3 worker):
 *     pop_auth     after a successful login                 notification
 *
 * RETURN CODES.  Decision hooks run in server.plugins order and stop at the
 * first result that is not YH_DECLINED; notification hooks all run and
 * their result is ignored.
 *   YH_DECLINED    no opinion; the next plugin decides (the core if none)
 *   YH_OK          accept; no later plugin is asked
 *   YH_DENY        refuse with 5xx (default 550 5.7.1)
 *   YH_DENYSOFT    refuse with 4xx (default 451 4.7.1)
 *   YH_DISCONNECT  421 4.7.0 and close the session
 *   YH_DISCARD     deliver: accept and drop the copy (logged); elsewhere = DENY
 * yh_reply() sets the code, enhanced status and text a deny carries.
 *
 * FAULTS.  A plugin that crashes takes down one worker: the client sees the
 * connection drop, the master logs the plugin, the hook and the signal, and
 * forks a new worker.  A hook running longer than server.hook_timeout is
 * treated as YH_DENYSOFT and its worker is replaced after the session.
 *
 * MEMORY.  Strings returned by accessors are borrowed: valid until the hook
 * returns unless stated otherwise.  Nothing a plugin gets must be freed by
 * it unless stated.
 */
#ifndef YUBIN_HOOK_H
#define YUBIN_HOOK_H

#include <stddef.h>
#include <sys/socket.h>

/* Major version: bumped when a member changes meaning or position.  New
 * members are only ever added at the end of the structs below, and
 * yh_plugin and yh_hooks carry their size (set by YH_PLUGIN_INIT and
 * YH_HOOKS_INIT): the core reads only the members a plugin's size covers,
 * so a plugin built against an older, shorter struct of the same version
 * loads with the members it lacks taken as NULL.  Version 1 had no sizes. */
#define YH_ABI_VERSION	2

/* Sizes the core guarantees (it asserts at compile time that they match
 * its own): a queue id with its NUL, an account name's characters, and a
 * recipient path's octets as sent (with "<" ">"). */
#define YH_QID_SIZE	17
#define YH_ACCOUNT_MAX	64
#define YH_RCPT_MAX	256

enum yh_result {
	YH_DECLINED = 0,
	YH_OK,
	YH_DENY,
	YH_DENYSOFT,
	YH_DISCONNECT,
	YH_DISCARD,
};

enum yh_level {
	YH_LOG_DEBUG,
	YH_LOG_INFO,
	YH_LOG_WARN,
	YH_LOG_ERR,
};

enum yh_listener {
	YH_LISTEN_SMTP,		/* port 25 */
	YH_LISTEN_SUBMISSION,	/* port 587 */
	YH_LISTEN_SMTPS,	/* port 465 */
};

/* The process init_process() runs in. */
enum yh_process {
	YH_PROC_SMTP,		/* SMTP worker (ports 25, 465) */
	YH_PROC_SUBMIT,		/* SMTP worker for the local submission socket */
	YH_PROC_POP3,		/* POP3 worker */
	YH_PROC_QUEUE,		/* queue manager */
	YH_PROC_LOCAL_AGENT,	/* local delivery agent (deliver hooks) */
	YH_PROC_REMOTE_AGENT,	/* remote delivery agent (runs no hook) */
};

struct yh_config;	/* a [plugin NAME] section (init) */
struct yh_session;	/* one SMTP session and its current transaction */
struct yh_delivery;	/* one local recipient's copy in the queue manager */
struct yh_pop;		/* one POP3 session */

struct yh_hooks {
	size_t	 size;		/* sizeof(struct yh_hooks): YH_HOOKS_INIT */
	int	(*connect)(struct yh_session *s);
	int	(*helo)(struct yh_session *s);
	int	(*auth)(struct yh_session *s);
	int	(*mail)(struct yh_session *s);
	int	(*rcpt)(struct yh_session *s, const char *rcpt);
	int	(*data)(struct yh_session *s);
	void	(*queued)(struct yh_session *s);
	void	(*disconnect)(struct yh_session *s);
	int	(*deliver)(struct yh_delivery *d);
	void	(*delivered)(struct yh_delivery *d);
	void	(*pop_auth)(struct yh_pop *p);
};

/* The type of a declared key, with the forms its value takes in the file
 * (those of yubin.conf itself). */
enum yh_key_type {
	YH_KEY_BOOL = 1,	/* 1/0, true/false, yes/no, on/off */
	YH_KEY_INT,		/* decimal, within [min, max] */
	YH_KEY_SIZE,		/* bytes, or with a K, M or G suffix (1024) */
	YH_KEY_DURATION,	/* ms, s, m, h or d suffix; a bare number is
				 * seconds; read in milliseconds */
	YH_KEY_STRING,
	YH_KEY_PATH,		/* relative paths are relative to CONFDIR */
	YH_KEY_LIST,		/* words separated by commas or blanks */
};

/* One key of a plugin's [plugin NAME] section. */
struct yh_key {
	const char		*name;	/* [a-z0-9_], NULL ends the table */
	enum yh_key_type	 type;
	const char		*def;	/* default in the file's syntax; NULL:
					 * none (getters say "unset") */
	long long		 min, max; /* INT, SIZE (bytes), DURATION (ms);
					 * both 0: the type's own range */
};

#define YH_KEYS_MAX	64	/* keys one plugin may declare */

struct yh_plugin {
	unsigned		 abi;		/* YH_ABI_VERSION; checked first */
	size_t			 size;		/* sizeof(struct yh_plugin) */
	const char		*name;
	const struct yh_key	*keys;		/* its [plugin NAME] keys, or NULL */
	/* build the next generation's state into *gen (GENERATIONS) */
	int			(*init)(const struct yh_config *cfg, void **gen);
	void			(*commit)(void *gen);	/* make it the running one */
	void			(*discard)(void *gen);	/* free one not committed */
	void			(*fini)(void);		/* free the running one */
	const struct yh_hooks	*hooks;		/* NULL members are never called */
	/* after fork and privilege drop, in each child that can run hooks */
	void			(*init_process)(enum yh_process kind);
};

/* Start every yh_hooks and yh_plugin initialiser with these. */
#define YH_HOOKS_INIT	.size = sizeof(struct yh_hooks)
#define YH_PLUGIN_INIT	.abi = YH_ABI_VERSION, .size = sizeof(struct yh_plugin)

/* ---- configuration (any process) ---------------------------------------- */

/*
 * Typed getters for the keys the plugin declared: the value from the file
 * (checked by the core before init), else the declared default.  For
 * init(): copy what the generation keeps; strings and lists are borrowed
 * from the configuration and valid while that generation runs.  Asking
 * for a key that is not declared, or with the getter of another type, is
 * the plugin's bug: logged, and the answer is 0 / NULL.
 */
int	yh_config_bool(const struct yh_config *cfg, const char *key);
long long yh_config_int(const struct yh_config *cfg, const char *key);
long long yh_config_size(const struct yh_config *cfg, const char *key);
/* yh_config_duration - in milliseconds. */
long long yh_config_duration(const struct yh_config *cfg, const char *key);
/* yh_config_str - a STRING or PATH key as written; NULL: unset, no default. */
const char *yh_config_str(const struct yh_config *cfg, const char *key);
/* yh_config_path - a PATH key made absolute (relative to CONFDIR); NULL:
 * unset and no default. */
const char *yh_config_path(const struct yh_config *cfg, const char *key);
/* yh_config_list - a LIST key: the number of words, *ITEMS the words. */
size_t	yh_config_list(const struct yh_config *cfg, const char *key,
	    const char *const **items);
/* yh_config_get - KEY's text as the file (or -D) wrote it, NULL when the
 * section does not set it (a default does not count): "was it given?". */
const char *yh_config_get(const struct yh_config *cfg, const char *key);
/* yh_config_each - FN(CTX, KEY, VALUE, WHERE) for every key of this
 * plugin's section, in file order; WHERE is "FILE:LINE", or "-D" for a
 * -D plugin.NAME.KEY=VALUE option.  A non-zero FN result stops the walk and
 * is returned; 0 once every key was visited. */
int	yh_config_each(const struct yh_config *cfg,
	    int (*fn)(void *ctx, const char *key, const char *value,
	    const char *where), void *ctx);
/* yh_config_file - the configuration file yubind runs with (-c, else
 * $YUBIN_CONF, else the compiled-in SYSCONFDIR/yubin.conf) as an absolute
 * path, for programs that must read the same one (YUBIN_CONF); NULL when
 * it runs on compiled-in defaults.  Borrowed: valid as long as the
 * configuration (a hook call). */
const char *yh_config_file(void);
/* yh_server_get - a server key ("smtp.relay") in its text form, or NULL. */
const char *yh_server_get(const char *key);
/* yh_account_get - KEY (seed name, e.g. "reject_domain") for ACCOUNT:
 * its config.def value when set there, else (for the two
 * mailbox_capacity_* keys) a non-zero limit of the account record
 * (`yubinctl account add --quota-*`), else the server value; NULL when
 * unknown.  Values as plain text: booleans 1/0, sizes in bytes, lists
 * comma-separated.  Copied into OUT (SIZE bytes); returns OUT or NULL. */
const char *yh_account_get(const char *account, const char *key, char *out,
	    size_t size);

/* ---- logging ------------------------------------------------------------ */

/* yh_log - one log line, prefixed with the queue id (or NOQUEUE) and
 * "plugin=NAME".  Never pass raw client bytes; use yh_escape. */
void	yh_log(enum yh_level lvl, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* yh_escape - client or user text SRC (LEN bytes, a NUL among them
 * included) made safe to log or to quote in a reply, into DST (SIZE bytes,
 * always NUL-terminated when SIZE > 0): printable ASCII is copied, a
 * backslash doubled, every other byte (control bytes, DEL, octets above
 * 127) written as \xNN.  Returns DST; text that does not fit is cut at a
 * whole character and ends with "...". */
char	*yh_escape(char *dst, size_t size, const void *src, size_t len);
/* yh_error - a load-time error for init(): "FILE:LINE: message". */
void	yh_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- SMTP session (connect .. disconnect) ------------------------------- */

const char *yh_peer_ip(const struct yh_session *s);	/* "192.0.2.1", "::1" */
int	yh_peer_port(const struct yh_session *s);
enum yh_listener yh_listener_kind(const struct yh_session *s);
int	yh_is_tls(const struct yh_session *s);
/* yh_local_submission - 1 when the session came over the local submission
 * socket HOME/run/submit.sock (yubin-sendmail, programs that exec.def and
 * the other delivery hooks start), else 0.  Such a session counts as
 * authenticated: yh_auth_user is then "local:UID", the caller's uid as the
 * kernel gives it (no account), and yh_listener_kind says
 * YH_LISTEN_SUBMISSION.  The envelope sender is what the local caller
 * chose. */
int	yh_local_submission(const struct yh_session *s);
const char *yh_helo(const struct yh_session *s);	/* "" before HELO */
const char *yh_auth_user(const struct yh_session *s);	/* "" if not authenticated */
const char *yh_sender(const struct yh_session *s);	/* NULL before MAIL; "" = <> */
/* yh_size_param - the SIZE= the client declared on MAIL FROM, -1 if none. */
long long yh_size_param(const struct yh_session *s);
size_t	yh_rcpt_count(const struct yh_session *s);	/* accepted so far */
const char *yh_rcpt_addr(const struct yh_session *s, size_t i);
/* yh_rcpt_account - the local account of accepted recipient I, NULL when
 * remote. */
const char *yh_rcpt_account(const struct yh_session *s, size_t i);
/* yh_rcpt_local - in the rcpt hook: 1 the recipient being decided is an
 * existing local account, 0 a local domain without such account, -1 not a
 * local domain. */
int	yh_rcpt_local(const struct yh_session *s);
/* yh_message_fd - data hook: a read-only descriptor of the message as it
 * will be stored (LF line ends, Received: on top), positioned at 0.  Owned
 * by the core. -1 outside the data hook. */
int	yh_message_fd(const struct yh_session *s);
long long yh_message_size(const struct yh_session *s);
/* yh_header - data hook: the Nth (0-based) header field NAME, unfolded,
 * without the name and colon; NULL when absent. */
const char *yh_header(struct yh_session *s, const char *name, int n);
/* yh_header_add - data hook: add "NAME: VALUE" on top of the stored
 * message.  0, or -1 (bad name or value: CR/LF are refused). */
int	yh_header_add(struct yh_session *s, const char *name, const char *value);
/* yh_queue_id - the queue id (data and queued hooks: the id the message
 * will be queued under; "" before DATA). */
const char *yh_queue_id(const struct yh_session *s);

/* yh_reply - the reply a YH_DENY/YH_DENYSOFT/YH_DISCONNECT carries: CODE
 * (4xx/5xx), ENH ("5.7.1"), text.  The text is sanitized. */
void	yh_reply(struct yh_session *s, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Notes: string key/value pairs for passing data between hooks.
 * Transaction notes are cleared at RSET / end of DATA; session notes live
 * until disconnect.  set: 0, or -1 past the limits (64 notes, 4 KiB each).
 * get: borrowed until the note changes, NULL when unset. */
int	yh_note_set(struct yh_session *s, const char *key, const char *value);
const char *yh_note_get(const struct yh_session *s, const char *key);
/* yh_txn_slot - SIZE bytes (1..65536) of memory of the calling plugin's
 * own for this transaction, zeroed when first asked for, the same block
 * on each call within the transaction, freed by the core at RSET, MAIL
 * and the end of DATA (and at disconnect).  Ask for the same SIZE each
 * time.  NULL outside an SMTP hook, for another SIZE, or out of memory.
 * For a plugin's own state; notes are for what plugins pass each other. */
void	*yh_txn_slot(struct yh_session *s, size_t size);
int	yh_snote_set(struct yh_session *s, const char *key, const char *value);
const char *yh_snote_get(const struct yh_session *s, const char *key);

/* ---- addresses and accounts (any process) ------------------------------- */

/* yh_domain_local - 1 when DOMAIN is one of this server's domains. */
int	yh_domain_local(const char *domain);
/* yh_addr_valid - 1 when ADDR ("local@domain", no angle brackets) is an
 * address the core would take in RCPT TO: (RFC 5321 syntax and sizes,
 * UTF-8 as with SMTPUTF8, no control bytes), else 0. */
int	yh_addr_valid(const char *addr);
/* yh_account_exists - 1 yes, 0 no, -1 store error. */
int	yh_account_exists(const char *account);
/* yh_resolve - like the core's recipient check: YH_RESOLVE_ACCOUNT a
 * local account (name in ACCOUNT, ACCOUNT_SIZE bytes, YH_ACCOUNT_MAX + 1
 * is always enough), YH_RESOLVE_NO_ACCOUNT a local domain without it,
 * YH_RESOLVE_REMOTE not local, YH_RESOLVE_ERROR store error. */
enum yh_resolve_result {
	YH_RESOLVE_ACCOUNT = 1,
	YH_RESOLVE_NO_ACCOUNT = 0,
	YH_RESOLVE_REMOTE = -1,
	YH_RESOLVE_ERROR = -2
};
int	yh_resolve(const char *addr, char *account, size_t account_size);

/* yh_utf8_valid - 1 when P[0..LEN) is well-formed UTF-8 (RFC 3629: no
 * overlong forms, surrogates or code points above U+10FFFF), else 0. */
int	yh_utf8_valid(const void *p, size_t len);
/* yh_text_charset - what a user's text (a reply text, a list of lines)
 * is written in: no octet above 127 is ASCII, or ISO-2022-JP when an
 * ESC $ or ESC ( sequence occurs; else UTF-8 when well-formed, else
 * Shift_JIS when every byte pair is one, else unknown. */
enum yh_charset { YH_CS_ASCII, YH_CS_UTF8, YH_CS_JIS, YH_CS_SJIS, YH_CS_UNKNOWN };
enum yh_charset yh_text_charset(const void *p, size_t len);
/* yh_subject_utf8 - RAW (an unfolded Subject value as yh_header and
 * yh_dlv_header give it) decoded into OUT (SIZE bytes, SIZE >= 1): RFC
 * 2047 encoded words decoded (the blanks between two words dropped), raw
 * 8-bit text taken as UTF-8 or else Shift_JIS, control characters as
 * blanks; cut at a character boundary when OUT is too small.  The length
 * written; OUT is always NUL-terminated. */
size_t	yh_subject_utf8(const char *raw, char *out, size_t size);

/* yh_dns_server - the DNS server plugins that make their own queries ask:
 * server.resolver ("V4", "V4:PORT", "V6", "[V6]:PORT"), else the first name
 * server of /etc/resolv.conf, into *SS with its length in *LEN.  0, or -1
 * (none usable). */
int	yh_dns_server(struct sockaddr_storage *ss, socklen_t *len);

/* yh_mailbox_usage - messages and bytes (as POP3 counts them) stored for
 * ACCOUNT, kept exactly by the core: deliveries add, POP3 deletions
 * subtract, `yubinctl mailbox --recount` rebuilds.  0 or -1. */
int	yh_mailbox_usage(const char *account, long long *count, long long *bytes);

/* ---- account files (any process) ---------------------------------------- */
/* Files in an account folder (exec.def, forward.def, IMS.CTL, the lists it
 * names) are written by the mailbox's user, not by the administrator:
 * read them only through yh_open_safe / yh_read_safe. */

/* yh_account_dir - the folder of ACCOUNT (server.mailbox_path, else
 * HOME/mailbox, then "/ACCOUNT"), absolute, into OUT (SIZE bytes).  0, or
 * -1 (ACCOUNT is not a valid account name, the path does not fit SIZE, no
 * configuration yet) with OUT "". */
int	yh_account_dir(const char *account, char *out, size_t size);
/* yh_open_safe - open PATH read-only for a file a user controls, with the
 * .forward rules of sendmail and Postfix, checked on the open descriptor:
 * refused when PATH is a symbolic link (its last component), not a
 * regular file, writable by group or others, owned by anyone but root or
 * the server user, or larger than MAXSIZE bytes.  Returns 1 with the
 * descriptor in *FD_R (close-on-exec, blocking; the caller closes it), 0
 * when PATH does not exist, -1 refused or unreadable: the reason in WHY
 * (WHYSIZE bytes; "a symbolic link", "not a regular file", "writable by
 * group or others (mode 666)", "owned by uid N, not root or the server
 * user", "larger than N bytes", or strerror's text), fit for a log line
 * "PATH: refused: WHY".  WHY may be NULL when WHYSIZE is 0.  Nothing is
 * logged: the caller logs once. */
int	yh_open_safe(const char *path, size_t maxsize, int *fd_r, char *why,
	    size_t whysize);
/* yh_read_safe - yh_open_safe, then the whole file into *DATA_R (owned:
 * free() it; NUL-terminated, and binary-safe with its length in *LEN_R,
 * which may be NULL).  1 read, 0 absent, -1 refused or unreadable (WHY as
 * above; *DATA_R NULL).  Never reads past MAXSIZE bytes. */
int	yh_read_safe(const char *path, size_t maxsize, char **data_r,
	    size_t *len_r, char *why, size_t whysize);
/* yh_ini_get - KEY of [SECTION] in TEXT, INI as IMS.CTL writes it: lines
 * end in LF or CRLF, "[Section]" starts a section, "Key=Value" lines, ';'
 * and '#' start comment lines; section and key names compare without
 * case, names and values lose their surrounding blanks.  The first KEY of
 * the first matching section wins.  Returns 1 with the value in OUT (SIZE
 * bytes), 0 absent (OUT ""), -1 when the value does not fit SIZE (OUT "":
 * never cut).  With KEY NULL: 1 when [SECTION] appears in TEXT, else 0. */
int	yh_ini_get(const char *text, const char *section, const char *key,
	    char *out, size_t size);

/* ---- the plugin's LMDB space (any process after fork) ------------------- */
/* Keys are namespaced by the plugin name automatically.  TTL in seconds,
 * 0 = never expires.  now() is the server clock (tests may shift it). */
/* yh_store_get - 1 found (at most *LEN bytes copied, *LEN set to the full
 * length), 0 absent or expired, -1 error. */
int	yh_store_get(const char *key, void *val, size_t *len);
int	yh_store_put(const char *key, const void *val, size_t len, long long ttl);
int	yh_store_del(const char *key);				/* 1/0/-1 */
/* yh_store_incr - add DELTA (the TTL applies when the counter is created);
 * new value in *VALUE.  0 or -1. */
int	yh_store_incr(const char *key, long long delta, long long ttl,
	    long long *value);
long long yh_now(void);

/* ---- run-time client blocks --------------------------------------------- */

/* yh_block_add - refuse every new SMTP connection from IP (554 5.7.1 at
 * connect, before any plugin runs) for TTL seconds (0 = until `yubinctl
 * block del`), kept in LMDB across restarts and listed by `yubinctl block
 * list` with REASON.  0, or -1 (bad address, store error). */
int	yh_block_add(const char *ip, long long ttl, const char *reason);
/* yh_blocked - 1 when IP is blocked now, 0 not, -1 error. */
int	yh_blocked(const char *ip);

/* ---- new messages ------------------------------------------------------- */

/* yh_inject - queue a new message (forwards, replies, notices): SENDER
 * ("" = <>), NRCPT recipients, DATA of LEN bytes (a complete message, LF or
 * CRLF line ends).  The core puts a trace field on top, as SMTP mail gets
 * one: "Received: by HOST (yubin, injected by plugin NAME) id QID
 * [for <RCPT>]; DATE" (RFC 5321 §4.4; "for" with one recipient only), so
 * hop counts see every pass.  Durable when it returns 0; the new id in
 * QID (17 bytes) when not NULL.  -1 on failure.  A message that would
 * carry more than smtp.max_hops Received:/Delivered-To: fields (a loop) is
 * not queued but returned to SENDER in a report (554 5.4.6), which also
 * returns 0; with SENDER "" it is refused (-1). */
int	yh_inject(const char *sender, const char *const *rcpts, size_t nrcpt,
	    const void *data, size_t len, char *qid);
/*
 * yh_inject_once - yh_inject, made at most once for KEY (at most 200
 * bytes; the plugin's own name space): the message is queued together with
 * a marker for KEY in one transaction, so a hook that runs again after a
 * crash (a deliver hook whose agent was killed: the core delivers that
 * recipient again) and injects with the same KEY queues nothing twice.
 * Derive KEY from what identifies the work, e.g. the queue id and a chunk
 * number.  The marker is kept 30 days.  0 queued now, 1 queued by an
 * earlier call with KEY (nothing done), -1 failure.
 */
int	yh_inject_once(const char *key, const char *sender,
	    const char *const *rcpts, size_t nrcpt, const void *data,
	    size_t len, char *qid);
/*
 * yh_copy_add - data hook only: a further message (SENDER, RCPTS, DATA as
 * for yh_inject, with the same trace field) that belongs to this
 * transaction: written now, queued in the same step as the message (all or
 * nothing) when the transaction is taken, removed when it is refused or
 * fails.  For copies that may exist only if the message does, such as one
 * recipient's changed variant (yh_inject is queued at once, whatever
 * follows).  At most YH_COPIES_MAX per transaction.  0 (QID, 17 bytes or
 * NULL, gets the copy's queue id), or -1 (outside the data hook, a bad
 * recipient, too many copies, a write error, over smtp.max_hops).
 */
#define YH_COPIES_MAX	64
int	yh_copy_add(struct yh_session *s, const char *sender,
	    const char *const *rcpts, size_t nrcpt, const void *data, size_t len,
	    char *qid);

/* ---- programs ----------------------------------------------------------- */

/*
 * struct yh_spawn - a per-mailbox program, run the way exec.def programs
 * are (SEEDS.md §16).  Start from YH_SPAWN_INIT: .size tells the core
 * which members the plugin knows (members are only added at the end).
 *
 * COMMAND is PROGRAM [ARG ...] in exec.def's bin= form: blanks separate
 * words, "double quotes" group them (no escapes: Windows paths keep their
 * backslashes).  PROGRAM is an absolute path, or a bare name looked up in
 * PATH; a relative path with a slash is refused; sendmail, sendmail.exe
 * and yubin-sendmail (any folder) run SENDMAIL, the seed's send tool.
 * ARGS follow the command's own words.  With DLV, an argument (never the
 * program) that is exactly FROM_ADDRESS, TO_ADDRESS, SUBJECT or
 * MAILFILE_PATH becomes the envelope sender, the envelope recipient, the
 * Subject decoded to UTF-8 (RFC 2047, control characters as blanks) or a
 * private hard link of the message in the account folder that lives until
 * the program ends -- always one argument, whatever the mail holds.
 *
 * WHAT A PROGRAM GETS, and may rely on.  argv is built by yubin and given
 * to execve: no shell ever sees it, so quotes, blanks, ';', '$' or '`' in
 * mail are plain bytes of one argument.  Words written in the def file
 * (COMMAND and ARGS) are the admin's, taken as written.  Values from mail
 * are data and keep their form: FROM_ADDRESS and TO_ADDRESS are the
 * envelope addresses as the client gave them (FROM_ADDRESS is "" for the
 * null sender); either, and SUBJECT, may begin with '-' (MAIL
 * FROM:<-fx@example.org> is a valid address), so a program that parses
 * options must stop before them (put "--" in the def file) or take them
 * positionally.  yubin-sendmail is safe with them in the seed forms
 * (FROM TO -mf FILE [-del], FROM TO -sb FILE [-onlyonce RECORD]): it
 * recognises those forms before any option parsing and never takes an
 * address for an option.  SUBJECT is valid UTF-8 of at most 4095 bytes
 * (cut at a character boundary) without control characters;
 * MAILFILE_PATH is an absolute path yubin made.  The environment holds
 * only PATH, HOME, LANG, YUBIN_CONF and, with DLV, YUBIN_FROM, YUBIN_TO
 * and YUBIN_QUEUE_ID (the same values as above).  The program runs as the
 * calling process's user (the server user), never as root.
 */
struct yh_spawn {
	size_t		 size;		/* sizeof(struct yh_spawn) */
	const char	*label;		/* its source in log lines: "alice/exec.def" */
	const char	*command;	/* PROGRAM [ARG ...], see above */
	const char *const *args;	/* more arguments, NULL-terminated; or NULL */
	struct yh_delivery *dlv;	/* deliver/delivered: the message it is for */
	const char	*cwd;		/* working folder and HOME; NULL: DLV's
					 * account folder */
	const char	*path;		/* PATH, and where bare names are looked
					 * up; NULL: /usr/local/bin:/usr/bin:/bin */
	const char	*sendmail;	/* the send tool; NULL: yubin-sendmail
					 * found in PATH */
	const char	*lang;		/* LANG; NULL: C.UTF-8 */
	const char	*conf;		/* YUBIN_CONF; NULL: yh_config_file() */
	int		 wait;		/* 1: return when it has ended */
	int		 stdin_message;	/* 1: DLV's message on stdin, else /dev/null */
	long long	 timeout_ms;	/* then SIGTERM to its group (<= 0: 60 s) */
	long long	 kill_grace_ms;	/* then SIGKILL (< 0: 2 s) */
	long long	 output_max;	/* bytes of stdout+stderr logged (< 0: 2048;
					 * at most 1 MiB) */
	long long	 max_running;	/* unwaited programs of this process at
					 * once, all plugins' (<= 0: 16) */
};
#define YH_SPAWN_INIT { .size = sizeof(struct yh_spawn), .timeout_ms = 60000, \
	.kill_grace_ms = 2000, .output_max = 2048, .max_running = 16 }

/*
 * yh_spawn - run SP's program: fork + execve, never a shell; a clean
 * environment (PATH, HOME, LANG, YUBIN_CONF, and with DLV YUBIN_FROM,
 * YUBIN_TO, YUBIN_QUEUE_ID), descriptors past 2 closed, signals reset,
 * umask 077, its own process group; stdout and stderr logged (escaped,
 * bounded), its start, exit status or signal logged under LABEL.  Past its
 * timeout it gets SIGTERM, then SIGKILL.  With WAIT the call returns when
 * it ended, its wait status (waitpid's) in *STATUS_R (may be NULL);
 * inside a hook the wait (and the timeout) is cut so server.hook_timeout
 * never fires, or, once that time is used up, the program runs without
 * waiting (logged).  Without WAIT a supervisor process does the same and
 * the call returns at once (*STATUS_R -1); when MAX_RUNNING supervisors
 * live, it first waits (within the hook's time) for one to end.
 * Returns 0 started, or -1 not run (logged: bad command, program not
 * found, too many running, fork failed).  A message is never touched.
 */
int	yh_spawn(const struct yh_spawn *sp, int *status_r);

/* ---- delivery (deliver / delivered) ------------------------------------- */

const char *yh_dlv_queue_id(const struct yh_delivery *d);
const char *yh_dlv_sender(const struct yh_delivery *d);	/* "" = <> */
const char *yh_dlv_rcpt(const struct yh_delivery *d);	/* envelope recipient */
const char *yh_dlv_account(const struct yh_delivery *d);
const char *yh_dlv_client_ip(const struct yh_delivery *d);
const char *yh_dlv_auth_user(const struct yh_delivery *d);
/* yh_dlv_path - deliver: the queue file; delivered: the stored copy, which
 * begins with the core's "Return-Path: <SENDER>" and "Delivered-To: RCPT"
 * lines (the queue file does not hold them). */
const char *yh_dlv_path(const struct yh_delivery *d);
/* yh_dlv_size - the stored copy's size in bytes (LF ends), trace lines
 * included. */
long long yh_dlv_size(const struct yh_delivery *d);
/* yh_dlv_wire_size - the size POP3 will give the message being delivered
 * (its queue file, without the core's trace lines): every LF not after a
 * CR counted as CRLF, an unterminated last line ended; the plain byte count
 * in *BYTES when not NULL.  Reads the whole file.  -1 when unreadable. */
long long yh_dlv_wire_size(struct yh_delivery *d, long long *bytes);
/* yh_dlv_header - like yh_header, for the message being delivered. */
const char *yh_dlv_header(struct yh_delivery *d, const char *name, int n);
/* yh_dlv_reply - the status a YH_DENY/YH_DENYSOFT of deliver carries. */
void	yh_dlv_reply(struct yh_delivery *d, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Delivery notes: like yh_note_set/get, for the plugins that handle one
 * recipient's delivery (deliver, then delivered); cleared after it.  The
 * forward plugin sets "forward" in deliver: "queued" (every target
 * queued), "kept" (configured but not made: the copy must be stored) or
 * "none" (nothing to forward). */
int	yh_dlv_note_set(struct yh_delivery *d, const char *key, const char *value);
const char *yh_dlv_note_get(const struct yh_delivery *d, const char *key);

/* ---- POP3 (pop_auth) ---------------------------------------------------- */

const char *yh_pop_user(const struct yh_pop *p);	/* the account */
const char *yh_pop_peer_ip(const struct yh_pop *p);

/* ---- message rewriting (data hook) -------------------------------------- */

/* yh_message_replace - data hook: the message to be stored becomes the
 * whole contents of FD (LF line ends, Received: on top, as yh_message_fd
 * gives it), read from offset 0 after the chain accepted the message;
 * headers from yh_header_add still go on top.  The core dups FD: the plugin
 * closes its own.  A later call replaces an earlier one.  0, or -1 (not in
 * the data hook, bad descriptor). */
int	yh_message_replace(struct yh_session *s, int fd);
/* yh_rcpt_replace - data hook: the envelope recipients of the transaction
 * become the N addresses RCPTS ("local@domain"), each resolved as RCPT TO
 * would (local account, or remote).  Applied when the chain accepts the
 * message; yh_rcpt_count/addr still show the old list until then.  0, or
 * -1 (not in the data hook, N == 0 or over 1000, a bad address, a local
 * domain without that account, store error) with nothing changed. */
int	yh_rcpt_replace(struct yh_session *s, const char *const *rcpts, size_t n);

#endif
