/*
 * board - the live scoreboard: every worker's state and the server's
 * counters, in one shared map that yubind's processes write and
 * "yubinctl status" and the metrics process read.
 *
 * The master creates HOME/run/status (mode 0600, its own user, O_EXCL
 * through the checked HOME/run descriptor: never through a name the server
 * user could have planted), sizes it once and maps it MAP_SHARED; every
 * child inherits the mapping, so a worker that dropped its privileges
 * still writes its slot, and nobody opens the file by name again.  Writers
 * use atomic stores and adds on the mapping, no system call: a state
 * change is two stores and a vDSO clock read, a counter one add.
 * "yubinctl status" reads the file (pread, never a write or a lock) after
 * checking that the running yubind's user owns it and nobody else may
 * write it, as it checks the pid file; it treats every byte as untrusted
 * (workers run as the server user): counts are bounded by the file size,
 * strings are cut and made printable.  A kernel that writes the dirty
 * pages back now and then costs no more than a page or two.
 *
 * Layout: struct board_head at offset 0, then nslots struct board_slot at
 * head_size; pool P owns slots [first, first + nslots).  The counters run
 * from the master's start; day_base[] holds their values at the last local
 * midnight (or the start), so "today" is ctr - day_base.
 */
#ifndef YUBIN_BOARD_H
#define YUBIN_BOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BOARD_MAGIC	0x59554231u	/* "YUB1" */
#define BOARD_VERSION	1
#define BOARD_NAME	"status"	/* in HOME/run */
#define BOARD_TRACE_MAX	96		/* "plugin=NAME hook=HOOK" while a hook runs */
#define BOARD_CLIENT_MAX 48		/* the client's address, text */
#define BOARD_SLOTS_MAX	100000		/* more is a corrupt file */

enum board_pool { BOARD_POOL_SMTP, BOARD_POOL_POP3, BOARD_POOL_LOCAL, BOARD_POOLS };

/* slot states the master keeps its pools by */
enum board_state { BOARD_FREE, BOARD_IDLE, BOARD_BUSY };

/* what a worker is doing (board_phase) */
enum board_phase {
	BP_NONE,		/* free slot */
	BP_IDLE,		/* waiting for a connection */
	BP_CONNECT,		/* accepted: greeting, TLS handshake */
	BP_COMMAND,		/* SMTP or POP3 authorization: reading a command */
	BP_AUTH,		/* AUTH, USER/PASS, APOP */
	BP_TLS,			/* STARTTLS, STLS */
	BP_DATA,		/* DATA: the message, then queueing it */
	BP_BDAT,		/* BDAT chunks */
	BP_TRANSACTION,		/* POP3 transaction: reading a command */
	BP_RETR,		/* POP3 RETR, TOP: sending a message */
	BP_UPDATE,		/* POP3 UPDATE: removing messages */
	BP_COUNT
};

/* counters (enum board_ctr), each a uint64_t */
enum board_ctr {
	/* sessions accepted, by listener (enum listener_kind order) */
	BC_CONN_SMTP, BC_CONN_SUBMISSION, BC_CONN_SMTPS, BC_CONN_POP3,
	BC_CONN_POP3S, BC_CONN_LOCAL,
	BC_REFUSED_FULL,	/* the master's "too busy": pool at its maximum */
	BC_REFUSED_PER_IP,	/* over max_connections_per_ip */
	BC_RECEIVED,		/* messages queued after SMTP's 250 */
	BC_SENT,		/* recipients a remote server took */
	BC_DELIVERED,		/* recipients stored in a local mailbox */
	BC_BOUNCED,		/* recipients failed for good */
	BC_DEFERRED,		/* delivery attempts to be tried again */
	/* SMTP rejections by the subject of the enhanced status (RFC 3463
	 * §3.x.N): other, address, mailbox, system, network, protocol,
	 * content, policy */
	BC_REJ_OTHER, BC_REJ_ADDRESS, BC_REJ_MAILBOX, BC_REJ_SYSTEM,
	BC_REJ_NETWORK, BC_REJ_PROTOCOL, BC_REJ_CONTENT, BC_REJ_POLICY,
	BC_COUNT
};

/* gauges the queue manager sets */
enum board_gauge {
	BG_DELIVERING,		/* delivery agents with a job */
	BG_COUNT = 4
};

struct board_slot {
	pid_t		pid;		/* the master's: 0 when free */
	int		state;		/* enum board_state, the worker's */
	unsigned long long peer;	/* the client's peer_key while busy, else 0 */
	unsigned	gen;
	int		phase;		/* enum board_phase, the worker's */
	long long	started_ms;	/* the master's: spawn time (now_ms) */
	long long	phase_ms;	/* now_ms when PHASE began */
	char		trace[BOARD_TRACE_MAX];		/* the worker's */
	char		client[BOARD_CLIENT_MAX];	/* the worker's */
};

struct board_pool_info {
	char		name[8];
	int32_t		max;		/* the current maximum */
	int32_t		first;		/* its first slot */
	int32_t		nslots;
	int32_t		pad;
};

struct board_head {
	uint32_t	magic;
	uint32_t	version;
	uint32_t	head_size;	/* offset of slot 0 */
	uint32_t	slot_size;
	uint32_t	nslots;
	int32_t		master_pid;
	int64_t		started;	/* wall-clock seconds */
	struct board_pool_info pools[BOARD_POOLS];
	uint64_t	ctr[BC_COUNT];
	uint64_t	day_base[BC_COUNT];
	int64_t		gauge[BG_COUNT];
};

/* the map, or NULL (yubinctl, tests, a yubind whose file failed) */
extern struct board_head *board_map;

/* board_slots - slot 0 of board B */
#define board_slots(b)	((struct board_slot *)(void *)((char *)(b) + (b)->head_size))

/* board_size - the file size for NSLOTS slots */
size_t	board_size(size_t nslots);
/* board_self - this worker's slot (NULL: none); set after fork */
void	board_set_self(struct board_slot *slot);
struct board_slot *board_self_slot(void);
/* board_phase - this worker's state is now PHASE, from now */
void	board_phase(enum board_phase phase);
/* board_client - this worker's client address (NULL or "": none) */
void	board_client(const char *ip);
/* board_count - add one to counter C */
void	board_count(enum board_ctr c);
/* board_gauge - set gauge G to V */
void	board_gauge(enum board_gauge g, long long v);
/* board_reject_class - the rejection counter for enhanced status ENH
 * ("5.7.1"; NULL or malformed: other) */
enum board_ctr board_reject_class(const char *enh);
/* board_phase_name - "idle", "data", ...: "?" for an unknown value */
const char *board_phase_name(int phase);
/* board_reject_name - "policy", ... for a BC_REJ_ counter */
const char *board_reject_name(enum board_ctr c);
/* board_conn_name - the listener name of a BC_CONN_ counter */
const char *board_conn_name(enum board_ctr c);
/*
 * board_text - a printable copy of a string field of the board: at most
 * SIZE - 1 bytes of IN (FIELD bytes, maybe without a NUL) and control or
 * non-ASCII bytes shown as '?'.  Returns OUT.
 */
const char *board_text(const char *in, size_t field, char *out, size_t size);
/*
 * board_check - whether LEN bytes at B are a board this build reads: magic,
 * version, sizes, slot count and pool ranges.  0, or -1 with a reason in
 * WHY (WHYSIZE bytes).
 */
int	board_check(const void *b, size_t len, char *why, size_t whysize);

#endif
