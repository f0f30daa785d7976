/*
 * plugin - loading plugins and running their hook chains (the core side of
 * hooks/yubin/hook.h, which is the contract; read it first).
 *
 * The master loads a generation of plugins (plugins_load) before forking;
 * every child then tells this module its process context once
 * (plugins_child_init: the store, the configuration, where to write the
 * name of the hook running, for crash reports).  The engines own the
 * struct yh_session / yh_delivery / yh_pop they pass to the chains and keep
 * their fields current; this module only reads them, except for the reply,
 * the notes and the added headers, which plugins write through accessors.
 */
#ifndef YUBIN_PLUGIN_H
#define YUBIN_PLUGIN_H

#include <stddef.h>

#include <yubin/hook.h>

#include "buf.h"

struct config;
struct envelope;
struct queue_in;
struct errlist;
struct store;

enum hook_point {
	HP_CONNECT,
	HP_HELO,
	HP_AUTH,
	HP_MAIL,
	HP_RCPT,
	HP_DATA,
	HP_QUEUED,
	HP_DISCONNECT,
	HP_DELIVER,
	HP_DELIVERED,
	HP_POP_AUTH,
	HP_COUNT
};

#define YH_NOTES_MAX	64	/* notes per scope */
#define YH_NOTE_MAX	4096	/* bytes of one note value */
#define YH_HEADER_SCAN_MAX (1024 * 1024)	/* header bytes yh_header reads */

struct yh_note {
	char	*key;
	char	*value;
};

/* answers handed to a hook, valid until it returns */
#define YH_VALUES_MAX	1024
struct yh_values {
	char	*v[YH_VALUES_MAX];
	size_t	 n;
};

#define PLUGIN_SLOTS_MAX	32	/* = the most plugins server.plugins loads */

struct yh_session {
	/* kept current by the SMTP engine */
	const char	*peer_ip;
	int		 peer_port;
	enum yh_listener listener;
	int		 local;			/* HOME/run/submit.sock */
	int		 tls;
	const char	*helo;			/* "" before HELO */
	const char	*auth_user;		/* "" */
	const struct envelope *txn;		/* NULL outside a transaction */
	int		 rcpt_local;		/* rcpt hook: 1 / 0 / -1 */
	long long	 size_param;		/* MAIL FROM SIZE=, -1 if none */
	int		 msg_fd;		/* data hook, else -1 */
	long long	 msg_size;
	const char	*qid;			/* "" before queued */
	/* written through the accessors */
	int		 reply_code;		/* 0: the default for the result */
	char		 reply_enh[16];
	char		 reply_text[512];
	struct yh_note	 notes[YH_NOTES_MAX];	/* transaction */
	size_t		 nnotes;
	struct yh_note	 snotes[YH_NOTES_MAX];	/* session */
	size_t		 nsnotes;
	void		*slot[PLUGIN_SLOTS_MAX];	/* yh_txn_slot, by plugin */
	size_t		 slot_size[PLUGIN_SLOTS_MAX];
	struct buf	 hdr_add;		/* "Name: value\n" lines to prepend */
	struct buf	 hdr_cache;		/* the message's header, unfolded */
	struct yh_values vals;			/* yh_header answers of this hook */
	int		 hdr_loaded;
	int		 msg_new_fd;		/* yh_message_replace, else -1 */
	char		**rcpt_new;		/* yh_rcpt_replace: addr, account */
	size_t		 nrcpt_new;		/* pairs in rcpt_new */
	int		 rcpt_replaced;
	struct queue_in	**copy_q;		/* yh_copy_add: written, not committed */
	struct envelope	*copy_env;
	size_t		 ncopies;
};

struct yh_delivery {
	const char	*qid;
	const char	*sender;
	const char	*rcpt;
	const char	*account;
	const char	*client_ip;
	const char	*auth_user;
	const char	*path;
	long long	 size;
	int		 reply_code;
	char		 reply_enh[16];
	char		 reply_text[512];
	int		 fd;			/* the path opened for header scans */
	struct buf	 hdr_cache;
	struct yh_values vals;
	int		 hdr_loaded;
	struct yh_note	 notes[YH_NOTES_MAX];	/* this recipient's delivery */
	size_t		 nnotes;
};

struct yh_pop {
	const char	*user;
	const char	*peer_ip;
};

/*
 * plugins_load - load the plugins of server.plugins from server.plugin_dir,
 * check each [plugin NAME] section against the keys the plugin declares,
 * and let each build its next generation (init); only when all succeeded
 * commit them, so the new generation replaces the running one (plugins no
 * longer named get fini()).  On failure every problem is in ERRS, what was
 * built is discarded and the running generation stays exactly as it was.
 * 0 or -1.
 */
int	plugins_load(const struct config *cfg, struct errlist *errs);
/* plugins_unload - fini() and dlclose() everything (master exit). */
void	plugins_unload(void);
/* plugins_describe - one line per loaded plugin, "NAME hooks=a,b,c", into OUT. */
void	plugins_describe(struct buf *out);

/*
 * plugins_child_init - a child's context: its store (NULL in the master),
 * configuration, and TRACE (TRACESIZE bytes, in shared memory; may be NULL)
 * where "plugin=NAME hook=HOOK" is written while a hook runs.
 */
void	plugins_child_init(struct store *s, const struct config *cfg,
	    char *trace, size_t tracesize);
/* plugins_process_init - each plugin's init_process(KIND), in order, in a
 * child after fork and privilege drop (after plugins_child_init). */
void	plugins_process_init(enum yh_process kind);
/* plugins_config - this process's configuration (the one being loaded
 * during init()); NULL before any.  Borrowed. */
const struct config *plugins_config(void);
/* plugins_hook_deadline - while a hook runs, the monotonic time (now_ms)
 * at which server.hook_timeout abandons it; 0 outside a hook.  yh_spawn
 * ends its waits before it. */
long long plugins_hook_deadline(void);
/* plugins_set_qid - the queue id yh_log lines start with ("" = NOQUEUE). */
void	plugins_set_qid(const char *qid);
/* plugins_tainted - 1 after a hook timed out: the worker should exit after
 * its session. */
int	plugins_tainted(void);
/*
 * plugins_on_timeout - in this process a hook past server.hook_timeout
 * calls FN(plugin, hook) from the SIGALRM handler instead of being
 * abandoned with siglongjmp; FN must only do async-signal-safe work and
 * must not return (the process _exits if it does).  The delivery agents
 * use it: they report and end, never carrying on after a broken hook.
 */
void	plugins_on_timeout(void (*fn)(const char *plugin, const char *hook));
/* plugins_count - the number of plugins loaded. */
size_t	plugins_count(void);
/* plugins_any - 1 when some loaded plugin serves hook point HP. */
int	plugins_any(enum hook_point hp);

/* Chains.  Decision chains return the first non-DECLINED result (YH_*),
 * YH_DECLINED when no plugin decided; notification chains return nothing. */
int	plugin_smtp(enum hook_point hp, struct yh_session *s, const char *arg);
void	plugin_smtp_notify(enum hook_point hp, struct yh_session *s);
int	plugin_deliver(struct yh_delivery *d);
void	plugin_delivered(struct yh_delivery *d);
void	plugin_pop_auth(struct yh_pop *p);

/* hook_session_init / _txn_reset / _free - the engine's side of the session. */
void	hook_session_init(struct yh_session *s);
void	hook_session_txn_reset(struct yh_session *s);
/* hook_session_copies - the copies yh_copy_add wrote in this transaction:
 * their number; *QS and *ENVS point at the session's arrays, to commit with
 * the message (queue_in_commit_set takes the files; the session forgets
 * them in its next reset).  A reset aborts the ones not committed. */
size_t	hook_session_copies(struct yh_session *s, struct queue_in ***qs,
	    struct envelope **envs);
void	hook_session_free(struct yh_session *s);
/* hook_session_rcpt_apply - after the data hook: when a plugin called
 * yh_rcpt_replace, ENV's recipients become that list.  1 replaced, 0 not. */
int	hook_session_rcpt_apply(struct yh_session *s, struct envelope *env);
void	hook_delivery_init(struct yh_delivery *d);
void	hook_delivery_free(struct yh_delivery *d);


#endif
