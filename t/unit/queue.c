/*
 * queue.c - envelope record encoding: round trip, hostile strings, corrupt
 * records refused.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "buf.h"
#include "dsn.h"
#include "queue.h"

int
main(void)
{
	static const char *const corrupt[] = {
		"",
		"E2 1 2 3 4 0 0 % - - -\n",
		"E1 1 2 3 4 0 0\n",
		"E1 1 2 3 4 0 0 %zz - - -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nX 0 0 0 a b c\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0 - - -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 3 0 0 a - - x\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 3 0 0 a - - 2 3\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 3 0 0 a - - -1\n",
		/* DSN lines: misplaced, twice, out of range, unprintable */
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nN 1 -\nR 0 0 0 a - -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0 a - -\nD 1 -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nD 1 -\nD 1 -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nD 3 -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nD -1 -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nD 1 a%0Ab\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nD 1 x y\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0 a - -\nN 16 -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0 a - -\nN 1 -\nN 1 -\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0 a - -\nN 1 x%0D\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0 a - -\nN x -\n",
		/* hold lines: misplaced, twice, out of range, unprintable,
		 * too long, a field short or too many */
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nD 1 -\nH 1 5 0 admin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nR 0 0 0 a - -\nH 1 5 0 admin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 1 5 0 admin\nH 1 5 0 admin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 2 5 0 admin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 1 -5 0 admin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 1 5 -1 admin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 1 5 0 ad%0Amin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 1 5 0 "
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 1 5 admin\n",
		"E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\nH 1 5 0 admin x\n",
	};
	struct envelope e, d;
	struct buf b;
	size_t i;

	plan_no_plan();
	memset(&e, 0, sizeof(e));
	e.sender = strdup("sender with space%and percent@example.org");
	strcpy(e.client_ip, "192.0.2.1");
	strcpy(e.helo, "evil\r\nInjected: yes");
	e.arrival = 1700000000;
	e.size = 1234;
	e.size_crlf = 1300;
	e.release_at = 0;
	e.body_8bit = 1;
	envelope_add_rcpt(&e, "alice@localhost", "alice");
	envelope_add_rcpt(&e, "-", NULL);
	envelope_add_rcpt(&e, "remote@example.net", NULL);
	e.rcpt[2].state = RCPT_FAILED;
	e.rcpt[2].attempts = 3;
	e.rcpt[2].next_try = 99;
	e.rcpt[2].last_error = strdup("550 5.1.1 no such user");

	buf_init(&b, 0);
	envelope_encode(&e, &b);
	ok(memchr(b.data, '\r', b.len) == NULL, "no raw CR in the record");
	is_int(envelope_decode(&d, b.data, b.len), 0, "decodes");
	is_str(d.sender, e.sender, "sender round trip");
	is_str(d.helo, e.helo, "helo with CRLF round trip");
	is_str(d.client_ip, "192.0.2.1", "client ip");
	is_str(d.auth_user, "", "empty auth user");
	is_int(d.arrival, 1700000000, "arrival");
	is_int(d.size, 1234, "size");
	is_int(d.size_crlf, 1300, "crlf size");
	is_int(d.body_8bit, 1, "8bit flag");
	is_int(d.nrcpt, 3, "three recipients");
	is_str(d.rcpt[0].account, "alice", "local account");
	is_str(d.rcpt[1].addr, "-", "a recipient spelt '-' survives");
	ok(d.rcpt[1].account == NULL, "remote recipient has no account");
	is_int(d.rcpt[2].state, RCPT_FAILED, "state");
	is_int(d.rcpt[2].attempts, 3, "attempts");
	is_int(d.rcpt[2].next_try, 99, "next try");
	is_str(d.rcpt[2].last_error, "550 5.1.1 no such user", "last error");
	is_int(d.rcpt[0].crashes, 0, "no crash count when none was written");
	envelope_clear(&d);

	/* a held recipient and its crash count (an optional last field) */
	e.rcpt[0].state = RCPT_HELD;
	e.rcpt[0].crashes = 3;
	e.rcpt[0].last_error = strdup("451 4.3.0 killed; held after 3 crashes");
	envelope_encode(&e, &b);
	is_int(envelope_decode(&d, b.data, b.len), 0, "held recipient decodes");
	is_int(d.rcpt[0].state, RCPT_HELD, "held state round trip");
	is_int(d.rcpt[0].crashes, 3, "crash count round trip");
	is_str(d.rcpt[0].last_error, e.rcpt[0].last_error, "held reason round trip");
	is_int(d.rcpt[1].crashes, 0, "other recipients: none");
	envelope_clear(&d);
	{
		static const char old[] = "E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\n"
		    "R 0 1 5 x@y - 451%204.3.0%20later\n";

		is_int(envelope_decode(&d, old, strlen(old)), 0,
		    "a record written before crash counts decodes");
		is_int(d.rcpt[0].crashes, 0, "with no crashes");
		envelope_clear(&d);
	}
	e.rcpt[0].state = RCPT_PENDING;
	e.rcpt[0].crashes = 0;

	free(e.sender);
	e.sender = strdup("");
	envelope_encode(&e, &b);
	is_int(envelope_decode(&d, b.data, b.len), 0, "null sender decodes");
	is_str(d.sender, "", "null sender round trip");
	envelope_clear(&d);

	/* DSN parameters (RFC 3461): only written when given */
	envelope_encode(&e, &b);
	ok(memmem(b.data, b.len, "\nD ", 3) == NULL &&
	    memmem(b.data, b.len, "\nN ", 3) == NULL,
	    "no DSN lines without DSN parameters (the old record)");
	e.dsn_ret = DSN_RET_FULL;
	e.dsn_envid = strdup("QQ 314159 x+y");
	e.rcpt[0].notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE;
	e.rcpt[0].orcpt = strdup("rfc822;Alias@Example.org");
	e.rcpt[2].notify = DSN_NOTIFY_NEVER;
	envelope_encode(&e, &b);
	is_int(envelope_decode(&d, b.data, b.len), 0, "a record with DSN decodes");
	is_int(d.dsn_ret, DSN_RET_FULL, "RET round trip");
	is_str(d.dsn_envid, "QQ 314159 x+y", "ENVID round trip");
	is_int(d.rcpt[0].notify, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE,
	    "NOTIFY round trip");
	is_str(d.rcpt[0].orcpt, "rfc822;Alias@Example.org", "ORCPT round trip");
	is_int(d.rcpt[1].notify, 0, "no NOTIFY: 0");
	ok(d.rcpt[1].orcpt == NULL, "no ORCPT: NULL");
	is_int(d.rcpt[2].notify, DSN_NOTIFY_NEVER, "NOTIFY=NEVER round trip");
	ok(d.rcpt[2].orcpt == NULL, "NEVER without ORCPT");
	is_str(d.rcpt[2].last_error, "550 5.1.1 no such user",
	    "the R line after an N line reads as before");
	envelope_clear(&d);
	{
		/* written by the version before DSN: the defaults */
		static const char old[] = "E1 1700000000 1234 1300 0 1 0 "
		    "a@example.org 192.0.2.1 mx.example.org %\n"
		    "R 0 0 0 alice@localhost alice -\n"
		    "R 2 3 99 remote@example.net - 550%205.1.1%20no%20such%20user 1\n";

		is_int(envelope_decode(&d, old, strlen(old)), 0,
		    "a record written before DSN decodes");
		ok(d.dsn_ret == DSN_RET_NONE && d.dsn_envid == NULL,
		    "no RET, no ENVID");
		ok(d.nrcpt == 2 && d.rcpt[0].notify == 0 &&
		    d.rcpt[0].orcpt == NULL && d.rcpt[1].notify == 0 &&
		    d.rcpt[1].orcpt == NULL && d.rcpt[1].crashes == 1,
		    "no NOTIFY, no ORCPT, the rest as written");
		envelope_clear(&d);
	}
	{
		/* a message-level DSN line with a recipient-level one */
		static const char rec[] = "E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\n"
		    "D 2 id%2042\nR 0 0 0 a - -\nN 8 -\nR 0 0 0 b - -\n"
		    "N 0 utf-8;b\\x{E4}@c\n";

		is_int(envelope_decode(&d, rec, strlen(rec)), 0,
		    "D and N lines decode");
		ok(d.dsn_ret == DSN_RET_HDRS && d.dsn_envid &&
		    strcmp(d.dsn_envid, "id 42") == 0, "RET=HDRS ENVID=\"id 42\"");
		ok(d.rcpt[0].notify == DSN_NOTIFY_NEVER && d.rcpt[1].notify == 0 &&
		    d.rcpt[1].orcpt && strcmp(d.rcpt[1].orcpt,
		    "utf-8;b\\x{E4}@c") == 0, "each N line with its recipient");
		envelope_clear(&d);
	}

	/* the administrative hold: a line only while held or once held */
	envelope_encode(&e, &b);
	ok(memmem(b.data, b.len, "\nH ", 3) == NULL,
	    "no hold line for a message never held (the old record)");
	is_int(envelope_decode(&d, b.data, b.len), 0, "never held decodes");
	ok(!d.hold && d.hold_since == 0 && d.held == 0 && d.hold_reason[0] == '\0',
	    "never held: no hold");
	envelope_clear(&d);
	e.hold = 1;
	e.hold_since = 1700000100;
	strcpy(e.hold_reason, "admin hold");
	envelope_encode(&e, &b);
	is_int(envelope_decode(&d, b.data, b.len), 0, "a held record decodes");
	ok(d.hold == 1 && d.hold_since == 1700000100 && d.held == 0,
	    "hold and its start round trip");
	is_str(d.hold_reason, "admin hold", "hold reason with a space round trip");
	is_int(d.dsn_ret, DSN_RET_FULL, "the DSN line after the hold line");
	is_int(d.nrcpt, 3, "recipients after the hold line");
	is_int(envelope_age(&d, 1700000100 + 500), 100,
	    "a held message does not age");
	envelope_clear(&d);
	{
		struct envelope h;

		memset(&h, 0, sizeof(h));
		h.hold = 0;
		is_int(envelope_hold_copy(&h, b.data, b.len), 0,
		    "hold copied from a record");
		ok(h.hold == 1 && h.hold_since == 1700000100 && h.nrcpt == 0 &&
		    strcmp(h.hold_reason, "admin hold") == 0,
		    "only the hold fields copied");
	}
	e.hold = 0;
	e.hold_since = 0;
	e.hold_reason[0] = '\0';
	e.held = 300;
	envelope_encode(&e, &b);
	is_int(envelope_decode(&d, b.data, b.len), 0, "a released record decodes");
	ok(d.hold == 0 && d.held == 300, "time held kept after the release");
	is_int(envelope_age(&d, 1700001000), 700, "time held does not count");
	envelope_clear(&d);
	{
		struct envelope h;
		static const char plain[] = "E1 1 2 3 4 0 0 a@b 1.2.3.4 helo %\n"
		    "R 0 0 0 a - -\n";

		memset(&h, 0, sizeof(h));
		h.hold = 1;
		h.held = 9;
		strcpy(h.hold_reason, "x");
		is_int(envelope_hold_copy(&h, plain, strlen(plain)), 0,
		    "hold copied from a record without one");
		ok(h.hold == 0 && h.held == 0 && h.hold_reason[0] == '\0',
		    "not held");
		is_int(envelope_hold_copy(&h, corrupt[0], 0), -1,
		    "hold copy of an empty record refused");
	}
	e.held = 0;
	{
		/* the queue manager read a, b, c; then yubinctl queue flush
		 * made b due now and gave held c more tries; the manager now
		 * writes a's outcome: b and c keep what the flush did */
		static const char was[] = "E1 1 2 3 4 0 0 s@x 1.2.3.4 helo %\n"
		    "R 0 0 0 a@x - -\nR 0 2 5000 b@x - -\nR 3 3 0 c@x - - 3\n";
		static const char now[] = "E1 1 2 3 4 0 0 s@x 1.2.3.4 helo %\n"
		    "R 0 0 0 a@x - -\nR 0 2 0 b@x - -\nR 0 3 0 c@x - - 0\n";
		static const char other[] = "E1 1 2 3 4 0 0 s@x 1.2.3.4 helo %\n"
		    "R 0 0 0 a@x - -\n";
		unsigned char mine[3] = { 1, 0, 0 };
		struct envelope m;

		is_int(envelope_decode(&m, was, strlen(was)), 0, "read first");
		m.rcpt[0].attempts = 1;
		m.rcpt[0].next_try = 9000;	/* our outcome: deferred */
		is_int(envelope_admin_copy(&m, now, strlen(now), mine), 0,
		    "admin copy of a flushed record");
		ok(m.rcpt[0].next_try == 9000 && m.rcpt[0].attempts == 1,
		    "our recipient's outcome kept");
		ok(m.rcpt[1].next_try == 0 && m.rcpt[1].state == RCPT_PENDING,
		    "the flush made the other one due now");
		ok(m.rcpt[2].state == RCPT_PENDING && m.rcpt[2].crashes == 0,
		    "and released the one held after crashes");
		m.rcpt[1].state = RCPT_DONE;
		m.rcpt[1].next_try = 77;
		is_int(envelope_admin_copy(&m, was, strlen(was), mine), 0,
		    "again, over a record that is older");
		ok(m.rcpt[1].state == RCPT_DONE && m.rcpt[1].next_try == 77,
		    "a recipient done stays done");
		is_int(envelope_admin_copy(&m, other, strlen(other), mine), -1,
		    "a record of another shape refused");
		ok(m.nrcpt == 3 && m.rcpt[2].state == RCPT_HELD &&
		    m.rcpt[2].crashes == 3, "and nothing taken from it");
		envelope_clear(&m);
	}

	for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++)
		is_int(envelope_decode(&d, corrupt[i], strlen(corrupt[i])), -1,
		    "corrupt record %zu refused", i);

	envelope_clear(&e);
	buf_free(&b);
	return done_testing();
}
