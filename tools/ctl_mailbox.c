/*
 * ctl_mailbox.c - yubinctl mailbox: the counters of each account (F132),
 * the messages stored in one mailbox and the removal of single ones
 * (F131; SEEDS §24: a message clients cannot download is taken out by
 * the administrator).
 *
 *   mailbox [--recount] [NAME]      mails, bytes, sent, received, deleted
 *   mailbox NAME messages           UIDL SIZE DATE SUBJECT, one a line
 *   mailbox NAME remove UIDL...     to the dustbox when pop3.dustbox is on
 *
 * UIDLs are the ones POP3 reports (maildir_uidl), sizes the octets POP3
 * counts, the date the file's arrival (UTC), the subject decoded (RFC 2047)
 * with control characters and broken UTF-8 replaced by '?' and cut at
 * SUBJECT_SHOW characters.  A removal keeps the account's counters exact:
 * usage and "deleted" change by what left, once; a POP3 session that has
 * the message listed answers -ERR for it and does not count it again.
 *
 * Privilege: as root, drops to the server user (after opening the store)
 * before it reads or changes a mailbox, so a link planted in a Maildir
 * leads only where the server user could go anyway.  Message files are
 * opened with O_NOFOLLOW.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "buf.h"
#include "ctl.h"
#include "maildir.h"
#include "mailparser.h"
#include "paths.h"
#include "priv.h"
#include "usage.h"
#include "utf8.h"
#include "util.h"

#define MAILBOX_LIST_MAX	100000	/* messages listed, as POP3 does */
#define HEADER_READ_MAX		65536	/* bytes of a message read for its subject */
#define SUBJECT_SHOW		60	/* characters shown */
#define MAILBOX_FILE_MODE	0600

struct mailbox_ctx {
	struct ctl	*c;
	int		 recount;
	int		 failed;
};

/* mailbox_one - the counters line of account A (recounted from its
 * Maildir first with --recount). */
static int
mailbox_one(void *ctx, const struct account *a)
{
	struct mailbox_ctx *mc = ctx;
	struct ctl *c = mc->c;
	long long count = 0, bytes = 0;

	if (mc->recount) {
		if (usage_recount(c->store, c->cfg, a->name, &count, &bytes) == -1) {
			ctl_error(CTL_RUNTIME, "%s: cannot recount", a->name);
			mc->failed = 1;
			return 0;
		}
	} else
		usage_get(c->store, a->name, &count, &bytes);
	printf("%-20s mails=%lld bytes=%lld sent=%lld received=%lld deleted=%lld\n",
	    a->name, count, bytes, usage_counter(c->store, "sent", a->name),
	    usage_counter(c->store, "received", a->name),
	    usage_counter(c->store, "deleted", a->name));
	return 0;
}

/*
 * subject_show - TEXT (LEN bytes) made safe for one output line in OUT
 * (SIZE bytes): leading blanks dropped, control characters and bytes that
 * are not UTF-8 replaced by '?', cut after SUBJECT_SHOW characters with
 * "...".  "(none)" for an empty one.
 */
static void
subject_show(const char *text, size_t len, char *out, size_t size)
{
	size_t i = 0, o = 0, chars = 0, n;
	unsigned char c;

	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	while (i < len && o + 8 < size) {
		if (chars == SUBJECT_SHOW) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		c = (unsigned char)text[i];
		n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ?
		    3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || i + n > len || !utf8_valid(text + i, n) ||
		    c < 0x20 || c == 0x7f || (c == 0xc2 && n == 2 &&
		    (unsigned char)text[i + 1] < 0xa0)) {	/* C1 controls */
			out[o++] = '?';
			i += n ? n : 1;
		} else {
			memcpy(out + o, text + i, n);
			o += n;
			i += n;
		}
		chars++;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, size, "(none)");
}

/* message_subject - the displayable subject of the message open at FD:
 * its header's Subject field, RFC 2047 words decoded (mailparser.h). */
static void
message_subject(int fd, char *out, size_t size)
{
	char *h = xmalloc(HEADER_READ_MAX), *raw = xmalloc(MP_FIELD_MAX);
	char *dec = xmalloc(4 * MP_FIELD_MAX);
	size_t hlen = 0, body, n = 0;
	ssize_t got;

	got = read_all(fd, h, HEADER_READ_MAX);
	if (got > 0 && mp_header_split(h, (size_t)got, &hlen, &body) == -1)
		hlen = (size_t)got;	/* a header longer than read: all of it */
	raw[0] = '\0';
	if (hlen > 0 && mp_field(h, hlen, "Subject", raw, MP_FIELD_MAX) == 1)
		n = mp_decode_2047(raw, strlen(raw), dec, 4 * MP_FIELD_MAX);
	subject_show(dec, n, out, size);
	free(h);
	free(raw);
	free(dec);
}

/* mailbox_open - the Maildir path of account NAME and its listing (none
 * when there is no Maildir yet).  CTL_OK, or the exit code after saying
 * why. */
static int
mailbox_open(struct ctl *c, const char *name, char **md_r,
    struct maildir_list *l)
{
	char *dir = paths_account_dir(c->cfg, name);

	*md_r = xasprintf("%s/Maildir", dir);
	free(dir);
	memset(l, 0, sizeof(*l));
	if (maildir_scan(*md_r, MAILBOX_LIST_MAX, l) == -1 && errno != ENOENT) {
		ctl_error(CTL_RUNTIME, "%s: %s", *md_r, strerror(errno));
		free(*md_r);
		*md_r = NULL;
		return CTL_RUNTIME;
	}
	return CTL_OK;
}

/* mailbox_messages - "UIDL SIZE DATE SUBJECT" for every message of NAME,
 * in POP3's order.  A file gone meanwhile is skipped. */
static int
mailbox_messages(struct ctl *c, const char *name)
{
	char uid[MAILDIR_UIDL_MAX + 1], subj[SUBJECT_SHOW * 4 + 16];
	char path[PATH_MAX], when[32];
	struct maildir_list l;
	struct stat st;
	struct tm tm;
	char *md;
	size_t i;
	int r, fd;

	if ((r = mailbox_open(c, name, &md, &l)) != CTL_OK)
		return r;
	for (i = 0; i < l.n; i++) {
		const struct maildir_msg *m = &l.msg[i];

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", md, m->name) >=
		    sizeof(path))
			continue;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			if (fd != -1)
				close(fd);
			continue;	/* gone meanwhile (POP3), or not mail */
		}
		gmtime_r(&st.st_mtime, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		message_subject(fd, subj, sizeof(subj));
		close(fd);
		printf("%s %lld %s %s\n", maildir_uidl(m, uid), m->size, when,
		    subj);
	}
	maildir_list_free(&l);
	free(md);
	return CTL_OK;
}

/* copy_file - SRC into the new file DST, fsync'ed (a dustbox on another
 * file system).  0 or -1. */
static int
copy_file(const char *src, const char *dst)
{
	char b[65536];
	ssize_t n;
	int in, out, r = 0;

	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    MAILBOX_FILE_MODE);
	if (out == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, b, sizeof(b))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write_all(out, b, (size_t)n) == -1) {
			r = -1;
			break;
		}
	}
	if (r == 0 && fsync(out) == -1)
		r = -1;
	if (close(out) == -1)
		r = -1;
	close(in);
	if (r == -1)
		(void)unlink(dst);
	return r;
}

/*
 * remove_one - message M of Maildir MD out: into DUST (NULL: removed), the
 * folders synced, then the counters.  1 done, 0 it was already gone, -1
 * after saying why.
 */
static int
remove_one(struct ctl *c, const char *name, const char *md, const char *dust,
    const struct maildir_msg *m, const char *uid)
{
	char src[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX];
	const char *base = strchr(m->name, '/') + 1;
	int r;

	if ((size_t)snprintf(src, sizeof(src), "%s/%s", md, m->name) >=
	    sizeof(src) || (size_t)snprintf(dir, sizeof(dir), "%s/%.3s", md,
	    m->name) >= sizeof(dir) || (dust && (size_t)snprintf(dst,
	    sizeof(dst), "%s/%s", dust, base) >= sizeof(dst))) {
		ctl_error(CTL_RUNTIME, "%s: %s: path too long", name, uid);
		return -1;
	}
	if (dust) {
		r = rename(src, dst);
		if (r == -1 && errno == EXDEV && (r = copy_file(src, dst)) == 0)
			r = unlink(src);
	} else
		r = unlink(src);
	if (r == -1 && errno == ENOENT)
		return 0;
	if (r == -1 || fsync_dir(dir) == -1 || (dust && fsync_dir(dust) == -1)) {
		ctl_error(CTL_RUNTIME, "%s: %s: %s", name, uid, strerror(errno));
		return -1;
	}
	if (usage_add(c->store, name, -1, -m->size, "deleted") == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s removed, but the counters could "
		    "not be updated (mailbox --recount)", name, uid);
		return -1;
	}
	return 1;
}

/* mailbox_remove - the messages of NAME whose UIDLs are ARGV[0..ARGC) out,
 * each on its own; an unknown one is reported and makes the result
 * CTL_USAGE, a failure CTL_RUNTIME. */
static int
mailbox_remove(struct ctl *c, const char *name, int argc, char **argv)
{
	char uid[MAILDIR_UIDL_MAX + 1];
	struct maildir_list l;
	char *md, *dust = NULL, *root;
	int r, rc = CTL_OK, i;
	size_t k;

	if ((r = mailbox_open(c, name, &md, &l)) != CTL_OK)
		return r;
	if (config_bool(c->cfg, "pop3.dustbox")) {
		root = paths_dustbox_root(c->cfg);
		dust = xasprintf("%s/%s", root, name);
		free(root);
		if (mkdir_p(dust, 0700) == -1) {
			ctl_error(CTL_RUNTIME, "%s: %s", dust, strerror(errno));
			rc = CTL_RUNTIME;
			goto out;
		}
	}
	for (i = 0; i < argc; i++) {
		for (k = 0; k < l.n; k++)
			if (!l.msg[k].deleted &&
			    strcmp(maildir_uidl(&l.msg[k], uid), argv[i]) == 0)
				break;
		if (k == l.n) {
			ctl_error(CTL_USAGE, "%s: no message with UIDL %s", name,
			    argv[i]);
			if (rc == CTL_OK)
				rc = CTL_USAGE;
			continue;
		}
		l.msg[k].deleted = 1;	/* named twice: once */
		r = remove_one(c, name, md, dust, &l.msg[k], argv[i]);
		if (r == 1)
			printf("%s %s%s\n", argv[i], dust ? "moved to " : "removed",
			    dust ? dust : "");
		else if (r == 0) {
			ctl_error(CTL_USAGE, "%s: no message with UIDL %s (removed "
			    "meanwhile)", name, argv[i]);
			if (rc == CTL_OK)
				rc = CTL_USAGE;
		} else
			rc = CTL_RUNTIME;
	}
out:
	maildir_list_free(&l);
	free(md);
	free(dust);
	return rc;
}

/* mailbox_drop - as root, become the server user (the store stays open
 * through its descriptors).  0, or the exit code after saying why. */
static int
mailbox_drop(struct ctl *c)
{
	char *why = NULL;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return CTL_OK;
	if (priv_lookup(c->cfg, &uid, &gid, &why) == -1) {
		ctl_error(CTL_USAGE, "%s", why);
		free(why);
		return CTL_USAGE;
	}
	priv_drop(uid, gid);
	return CTL_OK;
}

int
ctl_cmd_mailbox(struct ctl *c, int argc, char **argv)
{
	struct mailbox_ctx mc = { c, 0, 0 };
	struct account a;
	const char *why;
	int r;

	if (argc >= 2 && (strcmp(argv[1], "messages") == 0 ||
	    strcmp(argv[1], "remove") == 0)) {
		if (strcmp(argv[1], "messages") == 0 && argc != 2)
			return ctl_error(CTL_USAGE, "usage: mailbox NAME messages");
		if (strcmp(argv[1], "remove") == 0 && argc < 3)
			return ctl_error(CTL_USAGE, "usage: mailbox NAME remove "
			    "UIDL...");
		if (!account_name_valid(argv[0], &why))
			return ctl_error(CTL_USAGE, "%s: %s", argv[0], why);
		if (ctl_store(c) == NULL)
			return CTL_RUNTIME;
		r = account_get(c->store, argv[0], &a);
		if (r == 0)
			return ctl_error(CTL_USAGE, "no such account: %s", argv[0]);
		if (r == -1)
			return CTL_RUNTIME;
		if ((r = mailbox_drop(c)) != CTL_OK)
			return r;
		if (strcmp(argv[1], "messages") == 0)
			return mailbox_messages(c, a.name);
		return mailbox_remove(c, a.name, argc - 2, argv + 2);
	}
	if (argc > 0 && strcmp(argv[0], "--recount") == 0) {
		mc.recount = 1;
		argc--;
		argv++;
	}
	if (argc > 1)
		return ctl_error(CTL_USAGE, "usage: mailbox [--recount] [NAME] | "
		    "mailbox NAME messages | mailbox NAME remove UIDL...");
	if (ctl_store(c) == NULL)
		return CTL_RUNTIME;
	if (argc == 1) {
		r = account_get(c->store, argv[0], &a);
		if (r == 0)
			return ctl_error(CTL_USAGE, "no such account: %s", argv[0]);
		if (r == -1)
			return CTL_RUNTIME;
		mailbox_one(&mc, &a);
	} else if (account_each(c->store, mailbox_one, &mc) == -1)
		return CTL_RUNTIME;
	return mc.failed ? CTL_RUNTIME : CTL_OK;
}
