/*
 * mailparser - split a stored message into its MIME parts (the seed's
 * mailparser tool, F147; the program is tools/yubin-mailparser.c).
 *
 * The message is held in memory (LF or CRLF line ends).  mp_parse walks
 * it: multipart bodies part by part (RFC 2046 §5.1: the line end before a
 * delimiter belongs to the delimiter), message/rfc822 bodies as messages,
 * and hands every leaf part to a callback with its type, transfer
 * encoding, disposition and file name.  mp_decode turns a leaf's body into
 * its octets (base64, quoted-printable); mp_filename_sanitize makes a name
 * safe to create inside one folder.
 *
 * Malformed MIME never stops the walk; it is reported in a warning mask:
 * a multipart whose closing delimiter never comes ends at its parent's end
 * (MP_W_NOCLOSE); one whose first delimiter never comes, or that names no
 * boundary, is one leaf (MP_W_NOSTART); nesting deeper than MP_DEPTH_MAX
 * is one leaf (MP_W_DEPTH); parts past MP_PARTS_MAX are not handed out
 * (MP_W_PARTS).  A header block longer than MP_HEADER_MAX is an error:
 * what follows could not be told apart from it.
 *
 * Never: recurse deeper than MP_DEPTH_MAX, read outside the message, or
 * allocate without a bound (MP_FIELD_MAX per field value).
 */
#ifndef YUBIN_MAILPARSER_H
#define YUBIN_MAILPARSER_H

#include <stddef.h>

#include "buf.h"

#define MP_DEPTH_MAX	16		/* nested multiparts/messages; real mail uses 3-4 */
#define MP_PARTS_MAX	1000		/* leaf parts of one message */
#define MP_HEADER_MAX	(256 * 1024)	/* one header block (RFC 5322 sets no
					 * limit; 10 000 fields of 26 bytes) */
#define MP_FIELD_MAX	8192		/* one unfolded field value looked at */
#define MP_BOUNDARY_MAX	200		/* RFC 2046 allows 70 */
#define MP_NAME_MAX	255		/* a decoded file name (NAME_MAX) */
#define MP_SAFE_MAX	100		/* a sanitized file name, bytes */
#define MP_CONT_MAX	64		/* RFC 2231 continuations of one parameter */
#define MP_MSG_MAX	(64LL * 1024 * 1024)	/* a message file read whole */

enum mp_warn {
	MP_W_NOCLOSE = 1 << 0,	/* a multipart without its closing delimiter */
	MP_W_NOSTART = 1 << 1,	/* a multipart without boundary or first delimiter */
	MP_W_DEPTH = 1 << 2,	/* nesting past MP_DEPTH_MAX: kept as one part */
	MP_W_PARTS = 1 << 3,	/* parts past MP_PARTS_MAX: left out */
};

struct mp_part {
	unsigned	 index;		/* 1, 2, ... in order of appearance */
	int		 depth;		/* 0: the message itself */
	char		 type[128];	/* lower case; "text/plain" when absent */
	char		 charset[64];	/* as given, "" when absent */
	char		 cte[32];	/* lower case; "" when absent (7bit) */
	int		 attachment;	/* Content-Disposition: attachment */
	char		 filename[MP_NAME_MAX + 1];	/* decoded, "" none: not
					 * yet safe as a path (sanitize it) */
	const char	*hdr;		/* the part's header block (borrowed */
	size_t		 hlen;		/* from the message) */
	const char	*body;		/* its raw body (borrowed) */
	size_t		 blen;
};

/* mp_part_fn - called once per leaf part; 0 goes on, -1 stops mp_parse. */
typedef int	mp_part_fn(void *ctx, const struct mp_part *p);

/*
 * mp_parse - walk MSG (LEN bytes) and call FN(CTX, part) for each leaf part
 * in order.  *WARN_R gets the enum mp_warn bits of what was malformed.
 * Returns 0, or -1 with *WHY_R (static): "header block longer than N
 * bytes", or "stopped" when FN returned -1.
 */
int	mp_parse(const char *msg, size_t len, mp_part_fn *fn, void *ctx,
	    unsigned *warn_r, const char **why_r);

/*
 * mp_header_split - the header block of MSG (LEN bytes): its length
 * (without the empty line) in *HLEN_R and where the body starts in
 * *BODY_R.  A message without an empty line is all header.  0, or -1 when
 * the header block is longer than MP_HEADER_MAX.
 */
int	mp_header_split(const char *msg, size_t len, size_t *hlen_r,
	    size_t *body_r);

/*
 * mp_decode - append P's body, transfer-decoded (base64, quoted-printable;
 * anything else as it is), to OUT.  *BAD_R counts what could not be
 * decoded: characters outside the base64 alphabet, a dangling base64
 * character, an '=' in quoted-printable that starts no escape.  Those are
 * skipped (base64) or kept as they are (quoted-printable).  0, or -1 when
 * OUT's ceiling is reached.
 */
int	mp_decode(const struct mp_part *p, struct buf *out, size_t *bad_r);

/*
 * mp_field - the unfolded value of the first field NAME in the header
 * block HDR (HLEN bytes) into OUT (SIZE bytes, at most MP_FIELD_MAX used;
 * a longer value is cut).  1 found, 0 not.
 */
int	mp_field(const char *hdr, size_t hlen, const char *name, char *out,
	    size_t size);

/*
 * mp_param - the parameter NAME of the structured field value V
 * ("attachment; filename*=utf-8''a%20b.txt"): RFC 2231 continuations
 * (NAME*0, NAME*1 ...) joined, percent-encoding and charset decoded, a
 * plain value's RFC 2047 encoded words decoded; converted to UTF-8 from a
 * charset other than UTF-8 or ASCII when iconv knows it.  Into OUT (SIZE
 * bytes; a longer value is cut at a character).  1 found, 0 not.
 */
int	mp_param(const char *v, const char *name, char *out, size_t size);

/* mp_decode_2047 - IN (N bytes) with its RFC 2047 encoded words decoded
 * to UTF-8 (blanks between two words dropped, a malformed word kept) into
 * OUT (SIZE bytes, cut at a character when full).  The length. */
size_t	mp_decode_2047(const char *in, size_t n, char *out, size_t size);

/*
 * mp_filename_sanitize - NAME (LEN bytes) as a file name that stays in the
 * folder it is created in: '/', '\\' and control characters become '_',
 * leading dots and blanks become '_', trailing blanks and dots go, bytes
 * that are not UTF-8 become '_'; at most MP_SAFE_MAX bytes, cut at a
 * character before the extension (kept when it is short).  Into OUT (SIZE
 * > MP_SAFE_MAX).  The length; 0 when nothing usable is left.
 */
size_t	mp_filename_sanitize(const char *name, size_t len, char *out,
	    size_t size);

/* mp_warn_text - the words for one MP_W_* bit ("multipart without its
 * closing boundary"); static. */
const char *mp_warn_text(unsigned bit);

#endif
