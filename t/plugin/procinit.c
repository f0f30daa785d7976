/* procinit - logs init_process in each process kind, with its user id, so
 * a test can see that it runs after fork and privilege drop. */
#include <unistd.h>

#include <yubin/hook.h>

static const char *const kinds[] = {
	[YH_PROC_SMTP] = "smtp",
	[YH_PROC_SUBMIT] = "submit",
	[YH_PROC_POP3] = "pop3",
	[YH_PROC_QUEUE] = "queue",
	[YH_PROC_LOCAL_AGENT] = "local_agent",
	[YH_PROC_REMOTE_AGENT] = "remote_agent",
};

static void
pi_init_process(enum yh_process kind)
{
	yh_log(YH_LOG_INFO, "procinit: init_process %s euid=%u",
	    (unsigned)kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[kind] :
	    "?", (unsigned)geteuid());
}

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "procinit",
	.init_process = pi_init_process,
};
