/*
 * config.c - yubin.conf, -D overrides and per-account config.def; see
 * config.h and DESIGN.md §6.
 *
 * Every key lives in one static table, cfg_keys[]: section, name, type,
 * default text, range, unit, flags and an optional second spelling.  The
 * defaults are parsed by the same code as the file, so a bad default is our
 * bug and panics at the first load.  A struct config holds one parsed value
 * per table entry (same index), the parsed defaults (for config_is_default
 * and config_print), the [plugin NAME] sections in file order, and a sorted
 * index over "section.key" so a getter costs one binary search.
 *
 * yubin.conf syntax: "[section]" or "[plugin NAME]", "key = value", comment
 * lines starting with '#', ';' or "//", blank lines; a '#' after white space
 * also starts a comment, so config_print's "# changed" marks load back.
 * config.def (seed syntax) has "key=value", "#" and "//" lines, and its
 * values are taken verbatim.
 *
 * The parsers never stop at the first problem: each bad line is appended to
 * the caller's errlist as "FILE:LINE: section.key: message" (or "-D ..."),
 * and the load fails at the end if any were found.  Input is bounded (line
 * length, line count, file size).  Nothing here panics on input; a getter
 * asked for a key that is not in the table, or with the wrong type, panics.
 * A loaded config is never modified: it is shared read-only after fork.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "buf.h"
#include "config.h"
#include "dns.h"
#include "log.h"
#include "util.h"

#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/local/lib/yubin/plugins"
#endif

#define CFG_LINE_MAX	8192		/* bytes per line: far above any real value */
#define CFG_LINES_MAX	4096		/* lines per file: ten times the full key set, commented */
#define CFG_FILE_MAX	(1024 * 1024)	/* bytes per file: CFG_LINES_MAX lines of 256 bytes */
#define CFG_NAME_MAX	64		/* key, section and plugin names */
#define CFG_SUGGEST_DIST 2		/* Levenshtein distance for "did you mean" */
#define CFG_ESC_MAX	200		/* input bytes quoted in one error message */
#define CFG_SIZE_MAX	(1024LL * 1024 * 1024 * 1024)	/* 1024G: no real limit is larger */
#define CFG_DUR_MAX	(366LL * 86400)	/* a year: longer is a typo */
#define CFG_INT_BIG	1000000000LL	/* upper bound of the "no real limit" counters */

enum cfg_type {
	CFG_BOOL,
	CFG_INT,
	CFG_PORT,
	CFG_SIZE,
	CFG_DURATION,
	CFG_STRING,
	CFG_PATH,
	CFG_LIST,
	CFG_ADDRLIST,
	CFG_IPLIST,
};

static const char *const cfg_type_name[] = {
	[CFG_BOOL] = "bool",
	[CFG_INT] = "int",
	[CFG_PORT] = "port",
	[CFG_SIZE] = "size",
	[CFG_DURATION] = "duration",
	[CFG_STRING] = "string",
	[CFG_PATH] = "path",
	[CFG_LIST] = "list",
	[CFG_ADDRLIST] = "addrlist",
	[CFG_IPLIST] = "iplist",
};

#define CFG_ACCOUNT	0x01	/* config.def may set it (SEEDS §2.4) */

#define SEC	1LL		/* duration units, in seconds */
#define MIN	60LL

struct cfg_key {
	const char	 *section;
	const char	 *name;
	enum cfg_type	  type;
	const char	 *def;		/* default, in the file's syntax */
	const char	 *nofile;	/* default without a file (DESIGN §5), or NULL */
	long long	  min, max;	/* int, size, duration (seconds); 0/0: type's own */
	long long	  unit;		/* duration: seconds per bare number */
	unsigned	  flags;
	const char	 *alias;	/* second accepted spelling, or NULL */
	const char *const *allowed;	/* string, list: the accepted words, or NULL */
};

static const char *const cfg_sections[] = { "server", "smtp", "pop3", "queue" };
#define CFG_NSECTIONS	(sizeof(cfg_sections) / sizeof(cfg_sections[0]))

static const char *const cfg_log_dests[] = { "file", "syslog", "stderr", NULL };
static const char *const cfg_auth_mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5", NULL };

/* The key table: the contract with the rest of yubin and with yubin.conf. */
static const struct cfg_key cfg_keys[] = {
	/* [server]: the seed's wiz98msenv.dat plus yubin's own */
	{ .section = "server", .name = "home", .type = CFG_PATH, .def = "./yubin-home" },
	{ .section = "server", .name = "user", .type = CFG_STRING, .def = "" },
	{ .section = "server", .name = "group", .type = CFG_STRING, .def = "" },
	{ .section = "server", .name = "domain", .type = CFG_STRING, .def = "localhost" },
	{ .section = "server", .name = "alias", .type = CFG_LIST, .def = "" },
	{ .section = "server", .name = "admin_address", .type = CFG_STRING, .def = "" },
	{ .section = "server", .name = "domain_mailboxes", .type = CFG_BOOL,
	    .def = "0" },		/* 1: E-Post per-domain accounts (addr.h) */
	{ .section = "server", .name = "plugins", .type = CFG_LIST, .def = "" },
	{ .section = "server", .name = "plugin_dir", .type = CFG_PATH, .def = PLUGINDIR },
	{ .section = "server", .name = "tls_cert", .type = CFG_PATH, .def = "" },
	{ .section = "server", .name = "tls_key", .type = CFG_PATH, .def = "" },
	{ .section = "server", .name = "log", .type = CFG_STRING, .def = "file",
	    .allowed = cfg_log_dests },
	{ .section = "server", .name = "log_size_max", .type = CFG_SIZE, .def = "10M" },
	{ .section = "server", .name = "mailing_list_from_kind", .type = CFG_INT,
	    .def = "0", .min = 0, .max = 2, .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "mailing_list_to_kind", .type = CFG_INT,
	    .def = "0", .min = 0, .max = 1, .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "mailing_list_mail_header_x_element",
	    .type = CFG_BOOL, .def = "0", .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "mailing_list_public_level", .type = CFG_INT,
	    .def = "1", .min = -1, .max = 1, .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "mailing_list_subject_header", .type = CFG_INT,
	    .def = "1", .min = 0, .max = 2, .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "mailing_list_filter_string", .type = CFG_LIST,
	    .def = "", .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "mailbox_capacity_mail_count", .type = CFG_INT,
	    .def = "0", .min = 0, .max = CFG_INT_BIG, .flags = CFG_ACCOUNT },	/* 0: no limit */
	{ .section = "server", .name = "mailbox_capacity_mail_size", .type = CFG_SIZE,
	    .def = "0", .flags = CFG_ACCOUNT },				/* 0: no limit */
	{ .section = "server", .name = "application_cooperation_wait_for_apl_end",
	    .type = CFG_BOOL, .def = "0", .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "mailbox_path", .type = CFG_PATH, .def = "" },	/* "": HOME/mailbox */
	{ .section = "server", .name = "dustbox_path", .type = CFG_PATH, .def = "" },	/* "": HOME/dustbox */
	{ .section = "server", .name = "time_out_of_stop", .type = CFG_DURATION,
	    .def = "60", .unit = SEC },
	{ .section = "server", .name = "resolver", .type = CFG_STRING, .def = "" },	/* "": resolv.conf; else dns_server_parse */
	{ .section = "server", .name = "hook_timeout", .type = CFG_DURATION,
	    .def = "30", .unit = SEC, .min = 1, .max = CFG_DUR_MAX },
	{ .section = "server", .name = "max_sessions_per_worker", .type = CFG_INT,
	    .def = "100", .min = 1, .max = 1000000 },
	{ .section = "server", .name = "forward_address", .type = CFG_ADDRLIST,
	    .def = "", .flags = CFG_ACCOUNT },
	{ .section = "server", .name = "forward_keep_copy", .type = CFG_BOOL,
	    .def = "1", .flags = CFG_ACCOUNT },

	/* [smtp]: the seed's smtpenv.dat plus listeners, limits, timeouts */
	{ .section = "smtp", .name = "port", .type = CFG_PORT, .def = "25", .nofile = "2525" },
	{ .section = "smtp", .name = "listen", .type = CFG_LIST, .def = "0.0.0.0",
	    .nofile = "127.0.0.1" },
	{ .section = "smtp", .name = "submission_port", .type = CFG_PORT, .def = "587",
	    .nofile = "off" },
	{ .section = "smtp", .name = "smtps_port", .type = CFG_PORT, .def = "465",
	    .nofile = "off" },
	{ .section = "smtp", .name = "hostname", .type = CFG_STRING, .def = "" },	/* "": gethostname */
	{ .section = "smtp", .name = "subhost", .type = CFG_LIST, .def = "" },
	{ .section = "smtp", .name = "relay", .type = CFG_BOOL, .def = "0" },
	{ .section = "smtp", .name = "pop_before_smtp", .type = CFG_BOOL, .def = "0" },
	{ .section = "smtp", .name = "pop_befor_smtp_time_to_live", .type = CFG_DURATION,
	    .def = "30", .unit = MIN, .alias = "pop_before_smtp_time_to_live" },
	{ .section = "smtp", .name = "use_dustbox", .type = CFG_BOOL, .def = "0",
	    .flags = CFG_ACCOUNT },
	{ .section = "smtp", .name = "address_permits_relay", .type = CFG_IPLIST, .def = "" },
	{ .section = "smtp", .name = "resend_timeout", .type = CFG_DURATION, .def = "1440",
	    .unit = MIN },
	{ .section = "smtp", .name = "send_permits_only_smtp_auth", .type = CFG_BOOL,
	    .def = "0" },
	{ .section = "smtp", .name = "multiprocessing", .type = CFG_INT, .def = "20",
	    .min = 1, .max = 10000 },
	{ .section = "smtp", .name = "min_spare", .type = CFG_INT, .def = "2",
	    .min = 0, .max = 1000 },
	{ .section = "smtp", .name = "max_spare", .type = CFG_INT, .def = "8",
	    .min = 1, .max = 1000 },
	{ .section = "smtp", .name = "send_max_during_a_day", .type = CFG_INT, .def = "-1",
	    .min = -1, .max = CFG_INT_BIG, .flags = CFG_ACCOUNT },	/* -1: unlimited */
	{ .section = "smtp", .name = "reject_domain", .type = CFG_LIST, .def = "",
	    .flags = CFG_ACCOUNT },
	{ .section = "smtp", .name = "reject_mailaddress", .type = CFG_ADDRLIST, .def = "",
	    .flags = CFG_ACCOUNT },
	{ .section = "smtp", .name = "max_message_size", .type = CFG_SIZE, .def = "0" },	/* 0: unlimited */
	{ .section = "smtp", .name = "max_recipients", .type = CFG_INT, .def = "100",
	    .min = 1, .max = 100000 },
	{ .section = "smtp", .name = "vrfy_expn", .type = CFG_BOOL, .def = "0" },
	/* CRAM-MD5 is opt-in: it works only for accounts that keep their
	 * secret (--apop), and clients that see it offered pick it first */
	{ .section = "smtp", .name = "auth_mechanisms", .type = CFG_LIST,
	    .def = "PLAIN LOGIN", .allowed = cfg_auth_mechs },
	{ .section = "smtp", .name = "auth_plaintext", .type = CFG_BOOL, .def = "0" },
	{ .section = "smtp", .name = "auth_fail_delay", .type = CFG_DURATION, .def = "1",
	    .unit = SEC },
	{ .section = "smtp", .name = "auth_max_failures", .type = CFG_INT, .def = "3",
	    .min = 1, .max = 100 },
	{ .section = "smtp", .name = "sender_trust", .type = CFG_INT, .def = "1",
	    .min = 1, .max = 3 },
	{ .section = "smtp", .name = "timeout_command", .type = CFG_DURATION, .def = "300",
	    .unit = SEC, .min = 1, .max = CFG_DUR_MAX },
	{ .section = "smtp", .name = "timeout_data", .type = CFG_DURATION, .def = "180",
	    .unit = SEC, .min = 1, .max = CFG_DUR_MAX },
	{ .section = "smtp", .name = "max_errors", .type = CFG_INT, .def = "10",
	    .min = 1, .max = 1000 },
	{ .section = "smtp", .name = "max_commands", .type = CFG_INT, .def = "1000",
	    .min = 10, .max = 1000000 },
	{ .section = "smtp", .name = "greet_delay", .type = CFG_DURATION, .def = "0",
	    .unit = SEC },

	/* [pop3]: the seed's popenv.dat plus listeners and limits */
	{ .section = "pop3", .name = "port", .type = CFG_PORT, .def = "110", .nofile = "2110" },
	{ .section = "pop3", .name = "pop3s_port", .type = CFG_PORT, .def = "995",
	    .nofile = "off" },
	{ .section = "pop3", .name = "listen", .type = CFG_LIST, .def = "" },	/* "": smtp.listen */
	{ .section = "pop3", .name = "dustbox", .type = CFG_BOOL, .def = "0",
	    .flags = CFG_ACCOUNT },
	{ .section = "pop3", .name = "uidl_interval", .type = CFG_INT, .def = "0",
	    .min = 0, .max = 10000 },					/* milliseconds */
	{ .section = "pop3", .name = "timeout", .type = CFG_DURATION, .def = "600",
	    .unit = SEC, .min = 1, .max = CFG_DUR_MAX },
	{ .section = "pop3", .name = "max_processes", .type = CFG_INT, .def = "50",
	    .min = 1, .max = 10000 },
	{ .section = "pop3", .name = "min_spare", .type = CFG_INT, .def = "2",
	    .min = 0, .max = 1000 },
	{ .section = "pop3", .name = "max_spare", .type = CFG_INT, .def = "8",
	    .min = 1, .max = 1000 },
	{ .section = "pop3", .name = "auth_plaintext", .type = CFG_BOOL, .def = "0" },

	/* [queue]: E-Post's delivery settings */
	{ .section = "queue", .name = "retry_interval", .type = CFG_DURATION, .def = "120",
	    .unit = SEC, .min = 1, .max = CFG_DUR_MAX },
	{ .section = "queue", .name = "keep_retry_interval", .type = CFG_BOOL, .def = "0" },
	{ .section = "queue", .name = "retry_count_rejected", .type = CFG_INT, .def = "9",
	    .min = 0, .max = 1000 },
	{ .section = "queue", .name = "retry_period_line_error", .type = CFG_DURATION,
	    .def = "8h", .unit = SEC },
	{ .section = "queue", .name = "retry_period_no_response", .type = CFG_DURATION,
	    .def = "24h", .unit = SEC },
	{ .section = "queue", .name = "mx_cache_ttl", .type = CFG_DURATION,
	    .def = "864000", .unit = SEC },
	{ .section = "queue", .name = "delivery_workers", .type = CFG_INT, .def = "4",
	    .min = 1, .max = 200 },
	{ .section = "queue", .name = "smarthost", .type = CFG_STRING, .def = "" },
	{ .section = "queue", .name = "smarthost_tls", .type = CFG_STRING, .def = "may" },	/* none|may|encrypt|verify */
	{ .section = "queue", .name = "smarthost_auth", .type = CFG_STRING, .def = "" },	/* USER:PASSWORD */
	{ .section = "queue", .name = "destination_concurrency", .type = CFG_INT,
	    .def = "2", .min = 1, .max = 100 },				/* agents per destination */
	{ .section = "queue", .name = "max_hold", .type = CFG_DURATION, .def = "7d",
	    .unit = SEC, .min = 0, .max = CFG_DUR_MAX },			/* FUTURERELEASE limit */
	{ .section = "queue", .name = "bounce_headers_max", .type = CFG_SIZE, .def = "64K" },
	{ .section = "queue", .name = "remote_port", .type = CFG_PORT, .def = "25" },
	{ .section = "queue", .name = "smtp_timeout", .type = CFG_DURATION, .def = "0",
	    .unit = SEC, .min = 0, .max = 3600 },	/* cap on each wait; 0: RFC 5321 */
	{ .section = "queue", .name = "forward_all_to_gateway", .type = CFG_BOOL, .def = "0" },
	{ .section = "queue", .name = "send_error_copy_to_admin", .type = CFG_BOOL,
	    .def = "0" },
	{ .section = "queue", .name = "delay_warning_time", .type = CFG_DURATION,
	    .def = "0", .unit = SEC },					/* 0: off */
	{ .section = "queue", .name = "scan_interval", .type = CFG_DURATION, .def = "300",
	    .unit = SEC, .min = 1, .max = CFG_DUR_MAX },
};

#define CFG_NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

struct cfg_val {
	long long	 num;	/* bool, int, port, size, duration (seconds) */
	char		*str;	/* string, path: owned; NULL for other types */
	struct cfg_list	 list;	/* list types: v[] and each item owned */
	unsigned	 line;	/* line that set it in the file; 0: not there */
	unsigned char	 alias;	/* that line used the key's alias spelling */
};

struct cfg_plugin {
	char		*name;
	size_t		 n;
	char		**key;	/* owned, file order */
	char		**val;	/* owned */
	unsigned	*line;	/* 0: from -D */
};

struct cfg_ix {
	unsigned short	 key;	/* index into cfg_keys */
	unsigned short	 alias;	/* 1: this entry is the key's alias spelling */
};

struct config {
	char		*file;		/* NULL: compiled-in defaults */
	char		*confdir;
	char		*home;		/* absolute */
	int		 nofile;
	struct cfg_val	 val[CFG_NKEYS];
	struct cfg_val	 def[CFG_NKEYS];
	struct cfg_plugin *plugin;
	size_t		 nplugin;
	struct cfg_ix	 ix[2 * CFG_NKEYS];	/* sorted by section, then name */
	size_t		 nix;
	struct alias_table *aliases;	/* CONFDIR/alias.dat; shared by copies */
	unsigned char	 account_set[CFG_NKEYS];	/* config_account: the
						 * config.def set key I */
};

/* Where a value came from, for error messages. */
struct cfg_src {
	const char	*file;	/* NULL: a -D option */
	unsigned	 line;
};

static void	cfg_val_free(struct cfg_val *v);

/*
 * cfg_err - append "FILE:LINE: MSG" (or "-D MSG") to ERRS.
 */
static void __attribute__((format(printf, 3, 4)))
cfg_err(struct errlist *errs, const struct cfg_src *src, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		log_fatal("out of memory (config error)");
	va_end(ap);
	if (src->file)
		errlist_add(errs, "%s:%u: %s", src->file, src->line, msg);
	else
		errlist_add(errs, "-D %s", msg);
	free(msg);
}

/* cfg_esc - printable copy of S for an error message, in OUT. */
static const char *
cfg_esc(char *out, size_t size, const char *s)
{
	return str_escape(out, size, s, strlen(s));
}

#define ESC_SIZE	(CFG_ESC_MAX * 4 + 8)

/*
 * Index: "section.key" lookups by binary search over cfg->ix.
 */
static const char *
ix_name(const struct cfg_ix *x)
{
	return x->alias ? cfg_keys[x->key].alias : cfg_keys[x->key].name;
}

static int
ix_cmp(const void *a, const void *b)
{
	const struct cfg_ix *x = a, *y = b;
	int r;

	r = strcmp(cfg_keys[x->key].section, cfg_keys[y->key].section);
	return r ? r : strcmp(ix_name(x), ix_name(y));
}

/* cmp_part - compare S (N bytes, no NUL) with the string T, like strcmp. */
static int
cmp_part(const char *s, size_t n, const char *t)
{
	int r = strncmp(s, t, n);

	if (r)
		return r;
	return t[n] ? -1 : 0;
}

static void
ix_build(struct config *cfg)
{
	size_t i;

	cfg->nix = 0;
	for (i = 0; i < CFG_NKEYS; i++) {
		cfg->ix[cfg->nix].key = (unsigned short)i;
		cfg->ix[cfg->nix++].alias = 0;
		if (cfg_keys[i].alias) {
			cfg->ix[cfg->nix].key = (unsigned short)i;
			cfg->ix[cfg->nix++].alias = 1;
		}
	}
	qsort(cfg->ix, cfg->nix, sizeof(cfg->ix[0]), ix_cmp);
	for (i = 1; i < cfg->nix; i++)
		if (ix_cmp(&cfg->ix[i - 1], &cfg->ix[i]) == 0)
			log_panic("config: key %s.%s is in the table twice",
			    cfg_keys[cfg->ix[i].key].section, ix_name(&cfg->ix[i]));
}

/*
 * cfg_find - table index of SECTION (SECLEN bytes) . NAME (NAMELEN bytes),
 * or -1.  *ALIAS_R (may be NULL) is set to 1 when NAME is the alias.
 */
static int
cfg_find(const struct config *cfg, const char *sec, size_t seclen,
    const char *name, size_t namelen, int *alias_r)
{
	size_t lo = 0, hi = cfg->nix, mid;
	const struct cfg_ix *x;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		x = &cfg->ix[mid];
		r = cmp_part(sec, seclen, cfg_keys[x->key].section);
		if (r == 0)
			r = cmp_part(name, namelen, ix_name(x));
		if (r == 0) {
			if (alias_r)
				*alias_r = x->alias;
			return x->key;
		}
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* cfg_key_get - table index of "section.key" KEY; panics when unknown. */
static size_t
cfg_key_get(const struct config *cfg, const char *key)
{
	const char *dot = strchr(key, '.');
	int i = -1;

	if (dot)
		i = cfg_find(cfg, key, (size_t)(dot - key), dot + 1,
		    strlen(dot + 1), NULL);
	if (i < 0)
		log_panic("config: unknown key '%s'", key);
	return (size_t)i;
}

static int
cfg_section(const char *name)
{
	size_t i;

	for (i = 0; i < CFG_NSECTIONS; i++)
		if (strcmp(cfg_sections[i], name) == 0)
			return (int)i;
	return -1;
}

/*
 * "Did you mean": Levenshtein distance, ASCII case-insensitive, of names
 * no longer than CFG_NAME_MAX (longer ones are never near a key).
 */
static size_t
lev(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, tmp, cost;
	size_t row[CFG_NAME_MAX + 3];

	if (la > CFG_NAME_MAX + CFG_SUGGEST_DIST || lb > CFG_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;
			row[j] = prev + cost;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

/*
 * cfg_suggest - the key nearest NAME: among SECTION's keys (written bare),
 * else among every section's (written "section.key").  NULL if none is
 * within CFG_SUGGEST_DIST.  ACCOUNT_ONLY: bare names of per-account keys.
 */
static const char *
cfg_suggest(const char *section, const char *name, int account_only,
    char *out, size_t size)
{
	size_t i, d, best = SIZE_MAX, besti = 0;
	int pass, bestalias = 0;
	const char *cand;

	for (pass = section ? 0 : 1; pass < 2; pass++) {
		for (i = 0; i < CFG_NKEYS * 2; i++) {
			const struct cfg_key *k = &cfg_keys[i / 2];

			cand = i % 2 ? k->alias : k->name;
			if (cand == NULL)
				continue;
			if (pass == 0 && strcmp(k->section, section) != 0)
				continue;
			if (account_only && !(k->flags & CFG_ACCOUNT))
				continue;
			d = lev(name, cand);
			if (d < best) {
				best = d;
				besti = i / 2;
				bestalias = (int)(i % 2);
			}
		}
		if (best <= CFG_SUGGEST_DIST) {
			cand = bestalias ? cfg_keys[besti].alias : cfg_keys[besti].name;
			if (pass == 0 || account_only)
				snprintf(out, size, "%s", cand);
			else
				snprintf(out, size, "%s.%s", cfg_keys[besti].section, cand);
			return out;
		}
	}
	return NULL;
}

static const char *
cfg_suggest_section(const char *name)
{
	size_t i, d, best = SIZE_MAX, besti = 0;

	for (i = 0; i < CFG_NSECTIONS; i++) {
		d = lev(name, cfg_sections[i]);
		if (d < best) {
			best = d;
			besti = i;
		}
	}
	return best <= CFG_SUGGEST_DIST ? cfg_sections[besti] : NULL;
}

/*
 * Value parsing.  Each parser fills V (fresh allocations) or writes why
 * into WHY and returns -1.
 */

/* parse_num - optional '-' (when NEG), then decimal digits; -1 on overflow
 * or no digits.  *END_R: first byte after the digits. */
static int
parse_num(const char *s, int neg, long long *n_r, const char **end_r)
{
	long long n = 0;
	int minus = 0, digits = 0;

	if (*s == '-' && neg) {
		minus = 1;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (n > (LLONG_MAX - (*s - '0')) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (digits == 0)
		return -1;
	*n_r = minus ? -n : n;
	*end_r = s;
	return 0;
}

static long long
key_min(const struct cfg_key *k)
{
	return k->min;
}

static long long
key_max(const struct cfg_key *k)
{
	if (k->max || k->min)
		return k->max;
	return k->type == CFG_SIZE ? CFG_SIZE_MAX : CFG_DUR_MAX;
}

/* fmt_size - N bytes with the largest exact K/M/G suffix. */
static void
fmt_size(struct buf *b, long long n)
{
	static const char suf[] = "GMK";
	long long m = 1024LL * 1024 * 1024;
	int i;

	for (i = 0; i < 3; i++, m /= 1024)
		if (n != 0 && n % m == 0) {
			buf_printf(b, "%lld%c", n / m, suf[i]);
			return;
		}
	buf_printf(b, "%lld", n);
}

/* fmt_duration - whole days or hours when exact, else the key's own unit,
 * else seconds: "300s", "30m", "8h", "10d". */
static void
fmt_duration(struct buf *b, const struct cfg_key *k, long long n)
{
	if (n != 0 && n % 86400 == 0)
		buf_printf(b, "%lldd", n / 86400);
	else if (n != 0 && n % 3600 == 0)
		buf_printf(b, "%lldh", n / 3600);
	else if (k->unit == MIN && n % 60 == 0)
		buf_printf(b, "%lldm", n / 60);
	else
		buf_printf(b, "%llds", n);
}

static const char *
word_of(const char *const *allowed, const char *w)
{
	for (; *allowed; allowed++)
		if (strcasecmp(*allowed, w) == 0)
			return *allowed;
	return NULL;
}

static void
words_join(struct buf *b, const char *const *allowed)
{
	const char *const *p;

	for (p = allowed; *p; p++)
		buf_printf(b, "%s%s", p == allowed ? "" : ", ", *p);
}

static int
valid_addr(const char *s)
{
	const char *at = NULL, *p;

	for (p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
		if (*p == '@') {
			if (at)
				return 0;
			at = p;
		}
	}
	if (at && (at == s || at[1] == '\0'))
		return 0;
	return 1;
}

static int
valid_ip(const char *s)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *slash = strchr(s, '/'), *p;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int maxp, plen = 0;

	if (n == 0 || n >= sizeof(addr))
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		maxp = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		maxp = 128;
	else
		return 0;
	if (slash == NULL)
		return 1;
	p = slash + 1;
	if (*p == '\0' || strlen(p) > 3)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		plen = plen * 10 + (*p - '0');
	}
	return plen <= maxp;
}

/*
 * cfg_parse - parse TEXT as a value of key K into V.  0, or -1 with the
 * reason (without the key name) in *WHY_R (owned).
 */
static int
cfg_parse(const struct cfg_key *k, const char *text, struct cfg_val *v,
    char **why_r)
{
	char esc[ESC_SIZE];
	struct buf why;
	const char *end;
	long long n, mult;
	char *copy, *tok, *save;
	const char *w;
	int bad = 0;

	memset(v, 0, sizeof(*v));
	buf_init(&why, 0);
	cfg_esc(esc, sizeof(esc), text);
	switch (k->type) {
	case CFG_BOOL:
		if (strcasecmp(text, "1") == 0 || strcasecmp(text, "true") == 0 ||
		    strcasecmp(text, "yes") == 0 || strcasecmp(text, "on") == 0)
			v->num = 1;
		else if (strcasecmp(text, "0") == 0 || strcasecmp(text, "false") == 0 ||
		    strcasecmp(text, "no") == 0 || strcasecmp(text, "off") == 0)
			v->num = 0;
		else
			buf_printf(&why, "expected a boolean (1/0, true/false, "
			    "yes/no, on/off), got \"%s\"", esc);
		break;
	case CFG_INT:
		if (parse_num(text, k->min < 0, &n, &end) == -1 || *end != '\0' ||
		    n < k->min || n > k->max)
			buf_printf(&why, "expected an integer from %lld to %lld, "
			    "got \"%s\"", k->min, k->max, esc);
		else
			v->num = n;
		break;
	case CFG_PORT:
		if (strcasecmp(text, "off") == 0)
			v->num = -1;
		else if (parse_num(text, 0, &n, &end) == -1 || *end != '\0' ||
		    n > 65535)
			buf_printf(&why, "expected a port 0-65535 or \"off\", "
			    "got \"%s\"", esc);
		else
			v->num = n;
		break;
	case CFG_SIZE:
		mult = 1;
		if (parse_num(text, 0, &n, &end) == -1) {
			bad = 1;
		} else {
			switch (*end) {
			case 'k': case 'K': mult = 1024; end++; break;
			case 'm': case 'M': mult = 1024 * 1024; end++; break;
			case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
			}
			if (*end == 'b' || *end == 'B')
				end++;
			bad = *end != '\0';
		}
		if (bad)
			buf_printf(&why, "expected a size (bytes, or a number with "
			    "K, M or G suffix), got \"%s\"", esc);
		else if (n > key_max(k) / mult || n * mult < key_min(k)) {
			buf_puts(&why, "expected a size from ");
			fmt_size(&why, key_min(k));
			buf_puts(&why, " to ");
			fmt_size(&why, key_max(k));
			buf_printf(&why, ", got \"%s\"", esc);
		} else
			v->num = n * mult;
		break;
	case CFG_DURATION:
		mult = k->unit;
		if (parse_num(text, 0, &n, &end) == -1) {
			bad = 1;
		} else {
			switch (*end) {
			case 's': case 'S': mult = 1; end++; break;
			case 'm': case 'M': mult = 60; end++; break;
			case 'h': case 'H': mult = 3600; end++; break;
			case 'd': case 'D': mult = 86400; end++; break;
			}
			bad = *end != '\0';
		}
		if (bad)
			buf_printf(&why, "expected a duration (a number with s, m, h "
			    "or d suffix; a bare number is in %s), got \"%s\"",
			    k->unit == MIN ? "minutes" : "seconds", esc);
		else if (n > key_max(k) / mult || n * mult < key_min(k)) {
			buf_puts(&why, "expected a duration from ");
			fmt_duration(&why, k, key_min(k));
			buf_puts(&why, " to ");
			fmt_duration(&why, k, key_max(k));
			buf_printf(&why, ", got \"%s\"", esc);
		} else
			v->num = n * mult;
		break;
	case CFG_STRING:
	case CFG_PATH:
		if (k->allowed == NULL) {
			v->str = xstrdup(text);
		} else if ((w = word_of(k->allowed, text)) != NULL) {
			v->str = xstrdup(w);
		} else {
			buf_puts(&why, "expected one of ");
			words_join(&why, k->allowed);
			buf_printf(&why, ", got \"%s\"", esc);
		}
		break;
	case CFG_LIST:
	case CFG_ADDRLIST:
	case CFG_IPLIST:
		copy = xstrdup(text);
		for (tok = strtok_r(copy, ", \t", &save); tok;
		    tok = strtok_r(NULL, ", \t", &save)) {
			w = tok;
			if (k->allowed && (w = word_of(k->allowed, tok)) == NULL) {
				cfg_esc(esc, sizeof(esc), tok);
				buf_puts(&why, "expected items from ");
				words_join(&why, k->allowed);
				buf_printf(&why, ", got \"%s\"", esc);
				break;
			}
			if (k->type == CFG_ADDRLIST && !valid_addr(tok)) {
				cfg_esc(esc, sizeof(esc), tok);
				buf_printf(&why, "expected addresses (local@domain) "
				    "or domains, got \"%s\"", esc);
				break;
			}
			if (k->type == CFG_IPLIST && !valid_ip(tok)) {
				cfg_esc(esc, sizeof(esc), tok);
				buf_printf(&why, "expected IPv4/IPv6 addresses or "
				    "CIDR blocks (a.b.c.d/n, x::/n), got \"%s\"", esc);
				break;
			}
			v->list.v = xrealloc(v->list.v,
			    (v->list.n + 1) * sizeof(*v->list.v));
			v->list.v[v->list.n++] = xstrdup(w);
		}
		free(copy);
		break;
	}
	if (why.len) {
		cfg_val_free(v);
		*why_r = buf_steal(&why);
		return -1;
	}
	buf_free(&why);
	return 0;
}

static void
cfg_val_free(struct cfg_val *v)
{
	size_t i;

	free(v->str);
	for (i = 0; i < v->list.n; i++)
		free(v->list.v[i]);
	free(v->list.v);
	memset(v, 0, sizeof(*v));
}

static void
cfg_val_copy(struct cfg_val *dst, const struct cfg_val *src)
{
	size_t i;

	*dst = *src;
	dst->str = src->str ? xstrdup(src->str) : NULL;
	dst->list.v = NULL;
	if (src->list.n) {
		dst->list.v = xcalloc(src->list.n, sizeof(*dst->list.v));
		for (i = 0; i < src->list.n; i++)
			dst->list.v[i] = xstrdup(src->list.v[i]);
	}
}

static int
cfg_val_equal(const struct cfg_val *a, const struct cfg_val *b)
{
	size_t i;

	if (a->num != b->num || (a->str == NULL) != (b->str == NULL) ||
	    a->list.n != b->list.n)
		return 0;
	if (a->str && strcmp(a->str, b->str) != 0)
		return 0;
	for (i = 0; i < a->list.n; i++)
		if (strcmp(a->list.v[i], b->list.v[i]) != 0)
			return 0;
	return 1;
}

/* cfg_format - V in yubin.conf syntax, appended to B. */
static void
cfg_format(struct buf *b, const struct cfg_key *k, const struct cfg_val *v)
{
	size_t i;

	switch (k->type) {
	case CFG_BOOL:
		buf_puts(b, v->num ? "yes" : "no");
		break;
	case CFG_INT:
		buf_printf(b, "%lld", v->num);
		break;
	case CFG_PORT:
		if (v->num < 0)
			buf_puts(b, "off");
		else
			buf_printf(b, "%lld", v->num);
		break;
	case CFG_SIZE:
		fmt_size(b, v->num);
		break;
	case CFG_DURATION:
		fmt_duration(b, k, v->num);
		break;
	case CFG_STRING:
	case CFG_PATH:
		buf_puts(b, v->str);
		break;
	case CFG_LIST:
	case CFG_ADDRLIST:
	case CFG_IPLIST:
		for (i = 0; i < v->list.n; i++)
			buf_printf(b, "%s%s", i ? ", " : "", v->list.v[i]);
		break;
	}
}

/*
 * Plugin sections.
 */
/* valid_name - a key, section or plugin name: letters, digits, '_', '-'
 * (and '.' when DOTS), 1 to CFG_NAME_MAX bytes (any length when DOTS > 1). */
static int
valid_name(const char *s, int dots)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    !(dots && *s == '.'))
			return 0;
	return n > 0 && (n <= CFG_NAME_MAX || dots > 1);
}

static struct cfg_plugin *
plugin_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nplugin; i++)
		if (strcmp(cfg->plugin[i].name, name) == 0)
			return &cfg->plugin[i];
	return NULL;
}

static struct cfg_plugin *
plugin_open(struct config *cfg, const char *name)
{
	struct cfg_plugin *p = plugin_find(cfg, name);

	if (p)
		return p;
	cfg->plugin = xrealloc(cfg->plugin, (cfg->nplugin + 1) * sizeof(*cfg->plugin));
	p = &cfg->plugin[cfg->nplugin++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	return p;
}

/*
 * plugin_set - KEY = VAL in plugin section P.  A key already there is
 * replaced when LINE is 0 (-D), else it is an error: returns the earlier
 * line (> 0) and changes nothing.  0 when stored.
 */
static unsigned
plugin_set(struct cfg_plugin *p, const char *key, const char *val, unsigned line)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->key[i], key) != 0)
			continue;
		if (line && p->line[i])
			return p->line[i];
		free(p->val[i]);
		p->val[i] = xstrdup(val);
		p->line[i] = line;
		return 0;
	}
	p->key = xrealloc(p->key, (p->n + 1) * sizeof(*p->key));
	p->val = xrealloc(p->val, (p->n + 1) * sizeof(*p->val));
	p->line = xrealloc(p->line, (p->n + 1) * sizeof(*p->line));
	p->key[p->n] = xstrdup(key);
	p->val[p->n] = xstrdup(val);
	p->line[p->n++] = line;
	return 0;
}

static void
plugin_free(struct cfg_plugin *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->key[i]);
		free(p->val[i]);
	}
	free(p->key);
	free(p->val);
	free(p->line);
	free(p->name);
}

/*
 * Loading.
 */

/* cfg_set - parse TEXT into key I (as spelt NAME) from SRC; errors to ERRS. */
static void
cfg_set(struct config *cfg, size_t i, const char *name, const char *text,
    const struct cfg_src *src, struct errlist *errs)
{
	const struct cfg_key *k = &cfg_keys[i];
	struct cfg_val v;
	char *why;

	if (cfg_parse(k, text, &v, &why) == -1) {
		cfg_err(errs, src, "%s.%s: %s", k->section, name, why);
		free(why);
		return;
	}
	v.line = cfg->val[i].line;
	v.alias = cfg->val[i].alias;
	cfg_val_free(&cfg->val[i]);
	cfg->val[i] = v;
}

/* cfg_defaults - parse every default (the no-file profile's when NOFILE). */
static void
cfg_defaults(struct config *cfg)
{
	const struct cfg_key *k;
	const char *text;
	char *why;
	size_t i;

	for (i = 0; i < CFG_NKEYS; i++) {
		k = &cfg_keys[i];
		text = cfg->nofile && k->nofile ? k->nofile : k->def;
		if (cfg_parse(k, text, &cfg->def[i], &why) == -1)
			log_panic("config: default of %s.%s: %s", k->section,
			    k->name, why);
		cfg_val_copy(&cfg->val[i], &cfg->def[i]);
	}
}

/* cfg_header - a "[section]" line S (trimmed, starts with '['): the section
 * index, CFG_NSECTIONS + plugin index for [plugin NAME], or -1 (reported). */
static int
cfg_header(struct config *cfg, char *s, const struct cfg_src *src,
    struct errlist *errs)
{
	char esc[ESC_SIZE];
	const char *near;
	char *end = strchr(s, ']'), *name;
	int sec;

	if (end == NULL || end[1] != '\0') {
		cfg_err(errs, src, "expected \"[section]\" alone on the line, "
		    "got \"%s\"", cfg_esc(esc, sizeof(esc), s));
		return -1;
	}
	*end = '\0';
	name = str_trim(s + 1);
	if (strncmp(name, "plugin", 6) == 0 &&
	    (name[6] == '\0' || name[6] == ' ' || name[6] == '\t')) {
		name = str_trim(name + 6);
		if (*name == '\0') {
			cfg_err(errs, src, "[plugin] needs a name: [plugin NAME]");
			return -1;
		}
		if (!valid_name(name, 0)) {
			cfg_err(errs, src, "bad plugin name \"%s\" (letters, digits, "
			    "'_' and '-')", cfg_esc(esc, sizeof(esc), name));
			return -1;
		}
		return (int)(CFG_NSECTIONS + (size_t)(plugin_open(cfg, name) -
		    cfg->plugin));
	}
	if ((sec = cfg_section(name)) >= 0)
		return sec;
	cfg_esc(esc, sizeof(esc), name);
	if ((near = cfg_suggest_section(name)) != NULL)
		cfg_err(errs, src, "unknown section [%s], did you mean [%s]?",
		    esc, near);
	else
		cfg_err(errs, src, "unknown section [%s] (sections: server, smtp, "
		    "pop3, queue, plugin NAME)", esc);
	return -1;
}

/* cfg_unknown - report NAME, not a key of SECTION. */
static void
cfg_unknown(const char *section, const char *name, const struct cfg_src *src,
    struct errlist *errs)
{
	char esc[ESC_SIZE], near[2 * CFG_NAME_MAX + 2];

	cfg_esc(esc, sizeof(esc), name);
	if (cfg_suggest(section, name, 0, near, sizeof(near)))
		cfg_err(errs, src, "%s.%s: unknown key, did you mean '%s'?",
		    section, esc, near);
	else
		cfg_err(errs, src, "%s.%s: unknown key", section, esc);
}

/* cfg_line - one line of yubin.conf (NUL-terminated copy in S). *SEC: the
 * current section (-1: none or a bad one, -2: before any). */
static void
cfg_line(struct config *cfg, char *s, int *sec, const struct cfg_src *src,
    struct errlist *errs)
{
	char esc[ESC_SIZE];
	const struct cfg_key *k;
	struct cfg_plugin *p;
	char *eq, *key, *value;
	unsigned first;
	int i, alias;

	s = str_trim(s);
	if (*s == '\0' || *s == '#' || *s == ';' || (s[0] == '/' && s[1] == '/'))
		return;
	/* a '#' after white space starts a comment: config_print's marks */
	for (eq = s + 1; *eq; eq++)
		if (*eq == '#' && (eq[-1] == ' ' || eq[-1] == '\t')) {
			*eq = '\0';
			s = str_trim(s);
			break;
		}
	if (*s == '[') {
		*sec = cfg_header(cfg, s, src, errs);
		return;
	}
	if ((eq = strchr(s, '=')) == NULL) {
		cfg_err(errs, src, "expected \"key = value\" or \"[section]\", "
		    "got \"%s\"", cfg_esc(esc, sizeof(esc), s));
		return;
	}
	if (*sec == -1)		/* under a bad header, already reported */
		return;
	*eq = '\0';
	key = str_trim(s);
	value = str_trim(eq + 1);
	if (!valid_name(key, *sec >= (int)CFG_NSECTIONS)) {
		cfg_err(errs, src, "bad key name \"%s\"",
		    cfg_esc(esc, sizeof(esc), key));
		return;
	}
	if (*sec == -2) {
		cfg_err(errs, src, "%s: key outside any [section]", key);
		return;
	}
	if (*sec >= (int)CFG_NSECTIONS) {
		p = &cfg->plugin[*sec - (int)CFG_NSECTIONS];
		if ((first = plugin_set(p, key, value, src->line)) != 0)
			cfg_err(errs, src, "plugin.%s.%s: given twice (first at "
			    "line %u)", p->name, key, first);
		return;
	}
	i = cfg_find(cfg, cfg_sections[*sec], strlen(cfg_sections[*sec]), key,
	    strlen(key), &alias);
	if (i < 0) {
		cfg_unknown(cfg_sections[*sec], key, src, errs);
		return;
	}
	k = &cfg_keys[i];
	if ((first = cfg->val[i].line) != 0) {
		if (cfg->val[i].alias == alias)
			cfg_err(errs, src, "%s.%s: given twice (first at line %u)",
			    k->section, key, first);
		else
			cfg_err(errs, src, "%s.%s: given twice (first at line %u "
			    "as '%s')", k->section, key, first,
			    alias ? k->name : k->alias);
		return;
	}
	cfg->val[i].line = src->line;
	cfg->val[i].alias = (unsigned char)alias;
	cfg_set(cfg, (size_t)i, key, value, src, errs);
}

/*
 * cfg_lines - split DATA (LEN bytes) into lines, bounded, and hand each to
 * FN.  Over-long lines and NUL bytes are reported and skipped; reading
 * stops after CFG_LINES_MAX lines.
 */
static void
cfg_lines(const char *path, const char *data, size_t len,
    void (*fn)(void *ctx, char *line, const struct cfg_src *src,
    struct errlist *errs), void *ctx, struct errlist *errs)
{
	char line[CFG_LINE_MAX + 1];
	struct cfg_src src = { path, 0 };
	const char *p = data, *end = data + len, *nl;
	size_t n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		src.line++;
		if (src.line > CFG_LINES_MAX) {
			cfg_err(errs, &src, "more than %d lines", CFG_LINES_MAX);
			return;
		}
		if (n > CFG_LINE_MAX)
			cfg_err(errs, &src, "line longer than %d bytes",
			    CFG_LINE_MAX);
		else if (memchr(p, '\0', n))
			cfg_err(errs, &src, "NUL byte in line");
		else {
			memcpy(line, p, n);
			line[n] = '\0';
			fn(ctx, line, &src, errs);
		}
		p += n + 1;
	}
}

struct conf_ctx {
	struct config	*cfg;
	int		 sec;
};

static void
conf_line(void *ctx, char *line, const struct cfg_src *src, struct errlist *errs)
{
	struct conf_ctx *c = ctx;

	cfg_line(c->cfg, line, &c->sec, src, errs);
}

/* cfg_read - the whole of PATH (bounded) into *DATA_R (owned): 0; 1 when
 * PATH does not exist and MISSING_OK; else -1, reported. */
static int
cfg_read(const char *path, int missing_ok, char **data_r, size_t *len_r,
    struct errlist *errs)
{
	if (file_read(path, CFG_FILE_MAX, data_r, len_r) == 0)
		return 0;
	if (errno == ENOENT && missing_ok)
		return 1;
	if (errno == EFBIG)
		errlist_add(errs, "%s: file larger than %d bytes", path,
		    CFG_FILE_MAX);
	else if (errno == EINVAL)	/* file_read's answer for a folder */
		errlist_add(errs, "%s: not a regular file", path);
	else
		errlist_add(errs, "%s: %s", path, strerror(errno));
	return -1;
}

/* cfg_override - one -D "section.key=value" or "plugin.NAME.key=value". */
static void
cfg_override(struct config *cfg, const char *def, struct errlist *errs)
{
	static const struct cfg_src dsrc = { NULL, 0 };
	char esc[ESC_SIZE], buf[CFG_LINE_MAX + 1];
	const char *near;
	char *eq, *name, *value, *dot, *key;
	int i, alias;

	if (str_copy(buf, sizeof(buf), def) == -1) {
		cfg_err(errs, &dsrc, "%s...: longer than %d bytes",
		    str_escape(esc, sizeof(esc), def, 40), CFG_LINE_MAX);
		return;
	}
	if ((eq = strchr(buf, '=')) == NULL) {
		cfg_err(errs, &dsrc, "%s: expected section.key=value",
		    cfg_esc(esc, sizeof(esc), buf));
		return;
	}
	*eq = '\0';
	name = str_trim(buf);
	value = str_trim(eq + 1);
	if ((dot = strchr(name, '.')) == NULL || !valid_name(name, 2)) {
		cfg_err(errs, &dsrc, "%s: expected section.key=value",
		    cfg_esc(esc, sizeof(esc), name));
		return;
	}
	*dot = '\0';
	key = dot + 1;
	if (strcmp(name, "plugin") == 0) {
		if ((dot = strchr(key, '.')) != NULL)
			*dot = '\0';
		if (dot == NULL || !valid_name(key, 0) || !valid_name(dot + 1, 1)) {
			if (dot)
				*dot = '.';
			cfg_err(errs, &dsrc, "plugin.%s: expected plugin.NAME.key=value",
			    key);
			return;
		}
		plugin_set(plugin_open(cfg, key), dot + 1, value, 0);
		return;
	}
	if (cfg_section(name) < 0) {
		if ((near = cfg_suggest_section(name)) != NULL)
			cfg_err(errs, &dsrc, "%s.%s: unknown section '%s', did you "
			    "mean '%s'?", name, key, name, near);
		else
			cfg_err(errs, &dsrc, "%s.%s: unknown section '%s'", name,
			    key, name);
		return;
	}
	i = cfg_find(cfg, name, strlen(name), key, strlen(key), &alias);
	if (i < 0) {
		cfg_unknown(name, key, &dsrc, errs);
		return;
	}
	cfg_set(cfg, (size_t)i, key, value, &dsrc, errs);
}

/* cfg_where - the origin of key I's value, for cross-key errors. */
static void
cfg_where(const struct config *cfg, size_t i, struct cfg_src *src)
{
	src->file = cfg->val[i].line ? cfg->file : NULL;
	src->line = cfg->val[i].line;
}

/* cfg_check - rules between keys. */
static void
cfg_check(struct config *cfg, struct errlist *errs)
{
	static const char *const spares[][2] = {
		{ "smtp.min_spare", "smtp.max_spare" },
		{ "pop3.min_spare", "pop3.max_spare" },
	};
	struct sockaddr_storage ss;
	struct cfg_src src;
	char esc[ESC_SIZE];
	socklen_t sslen;
	size_t i, lo, hi;

	i = cfg_key_get(cfg, "server.resolver");
	if (cfg->val[i].str[0] != '\0' &&
	    dns_server_parse(cfg->val[i].str, &ss, &sslen) == -1) {
		cfg_where(cfg, i, &src);
		cfg_err(errs, &src, "server.resolver: expected an IPv4 or IPv6 "
		    "address with an optional port (192.0.2.1, 192.0.2.1:5353, "
		    "::1, [::1]:5353), got \"%s\"",
		    cfg_esc(esc, sizeof(esc), cfg->val[i].str));
	}
	for (i = 0; i < sizeof(spares) / sizeof(spares[0]); i++) {
		lo = cfg_key_get(cfg, spares[i][0]);
		hi = cfg_key_get(cfg, spares[i][1]);
		if (cfg->val[lo].num <= cfg->val[hi].num)
			continue;
		cfg_where(cfg, cfg->val[lo].line >= cfg->val[hi].line ? lo : hi,
		    &src);
		cfg_err(errs, &src, "%s: must not exceed %s (%lld > %lld)",
		    spares[i][0], spares[i][1], cfg->val[lo].num,
		    cfg->val[hi].num);
	}
}

/* abs_path - P made absolute against the current directory; owned. */
static char *
abs_path(const char *p)
{
	char cwd[PATH_MAX];

	if (p[0] == '/')
		return xstrdup(p);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (strcmp(p, ".") == 0 || *p == '\0')
		return xstrdup(cwd);
	return xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, p);
}

/* cfg_paths - server.home absolute, CONFDIR. */
static void
cfg_paths(struct config *cfg, struct errlist *errs)
{
	size_t h = cfg_key_get(cfg, "server.home");
	struct cfg_src src;
	char *abs, *slash;

	cfg_where(cfg, h, &src);
	if (cfg->val[h].str[0] == '\0') {
		cfg_err(errs, &src, "server.home: must not be empty");
		return;
	}
	if ((abs = abs_path(cfg->val[h].str)) == NULL) {
		cfg_err(errs, &src, "server.home: current directory: %s",
		    strerror(errno));
		return;
	}
	free(cfg->val[h].str);
	cfg->val[h].str = abs;
	cfg->home = xstrdup(abs);
	if ((abs = abs_path(cfg->def[h].str)) != NULL) {
		free(cfg->def[h].str);
		cfg->def[h].str = abs;
	}
	if (cfg->file == NULL) {
		cfg->confdir = xstrdup(".");
		return;
	}
	if ((abs = abs_path(cfg->file)) == NULL) {
		errlist_add(errs, "%s: current directory: %s", cfg->file,
		    strerror(errno));
		return;
	}
	slash = strrchr(abs, '/');	/* abs_path's result has one */
	if (slash == abs)
		slash[1] = '\0';
	else
		*slash = '\0';
	cfg->confdir = abs;
}

int
config_load(struct config **cfg_r, const char *path,
    char *const *overrides, size_t noverrides, struct errlist *errs)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct conf_ctx ctx = { cfg, -2 };
	size_t nerr = errlist_count(errs), len, i;
	char *data;

	*cfg_r = NULL;
	cfg->nofile = path == NULL;
	ix_build(cfg);
	cfg_defaults(cfg);
	if (path) {
		cfg->file = xstrdup(path);
		if (cfg_read(path, 0, &data, &len, errs) == 0) {
			cfg_lines(path, data, len, conf_line, &ctx, errs);
			free(data);
		}
	}
	for (i = 0; i < noverrides; i++)
		cfg_override(cfg, overrides[i], errs);
	if (errlist_count(errs) == nerr) {
		cfg_check(cfg, errs);
		cfg_paths(cfg, errs);
	}
	/* alias.dat belongs to the configuration: checked by -t, swapped
	 * with it on reload (alias.h); not read on compiled-in defaults */
	if (errlist_count(errs) == nerr && path != NULL)
		(void)alias_load(cfg, &cfg->aliases, errs);
	if (errlist_count(errs) != nerr) {
		config_free(&cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

void
config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < CFG_NKEYS; i++) {
		cfg_val_free(&cfg->val[i]);
		cfg_val_free(&cfg->def[i]);
	}
	for (i = 0; i < cfg->nplugin; i++)
		plugin_free(&cfg->plugin[i]);
	free(cfg->plugin);
	free(cfg->file);
	free(cfg->confdir);
	free(cfg->home);
	alias_free(&cfg->aliases);
	free(cfg);
	*cfgp = NULL;
}

/* cfg_dup - a deep copy of BASE. */
static struct config *
cfg_dup(const struct config *base)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	const struct cfg_plugin *bp;
	struct cfg_plugin *p;
	size_t i, j;

	cfg->file = base->file ? xstrdup(base->file) : NULL;
	cfg->confdir = base->confdir ? xstrdup(base->confdir) : NULL;
	cfg->home = base->home ? xstrdup(base->home) : NULL;
	cfg->nofile = base->nofile;
	cfg->aliases = alias_ref(base->aliases);
	for (i = 0; i < CFG_NKEYS; i++) {
		cfg_val_copy(&cfg->val[i], &base->val[i]);
		cfg_val_copy(&cfg->def[i], &base->def[i]);
	}
	memcpy(cfg->ix, base->ix, sizeof(cfg->ix));
	cfg->nix = base->nix;
	for (i = 0; i < base->nplugin; i++) {
		bp = &base->plugin[i];
		p = plugin_open(cfg, bp->name);
		for (j = 0; j < bp->n; j++)
			plugin_set(p, bp->key[j], bp->val[j], 0);
		memcpy(p->line, bp->line, bp->n * sizeof(*p->line));
	}
	return cfg;
}

struct def_ctx {
	struct config	*cfg;
	unsigned	 seen[CFG_NKEYS];	/* line that set each key */
};

/* def_line - one line of config.def: "key=value", seed key names. */
static void
def_line(void *ctx, char *s, const struct cfg_src *src, struct errlist *errs)
{
	struct def_ctx *d = ctx;
	char esc[ESC_SIZE], near[2 * CFG_NAME_MAX + 2];
	const struct cfg_key *k;
	struct cfg_val v;
	char *eq, *key, *value, *why;
	size_t i;

	s = str_trim(s);
	if (*s == '\0' || *s == '#' || (s[0] == '/' && s[1] == '/'))
		return;
	if ((eq = strchr(s, '=')) == NULL) {
		cfg_err(errs, src, "expected key=value, got \"%s\"",
		    cfg_esc(esc, sizeof(esc), s));
		return;
	}
	*eq = '\0';
	key = str_trim(s);
	value = str_trim(eq + 1);
	cfg_esc(esc, sizeof(esc), key);
	for (i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].name, key) == 0 ||
		    (cfg_keys[i].alias && strcmp(cfg_keys[i].alias, key) == 0))
			break;
	if (i == CFG_NKEYS) {
		if (cfg_suggest(NULL, key, 1, near, sizeof(near)))
			cfg_err(errs, src, "unknown key '%s', did you mean '%s'?",
			    esc, near);
		else
			cfg_err(errs, src, "unknown key '%s'", esc);
		return;
	}
	/* a bare name may exist in several sections: take the per-account one */
	for (; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].name, key) == 0 &&
		    (cfg_keys[i].flags & CFG_ACCOUNT))
			break;
	if (i == CFG_NKEYS) {
		cfg_err(errs, src, "key '%s' cannot be set per account", esc);
		return;
	}
	k = &cfg_keys[i];
	if (d->seen[i]) {
		cfg_err(errs, src, "%s: given twice (first at line %u)", key,
		    d->seen[i]);
		return;
	}
	d->seen[i] = src->line;
	if (cfg_parse(k, value, &v, &why) == -1) {
		cfg_err(errs, src, "%s: %s", key, why);
		free(why);
		return;
	}
	cfg_val_free(&d->cfg->val[i]);
	d->cfg->val[i] = v;
	d->cfg->account_set[i] = 1;
}

int
config_account(const struct config *base, const char *path,
    struct config **cfg_r, struct errlist *errs)
{
	struct def_ctx *d;
	size_t nerr = errlist_count(errs), len;
	char *data;
	int r;

	*cfg_r = NULL;
	if ((r = cfg_read(path, 1, &data, &len, errs)) == -1)
		return -1;
	if (r == 1) {
		*cfg_r = cfg_dup(base);
		return 0;
	}
	d = xcalloc(1, sizeof(*d));
	d->cfg = cfg_dup(base);
	cfg_lines(path, data, len, def_line, d, errs);
	free(data);
	if (errlist_count(errs) != nerr) {
		config_free(&d->cfg);
		free(d);
		return -1;
	}
	*cfg_r = d->cfg;
	free(d);
	return 0;
}

/*
 * Getters.
 */
const char *
config_file(const struct config *cfg)
{
	return cfg->file;
}

const char *
config_confdir(const struct config *cfg)
{
	return cfg->confdir;
}

const struct alias_table *
config_aliases(const struct config *cfg)
{
	return cfg->aliases;
}

const char *
config_home(const struct config *cfg)
{
	return cfg->home;
}

/* cfg_typed - table index of KEY, panicking unless its type is in MASK. */
static size_t
cfg_typed(const struct config *cfg, const char *key, unsigned mask,
    const char *getter)
{
	size_t i = cfg_key_get(cfg, key);

	if (!(mask & (1u << cfg_keys[i].type)))
		log_panic("config: %s is a %s, not for %s", key,
		    cfg_type_name[cfg_keys[i].type], getter);
	return i;
}

#define T(t)	(1u << (t))

int
config_bool(const struct config *cfg, const char *key)
{
	return (int)cfg->val[cfg_typed(cfg, key, T(CFG_BOOL), "config_bool")].num;
}

long long
config_int(const struct config *cfg, const char *key)
{
	return cfg->val[cfg_typed(cfg, key, T(CFG_INT) | T(CFG_PORT) |
	    T(CFG_SIZE) | T(CFG_DURATION) | T(CFG_BOOL), "config_int")].num;
}

const char *
config_str(const struct config *cfg, const char *key)
{
	return cfg->val[cfg_typed(cfg, key, T(CFG_STRING) | T(CFG_PATH),
	    "config_str")].str;
}

const struct cfg_list *
config_list(const struct config *cfg, const char *key)
{
	return &cfg->val[cfg_typed(cfg, key, T(CFG_LIST) | T(CFG_ADDRLIST) |
	    T(CFG_IPLIST), "config_list")].list;
}

int
config_is_default(const struct config *cfg, const char *key)
{
	size_t i = cfg_key_get(cfg, key);

	return cfg_val_equal(&cfg->val[i], &cfg->def[i]);
}

const char *
config_plugin_get(const struct config *cfg, const char *plugin, const char *key)
{
	const struct cfg_plugin *p = plugin_find(cfg, plugin);
	size_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < p->n; i++)
		if (strcmp(p->key[i], key) == 0)
			return p->val[i];
	return NULL;
}

int
config_plugin_each(const struct config *cfg, const char *plugin,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
	const struct cfg_plugin *p = plugin_find(cfg, plugin);
	size_t i;
	int r;

	if (p == NULL)
		return 0;
	for (i = 0; i < p->n; i++)
		if ((r = fn(ctx, p->key[i], p->val[i])) != 0)
			return r;
	return 0;
}

size_t
config_plugins_sections(const struct config *cfg)
{
	return cfg->nplugin;
}

const char *
config_plugins_name(const struct config *cfg, size_t i)
{
	return i < cfg->nplugin ? cfg->plugin[i].name : NULL;
}

void
config_print(const struct config *cfg, FILE *f)
{
	const struct cfg_key *k;
	struct buf val;
	size_t s, i, j;

	buf_init(&val, 0);
	if (cfg->file)
		fprintf(f, "# yubin configuration: %s\n", cfg->file);
	else
		fprintf(f, "# yubin configuration: compiled-in defaults (no file)\n");
	for (s = 0; s < CFG_NSECTIONS; s++) {
		fprintf(f, "\n[%s]\n", cfg_sections[s]);
		for (i = 0; i < CFG_NKEYS; i++) {
			k = &cfg_keys[i];
			if (strcmp(k->section, cfg_sections[s]) != 0)
				continue;
			buf_reset(&val);
			cfg_format(&val, k, &cfg->val[i]);
			fprintf(f, "%s =%s%s", k->name, val.len ? " " : "",
			    buf_cstr(&val));
			if (!cfg_val_equal(&cfg->val[i], &cfg->def[i])) {
				buf_reset(&val);
				cfg_format(&val, k, &cfg->def[i]);
				fprintf(f, "  # changed, default: %s",
				    val.len ? buf_cstr(&val) : "\"\"");
			}
			fputc('\n', f);
		}
	}
	for (i = 0; i < cfg->nplugin; i++) {
		fprintf(f, "\n[plugin %s]\n", cfg->plugin[i].name);
		for (j = 0; j < cfg->plugin[i].n; j++)
			fprintf(f, "%s = %s\n", cfg->plugin[i].key[j],
			    cfg->plugin[i].val[j]);
	}
	buf_free(&val);
}

/*
 * config_text - KEY's value as plain text for plugins: "section.key", or a
 * bare seed name of a per-account key ("reject_domain").  Booleans are
 * "1"/"0", sizes bytes, durations seconds, lists comma-separated.  1 found
 * (OUT reset and filled), 0 no such key.
 */
/* cfg_text_index - the table index of KEY as config_text takes it
 * ("section.key" or the bare name of a per-account key), or -1. */
static int
cfg_text_index(const struct config *cfg, const char *key)
{
	const char *dot = strchr(key, '.');
	size_t i;

	if (dot)
		return cfg_find(cfg, key, (size_t)(dot - key), dot + 1,
		    strlen(dot + 1), NULL);
	for (i = 0; i < CFG_NKEYS; i++)
		if ((cfg_keys[i].flags & CFG_ACCOUNT) &&
		    strcmp(cfg_keys[i].name, key) == 0)
			return (int)i;
	return -1;
}

int
config_account_sets(const struct config *cfg, const char *key)
{
	int ix = cfg_text_index(cfg, key);

	return ix >= 0 && cfg->account_set[ix];
}

int
config_text(const struct config *cfg, const char *key, struct buf *out)
{
	const struct cfg_key *k;
	const struct cfg_val *v;
	size_t i;
	int ix = cfg_text_index(cfg, key);

	if (ix < 0)
		return 0;
	k = &cfg_keys[ix];
	v = &cfg->val[ix];
	buf_reset(out);
	switch (k->type) {
	case CFG_BOOL:
	case CFG_INT:
	case CFG_PORT:
	case CFG_SIZE:
	case CFG_DURATION:
		buf_printf(out, "%lld", v->num);
		break;
	case CFG_STRING:
	case CFG_PATH:
		buf_puts(out, v->str);
		break;
	case CFG_LIST:
	case CFG_ADDRLIST:
	case CFG_IPLIST:
		for (i = 0; i < v->list.n; i++)
			buf_printf(out, "%s%s", i ? "," : "", v->list.v[i]);
		break;
	}
	return 1;
}
