/*
 * config.c - yubin.conf, -D overrides and per-account config.def; see
 * config.h and DESIGN.md §6.
 *
 * Every key lives in one table, cfg_keys[] (config_keys.c, with the code
 * that parses and prints one value): section, name, type, default text,
 * range, unit, flags and an optional second spelling.  The defaults are
 * parsed by the same code as the file, so a bad default is our bug and
 * panics at the first load.  A struct config holds one parsed value
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
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "alias.h"
#include "buf.h"
#include "config.h"
#include "config_keys.h"
#include "dns.h"
#include "log.h"
#include "util.h"

#define CFG_LINE_MAX	8192		/* bytes per line: far above any real value */
#define CFG_LINES_MAX	4096		/* lines per file: ten times the full key set, commented */
#define CFG_FILE_MAX	(1024 * 1024)	/* bytes per file: CFG_LINES_MAX lines of 256 bytes */


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

	if (k->flags & CFG_TODO) {
		cfg_err(errs, src, "%s.%s: not supported yet (nothing would "
		    "act on it)", k->section, name);
		return;
	}
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

/*
 * cfg_secrets - the CFG_SECRET keys ("USER:PASSWORD") keep only a hash of
 * the password from here on: a clear one is hashed (passwd_hash, as the
 * accounts' are) and wiped, so no process holds it past start-up and
 * config_print shows the hash, which the file may hold instead.
 */
static void
cfg_secrets(struct config *cfg, struct errlist *errs)
{
	char hash[ACCOUNT_HASH_MAX];
	struct cfg_src src;
	struct buf b;
	char *v, *colon;
	size_t i;

	for (i = 0; i < CFG_NKEYS; i++) {
		if (!(cfg_keys[i].flags & CFG_SECRET) ||
		    (v = cfg->val[i].str) == NULL ||
		    (colon = strchr(v, ':')) == NULL ||
		    passwd_hash_valid(colon + 1))
			continue;
		if (passwd_hash(colon + 1, hash, sizeof(hash)) == -1) {
			cfg_where(cfg, i, &src);
			cfg_err(errs, &src, "%s.%s: the password could not be "
			    "hashed", cfg_keys[i].section, cfg_keys[i].name);
			continue;
		}
		buf_init(&b, 0);
		(void)buf_append(&b, v, (size_t)(colon - v) + 1);
		(void)buf_puts(&b, hash);
		explicit_bzero(v, strlen(v));
		free(v);
		cfg->val[i].str = xstrdup(buf_cstr(&b));
		buf_free(&b);
		explicit_bzero(hash, sizeof(hash));
	}
}

/* cfg_reader_loaded - 1 when one of the plugins named in K->reader (or
 * none: a core key) is in server.plugins of CFG. */
static int
cfg_reader_loaded(const struct config *cfg, const struct cfg_key *k)
{
	const struct cfg_list *pl;
	const char *r = k->reader;
	size_t n, j;

	if (r == NULL)
		return 1;
	pl = &cfg->val[cfg_key_get(cfg, "server.plugins")].list;
	while (*r != '\0') {
		n = strcspn(r, " ");
		for (j = 0; j < pl->n; j++)
			if (strlen(pl->v[j]) == n && strncmp(pl->v[j], r, n) == 0)
				return 1;
		r += n;
		r += strspn(r, " ");
	}
	return 0;
}

/* cfg_reader_err - "NAME: only the PLUGIN plugin acts on it, and
 * server.plugins does not load it" at SRC. */
static void
cfg_reader_err(const struct cfg_key *k, const char *name,
    const struct cfg_src *src, struct errlist *errs)
{
	cfg_err(errs, src, "%s: only the %s plugin%s acts on it, and "
	    "server.plugins does not load %s", name, k->reader,
	    strchr(k->reader, ' ') ? "s" : "",
	    strchr(k->reader, ' ') ? "any of them" : "it");
}

/* cfg_readers - every key set to a value other than its default must have
 * its reader loaded: policy that nothing applies is refused. */
static void
cfg_readers(const struct config *cfg, struct errlist *errs)
{
	struct cfg_src src;
	char name[2 * CFG_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].reader == NULL || cfg_reader_loaded(cfg,
		    &cfg_keys[i]) || cfg_val_equal(&cfg->val[i], &cfg->def[i]))
			continue;
		cfg_where(cfg, i, &src);
		snprintf(name, sizeof(name), "%s.%s", cfg_keys[i].section,
		    cfg_keys[i].name);
		cfg_reader_err(&cfg_keys[i], name, &src, errs);
	}
}

/* cfg_listen - every address of smtp.listen and pop3.listen must parse as
 * master.c's listen_one parses it at start-up ("*", or a numeric IPv4 or
 * IPv6 address, getaddrinfo with AI_NUMERICHOST): a -t that passes must
 * not be followed by a start that fails. */
static void
cfg_listen(const struct config *cfg, struct errlist *errs)
{
	static const char *const keys[] = { "smtp.listen", "pop3.listen" };
	struct addrinfo hints, *res;
	const struct cfg_list *l;
	struct cfg_src src;
	char esc[ESC_SIZE];
	size_t i, j, k;
	int e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		i = cfg_key_get(cfg, keys[k]);
		l = &cfg->val[i].list;
		for (j = 0; j < l->n; j++) {
			e = getaddrinfo(strcmp(l->v[j], "*") == 0 ? "0.0.0.0" :
			    l->v[j], "25", &hints, &res);
			if (e == 0) {
				freeaddrinfo(res);
				continue;
			}
			cfg_where(cfg, i, &src);
			cfg_err(errs, &src, "%s: \"%s\" is not \"*\" or a numeric "
			    "IPv4 or IPv6 address (%s)", keys[k],
			    cfg_esc(esc, sizeof(esc), l->v[j]), gai_strerror(e));
		}
	}
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
	cfg_readers(cfg, errs);
	cfg_listen(cfg, errs);
	cfg_secrets(cfg, errs);
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
		if (bp->n)	/* an empty section has no line array */
			memcpy(p->line, bp->line, bp->n * sizeof(*p->line));
	}
	return cfg;
}

struct def_ctx {
	struct config	*cfg;
	unsigned	 seen[CFG_NKEYS];	/* line that set each key */
};

/* def_split - cut config.def line S (modified) into *KEY and *VALUE, both
 * trimmed: 1; 0 for a blank or comment line; -1 without '=' (*KEY is then
 * the trimmed line). */
static int
def_split(char *s, char **key, char **value)
{
	char *eq;

	s = str_trim(s);
	*key = s;
	*value = NULL;
	if (*s == '\0' || *s == '#' || (s[0] == '/' && s[1] == '/'))
		return 0;
	if ((eq = strchr(s, '=')) == NULL)
		return -1;
	*eq = '\0';
	*key = str_trim(s);
	*value = str_trim(eq + 1);
	return 1;
}

int
config_def_key(const char *line, char *key, size_t size)
{
	char copy[CFG_LINE_MAX + 1], *k, *v;

	if (str_copy(copy, sizeof(copy), line) == -1 ||
	    def_split(copy, &k, &v) != 1 || str_copy(key, size, k) == -1)
		return 0;
	return 1;
}

/* def_line - one line of config.def: "key=value", seed key names. */
static void
def_line(void *ctx, char *s, const struct cfg_src *src, struct errlist *errs)
{
	struct def_ctx *d = ctx;
	char esc[ESC_SIZE], near[2 * CFG_NAME_MAX + 2];
	const struct cfg_key *k;
	struct cfg_val v;
	char *key, *value, *why;
	size_t i;

	switch (def_split(s, &key, &value)) {
	case 0:
		return;
	case -1:
		cfg_err(errs, src, "expected key=value, got \"%s\"",
		    cfg_esc(esc, sizeof(esc), key));
		return;
	}
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
	if (k->flags & (CFG_TODO | CFG_ACCOUNT_TODO)) {
		cfg_err(errs, src, "%s: not supported yet in config.def "
		    "(nothing would act on it)", esc);
		return;
	}
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
	if (!cfg_reader_loaded(d->cfg, k) &&
	    !cfg_val_equal(&v, &d->cfg->def[i])) {
		cfg_reader_err(k, key, src, errs);
		cfg_val_free(&v);
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
	int r = config_account_file(base, path, cfg_r, errs);

	if (r == 1) {
		*cfg_r = cfg_dup(base);
		r = 0;
	}
	return r;
}

int
config_account_file(const struct config *base, const char *path,
    struct config **cfg_r, struct errlist *errs)
{
	struct def_ctx *d;
	size_t nerr = errlist_count(errs), len;
	char *data;
	int r;

	*cfg_r = NULL;
	if ((r = cfg_read(path, 1, &data, &len, errs)) == -1)
		return -1;
	if (r == 1)
		return 1;	/* no config.def */
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

const char *
config_plugin_where(const struct config *cfg, const char *plugin,
    const char *key, char *out, size_t size)
{
	const struct cfg_plugin *p = plugin_find(cfg, plugin);
	size_t i;

	snprintf(out, size, "-D");
	for (i = 0; p != NULL && i < p->n; i++)
		if (strcmp(p->key[i], key) == 0 && p->line[i] != 0 && cfg->file)
			snprintf(out, size, "%s:%u", cfg->file, p->line[i]);
	return out;
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
			/* a printed configuration must load again */
			if (strcmp(k->section, cfg_sections[s]) != 0 ||
			    (k->flags & CFG_TODO))
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
