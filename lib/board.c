/*
 * board.c - the live scoreboard's writers' side and its checks; see board.h.
 */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "util.h"

struct board_head *board_map;
static struct board_slot *board_self;

static const char *const phase_names[BP_COUNT] = {
	[BP_NONE] = "free",
	[BP_IDLE] = "idle",
	[BP_CONNECT] = "connect",
	[BP_COMMAND] = "command",
	[BP_AUTH] = "auth",
	[BP_TLS] = "tls",
	[BP_DATA] = "data",
	[BP_BDAT] = "bdat",
	[BP_TRANSACTION] = "transaction",
	[BP_RETR] = "retr",
	[BP_UPDATE] = "update",
};

static const char *const reject_names[] = {
	"other", "address", "mailbox", "system", "network", "protocol",
	"content", "policy",
};

static const char *const conn_names[] = {
	"smtp", "submission", "smtps", "pop3", "pop3s", "local",
};

size_t
board_size(size_t nslots)
{
	size_t head = (sizeof(struct board_head) + 63) & ~(size_t)63;

	return head + nslots * sizeof(struct board_slot);
}

void
board_set_self(struct board_slot *slot)
{
	board_self = slot;
}

struct board_slot *
board_self_slot(void)
{
	return board_self;
}

void
board_phase(enum board_phase phase)
{
	if (board_self == NULL)
		return;
	__atomic_store_n(&board_self->phase_ms, now_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&board_self->phase, (int)phase, __ATOMIC_RELEASE);
}

void
board_client(const char *ip)
{
	if (board_self == NULL)
		return;
	/* readers tolerate a torn copy (board_text) */
	(void)str_copy(board_self->client, sizeof(board_self->client),
	    ip ? ip : "");
}

void
board_count(enum board_ctr c)
{
	if (board_map != NULL && (unsigned)c < BC_COUNT)
		__atomic_fetch_add(&board_map->ctr[c], 1, __ATOMIC_RELAXED);
}

void
board_gauge(enum board_gauge g, long long v)
{
	if (board_map != NULL && (unsigned)g < BG_COUNT)
		__atomic_store_n(&board_map->gauge[g], (int64_t)v, __ATOMIC_RELAXED);
}

enum board_ctr
board_reject_class(const char *enh)
{
	if (enh == NULL || (enh[0] != '4' && enh[0] != '5') || enh[1] != '.' ||
	    enh[2] < '0' || enh[2] > '7' || enh[3] != '.')
		return BC_REJ_OTHER;
	return (enum board_ctr)(BC_REJ_OTHER + (enh[2] - '0'));
}

const char *
board_phase_name(int phase)
{
	return phase >= 0 && phase < BP_COUNT && phase_names[phase] ?
	    phase_names[phase] : "?";
}

const char *
board_reject_name(enum board_ctr c)
{
	return c >= BC_REJ_OTHER && c <= BC_REJ_POLICY ?
	    reject_names[c - BC_REJ_OTHER] : "?";
}

const char *
board_conn_name(enum board_ctr c)
{
	return c >= BC_CONN_SMTP && c <= BC_CONN_LOCAL ?
	    conn_names[c - BC_CONN_SMTP] : "?";
}

const char *
board_text(const char *in, size_t field, char *out, size_t size)
{
	size_t i;

	if (size == 0)
		return out;
	for (i = 0; i < field && i < size - 1 && in[i] != '\0'; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
	return out;
}

int
board_check(const void *p, size_t len, char *why, size_t whysize)
{
	const struct board_head *b = p;
	int i;

	if (len < sizeof(*b)) {
		snprintf(why, whysize, "too short (%zu bytes)", len);
		return -1;
	}
	if (b->magic != BOARD_MAGIC || b->version != BOARD_VERSION) {
		snprintf(why, whysize, "not a version %d status board",
		    BOARD_VERSION);
		return -1;
	}
	if (b->slot_size != sizeof(struct board_slot) ||
	    b->head_size < sizeof(*b) || b->head_size > 4096 ||
	    b->head_size % _Alignof(struct board_slot) != 0 ||
	    b->nslots > BOARD_SLOTS_MAX ||
	    (size_t)b->head_size + (size_t)b->nslots * b->slot_size > len) {
		snprintf(why, whysize, "sizes do not match the file "
		    "(%zu bytes, %u slots)", len, b->nslots);
		return -1;
	}
	for (i = 0; i < BOARD_POOLS; i++)
		if (b->pools[i].first < 0 || b->pools[i].nslots < 0 ||
		    b->pools[i].max < 0 ||
		    (uint32_t)b->pools[i].first + (uint32_t)b->pools[i].nslots >
		    b->nslots) {
			snprintf(why, whysize, "pool %d out of range", i);
			return -1;
		}
	return 0;
}
