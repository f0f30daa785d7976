/*
 * log - one line per event: timestamp, program/role[pid], then the message,
 * which by convention starts with the queue id (or NOQUEUE) and continues
 * with key=value fields.
 *
 * Destinations: stderr (foreground), a file under HOME/log (appended,
 * O_APPEND so every process of the tree can share it; past log_size_max it
 * is renamed to FILE.1 and a new one started), or syslog.  log_reopen() follows SIGUSR1.
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
void	log_close(void);

void	log_msg(enum log_level lvl, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
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
