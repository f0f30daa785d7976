/*
 * util.c - allocation, error lists, strings and durable file helpers.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		log_fatal("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		log_fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		log_fatal("out of memory (%zu bytes)", n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_fatal("out of memory (asprintf)");
	return p;
}

void
errlist_init(struct errlist *e)
{
	e->msg = NULL;
	e->n = 0;
	e->dropped = 0;
}

void
errlist_add(struct errlist *e, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (e->n >= ERRLIST_MAX) {
		e->dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		log_fatal("out of memory (errlist)");
	va_end(ap);
	e->msg = xrealloc(e->msg, (e->n + 1) * sizeof(*e->msg));
	e->msg[e->n++] = p;
}

size_t
errlist_count(const struct errlist *e)
{
	return e->n + e->dropped;
}

void
errlist_print(const struct errlist *e, void *fp)
{
	FILE *f = fp;
	size_t i;

	for (i = 0; i < e->n; i++)
		fprintf(f, "%s\n", e->msg[i]);
	if (e->dropped)
		fprintf(f, "(%zu more errors not shown)\n", e->dropped);
}

void
errlist_free(struct errlist *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	errlist_init(e);
}

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

char *
str_lower(char *s)
{
	char *p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *
str_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	*e = '\0';
	return s;
}

int
str_casesuffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int
header_is_hop(const char *line, size_t len)
{
	static const char *const names[] = { "received", "delivered-to" };
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (len <= n || strncasecmp(line, names[i], n) != 0)
			continue;
		while (n < len && (line[n] == ' ' || line[n] == '\t'))
			n++;
		if (n < len && line[n] == ':')
			return 1;
	}
	return 0;
}

size_t
header_hops(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *nl;
	size_t n = 0, l;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		l = (size_t)((nl ? nl : end) - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l == 0)
			break;		/* the end of the header section */
		n += (size_t)header_is_hop(p, l);
		p = nl ? nl + 1 : end;
	}
	return n;
}

char *
str_escape(char *out, size_t size, const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (size == 0)
		return out;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= size - 3)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= size - 3)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < len && size > 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

int
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, c, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int
pwrite_all(int fd, const void *p, size_t len, off_t off)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, c, len, off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
read_all(int fd, void *p, size_t size)
{
	char *c = p;
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = read(fd, c + got, size - got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
fsync_dir(const char *path)
{
	int fd, r, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (str_copy(dir, sizeof(dir), path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return fsync_dir(".");
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fsync_dir(dir);
}

/* tmp_name - ".NAME.tmp.XXXXXXXXXXXXXXXX" with 64 random bits, so that no
 * one can guess (and plant) the scratch name. */
static int
tmp_name(char *out, size_t size, const char *name)
{
	unsigned long long r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		errno = EAGAIN;
		return -1;
	}
	if (snprintf(out, size, ".%s.tmp.%016llx", name, r) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

#define TMP_TRIES	8	/* random names tried before giving up */

int
file_tmpat(int dfd, const char *name, mode_t mode, char *tmp, size_t size)
{
	int fd = -1, i;

	if (strchr(name, '/') != NULL || *name == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < TMP_TRIES && fd == -1; i++) {
		if (tmp_name(tmp, size, name) == -1)
			return -1;
		fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
		if (fd == -1 && errno != EEXIST)
			return -1;
	}
	return fd;
}

int
file_write_atomicat(int dfd, const char *name, const void *data, size_t len,
    mode_t mode)
{
	char tmp[NAME_MAX + 1];
	int fd, saved;

	if ((fd = file_tmpat(dfd, name, mode, tmp, sizeof(tmp))) == -1)
		return -1;
	if (write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlinkat(dfd, tmp, 0);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1 || renameat(dfd, tmp, dfd, name) == -1) {
		saved = errno;
		unlinkat(dfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(dfd);
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char dir[PATH_MAX];
	const char *name;
	char *slash;
	int dfd, r, saved;

	if (str_copy(dir, sizeof(dir), path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		name = path;
		strcpy(dir, ".");	/* fits: DIR holds PATH */
	} else {
		name = path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -1;
	r = file_write_atomicat(dfd, name, data, len, mode);
	saved = errno;
	close(dfd);
	errno = saved;
	return r;
}

int
dir_open_verified(const char *path, uid_t owner)
{
	struct stat st;
	int fd, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (owner == (uid_t)-1)
		owner = geteuid();
	if ((st.st_uid != 0 && st.st_uid != owner) || (st.st_mode & S_IWOTH)) {
		errno = EPERM;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
file_read(const char *path, size_t max, char **data_r, size_t *len_r)
{
	struct stat st;
	char *p;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	p = xmalloc((size_t)st.st_size + 1);
	n = read_all(fd, p, (size_t)st.st_size);
	if (n == -1) {
		free(p);
		goto fail;
	}
	p[n] = '\0';
	close(fd);
	*data_r = p;
	*len_r = (size_t)n;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (str_copy(tmp, sizeof(tmp), path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
time_now(void)
{
	static int init;
	static long long offset;
	const char *s;

	if (!init) {
		s = getenv("YUBIN_TEST_CLOCK_OFFSET");
		offset = s ? strtoll(s, NULL, 10) : 0;
		init = 1;
	}
	return (long long)time(NULL) + offset;
}

/*
 * Base64 (RFC 4648 §4, the standard alphabet with padding, no line breaks).
 * One strict decoder for every caller: SASL responses, POP3 AUTH and the
 * salt and key of stored password hashes.
 */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * b64_check - the decoded length of S (LEN characters), or -1 when S is not
 * strict base64: whole quanta, alphabet only, '=' only as the last one or
 * two characters, no white space, zero bits under the padding.
 */
static ssize_t
b64_check(const char *s, size_t len)
{
	size_t i, pad = 0;

	if (len % 4 != 0 || len / 4 > (size_t)SSIZE_MAX / 3)
		return -1;
	if (len > 0 && s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (b64_value((unsigned char)s[i]) < 0)
			return -1;
	if (pad == 2 && (b64_value((unsigned char)s[len - 3]) & 0x0f) != 0)
		return -1;
	if (pad == 1 && (b64_value((unsigned char)s[len - 2]) & 0x03) != 0)
		return -1;
	return (ssize_t)(len / 4 * 3 - pad);
}

/* b64_quantum - decode the 4 checked characters at S into OUT; the bytes
 * written (1-3). */
static size_t
b64_quantum(const char *s, unsigned char *out)
{
	int v[4], j;
	size_t n = 3;

	for (j = 0; j < 4; j++) {
		if (s[j] == '=') {
			v[j] = 0;
			if (n == 3)
				n = j == 2 ? 1 : 2;
		} else
			v[j] = b64_value((unsigned char)s[j]);
	}
	out[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
	out[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
	out[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	return n;
}

ssize_t
b64_decode_mem(const char *s, size_t len, unsigned char *out, size_t size)
{
	unsigned char q[3];
	ssize_t want = b64_check(s, len);
	size_t i, o = 0, n;

	if (want < 0 || (size_t)want > size)
		return -1;
	for (i = 0; i < len; i += 4) {
		n = b64_quantum(s + i, q);
		memcpy(out + o, q, n);
		o += n;
	}
	explicit_bzero(q, sizeof(q));
	return (ssize_t)o;
}

#define B64_CHUNK	3072	/* decoded bytes appended at a time; a multiple of 3 */

int
b64_decode(const char *s, size_t len, struct buf *out)
{
	unsigned char chunk[B64_CHUNK];
	size_t i, o = 0, mark = out->len;

	if (b64_check(s, len) < 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		o += b64_quantum(s + i, chunk + o);
		if (o == sizeof(chunk) || i + 4 == len) {
			if (buf_append(out, chunk, o) == -1)
				goto fail;
			o = 0;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	return buf_append(out, "", 0);
fail:
	explicit_bzero(chunk, sizeof(chunk));
	out->len = mark;
	if (out->data)
		out->data[mark] = '\0';
	return -1;
}

int
b64_encode(const void *p, size_t len, struct buf *out)
{
	const unsigned char *in = p;
	char chunk[B64_CHUNK / 3 * 4];
	size_t o = 0, mark = out->len;
	unsigned v;

	while (len > 0) {
		v = (unsigned)in[0] << 16;
		if (len > 1)
			v |= (unsigned)in[1] << 8;
		if (len > 2)
			v |= in[2];
		chunk[o++] = b64_alphabet[v >> 18 & 63];
		chunk[o++] = b64_alphabet[v >> 12 & 63];
		chunk[o++] = len > 1 ? b64_alphabet[v >> 6 & 63] : '=';
		chunk[o++] = len > 2 ? b64_alphabet[v & 63] : '=';
		in += len > 3 ? 3 : len;
		len -= len > 3 ? 3 : len;
		if (o == sizeof(chunk) || len == 0) {
			if (buf_append(out, chunk, o) == -1) {
				out->len = mark;
				if (out->data)
					out->data[mark] = '\0';
				return -1;
			}
			o = 0;
		}
	}
	return buf_append(out, "", 0);
}

int
hostport_parse(const char *text, char *host, size_t hsize, int *port_r,
    char *why, size_t whysize)
{
	unsigned char bin[16];
	const char *colon, *h = text, *p;
	size_t hlen;
	long port = 0;
	int v6 = 0;

	if (*text == '[') {
		if ((colon = strchr(text, ']')) == NULL || colon[1] != ':')
			goto bad;
		h = text + 1;
		hlen = (size_t)(colon - h);
		colon++;
		v6 = 1;
	} else {
		if ((colon = strrchr(text, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= hsize || hlen >= INET6_ADDRSTRLEN)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1)
		goto bad;
	p = colon + 1;
	if (*p == '\0' || strlen(p) > 5)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		port = port * 10 + (*p - '0');
	}
	if (port > 65535)
		goto bad;
	*port_r = (int)port;
	return 0;
bad:
	snprintf(why, whysize, "expected ADDRESS:PORT (an IPv4 address, or an "
	    "IPv6 address in brackets, and a port 0-65535)");
	if (hsize > 0)
		host[0] = '\0';
	return -1;
}
