/*
 * delivery.c - the delivery agent's attempt; see delivery.h.  Runs in a
 * process forked by the queue manager, as the server user, and reads
 * network input (DNS answers, SMTP replies) through dns.c and smtpc.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "delivery.h"
#include "tls.h"
#include "util.h"

struct agent {
	const struct dlv_job *j;
	int		 fd;
	int		*done;		/* per recipient: reported */
	SSL_CTX		*ctx, *vctx;
};

static void
agent_send(struct agent *a, const struct dlv_msg *m)
{
	if (write_all(a->fd, m, sizeof(*m)) == -1)
		_exit(3);	/* the queue manager is gone: nothing to report to */
}

static void
agent_report(struct agent *a, size_t i, int cls, const char *relay,
    const char *text)
{
	struct dlv_msg m;

	if (a->done[i])
		return;
	memset(&m, 0, sizeof(m));
	m.version = DLV_PROTO_VERSION;
	m.type = DLV_MSG_RCPT;
	m.idx = (uint32_t)a->j->idx[i];
	m.cls = (uint32_t)cls;
	str_copy(m.relay, sizeof(m.relay), relay ? relay : "");
	if (str_copy(m.text, sizeof(m.text), text) == -1)
		snprintf(m.text, sizeof(m.text), "%.*s", (int)sizeof(m.text) - 1, text);
	agent_send(a, &m);
	a->done[i] = 1;
}

static void
agent_report_all(struct agent *a, int cls, const char *relay, const char *text)
{
	size_t i;

	for (i = 0; i < a->j->n; i++)
		agent_report(a, i, cls, relay, text);
}

/* agent_connect - TCP connect with a timeout.  fd, or -1 with errno. */
static int
agent_connect(const struct sockaddr_storage *ss)
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
		r = poll(&pfd, 1, DLV_CONNECT_TMO * 1000);
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

static void
agent_addr_str(const struct sockaddr_storage *ss, char *ip, size_t size)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip,
		    (socklen_t)size);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    ip, (socklen_t)size);
}

/* agent_host - try every address of HOST.  1 when the transaction was
 * decided there (every recipient reported), 0 to try the next host with
 * *LAST_CLS / LAST (text) / LAST_RELAY describing this failure. */
static int
agent_host(struct agent *a, const char *host, int *last_cls, char *last,
    size_t lastsize, char *last_relay, size_t relaysize)
{
	const struct dlv_job *j = a->j;
	struct sockaddr_storage addrs[DNS_ADDR_MAX];
	struct smtpc_reply *rr, sess;
	struct smtpc_msg m;
	struct conn c;
	char ip[INET6_ADDRSTRLEN], relay[DLV_RELAY_MAX];
	const char *why;
	size_t n, k, i;
	int st, fd, stage, res;

	st = dns_addrs(j->resolver, host, j->dest.port, addrs, DNS_ADDR_MAX, &n);
	if (st != DNS_OK) {
		*last_cls = DLV_C_NO_RESPONSE;
		snprintf(last, lastsize, "451 4.4.3 cannot find the address of %.255s%s",
		    host, st == DNS_TEMPFAIL ? " (DNS failure)" : "");
		snprintf(last_relay, relaysize, "%.255s", host);
		return 0;
	}
	rr = xcalloc(j->n, sizeof(*rr));
	for (k = 0; k < n; k++) {
		agent_addr_str(&addrs[k], ip, sizeof(ip));
		snprintf(relay, sizeof(relay), "%.200s[%s]:%d", host, ip, j->dest.port);
		snprintf(last_relay, relaysize, "%s", relay);
		fd = agent_connect(&addrs[k]);
		if (fd == -1) {
			*last_cls = DLV_C_NO_RESPONSE;
			snprintf(last, lastsize, "451 4.4.1 connect to %s: %s", relay,
			    strerror(errno));
			continue;
		}
		conn_init(&c, fd);
		if (j->dest.implicit_tls) {
			c.timeout_ms = 300 * 1000;
			if (conn_tls_connect(&c, j->dest.tls == ROUTE_TLS_VERIFY ?
			    a->vctx : a->ctx, host, &why) == -1) {
				*last_cls = DLV_C_LINE_ERROR;
				snprintf(last, lastsize, "451 4.7.5 %s: %s", relay, why);
				conn_close(&c);
				continue;
			}
		}
		memset(&m, 0, sizeof(m));
		m.helo = j->helo;
		m.sender = j->sender;
		m.rcpts = (const char *const *)j->rcpts;
		m.nrcpt = j->n;
		m.fd = open(j->qpath, O_RDONLY | O_CLOEXEC);
		if (m.fd == -1) {
			*last_cls = DLV_C_LINE_ERROR;
			snprintf(last, lastsize, "451 4.3.0 cannot open the queue file: %s",
			    strerror(errno));
			conn_close(&c);
			free(rr);
			agent_report_all(a, *last_cls, "", last);
			return 1;
		}
		m.size_crlf = j->size_crlf;
		m.body_8bit = j->body_8bit;
		m.smtputf8 = j->smtputf8;
		m.tls = j->dest.tls;
		m.implicit_tls = j->dest.implicit_tls;
		m.servername = host;
		m.tls_ctx = a->ctx;
		m.tls_vctx = a->vctx;
		m.user = j->dest.user;
		m.pass = j->dest.pass;
		memset(rr, 0, j->n * sizeof(*rr));
		res = smtpc_deliver(&c, &m, rr, &sess, &stage);
		close(m.fd);
		conn_close(&c);
		if (res == SMTPC_DONE) {
			for (i = 0; i < j->n; i++)
				agent_report(a, i, rr[i].code >= 200 && rr[i].code < 300 ?
				    DLV_C_SENT : rr[i].code >= 500 ? DLV_C_PERM :
				    DLV_C_TEMP, relay, rr[i].text);
			free(rr);
			return 1;
		}
		if (sess.code == 0)
			snprintf(last, lastsize, "451 4.4.2 %.490s", sess.text);
		else
			snprintf(last, lastsize, "%s", sess.text);
		*last_cls = sess.code == 0 ? DLV_C_LINE_ERROR :
		    sess.code >= 500 ? DLV_C_PERM : DLV_C_TEMP;
		if (sess.code >= 500 && stage >= SMTPC_ST_AUTH) {
			/* the sender or the message is refused: final */
			agent_report_all(a, DLV_C_PERM, relay, last);
			free(rr);
			return 1;
		}
	}
	free(rr);
	return 0;
}

void
delivery_run(const struct dlv_job *j, int fd)
{
	struct agent a;
	struct dns_mx mx[DNS_MX_MAX];
	char last[SMTPC_TEXT_MAX], relay[DLV_RELAY_MAX];
	size_t nmx = 0, i;
	int st, cls = DLV_C_NO_RESPONSE, from_cache = 0, sent = 0;

	memset(&a, 0, sizeof(a));
	a.j = j;
	a.fd = fd;
	a.done = xcalloc(j->n, sizeof(*a.done));
	/* only the context this route can use: loading the system CA store
	 * for "verify" costs more than a whole plain delivery */
	if (j->dest.tls == ROUTE_TLS_VERIFY)
		a.vctx = tls_client_ctx(1);
	else if (j->dest.tls != ROUTE_TLS_NONE || j->dest.implicit_tls)
		a.ctx = tls_client_ctx(0);
	if ((j->dest.tls == ROUTE_TLS_VERIFY && a.vctx == NULL) ||
	    (j->dest.tls != ROUTE_TLS_VERIFY && a.ctx == NULL &&
	    (j->dest.tls != ROUTE_TLS_NONE || j->dest.implicit_tls))) {
		agent_report_all(&a, DLV_C_LINE_ERROR, "",
		    "451 4.7.5 cannot create a TLS context");
		goto out;
	}
	snprintf(last, sizeof(last), "451 4.4.1 no host to try");
	relay[0] = '\0';
	if (j->dest.kind == ROUTE_GATEWAY) {
		str_copy(mx[0].name, sizeof(mx[0].name), j->dest.host);
		mx[0].pref = 0;
		nmx = 1;
	} else if (j->nmx > 0) {
		memcpy(mx, j->mx, j->nmx * sizeof(mx[0]));
		nmx = j->nmx;
		dns_sort_mx(mx, nmx);
		from_cache = 1;
	} else {
		st = dns_mx(j->resolver, j->dest.host, mx, DNS_MX_MAX, &nmx);
		switch (st) {
		case DNS_OK:
			break;
		case DNS_NODATA:
			/* RFC 5321 §5.1: no MX, the domain is its own host */
			str_copy(mx[0].name, sizeof(mx[0].name), j->dest.host);
			mx[0].pref = 0;
			nmx = 1;
			break;
		case DNS_NULLMX:
			agent_report_all(&a, DLV_C_PERM, "",
			    "556 5.1.10 the domain accepts no mail (null MX, RFC 7505)");
			goto out;
		case DNS_NXDOMAIN:
			agent_report_all(&a, DLV_C_PERM, "",
			    "550 5.1.2 no such domain");
			goto out;
		default:
			agent_report_all(&a, DLV_C_NO_RESPONSE, "",
			    "451 4.4.3 MX look-up failed (DNS temporary failure)");
			goto out;
		}
	}
	for (i = 0; i < nmx; i++)
		if (agent_host(&a, mx[i].name, &cls, last, sizeof(last), relay,
		    sizeof(relay)) == 1)
			break;
	for (i = 0; i < j->n; i++)
		if (a.done[i] == 0)
			break;
	sent = i == j->n;
	agent_report_all(&a, cls, relay, last);
	if (sent && j->dest.kind == ROUTE_MX && !from_cache) {
		for (i = 0; i < nmx; i++) {
			struct dlv_msg m;

			memset(&m, 0, sizeof(m));
			m.version = DLV_PROTO_VERSION;
			m.type = DLV_MSG_MX;
			m.pref = mx[i].pref;
			str_copy(m.relay, sizeof(m.relay), mx[i].name);
			agent_send(&a, &m);
		}
	}
out:
	if (a.ctx)
		SSL_CTX_free(a.ctx);
	if (a.vctx)
		SSL_CTX_free(a.vctx);
	free(a.done);
}
