/*
 * post.c - distribution of a post to a list's members (DESIGN §11, SEEDS
 * §2.5 and §18, F095-F114).
 *
 * Runs in the queue manager's local delivery agent as the server user,
 * called by ml.c's deliver hook with the list read afresh.  In order: who
 * may post (mailing_list_public_level, post_password), loops and automatic
 * mail (this list's List-Id or X-ML-Name, Auto-Submitted, the null
 * sender), the size, the subject filter, the list's processing program;
 * then the post number (the store's "count", remembered under
 * "post/QID"), the rewritten header (subject tag, List-* fields, From/To/
 * Reply-To by the *_kind keys, DMARC From: munging after one TXT query to
 * yh_dns_server), the archive, one outgoing message per transaction
 * queued through ml_send with tag "d<i>" (each message built once; per
 * member only with VERP or To: the member), and ml.def's count raised.
 *
 * Never loses a post: whatever transient fails (the store, queueing)
 * defers the whole message (451 4.3.0) and a delivery run again sends
 * only what was not queued before (yh_inject_once), with the same number.
 * A refused post is dropped with a log line naming the reason and, unless
 * the list is silent, a short notice.  Never runs a program but the
 * list's own through yh_spawn; never writes outside the list's folder.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "ml.h"

#define POST_TTL	(30LL * 86400)	/* "post/QID" is kept as long as the
					 * inject markers */
#define SUBJ_MAX	4096		/* an unfolded Subject we rewrite */
#define FROM_MAX	(YH_ACCOUNT_MAX + ML_ADDR_MAX + 2 * ML_DOMAIN_MAX + 32)
					/* an envelope sender, VERP form */

/* knum - key ID of C's list: ml.def when set there; for the keys that
 * override a server key, the account's config.def or server value. */
static long long
knum(const struct ml_ctx *c, int id)
{
	char buf[64], *end;
	long long v;

	if (c->def.line[id] != 0 || !(ml_keys[id].flags & ML_SERVER))
		return c->def.num[id];
	if (yh_account_get(c->account, ml_keys[id].name, buf, sizeof(buf)) ==
	    NULL || buf[0] == '\0')
		return c->def.num[id];
	v = strtoll(buf, &end, 10);
	return *end == '\0' ? v : c->def.num[id];
}

/* kstr - text key ID as knum (FILTER_STRING) into BUF. */
static const char *
kstr(const struct ml_ctx *c, int id, char *buf, size_t size)
{
	if (c->def.line[id] != 0 || !(ml_keys[id].flags & ML_SERVER))
		return c->def.str[id];
	if (yh_account_get(c->account, ml_keys[id].name, buf, size) == NULL)
		return c->def.str[id];
	return buf;
}

static int
addr_eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* report_to - where error reports of C go (error_report), or NULL. */
static const char *
report_to(const struct ml_ctx *c)
{
	const char *r = c->def.str[ML_ERROR_REPORT];

	if (strcasecmp(r, "none") == 0)
		return NULL;
	if (strcasecmp(r, "sender") == 0)
		return c->sender[0] ? c->sender : NULL;
	if (strcasecmp(r, "admin") == 0 || r[0] == '\0')
		return c->admin;
	return r;
}

/*
 * refuse - C's post is not distributed: logged with WHY; a notice with
 * TEXT to the sender (TO_SENDER) or to error_report's address, unless the
 * list is silent.  YH_DISCARD (the post is dealt with).
 */
static int
refuse(struct ml_ctx *c, const char *why, int to_sender, const char *text)
{
	char subj[sizeof(c->addr) + 64];
	const char *to = to_sender ? (c->sender[0] ? c->sender : NULL) :
	    report_to(c);

	yh_log(YH_LOG_INFO, "list %s: post %s from <%s> not distributed: %s",
	    c->addr, c->qid, c->sender, why);
	if (c->def.num[ML_SILENT] || to == NULL)
		return YH_DISCARD;
	snprintf(subj, sizeof(subj), "%s: your post was not distributed",
	    c->addr);
	if (!to_sender)
		snprintf(subj, sizeof(subj), "%s: a post was not distributed",
		    c->addr);
	if (ml_notice(c, "refused", to, subj, text) == -1) {
		yh_dlv_reply(c->d, 451, "4.3.0", "list %s: cannot queue a notice",
		    c->addr);
		return YH_DENYSOFT;
	}
	return YH_DISCARD;
}

/* ---- who may post ----------------------------------------------------------- */

/* authed_member - the client authenticated as the account of the sender,
 * a member of C's list. */
static int
authed_member(const struct ml_ctx *c, const char *auth)
{
	char acct[YH_ACCOUNT_MAX + 1];

	if (auth[0] == '\0' || !ml_is_member(c, c->sender))
		return 0;
	return yh_resolve(c->sender, acct, sizeof(acct)) == 1 &&
	    strcmp(acct, auth) == 0;
}

/* may_post - NULL when C's sender may post, else the reason; *TEXT_R the
 * notice. */
static const char *
may_post(struct ml_ctx *c, const char **text_r)
{
	const char *auth = yh_dlv_auth_user(c->d);
	const char *mgr = c->def.str[ML_MANAGER];
	int list_auth;

	if (auth == NULL)
		auth = "";
	list_auth = auth[0] != '\0' && strcmp(auth, c->account) == 0;
	if (c->def.str[ML_POST_PASSWORD][0] != '\0' && !list_auth &&
	    !authed_member(c, auth)) {
		*text_r = "This list takes posts only from clients that "
		    "authenticate (SMTP AUTH) as the list or as a member.\n";
		return "post_password: not authenticated as the list or a member";
	}
	switch (knum(c, ML_PUBLIC_LEVEL)) {
	case -1:
		if (!addr_eq(c->sender, c->addr) && !list_auth) {
			*text_r = "This list takes posts only from its own "
			    "address.\n";
			return "public level -1: not the list's address";
		}
		break;
	case 0:
		if (!ml_is_member(c, c->sender) && !list_auth) {
			*text_r = "This list takes posts from its members only.\n";
			return "public level 0: not a member";
		}
		break;
	case 2:
		if (!list_auth && !addr_eq(c->sender, c->admin) &&
		    !(mgr[0] && addr_eq(c->sender, mgr))) {
			*text_r = "This list takes posts from its manager only.\n";
			return "public level 2: not the manager";
		}
		break;
	default:
		break;
	}
	return NULL;
}

/* is_loop - the reason C's message must not be distributed (a loop or an
 * automatic message), or NULL. */
static const char *
is_loop(struct ml_ctx *c)
{
	char v[1024], id[sizeof(c->name) + sizeof(c->domain) + 4];
	int i, r;

	if (c->sender[0] == '\0')
		return "null envelope sender";
	snprintf(id, sizeof(id), "<%s.%s>", c->name, c->domain);
	for (i = 0; (r = ml_header(c, "List-Id", i, v, sizeof(v))) != 0; i++)
		if (r == 1 && strcasestr(v, id) != NULL)
			return "it carries this list's List-Id";
	for (i = 0; (r = ml_header(c, "X-ML-Name", i, v, sizeof(v))) != 0; i++)
		if (r == 1 && strcasecmp(v, c->name) == 0)
			return "it carries this list's X-ML-Name";
	if (ml_header(c, "Auto-Submitted", 0, v, sizeof(v)) == 1) {
		size_t n = strcspn(v, " \t;(");

		if (!(n == 2 && strncasecmp(v, "no", 2) == 0))
			return "Auto-Submitted mail";
	}
	return NULL;
}

/* filtered - the filter string C's subject SUBJ contains, into OUT. */
static int
filtered(const struct ml_ctx *c, const char *subj, char *out, size_t size)
{
	char buf[2048];
	const char *f = kstr(c, ML_FILTER_STRING, buf, sizeof(buf));

	while (*f) {
		size_t n = strcspn(f, ",");

		while (n > 0 && (*f == ' ' || *f == '\t')) {
			f++;
			n--;
		}
		while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
			n--;
		if (n > 0 && n < size) {
			memcpy(out, f, n);
			out[n] = '\0';
			if (strstr(subj, out) != NULL)
				return 1;
		}
		f += strcspn(f, ",");
		if (*f == ',')
			f++;
	}
	return 0;
}

/*
 * run_program - the list's processing program on C's post (F090, F106):
 * the post on its standard input and, as its last argument, the path of
 * a private copy in the list's folder (".post-QID", 0600, made afresh);
 * what the program leaves in that file is what the members get (the
 * seeds' rewrite of list mail).  0 go on, 1 it refused (exit not 0, or
 * it left the file empty), -1 not run, not executed (exit 126 or 127, as
 * the shell has it), not waited for, killed by a signal (a timeout), or
 * its file unreadable: the post waits for the next try.
 */
static int
run_program(struct ml_ctx *c)
{
	struct yh_spawn sp = YH_SPAWN_INIT;
	char label[sizeof(c->account) + 16], name[YH_QID_SIZE + 8];
	char path[sizeof(c->dir) + sizeof(name) + 2], why[ML_MSG_MAX];
	const char *args[2];
	char *data = NULL;
	size_t len = 0;
	ssize_t w;
	int fd, r, status = -1;

	snprintf(label, sizeof(label), "%s/%s", c->account, ML_DEF_FILE);
	snprintf(name, sizeof(name), ".post-%s", c->qid);
	snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	(void)unlinkat(c->dfd, name, 0);	/* left by a try cut short */
	fd = openat(c->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		yh_log(YH_LOG_ERR, "list %s: %s: %s", c->addr, path,
		    strerror(errno));
		return -1;
	}
	w = write(fd, c->msg, c->len);
	if (close(fd) == -1 || w != (ssize_t)c->len) {
		yh_log(YH_LOG_ERR, "list %s: %s: cannot write the copy", c->addr,
		    path);
		(void)unlinkat(c->dfd, name, 0);
		return -1;
	}
	args[0] = path;
	args[1] = NULL;
	sp.label = label;
	sp.command = c->def.str[ML_PROGRAM];
	sp.args = args;
	sp.dlv = c->d;
	sp.cwd = c->dir;
	sp.wait = 1;
	sp.stdin_message = 1;
	if (yh_spawn(&sp, &status) == -1 || status == -1 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) == 126 ||
	    WEXITSTATUS(status) == 127) {
		/* not waited for (hook time), killed, or not executed */
		(void)unlinkat(c->dfd, name, 0);
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		(void)unlinkat(c->dfd, name, 0);
		return 1;
	}
	r = yh_read_safe(path, (size_t)ML_MSG_MAXSIZE, &data, &len, why,
	    sizeof(why));
	(void)unlinkat(c->dfd, name, 0);
	if (r != 1) {
		yh_log(YH_LOG_ERR, "list %s: %s: %s", c->addr, path,
		    r == 0 ? "removed by the list's program" : why);
		return -1;
	}
	if (len == 0) {
		free(data);
		return 1;
	}
	if (len != c->len || memcmp(data, c->msg, len) != 0) {
		yh_log(YH_LOG_INFO, "list %s: post %s rewritten by the list's "
		    "program (%zu bytes, were %zu)", c->addr, c->qid, len, c->len);
		ml_msg_set(c, data, len);
	} else
		free(data);
	return 0;
}

/* ---- number and subject ----------------------------------------------------- */

/* post_number - C's post number into *N: the one given before, else the
 * next of "count" (at least ml.def's count + 1).  0 or -1. */
static int
post_number(struct ml_ctx *c, long long *n)
{
	char key[ML_KEY_MAX + YH_ACCOUNT_MAX], what[64], buf[32];
	size_t len = sizeof(buf) - 1;
	long long floor = c->def.num[ML_COUNT], v;

	snprintf(what, sizeof(what), "post/%s", c->qid);
	ml_store_key(c, what, key, sizeof(key));
	if (yh_store_get(key, buf, &len) == 1 && len < sizeof(buf)) {
		buf[len] = '\0';
		*n = strtoll(buf, NULL, 10);
		if (*n > 0)
			return 0;
	}
	ml_store_key(c, "count", what, sizeof(what));
	if (yh_store_incr(what, 1, 0, &v) == -1)
		return -1;
	if (v <= floor && yh_store_incr(what, floor + 1 - v, 0, &v) == -1)
		return -1;
	len = (size_t)snprintf(buf, sizeof(buf), "%lld", v);
	if (yh_store_put(key, buf, len, POST_TTL) == -1)
		return -1;
	*n = v;
	return 0;
}

/* tag_format - the subject tag of post N from FMT into OUT; a width
 * %0Nd wraps at 10^N.  0, or -1 too long. */
static int
tag_format(const char *fmt, long long n, char *out, size_t size)
{
	size_t o = 0;
	int w;

	for (; *fmt; fmt++) {
		char num[32];
		long long m = n, mod = 1;

		if (*fmt != '%') {
			if (o + 1 >= size)
				return -1;
			out[o++] = *fmt;
			continue;
		}
		fmt++;
		if (*fmt == '%') {
			if (o + 1 >= size)
				return -1;
			out[o++] = '%';
			continue;
		}
		w = 0;
		if (*fmt == '0' && fmt[1] >= '1' && fmt[1] <= '9') {
			w = fmt[1] - '0';
			fmt += 2;
		}
		if (*fmt != 'd')
			return -1;
		for (int i = 0; i < w; i++)
			mod *= 10;
		if (w > 0)
			m = n % mod;
		snprintf(num, sizeof(num), "%0*lld", w, m);
		if (o + strlen(num) >= size)
			return -1;
		memcpy(out + o, num, strlen(num));
		o += strlen(num);
	}
	out[o] = '\0';
	return 0;
}

/* tag_match - the length of a tag of FMT (any number) at S, or 0. */
static size_t
tag_match(const char *fmt, const char *s)
{
	const char *p = s;

	for (; *fmt; fmt++) {
		if (*fmt == '%' && fmt[1] == '%') {
			if (*p++ != '%')
				return 0;
			fmt++;
			continue;
		}
		if (*fmt == '%') {
			while (*fmt && *fmt != 'd')
				fmt++;
			if (*fmt == '\0' || *p < '0' || *p > '9')
				return 0;
			while (*p >= '0' && *p <= '9')
				p++;
			continue;
		}
		if (*p == '\0' || (*p != *fmt && !((*p | 32) == (*fmt | 32) &&
		    ((*p | 32) >= 'a' && (*p | 32) <= 'z'))))
			return 0;
		p++;
	}
	return (size_t)(p - s);
}

/* reply_prefix - the length of "Re:" / "Re[2]:" / "Fwd:"-free reply
 * prefixes (with blanks) at S. */
static size_t
reply_prefix(const char *s)
{
	const char *p = s;

	for (;;) {
		const char *q = p;

		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, "re", 2) != 0)
			break;
		q += 2;
		if (*q == '[') {
			q = strchr(q, ']');
			if (q == NULL)
				break;
			q++;
		}
		if (*q != ':')
			break;
		p = q + 1;
	}
	return (size_t)(p - s);
}

/*
 * new_subject - C's Subject (SUBJ, unfolded) with TAG (FMT its format)
 * by mode MODE (1 prefix, 2 strip old tags first, keep one "Re:") into
 * OUT.  0 or -1 too long.
 */
static int
new_subject(const char *subj, const char *fmt, const char *tag, long long mode,
    char *out, size_t size)
{
	char rest[SUBJ_MAX];
	size_t o = 0, n;
	const char *s = subj;
	int re = 0;

	if (mode == 1) {
		n = (size_t)snprintf(out, size, "%s %s", tag, subj);
		return n < size ? 0 : -1;
	}
	/* mode 2: drop reply prefixes and this list's tags in any order */
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if ((n = reply_prefix(s)) > 0) {
			re = 1;
			s += n;
		} else if ((n = tag_match(fmt, s)) > 0) {
			s += n;
		} else
			break;
	}
	snprintf(rest, sizeof(rest), "%s", s);
	n = (size_t)snprintf(out + o, size - o, "%s%s%s%s", re ? "Re: " : "",
	    tag, rest[0] ? " " : "", rest);
	return n < size - o ? 0 : -1;
}

/* ---- DMARC (munge_from) ---------------------------------------------------- */

#define DMARC_TIMEOUT_MS	3000

/* dmarc_parse - 1 when the TXT answer MSG (N bytes, query ID) holds a
 * DMARC record with p=reject or p=quarantine; 0 not; -2 not our answer. */
static int
dmarc_parse(const unsigned char *msg, int n, unsigned id)
{
	ns_msg h;
	ns_rr rr;
	int i, cnt;

	if (ns_initparse(msg, n, &h) == -1)
		return 0;
	if (ns_msg_id(h) != id)
		return -2;
	if (ns_msg_getflag(h, ns_f_rcode) != ns_r_noerror)
		return 0;
	cnt = ns_msg_count(h, ns_s_an);
	for (i = 0; i < cnt; i++) {
		char txt[1024];
		const unsigned char *d;
		size_t o = 0, k = 0, len;

		if (ns_parserr(&h, ns_s_an, i, &rr) == -1 ||
		    ns_rr_type(rr) != ns_t_txt)
			continue;
		d = ns_rr_rdata(rr);
		len = ns_rr_rdlen(rr);
		while (k < len) {	/* the strings of one record, joined */
			size_t sl = d[k++];

			if (k + sl > len || o + sl >= sizeof(txt))
				break;
			memcpy(txt + o, d + k, sl);
			o += sl;
			k += sl;
		}
		txt[o] = '\0';
		if (strncasecmp(txt, "v=DMARC1", 8) != 0)
			continue;
		for (char *t = txt, *save = NULL; (t = strtok_r(t, ";", &save));
		    t = NULL) {
			while (*t == ' ' || *t == '\t')
				t++;
			if (strncasecmp(t, "p=", 2) != 0)
				continue;
			t += 2;
			while (*t == ' ')
				t++;
			if (strncasecmp(t, "reject", 6) == 0 ||
			    strncasecmp(t, "quarantine", 10) == 0)
				return 1;
		}
	}
	return 0;
}

/* dmarc_strict - 1 when DOMAIN publishes DMARC p=reject or p=quarantine
 * (_dmarc.DOMAIN TXT); any DNS failure or timeout is 0 (no policy). */
static int
dmarc_strict(const char *domain)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned char pkt[512], ans[4096];
	char name[ML_DOMAIN_MAX + 8];
	struct pollfd pf;
	unsigned id;
	int fd, n, r = 0;

	if (snprintf(name, sizeof(name), "_dmarc.%s", domain) >=
	    (int)sizeof(name) || yh_dns_server(&ss, &sl) == -1)
		return 0;
	n = res_mkquery(ns_o_query, name, ns_c_in, ns_t_txt, NULL, 0, NULL,
	    pkt, sizeof(pkt));
	if (n <= 0)
		return 0;
	id = (unsigned)((pkt[0] << 8) | pkt[1]);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    send(fd, pkt, (size_t)n, 0) != n) {
		close(fd);
		return 0;
	}
	pf.fd = fd;
	pf.events = POLLIN;
	for (;;) {
		if (poll(&pf, 1, DMARC_TIMEOUT_MS) <= 0) {
			yh_log(YH_LOG_WARN, "DMARC lookup %s timed out; no policy",
			    name);
			break;
		}
		n = (int)recv(fd, ans, sizeof(ans), 0);
		if (n <= 0)
			break;
		if ((r = dmarc_parse(ans, n, id)) != -2)
			break;
		r = 0;
	}
	close(fd);
	return r;
}

/* ---- the outgoing header -------------------------------------------------- */

struct hdr {
	FILE	*f;
	char	*buf;
	size_t	 len;
};

/* field_end - the end of the header field at P (past its continuation
 * lines) in C's header. */
static const char *
field_end(const struct ml_ctx *c, const char *p)
{
	const char *end = c->msg + c->hdrlen;

	for (;;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			return end;
		p = eol + 1;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

static int
named(const char *p, const char *e, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(e - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':';
}

/* drop_field - 1 when the field at P (to E) is not passed on. */
static int
drop_field(const char *p, const char *e, int keep_x)
{
	static const char *const drop[] = { "Return-Path", "Delivered-To",
	    "Precedence", "Subject", "Reply-To", "To", "X-ML-Name",
	    "X-Mail-Count", NULL };
	int i;

	for (i = 0; drop[i]; i++)
		if (named(p, e, drop[i]))
			return 1;
	if ((size_t)(e - p) > 5 && strncasecmp(p, "List-", 5) == 0)
		return 1;
	if (!keep_x && (size_t)(e - p) > 2 && strncasecmp(p, "X-", 2) == 0)
		return 1;
	return 0;
}

/* tag_encode - TAG with a non-ASCII byte becomes one RFC 2047 encoded
 * word (UTF-8, B), in place (SIZE bytes); ASCII stays as it is. */
static void
tag_encode(char *tag, size_t size)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[1024];
	const unsigned char *p = (const unsigned char *)tag;
	size_t n = strlen(tag), i, o;
	int ascii = 1;

	for (i = 0; i < n; i++)
		if (p[i] >= 0x80)
			ascii = 0;
	if (ascii || 12 + (n + 2) / 3 * 4 + 3 > sizeof(out))
		return;
	o = (size_t)sprintf(out, "=?UTF-8?B?");
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 |
		    (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	memcpy(out + o, "?=", 3);
	if (o + 3 <= size)
		memcpy(tag, out, o + 3);
}

/* put_folded - "NAME: VALUE" to F; past RFC 5322's 998 characters a
 * line, folded at blanks near 78 (a longer word gets a line of its own). */
static void
put_folded(FILE *f, const char *name, const char *value)
{
	size_t col = strlen(name) + 1;
	const char *w = value;

	if (col + 1 + strlen(value) <= 998) {
		fprintf(f, "%s: %s\n", name, value);
		return;
	}
	fputs(name, f);
	fputc(':', f);
	while (*w) {
		size_t n = strcspn(w, " ");

		if (n > 0) {
			if (col > strlen(name) + 1 && col + 1 + n > 78) {
				fputs("\n", f);
				col = 0;
			}
			fputc(' ', f);
			fwrite(w, 1, n, f);
			col += 1 + n;
		}
		w += n;
		while (*w == ' ')
			w++;
	}
	fputc('\n', f);
}

/* has_x - C's header has an X- field. */
static int
has_x(const struct ml_ctx *c)
{
	const char *p, *e, *end = c->msg + c->hdrlen;

	for (p = c->msg; p < end; p = e) {
		e = field_end(c, p);
		if ((size_t)(e - p) > 2 && strncasecmp(p, "X-", 2) == 0)
			return 1;
	}
	return 0;
}

/* poster - the address (into ADDR) and display name (into NAME, "" none)
 * of the From value V.  0, or -1 no address. */
static int
poster(const char *v, char *addr, size_t asize, char *name, size_t nsize)
{
	const char *lt = strrchr(v, '<'), *gt;
	size_t n;

	name[0] = '\0';
	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		n = (size_t)(gt - lt - 1);
		if (n == 0 || n >= asize)
			return -1;
		memcpy(addr, lt + 1, n);
		addr[n] = '\0';
		while (*v == ' ' || *v == '"')
			v++;
		n = (size_t)(lt - v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '"'))
			n--;
		if (n < nsize) {
			size_t o = 0;

			for (size_t i = 0; i < n; i++)
				if (v[i] != '"' && v[i] != '\\')
					name[o++] = v[i];
			name[o] = '\0';
		}
	} else {
		while (*v == ' ')
			v++;
		n = strcspn(v, " (");
		if (n == 0 || n >= asize)
			return -1;
		memcpy(addr, v, n);
		addr[n] = '\0';
	}
	return strchr(addr, '@') != NULL ? 0 : -1;
}

/*
 * build_header - the header of C's outgoing post N (without To:, which the
 * caller adds) into *H.  0 or -1.
 *
 * munge_from (DMARC): when the list changes the message (a subject tag,
 * X- fields stripped) and the poster's domain publishes p=reject or
 * p=quarantine, From: becomes "Poster via LIST" <NAME@DOMAIN> and the
 * poster goes to Reply-To:, or, when Reply-To: is the list (reply_to=1),
 * to Cc: (as Mailman does).
 */
static int
build_header(struct ml_ctx *c, long long n, struct hdr *h)
{
	char subj[SUBJ_MAX], ns[SUBJ_MAX + 256], tag[512], fmt[512];
	char from[1024], cc[2048], paddr[ML_ADDR_MAX + 1], pname[512];
	const char *p, *e, *end = c->msg + c->hdrlen, *reply = NULL;
	long long smode = knum(c, ML_SUBJECT_HEADER);
	long long fkind = knum(c, ML_FROM_KIND);
	int keep_x = (int)knum(c, ML_HEADER_X), sr, fr, changed, munge = 0;
	int ccr = 0, rlist = (int)c->def.num[ML_REPLY_TO];
	const char *listname = c->def.str[ML_NAME][0] ? c->def.str[ML_NAME] :
	    c->name;

	if (c->def.str[ML_SUBJECT_FORMAT][0])
		snprintf(fmt, sizeof(fmt), "%s", c->def.str[ML_SUBJECT_FORMAT]);
	else
		snprintf(fmt, sizeof(fmt), "[%s%%04d]", listname);
	if (tag_format(fmt, n, tag, sizeof(tag)) == -1)
		snprintf(tag, sizeof(tag), "[%s]", listname);
	tag_encode(tag, sizeof(tag));
	sr = ml_header(c, "Subject", 0, subj, sizeof(subj));
	fr = ml_header(c, "From", 0, from, sizeof(from));
	changed = smode != 0 || (!keep_x && has_x(c));
	if (ML.munge_from && changed && fkind != 1 && fr == 1 &&
	    poster(from, paddr, sizeof(paddr), pname, sizeof(pname)) == 0 &&
	    dmarc_strict(strrchr(paddr, '@') + 1)) {
		munge = 1;
		yh_log(YH_LOG_INFO, "list %s: post %lld: From <%s> rewritten "
		    "(DMARC policy of %s)", c->addr, n, paddr,
		    strrchr(paddr, '@') + 1);
	}
	/* Reply-To: the poster (from_kind 2, or From: the list without
	 * reply_to, or munged), else the list with reply_to, else as written */
	if (fr == 1 && (fkind == 2 || (fkind == 1 && !rlist) || (munge && !rlist)))
		reply = from;
	else if (rlist)
		reply = c->addr;
	if (munge && rlist)
		ccr = ml_header(c, "Cc", 0, cc, sizeof(cc));
	h->buf = NULL;
	h->len = 0;
	if ((h->f = open_memstream(&h->buf, &h->len)) == NULL)
		return -1;
	for (p = c->msg; p < end; p = e) {
		e = field_end(c, p);
		if (named(p, e, "From") && (fkind == 1 || munge)) {
			if (fkind == 1)
				fprintf(h->f, "From: %s <%s>\n", listname, c->addr);
			else if (strstr(pname, "=?") != NULL)
				fprintf(h->f, "From: %s via %s <%s>\n", pname,
				    listname, c->addr);
			else
				fprintf(h->f, "From: \"%s via %s\" <%s>\n",
				    pname[0] ? pname : paddr, listname, c->addr);
			continue;
		}
		if (named(p, e, "Subject")) {
			if (smode != 0 && sr == 1 && new_subject(subj, fmt, tag,
			    smode, ns, sizeof(ns)) == 0)
				put_folded(h->f, "Subject", ns);
			else	/* no tag, or too long to rewrite */
				fwrite(p, 1, (size_t)(e - p), h->f);
			continue;
		}
		if ((named(p, e, "Reply-To") && reply == NULL) ||
		    (named(p, e, "Cc") && !(munge && rlist && ccr != -1)) ||
		    !(named(p, e, "Cc") || drop_field(p, e, keep_x))) {
			fwrite(p, 1, (size_t)(e - p), h->f);
			if (e > p && e[-1] != '\n')
				fputc('\n', h->f);
		}
	}
	if (sr == 0 && smode != 0)
		fprintf(h->f, "Subject: %s\n", tag);
	if (reply != NULL)
		fprintf(h->f, "Reply-To: %s\n", reply);
	if (munge && rlist && ccr != -1)
		fprintf(h->f, "Cc: %s%s%s\n", ccr == 1 ? cc : "", ccr == 1 ?
		    ", " : "", from);
	if (c->def.num[ML_LIST_HEADERS])
		fprintf(h->f, "List-Id: <%s.%s>\n"
		    "List-Post: <mailto:%s>\n"
		    "List-Help: <mailto:%s-request@%s?subject=help>\n"
		    "List-Subscribe: <mailto:%s-request@%s?subject=join>\n"
		    "List-Unsubscribe: <mailto:%s-request@%s?subject=leave>\n",
		    c->name, c->domain, c->addr, c->name, c->domain, c->name,
		    c->domain, c->name, c->domain);
	fprintf(h->f, "Precedence: list\nX-ML-Name: %s\nX-Mail-Count: %lld\n",
	    c->name, n);
	if (fclose(h->f) != 0) {
		free(h->buf);
		h->buf = NULL;
		return -1;
	}
	return 0;
}

/* whole - HEADER + "To: TO" + blank line + C's body, in a new buffer. */
static char *
whole(const struct ml_ctx *c, const struct hdr *h, const char *to,
    size_t *len_r)
{
	size_t blen, tlen = strlen(to) + 6;
	const char *body = ml_body(c, &blen);
	char *m = malloc(h->len + tlen + 1 + blen + 1);

	if (m == NULL)
		return NULL;
	memcpy(m, h->buf, h->len);
	*len_r = h->len;
	*len_r += (size_t)sprintf(m + *len_r, "To: %s\n\n", to);
	memcpy(m + *len_r, body, blen);
	*len_r += blen;
	return m;
}

/* ---- recipients ------------------------------------------------------------ */

struct rcpt {
	const char	*addr;
	const char	*domain;
};

static int
rcpt_cmp(const void *a, const void *b)
{
	const struct rcpt *x = a, *y = b;
	int r = strcasecmp(x->domain, y->domain);

	return r ? r : strcmp(x->addr, y->addr);
}

/* members - C's members into a new array (*N of them), sorted by domain
 * with packing=domain. */
static struct rcpt *
members(const struct ml_ctx *c, size_t *n)
{
	struct rcpt *r = calloc(c->members.members + 1, sizeof(*r));
	size_t i, k = 0;

	if (r == NULL)
		return NULL;
	for (i = 0; i < c->members.n; i++) {
		const struct ml_entry *m = &c->members.v[i];

		if (m->addr == NULL || m->gone)
			continue;
		r[k].addr = m->addr;
		r[k].domain = strrchr(m->addr, '@') + 1;
		k++;
	}
	if (strcasecmp(c->def.str[ML_PACKING], "domain") == 0)
		qsort(r, k, sizeof(*r), rcpt_cmp);
	*n = k;
	return r;
}

/* sender_of - the envelope sender for RCPT (NULL: the common one) into
 * OUT. */
static void
sender_of(const struct ml_ctx *c, const char *rcpt, char *out, size_t size)
{
	if (rcpt != NULL && ML.verp) {
		const char *at = strrchr(rcpt, '@');

		snprintf(out, size, "%s-bounces+%.*s=%s@%s", c->name,
		    (int)(at - rcpt), rcpt, at + 1, c->domain);
		return;
	}
	if (c->def.str[ML_RETURN_PATH][0])
		snprintf(out, size, "%s", c->def.str[ML_RETURN_PATH]);
	else
		snprintf(out, size, "%s-bounces@%s", c->name, c->domain);
}

/* send_each - one transaction per member (VERP or To: the member). */
static int
send_each(struct ml_ctx *c, const struct hdr *h, const struct rcpt *r,
    size_t n, int to_member, size_t *txns)
{
	char tag[32], from[FROM_MAX];
	size_t i, len;

	for (i = 0; i < n; i++) {
		const char *rc[1] = { r[i].addr };
		char *m = whole(c, h, to_member ? r[i].addr : c->addr, &len);
		int x;

		if (m == NULL)
			return -1;
		snprintf(tag, sizeof(tag), "d%zu", i);
		sender_of(c, r[i].addr, from, sizeof(from));
		x = ml_send(c, tag, from, rc, 1, m, len);
		free(m);
		if (x == -1)
			return -1;
		(*txns)++;
	}
	return 0;
}

/* send_chunks - the members in transactions of at most max_recipients
 * (packing domain: one domain each, members sorted by domain; even: at
 * least `split` parts as equal as they come, in file order). */
static int
send_chunks(struct ml_ctx *c, const char *m, size_t len, struct rcpt *r,
    size_t n, size_t *txns)
{
	const char **rc = calloc(n + 1, sizeof(*rc));
	size_t max = (size_t)ML.max_rcpts, i = 0, k, part = max, t = 0;
	size_t parts = 1, base = 0, extra = 0;
	int even = strcasecmp(c->def.str[ML_PACKING], "even") == 0;
	char tag[32], from[FROM_MAX];

	if (rc == NULL)
		return -1;
	sender_of(c, NULL, from, sizeof(from));
	if (even) {
		parts = (size_t)c->def.num[ML_SPLIT];
		if (parts < (n + max - 1) / max)
			parts = (n + max - 1) / max;
		if (parts > n)
			parts = n ? n : 1;
		base = n / parts;
		extra = n % parts;
	}
	while (i < n) {
		if (even)
			part = base + (t < extra);
		for (k = 0; i + k < n && k < part; k++) {
			if (!even && k > 0 && strcasecmp(r[i + k].domain,
			    r[i].domain) != 0)
				break;
			rc[k] = r[i + k].addr;
		}
		snprintf(tag, sizeof(tag), "d%zu", t);
		if (ml_send(c, tag, from, rc, k, m, len) == -1) {
			free(rc);
			return -1;
		}
		t++;
		i += k;
	}
	*txns = t;
	free(rc);
	return 0;
}

/* archive - C's post N (M, LEN bytes) into archive/; a failure is logged. */
static void
archive(struct ml_ctx *c, long long n, const char *m, size_t len)
{
	char name[32], why[ML_MSG_MAX];
	int afd;

	if (mkdirat(c->dfd, ML_ARCHIVE_DIR, 0700) == -1 && errno != EEXIST) {
		yh_log(YH_LOG_ERR, "list %s: %s/%s: %s", c->addr, c->dir,
		    ML_ARCHIVE_DIR, strerror(errno));
		return;
	}
	afd = openat(c->dfd, ML_ARCHIVE_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (afd == -1) {
		yh_log(YH_LOG_ERR, "list %s: %s/%s: %s", c->addr, c->dir,
		    ML_ARCHIVE_DIR, strerror(errno));
		return;
	}
	snprintf(name, sizeof(name), ML_ARCHIVE_FMT, n);
	if (ml_file_write(afd, name, m, len, 0600, (uid_t)-1, (gid_t)-1, why,
	    sizeof(why)) == -1)
		yh_log(YH_LOG_ERR, "list %s: %s/%s/%s: %s", c->addr, c->dir,
		    ML_ARCHIVE_DIR, name, why);
	close(afd);
}

static int
defer_post(struct ml_ctx *c, const char *why)
{
	yh_log(YH_LOG_ERR, "list %s: post %s: %s; it stays queued", c->addr,
	    c->qid, why);
	yh_dlv_reply(c->d, 451, "4.3.0", "list %s: %s", c->addr, why);
	return YH_DENYSOFT;
}

/* count_save - ml.def's count up to N (the last post distributed), under
 * the folder's lock, when it is below; a failure is logged, not fatal
 * (the store's counter is the one that numbers posts). */
static void
count_save(struct ml_ctx *c, long long n)
{
	char why[ML_MSG_MAX], num[32];
	char *data = NULL, *out = NULL;
	size_t len = 0, olen = 0;
	struct ml_def cur;
	struct ml_errs errs;
	int r;

	if (ml_lock(c->dfd) == -1) {
		yh_log(YH_LOG_ERR, "list %s: %s: lock: %s", c->addr, c->dir,
		    strerror(errno));
		return;
	}
	r = ml_file_read(c->dfd, ML_DEF_FILE, ML_DEF_FILE_MAX, &data, &len, why,
	    sizeof(why));
	if (r != 0) {
		yh_log(YH_LOG_ERR, "list %s: %s/%s: %s", c->addr, c->dir,
		    ML_DEF_FILE, r == 1 ? "gone" : why);
		return;
	}
	ml_errs_init(&errs);
	if (ml_def_init(&cur) == 0) {
		(void)ml_def_parse(&cur, ML_DEF_FILE, data, len, &errs);
		if (cur.num[ML_COUNT] < n) {
			snprintf(num, sizeof(num), "%lld", n);
			if (ml_def_edit(data, len, "count", num, &out, &olen, why,
			    sizeof(why)) == -1 || ml_file_write(c->dfd,
			    ML_DEF_FILE, out, olen, ML_FILE_MODE, (uid_t)-1,
			    (gid_t)-1, why, sizeof(why)) == -1)
				yh_log(YH_LOG_ERR, "list %s: %s/%s: count: %s",
				    c->addr, c->dir, ML_DEF_FILE, why);
		}
		ml_def_free(&cur);
	}
	ml_errs_free(&errs);
	free(out);
	free(data);
}

/* distribute - post N of C to its members. */
static int
distribute(struct ml_ctx *c, long long n)
{
	struct hdr h;
	struct rcpt *r;
	size_t nr = 0, len, txns = 0;
	char *m;
	int to_member = knum(c, ML_TO_KIND) == 0, x;

	if (build_header(c, n, &h) == -1)
		return defer_post(c, "out of memory");
	if ((m = whole(c, &h, c->addr, &len)) == NULL) {
		free(h.buf);
		return defer_post(c, "out of memory");
	}
	if (c->def.num[ML_SAVE_POSTS])
		archive(c, n, m, len);
	if ((r = members(c, &nr)) == NULL) {
		free(m);
		free(h.buf);
		return defer_post(c, "out of memory");
	}
	if (ML.verp || to_member)
		x = send_each(c, &h, r, nr, to_member, &txns);
	else
		x = send_chunks(c, m, len, r, nr, &txns);
	free(r);
	free(m);
	free(h.buf);
	if (x == -1)
		return defer_post(c, "cannot queue the copies for the members");
	count_save(c, n);
	yh_log(YH_LOG_INFO, "list %s: post %lld (%s) from <%s> distributed to "
	    "%zu members in %zu transactions", c->addr, n, c->qid, c->sender,
	    nr, txns);
	return YH_DISCARD;
}

int
ml_post(struct ml_ctx *c)
{
	char subj[SUBJ_MAX], hit[512], text[1024];
	const char *why, *ntext = NULL;
	const char *smax = yh_server_get("smtp.max_message_size");
	long long n, max = smax ? strtoll(smax, NULL, 10) : 0;

	if ((why = is_loop(c)) != NULL)
		return refuse(c, why, 0, "A message to the list was not "
		    "distributed: it was automatic mail or it came from the "
		    "list itself (a loop).\n");
	if ((why = may_post(c, &ntext)) != NULL)
		return refuse(c, why, 1, ntext);
	if (c->def.num[ML_MAX_SIZE] > 0 && (max <= 0 ||
	    c->def.num[ML_MAX_SIZE] < max))
		max = c->def.num[ML_MAX_SIZE];
	if (max > 0 && (long long)c->len > max) {
		snprintf(text, sizeof(text), "Your post is larger than the list "
		    "takes (%lld bytes).\n", max);
		return refuse(c, "too large", 1, text);
	}
	if (ml_header(c, "Subject", 0, subj, sizeof(subj)) != 1)
		subj[0] = '\0';
	if (filtered(c, subj, hit, sizeof(hit))) {
		snprintf(text, sizeof(text), "Your post was not distributed: "
		    "its subject contains \"%s\".\n", hit);
		yh_log(YH_LOG_INFO, "list %s: subject filter \"%s\"", c->addr, hit);
		return refuse(c, "subject filter", 1, text);
	}
	if (c->def.str[ML_PROGRAM][0]) {
		int r = run_program(c);

		if (r == -1)
			return defer_post(c, "the list's program did not run "
			    "to its end");
		if (r == 1)
			return refuse(c, "the list's program refused it", 0,
			    "The list's processing program refused a post.\n");
	}
	if (post_number(c, &n) == -1)
		return defer_post(c, "cannot count the post (store)");
	return distribute(c, n);
}
