/*
 * t/unit/plugin_file.c - the account-file calls of the plugin ABI
 * (daemon/plugin_file.c): yh_ini_get on IMS.CTL-shaped text, numbered
 * cases; yh_open_safe / yh_read_safe refusing every unsafe kind of file
 * with its exact reason; yh_account_dir from the configuration.
 *
 * Files live in a fresh folder under $TMPDIR (default /tmp), removed at
 * the end.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "config.h"
#include "plugin.h"
#include "util.h"

static char dir[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char *
file(const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0 ||
	    chmod(p, mode) == -1) {
		perror(p);
		exit(2);
	}
	return p;
}

/* ---- yh_ini_get --------------------------------------------------------- */

static const char ims[] =
    "; E-Post mail control\r\n"
    "[AutoForward]\r\n"
    "ForwardTo = a@example.org \r\n"
    "Enable=No\r\n"
    "[ autoreply ]\r\n"
    "  subject=It is during vacation\r\n"
    "# a comment = not a key\r\n"
    "Subject=second one loses\r\n"
    "Empty=\r\n"
    "[Broken\r\n"
    "Program=after a broken line, still AutoReply\r\n"
    "[Delivery]\n"
    "Discard=Yes";		/* no final line end */

static const struct {
	const char	*section, *key;
	size_t		 size;
	int		 r;
	const char	*want;
} ini_cases[] = {
	/* 1 */ { "AutoForward", "ForwardTo", 64, 1, "a@example.org" },
	/* 2 */ { "AUTOFORWARD", "forwardto", 64, 1, "a@example.org" },
	/* 3 */ { "AutoForward", "Enable", 64, 1, "No" },
	/* 4 */ { "AutoReply", "Subject", 64, 1, "It is during vacation" },
	/* 5 */ { "AutoReply", "# a comment", 64, 0, "" },
	/* 6 */ { "AutoReply", "Empty", 64, 1, "" },
	/* 7 */ { "AutoReply", "ForwardTo", 64, 0, "" },
	/* 8 */ { "AutoReply", "Program", 64, 1, "after a broken line, still AutoReply" },
	/* 9 */ { "Delivery", "Discard", 64, 1, "Yes" },
	/* 10 */ { "AutoForward", "ForwardTo", 14, 1, "a@example.org" },
	/* 11 */ { "AutoForward", "ForwardTo", 13, -1, "" },
	/* 12 */ { "Nothing", "ForwardTo", 64, 0, "" },
	/* 13 */ { "Broken", "Program", 64, 0, "" },
};

static void
test_ini(void)
{
	char out[64];
	size_t i;
	int r;

	for (i = 0; i < sizeof(ini_cases) / sizeof(ini_cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		r = yh_ini_get(ims, ini_cases[i].section, ini_cases[i].key, out,
		    ini_cases[i].size);
		is_int(r, ini_cases[i].r, "ini %zu: [%s] %s: result", i + 1,
		    ini_cases[i].section, ini_cases[i].key);
		is_str(out, ini_cases[i].want, "ini %zu: value", i + 1);
	}
	is_int(yh_ini_get(ims, "AutoReply", NULL, NULL, 0), 1,
	    "a section alone: present");
	is_int(yh_ini_get(ims, "Nothing", NULL, NULL, 0), 0, "absent");
	is_int(yh_ini_get(NULL, "AutoReply", "Subject", out, sizeof(out)), 0,
	    "no text: absent");
	is_int(yh_ini_get("Key=before any section\n", "", "Key", out, sizeof(out)),
	    0, "a key before any section belongs to none");
}

/* ---- yh_open_safe / yh_read_safe ---------------------------------------- */

static void
test_safe(void)
{
	char why[128], *data, *p, *q;
	size_t len;
	int fd;

	p = file("good.def", "bin=/bin/true\n", 0644);
	is_int(yh_open_safe(p, 1024, &fd, why, sizeof(why)), 1, "a safe file opens");
	ok(fd > 2 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) &&
	    !(fcntl(fd, F_GETFL) & O_NONBLOCK), "close-on-exec, blocking");
	close(fd);
	is_int(yh_read_safe(p, 1024, &data, &len, why, sizeof(why)), 1, "and reads");
	ok(data && len == 14 && strcmp(data, "bin=/bin/true\n") == 0, "whole, NUL-terminated");
	free(data);
	is_int(yh_read_safe(p, 13, &data, &len, why, sizeof(why)), -1,
	    "one byte over the ceiling: refused");
	is_str(why, "larger than 13 bytes", "why: larger than");
	ok(data == NULL, "nothing returned");
	is_int(yh_read_safe(p, 14, &data, NULL, NULL, 0), 1,
	    "exactly the ceiling reads; WHY and LEN may be NULL");
	free(data);
	free(p);

	p = xasprintf("%s/missing", dir);
	is_int(yh_read_safe(p, 1024, &data, &len, why, sizeof(why)), 0, "missing: 0");
	free(p);

	p = file("world.def", "x\n", 0666);
	is_int(yh_open_safe(p, 1024, &fd, why, sizeof(why)), -1, "mode 666 refused");
	is_str(why, "writable by group or others (mode 666)", "why: mode 666");
	chmod(p, 0620);
	is_int(yh_open_safe(p, 1024, &fd, why, sizeof(why)), -1, "group-writable refused");
	is_str(why, "writable by group or others (mode 620)", "why: mode 620");
	ok(fd == -1, "no descriptor");

	q = xasprintf("%s/link.def", dir);
	chmod(p, 0644);
	if (symlink(p, q) == -1)
		perror(q);
	is_int(yh_open_safe(q, 1024, &fd, why, sizeof(why)), -1,
	    "a symlink to a safe file is refused");
	is_str(why, "a symbolic link", "why: a symbolic link");
	free(q);
	free(p);

	p = xasprintf("%s/adir.def", dir);
	mkdir(p, 0755);
	is_int(yh_open_safe(p, 1024, &fd, why, sizeof(why)), -1, "a folder is refused");
	is_str(why, "not a regular file", "why: not a regular file");
	free(p);

	p = xasprintf("%s/fifo.def", dir);
	if (mkfifo(p, 0644) == -1)
		perror(p);
	is_int(yh_open_safe(p, 1024, &fd, why, sizeof(why)), -1,
	    "a FIFO is refused without blocking");
	is_str(why, "not a regular file", "why: not a regular file");
	free(p);

	if (geteuid() == 0) {
		p = file("other.def", "x\n", 0644);
		if (chown(p, 65534, 65534) == -1)
			perror(p);
		is_int(yh_open_safe(p, 1024, &fd, why, sizeof(why)), -1,
		    "owned by another user: refused");
		is_str(why, "owned by uid 65534, not root or the server user",
		    "why: the owner");
		free(p);
	} else
		ok(1, "# skip: the owner check needs root to chown");
}

/* ---- yh_account_dir ----------------------------------------------------- */

static void
test_account_dir(void)
{
	struct errlist errs;
	struct config *cfg;
	char out[256], *defs[2], *want;

	is_int(yh_account_dir("alice", out, sizeof(out)), -1, "no configuration: -1");
	errlist_init(&errs);
	defs[0] = xasprintf("server.home=%s/home", dir);
	if (config_load(&cfg, NULL, defs, 1, &errs) == -1) {
		errlist_print(&errs, stderr);
		exit(2);
	}
	plugins_child_init(NULL, cfg, NULL, 0);
	want = xasprintf("%s/home/mailbox/alice", dir);
	is_int(yh_account_dir("alice", out, sizeof(out)), 0, "alice");
	is_str(out, want, "HOME/mailbox/alice");
	is_int(yh_account_dir("alice", out, strlen(want)), -1, "too small: -1");
	is_str(out, "", "and OUT empty");
	is_int(yh_account_dir("../etc", out, sizeof(out)), -1, "a bad name: -1");
	is_int(yh_account_dir("", out, sizeof(out)), -1, "an empty name: -1");
	plugins_child_init(NULL, NULL, NULL, 0);
	config_free(&cfg);
	free(want);
	free(defs[0]);

	defs[0] = xasprintf("server.home=%s/home", dir);
	defs[1] = xasprintf("server.mailbox_path=%s/boxes", dir);
	if (config_load(&cfg, NULL, defs, 2, &errs) == -1) {
		errlist_print(&errs, stderr);
		exit(2);
	}
	plugins_child_init(NULL, cfg, NULL, 0);
	want = xasprintf("%s/boxes/bob", dir);
	is_int(yh_account_dir("bob", out, sizeof(out)), 0, "with mailbox_path");
	is_str(out, want, "MAILBOX_PATH/bob");
	plugins_child_init(NULL, NULL, NULL, 0);
	config_free(&cfg);
	free(want);
	free(defs[0]);
	free(defs[1]);
	errlist_free(&errs);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	plan_no_plan();
	snprintf(dir, sizeof(dir), "%s/yubin-pf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 2;
	}
	test_ini();
	test_safe();
	test_account_dir();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
