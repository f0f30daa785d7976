/*
 * t/fuzz/metrics_fuzz.c - libFuzzer target for what the metrics process and
 * "yubinctl status" take from outside: the first byte picks the HTTP
 * request parser (metrics_request, at the real ceiling and at the input's
 * own length) or a scoreboard as the server user could have scribbled it
 * (board_check, then metrics_render and board_text over every slot, as
 * yubinctl status reads it).  An answer outside the documented set, a full
 * request buffer left without an answer, or an exposition without "# EOF"
 * last aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "buf.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
request(const char *p, size_t len)
{
	int r;

	if (len > METRICS_REQ_MAX)
		len = METRICS_REQ_MAX;
	r = metrics_request(p, len, METRICS_REQ_MAX);
	if (r != 0 && r != 200 && r != 400 && r != 404 && r != 405 && r != 431)
		abort();
	if (len > 0 && metrics_request(p, len, len) == 0)
		abort();
}

static void
scoreboard(const uint8_t *p, size_t len)
{
	struct board_head *b;
	const struct board_slot *s;
	struct buf out;
	char why[128], text[BOARD_TRACE_MAX + 1];
	size_t alloc = len < sizeof(*b) ? sizeof(*b) : len;
	uint32_t i;

	b = calloc(1, alloc);	/* aligned, as the file read into memory */
	if (b == NULL)
		abort();
	memcpy(b, p, len);
	if (board_check(b, len, why, sizeof(why)) == 0) {
		buf_init(&out, 1024 * 1024);
		metrics_render(b, NULL, &out);
		if (out.len < 6 || strcmp(out.data + out.len - 6, "# EOF\n") != 0)
			abort();
		buf_free(&out);
		s = board_slots(b);
		for (i = 0; i < b->nslots; i++) {
			board_text(s[i].client, sizeof(s[i].client), text, sizeof(text));
			board_text(s[i].trace, sizeof(s[i].trace), text, sizeof(text));
			(void)board_phase_name(s[i].phase);
		}
	} else if (memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		scoreboard(data + 1, size - 1);
	else
		request((const char *)data + 1, size - 1);
	return 0;
}
