/*
 * hours - an account's usage hours (config.def `usage_hours`, F124; the
 * seed's weekdays and start/end times in 30-minute steps, SEEDS §22.1).
 *
 * The text is a comma-separated list of windows, each DAYS [TIME-TIME]:
 *     mon-fri 09:00-18:00, sat 10:00-12:00
 *     sun                          (the whole day)
 *     daily 22:00-06:30            (past midnight: into the next day)
 * DAYS is a day (mon tue wed thu fri sat sun, or the full English name,
 * any case), a range of them (fri-mon wraps), or "daily".  Times are
 * HH:MM on the half hour, 00:00 to 24:00; a window whose end is not after
 * its start runs past midnight into the next day.  The empty text means
 * no restriction.  Times are the server's local time.
 *
 * Self-contained: libc only (no logging, no x-wrappers).  Never: read past
 * the text, or accept a time that is not on the half hour.
 */
#ifndef YUBIN_HOURS_H
#define YUBIN_HOURS_H

#include <stddef.h>
#include <time.h>

#define HOURS_SLOTS	(7 * 48)	/* half hours of a week */
#define HOURS_TEXT_MAX	1024		/* a longer text is refused */

/* the allowed half hours of a week, Sunday 00:00 first (struct tm's day) */
struct hours {
	unsigned char	 any;			/* 0: no restriction */
	unsigned char	 slot[HOURS_SLOTS / 8];
};

/*
 * hours_parse - TEXT into H.  0, or -1 with the reason in WHY (WHYSIZE
 * bytes), naming the window that is wrong.
 */
int	hours_parse(const char *text, struct hours *h, char *why,
	    size_t whysize);
/* hours_allow - 1 when H allows local time TM (or has no restriction). */
int	hours_allow(const struct hours *h, const struct tm *tm);

#endif
