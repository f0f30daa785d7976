/*
 * authres.h - the Authentication-Results header field (RFC 8601): built
 * for the results this server found, and read far enough to tell whether
 * a field that came with a message claims to be ours.
 *
 * A field from outside that carries our authserv-id would be believed by
 * every reader downstream, so each one is removed before ours is added
 * (RFC 8601 §5).  The reader errs towards removal: a field it cannot
 * parse up to its authserv-id counts as claiming it.
 *
 * Privilege: none.  Must never: write past AUTHRES_MAX, cut a value
 * (a result that does not fit is refused and the field stays as it was),
 * or put a byte in a field that is not a quoted pair, a token or the
 * address form RFC 8601's pvalue allows.
 */
#ifndef YUBIN_MAILAUTH_AUTHRES_H
#define YUBIN_MAILAUTH_AUTHRES_H

#include <stddef.h>

/* a field's value, kept under RFC 5322's 998-octet line with its name
 * ("Authentication-Results: ", 24 octets): the core adds it unfolded */
#define AUTHRES_MAX	970
#define AUTHRES_PROPS_MAX 4	/* properties of one result */

struct authres {
	char	 buf[AUTHRES_MAX + 1];
	size_t	 len;
	int	 nres;		/* results added */
	int	 none;		/* "; none" written by authres_value */
};

struct authres_prop {
	const char	*name;	/* "smtp.mailfrom", "header.d" ... */
	const char	*value;	/* NULL or "": the property is left out */
};

/*
 * authres_init - start the field with AUTHSERV_ID (a token or a domain;
 * quoted when it is not).  0, or -1 when it cannot be written.
 */
int	authres_init(struct authres *a, const char *authserv_id);
/*
 * authres_add - append "; METHOD=RESULT [reason="REASON"] PROP=VALUE ..."
 * (NPROP properties; REASON NULL or "" for none).  Each value is written
 * as is when it is a token or a local-part@domain of dot-atoms, else as a
 * quoted string.  0, or -1 with A unchanged: a value holding control
 * bytes or malformed UTF-8, or no room left.
 */
int	authres_add(struct authres *a, const char *method, const char *result,
	    const char *reason, const struct authres_prop *props, size_t nprop);
/* authres_value - the field's value so far ("ID; none" when no result
 * was added), borrowed from A. */
const char *authres_value(struct authres *a);

/*
 * authres_claims - whether VALUE (an Authentication-Results field body,
 * folded or not) is issued under AUTHSERV_ID: its authserv-id, past
 * CFWS and comments, as a token or a quoted string, compared without
 * case (a final dot ignored on either side).  1 it is, 0 it names
 * another, -1 it cannot be read that far (unterminated comment or
 * quoted string, no authserv-id): the caller treats -1 as 1.
 */
int	authres_claims(const char *value, size_t len, const char *authserv_id);

/* authres_is_token - 1 when S is an RFC 2045 token (no specials, blanks,
 * controls or octets above 126), else 0. */
int	authres_is_token(const char *s);

#endif
