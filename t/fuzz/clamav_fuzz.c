/*
 * t/fuzz/clamav_fuzz.c - libFuzzer target for the clamav plugin's parsers
 * (plugins/clamav/clamd.c and notify.c, compiled in): the whole input as
 * clamd's answer to INSTREAM, and as a To:/From: field value (up to its
 * first NUL).  Checked on every input: the answer gets one of the four
 * statuses, a found name is 1..CV_NAME_MAX printable bytes without a
 * blank, the reason text is printable and bounded; the address, when
 * found, fits, has no blank at either end and no '<' or '>' unless the
 * field quoted them.  No yh_* call is made.
 */
#include "../../plugins/clamav/clamd.c"
#include "../../plugins/clamav/notify.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
printable_or_die(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_result r;
	char *v, out[CV_ADDR_MAX];
	size_t n;
	int got;

	switch (cv_reply_parse((const char *)data, size, &r)) {
	case CV_CLEAN:
		if (r.name[0] != '\0')
			abort();
		break;
	case CV_FOUND:
		n = strlen(r.name);
		if (n == 0 || n > CV_NAME_MAX || strchr(r.name, ' '))
			abort();
		printable_or_die(r.name);
		break;
	case CV_ERROR:
	case CV_FAIL:
		if (strlen(r.why) >= sizeof(r.why))
			abort();
		printable_or_die(r.why);
		break;
	default:
		abort();
	}
	if (r.status != CV_CLEAN && r.status != CV_FOUND &&
	    r.status != CV_ERROR && r.status != CV_FAIL)
		abort();

	if ((v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	got = cv_first_addr(v, out, sizeof(out));
	if (got < -1 || got > 1)
		abort();
	n = strlen(out);
	if (got != 1 && n != 0)
		abort();
	if (got == 1 && (n == 0 || n >= sizeof(out) || out[0] == ' ' ||
	    out[n - 1] == ' ' || out[0] == '\t' || out[n - 1] == '\t'))
		abort();
	(void)cv_target_parse(v);
	free(v);
	return 0;
}
