/*
 * bounce - delivery status notifications (RFC 3464) for failed recipients,
 * and the dead-mail copy of failed messages (HOME/deadmail, SEEDS §11.3).
 *
 * A bounce goes from MAILER-DAEMON@server.domain with the null reverse
 * path <> to the failed message's sender, and to server.admin_address too
 * when queue.send_error_copy_to_admin is on.  A message whose sender is <>
 * is never bounced (nor copied: that is how bounce loops start).  The
 * report is multipart/report: a text part, message/delivery-status, and the
 * original header (text/rfc822-headers, at most queue.bounce_headers_max).
 *
 * DSN (RFC 3461): a recipient's NOTIFY decides whether the sender hears of
 * it: without NOTIFY, of failures and delays; with it, of what it lists
 * (NEVER: nothing).  The administrator's copy does not depend on it.  The
 * sender also gets success reports (Action: delivered, relayed, expanded)
 * for recipients with NOTIFY=SUCCESS; never the administrator.  RET=FULL
 * puts the whole message (message/rfc822) in a failure report when it is
 * at most queue.bounce_full_max bytes, else the header, saying so; every
 * other report carries the header only.  ENVID and ORCPT come back as
 * Original-Envelope-Id and Original-Recipient.
 *
 * A recipient's last_error is "RELAY\tREPLY" (RELAY "host[ip]:port" said
 * REPLY: the Remote-MTA), "RELAY\t\tREPLY" (it failed at RELAY, but the
 * reply is yubin's own: a refused connect, a timeout, a dropped line, TLS
 * missing) or just "REPLY", where REPLY is "CODE X.Y.Z text".  A failure
 * yubin found itself names no Remote-MTA and its Diagnostic-Code type is
 * X-Yubin, not smtp.
 *
 * Runs in the queue manager; never logs a recipient twice.
 */
#ifndef YUBIN_BOUNCE_H
#define YUBIN_BOUNCE_H

#include <stddef.h>

struct buf;
struct config;
struct envelope;
struct queue_in;
struct store;

/* what a report says of its recipients (its Action field) */
enum bounce_kind {
	BOUNCE_FAILED = 0,	/* failed: a non-delivery report */
	BOUNCE_DELAYED = 1,	/* delayed: still being retried */
	BOUNCE_DELIVERED = 2,	/* delivered into a local mailbox */
	BOUNCE_RELAYED = 3,	/* sent to a next hop that does not offer DSN */
	BOUNCE_EXPANDED = 4,	/* delivered to a mailing list, which expands it */
};

/*
 * bounce_send - queue a report of KIND about ENV's recipients IDX[0..N)
 * (their state and last_error say what happened), to the sender for those
 * whose NOTIFY asks for it, and for a failure or delay to the
 * administrator (queue.send_error_copy_to_admin) for all of them.  0
 * (queued, or nothing to do: a <> sender, no one asked), -1 could not
 * queue (logged).
 */
int	bounce_send(const struct config *cfg, struct store *s,
	    const struct envelope *env, const char *qpath, const size_t *idx,
	    size_t n, enum bounce_kind kind);

/*
 * bounce_build - append to OUT the report of KIND bounce_send queues:
 * ENV's recipients IDX[0..N), the header (or for RET=FULL the whole
 * message) of the message at QPATH, dated now (time_now).  Builds text
 * only: queues nothing, logs nothing.  *FULL_R (may be NULL) is set to 1
 * when the whole message went in.
 */
void	bounce_build(const struct config *cfg, const struct envelope *env,
	    const char *qpath, const size_t *idx, size_t n,
	    enum bounce_kind kind, struct buf *out, int *full_r);

/*
 * bounce_refused - a message that will not be queued at all (Q, not yet
 * committed; ENV its envelope with id, sender and recipients) returned to
 * its sender at once: every recipient is marked failed with REPLY ("CODE
 * X.Y.Z text") and bounce_send reports them.  For mail made inside yubin
 * (injected, locally submitted) that a limit refuses, where a refusal
 * would reach no one.  0 (the report is queued, or the sender is <>), -1
 * (logged).  Q is left for the caller to abort.
 */
int	bounce_refused(const struct config *cfg, struct store *s,
	    struct queue_in *q, struct envelope *env, const char *reply);

/* bounce_deadmail - keep QPATH as HOME/deadmail/ID and its envelope as
 * HOME/deadmail/ID.env.  0 or -1 (logged). */
int	bounce_deadmail(const struct config *cfg, const struct envelope *env,
	    const char *qpath);

/* bounce_split - the relay and reply parts of a last_error (either may be
 * ""): copies into RELAY/REPLY; *SAID_R 1 when RELAY gave the reply. */
void	bounce_split(const char *last_error, char *relay, size_t rsize,
	    char *reply, size_t psize, int *said_r);

#endif
