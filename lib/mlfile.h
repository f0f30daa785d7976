/*
 * mlfile - the files of a mailing-list account (DESIGN.md §11, SEEDS.md
 * §2.5, §18): the member file ml_member.csv and the list definition
 * ml.def, both in the list account's folder HOME/mailbox/LIST/.
 *
 * Self-contained: libc only, no other module of lib/ (no logging, no
 * x-wrappers), so that the list plugin can compile it in beside
 * hooks/yubin/hook.h.  Errors are returned as text ("FILE:LINE: message"
 * for a file's lines) in a struct ml_errs; out of memory is an error, never
 * an abort.
 *
 * Files are reached only through a folder fd the caller opened and checked
 * (openat with O_NOFOLLOW, a regular file with one link), so that a
 * privileged caller never follows a link the server user planted; they
 * are replaced atomically (a scratch file with a random name in the same
 * folder, fsync, renameat, fsync of the folder).  Whoever rewrites either
 * file holds an exclusive flock() on the folder fd (ml_lock) from the read
 * to the rename, so yubinctl and the list plugin never lose each other's
 * change.
 *
 * ml_member.csv: one member a line, "#" comment lines (leading blanks
 * allowed) and blank lines; a line is one of
 *     Name <addr>        "Quoted \"Name\"" <addr>        <addr>        addr
 * with blanks around the parts ignored and a CR before the LF dropped (a
 * UTF-8 byte-order mark before the first line is skipped).  Nothing may
 * follow the address: no trailing comment, no second field (the name "csv"
 * is the seed's; there is no per-member state in the file, what the list
 * learns about a member — bounces, pending confirmations — lives in the
 * plugin's LMDB space under "LIST/").  An address has exactly one '@', a
 * non-empty local part (at most ML_LOCAL_MAX bytes) and a domain of
 * non-empty dot-separated labels, at most ML_ADDR_MAX bytes in all, and
 * no blank, control byte or any of < > " ( ) , ; \ in it.  Two members
 * are the same when their local parts are equal byte for byte and their
 * domains equal ignoring ASCII case.  Rewriting keeps every comment,
 * blank line and member line as it was; removed members' lines go, added
 * members are appended in canonical form ("Name <addr>", the name quoted
 * when it needs it, or the bare addr).
 *
 * ml.def: "key=value" lines as config.def (blanks around key and value
 * dropped; "#" and "//" comment lines); the keys are ml_keys[] below.
 */
#ifndef YUBIN_MLFILE_H
#define YUBIN_MLFILE_H

#include <stddef.h>
#include <sys/types.h>

#define ML_PLUGIN_NAME	"ml"	/* the list plugin: its LMDB space holds a
				 * list's state under keys "LIST/..." (LIST
				 * the account name), which "yubinctl ml
				 * remove" deletes with the list */
#define ML_MEMBER_FILE	"ml_member.csv"
#define ML_DEF_FILE	"ml.def"
#define ML_ARCHIVE_DIR	"archive"	/* saved posts (save_posts), one file */
#define ML_ARCHIVE_FMT	"%06lld"	/* a post, named by its number */
#define ML_FILE_MODE	0600	/* members are personal data; ml.def may hold
				 * the post password */

#define ML_ADDR_MAX	254	/* RFC 5321 path limit less the brackets */
#define ML_LOCAL_MAX	64	/* RFC 5321 §4.5.3.1.1 */
#define ML_LINE_MAX	1000	/* RFC 5322's line limit: a name and an address
				 * fit many times over */
#define ML_MEMBERS_MAX	1000000	/* members of one list: about 100 MB in memory,
				 * far beyond any list one server distributes to */
#define ML_FILE_MAX	((size_t)ML_MEMBERS_MAX * 128)	/* bytes of ml_member.csv */
#define ML_DEF_LINE_MAX	4096	/* a line of ml.def */
#define ML_DEF_FILE_MAX	(256 * 1024)	/* bytes of ml.def */
#define ML_ERRS_MAX	100	/* messages kept; more are counted */
#define ML_MSG_MAX	512	/* bytes of one reason (a message's text
				 * after "FILE:LINE: "; paths are not cut) */

/* ml_errs - messages ("FILE:LINE: message"), each owned. */
struct ml_errs {
	char	**msg;
	size_t	  n;
	size_t	  dropped;	/* past ML_ERRS_MAX (or no memory for them) */
};
void	ml_errs_init(struct ml_errs *e);
void	ml_errs_add(struct ml_errs *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* ml_errs_count - kept + dropped. */
size_t	ml_errs_count(const struct ml_errs *e);
void	ml_errs_free(struct ml_errs *e);

/*
 * ml_addr_check - 1 when ADDR (NUL-terminated) is a member address as
 * described above, 0 not, with the reason in *why_r (static).
 */
int	ml_addr_check(const char *addr, const char **why_r);

/*
 * The list's own addresses besides NAME@DOMAIN (DESIGN §11): NAME-request
 * (commands), NAME-owner (the admin), NAME-bounces and, in VERP form,
 * NAME-bounces+LOCAL=DOMAIN (bounces of list mail).
 */
#define ML_ROLES	3
extern const char *const ml_roles[ML_ROLES];	/* "request", "owner", "bounces" */
/*
 * ml_addr_role - when the local part LOCAL is one of a list's own
 * addresses, the list's name into BASE (SIZE bytes) and the role (an entry
 * of ml_roles); NULL otherwise (also when BASE would be empty or not fit).
 * Whether BASE names a list is the caller's question.
 */
const char *ml_addr_role(const char *local, char *base, size_t size);

/*
 * ml_member_parse - one member line LINE (LEN bytes, no LF; a trailing CR is
 * dropped) into NAME (display name, "" for none; NAMESIZE bytes) and ADDR
 * (ADDRSIZE bytes, at least ML_ADDR_MAX + 1).  1 a member, 0 a comment or
 * blank line, -1 malformed with the reason in WHY (WHYSIZE bytes).
 * Names are at most ML_LINE_MAX bytes, so NAMESIZE ML_LINE_MAX + 1 always
 * fits; a smaller one makes a longer name an error.
 */
int	ml_member_parse(const char *line, size_t len, char *name,
	    size_t namesize, char *addr, size_t addrsize, char *why,
	    size_t whysize);

/* one line of ml_member.csv */
struct ml_entry {
	char		*raw;	/* the line as read (no line end); NULL for a
				 * member added since: written canonically */
	char		*name;	/* display name ("" none); NULL: comment/blank */
	char		*addr;	/* NULL: comment or blank line */
	unsigned	 line;	/* in the file read; 0 for an added member */
	unsigned char	 gone;	/* removed: not written, not found */
};

struct ml_list {
	struct ml_entry	*v;	/* owned, with every string in it */
	size_t		 n, cap;
	size_t		 members;	/* entries with addr and not gone */
	size_t		*slot;	/* hash set of member entries: index + 1 */
	size_t		 nslot;	/* power of two, or 0 */
};

void	ml_list_init(struct ml_list *l);
void	ml_list_free(struct ml_list *l);
/*
 * ml_list_parse - DATA (LEN bytes) as ml_member.csv into L (empty, from
 * ml_list_init), the messages naming PATH.  Every bad line is reported
 * ("PATH:LINE: message"): over-long (more than ML_LINE_MAX bytes), a NUL
 * byte, a malformed line, a duplicate ("duplicate member ADDR (also line
 * N)"), more than ML_MEMBERS_MAX members (reading stops).  0, or -1 when
 * anything was reported (L then holds the good lines; free it).
 */
int	ml_list_parse(struct ml_list *l, const char *path, const char *data,
	    size_t len, struct ml_errs *errs);
/*
 * ml_list_load - ml_member.csv in the folder DFD into L (as ml_list_parse;
 * PATH is the name messages give the file).  A missing file is an empty
 * list.  The file must be a regular file with one link, opened without
 * following a link, at most ML_FILE_MAX bytes.  0 or -1 (reported).
 */
int	ml_list_load(struct ml_list *l, int dfd, const char *path,
	    struct ml_errs *errs);
/* ml_list_find - the index in L->v of the member ADDR (compared as above),
 * or -1. */
long	ml_list_find(const struct ml_list *l, const char *addr);
/*
 * ml_list_add - append NAME ("" or NULL: none) <ADDR>.  1 added, 0 already
 * a member (nothing changed), -1 with the reason in *why_r (static): a bad
 * address or name, the list full, out of memory.
 */
int	ml_list_add(struct ml_list *l, const char *name, const char *addr,
	    const char **why_r);
/* ml_list_del - remove the member ADDR: 1 removed, 0 not a member. */
int	ml_list_del(struct ml_list *l, const char *addr);
/*
 * ml_list_format - L as the text of ml_member.csv (COMMENTS 1: comments,
 * blank lines and members' lines as read; 0: members only, canonical
 * form, as an export).  *data_r owned (free()), *len_r its length.  0, or
 * -1 out of memory.
 */
int	ml_list_format(const struct ml_list *l, int comments, char **data_r,
	    size_t *len_r);
/* ml_member_format - canonical line of NAME and ADDR (no LF) into OUT
 * (SIZE bytes): 0, or -1 when it does not fit. */
int	ml_member_format(const char *name, const char *addr, char *out,
	    size_t size);

/*
 * ml.def keys.  Those marked ML_SERVER override the [server] key of the
 * same name: unset, the server's value applies (the seed's defaults are
 * given for a reader without the server configuration).
 */
enum ml_type {
	ML_T_INT,	/* decimal, min..max */
	ML_T_BOOL,	/* 1/0, true/false, yes/no, on/off */
	ML_T_TEXT,	/* printable (UTF-8 allowed), at most max bytes */
	ML_T_ADDR,	/* a member address (ml_addr_check) or "" */
	ML_T_DOMAIN,	/* a host name or "" */
	ML_T_WORD,	/* one of words[] (ASCII case-insensitive) */
	ML_T_FORMAT,	/* subject tag: text with at most one %0Nd (N 1-9) or
			 * %d; %% a percent sign; no other % */
	ML_T_REPORT,	/* error_report: admin, sender, none or an address */
	ML_T_SECRET,	/* as TEXT; "ml show" does not print it */
};

#define ML_SERVER	0x01

struct ml_key {
	const char	*name;
	enum ml_type	 type;
	const char	*def;		/* default in the file's syntax */
	long long	 min, max;	/* INT: range; TEXT, SECRET: max bytes */
	unsigned	 flags;
	const char *const *words;	/* WORD */
	const char	*help;		/* one line for "ml show" readers */
};

enum ml_key_id {
	ML_COUNT,
	ML_NAME,
	ML_DOMAIN,
	ML_ADMIN,
	ML_RETURN_PATH,
	ML_FROM_KIND,
	ML_TO_KIND,
	ML_HEADER_X,
	ML_PUBLIC_LEVEL,
	ML_SUBJECT_HEADER,
	ML_FILTER_STRING,
	ML_SUBJECT_FORMAT,
	ML_POST_PASSWORD,
	ML_REPLY_TO,
	ML_LIST_HEADERS,
	ML_SAVE_POSTS,
	ML_ERROR_REPORT,
	ML_MANAGER,
	ML_FORWARD_JOIN,
	ML_FORWARD_LEAVE,
	ML_KEYGEN_MINUTES,
	ML_SILENT,
	ML_PACKING,
	ML_SPLIT,
	ML_CONFIRM,
	ML_BOUNCE_LIMIT,
	ML_PROGRAM,
	ML_MAX_SIZE,
	ML_NKEYS
};

extern const struct ml_key ml_keys[ML_NKEYS];

/* one parsed ml.def */
struct ml_def {
	long long	 num[ML_NKEYS];		/* INT, BOOL */
	char		*str[ML_NKEYS];		/* other types: owned, never NULL
						 * after a successful parse */
	unsigned	 line[ML_NKEYS];	/* line that set it; 0: default */
};

/* ml_key_find - the id of the key NAME, or -1. */
int	ml_key_find(const char *name);
/*
 * ml_value_check - VALUE as a value of key ID: 0 (with the number in
 * *num_r for INT and BOOL, may be NULL), or -1 with the reason (without
 * the key's name) in WHY (WHYSIZE bytes).
 */
int	ml_value_check(int id, const char *value, long long *num_r, char *why,
	    size_t whysize);
/* ml_def_init - every key at its default (0, or -1 out of memory). */
int	ml_def_init(struct ml_def *d);
void	ml_def_free(struct ml_def *d);
/*
 * ml_def_parse - DATA (LEN bytes) as ml.def over the defaults in D (from
 * ml_def_init), messages naming PATH: "PATH:LINE: message" for a line
 * without '=', an unknown key, a key given twice, a bad value, an
 * over-long line or a NUL byte.  0, or -1 when anything was reported.
 */
int	ml_def_parse(struct ml_def *d, const char *path, const char *data,
	    size_t len, struct ml_errs *errs);
/* ml_def_load - ml.def in the folder DFD (as ml_list_load; a missing file
 * is an error: no ml.def, no list).  0 or -1 (reported). */
int	ml_def_load(struct ml_def *d, int dfd, const char *path,
	    struct ml_errs *errs);
/*
 * ml_def_edit - the text of ml.def DATA (LEN bytes) with KEY set to VALUE:
 * the first line of KEY gets "KEY=VALUE", later ones go, a key not there
 * is appended; VALUE "" removes KEY's lines (back to the default).  Other
 * lines are kept as they are.  *out_r owned (free()).  0, or -1 when KEY is
 * unknown or VALUE bad (reason in WHY, WHYSIZE bytes) or out of memory.
 */
int	ml_def_edit(const char *data, size_t len, const char *key,
	    const char *value, char **out_r, size_t *len_r, char *why,
	    size_t whysize);

/*
 * ml_file_read - NAME in DFD into a new NUL-terminated buffer (*data_r,
 * owned), at most MAX bytes; a regular file with one link, never through a
 * link.  0; 1 when it does not exist (*data_r NULL); -1 with the reason in
 * WHY (WHYSIZE bytes).
 */
int	ml_file_read(int dfd, const char *name, size_t max, char **data_r,
	    size_t *len_r, char *why, size_t whysize);
/*
 * ml_file_write - replace NAME in DFD by DATA (LEN bytes) atomically and
 * durably: a scratch file ".NAME.RANDOM" created O_EXCL|O_NOFOLLOW with
 * MODE, given to UID/GID unless they are -1, written, fsynced, renamed over
 * NAME, then the folder fsynced.  0, or -1 with the reason in WHY (the
 * scratch file removed).
 */
int	ml_file_write(int dfd, const char *name, const void *data, size_t len,
	    mode_t mode, uid_t uid, gid_t gid, char *why, size_t whysize);
/* ml_lock - exclusive flock on the folder DFD (blocking): 0 or -1 (errno).
 * Released by closing DFD. */
int	ml_lock(int dfd);

#endif
