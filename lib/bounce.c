/*
 * bounce.c - RFC 3464 reports and dead mail; see bounce.h.  Runs in the
 * queue manager as the server user.  The original message is read only for
 * its header, bounded by queue.bounce_headers_max, or whole for RET=FULL,
 * bounded by queue.bounce_full_max.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "addr.h"
#include "bounce.h"
#include "buf.h"
#include "config.h"
#include "dsn.h"
#include "log.h"
#include "queue.h"
#include "util.h"

void
bounce_split(const char *le, char *relay, size_t rsize, char *reply,
    size_t psize, int *said_r)
{
	const char *tab = le ? strchr(le, '\t') : NULL;

	relay[0] = reply[0] = '\0';
	*said_r = 0;
	if (le == NULL)
		return;
	if (tab) {
		snprintf(relay, rsize, "%.*s", (int)(tab - le), le);
		*said_r = tab[1] != '\t';
		snprintf(reply, psize, "%s", tab + 1 + !*said_r);
	} else
		snprintf(reply, psize, "%s", le);
}

static void
rfc5322_date(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* status_of - the X.Y.Z of REPLY ("550 5.1.1 ..."), else from its code. */
static void
status_of(const char *reply, int failed, char *out, size_t size)
{
	int code = atoi(reply), a, b, c, n = 0;

	if (strlen(reply) > 4 && sscanf(reply + 4, "%d.%d.%d%n", &a, &b, &c, &n) == 3 &&
	    (a == 2 || a == 4 || a == 5) && (reply[4 + n] == ' ' || reply[4 + n] == '\0'))
		snprintf(out, size, "%d.%d.%d", failed && a == 4 ? 5 : a, b, c);
	else
		snprintf(out, size, "%d.0.0", code >= 500 || failed ? 5 : 4);
}

/* bounce_headers - the original header, at most MAX bytes, CRLF-free. */
static void
bounce_headers(const char *qpath, size_t max, struct buf *out)
{
	char chunk[8192];
	ssize_t n;
	int fd = open(qpath, O_RDONLY | O_CLOEXEC), nl = 1;
	size_t i;

	if (fd == -1)
		return;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (i = 0; i < (size_t)n; i++) {
			if (chunk[i] == '\n' && nl)
				goto done;	/* the empty line: end of header */
			nl = chunk[i] == '\n';
			if (out->len >= max)
				goto done;
			buf_putc(out, chunk[i]);
		}
	}
done:
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_putc(out, '\n');
	close(fd);
}

/* bounce_full - the whole message at QPATH into OUT when it is at most
 * MAX bytes: 1 done, 0 too big (or unreadable: the header goes instead). */
static int
bounce_full(const char *qpath, long long max, struct buf *out)
{
	char *data = NULL;
	size_t len;

	if (max <= 0 || file_read(qpath, (size_t)max, &data, &len) == -1)
		return 0;
	buf_append(out, data, len);
	if (len > 0 && data[len - 1] != '\n')
		buf_putc(out, '\n');
	free(data);
	return 1;
}

/* bounce_orcpt - an ORCPT "type;address" as a field value "type; address" */
static void
bounce_orcpt(struct buf *out, const char *orcpt)
{
	const char *semi = strchr(orcpt, ';');

	if (semi == NULL)
		return;
	buf_printf(out, "Original-Recipient: %.*s; %s\n", (int)(semi - orcpt),
	    orcpt, semi + 1);
}

static const char *const bounce_actions[] = {
	"failed", "delayed", "delivered", "relayed", "expanded",
};

/* bounce_text - the human-readable part's opening for KIND */
static void
bounce_text(struct buf *out, enum bounce_kind kind)
{
	switch (kind) {
	case BOUNCE_FAILED:
		buf_printf(out, "I'm sorry to have to inform you that your message "
		    "could not\nbe delivered to one or more recipients. It is "
		    "attached below.\n\nFor further assistance, please send "
		    "mail to postmaster.\n\n");
		break;
	case BOUNCE_DELAYED:
		buf_printf(out, "Your message could not be delivered yet. It is "
		    "still in the queue and\nwill be retried; you do not need "
		    "to send it again.\n\n");
		break;
	default:
		buf_printf(out, "Your message was successfully delivered to the "
		    "destination(s)\nlisted below, as you asked (NOTIFY=SUCCESS). "
		    "Its header is attached.\n\n");
		break;
	}
}

void
bounce_build(const struct config *cfg, const struct envelope *env,
    const char *qpath, const size_t *idx, size_t n, enum bounce_kind kind,
    struct buf *out, int *full_r)
{
	const char *domain = config_str(cfg, "server.domain");
	const char *host = config_str(cfg, "smtp.hostname");
	long long fullmax = config_int(cfg, "queue.bounce_full_max");
	char date[64], relay[512], reply[1024], status[32], boundary[64];
	int delayed, failed, success, full = 0, said;
	struct buf part;
	size_t i;

	if ((unsigned)kind > BOUNCE_EXPANDED)
		kind = BOUNCE_FAILED;
	delayed = kind == BOUNCE_DELAYED;
	failed = kind == BOUNCE_FAILED;
	success = !failed && !delayed;
	if (full_r != NULL)
		*full_r = 0;
	if (*host == '\0')
		host = domain;
	/* RET=FULL: the message itself, in a failure report, when small enough */
	buf_init(&part, 0);
	if (failed && env->dsn_ret == DSN_RET_FULL)
		full = bounce_full(qpath, fullmax, &part);
	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", env->id,
	    time_now(), domain);
	rfc5322_date(time_now(), date, sizeof(date));
	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", domain);
	buf_printf(out, "To: <%s>\n", env->sender);
	buf_printf(out, "Subject: %s\n", delayed ?
	    "Delayed Mail (still being retried)" : success ?
	    "Successful Mail Delivery Report" :
	    "Undelivered Mail Returned to Sender");
	buf_printf(out, "Date: %s\n", date);
	buf_printf(out, "Message-ID: <%s.%lld.%s@%s>\n", env->id, time_now(),
	    delayed ? "delay" : success ? "success" : "bounce", domain);
	buf_printf(out, "Auto-Submitted: auto-replied\n");
	buf_printf(out, "MIME-Version: 1.0\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n\n", boundary);
	buf_printf(out, "This is a MIME-encapsulated message.\n\n--%s\n", boundary);
	buf_printf(out, "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=us-ascii\n\n");
	buf_printf(out, "This is the mail system at host %s.\n\n", host);
	bounce_text(out, kind);
	if (failed && env->dsn_ret == DSN_RET_FULL && !full)
		buf_printf(out, "The message is larger than %lld bytes: only its "
		    "header is attached.\n\n", fullmax);
	for (i = 0; i < n; i++) {
		const struct env_rcpt *rc = &env->rcpt[idx[i]];

		bounce_split(rc->last_error, relay, sizeof(relay), reply,
		    sizeof(reply), &said);
		if (kind == BOUNCE_DELIVERED || kind == BOUNCE_EXPANDED) {
			buf_printf(out, "<%s>: %s\n\n", rc->addr,
			    kind == BOUNCE_DELIVERED ? "delivered to mailbox" :
			    "delivered to a mailing list, which sends it on");
			continue;
		}
		if (kind == BOUNCE_RELAYED) {
			buf_printf(out, "<%s>: relayed to %s, which does not "
			    "offer delivery\n    notifications%s%s\n\n", rc->addr,
			    *relay ? relay : "the next hop", *reply ? ": " : "",
			    reply);
			continue;
		}
		buf_printf(out, "<%s>: %s%s%s\n", rc->addr,
		    said ? "host " : "", said ? relay : "",
		    said ? " said: " : "");
		buf_printf(out, "    %s\n\n", *reply ? reply : "delivery failed");
	}
	buf_printf(out, "--%s\nContent-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n", boundary);
	rfc5322_date(env->arrival, date, sizeof(date));
	/* RFC 3464 §2.2: Original-Envelope-Id comes first */
	if (env->dsn_envid != NULL)
		buf_printf(out, "Original-Envelope-Id: %s\n", env->dsn_envid);
	buf_printf(out, "Reporting-MTA: dns; %s\nX-Yubin-Queue-ID: %s\n", host,
	    env->id);
	if (env->sender[0])
		buf_printf(out, "X-Yubin-Sender: rfc822; %s\n", env->sender);
	buf_printf(out, "Arrival-Date: %s\n", date);
	for (i = 0; i < n; i++) {
		const struct env_rcpt *rc = &env->rcpt[idx[i]];
		char *colon;

		bounce_split(rc->last_error, relay, sizeof(relay), reply,
		    sizeof(reply), &said);
		if (success && reply[0] != '2')
			snprintf(status, sizeof(status), "2.0.0");
		else
			status_of(reply, failed, status, sizeof(status));
		buf_printf(out, "\n");
		if (rc->orcpt != NULL)
			bounce_orcpt(out, rc->orcpt);
		buf_printf(out, "Final-Recipient: rfc822; %s\n", rc->addr);
		buf_printf(out, "Action: %s\n", bounce_actions[kind]);
		buf_printf(out, "Status: %s\n", status);
		if (said) {
			/* "host[ip]:port" -> "dns; host" */
			colon = strchr(relay, '[');
			if (colon)
				*colon = '\0';
			buf_printf(out, "Remote-MTA: dns; %s\n", relay);
		}
		/* "smtp" only for what a remote server said (RFC 3464
		 * §2.3.6); yubin's own findings (connect, DNS, timeouts,
		 * local delivery) carry their own type, as Postfix's do */
		if (*reply && (kind == BOUNCE_RELAYED || !success))
			buf_printf(out, "Diagnostic-Code: %s; %s\n", said ?
			    "smtp" : "X-Yubin", reply);
		if (delayed) {
			char w[64];

			/* when yubin gives up (§2.3.9), not the next try;
			 * time held does not count (envelope_age) */
			rfc5322_date(env->arrival + env->held + config_int(cfg,
			    "smtp.resend_timeout"), w, sizeof(w));
			buf_printf(out, "Will-Retry-Until: %s\n", w);
		}
	}
	if (full) {
		buf_printf(out, "\n--%s\nContent-Description: Undelivered Message\n"
		    "Content-Type: message/rfc822\n%s\n", boundary,
		    env->body_8bit ? "Content-Transfer-Encoding: 8bit\n" : "");
		buf_append(out, part.data, part.len);
	} else {
		buf_printf(out, "\n--%s\nContent-Description: %s\n"
		    "Content-Type: text/rfc822-headers\n\n", boundary, success ?
		    "Message Headers" : "Undelivered Message Headers");
		bounce_headers(qpath, (size_t)config_int(cfg,
		    "queue.bounce_headers_max"), out);
	}
	buf_printf(out, "\n--%s--\n", boundary);
	buf_free(&part);
	if (full_r != NULL)
		*full_r = full;
}

/*
 * bounce_queue - queue the report of KIND on IDX[0..N) to ENV's sender
 * (TO_SENDER) and the administrator (TO_ADMIN).  0, or -1 (logged).
 */
static int
bounce_queue(const struct config *cfg, struct store *s,
    const struct envelope *env, const char *qpath, const size_t *idx,
    size_t n, enum bounce_kind kind, int to_sender, int to_admin)
{
	static const char *const names[] = {
		"non-delivery", "delay", "delivery", "relay", "expansion",
	};
	const char *domain = config_str(cfg, "server.domain");
	const char *admin = config_str(cfg, "server.admin_address");
	char adminaddr[512];
	struct addr_rcpt to;
	struct queue_in *q;
	struct envelope b;
	struct buf m;
	const char *why;
	size_t i;
	int r, full;

	memset(&b, 0, sizeof(b));
	adminaddr[0] = '\0';
	/* aliases apply to reports as to any mail (addr.h) */
	r = to_sender ? addr_resolve_rcpt(cfg, s, env->sender, &to) :
	    ADDR_DEST_NONE;
	if (r == ADDR_DEST_LOCAL)
		envelope_add_rcpt(&b, to.addr, to.account);
	else if (r == ADDR_DEST_FOREIGN || r == ADDR_DEST_REMOTE)
		envelope_add_rcpt(&b, to.addr, NULL);
	if (to_admin) {
		if (strchr(admin, '@'))
			snprintf(adminaddr, sizeof(adminaddr), "%s", admin);
		else
			snprintf(adminaddr, sizeof(adminaddr), "%s@%s", admin, domain);
		r = addr_resolve_rcpt(cfg, s, adminaddr, &to);
		if (r == ADDR_DEST_LOCAL || r == ADDR_DEST_FOREIGN ||
		    r == ADDR_DEST_REMOTE)
			envelope_add_rcpt(&b, to.addr, r == ADDR_DEST_LOCAL ?
			    to.account : NULL);
	}
	if (b.nrcpt == 0) {
		log_warn("%s: cannot return a report to <%s>: no such local user",
		    env->id, to_sender ? env->sender : adminaddr);
		return 0;
	}
	buf_init(&m, 0);
	bounce_build(cfg, env, qpath, idx, n, kind, &m, &full);
	if (queue_in_open(config_home(cfg), &q) == -1) {
		log_err("%s: cannot queue a report: %s", env->id, strerror(errno));
		goto fail;
	}
	if (queue_in_write(q, m.data, m.len) == -1) {
		log_err("%s: cannot queue a report: %s", env->id, strerror(errno));
		queue_in_abort(&q);
		goto fail;
	}
	b.sender = xstrdup("");
	snprintf(b.client_ip, sizeof(b.client_ip), "local");
	snprintf(b.helo, sizeof(b.helo), "bounce");
	b.arrival = time_now();
	b.body_8bit = full && env->body_8bit;	/* the message inside is */
	b.size_crlf = (long long)m.len;
	for (i = 0; i < m.len; i++)
		if (m.data[i] == '\n')
			b.size_crlf++;
	if (queue_in_commit(&q, s, &b, &why) == -1)
		goto fail;
	log_info("%s: %s %s notification: %s", env->id, to_sender ? "sender" :
	    "postmaster", names[kind], b.id);
	buf_free(&m);
	envelope_clear(&b);
	return 0;
fail:
	buf_free(&m);
	envelope_clear(&b);
	return -1;
}

int
bounce_send(const struct config *cfg, struct store *s,
    const struct envelope *env, const char *qpath, const size_t *idx,
    size_t n, enum bounce_kind kind)
{
	int bit = kind == BOUNCE_FAILED ? DSN_NOTIFY_FAILURE :
	    kind == BOUNCE_DELAYED ? DSN_NOTIFY_DELAY : DSN_NOTIFY_SUCCESS;
	int admin = (kind == BOUNCE_FAILED || kind == BOUNCE_DELAYED) &&
	    config_bool(cfg, "queue.send_error_copy_to_admin") &&
	    *config_str(cfg, "server.admin_address") != '\0';
	size_t *asked, na = 0, i;
	int r = 0;

	if (env->sender == NULL || env->sender[0] == '\0' || n == 0)
		return 0;	/* never bounce a bounce */
	if ((unsigned)kind > BOUNCE_EXPANDED)
		return -1;
	/* the recipients whose NOTIFY asks the sender to hear of this */
	asked = xcalloc(n, sizeof(*asked));
	for (i = 0; i < n; i++)
		if (dsn_wants(env->rcpt[idx[i]].notify, bit))
			asked[na++] = idx[i];
	if (na < n)
		log_info("%s: %zu of %zu recipients asked for no %s report "
		    "(NOTIFY)", env->id, n - na, n, bounce_actions[kind]);
	if (na == n || (!admin && na > 0))
		/* one report, as it always was */
		r = bounce_queue(cfg, s, env, qpath, asked, na, kind, 1,
		    admin);
	else {
		if (na > 0)
			r = bounce_queue(cfg, s, env, qpath, asked, na, kind, 1,
			    0);
		/* the administrator's copy does not depend on NOTIFY */
		if (admin && bounce_queue(cfg, s, env, qpath, idx, n, kind, 0,
		    1) == -1)
			r = -1;
	}
	free(asked);
	return r;
}

int
bounce_refused(const struct config *cfg, struct store *s, struct queue_in *q,
    struct envelope *env, const char *reply)
{
	const char *path = queue_in_path(q);
	size_t *idx, i;
	int r;

	if (path == NULL) {
		log_err("%s: cannot return the message to <%s>: %s", env->id,
		    env->sender ? env->sender : "", strerror(errno));
		return -1;
	}
	idx = xcalloc(env->nrcpt + 1, sizeof(*idx));
	for (i = 0; i < env->nrcpt; i++) {
		env->rcpt[i].state = RCPT_FAILED;
		free(env->rcpt[i].last_error);
		env->rcpt[i].last_error = xstrdup(reply);
		idx[i] = i;
	}
	r = bounce_send(cfg, s, env, path, idx, env->nrcpt, BOUNCE_FAILED);
	free(idx);
	return r;
}

int
bounce_deadmail(const struct config *cfg, const struct envelope *env,
    const char *qpath)
{
	char *dir, *dst, *edst, *data = NULL;
	struct buf rec;
	size_t len;
	int r = -1;

	dir = xasprintf("%s/deadmail", config_home(cfg));
	dst = xasprintf("%s/%s", dir, env->id);
	edst = xasprintf("%s/%s.env", dir, env->id);
	buf_init(&rec, 0);
	if (mkdir_p(dir, 0700) == -1)
		goto out;
	if (file_read(qpath, (size_t)1 << 40, &data, &len) == -1)
		goto out;
	if (file_write_atomic(dst, data, len, 0600) == -1)
		goto out;
	envelope_encode(env, &rec);
	if (file_write_atomic(edst, rec.data, rec.len, 0600) == -1)
		goto out;
	r = 0;
out:
	if (r == -1)
		log_err("%s: cannot keep in %s: %s", env->id, dir, strerror(errno));
	else
		log_info("%s: kept in deadmail", env->id);
	free(data);
	buf_free(&rec);
	free(dir);
	free(dst);
	free(edst);
	return r;
}
