/*
 * effect.c - the effect.dat reader of the relay plugin: one line into a
 * struct rule, the whole file into a struct relay_conf, every bad line
 * reported as "FILE:LINE: message".  The readings of the seed's format are
 * in relay.c's header comment and in etc/effect.dat.
 */
#include "relay.h"

static const struct {
	const char	*word;
	enum kind	 kind;
} relay_kinds[] = {
	{ "true", K_TRUE },
	{ "false", K_FALSE },
	{ "default", K_DEFAULT },
	{ "norelay", K_NORELAY },
	{ "norelay,0", K_NORELAY0 },
	{ "norelay,2", K_NORELAY2 },
	{ "only", K_ONLY },
};

static const struct {
	const char	*word;
	enum pat	 pat;
} relay_keywords[] = {
	{ "#blank", PAT_BLANK },
	{ "#<>", PAT_NULL },
	{ "#number", PAT_NUMBER },
	{ "#nodomain", PAT_NODOMAIN },
	{ "#host", PAT_HOST },
};

/* ---- effect.dat: one line ------------------------------------------------ */

/* ip4_pattern - "a.b.c.d" with '*' octets into NET/MASK.  0 or -1. */
static int
ip4_pattern(const char *s, uint32_t *net, uint32_t *mask)
{
	unsigned octet, v, digits;
	uint32_t n = 0, m = 0;

	for (octet = 0; octet < 4; octet++) {
		if (octet > 0) {
			if (*s != '.')
				return -1;
			s++;
		}
		n <<= 8;
		m <<= 8;
		if (*s == '*') {
			s++;
			continue;
		}
		for (v = 0, digits = 0; *s >= '0' && *s <= '9'; s++, digits++)
			v = v * 10 + (unsigned)(*s - '0');
		if (digits == 0 || digits > 3 || v > 255 ||
		    (digits > 1 && s[-(int)digits] == '0'))
			return -1;
		n |= v;
		m |= 0xff;
	}
	if (*s != '\0')
		return -1;
	*net = n & m;
	*mask = m;
	return 0;
}

/* domain_ok - a domain pattern: labels of letters, digits, '-', '_' or
 * UTF-8 bytes, separated by single dots; one trailing dot allowed. */
static int
domain_ok(const char *d, size_t len)
{
	size_t i, label = 0;
	unsigned char c;

	if (len == 0 || len > 255)
		return 0;
	if (d[len - 1] == '.')
		len--;
	for (i = 0; i < len; i++) {
		c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c >= 0x80))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* local_ok - an address pattern's local part: printable, no space. */
static int
local_ok(const char *l, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)l[i] <= 0x20 || l[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * rule_parse - one rule line LINE (LEN bytes, no line end, not blank, not
 * a comment) into *R (R->text allocated: free it).  0, or -1 with the
 * reason in WHY (WHYSIZE bytes).
 */
static int
rule_parse(const char *line, size_t len, struct rule *r, char *why,
    size_t whysize)
{
	char pat[EFFECT_LINE_MAX + 1], e[RELAY_WHY_MAX];
	const char *sp, *act = NULL, *at;
	size_t i, plen;

	memset(r, 0, sizeof(*r));
	if (len > EFFECT_LINE_MAX) {
		snprintf(why, whysize, "line longer than %d bytes", EFFECT_LINE_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (line[i] == '\t') {
			snprintf(why, whysize, "TAB is not allowed (separate "
			    "pattern and action with one space)");
			return -1;
		}
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
			snprintf(why, whysize, "control character in line");
			return -1;
		}
	}
	if (line[0] == ' ') {
		snprintf(why, whysize, "space at the start of the line");
		return -1;
	}
	sp = memchr(line, ' ', len);
	plen = sp ? (size_t)(sp - line) : len;
	if (sp) {
		act = sp + 1;
		if (act == line + len) {
			snprintf(why, whysize, "space at the end of the line");
			return -1;
		}
		if (memchr(act, ' ', (size_t)(line + len - act)) != NULL) {
			snprintf(why, whysize, "more than one space (write "
			    "PATTERN or PATTERN ACTION, one space between)");
			return -1;
		}
	}
	memcpy(pat, line, plen);
	pat[plen] = '\0';

	r->kind = K_TRUE;
	if (act) {
		char word[EFFECT_LINE_MAX + 1];
		size_t alen = (size_t)(line + len - act);

		memcpy(word, act, alen);
		word[alen] = '\0';
		for (i = 0; i < NELEM(relay_kinds); i++)
			if (strcasecmp(word, relay_kinds[i].word) == 0)
				break;
		if (i == NELEM(relay_kinds)) {
			snprintf(why, whysize, "unknown action '%s' (expected "
			    "true, false, default, norelay, norelay,0, "
			    "norelay,2 or only)", relay_esc(e, sizeof(e), word));
			return -1;
		}
		r->kind = relay_kinds[i].kind;
	}

	if (pat[0] == '#') {
		for (i = 0; i < NELEM(relay_keywords); i++)
			if (strcasecmp(pat, relay_keywords[i].word) == 0) {
				r->pat = relay_keywords[i].pat;
				return 0;
			}
		snprintf(why, whysize, "unknown keyword '%s' (expected #blank, "
		    "#<>, #number, #nodomain or #host; a comment is '#' and a "
		    "space)", relay_esc(e, sizeof(e), pat));
		return -1;
	}
	if (strchr(pat, '/')) {
		if (pu_net_parse(pat, &r->v6) == -1) {
			snprintf(why, whysize, "bad CIDR block '%s' (an IPv4 "
			    "address/0-32 or an IPv6 address/0-128)",
			    relay_esc(e, sizeof(e), pat));
			return -1;
		}
		if (r->v6.ip.family == 4) {
			r->pat = PAT_IP4;
			r->v4mask = r->v6.bits ? 0xffffffffu << (32 - r->v6.bits) : 0;
			r->v4net = relay_ip4_host(&r->v6.ip) & r->v4mask;
		} else
			r->pat = PAT_IP6;
		return 0;
	}
	if (strchr(pat, ':')) {
		if (pu_net_parse(pat, &r->v6) == -1) {
			snprintf(why, whysize, "bad IPv6 address '%s'",
			    relay_esc(e, sizeof(e), pat));
			return -1;
		}
		if (r->v6.ip.family == 4) {	/* ::ffff:a.b.c.d is a.b.c.d */
			r->pat = PAT_IP4;
			r->v4mask = 0xffffffffu;
			r->v4net = relay_ip4_host(&r->v6.ip);
		} else
			r->pat = PAT_IP6;
		return 0;
	}
	if (strspn(pat, "0123456789.*") == plen) {
		if (ip4_pattern(pat, &r->v4net, &r->v4mask) == -1) {
			snprintf(why, whysize, "bad IPv4 pattern '%s' (four "
			    "octets, each 0-255 or '*')", relay_esc(e, sizeof(e), pat));
			return -1;
		}
		r->pat = PAT_IP4;
		return 0;
	}
	if (strchr(pat, '*')) {
		snprintf(why, whysize, "bad pattern '%s' ('*' stands only for "
		    "a whole IPv4 octet)", relay_esc(e, sizeof(e), pat));
		return -1;
	}
	at = strrchr(pat, '@');
	if (at) {
		if (!local_ok(pat, (size_t)(at - pat)) ||
		    !domain_ok(at + 1, strlen(at + 1))) {
			snprintf(why, whysize, "bad mail address '%s'",
			    relay_esc(e, sizeof(e), pat));
			return -1;
		}
		r->pat = PAT_ADDRESS;
	} else {
		if (!domain_ok(pat, plen)) {
			snprintf(why, whysize, "bad pattern '%s' (expected an IP "
			    "address, CIDR block, domain, mail address or "
			    "#keyword)", relay_esc(e, sizeof(e), pat));
			return -1;
		}
		r->pat = PAT_DOMAIN;
	}
	if ((r->text = relay_lower_dup(pat, plen)) == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- effect.dat: the file ------------------------------------------------ */

void
relay_conf_free(struct relay_conf **cp)
{
	struct relay_conf *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nrules; i++)
		free(c->rules[i].text);
	free(c->rules);
	free(c->permits);
	for (i = 0; i < c->reject_domain.n; i++)
		free(c->reject_domain.v[i]);
	free(c->reject_domain.v);
	for (i = 0; i < c->reject_addr.n; i++)
		free(c->reject_addr.v[i]);
	free(c->reject_addr.v);
	free(c->path);
	free(c);
	*cp = NULL;
}

static int
rule_add(struct relay_conf *c, const struct rule *r)
{
	struct rule *nr;
	size_t ncap;

	if (c->nrules == c->cap) {
		ncap = c->cap ? c->cap * 2 : 16;
		if (ncap > EFFECT_RULES_MAX)
			ncap = EFFECT_RULES_MAX;
		nr = realloc(c->rules, ncap * sizeof(*nr));
		if (nr == NULL)
			return -1;
		c->rules = nr;
		c->cap = ncap;
	}
	c->rules[c->nrules++] = *r;
	return 0;
}

/* is_skipped - an empty line or a comment ("#" alone or "# ..."). */
static int
is_skipped(const char *line, size_t len)
{
	return len == 0 || (line[0] == '#' && (len == 1 || line[1] == ' '));
}

/*
 * effect_parse - the rules of DATA (LEN bytes) into C; errors as
 * "PATH:LINE: message" through yh_error, one per bad line.  Returns the
 * number of errors.
 */
static unsigned
effect_parse(struct relay_conf *c, const char *data, size_t len)
{
	char why[RELAY_WHY_MAX];
	const char *p = data, *end = data + len, *nl;
	unsigned lineno = 0, errors = 0, only_line = 0;
	int too_many = 0;
	size_t llen;
	struct rule r;

	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		llen = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (llen > EFFECT_LINE_MAX) {
			/* comments too: every line is bounded */
			yh_error("%s:%u: line longer than %d bytes", c->path,
			    lineno, EFFECT_LINE_MAX);
			errors++;
		} else if (memchr(p, '\0', llen) != NULL) {
			yh_error("%s:%u: NUL byte in line", c->path, lineno);
			errors++;
		} else if (!is_skipped(p, llen)) {
			if (rule_parse(p, llen, &r, why, sizeof(why)) == -1) {
				yh_error("%s:%u: %s", c->path, lineno, why);
				errors++;
			} else if (only_line) {
				yh_error("%s:%u: rule after the 'only' rule of "
				    "line %u ('only' must be the last rule)",
				    c->path, lineno, only_line);
				free(r.text);
				errors++;
			} else if (c->nrules == EFFECT_RULES_MAX) {
				/* one message for the first rule too many */
				if (!too_many)
					yh_error("%s:%u: more than %d rules",
					    c->path, lineno, EFFECT_RULES_MAX);
				too_many = 1;
				free(r.text);
				errors++;
			} else {
				r.line = lineno;
				if (r.kind == K_ONLY)
					only_line = lineno;
				if (rule_add(c, &r) == -1) {
					yh_error("%s:%u: out of memory", c->path,
					    lineno);
					free(r.text);
					errors++;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	c->only = only_line != 0;
	return errors;
}

/* relay_effect_load - read C->path (REQUIRED: a missing file is an error) and
 * parse it.  Returns the number of errors. */
unsigned
relay_effect_load(struct relay_conf *c, int required)
{
	struct stat st;
	char *data;
	ssize_t n;
	size_t len = 0;
	unsigned errors;
	int fd;

	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT && !required)
			return 0;	/* no file: Table I for everyone */
		yh_error("%s: cannot open: %s", c->path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		yh_error("%s: not a regular file", c->path);
		close(fd);
		return 1;
	}
	if (st.st_size > EFFECT_FILE_MAX) {
		yh_error("%s: larger than %d bytes", c->path, EFFECT_FILE_MAX);
		close(fd);
		return 1;
	}
	if ((data = malloc(EFFECT_FILE_MAX + 1)) == NULL) {
		yh_error("%s: out of memory", c->path);
		close(fd);
		return 1;
	}
	/* read one byte past the limit: a file that grew meanwhile is refused */
	while (len <= EFFECT_FILE_MAX) {
		n = read(fd, data + len, EFFECT_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			yh_error("%s: read: %s", c->path, strerror(errno));
			free(data);
			close(fd);
			return 1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > EFFECT_FILE_MAX) {
		yh_error("%s: larger than %d bytes", c->path, EFFECT_FILE_MAX);
		free(data);
		return 1;
	}
	errors = effect_parse(c, data, len);
	free(data);
	return errors;
}
