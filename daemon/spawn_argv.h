/*
 * spawn_argv - the pure part of yh_spawn (spawn.c): the command split into
 * words, the argument vector with its placeholders, and the SUBJECT value
 * (an RFC 2047 / raw 8-bit Subject decoded to UTF-8).  No process, no file,
 * no global state: the unit test and the fuzz targets call these directly.
 *
 * Every function writes only inside the buffers it is given: each write is
 * checked against the room left, text that does not fit is cut at a UTF-8
 * character boundary, and a count never wraps.
 */
#ifndef YUBIN_SPAWN_ARGV_H
#define YUBIN_SPAWN_ARGV_H

#include <stddef.h>

#define SPAWN_WORDS_MAX		64	/* words of the command itself */
#define SPAWN_ARGV_MAX		256	/* command words + arguments */
#define SPAWN_SUBJECT_MAX	4096	/* a decoded SUBJECT argument, with its NUL */

/*
 * spawn_conv_append - LEN bytes of IN, in CHARSET (a MIME charset name as
 * mail gives it), appended as UTF-8 to OUT, which holds SIZE bytes of which
 * *OL are used; *OL is advanced and OUT[*OL] is always a NUL afterwards
 * (when SIZE > 0).  An invalid byte becomes '?', a multibyte sequence cut
 * at the end of IN one '?'; a charset that is unknown or not a plain name
 * is read as ISO-8859-1; "utf-8" and "us-ascii" text that is not valid
 * UTF-8 is read as CP932 (the seed's raw Shift_JIS).  Returns 0 when all
 * of IN fitted, -1 when OUT is full: what was written then ends at a
 * character boundary and nothing more should be appended.
 */
int	spawn_conv_append(const char *charset, const char *in, size_t len,
	    char *out, size_t size, size_t *ol);

/*
 * spawn_subject_utf8 - RAW (an unfolded Subject value, NUL-terminated, any
 * length) decoded into OUT (SIZE bytes, SIZE >= 1): RFC 2047 encoded words
 * decoded (the blanks between two words dropped), raw 8-bit text taken as
 * UTF-8 or else Shift_JIS, control characters as blanks.  Too long a
 * result is cut at a character boundary.  The length written (OUT is
 * always NUL-terminated).
 */
size_t	spawn_subject_utf8(const char *raw, char *out, size_t size);

/*
 * spawn_split_command - CMD (exec.def's bin= value) split in place into at
 * most MAX words at ARGV: blanks separate, "double quotes" group (no
 * escapes).  The count, or -1 (more than MAX words, an unbalanced quote).
 */
int	spawn_split_command(char *cmd, char **argv, int max);

/* the values a placeholder argument becomes; NULL members: no delivery */
struct spawn_values {
	const char	*from;		/* FROM_ADDRESS: the envelope sender */
	const char	*to;		/* TO_ADDRESS: the envelope recipient */
	const char	*subject_raw;	/* SUBJECT: the raw Subject, or NULL */
};

/* the argument vector spawn_argv_build makes */
struct spawn_argv {
	char		*argv[SPAWN_ARGV_MAX + 1];	/* NULL-terminated */
	int		 argc;
	unsigned char	 mailfile[SPAWN_ARGV_MAX + 1];	/* 1: argv[i] is the
							 * MAILFILE_PATH word */
	int		 need_mailfile;			/* some argv[i] is */
	char		 subject[SPAWN_SUBJECT_MAX];	/* SUBJECT's value */
};

/*
 * spawn_argv_build - the argument vector of a program into A: CMD's words
 * (split in place, CMD must stay alive while A is used) followed by ARGS
 * (NULL-terminated, or NULL).  argv[0] is the command's first word as
 * written (the caller resolves it).  With VALS, an argument (never
 * argv[0]) that is exactly FROM_ADDRESS, TO_ADDRESS or SUBJECT becomes
 * that value -- one argument, whatever it holds, a leading '-' included;
 * MAILFILE_PATH is marked in A->mailfile for the caller to replace.  0, or
 * -1 with *WHY set (an empty command, an unbalanced quote, too many words
 * or arguments).
 */
int	spawn_argv_build(char *cmd, const char *const *args,
	    const struct spawn_values *vals, struct spawn_argv *a,
	    const char **why);

#endif
