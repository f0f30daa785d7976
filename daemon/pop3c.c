/*
 * pop3c.c - the POP3 client of the fetch runs; see pop3c.h.  Runs as the
 * server user (the fetch process, or yubinctl after dropping to it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pop3c.h"
#include "util.h"

/* pop3c_fail - the session's failure reason (printf); returns -1. */
static int __attribute__((format(printf, 2, 3)))
pop3c_fail(struct pop3c *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* pop3c_io - the reason for a conn_getline status other than a line. */
static int
pop3c_io(struct pop3c *p, int st, const char *waiting)
{
	switch (st) {
	case CONN_EOF:
		return pop3c_fail(p, "connection closed by the server %s",
		    waiting);
	case CONN_TIMEOUT:
		return pop3c_fail(p, "timeout %s", waiting);
	case CONN_TOOLONG:
		return pop3c_fail(p, "line too long %s", waiting);
	default:
		return pop3c_fail(p, "read error %s: %s", waiting,
		    strerror(errno));
	}
}

/*
 * pop3c_reply - one status line: 1 "+OK", 0 "-ERR" (why: the text,
 * escaped), -1 an I/O failure or garbage.  *TEXT_R (may be NULL) gets
 * what follows the status, borrowed until the next read.
 */
static int
pop3c_reply(struct pop3c *p, const char *cmd, char **text_r)
{
	char esc[200], *line;
	size_t len;
	int st, term;

	st = conn_getline(&p->c, POP3C_LINE_MAX, &line, &len, &term);
	if (st != CONN_LINE) {
		char waiting[64];

		snprintf(waiting, sizeof(waiting), "waiting for the reply to %s",
		    cmd);
		return pop3c_io(p, st, waiting);
	}
	if (len >= 3 && memcmp(line, "+OK", 3) == 0 &&
	    (len == 3 || line[3] == ' ')) {
		if (text_r)
			*text_r = line + (len > 3 ? 4 : 3);
		return 1;
	}
	if (len >= 4 && memcmp(line, "-ERR", 4) == 0) {
		pop3c_fail(p, "%s: %s", cmd, str_escape(esc, sizeof(esc), line,
		    len));
		return 0;
	}
	pop3c_fail(p, "%s: not a POP3 reply: %s", cmd, str_escape(esc,
	    sizeof(esc), line, len));
	return -1;
}

/* pop3c_cmd - send LINE (CRLF added) and read the status: as pop3c_reply,
 * a -ERR being a failure (-1) too. */
static int
pop3c_cmd(struct pop3c *p, const char *line, const char *name, char **text_r)
{
	int r;

	if (conn_printf(&p->c, "%s\r\n", line) == -1 || conn_flush(&p->c) == -1)
		return pop3c_fail(p, "write error sending %s: %s", name,
		    strerror(errno));
	r = pop3c_reply(p, name, text_r);
	return r == 1 ? 0 : -1;
}

/*
 * pop3c_multi - the lines of a multi-line answer after its +OK, up to the
 * "." line: FN gets each unstuffed line without its terminator.  MAX
 * bounds the octets counted with CRLF (0: none).  0, or -1.  With
 * LONG_OK a line over POP3C_LINE_MAX is skipped (read to its end within
 * the timeout, never kept) and the answer read on: 1 at its end.
 */
static int
pop3c_multi(struct pop3c *p, const char *cmd, long long max, int long_ok,
    int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	char waiting[64], *line;
	long long total = 0;
	size_t len, i, o;
	int st, term, skipped = 0;

	snprintf(waiting, sizeof(waiting), "in the answer to %s", cmd);
	for (;;) {
		st = conn_getline(&p->c, POP3C_LINE_MAX, &line, &len, &term);
		if (st == CONN_TOOLONG && long_ok) {
			skipped = 1;
			total += POP3C_LINE_MAX;
			if (max > 0 && total > max)
				return pop3c_fail(p, "%s: more than %lld octets",
				    cmd, max);
			continue;
		}
		if (st != CONN_LINE)
			return pop3c_io(p, st, waiting);
		if (len == 1 && line[0] == '.')
			return skipped;
		if (len > 0 && line[0] == '.') {
			line++;
			len--;
		}
		/* a bare CR inside a line: dropped (it would be a line end
		 * to some readers and not to others) */
		for (i = o = 0; i < len; i++)
			if (line[i] != '\r')
				line[o++] = line[i];
		len = o;
		total += (long long)len + 2;
		if (max > 0 && total > max)
			return pop3c_fail(p, "%s: more than %lld octets", cmd, max);
		if (fn(ctx, line, len) == -1)
			return pop3c_fail(p, "%s: local error", cmd);
	}
}

/* pop3c_dial - a TCP connection to HOST:PORT within TIMEOUT_MS each
 * address.  The fd, or -1 (why set). */
static int
pop3c_dial(struct pop3c *p, const char *host, int port, int timeout_ms)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	socklen_t len;
	char portstr[16];
	int fd = -1, e, err, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	e = getaddrinfo(host, portstr, &hints, &res);
	if (e != 0)
		return pop3c_fail(p, "cannot resolve %s: %s", host,
		    gai_strerror(e));
	pop3c_fail(p, "cannot connect to %s port %d", host, port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			do
				r = poll(&pfd, 1, timeout_ms);
			while (r == -1 && errno == EINTR);
			len = sizeof(err);
			if (r == 0)
				err = ETIMEDOUT;
			else if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR,
			    &err, &len) == -1)
				err = errno;
			if (err == 0)
				break;
		}
		pop3c_fail(p, "cannot connect to %s port %d: %s", host, port,
		    strerror(err));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* pop3c_tls - the client handshake, the server checked by CTX. */
static int
pop3c_tls(struct pop3c *p, SSL_CTX *ctx, const char *host)
{
	unsigned char a[16];
	const char *why;
	int ip = inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;

	/* SNI carries names only (RFC 6066 §3); the identity to check is
	 * set on CTX by the caller */
	if (conn_tls_connect(&p->c, ctx, ip ? NULL : host, &why) == -1)
		return pop3c_fail(p, "%s", why);
	return 0;
}

int
pop3c_connect(struct pop3c *p, const char *host, int port, int implicit,
    int stls, SSL_CTX *ctx, int timeout_ms)
{
	int fd;

	memset(p, 0, sizeof(*p));
	if ((fd = pop3c_dial(p, host, port, timeout_ms)) == -1)
		return -1;
	conn_init(&p->c, fd);
	p->open = 1;
	p->c.timeout_ms = timeout_ms;
	snprintf(p->peer, sizeof(p->peer), "%s", p->c.peer_ip);
	if (implicit && pop3c_tls(p, ctx, host) == -1)
		return -1;
	if (pop3c_reply(p, "the greeting", NULL) != 1)
		return -1;
	if (stls) {
		if (pop3c_cmd(p, "STLS", "STLS", NULL) == -1)
			return -1;
		/* nothing the server sent before the handshake counts */
		conn_discard_input(&p->c);
		if (pop3c_tls(p, ctx, host) == -1)
			return -1;
	}
	return 0;
}

int
pop3c_login(struct pop3c *p, const char *user, const char *pass)
{
	struct buf cmd;
	int r;

	buf_init(&cmd, 0);
	buf_printf(&cmd, "USER %s", user);
	r = pop3c_cmd(p, cmd.data, "USER", NULL);
	buf_reset(&cmd);
	if (r == 0) {
		buf_printf(&cmd, "PASS %s", pass);
		r = pop3c_cmd(p, cmd.data, "PASS", NULL);
		explicit_bzero(cmd.data, cmd.len);
	}
	buf_free(&cmd);
	return r;
}

struct list_ctx {
	struct pop3c_msg *msgs;
	size_t		 n;
	int		 bad;
};

/* uid_ok - RFC 1939 §7: 1..70 octets 0x21..0x7e. */
static int
uid_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > POP3C_UIDL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* parse_num - the decimal at *P (advanced past it and one blank).
 * 0 or -1. */
static int
parse_num(const char **pp, const char *end, long long *v_r)
{
	const char *p = *pp;
	long long v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9') {
		if (v > (1LL << 50))
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	if (p < end && *p != ' ')
		return -1;
	*pp = p < end ? p + 1 : p;
	*v_r = v;
	return 0;
}

static int
uidl_line(void *ctx, const char *line, size_t len)
{
	struct list_ctx *lc = ctx;
	const char *p = line, *end = line + len;
	long long num;

	if (lc->n >= POP3C_MSGS_MAX || parse_num(&p, end, &num) == -1 ||
	    num < 1 || !uid_ok(p, (size_t)(end - p))) {
		lc->bad = 1;
		return -1;
	}
	lc->msgs = xrealloc(lc->msgs, (lc->n + 1) * sizeof(*lc->msgs));
	lc->msgs[lc->n].num = (size_t)num;
	lc->msgs[lc->n].size = -1;
	memcpy(lc->msgs[lc->n].uid, p, (size_t)(end - p));
	lc->msgs[lc->n].uid[end - p] = '\0';
	lc->n++;
	return 0;
}

static int
list_line(void *ctx, const char *line, size_t len)
{
	struct list_ctx *lc = ctx;
	const char *p = line, *end = line + len;
	long long num, size;
	size_t i;

	if (parse_num(&p, end, &num) == -1 || parse_num(&p, end, &size) == -1) {
		lc->bad = 1;
		return -1;
	}
	for (i = 0; i < lc->n; i++)
		if (lc->msgs[i].num == (size_t)num) {
			lc->msgs[i].size = size;
			break;
		}
	return 0;
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct pop3c_msg *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

int
pop3c_list(struct pop3c *p, struct pop3c_msg **msgs_r, size_t *n_r)
{
	struct list_ctx lc = { NULL, 0, 0 };
	size_t i;

	*msgs_r = NULL;
	*n_r = 0;
	if (pop3c_cmd(p, "UIDL", "UIDL", NULL) == -1)
		goto fail;
	if (pop3c_multi(p, "UIDL", 0, 0, uidl_line, &lc) == -1) {
		if (lc.bad)
			pop3c_fail(p, "UIDL: a malformed line (or more than %d "
			    "messages)", POP3C_MSGS_MAX);
		goto fail;
	}
	qsort(lc.msgs, lc.n, sizeof(*lc.msgs), msg_cmp);
	for (i = 1; i < lc.n; i++)
		if (lc.msgs[i].num == lc.msgs[i - 1].num) {
			pop3c_fail(p, "UIDL: message %zu listed twice",
			    lc.msgs[i].num);
			goto fail;
		}
	if (pop3c_cmd(p, "LIST", "LIST", NULL) == -1)
		goto fail;
	if (pop3c_multi(p, "LIST", 0, 0, list_line, &lc) == -1) {
		if (lc.bad)
			pop3c_fail(p, "LIST: a malformed line");
		goto fail;
	}
	*msgs_r = lc.msgs;
	*n_r = lc.n;
	return 0;
fail:
	free(lc.msgs);
	return -1;
}

static int
top_line(void *ctx, const char *line, size_t len)
{
	struct buf *out = ctx;

	if (buf_append(out, line, len) == -1 || buf_putc(out, '\n') == -1)
		return -1;
	return 0;
}

int
pop3c_top(struct pop3c *p, size_t num, struct buf *out)
{
	char cmd[64];

	buf_reset(out);
	snprintf(cmd, sizeof(cmd), "TOP %zu 0", num);
	if (pop3c_cmd(p, cmd, "TOP", NULL) == -1)
		return -1;
	return pop3c_multi(p, "TOP", POP3C_HEADER_MAX, 1, top_line, out);
}

int
pop3c_retr(struct pop3c *p, size_t num, long long max,
    int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "RETR %zu", num);
	if (pop3c_cmd(p, cmd, "RETR", NULL) == -1)
		return -1;
	return pop3c_multi(p, "RETR", max, 1, fn, ctx);
}

int
pop3c_dele(struct pop3c *p, size_t num)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "DELE %zu", num);
	return pop3c_cmd(p, cmd, "DELE", NULL);
}

int
pop3c_quit(struct pop3c *p)
{
	return pop3c_cmd(p, "QUIT", "QUIT", NULL);
}

void
pop3c_close(struct pop3c *p)
{
	if (p->open)
		conn_close(&p->c);
	p->open = 0;
}
