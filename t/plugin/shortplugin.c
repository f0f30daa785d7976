/* shortplugin - a plugin whose yh_plugin .size stops before .hooks (an
 * older struct of this ABI): it loads, and its hooks are taken as NULL. */
#include <yubin/hook.h>

static int
sp_connect(struct yh_session *s)
{
	(void)s;
	return YH_DENY;
}

static const struct yh_hooks sp_hooks = {
	YH_HOOKS_INIT,
	.connect = sp_connect,
};

const struct yh_plugin yubin_plugin = {
	.abi = YH_ABI_VERSION,
	.size = offsetof(struct yh_plugin, hooks),
	.name = "shortplugin",
	.hooks = &sp_hooks,
};
