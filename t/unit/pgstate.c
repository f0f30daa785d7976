/*
 * t/unit/pgstate.c - the shared state without a server: which URIs
 * [server] state accepts, and a store whose PostgreSQL is not there.
 * Its shared databases fail (nothing kept half-done),
 * while the node's own (the queue, once markers, the MX cache) keep
 * working; a write mixing both commits neither.  The tests with a real
 * server are t/proto/state_shared.t.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "../lib/tmpstore.h"
#include "buf.h"
#include "pgstate.h"
#include "store.h"
#include "util.h"

static void
test_uri(void)
{
	static const char *const good[] = {
		"postgresql://yubin@127.0.0.1:5432/yubin",
		"postgres://u:p@db.example/yubin?sslmode=require",
		"postgresql:///yubin?host=/run/postgresql",
	};
	static const char *const bad[] = {
		"mysql://x", "host=127.0.0.1 dbname=yubin", "postgresql:/x",
		"postgresql://h/db?nosuchoption=1", "",
	};
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(pgstate_uri_check(good[i], why, sizeof(why)), 0,
		    "accepted: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ok(pgstate_uri_check(bad[i], why, sizeof(why)) == -1 &&
		    why[0] != '\0' && strchr(why, '\n') == NULL,
		    "refused: '%s' (%s)", bad[i], why);
	}
}

/* closed_port - a loopback port nothing listens on. */
static int
closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) == -1)
		return 1;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

struct mix {
	int	shared_first;
};

static int
mix_fn(struct store_txn *t, void *ctx)
{
	struct mix *m = ctx;

	if (m->shared_first &&
	    store_tput(t, STORE_ACCOUNTS, "bob", 3, "x", 1, 0) == -1)
		return -1;
	if (store_tput(t, STORE_META, "mx/example.org", 14, "m", 1, 0) == -1)
		return -1;
	if (!m->shared_first &&
	    store_tput(t, STORE_COUNTERS, "c", 1, "12345678", 8, 0) == -1)
		return -1;
	return 0;
}

static void
test_unreachable(void)
{
	char dir[256], uri[128], why[300];
	struct store *s;
	struct buf v;
	struct mix m;
	long long n;

	snprintf(uri, sizeof(uri), "postgresql://yubin@127.0.0.1:%d/yubin",
	    closed_port());
	if (tmpstore_make(dir, sizeof(dir), "pgstate") == -1)
		exit(2);
	store_set_shared(uri);
	s = tmpstore_open(dir);
	buf_init(&v, 0);

	is_int(store_shared_ready(s, why, sizeof(why)), -1,
	    "nothing listening: not ready, for now (%s)", why);
	ok(strstr(why, "127.0.0.1") != NULL || strstr(why, "connect") != NULL,
	    "the reason names the connection");

	is_int(store_get(s, STORE_ACCOUNTS, "alice", 5, &v), -1,
	    "an account cannot be read");
	is_int(store_put(s, STORE_COUNTERS, "sent/alice", 10, "12345678", 8, 0),
	    -1, "a counter cannot be written");
	is_int(store_incr(s, STORE_COUNTERS, "sent/alice", 10, 1, 0, &n), -1,
	    "nor counted");
	is_int(store_put(s, STORE_META, "block/192.0.2.1", 15, "1", 1, 0), -1,
	    "a block is shared: cannot be written");
	is_int(store_put(s, STORE_META, "popip/192.0.2.1", 15, "1", 1, 0), -1,
	    "a POP-before-SMTP grant is shared: cannot be written");

	is_int(store_put(s, STORE_QUEUE, "0123456789ABCDEF", 16, "env", 3, 0),
	    0, "the queue is the node's: written");
	is_int(store_get(s, STORE_QUEUE, "0123456789ABCDEF", 16, &v), 1,
	    "and read");
	is_int(store_put(s, STORE_META, "mx/example.org", 14, "mx", 2, 0), 0,
	    "the MX cache is the node's: written");
	is_int(store_put(s, STORE_META, "once/a/b", 8, "1", 1, 0), 0,
	    "a once marker is the node's: written");

	m.shared_first = 1;
	is_int(store_write(s, mix_fn, &m), -1,
	    "a write of shared and own entries fails when the shared part does");
	m.shared_first = 0;
	is_int(store_write(s, mix_fn, &m), -1, "also when it comes second");
	is_int(store_get(s, STORE_META, "mx/example.org", 14, &v), 1,
	    "the own entry is there");
	ok(v.len == 2 && memcmp(v.data, "mx", 2) == 0,
	    "with its earlier value: neither write committed it");
	ok(store_expire(s) == -1, "expiry reports the shared part's failure");

	buf_free(&v);
	store_close(&s);
	store_set_shared(NULL);
	s = tmpstore_open(dir);
	is_int(store_put(s, STORE_ACCOUNTS, "alice", 5, "rec", 3, 0), 0,
	    "without [server] state, accounts are LMDB's again");
	store_close(&s);
	tmpstore_remove(dir);
}

int
main(void)
{
	test_uri();
	test_unreachable();
	return done_testing();
}
