/* txnslot - counts hook calls in its yh_txn_slot and logs the count each
 * hook found, so a test can see the slot is zero at every transaction. */
#include <yubin/hook.h>

struct count {
	int	 calls;
};

static void
seen(struct yh_session *s, const char *hook)
{
	struct count *c = yh_txn_slot(s, sizeof(*c));

	if (c == NULL) {
		yh_log(YH_LOG_INFO, "txnslot: %s no slot", hook);
		return;
	}
	yh_log(YH_LOG_INFO, "txnslot: %s saw %d", hook, c->calls);
	c->calls++;
}

static int
ts_mail(struct yh_session *s)
{
	seen(s, "mail");
	return YH_DECLINED;
}

static int
ts_rcpt(struct yh_session *s, const char *rcpt)
{
	(void)rcpt;
	seen(s, "rcpt");
	return YH_DECLINED;
}

static int
ts_data(struct yh_session *s)
{
	seen(s, "data");
	return YH_DECLINED;
}

static const struct yh_hooks ts_hooks = {
	YH_HOOKS_INIT,
	.mail = ts_mail,
	.rcpt = ts_rcpt,
	.data = ts_data,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "txnslot",
	.hooks = &ts_hooks,
};
