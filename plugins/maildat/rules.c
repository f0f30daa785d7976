/*
 * rules.c - the mail.dat rule-file parser of the maildat plugin.
 *
 * md_parse() turns the text of one mail.dat into a struct md_table and
 * reports every bad line as "FILE:LINE: message" in a struct md_errs; a
 * table with errors is never used.  It never touches anything but its
 * arguments, so the unit test and the fuzz target call it directly.
 */
#include "maildat.h"

/* ---- error list --------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
md_err(struct md_errs *e, const char *fmt, ...)
{
	va_list ap;
	char *m;
	int n;

	e->count++;
	if (e->n == MD_ERRS_MAX)
		return;			/* counted, not kept */
	va_start(ap, fmt);
	n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	e->msg[e->n++] = m;
}

void
md_errs_free(struct md_errs *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	memset(e, 0, sizeof(*e));
}

static void __attribute__((format(printf, 2, 3)))
md_warn(struct md_errs *e, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (e->nwarn == MD_ERRS_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) >= 0)
		e->warn[e->nwarn++] = m;
	va_end(ap);
}

void
md_warns_free(struct md_errs *e)
{
	size_t i;

	for (i = 0; i < e->nwarn; i++)
		free(e->warn[i]);
	e->nwarn = 0;
}

/* ---- tables ------------------------------------------------------------- */

static void
md_tok_free(struct md_tok *t)
{
	free(t->lit);
	free(t->req);
	if (t->re)
		pcre2_code_free(t->re);
	memset(t, 0, sizeof(*t));
}

static void
md_rule_free(struct md_rule *r)
{
	size_t i;

	free(r->name);
	for (i = 0; i < r->nconds; i++) {
		free(r->conds[i].hname);
		md_tok_free(&r->conds[i].tok);
	}
	free(r->conds);
	for (i = 0; i < r->nbody; i++)
		md_tok_free(&r->body[i]);
	free(r->folder);
	free(r->rbl);
	free(r->tag);
	free(r->tag_name);
	free(r->forward);
	free(r->warning);
}

void
md_table_free(struct md_table **tp)
{
	struct md_table *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		md_rule_free(&t->rules[i]);
	free(t->rules);
	free(t->path);
	free(t);
	*tp = NULL;
}

/* ---- small helpers ------------------------------------------------------ */

void *
md_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		abort();	/* out of memory in a worker is fatal (STYLE 8) */
	return p;
}

char *
md_strndup(const char *s, size_t n)
{
	char *p = md_alloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
md_strdup(const char *s)
{
	return md_strndup(s, strlen(s));
}

void
md_lower(char *s, size_t n)
{
	size_t i;

	/* without a branch, so that the compiler can vectorize it */
	for (i = 0; i < n; i++)
		s[i] = (char)(s[i] + ((unsigned char)(s[i] - 'A') < 26) * 32);
}

/* md_addr_ok - a plain "local@domain" with no space, quote or bracket. */
static int
md_addr_ok(const char *a)
{
	const char *at = strchr(a, '@');
	const char *p;

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') ||
	    strlen(a) > MD_ADDR_MAX)
		return 0;
	for (p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[],;:\"\\", *p))
			return 0;
	return strchr(at + 1, '.') != NULL || strcmp(at + 1, "localhost") == 0;
}

/* re_class_end - past the character class that opens at P[I] ('['). */
static size_t
re_class_end(const char *p, size_t len, size_t i)
{
	const char *e;
	size_t k = i + 1;

	if (k < len && p[k] == '^')
		k++;
	if (k < len && p[k] == ']')
		k++;			/* a leading ']' is a member */
	for (; k < len; k++) {
		if (p[k] == '\\') {
			k++;
			continue;
		}
		if (p[k] == '[' && k + 1 < len && p[k + 1] == ':' &&
		    (e = memmem(p + k + 2, len - k - 2, ":]", 2)) != NULL) {
			k = (size_t)(e - p) + 1;	/* [:alpha:] */
			continue;
		}
		if (p[k] == ']')
			return k + 1;
	}
	return len;
}

/* re_group_end - past the group that opens at P[I] ('('). */
static size_t
re_group_end(const char *p, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '[')
			i = re_class_end(p, len, i) - 1;
		else if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

/* re_skip_quant - past a quantifier at P[I] ("?", "*", "+", "{n}",
 * "{n,}", "{n,m}", each maybe lazy or possessive); I when there is none.
 * *OPT_R: it allows zero repeats. */
static size_t
re_skip_quant(const char *p, size_t len, size_t i, int *opt_r)
{
	size_t k;

	*opt_r = 0;
	if (i >= len)
		return i;
	if (p[i] == '?' || p[i] == '*' || p[i] == '+') {
		*opt_r = p[i] != '+';
		i++;
	} else if (p[i] == '{') {
		for (k = i + 1; k < len && (isdigit((unsigned char)p[k]) ||
		    p[k] == ','); k++)
			;
		if (k == i + 1 || k >= len || p[k] != '}' || p[i + 1] == ',')
			return i;	/* not a quantifier: a literal '{' */
		*opt_r = p[i + 1] == '0';
		i = k + 1;
	} else
		return i;
	if (i < len && (p[i] == '?' || p[i] == '+'))
		i++;
	return i;
}

/* re_flush - the run RUN (*N bytes) into OUT when longer than *BEST. */
static void
re_flush(const char *run, size_t *n, char *out, size_t size, size_t *best)
{
	if (*n > *best && *n < size) {
		memcpy(out, run, *n);
		*best = *n;
	}
	*n = 0;
}

size_t
md_re_required(const char *p, size_t len, uint32_t opts, char *out,
    size_t size)
{
	char run[256];
	size_t i, k, cl, n = 0, best = 0;
	int opt, caseless = (opts & PCRE2_CASELESS) != 0;
	unsigned char c;

	if (opts & PCRE2_EXTENDED)
		return 0;
	/* what the walk below does not follow: give up */
	for (i = 0; i < len; i++) {
		if (p[i] == '\\') {
			if (++i < len && p[i] == 'Q')
				return 0;
		} else if (p[i] == '(') {
			if (i + 1 < len && (p[i + 1] == '*' || (p[i + 1] == '?' &&
			    !(i + 2 < len && p[i + 2] == ':'))))
				return 0;	/* options, verbs, look-around */
			i = re_group_end(p, len, i) - 1;
		} else if (p[i] == '[')
			i = re_class_end(p, len, i) - 1;
		else if (p[i] == '|' || p[i] == ')')
			return 0;	/* alternatives at the top, unbalanced */
	}
	for (i = 0; i < len;) {
		c = (unsigned char)p[i];
		if (c == '\\') {
			if (i + 1 >= len)
				return 0;
			c = (unsigned char)p[i + 1];
			if (c >= 0x80)
				return 0;
			if (isalnum(c)) {
				/* a class or an assertion of one token; other
				 * escapes with letters or digits are not
				 * followed */
				if (strchr("dDwWsShHvVRbBAzZ", c) == NULL)
					return 0;
				re_flush(run, &n, out, size, &best);
				i = re_skip_quant(p, len, i + 2, &opt);
				continue;
			}
			cl = 1;
			k = i + 2;	/* the punctuation character C itself */
		} else if (c == '(' || c == '[') {
			re_flush(run, &n, out, size, &best);
			i = re_skip_quant(p, len, c == '(' ? re_group_end(p, len, i) :
			    re_class_end(p, len, i), &opt);
			continue;
		} else if (c == '.' || c == '^' || c == '$') {
			re_flush(run, &n, out, size, &best);
			i = re_skip_quant(p, len, i + 1, &opt);
			continue;
		} else if (c == '?' || c == '*' || c == '+' || c == '{') {
			/* a quantifier of nothing, or a brace whose reading
			 * changed between PCRE2 versions ("{,3}") */
			return 0;
		} else {
			/* one character: all its bytes */
			for (k = i + 1; c >= 0x80 && k < len &&
			    ((unsigned char)p[k] & 0xc0) == 0x80; k++)
				;
			cl = k - i;
		}
		/* the literal character of CL bytes ends at K; what follows */
		i = re_skip_quant(p, len, k, &opt);
		if (opt || (caseless && (c >= 0x80 || strchr("kKsS", c)))) {
			/* may be absent; or matched caselessly by characters
			 * beyond ASCII (U+212A KELVIN SIGN for k, U+017F
			 * LONG S for s) that lower-casing ASCII misses */
			re_flush(run, &n, out, size, &best);
			continue;
		}
		if (n + cl > sizeof(run))
			re_flush(run, &n, out, size, &best);
		memcpy(run + n, cl == 1 ? (const char *)&c : p + k - cl, cl);
		n += cl;
		if (i != k)		/* repeated: nothing follows it for sure */
			re_flush(run, &n, out, size, &best);
	}
	re_flush(run, &n, out, size, &best);
	md_lower(out, best);
	return best;
}

/*
 * md_tok_compile - TEXT as a token: "#blank", "/regex/flags" or a literal
 * (lower-cased for the case-insensitive substring test).  0, or -1 with
 * the reason in WHY (WHYSIZE bytes).
 */
static int
md_tok_compile(struct md_tok *t, const char *text, char *why, size_t whysize)
{
	size_t len = strlen(text), i;
	const char *end;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;

	memset(t, 0, sizeof(*t));
	if (strcasecmp(text, "#blank") == 0) {
		t->blank = 1;
		return 0;
	}
	end = len >= 2 && text[0] == '/' ? strrchr(text, '/') : NULL;
	if (end != NULL && end > text) {
		for (i = 1; end[i]; i++)
			if (!strchr("imsx", end[i]))
				break;
		if (end[i] == '\0') {
			for (i = 1; end[i]; i++)
				opts |= end[i] == 'i' ? PCRE2_CASELESS :
				    end[i] == 'm' ? PCRE2_MULTILINE :
				    end[i] == 's' ? PCRE2_DOTALL : PCRE2_EXTENDED;
			t->re = pcre2_compile((PCRE2_SPTR)(text + 1),
			    (size_t)(end - text - 1), opts, &code, &off, NULL);
			if (t->re == NULL) {
				pcre2_get_error_message(code, msg, sizeof(msg));
				snprintf(why, whysize, "bad regex %s: %s at "
				    "offset %zu", text, (char *)msg, (size_t)off);
				return -1;
			}
			/* machine code when the library has a JIT (several
			 * times faster on a body); else the interpreter.  The
			 * match limit holds for both; JIT's depth is bounded
			 * by its stack (PCRE2_ERROR_JIT_STACKLIMIT: no match) */
			(void)pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE);
			/* a text without this cannot match: not searched */
			{
				char req[256];
				size_t rl = md_re_required(text + 1,
				    (size_t)(end - text - 1), opts, req, sizeof(req));

				if (rl >= 2) {
					t->req = md_strndup(req, rl);
					t->reqlen = rl;
				}
			}
			return 0;
		}
	}
	t->lit = md_strndup(text, len);
	t->litlen = len;
	md_lower(t->lit, len);
	return 0;
}

/* the header fields a rule can test, by their rule-file names */
static const char *const md_field_names[] = {
	[MDF_RECEIVED] = "Received",
	[MDF_SUBJECT] = "Subject",
	[MDF_FROM] = "From",
	[MDF_TO] = "To",
	[MDF_CTYPE] = "Content-Type",
	[MDF_XMAILER] = "X-Mailer",
	[MDF_XUIDL] = "X-UIDL",
};

static int
md_header_name_ok(const char *n, size_t len)
{
	size_t i;

	if (len == 0 || len > MD_HNAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)n[i] <= 0x20 || (unsigned char)n[i] >= 0x7f ||
		    n[i] == ':')
			return 0;
	return 1;
}

/* ---- the parser --------------------------------------------------------- */

enum md_block { MDB_NONE, MDB_BODY, MDB_WARNING };

struct md_pstate {
	const char	*file;
	struct md_errs	*errs;
	struct md_table	*t;
	struct md_rule	*r;		/* the rule being read, or NULL */
	unsigned	 rline;		/* its Virus: line */
	int		 rbad;		/* it had an error: not kept */
	enum md_block	 block;
	unsigned	 bline;		/* the block's start line */
	size_t		 blines;	/* lines in the block so far */
	int		 bover;		/* the block went over 5 lines */
	char		*warn[MD_BLOCK_LINES];
	size_t		 nwarn;
	unsigned	 warn_line;
	int		 seen_level;
};

static void
md_rule_end(struct md_pstate *ps, unsigned line)
{
	struct md_rule *r = ps->r;
	size_t i, len = 0;
	char *w;
	int bad = ps->rbad;

	(void)line;
	if (!ps->seen_level) {
		md_err(ps->errs, "%s:%u: rule '%s' has no Level:", ps->file,
		    ps->rline, r->name);
		bad = 1;
	} else {
		if ((r->action == 3 || r->action == 4 || r->action == 6 ||
		    r->action == 7) && r->tag == NULL) {
			md_err(ps->errs, "%s:%u: rule '%s': Level %d%d%d needs "
			    "Tag:", ps->file, ps->rline, r->name, r->action,
			    r->backup, r->reg);
			bad = 1;
		}
		if (r->action >= 5 && r->forward == NULL) {
			md_err(ps->errs, "%s:%u: rule '%s': Level %d%d%d needs "
			    "Forward:", ps->file, ps->rline, r->name, r->action,
			    r->backup, r->reg);
			bad = 1;
		}
		if ((r->action == 4 || r->action == 7) && r->tag != NULL &&
		    r->tag_name == NULL) {
			md_err(ps->errs, "%s:%u: rule '%s': Tag: for Level %dxx "
			    "must be NAME:VALUE, e.g. X-SPAM:TRUE", ps->file,
			    ps->rline, r->name, r->action);
			bad = 1;
		}
		if (r->action == 2 && ps->nwarn == 0) {
			md_err(ps->errs, "%s:%u: rule '%s': Level 2xx needs a "
			    "Warning: block", ps->file, ps->rline, r->name);
			bad = 1;
		}
	}
	if (r->nconds == 0 && r->nbody == 0 && r->rbl == NULL) {
		md_err(ps->errs, "%s:%u: rule '%s' has no condition (a header "
		    "field, Body: or RBL:)", ps->file, ps->rline, r->name);
		bad = 1;
	}
	if (ps->nwarn > 0 && ps->seen_level && r->action != 2)
		md_warn(ps->errs, "%s:%u: rule '%s': Warning: ignored, Level "
		    "is not 2xx", ps->file, ps->warn_line, r->name);
	if (!bad && r->action == 2) {
		for (i = 0; i < ps->nwarn; i++)
			len += strlen(ps->warn[i]) + 1;
		w = md_alloc(len + 1);
		for (len = 0, i = 0; i < ps->nwarn; i++) {
			memcpy(w + len, ps->warn[i], strlen(ps->warn[i]));
			len += strlen(ps->warn[i]);
			w[len++] = '\n';
		}
		r->warning = w;
	}
	for (i = 0; i < ps->nwarn; i++)
		free(ps->warn[i]);
	ps->nwarn = 0;
	if (bad)
		md_rule_free(r);
	else
		ps->t->n++;
	ps->r = NULL;
}

static void
md_rule_start(struct md_pstate *ps, unsigned line, const char *name)
{
	struct md_table *t = ps->t;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->rules = realloc(t->rules, t->cap * sizeof(*t->rules));
		if (t->rules == NULL)
			abort();
	}
	ps->r = &t->rules[t->n];
	memset(ps->r, 0, sizeof(*ps->r));
	ps->r->name = md_strdup(*name ? name : "(unnamed)");
	ps->r->line = line;
	ps->rline = line;
	ps->rbad = 0;
	ps->seen_level = 0;
	ps->nwarn = 0;
}

static void
md_cond_add(struct md_pstate *ps, unsigned line, int field, const char *hname,
    const char *value, const char *label)
{
	struct md_rule *r = ps->r;
	struct md_cond *c;
	char why[512];

	if (*value == '\0') {
		md_err(ps->errs, "%s:%u: %s: needs a value (#blank for a "
		    "missing or empty header)", ps->file, line, label);
		ps->rbad = 1;
		return;
	}
	if (r->nconds == MD_CONDS_MAX) {
		md_err(ps->errs, "%s:%u: over %d conditions in one rule",
		    ps->file, line, MD_CONDS_MAX);
		ps->rbad = 1;
		return;
	}
	r->conds = realloc(r->conds, (r->nconds + 1) * sizeof(*r->conds));
	if (r->conds == NULL)
		abort();
	c = &r->conds[r->nconds];
	memset(c, 0, sizeof(*c));
	if (md_tok_compile(&c->tok, value, why, sizeof(why)) == -1) {
		md_err(ps->errs, "%s:%u: %s", ps->file, line, why);
		ps->rbad = 1;
		return;
	}
	c->field = field;
	c->hname = md_strdup(hname);
	r->nconds++;
}

/* md_single - a field that may appear once per rule: 0 fine, -1 again. */
/* md_folder_ok - 1 when Folder: value V stays where it points: no ".."
 * component, no control character, at most 1024 bytes. */
static int
md_folder_ok(const char *v)
{
	const char *p;

	if (strlen(v) > 1024)
		return 0;
	for (p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	for (p = v; p != NULL; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return 0;
	return 1;
}

static int
md_single(struct md_pstate *ps, unsigned line, char **slot, const char *label,
    const char *value)
{
	if (*slot != NULL) {
		md_err(ps->errs, "%s:%u: duplicate %s:", ps->file, line, label);
		ps->rbad = 1;
		return -1;
	}
	if (*value == '\0') {
		md_err(ps->errs, "%s:%u: %s: needs a value", ps->file, line, label);
		ps->rbad = 1;
		return -1;
	}
	*slot = md_strdup(value);
	return 0;
}

static void
md_block_line(struct md_pstate *ps, unsigned line, const char *raw)
{
	char why[512];

	if (ps->block == MDB_BODY &&
	    strcasecmp(raw, "BodyEnd:") == 0) {
		ps->block = MDB_NONE;
		return;
	}
	if (ps->block == MDB_WARNING &&
	    strcasecmp(raw, "WarningEnd:") == 0) {
		ps->block = MDB_NONE;
		return;
	}
	if (strncasecmp(raw, "VirusEnd:", 9) == 0 ||
	    strncasecmp(raw, "Virus:", 6) == 0) {
		md_err(ps->errs, "%s:%u: %s: block without %s:", ps->file,
		    ps->bline, ps->block == MDB_BODY ? "Body" : "Warning",
		    ps->block == MDB_BODY ? "BodyEnd" : "WarningEnd");
		ps->rbad = 1;
		ps->block = MDB_NONE;
		return;		/* the caller reads the line again */
	}
	if (++ps->blines > MD_BLOCK_LINES) {
		if (!ps->bover)
			md_err(ps->errs, "%s:%u: %s: block over %d lines",
			    ps->file, line, ps->block == MDB_BODY ? "Body" :
			    "Warning", MD_BLOCK_LINES);
		ps->bover = 1;
		ps->rbad = 1;
		return;
	}
	/* a duplicate block (already reported) must not fill past the
	 * arrays: both hold at most MD_BLOCK_LINES lines per rule */
	if (ps->block == MDB_WARNING) {
		if (ps->nwarn >= MD_BLOCK_LINES) {
			ps->rbad = 1;
			return;
		}
		ps->warn[ps->nwarn++] = md_strdup(raw);
		return;
	}
	if (*raw == '\0')
		return;		/* an empty Body line would match anything */
	if (ps->r->nbody >= MD_BLOCK_LINES) {
		ps->rbad = 1;
		return;
	}
	if (md_tok_compile(&ps->r->body[ps->r->nbody], raw, why,
	    sizeof(why)) == -1) {
		md_err(ps->errs, "%s:%u: %s", ps->file, line, why);
		ps->rbad = 1;
		return;
	}
	ps->r->nbody++;
}

static void
md_field_line(struct md_pstate *ps, unsigned line, const char *raw)
{
	struct md_rule *r = ps->r;
	const char *colon = strchr(raw, ':'), *v, *c2;
	char name[64], hname[MD_HNAME_MAX + 1];
	size_t nlen, i;
	int d[3];

	if (colon == NULL) {
		md_err(ps->errs, "%s:%u: not a Name:value line", ps->file, line);
		ps->rbad = 1;
		return;
	}
	nlen = (size_t)(colon - raw);
	if (nlen >= sizeof(name)) {
		md_err(ps->errs, "%s:%u: unknown field '%.40s...'", ps->file,
		    line, raw);
		ps->rbad = 1;
		return;
	}
	memcpy(name, raw, nlen);
	name[nlen] = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	for (i = 0; i < MDF_UNIQUE; i++)
		if (strcasecmp(name, md_field_names[i]) == 0) {
			md_cond_add(ps, line, (int)i, md_field_names[i], v, name);
			return;
		}
	if (strcasecmp(name, "Unique-Header") == 0) {
		c2 = strchr(v, ':');
		if (c2 == NULL || !md_header_name_ok(v, (size_t)(c2 - v))) {
			md_err(ps->errs, "%s:%u: Unique-Header: needs NAME:TOKEN",
			    ps->file, line);
			ps->rbad = 1;
			return;
		}
		memcpy(hname, v, (size_t)(c2 - v));
		hname[c2 - v] = '\0';
		md_cond_add(ps, line, MDF_UNIQUE, hname, c2 + 1, "Unique-Header");
	} else if (strcasecmp(name, "Body") == 0 && *v == '\0') {
		if (r->nbody > 0) {
			md_err(ps->errs, "%s:%u: duplicate Body:", ps->file, line);
			ps->rbad = 1;
		}
		ps->block = MDB_BODY;
		ps->bline = line;
		ps->blines = 0;
		ps->bover = 0;
	} else if (strcasecmp(name, "Warning") == 0 && *v == '\0') {
		if (ps->warn_line != 0 && ps->nwarn > 0) {
			md_err(ps->errs, "%s:%u: duplicate Warning:", ps->file, line);
			ps->rbad = 1;
		}
		ps->block = MDB_WARNING;
		ps->bline = line;
		ps->warn_line = line;
		ps->blines = 0;
		ps->bover = 0;
	} else if (strcasecmp(name, "Level") == 0) {
		/* strlen first: a short value must not be read past its end */
		for (i = 0; i < 3; i++)
			d[i] = strlen(v) == 3 && v[i] >= '0' && v[i] <= '9' ?
			    v[i] - '0' : -1;
		if (ps->seen_level) {
			md_err(ps->errs, "%s:%u: duplicate Level:", ps->file, line);
			ps->rbad = 1;
		} else if (strlen(v) != 3 || d[0] < 0 || d[0] > 7 || d[1] < 0 ||
		    d[1] > 1 || d[2] < 0 || d[2] > 1) {
			md_err(ps->errs, "%s:%u: Level must be three digits ABC "
			    "(A 0-7, B 0-1, C 0-1), not '%s'", ps->file, line, v);
			ps->rbad = 1;
			ps->seen_level = 1;
			r->action = 0;
		} else {
			ps->seen_level = 1;
			r->action = d[0];
			r->backup = d[1];
			r->reg = d[2];
		}
	} else if (strcasecmp(name, "Folder") == 0) {
		if (md_single(ps, line, &r->folder, "Folder", v) == 0 &&
		    !md_folder_ok(v)) {
			md_err(ps->errs, "%s:%u: Folder: '%s' must be a path of at "
			    "most 1024 bytes without a '..' component", ps->file,
			    line, v);
			ps->rbad = 1;
		}
	} else if (strcasecmp(name, "RBL") == 0) {
		if (md_single(ps, line, &r->rbl, "RBL", v) == 0 &&
		    (strlen(v) > MD_ZONE_MAX || strpbrk(v, " \t/@:") != NULL)) {
			md_err(ps->errs, "%s:%u: RBL: '%s' is not a DNS zone",
			    ps->file, line, v);
			ps->rbad = 1;
		}
	} else if (strcasecmp(name, "Tag") == 0) {
		if (md_single(ps, line, &r->tag, "Tag", v) == 0 &&
		    (c2 = strchr(v, ':')) != NULL &&
		    md_header_name_ok(v, (size_t)(c2 - v)))
			r->tag_name = md_strndup(v, (size_t)(c2 - v));
	} else if (strcasecmp(name, "Forward") == 0) {
		if (md_single(ps, line, &r->forward, "Forward", v) == 0 &&
		    !md_addr_ok(v)) {
			md_err(ps->errs, "%s:%u: Forward: '%s' is not an address "
			    "(local@domain)", ps->file, line, v);
			ps->rbad = 1;
		}
	} else {
		md_err(ps->errs, "%s:%u: unknown field '%s'", ps->file, line, name);
		ps->rbad = 1;
	}
}

/* md_line - one line (no line end) of the rule file. */
static void
md_line(struct md_pstate *ps, unsigned line, char *raw)
{
	size_t n = strlen(raw);
	const char *v;

	while (n > 0 && (raw[n - 1] == '\r' || raw[n - 1] == ' ' ||
	    raw[n - 1] == '\t'))
		raw[--n] = '\0';
	if (ps->r != NULL && ps->block != MDB_NONE) {
		md_block_line(ps, line, raw);
		if (ps->block != MDB_NONE || (strncasecmp(raw, "VirusEnd:", 9) &&
		    strncasecmp(raw, "Virus:", 6)))
			return;
	}
	v = raw + strspn(raw, " \t");
	if (*v == '\0' || *v == '#')
		return;		/* blank and comment lines */
	if (strncasecmp(v, "Virus:", 6) == 0) {
		if (ps->r != NULL) {
			md_err(ps->errs, "%s:%u: Virus: inside rule '%s' (line "
			    "%u) without VirusEnd:", ps->file, line, ps->r->name,
			    ps->rline);
			ps->rbad = 1;
			md_rule_end(ps, line);
		}
		if (ps->t->n >= MD_RULES_MAX) {
			md_err(ps->errs, "%s:%u: over %d rules", ps->file, line,
			    MD_RULES_MAX);
			return;
		}
		v += 6;
		v += strspn(v, " \t");
		md_rule_start(ps, line, v);
		return;
	}
	if (ps->r == NULL) {
		md_err(ps->errs, "%s:%u: '%.60s' outside a Virus: rule",
		    ps->file, line, v);
		return;
	}
	if (strncasecmp(v, "VirusEnd:", 9) == 0) {
		md_rule_end(ps, line);
		return;
	}
	md_field_line(ps, line, (char *)v);
}

/*
 * md_parse - the rule file TEXT (LEN bytes) named FILE (in messages) into a
 * new table.  Every problem goes to ERRS; warnings (a Warning: block that
 * is ignored) to ERRS->warn.  Returns the table (owned: md_table_free) when
 * there was no error, else NULL.  Lines that are not valid UTF-8 are read
 * as Shift_JIS (CP932), the encoding of E-Post's own files.
 */
struct md_table *
md_parse(const char *file, const char *text, size_t len, struct md_errs *errs)
{
	struct md_pstate ps;
	const char *p = text, *end = text + len, *nl;
	char *line, *conv;
	unsigned lineno = 0;
	size_t n, i;

	memset(&ps, 0, sizeof(ps));
	ps.file = file;
	ps.errs = errs;
	ps.t = md_alloc(sizeof(*ps.t));
	ps.t->path = md_strdup(file);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		lineno++;
		if (lineno > MD_FILE_LINES_MAX) {
			md_err(errs, "%s:%u: over %d lines", file, lineno,
			    MD_FILE_LINES_MAX);
			break;
		}
		if (n > MD_LINE_MAX) {
			md_err(errs, "%s:%u: line too long (over %d bytes)",
			    file, lineno, MD_LINE_MAX);
			if (ps.r)
				ps.rbad = 1;
		} else if (memchr(p, '\0', n) != NULL) {
			md_err(errs, "%s:%u: NUL byte in line", file, lineno);
			if (ps.r)
				ps.rbad = 1;
		} else {
			line = md_strndup(p, n);
			if (!yh_utf8_valid(line, n) &&
			    (conv = md_iconv("CP932", line, n, NULL)) != NULL) {
				free(line);
				line = conv;
			}
			md_line(&ps, lineno, line);
			free(line);
		}
		p = nl ? nl + 1 : end;
	}
	if (ps.r != NULL) {
		if (ps.block != MDB_NONE)
			md_err(errs, "%s:%u: %s: block without %s:", file, ps.bline,
			    ps.block == MDB_BODY ? "Body" : "Warning",
			    ps.block == MDB_BODY ? "BodyEnd" : "WarningEnd");
		md_err(errs, "%s:%u: rule '%s' has no VirusEnd:", file, ps.rline,
		    ps.r->name);
		ps.rbad = 1;
		md_rule_end(&ps, lineno);
	}
	for (i = 0; i < ps.nwarn; i++)
		free(ps.warn[i]);
	if (errs->count > 0) {
		md_table_free(&ps.t);
		return NULL;
	}
	for (i = 0; i < ps.t->n; i++) {
		if (ps.t->rules[i].nbody > 0)
			ps.t->need_body = 1;
		if (ps.t->rules[i].rbl != NULL)
			ps.t->need_body = ps.t->need_rbl = 1;
	}
	return ps.t;
}
