/*
 * route.c - gateway.dat, smarthost and the routing decision; see route.h.
 * Runs in the master (yubind -t) and the queue manager; reads CONFDIR only.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "route.h"
#include "util.h"

struct route_line {
	char		*pattern;	/* lower case */
	struct route_dest d;
};

struct routes {
	struct route_line *v;
	size_t		   n;
};

static const char *const route_tls_names[] = { "none", "may", "encrypt", "verify" };

const char *
route_tls_name(int tls)
{
	return tls >= 0 && tls <= ROUTE_TLS_VERIFY ? route_tls_names[tls] : "?";
}

static int
route_tls_parse(const char *s)
{
	int i;

	for (i = 0; i <= ROUTE_TLS_VERIFY; i++)
		if (strcasecmp(s, route_tls_names[i]) == 0)
			return i;
	return -1;
}

/* route_port_parse - "25" or "465*".  0 or -1. */
static int
route_port_parse(const char *s, int *port, int *implicit)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	*implicit = 0;
	if (*end == '*') {
		*implicit = 1;
		end++;
	}
	if (end == s || *end != '\0' || errno || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* route_cred_parse - "USER:PASSWORD" into D.  0 or -1 with *why_r. */
static int
route_cred_parse(const char *s, struct route_dest *d, const char **why_r)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL || colon == s) {
		*why_r = "auth= needs USER:PASSWORD";
		return -1;
	}
	if ((size_t)(colon - s) > ROUTE_CRED_MAX || strlen(colon + 1) > ROUTE_CRED_MAX) {
		*why_r = "auth= user or password too long";
		return -1;
	}
	memcpy(d->user, s, (size_t)(colon - s));
	d->user[colon - s] = '\0';
	str_copy(d->pass, sizeof(d->pass), colon + 1);
	return 0;
}

/*
 * route_cred_tls - a destination that carries credentials never talks in
 * clear text: its policy is raised to at least encrypt (a peer without
 * STARTTLS then defers), and an explicit tls=none is refused.  0, or -1
 * with *why_r.  Must never let a password leave before TLS.
 */
static int
route_cred_tls(struct route_dest *d, const char **why_r)
{
	if (d->user[0] == '\0')
		return 0;
	if (d->tls == ROUTE_TLS_NONE) {
		*why_r = "auth= needs TLS, tls=none would send the password in "
		    "clear text (use tls=verify)";
		return -1;
	}
	if (d->tls < ROUTE_TLS_ENCRYPT)
		d->tls = ROUTE_TLS_ENCRYPT;
	return 0;
}

/* route_line_parse - one non-comment line.  0 or -1 with *why_r. */
static int
route_line_parse(char *line, struct route_line *rl, int *has_pw,
    const char **why_r)
{
	char *f[8], *p = line, *tok;
	size_t nf = 0, i;
	int tls_set = 0, t;

	memset(rl, 0, sizeof(*rl));
	while ((tok = strsep(&p, ",")) != NULL) {
		if (nf == sizeof(f) / sizeof(f[0])) {
			*why_r = "too many fields";
			return -1;
		}
		f[nf++] = str_trim(tok);
	}
	if (nf < 3) {
		*why_r = "expected PATTERN,HOST,PORT";
		return -1;
	}
	if (*f[0] == '\0' || strlen(f[0]) > ROUTE_HOST_MAX ||
	    strpbrk(f[0], " \t@") != NULL) {
		*why_r = "bad domain pattern";
		return -1;
	}
	if (*f[1] == '\0' || str_copy(rl->d.host, sizeof(rl->d.host), f[1]) == -1 ||
	    strpbrk(f[1], " \t*@") != NULL) {
		*why_r = "bad gateway host";
		return -1;
	}
	if (route_port_parse(f[2], &rl->d.port, &rl->d.implicit_tls) == -1) {
		*why_r = "bad port (1-65535, optionally followed by '*')";
		return -1;
	}
	rl->d.tls = rl->d.implicit_tls ? ROUTE_TLS_ENCRYPT : ROUTE_TLS_MAY;
	for (i = 3; i < nf; i++) {
		if (strncasecmp(f[i], "tls=", 4) == 0) {
			if ((t = route_tls_parse(f[i] + 4)) == -1) {
				*why_r = "tls= must be none, may, encrypt or verify";
				return -1;
			}
			rl->d.tls = t;
			tls_set = 1;
		} else if (strncasecmp(f[i], "auth=", 5) == 0) {
			if (route_cred_parse(f[i] + 5, &rl->d, why_r) == -1)
				return -1;
			*has_pw = 1;
		} else {
			*why_r = "unknown option (tls=, auth=)";
			return -1;
		}
	}
	if (rl->d.implicit_tls && tls_set && rl->d.tls < ROUTE_TLS_ENCRYPT) {
		*why_r = "a '*' port is always TLS: tls= must be encrypt or verify";
		return -1;
	}
	if (route_cred_tls(&rl->d, why_r) == -1)
		return -1;
	rl->d.kind = ROUTE_GATEWAY;
	snprintf(rl->d.key, sizeof(rl->d.key), "gw:%s:%d%s", rl->d.host,
	    rl->d.port, rl->d.implicit_tls ? "*" : "");
	str_lower(rl->d.key);
	rl->pattern = str_lower(xstrdup(f[0]));
	return 0;
}

/* route_smarthost - parse queue.smarthost into D.  0, 1 unset, -1 bad. */
static int
route_smarthost(const struct config *cfg, struct route_dest *d,
    const char **why_r)
{
	const char *sh = config_str(cfg, "queue.smarthost");
	const char *auth = config_str(cfg, "queue.smarthost_auth");
	char host[ROUTE_HOST_MAX + 1];
	const char *colon;
	int t;

	memset(d, 0, sizeof(*d));
	if (*sh == '\0')
		return 1;
	d->port = (int)config_int(cfg, "queue.remote_port");
	colon = strrchr(sh, ':');
	if (colon && strchr(sh, ':') == colon) {	/* not a bare IPv6 literal */
		if ((size_t)(colon - sh) > ROUTE_HOST_MAX) {
			*why_r = "queue.smarthost: host too long";
			return -1;
		}
		memcpy(host, sh, (size_t)(colon - sh));
		host[colon - sh] = '\0';
		if (route_port_parse(colon + 1, &d->port, &d->implicit_tls) == -1) {
			*why_r = "queue.smarthost: bad port";
			return -1;
		}
	} else if (str_copy(host, sizeof(host), sh) == -1) {
		*why_r = "queue.smarthost: host too long";
		return -1;
	}
	str_copy(d->host, sizeof(d->host), host);
	if ((t = route_tls_parse(config_str(cfg, "queue.smarthost_tls"))) == -1) {
		*why_r = "queue.smarthost_tls must be none, may, encrypt or verify";
		return -1;
	}
	d->tls = d->implicit_tls && t < ROUTE_TLS_ENCRYPT ? ROUTE_TLS_ENCRYPT : t;
	if (*auth && route_cred_parse(auth, d, why_r) == -1)
		return -1;
	if (route_cred_tls(d, why_r) == -1) {
		*why_r = "queue.smarthost_auth needs TLS, queue.smarthost_tls = "
		    "none would send the password in clear text (use verify)";
		return -1;
	}
	d->kind = ROUTE_GATEWAY;
	snprintf(d->key, sizeof(d->key), "gw:%s:%d%s", d->host, d->port,
	    d->implicit_tls ? "*" : "");
	str_lower(d->key);
	return 0;
}

int
route_load(const struct config *cfg, struct routes **r_r, struct errlist *errs)
{
	struct routes *r = xcalloc(1, sizeof(*r));
	struct route_dest sd;
	struct stat st;
	const char *why;
	char *path, *data, *p, *line;
	size_t len, before = errlist_count(errs);
	unsigned lineno = 0;
	int has_pw = 0;

	if (route_smarthost(cfg, &sd, &why) == -1)
		errlist_add(errs, "%s: %s", config_file(cfg) ? config_file(cfg) :
		    "(defaults)", why);
	path = xasprintf("%s/gateway.dat", config_confdir(cfg));
	if (file_read(path, (size_t)ROUTE_LINE_MAX * ROUTE_LINES_MAX, &data,
	    &len) == -1) {
		if (errno != ENOENT)
			errlist_add(errs, "%s: %s", path, strerror(errno));
		free(path);
		*r_r = r;
		return errlist_count(errs) > before ? (route_free(r_r), -1) : 0;
	}
	p = data;
	while ((line = strsep(&p, "\n")) != NULL) {
		struct route_line rl;
		size_t l;

		lineno++;
		if (p == NULL && *line == '\0')
			break;
		l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l > ROUTE_LINE_MAX) {
			errlist_add(errs, "%s:%u: line too long", path, lineno);
			continue;
		}
		if (*line == '\0' || *line == '\'' || *line == '#' ||
		    *line == ' ' || *line == '\t')
			continue;
		if (r->n == ROUTE_LINES_MAX) {
			errlist_add(errs, "%s:%u: more than %d entries", path,
			    lineno, ROUTE_LINES_MAX);
			break;
		}
		if (route_line_parse(line, &rl, &has_pw, &why) == -1) {
			errlist_add(errs, "%s:%u: %s", path, lineno, why);
			continue;
		}
		r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
		r->v[r->n++] = rl;
	}
	free(data);
	if (has_pw && stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		errlist_add(errs, "%s: holds a password but is readable by group "
		    "or others (chmod 600)", path);
	free(path);
	if (errlist_count(errs) > before) {
		route_free(&r);
		return -1;
	}
	*r_r = r;
	return 0;
}

void
route_free(struct routes **rp)
{
	struct routes *r = *rp;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		explicit_bzero(r->v[i].d.pass, sizeof(r->v[i].d.pass));
		free(r->v[i].pattern);
	}
	free(r->v);
	free(r);
	*rp = NULL;
}

void
route_for(const struct config *cfg, const struct routes *r, const char *domain,
    struct route_dest *d)
{
	char dom[ROUTE_HOST_MAX + 1];
	const char *why;
	size_t i, l;

	if (str_copy(dom, sizeof(dom), domain) == -1)
		dom[0] = '\0';
	str_lower(dom);
	l = strlen(dom);
	if (l > 0 && dom[l - 1] == '.')
		dom[l - 1] = '\0';
	for (i = 0; r && i < r->n; i++)
		if (fnmatch(r->v[i].pattern, dom, 0) == 0) {
			*d = r->v[i].d;
			return;
		}
	if (route_smarthost(cfg, d, &why) == 0)
		return;
	memset(d, 0, sizeof(*d));
	d->kind = ROUTE_MX;
	str_copy(d->host, sizeof(d->host), dom);
	d->port = (int)config_int(cfg, "queue.remote_port");
	d->tls = ROUTE_TLS_MAY;
	snprintf(d->key, sizeof(d->key), "mx:%s", dom);
}
