/*
 * alias - the E-Post alias table, CONFDIR/alias.dat (SEEDS §13).
 *
 * One alias a line:
 *
 *     ALIAS REAL[,FLAG]
 *
 * ALIAS and REAL are addresses "local@domain", separated by blanks (tabs or
 * spaces); a line whose first non-blank byte is '#' or '\'' is a comment,
 * a blank line is skipped.  Readings of what SEEDS §13 leaves open:
 *
 *  - Both sides must have a domain (a load error otherwise), and ALIAS must
 *    be in a local domain (server.domain, server.alias, smtp.subhost): an
 *    alias elsewhere could never be reached, so it is reported, not ignored.
 *  - "*@domain" on the left is a catch-all for the domain: it applies to an
 *    address of that domain that is neither an exact alias nor an existing
 *    account.  "*" on the right repeats the matched local part, and is only
 *    allowed when the left side is "*" too.  A catch-all whose result is the
 *    address being resolved ("*@d REAL@d" reached with REAL@d) stops there:
 *    it is the final mailbox of the catch-all, not a loop.
 *  - Order of resolution for a recipient in a local domain: exact alias,
 *    then the account, then the catch-all, then postmaster/abuse fallback
 *    (addr.h).  A REAL in a local domain is resolved again the same way
 *    (chains), at most ALIAS_DEPTH_MAX steps.
 *  - FLAG: none = keep the envelope recipient when ALIAS and REAL are in
 *    the same domain, rewrite it to REAL when not; 1 = always rewrite;
 *    0 = never rewrite: the mail goes to REAL's mailbox but its envelope
 *    recipient (Received "for <...>", logs, reports, RCPT TO) stays the
 *    alias.  A remote REAL must be rewritten, or the queue could not route
 *    it (the alias's domain is ours), so ",0" with a REAL outside the local
 *    domains is a load error.
 *  - Loops (a@x b@y, b@y a@x; *@d1 *@d2, *@d2 *@d1) are refused at load
 *    time, as are chains longer than ALIAS_DEPTH_MAX.  The check assumes no
 *    account exists, so no account created later can open a loop.
 *  - The same ALIAS twice is an error (which one would win is not obvious).
 *  - Matching is ASCII case-insensitive; a quoted local part is compared
 *    unquoted.
 *
 * Every bad line is reported as "PATH:LINE: message" and the load fails.
 * The table is loaded by config_load (so at start-up, by yubind -t, and on
 * SIGHUP, where a bad file keeps the running configuration) and lives in
 * the struct config: read-only after fork.
 */
#ifndef YUBIN_ALIAS_H
#define YUBIN_ALIAS_H

#include <stddef.h>

#include "util.h"

struct config;
struct alias_table;

#define ALIAS_LINE_MAX	1024	/* two 256-byte paths, a flag and blanks */
#define ALIAS_LINES_MAX	100000	/* a table, not a directory */
#define ALIAS_DEPTH_MAX	8	/* alias of an alias of ... */

enum alias_flag {
	ALIAS_FLAG_DEFAULT = -1,	/* same domain keep, else rewrite */
	ALIAS_FLAG_KEEP = 0,		/* ",0" */
	ALIAS_FLAG_REWRITE = 1,		/* ",1" */
};

/*
 * alias_load - parse CONFDIR/alias.dat of CFG (CFG must be complete: its
 * local domains are used).  A missing file is an empty table.  Returns 0
 * and *t_r (owned: alias_free), or -1 with one "PATH:LINE: message" per
 * problem appended to ERRS.
 */
int	alias_load(const struct config *cfg, struct alias_table **t_r,
	    struct errlist *errs);

/* alias_parse - the same from the text DATA (LEN bytes), named PATH in
 * messages (for tests and alias_load). */
int	alias_parse(const struct config *cfg, const char *path,
	    const char *data, size_t len, struct alias_table **t_r,
	    struct errlist *errs);

/* alias_ref - one more owner of T (NULL allowed); returns T. */
struct alias_table *alias_ref(struct alias_table *t);
/* alias_free - drop one owner; the last frees.  *T set to NULL. */
void	alias_free(struct alias_table **t);
/* alias_count - number of aliases (wildcards included). */
size_t	alias_count(const struct alias_table *t);

/*
 * alias_lookup - the alias for LOCAL@DOMAIN (LOCAL unquoted), exact only
 * (WILDCARD 0) or the domain's catch-all only (WILDCARD 1).  1 found: the
 * real address into REAL_R (REAL_SIZE bytes; "*" already replaced) and
 * *REWRITE_R says whether the envelope recipient becomes REAL; 0 none (or
 * the result would not fit).  T may be NULL (no table).
 */
int	alias_lookup(const struct alias_table *t, const char *local,
	    const char *domain, int wildcard, char *real_r, size_t real_size,
	    int *rewrite_r);

/* alias_local_norm - LOCAL (LEN bytes, as parsed: maybe quoted) unquoted
 * and ASCII lower-cased into OUT (SIZE bytes).  0, or -1 when too long. */
int	alias_local_norm(const char *local, size_t len, char *out, size_t size);

#endif
