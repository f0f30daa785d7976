/*
 * ctl_status.c - the live part of "yubinctl status": pools, counters, the
 * queue and, with --workers, every worker, from the scoreboard the running
 * yubind keeps in HOME/run/status (board.h).
 *
 * The file is opened read-only through the checked HOME/run folder without
 * following a link, and trusted only as the pid file is: a regular file
 * owned by the user yubinctl runs as (yubind's, root in production) that
 * nobody else may write, naming the running master's pid.  It is read with
 * read(2) into memory (never mapped, never written or locked), so a file
 * that changes meanwhile only gives a torn snapshot, and every value in it
 * is bounded before use: it holds what workers -- the server user -- wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "board.h"
#include "ctl.h"
#include "paths.h"
#include "queue.h"
#include "util.h"

/* board_load - HOME/run/status into *DATA_R (owned), checked.  CTL_OK, or
 * CTL_RUNTIME after saying why. */
static int
board_load(struct ctl *c, pid_t pid, char **data_r, size_t *len_r)
{
	char why[128];
	struct stat st;
	char *data;
	ssize_t n;
	int dfd, fd;

	if ((dfd = paths_run_dir(c->cfg)) == -1)
		return ctl_error(CTL_RUNTIME, "%s/run: %s", config_home(c->cfg),
		    strerror(errno));
	fd = openat(dfd, BOARD_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	close(dfd);
	if (fd == -1)
		return ctl_error(CTL_RUNTIME, "%s/run/%s: %s: no live status",
		    config_home(c->cfg), BOARD_NAME, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (size_t)st.st_size > board_size(BOARD_SLOTS_MAX)) {
		close(fd);
		return ctl_error(CTL_RUNTIME, "%s/run/%s: not a regular file of "
		    "uid %ld that only it may write: not trusted",
		    config_home(c->cfg), BOARD_NAME, (long)geteuid());
	}
	data = xmalloc((size_t)st.st_size + 1);
	n = read_all(fd, data, (size_t)st.st_size);
	close(fd);
	if (n == -1 || board_check(data, (size_t)n, why, sizeof(why)) == -1) {
		free(data);
		return ctl_error(CTL_RUNTIME, "%s/run/%s: %s", config_home(c->cfg),
		    BOARD_NAME, n == -1 ? strerror(errno) : why);
	}
	if (((struct board_head *)(void *)data)->master_pid != (int32_t)pid) {
		free(data);
		return ctl_error(CTL_RUNTIME, "%s/run/%s: not the running "
		    "yubind's (pid %ld)", config_home(c->cfg), BOARD_NAME,
		    (long)pid);
	}
	*data_r = data;
	*len_r = (size_t)n;
	return CTL_OK;
}

/* today - counter C since local midnight (or the start) */
static unsigned long long
today(const struct board_head *b, enum board_ctr c)
{
	return b->ctr[c] >= b->day_base[c] ? b->ctr[c] - b->day_base[c] : 0;
}

/* print_workers - one line per live worker: pid, pool, state, client,
 * seconds in that state, and the plugin hook it is in. */
static void
print_workers(const struct board_head *b)
{
	const struct board_slot *slots = board_slots(b);
	char client[BOARD_CLIENT_MAX + 1], trace[BOARD_TRACE_MAX + 1];
	char pool[sizeof(b->pools[0].name) + 1];
	long long now = now_ms(), secs;
	int p, i;

	for (p = 0; p < BOARD_POOLS; p++) {
		board_text(b->pools[p].name, sizeof(b->pools[p].name), pool,
		    sizeof(pool));
		for (i = b->pools[p].first; i < b->pools[p].first +
		    b->pools[p].nslots; i++) {
			const struct board_slot *s = &slots[i];

			if (s->pid <= 0)
				continue;
			secs = s->phase_ms > 0 && now > s->phase_ms ?
			    (now - s->phase_ms) / 1000 : 0;
			board_text(s->client, sizeof(s->client), client,
			    sizeof(client));
			board_text(s->trace, sizeof(s->trace), trace,
			    sizeof(trace));
			printf("worker %ld %s %s %s %llds%s%s\n", (long)s->pid,
			    pool, board_phase_name(s->phase),
			    client[0] ? client : "-", secs, trace[0] ? " in " : "",
			    trace);
		}
	}
}

int
ctl_status_board(struct ctl *c, pid_t pid, int workers)
{
	const struct board_head *b;
	const struct board_slot *slots;
	struct store *s;
	char *data = NULL, name[sizeof(b->pools[0].name) + 1];
	size_t len = 0, nq = 0;
	long long oldest = 0, now = time_now();
	int p, i, busy, idle, r, qok = 0;

	if ((r = board_load(c, pid, &data, &len)) != CTL_OK)
		return r;
	b = (const struct board_head *)(void *)data;
	slots = board_slots(b);
	for (p = 0; p < BOARD_POOLS; p++) {
		busy = idle = 0;
		for (i = b->pools[p].first; i < b->pools[p].first +
		    b->pools[p].nslots; i++) {
			if (slots[i].pid <= 0)
				continue;
			if (slots[i].state == BOARD_BUSY)
				busy++;
			else
				idle++;
		}
		printf("pool %s: busy %d idle %d max %d\n",
		    board_text(b->pools[p].name, sizeof(b->pools[p].name), name,
		    sizeof(name)), busy, idle, (int)b->pools[p].max);
	}
	printf("connections:");
	for (i = BC_CONN_SMTP; i <= BC_CONN_LOCAL; i++)
		printf(" %s %llu", board_conn_name((enum board_ctr)i),
		    (unsigned long long)b->ctr[i]);
	printf(" refused %llu\n", (unsigned long long)(b->ctr[BC_REFUSED_FULL] +
	    b->ctr[BC_REFUSED_PER_IP]));
	if ((s = ctl_store(c)) != NULL && queue_stats(s, &nq, &oldest) == 0)
		qok = 1;
	if (qok)
		printf("queue: pending %zu delivering %lld oldest %llds\n", nq,
		    (long long)b->gauge[BG_DELIVERING],
		    nq > 0 && now > oldest ? now - oldest : 0);
	else
		printf("queue: pending ? delivering %lld\n",
		    (long long)b->gauge[BG_DELIVERING]);
	printf("today: received %llu sent %llu delivered %llu bounced %llu "
	    "deferred %llu rejected %llu\n", today(b, BC_RECEIVED),
	    today(b, BC_SENT), today(b, BC_DELIVERED), today(b, BC_BOUNCED),
	    today(b, BC_DEFERRED), today(b, BC_REJ_OTHER) +
	    today(b, BC_REJ_ADDRESS) + today(b, BC_REJ_MAILBOX) +
	    today(b, BC_REJ_SYSTEM) + today(b, BC_REJ_NETWORK) +
	    today(b, BC_REJ_PROTOCOL) + today(b, BC_REJ_CONTENT) +
	    today(b, BC_REJ_POLICY));
	if (workers)
		print_workers(b);
	free(data);
	return CTL_OK;
}
