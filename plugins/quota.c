/*
 * quota - mailbox capacity and the daily sending limit (SEEDS.md §2.3,
 * §2.4, §21; issue 5).
 *
 * Mailbox capacity.  mailbox_capacity_mail_count (messages) and
 * mailbox_capacity_mail_size (bytes, counted as POP3 counts them: CRLF
 * octets) come from yh_account_get(): the account's config.def, else the
 * account record's --quota-count / --quota-size, else the server value;
 * 0 means no limit.  Usage is the core's exact counter (yh_mailbox_usage).
 *   rcpt     a local account whose mailbox is full (messages >= limit, or
 *            bytes >= limit), or that the SIZE= declared on MAIL FROM would
 *            overflow (bytes + SIZE > limit): 452 4.2.2, the sender retries.
 *   deliver  the copy that would overflow the mailbox (messages + 1 >
 *            limit, or bytes + its POP3 size > limit) is not stored: 552
 *            5.2.2 (the recipient fails), or 452 4.2.2 (it stays queued
 *            and is retried) when quota_full_tempfail = 1.
 *
 * Daily sending limit.  send_max_during_a_day (server [smtp] value or the
 * account's config.def; negative = unlimited, 0 = nothing may be sent)
 * counts accepted transactions per sending account and local calendar day
 * (the server clock, yh_now(), in the server's time zone).  The sending
 * account is the authenticated user, whatever MAIL FROM says; for a local
 * submission (yh_local_submission: yubin-sendmail, programs of exec.def)
 * the local account of the envelope sender; else nobody (not counted,
 * never limited).
 *   mail     today's count >= limit: 450 4.7.1.
 *   queued   today's count + 1, in the store as "day/ACCOUNT/YYYYMMDD"
 *            (kept two days, then it expires).
 *
 * [plugin quota]
 *   quota_full_tempfail = 0|1   defer instead of refusing a delivery that
 *                               would overflow a mailbox (default 0)
 *
 * Readings chosen where the seed is silent:
 *   - A store error while reading usage or the day counter answers 4xx
 *     (451 4.3.0 at RCPT/MAIL, a deferred delivery): a quota that cannot
 *     be read is neither enforced on a guess nor silently dropped.
 *   - The deliver hook knows the stored (LF) size of the message (its two
 *     trace lines, Return-Path: and Delivered-To:, included); the POP3
 *     size is that plus one byte per line.  When the LF size already
 *     overflows, or twice it still fits, that settles it; in between the
 *     queue file is read once to count its lines, so the check is exact.
 *   - The day counter is read at MAIL and incremented after the 250, so
 *     concurrent sessions of one account may each pass the check and go
 *     over the limit by the number of sessions racing; the next MAIL is
 *     refused.  One transaction counts once, whatever its recipients.
 *   - An unauthenticated session is nobody's, whatever envelope sender it
 *     writes: anyone can write alice@, and charging alice for it would let
 *     a stranger use up her day (issue 12 item 7).  A local submission is
 *     the server's own users (the caller's uid is known, the session counts
 *     as authenticated), so its envelope sender names the account.
 *
 * This plugin never touches a mailbox and never reads network input beyond
 * what the core hands its hooks.  It keeps no per-session state: the core's
 * counters and the plugin's store space hold everything, so every worker,
 * the queue manager and a restarted server agree.  init() runs as root in
 * the master and only reads its one key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#define QUOTA_ACCOUNT_MAX	256	/* account name; the core's limit is lower */
#define QUOTA_VALUE_MAX		64	/* text of one numeric setting */
#define QUOTA_KEY_MAX		(QUOTA_ACCOUNT_MAX + 32)	/* day/ACCOUNT/YYYYMMDD */
#define QUOTA_DAY_TTL		(2 * 86400)	/* a day counter outlives its day */

/* the only setting; written once by init() in the master, read-only after */
static int quota_full_tempfail;

struct quota_usage {
	long long	 max_count;	/* 0: no limit */
	long long	 max_bytes;	/* 0: no limit */
	long long	 count;		/* stored now */
	long long	 bytes;
};

/*
 * quota_setting - ACCOUNT's numeric setting KEY into *VAL_R.  1 found, 0
 * unknown (*VAL_R = DEF), -1 not a number (*VAL_R = DEF, logged once here).
 */
static int
quota_setting(const char *account, const char *key, long long def,
    long long *val_r)
{
	char text[QUOTA_VALUE_MAX], *end;
	long long v;

	*val_r = def;
	if (yh_account_get(account, key, text, sizeof(text)) == NULL)
		return 0;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0') {
		yh_log(YH_LOG_WARN, "account=%s %s is not a number; ignored",
		    account, key);
		return -1;
	}
	*val_r = v;
	return 1;
}

/*
 * quota_usage_get - the limits and the usage of ACCOUNT into *U.  0, or -1
 * when the usage cannot be read (logged).
 */
static int
quota_usage_get(const char *account, struct quota_usage *u)
{
	memset(u, 0, sizeof(*u));
	quota_setting(account, "mailbox_capacity_mail_count", 0, &u->max_count);
	quota_setting(account, "mailbox_capacity_mail_size", 0, &u->max_bytes);
	if (u->max_count < 0)
		u->max_count = 0;
	if (u->max_bytes < 0)
		u->max_bytes = 0;
	if (u->max_count == 0 && u->max_bytes == 0)
		return 0;	/* nothing to enforce: no need to read usage */
	if (yh_mailbox_usage(account, &u->count, &u->bytes) == -1) {
		yh_log(YH_LOG_WARN, "account=%s mailbox usage unreadable", account);
		return -1;
	}
	return 0;
}

/* quota_limit_text - LIMIT for a log line: the number, or "none" for 0. */
static const char *
quota_limit_text(long long limit, char *buf, size_t size)
{
	if (limit <= 0)
		return "none";
	snprintf(buf, size, "%lld", limit);
	return buf;
}

enum quota_action {
	ACT_RCPT,	/* RCPT refused */
	ACT_REFUSE,	/* delivery refused for good */
	ACT_DEFER,	/* delivery deferred */
};

/*
 * quota_log - one line for a mailbox refusal: what was done, to which
 * account, why, the usage against the limits, and the message size when
 * known (SIZE >= 0).
 */
static void
quota_log(enum quota_action act, const char *account, const char *reason,
    const struct quota_usage *u, long long size)
{
	static const char *const what[] = {
		[ACT_RCPT] = "reject rcpt",
		[ACT_REFUSE] = "refuse delivery",
		[ACT_DEFER] = "defer delivery",
	};
	char lc[24], lb[24], sz[32] = "";

	if (size >= 0)
		snprintf(sz, sizeof(sz), " size=%lld", size);
	yh_log(YH_LOG_INFO, "%s account=%s reason=%s mails=%lld/%s "
	    "bytes=%lld/%s%s", what[act], account, reason, u->count,
	    quota_limit_text(u->max_count, lc, sizeof(lc)), u->bytes,
	    quota_limit_text(u->max_bytes, lb, sizeof(lb)), sz);
}

/* quota_full - 1 when the mailbox of U cannot take one more message. */
static int
quota_full(const struct quota_usage *u)
{
	return (u->max_count > 0 && u->count >= u->max_count) ||
	    (u->max_bytes > 0 && u->bytes >= u->max_bytes);
}

/* quota_overflows - 1 when one more message of SIZE bytes would not fit. */
static int
quota_overflows(const struct quota_usage *u, long long size)
{
	return (u->max_count > 0 && u->count + 1 > u->max_count) ||
	    (u->max_bytes > 0 && size > u->max_bytes - u->bytes);
}

/*
 * quota_sender - the sending account of session S into ACCOUNT (SIZE
 * bytes): for a local submission the local account of the envelope
 * sender, else the authenticated user, else nobody (an unauthenticated
 * envelope sender proves nothing).  1 found, 0 none, -1 store error.
 */
static int
quota_sender(struct yh_session *s, char *account, size_t size)
{
	const char *user = yh_auth_user(s), *from = yh_sender(s);
	int r;

	if (yh_local_submission(s)) {
		if (from == NULL || *from == '\0')
			return 0;	/* no transaction, or <>: a bounce */
		r = yh_resolve(from, account, size);
		return r == 1 ? 1 : r == -2 ? -1 : 0;
	}
	if (user == NULL || *user == '\0')
		return 0;
	if ((size_t)snprintf(account, size, "%s", user) >= size)
		return 0;	/* longer than any account: not one */
	return 1;
}

/* quota_day_key - "day/ACCOUNT/YYYYMMDD" for today, local time.  0 or -1. */
static int
quota_day_key(const char *account, char *key, size_t size)
{
	time_t now = (time_t)yh_now();
	struct tm tm;
	char day[16];

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y%m%d", &tm) == 0)
		return -1;
	if ((size_t)snprintf(key, size, "day/%s/%s", account, day) >= size)
		return -1;
	return 0;
}

static const struct yh_key quota_keys[] = {
	{ "quota_full_tempfail", YH_KEY_BOOL, "0", 0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* quota_init - the next generation: one switch, in a copy commit takes. */
static int
quota_init(const struct yh_config *cfg, void **gen)
{
	int *tempfail = malloc(sizeof(*tempfail));

	if (tempfail == NULL) {
		yh_error("[plugin quota] out of memory");
		return -1;
	}
	*tempfail = yh_config_bool(cfg, "quota_full_tempfail");
	*gen = tempfail;
	return 0;
}

static void
quota_commit(void *gen)
{
	quota_full_tempfail = *(int *)gen;
	free(gen);
}

static void
quota_discard(void *gen)
{
	free(gen);
}

/*
 * quota_mail - MAIL FROM: refuse when the sending account has reached its
 * daily limit.
 */
static int
quota_mail(struct yh_session *s)
{
	char account[QUOTA_ACCOUNT_MAX], key[QUOTA_KEY_MAX];
	long long limit, sent = 0;
	int r;

	r = quota_sender(s, account, sizeof(account));
	if (r == -1) {
		yh_reply(s, 451, "4.3.0", "temporary lookup failure");
		return YH_DENYSOFT;
	}
	if (r == 0)
		return YH_DECLINED;
	quota_setting(account, "send_max_during_a_day", -1, &limit);
	if (limit < 0)
		return YH_DECLINED;
	/* an increment by 0 reads the counter in the store's own format */
	if (quota_day_key(account, key, sizeof(key)) == -1 ||
	    yh_store_incr(key, 0, QUOTA_DAY_TTL, &sent) == -1) {
		yh_log(YH_LOG_WARN, "account=%s daily count unreadable", account);
		yh_reply(s, 451, "4.3.0", "temporary failure; try again later");
		return YH_DENYSOFT;
	}
	if (sent < limit)
		return YH_DECLINED;
	yh_log(YH_LOG_INFO, "reject mail account=%s reason=daily_limit "
	    "sent_today=%lld limit=%lld", account, sent, limit);
	yh_reply(s, 450, "4.7.1", "daily sending limit reached");
	return YH_DENYSOFT;
}

/*
 * quota_rcpt - RCPT TO: refuse a local recipient whose mailbox is full or
 * would be overflowed by the declared SIZE.
 */
static int
quota_rcpt(struct yh_session *s, const char *rcpt)
{
	char account[QUOTA_ACCOUNT_MAX];
	struct quota_usage u;
	long long size = yh_size_param(s);
	int r;

	if (yh_rcpt_local(s) != 1)
		return YH_DECLINED;
	r = yh_resolve(rcpt, account, sizeof(account));
	if (r != 1 && r != -2)
		return YH_DECLINED;
	if (r == -2 || quota_usage_get(account, &u) == -1) {
		yh_reply(s, 451, "4.3.0", "<%s>: temporary lookup failure", rcpt);
		return YH_DENYSOFT;
	}
	if (quota_full(&u)) {
		quota_log(ACT_RCPT, account, "mailbox_full", &u, -1);
		yh_reply(s, 452, "4.2.2", "<%s>: mailbox full", rcpt);
		return YH_DENYSOFT;
	}
	if (size >= 0 && u.max_bytes > 0 && size > u.max_bytes - u.bytes) {
		quota_log(ACT_RCPT, account, "size_over_quota", &u, size);
		yh_reply(s, 452, "4.2.2", "<%s>: mailbox full", rcpt);
		return YH_DENYSOFT;
	}
	return YH_DECLINED;
}

/* quota_queued - after the 250: one more transaction for the sender today. */
static void
quota_queued(struct yh_session *s)
{
	char account[QUOTA_ACCOUNT_MAX], key[QUOTA_KEY_MAX];
	long long sent;

	if (quota_sender(s, account, sizeof(account)) != 1)
		return;
	if (quota_day_key(account, key, sizeof(key)) == -1 ||
	    yh_store_incr(key, 1, QUOTA_DAY_TTL, &sent) == -1)
		yh_log(YH_LOG_WARN, "account=%s daily count not updated", account);
}

/*
 * quota_deliver - before a copy is stored: refuse (or defer) the one that
 * would overflow the mailbox.
 */
static int
quota_deliver(struct yh_delivery *d)
{
	const char *account = yh_dlv_account(d);
	struct quota_usage u;
	long long size = yh_dlv_size(d), exact, raw;
	int soft = quota_full_tempfail;

	if (account == NULL || *account == '\0')
		return YH_DECLINED;
	if (quota_usage_get(account, &u) == -1) {
		yh_dlv_reply(d, 451, "4.3.0", "mailbox usage unreadable");
		return YH_DENYSOFT;
	}
	if (size < 0)
		size = 0;
	/*
	 * SIZE is the LF size; the POP3 size lies between it and twice it.
	 * Read the file only when the answer depends on where in between.
	 */
	if (!quota_overflows(&u, size) && u.max_bytes > 0 &&
	    quota_overflows(&u, 2 * size)) {
		if ((exact = yh_dlv_wire_size(d, &raw)) >= 0)
			/* SIZE counts the core's trace lines too, the queue
			 * file does not: add them, one CR per line */
			size = exact + (size > raw ? size - raw + 2 : 0);
		else
			yh_log(YH_LOG_WARN, "account=%s cannot read the message; "
			    "checked with its stored size", account);
	}
	if (!quota_overflows(&u, size))
		return YH_DECLINED;
	quota_log(soft ? ACT_DEFER : ACT_REFUSE, account, "mailbox_full", &u,
	    size);
	if (soft) {
		yh_dlv_reply(d, 452, "4.2.2", "mailbox full");
		return YH_DENYSOFT;
	}
	yh_dlv_reply(d, 552, "5.2.2", "mailbox full");
	return YH_DENY;
}

static const struct yh_hooks quota_hooks = {
	YH_HOOKS_INIT,
	.mail = quota_mail,
	.rcpt = quota_rcpt,
	.queued = quota_queued,
	.deliver = quota_deliver,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "quota",
	.keys = quota_keys,
	.init = quota_init,
	.commit = quota_commit,
	.discard = quota_discard,
	.hooks = &quota_hooks,
};
