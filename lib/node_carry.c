/*
 * node_carry.c - a mailing list's files taken along when `yubinctl
 * account move` gives the list another home node (node.h, DESIGN.md §11,
 * §15).
 *
 * A list's definition, members and archive are files in its folder on its
 * home node, where its mail is delivered and the list plugin runs; its
 * counters, pending confirmations and bounce counts are plugin records,
 * which every node shares already.  A move packs the files into the
 * shared record "carry/ACCOUNT" and, in the same transaction, homes the
 * account on the new node with NODE_HOME_CARRY after its name.  The new
 * home writes the files into the list's folder before it delivers any
 * mail for it (its queue manager reads the home of every local recipient
 * anyway: no extra read for other mailboxes) or before `yubinctl ml`
 * runs there, and only then removes the record and the mark, in one
 * transaction.  A crash on either side repeats a step and loses nothing:
 * the record is the only copy in between, and writing it out twice
 * writes the same files.
 *
 * Packed form: for each file its name ("ml.def", "ml_member.csv" or
 * "archive/NUMBER"), a NUL, its length as 8 bytes big-endian, its bytes.
 * Unpacking takes no other name, no length past the end, nothing after
 * the last file, and needs ml.def.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "mlfile.h"
#include "node.h"
#include "store.h"
#include "util.h"

#define CARRY_PREFIX	"carry/"
#define HOME_PREFIX	"home/"
#define ARCHIVE_NAME_MAX 20		/* digits of a post's number */

/* carry_name_ok - NAME is one a list's folder may carry. */
static int
carry_name_ok(const char *name)
{
	size_t n;

	if (strcmp(name, ML_DEF_FILE) == 0 || strcmp(name, ML_MEMBER_FILE) == 0)
		return 1;
	n = strlen(ML_ARCHIVE_DIR);
	if (strncmp(name, ML_ARCHIVE_DIR, n) != 0 || name[n] != '/')
		return 0;
	name += n + 1;
	n = strlen(name);
	return n > 0 && n <= ARCHIVE_NAME_MAX &&
	    strspn(name, "0123456789") == n;
}

/* carry_add - NAME (LEN bytes of DATA) onto OUT, within NODE_CARRY_MAX. */
static int
carry_add(struct buf *out, const char *name, const char *data, size_t len,
    char *why, size_t whysize)
{
	unsigned char l[8];
	int i;

	if (out->len + strlen(name) + 9 + len > NODE_CARRY_MAX) {
		snprintf(why, whysize, "the list's files exceed %d MiB",
		    NODE_CARRY_MAX >> 20);
		return -1;
	}
	for (i = 0; i < 8; i++)
		l[i] = (unsigned char)((unsigned long long)len >> (56 - 8 * i));
	buf_append(out, name, strlen(name) + 1);
	buf_append(out, l, sizeof(l));
	buf_append(out, data, len);
	return 0;
}

/* carry_read - NAME in DFD onto OUT as ONAME.  0 (1: absent), -1. */
static int
carry_read(int dfd, const char *name, const char *oname, struct buf *out,
    char *why, size_t whysize)
{
	char *data;
	size_t len;
	int r;

	r = ml_file_read(dfd, name, NODE_CARRY_MAX, &data, &len, why, whysize);
	if (r != 0)
		return r;
	r = carry_add(out, oname, data, len, why, whysize);
	free(data);
	return r;
}

int
node_carry_pack(int dfd, struct buf *out, char *why, size_t whysize)
{
	char oname[sizeof(ML_ARCHIVE_DIR) + ARCHIVE_NAME_MAX + 2];
	struct dirent *de;
	DIR *d;
	int afd, r = 0;

	buf_reset(out);
	switch (carry_read(dfd, ML_DEF_FILE, ML_DEF_FILE, out, why, whysize)) {
	case 1:
		return 0;	/* not a list */
	case -1:
		return -1;
	}
	if (carry_read(dfd, ML_MEMBER_FILE, ML_MEMBER_FILE, out, why,
	    whysize) == -1)
		return -1;
	afd = openat(dfd, ML_ARCHIVE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (afd == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(why, whysize, "%s: %s", ML_ARCHIVE_DIR, strerror(errno));
		return -1;
	}
	if ((d = fdopendir(afd)) == NULL) {
		snprintf(why, whysize, "%s: %s", ML_ARCHIVE_DIR, strerror(errno));
		close(afd);
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		snprintf(oname, sizeof(oname), "%s/%.*s", ML_ARCHIVE_DIR,
		    ARCHIVE_NAME_MAX + 1, de->d_name);
		if (!carry_name_ok(oname))
			continue;	/* ".", "..", scratch files */
		if (carry_read(dirfd(d), de->d_name, oname, out, why,
		    whysize) == -1)
			r = -1;
	}
	closedir(d);
	return r == 0 ? 1 : -1;
}

int
node_carry_remove(int dfd, char *why, size_t whysize)
{
	struct dirent *de;
	char oname[sizeof(ML_ARCHIVE_DIR) + ARCHIVE_NAME_MAX + 2];
	DIR *d;
	int afd;

	/* ml.def first: from then on the folder is no list */
	if ((unlinkat(dfd, ML_DEF_FILE, 0) == -1 && errno != ENOENT) ||
	    (unlinkat(dfd, ML_MEMBER_FILE, 0) == -1 && errno != ENOENT)) {
		snprintf(why, whysize, "%s", strerror(errno));
		return -1;
	}
	afd = openat(dfd, ML_ARCHIVE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (afd == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(afd)) == NULL) {
		close(afd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		snprintf(oname, sizeof(oname), "%s/%.*s", ML_ARCHIVE_DIR,
		    ARCHIVE_NAME_MAX + 1, de->d_name);
		if (carry_name_ok(oname))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	(void)unlinkat(dfd, ML_ARCHIVE_DIR, AT_REMOVEDIR);
	(void)fsync(dfd);
	return 0;
}

/* ---- the records ------------------------------------------------------ */

struct carry_ctx {
	const char	*account;
	const char	*node;
	const struct buf *blob;		/* NULL: none */
	int		 moved;		/* take: the home changed meanwhile */
};

static int
carry_home_fn(struct store_txn *t, void *arg)
{
	struct carry_ctx *cc = arg;
	struct buf k, v;
	int r;

	buf_init(&k, 0);
	buf_init(&v, 0);
	buf_printf(&k, HOME_PREFIX "%s", cc->account);
	buf_printf(&v, "%s%s", cc->node, cc->blob ? NODE_HOME_CARRY : "");
	r = store_tput(t, STORE_META, k.data, k.len, v.data, v.len, 0);
	if (r == 0 && cc->blob != NULL) {
		buf_reset(&k);
		buf_printf(&k, CARRY_PREFIX "%s", cc->account);
		r = store_tput(t, STORE_META, k.data, k.len, cc->blob->data,
		    cc->blob->len, 0);
	}
	buf_free(&k);
	buf_free(&v);
	return r;
}

int
node_carry_home(struct store *s, const char *account, const char *name,
    const struct buf *blob)
{
	struct carry_ctx cc = { .account = account, .node = name,
	    .blob = blob };

	return store_write(s, carry_home_fn, &cc);
}

/* carry_done_fn - the files are written: the record goes, the home stays
 * SELF without the mark (unless a move changed it meanwhile). */
static int
carry_done_fn(struct store_txn *t, void *arg)
{
	struct carry_ctx *cc = arg;
	struct buf k, v;
	char *want;
	int r;

	buf_init(&k, 0);
	buf_init(&v, 0);
	cc->moved = 0;
	buf_printf(&k, HOME_PREFIX "%s", cc->account);
	buf_printf(&v, "%s%s", cc->node, NODE_HOME_CARRY);
	want = buf_steal(&v);
	buf_init(&v, 0);
	r = store_tget(t, STORE_META, k.data, k.len, &v, NULL);
	if (r == 1 && (v.len != strlen(want) || memcmp(v.data, want,
	    v.len) != 0))
		cc->moved = 1;
	else if (r == 1)
		r = store_tput(t, STORE_META, k.data, k.len, cc->node,
		    strlen(cc->node), 0);
	if (r != -1 && !cc->moved) {
		buf_reset(&k);
		buf_printf(&k, CARRY_PREFIX "%s", cc->account);
		r = store_tdel(t, STORE_META, k.data, k.len);
	}
	free(want);
	buf_free(&k);
	buf_free(&v);
	return r == -1 ? -1 : 0;
}

/* carry_unpack - write BLOB's files into DFD (owned by UID/GID unless
 * -1), ml.def last.  0 or -1 (WHY). */
static int
carry_unpack(int dfd, const unsigned char *blob, size_t len, uid_t uid,
    gid_t gid, char *why, size_t whysize)
{
	const unsigned char *p, *def = NULL;
	size_t deflen = 0, flen, nlen;
	int pass, i, afd = -1, r = 0;

	/* pass 0 checks every name and length, pass 1 writes */
	for (pass = 0; pass < 2 && r == 0; pass++) {
		for (p = blob; r == 0 && p < blob + len; p += flen) {
			const char *name = (const char *)p;
			const unsigned char *nul = memchr(p, '\0',
			    (size_t)(blob + len - p));

			if (nul == NULL || (nlen = (size_t)(nul - p)) == 0 ||
			    nlen > sizeof(ML_ARCHIVE_DIR) + ARCHIVE_NAME_MAX ||
			    !carry_name_ok(name) ||
			    (size_t)(blob + len - nul - 1) < 8) {
				snprintf(why, whysize, "carried files: bad entry");
				return -1;
			}
			p = nul + 1;
			for (flen = 0, i = 0; i < 8; i++)
				flen = flen << 8 | p[i];
			p += 8;
			if (flen > (size_t)(blob + len - p)) {
				snprintf(why, whysize, "carried files: %s cut "
				    "short", name);
				return -1;
			}
			if (strcmp(name, ML_DEF_FILE) == 0) {
				def = p;
				deflen = flen;
				continue;
			}
			if (pass == 0)
				continue;
			if (strcmp(name, ML_MEMBER_FILE) == 0) {
				r = ml_file_write(dfd, name, p, flen,
				    ML_FILE_MODE, uid, gid, why, whysize);
				continue;
			}
			if (afd == -1) {
				if (mkdirat(dfd, ML_ARCHIVE_DIR, 0700) == -1 &&
				    errno != EEXIST) {
					snprintf(why, whysize, "%s: %s",
					    ML_ARCHIVE_DIR, strerror(errno));
					return -1;
				}
				afd = openat(dfd, ML_ARCHIVE_DIR, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (afd == -1 || (uid != (uid_t)-1 &&
				    fchown(afd, uid, gid) == -1)) {
					snprintf(why, whysize, "%s: %s",
					    ML_ARCHIVE_DIR, strerror(errno));
					if (afd != -1)
						close(afd);
					return -1;
				}
			}
			r = ml_file_write(afd, name + strlen(ML_ARCHIVE_DIR) + 1,
			    p, flen, ML_FILE_MODE, uid, gid, why, whysize);
		}
		if (pass == 0 && def == NULL) {
			snprintf(why, whysize, "carried files: no %s", ML_DEF_FILE);
			return -1;
		}
	}
	if (afd != -1)
		close(afd);
	if (r == 0)
		r = ml_file_write(dfd, ML_DEF_FILE, def, deflen, ML_FILE_MODE,
		    uid, gid, why, whysize);
	return r;
}

int
node_carry_take(struct store *s, const char *self, const char *account,
    const char *root, uid_t uid, gid_t gid, char *why, size_t whysize)
{
	struct carry_ctx cc = { .account = account, .node = self };
	struct buf k, v;
	int rfd, dfd = -1, r;

	why[0] = '\0';
	buf_init(&k, 0);
	buf_init(&v, NODE_CARRY_MAX);
	buf_printf(&k, CARRY_PREFIX "%s", account);
	r = store_get(s, STORE_META, k.data, k.len, &v);
	buf_free(&k);
	if (r == -1) {
		snprintf(why, whysize, "shared state unavailable");
		goto out;
	}
	if (r == 1) {
		/* the folder as the local agent makes it, never through a
		 * link the server user could have put there */
		rfd = dir_open_verified(root, uid);
		if (rfd != -1 && mkdirat(rfd, account, 0700) == -1 &&
		    errno != EEXIST) {
			close(rfd);
			rfd = -1;
		}
		if (rfd != -1) {
			dfd = openat(rfd, account, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			close(rfd);
		}
		if (dfd == -1 || (uid != (uid_t)-1 && fchown(dfd, uid, gid) == -1)) {
			snprintf(why, whysize, "%s/%s: %s", root, account,
			    strerror(errno));
			r = -1;
			goto out;
		}
		if (ml_lock(dfd) == -1 || carry_unpack(dfd,
		    (const unsigned char *)v.data, v.len, uid, gid, why,
		    whysize) == -1) {
			if (errno != 0 && why[0] == '\0')
				snprintf(why, whysize, "%s", strerror(errno));
			r = -1;
			goto out;
		}
	}
	/* written (or written before a crash, the record gone): mark off */
	if (store_write(s, carry_done_fn, &cc) == -1) {
		snprintf(why, whysize, "shared state unavailable");
		r = -1;
	} else
		r = 0;
out:
	if (dfd != -1)
		close(dfd);
	buf_free(&v);
	return r;
}
