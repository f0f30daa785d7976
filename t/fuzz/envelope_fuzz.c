/*
 * t/fuzz/envelope_fuzz.c - libFuzzer target for the queue envelope record
 * (envelope_decode, lib/queue.c): a record read back from LMDB may be
 * damaged.  A record that decodes must encode again and decode to the same
 * encoding (round trip); nothing may read past the record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e, e2;
	struct buf b1, b2;
	void *p;

	p = malloc(size ? size : 1);
	if (p == NULL)
		abort();
	memcpy(p, data, size);
	memset(&e, 0, sizeof(e));
	if (envelope_decode(&e, p, size) == 0) {
		buf_init(&b1, 0);
		buf_init(&b2, 0);
		envelope_encode(&e, &b1);
		memset(&e2, 0, sizeof(e2));
		if (envelope_decode(&e2, b1.data, b1.len) != 0)
			abort();
		envelope_encode(&e2, &b2);
		if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
			abort();
		envelope_clear(&e2);
		buf_free(&b1);
		buf_free(&b2);
	}
	envelope_clear(&e);
	free(p);
	return 0;
}
