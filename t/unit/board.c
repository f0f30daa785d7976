/*
 * t/unit/board.c - the scoreboard's readers' checks (board_check on good,
 * short, forged and out-of-range boards; board_text on unterminated and
 * control bytes), the rejection classes, the counters and states of a
 * process's own slot, and hostport_parse (server.metrics_listen).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "board.h"
#include "util.h"

static void *
board_new(size_t nslots)
{
	struct board_head *b = calloc(1, board_size(nslots));

	b->magic = BOARD_MAGIC;
	b->version = BOARD_VERSION;
	b->head_size = (uint32_t)board_size(0);
	b->slot_size = sizeof(struct board_slot);
	b->nslots = (uint32_t)nslots;
	b->pools[0].first = 0;
	b->pools[0].nslots = (int32_t)nslots;
	return b;
}

static void
test_check(void)
{
	struct board_head *b = board_new(3);
	size_t len = board_size(3);
	char why[128];

	is_int(board_check(b, len, why, sizeof(why)), 0, "a good board passes");
	ok(board_check(b, len - 1, why, sizeof(why)) == -1 &&
	    strstr(why, "sizes") != NULL, "one byte short: refused (%s)", why);
	ok(board_check(b, 8, why, sizeof(why)) == -1, "a header cut short: refused");
	b->nslots = 4;
	ok(board_check(b, len, why, sizeof(why)) == -1, "more slots than the file holds");
	b->nslots = BOARD_SLOTS_MAX + 1;
	ok(board_check(b, len, why, sizeof(why)) == -1, "a slot count past the ceiling");
	b->nslots = 3;
	b->pools[1].first = 2;
	b->pools[1].nslots = 2;
	ok(board_check(b, len, why, sizeof(why)) == -1 && strstr(why, "pool") != NULL,
	    "a pool past the last slot: refused (%s)", why);
	b->pools[1].first = -1;
	b->pools[1].nslots = 1;
	ok(board_check(b, len, why, sizeof(why)) == -1, "a negative first slot");
	b->pools[1].first = 0;
	b->pools[1].nslots = 0;
	b->slot_size = 8;
	ok(board_check(b, len, why, sizeof(why)) == -1, "another slot size");
	b->slot_size = sizeof(struct board_slot);
	b->head_size += 4;
	ok(board_check(b, len + 4, why, sizeof(why)) == -1, "slots not aligned");
	b->head_size -= 4;
	b->magic = 0;
	ok(board_check(b, len, why, sizeof(why)) == -1 &&
	    strstr(why, "status board") != NULL, "no magic: not a board");
	b->magic = BOARD_MAGIC;
	b->version = BOARD_VERSION + 1;
	ok(board_check(b, len, why, sizeof(why)) == -1, "another version");
	free(b);
}

static void
test_text(void)
{
	char field[4] = { 'a', '\n', 'b', 'c' }, out[16];

	is_str(board_text(field, sizeof(field), out, sizeof(out)), "a?bc",
	    "no NUL in the field: cut at its size, control byte shown as ?");
	is_str(board_text("\x80x", 2, out, sizeof(out)), "?x", "non-ASCII as ?");
	is_str(board_text("abcdef", 6, out, 4), "abc", "cut at the output size");
}

static void
test_classes(void)
{
	is_int(board_reject_class("5.1.1"), BC_REJ_ADDRESS, "5.1.1: address");
	is_int(board_reject_class("4.7.1"), BC_REJ_POLICY, "4.7.1: policy");
	is_int(board_reject_class("5.5.2"), BC_REJ_PROTOCOL, "5.5.2: protocol");
	is_int(board_reject_class("5.3.4"), BC_REJ_SYSTEM, "5.3.4: system");
	is_int(board_reject_class("5.8.1"), BC_REJ_OTHER, "5.8.1: other");
	is_int(board_reject_class("2.0.0"), BC_REJ_OTHER, "2.0.0: other");
	is_int(board_reject_class("5."), BC_REJ_OTHER, "cut short: other");
	is_int(board_reject_class(NULL), BC_REJ_OTHER, "none: other");
	is_str(board_reject_name(BC_REJ_CONTENT), "content", "the name of a class");
	is_str(board_conn_name(BC_CONN_POP3S), "pop3s", "the name of a listener");
	is_str(board_phase_name(BP_DATA), "data", "the name of a state");
	is_str(board_phase_name(99), "?", "an unknown state");
	is_str(board_phase_name(-1), "?", "a negative state");
}

static void
test_writers(void)
{
	struct board_head *b = board_new(2);
	struct board_slot *s = board_slots(b);

	board_count(BC_RECEIVED);	/* no map: nothing happens */
	board_phase(BP_DATA);		/* no slot: nothing happens */
	board_map = b;
	board_count(BC_RECEIVED);
	board_count(BC_RECEIVED);
	board_count((enum board_ctr)BC_COUNT);	/* out of range: ignored */
	is_int((long long)b->ctr[BC_RECEIVED], 2, "board_count adds");
	board_gauge(BG_DELIVERING, 5);
	is_int((long long)b->gauge[BG_DELIVERING], 5, "board_gauge sets");
	board_set_self(&s[1]);
	board_phase(BP_DATA);
	board_client("192.0.2.1");
	is_int(s[1].phase, BP_DATA, "board_phase sets the own slot's state");
	ok(s[1].phase_ms > 0, "and when it began");
	is_str(s[1].client, "192.0.2.1", "board_client sets the client");
	is_int(s[0].phase, BP_NONE, "another slot untouched");
	board_client(NULL);
	is_str(s[1].client, "", "board_client(NULL) clears it");
	board_set_self(NULL);
	board_map = NULL;
	free(b);
}

static void
test_hostport(void)
{
	static const char *const bad[] = {
		"", "127.0.0.1", "localhost:9100", "127.0.0.1:", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:9x", "::1:9100", "[::1]", "[::1]9100",
		"[127.0.0.1]:80", "1.2.3:80", ":80", "127.0.0.1:000001",
	};
	char host[64], why[128];
	size_t i;
	int port = -1;

	is_int(hostport_parse("127.0.0.1:9100", host, sizeof(host), &port, why,
	    sizeof(why)), 0, "IPv4:PORT");
	is_str(host, "127.0.0.1", "its address");
	is_int(port, 9100, "its port");
	is_int(hostport_parse("[::1]:0", host, sizeof(host), &port, why,
	    sizeof(why)), 0, "[IPv6]:PORT");
	is_str(host, "::1", "the address without brackets");
	is_int(port, 0, "port 0");
	is_int(hostport_parse("0.0.0.0:65535", host, sizeof(host), &port, why,
	    sizeof(why)), 0, "port 65535");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(hostport_parse(bad[i], host, sizeof(host), &port, why,
		    sizeof(why)) == -1 && strstr(why, "ADDRESS:PORT") != NULL,
		    "refused: \"%s\"", bad[i]);
	ok(hostport_parse("127.0.0.1:80", host, 5, &port, why, sizeof(why)) == -1,
	    "an address longer than the buffer");
}

int
main(void)
{
	plan_no_plan();
	test_check();
	test_text();
	test_classes();
	test_writers();
	test_hostport();
	return done_testing();
}
