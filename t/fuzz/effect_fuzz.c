/*
 * t/fuzz/effect_fuzz.c - libFuzzer target for the relay plugin's
 * effect.dat parser (plugins/relay/effect.c: effect_parse, rule_parse,
 * the IPv4 patterns and domain/local checks), then the rules it kept
 * matched against a few clients and senders (effect_decide,
 * effect_connect, table_of), and the From: mailbox reader (from_mailbox)
 * and network parser (pu_net_parse) on the input itself; plugins/relay/*.c
 * are compiled in without the plugin symbol; the yh_* calls resolve to the
 * daemon's own (daemon/plugin.c), yh_error logging with no plugin loaded.
 */
#define RELAY_NO_EXPORT 1
#include "../../plugins/lib/pu_net.c"
#include "../../plugins/relay/relay.c"
#include "../../plugins/relay/effect.c"

#include <stdint.h>

static const char *const ips[] = { "192.0.2.1", "10.1.2.3", "::1",
    "2001:db8::25", "127.0.0.1" };
static const char *const senders[] = { "", "alice@example.org",
    "bob@[192.0.2.1]", "Postmaster", "x@sub.example.org" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_conf *c;
	struct pu_ip ip;
	struct pu_net net;
	char *text, box[RELAY_ADDR_MAX + 1];
	size_t i, j;
	long r;

	c = calloc(1, sizeof(*c));
	text = malloc(size + 1);
	if (c == NULL || text == NULL)
		abort();
	c->path = strdup("effect.dat");
	c->name = c->path;
	(void)effect_parse(c, (const char *)data, size);
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		if (pu_ip_parse(ips[i], &ip) == -1)
			abort();
		r = effect_connect(c, &ip);
		if (r >= (long)c->nrules)
			abort();
		for (j = 0; j < sizeof(senders) / sizeof(senders[0]); j++) {
			r = effect_decide(c, &ip, senders[j]);
			if (r >= (long)c->nrules)
				abort();
			(void)table_of(c, r);
		}
	}
	relay_conf_free(&c);

	memcpy(text, data, size);
	text[size] = '\0';
	if (from_mailbox(text, box, sizeof(box)) == 0 &&
	    strnlen(box, sizeof(box)) == sizeof(box))
		abort();
	(void)pu_net_parse(text, &net);
	(void)pu_ip_parse(text, &ip);
	free(text);
	return 0;
}
