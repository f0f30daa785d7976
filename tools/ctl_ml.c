/*
 * ctl_ml.c - "yubinctl ml": mailing-list accounts (DESIGN.md §5, §11; the
 * seed's wmscrtml and wmsmngml, SEEDS.md §18, §27).
 *
 * A list is an account (ctl_account_create) whose folder holds ml.def and
 * ml_member.csv (lib/mlfile.h).  create, add, del, list, import, export,
 * set, show, remove.
 *
 * Runs as the invoking user, root or the server user.  The list folder
 * belongs to the server user, who could put a link where a file is
 * expected: the folder is opened once, without following a link, from a
 * mailbox root owned by root or the server user and writable by nobody
 * else, and every file in it is read and replaced through that fd
 * (openat with O_NOFOLLOW, a scratch file made O_EXCL, renameat).  What
 * root writes there is given to the server user.  Changes to a list's
 * files hold its folder's flock (ml_lock), as the list plugin does.
 *
 * Never: change anything when one address, line or value of the command
 * is bad; print the post password; remove an account that is not a list.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "mlfile.h"
#include "node.h"
#include "paths.h"
#include "store.h"
#include "util.h"

#define USAGE_ML \
	"usage: yubinctl ml create NAME[@DOMAIN] [PASSWORD|-] [ADMIN_ADDRESS]\n" \
	"       yubinctl ml add|del NAME ADDR... | ml list|show|remove NAME\n" \
	"       yubinctl ml import|export NAME FILE | ml set NAME KEY=VALUE..."

/* an open list */
struct ml {
	const char	*name;		/* the account's name */
	char		*dir;		/* its folder, for messages */
	char		*def_path, *mem_path;
	int		 dfd;		/* the folder; -1 none */
	uid_t		 uid;		/* owner of what we write; -1 unchanged */
	gid_t		 gid;
	struct ml_def	 def;
	char		*deftext;	/* ml.def as read */
	size_t		 deflen;
};

static void
ml_close(struct ml *m)
{
	if (m->dfd != -1)
		close(m->dfd);
	ml_def_free(&m->def);
	free(m->deftext);
	free(m->dir);
	free(m->def_path);
	free(m->mem_path);
	memset(m, 0, sizeof(*m));
	m->dfd = -1;
}

static void
errs_print(struct ml_errs *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		fprintf(stderr, "%s\n", e->msg[i]);
	if (e->dropped)
		fprintf(stderr, "(%zu more errors not shown)\n", e->dropped);
}

/* list_name_ok - 0, or -1 after saying why NAME is no list name. */
static int
list_name_ok(const char *name)
{
	const char *why;
	char esc[ACCOUNT_NAME_MAX * 4 + 8];

	if (account_name_valid(name, &why))
		return 0;
	ctl_error(CTL_USAGE, "bad list name '%s': %s",
	    str_escape(esc, sizeof(esc), name, strlen(name)), why);
	return -1;
}

/*
 * dir_open - the folder of account NAME, opened without following a link
 * from a checked mailbox root; it must belong to root or M->uid (the
 * effective uid when not root) and be writable by nobody else.  0, or -1
 * after saying why.
 */
static int
dir_open(struct ctl *c, struct ml *m)
{
	char *root = paths_mailbox_root(c->cfg);
	uid_t me = m->uid != (uid_t)-1 ? m->uid : geteuid();
	struct stat st;
	int rfd, saved;

	if ((rfd = dir_open_verified(root, m->uid)) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", root, errno == EPERM ?
		    "not owned by root or the server user, or writable by "
		    "others; refusing to use it" : errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		free(root);
		return -1;
	}
	free(root);
	m->dfd = openat(rfd, m->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	saved = errno;
	close(rfd);
	if (m->dfd == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", m->dir, saved == ELOOP ||
		    saved == ENOTDIR ? "not a folder (a symbolic link?)" :
		    strerror(saved));
		return -1;
	}
	if (fstat(m->dfd, &st) == -1 || (st.st_uid != 0 && st.st_uid != me) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		ctl_error(CTL_RUNTIME, "%s: not owned by root or the server "
		    "user, or writable by others; refusing to use it", m->dir);
		return -1;
	}
	return 0;
}

/*
 * ml_home - with several nodes (node.h), a list's files are on its home
 * node: run elsewhere, say where; run there after a move, write the files
 * it brought first (node_carry.c).  CTL_OK or an exit code.
 */
static int
ml_home(struct ctl *c, struct store *s, struct ml *m)
{
	char home[NODE_NAME_MAX + 1], why[ML_MSG_MAX], *root;
	const char *self = node_self(c->cfg);
	int r, carry;

	if (*config_str(c->cfg, "server.state") == '\0')
		return CTL_OK;
	r = node_home_x(s, m->name, home, &carry);
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "shared state unavailable");
	if (r == 0)
		return CTL_OK;
	if (strcmp(home, self) != 0)
		return ctl_error(CTL_USAGE, "list '%s' is homed on node %s, "
		    "where its files are: run this there", m->name, home);
	if (!carry)
		return CTL_OK;
	root = paths_mailbox_root(c->cfg);
	r = node_carry_take(s, self, m->name, root, m->uid, m->gid, why,
	    sizeof(why));
	free(root);
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "list '%s': the files it brought "
		    "to this node cannot be written: %s", m->name, why);
	return CTL_OK;
}

/*
 * ml_begin - check NAME, find its account, open its folder (locked when
 * LOCK) and read its ml.def.  CTL_OK, or the exit code after saying why.
 */
static int
ml_begin(struct ctl *c, const char *name, int lock, struct ml *m)
{
	struct ml_errs errs;
	struct account *a;
	struct store *s;
	char why[ML_MSG_MAX];
	int r;

	memset(m, 0, sizeof(*m));
	m->dfd = -1;
	m->name = name;
	if (list_name_ok(name) == -1)
		return CTL_USAGE;
	if (ctl_owner(c, &m->uid, &m->gid) == -1)
		return CTL_USAGE;
	if ((s = ctl_store(c)) == NULL)
		return CTL_RUNTIME;
	a = xmalloc(sizeof(*a));
	r = account_get(s, name, a);
	explicit_bzero(a, sizeof(*a));
	free(a);
	if (r == 0)
		return ctl_error(CTL_USAGE, "unknown list '%s'", name);
	if (r == -1)
		return CTL_RUNTIME;
	if ((r = ml_home(c, s, m)) != CTL_OK)
		return r;
	m->dir = paths_account_dir(c->cfg, name);
	m->def_path = xasprintf("%s/%s", m->dir, ML_DEF_FILE);
	m->mem_path = xasprintf("%s/%s", m->dir, ML_MEMBER_FILE);
	if (dir_open(c, m) == -1)
		return CTL_RUNTIME;
	if (lock && ml_lock(m->dfd) == -1)
		return ctl_error(CTL_RUNTIME, "%s: lock: %s", m->dir,
		    strerror(errno));
	r = ml_file_read(m->dfd, ML_DEF_FILE, ML_DEF_FILE_MAX, &m->deftext,
	    &m->deflen, why, sizeof(why));
	if (r == 1)
		return ctl_error(CTL_USAGE, "'%s' is an account, not a list "
		    "(no %s)", name, m->def_path);
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", m->def_path, why);
	if (ml_def_init(&m->def) == -1)
		return ctl_error(CTL_RUNTIME, "out of memory");
	ml_errs_init(&errs);
	if (ml_def_parse(&m->def, m->def_path, m->deftext, m->deflen,
	    &errs) == -1) {
		errs_print(&errs);
		ml_errs_free(&errs);
		return CTL_USAGE;
	}
	ml_errs_free(&errs);
	return CTL_OK;
}

/* members_load - ml_member.csv of M into L.  CTL_OK or an exit code. */
static int
members_load(struct ml *m, struct ml_list *l)
{
	struct ml_errs errs;

	ml_list_init(l);
	ml_errs_init(&errs);
	if (ml_list_load(l, m->dfd, m->mem_path, &errs) == -1) {
		errs_print(&errs);
		ml_errs_free(&errs);
		ml_list_free(l);
		return CTL_USAGE;
	}
	ml_errs_free(&errs);
	return CTL_OK;
}

/* file_put - replace NAME in M's folder by DATA.  CTL_OK or CTL_RUNTIME. */
static int
file_put(struct ml *m, const char *name, const char *path, const char *data,
    size_t len)
{
	char why[ML_MSG_MAX];

	if (ml_file_write(m->dfd, name, data, len, ML_FILE_MODE, m->uid, m->gid,
	    why, sizeof(why)) == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", path, why);
	return CTL_OK;
}

/* members_save - L as M's ml_member.csv, comments kept. */
static int
members_save(struct ml *m, const struct ml_list *l)
{
	char *data;
	size_t len;
	int r;

	if (ml_list_format(l, 1, &data, &len) == -1)
		return ctl_error(CTL_RUNTIME, "out of memory");
	r = file_put(m, ML_MEMBER_FILE, m->mem_path, data, len);
	free(data);
	return r;
}

/*
 * role_clash - 0 when the list LOCAL (the name's local part, LEN bytes)
 * neither ends in one of ml_suffixes nor has an account taking one of its
 * addresses; else -1 after saying which.
 */
static int
role_clash(struct ctl *c, const char *local, size_t len)
{
	struct account *a;
	struct store *s;
	char name[ACCOUNT_NAME_MAX + 32], base[ACCOUNT_NAME_MAX + 32];
	const char *role;
	size_t i;
	int r = 0;

	if (len < sizeof(name)) {
		memcpy(name, local, len);
		name[len] = '\0';
		if ((role = ml_addr_role(name, base, sizeof(base))) != NULL) {
			ctl_error(CTL_USAGE, "a list name must not end in -%s: "
			    "NAME-%s@DOMAIN is an address of the list NAME",
			    role, role);
			return -1;
		}
	}
	if ((s = ctl_store(c)) == NULL)
		return -1;
	a = xmalloc(sizeof(*a));
	for (i = 0; i < ML_ROLES && r == 0; i++) {
		snprintf(name, sizeof(name), "%.*s-%s", (int)len, local,
		    ml_roles[i]);
		if (strlen(name) <= ACCOUNT_NAME_MAX &&
		    (r = account_get(s, name, a)) == 1)
			ctl_error(CTL_USAGE, "account '%s' exists and would take "
			    "an address of the list", name);
	}
	explicit_bzero(a, sizeof(*a));
	free(a);
	return r == 0 ? 0 : -1;
}

/*
 * ml create NAME[@DOMAIN] [PASSWORD|-] [ADMIN_ADDRESS]
 */
static int
cmd_create(struct ctl *c, int argc, char **argv)
{
	struct account *a;
	struct ml m;
	struct buf def;
	const char *why, *pwarg = NULL, *dom = "";
	char *spec, *at, *admin = NULL, esc[300];
	int r;

	if (argc < 1 || argc > 3)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml create "
		    "NAME[@DOMAIN] [PASSWORD|-] [ADMIN_ADDRESS]");
	if (argc >= 2 && strcmp(argv[1], "-") != 0)
		pwarg = argv[1];
	if (argc == 3 && !ml_addr_check(argv[2], &why))
		return ctl_error(CTL_USAGE, "bad admin address '%s': %s",
		    str_escape(esc, sizeof(esc), argv[2], strlen(argv[2])), why);
	spec = xstrdup(argv[0]);
	if ((at = strchr(argv[0], '@')) != NULL) {
		dom = at + 1;
		if (*dom && account_domain_valid(dom, &why) &&
		    !addr_domain_is_local(c->cfg, dom)) {
			free(spec);
			return ctl_error(CTL_USAGE, "'%s' is not a local domain "
			    "(server.domain, server.alias)", dom);
		}
	}
	if (role_clash(c, argv[0], at ? (size_t)(at - argv[0]) :
	    strlen(argv[0])) == -1) {
		free(spec);
		return CTL_USAGE;
	}
	if (argc == 3)
		admin = xstrdup(argv[2]);
	else
		admin = xasprintf("%s@%s", ACCOUNT_POSTMASTER, *dom ? dom :
		    config_str(c->cfg, "server.domain"));
	a = xcalloc(1, sizeof(*a));
	r = ctl_account_create(c, spec, pwarg, a);
	free(spec);
	if (r != CTL_OK)
		goto out;
	buf_init(&def, 0);
	buf_printf(&def, "# ml.def - the list %s (yubinctl ml show %s: every "
	    "key)\ncount=0\nadmin_mail_address=%s\n", a->name, a->name, admin);
	if (*dom)
		buf_printf(&def, "domain=%s\n", a->domain);
	memset(&m, 0, sizeof(m));
	m.dfd = -1;
	m.name = a->name;
	m.dir = paths_account_dir(c->cfg, a->name);
	m.def_path = xasprintf("%s/%s", m.dir, ML_DEF_FILE);
	m.mem_path = xasprintf("%s/%s", m.dir, ML_MEMBER_FILE);
	r = CTL_RUNTIME;
	if (ctl_owner(c, &m.uid, &m.gid) == 0 && dir_open(c, &m) == 0 &&
	    ml_lock(m.dfd) == 0 &&
	    file_put(&m, ML_MEMBER_FILE, m.mem_path, "", 0) == CTL_OK &&
	    file_put(&m, ML_DEF_FILE, m.def_path, def.data, def.len) == CTL_OK)
		r = CTL_OK;
	ml_close(&m);
	buf_free(&def);
	if (r != CTL_OK) {
		/* no list account without its files */
		(void)ctl_account_remove(c, a->name, NULL, NULL);
		goto out;
	}
	printf("list '%s' created (admin %s)\n", a->name, admin);
out:
	explicit_bzero(a, sizeof(*a));
	free(a);
	free(admin);
	return r;
}

/* arg_member - ADDR as given on the command line ("Name <a@b>" or a@b). */
static int
arg_member(const char *arg, char *name, size_t namesize, char *addr)
{
	char why[ML_MSG_MAX], esc[300];
	int r;

	r = ml_member_parse(arg, strlen(arg), name, namesize, addr,
	    ML_ADDR_MAX + 1, why, sizeof(why));
	if (r == 1)
		return 0;
	ctl_error(CTL_USAGE, "bad member '%s': %s",
	    str_escape(esc, sizeof(esc), arg, strlen(arg)), r == 0 ?
	    "no address" : why);
	return -1;
}

/* members_change - ml add (ADD 1) or ml del: every address or nothing. */
static int
members_change(struct ctl *c, int argc, char **argv, int add)
{
	char name[ML_LINE_MAX + 1], addr[ML_ADDR_MAX + 1];
	struct ml_list l;
	struct ml m;
	const char *why;
	int i, r;

	if (argc < 2)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml %s NAME ADDR...",
		    add ? "add" : "del");
	for (i = 1; i < argc; i++)
		if (arg_member(argv[i], name, sizeof(name), addr) == -1)
			return CTL_USAGE;
	if ((r = ml_begin(c, argv[0], 1, &m)) != CTL_OK ||
	    (r = members_load(&m, &l)) != CTL_OK) {
		ml_close(&m);
		return r;
	}
	for (i = 1; i < argc && r == CTL_OK; i++) {
		(void)arg_member(argv[i], name, sizeof(name), addr);
		if (!add) {
			if (ml_list_del(&l, addr) == 0)
				r = ctl_error(CTL_USAGE, "%s is not a member of "
				    "%s; nothing changed", addr, argv[0]);
			continue;
		}
		switch (ml_list_add(&l, name, addr, &why)) {
		case 0:
			r = ctl_error(CTL_USAGE, "%s is already a member of %s; "
			    "nothing changed", addr, argv[0]);
			break;
		case -1:
			r = ctl_error(CTL_USAGE, "%s: %s; nothing changed", addr,
			    why);
			break;
		}
	}
	if (r == CTL_OK && (r = members_save(&m, &l)) == CTL_OK)
		printf("%s: %d %s, %zu member%s\n", argv[0], argc - 1,
		    add ? "added" : "removed", l.members,
		    l.members == 1 ? "" : "s");
	ml_list_free(&l);
	ml_close(&m);
	return r;
}

static int
cmd_add(struct ctl *c, int argc, char **argv)
{
	return members_change(c, argc, argv, 1);
}

static int
cmd_del(struct ctl *c, int argc, char **argv)
{
	return members_change(c, argc, argv, 0);
}

/* put_out - DATA to FILE ("-": standard output).  CTL_OK or CTL_RUNTIME. */
static int
put_out(const char *file, const char *data, size_t len)
{
	if (strcmp(file, "-") == 0) {
		if (fflush(stdout) == EOF || write_all(STDOUT_FILENO, data,
		    len) == -1)
			return ctl_error(CTL_RUNTIME, "standard output: %s",
			    strerror(errno));
		return CTL_OK;
	}
	if (file_write_atomic(file, data, len, ML_FILE_MODE) == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", file, strerror(errno));
	return CTL_OK;
}

/* cmd_export - "ml list NAME" (FILE NULL: standard output) and "ml export
 * NAME FILE": the members in canonical form, no comments. */
static int
members_out(struct ctl *c, const char *list, const char *file)
{
	struct ml_list l;
	struct ml m;
	char *data;
	size_t len;
	int r;

	if ((r = ml_begin(c, list, 0, &m)) != CTL_OK ||
	    (r = members_load(&m, &l)) != CTL_OK) {
		ml_close(&m);
		return r;
	}
	if (ml_list_format(&l, 0, &data, &len) == -1)
		r = ctl_error(CTL_RUNTIME, "out of memory");
	else {
		r = put_out(file, data, len);
		free(data);
	}
	ml_list_free(&l);
	ml_close(&m);
	return r;
}

static int
cmd_list(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml list NAME");
	return members_out(c, argv[0], "-");
}

static int
cmd_export(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml export NAME FILE "
		    "(- for standard output)");
	return members_out(c, argv[0], argv[1]);
}

/* cmd_import - members of FILE (E-Post format) added to the list; one bad
 * line and nothing is. */
static int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct ml_list in, l;
	struct ml_errs errs;
	struct ml m;
	const char *why;
	char *data;
	size_t len, i, added = 0, had = 0;
	int r;

	if (argc != 2)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml import NAME FILE");
	if (file_read(argv[1], ML_FILE_MAX, &data, &len) == -1)
		return ctl_error(CTL_USAGE, "%s: %s", argv[1], errno == EFBIG ?
		    "file too large" : errno == EINVAL ? "not a regular file" :
		    strerror(errno));
	ml_list_init(&in);
	ml_errs_init(&errs);
	r = ml_list_parse(&in, argv[1], data, len, &errs);
	free(data);
	if (r == -1) {
		errs_print(&errs);
		ml_errs_free(&errs);
		ml_list_free(&in);
		return ctl_error(CTL_USAGE, "%s: nothing imported", argv[1]);
	}
	ml_errs_free(&errs);
	if ((r = ml_begin(c, argv[0], 1, &m)) != CTL_OK ||
	    (r = members_load(&m, &l)) != CTL_OK) {
		ml_list_free(&in);
		ml_close(&m);
		return r;
	}
	for (i = 0; i < in.n && r == CTL_OK; i++) {
		if (in.v[i].addr == NULL)
			continue;
		switch (ml_list_add(&l, in.v[i].name, in.v[i].addr, &why)) {
		case 1:
			added++;
			break;
		case 0:
			had++;
			break;
		default:
			r = ctl_error(CTL_USAGE, "%s:%u: %s; nothing imported",
			    argv[1], in.v[i].line, why);
		}
	}
	if (r == CTL_OK && (r = members_save(&m, &l)) == CTL_OK)
		printf("%s: %zu imported, %zu already members, %zu member%s\n",
		    argv[0], added, had, l.members, l.members == 1 ? "" : "s");
	ml_list_free(&in);
	ml_list_free(&l);
	ml_close(&m);
	return r;
}

/* cmd_set - KEY=VALUE... into ml.def (an empty VALUE: back to the
 * default), checked by the parser the plugin uses; one bad pair and
 * nothing changes. */
static int
cmd_set(struct ctl *c, int argc, char **argv)
{
	struct ml_errs errs;
	struct ml_def d;
	struct ml m;
	char why[ML_MSG_MAX], key[64], *text, *next, esc[300];
	size_t len, nlen, klen;
	const char *eq;
	int i, r;

	if (argc < 2)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml set NAME "
		    "KEY=VALUE...");
	for (i = 1; i < argc; i++) {
		eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i] || strpbrk(argv[i], "\r\n"))
			return ctl_error(CTL_USAGE, "'%s': expected KEY=VALUE",
			    str_escape(esc, sizeof(esc), argv[i],
			    strlen(argv[i])));
	}
	if ((r = ml_begin(c, argv[0], 1, &m)) != CTL_OK) {
		ml_close(&m);
		return r;
	}
	text = xstrndup(m.deftext, m.deflen);
	len = m.deflen;
	for (i = 1; i < argc; i++) {
		eq = strchr(argv[i], '=');
		klen = (size_t)(eq - argv[i]);
		if (klen >= sizeof(key)) {
			r = ctl_error(CTL_USAGE, "unknown key '%s'",
			    str_escape(esc, sizeof(esc), argv[i], klen));
			break;
		}
		memcpy(key, argv[i], klen);
		key[klen] = '\0';
		if (strcmp(key, ml_keys[ML_DOMAIN].name) == 0) {
			/* the account's own: its name or record carries it */
			r = ctl_error(CTL_USAGE, "%s: set by ml create "
			    "NAME@DOMAIN, not changed afterwards", key);
			break;
		}
		if (ml_def_edit(text, len, key, eq + 1, &next, &nlen, why,
		    sizeof(why)) == -1) {
			r = ml_key_find(key) == -1 ? ctl_error(CTL_USAGE, "%s",
			    why) : ctl_error(CTL_USAGE, "%s: %s", key, why);
			break;
		}
		free(text);
		text = next;
		len = nlen;
	}
	if (r == CTL_OK) {
		/* the whole new file, as the plugin will read it */
		ml_errs_init(&errs);
		if (ml_def_init(&d) == -1)
			r = ctl_error(CTL_RUNTIME, "out of memory");
		else if (ml_def_parse(&d, m.def_path, text, len, &errs) == -1) {
			errs_print(&errs);
			r = CTL_USAGE;
		}
		ml_def_free(&d);
		ml_errs_free(&errs);
	}
	if (r == CTL_OK &&
	    (r = file_put(&m, ML_DEF_FILE, m.def_path, text, len)) == CTL_OK)
		printf("%s: %s updated\n", argv[0], m.def_path);
	free(text);
	ml_close(&m);
	return r;
}

/* effective - key ID's value for "ml show" into OUT. */
static void
effective(struct ctl *c, struct ml *m, int id, struct buf *out)
{
	const struct ml_key *k = &ml_keys[id];
	const char *at;
	char key[128];

	buf_reset(out);
	if (m->def.line[id] == 0 && (k->flags & ML_SERVER)) {
		snprintf(key, sizeof(key), "server.%s", k->name);
		if (config_text(c->cfg, key, out) == 1)
			return;
	}
	if (k->type == ML_T_INT || k->type == ML_T_BOOL) {
		buf_printf(out, "%lld", m->def.num[id]);
		return;
	}
	if (k->type == ML_T_SECRET) {
		buf_puts(out, m->def.str[id][0] ? "(set)" : "");
		return;
	}
	if (m->def.str[id][0] != '\0') {
		buf_puts(out, m->def.str[id]);
		return;
	}
	at = strchr(m->name, '@');
	switch (id) {
	case ML_NAME:
		buf_printf(out, "%.*s", at ? (int)(at - m->name) :
		    (int)strlen(m->name), m->name);
		break;
	case ML_SUBJECT_FORMAT:
		/* the Wiz98 tag: [NAME0001] */
		if (m->def.str[ML_NAME][0] != '\0')
			buf_printf(out, "[%s%%04d]", m->def.str[ML_NAME]);
		else
			buf_printf(out, "[%.*s%%04d]", at ?
			    (int)(at - m->name) : (int)strlen(m->name),
			    m->name);
		break;
	case ML_RETURN_PATH:
		effective(c, m, ML_ADMIN, out);
		break;
	}
}

static int
cmd_show(struct ctl *c, int argc, char **argv)
{
	struct buf v;
	struct ml m;
	int i, r;

	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml show NAME");
	if ((r = ml_begin(c, argv[0], 0, &m)) != CTL_OK) {
		ml_close(&m);
		return r;
	}
	buf_init(&v, 0);
	for (i = 0; i < ML_NKEYS; i++) {
		effective(c, &m, i, &v);
		printf("%s=%.*s\n", ml_keys[i].name, (int)v.len,
		    v.data ? v.data : "");
	}
	buf_free(&v);
	ml_close(&m);
	if (fflush(stdout) == EOF || ferror(stdout))
		return ctl_error(CTL_RUNTIME, "ml show: cannot write the output");
	return CTL_OK;
}

/* the list's state in LMDB: the account's counters (lib/usage.h) and the
 * list plugin's keys "NAME/..." */
struct rm_keys {
	const char	*name;
	struct buf	*keys;		/* owned copies */
	size_t		 n, cap;
};

static int
rm_collect(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct rm_keys *k = ctx;

	(void)val;
	(void)vlen;
	(void)expires;
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 16;
		k->keys = xrealloc(k->keys, k->cap * sizeof(*k->keys));
	}
	buf_init(&k->keys[k->n], 0);
	buf_append(&k->keys[k->n++], key, klen);
	return 0;
}

static int
rm_state(struct store_txn *txn, void *ctx)
{
	static const char *const counters[] = { "usage/count", "usage/bytes",
	    "received", "deleted", "sent" };
	struct rm_keys *k = ctx;
	struct buf p;
	size_t i;
	int r = 0;

	buf_init(&p, 0);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]) && r == 0; i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", counters[i], k->name);
		if (store_tdel(txn, STORE_COUNTERS, p.data, p.len) == -1)
			r = -1;
	}
	buf_reset(&p);
	buf_puts(&p, ML_PLUGIN_NAME);
	buf_putc(&p, '\0');
	buf_printf(&p, "%s/", k->name);
	for (i = 0; i < k->n; i++)
		buf_free(&k->keys[i]);
	k->n = 0;
	if (r == 0 && store_titer(txn, STORE_PLUGIN, p.data, p.len, rm_collect,
	    k) != 0)
		r = -1;
	for (i = 0; i < k->n && r == 0; i++)
		if (store_tdel(txn, STORE_PLUGIN, k->keys[i].data,
		    k->keys[i].len) == -1)
			r = -1;
	buf_free(&p);
	return r;
}

static int
cmd_remove(struct ctl *c, int argc, char **argv)
{
	struct rm_keys k;
	struct ml m;
	size_t i;
	int r;

	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: yubinctl ml remove NAME");
	if (strcmp(argv[0], ACCOUNT_POSTMASTER) == 0)
		return ctl_error(CTL_USAGE, "account '%s' cannot be deleted",
		    argv[0]);
	/* a list: its ml.def is there and reads */
	r = ml_begin(c, argv[0], 0, &m);
	ml_close(&m);
	if (r != CTL_OK)
		return r;
	memset(&k, 0, sizeof(k));
	k.name = argv[0];
	r = ctl_account_remove(c, argv[0], rm_state, &k);
	for (i = 0; i < k.n; i++)
		buf_free(&k.keys[i]);
	free(k.keys);
	if (r == CTL_OK)
		printf("list '%s' removed\n", argv[0]);
	return r;
}

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} ml_cmds[] = {
	{ "create", cmd_create },
	{ "add", cmd_add },
	{ "del", cmd_del },
	{ "list", cmd_list },
	{ "import", cmd_import },
	{ "export", cmd_export },
	{ "set", cmd_set },
	{ "show", cmd_show },
	{ "remove", cmd_remove },
};

int
ctl_cmd_ml(struct ctl *c, int argc, char **argv)
{
	size_t i;

	if (argc >= 1)
		for (i = 0; i < sizeof(ml_cmds) / sizeof(ml_cmds[0]); i++)
			if (strcmp(argv[0], ml_cmds[i].name) == 0)
				return ml_cmds[i].fn(c, argc - 1, argv + 1);
	fprintf(stderr, "%s\n", USAGE_ML);
	return CTL_USAGE;
}
