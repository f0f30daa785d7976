/*
 * log - one line per event: timestamp, program/role[pid], then the message,
 * which by convention starts with the queue id (or NOQUEUE) and continues
 * with key=value fields.
 *
 * Destinations: stderr (foreground), a file under HOME/log (appended,
 * O_APPEND so every process of the tree can share it; past log_size_max it
 * is renamed to FILE.1 and a new one started), or syslog.  log_reopen()
 * follows SIGUSR1.  A line that cannot be written (disk full, permission)
 * is lost, and said once, to syslog or, in the foreground, stderr, until
 * a line is written again.
 * Network bytes must be escaped by the caller with str_escape() before they
 * reach a log line.
 */
#ifndef YUBIN_LOG_H
#define YUBIN_LOG_H

#include <stdarg.h>
#include <sys/types.h>

enum log_level {
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERR,
	LOG_LVL_FATAL,
};

/*
 * The kinds of event a switch turns on or off (server.log_kinds, the
 * E-Post logs of SEEDS §23.2); a line of a kind carries "kind=NAME" after
 * its other fields.  Lines of no kind are always written.
 */
enum log_kind {
	LOG_KIND_RECEIVE,	/* a message accepted (receive log) */
	LOG_KIND_SEND,		/* a message handed to an external host */
	LOG_KIND_CONNECTION,	/* a client's MAIL FROM attempt */
	LOG_KIND_DELIVERY,	/* the delivery agents' detail */
	LOG_KIND_FAILURE,	/* a recipient that could not be delivered */
	LOG_NKINDS
};
#define LOG_KINDS_ALL	((1u << LOG_NKINDS) - 1)
extern const char *const log_kind_name[LOG_NKINDS];

enum log_dest {
	LOG_DEST_STDERR,
	LOG_DEST_FILE,
	LOG_DEST_SYSLOG,
};

/*
 * log_open - set destination and identity.  PATH is the log file for
 * LOG_DEST_FILE (copied).  MAXSIZE > 0 rotates the file once it grows past it.
 * The file is opened as log.c's header says (never through a link).
 * Returns 0, or -1 (errno) if the file cannot be opened or is refused
 * (logging then goes to stderr).
 */
int	log_open(enum log_dest dest, const char *path, long long maxsize);
/*
 * log_set_owner - the server user: the log folder and file must belong to
 * it (or to root), and a file root creates is given to it.  Call before
 * log_open; until then the effective uid is expected.
 */
void	log_set_owner(uid_t uid, gid_t gid);
/* log_role - the role shown after the program name: "master", "smtp", ... */
void	log_role(const char *role);
/* log_reopen - reopen the file (SIGUSR1, after rotation). */
void	log_reopen(void);
/* log_reopen_request - async-signal-safe: reopen before the next line
 * (the children's SIGUSR1).  A renamed file is also noticed at the next
 * line without it. */
void	log_reopen_request(void);
void	log_set_debug(int on);
/* log_set_kinds - the kinds written: bit (1 << kind) on (LOG_KINDS_ALL at
 * start).  log_kinds_parse - the mask of the kind NAMES (N of them): 0,
 * or -1 for a name that is no kind. */
void	log_set_kinds(unsigned mask);
int	log_kinds_parse(char *const *names, size_t n, unsigned *mask_r);
/* log_kind_on - 1 when lines of KIND are written. */
int	log_kind_on(enum log_kind kind);
/*
 * log_set_foreground - under yubind -f: a warning that the log cannot be
 * written goes to stderr (else to syslog), and with MAXSIZE > 0 a stderr
 * that is a regular file is cleared once it grows past it (the seed's
 * log_size_max rule: cleared, not rotated; a rotating tool outside copes).
 */
void	log_set_foreground(int on, long long maxsize);
void	log_close(void);

void	log_msg(enum log_level lvl, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* log_kmsg - log_msg for an event of KIND: nothing when the kind is
 * switched off, else the line with " kind=NAME" appended. */
void	log_kmsg(enum log_kind kind, enum log_level lvl, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
/* log_fatal - broken environment: log and exit(2).  Never for bad input. */
void	log_fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* log_panic - our own bug: log and abort(). */
void	log_panic(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
