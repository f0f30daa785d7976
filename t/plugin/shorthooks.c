/* shorthooks - a plugin built against an older, shorter yh_hooks of this
 * ABI: its .size stops before pop_auth, so the core must never read (or
 * call) pop_auth although the object happens to hold one. */
#include <yubin/hook.h>

static int
sh_connect(struct yh_session *s)
{
	(void)s;
	return YH_DECLINED;
}

static void
sh_pop_auth(struct yh_pop *p)
{
	(void)p;
}

static const struct yh_hooks sh_hooks = {
	.size = offsetof(struct yh_hooks, pop_auth),
	.connect = sh_connect,
	.pop_auth = sh_pop_auth,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "shorthooks",
	.hooks = &sh_hooks,
};
