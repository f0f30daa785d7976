/*
 * t/fuzz/addr_fuzz.c - libFuzzer target for the SMTP path parser
 * (addr_parse: MAIL FROM / RCPT TO arguments with their ESMTP parameters,
 * quoted local parts, address literals, source routes, SMTPUTF8) and
 * addr_domain_of.  The first byte picks MAIL or RCPT and whether UTF-8 is
 * allowed; the rest is the argument as the command dispatcher hands it
 * over (NUL-terminated, no NUL inside).  A result that breaks the
 * documented bounds aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_path p;
	struct addr_error e;
	char *arg;
	int r;

	if (size < 1 || memchr(data + 1, '\0', size - 1) != NULL)
		return 0;
	arg = malloc(size);
	if (arg == NULL)
		abort();
	memcpy(arg, data + 1, size - 1);
	arg[size - 1] = '\0';
	memset(&e, 0, sizeof(e));
	r = addr_parse(arg, data[0] & 1 ? ADDR_RCPT : ADDR_MAIL, (data[0] >> 1) & 1,
	    &p, &e);
	if (r == 0) {
		if (strlen(p.addr) > ADDR_PATH_MAX ||
		    strlen(p.local) > ADDR_LOCAL_MAX ||
		    strlen(p.domain) > ADDR_DOMAIN_MAX ||
		    strlen(p.auth) > ADDR_AUTH_MAX ||
		    strlen(p.envid) > DSN_ENVID_MAX ||
		    strlen(p.orcpt) >= DSN_ORCPT_SIZE ||
		    !dsn_printable(p.envid) || !dsn_printable(p.orcpt) ||
		    p.ret < DSN_RET_NONE || p.ret > DSN_RET_HDRS ||
		    p.notify < 0 || p.notify > DSN_NOTIFY_ALL)
			abort();
		(void)addr_domain_of(p.addr);
	} else if (e.code < 400 || e.code > 599 || e.enh == NULL ||
	    memchr(e.text, '\0', sizeof(e.text)) == NULL)
		abort();
	(void)addr_domain_of(arg);
	free(arg);
	return 0;
}
