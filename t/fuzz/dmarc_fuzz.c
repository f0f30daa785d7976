/*
 * t/fuzz/dmarc_fuzz.c - libFuzzer target for mailauth's DMARC and
 * Authentication-Results readers: the first byte picks the reader, the
 * rest is its input: 0 a DMARC record (dmarc_record_check, and dmarc_check
 * with the input as the only TXT answer), 1 a From: value
 * (dmarc_from_domain), 2 an Authentication-Results value (authres_claims)
 * and the builder with the input as a property value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/mailauth/authres.h"
#include "../../plugins/mailauth/dmarc.h"

static const uint8_t *ans;
static size_t ans_len;

static int
one_txt(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *a)
{
	(void)q;
	(void)name;
	if (type != DNSQ_TXT)
		return DNSQ_NODATA;
	if ((a->str = calloc(1, sizeof(char *))) == NULL ||
	    (a->len = calloc(1, sizeof(size_t))) == NULL ||
	    (a->str[0] = malloc(ans_len + 1)) == NULL)
		abort();
	memcpy(a->str[0], ans, ans_len);
	a->str[0][ans_len] = '\0';
	a->len[0] = ans_len;
	a->n = 1;
	return DNSQ_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[128], dom[DMARC_DOMAIN_MAX + 1], *s;
	struct dmarc_outcome out;
	struct dmarc_input in;
	struct authres a;
	struct authres_prop p;
	struct dnsq q;

	if (size < 1)
		return 0;
	if ((s = malloc(size)) == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		(void)dmarc_record_check(s, size - 1, why, sizeof(why));
		memset(&q, 0, sizeof(q));
		q.lookup = one_txt;
		ans = data + 1;
		ans_len = size - 1;
		memset(&in, 0, sizeof(in));
		in.from_domain = "mail.example.co.uk";
		in.sample = (unsigned)size % 100;
		dmarc_check(&q, &in, &out);
		break;
	case 1:
		if (dmarc_from_domain(s, dom, sizeof(dom), why, sizeof(why)) == 0 &&
		    strlen(dom) > DMARC_DOMAIN_MAX)
			abort();
		break;
	case 2:
		(void)authres_claims(s, size - 1, "mx.example.org");
		(void)authres_init(&a, "mx.example.org");
		p.name = "smtp.mailfrom";
		p.value = s;
		(void)authres_add(&a, "spf", "pass", s, &p, 1);
		if (strlen(authres_value(&a)) > AUTHRES_MAX)
			abort();
		break;
	}
	free(s);
	return 0;
}
