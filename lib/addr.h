/*
 * addr - RFC 5321 paths: the argument of MAIL FROM: and RCPT TO:, and which
 * domains and addresses are this server's own.
 *
 * The parser is strict where a loose reading could be abused and liberal
 * only where that is safe: spaces after the colon are accepted, a path
 * without angle brackets is refused, quoted local parts are kept as given,
 * a source route (<@a,@b:user@domain>) is parsed and dropped (RFC 5321
 * §4.1.2, "MUST accept ... SHOULD ignore"), and a dot-string local part may
 * have leading, trailing or repeated dots (addresses of Japanese mobile
 * carriers; see addr.c).  Control bytes are never part of a parsed address,
 * so a parsed address is safe to put in a header (it may still hold spaces
 * inside a quoted local part).
 *
 * Never: look anything up, log, or allocate.  Pure functions of their input
 * apart from addr_resolve_local, which reads accounts from the store.
 */
#ifndef YUBIN_ADDR_H
#define YUBIN_ADDR_H

#include "account.h"
#include "dsn.h"

struct config;
struct store;

/* RFC 5321 §4.5.3.1: the size limits every server must accept, and ours. */
#define ADDR_LOCAL_MAX	64	/* local part, octets as sent (quotes included) */
#define ADDR_DOMAIN_MAX	255	/* domain or address literal */
#define ADDR_PATH_MAX	256	/* whole path with its "<" ">" and source route */
/* ESMTP parameters of one MAIL/RCPT: more than this is abuse, not mail. */
#define ADDR_PARAMS_MAX	16
#define ADDR_AUTH_MAX	512	/* MAIL AUTH=<xtext> (RFC 4954 §5) */
#define ADDR_NODE_ID_MAX 32	/* MAIL XNODEID=: letters and digits */
/* One KEYWORD=VALUE: the longest is an ORCPT whose 500 octets are all
 * "+HH" in xtext (RFC 3461 §4.2), with "ORCPT=rfc822;". */
#define ADDR_PARAM_MAX	(3 * DSN_ORCPT_MAX + 32)

enum addr_kind {
	ADDR_MAIL,		/* MAIL FROM: reverse-path, <> allowed */
	ADDR_RCPT,		/* RCPT TO: forward-path, <> refused */
};

enum addr_body {
	ADDR_BODY_NONE = 0,	/* no BODY= parameter */
	ADDR_BODY_7BIT,
	ADDR_BODY_8BITMIME,
};

struct addr_path {
	char	addr[ADDR_PATH_MAX + 1];	/* "local@domain" as sent (source
						 * route dropped); "" for <>; for
						 * RCPT TO:<Postmaster> just the
						 * local part */
	char	local[ADDR_LOCAL_MAX + 1];	/* as sent, quotes kept */
	char	domain[ADDR_DOMAIN_MAX + 1];	/* as sent; "" for <> and <postmaster> */
	int	null;				/* MAIL FROM:<> */
	long long size;				/* SIZE=, -1 when absent; values
						 * too big for long long read as
						 * LLONG_MAX */
	int	body;				/* enum addr_body */
	int	smtputf8;			/* SMTPUTF8 given */
	char	auth[ADDR_AUTH_MAX + 1];	/* AUTH= value as sent, "" absent */
	long long hold_for;			/* HOLDFOR= seconds (RFC 4865), -1 absent */
	long long hold_until;			/* HOLDUNTIL= as unix seconds, -1 absent */
	/* DSN (RFC 3461), values decoded from xtext */
	int	ret;				/* MAIL RET=: enum dsn_ret */
	char	envid[DSN_ENVID_MAX + 1];	/* MAIL ENVID=, "" absent */
	int	notify;				/* RCPT NOTIFY=: DSN_NOTIFY_*, 0 absent */
	char	orcpt[DSN_ORCPT_SIZE];		/* RCPT ORCPT= "type;address", "" absent */
	/* MAIL XNODEID=: the relaying node's queue id, so that a retry of
	 * mail already stored is recognised (node sessions only: smtp.c);
	 * "" absent */
	char	node_id[ADDR_NODE_ID_MAX + 1];
};

/*
 * addr_error - why a path was refused: the reply the SMTP engine sends.
 * TEXT is complete and safe to send (client bytes are escaped into it).
 */
struct addr_error {
	int	code;		/* 501, 553, 555 */
	const char *enh;	/* "5.5.2", static */
	char	text[320];
};

/*
 * addr_parse - parse ARG, the text after the verb ("FROM:<a@b> SIZE=10" for
 * MAIL, "TO:<c@d>" for RCPT), into *P.  UTF8_OK says that SMTPUTF8 is in
 * effect for RCPT (the transaction's MAIL had it); for MAIL it comes from
 * the SMTPUTF8 parameter of ARG itself.  Returns 0, or -1 with *E filled:
 *
 *   501 5.5.4  "FROM:"/"TO:" missing, or malformed parameter syntax, or a
 *              parameter given twice, or a bad SIZE/BODY value
 *   501 5.5.2  path without angle brackets, or junk after the ">"
 *   501 5.1.7  (MAIL) / 501 5.1.3 (RCPT)  malformed address: bad local
 *              part or domain syntax, control bytes, no domain (only
 *              RCPT TO:<postmaster> may omit it), null path for RCPT
 *   501 5.1.7 / 5.1.3  local part over 64, domain over 255 octets
 *   501 5.1.7 / 5.1.3  path over 256 octets (with its punctuation)
 *   553 5.6.7  non-ASCII address without SMTPUTF8 (RFC 6531 §3.5)
 *   555 5.5.4  unknown parameter, or a MAIL-only parameter on RCPT
 *
 * Accepted parameters of MAIL: SIZE=digits, BODY=7BIT|8BITMIME,
 * SMTPUTF8, AUTH=xtext, HOLDFOR=seconds | HOLDUNTIL=RFC 3339 date-time
 * (RFC 4865 FUTURERELEASE; one of the two; limits are the caller's), and
 * the DSN parameters (RFC 3461) RET=FULL|HDRS and ENVID=xtext (at most
 * DSN_ENVID_MAX characters decoded, printable ASCII).  Of RCPT, the DSN
 * parameters NOTIFY=NEVER|list of SUCCESS,FAILURE,DELAY and
 * ORCPT=rfc822;xtext or utf-8;xtext (at most DSN_ORCPT_MAX decoded).  A
 * bad DSN value is 501 5.5.4 naming the parameter; an ESMTP keyword of
 * the other command is 555 5.5.4.
 */
int	addr_parse(const char *arg, enum addr_kind kind, int utf8_ok,
	    struct addr_path *p, struct addr_error *e);

/*
 * addr_domain_is_local - 1 if DOMAIN is one of ours: server.domain, an
 * entry of server.alias or smtp.subhost, ASCII case-insensitive, one
 * trailing dot ignored.  An address literal ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]") is ours only when listed in alias or subhost, with
 * or without the brackets and the "IPv6:" tag.  0 otherwise.
 */
int	addr_domain_is_local(const struct config *cfg, const char *domain);

/*
 * addr_resolve_rcpt - where mail for the recipient ADDR ("local@domain" as
 * parsed, or a bare local part such as RCPT TO:<postmaster>, taken as
 * local) goes.  The local part is unquoted and lower-cased.  *R is filled:
 * R->addr is the envelope recipient to store (ADDR, or the alias's real
 * address when the alias rewrites it, alias.h), R->account the account.
 *
 * A recipient in a local domain resolves in this order:
 *   1. an exact alias (alias.dat): its real address is resolved again;
 *   2. the account (addr_account_find): in the default shared mode
 *      (Wiz98, SEEDS §4.1) the account named by the local part, whatever
 *      the local domain; with server.domain_mailboxes = 1 (E-Post
 *      per-domain mailboxes, §4.3) the account NAME@DOMAIN for a domain
 *      other than server.domain, the plain account NAME for server.domain
 *      (address literals and a bare local part count as server.domain);
 *   2b. a mailing list's own addresses (DESIGN §11): NAME-request,
 *      NAME-owner, NAME-bounces and NAME-bounces+ANYTHING resolve to the
 *      account NAME, found as in 2, when it is a list (its folder holds
 *      ml.def); R->addr stays the address given, so the list plugin sees
 *      which one was written;
 *   3. the domain's catch-all alias ("*@domain");
 *   4. for "postmaster" and "abuse" (any case; a bare "postmaster" is
 *      local by RFC 5321 §4.5.1, RFC 2142): server.admin_address, resolved
 *      like a recipient: a local account, or, when it is outside the local
 *      domains, the recipient is rewritten to it and goes out (REMOTE);
 *      then the account "postmaster" (for abuse), then nobody.
 *      server.admin_address defaults to "postmaster", the account that
 *      "yubinctl setup" makes (DESIGN §7); that account takes the address
 *      postmaster@ itself in step 2 only when admin_address is set empty.
 * At most ALIAS_DEPTH_MAX alias steps are followed (loops are refused at
 * load time); past that, nobody.
 */
enum addr_dest {
	ADDR_DEST_ERROR = -2,	/* store error */
	ADDR_DEST_FOREIGN = -1,	/* not a local domain: relaying */
	ADDR_DEST_NONE = 0,	/* local domain, nobody (550) */
	ADDR_DEST_LOCAL = 1,	/* R->account; R->addr the recipient */
	ADDR_DEST_REMOTE = 2,	/* local address sent out: R->addr (rewritten) */
};

struct addr_rcpt {
	char	addr[ADDR_PATH_MAX + 1];
	char	account[ACCOUNT_NAME_MAX + 1];	/* "" unless ADDR_DEST_LOCAL */
};

enum addr_dest addr_resolve_rcpt(const struct config *cfg, struct store *s,
	    const char *addr, struct addr_rcpt *r);

/*
 * addr_resolve_trace - addr_resolve_rcpt telling TRACE(CTX, STEP, FROM, TO)
 * each step it takes (yubinctl check address shows them): STEP is
 * "alias", "catch-all" or "admin_address" (FROM rewritten to TO, resolved
 * again), "account" (FROM is the account TO), "list" (FROM is an address
 * of the list TO), "postmaster" (FROM falls back to the account TO).
 * The strings are borrowed for the call.  TRACE may be NULL.
 */
typedef void	addr_trace_fn(void *ctx, const char *step, const char *from,
	    const char *to);
enum addr_dest addr_resolve_trace(const struct config *cfg, struct store *s,
	    const char *addr, struct addr_rcpt *r, addr_trace_fn *trace,
	    void *ctx);

/*
 * addr_list_suffix - when the plain local part LOCAL is a list's own
 * address (NAME-request, NAME-owner, NAME-bounces, NAME-bounces+VERP),
 * NAME into BASE (SIZE bytes) and the kind ("request", "owner",
 * "bounces"); NULL for any other local part.
 */
const char *addr_list_suffix(const char *local, char *base, size_t size);
/* addr_is_list - 1 when the account NAME is a mailing list: its folder
 * holds ml.def (yubinctl ml create writes it); 0 otherwise. */
int	addr_is_list(const struct config *cfg, const char *name);

/*
 * addr_resolve_local - which account ADDR names, by addr_resolve_rcpt:
 *
 *   1   ADDR_DEST_LOCAL: the account's name in ACCOUNT_R
 *   0   ADDR_DEST_NONE: the domain is local, nobody (or the local part
 *       cannot be an account name)
 *  -1   ADDR_DEST_FOREIGN or ADDR_DEST_REMOTE: not local, or an alias (or
 *       postmaster's external server.admin_address) sends it out
 *  -2   store error
 */
int	addr_resolve_local(const struct config *cfg, struct store *s,
	    const char *addr, char account_r[ACCOUNT_NAME_MAX + 1]);

/*
 * addr_account_id - the name of the account LOCAL (a plain account name)
 * has at DOMAIN ("" for none), into OUT: LOCAL itself in shared mode and
 * for server.domain (address literals, "" too); in per-domain mode
 * (server.domain_mailboxes) LOCAL@DOMAIN for another local domain, the
 * domain lower-cased and a trailing dot dropped.  For "yubinctl account
 * add NAME@DOMAIN", imports and logins.  0, or -1 with *why_r (static):
 * LOCAL not a plain name; per-domain mode and DOMAIN not a local domain (a
 * name is never built from a domain that is not configured); the name
 * longer than ACCOUNT_NAME_MAX.
 */
int	addr_account_id(const struct config *cfg, const char *local,
	    const char *domain, char out[ACCOUNT_NAME_MAX + 1],
	    const char **why_r);

/*
 * addr_account_find - the account mail or a login for LOCAL@DOMAIN
 * reaches, into *A.  DOMAIN NULL: the account named LOCAL whatever its
 * domain (a bare login).  Shared mode: the account LOCAL.  Per-domain
 * mode: for server.domain (or "", or an address literal) the plain account
 * LOCAL unless its domain field names another domain; for another local
 * domain the account LOCAL@DOMAIN, else a plain LOCAL whose domain field is
 * DOMAIN (accounts made before per-domain names).  The caller has checked
 * that DOMAIN is local.  1 found, 0 none (or LOCAL not a plain name), -1
 * store error.
 */
int	addr_account_find(const struct config *cfg, struct store *s,
	    const char *local, const char *domain, struct account *a);

/* addr_domain_of - the domain part of ADDR (after the last '@'), "" when
 * there is none.  Borrowed: points into ADDR. */
const char *addr_domain_of(const char *addr);

#endif
