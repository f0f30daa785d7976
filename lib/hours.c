/*
 * hours.c - usage hours: parse the text of config.def's usage_hours into a
 * bitmap of the week's half hours, and test a local time against it.  See
 * hours.h for the syntax.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hours.h"

#define WINDOW_MAX	64	/* bytes of one window, blanks trimmed */

static const char *const day_short[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};
static const char *const day_long[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

static void
slot_set(struct hours *h, unsigned day, unsigned from, unsigned to)
{
	unsigned i;

	for (i = day * 48 + from; i < day * 48 + to; i++)
		h->slot[i / 8] |= (unsigned char)(1u << (i % 8));
}

/* day_parse - the day named by S (LEN bytes): 0 (Sunday) to 6, or -1. */
static int
day_parse(const char *s, size_t len)
{
	int d;

	for (d = 0; d < 7; d++)
		if ((len == 3 && strncasecmp(s, day_short[d], 3) == 0) ||
		    (len == strlen(day_long[d]) &&
		    strncasecmp(s, day_long[d], len) == 0))
			return d;
	return -1;
}

/* days_parse - DAYS (LEN bytes) as a bit per day into *SET.  0 or -1. */
static int
days_parse(const char *s, size_t len, unsigned *set)
{
	const char *dash = memchr(s, '-', len);
	int a, b;

	if (len == 5 && strncasecmp(s, "daily", 5) == 0) {
		*set = 0x7f;
		return 0;
	}
	if (dash == NULL) {
		if ((a = day_parse(s, len)) == -1)
			return -1;
		*set = 1u << a;
		return 0;
	}
	if ((a = day_parse(s, (size_t)(dash - s))) == -1 ||
	    (b = day_parse(dash + 1, len - (size_t)(dash - s) - 1)) == -1)
		return -1;
	*set = 0;
	for (;;) {
		*set |= 1u << a;
		if (a == b)
			break;
		a = (a + 1) % 7;
	}
	return 0;
}

/* time_parse - "HH:MM" (exactly 5 bytes at S) as half hours into *HALF:
 * 0 to 48.  0, or -1 (with a reason) when malformed or off the half hour. */
static int
time_parse(const char *s, unsigned *half, const char **why)
{
	unsigned hh, mm;

	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4])) {
		*why = "a time is HH:MM";
		return -1;
	}
	hh = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	mm = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (hh > 24 || mm > 59 || (hh == 24 && mm != 0)) {
		*why = "no such time of day";
		return -1;
	}
	if (mm != 0 && mm != 30) {
		*why = "times are on the half hour (:00 or :30)";
		return -1;
	}
	*half = hh * 2 + mm / 30;
	return 0;
}

/* window_parse - one window W (trimmed, NUL-terminated) into H. */
static int
window_parse(const char *w, struct hours *h, const char **why)
{
	const char *sp = strchr(w, ' ');
	const char *t;
	unsigned set, from = 0, to = 48, d;

	if (days_parse(w, sp ? (size_t)(sp - w) : strlen(w), &set) == -1) {
		*why = "unknown day (mon ... sun, a range such as mon-fri, "
		    "or daily)";
		return -1;
	}
	if (sp != NULL) {
		t = sp;
		while (*t == ' ')
			t++;
		if (strlen(t) != 11 || t[5] != '-') {
			*why = "the hours are HH:MM-HH:MM";
			return -1;
		}
		if (time_parse(t, &from, why) == -1 ||
		    time_parse(t + 6, &to, why) == -1)
			return -1;
		if (from == 48) {
			*why = "a window cannot start at 24:00";
			return -1;
		}
	}
	for (d = 0; d < 7; d++) {
		if (!(set & (1u << d)))
			continue;
		if (to > from)
			slot_set(h, d, from, to);
		else {
			/* past midnight: the rest of the day and the next */
			slot_set(h, d, from, 48);
			slot_set(h, (d + 1) % 7, 0, to);
		}
	}
	return 0;
}

int
hours_parse(const char *text, struct hours *h, char *why, size_t whysize)
{
	char w[WINDOW_MAX + 1];
	const char *p = text, *end, *reason;
	size_t len, n = 0, i;

	memset(h, 0, sizeof(*h));
	if (strlen(text) > HOURS_TEXT_MAX) {
		snprintf(why, whysize, "longer than %d bytes", HOURS_TEXT_MAX);
		return -1;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;	/* no restriction */
	for (;;) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		n++;
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len > WINDOW_MAX) {
			snprintf(why, whysize, "window %zu: %s", n, len == 0 ?
			    "empty" : "too long");
			return -1;
		}
		/* blanks inside become one space; other controls are refused */
		for (i = 0; i < len; i++) {
			if (p[i] == '\t')
				w[i] = ' ';
			else if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
				snprintf(why, whysize, "window %zu: a control "
				    "character", n);
				return -1;
			} else
				w[i] = p[i];
		}
		w[len] = '\0';
		if (window_parse(w, h, &reason) == -1) {
			snprintf(why, whysize, "window %zu '%s': %s", n, w,
			    reason);
			return -1;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	h->any = 1;
	return 0;
}

int
hours_allow(const struct hours *h, const struct tm *tm)
{
	unsigned i;

	if (!h->any)
		return 1;
	if (tm->tm_wday < 0 || tm->tm_wday > 6 || tm->tm_hour < 0 ||
	    tm->tm_hour > 23 || tm->tm_min < 0 || tm->tm_min > 59)
		return 0;
	i = (unsigned)tm->tm_wday * 48 + (unsigned)tm->tm_hour * 2 +
	    (unsigned)tm->tm_min / 30;
	return (h->slot[i / 8] >> (i % 8)) & 1;
}
