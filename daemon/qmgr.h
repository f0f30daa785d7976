/*
 * qmgr - the queue manager: delivers queued mail.
 *
 * One process, forked by the master, running as the server user.  It wakes
 * on a datagram (HOME/run/qmgr.sock) carrying a queue id that an SMTP worker
 * just committed, and on a periodic scan of the whole queue (start-up, and
 * every queue.retry_interval) that picks up whatever a crash or a missed
 * datagram left.  Local recipients go to local delivery agents it forks
 * (local.h), which run the delivery hooks and store into the Maildir
 * (maildir_deliver: exactly once by name); remote recipients go to remote
 * delivery agents (at most queue.delivery_workers,
 * queue.destination_concurrency per destination; see the "Remote delivery"
 * and "Local delivery" comments in qmgr.c).  It never runs a plugin hook
 * itself.  It alone writes the envelopes: retries are scheduled there,
 * failures bounced (bounce.c) and kept in HOME/deadmail; the entry is
 * removed only when every recipient is done.  A message on hold (yubinctl
 * queue hold) is passed over; while delivery is suspended (yubinctl
 * suspend, kept in LMDB) no job is made or started at all.
 */
#ifndef YUBIN_QMGR_H
#define YUBIN_QMGR_H

#include <stddef.h>

struct config;
struct routes;

/* qmgr_main - run until SIGTERM; never returns.  ROUTES is gateway.dat as
 * the master read it (as root; NULL: MX and smarthost only).  TRACE
 * (TRACESIZE bytes, shared with the master) would name a plugin hook
 * running here, for crash logs; none runs here now, but plugins' init state
 * is inherited. */
void	qmgr_main(const struct config *cfg, const struct routes *routes,
	    char *trace, size_t tracesize) __attribute__((noreturn));

#endif
