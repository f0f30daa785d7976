/*
 * paths.c - configuration file lookup and the home layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "paths.h"
#include "priv.h"
#include "util.h"

static const char *const home_dirs[] = {
	"mailbox", "queue", "deadmail", "dustbox", "state", "log", "run",
	"viruslog",
};

const char *
paths_default_config(void)
{
	const char *env = getenv("YUBIN_CONF");

	if (env && *env)
		return env;
	if (access(SYSCONFDIR "/yubin.conf", F_OK) == 0)
		return SYSCONFDIR "/yubin.conf";
	return NULL;
}

/* chown_dir - give the folder PATH to UID/GID through an fd opened with
 * O_NOFOLLOW: root never chowns what a planted link points to.  0 or -1. */
static int
chown_dir(const char *path, uid_t uid, gid_t gid)
{
	int fd, r, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	r = fchown(fd, uid, gid);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
paths_setup(const struct config *cfg, uid_t uid, gid_t gid, const char **what_r)
{
	static char what[PATH_MAX];
	const char *home = config_home(cfg);
	char *extra[2];
	size_t i;
	int r = 0;

	if (mkdir_p(home, 0755) == -1) {
		snprintf(what, sizeof(what), "%s", home);
		*what_r = what;
		return -1;
	}
	for (i = 0; i < sizeof(home_dirs) / sizeof(home_dirs[0]); i++) {
		snprintf(what, sizeof(what), "%s/%s", home, home_dirs[i]);
		if (mkdir(what, 0750) == -1 && errno != EEXIST)
			goto fail;
		if (uid != (uid_t)-1 && chown_dir(what, uid, gid) == -1)
			goto fail;
	}
	extra[0] = paths_mailbox_root(cfg);
	extra[1] = paths_dustbox_root(cfg);
	for (i = 0; i < 2 && r == 0; i++) {
		snprintf(what, sizeof(what), "%s", extra[i]);
		if (mkdir_p(extra[i], 0750) == -1 ||
		    (uid != (uid_t)-1 && chown_dir(extra[i], uid, gid) == -1 &&
		    errno != ELOOP))	/* a link the admin made: left as is */
			r = -1;
	}
	free(extra[0]);
	free(extra[1]);
	if (r == -1) {
		*what_r = what;
		return -1;
	}
	return 0;
fail:
	*what_r = what;
	return -1;
}

int
paths_run_dir(const struct config *cfg)
{
	char *path = xasprintf("%s/run", config_home(cfg));
	char *why = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid;
	int fd, saved;

	if (priv_lookup(cfg, &uid, &gid, &why) == -1) {
		free(why);
		uid = (uid_t)-1;
	}
	fd = dir_open_verified(path, uid);
	saved = errno;
	free(path);
	errno = saved;
	return fd;
}

#define TPL_USERNAME	"%USERNAME%"
#define TPL_HOME	"%HOME%"

/* tpl_var - the length of the variable "%WORD%" at P (WORD: letters,
 * digits, '_'), or 0 when P opens none. */
static size_t
tpl_var(const char *p)
{
	size_t n = 1;

	if (p[0] != '%')
		return 0;
	while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') ||
	    (p[n] >= '0' && p[n] <= '9') || p[n] == '_')
		n++;
	return n > 1 && p[n] == '%' ? n + 1 : 0;
}

int
paths_template_check(const char *text, char *why, size_t whysize)
{
	const char *p;
	size_t n;

	for (p = text; *p; p++) {
		if ((n = tpl_var(p)) == 0)
			continue;
		if (n == sizeof(TPL_HOME) - 1 && strncmp(p, TPL_HOME, n) == 0) {
			p += n - 1;
			continue;
		}
		if (n == sizeof(TPL_USERNAME) - 1 &&
		    strncmp(p, TPL_USERNAME, n) == 0) {
			if (p[n] != '\0' || p == text || p[-1] != '/') {
				snprintf(why, whysize, "%s must be the last "
				    "folder of the path (\"ROOT/%s\")",
				    TPL_USERNAME, TPL_USERNAME);
				return -1;
			}
			if (p - 1 == text) {
				snprintf(why, whysize, "no mailbox root before "
				    "/%s", TPL_USERNAME);
				return -1;
			}
			p += n - 1;
			continue;
		}
		snprintf(why, whysize, "unknown variable %.*s (expected %s or "
		    "%s)", n > 64 ? 64 : (int)n, p, TPL_USERNAME, TPL_HOME);
		return -1;
	}
	return 0;
}

char *
paths_mailbox_root(const struct config *cfg)
{
	const char *p = config_str(cfg, "server.mailbox_path");
	size_t hl = sizeof(TPL_HOME) - 1;
	struct buf b;

	if (*p == '\0')
		return xasprintf("%s/mailbox", config_home(cfg));
	/* the value passed paths_template_check at load */
	buf_init(&b, 0);
	for (; *p; p++) {
		if (strncmp(p, TPL_HOME, hl) == 0) {
			buf_puts(&b, config_home(cfg));
			p += hl - 1;
		} else if (strcmp(p, "/" TPL_USERNAME) == 0)
			break;
		else
			buf_putc(&b, *p);
	}
	return buf_steal(&b);
}

char *
paths_dustbox_root(const struct config *cfg)
{
	const char *p = config_str(cfg, "server.dustbox_path");

	return *p ? xstrdup(p) : xasprintf("%s/dustbox", config_home(cfg));
}

char *
paths_account_dir(const struct config *cfg, const char *name)
{
	char *root = paths_mailbox_root(cfg);
	char *p = xasprintf("%s/%s", root, name);

	free(root);
	return p;
}
