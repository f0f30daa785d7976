/*
 * committer.c - the group-commit process (lib/qcommit.h says why and how).
 *
 * One process, forked by the master, running as the server user.  It
 * takes private channels from the workers over the shared channel CHAN
 * and, in a loop: waits until some request is there, reads one request
 * from every channel that has one, commits them all in one batch
 * (qc_commit_batch), and answers each.  Nothing waits for a timer: the
 * requests that arrive while a batch is being synced form the next one.
 *
 * A request that does not decode is answered QC_ANS_FAIL and logged;
 * a channel that sends a packet larger than QC_MSG_MAX is closed (its
 * worker then commits alone).  The master stops it (SIGTERM) only after
 * every worker is gone, so that no worker loses its committer half-way
 * through a graceful stop; if it dies anyway, the workers fall back.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "committer.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "qcommit.h"
#include "store.h"
#include "util.h"

#define CONN_MAX	1024	/* private channels: one per worker at most */
#define BATCH_MAX	256	/* requests in one transaction */

static volatile sig_atomic_t committer_stop;

static void
committer_on_term(int sig)
{
	(void)sig;
	committer_stop = 1;
}

struct conn {
	int		 fd;
	unsigned char	*pkt;		/* QC_MSG_MAX + 1 bytes while in a batch */
	size_t		 len;
};

/* take_channels - every private channel waiting on CHAN into CONNS. */
static void
take_channels(int chan, struct conn *conns, size_t *nconns)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	char hello[8];
	int fds[4];
	size_t i, nfd;
	ssize_t r;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = hello;
		iov.iov_len = sizeof(hello);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		r = recvmsg(chan, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r <= 0)
			return;
		for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (nfd > 4)
				nfd = 4;
			memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
			for (i = 0; i < nfd; i++) {
				/* one fd per hello; anything else is closed */
				if (r != 1 || hello[0] != 'H' || i > 0 ||
				    *nconns == CONN_MAX) {
					if (*nconns == CONN_MAX)
						log_warn("committer: more than %d "
						    "channels", CONN_MAX);
					close(fds[i]);
					continue;
				}
				conns[*nconns].fd = fds[i];
				conns[*nconns].len = 0;
				(*nconns)++;
			}
		}
	}
}

static void
conn_close(struct conn *conns, size_t *nconns, size_t i)
{
	close(conns[i].fd);
	conns[i] = conns[--(*nconns)];
}

void
committer_main(const struct config *cfg, int chan)
{
	struct conn *conns = xcalloc(CONN_MAX, sizeof(*conns));
	struct pollfd *pfd = xcalloc(CONN_MAX + 1, sizeof(*pfd));
	struct qc_req *reqs = xcalloc(BATCH_MAX, sizeof(*reqs));
	unsigned char **pkts = xcalloc(BATCH_MAX, sizeof(*pkts));
	int *who = xcalloc(BATCH_MAX, sizeof(*who));
	char ans[BATCH_MAX], *sdir;
	const char *why, *home = config_home(cfg);
	struct sigaction sa;
	struct store *store;
	size_t nconns = 0, i, n, nb;
	pid_t master = getppid();
	ssize_t r;
	long long batches = 0, requests = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = committer_on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* the master forks us with its signals blocked: a stop that came
	 * meanwhile reaches the handler above now */
	child_unblock();
	sdir = xasprintf("%s/state", home);
	if (store_open(&store, sdir, &why) == -1)
		log_fatal("committer: %s: %s", sdir, why);
	free(sdir);
	for (i = 0; i < BATCH_MAX; i++)
		pkts[i] = xmalloc(QC_MSG_MAX + 1);
	log_info("committer started");
	while (!committer_stop) {
		pfd[0].fd = chan;
		pfd[0].events = POLLIN;
		for (i = 0; i < nconns; i++) {
			pfd[i + 1].fd = conns[i].fd;
			pfd[i + 1].events = POLLIN;
			pfd[i + 1].revents = 0;
		}
		if (poll(pfd, (nfds_t)nconns + 1, 1000) == -1 && errno != EINTR)
			log_fatal("committer: poll: %s", strerror(errno));
		if (getppid() != master)
			break;
		if (pfd[0].revents & POLLIN)
			take_channels(chan, conns, &nconns);
		/* one request from every channel that has one */
		nb = 0;
		n = nconns;
		for (i = n; i-- > 0;) {
			if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (nb == BATCH_MAX)
				break;	/* the next pass takes it */
			r = recv(conns[i].fd, pkts[nb], QC_MSG_MAX + 1,
			    MSG_DONTWAIT | MSG_TRUNC);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0 || (size_t)r > QC_MSG_MAX) {
				if (r > 0)
					log_warn("committer: a request over %d "
					    "bytes: channel closed", QC_MSG_MAX);
				/* the last slot moves here: it was already
				 * looked at (the loop runs downwards) */
				conn_close(conns, &nconns, i);
				continue;
			}
			if (qc_decode(pkts[nb], (size_t)r, &reqs[nb], &why) == -1) {
				log_warn("committer: bad request: %s", why);
				(void)send(conns[i].fd, &(char){ QC_ANS_FAIL }, 1,
				    MSG_DONTWAIT | MSG_NOSIGNAL);
				continue;
			}
			who[nb++] = conns[i].fd;
		}
		if (nb == 0)
			continue;
		(void)qc_commit_batch(store, home, reqs, nb, ans);
		for (i = 0; i < nb; i++)
			(void)send(who[i], &ans[i], 1,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		batches++;
		requests += (long long)nb;
	}
	log_info("committer stopped: %lld requests in %lld batches", requests,
	    batches);
	store_close(&store);
	_exit(0);
}
