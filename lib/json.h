/*
 * json - writing JSON text (RFC 8259) for the tools' machine-readable
 * output (yubinctl queue list --json).  Only output: nothing here parses.
 */
#ifndef YUBIN_JSON_H
#define YUBIN_JSON_H

#include "buf.h"

/*
 * json_str - S as a JSON string, quotes included, appended to OUT.  '"',
 * '\' and every control character (below 0x20, and 0x7f) are escaped;
 * well-formed UTF-8 is kept as it is; a byte that begins no well-formed
 * sequence becomes U+FFFD, so the output is always valid UTF-8 and valid
 * JSON whatever S holds.  NULL is written as null.  0, or -1 when OUT is
 * at its ceiling.
 */
int	json_str(struct buf *out, const char *s);

#endif
