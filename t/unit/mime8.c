/*
 * t/unit/mime8.c - the 8BITMIME downgrade (mime8_downgrade): exact output
 * for plain 8-bit text, a multipart with an 8-bit text part and a binary
 * attachment, nested multiparts with an embedded message, malformed
 * boundaries; 7-bit input comes out byte-identical; encoded bodies decode
 * back to the input; long lines, deep nesting, 8-bit headers; read, write
 * and header-size errors; and a fixed-seed mutation run that must never
 * fail (run it under ASan: make check-asan).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "buf.h"
#include "mime8.h"
#include "util.h"

static char tmpdir[256];

/* run - IN (LEN bytes) through mime8_downgrade: its result; the output in
 * OUT (reset first), the message in ERR. */
static int
run(const char *in, size_t len, struct buf *out, char *err, size_t errsize)
{
	char ip[300], op[300], chunk[4096];
	int ifd, ofd, r;
	ssize_t n;

	snprintf(ip, sizeof(ip), "%s/in.XXXXXX", tmpdir);
	snprintf(op, sizeof(op), "%s/out.XXXXXX", tmpdir);
	if ((ifd = mkstemp(ip)) == -1 || (ofd = mkstemp(op)) == -1)
		return -2;
	if (write_all(ifd, in, len) == -1)
		return -2;
	/* the offset is not where the message starts: pread from 0 */
	r = mime8_downgrade(ifd, ofd, err, errsize);
	buf_reset(out);
	lseek(ofd, 0, SEEK_SET);
	while ((n = read(ofd, chunk, sizeof(chunk))) > 0)
		buf_append(out, chunk, (size_t)n);
	close(ifd);
	close(ofd);
	unlink(ip);
	unlink(op);
	return r;
}

/* body_7bit - 1 when no octet after the first empty line is above 127. */
static int
body_7bit(const struct buf *b)
{
	const char *p = b->data ? memmem(b->data, b->len, "\n\n", 2) : NULL;
	size_t i;

	if (p == NULL)
		return 1;
	for (i = (size_t)(p - b->data); i < b->len; i++)
		if ((unsigned char)b->data[i] >= 0x80)
			return 0;
	return 1;
}

/* expect - IN must come out as WANT. */
static void
expect(const char *name, const char *in, const char *want)
{
	struct buf out;
	char err[256];

	buf_init(&out, 0);
	is_int(run(in, strlen(in), &out, err, sizeof(err)), 0, "%s: converted", name);
	is_str(buf_cstr(&out), want, "%s: output", name);
	ok(body_7bit(&out), "%s: 7-bit body", name);
	buf_free(&out);
}

/* same - IN must come out byte for byte. */
static void
same(const char *name, const char *in, size_t len)
{
	struct buf out;
	char err[256];

	buf_init(&out, 0);
	is_int(run(in, len, &out, err, sizeof(err)), 0, "%s: converted", name);
	ok(out.len == len && memcmp(out.data ? out.data : "", in, len) == 0,
	    "%s: byte-identical", name);
	buf_free(&out);
}

static void
test_plain(void)
{
	expect("plain 8-bit text, no MIME header",
	    "From: a@example.org\nSubject: t\n\n"
	    "Hallo W\xc3\xa9lt, \xc3\xa7" "a va?  \nline2 = x\t\nend\n",
	    "From: a@example.org\nSubject: t\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "Hallo W=C3=A9lt, =C3=A7a va? =20\nline2 =3D x=09\nend\n");
	expect("not UTF-8: unknown-8bit",
	    "Subject: t\n\nCaf\xe9\n",
	    "Subject: t\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=unknown-8bit\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nCaf=E9\n");
	expect("declared text, 8bit label replaced",
	    "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: 8bit\nX-After: kept\n\n\xe9t\xe9 ici\n",
	    "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
	    "X-After: kept\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n=E9t=E9 ici\n");
	expect("no line end at the end: a soft one",
	    "Subject: t\n\nd\xe9j\xe0 vu",
	    "Subject: t\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=unknown-8bit\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nd=E9j=E0 vu=\n");
	expect("mostly 8-bit short text: base64",
	    "Subject: t\n\n\xe9\n",
	    "Subject: t\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=unknown-8bit\n"
	    "Content-Transfer-Encoding: base64\n\n6Q0K\n");
}

/* b64_body - the base64 lines of OUT after the first empty line, decoded
 * into DEC. */
static int
b64_body(const struct buf *out, struct buf *dec)
{
	const char *p = memmem(out->data, out->len, "\n\n", 2), *nl;
	struct buf joined;
	int r;

	buf_init(&joined, 0);
	for (p = p ? p + 2 : out->data + out->len; p < out->data + out->len;
	    p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(out->data + out->len - p));
		if (nl == NULL)
			nl = out->data + out->len;
		if (nl - p > 76)
			return -1;
		buf_append(&joined, p, (size_t)(nl - p));
	}
	r = b64_decode(joined.data ? joined.data : "", joined.len, dec);
	buf_free(&joined);
	return r;
}

static void
test_mostly_8bit(void)
{
	static const char jp[] = "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81"
	    "\xa1\xe3\x81\xaf\xe4\xb8\x96\xe7\x95\x8c\n";	/* "konnichiwa sekai" */
	struct buf in, out, dec, want;
	char err[256];
	int i;

	buf_init(&in, 0);
	buf_init(&out, 0);
	buf_init(&dec, 0);
	buf_init(&want, 0);
	buf_puts(&in, "Content-Type: text/plain; charset=utf-8\n\n");
	for (i = 0; i < 10; i++) {
		buf_puts(&in, jp);
		buf_puts(&want, jp);
		want.len--;
		buf_puts(&want, "\r\n");	/* canonical line ends in base64 */
	}
	is_int(run(in.data, in.len, &out, err, sizeof(err)), 0, "Japanese text");
	ok(strncmp(buf_cstr(&out), "Content-Type: text/plain; charset=utf-8\n"
	    "MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n", 93) == 0,
	    "mostly 8-bit text: base64 (and MIME-Version added)");
	is_int(b64_body(&out, &dec), 0, "base64 lines of 76 decode");
	ok(dec.len == want.len && memcmp(dec.data, want.data, dec.len) == 0,
	    "decodes to the text with CRLF line ends");
	buf_free(&in);
	buf_free(&out);
	buf_free(&dec);
	buf_free(&want);
}

static void
test_multipart(void)
{
	static const char in[] =
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"XYZ\"\n\n"
	    "pre\xe9" "amble\n"
	    "--XYZ\n"
	    "Content-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: 8bit\n\n"
	    "Caf\xe9 au lait\n\n"
	    "--XYZ \n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: binary\n\n"
	    "\x00\x01\xff\xfe abc\n"
	    "--XYZ--\n"
	    "epilogue\xff\n";
	static const char want[] =
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"XYZ\"\n\n"
	    "pre?amble\n"
	    "--XYZ\n"
	    "Content-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "Caf=E9 au lait\n\n"
	    "--XYZ \n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "AAH//iBhYmM=\n"
	    "--XYZ--\n"
	    "epilogue?\n";
	struct buf out;
	char err[256];

	buf_init(&out, 0);
	is_int(run(in, sizeof(in) - 1, &out, err, sizeof(err)), 0,
	    "multipart: converted");
	is_str(buf_cstr(&out), want, "multipart: 8-bit text quoted-printable, "
	    "binary attachment base64, boundaries kept");
	buf_free(&out);

	expect("nested multipart and message/rfc822",
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=outer\n\n"
	    "--outer\n"
	    "Content-Type: multipart/alternative; boundary=\"inner\"\n\n"
	    "--inner\n"
	    "Content-Type: text/plain; charset=utf-8\n\n"
	    "na\xc3\xafve\n"
	    "--inner\n"
	    "Content-Type: text/html; charset=utf-8\n\n"
	    "<p>na\xc3\xafve</p>\n"
	    "--inner--\n"
	    "--outer\n"
	    "Content-Type: message/rfc822\n\n"
	    "Subject: inner\n\n"
	    "body \xc3\xa9\n"
	    "--outer--\n",
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=outer\n\n"
	    "--outer\n"
	    "Content-Type: multipart/alternative; boundary=\"inner\"\n\n"
	    "--inner\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "na=C3=AFve\n"
	    "--inner\n"
	    "Content-Type: text/html; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "<p>na=C3=AFve</p>\n"
	    "--inner--\n"
	    "--outer\n"
	    "Content-Type: message/rfc822\n\n"
	    "Subject: inner\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "body =C3=A9\n"
	    "--outer--\n");
	expect("multipart/digest parts are messages",
	    "Content-Type: multipart/digest; boundary=d\n\n"
	    "--d\n\nSubject: one\n\ncaf\xc3\xa9 noir\n--d--\n",
	    "Content-Type: multipart/digest; boundary=d\n\n"
	    "--d\n\nSubject: one\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 noir\n--d--\n");
}

static void
test_malformed(void)
{
	char big[MIME8_BOUNDARY_MAX + 80];

	expect("multipart without a boundary: one leaf",
	    "Content-Type: multipart/mixed\n\n--x\n\xe9\n--x--\n",
	    "Content-Type: multipart/mixed\nMIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "LS14DQrpDQotLXgtLQ0K\n");
	expect("the boundary never comes: one leaf",
	    "Content-Type: multipart/mixed; boundary=zz\n\n--x\nhi \xe9\n",
	    "Content-Type: multipart/mixed; boundary=zz\nMIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "LS14DQpoaSDpDQo=\n");
	expect("no close delimiter: the part ends with the message",
	    "Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\nhi \xe9\n",
	    "Content-Type: multipart/mixed; boundary=zz\n\n--zz\n"
	    "Content-Type: text/plain; charset=unknown-8bit\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nhi =E9\n");
	expect("an outer delimiter ends the inner multipart",
	    "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nin \xe9\n--a\n\nnext \xe9\n--a--\n",
	    "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain; charset=unknown-8bit\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nin =E9\n"
	    "--a\nContent-Type: text/plain; charset=unknown-8bit\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nnext =E9\n--a--\n");
	expect("delimiters after the close are epilogue",
	    "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\n\nx\n--a--\n--a\n\xe9\n",
	    "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\n\nx\n--a--\n--a\n?\n");
	expect("a part whose header never ends",
	    "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\nX-Only: header\n--a--\n",
	    "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\nX-Only: header\n--a--\n");
	expect("labelled quoted-printable with raw 8-bit: those escaped",
	    "Content-Type: text/plain\nContent-Transfer-Encoding: "
	    "quoted-printable\n\na=3D\xe9\n",
	    "Content-Type: text/plain\nContent-Transfer-Encoding: "
	    "quoted-printable\n\na=3D=E9\n");
	expect("labelled base64 with raw 8-bit: those left out",
	    "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
	    "iVBO\xffRw0K\n",
	    "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
	    "iVBORw0K\n");
	/* a boundary parameter too long to be one */
	memset(big, 'b', sizeof(big));
	snprintf(big, sizeof(big), "Content-Type: multipart/mixed; boundary=");
	big[strlen(big)] = 'b';
	big[sizeof(big) - 1] = '\0';
	{
		struct buf in, out;
		char err[256];

		buf_init(&in, 0);
		buf_init(&out, 0);
		buf_printf(&in, "%s\n\n--x\n\xe9\n", big);
		is_int(run(in.data, in.len, &out, err, sizeof(err)), 0,
		    "over-long boundary: converted");
		ok(strstr(buf_cstr(&out), "Content-Transfer-Encoding: base64\n") &&
		    body_7bit(&out), "over-long boundary: one base64 leaf");
		buf_free(&in);
		buf_free(&out);
	}
}

static void
test_identical(void)
{
	static const char plain[] = "From: a@example.org\nSubject: hi\n\nhello\n";
	static const char mp[] =
	    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=q\n"
	    "Content-Transfer-Encoding: 8bit\n\npre\n--q\n"
	    "Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n"
	    "ascii only, labelled 8bit\n--q\n"
	    "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
	    "JVBERi0xLjQK\n--q\nContent-Type: message/rfc822\n\n"
	    "Subject: in\n\nbody\n--q--\nepi\n";
	static const char headers8[] =
	    "Subject: \xe6\x97\xa5\xe6\x9c\xac\nFrom: a@example.org\n\nascii\n";
	static const char crlf[] = "Subject: x\r\n\r\nline\r\n";

	same("7-bit plain message", plain, sizeof(plain) - 1);
	same("7-bit multipart with 8bit labels and an embedded message", mp,
	    sizeof(mp) - 1);
	same("8-bit header left alone", headers8, sizeof(headers8) - 1);
	same("CR LF line ends", crlf, sizeof(crlf) - 1);
	same("no body", "Subject: x\n", 11);
	same("empty", "", 0);
	same("NUL but no 8-bit octet", "Subject: x\n\na\0b\n", 16);
}

/* qp_decode - quoted-printable (soft breaks, =XX) of P (N) into OUT. */
static void
qp_decode(const char *p, size_t n, struct buf *out)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (p[i] == '=' && i + 1 < n && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (p[i] == '=' && i + 2 < n && sscanf(p + i + 1, "%2X", &v) == 1) {
			buf_putc(out, (int)v);
			i += 2;
			continue;
		}
		buf_putc(out, p[i]);
	}
}

static void
test_long_lines(void)
{
	struct buf in, out, dec;
	const char *body, *p, *nl;
	size_t maxline = 0;
	char err[256];
	int i;

	buf_init(&in, 0);
	buf_init(&out, 0);
	buf_init(&dec, 0);
	buf_puts(&in, "Subject: long\n\n");
	for (i = 0; i < 10000; i++)
		buf_putc(&in, i % 97 == 0 ? 0xe9 : i % 13 == 0 ? ' ' : 'a' + i % 26);
	buf_puts(&in, " \nshort =\n");
	is_int(run(in.data, in.len, &out, err, sizeof(err)), 0,
	    "a 10000-octet line with 8-bit octets");
	body = strstr(buf_cstr(&out), "\n\n") + 2;
	for (p = body; *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if ((size_t)(nl - p) > maxline)
			maxline = (size_t)(nl - p);
	}
	ok(maxline <= 76, "quoted-printable lines at most 76 (%zu)", maxline);
	qp_decode(body, strlen(body), &dec);
	ok(dec.len == in.len - 15 && memcmp(dec.data, in.data + 15, dec.len) == 0,
	    "decodes back to the body");
	buf_free(&in);
	buf_free(&out);
	buf_free(&dec);
}

static void
test_deep(void)
{
	struct buf in, out;
	char err[256];
	int i;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (i = 0; i < 40; i++)
		buf_printf(&in, "Content-Type: multipart/mixed; boundary=b%d\n\n"
		    "--b%d\n", i, i);
	buf_puts(&in, "\ndeep \xe9\n");
	for (i = 39; i >= 0; i--)
		buf_printf(&in, "--b%d--\n", i);
	is_int(run(in.data, in.len, &out, err, sizeof(err)), 0,
	    "40 nested multiparts: converted");
	ok(body_7bit(&out), "past MIME8_DEPTH_MAX the rest is one 7-bit leaf");
	ok(strstr(buf_cstr(&out), "--b15\nContent-Type: multipart/mixed; "
	    "boundary=b16\nContent-Transfer-Encoding: base64\n") != NULL,
	    "the part at depth 16 is encoded whole");
	buf_free(&in);
	buf_free(&out);
}

static void
test_errors(void)
{
	struct buf in, out;
	char err[256], p[300];
	int fd, ro;

	buf_init(&in, 0);
	buf_init(&out, 0);
	buf_puts(&in, "Subject: x\n");
	while (in.len <= MIME8_HEADER_MAX)
		buf_puts(&in, "X-Filler: 0123456789012345678901234567890123456789\n");
	buf_puts(&in, "\nbody\n");
	is_int(run(in.data, in.len, &out, err, sizeof(err)), -1,
	    "a header block past 64 KiB refused");
	is_str(err, "a header block longer than 65536 bytes at offset 65495",
	    "  with its offset");

	err[0] = 'x';
	is_int(mime8_downgrade(-1, 1, err, sizeof(err)), -1, "bad input fd");
	is_str(err, "read: Bad file descriptor", "  read error");

	snprintf(p, sizeof(p), "%s/ro.XXXXXX", tmpdir);
	fd = mkstemp(p);
	write_all(fd, "Subject: x\n\n\xe9\n", 15);
	ro = open(p, O_RDONLY);
	is_int(mime8_downgrade(fd, ro, err, sizeof(err)), -1,
	    "output not writable");
	is_str(err, "write: Bad file descriptor", "  write error");
	close(ro);
	close(fd);
	unlink(p);
	/* a short error buffer is still terminated */
	is_int(mime8_downgrade(-1, 1, err, 5), -1, "short error buffer");
	is_str(err, "read", "  cut and terminated");
	buf_free(&in);
	buf_free(&out);
}

/* a fixed-seed mutation run: every result is 0 and every body 7-bit when
 * the mutation left the top header 7-bit */
static void
test_mutations(void)
{
	static const char base[] =
	    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n"
	    "--outer\nContent-Type: multipart/alternative; boundary=\"inner\"\n\n"
	    "--inner\nContent-Type: text/plain; charset=utf-8\n\nna\xc3\xafve\n"
	    "--inner\nContent-Type: text/html\n\n<p>\xe9</p>\n--inner--\n"
	    "--outer\nContent-Type: message/rfc822\n\nSubject: in\n\n\xc3\xa9\n"
	    "--outer\nContent-Type: application/octet-stream\n\n\x00\xff\n"
	    "--outer--\n";
	static const char *const inserts[] = { "--outer\n", "--inner--\n", "\n",
	    "\xff\xfe", "Content-Type: multipart/x; boundary=inner\n",
	    "Content-Transfer-Encoding: base64\n", "--outer--\n" };
	struct buf in, out;
	unsigned long seed = 20261202, fails = 0;
	char err[256];
	size_t pos, k;
	int i, j;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (i = 0; i < 2000; i++) {
		buf_reset(&in);
		buf_append(&in, base, sizeof(base) - 1);
		for (j = 0; j < 1 + i % 6; j++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			pos = (size_t)(seed >> 33) % in.len;
			switch ((seed >> 20) % 3) {
			case 0:
				in.data[pos] = (char)(seed >> 8);
				break;
			case 1:
				k = (seed >> 12) % 20;
				if (pos + k > in.len)
					k = in.len - pos;
				memmove(in.data + pos, in.data + pos + k,
				    in.len - pos - k);
				in.len -= k;
				break;
			default: {
				const char *s = inserts[(seed >> 40) % 7];
				size_t sl = strlen(s), tail = in.len - pos;

				buf_append(&in, s, sl);	/* grow, then shift */
				memmove(in.data + pos + sl, in.data + pos, tail);
				memcpy(in.data + pos, s, sl);
				break;
			}
			}
		}
		if (run(in.data, in.len, &out, err, sizeof(err)) != 0) {
			fails++;
			diag("mutation %d: %s", i, err);
		}
	}
	is_int(fails, 0, "2000 mutated messages: all converted");
	buf_free(&in);
	buf_free(&out);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	plan_no_plan();
	snprintf(tmpdir, sizeof(tmpdir), "%s/yubin-mime8-XXXXXX",
	    t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_plain();
	test_mostly_8bit();
	test_multipart();
	test_malformed();
	test_identical();
	test_long_lines();
	test_deep();
	test_errors();
	test_mutations();
	rmdir(tmpdir);
	return done_testing();
}
