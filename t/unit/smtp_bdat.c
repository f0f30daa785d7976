/*
 * t/unit/smtp_bdat.c - BDAT's argument parser (RFC 3030 §2: "BDAT"
 * SP chunk-size [SP end-marker], chunk-size 1*DIGIT, end-marker "LAST"),
 * numbered cases, bad input included; and conn_read, which hands a
 * chunk's octets over from the connection's buffer: never more than asked,
 * what is buffered first, then the end of input.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "conn.h"
#include "smtp_private.h"

static void
test_parse(void)
{
	static const struct {
		const char *arg;
		int	 ok;
		long long size;
		int	 last;
	} cases[] = {
		/* 1 */ { "0", 1, 0, 0 },
		/* 2 */ { "0 LAST", 1, 0, 1 },
		/* 3 */ { "86 LAST", 1, 86, 1 },
		/* 4 */ { "65536", 1, 65536, 0 },
		/* 5 */ { "12 last", 1, 12, 1 },	/* keywords are caseless */
		/* 6 */ { "12 LaSt", 1, 12, 1 },
		/* 7 */ { "12   LAST", 1, 12, 1 },	/* blanks between: liberal */
		/* 8 */ { "007", 1, 7, 0 },		/* 1*DIGIT: leading zeros */
		/* 9 */ { "9007199254740992", 1, 9007199254740992LL, 0 }, /* 2^53 */
		/* 10 */ { "9007199254740993", 0, 0, 0 },	/* 2^53 + 1 */
		/* 11 */ { "99999999999999999999", 0, 0, 0 },	/* past long long */
		/* 12 */ { "18446744073709551616", 0, 0, 0 },	/* 2^64 */
		/* 13 */ { "", 0, 0, 0 },
		/* 14 */ { "-1", 0, 0, 0 },
		/* 15 */ { "+1", 0, 0, 0 },
		/* 16 */ { "x", 0, 0, 0 },
		/* 17 */ { "1x", 0, 0, 0 },
		/* 18 */ { "0x10", 0, 0, 0 },
		/* 19 */ { "1.5", 0, 0, 0 },
		/* 20 */ { "LAST", 0, 0, 0 },
		/* 21 */ { "10 LASTX", 0, 0, 0 },
		/* 22 */ { "10 LAS", 0, 0, 0 },
		/* 23 */ { "10 LAST x", 0, 0, 0 },
		/* 24 */ { "10 FIRST", 0, 0, 0 },
		/* 25 */ { "10\tLAST", 0, 0, 0 },	/* SP only */
		/* 26 */ { "10 20", 0, 0, 0 },
		/* 27 */ { " 10", 0, 0, 0 },	/* smtp_dispatch strips these */
		/* 28 */ { "1 0", 0, 0, 0 },
		/* 29 */ { "10 LAST LAST", 0, 0, 0 },
		/* 30 */ { "\xef\xbc\x91", 0, 0, 0 },	/* a full-width digit */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long size = -1;
		int last = -1, r;

		r = smtp_bdat_parse(cases[i].arg, &size, &last);
		if (cases[i].ok) {
			ok(r == 0 && size == cases[i].size && last == cases[i].last,
			    "case %zu: \"%s\" is size %lld%s", i + 1, cases[i].arg,
			    cases[i].size, cases[i].last ? " LAST" : "");
			if (r != 0 || size != cases[i].size || last != cases[i].last)
				diag("r=%d size=%lld last=%d", r, size, last);
		} else
			ok(r == -1, "case %zu: \"%s\" refused", i + 1, cases[i].arg);
	}
	/* every size up to the ceiling is read back exactly */
	{
		static const long long sizes[] = { 1, 9, 10, 999, 1000000,
		    SMTP_BDAT_MAX - 1, SMTP_BDAT_MAX };
		char arg[64];
		long long size;
		int last, good = 1;

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			snprintf(arg, sizeof(arg), "%lld LAST", sizes[i]);
			if (smtp_bdat_parse(arg, &size, &last) != 0 ||
			    size != sizes[i] || last != 1)
				good = 0;
		}
		ok(good, "sizes up to SMTP_BDAT_MAX read back exactly");
	}
}

static void
test_conn_read(void)
{
	struct conn c;
	char *p, *line;
	size_t n, len;
	int sv[2], term;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		ok(0, "socketpair");
		return;
	}
	conn_init(&c, sv[0]);
	c.timeout_ms = 5000;
	/* a command line, then its chunk, then the next command */
	(void)!write(sv[1], "BDAT 5\r\nab\r\ncdNOOP\r\n", 20);
	ok(conn_getline(&c, 100, &line, &len, &term) == CONN_LINE &&
	    len == 6 && memcmp(line, "BDAT 5", 6) == 0, "the command line");
	ok(conn_read(&c, 3, &p, &n) == CONN_LINE && n == 3 &&
	    memcmp(p, "ab\r", 3) == 0, "conn_read: no more than asked");
	ok(conn_read(&c, 2, &p, &n) == CONN_LINE && n == 2 &&
	    memcmp(p, "\nc", 2) == 0, "conn_read: the rest of the chunk");
	ok(conn_read(&c, 1, &p, &n) == CONN_LINE && n == 1 && p[0] == 'd',
	    "conn_read: one octet");
	ok(conn_getline(&c, 100, &line, &len, &term) == CONN_LINE &&
	    len == 4 && memcmp(line, "NOOP", 4) == 0 && term == 2,
	    "the next command starts right after the chunk");
	/* more than buffered: what is there, then a read */
	(void)!write(sv[1], "xyz", 3);
	ok(conn_read(&c, 1000, &p, &n) == CONN_LINE && n == 3 &&
	    memcmp(p, "xyz", 3) == 0, "conn_read: what arrived, not the "
	    "whole request");
	close(sv[1]);
	ok(conn_read(&c, 10, &p, &n) == CONN_EOF, "conn_read: end of input");
	conn_close(&c);
}

int
main(void)
{
	plan_no_plan();
	test_parse();
	test_conn_read();
	return done_testing();
}
