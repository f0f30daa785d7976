/*
 * ctl_queue.c - yubinctl queue, suspend and resume: the queue's entries
 * listed (as text or JSON), shown, flushed, deleted, held and released,
 * and all delivery stopped and restarted (DESIGN.md §5).
 *
 * It works on the envelopes in LMDB (queue.h) and tells the queue manager
 * through HOME/run/qmgr.sock (queue_notify); yubind need not run.  Every
 * id given is checked to be a queue id before it names a key or a file.
 * Commands that take several ids go through all of them: an unknown one
 * is reported ("no such queue entry: ID") and makes the exit status 1,
 * the others are still done.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "ctl.h"
#include "json.h"
#include "queue.h"
#include "util.h"

#define QUEUE_USAGE	"usage: queue list [--json] | show ID | flush | " \
			"delete ID... | hold ID... | release ID..."
#define HOLD_ADMIN	"admin"		/* the reason of yubinctl queue hold */

static void
ctl_time(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;

	strftime(out, size, "%Y-%m-%d %H:%M:%S", localtime(&tt));
}

/* queue_id_ok - 1 when ID has the form of a queue id (queue.h): only
 * such a string is looked up, or ever becomes part of a path. */
static int
queue_id_ok(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (i >= QUEUE_ID_LEN || !((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'A' && id[i] <= 'F')))
			return 0;
	return i == QUEUE_ID_LEN;
}

/* rcpt_state_name - pending (never tried), deferred (tried, will retry),
 * sent, failed (bounced), held (its delivery crashed too often). */
static const char *
rcpt_state_name(const struct env_rcpt *rc)
{
	if (rc->state == RCPT_DONE)
		return "sent";
	if (rc->state == RCPT_FAILED)
		return "failed";
	if (rc->state == RCPT_HELD)
		return "held";
	return rc->attempts > 0 ? "deferred" : "pending";
}

static int
queue_list_one(void *ctx, const char *id)
{
	struct ctl *c = ctx;
	struct envelope e;
	char when[32];
	size_t i, pending = 0, deferred = 0, held = 0;
	long long next = 0;

	if (queue_get(c->store, id, &e) != 1)
		return 0;
	for (i = 0; i < e.nrcpt; i++) {
		if (e.rcpt[i].state == RCPT_PENDING)
			pending++;
		if (e.rcpt[i].state == RCPT_PENDING && e.rcpt[i].attempts > 0) {
			deferred++;
			if (next == 0 || e.rcpt[i].next_try < next)
				next = e.rcpt[i].next_try;
		}
		held += e.rcpt[i].state == RCPT_HELD;
	}
	ctl_time(e.arrival, when, sizeof(when));
	printf("%s %s size=%lld from=<%s> rcpt=%zu pending=%zu", id, when, e.size,
	    e.sender, e.nrcpt, pending);
	if (deferred) {
		ctl_time(next, when, sizeof(when));
		printf(" deferred=%zu next_try=%s", deferred, when);
	}
	if (held)
		printf(" held=%zu", held);
	if (e.release_at) {
		ctl_time(e.release_at, when, sizeof(when));
		printf(" release=%s", when);
	}
	if (e.hold)
		printf(" hold=%s", e.hold_reason[0] ? e.hold_reason : HOLD_ADMIN);
	putchar('\n');
	envelope_clear(&e);
	return 0;
}

/*
 * queue_json_one - one line, one JSON object: queue_id, arrival_time
 * (unix seconds), message_size, sender, hold (bool), hold_reason (null
 * when not held), release_time (FUTURERELEASE, 0 none) and recipients
 * [{address, account, state, attempts, next_try, relay, delay_reason}].
 */
static int
queue_json_one(void *ctx, const char *id)
{
	struct ctl *c = ctx;
	struct envelope e;
	struct buf out;
	size_t i;

	if (queue_get(c->store, id, &e) != 1)
		return 0;
	buf_init(&out, 0);
	buf_puts(&out, "{\"queue_id\":");
	json_str(&out, e.id);
	buf_printf(&out, ",\"arrival_time\":%lld,\"message_size\":%lld,"
	    "\"sender\":", e.arrival, e.size);
	json_str(&out, e.sender);
	buf_printf(&out, ",\"hold\":%s,\"hold_reason\":", e.hold ? "true" :
	    "false");
	json_str(&out, e.hold ? e.hold_reason : NULL);
	buf_printf(&out, ",\"release_time\":%lld,\"recipients\":[",
	    e.release_at);
	for (i = 0; i < e.nrcpt; i++) {
		const struct env_rcpt *rc = &e.rcpt[i];
		char relay[512], reply[1024];
		int said;

		bounce_split(rc->last_error, relay, sizeof(relay), reply,
		    sizeof(reply), &said);
		buf_puts(&out, i ? ",{\"address\":" : "{\"address\":");
		json_str(&out, rc->addr);
		buf_puts(&out, ",\"account\":");
		json_str(&out, rc->account);
		buf_puts(&out, ",\"state\":");
		json_str(&out, rcpt_state_name(rc));
		buf_printf(&out, ",\"attempts\":%d,\"next_try\":%lld,\"relay\":",
		    rc->attempts, rc->state == RCPT_PENDING ? rc->next_try : 0);
		json_str(&out, *relay ? relay : NULL);
		buf_puts(&out, ",\"delay_reason\":");
		json_str(&out, *reply ? reply : NULL);
		buf_putc(&out, '}');
	}
	buf_puts(&out, "]}\n");
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	envelope_clear(&e);
	return 0;
}

static int
queue_flush_one(void *ctx, const char *id)
{
	struct ctl *c = ctx;
	struct envelope e;
	size_t i;
	int r;

	/* deferred recipients are due now (the schedule is in the envelope);
	 * held ones are released for QUEUE_CRASH_MAX more attempts */
	r = queue_flush_entry(c->store, id, &e);
	if (r == -1)
		fprintf(stderr, "yubinctl: %s: cannot reschedule\n", id);
	for (i = 0; r == 1 && i < e.nrcpt; i++)
		if (e.rcpt[i].state == RCPT_HELD)
			printf("released %s <%s>\n", id, e.rcpt[i].addr);
	envelope_clear(&e);
	queue_notify(config_home(c->cfg), id);
	return 0;
}

static int
queue_show(struct ctl *c, const char *id)
{
	struct envelope e;
	char when[32];
	size_t i;
	int r;

	if (!queue_id_ok(id))
		return ctl_error(CTL_USAGE, "no such queue entry: %s", id);
	r = queue_get(c->store, id, &e);
	if (r == 0)
		return ctl_error(CTL_USAGE, "no such queue entry: %s", id);
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "%s: cannot read the envelope", id);
	printf("id: %s\narrival: %lld\nsize: %lld\nfrom: <%s>\nclient: %s\nhelo: %s\n"
	    "auth: %s\n", e.id, e.arrival, e.size, e.sender, e.client_ip, e.helo,
	    e.auth_user);
	if (e.release_at) {
		ctl_time(e.release_at, when, sizeof(when));
		printf("release: %s\n", when);
	}
	if (e.hold) {
		ctl_time(e.hold_since, when, sizeof(when));
		printf("hold: %s since %s\n", e.hold_reason[0] ? e.hold_reason :
		    HOLD_ADMIN, when);
	}
	for (i = 0; i < e.nrcpt; i++) {
		const struct env_rcpt *rc = &e.rcpt[i];
		char relay[512], reply[1024];
		int said;

		bounce_split(rc->last_error, relay, sizeof(relay), reply,
		    sizeof(reply), &said);
		printf("rcpt: <%s> account=%s state=%s attempts=%d", rc->addr,
		    rc->account ? rc->account : "-", rcpt_state_name(rc),
		    rc->attempts);
		if (rc->state == RCPT_PENDING && rc->next_try > 0) {
			ctl_time(rc->next_try, when, sizeof(when));
			printf(" next_try=%s", when);
		}
		if (*relay)
			printf(" relay=%s", relay);
		if (*reply)
			printf(" error=%s", reply);
		putchar('\n');
	}
	envelope_clear(&e);
	return CTL_OK;
}

enum queue_op { QOP_DELETE, QOP_HOLD, QOP_RELEASE };

/* queue_op_one - delete, hold or release ID.  CTL_OK, or the exit code
 * after saying why on stderr. */
static int
queue_op_one(struct ctl *c, enum queue_op op, const char *id)
{
	const char *home = config_home(c->cfg);
	struct buf val;
	int r, was = 0;

	if (!queue_id_ok(id))
		return ctl_error(CTL_USAGE, "no such queue entry: %s", id);
	switch (op) {
	case QOP_DELETE:
		/* present, even when its record cannot be decoded */
		buf_init(&val, 0);
		r = store_get(c->store, STORE_QUEUE, id, strlen(id), &val);
		buf_free(&val);
		if (r == 1 && queue_remove(c->store, home, id) == -1)
			return ctl_error(CTL_RUNTIME, "cannot delete %s: %s", id,
			    strerror(errno));
		break;
	case QOP_HOLD:
		r = queue_hold(c->store, id, HOLD_ADMIN, time_now(), &was);
		break;
	case QOP_RELEASE:
	default:
		r = queue_release(c->store, id, time_now(), &was);
		break;
	}
	if (r == 0)
		return ctl_error(CTL_USAGE, "no such queue entry: %s", id);
	if (r == -1)
		return ctl_error(CTL_RUNTIME, "%s: cannot %s it", id,
		    op == QOP_DELETE ? "delete" : op == QOP_HOLD ? "hold" :
		    "release");
	/* the queue manager drops what waits of it, or tries it now */
	queue_notify(home, id);
	if (op == QOP_DELETE)
		printf("deleted %s\n", id);
	else if (op == QOP_HOLD)
		printf(was ? "%s: held already\n" : "held %s\n", id);
	else
		printf(was ? "released %s\n" : "%s: not held\n", id);
	return CTL_OK;
}

/* queue_ops - OP on every id of ARGV: the worst exit code. */
static int
queue_ops(struct ctl *c, enum queue_op op, int argc, char **argv)
{
	int i, r, worst = CTL_OK;

	for (i = 0; i < argc; i++) {
		r = queue_op_one(c, op, argv[i]);
		if (r > worst)
			worst = r;
	}
	return worst;
}

int
ctl_cmd_queue(struct ctl *c, int argc, char **argv)
{
	static const struct {
		const char	*name;
		enum queue_op	 op;
	} ops[] = {
		{ "delete", QOP_DELETE },
		{ "hold", QOP_HOLD },
		{ "release", QOP_RELEASE },
	};
	size_t i;

	if (argc < 1)
		return ctl_error(CTL_USAGE, QUEUE_USAGE);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(argv[0], ops[i].name) == 0)
			break;
	if (i < sizeof(ops) / sizeof(ops[0])) {
		if (argc < 2)
			return ctl_error(CTL_USAGE, "usage: queue %s ID...",
			    ops[i].name);
		if (ctl_store(c) == NULL)
			return CTL_RUNTIME;
		return queue_ops(c, ops[i].op, argc - 1, argv + 1);
	}
	if (strcmp(argv[0], "list") == 0 && (argc == 1 || (argc == 2 &&
	    strcmp(argv[1], "--json") == 0))) {
		if (ctl_store(c) == NULL)
			return CTL_RUNTIME;
		return queue_each(c->store, argc == 2 ? queue_json_one :
		    queue_list_one, c) == -1 ? CTL_RUNTIME : CTL_OK;
	}
	if (strcmp(argv[0], "flush") == 0 && argc == 1) {
		if (ctl_store(c) == NULL)
			return CTL_RUNTIME;
		return queue_each(c->store, queue_flush_one, c) == -1 ?
		    CTL_RUNTIME : CTL_OK;
	}
	if (strcmp(argv[0], "show") == 0 && argc == 2) {
		if (ctl_store(c) == NULL)
			return CTL_RUNTIME;
		return queue_show(c, argv[1]);
	}
	return ctl_error(CTL_USAGE, QUEUE_USAGE);
}

/* delivery_set - suspend (ON 1) or resume (0) all delivery, and tell the
 * queue manager; yubind need not run (it reads the state at start). */
static int
delivery_set(struct ctl *c, int on, int argc)
{
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: %s", on ? "suspend" : "resume");
	if (ctl_store(c) == NULL)
		return CTL_RUNTIME;
	if (queue_suspend(c->store, on, time_now()) == -1)
		return ctl_error(CTL_RUNTIME, "cannot record the delivery state");
	queue_notify(config_home(c->cfg), QUEUE_NOTE_STATE);
	printf("delivery %s\n", on ? "suspended" : "resumed");
	return CTL_OK;
}

int
ctl_cmd_suspend(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	return delivery_set(c, 1, argc);
}

int
ctl_cmd_resume(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	return delivery_set(c, 0, argc);
}

void
ctl_delivery_status(struct ctl *c)
{
	int r;

	if (ctl_store(c) == NULL)
		return;
	r = queue_suspended(c->store, NULL);
	if (r == -1)
		ctl_error(CTL_RUNTIME, "cannot read the delivery state");
	else
		printf("delivery: %s\n", r ? "suspended" : "on");
}
