/*
 * queue - the durable incoming queue (DESIGN.md §4).
 *
 * A message is a file HOME/queue/ID holding the message as stored (LF line
 * ends, the Received: header on top); its envelope is the LMDB record
 * STORE_QUEUE[ID].  queue_in_commit() makes both durable in this order: file
 * fsync, directory fsync, LMDB commit; only then may the SMTP engine answer
 * 250.  In a process given a committer channel (qcommit.h) the folder sync
 * and the LMDB commit are the committer's, shared with whatever other
 * workers are committing at the same time.  A file without an envelope (crash before the commit) is an orphan the
 * queue manager removes; an envelope always has its file.  The queue manager
 * removes the entry only when every recipient is done.
 *
 * Queue ids are 16 upper-case hex digits: 8 of the arrival time in seconds,
 * then 8 of (microseconds << 12 | 12 bits of pid ^ counter ^ random), so
 * ids sort by arrival and say it to the microsecond (Maildir names use it).
 */
#ifndef YUBIN_QUEUE_H
#define YUBIN_QUEUE_H

#include <stddef.h>

#include "buf.h"

struct store;

#define QUEUE_ID_LEN	16

enum rcpt_state {
	RCPT_PENDING = 0,
	RCPT_DONE = 1,		/* delivered */
	RCPT_FAILED = 2,	/* permanent failure, bounced */
	RCPT_HELD = 3,		/* local delivery crashed QUEUE_CRASH_MAX times:
				 * not tried again until `yubinctl queue flush` */
};

#define QUEUE_CRASH_MAX	3	/* agent crashes before a recipient is held */
#define QUEUE_HOLD_REASON_MAX 64 /* bytes of an envelope's hold reason */

struct env_rcpt {
	char	*addr;		/* owned; the envelope recipient as given */
	char	*account;	/* owned; local account, NULL for remote */
	int	 state;		/* enum rcpt_state */
	int	 attempts;
	long long next_try;	/* unix seconds; 0 = now */
	char	*last_error;	/* owned; may be NULL */
	int	 crashes;	/* delivery agents that died delivering it */
	int	 notify;	/* DSN NOTIFY bits (dsn.h), 0 = not given */
	char	*orcpt;		/* owned; DSN ORCPT "type;address", NULL none */
};

struct envelope {
	char	 id[QUEUE_ID_LEN + 1];
	char	*sender;	/* owned; "" = null reverse-path <> */
	struct env_rcpt *rcpt;	/* owned array */
	size_t	 nrcpt;
	char	 client_ip[46];
	char	 helo[256];
	char	 auth_user[65];	/* "" when not authenticated */
	long long arrival;	/* unix seconds */
	long long size;		/* bytes of the queue file (LF line ends) */
	long long size_crlf;	/* bytes as sent over the wire (CRLF) */
	long long release_at;	/* FUTURERELEASE; 0 = now */
	int	 body_8bit;
	int	 smtputf8;
	int	 dsn_ret;	/* DSN RET (enum dsn_ret), 0 = not given */
	char	*dsn_envid;	/* owned; DSN ENVID decoded, NULL none */
	/*
	 * The administrative hold (yubinctl queue hold): a held message is
	 * kept, never tried and never expires; the time it spends held does
	 * not count towards its age (envelope_age).  Distinct from a
	 * recipient's RCPT_HELD.
	 */
	int	 hold;		/* 1 while held */
	char	 hold_reason[QUEUE_HOLD_REASON_MAX + 1];	/* printable ASCII */
	long long hold_since;	/* unix seconds the hold began; 0 = not held */
	long long held;		/* seconds spent held by holds since released */
};

/* envelope_add_rcpt - append a recipient (strings copied). */
void	envelope_add_rcpt(struct envelope *e, const char *addr, const char *account);
/* envelope_clear - free the owned parts; E is reusable (all zero). */
void	envelope_clear(struct envelope *e);
/*
 * envelope_encode / _decode - the LMDB record.  decode: 0 or -1 (corrupt).
 * The record is text: an "E1" line, then one "R" line per recipient.  The
 * DSN parameters (RFC 3461) are optional lines, written only when given, so
 * the record of a message without them is the one earlier versions wrote
 * and read: "D RET ENVID" after the E1 line, and "N NOTIFY ORCPT" after
 * the R line of its recipient.  A record without them decodes to the
 * defaults (0 and NULL).  The hold is one more optional line, "H HOLD
 * SINCE HELD REASON", right after the E1 line, written only while held or
 * once held (HELD > 0); without it the message was never held.
 */
void	envelope_encode(const struct envelope *e, struct buf *out);
int	envelope_decode(struct envelope *e, const void *p, size_t len);
/*
 * envelope_hold_copy - the hold fields (hold, hold_reason, hold_since,
 * held) of the record P[0..LEN) into E, its other fields untouched: what
 * a writer that read the envelope earlier puts back, so that a hold or a
 * release made meanwhile is kept.  0, or -1 (corrupt H line; E untouched).
 */
int	envelope_hold_copy(struct envelope *e, const void *p, size_t len);
/*
 * envelope_admin_copy - what yubinctl may have changed in the record
 * P[0..LEN) since the queue manager read E: the hold fields, and, of
 * every recipient whose index is not set in MINE (the recipients whose
 * outcome the caller is writing), its schedule when it is still waiting
 * on both sides: pending or held, next try and crashes (queue flush).
 * 0, or -1 (corrupt record, or one of another shape: E keeps its own).
 */
int	envelope_admin_copy(struct envelope *e, const void *p, size_t len,
	    const unsigned char *mine);
/*
 * envelope_age - seconds E has waited for delivery at NOW: since its
 * arrival, less the time it was held.  A held message does not age: every
 * expiry (smtp.resend_timeout, the retry periods, delay warnings) uses
 * this, never NOW - arrival.
 */
long long envelope_age(const struct envelope *e, long long now);

struct queue_in;

/* queue_in_open - a new queue file under HOME/queue with a fresh id.
 * 0, or -1 (errno).  *q_r owned: commit or abort it. */
int	queue_in_open(const char *home, struct queue_in **q_r);
const char *queue_in_id(const struct queue_in *q);
/* queue_in_write - append message bytes (buffered).  0 or -1 (errno). */
int	queue_in_write(struct queue_in *q, const void *p, size_t len);
/* queue_in_open_ro - flush, then a new read-only descriptor of the message
 * as written so far (for the data hook; the caller closes it).  -1 on error. */
int	queue_in_open_ro(struct queue_in *q);
/* queue_in_path - flush, then the path of the file as written so far (to
 * read it, e.g. for a report), valid until commit or abort; NULL on a
 * write error. */
const char *queue_in_path(struct queue_in *q);
/* queue_in_prepend - put LEN bytes in front of the message (headers added
 * by plugins), in place.  0 or -1 (errno; the file is then unusable:
 * abort it). */
int	queue_in_prepend(struct queue_in *q, const void *p, size_t len);
/* queue_in_replace - the message becomes the contents of FD (read from
 * offset 0 to its end; a plugin's rewrite): the file is rewritten, and the
 * number of LF line ends of the new text is put in *LINES_R.  0 or -1
 * (errno); on failure the message is unchanged. */
int	queue_in_replace(struct queue_in *q, int fd, long long *lines_r);
/* queue_in_size - bytes written so far. */
long long queue_in_size(const struct queue_in *q);
/*
 * queue_in_commit - make the message and ENV (its id and size are filled in
 * here) durable, then tell the queue manager.  0: on stable storage, answer
 * 250.  -1: nothing is queued (file removed), *why_r static, answer 451.
 * *q is freed either way.
 */
int	queue_in_commit(struct queue_in **q, struct store *s, struct envelope *env,
	    const char **why_r);
/*
 * queue_in_commit_set - queue_in_commit for N messages at once: every file
 * synced, the folder once, every envelope in one transaction, so all are
 * queued or none.  QS[i] are freed (NULL) either way.
 */
int	queue_in_commit_set(struct queue_in **qs, struct envelope **envs, size_t n,
	    struct store *s, const char **why_r);
/*
 * queue_in_commit_once - queue_in_commit_set, unless the marker ONCE
 * (ONCELEN bytes, a STORE_META key) is already in S: then nothing is
 * queued (the files are removed) and 1 is returned.  The marker, kept
 * until EXPIRES (unix seconds), is written in the same transaction as the
 * envelopes, so a process that dies anywhere and is run again with the
 * same ONCE queues the messages exactly once.  0, 1 or -1.
 */
int	queue_in_commit_once(struct queue_in **qs, struct envelope **envs,
	    size_t n, struct store *s, const void *once, size_t oncelen,
	    long long expires, const char **why_r);
/* queue_in_abort - remove the file, free *q. */
void	queue_in_abort(struct queue_in **q);

/* queue_path - HOME/queue/ID into OUT.  0 or -1 (too long). */
int	queue_path(const char *home, const char *id, char *out, size_t size);
/* queue_get - 1 and *env filled, 0 absent, -1 error/corrupt. */
int	queue_get(struct store *s, const char *id, struct envelope *env);
/* queue_update - rewrite the envelope record.  0 or -1. */
int	queue_update(struct store *s, const struct envelope *env);
/* queue_file_remove - the queue file of ID (its envelope is gone): 0, or
 * -1 with errno.  A file already gone is not an error. */
int	queue_file_remove(const char *home, const char *id);
/* queue_remove - delete envelope, then file.  0 or -1. */
int	queue_remove(struct store *s, const char *home, const char *id);
/* queue_each - FN for every envelope id in id order; FN non-zero stops. */
int	queue_each(struct store *s, int (*fn)(void *ctx, const char *id), void *ctx);
/* queue_stats - the number of queue entries and the arrival time (seconds,
 * from the oldest id: ids begin with it in hex) of the oldest, 0 when the
 * queue is empty.  One read transaction over the keys.  0 or -1. */
int	queue_stats(struct store *s, size_t *n_r, long long *oldest_r);
/*
 * queue_orphans - the queue files of HOME without an envelope in S whose
 * last change is at least MIN_AGE seconds before NOW (a younger one may be
 * a message still arriving; QUEUE_ORPHAN_AGE is the grace the queue
 * manager gives): FN (when not NULL) is told of each with its size, then,
 * unless DRY, it is removed (unlinkat; a link or non-file is left alone).
 * The number and bytes go to *N_R and *BYTES_R.  0, or -1 when the folder
 * or the store could not be read or a file could not be removed (errno).
 */
#define QUEUE_ORPHAN_AGE	3600
int	queue_orphans(struct store *s, const char *home, long long min_age,
	    long long now, int dry, void (*fn)(void *ctx, const char *id,
	    long long bytes), void *ctx, long long *n_r, long long *bytes_r);
/* queue_id_valid - 1 when ID (LEN bytes) has the form of a queue id. */
int	queue_id_valid(const char *id, size_t len);

/* queue_notify - wake the queue manager for ID: a datagram on
 * HOME/run/qmgr.sock, or, when that is full, the file HOME/run/qmgr.kick
 * that makes it scan the whole queue.  Never blocks.  ID QUEUE_NOTE_STATE
 * makes it read the delivery state (queue_suspended) again. */
void	queue_notify(const char *home, const char *id);
#define QUEUE_NOTE_STATE	"state"

/*
 * queue_hold - put message ID on hold for REASON (printable ASCII, at most
 * QUEUE_HOLD_REASON_MAX bytes) at NOW; a message already held keeps its
 * hold.  queue_release - end its hold: the time held is added up (so it
 * does not count towards the age) and its pending recipients are due now.
 * Both read and write the envelope in one transaction.  1 done (*WAS_R,
 * when not NULL, says whether it was held before), 0 no such entry, -1
 * error.  The caller tells the queue manager (queue_notify).
 */
int	queue_hold(struct store *s, const char *id, const char *reason,
	    long long now, int *was_r);
int	queue_release(struct store *s, const char *id, long long now, int *was_r);
/*
 * queue_flush_entry - yubinctl queue flush of ID, in one transaction: its
 * pending recipients are due now, those held after crashes (RCPT_HELD)
 * pending again with their crash count reset; a message on hold stays on
 * hold.  1 done, with *BEFORE_R the envelope as it was (owned: clear it),
 * 0 no such entry, -1 error (*BEFORE_R empty either way).  The caller
 * tells the queue manager.
 */
int	queue_flush_entry(struct store *s, const char *id,
	    struct envelope *before_r);

/*
 * Delivery suspension (yubinctl suspend / resume): while suspended the
 * queue manager starts no delivery, local or remote, and SMTP keeps
 * queueing.  The state is the STORE_META key QUEUE_SUSPEND_KEY (its value
 * the unix time it began), so it outlasts a restart.
 * queue_suspended: 1 suspended, 0 not, -1 error (*since_r, when not NULL,
 * the time it began).  queue_suspend: ON 1 suspends, 0 resumes; 0 or -1.
 * The caller tells the queue manager (queue_notify QUEUE_NOTE_STATE).
 */
#define QUEUE_SUSPEND_KEY	"delivery/suspended"
int	queue_suspended(struct store *s, long long *since_r);
int	queue_suspend(struct store *s, int on, long long now);

#endif
