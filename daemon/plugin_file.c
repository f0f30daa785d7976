/*
 * plugin_file.c - the account files of hooks/yubin/hook.h: the folder of
 * an account, the safe open and read of a file a mailbox user controls
 * (exec.def, forward.def, reply.def, IMS.CTL and the lists it names), and
 * the lookup of one key in IMS.CTL's INI text.
 *
 * SECURITY.  A user file is read only when it is what its owner meant it
 * to be, the .forward rules of sendmail and Postfix: not a symbolic link
 * (O_NOFOLLOW, so a link to another user's or the server's file is never
 * followed), a regular file (no FIFO that blocks the queue manager, no
 * device), not writable by group or others, owned by root or the server
 * user, and no larger than the caller's ceiling.  The checks are made on
 * the open descriptor (fstat), so nothing can be swapped between check
 * and use.  Nothing here logs: each call says why in the caller's buffer
 * and the plugin logs once, with its own context.
 *
 * Runs in any process that has a configuration (plugins_child_init, or the
 * master during init()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "paths.h"
#include "plugin.h"
#include "util.h"

int
yh_account_dir(const char *account, char *out, size_t size)
{
	const struct config *cfg = plugins_config();
	const char *why;
	char *dir;
	int r;

	if (out == NULL || size == 0)
		return -1;
	out[0] = '\0';
	if (cfg == NULL || account == NULL || !account_name_valid(account, &why))
		return -1;
	dir = paths_account_dir(cfg, account);
	r = str_copy(out, size, dir);
	free(dir);
	return r;
}

int
yh_open_safe(const char *path, size_t maxsize, int *fd_r, char *why,
    size_t whysize)
{
	struct stat st;
	int fd;

	*fd_r = -1;
	if (why == NULL)
		whysize = 0;
	else if (whysize)
		why[0] = '\0';
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whysize, "%s", errno == ELOOP ? "a symbolic link" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whysize, "not a regular file");
		goto refuse;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whysize, "writable by group or others (mode %03o)",
		    (unsigned)(st.st_mode & 0777));
		goto refuse;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, whysize, "owned by uid %lu, not root or the server "
		    "user", (unsigned long)st.st_uid);
		goto refuse;
	}
	if ((unsigned long long)st.st_size > (unsigned long long)maxsize) {
		snprintf(why, whysize, "larger than %zu bytes", maxsize);
		goto refuse;
	}
	/* O_NONBLOCK kept open() from hanging on a FIFO; a regular file
	 * reads the same either way, but the caller gets a plain descriptor */
	(void)fcntl(fd, F_SETFL, 0);
	*fd_r = fd;
	return 1;
refuse:
	close(fd);
	return -1;
}

int
yh_read_safe(const char *path, size_t maxsize, char **data_r, size_t *len_r,
    char *why, size_t whysize)
{
	struct stat st;
	char *data;
	size_t len = 0, cap;
	ssize_t n;
	int fd, r;

	*data_r = NULL;
	if (why == NULL)
		whysize = 0;
	if (len_r)
		*len_r = 0;
	if ((r = yh_open_safe(path, maxsize, &fd, why, whysize)) != 1)
		return r;
	if (fstat(fd, &st) == -1) {
		snprintf(why, whysize, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	/* the size checked at open; a file that grows meanwhile is cut there,
	 * never read past the ceiling */
	cap = (size_t)st.st_size;
	data = xmalloc(cap + 1);
	while (len < cap) {
		n = read(fd, data + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whysize, "read error: %s", strerror(errno));
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*data_r = data;
	if (len_r)
		*len_r = len;
	return 1;
}

/* ---- INI ---------------------------------------------------------------- */

/* span_trim - [*P, *E) without blanks and CR at both ends. */
static void
span_trim(const char **p, const char **e)
{
	while (*p < *e && (**p == ' ' || **p == '\t'))
		(*p)++;
	while (*e > *p && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

static int
span_is(const char *p, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - p) == n && strncasecmp(p, word, n) == 0;
}

int
yh_ini_get(const char *text, const char *section, const char *key, char *out,
    size_t size)
{
	const char *line, *end, *p, *e, *eq;
	int in = 0;

	if (out && size)
		out[0] = '\0';
	if (text == NULL || section == NULL)
		return 0;
	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		p = line;
		e = end;
		span_trim(&p, &e);
		if (p < e && *p == '[') {
			const char *close = memchr(p, ']', (size_t)(e - p));

			if (close == NULL)
				continue;	/* not a section line: ignored */
			p++;
			e = close;
			span_trim(&p, &e);
			in = span_is(p, e, section);
			if (in && key == NULL)
				return 1;
			continue;
		}
		if (!in || key == NULL || p == e || *p == ';' || *p == '#' ||
		    (eq = memchr(p, '=', (size_t)(e - p))) == NULL)
			continue;
		{
			const char *kp = p, *ke = eq, *vp = eq + 1, *ve = e;
			size_t vl;

			span_trim(&kp, &ke);
			if (!span_is(kp, ke, key))
				continue;
			span_trim(&vp, &ve);
			vl = (size_t)(ve - vp);
			if (out == NULL || vl >= size)
				return -1;
			memcpy(out, vp, vl);
			out[vl] = '\0';
			return 1;
		}
	}
	return 0;
}
