/*
 * tls - server TLS context from server.tls_cert / server.tls_key.
 *
 * TLS 1.2 and 1.3 only on every listener (RFC 8996 retires 1.0 and 1.1,
 * and OpenSSL 3's default security level refuses them anyway), no
 * compression, no renegotiation, server cipher preference.  The context
 * offers only ECDHE key exchange with AEAD ciphers (TLS 1.2: AES-GCM and
 * CHACHA20-POLY1305; TLS 1.3: OpenSSL's suites); tls_server_opportunistic
 * widens one port 25 session (see tls.c).  Built in the master (which may
 * read a root-only key) before workers fork; a SIGHUP builds a new one for
 * new workers.
 */
#ifndef YUBIN_TLS_H
#define YUBIN_TLS_H

#include <openssl/ssl.h>

struct config;

/* tls_server_ctx - 1 and *ctx_r (owned, SSL_CTX_free) when cert and key are
 * configured and load; 0 when TLS is not configured; -1 with *why_r (owned,
 * free()) when the files are configured but do not load. */
int	tls_server_ctx(const struct config *cfg, SSL_CTX **ctx_r, char **why_r);
/* tls_server_opportunistic - widen SSL (not yet handshaken) to port 25's
 * cipher list: opportunistic MTA-to-MTA STARTTLS, where any encryption
 * beats clear text (server preference still picks ECDHE with AEAD when
 * the peer has it).  Never for submission, smtps, pop3 or pop3s.  0, or
 * -1. */
int	tls_server_opportunistic(SSL *ssl);
/* tls_client_ctx - context for outbound connections; VERIFY checks the peer
 * against the system CA store.  NULL on failure. */
SSL_CTX	*tls_client_ctx(int verify);
/* tls_node_ctx - with server.node_tls_ca set, 1 and *ctx_r (owned): a
 * client context that verifies a peer node's certificate against that CA
 * alone (the caller checks the name: the node's).  0 (*ctx_r NULL) when
 * the key is empty; -1 with *why_r (owned) when the CA cannot be loaded. */
int	tls_node_ctx(const struct config *cfg, SSL_CTX **ctx_r, char **why_r);

#endif
