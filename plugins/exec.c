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
 * SECURITY.  Mail is hostile, so: no shell, ever -- fork + execve of the
 * argv built above; the subject (decoded to UTF-8) is one argument however
 * it looks.  A clean environment (PATH, HOME, LANG, YUBIN_CONF, YUBIN_FROM,
 * YUBIN_TO, YUBIN_QUEUE_ID), every descriptor but 0-2 closed, signals reset,
 * umask 077, cwd the account folder, its own process group; stdin
 * /dev/null (or the message with [plugin exec] stdin = 1, the seed's first
 * form); stdout and stderr go to the log, escaped and bounded.  It runs as
 * the server user (the queue manager's).  A def file that is a symlink,
 * not a regular file, writable by group or others, or owned by anyone but
 * root or the server user is refused (logged, not run) -- the .forward
 * rules of sendmail and Postfix.
 *
 * MAILFILE_PATH is a private hard link of the stored message in the
 * account folder (".exec-QID-PID-N.eml"), removed when the program ends,
 * so it stays valid even if a POP3 client deletes the message meanwhile.
 *
 * PROCESSES.  Each program is supervised: started, its output and exit
 * status logged, [plugin exec] timeout enforced (SIGTERM to the program's
 * group, then SIGKILL after kill_grace), its link removed.
 * application_cooperation_wait_for_apl_end (server or the account's
 * config.def): 1 = the queue manager supervises it itself and goes on only
 * when it ended, so the next program, forward and reply come after it;
 * 0 = fire and forget: a forked supervisor does the same job.
 * Forgotten supervisors stay children of the queue manager (whose SIGCHLD
 * is default) and are reaped with waitpid(pid, WNOHANG) on the next hook
 * call -- only our own pids, never waitpid(-1), so the queue manager's
 * other children are left alone.  At most [plugin exec] max_running
 * supervisors live at once; past it the hook waits for one to end.  The
 * waits of one hook call share server.hook_timeout less a margin, so the
 * core's hook timeout never fires: a waited program is killed at its
 * timeout or when that budget ends, whichever comes first, and once the
 * budget is used up the rest run without waiting (logged).  A missing or failing program
 * is logged and never touches the stored mail.
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
#include <fcntl.h>
#include <iconv.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#define EXEC_DEF_MAX	99		/* exec.def .. exec99.def (seed) */
#define EXEC_PARAM_MAX	99		/* param1 .. param99 (seed) */
#define EXEC_FILE_MAX	65536		/* a def file; the seed's are a few lines */
#define EXEC_ARGV_MAX	(EXEC_PARAM_MAX + 64)	/* bin words + params */
#define EXEC_RUNNING_CAP 1024		/* ceiling of max_running */
#define EXEC_SUBJECT_MAX 4096		/* a decoded SUBJECT argument */
#define EXEC_MARGIN_MS	1000		/* kept from server.hook_timeout */

static struct {
	long long	 timeout_ms;
	long long	 grace_ms;
	long long	 max_running;
	int		 use_stdin;
	long long	 output_max;
	char		 path[1024];
	char		 lang[64];
	char		 sendmail[PATH_MAX];
	char		 conf[PATH_MAX];
	pid_t		 running[EXEC_RUNNING_CAP];	/* supervisors not yet reaped */
	size_t		 nrunning;
	unsigned	 seq;
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

/* find_in_path - NAME in the colon list PATH, as an executable regular
 * file, into OUT.  0 or -1. */
static int
find_in_path(const char *path, const char *name, char *out, size_t size)
{
	const char *p = path, *c;
	struct stat st;

	while (*p) {
		size_t l;

		c = strchr(p, ':');
		l = c ? (size_t)(c - p) : strlen(p);
		if (l > 0 && p[0] == '/' &&
		    snprintf(out, size, "%.*s/%s", (int)l, p, name) < (int)size &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
		p = c ? c + 1 : p + l;
	}
	return -1;
}

static int
exec_init(const struct yh_config *cfg)
{
	const char *v;
	long long n;
	int bad = 0;

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
	v = yh_config_get(cfg, "sendmail");
	if (v)
		snprintf(E.sendmail, sizeof(E.sendmail), "%s", v);
	else if (find_in_path(E.path, "yubin-sendmail", E.sendmail,
	    sizeof(E.sendmail)) == -1)
		E.sendmail[0] = '\0';
	/* the file yubind runs with: yubin-sendmail finds the same server */
	v = yh_config_get(cfg, "conf") ? yh_config_path(cfg, "conf", NULL) :
	    yh_config_file();
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

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * def_load - open PATH safely and parse it.  1 loaded, 0 missing, -1
 * refused or unreadable (logged).
 */
static int
def_load(const char *path, struct def *d)
{
	char *data, *line, *save = NULL, why[128];
	int r, lineno = 0;

	memset(d, 0, sizeof(*d));
	r = yh_read_safe(path, EXEC_FILE_MAX, &data, NULL, why, sizeof(why));
	if (r != 1) {
		if (r == -1)
			yh_log(YH_LOG_WARN, "%s: refused: %s", path, why);
		return r;
	}
	for (line = strtok_r(data, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key, *val;

		lineno++;
		line = trim(line);
		if (*line == '\0' || *line == '#' || strncmp(line, "//", 2) == 0)
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			yh_log(YH_LOG_WARN, "%s:%d: expected key=value", path, lineno);
			continue;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
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

	if (permit == NULL || *trim((char *)permit) == '\0')
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

/* split_bin - BIN into words: white space separates, "double quotes"
 * group (no escapes: Windows paths keep their backslashes).  Returns the
 * count, or -1 (too many, unbalanced quote). */
static int
split_bin(char *bin, char **argv, int max)
{
	char *r = bin, *w = bin;
	int n = 0, quote;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0')
			return n;
		if (n == max)
			return -1;
		argv[n++] = w;
		quote = 0;
		while (*r && (quote || (*r != ' ' && *r != '\t'))) {
			if (*r == '"')
				quote = !quote;
			else
				*w++ = *r;
			r++;
		}
		if (quote)
			return -1;
		if (*r)
			r++;
		*w++ = '\0';
	}
}

/* is_sendmail - the seed's tool under any of its names and paths. */
static int
is_sendmail(const char *prog)
{
	const char *b = prog, *p;

	for (p = prog; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return strcasecmp(b, "sendmail") == 0 || strcasecmp(b, "sendmail.exe") == 0 ||
	    strcasecmp(b, "yubin-sendmail") == 0;
}

/* ---- SUBJECT ------------------------------------------------------------ */

static int
utf8_ok(const unsigned char *p, size_t len)
{
	size_t i = 0, n, k;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = p[i] >= 0xc2 && p[i] <= 0xdf ? 1 : p[i] >= 0xe0 && p[i] <= 0xef ?
		    2 : p[i] >= 0xf0 && p[i] <= 0xf4 ? 3 : 0;
		if (n == 0)
			return 0;
		for (k = 1; k <= n; k++)
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return 0;
		i += n + 1;
	}
	return 1;
}

/* conv_append - LEN bytes in CHARSET appended to OUT (SIZE, *OL used) as
 * UTF-8; invalid input becomes '?'. */
static void
conv_append(const char *charset, const char *in, size_t len, char *out,
    size_t size, size_t *ol)
{
	iconv_t cd;
	char *ip = (char *)in, *op;
	size_t il = len, left;

	if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "us-ascii") == 0) {
		if (utf8_ok((const unsigned char *)in, len)) {
			if (*ol + len < size) {
				memcpy(out + *ol, in, len);
				*ol += len;
			}
			return;
		}
		charset = "CP932";
	}
	if (strcasecmp(charset, "shift_jis") == 0 || strcasecmp(charset, "sjis") == 0)
		charset = "CP932";
	else if (strcasecmp(charset, "iso-2022-jp") == 0)
		charset = "ISO-2022-JP-3";
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", "ISO-8859-1");
	if (cd == (iconv_t)-1)
		return;
	op = out + *ol;
	left = size - *ol - 1;
	while (il > 0 && left > 0) {
		if (iconv(cd, &ip, &il, &op, &left) == (size_t)-1) {
			if (errno == E2BIG)
				break;
			*op++ = '?';	/* an invalid byte: mark it, go on */
			left--;
			ip++;
			il--;
		}
	}
	iconv(cd, NULL, NULL, &op, &left);
	*ol = (size_t)(op - out);
	iconv_close(cd);
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* decode_word - the text of one encoded word (RFC 2047 B or Q) into OUT;
 * its length, or -1. */
static long
decode_word(char enc, const char *t, size_t tl, char *out)
{
	size_t i, o = 0;
	unsigned acc = 0;
	int bits = 0, v;

	if (enc == 'B' || enc == 'b') {
		for (i = 0; i < tl; i++) {
			if (t[i] == '=')
				break;
			if ((v = b64val((unsigned char)t[i])) < 0)
				return -1;
			acc = acc << 6 | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (char)(acc >> bits & 0xff);
			}
		}
		return (long)o;
	}
	for (i = 0; i < tl; i++) {
		if (t[i] == '_')
			out[o++] = ' ';
		else if (t[i] == '=' && i + 2 < tl &&
		    isxdigit((unsigned char)t[i + 1]) &&
		    isxdigit((unsigned char)t[i + 2])) {
			char hex[3] = { t[i + 1], t[i + 2], 0 };

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			out[o++] = t[i];
	}
	return (long)o;
}

/* subject_utf8 - RAW (an unfolded Subject value) decoded to UTF-8 in OUT:
 * RFC 2047 words decoded (the space between two words dropped), raw 8-bit
 * taken as UTF-8 or else Shift_JIS, control characters as spaces. */
static void
subject_utf8(const char *raw, char *out, size_t size)
{
	const char *p = raw, *q, *pending = NULL;
	size_t ol = 0, i;
	int last_word = 0;

	out[0] = '\0';
	while (*p && ol + 1 < size) {
		if (p[0] == '=' && p[1] == '?') {
			const char *cs = p + 2, *e1, *e2, *end;

			e1 = strchr(cs, '?');
			if (e1 && e1[1] && e1[2] == '?' && (e2 = e1 + 3) &&
			    (end = strstr(e2, "?=")) != NULL && e1 - cs < 40) {
				char charset[41], *dec;
				long dl;

				memcpy(charset, cs, (size_t)(e1 - cs));
				charset[e1 - cs] = '\0';
				if (strchr(charset, '*'))
					*strchr(charset, '*') = '\0';	/* RFC 2231 language */
				dec = malloc((size_t)(end - e2) + 1);
				if (dec && (dl = decode_word(e1[1], e2,
				    (size_t)(end - e2), dec)) >= 0) {
					pending = NULL;	/* drop white space between words */
					conv_append(charset, dec, (size_t)dl, out, size, &ol);
					free(dec);
					p = end + 2;
					last_word = 1;
					continue;
				}
				free(dec);
			}
		}
		if ((*p == ' ' || *p == '\t') && last_word) {
			/* white space after a word: kept only if text follows */
			if (pending == NULL)
				pending = p;
			p++;
			continue;
		}
		if (pending) {
			for (q = pending; q < p && ol + 1 < size; q++)
				out[ol++] = ' ';
			pending = NULL;
		}
		last_word = 0;
		/* a run of plain text up to the next word */
		q = p;
		while (*q && !(q[0] == '=' && q[1] == '?'))
			q++;
		{
			size_t l = (size_t)(q - p);
			int cut_ws = 0;

			/* keep trailing blanks out: they may separate two words */
			while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t')) {
				l--;
				cut_ws = 1;
			}
			conv_append("utf-8", p, l, out, size, &ol);
			if (cut_ws)
				for (i = l; i < (size_t)(q - p) && ol + 1 < size; i++)
					out[ol++] = ' ';
		}
		p = q;
	}
	out[ol < size ? ol : size - 1] = '\0';
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
}

/* ---- running ------------------------------------------------------------ */

/* reap - forget supervisors that ended (our pids only). */
static void
reap(int block_one, long long deadline_ms)
{
	size_t i;
	int st;
	pid_t r;

	for (;;) {
		for (i = 0; i < E.nrunning;) {
			r = waitpid(E.running[i], &st, WNOHANG);
			if (r == E.running[i] || (r == -1 && errno == ECHILD)) {
				E.running[i] = E.running[--E.nrunning];
				block_one = 0;
				continue;
			}
			i++;
		}
		if (!block_one || E.nrunning == 0)
			return;
		{
			struct timespec ts;
			long long now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
			if (now >= deadline_ms)
				return;
		}
		poll(NULL, 0, 5);	/* a supervisor is bounded by the timeout */
	}
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
close_from(int lowfd)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0)
		return;
#endif
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		close(fd);
}

/* log_output - the program's output, escaped, one log line per line. */
static void
log_output(const char *prog, const char *buf, size_t len, size_t dropped)
{
	char line[600];
	size_t i, o = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || buf[i] == '\n' || o + 5 >= sizeof(line)) {
			if (o > 0) {
				line[o] = '\0';
				yh_log(YH_LOG_INFO, "program=%s output: %s", prog, line);
			}
			o = 0;
			if (i < len && buf[i] != '\n')
				i--;	/* a long line continues on the next */
			continue;
		}
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f ||
		    buf[i] == '\\')
			o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x",
			    (unsigned char)buf[i]);
		else
			line[o++] = buf[i];
	}
	if (dropped)
		yh_log(YH_LOG_INFO, "program=%s output: (%zu more bytes not logged)",
		    prog, dropped);
}

struct job {
	const char	*label;		/* the def file, for logs */
	char		*argv[EXEC_ARGV_MAX + 1];
	char		*envp[16];
	const char	*cwd;
	int		 stdin_fd;	/* -1: /dev/null */
	char		*link;		/* MAILFILE_PATH link to remove, or NULL */
	long long	 timeout_ms;	/* then SIGTERM, then SIGKILL after kill_grace */
};

/* supervise - run JOB to its end: start it, log its output and status,
 * enforce its timeout, remove its link.  Called in the queue manager when
 * the hook waits, else in a forked supervisor. */
static void
supervise(struct job *j)
{
	char *out = NULL;
	size_t outlen = 0, dropped = 0;
	int pfd[2], st = 0, killed = 0, done = 0, open_pipe = 1, pidfd = -1;
	long long deadline, kill_at = 0;
	pid_t pid;
	sigset_t none;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		yh_log(YH_LOG_ERR, "%s: pipe: %s", j->label, strerror(errno));
		if (j->stdin_fd != -1)
			close(j->stdin_fd);
		if (j->link)
			unlink(j->link);
		return;
	}
	pid = fork();
	if (pid == -1) {
		yh_log(YH_LOG_ERR, "%s: fork: %s", j->label, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		if (j->stdin_fd != -1)
			close(j->stdin_fd);
		if (j->link)
			unlink(j->link);
		return;
	}
	if (pid == 0) {
		struct sigaction sa;
		int sig, nul;

		setpgid(0, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		umask(077);
		if (j->stdin_fd != -1)
			nul = j->stdin_fd;
		else
			nul = open("/dev/null", O_RDONLY);
		if (nul == -1 || dup2(nul, 0) == -1 || dup2(pfd[1], 1) == -1 ||
		    dup2(pfd[1], 2) == -1)
			_exit(126);
		close_from(3);
		if (chdir(j->cwd) == -1) {
			dprintf(2, "cannot enter %s: %s\n", j->cwd, strerror(errno));
			_exit(126);
		}
		execve(j->argv[0], j->argv, j->envp);
		dprintf(2, "cannot execute %s: %s\n", j->argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (j->stdin_fd != -1)
		close(j->stdin_fd);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
	/* a descriptor that becomes readable when the program exits; without
	 * it (old kernels) the exit is seen within 50 ms */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	out = malloc((size_t)E.output_max + 1);
	deadline = mono_ms() + j->timeout_ms;
	while (!done) {
		struct pollfd p[2];
		long long now = mono_ms(), wake;
		char chunk[4096];
		ssize_t n;
		nfds_t np = 0;
		pid_t r;

		r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			done = 1;
			break;
		}
		if (!killed && now >= deadline) {
			yh_log(YH_LOG_WARN, "%s: program=%s timed out after %llds; "
			    "SIGTERM", j->label, j->argv[0], j->timeout_ms / 1000);
			kill(-pid, SIGTERM);
			kill(pid, SIGTERM);
			killed = 1;
			kill_at = now + E.grace_ms;
		} else if (killed == 1 && now >= kill_at) {
			yh_log(YH_LOG_WARN, "%s: program=%s still running; SIGKILL",
			    j->label, j->argv[0]);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = 2;
		}
		/* the pipe wakes us for output and EOF, the pidfd for the
		 * exit, the clock for the next kill step */
		if (open_pipe) {
			p[np].fd = pfd[0];
			p[np++].events = POLLIN;
		}
		if (pidfd != -1) {
			p[np].fd = pidfd;
			p[np++].events = POLLIN;
		}
		wake = killed == 0 ? deadline : killed == 1 ? kill_at : now + 1000;
		if (pidfd == -1 && wake > now + 50)
			wake = now + 50;
		if (wake < now)
			wake = now;
		if (poll(p, np, (int)(wake - now)) > 0 && open_pipe &&
		    (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(pfd[0], chunk, sizeof(chunk));
			if (n == 0)
				open_pipe = 0;
			else if (n > 0) {
				size_t take = out && outlen < (size_t)E.output_max ?
				    (size_t)E.output_max - outlen : 0;

				if (take > (size_t)n)
					take = (size_t)n;
				if (take)
					memcpy(out + outlen, chunk, take);
				outlen += take;
				dropped += (size_t)n - take;
			}
		}
	}
	/* what is left in the pipe; a descendant keeping it open is not waited for */
	for (;;) {
		char chunk[4096];
		ssize_t n = read(pfd[0], chunk, sizeof(chunk));
		size_t take;

		if (n <= 0)
			break;
		take = out && outlen < (size_t)E.output_max ? (size_t)E.output_max - outlen : 0;
		if (take > (size_t)n)
			take = (size_t)n;
		if (take)
			memcpy(out + outlen, chunk, take);
		outlen += take;
		dropped += (size_t)n - take;
	}
	close(pfd[0]);
	if (pidfd != -1)
		close(pidfd);
	if (out)
		log_output(j->argv[0], out, outlen, dropped);
	if (j->link)
		unlink(j->link);
	if (WIFSIGNALED(st))
		yh_log(killed ? YH_LOG_WARN : YH_LOG_INFO, "%s: program=%s killed by "
		    "signal %d%s", j->label, j->argv[0], WTERMSIG(st),
		    killed ? " (timeout)" : "");
	else
		yh_log(WEXITSTATUS(st) ? YH_LOG_WARN : YH_LOG_INFO,
		    "%s: program=%s exit status %d", j->label, j->argv[0],
		    WEXITSTATUS(st));
	free(out);
}

/*
 * run_def - build the argv of D and start it; wait when WAIT and the
 * budget allows.
 */
static void
run_def(struct yh_delivery *dv, const char *label, struct def *d,
    const char *acctdir, int wait, long long budget_end)
{
	struct job j;
	char *words[EXEC_ARGV_MAX], prog[PATH_MAX], subj[EXEC_SUBJECT_MAX];
	char e_path[1100], e_home[PATH_MAX + 8], e_lang[80], e_conf[PATH_MAX + 16];
	char *e_from = NULL, *e_to = NULL, *e_qid = NULL;
	char *bin = strdup(d->bin);
	const char *sender = yh_dlv_sender(dv), *rcpt = yh_dlv_rcpt(dv);
	const char *stored = yh_dlv_path(dv);
	int nw, i, argc = 0, need_link = 0, have_subj = 0;
	pid_t pid;
	long long need;

	memset(&j, 0, sizeof(j));
	j.label = label;
	j.stdin_fd = -1;
	if (bin == NULL)
		return;
	nw = split_bin(bin, words, EXEC_ARGV_MAX - EXEC_PARAM_MAX);
	if (nw <= 0) {
		yh_log(YH_LOG_WARN, "%s: bin= is empty, has an unbalanced quote or "
		    "too many words; not run", label);
		free(bin);
		return;
	}
	if (is_sendmail(words[0])) {
		if (E.sendmail[0] == '\0') {
			yh_log(YH_LOG_WARN, "%s: yubin-sendmail not found in %s; "
			    "not run", label, E.path);
			free(bin);
			return;
		}
		snprintf(prog, sizeof(prog), "%s", E.sendmail);
	} else if (words[0][0] == '/')
		snprintf(prog, sizeof(prog), "%s", words[0]);
	else if (strchr(words[0], '/') || strchr(words[0], '\\')) {
		yh_log(YH_LOG_WARN, "%s: program=%s: a relative path; give an "
		    "absolute one or a bare name; not run", label, words[0]);
		free(bin);
		return;
	} else if (find_in_path(E.path, words[0], prog, sizeof(prog)) == -1) {
		yh_log(YH_LOG_WARN, "%s: program=%s not found in %s; not run",
		    label, words[0], E.path);
		free(bin);
		return;
	}
	j.argv[argc++] = prog;
	for (i = 1; i < nw; i++)
		j.argv[argc++] = words[i];
	for (i = 1; i <= EXEC_PARAM_MAX && d->param[i]; i++) {
		const char *v = d->param[i];

		if (strcmp(v, "FROM_ADDRESS") == 0)
			v = sender;
		else if (strcmp(v, "TO_ADDRESS") == 0)
			v = rcpt;
		else if (strcmp(v, "SUBJECT") == 0) {
			if (!have_subj) {
				const char *raw = yh_dlv_header(dv, "Subject", 0);

				subject_utf8(raw ? raw : "", subj, sizeof(subj));
				have_subj = 1;
			}
			v = subj;
		} else if (strcmp(v, "MAILFILE_PATH") == 0) {
			need_link = 1;
			v = NULL;	/* filled below */
		}
		j.argv[argc++] = (char *)v;
	}
	j.argv[argc] = NULL;
	if (need_link) {
		/* a private name of the stored message, valid while it runs */
		char *lp = NULL;

		for (i = 0; i < 10 && lp == NULL; i++) {
			if (asprintf(&lp, "%s/.exec-%s-%ld-%u.eml", acctdir,
			    yh_dlv_queue_id(dv), (long)getpid(), ++E.seq) == -1) {
				lp = NULL;
				break;
			}
			if (link(stored, lp) == -1) {
				if (errno != EEXIST)
					yh_log(YH_LOG_WARN, "%s: link %s: %s; "
					    "MAILFILE_PATH is the stored file",
					    label, lp, strerror(errno));
				free(lp);
				lp = NULL;
				if (errno != EEXIST)
					break;
			}
		}
		j.link = lp;
		for (i = 1; i < argc; i++)
			if (j.argv[i] == NULL)
				j.argv[i] = lp ? lp : (char *)stored;
	}
	if (E.use_stdin) {
		j.stdin_fd = open(stored, O_RDONLY | O_CLOEXEC);
		if (j.stdin_fd == -1)
			yh_log(YH_LOG_WARN, "%s: %s: %s; stdin is /dev/null", label,
			    stored, strerror(errno));
	}
	snprintf(e_path, sizeof(e_path), "PATH=%s", E.path);
	snprintf(e_home, sizeof(e_home), "HOME=%s", acctdir);
	snprintf(e_lang, sizeof(e_lang), "LANG=%s", E.lang);
	snprintf(e_conf, sizeof(e_conf), "YUBIN_CONF=%s", E.conf);
	if (asprintf(&e_from, "YUBIN_FROM=%s", sender) == -1)
		e_from = NULL;
	if (asprintf(&e_to, "YUBIN_TO=%s", rcpt) == -1)
		e_to = NULL;
	if (asprintf(&e_qid, "YUBIN_QUEUE_ID=%s", yh_dlv_queue_id(dv)) == -1)
		e_qid = NULL;
	i = 0;
	j.envp[i++] = e_path;
	j.envp[i++] = e_home;
	j.envp[i++] = e_lang;
	if (E.conf[0])
		j.envp[i++] = e_conf;
	if (e_from)
		j.envp[i++] = e_from;
	if (e_to)
		j.envp[i++] = e_to;
	if (e_qid)
		j.envp[i++] = e_qid;
	j.envp[i] = NULL;
	j.cwd = acctdir;

	/* room for it: wait for a running one to end, within the budget */
	reap(0, 0);
	if (E.nrunning >= (size_t)E.max_running) {
		reap(1, budget_end);
		if (E.nrunning >= (size_t)E.max_running) {
			yh_log(YH_LOG_WARN, "%s: %lld programs running; program=%s "
			    "not run", label, E.max_running, prog);
			goto out;
		}
	}
	/* a waited program must end (killed if need be) before the core's
	 * hook timeout: its timeout is cut to what is left of the budget */
	j.timeout_ms = E.timeout_ms;
	need = budget_end - mono_ms() - E.grace_ms - 500;
	if (wait && need < 1000) {
		yh_log(YH_LOG_WARN, "%s: program=%s runs without waiting: "
		    "server.hook_timeout is used up", label, prog);
		wait = 0;
	} else if (wait && need < j.timeout_ms)
		j.timeout_ms = need;
	yh_log(YH_LOG_INFO, "%s: starting program=%s wait=%d", label, prog, wait);
	if (wait) {
		/* the queue manager itself supervises: one fork fewer */
		supervise(&j);
		j.stdin_fd = -1;	/* closed by supervise */
		free(j.link);
		j.link = NULL;		/* removed by supervise */
		goto out;
	}
	pid = fork();
	if (pid == -1) {
		yh_log(YH_LOG_ERR, "%s: fork: %s", label, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		prctl(PR_SET_NAME, "yubind-exec");
		supervise(&j);
		_exit(0);
	}
	if (j.stdin_fd != -1) {
		close(j.stdin_fd);
		j.stdin_fd = -1;
	}
	free(j.link);
	j.link = NULL;		/* the supervisor removes it */
	E.running[E.nrunning++] = pid;
out:
	if (j.stdin_fd != -1)
		close(j.stdin_fd);
	if (j.link) {
		unlink(j.link);
		free(j.link);
	}
	free(e_from);
	free(e_to);
	free(e_qid);
	free(bin);
}

static void
exec_delivered(struct yh_delivery *dv)
{
	const char *account = yh_dlv_account(dv);
	char acctdir[PATH_MAX], path[PATH_MAX + 80], label[64], val[16];
	const char *tmo;
	long long budget_end, hook_ms = 30000;
	struct def d;
	int i, r, wait;

	reap(0, 0);
	if (account == NULL || *account == '\0' ||
	    yh_account_dir(account, acctdir, sizeof(acctdir)) == -1)
		return;
	if ((tmo = yh_server_get("server.hook_timeout")) != NULL &&
	    duration_ms(tmo) > 0)
		hook_ms = duration_ms(tmo);
	budget_end = mono_ms() + hook_ms - EXEC_MARGIN_MS;
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
			char full[PATH_MAX + 80];

			snprintf(full, sizeof(full), "%s/%s", account, label);
			run_def(dv, full, &d, acctdir, wait, budget_end);
		}
		def_free(&d);
	}
}

static const struct yh_hooks exec_hooks = {
	.delivered = exec_delivered,
};

const struct yh_plugin yubin_plugin = {
	.abi = YH_ABI_VERSION,
	.name = "exec",
	.init = exec_init,
	.hooks = &exec_hooks,
};
