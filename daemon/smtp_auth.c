/*
 * smtp_auth.c - SMTP AUTH (RFC 4954) for the SMTP engine: PLAIN (RFC 4616),
 * LOGIN, CRAM-MD5 (RFC 2195).  Credentials are checked by auth.c.
 *
 * Runs in an SMTP worker as server.user.  Must never: log or echo a
 * password or a decoded response (only the login, escaped), offer or accept
 * PLAIN/LOGIN in clear text from a non-loopback client unless
 * smtp.auth_plaintext says so, keep any state of an attempt into the next
 * one (Postfix CVE-2011-1720), or tell whether a login exists.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth.h"
#include "authpen.h"
#include "config.h"
#include "log.h"
#include "node.h"
#include "smtp_private.h"
#include "util.h"

#define SMTP_LOGIN_LOG_MAX	64	/* bytes of a login shown in a log line */

enum smtp_auth_result {
	SMTP_AUTH_OK,		/* right credentials, the account filled in */
	SMTP_AUTH_FAIL,		/* wrong: 535 after the delay */
	SMTP_AUTH_TEMP,		/* store error: 454 */
	SMTP_AUTH_DONE,		/* already answered (cancel, syntax), or the
				 * connection is gone */
};

struct smtp_mech {
	const char *name;
	int	 plaintext;	/* the client sends the password itself */
	enum smtp_auth_result (*run)(struct smtp_session *s, const char *initial,
	    struct buf *login, struct account *a, unsigned char *tag);
};

/* TAG: the login penalty's tag of a wrong secret (authpen_tag), filled
 * when the mechanism got that far; untouched otherwise */
static enum smtp_auth_result smtp_mech_plain(struct smtp_session *,
    const char *, struct buf *, struct account *, unsigned char *);
static enum smtp_auth_result smtp_mech_login(struct smtp_session *,
    const char *, struct buf *, struct account *, unsigned char *);
static enum smtp_auth_result smtp_mech_cram(struct smtp_session *,
    const char *, struct buf *, struct account *, unsigned char *);

static const struct smtp_mech smtp_mechs[] = {
	{ "PLAIN",	1,	smtp_mech_plain },
	{ "LOGIN",	1,	smtp_mech_login },
	{ "CRAM-MD5",	0,	smtp_mech_cram },
	{ NULL,		0,	NULL },
};

/* smtp_plaintext_ok - may the password itself cross this connection? */
static int
smtp_plaintext_ok(const struct smtp_session *s)
{
	return s->conn.ssl != NULL || s->conn.peer_loopback ||
	    config_bool(s->cfg, "smtp.auth_plaintext");
}

/* smtp_mech_find - the mechanism NAME if smtp.auth_mechanisms lists it. */
static const struct smtp_mech *
smtp_mech_find(const struct smtp_session *s, const char *name)
{
	const struct cfg_list *l = config_list(s->cfg, "smtp.auth_mechanisms");
	const struct smtp_mech *m;
	size_t i;

	for (m = smtp_mechs; m->name != NULL; m++)
		if (strcasecmp(m->name, name) == 0)
			break;
	if (m->name == NULL || l == NULL)
		return NULL;
	/* the shared credential is kept only as a hash: no CRAM-MD5 */
	if (!m->plaintext &&
	    config_str(s->cfg, "smtp.shared_auth")[0] != '\0')
		return NULL;
	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], m->name) == 0)
			return m;
	return NULL;
}

int
smtp_auth_advertise(const struct smtp_session *s, char *out, size_t size)
{
	const struct cfg_list *l = config_list(s->cfg, "smtp.auth_mechanisms");
	const struct smtp_mech *m;
	size_t i, o = 0, n;

	out[0] = '\0';
	for (i = 0; l != NULL && i < l->n; i++) {
		if ((m = smtp_mech_find(s, l->v[i])) == NULL ||
		    (m->plaintext && !smtp_plaintext_ok(s)))
			continue;
		n = strlen(m->name);
		if (o + n + 2 > size)
			break;
		if (o > 0)
			out[o++] = ' ';
		memcpy(out + o, m->name, n + 1);
		o += n;
	}
	return o > 0;
}

/* smtp_wipe - clear a buffer that held a secret, then free it. */
static void
smtp_wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

/*
 * smtp_auth_decode - the client's base64 LINE (LEN bytes) into OUT.  "*"
 * cancels (RFC 4954 §4), "=" is an empty initial response.  0, or -1 when
 * answered.
 */
static int
smtp_auth_decode(struct smtp_session *s, const char *line, size_t len,
    struct buf *out)
{
	buf_reset(out);
	if (len == 1 && line[0] == '*') {
		smtp_reply(s, 501, "5.0.0", "Authentication cancelled");
		smtp_log(s, "auth cancelled client=%s", s->conn.peer_ip);
		return -1;
	}
	if (len == 1 && line[0] == '=')
		return 0;
	if (b64_decode(line, len, out) == -1) {
		smtp_reject(s, 501, "5.5.2", "invalid base64 data");
		return -1;
	}
	return 0;
}

/* smtp_auth_step - send "334 CHALLENGE" and decode the answer into OUT.
 * 0, or -1 when answered or the connection is gone. */
static int
smtp_auth_step(struct smtp_session *s, const char *challenge, struct buf *out)
{
	char *line;
	size_t len;
	int r, term;

	smtp_reply(s, 334, NULL, "%s", challenge);
	r = smtp_read_line(s, SMTP_AUTH_LINE_MAX, &line, &len, &term);
	if (r == CONN_TOOLONG) {
		smtp_reject(s, 500, "5.5.6", "Authentication Exchange line is too long");
		return -1;
	}
	if (r != CONN_LINE)
		return -1;
	r = smtp_auth_decode(s, line, len, out);
	explicit_bzero(line, len);
	return r;
}

/*
 * smtp_auth_shared - smtp.shared_auth (F032, ArGoSoft's single SMTP
 * credential): "USER:HASH" (the configuration hashed a clear password when
 * it was loaded).  When it is set it is the only SMTP AUTH login; the
 * accounts' passwords stay for POP3.  The KDF runs whatever LOGIN is, so
 * the time says nothing about the user name.
 */
static enum smtp_auth_result
smtp_auth_shared(struct smtp_session *s, const char *spec, const char *login,
    const char *password, struct account *a, unsigned char *tag)
{
	const char *colon = strchr(spec, ':');
	size_t ulen;
	int r;

	if (colon == NULL)		/* config.c never lets this through */
		return SMTP_AUTH_TEMP;
	ulen = (size_t)(colon - spec);
	if (strlen(login) != ulen || memcmp(login, spec, ulen) != 0 ||
	    ulen >= sizeof(a->name)) {
		/* another name: the same KDF run, never the cache */
		r = passwd_verify(colon + 1, password);
		if (r == -1) {
			smtp_logw(s, "smtp.shared_auth: the hash cannot be used");
			return SMTP_AUTH_TEMP;
		}
	} else {
		r = auth_check_hash(s->cfg, login, colon + 1, password);
		if (r == -1) {
			smtp_logw(s, "smtp.shared_auth: the hash cannot be used");
			return SMTP_AUTH_TEMP;
		}
		if (r == 1) {
			memcpy(a->name, login, ulen);
			a->name[ulen] = '\0';
			return SMTP_AUTH_OK;
		}
	}
	(void)authpen_tag(s->env->store, login, password, strlen(password), tag);
	return SMTP_AUTH_FAIL;
}

/* smtp_auth_node - node NAME of this site with the node key PASSWORD:
 * A's name becomes "node:NAME". */
static enum smtp_auth_result
smtp_auth_node(struct smtp_session *s, const char *name, const char *password,
    struct account *a, unsigned char *tag)
{
	struct node_rec n;
	int r;

	if (!node_name_valid(name) ||
	    strlen(NODE_AUTH_PREFIX) + strlen(name) >= sizeof(a->name))
		return SMTP_AUTH_FAIL;
	r = node_get(s->env->store, name, &n);
	if (r == 1)
		r = node_key_ok(s->env->store, password);
	if (r == -1)
		return SMTP_AUTH_TEMP;
	if (r == 0) {
		(void)authpen_tag(s->env->store, name, password,
		    strlen(password), tag);
		return SMTP_AUTH_FAIL;
	}
	snprintf(a->name, sizeof(a->name), NODE_AUTH_PREFIX "%s", name);
	return SMTP_AUTH_OK;
}

/* smtp_auth_check - auth_password's answer as a result (or the shared
 * credential's); a wrong password leaves its penalty tag in TAG. */
static enum smtp_auth_result
smtp_auth_check(struct smtp_session *s, const char *login, const char *password,
    struct account *a, unsigned char *tag)
{
	const char *shared = config_str(s->cfg, "smtp.shared_auth");
	size_t np = strlen(NODE_AUTH_PREFIX);

	/* a peer node: "node:NAME" and the node key (node.h) */
	if (strncmp(login, NODE_AUTH_PREFIX, np) == 0 &&
	    *config_str(s->cfg, "server.state") != '\0')
		return smtp_auth_node(s, login + np, password, a, tag);
	if (shared[0] != '\0')
		return smtp_auth_shared(s, shared, login, password, a, tag);
	switch (auth_password(s->cfg, s->env->store, login, password, a)) {
	case 1:
		return SMTP_AUTH_OK;
	case 0:
		(void)authpen_tag(s->env->store, login, password,
		    strlen(password), tag);
		return SMTP_AUTH_FAIL;
	default:
		return SMTP_AUTH_TEMP;
	}
}

static enum smtp_auth_result
smtp_mech_plain(struct smtp_session *s, const char *initial, struct buf *login,
    struct account *a, unsigned char *tag)
{
	char n1[ACCOUNT_NAME_MAX + 1], n2[ACCOUNT_NAME_MAX + 1];
	char *authz, *authc, *pass;
	struct buf raw;
	enum smtp_auth_result res;
	int r;

	buf_init(&raw, SMTP_AUTH_LINE_MAX);
	if (initial != NULL)
		r = smtp_auth_decode(s, initial, strlen(initial), &raw);
	else
		r = smtp_auth_step(s, "", &raw);
	if (r == -1) {
		smtp_wipe(&raw);
		return SMTP_AUTH_DONE;
	}
	if (raw.len == 0 ||
	    auth_plain_decode(raw.data, raw.len, &authz, &authc, &pass) == -1) {
		smtp_wipe(&raw);
		return SMTP_AUTH_FAIL;
	}
	(void)buf_puts(login, authc);
	/* RFC 4616 §2: acting for another identity is not offered */
	if (*authz != '\0' && (!auth_account_name(s->cfg, authz, n1) ||
	    !auth_account_name(s->cfg, authc, n2) || strcmp(n1, n2) != 0))
		res = SMTP_AUTH_FAIL;
	else
		res = smtp_auth_check(s, authc, pass, a, tag);
	smtp_wipe(&raw);
	return res;
}

static enum smtp_auth_result
smtp_mech_login(struct smtp_session *s, const char *initial, struct buf *login,
    struct account *a, unsigned char *tag)
{
	struct buf user, pass;
	enum smtp_auth_result res = SMTP_AUTH_DONE;
	int r;

	buf_init(&user, SMTP_AUTH_LINE_MAX);
	buf_init(&pass, SMTP_AUTH_LINE_MAX);
	if (initial != NULL)
		r = smtp_auth_decode(s, initial, strlen(initial), &user);
	else
		r = smtp_auth_step(s, "VXNlcm5hbWU6", &user);	/* "Username:" */
	if (r == -1)
		goto out;
	(void)buf_append(login, user.data ? user.data : "", user.len);
	if (smtp_auth_step(s, "UGFzc3dvcmQ6", &pass) == -1)	/* "Password:" */
		goto out;
	if (user.len == 0 || memchr(buf_cstr(&user), '\0', user.len) != NULL ||
	    memchr(buf_cstr(&pass), '\0', pass.len) != NULL)
		res = SMTP_AUTH_FAIL;
	else
		res = smtp_auth_check(s, buf_cstr(&user), buf_cstr(&pass), a,
		    tag);
out:
	smtp_wipe(&user);
	smtp_wipe(&pass);
	return res;
}

static enum smtp_auth_result
smtp_mech_cram(struct smtp_session *s, const char *initial, struct buf *login,
    struct account *a, unsigned char *tag)
{
	char challenge[SMTP_TEXT_MAX];
	struct buf enc, resp;
	enum smtp_auth_result res = SMTP_AUTH_DONE;
	unsigned int rnd;
	int r;

	(void)tag;	/* a digest over a fresh challenge: never a repeat */
	if (initial != NULL) {
		smtp_reject(s, 501, "5.5.2", "CRAM-MD5 takes no initial response");
		return SMTP_AUTH_DONE;
	}
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1) {
		smtp_logw(s, "RAND_bytes failed");
		return SMTP_AUTH_TEMP;
	}
	r = snprintf(challenge, sizeof(challenge), "<%u.%lld@%s>", rnd,
	    time_now(), s->env->hostname);
	if (r < 0 || (size_t)r >= sizeof(challenge))
		return SMTP_AUTH_TEMP;
	buf_init(&enc, 0);
	buf_init(&resp, SMTP_AUTH_LINE_MAX);
	if (b64_encode(challenge, strlen(challenge), &enc) == -1) {
		res = SMTP_AUTH_TEMP;
		goto out;
	}
	if (smtp_auth_step(s, buf_cstr(&enc), &resp) == -1)
		goto out;
	(void)buf_append(login, buf_cstr(&resp), strcspn(buf_cstr(&resp), " "));
	if (resp.len == 0 || memchr(buf_cstr(&resp), '\0', resp.len) != NULL) {
		res = SMTP_AUTH_FAIL;
		goto out;
	}
	switch (auth_cram_md5(s->cfg, s->env->store, challenge, buf_cstr(&resp), a)) {
	case 1:
		res = SMTP_AUTH_OK;
		break;
	case 0:
		res = SMTP_AUTH_FAIL;
		break;
	default:
		res = SMTP_AUTH_TEMP;
		break;
	}
out:
	buf_free(&enc);
	smtp_wipe(&resp);
	return res;
}

/*
 * smtp_auth_hours - USER has proved who it is; its config.def may still
 * refuse the login at this hour (usage_hours, F124).  SMTP_GO with the
 * account's config.def kept in the session (allowed_recipients, F125),
 * or refused (answered: the client learns the hours, it knows the
 * password).
 */
static enum smtp_verdict
smtp_auth_hours(struct smtp_session *s, const char *user)
{
	struct config *acfg = auth_account_cfg(s->cfg, user);
	char why[256];

	if (!auth_hours_allow(acfg ? acfg : s->cfg, time_now(), why,
	    sizeof(why))) {
		smtp_reply(s, 535, "5.7.1", "Authentication not permitted at "
		    "this time: %s", why);
		smtp_log(s, "auth refused user=%s client=%s: outside usage "
		    "hours", user, s->conn.peer_ip);
		config_free(&acfg);
		return SMTP_DENY;
	}
	config_free(&s->auth_cfg);
	s->auth_cfg = acfg;
	return SMTP_GO;
}

/* smtp_check_auth - USER has proved who it is: the hook chain "auth",
 * then the default: welcome. */
static enum smtp_verdict
smtp_check_auth(struct smtp_session *s, const char *user,
    struct smtp_decision *d)
{
	enum smtp_verdict v;

	if (!plugins_any(HP_AUTH))
		return SMTP_GO;
	/* the hook sees the user just proved; refused: forgotten again */
	(void)str_copy(s->auth_user, sizeof(s->auth_user), user);
	v = smtp_hook(s, HP_AUTH, NULL, d, NULL);
	if (v != SMTP_GO)
		s->auth_user[0] = '\0';
	return v;
}

void
smtp_cmd_auth(struct smtp_session *s, char *arg)
{
	const struct smtp_mech *m;
	struct smtp_decision d = { .code = 0 };
	struct account a;
	struct buf login, ir;
	enum smtp_auth_result res;
	char esc[SMTP_LOGIN_LOG_MAX * 4 + 8], *initial;
	unsigned char tag[AUTHPEN_TAG_LEN], *tagp = tag;
	long long pen;
	size_t n;

	n = strcspn(arg, " ");
	initial = NULL;
	if (arg[n] != '\0') {
		arg[n] = '\0';
		initial = arg + n + 1;
		while (*initial == ' ')
			initial++;
		if (*initial == '\0' || strchr(initial, ' ') != NULL) {
			smtp_reject(s, 501, "5.5.4", "Syntax: AUTH mechanism "
			    "[initial-response]");
			return;
		}
	}
	if (n == 0) {
		smtp_reject(s, 501, "5.5.4", "Syntax: AUTH mechanism "
		    "[initial-response]");
		return;
	}
	if ((m = smtp_mech_find(s, arg)) == NULL) {
		smtp_reject(s, 504, "5.5.4", "unrecognized authentication type");
		return;
	}
	if (m->plaintext && !smtp_plaintext_ok(s)) {
		smtp_reject(s, 538, "5.7.11", "Encryption required for requested "
		    "authentication mechanism");
		return;
	}
	memset(&a, 0, sizeof(a));
	buf_init(&login, SMTP_AUTH_LINE_MAX);
	/* copy the initial response out of the connection's buffer, which
	 * the next read reuses, and wipe it there */
	buf_init(&ir, SMTP_AUTH_LINE_MAX);
	if (initial != NULL) {
		(void)buf_puts(&ir, initial);
		explicit_bzero(initial, strlen(initial));
	}
	/* a tag nobody else can send: a failure that got no further than
	 * this escalates (authpen_login_failed makes a fresh one for NULL) */
	memset(tag, 0, sizeof(tag));
	res = m->run(s, initial ? buf_cstr(&ir) : NULL, &login, &a, tag);
	smtp_wipe(&ir);
	str_escape(esc, sizeof(esc), buf_cstr(&login),
	    login.len < SMTP_LOGIN_LOG_MAX ? login.len : SMTP_LOGIN_LOG_MAX);
	switch (res) {
	case SMTP_AUTH_OK:
		/* the address's login penalty, never the account's */
		authpen_sleep(authpen_login_ok(s->cfg, s->env->store,
		    s->conn.peer_ip, a.name));
		if (strncmp(a.name, NODE_AUTH_PREFIX,
		    strlen(NODE_AUTH_PREFIX)) == 0) {
			/* a peer node: no account, no account's limits */
			s->peer_node = 1;
			(void)str_copy(s->auth_user, sizeof(s->auth_user),
			    a.name);
			smtp_reply(s, 235, "2.7.0", "Authentication successful");
			smtp_log(s, "auth ok node=%s mech=%s client=%s",
			    a.name + strlen(NODE_AUTH_PREFIX), m->name,
			    s->conn.peer_ip);
			break;
		}
		if (smtp_auth_hours(s, a.name) != SMTP_GO)
			break;
		if (smtp_decide(s, smtp_check_auth(s, a.name, &d), &d) != SMTP_GO) {
			config_free(&s->auth_cfg);
			break;
		}
		(void)str_copy(s->auth_user, sizeof(s->auth_user), a.name);
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
		smtp_log(s, "auth ok user=%s mech=%s client=%s%s", s->auth_user,
		    m->name, s->conn.peer_ip, auth_last_cached() ? " cache=hit" :
		    "");
		break;
	case SMTP_AUTH_FAIL:
		s->auth_failures++;
		smtp_log(s, "auth failed login=%s mech=%s client=%s failures=%lu",
		    esc, m->name, s->conn.peer_ip, s->auth_failures);
		if (CRYPTO_memcmp(tag, (const unsigned char[AUTHPEN_TAG_LEN]){ 0 },
		    AUTHPEN_TAG_LEN) == 0)
			tagp = NULL;
		pen = authpen_login_failed(s->cfg, s->env->store,
		    s->conn.peer_ip, buf_cstr(&login), tagp);
		authpen_sleep(pen > s->auth_fail_delay ? pen : s->auth_fail_delay);
		smtp_reply(s, 535, "5.7.8", "Authentication credentials invalid");
		if (s->auth_max_failures > 0 &&
		    (long long)s->auth_failures >= s->auth_max_failures) {
			smtp_reply(s, 421, "4.7.0", "%s too many authentication "
			    "failures", s->env->hostname);
			s->quit = 1;
		}
		break;
	case SMTP_AUTH_TEMP:
		smtp_reply(s, 454, "4.7.0", "Temporary authentication failure");
		smtp_logw(s, "auth temporary failure login=%s mech=%s client=%s",
		    esc, m->name, s->conn.peer_ip);
		break;
	case SMTP_AUTH_DONE:
		break;
	}
	buf_free(&login);
	explicit_bzero(&a, sizeof(a));
	explicit_bzero(tag, sizeof(tag));
}
