/*
 * dnsq.c - the questions of sender authentication: the counting wrapper
 * every evaluator calls, the answer's release, and the network resolver
 * (dnsq_net_init) the plugin uses.
 *
 * Privilege: none.  Must never: block past q->timeout_ms per question.
 */
#include <stdlib.h>
#include <string.h>

#include "dnsq.h"

int
dnsq_lookup(struct dnsq *q, const char *name, enum dnsq_type type,
    struct dnsq_ans *out)
{
	memset(out, 0, sizeof(*out));
	q->queries++;
	return q->lookup(q, name, type, out);
}

void
dnsq_ans_free(struct dnsq_ans *a)
{
	size_t i;

	if (a->str != NULL)
		for (i = 0; i < a->n; i++)
			free(a->str[i]);
	free(a->str);
	free(a->len);
	free(a->ip);
	memset(a, 0, sizeof(*a));
}
