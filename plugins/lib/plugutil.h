/*
 * plugutil - small string and file helpers the shipped plugins share.  A
 * static library (build/plugins/libplugutil.a) linked into each plugin's
 * shared object; not part of the plugin ABI, and yubind exports none of it.
 */
#ifndef YUBIN_PLUGUTIL_H
#define YUBIN_PLUGUTIL_H

#include <stddef.h>

struct yh_config;

/* pu_trim - S without leading blanks (space, tab) and trailing blanks and
 * CR; trailing ones are cut in place.  Returns a pointer into S. */
char	*pu_trim(char *s);
/* pu_scopy - SRC into DST (SIZE bytes); 0, or -1 with DST "" when it does
 * not fit (a value is refused, never cut). */
int	pu_scopy(char *dst, size_t size, const char *src);
/* pu_yes - V (NULL: no) is a yes the way yubin.conf spells one: 1, true,
 * yes or on, any case.  For the switches of the seeds' own files (IMS.CTL
 * "Enable=Yes"); [plugin NAME] keys are read with yh_config_bool. */
int	pu_yes(const char *v);
/* pu_read_user - the user file PATH, at most MAX bytes, read with
 * yh_read_safe into *OUT (malloc'd, the caller frees), its length in
 * *LEN_R when not NULL.  1 read, 0 missing, -1 refused or unreadable (a
 * warning naming PATH and why is logged). */
int	pu_read_user(const char *path, size_t max, char **out, size_t *len_r);
/* pu_key_where - "FILE:LINE" (or "-D") where the [plugin NAME] key KEY of
 * CFG is set (the last setting, as with the getters), else UNSET, into OUT
 * (SIZE bytes, cut to fit: a message's location).  Returns OUT. */
const char *pu_key_where(const struct yh_config *cfg, const char *key,
	    const char *unset, char *out, size_t size);

/* An IPv4 or IPv6 address, and a network (an address and a prefix length),
 * as smtp.address_permits_relay and plugin lists of clients give them. */
struct pu_ip {
	int		 family;	/* 4 or 6 */
	unsigned char	 a[16];		/* network order; IPv4 in a[0..3] */
};

struct pu_net {
	struct pu_ip	 ip;
	unsigned	 bits;
};

/* pu_ip_parse - S (IPv4 or IPv6 text) into *IP; an IPv4-mapped IPv6
 * address becomes IPv4.  0, or -1 when S is neither. */
int	pu_ip_parse(const char *s, struct pu_ip *ip);
/* pu_net_parse - "IP" or "IP/N" into *NET (host bits are ignored).  0, or
 * -1: not an address, N not 0..32 (IPv4) or 0..128 (IPv6). */
int	pu_net_parse(const char *s, struct pu_net *net);
/* pu_net_match - 1 when IP lies inside NET, else 0. */
int	pu_net_match(const struct pu_net *net, const struct pu_ip *ip);
#endif
