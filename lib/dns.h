/*
 * dns - MX and address look-ups for outbound delivery (libresolv).
 *
 * server.resolver replaces the name servers of /etc/resolv.conf when set
 * (forms: "192.0.2.1", "192.0.2.1:5353", "::1", "[::1]", "[::1]:5353";
 * port 53 by default; queries then go over TCP); tests point it at a dnsmasq on loopback.
 * Without it, MX queries use resolv.conf and host addresses come from the
 * system resolver (getaddrinfo).  Answers are copied out; nothing is cached
 * here (the MX cache lives in the queue manager, STORE_META "mx/DOMAIN").
 *
 * Never: block without a bound (RES_TIMEOUT and retries are set), or log.
 */
#ifndef YUBIN_DNS_H
#define YUBIN_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#define DNS_NAME_MAX	255
#define DNS_MX_MAX	16	/* MX hosts used per domain; more is abuse */
#define DNS_ADDR_MAX	8	/* addresses tried per host */

enum dns_status {
	DNS_OK = 0,		/* answers returned */
	DNS_NODATA = 1,		/* the name exists, no record of that type */
	DNS_NXDOMAIN = 2,	/* no such domain: permanent */
	DNS_NULLMX = 3,		/* RFC 7505 null MX: the domain takes no mail */
	DNS_TEMPFAIL = -1,	/* server failure, timeout, bad resolver */
};

struct dns_mx {
	char	name[DNS_NAME_MAX + 1];
	int	pref;
};

/*
 * dns_mx - MX records of DOMAIN into OUT (at most MAX), sorted by
 * preference with equal preferences shuffled (RFC 5321 §5.1).  RESOLVER is
 * server.resolver ("" = resolv.conf).  Returns enum dns_status; *N_R set on
 * DNS_OK.
 */
int	dns_mx(const char *resolver, const char *domain, struct dns_mx *out,
	    size_t max, size_t *n_r);

/*
 * dns_addrs - the addresses of HOST (an IP literal, or a name: A then AAAA)
 * with PORT filled in, at most MAX.  Returns enum dns_status.
 */
int	dns_addrs(const char *resolver, const char *host, int port,
	    struct sockaddr_storage *out, size_t max, size_t *n_r);

/*
 * dns_server_parse - a server.resolver value into *SS (*LEN_R its length):
 * "V4", "V4:PORT", "V6" (no port: the colons are the address's), "[V6]",
 * "[V6]:PORT"; PORT 1-65535, default 53.  0, or -1 when TEXT is none of
 * these (a host name, an empty or bad port, brackets round IPv4, junk).
 */
int	dns_server_parse(const char *text, struct sockaddr_storage *ss,
	    socklen_t *len_r);

/* dns_server - the name server to ask: RESOLVER (server.resolver, as
 * dns_server_parse reads it) or, when that is empty, the first of
 * /etc/resolv.conf.  0, or -1 (bad RESOLVER, none configured). */
int	dns_server(const char *resolver, struct sockaddr_storage *ss,
	    socklen_t *len_r);

/*
 * dns_mx_answer - the MX records of the reply ANS (N bytes, as a name
 * server sent it: untrusted) into OUT[0..MAX), sorted; *N_R their number.
 * DNS_OK, DNS_NULLMX, DNS_NODATA, or DNS_TEMPFAIL for a reply that does
 * not parse.  Must never read outside ANS[0..N).  (dns_mx's parser, exposed
 * for the fuzz target.)
 */
int	dns_mx_answer(const unsigned char *ans, size_t n, struct dns_mx *out,
	    size_t max, size_t *n_r);

/*
 * dns_addrs_answer - append the A and AAAA records of the reply ANS (N
 * bytes, untrusted) with PORT to OUT (*N_R used of MAX).  0, or -1 for a
 * reply that does not parse.  Must never read outside ANS[0..N).
 */
int	dns_addrs_answer(const unsigned char *ans, size_t n, int port,
	    struct sockaddr_storage *out, size_t max, size_t *n_r);

/* dns_sort_mx - sort OUT[0..N) by preference, shuffling equals (exposed for
 * the MX cache, whose entries are re-shuffled on every use). */
void	dns_sort_mx(struct dns_mx *out, size_t n);

#endif
