/*
 * ml.h - what the files of the list plugin share (plugins/ml/: ml.c the
 * plugin object, the deliver hook and the shared helpers; post.c the
 * distribution of a post; request.c the NAME-request commands and
 * confirmations; bounce.c the NAME-bounces address).  Private to them.
 *
 * A list is an account whose folder holds ml.def and ml_member.csv
 * (lib/mlfile.h, DESIGN §11).  The core resolves NAME@DOMAIN and the
 * list's own addresses NAME-request@, NAME-owner@, NAME-bounces[+VERP]@
 * to that account; the deliver hook (queue manager's local agent, server
 * user) reads the list afresh for each message, so hand edits and
 * `yubinctl ml` changes apply without a restart, and acts on the message:
 * whatever it queues goes through yh_inject_once with a key derived from
 * the message's queue id, so an agent killed half way and run again
 * never sends anything twice.  The message itself is then dropped from
 * the list's own mailbox (YH_DISCARD, logged): the archive (save_posts)
 * is the list's record.
 */
#ifndef YUBIN_ML_H
#define YUBIN_ML_H

#include <stddef.h>

#include <yubin/hook.h>

#include "mlfile.h"

#define ML_MSG_MAXSIZE	(64LL * 1024 * 1024)	/* a message read in memory */
#define ML_DOMAIN_MAX	255
#define ML_KEY_MAX	128	/* a store or inject_once key */

/*
 * The archive (save_posts): the list's folder holds archive/, one file per
 * post named by its number in six digits or more ("000042"), holding the
 * message as it was sent to the members; written atomically (a scratch
 * name, fsync, rename), mode 0600.  ARTICLE commands (request.c) read and
 * delete these files.
 */
/* Store keys (ml_store_key): "count" the post counter (its floor is
 * ml.def's count), "post/QID" the number given to the post QID. */

/* [plugin ml] settings (the running generation) */
struct ml_conf {
	long long	 max_rcpts;	/* recipients per outgoing transaction */
	long long	 confirm_ttl;	/* seconds a confirmation stays valid */
	long long	 confirm_per_day; /* confirmation mails per address a day */
	int		 munge_from;	/* DMARC p=reject/quarantine: From -> list */
	int		 verp;		/* NAME-bounces+LOCAL=DOMAIN senders */
};
extern struct ml_conf ML;

/* one message for one of a list's addresses */
struct ml_ctx {
	struct yh_delivery	*d;
	const char		*account;	/* the list's account */
	const char		*role;		/* NULL a post; else an entry of
						 * ml_roles: request, owner, bounces */
	const char		*rcpt;		/* the envelope recipient */
	const char		*sender;	/* envelope sender, "" = <> */
	char			 name[YH_ACCOUNT_MAX + 1];	/* NAME */
	char			 domain[ML_DOMAIN_MAX + 1];	/* the list's */
	char			 addr[YH_ACCOUNT_MAX + ML_DOMAIN_MAX + 2]; /* NAME@DOMAIN */
	char			 admin[ML_DOMAIN_MAX + 64];	/* admin_mail_address */
	char			 dir[4096];	/* the list's folder */
	int			 dfd;		/* it, opened without following links */
	struct ml_def		 def;
	struct ml_list		 members;
	char			*msg;		/* the message (queue file) */
	size_t			 len;
	size_t			 hdrlen;	/* header part, up to the blank line */
	char			 qid[YH_QID_SIZE];
};

/* ---- ml.c: shared helpers ------------------------------------------------ */

/*
 * ml_header - the first (N = 0) or Nth field NAME of C's message, unfolded
 * (CRLF/LF + blanks become one blank), into OUT (SIZE bytes).  1 found, 0
 * not there, -1 longer than SIZE.
 */
int	ml_header(const struct ml_ctx *c, const char *name, int n, char *out,
	    size_t size);
/* ml_body - C's message body (after the blank line) and its length. */
const char *ml_body(const struct ml_ctx *c, size_t *len_r);
/*
 * ml_send - queue DATA (LEN bytes, a whole message) from SENDER ("" = <>)
 * to RCPTS, at most once for C's message and TAG (yh_inject_once with key
 * "LIST/QID/TAG").  0 queued now or before, -1 failed (logged).
 */
int	ml_send(struct ml_ctx *c, const char *tag, const char *sender,
	    const char *const *rcpts, size_t n, const void *data, size_t len);
/*
 * ml_notice - a short message from the list (From: NAME-request@DOMAIN,
 * Auto-Submitted: auto-replied, Precedence: list, UTF-8 text) with SUBJECT
 * and TEXT to TO, sent at most once for C's message and TAG, envelope
 * sender NAME-bounces@DOMAIN.  0 or -1.
 */
int	ml_notice(struct ml_ctx *c, const char *tag, const char *to,
	    const char *subject, const char *text);
/* ml_is_member - 1 when ADDR is a member of C's list. */
int	ml_is_member(const struct ml_ctx *c, const char *addr);
/* ml_msg_set - MSG (LEN bytes, malloc'ed, taken) becomes C's message: the
 * one before is freed, the header's length found again. */
void	ml_msg_set(struct ml_ctx *c, char *msg, size_t len);
/*
 * ml_members_edit - add (ADD 1) or remove ADDR in ml_member.csv, read
 * afresh under the folder's lock and written back atomically; C->members
 * follows.  1 changed, 0 nothing to do, -1 failed for now (logged), -2
 * refused with the reason in *why_r (a bad address, or a member file with
 * errors, which are logged).
 */
int	ml_members_edit(struct ml_ctx *c, const char *addr, int add,
	    const char **why_r);
/* ml_store_key - "LIST/WHAT" (the plugin's store space; yubinctl ml
 * remove deletes "LIST/...") into OUT.  OUT. */
char	*ml_store_key(const struct ml_ctx *c, const char *what, char *out,
	    size_t size);

/* ---- the roles ------------------------------------------------------------ */

/* post.c: distribute C's message to the members.  A yh_result. */
int	ml_post(struct ml_ctx *c);
/* request.c: the commands in C's message body.  A yh_result. */
int	ml_request(struct ml_ctx *c);
/* bounce.c: a bounce of list mail (DSN) counted against the member. */
int	ml_bounce(struct ml_ctx *c);

#endif
