/*
 * plugin_config.c - the configuration accessors of hooks/yubin/hook.h: a
 * plugin's [plugin NAME] section, checked against the keys the plugin
 * declares with the parser of yubin.conf itself (config_keys.c), so that
 * a plugin key takes the same forms and gives the same file:line errors
 * as a core key; the server keys; per-account values.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "config_keys.h"
#include "log.h"
#include "paths.h"
#include "util.h"

#include "plugin_host.h"

/* ---- configuration accessors -------------------------------------------- */

const char *
yh_config_get(const struct yh_config *cfg, const char *key)
{
	return config_plugin_get(cfg->cfg, cfg->name, key);
}

struct each_ctx {
	const struct yh_config	*cfg;
	int	(*fn)(void *, const char *, const char *, const char *);
	void	*ctx;
};

/* each_one - config_plugin_each's callback: adds WHERE. */
static int
each_one(void *ctx, const char *key, const char *value)
{
	struct each_ctx *e = ctx;
	char where[PATH_MAX + 16];

	config_plugin_where(e->cfg->cfg, e->cfg->name, key, where,
	    sizeof(where));
	return e->fn(e->ctx, key, value, where);
}

int
yh_config_each(const struct yh_config *cfg,
    int (*fn)(void *ctx, const char *key, const char *value,
    const char *where), void *ctx)
{
	struct each_ctx e = { cfg, fn, ctx };

	return config_plugin_each(cfg->cfg, cfg->name, each_one, &e);
}

/* ---- declared keys ------------------------------------------------------ */

/* key_type - the core's type for a declared one; -1 when there is none. */
static int
key_type(enum yh_key_type t)
{
	switch (t) {
	case YH_KEY_BOOL:	return CFG_BOOL;
	case YH_KEY_INT:	return CFG_INT;
	case YH_KEY_SIZE:	return CFG_SIZE;
	case YH_KEY_DURATION:	return CFG_DURATION;
	case YH_KEY_STRING:	return CFG_STRING;
	case YH_KEY_PATH:	return CFG_PATH;
	case YH_KEY_LIST:	return CFG_LIST;
	}
	return -1;
}

/* key_name_valid - [a-z0-9_], 1 to CFG_NAME_MAX - 1 bytes. */
static int
key_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CFG_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') &&
		    *s != '_')
			return 0;
	return 1;
}

/*
 * keys_table - C->keys from the plugin's table KEYS: each entry checked
 * (a bad table is the plugin's bug, refused at load) and turned into the
 * core's form: section "plugin NAME", durations in milliseconds with a
 * bare number in seconds, INT without a range from 0 to CFG_INT_BIG.
 */
static int
keys_table(struct yh_config *c, const struct yh_key *keys, struct errlist *errs)
{
	struct cfg_key *k;
	size_t n, i, j;
	int type;

	for (n = 0; keys[n].name != NULL; n++)
		if (n == YH_KEYS_MAX) {
			errlist_add(errs, "plugin %s: more than %d keys declared",
			    c->name, YH_KEYS_MAX);
			return -1;
		}
	c->keys = xcalloc(n ? n : 1, sizeof(*c->keys));
	c->vals = xcalloc(n ? n : 1, sizeof(*c->vals));
	c->set = xcalloc(n ? n : 1, 1);
	c->nkeys = n;
	for (i = 0; i < n; i++) {
		k = &c->keys[i];
		type = key_type(keys[i].type);
		if (!key_name_valid(keys[i].name) || type == -1 ||
		    keys[i].min > keys[i].max) {
			errlist_add(errs, "plugin %s: declared key %zu ('%.64s') "
			    "has a bad name, type or range", c->name, i,
			    keys[i].name);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(keys[j].name, keys[i].name) == 0) {
				errlist_add(errs, "plugin %s: key '%s' declared "
				    "twice", c->name, keys[i].name);
				return -1;
			}
		k->section = "plugin";
		k->name = keys[i].name;
		k->type = (enum cfg_type)type;
		k->def = keys[i].def;
		k->min = keys[i].min;
		k->max = keys[i].max;
		if (type == CFG_INT && k->min == 0 && k->max == 0)
			k->max = CFG_INT_BIG;
		if (type == CFG_DURATION) {
			k->flags = CFG_MSEC;
			k->unit = 1000;
		}
	}
	return 0;
}

/* key_index - the declared key NAME in C, or -1. */
static long
key_index(const struct yh_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, name) == 0)
			return (long)i;
	return -1;
}

struct check_ctx {
	struct yh_config	*c;
	struct errlist		*errs;
	int			 bad;
};

/* key_check - config_plugin_each's callback: KEY = TEXT of the section
 * parsed as declared, or its error at its line. */
static int
key_check(void *ctx, const char *key, const char *text)
{
	struct check_ctx *x = ctx;
	struct yh_config *c = x->c;
	char where[PATH_MAX + 16], esc[ESC_SIZE], near[CFG_NAME_MAX];
	size_t i, best = SIZE_MAX, d;
	struct cfg_val v;
	char *why;
	long ki;

	config_plugin_where(c->cfg, c->name, key, where, sizeof(where));
	cfg_esc(esc, sizeof(esc), key);
	if ((ki = key_index(c, key)) == -1) {
		near[0] = '\0';
		for (i = 0; i < c->nkeys; i++)
			if ((d = cfg_distance(key, c->keys[i].name)) < best &&
			    d <= CFG_SUGGEST_DIST) {
				best = d;
				snprintf(near, sizeof(near), "%s", c->keys[i].name);
			}
		errlist_add(x->errs, "%s: unknown key '%s' in [plugin %s]%s%s%s",
		    where, esc, c->name, near[0] ? ", did you mean '" : "", near,
		    near[0] ? "'?" : "");
		x->bad = 1;
		return 0;
	}
	if (cfg_parse(&c->keys[ki], text, &v, &why) == -1) {
		errlist_add(x->errs, "%s: [plugin %s] %s: %s", where, c->name,
		    esc, why);
		free(why);
		x->bad = 1;
		return 0;
	}
	cfg_val_free(&c->vals[ki]);
	c->vals[ki] = v;
	c->set[ki] = 1;
	return 0;
}

int
plugin_keys_load(struct yh_config *c, const struct yh_key *keys,
    struct errlist *errs)
{
	struct check_ctx x = { c, errs, 0 };
	char *why;
	size_t i;

	plugin_keys_free(c);
	if (keys != NULL && keys_table(c, keys, errs) == -1)
		return -1;
	for (i = 0; i < c->nkeys; i++) {
		if (c->keys[i].def == NULL)
			continue;
		if (cfg_parse(&c->keys[i], c->keys[i].def, &c->vals[i], &why) == -1) {
			errlist_add(errs, "plugin %s: the default of key '%s' is "
			    "wrong: %s", c->name, c->keys[i].name, why);
			free(why);
			return -1;
		}
		c->set[i] = 1;
	}
	(void)config_plugin_each(c->cfg, c->name, key_check, &x);
	return x.bad ? -1 : 0;
}

void
plugin_keys_free(struct yh_config *c)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++)
		cfg_val_free(&c->vals[i]);
	free(c->keys);
	free(c->vals);
	free(c->set);
	c->keys = NULL;
	c->vals = NULL;
	c->set = NULL;
	c->nkeys = 0;
}

/* key_value - the value of declared key NAME of type TYPE, NULL when it is
 * unset without a default, or when the plugin asked wrongly (logged). */
static const struct cfg_val *
key_value(const struct yh_config *c, const char *name, enum cfg_type type,
    const char *getter)
{
	long ki = key_index(c, name);

	if (ki == -1 || (c->keys[ki].type != type &&
	    !(type == CFG_STRING && c->keys[ki].type == CFG_PATH))) {
		log_err("plugin=%s %s(\"%.64s\"): %s", c->name, getter, name,
		    ki == -1 ? "no such key declared" : "the key is of another "
		    "type");
		return NULL;
	}
	return c->set[ki] ? &c->vals[ki] : NULL;
}

int
yh_config_bool(const struct yh_config *cfg, const char *key)
{
	const struct cfg_val *v = key_value(cfg, key, CFG_BOOL, __func__);

	return v ? (int)v->num : 0;
}

long long
yh_config_int(const struct yh_config *cfg, const char *key)
{
	const struct cfg_val *v = key_value(cfg, key, CFG_INT, __func__);

	return v ? v->num : 0;
}

long long
yh_config_size(const struct yh_config *cfg, const char *key)
{
	const struct cfg_val *v = key_value(cfg, key, CFG_SIZE, __func__);

	return v ? v->num : 0;
}

long long
yh_config_duration(const struct yh_config *cfg, const char *key)
{
	const struct cfg_val *v = key_value(cfg, key, CFG_DURATION, __func__);

	return v ? v->num : 0;
}

const char *
yh_config_str(const struct yh_config *cfg, const char *key)
{
	const struct cfg_val *v = key_value(cfg, key, CFG_STRING, __func__);

	return v ? v->str : NULL;
}

const char *
yh_config_path(const struct yh_config *cfg, const char *key)
{
	struct yh_config *c = (struct yh_config *)cfg;
	const struct cfg_val *v = key_value(cfg, key, CFG_PATH, __func__);

	if (v == NULL)
		return NULL;
	buf_reset(&c->pathbuf);
	if (v->str[0] == '/')
		buf_puts(&c->pathbuf, v->str);
	else
		buf_printf(&c->pathbuf, "%s/%s", config_confdir(cfg->cfg), v->str);
	return buf_cstr(&c->pathbuf);
}

size_t
yh_config_list(const struct yh_config *cfg, const char *key,
    const char *const **items)
{
	const struct cfg_val *v = key_value(cfg, key, CFG_LIST, __func__);

	*items = v ? (const char *const *)v->list.v : NULL;
	return v ? v->list.n : 0;
}

const char *
yh_server_get(const char *key)
{
	static struct buf out;	/* valid until the next call, as documented */

	if (ph.cfg == NULL)
		return NULL;
	if (out.max == 0)
		buf_init(&out, 0);
	return config_text(ph.cfg, key, &out) ? buf_cstr(&out) : NULL;
}

const char *
yh_config_file(void)
{
	const char *f, *base;
	int n;

	if (ph.cfg == NULL || (f = config_file(ph.cfg)) == NULL)
		return NULL;
	if (f[0] == '/')
		return f;
	/* -c etc/yubin.conf: made absolute (CONFDIR is), since the programs
	 * that read it run in other folders */
	base = strrchr(f, '/');
	base = base ? base + 1 : f;
	n = snprintf(ph.file, sizeof(ph.file), "%s%s%s", config_confdir(ph.cfg),
	    str_casesuffix(config_confdir(ph.cfg), "/") ? "" : "/", base);
	return n > 0 && (size_t)n < sizeof(ph.file) ? ph.file : NULL;
}

/*
 * One account's config.def, parsed, is kept while one message is being
 * handled (the quota plugin asks two keys of each recipient's); the next
 * message, a new try of it (plugins_set_qid forgets it) or another
 * account reads the file again.
 */
static struct {
	char		 account[ACCOUNT_NAME_MAX + 1];	/* "": nothing kept */
	struct config	*acfg;		/* NULL: no config.def (or a bad
					 * one): the server's values */
} acache;

void
account_cfg_forget(void)
{
	if (acache.acfg)
		config_free(&acache.acfg);
	acache.account[0] = '\0';
}

/* account_cfg - ACCOUNT's config.def (NULL: none or unusable, logged). */
static struct config *
account_cfg(const char *account)
{
	struct errlist errs;
	char *dir, *path;
	size_t i;

	if (ph.qid[0] != '\0' && strcmp(acache.account, account) == 0)
		return acache.acfg;
	account_cfg_forget();
	dir = paths_account_dir(ph.cfg, account);
	path = xasprintf("%s/config.def", dir);
	free(dir);
	errlist_init(&errs);
	/* no config.def: NULL, the server's values (no copy of them) */
	if (config_account_file(ph.cfg, path, &acache.acfg, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			log_warn("%s", errs.msg[i]);
		acache.acfg = NULL;
	}
	errlist_free(&errs);
	free(path);
	/* kept only within a message (a queue id is set) */
	if (ph.qid[0] == '\0' || str_copy(acache.account,
	    sizeof(acache.account), account) == -1)
		acache.account[0] = '\0';
	return acache.acfg;
}

const char *
yh_account_get(const char *account, const char *key, char *out, size_t size)
{
	struct config *acfg;
	struct buf val;
	const char *why;
	const char *r = NULL;

	if (ph.cfg == NULL || !account_name_valid(account, &why))
		return NULL;
	buf_init(&val, 0);
	acfg = account_cfg(account);
	if (config_text(acfg ? acfg : ph.cfg, key, &val)) {
		/* the account record's own limit beats the server default,
		 * config.def beats both */
		struct account a;
		long long lim = 0;

		if (ph.store && strncmp(key, "mailbox_capacity_", 17) == 0 &&
		    account_get(ph.store, account, &a) == 1) {
			if (strcmp(key, "mailbox_capacity_mail_size") == 0)
				lim = a.quota_size;
			else if (strcmp(key, "mailbox_capacity_mail_count") == 0)
				lim = a.quota_count;
		}
		if (lim > 0 && !(acfg && config_account_sets(acfg, key))) {
			buf_reset(&val);
			buf_printf(&val, "%lld", lim);
		}
		if (str_copy(out, size, buf_cstr(&val)) == 0)
			r = out;
	}
	buf_free(&val);
	return r;
}
