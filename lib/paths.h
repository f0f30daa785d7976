/*
 * paths - where things are: the configuration file in use and the home
 * layout (DESIGN.md §7).
 */
#ifndef YUBIN_PATHS_H
#define YUBIN_PATHS_H

#include <stddef.h>
#include <sys/types.h>

struct config;

/* paths_default_config - $YUBIN_CONF, else SYSCONFDIR/yubin.conf when it
 * exists, else NULL (compiled-in defaults).  Borrowed. */
const char *paths_default_config(void);

/*
 * paths_setup - create HOME and its folders (mailbox, queue, deadmail,
 * dustbox, state, log, run, viruslog) when missing.  When UID/GID are not
 * -1 the folders are given to that user (the server user after privilege
 * drop); HOME itself stays owned by its creator but is made traversable.
 * 0, or -1 with the failing path in *what_r (static buffer of the call).
 */
int	paths_setup(const struct config *cfg, uid_t uid, gid_t gid,
	    const char **what_r);

/*
 * paths_run_dir - open HOME/run for the files root writes there (pid file,
 * ports, plugins, the local socket): never through a link at "run", and
 * only if it belongs to root or the server user and others cannot write it
 * (dir_open_verified).  Every file in it is then created, replaced or
 * removed through this fd (file_write_atomicat, renameat, unlinkat).  The
 * fd (O_CLOEXEC), or -1 (errno: ENOENT, ELOOP, EPERM ...).
 */
int	paths_run_dir(const struct config *cfg);
/*
 * server.mailbox_path is a template (F019, SEEDS §4.6): %HOME% stands for
 * server.home, and %USERNAME% for the account's name; %USERNAME% may only
 * be the last folder ("%HOME%/boxes/%USERNAME%"), so an account's folder
 * is always ROOT/NAME and the root is what precedes it.  A template
 * without %USERNAME% is the root itself ("/srv/mail": /srv/mail/NAME).
 * paths_template_check - 0 when TEXT is such a template, else -1 with the
 * reason in WHY (WHYSIZE bytes): an unknown %VAR%, %USERNAME% elsewhere
 * than the end, or no root left.  A '%' that opens no %WORD% is literal.
 */
int	paths_template_check(const char *text, char *why, size_t whysize);
/* paths_mailbox_root - server.mailbox_path expanded (without its
 * "/%USERNAME%"), or HOME/mailbox; owned. */
char	*paths_mailbox_root(const struct config *cfg);
/* paths_dustbox_root - server.dustbox_path or HOME/dustbox; owned. */
char	*paths_dustbox_root(const struct config *cfg);
/* paths_account_dir - mailbox root + "/" + NAME (NAME must be valid); owned. */
char	*paths_account_dir(const struct config *cfg, const char *name);

#endif
