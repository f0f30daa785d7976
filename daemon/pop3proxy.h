/*
 * pop3proxy - a POP3 session for a mailbox homed on another node
 * (node.h, DESIGN.md §15), carried on to that node.
 *
 * The client logged in here (its credentials checked against the shared
 * state); then this worker connects to the home node's POP3 address,
 * takes STLS when the node offers it (required unless the node is on a
 * loopback address: the node key never crosses a network in clear),
 * logs in with "XNODE SELF KEY ACCOUNT" (pop3.c), answers the client's
 * login with the home's reply, and from then on copies bytes both ways
 * until either side closes or is silent past pop3.timeout.  The client
 * never sees the difference: the home lists, retrieves and deletes.
 * Network input from the home node is not parsed past its replies to
 * STLS and XNODE, each one line of at most POP3PROXY_LINE_MAX bytes.
 */
#ifndef YUBIN_POP3PROXY_H
#define YUBIN_POP3PROXY_H

struct config;
struct conn;
struct node_rec;
struct store;

#define POP3PROXY_LINE_MAX	512
#define POP3PROXY_CONNECT_MS	10000

/*
 * pop3proxy_run - serve CLIENT's session for ACCOUNT through node HOME.
 * Returns 1 when the client was answered +OK and the session was carried
 * on (it is over when this returns), 0 when the home could not be used
 * (the client was answered -ERR [SYS/TEMP], the session may go on), -1
 * when the client is gone.
 */
int	pop3proxy_run(struct conn *client, const struct config *cfg,
	    struct store *store, const char *account, const struct node_rec *home,
	    unsigned long sid);

#endif
