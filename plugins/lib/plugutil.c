/*
 * plugutil.c - see plugutil.h.  Runs in whatever process calls the plugin,
 * as the server user; allocates only in pu_read_user (through the core's
 * yh_read_safe).  Must never write past a caller's buffer.
 */
#include <string.h>
#include <strings.h>

#include <yubin/hook.h>

#include "plugutil.h"

char *
pu_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
pu_scopy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		if (size)
			dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
pu_read_user(const char *path, size_t max, char **out, size_t *len_r)
{
	char why[128];
	int r = yh_read_safe(path, max, out, len_r, why, sizeof(why));

	if (r == -1)
		yh_log(YH_LOG_WARN, "%s: refused: %s", path, why);
	return r;
}

int
pu_yes(const char *v)
{
	return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0);
}
