/*
 * t/unit/node_carry.c - a list's files carried by `account move` from one
 * node to another (lib/node_carry.c), on a throwaway LMDB store: packed
 * from a list folder, written out into the new home's folder with the
 * same bytes (ml.def last), the record and the home's mark then gone.
 * Every malformed record (a name outside the list's files, a length past
 * the end, no ml.def, a truncated header) is refused with a reason,
 * writes nothing and keeps the record.  A folder without ml.def is no
 * list and packs nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "../lib/tmpstore.h"
#include "buf.h"
#include "mlfile.h"
#include "node.h"
#include "store.h"
#include "util.h"

static char base[512];

static void
put_file(const char *dir, const char *name, const char *text)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (file_write_atomic(path, text, strlen(text), 0600) == -1)
		diag("write %s: %s", path, strerror(errno));
}

/* same - PATH holds exactly TEXT. */
static int
same(const char *path, const char *text)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	if (file_read(path, 1 << 20, &data, &len) == -1)
		return 0;
	r = len == strlen(text) && memcmp(data, text, len) == 0;
	free(data);
	return r;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static char *
get(struct store *s, const char *key)
{
	struct buf v;
	char *out = NULL;

	buf_init(&v, 0);
	if (store_get(s, STORE_META, key, strlen(key), &v) == 1)
		out = xstrndup(v.data, v.len);
	buf_free(&v);
	return out;
}

static void
put(struct store *s, const char *key, const void *val, size_t len)
{
	if (store_put(s, STORE_META, key, strlen(key), val, len, 0) == -1)
		diag("store_put %s failed", key);
}

/* entry - one packed file onto B (LEN may lie). */
static void
entry(struct buf *b, const char *name, const char *data, unsigned long long len)
{
	unsigned char l[8];
	int i;

	for (i = 0; i < 8; i++)
		l[i] = (unsigned char)(len >> (56 - 8 * i));
	buf_append(b, name, strlen(name) + 1);
	buf_append(b, l, 8);
	buf_append(b, data, strlen(data));
}

static void
test_move(struct store *s)
{
	char src[600], root[600], dst[700], path[800], why[256];
	struct buf blob;
	int dfd, r;
	char *v;

	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(dst, sizeof(dst), "%s/news", root);
	mkdir(src, 0700);
	mkdir(root, 0700);
	dfd = open(src, O_RDONLY | O_DIRECTORY);
	buf_init(&blob, NODE_CARRY_MAX);
	is_int(node_carry_pack(dfd, &blob, why, sizeof(why)), 0,
	    "a folder without ml.def is no list: nothing packed");
	put_file(src, ML_DEF_FILE, "count=7\nname=News\n");
	put_file(src, ML_MEMBER_FILE, "# members\nBob <bob@example.org>\n");
	snprintf(path, sizeof(path), "%s/%s", src, ML_ARCHIVE_DIR);
	mkdir(path, 0700);
	put_file(path, "000006", "post six\n");
	put_file(path, "000007", "post seven\n");
	put_file(path, ".000008.tmp", "scratch\n");
	r = node_carry_pack(dfd, &blob, why, sizeof(why));
	is_int(r, 1, "a list folder packed (%s)", r == -1 ? why : "ok");
	ok(node_carry_home(s, "news", "b", &blob) == 0, "homed on b with its files");
	v = get(s, "home/news");
	ok(v && strcmp(v, "b" NODE_HOME_CARRY) == 0, "home/news: 'b carry' (%s)",
	    v ? v : "-");
	free(v);
	snprintf(path, sizeof(path), "%s/%s/000007", src, ML_ARCHIVE_DIR);
	ok(node_carry_remove(dfd, why, sizeof(why)) == 0 && !exists(path),
	    "removed from the old home, the archive with it");
	snprintf(path, sizeof(path), "%s/%s/.000008.tmp", src, ML_ARCHIVE_DIR);
	ok(exists(path), "what was not carried stays");
	snprintf(path, sizeof(path), "%s/%s", src, ML_DEF_FILE);
	ok(!exists(path), "ml.def gone from the old home");
	close(dfd);

	r = node_carry_take(s, "b", "news", root, (uid_t)-1, (gid_t)-1, why,
	    sizeof(why));
	is_int(r, 0, "written out on b (%s)", r ? why : "ok");
	snprintf(path, sizeof(path), "%s/%s", dst, ML_DEF_FILE);
	ok(same(path, "count=7\nname=News\n"), "ml.def: the same bytes");
	snprintf(path, sizeof(path), "%s/%s", dst, ML_MEMBER_FILE);
	ok(same(path, "# members\nBob <bob@example.org>\n"), "members: the same bytes");
	snprintf(path, sizeof(path), "%s/%s/000007", dst, ML_ARCHIVE_DIR);
	ok(same(path, "post seven\n"), "archive/000007: the same bytes");
	snprintf(path, sizeof(path), "%s/%s/.000008.tmp", dst, ML_ARCHIVE_DIR);
	ok(!exists(path), "a scratch file is not carried");
	v = get(s, "home/news");
	ok(v && strcmp(v, "b") == 0, "home/news: 'b' (%s)", v ? v : "-");
	free(v);
	v = get(s, "carry/news");
	ok(v == NULL, "carry/news removed");
	free(v);
	r = node_carry_take(s, "b", "news", root, (uid_t)-1, (gid_t)-1, why,
	    sizeof(why));
	is_int(r, 0, "taken again (nothing carried): no harm");
	buf_free(&blob);
}

static void
test_bad(struct store *s)
{
	static const char *const names[] = {
		"traversal", "past the end", "no ml.def", "cut header",
		"archive name", "empty name",
	};
	char root[600], path[800], why[256];
	struct buf b;
	size_t i;
	int r;
	char *v;

	snprintf(root, sizeof(root), "%s/root2", base);
	mkdir(root, 0700);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		buf_init(&b, 0);
		switch (i) {
		case 0:
			entry(&b, "../evil", "x", 1);
			entry(&b, ML_DEF_FILE, "count=1\n", 8);
			break;
		case 1:
			entry(&b, ML_DEF_FILE, "count=1\n", 9);
			break;
		case 2:
			entry(&b, ML_MEMBER_FILE, "a@b.c\n", 6);
			break;
		case 3:
			entry(&b, ML_DEF_FILE, "count=1\n", 8);
			buf_append(&b, ML_MEMBER_FILE, strlen(ML_MEMBER_FILE) + 1);
			buf_append(&b, "\0\0\0", 3);
			break;
		case 4:
			entry(&b, "archive/12x", "x", 1);
			entry(&b, ML_DEF_FILE, "count=1\n", 8);
			break;
		case 5:
			entry(&b, "", "x", 1);
			entry(&b, ML_DEF_FILE, "count=1\n", 8);
			break;
		}
		put(s, "carry/bad", b.data, b.len);
		put(s, "home/bad", "b" NODE_HOME_CARRY, strlen("b" NODE_HOME_CARRY));
		why[0] = '\0';
		r = node_carry_take(s, "b", "bad", root, (uid_t)-1, (gid_t)-1,
		    why, sizeof(why));
		snprintf(path, sizeof(path), "%s/bad/%s", root, ML_DEF_FILE);
		ok(r == -1 && why[0] != '\0' && !exists(path),
		    "%s: refused, nothing written (%s)", names[i], why);
		v = get(s, "carry/bad");
		ok(v != NULL, "%s: the record is kept", names[i]);
		free(v);
		snprintf(path, sizeof(path), "%s/evil", root);
		ok(!exists(path), "%s: nothing outside the folder", names[i]);
		buf_free(&b);
	}
}

int
main(void)
{
	struct store *s;

	plan_no_plan();
	if (tmpstore_make(base, sizeof(base), "node_carry") == -1)
		return 2;
	s = tmpstore_open(base);
	test_move(s);
	test_bad(s);
	store_close(&s);
	tmpstore_remove(base);
	done_testing();
	return 0;
}
