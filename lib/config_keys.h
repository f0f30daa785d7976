/*
 * config_keys - the key table of yubin.conf (cfg_keys[]) and the parsing,
 * copying and printing of one value, shared by config.c (files, overrides,
 * config.def, getters) and config_keys.c (the table and the value code),
 * and used by the plugin host (daemon/plugin_config.c) to check the keys a
 * plugin declares with the same parser.  Everything else uses config.h.
 */
#ifndef YUBIN_CONFIG_KEYS_H
#define YUBIN_CONFIG_KEYS_H

#include <stddef.h>

#include "buf.h"
#include "config.h"

#define CFG_NAME_MAX	64		/* key, section and plugin names */
#define CFG_SUGGEST_DIST 2		/* Levenshtein distance for "did you mean" */
#define CFG_ESC_MAX	200		/* input bytes quoted in one error message */
#define CFG_SIZE_MAX	(1024LL * 1024 * 1024 * 1024)	/* 1024G: no real limit is larger */
#define CFG_DUR_MAX	(366LL * 86400)	/* a year: longer is a typo */
#define CFG_INT_BIG	1000000000LL	/* upper bound of the "no real limit" counters */
#define ESC_SIZE	(CFG_ESC_MAX * 4 + 8)	/* cfg_esc output for CFG_ESC_MAX input bytes */

/* value types */
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

#define CFG_ACCOUNT	0x01	/* config.def may set it (SEEDS §2.4) */
#define CFG_TODO	0x02	/* not supported yet: refused wherever given
				 * (no key is accepted and ignored) */
#define CFG_ACCOUNT_TODO 0x04	/* a seed per-account key not supported yet
				 * in config.def (the server value works) */
#define CFG_SECRET	0x10	/* string "USER:PASSWORD": the password is
				 * replaced by its hash as the file is loaded
				 * (config_print shows the hash, which loads
				 * again) */
#define CFG_MSEC	0x08	/* duration: kept in milliseconds (and "500ms"
				 * accepted); unit, min and max in ms too */

/* one key of the table */
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
	const char	 *reader;	/* the plugin(s) that act on it, separated
					 * by spaces, or NULL for the core: a value
					 * other than the default while none of them
					 * is in server.plugins is an error */
	/* string, list: a syntax the type alone does not say; 0, or -1
	 * with the reason in WHY (WHYSIZE bytes) */
	int		(*check)(const char *text, char *why, size_t whysize);
};

/* one parsed value */
struct cfg_val {
	long long	 num;	/* bool, int, port, size, duration (seconds) */
	char		*str;	/* string, path: owned; NULL for other types */
	struct cfg_list	 list;	/* list types: v[] and each item owned */
	unsigned	 line;	/* line that set it in the file; 0: not there */
	unsigned char	 alias;	/* that line used the key's alias spelling */
};

/* the table: CFG_NKEYS entries, in the order yubinctl config prints them */
#define CFG_NKEYS	113
extern const struct cfg_key cfg_keys[CFG_NKEYS];
/* type names for messages, by enum cfg_type */
extern const char *const cfg_type_name[];
/* the fixed sections, in file order */
#define CFG_NSECTIONS	4
extern const char *const cfg_sections[CFG_NSECTIONS];

/* cfg_section - the index of section NAME in cfg_sections[], or -1. */
int	cfg_section(const char *name);
/*
 * cfg_suggest - the key nearest NAME (Levenshtein, ASCII case-insensitive,
 * at most CFG_SUGGEST_DIST): among SECTION's keys (written bare), else
 * among every section's (written "section.key"), into OUT (SIZE); OUT, or
 * NULL if none is near.  ACCOUNT_ONLY: bare names of per-account keys.
 * cfg_suggest_section - the section name nearest NAME, or NULL (static).
 */
const char *cfg_suggest(const char *section, const char *name,
	    int account_only, char *out, size_t size);
const char *cfg_suggest_section(const char *name);
/*
 * cfg_parse - TEXT as a value of key K into *V (fresh allocations, owned by
 * the caller: cfg_val_free).  0, or -1 with *WHY_R (owned: free()) saying
 * why, without the key's name.
 */
int	cfg_parse(const struct cfg_key *k, const char *text, struct cfg_val *v,
	    char **why_r);
/* cfg_val_free - release V's allocations (V itself is not freed). */
void	cfg_val_free(struct cfg_val *v);
/* cfg_val_copy - a deep copy of SRC into DST. */
void	cfg_val_copy(struct cfg_val *dst, const struct cfg_val *src);
/* cfg_val_equal - 1 when A and B hold the same value. */
int	cfg_val_equal(const struct cfg_val *a, const struct cfg_val *b);
/* cfg_format - V as key K's value in yubin.conf syntax, appended to B. */
void	cfg_format(struct buf *b, const struct cfg_key *k,
	    const struct cfg_val *v);
/* cfg_distance - Levenshtein distance of A and B, ASCII case-insensitive;
 * SIZE_MAX when either is longer than a key name can be. */
size_t	cfg_distance(const char *a, const char *b);
/* cfg_esc - printable copy of S for an error message, in OUT (SIZE);
 * returns OUT. */
const char *cfg_esc(char *out, size_t size, const char *s);

#endif
