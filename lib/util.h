/*
 * util - small helpers every module uses: allocation that dies on out of
 * memory, error lists for parsers, checked string copies, whole-file I/O with
 * durability.
 *
 * Out of memory in a worker is fatal by design (the master forks another);
 * the x-wrappers call log_fatal.  Nothing here parses network input.
 */
#ifndef YUBIN_UTIL_H
#define YUBIN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;

void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * errlist - the problems a parser found, one "file:line: message" each, so one
 * run reports every bad line.  Bounded: past ERRLIST_MAX entries the rest are
 * counted, not kept.
 */
#define ERRLIST_MAX	200	/* enough to show any real file's problems */
struct errlist {
	char	**msg;		/* owned */
	size_t	  n;		/* kept */
	size_t	  dropped;	/* counted past ERRLIST_MAX */
};
void	errlist_init(struct errlist *e);
void	errlist_add(struct errlist *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
size_t	errlist_count(const struct errlist *e);
/* errlist_print - one message per line to FD-less stdio stream F. */
void	errlist_print(const struct errlist *e, void *f /* FILE * */);
void	errlist_free(struct errlist *e);

/* str_copy - copy SRC into DST of SIZE bytes; -1 (DST set to "") if too long. */
int	str_copy(char *dst, size_t size, const char *src);
/* str_lower - ASCII lower-case in place; returns S. */
char	*str_lower(char *s);
/* str_trim - strip ASCII white space at both ends, in place; returns start. */
char	*str_trim(char *s);
/* str_casesuffix - 1 if S ends with SUFFIX (ASCII case-insensitive). */
int	str_casesuffix(const char *s, const char *suffix);
/*
 * header_is_hop - 1 when the header line LINE (LEN bytes, no line end) starts
 * a trace field the hop limit counts (smtp.max_hops, DESIGN §10):
 * "Received:" or "Delivered-To:", any case, blanks allowed before the colon
 * (RFC 5322 obsolete syntax).  A continuation line is never one.
 */
int	header_is_hop(const char *line, size_t len);
/* header_hops - the trace fields header_is_hop counts in the header section
 * of the message MSG (LEN bytes, LF or CRLF line ends). */
size_t	header_hops(const char *msg, size_t len);
/* str_escape - printable copy of untrusted bytes for logs: CR, LF, control
 * bytes and non-ASCII as \xNN, at most MAX input bytes (then "...").
 * Writes into OUT (SIZE bytes, always terminated); returns OUT. */
char	*str_escape(char *out, size_t size, const char *in, size_t len);

/* write_all - write LEN bytes, retrying short writes and EINTR; 0 or -1. */
int	write_all(int fd, const void *p, size_t len);
/* pwrite_all - the same at offset OFF (the file offset does not move). */
int	pwrite_all(int fd, const void *p, size_t len, off_t off);
/* read_all - read up to SIZE bytes or EOF; bytes read or -1. */
ssize_t	read_all(int fd, void *p, size_t size);
/* fsync_dir - fsync the directory PATH (after create/rename/unlink in it). */
int	fsync_dir(const char *path);
/* fsync_parent - fsync the directory that holds PATH. */
int	fsync_parent(const char *path);
/*
 * file_write_atomic - write DATA to PATH durably: a scratch file with a
 * random name beside it (created O_EXCL|O_NOFOLLOW, so a planted link is
 * never followed or truncated), fsync, rename, fsync the directory.  MODE
 * for the new file.  0 or -1 (errno set).
 * file_write_atomicat - the same for NAME (no '/') in the directory DFD,
 * for a caller that opened and checked that directory (dir_open_verified):
 * create, rename and fsync all go through DFD.
 */
int	file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
int	file_write_atomicat(int dfd, const char *name, const void *data,
	    size_t len, mode_t mode);
/*
 * file_tmpat - create a scratch file for NAME in DFD: a random name
 * (".NAME.tmp.HEX", written into TMP of SIZE bytes), O_EXCL|O_NOFOLLOW, open
 * read-write.  The fd, or -1 (errno).  The caller renames or unlinks it.
 */
int	file_tmpat(int dfd, const char *name, mode_t mode, char *tmp, size_t size);
/*
 * dir_open_verified - open the folder PATH for a process that may run as
 * root in a tree another user can write: PATH's last component must not be
 * a symbolic link (ELOOP/ENOTDIR), and the folder must be owned by root or
 * OWNER ((uid_t)-1: the effective uid) and not writable by others (EPERM).
 * The fd (O_CLOEXEC), or -1 (errno).
 */
int	dir_open_verified(const char *path, uid_t owner);
/* file_read - whole file into a new NUL-terminated string (at most MAX bytes).
 * Returns 0 (*data_r owned, *len_r set), -1 errno set (EFBIG past MAX). */
int	file_read(const char *path, size_t max, char **data_r, size_t *len_r);
/* mkdir_p - create PATH and its parents with MODE; 0 or -1. */
int	mkdir_p(const char *path, mode_t mode);

/*
 * Base64, RFC 4648 §4 (standard alphabet, padding, no line breaks).  The
 * decoders are strict: whole 4-character quanta, the alphabet only, '='
 * only as the last one or two characters, no white space, and zero bits
 * under the padding (so each byte string has exactly one encoding).
 *
 * b64_encode - append the encoding of P (LEN bytes) to OUT (grown).  0, or
 *   -1 past OUT's ceiling (nothing appended).
 * b64_decode - append the bytes S (LEN characters) encodes to OUT.  0, or
 *   -1 invalid or past OUT's ceiling (nothing appended).
 * b64_decode_mem - decode S (LEN characters) into OUT (SIZE bytes): the
 *   byte count (0 for ""), or -1 invalid or longer than SIZE (OUT may then
 *   hold part of the bytes).
 */
/* b64_value - the 6-bit value of base64 character CH, or -1 (lenient
 * decoders of mail bodies skip those characters). */
int	b64_value(unsigned char ch);
int	b64_encode(const void *p, size_t len, struct buf *out);
int	b64_decode(const char *s, size_t len, struct buf *out);
ssize_t	b64_decode_mem(const char *s, size_t len, unsigned char *out, size_t size);

/*
 * hostport_parse - "IPV4:PORT" or "[IPV6]:PORT", numeric only, PORT 0-65535,
 * into HOST (HSIZE bytes, the address without brackets) and *PORT_R.  0, or
 * -1 with a reason in WHY (WHYSIZE bytes).
 */
int	hostport_parse(const char *text, char *host, size_t hsize, int *port_r,
	    char *why, size_t whysize);

/* now_ms - monotonic milliseconds, for timeouts. */
long long now_ms(void);
/* time_now - wall-clock seconds; tests may shift it with YUBIN_TEST_CLOCK_OFFSET
 * in the environment (seconds added), never in production config. */
long long time_now(void);

#endif
