/*
 * config - yubin.conf (DESIGN.md §6) and per-account config.def.
 *
 * One static table (config.c) lists every key: section, name, type, default,
 * range, and whether config.def may override it.  A loaded struct config is
 * immutable: readers in every process share it read-only after fork, and a
 * reload builds a new one and swaps it only when it loaded without error, so a
 * failed reload keeps the running configuration.
 *
 * Keys are named "section.key" in every call ("smtp.port",
 * "server.mailbox_capacity_mail_size").  Asking for a key that is not in the
 * table, or with the wrong getter type, is our bug: log_panic.
 *
 * Types and their textual forms:
 *   bool      1/0, true/false, yes/no, on/off (any case; popenv's TRUE/FALSE)
 *   int       decimal, checked against the key's range
 *   port      0..65535, or "off" (= -1: listener disabled); 0 = pick a free one
 *   size      bytes with optional K/M/G suffix (1024-based)
 *   duration  number with s/m/h/d suffix; a bare number is in the key's own
 *             unit (minutes for resend_timeout, seconds for E-Post timers);
 *             config_int returns seconds
 *   string, path
 *   list      comma- or white-space-separated words
 *   addrlist  list of mail addresses (local@domain) or domains
 *   iplist    list of IPv4/IPv6 addresses or CIDR blocks
 */
#ifndef YUBIN_CONFIG_H
#define YUBIN_CONFIG_H

#include <stdio.h>

#include "buf.h"
#include "util.h"

struct config;

struct cfg_list {
	size_t	  n;
	char	**v;		/* borrowed from the config */
};

/*
 * config_load - read PATH (NULL: no file, the compiled-in defaults serve,
 * including the no-file profile of DESIGN §5: listen 127.0.0.1, SMTP 2525,
 * POP3 2110, home ./yubin-home, TLS ports off), then apply OVERRIDES, each
 * "section.key=value" from -D.  Every problem is appended to ERRS as
 * "FILE:LINE: message" (or "-D section.key: message").
 * Returns 0 and *cfg_r (owned: config_free), or -1 with ERRS non-empty.
 */
int	config_load(struct config **cfg_r, const char *path,
	    char *const *overrides, size_t noverrides, struct errlist *errs);
void	config_free(struct config **cfg);

/* config_file - path of the file in use, NULL when running on defaults. */
const char *config_file(const struct config *cfg);
/* config_confdir - folder holding the config file (CONFDIR), else ".". */
const char *config_confdir(const struct config *cfg);
/* config_aliases - the alias table loaded with CFG (CONFDIR/alias.dat, see
 * alias.h); NULL on compiled-in defaults.  Borrowed: lives as long as CFG. */
struct alias_table;
const struct alias_table *config_aliases(const struct config *cfg);
/* config_home - server.home made absolute at load time. */
const char *config_home(const struct config *cfg);

/* Typed getters.  Strings and lists are borrowed from CFG. */
int	config_bool(const struct config *cfg, const char *key);
long long config_int(const struct config *cfg, const char *key); /* int, port, size, duration (seconds) */
const char *config_str(const struct config *cfg, const char *key); /* string, path; "" when unset */
const struct cfg_list *config_list(const struct config *cfg, const char *key); /* list types */
/* config_is_default - 1 when KEY still has its default value. */
int	config_is_default(const struct config *cfg, const char *key);

/*
 * [plugin NAME] sections: free-form keys owned by the plugin.
 * config_plugin_get returns the value (borrowed) or NULL.
 * config_plugin_each calls FN for every key of NAME in file order; FN
 * returning non-zero stops and is returned.
 * config_plugins_sections: number of [plugin ...] sections (file order, then
 * sections only named by -D plugin.NAME.key=value); config_plugins_name: the
 * name of section I (borrowed), NULL when I is past the end.
 */
const char *config_plugin_get(const struct config *cfg, const char *plugin,
	    const char *key);
int	config_plugin_each(const struct config *cfg, const char *plugin,
	    int (*fn)(void *ctx, const char *key, const char *value), void *ctx);
/* config_plugin_where - "FILE:LINE" of KEY in [plugin PLUGIN], or "-D"
 * when a -D option set it, into OUT (SIZE); OUT. */
const char *config_plugin_where(const struct config *cfg, const char *plugin,
	    const char *key, char *out, size_t size);
size_t	config_plugins_sections(const struct config *cfg);
const char *config_plugins_name(const struct config *cfg, size_t i);

/*
 * config_account - overlay the account's config.def (PATH) on BASE: each key
 * it sets replaces the server value (the seed's rule: replace, not merge).
 * Only keys marked per-account are allowed; others are an error
 * "PATH:LINE: key 'x' cannot be set per account".  config.def uses the seed
 * syntax: key=value lines without sections, "//" and "#" comment lines.
 * A missing file is not an error: *cfg_r is a copy of BASE.
 * Returns 0 (*cfg_r owned) or -1 with ERRS filled.
 */
int	config_account(const struct config *base, const char *path,
	    struct config **cfg_r, struct errlist *errs);
/* config_account_file - config_account, but a missing file gives 1 with
 * *cfg_r NULL (no copy of BASE is made: callers use BASE). */
int	config_account_file(const struct config *base, const char *path,
	    struct config **cfg_r, struct errlist *errs);
/*
 * config_def_key - the key of config.def line LINE, cut the way
 * config_account reads it (surrounding blanks ignored), into KEY (SIZE
 * bytes): 1; 0 for a blank, comment or malformed line or a key too long.
 */
int	config_def_key(const char *line, char *key, size_t size);

/*
 * config_account_sets - 1 when CFG was made by config_account and its
 * config.def set KEY itself (under either spelling), 0 otherwise (the value
 * is the server's, or CFG is not an account overlay).  KEY as for
 * config_text: "section.key" or a per-account key's bare seed name.
 * Callers that let an account record's own limit beat the server default
 * ask this instead of reading the file again.
 */
int	config_account_sets(const struct config *cfg, const char *key);

/*
 * config_text - KEY's value as plain text (for plugins): KEY is
 * "section.key" or the bare seed name of a per-account key.  Booleans
 * "1"/"0", sizes in bytes, durations in seconds, lists comma-separated.
 * Returns 1 (OUT filled) or 0 when there is no such key.
 */
int	config_text(const struct config *cfg, const char *key, struct buf *out);

/*
 * config_print - the effective configuration as yubin.conf text: every
 * section and key, values that differ from the default marked
 * "# changed, default: X".
 */
void	config_print(const struct config *cfg, FILE *f);

#endif
