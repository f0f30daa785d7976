/*
 * greylist.h - what the files of the greylist plugin share: limits, the
 * network and triplet keys, the client lists and the decision on one
 * triplet's record (glkey.c, pure: no yh_* call, no I/O), used by the
 * hooks in greylist.c and by t/unit/greylist.c.  Private to
 * plugins/greylist/.
 */
#ifndef GREYLIST_H
#define GREYLIST_H

#include <stddef.h>

#include "../lib/plugutil.h"

#define GL_NET_MAX	64	/* "a.b.c.0/24", "xxxx:xxxx:xxxx:xxxx::/64" */
#define GL_KEY_MAX	400	/* a store key; the core takes ~500 (with its
				 * namespace): longer triplets are hashed */
#define GL_ADDR_MAX	512	/* an address as the core hands it (<= 256) */
#define GL_REC_MAX	64	/* a record's text: "w 1733400000" */

/* gl_net_key - the client network of IP as text into OUT (SIZE bytes):
 * IPv4 /24 ("192.0.2.0/24"), IPv6 /64 ("2001:db8:1:2::/64").  0, or -1
 * when it does not fit. */
int	gl_net_key(const struct pu_ip *ip, char *out, size_t size);

/*
 * gl_triplet_key - the store key of the triplet (NET, SENDER, RCPT) into
 * OUT (SIZE bytes): "t/NET/LEN:SENDER/RCPT" with SENDER ("" for <>) and
 * RCPT in ASCII lower case and LEN the sender's length (so no address can
 * be read as a part of another); when that is longer than GL_KEY_MAX, or
 * an address longer than GL_ADDR_MAX, "t/NET/h:" and the SHA-256 of
 * "LEN:SENDER/RCPT" in hex.  0, or -1 (SIZE too small, hash failure).
 */
int	gl_triplet_key(const char *net, const char *sender, const char *rcpt,
	    char *out, size_t size);
/* gl_net_store_key - "n/NET", the auto-whitelist counter of NET.  0 or -1. */
int	gl_net_store_key(const char *net, char *out, size_t size);

/* gl_lower - ASCII lower case of S into OUT (SIZE bytes).  0, or -1 (OUT
 * "") when it does not fit: never cut. */
int	gl_lower(const char *s, char *out, size_t size);
/* gl_role_rcpt - 1 when RCPT's local part is postmaster or abuse (any
 * case, quoted or not, with or without a domain), else 0. */
int	gl_role_rcpt(const char *rcpt);
/* gl_rcpt_listed - 1 when RCPT matches one of the N lower-case entries of
 * LIST: "local@domain" equal (any case), "@domain" its domain (any case,
 * one trailing dot ignored), else 0. */
int	gl_rcpt_listed(char *const *list, size_t n, const char *rcpt);
/* gl_domain_ok - 1 when S is a domain an exempt entry may name: labels of
 * letters, digits, '-' and octets above 127, separated by single dots. */
int	gl_domain_ok(const char *s);

/* A triplet's record in the store. */
enum gl_state {
	GL_NONE,	/* absent (or expired) */
	GL_WAIT,	/* seen, greylisted: TIME is its first sight */
	GL_PASS,	/* passed: TIME is its last pass */
};

struct gl_rec {
	enum gl_state	 state;
	long long	 time;
};

/* gl_rec_parse - record text BUF (LEN bytes, "w TIME" or "p TIME") into
 * *R, only in the form gl_rec_format writes (no leading zero, no NUL).
 * 0, or -1 (not a record: *R is GL_NONE). */
int	gl_rec_parse(const char *buf, size_t len, struct gl_rec *r);
/* gl_rec_format - *R as text into OUT (SIZE bytes); its length, or -1. */
int	gl_rec_format(const struct gl_rec *r, char *out, size_t size);

struct gl_times {
	long long	 delay;		/* seconds before a retry passes */
	long long	 window;	/* seconds after first sight a retry may pass */
	long long	 max_age;	/* seconds a passed triplet is remembered */
};

enum gl_verdict {
	GL_NEW,		/* first sight: recorded, 4xx */
	GL_EARLY,	/* retry before the delay: 4xx, first sight kept */
	GL_RESTART,	/* retry after the window: recorded anew, 4xx */
	GL_PASSED,	/* retry within the window: passes, remembered */
	GL_KNOWN,	/* passed before: passes, refreshed */
};

/*
 * gl_decide - what to do at time NOW with the triplet whose record is *R:
 * the verdict, the record to write in *NEXT, and in *WAIT_R the seconds
 * before a retry can pass (4xx verdicts; else 0).  A first sight in the
 * future (the clock went back) starts over, as after the window.
 */
enum gl_verdict gl_decide(const struct gl_rec *r, long long now,
	    const struct gl_times *t, struct gl_rec *next, long long *wait_r);
/*
 * gl_refresh_due - whether a record last written at LAST must be written
 * again at NOW to stay remembered: once GL_REFRESH seconds (at most half
 * of T's max_age) have gone by, or the clock went back.  A known triplet
 * or whitelisted network is read on every recipient; writing it each time
 * would cost a store commit (a disk sync) per recipient for a record that
 * moves its expiry by seconds.
 */
#define GL_REFRESH	3600
int	gl_refresh_due(long long last, long long now, const struct gl_times *t);
/* gl_verdict_name - "new", "early", "restart", "passed", "known". */
const char *gl_verdict_name(enum gl_verdict v);

#endif
