/*
 * greylist - greylisting at RCPT TO, after postgrey's model (DESIGN §13).
 *
 * A triplet is the client's network (IPv4 /24, IPv6 /64: a pool of
 * outbound servers retries from a neighbour), the envelope sender (lower
 * case, "" for <>) and the recipient (lower case).  At RCPT:
 *   first sight               recorded with its time; 451 4.7.1, saying
 *                             when a retry can pass
 *   retry before `delay`      451 4.7.1 again; first sight is not moved
 *   retry after `delay`,      passes; the triplet is remembered as passed
 *   within `retry_window`     for `max_age`, and its network counts one
 *                             more passed triplet
 *   retry after the window    starts over, as a first sight
 *   passed triplet            passes at once; `max_age` starts again
 * A network with `auto_whitelist` passed triplets (0: never) passes at
 * once without greylisting, for `max_age` after it last did.  Passing
 * means YH_DECLINED: later plugins and the core still decide; this plugin
 * never accepts a recipient by itself (never YH_OK).
 *
 * Never greylisted: recipients that are not an existing local account
 * (a local domain without it gets its 550 at once; remote recipients are
 * the relay rules' business), postmaster@ and abuse@ any domain (RFC 2142
 * role addresses: someone whose mail is refused must reach them without a
 * retrying server), authenticated sessions, the local submission socket,
 * clients in smtp.address_permits_relay, and what `exempt` lists.
 *
 * [plugin greylist]
 *   delay = 300s          retries before it are greylisted (1s..1d)
 *   retry_window = 2d     retries after it start over (1m..30d; longer
 *                         than delay)
 *   max_age = 35d         a passed triplet, or an auto-whitelisted
 *                         network, is forgotten this long after its last
 *                         pass (1d..365d)
 *   auto_whitelist = 5    passed triplets that whitelist a network
 *                         (0..1000000, 0: off)
 *   exempt = LIST         IP, IP/N (clients), local@domain (a recipient),
 *                         @domain (every recipient of a domain)
 *
 * State lives in the plugin's store space (LMDB, shared by every worker,
 * kept across restarts), with TTLs so that records expire by themselves:
 *   t/NET/LEN:SENDER/RCPT   "w FIRST" (TTL retry_window) or "p LAST"
 *                           (TTL max_age); hashed when long (glkey.c)
 *   n/NET                   passed-triplet count of NET (TTL max_age)
 * The count is read and written in two steps, so two workers passing
 * triplets of one network at the same moment may count one; the next
 * pass makes up for it.
 *
 * A store error never refuses mail: the recipient passes and a warning is
 * logged.  One log line per greylisting decision (action=greylist or
 * pass, with the reason); skipped sessions are logged at debug level.
 *
 * init() runs as root in the master and only reads its keys and the
 * server's address_permits_relay; hooks run in SMTP workers as the server
 * user.  This plugin must never log a client byte unescaped, never refuse
 * mail for good (5xx), and never keep per-session state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yubin/hook.h>

#include "greylist.h"

#define GL_ESC_MAX	(4 * GL_ADDR_MAX + 4)	/* an address escaped */
#define GL_WHERE_MAX	1024			/* "FILE:LINE" */
#define GL_WORD_MAX	512			/* one word of a list */
#define GL_MS		1000LL

struct gl_conf {
	struct gl_times	 t;
	long long	 awl;		/* 0: off */
	struct pu_net	*nets;		/* exempt clients */
	size_t		 nnets;
	char		**rcpts;	/* exempt recipients, lower case */
	size_t		 nrcpts;
	struct pu_net	*permits;	/* smtp.address_permits_relay */
	size_t		 npermits;
};

static struct gl_conf *gl;	/* the generation in use */

/* ---- configuration -------------------------------------------------------- */

static void
conf_free(struct gl_conf **cp)
{
	struct gl_conf *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	free(c->nets);
	for (i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	free(c->permits);
	free(c);
	*cp = NULL;
}

/* key_where - "FILE:LINE" (or "-D") where KEY is set, into OUT. */
static const char *
key_where(const struct yh_config *cfg, const char *key, char *out,
    size_t size)
{
	return pu_key_where(cfg, key, "[plugin greylist]", out, size);
}

/* ms_to_s - a duration in milliseconds as whole seconds, rounded up. */
static long long
ms_to_s(long long ms)
{
	return (ms + GL_MS - 1) / GL_MS;
}

/* exempt_add - one word of `exempt` into C.  0, or -1 (not one of the
 * three forms, out of memory: *WHY says which). */
static int
exempt_add(struct gl_conf *c, const char *word, const char **why)
{
	struct pu_net *nv;
	char **rv, *copy;

	*why = "not an IP, IP/N, local@domain or @domain";
	if (strchr(word, '@') == NULL) {
		nv = realloc(c->nets, (c->nnets + 1) * sizeof(*nv));
		if (nv == NULL)
			goto oom;
		c->nets = nv;
		if (pu_net_parse(word, &c->nets[c->nnets]) == -1)
			return -1;
		c->nnets++;
		return 0;
	}
	if (word[0] == '@' ? !gl_domain_ok(word + 1) : !yh_addr_valid(word))
		return -1;
	if ((rv = realloc(c->rcpts, (c->nrcpts + 1) * sizeof(*rv))) == NULL)
		goto oom;
	c->rcpts = rv;
	if ((copy = malloc(strlen(word) + 1)) == NULL ||
	    gl_lower(word, copy, strlen(word) + 1) == -1) {
		free(copy);
		goto oom;
	}
	c->rcpts[c->nrcpts++] = copy;
	return 0;
oom:
	*why = "out of memory";
	return -1;
}

/* exempt_load - the `exempt` list into C.  The number of errors. */
static unsigned
exempt_load(const struct yh_config *cfg, struct gl_conf *c)
{
	const char *const *words, *why;
	char where[GL_WHERE_MAX], esc[GL_ESC_MAX];
	size_t n, i;
	unsigned errors = 0;

	n = yh_config_list(cfg, "exempt", &words);
	for (i = 0; i < n; i++) {
		if (exempt_add(c, words[i], &why) == 0)
			continue;
		yh_error("%s: [plugin greylist] exempt: '%s': %s",
		    key_where(cfg, "exempt", where, sizeof(where)),
		    yh_escape(esc, sizeof(esc), words[i], strlen(words[i])), why);
		errors++;
	}
	return errors;
}

/* permits_load - smtp.address_permits_relay (comma-separated, as the relay
 * plugin reads it) into C.  The number of errors. */
static unsigned
permits_load(struct gl_conf *c)
{
	const char *v = yh_server_get("smtp.address_permits_relay"), *p, *q;
	char word[GL_WORD_MAX], esc[GL_ESC_MAX];
	struct pu_net *nv;
	size_t len;
	unsigned errors = 0;

	for (p = v; p != NULL && *p != '\0'; p = q ? q + 1 : p + len) {
		q = strchr(p, ',');
		len = q ? (size_t)(q - p) : strlen(p);
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (len == 0)
			continue;
		if (len >= sizeof(word)) {
			yh_error("smtp.address_permits_relay: bad address");
			errors++;
			continue;
		}
		memcpy(word, p, len);
		while (len > 0 && (word[len - 1] == ' ' || word[len - 1] == '\t'))
			len--;
		word[len] = '\0';
		if ((nv = realloc(c->permits,
		    (c->npermits + 1) * sizeof(*nv))) == NULL) {
			yh_error("[plugin greylist] out of memory");
			return errors + 1;
		}
		c->permits = nv;
		if (pu_net_parse(word, &c->permits[c->npermits]) == -1) {
			yh_error("smtp.address_permits_relay: bad address '%s'",
			    yh_escape(esc, sizeof(esc), word, len));
			errors++;
		} else
			c->npermits++;
	}
	return errors;
}

static const struct yh_key gl_keys[] = {
	{ "delay",		YH_KEY_DURATION, "300s",
	    1000LL, 86400000LL },				/* 1s..1d */
	{ "retry_window",	YH_KEY_DURATION, "2d",
	    60000LL, 30 * 86400000LL },				/* 1m..30d */
	{ "max_age",		YH_KEY_DURATION, "35d",
	    86400000LL, 365 * 86400000LL },			/* 1d..365d */
	{ "auto_whitelist",	YH_KEY_INT,	 "5", 0, 1000000 },
	{ "exempt",		YH_KEY_LIST,	 NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* gl_init - the next generation, read aside; the running one untouched. */
static int
gl_init(const struct yh_config *cfg, void **gen)
{
	struct gl_conf *c;
	char where[GL_WHERE_MAX];
	unsigned errors = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		yh_error("[plugin greylist] out of memory");
		return -1;
	}
	c->t.delay = ms_to_s(yh_config_duration(cfg, "delay"));
	c->t.window = ms_to_s(yh_config_duration(cfg, "retry_window"));
	c->t.max_age = ms_to_s(yh_config_duration(cfg, "max_age"));
	c->awl = yh_config_int(cfg, "auto_whitelist");
	if (c->t.delay >= c->t.window) {
		yh_error("%s: [plugin greylist] delay (%llds) must be shorter "
		    "than retry_window (%llds): no retry could pass",
		    key_where(cfg, yh_config_get(cfg, "delay") ? "delay" :
		    "retry_window", where, sizeof(where)),
		    c->t.delay, c->t.window);
		errors++;
	}
	errors += exempt_load(cfg, c);
	errors += permits_load(c);
	if (errors > 0) {
		conf_free(&c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
gl_commit(void *gen)
{
	conf_free(&gl);
	gl = gen;
}

static void
gl_discard(void *gen)
{
	struct gl_conf *c = gen;

	conf_free(&c);
}

static void
gl_fini(void)
{
	conf_free(&gl);
}

/* ---- the rcpt hook -------------------------------------------------------- */

/* nets_match - IP inside one of the N networks of NETS. */
static int
nets_match(const struct pu_net *nets, size_t n, const struct pu_ip *ip)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pu_net_match(&nets[i], ip))
			return 1;
	return 0;
}

/* skip_reason - why session S and RCPT are never greylisted, or NULL. */
static const char *
skip_reason(struct yh_session *s, const struct gl_conf *c,
    const struct pu_ip *ip, int have_ip, const char *rcpt)
{
	if (yh_local_submission(s))
		return "local_submission";
	if (*yh_auth_user(s) != '\0')
		return "authenticated";
	if (yh_rcpt_local(s) != 1)
		return "not_local_account";
	if (gl_role_rcpt(rcpt))
		return "role_recipient";
	if (!have_ip)
		return "no_client_address";
	if (nets_match(c->permits, c->npermits, ip))
		return "address_permits_relay";
	if (nets_match(c->nets, c->nnets, ip))
		return "exempt_client";
	if (gl_rcpt_listed(c->rcpts, c->nrcpts, rcpt))
		return "exempt_recipient";
	return NULL;
}

struct gl_ctx {
	const char	*ip;		/* escaped client address */
	const char	*net;
	const char	*from;		/* escaped */
	const char	*to;		/* escaped */
};

/* decision_log - the one line of a greylisting decision. */
static void
decision_log(const struct gl_ctx *x, const char *action, const char *reason,
    const char *extra)
{
	yh_log(YH_LOG_INFO, "greylist action=%s reason=%s client=%s net=%s "
	    "from=<%s> to=<%s>%s", action, reason, x->ip, x->net, x->from,
	    x->to, extra);
}

/* store_failed - a store error: the recipient passes (logged). */
static int
store_failed(const struct gl_ctx *x, const char *what)
{
	yh_log(YH_LOG_WARN, "greylist action=pass reason=store_error "
	    "client=%s net=%s from=<%s> to=<%s> store %s failed: not "
	    "greylisted", x->ip, x->net, x->from, x->to, what);
	return YH_DECLINED;
}

/* net_count - the passed-triplet count of network KEY into *N and the
 * time it was last written into *WHEN ("COUNT TIME"; a bare "COUNT" from
 * before the time was kept reads as written at 0): 1 read, 0 none, -1
 * store error. */
static int
net_count(const char *key, long long *n, long long *when)
{
	char buf[GL_REC_MAX], *end;
	size_t len = sizeof(buf) - 1;
	int r;

	*n = 0;
	*when = 0;
	if ((r = yh_store_get(key, buf, &len)) != 1)
		return r;
	if (len >= sizeof(buf))
		return 0;	/* not ours: taken as none, rewritten */
	buf[len] = '\0';
	*n = strtoll(buf, &end, 10);
	if (end == buf || *n < 0 || (*end != '\0' && *end != ' ')) {
		*n = 0;
		return 1;
	}
	if (*end == ' ') {
		*when = strtoll(end + 1, &end, 10);
		if (*end != '\0' || *when < 0)
			*when = 0;
	}
	return 1;
}

/* net_put - write count N of network KEY at time NOW for MAX_AGE
 * seconds.  0 or -1. */
static int
net_put(const char *key, long long n, long long now, long long max_age)
{
	char buf[GL_REC_MAX];
	int len = snprintf(buf, sizeof(buf), "%lld %lld", n, now);

	return yh_store_put(key, buf, (size_t)len, max_age);
}

/* triplet_check - the triplet of X (store key TKEY) at time NOW: 451 or
 * pass, with its record and the network's count (NKEY) updated. */
static int
triplet_check(struct yh_session *s, const struct gl_conf *c,
    const struct gl_ctx *x, const char *tkey, const char *nkey)
{
	char buf[GL_REC_MAX], extra[96];
	size_t len = sizeof(buf);
	struct gl_rec rec, next;
	enum gl_verdict v;
	long long now = yh_now(), wait, count, when;
	int r, n;

	r = yh_store_get(tkey, buf, &len);
	if (r == -1)
		return store_failed(x, "read");
	if (r == 0 || len > sizeof(buf) || gl_rec_parse(buf, len, &rec) == -1)
		rec.state = GL_NONE;	/* absent, or not a record: first sight */
	v = gl_decide(&rec, now, &c->t, &next, &wait);
	if (v != GL_EARLY && (v != GL_KNOWN ||
	    gl_refresh_due(rec.time, now, &c->t))) {
		if ((n = gl_rec_format(&next, buf, sizeof(buf))) < 0 ||
		    yh_store_put(tkey, buf, (size_t)n, next.state == GL_PASS ?
		    c->t.max_age : c->t.window) == -1)
			return store_failed(x, "write");
	}
	switch (v) {
	case GL_NEW:
	case GL_EARLY:
	case GL_RESTART:
		snprintf(extra, sizeof(extra), " age=%llds retry_in=%llds",
		    v == GL_EARLY ? now - rec.time : 0LL, wait);
		decision_log(x, "greylist", gl_verdict_name(v), extra);
		yh_reply(s, 451, "4.7.1", "Greylisted: please try again in "
		    "%lld seconds", wait);
		return YH_DENYSOFT;
	case GL_PASSED:
		count = 0;
		if (net_count(nkey, &count, &when) == -1 ||
		    net_put(nkey, count + 1, now, c->t.max_age) == -1)
			yh_log(YH_LOG_WARN, "greylist net=%s passed-triplet count "
			    "not updated (store error)", x->net);
		else
			count++;
		snprintf(extra, sizeof(extra), " age=%llds net_passed=%lld",
		    now - rec.time, count);
		decision_log(x, "pass", "passed", extra);
		return YH_DECLINED;
	case GL_KNOWN:
		decision_log(x, "pass", "known", "");
		return YH_DECLINED;
	}
	return YH_DECLINED;
}

/*
 * gl_rcpt - RCPT TO: skip what is never greylisted, pass a whitelisted
 * network, else decide on the triplet.  YH_DENYSOFT (451 4.7.1) or
 * YH_DECLINED; never YH_OK, never a 5xx.
 */
static int
gl_rcpt(struct yh_session *s, const char *rcpt)
{
	const struct gl_conf *c = gl;
	const char *sender = yh_sender(s), *why;
	char net[GL_NET_MAX], tkey[GL_KEY_MAX + 128], nkey[GL_NET_MAX + 8];
	char eip[GL_ESC_MAX], efrom[GL_ESC_MAX], eto[GL_ESC_MAX], extra[64];
	struct gl_ctx x;
	struct pu_ip ip;
	long long count, when, now = yh_now();
	int have_ip, r;

	if (c == NULL || rcpt == NULL)
		return YH_DECLINED;
	if (sender == NULL)
		sender = "";
	have_ip = pu_ip_parse(yh_peer_ip(s), &ip) == 0;
	x.ip = yh_escape(eip, sizeof(eip), yh_peer_ip(s) ? yh_peer_ip(s) : "",
	    yh_peer_ip(s) ? strlen(yh_peer_ip(s)) : 0);
	x.from = yh_escape(efrom, sizeof(efrom), sender, strlen(sender));
	x.to = yh_escape(eto, sizeof(eto), rcpt, strlen(rcpt));
	if ((why = skip_reason(s, c, &ip, have_ip, rcpt)) != NULL) {
		yh_log(YH_LOG_DEBUG, "greylist skipped reason=%s client=%s "
		    "to=<%s>", why, x.ip, x.to);
		return YH_DECLINED;
	}
	if (gl_net_key(&ip, net, sizeof(net)) == -1 ||
	    gl_net_store_key(net, nkey, sizeof(nkey)) == -1 ||
	    gl_triplet_key(net, sender, rcpt, tkey, sizeof(tkey)) == -1) {
		x.net = "?";
		return store_failed(&x, "key");
	}
	x.net = net;
	if (c->awl > 0) {
		if ((r = net_count(nkey, &count, &when)) == -1)
			return store_failed(&x, "read");
		if (r == 1 && count >= c->awl) {
			if (gl_refresh_due(when, now, &c->t) &&
			    net_put(nkey, count, now, c->t.max_age) == -1)
				yh_log(YH_LOG_WARN, "greylist net=%s whitelist "
				    "not refreshed (store error)", net);
			snprintf(extra, sizeof(extra), " net_passed=%lld", count);
			decision_log(&x, "pass", "auto_whitelist", extra);
			return YH_DECLINED;
		}
	}
	return triplet_check(s, c, &x, tkey, nkey);
}

static const struct yh_hooks gl_hooks = {
	YH_HOOKS_INIT,
	.rcpt = gl_rcpt,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "greylist",
	.keys = gl_keys,
	.init = gl_init,
	.commit = gl_commit,
	.discard = gl_discard,
	.fini = gl_fini,
	.hooks = &gl_hooks,
};
