/* badabi - a plugin built for another ABI version; the loader must refuse it. */
#include <yubin/hook.h>

const struct yh_plugin yubin_plugin = {
	.abi = YH_ABI_VERSION + 1,
	.name = "badabi",
};
