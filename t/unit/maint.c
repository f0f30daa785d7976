/*
 * t/unit/maint.c - the maintenance purge's queue part (F130) against a
 * real store in a temporary home: an envelope whose every recipient is
 * done or failed goes with its file (counted by --dry-run, kept by it),
 * one with a pending recipient stays, --older-than spares a younger one,
 * and without a store the queue is left alone.  The file walks are tested end to end by
 * t/proto/maint.t.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "maint.h"
#include "paths.h"
#include "queue.h"
#include "store.h"
#include "util.h"
#include "../lib/tap.h"

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* queue_one - a message with one recipient per STATES entry; its id into
 * ID (QUEUE_ID_LEN + 1).  0 or -1. */
static int
queue_one(struct store *s, const char *home, const int *states, size_t n,
    char *id)
{
	struct queue_in *q;
	struct envelope e;
	const char *why;
	size_t i;
	int r;

	if (queue_in_open(home, &q) == -1)
		return -1;
	if (queue_in_write(q, "Subject: x\n\nbody\n", 17) == -1) {
		queue_in_abort(&q);
		return -1;
	}
	snprintf(id, QUEUE_ID_LEN + 1, "%s", queue_in_id(q));
	memset(&e, 0, sizeof(e));
	e.sender = strdup("a@example.org");
	e.arrival = time_now() - 60;
	for (i = 0; i < n; i++) {
		envelope_add_rcpt(&e, "b@example.net", NULL);
		e.rcpt[i].state = states[i];
	}
	r = queue_in_commit(&q, s, &e, &why);
	envelope_clear(&e);
	return r;
}

int
main(void)
{
	static const int done[] = { RCPT_DONE, RCPT_FAILED };
	static const int pending[] = { RCPT_DONE, RCPT_PENDING };
	char tmpl[] = "/tmp/yubin-maint-XXXXXX", def[300], qpath[4096];
	char idd[QUEUE_ID_LEN + 1], idp[QUEUE_ID_LEN + 1];
	char *defs[] = { def }, *sdir;
	struct maint_opts o = { -1, 1, 0 };
	struct maint_result r;
	struct config *cfg = NULL;
	struct store *s = NULL;
	struct envelope e;
	struct errlist errs;
	const char *what, *why;
	char *home;

	plan_no_plan();
	if ((home = mkdtemp(tmpl)) == NULL)
		return 1;
	snprintf(def, sizeof(def), "server.home=%s", home);
	errlist_init(&errs);
	ok(config_load(&cfg, NULL, defs, 1, &errs) == 0, "1 config loads");
	errlist_free(&errs);
	if (cfg == NULL)
		return done_testing();
	ok(paths_setup(cfg, (uid_t)-1, (gid_t)-1, &what) == 0, "2 home laid out");
	sdir = xasprintf("%s/state", home);
	ok(store_open(&s, sdir, &why) == 0, "3 store opens");
	free(sdir);
	ok(queue_one(s, home, done, 2, idd) == 0, "4 a finished message queued");
	ok(queue_one(s, home, pending, 2, idp) == 0, "5 a pending one queued");

	o.now = time_now();
	is_int(maint_run(cfg, s, &o, &r), 0, "10 dry run");
	is_int(r.files[MAINT_QUEUE], 1, "11 counts the finished entry");
	is_int(r.bytes[MAINT_QUEUE], 17, "12 with its file's bytes");
	is_int(queue_get(s, idd, &e), 1, "13 dry run: the envelope is kept");
	envelope_clear(&e);

	o.dry_run = 0;
	o.now = time_now();
	is_int(maint_run(cfg, s, &o, &r), 0, "20 purge");
	is_int(r.files[MAINT_QUEUE], 1, "21 one entry removed");
	is_int(queue_get(s, idd, &e), 0, "22 its envelope is gone");
	queue_path(home, idd, qpath, sizeof(qpath));
	ok(access(qpath, F_OK) == -1, "23 and its file");
	is_int(queue_get(s, idp, &e), 1, "24 the pending one stays");
	envelope_clear(&e);
	queue_path(home, idp, qpath, sizeof(qpath));
	ok(access(qpath, F_OK) == 0, "25 with its file");

	/* --older-than: a finished entry younger than that stays */
	ok(queue_one(s, home, done, 2, idd) == 0, "30 another finished one");
	o.older_than = 3600;
	is_int(maint_run(cfg, s, &o, &r), 0, "31 purge older than 1h");
	is_int(r.files[MAINT_QUEUE], 0, "32 a minute old: kept");
	is_int(queue_get(s, idd, &e), 1, "33 still queued");
	envelope_clear(&e);

	/* without a store the queue is left alone */
	o.older_than = -1;
	is_int(maint_run(cfg, NULL, &o, &r), 0, "40 no store");
	is_int(r.files[MAINT_QUEUE], 0, "41 nothing counted in the queue");
	is_int(queue_get(s, idd, &e), 1, "42 nothing removed");
	envelope_clear(&e);

	store_close(&s);
	config_free(&cfg);
	nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
