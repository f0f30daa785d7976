/*
 * t/fuzz/dns_fuzz.c - libFuzzer target for the DNS reply parsers (the
 * name server is outside input): the MX answer (dns_mx_answer: records,
 * compressed names, RFC 7505 null MX, the sort) and the A/AAAA answer
 * (dns_addrs_answer).  Every input is read as one reply by both.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_mx mx[DNS_MX_MAX];
	struct sockaddr_storage ss[DNS_ADDR_MAX];
	unsigned char *ans;
	size_t n, i;
	int r;

	/* a copy of exactly SIZE bytes: ASan sees any read past the reply */
	ans = malloc(size ? size : 1);
	if (ans == NULL)
		abort();
	memcpy(ans, data, size);
	r = dns_mx_answer(ans, size, mx, DNS_MX_MAX, &n);
	if ((r == DNS_OK) != (n > 0) || n > DNS_MX_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (strlen(mx[i].name) > DNS_NAME_MAX || mx[i].pref < 0 ||
		    mx[i].pref > 65535 || (i > 0 && mx[i].pref < mx[i - 1].pref))
			abort();
	n = 0;
	(void)dns_addrs_answer(ans, size, 25, ss, DNS_ADDR_MAX, &n);
	if (n > DNS_ADDR_MAX)
		abort();
	free(ans);
	return 0;
}
