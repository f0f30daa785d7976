/*
 * dnsbl - refuse clients listed in DNS blocklists (RFC 5782), after
 * Postfix postscreen's model (DESIGN §13).
 *
 * Each zone of `zones` is asked for the client's address: IPv4 octets
 * reversed ("2.0.0.127.ZONE"), IPv6 nibbles reversed (32 labels), an A
 * question.  An answer in 127.0.0.0/8 lists the client in that zone,
 * except 127.0.0.1 (RFC 5782 §5: never a listing; a zone answering it is
 * broken) and 127.255.255.0/24 (the codes zones such as Spamhaus give for
 * "your query was refused"): those, and any address outside 127.0.0.0/8
 * (a resolver that answers every name), are a failed lookup, not a
 * listing.  A zone written ZONE=127.0.0.N lists only with that answer.
 * The weights of the zones that list the client are summed (a zone
 * without one weighs 1; a negative weight makes an allow-list zone); a
 * score at or above `threshold` refuses the client.  For each listed zone
 * the TXT record of the same name is the reason quoted in the reply.
 *
 * Every zone's question goes out at once and all are awaited with one
 * deadline (`timeout`), then the TXT questions of the listed zones within
 * what is left of it: a dead DNS server costs one timeout per session,
 * not one per zone.  Results are cached per zone and client address in
 * the plugin's LMDB space ("z/ZONE/IP": "c", or "l ADDR REASON") for the
 * record's TTL (a clean answer: its SOA's negative-caching time, RFC
 * 2308), bounded to 60 s .. 1 h, so repeated connections ask nothing.
 *
 * The check runs at RCPT, not at connect, since SMTP AUTH comes after
 * connect and authenticated clients are never checked; it runs once per
 * session (the verdict kept in the session note "dnsbl").  Never checked:
 * authenticated sessions, the local submission socket, clients in
 * smtp.address_permits_relay or `never_query`.  A listed client gets
 * 554 5.7.1 at every RCPT except to postmaster@ or abuse@ of a local
 * domain (RFC 2142: someone refused must be able to reach them), which
 * the plugin lets through (YH_DECLINED; the core still decides).
 * A DNS failure, a timeout or an answer that is no listing never refuses
 * mail: the zone counts as not listed, and if it was an allow-list zone
 * that might have lowered a score at the threshold, the client passes.
 * One log line per verdict (client, score, threshold, each zone's state).
 *
 * [plugin dnsbl]
 *   zones = LIST         ZONE, ZONE=WEIGHT (-1000..1000, not 0) or
 *                        ZONE=127.0.0.N[*WEIGHT]; at most 32 zones
 *   threshold = 1        score that refuses (1..32000)
 *   never_query = LIST   IP, IP/N: clients never looked up
 *   timeout = 10s        the one deadline of a session's questions
 *                        (100ms..60s; at most 2/3 of server.hook_timeout
 *                        is used)
 *
 * init() runs as root in the master and only reads its keys and the
 * server's address_permits_relay; hooks run in SMTP workers as the server
 * user.  This plugin must never refuse mail because of a DNS failure, log
 * or quote a byte of a DNS answer that is not printable ASCII, ask a zone
 * twice in a session, or wait past its deadline.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yubin/hook.h>

#include "dnsbl.h"

#define DB_WHERE_MAX	1024		/* "FILE:LINE" */
#define DB_WORD_MAX	512		/* one word of a list */
#define DB_ESC_MAX	(4 * DB_WORD_MAX + 4)
#define DB_KEY_MAX	(DB_ZONE_MAX + INET6_ADDRSTRLEN + 8)
#define DB_LOG_MAX	2048		/* the zones of a verdict's log line */
#define DB_NOTE		"dnsbl"		/* the session's verdict */
/* the verdict's note: "reject " and the reply text (address, zone, reason) */
#define DB_NOTE_MAX	(DB_REASON_MAX + 4 + DB_ZONE_MAX + INET6_ADDRSTRLEN + 80)

struct db_conf {
	struct db_zone	*zones;
	size_t		 nzones;
	long		 threshold;
	int		 timeout_ms;
	struct pu_net	*never;		/* never_query */
	size_t		 nnever;
	struct pu_net	*permits;	/* smtp.address_permits_relay */
	size_t		 npermits;
};

static struct db_conf *db;	/* the generation in use */

/* ---- configuration -------------------------------------------------------- */

static void
conf_free(struct db_conf **cp)
{
	struct db_conf *c = *cp;

	if (c == NULL)
		return;
	free(c->zones);
	free(c->never);
	free(c->permits);
	free(c);
	*cp = NULL;
}

/* key_where - "FILE:LINE" (or "-D") where KEY is set, into OUT. */
static const char *
key_where(const struct yh_config *cfg, const char *key, char *out,
    size_t size)
{
	const char *file = yh_config_file();

	return pu_key_where(cfg, key, file ? file : "[plugin dnsbl]", out,
	    size);
}

/* net_add - network WORD appended to *NETS (*N of them).  0, or -1 (not
 * an IP or IP/N: *WHY; out of memory). */
static int
net_add(struct pu_net **nets, size_t *n, const char *word, const char **why)
{
	struct pu_net *nv;

	if ((nv = realloc(*nets, (*n + 1) * sizeof(*nv))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	*nets = nv;
	if (pu_net_parse(word, &nv[*n]) == -1) {
		*why = "not an IP or IP/N";
		return -1;
	}
	(*n)++;
	return 0;
}

/* zones_load - `zones` into C.  The number of errors. */
static unsigned
zones_load(const struct yh_config *cfg, struct db_conf *c)
{
	const char *const *words, *why;
	char where[DB_WHERE_MAX], esc[DB_ESC_MAX];
	size_t n, i, j;
	unsigned errors = 0;

	n = yh_config_list(cfg, "zones", &words);
	if (n == 0) {
		yh_error("%s: [plugin dnsbl] zones: no zone given: the plugin "
		    "would check nothing", key_where(cfg, "zones", where,
		    sizeof(where)));
		return 1;
	}
	if (n > DB_ZONES_MAX) {
		yh_error("%s: [plugin dnsbl] zones: %zu zones, at most %d",
		    key_where(cfg, "zones", where, sizeof(where)), n,
		    DB_ZONES_MAX);
		return 1;
	}
	if ((c->zones = calloc(n, sizeof(*c->zones))) == NULL) {
		yh_error("[plugin dnsbl] out of memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (db_zone_parse(words[i], &c->zones[c->nzones], &why) == -1) {
			yh_error("%s: [plugin dnsbl] zones: '%s': %s",
			    key_where(cfg, "zones", where, sizeof(where)),
			    yh_escape(esc, sizeof(esc), words[i],
			    strlen(words[i])), why);
			errors++;
			continue;
		}
		for (j = 0; j < c->nzones; j++)
			if (strcmp(c->zones[j].name,
			    c->zones[c->nzones].name) == 0)
				break;
		if (j < c->nzones) {
			yh_error("%s: [plugin dnsbl] zones: '%s' is given twice",
			    key_where(cfg, "zones", where, sizeof(where)),
			    c->zones[j].name);
			errors++;
			continue;
		}
		c->nzones++;
	}
	return errors;
}

/* never_load - `never_query` into C.  The number of errors. */
static unsigned
never_load(const struct yh_config *cfg, struct db_conf *c)
{
	const char *const *words, *why;
	char where[DB_WHERE_MAX], esc[DB_ESC_MAX];
	size_t n, i;
	unsigned errors = 0;

	n = yh_config_list(cfg, "never_query", &words);
	for (i = 0; i < n; i++) {
		if (net_add(&c->never, &c->nnever, words[i], &why) == 0)
			continue;
		yh_error("%s: [plugin dnsbl] never_query: '%s': %s",
		    key_where(cfg, "never_query", where, sizeof(where)),
		    yh_escape(esc, sizeof(esc), words[i], strlen(words[i])),
		    why);
		errors++;
	}
	return errors;
}

/* permits_load - smtp.address_permits_relay (words separated by commas or
 * blanks, as the relay plugin reads it) into C.  The number of errors. */
static unsigned
permits_load(struct db_conf *c)
{
	const char *v = yh_server_get("smtp.address_permits_relay"), *p, *why;
	char word[DB_WORD_MAX], esc[DB_ESC_MAX];
	size_t len;
	unsigned errors = 0;

	for (p = v; p != NULL && *p != '\0'; p += len) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		if (len >= sizeof(word)) {
			yh_error("smtp.address_permits_relay: bad address");
			errors++;
			continue;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		if (net_add(&c->permits, &c->npermits, word, &why) == -1) {
			yh_error("smtp.address_permits_relay: '%s': %s",
			    yh_escape(esc, sizeof(esc), word, len), why);
			errors++;
		}
	}
	return errors;
}

static const struct yh_key db_keys[] = {
	{ "zones",	 YH_KEY_LIST,	  NULL, 0, 0 },
	{ "threshold",	 YH_KEY_INT,	  "1", 1, DB_WEIGHT_MAX * DB_ZONES_MAX },
	{ "never_query", YH_KEY_LIST,	  NULL, 0, 0 },
	{ "timeout",	 YH_KEY_DURATION, "10s", 100LL, 60000LL },
	{ NULL, 0, NULL, 0, 0 }
};

/* positive - the sum of C's positive weights: the highest score. */
static long
positive(const struct db_conf *c)
{
	long sum = 0;
	size_t i;

	for (i = 0; i < c->nzones; i++)
		if (c->zones[i].weight > 0)
			sum += c->zones[i].weight;
	return sum;
}

/* threshold_error - a threshold no score can reach.  1 (one error). */
static unsigned
threshold_error(const struct yh_config *cfg, const struct db_conf *c)
{
	char where[DB_WHERE_MAX];

	yh_error("%s: [plugin dnsbl] threshold %ld is above the highest "
	    "score the zones can give (%ld): no client would ever be refused",
	    key_where(cfg, yh_config_get(cfg, "threshold") ? "threshold" :
	    "zones", where, sizeof(where)), c->threshold, positive(c));
	return 1;
}

/* db_init - the next generation, read aside; the running one untouched. */
static int
db_init(const struct yh_config *cfg, void **gen)
{
	struct db_conf *c;
	const char *v;
	long long tmo, budget;
	unsigned errors = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		yh_error("[plugin dnsbl] out of memory");
		return -1;
	}
	c->threshold = (long)yh_config_int(cfg, "threshold");
	c->timeout_ms = (int)yh_config_duration(cfg, "timeout");
	/* the hook must end before server.hook_timeout treats it as hung */
	v = yh_server_get("server.hook_timeout");
	tmo = v != NULL ? strtoll(v, NULL, 10) : 30;
	budget = (tmo > 0 ? tmo : 30) * 1000 * 2 / 3;
	if (c->timeout_ms > budget)
		c->timeout_ms = (int)budget;
	errors += zones_load(cfg, c);
	if (errors == 0 && c->threshold > positive(c))
		errors += threshold_error(cfg, c);
	errors += never_load(cfg, c);
	errors += permits_load(c);
	if (errors > 0) {
		conf_free(&c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
db_commit(void *gen)
{
	conf_free(&db);
	db = gen;
}

static void
db_discard(void *gen)
{
	struct db_conf *c = gen;

	conf_free(&c);
}

static void
db_fini(void)
{
	conf_free(&db);
}

/* ---- the lookup ----------------------------------------------------------- */

/* One zone's result for the client. */
struct db_res {
	enum db_state	 st;
	unsigned char	 addr[4];		/* DB_ST_LISTED */
	char		 reason[DB_REASON_MAX + 4];
	const char	*why;			/* DB_ST_FAILED */
	unsigned char	 bogus[4];		/* why == "bogus" */
	unsigned long	 ttl;			/* what the answer said */
	int		 cached;		/* from the store */
	int		 store;			/* to be stored */
};

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ttl_bound - TTL within DB_TTL_MIN..DB_TTL_MAX (0, unknown: the least). */
static long long
ttl_bound(unsigned long ttl)
{
	if (ttl < DB_TTL_MIN)
		return DB_TTL_MIN;
	return ttl > DB_TTL_MAX ? DB_TTL_MAX : (long long)ttl;
}

/* cache_key - "z/ZONE/IP" into OUT.  0 or -1. */
static int
cache_key(const char *zone, const char *ip, char *out, size_t size)
{
	int n = snprintf(out, size, "z/%s/%s", zone, ip);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* cache_read - zone Z's cached result for IP into *R: 1 found, 0 not. */
static int
cache_read(const struct db_zone *z, const char *ip, struct db_res *r)
{
	char key[DB_KEY_MAX], rec[DB_REC_MAX];
	size_t len = sizeof(rec);
	int listed, g;

	if (cache_key(z->name, ip, key, sizeof(key)) == -1)
		return 0;
	if ((g = yh_store_get(key, rec, &len)) == -1)
		yh_log(YH_LOG_WARN, "dnsbl zone=%s client=%s: cache read "
		    "failed; asking", z->name, ip);
	if (g != 1 || len > sizeof(rec) ||
	    db_rec_parse(rec, len, &listed, r->addr, r->reason,
	    sizeof(r->reason)) == -1)
		return 0;
	r->st = listed ? DB_ST_LISTED : DB_ST_CLEAN;
	r->cached = 1;
	return 1;
}

/* cache_write - zone Z's result R for IP, kept for R's TTL bounded. */
static void
cache_write(const struct db_zone *z, const char *ip, const struct db_res *r)
{
	char key[DB_KEY_MAX], rec[DB_REC_MAX];
	int n;

	if (cache_key(z->name, ip, key, sizeof(key)) == -1 ||
	    (n = db_rec_format(r->st == DB_ST_LISTED, r->addr, r->reason, rec,
	    sizeof(rec))) < 0 ||
	    yh_store_put(key, rec, (size_t)n, ttl_bound(r->ttl)) == -1)
		yh_log(YH_LOG_WARN, "dnsbl zone=%s client=%s: cache write "
		    "failed", z->name, ip);
}

/* take_a - zone Z's A answer ONE into R. */
static void
take_a(const struct db_zone *z, const struct dnsq_one *one, struct db_res *r)
{
	switch (one->rc) {
	case DNSQ_OK:
		switch (db_classify(z, &one->ans, r->addr)) {
		case DB_LISTED:
			r->st = DB_ST_LISTED;
			break;
		case DB_CLEAN:
			r->st = DB_ST_CLEAN;
			break;
		case DB_BOGUS:
			r->st = DB_ST_FAILED;
			r->why = "bogus_answer";
			return;
		}
		r->ttl = one->ans.ttl;
		r->store = 1;
		return;
	case DNSQ_NXDOMAIN:
	case DNSQ_NODATA:
		r->st = DB_ST_CLEAN;
		r->ttl = one->ans.ttl;
		r->store = 1;
		return;
	case DNSQ_PERM:
		r->st = DB_ST_FAILED;
		r->why = "malformed_answer";
		return;
	default:
		r->st = DB_ST_FAILED;
		r->why = "timeout_or_servfail";
		return;
	}
}

/*
 * lookup - every zone of C for IP (its address text IPS) into RES: from
 * the cache, else asked, all A questions at once, then the TXT of the
 * listed ones within the same deadline.  Results asked are cached.
 */
static void
lookup(const struct db_conf *c, const struct pu_ip *ip, const char *ips,
    struct db_res *res)
{
	char names[DB_ZONES_MAX][DNSQ_NAME_MAX + 1];
	struct dnsq_one qs[DB_ZONES_MAX];
	size_t which[DB_ZONES_MAX], nq = 0, nt, i;
	struct dnsq dq;
	long long t0 = ms_now(), left;

	for (i = 0; i < c->nzones; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		if (cache_read(&c->zones[i], ips, &res[i]))
			continue;
		if (db_query_name(ip, c->zones[i].name, names[i],
		    sizeof(names[i])) == -1) {
			res[i].st = DB_ST_FAILED;
			res[i].why = "name_too_long";
			continue;
		}
		memset(&qs[nq], 0, sizeof(qs[nq]));
		qs[nq].name = names[i];
		qs[nq].type = DNSQ_A;
		which[nq++] = i;
	}
	if (nq == 0)
		return;
	if (dnsq_net_init(&dq, c->timeout_ms) == -1) {
		for (i = 0; i < nq; i++) {
			res[which[i]].st = DB_ST_FAILED;
			res[which[i]].why = "no_resolver";
		}
		return;
	}
	(void)dnsq_batch(&dq, qs, nq, c->timeout_ms);
	for (i = 0; i < nq; i++) {
		take_a(&c->zones[which[i]], &qs[i], &res[which[i]]);
		if (res[which[i]].why != NULL &&
		    strcmp(res[which[i]].why, "bogus_answer") == 0 &&
		    qs[i].ans.n > 0)
			memcpy(res[which[i]].bogus, qs[i].ans.ip[0].addr, 4);
		dnsq_ans_free(&qs[i].ans);
	}
	/* the reasons of the listed zones, within what is left */
	for (i = nt = 0; i < nq; i++)
		if (res[which[i]].st == DB_ST_LISTED) {
			memset(&qs[nt], 0, sizeof(qs[nt]));
			qs[nt].name = names[which[i]];
			qs[nt].type = DNSQ_TXT;
			which[nt++] = which[i];
		}
	left = c->timeout_ms - (ms_now() - t0);
	if (nt > 0 && left > 0) {
		(void)dnsq_batch(&dq, qs, nt, (int)left);
		for (i = 0; i < nt; i++) {
			if (qs[i].rc == DNSQ_OK && qs[i].ans.n > 0)
				db_reason(qs[i].ans.str[0], qs[i].ans.len[0],
				    res[which[i]].reason,
				    sizeof(res[which[i]].reason));
			dnsq_ans_free(&qs[i].ans);
		}
	}
	for (i = 0; i < c->nzones; i++)
		if (res[i].store)
			cache_write(&c->zones[i], ips, &res[i]);
}

/* zones_text - each zone's state as "NAME:STATE" words into OUT, cut
 * with "..." when long (a log line). */
static void
zones_text(const struct db_conf *c, const struct db_res *res, char *out,
    size_t size)
{
	size_t o = 0, i;
	int n;

	out[0] = '\0';
	for (i = 0; i < c->nzones; i++) {
		if (res[i].st == DB_ST_LISTED)
			n = snprintf(out + o, size - o, "%s%s:listed(%u.%u.%u.%u"
			    ",%+ld)", i ? "," : "", c->zones[i].name,
			    res[i].addr[0], res[i].addr[1], res[i].addr[2],
			    res[i].addr[3], c->zones[i].weight);
		else if (res[i].st == DB_ST_CLEAN)
			n = snprintf(out + o, size - o, "%s%s:clean",
			    i ? "," : "", c->zones[i].name);
		else if (strcmp(res[i].why, "bogus_answer") == 0)
			n = snprintf(out + o, size - o, "%s%s:failed(%s,"
			    "%u.%u.%u.%u)", i ? "," : "", c->zones[i].name,
			    res[i].why, res[i].bogus[0], res[i].bogus[1],
			    res[i].bogus[2], res[i].bogus[3]);
		else
			n = snprintf(out + o, size - o, "%s%s:failed(%s)",
			    i ? "," : "", c->zones[i].name, res[i].why);
		if (n < 0 || (size_t)n >= size - o) {
			if (o > size - 4)
				o = size - 4;
			memcpy(out + o, "...", 4);
			return;
		}
		o += (size_t)n;
	}
}

/* verdict - look IP up, decide, log one line, and keep the verdict in the
 * session note: "pass", or "reject " and the reply text, into NOTE too
 * (DB_NOTE_MAX bytes). */
static void
verdict(struct yh_session *s, const struct db_conf *c, const struct pu_ip *ip,
    const char *ips, char *note)
{
	struct db_res res[DB_ZONES_MAX];
	enum db_state st[DB_ZONES_MAX];
	char zt[DB_LOG_MAX];
	const char *action;
	enum db_verdict v;
	long score;
	size_t i, best = 0, cached = 0, failed = 0;
	int have = 0;

	lookup(c, ip, ips, res);
	for (i = 0; i < c->nzones; i++) {
		st[i] = res[i].st;
		cached += res[i].cached;
		failed += res[i].st == DB_ST_FAILED;
		if (res[i].st == DB_ST_LISTED && c->zones[i].weight > 0 &&
		    (!have || c->zones[i].weight > c->zones[best].weight)) {
			best = i;
			have = 1;
		}
	}
	v = db_decide(c->zones, st, c->nzones, c->threshold, &score);
	action = v == DB_REJECT ? "reject" : v == DB_UNSURE ?
	    "pass_dns_error" : "pass";
	zones_text(c, res, zt, sizeof(zt));
	yh_log(failed > 0 ? YH_LOG_WARN : YH_LOG_INFO, "dnsbl action=%s "
	    "client=%s score=%ld threshold=%ld zones=%s cached=%zu", action,
	    ips, score, c->threshold, zt, cached);
	if (v != DB_REJECT || !have)
		snprintf(note, DB_NOTE_MAX, "pass");
	else if (res[best].reason[0] != '\0')
		snprintf(note, DB_NOTE_MAX, "reject Service unavailable; "
		    "client [%s] blocked using %s; %s", ips,
		    c->zones[best].name, res[best].reason);
	else
		snprintf(note, DB_NOTE_MAX, "reject Service unavailable; "
		    "client [%s] blocked using %s", ips, c->zones[best].name);
	if (yh_snote_set(s, DB_NOTE, note) == -1)
		yh_log(YH_LOG_WARN, "dnsbl client=%s: session note not kept; "
		    "the next RCPT asks the cache again", ips);
}

/* ---- the rcpt hook -------------------------------------------------------- */

static int
nets_match(const struct pu_net *nets, size_t n, const struct pu_ip *ip)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pu_net_match(&nets[i], ip))
			return 1;
	return 0;
}

/* skip_reason - why session S is never looked up, or NULL. */
static const char *
skip_reason(struct yh_session *s, const struct db_conf *c,
    const struct pu_ip *ip, int have_ip)
{
	if (yh_local_submission(s))
		return "local_submission";
	if (*yh_auth_user(s) != '\0')
		return "authenticated";
	if (!have_ip)
		return "no_client_address";
	if (nets_match(c->permits, c->npermits, ip))
		return "address_permits_relay";
	if (nets_match(c->never, c->nnever, ip))
		return "never_query";
	return NULL;
}

/*
 * db_rcpt - RCPT TO: the session's verdict (looked up at its first RCPT
 * that needs it): 554 5.7.1 for a listed client, except to postmaster@
 * and abuse@ of a local domain.  YH_DENY or YH_DECLINED; never YH_OK.
 */
static int
db_rcpt(struct yh_session *s, const char *rcpt)
{
	const struct db_conf *c = db;
	const char *why, *note, *peer = yh_peer_ip(s);
	char ips[INET6_ADDRSTRLEN], eto[DB_ESC_MAX], buf[DB_NOTE_MAX];
	struct pu_ip ip;
	int have_ip;

	if (c == NULL || c->nzones == 0 || rcpt == NULL)
		return YH_DECLINED;
	memset(&ip, 0, sizeof(ip));
	have_ip = peer != NULL && pu_ip_parse(peer, &ip) == 0 &&
	    inet_ntop(ip.family == 4 ? AF_INET : AF_INET6, ip.a, ips,
	    sizeof(ips)) != NULL;
	if ((why = skip_reason(s, c, &ip, have_ip)) != NULL) {
		yh_log(YH_LOG_DEBUG, "dnsbl skipped reason=%s client=%s", why,
		    have_ip ? ips : "-");
		return YH_DECLINED;
	}
	if (db_role_rcpt(rcpt) && (strchr(rcpt, '@') == NULL ||
	    yh_rcpt_local(s) != -1)) {
		yh_log(YH_LOG_DEBUG, "dnsbl skipped reason=role_recipient "
		    "client=%s to=<%s>", ips,
		    yh_escape(eto, sizeof(eto), rcpt, strlen(rcpt)));
		return YH_DECLINED;
	}
	if ((note = yh_snote_get(s, DB_NOTE)) == NULL) {
		verdict(s, c, &ip, ips, buf);
		note = buf;
	}
	if (strncmp(note, "reject ", 7) != 0)
		return YH_DECLINED;
	yh_reply(s, 554, "5.7.1", "%s", note + 7);
	return YH_DENY;
}

static const struct yh_hooks db_hooks = {
	YH_HOOKS_INIT,
	.rcpt = db_rcpt,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "dnsbl",
	.keys = db_keys,
	.init = db_init,
	.commit = db_commit,
	.discard = db_discard,
	.fini = db_fini,
	.hooks = &db_hooks,
};
