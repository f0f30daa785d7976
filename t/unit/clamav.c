/*
 * t/unit/clamav.c - the clamav plugin without a server
 * (plugins/clamav/clamd.c and notify.c): the `socket` forms, every kind of
 * clamd answer (clean, found, error, and nonsense: no prefix, a blank in
 * the name, control bytes, too long), the `notify` words, the first
 * address of To:/From: fields, the expansion of &TO &FROM &RCV &SND
 * (order, duplicates, <>, invalid addresses), the notice's To:/Cc:, and
 * the INSTREAM conversation against a fake clamd in a child process (the
 * chunk framing, max_size, an answer before the end, silence past the
 * deadline, a close with nothing said, a refused connection).  Numbered,
 * table-driven cases; a failure names its case.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../plugins/clamav/clamav.h"
#include "../lib/tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- socket ---------------------------------------------------------------- */

static const struct {
	const char	*text;
	int		 family;	/* 0: refused */
	int		 port;
} socks[] = {
	{ "/var/run/clamav/clamd.ctl", AF_UNIX, 0 },
	{ "/tmp/x.sock", AF_UNIX, 0 },
	{ "127.0.0.1:3310", AF_INET, 3310 },
	{ "[::1]:3310", AF_INET6, 3310 },
	{ "localhost:1", 0, 1 },	/* resolved: either family */
	{ "192.0.2.7:65535", AF_INET, 65535 },
	{ "127.0.0.1:0", 0, -1 },
	{ "127.0.0.1:65536", 0, -1 },
	{ "127.0.0.1:", 0, -1 },
	{ "127.0.0.1:x", 0, -1 },
	{ ":3310", 0, -1 },
	{ "::1:3310", 0, -1 },
	{ "[::1:3310", 0, -1 },
	{ "clamd.ctl", 0, -1 },
	{ "run/clamd.ctl", 0, -1 },
	{ "", 0, -1 },
};

static void
test_sock(void)
{
	struct cv_sock sk;
	const char *why = NULL;
	char longpath[200];
	size_t i;
	int r;

	for (i = 0; i < NELEM(socks); i++) {
		why = NULL;
		r = cv_sock_parse(socks[i].text, &sk, &why);
		if (socks[i].port == -1) {
			is_int(r, -1, "sock %zu: '%s' refused", i, socks[i].text);
			ok(why != NULL && *why != '\0', "sock %zu: with a reason "
			    "(%s)", i, why ? why : "none");
			continue;
		}
		is_int(r, 0, "sock %zu: '%s' taken (%s)", i, socks[i].text,
		    r ? why : "");
		if (socks[i].family != 0)
			is_int(sk.ss.ss_family, socks[i].family,
			    "sock %zu: its family", i);
		is_str(sk.text, socks[i].text, "sock %zu: kept for logs", i);
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	is_int(cv_sock_parse(longpath, &sk, &why), -1,
	    "sock: a path longer than sun_path refused");
	is_int(cv_sock_parse(NULL, &sk, &why), -1, "sock: NULL refused");
}

/* ---- replies -------------------------------------------------------------- */

static const struct {
	const char	*reply;
	size_t		 len;		/* 0: strlen */
	enum cv_status	 st;
	const char	*name;		/* CV_FOUND: the name; else why's start */
} replies[] = {
	{ "stream: OK", 0, CV_CLEAN, "" },
	{ "stream: OK\n", 0, CV_CLEAN, "" },
	{ "stream: Eicar-Test-Signature FOUND", 0, CV_FOUND,
	    "Eicar-Test-Signature" },
	{ "stream: Yubin.Test.EICAR.UNOFFICIAL FOUND\n", 0, CV_FOUND,
	    "Yubin.Test.EICAR.UNOFFICIAL" },
	{ "stream: Win.Test.EICAR_HDB-1 FOUND", 0, CV_FOUND,
	    "Win.Test.EICAR_HDB-1" },
	{ "INSTREAM size limit exceeded. ERROR", 0, CV_ERROR,
	    "INSTREAM size limit exceeded." },
	{ "stream: Can't allocate memory ERROR", 0, CV_ERROR,
	    "stream: Can't allocate memory" },
	{ "stream: OK ", 0, CV_FAIL, "unexpected" },
	{ "stream: ok", 0, CV_FAIL, "unexpected" },
	{ "stream:OK", 0, CV_FAIL, "unexpected" },
	{ "stream:  FOUND", 0, CV_FAIL, "unexpected" },
	{ "stream: FOUND", 0, CV_FAIL, "unexpected" },
	{ "stream: two words FOUND", 0, CV_FAIL, "unexpected" },
	{ "stream: X FOUND extra", 0, CV_FAIL, "unexpected" },
	{ "1: stream: OK", 0, CV_FAIL, "unexpected" },
	{ "PONG", 0, CV_FAIL, "unexpected" },
	{ "UNKNOWN COMMAND", 0, CV_FAIL, "unexpected" },
	{ "", 0, CV_FAIL, "unexpected" },
	{ "\n", 0, CV_FAIL, "unexpected" },
	{ "stream: O\x01K", 0, CV_FAIL, "unexpected reply 'stream: O?K'" },
	{ "stream: \xe2\x98\x83 FOUND", 0, CV_FAIL, "unexpected" },
	{ "stream: OK\0junk", 14, CV_FAIL, "unexpected" },
	{ "stream: OK\r", 0, CV_FAIL, "unexpected" },
	{ "hello world", 0, CV_FAIL, "unexpected reply 'hello world'" },
};

static void
test_replies(void)
{
	struct cv_result r;
	char big[CV_REPLY_MAX + 40], name[CV_NAME_MAX + 2], label[64];
	size_t i, len;
	enum cv_status st;

	for (i = 0; i < NELEM(replies); i++) {
		len = replies[i].len ? replies[i].len : strlen(replies[i].reply);
		st = cv_reply_parse(replies[i].reply, len, &r);
		is_int(st, replies[i].st, "reply %zu: '%s' is %s", i,
		    cv_printable(label, sizeof(label), replies[i].reply, len),
		    cv_status_name(replies[i].st));
		is_int(r.status, st, "reply %zu: status kept", i);
		if (st == CV_FOUND)
			is_str(r.name, replies[i].name, "reply %zu: name", i);
		else if (st != CV_CLEAN)
			ok(strncmp(r.why, replies[i].name,
			    strlen(replies[i].name)) == 0,
			    "reply %zu: why '%s'", i, r.why);
	}
	/* the longest name taken, one more refused */
	memset(name, 'N', sizeof(name));
	name[CV_NAME_MAX] = '\0';
	snprintf(big, sizeof(big), "stream: %s FOUND", name);
	is_int(cv_reply_parse(big, strlen(big), &r), CV_FOUND,
	    "reply: a name of CV_NAME_MAX bytes is taken");
	is_int(strlen(r.name), CV_NAME_MAX, "reply: whole");
	name[CV_NAME_MAX] = 'N';
	name[CV_NAME_MAX + 1] = '\0';
	snprintf(big, sizeof(big), "stream: %s FOUND", name);
	is_int(cv_reply_parse(big, strlen(big), &r), CV_FAIL,
	    "reply: a longer name is nonsense");
	memset(big, 'x', sizeof(big));
	memcpy(big + CV_REPLY_MAX + 1 - 6, " ERROR", 6);
	is_int(cv_reply_parse(big, CV_REPLY_MAX + 1, &r), CV_FAIL,
	    "reply: past CV_REPLY_MAX is nonsense");
	ok(strlen(r.why) < sizeof(r.why), "reply: why stays bounded");
	is_str(cv_status_name(CV_CLEAN), "clean", "status name clean");
	is_str(cv_status_name(CV_FOUND), "infected", "status name infected");
}

/* ---- notify words and header addresses ------------------------------------ */

static void
test_targets(void)
{
	is_int(cv_target_parse("&TO"), CV_T_TO, "target &TO");
	is_int(cv_target_parse("&to"), CV_T_TO, "target &to (any case)");
	is_int(cv_target_parse("&FROM"), CV_T_FROM, "target &FROM");
	is_int(cv_target_parse("&Rcv"), CV_T_RCV, "target &Rcv");
	is_int(cv_target_parse("&SND"), CV_T_SND, "target &SND");
	is_int(cv_target_parse("&XX"), CV_T_BAD, "target &XX is bad");
	is_int(cv_target_parse("&"), CV_T_BAD, "target & alone is bad");
	is_int(cv_target_parse("&TOO"), CV_T_BAD, "target &TOO is bad");
	is_int(cv_target_parse("admin@example.org"), CV_T_ADDR, "an address");
}

static const struct {
	const char	*v;
	int		 r;
	const char	*addr;
} firsts[] = {
	{ "alice@example.org", 1, "alice@example.org" },
	{ "  alice@example.org  ", 1, "alice@example.org" },
	{ "<alice@example.org>", 1, "alice@example.org" },
	{ "Alice <alice@example.org>", 1, "alice@example.org" },
	{ "\"Doe, John\" <jd@example.org>, bob@example.org", 1, "jd@example.org" },
	{ "bob@example.org, Alice <alice@example.org>", 1, "bob@example.org" },
	{ "bob@example.org (Bob, the <builder>)", 1, "bob@example.org" },
	{ "(comment) <c@example.org>", 1, "c@example.org" },
	{ "undisclosed-recipients:;", 0, "" },
	{ "team: a@example.org, b@example.org;", 1, "a@example.org" },
	{ "team:; d@example.org", 1, "d@example.org" },
	{ "<>, e@example.org", 1, "e@example.org" },
	{ "<@relay.example:f@example.org>", 1, "f@example.org" },
	{ "\"quoted local\"@example.org", 1, "\"quoted local\"@example.org" },
	{ "", 0, "" },
	{ "   ", 0, "" },
	{ "Alice <alice@example.org", -1, "" },
	{ "(open comment", -1, "" },
	{ "\"open quote", -1, "" },
};

static void
test_first_addr(void)
{
	char out[CV_ADDR_MAX], small[8], big[CV_ADDR_MAX + 64];
	size_t i;

	for (i = 0; i < NELEM(firsts); i++) {
		is_int(cv_first_addr(firsts[i].v, out, sizeof(out)), firsts[i].r,
		    "first %zu: '%s'", i, firsts[i].v);
		is_str(out, firsts[i].addr, "first %zu: address", i);
	}
	is_int(cv_first_addr("alice@example.org", small, sizeof(small)), -1,
	    "first: too long for OUT is an error");
	is_str(small, "", "first: and OUT is empty, never cut");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(cv_first_addr(big, out, sizeof(out)), -1,
	    "first: a bare word past CV_ADDR_MAX is an error");
}

/* ---- expansion and the notice ---------------------------------------------- */

static int
valid(const char *a)
{
	return strchr(a, '@') != NULL && strchr(a, ' ') == NULL;
}

static void
expect_list(const struct cv_addrs *a, const char *const *want, size_t n,
    const char *label)
{
	size_t i;

	if (!ok(a->n == n, "%s: %zu addresses", label, n)) {
		diag("got %zu", a->n);
		return;
	}
	for (i = 0; i < n; i++)
		is_str(a->v[i], want[i], "%s: address %zu", label, i);
}

static void
test_expand(void)
{
	const char *rcpts[] = { "r1@localhost", "R2@localhost", "admin@localhost" };
	struct cv_msginfo m = {
		.sender = "snd@example.org", .rcpts = rcpts, .nrcpt = 3,
		.hdr_to = "hto@example.org", .hdr_from = "hfrom@example.org",
		.client = "127.0.0.1", .helo = "client.test", .qid = "0123456789ABCDEF",
		.subject = "hi", .virus = "Yubin.Test.EICAR.UNOFFICIAL",
		.date = "Sat, 05 Dec 2026 17:00:00 +0000",
	};
	struct cv_addrs a;
	char *text;
	size_t len;

	{
		const char *w[] = { "admin@localhost", "&RCV", "&SND" };
		const char *want[] = { "admin@localhost", "r1@localhost",
		    "R2@localhost", "snd@example.org" };

		is_int(cv_expand(w, 3, &m, valid, &a), 0, "expand 1: done");
		expect_list(&a, want, 4, "expand 1 (admin first, RCV without "
		    "the duplicate admin, SND)");
		is_int(cv_notice("postmaster@localhost", &a, &m, &text, &len), 0,
		    "notice 1: made");
		ok(strstr(text, "\nTo: <admin@localhost>\n") != NULL,
		    "notice 1: the first in To:");
		ok(strstr(text, "\nCc: <r1@localhost>,\n\t<R2@localhost>,\n\t"
		    "<snd@example.org>\n") != NULL, "notice 1: the rest in Cc:");
		ok(strncmp(text, "From: Virus scanner <postmaster@localhost>\n",
		    43) == 0, "notice 1: From: notify_from");
		ok(strstr(text, "\nSubject: Virus found: "
		    "Yubin.Test.EICAR.UNOFFICIAL\n") != NULL,
		    "notice 1: Subject names the virus");
		ok(strstr(text, "\nX-Yubin-Notice: clamav\n") != NULL &&
		    strstr(text, "\nAuto-Submitted: auto-generated\n") != NULL,
		    "notice 1: marked as automatic");
		ok(strstr(text, "Client:      127.0.0.1 (HELO client.test)\n") &&
		    strstr(text, "Sender:      <snd@example.org>\n") &&
		    strstr(text, "Recipients:  <r1@localhost>\n"
		    "             <R2@localhost>\n") &&
		    strstr(text, "Queue id:    0123456789ABCDEF\n"),
		    "notice 1: body has client, envelope and queue id");
		ok(strstr(text, "\n\n") != NULL && len == strlen(text),
		    "notice 1: header, blank line, body; length right");
		free(text);
		cv_addrs_free(&a);
		is_int(a.n, 0, "free empties");
	}
	{
		const char *w[] = { "&TO", "&FROM", "&to", "hto@EXAMPLE.org" };
		const char *want[] = { "hto@example.org", "hfrom@example.org" };

		is_int(cv_expand(w, 4, &m, valid, &a), 0, "expand 2: done");
		expect_list(&a, want, 2, "expand 2 (&TO &FROM, each once, any case)");
		is_int(cv_notice("p@localhost", &a, &m, &text, &len), 0,
		    "notice 2: made");
		ok(strstr(text, "\nTo: <hto@example.org>\nCc: "
		    "<hfrom@example.org>\n") != NULL, "notice 2: To and one Cc");
		free(text);
		cv_addrs_free(&a);
	}
	{
		const char *w[] = { "&SND", "&TO", "bad address" };

		m.sender = "";		/* <> */
		m.hdr_to = NULL;	/* none valid */
		is_int(cv_expand(w, 3, &m, valid, &a), 0, "expand 3: done");
		is_int(a.n, 0, "expand 3: <>, no To: and an invalid word: none");
		is_int(cv_notice("p@localhost", &a, &m, &text, &len), -1,
		    "notice 3: no recipient, no notice");
		ok(text == NULL, "notice 3: nothing made");
		cv_addrs_free(&a);
	}
	{
		const char *w[] = { "&SND", "only@localhost" };
		const char *want[] = { "only@localhost" };

		is_int(cv_expand(w, 2, &m, valid, &a), 0, "expand 4: done");
		expect_list(&a, want, 1, "expand 4 (&SND of <> dropped)");
		is_int(cv_notice("p@localhost", &a, &m, &text, &len), 0,
		    "notice 4: made");
		ok(strstr(text, "\nCc:") == NULL, "notice 4: one recipient, no Cc");
		ok(strstr(text, "Sender:      <>\n") != NULL, "notice 4: sender <>");
		free(text);
		cv_addrs_free(&a);
	}
}

/* ---- the conversation with a fake clamd ------------------------------------ */

enum fake_mode {
	FAKE_ANSWER,	/* read the whole stream, then answer */
	FAKE_EARLY,	/* answer after the command, close */
	FAKE_SILENT,	/* read all, say nothing until killed */
	FAKE_CLOSE,	/* read the command, close */
};

/* read_full - N bytes from FD into P; 0, or -1 at EOF or error. */
static int
read_full(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		r = read(fd, c, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * fake - a child process serving one connection on Unix socket PATH in
 * MODE with ANSWER; it reports what it read on REPORT: the command and
 * the stream (the total of the chunks, or -1 when the framing was bad).
 */
static pid_t
fake(const char *path, enum fake_mode mode, const char *answer, int report)
{
	struct sockaddr_un sun;
	unsigned char len[4], cmd[10], buf[65536];
	long long total = 0;
	unsigned long n;
	pid_t pid;
	int lfd, fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 1) == -1)
		return -1;
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	if (read_full(fd, cmd, sizeof(cmd)) == -1 ||
	    memcmp(cmd, "zINSTREAM", 10) != 0) {
		total = -2;
		goto out;
	}
	if (mode == FAKE_CLOSE)
		goto out;
	if (mode == FAKE_EARLY) {
		if (write(fd, answer, strlen(answer) + 1) < 0)
			_exit(1);
		goto out;
	}
	for (;;) {
		if (read_full(fd, len, 4) == -1) {
			total = -1;
			goto out;
		}
		n = (unsigned long)len[0] << 24 | (unsigned long)len[1] << 16 |
		    (unsigned long)len[2] << 8 | len[3];
		if (n == 0)
			break;
		if (n > sizeof(buf) || read_full(fd, buf, n) == -1) {
			total = -1;
			goto out;
		}
		total += (long long)n;
	}
	if (mode == FAKE_SILENT) {
		if (write(report, &total, sizeof(total)) < 0)
			_exit(1);
		pause();
	}
	if (write(fd, answer, strlen(answer) + 1) < 0)
		_exit(1);
out:
	if (write(report, &total, sizeof(total)) < 0)
		_exit(1);
	close(fd);
	_exit(0);
}

/* message - a temporary file of SIZE bytes; its descriptor. */
static int
message(long long size)
{
	char path[] = "/tmp/clamav-unit-msg.XXXXXX", buf[4096];
	long long left = size;
	size_t n;
	int fd = mkstemp(path);

	if (fd == -1)
		return -1;
	unlink(path);
	memset(buf, 'm', sizeof(buf));
	while (left > 0) {
		n = left > (long long)sizeof(buf) ? sizeof(buf) : (size_t)left;
		if (write(fd, buf, n) != (ssize_t)n)
			return -1;
		left -= (long long)n;
	}
	lseek(fd, 7, SEEK_SET);		/* cv_scan must not care, nor move it */
	return fd;
}

static const struct {
	enum fake_mode	 mode;
	const char	*answer;
	long long	 size, max;
	enum cv_status	 st;
	long long	 streamed;	/* what the fake counted; -3: not read */
	long long	 deadline_ms;
} convs[] = {
	{ FAKE_ANSWER, "stream: OK", 200000, 1000000, CV_CLEAN, 200000, 5000 },
	{ FAKE_ANSWER, "stream: OK", 0, 1000000, CV_CLEAN, 0, 5000 },
	{ FAKE_ANSWER, "stream: OK", 200000, 70000, CV_CLEAN, 70000, 5000 },
	{ FAKE_ANSWER, "stream: Bad.Thing FOUND", 65536, 1000000, CV_FOUND,
	    65536, 5000 },
	{ FAKE_ANSWER, "stream: Bad Thing FOUND", 1000, 1000000, CV_FAIL, 1000,
	    5000 },
	{ FAKE_ANSWER, "garbage", 1000, 1000000, CV_FAIL, 1000, 5000 },
	{ FAKE_EARLY, "INSTREAM size limit exceeded. ERROR", 3000000, 4000000,
	    CV_ERROR, -3, 5000 },
	{ FAKE_EARLY, "stream: OK", 3000000, 4000000, CV_FAIL, -3, 5000 },
	{ FAKE_SILENT, "", 1000, 1000000, CV_FAIL, 1000, 300 },
	{ FAKE_CLOSE, "", 3000000, 4000000, CV_FAIL, -3, 5000 },
};

static void
test_conversation(void)
{
	char path[64];
	struct cv_sock sk;
	struct cv_result r;
	const char *why;
	long long got;
	size_t i;
	pid_t pid;
	int fd, pfd[2], status;

	snprintf(path, sizeof(path), "/tmp/clamav-unit-%d.sock", (int)getpid());
	if (!ok(cv_sock_parse(path, &sk, &why) == 0, "conv: socket path taken"))
		return;
	for (i = 0; i < NELEM(convs); i++) {
		if (pipe(pfd) == -1 || (fd = message(convs[i].size)) == -1) {
			ok(0, "conv %zu: set up", i);
			continue;
		}
		pid = fake(path, convs[i].mode, convs[i].answer, pfd[1]);
		close(pfd[1]);
		is_int(cv_scan(&sk, fd, convs[i].max,
		    cv_now_ms() + convs[i].deadline_ms, &r), convs[i].st,
		    "conv %zu: '%s' is %s", i, convs[i].answer,
		    cv_status_name(convs[i].st));
		if (convs[i].st == CV_FAIL || convs[i].st == CV_ERROR)
			ok(r.why[0] != '\0', "conv %zu: why: %s", i, r.why);
		if (convs[i].streamed != -3) {
			got = -9;
			if (read(pfd[0], &got, sizeof(got)) != sizeof(got))
				got = -9;
			is_int(got, convs[i].streamed,
			    "conv %zu: clamd got well-framed chunks of the "
			    "first %lld bytes", i, convs[i].streamed);
			is_int(r.sent, convs[i].streamed, "conv %zu: sent counted",
			    i);
		}
		is_int(lseek(fd, 0, SEEK_CUR), 7, "conv %zu: offset not moved", i);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(pfd[0]);
		close(fd);
	}
	unlink(path);
	fd = message(10);
	is_int(cv_scan(&sk, fd, 100, cv_now_ms() + 1000, &r), CV_FAIL,
	    "conv: nobody listening is a failure");
	ok(strstr(r.why, "connect") != NULL, "conv: naming connect (%s)", r.why);
	is_int(cv_ping(&sk, cv_now_ms() + 1000, &r), -1, "ping: nobody there");
	close(fd);
}

int
main(void)
{
	plan_no_plan();
	signal(SIGPIPE, SIG_DFL);	/* a SIGPIPE would kill the test */
	test_sock();
	test_replies();
	test_targets();
	test_first_addr();
	test_expand();
	test_conversation();
	return done_testing();
}
