/*
 * yubin-sendmail_msg.c - messages for yubin-sendmail (sendmail.h): the -sb
 * MIME message, charset detection (US-ASCII, UTF-8, ISO-2022-JP,
 * Shift_JIS), RFC 2047 subjects, the sendmail(8) form's header work (-t
 * recipients, Bcc removal, missing From/Date/Message-ID) and the -onlyonce
 * record.
 *
 * Input here is whatever a user or a program wrote: every length is
 * bounded by the caller's read limits, and nothing is interpreted beyond
 * header syntax.
 */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sendmail.h"
#include "utf8.h"
#include "util.h"

#define SM_HEADER_LINE	998	/* RFC 5322 §2.1.1 */

/* ---- charsets ----------------------------------------------------------- */

enum sm_charset
sm_detect_charset(const char *s, size_t len)
{
	switch (text_charset(s, len)) {
	case TEXT_ASCII:	return SM_CS_ASCII;
	case TEXT_UTF8:		return SM_CS_UTF8;
	case TEXT_JIS:		return SM_CS_JIS;
	case TEXT_SJIS:		return SM_CS_SJIS;
	default:		return SM_CS_UNKNOWN;
	}
}

const char *
sm_charset_name(enum sm_charset cs)
{
	switch (cs) {	/* the names are utf8.c's, shared with yubinctl */
	case SM_CS_ASCII: return text_charset_name(TEXT_ASCII);
	case SM_CS_UTF8: return text_charset_name(TEXT_UTF8);
	case SM_CS_JIS: return text_charset_name(TEXT_JIS);
	case SM_CS_SJIS: return text_charset_name(TEXT_SJIS);
	default: return text_charset_name(TEXT_UNKNOWN);
	}
}

/* to_utf8 - LEN bytes of charset CS into OUT as UTF-8; 0 or -1. */
static int
to_utf8(enum sm_charset cs, const char *in, size_t len, struct buf *out)
{
	iconv_t cd;
	char chunk[1024], *ip = (char *)in, *op;
	size_t il = len, ol, r;

	if (cs == SM_CS_ASCII || cs == SM_CS_UTF8)
		return buf_append(out, in, len);
	cd = iconv_open("UTF-8", cs == SM_CS_JIS ? "ISO-2022-JP-3" : "CP932");
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", cs == SM_CS_JIS ? "ISO-2022-JP" : "SHIFT_JIS");
	if (cd == (iconv_t)-1)
		return -1;
	while (il > 0) {
		op = chunk;
		ol = sizeof(chunk);
		r = iconv(cd, &ip, &il, &op, &ol);
		buf_append(out, chunk, sizeof(chunk) - ol);
		if (r == (size_t)-1 && errno != E2BIG) {
			iconv_close(cd);
			return -1;
		}
	}
	op = chunk;
	ol = sizeof(chunk);
	iconv(cd, NULL, NULL, &op, &ol);
	buf_append(out, chunk, sizeof(chunk) - ol);
	iconv_close(cd);
	return 0;
}

/* ---- encodings ---------------------------------------------------------- */

static void
base64(struct buf *out, const unsigned char *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	unsigned v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		buf_putc(out, tab[v >> 18]);
		buf_putc(out, tab[(v >> 12) & 63]);
		buf_putc(out, tab[(v >> 6) & 63]);
		buf_putc(out, tab[v & 63]);
	}
	if (len - i == 1) {
		v = (unsigned)p[i] << 16;
		buf_putc(out, tab[v >> 18]);
		buf_putc(out, tab[(v >> 12) & 63]);
		buf_puts(out, "==");
	} else if (len - i == 2) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		buf_putc(out, tab[v >> 18]);
		buf_putc(out, tab[(v >> 12) & 63]);
		buf_putc(out, tab[(v >> 6) & 63]);
		buf_putc(out, '=');
	}
}

/* subject_header - "Subject: ..." + LF for the UTF-8 text S: plain when it
 * is short printable ASCII, else RFC 2047 B-words of at most 45 bytes each
 * (never splitting a character), folded. */
static void
subject_header(struct buf *out, const char *s, size_t len)
{
	size_t i, start, n;
	int plain = len < 900;

	for (i = 0; i < len && plain; i++)
		if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i] < 0x20 ||
		    (s[i] == '=' && i + 1 < len && s[i + 1] == '?'))
			plain = 0;
	buf_puts(out, "Subject: ");
	if (plain) {
		buf_append(out, s, len);
		buf_putc(out, '\n');
		return;
	}
	for (start = 0; start < len; start += n) {
		n = len - start < 45 ? len - start : 45;
		/* back off to a character boundary */
		while (start + n < len && n > 1 &&
		    ((unsigned char)s[start + n] & 0xc0) == 0x80)
			n--;
		if (start > 0)
			buf_puts(out, "\n ");
		buf_puts(out, "=?UTF-8?B?");
		base64(out, (const unsigned char *)s + start, n);
		buf_puts(out, "?=");
	}
	buf_putc(out, '\n');
}

static void
date_header(struct buf *out)
{
	char d[64];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_printf(out, "Date: %s\n", d);
}

static void
msgid_header(struct buf *out, const char *domain)
{
	unsigned char rnd[8];
	char d[32];
	time_t t = time(NULL);
	struct tm tm;
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		long long ms = now_ms() ^ (long long)getpid() << 20;

		memcpy(rnd, &ms, sizeof(rnd));
	}
	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%Y%m%d%H%M%S", &tm);
	buf_printf(out, "Message-ID: <%s.%ld.", d, (long)getpid());
	for (i = 0; i < sizeof(rnd); i++)
		buf_printf(out, "%02x", rnd[i]);
	buf_printf(out, "@%s>\n", domain);
}

/* ---- -sb ---------------------------------------------------------------- */

int
sm_build_sb(const char *sb, size_t sblen, const char *from,
    const struct sm_rcpts *rcpts, const char *domain, struct buf *out,
    const char **why_r)
{
	enum sm_charset cs;
	const char *nl, *body;
	size_t sublen, bodylen, i, linelen = 0;
	struct buf subj;
	int longline = 0;

	/* a UTF-8 byte-order mark says nothing we need */
	if (sblen >= 3 && memcmp(sb, "\xef\xbb\xbf", 3) == 0) {
		sb += 3;
		sblen -= 3;
	}
	if (memchr(sb, '\0', sblen)) {
		*why_r = "NUL byte in the subject & body file";
		return -1;
	}
	cs = sm_detect_charset(sb, sblen);
	if (cs == SM_CS_UNKNOWN) {
		*why_r = "not UTF-8, ISO-2022-JP or Shift_JIS text";
		return -1;
	}
	nl = memchr(sb, '\n', sblen);
	sublen = nl ? (size_t)(nl - sb) : sblen;
	body = nl ? nl + 1 : sb + sblen;
	bodylen = (size_t)(sb + sblen - body);
	if (sublen > 0 && sb[sublen - 1] == '\r')
		sublen--;
	buf_init(&subj, 0);
	if (to_utf8(cs, sb, sublen, &subj) == -1) {
		buf_free(&subj);
		*why_r = "the subject line cannot be converted to UTF-8";
		return -1;
	}
	for (i = 0; i < subj.len; i++)	/* no control characters in a header */
		if ((unsigned char)subj.data[i] < 0x20 || subj.data[i] == 0x7f)
			subj.data[i] = ' ';
	for (i = 0; i < bodylen; i++) {
		if (body[i] == '\n')
			linelen = 0;
		else if (++linelen > SM_HEADER_LINE)
			longline = 1;
	}

	if (*from)
		buf_printf(out, "From: %s\n", from);
	else
		buf_printf(out, "From: MAILER-DAEMON@%s\n", domain);
	buf_puts(out, "To: ");
	for (i = 0; i < rcpts->n; i++)
		buf_printf(out, "%s%s", i ? ",\n " : "", rcpts->v[i]);
	buf_putc(out, '\n');
	subject_header(out, subj.data ? subj.data : "", subj.len);
	buf_free(&subj);
	date_header(out);
	msgid_header(out, domain);
	buf_puts(out, "MIME-Version: 1.0\n");
	buf_printf(out, "Content-Type: text/plain; charset=%s\n", sm_charset_name(cs));
	if ((cs == SM_CS_ASCII || cs == SM_CS_JIS) && !longline) {
		buf_puts(out, "Content-Transfer-Encoding: 7bit\n\n");
		buf_append(out, body, bodylen);
	} else {
		/* canonical CRLF form, then base64 in 76-column lines */
		struct buf canon, enc;
		size_t k;

		buf_init(&canon, 0);
		buf_init(&enc, 0);
		for (k = 0; k < bodylen; k++) {
			if (body[k] == '\n' && (k == 0 || body[k - 1] != '\r'))
				buf_putc(&canon, '\r');
			buf_putc(&canon, body[k]);
		}
		base64(&enc, (const unsigned char *)canon.data, canon.len);
		buf_puts(out, "Content-Transfer-Encoding: base64\n\n");
		for (k = 0; k < enc.len; k += 76) {
			buf_append(out, enc.data + k, enc.len - k < 76 ? enc.len - k : 76);
			buf_putc(out, '\n');
		}
		buf_free(&canon);
		buf_free(&enc);
	}
	return 0;
}

/* ---- the sendmail(8) form ----------------------------------------------- */

/* header_name_is - 1 when the field at P (a header line) is NAME. */
static int
header_name_is(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && p[n] == ':' && strncasecmp(p, name, n) == 0;
}

/* addrs_of - the addresses of a To/Cc/Bcc value (RFC 5322 §3.4: display
 * names, quoted strings, comments, groups) into RCPTS.  0 or -1. */
static int
addrs_of(const char *v, size_t len, struct sm_rcpts *rcpts, const char **why_r)
{
	struct buf tok, ang;
	size_t i;
	int quote = 0, depth = 0, inang = 0, r = 0, had_ang = 0;

	buf_init(&tok, 4096);
	buf_init(&ang, 4096);
	for (i = 0; i <= len && r == 0; i++) {
		char c = i < len ? v[i] : ',';

		if (quote) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '"')
				quote = 0;
			continue;
		}
		if (depth) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '"' && !inang) {
			quote = 1;
			continue;
		}
		if (c == '(') {
			depth = 1;
			continue;
		}
		if (c == '<' && !inang) {
			inang = 1;
			had_ang = 1;
			buf_reset(&ang);
			continue;
		}
		if (c == '>' && inang) {
			inang = 0;
			continue;
		}
		if (inang) {
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
			    buf_putc(&ang, c) == -1)
				r = -1;
			continue;
		}
		if (c == ':') {		/* group name: drop what came before */
			buf_reset(&tok);
			continue;
		}
		if (c == ',' || c == ';') {
			const char *a = had_ang ? buf_cstr(&ang) : str_trim((char *)buf_cstr(&tok));

			if (had_ang && ang.len > 0 && ang.data[0] == '@') {
				/* a source route: the address follows its ':' */
				const char *colon = strchr(a, ':');

				a = colon ? colon + 1 : a;
			}
			if (*a) {
				if (!sm_addr_ok(a)) {
					*why_r = "bad address in a To/Cc/Bcc header";
					r = -1;
				} else if (sm_rcpt_add(rcpts, a) == -1) {
					*why_r = "too many recipients";
					r = -1;
				}
			}
			buf_reset(&tok);
			buf_reset(&ang);
			had_ang = 0;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			/* words of a display name collapse; the address has none */
			continue;
		}
		if (buf_putc(&tok, c) == -1) {
			*why_r = "header address too long";
			r = -1;
		}
	}
	if (r == -1 && (quote || depth))
		*why_r = "unbalanced quote or comment in a To/Cc/Bcc header";
	if (r == -1 && *why_r == NULL)
		*why_r = "header address too long";
	buf_free(&tok);
	buf_free(&ang);
	return r;
}

int
sm_prepare_stdin(struct buf *msg, int extract, const char *from,
    const char *domain, struct sm_rcpts *rcpts, const char **why_r)
{
	struct buf out, val;
	const char *p = msg->data ? msg->data : "", *end = p + msg->len;
	const char *line, *nl, *body;
	int have_from = 0, have_date = 0, have_msgid = 0, skipping = 0;
	int in_header = 1, r = 0;
	enum { F_OTHER, F_ADDR, F_BCC } field = F_OTHER;

	buf_init(&out, 0);
	buf_init(&val, 1 << 20);
	*why_r = NULL;
	/* a first line that is not a header field starts the body */
	nl = memchr(p, '\n', msg->len);
	{
		size_t l = (size_t)((nl ? nl : end) - p), k;

		for (k = 0; k < l && p[k] != ':' && p[k] > ' ' && p[k] < 0x7f; k++)
			;
		if (k == 0 || k >= l || p[k] != ':')
			in_header = 0;
	}
	body = p;
	for (line = p; in_header && line < end; line = nl ? nl + 1 : end) {
		size_t l;

		nl = memchr(line, '\n', (size_t)(end - line));
		l = (size_t)((nl ? nl : end) - line);
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l == 0) {		/* end of the header */
			body = line;
			break;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (field != F_OTHER)
				buf_append(&val, line, l);
			if (!skipping) {
				buf_append(&out, line, l);
				buf_putc(&out, '\n');
			}
			body = nl ? nl + 1 : end;
			continue;
		}
		if (field != F_OTHER && extract && r == 0)
			r = addrs_of(val.data ? val.data : "", val.len, rcpts, why_r);
		buf_reset(&val);
		field = F_OTHER;
		skipping = 0;
		if (header_name_is(line, l, "From"))
			have_from = 1;
		else if (header_name_is(line, l, "Date"))
			have_date = 1;
		else if (header_name_is(line, l, "Message-ID"))
			have_msgid = 1;
		else if (header_name_is(line, l, "To") || header_name_is(line, l, "Cc"))
			field = F_ADDR;
		else if (header_name_is(line, l, "Bcc")) {
			field = F_BCC;
			skipping = 1;	/* Bcc never leaves (RFC 5322 §3.6.3) */
		}
		if (field != F_OTHER) {
			const char *colon = memchr(line, ':', l);

			buf_append(&val, colon + 1, l - (size_t)(colon + 1 - line));
		}
		if (!skipping) {
			buf_append(&out, line, l);
			buf_putc(&out, '\n');
		}
		body = nl ? nl + 1 : end;
	}
	if (field != F_OTHER && extract && r == 0)
		r = addrs_of(val.data ? val.data : "", val.len, rcpts, why_r);
	if (r == 0) {
		struct buf full;

		buf_init(&full, 0);
		if (!have_from)
			buf_printf(&full, "From: %s\n", *from ? from : "MAILER-DAEMON");
		if (!have_date)
			date_header(&full);
		if (!have_msgid)
			msgid_header(&full, domain);
		buf_append(&full, out.data ? out.data : "", out.len);
		if (body == p || body >= end || (*body != '\n' && *body != '\r'))
			buf_putc(&full, '\n');	/* the empty line before the body */
		buf_append(&full, body, (size_t)(end - body));
		buf_free(msg);
		*msg = full;
	}
	buf_free(&out);
	buf_free(&val);
	return r;
}

/* ---- -onlyonce ---------------------------------------------------------- */

int
sm_onlyonce_open(const char *path, int *code_r)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd == -1) {
		*code_r = sm_fail(SM_CANTCREAT, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		*code_r = sm_fail(SM_IOERR, "%s: lock: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
sm_onlyonce_filter(int fd, const char *from, struct sm_rcpts *rcpts)
{
	struct buf data;
	char chunk[8192], *line, *save = NULL;
	off_t off = 0;
	ssize_t n;
	size_t i, j, fl = strlen(from);

	buf_init(&data, 0);
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		buf_append(&data, chunk, (size_t)n);
		off += n;
	}
	if (data.len == 0) {
		buf_free(&data);
		return;
	}
	for (line = strtok_r(data.data, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);

		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l <= fl || line[fl] != ',' || strncasecmp(line, from, fl) != 0)
			continue;
		for (i = 0; i < rcpts->n; i++) {
			if (strcasecmp(line + fl + 1, rcpts->v[i]) != 0)
				continue;
			free(rcpts->v[i]);
			for (j = i; j + 1 < rcpts->n; j++)
				rcpts->v[j] = rcpts->v[j + 1];
			rcpts->n--;
			break;
		}
	}
	buf_free(&data);
}

int
sm_onlyonce_add(int fd, const char *from, const struct sm_rcpts *rcpts)
{
	struct buf b;
	size_t i;
	int r;

	buf_init(&b, 0);
	for (i = 0; i < rcpts->n; i++)
		buf_printf(&b, "%s,%s\n", from, rcpts->v[i]);
	r = write_all(fd, b.data, b.len) == -1 || fsync(fd) == -1 ? -1 : 0;
	buf_free(&b);
	return r;
}
