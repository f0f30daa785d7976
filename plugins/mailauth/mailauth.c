/*
 * mailauth - sender authentication (DESIGN §12): DKIM signing of mail from
 * authenticated and local senders, and for all other mail SPF (RFC 7208),
 * DKIM verification (RFC 6376, RFC 8463) and DMARC (RFC 7489), reported in
 * one Authentication-Results field (RFC 8601) on top of the message.
 *
 * [plugin mailauth]
 *   sign = 0|1          (1) sign mail of authenticated/local senders whose
 *                       From: domain has keys in dkim_file
 *   sign_relay_clients = 0|1  (1) clients in smtp.address_permits_relay
 *                       count as local senders: signed, not checked (as
 *                       OpenDKIM's InternalHosts)
 *   verify_dkim, spf, dmarc = 0|1   (1) the checks made on other mail
 *   dmarc_enforce = 0|1 (0) 1: a DMARC failure under p=reject is refused
 *                       at DATA with 550 5.7.1, one under p=quarantine
 *                       gets "X-Yubin-DMARC: quarantine"; so is a message
 *                       with several From: fields or addresses (RFC 7489
 *                       §6.6.1: no single domain can answer for it)
 *   authserv_id = ID    (smtp.hostname, else the host name)
 *   dkim_file = PATH    (CONFDIR/dkim.dat, may be missing unless named):
 *                       lines "DOMAIN SELECTOR KEYFILE", '#' comments;
 *                       several lines for one domain sign several times
 *   dns_timeout = DUR   (5s) each DNS question; all the questions of one
 *                       message share 2/3 of server.hook_timeout
 *
 * NOTES set for later plugins (checked mail only): mailauth.spf,
 * mailauth.dkim (pass when a signature passed whole, else the first
 * verdict, none), mailauth.dmarc (none pass fail temperror permerror),
 * mailauth.dmarc_policy (the policy applied: none quarantine reject).
 *
 * Runs init() in the master as root (reads dkim.dat and the private keys
 * it names), the data hook in SMTP workers as the server user.  Must
 * never: check or enforce anything on mail of an authenticated sender,
 * let an incoming Authentication-Results field that claims our
 * authserv-id through, log a client byte unescaped, or ask DNS past the
 * message's time budget.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "../lib/plugutil.h"
#include "authres.h"
#include "dkim.h"
#include "dmarc.h"
#include "../lib/dnsq.h"
#include "spf.h"

#define MA_LINE_MAX	1024		/* a dkim.dat line */
#define MA_KEYS_MAX	256		/* dkim.dat lines with a key */
#define MA_FILE_MAX	(1024 * 1024)
#define MA_ESC		300		/* an escaped value in a log line */

struct ma_conf {
	int		 sign, verify_dkim, spf, dmarc, enforce, sign_relay;
	struct pu_net	*permits;	/* smtp.address_permits_relay */
	size_t		 npermits;
	char		 authserv_id[256];
	char		 hostname[256];
	long long	 dns_timeout_ms;
	long long	 budget_ms;
	struct dkim_key	*keys;
	size_t		 nkeys;
};

static struct ma_conf *MA;

static const struct yh_key ma_keys[] = {
	{ "sign",		YH_KEY_BOOL,	 "1", 0, 0 },
	{ "sign_relay_clients",	YH_KEY_BOOL,	 "1", 0, 0 },
	{ "verify_dkim",	YH_KEY_BOOL,	 "1", 0, 0 },
	{ "spf",		YH_KEY_BOOL,	 "1", 0, 0 },
	{ "dmarc",		YH_KEY_BOOL,	 "1", 0, 0 },
	{ "dmarc_enforce",	YH_KEY_BOOL,	 "0", 0, 0 },
	{ "authserv_id",	YH_KEY_STRING,	 NULL, 0, 0 },
	{ "dkim_file",		YH_KEY_PATH,	 "dkim.dat", 0, 0 },
	/* one DNS question; 2/3 of the hook timeout bounds all of them */
	{ "dns_timeout",	YH_KEY_DURATION, "5s", 100, 60000 },
	{ NULL, 0, NULL, 0, 0 }
};

static void
ma_conf_free(struct ma_conf **cp)
{
	struct ma_conf *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkeys; i++)
		dkim_key_free(&c->keys[i]);
	free(c->keys);
	free(c->permits);
	free(c);
	*cp = NULL;
}

/* ---- dkim.dat ---------------------------------------------------------- */

static int
ma_selector_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DKIM_SELECTOR_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' &&
		    *s != '_')
			return 0;
	return 1;
}

/* ma_line - one dkim.dat line (comments and blank lines are 0): its key
 * loaded into C.  -1 after a "PATH:LINE: message" error. */
static int
ma_line(struct ma_conf *c, const char *path, const char *dir, unsigned ln,
    char *line)
{
	char *w[4], *p = line, full[4096], why[256], dom[DMARC_DOMAIN_MAX + 1];
	int n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\0')
		return 0;
	while (*p != '\0' && n < 4) {
		w[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (n != 3) {
		yh_error("%s:%u: want DOMAIN SELECTOR KEYFILE", path, ln);
		return -1;
	}
	{
		/* the From parser checks the host name and lowers it */
		char probe[DMARC_DOMAIN_MAX + 8];

		if (strchr(w[0], '@') != NULL || (size_t)snprintf(probe,
		    sizeof(probe), "x@%s", w[0]) >= sizeof(probe) ||
		    dmarc_from_domain(probe, dom, sizeof(dom), NULL, 0) == -1) {
			yh_error("%s:%u: bad domain '%.64s'", path, ln, w[0]);
			return -1;
		}
	}
	if (!ma_selector_ok(w[1])) {
		yh_error("%s:%u: bad selector '%.64s'", path, ln, w[1]);
		return -1;
	}
	if ((size_t)snprintf(full, sizeof(full), "%s%s", w[2][0] == '/' ? "" :
	    dir, w[2]) >= sizeof(full)) {
		yh_error("%s:%u: key file name too long", path, ln);
		return -1;
	}
	if (c->nkeys == MA_KEYS_MAX) {
		yh_error("%s:%u: more than %d keys", path, ln, MA_KEYS_MAX);
		return -1;
	}
	if (c->keys == NULL &&
	    (c->keys = calloc(MA_KEYS_MAX, sizeof(*c->keys))) == NULL) {
		yh_error("%s:%u: out of memory", path, ln);
		return -1;
	}
	why[0] = '\0';
	if (dkim_key_load(&c->keys[c->nkeys], dom, w[1], full, why,
	    sizeof(why)) == -1) {
		yh_error("%s:%u: key file %s: %s", path, ln, full, why);
		return -1;
	}
	c->nkeys++;
	return 0;
}

/* ma_keys_load - dkim.dat at PATH (MUST: named in the section) */
static unsigned
ma_keys_load(struct ma_conf *c, const char *path, int must)
{
	char dir[4096], *data, *line, *nl;
	const char *slash = strrchr(path, '/');
	unsigned ln = 0, errors = 0;
	FILE *f;
	size_t len;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must)
			return 0;
		yh_error("%s: %s", path, strerror(errno));
		return 1;
	}
	if ((data = malloc(MA_FILE_MAX + 1)) == NULL) {
		fclose(f);
		yh_error("%s: out of memory", path);
		return 1;
	}
	len = fread(data, 1, MA_FILE_MAX + 1, f);
	fclose(f);
	if (len > MA_FILE_MAX) {
		free(data);
		yh_error("%s: larger than %d bytes", path, MA_FILE_MAX);
		return 1;
	}
	data[len] = '\0';
	if (memchr(data, '\0', len) != NULL) {
		free(data);
		yh_error("%s: a NUL byte: not a text file", path);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path + 1) : 0,
	    path);
	for (line = data; *line != '\0' || line < data + len; line = nl + 1) {
		ln++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (strlen(line) > 0 && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (strlen(line) > MA_LINE_MAX) {
			yh_error("%s:%u: line longer than %d bytes", path, ln,
			    MA_LINE_MAX);
			errors++;
		} else if (ma_line(c, path, dir, ln, line) == -1)
			errors++;
		if (nl == NULL)
			break;
	}
	free(data);
	return errors;
}

/* ---- init -------------------------------------------------------------- */

/* ma_permits_load - smtp.address_permits_relay (commas or blanks, as the
 * relay plugin reads it) into C.  The number of errors. */
static unsigned
ma_permits_load(struct ma_conf *c)
{
	const char *v = yh_server_get("smtp.address_permits_relay"), *p;
	char word[128];
	struct pu_net *nv;
	size_t len;

	for (p = v ? v : ""; *p != '\0'; p += len) {
		p += strspn(p, ", \t");
		if ((len = strcspn(p, ", \t")) == 0)
			continue;
		if (len >= sizeof(word))
			goto bad;
		memcpy(word, p, len);
		word[len] = '\0';
		if ((nv = realloc(c->permits, (c->npermits + 1) *
		    sizeof(*nv))) == NULL)
			goto bad;
		c->permits = nv;
		if (pu_net_parse(word, &c->permits[c->npermits]) == -1)
			goto bad;
		c->npermits++;
	}
	return 0;
bad:
	yh_error("[plugin mailauth] smtp.address_permits_relay: cannot use "
	    "the address list");
	return 1;
}

/* ma_relay_client - 1 when S's client is in smtp.address_permits_relay. */
static int
ma_relay_client(const struct ma_conf *c, struct yh_session *s)
{
	struct pu_ip ip;
	size_t i;

	if (c->npermits == 0 || pu_ip_parse(yh_peer_ip(s), &ip) == -1)
		return 0;
	for (i = 0; i < c->npermits; i++)
		if (pu_net_match(&c->permits[i], &ip))
			return 1;
	return 0;
}

static int
ma_init(const struct yh_config *cfg, void **gen)
{
	struct ma_conf *c;
	const char *v, *path;
	long long tmo;
	unsigned errors = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		yh_error("[plugin mailauth] out of memory");
		return -1;
	}
	c->sign = yh_config_bool(cfg, "sign");
	c->verify_dkim = yh_config_bool(cfg, "verify_dkim");
	c->spf = yh_config_bool(cfg, "spf");
	c->dmarc = yh_config_bool(cfg, "dmarc");
	c->enforce = yh_config_bool(cfg, "dmarc_enforce");
	c->sign_relay = yh_config_bool(cfg, "sign_relay_clients");
	if (c->sign_relay)
		errors += ma_permits_load(c);
	c->dns_timeout_ms = yh_config_duration(cfg, "dns_timeout");
	v = yh_server_get("smtp.hostname");
	if (v == NULL || *v == '\0' || snprintf(c->hostname,
	    sizeof(c->hostname), "%s", v) >= (int)sizeof(c->hostname)) {
		if (gethostname(c->hostname, sizeof(c->hostname)) == -1)
			snprintf(c->hostname, sizeof(c->hostname), "localhost");
		c->hostname[sizeof(c->hostname) - 1] = '\0';
	}
	v = yh_config_str(cfg, "authserv_id");
	if (v == NULL || *v == '\0')
		v = c->hostname;
	if (snprintf(c->authserv_id, sizeof(c->authserv_id), "%s", v) >=
	    (int)sizeof(c->authserv_id)) {
		yh_error("[plugin mailauth] authserv_id: longer than %zu bytes",
		    sizeof(c->authserv_id) - 1);
		errors++;
	}
	v = yh_server_get("server.hook_timeout");
	tmo = v != NULL ? strtoll(v, NULL, 10) : 30;
	c->budget_ms = (tmo > 0 ? tmo : 30) * 1000 * 2 / 3;
	if ((path = yh_config_path(cfg, "dkim_file")) != NULL)
		errors += ma_keys_load(c, path,
		    yh_config_get(cfg, "dkim_file") != NULL);
	if (errors > 0) {
		ma_conf_free(&c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
ma_commit(void *gen)
{
	ma_conf_free(&MA);
	MA = gen;
}

static void
ma_discard(void *gen)
{
	struct ma_conf *c = gen;

	ma_conf_free(&c);
}

static void
ma_fini(void)
{
	ma_conf_free(&MA);
}

/* ---- DNS within the message's budget ------------------------------------ */

struct ma_budget {
	struct dnsq	 net;
	int		 have_net;
	long long	 deadline;	/* ms, CLOCK_MONOTONIC */
	long long	 per;		/* ms per question */
};

static long long
ma_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ma_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *out)
{
	struct ma_budget *b = q->ctx;
	long long left = b->deadline - ma_now_ms();

	memset(out, 0, sizeof(*out));
	if (!b->have_net || left <= 0)
		return DNSQ_TEMP;
	b->net.timeout_ms = (int)(left < b->per ? left : b->per);
	return b->net.lookup(&b->net, name, type, out);
}

/* ---- the message ------------------------------------------------------- */

/* ma_read - the whole message of the data hook into *MSG_R (malloc'ed) */
static int
ma_read(struct yh_session *s, char **msg_r, size_t *len_r)
{
	int fd = yh_message_fd(s);
	long long size = yh_message_size(s);
	size_t len = 0, cap;
	char *m, *nm;
	ssize_t r;

	if (fd == -1)
		return -1;
	cap = size > 0 ? (size_t)size + 1 : 65536;
	if ((m = malloc(cap)) == NULL)
		return -1;
	if (lseek(fd, 0, SEEK_SET) == -1) {
		free(m);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if ((nm = realloc(m, cap * 2)) == NULL) {
				free(m);
				return -1;
			}
			m = nm;
			cap *= 2;
		}
		r = read(fd, m + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(m);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	lseek(fd, 0, SEEK_SET);
	*msg_r = m;
	*len_r = len;
	return 0;
}

/* field_end - the end of the header field starting at P (past its
 * continuation lines) */
static const char *
field_end(const char *p, const char *end)
{
	const char *nl;

	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return end;
		p = nl + 1;
		if (p == end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

/* ar_ours - the field at P..FE is an Authentication-Results field that
 * claims ID (or cannot be read far enough to tell) */
static int
ar_ours(const char *p, const char *fe, const char *id)
{
	static const char name[] = "Authentication-Results";
	const char *q = p + sizeof(name) - 1;

	if ((size_t)(fe - p) < sizeof(name) ||
	    strncasecmp(p, name, sizeof(name) - 1) != 0)
		return 0;
	while (q < fe && (*q == ' ' || *q == '\t'))
		q++;
	if (q == fe || *q != ':')
		return 0;
	q++;
	return authres_claims(q, (size_t)(fe - q), id) != 0;
}

/*
 * ma_strip - MSG without the Authentication-Results fields claiming ID,
 * in *OUT_R (malloc'ed) with their number returned; 0 (nothing made) when
 * there are none, -1 out of memory.
 */
static int
ma_strip(const char *msg, size_t len, const char *id, char **out_r,
    size_t *olen_r)
{
	const char *p = msg, *end = msg + len, *fe;
	char *o = NULL;
	size_t olen = 0;
	int n = 0;

	while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end &&
	    p[1] == '\n')) {
		fe = field_end(p, end);
		if (ar_ours(p, fe, id)) {
			if (o == NULL) {
				if ((o = malloc(len + 1)) == NULL)
					return -1;
				memcpy(o, msg, (size_t)(p - msg));
				olen = (size_t)(p - msg);
			}
			n++;
		} else if (o != NULL) {
			memcpy(o + olen, p, (size_t)(fe - p));
			olen += (size_t)(fe - p);
		}
		p = fe;
	}
	if (o == NULL)
		return 0;
	memcpy(o + olen, p, (size_t)(end - p));
	olen += (size_t)(end - p);
	*out_r = o;
	*olen_r = olen;
	return n;
}

static int
ma_replace(struct yh_session *s, const char *m, size_t len)
{
	int fd, rc = -1;
	size_t off = 0;
	ssize_t w;

	if ((fd = memfd_create("mailauth", MFD_CLOEXEC)) == -1)
		return -1;
	while (off < len) {
		w = write(fd, m + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	rc = yh_message_replace(s, fd);
out:
	close(fd);
	return rc;
}

static char *
esc(char *dst, size_t size, const char *s)
{
	return yh_escape(dst, size, s, strlen(s));
}

/* ---- signing ----------------------------------------------------------- */

static void
ma_sign(struct ma_conf *c, struct yh_session *s, const char *msg,
    size_t len)
{
	const char *from = yh_header(s, "From", 0);
	char dom[DMARC_DOMAIN_MAX + 1], why[256], e[MA_ESC], *field, *v, *r, *w;
	size_t i, signed_n = 0;

	if (from == NULL || yh_header(s, "From", 1) != NULL ||
	    dmarc_from_domain(from, dom, sizeof(dom), NULL, 0) == -1)
		return;
	for (i = 0; i < c->nkeys; i++) {
		if (strcasecmp(c->keys[i].domain, dom) != 0)
			continue;
		if (dkim_sign(&c->keys[i], msg, len, yh_now(), &field, why,
		    sizeof(why)) == -1) {
			yh_log(YH_LOG_ERR, "mailauth: dkim sign d=%s s=%s "
			    "failed: %s", c->keys[i].domain,
			    c->keys[i].selector, esc(e, sizeof(e), why));
			continue;
		}
		/* unfolded: yh_header_add takes one line; relaxed header
		 * canonicalisation makes it the same signature */
		v = strchr(field, ':');
		v = v != NULL ? v + 1 : field;
		while (*v == ' ')
			v++;
		for (r = w = v; *r != '\0'; r++)
			if (*r != '\r' && *r != '\n')
				*w++ = *r;
		*w = '\0';
		if (yh_header_add(s, "DKIM-Signature", v) == 0) {
			signed_n++;
			yh_log(YH_LOG_INFO, "mailauth: dkim signed d=%s s=%s",
			    c->keys[i].domain, c->keys[i].selector);
		}
		free(field);
	}
	(void)signed_n;
}

/* ---- checking ---------------------------------------------------------- */

struct ma_results {
	struct spf_outcome	 spf;
	int			 spf_done;
	struct dkim_verdict	 dkim[DKIM_SIG_MAX];
	size_t			 ndkim;
	int			 dkim_done;
	struct dmarc_outcome	 dmarc;
	int			 dmarc_done;
	int			 from_bad;	/* several From fields/addresses */
};

static const char *
dkim_overall(const struct ma_results *r)
{
	size_t i;

	for (i = 0; i < r->ndkim; i++)
		if (r->dkim[i].result == DKIM_PASS && !r->dkim[i].partial)
			return "pass";
	if (r->ndkim == 0)
		return "none";
	return r->dkim[0].result == DKIM_PASS ? "policy" :
	    dkim_result_name(r->dkim[0].result);
}

static int
ma_ip(const char *ip, struct dnsq_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, out->addr) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, out->addr) == 1) {
		out->family = AF_INET6;
		if (memcmp(out->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			memmove(out->addr, out->addr + 12, 4);
			out->family = AF_INET;
		}
		return 0;
	}
	return -1;
}

static void
ma_check(struct ma_conf *c, struct yh_session *s, struct dnsq *q,
    const char *msg, size_t len, struct ma_results *r)
{
	struct spf_request rq;
	struct dmarc_input in;
	const char *from;
	char dom[DMARC_DOMAIN_MAX + 1], why[96];
	unsigned sample = 0;

	if (c->spf) {
		memset(&rq, 0, sizeof(rq));
		if (ma_ip(yh_peer_ip(s), &rq.ip) == 0) {
			rq.sender = yh_sender(s) != NULL ? yh_sender(s) : "";
			rq.helo = yh_helo(s);
			rq.receiver = c->hostname;
			rq.now = yh_now();
			spf_check(q, &rq, &r->spf);
			r->spf_done = 1;
		}
	}
	if (c->verify_dkim) {
		dkim_verify(q, msg, len, yh_now(), r->dkim, DKIM_SIG_MAX,
		    &r->ndkim);
		r->dkim_done = 1;
	}
	if (!c->dmarc)
		return;
	r->dmarc_done = 1;
	from = yh_header(s, "From", 0);
	if (from == NULL || yh_header(s, "From", 1) != NULL ||
	    dmarc_from_domain(from, dom, sizeof(dom), why, sizeof(why)) == -1) {
		memset(&r->dmarc, 0, sizeof(r->dmarc));
		r->dmarc.result = DMARC_PERMERROR;
		if (from == NULL)
			snprintf(r->dmarc.reason, sizeof(r->dmarc.reason),
			    "no From field");
		else if (yh_header(s, "From", 1) != NULL) {
			snprintf(r->dmarc.reason, sizeof(r->dmarc.reason),
			    "several From fields");
			r->from_bad = 1;
		} else {
			snprintf(r->dmarc.reason, sizeof(r->dmarc.reason),
			    "From: %s", why);
			r->from_bad = strcmp(why, "more than one address") == 0;
		}
		return;
	}
	if (getrandom(&sample, sizeof(sample), 0) != (ssize_t)sizeof(sample))
		sample = (unsigned)ma_now_ms();
	memset(&in, 0, sizeof(in));
	in.from_domain = dom;
	in.spf = r->spf_done ? &r->spf : NULL;
	in.dkim = r->dkim;
	in.ndkim = r->dkim_done ? r->ndkim : 0;
	in.sample = sample % 100;
	dmarc_check(q, &in, &r->dmarc);
}

/* ma_authres - the Authentication-Results value of R into A */
static void
ma_authres(struct ma_conf *c, struct yh_session *s, struct ma_results *r,
    struct authres *a)
{
	struct authres_prop p[AUTHRES_PROPS_MAX];
	const char *sender = yh_sender(s);
	size_t i;

	if (authres_init(a, c->authserv_id) == -1)
		(void)authres_init(a, c->hostname);
	if (r->spf_done) {
		p[0].name = "smtp.mailfrom";
		p[0].value = sender != NULL && *sender != '\0' ? sender : NULL;
		p[1].name = "smtp.helo";
		p[1].value = p[0].value == NULL ? yh_helo(s) : NULL;
		if (authres_add(a, "spf", spf_result_name(r->spf.result),
		    r->spf.problem, p, 2) == -1 &&
		    authres_add(a, "spf", spf_result_name(r->spf.result),
		    NULL, NULL, 0) == -1)
			yh_log(YH_LOG_WARN, "mailauth: spf result left out of "
			    "Authentication-Results");
	}
	if (r->dkim_done && r->ndkim == 0)
		(void)authres_add(a, "dkim", "none", NULL, NULL, 0);
	for (i = 0; r->dkim_done && i < r->ndkim; i++) {
		const struct dkim_verdict *v = &r->dkim[i];
		int partial = v->result == DKIM_PASS && v->partial;

		p[0].name = "header.d";
		p[0].value = v->domain;
		p[1].name = "header.i";
		p[1].value = v->identity;
		p[2].name = "header.s";
		p[2].value = v->selector;
		p[3].name = "header.b";
		p[3].value = v->b;
		if (authres_add(a, "dkim", partial ? "policy" :
		    dkim_result_name(v->result), partial ? "l= leaves part of "
		    "the body unsigned" : v->result == DKIM_PASS ? NULL :
		    v->reason, p, 4) == -1)
			yh_log(YH_LOG_WARN, "mailauth: dkim result %zu left out "
			    "of Authentication-Results", i);
	}
	if (r->dmarc_done) {
		p[0].name = "header.from";
		p[0].value = r->dmarc.domain;
		if (authres_add(a, "dmarc", dmarc_result_name(r->dmarc.result),
		    r->dmarc.result == DMARC_PASS ? NULL :
		    r->dmarc.result == DMARC_FAIL ?
		    (r->dmarc.published == DMARC_P_REJECT ? "p=reject" :
		    r->dmarc.published == DMARC_P_QUARANTINE ? "p=quarantine" :
		    "p=none") : r->dmarc.reason, p, 1) == -1)
			yh_log(YH_LOG_WARN, "mailauth: dmarc result left out "
			    "of Authentication-Results");
	}
}

static void
ma_notes(struct yh_session *s, const struct ma_results *r)
{
	if (r->spf_done)
		yh_note_set(s, "mailauth.spf", spf_result_name(r->spf.result));
	if (r->dkim_done)
		yh_note_set(s, "mailauth.dkim", dkim_overall(r));
	if (r->dmarc_done) {
		yh_note_set(s, "mailauth.dmarc",
		    dmarc_result_name(r->dmarc.result));
		yh_note_set(s, "mailauth.dmarc_policy",
		    dmarc_policy_name(r->dmarc.policy));
	}
}

static void
ma_log(struct yh_session *s, const struct ma_results *r, int removed)
{
	char e1[MA_ESC], e2[MA_ESC], e3[MA_ESC];

	yh_log(YH_LOG_INFO, "mailauth: client=%s spf=%s spf_domain=%s dkim=%s "
	    "dkim_sigs=%zu dmarc=%s policy=%s from_domain=%s reason=\"%s\" "
	    "removed_ar=%d",
	    esc(e1, sizeof(e1), yh_peer_ip(s)),
	    r->spf_done ? spf_result_name(r->spf.result) : "off",
	    esc(e2, sizeof(e2), r->spf_done ? r->spf.domain : ""),
	    r->dkim_done ? dkim_overall(r) : "off", r->ndkim,
	    r->dmarc_done ? dmarc_result_name(r->dmarc.result) : "off",
	    r->dmarc_done ? dmarc_policy_name(r->dmarc.policy) : "none",
	    esc(e3, sizeof(e3), r->dmarc_done ? r->dmarc.domain : ""),
	    r->dmarc_done ? r->dmarc.reason : "", removed);
}

static int
ma_data(struct yh_session *s)
{
	struct ma_conf *c = MA;
	struct ma_budget b;
	struct dnsq q;
	struct ma_results *r;
	struct authres a;
	char *msg, *stripped = NULL, e[MA_ESC];
	size_t len, slen = 0;
	int authed, removed, rc = YH_DECLINED;
	const char *use;
	size_t ulen;

	if (c == NULL)
		return YH_DECLINED;
	if (ma_read(s, &msg, &len) == -1) {
		yh_log(YH_LOG_ERR, "mailauth: cannot read the message");
		yh_reply(s, 451, "4.3.0", "local error reading the message");
		return YH_DENYSOFT;
	}
	removed = ma_strip(msg, len, c->authserv_id, &stripped, &slen);
	if (removed < 0 || (removed > 0 && ma_replace(s, stripped, slen) == -1)) {
		free(msg);
		free(stripped);
		yh_log(YH_LOG_ERR, "mailauth: cannot remove Authentication-"
		    "Results fields claiming %s", c->authserv_id);
		yh_reply(s, 451, "4.3.0", "local error rewriting the message");
		return YH_DENYSOFT;
	}
	use = removed > 0 ? stripped : msg;
	ulen = removed > 0 ? slen : len;
	authed = yh_local_submission(s) || *yh_auth_user(s) != '\0' ||
	    (c->sign_relay && ma_relay_client(c, s));
	if (authed) {
		if (removed > 0)
			yh_log(YH_LOG_INFO, "mailauth: removed %d "
			    "Authentication-Results field(s) claiming %s",
			    removed, c->authserv_id);
		if (c->sign && c->nkeys > 0)
			ma_sign(c, s, use, ulen);
		free(msg);
		free(stripped);
		return YH_DECLINED;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		free(msg);
		free(stripped);
		yh_reply(s, 451, "4.3.0", "local error");
		return YH_DENYSOFT;
	}
	memset(&b, 0, sizeof(b));
	b.have_net = dnsq_net_init(&b.net, (int)c->dns_timeout_ms) == 0;
	b.per = c->dns_timeout_ms;
	b.deadline = ma_now_ms() + c->budget_ms;
	memset(&q, 0, sizeof(q));
	q.lookup = ma_lookup;
	q.ctx = &b;
	q.timeout_ms = (int)c->dns_timeout_ms;
	if (!b.have_net)
		yh_log(YH_LOG_WARN, "mailauth: no DNS server: results are "
		    "temperror");
	if (c->spf || c->verify_dkim || c->dmarc) {
		ma_check(c, s, &q, msg, len, r);
		ma_authres(c, s, r, &a);
		if (yh_header_add(s, "Authentication-Results",
		    authres_value(&a)) == -1)
			yh_log(YH_LOG_ERR, "mailauth: Authentication-Results "
			    "not added");
		ma_notes(s, r);
		ma_log(s, r, removed);
	}
	if (c->enforce && r->dmarc_done && r->from_bad) {
		yh_reply(s, 550, "5.7.1", "message refused: %s (exactly one "
		    "From address is required, RFC 5322 3.6)", r->dmarc.reason);
		rc = YH_DENY;
	} else if (c->enforce && r->dmarc_done &&
	    r->dmarc.result == DMARC_FAIL &&
	    r->dmarc.policy == DMARC_P_REJECT) {
		yh_reply(s, 550, "5.7.1", "DMARC policy of %s rejects this "
		    "message: neither SPF nor DKIM aligned with the From domain",
		    esc(e, sizeof(e), r->dmarc.domain));
		rc = YH_DENY;
	} else if (c->enforce && r->dmarc_done &&
	    r->dmarc.result == DMARC_FAIL &&
	    r->dmarc.policy == DMARC_P_QUARANTINE)
		yh_header_add(s, "X-Yubin-DMARC", "quarantine");
	free(r);
	free(msg);
	free(stripped);
	return rc;
}

static const struct yh_hooks ma_hooks = {
	YH_HOOKS_INIT,
	.data = ma_data,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "mailauth",
	.keys = ma_keys,
	.init = ma_init,
	.commit = ma_commit,
	.discard = ma_discard,
	.fini = ma_fini,
	.hooks = &ma_hooks,
};
