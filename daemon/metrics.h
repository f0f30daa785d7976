/*
 * metrics - HTTP "GET /metrics" in OpenMetrics text, for server.metrics_listen.
 *
 * A process of its own, forked by the master like the queue manager and
 * run as the server user (the master never reads network input): it
 * inherits the listening socket and the scoreboard (board.h), which it
 * makes read-only before it serves, and opens the LMDB store to count the
 * queue.  One poll loop serves at most METRICS_CONN_MAX clients at once;
 * each gets METRICS_TIMEOUT_MS for its request and again for the answer,
 * and at most METRICS_REQ_MAX bytes of request line and header.  A request
 * not GET is answered 405, a path other than /metrics 404, a malformed
 * request line 400, a request line or header past METRICS_REQ_MAX 400 or
 * 431; every answer closes the connection (input after it is read and
 * dropped for a moment, so the client sees the answer, not a reset).
 */
#ifndef YUBIN_METRICS_H
#define YUBIN_METRICS_H

#include <signal.h>
#include <stddef.h>

#include "board.h"

#define METRICS_LISTEN_FDS	2	/* server.metrics_listen: one address */
#define METRICS_CONN_MAX	16
#define METRICS_REQ_MAX		8192
#define METRICS_TIMEOUT_MS	5000
#define METRICS_DRAIN_MAX	(4 * 1024 * 1024)	/* bytes dropped after an answer */

struct config;
struct buf;
struct store;

/*
 * metrics_main - serve FDS[0..N) until *STOP or the master is gone, then
 * exit.  BOARD (SIZE bytes) is the master's scoreboard.
 */
void	metrics_main(const struct config *cfg, const int *fds, int n,
	    struct board_head *board, size_t size,
	    volatile sig_atomic_t *stop) __attribute__((noreturn));
/*
 * metrics_request - the answer to the request REQ (LEN bytes read so far,
 * at most MAX): 0 while more is needed, else the HTTP status -- 200 for
 * "GET /metrics HTTP/1.x" (a query ignored) with its header complete, 405
 * another method, 404 another path, 400 a malformed request line or none
 * within MAX bytes, 431 a header not complete within MAX bytes.  A bad
 * request line is answered as soon as it is complete.
 */
int	metrics_request(const char *req, size_t len, size_t max);
/*
 * metrics_render - the exposition of BOARD (and the queue in STORE, when
 * not NULL) into OUT, "# EOF" last.
 */
void	metrics_render(const struct board_head *board, struct store *store,
	    struct buf *out);

#endif
