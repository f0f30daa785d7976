/*
 * config_keys.c - the key table of yubin.conf, and the code that parses,
 * copies, compares and prints one value; see config_keys.h.  config.c reads
 * files, -D options and config.def lines and keeps the values; everything
 * about what a key is and what its text may be lives here.
 *
 * Adding a key: one line in cfg_keys[] (section, name, type, default, range
 * and unit, flags, second spelling, accepted words), and CFG_NKEYS in
 * config_keys.h one higher (a static assertion below says so if not).
 * Nothing here reads a file or keeps state; a bad default is our bug and
 * panics at the first load (config.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "addr.h"
#include "buf.h"
#include "config.h"
#include "config_keys.h"
#include "hours.h"
#include "node.h"
#include "paths.h"
#include "pgstate.h"
#include "util.h"

#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/local/lib/yubin/plugins"
#endif

#define SEC	1LL		/* duration units, in seconds */
#define MIN	60LL
#define RCPT_PATTERN_MAX	256

const char *const cfg_type_name[] = {
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

const char *const cfg_sections[] = { "server", "smtp", "pop3", "queue" };

static const char *const cfg_log_dests[] = { "file", "syslog", "stderr", NULL };
/* log.h's enum log_kind, in its order */
static const char *const cfg_log_kinds[] = { "receive", "send", "connection",
    "delivery", "failure", NULL };
static const char *const cfg_auth_mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5", NULL };

/* check_hours - usage_hours (hours.h). */
static int
check_hours(const char *text, char *why, size_t whysize)
{
	struct hours h;

	return hours_parse(text, &h, why, whysize);
}

/* check_listen - metrics_listen: "" (off) or ADDRESS:PORT (hostport_parse). */
static int
check_listen(const char *text, char *why, size_t whysize)
{
	char host[64];
	int port;

	if (text[0] == '\0')
		return 0;
	return hostport_parse(text, host, sizeof(host), &port, why, whysize);
}

/* check_rcpt_patterns - allowed_recipients: addresses or domains with the
 * wildcards * and ?: printable, no blanks, at most one '@', at most
 * RCPT_PATTERN_MAX bytes each. */
static int
check_rcpt_patterns(const char *text, char *why, size_t whysize)
{
	const char *p = text, *w;
	size_t at;

	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		for (w = p, at = 0; *p != '\0' && *p != ',' && *p != ' ' &&
		    *p != '\t'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f ||
			    strchr("<>[]\\\"", *p) != NULL)
				break;
			at += *p == '@';
		}
		if ((*p != '\0' && *p != ',' && *p != ' ' && *p != '\t') ||
		    at > 1 || (size_t)(p - w) > RCPT_PATTERN_MAX) {
			snprintf(why, whysize, "expected addresses or domains "
			    "with * and ? wildcards, got \"%.*s\"",
			    (int)strcspn(w, ", \t") > 64 ? 64 :
			    (int)strcspn(w, ", \t"), w);
			return -1;
		}
	}
}

/* check_archive - archive_address: addresses (local@domain) or bare
 * local names (server.domain's), separated by commas or blanks. */
static int
check_archive(const char *text, char *why, size_t whysize)
{
	char arg[ADDR_PATH_MAX + 8];
	const char *p = text, *w;
	struct addr_path path;
	struct addr_error e;
	size_t n;

	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		w = p;
		n = strcspn(p, ", \t");
		p += n;
		if (n > ADDR_PATH_MAX - 2 ||
		    snprintf(arg, sizeof(arg), "TO:<%.*s%s>", (int)n, w,
		    memchr(w, '@', n) ? "" : "@localhost") >= (int)sizeof(arg) ||
		    addr_parse(arg, ADDR_RCPT, 1, &path, &e) == -1) {
			snprintf(why, whysize, "expected mail addresses, got "
			    "\"%.*s\"", n > 64 ? 64 : (int)n, w);
			return -1;
		}
	}
}

/* check_shared_auth - smtp.shared_auth: USER:PASSWORD or USER:HASH; USER
 * 1-64 bytes of letters, digits and ._@+-, the password not empty. */
static int
check_shared_auth(const char *text, char *why, size_t whysize)
{
	const char *colon = strchr(text, ':'), *p;

	if (text[0] == '\0')
		return 0;		/* off */
	if (colon == NULL || colon == text || colon[1] == '\0' ||
	    colon - text > ACCOUNT_NAME_MAX) {
		snprintf(why, whysize, "expected USER:PASSWORD (a user name of "
		    "1-%d bytes and a password)", ACCOUNT_NAME_MAX);
		return -1;
	}
	for (p = text; p < colon; p++)
		if (!isalnum((unsigned char)*p) && strchr("._@+-", *p) == NULL) {
			snprintf(why, whysize, "the user name may hold letters, "
			    "digits and ._@+- only");
			return -1;
		}
	if (strncmp(colon + 1, "$scrypt$", 8) == 0 &&
	    !passwd_hash_valid(colon + 1)) {
		snprintf(why, whysize, "the password looks like a hash "
		    "(\"$scrypt$...\") but is not a valid one");
		return -1;
	}
	return 0;
}

/* [server] state: "" or a postgresql:// URI libpq accepts */
static int
check_state(const char *text, char *why, size_t whysize)
{
	if (*text == '\0')
		return 0;
	return pgstate_uri_check(text, why, whysize);
}

/* [server] node_name: "" or a name for yubinctl node and the logs */
static int
check_node_name(const char *text, char *why, size_t whysize)
{
	if (*text == '\0' || node_name_valid(text))
		return 0;
	snprintf(why, whysize, "1 to %d letters, digits, '-', '_' or '.'",
	    NODE_NAME_MAX);
	return -1;
}

/* The key table: the contract with the rest of yubin and with yubin.conf. */
const struct cfg_key cfg_keys[] = {
	/* [server]: the seed's wiz98msenv.dat plus yubin's own */
	{ .section = "server", .name = "home", .type = CFG_PATH, .def = "./yubin-home" },
	{ .section = "server", .name = "user", .type = CFG_STRING, .def = "" },
	{ .section = "server", .name = "group", .type = CFG_STRING, .def = "" },
	{ .section = "server", .name = "state", .type = CFG_STRING, .def = "",
	    .check = check_state },	/* "": LMDB (§15) */
	{ .section = "server", .name = "node_name", .type = CFG_STRING, .def = "",
	    .check = check_node_name },	/* "": the host name */
	{ .section = "server", .name = "node_tls_ca", .type = CFG_PATH, .def = "" },	/* "": nodes unverified */
	{ .section = "server", .name = "domain", .type = CFG_STRING, .def = "localhost" },
	{ .section = "server", .name = "alias", .type = CFG_LIST, .def = "" },
	{ .section = "server", .name = "admin_address", .type = CFG_STRING,
	    .def = "postmaster" },	/* the account setup makes (addr.h) */
	{ .section = "server", .name = "archive_address", .type = CFG_LIST,
	    .def = "", .check = check_archive },	/* F128: "": none */
	{ .section = "server", .name = "domain_mailboxes", .type = CFG_BOOL,
	    .def = "0" },		/* 1: E-Post per-domain accounts (addr.h) */
	{ .section = "server", .name = "plugins", .type = CFG_LIST,
	    .def = "relay quota" },	/* DESIGN §10: the fresh-install policy */
	{ .section = "server", .name = "plugin_dir", .type = CFG_PATH, .def = PLUGINDIR },
	{ .section = "server", .name = "tls_cert", .type = CFG_PATH, .def = "" },
	{ .section = "server", .name = "tls_key", .type = CFG_PATH, .def = "" },
	{ .section = "server", .name = "log", .type = CFG_STRING, .def = "file",
	    .allowed = cfg_log_dests },
	{ .section = "server", .name = "log_size_max", .type = CFG_SIZE, .def = "10M" },
	{ .section = "server", .name = "log_kinds", .type = CFG_LIST,
	    .def = "receive send connection delivery failure",
	    .allowed = cfg_log_kinds },
	{ .section = "server", .name = "mailing_list_from_kind", .type = CFG_INT,
	    .def = "0", .min = 0, .max = 2, .flags = CFG_ACCOUNT,
	    .reader = "ml" },
	{ .section = "server", .name = "mailing_list_to_kind", .type = CFG_INT,
	    .def = "0", .min = 0, .max = 1, .flags = CFG_ACCOUNT,
	    .reader = "ml" },
	{ .section = "server", .name = "mailing_list_mail_header_x_element",
	    .type = CFG_BOOL, .def = "0", .flags = CFG_ACCOUNT,
	    .reader = "ml" },
	{ .section = "server", .name = "mailing_list_public_level", .type = CFG_INT,
	    .def = "1", .min = -1, .max = 1, .flags = CFG_ACCOUNT,
	    .reader = "ml" },
	{ .section = "server", .name = "mailing_list_subject_header", .type = CFG_INT,
	    .def = "1", .min = 0, .max = 2, .flags = CFG_ACCOUNT,
	    .reader = "ml" },
	{ .section = "server", .name = "mailing_list_filter_string", .type = CFG_LIST,
	    .def = "", .flags = CFG_ACCOUNT,
	    .reader = "ml" },
	{ .section = "server", .name = "mailbox_capacity_mail_count", .type = CFG_INT,
	    .def = "0", .min = 0, .max = CFG_INT_BIG, .flags = CFG_ACCOUNT,
	    .reader = "quota" },	/* 0: no limit */
	{ .section = "server", .name = "mailbox_capacity_mail_size", .type = CFG_SIZE,
	    .def = "0", .flags = CFG_ACCOUNT,
	    .reader = "quota" },				/* 0: no limit */
	{ .section = "server", .name = "application_cooperation_wait_for_apl_end",
	    .type = CFG_BOOL, .def = "0", .flags = CFG_ACCOUNT,
	    .reader = "exec autoreply" },
	{ .section = "server", .name = "mailbox_path", .type = CFG_PATH, .def = "",
	    .check = paths_template_check },	/* "": HOME/mailbox; F019 template */
	{ .section = "server", .name = "dustbox_path", .type = CFG_PATH, .def = "" },	/* "": HOME/dustbox */
	{ .section = "server", .name = "maint_interval", .type = CFG_DURATION,
	    .def = "0", .unit = SEC, .min = 0, .max = CFG_DUR_MAX },	/* F130: 0 = off */
	{ .section = "server", .name = "time_out_of_stop", .type = CFG_DURATION,
	    .def = "60", .unit = SEC },
	{ .section = "server", .name = "resolver", .type = CFG_STRING, .def = "" },	/* "": resolv.conf; else dns_server_parse */
	{ .section = "server", .name = "hook_timeout", .type = CFG_DURATION,
	    .def = "30", .unit = SEC, .min = 1, .max = CFG_DUR_MAX },
	{ .section = "server", .name = "max_sessions_per_worker", .type = CFG_INT,
	    .def = "100", .min = 1, .max = 1000000 },
	{ .section = "server", .name = "forward_address", .type = CFG_ADDRLIST,
	    .def = "", .flags = CFG_ACCOUNT,
	    .reader = "forward" },
	{ .section = "server", .name = "forward_keep_copy", .type = CFG_BOOL,
	    .def = "1", .flags = CFG_ACCOUNT,
	    .reader = "forward" },
	{ .section = "server", .name = "accounts_per_domain_max", .type = CFG_INT,
	    .def = "0", .min = 0, .max = CFG_INT_BIG },	/* 0: no limit */
	{ .section = "server", .name = "metrics_listen", .type = CFG_STRING,
	    .def = "", .check = check_listen },	/* F135: "": off */
	{ .section = "server", .name = "usage_hours", .type = CFG_STRING,
	    .def = "", .flags = CFG_ACCOUNT, .check = check_hours },	/* "": any time */

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
	{ .section = "smtp", .name = "relay", .type = CFG_BOOL, .def = "0",
	    .reader = "relay" },
	{ .section = "smtp", .name = "pop_before_smtp", .type = CFG_BOOL, .def = "0",
	    .reader = "relay" },
	{ .section = "smtp", .name = "pop_befor_smtp_time_to_live", .type = CFG_DURATION,
	    .def = "30", .unit = MIN, .alias = "pop_before_smtp_time_to_live",
	    .reader = "relay" },
	{ .section = "smtp", .name = "use_dustbox", .type = CFG_BOOL, .def = "0",
	    .flags = CFG_ACCOUNT | CFG_TODO },
	{ .section = "smtp", .name = "address_permits_relay", .type = CFG_IPLIST, .def = "",
	    .reader = "relay" },
	{ .section = "smtp", .name = "resend_timeout", .type = CFG_DURATION, .def = "1440",
	    .unit = MIN },
	{ .section = "smtp", .name = "send_permits_only_smtp_auth", .type = CFG_BOOL,
	    .def = "0",
	    .reader = "relay" },
	{ .section = "smtp", .name = "multiprocessing", .type = CFG_INT, .def = "20",
	    .min = 1, .max = 10000 },
	{ .section = "smtp", .name = "min_spare", .type = CFG_INT, .def = "2",
	    .min = 0, .max = 1000 },
	{ .section = "smtp", .name = "max_spare", .type = CFG_INT, .def = "8",
	    .min = 1, .max = 1000 },
	{ .section = "smtp", .name = "send_max_during_a_day", .type = CFG_INT, .def = "-1",
	    .min = -1, .max = CFG_INT_BIG, .flags = CFG_ACCOUNT,
	    .reader = "quota" },	/* -1: unlimited */
	{ .section = "smtp", .name = "reject_domain", .type = CFG_LIST, .def = "",
	    .flags = CFG_ACCOUNT,
	    .reader = "relay" },
	{ .section = "smtp", .name = "reject_mailaddress", .type = CFG_ADDRLIST, .def = "",
	    .flags = CFG_ACCOUNT,
	    .reader = "relay" },
	{ .section = "smtp", .name = "allowed_recipients", .type = CFG_LIST, .def = "",
	    .flags = CFG_ACCOUNT, .check = check_rcpt_patterns },	/* "": anyone */
	/* finite without a config file too; 0 (unlimited) only when a file
	 * or -D says so */
	{ .section = "smtp", .name = "max_message_size", .type = CFG_SIZE, .def = "50M" },
	{ .section = "smtp", .name = "max_recipients", .type = CFG_INT, .def = "100",
	    .min = 1, .max = 100000 },
	/* Received:/Delivered-To: fields a message may carry (DESIGN §10) */
	{ .section = "smtp", .name = "max_hops", .type = CFG_INT, .def = "30",
	    .min = 1, .max = 1000 },
	{ .section = "smtp", .name = "vrfy_expn", .type = CFG_BOOL, .def = "0" },
	/* CRAM-MD5 is opt-in: it works only for accounts that keep their
	 * secret (--apop), and clients that see it offered pick it first */
	{ .section = "smtp", .name = "auth_mechanisms", .type = CFG_LIST,
	    .def = "PLAIN LOGIN", .allowed = cfg_auth_mechs },
	{ .section = "smtp", .name = "auth_plaintext", .type = CFG_BOOL, .def = "0" },
	/* F032: one server-wide SMTP AUTH credential instead of the
	 * accounts'; the password is hashed as the file is loaded */
	{ .section = "smtp", .name = "shared_auth", .type = CFG_STRING, .def = "",
	    .flags = CFG_SECRET, .check = check_shared_auth },
	{ .section = "smtp", .name = "auth_fail_delay", .type = CFG_DURATION, .def = "1",
	    .unit = SEC },
	{ .section = "smtp", .name = "auth_max_failures", .type = CFG_INT, .def = "3",
	    .min = 1, .max = 100 },
	/* the login penalty (authpen.c): base 0 turns it off; a minute is the
	 * longest a worker may be held per failed answer */
	{ .section = "smtp", .name = "auth_penalty_base", .type = CFG_DURATION, .def = "2",
	    .unit = SEC, .min = 0, .max = 60 },
	{ .section = "smtp", .name = "auth_penalty_max", .type = CFG_DURATION, .def = "15",
	    .unit = SEC, .min = 1, .max = 60 },
	{ .section = "smtp", .name = "auth_penalty_forget", .type = CFG_DURATION, .def = "1h",
	    .unit = SEC, .min = 60, .max = 7 * 86400 },
	{ .section = "smtp", .name = "sender_trust", .type = CFG_INT, .def = "1",
	    .min = 1, .max = 3,
	    .reader = "relay" },
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
	/* slowloris: per-client cap (0: half the pool, at most 50) and
	 * deadlines that no trickle of bytes extends */
	{ .section = "smtp", .name = "max_connections_per_ip", .type = CFG_INT,
	    .def = "0", .min = 0, .max = 10000 },
	{ .section = "smtp", .name = "timeout_session", .type = CFG_DURATION,
	    .def = "1h", .unit = SEC, .min = 0, .max = CFG_DUR_MAX },	/* 0: none */
	{ .section = "smtp", .name = "data_min_rate", .type = CFG_INT, .def = "500",
	    .min = 0, .max = 1000000000 },			/* bytes/s; 0: none */

	/* [pop3]: the seed's popenv.dat plus listeners and limits */
	{ .section = "pop3", .name = "port", .type = CFG_PORT, .def = "110", .nofile = "2110" },
	{ .section = "pop3", .name = "pop3s_port", .type = CFG_PORT, .def = "995",
	    .nofile = "off" },
	{ .section = "pop3", .name = "listen", .type = CFG_LIST, .def = "" },	/* "": smtp.listen */
	{ .section = "pop3", .name = "dustbox", .type = CFG_BOOL, .def = "0",
	    .flags = CFG_ACCOUNT | CFG_ACCOUNT_TODO },
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
	{ .section = "pop3", .name = "max_connections_per_ip", .type = CFG_INT,
	    .def = "0", .min = 0, .max = 10000 },		/* 0: half the pool, at most 50 */
	{ .section = "pop3", .name = "timeout_session", .type = CFG_DURATION,
	    .def = "1h", .unit = SEC, .min = 0, .max = CFG_DUR_MAX },	/* 0: none */
	/* the fetch client (yubinctl fetch): each wait for a remote reply */
	{ .section = "pop3", .name = "fetch_timeout", .type = CFG_DURATION,
	    .def = "60", .unit = SEC, .min = 1, .max = 3600 },

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
	{ .section = "queue", .name = "bounce_full_max", .type = CFG_SIZE, .def = "1M" },	/* RET=FULL */
	{ .section = "queue", .name = "remote_port", .type = CFG_PORT, .def = "25" },
	{ .section = "queue", .name = "smtp_timeout", .type = CFG_DURATION, .def = "0",
	    .unit = SEC, .min = 0, .max = 3600 },	/* cap on each wait; 0: RFC 5321 */
	{ .section = "queue", .name = "forward_all_to_gateway", .type = CFG_BOOL, .def = "0" },
	{ .section = "queue", .name = "send_error_copy_to_admin", .type = CFG_BOOL,
	    .def = "0" },
	{ .section = "queue", .name = "delay_warning_time", .type = CFG_DURATION,
	    .def = "0", .unit = SEC },					/* 0: off */
	{ .section = "queue", .name = "scan_interval", .type = CFG_DURATION, .def = "300",
	    .unit = SEC, .min = 1, .max = CFG_DUR_MAX,
	    .flags = CFG_TODO },
};

_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) == CFG_NKEYS,
    "CFG_NKEYS in config_keys.h must be the number of entries of cfg_keys[]");
_Static_assert(sizeof(cfg_sections) / sizeof(cfg_sections[0]) == CFG_NSECTIONS,
    "CFG_NSECTIONS in config_keys.h must count cfg_sections[]");

/* cfg_esc - printable copy of S for an error message, in OUT. */
const char *
cfg_esc(char *out, size_t size, const char *s)
{
	return str_escape(out, size, s, strlen(s));
}


int
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
size_t
cfg_distance(const char *a, const char *b)
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
const char *
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
			d = cfg_distance(name, cand);
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

const char *
cfg_suggest_section(const char *name)
{
	size_t i, d, best = SIZE_MAX, besti = 0;

	for (i = 0; i < CFG_NSECTIONS; i++) {
		d = cfg_distance(name, cfg_sections[i]);
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
	if (k->type == CFG_SIZE)
		return CFG_SIZE_MAX;
	return k->flags & CFG_MSEC ? CFG_DUR_MAX * 1000 : CFG_DUR_MAX;
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
	if (k->flags & CFG_MSEC) {
		if (n % 1000 != 0) {
			buf_printf(b, "%lldms", n);
			return;
		}
		n /= 1000;
	}
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
int
cfg_parse(const struct cfg_key *k, const char *text, struct cfg_val *v,
    char **why_r)
{
	char esc[ESC_SIZE];
	struct buf why;
	const char *end;
	long long n, mult, scale;
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
		/* CFG_MSEC keys count milliseconds and take "ms" too */
		scale = k->flags & CFG_MSEC ? 1000 : 1;
		mult = k->unit;
		if (parse_num(text, 0, &n, &end) == -1) {
			bad = 1;
		} else {
			switch (*end) {
			case 's': case 'S': mult = scale; end++; break;
			case 'm': case 'M':
				if (scale > 1 && (end[1] == 's' || end[1] == 'S')) {
					mult = 1;
					end += 2;
				} else {
					mult = 60 * scale;
					end++;
				}
				break;
			case 'h': case 'H': mult = 3600 * scale; end++; break;
			case 'd': case 'D': mult = 86400 * scale; end++; break;
			}
			bad = *end != '\0';
		}
		if (bad)
			buf_printf(&why, "expected a duration (a number with %s "
			    "suffix; a bare number is in %s), got \"%s\"",
			    scale > 1 ? "ms, s, m, h or d" : "s, m, h or d",
			    k->unit == MIN * scale ? "minutes" :
			    "seconds", esc);
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
	if (why.len == 0 && k->check != NULL) {
		char reason[256];

		if (k->check(text, reason, sizeof(reason)) == -1)
			buf_printf(&why, "%s", reason);
	}
	if (why.len) {
		cfg_val_free(v);
		*why_r = buf_steal(&why);
		return -1;
	}
	buf_free(&why);
	return 0;
}

void
cfg_val_free(struct cfg_val *v)
{
	size_t i;

	free(v->str);
	for (i = 0; i < v->list.n; i++)
		free(v->list.v[i]);
	free(v->list.v);
	memset(v, 0, sizeof(*v));
}

void
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

int
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
void
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

