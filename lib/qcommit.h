/*
 * qcommit - group commit of incoming queue envelopes (DESIGN.md §4).
 *
 * A message is queued when its file, the queue folder and its envelope
 * are on stable storage.  Done alone, that is four syncs per message
 * (file, folder, and LMDB's two: data pages, then the meta page), and
 * LMDB holds its one write lock through both of its syncs, so twenty
 * SMTP sessions queue one message after another at the disk's pace.
 *
 * With group commit each SMTP worker still writes and syncs its own file
 * (those syncs run side by side), then hands the envelopes to one
 * committer process and waits.  The committer takes every request that is
 * waiting, syncs the queue folder once, writes all their envelopes in one
 * LMDB transaction, and only then answers each worker, which only then
 * answers 250.  While it syncs, the next requests gather; a batch of K
 * messages costs K + 3 syncs instead of 4K, and no request ever waits for
 * a timer (PostgreSQL's and InnoDB's group commit work the same way).
 *
 * Channels.  The master makes one SOCK_SEQPACKET pair before it forks:
 * workers inherit one end, the committer the other.  A worker's first
 * commit makes a private SEQPACKET pair and passes one end to the
 * committer over the shared channel (SCM_RIGHTS); requests and answers
 * then go over the private pair, one request at a time, each request one
 * packet.  No path in the file system is involved.
 *
 * Failure.  A worker that cannot reach the committer (none running, the
 * shared channel full, a request over QC_MSG_MAX) commits by itself, as
 * before.  A committer that dies after a request was sent closes the
 * private channel: the worker then looks its first id up in the store.
 * Present means the transaction committed (it is atomic); the worker
 * syncs the store itself before it answers 250.  Absent means it never
 * will be, and the worker commits by itself.  A committer that is alive
 * but does not answer within QC_WAIT_MS leaves the outcome unknown: the
 * worker answers 451 and leaves its files (committed later, the message is
 * delivered once: the client's retry may be a second copy, as when a 250
 * is lost in the network; never committed, the queue manager removes them
 * as orphans).
 */
#ifndef YUBIN_QCOMMIT_H
#define YUBIN_QCOMMIT_H

#include <stddef.h>

#include "buf.h"

struct store;

#define QC_MSG_MAX	(128 * 1024)	/* one request packet; larger: commit alone */
#define QC_SET_MAX	64		/* messages in one request */
#define QC_ONCE_MAX	512		/* a once-marker key */
#define QC_WAIT_MS	(120 * 1000)	/* the longest a worker waits for its answer */

/* answers, one byte */
#define QC_ANS_OK	'K'		/* queued and on stable storage */
#define QC_ANS_ONCE	'D'		/* the once marker was there: nothing queued */
#define QC_ANS_FAIL	'F'		/* nothing queued */

enum qc_result {
	QC_OK = 0,		/* queued */
	QC_DONE_BEFORE = 1,	/* once marker found: nothing queued */
	QC_FAILED = -1,		/* the committer could not: nothing queued */
	QC_UNSENT = -2,		/* nothing sent: commit alone */
	QC_LOST = -3,		/* sent, the committer died: look in the store */
	QC_UNKNOWN = -4,	/* sent, no answer in time: outcome unknown */
};

/* A decoded request; the pointers point into the packet. */
struct qc_req {
	size_t		 n;
	const char	*id[QC_SET_MAX];	/* QUEUE_ID_LEN bytes each, not terminated */
	const unsigned char *rec[QC_SET_MAX];
	size_t		 reclen[QC_SET_MAX];
	const unsigned char *once;		/* NULL: none */
	size_t		 oncelen;
	long long	 expires;
};

/*
 * qc_encode - request packet for the N envelopes RECS of queue ids IDS,
 * with the once marker ONCE (ONCELEN bytes, NULL for none) kept until
 * EXPIRES, into OUT (reset first).  0, or -1 when it would exceed
 * QC_MSG_MAX, QC_SET_MAX or QC_ONCE_MAX (commit alone).
 */
int	qc_encode(struct buf *out, const char **ids, const struct buf *recs,
	    size_t n, const void *once, size_t oncelen, long long expires);
/*
 * qc_decode - packet MSG (LEN bytes) into *R: every length inside LEN,
 * 1..QC_SET_MAX ids each of QUEUE_ID_LEN upper-case hex digits, every
 * record an envelope that envelope_decode takes, nothing left over.
 * 0, or -1 (*WHY_R static).
 */
int	qc_decode(const void *msg, size_t len, struct qc_req *r, const char **why_r);

/*
 * qc_commit_batch - the committer's work for N decoded requests: the
 * queue folder of HOME synced once, then every envelope of every request
 * in one transaction of S.  A request whose once marker is in S (or was
 * put by an earlier request of the batch) queues nothing: ANS[i] =
 * QC_ANS_ONCE; else ANS[i] = QC_ANS_OK, or QC_ANS_FAIL for all when the
 * sync or the transaction failed.  0 or -1.
 */
int	qc_commit_batch(struct store *s, const char *home, const struct qc_req *reqs,
	    size_t n, char *ans);

/* qc_client_init - this process commits through the shared channel FD
 * (-1: never; commit alone). */
void	qc_client_init(int fd);
/* qc_client_active - a shared channel was given. */
int	qc_client_active(void);
/*
 * qc_client_commit - send the request of qc_encode's arguments and wait
 * for the answer (at most QC_WAIT_MS).  enum qc_result.
 */
int	qc_client_commit(const char **ids, const struct buf *recs, size_t n,
	    const void *once, size_t oncelen, long long expires);

#endif
