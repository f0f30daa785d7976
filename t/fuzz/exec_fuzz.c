/*
 * t/fuzz/exec_fuzz.c - libFuzzer target for the exec plugin's exec.def
 * reader (plugins/exec.c: def_load -- key=value lines, paramN, bin=,
 * permission_mailaddress) and the sender check (permitted).  The input is
 * the user's exec.def; nothing is run.
 */
#include "../../plugins/exec.c"

#include "userfiles.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const senders[] = { "", "alice@example.org",
	    "x@sub.example.org", "-f@example.org" };
	char path[256];
	struct def d;
	size_t i;

	uf_put("exec.def", data, size);
	snprintf(path, sizeof(path), "%s/exec.def", uf_init());
	if (def_load(path, &d) == 1) {
		if (d.bin == NULL || *d.bin == '\0')
			abort();
		for (i = 0; i < sizeof(senders) / sizeof(senders[0]); i++)
			if (d.permit != NULL)
				(void)permitted(d.permit, senders[i]);
		def_free(&d);
	}
	return 0;
}
