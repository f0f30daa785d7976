/*
 * node.c - nodes, homes and the node key in the shared state; see node.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "buf.h"
#include "config.h"
#include "dns.h"
#include "node.h"
#include "store.h"
#include "util.h"

#define NODE_PREFIX	"node/"
#define HOME_PREFIX	"home/"
#define KEY_NAME	"nodekey"

int
node_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > NODE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return 0;
	return 1;
}

const char *
node_self(const struct config *cfg)
{
	static char self[NODE_NAME_MAX + 1];
	const char *v = config_str(cfg, "server.node_name");
	size_t i;

	if (*v != '\0') {
		str_copy(self, sizeof(self), v);
		return self;
	}
	if (gethostname(self, sizeof(self)) == -1)
		self[0] = '\0';
	self[sizeof(self) - 1] = '\0';
	for (i = 0; self[i] != '\0'; i++)
		if (!isalnum((unsigned char)self[i]) && self[i] != '-' &&
		    self[i] != '_' && self[i] != '.')
			self[i] = '-';
	if (self[0] == '\0')
		str_copy(self, sizeof(self), "localhost");
	return self;
}

int
node_parse(struct node_rec *n, const char *smtp, const char *pop3, char *why,
    size_t whysize)
{
	char w[128];

	if (hostport_parse(smtp, n->smtp_host, sizeof(n->smtp_host),
	    &n->smtp_port, w, sizeof(w)) == -1 || n->smtp_port == 0) {
		snprintf(why, whysize, "SMTP address '%s': %s", smtp,
		    n->smtp_port == 0 ? "port 0" : w);
		return -1;
	}
	if (hostport_parse(pop3, n->pop3_host, sizeof(n->pop3_host),
	    &n->pop3_port, w, sizeof(w)) == -1 || n->pop3_port == 0) {
		snprintf(why, whysize, "POP3 address '%s': %s", pop3,
		    n->pop3_port == 0 ? "port 0" : w);
		return -1;
	}
	return 0;
}

void
node_addr(struct buf *b, const char *host, int port)
{
	if (strchr(host, ':') != NULL)
		buf_printf(b, "[%s]:%d", host, port);
	else
		buf_printf(b, "%s:%d", host, port);
}

int
node_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len_r)
{
	struct buf b;
	int r;

	buf_init(&b, 0);
	node_addr(&b, host, port);
	r = dns_server_parse(b.data, ss, len_r);
	buf_free(&b);
	return r;
}

int
node_put(struct store *s, const struct node_rec *n)
{
	struct buf k, v;
	int r;

	if (!node_name_valid(n->name))
		return -1;
	buf_init(&k, 0);
	buf_init(&v, 0);
	buf_printf(&k, NODE_PREFIX "%s", n->name);
	buf_puts(&v, "smtp=");
	node_addr(&v, n->smtp_host, n->smtp_port);
	buf_puts(&v, " pop3=");
	node_addr(&v, n->pop3_host, n->pop3_port);
	buf_printf(&v, " state=%s", n->draining ? "drain" : "active");
	r = store_put(s, STORE_META, k.data, k.len, v.data, v.len, 0);
	buf_free(&k);
	buf_free(&v);
	return r;
}

/* node_decode - the value P (LEN bytes) of node NAME into *N.  0/-1. */
static int
node_decode(const char *name, const char *p, size_t len, struct node_rec *n)
{
	char text[512], *f, *save = NULL, why[128];
	const char *smtp = NULL, *pop3 = NULL;

	memset(n, 0, sizeof(*n));
	if (len >= sizeof(text) || str_copy(n->name, sizeof(n->name), name) == -1)
		return -1;
	memcpy(text, p, len);
	text[len] = '\0';
	for (f = strtok_r(text, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
		if (strncmp(f, "smtp=", 5) == 0)
			smtp = f + 5;
		else if (strncmp(f, "pop3=", 5) == 0)
			pop3 = f + 5;
		else if (strcmp(f, "state=drain") == 0)
			n->draining = 1;
	}
	if (smtp == NULL || pop3 == NULL)
		return -1;
	return node_parse(n, smtp, pop3, why, sizeof(why));
}

int
node_get(struct store *s, const char *name, struct node_rec *n)
{
	struct buf k, v;
	int r;

	if (!node_name_valid(name))
		return 0;
	buf_init(&k, 0);
	buf_init(&v, 4096);
	buf_printf(&k, NODE_PREFIX "%s", name);
	r = store_get(s, STORE_META, k.data, k.len, &v);
	if (r == 1 && node_decode(name, v.data, v.len, n) == -1)
		r = -1;
	buf_free(&k);
	buf_free(&v);
	return r;
}

struct each_ctx {
	int	(*fn)(void *ctx, const struct node_rec *n);
	void	*ctx;
};

static int
each_fn(void *ctx, const void *key, size_t klen, const void *val, size_t vlen,
    long long expires)
{
	struct each_ctx *e = ctx;
	char name[NODE_NAME_MAX + 1];
	struct node_rec n;
	size_t plen = strlen(NODE_PREFIX);

	(void)expires;
	if (klen <= plen || klen - plen > NODE_NAME_MAX)
		return 0;
	memcpy(name, (const char *)key + plen, klen - plen);
	name[klen - plen] = '\0';
	if (node_decode(name, val, vlen, &n) == -1)
		return 0;	/* not ours to show */
	return e->fn(e->ctx, &n);
}

int
node_each(struct store *s, int (*fn)(void *ctx, const struct node_rec *n),
    void *ctx)
{
	struct each_ctx e = { fn, ctx };
	struct store_txn *t;
	int r;

	if (store_txn_begin(s, 1, &t) == -1)
		return -1;
	r = store_titer(t, STORE_META, NODE_PREFIX, strlen(NODE_PREFIX),
	    each_fn, &e);
	store_txn_abort(&t);
	return r;
}

int
node_home_x(struct store *s, const char *account, char *name, int *carry_r)
{
	const size_t cl = strlen(NODE_HOME_CARRY);
	struct buf k, v;
	int r;

	*carry_r = 0;
	buf_init(&k, 0);
	buf_init(&v, NODE_NAME_MAX + 1);
	buf_printf(&k, HOME_PREFIX "%s", account);
	r = store_get(s, STORE_META, k.data, k.len, &v);
	if (r == 1) {
		if (v.len > cl && memcmp(v.data + v.len - cl, NODE_HOME_CARRY,
		    cl) == 0) {
			*carry_r = 1;
			v.len -= cl;
		}
		if (v.len > NODE_NAME_MAX)
			r = -1;
		else {
			memcpy(name, v.data, v.len);
			name[v.len] = '\0';
			if (!node_name_valid(name))
				r = -1;
		}
	}
	buf_free(&k);
	buf_free(&v);
	return r;
}

int
node_home(struct store *s, const char *account, char *name)
{
	int carry;

	return node_home_x(s, account, name, &carry);
}

int
node_home_elsewhere(struct store *s, const char *self, const char *account,
    char *name)
{
	int r = node_home(s, account, name);

	return r == 1 && strcmp(name, self) == 0 ? 0 : r;
}

int
node_home_set(struct store *s, const char *account, const char *name)
{
	struct buf k;
	int r;

	buf_init(&k, 0);
	buf_printf(&k, HOME_PREFIX "%s", account);
	if (name == NULL)
		r = store_del(s, STORE_META, k.data, k.len) == -1 ? -1 : 0;
	else
		r = store_put(s, STORE_META, k.data, k.len, name, strlen(name),
		    0);
	buf_free(&k);
	return r;
}

int
node_home_tput(struct store_txn *t, const char *account, const char *name)
{
	struct buf k;
	int r;

	buf_init(&k, 0);
	buf_printf(&k, HOME_PREFIX "%s", account);
	r = store_tput(t, STORE_META, k.data, k.len, name, strlen(name), 0);
	buf_free(&k);
	return r;
}

int
node_home_tdel(struct store_txn *t, const char *account)
{
	struct buf k;
	int r;

	buf_init(&k, 0);
	buf_printf(&k, HOME_PREFIX "%s", account);
	r = store_tdel(t, STORE_META, k.data, k.len) == -1 ? -1 : 0;
	buf_free(&k);
	return r;
}

struct key_ctx {
	char	*key;
	int	 create;
	int	 found;
};

/* key_fn - the key, made in the same transaction when absent: two nodes
 * added at once agree on one. */
static int
key_fn(struct store_txn *t, void *ctx)
{
	struct key_ctx *k = ctx;
	unsigned char raw[NODE_KEY_HEX / 2];
	struct buf v;
	size_t i;
	int r;

	buf_init(&v, NODE_KEY_HEX + 1);
	r = store_tget(t, STORE_META, KEY_NAME, strlen(KEY_NAME), &v, NULL);
	if (r == 1 && v.len == NODE_KEY_HEX) {
		memcpy(k->key, v.data, NODE_KEY_HEX);
		k->key[NODE_KEY_HEX] = '\0';
		k->found = 1;
	}
	buf_free(&v);
	if (r == -1)
		return -1;
	if (k->found || !k->create)
		return 0;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(k->key + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	k->found = 1;
	return store_tput(t, STORE_META, KEY_NAME, strlen(KEY_NAME), k->key,
	    NODE_KEY_HEX, 0) == -1 ? -1 : 0;
}

int
node_key(struct store *s, char *key, int create)
{
	struct key_ctx k = { key, create, 0 };
	struct buf v;
	int r;

	if (create) {
		if (store_write(s, key_fn, &k) != 0)
			return -1;
		return k.found;
	}
	buf_init(&v, NODE_KEY_HEX + 1);
	r = store_get(s, STORE_META, KEY_NAME, strlen(KEY_NAME), &v);
	if (r == 1 && v.len != NODE_KEY_HEX)
		r = -1;
	if (r == 1) {
		memcpy(key, v.data, NODE_KEY_HEX);
		key[NODE_KEY_HEX] = '\0';
	}
	OPENSSL_cleanse(v.data, v.len);
	buf_free(&v);
	return r;
}

int
node_key_ok(struct store *s, const char *given)
{
	char key[NODE_KEY_HEX + 1];
	int r;

	r = node_key(s, key, 0);
	if (r != 1)
		return r;
	r = strlen(given) == NODE_KEY_HEX &&
	    CRYPTO_memcmp(given, key, NODE_KEY_HEX) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}
