/*
 * maint.c - the maintenance purge; see maint.h.
 *
 * Privilege: runs as the server user (the queue manager; yubinctl drops to
 * it when started as root).  The folders it purges belong to that user, so
 * even so it walks them without following a link: a link in the dustbox
 * pointing at /etc stays where it is, and so does /etc.
 * Must never: open, stat through or unlink a symbolic link's target;
 * descend more than MAINT_DEPTH folders; remove a queue file whose
 * envelope exists, or one younger than QUEUE_ORPHAN_AGE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "maint.h"
#include "paths.h"
#include "queue.h"
#include "store.h"
#include "util.h"

static const char *const maint_names[MAINT_NKINDS] = {
	"dustbox", "deadmail", "queue", "logs",
};

const char *
maint_kind_name(enum maint_kind k)
{
	return k < MAINT_NKINDS ? maint_names[k] : "?";
}

/* what one walk needs to know */
struct walk {
	enum maint_kind		 kind;
	const struct maint_opts	*o;
	struct maint_result	*r;
	long long		 min_age;	/* seconds */
	int			 (*want)(const char *name);	/* NULL: all */
};

/*
 * rotated_log - 1 when NAME is a rotated log: "BASE.N" or "BASE.N.gz"
 * with N decimal (log.c renames to FILE.1; logrotate numbers them on).
 */
static int
rotated_log(const char *name)
{
	size_t n = strlen(name), i;

	if (n > 3 && strcmp(name + n - 3, ".gz") == 0)
		n -= 3;
	for (i = n; i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9'; i--)
		;
	return i < n && i > 1 && name[i - 1] == '.';
}

/*
 * walk_dir - purge the folder open at DFD (closed here; PATH names it
 * for messages) at DEPTH: regular files old enough are counted and, unless
 * dry, removed; folders are entered with O_NOFOLLOW; anything else (links,
 * FIFOs, devices) is left alone.
 */
static void
walk_dir(struct walk *w, int dfd, const char *path, int depth)
{
	struct dirent *de;
	struct stat st;
	char *sub;
	DIR *d;
	int fd;

	if ((d = fdopendir(dfd)) == NULL) {
		log_err("maint: %s: %s", path, strerror(errno));
		w->r->errors++;
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT) {
				log_err("maint: %s/%s: %s", path, de->d_name,
				    strerror(errno));
				w->r->errors++;
			}
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 >= MAINT_DEPTH)
				continue;
			fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			sub = xasprintf("%s/%s", path, de->d_name);
			if (fd == -1) {
				log_err("maint: %s: %s", sub, strerror(errno));
				w->r->errors++;
			} else
				walk_dir(w, fd, sub, depth + 1);
			free(sub);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (w->want && !w->want(de->d_name))
			continue;
		if (w->o->now - st.st_mtime < w->min_age)
			continue;
		if (!w->o->dry_run && unlinkat(dfd, de->d_name, 0) == -1) {
			if (errno != ENOENT) {
				log_err("maint: %s/%s: %s", path, de->d_name,
				    strerror(errno));
				w->r->errors++;
			}
			continue;
		}
		w->r->files[w->kind]++;
		w->r->bytes[w->kind] += (long long)st.st_size;
	}
	closedir(d);
}

/* walk_root - purge the folder ROOT (a missing one holds nothing).  The
 * root itself may be a link the administrator made (dustbox_path);
 * nothing below it is followed. */
static void
walk_root(struct walk *w, const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1) {
		if (errno != ENOENT) {
			log_err("maint: %s: %s", root, strerror(errno));
			w->r->errors++;
		}
		return;
	}
	walk_dir(w, fd, root, 0);
}

/* queue purge: the envelopes whose every recipient is done or failed */
struct qpurge {
	struct store		*s;
	const struct config	*cfg;
	const struct maint_opts	*o;
	struct maint_result	*r;
	long long		 min_age;
};

static int
queue_finished_one(void *ctx, const char *id)
{
	struct qpurge *qp = ctx;
	struct envelope e;
	char path[4096];
	struct stat st;
	size_t i;
	int done;

	if (queue_get(qp->s, id, &e) != 1)
		return 0;
	done = e.nrcpt > 0 && qp->o->now - e.arrival >= qp->min_age;
	for (i = 0; i < e.nrcpt && done; i++)
		if (e.rcpt[i].state != RCPT_DONE &&
		    e.rcpt[i].state != RCPT_FAILED)
			done = 0;
	envelope_clear(&e);
	if (!done)
		return 0;
	st.st_size = 0;
	if (queue_path(config_home(qp->cfg), id, path, sizeof(path)) == 0 &&
	    lstat(path, &st) == -1)
		st.st_size = 0;
	if (!qp->o->dry_run &&
	    queue_remove(qp->s, config_home(qp->cfg), id) == -1) {
		log_err("maint: %s: cannot remove the queue entry", id);
		qp->r->errors++;
		return 0;
	}
	qp->r->files[MAINT_QUEUE]++;
	qp->r->bytes[MAINT_QUEUE] += (long long)st.st_size;
	return 0;
}

static void
maint_queue(const struct config *cfg, struct store *s,
    const struct maint_opts *o, struct maint_result *r)
{
	struct qpurge qp = { s, cfg, o, r, o->older_than > 0 ? o->older_than : 0 };
	long long n, bytes, age;

	if (queue_each(s, queue_finished_one, &qp) == -1) {
		log_err("maint: the queue index cannot be read");
		r->errors++;
	}
	age = o->older_than > QUEUE_ORPHAN_AGE ? o->older_than : QUEUE_ORPHAN_AGE;
	if (queue_orphans(s, config_home(cfg), age, o->now, o->dry_run, NULL,
	    NULL, &n, &bytes) == -1 && errno != ENOENT) {
		log_err("maint: %s/queue: %s", config_home(cfg), strerror(errno));
		r->errors++;
	}
	r->files[MAINT_QUEUE] += n;
	r->bytes[MAINT_QUEUE] += bytes;
}

int
maint_run(const struct config *cfg, struct store *s,
    const struct maint_opts *o, struct maint_result *r)
{
	struct walk w;
	char *dir;

	memset(r, 0, sizeof(*r));
	memset(&w, 0, sizeof(w));
	w.o = o;
	w.r = r;

	w.kind = MAINT_DUSTBOX;
	w.min_age = o->older_than > 0 ? o->older_than : 0;
	dir = paths_dustbox_root(cfg);
	walk_root(&w, dir);
	free(dir);

	w.kind = MAINT_DEADMAIL;
	dir = xasprintf("%s/deadmail", config_home(cfg));
	walk_root(&w, dir);
	free(dir);

	if (s)
		maint_queue(cfg, s, o, r);

	w.kind = MAINT_LOGS;
	w.min_age = o->older_than >= 0 ? o->older_than : MAINT_LOG_AGE;
	w.want = rotated_log;
	dir = xasprintf("%s/log", config_home(cfg));
	walk_root(&w, dir);
	free(dir);
	return r->errors ? -1 : 0;
}
