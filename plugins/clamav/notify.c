/*
 * notify.c - the virus notice of the clamav plugin (clamav.h, SEEDS §20):
 * what the words of `notify` name (&TO, &FROM, &RCV, &SND or an
 * address), the first address of a To:/From: field, the list of
 * recipients they expand to, and the notice's text.
 *
 * Runs in SMTP workers as the server user.  No yh_* call (the validity of
 * an address is the caller's function), so the unit test links it alone.
 * Must never put an address in the notice that the caller's check did not
 * pass, never cut an address, never grow without a bound the caller sets
 * (the recipients come from the configuration and the transaction).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clamav.h"

#define CV_NOTICE_MAX	(1024 * 1024)	/* a notice's text: 1000 recipients
					 * of 256 bytes, twice, fit */

enum cv_target
cv_target_parse(const char *word)
{
	if (word[0] != '&')
		return CV_T_ADDR;
	if (strcasecmp(word, "&TO") == 0)
		return CV_T_TO;
	if (strcasecmp(word, "&FROM") == 0)
		return CV_T_FROM;
	if (strcasecmp(word, "&RCV") == 0)
		return CV_T_RCV;
	if (strcasecmp(word, "&SND") == 0)
		return CV_T_SND;
	return CV_T_BAD;
}

/* ---- the first address of an address list -------------------------------- */

/* skip_comment - P at '(': past the matching ')' (nested, with quoted
 * pairs), or NULL when it is not closed. */
static const char *
skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

/* skip_quoted - P at '"': past the closing quote, or NULL. */
static const char *
skip_quoted(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* put - the address text P (LEN bytes, blanks around dropped) into OUT. */
static int
put(const char *p, size_t len, char *out, size_t size)
{
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0;
	if (len >= size)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 1;
}

int
cv_first_addr(const char *v, char *out, size_t size)
{
	char bare[CV_ADDR_MAX];
	const char *p = v, *q;
	size_t blen = 0;
	int r;

	if (size == 0)
		return -1;
	out[0] = '\0';
	while (*p) {
		switch (*p) {
		case '(':
			if ((p = skip_comment(p)) == NULL)
				return -1;
			continue;
		case '"':
			/* a quoted local part of a bare address is kept */
			if ((q = skip_quoted(p)) == NULL)
				return -1;
			if (blen + (size_t)(q - p) >= sizeof(bare))
				return -1;
			memcpy(bare + blen, p, (size_t)(q - p));
			blen += (size_t)(q - p);
			p = q;
			continue;
		case '<':
			if ((q = strchr(p, '>')) == NULL)
				return -1;
			/* a source route "<@a,@b:x@y>" keeps its mailbox */
			if (p[1] == '@' && memchr(p, ':', (size_t)(q - p)))
				p = memchr(p, ':', (size_t)(q - p));
			r = put(p + 1, (size_t)(q - p - 1), out, size);
			if (r != 0)
				return r;
			p = q + 1;	/* "<>": on to the next one */
			blen = 0;
			continue;
		case ':':
			blen = 0;	/* a group's name: its members follow */
			p++;
			continue;
		case ',':
		case ';':
			if ((r = put(bare, blen, out, size)) != 0)
				return r;
			blen = 0;
			p++;
			continue;
		default:
			if (blen + 1 >= sizeof(bare))
				return -1;
			bare[blen++] = *p++;
		}
	}
	return put(bare, blen, out, size);
}

/* ---- the recipients ------------------------------------------------------ */

void
cv_addrs_free(struct cv_addrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* addrs_add - ADDR into A unless it is NULL, "", invalid or there
 * already.  0, or -1 out of memory. */
static int
addrs_add(struct cv_addrs *a, const char *addr, int (*valid)(const char *))
{
	char **nv, *copy;
	size_t i;

	if (addr == NULL || *addr == '\0' || !valid(addr))
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i], addr) == 0)
			return 0;
	if ((nv = realloc(a->v, (a->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	a->v = nv;
	if ((copy = strdup(addr)) == NULL)
		return -1;
	a->v[a->n++] = copy;
	return 0;
}

int
cv_expand(const char *const *words, size_t n, const struct cv_msginfo *m,
    int (*valid)(const char *), struct cv_addrs *out)
{
	size_t i, j;
	int r = 0;

	out->v = NULL;
	out->n = 0;
	for (i = 0; i < n && r == 0; i++) {
		switch (cv_target_parse(words[i])) {
		case CV_T_ADDR:
			r = addrs_add(out, words[i], valid);
			break;
		case CV_T_TO:
			r = addrs_add(out, m->hdr_to, valid);
			break;
		case CV_T_FROM:
			r = addrs_add(out, m->hdr_from, valid);
			break;
		case CV_T_RCV:
			for (j = 0; j < m->nrcpt && r == 0; j++)
				r = addrs_add(out, m->rcpts[j], valid);
			break;
		case CV_T_SND:
			r = addrs_add(out, m->sender, valid);
			break;
		case CV_T_BAD:
			break;	/* refused at load */
		}
	}
	if (r == -1)
		cv_addrs_free(out);
	return r;
}

/* ---- the text ------------------------------------------------------------ */

struct text {
	char	*p;
	size_t	 len, cap;
	int	 bad;		/* out of memory or past CV_NOTICE_MAX */
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *np;
	int n;

	if (t->bad)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len :
		    0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->bad = 1;
			return;
		}
		if (t->p != NULL && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		cap = t->cap ? t->cap * 2 : 4096;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		if (cap > CV_NOTICE_MAX || (np = realloc(t->p, cap)) == NULL) {
			t->bad = 1;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
}

/* addr_list - "Name: a, b, ..." from A->v[FROM..], folded. */
static void
addr_list(struct text *t, const char *name, const struct cv_addrs *a,
    size_t from)
{
	size_t i;

	text_add(t, "%s: ", name);
	for (i = from; i < a->n; i++)
		text_add(t, "%s<%s>", i > from ? ",\n\t" : "", a->v[i]);
	text_add(t, "\n");
}

/* domain_of - the domain of ADDR, or "localhost". */
static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at && at[1] ? at + 1 : "localhost";
}

int
cv_notice(const char *from, const struct cv_addrs *a,
    const struct cv_msginfo *m, char **text_r, size_t *len_r)
{
	struct text t = { NULL, 0, 0, 0 };
	size_t i;

	*text_r = NULL;
	*len_r = 0;
	if (a->n == 0)
		return -1;
	text_add(&t, "From: Virus scanner <%s>\n", from);
	text_add(&t, "To: <%s>\n", a->v[0]);
	if (a->n > 1)
		addr_list(&t, "Cc", a, 1);
	text_add(&t, "Subject: Virus found: %s\n", m->virus);
	text_add(&t, "Date: %s\n", m->date);
	text_add(&t, "Message-ID: <%s.virus-notice@%s>\n", m->qid,
	    domain_of(from));
	text_add(&t, "Auto-Submitted: auto-generated\n");
	text_add(&t, "X-Yubin-Notice: clamav\n");
	text_add(&t, "MIME-Version: 1.0\n");
	text_add(&t, "Content-Type: text/plain; charset=utf-8\n");
	text_add(&t, "Content-Transfer-Encoding: 8bit\n\n");
	text_add(&t, "A message was refused because the virus scanner found "
	    "a virus in it.\nIt was not delivered.\n\n");
	text_add(&t, "Virus:       %s\n", m->virus);
	text_add(&t, "Queue id:    %s\n", m->qid);
	text_add(&t, "Date:        %s\n", m->date);
	text_add(&t, "Client:      %s (HELO %s)\n", m->client, m->helo);
	text_add(&t, "Sender:      <%s>\n", m->sender);
	for (i = 0; i < m->nrcpt; i++)
		text_add(&t, "%s<%s>\n", i == 0 ? "Recipients:  " :
		    "             ", m->rcpts[i]);
	if (m->hdr_from != NULL)
		text_add(&t, "From:        <%s>\n", m->hdr_from);
	if (m->subject != NULL)
		text_add(&t, "Subject:     %s\n", m->subject);
	if (t.bad) {
		free(t.p);
		return -1;
	}
	*text_r = t.p;
	*len_r = t.len;
	return 0;
}
