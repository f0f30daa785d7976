/*
 * ctl_check.c - "yubinctl check": the seed's connection and address check
 * tools (F148).
 *
 *   check smtp HOST[:PORT] [--starttls] [--ca FILE] [--verify]
 *        [--timeout SECONDS] [--helo NAME]
 *   check address ADDR [--probe] [--timeout SECONDS]
 *   check state
 *
 * check smtp connects (port 25 by default), shows the greeting, the EHLO
 * reply and its extensions; with --starttls it starts TLS and shows the
 * protocol, the cipher, the certificate's subject, issuer and expiry and
 * whether it verifies (chain and name) against the system CAs or --ca
 * FILE; then QUIT.  Exit 0 when the server greeted with 2xx and, when
 * asked, TLS worked (with --verify: and the certificate verified); 2
 * otherwise.
 *
 * check address resolves a local address the way the SMTP server does at
 * RCPT (addr_resolve_trace: aliases, accounts, lists, postmaster and
 * abuse, the catch-all) and shows the steps, the account and its
 * forward.def; a remote address gets its MX hosts (server.resolver), and
 * with --probe the first MX that answers (queue.remote_port) is asked
 * MAIL FROM:<> and RCPT TO:<ADDR>, never DATA.  Exit 0 the address exists
 * or was accepted, 2 not.
 *
 * check state connects to the shared state of [server] state (pgstate.h)
 * and checks its schema: exit 0 when it is reachable with a schema this
 * build reads, or when there is none (LMDB only); 2 otherwise, with why.
 *
 * Every wait is bounded by --timeout (10 s by default).  Server replies are
 * shown escaped (str_escape), never raw.  Runs as the invoking user; reads
 * the store only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "buf.h"
#include "conn.h"
#include "ctl.h"
#include "dns.h"
#include "paths.h"
#include "pgstate.h"
#include "smtpc.h"
#include "tls.h"
#include "util.h"

#define CHK_TIMEOUT	10	/* seconds, every wait (--timeout) */
#define CHK_TIMEOUT_MAX	3600
#define CHK_HOST_MAX	255
#define CHK_EXT_MAX	4096	/* the extension list shown */
#define CHK_FWD_MAX	(64 * 1024)	/* a forward.def read */

struct chk {
	struct conn	 c;
	int		 open;
	int		 secs;
	int		 ehlo;		/* collect the EHLO keywords */
	unsigned	 nlines;
	struct buf	 ext;
};

/* chk_line - smtpc_reply_read's callback: show one reply line. */
static void
chk_line(void *ctx, const char *line)
{
	struct chk *k = ctx;

	printf("S: %s\n", line);
	if (k->ehlo && k->nlines > 0 && strlen(line) > 4) {
		if (k->ext.len > 0)
			(void)buf_puts(&k->ext, ", ");
		(void)buf_puts(&k->ext, line + 4);
	}
	k->nlines++;
}

/* chk_read - one reply, shown.  The code, or 0 (R->text says why). */
static int
chk_read(struct chk *k, struct smtpc_reply *r, struct smtpc_caps *caps)
{
	k->nlines = 0;
	return smtpc_reply_read(&k->c, k->secs, r, caps, chk_line, k);
}

/* chk_cmd - send CMD (shown) and read the reply. */
static int
chk_cmd(struct chk *k, const char *cmd, struct smtpc_reply *r,
    struct smtpc_caps *caps)
{
	printf("C: %s\n", cmd);
	fflush(stdout);
	if (conn_printf(&k->c, "%s\r\n", cmd) == -1 || conn_flush(&k->c) == -1) {
		r->code = 0;
		(void)str_copy(r->text, sizeof(r->text), "write error");
		return 0;
	}
	return chk_read(k, r, caps);
}

/* chk_close - QUIT (shown) when the session is open, then close. */
static void
chk_close(struct chk *k)
{
	struct smtpc_reply r;

	if (k->open) {
		(void)chk_cmd(k, "QUIT", &r, NULL);
		conn_close(&k->c);
		k->open = 0;
	}
	buf_free(&k->ext);
}

/* chk_connect - connect K to HOST:PORT (each address in turn).  0, or -1
 * with the reason in WHY (SIZE). */
static int
chk_connect(struct chk *k, const struct config *cfg, const char *host,
    int port, char *why, size_t size)
{
	struct sockaddr_storage addrs[DNS_ADDR_MAX];
	char ip[INET6_ADDRSTRLEN];
	size_t n = 0, i;
	int st, fd;

	st = dns_addrs(config_str(cfg, "server.resolver"), host, port, addrs,
	    DNS_ADDR_MAX, &n);
	if (st != DNS_OK || n == 0) {
		snprintf(why, size, "%s: %s", host, st == DNS_TEMPFAIL ?
		    "address lookup failed" : "no address");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (addrs[i].ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&addrs[i])->sin_addr,
			    ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addrs[i])->sin6_addr,
			    ip, sizeof(ip));
		fd = conn_connect(&addrs[i], k->secs * 1000);
		if (fd == -1) {
			snprintf(why, size, "%s port %d: connect: %s", ip, port,
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
			continue;
		}
		conn_init(&k->c, fd);
		k->c.timeout_ms = k->secs * 1000;
		k->open = 1;
		printf("connected to %s port %d\n", ip, port);
		return 0;
	}
	return -1;
}

/* chk_hello - the greeting and EHLO (HELO when EHLO is refused).  The
 * greeting's code (0: none) in *GREET_R; 0, or -1 with *R saying why. */
static int
chk_hello(struct chk *k, const char *helo, struct smtpc_caps *caps,
    struct smtpc_reply *r, int *greet_r)
{
	char cmd[CHK_HOST_MAX + 8];

	*greet_r = chk_read(k, r, NULL);
	if (*greet_r < 200 || *greet_r > 299)
		return -1;
	snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	memset(caps, 0, sizeof(*caps));
	buf_reset(&k->ext);
	k->ehlo = 1;
	if (chk_cmd(k, cmd, r, caps) == 250) {
		k->ehlo = 0;
		caps->esmtp = 1;
		printf("extensions: %s\n", k->ext.len ? k->ext.data : "(none)");
		return 0;
	}
	k->ehlo = 0;
	if (r->code == 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "HELO %s", helo);
	memset(caps, 0, sizeof(*caps));
	return chk_cmd(k, cmd, r, NULL) == 250 ? 0 : -1;
}

/* parse_timeout - "--timeout N": 1..CHK_TIMEOUT_MAX seconds. */
static int
parse_timeout(const char *s, int *secs_r)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || (*end != '\0' && strcmp(end, "s") != 0) ||
	    v < 1 || v > CHK_TIMEOUT_MAX)
		return -1;
	*secs_r = (int)v;
	return 0;
}

/* name_ok - 1 when S is a usable host name or address: printable, no
 * blanks, 1..CHK_HOST_MAX bytes. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > CHK_HOST_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * parse_target - HOST, HOST:PORT, [V6], [V6]:PORT or a bare IPv6 address
 * into HOST (SIZE) and *PORT_R (25 when not given).  0, or -1.
 */
static int
parse_target(const char *t, char *host, size_t size, int *port_r)
{
	const char *colon, *h = t, *p = NULL;
	size_t hl;
	char *end;
	long v;

	*port_r = 25;
	if (t[0] == '[') {
		const char *rb = strchr(t, ']');

		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			return -1;
		h = t + 1;
		hl = (size_t)(rb - h);
		if (rb[1] == ':')
			p = rb + 2;
	} else if ((colon = strchr(t, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - t);
		p = colon + 1;
	} else
		hl = strlen(t);
	if (hl == 0 || hl >= size)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!name_ok(host))
		return -1;
	if (p != NULL) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || *end != '\0' || v < 1 || v > 65535 ||
		    p[0] == '+' || p[0] == '-')
			return -1;
		*port_r = (int)v;
	}
	return 0;
}

/* helo_name - smtp.hostname, else the host name, else "localhost". */
static void
helo_name(const struct config *cfg, char *out, size_t size)
{
	const char *h = config_str(cfg, "smtp.hostname");

	if (*h != '\0' && str_copy(out, size, h) == 0)
		return;
	if (gethostname(out, size) == 0 && out[0] != '\0' && name_ok(out))
		return;
	(void)str_copy(out, size, "localhost");
}

/* is_ip - 1 when HOST is an IPv4 or IPv6 literal. */
static int
is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* print_name - "LABEL: NAME" in one line (RFC 2253 form). */
static void
print_name(const char *label, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b == NULL)
		return;
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
	n = BIO_get_mem_data(b, &p);
	printf("%s: %.*s\n", label, (int)n, p);
	BIO_free(b);
}

/*
 * chk_tls_report - show the TLS session of K and whether HOST's
 * certificate verifies.  1 verified, 0 not.
 */
static int
chk_tls_report(struct chk *k, const char *host, const char *ca)
{
	X509 *cert = SSL_get1_peer_certificate(k->c.ssl);
	BIO *b;
	char *p;
	long n, vr;
	int named;

	printf("tls: %s\n", conn_tls_info(&k->c));
	if (cert == NULL) {
		printf("certificate: none\n");
		return 0;
	}
	print_name("certificate subject", X509_get_subject_name(cert));
	print_name("certificate issuer", X509_get_issuer_name(cert));
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		ASN1_TIME_print(b, X509_get0_notAfter(cert));
		n = BIO_get_mem_data(b, &p);
		printf("certificate expires: %.*s\n", (int)n, p);
		BIO_free(b);
	}
	vr = SSL_get_verify_result(k->c.ssl);
	named = is_ip(host) ? X509_check_ip_asc(cert, host, 0) == 1 :
	    X509_check_host(cert, host, 0, 0, NULL) == 1;
	X509_free(cert);
	if (vr != X509_V_OK)
		printf("certificate verify: failed against %s: %s\n",
		    ca ? ca : "the system CAs", X509_verify_cert_error_string(vr));
	else if (!named)
		printf("certificate verify: failed: the certificate is not "
		    "for %s\n", host);
	else
		printf("certificate verify: ok against %s\n",
		    ca ? ca : "the system CAs");
	return vr == X509_V_OK && named;
}

/* chk_starttls - STARTTLS on K, the TLS handshake, the report and EHLO
 * again.  0, or -1 with WHY (SIZE); *VERIFIED_R set. */
static int
chk_starttls(struct chk *k, const char *host, const char *ca,
    const char *helo, const struct smtpc_caps *caps, int *verified_r,
    char *why, size_t size)
{
	struct smtpc_reply r;
	struct smtpc_caps caps2;
	SSL_CTX *ctx;
	const char *tw;
	char cmd[CHK_HOST_MAX + 8];
	int rc = -1;

	*verified_r = 0;
	if (!caps->starttls) {
		snprintf(why, size, "the server does not offer STARTTLS");
		return -1;
	}
	if (chk_cmd(k, "STARTTLS", &r, NULL) != 220) {
		snprintf(why, size, "STARTTLS refused: %s", r.text);
		return -1;
	}
	if ((ctx = tls_client_ctx(0)) == NULL) {
		snprintf(why, size, "cannot make a TLS context");
		return -1;
	}
	if (ca != NULL ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(why, size, "%s: cannot load CA certificates",
		    ca ? ca : "system CA store");
		goto out;
	}
	conn_discard_input(&k->c);
	if (conn_tls_connect(&k->c, ctx, is_ip(host) ? NULL : host, &tw) == -1) {
		snprintf(why, size, "%s", tw);
		k->open = 0;		/* no QUIT in clear text after this */
		conn_close(&k->c);
		goto out;
	}
	*verified_r = chk_tls_report(k, host, ca);
	snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	if (chk_cmd(k, cmd, &r, &caps2) != 250) {
		snprintf(why, size, "EHLO after STARTTLS: %s", r.text);
		goto out;
	}
	rc = 0;
out:
	SSL_CTX_free(ctx);
	return rc;
}

/* check_smtp - "check smtp HOST[:PORT] ...": connect, greet, EHLO,
 * STARTTLS when asked, QUIT.  The exit code. */
static int
check_smtp(struct ctl *c, int argc, char **argv)
{
	struct chk k;
	struct smtpc_reply r;
	struct smtpc_caps caps;
	char host[CHK_HOST_MAX + 1], helo[CHK_HOST_MAX + 1], why[SMTPC_TEXT_MAX + 128];
	const char *target = NULL, *ca = NULL;
	int i, port, starttls = 0, verify = 0, greet, verified = 0, rc;

	memset(&k, 0, sizeof(k));
	k.secs = CHK_TIMEOUT;
	helo_name(c->cfg, helo, sizeof(helo));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--starttls") == 0)
			starttls = 1;
		else if (strcmp(argv[i], "--verify") == 0)
			verify = starttls = 1;
		else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			if (parse_timeout(argv[++i], &k.secs) == -1)
				return ctl_error(CTL_USAGE, "check smtp: --timeout "
				    "takes 1 to %d seconds", CHK_TIMEOUT_MAX);
		} else if (strcmp(argv[i], "--helo") == 0 && i + 1 < argc) {
			if (!name_ok(argv[++i]))
				return ctl_error(CTL_USAGE, "check smtp: bad --helo name");
			(void)str_copy(helo, sizeof(helo), argv[i]);
		} else if (argv[i][0] == '-')
			return ctl_error(CTL_USAGE, "check smtp: unknown option %s "
			    "(or its value is missing)", argv[i]);
		else if (target == NULL)
			target = argv[i];
		else
			return ctl_error(CTL_USAGE, "check smtp: one HOST[:PORT] only");
	}
	if (target == NULL)
		return ctl_error(CTL_USAGE, "usage: check smtp HOST[:PORT] "
		    "[--starttls] [--ca FILE] [--verify] [--timeout SECONDS] "
		    "[--helo NAME]");
	if (parse_target(target, host, sizeof(host), &port) == -1)
		return ctl_error(CTL_USAGE, "check smtp: bad HOST[:PORT] '%.*s'",
		    CHK_HOST_MAX, target);
	if (ca != NULL && access(ca, R_OK) == -1)
		return ctl_error(CTL_USAGE, "check smtp: --ca %s: %s", ca,
		    strerror(errno));
	smtpc_timeout_cap(k.secs);
	buf_init(&k.ext, CHK_EXT_MAX);
	if (chk_connect(&k, c->cfg, host, port, why, sizeof(why)) == -1) {
		buf_free(&k.ext);
		return ctl_error(CTL_RUNTIME, "check smtp %s: %s", target, why);
	}
	if (chk_hello(&k, helo, &caps, &r, &greet) == -1) {
		if (greet < 200 || greet > 299)
			snprintf(why, sizeof(why), "%s: %s", greet == 0 ?
			    "no greeting" : "greeting refused", r.text);
		else
			snprintf(why, sizeof(why), "EHLO and HELO refused: %s",
			    r.text);
		chk_close(&k);
		return ctl_error(CTL_RUNTIME, "check smtp %s: %s", target, why);
	}
	rc = CTL_OK;
	if (starttls && chk_starttls(&k, host, ca, helo, &caps, &verified, why,
	    sizeof(why)) == -1) {
		chk_close(&k);
		return ctl_error(CTL_RUNTIME, "check smtp %s: %s", target, why);
	}
	chk_close(&k);
	if (verify && !verified)
		rc = ctl_error(CTL_RUNTIME, "check smtp %s: the certificate does "
		    "not verify", target);
	else
		printf("result: ok\n");
	return rc;
}

/* ---- check address ------------------------------------------------------ */

/* show_step - addr_resolve_trace's callback. */
static void
show_step(void *ctx, const char *step, const char *from, const char *to)
{
	(void)ctx;
	if (strcmp(step, "account") == 0)
		printf("account: %s (<%s>)\n", to, from);
	else if (strcmp(step, "list") == 0)
		printf("list: <%s> is an address of the mailing list %s\n", from, to);
	else if (strcmp(step, "postmaster") == 0)
		printf("postmaster: <%s> goes to the account %s\n", from, to);
	else
		printf("%s: <%s> -> <%s>\n", step, from, to);
}

/* show_forward - the account's forward.def destination, when it has one. */
static void
show_forward(const struct config *cfg, const char *account)
{
	char *dir = paths_account_dir(cfg, account), *path, *data = NULL, *line;
	char *save = NULL, esc[1024];
	size_t len;

	path = xasprintf("%s/forward.def", dir);
	if (file_read(path, CHK_FWD_MAX, &data, &len) == 0) {
		for (line = strtok_r(data, "\r\n", &save); line != NULL;
		    line = strtok_r(NULL, "\r\n", &save)) {
			line += strspn(line, " \t");
			if (strncasecmp(line, "param2", 6) != 0)
				continue;
			line += 6;
			line += strspn(line, " \t");
			if (*line != '=')
				continue;
			line++;
			line += strspn(line, " \t");
			printf("forward: %s (%s)\n", str_escape(esc, sizeof(esc),
			    line, strlen(line)), path);
		}
		free(data);
	}
	free(path);
	free(dir);
}

/* probe_rcpt - ask the first MX of MX (N) that answers about ADDR.  CTL_OK
 * when RCPT was accepted, else the exit code after saying why. */
static int
probe_rcpt(const struct config *cfg, const struct dns_mx *mx, size_t n,
    const char *addr, int secs)
{
	struct chk k;
	struct smtpc_reply r;
	struct smtpc_caps caps;
	char helo[CHK_HOST_MAX + 1], why[SMTPC_TEXT_MAX + 128] = "no MX host", cmd[ADDR_PATH_MAX + 16];
	size_t i;
	int port = (int)config_int(cfg, "queue.remote_port"), greet, code;

	memset(&k, 0, sizeof(k));
	k.secs = secs;
	smtpc_timeout_cap(secs);
	buf_init(&k.ext, CHK_EXT_MAX);
	helo_name(cfg, helo, sizeof(helo));
	for (i = 0; i < n; i++)
		if (chk_connect(&k, cfg, mx[i].name, port, why, sizeof(why)) == 0)
			break;
	if (i == n) {
		buf_free(&k.ext);
		return ctl_error(CTL_RUNTIME, "check address %s: no MX host "
		    "answers: %s", addr, why);
	}
	if (chk_hello(&k, helo, &caps, &r, &greet) == -1) {
		chk_close(&k);
		return ctl_error(CTL_RUNTIME, "check address %s: %s: %s", addr,
		    mx[i].name, r.text);
	}
	if (chk_cmd(&k, "MAIL FROM:<>", &r, NULL) != 250) {
		chk_close(&k);
		return ctl_error(CTL_RUNTIME, "check address %s: MAIL FROM:<> "
		    "refused: %s", addr, r.text);
	}
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", addr);
	code = chk_cmd(&k, cmd, &r, NULL);
	(void)chk_cmd(&k, "RSET", &r, NULL);
	chk_close(&k);
	if (code < 200 || code > 299)
		return ctl_error(CTL_RUNTIME, "check address %s: refused by %s",
		    addr, mx[i].name);
	printf("result: accepted by %s\n", mx[i].name);
	return CTL_OK;
}

/* check_remote - the MX hosts of DOMAIN, and the probe when asked. */
static int
check_remote(const struct config *cfg, const char *addr, const char *domain,
    int probe, int secs)
{
	struct dns_mx mx[DNS_MX_MAX];
	size_t n = 0, i;
	int st;

	printf("local: no\n");
	if (domain[0] == '[') {		/* an address literal: no MX */
		size_t l = strlen(domain);
		const char *h = domain + 1;

		if (strncasecmp(h, "IPv6:", 5) == 0)
			h += 5;
		if (l < 3 || (size_t)(domain + l - 1 - h) > DNS_NAME_MAX)
			return ctl_error(CTL_USAGE, "check address %s: bad "
			    "address literal", addr);
		memcpy(mx[0].name, h, (size_t)(domain + l - 1 - h));
		mx[0].name[domain + l - 1 - h] = '\0';
		mx[0].pref = 0;
		n = 1;
		printf("mx: none (address literal %s)\n", mx[0].name);
	} else {
		st = dns_mx(config_str(cfg, "server.resolver"), domain, mx,
		    DNS_MX_MAX, &n);
		switch (st) {
		case DNS_OK:
			for (i = 0; i < n; i++)
				printf("mx: %d %s\n", mx[i].pref, mx[i].name);
			break;
		case DNS_NODATA:	/* RFC 5321 §5.1: the implicit MX */
			if (str_copy(mx[0].name, sizeof(mx[0].name), domain) == -1)
				return ctl_error(CTL_USAGE, "check address %s: "
				    "domain too long", addr);
			mx[0].pref = 0;
			n = 1;
			printf("mx: none; the domain's own address (implicit MX)\n");
			break;
		case DNS_NXDOMAIN:
			return ctl_error(CTL_RUNTIME, "check address %s: no such "
			    "domain %s", addr, domain);
		case DNS_NULLMX:
			return ctl_error(CTL_RUNTIME, "check address %s: %s takes "
			    "no mail (null MX)", addr, domain);
		default:
			return ctl_error(CTL_RUNTIME, "check address %s: MX lookup "
			    "for %s failed", addr, domain);
		}
	}
	if (!probe) {
		printf("result: remote; --probe asks the MX host\n");
		return CTL_OK;
	}
	return probe_rcpt(cfg, mx, n, addr, secs);
}

/* check_address - "check address ADDR [--probe]": the RCPT resolution of
 * a local address, the MX hosts (and the probe) of a remote one.  The
 * exit code. */
static int
check_address(struct ctl *c, int argc, char **argv)
{
	struct addr_path p;
	struct addr_error e;
	struct addr_rcpt to;
	struct store *st;
	char arg[ADDR_PATH_MAX + 8], esc[4 * ADDR_PATH_MAX + 8], *dir;
	const char *addr = NULL;
	int i, probe = 0, secs = CHK_TIMEOUT;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--probe") == 0)
			probe = 1;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			if (parse_timeout(argv[++i], &secs) == -1)
				return ctl_error(CTL_USAGE, "check address: --timeout "
				    "takes 1 to %d seconds", CHK_TIMEOUT_MAX);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return ctl_error(CTL_USAGE, "check address: unknown option "
			    "%s (or its value is missing)", argv[i]);
		else if (addr == NULL)
			addr = argv[i];
		else
			return ctl_error(CTL_USAGE, "check address: one ADDR only");
	}
	if (addr == NULL)
		return ctl_error(CTL_USAGE, "usage: check address ADDR [--probe] "
		    "[--timeout SECONDS]");
	str_escape(esc, sizeof(esc), addr, strlen(addr));
	if (snprintf(arg, sizeof(arg), "TO:<%s>", addr) >= (int)sizeof(arg))
		return ctl_error(CTL_USAGE, "check address %.64s...: address too "
		    "long", esc);
	if (addr_parse(arg, ADDR_RCPT, 1, &p, &e) == -1)
		return ctl_error(CTL_USAGE, "check address %s: %s", esc, e.text);
	printf("address: <%s>\n", p.addr);
	if (p.domain[0] != '\0' && !addr_domain_is_local(c->cfg, p.domain))
		return check_remote(c->cfg, p.addr, p.domain, probe, secs);
	printf("local: yes\n");
	if ((st = ctl_store(c)) == NULL)
		return CTL_RUNTIME;
	switch (addr_resolve_trace(c->cfg, st, p.addr, &to, show_step, NULL)) {
	case ADDR_DEST_LOCAL:
		if (strcmp(to.addr, p.addr) != 0)
			printf("recipient: <%s>\n", to.addr);
		dir = paths_account_dir(c->cfg, to.account);
		printf("mailbox: %s/Maildir\n", dir);
		free(dir);
		show_forward(c->cfg, to.account);
		printf("result: exists\n");
		return CTL_OK;
	case ADDR_DEST_REMOTE:
		printf("result: exists; sent on to <%s>\n", to.addr);
		return CTL_OK;
	case ADDR_DEST_NONE:
		return ctl_error(CTL_RUNTIME, "check address %s: no such user here",
		    p.addr);
	case ADDR_DEST_FOREIGN:		/* not reached: the domain is local */
		return check_remote(c->cfg, p.addr, p.domain, probe, secs);
	default:
		return ctl_error(CTL_RUNTIME, "check address %s: account lookup "
		    "failed", p.addr);
	}
}

/* ctl_cmd_check - "check smtp ..." or "check address ...". */
/* check_state - "check state". */
static int
check_state(struct ctl *c, int argc, char **argv)
{
	const char *uri = config_str(c->cfg, "server.state");
	struct pgstate *p;
	char why[300];
	int r;

	(void)argv;
	if (argc != 0)
		return ctl_error(CTL_USAGE, "usage: check state");
	if (*uri == '\0') {
		printf("state: LMDB only (no [server] state)\n");
		return 0;
	}
	p = pgstate_new(uri);
	r = pgstate_ready(p, why, sizeof(why));
	pgstate_free(&p);
	if (r != 0)
		return ctl_error(CTL_RUNTIME, "state: %s", why);
	printf("state: PostgreSQL reachable, schema version %d\n",
	    PGSTATE_SCHEMA);
	return 0;
}

int
ctl_cmd_check(struct ctl *c, int argc, char **argv)
{
	/* a server that hangs up under TLS must not kill us in SSL_write */
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 1 && strcmp(argv[0], "smtp") == 0)
		return check_smtp(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "address") == 0)
		return check_address(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "state") == 0)
		return check_state(c, argc - 1, argv + 1);
	return ctl_error(CTL_USAGE, "usage: check smtp HOST[:PORT] [--starttls] "
	    "| check address ADDR [--probe] | check state");
}
