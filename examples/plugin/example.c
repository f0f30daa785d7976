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
 * Privilege: init and commit run as root in the master before the
 * workers fork; the rcpt hook runs in an SMTP worker as the server user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yubin/hook.h>

static char refused[YH_RCPT_MAX + 1];	/* the running generation; ""
					 * refuses nobody */

/* The keys of [plugin example]: the core refuses any other, and a value
 * of the wrong form, with file:line, before example_init runs. */
static const struct yh_key example_keys[] = {
	{ "refuse", YH_KEY_STRING, "", 0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* example_init - build the next generation aside: a copy of the address.
 * Nothing the running generation uses is touched, so a reload that fails
 * (here, or in another plugin) leaves the plugin as it was. */
static int
example_init(const struct yh_config *cfg, void **gen)
{
	const char *v = yh_config_str(cfg, "refuse");
	char *next;

	if (*v && !yh_addr_valid(v)) {
		yh_error("[plugin example] refuse: \"%.80s\" is not an address",
		    v);
		return -1;
	}
	if (strlen(v) >= sizeof(refused) || (next = strdup(v)) == NULL)
		return -1;
	*gen = next;
	return 0;
}

/* example_commit - make the generation init built the running one. */
static void
example_commit(void *gen)
{
	snprintf(refused, sizeof(refused), "%s", (char *)gen);
	free(gen);
}

/* example_discard - a generation that a failed reload never ran. */
static void
example_discard(void *gen)
{
	free(gen);
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
	.keys = example_keys,
	.init = example_init,
	.commit = example_commit,
	.discard = example_discard,
	.hooks = &example_hooks,
};
