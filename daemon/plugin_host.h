/*
 * plugin_host.h - what the files of the plugin host share: plugin.c
 * (loading, generations, hook chains), plugin_api.c (the session,
 * delivery, POP3, store and logging accessors), plugin_config.c (the
 * configuration accessors and declared keys) and plugin_inject.c (new
 * messages from plugins).  Private to them; the engines use plugin.h.
 */
#ifndef YUBIN_PLUGIN_HOST_H
#define YUBIN_PLUGIN_HOST_H

#include <limits.h>
#include <setjmp.h>
#include <signal.h>

#include "buf.h"
#include "plugin.h"
#include "queue.h"

#define PLUGINS_MAX	PLUGIN_SLOTS_MAX	/* plugins in server.plugins */
#define TXN_SLOT_MAX	65536	/* bytes of one yh_txn_slot */
#define PLUGIN_KEY_MAX	512	/* namespaced store key */
#define INJECT_RCPT_MAX	1000	/* recipients of one injected message */
#define INJECT_ONCE_MAX	200	/* bytes of a yh_inject_once key */
#define INJECT_ONCE_TTL	(30LL * 86400)	/* how long its marker is kept */

struct cfg_key;
struct cfg_val;

/* yh_config: the handle init() gets for its section, with the keys the
 * plugin declared, checked and parsed (plugin_keys_load) */
struct yh_config {
	const struct config	*cfg;
	const char		*name;
	struct buf		 pathbuf;
	struct cfg_key		*keys;		/* the declared table, as the
						 * core's parser takes it */
	struct cfg_val		*vals;		/* each key's value or default */
	unsigned char		*set;		/* 0: unset, no default */
	size_t			 nkeys;
};

/* one plugin of a generation */
struct loaded {
	char			 name[64];
	void			*handle;
	const void		*sym;		/* yubin_plugin in the object */
	const struct yh_plugin	*p;		/* = &plug */
	struct yh_plugin	 plug;		/* what the plugin's size covers */
	struct yh_hooks		 hooks;		/* likewise; the rest stays NULL */
	struct yh_config	 ycfg;
	void			*gen;		/* init built it; not committed */
};

struct plugin_host {
	struct loaded		 pl[PLUGINS_MAX];
	size_t			 n;
	struct store		*store;
	const struct config	*cfg;
	char			*trace;
	size_t			 tracesize;
	const char		*current;	/* plugin whose hook/init runs */
	struct errlist		*errs;		/* during init: yh_error target */
	char			 qid[QUEUE_ID_LEN + 1];
	char			 file[PATH_MAX];	/* yh_config_file */
	int			 tainted;
	long long		 hook_deadline;	/* now_ms() the hook times out at */
	sigjmp_buf		 jmp;
	volatile sig_atomic_t	 armed;
	enum hook_point		 hp;		/* of the hook running */
	void			(*on_timeout)(const char *, const char *);
};
extern struct plugin_host ph;

/* plugin_keys_load - check C's section against KEYS, the table the
 * plugin declared, and parse every value (or default) into C; 0, or -1
 * with "FILE:LINE: message" lines in ERRS. */
int	plugin_keys_load(struct yh_config *c, const struct yh_key *keys,
	    struct errlist *errs);
/* plugin_keys_free - what plugin_keys_load kept in C. */
void	plugin_keys_free(struct yh_config *c);
/* account_cfg_forget - drop the config.def kept for the message being
 * handled (plugin_config.c); plugins_set_qid calls it at each message. */
void	account_cfg_forget(void);

/* values_clear - free the answers handed to the last hook. */
void	values_clear(struct yh_values *v);

#endif
