/*
 * session - what a worker hands to a protocol engine for one connection.
 *
 * Workers run as server.user after priv_drop(); the engines below never see
 * root.  Everything in struct session_env is borrowed and read-only for the
 * session; the store handle belongs to the worker process.
 */
#ifndef YUBIN_SESSION_H
#define YUBIN_SESSION_H

#include <openssl/ssl.h>

struct config;
struct store;

enum listener_kind {
	LK_SMTP,		/* port 25: MX traffic, STARTTLS offered */
	LK_SUBMISSION,		/* port 587: AUTH required before MAIL */
	LK_SMTPS,		/* port 465: implicit TLS, AUTH required */
	LK_POP3,		/* port 110: STLS offered */
	LK_POP3S,		/* port 995: implicit TLS */
	LK_LOCAL,		/* HOME/run/submit.sock: local submission, the
				 * caller's uid (SO_PEERCRED) is its identity */
	LK_COUNT
};

struct session_env {
	const struct config	*cfg;
	struct store		*store;
	SSL_CTX			*tls;		/* NULL: TLS not configured */
	const char		*hostname;	/* smtp.hostname or the host's name */
	enum listener_kind	 kind;
	unsigned long		 sid;		/* session id for log lines ("sid=%06lx") */
};

/* smtp_session - serve one SMTP connection on FD (owned: closed on return). */
void	smtp_session(const struct session_env *env, int fd);
/* pop3_session - serve one POP3 connection on FD (owned: closed on return). */
void	pop3_session(const struct session_env *env, int fd);

#endif
