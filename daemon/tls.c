/*
 * tls.c - TLS contexts; see tls.h.  Runs in the master (server context) and
 * in delivery agents (client context).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "tls.h"
#include "util.h"

/*
 * Cipher lists for TLS 1.2 (TLS 1.3 keeps OpenSSL's suites, all AEAD with
 * ephemeral keys).  Submission, smtps, pop3 and pop3s: ECDHE with AEAD
 * only.  Port 25 STARTTLS adds, at lower server preference, ECDHE with CBC
 * and static RSA with AES: a peer MTA that knows nothing better still
 * encrypts instead of falling back to clear text.  Never aNULL, eNULL,
 * EXPORT, DES, 3DES, RC4, MD5, PSK or SRP.
 */
#define TLS_CIPHERS_STRICT \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_CIPHERS_OPPORTUNISTIC TLS_CIPHERS_STRICT \
	":ECDHE+AES:kRSA+AESGCM:kRSA+AES:!AESCCM8:!aNULL:!eNULL:!EXPORT:" \
	"!DES:!3DES:!RC4:!MD5:!PSK:!SRP:!DSS"

static char *
tls_error(const char *what, const char *path)
{
	char e[256];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	return xasprintf("%s %s: %s", what, path, e);
}

int
tls_server_ctx(const struct config *cfg, SSL_CTX **ctx_r, char **why_r)
{
	const char *cert = config_str(cfg, "server.tls_cert");
	const char *key = config_str(cfg, "server.tls_key");
	SSL_CTX *ctx;

	*ctx_r = NULL;
	if (*cert == '\0' && *key == '\0')
		return 0;
	if (*cert == '\0' || *key == '\0') {
		*why_r = xstrdup("server.tls_cert and server.tls_key must both be set");
		return -1;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*why_r = xstrdup("cannot create TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_STRICT) != 1) {
		*why_r = xstrdup("cannot set the cipher list");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*why_r = tls_error("cannot load certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		*why_r = tls_error("cannot load private key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*why_r = tls_error("key does not match certificate", key);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	*ctx_r = ctx;
	return 1;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

int
tls_node_ctx(const struct config *cfg, SSL_CTX **ctx_r, char **why_r)
{
	const char *ca = config_str(cfg, "server.node_tls_ca");
	SSL_CTX *ctx;

	*ctx_r = NULL;
	if (*ca == '\0')
		return 0;
	if ((ctx = tls_client_ctx(0)) == NULL) {
		*why_r = xstrdup("cannot create TLS context");
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		*why_r = tls_error("server.node_tls_ca: cannot load the CA", ca);
		SSL_CTX_free(ctx);
		return -1;
	}
	*ctx_r = ctx;
	return 1;
}

int
tls_server_opportunistic(SSL *ssl)
{
	return SSL_set_cipher_list(ssl, TLS_CIPHERS_OPPORTUNISTIC) == 1 ? 0 : -1;
}

SSL_CTX *
tls_client_ctx(int verify)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}
