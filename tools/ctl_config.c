/* ctl_config.c - placeholder */
#include "ctl.h"
int
ctl_cmd_config(struct ctl *c, int argc, char **argv)
{
	(void)c; (void)argc; (void)argv;
	return ctl_error(CTL_USAGE, "not implemented");
}
