/*
 * mlfile.c - ml_member.csv and ml.def, their parsers, writers and key
 * table; see mlfile.h.
 *
 * Runs in whatever process calls it: yubinctl (root or the server user)
 * and, compiled into the list plugin, a worker of yubind.  libc only.
 *
 * Never: follow a symbolic link to a list file, read a file with more than
 * one link, keep an over-long line by cutting it, or report untrusted bytes
 * raw (messages escape control and 8-bit bytes as \xNN).
 */
#if !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE	/* POSIX 2008 and flock(), built alone in a plugin */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlfile.h"

#define ML_ESC_MAX	80	/* input bytes quoted in one message */
#define ML_ESC_SIZE	(ML_ESC_MAX * 4 + 8)
#define ML_BOM		"\xef\xbb\xbf"	/* UTF-8 byte-order mark */
#define ML_TMP_TRIES	16	/* scratch names tried before giving up */

/*
 * Errors.
 */
void
ml_errs_init(struct ml_errs *e)
{
	memset(e, 0, sizeof(*e));
}

void
ml_errs_add(struct ml_errs *e, const char *fmt, ...)
{
	char *m, **v;
	va_list ap;
	int n;

	/* sized first: a long path is never cut */
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || e->n >= ML_ERRS_MAX || (m = malloc((size_t)n + 1)) == NULL) {
		e->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(m, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if ((v = realloc(e->msg, (e->n + 1) * sizeof(*v))) == NULL) {
		free(m);
		e->dropped++;
		return;
	}
	e->msg = v;
	e->msg[e->n++] = m;
}

size_t
ml_errs_count(const struct ml_errs *e)
{
	return e->n + e->dropped;
}

void
ml_errs_free(struct ml_errs *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	memset(e, 0, sizeof(*e));
}

/* esc - printable copy of S (LEN bytes) for a message. */
static const char *
esc(char *out, size_t size, const char *s, size_t len)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len && i < ML_ESC_MAX && o + 5 < size; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (i < len && o + 4 < size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/*
 * Addresses and member lines.
 */
const char *const ml_roles[ML_ROLES] = { "request", "owner", "bounces" };

const char *
ml_addr_role(const char *local, char *base, size_t size)
{
	const char *dash;
	size_t i, n;

	for (i = 0; i < ML_ROLES; i++) {
		n = strlen(ml_roles[i]);
		/* NAME-ROLE, or (bounces only) NAME-bounces+VERP */
		for (dash = strchr(local, '-'); dash; dash = strchr(dash + 1, '-'))
			if (strncmp(dash + 1, ml_roles[i], n) == 0 &&
			    (dash[1 + n] == '\0' ||
			    (i == ML_ROLES - 1 && dash[1 + n] == '+')))
				break;
		if (dash == NULL || dash == local || (size_t)(dash - local) >= size)
			continue;
		memcpy(base, local, (size_t)(dash - local));
		base[dash - local] = '\0';
		return ml_roles[i];
	}
	return NULL;
}

int
ml_addr_check(const char *addr, const char **why_r)
{
	const char *at = NULL, *p;
	size_t n = strlen(addr);

	if (n == 0) {
		*why_r = "empty address";
		return 0;
	}
	if (n > ML_ADDR_MAX) {
		*why_r = "address longer than 254 bytes";
		return 0;
	}
	if (strncmp(addr, ML_BOM, 3) == 0) {
		/* first in a file it would be skipped as the file's mark */
		*why_r = "byte-order mark in the address";
		return 0;
	}
	for (p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f) {
			*why_r = "blank or control byte in the address";
			return 0;
		}
		if (strchr("<>\"(),;\\", c) != NULL) {
			*why_r = "one of < > \" ( ) , ; \\ in the address";
			return 0;
		}
		if (c == '@') {
			if (at) {
				*why_r = "more than one '@' in the address";
				return 0;
			}
			at = p;
		}
	}
	if (at == NULL) {
		*why_r = "no '@' in the address";
		return 0;
	}
	if (at == addr) {
		*why_r = "empty local part";
		return 0;
	}
	if ((size_t)(at - addr) > ML_LOCAL_MAX) {
		*why_r = "local part longer than 64 bytes";
		return 0;
	}
	if (at[1] == '\0') {
		*why_r = "empty domain";
		return 0;
	}
	if (at[1] == '.' || addr[n - 1] == '.' || strstr(at, "..") != NULL) {
		*why_r = "empty label in the domain";
		return 0;
	}
	return 1;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* name_ok - no control byte other than a tab in the name. */
static int
name_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 0;
	return 1;
}

static int
why_set(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
why_set(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -1;
}

/* take_addr - S..E (trimmed) as the address into ADDR. */
static int
take_addr(const char *s, const char *e, char *addr, size_t size, char *why,
    size_t whysize)
{
	char tmp[ML_ADDR_MAX + 2], x[ML_ESC_SIZE];
	const char *w;
	size_t n;

	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n == 0)
		return why_set(why, whysize, "empty address");
	if (n > ML_ADDR_MAX)
		return why_set(why, whysize, "address \"%s\": longer than 254 "
		    "bytes", esc(x, sizeof(x), s, n));
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (memchr(s, '\0', n) != NULL || !ml_addr_check(tmp, &w))
		return why_set(why, whysize, "address \"%s\": %s",
		    esc(x, sizeof(x), s, n), memchr(s, '\0', n) ? "NUL byte" :
		    w);
	if (n >= size)
		return why_set(why, whysize, "address too long");
	memcpy(addr, tmp, n + 1);
	return 0;
}

/* take_name - unquoted S..E (trimmed) into NAME. */
static int
take_name(const char *s, const char *e, char *name, size_t size, char *why,
    size_t whysize)
{
	size_t n;

	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	n = (size_t)(e - s);
	if (!name_ok(s, n))
		return why_set(why, whysize, "control byte in the name");
	if (n >= size)
		return why_set(why, whysize, "name longer than %zu bytes",
		    size - 1);
	memcpy(name, s, n);
	name[n] = '\0';
	return 0;
}

/* after_angle - P at '<': the address up to '>' and nothing but blanks
 * after it. */
static int
after_angle(const char *p, const char *e, char *addr, size_t addrsize,
    char *why, size_t whysize)
{
	char x[ML_ESC_SIZE];
	const char *gt = memchr(p, '>', (size_t)(e - p)), *t;

	if (gt == NULL)
		return why_set(why, whysize, "'<' without a closing '>'");
	for (t = gt + 1; t < e && is_blank(*t); t++)
		;
	if (t < e)
		return why_set(why, whysize, "unexpected text after the "
		    "address: \"%s\"", esc(x, sizeof(x), t, (size_t)(e - t)));
	return take_addr(p + 1, gt, addr, addrsize, why, whysize);
}

int
ml_member_parse(const char *line, size_t len, char *name, size_t namesize,
    char *addr, size_t addrsize, char *why, size_t whysize)
{
	const char *p = line, *e = line + len, *lt, *q;
	size_t n = 0;

	name[0] = '\0';
	addr[0] = '\0';
	if (e > p && e[-1] == '\r')
		e--;
	while (p < e && is_blank(*p))
		p++;
	while (e > p && is_blank(e[-1]))
		e--;
	if (p == e || *p == '#')
		return 0;
	if (memchr(p, '\0', (size_t)(e - p)) != NULL)
		return why_set(why, whysize, "NUL byte in line");
	if (*p == '"') {
		/* "Quoted \"Name\"" <addr> */
		for (q = p + 1; q < e && *q != '"'; q++) {
			if (*q == '\\' && q + 1 < e)
				q++;
			if (n + 1 >= namesize)
				return why_set(why, whysize, "name longer than "
				    "%zu bytes", namesize - 1);
			if (((unsigned char)*q < 0x20 && *q != '\t') ||
			    *q == 0x7f)
				return why_set(why, whysize, "control byte in "
				    "the name");
			name[n++] = *q;
		}
		name[n] = '\0';
		if (q == e)
			return why_set(why, whysize, "quoted name without its "
			    "closing '\"'");
		for (q++; q < e && is_blank(*q); q++)
			;
		if (q == e || *q != '<')
			return why_set(why, whysize, "expected <address> after "
			    "the quoted name");
		if (after_angle(q, e, addr, addrsize, why, whysize) == -1)
			return -1;
		return 1;
	}
	if ((lt = memchr(p, '<', (size_t)(e - p))) != NULL) {
		/* Name <addr> or <addr> */
		if (take_name(p, lt, name, namesize, why, whysize) == -1 ||
		    after_angle(lt, e, addr, addrsize, why, whysize) == -1)
			return -1;
		return 1;
	}
	if (memchr(p, '>', (size_t)(e - p)) != NULL)
		return why_set(why, whysize, "'>' without an opening '<'");
	if (take_addr(p, e, addr, addrsize, why, whysize) == -1)
		return -1;
	return 1;
}

/* name_needs_quotes - NAME written bare would not read back the same. */
static int
name_needs_quotes(const char *name)
{
	size_t n = strlen(name);

	return strpbrk(name, "\"\\<>") != NULL || name[0] == '#' ||
	    strncmp(name, ML_BOM, 3) == 0 ||
	    (n > 0 && (is_blank(name[0]) || is_blank(name[n - 1])));
}

int
ml_member_format(const char *name, const char *addr, char *out, size_t size)
{
	size_t o = 0;
	const char *p;
	int n;

	if (name == NULL || name[0] == '\0') {
		/* bare, unless it would read as a comment */
		n = snprintf(out, size, addr[0] == '#' ? "<%s>" : "%s", addr);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	if (!name_needs_quotes(name)) {
		n = snprintf(out, size, "%s <%s>", name, addr);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	if (size < 2)
		return -1;
	out[o++] = '"';
	for (p = name; *p; p++) {
		if (o + 3 >= size)
			return -1;
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	n = snprintf(out + o, size - o, "\" <%s>", addr);
	return n < 0 || (size_t)n >= size - o ? -1 : 0;
}

/*
 * The member list: entries in file order, and a hash set over the member
 * entries (open addressing, linear probing, at most half full).
 */
void
ml_list_init(struct ml_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
ml_list_free(struct ml_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].raw);
		free(l->v[i].name);
		free(l->v[i].addr);
	}
	free(l->v);
	free(l->slot);
	memset(l, 0, sizeof(*l));
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* addr_hash - FNV-1a over the local part and the lower-cased domain. */
static size_t
addr_hash(const char *a)
{
	uint64_t h = 14695981039346656037ULL;
	int dom = 0;

	for (; *a; a++) {
		if (*a == '@')
			dom = 1;
		h ^= (unsigned char)(dom ? lower(*a) : *a);
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static int
addr_same(const char *a, const char *b)
{
	const char *at = strchr(a, '@');
	size_t n = at ? (size_t)(at - a) : strlen(a);

	return strncmp(a, b, n) == 0 && b[n] == (at ? '@' : '\0') &&
	    (at == NULL || strcasecmp(at, b + n) == 0);
}

static long
set_find(const struct ml_list *l, const char *addr)
{
	size_t i, e;

	if (l->nslot == 0)
		return -1;
	for (i = addr_hash(addr) & (l->nslot - 1); l->slot[i];
	    i = (i + 1) & (l->nslot - 1)) {
		e = l->slot[i] - 1;
		if (!l->v[e].gone && addr_same(l->v[e].addr, addr))
			return (long)e;
	}
	return -1;
}

static void
set_put(size_t *slot, size_t nslot, const char *addr, size_t idx)
{
	size_t i;

	for (i = addr_hash(addr) & (nslot - 1); slot[i]; i = (i + 1) & (nslot - 1))
		;
	slot[i] = idx + 1;
}

/* set_room - room for one more member (rehash when half full). */
static int
set_room(struct ml_list *l, size_t want)
{
	size_t nslot = l->nslot ? l->nslot : 64, i, *slot;

	while (want * 2 >= nslot)
		nslot *= 2;
	if (nslot == l->nslot)
		return 0;
	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < l->n; i++)
		if (l->v[i].addr && !l->v[i].gone)
			set_put(slot, nslot, l->v[i].addr, i);
	free(l->slot);
	l->slot = slot;
	l->nslot = nslot;
	return 0;
}

/* entry_push - a new entry; its strings are taken over (freed on -1). */
static int
entry_push(struct ml_list *l, char *raw, char *name, char *addr,
    unsigned line)
{
	struct ml_entry *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 64;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			goto nomem;
		l->v = v;
		l->cap = cap;
	}
	if (addr && set_room(l, l->members + 1) == -1)
		goto nomem;
	l->v[l->n].raw = raw;
	l->v[l->n].name = name;
	l->v[l->n].addr = addr;
	l->v[l->n].line = line;
	l->v[l->n].gone = 0;
	if (addr) {
		set_put(l->slot, l->nslot, addr, l->n);
		l->members++;
	}
	l->n++;
	return 0;
nomem:
	free(raw);
	free(name);
	free(addr);
	return -1;
}

static char *
dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* list_line - one line of the file (S, N bytes without the LF). */
static int
list_line(struct ml_list *l, const char *path, unsigned line, const char *s,
    size_t n, struct ml_errs *errs)
{
	char name[ML_LINE_MAX + 1], addr[ML_ADDR_MAX + 1], why[ML_MSG_MAX];
	char *raw, *nm = NULL, *ad = NULL;
	long dup;
	int r;

	if (n > ML_LINE_MAX) {
		ml_errs_add(errs, "%s:%u: line longer than %d bytes", path,
		    line, ML_LINE_MAX);
		return 0;
	}
	r = ml_member_parse(s, n, name, sizeof(name), addr, sizeof(addr), why,
	    sizeof(why));
	if (r == -1) {
		ml_errs_add(errs, "%s:%u: %s", path, line, why);
		return 0;
	}
	if (r == 1 && (dup = set_find(l, addr)) != -1) {
		ml_errs_add(errs, "%s:%u: duplicate member %s (also line %u)",
		    path, line, addr, l->v[dup].line);
		return 0;
	}
	if (r == 1 && l->members >= ML_MEMBERS_MAX) {
		ml_errs_add(errs, "%s:%u: more than %d members", path, line,
		    ML_MEMBERS_MAX);
		return -1;
	}
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if ((raw = dupn(s, n)) == NULL || (r == 1 &&
	    ((nm = strdup(name)) == NULL || (ad = strdup(addr)) == NULL))) {
		free(raw);
		free(nm);
		ml_errs_add(errs, "%s:%u: out of memory", path, line);
		return -1;
	}
	if (entry_push(l, raw, nm, ad, line) == -1) {
		ml_errs_add(errs, "%s:%u: out of memory", path, line);
		return -1;
	}
	return 0;
}

/* next_line - the line at *P (before END) into *LINE_R, its length
 * without the LF into *N_R; *P moves past it.  0 when none is left. */
static int
next_line(const char **p, const char *end, const char **line_r, size_t *n_r)
{
	const char *nl;

	if (*p >= end)
		return 0;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*line_r = *p;
	*n_r = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	*p = nl ? nl + 1 : end;
	return 1;
}

int
ml_list_parse(struct ml_list *l, const char *path, const char *data,
    size_t len, struct ml_errs *errs)
{
	const char *p = data, *end = data + len, *s;
	size_t before = ml_errs_count(errs), n;
	unsigned line = 0;

	if (len >= 3 && memcmp(p, ML_BOM, 3) == 0)
		p += 3;
	while (next_line(&p, end, &s, &n))
		if (list_line(l, path, ++line, s, n, errs) == -1)
			break;
	return ml_errs_count(errs) == before ? 0 : -1;
}

int
ml_list_load(struct ml_list *l, int dfd, const char *path,
    struct ml_errs *errs)
{
	char why[ML_MSG_MAX], *data = NULL;
	size_t len = 0;
	int r;

	r = ml_file_read(dfd, ML_MEMBER_FILE, ML_FILE_MAX, &data, &len, why,
	    sizeof(why));
	if (r == -1) {
		ml_errs_add(errs, "%s: %s", path, why);
		return -1;
	}
	if (r == 1)
		return 0;
	r = ml_list_parse(l, path, data, len, errs);
	free(data);
	return r;
}

long
ml_list_find(const struct ml_list *l, const char *addr)
{
	return set_find(l, addr);
}

int
ml_list_add(struct ml_list *l, const char *name, const char *addr,
    const char **why_r)
{
	char *nm, *ad;

	if (!ml_addr_check(addr, why_r))
		return -1;
	if (name == NULL)
		name = "";
	if (strlen(name) > ML_LINE_MAX - ML_ADDR_MAX - 8 ||
	    !name_ok(name, strlen(name))) {
		*why_r = "name too long or with a control byte";
		return -1;
	}
	if (set_find(l, addr) != -1)
		return 0;
	if (l->members >= ML_MEMBERS_MAX) {
		*why_r = "the list has the most members it may have";
		return -1;
	}
	nm = strdup(name);
	ad = strdup(addr);
	if (nm == NULL || ad == NULL || entry_push(l, NULL, nm, ad, 0) == -1) {
		if (nm == NULL || ad == NULL) {
			free(nm);
			free(ad);
		}
		*why_r = "out of memory";
		return -1;
	}
	return 1;
}

int
ml_list_del(struct ml_list *l, const char *addr)
{
	long e = set_find(l, addr);

	if (e == -1)
		return 0;
	l->v[e].gone = 1;	/* its slot stays: lookups skip gone entries */
	l->members--;
	return 1;
}

struct out {
	char	*p;
	size_t	 len, cap;
};

static int
out_put(struct out *o, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (o->len + n + 2 > o->cap) {
		cap = o->cap ? o->cap : 4096;
		while (o->len + n + 2 > cap)
			cap *= 2;
		if ((p = realloc(o->p, cap)) == NULL)
			return -1;
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
	return 0;
}

int
ml_list_format(const struct ml_list *l, int comments, char **data_r,
    size_t *len_r)
{
	char line[2 * ML_LINE_MAX + ML_ADDR_MAX + 16];	/* a name quoted anew */
	const struct ml_entry *e;
	struct out o = { NULL, 0, 0 };
	size_t i;

	*data_r = NULL;
	*len_r = 0;
	if (out_put(&o, "", 0) == -1)
		return -1;
	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		if (e->gone || (e->addr == NULL && !comments))
			continue;
		if (e->raw && comments) {
			if (out_put(&o, e->raw, strlen(e->raw)) == -1)
				goto nomem;
		} else {
			/* a name that came in bare fits the line it came in
			 * with; quoting adds at most one byte per character */
			if (ml_member_format(e->name, e->addr, line,
			    sizeof(line)) == -1)
				goto nomem;
			if (out_put(&o, line, strlen(line)) == -1)
				goto nomem;
		}
		if (out_put(&o, "\n", 1) == -1)
			goto nomem;
	}
	*data_r = o.p;
	*len_r = o.len;
	return 0;
nomem:
	free(o.p);
	return -1;
}

/*
 * ml.def
 */
static const char *const packing_words[] = { "domain", "even", NULL };

const struct ml_key ml_keys[ML_NKEYS] = {
	[ML_COUNT] = { "count", ML_T_INT, "0", 0, 999999999, 0, NULL,
	    "number of the last post distributed" },
	[ML_NAME] = { "name", ML_T_TEXT, "", 0, 200, 0, NULL,
	    "the list's name, the subject tag's text (empty: the account name)" },
	[ML_DOMAIN] = { "domain", ML_T_DOMAIN, "", 0, 0, 0, NULL,
	    "the one domain the list serves (empty: every local domain)" },
	[ML_ADMIN] = { "admin_mail_address", ML_T_ADDR, "", 0, 0, 0, NULL,
	    "administrator: distribution errors, NAME-owner" },
	[ML_RETURN_PATH] = { "return_path", ML_T_ADDR, "", 0, 0, 0, NULL,
	    "envelope sender of list mail (empty: NAME-bounces@DOMAIN)" },
	[ML_FROM_KIND] = { "mailing_list_from_kind", ML_T_INT, "0", 0, 2,
	    ML_SERVER, NULL, "From: 0 poster, 1 list, 2 poster and Reply-To poster" },
	[ML_TO_KIND] = { "mailing_list_to_kind", ML_T_INT, "0", 0, 1,
	    ML_SERVER, NULL, "To: 0 the member, 1 the list" },
	[ML_HEADER_X] = { "mailing_list_mail_header_x_element", ML_T_BOOL, "0",
	    0, 1, ML_SERVER, NULL, "keep X- header fields" },
	[ML_PUBLIC_LEVEL] = { "mailing_list_public_level", ML_T_INT, "1", -1, 2,
	    ML_SERVER, NULL, "who posts: 0 members, 1 anyone, -1 the list, 2 manager" },
	[ML_SUBJECT_HEADER] = { "mailing_list_subject_header", ML_T_INT, "1",
	    0, 2, ML_SERVER, NULL, "subject tag: 0 none, 1 add, 2 replace old tags" },
	[ML_FILTER_STRING] = { "mailing_list_filter_string", ML_T_TEXT, "", 0,
	    2000, ML_SERVER, NULL,
	    "comma-separated subject strings never distributed" },
	[ML_SUBJECT_FORMAT] = { "subject_format", ML_T_FORMAT, "", 0, 200, 0,
	    NULL, "subject tag, %0Nd the counter (empty: [NAME%04d])" },
	[ML_POST_PASSWORD] = { "post_password", ML_T_SECRET, "", 0, 1024, 0,
	    NULL, "posts need SMTP AUTH as the list with this password" },
	[ML_REPLY_TO] = { "reply_to", ML_T_BOOL, "1", 0, 1, 0, NULL,
	    "add Reply-To: the list" },
	[ML_LIST_HEADERS] = { "list_headers", ML_T_BOOL, "1", 0, 1, 0, NULL,
	    "add List-Id, List-Post ... (RFC 2369, 2919)" },
	[ML_SAVE_POSTS] = { "save_posts", ML_T_BOOL, "0", 0, 1, 0, NULL,
	    "keep every post (the ARTICLE commands need it)" },
	[ML_ERROR_REPORT] = { "error_report", ML_T_REPORT, "admin", 0, 0, 0,
	    NULL, "distribution errors to: admin, sender, none or an address" },
	[ML_MANAGER] = { "manager", ML_T_ADDR, "", 0, 0, 0, NULL,
	    "manager address (LIST, ARTICLE DELETE, KEYGEN)" },
	[ML_FORWARD_JOIN] = { "forward_join", ML_T_BOOL, "0", 0, 1, 0, NULL,
	    "JOIN requests go to the manager" },
	[ML_FORWARD_LEAVE] = { "forward_leave", ML_T_BOOL, "0", 0, 1, 0, NULL,
	    "LEAVE requests go to the manager" },
	[ML_KEYGEN_MINUTES] = { "keygen_minutes", ML_T_INT, "0", 0, 525600, 0,
	    NULL, "validity of a KEYGEN key in minutes (0: no key needed)" },
	[ML_SILENT] = { "silent", ML_T_BOOL, "0", 0, 1, 0, NULL,
	    "no answers to refused posts and to commands" },
	[ML_PACKING] = { "packing", ML_T_WORD, "domain", 0, 0, 0, packing_words,
	    "recipients per message: domain (grouped) or even" },
	[ML_SPLIT] = { "split", ML_T_INT, "2", 1, 1000, 0, NULL,
	    "parts the recipients are split into" },
	[ML_CONFIRM] = { "confirm", ML_T_BOOL, "1", 0, 1, 0, NULL,
	    "a JOIN by mail waits for the address to confirm" },
	[ML_BOUNCE_LIMIT] = { "bounce_limit", ML_T_INT, "0", 0, 1000, 0, NULL,
	    "bounces that remove a member (0: never)" },
	[ML_PROGRAM] = { "program", ML_T_TEXT, "", 0, 1024, 0, NULL,
	    "program run on each post first (exec.def bin= form); not 0: dropped" },
	[ML_MAX_SIZE] = { "max_post_size", ML_T_INT, "0", 0, 1024LL * 1024 * 1024,
	    0, NULL, "bytes of the largest post (0: smtp.max_message_size)" },
};

int
ml_key_find(const char *name)
{
	int i;

	for (i = 0; i < ML_NKEYS; i++)
		if (strcmp(ml_keys[i].name, name) == 0)
			return i;
	return -1;
}

static int
parse_int(const char *s, long long *v)
{
	long long n = 0;
	int neg = 0, digits = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (n > 100000000000LL)
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (digits == 0 || *s != '\0')
		return -1;
	*v = neg ? -n : n;
	return 0;
}

static int
text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
domain_ok(const char *d)
{
	size_t i, n = strlen(d), label = 0;

	if (n == 0)
		return 1;
	if (n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') ||
		    (c == '-' && label == 0) || ++label > 63)
			return 0;
	}
	return label != 0 && d[n - 1] != '-';
}

/* format_ok - NULL, or why F is no subject format. */
static const char *
format_ok(const char *f)
{
	int counters = 0;

	for (; *f; f++) {
		if (*f != '%')
			continue;
		if (f[1] == '%') {
			f++;
			continue;
		}
		if (f[1] == 'd')
			f += 1;
		else if (f[1] == '0' && f[2] >= '1' && f[2] <= '9' &&
		    f[3] == 'd')
			f += 3;
		else
			return "'%' must start %0Nd (N 1-9), %d or %%";
		if (++counters > 1)
			return "more than one counter";
	}
	return NULL;
}

int
ml_value_check(int id, const char *value, long long *num_r, char *why,
    size_t whysize)
{
	const struct ml_key *k = &ml_keys[id];
	char x[ML_ESC_SIZE];
	const char *w, *const *p;
	long long n = 0;

	esc(x, sizeof(x), value, strlen(value));
	switch (k->type) {
	case ML_T_INT:
		if (parse_int(value, &n) == -1 || n < k->min || n > k->max)
			return why_set(why, whysize, "expected an integer from "
			    "%lld to %lld, got \"%s\"", k->min, k->max, x);
		break;
	case ML_T_BOOL:
		if (strcasecmp(value, "1") == 0 || strcasecmp(value, "true") == 0 ||
		    strcasecmp(value, "yes") == 0 || strcasecmp(value, "on") == 0)
			n = 1;
		else if (strcasecmp(value, "0") == 0 ||
		    strcasecmp(value, "false") == 0 ||
		    strcasecmp(value, "no") == 0 || strcasecmp(value, "off") == 0)
			n = 0;
		else
			return why_set(why, whysize, "expected a boolean (1/0, "
			    "true/false, yes/no, on/off), got \"%s\"", x);
		break;
	case ML_T_TEXT:
	case ML_T_SECRET:
	case ML_T_FORMAT:
		if (!text_ok(value))
			return why_set(why, whysize, "control byte in the value");
		if ((long long)strlen(value) > k->max)
			return why_set(why, whysize, "longer than %lld bytes",
			    k->max);
		if (k->type == ML_T_FORMAT && (w = format_ok(value)) != NULL)
			return why_set(why, whysize, "\"%s\": %s", x, w);
		break;
	case ML_T_ADDR:
		if (value[0] != '\0' && !ml_addr_check(value, &w))
			return why_set(why, whysize, "bad address \"%s\": %s",
			    x, w);
		break;
	case ML_T_REPORT:
		if (strcmp(value, "admin") != 0 && strcmp(value, "sender") != 0 &&
		    strcmp(value, "none") != 0 && !ml_addr_check(value, &w))
			return why_set(why, whysize, "expected admin, sender, "
			    "none or an address, got \"%s\"", x);
		break;
	case ML_T_DOMAIN:
		if (!domain_ok(value))
			return why_set(why, whysize, "expected a host name, got "
			    "\"%s\"", x);
		break;
	case ML_T_WORD:
		for (p = k->words; *p; p++)
			if (strcasecmp(*p, value) == 0)
				break;
		if (*p == NULL)
			return why_set(why, whysize, "expected %s or %s, got "
			    "\"%s\"", k->words[0], k->words[1], x);
		break;
	}
	if (num_r)
		*num_r = n;
	return 0;
}

/* def_set - store VALUE (checked) as key ID's value in D. */
static int
def_set(struct ml_def *d, int id, const char *value, long long n)
{
	char *s, *p;

	if (ml_keys[id].type == ML_T_INT || ml_keys[id].type == ML_T_BOOL) {
		d->num[id] = n;
		return 0;
	}
	if ((s = strdup(value)) == NULL)
		return -1;
	if (ml_keys[id].type == ML_T_WORD || ml_keys[id].type == ML_T_DOMAIN)
		for (p = s; *p; p++)
			*p = (char)lower(*p);
	free(d->str[id]);
	d->str[id] = s;
	return 0;
}

int
ml_def_init(struct ml_def *d)
{
	long long n;
	char why[ML_MSG_MAX];
	int i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < ML_NKEYS; i++)
		if (ml_value_check(i, ml_keys[i].def, &n, why,
		    sizeof(why)) == -1 || def_set(d, i, ml_keys[i].def, n) == -1) {
			ml_def_free(d);
			return -1;
		}
	return 0;
}

void
ml_def_free(struct ml_def *d)
{
	int i;

	for (i = 0; i < ML_NKEYS; i++)
		free(d->str[i]);
	memset(d, 0, sizeof(*d));
}

/* def_split - cut line S (modified) into key and value, trimmed: 1; 0 for
 * a blank or comment line; -1 without '=' (*key the trimmed line). */
static int
def_split(char *s, char **key, char **value)
{
	char *eq, *e;

	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && (is_blank(e[-1]) || e[-1] == '\r'))
		*--e = '\0';
	*key = s;
	*value = NULL;
	if (*s == '\0' || *s == '#' || (s[0] == '/' && s[1] == '/'))
		return 0;
	if ((eq = strchr(s, '=')) == NULL)
		return -1;
	for (e = eq; e > s && is_blank(e[-1]); e--)
		;
	*e = '\0';
	for (eq++; is_blank(*eq); eq++)
		;
	*value = eq;
	return 1;
}

static void
def_line(struct ml_def *d, const char *path, unsigned line, char *s,
    struct ml_errs *errs)
{
	char x[ML_ESC_SIZE], why[ML_MSG_MAX], *key, *value;
	long long n;
	int id;

	switch (def_split(s, &key, &value)) {
	case 0:
		return;
	case -1:
		ml_errs_add(errs, "%s:%u: expected key=value, got \"%s\"", path,
		    line, esc(x, sizeof(x), key, strlen(key)));
		return;
	}
	esc(x, sizeof(x), key, strlen(key));
	if ((id = ml_key_find(key)) == -1) {
		ml_errs_add(errs, "%s:%u: unknown key '%s'", path, line, x);
		return;
	}
	if (d->line[id]) {
		ml_errs_add(errs, "%s:%u: %s: given twice (first at line %u)",
		    path, line, key, d->line[id]);
		return;
	}
	d->line[id] = line;
	if (ml_value_check(id, value, &n, why, sizeof(why)) == -1) {
		ml_errs_add(errs, "%s:%u: %s: %s", path, line, key, why);
		return;
	}
	if (def_set(d, id, value, n) == -1)
		ml_errs_add(errs, "%s:%u: out of memory", path, line);
}

int
ml_def_parse(struct ml_def *d, const char *path, const char *data,
    size_t len, struct ml_errs *errs)
{
	char buf[ML_DEF_LINE_MAX + 1];
	const char *p = data, *end = data + len, *s;
	size_t before = ml_errs_count(errs), n;
	unsigned line = 0;

	while (next_line(&p, end, &s, &n)) {
		line++;
		if (n > ML_DEF_LINE_MAX)
			ml_errs_add(errs, "%s:%u: line longer than %d bytes", path,
			    line, ML_DEF_LINE_MAX);
		else if (memchr(s, '\0', n) != NULL)
			ml_errs_add(errs, "%s:%u: NUL byte in line", path, line);
		else {
			memcpy(buf, s, n);
			buf[n] = '\0';
			def_line(d, path, line, buf, errs);
		}
	}
	return ml_errs_count(errs) == before ? 0 : -1;
}

int
ml_def_load(struct ml_def *d, int dfd, const char *path,
    struct ml_errs *errs)
{
	char why[ML_MSG_MAX], *data = NULL;
	size_t len = 0;
	int r;

	r = ml_file_read(dfd, ML_DEF_FILE, ML_DEF_FILE_MAX, &data, &len, why,
	    sizeof(why));
	if (r != 0) {
		ml_errs_add(errs, "%s: %s", path, r == 1 ?
		    "No such file or directory" : why);
		return -1;
	}
	r = ml_def_parse(d, path, data, len, errs);
	free(data);
	return r;
}

int
ml_def_edit(const char *data, size_t len, const char *key, const char *value,
    char **out_r, size_t *len_r, char *why, size_t whysize)
{
	char buf[ML_DEF_LINE_MAX + 1], x[ML_ESC_SIZE], *k, *v;
	const char *p = data, *end = data + len, *s;
	struct out o = { NULL, 0, 0 };
	size_t n;
	int id, done = 0;

	*out_r = NULL;
	*len_r = 0;
	if ((id = ml_key_find(key)) == -1)
		return why_set(why, whysize, "unknown key '%s'",
		    esc(x, sizeof(x), key, strlen(key)));
	if (value[0] != '\0' &&
	    ml_value_check(id, value, NULL, why, whysize) == -1)
		return -1;
	if (out_put(&o, "", 0) == -1)
		goto nomem;
	while (next_line(&p, end, &s, &n)) {
		if (n <= ML_DEF_LINE_MAX) {
			memcpy(buf, s, n);
			buf[n] = '\0';
			if (def_split(buf, &k, &v) == 1 && strcmp(k, key) == 0) {
				if (!done && value[0] != '\0' &&
				    (out_put(&o, key, strlen(key)) == -1 ||
				    out_put(&o, "=", 1) == -1 ||
				    out_put(&o, value, strlen(value)) == -1 ||
				    out_put(&o, "\n", 1) == -1))
					goto nomem;
				done = 1;
				continue;
			}
		}
		if (out_put(&o, s, n) == -1 || out_put(&o, "\n", 1) == -1)
			goto nomem;
	}
	if (!done && value[0] != '\0' &&
	    (out_put(&o, key, strlen(key)) == -1 || out_put(&o, "=", 1) == -1 ||
	    out_put(&o, value, strlen(value)) == -1 || out_put(&o, "\n", 1) == -1))
		goto nomem;
	*out_r = o.p;
	*len_r = o.len;
	return 0;
nomem:
	free(o.p);
	return why_set(why, whysize, "out of memory");
}

/*
 * Files.
 */
int
ml_file_read(int dfd, const char *name, size_t max, char **data_r,
    size_t *len_r, char *why, size_t whysize)
{
	struct stat st;
	char *data;
	size_t got = 0;
	ssize_t n;
	int fd, saved;

	*data_r = NULL;
	*len_r = 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 1;
		return why_set(why, whysize, "%s", errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		return why_set(why, whysize, "%s", strerror(saved));
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return why_set(why, whysize, "%s", S_ISREG(st.st_mode) ?
		    "has more than one link; refusing to read it" :
		    "not a regular file");
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return why_set(why, whysize, "file larger than %zu bytes", max);
	}
	if ((data = malloc((size_t)st.st_size + 2)) == NULL) {
		close(fd);
		return why_set(why, whysize, "out of memory");
	}
	/* one byte more than fstat said: a file that grew is noticed */
	while (got < (size_t)st.st_size + 1) {
		n = read(fd, data + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			free(data);
			close(fd);
			return why_set(why, whysize, "%s", strerror(saved));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > (size_t)st.st_size) {
		free(data);
		return why_set(why, whysize, "changed while being read");
	}
	data[got] = '\0';
	*data_r = data;
	*len_r = got;
	return 0;
}

int
ml_file_write(int dfd, const char *name, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, char *why, size_t whysize)
{
	static unsigned seq;
	unsigned long long rnd;
	char tmp[300];
	const char *p = data;
	size_t done = 0;
	ssize_t n;
	int fd = -1, i, saved;

	for (i = 0; i < ML_TMP_TRIES && fd == -1; i++) {
		/* a name nobody can plant beforehand; O_EXCL all the same */
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd = ((unsigned long long)getpid() << 32) ^
			    (unsigned long long)time(NULL) ^ seq++;
		if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.%016llx", name,
		    rnd) >= sizeof(tmp))
			return why_set(why, whysize, "name too long");
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
		if (fd == -1 && errno != EEXIST)
			return why_set(why, whysize, "%s: %s", tmp,
			    strerror(errno));
	}
	if (fd == -1)
		return why_set(why, whysize, "no scratch file name free");
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		done += (size_t)n;
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1)
		goto fail;
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1)
		goto fail;
	if (fsync(dfd) == -1)
		return why_set(why, whysize, "%s", strerror(errno));
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dfd, tmp, 0);
	return why_set(why, whysize, "%s", strerror(saved));
}

int
ml_lock(int dfd)
{
	while (flock(dfd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}
