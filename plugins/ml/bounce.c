/*
 * bounce.c - bounces of list mail at NAME-bounces@DOMAIN (DESIGN §11).
 *
 * Runs in the queue manager's local delivery agent as the server user
 * (ml.c's deliver hook).  Never answers a bounce; changes ml_member.csv
 * only under the folder's lock on a fresh read, and never rewrites a
 * member file that has bad lines.
 *
 * What is implemented:
 * - The member bounced is the VERP part of the address written
 *   (NAME-bounces+LOCAL=DOMAIN@... -> LOCAL@DOMAIN) when there is one,
 *   else the recipients of an RFC 3464 report (multipart/report;
 *   report-type=delivery-status, its message/delivery-status part: the
 *   per-recipient blocks, Original-Recipient before Final-Recipient).
 * - Only a permanent failure counts: a report whose recipients are all
 *   "Action: delayed" or a 4.x.x Status is logged and not counted (a
 *   VERP bounce that is no report at all counts).
 * - The count per member is kept in the store ("bounce/ADDR", the domain
 *   in lower case) for BOUNCE_TTL after the last bounce; a message is
 *   counted once even when its delivery runs again ("bounced/QID").
 * - With ml.def bounce_limit > 0, the member whose count reaches it is
 *   removed and the admin address is told (unless silent=1).
 * - A bounce for an address that is no member is logged and dropped; one
 *   that names no member at all (no VERP part, no report) is logged and
 *   passed once to the admin address.
 * The message is then dropped (YH_DISCARD); a store or file error defers
 * it (451 4.3.0).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "ml.h"

#define BOUNCE_TTL	(30LL * 86400)	/* a count lives this long after
					 * the member's last bounce */
#define BOUNCE_RCPTS	32		/* recipients read from one report */

/* what a delivery status report says */
struct dsn {
	int	report;			/* a delivery-status part was found */
	size_t	n;			/* permanent failures in addr[] */
	int	temporary;		/* recipients delayed or 4.x.x */
	char	addr[BOUNCE_RCPTS][ML_ADDR_MAX + 1];
};

/* field - header field NAME of the block H (LEN bytes), unfolded, into
 * OUT (cut to SIZE).  1 found, 0 not. */
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

/* param - parameter NAME of the header value V into OUT.  1 or 0. */
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

/* line_end - the start of the line after P (END when none). */
static const char *
line_end(const char *p, const char *end)
{
	const char *eol = memchr(p, '\n', (size_t)(end - p));

	return eol ? eol + 1 : end;
}

/* blank - the line at P is empty. */
static int
blank(const char *p, const char *end)
{
	return p < end && (*p == '\n' || (*p == '\r' && p + 1 < end &&
	    p[1] == '\n'));
}

/* rcpt_value - the address of a "TYPE; ADDR" recipient field V into OUT. */
static int
rcpt_value(const char *v, char *out, size_t size)
{
	const char *p = strchr(v, ';'), *why;
	size_t n;

	p = p ? p + 1 : v;
	while (*p == ' ' || *p == '<')
		p++;
	n = strcspn(p, " >");
	if (n == 0 || n >= size)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return ml_addr_check(out, &why) == 1;
}

/* dsn_block - one per-recipient block B (LEN bytes) into D. */
static void
dsn_block(struct dsn *d, const char *b, size_t len)
{
	char action[64] = "", status[64] = "", v[ML_ADDR_MAX + 64];
	char orig[ML_ADDR_MAX + 1] = "", final[ML_ADDR_MAX + 1] = "";

	if (field(b, len, "Original-Recipient", v, sizeof(v)) &&
	    !rcpt_value(v, orig, sizeof(orig)))
		orig[0] = '\0';
	if (field(b, len, "Final-Recipient", v, sizeof(v)) &&
	    !rcpt_value(v, final, sizeof(final)))
		final[0] = '\0';
	if (orig[0] == '\0' && final[0] == '\0')
		return;		/* the per-message block */
	(void)field(b, len, "Action", action, sizeof(action));
	(void)field(b, len, "Status", status, sizeof(status));
	if (strncasecmp(action, "failed", 6) != 0 || status[0] != '5') {
		d->temporary = 1;
		return;
	}
	if (orig[0] && d->n < BOUNCE_RCPTS)
		snprintf(d->addr[d->n++], sizeof(d->addr[0]), "%s", orig);
	if (final[0] && d->n < BOUNCE_RCPTS)
		snprintf(d->addr[d->n++], sizeof(d->addr[0]), "%s", final);
}

/* dsn_parse - C's message as an RFC 3464 report into D. */
static void
dsn_parse(struct ml_ctx *c, struct dsn *d)
{
	char ct[1024], rt[64], bnd[256], delim[260];
	const char *b, *end, *p;
	size_t blen, dl;

	memset(d, 0, sizeof(*d));
	if (ml_header(c, "Content-Type", 0, ct, sizeof(ct)) != 1 ||
	    strncasecmp(ct, "multipart/report", 16) != 0 ||
	    !param(ct, "report-type", rt, sizeof(rt)) ||
	    strcasecmp(rt, "delivery-status") != 0 ||
	    !param(ct, "boundary", bnd, sizeof(bnd)))
		return;
	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", bnd);
	b = ml_body(c, &blen);
	end = b + blen;
	for (p = b; p < end; p = line_end(p, end)) {
		char pct[256] = "";
		const char *h, *q;

		if ((size_t)(end - p) < dl || memcmp(p, delim, dl) != 0)
			continue;
		h = line_end(p, end);
		if (!field(h, (size_t)(end - h), "Content-Type", pct, sizeof(pct)) ||
		    (strncasecmp(pct, "message/delivery-status", 23) != 0 &&
		    strncasecmp(pct, "message/global-delivery-status", 30) != 0))
			continue;
		d->report = 1;
		/* skip the part's header, then blocks until the delimiter */
		for (q = h; q < end && !blank(q, end); q = line_end(q, end))
			;
		q = line_end(q, end);
		while (q < end) {
			const char *s;

			while (q < end && blank(q, end))
				q = line_end(q, end);
			if (q >= end || ((size_t)(end - q) >= dl &&
			    memcmp(q, delim, dl) == 0))
				return;
			for (s = q; s < end && !blank(s, end) &&
			    ((size_t)(end - s) < dl || memcmp(s, delim, dl) != 0);
			    s = line_end(s, end))
				;
			dsn_block(d, q, (size_t)(s - q));
			q = s;
		}
		return;
	}
}

/* verp_addr - the member of a NAME-bounces+LOCAL=DOMAIN recipient into OUT. */
static int
verp_addr(const struct ml_ctx *c, char *out, size_t size)
{
	const char *at = strrchr(c->rcpt, '@'), *p, *why;
	size_t n = at ? (size_t)(at - c->rcpt) : strlen(c->rcpt), i;
	char *eq;

	for (p = c->rcpt; p + 9 <= c->rcpt + n; p++)
		if (strncasecmp(p, "-bounces+", 9) == 0)
			break;
	if (p + 9 > c->rcpt + n)
		return 0;
	p += 9;
	n -= (size_t)(p - c->rcpt);
	if (n == 0 || n >= size)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	if ((eq = strrchr(out, '=')) == NULL)
		return 0;
	*eq = '@';
	for (i = (size_t)(eq - out); out[i]; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return ml_addr_check(out, &why) == 1;
}

/* count - one more bounce for the member ADDR; removal at the limit.
 * 0, or -1 (transient). */
static int
count(struct ml_ctx *c, const char *addr)
{
	char what[ML_ADDR_MAX + 32], key[ML_ADDR_MAX + YH_ACCOUNT_MAX + 64];
	char mark[YH_QID_SIZE + 32], mkey[YH_QID_SIZE + YH_ACCOUNT_MAX + 64];
	char val[32], subject[1024], text[1536];
	const char *why;
	long long n = 0, limit = c->def.num[ML_BOUNCE_LIMIT];
	size_t len = sizeof(val) - 1;
	int g, r;

	snprintf(mark, sizeof(mark), "bounced/%s", c->qid);
	ml_store_key(c, mark, mkey, sizeof(mkey));
	snprintf(what, sizeof(what), "bounce/%s", addr);
	ml_store_key(c, what, key, sizeof(key));
	if ((g = yh_store_get(mkey, NULL, &(size_t){ 0 })) == -1)
		return -1;
	if (g == 0) {
		if ((g = yh_store_get(key, val, &len)) == -1)
			return -1;
		if (g == 1 && len < sizeof(val)) {
			val[len] = '\0';
			n = strtoll(val, NULL, 10);
		}
		snprintf(val, sizeof(val), "%lld", ++n);
		if (yh_store_put(key, val, strlen(val), BOUNCE_TTL) == -1 ||
		    yh_store_put(mkey, "1", 1, BOUNCE_TTL) == -1)
			return -1;
		yh_log(YH_LOG_INFO, "list %s: bounce %lld for <%s> (bounce_limit "
		    "%lld)", c->addr, n, addr, limit);
	} else {
		len = sizeof(val) - 1;
		if (yh_store_get(key, val, &len) == 1 && len < sizeof(val)) {
			val[len] = '\0';
			n = strtoll(val, NULL, 10);
		}
	}
	if (limit <= 0 || n < limit)
		return 0;
	if ((r = ml_members_edit(c, addr, 0, &why)) < 0) {
		if (r == -2)
			yh_log(YH_LOG_ERR, "list %s: <%s> not removed: %s",
			    c->addr, addr, why);
		return -1;
	}
	(void)yh_store_del(key);
	if (r == 0)
		return 0;
	yh_log(YH_LOG_INFO, "list %s: <%s> removed after %lld bounces", c->addr,
	    addr, n);
	if (c->def.num[ML_SILENT])
		return 0;
	snprintf(subject, sizeof(subject), "%s: %s removed after %lld bounces",
	    c->addr, addr, n);
	snprintf(text, sizeof(text), "Mail from %s to %s bounced %lld times "
	    "(bounce_limit=%lld); the address was removed from the list.\n",
	    c->addr, addr, n, limit);
	return ml_notice(c, "bounce-removed", c->admin, subject, text);
}

/* unparsed - a bounce naming no member: logged, passed to the admin once. */
static int
unparsed(struct ml_ctx *c)
{
	const char *rcpts[1] = { c->admin };

	yh_log(YH_LOG_WARN, "list %s: bounce from <%s> names no recipient; "
	    "passed to <%s>", c->addr, c->sender, c->admin);
	return ml_send(c, "bounce-unparsed", "", rcpts, 1, c->msg, c->len);
}

static int
defer(struct ml_ctx *c)
{
	yh_log(YH_LOG_ERR, "list %s: bounce %s deferred", c->addr, c->qid);
	yh_dlv_reply(c->d, 451, "4.3.0", "list %s: cannot count the bounce now",
	    c->addr);
	return YH_DENYSOFT;
}

int
ml_bounce(struct ml_ctx *c)
{
	char verp[ML_ADDR_MAX + 1];
	const char *who = NULL;
	struct dsn *d;
	size_t i;
	int has_verp, r = 0;

	if ((d = malloc(sizeof(*d))) == NULL)
		return defer(c);
	has_verp = verp_addr(c, verp, sizeof(verp));
	dsn_parse(c, d);
	if (d->report && d->n == 0 && d->temporary) {
		yh_log(YH_LOG_INFO, "list %s: delay report for <%s> not counted",
		    c->addr, has_verp ? verp : "?");
		free(d);
		return YH_DISCARD;
	}
	if (has_verp)
		who = verp;
	else
		for (i = 0; i < d->n && who == NULL; i++)
			if (ml_is_member(c, d->addr[i]))
				who = d->addr[i];
	if (who == NULL && !has_verp && d->n == 0)
		r = unparsed(c);
	else if (who == NULL || !ml_is_member(c, who))
		yh_log(YH_LOG_INFO, "list %s: bounce for <%s>, not a member; "
		    "dropped", c->addr, who ? who : d->addr[0]);
	else {
		char norm[ML_ADDR_MAX + 1], *at;

		/* one count per member, whatever case its domain comes in */
		snprintf(norm, sizeof(norm), "%s", who);
		if ((at = strrchr(norm, '@')) != NULL)
			for (; *at; at++)
				*at = (char)tolower((unsigned char)*at);
		r = count(c, norm);
	}
	free(d);
	if (r == -1)
		return defer(c);
	return YH_DISCARD;
}
