/*
 * master - listeners, worker pools, the queue manager, signals.
 *
 * The master runs as the user that started yubind (root to bind low ports);
 * it never reads network input: the only bytes it writes to a client are
 * the fixed "too busy" reply when a pool is at its maximum.  Children drop
 * privileges (priv_drop) before their first network byte and open the LMDB
 * store after fork.
 */
#ifndef YUBIN_MASTER_H
#define YUBIN_MASTER_H

#include <stddef.h>

struct config;

struct master_opts {
	const char	*cfg_path;	/* NULL: compiled-in defaults */
	char *const	*defs;		/* -D overrides, re-applied on reload */
	size_t		 ndefs;
	int		 foreground;
};

/*
 * master_listen - bind every configured listener (master_announce tells).
 * 0, or -1 after logging why (yubind exits 2).
 */
int	master_listen(const struct config *cfg);
/*
 * master_announce - write HOME/run/plugins, then HOME/run/ports: after the
 * pid file, so whoever sees the ports (a supervisor, a test) finds the pid
 * file too.  0 or -1 (logged).
 */
int	master_announce(const struct config *cfg);
/* master_run - pools and signals until stopped; returns the exit status.
 * Takes ownership of CFG. */
int	master_run(struct config *cfg, const struct master_opts *opts);
/*
 * child_unblock - in a child the master forked (its signals blocked across
 * the fork), once the child's own handlers are set: a signal that came
 * meanwhile (a stop just after the start) reaches them now.
 */
void	child_unblock(void);

#endif
