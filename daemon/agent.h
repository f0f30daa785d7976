/*
 * agent - the delivery agents: processes the queue manager forks and
 * keeps (qmgr.c explains the pool), each serving one job at a time over a
 * SOCK_SEQPACKET socket pair.  A job is one message and the recipients of
 * one destination.  The agent resolves the route (gateway host, or the
 * domain's MX in preference order, then its A/AAAA), tries each host and
 * address until one takes the transaction, and reports one DLV_MSG_RCPT per
 * recipient, after a success over MX the MX list (DLV_MSG_MX, for the
 * cache), and DLV_MSG_END when it is ready for the next job.
 *
 * Connection reuse: after a transaction that ended cleanly the agent keeps
 * the SMTP session open for DLV_IDLE_KEEP seconds (and at most
 * DLV_REUSE_TIME in all); a next job for the same destination (same host
 * key, port, TLS policy and credentials) goes over it without a new
 * connect, greeting, EHLO, STARTTLS or AUTH.  A kept session the peer has
 * closed or spoken on is dropped; a reused session that fails before MAIL
 * is answered is not held against the job: the agent connects afresh.
 *
 * The agent never opens the store, never writes the queue, never logs a
 * recipient's outcome (the queue manager records and logs it), runs as the
 * server user, and ends when the queue manager closes its socket.
 */
#ifndef YUBIN_DELIVERY_H
#define YUBIN_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dns.h"
#include "route.h"
#include "smtpc.h"

#define DLV_PROTO_VERSION	1
#define DLV_RELAY_MAX		300	/* "host[ip]:port" */
#define DLV_CONNECT_TMO		30	/* seconds for a TCP connect */
#define DLV_IDLE_KEEP		5	/* seconds an unused session is kept */
#define DLV_REUSE_TIME		300	/* seconds a session is used in all */
#define DLV_JOB_MAX		(128 * 1024)	/* an encoded job */

enum dlv_msg_type {
	DLV_MSG_RCPT = 1,	/* a recipient's outcome */
	DLV_MSG_MX = 2,		/* one MX host for the cache */
	DLV_MSG_END = 3,	/* the job is done; ready for the next */
};

enum dlv_class {
	DLV_C_SENT = 0,		/* 2xx after DATA */
	DLV_C_PERM,		/* 5xx, null MX, no such domain: bounce now */
	DLV_C_TEMP,		/* a 4xx reply: retry_count_rejected */
	DLV_C_NO_RESPONSE,	/* no host could be reached: retry_period_no_response */
	DLV_C_LINE_ERROR,	/* connected, then failed: retry_period_line_error */
};

/* Fixed layout, one datagram each. */
struct dlv_msg {
	uint32_t	version;	/* DLV_PROTO_VERSION */
	uint32_t	type;		/* enum dlv_msg_type */
	uint32_t	idx;		/* recipient index in the envelope */
	uint32_t	cls;		/* enum dlv_class */
	int32_t		pref;		/* MX: preference */
	char		relay[DLV_RELAY_MAX];	/* RCPT: "host[ip]:port"; MX: host */
	char		text[SMTPC_TEXT_MAX];	/* "250 2.0.0 ok", "451 4.4.1 ..." */
	uint32_t	dsn;		/* RCPT: the next hop offered DSN
					 * (RFC 3461) and got the parameters */
};

struct dlv_job {
	const char	*qid;
	const char	*qpath;
	const char	*sender;
	const char	*helo;
	const char	*resolver;	/* server.resolver */
	long long	 size_crlf;
	int		 body_8bit;
	int		 smtputf8;
	int		 timeout;	/* queue.smtp_timeout (0: RFC values) */
	struct route_dest dest;
	struct dns_mx	 mx[DNS_MX_MAX];	/* cached MX list (nmx 0: ask DNS) */
	size_t		 nmx;
	char		**rcpts;	/* addresses */
	size_t		*idx;		/* their envelope indices */
	size_t		 n;
	int		 dsn_ret;	/* DSN (dsn.h): RET, 0 none */
	const char	*dsn_envid;	/* ENVID decoded, "" none */
	int		*notify;	/* per recipient: NOTIFY bits, 0 none */
	const char	**orcpt;	/* per recipient: "type;address", "" none */
};

/*
 * dlv_job_encode - J as one datagram into OUT.  0, or -1 when it would
 * exceed DLV_JOB_MAX.
 */
int	dlv_job_encode(const struct dlv_job *j, struct buf *out);
/*
 * dlv_job_decode - P[0..LEN) into *J, whose strings point into P (which
 * must stay) and whose rcpts, idx, notify and orcpt are allocated
 * (dlv_job_free).  0, or -1 when malformed.
 */
int	dlv_job_decode(struct dlv_job *j, char *p, size_t len);
void	dlv_job_free(struct dlv_job *j);

/* delivery_agent - serve jobs from FD until it reaches end of file; the
 * caller _exit()s.  NODE_CTX verifies the nodes of this site
 * (tls_node_ctx; NULL: none). */
void	delivery_agent(int fd, SSL_CTX *node_ctx);

#endif
