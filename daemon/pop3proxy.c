/*
 * pop3proxy.c - a POP3 session carried on to the mailbox's home node; see
 * pop3proxy.h.  Runs in a POP3 worker, as the server user.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "node.h"
#include "pop3proxy.h"
#include "tls.h"
#include "util.h"

#define PROXY_CHUNK	65536

/* proxy_reply - the home's one-line reply into OUT (SIZE bytes), without
 * its line end.  1 "+OK", 0 anything else, -1 gone. */
static int
proxy_reply(struct conn *h, char *out, size_t size)
{
	char *line;
	size_t len;
	int term;

	if (conn_flush(h) == -1 ||
	    conn_getline(h, POP3PROXY_LINE_MAX, &line, &len, &term) != CONN_LINE)
		return -1;
	if (len >= size)
		len = size - 1;
	memcpy(out, line, len);
	out[len] = '\0';
	return strncmp(out, "+OK", 3) == 0;
}

/* proxy_copy - what FROM has now, written to TO.  1 copied, 0 FROM
 * closed, -1 error. */
static int
proxy_copy(struct conn *from, struct conn *to)
{
	char *p;
	size_t len;
	int r;

	r = conn_read(from, PROXY_CHUNK, &p, &len);
	if (r == CONN_EOF)
		return 0;
	if (r != CONN_LINE)
		return -1;
	if (conn_write(to, p, len) == -1 || conn_flush(to) == -1)
		return -1;
	return 1;
}

/* proxy_splice - bytes both ways until a side closes or both are silent
 * for IDLE_MS.  Returns why it ended. */
static const char *
proxy_splice(struct conn *c, struct conn *h, int idle_ms)
{
	struct pollfd pfd[2];
	int r, n;

	for (;;) {
		if (!conn_pending(c) && !conn_pending(h)) {
			pfd[0].fd = c->fd;
			pfd[0].events = POLLIN;
			pfd[1].fd = h->fd;
			pfd[1].events = POLLIN;
			do
				n = poll(pfd, 2, idle_ms > 0 ? idle_ms : -1);
			while (n == -1 && errno == EINTR);
			if (n == 0)
				return "timeout";
			if (n == -1)
				return "poll error";
		}
		if (conn_pending(c)) {
			if ((r = proxy_copy(c, h)) <= 0)
				return r == 0 ? "client closed" : "client error";
		}
		if (conn_pending(h)) {
			if ((r = proxy_copy(h, c)) <= 0)
				return r == 0 ? "home closed" : "home error";
		}
	}
}

int
pop3proxy_run(struct conn *client, const struct config *cfg,
    struct store *store, const char *account, const struct node_rec *home,
    unsigned long sid)
{
	static SSL_CTX *ctx;		/* unverified, or the site CA's */
	static int verify = -1;		/* server.node_tls_ca set */
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct conn h;
	char key[NODE_KEY_HEX + 1], reply[POP3PROXY_LINE_MAX + 1];
	const char *why = NULL, *end;
	int fd, r;

	if (node_sockaddr(home->pop3_host, home->pop3_port, &ss, &sslen) == -1 ||
	    (fd = conn_connect(&ss, POP3PROXY_CONNECT_MS)) == -1) {
		log_err("pop3 proxy user=%s node=%s: cannot connect to %s:%d: %s "
		    "sid=%06lx", account, home->name, home->pop3_host,
		    home->pop3_port, strerror(errno), sid);
		goto temp;
	}
	conn_init(&h, fd);
	h.timeout_ms = (int)(config_int(cfg, "pop3.timeout") * 1000);
	if (proxy_reply(&h, reply, sizeof(reply)) != 1) {
		why = "no greeting";
		goto fail;
	}
	/* the node key crosses a network only under TLS */
	(void)conn_printf(&h, "STLS\r\n");
	r = proxy_reply(&h, reply, sizeof(reply));
	if (r == -1) {
		why = "lost after STLS";
		goto fail;
	}
	if (verify == -1) {
		char *e = NULL;

		verify = *config_str(cfg, "server.node_tls_ca") != '\0';
		if (verify && tls_node_ctx(cfg, &ctx, &e) == -1) {
			log_err("pop3 proxy: %s", e);
			free(e);
		} else if (!verify)
			ctx = tls_client_ctx(0);
	}
	if (r == 1) {
		conn_discard_input(&h);
		/* with a site CA, the certificate must name the home node */
		if (ctx == NULL || conn_tls_connect(&h, ctx, verify ? home->name :
		    NULL, &why) == -1) {
			if (why == NULL)
				why = "no TLS context";
			goto fail;
		}
	} else if (verify || !h.peer_loopback) {
		why = "no STLS: the node key is not sent in clear";
		goto fail;
	}
	if (node_key(store, key, 0) != 1) {
		why = "no node key";
		goto fail;
	}
	(void)conn_printf(&h, "XNODE %s %s %s\r\n", node_self(cfg), key,
	    account);
	OPENSSL_cleanse(key, sizeof(key));
	r = proxy_reply(&h, reply, sizeof(reply));
	if (r != 1) {
		why = r == -1 ? "lost after XNODE" : "XNODE refused";
		if (r == 0)
			log_err("pop3 proxy user=%s node=%s: \"%s\" sid=%06lx",
			    account, home->name, reply, sid);
		goto fail;
	}
	log_info("pop3 proxy user=%s node=%s client=%s sid=%06lx", account,
	    home->name, client->peer_ip, sid);
	/* the client's login answered with the home's maildrop line */
	if (conn_printf(client, "%s\r\n", reply) == -1 ||
	    conn_flush(client) == -1) {
		conn_close(&h);
		return -1;
	}
	end = proxy_splice(client, &h, h.timeout_ms);
	log_info("pop3 proxy end user=%s node=%s reason=\"%s\" in=%lld out=%lld "
	    "sid=%06lx", account, home->name, end, client->bytes_in,
	    client->bytes_out, sid);
	conn_close(&h);
	return 1;
fail:
	log_err("pop3 proxy user=%s node=%s %s:%d: %s sid=%06lx", account,
	    home->name, home->pop3_host, home->pop3_port, why, sid);
	conn_close(&h);
temp:
	if (conn_printf(client, "-ERR [SYS/TEMP] mailbox not reachable now\r\n")
	    == -1)
		return -1;
	return 0;
}
