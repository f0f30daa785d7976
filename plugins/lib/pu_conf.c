/*
 * pu_conf.c - where a plugin's key is set, for its error messages (see
 * plugutil.h).  Apart from plugutil.c so that a unit test with stubbed
 * yh_* calls links it with yh_config_each alone.  Runs in whatever process
 * loads the plugin; must never write past the caller's buffer.
 */
#include <stdio.h>
#include <string.h>

#include <yubin/hook.h>

#include "plugutil.h"

struct pu_where {
	const char	*key;
	char		*out;
	size_t		 size;
};

static int
pu_where_fn(void *ctx, const char *key, const char *value, const char *where)
{
	struct pu_where *w = ctx;

	(void)value;
	if (strcmp(key, w->key) == 0)
		snprintf(w->out, w->size, "%s", where);
	return 0;	/* the last one wins, as with the getters */
}

const char *
pu_key_where(const struct yh_config *cfg, const char *key, const char *unset,
    char *out, size_t size)
{
	struct pu_where w = { key, out, size };

	snprintf(out, size, "%s", unset);
	yh_config_each(cfg, pu_where_fn, &w);
	return out;
}
