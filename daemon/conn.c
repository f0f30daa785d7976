/*
 * conn.c - buffered, bounded connection I/O over a socket or TLS; see conn.h.
 *
 * Time limits are deadlines, never idle timers: a line, a flush or a TLS
 * handshake must be complete within timeout_ms of its start, and nothing
 * waits past deadline_ms.  A timer that restarted with every byte would let
 * a client that trickles one byte now and then hold a worker for ever.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "conn.h"
#include "tls.h"
#include "util.h"

/* the input buffer holds at most one maximal line plus one read */
#define CONN_IN_MAX	(4 * 1024 * 1024)

static void
conn_addr(const struct sockaddr_storage *ss, char *ip, size_t size, int *port)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;

	ip[0] = '\0';
	*port = 0;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)size);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip,
			    (socklen_t)size);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)size);
		*port = ntohs(sin6->sin6_port);
	} else if (ss->ss_family == AF_UNIX)
		snprintf(ip, size, "local");
}

int
conn_connect(const struct sockaddr_storage *ss, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	int fd, err = 0, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	len = sizeof(err);
	if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

void
conn_init(struct conn *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fl;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	/* non-blocking: every wait is a poll() bounded by the deadlines
	 * (a blocking SSL_accept or SSL_read would wait out a trickled
	 * TLS record for ever) */
	fl = fcntl(fd, F_GETFL);
	if (fl != -1 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	buf_init(&c->in, CONN_IN_MAX);
	buf_init(&c->out, 0);
	c->timeout_ms = 300 * 1000;
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		conn_addr(&ss, c->peer_ip, sizeof(c->peer_ip), &c->peer_port);
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		conn_addr(&ss, c->local_ip, sizeof(c->local_ip), &c->local_port);
	c->peer_loopback = strncmp(c->peer_ip, "127.", 4) == 0 ||
	    strcmp(c->peer_ip, "::1") == 0 || strcmp(c->peer_ip, "local") == 0;
}

void
conn_close(struct conn *c)
{
	if (c->ssl) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	buf_free(&c->out);
}

/* conn_wait - poll for EVENTS up to MS milliseconds (negative: no limit,
 * 0: do not wait).  1 ready, 0 timeout, -1. */
static int
conn_wait(struct conn *c, short events, int ms)
{
	struct pollfd pfd;
	int r;

	pfd.fd = c->fd;
	pfd.events = events;
	for (;;) {
		r = poll(&pfd, 1, ms);
		if (r == -1 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

/* conn_unit_end - when a unit (line, flush, handshake) starting now must
 * be complete: now + timeout_ms, 0 none. */
static long long
conn_unit_end(const struct conn *c)
{
	return c->timeout_ms > 0 ? now_ms() + c->timeout_ms : 0;
}

/* conn_left - milliseconds for conn_wait until END (0: none) or the
 * connection's deadline_ms, whichever comes first; -1 neither. */
static int
conn_left(const struct conn *c, long long end)
{
	long long left;

	if (c->deadline_ms > 0 && (end <= 0 || c->deadline_ms < end))
		end = c->deadline_ms;
	if (end <= 0)
		return -1;
	left = end - now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

int
conn_expired(const struct conn *c)
{
	return c->deadline_ms > 0 && now_ms() >= c->deadline_ms;
}

/*
 * conn_tls_why - WHAT followed by OpenSSL's reasons for the failure E of
 * SSL_accept/SSL_connect: the whole error queue (drained), or for a system
 * error errno or "connection closed by the peer".  Static, bounded to
 * CONN_TLS_WHY_MAX (reasons that do not fit are left out, never cut).
 * OpenSSL's strings carry no peer data.
 */
static const char *
conn_tls_why(const char *what, int e, int err_no)
{
	static char why[CONN_TLS_WHY_MAX];
	char one[256];
	unsigned long code;
	size_t l;
	int n = 0;

	snprintf(why, sizeof(why), "%s", what);
	while ((code = ERR_get_error()) != 0) {
		ERR_error_string_n(code, one, sizeof(one));
		l = strlen(why);
		if (l + strlen(one) + 3 < sizeof(why))
			snprintf(why + l, sizeof(why) - l, "%s%s",
			    n == 0 ? ": " : "; ", one);
		n++;
	}
	l = strlen(why);
	if (n == 0 && e == SSL_ERROR_SYSCALL)
		snprintf(why + l, sizeof(why) - l, ": %s", err_no ?
		    strerror(err_no) : "connection closed by the peer");
	else if (n == 0 && e == SSL_ERROR_ZERO_RETURN)
		snprintf(why + l, sizeof(why) - l, ": connection closed by the peer");
	return why;
}

int
conn_tls_accept(struct conn *c, SSL_CTX *ctx, const char **why_r)
{
	long long end = conn_unit_end(c);
	int r, e, en;

	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		*why_r = "cannot create TLS session";
		return -1;
	}
	if (c->tls_opportunistic && tls_server_opportunistic(c->ssl) == -1) {
		*why_r = "cannot set the port 25 cipher list";
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_accept(c->ssl);
		en = errno;
		if (r == 1)
			return 0;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (conn_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    conn_left(c, end)) <= 0) {
				*why_r = "TLS handshake timed out";
				return -1;
			}
			continue;
		}
		*why_r = conn_tls_why("TLS handshake failed", e, en);
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
}

int
conn_tls_connect(struct conn *c, SSL_CTX *ctx, const char *servername,
    const char **why_r)
{
	long long end = conn_unit_end(c);
	int r, e, en;

	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		*why_r = "cannot create TLS session";
		return -1;
	}
	if (servername && *servername && servername[0] != '[') {
		SSL_set_tlsext_host_name(c->ssl, servername);
		if ((SSL_get_verify_mode(c->ssl) & SSL_VERIFY_PEER) &&
		    SSL_set1_host(c->ssl, servername) != 1) {
			/* never a verified session without its name check */
			*why_r = "cannot set the name to verify";
			SSL_free(c->ssl);
			c->ssl = NULL;
			return -1;
		}
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_connect(c->ssl);
		en = errno;
		if (r == 1)
			return 0;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (conn_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    conn_left(c, end)) <= 0) {
				*why_r = "TLS handshake timed out";
				break;
			}
			continue;
		}
		*why_r = conn_tls_why(SSL_get_verify_result(c->ssl) != X509_V_OK ?
		    "TLS certificate verification failed" :
		    "TLS handshake failed", e, en);
		break;
	}
	SSL_free(c->ssl);
	c->ssl = NULL;
	return -1;
}

const char *
conn_tls_info(const struct conn *c)
{
	static char info[128];

	if (c->ssl == NULL)
		return "";
	snprintf(info, sizeof(info), "%s %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
	return info;
}

/* conn_fill - read more input before END (conn_unit_end).  >0 bytes, 0 EOF,
 * CONN_ERROR, CONN_TIMEOUT. */
static int
conn_fill(struct conn *c, long long end)
{
	char chunk[CONN_READ_CHUNK];
	ssize_t n;
	int r, e;

	if (c->in_off > 0) {
		buf_consume(&c->in, c->in_off);
		c->in_off = 0;
	}
	for (;;) {
		if (c->ssl == NULL || SSL_pending(c->ssl) == 0) {
			r = conn_wait(c, POLLIN, conn_left(c, end));
			if (r == 0)
				return CONN_TIMEOUT;
			if (r < 0)
				return CONN_ERROR;
		}
		if (c->ssl) {
			ERR_clear_error();
			r = SSL_read(c->ssl, chunk, sizeof(chunk));
			if (r > 0) {
				n = r;
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				continue;
			if (e == SSL_ERROR_ZERO_RETURN)
				return CONN_EOF;
			return CONN_ERROR;
		}
		n = read(c->fd, chunk, sizeof(chunk));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return CONN_ERROR;
		if (n == 0)
			return CONN_EOF;
		break;
	}
	c->bytes_in += n;
	if (buf_append(&c->in, chunk, (size_t)n) == -1)
		return CONN_ERROR;	/* cannot happen: lines are bounded */
	return (int)n;
}

int
conn_getline(struct conn *c, size_t max, char **line_r, size_t *len_r,
    int *term_r)
{
	char *start, *nl;
	size_t avail, len;
	long long end = conn_unit_end(c);	/* for the whole line */
	int r;

	for (;;) {
		start = c->in.data ? c->in.data + c->in_off : NULL;
		avail = c->in.len - c->in_off;
		nl = avail ? memchr(start, '\n', avail) : NULL;
		if (nl != NULL) {
			len = (size_t)(nl - start);
			c->in_off += len + 1;
			if (c->toolong_skip) {
				c->toolong_skip = 0;
				return CONN_TOOLONG;
			}
			if (len > 0 && start[len - 1] == '\r') {
				len--;
				*term_r = 2;
			} else
				*term_r = 1;
			if (len > max)
				return CONN_TOOLONG;
			start[len] = '\0';
			*line_r = start;
			*len_r = len;
			return CONN_LINE;
		}
		if (avail > max + 1) {
			/* too long: drop what we have, skip to the newline */
			c->in_off = c->in.len;
			c->toolong_skip = 1;
		}
		r = conn_fill(c, end);
		if (r <= 0)
			return r;
	}
}

int
conn_read(struct conn *c, size_t max, char **p_r, size_t *len_r)
{
	long long end = conn_unit_end(c);
	size_t avail;
	int r;

	while ((avail = c->in.len - c->in_off) == 0) {
		r = conn_fill(c, end);
		if (r <= 0)
			return r;
	}
	if (avail > max)
		avail = max;
	*p_r = c->in.data + c->in_off;
	*len_r = avail;
	c->in_off += avail;
	return CONN_LINE;
}

int
conn_buffered(const struct conn *c)
{
	return c->in.len > c->in_off || (c->ssl && SSL_pending(c->ssl) > 0);
}

int
conn_pending(struct conn *c)
{
	if (c->in.len > c->in_off)
		return 1;
	if (c->ssl && SSL_pending(c->ssl) > 0)
		return 1;
	return conn_wait(c, POLLIN, 1) > 0 ? 1 : 0;
}

int
conn_wait_readable(struct conn *c, int ms)
{
	if (c->in.len > c->in_off || (c->ssl && SSL_pending(c->ssl) > 0))
		return 1;
	return conn_wait(c, POLLIN, ms);
}

void
conn_discard_input(struct conn *c)
{
	buf_reset(&c->in);
	c->in_off = 0;
	c->toolong_skip = 0;
}

int
conn_write(struct conn *c, const void *p, size_t len)
{
	if (buf_append(&c->out, p, len) == -1)
		return -1;
	if (c->out.len >= CONN_OUT_MAX)
		return conn_flush(c);
	return 0;
}

int
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	if (c->out.len >= CONN_OUT_MAX)
		return conn_flush(c);
	return 0;
}

int
conn_flush(struct conn *c)
{
	size_t off = 0;
	ssize_t n;
	long long end = conn_unit_end(c);	/* for the whole flush */
	int r, e;

	while (off < c->out.len) {
		if (c->ssl) {
			ERR_clear_error();
			r = SSL_write(c->ssl, c->out.data + off,
			    (int)(c->out.len - off));
			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) &&
			    conn_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    conn_left(c, end)) > 0)
				continue;
			goto fail;
		}
		n = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN &&
		    conn_wait(c, POLLOUT, conn_left(c, end)) > 0)
			continue;
		goto fail;
	}
	c->bytes_out += (long long)off;
	buf_reset(&c->out);
	return 0;
fail:
	buf_reset(&c->out);
	return -1;
}
