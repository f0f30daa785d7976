/*
 * plugin_api.c - the accessor functions of hooks/yubin/hook.h that read and
 * write the session, the delivery, the POP3 login, the notes, the headers,
 * the store and the blocks, and the log sink.  Runs in the children, as the
 * server user; each call works on the object it is given or on the
 * process context plugins_child_init set (plugin.c).
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "block.h"
#include "config.h"
#include "dns.h"
#include "log.h"
#include "maildir.h"
#include "usage.h"
#include "utf8.h"
#include "util.h"

#include "plugin_host.h"
#include "spawn_argv.h"

/* ---- session objects ---------------------------------------------------- */

void
hook_session_init(struct yh_session *s)
{
	memset(s, 0, sizeof(*s));
	s->peer_ip = "";
	s->helo = "";
	s->auth_user = "";
	s->qid = "";
	s->msg_fd = -1;
	s->size_param = -1;
	s->msg_new_fd = -1;
	buf_init(&s->hdr_add, 64 * 1024);
	buf_init(&s->hdr_cache, YH_HEADER_SCAN_MAX + 1);
}


static void
notes_clear(struct yh_note *n, size_t *count)
{
	size_t i;

	for (i = 0; i < *count; i++) {
		free(n[i].key);
		free(n[i].value);
	}
	*count = 0;
}

static void
rcpt_new_clear(struct yh_session *s)
{
	size_t i;

	for (i = 0; i < 2 * s->nrcpt_new; i++)
		free(s->rcpt_new[i]);
	free(s->rcpt_new);
	s->rcpt_new = NULL;
	s->nrcpt_new = 0;
	s->rcpt_replaced = 0;
	if (s->msg_new_fd != -1)
		close(s->msg_new_fd);
	s->msg_new_fd = -1;
}

int
hook_session_rcpt_apply(struct yh_session *s, struct envelope *env)
{
	size_t i;

	if (!s->rcpt_replaced)
		return 0;
	for (i = 0; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].account);
		free(env->rcpt[i].last_error);
		free(env->rcpt[i].orcpt);
	}
	free(env->rcpt);
	env->rcpt = NULL;
	env->nrcpt = 0;
	for (i = 0; i < s->nrcpt_new; i++)
		envelope_add_rcpt(env, s->rcpt_new[2 * i], s->rcpt_new[2 * i + 1]);
	return 1;
}

/* copies_clear - abort the copies not committed and forget them all. */
static void
copies_clear(struct yh_session *s)
{
	size_t i;

	for (i = 0; i < s->ncopies; i++) {
		queue_in_abort(&s->copy_q[i]);	/* NULL once committed */
		envelope_clear(&s->copy_env[i]);
	}
	free(s->copy_q);
	free(s->copy_env);
	s->copy_q = NULL;
	s->copy_env = NULL;
	s->ncopies = 0;
}

size_t
hook_session_copies(struct yh_session *s, struct queue_in ***qs,
    struct envelope **envs)
{
	*qs = s->copy_q;
	*envs = s->copy_env;
	return s->ncopies;
}

/* slots_clear - free every plugin's transaction slot. */
static void
slots_clear(struct yh_session *s)
{
	size_t i;

	for (i = 0; i < PLUGIN_SLOTS_MAX; i++) {
		free(s->slot[i]);
		s->slot[i] = NULL;
		s->slot_size[i] = 0;
	}
}

void *
yh_txn_slot(struct yh_session *s, size_t size)
{
	size_t i;

	if (s == NULL || ph.current == NULL || size == 0 || size > TXN_SLOT_MAX)
		return NULL;
	for (i = 0; i < ph.n; i++)
		if (ph.current == ph.pl[i].name)
			break;
	if (i == ph.n)
		return NULL;
	if (s->slot[i] != NULL)
		return s->slot_size[i] == size ? s->slot[i] : NULL;
	s->slot[i] = calloc(1, size);
	if (s->slot[i] != NULL)
		s->slot_size[i] = size;
	return s->slot[i];
}

void
hook_session_txn_reset(struct yh_session *s)
{
	slots_clear(s);
	copies_clear(s);
	rcpt_new_clear(s);
	notes_clear(s->notes, &s->nnotes);
	buf_reset(&s->hdr_add);
	buf_reset(&s->hdr_cache);
	s->hdr_loaded = 0;
	s->msg_fd = -1;
	s->msg_size = 0;
	s->size_param = -1;
	s->qid = "";
}

void
hook_session_free(struct yh_session *s)
{
	copies_clear(s);
	rcpt_new_clear(s);
	notes_clear(s->notes, &s->nnotes);
	notes_clear(s->snotes, &s->nsnotes);
	slots_clear(s);
	buf_free(&s->hdr_add);
	buf_free(&s->hdr_cache);
	values_clear(&s->vals);
}

void
hook_delivery_init(struct yh_delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	buf_init(&d->hdr_cache, YH_HEADER_SCAN_MAX + 1);
}

void
hook_delivery_free(struct yh_delivery *d)
{
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	buf_free(&d->hdr_cache);
	values_clear(&d->vals);
	notes_clear(d->notes, &d->nnotes);
}

/* ---- logging ------------------------------------------------------------ */

void
yh_log(enum yh_level lvl, const char *fmt, ...)
{
	static const enum log_level map[] = { LOG_LVL_DEBUG, LOG_LVL_INFO,
	    LOG_LVL_WARN, LOG_LVL_ERR };
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(map[lvl <= YH_LOG_ERR ? lvl : YH_LOG_ERR], "%s: plugin=%s %s",
	    *ph.qid ? ph.qid : "NOQUEUE", ph.current ? ph.current : "?", msg);
}

char *
yh_escape(char *dst, size_t size, const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = src;
	size_t i, n = 0, total = 0, room;

	if (size == 0)
		return dst;
	for (i = 0; i < len; i++)
		total += p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' ? 1 :
		    p[i] == '\\' ? 2 : 4;
	room = total < size ? 0 : 3;	/* keep room for "..." when cut */
	for (i = 0; i < len; i++) {
		int plain = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\';
		size_t need = plain ? 1 : p[i] == '\\' ? 2 : 4;

		if (n + need + room >= size) {
			/* room for "..." (cut) when any is left */
			if (size >= 4) {
				while (n + 4 > size)
					n--;
				memcpy(dst + n, "...", 3);
				n += 3;
			}
			break;
		}
		if (plain) {
			dst[n++] = (char)p[i];
		} else if (p[i] == '\\') {
			dst[n++] = '\\';
			dst[n++] = '\\';
		} else {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[p[i] >> 4];
			dst[n++] = hex[p[i] & 15];
		}
	}
	dst[n] = '\0';
	return dst;
}

void
yh_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ph.errs)
		errlist_add(ph.errs, "%s", msg);
	else
		log_err("plugin=%s %s", ph.current ? ph.current : "?", msg);
}

/* ---- SMTP session accessors --------------------------------------------- */

const char *yh_peer_ip(const struct yh_session *s) { return s->peer_ip; }
int yh_peer_port(const struct yh_session *s) { return s->peer_port; }
enum yh_listener yh_listener_kind(const struct yh_session *s) { return s->listener; }
int yh_is_tls(const struct yh_session *s) { return s->tls; }
int yh_local_submission(const struct yh_session *s) { return s->local; }
const char *yh_helo(const struct yh_session *s) { return s->helo; }
const char *yh_auth_user(const struct yh_session *s) { return s->auth_user; }
int yh_rcpt_local(const struct yh_session *s) { return s->rcpt_local; }
long long yh_size_param(const struct yh_session *s) { return s->size_param; }
int yh_message_fd(const struct yh_session *s) { return s->msg_fd; }
long long yh_message_size(const struct yh_session *s) { return s->msg_size; }
const char *yh_queue_id(const struct yh_session *s) { return s->qid; }

const char *
yh_sender(const struct yh_session *s)
{
	return s->txn ? s->txn->sender : NULL;
}

size_t
yh_rcpt_count(const struct yh_session *s)
{
	return s->txn ? s->txn->nrcpt : 0;
}

const char *
yh_rcpt_addr(const struct yh_session *s, size_t i)
{
	return s->txn && i < s->txn->nrcpt ? s->txn->rcpt[i].addr : NULL;
}

const char *
yh_rcpt_account(const struct yh_session *s, size_t i)
{
	return s->txn && i < s->txn->nrcpt ? s->txn->rcpt[i].account : NULL;
}

static void
reply_set(int *code_r, char *enh_r, size_t enhsize, char *text_r,
    size_t textsize, int code, const char *enh, const char *fmt, va_list ap)
{
	char *p;

	*code_r = code >= 400 && code <= 599 ? code : 0;
	snprintf(enh_r, enhsize, "%s", enh && *enh ? enh : "");
	for (p = enh_r; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.') {
			enh_r[0] = '\0';
			break;
		}
	vsnprintf(text_r, textsize, fmt, ap);
	for (p = text_r; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';	/* no CR/LF injection into the reply */
}

void
yh_reply(struct yh_session *s, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_set(&s->reply_code, s->reply_enh, sizeof(s->reply_enh),
	    s->reply_text, sizeof(s->reply_text), code, enh, fmt, ap);
	va_end(ap);
}

void
yh_dlv_reply(struct yh_delivery *d, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_set(&d->reply_code, d->reply_enh, sizeof(d->reply_enh),
	    d->reply_text, sizeof(d->reply_text), code, enh, fmt, ap);
	va_end(ap);
}

static int
note_set(struct yh_note *n, size_t *count, const char *key, const char *value)
{
	size_t i;

	if (key == NULL || value == NULL || strlen(value) > YH_NOTE_MAX ||
	    strlen(key) > 128)
		return -1;
	for (i = 0; i < *count; i++) {
		if (strcmp(n[i].key, key) == 0) {
			/* copy first: VALUE may be the note's own value */
			char *v = xstrdup(value);

			free(n[i].value);
			n[i].value = v;
			return 0;
		}
	}
	if (*count >= YH_NOTES_MAX)
		return -1;
	n[*count].key = xstrdup(key);
	n[*count].value = xstrdup(value);
	(*count)++;
	return 0;
}

static const char *
note_get(const struct yh_note *n, size_t count, const char *key)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(n[i].key, key) == 0)
			return n[i].value;
	return NULL;
}

int
yh_note_set(struct yh_session *s, const char *key, const char *value)
{
	return note_set(s->notes, &s->nnotes, key, value);
}

const char *
yh_note_get(const struct yh_session *s, const char *key)
{
	return note_get(s->notes, s->nnotes, key);
}

int
yh_snote_set(struct yh_session *s, const char *key, const char *value)
{
	return note_set(s->snotes, &s->nsnotes, key, value);
}

const char *
yh_snote_get(const struct yh_session *s, const char *key)
{
	return note_get(s->snotes, s->nsnotes, key);
}

int
yh_dlv_note_set(struct yh_delivery *d, const char *key, const char *value)
{
	return note_set(d->notes, &d->nnotes, key, value);
}

const char *
yh_dlv_note_get(const struct yh_delivery *d, const char *key)
{
	return note_get(d->notes, d->nnotes, key);
}

/* ---- headers ------------------------------------------------------------ */

/*
 * header_load - read the header block of FD (up to the first empty line,
 * at most YH_HEADER_SCAN_MAX bytes) into CACHE, unfolded: one field per
 * line.  0, or -1 on a read error.
 */
static int
header_load(int fd, struct buf *cache)
{
	char chunk[8192];
	struct buf raw;
	off_t off = 0;
	ssize_t n;
	size_t i;
	int r = 0;

	buf_reset(cache);
	if (fd == -1)
		return -1;
	buf_init(&raw, YH_HEADER_SCAN_MAX);
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		off += n;
		if (buf_append(&raw, chunk, (size_t)n) == -1 ||
		    (raw.len >= 2 && strstr(raw.data, "\n\n")))
			break;
	}
	if (n == -1)
		r = -1;
	for (i = 0; i < raw.len; i++) {
		char c = raw.data[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			if (i + 1 >= raw.len || raw.data[i + 1] == '\n' ||
			    (raw.data[i + 1] == '\r' && i + 2 < raw.len &&
			    raw.data[i + 2] == '\n'))
				break;		/* end of the header block */
			if (raw.data[i + 1] == ' ' || raw.data[i + 1] == '\t')
				continue;	/* folded: join */
		}
		buf_putc(cache, c);
	}
	buf_putc(cache, '\n');
	buf_free(&raw);
	return r;
}

/* header_find - the Nth field NAME of CACHE, copied into V (kept until
 * the hook returns), or NULL. */
static const char *
header_find(struct buf *cache, struct yh_values *vals, const char *name, int n)
{
	size_t nl = strlen(name);
	const char *p = cache->data, *end, *v;

	if (p == NULL || n < 0)
		return NULL;
	while (*p) {
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > nl && p[nl] == ':' &&
		    strncasecmp(p, name, nl) == 0 && n-- == 0) {
			v = p + nl + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			if (vals->n == YH_VALUES_MAX)
				return NULL;	/* a plugin asking this often is broken */
			vals->v[vals->n] = xstrndup(v, (size_t)(end - v));
			return vals->v[vals->n++];
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

const char *
yh_header(struct yh_session *s, const char *name, int n)
{
	if (!s->hdr_loaded) {
		if (header_load(s->msg_fd, &s->hdr_cache) == -1)
			return NULL;
		s->hdr_loaded = 1;
	}
	return header_find(&s->hdr_cache, &s->vals, name, n);
}

int
yh_header_add(struct yh_session *s, const char *name, const char *value)
{
	const char *p;

	if (name == NULL || value == NULL || *name == '\0')
		return -1;
	for (p = name; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == ':')
			return -1;
	for (p = value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return -1;
	return buf_printf(&s->hdr_add, "%s: %s\n", name, value);
}

int
yh_message_replace(struct yh_session *s, int fd)
{
	int nfd;

	if (s->msg_fd == -1 || fd < 0)
		return -1;		/* only in the data hook */
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd == -1)
		return -1;
	if (s->msg_new_fd != -1)
		close(s->msg_new_fd);
	s->msg_new_fd = nfd;
	return 0;
}

int
yh_rcpt_replace(struct yh_session *s, const char *const *rcpts, size_t n)
{
	char acct[ACCOUNT_NAME_MAX + 1];
	char **v;
	size_t i;
	int r;

	if (s->msg_fd == -1 || n == 0 || n > INJECT_RCPT_MAX ||
	    ph.cfg == NULL || ph.store == NULL)
		return -1;
	v = xcalloc(2 * n, sizeof(*v));
	for (i = 0; i < n; i++) {
		r = -2;
		if (rcpts[i] != NULL && *rcpts[i] != '\0' &&
		    strlen(rcpts[i]) <= ADDR_PATH_MAX &&
		    strpbrk(rcpts[i], " \t\r\n<>") == NULL)
			r = addr_resolve_local(ph.cfg, ph.store, rcpts[i], acct);
		if (r == -2 || r == 0) {
			while (i-- > 0) {
				free(v[2 * i]);
				free(v[2 * i + 1]);
			}
			free(v);
			return -1;
		}
		v[2 * i] = xstrdup(rcpts[i]);
		v[2 * i + 1] = r == 1 ? xstrdup(acct) : NULL;
	}
	for (i = 0; i < 2 * s->nrcpt_new; i++)
		free(s->rcpt_new[i]);
	free(s->rcpt_new);
	s->rcpt_new = v;
	s->nrcpt_new = n;
	s->rcpt_replaced = 1;
	return 0;
}

/* ---- addresses and accounts --------------------------------------------- */

int
yh_domain_local(const char *domain)
{
	return ph.cfg ? addr_domain_is_local(ph.cfg, domain) : 0;
}

int
yh_account_exists(const char *account)
{
	struct account a;
	const char *why;

	if (ph.store == NULL || !account_name_valid(account, &why))
		return ph.store ? 0 : -1;
	return account_get(ph.store, account, &a);
}

int
yh_addr_valid(const char *addr)
{
	char arg[ADDR_PATH_MAX + 8];
	struct addr_path *p;
	struct addr_error e;
	int ok;

	if (addr == NULL || strlen(addr) > ADDR_PATH_MAX - 2 ||
	    strchr(addr, '@') == NULL)
		return 0;
	snprintf(arg, sizeof(arg), "TO:<%s>", addr);
	p = xmalloc(sizeof(*p));
	ok = addr_parse(arg, ADDR_RCPT, 1, p, &e) == 0 && p->domain[0] != '\0';
	free(p);
	return ok;
}

int
yh_resolve(const char *addr, char *account, size_t account_size)
{
	char acct[ACCOUNT_NAME_MAX + 1];
	int r;

	if (ph.cfg == NULL || ph.store == NULL)
		return -2;
	r = addr_resolve_local(ph.cfg, ph.store, addr, acct);
	if (r == 1 && account && str_copy(account, account_size, acct) == -1)
		return -2;
	return r;
}

/* ---- store -------------------------------------------------------------- */

static int
plugin_key(const char *key, struct buf *out)
{
	const char *ns = ph.current ? ph.current : "core";

	if (key == NULL || strlen(ns) + strlen(key) + 2 > PLUGIN_KEY_MAX)
		return -1;
	buf_reset(out);
	buf_puts(out, ns);
	buf_putc(out, '\0');
	buf_puts(out, key);
	return 0;
}

int
yh_store_get(const char *key, void *val, size_t *len)
{
	struct buf k, v;
	int r;

	if (ph.store == NULL)
		return -1;
	buf_init(&k, 0);
	buf_init(&v, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_get(ph.store, STORE_PLUGIN, k.data, k.len, &v);
	if (r == 1) {
		if (val && len)
			memcpy(val, v.data, v.len < *len ? v.len : *len);
		if (len)
			*len = v.len;
	}
	buf_free(&k);
	buf_free(&v);
	return r;
}

int
yh_store_put(const char *key, const void *val, size_t len, long long ttl)
{
	struct buf k;
	int r;

	if (ph.store == NULL || ttl < 0)
		return -1;
	buf_init(&k, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_put(ph.store, STORE_PLUGIN, k.data, k.len, val, len,
	    ttl ? time_now() + ttl : 0);
	buf_free(&k);
	return r;
}

int
yh_store_del(const char *key)
{
	struct buf k;
	int r;

	if (ph.store == NULL)
		return -1;
	buf_init(&k, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_del(ph.store, STORE_PLUGIN, k.data, k.len);
	buf_free(&k);
	return r;
}

int
yh_store_incr(const char *key, long long delta, long long ttl, long long *value)
{
	struct buf k;
	long long v = 0;
	int r;

	if (ph.store == NULL || ttl < 0)
		return -1;
	buf_init(&k, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_incr(ph.store, STORE_PLUGIN, k.data, k.len, delta,
	    ttl ? time_now() + ttl : 0, &v);
	if (r == 0 && value)
		*value = v;
	buf_free(&k);
	return r;
}

long long
yh_now(void)
{
	return time_now();
}

/* ---- blocks ------------------------------------------------------------- */

int
yh_block_add(const char *ip, long long ttl, const char *reason)
{
	char safe[256];

	if (ph.store == NULL || ip == NULL)
		return -1;
	str_escape(safe, sizeof(safe), reason ? reason : "-",
	    reason ? strlen(reason) : 1);
	if (block_add(ph.store, ip, ttl, safe) == -1)
		return -1;
	log_info("%s: plugin=%s blocked client=%s ttl=%lld reason=%s",
	    *ph.qid ? ph.qid : "NOQUEUE", ph.current ? ph.current : "?", ip, ttl, safe);
	return 0;
}

int
yh_blocked(const char *ip)
{
	return ph.store && ip ? block_check(ph.store, ip) : -1;
}

/* ---- delivery accessors ------------------------------------------------- */

const char *yh_dlv_queue_id(const struct yh_delivery *d) { return d->qid; }
const char *yh_dlv_sender(const struct yh_delivery *d) { return d->sender; }
const char *yh_dlv_rcpt(const struct yh_delivery *d) { return d->rcpt; }
const char *yh_dlv_account(const struct yh_delivery *d) { return d->account; }
const char *yh_dlv_client_ip(const struct yh_delivery *d) { return d->client_ip; }
const char *yh_dlv_auth_user(const struct yh_delivery *d) { return d->auth_user; }
const char *yh_dlv_path(const struct yh_delivery *d) { return d->path; }
long long yh_dlv_size(const struct yh_delivery *d) { return d->size; }

long long
yh_dlv_wire_size(struct yh_delivery *d, long long *bytes)
{
	if (d->fd == -1)
		d->fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (d->fd == -1)
		return -1;
	return maildir_wire_size(d->fd, bytes);
}

const char *
yh_dlv_header(struct yh_delivery *d, const char *name, int n)
{
	if (!d->hdr_loaded) {
		if (d->fd == -1)
			d->fd = open(d->path, O_RDONLY | O_CLOEXEC);
		if (header_load(d->fd, &d->hdr_cache) == -1)
			return NULL;
		d->hdr_loaded = 1;
	}
	return header_find(&d->hdr_cache, &d->vals, name, n);
}

/* ---- POP3 accessors ----------------------------------------------------- */

const char *yh_pop_user(const struct yh_pop *p) { return p->user; }
const char *yh_pop_peer_ip(const struct yh_pop *p) { return p->peer_ip; }

/* ---- mailbox usage ------------------------------------------------------ */

int
yh_utf8_valid(const void *p, size_t len)
{
	return utf8_valid(p, len);
}

enum yh_charset
yh_text_charset(const void *p, size_t len)
{
	switch (text_charset(p, len)) {
	case TEXT_ASCII:	return YH_CS_ASCII;
	case TEXT_UTF8:		return YH_CS_UTF8;
	case TEXT_JIS:		return YH_CS_JIS;
	case TEXT_SJIS:		return YH_CS_SJIS;
	default:		return YH_CS_UNKNOWN;
	}
}

size_t
yh_subject_utf8(const char *raw, char *out, size_t size)
{
	if (out == NULL || size == 0)
		return 0;
	if (raw == NULL) {
		out[0] = '\0';
		return 0;
	}
	return spawn_subject_utf8(raw, out, size);
}

int
yh_dns_server(struct sockaddr_storage *ss, socklen_t *len)
{
	if (ph.cfg == NULL)
		return -1;
	return dns_server(config_str(ph.cfg, "server.resolver"), ss, len);
}

int
yh_mailbox_usage(const char *account, long long *count, long long *bytes)
{
	const char *why;

	if (ph.store == NULL || !account_name_valid(account, &why))
		return -1;
	/* a delivery agent: the queue manager's figure for its mailbox */
	if (usage_fixed_get(account, count, bytes) == 1)
		return 0;
	if (usage_get(ph.store, account, count, bytes) == -1)
		return -1;
	usage_pending_get(account, count, bytes);
	return 0;
}
