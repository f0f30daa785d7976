/*
 * t/unit/paths.c - the server.mailbox_path template (F019, SEEDS §4.6):
 * numbered, table-driven; what the check accepts and refuses with its
 * exact reason, and where the root and an account's folder then are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "paths.h"
#include "util.h"
#include "../lib/tap.h"

struct check {
	int		 n;
	const char	*text;
	const char	*why;		/* NULL: accepted */
};

static const struct check checks[] = {
	{ 1, "", NULL },
	{ 2, "/srv/mail", NULL },
	{ 3, "%HOME%/boxes", NULL },
	{ 4, "%HOME%/boxes/%USERNAME%", NULL },
	{ 5, "/srv/mail/%USERNAME%", NULL },
	{ 6, "/srv/100%/mail", NULL },			/* a lone % is literal */
	{ 7, "/srv/%/%USERNAME%", NULL },
	{ 8, "/srv/%%/x", NULL },
	{ 10, "%FOO%/x", "unknown variable %FOO% (expected %USERNAME% or %HOME%)" },
	{ 11, "/srv/%home%", "unknown variable %home% (expected %USERNAME% or %HOME%)" },
	{ 12, "/srv/%USERNAME%/Maildir",
	    "%USERNAME% must be the last folder of the path (\"ROOT/%USERNAME%\")" },
	{ 13, "/srv/x%USERNAME%",
	    "%USERNAME% must be the last folder of the path (\"ROOT/%USERNAME%\")" },
	{ 14, "%USERNAME%",
	    "%USERNAME% must be the last folder of the path (\"ROOT/%USERNAME%\")" },
	{ 15, "/%USERNAME%", "no mailbox root before /%USERNAME%" },
	{ 16, "/a/%USERNAME%/%USERNAME%",
	    "%USERNAME% must be the last folder of the path (\"ROOT/%USERNAME%\")" },
	{ 0, NULL, NULL },
};

struct where {
	int		 n;
	const char	*tpl;
	const char	*root;
	const char	*dir;		/* of account "alice" */
};

static const struct where wheres[] = {
	{ 30, "", "/h/mailbox", "/h/mailbox/alice" },
	{ 31, "/srv/mail", "/srv/mail", "/srv/mail/alice" },
	{ 32, "%HOME%/boxes/%USERNAME%", "/h/boxes", "/h/boxes/alice" },
	{ 33, "/srv/%HOME%/x", "/srv//h/x", "/srv//h/x/alice" },
	{ 34, "/srv/mail/%USERNAME%", "/srv/mail", "/srv/mail/alice" },
	{ 35, "%HOME%", "/h", "/h/alice" },
	{ 0, NULL, NULL, NULL },
};

static struct config *
load(const char *tpl)
{
	char def[256];
	char *defs[] = { "server.home=/h", def };
	struct config *cfg = NULL;
	struct errlist errs;
	size_t i;

	snprintf(def, sizeof(def), "server.mailbox_path=%s", tpl);
	errlist_init(&errs);
	if (config_load(&cfg, NULL, defs, 2, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			diag("config: %s", errs.msg[i]);
		cfg = NULL;
	}
	errlist_free(&errs);
	return cfg;
}

int
main(void)
{
	const struct check *c;
	const struct where *w;
	struct config *cfg;
	char why[256];
	char *p;
	int r;

	plan_no_plan();
	for (c = checks; c->text != NULL; c++) {
		why[0] = '\0';
		r = paths_template_check(c->text, why, sizeof(why));
		is_int(r, c->why ? -1 : 0, "%d check \"%s\"", c->n, c->text);
		if (c->why)
			is_str(why, c->why, "%d reason", c->n);
	}
	for (w = wheres; w->tpl != NULL; w++) {
		cfg = load(w->tpl);
		if (!ok(cfg != NULL, "%d loads \"%s\"", w->n, w->tpl))
			continue;
		p = paths_mailbox_root(cfg);
		is_str(p, w->root, "%d root", w->n);
		free(p);
		p = paths_account_dir(cfg, "alice");
		is_str(p, w->dir, "%d folder of alice", w->n);
		free(p);
		config_free(&cfg);
	}
	/* the load refuses what the check refuses */
	ok(load("%HOME%/%NOPE%/x") == NULL, "40 an unknown variable fails the load");
	return done_testing();
}
