/*
 * clamd.c - the clamd client of the clamav plugin (clamav.h): the address
 * of clamd, the zINSTREAM and zPING conversations, and the parser of what
 * clamd answers.
 *
 * INSTREAM (clamd(8)): "zINSTREAM\0", then chunks, each a 4-byte
 * big-endian length and that many bytes, ended by a zero length; clamd
 * answers one NUL-ended line: "stream: OK", "stream: NAME FOUND",
 * "... ERROR".  When the stream passes clamd's StreamMaxLength, clamd
 * answers "INSTREAM size limit exceeded. ERROR" and closes, possibly
 * while we still write: a failed write is followed by an attempt to read
 * that answer.
 *
 * Runs in SMTP workers as the server user (cv_sock_parse also in the
 * master, as root, at load).  No yh_* call: the unit and fuzz tests link
 * this file alone.  Must never block past the caller's deadline, raise
 * SIGPIPE, read more than CV_REPLY_MAX bytes of an answer, or move the
 * message descriptor's offset.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clamav.h"

/* ---- clamd's address ---------------------------------------------------- */

/* port_parse - decimal 1..65535, the whole of S; -1 otherwise. */
static int
port_parse(const char *s)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

int
cv_sock_parse(const char *s, struct cv_sock *sk, const char **why)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&sk->ss;
	struct addrinfo hints, *res = NULL;
	char host[256], port[8];
	const char *colon, *h;
	size_t hlen;
	int p;

	memset(sk, 0, sizeof(*sk));
	if (s == NULL || *s == '\0') {
		*why = "empty: a PATH or HOST:PORT";
		return -1;
	}
	if (strlen(s) >= sizeof(sk->text)) {
		*why = "too long";
		return -1;
	}
	memcpy(sk->text, s, strlen(s) + 1);
	if (s[0] == '/') {
		if (strlen(s) >= sizeof(sun->sun_path)) {
			*why = "socket path too long";
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, s, strlen(s) + 1);
		sk->len = (socklen_t)sizeof(*sun);
		return 0;
	}
	if ((colon = strrchr(s, ':')) == NULL) {
		*why = "not an absolute PATH or HOST:PORT";
		return -1;
	}
	h = s;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 2 || s[hlen - 1] != ']') {
			*why = "not [IPv6]:PORT";
			return -1;
		}
		h = s + 1;
		hlen -= 2;
	} else if (memchr(s, ':', hlen) != NULL) {
		*why = "an IPv6 address goes in brackets: [IPv6]:PORT";
		return -1;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "no host before the port";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if ((p = port_parse(colon + 1)) == -1) {
		*why = "port not 1..65535";
		return -1;
	}
	snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) {
		*why = "host unknown";
		return -1;
	}
	if (res->ai_addrlen > sizeof(sk->ss)) {
		freeaddrinfo(res);
		*why = "address too long";
		return -1;
	}
	memcpy(&sk->ss, res->ai_addr, res->ai_addrlen);
	sk->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---- replies -------------------------------------------------------------- */

char *
cv_printable(char *out, size_t size, const char *buf, size_t len)
{
	size_t i;

	if (size == 0)
		return out;
	for (i = 0; i < len && i + 1 < size; i++)
		out[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '?';
	out[i] = '\0';
	return out;
}

const char *
cv_status_name(enum cv_status st)
{
	switch (st) {
	case CV_CLEAN:
		return "clean";
	case CV_FOUND:
		return "infected";
	case CV_ERROR:
		return "error";
	case CV_FAIL:
		break;
	}
	return "fail";
}

/* ends_with - BUF (LEN bytes) ends with SUF. */
static int
ends_with(const char *buf, size_t len, const char *suf)
{
	size_t n = strlen(suf);

	return len >= n && memcmp(buf + len - n, suf, n) == 0;
}

/* unexpected - R is CV_FAIL for the answer BUF (LEN bytes). */
static enum cv_status
unexpected(struct cv_result *r, const char *buf, size_t len)
{
	char text[64];

	r->status = CV_FAIL;
	cv_printable(text, sizeof(text), buf, len);
	snprintf(r->why, sizeof(r->why), "unexpected reply '%s%s'", text,
	    len >= sizeof(text) ? "..." : "");
	return CV_FAIL;
}

enum cv_status
cv_reply_parse(const char *buf, size_t len, struct cv_result *r)
{
	static const char pre[] = "stream: ";
	const size_t plen = sizeof(pre) - 1;
	size_t i, nlen;

	r->status = CV_FAIL;
	r->name[0] = '\0';
	r->why[0] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0 || len > CV_REPLY_MAX)
		return unexpected(r, buf, len);
	for (i = 0; i < len; i++)
		if (buf[i] < 0x20 || buf[i] >= 0x7f)
			return unexpected(r, buf, len);
	if (ends_with(buf, len, " ERROR")) {
		r->status = CV_ERROR;
		cv_printable(r->why, sizeof(r->why), buf, len - 6);
		return CV_ERROR;
	}
	if (len < plen || memcmp(buf, pre, plen) != 0)
		return unexpected(r, buf, len);
	if (len == plen + 2 && memcmp(buf + plen, "OK", 2) == 0) {
		r->status = CV_CLEAN;
		return CV_CLEAN;
	}
	if (len < plen + 6 || !ends_with(buf, len, " FOUND"))
		return unexpected(r, buf, len);
	nlen = len - plen - 6;
	if (nlen == 0 || nlen > CV_NAME_MAX ||
	    memchr(buf + plen, ' ', nlen) != NULL)
		return unexpected(r, buf, len);
	memcpy(r->name, buf + plen, nlen);
	r->name[nlen] = '\0';
	r->status = CV_FOUND;
	return CV_FOUND;
}

/* ---- I/O under a deadline ------------------------------------------------- */

long long
cv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fail - R is CV_FAIL with WHY (and errno's text when ERR is not 0). */
static enum cv_status
fail(struct cv_result *r, const char *why, int err)
{
	r->status = CV_FAIL;
	if (err != 0)
		snprintf(r->why, sizeof(r->why), "%s: %s", why, strerror(err));
	else
		snprintf(r->why, sizeof(r->why), "%s", why);
	return CV_FAIL;
}

/* wait_fd - poll FD for EVENTS until DEADLINE.  The revents, 0 at the
 * deadline, -1 on a poll error. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		left = deadline - cv_now_ms();
		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n > 0)
			return pfd.revents;
	}
}

/* sock_open - a non-blocking socket connected to SK by DEADLINE, or -1
 * (R says why). */
static int
sock_open(const struct cv_sock *sk, long long deadline, struct cv_result *r)
{
	int fd, err = 0, ev;
	socklen_t elen = sizeof(err);

	fd = socket(sk->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1) {
		fail(r, "socket", errno);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&sk->ss, sk->len) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		fail(r, "connect", errno);
		close(fd);
		return -1;
	}
	if ((ev = wait_fd(fd, POLLOUT, deadline)) <= 0) {
		fail(r, ev == 0 ? "connect: timed out" : "connect: poll", ev ?
		    errno : 0);
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 || err) {
		fail(r, "connect", err ? err : errno);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * send_all - LEN bytes of P to FD by DEADLINE.  0; 1 when clamd has
 * something to say (or closed) before all was written (the caller reads
 * the answer); -1 timed out or failed (R says why).
 */
static int
send_all(int fd, const void *p, size_t len, long long deadline,
    struct cv_result *r)
{
	const char *c = p;
	ssize_t n;
	int ev;

	while (len > 0) {
		if ((ev = wait_fd(fd, POLLOUT | POLLIN, deadline)) <= 0) {
			fail(r, ev == 0 ? "write: timed out" : "write: poll",
			    ev ? errno : 0);
			return -1;
		}
		if (ev & (POLLIN | POLLHUP))
			return 1;
		if (ev & POLLERR)
			return 1;	/* the read says more */
		n = send(fd, c, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return 1;	/* closed: what it said first is read */
		if (n == -1) {
			fail(r, "write", errno);
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * read_reply - clamd's NUL-ended answer from FD by DEADLINE into BUF
 * (CV_REPLY_MAX + 1 bytes), its length (without the NUL) in *LEN.  An
 * answer ended by the peer closing counts too.  0, or -1 (R says why:
 * timed out, closed with nothing said, too long, read error).
 */
static int
read_reply(int fd, char *buf, size_t *len, long long deadline,
    struct cv_result *r)
{
	size_t have = 0;
	ssize_t n;
	char *nul;
	int ev;

	for (;;) {
		if ((ev = wait_fd(fd, POLLIN, deadline)) <= 0) {
			fail(r, ev == 0 ? "read: timed out" : "read: poll",
			    ev ? errno : 0);
			return -1;
		}
		n = recv(fd, buf + have, CV_REPLY_MAX + 1 - have, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1) {
			fail(r, "read", errno);
			return -1;
		}
		if (n == 0) {
			if (have == 0) {
				fail(r, "closed without an answer", 0);
				return -1;
			}
			*len = have;
			return 0;
		}
		if ((nul = memchr(buf + have, '\0', (size_t)n)) != NULL) {
			*len = (size_t)(nul - buf);
			return 0;
		}
		have += (size_t)n;
		if (have > CV_REPLY_MAX) {
			fail(r, "answer too long", 0);
			return -1;
		}
	}
}

/* put_be32 - V as 4 big-endian bytes at P. */
static void
put_be32(unsigned char *p, unsigned long v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * stream - the message of FD as INSTREAM chunks, at most MAX bytes, then
 * the zero-length end.  0 all sent; 1 clamd spoke first; -1 failed (R
 * says why).  R->sent counts the message bytes sent.
 */
static int
stream(int sfd, int fd, long long max, long long deadline, struct cv_result *r)
{
	unsigned char *chunk;
	long long off = 0;
	size_t want;
	ssize_t n;
	int s;

	if ((chunk = malloc(4 + CV_CHUNK)) == NULL) {
		fail(r, "out of memory", 0);
		return -1;
	}
	for (;;) {
		want = CV_CHUNK;
		if (max - off < (long long)want)
			want = (size_t)(max - off);
		n = 0;
		if (want > 0)
			n = pread(fd, chunk + 4, want, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fail(r, "message read", errno);
			free(chunk);
			return -1;
		}
		put_be32(chunk, (unsigned long)n);	/* 0: the end */
		s = send_all(sfd, chunk, 4 + (size_t)n, deadline, r);
		if (s != 0) {
			free(chunk);
			return s;
		}
		if (n == 0)
			break;
		off += n;
		r->sent = off;
	}
	free(chunk);
	return 0;
}

enum cv_status
cv_scan(const struct cv_sock *sk, int fd, long long max, long long deadline,
    struct cv_result *r)
{
	static const char cmd[] = "zINSTREAM";	/* with its NUL */
	char buf[CV_REPLY_MAX + 1];
	size_t len;
	int sfd, s;

	memset(r, 0, sizeof(*r));
	r->status = CV_FAIL;
	if ((sfd = sock_open(sk, deadline, r)) == -1)
		return CV_FAIL;
	s = send_all(sfd, cmd, sizeof(cmd), deadline, r);
	if (s == 0)
		s = stream(sfd, fd, max, deadline, r);
	if (s == -1 || read_reply(sfd, buf, &len, deadline, r) == -1) {
		close(sfd);
		return CV_FAIL;
	}
	close(sfd);
	cv_reply_parse(buf, len, r);
	if (s == 1 && r->status != CV_ERROR && r->status != CV_FOUND)
		/* an answer before the end of the stream that is no
		 * verdict on it */
		return r->status == CV_FAIL ? CV_FAIL :
		    fail(r, "answered before the end of the stream", 0);
	return r->status;
}

int
cv_ping(const struct cv_sock *sk, long long deadline, struct cv_result *r)
{
	static const char cmd[] = "zPING";
	char buf[CV_REPLY_MAX + 1], text[64];
	size_t len;
	int sfd, s;

	memset(r, 0, sizeof(*r));
	if ((sfd = sock_open(sk, deadline, r)) == -1)
		return -1;
	s = send_all(sfd, cmd, sizeof(cmd), deadline, r);
	if (s == -1 || read_reply(sfd, buf, &len, deadline, r) == -1) {
		close(sfd);
		return -1;
	}
	close(sfd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 4 && memcmp(buf, "PONG", 4) == 0)
		return 0;
	cv_printable(text, sizeof(text), buf, len);
	snprintf(r->why, sizeof(r->why), "unexpected reply '%s'", text);
	return -1;
}
