/*
 * testhooks - a plugin for the tests of the hook system.  It serves every
 * hook point, returns every result code on request, crashes or hangs on
 * request, and records each call so a test can see the order and arguments.
 *
 * [plugin testhooks]
 *   record = PATH      append "HOOK detail" lines to PATH
 *   connect = RESULT   result of the connect hook (default declined)
 *   fail_init = 1      init() fails (with a file:line style error)
 * init records "init DOMAIN CONNECT", commit "commit CONNECT", discard
 * "discard CONNECT": the generation each belongs to is visible.
 *
 * Requests ride on the message itself, so one running server serves every
 * case.  RESULT is declined, ok, deny, denysoft, disconnect, discard, crash
 * (SIGSEGV), abort (SIGABRT), hang (sleeps past any hook_timeout) or
 * scribble (a worker gone bad: fills its own trace in the master's
 * scoreboard, TRACE_MAX = 96 bytes, with control bytes and no NUL, then
 * crashes):
 *   helo:      HELO name "RESULT.hook.test"
 *   mail:      sender local part "mail-RESULT"
 *   rcpt:      recipient local part "rcpt-RESULT" (the domain decides
 *              nothing: ok accepts even a non-local one); "rcpt-block"
 *              blocks the client's address (yh_block_add) and denies
 *   data:      header "X-Test-Data: RESULT"
 *   deliver:   header "X-Test-Deliver: RESULT"
 * A deny carries "5NN 5.7.9 testhooks says RESULT" (4NN 4.7.9 for denysoft).
 * The rcpt hook sets a transaction note that the data hook adds as the
 * header "X-Test-Note: rcpt=ADDR"; the data hook also adds "X-Test-Seen:
 * SUBJECT" from the message's Subject header.
 *
 * "X-Test-Copy: ADDR" makes the data hook add a copy for ADDR with
 * yh_copy_add (Subject "copy of SUBJECT"), recording "copy r=R", before
 * it answers as X-Test-Data says.
 *
 * "X-Test-Once: ADDR" makes the deliver hook inject a message to ADDR
 * twice with yh_inject_once and the same key, recording "once r1=R r2=R".
 *
 * "X-Test-Spawn: yes" makes the data hook run programs with yh_spawn
 * outside a delivery (waited, cwd /), recording "spawn COMMAND r=R
 * status=S" for each, then a request without .size ("spawn nosize r=R").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yubin/hook.h>

struct th_conf {
	char	record_path[1024];
	char	connect_result[32];
};
static struct th_conf TH;	/* the running generation */

static void
record(const char *hook, const char *detail)
{
	FILE *f;

	if (TH.record_path[0] == '\0')
		return;
	f = fopen(TH.record_path, "a");
	if (f == NULL)
		return;
	fprintf(f, "%s %s\n", hook, detail ? detail : "-");
	fclose(f);
}

#define SCOREBOARD_TRACE	96	/* TRACE_MAX in daemon/master.c */

/* scribble - find "plugin=testhooks hook=helo" (this worker's trace while
 * the helo hook runs) in the shared mappings and overwrite the whole trace
 * with escape sequences and newlines, leaving no NUL. */
static void
scribble(void)
{
	static const char key[] = "plugin=testhooks hook=helo";
	static const char junk[] = "\x1b[2J\nforged: line ";
	char line[512], *p;
	unsigned long lo, hi;
	FILE *f = fopen("/proc/self/maps", "r");
	size_t i;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, " rw-s ") == NULL ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		p = memmem((void *)lo, hi - lo, key, sizeof(key) - 1);
		if (p == NULL || (unsigned long)(p + SCOREBOARD_TRACE) > hi)
			continue;
		for (i = 0; i < SCOREBOARD_TRACE; i++)
			p[i] = junk[i % (sizeof(junk) - 1)];
		break;
	}
	fclose(f);
}

static int
result_of(const char *word)
{
	if (word == NULL)
		return YH_DECLINED;
	if (strncmp(word, "ok", 2) == 0)
		return YH_OK;
	if (strncmp(word, "denysoft", 8) == 0)
		return YH_DENYSOFT;
	if (strncmp(word, "deny", 4) == 0)
		return YH_DENY;
	if (strncmp(word, "disconnect", 10) == 0)
		return YH_DISCONNECT;
	if (strncmp(word, "discard", 7) == 0)
		return YH_DISCARD;
	if (strncmp(word, "crash", 5) == 0) {
		raise(SIGSEGV);
		return YH_DECLINED;
	}
	if (strncmp(word, "abort", 5) == 0) {
		abort();
		return YH_DECLINED;
	}
	if (strncmp(word, "scribble", 8) == 0) {
		scribble();
		raise(SIGSEGV);
		return YH_DECLINED;
	}
	if (strncmp(word, "hang", 4) == 0) {
		sleep(3600);
		return YH_DECLINED;
	}
	return YH_DECLINED;
}

static int
answer(struct yh_session *s, const char *word)
{
	int r = result_of(word);

	if (s && (r == YH_DENY || r == YH_DENYSOFT))
		yh_reply(s, r == YH_DENY ? 554 : 452, r == YH_DENY ? "5.7.9" : "4.7.9",
		    "testhooks says %s", word);
	return r;
}

static const struct yh_key th_keys[] = {
	{ "record",	YH_KEY_STRING,	"", 0, 0 },
	{ "connect",	YH_KEY_STRING,	"", 0, 0 },
	{ "fail_init",	YH_KEY_BOOL,	"0", 0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* record_to - record() into PATH (the one of a generation not running). */
static void
record_to(const char *path, const char *what, const char *detail)
{
	char saved[sizeof(TH.record_path)];

	memcpy(saved, TH.record_path, sizeof(saved));
	snprintf(TH.record_path, sizeof(TH.record_path), "%s", path);
	record(what, detail);
	memcpy(TH.record_path, saved, sizeof(saved));
}

static int
th_init(const struct yh_config *cfg, void **gen)
{
	struct th_conf *c;
	char detail[160];

	if (yh_config_bool(cfg, "fail_init")) {
		yh_error("testhooks.conf:7: fail_init requested");
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	snprintf(c->record_path, sizeof(c->record_path), "%s",
	    yh_config_str(cfg, "record"));
	snprintf(c->connect_result, sizeof(c->connect_result), "%s",
	    yh_config_str(cfg, "connect"));
	snprintf(detail, sizeof(detail), "%s %s", yh_server_get("server.domain"),
	    c->connect_result[0] ? c->connect_result : "-");
	record_to(c->record_path, "init", detail);
	*gen = c;
	return 0;
}

static void
th_commit(void *gen)
{
	TH = *(struct th_conf *)gen;
	free(gen);
	record("commit", TH.connect_result[0] ? TH.connect_result : "-");
}

static void
th_discard(void *gen)
{
	struct th_conf *c = gen;

	record_to(c->record_path, "discard", c->connect_result[0] ?
	    c->connect_result : "-");
	free(c);
}

static void
th_fini(void)
{
	record("fini", NULL);
}

static int
th_connect(struct yh_session *s)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s listener=%d", yh_peer_ip(s),
	    (int)yh_listener_kind(s));
	record("connect", buf);
	return answer(s, TH.connect_result[0] ? TH.connect_result : NULL);
}

static int
th_helo(struct yh_session *s)
{
	const char *h = yh_helo(s);
	char word[32];

	record("helo", h);
	if (strstr(h, ".hook.test") == NULL)
		return YH_DECLINED;
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(h, "."), h);
	return answer(s, word);
}

static int
th_auth(struct yh_session *s)
{
	record("auth", yh_auth_user(s));
	return YH_DECLINED;
}

static int
th_mail(struct yh_session *s)
{
	const char *from = yh_sender(s);

	record("mail", from);
	if (from && strncmp(from, "mail-", 5) == 0)
		return answer(s, from + 5);
	return YH_DECLINED;
}

static int
th_rcpt(struct yh_session *s, const char *rcpt)
{
	char buf[600];
	long long n = 0;

	snprintf(buf, sizeof(buf), "%s local=%d", rcpt, yh_rcpt_local(s));
	record("rcpt", buf);
	snprintf(buf, sizeof(buf), "rcpt=%s", rcpt);
	yh_note_set(s, "first-rcpt", yh_note_get(s, "first-rcpt") ?
	    yh_note_get(s, "first-rcpt") : buf);
	yh_store_incr("rcpts", 1, 0, &n);
	if (strncmp(rcpt, "rcpt-block@", 11) == 0) {
		yh_block_add(yh_peer_ip(s), 0, "asked for\r\nit");
		return answer(s, "deny");
	}
	if (strncmp(rcpt, "rcpt-", 5) == 0)
		return answer(s, rcpt + 5);
	return YH_DECLINED;
}

static void
th_spawn(void)
{
	static const char *const cmds[] = {
		"/bin/echo FROM_ADDRESS MAILFILE_PATH",	/* no delivery: literal */
		"env",					/* found in PATH */
		"/bin/false",
		"\"/bin/echo unbalanced",
		"bin/echo relative",
	};
	char buf[256];
	size_t i;
	int r, st;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct yh_spawn sp = YH_SPAWN_INIT;

		sp.label = "testhooks-spawn";
		sp.command = cmds[i];
		sp.cwd = "/";
		sp.wait = 1;
		sp.kill_grace_ms = 0;
		r = yh_spawn(&sp, &st);
		snprintf(buf, sizeof(buf), "%s r=%d status=%d", cmds[i], r, st);
		record("spawn", buf);
	}
	{
		struct yh_spawn sp = YH_SPAWN_INIT;

		sp.size = 0;
		sp.command = "/bin/true";
		snprintf(buf, sizeof(buf), "nosize r=%d", yh_spawn(&sp, NULL));
		record("spawn", buf);
	}
}

static int
th_data(struct yh_session *s)
{
	const char *v = yh_header(s, "X-Test-Data", 0);
	const char *subj = yh_header(s, "Subject", 0);
	const char *note = yh_note_get(s, "first-rcpt");
	const char *cp;
	char buf[256];
	long long n = 0;
	size_t len = sizeof(n);

	snprintf(buf, sizeof(buf), "size=%lld fd=%d rcpts=%zu", yh_message_size(s),
	    yh_message_fd(s) >= 0, yh_rcpt_count(s));
	record("data", buf);
	if (note)
		yh_header_add(s, "X-Test-Note", note);
	if (subj)
		yh_header_add(s, "X-Test-Seen", subj);
	if (yh_store_get("rcpts", &n, &len) == 1) {
		snprintf(buf, sizeof(buf), "%zu", len);
		yh_header_add(s, "X-Test-Counter-Bytes", buf);
	}
	if (yh_header(s, "X-Test-Spawn", 0))
		th_spawn();
	if ((cp = yh_header(s, "X-Test-Copy", 0)) != NULL) {
		char msg[512], qid[32];
		const char *to[1];
		int r, ml;

		to[0] = cp;
		ml = snprintf(msg, sizeof(msg), "Subject: copy of %s\n\ncopy body\n",
		    subj ? subj : "");
		r = yh_copy_add(s, "", to, 1, msg, (size_t)ml, qid);
		snprintf(buf, sizeof(buf), "r=%d%s%s", r, r == 0 ? " qid=" : "",
		    r == 0 ? qid : "");
		record("copy", buf);
	}
	return answer(s, v);
}

static void
th_queued(struct yh_session *s)
{
	record("queued", yh_queue_id(s));
}

static void
th_disconnect(struct yh_session *s)
{
	record("disconnect", yh_peer_ip(s));
}

static int
th_deliver(struct yh_delivery *d)
{
	const char *v = yh_dlv_header(d, "X-Test-Deliver", 0), *once;
	char buf[600];
	int r;

	snprintf(buf, sizeof(buf), "%s account=%s", yh_dlv_rcpt(d), yh_dlv_account(d));
	record("deliver", buf);
	if ((once = yh_dlv_header(d, "X-Test-Once", 0)) != NULL) {
		char key[64], msg[128];
		const char *to[1];
		int r1, r2, ml;

		to[0] = once;
		snprintf(key, sizeof(key), "%s/%s", yh_dlv_queue_id(d),
		    yh_dlv_account(d));
		ml = snprintf(msg, sizeof(msg), "Subject: once\n\nonce body\n");
		r1 = yh_inject_once(key, "", to, 1, msg, (size_t)ml, NULL);
		r2 = yh_inject_once(key, "", to, 1, msg, (size_t)ml, NULL);
		snprintf(buf, sizeof(buf), "r1=%d r2=%d", r1, r2);
		record("once", buf);
	}
	r = result_of(v);
	if (r == YH_DENY || r == YH_DENYSOFT)
		yh_dlv_reply(d, r == YH_DENY ? 550 : 450, r == YH_DENY ? "5.7.9" :
		    "4.7.9", "testhooks refuses delivery");
	return r;
}

static void
th_delivered(struct yh_delivery *d)
{
	record("delivered", yh_dlv_account(d));
}

static void
th_pop_auth(struct yh_pop *p)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s %s", yh_pop_user(p), yh_pop_peer_ip(p));
	record("pop_auth", buf);
}

static const struct yh_hooks th_hooks = {
	YH_HOOKS_INIT,
	.connect = th_connect,
	.helo = th_helo,
	.auth = th_auth,
	.mail = th_mail,
	.rcpt = th_rcpt,
	.data = th_data,
	.queued = th_queued,
	.disconnect = th_disconnect,
	.deliver = th_deliver,
	.delivered = th_delivered,
	.pop_auth = th_pop_auth,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "testhooks",
	.keys = th_keys,
	.init = th_init,
	.commit = th_commit,
	.discard = th_discard,
	.fini = th_fini,
	.hooks = &th_hooks,
};
