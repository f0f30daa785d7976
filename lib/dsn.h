/*
 * dsn - the parameters of delivery status notifications (RFC 3461): the
 * NOTIFY bits of a recipient, the RET choice of a message, and xtext
 * (RFC 3461 §4), the encoding ENVID and ORCPT travel in.
 *
 * Values are kept decoded (printable US-ASCII only, so a decoded value is
 * safe in a header field and a log line) and encoded again when they go
 * out in MAIL and RCPT commands.
 *
 * Never: allocate, log, or accept a decoded byte outside 0x20-0x7e.
 */
#ifndef YUBIN_DSN_H
#define YUBIN_DSN_H

#include <stddef.h>

/* RFC 3461 §4.4: an ENVID holds at most 100 characters before encoding. */
#define DSN_ENVID_MAX	100
/* The address of an ORCPT after decoding.  A bound of our own: an RFC 5321
 * path is at most 256 octets, and the utf-8 type (RFC 6533) writes each
 * non-ASCII character as "\x{HHHH}", up to eight octets. */
#define DSN_ORCPT_MAX	500
/* An ORCPT kept as "TYPE;ADDRESS": the longest type we take is "rfc822". */
#define DSN_ORCPT_SIZE	(DSN_ORCPT_MAX + 8)

enum dsn_ret {
	DSN_RET_NONE = 0,	/* no RET parameter: the default report */
	DSN_RET_FULL = 1,	/* RET=FULL: the whole message in a failure */
	DSN_RET_HDRS = 2,	/* RET=HDRS: only its header */
};

/* NOTIFY bits of a recipient; 0 = no NOTIFY parameter was given. */
#define DSN_NOTIFY_SUCCESS	0x01
#define DSN_NOTIFY_FAILURE	0x02
#define DSN_NOTIFY_DELAY	0x04
#define DSN_NOTIFY_NEVER	0x08
#define DSN_NOTIFY_ALL		0x0f

/*
 * dsn_xtext_decode - the xtext IN decoded into OUT (SIZE bytes with the
 * NUL).  xtext is printable ASCII but "+" and "="; "+" is followed by two
 * upper-case hex digits.  0, or -1 when IN is empty or not xtext, when a
 * decoded byte is not printable ASCII (0x20-0x7e), or when the result
 * does not fit.
 */
int	dsn_xtext_decode(const char *in, char *out, size_t size);

/*
 * dsn_xtext_encode - IN (printable ASCII) encoded as xtext into OUT (SIZE
 * bytes with the NUL): "+", "=", space and anything outside 0x21-0x7e
 * become "+HH".  0, or -1 when it does not fit (OUT is then "").
 */
int	dsn_xtext_encode(const char *in, char *out, size_t size);

/*
 * dsn_notify_parse - a NOTIFY value ("NEVER", or a list of SUCCESS,
 * FAILURE and DELAY joined by commas, any case, each at most once) into
 * *BITS_R.  0, or -1 when malformed (NEVER with another word included).
 */
int	dsn_notify_parse(const char *v, int *bits_r);

/* dsn_notify_str - BITS (not 0) as a NOTIFY value into OUT (at least 32
 * bytes); returns OUT. */
const char *dsn_notify_str(int bits, char *out, size_t size);

/*
 * dsn_orcpt_parse - an ORCPT value "TYPE;XTEXT" into OUT (DSN_ORCPT_SIZE
 * bytes) as "type;decoded", the type lower-cased.  The types taken are
 * rfc822 and utf-8 (RFC 6533, whose "\x{HEX}" escapes are kept as sent).
 * 0, or -1 with *WHY_R (static) saying what is wrong.
 */
int	dsn_orcpt_parse(const char *v, char out[DSN_ORCPT_SIZE],
	    const char **why_r);

/*
 * dsn_wants - 1 when a recipient whose NOTIFY bits are NOTIFY gets a
 * report of the kind BIT (DSN_NOTIFY_SUCCESS, _FAILURE, _DELAY).  Without
 * a NOTIFY parameter (0) failures and delays are reported and successes
 * are not (RFC 3461 §4.1).
 */
int	dsn_wants(int notify, int bit);

/* dsn_printable - 1 when S holds only printable ASCII (0x20-0x7e). */
int	dsn_printable(const char *s);

#endif
