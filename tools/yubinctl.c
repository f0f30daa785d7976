/*
 * yubinctl - administration of a yubin server (the seed's wms* commands in
 * one tool; DESIGN.md §5).
 *
 * Runs as the invoking user (root or the server user); it reads the same
 * configuration as yubind and works on HOME and its LMDB store directly, or
 * signals the running yubind through its pidfile.  Exit status: 0 done,
 * 1 bad usage or input, 2 runtime error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "store.h"
#include "util.h"

#define CTL_MAX_DEFS	64	/* -D options on one command line */

static const struct {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
} ctl_commands[] = {
	{ "setup", ctl_cmd_setup },
	{ "start", ctl_cmd_start },
	{ "stop", ctl_cmd_stop },
	{ "reload", ctl_cmd_reload },
	{ "status", ctl_cmd_status },
	{ "account", ctl_cmd_account },
	{ "ml", ctl_cmd_ml },
	{ "config", ctl_cmd_config },
	{ "mailbox", ctl_cmd_mailbox },
	{ "maint", ctl_cmd_maint },
	{ "queue", ctl_cmd_queue },
	{ "suspend", ctl_cmd_suspend },
	{ "resume", ctl_cmd_resume },
	{ "plugins", ctl_cmd_plugins },
	{ "block", ctl_cmd_block },
	{ "notify", ctl_cmd_notify },
	{ "dkim", ctl_cmd_dkim },
	{ "check", ctl_cmd_check },
	{ "backup", ctl_cmd_backup },
	{ "restore", ctl_cmd_restore },
	{ "fetch", ctl_cmd_fetch },
	{ "node", ctl_cmd_node },
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: yubinctl [-c CONFIG] [-D section.key=value] COMMAND ...\n"
	    "  setup | start [--watchdog [SECONDS]] | stop [-f] | reload\n"
	    "  status [--workers] [--count N]\n"
	    "  account add NAME[@DOMAIN] [PASSWORD] [--apop] [--quota-size BYTES] [--quota-count N]\n"
	    "  account del NAME | account passwd NAME [PASSWORD] | account list\n"
	    "  account import FILE | account export FILE\n"
	    "  account set NAME KEY=VALUE...   (per-account config.def keys)\n"
	    "  ml create NAME[@DOMAIN] [PASSWORD|-] [ADMIN_ADDRESS]\n"
	    "  ml add NAME ADDR... | ml del NAME ADDR... | ml list NAME\n"
	    "  ml import NAME FILE | ml export NAME FILE\n"
	    "  ml set NAME KEY=VALUE... | ml show NAME | ml remove NAME\n"
	    "  config | mailbox [--recount] [NAME] | plugins\n"
	    "  mailbox NAME messages | mailbox NAME remove UIDL...\n"
	    "  maint [--dry-run] [--older-than DURATION]\n"
	    "  block list | block del ADDR | notify FILE\n"
	    "  queue list [--json] | queue show ID | queue flush\n"
	    "  queue delete ID... | queue hold ID... | queue release ID...\n"
	    "  suspend | resume   (all delivery; SMTP keeps queueing)\n"
	    "  dkim keygen DOMAIN SELECTOR [--ed25519 | --rsa BITS] [--force]\n"
	    "  check smtp HOST[:PORT] [--starttls] [--ca FILE] [--verify] [--timeout SECONDS]\n"
	    "  check address ADDR [--probe] [--timeout SECONDS]\n"
	    "  backup FILE | restore FILE [--force]\n"
	    "  fetch add ACCOUNT HOST[:PORT] USER [--tls|--stls] [--ca FILE]\n"
	    "      [--interval DURATION] [--keep] [--accept-from PATTERN]...\n"
	    "      [--deny-from PATTERN]... [--deny-mailer PATTERN]...  (password on stdin)\n"
	    "  fetch list | fetch del ACCOUNT HOST USER | fetch run [ACCOUNT]\n"
	    "  node add NAME SMTP_ADDR:PORT POP3_ADDR:PORT | node list\n"
	    "  node drain NAME | node undrain NAME | account move NAME NODE\n"
	    "  check state\n");
}

int
ctl_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("yubinctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/*
 * ctl_store - the store of HOME/state, opened on first use.  A missing home
 * is laid out as "setup" would; as root, the state folder and its files are
 * given to the server user (yubind, after dropping privileges, could not
 * open a store owned by root).
 */
struct store *
ctl_store(struct ctl *c)
{
	static const char *const files[] = { ".", "data.mdb", "lock.mdb" };
	const char *why, *what;
	char *dir, *err = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	size_t i;
	int fd, bad = 0;

	if (c->store)
		return c->store;
	if (geteuid() == 0 && priv_lookup(c->cfg, &uid, &gid, &err) == -1) {
		ctl_error(CTL_USAGE, "%s", err);
		free(err);
		return NULL;
	}
	dir = xasprintf("%s/state", config_home(c->cfg));
	if (access(dir, F_OK) == -1 && errno == ENOENT &&
	    paths_setup(c->cfg, uid, gid, &what) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", what, strerror(errno));
		free(dir);
		return NULL;
	}
	if (store_open(&c->store, dir, &why) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", dir, why);
		c->store = NULL;
		free(dir);
		return NULL;
	}
	if (uid == (uid_t)-1) {
		free(dir);
		return c->store;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (i = 0; fd != -1 && i < sizeof(files) / sizeof(files[0]); i++) {
		if (fchownat(fd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno != ENOENT) {
			ctl_error(CTL_RUNTIME, "%s/%s: chown: %s", dir, files[i],
			    strerror(errno));
			bad = 1;
			break;
		}
	}
	if (fd == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
		bad = 1;
	} else
		close(fd);
	free(dir);
	if (bad)
		store_close(&c->store);
	return c->store;
}

int
ctl_read_secret(const char *what, char *out, size_t size)
{
	size_t n;

	if (fgets(out, (int)size, stdin) == NULL) {
		ctl_error(CTL_USAGE, "no %s on standard input", what);
		return -1;
	}
	n = strlen(out);
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	else if (!feof(stdin)) {
		ctl_error(CTL_USAGE, "%s too long", what);
		return -1;
	}
	if (n > 0 && out[n - 1] == '\r')
		out[--n] = '\0';
	if (n == 0) {
		ctl_error(CTL_USAGE, "empty %s", what);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl c;
	struct errlist errs;
	char *defs[CTL_MAX_DEFS];
	size_t i;
	int ch, r;

	memset(&c, 0, sizeof(c));
	c.defs = defs;
	log_role("ctl");
	while ((ch = getopt(argc, argv, "+c:D:h")) != -1) {
		switch (ch) {
		case 'c':
			c.cfg_path = optarg;
			break;
		case 'D':
			if (c.ndefs == CTL_MAX_DEFS)
				return ctl_error(CTL_USAGE, "too many -D options");
			defs[c.ndefs++] = optarg;
			break;
		default:
			usage();
			return CTL_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return CTL_USAGE;
	}
	if (c.cfg_path == NULL)
		c.cfg_path = paths_default_config();
	errlist_init(&errs);
	if (config_load(&c.cfg, c.cfg_path, c.defs, c.ndefs, &errs) == -1) {
		errlist_print(&errs, stderr);
		errlist_free(&errs);
		return CTL_USAGE;
	}
	errlist_free(&errs);
	store_set_shared(config_str(c.cfg, "server.state"));
	r = -1;
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
		if (strcmp(argv[0], ctl_commands[i].name) == 0) {
			r = ctl_commands[i].fn(&c, argc - 1, argv + 1);
			break;
		}
	}
	if (r == -1) {
		ctl_error(CTL_USAGE, "unknown command '%s'", argv[0]);
		usage();
		r = CTL_USAGE;
	}
	if (c.store)
		store_close(&c.store);
	config_free(&c.cfg);
	return r;
}
