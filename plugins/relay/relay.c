/*
 * relay - relay control: the effect.dat rule file (SEEDS.md §9.3), SMTP AUTH
 * and POP before SMTP as relay grants (§6, §8), address_permits_relay and
 * smtp.relay (§9.1), and the sender reject lists (§10.1).
 *
 * Runs in the master as root for init() (reads effect.dat and the [smtp]
 * keys into one read-only generation, switched only when all of it loaded),
 * and as the server user in SMTP workers (connect, mail, rcpt, data) and
 * POP3 workers (pop_auth).  Never writes effect.dat, never trusts a client
 * byte in a log line (everything logged is escaped), never keeps state of
 * its own across sessions except the POP-before-SMTP records in its store
 * namespace, which expire by themselves.
 *
 * [plugin relay]
 *   file = PATH   the rule file, relative to CONFDIR; default
 *                 CONFDIR/effect.dat, which may be missing (= no rules).
 *                 A file named here must exist.
 *   trust_local_sender = 0|1   (default 0) 1: the seed's literal Table I,
 *                 where an envelope sender that is a local account unlocks
 *                 relay by itself, unauthenticated.  Anyone can write that
 *                 address, so a warning is logged at every start and
 *                 reload.  See LOCAL SENDERS below.
 *
 * EFFECT.DAT.  One rule per line, "PATTERN" or "PATTERN ACTION" with exactly
 * one space between them; TAB, a second space, a space at the start or the
 * end of a line are errors.  Empty lines and comment lines (a '#' followed
 * by a space, or a lone '#') are skipped; '#' directly followed by a word is
 * a keyword pattern, so "#blank" can never be read as a comment.  CRLF line
 * ends are accepted.  Limits: lines of 1024 bytes, files of 1 MiB, 10000
 * rules.  Every bad line is reported as "PATH:LINE: message" and the file
 * is refused as a whole.
 *
 * Patterns, matched in file order; the first matching line decides:
 *   a.b.c.d         IPv4 client address; any octet may be '*' (any value),
 *                   in any position ("10.*.*.*", "1.*.3.*"); no partial '*'
 *   a.b.c.d/n       IPv4 CIDR block, n = 0..32 (host bits are ignored)
 *   x:y::z, x::/n   IPv6 client address, or CIDR block n = 0..128.  A client
 *                   seen as an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 *                   matches as the IPv4 address.
 *   example.jp      the envelope sender's domain, ASCII case-insensitive,
 *                   exactly (no subdomains; one trailing dot ignored)
 *   u@example.jp    the whole envelope sender, case-insensitive
 *   #<>             the null reverse-path MAIL FROM:<>
 *   #blank          "nothing given in MAIL FROM:".  The core refuses a
 *                   MAIL FROM: without angle brackets (501), so the only
 *                   empty sender a rule can see is the null path: #blank
 *                   matches exactly what #<> matches.
 *   #number         the sender's domain is an address literal ([192.0.2.1],
 *                   [IPv6:...]) or made of digits and dots (u@192.0.2.1)
 *   #nodomain       the sender has no "@domain" (the core refuses such
 *                   senders with 501 5.1.7 before any plugin sees them)
 *   #host           the sender's domain is a single label without a dot
 *                   (u@pc01), not an address literal; this is syntax only:
 *                   a local single-label domain matches too
 * Actions (none = true):
 *   true     Table II: every sender to local accounts and external
 *   false    Table III: refused.  An IP rule refuses at connect (554 5.7.1)
 *            when no sender rule stands before it in the file; otherwise,
 *            and for sender rules, MAIL is refused (550 5.7.1)
 *   default  Table I
 *   norelay  Table IV: external recipients refused; an internal sender
 *            with an account may relay when authenticated (the ※1 cell)
 *   norelay,0  Table IV, authentication does not unlock ※1
 *   norelay,2  Table IV for external recipients (refused, authenticated or
 *            not), and mail to existing local accounts is accepted from
 *            every sender, internal without account included, with no
 *            authentication demanded ("received uniformly")
 *   only     Table V; must be the last rule (a rule after it is an error).
 *            A client or sender matching it gets Table I; anything that
 *            matched no earlier line gets Table V's "not matching" table:
 *            only external senders to existing local accounts.
 * A domain or address rule without an action grants relay to anyone who
 * writes that sender (Table II), as the seed warns.
 *
 * Tables (rows: envelope sender; columns: recipient; "auth" = yes only for
 * an authenticated session or a POP-before-SMTP client):
 *                     I/only-match  II    IV      IV,0   IV,2   V-others
 *   acct  -> acct         yes       yes   yes     yes    yes    no
 *   acct  -> external     auth(*)   yes   auth    no     no     no
 *   noacct-> acct         no        yes   no      no     yes    no
 *   noacct-> external     auth      yes   no      no     no     no
 *   ext   -> acct         yes       yes   yes     yes    yes    yes
 *   ext   -> external     auth      yes   no      no     no     no
 * (*) "yes" in the seed, and with trust_local_sender = 1 (LOCAL SENDERS);
 * relay_cells[] keeps the seed's table, sender_cell() reads it.
 * A local recipient without account is always refused (550 5.1.1).  The
 * sender classes: "acct" = a local domain and an existing account or alias
 * (yh_resolve 1), "noacct" = a local domain without one, "ext" = any other
 * domain and the null sender.
 *
 * LOCAL SENDERS.  The envelope sender is whatever the client writes, so an
 * unauthenticated client never relays on the strength of the sender
 * address alone: Table I's (and the matching "only" client's) acct ->
 * external "yes" is read as "auth" unless trust_local_sender = 1 (the
 * seed's own note warns that a forged local sender relays).  A role
 * sender -- local part postmaster or abuse (quoted or not, any case), or
 * an address that resolves to the postmaster or abuse account -- never
 * unlocks relay, not even with trust_local_sender = 1 or through a
 * domain, address or #keyword rule of Table II: such a sender needs
 * authentication (or POP before SMTP) to reach an external recipient,
 * since every local domain has those two addresses.  Table II from a
 * matching client IP is the client's grant, not the sender's, and stays.
 *
 * BESIDE EFFECT.DAT (server keys, read at init):
 *   smtp.relay = 1      every recipient is accepted (open relay; the core
 *                       warns at start).  false rules and reject lists
 *                       still refuse.
 *   address_permits_relay   clients there skip effect.dat entirely and
 *                       every relay condition: all recipients accepted.
 *                       The reject lists still apply.
 *   sender_trust        when an "auth" cell is unlocked by SMTP AUTH:
 *                       1 any authenticated session; 2 the envelope sender
 *                       must match the auth id (the address equals it, or
 *                       its local part equals the id's and both domains
 *                       are local); 3 as 2, and the From: header's single
 *                       mailbox must match too, checked at the end of DATA
 *                       (550 5.7.1).  A session failing the check is
 *                       treated as unauthenticated for that cell.  Cells
 *                       that are "yes" need no trust check.
 *   pop_before_smtp = 1 a client IP with a POP3 login within
 *                       pop_befor_smtp_time_to_live unlocks "auth" cells
 *                       like an authenticated session (no sender check),
 *                       and, as SEEDS §8 says sending without it fails,
 *                       turns every internal-sender -> external "yes" into
 *                       "auth" (as send_permits_only_smtp_auth does).  A
 *                       TTL of 0 records nothing.
 *   send_permits_only_smtp_auth = 1   every internal-sender -> external
 *                       "yes" cell becomes "auth".
 *   reject_domain, reject_mailaddress   the server lists refuse at MAIL
 *                       (550 5.7.1); an account's config.def lists refuse
 *                       at RCPT for mail to that account (550 5.7.1).
 *                       reject_domain matches the sender's domain (an
 *                       address literal matches its IP written plainly);
 *                       reject_mailaddress the whole address, or the
 *                       domain for an entry without '@'; both
 *                       case-insensitive.  An account's list can add
 *                       refusals but cannot lift the server's, which act
 *                       at MAIL, before any recipient is known.
 *
 * REPLIES.  Refused connect 554 5.7.1; refused sender 550 5.7.1; refused
 * recipient 554 5.7.1 ("relay access denied" for external ones); store
 * errors 451 4.3.0.  Each refusal is logged with the rule that decided it
 * ("rule=effect.dat:3", "rule=default", "rule=smtp.reject_domain", ...).
 * Accepted local recipients are passed on (YH_DECLINED: the core accepts
 * existing accounts) so later plugins (quota) still see them; accepted
 * external ones get YH_OK.
 */
#include "relay.h"

/* [table][sender class][0 = local account, 1 = external recipient] */
static const unsigned char relay_cells[T_COUNT][3][2] = {
	[T_I] = { { C_YES, C_YES }, { C_NO, C_AUTH }, { C_YES, C_AUTH } },
	[T_II] = { { C_YES, C_YES }, { C_YES, C_YES }, { C_YES, C_YES } },
	[T_IV] = { { C_YES, C_AUTH }, { C_NO, C_NO }, { C_YES, C_NO } },
	[T_IV0] = { { C_YES, C_NO }, { C_NO, C_NO }, { C_YES, C_NO } },
	[T_IV2] = { { C_YES, C_NO }, { C_YES, C_NO }, { C_YES, C_NO } },
	[T_V] = { { C_NO, C_NO }, { C_NO, C_NO }, { C_YES, C_NO } },
};

static struct relay_conf *relay;	/* the generation in use */

/* ---- small helpers ------------------------------------------------------ */

/* relay_esc - S made printable for a log line or an error message: bytes outside
 * 0x20..0x7e become \xNN, a backslash \\.  Cut with "..." past SIZE. */
const char *
relay_esc(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	unsigned char c;

	for (; *s; s++) {
		c = (unsigned char)*s;
		if (n + 8 >= size) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		if (c < 0x20 || c > 0x7e || c == '\\') {
			out[n++] = '\\';
			if (c == '\\') {
				out[n++] = '\\';
				continue;
			}
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

char *
relay_lower_dup(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	size_t i;

	if (d == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	d[len] = '\0';
	return d;
}

/* dom_eq - domains A and B equal: ASCII case-insensitive, one trailing dot
 * ignored on either side. */
static int
dom_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

/* addr_eq - addresses equal: local parts case-insensitive, domains as
 * dom_eq. */
static int
addr_eq(const char *a, const char *b)
{
	const char *ea = strrchr(a, '@'), *eb = strrchr(b, '@');

	if (ea == NULL || eb == NULL)
		return ea == eb && strcasecmp(a, b) == 0;
	return ea - a == eb - b && strncasecmp(a, b, (size_t)(ea - a)) == 0 &&
	    dom_eq(ea + 1, eb + 1);
}

uint32_t
relay_ip4_host(const struct pu_ip *ip)
{
	return (uint32_t)ip->a[0] << 24 | (uint32_t)ip->a[1] << 16 |
	    (uint32_t)ip->a[2] << 8 | ip->a[3];
}


/* ---- server keys --------------------------------------------------------- */

static long long
server_num(const char *key, long long def)
{
	const char *v = yh_server_get(key);
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtoll(v, &end, 10);
	return *end == '\0' ? n : def;
}

/* list_split - the comma list TEXT into *L (copies).  0 or -1. */
static int
list_split(const char *text, struct strlist *l)
{
	const char *p = text, *q;
	char **nv;
	size_t len;

	while (text && *p) {
		q = strchr(p, ',');
		len = q ? (size_t)(q - p) : strlen(p);
		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0) {
			nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
			if (nv == NULL)
				return -1;
			l->v = nv;
			if ((l->v[l->n] = relay_lower_dup(p, len)) == NULL)
				return -1;
			l->n++;
		}
		p = q ? q + 1 : p + len;
	}
	return 0;
}

/* settings_load - the [smtp] keys into C.  Returns the number of errors. */
static unsigned
settings_load(struct relay_conf *c)
{
	struct strlist ips = { NULL, 0 };
	const char *v;
	unsigned errors = 0;
	size_t i;

	c->open_relay = server_num("smtp.relay", 0) == 1;
	c->pop_before = server_num("smtp.pop_before_smtp", 0) == 1;
	c->pop_ttl = server_num("smtp.pop_befor_smtp_time_to_live", 1800);
	c->spoa = server_num("smtp.send_permits_only_smtp_auth", 0) == 1;
	c->trust = (int)server_num("smtp.sender_trust", 1);
	if (c->trust < 1 || c->trust > 3)
		c->trust = 1;
	if (list_split(yh_server_get("smtp.reject_domain"),
	    &c->reject_domain) == -1 ||
	    list_split(yh_server_get("smtp.reject_mailaddress"),
	    &c->reject_addr) == -1 ||
	    list_split(yh_server_get("smtp.address_permits_relay"), &ips) == -1) {
		yh_error("relay: out of memory");
		errors++;
	}
	if (ips.n > 0 && (c->permits = calloc(ips.n, sizeof(*c->permits))) == NULL) {
		yh_error("relay: out of memory");
		errors++;
	}
	for (i = 0; i < ips.n; i++) {
		if (c->permits == NULL)
			break;
		v = ips.v[i];
		if (pu_net_parse(v, &c->permits[c->npermits]) == -1) {
			char e[RELAY_ESC_MAX];

			yh_error("smtp.address_permits_relay: bad address '%s'",
			    relay_esc(e, sizeof(e), v));
			errors++;
		} else
			c->npermits++;
	}
	for (i = 0; i < ips.n; i++)
		free(ips.v[i]);
	free(ips.v);
	return errors;
}

/* ---- init ---------------------------------------------------------------- */

static const struct yh_key relay_keys[] = {
	{ "file",		YH_KEY_PATH, "effect.dat", 0, 0 },
	{ "trust_local_sender",	YH_KEY_BOOL, "0", 0, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

/* relay_init - the next generation: effect.dat and the server's relay
 * keys read aside; the running one is untouched. */
static int
relay_init(const struct yh_config *cfg, void **gen)
{
	struct relay_conf *c;
	const char *path = yh_config_path(cfg, "file");
	const char *slash;
	unsigned errors;

	if (path == NULL || (c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		yh_error("relay: out of memory");
		return -1;
	}
	slash = strrchr(c->path, '/');
	c->name = slash ? slash + 1 : c->path;
	errors = relay_effect_load(c, yh_config_get(cfg, "file") != NULL);
	errors += settings_load(c);
	c->trust_local = yh_config_bool(cfg, "trust_local_sender");
	if (errors > 0) {
		relay_conf_free(&c);
		return -1;
	}
	*gen = c;
	return 0;
}

static void
relay_commit(void *gen)
{
	relay_conf_free(&relay);
	relay = gen;
	if (relay->trust_local)
		yh_log(YH_LOG_WARN, "relay: trust_local_sender = 1: an "
		    "unauthenticated client that writes a local account as its "
		    "envelope sender may relay to any domain, and anyone can "
		    "forge that address (postmaster and abuse still cannot)");
}

static void
relay_discard(void *gen)
{
	struct relay_conf *c = gen;

	relay_conf_free(&c);
}

static void
relay_fini(void)
{
	relay_conf_free(&relay);
}

/* ---- matching ------------------------------------------------------------ */

/* literal_core - the address of an address literal "[x]" / "[IPv6:x]" (or
 * bare "IPv6:x" when BARE) copied to OUT; 0, or -1 when S is none. */
static int
literal_core(const char *s, int bare, char *out, size_t size)
{
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	} else if (!bare)
		return -1;
	if (len >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		len -= 5;
	}
	if (len == 0 || len >= size)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* domain_numeric - D is an address literal or digits and dots only. */
static int
domain_numeric(const char *d)
{
	if (d[0] == '[')
		return 1;
	return d[0] != '\0' && strspn(d, "0123456789.") == strlen(d) &&
	    strpbrk(d, "0123456789") != NULL;
}

/* domain_single - D is a single label: no inner dot, not a literal. */
static int
domain_single(const char *d)
{
	const char *dot = strchr(d, '.');

	return d[0] != '\0' && d[0] != '[' && (dot == NULL || dot[1] == '\0') &&
	    dot != d;
}

/* rule_is_ip - the rule looks at the client address. */
static int
rule_is_ip(const struct rule *r)
{
	return r->pat == PAT_IP4 || r->pat == PAT_IP6;
}

/* rule_match - R matches client IP (may be NULL: unknown) / SENDER (""
 * for <>). */
static int
rule_match(const struct rule *r, const struct pu_ip *ip, const char *sender)
{
	const char *at = strrchr(sender, '@');
	const char *dom = at ? at + 1 : "";

	switch (r->pat) {
	case PAT_IP4:
		return ip && ip->family == 4 && (relay_ip4_host(ip) & r->v4mask) == r->v4net;
	case PAT_IP6:
		return ip && pu_net_match(&r->v6, ip);
	case PAT_DOMAIN:
		return at != NULL && dom_eq(r->text, dom);
	case PAT_ADDRESS:
		return at != NULL && addr_eq(r->text, sender);
	case PAT_BLANK:
	case PAT_NULL:
		return sender[0] == '\0';
	case PAT_NUMBER:
		return at != NULL && domain_numeric(dom);
	case PAT_NODOMAIN:
		return sender[0] != '\0' && at == NULL;
	case PAT_HOST:
		return at != NULL && domain_single(dom);
	}
	return 0;
}

/*
 * effect_decide - the rule of C deciding for client IP and SENDER: its
 * index, or -1 when none matched (Table I, or Table V's "not matching"
 * when the last rule is "only").
 */
static long
effect_decide(const struct relay_conf *c, const struct pu_ip *ip,
    const char *sender)
{
	size_t i;

	for (i = 0; i < c->nrules; i++)
		if (rule_match(&c->rules[i], ip, sender))
			return (long)i;
	return -1;
}

/*
 * effect_connect - at connect only the client address is known: the index
 * of an IP rule that decides whatever the sender (no sender rule before
 * it), or -1.
 */
static long
effect_connect(const struct relay_conf *c, const struct pu_ip *ip)
{
	size_t i;

	for (i = 0; i < c->nrules; i++) {
		if (!rule_is_ip(&c->rules[i]))
			return -1;
		if (rule_match(&c->rules[i], ip, ""))
			return (long)i;
	}
	return -1;
}

/* table_of - the table rule RULE (-1: none matched) gives. */
static enum table
table_of(const struct relay_conf *c, long rule)
{
	if (rule < 0)
		return c->only ? T_V : T_I;
	switch (c->rules[rule].kind) {
	case K_TRUE:
		return T_II;
	case K_NORELAY:
		return T_IV;
	case K_NORELAY0:
		return T_IV0;
	case K_NORELAY2:
		return T_IV2;
	default:		/* default, only (matching); false never gets here */
		return T_I;
	}
}

/*
 * relay_cell - one recipient: table T, sender class SC, EXTERNAL recipient
 * or not; GATE (send_permits_only_smtp_auth or pop_before_smtp) turns an
 * internal sender's "yes" to an external recipient into "auth".
 */
static enum cell
relay_cell(enum table t, enum sclass sc, int external, int gate)
{
	enum cell cl = (enum cell)relay_cells[t][sc][external ? 1 : 0];

	if (gate && external && sc != S_EXT && cl == C_YES)
		cl = C_AUTH;
	return cl;
}

/*
 * role_sender - SENDER is postmaster@ or abuse@ (local part unquoted,
 * unescaped, any case) or resolves to the postmaster or abuse account:
 * addresses every local domain has, which never unlock relay.  1 or 0;
 * a store error counts as 1 (the cell then asks for authentication).
 */
static int
role_sender(const char *sender)
{
	const char *at = strrchr(sender, '@'), *l = sender;
	char local[72], acct[256];
	size_t i, n = 0, len;

	if (at == NULL)
		return 0;
	len = (size_t)(at - sender);
	if (len >= 2 && l[0] == '"' && l[len - 1] == '"') {
		l++;
		len -= 2;
	}
	for (i = 0; i < len && n + 1 < sizeof(local); i++) {
		if (l[i] == '\\' && i + 1 < len)
			i++;
		local[n++] = l[i];
	}
	local[n] = '\0';
	if (i == len && (strcasecmp(local, "postmaster") == 0 ||
	    strcasecmp(local, "abuse") == 0))
		return 1;
	switch (yh_resolve(sender, acct, sizeof(acct))) {
	case 1:
		return strcmp(acct, "postmaster") == 0 || strcmp(acct, "abuse") == 0;
	case -2:
		return 1;	/* cannot tell: fail closed */
	default:
		return 0;
	}
}

/*
 * sender_cell - cell CL (from relay_cell) of table T reached by rule RULE
 * (-1: none) for SENDER of class SC, as far as the sender address alone
 * may unlock it (LOCAL SENDERS in the head comment): Table I's acct ->
 * external "yes" becomes "auth" unless trust_local_sender; a role sender's
 * "yes" to an external recipient becomes "auth" unless a client IP rule
 * granted it.  *WHY_R says why when it changed, else it is untouched.
 */
static enum cell
sender_cell(const struct relay_conf *c, long rule, enum table t, enum sclass sc,
    int external, const char *sender, enum cell cl, const char **why_r)
{
	if (cl != C_YES || !external)
		return cl;
	if (rule >= 0 && rule_is_ip(&c->rules[rule]) && t == T_II)
		return cl;		/* the client's address, not the sender */
	if (t != T_I && t != T_II)
		return cl;
	if (role_sender(sender)) {
		*why_r = "postmaster and abuse never unlock relay";
		return C_AUTH;
	}
	if (t == T_I && sc == S_ACCT && !c->trust_local) {
		*why_r = "a local sender alone does not unlock relay";
		return C_AUTH;
	}
	return cl;
}

static int
permitted(const struct relay_conf *c, const struct pu_ip *ip)
{
	size_t i;

	for (i = 0; ip && i < c->npermits; i++)
		if (pu_net_match(&c->permits[i], ip))
			return 1;
	return 0;
}

/* reject_domain_match - list entry E names domain D (address literals by
 * their IP, written with or without brackets). */
static int
reject_domain_match(const char *e, const char *d)
{
	char a[64], b[64];
	struct pu_ip ia, ib;

	if (literal_core(e, 1, a, sizeof(a)) == 0 &&
	    literal_core(d, 1, b, sizeof(b)) == 0 &&
	    pu_ip_parse(a, &ia) == 0 && pu_ip_parse(b, &ib) == 0)
		return ia.family == ib.family && memcmp(ia.a, ib.a, 16) == 0;
	return dom_eq(e, d);
}

/* reject_check - the lists REJECT_DOMAIN / REJECT_ADDR refuse SENDER: 1
 * (the key that matched in *KEY_R), else 0. */
static int
reject_check(const struct strlist *rd, const struct strlist *ra,
    const char *sender, const char **key_r)
{
	const char *at = strrchr(sender, '@');
	size_t i;

	if (at == NULL)
		return 0;
	for (i = 0; i < rd->n; i++)
		if (reject_domain_match(rd->v[i], at + 1)) {
			*key_r = "reject_domain";
			return 1;
		}
	for (i = 0; i < ra->n; i++)
		if (strchr(ra->v[i], '@') ? addr_eq(ra->v[i], sender) :
		    reject_domain_match(ra->v[i], at + 1)) {
			*key_r = "reject_mailaddress";
			return 1;
		}
	return 0;
}

/* trust_match - the auth id ID may use address ADDR: equal, or both are
 * the same account's (ID is an account name, or an address that resolves
 * to one; ADDR resolves to it: any local domain in shared mode, only the
 * account's own domain with per-domain mailboxes, and its aliases). */
static int
trust_match(const char *id, const char *addr)
{
	char acct[256], idacct[256];

	if (id[0] == '\0' || addr[0] == '\0')
		return 0;
	if (addr_eq(id, addr))
		return 1;
	if (strchr(id, '@') == NULL || yh_resolve(id, idacct, sizeof(idacct)) != 1)
		snprintf(idacct, sizeof(idacct), "%s", id);
	return yh_resolve(addr, acct, sizeof(acct)) == 1 &&
	    strcasecmp(acct, idacct) == 0;
}

/*
 * from_mailbox - the single address of a From: field value V into OUT:
 * "Name <a@b>", "a@b (comment)", "a@b".  -1 for none, several (a comma, a
 * group) or unbalanced quotes, comments or brackets.
 */
static int
from_mailbox(const char *v, char *out, size_t size)
{
	size_t n = 0;
	int quote = 0, depth = 0, angle = 0, had_angle = 0, words = 0, inword = 0;

	for (; *v; v++) {
		char ch = *v;

		if (angle) {
			if (ch == '>') {
				angle = 0;
				had_angle = 1;
			} else if (n + 1 < size && ch != ' ')
				out[n++] = ch;
			else if (ch != ' ')
				return -1;
			continue;
		}
		if (quote) {
			if (ch == '\\' && v[1])
				v++;
			else if (ch == '"')
				quote = 0;
			continue;
		}
		if (depth) {
			if (ch == '\\' && v[1])
				v++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			continue;
		}
		switch (ch) {
		case '"':
			quote = 1;
			inword = 0;
			break;
		case '(':
			depth = 1;
			inword = 0;
			break;
		case '<':
			if (had_angle)
				return -1;
			angle = 1;
			n = 0;
			break;
		case ',':
		case ';':
		case ':':
			return -1;
		case ' ':
		case '\t':
			inword = 0;
			break;
		default:
			if (had_angle)
				return -1;	/* text after <...> */
			if (!inword) {
				words++;
				inword = 1;
			}
			if (!angle && words == 1) {
				if (n + 1 >= size)
					return -1;
				out[n++] = ch;
			}
		}
	}
	if (angle || quote || depth)
		return -1;
	if (!had_angle && words != 1)
		return -1;
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* ---- per-transaction context --------------------------------------------- */

#define NOTE_FROM	"relay.from"	/* set: From: must match (trust 3) */

struct ctx {
	long		 rule;		/* effect_decide, -1 none */
	enum sclass	 sc;
	struct pu_ip	 ip;
	int		 have_ip;
};

/* rule_name - "effect.dat:3", or "default" when no rule matched and there
 * is no "only" line. */
static const char *
rule_name(const struct relay_conf *c, long rule, char *out, size_t size)
{
	if (rule < 0 && c->only)
		rule = (long)c->nrules - 1;
	if (rule < 0)
		snprintf(out, size, "default");
	else
		snprintf(out, size, "%s:%u", c->name, c->rules[rule].line);
	return out;
}

/* the transaction's slot: what the mail hook decided, for the rcpt hook */
struct ctx_slot {
	int	 set;
	long	 rule;
	int	 sc;
	char	 sender[RELAY_ADDR_MAX];
};

/*
 * ctx_get - the transaction's rule and sender class: from the slot the
 * mail hook filled, or computed now (another plugin may have decided MAIL
 * before us).  0, or -1 on a store error (*X unusable).
 */
static int
ctx_get(struct yh_session *s, const struct relay_conf *c, struct ctx *x)
{
	const char *sender = yh_sender(s);
	struct ctx_slot *slot = yh_txn_slot(s, sizeof(*slot));
	char acct[256];
	int sc;

	if (sender == NULL)
		sender = "";
	x->have_ip = pu_ip_parse(yh_peer_ip(s), &x->ip) == 0;
	if (slot && slot->set && strcmp(slot->sender, sender) == 0 &&
	    slot->rule >= -1 && slot->rule < (long)c->nrules) {
		x->rule = slot->rule;
		x->sc = (enum sclass)slot->sc;
		return 0;
	}
	x->rule = effect_decide(c, x->have_ip ? &x->ip : NULL, sender);
	if (sender[0] == '\0')
		sc = S_EXT;
	else {
		switch (yh_resolve(sender, acct, sizeof(acct))) {
		case 1:
			sc = S_ACCT;
			break;
		case 0:
			sc = S_NOACCT;
			break;
		case -1:
			sc = S_EXT;
			break;
		default:
			return -1;
		}
	}
	x->sc = (enum sclass)sc;
	if (slot && strlen(sender) < sizeof(slot->sender)) {
		slot->set = 1;
		slot->rule = x->rule;
		slot->sc = sc;
		memcpy(slot->sender, sender, strlen(sender) + 1);
	}
	return 0;
}

/* ---- hooks --------------------------------------------------------------- */

static int
relay_connect(struct yh_session *s)
{
	const struct relay_conf *c = relay;
	struct pu_ip ip;
	char rn[64], e[RELAY_ESC_MAX];
	long r;

	if (c == NULL || pu_ip_parse(yh_peer_ip(s), &ip) == -1 || permitted(c, &ip))
		return YH_DECLINED;
	r = effect_connect(c, &ip);
	if (r < 0 || c->rules[r].kind != K_FALSE)
		return YH_DECLINED;
	yh_log(YH_LOG_INFO, "relay refused connect rule=%s client=%s",
	    rule_name(c, r, rn, sizeof(rn)), relay_esc(e, sizeof(e), yh_peer_ip(s)));
	yh_reply(s, 554, "5.7.1", "Access denied");
	return YH_DENY;
}

static int
relay_mail(struct yh_session *s)
{
	const struct relay_conf *c = relay;
	const char *sender = yh_sender(s), *key;
	char rn[64], e1[RELAY_ESC_MAX], e2[RELAY_ESC_MAX];
	struct ctx x;

	if (c == NULL)
		return YH_DECLINED;
	if (sender == NULL)
		sender = "";
	if (reject_check(&c->reject_domain, &c->reject_addr, sender, &key)) {
		yh_log(YH_LOG_INFO, "relay refused sender rule=smtp.%s "
		    "client=%s from=<%s>", key, relay_esc(e1, sizeof(e1), yh_peer_ip(s)),
		    relay_esc(e2, sizeof(e2), sender));
		yh_reply(s, 550, "5.7.1", "<%s>: sender refused", sender);
		return YH_DENY;
	}
	if (ctx_get(s, c, &x) == -1) {
		yh_reply(s, 451, "4.3.0", "temporary lookup failure");
		return YH_DENYSOFT;
	}
	if (x.have_ip && permitted(c, &x.ip))
		return YH_DECLINED;
	if (x.rule >= 0 && c->rules[x.rule].kind == K_FALSE) {
		yh_log(YH_LOG_INFO, "relay refused sender rule=%s client=%s "
		    "from=<%s>", rule_name(c, x.rule, rn, sizeof(rn)),
		    relay_esc(e1, sizeof(e1), yh_peer_ip(s)), relay_esc(e2, sizeof(e2), sender));
		yh_reply(s, 550, "5.7.1", "<%s>: sender refused", sender);
		return YH_DENY;
	}
	return YH_DECLINED;
}

/* account_reject - the config.def lists of ACCT refuse SENDER: 1 (key in
 * *KEY_R), 0 no, -1 the lists could not be read. */
static int
account_reject(const char *acct, const char *sender, const char **key_r)
{
	struct strlist rd = { NULL, 0 }, ra = { NULL, 0 };
	char *buf;
	int r = -1;
	size_t i;

	if ((buf = malloc(RELAY_LIST_MAX)) == NULL)
		return -1;
	if (yh_account_get(acct, "reject_domain", buf, RELAY_LIST_MAX) == NULL ||
	    list_split(buf, &rd) == -1)
		goto out;
	if (yh_account_get(acct, "reject_mailaddress", buf, RELAY_LIST_MAX) == NULL ||
	    list_split(buf, &ra) == -1)
		goto out;
	r = reject_check(&rd, &ra, sender, key_r);
out:
	for (i = 0; i < rd.n; i++)
		free(rd.v[i]);
	free(rd.v);
	for (i = 0; i < ra.n; i++)
		free(ra.v[i]);
	free(ra.v);
	free(buf);
	return r;
}

/* pop_key - the store key of client IP: "pbs:" and its canonical text. */
static int
pop_key(const struct pu_ip *ip, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->a, text,
	    sizeof(text)) == NULL)
		return -1;
	return snprintf(out, size, "pbs:%s", text) < (int)size ? 0 : -1;
}

static int
pop_valid(const struct relay_conf *c, const struct ctx *x)
{
	char key[80];
	size_t len = 0;

	if (!c->pop_before || !x->have_ip || pop_key(&x->ip, key, sizeof(key)) == -1)
		return 0;
	return yh_store_get(key, NULL, &len) == 1;
}

static int
relay_rcpt(struct yh_session *s, const char *rcpt)
{
	const struct relay_conf *c = relay;
	const char *sender = yh_sender(s), *auth = yh_auth_user(s), *key;
	const char *why = NULL, *locked = NULL;
	char acct[256], rn[64], e1[RELAY_ESC_MAX], e2[RELAY_ESC_MAX];
	char e3[RELAY_ESC_MAX];
	int local = yh_rcpt_local(s), external = local == -1, grant = 0;
	struct ctx x;
	enum table t;
	enum cell cl;

	if (c == NULL)
		return YH_DECLINED;
	if (sender == NULL)
		sender = "";
	if (auth == NULL)
		auth = "";
	if (local == 0) {
		yh_reply(s, 550, "5.1.1", "<%s>: no such user here", rcpt);
		return YH_DENY;
	}
	if (local != 1 && local != -1)
		return YH_DECLINED;
	if (local == 1) {
		switch (yh_resolve(rcpt, acct, sizeof(acct))) {
		case 1:
			switch (account_reject(acct, sender, &key)) {
			case 1:
				yh_log(YH_LOG_INFO, "relay refused rcpt rule=%s/"
				    "config.def:%s client=%s from=<%s> to=<%s>",
				    acct, key, relay_esc(e1, sizeof(e1), yh_peer_ip(s)),
				    relay_esc(e2, sizeof(e2), sender),
				    relay_esc(e3, sizeof(e3), rcpt));
				yh_reply(s, 550, "5.7.1", "<%s>: sender refused "
				    "by the recipient", rcpt);
				return YH_DENY;
			case -1:
				yh_log(YH_LOG_ERR, "relay cannot read reject "
				    "lists of account %s", acct);
				yh_reply(s, 451, "4.3.0", "<%s>: temporary "
				    "lookup failure", rcpt);
				return YH_DENYSOFT;
			}
			break;
		case -2:
			yh_reply(s, 451, "4.3.0", "<%s>: temporary lookup "
			    "failure", rcpt);
			return YH_DENYSOFT;
		}
	}
	/* the local submission socket (yubin-sendmail from cron, exec.def
	 * programs): its callers choose the sender and count as
	 * authenticated, so the core decides, as without this plugin */
	if (yh_local_submission(s))
		return YH_DECLINED;
	if (c->open_relay)
		return external ? YH_OK : YH_DECLINED;
	if (ctx_get(s, c, &x) == -1) {
		yh_reply(s, 451, "4.3.0", "temporary lookup failure");
		return YH_DENYSOFT;
	}
	if (x.have_ip && permitted(c, &x.ip))
		return external ? YH_OK : YH_DECLINED;
	if (x.rule >= 0 && c->rules[x.rule].kind == K_FALSE) {
		/* the mail hook did not run (another plugin decided MAIL) */
		cl = C_NO;
		why = "false";
	} else {
		t = table_of(c, x.rule);
		cl = relay_cell(t, x.sc, external, c->spoa || c->pop_before);
		cl = sender_cell(c, x.rule, t, x.sc, external, sender, cl, &locked);
		if (cl == C_AUTH) {
			if (auth[0] && (c->trust == 1 || trust_match(auth, sender)))
				grant = 1;
			else if (pop_valid(c, &x))
				grant = 2;
			else if (auth[0])
				why = "sender does not match the authenticated user";
			else
				why = locked ? locked : "not authenticated";
		}
	}
	if (cl == C_YES || grant) {
		/* the From: check must not be lost: no note, no recipient */
		if (grant == 1 && c->trust == 3 &&
		    yh_note_set(s, NOTE_FROM, "1") == -1) {
			yh_log(YH_LOG_ERR, "relay cannot keep a transaction note");
			yh_reply(s, 451, "4.3.0", "<%s>: temporary failure", rcpt);
			return YH_DENYSOFT;
		}
		return external ? YH_OK : YH_DECLINED;
	}
	yh_log(YH_LOG_INFO, "relay denied rule=%s client=%s from=<%s> to=<%s>%s%s",
	    rule_name(c, x.rule, rn, sizeof(rn)), relay_esc(e1, sizeof(e1), yh_peer_ip(s)),
	    relay_esc(e2, sizeof(e2), sender), relay_esc(e3, sizeof(e3), rcpt),
	    why ? " reason=" : "", why ? why : "");
	if (external)
		yh_reply(s, 554, "5.7.1", "<%s>: relay access denied", rcpt);
	else
		yh_reply(s, 554, "5.7.1", "<%s>: sender not accepted for this "
		    "recipient", rcpt);
	return YH_DENY;
}

static int
relay_data(struct yh_session *s)
{
	const struct relay_conf *c = relay;
	const char *from, *auth = yh_auth_user(s);
	char addr[RELAY_ADDR_MAX], e1[RELAY_ESC_MAX], e2[RELAY_ESC_MAX];

	if (c == NULL || c->trust != 3 || yh_note_get(s, NOTE_FROM) == NULL)
		return YH_DECLINED;
	from = yh_header(s, "From", 0);
	if (from && yh_header(s, "From", 1) == NULL &&
	    from_mailbox(from, addr, sizeof(addr)) == 0 && auth &&
	    trust_match(auth, addr))
		return YH_DECLINED;
	yh_log(YH_LOG_INFO, "relay denied rule=smtp.sender_trust client=%s "
	    "auth=%s header_from=%s", relay_esc(e1, sizeof(e1), yh_peer_ip(s)),
	    relay_esc(e2, sizeof(e2), auth ? auth : ""),
	    from ? relay_esc(addr, sizeof(addr), from) : "(none)");
	yh_reply(s, 550, "5.7.1", "From: header does not match the "
	    "authenticated user");
	return YH_DENY;
}

static void
relay_pop_auth(struct yh_pop *p)
{
	const struct relay_conf *c = relay;
	const char *user = yh_pop_user(p);
	struct pu_ip ip;
	char key[80], e[RELAY_ESC_MAX];

	if (c == NULL || !c->pop_before || c->pop_ttl <= 0 ||
	    pu_ip_parse(yh_pop_peer_ip(p), &ip) == -1 ||
	    pop_key(&ip, key, sizeof(key)) == -1)
		return;
	if (user == NULL)
		user = "";
	if (yh_store_put(key, user, strlen(user), c->pop_ttl) == -1)
		yh_log(YH_LOG_ERR, "relay cannot record POP before SMTP "
		    "client=%s", relay_esc(e, sizeof(e), yh_pop_peer_ip(p)));
}

#ifndef RELAY_NO_EXPORT
static const struct yh_hooks relay_hooks = {
	YH_HOOKS_INIT,
	.connect = relay_connect,
	.mail = relay_mail,
	.rcpt = relay_rcpt,
	.data = relay_data,
	.pop_auth = relay_pop_auth,
};

const struct yh_plugin yubin_plugin = {
	YH_PLUGIN_INIT,
	.name = "relay",
	.keys = relay_keys,
	.init = relay_init,
	.commit = relay_commit,
	.discard = relay_discard,
	.fini = relay_fini,
	.hooks = &relay_hooks,
};
#endif
