/*
 * alias.c - the alias table (CONFDIR/alias.dat); see alias.h for the file
 * format and the readings of SEEDS §13.
 *
 * Must never: accept a line it cannot fully read (every problem is a
 * "PATH:LINE: message"), keep a table with a loop in it, or write past a
 * fixed buffer.  Runs in the master (and yubind -t, yubinctl) at load time;
 * lookups run in any process that holds the config, read-only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "alias.h"
#include "config.h"
#include "util.h"

struct alias_ent {
	char	*local;		/* lower-case, unquoted; "*" = catch-all */
	char	*domain;	/* lower-case */
	char	*rlocal;	/* as the left side; "*" = the matched local */
	char	*rdomain;
	int	 flag;		/* enum alias_flag */
	unsigned line;
};

struct alias_table {
	struct alias_ent *v;	/* sorted by (domain, local) */
	size_t	 n;
	unsigned refs;
};

int
alias_local_norm(const char *local, size_t len, char *out, size_t size)
{
	size_t i, o = 0;

	if (len >= 2 && local[0] == '"' && local[len - 1] == '"') {
		local++;
		len -= 2;
	}
	for (i = 0; i < len; i++) {
		if (local[i] == '\\' && i + 1 < len)
			i++;
		if (o + 1 >= size)
			return -1;
		out[o++] = local[i];
	}
	out[o] = '\0';
	str_lower(out);
	return 0;
}

/* alias_domain_norm - DOMAIN lower-cased, one trailing dot dropped. */
static char *
alias_domain_norm(const char *domain)
{
	char *d = str_lower(xstrdup(domain));
	size_t n = strlen(d);

	if (n > 1 && d[n - 1] == '.')
		d[n - 1] = '\0';
	return d;
}

static int
alias_cmp(const void *a, const void *b)
{
	const struct alias_ent *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c != 0 ? c : strcmp(x->local, y->local);
}

static const struct alias_ent *
alias_find(const struct alias_table *t, const char *local, const char *domain)
{
	struct alias_ent key;

	if (t == NULL || t->n == 0)
		return NULL;
	key.local = (char *)(uintptr_t)local;
	key.domain = (char *)(uintptr_t)domain;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), alias_cmp);
}

/* alias_apply - E's result for LOCAL@DOMAIN into REAL (SIZE); 0 or -1. */
static int
alias_apply(const struct alias_ent *e, const char *local, const char *domain,
    char *real, size_t size, int *rewrite_r)
{
	const char *rl = strcmp(e->rlocal, "*") == 0 ? local : e->rlocal;
	int n;

	n = snprintf(real, size, "%s@%s", rl, e->rdomain);
	if (n < 0 || (size_t)n >= size || (size_t)n > ADDR_PATH_MAX - 2)
		return -1;
	if (e->flag == ALIAS_FLAG_DEFAULT)
		*rewrite_r = strcmp(domain, e->rdomain) != 0;
	else
		*rewrite_r = e->flag == ALIAS_FLAG_REWRITE;
	return 0;
}

int
alias_lookup(const struct alias_table *t, const char *local, const char *domain,
    int wildcard, char *real_r, size_t real_size, int *rewrite_r)
{
	const struct alias_ent *e;
	char *d;

	*rewrite_r = 0;
	if (t == NULL || t->n == 0)
		return 0;
	d = alias_domain_norm(domain);
	e = alias_find(t, wildcard ? "*" : local, d);
	if (e != NULL && alias_apply(e, local, d, real_r, real_size,
	    rewrite_r) == -1)
		e = NULL;
	free(d);
	return e != NULL;
}

struct alias_table *
alias_ref(struct alias_table *t)
{
	if (t != NULL)
		t->refs++;
	return t;
}

void
alias_free(struct alias_table **tp)
{
	struct alias_table *t = *tp;
	size_t i;

	*tp = NULL;
	if (t == NULL || --t->refs > 0)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].local);
		free(t->v[i].domain);
		free(t->v[i].rlocal);
		free(t->v[i].rdomain);
	}
	free(t->v);
	free(t);
}

size_t
alias_count(const struct alias_table *t)
{
	return t ? t->n : 0;
}

/*
 * alias_addr - parse one side S into local (normalized) and domain.  0, or
 * -1 with *why (static or in WHYBUF).
 */
static int
alias_addr(const char *s, const char *side, char *local, char **domain_r,
    char *whybuf, size_t whysize, const char **why)
{
	struct addr_path p;
	struct addr_error e;
	char arg[ADDR_PATH_MAX + 16], esc[128];

	str_escape(esc, sizeof(esc), s, strlen(s));
	if (strchr(s, '@') == NULL) {
		snprintf(whybuf, whysize, "%s '%s' has no domain", side, esc);
		*why = whybuf;
		return -1;
	}
	if ((size_t)snprintf(arg, sizeof(arg), "TO:<%s>", s) >= sizeof(arg) ||
	    addr_parse(arg, ADDR_RCPT, 1, &p, &e) == -1 || p.domain[0] == '\0') {
		snprintf(whybuf, whysize, "%s '%s' is not an address", side, esc);
		*why = whybuf;
		return -1;
	}
	if (strchr(p.domain, '*') != NULL) {
		snprintf(whybuf, whysize, "%s '%s': '*' is allowed in the local "
		    "part only", side, esc);
		*why = whybuf;
		return -1;
	}
	if (strchr(p.local, '*') != NULL && strcmp(p.local, "*") != 0) {
		snprintf(whybuf, whysize, "%s '%s': '*' must be the whole local "
		    "part", side, esc);
		*why = whybuf;
		return -1;
	}
	if (alias_local_norm(p.local, strlen(p.local), local,
	    ADDR_LOCAL_MAX + 1) == -1) {
		*why = "local part too long";
		return -1;
	}
	*domain_r = alias_domain_norm(p.domain);
	return 0;
}

/* alias_line - one non-comment line LINE into *E.  0, or -1 with *why. */
static int
alias_line(const struct config *cfg, char *line, struct alias_ent *e,
    char *whybuf, size_t whysize, const char **why)
{
	char local[ADDR_LOCAL_MAX + 1], rlocal[ADDR_LOCAL_MAX + 1];
	char *left, *right, *flag, *extra, *domain = NULL, *rdomain = NULL;
	const char *sep = " \t";

	memset(e, 0, sizeof(*e));
	left = strsep(&line, sep);
	while (line != NULL && (*line == ' ' || *line == '\t'))
		line++;
	right = line ? strsep(&line, sep) : NULL;
	while (line != NULL && (*line == ' ' || *line == '\t'))
		line++;
	extra = line != NULL && *line != '\0' ? line : NULL;
	if (right == NULL || *right == '\0') {
		*why = "missing real address (ALIAS REAL[,FLAG])";
		return -1;
	}
	if (extra != NULL) {
		*why = "junk after the real address";
		return -1;
	}
	e->flag = ALIAS_FLAG_DEFAULT;
	if ((flag = strchr(right, ',')) != NULL) {
		*flag++ = '\0';
		if (strcmp(flag, "0") == 0)
			e->flag = ALIAS_FLAG_KEEP;
		else if (strcmp(flag, "1") == 0)
			e->flag = ALIAS_FLAG_REWRITE;
		else {
			*why = "flag must be 0 or 1";
			return -1;
		}
	}
	if (alias_addr(left, "alias", local, &domain, whybuf, whysize, why) == -1)
		return -1;
	if (alias_addr(right, "real address", rlocal, &rdomain, whybuf, whysize,
	    why) == -1)
		goto fail;
	if (strcmp(rlocal, "*") == 0 && strcmp(local, "*") != 0) {
		*why = "'*' in the real address needs '*' in the alias";
		goto fail;
	}
	if (!addr_domain_is_local(cfg, domain)) {
		snprintf(whybuf, whysize, "alias domain '%s' is not a local "
		    "domain", domain);
		*why = whybuf;
		goto fail;
	}
	if (e->flag == ALIAS_FLAG_KEEP && !addr_domain_is_local(cfg, rdomain)) {
		*why = "flag 0 (keep the alias) needs a real address in a local "
		    "domain: mail to a remote one must be rewritten to be routed";
		goto fail;
	}
	e->local = xstrdup(local);
	e->domain = domain;
	e->rlocal = xstrdup(rlocal);
	e->rdomain = rdomain;
	return 0;
fail:
	free(domain);
	free(rdomain);
	return -1;
}

/*
 * alias_walk - follow LOCAL@DOMAIN through T as a resolution would when no
 * account exists.  0 ends well, -1 loop or too deep (message in WHY).
 */
static int
alias_walk(const struct config *cfg, const struct alias_table *t,
    const char *local, const char *domain, char *why, size_t whysize)
{
	char chain[ALIAS_DEPTH_MAX + 2][ADDR_PATH_MAX + 1];
	char cur_l[ADDR_PATH_MAX + 1], cur_d[ADDR_PATH_MAX + 1];
	char real[ADDR_PATH_MAX + 1], *at;
	const struct alias_ent *e;
	size_t n = 0, i, off;
	int rw;

	if (str_copy(cur_l, sizeof(cur_l), local) == -1 ||
	    str_copy(cur_d, sizeof(cur_d), domain) == -1 ||
	    (size_t)snprintf(chain[n++], sizeof(chain[0]), "%s@%s", cur_l,
	    cur_d) >= sizeof(chain[0]))
		return 0;	/* cannot be a recipient: nothing to follow */
	for (;;) {
		if (!addr_domain_is_local(cfg, cur_d))
			return 0;
		e = alias_find(t, cur_l, cur_d);
		if (e == NULL && (e = alias_find(t, "*", cur_d)) == NULL)
			return 0;
		if (alias_apply(e, cur_l, cur_d, real, sizeof(real), &rw) == -1)
			return 0;
		if (strcmp(real, chain[n - 1]) == 0 && strcmp(e->local, "*") == 0)
			return 0;	/* the catch-all's own mailbox */
		for (i = 0; i < n; i++)
			if (strcmp(chain[i], real) == 0)
				break;
		if (i < n || n > ALIAS_DEPTH_MAX) {
			off = (size_t)snprintf(why, whysize, i < n ? "alias loop: " :
			    "alias chain longer than %d: ", ALIAS_DEPTH_MAX);
			for (i = 0; i < n && off < whysize; i++)
				off += (size_t)snprintf(why + off, whysize - off,
				    "%s -> ", chain[i]);
			if (off < whysize)
				snprintf(why + off, whysize - off, "%s", real);
			return -1;
		}
		memcpy(chain[n++], real, sizeof(real));
		at = strrchr(real, '@');
		*at = '\0';
		(void)str_copy(cur_l, sizeof(cur_l), real);	/* fits: from real */
		(void)str_copy(cur_d, sizeof(cur_d), at + 1);
	}
}

int
alias_parse(const struct config *cfg, const char *path, const char *data,
    size_t len, struct alias_table **t_r, struct errlist *errs)
{
	struct alias_table *t = xcalloc(1, sizeof(*t));
	char *copy = xstrndup(data, len), *p = copy, *line, why[768];
	const char *w;
	size_t before = errlist_count(errs), i, j, l;
	unsigned lineno = 0;

	t->refs = 1;
	*t_r = NULL;
	while ((line = strsep(&p, "\n")) != NULL) {
		struct alias_ent e;

		lineno++;
		if (p == NULL && *line == '\0')
			break;
		l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l > ALIAS_LINE_MAX) {
			errlist_add(errs, "%s:%u: line longer than %d bytes", path,
			    lineno, ALIAS_LINE_MAX);
			continue;
		}
		while (*line == ' ' || *line == '\t')
			line++;
		l = strlen(line);
		while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t'))
			line[--l] = '\0';
		if (*line == '\0' || *line == '#' || *line == '\'')
			continue;
		if (t->n == ALIAS_LINES_MAX) {
			errlist_add(errs, "%s:%u: more than %d aliases", path,
			    lineno, ALIAS_LINES_MAX);
			break;
		}
		if (alias_line(cfg, line, &e, why, sizeof(why), &w) == -1) {
			errlist_add(errs, "%s:%u: %s", path, lineno, w);
			continue;
		}
		e.line = lineno;
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n++] = e;
	}
	free(copy);
	if (t->n > 0)
		qsort(t->v, t->n, sizeof(*t->v), alias_cmp);
	for (i = 1; i < t->n; i++)
		if (alias_cmp(&t->v[i - 1], &t->v[i]) == 0) {
			const struct alias_ent *a = &t->v[i - 1], *b = &t->v[i];

			errlist_add(errs, "%s:%u: duplicate alias %s@%s (also "
			    "line %u)", path, a->line > b->line ? a->line : b->line,
			    b->local, b->domain, a->line < b->line ? a->line : b->line);
		}
	/* loops, only on a table whose lines all parsed (and unique) */
	if (errlist_count(errs) == before) {
		for (i = 0; i < t->n; i++) {
			const struct alias_ent *e = &t->v[i];

			if (alias_walk(cfg, t, e->local, e->domain, why,
			    sizeof(why)) == -1) {
				errlist_add(errs, "%s:%u: %s", path, e->line, why);
				continue;
			}
			if (strcmp(e->local, "*") != 0)
				continue;
			/* a catch-all also meets the exact aliases' names */
			for (j = 0; j < t->n; j++) {
				if (strcmp(t->v[j].local, "*") == 0 ||
				    alias_walk(cfg, t, t->v[j].local, e->domain,
				    why, sizeof(why)) == 0)
					continue;
				errlist_add(errs, "%s:%u: %s", path, e->line, why);
				break;
			}
		}
	}
	if (errlist_count(errs) > before) {
		alias_free(&t);
		return -1;
	}
	*t_r = t;
	return 0;
}

int
alias_load(const struct config *cfg, struct alias_table **t_r,
    struct errlist *errs)
{
	char *path, *data;
	size_t len;
	int r;

	*t_r = NULL;
	path = xasprintf("%s/alias.dat", config_confdir(cfg));
	if (file_read(path, (size_t)ALIAS_LINE_MAX * 64 + (size_t)ALIAS_LINES_MAX *
	    ALIAS_LINE_MAX / 8, &data, &len) == -1) {
		if (errno == ENOENT) {
			free(path);
			*t_r = xcalloc(1, sizeof(**t_r));
			(*t_r)->refs = 1;
			return 0;
		}
		errlist_add(errs, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	r = alias_parse(cfg, path, data, len, t_r, errs);
	free(data);
	free(path);
	return r;
}
