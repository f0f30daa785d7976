/*
 * t/fuzz/mlfile_fuzz.c - libFuzzer target for the list files
 * (lib/mlfile.c): the input is read as ml_member.csv (ml_list_parse) and
 * as ml.def (ml_def_parse), from memory.  A refusal must carry at least one
 * message; an accepted member list is written out (with and without its
 * comments) and must read back with the same members, every member found;
 * the first member is removed and added again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
members(const char *text, size_t size)
{
	struct ml_list l, back;
	struct ml_errs e;
	const char *why;
	char *out;
	size_t len, i;
	int comments;

	ml_list_init(&l);
	ml_errs_init(&e);
	if (ml_list_parse(&l, "m.csv", text, size, &e) == -1) {
		if (ml_errs_count(&e) == 0)
			abort();
		goto done;
	}
	for (comments = 0; comments < 2; comments++) {
		if (ml_list_format(&l, comments, &out, &len) == -1)
			abort();
		ml_list_init(&back);
		if (ml_list_parse(&back, "out", out, len, &e) == -1 ||
		    back.members != l.members)
			abort();
		for (i = 0; i < l.n; i++)
			if (l.v[i].addr && ml_list_find(&back, l.v[i].addr) < 0)
				abort();
		ml_list_free(&back);
		free(out);
	}
	for (i = 0; i < l.n; i++)
		if (l.v[i].addr) {
			char *a = strdup(l.v[i].addr), *n = strdup(l.v[i].name);

			if (a == NULL || n == NULL || ml_list_del(&l, a) != 1 ||
			    ml_list_find(&l, a) != -1 ||
			    ml_list_add(&l, n, a, &why) != 1 ||
			    ml_list_find(&l, a) < 0)
				abort();
			free(a);
			free(n);
			break;
		}
done:
	ml_errs_free(&e);
	ml_list_free(&l);
}

static void
def(const char *text, size_t size)
{
	struct ml_errs e;
	struct ml_def d;
	int i;

	if (ml_def_init(&d) == -1)
		abort();
	ml_errs_init(&e);
	if (ml_def_parse(&d, "ml.def", text, size, &e) == -1) {
		if (ml_errs_count(&e) == 0)
			abort();
	} else {
		for (i = 0; i < ML_NKEYS; i++)
			if (ml_keys[i].type != ML_T_INT &&
			    ml_keys[i].type != ML_T_BOOL && d.str[i] == NULL)
				abort();
	}
	ml_errs_free(&e);
	ml_def_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	members((const char *)data, size);
	def((const char *)data, size);
	return 0;
}
