/*
 * backup - the settings backup file of "yubinctl backup" and "yubinctl
 * restore" (DESIGN §5, F150): its format, a writer and a checking reader.
 *
 * The file, binary safe:
 *
 *	yubin-backup 1\n
 *	KIND NAME MODE EXPIRES LEN\n  LEN bytes  \n	(one per record)
 *	end SHA256\n
 *
 * KIND is one of backup_kind_name[]; NAME a token of printable ASCII
 * without blanks (a path, an account name, or an LMDB key in lower-case
 * hex); MODE the file's permission bits in octal; EXPIRES an LMDB entry's
 * expiry (unix seconds, 0 never); SHA256 the lower-case hex SHA-256 of
 * every byte before "end".  A reader refuses a newer version, a file cut
 * short or altered (the checksum), and any record whose NAME could reach
 * outside its place (an absolute path, "..", a bad account name, a file
 * name an account folder does not hold) before its caller writes anything.
 * Must never: hand a caller a record it has not checked.
 */
#ifndef YUBIN_BACKUP_H
#define YUBIN_BACKUP_H

#include <stddef.h>

#define BACKUP_MAGIC		"yubin-backup"
#define BACKUP_VERSION		1
#define BACKUP_NAME_MAX		1024	/* a CONFDIR path or a hex LMDB key */
#define BACKUP_ONE_MAX		(16 * 1024 * 1024)	/* one file: no rule
					 * file or key comes near */
#define BACKUP_FILE_MAX		(1024LL * 1024 * 1024)	/* the whole file */
#define BACKUP_RECORDS_MAX	2000000	/* 100000 accounts with their files */
#define BACKUP_ETC_DEPTH	2	/* CONFDIR/FILE and CONFDIR/DIR/FILE */

enum backup_kind {
	BACKUP_CONF,		/* the yubin.conf in use (NAME "yubin.conf") */
	BACKUP_ETC,		/* a file under CONFDIR, NAME relative to it */
	BACKUP_ACCOUNT,		/* an account's store record, NAME its name */
	BACKUP_FILE,		/* a per-account file, NAME "ACCOUNT/FILE" */
	BACKUP_META,		/* a STORE_META entry (run-time blocks) */
	BACKUP_PLUGIN,		/* a STORE_PLUGIN entry (list state) */
	BACKUP_NKINDS
};

extern const char *const backup_kind_name[BACKUP_NKINDS];

/* one checked record; pointers borrowed from its struct backup */
struct backup_rec {
	enum backup_kind kind;
	const char	*name;		/* NUL-terminated */
	unsigned	 mode;		/* & 0777 */
	long long	 expires;
	const unsigned char *data;
	size_t		 len;
	unsigned char	*key;		/* META, PLUGIN: NAME decoded */
	size_t		 klen;
};

struct backup {
	char		  *raw;		/* owned: the file */
	size_t		   rawlen;
	struct backup_rec *rec;		/* owned */
	size_t		   n;
};

/*
 * backup_read - read and check the whole of PATH into B.  0, or -1 with
 * one line saying why in WHY (SIZE bytes; without PATH), B then empty.
 * Release with backup_free.
 */
int	backup_read(const char *path, struct backup *b, char *why, size_t size);
void	backup_free(struct backup *b);

/* backup_account_file_ok - 1 when NAME is a file an account folder keeps
 * settings in (config.def, exec.def, exec2.def .. exec99.def, ...). */
int	backup_account_file_ok(const char *name);
/* the fixed names among them (exec2..exec99.def aside), NULL-terminated */
extern const char *const backup_account_files[];
/* backup_etc_name_ok - 1 when NAME is a path under CONFDIR a restore may
 * write: relative, at most BACKUP_ETC_DEPTH components of [A-Za-z0-9._+@-],
 * none empty, "." or "..", none starting with '.'. */
int	backup_etc_name_ok(const char *name);

/*
 * The writer: backup_create opens PATH.tmp (mode 0600, O_NOFOLLOW, an old
 * one replaced) and writes the header; backup_add appends a record;
 * backup_finish writes the checksum, fsyncs, renames over PATH and fsyncs
 * its folder; backup_abort removes PATH.tmp.  0, or -1 (errno) for each.
 * W->fd is the scratch file's (for an fstat that keeps it out of itself).
 */
struct backup_writer {
	int	 fd;
	char	*path;
	char	*tmp;
	void	*md;		/* EVP_MD_CTX */
	size_t	 n;		/* records written */
};
int	backup_create(struct backup_writer *w, const char *path);
int	backup_add(struct backup_writer *w, enum backup_kind kind,
	    const char *name, unsigned mode, long long expires,
	    const void *data, size_t len);
/* backup_add_key - backup_add with NAME the hex of KEY (KLEN bytes). */
int	backup_add_key(struct backup_writer *w, enum backup_kind kind,
	    const void *key, size_t klen, long long expires, const void *data,
	    size_t len);
int	backup_finish(struct backup_writer *w);
void	backup_abort(struct backup_writer *w);

#endif
