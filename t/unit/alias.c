/*
 * t/unit/alias.c - alias.dat parser and lookup (issue 6, SEEDS §13):
 * numbered, table-driven; bad lines with their exact "alias.dat:LINE:" text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "config.h"
#include "util.h"
#include "../lib/tap.h"

static struct config *
load_config(void)
{
	char *defs[] = { "server.domain=a.example", "server.alias=b.example",
	    "server.home=/nonexistent-yubin-test" };
	struct config *cfg = NULL;
	struct errlist errs;
	size_t i;

	errlist_init(&errs);
	if (config_load(&cfg, NULL, defs, 3, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			diag("config: %s", errs.msg[i]);
		cfg = NULL;
	}
	errlist_free(&errs);
	return cfg;
}

struct bad {
	int	 n;
	const char *text;
	const char *err;	/* the first message, exactly */
};

static const struct bad bads[] = {
	{ 1, "info abc\n", "alias.dat:1: alias 'info' has no domain" },
	{ 2, "info@a.example abc\n",
	    "alias.dat:1: real address 'abc' has no domain" },
	{ 3, "\n# c\ninfo@a.example\n",
	    "alias.dat:3: missing real address (ALIAS REAL[,FLAG])" },
	{ 4, "x@a.example y@a.example,yes\n", "alias.dat:1: flag must be 0 or 1" },
	{ 5, "x@c.example y@a.example\n",
	    "alias.dat:1: alias domain 'c.example' is not a local domain" },
	{ 6, "x@a.example *@b.example\n",
	    "alias.dat:1: '*' in the real address needs '*' in the alias" },
	{ 7, "x*@a.example y@a.example\n",
	    "alias.dat:1: alias 'x*@a.example': '*' must be the whole local part" },
	{ 8, "x@a.example y@c.example,0\n", "alias.dat:1: flag 0 (keep the alias) "
	    "needs a real address in a local domain: mail to a remote one must "
	    "be rewritten to be routed" },
	{ 9, "x@a.example y@a.example\nX@A.example z@a.example\n",
	    "alias.dat:2: duplicate alias x@a.example (also line 1)" },
	{ 10, "x@a.example y@a.example z\n",
	    "alias.dat:1: junk after the real address" },
	{ 11, "x@a.example y@b.example\ny@b.example x@a.example\n",
	    "alias.dat:1: alias loop: x@a.example -> y@b.example -> x@a.example" },
	{ 12, "*@a.example *@b.example\n*@b.example *@a.example\n",
	    "alias.dat:1: alias loop: *@a.example -> *@b.example -> *@a.example" },
	{ 0, NULL, NULL },
};

struct look {
	int	 n;
	const char *local, *domain;
	int	 wildcard, found;
	const char *real;
	int	 rewrite;
};

static const char good[] =
	"# comment\n"
	"' seed comment\n"
	"  info@a.example\tinfo-a@a.example  \r\n"
	"info@b.example info-a@a.example\n"
	"same@b.example other@b.example,1\n"
	"keep@b.example other@a.example,0\n"
	"\"q.x\"@a.example out@c.example\n"
	"*@b.example *@a.example,1\n"
	"*@a.example catch@a.example\n";

static const struct look looks[] = {
	{ 101, "info", "a.example", 0, 1, "info-a@a.example", 0 },
	{ 102, "info", "A.EXAMPLE.", 0, 1, "info-a@a.example", 0 },
	{ 103, "info", "b.example", 0, 1, "info-a@a.example", 1 },
	{ 104, "same", "b.example", 0, 1, "other@b.example", 1 },
	{ 105, "keep", "b.example", 0, 1, "other@a.example", 0 },
	{ 106, "q.x", "a.example", 0, 1, "out@c.example", 1 },
	{ 107, "nobody", "b.example", 0, 0, NULL, 0 },
	{ 108, "nobody", "b.example", 1, 1, "nobody@a.example", 1 },
	{ 109, "nobody", "a.example", 1, 1, "catch@a.example", 0 },
	{ 110, "info", "c.example", 1, 0, NULL, 0 },
	{ 0, NULL, NULL, 0, 0, NULL, 0 },
};

int
main(void)
{
	struct alias_table *t = NULL;
	const struct bad *b;
	const struct look *l;
	struct config *cfg;
	struct errlist errs;
	char real[300];
	int rw;

	if (!ok((cfg = load_config()) != NULL, "0 config loads"))
		return done_testing();
	for (b = bads; b->text != NULL; b++) {
		errlist_init(&errs);
		is_int(alias_parse(cfg, "alias.dat", b->text, strlen(b->text), &t,
		    &errs), -1, "%d fails", b->n);
		ok(t == NULL, "%d no table", b->n);
		if (ok(errs.n > 0, "%d has a message", b->n))
			is_str(errs.msg[0], b->err, "%d message", b->n);
		errlist_free(&errs);
	}
	errlist_init(&errs);
	is_int(alias_parse(cfg, "alias.dat", "a b\nc d\ne@a.example\n", 20, &t,
	    &errs), -1, "50 several bad lines");
	is_int(errs.n, 3, "50 each reported");
	errlist_free(&errs);

	errlist_init(&errs);
	if (!ok(alias_parse(cfg, "alias.dat", good, strlen(good), &t, &errs) == 0,
	    "100 good table loads")) {
		size_t i;

		for (i = 0; i < errs.n; i++)
			diag("%s", errs.msg[i]);
	}
	errlist_free(&errs);
	is_int(alias_count(t), 7, "100 seven aliases");
	for (l = looks; l->local != NULL; l++) {
		is_int(alias_lookup(t, l->local, l->domain, l->wildcard, real,
		    sizeof(real), &rw), l->found, "%d found=%d", l->n, l->found);
		if (l->found) {
			is_str(real, l->real, "%d real", l->n);
			is_int(rw, l->rewrite, "%d rewrite=%d", l->n, l->rewrite);
		}
	}
	is_int(alias_lookup(NULL, "x", "a.example", 0, real, sizeof(real), &rw), 0,
	    "120 no table: nothing");
	alias_free(&t);
	ok(t == NULL, "121 free clears");
	config_free(&cfg);
	return done_testing();
}
