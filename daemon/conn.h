/*
 * conn - one client connection, plain or TLS, with bounded buffered I/O and
 * timeouts.  Used by the SMTP and POP3 engines and by the SMTP client
 * (smtpc.c).
 *
 * Reads are buffered: conn_pending() tells whether the client has already
 * sent more (pipelining, early talkers), and conn_discard_input() throws
 * buffered plaintext away before a TLS handshake (STARTTLS/STLS injection).
 * Writes are buffered until conn_flush().  Nothing here interprets protocol.
 */
#ifndef YUBIN_CONN_H
#define YUBIN_CONN_H

#include <netinet/in.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "buf.h"

#define CONN_READ_CHUNK	16384	/* one read() or SSL_read() */
#define CONN_TLS_WHY_MAX 320	/* a handshake failure's reason, for logs */
#define CONN_OUT_MAX	(1024 * 1024)	/* queued reply bytes before a forced flush */

enum conn_status {
	CONN_LINE = 1,		/* a line was returned */
	CONN_EOF = 0,		/* peer closed */
	CONN_ERROR = -1,	/* I/O or TLS error */
	CONN_TIMEOUT = -2,	/* no data within the timeout */
	CONN_TOOLONG = -3,	/* line longer than the limit; consumed up to its end */
};

struct conn {
	int		 fd;
	SSL		*ssl;		/* NULL until TLS */
	struct buf	 in;
	size_t		 in_off;	/* consumed prefix of in */
	struct buf	 out;
	int		 timeout_ms;	/* a whole line, flush or TLS handshake
					 * must be done within this; <= 0: none */
	long long	 deadline_ms;	/* now_ms() time no wait goes past (the
					 * session's or DATA's limit); 0: none */
	char		 peer_ip[INET6_ADDRSTRLEN];
	int		 peer_port;
	int		 peer_loopback;	/* 127/8 or ::1 */
	char		 local_ip[INET6_ADDRSTRLEN];
	int		 local_port;
	int		 toolong_skip;	/* discarding the rest of a long line */
	int		 tls_opportunistic; /* conn_tls_accept: port 25's wider
					 * cipher list (tls_server_opportunistic) */
	long long	 bytes_in, bytes_out;
};

/* conn_connect - a TCP connection to SS within TIMEOUT_MS (non-blocking
 * connect, then poll).  The fd (O_NONBLOCK, O_CLOEXEC), or -1 with errno
 * (ETIMEDOUT when the time ran out). */
int	conn_connect(const struct sockaddr_storage *ss, int timeout_ms);
/* conn_init - wrap connected socket FD (owned from now on). */
void	conn_init(struct conn *c, int fd);
/* conn_close - shut TLS down, close the fd, free buffers. */
void	conn_close(struct conn *c);

/* conn_tls_accept - server-side TLS handshake on C.  0, or -1 (logged by
 * the caller with the peer's address; *why_r static, bounded to
 * CONN_TLS_WHY_MAX, carries OpenSSL's reasons for a failed handshake). */
int	conn_tls_accept(struct conn *c, SSL_CTX *ctx, const char **why_r);
/* conn_tls_connect - client-side TLS handshake on C (outbound SMTP);
 * SERVERNAME (may be NULL) goes into SNI and, when CTX verifies, is checked
 * against the certificate.  0, or -1 with *why_r static (as above). */
int	conn_tls_connect(struct conn *c, SSL_CTX *ctx, const char *servername,
	    const char **why_r);
/* conn_expired - 1 when C's deadline_ms has passed (a CONN_TIMEOUT was the
 * session's limit, not one line's). */
int	conn_expired(const struct conn *c);
/* conn_tls_info - "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" (static). */
const char *conn_tls_info(const struct conn *c);

/*
 * conn_getline - the next line, up to MAX bytes without its terminator.
 * *line_r points into the connection's buffer (borrowed until the next read
 * call), *len_r is its length (it may contain NUL bytes), *term_r tells how
 * it ended: 2 CRLF, 1 bare LF.  A bare CR inside the line is left in it for
 * the caller to judge.  Returns enum conn_status.
 */
int	conn_getline(struct conn *c, size_t max, char **line_r, size_t *len_r,
	    int *term_r);
/*
 * conn_read - the next bytes of input, at most MAX (> 0) and at least one:
 * *p_r points into the connection's buffer (borrowed until the next read
 * call), *len_r is their number.  Bytes already buffered are returned
 * without a system call; otherwise one read waits within timeout_ms and
 * deadline_ms, as a line does.  For counted data (BDAT chunks, RFC 3030):
 * never more than one read is held in memory.  Returns CONN_LINE when
 * bytes were returned, else CONN_EOF, CONN_ERROR or CONN_TIMEOUT.
 */
int	conn_read(struct conn *c, size_t max, char **p_r, size_t *len_r);
/* conn_buffered - 1 when input is already buffered (no system call). */
int	conn_buffered(const struct conn *c);
/* conn_pending - 1 when input is already buffered or readable right now. */
int	conn_pending(struct conn *c);
/* conn_wait_readable - 1 readable within MS (0: now, negative: no limit),
 * 0 not, -1 error. */
int	conn_wait_readable(struct conn *c, int ms);
/* conn_discard_input - drop everything buffered (before a TLS handshake). */
void	conn_discard_input(struct conn *c);

/* Buffered output; -1 on a write error (the session should end). */
int	conn_write(struct conn *c, const void *p, size_t len);
int	conn_printf(struct conn *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	conn_flush(struct conn *c);

#endif
