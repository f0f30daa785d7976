/*
 * t/unit/golden.c - fixed output compared byte for byte with golden files
 * in t/golden/ (STYLE.md rule 20):
 *   received.txt  the Received: header smtp_received() adds at DATA;
 *   dsn.txt       a non-delivery report built by bounce_build();
 *   dsn_full.txt  one for RET=FULL, with ENVID and ORCPT (RFC 3461);
 *   dsn_success.txt  a success report (NOTIFY=SUCCESS, Action: delivered).
 * The inputs are fixed (queue id, host names, addresses, replies, arrival
 * time, TZ=UTC).  Both functions date their output with time_now(), which
 * takes no argument, so that one field is replaced after the fact, and
 * only it: in received.txt the date after the header's last ';' reads
 * <DATE>; in the dsn files the value of the "Date:" header reads <DATE> and the
 * unix time in the boundary and the Message-ID reads <NOW>.  Every other
 * byte is the real code's.
 *
 * On a mismatch the first differing line is printed as a small unified
 * diff.  After a deliberate change of the output, rewrite the files with
 *   YUBIN_GOLDEN_UPDATE=1 build/t/unit/golden.t
 * (run from the project root, as prove does: the files are found as
 * "t/golden/NAME"), read the diff, and commit them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "bounce.h"
#include "buf.h"
#include "config.h"
#include "dsn.h"
#include "queue.h"
#include "smtp_private.h"
#include "util.h"

#define GOLDEN_DIR	"t/golden/"

/* replace - in B, the bytes [OFF, OFF+LEN) by WITH. */
static void
replace(struct buf *b, size_t off, size_t len, const char *with)
{
	struct buf n;

	buf_init(&n, 0);
	buf_append(&n, b->data, off);
	buf_puts(&n, with);
	buf_append(&n, b->data + off + len, b->len - off - len);
	buf_free(b);
	*b = n;
}

/* replace_all - every NEEDLE in B by WITH. */
static void
replace_all(struct buf *b, const char *needle, const char *with)
{
	size_t k = strlen(needle), off = 0;
	char *p;

	buf_putc(b, '\0');
	b->len--;
	while ((p = strstr(b->data + off, needle)) != NULL) {
		off = (size_t)(p - b->data);
		replace(b, off, k, with);
		off += strlen(with);
		buf_putc(b, '\0');
		b->len--;
	}
}

/* first_diff - diag a unified-style diff of the first line where GOT and
 * WANT (the golden file NAME) differ. */
static void
first_diff(const char *name, const char *got, size_t glen, const char *want,
    size_t wlen)
{
	size_t i, start = 0, line = 1, ge, we;

	for (i = 0; i < glen && i < wlen && got[i] == want[i]; i++)
		if (got[i] == '\n') {
			start = i + 1;
			line++;
		}
	for (ge = start; ge < glen && got[ge] != '\n'; ge++)
		;
	for (we = start; we < wlen && want[we] != '\n'; we++)
		;
	diag("--- %s%s", GOLDEN_DIR, name);
	diag("+++ the output now");
	diag("@@ -%zu +%zu @@", line, line);
	if (start < wlen)
		diag("-%.*s", (int)(we - start), want + start);
	else
		diag("-(end of file)");
	if (start < glen)
		diag("+%.*s", (int)(ge - start), got + start);
	else
		diag("+(end of output)");
}

/* golden - compare OUT with t/golden/NAME, or rewrite the file when
 * YUBIN_GOLDEN_UPDATE=1. */
static void
golden(const char *name, const struct buf *out)
{
	char path[256], *want = NULL;
	const char *up = getenv("YUBIN_GOLDEN_UPDATE");
	size_t wlen = 0;

	snprintf(path, sizeof(path), "%s%s", GOLDEN_DIR, name);
	if (up != NULL && strcmp(up, "1") == 0) {
		ok(file_write_atomic(path, out->data, out->len, 0644) == 0,
		    "%s rewritten", path);
		return;
	}
	if (file_read(path, (size_t)1 << 20, &want, &wlen) == -1) {
		ok(0, "%s matches", path);
		diag("cannot read %s: %s (run from the project root)", path,
		    strerror(errno));
		return;
	}
	if (!ok(wlen == out->len && memcmp(want, out->data, wlen) == 0,
	    "%s matches", path))
		first_diff(name, out->data, out->len, want, wlen);
	free(want);
}

/* ------------------------------------------------------------------ */

static void
test_received(void)
{
	struct session_env env;
	struct smtp_session s;
	struct buf out;
	size_t i, semi = 0, end;

	memset(&env, 0, sizeof(env));
	memset(&s, 0, sizeof(s));
	env.hostname = "mx.example.org";
	env.kind = LK_SMTP;
	s.env = &env;
	s.helo_seen = 1;
	s.esmtp = 1;
	snprintf(s.helo, sizeof(s.helo), "client.example.net");
	snprintf(s.conn.peer_ip, sizeof(s.conn.peer_ip), "192.0.2.10");
	snprintf(s.qid, sizeof(s.qid), "4Z1G2H3J4K5L6M7N");
	s.txn_active = 1;
	envelope_add_rcpt(&s.txn, "bob@example.org", "bob");
	s.tpl_loaded = 1;		/* no header.dat: the built-in header */
	s.tpl = NULL;

	buf_init(&out, 0);
	if (!ok(smtp_received(&s, &out) == 0, "smtp_received builds"))
		return;
	/* the date: after the last ';' and its white space, to the end */
	for (i = 0; i < out.len; i++)
		if (out.data[i] == ';')
			semi = i;
	for (i = semi + 1; i < out.len && strchr(" \t\n", out.data[i]); i++)
		;
	end = out.len > 0 && out.data[out.len - 1] == '\n' ? out.len - 1 : out.len;
	ok(semi > 0 && i < end, "the Received header ends in a date");
	if (semi > 0 && i < end)
		replace(&out, i, end - i, "<DATE>");
	golden("received.txt", &out);
	buf_free(&out);
	envelope_clear(&s.txn);
}

static struct config *
dsn_config(void)
{
	char *defs[] = {
		"server.domain=example.org",
		"smtp.hostname=mx.example.org",
		"server.home=/nonexistent-yubin-test",
	};
	struct config *cfg = NULL;
	struct errlist errs;
	size_t i;

	errlist_init(&errs);
	if (config_load(&cfg, NULL, defs, 3, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			diag("config: %s", errs.msg[i]);
		cfg = NULL;
	}
	errlist_free(&errs);
	return cfg;
}

/* report - the report of KIND on ENV's recipients IDX[0..N), compared
 * with t/golden/NAME after its dates are masked. */
static void
report(const struct config *cfg, const struct envelope *env,
    const char *qpath, const size_t *idx, size_t n, enum bounce_kind kind,
    const char *name)
{
	char now[32], *p;
	long long t0 = 0, t1 = -1;
	struct buf out;
	int tries;

	/* time_now() the same before and after: that is the one it used */
	buf_init(&out, 0);
	for (tries = 0; tries < 5 && t0 != t1; tries++) {
		buf_reset(&out);
		t0 = time_now();
		bounce_build(cfg, env, qpath, idx, n, kind, &out, NULL);
		t1 = time_now();
	}
	ok(t0 == t1, "%s: built within one second", name);
	snprintf(now, sizeof(now), "%lld", t0);
	replace_all(&out, now, "<NOW>");
	buf_putc(&out, '\0');
	out.len--;
	p = strstr(out.data, "\nDate: ");
	if (ok(p != NULL, "%s: the report has a Date header", name)) {
		p += 7;
		replace(&out, (size_t)(p - out.data), strcspn(p, "\n"), "<DATE>");
	}
	golden(name, &out);
	buf_free(&out);
}

static void
test_dsn(void)
{
	static const char msg[] =
	    "From: Alice <alice@example.org>\n"
	    "To: bob@example.net, carol@example.com, dave@example.org\n"
	    "Subject: quarterly figures\n"
	    "Date: Tue, 14 Nov 2023 22:10:00 +0000\n"
	    "Message-ID: <figures-1@example.org>\n"
	    "\n"
	    "The body, which a report never carries.\n";
	char dir[] = "/tmp/yubin-golden-XXXXXX", qpath[64];
	struct config *cfg = dsn_config();
	struct envelope env;
	size_t idx[] = { 0, 1, 2 }, e;

	if (!ok(cfg != NULL, "configuration loads") ||
	    !ok(mkdtemp(dir) != NULL, "temporary folder"))
		return;
	snprintf(qpath, sizeof(qpath), "%s/msg", dir);
	if (!ok(file_write_atomic(qpath, msg, sizeof(msg) - 1, 0600) == 0,
	    "original message written"))
		return;
	memset(&env, 0, sizeof(env));
	snprintf(env.id, sizeof(env.id), "4Z1G2H3J4K5L6M7N");
	env.sender = xstrdup("alice@example.org");
	env.arrival = 1700000000;	/* Tue, 14 Nov 2023 22:13:20 +0000 */
	envelope_add_rcpt(&env, "bob@example.net", NULL);
	envelope_add_rcpt(&env, "carol@example.com", NULL);
	envelope_add_rcpt(&env, "dave@example.org", "dave");
	env.rcpt[0].last_error = xstrdup("mx.example.net[192.0.2.25]:25\t"
	    "550 5.1.1 <bob@example.net>: Recipient address rejected");
	env.rcpt[1].last_error = xstrdup("mx.example.com[192.0.2.26]:25\t\t"
	    "421 4.4.2 connection timed out");
	env.rcpt[2].last_error = xstrdup("552 5.2.2 mailbox full");
	for (e = 0; e < env.nrcpt; e++)
		env.rcpt[e].state = RCPT_FAILED;

	report(cfg, &env, qpath, idx, 3, BOUNCE_FAILED, "dsn.txt");

	/* DSN (RFC 3461): ENVID and ORCPT come back; RET=FULL puts the
	 * whole message in a failure report */
	env.dsn_envid = xstrdup("QQ314159");
	env.dsn_ret = DSN_RET_FULL;
	env.rcpt[0].orcpt = xstrdup("rfc822;robert@example.net");
	env.rcpt[0].notify = DSN_NOTIFY_FAILURE;
	report(cfg, &env, qpath, idx, 1, BOUNCE_FAILED, "dsn_full.txt");
	/* a success report: delivered into dave's mailbox */
	env.rcpt[2].state = RCPT_DONE;
	env.rcpt[2].notify = DSN_NOTIFY_SUCCESS;
	env.rcpt[2].orcpt = xstrdup("rfc822;david@example.org");
	free(env.rcpt[2].last_error);
	env.rcpt[2].last_error = NULL;
	report(cfg, &env, qpath, idx + 2, 1, BOUNCE_DELIVERED,
	    "dsn_success.txt");

	envelope_clear(&env);
	unlink(qpath);
	rmdir(dir);
	config_free(&cfg);
}

int
main(void)
{
	plan_no_plan();
	setenv("TZ", "UTC", 1);
	tzset();
	test_received();
	test_dsn();
	return done_testing();
}
