/*
 * agent.c - the delivery agent's attempt; see agent.h.  Runs in a
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
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "agent.h"
#include "dsn.h"
#include "tls.h"
#include "util.h"

/* a session kept for the next job to the same destination */
struct kept {
	int		 open;
	struct conn	 c;
	struct smtpc_session s;
	struct route_dest dest;
	char		 host[DNS_NAME_MAX + 1];
	char		 relay[DLV_RELAY_MAX];
	long long	 opened_ms;	/* connected */
	long long	 idle_ms;	/* last job ended */
};

struct agent {
	const struct dlv_job *j;
	int		 fd;
	int		*done;		/* per recipient: reported */
	int		 qfd;		/* the queue file */
	SSL_CTX		*ctx, *vctx;	/* made when a route first needs them */
	SSL_CTX		*nctx;		/* the site CA's (tls_node_ctx), or NULL */
	int		 dsn;		/* the reporting session offered DSN */
	struct kept	 k;
};

static void
agent_send(struct agent *a, const struct dlv_msg *m)
{
	ssize_t n;

	do
		n = send(a->fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(*m))
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
	m.dsn = (uint32_t)a->dsn;
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

/* agent_tls - the TLS contexts route D needs (loading the system CA store
 * for "verify" costs more than a plain delivery: only when needed, once).
 * 0 or -1. */
static int
agent_tls(struct agent *a, const struct route_dest *d)
{
	if (d->tls == ROUTE_TLS_VERIFY && strncmp(d->key, "node:", 5) == 0)
		return a->nctx ? 0 : -1;
	if (d->tls == ROUTE_TLS_VERIFY) {
		if (a->vctx == NULL)
			a->vctx = tls_client_ctx(1);
		return a->vctx ? 0 : -1;
	}
	if (d->tls != ROUTE_TLS_NONE || d->implicit_tls) {
		if (a->ctx == NULL)
			a->ctx = tls_client_ctx(0);
		return a->ctx ? 0 : -1;
	}
	return 0;
}

/* dest_same - 1 when a session made for A may carry mail routed to B. */
static int
dest_same(const struct route_dest *a, const struct route_dest *b)
{
	return a->kind == b->kind && strcasecmp(a->host, b->host) == 0 &&
	    a->port == b->port && a->implicit_tls == b->implicit_tls &&
	    a->tls == b->tls && strcmp(a->user, b->user) == 0 &&
	    strcmp(a->pass, b->pass) == 0;
}

/* kept_drop - end the kept session (QUIT when QUIT and the peer talks). */
static void
kept_drop(struct agent *a, int quit)
{
	if (!a->k.open)
		return;
	if (quit)
		smtpc_close(&a->k.s);
	conn_close(&a->k.c);
	explicit_bzero(&a->k.dest, sizeof(a->k.dest));
	a->k.open = 0;
}

/* agent_connect - TCP connect within the connect timeout.  fd, or -1
 * with errno. */
static int
agent_connect(const struct sockaddr_storage *ss)
{
	return conn_connect(ss, smtpc_timeout(DLV_CONNECT_TMO) * 1000);
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

/* agent_msg - the smtpc_msg of the current job for HOST. */
static void
agent_msg(const struct agent *a, const char *host, struct smtpc_msg *m)
{
	const struct dlv_job *j = a->j;

	memset(m, 0, sizeof(*m));
	m->helo = j->helo;
	m->sender = j->sender;
	m->rcpts = (const char *const *)j->rcpts;
	m->nrcpt = j->n;
	m->fd = a->qfd;
	m->size_crlf = j->size_crlf;
	m->body_8bit = j->body_8bit;
	m->smtputf8 = j->smtputf8;
	m->tls = j->dest.tls;
	m->implicit_tls = j->dest.implicit_tls;
	m->servername = host;
	m->tls_ctx = a->ctx;
	m->tls_vctx = a->vctx;
	m->user = j->dest.user;
	m->pass = j->dest.pass;
	m->dsn_ret = j->dsn_ret;
	m->dsn_envid = j->dsn_envid;
	m->notify = j->notify;
	m->orcpt = (const char *const *)j->orcpt;
	/* to a node of this site: our queue id, by which it knows a retry
	 * of mail it already took (smtp_data.c); its certificate, when
	 * verified, names the node (node_tls_ca) */
	if (strncmp(j->dest.key, "node:", 5) == 0) {
		m->node_id = j->qid;
		m->tls_vctx = a->nctx;
		m->servername = j->dest.key + 5;
	}
}

/* agent_failed - a session failure SESS as *CLS and the text LAST: the
 * peer's reply, or a local reason (I/O, timeout, TLS) as 451 4.4.2. */
static void
agent_failed(const struct smtpc_reply *sess, int *cls, char *last,
    size_t lastsize)
{
	if (sess->code == 0)
		snprintf(last, lastsize, "451 4.4.2 %.490s", sess->text);
	else
		snprintf(last, lastsize, "%s", sess->text);
	*cls = sess->code == 0 ? DLV_C_LINE_ERROR : sess->code >= 500 ?
	    DLV_C_PERM : DLV_C_TEMP;
}

/*
 * agent_trans - the job's transaction on the open session S at RELAY.  1
 * when the transaction was decided (every recipient reported), 0 to try
 * the next host (*LAST_CLS and LAST say why), -1 when the session was a
 * REUSED one that failed at MAIL (dead, or refusing MAIL with any reply).
 */
static int
agent_trans(struct agent *a, struct smtpc_session *s, const char *host,
    const char *relay, int reused, int *last_cls, char *last, size_t lastsize)
{
	const struct dlv_job *j = a->j;
	struct smtpc_reply *rr, sess;
	struct smtpc_msg m;
	size_t i;
	int res, stage;

	agent_msg(a, host, &m);
	rr = xcalloc(j->n, sizeof(*rr));
	res = smtpc_send(s, &m, rr, &sess, &stage);
	if (res == SMTPC_DONE) {
		a->dsn = s->caps.dsn;
		for (i = 0; i < j->n; i++)
			agent_report(a, i, rr[i].code >= 200 && rr[i].code < 300 ?
			    DLV_C_SENT : rr[i].code >= 500 ? DLV_C_PERM :
			    DLV_C_TEMP, relay, rr[i].text);
		a->dsn = 0;
		free(rr);
		return 1;
	}
	free(rr);
	/* a reused session that fails at MAIL, whatever the reply (a 503
	 * "nested MAIL" says the session, not the message, is wrong):
	 * start afresh, never bounce on it */
	if (reused && stage == SMTPC_ST_MAIL)
		return -1;
	agent_failed(&sess, last_cls, last, lastsize);
	if (sess.code >= 500) {
		/* the sender or the message is refused: final */
		agent_report_all(a, DLV_C_PERM, relay, last);
		return 1;
	}
	return 0;
}

/* agent_host - try every address of HOST.  1 when the transaction was
 * decided there (every recipient reported), 0 to try the next host with
 * *LAST_CLS / LAST (text) / LAST_RELAY describing this failure.  A session
 * that ends cleanly is kept for the next job. */
static int
agent_host(struct agent *a, const char *host, int *last_cls, char *last,
    size_t lastsize, char *last_relay, size_t relaysize)
{
	const struct dlv_job *j = a->j;
	struct sockaddr_storage addrs[DNS_ADDR_MAX];
	struct smtpc_reply sess;
	struct smtpc_msg m;
	struct kept *k = &a->k;
	char ip[INET6_ADDRSTRLEN], relay[DLV_RELAY_MAX];
	const char *why;
	size_t n, i;
	int st, fd, stage, res;

	st = dns_addrs(j->resolver, host, j->dest.port, addrs, DNS_ADDR_MAX, &n);
	if (st != DNS_OK) {
		*last_cls = DLV_C_NO_RESPONSE;
		snprintf(last, lastsize, "451 4.4.3 cannot find the address of %.255s%s",
		    host, st == DNS_TEMPFAIL ? " (DNS failure)" : "");
		snprintf(last_relay, relaysize, "%.255s", host);
		return 0;
	}
	for (i = 0; i < n; i++) {
		agent_addr_str(&addrs[i], ip, sizeof(ip));
		snprintf(relay, sizeof(relay), "%.200s[%s]:%d", host, ip, j->dest.port);
		snprintf(last_relay, relaysize, "%s", relay);
		fd = agent_connect(&addrs[i]);
		if (fd == -1) {
			*last_cls = DLV_C_NO_RESPONSE;
			snprintf(last, lastsize, "451 4.4.1 connect to %s: %s", relay,
			    strerror(errno));
			continue;
		}
		conn_init(&k->c, fd);
		if (j->dest.implicit_tls) {
			k->c.timeout_ms = smtpc_timeout(300) * 1000;
			if (conn_tls_connect(&k->c, j->dest.tls == ROUTE_TLS_VERIFY ?
			    a->vctx : a->ctx, host, &why) == -1) {
				*last_cls = DLV_C_LINE_ERROR;
				snprintf(last, lastsize, "451 4.7.5 %s: %s", relay, why);
				conn_close(&k->c);
				continue;
			}
		}
		agent_msg(a, host, &m);
		if (smtpc_open(&k->s, &k->c, &m, &sess, &stage) != SMTPC_DONE) {
			agent_failed(&sess, last_cls, last, lastsize);
			smtpc_close(&k->s);
			conn_close(&k->c);
			continue;
		}
		res = agent_trans(a, &k->s, host, relay, 0, last_cls, last,
		    lastsize);
		if (res == 1 && k->s.clean && k->s.alive) {
			k->open = 1;
			k->dest = j->dest;
			str_copy(k->host, sizeof(k->host), host);
			str_copy(k->relay, sizeof(k->relay), relay);
			k->opened_ms = now_ms();
			return 1;
		}
		smtpc_close(&k->s);
		conn_close(&k->c);
		if (res == 1)
			return 1;
	}
	return 0;
}

/* agent_kept - the job over the kept session, when it serves this route.
 * 1 decided, 0 not (the session is gone: deliver afresh). */
static int
agent_kept(struct agent *a)
{
	struct kept *k = &a->k;
	char last[SMTPC_TEXT_MAX];
	int cls, r;

	if (!k->open)
		return 0;
	if (!dest_same(&k->dest, &a->j->dest) ||
	    now_ms() - k->opened_ms >= DLV_REUSE_TIME * 1000LL) {
		kept_drop(a, 1);
		return 0;
	}
	if (conn_wait_readable(&k->c, 0) != 0) {
		/* the peer closed it, or speaks out of turn (421): gone */
		kept_drop(a, 0);
		return 0;
	}
	r = agent_trans(a, &k->s, k->host, k->relay, 1, &cls, last, sizeof(last));
	if (r != 1 || !k->s.clean || !k->s.alive)
		kept_drop(a, r != -1);
	/* a failure short of a decision: every host again, from the top */
	return r == 1;
}

/* agent_job - deliver job J, reporting every recipient. */
static void
agent_job(struct agent *a, const struct dlv_job *j)
{
	struct dns_mx mx[DNS_MX_MAX];
	char last[SMTPC_TEXT_MAX], relay[DLV_RELAY_MAX];
	size_t nmx = 0, i;
	int st, cls = DLV_C_NO_RESPONSE, from_cache = 0, sent = 0;

	a->j = j;
	a->done = xcalloc(j->n, sizeof(*a->done));
	smtpc_timeout_cap(j->timeout);
	a->qfd = open(j->qpath, O_RDONLY | O_CLOEXEC);
	if (a->qfd == -1) {
		snprintf(last, sizeof(last), "451 4.3.0 cannot open the queue "
		    "file: %s", strerror(errno));
		agent_report_all(a, DLV_C_LINE_ERROR, "", last);
		goto out;
	}
	if (agent_tls(a, &j->dest) == -1) {
		agent_report_all(a, DLV_C_LINE_ERROR, "",
		    "451 4.7.5 cannot create a TLS context");
		goto out;
	}
	if (agent_kept(a))
		goto out;
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
			agent_report_all(a, DLV_C_PERM, "",
			    "556 5.1.10 the domain accepts no mail (null MX, RFC 7505)");
			goto out;
		case DNS_NXDOMAIN:
			agent_report_all(a, DLV_C_PERM, "",
			    "550 5.1.2 no such domain");
			goto out;
		default:
			agent_report_all(a, DLV_C_NO_RESPONSE, "",
			    "451 4.4.3 MX look-up failed (DNS temporary failure)");
			goto out;
		}
	}
	for (i = 0; i < nmx; i++)
		if (agent_host(a, mx[i].name, &cls, last, sizeof(last), relay,
		    sizeof(relay)) == 1)
			break;
	for (i = 0; i < j->n; i++)
		if (a->done[i] == 0)
			break;
	sent = i == j->n;
	agent_report_all(a, cls, relay, last);
	if (sent && j->dest.kind == ROUTE_MX && !from_cache) {
		for (i = 0; i < nmx; i++) {
			struct dlv_msg m;

			memset(&m, 0, sizeof(m));
			m.version = DLV_PROTO_VERSION;
			m.type = DLV_MSG_MX;
			m.pref = mx[i].pref;
			str_copy(m.relay, sizeof(m.relay), mx[i].name);
			agent_send(a, &m);
		}
	}
out:
	if (a->qfd != -1)
		close(a->qfd);
	a->qfd = -1;
	free(a->done);
	a->done = NULL;
	a->j = NULL;
	a->k.idle_ms = now_ms();
	{
		struct dlv_msg m;

		memset(&m, 0, sizeof(m));
		m.version = DLV_PROTO_VERSION;
		m.type = DLV_MSG_END;
		agent_send(a, &m);
	}
}

void
delivery_agent(int fd, SSL_CTX *node_ctx)
{
	static char in[DLV_JOB_MAX];
	struct pollfd pfd[2];
	struct dlv_job j;
	struct agent a;
	ssize_t len;
	int r, tmo;

	memset(&a, 0, sizeof(a));
	a.fd = fd;
	a.qfd = -1;
	a.nctx = node_ctx;
	for (;;) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		tmo = -1;
		if (a.k.open) {
			pfd[1].fd = a.k.c.fd;
			pfd[1].events = POLLIN;
			tmo = (int)(a.k.idle_ms + DLV_IDLE_KEEP * 1000LL - now_ms());
			if (tmo < 0)
				tmo = 0;
		}
		r = poll(pfd, a.k.open ? 2 : 1, tmo);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		if (r == 0) {
			kept_drop(&a, 1);	/* unused for DLV_IDLE_KEEP */
			continue;
		}
		if (a.k.open && pfd[1].revents != 0)
			kept_drop(&a, 0);	/* closed by the peer, or a 421 */
		if (pfd[0].revents == 0)
			continue;
		len = recv(fd, in, sizeof(in), 0);
		if (len == -1 && errno == EINTR)
			continue;
		if (len <= 0)
			break;		/* the queue manager closed: done */
		if (dlv_job_decode(&j, in, (size_t)len) == -1)
			_exit(3);	/* it reads as "ended without a report" */
		agent_job(&a, &j);
		dlv_job_free(&j);
	}
	kept_drop(&a, 1);
	if (a.ctx)
		SSL_CTX_free(a.ctx);
	if (a.vctx)
		SSL_CTX_free(a.vctx);
}

/*
 * The job datagram: "YDJ2", then in order qid, qpath, sender, helo,
 * resolver (strings: u32 length, the bytes, NUL), size_crlf (i64),
 * body_8bit, smtputf8, timeout, DSN RET and ENVID, the route (kind, host,
 * port, implicit_tls, tls, user, pass, key), nmx and each MX (pref, name),
 * n and each recipient (idx, address, NOTIFY, ORCPT).  Integers in host
 * order: both ends are this program.
 */
static void
enc_u32(struct buf *b, uint32_t v)
{
	buf_append(b, &v, sizeof(v));
}

static void
enc_str(struct buf *b, const char *s)
{
	size_t len = strlen(s);

	enc_u32(b, (uint32_t)len);
	buf_append(b, s, len + 1);
}

int
dlv_job_encode(const struct dlv_job *j, struct buf *out)
{
	int64_t size = j->size_crlf;
	size_t i;

	buf_reset(out);
	buf_append(out, "YDJ2", 4);
	enc_str(out, j->qid);
	enc_str(out, j->qpath);
	enc_str(out, j->sender);
	enc_str(out, j->helo);
	enc_str(out, j->resolver);
	buf_append(out, &size, sizeof(size));
	enc_u32(out, (uint32_t)j->body_8bit);
	enc_u32(out, (uint32_t)j->smtputf8);
	enc_u32(out, (uint32_t)j->timeout);
	enc_u32(out, (uint32_t)j->dsn_ret);
	enc_str(out, j->dsn_envid ? j->dsn_envid : "");
	enc_u32(out, (uint32_t)j->dest.kind);
	enc_str(out, j->dest.host);
	enc_u32(out, (uint32_t)j->dest.port);
	enc_u32(out, (uint32_t)j->dest.implicit_tls);
	enc_u32(out, (uint32_t)j->dest.tls);
	enc_str(out, j->dest.user);
	enc_str(out, j->dest.pass);
	enc_str(out, j->dest.key);
	enc_u32(out, (uint32_t)j->nmx);
	for (i = 0; i < j->nmx; i++) {
		enc_u32(out, (uint32_t)j->mx[i].pref);
		enc_str(out, j->mx[i].name);
	}
	enc_u32(out, (uint32_t)j->n);
	for (i = 0; i < j->n; i++) {
		enc_u32(out, (uint32_t)j->idx[i]);
		enc_str(out, j->rcpts[i]);
		enc_u32(out, j->notify ? (uint32_t)j->notify[i] : 0);
		enc_str(out, j->orcpt && j->orcpt[i] ? j->orcpt[i] : "");
	}
	return out->len > DLV_JOB_MAX ? -1 : 0;
}

struct dec {
	char	*p;
	size_t	 len, off;
	int	 bad;
};

static uint32_t
dec_u32(struct dec *d)
{
	uint32_t v = 0;

	if (d->bad || d->len - d->off < sizeof(v)) {
		d->bad = 1;
		return 0;
	}
	memcpy(&v, d->p + d->off, sizeof(v));
	d->off += sizeof(v);
	return v;
}

static const char *
dec_str(struct dec *d)
{
	uint32_t len = dec_u32(d);
	const char *s;

	if (d->bad || d->len - d->off < (size_t)len + 1 ||
	    d->p[d->off + len] != '\0' || memchr(d->p + d->off, '\0', len)) {
		d->bad = 1;
		return "";
	}
	s = d->p + d->off;
	d->off += (size_t)len + 1;
	return s;
}

/* dec_copy - a string into the fixed field OUT. */
static void
dec_copy(struct dec *d, char *out, size_t size)
{
	if (str_copy(out, size, dec_str(d)) == -1)
		d->bad = 1;
}

int
dlv_job_decode(struct dlv_job *j, char *p, size_t len)
{
	struct dec d = { p, len, 0, 0 };
	int64_t size;
	size_t i;

	memset(j, 0, sizeof(*j));
	if (len < 4 || memcmp(p, "YDJ2", 4) != 0)
		return -1;
	d.off = 4;
	j->qid = dec_str(&d);
	j->qpath = dec_str(&d);
	j->sender = dec_str(&d);
	j->helo = dec_str(&d);
	j->resolver = dec_str(&d);
	if (d.bad || len - d.off < sizeof(size))
		return -1;
	memcpy(&size, p + d.off, sizeof(size));
	d.off += sizeof(size);
	j->size_crlf = size;
	j->body_8bit = (int)dec_u32(&d);
	j->smtputf8 = (int)dec_u32(&d);
	j->timeout = (int)dec_u32(&d);
	j->dsn_ret = (int)dec_u32(&d);
	j->dsn_envid = dec_str(&d);
	j->dest.kind = (int)dec_u32(&d);
	dec_copy(&d, j->dest.host, sizeof(j->dest.host));
	j->dest.port = (int)dec_u32(&d);
	j->dest.implicit_tls = (int)dec_u32(&d);
	j->dest.tls = (int)dec_u32(&d);
	dec_copy(&d, j->dest.user, sizeof(j->dest.user));
	dec_copy(&d, j->dest.pass, sizeof(j->dest.pass));
	dec_copy(&d, j->dest.key, sizeof(j->dest.key));
	j->nmx = dec_u32(&d);
	if (d.bad || j->nmx > DNS_MX_MAX)
		return -1;
	for (i = 0; i < j->nmx; i++) {
		j->mx[i].pref = (int)dec_u32(&d);
		dec_copy(&d, j->mx[i].name, sizeof(j->mx[i].name));
	}
	j->n = dec_u32(&d);
	/* a recipient takes at least 18 bytes: idx, "" address, notify, "" */
	if (d.bad || j->n == 0 || j->n > (len - d.off) / 18)
		return -1;
	j->idx = xcalloc(j->n, sizeof(*j->idx));
	j->rcpts = xcalloc(j->n, sizeof(*j->rcpts));
	j->notify = xcalloc(j->n, sizeof(*j->notify));
	j->orcpt = xcalloc(j->n, sizeof(*j->orcpt));
	for (i = 0; i < j->n; i++) {
		j->idx[i] = dec_u32(&d);
		j->rcpts[i] = (char *)dec_str(&d);
		j->notify[i] = (int)dec_u32(&d);
		j->orcpt[i] = dec_str(&d);
		if (j->notify[i] < 0 || j->notify[i] > DSN_NOTIFY_ALL ||
		    strlen(j->orcpt[i]) >= DSN_ORCPT_SIZE ||
		    !dsn_printable(j->orcpt[i]))
			d.bad = 1;
	}
	if (d.bad || d.off != len || j->dest.port <= 0 || j->dest.port > 65535 ||
	    j->dsn_ret < 0 || j->dsn_ret > DSN_RET_HDRS ||
	    strlen(j->dsn_envid) > DSN_ENVID_MAX || !dsn_printable(j->dsn_envid)) {
		dlv_job_free(j);
		return -1;
	}
	return 0;
}

void
dlv_job_free(struct dlv_job *j)
{
	free(j->idx);
	free(j->rcpts);
	free(j->notify);
	free(j->orcpt);
	j->idx = NULL;
	j->rcpts = NULL;
	j->notify = NULL;
	j->orcpt = NULL;
	explicit_bzero(&j->dest.pass, sizeof(j->dest.pass));
}
