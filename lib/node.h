/*
 * node - the nodes of a site that shares its state (DESIGN.md §15) and
 * the home node of each mailbox, kept in that shared state (pgstate.h).
 *
 * Records (STORE_META, shared):
 *   "node/NAME"  "smtp=ADDR:PORT pop3=ADDR:PORT state=active|drain"
 *   "home/ACCOUNT"  the name of the node that keeps the account's Maildir,
 *                followed by NODE_HOME_CARRY while a list's files that
 *                `account move` took along wait to be written there
 *   "carry/ACCOUNT" those files (node_carry_pack), until then
 *   "nodekey"    the secret nodes prove to each other (64 hex digits),
 *                made by the first `yubinctl node add`
 *
 * `account add` on a registered node homes the account there; on a node
 * not registered it makes no home entry.  A mailbox without one is kept
 * wherever its mail arrives (one node, a site that shares accounts but
 * registers no nodes, or accounts made before it did).  One homed on a
 * node that is not registered waits (4xx) until that node is.  A node relays mail
 * for a mailbox homed elsewhere to that node over SMTP, authenticated as
 * "node:SELF" with the node key; a POP3 login for it is proxied there
 * after it succeeded here (pop3.c, XNODE).  A node told to drain takes no
 * new mailboxes; `yubinctl account move` takes them elsewhere.
 *
 * Node names: 1 to NODE_NAME_MAX letters, digits, '-', '_', '.'.
 * Addresses: numeric IPv4 or [IPv6] with a port (hostport_parse).
 */
#ifndef YUBIN_NODE_H
#define YUBIN_NODE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct config;
struct store;

#define NODE_NAME_MAX	63
#define NODE_ADDR_MAX	64		/* "[v6]:port" */
#define NODE_KEY_HEX	64
#define NODE_AUTH_PREFIX "node:"	/* the SMTP AUTH user of a peer */
#define NODE_HOME_CARRY	" carry"	/* after a home: files on their way */

struct node_rec {
	char	name[NODE_NAME_MAX + 1];
	char	smtp_host[NODE_ADDR_MAX];
	int	smtp_port;
	char	pop3_host[NODE_ADDR_MAX];
	int	pop3_port;
	int	draining;
};

/* node_name_valid - 1 when NAME is a valid node name. */
int	node_name_valid(const char *name);

/* node_self - this node's name: server.node_name, else the host name
 * (cut to a valid name); static storage. */
const char *node_self(const struct config *cfg);

/* node_parse - SMTP and POP3 "ADDR:PORT" into N (name set by caller).
 * 0, or -1 with the reason in WHY. */
int	node_parse(struct node_rec *n, const char *smtp, const char *pop3,
	    char *why, size_t whysize);

/* node_addr - "HOST:PORT" appended to B, brackets round an IPv6 HOST. */
struct buf;
void	node_addr(struct buf *b, const char *host, int port);

/* node_sockaddr - HOST and PORT of a node record into *SS (*LEN_R its
 * length), as dns_server_parse reads addresses.  0/-1. */
int	node_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
	    socklen_t *len_r);

/* node_put - add or replace N.  0/-1. */
int	node_put(struct store *s, const struct node_rec *n);
/* node_get - the node NAME into *N.  1 found, 0 not, -1 error. */
int	node_get(struct store *s, const char *name, struct node_rec *n);
/* node_each - FN for every node in name order; FN's non-zero stops.
 * 0, FN's value, or -1. */
int	node_each(struct store *s, int (*fn)(void *ctx, const struct node_rec *n),
	    void *ctx);

/* node_home - the home node of ACCOUNT into NAME (NODE_NAME_MAX + 1
 * bytes).  1 found, 0 none (kept where its mail arrives), -1 error. */
int	node_home(struct store *s, const char *account, char *name);
/* node_home_x - node_home, and *CARRY_R 1 when files moved with the
 * account (a list's: node_carry_take) still wait to be written there. */
int	node_home_x(struct store *s, const char *account, char *name,
	    int *carry_r);
/* node_home_elsewhere - ACCOUNT's home when it is a node other than
 * SELF: 1 and its name in NAME; 0 kept here (no home, or SELF); -1 not
 * known now. */
int	node_home_elsewhere(struct store *s, const char *self,
	    const char *account, char *name);
/* node_home_set - ACCOUNT homed on NAME (NULL: the entry removed).  0/-1. */
int	node_home_set(struct store *s, const char *account, const char *name);

/* node_home_tput, node_home_tdel - the same within the transaction T
 * (an account and its home made or removed together).  0/-1. */
struct store_txn;
int	node_home_tput(struct store_txn *t, const char *account, const char *name);
int	node_home_tdel(struct store_txn *t, const char *account);

/*
 * A mailing list's files (ml.def, ml_member.csv, archive/) moved with
 * the list (node_carry.c).  Packed they are at most NODE_CARRY_MAX bytes.
 *
 * node_carry_pack - the list files in the folder DFD into OUT.  1 packed,
 * 0 not a list (no ml.def), -1 with the reason in WHY.
 * node_carry_remove - remove them from DFD, ml.def first.  0/-1.
 * node_carry_home - ACCOUNT homed on NAME, and BLOB (NULL: nothing
 * carried) kept for NAME to write out, in one transaction.  0/-1.
 * node_carry_take - the files carried for ACCOUNT, homed on SELF, written
 * into its folder under ROOT (made when missing; owned by UID/GID unless
 * -1), ml.def last; then the record and the home's mark removed in one
 * transaction.  0, or -1 with WHY (the mail for it waits).
 */
#define NODE_CARRY_MAX	(64 * 1024 * 1024)
struct buf;
int	node_carry_pack(int dfd, struct buf *out, char *why, size_t whysize);
int	node_carry_remove(int dfd, char *why, size_t whysize);
int	node_carry_home(struct store *s, const char *account, const char *name,
	    const struct buf *blob);
int	node_carry_take(struct store *s, const char *self, const char *account,
	    const char *root, uid_t uid, gid_t gid, char *why, size_t whysize);

/* node_key - the node key into KEY (NODE_KEY_HEX + 1 bytes), made when
 * absent and CREATE.  1, 0 none (not CREATE), -1 error. */
int	node_key(struct store *s, char *key, int create);
/* node_key_ok - GIVEN equals the node key (constant time).  1, 0, -1. */
int	node_key_ok(struct store *s, const char *given);

#endif
