/*
 * maildir - local mailboxes: HOME/mailbox/ACCOUNT/Maildir/{tmp,new,cur}.
 *
 * Stored file names follow the Maildir convention SECONDS.UNIQUE.HOST:
 * "SECONDS.M<USEC>Q<QID>R<IDX>.HOST,S=SIZE,W=CRLFSIZE", where SECONDS and
 * USEC are the arrival time the queue id carries (queue.h), so names sort by
 * arrival, and the Maildir++ size fields count the whole stored file (trace
 * lines included).  Older names "QID.IDX.HOST,S=,W=" are still read.
 * Listing order (POP3 numbering, maildir_uid_cmp): names that begin with
 * digits and a dot (ours and other software's "1733300000.M1P2.host") by
 * that number (seconds), then by the rest of the name; other names (yubin's
 * older "6B12C1403E050C3C.0.vm,...") after all of them, by name.  Files are in new/; POP3 leaves them in new/ and deletes them there (another
 * Maildir reader may move them to cur/NAME:2,FLAGS).  Files are stored with
 * LF line ends and begin with the recipient's trace lines (DESIGN §7):
 *	Return-Path: <SENDER>		("<>" for a null sender; RFC 5321 §4.4)
 *	Delivered-To: RCPT		(the envelope recipient of this copy)
 * then the queue file's bytes unchanged.  The name is deterministic per (queue id, recipient index),
 * which makes a delivery repeated after a crash a no-op: exactly once.
 */
#ifndef YUBIN_MAILDIR_H
#define YUBIN_MAILDIR_H

#include <stddef.h>

/* maildir_create - make DIR/{tmp,new,cur} (mode 0700).  0 or -1. */
int	maildir_create(const char *dir);

/*
 * maildir_trace - the trace lines that begin the copy stored for envelope
 * SENDER ("" = null sender) and recipient RCPT, written to OUT (SIZE bytes,
 * NUL-terminated).  Returns their length in bytes (LF ends; on the wire they
 * are two bytes more: two lines), or 0 when they do not fit or an address
 * holds CR or LF (never stored then).
 */
/* maildir_wire_size - the size POP3 gives the file open on FD, read from
 * offset 0 with pread (FD's offset is left alone): every LF not preceded by
 * CR counts as CRLF, and an unterminated last line gets one.  Its plain
 * byte count in *BYTES when not NULL.  -1 on a read error. */
long long maildir_wire_size(int fd, long long *bytes);
size_t	maildir_trace(const char *sender, const char *rcpt, char *out,
	    size_t size);

/* the space maildir_trace needs for any two addresses of the envelope */
#define MAILDIR_TRACE_MAX	1200

/*
 * maildir_deliver - store TRACE (TRACELEN bytes, from maildir_trace) then
 * the queue file SRCPATH into Maildir DIR for queue id QID, recipient index
 * IDX; SIZE and CRLFSIZE are the stored file's size with LF and CRLF line
 * ends (trace lines included): the file is written into tmp/ and fsync'ed,
 * renamed into new/ (never over a file there), new/ fsync'ed (unless
 * FLAGS has MAILDIR_NOSYNC).  Returns 1
 * stored, 0 already stored (same name in new/, or in cur/ unless FLAGS
 * has MAILDIR_FIRST), -1 error (errno).  The stored path is written to
 * PATH_R (PATHSIZE bytes) when not NULL (for 0, the path of the copy
 * already there).  QID must be printable, without '/', ':' or ',', not
 * start with '.', at most 64 characters (else -1 with EINVAL).
 */
int	maildir_deliver(const char *dir, const char *srcpath, const char *qid,
	    unsigned idx, const char *trace, size_t tracelen, long long size,
	    long long crlfsize, unsigned flags, char *path_r, size_t pathsize);

/*
 * MAILDIR_FIRST: no attempt at this copy can have been made before (the
 * queue manager knows: its first try of a message that arrived while it
 * ran).  cur/ is then not read for an earlier copy a reader may have
 * moved there, which costs a scan of cur/ per delivery; new/ is still
 * never overwritten.
 */
#define MAILDIR_FIRST	0x1
/*
 * MAILDIR_NOSYNC: new/ is not fsync'ed (the stored file itself still is):
 * the caller makes the copy durable with maildir_sync_new before it
 * counts the delivery as done, for several copies at once.  The queue
 * manager does, once per folder for all the deliveries that ended
 * together (a group commit of the Maildir folder).
 */
#define MAILDIR_NOSYNC	0x2

/* maildir_sync_new - fsync DIR/new: every copy renamed there before is on
 * disk.  0 or -1 (errno). */
int	maildir_sync_new(const char *dir);

/*
 * maildir_name - the base name (in new/) of the copy of queue id QID for
 * recipient index IDX on HOST with sizes SIZE and CRLFSIZE, into OUT
 * (OUTSIZE bytes).  Deterministic: the same arguments give the same name, which
 * is how a repeated delivery is seen.  An id that is not a queue id (16 hex
 * digits) gets the older form "QID.IDX.HOST,S=,W=".  0, or -1 (EINVAL for a bad QID, ENAMETOOLONG).
 */
int	maildir_name(char *out, size_t outsize, const char *qid, unsigned idx,
	    const char *host, long long size, long long crlfsize);

/* maildir_uid_cmp - the listing order of two base names (see the top). */
int	maildir_uid_cmp(const char *a, const char *b);

struct maildir_msg {
	char	*name;		/* owned: file name relative to the Maildir ("new/..." or "cur/...") */
	char	*uid;		/* owned: base name up to ':' (the UIDL) */
	long long size;		/* octets as sent by POP3 (CRLF) */
	int	 deleted;	/* marked by DELE */
};

struct maildir_list {
	struct maildir_msg *msg;	/* owned; sorted by name */
	size_t	 n;
};

/*
 * maildir_scan - list DIR's messages (new/ and cur/) without reading bodies:
 * sizes come from W= in the name (else S=, else stat plus a line count of
 * that one file).  At most MAX messages (the rest ignored, logged).  0 or -1.
 */
int	maildir_scan(const char *dir, size_t max, struct maildir_list *l);
void	maildir_list_free(struct maildir_list *l);

#define MAILDIR_UIDL_MAX	70	/* RFC 1939 §7: 1-70 characters 0x21-0x7E */
/*
 * maildir_uidl - the POP3 UIDL of M into OUT (MAILDIR_UIDL_MAX + 1 bytes):
 * its base name when that is 1-70 printable characters, else the hex MD5
 * of the base name (stable too: names never change while a message is
 * stored).  Returns OUT or M->uid.
 */
const char *maildir_uidl(const struct maildir_msg *m, char *out);

#endif
