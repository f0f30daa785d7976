/*
 * ctl_account.c - "yubinctl account": add, del, passwd, list, import,
 * export (DESIGN.md §5, the E-Post format of SEEDS.md §3.5).  Creating
 * and removing an account are shared with "yubinctl ml" (ctl_ml.c: a list
 * is an account): ctl_account_create, ctl_account_remove.
 *
 * Runs as the invoking user, root or the server user.  As root, what it
 * creates (the account folder and its Maildir, the store files under
 * HOME/state) is given to the user yubind's workers run as (priv_lookup:
 * server.user/server.group, else nobody/nogroup), so they can use it after
 * their privilege drop.
 *
 * Never: print a password (only "export" writes the clear secrets of apop
 * accounts, as the format asks, to a file of mode 0600 or standard output),
 * follow a symbolic link when creating or removing an account folder, or
 * remove anything that is not strictly inside the mailbox root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "addr.h"
#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "fetch.h"
#include "node.h"
#include "paths.h"
#include "priv.h"
#include "util.h"

#define ACCT_DIR_MODE	0700	/* account folder and Maildir: the server user's only */
#define ACCT_RM_DEPTH	64	/* folder depth "del" descends; a Maildir needs 3 */
#define ACCT_RM_PASSES	4	/* readdir passes per folder while entries vanish */

/* NAME@DOMAIN: the account's domain; with server.domain_mailboxes = 1 and a
 * local domain other than server.domain, the account is named NAME@DOMAIN
 * and "del", "passwd" and "set" take that name */
#define USAGE_ADD	"account add NAME[@DOMAIN] [PASSWORD] [--apop] " \
			"[--quota-size BYTES] [--quota-count N]"

static const char *const maildir_sub[] = { "tmp", "new", "cur" };

/* owner - who gets what we create: (-1, -1) unless running as root. */
struct owner {
	uid_t	uid;
	gid_t	gid;
};

static int
acct_owner(struct ctl *c, struct owner *o)
{
	char *why = NULL;

	o->uid = (uid_t)-1;
	o->gid = (gid_t)-1;
	if (geteuid() != 0)
		return 0;
	if (priv_lookup(c->cfg, &o->uid, &o->gid, &why) == -1) {
		ctl_error(CTL_USAGE, "%s", why);
		free(why);
		return -1;
	}
	return 0;
}

int
ctl_owner(struct ctl *c, uid_t *uid_r, gid_t *gid_r)
{
	struct owner o;

	if (acct_owner(c, &o) == -1)
		return -1;
	*uid_r = o.uid;
	*gid_r = o.gid;
	return 0;
}

/* acct_store - the store (ctl_store lays out a missing home and gives
 * the state files to the server user). */
static struct store *
acct_store(struct ctl *c, const struct owner *o)
{
	(void)o;
	return ctl_store(c);
}

/* check_name - 0, or -1 after saying why NAME is refused. */
static int
check_name(const char *name)
{
	const char *why;
	char esc[ACCOUNT_NAME_MAX * 4 + 8];

	if (account_name_valid(name, &why))
		return 0;
	ctl_error(CTL_USAGE, "bad account name '%s': %s",
	    str_escape(esc, sizeof(esc), name, strlen(name)), why);
	return -1;
}

/* parse_count - a non-negative decimal with an optional K/M/G (1024)
 * suffix; 0 or -1. */
static int
parse_count(const char *s, int suffix, long long *v)
{
	unsigned long long x;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (suffix && *end) {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0' || x > (unsigned long long)(LLONG_MAX >> shift))
		return -1;
	*v = (long long)(x << shift);
	return 0;
}

/*
 * mkdir_owned - create NAME under DFD (mode ACCT_DIR_MODE, an existing one
 * is kept) and open it without following a symbolic link; as root it is
 * given to O.  The new fd, or -1 (errno).
 */
static int
mkdir_owned(int dfd, const char *name, const struct owner *o)
{
	int fd, saved;

	if (mkdirat(dfd, name, ACCT_DIR_MODE) == -1 && errno != EEXIST)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		struct stat st;

		saved = errno;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			saved = ELOOP;
		errno = saved;
		return -1;
	}
	if (o->uid != (uid_t)-1 && fchown(fd, o->uid, o->gid) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * mailbox_create - ROOT/NAME/Maildir/{tmp,new,cur}, creating the home
 * layout first when the mailbox root is missing.  0, or -1 after saying why.
 */
static int
mailbox_create(struct ctl *c, const char *name, const struct owner *o)
{
	char *root = paths_mailbox_root(c->cfg), *where = NULL;
	const char *what;
	struct stat st;
	int rfd = -1, afd = -1, mfd = -1, fd, r = -1;
	size_t i;

	if (stat(root, &st) == -1 && errno == ENOENT &&
	    paths_setup(c->cfg, o->uid, o->gid, &what) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", what, strerror(errno));
		free(root);
		return -1;
	}
	where = xstrdup(root);
	if ((rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	free(where);
	where = xasprintf("%s/%s", root, name);
	if ((afd = mkdir_owned(rfd, name, o)) == -1)
		goto fail;
	free(where);
	where = xasprintf("%s/%s/Maildir", root, name);
	if ((mfd = mkdir_owned(afd, "Maildir", o)) == -1)
		goto fail;
	for (i = 0; i < sizeof(maildir_sub) / sizeof(maildir_sub[0]); i++) {
		free(where);
		where = xasprintf("%s/%s/Maildir/%s", root, name,
		    maildir_sub[i]);
		if ((fd = mkdir_owned(mfd, maildir_sub[i], o)) == -1)
			goto fail;
		close(fd);
	}
	free(where);
	where = xasprintf("%s/%s", root, name);
	if (fsync(mfd) == -1 || fsync(afd) == -1 || fsync(rfd) == -1)
		goto fail;
	r = 0;
	goto out;
fail:
	ctl_error(CTL_RUNTIME, "%s: %s", where, errno == ELOOP ?
	    "is a symbolic link" : strerror(errno));
out:
	if (mfd != -1)
		close(mfd);
	if (afd != -1)
		close(afd);
	if (rfd != -1)
		close(rfd);
	free(where);
	free(root);
	return r;
}

int
ctl_mailbox_create(struct ctl *c, const char *name)
{
	struct owner o;

	if (acct_owner(c, &o) == -1)
		return -1;
	return mailbox_create(c, name, &o);
}

/* get_password - from ARG, or one line of standard input, into PW (SIZE);
 * 0, or -1 after saying why. */
static int
get_password(const char *arg, char *pw, size_t size)
{
	if (arg == NULL)
		return ctl_read_secret("password", pw, size);
	if (str_copy(pw, size, arg) == -1) {
		ctl_error(CTL_USAGE, "password longer than %d bytes",
		    ACCOUNT_PASSWORD_MAX);
		return -1;
	}
	return 0;
}

/*
 * The limit of accounts per domain (server.accounts_per_domain_max, F013).
 * limit_domain - the domain whose count account NAME is part of: NULL (all
 * accounts) in the shared mode, where every account serves every domain;
 * "" server.domain's plain accounts, else the part after '@'.
 * limit_over - in TXN, after the writes: 1 when DOMAIN holds more than
 * the limit (its count in *N), 0 not, -1 store error.
 */
static const char *
limit_domain(const struct ctl *c, const char *name)
{
	const char *at = strchr(name, '@');

	if (!config_bool(c->cfg, "server.domain_mailboxes"))
		return NULL;
	return at ? at + 1 : "";
}

static int
limit_over(const struct ctl *c, struct store_txn *txn, const char *domain,
    long long *n)
{
	long long max = config_int(c->cfg, "server.accounts_per_domain_max");

	*n = 0;
	if (max <= 0)
		return 0;
	if (account_tcount(txn, domain, n) == -1)
		return -1;
	return *n > max;
}

/* limit_error - say that DOMAIN would hold N accounts. */
static int
limit_error(const struct ctl *c, const char *domain, long long n)
{
	return ctl_error(CTL_USAGE, "%s%s would have %lld accounts: "
	    "server.accounts_per_domain_max is %lld", domain ? "domain " :
	    "the server", domain ? (domain[0] ? domain :
	    config_str(c->cfg, "server.domain")) : "", n,
	    config_int(c->cfg, "server.accounts_per_domain_max"));
}

/* count_line - "accounts[ DOMAIN]: N[/MAX]" for DOMAIN (limit_domain's
 * meaning) in TXN. */
static int
count_line(struct ctl *c, struct store_txn *txn, const char *domain)
{
	long long n, max = config_int(c->cfg, "server.accounts_per_domain_max");

	if (account_tcount(txn, domain, &n) == -1)
		return -1;
	if (domain != NULL)
		printf("accounts %s: %lld", domain[0] ? domain :
		    config_str(c->cfg, "server.domain"), n);
	else
		printf("accounts: %lld", n);
	if (max > 0)
		printf("/%lld", max);
	putchar('\n');
	return 0;
}

int
ctl_account_counts(struct ctl *c)
{
	const struct cfg_list *alias = config_list(c->cfg, "server.alias");
	struct store_txn *txn;
	struct store *s;
	char *dir;
	size_t i;
	int r = 0;

	/* a status never lays out a home that is not there */
	dir = xasprintf("%s/state", config_home(c->cfg));
	r = access(dir, F_OK);
	free(dir);
	if (r == -1)
		return 0;
	if ((s = ctl_store(c)) == NULL || store_txn_begin(s, 1, &txn) == -1)
		return -1;
	if (!config_bool(c->cfg, "server.domain_mailboxes"))
		r = count_line(c, txn, NULL);
	else {
		r = count_line(c, txn, "");
		for (i = 0; r == 0 && i < alias->n; i++)
			r = count_line(c, txn, alias->v[i]);
	}
	store_txn_abort(&txn);
	return r;
}

struct add_ctx {
	const struct ctl *c;
	struct account	*a;
	long long	 n;		/* the domain's accounts, when over */
	int		 home;		/* this node is registered: home it here */
};

/* add_fn - a new account: 1 it exists, 2 over the domain's limit. */
static int
add_fn(struct store_txn *txn, void *ctx)
{
	struct add_ctx *ac = ctx;
	struct account *a = ac->a, *old;
	int r;

	old = xmalloc(sizeof(*old));
	r = account_tget(txn, a->name, old);
	explicit_bzero(old, sizeof(*old));
	free(old);
	if (r != 0)
		return r;	/* 1: exists, -1: error */
	if (account_tput(txn, a) == -1)
		return -1;
	if (ac->c == NULL)
		return 0;
	/* a registered node: the mailbox is made here, so it lives here */
	if (ac->home && node_home_tput(txn, a->name, node_self(ac->c->cfg)) == -1)
		return -1;
	r = limit_over(ac->c, txn, limit_domain(ac->c, a->name), &ac->n);
	return r == 1 ? 2 : r;
}

int
ctl_account_create(struct ctl *c, char *name, const char *pwarg,
    struct account *a)
{
	struct add_ctx ac = { NULL, NULL, 0, 0 };
	struct account *old;
	struct owner o;
	struct store *s;
	const char *why;
	char *at, pw[ACCOUNT_PASSWORD_MAX + 2], esc[300];
	int i, r = CTL_RUNTIME;

	pw[0] = '\0';
	if ((at = strchr(name, '@')) != NULL) {
		*at++ = '\0';
		if (*at == '\0' || !account_domain_valid(at, &why)) {
			r = ctl_error(CTL_USAGE, "bad domain '%s': %s",
			    str_escape(esc, sizeof(esc), at, strlen(at)),
			    *at ? why : "nothing after '@'");
			goto out;
		}
		memcpy(a->domain, at, strlen(at) + 1);	/* valid: <= 255 */
		str_lower(a->domain);
	}
	if (!account_local_valid(name, &why)) {
		r = ctl_error(CTL_USAGE, "bad account name '%s': %s",
		    str_escape(esc, sizeof(esc), name, strlen(name)), why);
		goto out;
	}
	/* per-domain mailboxes: NAME@DOMAIN for another local domain */
	if (addr_account_id(c->cfg, name, a->domain, a->name, &why) == -1) {
		r = ctl_error(CTL_USAGE, "bad account '%s@%s': %s", name,
		    a->domain, why);
		goto out;
	}
	if (acct_owner(c, &o) == -1) {
		r = CTL_USAGE;
		goto out;
	}
	if ((s = acct_store(c, &o)) == NULL)
		goto out;
	/* before asking for a password that would be thrown away; in
	 * per-domain mode an older plain account may hold the address too */
	old = xmalloc(sizeof(*old));
	i = account_get(s, a->name, old);
	if (i == 0 && a->domain[0] != '\0')
		i = addr_account_find(c->cfg, s, name, a->domain, old);
	if (i == 1 && strcmp(old->name, a->name) != 0) {
		r = ctl_error(CTL_USAGE, "account '%s' already receives the mail "
		    "of %s@%s", old->name, name, a->domain);
		explicit_bzero(old, sizeof(*old));
		free(old);
		goto out;
	}
	explicit_bzero(old, sizeof(*old));
	free(old);
	if (i == -1)
		goto out;
	if (i == 1) {
		r = ctl_error(CTL_USAGE, "account '%s' exists", a->name);
		goto out;
	}
	if (get_password(pwarg, pw, sizeof(pw)) == -1) {
		r = CTL_USAGE;
		goto out;
	}
	if (account_set_password(a, pw, &why) == -1) {
		r = ctl_error(CTL_USAGE, "%s", why);
		goto out;
	}
	a->created = time_now();
	ac.c = c;
	ac.a = a;
	if (*config_str(c->cfg, "server.state") != '\0') {
		struct node_rec self;

		i = node_get(s, node_self(c->cfg), &self);
		ac.home = i == 1;	/* unregistered: no homes (node.h) */
		if (i == 1 && self.draining) {
			r = ctl_error(CTL_USAGE, "node %s is draining: add the "
			    "account on another node", self.name);
			goto out;
		}
		if (i == -1)
			goto out;
	}
	i = store_write(s, add_fn, &ac);
	if (i == 1) {
		r = ctl_error(CTL_USAGE, "account '%s' exists", a->name);
		goto out;
	}
	if (i == 2) {
		r = limit_error(c, limit_domain(c, a->name), ac.n);
		goto out;
	}
	if (i != 0) {
		r = ctl_error(CTL_RUNTIME, "account '%s' not stored", a->name);
		goto out;
	}
	if (mailbox_create(c, a->name, &o) == -1) {
		/* no account without its mailbox */
		(void)account_del(s, a->name);
		goto out;
	}
	r = CTL_OK;
out:
	explicit_bzero(pw, sizeof(pw));
	return r;
}

static int
cmd_add(struct ctl *c, int argc, char **argv)
{
	struct account *a;
	const char *pwarg = NULL;
	char *name = NULL;
	int i, opts = 1, size, r = CTL_RUNTIME;

	a = xcalloc(1, sizeof(*a));
	for (i = 0; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0)
			opts = 0;
		else if (opts && strcmp(argv[i], "--apop") == 0)
			a->apop = 1;
		else if (opts && (strcmp(argv[i], "--quota-size") == 0 ||
		    strcmp(argv[i], "--quota-count") == 0)) {
			size = strcmp(argv[i], "--quota-size") == 0;
			if (i + 1 == argc || parse_count(argv[i + 1], size,
			    size ? &a->quota_size : &a->quota_count) == -1) {
				r = ctl_error(CTL_USAGE, "%s needs a "
				    "non-negative %s", argv[i], size ?
				    "size in bytes (K, M, G suffixes allowed)" :
				    "integer");
				goto out;
			}
			i++;
		} else if (opts && argv[i][0] == '-' && argv[i][1] == '-') {
			r = ctl_error(CTL_USAGE, "unknown option '%s'; usage: "
			    "yubinctl " USAGE_ADD, argv[i]);
			goto out;
		} else if (name == NULL)
			name = argv[i];
		else if (pwarg == NULL)
			pwarg = argv[i];
		else {
			r = ctl_error(CTL_USAGE, "usage: yubinctl " USAGE_ADD);
			goto out;
		}
	}
	if (name == NULL) {
		r = ctl_error(CTL_USAGE, "usage: yubinctl " USAGE_ADD);
		goto out;
	}
	r = ctl_account_create(c, name, pwarg, a);
out:
	explicit_bzero(a, sizeof(*a));
	free(a);
	return r;
}

int
ctl_postmaster_ensure(struct ctl *c)
{
	struct add_ctx ac = { NULL, NULL, 0, 0 };
	struct account *a;
	struct owner o;
	struct store *s;
	int i, r = CTL_RUNTIME;

	if (acct_owner(c, &o) == -1)
		return CTL_USAGE;
	if ((s = acct_store(c, &o)) == NULL)
		return CTL_RUNTIME;
	a = xcalloc(1, sizeof(*a));
	memcpy(a->name, ACCOUNT_POSTMASTER, sizeof(ACCOUNT_POSTMASTER));
	memcpy(a->hash, ACCOUNT_HASH_LOCKED, sizeof(ACCOUNT_HASH_LOCKED));
	a->created = time_now();
	ac.a = a;	/* no limit: the postmaster is never counted */
	i = store_write(s, add_fn, &ac);
	if (i == -1 || i > 1) {
		ctl_error(CTL_RUNTIME, "account '%s' not stored", a->name);
		goto out;
	}
	/* a new account, or an old one whose folder went missing */
	if (mailbox_create(c, a->name, &o) == -1) {
		if (i == 0)
			(void)account_del(s, a->name);
		goto out;
	}
	r = CTL_OK;
out:
	explicit_bzero(a, sizeof(*a));
	free(a);
	return r;
}

/*
 * rm_tree - remove everything inside the folder open at DFD (closed here),
 * never following a symbolic link: entries are looked at with
 * AT_SYMLINK_NOFOLLOW and folders entered with O_NOFOLLOW relative to their
 * parent's fd.  0 or -1 (errno).
 */
static int
rm_tree(int dfd, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int pass, removed, cfd, saved, r = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	/* entries removed while reading may hide others: read again until a
	 * pass removes nothing */
	for (pass = 0, removed = 1; removed && pass < ACCT_RM_PASSES; pass++) {
		removed = 0;
		rewinddir(d);
		while (r == 0 && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1) {
				if (errno != ENOENT)
					r = -1;
				continue;
			}
			if (S_ISDIR(st.st_mode)) {
				if (depth >= ACCT_RM_DEPTH) {
					errno = ELOOP;
					r = -1;
					break;
				}
				cfd = openat(dirfd(d), de->d_name, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cfd == -1 || rm_tree(cfd, depth + 1) == -1 ||
				    unlinkat(dirfd(d), de->d_name,
				    AT_REMOVEDIR) == -1) {
					if (errno != ENOENT)
						r = -1;
					continue;
				}
			} else if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
				if (errno != ENOENT)
					r = -1;
				continue;
			}
			removed++;
		}
	}
	saved = errno;
	closedir(d);
	errno = saved;
	return r;
}

/*
 * mailbox_check - may the folder of NAME be removed?  1 yes (*st_r holds
 * its lstat, *root_r the resolved mailbox root, owned), 0 there is none,
 * -1 refused after saying why.  Nothing is changed.
 */
static int
mailbox_check(struct ctl *c, const char *name, struct stat *st_r,
    char **root_r)
{
	char *root = paths_mailbox_root(c->cfg);
	char *dir = paths_account_dir(c->cfg, name);
	char *rroot = NULL, *rdir = NULL;
	size_t n;
	int r = -1;

	*root_r = NULL;
	if (lstat(dir, st_r) == -1) {
		if (errno == ENOENT)
			r = 0;
		else
			ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (S_ISLNK(st_r->st_mode)) {
		ctl_error(CTL_RUNTIME, "%s is a symbolic link; refusing to "
		    "remove it or what it points to", dir);
		goto out;
	}
	if (!S_ISDIR(st_r->st_mode)) {
		ctl_error(CTL_RUNTIME, "%s is not a folder; refusing to remove "
		    "it", dir);
		goto out;
	}
	if ((rroot = realpath(root, NULL)) == NULL ||
	    (rdir = realpath(dir, NULL)) == NULL) {
		ctl_error(CTL_RUNTIME, "%s: %s", rroot ? dir : root,
		    strerror(errno));
		goto out;
	}
	n = strlen(rroot);
	if (strncmp(rdir, rroot, n) != 0 || rdir[n] != '/' ||
	    rdir[n + 1] == '\0' || strchr(rdir + n + 1, '/') != NULL ||
	    strcmp(rdir + n + 1, name) != 0) {
		ctl_error(CTL_RUNTIME, "%s resolves to %s, not a folder of "
		    "the mailbox root %s; refusing to remove it", dir, rdir,
		    rroot);
		goto out;
	}
	*root_r = rroot;
	rroot = NULL;
	r = 1;
out:
	free(rroot);
	free(rdir);
	free(root);
	free(dir);
	return r;
}

/* mailbox_remove - remove ROOT/NAME (checked by mailbox_check, ST its
 * lstat); 0, or -1 after saying why. */
static int
mailbox_remove(const char *root, const char *name, const struct stat *st)
{
	struct stat now;
	int rfd, dfd = -1, r = -1;

	rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd == -1)
		goto fail;
	dfd = openat(rfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dfd == -1)
		goto fail;
	/* the folder checked is the folder opened */
	if (fstat(dfd, &now) == -1)
		goto fail;
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		errno = ESTALE;
		goto fail;
	}
	r = rm_tree(dfd, 0);
	dfd = -1;
	if (r == -1 || unlinkat(rfd, name, AT_REMOVEDIR) == -1 ||
	    fsync(rfd) == -1) {
		r = -1;
		goto fail;
	}
	close(rfd);
	return 0;
fail:
	ctl_error(CTL_RUNTIME, "%s/%s: cannot remove: %s", root, name,
	    errno == ELOOP ? "symbolic link or too deep" : strerror(errno));
	if (dfd != -1)
		close(dfd);
	if (rfd != -1)
		close(rfd);
	return -1;
}

struct del_ctx {
	const char	*name;
	store_write_fn	*extra;
	void		*ctx;
	int		 shared;	/* its home entry goes too */
};

static int
del_fn(struct store_txn *txn, void *ctx)
{
	struct del_ctx *d = ctx;
	int r;

	if ((r = account_tdel(txn, d->name)) != 1)
		return r == 0 ? 1 : -1;
	if (d->shared && node_home_tdel(txn, d->name) == -1)
		return -1;
	return d->extra ? d->extra(txn, d->ctx) : 0;
}

int
ctl_account_remove(struct ctl *c, const char *name, store_write_fn *extra,
    void *ctx)
{
	struct del_ctx d = { name, extra, ctx,
	    *config_str(c->cfg, "server.state") != '\0' };
	struct owner o;
	struct account *a;
	struct store *s;
	struct stat st;
	char *root = NULL;
	int has, r;

	if (acct_owner(c, &o) == -1)
		return CTL_USAGE;
	if ((s = acct_store(c, &o)) == NULL)
		return CTL_RUNTIME;
	a = xmalloc(sizeof(*a));
	r = account_get(s, name, a);
	explicit_bzero(a, sizeof(*a));
	free(a);
	if (r == 0)
		return ctl_error(CTL_USAGE, "unknown account '%s'", name);
	if (r == -1)
		return CTL_RUNTIME;
	/* every check before anything changes */
	if ((has = mailbox_check(c, name, &st, &root)) == -1)
		return CTL_RUNTIME;
	r = store_write(s, del_fn, &d);
	if (r == 1) {
		free(root);
		return ctl_error(CTL_USAGE, "unknown account '%s'", name);
	}
	if (r != 0) {
		free(root);
		return ctl_error(CTL_RUNTIME, "account '%s' not deleted", name);
	}
	r = CTL_OK;
	if (has == 1 && mailbox_remove(root, name, &st) == -1)
		r = CTL_RUNTIME;
	free(root);
	return r;
}

/* del_fetch - the account's fetch entries go with it (fetch.h): a remote
 * mailbox is never fetched into an account that is gone. */
static int
del_fetch(struct store_txn *txn, void *ctx)
{
	return fetch_tdel_account(txn, ctx);
}

static int
cmd_del(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: yubinctl account del NAME");
	if (check_name(argv[0]) == -1)
		return CTL_USAGE;
	if (strcmp(argv[0], ACCOUNT_POSTMASTER) == 0)
		return ctl_error(CTL_USAGE, "account '%s' cannot be deleted: "
		    "RFC 5321 requires mail to postmaster to be accepted",
		    argv[0]);
	return ctl_account_remove(c, argv[0], del_fetch, argv[0]);
}

struct passwd_ctx {
	const struct account	*a;	/* the new hash and secret */
	struct account		 cur;
};

static int
passwd_fn(struct store_txn *txn, void *ctx)
{
	struct passwd_ctx *p = ctx;
	int r;

	r = account_tget(txn, p->a->name, &p->cur);
	if (r != 1)
		return r == 0 ? 1 : -1;
	if (p->cur.apop != p->a->apop)
		return 2;	/* changed under us: ask again */
	memcpy(p->cur.hash, p->a->hash, sizeof(p->cur.hash));
	memcpy(p->cur.secret, p->a->secret, sizeof(p->cur.secret));
	return account_tput(txn, &p->cur) == -1 ? -1 : 0;
}

static int
cmd_passwd(struct ctl *c, int argc, char **argv)
{
	struct passwd_ctx *p;
	struct account *a;
	struct owner o;
	struct store *s;
	const char *why;
	char pw[ACCOUNT_PASSWORD_MAX + 2];
	int i, r = CTL_RUNTIME;

	if (argc < 1 || argc > 2)
		return ctl_error(CTL_USAGE, "usage: yubinctl account passwd "
		    "NAME [PASSWORD]");
	if (check_name(argv[0]) == -1)
		return CTL_USAGE;
	if (acct_owner(c, &o) == -1)
		return CTL_USAGE;
	if ((s = acct_store(c, &o)) == NULL)
		return CTL_RUNTIME;
	pw[0] = '\0';
	a = xcalloc(1, sizeof(*a));
	p = xcalloc(1, sizeof(*p));
	i = account_get(s, argv[0], a);
	if (i == 0)
		r = ctl_error(CTL_USAGE, "unknown account '%s'", argv[0]);
	if (i != 1)
		goto out;
	if (get_password(argc == 2 ? argv[1] : NULL, pw, sizeof(pw)) == -1) {
		r = CTL_USAGE;
		goto out;
	}
	if (account_set_password(a, pw, &why) == -1) {
		r = ctl_error(CTL_USAGE, "%s", why);
		goto out;
	}
	p->a = a;
	i = store_write(s, passwd_fn, p);
	if (i == 1)
		r = ctl_error(CTL_USAGE, "unknown account '%s'", argv[0]);
	else if (i == 2)
		r = ctl_error(CTL_RUNTIME, "account '%s' changed meanwhile; "
		    "try again", argv[0]);
	else if (i != 0)
		r = ctl_error(CTL_RUNTIME, "password of '%s' not stored",
		    argv[0]);
	else
		r = CTL_OK;
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(a, sizeof(*a));
	explicit_bzero(p, sizeof(*p));
	free(a);
	free(p);
	return r;
}

static int
list_fn(void *ctx, const struct account *a)
{
	(void)ctx;
	printf("%s\t%s\t%s\tquota_size=%lld\tquota_count=%lld\n", a->name,
	    a->domain[0] ? a->domain : "-", account_locked(a) ? "no-password" :
	    a->apop && a->smtp_auth ? "apop,smtp_auth" : a->apop ? "apop" :
	    a->smtp_auth ? "smtp_auth" : "-", a->quota_size, a->quota_count);
	return 0;
}

static int
cmd_list(struct ctl *c, int argc, char **argv)
{
	struct owner o;
	struct store *s;
	int r;

	(void)argv;
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: yubinctl account list");
	if (acct_owner(c, &o) == -1)
		return CTL_USAGE;
	if ((s = acct_store(c, &o)) == NULL)
		return CTL_RUNTIME;
	r = account_each(s, list_fn, NULL);
	if (fflush(stdout) == EOF || ferror(stdout))
		return ctl_error(CTL_RUNTIME, "account list: cannot write the "
		    "output");
	if (r != 0)
		return ctl_error(CTL_RUNTIME, "account list: the store has "
		    "errors (see above)");
	return CTL_OK;
}

struct import_ctx {
	const struct ctl *c;
	struct account	*list;
	size_t		 n;
	struct account	 old;
	const char	*over;		/* the domain over the limit */
	long long	 over_n;
};

/* import_limit - after the import's writes: 2 when a domain it touched
 * is over its limit (IC->over), 0 not, -1 store error. */
static int
import_limit(struct store_txn *txn, struct import_ctx *ic)
{
	const char *d;
	size_t i;
	int r;

	for (i = 0; i < ic->n; i++) {
		d = limit_domain(ic->c, ic->list[i].name);
		if ((r = limit_over(ic->c, txn, d, &ic->over_n)) != 0) {
			ic->over = d;
			return r == 1 ? 2 : -1;
		}
		if (d == NULL)
			break;	/* one count for all */
	}
	return 0;
}

static int
import_fn(struct store_txn *txn, void *ctx)
{
	struct import_ctx *ic = ctx;
	size_t i;
	int r;

	for (i = 0; i < ic->n; i++) {
		r = account_tget(txn, ic->list[i].name, &ic->old);
		if (r == -1)
			return -1;
		if (r == 1)	/* replaced: keep when it was made */
			ic->list[i].created = ic->old.created;
		if (account_tput(txn, &ic->list[i]) == -1)
			return -1;
	}
	return import_limit(txn, ic);
}

/* import_id - an imported account's name: NAME@DOMAIN in per-domain mode
 * (addr_account_id). */
static int
import_id(void *ctx, struct account *a, const char **why_r)
{
	struct ctl *c = ctx;
	char local[ACCOUNT_NAME_MAX + 1];

	memcpy(local, a->name, sizeof(local));
	return addr_account_id(c->cfg, local, a->domain, a->name, why_r);
}

static int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct import_ctx *ic;
	struct errlist errs;
	struct owner o;
	struct store *s;
	size_t i;
	int w, r = CTL_RUNTIME;

	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: yubinctl account import "
		    "FILE");
	if (acct_owner(c, &o) == -1)
		return CTL_USAGE;
	ic = xcalloc(1, sizeof(*ic));
	errlist_init(&errs);
	if (account_import_parse(argv[0], import_id, c, &ic->list, &ic->n,
	    &errs) == -1) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		free(ic);
		return CTL_USAGE;
	}
	errlist_free(&errs);
	if ((s = acct_store(c, &o)) == NULL)
		goto out;
	/* all or nothing: one transaction */
	ic->c = c;
	if ((w = store_write(s, import_fn, ic)) != 0) {
		if (w == 2)
			limit_error(c, ic->over, ic->over_n);
		r = ctl_error(w == 2 ? CTL_USAGE : CTL_RUNTIME, "%s: nothing "
		    "imported", argv[0]);
		goto out;
	}
	for (i = 0; i < ic->n; i++)
		if (mailbox_create(c, ic->list[i].name, &o) == -1)
			goto out;
	printf("imported %zu account%s\n", ic->n, ic->n == 1 ? "" : "s");
	r = CTL_OK;
out:
	if (ic->list) {
		explicit_bzero(ic->list, ic->n * sizeof(*ic->list));
		free(ic->list);
	}
	explicit_bzero(ic, sizeof(*ic));
	free(ic);
	return r;
}

struct export_ctx {
	struct buf	out;
	int		bad;
};

static int
export_fn(void *ctx, const struct account *a)
{
	struct export_ctx *e = ctx;

	if (account_export_line(a, &e->out) == -1)
		e->bad++;
	return 0;
}

static int
cmd_export(struct ctl *c, int argc, char **argv)
{
	struct export_ctx e;
	struct owner o;
	struct store *s;
	int r = CTL_RUNTIME;

	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: yubinctl account export "
		    "FILE (- for standard output)");
	if (acct_owner(c, &o) == -1)
		return CTL_USAGE;
	if ((s = acct_store(c, &o)) == NULL)
		return CTL_RUNTIME;
	buf_init(&e.out, 0);
	e.bad = 0;
	if (account_each(s, export_fn, &e) != 0) {
		ctl_error(CTL_RUNTIME, "account export: the store has errors "
		    "(see above); nothing written");
		goto out;
	}
	if (e.bad) {
		ctl_error(CTL_RUNTIME, "account export: %d account%s cannot "
		    "be written in this format (see above); nothing written",
		    e.bad, e.bad == 1 ? "" : "s");
		goto out;
	}
	if (strcmp(argv[0], "-") == 0) {
		if (fflush(stdout) == EOF ||
		    write_all(STDOUT_FILENO, e.out.data ? e.out.data : "",
		    e.out.len) == -1) {
			ctl_error(CTL_RUNTIME, "account export: %s",
			    strerror(errno));
			goto out;
		}
	} else if (file_write_atomic(argv[0], e.out.data ? e.out.data : "",
	    e.out.len, 0600) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", argv[0], strerror(errno));
		goto out;
	}
	r = CTL_OK;
out:
	if (e.out.data)
		explicit_bzero(e.out.data, e.out.len);
	buf_free(&e.out);
	return r;
}

#define DEF_MAX	(64 * 1024)	/* a config.def we are willing to rewrite */

/*
 * cmd_set - account set NAME KEY=VALUE...: write per-account keys into the
 * account's config.def (the seed's per-account overrides; forward_address,
 * reject_domain, mailbox_capacity_* ...).  An empty VALUE removes the key.
 * The new file is checked with the same parser yubind uses before it
 * replaces the old one, so a bad key or value changes nothing.  As root it
 * drops to the server user (after the store lookup) before it reads or
 * writes anything in the account's folder.
 */
static int
cmd_set(struct ctl *c, int argc, char **argv)
{
	struct errlist errs;
	struct config *acfg;
	struct account a;
	struct owner o;
	struct store *s;
	struct buf out;
	char *dir, *path, *tmp, *data = NULL, *line, *save = NULL, *eq;
	char lkey[256];		/* a key name; longer ones are no key of ours */
	size_t len, i, klen;
	int r = CTL_RUNTIME, keep, fd;

	if (argc < 2)
		return ctl_error(CTL_USAGE, "usage: yubinctl account set NAME "
		    "KEY=VALUE...");
	if (check_name(argv[0]) == -1 || acct_owner(c, &o) == -1)
		return CTL_USAGE;
	for (i = 1; i < (size_t)argc; i++) {
		eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i] || strpbrk(argv[i], "\r\n"))
			return ctl_error(CTL_USAGE, "'%s': expected KEY=VALUE",
			    argv[i]);
	}
	if ((s = acct_store(c, &o)) == NULL)
		return CTL_RUNTIME;
	i = (size_t)account_get(s, argv[0], &a);
	if (i == 0)
		return ctl_error(CTL_USAGE, "unknown account '%s'", argv[0]);
	if (i != 1)
		return CTL_RUNTIME;
	/* the account folder belongs to the server user, who could replace
	 * it or config.def with a link: read and write it only as that user */
	if (o.uid != (uid_t)-1) {
		priv_drop(o.uid, o.gid);
		o.uid = (uid_t)-1;
		o.gid = (gid_t)-1;
	}
	dir = paths_account_dir(c->cfg, argv[0]);
	path = xasprintf("%s/config.def", dir);
	tmp = xasprintf("%s/.config.def.new", dir);
	buf_init(&out, DEF_MAX);
	if (file_read(path, DEF_MAX, &data, &len) == -1 && errno != ENOENT) {
		r = ctl_error(CTL_RUNTIME, "%s: %s", path, strerror(errno));
		goto done;
	}
	/* keep every line that none of the new keys replaces */
	for (line = data ? strtok_r(data, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		keep = 1;
		/* the key as config_account reads it (indented lines too) */
		if (config_def_key(line, lkey, sizeof(lkey)))
			for (i = 1; i < (size_t)argc && keep; i++) {
				klen = (size_t)(strchr(argv[i], '=') - argv[i]);
				if (strlen(lkey) == klen &&
				    strncmp(lkey, argv[i], klen) == 0)
					keep = 0;
			}
		if (keep)
			buf_printf(&out, "%s\n", line);
	}
	for (i = 1; i < (size_t)argc; i++)
		if (strchr(argv[i], '=')[1] != '\0')
			buf_printf(&out, "%s\n", argv[i]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd == -1 || write_all(fd, out.data ? out.data : "", out.len) == -1 ||
	    fsync(fd) == -1) {
		r = ctl_error(CTL_RUNTIME, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		goto done;
	}
	if (o.uid != (uid_t)-1 && fchown(fd, o.uid, o.gid) == -1) {
		r = ctl_error(CTL_RUNTIME, "%s: chown: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto done;
	}
	close(fd);
	errlist_init(&errs);
	if (config_account(c->cfg, tmp, &acfg, &errs) == -1) {
		/* name the real file in the messages, not the scratch copy */
		for (i = 0; i < errs.n; i++) {
			const char *colon = strchr(errs.msg[i] + strlen(tmp), ':');

			fprintf(stderr, "yubinctl: %s%s\n", path,
			    strncmp(errs.msg[i], tmp, strlen(tmp)) == 0 && colon ?
			    errs.msg[i] + strlen(tmp) : errs.msg[i]);
		}
		errlist_free(&errs);
		unlink(tmp);
		r = CTL_USAGE;
		goto done;
	}
	errlist_free(&errs);
	config_free(&acfg);
	if (rename(tmp, path) == -1 || fsync_dir(dir) == -1) {
		r = ctl_error(CTL_RUNTIME, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto done;
	}
	printf("%s: %s updated\n", argv[0], path);
	r = CTL_OK;
done:
	buf_free(&out);
	free(data);
	free(tmp);
	free(path);
	free(dir);
	return r;
}

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} account_cmds[] = {
	{ "set", cmd_set },
	{ "add", cmd_add },
	{ "del", cmd_del },
	{ "passwd", cmd_passwd },
	{ "list", cmd_list },
	{ "import", cmd_import },
	{ "export", cmd_export },
	{ "move", ctl_account_move },		/* ctl_node.c */
};

int
ctl_cmd_account(struct ctl *c, int argc, char **argv)
{
	size_t i;

	if (argc >= 1)
		for (i = 0; i < sizeof(account_cmds) / sizeof(account_cmds[0]);
		    i++)
			if (strcmp(argv[0], account_cmds[i].name) == 0)
				return account_cmds[i].fn(c, argc - 1,
				    argv + 1);
	return ctl_error(CTL_USAGE, "usage: yubinctl account "
	    "add|del|passwd|list|import|export|move ... (yubinctl -h shows "
	    "all)");
}
