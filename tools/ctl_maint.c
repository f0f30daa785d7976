/*
 * ctl_maint.c - yubinctl maint [--dry-run] [--older-than DURATION]: the
 * seed's wmsmnt (F130).  The purge itself is lib/maint.c, the one yubind
 * runs every server.maint_interval.
 *
 * Output: one line per kind, "KIND: N files, B bytes removed" ("would be
 * removed" with --dry-run).  Without --older-than the dustbox and dead
 * mail are emptied, finished queue entries go, orphan queue files once
 * they are QUEUE_ORPHAN_AGE old, rotated logs once they are MAINT_LOG_AGE
 * old; with it, only what is at least that old.
 *
 * Privilege: as root, drops to the server user after opening the store,
 * before it reads a folder; the purge never follows a link either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_keys.h"
#include "ctl.h"
#include "maint.h"
#include "priv.h"
#include "util.h"

#define MAINT_USAGE	"usage: maint [--dry-run] [--older-than DURATION]"

/* parse_age - TEXT as a duration the way yubin.conf reads one (s, m, h,
 * d; a bare number is seconds) into *AGE_R.  0, or -1 after saying why. */
static int
parse_age(const char *text, long long *age_r)
{
	static const struct cfg_key k = {
		.section = "maint", .name = "older-than", .type = CFG_DURATION,
		.unit = 1, .min = 0, .max = 10 * CFG_DUR_MAX,
	};
	struct cfg_val v;
	char *why = NULL;

	if (cfg_parse(&k, text, &v, &why) == -1) {
		ctl_error(CTL_USAGE, "--older-than: %s", why);
		free(why);
		return -1;
	}
	*age_r = v.num;
	cfg_val_free(&v);
	return 0;
}

/* ctl_cmd_maint - parse the options, become the server user, purge, print
 * one line per kind. */
int
ctl_cmd_maint(struct ctl *c, int argc, char **argv)
{
	struct maint_opts o = { -1, 0, 0 };
	struct maint_result r;
	char *why = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int i, k, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			o.dry_run = 1;
		else if (strcmp(argv[i], "--older-than") == 0 && i + 1 < argc) {
			if (parse_age(argv[++i], &o.older_than) == -1)
				return CTL_USAGE;
		} else
			return ctl_error(CTL_USAGE, "%s", MAINT_USAGE);
	}
	if (geteuid() == 0 && priv_lookup(c->cfg, &uid, &gid, &why) == -1) {
		ctl_error(CTL_USAGE, "%s", why);
		free(why);
		return CTL_USAGE;
	}
	if (ctl_store(c) == NULL)
		return CTL_RUNTIME;
	if (geteuid() == 0)
		priv_drop(uid, gid);
	o.now = time_now();
	rc = maint_run(c->cfg, c->store, &o, &r) == -1 ? CTL_RUNTIME : CTL_OK;
	for (k = 0; k < MAINT_NKINDS; k++)
		printf("%s: %lld file%s, %lld bytes %s\n",
		    maint_kind_name((enum maint_kind)k), r.files[k],
		    r.files[k] == 1 ? "" : "s", r.bytes[k],
		    o.dry_run ? "would be removed" : "removed");
	if (rc != CTL_OK)
		ctl_error(CTL_RUNTIME, "%u entr%s could not be removed or read",
		    r.errors, r.errors == 1 ? "y" : "ies");
	return rc;
}
