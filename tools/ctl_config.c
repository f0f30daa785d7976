/*
 * ctl_config.c - "yubinctl config": print the effective configuration.
 *
 * The configuration was loaded (file and -D overrides) by yubinctl.c before
 * dispatch; this only prints it as yubin.conf text, values that differ from
 * the defaults marked.  Reads nothing else and changes nothing.
 */
#include <stdio.h>

#include "config.h"
#include "ctl.h"

int
ctl_cmd_config(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: yubinctl config");
	config_print(c->cfg, stdout);
	if (fflush(stdout) == EOF || ferror(stdout))
		return ctl_error(CTL_RUNTIME, "config: cannot write the output");
	return CTL_OK;
}
