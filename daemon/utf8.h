/*
 * utf8 - the one UTF-8 validity check of the daemon, the tools and (through
 * yh_utf8_valid) the plugins.  A file of its own, without dependencies, so
 * the fuzz target can be built with it.
 */
#ifndef YUBIN_UTF8_H
#define YUBIN_UTF8_H

#include <stddef.h>

/*
 * utf8_valid - 1 when P[0..LEN) is well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF; a sequence cut at
 * the end is invalid), else 0.  ASCII runs are checked 8 bytes at a time.
 */
int	utf8_valid(const void *p, size_t len);

#endif
