/*
 * block.c - run-time client blocks; see block.h.  Used by SMTP workers (the
 * connect check), plugins through yh_block_add, and yubinctl.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "buf.h"
#include "store.h"
#include "util.h"

#define BLOCK_PREFIX	"block/"
#define BLOCK_REASON_MAX 200	/* bytes of reason kept */

/* block_key - "block/" + the canonical form of IP.  0 or -1. */
static int
block_key(const char *ip, struct buf *key)
{
	unsigned char a[16];
	char canon[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, ip, a) == 1)
		inet_ntop(AF_INET, a, canon, sizeof(canon));
	else if (inet_pton(AF_INET6, ip, a) == 1)
		inet_ntop(AF_INET6, a, canon, sizeof(canon));
	else
		return -1;
	buf_reset(key);
	buf_printf(key, "%s%s", BLOCK_PREFIX, canon);
	return 0;
}

int
block_add(struct store *s, const char *ip, long long ttl, const char *reason)
{
	struct buf key, val;
	int r = -1;

	buf_init(&key, 0);
	buf_init(&val, 0);
	if (ttl >= 0 && block_key(ip, &key) == 0) {
		buf_printf(&val, "%lld %.*s", time_now(), BLOCK_REASON_MAX,
		    reason ? reason : "-");
		r = store_put(s, STORE_META, key.data, key.len, val.data, val.len,
		    ttl ? time_now() + ttl : 0);
	}
	buf_free(&key);
	buf_free(&val);
	return r;
}

int
block_check(struct store *s, const char *ip)
{
	struct buf key, val;
	int r = 0;

	buf_init(&key, 0);
	buf_init(&val, 0);
	if (block_key(ip, &key) == 0)
		r = store_get(s, STORE_META, key.data, key.len, &val);
	buf_free(&key);
	buf_free(&val);
	return r;
}

int
block_del(struct store *s, const char *ip)
{
	struct buf key;
	int r = -1;

	buf_init(&key, 0);
	if (block_key(ip, &key) == 0)
		r = store_del(s, STORE_META, key.data, key.len);
	buf_free(&key);
	return r;
}

struct each_ctx {
	int	(*fn)(void *, const char *, long long, const char *);
	void	*ctx;
};

static int
block_each_fn(void *ctx, const void *key, size_t klen, const void *val,
    size_t vlen, long long expires)
{
	struct each_ctx *ec = ctx;
	char *ip, *info;
	int r;

	ip = xstrndup((const char *)key + strlen(BLOCK_PREFIX),
	    klen - strlen(BLOCK_PREFIX));
	info = xstrndup(val, vlen);
	r = ec->fn(ec->ctx, ip, expires, info);
	free(ip);
	free(info);
	return r;
}

int
block_each(struct store *s, int (*fn)(void *ctx, const char *ip,
    long long expires, const char *info), void *ctx)
{
	struct store_txn *txn;
	struct each_ctx ec = { fn, ctx };
	int r;

	if (store_txn_begin(s, 1, &txn) == -1)
		return -1;
	r = store_titer(txn, STORE_META, BLOCK_PREFIX, strlen(BLOCK_PREFIX),
	    block_each_fn, &ec);
	store_txn_abort(&txn);
	return r;
}
