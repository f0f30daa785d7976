/*
 * exec - per-mailbox application hooks (SEEDS.md §16, issue 8, F086-F091).
 *
 * After a message is stored for an account (`delivered` hook, queue
 * manager), run MAILBOX/ACCOUNT/exec.def, then exec2.def, exec3.def ...
 * exec99.def, stopping at the first missing number.  Each file:
 *
 *	bin=PROGRAM [ARG ...]		a "quoted path" may hold spaces; a bare
 *					name is looked up in [plugin exec] path
 *	param1=VALUE ... param99=VALUE	appended until the first gap; a value
 *					FROM_ADDRESS, TO_ADDRESS, SUBJECT or
 *					MAILFILE_PATH is replaced as a whole
 *	permission_mailaddress=a@b,domain	only these senders run it
 *
 * The program runs through yh_spawn, the core's runner that every plugin
 * shares (hooks/yubin/hook.h): no shell, ever -- fork + execve of the argv
 * built from bin= and the params; the subject (decoded to UTF-8) is one
 * argument however it looks; a clean environment (PATH, HOME, LANG,
 * YUBIN_CONF, YUBIN_FROM, YUBIN_TO, YUBIN_QUEUE_ID), the account folder as
 * working folder, stdin /dev/null (or the message with [plugin exec]
 * stdin = 1, the seed's first form), stdout and stderr to the log,
 * escaped and bounded, as the server user; MAILFILE_PATH a private hard
 * link of the stored message, valid while the program runs; [plugin exec]
 * timeout (SIGTERM to its group, then SIGKILL after kill_grace) and
 * max_running enforced, waits kept within server.hook_timeout.
 *
 * SECURITY.  A def file that is a symlink, not a regular file, writable by
 * group or others, or owned by anyone but root or the server user is
 * refused (yh_read_safe; logged, not run) -- the .forward rules of
 * sendmail and Postfix.  A missing or failing program is logged and never
 * touches the stored mail.
 *
 * WAITING.  application_cooperation_wait_for_apl_end (server or the
 * account's config.def): 1 = the queue manager waits for each program, so
 * the next program, forward and reply come after it; 0 = fire and forget:
 * a supervisor process watches it.
 *
 * [plugin exec] keys: timeout (60s), kill_grace (2s), max_running (16),
 * stdin (0), path (/usr/local/bin:/usr/bin:/bin), output_max (2048 bytes),
 * lang (C.UTF-8), sendmail (the yubin-sendmail program a bin= naming
 * "sendmail"/"sendmail.exe"/"yubin-sendmail" is mapped to; default: found
 * in path), conf (the YUBIN_CONF given to programs; default the file yubind
 * runs with, yh_config_file; none on compiled-in defaults).
 *
 * Order after storing: server.plugins = "exec forward autoreply" runs the
 * exec chain, then forwarding, then the auto-reply (SEEDS.md §16.2).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yubin/hook.h>

#include "lib/plugutil.h"

#define EXEC_DEF_MAX	99		/* exec.def .. exec99.def (seed) */
#define EXEC_PARAM_MAX	99		/* param1 .. param99 (seed) */
#define EXEC_FILE_MAX	65536		/* a def file; the seed's are a few lines */
#define EXEC_RUNNING_CAP 1024		/* ceiling of max_running */

struct exec_conf {
	long long	 timeout_ms;
	long long	 grace_ms;
	long long	 max_running;
	int		 use_stdin;
	long long	 output_max;
	char		 path[1024];
	char		 lang[64];
	char		 sendmail[PATH_MAX];
	char		 conf[PATH_MAX];	/* "": yh_config_file */
};

static struct exec_conf E;	/* the running generation */

/* ---- configuration ------------------------------------------------------ */

static const struct yh_key exec_keys[] = {
	{ "timeout",	 YH_KEY_DURATION, "60s",  1, 86400000 },
	{ "kill_grace",	 YH_KEY_DURATION, "2s",   0, 600000 },
	{ "max_running", YH_KEY_INT,      "16",   1, EXEC_RUNNING_CAP },
	{ "output_max",	 YH_KEY_SIZE,     "2048", 0, 1 << 20 },
	{ "stdin",	 YH_KEY_BOOL,     "0",    0, 0 },
	{ "path",	 YH_KEY_STRING,   "/usr/local/bin:/usr/bin:/bin", 0, 0 },
	{ "lang",	 YH_KEY_STRING,   "C.UTF-8", 0, 0 },
	{ "sendmail",	 YH_KEY_STRING,   NULL,   0, 0 },
	{ "conf",	 YH_KEY_PATH,     NULL,   0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* conf_copy - [plugin exec] KEY (NULL: "") into DST; 0, or -1 (yh_error)
 * when it does not fit. */
static int
conf_copy(char *dst, size_t size, const char *key, const char *v)
{
	if (pu_scopy(dst, size, v ? v : "") == -1) {
		yh_error("[plugin exec] %s: longer than %zu bytes", key, size - 1);
		return -1;
	}
	return 0;
}

/* exec_init - the next generation's settings (the core checked them). */
static int
exec_init(const struct yh_config *cfg, void **gen)
{
	struct exec_conf *c = calloc(1, sizeof(*c));
	int bad = 0;

	if (c == NULL) {
		yh_error("[plugin exec] out of memory");
		return -1;
	}
	c->timeout_ms = yh_config_duration(cfg, "timeout");
	c->grace_ms = yh_config_duration(cfg, "kill_grace");
	c->max_running = yh_config_int(cfg, "max_running");
	c->output_max = yh_config_size(cfg, "output_max");
	c->use_stdin = yh_config_bool(cfg, "stdin");
	bad |= conf_copy(c->path, sizeof(c->path), "path",
	    yh_config_str(cfg, "path"));
	bad |= conf_copy(c->lang, sizeof(c->lang), "lang",
	    yh_config_str(cfg, "lang"));
	/* unset, the core finds yubin-sendmail in path and gives programs
	 * the configuration file yubind runs with (yh_config_file) */
	bad |= conf_copy(c->sendmail, sizeof(c->sendmail), "sendmail",
	    yh_config_str(cfg, "sendmail"));
	bad |= conf_copy(c->conf, sizeof(c->conf), "conf",
	    yh_config_path(cfg, "conf"));
	if (bad) {
		free(c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
exec_commit(void *gen)
{
	E = *(struct exec_conf *)gen;
	free(gen);
}

static void
exec_discard(void *gen)
{
	free(gen);
}

/* ---- def files ---------------------------------------------------------- */

struct def {
	char	*bin;
	char	*param[EXEC_PARAM_MAX + 1];	/* 1-based */
	char	*permit;
};

static void
def_free(struct def *d)
{
	int i;

	free(d->bin);
	free(d->permit);
	for (i = 0; i <= EXEC_PARAM_MAX; i++)
		free(d->param[i]);
	memset(d, 0, sizeof(*d));
}

/*
 * def_load - open PATH safely and parse it.  1 loaded, 0 missing, -1
 * refused or unreadable (logged).
 */
static int
def_load(const char *path, struct def *d)
{
	char *data, *line, *next, why[128];
	int r, lineno = 0;

	memset(d, 0, sizeof(*d));
	r = yh_read_safe(path, EXEC_FILE_MAX, &data, NULL, why, sizeof(why));
	if (r != 1) {
		if (r == -1)
			yh_log(YH_LOG_WARN, "%s: refused: %s", path, why);
		return r;
	}
	/* line by line, empty ones counted, so warnings name the right line */
	for (line = data; line; line = next) {
		char *eq, *key, *val;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		line = pu_trim(line);
		if (*line == '\0' || *line == '#' || strncmp(line, "//", 2) == 0)
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			yh_log(YH_LOG_WARN, "%s:%d: expected key=value", path, lineno);
			continue;
		}
		*eq = '\0';
		key = pu_trim(line);
		val = pu_trim(eq + 1);
		if (strcasecmp(key, "bin") == 0) {
			free(d->bin);
			d->bin = strdup(val);
		} else if (strcasecmp(key, "permission_mailaddress") == 0) {
			free(d->permit);
			d->permit = strdup(val);
		} else if (strncasecmp(key, "param", 5) == 0 &&
		    isdigit((unsigned char)key[5])) {
			char *end;
			long i = strtol(key + 5, &end, 10);

			if (*end || i < 1 || i > EXEC_PARAM_MAX) {
				yh_log(YH_LOG_WARN, "%s:%d: bad key \"%s\"", path,
				    lineno, key);
				continue;
			}
			free(d->param[i]);
			d->param[i] = strdup(val);
		} else
			yh_log(YH_LOG_WARN, "%s:%d: unknown key \"%s\" ignored",
			    path, lineno, key);
	}
	free(data);
	if (d->bin == NULL || *d->bin == '\0') {
		yh_log(YH_LOG_WARN, "%s: no bin= line; not run", path);
		def_free(d);
		return -1;
	}
	return 1;
}

/* permitted - PERMIT ("a@b,domain,...") allows SENDER? */
static int
permitted(const char *permit, const char *sender)
{
	const char *at = strrchr(sender, '@');
	char *copy, *tok, *save = NULL;
	int ok = 0;

	if (permit == NULL || *pu_trim((char *)permit) == '\0')
		return 1;
	if (*sender == '\0')
		return 0;		/* <> is nobody's address */
	copy = strdup(permit);
	if (copy == NULL)
		return 0;
	for (tok = strtok_r(copy, ", \t", &save); tok && !ok;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (strchr(tok, '@'))
			ok = strcasecmp(tok, sender) == 0;
		else {
			if (*tok == '@')
				tok++;
			ok = at && strcasecmp(tok, at + 1) == 0;
		}
	}
	free(copy);
	return ok;
}

/*
 * run_def - start D's program for delivery DV through yh_spawn.
 */
static void
run_def(struct yh_delivery *dv, const char *label, const struct def *d,
    int wait)
{
	struct yh_spawn sp = YH_SPAWN_INIT;
	const char *args[EXEC_PARAM_MAX + 1];
	int i, n = 0;

	for (i = 1; i <= EXEC_PARAM_MAX && d->param[i]; i++)
		args[n++] = d->param[i];	/* until the first gap */
	args[n] = NULL;
	sp.label = label;
	sp.command = d->bin;
	sp.args = args;
	sp.dlv = dv;
	sp.path = E.path;
	sp.sendmail = E.sendmail[0] ? E.sendmail : NULL;
	sp.lang = E.lang;
	sp.conf = E.conf[0] ? E.conf : NULL;
	sp.wait = wait;
	sp.stdin_message = E.use_stdin;
	sp.timeout_ms = E.timeout_ms;
	sp.kill_grace_ms = E.grace_ms;
	sp.output_max = E.output_max;
	sp.max_running = E.max_running;
	(void)yh_spawn(&sp, NULL);	/* logged either way */
}

static void
exec_delivered(struct yh_delivery *dv)
{
	const char *account = yh_dlv_account(dv);
	char acctdir[PATH_MAX], path[PATH_MAX + 80], label[64], val[16];
	char full[PATH_MAX + 80];
	struct def d;
	int i, r, wait;

	if (account == NULL || *account == '\0' ||
	    yh_account_dir(account, acctdir, sizeof(acctdir)) == -1)
		return;
	wait = yh_account_get(account, "application_cooperation_wait_for_apl_end",
	    val, sizeof(val)) != NULL && strcmp(val, "1") == 0;
	for (i = 1; i <= EXEC_DEF_MAX; i++) {
		if (i == 1)
			snprintf(label, sizeof(label), "exec.def");
		else
			snprintf(label, sizeof(label), "exec%d.def", i);
		snprintf(path, sizeof(path), "%s/%s", acctdir, label);
		r = def_load(path, &d);
		if (r == 0)
			break;		/* the chain ends at the first missing number */
		if (r == -1)
			continue;	/* refused: logged, the next one still runs */
		if (!permitted(d.permit, yh_dlv_sender(dv)))
			yh_log(YH_LOG_INFO, "%s/%s: sender <%s> not in "
			    "permission_mailaddress; not run", account, label,
			    yh_dlv_sender(dv));
		else {
			snprintf(full, sizeof(full), "%s/%s", account, label);
			run_def(dv, full, &d, wait);
		}
		def_free(&d);
	}
}

static const struct yh_hooks exec_hooks = {
	YH_HOOKS_INIT,
	.delivered = exec_delivered,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "exec",
	.keys = exec_keys,
	.init = exec_init,
	.commit = exec_commit,
	.discard = exec_discard,
	.hooks = &exec_hooks,
};
