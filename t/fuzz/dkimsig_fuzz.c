/*
 * t/fuzz/dkimsig_fuzz.c - libFuzzer target for DKIM's untrusted input:
 * the signature tag list (dkim_sig_check), the key record
 * (dkim_keyrec_check), and dkim_verify of a message made from the input
 * with a DNS answered from the input.
 *
 *   make build-fuzz/dkimsig_fuzz && build-fuzz/dkimsig_fuzz -max_total_time=60
 *
 * The input is HEAD [NUL TXT]: HEAD is checked as a signature value, put
 * after "DKIM-Signature:" on top of a small message and verified, and
 * verified as a whole message itself; every key question is answered
 * with TXT (or, without a NUL, the RFC 8463 RSA key; a name holding
 * "temp" fails for now).  Nothing here touches the network.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/mailauth/dkim.h"

static const char rsa_rec[] =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5"
    "V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfz"
    "wQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip"
    "3G+2kryOTIKT+l/K4w3QIDAQAB";

static const char *fz_txt;
static size_t fz_txtlen;

static int
fz_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *out)
{
	(void)q;
	if (type != DNSQ_TXT)
		return DNSQ_NXDOMAIN;
	if (strstr(name, "temp") != NULL)
		return DNSQ_TEMP;
	out->str = calloc(1, sizeof(char *));
	out->len = calloc(1, sizeof(size_t));
	out->str[0] = malloc(fz_txtlen + 1);
	memcpy(out->str[0], fz_txt, fz_txtlen);
	out->str[0][fz_txtlen] = '\0';
	out->len[0] = fz_txtlen;
	out->n = 1;
	return DNSQ_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pre[] = "DKIM-Signature:";
	static const char post[] = "\nFrom: a@example.org\nSubject: s\n\nbody\n";
	struct dnsq q = { fz_lookup, NULL, 1000, 0 };
	struct dkim_verdict out[DKIM_SIG_MAX];
	const char *nul = memchr(data, '\0', size);
	size_t hlen = nul ? (size_t)(nul - (const char *)data) : size, n, i;
	char why[128], *msg;

	fz_txt = nul ? nul + 1 : rsa_rec;
	fz_txtlen = nul ? size - hlen - 1 : strlen(rsa_rec);
	dkim_sig_check((const char *)data, hlen, why, sizeof(why));
	dkim_keyrec_check(fz_txt, fz_txtlen, why, sizeof(why));
	if ((msg = malloc(sizeof(pre) + hlen + sizeof(post))) == NULL)
		return 0;
	memcpy(msg, pre, sizeof(pre) - 1);
	memcpy(msg + sizeof(pre) - 1, data, hlen);
	memcpy(msg + sizeof(pre) - 1 + hlen, post, sizeof(post) - 1);
	dkim_verify(&q, msg, sizeof(pre) - 1 + hlen + sizeof(post) - 1,
	    1528637909, out, DKIM_SIG_MAX, &n);
	for (i = 0; i < n; i++)
		if (dkim_result_name(out[i].result) == NULL ||
		    memchr(out[i].reason, '\0', sizeof(out[i].reason)) == NULL)
			abort();
	free(msg);
	/* the head as a whole message: a copy, so reads past it are caught */
	if ((msg = malloc(hlen ? hlen : 1)) == NULL)
		return 0;
	memcpy(msg, data, hlen);
	dkim_verify(&q, msg, hlen, 0, out, DKIM_SIG_MAX, &n);
	free(msg);
	return 0;
}
