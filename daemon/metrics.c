/*
 * metrics.c - the metrics process; see metrics.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "board.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "store.h"
#include "util.h"

#define METRICS_BODY_MAX	(1024 * 1024)	/* the exposition's ceiling */
#define METRICS_TICK_MS		1000		/* the master is looked for */

static const char ctype[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

enum mc_stage {
	MC_READ,		/* the request line and header */
	MC_WRITE,		/* the answer */
	MC_DRAIN,		/* input after the answer, dropped */
};

struct mconn {
	int		 fd;		/* -1: free */
	enum mc_stage	 stage;
	long long	 deadline_ms;
	char		 req[METRICS_REQ_MAX];
	size_t		 len;
	struct buf	 out;
	size_t		 off;
	size_t		 drained;
};

/* ---- the exposition ------------------------------------------------------ */

/* ctr - counter C of board B, read once */
static unsigned long long
ctr(const struct board_head *b, enum board_ctr c)
{
	return (unsigned long long)__atomic_load_n(&b->ctr[c], __ATOMIC_RELAXED);
}

/* family - the TYPE and HELP lines of metric family NAME */
static void
family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

void
metrics_render(const struct board_head *b, struct store *store,
    struct buf *out)
{
	const struct board_slot *slots = board_slots(b);
	size_t nq = 0;
	long long oldest = 0, now = time_now();
	int c, p, i, busy, idle;

	family(out, "yubin_messages_received", "counter",
	    "Messages accepted by SMTP and queued.");
	buf_printf(out, "yubin_messages_received_total %llu\n",
	    ctr(b, BC_RECEIVED));
	family(out, "yubin_recipients_delivered", "counter",
	    "Recipients delivered: stored locally or taken by a remote server.");
	buf_printf(out, "yubin_recipients_delivered_total{via=\"local\"} %llu\n",
	    ctr(b, BC_DELIVERED));
	buf_printf(out, "yubin_recipients_delivered_total{via=\"remote\"} %llu\n",
	    ctr(b, BC_SENT));
	family(out, "yubin_recipients_bounced", "counter",
	    "Recipients whose delivery failed for good.");
	buf_printf(out, "yubin_recipients_bounced_total %llu\n",
	    ctr(b, BC_BOUNCED));
	family(out, "yubin_deliveries_deferred", "counter",
	    "Delivery attempts that failed for now and will be tried again.");
	buf_printf(out, "yubin_deliveries_deferred_total %llu\n",
	    ctr(b, BC_DEFERRED));
	family(out, "yubin_smtp_rejected", "counter",
	    "SMTP commands refused, by the subject of the enhanced status code.");
	for (c = BC_REJ_OTHER; c <= BC_REJ_POLICY; c++)
		buf_printf(out, "yubin_smtp_rejected_total{reason=\"%s\"} %llu\n",
		    board_reject_name((enum board_ctr)c),
		    ctr(b, (enum board_ctr)c));
	family(out, "yubin_sessions", "counter",
	    "Sessions accepted, by listener.");
	for (c = BC_CONN_SMTP; c <= BC_CONN_LOCAL; c++)
		buf_printf(out, "yubin_sessions_total{listener=\"%s\"} %llu\n",
		    board_conn_name((enum board_ctr)c), ctr(b, (enum board_ctr)c));
	family(out, "yubin_connections_refused", "counter",
	    "Connections refused at once: pool full, or too many from one client.");
	buf_printf(out, "yubin_connections_refused_total{reason=\"pool_full\"} "
	    "%llu\n", ctr(b, BC_REFUSED_FULL));
	buf_printf(out, "yubin_connections_refused_total{reason=\"per_ip\"} "
	    "%llu\n", ctr(b, BC_REFUSED_PER_IP));
	if (store != NULL && queue_stats(store, &nq, &oldest) == 0) {
		family(out, "yubin_queue_messages", "gauge",
		    "Messages in the queue.");
		buf_printf(out, "yubin_queue_messages %zu\n", nq);
		family(out, "yubin_queue_oldest_age_seconds", "gauge",
		    "Age of the oldest message in the queue (0: empty).");
		buf_printf(out, "yubin_queue_oldest_age_seconds %lld\n",
		    nq > 0 && now > oldest ? now - oldest : 0);
	}
	family(out, "yubin_delivery_agents_busy", "gauge",
	    "Delivery agents working on a job.");
	buf_printf(out, "yubin_delivery_agents_busy %lld\n",
	    (long long)__atomic_load_n(&b->gauge[BG_DELIVERING],
	    __ATOMIC_RELAXED));
	family(out, "yubin_workers", "gauge", "Worker processes, by pool and state.");
	for (p = 0; p < BOARD_POOLS; p++) {
		const struct board_pool_info *pi = &b->pools[p];
		char name[sizeof(pi->name) + 1];

		busy = idle = 0;
		for (i = pi->first; i < pi->first + pi->nslots; i++) {
			if (__atomic_load_n(&slots[i].pid, __ATOMIC_RELAXED) == 0)
				continue;
			if (__atomic_load_n(&slots[i].state, __ATOMIC_RELAXED) ==
			    BOARD_BUSY)
				busy++;
			else
				idle++;
		}
		board_text(pi->name, sizeof(pi->name), name, sizeof(name));
		buf_printf(out, "yubin_workers{pool=\"%s\",state=\"busy\"} %d\n",
		    name, busy);
		buf_printf(out, "yubin_workers{pool=\"%s\",state=\"idle\"} %d\n",
		    name, idle);
	}
	family(out, "yubin_workers_max", "gauge", "Worker processes allowed, by pool.");
	for (p = 0; p < BOARD_POOLS; p++) {
		char name[sizeof(b->pools[p].name) + 1];

		buf_printf(out, "yubin_workers_max{pool=\"%s\"} %d\n",
		    board_text(b->pools[p].name, sizeof(b->pools[p].name), name,
		    sizeof(name)), (int)__atomic_load_n(&b->pools[p].max,
		    __ATOMIC_RELAXED));
	}
	family(out, "yubin_start_time_seconds", "gauge",
	    "When the master started (Unix time).");
	buf_printf(out, "yubin_start_time_seconds %lld\n", (long long)b->started);
	buf_puts(out, "# EOF\n");
}

/* ---- HTTP ---------------------------------------------------------------- */

/* mc_close - end the connection MC; its slot is free again */
static void
mc_close(struct mconn *mc)
{
	close(mc->fd);
	mc->fd = -1;
	buf_free(&mc->out);
}

/* mc_answer - queue the answer STATUS (body BODY, LEN bytes, of type TYPE)
 * and go on to writing it. */
static void
mc_answer(struct mconn *mc, int status, const char *type, const char *body,
    size_t len)
{
	const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" :
	    status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed" :
	    status == 431 ? "Request Header Fields Too Large" : "Error";

	buf_reset(&mc->out);
	buf_printf(&mc->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", status, reason,
	    type, len, status == 405 ? "Allow: GET\r\n" : "");
	buf_append(&mc->out, body, len);
	mc->off = 0;
	mc->stage = MC_WRITE;
	mc->deadline_ms = now_ms() + METRICS_TIMEOUT_MS;
}

/* mc_error - answer STATUS with a one-line text body */
static void
mc_error(struct mconn *mc, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d\n", status);

	mc_answer(mc, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/*
 * mc_line - the request line LINE (LEN bytes, no line end): "GET /metrics
 * HTTP/1.x" is 200, another method 405, another path 404, anything not of
 * the form METHOD SP TARGET SP HTTP/1.x is 400.
 */
static int
mc_line(const char *line, size_t len)
{
	const char *sp1, *sp2, *end = line + len, *p;
	size_t mlen, plen;

	sp1 = memchr(line, ' ', len);
	if (sp1 == NULL || sp1 == line)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return 400;
	if ((size_t)(end - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return 400;
	mlen = (size_t)(sp1 - line);
	for (p = line; p < sp1; p++)		/* RFC 9110 token */
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p))
			return 400;
	for (p = sp1 + 1; p < sp2; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 400;
	if (mlen != 3 || memcmp(line, "GET", 3) != 0)
		return 405;
	plen = (size_t)(sp2 - sp1 - 1);
	p = memchr(sp1 + 1, '?', plen);
	if (p != NULL)
		plen = (size_t)(p - sp1 - 1);
	if (plen != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0)
		return 404;
	return 200;
}

/* mc_header_end - where the header ends (after its empty line), or 0 */
static size_t
mc_header_end(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int
metrics_request(const char *req, size_t len, size_t max)
{
	const char *nl = memchr(req, '\n', len);
	size_t ll;
	int status;

	if (nl == NULL)
		return len >= max ? 400 : 0;	/* request line too long */
	ll = (size_t)(nl - req);
	if (ll > 0 && req[ll - 1] == '\r')
		ll--;
	if ((status = mc_line(req, ll)) == 400)
		return 400;
	if (mc_header_end(req, len) == 0)
		return len >= max ? 431 : 0;
	return status;
}

/* mc_read - MC is readable: more of the request (answered once
 * metrics_request decides), or input after the answer, dropped */
static void
mc_read(struct mconn *mc, const struct board_head *b, struct store *store)
{
	struct buf body;
	ssize_t n;
	int status;

	if (mc->stage == MC_DRAIN) {
		char junk[4096];

		n = read(mc->fd, junk, sizeof(junk));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		mc->drained += n > 0 ? (size_t)n : 0;
		if (n <= 0 || mc->drained > METRICS_DRAIN_MAX)
			mc_close(mc);
		return;
	}
	n = read(mc->fd, mc->req + mc->len, sizeof(mc->req) - mc->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mc_close(mc);
		return;
	}
	mc->len += (size_t)n;
	if ((status = metrics_request(mc->req, mc->len, sizeof(mc->req))) == 0)
		return;
	if (status != 200) {
		mc_error(mc, status);
		return;
	}
	buf_init(&body, METRICS_BODY_MAX);
	metrics_render(b, store, &body);
	mc_answer(mc, 200, ctype, body.data ? body.data : "", body.len);
	buf_free(&body);
}

/* mc_write - MC is writable: more of the answer; once it is all out, the
 * write side is shut and the rest of the input drained */
static void
mc_write(struct mconn *mc)
{
	ssize_t n;

	n = send(mc->fd, mc->out.data + mc->off, mc->out.len - mc->off,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mc_close(mc);
		return;
	}
	mc->off += (size_t)n;
	if (mc->off < mc->out.len)
		return;
	/* answered: no more output; what the client still sends is read
	 * and dropped until it closes, so the answer is not lost to a reset */
	(void)shutdown(mc->fd, SHUT_WR);
	buf_free(&mc->out);
	mc->stage = MC_DRAIN;
	mc->deadline_ms = now_ms() + METRICS_TIMEOUT_MS;
}

void
metrics_main(const struct config *cfg, const int *fds, int n,
    struct board_head *b, size_t size, volatile sig_atomic_t *stop)
{
	static struct mconn mcs[METRICS_CONN_MAX];
	struct pollfd pfd[METRICS_LISTEN_FDS + METRICS_CONN_MAX];
	struct mconn *pm[METRICS_LISTEN_FDS + METRICS_CONN_MAX];
	struct store *store = NULL;
	pid_t master = getppid();
	const char *why;
	char *sdir;
	long long now, wait_ms;
	int i, k, np, nconn, fd, r;

	if (n > METRICS_LISTEN_FDS)
		n = METRICS_LISTEN_FDS;
	/* read-only from here: this process answers the network */
	if (mprotect(b, size, PROT_READ) == -1)
		log_fatal("metrics: scoreboard: %s", strerror(errno));
	sdir = xasprintf("%s/state", config_home(cfg));
	if (store_open(&store, sdir, &why) == -1) {
		log_warn("metrics: %s: %s; no queue figures", sdir, why);
		store = NULL;
	}
	free(sdir);
	for (i = 0; i < METRICS_CONN_MAX; i++)
		mcs[i].fd = -1;
	while (!*stop && getppid() == master) {
		now = now_ms();
		wait_ms = METRICS_TICK_MS;
		np = nconn = 0;
		for (i = 0; i < METRICS_CONN_MAX; i++) {
			struct mconn *mc = &mcs[i];

			if (mc->fd == -1)
				continue;
			if (now >= mc->deadline_ms) {
				mc_close(mc);	/* too slow: no answer */
				continue;
			}
			if (mc->deadline_ms - now < wait_ms)
				wait_ms = mc->deadline_ms - now;
			pfd[np].fd = mc->fd;
			pfd[np].events = mc->stage == MC_WRITE ? POLLOUT : POLLIN;
			pm[np++] = mc;
			nconn++;
		}
		/* all slots taken: new clients wait in the backlog */
		for (i = 0; i < n && nconn < METRICS_CONN_MAX; i++) {
			pfd[np].fd = fds[i];
			pfd[np].events = POLLIN;
			pm[np++] = NULL;
		}
		r = poll(pfd, (nfds_t)np, (int)wait_ms);
		if (r < 0 && errno != EINTR)
			log_fatal("metrics: poll: %s", strerror(errno));
		for (k = 0; k < np && r > 0; k++) {
			if (pfd[k].revents == 0)
				continue;
			if (pm[k] == NULL) {
				fd = accept4(pfd[k].fd, NULL, NULL, SOCK_CLOEXEC |
				    SOCK_NONBLOCK);
				if (fd == -1)
					continue;
				for (i = 0; i < METRICS_CONN_MAX && mcs[i].fd != -1; i++)
					;
				if (i == METRICS_CONN_MAX) {
					close(fd);
					continue;
				}
				memset(&mcs[i], 0, sizeof(mcs[i]));
				mcs[i].fd = fd;
				mcs[i].stage = MC_READ;
				mcs[i].deadline_ms = now_ms() + METRICS_TIMEOUT_MS;
				buf_init(&mcs[i].out, 0);
				continue;
			}
			if (pm[k]->fd == -1)
				continue;
			if (pm[k]->stage == MC_WRITE)
				mc_write(pm[k]);
			else
				mc_read(pm[k], b, store);
		}
	}
	for (i = 0; i < METRICS_CONN_MAX; i++)
		if (mcs[i].fd != -1)
			mc_close(&mcs[i]);
	store_close(&store);
	_exit(0);
}
