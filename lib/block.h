/*
 * block - client addresses refused at connect, learnt at run time (the
 * mail.dat "register" digit; DESIGN §5 `yubinctl block`).  Kept in LMDB
 * (STORE_META "block/ADDR" = "SINCE REASON", with expiry) so the daemon never
 * writes CONFDIR and the blocks survive restarts.  Addresses are stored in
 * inet_ntop's canonical form.
 */
#ifndef YUBIN_BLOCK_H
#define YUBIN_BLOCK_H

struct store;

/* block_add - block IP for TTL seconds (0: no expiry).  0, or -1 (IP not an
 * address, store error). */
int	block_add(struct store *s, const char *ip, long long ttl, const char *reason);
/* block_check - 1 blocked, 0 not, -1 error. */
int	block_check(struct store *s, const char *ip);
/* block_del - 1 removed, 0 not blocked, -1 error or bad address. */
int	block_del(struct store *s, const char *ip);
/* block_each - FN(ctx, ip, expires (0 never), "SINCE REASON") per block. */
int	block_each(struct store *s, int (*fn)(void *ctx, const char *ip,
	    long long expires, const char *info), void *ctx);

#endif
