/*
 * maildat.h - what the files of the maildat plugin share: limits, the rule
 * table, the message as the rules see it, and the functions one file calls
 * in another (prefix md_).  Private to plugins/maildat/.
 */
#ifndef MAILDAT_H
#define MAILDAT_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <poll.h>
#include <pwd.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yubin/hook.h>

#define MD_LINE_MAX	4096		/* a rule-file line */
#define MD_FILE_LINES_MAX 200000	/* lines of one rule file */
#define MD_FILE_MAX	(8 * 1024 * 1024)	/* bytes of one rule file */
#define MD_RULES_MAX	20000		/* rules of one table */
#define MD_CONDS_MAX	64		/* header conditions of one rule */
#define MD_BLOCK_LINES	5		/* Body:/Warning: lines (the seed) */
#define MD_HNAME_MAX	76		/* a header name (RFC 5322 line / 2) */
#define MD_ADDR_MAX	254		/* a Forward: address */
#define MD_ZONE_MAX	200		/* an RBL zone */
#define MD_DOMAIN_MAX	253		/* a DNS name */
#define MD_ERRS_MAX	1000		/* error lines kept (all are counted) */
#define MD_ICONV_MAX	(16 * 1024 * 1024)	/* bytes converted at once */
#define MD_MIME_DEPTH	16		/* nested multiparts looked into */
#define MD_FIELDS_MAX	20000		/* header fields indexed (10 000 + room) */
#define MD_FIELD_MAX	(2 * 1024 * 1024)	/* bytes kept of one field (1 MB line + folds) */
#define MD_HEADER_MAX	(16 * 1024 * 1024)	/* header bytes kept for matching */
#define MD_SCAN_DEFAULT	(1024 * 1024)	/* body text looked at */
#define MD_RBL_DOMAINS	32		/* URI domains looked up per message */
#define MD_RBL_NEG_TTL	300		/* cache time of a negative answer */
#define MD_MATCH_LIMIT	1000000		/* PCRE2 match limit */
#define MD_DEPTH_LIMIT	10000		/* PCRE2 depth (backtracking heap) limit */
#define MD_ACCT_MAX	64		/* account name */

enum md_field {
	MDF_RECEIVED, MDF_SUBJECT, MDF_FROM, MDF_TO, MDF_CTYPE, MDF_XMAILER,
	MDF_XUIDL, MDF_UNIQUE
};

struct md_errs {
	char	*msg[MD_ERRS_MAX];
	size_t	 n;
	size_t	 count;
	char	*warn[MD_ERRS_MAX];
	size_t	 nwarn;
};

struct md_tok {
	char	*lit;		/* lower case; NULL for a regex or #blank */
	size_t	 litlen;
	pcre2_code *re;
	char	*req;		/* regex: lower-cased text every match holds */
	size_t	 reqlen;	/* (md_re_required), 0 none */
	int	 blank;
};

struct md_cond {
	int	 field;		/* enum md_field */
	char	*hname;		/* the header name */
	struct md_tok tok;
};

struct md_rule {
	char	*name;
	unsigned line;
	struct md_cond *conds;
	size_t	 nconds;
	struct md_tok body[MD_BLOCK_LINES];
	size_t	 nbody;
	char	*folder;
	char	*rbl;
	char	*tag;
	char	*tag_name;	/* "X-SPAM" of "X-SPAM:TRUE", or NULL */
	char	*forward;
	char	*warning;	/* action 2: the lines, each ending in LF */
	int	 action, backup, reg;
};

struct md_table {
	char	*path;
	struct md_rule *rules;
	size_t	 n, cap;
	int	 need_body, need_rbl;
};

struct md_text {
	char	*data;
	size_t	 len, cap, max;
	int	 full;
};

void	*md_alloc(size_t n);
char	*md_strndup(const char *s, size_t n);
char	*md_strdup(const char *s);
void	md_lower(char *s, size_t n);
/*
 * md_re_required - the longest run of bytes that every match of regex
 * PAT (LEN bytes, compiled with OPTS) contains, lower-cased, into OUT
 * (SIZE bytes); its length, 0 when none is known.  Conservative: a
 * pattern it does not follow (alternation at the top, inline options,
 * \Q, extended syntax, most escapes) gives 0, and under PCRE2_CASELESS
 * the run stops at bytes that Unicode folds beyond ASCII (k, s, non-ASCII).
 * A text without the run (lower-cased) cannot match: the regex is skipped.
 */
size_t	md_re_required(const char *pat, size_t len, uint32_t opts, char *out,
	    size_t size);
char	*md_iconv(const char *charset, const char *in, size_t n,
		    size_t *len_r);
/* a part's MIME header: the three fields the walk needs */
struct md_part {
	char	 type[128];	/* lower case, "" = text/plain */
	char	 charset[64];
	char	 boundary[128];
	char	 cte[32];	/* lower case */
};

/* ---- the message as the rules see it ------------------------------------ */

struct md_field_ix {
	size_t	 name, nlen, val, vlen;	/* offsets into hdr */
	char	*dec;			/* decoded, UTF-8; lazily */
	char	*low;			/* dec lower-cased */
	size_t	 dlen;
};

struct md_msg {
	char	*hdr;			/* "Name:value\n" unfolded */
	size_t	 hlen, hcap;
	struct md_field_ix *f;
	size_t	 nf;
	struct md_text body;		/* decoded text */
	char	*body_low;
	int	 body_done;
	unsigned char *pairs;		/* byte pairs of body_low: 65536 bits */
	char	*raw;			/* the raw body, bounded, for decoding */
	size_t	 rawlen;
	struct md_part top;
	char	 doms[MD_RBL_DOMAINS][MD_DOMAIN_MAX + 1];
	size_t	 ndoms;
	int	 doms_done;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
};

/* mime.c */
void	md_text_add(struct md_text *t, const char *p, size_t n);
void	md_part_header(const char *p, const char *e, struct md_part *mp);
void	md_text_init(struct md_text *t, size_t max);
void	md_text_free(struct md_text *t);
void	md_2047(struct md_text *t, const char *in, size_t n);
void	md_mime_body(struct md_text *out, const struct md_part *mp,
		    const char *b, const char *e, int depth);

size_t	md_b64(const char *in, size_t n, char *out);
size_t	md_qp(const char *in, size_t n, char *out, int hdr);
void	md_mime_decode(struct md_text *out, const char *msg, size_t len);

/* rules.c */
void	md_table_free(struct md_table **tp);
struct md_table	*md_parse(const char *file, const char *text, size_t len,
		    struct md_errs *errs);
void	md_warns_free(struct md_errs *e);
void	md_errs_free(struct md_errs *e);

/* rbl.c */
size_t	md_uri_domains(const char *text, size_t len,
		    char doms[][MD_DOMAIN_MAX + 1]);
int	md_rbl_check(const char *zone, char doms[][MD_DOMAIN_MAX + 1],
		    size_t ndoms, int timeout_ms, char *hit, size_t hitsize);

/* maildat.c */
int	md_body_has(struct md_msg *m, const struct md_tok *t);
void	md_body_decode(struct md_msg *m, size_t scan);
const struct md_rule	*md_table_match(const struct md_table *t,
		    struct md_msg *m, size_t scan, int rbl_ms, char *hit,
		    size_t hitsize);
int	md_msg_load(struct md_msg *m, int fd, int body, size_t rawmax);
void	md_msg_free(struct md_msg *m);

#endif
