/*
 * tls - server TLS context from server.tls_cert / server.tls_key.
 *
 * TLS 1.2 and 1.3 only, OpenSSL's secure default ciphers minus the weak
 * ones, no compression, no renegotiation, server cipher preference.  Built
 * in the master (which may read a root-only key) before workers fork; a
 * SIGHUP builds a new one for new workers.
 */
#ifndef YUBIN_TLS_H
#define YUBIN_TLS_H

#include <openssl/ssl.h>

struct config;

/* tls_server_ctx - 1 and *ctx_r (owned, SSL_CTX_free) when cert and key are
 * configured and load; 0 when TLS is not configured; -1 with *why_r (owned,
 * free()) when the files are configured but do not load. */
int	tls_server_ctx(const struct config *cfg, SSL_CTX **ctx_r, char **why_r);
/* tls_client_ctx - context for outbound connections; VERIFY checks the peer
 * against the system CA store.  NULL on failure. */
SSL_CTX	*tls_client_ctx(int verify);

#endif
