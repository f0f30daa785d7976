/*
 * priv - privilege drop for every child process (STYLE rule 14).
 */
#ifndef YUBIN_PRIV_H
#define YUBIN_PRIV_H

#include <sys/types.h>

struct config;

/*
 * priv_lookup - the uid/gid the children run as: server.user/server.group,
 * or "nobody"/"nogroup" when started as root with no user set; when not
 * root, the current ids.  0, or -1 with *why_r (owned) for an unknown user
 * or group, or for server.user = root.
 */
int	priv_lookup(const struct config *cfg, uid_t *uid_r, gid_t *gid_r,
	    char **why_r);
/*
 * priv_drop - setgroups, setresgid, setresuid to UID/GID, then check that
 * root cannot be regained.  Does nothing when not running as root.  Any
 * failure is fatal (log_fatal): a child must never run with more.
 */
void	priv_drop(uid_t uid, gid_t gid);

#endif
