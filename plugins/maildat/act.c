/*
 * act.c - the maildat plugin proper:
 * configuration, the data hook, and the actions of a matching rule
 * (refuse, warning text, Subject tag, header tag, redirect, backup copy,
 * client registration).
 */
#include "maildat.h"

struct md_cidr {
	int		 fam;
	unsigned char	 a[16];
	int		 bits;
};

struct md_conf {
	struct md_table	*table;
	size_t		 scan;
	int		 rbl_ms;
	long long	 reg_ttl;
	struct md_cidr	*exempt;
	size_t		 nexempt;
	int		 exempt_auth;
	int		 per_account;
};

/* read-only after init; replaced whole on a successful reload */
static struct md_conf *md_cf;

static void
md_conf_free(struct md_conf **cp)
{
	if (*cp == NULL)
		return;
	md_table_free(&(*cp)->table);
	free((*cp)->exempt);
	free(*cp);
	*cp = NULL;
}

/* md_read_file - PATH (at most MD_FILE_MAX bytes) into a new buffer.
 * 0, -1 with errno (EFBIG when too large). */
static int
md_read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_size > MD_FILE_MAX) {
		if (st.st_size > MD_FILE_MAX)
			errno = EFBIG;
		close(fd);
		return -1;
	}
	*out = md_alloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, *out + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	(*out)[got] = '\0';
	*len = got;
	return 0;
}

/* md_load - parse PATH; errors reported through yh_error (LOG) or
 * yh_log.  The table, or NULL.  *ABSENT_R set when the file is missing. */
static struct md_table *
md_load(const char *path, int report, int *absent_r)
{
	struct md_errs errs;
	struct md_table *t;
	char *text;
	size_t len, i;

	*absent_r = 0;
	if (md_read_file(path, &text, &len) == -1) {
		*absent_r = errno == ENOENT;
		if (report)
			yh_error("%s: %s", path, strerror(errno));
		else if (errno != ENOENT)
			yh_log(YH_LOG_WARN, "%s: %s", path, strerror(errno));
		return NULL;
	}
	memset(&errs, 0, sizeof(errs));
	t = md_parse(path, text, len, &errs);
	free(text);
	for (i = 0; i < errs.n; i++) {
		if (report)
			yh_error("%s", errs.msg[i]);
		else
			yh_log(YH_LOG_WARN, "%s (table not used)", errs.msg[i]);
	}
	if (errs.count > errs.n && report)
		yh_error("%s: %zu more errors", path, errs.count - errs.n);
	for (i = 0; i < errs.nwarn; i++)
		yh_log(YH_LOG_WARN, "%s", errs.warn[i]);
	md_warns_free(&errs);
	md_errs_free(&errs);
	return t;
}

static int
md_cidr_parse(const char *s, struct md_cidr *c)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	long b;

	if (n == 0 || n >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, a, c->a) == 1) {
		c->fam = AF_INET;
		c->bits = 32;
	} else if (inet_pton(AF_INET6, a, c->a) == 1) {
		c->fam = AF_INET6;
		c->bits = 128;
	} else
		return -1;
	if (slash) {
		errno = 0;
		b = strtol(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1 || b < 0 || b > c->bits)
			return -1;
		c->bits = (int)b;
	}
	return 0;
}

static int
md_cidr_has(const struct md_cidr *c, const char *ip)
{
	unsigned char a[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET, i, full, rest;

	if (fam != c->fam || inet_pton(fam, ip, a) != 1)
		return 0;
	full = c->bits / 8;
	rest = c->bits % 8;
	for (i = 0; i < full; i++)
		if (a[i] != c->a[i])
			return 0;
	return rest == 0 ||
	    ((a[full] ^ c->a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* md_home - HOME, or NULL. */
static const char *
md_home(void)
{
	const char *h = yh_server_get("server.home");

	return h && *h ? h : NULL;
}

/* md_home_copy - HOME into BUF (yh_server_get's answer lives until its
 * next call), or NULL. */
static const char *
md_home_copy(char *buf, size_t size)
{
	const char *h = md_home();

	if (h == NULL || strlen(h) >= size)
		return NULL;
	memcpy(buf, h, strlen(h) + 1);
	return buf;
}

/*
 * md_folder - the backup folder of R into OUT: Folder: as it is when
 * absolute, else under BASE (HOME for the server table, the account's
 * mailbox folder for a per-account table, which may not name an absolute
 * one); "viruslog" when R has none.  0 or -1.
 */
static int
md_folder(const struct md_rule *r, const char *base, int account, char *out,
    size_t size)
{
	const char *f = r && r->folder ? r->folder : "viruslog";

	if (f[0] == '/') {
		if (account)
			return -1;
		return snprintf(out, size, "%s", f) >= (int)size ? -1 : 0;
	}
	if (base == NULL)
		return -1;
	return snprintf(out, size, "%s/%s", base, f) >= (int)size ? -1 : 0;
}

/*
 * md_mkdir_walk - create DIR and its missing parents, as the master (root)
 * at load or a worker (the server user) at delivery.  Each component is
 * made and opened from its parent's fd: in a folder someone other than
 * root may write, a component that is a link is refused (O_NOFOLLOW:
 * ELOOP), never followed, since the server user could have planted it;
 * only in a folder that root alone can write are links followed (the
 * admin's).  A folder created is given to PW (when not NULL and root)
 * through its fd, never by name.  0 or -1 (errno).
 * Must never: follow a link or chown a path in a folder the server user
 * can write.
 */
static int
md_mkdir_walk(const char *dir, const struct passwd *pw)
{
	char buf[4096], *p, *next;
	struct stat st;
	int fd, nfd, flags, created, saved;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(buf[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (p = buf; fd != -1 && *p; p = next) {
		next = strchr(p, '/');
		if (next != NULL)
			*next++ = '\0';
		else
			next = p + strlen(p);
		if (*p == '\0' || strcmp(p, ".") == 0)
			continue;
		if (fstat(fd, &st) == -1)
			goto fail;
		flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
		if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
			flags |= O_NOFOLLOW;
		created = mkdirat(fd, p, 0750) == 0;
		if (!created && errno != EEXIST)
			goto fail;
		if ((nfd = openat(fd, p, flags)) == -1) {
			if (errno == ENOTDIR && fstatat(fd, p, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				errno = ELOOP;	/* say "link", not "file" */
			goto fail;
		}
		close(fd);
		fd = nfd;
		if (created && pw != NULL && geteuid() == 0 &&
		    fchown(fd, pw->pw_uid, pw->pw_gid) == -1)
			goto fail;
	}
	if (fd == -1)
		return -1;
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * md_mkdirs - create the server table's backup folders as root (init: the
 * master, at start and on every reload), for the server user
 * (md_mkdir_walk: never through a link the server user could plant).
 */
static void
md_mkdirs(const struct md_table *t)
{
	const char *user = yh_server_get("server.user");
	struct passwd *pw = getpwnam(user && *user ? user : "nobody");
	const char *home = md_home();
	char dir[4096], base[2048];
	struct stat st;
	size_t i;

	if (home == NULL || strlen(home) >= sizeof(base))
		return;
	memcpy(base, home, strlen(home) + 1);	/* md_home's answer is brief */
	if (stat(base, &st) == -1)
		return;		/* yubind -t before `yubinctl setup` */
	for (i = 0; i <= t->n; i++) {
		if (i < t->n && (!t->rules[i].backup || t->rules[i].folder == NULL))
			continue;
		if (md_folder(i < t->n ? &t->rules[i] : NULL, base, 0, dir,
		    sizeof(dir)) == -1)
			continue;
		if (md_mkdir_walk(dir, pw) == -1)
			yh_log(YH_LOG_WARN, "backup folder %s: %s", dir,
			    strerror(errno));
	}
}

static const struct yh_key maildat_keys[] = {
	{ "file",	  YH_KEY_PATH,	   "mail.dat", 0, 0 },
	{ "scan_limit",	  YH_KEY_SIZE,	   "1M", 1024, 64LL * 1024 * 1024 },
	/* milliseconds as a bare number, as it always was */
	{ "rbl_timeout",  YH_KEY_INT,	   "3000", 1, 60000 },
	{ "register_ttl", YH_KEY_DURATION, "0", 0, 0 },	/* 0: until removed */
	{ "exempt",	  YH_KEY_LIST,	   NULL, 0, 0 },
	{ "exempt_auth",  YH_KEY_BOOL,	   "0", 0, 0 },
	{ "per_account",  YH_KEY_BOOL,	   "1", 0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* md_init - the next generation: mail.dat and the settings (the core
 * checked their forms); the running one is untouched. */
static int
md_init(const struct yh_config *cfg, void **gen)
{
	struct md_conf *c = md_alloc(sizeof(*c));
	const char *const *words;
	size_t i, n;
	int absent, bad = 0;

	c->table = md_load(yh_config_path(cfg, "file"), 1, &absent);
	if (c->table == NULL)
		bad = 1;
	c->scan = (size_t)yh_config_size(cfg, "scan_limit");
	c->rbl_ms = (int)yh_config_int(cfg, "rbl_timeout");
	c->reg_ttl = yh_config_duration(cfg, "register_ttl") / 1000;
	c->exempt_auth = yh_config_bool(cfg, "exempt_auth");
	c->per_account = yh_config_bool(cfg, "per_account");
	n = yh_config_list(cfg, "exempt", &words);
	if (n > 0)
		c->exempt = md_alloc(n * sizeof(*c->exempt));
	for (i = 0; i < n; i++) {
		if (md_cidr_parse(words[i], &c->exempt[c->nexempt]) == -1) {
			yh_error("[plugin maildat] exempt: '%s' is not an "
			    "address or CIDR", words[i]);
			bad = 1;
		} else
			c->nexempt++;
	}
	if (bad) {
		md_conf_free(&c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
md_commit(void *gen)
{
	struct md_conf *c = gen;

	md_mkdirs(c->table);
	md_conf_free(&md_cf);
	md_cf = c;
}

static void
md_discard(void *gen)
{
	struct md_conf *c = gen;

	md_conf_free(&c);
}

static void
md_fini(void)
{
	md_conf_free(&md_cf);
}

/* ---- actions ------------------------------------------------------------ */

static int
md_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* md_copy - FD from offset OFF to its end onto OUT.  0 or -1. */
static int
md_copy(int fd, off_t off, int out)
{
	char chunk[65536];
	ssize_t n;

	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		if (md_write_all(out, chunk, (size_t)n) == -1)
			return -1;
		off += n;
	}
	return n == -1 ? -1 : 0;
}

/* md_backup - the message as received into R's folder (under BASE, see
 * md_folder; ACCOUNT when the rule is from that account's table) as
 * QUEUEID, and the envelope and rule beside it as QUEUEID.env. */
static void
md_backup(struct yh_session *s, const struct md_rule *r, int fd,
    const char *base, const char *account)
{
	char dir[4096], path[4200], env[8192];
	const char *qid = yh_queue_id(s), *snd = yh_sender(s);
	size_t i, len;
	int out, fl = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

	if (*qid == '\0' || md_folder(r, base, account != NULL, dir,
	    sizeof(dir)) == -1) {
		yh_log(YH_LOG_ERR, "rule=\"%s\"%s%s: no backup folder%s", r->name,
		    account ? " account=" : "", account ? account : "",
		    account && r->folder && r->folder[0] == '/' ? " (an account's "
		    "Folder: must be relative)" : "");
		return;
	}
	(void)md_mkdir_walk(dir, NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, qid);
	out = open(path, fl, 0640);
	if (out == -1 || md_copy(fd, 0, out) == -1) {
		yh_log(YH_LOG_ERR, "rule=\"%s\": backup %s: %s", r->name, path,
		    strerror(errno));
		if (out != -1)
			close(out);
		return;
	}
	close(out);
	len = (size_t)snprintf(env, sizeof(env), "rule: %s\nlevel: %d%d%d\n"
	    "queue-id: %s\nclient: %s\nhelo: %s\nauth: %s\nfrom: <%s>\n",
	    r->name, r->action, r->backup, r->reg, qid, yh_peer_ip(s),
	    yh_helo(s), yh_auth_user(s), snd ? snd : "");
	for (i = 0; i < yh_rcpt_count(s) && len < sizeof(env) - 300; i++)
		len += (size_t)snprintf(env + len, sizeof(env) - len,
		    "to: <%s>\n", yh_rcpt_addr(s, i));
	if (len >= sizeof(env))
		len = sizeof(env) - 1;
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".env");
	out = open(path, fl, 0640);
	if (out == -1 || md_write_all(out, env, len) == -1)
		yh_log(YH_LOG_ERR, "rule=\"%s\": backup %s: %s", r->name, path,
		    strerror(errno));
	if (out != -1)
		close(out);
}

static const char md_b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* md_tag_text - TAG as header text: itself when ASCII, else an encoded
 * word.  Owned. */
static char *
md_tag_text(const char *tag)
{
	size_t n = strlen(tag), i, o = 0;
	const unsigned char *p = (const unsigned char *)tag;
	char *out;
	unsigned v;

	for (i = 0; i < n; i++)
		if (p[i] >= 0x80)
			break;
	if (i == n)
		return md_strdup(tag);
	out = md_alloc(n * 2 + 32);
	o = (size_t)sprintf(out, "=?UTF-8?B?");
	for (i = 0; i < n; i += 3) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = md_b64chars[(v >> 18) & 63];
		out[o++] = md_b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? md_b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? md_b64chars[v & 63] : '=';
	}
	memcpy(out + o, "?=", 3);
	return out;
}

/* a buffered line reader over a descriptor */
struct md_reader {
	int	 fd;
	off_t	 off;
	char	 buf[65536];
	size_t	 pos, len;
	int	 partial;	/* the piece returned last ends no line */
};

/* md_getline - the next line with its LF into LINE; a line longer than
 * LINE's ceiling comes in pieces (PARTIAL set on all but the last), so
 * nothing is dropped.  1, 0 at the end, -1 on a read error. */
static int
md_getline(struct md_reader *r, struct md_text *line)
{
	ssize_t n;
	size_t take;
	char *nl;

	line->len = 0;
	line->full = 0;
	r->partial = 0;
	for (;;) {
		if (r->pos == r->len) {
			n = pread(r->fd, r->buf, sizeof(r->buf), r->off);
			if (n == -1)
				return -1;
			if (n == 0)
				return line->len > 0;
			r->off += n;
			r->pos = 0;
			r->len = (size_t)n;
		}
		nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		take = nl ? (size_t)(nl - r->buf - r->pos) + 1 : r->len - r->pos;
		if (take > line->max - line->len) {
			take = line->max - line->len;
			md_text_add(line, r->buf + r->pos, take);
			r->pos += take;
			r->partial = 1;
			return 1;
		}
		md_text_add(line, r->buf + r->pos, take);
		r->pos += take;
		if (nl != NULL)
			return 1;
	}
}

enum md_wmode { MDW_NONE, MDW_INLINE, MDW_INLINE_QP, MDW_FIRSTPART, MDW_WRAP };

static int
md_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* md_inline - how WARNING goes at the head of the text of a single part
 * P: as it is, quoted-printable encoded, or not at all (MDW_WRAP). */
static enum md_wmode
md_inline(const struct md_part *p, const char *warning)
{
	int ascii = md_ascii(warning);
	int utf8cs = p->charset[0] == '\0' ||
	    strcasecmp(p->charset, "utf-8") == 0 ||
	    strcasecmp(p->charset, "us-ascii") == 0;

	if (p->type[0] == '\0' || strcmp(p->type, "text/plain") == 0) {
		if ((p->cte[0] == '\0' || strcmp(p->cte, "7bit") == 0 ||
		    strcmp(p->cte, "8bit") == 0 || strcmp(p->cte, "binary") == 0) &&
		    (ascii || (utf8cs && strcmp(p->cte, "7bit") != 0)))
			return MDW_INLINE;
		if (strcmp(p->cte, "quoted-printable") == 0 && ascii)
			return MDW_INLINE_QP;
	}
	return MDW_WRAP;
}

/* md_wmode - where the warning goes for a message whose top-level MIME
 * header is TOP. */
static enum md_wmode
md_wmode(const struct md_part *top, const char *warning)
{
	if (strncmp(top->type, "multipart/", 10) == 0 && top->boundary[0])
		return MDW_FIRSTPART;
	return md_inline(top, warning);
}

/* md_put_warning - WARNING and a blank line, quoted-printable when QP. */
static void
md_put_warning(FILE *out, const char *warning, int qp)
{
	size_t i;

	for (i = 0; warning[i]; i++)
		if (qp && warning[i] == '=')
			fputs("=3D", out);
		else
			fputc(warning[i], out);
	fputc('\n', out);
}

/*
 * The warning of a multipart message goes inside its first text part: the
 * body is followed line by line down the first part of each multipart (up
 * to MD_MIME_DEPTH levels) to the first leaf.  A text/plain leaf that can
 * take the text as it is (or quoted-printable, for ASCII text) gets it at
 * the head of its body; any other leaf (base64, another charset, HTML, an
 * attachment) gets a text/plain part of its own placed before it.  The
 * boundaries and every other line are left as they are, so the message
 * stays valid MIME.
 */
struct md_fp {
	char		 bnd[sizeof(((struct md_part *)0)->boundary)];
	int		 in_hdr;	/* inside a part's header */
	int		 depth;
	int		 done;		/* placed, or given up */
	int		 placed;
	struct md_text	 h;		/* the part's header lines so far */
};

#define MD_PART_HDR_MAX	(64 * 1024)	/* a part header looked at */

/* md_delim - 1 when LINE (N bytes) is the delimiter of BND, 2 its close
 * delimiter, 0 neither. */
static int
md_delim(const char *line, size_t n, const char *bnd)
{
	size_t bl = strlen(bnd), i;
	int close = 0;

	if (n < bl + 2 || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, bnd, bl) != 0)
		return 0;
	i = bl + 2;
	if (n >= i + 2 && line[i] == '-' && line[i + 1] == '-') {
		close = 1;
		i += 2;
	}
	for (; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
		    line[i] != '\n')
			return 0;
	return close ? 2 : 1;
}

/* md_fp_line - one body line P (N bytes) of a multipart message onto OUT,
 * the warning placed on the way. */
static void
md_fp_line(struct md_fp *fp, const char *p, size_t n, const char *warning,
    FILE *out)
{
	struct md_part sub;
	enum md_wmode how;
	int d;

	if (!fp->in_hdr) {
		fwrite(p, 1, n, out);
		d = md_delim(p, n, fp->bnd);
		if (d == 1) {
			fp->in_hdr = 1;
			fp->h.len = 0;
			fp->h.full = 0;
		} else if (d == 2)
			fp->done = 1;	/* an empty multipart: nowhere to go */
		return;
	}
	if (!(p[0] == '\n' || (p[0] == '\r' && n == 2))) {
		if (fp->h.len + n > MD_PART_HDR_MAX) {
			fwrite(fp->h.data, 1, fp->h.len, out);
			fwrite(p, 1, n, out);
			fp->done = 1;
			return;
		}
		md_text_add(&fp->h, p, n);
		return;
	}
	/* the end of the part's header */
	fp->in_hdr = 0;
	md_part_header(fp->h.data ? fp->h.data : "", (fp->h.data ? fp->h.data :
	    "") + fp->h.len, &sub);
	if (strncmp(sub.type, "multipart/", 10) == 0 && sub.boundary[0] &&
	    fp->depth < MD_MIME_DEPTH) {
		fwrite(fp->h.data, 1, fp->h.len, out);
		fwrite(p, 1, n, out);
		memcpy(fp->bnd, sub.boundary, sizeof(fp->bnd));
		fp->depth++;
		return;
	}
	how = md_inline(&sub, warning);
	if (how == MDW_WRAP)
		fprintf(out, "Content-Type: text/plain; charset=UTF-8\n"
		    "Content-Transfer-Encoding: 8bit\n\n%s\n--%s\n", warning,
		    fp->bnd);
	if (fp->h.len > 0)
		fwrite(fp->h.data, 1, fp->h.len, out);
	fwrite(p, 1, n, out);
	if (how != MDW_WRAP)
		md_put_warning(out, warning, how == MDW_INLINE_QP);
	fp->placed = fp->done = 1;
}

static int
md_is_field(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/*
 * md_rewrite_to - a new copy of the message FD onto OUT: HDR (a whole
 * "Name: value" line, when not NULL) on top, TAG at the head of the Subject
 * (when not NULL) and WARNING at the head of the body (when not NULL).
 * 0 or -1.
 */
static int
md_rewrite_to(struct yh_session *s, struct md_msg *m, int fd, const char *tag,
    const char *warning, const char *hdr, FILE *out)
{
	struct md_reader rd;
	struct md_text line;
	enum md_wmode mode = MDW_NONE;
	struct md_fp fp;
	char bnd[64], *tagtext = NULL;
	const char *p;
	int r, in_hdr = 1, subj_done = 0, skipping = 0, wrote_warning = 0, rc = -1;
	int have_mime = 0, cont = 0;

	if (hdr)
		fprintf(out, "%s\n", hdr);
	if (warning) {
		md_body_decode(m, 1);	/* fills m->top */
		mode = md_wmode(&m->top, warning);
	}
	if (tag)
		tagtext = md_tag_text(tag);
	snprintf(bnd, sizeof(bnd), "=_yubin_%s", yh_queue_id(s));
	memset(&rd, 0, sizeof(rd));
	rd.fd = fd;
	memset(&fp, 0, sizeof(fp));
	md_text_init(&fp.h, MD_PART_HDR_MAX);
	memcpy(fp.bnd, m->top.boundary, sizeof(fp.bnd));
	md_text_init(&line, 4 * 1024 * 1024);
	while ((r = md_getline(&rd, &line)) == 1) {
		p = line.data;
		if (cont) {
			/* the rest of a very long line (a part header that
			 * long has made md_fp_line give up already) */
			cont = rd.partial;
			if (!(in_hdr && skipping))
				fwrite(p, 1, line.len, out);
			continue;
		}
		cont = rd.partial;
		if (in_hdr) {
			if (line.len >= 1 && (p[0] == ' ' || p[0] == '\t')) {
				if (!skipping)
					fwrite(p, 1, line.len, out);
				continue;
			}
			skipping = 0;
			if (p[0] == '\n' || (p[0] == '\r' && line.len == 2)) {
				in_hdr = 0;
				if (tagtext && !subj_done)
					fprintf(out, "Subject: %s\n", tagtext);
				if (mode == MDW_WRAP) {
					if (!have_mime)
						fprintf(out, "MIME-Version: 1.0\n");
					fprintf(out, "Content-Type: multipart/mixed; "
					    "boundary=\"%s\"\n", bnd);
				}
				fwrite(p, 1, line.len, out);
				if (mode == MDW_INLINE || mode == MDW_INLINE_QP) {
					md_put_warning(out, warning,
					    mode == MDW_INLINE_QP);
					wrote_warning = 1;
				} else if (mode == MDW_WRAP) {
					fprintf(out, "This is a multi-part message in "
					    "MIME format.\n\n--%s\nContent-Type: text/"
					    "plain; charset=UTF-8\nContent-Transfer-"
					    "Encoding: 8bit\n\n%s\n--%s\n", bnd, warning,
					    bnd);
					fprintf(out, "Content-Type: %s%s%s\n",
					    m->top.type[0] ? m->top.type : "text/plain",
					    m->top.charset[0] ? "; charset=" : "",
					    m->top.charset);
					if (m->top.cte[0])
						fprintf(out, "Content-Transfer-Encoding: "
						    "%s\n", m->top.cte);
					fputc('\n', out);
					wrote_warning = 1;
				}
				continue;
			}
			if (md_is_field(p, line.len, "MIME-Version"))
				have_mime = 1;
			if (tagtext && !subj_done && md_is_field(p, line.len, "Subject")) {
				const char *v = p + 8;

				while (*v == ' ' || *v == '\t')
					v++;
				fprintf(out, "Subject: %s ", tagtext);
				fwrite(v, 1, line.len - (size_t)(v - p), out);
				subj_done = 1;
				continue;
			}
			if (mode == MDW_WRAP && (md_is_field(p, line.len,
			    "Content-Type") || md_is_field(p, line.len,
			    "Content-Transfer-Encoding"))) {
				skipping = 1;
				continue;
			}
			fwrite(p, 1, line.len, out);
			continue;
		}
		if (mode == MDW_FIRSTPART && !fp.done) {
			md_fp_line(&fp, p, line.len, warning, out);
			continue;
		}
		fwrite(p, 1, line.len, out);
	}
	if (r == -1)
		goto done;
	if (mode == MDW_FIRSTPART) {
		if (fp.in_hdr && !fp.done && fp.h.len > 0)	/* cut short */
			fwrite(fp.h.data, 1, fp.h.len, out);
		wrote_warning = fp.placed;
	}
	if (warning && !wrote_warning)
		goto done;		/* nowhere to put it: unchanged */
	if (in_hdr && tagtext && !subj_done)	/* header only, no body */
		fprintf(out, "Subject: %s\n", tagtext);
	if (mode == MDW_WRAP && wrote_warning)
		fprintf(out, "\n--%s--\n", bnd);
	if (fflush(out) == 0 && !ferror(out))
		rc = 0;
done:
	md_text_free(&line);
	md_text_free(&fp.h);
	free(tagtext);
	return rc;
}

/*
 * md_rewrite - the message FD changed as md_rewrite_to does, handed to the
 * core with yh_message_replace: it becomes the stored message.  0 or -1.
 */
static int
md_rewrite(struct yh_session *s, struct md_msg *m, int fd, const char *tag,
    const char *warning)
{
	FILE *out = tmpfile();
	int rc = -1;

	if (out == NULL)
		return -1;
	if (md_rewrite_to(s, m, fd, tag, warning, NULL, out) == 0 &&
	    yh_message_replace(s, fileno(out)) == 0)
		rc = 0;
	fclose(out);
	return rc;
}

static void
md_log_match(struct yh_session *s, const struct md_rule *r, const char *hit,
    const char *table, const char *account)
{
	char rcpts[1024];
	const char *snd = yh_sender(s);
	size_t i, len = 0;

	rcpts[0] = '\0';
	for (i = 0; i < yh_rcpt_count(s) && len < sizeof(rcpts) - 300; i++)
		len += (size_t)snprintf(rcpts + len, sizeof(rcpts) - len, "%s<%s>",
		    i ? "," : "", yh_rcpt_addr(s, i));
	yh_log(YH_LOG_INFO, "match rule=\"%s\" level=%d%d%d table=%s%s%s%s%s "
	    "client=%s from=<%s> to=%s", r->name, r->action, r->backup, r->reg,
	    table, account ? " account=" : "", account ? account : "",
	    *hit ? " listed=" : "", hit, yh_peer_ip(s), snd ? snd : "", rcpts);
}

/* md_register - the register digit of R: block the client. */
static void
md_register(struct yh_session *s, const struct md_rule *r)
{
	char reason[300];

	if (!r->reg)
		return;
	snprintf(reason, sizeof(reason), "maildat rule %s", r->name);
	if (yh_block_add(yh_peer_ip(s), md_cf->reg_ttl, reason) == -1)
		yh_log(YH_LOG_ERR, "rule=\"%s\": cannot register client=%s",
		    r->name, yh_peer_ip(s));
}

/* md_apply - act on R for the whole message.  A YH_* result. */
static int
md_apply(struct yh_session *s, struct md_msg *m, int fd,
    const struct md_rule *r)
{
	char home[2048];
	const char *fw[1];
	int rc = YH_DECLINED;

	if (r->backup)
		md_backup(s, r, fd, md_home_copy(home, sizeof(home)), NULL);
	md_register(s, r);
	switch (r->action) {
	case 1:
		yh_reply(s, 550, "5.7.1", "message refused by filter rule %s",
		    r->name);
		return YH_DENY;
	case 2:
		if (md_rewrite(s, m, fd, NULL, r->warning) == -1)
			yh_log(YH_LOG_ERR, "rule=\"%s\": cannot insert the warning",
			    r->name);
		break;
	case 3:
	case 6:
		if (md_rewrite(s, m, fd, r->tag, NULL) == -1)
			yh_log(YH_LOG_ERR, "rule=\"%s\": cannot tag the Subject",
			    r->name);
		break;
	case 4:
	case 7:
		if (yh_header_add(s, r->tag_name, r->tag + strlen(r->tag_name) +
		    1) == -1)
			yh_log(YH_LOG_ERR, "rule=\"%s\": cannot add the header",
			    r->name);
		break;
	default:
		break;
	}
	if (r->action >= 5) {
		fw[0] = r->forward;
		if (yh_rcpt_replace(s, fw, 1) == -1)
			yh_log(YH_LOG_ERR, "rule=\"%s\": cannot redirect to <%s>; "
			    "the original recipients keep the message", r->name,
			    r->forward);
	}
	return rc;
}

/* ---- per-account tables ------------------------------------------------- */

/* what an account's table does with that account's copy */
enum md_fate { MDA_KEEP, MDA_REFUSE, MDA_REDIRECT, MDA_CHANGE };

/* one account among the recipients */
struct md_acct {
	char		 name[MD_ACCT_MAX + 1];
	struct md_table	*t;
	const struct md_rule *r;	/* the matching rule, or NULL */
	enum md_fate	 fate;
	int		 own;		/* MDA_CHANGE: queued as a copy of its own */
	int		 failed;	/* that failed: stored unchanged, not redirected */
};

/* md_fate - what rule R (or none) does to an account's copy. */
static enum md_fate
md_fate(const struct md_rule *r)
{
	if (r == NULL)
		return MDA_KEEP;
	switch (r->action) {
	case 1:
		return MDA_REFUSE;
	case 5:
		return MDA_REDIRECT;
	case 2:
	case 3:
	case 4:
	case 6:
	case 7:
		return MDA_CHANGE;
	default:
		return MDA_KEEP;
	}
}

/* md_acct_table - the table of the account whose folder is DIR, or NULL. */
static struct md_table *
md_acct_table(const char *dir)
{
	char path[4200];
	int absent;

	if (strlen(dir) + sizeof("/mail.dat") > sizeof(path))
		return NULL;
	snprintf(path, sizeof(path), "%.4180s/mail.dat", dir);
	return md_load(path, 0, &absent);
}

/*
 * md_inject_copy - queue the message FD changed by account A's rule for
 * the recipients of A (IX lists which: grp[i] == IX), or for the rule's
 * Forward: (actions 6, 7), on its own: a copy carries one account's change
 * and nobody else's.  0, or -1 when it could not be queued (logged).
 */
static int
md_inject_copy(struct yh_session *s, struct md_msg *m, int fd,
    const struct md_acct *a, const int *grp, size_t ix)
{
	const struct md_rule *r = a->r;
	const char *to[1000], *snd = yh_sender(s);
	char hdr[MD_LINE_MAX + 8], qid[32];
	size_t n = yh_rcpt_count(s), i, nto = 0;
	long sz;
	void *map;
	FILE *out;
	int rc = -1;

	if (r->action >= 5)
		to[nto++] = r->forward;
	else
		for (i = 0; i < n; i++)
			if (grp[i] == (int)ix)
				to[nto++] = yh_rcpt_addr(s, i);
	hdr[0] = '\0';
	if (r->action == 4 || r->action == 7)
		snprintf(hdr, sizeof(hdr), "%s: %s", r->tag_name,
		    r->tag + strlen(r->tag_name) + 1);
	if ((out = tmpfile()) == NULL)
		goto fail;
	if (md_rewrite_to(s, m, fd, r->action == 3 || r->action == 6 ?
	    r->tag : NULL, r->action == 2 ? r->warning : NULL,
	    hdr[0] ? hdr : NULL, out) == -1 || (sz = ftell(out)) <= 0) {
		fclose(out);
		goto fail;
	}
	map = mmap(NULL, (size_t)sz, PROT_READ, MAP_PRIVATE, fileno(out), 0);
	if (map != MAP_FAILED) {
		rc = yh_copy_add(s, snd ? snd : "", to, nto, map, (size_t)sz,
		    qid);
		munmap(map, (size_t)sz);
	}
	fclose(out);
	if (rc == 0) {
		yh_log(YH_LOG_INFO, "copy for account=%s changed by rule=\"%s\" "
		    "queued as %s nrcpt=%zu (with the message)", a->name, r->name,
		    qid, nto);
		return 0;
	}
fail:
	yh_log(YH_LOG_ERR, "rule=\"%s\" account=%s: cannot queue the changed "
	    "copy; it is stored unchanged", r->name, a->name);
	return -1;
}

/* md_carry - the message itself becomes account A's copy (every other
 * copy was refused or queued on its own). */
static void
md_carry(struct yh_session *s, struct md_msg *m, int fd,
    const struct md_acct *a)
{
	const struct md_rule *r = a->r;
	int ok = 0;

	if (r->action == 2)
		ok = md_rewrite(s, m, fd, NULL, r->warning) == 0;
	else if (r->action == 3 || r->action == 6)
		ok = md_rewrite(s, m, fd, r->tag, NULL) == 0;
	else if (r->action == 4 || r->action == 7)
		ok = yh_header_add(s, r->tag_name, r->tag +
		    strlen(r->tag_name) + 1) == 0;
	if (!ok)
		yh_log(YH_LOG_ERR, "rule=\"%s\" account=%s: cannot change the "
		    "message; it is stored unchanged", r->name, a->name);
}

/* md_envelope - the recipients the message itself keeps into KEEP:
 * unchanged copies, Forward: of redirected accounts, and the accounts whose
 * changed copy is not queued on its own.  The count. */
static size_t
md_envelope(struct yh_session *s, const struct md_acct *acc, const int *grp,
    const char **keep)
{
	size_t n = yh_rcpt_count(s), i, j, nkeep = 0;
	const struct md_acct *a;

	for (i = 0; i < n; i++) {
		a = grp[i] >= 0 ? &acc[grp[i]] : NULL;
		if (a == NULL || a->fate == MDA_KEEP ||
		    (a->fate == MDA_CHANGE && !a->own)) {
			if (a && a->fate == MDA_CHANGE && !a->failed &&
			    a->r->action >= 5) {
				/* the carried copy goes to Forward:, once */
				for (j = 0; j < i && grp[j] != grp[i]; j++)
					;
				if (j == i)
					keep[nkeep++] = a->r->forward;
			} else
				keep[nkeep++] = yh_rcpt_addr(s, i);
		} else if (a->fate == MDA_REDIRECT) {
			for (j = 0; j < i && grp[j] != grp[i]; j++)
				;
			if (j == i)
				keep[nkeep++] = a->r->forward;
		}
	}
	return nkeep;
}

/*
 * md_per_account - the per-account tables of the recipients, each table
 * once for all recipients of its account, each deciding that account's
 * copy only:
 *  - refuse: the account's recipients leave the envelope (every copy
 *    refused: 550 5.7.1 at DATA);
 *  - redirect (5): the account's recipients are replaced by Forward:;
 *  - change (2, 3, 4, 6, 7): the changed copy is written on its own with
 *    yh_copy_add for the account's recipients (or Forward:), and they leave
 *    the envelope; when no unchanged copy remains, the message itself
 *    carries the first changed account's copy instead.
 * The copies belong to the transaction (yh_copy_add): the core queues them
 * in the same step as the message, before the 250, or drops them with it
 * when a later plugin or the core refuses it; a copy that cannot be
 * written stays in the message, unchanged and for its own recipients
 * (logged): nothing is lost.  The recipients are set (and so checked)
 * before any copy is written, so a Forward: the core refuses leaves every
 * copy unchanged.
 */
static int
md_per_account(struct yh_session *s, struct md_msg *m, int fd)
{
	struct md_acct *acc;
	const char *acct, *keep[1000];
	char hit[MD_DOMAIN_MAX + 1], dir[4200];
	size_t n = yh_rcpt_count(s), i, j, nacc = 0, nkeep;
	int grp[1000], carrier = -1, unchanged = 0, matched = 0;
	int rc = YH_DECLINED;

	if (n == 0 || n > 1000)
		return YH_DECLINED;

	/* each account's table once, matched before any copy is built */
	acc = md_alloc(n * sizeof(*acc));
	for (i = 0; i < n; i++) {
		grp[i] = -1;
		acct = yh_rcpt_account(s, i);
		if (acct == NULL || strlen(acct) > MD_ACCT_MAX ||
		    strchr(acct, '/') || acct[0] == '.')
			continue;
		for (j = 0; j < nacc && strcmp(acc[j].name, acct) != 0; j++)
			;
		grp[i] = (int)j;
		if (j < nacc)
			continue;
		nacc++;
		memcpy(acc[j].name, acct, strlen(acct) + 1);
		if (yh_account_dir(acct, dir, sizeof(dir)) == -1)
			continue;
		acc[j].t = md_acct_table(dir);
		if (acc[j].t != NULL)
			acc[j].r = md_table_match(acc[j].t, m, md_cf->scan,
			    md_cf->rbl_ms, hit, sizeof(hit));
		acc[j].fate = md_fate(acc[j].r);
		if (acc[j].r != NULL) {
			matched = 1;
			md_log_match(s, acc[j].r, hit, "account", acct);
			if (acc[j].r->backup)
				md_backup(s, acc[j].r, fd, dir, acct);
			md_register(s, acc[j].r);
		}
	}
	for (j = 0; j < nacc && acc[j].fate == MDA_KEEP; j++)
		;
	if (!matched || j == nacc)
		goto done;		/* every copy as it is */

	for (i = 0; i < n; i++) {
		if (grp[i] < 0 || acc[grp[i]].fate == MDA_KEEP ||
		    acc[grp[i]].fate == MDA_REDIRECT)
			unchanged = 1;
		else if (acc[grp[i]].fate == MDA_REFUSE)
			yh_log(YH_LOG_INFO, "copy for <%s> refused rule=\"%s\" "
			    "account=%s", yh_rcpt_addr(s, i), acc[grp[i]].r->name,
			    acc[grp[i]].name);
	}
	/* changed copies go on their own, but one that the message can carry */
	for (j = 0; j < nacc; j++) {
		if (acc[j].fate != MDA_CHANGE)
			continue;
		if (!unchanged && carrier == -1)
			carrier = (int)j;
		else
			acc[j].own = 1;
	}
	nkeep = md_envelope(s, acc, grp, keep);
	if (nkeep == 0) {
		yh_reply(s, 550, "5.7.1", "message refused by the recipients' "
		    "filter rules");
		rc = YH_DENY;
		goto done;
	}
	/* checked before anything is queued: it fails with nothing changed */
	if (yh_rcpt_replace(s, keep, nkeep) == -1) {
		yh_log(YH_LOG_ERR, "cannot change the recipients; every copy "
		    "is stored unchanged");
		goto done;
	}
	for (j = 0; j < nacc; j++)
		if (acc[j].own && md_inject_copy(s, m, fd, &acc[j], grp, j) == -1) {
			acc[j].own = 0;		/* rides unchanged */
			acc[j].failed = 1;
		}
	if (carrier >= 0) {
		for (j = 0; j < nacc; j++)
			if (acc[j].fate == MDA_CHANGE && !acc[j].own &&
			    (int)j != carrier)
				break;
		/* a failed copy rides in the message: so must the carrier's */
		if (j == nacc)
			md_carry(s, m, fd, &acc[carrier]);
		else if (md_inject_copy(s, m, fd, &acc[carrier], grp,
		    (size_t)carrier) == 0)
			acc[carrier].own = 1;
		else
			acc[carrier].failed = 1;
	}
	for (j = 0; j < nacc && !acc[j].failed; j++)
		;
	if (j < nacc) {
		/* failed copies back in: addresses the core took already */
		nkeep = md_envelope(s, acc, grp, keep);
		if (yh_rcpt_replace(s, keep, nkeep) == -1) {
			/* the planned recipients would lose those copies */
			yh_log(YH_LOG_ERR, "cannot put the recipients of an "
			    "unqueued copy back; message deferred");
			yh_reply(s, 451, "4.3.0", "filter error; try again later");
			rc = YH_DENYSOFT;
		}
	}
done:
	for (j = 0; j < nacc; j++)
		md_table_free(&acc[j].t);
	free(acc);
	return rc;
}

static int
md_exempt(struct yh_session *s)
{
	const char *ip = yh_peer_ip(s);
	size_t i;

	if (md_cf->exempt_auth && *yh_auth_user(s) != '\0')
		return 1;
	for (i = 0; i < md_cf->nexempt; i++)
		if (md_cidr_has(&md_cf->exempt[i], ip))
			return 1;
	return 0;
}

static int
md_data(struct yh_session *s)
{
	struct md_msg m;
	const struct md_rule *r;
	char hit[MD_DOMAIN_MAX + 1];
	int fd = yh_message_fd(s), rc = YH_DECLINED;

	if (md_cf == NULL || md_cf->table == NULL || fd == -1)
		return YH_DECLINED;
	if (md_exempt(s)) {
		yh_log(YH_LOG_DEBUG, "client=%s exempt: not checked", yh_peer_ip(s));
		return YH_DECLINED;
	}
	if (md_msg_load(&m, fd, 1, 2 * md_cf->scan + 65536) == -1) {
		md_msg_free(&m);
		yh_log(YH_LOG_ERR, "cannot read the message: %s", strerror(errno));
		return YH_DECLINED;
	}
	r = md_table_match(md_cf->table, &m, md_cf->scan, md_cf->rbl_ms, hit,
	    sizeof(hit));
	if (r != NULL) {
		md_log_match(s, r, hit, "server", NULL);
		rc = md_apply(s, &m, fd, r);
	} else if (md_cf->per_account)
		rc = md_per_account(s, &m, fd);
	md_msg_free(&m);
	return rc;
}

static const struct yh_hooks md_hooks = {
	YH_HOOKS_INIT,
	.data = md_data,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "maildat",
	.keys = maildat_keys,
	.init = md_init,
	.commit = md_commit,
	.discard = md_discard,
	.fini = md_fini,
	.hooks = &md_hooks,
};
