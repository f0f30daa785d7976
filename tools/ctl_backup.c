/*
 * ctl_backup.c - "yubinctl backup FILE" and "yubinctl restore FILE
 * [--force]" (DESIGN §5, F150): every setting in one file (lib/backup.h):
 * the yubin.conf in use, the files of CONFDIR (rule files, dkim/ keys,
 * certificates kept there), the accounts with their hashes and flags, the
 * settings files of each account folder (never the Maildir), the list
 * plugin's state and the run-time blocks in LMDB.
 *
 * Runs as the invoking user (root or the server user).  Account folders
 * belong to the server user, who could plant links there: they are opened
 * from a checked mailbox root without following a link, a file is read
 * only when it is a regular file with one link, and restore writes one
 * through a scratch file made O_EXCL|O_NOFOLLOW, given its owner and mode
 * before it is renamed into place.  Restore reads and checks the whole
 * backup (checksum, version, every name) and refuses a running yubind and
 * a home in use (unless --force) before it writes anything.
 * Must never: follow a link in a folder the server user can write, write
 * a path taken from the backup that is absolute, holds "..", or is no
 * account's settings file, or leave a half-written backup under FILE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "backup.h"
#include "ctl.h"
#include "mlfile.h"
#include "paths.h"
#include "util.h"

#define BK_DIR_MODE	0750	/* a CONFDIR sub-folder restore makes (dkim/) */

struct bk {
	struct ctl		*c;
	struct backup_writer	 w;
	uid_t			 uid;	/* server user, or -1 */
	gid_t			 gid;
	dev_t			 skip_dev[3];	/* the config, FILE, FILE.tmp */
	ino_t			 skip_ino[3];
	size_t			 nskip;
	size_t			 accounts, files;
	char			**names;	/* accounts, owned */
	size_t			 nnames;
	int			 err;		/* exit code once set */
};

/* fd_read - the regular file FD (at most BACKUP_ONE_MAX) into *DATA_R
 * (owned) and *LEN_R.  0, or -1 (errno; EFBIG too large). */
static int
fd_read(int fd, const struct stat *st, char **data_r, size_t *len_r)
{
	char *p;
	ssize_t n;

	if (st->st_size > BACKUP_ONE_MAX) {
		errno = EFBIG;
		return -1;
	}
	p = xmalloc((size_t)st->st_size + 1);
	n = read_all(fd, p, (size_t)st->st_size + 1);
	if (n < 0 || n > st->st_size) {
		if (n > st->st_size)
			errno = EAGAIN;	/* it grew while read */
		free(p);
		return -1;
	}
	*data_r = p;
	*len_r = (size_t)n;
	return 0;
}

static int
bk_skipped(struct bk *k, const struct stat *st)
{
	size_t i;

	for (i = 0; i < k->nskip; i++)
		if (k->skip_dev[i] == st->st_dev && k->skip_ino[i] == st->st_ino)
			return 1;
	return 0;
}

static void
bk_skip(struct bk *k, const struct stat *st)
{
	if (k->nskip < sizeof(k->skip_dev) / sizeof(k->skip_dev[0])) {
		k->skip_dev[k->nskip] = st->st_dev;
		k->skip_ino[k->nskip++] = st->st_ino;
	}
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir_names - the entries of DFD not starting with '.', sorted; owned
 * (free each and the array); -1 on error. */
static ssize_t
dir_names(int dfd, char ***names_r)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	DIR *d;
	int fd;

	*names_r = NULL;
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n % 64 == 0)
			v = xrealloc(v, (n + 64) * sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), name_cmp);
	*names_r = v;
	return (ssize_t)n;
}

static void
names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* bk_etc - the files of the CONFDIR folder DFD (REL its path under CONFDIR,
 * "" at the top), DEPTH folders deep. */
static void
bk_etc(struct bk *k, int dfd, const char *dir, const char *rel, int depth)
{
	struct stat st;
	char **names, *path, *data;
	size_t len;
	ssize_t n, i;
	int fd;

	if ((n = dir_names(dfd, &names)) == -1) {
		k->err = ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
		return;
	}
	for (i = 0; i < n && !k->err; i++) {
		fd = -1;
		path = xasprintf("%s%s%s", rel, *rel ? "/" : "", names[i]);
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == -1) {
			k->err = ctl_error(CTL_RUNTIME, "%s/%s: %s", dir,
			    names[i], strerror(errno));
		} else if (S_ISDIR(st.st_mode) && depth + 1 < BACKUP_ETC_DEPTH) {
			char *sub = xasprintf("%s/%s", dir, names[i]);

			fd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1)
				k->err = ctl_error(CTL_RUNTIME, "%s: %s", sub,
				    strerror(errno));
			else {
				bk_etc(k, fd, sub, path, depth + 1);
				close(fd);
				fd = -1;
			}
			free(sub);
		} else if (!S_ISREG(st.st_mode) || bk_skipped(k, &st) ||
		    !backup_etc_name_ok(path)) {
			if (!bk_skipped(k, &st))
				fprintf(stderr, "yubinctl: note: %s/%s left out "
				    "(%s)\n", dir, names[i], S_ISREG(st.st_mode) ?
				    "a name a restore would not write" :
				    "not a regular file");
		} else if ((fd = openat(dfd, names[i], O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1 ||
		    fd_read(fd, &st, &data, &len) == -1) {
			k->err = ctl_error(CTL_RUNTIME, "%s/%s: %s", dir,
			    names[i], strerror(errno));
		} else {
			/* an older backup kept in CONFDIR stays out of this one */
			if (len > strlen(BACKUP_MAGIC) && memcmp(data,
			    BACKUP_MAGIC " ", strlen(BACKUP_MAGIC) + 1) == 0)
				fprintf(stderr, "yubinctl: note: %s/%s left out "
				    "(a backup)\n", dir, names[i]);
			else if (backup_add(&k->w, BACKUP_ETC, path,
			    st.st_mode & 0777, 0, data, len) == -1)
				k->err = ctl_error(CTL_RUNTIME, "%s: %s",
				    k->w.tmp, strerror(errno));
			else
				k->files++;
			free(data);
		}
		if (fd != -1)
			close(fd);
		free(path);
	}
	names_free(names, (size_t)n);
}

static int
bk_account(void *ctx, const struct account *a)
{
	struct bk *k = ctx;
	struct buf b;
	int r;

	buf_init(&b, 0);
	r = account_record_encode(a, &b) == -1 ||
	    backup_add(&k->w, BACKUP_ACCOUNT, a->name, 0, 0, b.data, b.len) == -1;
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	if (r) {
		k->err = ctl_error(CTL_RUNTIME, "%s: account '%s': %s", k->w.tmp,
		    a->name, strerror(errno));
		return 1;
	}
	if (k->nnames % 64 == 0)
		k->names = xrealloc(k->names, (k->nnames + 64) * sizeof(char *));
	k->names[k->nnames++] = xstrdup(a->name);
	k->accounts++;
	return 0;
}

/* bk_one_file - the settings file FILE of account NAME (folder AFD) */
static void
bk_one_file(struct bk *k, int afd, const char *dir, const char *name,
    const char *file)
{
	struct stat st;
	char *data, *rec;
	size_t len;
	int fd;

	fd = openat(afd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			fprintf(stderr, "yubinctl: note: %s/%s left out (a "
			    "symbolic link)\n", dir, file);
		else if (errno != ENOENT)
			k->err = ctl_error(CTL_RUNTIME, "%s/%s: %s", dir, file,
			    strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		fprintf(stderr, "yubinctl: note: %s/%s left out (not a regular "
		    "file with one link)\n", dir, file);
		close(fd);
		return;
	}
	if (fd_read(fd, &st, &data, &len) == -1) {
		k->err = ctl_error(CTL_RUNTIME, "%s/%s: %s", dir, file,
		    strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	rec = xasprintf("%s/%s", name, file);
	if (backup_add(&k->w, BACKUP_FILE, rec, st.st_mode & 0777, 0, data,
	    len) == -1)
		k->err = ctl_error(CTL_RUNTIME, "%s: %s", k->w.tmp,
		    strerror(errno));
	else
		k->files++;
	free(rec);
	explicit_bzero(data, len);
	free(data);
}

/* bk_account_files - the settings files of every account's folder */
static void
bk_account_files(struct bk *k)
{
	char *root = paths_mailbox_root(k->c->cfg), *dir, file[16];
	uid_t me = k->uid != (uid_t)-1 ? k->uid : geteuid();
	struct stat st;
	size_t i, j;
	int rfd, afd;

	if ((rfd = dir_open_verified(root, k->uid)) == -1) {
		if (errno != ENOENT)
			k->err = ctl_error(CTL_RUNTIME, "%s: %s", root,
			    errno == EPERM ? "not owned by root or the server "
			    "user, or writable by others" : strerror(errno));
		free(root);
		return;
	}
	for (i = 0; i < k->nnames && !k->err; i++) {
		dir = xasprintf("%s/%s", root, k->names[i]);
		afd = openat(rfd, k->names[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (afd == -1) {
			if (errno != ENOENT)
				k->err = ctl_error(CTL_RUNTIME, "%s: %s", dir,
				    errno == ELOOP || errno == ENOTDIR ?
				    "not a folder (a symbolic link?)" :
				    strerror(errno));
			free(dir);
			continue;
		}
		if (fstat(afd, &st) == -1 || (st.st_uid != 0 && st.st_uid != me)) {
			k->err = ctl_error(CTL_RUNTIME, "%s: not owned by root "
			    "or the server user", dir);
		}
		for (j = 0; backup_account_files[j] && !k->err; j++)
			bk_one_file(k, afd, dir, k->names[i],
			    backup_account_files[j]);
		for (j = 2; j <= 99 && !k->err; j++) {
			snprintf(file, sizeof(file), "exec%zu.def", j);
			bk_one_file(k, afd, dir, k->names[i], file);
		}
		close(afd);
		free(dir);
	}
	close(rfd);
	free(root);
}

struct bk_iter {
	struct bk		*k;
	enum backup_kind	 kind;
};

static int
bk_entry(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct bk_iter *it = ctx;

	if (backup_add_key(&it->k->w, it->kind, key, klen, expires, val,
	    vlen) == -1) {
		it->k->err = ctl_error(CTL_RUNTIME, "%s: %s", it->k->w.tmp,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* bk_store - the run-time blocks and the list plugin's state */
static void
bk_store(struct bk *k, struct store *s)
{
	struct store_txn *txn;
	struct bk_iter it = { k, BACKUP_META };

	if (store_txn_begin(s, 1, &txn) == -1) {
		k->err = ctl_error(CTL_RUNTIME, "store: cannot read");
		return;
	}
	if (store_titer(txn, STORE_META, "block/", 6, bk_entry, &it) == -1 &&
	    !k->err)
		k->err = ctl_error(CTL_RUNTIME, "store: cannot read the blocks");
	it.kind = BACKUP_PLUGIN;
	if (!k->err && store_titer(txn, STORE_PLUGIN, ML_PLUGIN_NAME,
	    sizeof(ML_PLUGIN_NAME), bk_entry, &it) == -1 && !k->err)
		k->err = ctl_error(CTL_RUNTIME, "store: cannot read the list "
		    "state");
	store_txn_abort(&txn);
}

/* bk_outside - say which files the configuration names outside CONFDIR
 * (the backup keeps CONFDIR's files only; a restore writes nowhere else) */
static void
bk_outside(struct ctl *c)
{
	static const char *const keys[] = { "server.tls_cert", "server.tls_key" };
	const char *confdir = config_confdir(c->cfg), *v;
	size_t i, n = strlen(confdir);

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = config_str(c->cfg, keys[i]);
		if (v[0] != '\0' && (c->cfg_path == NULL ||
		    strncmp(v, confdir, n) != 0 || v[n] != '/'))
			fprintf(stderr, "yubinctl: note: %s (%s) is outside %s and "
			    "not in the backup\n", v, keys[i], c->cfg_path ?
			    confdir : "any configuration folder");
	}
}

int
ctl_cmd_backup(struct ctl *c, int argc, char **argv)
{
	struct bk k;
	struct stat st;
	struct store *s;
	char *state, *data;
	size_t len;
	int fd, dfd;

	if (argc != 1 || argv[0][0] == '\0' || argv[0][0] == '-')
		return ctl_error(CTL_USAGE, "usage: yubinctl backup FILE");
	memset(&k, 0, sizeof(k));
	k.c = c;
	state = xasprintf("%s/state", config_home(c->cfg));
	if (stat(state, &st) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s (no home to back up)", state,
		    strerror(errno));
		free(state);
		return CTL_RUNTIME;
	}
	free(state);
	if (ctl_owner(c, &k.uid, &k.gid) == -1)
		return CTL_USAGE;
	if ((s = ctl_store(c)) == NULL)
		return CTL_RUNTIME;
	if (backup_create(&k.w, argv[0]) == -1)
		return ctl_error(CTL_RUNTIME, "%s.tmp: %s", argv[0],
		    strerror(errno));
	if (fstat(k.w.fd, &st) == 0)
		bk_skip(&k, &st);
	if (stat(argv[0], &st) == 0)
		bk_skip(&k, &st);
	if (c->cfg_path) {
		fd = open(c->cfg_path, O_RDONLY | O_CLOEXEC);
		if (fd == -1 || fstat(fd, &st) == -1 ||
		    fd_read(fd, &st, &data, &len) == -1)
			k.err = ctl_error(CTL_RUNTIME, "%s: %s", c->cfg_path,
			    strerror(errno));
		else {
			bk_skip(&k, &st);
			if (backup_add(&k.w, BACKUP_CONF, "yubin.conf",
			    st.st_mode & 0777, 0, data, len) == -1)
				k.err = ctl_error(CTL_RUNTIME, "%s: %s",
				    k.w.tmp, strerror(errno));
			free(data);
		}
		if (fd != -1)
			close(fd);
		if (!k.err) {
			dfd = open(config_confdir(c->cfg), O_RDONLY |
			    O_DIRECTORY | O_CLOEXEC);
			if (dfd == -1)
				k.err = ctl_error(CTL_RUNTIME, "%s: %s",
				    config_confdir(c->cfg), strerror(errno));
			else {
				bk_etc(&k, dfd, config_confdir(c->cfg), "", 0);
				close(dfd);
			}
		}
	}
	if (!k.err)
		bk_outside(c);
	if (!k.err && account_each(s, bk_account, &k) != 0 && !k.err)
		k.err = ctl_error(CTL_RUNTIME, "store: cannot read every "
		    "account (see above)");
	if (!k.err)
		bk_account_files(&k);
	if (!k.err)
		bk_store(&k, s);
	names_free(k.names, k.nnames);
	if (k.err) {
		backup_abort(&k.w);
		return k.err;
	}
	if (backup_finish(&k.w) == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", argv[0], strerror(errno));
	printf("backup written: %s (%zu accounts, %zu files)\n", argv[0],
	    k.accounts, k.files);
	return CTL_OK;
}

/* ---- restore --------------------------------------------------------- */

/*
 * write_owned - DATA (LEN) as NAME in the folder DFD: a scratch file
 * given MODE and, when UID is not -1, UID:GID, synced, then renamed over
 * NAME and the folder synced.  0, or -1 (errno).
 */
static int
write_owned(int dfd, const char *name, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid)
{
	char tmp[NAME_MAX + 1];
	int fd, saved;

	if ((fd = file_tmpat(dfd, name, 0600, tmp, sizeof(tmp))) == -1)
		return -1;
	if (write_all(fd, data, len) == -1 ||
	    (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1) ||
	    fchmod(fd, mode & 0777) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1 || fsync(dfd) == -1)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dfd, tmp, 0);
	errno = saved;
	return -1;
}

/* rs_load_conf - the backup's yubin.conf (R) loaded with this command's
 * -D options into *CFG_R, to learn the home it will run on.  CTL_OK or an
 * exit code after saying why. */
static int
rs_load_conf(struct ctl *c, const char *file, const struct backup_rec *r,
    struct config **cfg_r)
{
	struct errlist errs;
	char path[64];
	size_t i, pl;
	int fd, rc;

	fd = memfd_create("yubin.conf", MFD_CLOEXEC);
	if (fd == -1 || write_all(fd, r->data, r->len) == -1) {
		if (fd != -1)
			close(fd);
		return ctl_error(CTL_RUNTIME, "memfd: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pl = strlen(path);
	errlist_init(&errs);
	rc = config_load(cfg_r, path, c->defs, c->ndefs, &errs);
	close(fd);
	if (rc == -1) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "yubinctl: %s: yubin.conf%s\n", file,
			    strncmp(errs.msg[i], path, pl) == 0 ?
			    errs.msg[i] + pl : errs.msg[i]);
		errlist_free(&errs);
		return ctl_error(CTL_USAGE, "%s: its yubin.conf does not load "
		    "here; nothing restored", file);
	}
	errlist_free(&errs);
	return CTL_OK;
}

static int
rs_count_other(void *ctx, const struct account *a)
{
	if (strcmp(a->name, ACCOUNT_POSTMASTER) != 0)
		++*(size_t *)ctx;
	return 0;
}

/*
 * rs_in_use - 1 when the home of C holds accounts (postmaster, which setup
 * makes, aside), account folders or stored mail, with a reason in WHY;
 * 0 empty; -1 after saying why.
 */
static int
rs_in_use(struct ctl *c, char *why, size_t size)
{
	static const char *const sub[] = { "new", "cur" };
	char *root = paths_mailbox_root(c->cfg), *p, **names;
	struct stat st;
	size_t accounts = 0, folders = 0, mails = 0, i;
	ssize_t n, m;
	int fd, r = -1;

	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if ((n = dir_names(fd, &names)) == -1) {
			ctl_error(CTL_RUNTIME, "%s: %s", root, strerror(errno));
			close(fd);
			goto out;
		}
		for (i = 0; i < (size_t)n; i++)
			if (strcmp(names[i], ACCOUNT_POSTMASTER) != 0)
				folders++;
		names_free(names, (size_t)n);
		close(fd);
		for (i = 0; i < 2; i++) {
			p = xasprintf("%s/%s/Maildir/%s", root,
			    ACCOUNT_POSTMASTER, sub[i]);
			fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			free(p);
			if (fd == -1)
				continue;
			if ((m = dir_names(fd, &names)) > 0) {
				mails += (size_t)m;
				names_free(names, (size_t)m);
			}
			close(fd);
		}
	}
	p = xasprintf("%s/state/data.mdb", config_home(c->cfg));
	if (stat(p, &st) == 0) {
		if (ctl_store(c) == NULL) {
			free(p);
			goto out;
		}
		if (account_each(c->store, rs_count_other, &accounts) != 0) {
			ctl_error(CTL_RUNTIME, "store: cannot read the accounts");
			free(p);
			goto out;
		}
	}
	free(p);
	snprintf(why, size, "%zu accounts, %zu account folders, %zu stored "
	    "messages of postmaster", accounts, folders, mails);
	r = accounts || folders || mails;
out:
	free(root);
	return r;
}

/* rs_etc - the CONFDIR records of B into CONFDIR, and the conf record
 * over TARGET.  CTL_OK or an exit code after saying why. */
static int
rs_etc(struct ctl *c, const struct backup *b, const char *target, gid_t gid)
{
	const char *confdir = config_confdir(c->cfg), *slash, *base;
	const struct backup_rec *r;
	char sub[NAME_MAX + 1], *dir;
	int dfd, sfd, rc = CTL_OK;
	gid_t g;
	size_t i;

	if ((dfd = dir_open_verified(confdir, (uid_t)-1)) == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", confdir, errno == EPERM ?
		    "not owned by root or you, or writable by others" :
		    strerror(errno));
	for (i = 0; i < b->n && rc == CTL_OK; i++) {
		r = &b->rec[i];
		if (r->kind != BACKUP_ETC && r->kind != BACKUP_CONF)
			continue;
		/* as root a file only its group may read besides root is the
		 * server's group's (dkim keys, as "dkim keygen" makes them) */
		g = geteuid() == 0 && (r->mode & 070) && !(r->mode & 07) ? gid :
		    (gid_t)-1;
		if (r->kind == BACKUP_CONF) {
			dir = xstrdup(target);
			base = strrchr(dir, '/');
			if (base) {
				*(char *)base = '\0';
				sfd = dir_open_verified(*dir ? dir : "/",
				    (uid_t)-1);
				base = target + (base - dir) + 1;
			} else {
				sfd = dir_open_verified(".", (uid_t)-1);
				base = target;
			}
			if (sfd == -1 || write_owned(sfd, base, r->data, r->len,
			    r->mode, g != (gid_t)-1 ? 0 : (uid_t)-1, g) == -1)
				rc = ctl_error(CTL_RUNTIME, "%s: %s", target,
				    strerror(errno));
			if (sfd != -1)
				close(sfd);
			free(dir);
			continue;
		}
		sfd = dfd;
		base = r->name;
		if ((slash = strchr(r->name, '/')) != NULL) {
			memcpy(sub, r->name, (size_t)(slash - r->name));
			sub[slash - r->name] = '\0';	/* checked: <= 255 */
			base = slash + 1;
			if (mkdirat(dfd, sub, BK_DIR_MODE) == -1 &&
			    errno != EEXIST) {
				rc = ctl_error(CTL_RUNTIME, "%s/%s: %s", confdir,
				    sub, strerror(errno));
				break;
			}
			sfd = openat(dfd, sub, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sfd == -1 || (geteuid() == 0 && gid != (gid_t)-1 &&
			    fchown(sfd, 0, gid) == -1)) {
				rc = ctl_error(CTL_RUNTIME, "%s/%s: %s", confdir,
				    sub, strerror(errno));
				if (sfd != -1)
					close(sfd);
				break;
			}
		}
		if (write_owned(sfd, base, r->data, r->len, r->mode,
		    g != (gid_t)-1 ? 0 : (uid_t)-1, g) == -1)
			rc = ctl_error(CTL_RUNTIME, "%s/%s: %s", confdir,
			    r->name, strerror(errno));
		if (sfd != dfd)
			close(sfd);
	}
	close(dfd);
	return rc;
}

static int
rs_store_fn(struct store_txn *txn, void *ctx)
{
	const struct backup *b = ctx;
	const struct backup_rec *r;
	struct account *a;
	const char *why;
	size_t i;
	int rc = 0;

	a = xmalloc(sizeof(*a));
	for (i = 0; i < b->n && rc == 0; i++) {
		r = &b->rec[i];
		switch (r->kind) {
		case BACKUP_ACCOUNT:
			rc = account_record_decode(r->data, r->len, r->name, a,
			    &why) == -1 || account_tput(txn, a) == -1 ? -1 : 0;
			break;
		case BACKUP_META:
		case BACKUP_PLUGIN:
			rc = store_tput(txn, r->kind == BACKUP_META ?
			    STORE_META : STORE_PLUGIN, r->key, r->klen, r->data,
			    r->len, r->expires);
			break;
		default:
			break;
		}
	}
	explicit_bzero(a, sizeof(*a));
	free(a);
	return rc;
}

/* rs_files - each account's folder and its settings files */
static int
rs_files(struct ctl *c, const struct backup *b, uid_t uid, gid_t gid,
    size_t *files_r)
{
	char *root = paths_mailbox_root(c->cfg), acct[ACCOUNT_NAME_MAX + 1];
	const struct backup_rec *r;
	const char *slash;
	int rfd, afd, rc = CTL_OK;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->rec[i].kind == BACKUP_ACCOUNT &&
		    ctl_mailbox_create(c, b->rec[i].name) == -1) {
			free(root);
			return CTL_RUNTIME;
		}
	if ((rfd = dir_open_verified(root, uid)) == -1) {
		rc = ctl_error(CTL_RUNTIME, "%s: %s", root, strerror(errno));
		free(root);
		return rc;
	}
	for (i = 0; i < b->n && rc == CTL_OK; i++) {
		r = &b->rec[i];
		if (r->kind != BACKUP_FILE)
			continue;
		slash = strchr(r->name, '/');	/* checked by backup_read */
		memcpy(acct, r->name, (size_t)(slash - r->name));
		acct[slash - r->name] = '\0';
		afd = openat(rfd, acct, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (afd == -1 || write_owned(afd, slash + 1, r->data, r->len,
		    r->mode, uid, gid) == -1)
			rc = ctl_error(CTL_RUNTIME, "%s/%s: %s", root, r->name,
			    strerror(errno));
		else
			++*files_r;
		if (afd != -1)
			close(afd);
	}
	close(rfd);
	free(root);
	return rc;
}

int
ctl_cmd_restore(struct ctl *c, int argc, char **argv)
{
	struct backup b;
	struct config *rcfg = NULL;
	struct ctl rc;
	const char *file = NULL, *what;
	char why[BACKUP_NAME_MAX + 256];
	size_t i, nconf = 0, accounts = 0, files = 0;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int force = 0, bad = 0, r, conf = -1;

	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (file == NULL && argv[i][0] != '-' && argv[i][0])
			file = argv[i];
		else
			bad = 1;
	}
	if (file == NULL || bad)
		return ctl_error(CTL_USAGE, "usage: yubinctl restore FILE "
		    "[--force]");
	if (c->cfg_path == NULL)
		return ctl_error(CTL_USAGE, "restore: no configuration file in "
		    "use; give -c CONFIG, where yubin.conf is put back");
	if (backup_read(file, &b, why, sizeof(why)) == -1)
		return ctl_error(CTL_USAGE, "%s: %s; nothing restored", file,
		    why);
	for (i = 0; i < b.n; i++) {
		if (b.rec[i].kind == BACKUP_CONF) {
			nconf++;
			conf = (int)i;
		} else if (b.rec[i].kind == BACKUP_ACCOUNT)
			accounts++;
	}
	if (nconf > 1) {
		backup_free(&b);
		return ctl_error(CTL_USAGE, "%s: more than one yubin.conf; "
		    "nothing restored", file);
	}
	/* the home to fill is the one the restored configuration runs on */
	if (conf >= 0 && (r = rs_load_conf(c, file, &b.rec[conf], &rcfg)) !=
	    CTL_OK) {
		backup_free(&b);
		return r;
	}
	rc = *c;
	rc.store = NULL;
	if (rcfg)
		rc.cfg = rcfg;
	r = CTL_RUNTIME;
	if ((pid = ctl_running_pid(&rc)) == -1)
		goto out;
	if (pid > 0) {
		ctl_error(CTL_RUNTIME, "yubind is running (pid %ld) on %s; stop "
		    "it before a restore; nothing restored", (long)pid,
		    config_home(rc.cfg));
		goto out;
	}
	if (ctl_owner(&rc, &uid, &gid) == -1) {
		r = CTL_USAGE;
		goto out;
	}
	if (!force) {
		int u = rs_in_use(&rc, why, sizeof(why));

		if (u == -1)
			goto out;
		if (u == 1) {
			r = ctl_error(CTL_USAGE, "%s is in use (%s); --force "
			    "restores over it; nothing restored",
			    config_home(rc.cfg), why);
			goto out;
		}
	}
	/* everything is checked: from here on the home is written */
	if ((r = rs_etc(c, &b, c->cfg_path, gid)) != CTL_OK)
		goto out;
	r = CTL_RUNTIME;
	if (paths_setup(rc.cfg, uid, gid, &what) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", what, strerror(errno));
		goto out;
	}
	if (ctl_store(&rc) == NULL)
		goto out;
	if (store_write(rc.store, rs_store_fn, &b) != 0) {
		ctl_error(CTL_RUNTIME, "store: the accounts and state could not "
		    "be written");
		goto out;
	}
	if ((r = ctl_postmaster_ensure(&rc)) != CTL_OK)
		goto out;
	if ((r = rs_files(&rc, &b, uid, gid, &files)) != CTL_OK)
		goto out;
	printf("restored %s into %s: %zu accounts, %zu account files\n", file,
	    config_home(rc.cfg), accounts, files);
	r = CTL_OK;
out:
	if (rc.store)
		store_close(&rc.store);
	config_free(&rcfg);
	backup_free(&b);
	return r;
}
