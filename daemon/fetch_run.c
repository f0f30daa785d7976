/*
 * fetch_run.c - fetch runs and the fetch process; see fetch_run.h.
 *
 * Must never: delete a message on the server before its UIDL is durably
 * remembered with the message queued; queue a message twice; keep a
 * clear password past the login; log unescaped server bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "account.h"
#include "config.h"
#include "fetch_run.h"
#include "log.h"
#include "master.h"
#include "pop3c.h"
#include "queue.h"
#include "store.h"
#include "tls.h"
#include "util.h"

#define FETCH_SESSION_MS	(3600 * 1000LL)	/* the longest one run may talk */
#define FETCH_FIELD_MAX		1024	/* a From:/X-Mailer: value looked at */
#define FETCH_TICK_MS		1000	/* the fetch process looks at the entries */

struct run {
	const struct config	*cfg;
	struct store		*s;
	const struct fetch_entry *e;
	char			 id[FETCH_ID_LEN + 1];
	char			 tag[FETCH_HOST_MAX + FETCH_USER_MAX + 96];
	char			 rcpt[ACCOUNT_NAME_MAX + 258];
	struct pop3c		 p;
	struct fetch_result	*res;
};

/* ---- the header section ---------------------------------------------------- */

/*
 * header_get - the unfolded value of the first field NAME in the header
 * section HDR (LF line ends) into OUT (SIZE), blanks at both ends trimmed.
 * 1 found, 0 not.
 */
static int
header_get(const char *hdr, size_t hlen, const char *name, char *out,
    size_t size)
{
	const char *p = hdr, *end = hdr + hlen, *nl;
	size_t nlen = strlen(name), o = 0, l;
	int in = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		l = (size_t)((nl ? nl : end) - p);
		if (l == 0)
			break;
		if (in && (p[0] == ' ' || p[0] == '\t')) {
			/* a continuation line */
		} else if (in)
			break;
		else if (l > nlen && p[nlen] == ':' &&
		    strncasecmp(p, name, nlen) == 0) {
			in = 1;
			p += nlen + 1;
			l -= nlen + 1;
		} else {
			p = nl ? nl + 1 : end;
			continue;
		}
		while (l > 0 && o + 1 < size) {
			out[o++] = *p == '\t' || *p == '\r' ? ' ' : *p;
			p++;
			l--;
		}
		if (o + 1 < size)
			out[o++] = ' ';
		p = nl ? nl + 1 : end;
	}
	if (!in)
		return 0;
	out[o] = '\0';
	{
		char *t = str_trim(out);

		memmove(out, t, strlen(t) + 1);
	}
	return 1;
}

/* addr_of - the address of a From:/Return-Path: value into OUT: what is
 * inside <...>, else the first word with an '@'.  "" when none. */
static void
addr_of(const char *val, char *out, size_t size)
{
	const char *lt = strrchr(val, '<'), *gt, *w, *e;

	out[0] = '\0';
	if (lt && (gt = strchr(lt, '>')) != NULL) {
		if ((size_t)(gt - lt - 1) < size) {
			memcpy(out, lt + 1, (size_t)(gt - lt - 1));
			out[gt - lt - 1] = '\0';
		}
		return;
	}
	for (w = val; *w; w = e) {
		while (*w == ' ' || *w == ',')
			w++;
		for (e = w; *e && *e != ' ' && *e != ','; e++)
			;
		if (memchr(w, '@', (size_t)(e - w)) && (size_t)(e - w) < size) {
			memcpy(out, w, (size_t)(e - w));
			out[e - w] = '\0';
			return;
		}
	}
}

/* addr_plain - 1 when A is a plain address fit for an envelope: bounded,
 * printable, no blanks or angle brackets. */
static int
addr_plain(const char *a)
{
	const unsigned char *p;

	if (strlen(a) > 255)
		return 0;
	for (p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

/*
 * judge - whether message HDR is fetched: 1 yes, 0 left with the reason in
 * WHY (WHYSIZE).  deny-from and deny-mailer win over accept-from.
 */
static int
judge(const struct run *r, const struct buf *hdr, char *why, size_t whysize)
{
	const struct fetch_entry *e = r->e;
	char val[FETCH_FIELD_MAX], from[FETCH_FIELD_MAX], esc[300];
	long long max_hops = config_int(r->cfg, "smtp.max_hops");

	from[0] = '\0';
	if (header_get(hdr->data, hdr->len, "From", val, sizeof(val)))
		addr_of(val, from, sizeof(from));
	if (from[0] && fetch_match(&e->deny_from, from)) {
		snprintf(why, whysize, "deny-from from=<%s>", str_escape(esc,
		    sizeof(esc), from, strlen(from)));
		return 0;
	}
	if (e->deny_mailer.n > 0 &&
	    header_get(hdr->data, hdr->len, "X-Mailer", val, sizeof(val)) &&
	    fetch_match_text(&e->deny_mailer, val)) {
		snprintf(why, whysize, "deny-mailer mailer=\"%s\"",
		    str_escape(esc, sizeof(esc), val, strlen(val)));
		return 0;
	}
	if (e->accept_from.n > 0 && (from[0] == '\0' ||
	    !fetch_match(&e->accept_from, from))) {
		snprintf(why, whysize, "not in accept-from from=<%s>",
		    str_escape(esc, sizeof(esc), from, strlen(from)));
		return 0;
	}
	if ((long long)header_hops(hdr->data, hdr->len) + 1 > max_hops) {
		snprintf(why, whysize, "over smtp.max_hops (%zu Received/"
		    "Delivered-To fields)", header_hops(hdr->data, hdr->len));
		return 0;
	}
	return 1;
}

/* ---- queueing -------------------------------------------------------------- */

struct retr_ctx {
	struct queue_in	*q;
	long long	 lines;
	int		 in_header;
	int		 skip;		/* inside a Return-Path field */
	int		 failed;
};

/* retr_line - one message line into the queue file (LF ends).  The
 * message's own Return-Path field is dropped: the envelope carries it and
 * delivery writes a new one (DESIGN §7). */
static int
retr_line(void *ctx, const char *line, size_t len)
{
	struct retr_ctx *rc = ctx;

	if (rc->in_header) {
		if (len == 0)
			rc->in_header = 0;
		else if (rc->skip && (line[0] == ' ' || line[0] == '\t'))
			return 0;
		else {
			rc->skip = len >= 12 && strncasecmp(line, "Return-Path:",
			    12) == 0;
			if (rc->skip)
				return 0;
		}
	}
	if (queue_in_write(rc->q, line, len) == -1 ||
	    queue_in_write(rc->q, "\n", 1) == -1) {
		rc->failed = 1;
		return -1;
	}
	rc->lines++;
	return 0;
}

/* received - the trace field put on top of a fetched message. */
static void
received(const struct run *r, const char *qid, struct buf *out)
{
	const char *host = config_str(r->cfg, "smtp.hostname");
	char hbuf[256], date[64];
	time_t t = (time_t)time_now();
	struct tm tm;

	if (*host == '\0') {
		if (gethostname(hbuf, sizeof(hbuf)) == -1 || hbuf[0] == '\0')
			snprintf(hbuf, sizeof(hbuf), "localhost");
		hbuf[sizeof(hbuf) - 1] = '\0';
		host = hbuf;
	}
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(date, sizeof(date), "Thu, 1 Jan 1970 00:00:00 +0000");
	buf_printf(out, "Received: from %s ([%s])\n\tby %s (yubin) with POP3 "
	    "id %s\n\tfor <%s>; %s\n", r->e->host, r->p.peer, host, qid,
	    r->rcpt, date);
}

/*
 * fetch_one - RETR message M into the queue for the account, remembering
 * its UIDL in the same transaction.  0 queued (or queued before), 1 not
 * taken (a line over POP3C_LINE_MAX: the caller leaves it), -1 the run
 * fails (RES->why).
 */
static int
fetch_one(struct run *r, const struct pop3c_msg *m, const struct buf *hdr,
    long long max)
{
	struct retr_ctx rc;
	struct envelope env;
	struct buf rcvd, once;
	char val[FETCH_FIELD_MAX], sender[FETCH_FIELD_MAX];
	const char *why;
	long long lines = 0;
	size_t i;
	int x;

	memset(&rc, 0, sizeof(rc));
	rc.in_header = 1;
	if (queue_in_open(config_home(r->cfg), &rc.q) == -1) {
		snprintf(r->res->why, sizeof(r->res->why), "cannot create a "
		    "queue file: %s", strerror(errno));
		return -1;
	}
	buf_init(&rcvd, 0);
	received(r, queue_in_id(rc.q), &rcvd);
	for (i = 0; i < rcvd.len; i++)
		lines += rcvd.data[i] == '\n';
	if (queue_in_write(rc.q, rcvd.data, rcvd.len) == -1)
		rc.failed = 1;
	buf_free(&rcvd);
	x = rc.failed ? -1 : pop3c_retr(&r->p, m->num, max, retr_line, &rc);
	if (x == -1) {
		snprintf(r->res->why, sizeof(r->res->why), "uidl=%s: %s", m->uid,
		    rc.failed ? "cannot write the queue file" : r->p.why);
		queue_in_abort(&rc.q);
		return -1;
	}
	if (x == 1) {
		/* a line over the bound: the message cannot be taken whole */
		queue_in_abort(&rc.q);
		return 1;
	}
	/* the envelope sender: the message's Return-Path when it is a plain
	 * address, else <> (nothing bounces back to the remote mailbox) */
	sender[0] = '\0';
	if (header_get(hdr->data, hdr->len, "Return-Path", val, sizeof(val))) {
		addr_of(val, sender, sizeof(sender));
		if (!addr_plain(sender))
			sender[0] = '\0';
	}
	memset(&env, 0, sizeof(env));
	env.sender = xstrdup(sender);
	envelope_add_rcpt(&env, r->rcpt, r->e->account);
	(void)str_copy(env.client_ip, sizeof(env.client_ip), r->p.peer);
	snprintf(env.helo, sizeof(env.helo), "%.200s", r->e->host);
	env.arrival = time_now();
	env.size_crlf = queue_in_size(rc.q) + lines + rc.lines;
	buf_init(&once, 0);
	buf_printf(&once, "fetchuid/%s/%s", r->id, m->uid);
	x = queue_in_commit_once(&rc.q, &(struct envelope *){ &env }, 1, r->s,
	    once.data, once.len, 0, &why);
	buf_free(&once);
	if (x == -1) {
		snprintf(r->res->why, sizeof(r->res->why), "uidl=%s: not queued: "
		    "%s", m->uid, why);
		envelope_clear(&env);
		return -1;
	}
	if (x == 0) {
		r->res->fetched++;
		log_info("%s: fetched %s uidl=%s from=<%s> size=%lld", env.id,
		    r->tag, m->uid, sender, env.size_crlf);
	}
	envelope_clear(&env);
	return 0;
}

/* ---- remembered UIDLs -------------------------------------------------------- */

/* seen - 1 when KIND ("fetchuid", "fetchleft") remembers UID, 0 not,
 * -1 store error. */
static int
seen(struct run *r, const char *kind, const char *uid)
{
	struct buf k, v;
	int x;

	buf_init(&k, 0);
	buf_init(&v, 0);
	buf_printf(&k, "%s/%s/%s", kind, r->id, uid);
	x = store_get(r->s, STORE_META, k.data, k.len, &v);
	buf_free(&k);
	buf_free(&v);
	return x;
}

struct prune_ctx {
	const struct pop3c_msg *sorted;	/* by uid */
	size_t		 n;
	size_t		 plen;		/* the prefix before the uid */
	char		**gone;
	size_t		 ngone;
};

static int
uid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pop3c_msg *)a)->uid,
	    ((const struct pop3c_msg *)b)->uid);
}

static int
prune_fn(void *ctx, const void *key, size_t klen, const void *val, size_t vlen,
    long long expires)
{
	struct prune_ctx *pc = ctx;
	struct pop3c_msg probe;

	(void)val;
	(void)vlen;
	(void)expires;
	if (klen - pc->plen > POP3C_UIDL_MAX)
		return 0;
	memcpy(probe.uid, (const char *)key + pc->plen, klen - pc->plen);
	probe.uid[klen - pc->plen] = '\0';
	if (bsearch(&probe, pc->sorted, pc->n, sizeof(probe), uid_cmp) == NULL) {
		pc->gone = xrealloc(pc->gone, (pc->ngone + 1) * sizeof(*pc->gone));
		pc->gone[pc->ngone++] = xstrndup(key, klen);
	}
	return 0;
}

static int
prune_del_fn(struct store_txn *txn, void *ctx)
{
	struct prune_ctx *pc = ctx;
	size_t i;

	for (i = 0; i < pc->ngone; i++)
		if (store_tdel(txn, STORE_META, pc->gone[i],
		    strlen(pc->gone[i])) == -1)
			return -1;
	return 0;
}

/* prune - forget the UIDLs remembered for messages no longer on the
 * server (MSGS, N: the listing of this run). */
static void
prune(struct run *r, const struct pop3c_msg *msgs, size_t n)
{
	static const char *const kinds[] = { "fetchuid", "fetchleft" };
	struct prune_ctx pc;
	struct store_txn *txn;
	struct pop3c_msg *sorted;
	struct buf prefix;
	size_t i, k;

	sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	memcpy(sorted, msgs, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), uid_cmp);
	memset(&pc, 0, sizeof(pc));
	pc.sorted = sorted;
	pc.n = n;
	buf_init(&prefix, 0);
	for (k = 0; k < 2; k++) {
		buf_reset(&prefix);
		buf_printf(&prefix, "%s/%s/", kinds[k], r->id);
		pc.plen = prefix.len;
		if (store_txn_begin(r->s, 1, &txn) == -1)
			break;
		(void)store_titer(txn, STORE_META, prefix.data, prefix.len,
		    prune_fn, &pc);
		store_txn_abort(&txn);
	}
	if (pc.ngone > 0 && store_write(r->s, prune_del_fn, &pc) != 0)
		log_warn("fetch %s: cannot forget %zu UIDLs of messages gone",
		    r->tag, pc.ngone);
	for (i = 0; i < pc.ngone; i++)
		free(pc.gone[i]);
	free(pc.gone);
	free(sorted);
	buf_free(&prefix);
}

/* leave - remember M as left on the server for WHY, and log it. */
static int
leave(struct run *r, const struct pop3c_msg *m, const char *why)
{
	struct buf k;
	int x;

	buf_init(&k, 0);
	buf_printf(&k, "fetchleft/%s/%s", r->id, m->uid);
	x = store_put(r->s, STORE_META, k.data, k.len, why, strlen(why), 0);
	buf_free(&k);
	if (x == -1) {
		snprintf(r->res->why, sizeof(r->res->why), "cannot record a "
		    "message left");
		return -1;
	}
	r->res->left++;
	log_info("fetch %s: left on the server uidl=%s: %s", r->tag, m->uid,
	    why);
	return 0;
}

/* ---- a run ------------------------------------------------------------------- */

/* client_ctx - a verifying TLS client context for E: its --ca file, else
 * the system's CAs; the server's identity is E's host (name or IP). */
static SSL_CTX *
client_ctx(const struct fetch_entry *e, char *why, size_t whysize)
{
	X509_VERIFY_PARAM *vp;
	SSL_CTX *ctx;
	unsigned char a[16];
	int ip;

	ctx = tls_client_ctx(1);
	if (ctx == NULL) {
		snprintf(why, whysize, "cannot set up TLS");
		return NULL;
	}
	if (e->ca[0] && SSL_CTX_load_verify_locations(ctx, e->ca, NULL) != 1) {
		snprintf(why, whysize, "cannot load the CA file %.300s", e->ca);
		SSL_CTX_free(ctx);
		return NULL;
	}
	vp = SSL_CTX_get0_param(ctx);
	ip = inet_pton(AF_INET, e->host, a) == 1 ||
	    inet_pton(AF_INET6, e->host, a) == 1;
	if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, e->host) :
	    X509_VERIFY_PARAM_set1_host(vp, e->host, 0)) != 1) {
		snprintf(why, whysize, "cannot set the name to verify");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* rcpt_of - the address of account NAME (its domain, or server.domain). */
static int
rcpt_of(struct run *r)
{
	struct account a;
	int x = account_get(r->s, r->e->account, &a);

	if (x != 1) {
		snprintf(r->res->why, sizeof(r->res->why), x == 0 ?
		    "no local account %s" : "cannot read account %s",
		    r->e->account);
		explicit_bzero(&a, sizeof(a));
		return -1;
	}
	if (strchr(a.name, '@'))
		snprintf(r->rcpt, sizeof(r->rcpt), "%s", a.name);
	else
		snprintf(r->rcpt, sizeof(r->rcpt), "%s@%s", a.name,
		    a.domain[0] ? a.domain : config_str(r->cfg, "server.domain"));
	explicit_bzero(&a, sizeof(a));
	return 0;
}

/* session - the POP3 part of a run.  0 or -1 (RES->why). */
static int
session(struct run *r)
{
	const struct fetch_entry *e = r->e;
	unsigned char key[FETCH_KEY_LEN];
	char pass[FETCH_PASS_MAX + 1], why[FETCH_REASON_MAX];
	struct pop3c_msg *msgs = NULL;
	struct buf hdr;
	SSL_CTX *ctx = NULL;
	const char *kwhy;
	long long max = config_int(r->cfg, "smtp.max_message_size");
	int timeout_ms = (int)config_int(r->cfg, "pop3.fetch_timeout") * 1000;
	size_t n = 0, i;
	int x, rc = -1;

	if (fetch_key_load(config_home(r->cfg), 0, key, &kwhy) == -1) {
		snprintf(r->res->why, sizeof(r->res->why), "%s", kwhy);
		return -1;
	}
	x = fetch_open(e, key, pass, sizeof(pass));
	explicit_bzero(key, sizeof(key));
	if (x == -1) {
		snprintf(r->res->why, sizeof(r->res->why), "the stored password "
		    "does not decrypt (fetch.key replaced?); add the entry again");
		return -1;
	}
	if (e->tls != FETCH_TLS_NONE &&
	    (ctx = client_ctx(e, r->res->why, sizeof(r->res->why))) == NULL) {
		explicit_bzero(pass, sizeof(pass));
		return -1;
	}
	buf_init(&hdr, POP3C_HEADER_MAX + 1);
	x = pop3c_connect(&r->p, e->host, e->port, e->tls == FETCH_TLS_IMPLICIT,
	    e->tls == FETCH_TLS_STLS, ctx, timeout_ms);
	r->p.c.deadline_ms = now_ms() + FETCH_SESSION_MS;
	if (x == 0)
		x = pop3c_login(&r->p, e->user, pass);
	explicit_bzero(pass, sizeof(pass));
	if (x == -1 || pop3c_list(&r->p, &msgs, &n) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((x = seen(r, "fetchuid", msgs[i].uid)) == -1)
			goto store_fail;
		if (x == 1) {
			/* queued before (perhaps by a run that ended before
			 * its QUIT): only its deletion may be missing */
			if (!e->keep) {
				if (pop3c_dele(&r->p, msgs[i].num) == -1)
					goto fail;
				r->res->deleted++;
			}
			continue;
		}
		if ((x = seen(r, "fetchleft", msgs[i].uid)) == -1)
			goto store_fail;
		if (x == 1) {
			r->res->left++;
			continue;
		}
		if (max > 0 && msgs[i].size > max) {
			snprintf(why, sizeof(why), "over smtp.max_message_size "
			    "(%lld octets)", msgs[i].size);
			if (leave(r, &msgs[i], why) == -1)
				goto out;
			continue;
		}
		if ((x = pop3c_top(&r->p, msgs[i].num, &hdr)) == -1)
			goto fail;
		if (x == 1 || !judge(r, &hdr, why, sizeof(why))) {
			if (x == 1)
				snprintf(why, sizeof(why), "a header line over "
				    "%d octets", POP3C_LINE_MAX);
			if (leave(r, &msgs[i], why) == -1)
				goto out;
			continue;
		}
		if ((x = fetch_one(r, &msgs[i], &hdr, max)) == -1)
			goto out;
		if (x == 1) {
			snprintf(why, sizeof(why), "a line over %d octets",
			    POP3C_LINE_MAX);
			if (leave(r, &msgs[i], why) == -1)
				goto out;
			continue;
		}
		if (!e->keep) {
			if (pop3c_dele(&r->p, msgs[i].num) == -1)
				goto fail;
			r->res->deleted++;
		}
	}
	if (pop3c_quit(&r->p) == -1)
		goto fail;
	prune(r, msgs, n);
	rc = 0;
	goto out;
store_fail:
	snprintf(r->res->why, sizeof(r->res->why), "cannot read the store");
	goto out;
fail:
	snprintf(r->res->why, sizeof(r->res->why), "%s", r->p.why);
out:
	pop3c_close(&r->p);
	if (ctx)
		SSL_CTX_free(ctx);
	buf_free(&hdr);
	free(msgs);
	return rc;
}

/* run_lock - HOME/state/fetch.ID.lock, held (flock) for the run: one run
 * of an entry at a time.  The fd, -1 error, -2 busy (not WAIT). */
static int
run_lock(const struct config *cfg, const char *id, int wait)
{
	char *path = xasprintf("%s/state/fetch.%s.lock", config_home(cfg), id);
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(path);
	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == -1) {
		int err = errno;

		if (err == EINTR)
			continue;
		close(fd);
		errno = err;
		return err == EWOULDBLOCK ? -2 : -1;
	}
	return fd;
}

int
fetch_run(const struct config *cfg, struct store *s, const struct fetch_entry *e,
    int wait, struct fetch_result *res)
{
	struct fetch_state st;
	struct run r;
	char srv[FETCH_SERVER_MAX];
	int lock, rc = -1, x;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.s = s;
	r.e = e;
	r.res = res;
	fetch_id(e, r.id);
	snprintf(r.tag, sizeof(r.tag), "account=%s server=%s user=%s",
	    e->account, fetch_server(e, srv), e->user);
	lock = run_lock(cfg, r.id, wait);
	if (lock == -2)
		return FETCH_RUN_BUSY;
	if (lock == -1)
		snprintf(res->why, sizeof(res->why), "cannot lock the entry: %s",
		    strerror(errno));
	else if (rcpt_of(&r) == 0)
		rc = session(&r);
	if (fetch_state_get(s, r.id, &st) == -1)
		memset(&st, 0, sizeof(st));
	/* an entry removed while it ran keeps no state behind */
	{
		struct fetch_entry cur;

		memset(&cur, 0, sizeof(cur));
		x = fetch_get(s, e->account, e->host, e->user, &cur);
		fetch_entry_clear(&cur);
	}
	st.last = time_now();
	st.ok = rc == 0;
	st.fetched += res->fetched;
	if (rc == 0)
		st.left = res->left;
	(void)str_copy(st.status, sizeof(st.status), rc == 0 ? "ok" : res->why);
	if (x == 1 && fetch_state_put(s, r.id, &st) == -1)
		log_err("fetch %s: cannot record the run's outcome", r.tag);
	if (lock >= 0)
		close(lock);
	if (rc == 0)
		log_info("fetch %s: done fetched=%lld left=%lld deleted=%lld",
		    r.tag, res->fetched, res->left, res->deleted);
	else
		log_err("fetch %s: failed after fetched=%lld: %s", r.tag,
		    res->fetched, res->why);
	return rc == 0 ? FETCH_RUN_OK : FETCH_RUN_FAILED;
}

/* ---- the fetch process --------------------------------------------------------- */

struct due_ctx {
	const struct config *cfg;
	struct store	*s;
	long long	 now;
};

/* due_fn - run E when its interval has passed since its last run. */
static int
due_fn(void *ctx, const struct fetch_entry *e)
{
	struct due_ctx *dc = ctx;
	struct fetch_result res;
	struct fetch_state st;
	char id[FETCH_ID_LEN + 1];

	fetch_id(e, id);
	if (fetch_state_get(dc->s, id, &st) == -1)
		return 0;
	if (st.last != 0 && st.last + e->interval > dc->now)
		return 0;
	(void)fetch_run(dc->cfg, dc->s, e, 0, &res);
	return 0;
}

void
fetch_main(const struct config *cfg)
{
	struct sigaction sa;
	struct due_ctx dc;
	struct store *s;
	const char *why;
	char *sdir;
	pid_t master = getppid();

	/* SIGTERM ends the process at once, in a run or not: a run is safe
	 * to cut anywhere (what it queued is remembered in the same
	 * transaction; nothing is deleted before QUIT) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	/* the master forks us with its signals blocked: a stop that came
	 * meanwhile reaches the handler above now */
	child_unblock();
	sdir = xasprintf("%s/state", config_home(cfg));
	if (store_open(&s, sdir, &why) == -1)
		log_fatal("fetch: %s: %s", sdir, why);
	free(sdir);
	while (getppid() == master) {
		dc.cfg = cfg;
		dc.s = s;
		dc.now = time_now();
		if (fetch_each(s, NULL, due_fn, &dc) == -1)
			log_err("fetch: cannot read the entries");
		(void)poll(NULL, 0, FETCH_TICK_MS);
	}
	store_close(&s);
	exit(0);
}
