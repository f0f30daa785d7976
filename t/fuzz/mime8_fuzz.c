/*
 * t/fuzz/mime8_fuzz.c - libFuzzer target for the 8BITMIME downgrade
 * (mime8_downgrade, daemon/mime8.c): the input is a whole message as a
 * client sent it (headers, multipart nesting, boundaries, 8-bit bodies).
 * A 7-bit message must come out byte for byte (mime8.h promises it).
 */
#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mime8.h"

static int in_fd = -1, out_fd = -1;
static char out[1 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	ssize_t n;
	size_t i;
	int ascii = 1;

	if (in_fd == -1) {
		in_fd = memfd_create("mime8_in", 0);
		out_fd = memfd_create("mime8_out", 0);
		if (in_fd == -1 || out_fd == -1)
			abort();
	}
	if (ftruncate(in_fd, 0) == -1 || ftruncate(out_fd, 0) == -1 ||
	    pwrite(in_fd, data, size, 0) != (ssize_t)size ||
	    lseek(in_fd, 0, SEEK_SET) == -1 || lseek(out_fd, 0, SEEK_SET) == -1)
		abort();
	err[0] = '\0';
	if (mime8_downgrade(in_fd, out_fd, err, sizeof(err)) == 0) {
		for (i = 0; i < size && ascii; i++)
			ascii = data[i] < 0x80;
		n = pread(out_fd, out, sizeof(out), 0);
		if (ascii && size < sizeof(out) &&
		    (n != (ssize_t)size || memcmp(out, data, size) != 0))
			abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	return 0;
}
