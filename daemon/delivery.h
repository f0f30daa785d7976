/*
 * delivery - a delivery agent: one SMTP delivery attempt of one message to
 * the recipients of one destination, in a process the queue manager forks
 * (qmgr.c explains the pool).  The agent resolves the route (gateway host,
 * or the domain's MX in preference order, then its A/AAAA), tries each
 * host and address until one takes the transaction, and reports one
 * DLV_MSG_RCPT per recipient (and, after a success over MX, the MX list as
 * DLV_MSG_MX for the cache) on a pipe to the queue manager.
 *
 * The agent never opens the store, never writes the queue, never logs a
 * recipient's outcome (the queue manager records and logs it), and runs as
 * the server user.
 */
#ifndef YUBIN_DELIVERY_H
#define YUBIN_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "route.h"
#include "smtpc.h"

#define DLV_PROTO_VERSION	1
#define DLV_RELAY_MAX		300	/* "host[ip]:port" */
#define DLV_CONNECT_TMO		30	/* seconds for a TCP connect */

enum dlv_msg_type {
	DLV_MSG_RCPT = 1,	/* a recipient's outcome */
	DLV_MSG_MX = 2,		/* one MX host for the cache */
};

enum dlv_class {
	DLV_C_SENT = 0,		/* 2xx after DATA */
	DLV_C_PERM,		/* 5xx, null MX, no such domain: bounce now */
	DLV_C_TEMP,		/* a 4xx reply: retry_count_rejected */
	DLV_C_NO_RESPONSE,	/* no host could be reached: retry_period_no_response */
	DLV_C_LINE_ERROR,	/* connected, then failed: retry_period_line_error */
};

/* Fixed layout, one write() each (smaller than PIPE_BUF, so atomic). */
struct dlv_msg {
	uint32_t	version;	/* DLV_PROTO_VERSION */
	uint32_t	type;		/* enum dlv_msg_type */
	uint32_t	idx;		/* recipient index in the envelope */
	uint32_t	cls;		/* enum dlv_class */
	int32_t		pref;		/* MX: preference */
	char		relay[DLV_RELAY_MAX];	/* RCPT: "host[ip]:port"; MX: host */
	char		text[SMTPC_TEXT_MAX];	/* "250 2.0.0 ok", "451 4.4.1 ..." */
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
	struct route_dest dest;
	struct dns_mx	 mx[DNS_MX_MAX];	/* cached MX list (nmx 0: ask DNS) */
	size_t		 nmx;
	char		**rcpts;	/* addresses */
	size_t		*idx;		/* their envelope indices */
	size_t		 n;
};

/* delivery_run - do J, writing struct dlv_msg records to FD.  Returns when
 * every recipient has been reported; the caller _exit()s. */
void	delivery_run(const struct dlv_job *j, int fd);

#endif
