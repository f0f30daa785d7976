/*
 * rbl.c - URI blocklist lookups of the maildat plugin.
 *
 * The host names of the http/https URLs (and bare "www." names) in the
 * decoded text are reduced to their registered domain and looked up as
 * "DOMAIN.ZONE" A records: an answer in 127.0.0.0/8 means listed.  All
 * queries of a message go out at once over UDP and are collected with one
 * deadline; an answer is cached in the plugin's LMDB space for its TTL.  A
 * timeout or any DNS failure means "not listed" (logged): a lookup never
 * holds a message past the deadline.
 */
#include "maildat.h"

/* second-level labels under which registrations happen one level down */
static const char *const md_sld[] = {
	"co.jp", "ne.jp", "or.jp", "ac.jp", "ad.jp", "ed.jp", "go.jp", "gr.jp",
	"lg.jp", "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au",
	"org.au", "com.cn", "net.cn", "com.tw", "co.kr", "com.br", "co.nz",
	"co.in", "com.hk", "com.sg",
};

/* md_regdom - the registered domain of HOST (lower case) into OUT. */
static int
md_regdom(const char *host, char *out, size_t size)
{
	const char *p = host + strlen(host), *dots[3] = { NULL, NULL, NULL };
	size_t i, nd = 0;

	while (p > host && nd < 3) {
		p--;
		if (*p == '.')
			dots[nd++] = p;
	}
	if (nd == 0)
		return -1;	/* a single label is no domain */
	p = nd >= 2 ? dots[1] + 1 : host;
	for (i = 0; i < sizeof(md_sld) / sizeof(md_sld[0]); i++)
		if (strcmp(p, md_sld[i]) == 0) {
			if (nd < 2)
				return -1;
			p = nd >= 3 ? dots[2] + 1 : host;
			break;
		}
	if (strlen(p) + 1 > size)
		return -1;
	memcpy(out, p, strlen(p) + 1);
	return 0;
}

/*
 * md_uri_domains - the distinct registered domains of the URLs in TEXT,
 * at most MD_RBL_DOMAINS, into DOMS.  The count.
 */
size_t
md_uri_domains(const char *text, size_t len, char doms[][MD_DOMAIN_MAX + 1])
{
	const char *p = text, *e = text + len, *h;
	char host[MD_DOMAIN_MAX + 1], reg[MD_DOMAIN_MAX + 1];
	size_t n = 0, hl, i;

	while (p < e && n < MD_RBL_DOMAINS) {
		h = NULL;
		if (e - p >= 7 && strncasecmp(p, "http://", 7) == 0)
			h = p + 7;
		else if (e - p >= 8 && strncasecmp(p, "https://", 8) == 0)
			h = p + 8;
		else if (e - p >= 4 && strncasecmp(p, "www.", 4) == 0 &&
		    (p == text || !isalnum((unsigned char)p[-1]) ) &&
		    (p == text || (p[-1] != '/' && p[-1] != '.')))
			h = p;
		if (h == NULL) {
			p++;
			continue;
		}
		/* skip user info "user@" */
		for (hl = 0; h + hl < e && (isalnum((unsigned char)h[hl]) ||
		    h[hl] == '.' || h[hl] == '-'); hl++)
			;
		if (h + hl < e && h[hl] == '@') {
			h += hl + 1;
			for (hl = 0; h + hl < e && (isalnum((unsigned char)h[hl]) ||
			    h[hl] == '.' || h[hl] == '-'); hl++)
				;
		}
		p = h + hl;
		while (hl > 0 && h[hl - 1] == '.')
			hl--;
		if (hl == 0 || hl > MD_DOMAIN_MAX)
			continue;
		memcpy(host, h, hl);
		host[hl] = '\0';
		md_lower(host, hl);
		if (md_regdom(host, reg, sizeof(reg)) == -1)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(doms[i], reg) == 0)
				break;
		if (i == n)
			memcpy(doms[n++], reg, strlen(reg) + 1);
	}
	return n;
}

struct md_q {
	char	 name[MD_DOMAIN_MAX + MD_ZONE_MAX + 2];
	const char *dom;
	int	 fd;
	uint16_t id;
	int	 done;
	int	 listed;
};

/* md_answer - parse the DNS answer MSG (N): 1 listed, 0 not, with the TTL
 * of the answer (or of the negative answer) in *TTL_R; -1 unusable, -2 an
 * answer to another query. */
static int
md_answer(const unsigned char *msg, int n, uint16_t id, long long *ttl_r)
{
	ns_msg h;
	ns_rr rr;
	int i, cnt, rc;
	const unsigned char *a;

	if (ns_initparse(msg, n, &h) == -1)
		return -1;
	if (ns_msg_id(h) != id)
		return -2;
	rc = ns_msg_getflag(h, ns_f_rcode);
	*ttl_r = MD_RBL_NEG_TTL;
	if (rc == ns_r_nxdomain)
		return 0;
	if (rc != ns_r_noerror)
		return -1;
	cnt = ns_msg_count(h, ns_s_an);
	for (i = 0; i < cnt; i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) == -1)
			return -1;
		if (ns_rr_type(rr) != ns_t_a || ns_rr_rdlen(rr) != 4)
			continue;
		a = ns_rr_rdata(rr);
		*ttl_r = ns_rr_ttl(rr);
		if (a[0] == 127)
			return 1;
	}
	return 0;
}

/*
 * md_rbl_check - 1 when one of the NDOMS domains is listed in ZONE, 0 when
 * none is (or DNS failed), the listed domain in HIT.  One deadline of
 * TIMEOUT_MS for all queries.
 */
int
md_rbl_check(const char *zone, char doms[][MD_DOMAIN_MAX + 1], size_t ndoms,
    int timeout_ms, char *hit, size_t hitsize)
{
	struct md_q q[MD_RBL_DOMAINS];
	struct pollfd pf[MD_RBL_DOMAINS];
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned char pkt[512], ans[4096];
	char key[MD_DOMAIN_MAX + MD_ZONE_MAX + 8], v[4];
	struct timespec now, end;
	size_t i, nq = 0, vlen, pending;
	long long ttl, left;
	int n, r, listed = 0;

	for (i = 0; i < ndoms; i++) {
		snprintf(key, sizeof(key), "rbl/%s/%s", zone, doms[i]);
		vlen = sizeof(v);
		if (yh_store_get(key, v, &vlen) == 1 && vlen == 1) {
			if (v[0] == '1') {
				snprintf(hit, hitsize, "%s", doms[i]);
				return 1;
			}
			continue;
		}
		memset(&q[nq], 0, sizeof(q[nq]));
		if (snprintf(q[nq].name, sizeof(q[nq].name), "%s.%s", doms[i],
		    zone) >= (int)sizeof(q[nq].name))
			continue;
		q[nq].dom = doms[i];
		q[nq].fd = -1;
		nq++;
	}
	if (nq == 0)
		return 0;
	if (yh_dns_server(&ss, &sl) == -1) {
		yh_log(YH_LOG_WARN, "rbl zone=%s: no usable resolver; not listed",
		    zone);
		return 0;
	}
	pending = 0;
	for (i = 0; i < nq; i++) {
		n = res_mkquery(ns_o_query, q[i].name, ns_c_in, ns_t_a, NULL, 0,
		    NULL, pkt, sizeof(pkt));
		if (n <= 0)
			continue;
		q[i].id = (uint16_t)((pkt[0] << 8) | pkt[1]);
		q[i].fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (q[i].fd == -1)
			continue;
		if (connect(q[i].fd, (struct sockaddr *)&ss, sl) == -1 ||
		    send(q[i].fd, pkt, (size_t)n, 0) != n) {
			close(q[i].fd);
			q[i].fd = -1;
			continue;
		}
		pending++;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (pending > 0 && !listed) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long long)(end.tv_sec - now.tv_sec) * 1000 +
		    (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			break;
		for (i = 0; i < nq; i++) {
			pf[i].fd = q[i].done ? -1 : q[i].fd;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		r = poll(pf, nq, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < nq; i++) {
			if (pf[i].fd == -1 || !(pf[i].revents & (POLLIN | POLLERR)))
				continue;
			n = (int)recv(q[i].fd, ans, sizeof(ans), 0);
			if (n <= 0) {
				if (n == -1 && errno == EAGAIN)
					continue;
				q[i].done = 1;
				pending--;
				yh_log(YH_LOG_WARN, "rbl lookup %s failed; not "
				    "listed", q[i].name);
				continue;
			}
			r = md_answer(ans, n, q[i].id, &ttl);
			if (r == -2)
				continue;	/* not ours: keep waiting */
			q[i].done = 1;
			pending--;
			if (r == -1) {
				yh_log(YH_LOG_WARN, "rbl lookup %s: bad answer; "
				    "not listed", q[i].name);
				continue;
			}
			snprintf(key, sizeof(key), "rbl/%s/%s", zone, q[i].dom);
			(void)yh_store_put(key, r ? "1" : "0", 1, ttl > 0 ? ttl : 1);
			if (r == 1) {
				listed = 1;
				snprintf(hit, hitsize, "%s", q[i].dom);
			}
		}
	}
	for (i = 0; i < nq; i++) {
		if (!q[i].done && q[i].fd != -1 && !listed)
			yh_log(YH_LOG_WARN, "rbl lookup %s timed out; not listed",
			    q[i].name);
		if (q[i].fd != -1)
			close(q[i].fd);
	}
	return listed;
}
