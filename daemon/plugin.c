/*
 * plugin.c - plugin loading, generations and hook chains (the accessor
 * functions of hooks/yubin/hook.h are in plugin_api.c, plugin_config.c and
 * plugin_inject.c; plugin_host.h is what the four share).
 *
 * Runs in every process: the master loads (as root, before privileges are
 * dropped: plugins read their rule files there), children run the chains as
 * the server user.  The accessors that take no session argument (logging,
 * store, configuration, injection) work on this process's context, set once
 * after fork by plugins_child_init(): one process, one context, so this is
 * the single piece of process-wide state the ABI needs.
 *
 * A hook that runs past server.hook_timeout is abandoned with siglongjmp
 * from SIGALRM and counts as YH_DENYSOFT; the plugin's state (or a lock,
 * or malloc's) may then be inconsistent, so the process is marked tainted:
 * an SMTP worker finishes that reply and exits (smtp.c), and must never
 * serve another command.  A delivery agent registers a timeout handler
 * (plugins_on_timeout) instead: it reports and exits from the signal
 * handler, never returning into the abandoned code.  A crashing hook kills
 * its process; the name of the running plugin and hook sits in the
 * scoreboard (TRACE) for the master (or the queue manager) to log.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include "plugin_host.h"

/* The sizes hook.h promises plugins are the core's own. */
_Static_assert(YH_QID_SIZE == QUEUE_ID_LEN + 1, "YH_QID_SIZE");
_Static_assert(YH_ACCOUNT_MAX == ACCOUNT_NAME_MAX, "YH_ACCOUNT_MAX");
_Static_assert(YH_RCPT_MAX == ADDR_PATH_MAX, "YH_RCPT_MAX");

/* How a hook is called: its arguments, and whether its result counts. */
enum hook_kind {
	HK_SESSION,		/* int f(struct yh_session *) */
	HK_SESSION_ARG,		/* int f(struct yh_session *, const char *) */
	HK_SESSION_NOTE,	/* void f(struct yh_session *) */
	HK_DELIVERY,		/* int f(struct yh_delivery *) */
	HK_DELIVERY_NOTE,	/* void f(struct yh_delivery *) */
	HK_POP_NOTE,		/* void f(struct yh_pop *) */
};

/* The hook points: the one place to add one (with enum hook_point and
 * the member of struct yh_hooks). */
static const struct hook_def {
	const char	*name;
	size_t		 off;	/* offsetof(struct yh_hooks, member) */
	enum hook_kind	 kind;
} hook_table[HP_COUNT] = {
#define HOOK(hp, m, k) [hp] = { #m, offsetof(struct yh_hooks, m), k }
	HOOK(HP_CONNECT, connect, HK_SESSION),
	HOOK(HP_HELO, helo, HK_SESSION),
	HOOK(HP_AUTH, auth, HK_SESSION),
	HOOK(HP_MAIL, mail, HK_SESSION),
	HOOK(HP_RCPT, rcpt, HK_SESSION_ARG),
	HOOK(HP_DATA, data, HK_SESSION),
	HOOK(HP_QUEUED, queued, HK_SESSION_NOTE),
	HOOK(HP_DISCONNECT, disconnect, HK_SESSION_NOTE),
	HOOK(HP_DELIVER, deliver, HK_DELIVERY),
	HOOK(HP_DELIVERED, delivered, HK_DELIVERY_NOTE),
	HOOK(HP_POP_AUTH, pop_auth, HK_POP_NOTE),
#undef HOOK
};

struct plugin_host ph;

/* ---- loading ------------------------------------------------------------ */

/* hook_fn - the member of H that hook point HP names, into OUT (a
 * function pointer of the hook's type; all have one size here). */
static void
hook_fn(const struct yh_hooks *h, enum hook_point hp, void *out, size_t size)
{
	memcpy(out, (const char *)h + hook_table[hp].off, size);
}

static int
hook_present(const struct yh_hooks *h, enum hook_point hp)
{
	void (*f)(void);

	if (h == NULL || (unsigned)hp >= HP_COUNT)
		return 0;
	if (hook_table[hp].off + sizeof(f) > h->size)
		return 0;
	hook_fn(h, hp, &f, sizeof(f));
	return f != NULL;
}

static int
plugin_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 64)
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* plugin_copy - copy into L the members of P and of its hooks that their
 * .size covers (never more than this core knows); the rest stay NULL, so an
 * older plugin of this ABI is never read past its end.  -1 when a size does
 * not even cover the members before it (no YH_*_INIT). */
static int
plugin_copy(struct loaded *l, const struct yh_plugin *p)
{
	size_t n;

	memset(&l->plug, 0, sizeof(l->plug));
	memset(&l->hooks, 0, sizeof(l->hooks));
	if (p->size < offsetof(struct yh_plugin, name))
		return -1;
	n = p->size < sizeof(l->plug) ? p->size : sizeof(l->plug);
	memcpy(&l->plug, p, n);
	l->plug.size = n;
	if (l->plug.hooks == NULL)
		return 0;
	if (l->plug.hooks->size < sizeof(size_t))
		return -1;
	n = l->plug.hooks->size < sizeof(l->hooks) ? l->plug.hooks->size :
	    sizeof(l->hooks);
	memcpy(&l->hooks, l->plug.hooks, n);
	l->hooks.size = n;
	l->plug.hooks = &l->hooks;
	return 0;
}

/* loaded_fix - point L's members at L itself (after it was copied). */
static void
loaded_fix(struct loaded *l)
{
	l->p = &l->plug;
	if (l->plug.hooks != NULL)
		l->plug.hooks = &l->hooks;
	l->ycfg.name = l->name;
}

/* plugin_open - dlopen NAME and check its ABI.  0 or -1 (ERRS). */
static int
plugin_open(const struct config *cfg, const char *name, struct loaded *l,
    struct errlist *errs)
{
	const struct yh_plugin *p;
	char *path;

	memset(l, 0, sizeof(*l));
	if (!plugin_name_valid(name)) {
		errlist_add(errs, "server.plugins: bad plugin name '%s' "
		    "(a-z 0-9 _ -)", name);
		return -1;
	}
	path = xasprintf("%s/%s.so", config_str(cfg, "server.plugin_dir"), name);
	l->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (l->handle == NULL) {
		errlist_add(errs, "%s: cannot load plugin: %s", path, dlerror());
		free(path);
		return -1;
	}
	p = dlsym(l->handle, "yubin_plugin");
	if (p == NULL) {
		errlist_add(errs, "%s: no 'yubin_plugin' symbol: not a yubin plugin",
		    path);
		goto fail;
	}
	if (p->abi != YH_ABI_VERSION) {
		errlist_add(errs, "%s: plugin ABI version %u, this yubind needs %u; "
		    "rebuild the plugin against this hook.h", path, p->abi,
		    YH_ABI_VERSION);
		goto fail;
	}
	if (plugin_copy(l, p) == -1) {
		errlist_add(errs, "%s: plugin struct size %zu (yh_plugin) or %zu "
		    "(yh_hooks) too small: start them with YH_PLUGIN_INIT and "
		    "YH_HOOKS_INIT", path, p->size,
		    p->size > offsetof(struct yh_plugin, hooks) && p->hooks ?
		    p->hooks->size : (size_t)0);
		goto fail;
	}
	if (l->plug.name == NULL || strcmp(l->plug.name, name) != 0) {
		errlist_add(errs, "%s: plugin calls itself '%s', expected '%s'",
		    path, l->plug.name ? l->plug.name : "(null)", name);
		goto fail;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->sym = p;
	loaded_fix(l);
	free(path);
	return 0;
fail:
	dlclose(l->handle);
	l->handle = NULL;
	free(path);
	return -1;
}

/* loaded_free - release what L holds: its keys, a generation init built
 * that was not committed (DISCARD: give it back to the plugin), the
 * object. */
static void
loaded_free(struct loaded *l, int discard)
{
	if (discard && l->gen != NULL && l->p->discard != NULL)
		l->p->discard(l->gen);
	l->gen = NULL;
	plugin_keys_free(&l->ycfg);
	buf_free(&l->ycfg.pathbuf);
	if (l->handle != NULL)
		dlclose(l->handle);
	l->handle = NULL;
}

/*
 * plugin_prepare - check L's section against its declared keys, then let
 * it build its next generation (init) without touching the running one.
 * 0, or -1 with the reasons in ERRS.
 */
static int
plugin_prepare(struct loaded *l, const struct config *cfg, struct errlist *errs)
{
	size_t before = errlist_count(errs);
	int r;

	l->ycfg.cfg = cfg;
	l->ycfg.name = l->name;
	if (l->ycfg.pathbuf.max == 0)
		buf_init(&l->ycfg.pathbuf, 0);
	if (plugin_keys_load(&l->ycfg, l->p->keys, errs) == -1)
		return -1;
	if (l->p->init == NULL)
		return 0;
	ph.current = l->name;
	ph.errs = errs;
	ph.cfg = cfg;
	r = l->p->init(&l->ycfg, &l->gen);
	ph.current = NULL;
	ph.errs = NULL;
	if (r != 0 && errlist_count(errs) == before)
		errlist_add(errs, "plugin %s: init failed", l->name);
	if (r != 0 && l->gen != NULL && l->p->discard != NULL)
		l->p->discard(l->gen);
	if (r != 0)
		l->gen = NULL;
	return r == 0 ? 0 : -1;
}

/*
 * plugins_load - load the generation CFG names (hook.h, GENERATIONS): open
 * every plugin and let each check its section and build its state aside;
 * only when all of them succeeded, commit each and retire the old
 * generation (fini for a plugin no longer listed).  On any error the
 * prepared states are discarded and the running generation, if any, stays
 * exactly as it was.
 */
int
plugins_load(const struct config *cfg, struct errlist *errs)
{
	const struct cfg_list *names = config_list(cfg, "server.plugins");
	struct loaded *nl;
	size_t i, j, n = 0;
	int bad = 0;

	if (names->n > PLUGINS_MAX) {
		errlist_add(errs, "server.plugins: more than %d plugins", PLUGINS_MAX);
		return -1;
	}
	nl = xcalloc(PLUGINS_MAX, sizeof(*nl));
	for (i = 0; i < names->n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(names->v[i], names->v[j]) == 0)
				break;
		if (j < i) {
			errlist_add(errs, "server.plugins: '%s' listed twice",
			    names->v[i]);
			bad = 1;
			continue;
		}
		if (plugin_open(cfg, names->v[i], &nl[n], errs) == -1) {
			bad = 1;
			continue;
		}
		n++;
	}
	/* every plugin is checked, so that -t reports all the errors:
	 * preparing touches nothing that runs */
	for (i = 0; i < n; i++)
		if (plugin_prepare(&nl[i], cfg, errs) == -1)
			bad = 1;
	for (i = 0; i < n && bad; i++)
		loaded_free(&nl[i], 1);
	if (bad) {
		free(nl);
		return -1;
	}
	/* commit: from here nothing can fail */
	for (i = 0; i < n; i++) {
		if (nl[i].p->commit != NULL) {
			ph.current = nl[i].name;
			nl[i].p->commit(nl[i].gen);
			ph.current = NULL;
		}
		nl[i].gen = NULL;
	}
	for (i = 0; i < ph.n; i++) {
		for (j = 0; j < n; j++)
			if (nl[j].sym == ph.pl[i].sym)
				break;
		if (j == n && ph.pl[i].p->fini)
			ph.pl[i].p->fini();
		loaded_free(&ph.pl[i], 0);
	}
	memcpy(ph.pl, nl, n * sizeof(nl[0]));
	free(nl);
	ph.n = n;
	ph.cfg = cfg;
	for (i = 0; i < n; i++) {
		ph.pl[i].ycfg.cfg = cfg;
		loaded_fix(&ph.pl[i]);
	}
	return 0;
}

void
plugins_unload(void)
{
	size_t i;

	for (i = ph.n; i-- > 0;) {
		if (ph.pl[i].p->fini)
			ph.pl[i].p->fini();
		loaded_free(&ph.pl[i], 0);
	}
	ph.n = 0;
}

void
plugins_describe(struct buf *out)
{
	size_t i;
	int hp, first;

	for (i = 0; i < ph.n; i++) {
		buf_printf(out, "%s hooks=", ph.pl[i].name);
		first = 1;
		for (hp = 0; hp < HP_COUNT; hp++) {
			if (!hook_present(ph.pl[i].p->hooks, (enum hook_point)hp))
				continue;
			buf_printf(out, "%s%s", first ? "" : ",", hook_table[hp].name);
			first = 0;
		}
		if (first)
			buf_puts(out, "-");
		buf_putc(out, '\n');
	}
}

void
plugins_child_init(struct store *s, const struct config *cfg, char *trace,
    size_t tracesize)
{
	size_t i;

	ph.store = s;
	ph.cfg = cfg;
	ph.trace = trace;
	ph.tracesize = tracesize;
	for (i = 0; i < ph.n; i++)
		ph.pl[i].ycfg.cfg = cfg;
}

void
plugins_process_init(enum yh_process kind)
{
	size_t i;

	for (i = 0; i < ph.n; i++) {
		if (ph.pl[i].p->init_process == NULL)
			continue;
		ph.current = ph.pl[i].name;
		ph.pl[i].p->init_process(kind);
		ph.current = NULL;
	}
}

long long
plugins_hook_deadline(void)
{
	return ph.hook_deadline;
}

const struct config *
plugins_config(void)
{
	return ph.cfg;
}

void
plugins_set_qid(const char *qid)
{
	snprintf(ph.qid, sizeof(ph.qid), "%s", qid ? qid : "");
	account_cfg_forget();	/* each message reads config.def afresh */
}

int
plugins_tainted(void)
{
	return ph.tainted;
}

void
plugins_on_timeout(void (*fn)(const char *plugin, const char *hook))
{
	ph.on_timeout = fn;
}

size_t
plugins_count(void)
{
	return ph.n;
}

int
plugins_any(enum hook_point hp)
{
	size_t i;

	for (i = 0; i < ph.n; i++)
		if (hook_present(ph.pl[i].p->hooks, hp))
			return 1;
	return 0;
}

/* ---- running hooks ------------------------------------------------------ */

void
values_clear(struct yh_values *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	v->n = 0;
}


static void
plugin_on_alarm(int sig)
{
	(void)sig;
	if (!ph.armed)
		return;
	if (ph.on_timeout) {
		/* never returns: the process ends inside the handler */
		ph.on_timeout(ph.current ? ph.current : "?", hook_table[ph.hp].name);
		_exit(4);
	}
	siglongjmp(ph.jmp, 1);
}

static void
trace_set(const char *plugin, enum hook_point hp)
{
	if (ph.trace == NULL)
		return;
	if (plugin)
		snprintf(ph.trace, ph.tracesize, "plugin=%s hook=%s", plugin,
		    hook_table[hp].name);
	else
		ph.trace[0] = '\0';
}

/*
 * plugin_call - run plugin I's hook HP under the timeout.  ARGS selects the
 * hook's argument.  Returns its result (YH_DENYSOFT on timeout).
 */
struct call {
	enum hook_point		 hp;
	struct yh_session	*s;
	const char		*arg;
	struct yh_delivery	*d;
	struct yh_pop		*p;
};

static int
plugin_invoke(const struct yh_hooks *h, const struct call *c)
{
	int (*fs)(struct yh_session *);
	int (*fa)(struct yh_session *, const char *);
	void (*ns)(struct yh_session *);
	int (*fd)(struct yh_delivery *);
	void (*nd)(struct yh_delivery *);
	void (*np)(struct yh_pop *);

	switch (hook_table[c->hp].kind) {
	case HK_SESSION:
		hook_fn(h, c->hp, &fs, sizeof(fs));
		return fs(c->s);
	case HK_SESSION_ARG:
		hook_fn(h, c->hp, &fa, sizeof(fa));
		return fa(c->s, c->arg);
	case HK_SESSION_NOTE:
		hook_fn(h, c->hp, &ns, sizeof(ns));
		ns(c->s);
		return YH_DECLINED;
	case HK_DELIVERY:
		hook_fn(h, c->hp, &fd, sizeof(fd));
		return fd(c->d);
	case HK_DELIVERY_NOTE:
		hook_fn(h, c->hp, &nd, sizeof(nd));
		nd(c->d);
		return YH_DECLINED;
	case HK_POP_NOTE:
		hook_fn(h, c->hp, &np, sizeof(np));
		np(c->p);
		return YH_DECLINED;
	}
	return YH_DECLINED;
}

/* plugin_call - hook C of plugin I under its timer (the chain has set
 * the SIGALRM handler). */
static int
plugin_call(size_t i, const struct call *c)
{
	struct itimerval it, off;
	volatile int r = YH_DECLINED;
	long long tmo = ph.cfg ? config_int(ph.cfg, "server.hook_timeout") : 30;
	sigset_t alrm;

	memset(&it, 0, sizeof(it));
	memset(&off, 0, sizeof(off));
	it.it_value.tv_sec = tmo > 0 ? tmo : 30;
	ph.current = ph.pl[i].name;
	ph.hp = c->hp;
	trace_set(ph.pl[i].name, c->hp);
	ph.hook_deadline = now_ms() + it.it_value.tv_sec * 1000LL;
	/* no signal mask saved (a system call a hook): the jump back from
	 * the handler unblocks SIGALRM itself */
	if (sigsetjmp(ph.jmp, 0) == 0) {
		ph.armed = 1;
		setitimer(ITIMER_REAL, &it, NULL);
		r = plugin_invoke(ph.pl[i].p->hooks, c);
		setitimer(ITIMER_REAL, &off, NULL);
		ph.armed = 0;
	} else {
		ph.armed = 0;
		setitimer(ITIMER_REAL, &off, NULL);
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		sigprocmask(SIG_UNBLOCK, &alrm, NULL);
		ph.tainted = 1;
		log_warn("%s: plugin=%s hook=%s timed out after %llds; treated as "
		    "DENYSOFT", *ph.qid ? ph.qid : "NOQUEUE", ph.pl[i].name,
		    hook_table[c->hp].name, tmo);
		r = YH_DENYSOFT;
	}
	trace_set(NULL, c->hp);
	ph.current = NULL;
	ph.hook_deadline = 0;
	if (r < YH_DECLINED || r > YH_DISCARD) {
		log_warn("%s: plugin=%s hook=%s returned %d; treated as DENYSOFT",
		    *ph.qid ? ph.qid : "NOQUEUE", ph.pl[i].name, hook_table[c->hp].name, r);
		r = YH_DENYSOFT;
	}
	return r;
}

static int
plugin_chain(const struct call *c, int decision)
{
	struct sigaction sa, old;
	size_t i;
	int r = YH_DECLINED, set = 0;

	spawn_reap();	/* programs that plugins left running and that ended */
	for (i = 0; i < ph.n; i++) {
		if (!hook_present(ph.pl[i].p->hooks, c->hp))
			continue;
		if (!set) {
			/* once a chain: each hook's timer uses it */
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = plugin_on_alarm;
			sigaction(SIGALRM, &sa, &old);
			set = 1;
		}
		r = plugin_call(i, c);
		if (decision && r != YH_DECLINED) {
			log_debug("%s: plugin=%s hook=%s result=%d",
			    *ph.qid ? ph.qid : "NOQUEUE", ph.pl[i].name,
			    hook_table[c->hp].name, r);
			break;
		}
		r = YH_DECLINED;
	}
	if (set)
		sigaction(SIGALRM, &old, NULL);
	return r;
}

int
plugin_smtp(enum hook_point hp, struct yh_session *s, const char *arg)
{
	struct call c = { hp, s, arg, NULL, NULL };

	int r;

	s->reply_code = 0;
	s->reply_enh[0] = '\0';
	s->reply_text[0] = '\0';
	r = plugin_chain(&c, 1);
	values_clear(&s->vals);
	return r;
}

void
plugin_smtp_notify(enum hook_point hp, struct yh_session *s)
{
	struct call c = { hp, s, NULL, NULL, NULL };

	plugin_chain(&c, 0);
	values_clear(&s->vals);
}

int
plugin_deliver(struct yh_delivery *d)
{
	struct call c = { HP_DELIVER, NULL, NULL, d, NULL };

	int r;

	d->reply_code = 0;
	r = plugin_chain(&c, 1);
	values_clear(&d->vals);
	return r;
}

void
plugin_delivered(struct yh_delivery *d)
{
	struct call c = { HP_DELIVERED, NULL, NULL, d, NULL };

	plugin_chain(&c, 0);
	values_clear(&d->vals);
}

void
plugin_pop_auth(struct yh_pop *p)
{
	struct call c = { HP_POP_AUTH, NULL, NULL, NULL, p };

	plugin_chain(&c, 0);
}

