/*
 * t/fuzz/qcommit_fuzz.c - libFuzzer target for the group-commit request
 * (qc_decode, lib/qcommit.c): the committer takes packets from workers,
 * which run as the server user and may be broken.  A packet that decodes
 * must encode again to the same bytes; nothing may read past the packet.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "qcommit.h"
#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ids[QC_SET_MAX], *why;
	char idbuf[QC_SET_MAX][QUEUE_ID_LEN + 1];
	struct buf recs[QC_SET_MAX], out;
	struct qc_req r;
	size_t i;
	void *p;

	p = malloc(size ? size : 1);
	if (p == NULL)
		abort();
	memcpy(p, data, size);
	if (qc_decode(p, size, &r, &why) == 0) {
		for (i = 0; i < r.n; i++) {
			memcpy(idbuf[i], r.id[i], QUEUE_ID_LEN);
			idbuf[i][QUEUE_ID_LEN] = '\0';
			ids[i] = idbuf[i];
			buf_init(&recs[i], 0);
			buf_append(&recs[i], r.rec[i], r.reclen[i]);
		}
		buf_init(&out, 0);
		if (size <= QC_MSG_MAX) {
			if (qc_encode(&out, ids, recs, r.n, r.once, r.oncelen,
			    r.expires) != 0 || out.len != size ||
			    memcmp(out.data, p, size) != 0)
				abort();
		}
		buf_free(&out);
		for (i = 0; i < r.n; i++)
			buf_free(&recs[i]);
	}
	free(p);
	return 0;
}
