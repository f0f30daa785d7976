/*
 * route - where a remote recipient's mail goes (SEEDS.md §11.1): the
 * gateway table CONFDIR/gateway.dat, then queue.smarthost, then the
 * domain's MX.
 *
 * gateway.dat lines (DESIGN.md §7):
 *   PATTERN,HOST,PORT[*][,tls=none|may|encrypt|verify][,auth=USER:PASSWORD]
 * PATTERN is a domain with '*' wildcards (case-insensitive, '*' also
 * matches dots); the first matching line in file order wins; a port ending
 * in '*' means implicit TLS (tls= then defaults to encrypt).  Lines starting
 * with "'" or "#" or white space, and empty lines, are comments.  A file
 * that holds a password must not be readable by group or others.
 *
 * queue.smarthost is HOST[:PORT[*]] with queue.smarthost_tls and
 * queue.smarthost_auth (USER:PASSWORD).
 *
 * A line or smarthost with credentials requires TLS: its policy is at least
 * encrypt (tls=may is raised; a peer without STARTTLS is deferred, never
 * sent the password), and tls=none with credentials is a load error.
 * tls=verify is the recommended setting for such routes.
 *
 * Never: resolve names (the delivery agent does), or log.
 */
#ifndef YUBIN_ROUTE_H
#define YUBIN_ROUTE_H

#include <stddef.h>

#include "util.h"

struct config;

#define ROUTE_LINE_MAX	1024	/* a gateway.dat line */
#define ROUTE_LINES_MAX	10000	/* gateway.dat entries */
#define ROUTE_HOST_MAX	255
#define ROUTE_CRED_MAX	255	/* user or password */

enum route_tls {
	ROUTE_TLS_NONE = 0,	/* never STARTTLS */
	ROUTE_TLS_MAY,		/* STARTTLS when offered, unverified */
	ROUTE_TLS_ENCRYPT,	/* TLS or defer, unverified */
	ROUTE_TLS_VERIFY,	/* TLS with a verified certificate or defer */
};

enum route_kind {
	ROUTE_GATEWAY,		/* gateway.dat line or smarthost: host given */
	ROUTE_MX,		/* the domain's MX (or A/AAAA) */
};

struct route_dest {
	int	kind;		/* enum route_kind */
	char	host[ROUTE_HOST_MAX + 1];	/* gateway host, or the domain */
	int	port;
	int	implicit_tls;
	int	tls;		/* enum route_tls */
	char	user[ROUTE_CRED_MAX + 1];	/* "" = no AUTH */
	char	pass[ROUTE_CRED_MAX + 1];
	char	key[ROUTE_HOST_MAX + 16];	/* groups recipients: "gw:H:P" / "mx:D" */
};

struct routes;

/*
 * route_load - read CONFDIR/gateway.dat and check queue.smarthost.  A
 * missing file is an empty table.  0 and *r_r (owned: route_free), or -1
 * with "file:line: message" entries in ERRS (every bad line reported).
 */
int	route_load(const struct config *cfg, struct routes **r_r,
	    struct errlist *errs);
void	route_free(struct routes **r);

/* route_for - the destination of DOMAIN into *D. */
void	route_for(const struct config *cfg, const struct routes *r,
	    const char *domain, struct route_dest *d);

/* route_tls_name - "none", "may", "encrypt", "verify". */
const char *route_tls_name(int tls);

#endif
