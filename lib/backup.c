/*
 * backup.c - the settings backup file; see backup.h for the format.
 *
 * Used by yubinctl only, as the invoking user (root or the server user).
 * The reader checks everything a restore will act on before it returns,
 * so a restore either has a whole, unaltered, valid file or nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "account.h"
#include "backup.h"
#include "mlfile.h"
#include "util.h"

#define BACKUP_HDR_MAX	(BACKUP_NAME_MAX + 80)	/* one record's header line */
#define BACKUP_KEY_MAX	511	/* LMDB's longest key */
#define BACKUP_HEX_LEN	64	/* SHA-256 in hex */

const char *const backup_kind_name[BACKUP_NKINDS] = {
	[BACKUP_CONF] = "conf",
	[BACKUP_ETC] = "etc",
	[BACKUP_ACCOUNT] = "account",
	[BACKUP_FILE] = "file",
	[BACKUP_META] = "meta",
	[BACKUP_PLUGIN] = "plugin",
};

const char *const backup_account_files[] = {
	"config.def", "exec.def", "forward.def", "reply.def", "reply.sab",
	"IMS.CTL", "AUTORPLY.TXT", "NOREPLY.TXT", "PERMITFROM.TXT", "mail.dat",
	ML_DEF_FILE, ML_MEMBER_FILE, NULL
};

/* the LMDB entries a backup keeps: run-time blocks (block.c) and the list
 * plugin's state; nothing else may be restored into the store */
static const struct {
	enum backup_kind kind;
	const char	*prefix;
	size_t		 plen;
} backup_key_prefix[] = {
	{ BACKUP_META, "block/", 6 },
	{ BACKUP_PLUGIN, ML_PLUGIN_NAME "\0", sizeof(ML_PLUGIN_NAME) },
};

int
backup_account_file_ok(const char *name)
{
	size_t i;
	int n;

	for (i = 0; backup_account_files[i]; i++)
		if (strcmp(name, backup_account_files[i]) == 0)
			return 1;
	/* exec2.def .. exec99.def, no leading zero */
	if (strncmp(name, "exec", 4) != 0 || name[4] < '1' || name[4] > '9')
		return 0;
	n = name[4] - '0';
	name += 5;
	if (*name >= '0' && *name <= '9')
		n = n * 10 + *name++ - '0';
	return n >= 2 && strcmp(name, ".def") == 0;
}

/* etc_char_ok - a byte a CONFDIR file name may hold */
static int
etc_char_ok(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '+' || c == '@';
}

int
backup_etc_name_ok(const char *name)
{
	const char *p = name;
	size_t depth = 0, clen;

	for (;;) {
		clen = strcspn(p, "/");
		if (clen == 0 || clen > 255 || p[0] == '.' ||
		    ++depth > BACKUP_ETC_DEPTH)
			return 0;
		for (size_t i = 0; i < clen; i++)
			if (!etc_char_ok((unsigned char)p[i]))
				return 0;
		if (p[clen] == '\0')
			return 1;
		p += clen + 1;
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* key_ok - KEY (KLEN) is one a record of KIND may carry */
static int
key_ok(enum backup_kind kind, const unsigned char *key, size_t klen)
{
	size_t i;

	for (i = 0; i < sizeof(backup_key_prefix) / sizeof(backup_key_prefix[0]);
	    i++)
		if (backup_key_prefix[i].kind == kind &&
		    klen > backup_key_prefix[i].plen &&
		    memcmp(key, backup_key_prefix[i].prefix,
		    backup_key_prefix[i].plen) == 0 &&
		    memchr(key + backup_key_prefix[i].plen, '\0',
		    klen - backup_key_prefix[i].plen) == NULL)
			return 1;
	return 0;
}

/* parse_num - whole decimal (BASE 10) or octal (8) token; 0 or -1 */
static int
parse_num(const char *s, int base, long long max, long long *v)
{
	long long x = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s >= '0' + base)
			return -1;
		if (__builtin_mul_overflow(x, base, &x) ||
		    __builtin_add_overflow(x, *s - '0', &x) || x > max)
			return -1;
	}
	*v = x;
	return 0;
}

/* rec_check - the record R as its kind demands; 0, or -1 with WHY. */
static int
rec_check(struct backup *b, struct backup_rec *r, char *why, size_t size)
{
	struct account *a;
	const char *w, *slash;
	char acct[ACCOUNT_NAME_MAX + 1];
	size_t i, hl;
	int h, l, found;

	switch (r->kind) {
	case BACKUP_CONF:
		if (strcmp(r->name, "yubin.conf") != 0) {
			snprintf(why, size, "a conf record named '%s'", r->name);
			return -1;
		}
		return 0;
	case BACKUP_ETC:
		if (!backup_etc_name_ok(r->name)) {
			snprintf(why, size, "'%s': not a file name under the "
			    "configuration folder", r->name);
			return -1;
		}
		return 0;
	case BACKUP_ACCOUNT:
		a = xmalloc(sizeof(*a));
		h = account_record_decode(r->data, r->len, r->name, a, &w);
		explicit_bzero(a, sizeof(*a));
		free(a);
		if (h == -1) {
			snprintf(why, size, "account '%s': %s", r->name, w);
			return -1;
		}
		return 0;
	case BACKUP_FILE:
		slash = strchr(r->name, '/');
		if (slash == NULL || (size_t)(slash - r->name) > ACCOUNT_NAME_MAX ||
		    !backup_account_file_ok(slash + 1)) {
			snprintf(why, size, "'%s': not ACCOUNT/FILE of a file an "
			    "account folder holds", r->name);
			return -1;
		}
		memcpy(acct, r->name, (size_t)(slash - r->name));
		acct[slash - r->name] = '\0';
		if (!account_name_valid(acct, &w)) {
			snprintf(why, size, "'%s': %s", r->name, w);
			return -1;
		}
		/* its account comes earlier in the file */
		for (i = 0, found = 0; i < b->n && !found; i++)
			found = b->rec[i].kind == BACKUP_ACCOUNT &&
			    strcmp(b->rec[i].name, acct) == 0;
		if (!found) {
			snprintf(why, size, "'%s': no account '%s' before it",
			    r->name, acct);
			return -1;
		}
		return 0;
	case BACKUP_META:
	case BACKUP_PLUGIN:
		hl = strlen(r->name);
		if (hl == 0 || hl % 2 || hl / 2 > BACKUP_KEY_MAX) {
			snprintf(why, size, "bad key '%s'", r->name);
			return -1;
		}
		r->key = xmalloc(hl / 2);
		r->klen = hl / 2;
		for (i = 0; i < r->klen; i++) {
			if ((h = hexval(r->name[2 * i])) < 0 ||
			    (l = hexval(r->name[2 * i + 1])) < 0) {
				snprintf(why, size, "bad key '%s'", r->name);
				return -1;
			}
			r->key[i] = (unsigned char)(h << 4 | l);
		}
		if (!key_ok(r->kind, r->key, r->klen)) {
			snprintf(why, size, "a %s key a backup does not keep",
			    backup_kind_name[r->kind]);
			return -1;
		}
		return 0;
	default:
		break;
	}
	snprintf(why, size, "unknown record");
	return -1;
}

/* rec_parse - the record at *POS (END the checksummed part's end) into
 * a new entry of B; *POS moves past it.  0, or -1 with WHY. */
static int
rec_parse(struct backup *b, size_t *pos, size_t end, char *why, size_t size)
{
	char *line = b->raw + *pos, *nl, *f[5], *save = NULL;
	struct backup_rec *r;
	long long mode, exp, len;
	size_t i, k;

	nl = memchr(line, '\n', end - *pos);
	if (nl == NULL || nl - line > BACKUP_HDR_MAX) {
		snprintf(why, size, "bad record header");
		return -1;
	}
	*nl = '\0';
	for (i = 0; i < 5; i++)
		if ((f[i] = strtok_r(i ? NULL : line, " ", &save)) == NULL)
			break;
	if (i != 5 || strtok_r(NULL, " ", &save) != NULL) {
		snprintf(why, size, "bad record header");
		return -1;
	}
	for (k = 0; k < BACKUP_NKINDS; k++)
		if (strcmp(f[0], backup_kind_name[k]) == 0)
			break;
	if (k == BACKUP_NKINDS) {
		snprintf(why, size, "unknown record kind '%.32s'", f[0]);
		return -1;
	}
	if (strlen(f[1]) > BACKUP_NAME_MAX) {
		snprintf(why, size, "name too long");
		return -1;
	}
	for (i = 0; f[1][i]; i++)
		if ((unsigned char)f[1][i] <= 0x20 ||
		    (unsigned char)f[1][i] >= 0x7f) {
			snprintf(why, size, "control or non-ASCII byte in a name");
			return -1;
		}
	if (parse_num(f[2], 8, 0777, &mode) == -1 ||
	    parse_num(f[3], 10, 1LL << 62, &exp) == -1 ||
	    parse_num(f[4], 10, BACKUP_ONE_MAX, &len) == -1) {
		snprintf(why, size, "bad number in the record header");
		return -1;
	}
	*pos = (size_t)(nl + 1 - b->raw);
	if ((size_t)len + 1 > end - *pos || b->raw[*pos + (size_t)len] != '\n') {
		snprintf(why, size, "record length past its end");
		return -1;
	}
	if (b->n == BACKUP_RECORDS_MAX) {
		snprintf(why, size, "more than %d records", BACKUP_RECORDS_MAX);
		return -1;
	}
	if (b->n % 1024 == 0)
		b->rec = xrealloc(b->rec, (b->n + 1024) * sizeof(*b->rec));
	r = &b->rec[b->n];
	memset(r, 0, sizeof(*r));
	r->kind = (enum backup_kind)k;
	r->name = f[1];
	r->mode = (unsigned)mode;
	r->expires = exp;
	r->data = (const unsigned char *)b->raw + *pos;
	r->len = (size_t)len;
	*pos += (size_t)len + 1;
	if (rec_check(b, r, why, size) == -1) {
		free(r->key);
		return -1;
	}
	b->n++;
	return 0;
}

/* sha256_hex - the hex SHA-256 of P (LEN) into OUT (65 bytes); 0 or -1 */
static int
sha256_hex(const void *p, size_t len, char out[BACKUP_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 != BACKUP_HEX_LEN)
		return -1;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[BACKUP_HEX_LEN] = '\0';
	return 0;
}

int
backup_read(const char *path, struct backup *b, char *why, size_t size)
{
	const size_t tail = 4 + BACKUP_HEX_LEN + 1;	/* "end " HEX "\n" */
	char sum[BACKUP_HEX_LEN + 1], *nl;
	size_t pos, end, hlen = strlen(BACKUP_MAGIC);
	long long ver;

	memset(b, 0, sizeof(*b));
	if (file_read(path, BACKUP_FILE_MAX, &b->raw, &b->rawlen) == -1) {
		snprintf(why, size, "%s", errno == EFBIG ? "larger than a "
		    "backup can be" : strerror(errno));
		b->raw = NULL;
		return -1;
	}
	nl = memchr(b->raw, '\n', b->rawlen < 64 ? b->rawlen : 64);
	if (nl == NULL || b->rawlen < hlen + 1 ||
	    memcmp(b->raw, BACKUP_MAGIC " ", hlen + 1) != 0) {
		snprintf(why, size, "not a yubin backup (no \"%s\" line)",
		    BACKUP_MAGIC);
		goto fail;
	}
	*nl = '\0';
	if (parse_num(b->raw + hlen + 1, 10, 1000000, &ver) == -1 || ver < 1) {
		snprintf(why, size, "bad version line");
		goto fail;
	}
	if (ver > BACKUP_VERSION) {
		snprintf(why, size, "backup format version %lld is newer than "
		    "this yubinctl reads (%d)", ver, BACKUP_VERSION);
		goto fail;
	}
	*nl = '\n';
	pos = (size_t)(nl + 1 - b->raw);
	if (b->rawlen < pos + tail ||
	    memcmp(b->raw + b->rawlen - tail, "end ", 4) != 0 ||
	    b->raw[b->rawlen - 1] != '\n') {
		snprintf(why, size, "truncated (no end record)");
		goto fail;
	}
	end = b->rawlen - tail;
	if (sha256_hex(b->raw, end, sum) == -1) {
		snprintf(why, size, "SHA-256 failed");
		goto fail;
	}
	if (memcmp(sum, b->raw + end + 4, BACKUP_HEX_LEN) != 0) {
		snprintf(why, size, "checksum mismatch: the file is damaged or "
		    "was altered");
		goto fail;
	}
	while (pos < end) {
		char rwhy[BACKUP_NAME_MAX + 128];

		if (rec_parse(b, &pos, end, rwhy, sizeof(rwhy)) == -1) {
			snprintf(why, size, "record %zu: %s", b->n + 1, rwhy);
			goto fail;
		}
	}
	return 0;
fail:
	backup_free(b);
	return -1;
}

void
backup_free(struct backup *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->rec[i].key);
	free(b->rec);
	if (b->raw)
		explicit_bzero(b->raw, b->rawlen);
	free(b->raw);
	memset(b, 0, sizeof(*b));
}

/* ---- writer -------------------------------------------------------- */

/* w_write - P (LEN) to the file and the digest; 0 or -1 */
static int
w_write(struct backup_writer *w, const void *p, size_t len)
{
	if (EVP_DigestUpdate(w->md, p, len) != 1) {
		errno = EIO;
		return -1;
	}
	return write_all(w->fd, p, len);
}

int
backup_create(struct backup_writer *w, const char *path)
{
	char hdr[64];

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->path = xstrdup(path);
	w->tmp = xasprintf("%s.tmp", path);
	if ((w->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		errno = ENOMEM;
		goto fail;
	}
	if (unlink(w->tmp) == -1 && errno != ENOENT)
		goto fail;
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (w->fd == -1)
		goto fail;
	snprintf(hdr, sizeof(hdr), "%s %d\n", BACKUP_MAGIC, BACKUP_VERSION);
	if (w_write(w, hdr, strlen(hdr)) == -1)
		goto fail;
	return 0;
fail:
	backup_abort(w);
	return -1;
}

int
backup_add(struct backup_writer *w, enum backup_kind kind, const char *name,
    unsigned mode, long long expires, const void *data, size_t len)
{
	char hdr[BACKUP_HDR_MAX];
	int n;

	if (len > BACKUP_ONE_MAX || strlen(name) > BACKUP_NAME_MAX ||
	    w->n >= BACKUP_RECORDS_MAX) {
		errno = EFBIG;
		return -1;
	}
	n = snprintf(hdr, sizeof(hdr), "%s %s %o %lld %zu\n",
	    backup_kind_name[kind], name, mode & 0777, expires, len);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (w_write(w, hdr, (size_t)n) == -1 ||
	    (len && w_write(w, data, len) == -1) || w_write(w, "\n", 1) == -1)
		return -1;
	w->n++;
	return 0;
}

int
backup_add_key(struct backup_writer *w, enum backup_kind kind,
    const void *key, size_t klen, long long expires, const void *data,
    size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *k = key;
	char name[BACKUP_NAME_MAX + 1];
	size_t i;

	if (klen * 2 > BACKUP_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; i < klen; i++) {
		name[2 * i] = hex[k[i] >> 4];
		name[2 * i + 1] = hex[k[i] & 15];
	}
	name[2 * klen] = '\0';
	return backup_add(w, kind, name, 0, expires, data, len);
}

int
backup_finish(struct backup_writer *w)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char line[4 + BACKUP_HEX_LEN + 2];
	unsigned mdlen = 0, i;
	int saved;

	if (EVP_DigestFinal_ex(w->md, md, &mdlen) != 1 ||
	    mdlen * 2 != BACKUP_HEX_LEN) {
		errno = EIO;
		goto fail;
	}
	memcpy(line, "end ", 4);
	for (i = 0; i < mdlen; i++) {
		line[4 + 2 * i] = hex[md[i] >> 4];
		line[4 + 2 * i + 1] = hex[md[i] & 15];
	}
	line[4 + BACKUP_HEX_LEN] = '\n';
	if (write_all(w->fd, line, 4 + BACKUP_HEX_LEN + 1) == -1 ||
	    fchmod(w->fd, 0600) == -1 || fsync(w->fd) == -1 ||
	    close(w->fd) == -1) {
		w->fd = -1;
		goto fail;
	}
	w->fd = -1;
	if (rename(w->tmp, w->path) == -1 || fsync_parent(w->path) == -1)
		goto fail;
	EVP_MD_CTX_free(w->md);
	free(w->tmp);
	free(w->path);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	return 0;
fail:
	saved = errno;
	backup_abort(w);
	errno = saved;
	return -1;
}

void
backup_abort(struct backup_writer *w)
{
	int saved = errno;

	if (w->fd != -1)
		close(w->fd);
	if (w->tmp)
		(void)unlink(w->tmp);
	EVP_MD_CTX_free(w->md);
	free(w->tmp);
	free(w->path);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	errno = saved;
}
