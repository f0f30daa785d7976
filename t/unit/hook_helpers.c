/*
 * t/unit/hook_helpers.c - the helpers the plugin ABI gives every plugin
 * (daemon/plugin.c): yh_escape bounded and unambiguous on control bytes,
 * backslashes, octets above 127 and a NUL; yh_addr_valid agreeing with the
 * core's RCPT TO: parser.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/tap.h"
#include "plugin.h"

static void
test_escape(void)
{
	char out[64], small[8];
	static const char ctl[] = "a\r\nb\x1b[0m\x7f\\c\xe3\x81\x82";

	is_str(yh_escape(out, sizeof(out), "plain text", 10), "plain text",
	    "1 printable ASCII is copied");
	is_str(yh_escape(out, sizeof(out), ctl, sizeof(ctl) - 1),
	    "a\\x0d\\x0ab\\x1b[0m\\x7f\\\\c\\xe3\\x81\\x82",
	    "2 CR LF ESC DEL as \\xNN, a backslash doubled, UTF-8 octets as \\xNN");
	is_str(yh_escape(out, sizeof(out), "a\0b", 3), "a\\x00b",
	    "3 a NUL inside LEN is escaped, not an end");
	is_str(yh_escape(small, sizeof(small), "abcdefghij", 10), "abcd...",
	    "4 too long: cut and marked, within SIZE");
	is_str(yh_escape(small, sizeof(small), "\n\n\n", 3), "\\x0a...",
	    "5 cut at a whole escape");
	is_str(yh_escape(small, sizeof(small), "abcdefg", 7), "abcdefg",
	    "6 exactly SIZE - 1 fits whole");
	memset(small, 'z', sizeof(small));
	yh_escape(small, 1, "abc", 3);
	ok(small[0] == '\0' && small[1] == 'z', "7 SIZE 1: just the NUL");
	is_str(yh_escape(out, sizeof(out), "", 0), "", "8 empty");
}

static void
test_addr(void)
{
	char long_local[80], long_path[300];

	ok(yh_addr_valid("user@example.org") == 1, "9 plain address");
	ok(yh_addr_valid("\"a b\"@example.org") == 1, "10 quoted local part");
	ok(yh_addr_valid("u@[192.0.2.1]") == 1, "11 address literal");
	ok(yh_addr_valid("\xe3\x81\x82@example.jp") == 1, "12 UTF-8 local part");
	ok(yh_addr_valid("postmaster") == 0, "13 no domain");
	ok(yh_addr_valid("") == 0 && yh_addr_valid(NULL) == 0, "14 empty, NULL");
	ok(yh_addr_valid("a@b\r\nRCPT TO:<x@y>") == 0, "15 control bytes");
	ok(yh_addr_valid("<a@example.org>") == 0, "16 angle brackets");
	ok(yh_addr_valid("a@@example.org") == 0 && yh_addr_valid("a@exa mple.org") == 0,
	    "17 bad syntax");
	memset(long_local, 'a', 65);
	strcpy(long_local + 65, "@example.org");
	ok(yh_addr_valid(long_local) == 0, "18 local part over 64 octets");
	memset(long_path, 'b', sizeof(long_path));
	memcpy(long_path, "a@", 2);
	long_path[sizeof(long_path) - 1] = '\0';
	ok(yh_addr_valid(long_path) == 0, "19 path over 256 octets");
}

int
main(void)
{
	plan_no_plan();
	test_escape();
	test_addr();
	return done_testing();
}
