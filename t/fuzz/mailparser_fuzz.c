/*
 * t/fuzz/mailparser_fuzz.c - libFuzzer target for yubin-mailparser's MIME
 * walk (lib/mailparser.c): the input is a whole message file.  Every part
 * is transfer-decoded and its file name sanitized; a sanitized name must
 * never hold '/' or start with '.', nor pass MP_SAFE_MAX bytes.
 */
#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mailparser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_part(void *ctx, const struct mp_part *p)
{
	char safe[MP_SAFE_MAX + 1];
	struct buf b;
	size_t bad, n;

	(void)ctx;
	if (p->body < (const char *)ctx || p->hdr < (const char *)ctx)
		abort();
	buf_init(&b, 1 << 22);
	if (mp_decode(p, &b, &bad) == 0 && p->blen > 0 && b.len == 0 && bad == 0 &&
	    p->cte[0] == '\0')
		abort();	/* an unencoded body is copied whole */
	buf_free(&b);
	n = mp_filename_sanitize(p->filename, strlen(p->filename), safe,
	    sizeof(safe));
	if (n > MP_SAFE_MAX || n != strlen(safe) || strchr(safe, '/') != NULL ||
	    (n > 0 && safe[0] == '.'))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned warn;
	const char *why;
	char *msg = malloc(size + 1);

	if (msg == NULL)
		return 0;
	memcpy(msg, data, size);
	(void)mp_parse(msg, size, on_part, msg, &warn, &why);
	free(msg);
	return 0;
}
