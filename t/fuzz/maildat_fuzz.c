/*
 * t/fuzz/maildat_fuzz.c - libFuzzer target for the maildat plugin's
 * untrusted-input code: the mail.dat rule parser (md_parse), the MIME walk
 * and decoders (md_mime_decode, md_2047, base64, quoted-printable), the
 * message reader and matcher (md_msg_load, md_table_match) and the URI
 * domain finder.  Every input goes through all of them.
 *
 *   make fuzz                      builds build-fuzz/maildat_fuzz (clang)
 *   build-fuzz/maildat_fuzz -max_total_time=60 [CORPUS]
 *
 * The matcher's table has no RBL: rule, so nothing here touches the
 * network; the yh_* functions the code calls are stubs.  The body search
 * with its byte-pair shortcut (md_body_has) is checked against memmem on
 * slices of the decoded body: a difference aborts.
 */
#include "../../plugins/maildat/maildat.h"
#include "../lib/maildat_stubs.inc"

#include <sys/mman.h>

void
yh_log(enum yh_level lvl, const char *fmt, ...)
{
	(void)lvl;
	(void)fmt;
}

static const char fuzz_rules[] =
    "Virus:s\nSubject:迷惑\nLevel:100\nVirusEnd:\n"
    "Virus:b\nX-UIDL:#blank\nFrom:/^(a|aa)+$/i\nLevel:400\nTag:X-A:b\nVirusEnd:\n"
    "Virus:c\nUnique-Header:X-Spam:true\nBody:\nfree\n/w+\\.example/\nBodyEnd:\n"
    "Level:300\nTag:[SPAM]\nVirusEnd:\n";

/* fuzz_body_search - md_body_has against plain memmem, for tokens cut
 * from the decoded body (they occur) and from the input (they may not). */
static void
fuzz_body_search(struct md_msg *m, const uint8_t *data, size_t size)
{
	struct md_tok t;
	const char *src;
	size_t off, len, k;
	int want;

	md_body_decode(m, 1 << 16);
	for (k = 0; k < 8; k++) {
		src = k & 1 ? m->body_low : (const char *)data;
		len = k & 1 ? m->body.len : size;
		if (len == 0)
			continue;
		off = (size_t)data[k % size] * 131 % len;
		len = 1 + (size_t)data[(k + 1) % size] % 24;
		if (off + len > (k & 1 ? m->body.len : size))
			continue;
		memset(&t, 0, sizeof(t));
		t.lit = md_strndup(src + off, len);
		t.litlen = len;
		md_lower(t.lit, len);
		want = memmem(m->body_low, m->body.len, t.lit, len) != NULL;
		if (md_body_has(m, &t) != want)
			abort();
		free(t.lit);
	}
}

static struct md_table *fuzz_table;
static int fuzz_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char doms[MD_RBL_DOMAINS][MD_DOMAIN_MAX + 1], hit[MD_DOMAIN_MAX + 1];
	struct md_errs e;
	struct md_table *t;
	struct md_text txt;
	struct md_msg m;
	char *out;

	if (fuzz_table == NULL) {
		memset(&e, 0, sizeof(e));
		fuzz_table = md_parse("fuzz", fuzz_rules, sizeof(fuzz_rules) - 1, &e);
		if (fuzz_table == NULL)
			abort();
		md_errs_free(&e);
		fuzz_fd = memfd_create("maildat_fuzz", 0);
		if (fuzz_fd == -1)
			abort();
	}

	/* the rule parser */
	memset(&e, 0, sizeof(e));
	t = md_parse("fuzz", in, size, &e);
	md_table_free(&t);
	md_warns_free(&e);
	md_errs_free(&e);

	/* the decoders */
	md_text_init(&txt, 1 << 16);
	md_mime_decode(&txt, in, size);
	md_text_free(&txt);
	md_text_init(&txt, 1 << 16);
	md_2047(&txt, in, size);
	md_text_free(&txt);
	out = md_alloc(size + 4);
	(void)md_b64(in, size, out);
	(void)md_qp(in, size, out, size & 1);
	free(out);
	(void)md_uri_domains(in, size, doms);

	/* a whole message through the reader and the matcher */
	if (ftruncate(fuzz_fd, 0) == 0 &&
	    pwrite(fuzz_fd, in, size, 0) == (ssize_t)size &&
	    md_msg_load(&m, fuzz_fd, 1, 1 << 16) == 0) {
		(void)md_table_match(fuzz_table, &m, 1 << 16, 1, hit, sizeof(hit));
		fuzz_body_search(&m, data, size);
		md_msg_free(&m);
	}
	return 0;
}
