/*
 * plugin_config.c - the configuration accessors of hooks/yubin/hook.h: a
 * plugin's [plugin NAME] section, the server keys, per-account values.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
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

struct known_ctx {
	const char		*name;
	const char *const	*known;
	int			 unknown;
};

/* known_one - yh_config_known's callback: one key checked. */
static int
known_one(void *ctx, const char *key, const char *value, const char *where)
{
	struct known_ctx *k = ctx;
	char esc[300];	/* key names are at most 64 bytes */
	size_t i;

	(void)value;
	for (i = 0; k->known[i] != NULL; i++)
		if (strcmp(k->known[i], key) == 0)
			return 0;
	yh_error("%s: unknown key '%s' in [plugin %s]", where,
	    str_escape(esc, sizeof(esc), key, strlen(key)), k->name);
	k->unknown++;
	return 0;
}

int
yh_config_known(const struct yh_config *cfg, const char *name,
    const char *const *known)
{
	struct known_ctx k = { name, known, 0 };

	(void)yh_config_each(cfg, known_one, &k);
	return k.unknown;
}

const char *
yh_config_path(const struct yh_config *cfg, const char *key,
    const char *default_name)
{
	struct yh_config *c = (struct yh_config *)cfg;
	const char *v = config_plugin_get(cfg->cfg, cfg->name, key);

	if (v == NULL)
		v = default_name;
	if (v == NULL)
		return NULL;
	buf_reset(&c->pathbuf);
	if (v[0] == '/')
		buf_puts(&c->pathbuf, v);
	else
		buf_printf(&c->pathbuf, "%s/%s", config_confdir(cfg->cfg), v);
	return buf_cstr(&c->pathbuf);
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

const char *
yh_account_get(const char *account, const char *key, char *out, size_t size)
{
	struct errlist errs;
	struct config *acfg;
	struct buf val;
	const char *why;
	const char *r = NULL;
	char *dir, *path;

	if (ph.cfg == NULL || !account_name_valid(account, &why))
		return NULL;
	dir = paths_account_dir(ph.cfg, account);
	path = xasprintf("%s/config.def", dir);
	free(dir);
	errlist_init(&errs);
	buf_init(&val, 0);
	if (config_account(ph.cfg, path, &acfg, &errs) == -1) {
		size_t i;

		for (i = 0; i < errs.n; i++)
			log_warn("%s", errs.msg[i]);
		acfg = NULL;
	}
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
	if (acfg)
		config_free(&acfg);
	errlist_free(&errs);
	buf_free(&val);
	free(path);
	return r;
}
