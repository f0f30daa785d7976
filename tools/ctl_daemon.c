/* ctl_daemon.c - placeholder */
#include "ctl.h"
#define STUB(n) int ctl_cmd_##n(struct ctl *c, int argc, char **argv) \
	{ (void)c; (void)argc; (void)argv; return ctl_error(CTL_USAGE, "not implemented"); }
STUB(setup)
STUB(start)
STUB(stop)
STUB(reload)
STUB(status)
STUB(mailbox)
STUB(queue)
