/*
 * buf - growable, binary-safe byte buffer with a hard ceiling.
 *
 * A struct buf keeps data, length and capacity, plus a ceiling that no append
 * may cross: an append that would pass it fails with -1 and leaves the buffer
 * as it was, so the caller can answer with a protocol error instead of growing
 * without bound.  The data is always NUL-terminated (the NUL is not counted in
 * len), so a buffer of text can be handed to string functions.  Out of memory
 * is fatal (xmalloc).  Buffers are passed by pointer; growth never moves the
 * caller's handle.
 */
#ifndef YUBIN_BUF_H
#define YUBIN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;		/* owned; NUL-terminated; NULL until first use */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* ceiling on len; 0 = SIZE_MAX / 2 */
};

/* buf_init - empty buffer that may grow to MAX bytes (0: no ceiling). */
void	buf_init(struct buf *b, size_t max);
/* buf_free - release the data; the buffer is empty and reusable after it. */
void	buf_free(struct buf *b);
/* buf_reset - length 0, keep the memory. */
void	buf_reset(struct buf *b);
/* buf_append - add LEN bytes.  0, or -1 (nothing added) past the ceiling. */
int	buf_append(struct buf *b, const void *p, size_t len);
int	buf_puts(struct buf *b, const char *s);
int	buf_putc(struct buf *b, int c);
/* buf_printf - formatted append; 0 or -1 past the ceiling (nothing added). */
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* buf_consume - drop the first N bytes (N <= len). */
void	buf_consume(struct buf *b, size_t n);
/* buf_cstr - the data as a string ("" when empty); borrowed. */
const char *buf_cstr(const struct buf *b);
/* buf_steal - hand the data to the caller (free() it); the buffer is empty. */
char	*buf_steal(struct buf *b);

#endif
