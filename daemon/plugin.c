/*
 * plugin.c - plugin loading, hook chains and the accessor functions of
 * hooks/yubin/hook.h.
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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "addr.h"
#include "block.h"
#include "bounce.h"
#include "config.h"
#include "dns.h"
#include "log.h"
#include "maildir.h"
#include "paths.h"
#include "plugin.h"
#include "queue.h"
#include "spawn.h"
#include "store.h"
#include "usage.h"
#include "utf8.h"
#include "util.h"

/* The sizes hook.h promises plugins are the core's own. */
_Static_assert(YH_QID_SIZE == QUEUE_ID_LEN + 1, "YH_QID_SIZE");
_Static_assert(YH_ACCOUNT_MAX == ACCOUNT_NAME_MAX, "YH_ACCOUNT_MAX");
_Static_assert(YH_RCPT_MAX == ADDR_PATH_MAX, "YH_RCPT_MAX");

#define PLUGINS_MAX	PLUGIN_SLOTS_MAX	/* plugins in server.plugins */
#define TXN_SLOT_MAX	65536	/* bytes of one yh_txn_slot */
#define PLUGIN_KEY_MAX	512	/* namespaced store key */
#define INJECT_RCPT_MAX	1000	/* recipients of one injected message */

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

/* yh_config: the handle init() gets for its section */
struct yh_config {
	const struct config	*cfg;
	const char		*name;
	struct buf		 pathbuf;
};

struct loaded {
	char			 name[64];
	void			*handle;
	const void		*sym;		/* yubin_plugin in the object */
	const struct yh_plugin	*p;		/* = &plug */
	struct yh_plugin	 plug;		/* what the plugin's size covers */
	struct yh_hooks		 hooks;		/* likewise; the rest stays NULL */
	struct yh_config	 ycfg;
};

static struct {
	struct loaded		 pl[PLUGINS_MAX];
	size_t			 n;
	struct store		*store;
	const struct config	*cfg;
	char			*trace;
	size_t			 tracesize;
	const char		*current;	/* plugin whose hook/init runs */
	struct errlist		*errs;		/* during init: yh_error target */
	char			 qid[QUEUE_ID_LEN + 1];
	char			 file[PATH_MAX];	/* yh_config_file */
	int			 tainted;
	long long		 hook_deadline;	/* now_ms() the hook times out at */
	sigjmp_buf		 jmp;
	volatile sig_atomic_t	 armed;
	enum hook_point		 hp;		/* of the hook running */
	void			(*on_timeout)(const char *, const char *);
} P;

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

static int
plugin_init_one(struct loaded *l, const struct config *cfg, struct errlist *errs)
{
	int r = 0;
	size_t before = errlist_count(errs);

	l->ycfg.cfg = cfg;
	l->ycfg.name = l->name;
	if (l->ycfg.pathbuf.max == 0)
		buf_init(&l->ycfg.pathbuf, 0);
	if (l->p->init == NULL)
		return 0;
	P.current = l->name;
	P.errs = errs;
	P.cfg = cfg;
	r = l->p->init(&l->ycfg);
	P.current = NULL;
	P.errs = NULL;
	if (r != 0 && errlist_count(errs) == before)
		errlist_add(errs, "plugin %s: init failed", l->name);
	return r == 0 ? 0 : -1;
}

int
plugins_load(const struct config *cfg, const struct config *running,
    struct errlist *errs)
{
	const struct cfg_list *names = config_list(cfg, "server.plugins");
	struct loaded nl[PLUGINS_MAX];
	size_t i, j, n = 0;
	int bad = 0;

	if (names->n > PLUGINS_MAX) {
		errlist_add(errs, "server.plugins: more than %d plugins", PLUGINS_MAX);
		return -1;
	}
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
	for (i = 0; i < n && !bad; i++)
		if (plugin_init_one(&nl[i], cfg, errs) == -1) {
			bad = 1;
			/* put the ones already switched back on the running config */
			for (j = 0; j < i && running; j++)
				for (size_t k = 0; k < P.n; k++)
					if (P.pl[k].sym == nl[j].sym)
						plugin_init_one(&P.pl[k], running, errs);
		}
	if (bad) {
		for (i = 0; i < n; i++) {
			buf_free(&nl[i].ycfg.pathbuf);
			dlclose(nl[i].handle);
		}
		return -1;
	}
	/* fini the plugins of the old generation that are gone */
	for (i = 0; i < P.n; i++) {
		for (j = 0; j < n; j++)
			if (nl[j].sym == P.pl[i].sym)
				break;
		if (j == n && P.pl[i].p->fini)
			P.pl[i].p->fini();
		buf_free(&P.pl[i].ycfg.pathbuf);
		dlclose(P.pl[i].handle);
	}
	memcpy(P.pl, nl, n * sizeof(nl[0]));
	P.n = n;
	P.cfg = cfg;
	for (i = 0; i < n; i++) {
		P.pl[i].ycfg.cfg = cfg;
		loaded_fix(&P.pl[i]);
	}
	return 0;
}

void
plugins_unload(void)
{
	size_t i;

	for (i = P.n; i-- > 0;) {
		if (P.pl[i].p->fini)
			P.pl[i].p->fini();
		buf_free(&P.pl[i].ycfg.pathbuf);
		dlclose(P.pl[i].handle);
	}
	P.n = 0;
}

void
plugins_describe(struct buf *out)
{
	size_t i;
	int hp, first;

	for (i = 0; i < P.n; i++) {
		buf_printf(out, "%s hooks=", P.pl[i].name);
		first = 1;
		for (hp = 0; hp < HP_COUNT; hp++) {
			if (!hook_present(P.pl[i].p->hooks, (enum hook_point)hp))
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

	P.store = s;
	P.cfg = cfg;
	P.trace = trace;
	P.tracesize = tracesize;
	for (i = 0; i < P.n; i++)
		P.pl[i].ycfg.cfg = cfg;
}

void
plugins_process_init(enum yh_process kind)
{
	size_t i;

	for (i = 0; i < P.n; i++) {
		if (P.pl[i].p->init_process == NULL)
			continue;
		P.current = P.pl[i].name;
		P.pl[i].p->init_process(kind);
		P.current = NULL;
	}
}

long long
plugins_hook_deadline(void)
{
	return P.hook_deadline;
}

const struct config *
plugins_config(void)
{
	return P.cfg;
}

void
plugins_set_qid(const char *qid)
{
	snprintf(P.qid, sizeof(P.qid), "%s", qid ? qid : "");
}

int
plugins_tainted(void)
{
	return P.tainted;
}

void
plugins_on_timeout(void (*fn)(const char *plugin, const char *hook))
{
	P.on_timeout = fn;
}

size_t
plugins_count(void)
{
	return P.n;
}

int
plugins_any(enum hook_point hp)
{
	size_t i;

	for (i = 0; i < P.n; i++)
		if (hook_present(P.pl[i].p->hooks, hp))
			return 1;
	return 0;
}

/* ---- running hooks ------------------------------------------------------ */

static void
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
	if (!P.armed)
		return;
	if (P.on_timeout) {
		/* never returns: the process ends inside the handler */
		P.on_timeout(P.current ? P.current : "?", hook_table[P.hp].name);
		_exit(4);
	}
	siglongjmp(P.jmp, 1);
}

static void
trace_set(const char *plugin, enum hook_point hp)
{
	if (P.trace == NULL)
		return;
	if (plugin)
		snprintf(P.trace, P.tracesize, "plugin=%s hook=%s", plugin,
		    hook_table[hp].name);
	else
		P.trace[0] = '\0';
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

static int
plugin_call(size_t i, const struct call *c)
{
	struct sigaction sa, old;
	struct itimerval it, off;
	volatile int r = YH_DECLINED;
	long long tmo = P.cfg ? config_int(P.cfg, "server.hook_timeout") : 30;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = plugin_on_alarm;
	sigaction(SIGALRM, &sa, &old);
	memset(&it, 0, sizeof(it));
	memset(&off, 0, sizeof(off));
	it.it_value.tv_sec = tmo > 0 ? tmo : 30;
	P.current = P.pl[i].name;
	P.hp = c->hp;
	trace_set(P.pl[i].name, c->hp);
	P.hook_deadline = now_ms() + it.it_value.tv_sec * 1000LL;
	if (sigsetjmp(P.jmp, 1) == 0) {
		P.armed = 1;
		setitimer(ITIMER_REAL, &it, NULL);
		r = plugin_invoke(P.pl[i].p->hooks, c);
		setitimer(ITIMER_REAL, &off, NULL);
		P.armed = 0;
	} else {
		P.armed = 0;
		setitimer(ITIMER_REAL, &off, NULL);
		P.tainted = 1;
		log_warn("%s: plugin=%s hook=%s timed out after %llds; treated as "
		    "DENYSOFT", *P.qid ? P.qid : "NOQUEUE", P.pl[i].name,
		    hook_table[c->hp].name, tmo);
		r = YH_DENYSOFT;
	}
	sigaction(SIGALRM, &old, NULL);
	trace_set(NULL, c->hp);
	P.current = NULL;
	P.hook_deadline = 0;
	if (r < YH_DECLINED || r > YH_DISCARD) {
		log_warn("%s: plugin=%s hook=%s returned %d; treated as DENYSOFT",
		    *P.qid ? P.qid : "NOQUEUE", P.pl[i].name, hook_table[c->hp].name, r);
		r = YH_DENYSOFT;
	}
	return r;
}

static int
plugin_chain(const struct call *c, int decision)
{
	size_t i;
	int r;

	spawn_reap();	/* programs that plugins left running and that ended */
	for (i = 0; i < P.n; i++) {
		if (!hook_present(P.pl[i].p->hooks, c->hp))
			continue;
		r = plugin_call(i, c);
		if (decision && r != YH_DECLINED) {
			log_debug("%s: plugin=%s hook=%s result=%d",
			    *P.qid ? P.qid : "NOQUEUE", P.pl[i].name,
			    hook_table[c->hp].name, r);
			return r;
		}
	}
	return YH_DECLINED;
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

	if (s == NULL || P.current == NULL || size == 0 || size > TXN_SLOT_MAX)
		return NULL;
	for (i = 0; i < P.n; i++)
		if (P.current == P.pl[i].name)
			break;
	if (i == P.n)
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

/* ---- configuration accessors -------------------------------------------- */

const char *
yh_config_get(const struct yh_config *cfg, const char *key)
{
	return config_plugin_get(cfg->cfg, cfg->name, key);
}

struct each_ctx {
	const struct yh_config	*cfg;
	int	(*fn)(void *, const char *, const char *, const char *);
	void	*ctx;
};

/* each_one - config_plugin_each's callback: adds WHERE. */
static int
each_one(void *ctx, const char *key, const char *value)
{
	struct each_ctx *e = ctx;
	char where[PATH_MAX + 16];

	config_plugin_where(e->cfg->cfg, e->cfg->name, key, where,
	    sizeof(where));
	return e->fn(e->ctx, key, value, where);
}

int
yh_config_each(const struct yh_config *cfg,
    int (*fn)(void *ctx, const char *key, const char *value,
    const char *where), void *ctx)
{
	struct each_ctx e = { cfg, fn, ctx };

	return config_plugin_each(cfg->cfg, cfg->name, each_one, &e);
}

struct known_ctx {
	const char		*name;
	const char *const	*known;
	int			 unknown;
};

/* known_one - yh_config_known's callback: one key checked. */
static int
known_one(void *ctx, const char *key, const char *value, const char *where)
{
	struct known_ctx *k = ctx;
	char esc[300];	/* key names are at most 64 bytes */
	size_t i;

	(void)value;
	for (i = 0; k->known[i] != NULL; i++)
		if (strcmp(k->known[i], key) == 0)
			return 0;
	yh_error("%s: unknown key '%s' in [plugin %s]", where,
	    str_escape(esc, sizeof(esc), key, strlen(key)), k->name);
	k->unknown++;
	return 0;
}

int
yh_config_known(const struct yh_config *cfg, const char *name,
    const char *const *known)
{
	struct known_ctx k = { name, known, 0 };

	(void)yh_config_each(cfg, known_one, &k);
	return k.unknown;
}

const char *
yh_config_path(const struct yh_config *cfg, const char *key,
    const char *default_name)
{
	struct yh_config *c = (struct yh_config *)cfg;
	const char *v = config_plugin_get(cfg->cfg, cfg->name, key);

	if (v == NULL)
		v = default_name;
	if (v == NULL)
		return NULL;
	buf_reset(&c->pathbuf);
	if (v[0] == '/')
		buf_puts(&c->pathbuf, v);
	else
		buf_printf(&c->pathbuf, "%s/%s", config_confdir(cfg->cfg), v);
	return buf_cstr(&c->pathbuf);
}

const char *
yh_server_get(const char *key)
{
	static struct buf out;	/* valid until the next call, as documented */

	if (P.cfg == NULL)
		return NULL;
	if (out.max == 0)
		buf_init(&out, 0);
	return config_text(P.cfg, key, &out) ? buf_cstr(&out) : NULL;
}

const char *
yh_config_file(void)
{
	const char *f, *base;
	int n;

	if (P.cfg == NULL || (f = config_file(P.cfg)) == NULL)
		return NULL;
	if (f[0] == '/')
		return f;
	/* -c etc/yubin.conf: made absolute (CONFDIR is), since the programs
	 * that read it run in other folders */
	base = strrchr(f, '/');
	base = base ? base + 1 : f;
	n = snprintf(P.file, sizeof(P.file), "%s%s%s", config_confdir(P.cfg),
	    str_casesuffix(config_confdir(P.cfg), "/") ? "" : "/", base);
	return n > 0 && (size_t)n < sizeof(P.file) ? P.file : NULL;
}

const char *
yh_account_get(const char *account, const char *key, char *out, size_t size)
{
	struct errlist errs;
	struct config *acfg;
	struct buf val;
	const char *why;
	const char *r = NULL;
	char *dir, *path;

	if (P.cfg == NULL || !account_name_valid(account, &why))
		return NULL;
	dir = paths_account_dir(P.cfg, account);
	path = xasprintf("%s/config.def", dir);
	free(dir);
	errlist_init(&errs);
	buf_init(&val, 0);
	if (config_account(P.cfg, path, &acfg, &errs) == -1) {
		size_t i;

		for (i = 0; i < errs.n; i++)
			log_warn("%s", errs.msg[i]);
		acfg = NULL;
	}
	if (config_text(acfg ? acfg : P.cfg, key, &val)) {
		/* the account record's own limit beats the server default,
		 * config.def beats both */
		struct account a;
		long long lim = 0;

		if (P.store && strncmp(key, "mailbox_capacity_", 17) == 0 &&
		    account_get(P.store, account, &a) == 1) {
			if (strcmp(key, "mailbox_capacity_mail_size") == 0)
				lim = a.quota_size;
			else if (strcmp(key, "mailbox_capacity_mail_count") == 0)
				lim = a.quota_count;
		}
		if (lim > 0 && !(acfg && config_account_sets(acfg, key))) {
			buf_reset(&val);
			buf_printf(&val, "%lld", lim);
		}
		if (str_copy(out, size, buf_cstr(&val)) == 0)
			r = out;
	}
	if (acfg)
		config_free(&acfg);
	errlist_free(&errs);
	buf_free(&val);
	free(path);
	return r;
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
	    *P.qid ? P.qid : "NOQUEUE", P.current ? P.current : "?", msg);
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
	if (P.errs)
		errlist_add(P.errs, "%s", msg);
	else
		log_err("plugin=%s %s", P.current ? P.current : "?", msg);
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
	    P.cfg == NULL || P.store == NULL)
		return -1;
	v = xcalloc(2 * n, sizeof(*v));
	for (i = 0; i < n; i++) {
		r = -2;
		if (rcpts[i] != NULL && *rcpts[i] != '\0' &&
		    strlen(rcpts[i]) <= ADDR_PATH_MAX &&
		    strpbrk(rcpts[i], " \t\r\n<>") == NULL)
			r = addr_resolve_local(P.cfg, P.store, rcpts[i], acct);
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
	return P.cfg ? addr_domain_is_local(P.cfg, domain) : 0;
}

int
yh_account_exists(const char *account)
{
	struct account a;
	const char *why;

	if (P.store == NULL || !account_name_valid(account, &why))
		return P.store ? 0 : -1;
	return account_get(P.store, account, &a);
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

	if (P.cfg == NULL || P.store == NULL)
		return -2;
	r = addr_resolve_local(P.cfg, P.store, addr, acct);
	if (r == 1 && account && str_copy(account, account_size, acct) == -1)
		return -2;
	return r;
}

/* ---- store -------------------------------------------------------------- */

static int
plugin_key(const char *key, struct buf *out)
{
	const char *ns = P.current ? P.current : "core";

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

	if (P.store == NULL)
		return -1;
	buf_init(&k, 0);
	buf_init(&v, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_get(P.store, STORE_PLUGIN, k.data, k.len, &v);
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

	if (P.store == NULL || ttl < 0)
		return -1;
	buf_init(&k, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_put(P.store, STORE_PLUGIN, k.data, k.len, val, len,
	    ttl ? time_now() + ttl : 0);
	buf_free(&k);
	return r;
}

int
yh_store_del(const char *key)
{
	struct buf k;
	int r;

	if (P.store == NULL)
		return -1;
	buf_init(&k, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_del(P.store, STORE_PLUGIN, k.data, k.len);
	buf_free(&k);
	return r;
}

int
yh_store_incr(const char *key, long long delta, long long ttl, long long *value)
{
	struct buf k;
	long long v = 0;
	int r;

	if (P.store == NULL || ttl < 0)
		return -1;
	buf_init(&k, 0);
	if (plugin_key(key, &k) == -1) {
		buf_free(&k);
		return -1;
	}
	r = store_incr(P.store, STORE_PLUGIN, k.data, k.len, delta,
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

	if (P.store == NULL || ip == NULL)
		return -1;
	str_escape(safe, sizeof(safe), reason ? reason : "-",
	    reason ? strlen(reason) : 1);
	if (block_add(P.store, ip, ttl, safe) == -1)
		return -1;
	log_info("%s: plugin=%s blocked client=%s ttl=%lld reason=%s",
	    *P.qid ? P.qid : "NOQUEUE", P.current ? P.current : "?", ip, ttl, safe);
	return 0;
}

int
yh_blocked(const char *ip)
{
	return P.store && ip ? block_check(P.store, ip) : -1;
}

/* ---- injection ---------------------------------------------------------- */

/*
 * inject_received - the trace field of a message a plugin queues (RFC 5321
 * §4.4): it enters the mail system here as surely as over SMTP, so it gets
 * a Received line as SMTP mail does, and hop counts (a forward loop guard,
 * the next MTA's) see every pass.  No "from" part: nothing sent it; the
 * comment names the plugin, as Postfix names the uid of a local
 * submission.  "for" only with one recipient, as the SMTP engine does.
 */
static void
inject_received(struct buf *out, const char *qid, const char *const *rcpts,
    size_t nrcpt)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec" };
	const char *host = config_str(P.cfg, "smtp.hostname");
	char hbuf[256], date[64];
	time_t t = (time_t)time_now();
	struct tm tm;
	long off;

	if (*host == '\0') {
		if (gethostname(hbuf, sizeof(hbuf)) == -1 || hbuf[0] == '\0')
			snprintf(hbuf, sizeof(hbuf), "localhost");
		hbuf[sizeof(hbuf) - 1] = '\0';
		host = hbuf;
	}
	if (localtime_r(&t, &tm) == NULL)
		snprintf(date, sizeof(date), "Thu, 1 Jan 1970 00:00:00 +0000");
	else {
		off = tm.tm_gmtoff / 60;
		snprintf(date, sizeof(date), "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
		    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	}
	buf_printf(out, "Received: by %s (yubin, injected by plugin %s)\n\tid %s",
	    host, P.current ? P.current : "core", qid);
	if (nrcpt == 1)
		buf_printf(out, " for <%s>", rcpts[0]);
	buf_printf(out, "; %s\n", date);
}

/* inject_addr_ok - RCPT is a plain address: bounded, no blanks, angle
 * brackets or control bytes (it goes into the envelope and a header). */
static int
inject_addr_ok(const char *rcpt)
{
	const unsigned char *p;

	if (rcpt == NULL || *rcpt == '\0' || strlen(rcpt) > ADDR_PATH_MAX)
		return 0;
	for (p = (const unsigned char *)rcpt; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

/*
 * inject_build - the queue file and envelope of an injected message (see
 * yh_inject), not yet committed.  0 with *Q_R and ENV, or -1 (nothing
 * left behind).
 */
static int
inject_build(const char *sender, const char *const *rcpts, size_t nrcpt,
    const void *data, size_t len, struct queue_in **q_r, struct envelope *env)
{
	struct queue_in *q;
	struct buf rcvd;
	const char *p = data, *end = p + len, *nl;
	char acct[ACCOUNT_NAME_MAX + 1];
	long long lines = 0;
	size_t i;
	int r;

	memset(env, 0, sizeof(*env));
	if (P.cfg == NULL || P.store == NULL || nrcpt == 0 ||
	    nrcpt > INJECT_RCPT_MAX || sender == NULL || data == NULL)
		return -1;
	for (i = 0; i < nrcpt; i++) {
		if (!inject_addr_ok(rcpts[i]))
			goto fail;
		r = addr_resolve_local(P.cfg, P.store, rcpts[i], acct);
		if (r == -2 || r == 0)
			goto fail;
		envelope_add_rcpt(env, rcpts[i], r == 1 ? acct : NULL);
	}
	if (queue_in_open(config_home(P.cfg), &q) == -1)
		goto fail;
	buf_init(&rcvd, 0);
	inject_received(&rcvd, queue_in_id(q), rcpts, nrcpt);
	for (i = 0; i < rcvd.len; i++)
		lines += rcvd.data[i] == '\n';
	r = queue_in_write(q, rcvd.data, rcvd.len);
	buf_free(&rcvd);
	if (r == -1)
		goto fail_q;
	/* store with LF line ends, as the SMTP engine does */
	while (p < end) {
		size_t l;

		nl = memchr(p, '\n', (size_t)(end - p));
		l = (size_t)((nl ? nl : end) - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (queue_in_write(q, p, l) == -1 || queue_in_write(q, "\n", 1) == -1)
			goto fail_q;
		lines++;
		p = nl ? nl + 1 : end;
	}
	env->sender = xstrdup(sender);
	snprintf(env->client_ip, sizeof(env->client_ip), "local");
	snprintf(env->helo, sizeof(env->helo), "plugin-%s",
	    P.current ? P.current : "core");
	env->arrival = time_now();
	env->size_crlf = queue_in_size(q) + lines;
	memcpy(env->id, queue_in_id(q), sizeof(env->id));
	*q_r = q;
	return 0;
fail_q:
	queue_in_abort(&q);
fail:
	envelope_clear(env);
	return -1;
}

/* inject_loops - 1 when DATA (LEN bytes), with the trace field injection
 * puts on top, carries more than smtp.max_hops (DESIGN §10). */
static int
inject_loops(const void *data, size_t len)
{
	return header_hops(data, len) + 1 > (size_t)config_int(P.cfg,
	    "smtp.max_hops");
}

/*
 * inject_refuse - an injected message over the hop limit (Q and ENV from
 * inject_build) is not queued: it goes back to its sender in a report,
 * as a message SMTP refused would (a forward or program that loops is
 * told, nothing vanishes); with the sender <> there is no one to tell and
 * the call fails.  Q is aborted.  0 (returned to the sender) or -1.
 */
static int
inject_refuse(struct queue_in **q, struct envelope *env, const void *data,
    size_t len)
{
	char why[128];
	int r = -1;

	snprintf(why, sizeof(why), "554 5.4.6 too many hops (%zu Received/"
	    "Delivered-To fields, limit %lld); mail loop?",
	    header_hops(data, len) + 1, config_int(P.cfg, "smtp.max_hops"));
	log_warn("%s: not queued (plugin=%s from=<%s>): %s", env->id,
	    P.current ? P.current : "?", env->sender, why + 10);
	if (env->sender[0] != '\0')
		r = bounce_refused(P.cfg, P.store, *q, env, why);
	queue_in_abort(q);
	return r;
}

int
yh_inject(const char *sender, const char *const *rcpts, size_t nrcpt,
    const void *data, size_t len, char *qid)
{
	struct queue_in *q;
	struct envelope env;
	const char *why;
	int r;

	if (inject_build(sender, rcpts, nrcpt, data, len, &q, &env) == -1)
		return -1;
	if (inject_loops(data, len)) {
		r = inject_refuse(&q, &env, data, len);
		if (r == 0 && qid)
			memcpy(qid, env.id, QUEUE_ID_LEN + 1);
		envelope_clear(&env);
		return r;
	}
	r = queue_in_commit(&q, P.store, &env, &why);
	if (r == 0) {
		log_info("%s: injected by plugin=%s from=<%s> nrcpt=%zu", env.id,
		    P.current ? P.current : "?", sender, nrcpt);
		if (qid)
			memcpy(qid, env.id, QUEUE_ID_LEN + 1);
	}
	envelope_clear(&env);
	return r;
}

int
yh_copy_add(struct yh_session *s, const char *sender, const char *const *rcpts,
    size_t nrcpt, const void *data, size_t len, char *qid)
{
	struct queue_in *q;
	struct envelope env;

	if (s == NULL || s->msg_fd == -1 || s->ncopies >= YH_COPIES_MAX)
		return -1;	/* the data hook only */
	if (inject_build(sender, rcpts, nrcpt, data, len, &q, &env) == -1)
		return -1;
	if (inject_loops(data, len)) {	/* the caller keeps it unchanged */
		log_warn("%s: copy not written (plugin=%s): over smtp.max_hops",
		    s->qid, P.current ? P.current : "?");
		queue_in_abort(&q);
		envelope_clear(&env);
		return -1;
	}
	s->copy_q = xrealloc(s->copy_q, (s->ncopies + 1) * sizeof(*s->copy_q));
	s->copy_env = xrealloc(s->copy_env,
	    (s->ncopies + 1) * sizeof(*s->copy_env));
	s->copy_q[s->ncopies] = q;
	s->copy_env[s->ncopies] = env;
	s->ncopies++;
	log_info("%s: copy %s written by plugin=%s from=<%s> nrcpt=%zu; "
	    "queued with the message", s->qid, env.id,
	    P.current ? P.current : "?", sender, nrcpt);
	if (qid)
		memcpy(qid, env.id, QUEUE_ID_LEN + 1);
	return 0;
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

int
yh_dns_server(struct sockaddr_storage *ss, socklen_t *len)
{
	if (P.cfg == NULL)
		return -1;
	return dns_server(config_str(P.cfg, "server.resolver"), ss, len);
}

int
yh_mailbox_usage(const char *account, long long *count, long long *bytes)
{
	const char *why;

	if (P.store == NULL || !account_name_valid(account, &why))
		return -1;
	/* a delivery agent: the queue manager's figure for its mailbox */
	if (usage_fixed_get(account, count, bytes) == 1)
		return 0;
	if (usage_get(P.store, account, count, bytes) == -1)
		return -1;
	usage_pending_get(account, count, bytes);
	return 0;
}
