/*
 * t/unit/hours.c - usage_hours (lib/hours.h, F124): windows, day ranges
 * that wrap, windows past midnight, the half-hour rule, every bad text with
 * its exact reason, and the config key that checks it (config.def).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "hours.h"
#include "util.h"
#include "../lib/tap.h"

/* at - is WDAY (0 Sunday) HH:MM allowed by TEXT? */
static int
at(const char *text, int wday, int hh, int mm)
{
	struct hours h;
	struct tm tm;
	char why[256];

	if (hours_parse(text, &h, why, sizeof(why)) == -1) {
		diag("%s: %s", text, why);
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_wday = wday;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	return hours_allow(&h, &tm);
}

struct bad {
	const char	*text;
	const char	*why;
};

static const struct bad bads[] = {
	{ "mon 9:00-18:00", "window 1 'mon 9:00-18:00': the hours are "
	    "HH:MM-HH:MM" },
	{ "mon 09:15-18:00", "window 1 'mon 09:15-18:00': times are on the "
	    "half hour (:00 or :30)" },
	{ "mon 25:00-26:00", "window 1 'mon 25:00-26:00': no such time of "
	    "day" },
	{ "mon 24:30-01:00", "window 1 'mon 24:30-01:00': no such time of "
	    "day" },
	{ "mon 24:00-02:00", "window 1 'mon 24:00-02:00': a window cannot "
	    "start at 24:00" },
	{ "mon 09:00-1x:00", "window 1 'mon 09:00-1x:00': a time is HH:MM" },
	{ "mon 09:00 18:00", "window 1 'mon 09:00 18:00': the hours are "
	    "HH:MM-HH:MM" },
	{ "sat, mond", "window 2 'mond': unknown day (mon ... sun, a range "
	    "such as mon-fri, or daily)" },
	{ "mon-", "window 1 'mon-': unknown day (mon ... sun, a range such "
	    "as mon-fri, or daily)" },
	{ "mon,,tue", "window 2: empty" },
	{ "mon,", "window 2: empty" },
	{ "09:00-18:00", "window 1 '09:00-18:00': unknown day (mon ... sun, a "
	    "range such as mon-fri, or daily)" },
	{ "mon\x01", "window 1: a control character" },
};

int
main(void)
{
	struct hours h;
	char why[256], big[HOURS_TEXT_MAX + 8], path[] = "/tmp/yubin-hours-XXXXXX";
	struct errlist errs;
	struct config *cfg = NULL, *acfg = NULL;
	size_t i;
	int fd;

	plan_no_plan();

	/* no restriction */
	is_int(hours_parse("", &h, why, sizeof(why)), 0, "empty text parses");
	is_int(h.any, 0, "and restricts nothing");
	is_int(at("  ", 3, 3, 0), 1, "blanks alone: any time");

	/* a working week */
	is_int(at("mon-fri 09:00-18:00", 1, 9, 0), 1, "Monday 09:00 in");
	is_int(at("mon-fri 09:00-18:00", 1, 8, 59), 0, "Monday 08:59 out");
	is_int(at("mon-fri 09:00-18:00", 5, 17, 59), 1, "Friday 17:59 in");
	is_int(at("mon-fri 09:00-18:00", 5, 18, 0), 0, "Friday 18:00 out (end "
	    "is exclusive)");
	is_int(at("mon-fri 09:00-18:00", 6, 12, 0), 0, "Saturday out");
	is_int(at("mon-fri 09:00-18:00, sat 10:00-12:30", 6, 12, 29), 1,
	    "second window: Saturday 12:29 in");
	is_int(at("mon-fri 09:00-18:00, sat 10:00-12:30", 6, 12, 30), 0,
	    "Saturday 12:30 out");
	is_int(at("Mon-Fri 09:00-18:00", 3, 10, 0), 1, "day names in any case");
	is_int(at("wednesday 09:30-10:00", 3, 9, 45), 1, "full day names");
	is_int(at("mon-fri\t 09:00-18:00", 2, 10, 0), 1, "tabs and blanks "
	    "between the parts");

	/* whole days, ranges that wrap, daily */
	is_int(at("sun", 0, 0, 0), 1, "a day alone: from 00:00");
	is_int(at("sun", 0, 23, 59), 1, "to 23:59");
	is_int(at("sun", 1, 0, 0), 0, "not the next day");
	is_int(at("fri-mon", 6, 12, 0), 1, "fri-mon wraps: Saturday in");
	is_int(at("fri-mon", 0, 12, 0), 1, "Sunday in");
	is_int(at("fri-mon", 2, 12, 0), 0, "Tuesday out");
	is_int(at("daily 08:00-20:00", 4, 19, 30), 1, "daily");
	is_int(at("daily 08:00-20:00", 4, 20, 0), 0, "daily, after the end");
	is_int(at("mon 00:00-24:00", 1, 23, 59), 1, "24:00 ends the day");

	/* past midnight */
	is_int(at("sat 22:00-06:30", 6, 23, 0), 1, "Saturday 23:00 in");
	is_int(at("sat 22:00-06:30", 0, 6, 29), 1, "into Sunday 06:29");
	is_int(at("sat 22:00-06:30", 0, 6, 30), 0, "Sunday 06:30 out");
	is_int(at("sat 22:00-06:30", 6, 21, 59), 0, "Saturday 21:59 out");
	is_int(at("daily 22:00-02:00", 0, 1, 0), 1, "Saturday's window "
	    "reaches Sunday");

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		why[0] = '\0';
		is_int(hours_parse(bads[i].text, &h, why, sizeof(why)), -1,
		    "bad %zu refused", i);
		is_str(why, bads[i].why, "bad %zu: the reason", i);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(hours_parse(big, &h, why, sizeof(why)), -1, "a huge text");
	is_str(why, "longer than 1024 bytes", "is refused by its length");

	/* the config keys: usage_hours and allowed_recipients in config.def */
	errlist_init(&errs);
	ok(config_load(&cfg, NULL, NULL, 0, &errs) == 0, "server defaults load");
	fd = mkstemp(path);
	ok(fd != -1, "scratch config.def");
	dprintf(fd, "usage_hours=mon-fri 09:00-18:00, sat 10:00-12:00\n"
	    "allowed_recipients=*@example.org, partner.test, bob?@*\n");
	close(fd);
	ok(config_account(cfg, path, &acfg, &errs) == 0, "config.def with "
	    "both keys loads");
	if (acfg != NULL) {
		is_str(config_str(acfg, "server.usage_hours"), "mon-fri "
		    "09:00-18:00, sat 10:00-12:00", "usage_hours kept");
		is_int(config_list(acfg, "smtp.allowed_recipients")->n, 3,
		    "three patterns");
	}
	config_free(&acfg);
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "# x\nusage_hours=mon 09:15-10:00\n");
	close(fd);
	ok(config_account(cfg, path, &acfg, &errs) == -1, "a bad usage_hours "
	    "is refused");
	ok(errs.n == 1 && strstr(errs.msg[0], ":2: usage_hours: window 1 "
	    "'mon 09:15-10:00': times are on the half hour") != NULL,
	    "with file:line and the reason");
	if (errs.n > 0)
		diag("%s", errs.msg[0]);
	errlist_free(&errs);
	errlist_init(&errs);
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "allowed_recipients=a@b@c\n");
	close(fd);
	ok(config_account(cfg, path, &acfg, &errs) == -1 && errs.n == 1 &&
	    strstr(errs.msg[0], ":1: allowed_recipients: expected addresses "
	    "or domains with * and ? wildcards, got \"a@b@c\"") != NULL,
	    "a pattern with two '@' is refused with file:line");
	errlist_free(&errs);
	unlink(path);
	config_free(&cfg);
	return done_testing();
}
