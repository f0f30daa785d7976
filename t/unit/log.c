/*
 * log.c - the switchable kinds of log line (server.log_kinds, F127), the
 * one warning when the log cannot be written, and log_size_max on a
 * foreground stderr that is a file.
 *
 * A write that fails is made real with RLIMIT_FSIZE (EFBIG past it, for
 * root too), not with a stub of write().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#include "../lib/tap.h"

static char dir[] = "/tmp/yubin-log-XXXXXX";

/* slurp - the file PATH as a string (owned), "" when absent */
static char *
slurp(const char *path)
{
	char *data;
	size_t len;

	if (file_read(path, 1 << 20, &data, &len) == -1)
		return xstrdup("");
	return data;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return n;
}

static void
test_kinds(void)
{
	char *path = xasprintf("%s/kinds.log", dir), *text;
	char *names[] = { "receive", "failure" }, *bad[] = { "receive", "sent" };
	unsigned mask = 0;

	ok(log_open(LOG_DEST_FILE, path, 0) == 0, "log file opened");
	log_set_kinds(LOG_KINDS_ALL);
	log_kmsg(LOG_KIND_RECEIVE, LOG_LVL_INFO, "Q1: accepted from=<a@b> size=%d", 10);
	log_kmsg(LOG_KIND_CONNECTION, LOG_LVL_INFO, "NOQUEUE: mail from=<a@b>");
	is_int(log_kinds_parse(names, 2, &mask), 0, "two kind names parse");
	is_int(mask, (1u << LOG_KIND_RECEIVE) | (1u << LOG_KIND_FAILURE), "their mask");
	is_int(log_kinds_parse(bad, 2, &mask), -1, "a name that is no kind is refused");
	log_set_kinds((1u << LOG_KIND_RECEIVE) | (1u << LOG_KIND_FAILURE));
	ok(log_kind_on(LOG_KIND_RECEIVE) && !log_kind_on(LOG_KIND_SEND),
	    "log_kind_on follows the mask");
	log_kmsg(LOG_KIND_SEND, LOG_LVL_INFO, "Q2: to=<x@y> status=sent");
	log_kmsg(LOG_KIND_DELIVERY, LOG_LVL_INFO, "Q2: to=<x@y> status=deferred");
	log_kmsg(LOG_KIND_FAILURE, LOG_LVL_WARN, "Q3: to=<x@y> status=bounced");
	log_info("Q4: removed");
	log_set_kinds(0);
	log_kmsg(LOG_KIND_RECEIVE, LOG_LVL_INFO, "Q5: accepted");
	log_info("Q6: no kind, always written");
	log_set_kinds(LOG_KINDS_ALL);
	log_close();
	text = slurp(path);
	ok(strstr(text, "Q1: accepted from=<a@b> size=10 kind=receive\n") != NULL,
	    "a kind's line ends with kind=NAME");
	ok(strstr(text, "NOQUEUE: mail from=<a@b> kind=connection\n") != NULL,
	    "connection kind");
	ok(strstr(text, "Q2:") == NULL, "switched-off kinds are not written");
	ok(strstr(text, "warning: Q3: to=<x@y> status=bounced kind=failure\n") != NULL,
	    "a kind at warning level");
	ok(strstr(text, "Q4: removed\n") && strstr(text, "Q6: no kind"),
	    "lines of no kind are always written");
	ok(strstr(text, "Q5") == NULL, "every kind off: none written");
	free(text);
	free(path);
}

/* test_write_failure - past RLIMIT_FSIZE every write fails: one warning
 * on stderr (foreground), not one per line; a line written again re-arms */
static void
test_write_failure(void)
{
	char *path = xasprintf("%s/full.log", dir);
	char *errpath = xasprintf("%s/stderr", dir), *text;
	struct rlimit old, lim;
	struct stat st;
	int efd, saved_err, i;

	signal(SIGXFSZ, SIG_IGN);
	saved_err = dup(STDERR_FILENO);
	efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(saved_err != -1 && efd != -1, "stderr captured");
	dup2(efd, STDERR_FILENO);
	log_set_foreground(1, 0);
	ok(log_open(LOG_DEST_FILE, path, 0) == 0, "log file opened");
	log_info("first line");
	/* the limit holds for the captured stderr too: room for it there */
	for (i = 0; i < 40; i++)
		log_info("filler %d, so that the limit leaves stderr room", i);
	stat(path, &st);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size;	/* not one byte more */
	setrlimit(RLIMIT_FSIZE, &lim);
	for (i = 0; i < 5; i++)
		log_info("line %d that cannot be written", i);
	setrlimit(RLIMIT_FSIZE, &old);
	log_info("written again");
	setrlimit(RLIMIT_FSIZE, &lim);
	log_info("lost once more");
	setrlimit(RLIMIT_FSIZE, &old);
	log_close();
	log_set_foreground(0, 0);
	dup2(saved_err, STDERR_FILENO);
	close(saved_err);
	close(efd);
	text = slurp(errpath);
	is_int(count(text, "warning: cannot write the log"), 2,
	    "one warning per failing spell, not per line");
	ok(strstr(text, path) != NULL && strstr(text, "File too large"),
	    "it names the file and the reason");
	free(text);
	text = slurp(path);
	ok(strstr(text, "first line") && strstr(text, "written again") &&
	    !strstr(text, "cannot be written"), "the lost lines are lost, the "
	    "others there");
	free(text);
	free(errpath);
	free(path);
}

/* test_fg_size - under -f a stderr that is a file is cleared past
 * log_size_max */
static void
test_fg_size(void)
{
	char *errpath = xasprintf("%s/fg", dir), *text;
	struct stat st;
	int efd, saved_err, i;

	saved_err = dup(STDERR_FILENO);
	efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	dup2(efd, STDERR_FILENO);
	log_set_foreground(1, 300);
	log_open(LOG_DEST_STDERR, NULL, 0);
	for (i = 0; i < 20; i++)
		log_info("foreground line %02d with some text", i);
	log_set_foreground(0, 0);
	dup2(saved_err, STDERR_FILENO);
	close(saved_err);
	close(efd);
	stat(errpath, &st);
	ok(st.st_size > 0 && st.st_size <= 300 + 120,
	    "the file stays near log_size_max (%lld bytes)",
	    (long long)st.st_size);
	text = slurp(errpath);
	ok(strstr(text, "foreground line 19") && !strstr(text, "line 00"),
	    "the newest line is there, the oldest cleared");
	free(text);
	free(errpath);
}

int
main(void)
{
	static const char *const files[] = { "kinds.log", "full.log", "stderr",
	    "fg" };

	plan_no_plan();
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_role("test");
	test_kinds();
	test_write_failure();
	test_fg_size();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = xasprintf("%s/%s", dir, files[i]);

		unlink(p);
		free(p);
	}
	rmdir(dir);
	return done_testing();
}
