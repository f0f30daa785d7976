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

static struct {
	long long	 timeout_ms;
	long long	 grace_ms;
	long long	 max_running;
	int		 use_stdin;
	long long	 output_max;
	char		 path[1024];
	char		 lang[64];
	char		 sendmail[PATH_MAX];
	char		 conf[PATH_MAX];	/* "": yh_config_file */
} E;

/* ---- configuration ------------------------------------------------------ */

/* duration_ms - "30", "30s", "2m", "1h", "500ms" in milliseconds; -1 bad. */
static long long
duration_ms(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || v > 86400LL * 365)
		return -1;
	if (strcmp(end, "ms") == 0)
		return v;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return v * 1000;
	if (strcmp(end, "m") == 0)
		return v * 60000;
	if (strcmp(end, "h") == 0)
		return v * 3600000;
	return -1;
}

static int
conf_num(const struct yh_config *cfg, const char *key, long long def,
    long long min, long long max, int is_duration, long long *out)
{
	const char *v = yh_config_get(cfg, key);
	char *end;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (is_duration)
		*out = duration_ms(v);
	else {
		errno = 0;
		*out = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			*out = -1;
	}
	if (*out < min || *out > max) {
		yh_error("[plugin exec] %s: bad value \"%s\"", key, v);
		return -1;
	}
	return 0;
}

static const char *const exec_keys[] = {
	"conf", "lang", "path", "sendmail", "timeout",
	    "kill_grace", "max_running", "output_max", "stdin", NULL
};

static int
exec_init(const struct yh_config *cfg)
{
	const char *v;
	long long n;
	int bad = 0;

	/* a misspelt key would silently keep its default */
	if (yh_config_known(cfg, "exec", exec_keys) != 0)
		return -1;

	memset(&E, 0, sizeof(E));
	bad |= conf_num(cfg, "timeout", 60000, 1, 86400000, 1, &E.timeout_ms);
	bad |= conf_num(cfg, "kill_grace", 2000, 0, 600000, 1, &E.grace_ms);
	bad |= conf_num(cfg, "max_running", 16, 1, EXEC_RUNNING_CAP, 0, &E.max_running);
	bad |= conf_num(cfg, "output_max", 2048, 0, 1 << 20, 0, &E.output_max);
	bad |= conf_num(cfg, "stdin", 0, 0, 1, 0, &n);
	E.use_stdin = (int)n;
	v = yh_config_get(cfg, "path");
	if (v == NULL)
		v = "/usr/local/bin:/usr/bin:/bin";
	if (snprintf(E.path, sizeof(E.path), "%s", v) >= (int)sizeof(E.path)) {
		yh_error("[plugin exec] path: too long");
		bad = -1;
	}
	v = yh_config_get(cfg, "lang");
	snprintf(E.lang, sizeof(E.lang), "%s", v ? v : "C.UTF-8");
	/* unset, the core finds yubin-sendmail in path and gives programs
	 * the configuration file yubind runs with (yh_config_file) */
	v = yh_config_get(cfg, "sendmail");
	if (v && snprintf(E.sendmail, sizeof(E.sendmail), "%s", v) >=
	    (int)sizeof(E.sendmail)) {
		yh_error("[plugin exec] sendmail: too long");
		bad = -1;
	}
	v = yh_config_get(cfg, "conf") ? yh_config_path(cfg, "conf", NULL) : NULL;
	if (v && snprintf(E.conf, sizeof(E.conf), "%s", v) >= (int)sizeof(E.conf)) {
		yh_error("[plugin exec] conf: too long");
		bad = -1;
	}
	return bad ? -1 : 0;
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
	.init = exec_init,
	.hooks = &exec_hooks,
};
