/*
 * yubin-sendmail_smtp.c - the SMTP client of yubin-sendmail: one
 * transaction over the local submission socket or TCP (sendmail.h).
 *
 * The message is sent with CRLF line ends and dot-stuffing (RFC 5321
 * §4.5.2); a lone CR or LF becomes CRLF, so the server's smuggling defence
 * never sees a bare line end from us.  Every read has a deadline.  The
 * transaction is all-or-nothing: a refused recipient sends RSET and QUIT.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sendmail.h"
#include "util.h"

#define SM_TIMEOUT_CMD_MS	(5 * 60 * 1000)	/* RFC 5321 §4.5.3.2: MAIL, RCPT 5 min */
#define SM_TIMEOUT_DATA_MS	(10 * 60 * 1000)	/* the final dot: 10 min */

struct client {
	int	 fd;
	char	 in[8192];
	size_t	 inlen;
	struct buf out;
	const char *target;
};

static int
client_connect(struct client *c, const char *target)
{
	c->target = target;
	if (target[0] == '/') {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (str_copy(sun.sun_path, sizeof(sun.sun_path), target) == -1)
			return sm_fail(SM_USAGE, "%s: socket path too long", target);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd == -1)
			return sm_fail(SM_OSERR, "socket: %s", strerror(errno));
		if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			int e = errno;

			close(c->fd);
			c->fd = -1;
			return sm_fail(SM_UNAVAILABLE, "cannot reach yubind at %s: "
			    "%s (is it running?)", target, strerror(e));
		}
		return SM_OK;
	} else {
		struct addrinfo hints, *res, *ai;
		char host[256];
		const char *colon = strrchr(target, ':'), *h = target;
		size_t hl;
		int e;

		if (colon == NULL || colon[1] == '\0')
			return sm_fail(SM_USAGE, "--smtp %s: expected HOST:PORT", target);
		hl = (size_t)(colon - target);
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (hl == 0 || hl >= sizeof(host))
			return sm_fail(SM_USAGE, "--smtp %s: bad host", target);
		memcpy(host, h, hl);
		host[hl] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		if ((e = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
			return sm_fail(e == EAI_AGAIN ? SM_TEMPFAIL : SM_UNAVAILABLE,
			    "--smtp %s: %s", target, gai_strerror(e));
		c->fd = -1;
		for (ai = res; ai && c->fd == -1; ai = ai->ai_next) {
			c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
			if (c->fd == -1)
				continue;
			if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1) {
				e = errno;
				close(c->fd);
				c->fd = -1;
				errno = e;
			}
		}
		freeaddrinfo(res);
		if (c->fd == -1)
			return sm_fail(SM_UNAVAILABLE, "cannot connect to %s: %s",
			    target, strerror(errno));
		return SM_OK;
	}
}

static int
client_flush(struct client *c)
{
	if (c->out.len == 0)
		return 0;
	if (write_all(c->fd, c->out.data, c->out.len) == -1)
		return -1;
	buf_reset(&c->out);
	return 0;
}

/* client_line - one reply line (CRLF stripped) into LINE.  1, 0 EOF, -1
 * error or timeout. */
static int
client_line(struct client *c, char *line, size_t size, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(c->in, '\n', c->inlen);
		if (nl) {
			size_t l = (size_t)(nl - c->in);
			size_t k = l;

			if (k > 0 && c->in[k - 1] == '\r')
				k--;
			if (k >= size)
				k = size - 1;
			memcpy(line, c->in, k);
			line[k] = '\0';
			memmove(c->in, nl + 1, c->inlen - l - 1);
			c->inlen -= l + 1;
			return 1;
		}
		if (c->inlen == sizeof(c->in))
			return -1;	/* a reply line longer than any server sends */
		{
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			long long left = deadline - now_ms();

			if (left <= 0)
				return -1;
			if (poll(&p, 1, (int)left) <= 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
		}
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->inlen += (size_t)n;
	}
}

/* client_reply - one reply (continuation lines folded); the code, or -1
 * when the connection failed (printed).  TEXT gets the last line; EXT
 * (may be NULL) collects the EHLO keywords. */
static int
client_reply(struct client *c, char *text, size_t size, int timeout_ms,
    struct buf *ext)
{
	char line[SM_LINE_MAX];
	int r;

	if (client_flush(c) == -1) {
		snprintf(text, size, "write: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		r = client_line(c, line, sizeof(line), timeout_ms);
		if (r <= 0) {
			snprintf(text, size, r == 0 ? "connection closed by the server" :
			    "no answer from the server");
			return -1;
		}
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5') {
			snprintf(text, size, "bad reply from the server");
			return -1;
		}
		if (ext && strlen(line) > 4) {
			buf_puts(ext, line + 4);
			buf_putc(ext, '\n');
		}
		if (line[3] != '-') {
			snprintf(text, size, "%s", line);
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		}
	}
}

/* refused - the exit code for reply CODE to STAGE, after printing it. */
static int
refused(int code, const char *stage, const char *text)
{
	int x;

	if (code < 0)
		return sm_fail(SM_TEMPFAIL, "%s: %s", stage, text);
	if (code >= 400 && code < 500)
		x = SM_TEMPFAIL;
	else if (strcmp(stage, "RCPT") == 0 && strncmp(text + 3, " 5.1.", 5) == 0)
		x = SM_NOUSER;
	else if (strcmp(stage, "DATA") == 0 || strcmp(stage, "message") == 0)
		x = SM_DATAERR;
	else
		x = SM_UNAVAILABLE;
	return sm_fail(x, "server refused %s: %s", stage, text);
}

/* stuff - DATA into OUT with CRLF line ends and dot-stuffing, ending in
 * CRLF "." CRLF. */
static void
stuff(struct buf *out, const char *p, size_t len)
{
	size_t i = 0, start;

	while (i < len) {
		start = i;
		while (i < len && p[i] != '\n' && p[i] != '\r')
			i++;
		if (p[start] == '.' && i > start)
			buf_putc(out, '.');
		buf_append(out, p + start, i - start);
		buf_append(out, "\r\n", 2);
		if (i < len && p[i] == '\r')
			i++;
		if (i < len && p[i] == '\n')
			i++;
	}
	buf_append(out, ".\r\n", 3);
}

int
sm_submit(const char *target, const char *helo, const char *from,
    const struct sm_rcpts *rcpts, const char *data, size_t len,
    const char *hold)
{
	struct client c;
	struct buf ext;
	char text[SM_LINE_MAX];
	int code, x = SM_OK, eight = 0;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	buf_init(&c.out, 0);
	buf_init(&ext, 64 * 1024);
	if ((x = client_connect(&c, target)) != SM_OK)
		goto out;
	code = client_reply(&c, text, sizeof(text), SM_TIMEOUT_CMD_MS, NULL);
	if (code != 220) {
		x = refused(code, "the connection", text);
		goto out;
	}
	buf_printf(&c.out, "EHLO %s\r\n", helo);
	code = client_reply(&c, text, sizeof(text), SM_TIMEOUT_CMD_MS, &ext);
	if (code != 250) {
		x = refused(code, "EHLO", text);
		goto out;
	}
	if (hold && strstr(buf_cstr(&ext), "\nFUTURERELEASE") == NULL &&
	    strncmp(buf_cstr(&ext), "FUTURERELEASE", 13) != 0) {
		x = sm_fail(SM_UNAVAILABLE, "--at: the server does not offer "
		    "FUTURERELEASE (queue.max_hold)");
		code = 250;
		goto quit;
	}
	for (i = 0; i < len && !eight; i++)
		eight = (unsigned char)data[i] >= 0x80;
	buf_printf(&c.out, "MAIL FROM:<%s>%s%s%s\r\n", from,
	    eight && strstr(buf_cstr(&ext), "8BITMIME") ? " BODY=8BITMIME" : "",
	    hold ? " " : "", hold ? hold : "");
	code = client_reply(&c, text, sizeof(text), SM_TIMEOUT_CMD_MS, NULL);
	if (code != 250) {
		x = refused(code, "MAIL", text);
		goto quit;
	}
	for (i = 0; i < rcpts->n; i++) {
		buf_printf(&c.out, "RCPT TO:<%s>\r\n", rcpts->v[i]);
		code = client_reply(&c, text, sizeof(text), SM_TIMEOUT_CMD_MS, NULL);
		if (code != 250 && code != 251) {
			x = refused(code, "RCPT", text);
			goto quit;
		}
	}
	buf_puts(&c.out, "DATA\r\n");
	code = client_reply(&c, text, sizeof(text), SM_TIMEOUT_CMD_MS, NULL);
	if (code != 354) {
		x = refused(code, "DATA", text);
		goto quit;
	}
	stuff(&c.out, data, len);
	code = client_reply(&c, text, sizeof(text), SM_TIMEOUT_DATA_MS, NULL);
	if (code != 250) {
		/* no 250: the server does not have it; keep everything */
		x = refused(code, "message", text);
		goto out;
	}
	buf_puts(&c.out, "QUIT\r\n");
	(void)client_reply(&c, text, sizeof(text), SM_TIMEOUT_CMD_MS, NULL);
	goto out;
quit:
	if (code > 0) {
		buf_puts(&c.out, "RSET\r\nQUIT\r\n");
		(void)client_flush(&c);
	}
out:
	if (c.fd != -1)
		close(c.fd);
	buf_free(&c.out);
	buf_free(&ext);
	return x;
}
