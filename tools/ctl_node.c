/*
 * ctl_node.c - "yubinctl node": the nodes of a site that shares its state
 * (node.h, DESIGN.md §15), and "yubinctl account move".
 *
 *   node add NAME SMTP_ADDR:PORT POP3_ADDR:PORT
 *   node list
 *   node drain NAME | node undrain NAME
 *   account move NAME NODE
 *
 * add registers a node (or changes its addresses) and makes the node key
 * when the site has none.  list shows each node, its addresses, its state
 * and how many mailboxes it keeps.  drain marks a node that takes no new
 * mailboxes (`account add` there is refused; `account move` takes the
 * ones it has elsewhere); undrain ends that.  Every command needs
 * [server] state: a lone node has no registry.  Exit 0, 1 for bad input
 * (nothing changed), 2 when the shared state cannot be reached.
 *
 * account move runs on the node that keeps the mailbox.  With the
 * mailbox's POP3 lock held (no session can change it meanwhile) it first
 * checks that NODE is registered, not draining and answers SMTP; then it
 * makes NODE the home (new mail and logins go there from this moment) and
 * queues every message of the Maildir for the account, each under a once
 * marker named after its file, removing the file only after its queue
 * entry is on disk.  This node's queue then relays them to NODE like any
 * mail for a mailbox homed there.  A crash half-way loses nothing and,
 * run again, duplicates nothing: a file already queued is found by its
 * marker and only removed.  The trace lines this node's delivery wrote
 * (Return-Path, Delivered-To) give the envelope back and are dropped, so
 * NODE's delivery writes them once.  POP3 UIDLs change with the move.
 * A mailing list's files (ml.def, members, archive) go along through the
 * shared state in the transaction that changes the home, and are then
 * removed here; NODE writes them out before it delivers to the list
 * (node_carry.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "account.h"
#include "buf.h"
#include "ctl.h"
#include "maildir.h"
#include "mlfile.h"
#include "node.h"
#include "paths.h"
#include "priv.h"
#include "queue.h"
#include "store.h"
#include "usage.h"
#include "util.h"

#define MOVE_ONCE_TTL	(30 * 86400)	/* a move's markers outlive any rerun */
#define MOVE_FILE_MAX	(256 * 1024 * 1024)
#define MOVE_PROBE_MS	5000
#define MOVE_MESSAGES_MAX 1000000	/* a run; the rest: run it again */
#define MOVE_PASSES	3		/* scans while copies still arrive */

#define HOME_PREFIX	"home/"

static struct store *
node_store(struct ctl *c)
{
	if (*config_str(c->cfg, "server.state") == '\0') {
		ctl_error(CTL_USAGE, "node: no [server] state: a single node "
		    "needs no registry");
		return NULL;
	}
	return ctl_store(c);
}

static int
node_add(struct ctl *c, int argc, char **argv)
{
	char key[NODE_KEY_HEX + 1], why[256];
	struct node_rec n, old;
	struct store *s;
	int r;

	if (argc != 3)
		return ctl_error(CTL_USAGE, "usage: node add NAME SMTP_ADDR:PORT "
		    "POP3_ADDR:PORT");
	memset(&n, 0, sizeof(n));
	if (!node_name_valid(argv[0]))
		return ctl_error(CTL_USAGE, "node name '%s': 1 to %d letters, "
		    "digits, '-', '_' or '.'", argv[0], NODE_NAME_MAX);
	str_copy(n.name, sizeof(n.name), argv[0]);
	if (node_parse(&n, argv[1], argv[2], why, sizeof(why)) == -1)
		return ctl_error(CTL_USAGE, "node %s: %s", n.name, why);
	if ((s = node_store(c)) == NULL)
		return CTL_USAGE;
	if ((r = node_get(s, n.name, &old)) == -1)
		return ctl_error(CTL_RUNTIME, "node %s: shared state unavailable",
		    n.name);
	if (r == 1)
		n.draining = old.draining;	/* new addresses, same state */
	if (node_key(s, key, 1) != 1 || node_put(s, &n) == -1) {
		explicit_bzero(key, sizeof(key));
		return ctl_error(CTL_RUNTIME, "node %s: not stored", n.name);
	}
	explicit_bzero(key, sizeof(key));
	printf("node %s %s\n", n.name, r == 1 ? "changed" : "added");
	return CTL_OK;
}

struct count_ctx {
	char	**names;
	size_t	 *count;
	size_t	  n;
};

static int
count_fn(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct count_ctx *cc = ctx;
	size_t i;

	(void)key;
	(void)klen;
	(void)expires;
	/* "NAME" or "NAME carry" (node.h) */
	if (vlen > strlen(NODE_HOME_CARRY) && memcmp((const char *)val + vlen -
	    strlen(NODE_HOME_CARRY), NODE_HOME_CARRY,
	    strlen(NODE_HOME_CARRY)) == 0)
		vlen -= strlen(NODE_HOME_CARRY);
	for (i = 0; i < cc->n; i++)
		if (strlen(cc->names[i]) == vlen &&
		    memcmp(cc->names[i], val, vlen) == 0)
			cc->count[i]++;
	return 0;
}

struct list_ctx {
	char	**names;
	char	**lines;
	size_t	  n;
};

static int
list_fn(void *ctx, const struct node_rec *n)
{
	struct list_ctx *l = ctx;
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s smtp=", n->name);
	node_addr(&b, n->smtp_host, n->smtp_port);
	buf_puts(&b, " pop3=");
	node_addr(&b, n->pop3_host, n->pop3_port);
	buf_printf(&b, " state=%s", n->draining ? "drain" : "active");
	l->names = xrealloc(l->names, (l->n + 1) * sizeof(*l->names));
	l->lines = xrealloc(l->lines, (l->n + 1) * sizeof(*l->lines));
	l->names[l->n] = xstrdup(n->name);
	l->lines[l->n] = xstrdup(b.data);
	l->n++;
	buf_free(&b);
	return 0;
}

static int
node_list(struct ctl *c, int argc)
{
	struct list_ctx l = { NULL, NULL, 0 };
	struct count_ctx cc;
	struct store_txn *t;
	struct store *s;
	size_t i;
	int r;

	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: node list");
	if ((s = node_store(c)) == NULL)
		return CTL_USAGE;
	if (node_each(s, list_fn, &l) == -1)
		return ctl_error(CTL_RUNTIME, "node list: shared state "
		    "unavailable");
	cc.names = l.names;
	cc.n = l.n;
	cc.count = xcalloc(l.n + 1, sizeof(*cc.count));
	r = store_txn_begin(s, 1, &t);
	if (r == 0) {
		r = store_titer(t, STORE_META, HOME_PREFIX, strlen(HOME_PREFIX),
		    count_fn, &cc);
		store_txn_abort(&t);
	}
	for (i = 0; i < l.n; i++) {
		if (r == 0)
			printf("%s mailboxes=%zu\n", l.lines[i], cc.count[i]);
		else
			printf("%s\n", l.lines[i]);
		free(l.names[i]);
		free(l.lines[i]);
	}
	free(l.names);
	free(l.lines);
	free(cc.count);
	return r == 0 ? CTL_OK : ctl_error(CTL_RUNTIME, "node list: mailboxes "
	    "not counted");
}

static int
node_drain(struct ctl *c, int argc, char **argv, int drain)
{
	struct node_rec n;
	struct store *s;
	int r;

	if (argc != 1)
		return ctl_error(CTL_USAGE, "usage: node %s NAME",
		    drain ? "drain" : "undrain");
	if ((s = node_store(c)) == NULL)
		return CTL_USAGE;
	if ((r = node_get(s, argv[0], &n)) == 0)
		return ctl_error(CTL_USAGE, "unknown node '%s'", argv[0]);
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "node %s: shared state unavailable",
		    argv[0]);
	n.draining = drain;
	if (node_put(s, &n) == -1)
		return ctl_error(CTL_RUNTIME, "node %s: not stored", n.name);
	printf("node %s %s\n", n.name, drain ? "draining: takes no new "
	    "mailboxes" : "active");
	return CTL_OK;
}

int
ctl_cmd_node(struct ctl *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "add") == 0)
		return node_add(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return node_list(c, argc - 1);
	if (argc >= 1 && strcmp(argv[0], "drain") == 0)
		return node_drain(c, argc - 1, argv + 1, 1);
	if (argc >= 1 && strcmp(argv[0], "undrain") == 0)
		return node_drain(c, argc - 1, argv + 1, 0);
	return ctl_error(CTL_USAGE, "usage: node add NAME SMTP_ADDR:PORT "
	    "POP3_ADDR:PORT | node list | node drain NAME | node undrain NAME");
}

/* move_probe - 1 when node N's SMTP address greets with 220. */
static int
move_probe(const struct node_rec *n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval tv = { MOVE_PROBE_MS / 1000, 0 };
	char greet[4];
	int fd, ok;

	if (node_sockaddr(n->smtp_host, n->smtp_port, &ss, &len) == -1)
		return 0;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ok = connect(fd, (struct sockaddr *)&ss, len) == 0 &&
	    read(fd, greet, 3) == 3 && memcmp(greet, "220", 3) == 0;
	if (ok && write(fd, "QUIT\r\n", 6) != 6)
		ok = 1;		/* it greeted: that was the question */
	close(fd);
	return ok;
}

/* move_trace - the envelope this node's delivery wrote in front of the
 * copy (maildir_trace): *SENDER and *RCPT (owned), and the bytes it took
 * in *SKIP.  Without them: "" and DEFRCPT, nothing skipped. */
static void
move_trace(const char *p, size_t len, const char *defrcpt, char **sender,
    char **rcpt, size_t *skip)
{
	const char *nl, *q = p, *end = p + len;

	*sender = NULL;
	*rcpt = NULL;
	*skip = 0;
	if (len > 14 && strncmp(q, "Return-Path: <", 14) == 0 &&
	    (nl = memchr(q, '\n', (size_t)(end - q))) != NULL &&
	    nl - q >= 15 && nl[-1] == '>') {
		*sender = xstrndup(q + 14, (size_t)(nl - 1 - (q + 14)));
		q = nl + 1;
		if ((size_t)(end - q) > 14 && strncmp(q, "Delivered-To: ", 14) == 0 &&
		    (nl = memchr(q, '\n', (size_t)(end - q))) != NULL &&
		    nl - q > 14) {
			*rcpt = xstrndup(q + 14, (size_t)(nl - (q + 14)));
			q = nl + 1;
		}
		*skip = (size_t)(q - p);
	}
	if (*sender == NULL)
		*sender = xstrdup("");
	if (*rcpt == NULL)
		*rcpt = xstrdup(defrcpt);
}

/* move_one - queue the Maildir file PATH (NAME in the Maildir, SIZE
 * octets as counted in the mailbox's usage) for ACCOUNT, then remove it
 * and lower the usage.  0, or -1 (said). */
static int
move_one(struct ctl *c, struct store *s, const char *account,
    const char *path, const char *name, long long size)
{
	struct envelope env, *envs[1];
	struct queue_in *q = NULL;
	struct buf once;
	char *data, *sender, *rcpt, *defrcpt;
	const char *why = "";
	size_t len, skip, i;
	int r;

	if (file_read(path, MOVE_FILE_MAX, &data, &len) == -1) {
		if (errno == ENOENT)
			return 0;	/* gone meanwhile */
		return ctl_error(CTL_RUNTIME, "%s: %s", path, strerror(errno)),
		    -1;
	}
	defrcpt = strchr(account, '@') ? xstrdup(account) :
	    xasprintf("%s@%s", account, config_str(c->cfg, "server.domain"));
	move_trace(data, len, defrcpt, &sender, &rcpt, &skip);
	memset(&env, 0, sizeof(env));
	env.sender = sender;
	envelope_add_rcpt(&env, rcpt, account);
	snprintf(env.client_ip, sizeof(env.client_ip), "local");
	snprintf(env.helo, sizeof(env.helo), "account-move");
	env.arrival = time_now();
	env.size_crlf = (long long)(len - skip);
	for (i = skip; i < len; i++) {
		env.size_crlf += data[i] == '\n';
		env.body_8bit |= (unsigned char)data[i] >= 0x80;
	}
	buf_init(&once, 0);
	buf_printf(&once, "move/%s/%s", account, name);
	r = -1;
	if (queue_in_open(config_home(c->cfg), &q) == -1 ||
	    queue_in_write(q, data + skip, len - skip) == -1) {
		why = strerror(errno);
		if (q != NULL)
			queue_in_abort(&q);
	} else {
		envs[0] = &env;
		r = queue_in_commit_once(&q, envs, 1, s, once.data, once.len,
		    time_now() + MOVE_ONCE_TTL, &why);
	}
	if (r == -1)
		ctl_error(CTL_RUNTIME, "%s: not queued: %s", path, why);
	else if (unlink(path) == -1 && errno != ENOENT) {
		ctl_error(CTL_RUNTIME, "%s: queued, not removed: %s", path,
		    strerror(errno));
		r = -1;
	} else if (usage_add(s, account, -1, -size, NULL) == -1)
		/* the copy at the new home counts it again: say so */
		ctl_error(CTL_RUNTIME, "%s: usage not lowered (yubinctl mailbox "
		    "--recount %s mends it)", path, account);
	env.sender = NULL;	/* freed below */
	envelope_clear(&env);
	buf_free(&once);
	free(sender);
	free(rcpt);
	free(defrcpt);
	free(data);
	return r == -1 ? -1 : 0;
}

int
ctl_account_move(struct ctl *c, int argc, char **argv)
{
	char home[NODE_NAME_MAX + 1], *accdir = NULL, *md = NULL, *lock = NULL;
	char *path;
	const char *self = node_self(c->cfg);
	struct maildir_list ml;
	struct node_rec n;
	struct account *a;
	struct store *s;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	char why[ML_MSG_MAX];
	struct buf carry;
	size_t i, moved = 0, failed = 0;
	int r, fd = -1, dfd = -1, list = 0, rc = CTL_RUNTIME, pass;

	if (argc != 2)
		return ctl_error(CTL_USAGE, "usage: account move NAME NODE");
	if (!account_name_valid(argv[0], NULL))
		return ctl_error(CTL_USAGE, "bad account name '%s'", argv[0]);
	if ((s = node_store(c)) == NULL)
		return CTL_USAGE;
	a = xcalloc(1, sizeof(*a));
	r = account_get(s, argv[0], a);
	explicit_bzero(a, sizeof(*a));
	free(a);
	if (r != 1)
		return r == 0 ? ctl_error(CTL_USAGE, "unknown account '%s'",
		    argv[0]) : ctl_error(CTL_RUNTIME, "shared state unavailable");
	if ((r = node_get(s, argv[1], &n)) != 1)
		return r == 0 ? ctl_error(CTL_USAGE, "unknown node '%s'", argv[1]) :
		    ctl_error(CTL_RUNTIME, "shared state unavailable");
	if ((r = node_home(s, argv[0], home)) == -1)
		return ctl_error(CTL_RUNTIME, "shared state unavailable");
	if (r == 0)
		str_copy(home, sizeof(home), self);
	if (strcmp(home, n.name) == 0)
		return ctl_error(CTL_USAGE, "account '%s' is homed on %s already",
		    argv[0], n.name);
	if (strcmp(home, self) != 0)
		return ctl_error(CTL_USAGE, "account '%s' is homed on node %s: "
		    "run the move there", argv[0], home);
	if (n.draining)
		return ctl_error(CTL_USAGE, "node %s is draining: it takes no "
		    "new mailboxes", n.name);
	if (!move_probe(&n))
		return ctl_error(CTL_USAGE, "node %s does not answer SMTP at "
		    "%s:%d: nothing moved", n.name, n.smtp_host, n.smtp_port);
	/* the mailbox belongs to the server user: touched only as that user */
	if (ctl_owner(c, &uid, &gid) == -1)
		return CTL_USAGE;
	if (uid != (uid_t)-1)
		priv_drop(uid, gid);
	buf_init(&carry, NODE_CARRY_MAX);
	accdir = paths_account_dir(c->cfg, argv[0]);
	md = xasprintf("%s/Maildir", accdir);
	lock = xasprintf("%s/.pop3.lock", accdir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 && errno != ENOENT) {
		ctl_error(CTL_RUNTIME, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if (fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1) {
		rc = ctl_error(CTL_USAGE, "account '%s': its mailbox is in use "
		    "(a POP3 session): nothing moved", argv[0]);
		goto out;
	}
	/* a list's files go along through the shared state (node_carry.c),
	 * read and removed under the list's lock */
	dfd = open(accdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1 && errno != ENOENT) {
		ctl_error(CTL_RUNTIME, "%s: %s", accdir, strerror(errno));
		goto out;
	}
	if (dfd != -1 && (ml_lock(dfd) == -1 ||
	    (list = node_carry_pack(dfd, &carry, why, sizeof(why))) == -1)) {
		rc = ctl_error(CTL_USAGE, "account '%s': %s: nothing moved",
		    argv[0], list == -1 ? why : strerror(errno));
		goto out;
	}
	if (node_carry_home(s, argv[0], n.name, list == 1 ? &carry : NULL) ==
	    -1) {
		ctl_error(CTL_RUNTIME, "account '%s': home not changed", argv[0]);
		goto out;
	}
	if (list == 1 && node_carry_remove(dfd, why, sizeof(why)) == -1)
		ctl_error(CTL_RUNTIME, "%s: the list's files went to %s but are "
		    "not removed here: %s", accdir, n.name, why);
	/* again while copies come in: a delivery that began before the home
	 * changed may still be storing one here */
	for (pass = 0; pass < MOVE_PASSES; pass++) {
		memset(&ml, 0, sizeof(ml));
		if (maildir_scan(md, MOVE_MESSAGES_MAX, &ml) == -1 &&
		    errno != ENOENT) {
			ctl_error(CTL_RUNTIME, "%s: %s (homed on %s now; run the "
			    "move again to take the mail)", md, strerror(errno),
			    n.name);
			goto out;
		}
		for (i = 0; i < ml.n; i++) {
			path = xasprintf("%s/%s", md, ml.msg[i].name);
			if (move_one(c, s, argv[0], path,
			    strchr(ml.msg[i].name, '/') + 1, ml.msg[i].size) == -1)
				failed++;
			else
				moved++;
			free(path);
		}
		i = ml.n;
		maildir_list_free(&ml);
		if (i == 0 || failed > 0)
			break;
		if (pass + 1 < MOVE_PASSES)
			sleep(1);
	}
	printf("account %s moved to node %s: %zu messages queued for it%s%s\n",
	    argv[0], n.name, moved, list == 1 ? "; the list's files go with "
	    "it" : "", failed ? "; some left (run it again)" : "");
	rc = failed ? CTL_RUNTIME : CTL_OK;
out:
	if (dfd != -1)
		close(dfd);
	buf_free(&carry);
	if (fd != -1)
		close(fd);
	free(lock);
	free(md);
	free(accdir);
	return rc;
}
