/*
 * yubin-sendmail - hand a message to the running yubind (DESIGN.md §5,
 * SEEDS.md §17).
 *
 *   yubin-sendmail [-c CONFIG] [--smtp HOST:PORT] FROM TO[,TO...] -mf MAILFILE [-del]
 *   yubin-sendmail [-c CONFIG] [--smtp HOST:PORT] FROM TO[,TO...] -sb FILE [-onlyonce RECORD]
 *   yubin-sendmail [-c CONFIG] [--smtp HOST:PORT] [-t] [-i] [-f FROM] [TO...]   (stdin)
 *   --at TIME (any form): release at TIME ("+2h" or an RFC 3339 date-time)
 *   through the server's FUTURERELEASE (RFC 4865, queue.max_hold)
 *
 * The message goes over SMTP to the local submission socket
 * HOME/run/submit.sock, where the server trusts the caller by its uid
 * (SO_PEERCRED), so relay rules and POP before SMTP do not apply; --smtp
 * submits over TCP instead (then the server's relay rules do).  The
 * configuration is found as for yubind: -c, else $YUBIN_CONF, else the
 * compiled-in path.
 *
 * -mf sends the file unchanged (LF or CRLF line ends); -del removes it only
 * after the server answered 250 to the data (the message is then durable,
 * DESIGN.md §4).  -sb builds a MIME message from a subject & body file.
 * -onlyonce keeps "sender,recipient" lines under an exclusive flock held
 * across the send, so two runs at once send one copy.
 *
 * Exit status (sysexits.h): 0 sent; 64 usage; 65 bad data or the message
 * refused; 66 an input file missing; 67 a recipient refused; 69 no server
 * or a permanent refusal; 73 the record file cannot be made; 74 I/O error;
 * 75 temporary failure (4xx, connection lost, timeout); 78 configuration.
 * One line on stderr says why.
 *
 * ADDRESSES ARE NEVER OPTIONS.  yubind's programs (exec.def, reply.def)
 * call the seed forms with FROM and TO taken from mail, and a sender may be
 * "-fx@example.org".  So the seed forms are recognised from their end
 * before any option parsing (seed_form): when the last words are
 * "-mf FILE [-del]" or "-sb FILE [-onlyonce RECORD]", the two words before
 * them are FROM and TO whatever they start with, and only -c, --smtp,
 * --at (each with its value) and a closing "--" may come first.  In the
 * sendmail(8) form every word after "--" is a recipient.
 *
 * SECURITY: runs as its caller, with no privilege of its own; files are
 * read as data; nothing reaches a shell.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "paths.h"
#include "sendmail.h"
#include "util.h"

int
sm_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("yubin-sendmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: yubin-sendmail [-c CONFIG] [--smtp HOST:PORT] FROM TO[,TO...] -mf MAILFILE [-del]\n"
	    "       yubin-sendmail [-c CONFIG] [--smtp HOST:PORT] FROM TO[,TO...] -sb FILE [-onlyonce RECORDFILE]\n"
	    "       yubin-sendmail [-c CONFIG] [--smtp HOST:PORT] [-t] [-i] [-f FROM] [TO...]  < message\n"
	    "       --at TIME (+N[s|m|h|d] or 2030-01-02T03:04:05Z) schedules the release\n");
	return SM_USAGE;
}

int
sm_addr_ok(const char *a)
{
	size_t n = strlen(a);
	const unsigned char *p;

	if (n == 0 || n > SM_ADDR_MAX)
		return 0;
	for (p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' ||
		    *p == ',' || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

int
sm_rcpt_add(struct sm_rcpts *r, const char *addr)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->v[i], addr) == 0)
			return 0;
	if (r->n == SM_RCPT_MAX)
		return -1;
	r->v[r->n++] = xstrdup(addr);
	return 0;
}

void
sm_rcpt_free(struct sm_rcpts *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	r->n = 0;
}

/* add_list - the comma-separated TO argument; 0 or an exit code. */
static int
add_list(struct sm_rcpts *r, const char *list)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	int code = SM_OK;

	for (tok = strtok_r(copy, ",", &save); tok && code == SM_OK;
	    tok = strtok_r(NULL, ",", &save)) {
		tok = str_trim(tok);
		if (*tok == '<' && tok[strlen(tok) - 1] == '>') {
			tok[strlen(tok) - 1] = '\0';
			tok++;
		}
		if (*tok == '\0')
			continue;
		if (!sm_addr_ok(tok))
			code = sm_fail(SM_USAGE, "bad recipient address \"%s\"", tok);
		else if (sm_rcpt_add(r, tok) == -1)
			code = sm_fail(SM_USAGE, "more than %d recipients", SM_RCPT_MAX);
	}
	free(copy);
	if (code == SM_OK && r->n == 0)
		code = sm_fail(SM_USAGE, "no recipient in \"%s\"", list);
	return code;
}

/* sender_arg - FROM as given: "" or "<>" is the null sender. */
static int
sender_arg(const char *arg, char *out, size_t size)
{
	const char *a = arg;
	size_t n = strlen(a);

	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a++;
		n -= 2;
	}
	if (n == 0) {
		out[0] = '\0';
		return SM_OK;
	}
	if (n >= size)
		return sm_fail(SM_USAGE, "sender address too long");
	memcpy(out, a, n);
	out[n] = '\0';
	if (!sm_addr_ok(out))
		return sm_fail(SM_USAGE, "bad sender address \"%s\"", arg);
	return SM_OK;
}

/* read_fd - all of FD into OUT (at most SM_MSG_MAX). */
static int
read_fd(int fd, struct buf *out, const char *what)
{
	char chunk[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return SM_OK;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sm_fail(SM_IOERR, "%s: %s", what, strerror(errno));
		}
		if ((long long)(out->len + (size_t)n) > SM_MSG_MAX ||
		    buf_append(out, chunk, (size_t)n) == -1)
			return sm_fail(SM_DATAERR, "%s: larger than %lld bytes",
			    what, (long long)SM_MSG_MAX);
	}
}

/* read_file - PATH into OUT; missing/unreadable is 66. */
static int
read_file(const char *path, struct buf *out)
{
	struct stat st;
	int fd, code;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return sm_fail(SM_NOINPUT, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sm_fail(SM_NOINPUT, "%s: not a regular file", path);
	}
	code = read_fd(fd, out, path);
	close(fd);
	return code;
}

/* default_sender - LOGIN@DOMAIN of the calling user. */
static void
default_sender(const struct config *cfg, char *out, size_t size)
{
	const char *dom = config_str(cfg, "server.domain");
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw && pw->pw_name ? pw->pw_name : "nobody";

	if (*dom == '\0')
		dom = "localhost";
	if (snprintf(out, size, "%s@%s", user, dom) >= (int)size || !sm_addr_ok(out))
		snprintf(out, size, "nobody@%s", dom);
}

struct opts {
	const char	*cfg_path;
	const char	*smtp;		/* --smtp HOST:PORT */
	const char	*at;		/* --at TIME */
	int		 extract;	/* -t */
	int		 dots;		/* 0 with -i: a lone "." does not end input */
	const char	*from;		/* -f / -r */
	char		**pos;		/* positional words (and Wiz98 options) */
	int		 npos;
	int		 dashdash;	/* pos[DASHDASH..] came after "--" (-1: none) */
};

/*
 * seed_prefix - ARGV[FROM..END) holds only -c CONFIG, --smtp HOST:PORT and
 * --at TIME, then at most a closing "--": those into O, 1; else 0 (O
 * untouched).
 */
static int
seed_prefix(char **argv, int from, int end, struct opts *o)
{
	struct opts t = *o;
	int i = from;

	while (i < end) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0 && i + 1 == end)
			break;
		if (i + 1 >= end)
			return 0;
		if (strcmp(a, "-c") == 0)
			t.cfg_path = argv[i + 1];
		else if (strcmp(a, "--smtp") == 0)
			t.smtp = argv[i + 1];
		else if (strcmp(a, "--at") == 0)
			t.at = argv[i + 1];
		else
			return 0;
		i += 2;
	}
	*o = t;
	return 1;
}

/*
 * seed_form - 1 when ARGV is one of the seed's forms, recognised from its
 * end before any option parsing:
 *	[PREFIX] FROM TO[,TO...] -mf FILE [-del]
 *	[PREFIX] FROM TO[,TO...] -sb FILE [-onlyonce RECORD]
 * (PREFIX: see seed_prefix).  FROM and TO are then addresses whatever they
 * look like -- a sender "-fx@example.org" is never an option -- and
 * O->pos gets FROM, TO, the keyword and what follows it.  Else 0.
 */
static int
seed_form(int argc, char **argv, struct opts *o)
{
	static const struct {
		const char	*kw;		/* -mf or -sb */
		int		 tail;		/* words from the keyword to the end */
		const char	*opt;		/* the option word after FILE, or NULL */
	} shape[] = {
		{ "-mf", 3, "-del" },
		{ "-sb", 4, "-onlyonce" },
		{ "-mf", 2, NULL },
		{ "-sb", 2, NULL },
	};
	size_t n;
	int k, i;

	for (n = 0; n < sizeof(shape) / sizeof(shape[0]); n++) {
		k = argc - shape[n].tail;
		if (k < 3 || strcmp(argv[k], shape[n].kw) != 0)
			continue;
		if (shape[n].opt && strcmp(argv[k + 2], shape[n].opt) != 0)
			continue;
		if (!seed_prefix(argv, 1, k - 2, o))
			continue;
		for (i = k - 2; i < argc; i++)
			o->pos[o->npos++] = argv[i];
		return 1;
	}
	return 0;
}

/* parse_opts - split the command line; 0 or an exit code. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	o->dots = 1;
	o->dashdash = -1;
	o->pos = xcalloc((size_t)argc + 1, sizeof(char *));
	if (seed_form(argc, argv, o))
		return SM_OK;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		/* once a Wiz98 word appears, the rest is positional */
		if (o->npos >= 2 && (strcmp(a, "-mf") == 0 || strcmp(a, "-sb") == 0)) {
			for (; i < argc; i++)
				o->pos[o->npos++] = argv[i];
			break;
		}
		if (strcmp(a, "--") == 0) {
			o->dashdash = o->npos;	/* the rest are addresses */
			for (i++; i < argc; i++)
				o->pos[o->npos++] = argv[i];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--smtp") == 0 ||
		    strcmp(a, "--at") == 0 || strcmp(a, "-f") == 0 ||
		    strcmp(a, "-r") == 0 || strcmp(a, "-F") == 0) {
			if (i + 1 >= argc)
				return sm_fail(SM_USAGE, "%s needs an argument", a);
			if (a[1] == 'c')
				o->cfg_path = argv[++i];
			else if (strcmp(a, "--smtp") == 0)
				o->smtp = argv[++i];
			else if (strcmp(a, "--at") == 0)
				o->at = argv[++i];
			else if (a[1] == 'F')
				i++;		/* full name: the From: header is the caller's business */
			else
				o->from = argv[++i];
			continue;
		}
		if (strncmp(a, "-f", 2) == 0 || strncmp(a, "-r", 2) == 0) {
			o->from = a + 2;
			continue;
		}
		if (strncmp(a, "-F", 2) == 0)
			continue;
		if (strcmp(a, "-t") == 0)
			o->extract = 1;
		else if (strcmp(a, "-i") == 0 || strcmp(a, "-oi") == 0)
			o->dots = 0;
		else if (strcmp(a, "-bm") == 0 || strcmp(a, "-v") == 0 ||
		    strncmp(a, "-od", 3) == 0 || strncmp(a, "-oe", 3) == 0 ||
		    strcmp(a, "-oem") == 0 || strcmp(a, "-om") == 0 ||
		    strcmp(a, "-U") == 0)
			;	/* sendmail(8) options with nothing to do here */
		else
			return sm_fail(SM_USAGE, "unknown option %s", a);
	}
	return SM_OK;
}

/* stdin_message - the sendmail(8) form's input: up to EOF, or a lone "."
 * line unless -i. */
static int
stdin_message(int dots, struct buf *out)
{
	int code = read_fd(0, out, "standard input");
	size_t i, start = 0;

	if (code != SM_OK || !dots)
		return code;
	for (i = 0; i <= out->len; i++) {
		if (i == out->len || out->data[i] == '\n') {
			size_t l = i - start;

			if (l > 0 && out->data[start + l - 1] == '\r')
				l--;
			if (l == 1 && out->data[start] == '.') {
				out->len = start;
				out->data[start] = '\0';
				break;
			}
			start = i + 1;
		}
	}
	return SM_OK;
}

/*
 * hold_param - --at TIME as an RFC 4865 MAIL parameter: "+N[smhd]" (from
 * now) becomes HOLDFOR=seconds, an RFC 3339 date-time
 * (2030-01-02T03:04:05Z, or with +09:00) HOLDUNTIL=it.  The server checks
 * the limit (queue.max_hold).
 */
static int
hold_param(const char *at, char *out, size_t size)
{
	const char *p = at;
	char *end;
	long long n, mul = 1;
	size_t i;

	if (*p == '+') {
		errno = 0;
		n = strtoll(p + 1, &end, 10);
		if (!errno && end != p + 1 && n >= 0) {
			if (*end == 'm')
				mul = 60;
			else if (*end == 'h')
				mul = 3600;
			else if (*end == 'd')
				mul = 86400;
			else if (*end != 's' && *end != '\0')
				mul = 0;
			if (mul && (*end == '\0' || end[1] == '\0') &&
			    n <= 999999999 / mul) {
				snprintf(out, size, "HOLDFOR=%lld", n * mul);
				return SM_OK;
			}
		}
		return sm_fail(SM_USAGE, "--at %s: expected +N[s|m|h|d] or an "
		    "RFC 3339 date-time", at);
	}
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	{
		static const char tpl[] = "dddd-dd-ddTdd:dd:dd";
		size_t l = strlen(at);

		for (i = 0; i < sizeof(tpl) - 1; i++)
			if (i >= l || (tpl[i] == 'd' ? !isdigit((unsigned char)at[i]) :
			    toupper((unsigned char)at[i]) != tpl[i]))
				goto bad;
		if (at[i] == '.')
			for (i++; isdigit((unsigned char)at[i]); i++)
				;
		if (toupper((unsigned char)at[i]) == 'Z' && at[i + 1] == '\0')
			;
		else if ((at[i] == '+' || at[i] == '-') && l - i == 6 &&
		    isdigit((unsigned char)at[i + 1]) && isdigit((unsigned char)at[i + 2]) &&
		    at[i + 3] == ':' && isdigit((unsigned char)at[i + 4]) &&
		    isdigit((unsigned char)at[i + 5]))
			;
		else
			goto bad;
		if (snprintf(out, size, "HOLDUNTIL=%s", at) >= (int)size)
			goto bad;
		return SM_OK;
	}
bad:
	return sm_fail(SM_USAGE, "--at %s: expected +N[s|m|h|d] or an RFC 3339 "
	    "date-time such as 2030-01-02T03:04:05Z", at);
}

/* submit_target - the local socket, or --smtp. */
static char *
submit_target(const struct config *cfg, const struct opts *o)
{
	if (o->smtp)
		return xstrdup(o->smtp);
	return xasprintf("%s/run/submit.sock", config_home(cfg));
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct config *cfg = NULL;
	struct errlist errs;
	struct sm_rcpts rcpts;
	struct buf msg;
	char from[SM_ADDR_MAX + 1], helo[256], hold[64];
	const char *why, *domain;
	char *target = NULL;
	int code, i, del = 0, onlyonce_fd = -1;
	const char *mf = NULL, *sb = NULL, *record = NULL;

	memset(&o, 0, sizeof(o));
	memset(&rcpts, 0, sizeof(rcpts));
	buf_init(&msg, 0);
	log_role("sendmail");
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage();
		return SM_OK;
	}
	code = parse_opts(argc, argv, &o);
	if (code != SM_OK)
		goto out;
	if (o.at && (code = hold_param(o.at, hold, sizeof(hold))) != SM_OK)
		goto out;
	/* the Wiz98 forms: FROM TO -mf FILE [-del] | FROM TO -sb FILE [-onlyonce F] */
	if (o.npos >= 3 && (strcmp(o.pos[2], "-mf") == 0 || strcmp(o.pos[2], "-sb") == 0)) {
		if (o.extract || o.from) {
			code = sm_fail(SM_USAGE, "-t and -f do not go with %s", o.pos[2]);
			goto out;
		}
		if (o.npos < 4) {
			code = sm_fail(SM_USAGE, "%s needs a file", o.pos[2]);
			goto out;
		}
		if (o.pos[2][1] == 'm')
			mf = o.pos[3];
		else
			sb = o.pos[3];
		for (i = 4; i < o.npos; i++) {
			if (mf && strcmp(o.pos[i], "-del") == 0 && !del)
				del = 1;
			else if (sb && strcmp(o.pos[i], "-onlyonce") == 0 &&
			    record == NULL && i + 1 < o.npos)
				record = o.pos[++i];
			else {
				code = sm_fail(SM_USAGE, "unexpected argument \"%s\"",
				    o.pos[i]);
				goto out;
			}
		}
		if ((code = sender_arg(o.pos[0], from, sizeof(from))) != SM_OK ||
		    (code = add_list(&rcpts, o.pos[1])) != SM_OK)
			goto out;
	} else {
		for (i = 0; i < o.npos; i++) {
			if (o.pos[i][0] == '-' && o.pos[i][1] != '\0' &&
			    (o.dashdash < 0 || i < o.dashdash)) {
				code = sm_fail(SM_USAGE, "unexpected argument \"%s\"",
				    o.pos[i]);
				goto out;
			}
			if ((code = add_list(&rcpts, o.pos[i])) != SM_OK)
				goto out;
		}
		if (rcpts.n == 0 && !o.extract) {
			code = sm_fail(SM_USAGE, "no recipients (give addresses or -t)");
			goto out;
		}
		from[0] = '\0';
		if (o.from && (code = sender_arg(o.from, from, sizeof(from))) != SM_OK)
			goto out;
	}

	if (o.cfg_path == NULL)
		o.cfg_path = paths_default_config();
	errlist_init(&errs);
	if (config_load(&cfg, o.cfg_path, NULL, 0, &errs) == -1) {
		code = sm_fail(SM_CONFIG, "%s", errs.n ? errs.msg[0] :
		    "cannot load the configuration");
		errlist_free(&errs);
		goto out;
	}
	errlist_free(&errs);
	domain = config_str(cfg, "server.domain");
	if (*domain == '\0')
		domain = "localhost";
	if (!mf && !sb && o.from == NULL)
		default_sender(cfg, from, sizeof(from));
	if (gethostname(helo, sizeof(helo)) == -1 || helo[0] == '\0' ||
	    strpbrk(helo, " \t\r\n") != NULL)
		snprintf(helo, sizeof(helo), "localhost");
	helo[sizeof(helo) - 1] = '\0';

	if (mf) {
		if ((code = read_file(mf, &msg)) != SM_OK)
			goto out;
		if (msg.len == 0) {
			code = sm_fail(SM_DATAERR, "%s: empty mail file", mf);
			goto out;
		}
	} else if (sb) {
		struct buf raw;

		buf_init(&raw, 0);
		if ((code = read_file(sb, &raw)) != SM_OK) {
			buf_free(&raw);
			goto out;
		}
		if (raw.len > SM_SB_MAX) {
			buf_free(&raw);
			code = sm_fail(SM_DATAERR, "%s: larger than %d bytes", sb,
			    SM_SB_MAX);
			goto out;
		}
		if (record) {
			onlyonce_fd = sm_onlyonce_open(record, &code);
			if (onlyonce_fd == -1) {
				buf_free(&raw);
				goto out;
			}
			sm_onlyonce_filter(onlyonce_fd, from, &rcpts);
			if (rcpts.n == 0) {
				/* every pair was answered before: nothing to do */
				buf_free(&raw);
				code = SM_OK;
				goto out;
			}
		}
		if (sm_build_sb(raw.data ? raw.data : "", raw.len, from, &rcpts,
		    domain, &msg, &why) == -1) {
			buf_free(&raw);
			code = sm_fail(SM_DATAERR, "%s: %s", sb, why);
			goto out;
		}
		buf_free(&raw);
	} else {
		if ((code = stdin_message(o.dots, &msg)) != SM_OK)
			goto out;
		if (sm_prepare_stdin(&msg, o.extract, from, domain, &rcpts,
		    &why) == -1) {
			code = sm_fail(SM_DATAERR, "%s", why);
			goto out;
		}
		if (rcpts.n == 0) {
			code = sm_fail(SM_USAGE, "no recipients in the message header");
			goto out;
		}
	}

	target = submit_target(cfg, &o);
	code = sm_submit(target, helo, from, &rcpts, msg.data, msg.len,
	    o.at ? hold : NULL);
	if (code == SM_OK && onlyonce_fd != -1 &&
	    sm_onlyonce_add(onlyonce_fd, from, &rcpts) == -1)
		code = sm_fail(SM_IOERR, "%s: %s", record, strerror(errno));
	if (code == SM_OK && del && unlink(mf) == -1 && errno != ENOENT)
		code = sm_fail(SM_IOERR, "sent, but cannot delete %s: %s", mf,
		    strerror(errno));
out:
	if (onlyonce_fd != -1)
		close(onlyonce_fd);	/* releases the flock */
	free(target);
	sm_rcpt_free(&rcpts);
	buf_free(&msg);
	free(o.pos);
	if (cfg)
		config_free(&cfg);
	return code;
}
