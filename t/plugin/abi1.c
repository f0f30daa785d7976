/* abi1 - a plugin as built against ABI version 1 (no size members); the
 * loader must refuse it by its version, before reading anything else. */
#include <stddef.h>

struct abi1_plugin {
	unsigned	 abi;
	const char	*name;
	int		(*init)(const void *cfg);
	void		(*fini)(void);
	const void	*hooks;
};

const struct abi1_plugin yubin_plugin = {
	.abi = 1,
	.name = "abi1",
};
