/*
 * utf8 - what a text is written in: the one UTF-8 validity check and the
 * one charset guess (UTF-8, ISO-2022-JP, Shift_JIS) of the daemon, the
 * tools and (through yh_utf8_valid and yh_text_charset) the plugins.  A file
 * of its own, without dependencies, so the fuzz target can be built with it.
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

enum text_cs { TEXT_ASCII, TEXT_UTF8, TEXT_JIS, TEXT_SJIS, TEXT_UNKNOWN };
/*
 * text_charset - the charset of a user's text (a reply text, a subject and
 * body file), as the seeds' tools accept it: no octet above 127 is ASCII,
 * or ISO-2022-JP when an ESC $ / ESC ( sequence occurs; else UTF-8 when
 * well-formed, else Shift_JIS when every byte pair is one, else unknown.
 */
enum text_cs text_charset(const void *p, size_t len);

/* text_charset_name - the MIME charset name of CS ("US-ASCII", "UTF-8",
 * "ISO-2022-JP", "Shift_JIS"; "unknown-8bit" for TEXT_UNKNOWN). */
const char *text_charset_name(enum text_cs cs);

#endif
