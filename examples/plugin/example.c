/*
 * example - the smallest useful yubin plugin, built out of the source tree
 * against the installed hook.h (see Makefile here and doc/plugins.md).
 *
 * It refuses one recipient address, named by the key `refuse` of its
 * section, with its own reply, and logs each refusal:
 *
 *   [server]
 *   plugins = example
 *   [plugin example]
 *   refuse = nobody@example.org
 *
 * Privilege: init runs as root in the master before the workers fork;
 * the rcpt hook runs in an SMTP worker as the server user.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yubin/hook.h>

static char refused[YH_RCPT_MAX + 1];	/* "" refuses nobody */

/* example_init - read [plugin example]; refuse unknown keys. */
static int
example_init(const struct yh_config *cfg)
{
	static const char *const known[] = { "refuse", NULL };
	const char *v;

	if (yh_config_known(cfg, "example", known) != 0)
		return -1;
	v = yh_config_get(cfg, "refuse");
	if (v == NULL)
		v = "";
	if (*v && !yh_addr_valid(v)) {
		yh_error("[plugin example] refuse: \"%.80s\" is not an address",
		    v);
		return -1;
	}
	if (snprintf(refused, sizeof(refused), "%s", v) >= (int)sizeof(refused))
		return -1;
	return 0;
}

/* example_rcpt - deny the one refused address, decline the rest. */
static int
example_rcpt(struct yh_session *s, const char *rcpt)
{
	char safe[2 * YH_RCPT_MAX];

	if (*refused == '\0' || strcasecmp(rcpt, refused) != 0)
		return YH_DECLINED;
	yh_log(YH_LOG_INFO, "refused rcpt=<%s>",
	    yh_escape(safe, sizeof(safe), rcpt, strlen(rcpt)));
	yh_reply(s, 550, "5.7.1", "example: this address takes no mail");
	return YH_DENY;
}

static const struct yh_hooks example_hooks = {
	YH_HOOKS_INIT,
	.rcpt = example_rcpt,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "example",
	.init = example_init,
	.hooks = &example_hooks,
};
