/*
 * ctl_fetch.c - yubinctl fetch: the remote POP3 mailboxes fetched into
 * local accounts (seed 000 §12.9, F072, F073).
 *
 *   fetch add ACCOUNT HOST[:PORT] USER [--tls|--stls] [--ca FILE]
 *       [--interval DURATION] [--keep] [--accept-from PATTERN]...
 *       [--deny-from PATTERN]... [--deny-mailer PATTERN]...
 *   fetch list | fetch del ACCOUNT HOST USER | fetch run [ACCOUNT]
 *
 * The password comes from standard input only (never argv, where ps
 * shows it) and is stored encrypted (fetch.h).  "fetch run" runs the
 * fetches here, through the code yubind's fetch process runs
 * (fetch_run.h), waiting for a run of the same entry in progress.
 *
 * Privilege: started as root, yubinctl opens the store (which it may
 * create and give to the server user), then drops to the server user for
 * everything else: the key file is made by and belongs to that user, and
 * no remote byte is read as root.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "ctl.h"
#include "fetch.h"
#include "fetch_run.h"
#include "priv.h"
#include "util.h"

/* cf_prepare - the store, then the server user's identity (root
 * drops to it).  CTL_OK or the exit code after saying why. */
static int
cf_prepare(struct ctl *c)
{
	uid_t uid;
	gid_t gid;
	char *why = NULL;

	if (ctl_store(c) == NULL)
		return CTL_RUNTIME;
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

/* account_known - ACCOUNT is a valid name of an existing account:
 * CTL_OK or the exit code after saying why. */
static int
account_known(struct ctl *c, const char *name)
{
	struct account a;
	const char *why;
	int r;

	if (!account_name_valid(name, &why))
		return ctl_error(CTL_USAGE, "%s: %s", name, why);
	r = account_get(c->store, name, &a);
	explicit_bzero(&a, sizeof(a));
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "%s: cannot read the store", name);
	if (r == 0)
		return ctl_error(CTL_USAGE, "unknown account '%s'", name);
	return CTL_OK;
}

/* parse_duration - "N", "Ns", "Nm", "Nh", "Nd" into seconds.  0 or -1. */
static int
parse_duration(const char *s, long long *v_r)
{
	char *end;
	long long v, unit = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		unit = 60, end++;
	else if (*end == 'h')
		unit = 3600, end++;
	else if (*end == 'd')
		unit = 86400, end++;
	if (*end != '\0' || v < 1 || v > FETCH_INTERVAL_MAX / unit)
		return -1;
	*v_r = v * unit;
	return 0;
}

static int
cf_add(struct ctl *c, int argc, char **argv)
{
	struct fetch_entry e;
	unsigned char key[FETCH_KEY_LEN];
	char pass[FETCH_PASS_MAX + 2], ca[PATH_MAX];
	char srv[FETCH_SERVER_MAX];
	const char *why, *hostspec, *caarg = NULL;
	struct fetch_list *l;
	int i, r, tls_set = 0;

	if (argc < 3)
		return ctl_error(CTL_USAGE, "usage: fetch add ACCOUNT HOST[:PORT] "
		    "USER [--tls|--stls] [--ca FILE] [--interval DURATION] "
		    "[--keep] [--accept-from PATTERN]... [--deny-from PATTERN]... "
		    "[--deny-mailer PATTERN]...");
	memset(&e, 0, sizeof(e));
	e.interval = FETCH_INTERVAL_DEF;
	for (i = 3; i < argc; i++) {
		const char *o = argv[i];

		if (strcmp(o, "--tls") == 0 || strcmp(o, "--stls") == 0) {
			if (tls_set++) {
				fetch_entry_clear(&e);
				return ctl_error(CTL_USAGE, "--tls and --stls: "
				    "one of them, once");
			}
			e.tls = o[2] == 't' && o[3] == 'l' ? FETCH_TLS_IMPLICIT :
			    FETCH_TLS_STLS;
			continue;
		}
		if (strcmp(o, "--keep") == 0) {
			e.keep = 1;
			continue;
		}
		if (strcmp(o, "--interval") != 0 && strcmp(o, "--ca") != 0 &&
		    strcmp(o, "--accept-from") != 0 &&
		    strcmp(o, "--deny-from") != 0 &&
		    strcmp(o, "--deny-mailer") != 0) {
			fetch_entry_clear(&e);
			return ctl_error(CTL_USAGE, "fetch add: unknown option '%s'",
			    o);
		}
		if (i + 1 == argc) {
			fetch_entry_clear(&e);
			return ctl_error(CTL_USAGE, "fetch add: %s needs a value", o);
		}
		if (strcmp(o, "--interval") == 0) {
			if (parse_duration(argv[++i], &e.interval) == -1) {
				fetch_entry_clear(&e);
				return ctl_error(CTL_USAGE, "bad interval '%s': a "
				    "number with s, m, h or d, from 1s to 30d",
				    argv[i]);
			}
			continue;
		}
		if (strcmp(o, "--ca") == 0) {
			caarg = argv[++i];
			continue;
		}
		l = strcmp(o, "--accept-from") == 0 ? &e.accept_from :
		    strcmp(o, "--deny-from") == 0 ? &e.deny_from : &e.deny_mailer;
		if (!fetch_pattern_valid(argv[++i], &why)) {
			fetch_entry_clear(&e);
			return ctl_error(CTL_USAGE, "%s '%s': %s", o, argv[i], why);
		}
		if (fetch_list_add(l, argv[i]) == -1) {
			fetch_entry_clear(&e);
			return ctl_error(CTL_USAGE, "%s: more than %d patterns", o,
			    FETCH_PATTERNS_MAX);
		}
	}
	hostspec = argv[1];
	if (!fetch_host_parse(hostspec, e.tls == FETCH_TLS_IMPLICIT ? 995 : 110,
	    &e, &why)) {
		fetch_entry_clear(&e);
		return ctl_error(CTL_USAGE, "%s: %s", hostspec, why);
	}
	if (!fetch_user_valid(argv[2], &why)) {
		fetch_entry_clear(&e);
		return ctl_error(CTL_USAGE, "%s", why);
	}
	(void)str_copy(e.user, sizeof(e.user), argv[2]);
	if ((r = cf_prepare(c)) != CTL_OK ||
	    (r = account_known(c, argv[0])) != CTL_OK) {
		fetch_entry_clear(&e);
		return r;
	}
	(void)str_copy(e.account, sizeof(e.account), argv[0]);
	/* read by the server user at every run: checked now, as that user */
	if (caarg) {
		errno = 0;
		if (realpath(caarg, ca) == NULL || access(ca, R_OK) == -1 ||
		    str_copy(e.ca, sizeof(e.ca), ca) == -1) {
			fetch_entry_clear(&e);
			return ctl_error(CTL_USAGE, "%s: %s", caarg,
			    errno ? strerror(errno) : "path too long");
		}
	}
	if (ctl_read_secret("password", pass, sizeof(pass)) == -1) {
		fetch_entry_clear(&e);
		return CTL_USAGE;
	}
	if (strlen(pass) > FETCH_PASS_MAX) {
		explicit_bzero(pass, sizeof(pass));
		fetch_entry_clear(&e);
		return ctl_error(CTL_USAGE, "password longer than %d bytes",
		    FETCH_PASS_MAX);
	}
	if (fetch_key_load(config_home(c->cfg), 1, key, &why) == -1) {
		explicit_bzero(pass, sizeof(pass));
		fetch_entry_clear(&e);
		return ctl_error(CTL_RUNTIME, "%s/state/%s", config_home(c->cfg),
		    why);
	}
	r = fetch_seal(&e, key, pass);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(pass, sizeof(pass));
	/* a new entry's interval counts from now: the first fetch comes one
	 * interval later, or at once with "fetch run" */
	if (r == -1 || fetch_put(c->store, &e, time_now()) == -1) {
		fetch_entry_clear(&e);
		return ctl_error(CTL_RUNTIME, "cannot store the fetch entry");
	}
	printf("fetch %s %s %s added\n", e.account, fetch_server(&e, srv),
	    e.user);
	fetch_entry_clear(&e);
	return CTL_OK;
}

struct list_ctx {
	struct ctl	*c;
	int		 failed;
};

/* left_fn - one message left on the server: "  left UIDL: REASON". */
static int
left_fn(void *ctx, const void *key, size_t klen, const void *val, size_t vlen,
    long long expires)
{
	size_t plen = *(const size_t *)ctx;

	(void)expires;
	printf("  left %.*s: %.*s\n", (int)(klen - plen), (const char *)key + plen,
	    (int)vlen, (const char *)val);
	return 0;
}

static int
list_fn(void *ctx, const struct fetch_entry *e)
{
	static const char *const tls[] = { "none", "stls", "tls" };
	struct list_ctx *lc = ctx;
	struct fetch_state st;
	struct store_txn *txn = NULL;
	char id[FETCH_ID_LEN + 1], when[32] = "never", prefix[FETCH_ID_LEN + 16];
	char srv[FETCH_SERVER_MAX];
	size_t i, plen;
	time_t t;
	struct tm tm;

	fetch_id(e, id);
	if (fetch_state_get(lc->c->store, id, &st) == -1) {
		lc->failed = 1;
		return 0;
	}
	if (st.last) {
		t = (time_t)st.last;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	printf("%s %s %s tls=%s interval=%llds keep=%s%s%s fetched=%lld "
	    "left=%lld last=%s status=%s\n", e->account, fetch_server(e, srv),
	    e->user, tls[e->tls], e->interval, e->keep ? "yes" : "no",
	    e->ca[0] ? " ca=" : "", e->ca, st.fetched, st.left, when,
	    st.last ? st.status : "-");
	for (i = 0; i < e->accept_from.n; i++)
		printf("  accept-from %s\n", e->accept_from.v[i]);
	for (i = 0; i < e->deny_from.n; i++)
		printf("  deny-from %s\n", e->deny_from.v[i]);
	for (i = 0; i < e->deny_mailer.n; i++)
		printf("  deny-mailer %s\n", e->deny_mailer.v[i]);
	/* the report of the messages left on the server (seed §12.9) */
	snprintf(prefix, sizeof(prefix), "fetchleft/%s/", id);
	plen = strlen(prefix);
	if (store_txn_begin(lc->c->store, 1, &txn) == -1 ||
	    store_titer(txn, STORE_META, prefix, plen, left_fn, &plen) == -1)
		lc->failed = 1;
	if (txn)
		store_txn_abort(&txn);
	return 0;
}

static int
cf_list(struct ctl *c, int argc, char **argv)
{
	struct list_ctx lc = { c, 0 };
	int r;

	(void)argv;
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: fetch list");
	if ((r = cf_prepare(c)) != CTL_OK)
		return r;
	if (fetch_each(c->store, NULL, list_fn, &lc) == -1 || lc.failed)
		return ctl_error(CTL_RUNTIME, "cannot read the fetch entries");
	return CTL_OK;
}

static int
cf_del(struct ctl *c, int argc, char **argv)
{
	struct fetch_entry e;
	const char *why;
	int r;

	if (argc != 3)
		return ctl_error(CTL_USAGE, "usage: fetch del ACCOUNT HOST USER");
	memset(&e, 0, sizeof(e));
	if (!fetch_host_parse(argv[1], 110, &e, &why))
		return ctl_error(CTL_USAGE, "%s: %s", argv[1], why);
	if (!fetch_user_valid(argv[2], &why))
		return ctl_error(CTL_USAGE, "%s", why);
	if (!account_name_valid(argv[0], &why))
		return ctl_error(CTL_USAGE, "%s: %s", argv[0], why);
	if ((r = cf_prepare(c)) != CTL_OK)
		return r;
	(void)str_copy(e.account, sizeof(e.account), argv[0]);
	(void)str_copy(e.user, sizeof(e.user), argv[2]);
	r = fetch_del(c->store, &e);
	if (r == 1) {
		/* the runs' lock file goes with the entry */
		char id[FETCH_ID_LEN + 1], *lock;

		fetch_id(&e, id);
		lock = xasprintf("%s/state/fetch.%s.lock", config_home(c->cfg), id);
		(void)unlink(lock);
		free(lock);
	}
	fetch_entry_clear(&e);
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "cannot remove the fetch entry");
	if (r == 0)
		return ctl_error(CTL_USAGE, "no fetch entry %s %s %s", argv[0],
		    argv[1], argv[2]);
	printf("fetch %s %s %s removed\n", argv[0], argv[1], argv[2]);
	return CTL_OK;
}

struct run_ctx {
	struct ctl	*c;
	int		 n, failed;
};

static int
run_fn(void *ctx, const struct fetch_entry *e)
{
	struct run_ctx *rc = ctx;
	struct fetch_result res;
	char srv[FETCH_SERVER_MAX];

	rc->n++;
	if (fetch_run(rc->c->cfg, rc->c->store, e, 1, &res) != FETCH_RUN_OK) {
		rc->failed++;
		ctl_error(CTL_RUNTIME, "fetch %s %s %s: %s (fetched %lld)",
		    e->account, fetch_server(e, srv), e->user, res.why,
		    res.fetched);
		return 0;
	}
	printf("fetch %s %s %s: fetched %lld, left %lld, deleted %lld\n",
	    e->account, fetch_server(e, srv), e->user, res.fetched, res.left,
	    res.deleted);
	return 0;
}

static int
cf_run(struct ctl *c, int argc, char **argv)
{
	struct run_ctx rc = { c, 0, 0 };
	int r;

	if (argc > 1)
		return ctl_error(CTL_USAGE, "usage: fetch run [ACCOUNT]");
	if ((r = cf_prepare(c)) != CTL_OK)
		return r;
	if (argc == 1 && (r = account_known(c, argv[0])) != CTL_OK)
		return r;
	/* what the runs log goes to standard error, as yubinctl's own */
	fflush(stdout);
	if (fetch_each(c->store, argc == 1 ? argv[0] : NULL, run_fn, &rc) == -1)
		return ctl_error(CTL_RUNTIME, "cannot read the fetch entries");
	if (rc.n == 0)
		printf("no fetch entries\n");
	return rc.failed ? CTL_RUNTIME : CTL_OK;
}

int
ctl_cmd_fetch(struct ctl *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct ctl *, int, char **);
	} cmds[] = {
		{ "add", cf_add },
		{ "list", cf_list },
		{ "del", cf_del },
		{ "run", cf_run },
	};
	size_t i;

	if (argc < 1)
		return ctl_error(CTL_USAGE, "usage: fetch add|list|del|run ...");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(c, argc - 1, argv + 1);
	return ctl_error(CTL_USAGE, "fetch: unknown command '%s'", argv[0]);
}
