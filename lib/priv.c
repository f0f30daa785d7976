/*
 * priv.c - find the server user and drop to it; see priv.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "priv.h"
#include "util.h"

int
priv_lookup(const struct config *cfg, uid_t *uid_r, gid_t *gid_r, char **why_r)
{
	const char *user = config_str(cfg, "server.user");
	const char *group = config_str(cfg, "server.group");
	struct passwd *pw;
	struct group *gr;

	if (geteuid() != 0) {
		*uid_r = geteuid();
		*gid_r = getegid();
		return 0;
	}
	if (*user == '\0')
		user = "nobody";
	pw = getpwnam(user);
	if (pw == NULL) {
		*why_r = xasprintf("server.user: no such user '%s'", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		*why_r = xasprintf("server.user: '%s' is root; yubin will not "
		    "run its workers as root", user);
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	if (*group == '\0' && strcmp(user, "nobody") == 0 &&
	    getgrnam("nogroup") != NULL)
		group = "nogroup";
	if (*group) {
		gr = getgrnam(group);
		if (gr == NULL) {
			*why_r = xasprintf("server.group: no such group '%s'", group);
			return -1;
		}
		*gid_r = gr->gr_gid;
	}
	return 0;
}

void
priv_drop(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return;
	if (setgroups(1, &gid) == -1)
		log_fatal("setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) == -1)
		log_fatal("setresgid: %s", strerror(errno));
	if (setresuid(uid, uid, uid) == -1)
		log_fatal("setresuid: %s", strerror(errno));
	if (setuid(0) != -1 || geteuid() == 0)
		log_fatal("privilege drop failed: root could be regained");
}
