/*
 * t/fuzz/greylist_fuzz.c - libFuzzer target for the greylist plugin's
 * pure part (plugins/greylist/glkey.c, compiled in): the input is split at
 * its first two newlines into a client address (or IP/N), an envelope
 * sender and a recipient.  Checked on every input: an address parses to a
 * network key that fits; the triplet key is made, never longer than
 * GL_KEY_MAX, the same twice and the same for the upper-case triplet; the
 * network parser and matcher agree with themselves; a record read back
 * from the whole input writes back to the same text; the recipient
 * helpers run on any bytes.  No yh_* call is made.
 */
#include "../../plugins/lib/pu_net.c"
#include "../../plugins/greylist/glkey.c"

#include <ctype.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* part - the next newline-ended piece of *P (up to END) as a NUL-ended
 * copy in OUT (SIZE bytes, cut: the parsers see what fits). */
static void
part(const char **p, const char *end, char *out, size_t size)
{
	size_t n = 0;

	while (*p < end && **p != '\n') {
		if (n + 1 < size && **p != '\0')
			out[n++] = **p;
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	out[n] = '\0';
}

static void
upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char ip_s[128], from[1024], to[1024], net[GL_NET_MAX] = "192.0.2.0/24";
	char k1[GL_KEY_MAX + 128], k2[GL_KEY_MAX + 128], out[GL_REC_MAX];
	char *list[] = { from, "@example.org" };
	struct pu_ip ip;
	struct pu_net cidr;
	struct gl_rec r, next;
	struct gl_times t = { 300, 172800, 3024000 };
	long long wait;

	part(&p, end, ip_s, sizeof(ip_s));
	part(&p, end, from, sizeof(from));
	part(&p, end, to, sizeof(to));

	if (pu_ip_parse(ip_s, &ip) == 0) {
		if (gl_net_key(&ip, net, sizeof(net)) != 0)
			abort();
		if (pu_net_parse(ip_s, &cidr) != 0 || !pu_net_match(&cidr, &ip))
			abort();	/* an address is its own /32 or /128 */
	}
	if (pu_net_parse(ip_s, &cidr) == 0 && !pu_net_match(&cidr, &cidr.ip))
		abort();

	if (gl_triplet_key(net, from, to, k1, sizeof(k1)) != 0 ||
	    strlen(k1) > GL_KEY_MAX ||
	    gl_triplet_key(net, from, to, k2, sizeof(k2)) != 0 ||
	    strcmp(k1, k2) != 0)
		abort();
	upper(from);
	upper(to);
	if (gl_triplet_key(net, from, to, k2, sizeof(k2)) != 0 ||
	    strcmp(k1, k2) != 0)
		abort();	/* the key is case-blind */

	(void)gl_role_rcpt(to);
	(void)gl_domain_ok(to);
	(void)gl_rcpt_listed(list, 2, to);

	if (gl_rec_parse((const char *)data, size, &r) == 0) {
		if (gl_rec_format(&r, out, sizeof(out)) != (int)size ||
		    memcmp(out, data, size) != 0)
			abort();
		(void)gl_decide(&r, r.time + (long long)(size * 37), &t, &next,
		    &wait);
		if (wait < 0 || wait > t.delay)
			abort();
	}
	return 0;
}
