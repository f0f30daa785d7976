/*
 * autoreply - vacation / auto-reply per account (SEEDS.md §15, issue 8,
 * F083-F085).
 *
 * Two sources in the account folder MAILBOX/ACCOUNT:
 *
 *  - Wiz98 reply.def in its seed form (§15.1): bin = the send tool,
 *    param1=TO_ADDRESS (the reply's From), param2=FROM_ADDRESS (its
 *    recipient), param3=-sb, param4=SUBJECT_BODY_FILE, optionally
 *    param5=-onlyonce param6=RECORD_FILE.  Done in-process.  A Windows
 *    path (C:\...\user1\reply.sab) names that file in the account folder;
 *    a relative path is relative to it.  The record file keeps
 *    "from,to" lines under flock, as yubin-sendmail -onlyonce does.
 *  - E-Post IMS.CTL [AutoReply] (§15.2) with AUTORPLY.TXT (the text, in
 *    UTF-8, ISO-2022-JP or Shift_JIS, sent with that MIME charset),
 *    NOREPLY.TXT (addresses and *@domain never answered), and the keys
 *	Enable=Yes|No  Subject=  ReplyFrom=  ReplyTo=  EchoMessage=Yes
 *	StripHeader=Yes (the echoed message without its header, its Content-*
 *	fields kept so it stays readable)  RecordReplies=Yes (REPLIED.TXT)
 *	NoRepeat=Yes (answered senders go into NOREPLY.TXT)
 *	Program=PROGRAM [ARG ...] (see PROGRAM below)
 *    and [Delivery] Discard=Yes (no local copy).
 *
 * PROGRAM: with [AutoReply] enabled, Program= runs on every mail the
 * account gets (after the reply is queued, whether or not one was sent:
 * the RFC 3834 rules are about replies), exactly like an exec.def program
 * -- yh_spawn, so no shell, the bin= form (a "quoted path" may hold
 * spaces), FROM_ADDRESS, TO_ADDRESS, SUBJECT and MAILFILE_PATH arguments,
 * the clean environment, the account folder as working folder, the
 * output to the log, application_cooperation_wait_for_apl_end, and
 * [plugin autoreply] program_timeout (60s), program_path
 * (/usr/local/bin:/usr/bin:/bin, where a bare name is looked up).
 *
 * NEVER ANSWERED (RFC 3834 §2 and what vacation responders do): <>;
 * Auto-Submitted other than "no"; Precedence bulk, list or junk; List-Id
 * or List-Unsubscribe; MAILER-DAEMON, owner-*, *-request senders; the
 * account's own address; NOREPLY.TXT.  At most one reply per sender and
 * account per [plugin autoreply] period (default 7 days; 0 = no such
 * limit), kept in the plugin store (LMDB) with that TTL.
 *
 * THE REPLY: envelope sender <> (so it never bounces back), To the
 * envelope sender, Auto-Submitted: auto-replied, In-Reply-To/References of
 * the original, Date, Message-ID, MIME headers; a non-ASCII subject is RFC
 * 2047-encoded.  Queued with yh_inject.
 *
 * WHEN: `delivered` after the exec chain and forwarding (server.plugins =
 * "exec forward autoreply"); with no local copy kept it runs in `deliver`
 * and, being last of forward/autoreply, drops the copy (see forward.c),
 * unless forward says it was not forwarded (delivery note "forward").
 *
 * SECURITY: every user file is read with yh_read_safe, refused when it is
 * a symlink, not a regular file, writable by group or others, or not owned
 * by root or the server user, so a reply can never carry a file the user
 * did not put there.
 */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "lib/plugutil.h"

#define AR_FILE_MAX	(1 << 20)	/* text files, lists, IMS.CTL */
#define AR_MSG_MAX	(16LL << 20)	/* an echoed message */
#define AR_ADDR_MAX	320
#define AR_DEFAULT_PERIOD (7LL * 86400)

#define AR_PROGRAM_MAX	4096		/* an IMS.CTL Program= command */

/* the running generation's settings */
struct ar_conf {
	long long	 period;		/* seconds; 0: reply every time */
	long long	 program_timeout_ms;
	char		 program_path[1024];
};
static struct ar_conf AR = { AR_DEFAULT_PERIOD, 60000, "" };

/* a growable string; out of memory sets .bad and later appends do nothing */
struct str {
	char	*p;
	size_t	 len, cap;
	int	 bad;
};

static void
s_add(struct str *s, const void *p, size_t n)
{
	if (s->bad)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = (s->cap ? s->cap * 2 : 1024);
		char *np;

		while (cap < s->len + n + 1)
			cap *= 2;
		if ((np = realloc(s->p, cap)) == NULL) {
			s->bad = 1;
			return;
		}
		s->p = np;
		s->cap = cap;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void
s_puts(struct str *s, const char *p)
{
	s_add(s, p, strlen(p));
}

static void
s_printf(struct str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_printf(struct str *s, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		s_add(s, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n >= 0 && big)
		s_add(s, big, (size_t)n);
	free(big);
}

/* ---- helpers (the same rules as forward.c) ------------------------------ */

static int
addr_ok(const char *a)
{
	const unsigned char *p;
	size_t n = strlen(a);

	if (n == 0 || n > AR_ADDR_MAX || strchr(a, '@') == NULL)
		return 0;
	for (p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == ',' ||
		    *p == '"' || *p == '\\' || *p == ';')
			return 0;
	return 1;
}

/* ims_get - KEY of [SECTION] in INI (IMS.CTL) into OUT; 1 set, 0 absent or
 * too long (logged: a value is never cut). */
static int
ims_get(const char *ini, const char *section, const char *key, char *out,
    size_t size)
{
	int r = yh_ini_get(ini, section, key, out, size);

	if (r == -1)
		yh_log(YH_LOG_WARN, "IMS.CTL: [%s] %s: longer than %zu bytes; "
		    "ignored", section, key, size - 1);
	return r == 1;
}

static int
list_has(const char *text, const char *addr)
{
	const char *at = strrchr(addr, '@');
	char *copy, *tok, *save = NULL;
	int found = 0;

	if (text == NULL || *addr == '\0' || (copy = strdup(text)) == NULL)
		return 0;
	for (tok = strtok_r(copy, ", \t\r\n", &save); tok && !found;
	    tok = strtok_r(NULL, ", \t\r\n", &save)) {
		if (tok[0] == '*' && tok[1] == '@')
			found = at && strcasecmp(tok + 2, at + 1) == 0;
		else if (tok[0] == '@')
			found = at && strcasecmp(tok + 1, at + 1) == 0;
		else
			found = strcasecmp(tok, addr) == 0;
	}
	free(copy);
	return found;
}

static int
plugin_after(const char *a, const char *b)
{
	const char *list = yh_server_get("server.plugins");
	char *copy, *tok, *save = NULL;
	int seen_a = 0, r = 0;

	if (list == NULL || (copy = strdup(list)) == NULL)
		return 0;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, a) == 0)
			seen_a = 1;
		else if (strcmp(tok, b) == 0)
			r = seen_a;
	}
	free(copy);
	return r;
}

/* discard_wanted - no local copy (the same rule as forward.c). */
static int
discard_wanted(const char *account, const char *ini)
{
	char v[4096];

	if (ims_get(ini, "Delivery", "Discard", v, sizeof(v)) && pu_yes(v))
		return 1;
	return yh_account_get(account, "forward_address", v, sizeof(v)) && *v &&
	    yh_account_get(account, "forward_keep_copy", v, sizeof(v)) &&
	    strcmp(v, "0") == 0;
}

/*
 * drop_result - deliver, last of forward/autoreply: drop the copy only
 * when forward queued it everywhere (delivery note "forward" = "queued")
 * or nothing forwards at all ("none", or no forward plugin and no
 * ForwardTo / forward_address): a plain Discard=Yes.  A copy forward did
 * not make ("kept"), or forwarding asked for with no forward plugin to do
 * it, is stored.  Must never drop a copy that was not forwarded.
 */
static int
drop_result(struct yh_delivery *d, const char *account, const char *ini)
{
	const char *how = yh_dlv_note_get(d, "forward");
	char v[4096];

	if (how == NULL && ((ims_get(ini, "AutoForward", "ForwardTo", v, sizeof(v)) &&
	    *v) || (yh_account_get(account, "forward_address", v, sizeof(v)) && *v))) {
		yh_log(YH_LOG_WARN, "%s: forwarding asked for but not made (forward "
		    "plugin not loaded); the copy is kept", account);
		return YH_DECLINED;
	}
	if (how != NULL && strcmp(how, "kept") == 0)
		return YH_DECLINED;	/* forward logged why */
	yh_log(YH_LOG_INFO, "%s: no local copy kept (rule: %s)", account,
	    how != NULL && strcmp(how, "queued") == 0 ? "forwarded; IMS.CTL "
	    "[Delivery] Discard=Yes or forward_keep_copy = 0" :
	    "IMS.CTL [Delivery] Discard=Yes");
	return YH_DISCARD;
}

/* append_line - LINE + "\n" to PATH (created 0600) under flock; a failure
 * is logged as a warning naming ACCOUNT, the IMS.CTL KEY and PATH. */
static void
append_line(const char *account, const char *key, const char *path,
    const char *line)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);

	if (fd == -1) {
		yh_log(YH_LOG_WARN, "%s: %s=Yes: cannot record <%s> in %s: %s",
		    account, key, line, path, strerror(errno));
		return;
	}
	(void)flock(fd, LOCK_EX);
	if (dprintf(fd, "%s\n", line) < 0 || fsync(fd) == -1)
		yh_log(YH_LOG_WARN, "%s: %s=Yes: cannot record <%s> in %s: %s",
		    account, key, line, path, strerror(errno));
	close(fd);
}

/* ---- charsets and encodings --------------------------------------------- */

enum cs { CS_ASCII = YH_CS_ASCII, CS_UTF8 = YH_CS_UTF8, CS_JIS = YH_CS_JIS,
    CS_SJIS = YH_CS_SJIS, CS_UNKNOWN = YH_CS_UNKNOWN };

static enum cs
detect(const char *s, size_t len)
{
	return (enum cs)yh_text_charset(s, len);
}

static const char *
cs_name(enum cs c)
{
	return c == CS_ASCII ? "US-ASCII" : c == CS_UTF8 ? "UTF-8" :
	    c == CS_JIS ? "ISO-2022-JP" : "Shift_JIS";
}

/* to_utf8 - text of charset C as UTF-8 (owned) or NULL. */
static char *
to_utf8(enum cs c, const char *in, size_t len)
{
	iconv_t cd;
	char *out, *ip = (char *)in, *op;
	size_t il = len, ol, cap = len * 4 + 16;

	if (c == CS_ASCII || c == CS_UTF8)
		return strndup(in, len);
	cd = iconv_open("UTF-8", c == CS_JIS ? "ISO-2022-JP-3" : "CP932");
	if (cd == (iconv_t)-1)
		return NULL;
	if ((out = malloc(cap)) == NULL) {
		iconv_close(cd);
		return NULL;
	}
	op = out;
	ol = cap - 1;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
		iconv_close(cd);
		free(out);
		return NULL;
	}
	*op = '\0';
	iconv_close(cd);
	return out;
}

static void
base64(struct str *out, const unsigned char *p, size_t len, int wrap)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;
	char q[4];

	for (i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < len ? p[i + 2] : 0);

		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? tab[v & 63] : '=';
		s_add(out, q, 4);
		col += 4;
		if (wrap && col >= 76) {
			s_puts(out, "\n");
			col = 0;
		}
	}
	if (wrap && col)
		s_puts(out, "\n");
}

/* header_text - "NAME: TEXT\n", TEXT (UTF-8) plain when printable ASCII,
 * else RFC 2047 B-words of at most 45 bytes, folded. */
static void
header_text(struct str *out, const char *name, const char *t)
{
	size_t len = strlen(t), i, start, n;
	int plain = len < 900;

	for (i = 0; i < len && plain; i++)
		if ((unsigned char)t[i] >= 0x80 || (unsigned char)t[i] < 0x20 ||
		    (t[i] == '=' && t[i + 1] == '?'))
			plain = 0;
	s_printf(out, "%s: ", name);
	if (plain) {
		s_puts(out, t);
		s_puts(out, "\n");
		return;
	}
	for (start = 0; start < len; start += n) {
		n = len - start < 45 ? len - start : 45;
		while (start + n < len && n > 1 && ((unsigned char)t[start + n] & 0xc0) == 0x80)
			n--;
		if (start)
			s_puts(out, "\n ");
		s_puts(out, "=?UTF-8?B?");
		base64(out, (const unsigned char *)t + start, n, 0);
		s_puts(out, "?=");
	}
	s_puts(out, "\n");
}

/* text_part - Content-Type/-Transfer-Encoding + empty line + TEXT in its
 * own charset (7bit for ASCII and ISO-2022-JP, else base64). */
static void
text_part(struct str *out, const char *text, size_t len, enum cs c)
{
	s_printf(out, "Content-Type: text/plain; charset=%s\n", cs_name(c));
	if (c == CS_ASCII || c == CS_JIS) {
		s_puts(out, "Content-Transfer-Encoding: 7bit\n\n");
		s_add(out, text, len);
		if (len && text[len - 1] != '\n')
			s_puts(out, "\n");
	} else {
		struct str canon = { 0 };
		size_t k;

		for (k = 0; k < len; k++) {
			if (text[k] == '\n' && (k == 0 || text[k - 1] != '\r'))
				s_add(&canon, "\r", 1);
			s_add(&canon, text + k, 1);
		}
		s_puts(out, "Content-Transfer-Encoding: base64\n\n");
		base64(out, (const unsigned char *)(canon.p ? canon.p : ""), canon.len, 1);
		free(canon.p);
	}
}

/* ---- suppression -------------------------------------------------------- */

/* suppressed - why D must not be answered, or NULL. */
static const char *
suppressed(struct yh_delivery *d, const char *me, const char *noreply)
{
	const char *sender = yh_dlv_sender(d), *v, *at;
	char local[AR_ADDR_MAX + 1], val[128];
	size_t l;

	if (*sender == '\0')
		return "null sender";
	at = strrchr(sender, '@');
	l = at ? (size_t)(at - sender) : strlen(sender);
	if (l >= sizeof(local))
		l = sizeof(local) - 1;
	memcpy(local, sender, l);
	local[l] = '\0';
	if (strcasecmp(local, "mailer-daemon") == 0 || strncasecmp(local, "owner-", 6) == 0 ||
	    (l >= 8 && strcasecmp(local + l - 8, "-request") == 0))
		return "list or daemon sender";
	if (strcasecmp(sender, me) == 0)
		return "own address";
	if ((v = yh_dlv_header(d, "Auto-Submitted", 0)) != NULL) {
		snprintf(val, sizeof(val), "%s", v);
		val[strcspn(val, "; \t(")] = '\0';
		if (strcasecmp(val, "no") != 0)
			return "Auto-Submitted";
	}
	if ((v = yh_dlv_header(d, "Precedence", 0)) != NULL) {
		snprintf(val, sizeof(val), "%s", v);
		if (strcasecmp(pu_trim(val), "bulk") == 0 || strcasecmp(pu_trim(val), "list") == 0 ||
		    strcasecmp(pu_trim(val), "junk") == 0)
			return "Precedence";
	}
	if (yh_dlv_header(d, "List-Id", 0) || yh_dlv_header(d, "List-Unsubscribe", 0))
		return "mailing list";
	if (list_has(noreply, sender))
		return "NOREPLY.TXT";
	return NULL;
}

/* ---- the reply ---------------------------------------------------------- */

struct reply {
	char	 from[AR_ADDR_MAX + 1];		/* From: */
	char	 to[AR_ADDR_MAX + 1];		/* the recipient */
	char	*subject;			/* UTF-8, owned; NULL: default */
	char	 reply_to[AR_ADDR_MAX + 1];
	const char *text;			/* borrowed */
	size_t	 textlen;
	enum cs	 cs;
	int	 echo, strip;
};

static void
msgid(struct str *out, const char *domain)
{
	unsigned char rnd[8];
	size_t i;
	time_t t = time(NULL);
	struct tm tm;
	char d[32];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%Y%m%d%H%M%S", &tm);
	s_printf(out, "Message-ID: <%s.ar.", d);
	for (i = 0; i < sizeof(rnd); i++)
		s_printf(out, "%02x", rnd[i]);
	s_printf(out, "@%s>\n", domain);
}

/* send_reply - build and queue R for delivery D.  0 or -1. */
static int
send_reply(struct yh_delivery *d, const struct reply *r)
{
	struct str m = { 0 };
	const char *v, *refs, *dom = yh_server_get("server.domain");
	const char *rcpts[1] = { r->to };
	char date[64], qid[32], boundary[64], *orig = NULL, domain[256];
	time_t t = time(NULL);
	struct tm tm;
	int rc;

	snprintf(domain, sizeof(domain), "%s", dom && *dom ? dom : "localhost");
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	s_printf(&m, "From: %s\nTo: %s\n", r->from, r->to);
	if (r->reply_to[0])
		s_printf(&m, "Reply-To: %s\n", r->reply_to);
	if (r->subject)
		header_text(&m, "Subject", r->subject);
	else {
		const char *os = yh_dlv_header(d, "Subject", 0);
		int ascii = os != NULL && strlen(os) < 900;

		for (v = os; ascii && *v; v++)
			if ((unsigned char)*v >= 0x80 || (unsigned char)*v < 0x20)
				ascii = 0;
		if (ascii)
			s_printf(&m, "Subject: Auto: %s\n", os);
		else
			s_puts(&m, "Subject: Auto-reply\n");
	}
	s_printf(&m, "Date: %s\n", date);
	msgid(&m, domain);
	if ((v = yh_dlv_header(d, "Message-ID", 0)) != NULL && strlen(v) < 990 &&
	    !strpbrk(v, "\r\n")) {
		char id[1000];

		snprintf(id, sizeof(id), "%s", v);
		s_printf(&m, "In-Reply-To: %s\n", pu_trim(id));
		refs = yh_dlv_header(d, "References", 0);
		if (refs && strlen(refs) < 900 && !strpbrk(refs, "\r\n"))
			s_printf(&m, "References: %s %s\n", refs, pu_trim(id));
		else
			s_printf(&m, "References: %s\n", pu_trim(id));
	}
	s_puts(&m, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
	if (!r->echo) {
		text_part(&m, r->text, r->textlen, r->cs);
	} else {
		unsigned char rnd[9];
		size_t olen = 0;
		int fd;
		struct stat st;

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			memset(rnd, 0x33, sizeof(rnd));
		snprintf(boundary, sizeof(boundary), "=_yubin_%02x%02x%02x%02x%02x%02x%02x%02x%02x",
		    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8]);
		s_printf(&m, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n", boundary);
		s_printf(&m, "This is a MIME message.\n--%s\n", boundary);
		text_part(&m, r->text, r->textlen, r->cs);
		/* the line end before a delimiter belongs to it (RFC 2046 §5.1.1) */
		s_printf(&m, "\n--%s\n", boundary);
		fd = open(yh_dlv_path(d), O_RDONLY | O_CLOEXEC);
		if (fd != -1 && fstat(fd, &st) == 0 && st.st_size <= AR_MSG_MAX &&
		    (orig = malloc((size_t)st.st_size + 1)) != NULL) {
			ssize_t n;

			while (olen < (size_t)st.st_size &&
			    (n = read(fd, orig + olen, (size_t)st.st_size - olen)) > 0)
				olen += (size_t)n;
			orig[olen] = '\0';
		}
		if (fd != -1)
			close(fd);
		if (orig && !r->strip) {
			s_puts(&m, "Content-Type: message/rfc822\n"
			    "Content-Disposition: inline\n\n");
			s_add(&m, orig, olen);
		} else if (orig) {
			/* the body only; its Content-* fields keep it readable */
			const char *p = orig, *end = orig + olen;
			int keep = 0, any = 0;

			while (p < end && *p != '\n') {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				size_t l = (size_t)((nl ? nl : end) - p);

				if (*p != ' ' && *p != '\t')
					keep = strncasecmp(p, "Content-", 8) == 0;
				if (keep) {
					s_add(&m, p, l);
					s_puts(&m, "\n");
					any = 1;
				}
				p = nl ? nl + 1 : end;
			}
			if (!any)
				s_puts(&m, "Content-Type: text/plain\n");
			s_puts(&m, "Content-Disposition: inline\n\n");
			if (p < end && *p == '\n')
				p++;
			s_add(&m, p, (size_t)(end - p));
		}
		if (m.len && m.p[m.len - 1] != '\n')
			s_puts(&m, "\n");
		s_printf(&m, "\n--%s--\n", boundary);
	}
	if (m.bad) {
		free(m.p);
		free(orig);
		return -1;
	}
	rc = yh_inject("", rcpts, 1, m.p, m.len, qid);
	if (rc == 0)
		yh_log(YH_LOG_INFO, "auto-reply to=<%s> from=<%s> as %s", r->to,
		    r->from, qid);
	else
		yh_log(YH_LOG_ERR, "auto-reply to=<%s>: queueing failed", r->to);
	free(m.p);
	free(orig);
	return rc;
}

/* map_path - a reply.def path: Windows paths name a file in the account
 * folder, relative ones are relative to it. */
static void
map_path(const char *acctdir, const char *p, char *out, size_t size)
{
	const char *base = p, *q;

	if (strchr(p, '\\') || (p[0] && p[1] == ':')) {
		for (q = p; *q; q++)
			if (*q == '\\' || *q == '/')
				base = q + 1;
		snprintf(out, size, "%s/%s", acctdir, base);
	} else if (p[0] == '/')
		snprintf(out, size, "%s", p);
	else
		snprintf(out, size, "%s/%s", acctdir, p);
}

/* onlyonce_seen - the record PATH has "FROM,TO"; the fd stays open and
 * locked in *FD_R for onlyonce_add. */
static int
onlyonce_seen(const char *path, const char *from, const char *to, int *fd_r)
{
	char *data, *line, *save = NULL, pair[2 * AR_ADDR_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int seen = 0;

	*fd_r = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (*fd_r == -1) {
		yh_log(YH_LOG_WARN, "%s: %s; no reply", path, strerror(errno));
		return 1;
	}
	(void)flock(*fd_r, LOCK_EX);
	if (fstat(*fd_r, &st) == -1 || st.st_size > AR_FILE_MAX ||
	    (data = malloc((size_t)st.st_size + 1)) == NULL)
		return 1;
	while (len < (size_t)st.st_size &&
	    (n = pread(*fd_r, data + len, (size_t)st.st_size - len, (off_t)len)) > 0)
		len += (size_t)n;
	data[len] = '\0';
	snprintf(pair, sizeof(pair), "%s,%s", from, to);
	for (line = strtok_r(data, "\n", &save); line && !seen;
	    line = strtok_r(NULL, "\n", &save))
		seen = strcasecmp(pu_trim(line), pair) == 0;
	free(data);
	return seen;
}

/* reply_def - the seed form of reply.def into R (and the -onlyonce file
 * into ONLYONCE).  1 ready, 0 none, -1 refused. */
static int
reply_def(struct yh_delivery *d, const char *acctdir, struct reply *r,
    char **text_r, char *onlyonce, size_t osize)
{
	char path[PATH_MAX + 16], *def, *line, *save = NULL, *param[8] = { 0 };
	char *bin = NULL, sb[PATH_MAX + PATH_MAX], prog[PATH_MAX];
	const char *base, *q;
	size_t len, nl;
	int i, rr;

	snprintf(path, sizeof(path), "%s/reply.def", acctdir);
	if ((rr = pu_read_user(path, AR_FILE_MAX, &def, NULL)) != 1)
		return rr;
	for (line = strtok_r(def, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq;

		line = pu_trim(line);
		if (*line == '\0' || *line == '#' || strncmp(line, "//", 2) == 0 ||
		    (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcasecmp(pu_trim(line), "bin") == 0)
			bin = pu_trim(eq + 1);
		else if (strncasecmp(pu_trim(line), "param", 5) == 0) {
			i = atoi(pu_trim(line) + 5);
			if (i >= 1 && i <= 7)
				param[i] = pu_trim(eq + 1);
		}
	}
	snprintf(prog, sizeof(prog), "%s", bin ? bin + (*bin == '"') : "");
	prog[strcspn(prog, "\"")] = '\0';
	for (base = q = prog; *q; q++)
		if (*q == '/' || *q == '\\')
			base = q + 1;
	if (strcasecmp(base, "sendmail") != 0 && strcasecmp(base, "sendmail.exe") != 0 &&
	    strcasecmp(base, "yubin-sendmail") != 0) {
		yh_log(YH_LOG_WARN, "%s: not the send tool's form (bin=%.80s); use "
		    "exec.def to run programs", path, bin ? bin : "");
		free(def);
		return -1;
	}
	if (!param[1] || !param[2] || !param[3] || strcmp(param[3], "-sb") != 0 ||
	    !param[4] || (param[5] && (strcmp(param[5], "-onlyonce") != 0 || !param[6]))) {
		yh_log(YH_LOG_WARN, "%s: expected param1=TO_ADDRESS param2=FROM_ADDRESS "
		    "param3=-sb param4=FILE [param5=-onlyonce param6=FILE]", path);
		free(def);
		return -1;
	}
	for (i = 1; i <= 2; i++) {
		const char *v = strcmp(param[i], "TO_ADDRESS") == 0 ? yh_dlv_rcpt(d) :
		    strcmp(param[i], "FROM_ADDRESS") == 0 ? yh_dlv_sender(d) : param[i];
		char *dst = i == 1 ? r->from : r->to;

		if (strlen(v) > AR_ADDR_MAX || (!addr_ok(v))) {
			yh_log(YH_LOG_WARN, "%s: param%d is not an address", path, i);
			free(def);
			return -1;
		}
		memcpy(dst, v, strlen(v) + 1);
	}
	map_path(acctdir, param[4], sb, sizeof(sb));
	if (param[5])
		map_path(acctdir, param[6], onlyonce, osize);
	free(def);
	if (pu_read_user(sb, AR_FILE_MAX, text_r, &len) != 1) {
		yh_log(YH_LOG_WARN, "%s: subject & body file %s unreadable; no reply",
		    path, sb);
		return -1;
	}
	r->cs = detect(*text_r, len);
	if (r->cs == CS_UNKNOWN) {
		yh_log(YH_LOG_WARN, "%s: not UTF-8, ISO-2022-JP or Shift_JIS; no reply", sb);
		return -1;
	}
	nl = strcspn(*text_r, "\n");
	{
		size_t sl = nl;

		if (sl > 0 && (*text_r)[sl - 1] == '\r')
			sl--;
		r->subject = to_utf8(r->cs, *text_r, sl);
		if (r->subject)
			for (q = r->subject; *q; q++)
				if ((unsigned char)*q < 0x20)
					r->subject[q - r->subject] = ' ';
	}
	r->text = *text_r + (nl < len ? nl + 1 : len);
	r->textlen = len - (size_t)(r->text - *text_r);
	if (r->cs == CS_JIS) {
		/* the body in its own right: it may start in JIS mode */
		r->cs = detect(r->text, r->textlen);
		if (r->cs == CS_UNKNOWN)
			r->cs = CS_JIS;
	}
	return 1;
}

/* ims_reply - IMS.CTL [AutoReply] into R.  1 ready, 0 none. */
static int
ims_reply(struct yh_delivery *d, const char *acctdir, const char *ini,
    struct reply *r, char **text_r)
{
	char v[1024], path[PATH_MAX + 32];
	size_t len;

	if (yh_ini_get(ini, "AutoReply", NULL, NULL, 0) != 1)
		return 0;
	if (ims_get(ini, "AutoReply", "Enable", v, sizeof(v)) && !pu_yes(v))
		return 0;
	snprintf(path, sizeof(path), "%s/AUTORPLY.TXT", acctdir);
	if (pu_read_user(path, AR_FILE_MAX, text_r, &len) != 1) {
		yh_log(YH_LOG_WARN, "%s: missing or refused; no reply", path);
		return 0;
	}
	r->text = *text_r;
	r->textlen = len;
	r->cs = detect(*text_r, len);
	if (r->cs == CS_UNKNOWN) {
		yh_log(YH_LOG_WARN, "%s: not UTF-8, ISO-2022-JP or Shift_JIS; no reply", path);
		return 0;
	}
	if (ims_get(ini, "AutoReply", "Subject", v, sizeof(v)) && *v) {
		enum cs c = detect(v, strlen(v));
		char *q;

		r->subject = c == CS_UNKNOWN ? NULL : to_utf8(c, v, strlen(v));
		for (q = r->subject; q && *q; q++)
			if ((unsigned char)*q < 0x20)
				*q = ' ';
	}
	if (ims_get(ini, "AutoReply", "ReplyFrom", v, sizeof(v)) && addr_ok(v))
		(void)pu_scopy(r->from, sizeof(r->from), v);
	else
		(void)pu_scopy(r->from, sizeof(r->from), yh_dlv_rcpt(d));
	if (ims_get(ini, "AutoReply", "ReplyTo", v, sizeof(v)) && addr_ok(v))
		(void)pu_scopy(r->reply_to, sizeof(r->reply_to), v);
	r->echo = ims_get(ini, "AutoReply", "EchoMessage", v, sizeof(v)) && pu_yes(v);
	r->strip = ims_get(ini, "AutoReply", "StripHeader", v, sizeof(v)) && pu_yes(v);
	if (strlen(yh_dlv_sender(d)) > AR_ADDR_MAX)
		return 0;
	(void)pu_scopy(r->to, sizeof(r->to), yh_dlv_sender(d));
	return 1;
}

/* ims_program - IMS.CTL [AutoReply] Program=, when the section is
 * enabled: run on D like an exec.def program. */
static void
ims_program(struct yh_delivery *d, const char *account, const char *ini)
{
	struct yh_spawn sp = YH_SPAWN_INIT;
	char cmd[AR_PROGRAM_MAX], label[AR_ADDR_MAX + 16], v[16];

	if (yh_ini_get(ini, "AutoReply", NULL, NULL, 0) != 1 ||
	    (ims_get(ini, "AutoReply", "Enable", v, sizeof(v)) && !pu_yes(v)) ||
	    !ims_get(ini, "AutoReply", "Program", cmd, sizeof(cmd)) || *cmd == '\0')
		return;
	snprintf(label, sizeof(label), "%s/IMS.CTL", account);
	sp.label = label;
	sp.command = cmd;
	sp.dlv = d;
	sp.path = AR.program_path;
	sp.timeout_ms = AR.program_timeout_ms;
	sp.wait = yh_account_get(account, "application_cooperation_wait_for_apl_end",
	    v, sizeof(v)) != NULL && strcmp(v, "1") == 0;
	(void)yh_spawn(&sp, NULL);	/* logged either way */
}

static int
run(struct yh_delivery *d, int in_deliver)
{
	const char *account = yh_dlv_account(d), *sender = yh_dlv_sender(d), *why;
	char acctdir[PATH_MAX], path[PATH_MAX + 32], onlyonce[PATH_MAX + PATH_MAX];
	char *ini = NULL, *noreply = NULL, *text = NULL, key[2 * AR_ADDR_MAX + 8], v[16];
	struct reply r;
	int src = 0, discard, res = YH_DECLINED, fd = -1;
	size_t k, vl;

	if (account == NULL || *account == '\0' ||
	    yh_account_dir(account, acctdir, sizeof(acctdir)) == -1)
		return YH_DECLINED;
	snprintf(path, sizeof(path), "%s/IMS.CTL", acctdir);
	(void)pu_read_user(path, AR_FILE_MAX, &ini, NULL);
	discard = discard_wanted(account, ini);
	if (discard != in_deliver) {
		free(ini);
		return YH_DECLINED;
	}
	if (in_deliver && !plugin_after("autoreply", "forward"))
		res = drop_result(d, account, ini);	/* last of the two */
	memset(&r, 0, sizeof(r));
	onlyonce[0] = '\0';
	if ((src = reply_def(d, acctdir, &r, &text, onlyonce, sizeof(onlyonce))) != 1) {
		free(text);
		text = NULL;
		free(r.subject);
		memset(&r, 0, sizeof(r));
		onlyonce[0] = '\0';
		src = ims_reply(d, acctdir, ini, &r, &text) ? 2 : 0;
	}
	if (src == 0)
		goto out;
	snprintf(path, sizeof(path), "%s/NOREPLY.TXT", acctdir);
	(void)pu_read_user(path, AR_FILE_MAX, &noreply, NULL);
	if ((why = suppressed(d, yh_dlv_rcpt(d), noreply)) != NULL) {
		yh_log(YH_LOG_INFO, "%s: no auto-reply to <%s>: %s", account, sender, why);
		goto out;
	}
	/* one reply per sender and account per period */
	snprintf(key, sizeof(key), "%s:%s", account, sender);
	for (k = 0; key[k]; k++)
		if (key[k] >= 'A' && key[k] <= 'Z')
			key[k] = (char)(key[k] - 'A' + 'a');
	vl = sizeof(v);
	if (AR.period > 0 && yh_store_get(key, v, &vl) == 1) {
		yh_log(YH_LOG_INFO, "%s: no auto-reply to <%s>: answered within the "
		    "period", account, sender);
		goto out;
	}
	if (onlyonce[0] && onlyonce_seen(onlyonce, r.from, r.to, &fd)) {
		yh_log(YH_LOG_INFO, "%s: no auto-reply to <%s>: in the -onlyonce "
		    "record", account, r.to);
		goto out;
	}
	if (send_reply(d, &r) == -1) {
		if (in_deliver) {
			yh_dlv_reply(d, 451, "4.3.0", "auto-reply failed, try again later");
			res = YH_DENYSOFT;
		}
		goto out;
	}
	if (AR.period > 0)
		(void)yh_store_put(key, "1", 1, AR.period);
	if (fd != -1) {
		if (dprintf(fd, "%s,%s\n", r.from, r.to) < 0 || fsync(fd) == -1)
			yh_log(YH_LOG_WARN, "%s: %s", onlyonce, strerror(errno));
	}
	if (src == 2) {
		if (ims_get(ini, "AutoReply", "RecordReplies", v, sizeof(v)) && pu_yes(v)) {
			snprintf(path, sizeof(path), "%s/REPLIED.TXT", acctdir);
			append_line(account, "RecordReplies", path, sender);
		}
		if (ims_get(ini, "AutoReply", "NoRepeat", v, sizeof(v)) && pu_yes(v)) {
			/* a sender not recorded may be answered again (once
			 * per period): the reply went out, so only warn */
			snprintf(path, sizeof(path), "%s/NOREPLY.TXT", acctdir);
			append_line(account, "NoRepeat", path, sender);
		}
	}
out:
	if (fd != -1)
		close(fd);
	ims_program(d, account, ini);
	free(r.subject);
	free(text);
	free(noreply);
	free(ini);
	return res;
}

static const struct yh_key autoreply_keys[] = {
	{ "period",	     YH_KEY_DURATION, "7d",  0, 0 },
	{ "program_timeout", YH_KEY_DURATION, "60s", 1000, 86400000 },
	{ "program_path",    YH_KEY_STRING,   "/usr/local/bin:/usr/bin:/bin",
	    0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* autoreply_init - the next generation's settings (the core checked
 * them). */
static int
autoreply_init(const struct yh_config *cfg, void **gen)
{
	struct ar_conf *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		yh_error("[plugin autoreply] out of memory");
		return -1;
	}
	c->period = yh_config_duration(cfg, "period") / 1000;
	c->program_timeout_ms = yh_config_duration(cfg, "program_timeout");
	if (pu_scopy(c->program_path, sizeof(c->program_path),
	    yh_config_str(cfg, "program_path")) == -1) {
		yh_error("[plugin autoreply] program_path: longer than %zu bytes",
		    sizeof(c->program_path) - 1);
		free(c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
autoreply_commit(void *gen)
{
	AR = *(struct ar_conf *)gen;
	free(gen);
}

static void
autoreply_discard(void *gen)
{
	free(gen);
}

static int
autoreply_deliver(struct yh_delivery *d)
{
	return run(d, 1);
}

static void
autoreply_delivered(struct yh_delivery *d)
{
	(void)run(d, 0);
}

static const struct yh_hooks autoreply_hooks = {
	YH_HOOKS_INIT,
	.deliver = autoreply_deliver,
	.delivered = autoreply_delivered,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "autoreply",
	.keys = autoreply_keys,
	.init = autoreply_init,
	.commit = autoreply_commit,
	.discard = autoreply_discard,
	.hooks = &autoreply_hooks,
};
