/*
 * mime8 - make a message 7-bit for a peer without 8BITMIME (RFC 6152 §3,
 * RFC 1652 §6: an 8bit message to a server that did not advertise
 * 8BITMIME is converted, or bounced).
 *
 * Every leaf part whose body holds octets above 127 gets
 * "Content-Transfer-Encoding: quoted-printable" (type text that is mostly
 * 7-bit) or "base64" (anything else, or more than a third 8-bit, or NUL
 * bytes), its body encoded to match; the part's other header fields are
 * kept in their order and the new field goes last.  Multipart bodies are
 * walked with their boundaries kept, message/rfc822 bodies (7bit, 8bit or
 * binary) as messages, at most MIME8_DEPTH_MAX levels deep; a part deeper
 * than that is one leaf.  The top-level message (or an embedded one)
 * without a Content-Type is text/plain: when it needs encoding it gets
 * "MIME-Version: 1.0" and "Content-Type: text/plain; charset=utf-8" (or
 * "unknown-8bit" when the body is not UTF-8, RFC 1428).  Octets above 127
 * in a multipart preamble or epilogue (which no reader shows) become '?'.
 * 8-bit octets in header fields are left alone: that needs SMTPUTF8, which
 * the caller decides separately.  A part that is already 7-bit is copied
 * byte for byte, so a 7-bit message comes out identical.
 *
 * Malformed MIME never stops the conversion: a multipart without a
 * boundary parameter, or whose first boundary never comes, is one leaf
 * (base64 when 8-bit); a part cut short by an outer boundary or the end
 * ends there; a missing close delimiter is not added.
 *
 * Bounded memory: the message is streamed, never loaded whole.  A leaf's
 * body is read twice (a scan to choose the encoding, then the copy), a
 * multipart's preamble once more to find its first boundary; only one
 * header block (MIME8_HEADER_MAX) and the boundaries of the open levels are
 * held.
 *
 * Line ends are LF, as in the queue file (SMTP's CRLF is the caller's).
 * In base64 a line end of the content is encoded as CRLF (the canonical
 * form, RFC 2045 §6.8).
 *
 * Never: allocate per part, recurse deeper than MIME8_DEPTH_MAX, or write a
 * line longer than 76 characters of its own (lines copied unchanged are
 * the sender's).
 */
#ifndef YUBIN_MIME8_H
#define YUBIN_MIME8_H

#include <stddef.h>

#define MIME8_DEPTH_MAX		16	/* nested multiparts/messages walked; real mail uses 3-4 */
#define MIME8_HEADER_MAX	(64 * 1024)	/* one part's header block */
#define MIME8_BOUNDARY_MAX	200	/* RFC 2046 allows 70; more is not a boundary */

/*
 * mime8_downgrade - read the message in IN_FD from offset 0 (it must be
 * seekable: a queue file) to its end, and write the 7-bit form to OUT_FD at
 * its current offset.  IN_FD's offset is left undefined.  Returns 0, or -1
 * with a message in ERR (ERRSIZE bytes, always terminated):
 *   "read: <strerror>", "write: <strerror>",
 *   "a header block longer than 65536 bytes at offset N" (a part whose
 *   header never ends cannot be given a new field; refuse, do not guess).
 * On -1 OUT_FD may hold part of the output: write to a scratch file.
 */
int	mime8_downgrade(int in_fd, int out_fd, char *err, size_t errsize);

#endif
