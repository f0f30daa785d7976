/*
 * pu_net.c - IPv4 and IPv6 addresses and networks for the shipped plugins
 * (plugutil.h): client lists such as smtp.address_permits_relay.  libc
 * only, no yh_* call, so a unit test links it alone.  Must never read past
 * the text it is given or accept a prefix longer than the family's.
 */
#include <arpa/inet.h>
#include <string.h>

#include "plugutil.h"

int
pu_ip_parse(const char *s, struct pu_ip *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(ip, 0, sizeof(*ip));
	if (s == NULL)
		return -1;
	if (inet_pton(AF_INET, s, ip->a) == 1) {
		ip->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->a) == 1) {
		ip->family = 6;
		if (memcmp(ip->a, mapped, sizeof(mapped)) == 0) {
			memmove(ip->a, ip->a + 12, 4);
			memset(ip->a + 4, 0, 12);
			ip->family = 4;
		}
		return 0;
	}
	memset(ip, 0, sizeof(*ip));
	return -1;
}

/* prefix_parse - the decimal prefix length S (whole string), 0..MAX, or
 * -1. */
static int
prefix_parse(const char *s, unsigned max)
{
	unsigned v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	return v <= max ? (int)v : -1;
}

int
pu_net_parse(const char *s, struct pu_net *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	int bits;

	memset(net, 0, sizeof(*net));
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (pu_ip_parse(buf, &net->ip) == -1)
		return -1;
	/* a mapped address with an IPv6 prefix length means neither plainly */
	if (strchr(buf, ':') != NULL && net->ip.family == 4 && slash != NULL)
		return -1;
	net->bits = net->ip.family == 4 ? 32 : 128;
	if (slash != NULL) {
		if ((bits = prefix_parse(slash + 1, net->bits)) == -1)
			return -1;
		net->bits = (unsigned)bits;
	}
	return 0;
}

int
pu_net_match(const struct pu_net *net, const struct pu_ip *ip)
{
	unsigned full = net->bits / 8, rest = net->bits % 8;
	unsigned char m;

	if (net->ip.family != ip->family)
		return 0;
	if (memcmp(net->ip.a, ip->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	m = (unsigned char)(0xff << (8 - rest));
	return (net->ip.a[full] & m) == (ip->a[full] & m);
}
