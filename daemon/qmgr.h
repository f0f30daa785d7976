/*
 * qmgr - the queue manager: delivers queued mail.
 *
 * One process, forked by the master, running as the server user.  It wakes
 * on a datagram (HOME/run/qmgr.sock) carrying a queue id that an SMTP worker
 * just committed, and on a periodic scan of the whole queue (start-up, and
 * every queue.retry_interval) that picks up whatever a crash or a missed
 * datagram left.  Local recipients go into their Maildir (maildir_deliver:
 * exactly once by name); the entry is removed only when every recipient is
 * done.  Remote recipients go to delivery agents it forks (at most
 * queue.delivery_workers, queue.destination_concurrency per destination;
 * see the "Remote delivery" comment in qmgr.c): retries are scheduled in
 * the envelope, failures bounced (bounce.c) and kept in HOME/deadmail.
 */
#ifndef YUBIN_QMGR_H
#define YUBIN_QMGR_H

#include <stddef.h>

struct config;

/* qmgr_main - run until SIGTERM; never returns.  TRACE (TRACESIZE bytes,
 * shared with the master) names the plugin hook running, for crash logs. */
void	qmgr_main(const struct config *cfg, char *trace, size_t tracesize)
	    __attribute__((noreturn));

#endif
