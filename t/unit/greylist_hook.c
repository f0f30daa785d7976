/*
 * t/unit/greylist_hook.c - the greylist plugin's init and rcpt hook
 * (plugins/greylist/greylist.c) against stubbed yh_* calls: an in-memory
 * store that can be made to fail on reads or on writes (a full or broken
 * LMDB), a settable clock, session and configuration.  What only a
 * failing store shows: a store error never refuses mail (the recipient
 * passes, one warning names it), at first sight, at a pass and at the
 * network count.  Also the keys the hook hands the store (bounded, long
 * triplets hashed), the reply text, and init's own errors (delay not
 * shorter than retry_window, bad exempt and address_permits_relay
 * entries, escaped in the message).  Numbered cases.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yubin/hook.h>

#include "../lib/tap.h"

extern const struct yh_plugin yubin_plugin;

/* ---- stubs ------------------------------------------------------------- */

struct yh_session {
	const char	*ip;
	const char	*sender;
	const char	*auth;
	int		 local;
	int		 rcpt_local;
	int		 code;
	char		 enh[16];
	char		 text[512];
};

static long long now_v = 1700000000;
static char lastlog[4096], lasterr[4096];
static int lastlvl = -1, nerr;
static const char *permits;
static long long cfg_delay = 300000, cfg_window = 2 * 86400000LL,
    cfg_max_age = 35 * 86400000LL, cfg_awl = 5;
static const char *cfg_exempt[8];
static size_t cfg_nexempt;

enum { FAIL_NONE, FAIL_GET, FAIL_PUT, FAIL_PUT_NET };
static int fail;
static size_t longest_key;

#define SLOTS	64
static struct {
	char		 key[600];
	char		 val[64];
	size_t		 len;
	long long	 expires;
} store[SLOTS];

int
yh_store_get(const char *key, void *val, size_t *len)
{
	size_t i, n;

	if (strlen(key) > longest_key)
		longest_key = strlen(key);
	if (fail == FAIL_GET)
		return -1;
	for (i = 0; i < SLOTS; i++) {
		if (strcmp(store[i].key, key) != 0)
			continue;
		if (store[i].expires && store[i].expires <= now_v)
			return 0;
		n = store[i].len < *len ? store[i].len : *len;
		memcpy(val, store[i].val, n);
		*len = store[i].len;
		return 1;
	}
	return 0;
}

int
yh_store_put(const char *key, const void *val, size_t len, long long ttl)
{
	size_t i, free_slot = SLOTS;

	if (strlen(key) > longest_key)
		longest_key = strlen(key);
	if (fail == FAIL_PUT || (fail == FAIL_PUT_NET && key[0] == 'n'))
		return -1;
	if (len > sizeof(store[0].val) || strlen(key) >= sizeof(store[0].key))
		return -1;
	for (i = 0; i < SLOTS; i++) {
		if (strcmp(store[i].key, key) == 0)
			break;
		if (store[i].key[0] == '\0' && free_slot == SLOTS)
			free_slot = i;
	}
	if (i == SLOTS)
		i = free_slot;
	if (i == SLOTS)
		return -1;
	snprintf(store[i].key, sizeof(store[i].key), "%s", key);
	memcpy(store[i].val, val, len);
	store[i].len = len;
	store[i].expires = ttl ? now_v + ttl : 0;
	return 0;
}

long long yh_now(void) { return now_v; }
const char *yh_peer_ip(const struct yh_session *s) { return s->ip; }
const char *yh_sender(const struct yh_session *s) { return s->sender; }
const char *yh_auth_user(const struct yh_session *s) { return s->auth; }
int yh_local_submission(const struct yh_session *s) { return s->local; }
int yh_rcpt_local(const struct yh_session *s) { return s->rcpt_local; }
const char *yh_server_get(const char *key)
{
	return strcmp(key, "smtp.address_permits_relay") == 0 ? permits : NULL;
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

void
yh_log(enum yh_level lvl, const char *fmt, ...)
{
	va_list ap;

	lastlvl = (int)lvl;
	va_start(ap, fmt);
	vsnprintf(lastlog, sizeof(lastlog), fmt, ap);
	va_end(ap);
}

void
yh_error(const char *fmt, ...)
{
	va_list ap;

	nerr++;
	va_start(ap, fmt);
	vsnprintf(lasterr, sizeof(lasterr), fmt, ap);
	va_end(ap);
}

char *
yh_escape(char *dst, size_t size, const void *src, size_t len)
{
	const unsigned char *p = src;
	size_t n = 0, i;

	for (i = 0; i < len && n + 5 < size; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			dst[n++] = (char)p[i];
		else
			n += (size_t)snprintf(dst + n, size - n, "\\x%02x", p[i]);
	}
	dst[n] = '\0';
	return dst;
}

int
yh_addr_valid(const char *addr)
{
	const char *at = strrchr(addr, '@'), *p;

	for (p = addr; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;	/* as the core: no blank, no control byte */
	return at != NULL && at != addr && at[1] != '\0';
}

long long
yh_config_duration(const struct yh_config *cfg, const char *key)
{
	(void)cfg;
	if (strcmp(key, "delay") == 0)
		return cfg_delay;
	if (strcmp(key, "retry_window") == 0)
		return cfg_window;
	return cfg_max_age;
}

long long
yh_config_int(const struct yh_config *cfg, const char *key)
{
	(void)cfg;
	(void)key;
	return cfg_awl;
}

size_t
yh_config_list(const struct yh_config *cfg, const char *key,
    const char *const **items)
{
	(void)cfg;
	(void)key;
	*items = cfg_exempt;
	return cfg_nexempt;
}

const char *
yh_config_get(const struct yh_config *cfg, const char *key)
{
	(void)cfg;
	return strcmp(key, "delay") == 0 ? "set" : NULL;
}

int
yh_config_each(const struct yh_config *cfg, int (*fn)(void *, const char *,
    const char *, const char *), void *ctx)
{
	(void)cfg;
	fn(ctx, "delay", "x", "yubin.conf:7");
	fn(ctx, "exempt", "x", "yubin.conf:9");
	return 0;
}

/* ---- helpers ----------------------------------------------------------- */

static void *gen;

static int
load(void)
{
	nerr = 0;
	lasterr[0] = '\0';
	gen = NULL;
	if (yubin_plugin.init(NULL, &gen) != 0)
		return -1;
	yubin_plugin.commit(gen);
	return 0;
}

static int
rcpt(struct yh_session *s, const char *ip, const char *from, const char *to)
{
	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->sender = from;
	s->auth = "";
	s->rcpt_local = 1;
	lastlog[0] = '\0';
	lastlvl = -1;
	return yubin_plugin.hooks->rcpt(s, to);
}

static void
store_clear(void)
{
	memset(store, 0, sizeof(store));
}

/* ---- cases --------------------------------------------------------------- */

static void
test_flow(void)
{
	struct yh_session s;
	int r;

	ok(load() == 0, "flow 1: defaults load");
	r = rcpt(&s, "192.0.2.1", "a@x.org", "alice@localhost");
	ok(r == YH_DENYSOFT && s.code == 451 && strcmp(s.enh, "4.7.1") == 0,
	    "flow 2: first sight 451 4.7.1");
	is_str(s.text, "Greylisted: please try again in 300 seconds",
	    "flow 2: reply text");
	ok(lastlvl == YH_LOG_INFO && strstr(lastlog, "action=greylist "
	    "reason=new client=192.0.2.1 net=192.0.2.0/24 from=<a@x.org> "
	    "to=<alice@localhost>") != NULL, "flow 2: logged (%s)", lastlog);
	now_v += 100;
	r = rcpt(&s, "192.0.2.99", "A@X.org", "alice@localhost");
	ok(r == YH_DENYSOFT, "flow 3: early retry from the same /24");
	is_str(s.text, "Greylisted: please try again in 200 seconds",
	    "flow 3: the wait left");
	now_v += 200;
	r = rcpt(&s, "192.0.2.1", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && s.code == 0, "flow 4: passes after the delay");
	ok(strstr(lastlog, "reason=passed") && strstr(lastlog, "age=300s "
	    "net_passed=1"), "flow 4: logged (%s)", lastlog);
	r = rcpt(&s, "::ffff:192.0.2.3", "", "alice@localhost");
	ok(r == YH_DENYSOFT && strstr(lastlog, "from=<> ") != NULL,
	    "flow 5: <> from a mapped address of the /24: its own triplet");
	r = rcpt(&s, "2001:db8:1:2::5", "a@x.org", "alice@localhost");
	ok(r == YH_DENYSOFT && strstr(lastlog, "net=2001:db8:1:2::/64"),
	    "flow 6: IPv6 /64 (%s)", lastlog);
}

static void
test_skips(void)
{
	struct yh_session s;
	static const char *ex[] = { "198.51.100.0/24", "Bob@LocalHost",
	    "@Other.Example" };
	int r;

	store_clear();
	permits = "203.0.113.5 , 2001:db8:9::/48";
	memcpy(cfg_exempt, ex, sizeof(ex));
	cfg_nexempt = 3;
	ok(load() == 0, "skip 1: exempt and permits load");
	r = rcpt(&s, "203.0.113.5", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && strstr(lastlog, "reason=address_permits_relay"),
	    "skip 2: address_permits_relay");
	r = rcpt(&s, "2001:db8:9:1::1", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && strstr(lastlog, "reason=address_permits_relay"),
	    "skip 3: address_permits_relay, IPv6 block");
	r = rcpt(&s, "198.51.100.200", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && strstr(lastlog, "reason=exempt_client"),
	    "skip 4: exempt client");
	r = rcpt(&s, "192.0.2.1", "a@x.org", "BOB@localhost");
	ok(r == YH_DECLINED && strstr(lastlog, "reason=exempt_recipient"),
	    "skip 5: exempt recipient, any case");
	r = rcpt(&s, "192.0.2.1", "a@x.org", "x@other.example");
	ok(r == YH_DECLINED && strstr(lastlog, "reason=exempt_recipient"),
	    "skip 6: exempt domain");
	r = rcpt(&s, "192.0.2.1", "a@x.org", "Postmaster@localhost");
	ok(r == YH_DECLINED && strstr(lastlog, "reason=role_recipient"),
	    "skip 7: postmaster@");
	memset(&s, 0, sizeof(s));
	s.ip = "192.0.2.1";
	s.sender = "a@x.org";
	s.auth = "alice";
	s.rcpt_local = 1;
	ok(yubin_plugin.hooks->rcpt(&s, "carol@localhost") == YH_DECLINED &&
	    strstr(lastlog, "reason=authenticated"), "skip 8: authenticated");
	s.auth = "";
	s.local = 1;
	ok(yubin_plugin.hooks->rcpt(&s, "carol@localhost") == YH_DECLINED &&
	    strstr(lastlog, "reason=local_submission"), "skip 9: local submission");
	s.local = 0;
	s.rcpt_local = -1;
	ok(yubin_plugin.hooks->rcpt(&s, "x@remote.example") == YH_DECLINED &&
	    strstr(lastlog, "reason=not_local_account"), "skip 10: remote rcpt");
	s.rcpt_local = 0;
	ok(yubin_plugin.hooks->rcpt(&s, "nobody@localhost") == YH_DECLINED,
	    "skip 11: unknown local user left to the core");
	s.rcpt_local = 1;
	s.ip = "";
	ok(yubin_plugin.hooks->rcpt(&s, "carol@localhost") == YH_DECLINED &&
	    strstr(lastlog, "reason=no_client_address"), "skip 12: no address");
	permits = NULL;
	cfg_nexempt = 0;
}

static void
test_store_errors(void)
{
	struct yh_session s;
	int r;

	store_clear();
	ok(load() == 0, "store 1: load");
	fail = FAIL_GET;
	r = rcpt(&s, "192.0.2.1", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && s.code == 0, "store 2: a read error passes");
	ok(lastlvl == YH_LOG_WARN && strstr(lastlog, "reason=store_error") &&
	    strstr(lastlog, "read failed"), "store 2: warned (%s)", lastlog);
	fail = FAIL_PUT;
	r = rcpt(&s, "192.0.2.1", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && s.code == 0, "store 3: a full store passes");
	ok(lastlvl == YH_LOG_WARN && strstr(lastlog, "write failed"),
	    "store 3: warned (%s)", lastlog);
	fail = FAIL_NONE;
	r = rcpt(&s, "192.0.2.1", "a@x.org", "alice@localhost");
	ok(r == YH_DENYSOFT, "store 4: nothing was recorded: first sight now");
	now_v += 400;
	fail = FAIL_PUT;
	r = rcpt(&s, "192.0.2.1", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && strstr(lastlog, "write failed"),
	    "store 5: a write error at the pass passes");
	fail = FAIL_PUT_NET;
	r = rcpt(&s, "192.0.2.1", "a@x.org", "alice@localhost");
	ok(r == YH_DECLINED && strstr(lastlog, "reason=passed"),
	    "store 6: the pass is recorded without the network count (%s)",
	    lastlog);
	fail = FAIL_NONE;
}

static void
test_long_keys(void)
{
	struct yh_session s;
	char from[300], to[300];
	int r;

	store_clear();
	ok(load() == 0, "long 1: load");
	memset(from, 'F', 250);
	strcpy(from + 250, "@x.org");
	memset(to, 't', 240);
	strcpy(to + 240, "@localhost");
	longest_key = 0;
	r = rcpt(&s, "2001:db8:ffff:ffff:1:2:3:4", from, to);
	ok(r == YH_DENYSOFT, "long 2: a long triplet is greylisted");
	ok(longest_key > 0 && longest_key <= 400, "long 3: its key is bounded "
	    "(%zu)", longest_key);
	now_v += 301;
	from[0] = 'f';
	r = rcpt(&s, "2001:db8:ffff:ffff::9", from, to);
	ok(r == YH_DECLINED, "long 4: and its retry (other case) passes");
}

static void
test_init_errors(void)
{
	static const char *bad[] = { "10.0.0.0/33", "a\x01@b", "@bad..dom" };
	int r;

	cfg_delay = 3600000;
	cfg_window = 1800000;
	ok(load() == -1 && nerr == 1, "init 1: delay >= retry_window refused");
	is_str(lasterr, "yubin.conf:7: [plugin greylist] delay (3600s) must be "
	    "shorter than retry_window (1800s): no retry could pass",
	    "init 1: message");
	cfg_window = 3600000;
	ok(load() == -1, "init 2: delay == retry_window refused");
	cfg_delay = 1500;	/* ms: rounded up to 2 s */
	ok(load() == 0, "init 3: a short delay loads");
	memcpy(cfg_exempt, bad, sizeof(bad));
	cfg_nexempt = 3;
	r = load();
	ok(r == -1 && nerr == 3, "init 4: three bad exempt entries, three "
	    "errors (%d)", nerr);
	is_str(lasterr, "yubin.conf:9: [plugin greylist] exempt: '@bad..dom': "
	    "not an IP, IP/N, local@domain or @domain", "init 4: last message");
	cfg_exempt[0] = "a\x01@b";
	cfg_nexempt = 1;
	load();
	ok(strstr(lasterr, "'a\\x01@b'") != NULL, "init 5: escaped (%s)", lasterr);
	cfg_nexempt = 0;
	permits = "127.0.0.1, 10.0.0.0/40";
	ok(load() == -1 && nerr == 1, "init 6: a bad address_permits_relay");
	is_str(lasterr, "smtp.address_permits_relay: bad address '10.0.0.0/40'",
	    "init 6: message");
	permits = NULL;
	cfg_delay = 300000;
	cfg_window = 2 * 86400000LL;
	ok(load() == 0, "init 7: good again");
	yubin_plugin.fini();
}

int
main(void)
{
	plan_no_plan();
	test_flow();
	test_skips();
	test_store_errors();
	test_long_keys();
	test_init_errors();
	return done_testing();
}
