/*
 * request.c - the commands mailed to NAME-request@DOMAIN (SEEDS §18.3,
 * DESIGN §11, F108, F109, F112-F114).
 *
 * Runs in the queue manager's local delivery agent as the server user
 * (ml.c's deliver hook).  Changes ml_member.csv only under the folder's
 * lock, re-read afresh (the file may have changed since ml.c read it);
 * never rewrites a member file that has bad lines (they would be lost);
 * never answers automatic mail (RFC 3834): a message with an empty
 * envelope sender, Auto-Submitted other than "no", or Precedence bulk,
 * list or junk is logged and dropped unread.
 *
 * Where commands are read: the Subject (RFC 2047 words decoded, after
 * "Re:" prefixes) when it is itself one whole command (the List-* mailto links put it there), then
 * the body, one command a line: the first text/plain part (the body
 * itself, or one level of multipart), quoted-printable and base64
 * decoded.  Blank lines and quoted lines ("> ...") are skipped; a line
 * "--" (signature marker) or STOP ends the commands; a line longer than
 * REQ_LINE_MAX is an unknown line, never cut to a command; at most
 * REQ_CMDS_MAX commands and REQ_UNKNOWN_MAX unknown lines are read (the
 * rest is someone's letter).  Words are separated by blanks; command
 * names ignore case.
 *
 * The commands (LIST = this list's name or address; a manager is the
 * envelope sender equal to ml.def's manager or admin_mail_address, or a
 * client that authenticated as the list with the post password):
 *   JOIN | SUBSCRIBE [LIST] [ADDRESS]       subscribe the sender, or ADDRESS
 *   LEAVE | UNSUBSCRIBE [LIST] [ADDRESS]    unsubscribe the sender, or ADDRESS
 *   CONFIRM COOKIE                          complete a JOIN waiting for it
 *   LIST                                    the members (manager)
 *   ARTICLE INDEX|LIST|DELETE [ALL|N|N-M|N-]  subjects of saved posts, the
 *                                 posts themselves (one multipart/digest
 *                                 message, at most REQ_ARTICLES_MAX posts
 *                                 and REQ_DIGEST_MAX bytes), or their
 *                                 deletion (manager); save_posts=1 only
 *   HELP                                    the command list
 *   STOP (or END)                           ignore the rest
 *   KEYGEN                                  a management key (manager)
 * Rules:
 * - confirm=1: a JOIN sends a confirmation to the address to subscribe
 *   (never to a requester who differs), Subject "confirm COOKIE" (128
 *   random bits, hex), kept in the store as "confirm/COOKIE" for
 *   [plugin ml] confirm_ttl; at most confirm_per_day such mails per
 *   address a day ("confirmday/ADDR", 86400 s).  "confirm COOKIE" in a
 *   Subject or a body line, from anyone holding the cookie, subscribes.
 *   confirm=0: a JOIN takes effect at once.
 * - JOIN of another address: anyone when confirm=1 (the address itself
 *   confirms), else the manager only; LEAVE of another address: the
 *   manager only.
 * - keygen_minutes > 0: KEYGEN gives the manager a key valid that long
 *   ("keygen/KEY"); the manager's LIST, ARTICLE DELETE and JOIN/LEAVE of
 *   other addresses then need a valid key among the words of the Subject.
 *   With keygen_minutes=0 KEYGEN is refused and no key is needed.
 * - forward_join / forward_leave: a JOIN / LEAVE from anyone but the
 *   manager is not executed; the request mail goes (once) to the manager
 *   (manager, else admin_mail_address) and the reply says so.
 * - One reply per message (from NAME-request@, Auto-Submitted:
 *   auto-replied) to the envelope sender, each command echoed with its
 *   result; silent=1: none (confirmations, forwards and ARTICLE LIST
 *   digests are still sent).
 * The message is then dropped (YH_DISCARD, logged); a store or file error
 * defers it (451 4.3.0) and the commands run again on the retry (each
 * mail is queued at most once per message and purpose, yh_inject_once).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "ml.h"

#define REQ_CMDS_MAX	50	/* commands read from one message */
#define REQ_UNKNOWN_MAX	5	/* unknown lines before reading stops */
#define REQ_WORDS_MAX	4	/* words of one command line */
#define REQ_LINE_MAX	1000	/* a command line (RFC 5322's line) */
#define REQ_COOKIE_LEN	32	/* hex digits of a cookie or key */
#define REQ_ARTICLES_MAX 100	/* posts in one ARTICLE LIST digest */
#define REQ_DIGEST_MAX	(10LL * 1024 * 1024)	/* bytes of one digest */
#define REQ_HEAD_MAX	65536	/* bytes of a post read for its Subject */

struct req {
	struct ml_ctx	*c;
	FILE		*out;		/* the reply's text */
	char		*text;
	size_t		 textlen;
	int		 manager;	/* the sender manages the list */
	int		 key_ok;	/* a valid KEYGEN key in the Subject */
	int		 ncmd;		/* commands run: tags of mails sent */
	int		 fail;		/* a transient error: defer */
	char		 subjcmd[REQ_LINE_MAX + 1];	/* the Subject's command */
};

/* ---- small text helpers ------------------------------------------------- */

/* same_addr - A and B the same address (local part exact, domain any case). */
static int
same_addr(const char *a, const char *b)
{
	const char *pa = strrchr(a, '@'), *pb = strrchr(b, '@');

	if (pa == NULL || pb == NULL)
		return strcasecmp(a, b) == 0;
	return pa - a == pb - b && strncmp(a, b, (size_t)(pa - a)) == 0 &&
	    strcasecmp(pa, pb) == 0;
}

/* addr_key - "WHAT/ADDR" with the domain in lower case, into OUT. */
static void
addr_key(const struct ml_ctx *c, const char *what, const char *addr,
    char *out, size_t size)
{
	char tmp[ML_ADDR_MAX + 64], *at;

	snprintf(tmp, sizeof(tmp), "%s/%s", what, addr);
	if ((at = strrchr(tmp, '@')) != NULL)
		for (; *at; at++)
			*at = (char)tolower((unsigned char)*at);
	ml_store_key(c, tmp, out, size);
}

/* random_hex - 128 random bits as 32 hex digits into OUT (33 bytes).
 * 0, or -1 when the kernel gives none. */
static int
random_hex(char *out)
{
	unsigned char rnd[REQ_COOKIE_LEN / 2];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

/* is_hex_word - W is REQ_COOKIE_LEN hex digits (lower case made). */
static int
is_hex_word(char *w)
{
	size_t i;

	if (strlen(w) != REQ_COOKIE_LEN)
		return 0;
	for (i = 0; w[i]; i++) {
		w[i] = (char)tolower((unsigned char)w[i]);
		if (!isxdigit((unsigned char)w[i]))
			return 0;
	}
	return 1;
}

/* echo - text from the mail, escaped, into the reply. */
static void
echo(struct req *r, const char *prefix, const char *s)
{
	char esc[REQ_LINE_MAX * 2];

	fprintf(r->out, "%s%s\n", prefix, yh_escape(esc, sizeof(esc), s,
	    strlen(s)));
}

/* split - S into at most MAX words (blank-separated) in W; the count, or
 * MAX + 1 when there are more.  S is changed. */
static int
split(char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return n;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* ---- the message's text --------------------------------------------------- */

/* param - parameter NAME of the header value V ("type; a=b") into OUT. */
static int
param(const char *v, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name), o = 0;
	const char *p = v;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (o + 1 < size)
					out[o++] = *p;
		} else {
			for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++)
				if (o + 1 < size)
					out[o++] = *p;
		}
		out[o] = '\0';
		return o > 0;
	}
	return 0;
}

/* field - header field NAME of the header block H (LEN bytes), unfolded,
 * into OUT (cut to SIZE).  1 found, 0 not. */
static int
field(const char *h, size_t len, const char *name, char *out, size_t size)
{
	const char *p = h, *end = h + len;
	size_t nl = strlen(name), o = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			eol = end;
		if (p == eol || (*p == '\r' && p + 1 == eol))
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			const char *v = p + nl + 1;

			for (;;) {
				for (; v < eol; v++)
					if (*v != '\r' && o + 1 < size &&
					    (o > 0 || (*v != ' ' && *v != '\t')))
						out[o++] = *v == '\t' ? ' ' : *v;
				if (eol >= end || eol + 1 >= end ||
				    (eol[1] != ' ' && eol[1] != '\t'))
					break;
				v = eol + 1;
				eol = memchr(v, '\n', (size_t)(end - v));
				if (eol == NULL)
					eol = end;
			}
			out[o] = '\0';
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* qp_decode - quoted-printable S (LEN bytes) into OUT (at least LEN
 * bytes): soft breaks joined, =XX decoded, a stray '=' kept.  The length. */
static size_t
qp_decode(const char *s, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] != '=') {
			out[o++] = s[i];
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\n') {
			i++;
			continue;
		}
		if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
			continue;
		}
		out[o++] = '=';
	}
	return o;
}

/* b64_decode - base64 S (LEN bytes) into OUT (at least LEN bytes); other
 * bytes skipped.  The length. */
static size_t
b64_decode(const char *s, size_t len, char *out)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < len; i++) {
		const char *p;

		if (s[i] == '=')
			break;
		if (s[i] == '\0' || (p = strchr(al, s[i])) == NULL)
			continue;
		acc = (acc << 6) | (unsigned)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

/* decode - S (LEN bytes) in transfer encoding CTE into a new buffer. */
static char *
decode(const char *s, size_t len, const char *cte, size_t *len_r)
{
	char *out = malloc(len + 1);

	if (out == NULL)
		return NULL;
	if (strcasecmp(cte, "quoted-printable") == 0)
		*len_r = qp_decode(s, len, out);
	else if (strcasecmp(cte, "base64") == 0)
		*len_r = b64_decode(s, len, out);
	else {
		memcpy(out, s, len);
		*len_r = len;
	}
	out[*len_r] = '\0';
	return out;
}

/* is_text - a Content-Type value CT (or none) is text/plain. */
static int
is_text(const char *ct)
{
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || strncasecmp(ct, "text/plain", 10) == 0;
}

/*
 * body_text - the text commands are read from: the body when it is
 * text/plain, else the first text/plain part of a multipart body; decoded.
 * NULL when there is none (or out of memory: *oom_r set).
 */
static char *
body_text(struct ml_ctx *c, size_t *len_r, int *oom_r)
{
	char ct[1024] = "", cte[64] = "", bnd[256], delim[260];
	const char *b, *p, *end, *h, *next;
	size_t blen, dl;
	char *t;

	*oom_r = 0;
	b = ml_body(c, &blen);
	end = b + blen;
	if (ml_header(c, "Content-Type", 0, ct, sizeof(ct)) == -1)
		return NULL;
	if (ml_header(c, "Content-Transfer-Encoding", 0, cte, sizeof(cte)) == -1)
		cte[0] = '\0';
	if (is_text(ct)) {
		if ((t = decode(b, blen, cte, len_r)) == NULL)
			*oom_r = 1;
		return t;
	}
	if (strncasecmp(ct, "multipart/", 10) != 0 ||
	    !param(ct, "boundary", bnd, sizeof(bnd)))
		return NULL;
	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", bnd);
	/* each part starts after a delimiter line */
	for (p = b; p < end; ) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			return NULL;
		if ((size_t)(eol - p) >= dl && memcmp(p, delim, dl) == 0 &&
		    (eol - p < (long)dl + 2 || p[dl] != '-' || p[dl + 1] != '-')) {
			char pct[1024] = "", pcte[64] = "";
			const char *body;

			h = eol + 1;
			(void)field(h, (size_t)(end - h), "Content-Type", pct,
			    sizeof(pct));
			(void)field(h, (size_t)(end - h),
			    "Content-Transfer-Encoding", pcte, sizeof(pcte));
			/* the part's body: after its blank line */
			for (body = h; body < end; ) {
				const char *e2 = memchr(body, '\n',
				    (size_t)(end - body));

				if (e2 == NULL)
					return NULL;
				if (body == e2 || (*body == '\r' && body + 1 == e2)) {
					body = e2 + 1;
					break;
				}
				body = e2 + 1;
			}
			/* up to the next delimiter */
			for (next = body; next < end; ) {
				const char *e3 = memchr(next, '\n',
				    (size_t)(end - next));

				if ((size_t)(end - next) >= dl &&
				    memcmp(next, delim, dl) == 0)
					break;
				if (e3 == NULL) {
					next = end;
					break;
				}
				next = e3 + 1;
			}
			if (is_text(pct) && pct[0] != '\0') {
				if ((t = decode(body, (size_t)(next - body), pcte,
				    len_r)) == NULL)
					*oom_r = 1;
				return t;
			}
			p = next;
			continue;
		}
		p = eol + 1;
	}
	return NULL;
}

/* ---- who asks ---------------------------------------------------------------- */

/* automatic - why C's message must not be answered (RFC 3834), or NULL. */
static const char *
automatic(struct ml_ctx *c)
{
	char v[256];

	if (c->sender[0] == '\0')
		return "empty envelope sender";
	if (ml_header(c, "Auto-Submitted", 0, v, sizeof(v)) != 0) {
		size_t n = strcspn(v, " \t;(");

		if (n != 2 || strncasecmp(v, "no", 2) != 0)
			return "Auto-Submitted";
	}
	if (ml_header(c, "Precedence", 0, v, sizeof(v)) != 0) {
		size_t n = strcspn(v, " \t;");

		if ((n == 4 && (strncasecmp(v, "bulk", 4) == 0 ||
		    strncasecmp(v, "list", 4) == 0 || strncasecmp(v, "junk", 4) == 0)))
			return "Precedence";
	}
	return NULL;
}

/* manager_addr - where the manager is reached: manager, else admin. */
static const char *
manager_addr(const struct ml_ctx *c)
{
	return c->def.str[ML_MANAGER][0] ? c->def.str[ML_MANAGER] : c->admin;
}

/* find_key - 1 when a word of SUBJECT is a live KEYGEN key. */
static int
find_key(struct ml_ctx *c, const char *subject)
{
	char buf[REQ_LINE_MAX + 1], key[ML_KEY_MAX + YH_ACCOUNT_MAX + 64];
	char what[16 + REQ_COOKIE_LEN], *w;
	size_t len;

	snprintf(buf, sizeof(buf), "%s", subject);
	for (w = strtok(buf, " \t[]():,;<>\"'"); w; w = strtok(NULL,
	    " \t[]():,;<>\"'")) {
		if (!is_hex_word(w))
			continue;
		snprintf(what, sizeof(what), "keygen/%s", w);
		ml_store_key(c, what, key, sizeof(key));
		len = 0;
		if (yh_store_get(key, NULL, &len) == 1)
			return 1;
	}
	return 0;
}

/* need_manager - 1 when R may run a manager's command; else the refusal
 * is written and 0. */
static int
need_manager(struct req *r, const char *what)
{
	if (!r->manager) {
		fprintf(r->out, "refused: only the list's manager may %s\n", what);
		return 0;
	}
	if (r->c->def.num[ML_KEYGEN_MINUTES] > 0 && !r->key_ok) {
		fprintf(r->out, "refused: %s needs a valid key (KEYGEN) in the "
		    "Subject:\n", what);
		return 0;
	}
	return 1;
}

/* this_list - W names this list. */
static int
this_list(const struct ml_ctx *c, const char *w)
{
	return strcasecmp(w, c->name) == 0 || strcasecmp(w, c->addr) == 0 ||
	    strcasecmp(w, c->account) == 0;
}

/* ---- membership ---------------------------------------------------------------- */

/* edit - ml_members_edit for a command, its result in R's reply. */
static void
edit(struct req *r, const char *addr, int add)
{
	const char *why = NULL;

	switch (ml_members_edit(r->c, addr, add, &why)) {
	case 1:
		fprintf(r->out, "%s %s the list\n", addr, add ? "joined" : "left");
		break;
	case 0:
		fprintf(r->out, "%s %s a member; nothing changed\n", addr,
		    add ? "is already" : "is not");
		break;
	case -2:
		fprintf(r->out, "failed: %s\n", why);
		break;
	default:
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
	}
}

/* forward - the request goes to the manager instead (forward_join/leave). */
static void
forward(struct req *r, const char *what)
{
	struct ml_ctx *c = r->c;
	const char *rcpts[1] = { manager_addr(c) };
	char tag[32];

	snprintf(tag, sizeof(tag), "forward-%s", what);
	if (ml_send(c, tag, "", rcpts, 1, c->msg, c->len) == -1) {
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
		return;
	}
	yh_log(YH_LOG_INFO, "list %s: %s request from <%s> forwarded to <%s>",
	    c->addr, what, c->sender, rcpts[0]);
	fprintf(r->out, "your request was passed to the list's manager\n");
}

/* send_confirm - confirm=1: ask ADDR to confirm its JOIN. */
static void
send_confirm(struct req *r, const char *addr)
{
	struct ml_ctx *c = r->c;
	char key[ML_ADDR_MAX + YH_ACCOUNT_MAX + 64], cookie[REQ_COOKIE_LEN + 1];
	char what[16 + REQ_COOKIE_LEN], subject[64], tag[32], *text = NULL;
	long long n;
	size_t tl;
	FILE *f;

	addr_key(c, "confirmday", addr, key, sizeof(key));
	if (yh_store_incr(key, 1, 86400, &n) == -1 || random_hex(cookie) == -1) {
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
		return;
	}
	if (n > ML.confirm_per_day) {
		yh_log(YH_LOG_WARN, "list %s: no confirmation to <%s>: %lld today",
		    c->addr, addr, n - 1);
		fprintf(r->out, "refused: %s has been sent %lld confirmation "
		    "requests today, the most allowed; try again tomorrow\n", addr,
		    ML.confirm_per_day);
		return;
	}
	snprintf(what, sizeof(what), "confirm/%s", cookie);
	ml_store_key(c, what, key, sizeof(key));
	if (yh_store_put(key, addr, strlen(addr), ML.confirm_ttl) == -1 ||
	    (f = open_memstream(&text, &tl)) == NULL) {
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
		return;
	}
	fprintf(f, "Someone (<%s>) asked to subscribe %s to the mailing list "
	    "%s.\n\nTo confirm, reply to this message keeping its Subject, or "
	    "send a message to %s-request@%s whose Subject or body says:\n\n"
	    "    confirm %s\n\nThis request is valid for %lld hours.  If you "
	    "did not ask for it, ignore this message: nothing happens.\n",
	    c->sender, addr, c->addr, c->name, c->domain, cookie,
	    (ML.confirm_ttl + 3599) / 3600);
	fclose(f);
	snprintf(subject, sizeof(subject), "confirm %s", cookie);
	snprintf(tag, sizeof(tag), "confirm-%d", r->ncmd);
	if (text == NULL || ml_notice(c, tag, addr, subject, text) == -1) {
		free(text);
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
		return;
	}
	free(text);
	yh_log(YH_LOG_INFO, "list %s: confirmation for <%s> asked by <%s> sent",
	    c->addr, addr, c->sender);
	fprintf(r->out, "a confirmation request was sent to %s; the address "
	    "joins when it answers\n", addr);
}

/* cmd_member - JOIN/SUBSCRIBE (ADD 1), LEAVE/UNSUBSCRIBE (ADD 0). */
static void
cmd_member(struct req *r, char **w, int n, int add)
{
	struct ml_ctx *c = r->c;
	const char *addr = c->sender, *why;
	int other;
	size_t l;

	/* ADDRESS may be written <addr> */
	if (n > 0 && w[n - 1][0] == '<' && (l = strlen(w[n - 1])) > 2 &&
	    w[n - 1][l - 1] == '>') {
		w[n - 1][l - 1] = '\0';
		w[n - 1]++;
	}
	if (n == 1 && strchr(w[0], '@') != NULL && !this_list(c, w[0]))
		addr = w[0];
	else if (n == 1 && !this_list(c, w[0])) {
		echo(r, "failed: no such list here: ", w[0]);
		fprintf(r->out, "(this is %s)\n", c->addr);
		return;
	} else if (n == 2) {
		if (!this_list(c, w[0])) {
			echo(r, "failed: no such list here: ", w[0]);
			fprintf(r->out, "(this is %s)\n", c->addr);
			return;
		}
		addr = w[1];
	} else if (n > 2) {
		fprintf(r->out, "failed: too many words; the forms are %s, "
		    "%s LIST and %s LIST ADDRESS\n", add ? "JOIN" : "LEAVE",
		    add ? "JOIN" : "LEAVE", add ? "JOIN" : "LEAVE");
		return;
	}
	if (ml_addr_check(addr, &why) != 1) {
		echo(r, "failed: not a usable address: ", addr);
		return;
	}
	other = !same_addr(addr, c->sender);
	if (add ? c->def.num[ML_FORWARD_JOIN] : c->def.num[ML_FORWARD_LEAVE]) {
		if (!r->manager) {
			forward(r, add ? "join" : "leave");
			return;
		}
	}
	if (other && (!add || !c->def.num[ML_CONFIRM] ||
	    c->def.num[ML_KEYGEN_MINUTES] > 0) && !need_manager(r, add ?
	    "subscribe another address" : "unsubscribe another address"))
		return;
	if (add && c->def.num[ML_CONFIRM]) {
		if (ml_list_find(&c->members, addr) >= 0) {
			fprintf(r->out, "%s is already a member; nothing changed\n",
			    addr);
			return;
		}
		send_confirm(r, addr);
		return;
	}
	edit(r, addr, add);
}

/* cmd_confirm - CONFIRM COOKIE. */
static void
cmd_confirm(struct req *r, char **w, int n)
{
	struct ml_ctx *c = r->c;
	char key[ML_KEY_MAX + YH_ACCOUNT_MAX + 64], what[16 + REQ_COOKIE_LEN];
	char addr[ML_ADDR_MAX + 1];
	size_t len = sizeof(addr) - 1;
	int g;

	if (n != 1 || !is_hex_word(w[0])) {
		fprintf(r->out, "failed: the form is CONFIRM COOKIE (the %d hex "
		    "digits of the confirmation request)\n", REQ_COOKIE_LEN);
		return;
	}
	snprintf(what, sizeof(what), "confirm/%s", w[0]);
	ml_store_key(c, what, key, sizeof(key));
	if ((g = yh_store_get(key, addr, &len)) == -1) {
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
		return;
	}
	if (g == 0 || len >= sizeof(addr)) {
		yh_log(YH_LOG_INFO, "list %s: unknown or expired confirmation "
		    "from <%s>", c->addr, c->sender);
		fprintf(r->out, "failed: unknown or expired confirmation; send "
		    "JOIN again\n");
		return;
	}
	addr[len] = '\0';
	edit(r, addr, 1);
	if (!r->fail)
		(void)yh_store_del(key);
}

/* cmd_list - LIST: the members (manager). */
static void
cmd_list(struct req *r, int n)
{
	const struct ml_list *l = &r->c->members;
	size_t i;

	if (n != 0) {
		fprintf(r->out, "failed: LIST takes no argument\n");
		return;
	}
	if (!need_manager(r, "see the member list"))
		return;
	fprintf(r->out, "%zu member%s:\n", l->members, l->members == 1 ? "" : "s");
	for (i = 0; i < l->n; i++)
		if (l->v[i].addr != NULL && !l->v[i].gone)
			fprintf(r->out, "  %s\n", l->v[i].addr);
}

/* ---- the archive ---------------------------------------------------------------- */

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * parse_range - "ALL" or nothing, "N", "N-M", "N-" into *LO and *HI.
 * 0, or -1 with the reason written to R.
 */
static int
parse_range(struct req *r, const char *s, long long *lo, long long *hi)
{
	char *e;

	*lo = 0;
	*hi = LLONG_MAX;
	if (s == NULL || strcasecmp(s, "ALL") == 0)
		return 0;
	if (!isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	*lo = strtoll(s, &e, 10);
	if (errno != 0)
		goto bad;
	if (*e == '\0') {
		*hi = *lo;
		return 0;
	}
	if (*e != '-')
		goto bad;
	if (e[1] == '\0')
		return 0;
	s = e + 1;
	if (!isdigit((unsigned char)*s))
		goto bad;
	*hi = strtoll(s, &e, 10);
	if (errno != 0 || *e != '\0')
		goto bad;
	if (*lo > *hi) {
		fprintf(r->out, "failed: bad range %lld-%lld: the first number is "
		    "larger than the last\n", *lo, *hi);
		return -1;
	}
	return 0;
bad:
	echo(r, "failed: not a range (ALL, N, N-M or N-): ", s);
	return -1;
}

/*
 * archive_list - the numbers of the saved posts within LO..HI, sorted,
 * into *V (owned) and *N.  0, or -1 (logged).
 */
static int
archive_list(struct ml_ctx *c, long long lo, long long hi, long long **v,
    size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int fd;

	*v = NULL;
	*n = 0;
	fd = openat(c->dfd, ML_ARCHIVE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *p = de->d_name;
		long long x;

		if (strlen(p) < 6 || strlen(p) > 18 || strspn(p, "0123456789") !=
		    strlen(p))
			continue;
		x = strtoll(p, NULL, 10);
		if (x < lo || x > hi)
			continue;
		if (*n == cap) {
			long long *nv = realloc(*v, (cap ? cap * 2 : 64) * sizeof(**v));

			if (nv == NULL) {
				closedir(d);
				free(*v);
				*v = NULL;
				return -1;
			}
			*v = nv;
			cap = cap ? cap * 2 : 64;
		}
		(*v)[(*n)++] = x;
	}
	closedir(d);
	if (*n > 0)
		qsort(*v, *n, sizeof(**v), cmp_ll);
	return 0;
}

/* article_path - "archive/NUMBER" into OUT. */
static void
article_path(long long x, char *out, size_t size)
{
	char num[32];

	snprintf(num, sizeof(num), ML_ARCHIVE_FMT, x);
	snprintf(out, size, "%s/%s", ML_ARCHIVE_DIR, num);
}

/* article_read - post X (a regular file), its first MAX bytes at most. */
static char *
article_read(struct ml_ctx *c, long long x, size_t max, size_t *len_r)
{
	char path[64], *buf;
	struct stat st;
	ssize_t k;
	size_t o = 0;
	int fd;

	article_path(x, path, sizeof(path));
	if ((fd = openat(c->dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	if ((unsigned long long)st.st_size < max)
		max = (size_t)st.st_size;
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (o < max && (k = read(fd, buf + o, max - o)) > 0)
		o += (size_t)k;
	close(fd);
	buf[o] = '\0';
	*len_r = o;
	return buf;
}

/* article_digest - ARTICLE LIST: the posts V[0..N) in one multipart/digest
 * message to the sender. */
static void
article_digest(struct req *r, const long long *v, size_t n)
{
	struct ml_ctx *c = r->c;
	char bounces[sizeof(c->addr) + 16], bnd[64], tag[32];
	const char *rcpts[1] = { c->sender };
	char *msg = NULL, *a, date[64];
	size_t len = 0, alen, i, sent = 0;
	struct tm tm;
	time_t now;
	long long total = 0;
	FILE *f;

	if ((f = open_memstream(&msg, &len)) == NULL) {
		r->fail = 1;
		return;
	}
	snprintf(bounces, sizeof(bounces), "%s-bounces@%s", c->name, c->domain);
	snprintf(bnd, sizeof(bnd), "=_%s_digest_%d", c->qid, r->ncmd);
	now = (time_t)yh_now();
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	fprintf(f, "From: %s-request@%s\nTo: %s\nSubject: %s: saved posts\n"
	    "Date: %s\nMessage-ID: <%s.digest%d.%s@%s>\n"
	    "Auto-Submitted: auto-replied\nPrecedence: list\nList-Id: <%s.%s>\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=\"%s\"\n"
	    "\nSaved posts of %s.\n", c->name, c->domain, c->sender, c->addr,
	    date, c->qid, r->ncmd, c->name, c->domain, c->name, c->domain, bnd,
	    c->addr);
	for (i = 0; i < n && sent < REQ_ARTICLES_MAX; i++) {
		if ((a = article_read(c, v[i], (size_t)REQ_DIGEST_MAX + 1,
		    &alen)) == NULL)
			continue;
		if (alen > (size_t)REQ_DIGEST_MAX) {
			free(a);
			fprintf(r->out, "post %lld is larger than %lld bytes: not "
			    "sent\n", v[i], REQ_DIGEST_MAX);
			continue;
		}
		if (total + (long long)alen > REQ_DIGEST_MAX && sent > 0) {
			free(a);
			break;
		}
		fprintf(f, "\n--%s\n\n", bnd);
		fwrite(a, 1, alen, f);
		if (alen > 0 && a[alen - 1] != '\n')
			fputc('\n', f);
		total += (long long)alen;
		sent++;
		free(a);
	}
	fprintf(f, "\n--%s--\n", bnd);
	if (fclose(f) != 0) {
		free(msg);
		r->fail = 1;
		return;
	}
	snprintf(tag, sizeof(tag), "article-%d", r->ncmd);
	if (sent > 0 && ml_send(c, tag, bounces, rcpts, 1, msg, len) == -1) {
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
	} else if (sent > 0) {
		fprintf(r->out, "%zu post%s sent in a separate message\n", sent,
		    sent == 1 ? "" : "s");
		if (sent < n)
			fprintf(r->out, "(%zu more not sent: at most %d posts or "
			    "%lld bytes at once; ask for a smaller range)\n",
			    n - sent, REQ_ARTICLES_MAX, REQ_DIGEST_MAX);
	} else
		fprintf(r->out, "failed: the saved posts cannot be read\n");
	free(msg);
}

/* cmd_article - ARTICLE INDEX|LIST|DELETE [RANGE]. */
static void
cmd_article(struct req *r, char **w, int n)
{
	struct ml_ctx *c = r->c;
	long long lo, hi, *v;
	size_t nv, i, deleted = 0;
	char path[64];

	if (n < 1 || n > 2 || (strcasecmp(w[0], "INDEX") != 0 &&
	    strcasecmp(w[0], "LIST") != 0 && strcasecmp(w[0], "DELETE") != 0)) {
		fprintf(r->out, "failed: the forms are ARTICLE INDEX, ARTICLE LIST "
		    "and ARTICLE DELETE, each with ALL, N, N-M or N-\n");
		return;
	}
	if (!c->def.num[ML_SAVE_POSTS]) {
		fprintf(r->out, "failed: this list keeps no posts (save_posts=0)\n");
		return;
	}
	if (parse_range(r, n == 2 ? w[1] : NULL, &lo, &hi) == -1)
		return;
	if (strcasecmp(w[0], "DELETE") == 0 && !need_manager(r, "delete posts"))
		return;
	if (archive_list(c, lo, hi, &v, &nv) == -1) {
		yh_log(YH_LOG_ERR, "list %s: %s/%s: %s", c->addr, c->dir,
		    ML_ARCHIVE_DIR, strerror(errno));
		fprintf(r->out, "failed: the archive cannot be read\n");
		return;
	}
	if (nv == 0) {
		fprintf(r->out, "no saved posts in that range\n");
		free(v);
		return;
	}
	if (strcasecmp(w[0], "INDEX") == 0) {
		for (i = 0; i < nv; i++) {
			char subj[256] = "", esc[512], *a;
			size_t alen;

			if ((a = article_read(c, v[i], REQ_HEAD_MAX, &alen)) != NULL)
				(void)field(a, alen, "Subject", subj, sizeof(subj));
			free(a);
			fprintf(r->out, "%lld  %s\n", v[i], yh_escape(esc,
			    sizeof(esc), subj, strlen(subj)));
		}
	} else if (strcasecmp(w[0], "LIST") == 0)
		article_digest(r, v, nv);
	else {
		for (i = 0; i < nv; i++) {
			article_path(v[i], path, sizeof(path));
			if (unlinkat(c->dfd, path, 0) == 0)
				deleted++;
		}
		yh_log(YH_LOG_INFO, "list %s: %zu saved posts deleted by <%s>",
		    c->addr, deleted, c->sender);
		fprintf(r->out, "%zu post%s deleted\n", deleted,
		    deleted == 1 ? "" : "s");
	}
	free(v);
}

/* cmd_keygen - KEYGEN: a management key for the manager. */
static void
cmd_keygen(struct req *r, int n)
{
	struct ml_ctx *c = r->c;
	char key[ML_KEY_MAX + YH_ACCOUNT_MAX + 64], what[16 + REQ_COOKIE_LEN];
	char k[REQ_COOKIE_LEN + 1];
	long long min = c->def.num[ML_KEYGEN_MINUTES];

	if (n != 0) {
		fprintf(r->out, "failed: KEYGEN takes no argument\n");
		return;
	}
	if (!r->manager) {
		fprintf(r->out, "refused: only the list's manager may make a key\n");
		return;
	}
	if (min == 0) {
		fprintf(r->out, "failed: this list uses no keys (keygen_minutes=0)\n");
		return;
	}
	if (random_hex(k) == -1) {
		r->fail = 1;
		return;
	}
	snprintf(what, sizeof(what), "keygen/%s", k);
	ml_store_key(c, what, key, sizeof(key));
	if (yh_store_put(key, "1", 1, min * 60) == -1) {
		r->fail = 1;
		fprintf(r->out, "failed for now; it will be tried again\n");
		return;
	}
	yh_log(YH_LOG_INFO, "list %s: key made for <%s>, valid %lld minutes",
	    c->addr, c->sender, min);
	fprintf(r->out, "your key, valid for %lld minutes: %s\nput it in the "
	    "Subject: of your LIST, ARTICLE DELETE and JOIN/LEAVE requests\n",
	    min, k);
}

static void
cmd_help(struct req *r)
{
	struct ml_ctx *c = r->c;

	fprintf(r->out, "Commands for %s, one a line in the body of a message "
	    "to %s-request@%s\n(or as its Subject):\n"
	    "  JOIN [LIST] [ADDRESS]     subscribe yourself, or ADDRESS\n"
	    "  LEAVE [LIST] [ADDRESS]    unsubscribe yourself, or ADDRESS "
	    "(another: manager)\n"
	    "  SUBSCRIBE, UNSUBSCRIBE    the same as JOIN, LEAVE\n"
	    "  CONFIRM COOKIE            answer a confirmation request\n"
	    "  LIST                      the members (manager)\n"
	    "  ARTICLE INDEX [RANGE]     subjects of saved posts\n"
	    "  ARTICLE LIST [RANGE]      the saved posts\n"
	    "  ARTICLE DELETE [RANGE]    delete saved posts (manager)\n"
	    "                            RANGE: ALL, N, N-M or N-\n"
	    "  KEYGEN                    a management key (manager)\n"
	    "  HELP                      this text\n"
	    "  STOP                      ignore the rest of the message\n",
	    c->addr, c->name, c->domain);
}

/* ---- reading the commands ---------------------------------------------------- */

enum { CMD_UNKNOWN, CMD_DONE, CMD_STOP };

static const char *const cmd_names[] = { "JOIN", "SUBSCRIBE", "LEAVE",
    "UNSUBSCRIBE", "CONFIRM", "LIST", "ARTICLE", "HELP", "KEYGEN", "STOP",
    "END", NULL };

/* known - W is the name of a command. */
static int
known(const char *w)
{
	int i;

	for (i = 0; cmd_names[i]; i++)
		if (strcasecmp(w, cmd_names[i]) == 0)
			return 1;
	return 0;
}

/* command - run the words W[0..N) (N >= 1).  CMD_DONE, CMD_STOP, or
 * CMD_UNKNOWN when W[0] is no command (nothing written). */
static int
command(struct req *r, char **w, int n)
{
	const char *v = w[0];

	if (strcasecmp(v, "JOIN") == 0 || strcasecmp(v, "SUBSCRIBE") == 0)
		cmd_member(r, w + 1, n - 1, 1);
	else if (strcasecmp(v, "LEAVE") == 0 || strcasecmp(v, "UNSUBSCRIBE") == 0)
		cmd_member(r, w + 1, n - 1, 0);
	else if (strcasecmp(v, "CONFIRM") == 0)
		cmd_confirm(r, w + 1, n - 1);
	else if (strcasecmp(v, "LIST") == 0)
		cmd_list(r, n - 1);
	else if (strcasecmp(v, "ARTICLE") == 0)
		cmd_article(r, w + 1, n - 1);
	else if (strcasecmp(v, "HELP") == 0)
		cmd_help(r);
	else if (strcasecmp(v, "KEYGEN") == 0)
		cmd_keygen(r, n - 1);
	else if (strcasecmp(v, "STOP") == 0 || strcasecmp(v, "END") == 0)
		return CMD_STOP;
	else
		return CMD_UNKNOWN;
	return CMD_DONE;
}

/* subject_command - the Subject of C's message as a command line (after
 * "Re:" prefixes) into OUT when it is one whole command; else OUT "". */
static void
subject_command(struct ml_ctx *c, char *out, size_t size)
{
	char raw[REQ_LINE_MAX + 1], s[REQ_LINE_MAX + 1], t[REQ_LINE_MAX + 1];
	char *p, *w[REQ_WORDS_MAX];
	int n, i;

	out[0] = '\0';
	if (ml_header(c, "Subject", 0, raw, sizeof(raw)) != 1)
		return;
	/* "=?UTF-8?B?am9pbg==?=" is a JOIN too: mail programs encode */
	(void)yh_subject_utf8(raw, s, sizeof(s));
	for (p = s;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "re:", 3) == 0 || strncasecmp(p, "aw:", 3) == 0)
			p += 3;
		else
			break;
	}
	snprintf(t, sizeof(t), "%s", p);
	n = split(t, w, REQ_WORDS_MAX);
	if (n < 1 || n > REQ_WORDS_MAX)
		return;
	if (strcasecmp(w[0], "JOIN") == 0 || strcasecmp(w[0], "SUBSCRIBE") == 0 ||
	    strcasecmp(w[0], "LEAVE") == 0 || strcasecmp(w[0], "UNSUBSCRIBE") == 0) {
		if (n > 3)
			return;
		for (i = 1; i < n; i++)
			if (!this_list(c, w[i]) && strchr(w[i], '@') == NULL)
				return;
	} else if (strcasecmp(w[0], "CONFIRM") == 0) {
		if (n != 2 || !is_hex_word(w[1]))
			return;
	} else if (strcasecmp(w[0], "ARTICLE") == 0) {
		if (n < 2 || n > 3 || (strcasecmp(w[1], "INDEX") != 0 &&
		    strcasecmp(w[1], "LIST") != 0 && strcasecmp(w[1], "DELETE") != 0))
			return;
	} else if (strcasecmp(w[0], "LIST") != 0 && strcasecmp(w[0], "HELP") != 0 &&
	    strcasecmp(w[0], "KEYGEN") != 0)
		return;
	else if (n != 1)
		return;
	snprintf(out, size, "%s", p);
}

/* run_line - one command line LINE (NUL-terminated, trimmed, non-empty).
 * CMD_* as command(); a line with too many words is CMD_DONE (reported). */
static int
run_line(struct req *r, const char *line)
{
	char buf[REQ_LINE_MAX + 1], *w[REQ_WORDS_MAX];
	int n, k;

	snprintf(buf, sizeof(buf), "%s", line);
	n = split(buf, w, REQ_WORDS_MAX);
	if (n < 1)
		return CMD_DONE;
	echo(r, "> ", line);
	if (n > REQ_WORDS_MAX) {
		if (!known(w[0]))
			return CMD_UNKNOWN;
		fprintf(r->out, "failed: too many words\n\n");
		r->ncmd++;
		return CMD_DONE;
	}
	k = command(r, w, n);
	if (k == CMD_UNKNOWN)
		return k;
	r->ncmd++;
	if (k != CMD_STOP)
		fprintf(r->out, "\n");
	return k;
}

/*
 * run_body - the command lines of TEXT (LEN bytes) in order.
 */
static void
run_body(struct req *r, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	char line[REQ_LINE_MAX + 1];
	int unknown = 0, cmds = 0, k;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *s = p;
		size_t n, b = 0;

		if (eol == NULL)
			eol = end;
		n = (size_t)(eol - p);
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
		    p[n - 1] == '\t'))
			n--;
		while (b < n && (p[b] == ' ' || p[b] == '\t'))
			b++;
		p = eol + 1;
		if (n - b > REQ_LINE_MAX) {	/* no command is that long */
			fprintf(r->out, "> (a line of %zu bytes)\nunknown "
			    "command (HELP lists them)\n\n", n - b);
			if (++unknown >= REQ_UNKNOWN_MAX)
				break;
			continue;
		}
		memcpy(line, s + b, n - b);
		line[n - b] = '\0';
		if (line[0] == '\0' || line[0] == '>')
			continue;
		if (strcmp(line, "--") == 0 || strcmp(line, "__") == 0)
			break;
		if (r->subjcmd[0] != '\0' && strcasecmp(line, r->subjcmd) == 0)
			continue;	/* the Subject's command, already run */
		if ((k = run_line(r, line)) == CMD_STOP) {
			fprintf(r->out, "the rest is ignored\n\n");
			break;
		}
		if (k == CMD_UNKNOWN) {
			fprintf(r->out, "unknown command (HELP lists them)\n\n");
			if (++unknown >= REQ_UNKNOWN_MAX) {
				fprintf(r->out, "too many unknown lines; the rest "
				    "is ignored\n\n");
				break;
			}
		}
		if (++cmds >= REQ_CMDS_MAX) {
			fprintf(r->out, "at most %d commands are read from one "
			    "message; the rest is ignored\n\n", REQ_CMDS_MAX);
			break;
		}
		if (r->fail)
			break;
	}
}

int
ml_request(struct ml_ctx *c)
{
	struct req r;
	const char *why, *auth;
	char subject[REQ_LINE_MAX + 1] = "", raw[REQ_LINE_MAX + 1], esc[600];
	size_t tlen;
	char *text;
	int oom;

	if ((why = automatic(c)) != NULL) {
		yh_log(YH_LOG_INFO, "list %s: request from <%s> not answered (%s); "
		    "dropped", c->addr, yh_escape(esc, sizeof(esc), c->sender,
		    strlen(c->sender)), why);
		return YH_DISCARD;
	}
	memset(&r, 0, sizeof(r));
	r.c = c;
	auth = yh_dlv_auth_user(c->d);
	r.manager = same_addr(c->sender, c->admin) ||
	    (c->def.str[ML_MANAGER][0] && same_addr(c->sender,
	    c->def.str[ML_MANAGER])) || (auth != NULL && auth[0] != '\0' &&
	    (strcasecmp(auth, c->account) == 0 || strcasecmp(auth, c->name) == 0));
	if (ml_header(c, "Subject", 0, raw, sizeof(raw)) != 1)
		raw[0] = '\0';
	(void)yh_subject_utf8(raw, subject, sizeof(subject));
	if (r.manager && c->def.num[ML_KEYGEN_MINUTES] > 0)
		r.key_ok = find_key(c, subject);
	if ((r.out = open_memstream(&r.text, &r.textlen)) == NULL)
		goto transient;
	fprintf(r.out, "Results of your commands to %s-request@%s:\n\n", c->name,
	    c->domain);
	subject_command(c, r.subjcmd, sizeof(r.subjcmd));
	if (r.subjcmd[0] != '\0')
		(void)run_line(&r, r.subjcmd);
	if (!r.fail) {
		text = body_text(c, &tlen, &oom);
		if (oom) {
			fclose(r.out);
			free(r.text);
			goto transient;
		}
		if (text != NULL)
			run_body(&r, text, tlen);
		else if (r.subjcmd[0] == '\0')
			fprintf(r.out, "no text/plain body found: write the "
			    "commands as plain text\n\n");
		free(text);
	}
	if (r.ncmd == 0 && !r.fail)
		fprintf(r.out, "no command found (HELP lists them)\n");
	if (fclose(r.out) != 0) {
		free(r.text);
		goto transient;
	}
	if (r.fail) {
		free(r.text);
		goto transient;
	}
	if (c->def.num[ML_SILENT])
		yh_log(YH_LOG_INFO, "list %s: %d commands from <%s>; no reply "
		    "(silent)", c->addr, r.ncmd, c->sender);
	else if (ml_notice(c, "reply", c->sender, subject[0] ?
	    "Re: your commands" : "Results of your commands", r.text) == -1) {
		free(r.text);
		goto transient;
	} else
		yh_log(YH_LOG_INFO, "list %s: %d commands from <%s> answered",
		    c->addr, r.ncmd, c->sender);
	free(r.text);
	return YH_DISCARD;
transient:
	yh_log(YH_LOG_ERR, "list %s: commands from <%s> deferred", c->addr,
	    c->sender);
	yh_dlv_reply(c->d, 451, "4.3.0", "list %s: cannot process the commands "
	    "now", c->addr);
	return YH_DENYSOFT;
}
