/*
 * qcommit.c - group commit of incoming queue envelopes; see qcommit.h.
 *
 * The request packet (all integers little-endian):
 *
 *	"YQC1"	magic
 *	u32	n		messages, 1..QC_SET_MAX
 *	u32	oncelen		0 = no once marker
 *	i64	expires		of the marker
 *	oncelen bytes
 *	n times: u32 reclen, QUEUE_ID_LEN bytes of id, reclen bytes of envelope
 *
 * The answer is one byte, QC_ANS_*.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "qcommit.h"
#include "queue.h"
#include "store.h"
#include "util.h"

#define QC_MAGIC	"YQC1"
#define QC_HDR		20	/* magic, n, oncelen, expires */

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
	    (v >> 24) & 0xff };

	buf_append(b, p, sizeof(p));
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
qc_encode(struct buf *out, const char **ids, const struct buf *recs,
    size_t n, const void *once, size_t oncelen, long long expires)
{
	unsigned long long e = (unsigned long long)expires;
	unsigned char p[8];
	size_t i, total = QC_HDR + (once ? oncelen : 0);

	if (n == 0 || n > QC_SET_MAX || (once != NULL && (oncelen == 0 ||
	    oncelen > QC_ONCE_MAX)))
		return -1;
	for (i = 0; i < n; i++) {
		if (strlen(ids[i]) != QUEUE_ID_LEN || recs[i].len > QC_MSG_MAX)
			return -1;
		total += 4 + QUEUE_ID_LEN + recs[i].len;
		if (total > QC_MSG_MAX)
			return -1;
	}
	buf_reset(out);
	buf_append(out, QC_MAGIC, 4);
	put_u32(out, (uint32_t)n);
	put_u32(out, once ? (uint32_t)oncelen : 0);
	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(e >> (8 * i));
	buf_append(out, p, sizeof(p));
	if (once != NULL)
		buf_append(out, once, oncelen);
	for (i = 0; i < n; i++) {
		put_u32(out, (uint32_t)recs[i].len);
		buf_append(out, ids[i], QUEUE_ID_LEN);
		buf_append(out, recs[i].data, recs[i].len);
	}
	return 0;
}

/* id_ok - QUEUE_ID_LEN upper-case hex digits at P. */
static int
id_ok(const unsigned char *p)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'F')))
			return 0;
	return 1;
}

int
qc_decode(const void *msg, size_t len, struct qc_req *r, const char **why_r)
{
	const unsigned char *p = msg, *end = p + len;
	unsigned long long e = 0;
	struct envelope env;
	size_t i, reclen;
	int bad;

	memset(r, 0, sizeof(*r));
	if (len < QC_HDR || memcmp(p, QC_MAGIC, 4) != 0) {
		*why_r = "not a commit request";
		return -1;
	}
	r->n = get_u32(p + 4);
	r->oncelen = get_u32(p + 8);
	for (i = 0; i < 8; i++)
		e |= (unsigned long long)p[12 + i] << (8 * i);
	r->expires = (long long)e;
	p += QC_HDR;
	if (r->n == 0 || r->n > QC_SET_MAX) {
		*why_r = "bad message count";
		return -1;
	}
	if (r->oncelen > QC_ONCE_MAX || r->oncelen > (size_t)(end - p)) {
		*why_r = "bad once marker";
		return -1;
	}
	if (r->oncelen > 0) {
		r->once = p;
		p += r->oncelen;
	}
	for (i = 0; i < r->n; i++) {
		if ((size_t)(end - p) < 4 + QUEUE_ID_LEN) {
			*why_r = "cut short";
			return -1;
		}
		reclen = get_u32(p);
		p += 4;
		if (!id_ok(p)) {
			*why_r = "bad queue id";
			return -1;
		}
		r->id[i] = (const char *)p;
		p += QUEUE_ID_LEN;
		if (reclen > (size_t)(end - p)) {
			*why_r = "cut short";
			return -1;
		}
		memset(&env, 0, sizeof(env));
		bad = envelope_decode(&env, p, reclen) == -1;
		envelope_clear(&env);
		if (bad) {
			*why_r = "bad envelope";
			return -1;
		}
		r->rec[i] = p;
		r->reclen[i] = reclen;
		p += reclen;
	}
	if (p != end) {
		*why_r = "trailing bytes";
		return -1;
	}
	return 0;
}

struct batch_ctx {
	const struct qc_req *reqs;
	size_t		 n;
	char		*ans;
};

/* batch_fn - every request's envelopes, unless its marker is there; runs
 * again from the start when store_write grows the map. */
static int
batch_fn(struct store_txn *txn, void *ctx)
{
	struct batch_ctx *b = ctx;
	struct buf old;
	size_t i, j;
	int r;

	buf_init(&old, 16);
	for (i = 0; i < b->n; i++) {
		const struct qc_req *q = &b->reqs[i];

		b->ans[i] = QC_ANS_OK;
		if (q->once != NULL) {
			r = store_tget(txn, STORE_META, q->once, q->oncelen, &old,
			    NULL);
			if (r == -1)
				goto fail;
			if (r == 1) {
				b->ans[i] = QC_ANS_ONCE;
				continue;
			}
			if (store_tput(txn, STORE_META, q->once, q->oncelen, "1",
			    1, q->expires) == -1)
				goto fail;
		}
		for (j = 0; j < q->n; j++)
			if (store_tput(txn, STORE_QUEUE, q->id[j], QUEUE_ID_LEN,
			    q->rec[j], q->reclen[j], 0) == -1)
				goto fail;
	}
	buf_free(&old);
	return 0;
fail:
	buf_free(&old);
	return -1;
}

int
qc_commit_batch(struct store *s, const char *home, const struct qc_req *reqs,
    size_t n, char *ans)
{
	struct batch_ctx b = { reqs, n, ans };
	char *dir;
	size_t i;
	int r;

	if (n == 0)
		return 0;
	/* the workers synced their files; one sync makes every name durable */
	dir = xasprintf("%s/queue", home);
	r = fsync_dir(dir);
	if (r == -1)
		log_err("committer: cannot sync %s: %s", dir, strerror(errno));
	free(dir);
	if (r == 0 && store_write(s, batch_fn, &b) != 0) {
		log_err("committer: cannot record %zu request(s)", n);
		r = -1;
	}
	if (r == -1)
		for (i = 0; i < n; i++)
			ans[i] = QC_ANS_FAIL;
	return r;
}

/* ---- the worker's side ---------------------------------------------------- */

static int qc_shared = -1;	/* to the committer, inherited */
static int qc_own = -1;		/* this process's private channel */

void
qc_client_init(int fd)
{
	qc_shared = fd;
	if (qc_own != -1) {
		close(qc_own);
		qc_own = -1;
	}
}

int
qc_client_active(void)
{
	return qc_shared != -1;
}

/* client_connect - a private channel, its other end passed to the
 * committer.  0 or -1. */
static int
client_connect(void)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	char hello = 'H';
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = &hello;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	/* never wait here: a committer that is not reading is not there */
	if (sendmsg(qc_shared, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	qc_own = sv[0];
	return 0;
}

static void
client_drop(void)
{
	if (qc_own != -1)
		close(qc_own);
	qc_own = -1;
}

int
qc_client_commit(const char **ids, const struct buf *recs, size_t n,
    const void *once, size_t oncelen, long long expires)
{
	struct pollfd pfd;
	struct buf pkt;
	long long deadline;
	ssize_t r;
	char ans;
	int left, sent;

	if (qc_shared == -1)
		return QC_UNSENT;
	buf_init(&pkt, 4096);
	if (qc_encode(&pkt, ids, recs, n, once, oncelen, expires) == -1) {
		buf_free(&pkt);
		return QC_UNSENT;
	}
	if (qc_own == -1 && client_connect() == -1) {
		buf_free(&pkt);
		return QC_UNSENT;
	}
	r = send(qc_own, pkt.data, pkt.len, MSG_NOSIGNAL);
	sent = r == (ssize_t)pkt.len;
	buf_free(&pkt);
	if (!sent) {
		/* a packet is sent whole or not at all */
		client_drop();
		return QC_UNSENT;
	}
	deadline = now_ms() + QC_WAIT_MS;
	for (;;) {
		left = (int)(deadline - now_ms());
		if (left <= 0) {
			log_err("committer: no answer in %d s", QC_WAIT_MS / 1000);
			client_drop();
			return QC_UNKNOWN;
		}
		pfd.fd = qc_own;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) == -1) {
			if (errno == EINTR)
				continue;
			client_drop();
			return QC_UNKNOWN;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = recv(qc_own, &ans, 1, 0);
		if (r == -1 && errno == EINTR)
			continue;
		break;
	}
	if (r != 1) {
		client_drop();
		return QC_LOST;		/* the committer is gone */
	}
	switch (ans) {
	case QC_ANS_OK:
		return QC_OK;
	case QC_ANS_ONCE:
		return QC_DONE_BEFORE;
	case QC_ANS_FAIL:
		return QC_FAILED;
	}
	client_drop();
	return QC_UNKNOWN;
}
