/*
 * t/fuzz/spawn_fuzz.c - libFuzzer target for what yh_spawn makes of a
 * message before it runs an exec.def program: the header block read and
 * unfolded the way yh_dlv_header sees it (header_load/header_find in
 * daemon/plugin.c, through yh_header), the SUBJECT argument decoded to
 * UTF-8 (RFC 2047 words, raw 8-bit, iconv) into a full-size buffer and
 * into a small one whose size the input picks (the exact-full cases), and
 * the command split into words with its placeholders.
 *
 * The input is a message; its Subject fields are decoded, and the input
 * itself as one raw Subject value and as a command.  Nothing is spawned.
 * A decoded subject must be terminated inside its buffer, free of control
 * characters and (with spawn_argv.h) valid UTF-8.
 *
 * With daemon/spawn_argv.h the target calls its functions; without it
 * (older trees) daemon/spawn.c is compiled in for its static helpers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if __has_include("spawn_argv.h")
#include "plugin.h"
#include "spawn_argv.h"
#include "utf8.h"
#define HAVE_SPAWN_ARGV 1
#else
#include "../../daemon/spawn.c"
#endif

static void
check_subject(const char *raw, size_t size)
{
	char subj[SPAWN_SUBJECT_MAX];
	size_t i, len;

#ifdef HAVE_SPAWN_ARGV
	size_t r = spawn_subject_utf8(raw, subj, size);

	len = strnlen(subj, size);
	if (len != r || len >= size || !utf8_valid(subj, len))
		abort();
#else
	subject_utf8(raw, subj, size);
	len = strnlen(subj, size);
	if (len >= size)
		abort();
#endif
	for (i = 0; i < len; i++)
		if ((unsigned char)subj[i] < 0x20 || subj[i] == 0x7f)
			abort();
}

static void
check_command(char *cmd, const char *subject)
{
#ifdef HAVE_SPAWN_ARGV
	static const char *const args[] = { "SUBJECT", "-x", "TO_ADDRESS", NULL };
	struct spawn_values v = { "-from@example.org", "to@example.org", subject };
	static struct spawn_argv a;
	const char *why = NULL;
	int i;

	if (spawn_argv_build(cmd, args, &v, &a, &why) == 0) {
		if (a.argc < 1 || a.argc > SPAWN_ARGV_MAX || a.argv[a.argc] != NULL)
			abort();
		for (i = 0; i < a.argc; i++)
			if (a.argv[i] == NULL)
				abort();
	} else if (why == NULL)
		abort();
#else
	char *words[SPAWN_WORDS_MAX];
	int n, i;

	(void)subject;
	n = split_command(cmd, words, SPAWN_WORDS_MAX);
	if (n > SPAWN_WORDS_MAX)
		abort();
	for (i = 0; i < n; i++)
		(void)is_sendmail(words[i]);
#endif
}

static int msg_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yh_session s;
	char *text, *cmd;
	const char *v;
	int i;

	if (msg_fd == -1 && (msg_fd = memfd_create("spawn_fuzz", 0)) == -1)
		abort();
	if (size == 0)
		return 0;
	text = malloc(size + 1);
	cmd = malloc(size + 1);
	if (text == NULL || cmd == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	memcpy(cmd, data, size);
	cmd[size] = '\0';

	/* the input as one Subject value: full size, and small (1..64) */
	check_subject(text, SPAWN_SUBJECT_MAX);
	check_subject(text + 1, 1 + data[0] % 64);

	/* the input as a message: its Subject fields, unfolded */
	if (ftruncate(msg_fd, 0) == -1 ||
	    pwrite(msg_fd, data, size, 0) != (ssize_t)size)
		abort();
	hook_session_init(&s);
	s.msg_fd = msg_fd;
	for (i = 0; i < 3 && (v = yh_header(&s, "Subject", i)) != NULL; i++)
		check_subject(v, SPAWN_SUBJECT_MAX);
	hook_session_free(&s);

	/* the input as an exec.def command */
	check_command(cmd, text);
	free(text);
	free(cmd);
	return 0;
}
