/*
 * ml - mailing lists (DESIGN §11, SEEDS §2.5 and §18, F095-F114, F138):
 * the plugin object, its [plugin ml] keys, the deliver hook that finds
 * the list and the role of the address written, and the helpers the role
 * files share (ml.h says how the files divide the work).
 *
 * Runs in the queue manager's local delivery agent as the server user.
 * Reads the list's files through a folder descriptor opened without
 * following links (lib/mlfile.c, compiled in: plugins see the core only
 * through hook.h).  Never runs a program except a list's processing
 * program through yh_spawn (post.c); never queues anything except through
 * yh_inject_once, so a delivery repeated after a crash sends nothing twice.
 * A list whose files cannot be read defers the message (4.3.0) and logs
 * why with file:line: a post is never lost to a typo.
 *
 * A post (post.c) is checked (mailing_list_public_level, post_password,
 * loops and automatic mail, max_post_size or smtp.max_message_size, the
 * subject filter, the list's program), numbered from the store ("count",
 * floor ml.def's count; "post/QID" keeps a post's number for a repeated
 * delivery), tagged (subject_format, mailing_list_subject_header), given
 * the list's fields (List-*, Precedence, X-ML-Name, X-Mail-Count,
 * Reply-To, From/To by the *_kind keys), archived with save_posts, and
 * queued to the members: per member with verp or mailing_list_to_kind 0,
 * else in transactions of at most max_recipients (packing domain: one
 * domain each; even: `split` equal parts).  [plugin ml] keys:
 * max_recipients, confirm_ttl, confirm_per_day, munge_from (DMARC: From:
 * "Poster via LIST" when the poster's domain has p=reject/quarantine and
 * the list changed the message; one TXT query to yh_dns_server), verp.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "ml.h"

struct ml_conf ML = { 100, 3 * 86400, 3, 1, 0 };

static const struct yh_key ml_plugin_keys[] = {
	/* recipients of one outgoing transaction (mlmmj's default) */
	{ "max_recipients",	YH_KEY_INT,	 "100", 1, 1000 },
	/* a JOIN's confirmation stays valid this long */
	{ "confirm_ttl",	YH_KEY_DURATION, "3d", 60000, 30LL * 86400000 },
	/* confirmation mails one address may get in a day */
	{ "confirm_per_day",	YH_KEY_INT,	 "3", 1, 100 },
	/* rewrite From: of posters whose domain publishes DMARC p=reject or
	 * p=quarantine when the list changes the message */
	{ "munge_from",		YH_KEY_BOOL,	 "1", 0, 0 },
	/* envelope sender NAME-bounces+LOCAL=DOMAIN@DOMAIN, one per member */
	{ "verp",		YH_KEY_BOOL,	 "0", 0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

static int
ml_init(const struct yh_config *cfg, void **gen)
{
	struct ml_conf *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		yh_error("[plugin ml] out of memory");
		return -1;
	}
	c->max_rcpts = yh_config_int(cfg, "max_recipients");
	c->confirm_ttl = yh_config_duration(cfg, "confirm_ttl") / 1000;
	c->confirm_per_day = yh_config_int(cfg, "confirm_per_day");
	c->munge_from = yh_config_bool(cfg, "munge_from");
	c->verp = yh_config_bool(cfg, "verp");
	*gen = c;
	return 0;
}

static void
ml_commit(void *gen)
{
	ML = *(struct ml_conf *)gen;
	free(gen);
}

static void
ml_discard(void *gen)
{
	free(gen);
}

/* ---- shared helpers -------------------------------------------------------- */

int
ml_header(const struct ml_ctx *c, const char *name, int n, char *out,
    size_t size)
{
	size_t nl = strlen(name), i = 0, o;
	const char *p = c->msg, *end = c->msg + c->hdrlen;
	int seen = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':' && seen++ == n) {
			/* the value, continuation lines joined by one blank */
			const char *v = p + nl + 1;

			o = 0;
			for (;;) {
				while (v < eol && (*v == ' ' || *v == '\t') && o == 0)
					v++;
				for (; v < eol; v++) {
					if (*v == '\r')
						continue;
					if (o + 1 >= size)
						return -1;
					out[o++] = *v;
				}
				if (eol >= end || (eol[1] != ' ' && eol[1] != '\t'))
					break;
				v = eol + 1;
				while (v < end && (*v == ' ' || *v == '\t'))
					v++;
				if (o + 1 >= size)
					return -1;
				out[o++] = ' ';
				eol = memchr(v, '\n', (size_t)(end - v));
				if (eol == NULL)
					eol = end;
			}
			out[o] = '\0';
			return 1;
		}
		p = eol + 1;
		i++;
	}
	(void)i;
	return 0;
}

const char *
ml_body(const struct ml_ctx *c, size_t *len_r)
{
	size_t off = c->hdrlen;

	/* skip the blank line that ends the header */
	if (off < c->len && c->msg[off] == '\r')
		off++;
	if (off < c->len && c->msg[off] == '\n')
		off++;
	*len_r = c->len - off;
	return c->msg + off;
}

char *
ml_store_key(const struct ml_ctx *c, const char *what, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", c->account, what);
	return out;
}

int
ml_send(struct ml_ctx *c, const char *tag, const char *sender,
    const char *const *rcpts, size_t n, const void *data, size_t len)
{
	char key[ML_KEY_MAX + YH_ACCOUNT_MAX + YH_QID_SIZE];
	int r;

	snprintf(key, sizeof(key), "%s/%s/%s", c->account, c->qid, tag);
	r = yh_inject_once(key, sender, rcpts, n, data, len, NULL);
	if (r == 1)
		yh_log(YH_LOG_INFO, "list %s: %s for %s was queued before", c->addr,
		    tag, c->qid);
	if (r == -1) {
		yh_log(YH_LOG_ERR, "list %s: cannot queue %s for %s", c->addr, tag,
		    c->qid);
		return -1;
	}
	return 0;
}

/* date_now - an RFC 5322 date (UTC) into OUT. */
static void
date_now(char *out, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = (time_t)yh_now();
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(out, size, "%s, %d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

int
ml_notice(struct ml_ctx *c, const char *tag, const char *to,
    const char *subject, const char *text)
{
	char date[64], from[sizeof(c->addr) + 16], bounces[sizeof(c->addr) + 16];
	const char *rcpts[1];
	char *msg = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	snprintf(from, sizeof(from), "%s-request@%s", c->name, c->domain);
	snprintf(bounces, sizeof(bounces), "%s-bounces@%s", c->name, c->domain);
	date_now(date, sizeof(date));
	if ((f = open_memstream(&msg, &len)) == NULL)
		return -1;
	fprintf(f, "From: %s\nTo: %s\nSubject: %s\nDate: %s\n"
	    "Message-ID: <%s.%s.%s@%s>\nAuto-Submitted: auto-replied\n"
	    "Precedence: list\nList-Id: <%s.%s>\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n%s", from, to, subject, date,
	    c->qid, tag, c->name, c->domain, c->name, c->domain, text);
	if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
		fputc('\n', f);
	if (fclose(f) != 0) {
		free(msg);
		return -1;
	}
	rcpts[0] = to;
	r = ml_send(c, tag, bounces, rcpts, 1, msg, len);
	free(msg);
	return r;
}

int
ml_is_member(const struct ml_ctx *c, const char *addr)
{
	return ml_list_find(&c->members, addr) >= 0;
}

int
ml_members_edit(struct ml_ctx *c, const char *addr, int add, const char **why_r)
{
	char path[sizeof(c->dir) + 32], why[ML_MSG_MAX];
	struct ml_errs errs;
	struct ml_list l;
	char *data;
	size_t len, i;
	int fd, r;

	if ((fd = openat(c->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    ml_lock(fd) == -1) {
		yh_log(YH_LOG_ERR, "list %s: %s: cannot lock: %s", c->addr, c->dir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	ml_list_init(&l);
	ml_errs_init(&errs);
	snprintf(path, sizeof(path), "%s/%s", c->dir, ML_MEMBER_FILE);
	if (ml_list_load(&l, fd, path, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			yh_log(YH_LOG_ERR, "list %s: %s", c->addr, errs.msg[i]);
		*why_r = "the member file has errors the list's administrator "
		    "must correct first";
		r = -2;
		goto out;
	}
	r = add ? ml_list_add(&l, "", addr, why_r) : ml_list_del(&l, addr);
	if (r == -1) {
		r = -2;
		goto out;
	}
	if (r == 1) {
		if (ml_list_format(&l, 1, &data, &len) == -1) {
			yh_log(YH_LOG_ERR, "list %s: out of memory", c->addr);
			r = -1;
			goto out;
		}
		if (ml_file_write(fd, ML_MEMBER_FILE, data, len, ML_FILE_MODE,
		    (uid_t)-1, (gid_t)-1, why, sizeof(why)) == -1) {
			yh_log(YH_LOG_ERR, "list %s: %s: %s", c->addr, path, why);
			r = -1;
		}
		free(data);
		if (r == 1) {
			const char *w;

			if (add)
				(void)ml_list_add(&c->members, "", addr, &w);
			else
				(void)ml_list_del(&c->members, addr);
			yh_log(YH_LOG_INFO, "list %s: <%s> %s", c->addr, addr,
			    add ? "added" : "removed");
		}
	}
out:
	ml_errs_free(&errs);
	ml_list_free(&l);
	close(fd);
	return r;
}

/* ---- the deliver hook ------------------------------------------------------- */

/* ctx_errors - log every message of ERRS (file:line ones) for C. */
static void
ctx_errors(const struct ml_ctx *c, struct ml_errs *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		yh_log(YH_LOG_ERR, "list %s: %s", c->account, e->msg[i]);
	if (e->dropped)
		yh_log(YH_LOG_ERR, "list %s: %zu more errors", c->account,
		    e->dropped);
}

static void
ctx_free(struct ml_ctx *c)
{
	if (c->dfd != -1)
		close(c->dfd);
	ml_def_free(&c->def);
	ml_list_free(&c->members);
	free(c->msg);
}

/* defer - keep C's message in the queue (retried) with a reason. */
static int
defer(struct ml_ctx *c, const char *why)
{
	yh_log(YH_LOG_ERR, "list %s: %s; the message stays queued", c->account,
	    why);
	yh_dlv_reply(c->d, 451, "4.3.0", "list %s: %s", c->account, why);
	return YH_DENYSOFT;
}

void
ml_msg_set(struct ml_ctx *c, char *msg, size_t len)
{
	const char *p;

	if (c->msg != msg)
		free(c->msg);
	c->msg = msg;
	c->len = len;
	for (p = msg; p < msg + len; ) {
		const char *eol = memchr(p, '\n', len - (size_t)(p - msg));

		if (eol == NULL || p == eol || (p + 1 == eol && *p == '\r'))
			break;
		p = eol + 1;
	}
	c->hdrlen = (size_t)(p - msg);
}

/*
 * ctx_open - C for delivery D: the list's folder, ml.def (bad: deferred),
 * its members (bad lines logged and left out), the message.  0 ready, 1
 * not a list (declined), or a yh_result to return.
 */
static int
ctx_open(struct ml_ctx *c, struct yh_delivery *d)
{
	char path[sizeof(c->dir) + 32], why[ML_MSG_MAX], local[YH_RCPT_MAX];
	char base[YH_ACCOUNT_MAX + 1];
	const char *at, *p;
	struct ml_errs errs;
	size_t n;
	int r;

	memset(c, 0, sizeof(*c));
	c->dfd = -1;
	ml_list_init(&c->members);
	if (ml_def_init(&c->def) == -1)
		return defer(c, "out of memory");
	c->d = d;
	c->account = yh_dlv_account(d);
	c->rcpt = yh_dlv_rcpt(d);
	c->sender = yh_dlv_sender(d);
	snprintf(c->qid, sizeof(c->qid), "%s", yh_dlv_queue_id(d));
	if (yh_account_dir(c->account, c->dir, sizeof(c->dir)) == -1)
		return 1;
	/* most deliveries are to mailboxes: one question decides that */
	snprintf(path, sizeof(path), "%s/%s", c->dir, ML_DEF_FILE);
	if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT)
		return 1;	/* not a list */
	c->dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dfd == -1 || faccessat(c->dfd, ML_DEF_FILE, F_OK,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return 1;	/* not a list */
	ml_errs_init(&errs);
	snprintf(path, sizeof(path), "%s/%s", c->dir, ML_DEF_FILE);
	r = ml_def_load(&c->def, c->dfd, path, &errs);
	ctx_errors(c, &errs);
	ml_errs_free(&errs);
	if (r == -1)
		return defer(c, "ml.def cannot be used (see the errors above)");
	ml_errs_init(&errs);
	snprintf(path, sizeof(path), "%s/%s", c->dir, ML_MEMBER_FILE);
	(void)ml_list_load(&c->members, c->dfd, path, &errs);
	ctx_errors(c, &errs);	/* the good lines still serve */
	ml_errs_free(&errs);

	/* NAME: the account's local part; DOMAIN: ml.def, else the rcpt's */
	at = strchr(c->account, '@');
	n = at ? (size_t)(at - c->account) : strlen(c->account);
	snprintf(c->name, sizeof(c->name), "%.*s", (int)n, c->account);
	p = strrchr(c->rcpt, '@');
	snprintf(c->domain, sizeof(c->domain), "%s",
	    c->def.str[ML_DOMAIN][0] ? c->def.str[ML_DOMAIN] :
	    at ? at + 1 : p ? p + 1 : "localhost");
	snprintf(c->addr, sizeof(c->addr), "%s@%s", c->name, c->domain);
	if (c->def.str[ML_ADMIN][0])
		snprintf(c->admin, sizeof(c->admin), "%s", c->def.str[ML_ADMIN]);
	else
		snprintf(c->admin, sizeof(c->admin), "postmaster@%s", c->domain);

	/* the role: the local part written, lower case */
	n = p ? (size_t)(p - c->rcpt) : strlen(c->rcpt);
	if (n >= sizeof(local))
		return defer(c, "recipient too long");
	for (size_t i = 0; i < n; i++)
		local[i] = (char)(c->rcpt[i] >= 'A' && c->rcpt[i] <= 'Z' ?
		    c->rcpt[i] + 32 : c->rcpt[i]);
	local[n] = '\0';
	c->role = ml_addr_role(local, base, sizeof(base));
	if (c->role != NULL && strcmp(base, c->name) != 0)
		c->role = NULL;

	r = yh_read_safe(yh_dlv_path(d), (size_t)ML_MSG_MAXSIZE, &c->msg,
	    &c->len, why, sizeof(why));
	if (r != 1)
		return defer(c, r == 0 ? "the queue file is gone" : why);
	ml_msg_set(c, c->msg, c->len);
	return 0;
}

/* owner - NAME-owner@: the message goes to the admin address as it is. */
static int
owner(struct ml_ctx *c)
{
	const char *rcpts[1] = { c->admin };

	if (ml_send(c, "owner", c->sender, rcpts, 1, c->msg, c->len) == -1)
		return defer(c, "cannot queue the message for the owner");
	yh_log(YH_LOG_INFO, "list %s: owner mail from <%s> sent to <%s>", c->addr,
	    c->sender, c->admin);
	return YH_DISCARD;
}

static int
ml_deliver(struct yh_delivery *d)
{
	struct ml_ctx c;
	int r;

	r = ctx_open(&c, d);
	if (r == 1) {
		ctx_free(&c);
		return YH_DECLINED;
	}
	if (r == 0) {
		if (c.role == NULL)
			r = ml_post(&c);
		else if (strcmp(c.role, "owner") == 0)
			r = owner(&c);
		else if (strcmp(c.role, "request") == 0)
			r = ml_request(&c);
		else
			r = ml_bounce(&c);
	}
	ctx_free(&c);
	return r;
}

static const struct yh_hooks ml_hooks = {
	YH_HOOKS_INIT,
	.deliver = ml_deliver,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "ml",
	.keys = ml_plugin_keys,
	.init = ml_init,
	.commit = ml_commit,
	.discard = ml_discard,
	.hooks = &ml_hooks,
};
