/*
 * t/fuzz/spf_fuzz.c - libFuzzer target for SPF (plugins/mailauth/spf.c):
 * the input is the zone.  Its first line is the TXT record of "x.test"
 * and goes through spf_record_check too; each further line "NAME TYPE
 * VALUE" (TYPE one of A AAAA MX PTR TXT TEMP) is a record a stub struct
 * dnsq answers with.  spf_check then runs for a client chosen by the
 * input's length against the sender "u@x.test"; it must end, within the
 * question limits, with a result.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../../plugins/mailauth/spf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	yh_dns_server(struct sockaddr_storage *ss, socklen_t *len);

int
yh_dns_server(struct sockaddr_storage *ss, socklen_t *len)
{
	(void)ss;
	(void)len;
	return -1;
}

#define ZONE_MAX	64

struct zrec {
	const char	*name;
	size_t		 namelen;
	int		 type;		/* -1: TEMP */
	const char	*val;
	size_t		 vlen;
};

static struct zrec zone[ZONE_MAX];
static size_t nzone;

static int
add(struct dnsq_ans *a, const struct zrec *z, enum dnsq_type type)
{
	char buf[DNSQ_NAME_MAX + 1];
	size_t n = a->n;

	if (type == DNSQ_A || type == DNSQ_AAAA) {
		if (z->vlen >= sizeof(buf))
			return 0;
		memcpy(buf, z->val, z->vlen);
		buf[z->vlen] = '\0';
		a->ip = realloc(a->ip, (n + 1) * sizeof(*a->ip));
		a->ip[n].family = type == DNSQ_A ? AF_INET : AF_INET6;
		if (inet_pton(a->ip[n].family, buf, a->ip[n].addr) != 1)
			return 0;
	} else {
		if (type != DNSQ_TXT && z->vlen > DNSQ_NAME_MAX)
			return 0;
		a->str = realloc(a->str, (n + 1) * sizeof(*a->str));
		a->len = realloc(a->len, (n + 1) * sizeof(*a->len));
		if ((a->str[n] = malloc(z->vlen + 1)) == NULL)
			abort();
		memcpy(a->str[n], z->val, z->vlen);
		a->str[n][z->vlen] = '\0';
		a->len[n] = z->vlen;
	}
	a->n++;
	return 0;
}

static int
lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *a)
{
	size_t i, nl = strlen(name);
	int seen = 0;

	(void)q;
	for (i = 0; i < nzone; i++) {
		if (zone[i].namelen != nl ||
		    strncasecmp(zone[i].name, name, nl) != 0)
			continue;
		seen = 1;
		if (zone[i].type == -1) {
			dnsq_ans_free(a);
			return DNSQ_TEMP;
		}
		if (zone[i].type == (int)type)
			add(a, &zone[i], type);
	}
	if (a->n > 0)
		return DNSQ_OK;
	dnsq_ans_free(a);	/* empty unless DNSQ_OK (dnsq.h) */
	return seen ? DNSQ_NODATA : DNSQ_NXDOMAIN;
}

static int
type_of(const char *s, size_t n)
{
	static const struct { const char *n; int t; } t[] = {
		{ "A", DNSQ_A }, { "AAAA", DNSQ_AAAA }, { "MX", DNSQ_MX },
		{ "PTR", DNSQ_PTR }, { "TXT", DNSQ_TXT }, { "TEMP", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strlen(t[i].n) == n && strncmp(s, t[i].n, n) == 0)
			return t[i].t;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *nl, *sp1, *sp2;
	struct spf_request r;
	struct spf_outcome out;
	struct dnsq q;
	char why[128], *copy;

	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	s = copy;
	end = s + size;
	nzone = 0;
	nl = memchr(s, '\n', size);
	zone[nzone++] = (struct zrec){ "x.test", 6, DNSQ_TXT, s,
	    nl ? (size_t)(nl - s) : size };
	(void)spf_record_check(s, zone[0].vlen, why, sizeof(why));
	while (nl != NULL && nzone < ZONE_MAX) {
		s = nl + 1;
		nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		sp1 = memchr(s, ' ', (size_t)(le - s));
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
		if (sp2 == NULL)
			continue;
		zone[nzone++] = (struct zrec){ s, (size_t)(sp1 - s),
		    type_of(sp1 + 1, (size_t)(sp2 - sp1 - 1)), sp2 + 1,
		    (size_t)(le - sp2 - 1) };
	}
	memset(&r, 0, sizeof(r));
	if (size % 2) {
		r.ip.family = AF_INET;
		memcpy(r.ip.addr, "\xc0\x00\x02\x01", 4);
	} else {
		r.ip.family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", r.ip.addr);
	}
	r.sender = size % 3 ? "u@x.test" : "";
	r.helo = "x.test";
	r.receiver = "mx.test";
	r.now = 1;
	memset(&q, 0, sizeof(q));
	q.lookup = lookup;
	q.timeout_ms = 1;
	spf_check(&q, &r, &out);
	/* §4.6.4: 10 terms, each with at most 10 names and one lookup
	 * more, plus the records, the exp= and %{p} questions */
	if (out.result > SPF_PERMERROR || q.queries > 400)
		abort();
	free(copy);
	return 0;
}
