/*
 * t/fuzz/dlvjob_fuzz.c - libFuzzer target for the delivery-job datagram
 * (dlv_job_decode, daemon/agent.c), which a delivery agent reads from
 * the queue manager's socket.  A datagram that decodes must encode again
 * to a datagram that decodes to the same encoding; nothing may read past
 * the datagram (the decoder gets a copy of exactly SIZE bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dlv_job j, j2;
	struct buf b1, b2;
	char *p;

	if (size > DLV_JOB_MAX)
		return 0;
	p = malloc(size ? size : 1);
	if (p == NULL)
		abort();
	memcpy(p, data, size);
	memset(&j, 0, sizeof(j));
	if (dlv_job_decode(&j, p, size) == 0) {
		buf_init(&b1, 0);
		buf_init(&b2, 0);
		if (dlv_job_encode(&j, &b1) == 0) {
			memset(&j2, 0, sizeof(j2));
			if (dlv_job_decode(&j2, b1.data, b1.len) != 0)
				abort();
			if (dlv_job_encode(&j2, &b2) != 0 || b1.len != b2.len ||
			    memcmp(b1.data, b2.data, b1.len) != 0)
				abort();
			dlv_job_free(&j2);
		}
		buf_free(&b1);
		buf_free(&b2);
		dlv_job_free(&j);
	}
	free(p);
	return 0;
}
