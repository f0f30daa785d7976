/*
 * relay.h - what the files of the relay plugin share: limits, the rule and
 * configuration types, and the functions one file calls in the other
 * (prefix relay_).  Private to plugins/relay/.
 */
#ifndef RELAY_H
#define RELAY_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yubin/hook.h>

#include "../lib/plugutil.h"

#define EFFECT_FILE_MAX		(1024 * 1024)	/* E-Post files are a few KiB */
#define EFFECT_LINE_MAX		1024		/* bytes of one line, without its end */
#define EFFECT_RULES_MAX	10000		/* a filter appending IPs stays far below */
#define RELAY_ADDR_MAX		512		/* an RFC 5321 path is at most 256 */
#define RELAY_LIST_MAX		(1024 * 1024)	/* a config.def list as text */
#define RELAY_ESC_MAX		(4 * RELAY_ADDR_MAX + 1)	/* escaped for a log */
#define RELAY_WHY_MAX		(EFFECT_LINE_MAX * 4 + 256)

enum pat {
	PAT_IP4,		/* v4 & v4mask == v4net */
	PAT_IP6,		/* first v6bits bits equal */
	PAT_DOMAIN,
	PAT_ADDRESS,
	PAT_BLANK,
	PAT_NULL,
	PAT_NUMBER,
	PAT_NODOMAIN,
	PAT_HOST,
};

enum kind {
	K_TRUE,
	K_FALSE,
	K_DEFAULT,
	K_NORELAY,
	K_NORELAY0,
	K_NORELAY2,
	K_ONLY,
};

/* the tables, by the effect they have on one recipient */
enum table {
	T_I,			/* default; the client/sender matching "only" */
	T_II,			/* true */
	T_IV,			/* norelay */
	T_IV0,			/* norelay,0 */
	T_IV2,			/* norelay,2 */
	T_V,			/* not matching an "only" rule */
	T_COUNT
};

enum cell {
	C_NO,
	C_YES,
	C_AUTH,			/* yes for an authenticated or POP-before-SMTP client */
};

enum sclass {
	S_ACCT,			/* local domain, existing account or alias */
	S_NOACCT,		/* local domain, no such account */
	S_EXT,			/* anything else, <> included */
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct rule {
	unsigned	 line;
	enum pat	 pat;
	enum kind	 kind;
	uint32_t	 v4net, v4mask;	/* PAT_IP4, host order */
	struct pu_net	 v6;		/* PAT_IP6 */
	char		*text;		/* PAT_DOMAIN, PAT_ADDRESS: lower case */
};

struct strlist {
	char		**v;
	size_t		 n;
};

/* one generation: effect.dat and the server keys, read-only after init */
struct relay_conf {
	char		*path;		/* as yh_config_path gave it */
	const char	*name;		/* its last component, for log lines */
	struct rule	*rules;
	size_t		 nrules, cap;
	int		 only;		/* the last rule is "only" */
	int		 open_relay;
	int		 pop_before;
	long long	 pop_ttl;	/* seconds */
	int		 spoa;		/* send_permits_only_smtp_auth */
	int		 trust;		/* sender_trust 1..3 */
	int		 trust_local;	/* [plugin relay] trust_local_sender */
	struct pu_net	*permits;
	size_t		 npermits;
	struct strlist	 reject_domain;
	struct strlist	 reject_addr;
};

/* relay.c */
const char	*relay_esc(char *out, size_t size, const char *s);
char	*relay_lower_dup(const char *s, size_t len);
uint32_t	relay_ip4_host(const struct pu_ip *ip);

/* effect.c */
void	relay_conf_free(struct relay_conf **cp);
unsigned	relay_effect_load(struct relay_conf *c, int required);

#endif
