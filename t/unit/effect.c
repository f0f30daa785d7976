/*
 * t/unit/effect.c - the relay plugin (plugins/relay/) without a server:
 * the effect.dat line parser (every error text), the file loader (limits,
 * "PATH:LINE: message", only placement), pattern matching, the tables
 * cell by cell, the From: mailbox reader, the trust match, the reject
 * lists, and the hooks driven through stub accessors (the yh_* functions
 * of hooks/yubin/hook.h are defined here, so nothing of the core is
 * linked).  Numbered, table-driven cases; a failure names its number.
 * The folder's two files are compiled in (not linked): the cases reach
 * the plugin's static hooks, tables and generation pointer.
 */
#define RELAY_NO_EXPORT 1
#include "../../plugins/lib/pu_net.c"
#include "../../plugins/relay/relay.c"
#include "../../plugins/relay/effect.c"

#include <ftw.h>
#include <limits.h>

#include "../lib/tap.h"

/* ---- stub accessors ------------------------------------------------------- */

#define STUB_NOTES	8
#define STUB_ERRS	64
#define STUB_STORE	16

struct yh_config {
	const char	*file;		/* [plugin relay] file, or NULL */
	const char	*tls;		/* [plugin relay] trust_local_sender, or NULL */
};

struct yh_session {
	const char	*ip;
	const char	*auth;
	const char	*sender;
	int		 local;
	const char	*from[2];	/* From: fields */
	char		 nk[STUB_NOTES][32];
	char		 nv[STUB_NOTES][RELAY_ADDR_MAX + 64];
	int		 nnotes;
	union {
		long double	 align;
		unsigned char	 b[1024];
	}		 slot;		/* yh_txn_slot */
	size_t		 slotsize;
	int		 code;
	char		 enh[16];
	char		 text[512];
};

struct yh_pop {
	const char	*user;
	const char	*ip;
};

static char stub_dir[256];
static char stub_path[512];
static char errs[STUB_ERRS][2048];
static int nerrs;
static char lastlog[2048];
static const char *server_keys[16][2];
static const char *account_keys[8][3];	/* account, key, value */
static struct {
	char		 key[80];
	long long	 expires;
} store[STUB_STORE];
static long long stub_now = 1000;

void
yh_error(const char *fmt, ...)
{
	va_list ap;

	if (nerrs == STUB_ERRS)
		return;
	va_start(ap, fmt);
	vsnprintf(errs[nerrs++], sizeof(errs[0]), fmt, ap);
	va_end(ap);
}

void
yh_log(enum yh_level lvl, const char *fmt, ...)
{
	va_list ap;

	(void)lvl;
	va_start(ap, fmt);
	vsnprintf(lastlog, sizeof(lastlog), fmt, ap);
	va_end(ap);
}

const char *
yh_config_get(const struct yh_config *cfg, const char *key)
{
	if (strcmp(key, "trust_local_sender") == 0)
		return cfg->tls;
	return strcmp(key, "file") == 0 ? cfg->file : NULL;
}

const char *
yh_config_path(const struct yh_config *cfg, const char *key)
{
	const char *v = yh_config_get(cfg, key);

	if (v == NULL)
		v = "effect.dat";	/* the declared default */
	if (v[0] == '/')
		snprintf(stub_path, sizeof(stub_path), "%s", v);
	else
		snprintf(stub_path, sizeof(stub_path), "%s/%s", stub_dir, v);
	return stub_path;
}

/* the core has checked the form: a yes word, or a no */
int
yh_config_bool(const struct yh_config *cfg, const char *key)
{
	const char *v = yh_config_get(cfg, key);

	return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0);
}

const char *
yh_server_get(const char *key)
{
	size_t i;

	for (i = 0; i < NELEM(server_keys) && server_keys[i][0]; i++)
		if (strcmp(server_keys[i][0], key) == 0)
			return server_keys[i][1];
	return NULL;
}

static void
server_set(const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < NELEM(server_keys) && server_keys[i][0]; i++)
		if (strcmp(server_keys[i][0], key) == 0)
			break;
	server_keys[i][0] = key;
	server_keys[i][1] = value;
}

const char *
yh_account_get(const char *account, const char *key, char *out, size_t size)
{
	const char *v = NULL, *k = key;
	char sk[64];
	size_t i;

	for (i = 0; i < NELEM(account_keys) && account_keys[i][0]; i++)
		if (strcmp(account_keys[i][0], account) == 0 &&
		    strcmp(account_keys[i][1], key) == 0)
			v = account_keys[i][2];
	if (v == NULL) {
		snprintf(sk, sizeof(sk), "smtp.%s", k);
		v = yh_server_get(sk);
	}
	if (v == NULL)
		v = "";
	if (strlen(v) >= size)
		return NULL;
	memcpy(out, v, strlen(v) + 1);
	return out;
}

const char *yh_peer_ip(const struct yh_session *s) { return s->ip; }
const char *yh_auth_user(const struct yh_session *s) { return s->auth ? s->auth : ""; }
const char *yh_sender(const struct yh_session *s) { return s->sender; }
int yh_rcpt_local(const struct yh_session *s) { return s->local; }
int yh_local_submission(const struct yh_session *s) { (void)s; return 0; }

const char *
yh_header(struct yh_session *s, const char *name, int n)
{
	return strcmp(name, "From") == 0 && n >= 0 && n < 2 ? s->from[n] : NULL;
}

void
yh_reply(struct yh_session *s, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;

	s->code = code;
	snprintf(s->enh, sizeof(s->enh), "%s", enh);
	va_start(ap, fmt);
	vsnprintf(s->text, sizeof(s->text), fmt, ap);
	va_end(ap);
}

int
yh_note_set(struct yh_session *s, const char *key, const char *value)
{
	int i;

	for (i = 0; i < s->nnotes; i++)
		if (strcmp(s->nk[i], key) == 0)
			break;
	if (i == STUB_NOTES)
		return -1;
	if (i == s->nnotes)
		s->nnotes++;
	snprintf(s->nk[i], sizeof(s->nk[i]), "%s", key);
	snprintf(s->nv[i], sizeof(s->nv[i]), "%s", value);
	return 0;
}

const char *
yh_note_get(const struct yh_session *s, const char *key)
{
	int i;

	for (i = 0; i < s->nnotes; i++)
		if (strcmp(s->nk[i], key) == 0)
			return s->nv[i];
	return NULL;
}

void *
yh_txn_slot(struct yh_session *s, size_t size)
{
	if (size > sizeof(s->slot.b))
		return NULL;
	if (s->slotsize == 0)
		s->slotsize = size;
	return s->slotsize == size ? s->slot.b : NULL;
}

int
yh_domain_local(const char *domain)
{
	return dom_eq(domain, "local.test") || dom_eq(domain, "alias.test");
}

int
yh_resolve(const char *addr, char *account, size_t account_size)
{
	const char *at = strrchr(addr, '@');
	size_t n;

	if (at == NULL || !yh_domain_local(at + 1))
		return -1;
	n = (size_t)(at - addr);
	if (n == 10 && strncmp(addr, "storeerror", 10) == 0)
		return -2;
	/* root: an alias of postmaster; abuse: the admin address, which is
	 * the postmaster account */
	if ((n == 4 && strncmp(addr, "root", 4) == 0) ||
	    (n == 5 && strncasecmp(addr, "abuse", 5) == 0)) {
		snprintf(account, account_size, "postmaster");
		return 1;
	}
	if ((n == 5 && strncasecmp(addr, "alice", 5) == 0) ||
	    (n == 3 && strncasecmp(addr, "bob", 3) == 0) ||
	    (n == 10 && strncasecmp(addr, "postmaster", 10) == 0)) {
		snprintf(account, account_size, "%.*s", (int)n, addr);
		for (char *p = account; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		return 1;
	}
	return 0;
}

int
yh_store_get(const char *key, void *val, size_t *len)
{
	size_t i;

	(void)val;
	for (i = 0; i < STUB_STORE; i++)
		if (strcmp(store[i].key, key) == 0)
			return store[i].expires > stub_now ? (*len = 0, 1) : 0;
	return 0;
}

int
yh_store_put(const char *key, const void *val, size_t len, long long ttl)
{
	size_t i;

	(void)val;
	(void)len;
	for (i = 0; i < STUB_STORE; i++)
		if (store[i].key[0] == '\0' || strcmp(store[i].key, key) == 0)
			break;
	if (i == STUB_STORE)
		return -1;
	snprintf(store[i].key, sizeof(store[i].key), "%s", key);
	store[i].expires = ttl ? stub_now + ttl : LLONG_MAX;
	return 0;
}

const char *yh_pop_user(const struct yh_pop *p) { return p->user; }
const char *yh_pop_peer_ip(const struct yh_pop *p) { return p->ip; }

/* ---- helpers -------------------------------------------------------------- */

/* relay_load - what the core does with a generation: init, then commit
 * when it succeeded (a failed one is discarded by init itself here, as
 * nothing else was prepared). */
static int
relay_load(const struct yh_config *cfg)
{
	void *gen = NULL;

	if (relay_init(cfg, &gen) != 0)
		return -1;
	relay_commit(gen);
	return 0;
}

static void
write_file(const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", stub_dir, name);
	f = fopen(path, "w");
	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

/* load_tls - write effect.dat = TEXT and init with trust_local_sender =
 * TLS (NULL: absent); the init result.  Errors in errs. */
static int
load_tls(const char *text, const char *tls)
{
	struct yh_config cfg = { NULL, tls };

	write_file("effect.dat", text, strlen(text));
	nerrs = 0;
	lastlog[0] = '\0';
	return relay_load(&cfg);
}

/* load - load_tls without trust_local_sender */
static int
load(const char *text)
{
	return load_tls(text, NULL);
}

static void
session_init(struct yh_session *s, const char *ip, const char *auth,
    const char *sender)
{
	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->auth = auth;
	s->sender = sender;
}

/* slot_fill - the relay slot as a mail hook would have left it */
static void
slot_fill(struct yh_session *s, long rule, int sc, const char *sender)
{
	struct ctx_slot *x = yh_txn_slot(s, sizeof(*x));

	x->set = 1;
	x->rule = rule;
	x->sc = sc;
	snprintf(x->sender, sizeof(x->sender), "%s", sender);
}

/* rcpt - the rcpt hook for RCPT (LOCAL as the core would say) */
static int
rcpt(struct yh_session *s, const char *to)
{
	const char *at = strrchr(to, '@');
	char acct[64];

	s->code = 0;
	s->local = at && yh_domain_local(at + 1) ? (yh_resolve(to, acct,
	    sizeof(acct)) == 1 ? 1 : 0) : -1;
	return relay_rcpt(s, to);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- 1. rule_parse --------------------------------------------------------- */

struct pcase {
	int		 n;
	const char	*line;
	int		 ok;
	enum pat	 pat;
	enum kind	 kind;
	const char	*why;		/* exact message when !ok */
};

#define CIDR_WHY(x) "bad CIDR block '" x "' (an IPv4 address/0-32 or an IPv6 address/0-128)"
#define IP4_WHY(x) "bad IPv4 pattern '" x "' (four octets, each 0-255 or '*')"
#define ACT_WHY(x) "unknown action '" x "' (expected true, false, default, norelay, " \
	"norelay,0, norelay,2 or only)"
#define PAT_WHY(x) "bad pattern '" x "' (expected an IP address, CIDR block, domain, " \
	"mail address or #keyword)"
#define SPACES_WHY "more than one space (write PATTERN or PATTERN ACTION, one space between)"

static const struct pcase pcases[] = {
	{ 1, "127.0.0.1", 1, PAT_IP4, K_TRUE, NULL },
	{ 2, "127.0.0.1 true", 1, PAT_IP4, K_TRUE, NULL },
	{ 3, "127.0.0.1 false", 1, PAT_IP4, K_FALSE, NULL },
	{ 4, "127.0.0.1 default", 1, PAT_IP4, K_DEFAULT, NULL },
	{ 5, "127.0.0.1 norelay", 1, PAT_IP4, K_NORELAY, NULL },
	{ 6, "127.0.0.1 norelay,0", 1, PAT_IP4, K_NORELAY0, NULL },
	{ 7, "127.0.0.1 norelay,2", 1, PAT_IP4, K_NORELAY2, NULL },
	{ 8, "127.0.0.1 only", 1, PAT_IP4, K_ONLY, NULL },
	{ 9, "127.0.0.1 NoRelay,2", 1, PAT_IP4, K_NORELAY2, NULL },
	{ 10, "*.*.*.*", 1, PAT_IP4, K_TRUE, NULL },
	{ 11, "1.*.3.*", 1, PAT_IP4, K_TRUE, NULL },
	{ 12, "0.0.0.0 only", 1, PAT_IP4, K_ONLY, NULL },
	{ 13, "192.168.1.0/28", 1, PAT_IP4, K_TRUE, NULL },
	{ 14, "0.0.0.0/0", 1, PAT_IP4, K_TRUE, NULL },
	{ 15, "::1", 1, PAT_IP6, K_TRUE, NULL },
	{ 16, "2001:db8::/32 false", 1, PAT_IP6, K_FALSE, NULL },
	{ 17, "::/0", 1, PAT_IP6, K_TRUE, NULL },
	{ 18, "::ffff:10.0.0.1", 1, PAT_IP4, K_TRUE, NULL },
	{ 19, "abc.co.jp", 1, PAT_DOMAIN, K_TRUE, NULL },
	{ 20, "abc.co.jp.", 1, PAT_DOMAIN, K_TRUE, NULL },
	{ 21, "abc@abc.co.jp false", 1, PAT_ADDRESS, K_FALSE, NULL },
	{ 22, "#blank false", 1, PAT_BLANK, K_FALSE, NULL },
	{ 23, "#<> false", 1, PAT_NULL, K_FALSE, NULL },
	{ 24, "#number", 1, PAT_NUMBER, K_TRUE, NULL },
	{ 25, "#nodomain norelay", 1, PAT_NODOMAIN, K_NORELAY, NULL },
	{ 26, "#HOST only", 1, PAT_HOST, K_ONLY, NULL },
	{ 27, "\xe6\x97\xa5\xe6\x9c\xac.jp", 1, PAT_DOMAIN, K_TRUE, NULL },
	{ 28, "localhost", 1, PAT_DOMAIN, K_TRUE, NULL },
	{ 40, "127.0.0.1\tfalse", 0, 0, 0,
	    "TAB is not allowed (separate pattern and action with one space)" },
	{ 41, "127.0.0.1  false", 0, 0, 0, SPACES_WHY },
	{ 42, "a b c", 0, 0, 0, SPACES_WHY },
	{ 43, " 127.0.0.1", 0, 0, 0, "space at the start of the line" },
	{ 44, "127.0.0.1 ", 0, 0, 0, "space at the end of the line" },
	{ 45, "127.0.0.1 maybe", 0, 0, 0, ACT_WHY("maybe") },
	{ 46, "127.0.0.1 norelay,1", 0, 0, 0, ACT_WHY("norelay,1") },
	{ 47, "127.0.0.1 norelay,", 0, 0, 0, ACT_WHY("norelay,") },
	{ 48, "10.0.0.0/33", 0, 0, 0, CIDR_WHY("10.0.0.0/33") },
	{ 49, "::/129", 0, 0, 0, CIDR_WHY("::/129") },
	{ 50, "10.0.0.0/-1", 0, 0, 0, CIDR_WHY("10.0.0.0/-1") },
	{ 51, "10.0.0.0/0010", 0, 0, 0, CIDR_WHY("10.0.0.0/0010") },
	{ 52, "10.0.0/8", 0, 0, 0, CIDR_WHY("10.0.0/8") },
	{ 53, "::ffff:10.0.0.0/104", 0, 0, 0, CIDR_WHY("::ffff:10.0.0.0/104") },
	{ 54, "10.0.0.256", 0, 0, 0, IP4_WHY("10.0.0.256") },
	{ 55, "10.*.*", 0, 0, 0, IP4_WHY("10.*.*") },
	{ 56, "10.1*.0.0", 0, 0, 0, IP4_WHY("10.1*.0.0") },
	{ 57, "10.0.0.01", 0, 0, 0, IP4_WHY("10.0.0.01") },
	{ 58, "10..0.1", 0, 0, 0, IP4_WHY("10..0.1") },
	{ 59, "**.0.0.1", 0, 0, 0, IP4_WHY("**.0.0.1") },
	{ 60, "12345", 0, 0, 0, IP4_WHY("12345") },
	{ 61, "*.example.com", 0, 0, 0,
	    "bad pattern '*.example.com' ('*' stands only for a whole IPv4 octet)" },
	{ 62, "#comment", 0, 0, 0, "unknown keyword '#comment' (expected #blank, #<>, "
	    "#number, #nodomain or #host; a comment is '#' and a space)" },
	{ 63, "2001:db8::g", 0, 0, 0, "bad IPv6 address '2001:db8::g'" },
	{ 64, "1.2.3.4:25", 0, 0, 0, "bad IPv6 address '1.2.3.4:25'" },
	{ 65, "@example.com", 0, 0, 0, "bad mail address '@example.com'" },
	{ 66, "a@", 0, 0, 0, "bad mail address 'a@'" },
	{ 67, "a@b..c", 0, 0, 0, "bad mail address 'a@b..c'" },
	{ 68, "x..y", 0, 0, 0, PAT_WHY("x..y") },
	{ 69, ".x", 0, 0, 0, PAT_WHY(".x") },
	{ 70, "a!b", 0, 0, 0, PAT_WHY("a!b") },
	{ 71, "a\x01" "b", 0, 0, 0, "control character in line" },
	{ 72, "a\x7f" "b", 0, 0, 0, "control character in line" },
};

static void
test_rule_parse(void)
{
	char why[RELAY_WHY_MAX], big[EFFECT_LINE_MAX + 2];
	struct rule r;
	size_t i;
	int rc;

	for (i = 0; i < NELEM(pcases); i++) {
		const struct pcase *c = &pcases[i];

		why[0] = '\0';
		rc = rule_parse(c->line, strlen(c->line), &r, why, sizeof(why));
		if (c->ok) {
			ok(rc == 0 && r.pat == c->pat && r.kind == c->kind,
			    "parse %d: '%s'", c->n, c->line);
			if (rc != 0)
				diag("why: %s", why);
		} else {
			ok(rc == -1, "parse %d: '%s' refused", c->n, c->line);
			is_str(why, c->why, "parse %d: message", c->n);
		}
		free(r.text);
	}
	memset(big, 'a', sizeof(big));
	rc = rule_parse(big, EFFECT_LINE_MAX + 1, &r, why, sizeof(why));
	ok(rc == -1, "parse 80: 1025 bytes refused");
	is_str(why, "line longer than 1024 bytes", "parse 80: message");
	free(r.text);
}

/* ---- 2. matching ----------------------------------------------------------- */

struct mcase {
	int		 n;
	const char	*rule;
	const char	*ip;		/* NULL: unknown */
	const char	*sender;
	int		 match;
};

static const struct mcase mcases[] = {
	{ 1, "127.0.0.1", "127.0.0.1", "", 1 },
	{ 2, "127.0.0.1", "127.0.0.2", "", 0 },
	{ 3, "1.*.3.*", "1.200.3.4", "", 1 },
	{ 4, "1.*.3.*", "1.200.4.4", "", 0 },
	{ 5, "*.*.*.*", "203.0.113.9", "", 1 },
	{ 6, "*.*.*.*", "::1", "", 0 },
	{ 7, "192.168.1.0/28", "192.168.1.15", "", 1 },
	{ 8, "192.168.1.0/28", "192.168.1.16", "", 0 },
	{ 9, "192.168.1.7/28", "192.168.1.0", "", 1 },
	{ 10, "0.0.0.0/0", "10.1.2.3", "", 1 },
	{ 11, "0.0.0.0", "10.1.2.3", "", 0 },
	{ 12, "10.0.0.1", "::ffff:10.0.0.1", "", 1 },	/* mapped = IPv4 */
	{ 13, "::1", "::1", "", 1 },
	{ 14, "::1", "127.0.0.1", "", 0 },
	{ 15, "2001:db8::/32", "2001:DB8:ffff::1", "", 1 },
	{ 16, "2001:db8::/33", "2001:db8:8000::1", "", 0 },
	{ 17, "2001:db8::/31", "2001:db9::1", "", 1 },
	{ 18, "::/0", "2001:db8::1", "", 1 },
	{ 19, "::/0", "10.0.0.1", "", 0 },
	{ 20, "127.0.0.1", NULL, "", 0 },
	{ 30, "abc.co.jp", NULL, "x@abc.co.jp", 1 },
	{ 31, "abc.co.jp", NULL, "x@ABC.Co.JP", 1 },
	{ 32, "abc.co.jp", NULL, "x@abc.co.jp.", 1 },
	{ 33, "abc.co.jp.", NULL, "x@abc.co.jp", 1 },
	{ 34, "abc.co.jp", NULL, "x@sub.abc.co.jp", 0 },
	{ 35, "abc.co.jp", NULL, "x@co.jp", 0 },
	{ 36, "abc.co.jp", NULL, "", 0 },
	{ 37, "abc@abc.co.jp", NULL, "ABC@abc.CO.jp", 1 },
	{ 38, "abc@abc.co.jp", NULL, "abd@abc.co.jp", 0 },
	{ 39, "abc@abc.co.jp", NULL, "xabc@abc.co.jp", 0 },
	{ 40, "#<>", NULL, "", 1 },
	{ 41, "#<>", NULL, "x@y.z", 0 },
	{ 42, "#blank", NULL, "", 1 },
	{ 43, "#blank", NULL, "x@y.z", 0 },
	{ 44, "#number", NULL, "x@[192.0.2.1]", 1 },
	{ 45, "#number", NULL, "x@[IPv6:2001:db8::1]", 1 },
	{ 46, "#number", NULL, "x@192.0.2.1", 1 },
	{ 47, "#number", NULL, "x@1st.example", 0 },
	{ 48, "#number", NULL, "", 0 },
	{ 49, "#nodomain", NULL, "alice", 1 },
	{ 50, "#nodomain", NULL, "alice@local.test", 0 },
	{ 51, "#nodomain", NULL, "", 0 },
	{ 52, "#host", NULL, "x@pc01", 1 },
	{ 53, "#host", NULL, "x@pc01.", 1 },
	{ 54, "#host", NULL, "x@pc01.example", 0 },
	{ 55, "#host", NULL, "x@[192.0.2.1]", 0 },
	{ 56, "#host", NULL, "", 0 },
	{ 57, "#host", NULL, "alice", 0 },
};

static void
test_match(void)
{
	char why[RELAY_WHY_MAX];
	struct pu_ip ip;
	struct rule r;
	size_t i;

	for (i = 0; i < NELEM(mcases); i++) {
		const struct mcase *c = &mcases[i];
		int have = c->ip && pu_ip_parse(c->ip, &ip) == 0;

		if (rule_parse(c->rule, strlen(c->rule), &r, why, sizeof(why)) == -1) {
			ok(0, "match %d: rule '%s' parses (%s)", c->n, c->rule, why);
			continue;
		}
		is_int(rule_match(&r, have ? &ip : NULL, c->sender), c->match,
		    "match %d: '%s' ip=%s sender=<%s>", c->n, c->rule,
		    c->ip ? c->ip : "-", c->sender);
		free(r.text);
	}
}

/* ---- 3. the file ----------------------------------------------------------- */

static void
test_load(void)
{
	struct yh_config cfg = { NULL };
	char want[1024], *text;
	size_t i, n;

	ok(load("") == 0 && relay->nrules == 0 && !relay->only, "load 1: empty");
	ok(load("# c\n\n#\n127.0.0.1\r\n#blank false\nabc.co.jp only") == 0 &&
	    relay->nrules == 3 && relay->only && relay->rules[0].line == 4 &&
	    relay->rules[2].line == 6, "load 2: comments, CRLF, last line without LF");
	ok(load("127.0.0.1 only\n127.0.0.2\n\n# fine\nbad\tline\n127.0.0.3 only\n") == -1,
	    "load 3: rules after only refused");
	is_int(nerrs, 3, "load 3: three errors");
	snprintf(want, sizeof(want), "%s/effect.dat:2: rule after the 'only' rule of "
	    "line 1 ('only' must be the last rule)", stub_dir);
	is_str(errs[0], want, "load 3: line 2");
	snprintf(want, sizeof(want), "%s/effect.dat:5: TAB is not allowed (separate "
	    "pattern and action with one space)", stub_dir);
	is_str(errs[1], want, "load 3: line 5: its own error first");
	snprintf(want, sizeof(want), "%s/effect.dat:6: rule after the 'only' rule of "
	    "line 1 ('only' must be the last rule)", stub_dir);
	is_str(errs[2], want, "load 3: line 6");
	ok(relay->nrules == 3 && relay->only, "load 3: the previous rules stay");

	/* 10000 rules, one more */
	n = EFFECT_RULES_MAX + 1;
	text = malloc(n * 10 + 1);
	for (i = 0; i < n; i++)
		memcpy(text + i * 10, "127.0.0.1\n", 10);
	text[(n - 1) * 10] = '\0';
	ok(load(text) == 0 && relay->nrules == EFFECT_RULES_MAX, "load 4: 10000 rules");
	text[(n - 1) * 10] = '1';
	text[n * 10] = '\0';
	ok(load(text) == -1 && nerrs == 1, "load 5: 10001 rules refused");
	snprintf(want, sizeof(want), "%s/effect.dat:10001: more than 10000 rules", stub_dir);
	is_str(errs[0], want, "load 5: message");
	free(text);

	/* 1 MiB */
	text = malloc(EFFECT_FILE_MAX + 2);
	memset(text, '\n', EFFECT_FILE_MAX + 1);
	text[EFFECT_FILE_MAX] = '\0';
	ok(load(text) == 0, "load 6: 1 MiB of empty lines");
	text[EFFECT_FILE_MAX] = '\n';
	text[EFFECT_FILE_MAX + 1] = '\0';
	ok(load(text) == -1 && nerrs == 1, "load 7: 1 MiB + 1 refused");
	snprintf(want, sizeof(want), "%s/effect.dat: larger than 1048576 bytes", stub_dir);
	is_str(errs[0], want, "load 7: message");
	free(text);

	/* a line of 1025 bytes, comment or not */
	text = calloc(1, 2100);
	memset(text, 'a', 1025);
	text[1025] = '\n';
	memcpy(text + 1026, "# ", 2);
	memset(text + 1028, 'b', 1023);
	text[2051] = '\n';
	ok(load(text) == -1 && nerrs == 2, "load 8: two long lines");
	snprintf(want, sizeof(want), "%s/effect.dat:1: line longer than 1024 bytes", stub_dir);
	is_str(errs[0], want, "load 8: line 1");
	snprintf(want, sizeof(want), "%s/effect.dat:2: line longer than 1024 bytes", stub_dir);
	is_str(errs[1], want, "load 8: line 2 (a comment)");
	free(text);
	write_file("effect.dat", "ok.example\na\0b\n", 15);
	nerrs = 0;
	ok(relay_load(&cfg) == -1 && nerrs == 1, "load 10: NUL byte refused");
	snprintf(want, sizeof(want), "%s/effect.dat:2: NUL byte in line", stub_dir);
	is_str(errs[0], want, "load 10: message");

	/* missing files: default fine, configured an error */
	snprintf(want, sizeof(want), "%s/effect.dat", stub_dir);
	remove(want);
	nerrs = 0;
	ok(relay_load(&cfg) == 0 && relay->nrules == 0, "load 11: no default file");
	cfg.file = "other.dat";
	nerrs = 0;
	ok(relay_load(&cfg) == -1 && nerrs == 1, "load 12: configured file missing");
	snprintf(want, sizeof(want), "%s/other.dat: cannot open: No such file or "
	    "directory", stub_dir);
	is_str(errs[0], want, "load 12: message");
	write_file("other.dat", "127.0.0.9 false\n", 16);
	nerrs = 0;
	ok(relay_load(&cfg) == 0 && relay->nrules == 1 &&
	    strcmp(relay->name, "other.dat") == 0, "load 13: configured file");

	/* bad address_permits_relay entries are reported */
	server_set("smtp.address_permits_relay", "127.0.0.1, 10.0.0.0/8, ::1, nonsense");
	ok(load("") == -1 && nerrs == 1, "load 14: bad permits entry");
	is_str(errs[0], "smtp.address_permits_relay: bad address 'nonsense'",
	    "load 14: message");
	server_set("smtp.address_permits_relay", "");
}

/* ---- 4. the tables --------------------------------------------------------- */

static void
test_cells(void)
{
	/* rows acct, noacct, ext; columns acct, external: Y yes, N no, A auth */
	static const struct {
		enum table	 t;
		const char	*name;
		const char	*plain, *gated;
	} tabs[] = {
		{ T_I, "I", "YY NA YA", "YA NA YA" },
		{ T_II, "II", "YY YY YY", "YA YA YY" },
		{ T_IV, "IV", "YA NN YN", "YA NN YN" },
		{ T_IV0, "IV,0", "YN NN YN", "YN NN YN" },
		{ T_IV2, "IV,2", "YN YN YN", "YN YN YN" },
		{ T_V, "V other", "NN NN YN", "NN NN YN" },
	};
	static const char letter[] = { 'N', 'Y', 'A' };
	size_t i;
	int sc, ext, gate;

	for (i = 0; i < NELEM(tabs); i++)
		for (gate = 0; gate < 2; gate++)
			for (sc = 0; sc < 3; sc++)
				for (ext = 0; ext < 2; ext++) {
					const char *w = gate ? tabs[i].gated : tabs[i].plain;
					char got = letter[relay_cell(tabs[i].t,
					    (enum sclass)sc, ext, gate)];

					ok(got == w[sc * 3 + ext], "cell %s%s row %d col %s: %c",
					    tabs[i].name, gate ? " gated" : "", sc,
					    ext ? "ext" : "acct", w[sc * 3 + ext]);
				}
}

/* ---- 5. From:, trust, reject lists ------------------------------------------ */

static void
test_from(void)
{
	static const struct {
		int		 n;
		const char	*v;
		const char	*want;	/* NULL: refused */
	} c[] = {
		{ 1, "alice@local.test", "alice@local.test" },
		{ 2, " alice@local.test ", "alice@local.test" },
		{ 3, "Alice <alice@local.test>", "alice@local.test" },
		{ 4, "\"Smith, Alice\" <alice@local.test>", "alice@local.test" },
		{ 5, "alice@local.test (Alice (the first))", "alice@local.test" },
		{ 6, "(c) Alice <a@b.c> (d)", "a@b.c" },
		{ 7, "<a@b.c>", "a@b.c" },
		{ 8, "a@b.c, d@e.f", NULL },
		{ 9, "<a@b.c>, <d@e.f>", NULL },
		{ 10, "<a@b.c> <d@e.f>", NULL },
		{ 11, "<a@b.c> x", NULL },
		{ 12, "Alice alice@local.test", NULL },
		{ 13, "undisclosed:;", NULL },
		{ 14, "<a@b.c", NULL },
		{ 15, "\"open <a@b.c>", NULL },
		{ 16, "(open a@b.c", NULL },
		{ 17, "", NULL },
		{ 18, "<>", NULL },
		{ 19, "\"quoted <x@y.z>\" <a@b.c>", "a@b.c" },
	};
	char out[RELAY_ADDR_MAX];
	size_t i;
	int r;

	for (i = 0; i < NELEM(c); i++) {
		r = from_mailbox(c[i].v, out, sizeof(out));
		if (c[i].want)
			ok(r == 0 && strcmp(out, c[i].want) == 0, "from %d: '%s' -> %s",
			    c[i].n, c[i].v, c[i].want);
		else
			ok(r == -1, "from %d: '%s' refused", c[i].n, c[i].v);
	}
}

static void
test_trust(void)
{
	static const struct {
		int		 n;
		const char	*id, *addr;
		int		 match;
	} c[] = {
		{ 1, "alice", "alice@local.test", 1 },
		{ 2, "alice", "ALICE@Local.Test", 1 },
		{ 3, "alice", "alice@alias.test", 1 },
		{ 4, "alice", "alice@ext.example", 0 },
		{ 5, "alice", "bob@local.test", 0 },
		{ 6, "alice", "alicex@local.test", 0 },
		{ 7, "alice", "", 0 },
		{ 8, "", "alice@local.test", 0 },
		{ 9, "alice@local.test", "alice@alias.test", 1 },
		{ 10, "alice@ext.example", "alice@ext.example", 1 },
		{ 11, "alice@ext.example", "alice@local.test", 0 },
		{ 12, "alice", "alice", 1 },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++)
		is_int(trust_match(c[i].id, c[i].addr), c[i].match, "trust %d: %s ~ <%s>",
		    c[i].n, c[i].id, c[i].addr);
}

static void
test_reject(void)
{
	static const struct {
		int		 n;
		const char	*sender;
		const char	*key;	/* NULL: not refused */
	} c[] = {
		{ 1, "x@spam.example", "reject_domain" },
		{ 2, "x@SPAM.example.", "reject_domain" },
		{ 3, "x@sub.spam.example", NULL },
		{ 4, "x@[192.0.2.1]", "reject_domain" },
		{ 5, "x@192.0.2.1", "reject_domain" },
		{ 6, "x@[192.0.2.2]", NULL },
		{ 7, "x@[IPv6:2001:DB8:0::5]", "reject_domain" },
		{ 8, "bad@ext.example", "reject_mailaddress" },
		{ 9, "Bad@EXT.example", "reject_mailaddress" },
		{ 10, "good@ext.example", NULL },
		{ 11, "y@whole.example", "reject_mailaddress" },
		{ 12, "", NULL },
		{ 13, "alice", NULL },
	};
	struct strlist rd = { NULL, 0 }, ra = { NULL, 0 };
	const char *key;
	size_t i;
	int r;

	ok(list_split("spam.example, 192.0.2.1,[IPv6:2001:db8::5] ,", &rd) == 0 &&
	    rd.n == 3, "reject: three domains");
	ok(list_split("bad@ext.example,whole.example", &ra) == 0 && ra.n == 2,
	    "reject: two addresses");
	for (i = 0; i < NELEM(c); i++) {
		key = NULL;
		r = reject_check(&rd, &ra, c[i].sender, &key);
		if (c[i].key)
			ok(r == 1 && key && strcmp(key, c[i].key) == 0, "reject %d: <%s> by %s",
			    c[i].n, c[i].sender, c[i].key);
		else
			ok(r == 0, "reject %d: <%s> passes", c[i].n, c[i].sender);
	}
	for (i = 0; i < rd.n; i++)
		free(rd.v[i]);
	for (i = 0; i < ra.n; i++)
		free(ra.v[i]);
	free(rd.v);
	free(ra.v);
}

/* ---- 6. hooks ---------------------------------------------------------------- */

static void
test_hooks(void)
{
	struct yh_session s = { 0 };
	struct yh_pop p;
	const struct relay_conf *before;

	server_set("smtp.pop_before_smtp", "0");
	server_set("smtp.sender_trust", "1");
	ok(load("192.0.2.1 false\nx@ext.example\n192.0.2.2 false\n198.51.100.0/24 "
	    "norelay\n") == 0, "hooks: load");

	/* connect: an IP false rule before any sender rule refuses */
	session_init(&s, "192.0.2.1", NULL, NULL);
	is_int(relay_connect(&s), YH_DENY, "hook 1: connect refused");
	ok(s.code == 554 && strcmp(s.enh, "5.7.1") == 0, "hook 1: 554 5.7.1");
	is_str(lastlog, "relay refused connect rule=effect.dat:1 client=192.0.2.1",
	    "hook 1: logged");
	/* behind a sender rule: decided at MAIL */
	session_init(&s, "192.0.2.2", NULL, NULL);
	is_int(relay_connect(&s), YH_DECLINED, "hook 2: connect taken");
	s.sender = "alice@local.test";
	is_int(relay_mail(&s), YH_DENY, "hook 2: MAIL refused");
	ok(s.code == 550 && strcmp(s.enh, "5.7.1") == 0, "hook 2: 550 5.7.1");
	session_init(&s, "192.0.2.2", NULL, "x@ext.example");
	is_int(relay_mail(&s), YH_DECLINED, "hook 3: the sender rule first");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 3: relay");
	is_int(rcpt(&s, "bob@local.test"), YH_DECLINED, "hook 3: local passed on");
	is_int(rcpt(&s, "ghost@local.test"), YH_DENY, "hook 3: no such user");
	ok(s.code == 550 && strcmp(s.enh, "5.1.1") == 0, "hook 3: 550 5.1.1");

	/* the mail hook skipped (another plugin took MAIL): RCPT decides */
	session_init(&s, "192.0.2.2", NULL, "alice@local.test");
	is_int(rcpt(&s, "bob@local.test"), YH_DENY, "hook 4: false rule at RCPT");
	/* a stale slot for another sender is not trusted */
	session_init(&s, "192.0.2.3", NULL, "x@ext.example");
	slot_fill(&s, -1, 0, "alice@local.test");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 5: stale slot ignored");
	session_init(&s, "192.0.2.3", NULL, "alice@local.test");
	slot_fill(&s, 1, 2, "alice@local.test");
	is_int(rcpt(&s, "bob@local.test"), YH_DECLINED, "hook 6: the slot is used");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 6: rule 1 (true) from the slot");

	/* store errors */
	session_init(&s, "192.0.2.3", NULL, "storeerror@local.test");
	is_int(relay_mail(&s), YH_DENYSOFT, "hook 7: store error at MAIL");
	ok(s.code == 451 && strcmp(s.enh, "4.3.0") == 0, "hook 7: 451 4.3.0");

	/* norelay and the ※1 cell */
	session_init(&s, "198.51.100.7", NULL, "alice@local.test");
	is_int(rcpt(&s, "y@remote.example"), YH_DENY, "hook 8: norelay");
	ok(s.code == 554 && strcmp(s.enh, "5.7.1") == 0 &&
	    strcmp(s.text, "<y@remote.example>: relay access denied") == 0,
	    "hook 8: 554 5.7.1 relay access denied");
	is_str(lastlog, "relay denied rule=effect.dat:4 client=198.51.100.7 "
	    "from=<alice@local.test> to=<y@remote.example> reason=not authenticated",
	    "hook 8: logged with the rule");
	s.auth = "alice";
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 9: authenticated");

	/* sender_trust 2 and 3 */
	server_set("smtp.sender_trust", "3");
	ok(load("") == 0, "hooks: trust 3");
	session_init(&s, "203.0.113.1", "alice", "x@ext.example");
	is_int(rcpt(&s, "y@remote.example"), YH_DENY, "hook 10: trust 3, foreign sender");
	is_str(lastlog, "relay denied rule=default client=203.0.113.1 from=<x@ext.example> "
	    "to=<y@remote.example> reason=sender does not match the authenticated user",
	    "hook 10: logged");
	session_init(&s, "203.0.113.1", "alice", "alice@local.test");
	/* acct->ext is "auth" now (issue 12 item 2): the From: check rides on
	 * the grant; with trust_local_sender it is the seed's "yes" again */
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 11: acct->ext by AUTH");
	ok(yh_note_get(&s, NOTE_FROM) != NULL, "hook 11: From: to check");
	is_int(relay_data(&s), YH_DENY, "hook 11: no From: refused");
	ok(load_tls("", "1") == 0, "hooks: trust 3, trust_local_sender");
	session_init(&s, "203.0.113.1", "alice", "alice@local.test");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 11a: acct->ext is yes");
	ok(yh_note_get(&s, NOTE_FROM) == NULL, "hook 11a: nothing rode on AUTH");
	is_int(relay_data(&s), YH_DECLINED, "hook 11a: no From: check");
	ok(load("") == 0, "hooks: trust 3 again");
	session_init(&s, "203.0.113.1", "alice", "");
	is_int(rcpt(&s, "y@remote.example"), YH_DENY, "hook 12: <> does not match");
	session_init(&s, "203.0.113.1", "alice", "alice@alias.test");
	server_set("smtp.send_permits_only_smtp_auth", "1");
	ok(load("") == 0, "hooks: spoa");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 13: spoa, trusted");
	ok(yh_note_get(&s, NOTE_FROM) != NULL, "hook 13: From: to check");
	s.from[0] = "Alice <alice@local.test>";
	is_int(relay_data(&s), YH_DECLINED, "hook 13: From: matches");
	s.from[0] = "bob@local.test";
	is_int(relay_data(&s), YH_DENY, "hook 14: From: does not match");
	ok(s.code == 550 && strcmp(s.enh, "5.7.1") == 0, "hook 14: 550 5.7.1");
	s.from[0] = "alice@local.test";
	s.from[1] = "alice@local.test";
	is_int(relay_data(&s), YH_DENY, "hook 15: two From: fields");
	s.from[0] = s.from[1] = NULL;
	is_int(relay_data(&s), YH_DENY, "hook 16: no From:");
	s.from[0] = "alice@local.test\r\nX: y";
	is_int(relay_data(&s), YH_DENY, "hook 17: CR LF in From:");
	ok(strchr(lastlog, '\r') == NULL && strchr(lastlog, '\n') == NULL,
	    "hook 17: no CR LF in the log");

	/* no room for the note that carries the From: check: fail closed */
	session_init(&s, "203.0.113.1", "alice", "alice@local.test");
	for (int i = 0; i < STUB_NOTES; i++) {
		char k[32];

		snprintf(k, sizeof(k), "other.%d", i);
		yh_note_set(&s, k, "x");
	}
	is_int(rcpt(&s, "y@remote.example"), YH_DENYSOFT, "hook 17a: notes full");
	ok(s.code == 451 && strcmp(s.enh, "4.3.0") == 0, "hook 17a: 451 4.3.0");

	/* POP before SMTP */
	server_set("smtp.sender_trust", "1");
	server_set("smtp.send_permits_only_smtp_auth", "0");
	server_set("smtp.pop_before_smtp", "1");
	server_set("smtp.pop_befor_smtp_time_to_live", "60");
	ok(load("") == 0, "hooks: pop before smtp");
	session_init(&s, "::ffff:203.0.113.5", NULL, "alice@local.test");
	is_int(rcpt(&s, "y@remote.example"), YH_DENY, "hook 18: gated, no POP login");
	p.user = "alice";
	p.ip = "203.0.113.5";
	relay_pop_auth(&p);
	session_init(&s, "::ffff:203.0.113.5", NULL, "alice@local.test");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 19: POP login (mapped address)");
	stub_now += 61;
	session_init(&s, "203.0.113.5", NULL, "alice@local.test");
	is_int(rcpt(&s, "y@remote.example"), YH_DENY, "hook 20: after the TTL");
	server_set("smtp.pop_befor_smtp_time_to_live", "0");
	ok(load("") == 0, "hooks: ttl 0");
	relay_pop_auth(&p);
	is_int(rcpt(&s, "y@remote.example"), YH_DENY, "hook 21: ttl 0 records nothing");
	server_set("smtp.pop_before_smtp", "0");

	/* open relay, permits, per-account lists */
	server_set("smtp.relay", "1");
	ok(load("x@ext.example false\n") == 0, "hooks: open relay");
	session_init(&s, "203.0.113.1", NULL, "nobody@local.test");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 22: open relay");
	session_init(&s, "203.0.113.1", NULL, "x@ext.example");
	is_int(relay_mail(&s), YH_DENY, "hook 23: open relay, false sender");
	server_set("smtp.relay", "0");
	server_set("smtp.address_permits_relay", "203.0.113.0/24");
	ok(load("*.*.*.* false\n") == 0, "hooks: permits");
	session_init(&s, "203.0.113.1", NULL, "nobody@local.test");
	is_int(relay_connect(&s), YH_DECLINED, "hook 24: permitted past false");
	is_int(relay_mail(&s), YH_DECLINED, "hook 24: MAIL");
	is_int(rcpt(&s, "y@remote.example"), YH_OK, "hook 24: relay");
	account_keys[0][0] = "bob";
	account_keys[0][1] = "reject_mailaddress";
	account_keys[0][2] = "nobody@local.test";
	is_int(rcpt(&s, "bob@local.test"), YH_DENY, "hook 25: bob's list");
	ok(s.code == 550 && strcmp(s.enh, "5.7.1") == 0, "hook 25: 550 5.7.1");
	is_str(lastlog, "relay refused rcpt rule=bob/config.def:reject_mailaddress "
	    "client=203.0.113.1 from=<nobody@local.test> to=<bob@local.test>",
	    "hook 25: logged");
	is_int(rcpt(&s, "alice@local.test"), YH_DECLINED, "hook 26: alice has no list");
	server_set("smtp.address_permits_relay", "");

	/* a failing init keeps the running generation */
	before = relay;
	ok(load("127.0.0.1 nope\n") == -1 && relay == before, "hook 27: failed init "
	    "keeps the rules");
	session_init(&s, "192.0.2.9", NULL, "x@ext.example");
	is_int(relay_connect(&s), YH_DENY, "hook 27: old rules in force");
	relay_fini();
	ok(relay == NULL, "hook 28: fini");
	is_int(relay_connect(&s), YH_DECLINED, "hook 28: no rules, no opinion");
}

/* ---- 7. local senders (issue 12 item 2) ------------------------------------- */

static void
test_local_sender(void)
{
	static const struct {
		int		 n;
		const char	*tls;		/* trust_local_sender */
		const char	*rules;		/* effect.dat */
		const char	*ip;
		const char	*auth;
		const char	*sender;
		int		 want;		/* to y@remote.example */
		const char	*reason;	/* in the log when denied */
	} c[] = {
		/* the default: a sender address alone never relays */
		{ 1, NULL, "", "203.0.113.1", NULL, "alice@local.test", YH_DENY,
		    "a local sender alone does not unlock relay" },
		{ 2, NULL, "", "203.0.113.1", NULL, "ALICE@alias.test", YH_DENY,
		    "a local sender alone does not unlock relay" },
		{ 3, NULL, "", "203.0.113.1", NULL, "postmaster@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 4, NULL, "", "203.0.113.1", NULL, "abuse@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 5, NULL, "", "203.0.113.1", "alice", "alice@local.test", YH_OK, NULL },
		{ 6, NULL, "", "203.0.113.1", "alice", "postmaster@local.test", YH_OK,
		    NULL },
		{ 7, "0", "", "203.0.113.1", NULL, "alice@local.test", YH_DENY,
		    "a local sender alone does not unlock relay" },
		/* the seed's Table I, opted into */
		{ 8, "1", "", "203.0.113.1", NULL, "alice@local.test", YH_OK, NULL },
		{ 9, "yes", "", "203.0.113.1", NULL, "bob@local.test", YH_OK, NULL },
		{ 10, "1", "", "203.0.113.1", NULL, "postmaster@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 11, "1", "", "203.0.113.1", NULL, "PostMaster@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 12, "1", "local.test\n", "203.0.113.1", NULL,
		    "\"abuse\"@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 13, "1", "local.test\n", "203.0.113.1", NULL,
		    "\"post\\master\"@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 14, "1", "", "203.0.113.1", NULL, "root@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 15, "1", "", "203.0.113.1", NULL, "nobody@local.test", YH_DENY,
		    "not authenticated" },
		{ 16, "1", "", "203.0.113.1", NULL, "x@ext.example", YH_DENY,
		    "not authenticated" },
		{ 17, "1", "", "203.0.113.1", "alice", "postmaster@local.test", YH_OK,
		    NULL },
		/* an "only" client gets Table I: the same */
		{ 18, NULL, "203.0.113.0/24 only\n", "203.0.113.1", NULL,
		    "alice@local.test", YH_DENY,
		    "a local sender alone does not unlock relay" },
		{ 19, "1", "203.0.113.0/24 only\n", "203.0.113.1", NULL,
		    "alice@local.test", YH_OK, NULL },
		{ 20, NULL, "203.0.113.0/24 default\n", "203.0.113.1", NULL,
		    "alice@local.test", YH_DENY,
		    "a local sender alone does not unlock relay" },
		/* Table II by sender rule: the rule's grant, except for roles */
		{ 21, NULL, "local.test\n", "203.0.113.1", NULL, "alice@local.test",
		    YH_OK, NULL },
		{ 22, NULL, "local.test\n", "203.0.113.1", NULL,
		    "postmaster@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 23, NULL, "postmaster@local.test true\n", "203.0.113.1", NULL,
		    "postmaster@local.test", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		{ 24, NULL, "ext.example\n", "203.0.113.1", NULL,
		    "abuse@ext.example", YH_DENY,
		    "postmaster and abuse never unlock relay" },
		/* Table II by client IP: the client's grant */
		{ 25, NULL, "203.0.113.0/24\n", "203.0.113.1", NULL,
		    "postmaster@local.test", YH_OK, NULL },
		{ 26, NULL, "203.0.113.0/24\n", "203.0.113.1", NULL,
		    "alice@local.test", YH_OK, NULL },
	};
	struct yh_session s = { 0 };
	char want[512];
	size_t i;

	server_set("smtp.sender_trust", "1");
	server_set("smtp.send_permits_only_smtp_auth", "0");
	server_set("smtp.pop_before_smtp", "0");
	server_set("smtp.relay", "0");
	for (i = 0; i < NELEM(c); i++) {
		if (load_tls(c[i].rules, c[i].tls) != 0) {
			ok(0, "local %d: load", c[i].n);
			continue;
		}
		session_init(&s, c[i].ip, c[i].auth, c[i].sender);
		is_int(rcpt(&s, "y@remote.example"), c[i].want, "local %d: %s%s <%s> "
		    "trust_local_sender=%s", c[i].n, c[i].auth ? "auth " : "",
		    c[i].ip, c[i].sender, c[i].tls ? c[i].tls : "-");
		if (c[i].want == YH_DENY) {
			ok(s.code == 554 && strcmp(s.enh, "5.7.1") == 0,
			    "local %d: 554 5.7.1", c[i].n);
			snprintf(want, sizeof(want), " reason=%s", c[i].reason);
			ok(strstr(lastlog, want) != NULL, "local %d: logged%s",
			    c[i].n, want);
		}
		/* a local recipient is never locked (noacct -> acct is "no"
		 * in Table I whatever the sender) */
		if (strncmp(c[i].sender, "nobody@", 7) != 0)
			is_int(rcpt(&s, "bob@local.test"), YH_DECLINED,
			    "local %d: to bob", c[i].n);
	}

	/* the opt-in warns at every init; a bad value is an error */
	ok(load_tls("", "1") == 0 && strstr(lastlog, "trust_local_sender = 1") != NULL,
	    "local 27: warning at init");
	ok(load_tls("", "1") == 0 && strstr(lastlog, "trust_local_sender = 1") != NULL,
	    "local 28: and at the next (reload)");
	ok(load_tls("", "0") == 0 && lastlog[0] == '\0', "local 29: no warning when 0");
	/* a generation that fails (here: effect.dat) never becomes the
	 * running one, and its warning is never given */
	ok(load_tls("#comment\n", "1") == -1 && nerrs == 1, "local 30: bad file refused");
	ok(relay->trust_local == 0, "local 30: the running generation kept");
	ok(lastlog[0] == '\0', "local 30: no warning from the failed generation");
	{
		/* a good generation that another plugin's failure discards */
		struct yh_config cfg = { NULL, "1" };
		void *gen = NULL;

		lastlog[0] = '\0';
		write_file("effect.dat", "", 0);
		ok(relay_init(&cfg, &gen) == 0 && gen != NULL, "local 31: built");
		relay_discard(gen);
		ok(relay->trust_local == 0 && lastlog[0] == '\0',
		    "local 31: discarded, the running generation untouched");
	}
	ok(load("") == 0, "local: default again");
}

int
main(void)
{
	char tmpl[] = "/tmp/yubin-effect-XXXXXX";

	plan_no_plan();
	if (mkdtemp(tmpl) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(stub_dir, sizeof(stub_dir), "%s", tmpl);
	test_rule_parse();
	test_match();
	test_load();
	test_cells();
	test_from();
	test_trust();
	test_reject();
	test_hooks();
	test_local_sender();
	nftw(stub_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
