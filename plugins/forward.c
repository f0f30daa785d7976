/*
 * forward - per-account forwarding (SEEDS.md §14, issue 8, F077-F082).
 *
 * Three sources, all read from the account folder MAILBOX/ACCOUNT:
 *
 *  - Wiz98 forward.def in its seed form (§14.2): bin = the send tool
 *    (sendmail, sendmail.exe or yubin-sendmail, any path), param1 FROM,
 *    param2 the destination(s), param3 -mf, param4 MAILFILE_PATH.  Done
 *    in-process: the stored message is queued unchanged for the
 *    destinations with the FROM value as envelope sender, exactly what the
 *    tool would do, without a process or a socket.  Any other program is
 *    refused with a log line (use exec.def for programs).
 *  - ArGoSoft forward_address / forward_keep_copy (config.def or the
 *    server defaults, §14.3): forwarded with the original envelope sender;
 *    forward_keep_copy = 0 keeps no local copy.
 *  - E-Post IMS.CTL [AutoForward] (§14.4), the keys fixed as:
 *	Enable=Yes|No		default Yes
 *	ForwardTo=ADDR | FILE:PATH	PATH: one address per line (relative
 *				to the account folder unless absolute)
 *	PermitFrom=Yes		only senders in PERMITFROM.TXT (addresses or
 *				*@domain) are forwarded
 *	ReportTo=admin|sender|none|ADDRESS	the envelope sender of the copy
 *				(bounces go there); default sender
 *	DeleteAttachments=Yes	parts with a file name or Content-Disposition
 *				attachment are left out of a multipart body
 *	SizeLimit=N		at most N bytes of body; 0 = the header only
 *    and [Delivery] Discard=Yes|No (keep no local copy / keep one).
 *
 * LOOPS.  The stored copy begins with the core's "Return-Path:" and
 * "Delivered-To: RCPT" lines; a copy made from it leaves both out (the
 * Return-Path belongs to the mailbox it was stored in; the Delivered-To is
 * written again here).  Every forwarded copy gets "Delivered-To: RCPT" on top (and
 * yh_inject a Received field above it); a message that already carries
 * Delivered-To for the recipient being forwarded is not forwarded again
 * (logged), so A->B->A ends after one round.  Longer loops end at the
 * core's hop limit (smtp.max_hops): every pass adds a field, and a copy
 * over the limit is returned to its sender by yh_inject.  Mail whose
 * envelope sender is server.admin_address is never forwarded (seed guard).
 *
 * WHEN.  With a local copy kept, forwarding runs in `delivered` (after the
 * exec chain when server.plugins = "exec forward autoreply").  When no copy
 * is kept (Discard=Yes, or forward_address with forward_keep_copy = 0) it
 * runs in `deliver`, before storing, and the copy is dropped (YH_DISCARD)
 * by whichever of forward and autoreply comes last in server.plugins, so
 * the auto-reply still happens; the exec chain does not run for a
 * message that is not stored.  The copy is dropped only when the forward
 * was queued for every destination (or nothing forwards at all: a plain
 * Discard=Yes); a forward not made (the administrator's mail, a sender not
 * in PERMITFROM.TXT, a loop, a failed injection) keeps the copy in the
 * mailbox, logged, and tells autoreply through the delivery note
 * "forward" ("queued", "kept", "none"), so nothing is lost silently.
 *
 * SECURITY.  IMS.CTL, forward.def and FILE: lists are read with
 * yh_read_safe: symlinks, files that are not regular, writable by group or
 * others, or owned by anyone but root or the server user are refused
 * (logged).  Nothing runs a program.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "lib/plugutil.h"

#define FWD_FILE_MAX	(1 << 20)	/* IMS.CTL, forward.def, address lists */
#define FWD_MSG_MAX	(64LL << 20)	/* a message we forward */
#define FWD_RCPT_MAX	100		/* destinations of one account */
#define FWD_ADDR_MAX	320

struct rcpts {
	char	*v[FWD_RCPT_MAX];
	size_t	 n;
};

/* ---- small helpers ------------------------------------------------------ */

/*
 * admin_addr - server.admin_address as a full address into OUT (SIZE): a
 * bare local part (the default "postmaster") is LOCAL@server.domain, as
 * bounce copies take it.  "" when it is empty or does not fit.
 */
static void
admin_addr(char *out, size_t size)
{
	const char *v = yh_server_get("server.admin_address");
	char adm[512];
	int n;

	out[0] = '\0';
	/* yh_server_get's answer lasts until its next call: copy it */
	if (v == NULL || *v == '\0' || pu_scopy(adm, sizeof(adm), v) == -1)
		return;
	if (strchr(adm, '@') != NULL)
		n = snprintf(out, size, "%s", adm);
	else {
		v = yh_server_get("server.domain");
		n = snprintf(out, size, "%s@%s", adm, v && *v ? v : "localhost");
	}
	if (n < 0 || (size_t)n >= size)
		out[0] = '\0';
}

static int
addr_ok(const char *a)
{
	const unsigned char *p;
	size_t n = strlen(a);

	if (n == 0 || n > FWD_ADDR_MAX || strchr(a, '@') == NULL)
		return 0;
	for (p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == ',' ||
		    *p == '"' || *p == '\\' || *p == ';')
			return 0;
	return 1;
}

static void
rcpts_add(struct rcpts *r, const char *a)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->v[i], a) == 0)
			return;
	if (r->n < FWD_RCPT_MAX && (r->v[r->n] = strdup(a)) != NULL)
		r->n++;
}

static void
rcpts_free(struct rcpts *r)
{
	while (r->n)
		free(r->v[--r->n]);
}

/* add_list - addresses separated by commas, white space or new lines. */
static void
add_list(struct rcpts *r, const char *list, const char *what)
{
	char *copy = strdup(list), *tok, *save = NULL;

	if (copy == NULL)
		return;
	for (tok = strtok_r(copy, ", \t\r\n", &save); tok;
	    tok = strtok_r(NULL, ", \t\r\n", &save)) {
		size_t l = strlen(tok);

		if (tok[0] == '<' && l > 2 && tok[l - 1] == '>') {
			tok[l - 1] = '\0';
			tok++;
		}
		if (addr_ok(tok))
			rcpts_add(r, tok);
		else
			yh_log(YH_LOG_WARN, "%s: bad address \"%.80s\" ignored", what, tok);
	}
	free(copy);
}

/* ims_get - KEY of [SECTION] in INI (the IMS.CTL at PATH) into OUT; 1 set,
 * 0 absent or too long (logged: a value is never cut). */
static int
ims_get(const char *ini, const char *path, const char *section,
    const char *key, char *out, size_t size)
{
	int r = yh_ini_get(ini, section, key, out, size);

	if (r == -1)
		yh_log(YH_LOG_WARN, "%s: [%s] %s: longer than %zu bytes; ignored",
		    path, section, key, size - 1);
	return r == 1;
}

/* list_has - the address list file TEXT names ADDR (or *@its domain). */
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

/* plugin_after - 1 when plugin B comes after plugin A in server.plugins
 * (B missing: 0). */
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

/* ---- the account's forwarding setup ------------------------------------- */

struct setup {
	struct rcpts	 to;
	char		 sender[FWD_ADDR_MAX + 1];	/* envelope sender of the copy */
	int		 keep;		/* keep a local copy */
	int		 strip_att;
	long long	 size_limit;	/* -1 none */
	int		 from_def;	/* forward.def: its FROM is the sender */
	int		 configured;	/* some source asks for forwarding */
};

/* discard_wanted - the local copy is not kept (shared rule with autoreply). */
static int
discard_wanted(const char *account, const char *acctdir)
{
	char path[PATH_MAX + 16], v[64], *ini = NULL;
	int r = 0;

	snprintf(path, sizeof(path), "%s/IMS.CTL", acctdir);
	if (pu_read_user(path, FWD_FILE_MAX, &ini, NULL) == 1 &&
	    ims_get(ini, path, "Delivery", "Discard", v, sizeof(v)))
		r = pu_yes(v);
	free(ini);
	if (!r && yh_account_get(account, "forward_address", v, sizeof(v)) &&
	    *v && yh_account_get(account, "forward_keep_copy", v, sizeof(v)) &&
	    strcmp(v, "0") == 0)
		r = 1;
	return r;
}

/* forward_def - the seed form of forward.def into S (sender, destinations). */
static void
forward_def(struct yh_delivery *d, const char *acctdir, struct setup *s)
{
	char path[PATH_MAX + 16], *text, *line, *save = NULL;
	char *param[8] = { 0 }, *bin = NULL;
	const char *b, *p;
	int r, i;

	snprintf(path, sizeof(path), "%s/forward.def", acctdir);
	if ((r = pu_read_user(path, FWD_FILE_MAX, &text, NULL)) != 1)
		return;
	s->configured = 1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
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
	/* bin: the send tool, possibly "quoted" and with a Windows path */
	b = bin ? bin : "";
	if (*b == '"')
		b++;
	for (p = b; *p && *p != '"'; p++)
		;
	{
		char prog[PATH_MAX];
		const char *base, *q;
		size_t l = (size_t)(p - b);

		if (l >= sizeof(prog))
			l = sizeof(prog) - 1;
		memcpy(prog, b, l);
		prog[l] = '\0';
		for (base = q = prog; *q; q++)
			if (*q == '/' || *q == '\\')
				base = q + 1;
		if (strcasecmp(base, "sendmail") != 0 && strcasecmp(base, "sendmail.exe") != 0 &&
		    strcasecmp(base, "yubin-sendmail") != 0) {
			yh_log(YH_LOG_WARN, "%s: not the send tool's form (bin=%.80s); "
			    "use exec.def to run programs", path, bin ? bin : "");
			free(text);
			return;
		}
	}
	if (!param[1] || !param[2] || !param[3] || strcmp(param[3], "-mf") != 0 ||
	    !param[4] || strcmp(param[4], "MAILFILE_PATH") != 0) {
		yh_log(YH_LOG_WARN, "%s: expected param1=FROM param2=TO param3=-mf "
		    "param4=MAILFILE_PATH; not forwarded", path);
		free(text);
		return;
	}
	if (strcmp(param[1], "FROM_ADDRESS") == 0)
		(void)pu_scopy(s->sender, sizeof(s->sender), yh_dlv_sender(d));
	else if (strcmp(param[1], "TO_ADDRESS") == 0)
		(void)pu_scopy(s->sender, sizeof(s->sender), yh_dlv_rcpt(d));
	else
		(void)pu_scopy(s->sender, sizeof(s->sender), param[1]);
	s->from_def = 1;
	if (strcmp(param[2], "TO_ADDRESS") == 0 || strcmp(param[2], "FROM_ADDRESS") == 0)
		yh_log(YH_LOG_WARN, "%s: param2 must be the destination; not forwarded", path);
	else
		add_list(&s->to, param[2], path);
	free(text);
}

/* ims_forward - IMS.CTL [AutoForward] into S.  0 none/disabled, 1 set. */
static int
ims_forward(struct yh_delivery *d, const char *account, const char *acctdir,
    struct setup *s)
{
	char path[PATH_MAX + 16], v[PATH_MAX], *ini = NULL, *list = NULL;
	const char *sender = yh_dlv_sender(d);
	int r = 0;

	snprintf(path, sizeof(path), "%s/IMS.CTL", acctdir);
	if (pu_read_user(path, FWD_FILE_MAX, &ini, NULL) != 1)
		return 0;
	if (ims_get(ini, path, "AutoForward", "Enable", v, sizeof(v)) && !pu_yes(v))
		goto out;
	if (!ims_get(ini, path, "AutoForward", "ForwardTo", v, sizeof(v)) || *v == '\0')
		goto out;
	s->configured = 1;
	if (strncasecmp(v, "FILE:", 5) == 0) {
		char lp[PATH_MAX + PATH_MAX];
		const char *f = pu_trim(v + 5);

		if (*f == '/')
			snprintf(lp, sizeof(lp), "%s", f);
		else
			snprintf(lp, sizeof(lp), "%s/%s", acctdir, f);
		if (pu_read_user(lp, FWD_FILE_MAX, &list, NULL) == 1)
			add_list(&s->to, list, lp);
		else
			yh_log(YH_LOG_WARN, "%s: ForwardTo list %s unreadable; not "
			    "forwarded", path, lp);
		free(list);
	} else
		add_list(&s->to, v, path);
	if (ims_get(ini, path, "AutoForward", "PermitFrom", v, sizeof(v)) && pu_yes(v)) {
		char pp[PATH_MAX + 32], *permit = NULL;

		snprintf(pp, sizeof(pp), "%s/PERMITFROM.TXT", acctdir);
		(void)pu_read_user(pp, FWD_FILE_MAX, &permit, NULL);
		if (!list_has(permit, sender)) {
			yh_log(YH_LOG_INFO, "%s: sender <%s> not in PERMITFROM.TXT; "
			    "not forwarded", account, sender);
			free(permit);
			rcpts_free(&s->to);
			goto out;
		}
		free(permit);
	}
	s->sender[0] = '\0';
	(void)pu_scopy(s->sender, sizeof(s->sender), sender);
	if (ims_get(ini, path, "AutoForward", "ReportTo", v, sizeof(v)) && *v) {
		if (strcasecmp(v, "admin") == 0 || strcasecmp(v, "administrator") == 0) {
			char adm[512];
			const char *dom;

			admin_addr(adm, sizeof(adm));
			if (*adm)
				(void)pu_scopy(s->sender, sizeof(s->sender), adm);
			else {
				dom = yh_server_get("server.domain");
				snprintf(s->sender, sizeof(s->sender), "postmaster@%s",
				    dom && *dom ? dom : "localhost");
			}
		} else if (strcasecmp(v, "none") == 0)
			s->sender[0] = '\0';
		else if (strcasecmp(v, "sender") != 0) {
			if (addr_ok(v))
				(void)pu_scopy(s->sender, sizeof(s->sender), v);
			else
				yh_log(YH_LOG_WARN, "%s: ReportTo=%.80s is not an "
				    "address; the sender is kept", path, v);
		}
	}
	s->strip_att = ims_get(ini, path, "AutoForward", "DeleteAttachments", v, sizeof(v)) && pu_yes(v);
	if (ims_get(ini, path, "AutoForward", "SizeLimit", v, sizeof(v)) && *v) {
		char *end;
		long long n = strtoll(v, &end, 10);

		if (*end == '\0' && n >= 0)
			s->size_limit = n;
		else
			yh_log(YH_LOG_WARN, "%s: SizeLimit=%.40s is not a number", path, v);
	}
	r = s->to.n > 0;
out:
	free(ini);
	return r;
}

/* ---- building the copy -------------------------------------------------- */

/* header_end - offset of the body (after the empty line), or LEN. */
static size_t
header_end(const char *m, size_t len)
{
	size_t i;

	if (len > 0 && m[0] == '\n')
		return 1;
	for (i = 0; i + 1 < len; i++) {
		if (m[i] == '\n' && m[i + 1] == '\n')
			return i + 2;
		if (m[i] == '\n' && m[i + 1] == '\r' && i + 2 < len && m[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* boundary_of - the boundary parameter of a multipart Content-Type. */
static int
boundary_of(const char *ct, char *out, size_t size)
{
	const char *b = strcasestr(ct, "boundary=");
	size_t n = 0;

	if (strncasecmp(pu_trim((char *)ct), "multipart/", 10) != 0 || b == NULL)
		return 0;
	b += 9;
	if (*b == '"') {
		b++;
		while (b[n] && b[n] != '"')
			n++;
	} else
		while (b[n] && b[n] != ';' && b[n] != ' ' && b[n] != '\t')
			n++;
	if (n == 0 || n >= size || n > 70)
		return 0;
	memcpy(out, b, n);
	out[n] = '\0';
	return 1;
}

/* part_is_attachment - a MIME part's header says attachment / file name. */
static int
part_is_attachment(const char *p, size_t hlen)
{
	char *h = strndup(p, hlen);
	int r;

	if (h == NULL)
		return 0;
	r = strcasestr(h, "\ncontent-disposition: attachment") != NULL ||
	    strncasecmp(h, "content-disposition: attachment", 31) == 0 ||
	    strcasestr(h, "filename=") != NULL || strcasestr(h, "filename*=") != NULL ||
	    strcasestr(h, "; name=") != NULL;
	free(h);
	return r;
}

/* strip_attachments - BODY of a multipart with boundary B into OUT
 * without its attachment parts (each part goes out with the delimiter line
 * before it, or not at all).  The number of parts removed, -1 no memory. */
static int
strip_attachments(const char *body, size_t len, const char *b, char **out,
    size_t *outlen)
{
	size_t bl = strlen(b), i = 0, dstart = (size_t)-1, pstart = 0, o = 0;
	char *r = malloc(len + 1);
	int removed = 0;

	if (r == NULL)
		return -1;
	while (i < len) {
		size_t ls = i, le = i, next;

		while (le < len && body[le] != '\n')
			le++;
		next = le < len ? le + 1 : le;
		if (le - ls >= bl + 2 && body[ls] == '-' && body[ls + 1] == '-' &&
		    memcmp(body + ls + 2, b, bl) == 0) {
			if (dstart == (size_t)-1) {
				memcpy(r + o, body, ls);	/* the preamble */
				o += ls;
			} else if (part_is_attachment(body + pstart,
			    header_end(body + pstart, ls - pstart)))
				removed++;
			else {
				memcpy(r + o, body + dstart, ls - dstart);
				o += ls - dstart;
			}
			if (le - ls >= bl + 4 && body[ls + bl + 2] == '-' &&
			    body[ls + bl + 3] == '-') {
				/* the closing delimiter and the epilogue */
				memcpy(r + o, body + ls, len - ls);
				o += len - ls;
				dstart = (size_t)-2;
				break;
			}
			dstart = ls;
			pstart = next;
		}
		i = next;
	}
	if (dstart != (size_t)-2) {
		/* no closing delimiter: not a body we understand; keep it */
		memcpy(r, body, len);
		o = len;
		removed = 0;
	}
	*out = r;
	*outlen = o;
	return removed;
}

/* skip_trace - the length of the core's trace lines at the top of the
 * stored copy M (LEN bytes): "Return-Path:" then "Delivered-To:", each one
 * line.  0 when M does not begin with them. */
static size_t
skip_trace(const char *m, size_t len)
{
	static const char *const f[] = { "Return-Path:", "Delivered-To:" };
	const char *nl;
	size_t o = 0, i;

	for (i = 0; i < 2; i++) {
		size_t fl = strlen(f[i]);

		if (len - o < fl || strncasecmp(m + o, f[i], fl) != 0 ||
		    (nl = memchr(m + o, '\n', len - o)) == NULL)
			return 0;
		o = (size_t)(nl - m) + 1;
	}
	return o;
}

/* build_copy - "Delivered-To: RCPT" + the message (S's options applied).
 * From the stored copy (STORED) the core's trace lines are left out: the
 * copy gets a Return-Path of its own where it is delivered, and the
 * Delivered-To written here takes the place of the stored one. */
static char *
build_copy(const char *m, size_t len, int stored, const char *rcpt,
    const struct setup *s, size_t *outlen)
{
	size_t hl, bl, n, skip = stored ? skip_trace(m, len) : 0;
	char *body = NULL, *out;
	const char *bp;

	m += skip;
	len -= skip;
	hl = header_end(m, len);
	bl = len - hl;
	bp = m + hl;

	if (s->strip_att) {
		/* the top Content-Type, unfolded enough for the boundary */
		char *hdr = strndup(m, hl), *ct, boundary[80];

		if (hdr && (ct = strcasestr(hdr, "\ncontent-type:")) != NULL) {
			char *e = ct + 14, *q;

			for (q = e; *q; q++) {
				if (*q == '\n' && q[1] != ' ' && q[1] != '\t') {
					*q = '\0';
					break;
				}
				if (*q == '\n' || *q == '\r' || *q == '\t')
					*q = ' ';
			}
			if (boundary_of(e, boundary, sizeof(boundary))) {
				size_t nl;
				int rm = strip_attachments(bp, bl, boundary, &body, &nl);

				if (rm > 0) {
					yh_log(YH_LOG_INFO, "forward copy: %d attachment(s) "
					    "removed", rm);
					bp = body;
					bl = nl;
				}
			}
		}
		free(hdr);
	}
	if (s->size_limit >= 0 && (long long)bl > s->size_limit)
		bl = (size_t)s->size_limit;
	n = strlen(rcpt) + 16 + hl + bl;
	out = malloc(n + 1);
	if (out) {
		int k = snprintf(out, n + 1, "Delivered-To: %s\n", rcpt);

		memcpy(out + k, m, hl);
		memcpy(out + k + hl, bp, bl);
		*outlen = (size_t)k + hl + bl;
	}
	free(body);
	return out;
}

/* loop_seen - the message already went through RCPT.  In the stored copy
 * (STORED) the first Delivered-To is the core's own for this delivery: only
 * the ones below it count. */
static int
loop_seen(struct yh_delivery *d, const char *rcpt, int stored)
{
	const char *v;
	int i;

	for (i = stored ? 1 : 0;
	    (v = yh_dlv_header(d, "Delivered-To", i)) != NULL && i < 1000; i++) {
		char a[FWD_ADDR_MAX + 3];

		snprintf(a, sizeof(a), "%s", v);
		if (strcasecmp(pu_trim(a), rcpt) == 0)
			return 1;
	}
	return 0;
}

/* do_forward - queue the copy of the queue file (deliver) or of the stored
 * copy (STORED: delivered).  0 queued for every destination (a copy
 * over smtp.max_hops returned to its sender by yh_inject counts: the
 * sender was told), 1 not forwarded (a loop; logged), -1 failed (logged). */
static int
do_forward(struct yh_delivery *d, const struct setup *s, int stored)
{
	const char *path = yh_dlv_path(d), *rcpt = yh_dlv_rcpt(d);
	char *msg = NULL, *copy;
	char qid[32];
	size_t len = 0, clen = 0;
	int fd, r = -1, lp;
	struct stat st;
	ssize_t n;

	lp = loop_seen(d, rcpt, stored);
	if (lp) {
		yh_log(YH_LOG_WARN, "forward loop: message already delivered to "
		    "this address (Delivered-To); not forwarded to %zu "
		    "address(es)", s->to.n);
		return 1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || st.st_size > FWD_MSG_MAX ||
	    (msg = malloc((size_t)st.st_size + 1)) == NULL) {
		yh_log(YH_LOG_ERR, "forward: %s: %s", path, fd == -1 ? strerror(errno) :
		    "unreadable or too large");
		if (fd != -1)
			close(fd);
		return -1;
	}
	while (len < (size_t)st.st_size && (n = read(fd, msg + len,
	    (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	copy = build_copy(msg, len, stored, rcpt, s, &clen);
	if (copy && yh_inject(s->sender, (const char *const *)s->to.v, s->to.n,
	    copy, clen, qid) == 0) {
		size_t i;

		for (i = 0; i < s->to.n; i++)
			yh_log(YH_LOG_INFO, "forwarded to=<%s> from=<%s> as %s",
			    s->to.v[i], s->sender, qid);
		r = 0;
	} else
		yh_log(YH_LOG_ERR, "forward: queueing the copy failed");
	free(copy);
	free(msg);
	return r;
}

/* setup_load - everything that forwards this delivery. */
static void
setup_load(struct yh_delivery *d, const char *account, const char *acctdir,
    struct setup *s)
{
	char v[4096];

	memset(s, 0, sizeof(*s));
	s->size_limit = -1;
	s->keep = 1;
	forward_def(d, acctdir, s);
	if (s->to.n == 0) {
		struct setup ims;

		memset(&ims, 0, sizeof(ims));
		ims.size_limit = -1;
		if (ims_forward(d, account, acctdir, &ims)) {
			rcpts_free(&s->to);
			*s = ims;
		} else if (ims.configured)
			s->configured = 1;
	}
	if (s->to.n == 0 && yh_account_get(account, "forward_address", v, sizeof(v)) && *v) {
		s->configured = 1;
		add_list(&s->to, v, "forward_address");
		(void)pu_scopy(s->sender, sizeof(s->sender), yh_dlv_sender(d));
	}
}

/* deliver_result - the deliver hook's answer once forwarding is decided:
 * HOW is "queued" (every target queued), "none" (nothing configured) or
 * "kept" (configured but not made; WHY says why).  The copy is dropped
 * only for "queued" or "none" (the account's explicit Discard), and only
 * by the last of forward/autoreply; a copy not forwarded is always
 * stored.  Must never return YH_DISCARD for "kept". */
static int
deliver_result(struct yh_delivery *d, const char *account, const char *how,
    const char *why)
{
	(void)yh_dlv_note_set(d, "forward", how);
	if (strcmp(how, "kept") == 0) {
		yh_log(YH_LOG_WARN, "%s: not forwarded (%s); the copy is kept in "
		    "the mailbox despite Discard / forward_keep_copy = 0",
		    account, why);
		return YH_DECLINED;
	}
	if (plugin_after("forward", "autoreply"))
		return YH_DECLINED;	/* autoreply drops it after replying */
	yh_log(YH_LOG_INFO, "%s: no local copy kept (rule: %s)", account,
	    strcmp(how, "queued") == 0 ? "forwarded; IMS.CTL [Delivery] "
	    "Discard=Yes or forward_keep_copy = 0" : "IMS.CTL [Delivery] Discard=Yes");
	return YH_DISCARD;
}

/* run - forward D if its account says so.  Result for the hook. */
static int
run(struct yh_delivery *d, int in_deliver)
{
	const char *account = yh_dlv_account(d), *sender = yh_dlv_sender(d);
	const char *how = "none", *why = "";
	char adm[512];
	char acctdir[PATH_MAX];
	struct setup s;
	int discard;

	if (account == NULL || *account == '\0' ||
	    yh_account_dir(account, acctdir, sizeof(acctdir)) == -1)
		return YH_DECLINED;
	discard = discard_wanted(account, acctdir);
	if (discard != in_deliver)
		return YH_DECLINED;	/* the other hook does it */
	setup_load(d, account, acctdir, &s);
	admin_addr(adm, sizeof(adm));
	if (s.to.n > 0 && *adm && *sender && strcasecmp(adm, sender) == 0) {
		yh_log(YH_LOG_INFO, "%s: mail from the administrator is never "
		    "forwarded", account);
		how = "kept";
		why = "mail from the administrator";
	} else if (s.to.n > 0) {
		switch (do_forward(d, &s, !in_deliver)) {
		case 0:
			how = "queued";
			break;
		case 1:
			how = "kept";
			why = "loop: already delivered to this address";
			break;
		default:
			how = "kept";
			why = "queueing the copy failed";
			break;
		}
	} else if (s.configured) {
		how = "kept";
		why = "no permitted destination";
	}
	rcpts_free(&s.to);
	return in_deliver ? deliver_result(d, account, how, why) : YH_DECLINED;
}

static int
forward_deliver(struct yh_delivery *d)
{
	return run(d, 1);
}

static void
forward_delivered(struct yh_delivery *d)
{
	(void)run(d, 0);
}

static const struct yh_hooks forward_hooks = {
	YH_HOOKS_INIT,
	.deliver = forward_deliver,
	.delivered = forward_delivered,
};

/* [plugin forward] has no keys: the core refuses any (no .keys). */
const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "forward",
	.hooks = &forward_hooks,
};
