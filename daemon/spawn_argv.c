/*
 * spawn_argv.c - the argument vector of a per-mailbox program and the
 * SUBJECT value it may carry (spawn_argv.h; yh_spawn in spawn.c runs it).
 *
 * SECURITY.  Everything here is built from mail: the Subject is any
 * sender's text, the envelope addresses are what the client said.  So:
 * every byte written goes through put_utf8, which checks it against the
 * room left and cuts at a character boundary; a count is never decremented
 * below zero; iconv writes into a scratch chunk with room to spare and only
 * whole characters are copied out; a charset name from mail reaches
 * iconv_open only when it is a plain name (letters, digits, "-_.:+"), so
 * no "//TRANSLIT"-style suffix and no empty name (the locale's charset);
 * every scan of the Subject is linear (the "?=" search is remembered).
 * Placeholders are replaced by whole arguments only: a value is one argv
 * word whatever it holds (blanks, quotes, a leading '-').
 *
 * Must never: write outside OUT/SIZE, leave OUT without its NUL, loop
 * without consuming input, split a UTF-8 character.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spawn_argv.h"
#include "utf8.h"
#include "util.h"

#define CONV_CHUNK	256	/* iconv output per call */
#define CONV_SLACK	32	/* past what iconv is told: an overrun lands here */
#define CHARSET_MAX	40	/* longest charset name taken from mail */
#define STR_(x)		#x
#define STR(x)		STR_(x)

/* ---- bounded output ----------------------------------------------------- */

/* put_utf8 - N bytes of UTF-8 at SRC appended to OUT (SIZE, *OL used,
 * *OL < SIZE): all of them, or the longest prefix that fits and ends at a
 * character boundary.  0 all written, -1 OUT is full. */
static int
put_utf8(const char *src, size_t n, char *out, size_t size, size_t *ol)
{
	size_t room = size - 1 - *ol, k;

	if (n <= room) {
		memcpy(out + *ol, src, n);
		*ol += n;
		out[*ol] = '\0';
		return 0;
	}
	k = room;		/* src[k] exists: k < n */
	while (k > 0 && ((unsigned char)src[k] & 0xc0) == 0x80)
		k--;
	memcpy(out + *ol, src, k);
	*ol += k;
	out[*ol] = '\0';
	return -1;
}

/* charset_plain - 1 when CS is a charset name iconv may be given. */
static int
charset_plain(const char *cs)
{
	size_t n = 0;

	for (; *cs; cs++, n++) {
		unsigned char c = (unsigned char)*cs;

		if (n == CHARSET_MAX || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == ':' || c == '+'))
			return 0;
	}
	return n > 0;
}

/* conv_open - a converter from CS (mapped to what glibc knows best) to
 * UTF-8; ISO-8859-1 for a name that is not plain or not known. */
static iconv_t
conv_open(const char *cs)
{
	iconv_t cd;

	if (strcasecmp(cs, "shift_jis") == 0 || strcasecmp(cs, "sjis") == 0 ||
	    strcasecmp(cs, "x-sjis") == 0)
		cs = "CP932";
	else if (strcasecmp(cs, "iso-2022-jp") == 0)
		cs = "ISO-2022-JP-3";
	cd = charset_plain(cs) ? iconv_open("UTF-8", cs) : (iconv_t)-1;
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", "ISO-8859-1");
	return cd;
}

int
spawn_conv_append(const char *charset, const char *in, size_t len, char *out,
    size_t size, size_t *ol)
{
	char tmp[CONV_CHUNK + CONV_SLACK], *ip = (char *)in, *op;
	size_t il = len, left, r;
	iconv_t cd;
	int full = 0, err;

	if (size == 0)
		return -1;
	if (*ol >= size) {		/* a caller's bad count: never past SIZE */
		*ol = size - 1;
		out[*ol] = '\0';
		return -1;
	}
	if (len == 0)
		return 0;
	if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "us-ascii") == 0) {
		if (utf8_valid(in, len))
			return put_utf8(in, len, out, size, ol);
		charset = "CP932";	/* raw 8-bit that is not UTF-8 */
	}
	cd = conv_open(charset);
	if (cd == (iconv_t)-1)
		return 0;		/* no converter at all: left out */
	while (il > 0 && !full) {
		op = tmp;
		left = CONV_CHUNK;
		r = iconv(cd, &ip, &il, &op, &left);
		err = r == (size_t)-1 ? errno : 0;
		if (put_utf8(tmp, (size_t)(op - tmp), out, size, ol) == -1) {
			full = 1;
			break;
		}
		if (err == 0)
			break;
		if (err == E2BIG && op > tmp)
			continue;	/* the chunk was full: go on */
		if (err == EILSEQ) {
			full = put_utf8("?", 1, out, size, ol) == -1;
			ip++;		/* an invalid byte: mark it, go on */
			il--;
		} else if (err == EINVAL) {
			full = put_utf8("?", 1, out, size, ol) == -1;
			il = 0;		/* a character cut at the end */
		} else
			break;		/* nothing converted and no reason: stop */
	}
	if (!full) {
		/* back to the initial shift state (stateful charsets) */
		op = tmp;
		left = CONV_CHUNK;
		if (iconv(cd, NULL, NULL, &op, &left) != (size_t)-1 || op > tmp)
			full = put_utf8(tmp, (size_t)(op - tmp), out, size, ol) == -1;
	}
	iconv_close(cd);
	return full ? -1 : 0;
}

/* ---- SUBJECT ------------------------------------------------------------ */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* decode_word - the text T (TL bytes) of one encoded word (RFC 2047 B or
 * Q) into OUT, which has room for TL bytes (neither encoding grows).  Its
 * length, or -1 (a B text with a character outside the alphabet). */
static long
decode_word(char enc, const char *t, size_t tl, char *out)
{
	size_t i, o = 0;
	unsigned acc = 0;
	int bits = 0, v, h1, h2;

	if (enc == 'B' || enc == 'b') {
		for (i = 0; i < tl; i++) {
			if (t[i] == '=')
				break;
			if ((v = b64val((unsigned char)t[i])) < 0)
				return -1;
			acc = (acc << 6 | (unsigned)v) & 0xffffff;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (char)(acc >> bits & 0xff);
			}
		}
		return (long)o;
	}
	for (i = 0; i < tl; i++) {
		if (t[i] == '_')
			out[o++] = ' ';
		else if (t[i] == '=' && i + 2 < tl &&
		    (h1 = hexval((unsigned char)t[i + 1])) >= 0 &&
		    (h2 = hexval((unsigned char)t[i + 2])) >= 0) {
			out[o++] = (char)(h1 << 4 | h2);
			i += 2;
		} else
			out[o++] = t[i];
	}
	return (long)o;
}

/* an encoded word found at the reading position */
struct eword {
	char		 charset[CHARSET_MAX + 1];
	char		 enc;
	const char	*text;		/* its encoded text */
	size_t		 tlen;
	const char	*next;		/* just past its "?=" */
};

/* the "?=" search, remembered so a Subject full of "=?" stays linear */
struct endcache {
	const char	*from;		/* searched from here (NULL: never) */
	const char	*found;		/* the first "?=" at or after FROM, or NULL */
};

/* find_end - the first "?=" at or after P. */
static const char *
find_end(struct endcache *c, const char *p)
{
	if (c->from == NULL || p < c->from || (c->found && c->found < p)) {
		c->from = p;
		c->found = strstr(p, "?=");
	}
	return c->found;
}

/* eword_at - 1 when P starts an encoded word "=?CHARSET?B|Q?TEXT?=" (into
 * W), else 0. */
static int
eword_at(const char *p, struct endcache *c, struct eword *w)
{
	const char *cs = p + 2, *e1;
	size_t n;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	for (n = 0; n <= CHARSET_MAX && cs[n] && cs[n] != '?'; n++)
		;
	if (n == 0 || n > CHARSET_MAX || cs[n] != '?')
		return 0;
	e1 = cs + n;
	if (strchr("BbQq", e1[1]) == NULL || e1[1] == '\0' || e1[2] != '?')
		return 0;
	w->enc = e1[1];
	w->text = e1 + 3;
	if ((w->next = find_end(c, w->text)) == NULL)
		return 0;
	w->tlen = (size_t)(w->next - w->text);
	w->next += 2;
	memcpy(w->charset, cs, n);
	w->charset[n] = '\0';
	if (strchr(w->charset, '*'))
		*strchr(w->charset, '*') = '\0';	/* RFC 2231 language */
	return 1;
}

/* blanks - N spaces appended; 0, or -1 when OUT is full. */
static int
blanks(size_t n, char *out, size_t size, size_t *ol)
{
	for (; n > 0; n--)
		if (put_utf8(" ", 1, out, size, ol) == -1)
			return -1;
	return 0;
}

size_t
spawn_subject_utf8(const char *raw, char *out, size_t size)
{
	const char *p = raw, *pending = NULL, *q;
	struct endcache ec = { NULL, NULL };
	struct eword w;
	size_t ol = 0, i, l, plain;
	int last_word = 0, full = 0;
	char dec[CONV_CHUNK];

	if (size == 0)
		return 0;
	out[0] = '\0';
	while (*p && !full) {
		if (eword_at(p, &ec, &w)) {
			/* neither B nor Q grows: TLEN bytes hold the result */
			char *buf = w.tlen > sizeof(dec) ? xmalloc(w.tlen) : dec;
			long dl = decode_word(w.enc, w.text, w.tlen, buf);

			if (dl >= 0) {
				pending = NULL;	/* no blank between two words */
				full = spawn_conv_append(w.charset, buf, (size_t)dl,
				    out, size, &ol) == -1;
			}
			if (buf != dec)
				free(buf);
			if (dl >= 0) {
				p = w.next;
				last_word = 1;
				continue;
			}
		}
		if ((*p == ' ' || *p == '\t') && last_word) {
			/* blanks after a word: kept only if text follows */
			if (pending == NULL)
				pending = p;
			p++;
			continue;
		}
		if (pending) {
			if (blanks((size_t)(p - pending), out, size, &ol) == -1)
				break;
			pending = NULL;
		}
		last_word = 0;
		/* a run of plain text up to the next "=?" (a "=?" that is no
		 * word is text: at least its first byte is taken) */
		q = p + 1;
		while (*q && !(q[0] == '=' && q[1] == '?'))
			q++;
		plain = (size_t)(q - p);
		l = plain;
		/* trailing blanks apart: they may separate two words */
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		full = spawn_conv_append("utf-8", p, l, out, size, &ol) == -1;
		if (!full)
			full = blanks(plain - l, out, size, &ol) == -1;
		p = q;
	}
	for (i = 0; i < ol; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return ol;
}

/* ---- the argument vector ------------------------------------------------ */

int
spawn_split_command(char *cmd, char **argv, int max)
{
	char *r = cmd, *w = cmd;
	int n = 0, quote;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0')
			return n;
		if (n >= max)
			return -1;
		argv[n++] = w;
		quote = 0;
		while (*r && (quote || (*r != ' ' && *r != '\t'))) {
			if (*r == '"')
				quote = !quote;
			else
				*w++ = *r;	/* w never passes r */
			r++;
		}
		if (quote)
			return -1;
		if (*r)
			r++;
		*w++ = '\0';
	}
}

int
spawn_argv_build(char *cmd, const char *const *args,
    const struct spawn_values *vals, struct spawn_argv *a, const char **why)
{
	char *words[SPAWN_WORDS_MAX];
	int nw, i, subject = 0;

	a->argc = 0;
	a->argv[0] = NULL;
	a->need_mailfile = 0;
	a->subject[0] = '\0';
	memset(a->mailfile, 0, sizeof(a->mailfile));
	nw = spawn_split_command(cmd, words, SPAWN_WORDS_MAX);
	if (nw <= 0) {
		*why = "the command is empty, has an unbalanced quote or more than "
		    STR(SPAWN_WORDS_MAX) " words";
		return -1;
	}
	for (i = 0; i < nw; i++)	/* SPAWN_WORDS_MAX < SPAWN_ARGV_MAX */
		a->argv[a->argc++] = words[i];
	for (i = 0; args && args[i]; i++) {
		if (a->argc >= SPAWN_ARGV_MAX) {
			a->argv[a->argc] = NULL;
			*why = "more than " STR(SPAWN_ARGV_MAX) " arguments";
			return -1;
		}
		a->argv[a->argc++] = (char *)args[i];
	}
	a->argv[a->argc] = NULL;
	/* the placeholders: whole arguments only, the program itself never */
	for (i = 1; vals && i < a->argc; i++) {
		const char *v = a->argv[i];

		if (strcmp(v, "FROM_ADDRESS") == 0)
			a->argv[i] = (char *)(vals->from ? vals->from : "");
		else if (strcmp(v, "TO_ADDRESS") == 0)
			a->argv[i] = (char *)(vals->to ? vals->to : "");
		else if (strcmp(v, "SUBJECT") == 0) {
			if (!subject)
				spawn_subject_utf8(vals->subject_raw ?
				    vals->subject_raw : "", a->subject,
				    sizeof(a->subject));
			subject = 1;
			a->argv[i] = a->subject;
		} else if (strcmp(v, "MAILFILE_PATH") == 0) {
			a->mailfile[i] = 1;
			a->need_mailfile = 1;
		}
	}
	return 0;
}
