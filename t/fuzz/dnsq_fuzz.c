/*
 * t/fuzz/dnsq_fuzz.c - libFuzzer target for the plugins' DNS answer parser
 * (dnsq_answer: the name server is outside input).  Every input is read
 * as the reply to "x.test" (id 0x1234) for each type the evaluators ask;
 * an answer must keep the limits dnsq.h promises (its TTL, or the
 * negative-caching time of a SOA, included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../plugins/lib/dnsq.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	yh_dns_server(struct sockaddr_storage *ss, socklen_t *len);

int
yh_dns_server(struct sockaddr_storage *ss, socklen_t *len)
{
	(void)ss;
	(void)len;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dnsq_type types[] = {
		DNSQ_A, DNSQ_AAAA, DNSQ_MX, DNSQ_PTR, DNSQ_TXT
	};
	char next[DNSQ_NAME_MAX + 1];
	struct dnsq_ans a;
	unsigned char *p;
	unsigned hops;
	size_t i, j;
	int r;

	/* a copy of exactly SIZE bytes: ASan sees any read past it */
	if ((p = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(p, data, size);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		hops = 0;
		r = dnsq_answer(p, size, 0x1234, "x.test", types[i], &a, next,
		    &hops);
		if ((r == DNSQ_OK) != (a.n > 0) || a.n > DNSQ_RR_MAX ||
		    a.ttl > DNSQ_TTL_MAX ||
		    (r != DNSQ_PERM && hops > DNSQ_CNAME_MAX) ||
		    (r == DNSQ_CNAMED && !dnsq_name_ok(next)))
			abort();
		for (j = 0; j < a.n; j++)
			if ((types[i] == DNSQ_TXT && a.len[j] > DNSQ_TXT_MAX) ||
			    (a.str != NULL && types[i] != DNSQ_TXT &&
			    strlen(a.str[j]) > DNSQ_NAME_MAX))
				abort();
		dnsq_ans_free(&a);
	}
	free(p);
	return 0;
}
