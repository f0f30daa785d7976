/*
 * yubin-mailparser - split stored messages into their parts on disk (the
 * seed's mailparser, F147).
 *
 *   yubin-mailparser -i FILE|DIR -o OUTDIR
 *
 * For each message (FILE; the regular files of DIR, not recursively; for a
 * Maildir, the files of its new/ and cur/) it makes OUTDIR/NAME/, NAME
 * being the message file's name made safe, holding:
 *   headers.txt   the message's header block as it is
 *   partN.txt     a text part, transfer-decoded (.html for text/html)
 *   FILENAME      an attachment (a part with a file name): its name decoded
 *                 (RFC 2231, RFC 2047) and sanitized (mailparser.h), a name
 *                 already taken numbered "name-2.ext", "name-3.ext" ...
 *   partN.bin     any other part, transfer-decoded
 *   parts.txt     one line per part: "N TYPE ENCODING BYTES FILE", tab
 *                 separated, then "warning: ..." lines
 * OUTDIR is created when missing.  Malformed MIME is reported as a warning
 * on stderr ("yubin-mailparser: FILE: warning: ...") and the parts are
 * still written.  Exit status: 0 every message split; 1 bad usage; 2 a
 * message could not be read or written (one line each on stderr says why;
 * the others are still done).
 *
 * SECURITY: nothing is ever written outside OUTDIR: OUTDIR is opened once
 * (O_DIRECTORY), every folder and file is made through that descriptor
 * with openat/mkdirat, names are sanitized (no '/', no leading dot) and
 * files are created with O_EXCL | O_NOFOLLOW, so no name in the mail and
 * no link planted in OUTDIR redirects a write.  Message files of a folder
 * are opened with O_NOFOLLOW; a link is skipped.  Runs as its caller.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "mailparser.h"
#include "util.h"

#define MPX_USAGE	1
#define MPX_FAIL	2
#define MPX_DUP_MAX	1000		/* "name-N.ext" tried before giving up */
#define MPX_FILES_MAX	1000000		/* messages of one folder */

struct msgctx {
	const char	*src;		/* the input file, for messages */
	int		 dfd;		/* OUTDIR/NAME */
	struct buf	 index;		/* parts.txt */
	int		 failed;
};

/* usage - the synopsis on stderr. */
static void
usage(void)
{
	fprintf(stderr, "usage: yubin-mailparser -i FILE|DIR -o OUTDIR\n");
}

static void say(const char *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* say - "yubin-mailparser: SRC: MESSAGE" on stderr. */
static void
say(const char *src, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "yubin-mailparser: %s: ", src);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * create_unique - create NAME in DFD (O_EXCL, O_NOFOLLOW); when it exists,
 * "STEM-2.EXT", "STEM-3.EXT" ...  The fd, the name used in FINAL (SIZE),
 * or -1 (errno).
 */
static int
create_unique(int dfd, const char *name, char *final, size_t size)
{
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
	int fd, n;

	for (n = 1; n <= MPX_DUP_MAX; n++) {
		if (n == 1)
			(void)str_copy(final, size, name);
		else if (snprintf(final, size, "%.*s-%d%s", (int)stem, name, n,
		    name + stem) >= (int)size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = openat(dfd, final, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* write_file - DATA (LEN) into a new file NAME (or its numbered form) of
 * DFD; the name used in FINAL.  0, or -1 (errno). */
static int
write_file(int dfd, const char *name, const void *data, size_t len,
    char *final, size_t size)
{
	int fd, e;

	if ((fd = create_unique(dfd, name, final, size)) == -1)
		return -1;
	if (write_all(fd, data, len) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* part_name - the file name for part P into OUT (SIZE > MP_SAFE_MAX). */
static void
part_name(const struct mp_part *p, char *out, size_t size)
{
	if (p->filename[0] != '\0' &&
	    mp_filename_sanitize(p->filename, strlen(p->filename), out, size) > 0)
		return;
	if (strcmp(p->type, "text/html") == 0)
		snprintf(out, size, "part%u.html", p->index);
	else if (strncmp(p->type, "text/", 5) == 0 && !p->attachment)
		snprintf(out, size, "part%u.txt", p->index);
	else if (strcmp(p->type, "message/rfc822") == 0)
		snprintf(out, size, "part%u.eml", p->index);
	else
		snprintf(out, size, "part%u.bin", p->index);
}

/* on_part - mp_parse's callback: decode P and write it. */
static int
on_part(void *vctx, const struct mp_part *p)
{
	struct msgctx *m = vctx;
	struct buf out;
	char name[MP_SAFE_MAX + 1], final[MP_SAFE_MAX + 32];
	char esc[4 * sizeof(p->type)];
	size_t bad = 0;

	buf_init(&out, (size_t)MP_MSG_MAX);
	part_name(p, name, sizeof(name));
	if (mp_decode(p, &out, &bad) == -1) {
		say(m->src, "part %u: decoded part too large", p->index);
		m->failed = 1;
		buf_free(&out);
		return -1;
	}
	if (bad > 0) {
		char w[160];

		snprintf(w, sizeof(w), "part %u: bad %s (%zu characters not "
		    "decoded)", p->index, p->cte, bad);
		say(m->src, "warning: %s", w);
		(void)buf_printf(&m->index, "warning: %s\n", w);
	}
	if (write_file(m->dfd, name, out.data ? out.data : "", out.len, final,
	    sizeof(final)) == -1) {
		say(m->src, "%s: %s", name, strerror(errno));
		m->failed = 1;
		buf_free(&out);
		return -1;
	}
	str_escape(esc, sizeof(esc), p->type, strlen(p->type));
	(void)buf_printf(&m->index, "%u\t%s\t%s\t%zu\t%s\n", p->index, esc,
	    p->cte[0] ? p->cte : "7bit", out.len, final);
	buf_free(&out);
	return 0;
}

/*
 * split_one - the message in FD (named SRC, file name BASE) into
 * OUTFD/NAME.  0, or -1 after saying why.
 */
static int
split_one(int fd, const char *src, const char *base, int outfd)
{
	struct msgctx m;
	struct stat st;
	char name[MP_SAFE_MAX + 1], final[MP_SAFE_MAX + 32];
	char *msg = NULL;
	const char *why;
	size_t hlen, boff;
	unsigned warn = 0, bit;
	ssize_t n;
	int r = -1;

	memset(&m, 0, sizeof(m));
	m.src = src;
	m.dfd = -1;
	buf_init(&m.index, 0);
	if (fd == -1 || fstat(fd, &st) == -1) {
		say(src, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		say(src, "not a regular file");
		goto out;
	}
	if (st.st_size > MP_MSG_MAX) {
		say(src, "larger than %lld bytes", MP_MSG_MAX);
		goto out;
	}
	msg = xmalloc((size_t)st.st_size + 1);
	if ((n = read_all(fd, msg, (size_t)st.st_size)) < 0) {
		say(src, "read: %s", strerror(errno));
		goto out;
	}
	if (mp_header_split(msg, (size_t)n, &hlen, &boff) == -1) {
		say(src, "header block longer than %d bytes", MP_HEADER_MAX);
		goto out;
	}
	if (mp_filename_sanitize(base, strlen(base), name, sizeof(name)) == 0)
		(void)str_copy(name, sizeof(name), "message");
	if (mkdirat(outfd, name, 0700) == -1) {
		if (errno == EEXIST)
			say(src, "%s already exists in the output folder; "
			    "not overwritten", name);
		else
			say(src, "%s: mkdir: %s", name, strerror(errno));
		goto out;
	}
	m.dfd = openat(outfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (m.dfd == -1) {
		say(src, "%s: %s", name, strerror(errno));
		goto out;
	}
	if (write_file(m.dfd, "headers.txt", msg, hlen, final,
	    sizeof(final)) == -1) {
		say(src, "headers.txt: %s", strerror(errno));
		goto out;
	}
	if (mp_parse(msg, (size_t)n, on_part, &m, &warn, &why) == -1) {
		if (!m.failed)
			say(src, "%s", why);
		goto out;
	}
	for (bit = 1; bit <= MP_W_PARTS; bit <<= 1) {
		if ((warn & bit) == 0)
			continue;
		say(src, "warning: %s", mp_warn_text(bit));
		(void)buf_printf(&m.index, "warning: %s\n", mp_warn_text(bit));
	}
	if (write_file(m.dfd, "parts.txt", m.index.data ? m.index.data : "",
	    m.index.len, final, sizeof(final)) == -1) {
		say(src, "parts.txt: %s", strerror(errno));
		goto out;
	}
	printf("%s\t%s\n", src, name);
	r = 0;
out:
	if (m.dfd != -1)
		close(m.dfd);
	buf_free(&m.index);
	free(msg);
	return r;
}

/* skip_dot - scandir's filter: no ".", "..", or dot files. */
static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* split_dir - every regular file of DIR (by name), each into OUTFD. */
static int
split_dir(const char *dir, int outfd)
{
	struct dirent **list;
	char src[4096];
	int dfd, fd, i, n, bad = 0;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || (n = scandir(dir, &list, skip_dot, alphasort)) == -1) {
		say(dir, "%s", strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "%s/%s", dir, list[i]->d_name);
		if (i >= MPX_FILES_MAX) {
			free(list[i]);
			continue;
		}
		fd = openat(dfd, list[i]->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (fd == -1) {
			say(src, "%s", errno == ELOOP ?
			    "a symbolic link; skipped" : strerror(errno));
			if (errno != ELOOP)
				bad = 1;
		} else {
			struct stat st;

			if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
				;	/* folders are not walked */
			else if (split_one(fd, src, list[i]->d_name, outfd) == -1)
				bad = 1;
			close(fd);
		}
		free(list[i]);
	}
	free(list);
	close(dfd);
	return bad ? -1 : 0;
}

/* is_maildir - 1 when DIR holds new/ and cur/ folders. */
static int
is_maildir(const char *dir)
{
	char p[4096];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/new", dir) >= (int)sizeof(p) ||
	    stat(p, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(p, sizeof(p), "%s/cur", dir);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int
main(int argc, char **argv)
{
	const char *in = NULL, *outdir = NULL, *base;
	char sub[4096];
	struct stat st;
	int ch, outfd, fd, r = 0;

	while ((ch = getopt(argc, argv, "i:o:h")) != -1) {
		switch (ch) {
		case 'i':
			in = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		default:
			usage();
			return MPX_USAGE;
		}
	}
	if (optind != argc || in == NULL || outdir == NULL || !*in || !*outdir) {
		usage();
		return MPX_USAGE;
	}
	if (strlen(in) > 4000) {
		say(in, "path too long");
		return MPX_USAGE;
	}
	if (stat(in, &st) == -1) {
		say(in, "%s", strerror(errno));
		return MPX_USAGE;
	}
	if (mkdir(outdir, 0700) == -1 && errno != EEXIST) {
		say(outdir, "mkdir: %s", strerror(errno));
		return MPX_FAIL;
	}
	outfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outfd == -1) {
		say(outdir, "%s", strerror(errno));
		return MPX_FAIL;
	}
	if (S_ISDIR(st.st_mode) && is_maildir(in)) {
		snprintf(sub, sizeof(sub), "%s/new", in);
		r |= split_dir(sub, outfd);
		snprintf(sub, sizeof(sub), "%s/cur", in);
		r |= split_dir(sub, outfd);
	} else if (S_ISDIR(st.st_mode))
		r = split_dir(in, outfd);
	else {
		base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
		fd = open(in, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		r = split_one(fd, in, base, outfd);
		if (fd != -1)
			close(fd);
	}
	close(outfd);
	return r == 0 ? 0 : MPX_FAIL;
}
