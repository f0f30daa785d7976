/*
 * t/fuzz/config_fuzz.c - libFuzzer target for the configuration parsers
 * (lib/config.c): the same input is read as yubin.conf (config_load:
 * sections, keys, every value type, [plugin NAME] sections) and as an
 * account's config.def (config_account over the compiled-in defaults:
 * seed key names, comments, per-account keys).  Both files sit in a
 * private temporary folder; a refusal must carry at least one
 * "file:line: message", and a loaded configuration is printed (every
 * value read back).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#include "tmpdir.inc"

static char dir[256];
static char conf[300], def[300];

static struct config *base;
static FILE *devnull;

static void
put(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	struct errlist errs;

	if (base == NULL) {
		fuzz_tmp(dir, sizeof(dir), "yubin-fuzz-config");
		snprintf(conf, sizeof(conf), "%s/yubin.conf", dir);
		snprintf(def, sizeof(def), "%s/config.def", dir);
		errlist_init(&errs);
		if (config_load(&base, NULL, NULL, 0, &errs) == -1)
			abort();
		errlist_free(&errs);
		devnull = fopen("/dev/null", "w");
		if (devnull == NULL)
			abort();
	}
	put(conf, data, size);
	errlist_init(&errs);
	if (config_load(&cfg, conf, NULL, 0, &errs) == 0) {
		config_print(cfg, devnull);
		config_free(&cfg);
	} else if (errlist_count(&errs) == 0)
		abort();
	errlist_free(&errs);

	put(def, data, size);
	errlist_init(&errs);
	if (config_account(base, def, &cfg, &errs) == 0)
		config_free(&cfg);
	else if (errlist_count(&errs) == 0)
		abort();
	errlist_free(&errs);
	return 0;
}
