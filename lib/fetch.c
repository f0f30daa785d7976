/*
 * fetch.c - fetch entries, their passwords and filters; see fetch.h.
 * Used by yubinctl (fetch add/list/del) and by the fetch runs of yubind
 * and "yubinctl fetch run", always as the server user.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fetch.h"
#include "log.h"
#include "util.h"

#define FETCH_REC_MAX	(64 * 1024)	/* one entry's record */
#define FETCH_NONCE_LEN	12
#define FETCH_TAG_LEN	16
#define FETCH_AAD	"yubin-fetch-v1"

void
fetch_entry_clear(struct fetch_entry *e)
{
	struct fetch_list *ls[] = { &e->accept_from, &e->deny_from,
	    &e->deny_mailer };
	size_t i, k;

	for (i = 0; i < 3; i++)
		for (k = 0; k < ls[i]->n; k++)
			free(ls[i]->v[k]);
	free(e->secret);
	memset(e, 0, sizeof(*e));
}

int
fetch_list_add(struct fetch_list *l, const char *pat)
{
	if (l->n == FETCH_PATTERNS_MAX)
		return -1;
	l->v[l->n++] = xstrdup(pat);
	return 0;
}

/* ---- what a user gives ---------------------------------------------------- */

/* host_name_ok - letters, digits, '-' and '.', labels of 1..63, no '-'
 * at a label's ends: a DNS name or a dotted IPv4 address. */
static int
host_name_ok(const char *h)
{
	size_t label = 0;
	const char *p;

	if (*h == '\0' || strlen(h) > FETCH_HOST_MAX || *h == '.')
		return 0;
	for (p = h; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
		if (*p == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return p[-1] != '-';
}

int
fetch_host_parse(const char *spec, int defport, struct fetch_entry *e,
    const char **why_r)
{
	char host[FETCH_HOST_MAX + 3];
	const char *port = NULL, *end;
	unsigned char a6[16];
	char *ep;
	long v;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL || (size_t)(end - spec - 1) >= sizeof(host) ||
		    end == spec + 1) {
			*why_r = "bad host: an unclosed or empty [address]";
			return 0;
		}
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = '\0';
		if (inet_pton(AF_INET6, host, a6) != 1) {
			*why_r = "bad host: not an IPv6 address in [ ]";
			return 0;
		}
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			*why_r = "bad host: text after ]";
			return 0;
		}
	} else {
		end = strchr(spec, ':');
		if (end && strchr(end + 1, ':')) {
			*why_r = "bad host: an IPv6 address goes in [ ]";
			return 0;
		}
		if ((size_t)((end ? end : spec + strlen(spec)) - spec) >=
		    sizeof(host)) {
			*why_r = "bad host: too long";
			return 0;
		}
		memcpy(host, spec, (size_t)((end ? end : spec + strlen(spec)) - spec));
		host[(end ? end : spec + strlen(spec)) - spec] = '\0';
		if (!host_name_ok(host)) {
			*why_r = "bad host: letters, digits, '-' and '.' only";
			return 0;
		}
		if (end)
			port = end + 1;
	}
	e->port = defport;
	if (port) {
		errno = 0;
		v = strtol(port, &ep, 10);
		if (*port < '0' || *port > '9' || *ep != '\0' || errno ||
		    v < 1 || v > 65535) {
			*why_r = "bad port: not a number from 1 to 65535";
			return 0;
		}
		e->port = (int)v;
	}
	if (str_copy(e->host, sizeof(e->host), host) == -1) {
		*why_r = "bad host: too long";
		return 0;
	}
	str_lower(e->host);
	return 1;
}

/* printable_ok - 1..MAX bytes of 0x21..0x7e. */
static int
printable_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return n >= 1 && n <= max;
}

int
fetch_user_valid(const char *user, const char **why_r)
{
	if (!printable_ok(user, FETCH_USER_MAX)) {
		*why_r = "bad user: 1 to 128 printable characters, no blanks";
		return 0;
	}
	return 1;
}

int
fetch_pattern_valid(const char *pat, const char **why_r)
{
	if (!printable_ok(pat, FETCH_PATTERN_MAX)) {
		*why_r = "bad pattern: 1 to 256 printable characters, no blanks";
		return 0;
	}
	return 1;
}

/* ---- keys and records ------------------------------------------------------ */

void
fetch_key(const struct fetch_entry *e, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "fetch/%s/%s/%s", e->account, e->host, e->user);
}

void
fetch_id(const struct fetch_entry *e, char out[FETCH_ID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf k;
	size_t i;

	buf_init(&k, 0);
	fetch_key(e, &k);
	if (EVP_Digest(k.data, k.len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < FETCH_ID_LEN / 2)
		log_panic("fetch_id: SHA-256 unavailable");
	for (i = 0; i < FETCH_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	buf_free(&k);
}

const char *
fetch_server(const struct fetch_entry *e, char out[FETCH_SERVER_MAX])
{
	snprintf(out, FETCH_SERVER_MAX, strchr(e->host, ':') ? "[%s]:%d" :
	    "%s:%d", e->host, e->port);
	return out;
}

static const char *const tls_names[] = { "none", "stls", "tls" };

void
fetch_encode(const struct fetch_entry *e, struct buf *out)
{
	const struct fetch_list *ls[] = { &e->accept_from, &e->deny_from,
	    &e->deny_mailer };
	static const char *const lnames[] = { "accept", "deny", "mailer" };
	size_t i, k;

	buf_printf(out, "F1\naccount %s\nhost %s\nport %d\nuser %s\ntls %s\n"
	    "interval %lld\nkeep %d\n", e->account, e->host, e->port, e->user,
	    tls_names[e->tls], e->interval, e->keep);
	if (e->ca[0])
		buf_printf(out, "ca %s\n", e->ca);
	for (i = 0; i < 3; i++)
		for (k = 0; k < ls[i]->n; k++)
			buf_printf(out, "%s %s\n", lnames[i], ls[i]->v[k]);
	if (e->secret)
		buf_printf(out, "secret %s\n", e->secret);
}

/* field_copy - VAL into DST (SIZE) when it fits and is printable: 0/-1 */
static int
field_copy(char *dst, size_t size, const char *val)
{
	const unsigned char *p;

	for (p = (const unsigned char *)val; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -1;
	return str_copy(dst, size, val);
}

int
fetch_decode(struct fetch_entry *e, const void *p, size_t len)
{
	char *text, *line, *next, *sp;
	long long v;
	int have = 0, i;

	fetch_entry_clear(e);
	if (len > FETCH_REC_MAX || memchr(p, '\0', len) != NULL)
		return -1;
	text = xstrndup(p, len);
	if (strncmp(text, "F1\n", 3) != 0)
		goto bad;
	for (line = text + 3; *line; line = next) {
		next = strchr(line, '\n');
		if (next == NULL)
			goto bad;
		*next++ = '\0';
		sp = strchr(line, ' ');
		if (sp == NULL)
			goto bad;
		*sp++ = '\0';
		if (strcmp(line, "account") == 0) {
			if (field_copy(e->account, sizeof(e->account), sp) == -1)
				goto bad;
			have |= 1;
		} else if (strcmp(line, "host") == 0) {
			if (field_copy(e->host, sizeof(e->host), sp) == -1)
				goto bad;
			have |= 2;
		} else if (strcmp(line, "user") == 0) {
			if (field_copy(e->user, sizeof(e->user), sp) == -1)
				goto bad;
			have |= 4;
		} else if (strcmp(line, "port") == 0) {
			v = strtoll(sp, NULL, 10);
			if (v < 1 || v > 65535)
				goto bad;
			e->port = (int)v;
		} else if (strcmp(line, "tls") == 0) {
			for (i = 0; i < 3 && strcmp(sp, tls_names[i]) != 0; i++)
				;
			if (i == 3)
				goto bad;
			e->tls = i;
		} else if (strcmp(line, "interval") == 0) {
			v = strtoll(sp, NULL, 10);
			if (v < 1 || v > FETCH_INTERVAL_MAX)
				goto bad;
			e->interval = v;
		} else if (strcmp(line, "keep") == 0)
			e->keep = strcmp(sp, "1") == 0;
		else if (strcmp(line, "ca") == 0) {
			if (field_copy(e->ca, sizeof(e->ca), sp) == -1)
				goto bad;
		} else if (strcmp(line, "accept") == 0) {
			if (fetch_list_add(&e->accept_from, sp) == -1)
				goto bad;
		} else if (strcmp(line, "deny") == 0) {
			if (fetch_list_add(&e->deny_from, sp) == -1)
				goto bad;
		} else if (strcmp(line, "mailer") == 0) {
			if (fetch_list_add(&e->deny_mailer, sp) == -1)
				goto bad;
		} else if (strcmp(line, "secret") == 0) {
			free(e->secret);
			e->secret = xstrdup(sp);
		}
		/* an unknown field is one a later version added: ignored */
	}
	free(text);
	if (have != 7 || e->port == 0 || e->interval == 0 || e->secret == NULL) {
		fetch_entry_clear(e);
		return -1;
	}
	return 0;
bad:
	free(text);
	fetch_entry_clear(e);
	return -1;
}

/* ---- the password key ------------------------------------------------------ */

/* key_read - FD's FETCH_KEY_LEN bytes, checked.  0 or -1. */
static int
key_read(int fd, unsigned char key[FETCH_KEY_LEN], const char **why_r)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why_r = "fetch.key: not a regular file";
		return -1;
	}
	if (st.st_mode & 077) {
		*why_r = "fetch.key: readable by group or others (chmod 600)";
		return -1;
	}
	if (st.st_size != FETCH_KEY_LEN ||
	    read_all(fd, key, FETCH_KEY_LEN) != FETCH_KEY_LEN) {
		*why_r = "fetch.key: not a key (wrong size)";
		return -1;
	}
	return 0;
}

int
fetch_key_load(const char *home, int create, unsigned char key[FETCH_KEY_LEN],
    const char **why_r)
{
	char *dir = xasprintf("%s/state", home);
	char tmp[64];
	int dfd, fd, r = -1, err;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd == -1) {
		*why_r = "cannot open the state folder";
		return -1;
	}
	fd = openat(dfd, "fetch.key", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && create) {
		/* a scratch file, then a link: of two that create it at
		 * once, one key wins and both use it */
		if (RAND_bytes(key, FETCH_KEY_LEN) != 1) {
			*why_r = "no random bytes for fetch.key";
			goto out;
		}
		snprintf(tmp, sizeof(tmp), ".fetch.key.%ld", (long)getpid());
		(void)unlinkat(dfd, tmp, 0);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1 || write_all(fd, key, FETCH_KEY_LEN) == -1 ||
		    fsync(fd) == -1) {
			*why_r = "cannot write fetch.key";
			if (fd != -1)
				close(fd);
			(void)unlinkat(dfd, tmp, 0);
			goto out;
		}
		close(fd);
		r = linkat(dfd, tmp, dfd, "fetch.key", 0);
		err = errno;
		(void)unlinkat(dfd, tmp, 0);
		if (r == -1 && err != EEXIST) {
			*why_r = "cannot write fetch.key";
			goto out;
		}
		(void)fsync(dfd);
		r = -1;
		fd = openat(dfd, "fetch.key", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1) {
		*why_r = errno == ENOENT ? "no fetch.key (no password was ever "
		    "stored)" : "cannot open fetch.key";
		goto out;
	}
	r = key_read(fd, key, why_r);
	close(fd);
out:
	close(dfd);
	if (r == -1)
		explicit_bzero(key, FETCH_KEY_LEN);
	return r;
}

/* aead - AES-256-GCM over IN (LEN bytes) into OUT, with E's key as the
 * additional data; ENC 1 encrypts (TAG written), 0 decrypts (TAG
 * checked).  0 or -1. */
static int
aead(const struct fetch_entry *e, const unsigned char key[FETCH_KEY_LEN],
    int enc, const unsigned char *nonce, const unsigned char *in, int len,
    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	struct buf aad;
	int n, r = -1;

	buf_init(&aad, 0);
	buf_puts(&aad, FETCH_AAD);
	buf_putc(&aad, '\n');
	{
		struct buf k;

		buf_init(&k, 0);
		fetch_key(e, &k);
		buf_append(&aad, k.data, k.len);
		buf_free(&k);
	}
	if (ctx == NULL ||
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, FETCH_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad.data,
	    (int)aad.len) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, FETCH_TAG_LEN,
	    tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, FETCH_TAG_LEN,
	    tag) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	buf_free(&aad);
	return r;
}

int
fetch_seal(struct fetch_entry *e, const unsigned char key[FETCH_KEY_LEN],
    const char *pass)
{
	unsigned char blob[FETCH_NONCE_LEN + FETCH_PASS_MAX + FETCH_TAG_LEN];
	size_t len = strlen(pass);
	struct buf out;
	int r = -1;

	if (len == 0 || len > FETCH_PASS_MAX)
		return -1;
	buf_init(&out, 0);
	if (RAND_bytes(blob, FETCH_NONCE_LEN) == 1 &&
	    aead(e, key, 1, blob, (const unsigned char *)pass, (int)len,
	    blob + FETCH_NONCE_LEN, blob + FETCH_NONCE_LEN + len) == 0 &&
	    b64_encode(blob, FETCH_NONCE_LEN + len + FETCH_TAG_LEN, &out) == 0) {
		free(e->secret);
		e->secret = buf_steal(&out);
		r = 0;
	}
	explicit_bzero(blob, sizeof(blob));
	buf_free(&out);
	return r;
}

int
fetch_open(const struct fetch_entry *e, const unsigned char key[FETCH_KEY_LEN],
    char *out, size_t size)
{
	unsigned char blob[FETCH_NONCE_LEN + FETCH_PASS_MAX + FETCH_TAG_LEN];
	ssize_t n;
	size_t len;
	int r = -1;

	if (e->secret == NULL)
		return -1;
	n = b64_decode_mem(e->secret, strlen(e->secret), blob, sizeof(blob));
	if (n < FETCH_NONCE_LEN + FETCH_TAG_LEN + 1)
		return -1;
	len = (size_t)n - FETCH_NONCE_LEN - FETCH_TAG_LEN;
	if (len + 1 > size)
		return -1;
	if (aead(e, key, 0, blob, blob + FETCH_NONCE_LEN, (int)len,
	    (unsigned char *)out, blob + FETCH_NONCE_LEN + len) == 0 &&
	    memchr(out, '\0', len) == NULL) {
		out[len] = '\0';
		r = 0;
	} else
		explicit_bzero(out, size);
	explicit_bzero(blob, sizeof(blob));
	return r;
}

/* ---- the store ------------------------------------------------------------- */

struct each_ctx {
	struct fetch_entry *v;		/* owned: decoded entries */
	size_t		 n;
};

static int
each_fn(void *ctx, const void *key, size_t klen, const void *val, size_t vlen,
    long long expires)
{
	struct each_ctx *ec = ctx;
	char k[600];

	(void)expires;
	ec->v = xrealloc(ec->v, (ec->n + 1) * sizeof(*ec->v));
	memset(&ec->v[ec->n], 0, sizeof(ec->v[ec->n]));
	if (fetch_decode(&ec->v[ec->n], val, vlen) == -1) {
		log_err("fetch: corrupt record %s skipped", str_escape(k,
		    sizeof(k), key, klen));
		return 0;
	}
	ec->n++;
	return 0;
}

int
fetch_each(struct store *s, const char *account,
    int (*fn)(void *ctx, const struct fetch_entry *e), void *ctx)
{
	struct store_txn *txn;
	struct each_ctx ec = { NULL, 0 };
	struct buf prefix;
	size_t i;
	int r;

	buf_init(&prefix, 0);
	if (account)
		buf_printf(&prefix, "fetch/%s/", account);
	else
		buf_puts(&prefix, "fetch/");
	if (store_txn_begin(s, 1, &txn) == -1) {
		buf_free(&prefix);
		return -1;
	}
	/* copied out first: FN runs with no transaction open */
	r = store_titer(txn, STORE_META, prefix.data, prefix.len, each_fn, &ec);
	store_txn_abort(&txn);
	buf_free(&prefix);
	for (i = 0; i < ec.n; i++) {
		if (r == 0)
			r = fn(ctx, &ec.v[i]);
		fetch_entry_clear(&ec.v[i]);
	}
	free(ec.v);
	return r;
}

int
fetch_get(struct store *s, const char *account, const char *host,
    const char *user, struct fetch_entry *e)
{
	struct buf k, v;
	int r;

	buf_init(&k, 0);
	buf_init(&v, FETCH_REC_MAX);
	buf_printf(&k, "fetch/%s/%s/%s", account, host, user);
	r = store_get(s, STORE_META, k.data, k.len, &v);
	if (r == 1 && fetch_decode(e, v.data, v.len) == -1)
		r = -1;
	buf_free(&k);
	buf_free(&v);
	return r;
}

struct put_ctx {
	const struct fetch_entry *e;
	long long	 added;
};

static int
put_fn(struct store_txn *txn, void *ctx)
{
	struct put_ctx *pc = ctx;
	char id[FETCH_ID_LEN + 1];
	struct buf k, v;
	int r = 0, x;

	buf_init(&k, 0);
	buf_init(&v, 0);
	fetch_key(pc->e, &k);
	fetch_encode(pc->e, &v);
	if (store_tput(txn, STORE_META, k.data, k.len, v.data, v.len, 0) == -1)
		r = -1;
	if (r == 0 && pc->added != 0) {
		fetch_id(pc->e, id);
		buf_reset(&k);
		buf_printf(&k, "fetchst/%s", id);
		x = store_tget(txn, STORE_META, k.data, k.len, &v, NULL);
		buf_reset(&v);
		buf_printf(&v, "S1 %lld 1 0 0\nadded", pc->added);
		if (x == -1 || (x == 0 && store_tput(txn, STORE_META, k.data,
		    k.len, v.data, v.len, 0) == -1))
			r = -1;
	}
	buf_free(&k);
	buf_free(&v);
	return r;
}

int
fetch_put(struct store *s, const struct fetch_entry *e, long long added)
{
	struct put_ctx pc = { e, added };

	return store_write(s, put_fn, &pc) == 0 ? 0 : -1;
}

struct del_ctx {
	const struct fetch_entry *e;
	int	 found;
};

struct keys_ctx {
	char	**keys;
	size_t	  n;
};

static int
keys_fn(void *ctx, const void *key, size_t klen, const void *val, size_t vlen,
    long long expires)
{
	struct keys_ctx *kc = ctx;

	(void)val;
	(void)vlen;
	(void)expires;
	kc->keys = xrealloc(kc->keys, (kc->n + 1) * sizeof(*kc->keys));
	kc->keys[kc->n++] = xstrndup(key, klen);
	return 0;
}

int
fetch_tdel(struct store_txn *txn, const struct fetch_entry *e)
{
	struct keys_ctx kc = { NULL, 0 };
	char id[FETCH_ID_LEN + 1];
	struct buf k;
	size_t i;
	int r = 0, d;

	buf_init(&k, 0);
	fetch_key(e, &k);
	d = store_tdel(txn, STORE_META, k.data, k.len);
	if (d == -1)
		r = -1;
	fetch_id(e, id);
	buf_reset(&k);
	buf_printf(&k, "fetchst/%s", id);
	if (r == 0 && store_tdel(txn, STORE_META, k.data, k.len) == -1)
		r = -1;
	/* the keys first, then the deletions: no write while iterating */
	buf_reset(&k);
	buf_printf(&k, "fetchuid/%s/", id);
	if (r == 0 && store_titer(txn, STORE_META, k.data, k.len, keys_fn,
	    &kc) == -1)
		r = -1;
	buf_reset(&k);
	buf_printf(&k, "fetchleft/%s/", id);
	if (r == 0 && store_titer(txn, STORE_META, k.data, k.len, keys_fn,
	    &kc) == -1)
		r = -1;
	for (i = 0; i < kc.n; i++) {
		if (r == 0 && store_tdel(txn, STORE_META, kc.keys[i],
		    strlen(kc.keys[i])) == -1)
			r = -1;
		free(kc.keys[i]);
	}
	free(kc.keys);
	buf_free(&k);
	return r == -1 ? -1 : d;
}

static int
del_fn(struct store_txn *txn, void *ctx)
{
	struct del_ctx *dc = ctx;
	int r = fetch_tdel(txn, dc->e);

	if (r == -1)
		return -1;
	dc->found = r;
	return 0;
}

int
fetch_del(struct store *s, const struct fetch_entry *e)
{
	struct del_ctx dc = { e, 0 };

	if (store_write(s, del_fn, &dc) != 0)
		return -1;
	return dc.found;
}

int
fetch_tdel_account(struct store_txn *txn, const char *account)
{
	struct each_ctx ec = { NULL, 0 };
	struct buf prefix;
	size_t i;
	int r;

	buf_init(&prefix, 0);
	buf_printf(&prefix, "fetch/%s/", account);
	r = store_titer(txn, STORE_META, prefix.data, prefix.len, each_fn, &ec);
	buf_free(&prefix);
	for (i = 0; i < ec.n; i++) {
		if (r == 0 && fetch_tdel(txn, &ec.v[i]) == -1)
			r = -1;
		fetch_entry_clear(&ec.v[i]);
	}
	free(ec.v);
	return r;
}

int
fetch_state_get(struct store *s, const char *id, struct fetch_state *st)
{
	struct buf k, v;
	char *nl;
	int r;

	memset(st, 0, sizeof(*st));
	buf_init(&k, 0);
	buf_init(&v, FETCH_STATUS_MAX + 256);
	buf_printf(&k, "fetchst/%s", id);
	r = store_get(s, STORE_META, k.data, k.len, &v);
	if (r == 1) {
		if (sscanf(buf_cstr(&v), "S1 %lld %d %lld %lld", &st->last,
		    &st->ok, &st->fetched, &st->left) != 4)
			r = -1;
		else if ((nl = strchr(buf_cstr(&v), '\n')) != NULL)
			(void)str_copy(st->status, sizeof(st->status), nl + 1);
	}
	buf_free(&k);
	buf_free(&v);
	return r;
}

int
fetch_state_put(struct store *s, const char *id, const struct fetch_state *st)
{
	struct buf k, v;
	int r;

	buf_init(&k, 0);
	buf_init(&v, 0);
	buf_printf(&k, "fetchst/%s", id);
	buf_printf(&v, "S1 %lld %d %lld %lld\n%s", st->last, st->ok, st->fetched,
	    st->left, st->status);
	r = store_put(s, STORE_META, k.data, k.len, v.data, v.len, 0);
	buf_free(&k);
	buf_free(&v);
	return r;
}

/* ---- filters --------------------------------------------------------------- */

int
fetch_match(const struct fetch_list *l, const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strchr(l->v[i], '@') != NULL) {
			if (fnmatch(l->v[i], addr, FNM_CASEFOLD) == 0)
				return 1;
		} else if (at != NULL && fnmatch(l->v[i], at + 1,
		    FNM_CASEFOLD) == 0)
			return 1;
	}
	return 0;
}

int
fetch_match_text(const struct fetch_list *l, const char *text)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (fnmatch(l->v[i], text, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}
