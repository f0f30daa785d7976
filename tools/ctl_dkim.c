/*
 * ctl_dkim.c - "yubinctl dkim keygen DOMAIN SELECTOR [--ed25519 | --rsa
 * BITS] [--force]": a DKIM signing key (DESIGN.md §12) as PEM in
 * CONFDIR/dkim/DOMAIN.SELECTOR.key, then the line for CONFDIR/dkim.dat
 * and the TXT record to publish.
 *
 * Runs as the invoking user.  As root, the folder CONFDIR/dkim is made
 * 0750 root:GROUP and the key 0640 root:GROUP, GROUP the server's
 * (priv_lookup), so the workers can read the key and not change it.
 *
 * Never: build a path from a DOMAIN or SELECTOR that is not DNS labels,
 * follow a symbolic link (the folder is opened with dir_open_verified,
 * the key written to a scratch file made O_EXCL|O_NOFOLLOW and renamed),
 * replace a key without --force, or make an RSA key under 2048 or over
 * 4096 bits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "ctl.h"
#include "util.h"

#define DKIM_USAGE	"dkim keygen DOMAIN SELECTOR [--ed25519 | --rsa BITS] " \
			"[--force]"
#define DKIM_RSA_BITS	2048	/* default, and the least we make */
#define DKIM_RSA_MAXBITS 4096
#define DKIM_DIR_MODE	0750
#define DKIM_KEY_MODE	0640
#define DKIM_TXT_CHUNK	255	/* bytes of one TXT character-string */
#define DKIM_NAME_MAX	253

/* dns_name_ok - S is dot-separated labels of letters, digits and '-'
 * (not first or last), 1 to 63 bytes each, at most MAX bytes */
static int
dns_name_ok(const char *s, size_t max)
{
	size_t i, lab = 0, len = strlen(s);
	char c;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if ((c == '-' && lab == 0) || ++lab > 63)
			return 0;
	}
	return s[len - 1] != '-';
}

/* key_make - a new key: Ed25519 when BITS is 0, else RSA of BITS */
static EVP_PKEY *
key_make(int bits)
{
	if (bits == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

/* key_pem - PKEY as PKCS#8 PEM into *PEM_R (malloc'ed, *LEN_R bytes) */
static int
key_pem(EVP_PKEY *pkey, char **pem_r, size_t *len_r)
{
	BIO *bio;
	char *p;
	long n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (n = BIO_get_mem_data(bio, &p)) <= 0 ||
	    (*pem_r = malloc((size_t)n)) == NULL) {
		BIO_free(bio);
		return -1;
	}
	memcpy(*pem_r, p, (size_t)n);
	*len_r = (size_t)n;
	BIO_free(bio);
	return 0;
}

/* key_public - the p= value of PKEY: the raw key for Ed25519 (RFC
 * 8463), SubjectPublicKeyInfo for RSA, base64 (malloc'ed) */
static char *
key_public(EVP_PKEY *pkey, int ed)
{
	unsigned char raw[32], *der = NULL;
	size_t n = sizeof(raw);
	char *out;
	int dl;

	if (ed) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1)
			return NULL;
		der = raw;
	} else if ((dl = i2d_PUBKEY(pkey, &der)) <= 0)
		return NULL;
	else
		n = (size_t)dl;
	if ((out = malloc(4 * ((n + 2) / 3) + 1)) != NULL)
		EVP_EncodeBlock((unsigned char *)out, der, (int)n);
	if (!ed)
		OPENSSL_free(der);
	return out;
}

/* dir_ready - CONFDIR/dkim made when missing and opened safely; as root
 * given to root:GID mode 0750.  The fd, or -1 after saying why. */
static int
dir_ready(const char *dir, gid_t gid)
{
	int dfd;

	if (mkdir(dir, DKIM_DIR_MODE) == -1 && errno != EEXIST) {
		ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((dfd = dir_open_verified(dir, (uid_t)-1)) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((gid != (gid_t)-1 && fchown(dfd, 0, gid) == -1) ||
	    fchmod(dfd, DKIM_DIR_MODE) == -1) {
		ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	return dfd;
}

/* key_write - PEM (LEN bytes) as NAME in DFD: a scratch file, mode and
 * owner, fsync, then renamed over NAME only with FORCE */
static int
key_write(int dfd, const char *dir, const char *name, const char *pem,
    size_t len, gid_t gid, int force)
{
	char tmp[NAME_MAX + 1];
	int fd, r;

	if ((fd = file_tmpat(dfd, name, 0600, tmp, sizeof(tmp))) == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
	if (write_all(fd, pem, len) == -1 ||
	    (gid != (gid_t)-1 && fchown(fd, 0, gid) == -1) ||
	    fchmod(fd, DKIM_KEY_MODE) == -1 || fsync(fd) == -1) {
		r = errno;
		close(fd);
		unlinkat(dfd, tmp, 0);
		return ctl_error(CTL_RUNTIME, "%s/%s: %s", dir, tmp,
		    strerror(r));
	}
	close(fd);
	if (force)
		r = renameat(dfd, tmp, dfd, name);
	else
		r = renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE);
	if (r == -1) {
		r = errno;
		unlinkat(dfd, tmp, 0);
		if (r == EEXIST)
			return ctl_error(CTL_USAGE, "%s/%s exists (--force "
			    "replaces it)", dir, name);
		return ctl_error(CTL_RUNTIME, "%s/%s: %s", dir, name,
		    strerror(r));
	}
	if (fsync(dfd) == -1)
		return ctl_error(CTL_RUNTIME, "%s: %s", dir, strerror(errno));
	return CTL_OK;
}

/* print_txt - the record, its text cut into 255-byte strings */
static void
print_txt(const char *domain, const char *sel, int ed, const char *p)
{
	char *txt;
	size_t i, n;

	if (asprintf(&txt, "v=DKIM1; k=%s; p=%s", ed ? "ed25519" : "rsa",
	    p) < 0)
		return;
	printf("%s._domainkey.%s IN TXT", sel, domain);
	n = strlen(txt);
	for (i = 0; i < n; i += DKIM_TXT_CHUNK)
		printf(" \"%.*s\"", (int)(n - i < DKIM_TXT_CHUNK ? n - i :
		    DKIM_TXT_CHUNK), txt + i);
	printf("\n");
	free(txt);
}

static int
dkim_keygen(struct ctl *c, int argc, char **argv)
{
	const char *domain, *sel, *confdir;
	char dir[PATH_MAX], name[NAME_MAX + 1], *pem = NULL, *pub = NULL, *end;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	EVP_PKEY *pkey;
	size_t len;
	long bits = DKIM_RSA_BITS;
	int i, ed = 0, force = 0, dfd, r;

	if (argc < 2)
		return ctl_error(CTL_USAGE, "usage: yubinctl " DKIM_USAGE);
	domain = argv[0];
	sel = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--ed25519") == 0)
			ed = 1;
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (strcmp(argv[i], "--rsa") == 0 && i + 1 < argc) {
			errno = 0;
			bits = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || end == argv[i])
				return ctl_error(CTL_USAGE, "--rsa: not a "
				    "number of bits");
		} else
			return ctl_error(CTL_USAGE, "usage: yubinctl "
			    DKIM_USAGE);
	}
	if (!dns_name_ok(domain, DKIM_NAME_MAX))
		return ctl_error(CTL_USAGE, "bad domain (DNS labels only)");
	if (!dns_name_ok(sel, 63))
		return ctl_error(CTL_USAGE, "bad selector (DNS labels only)");
	if (!ed && (bits < DKIM_RSA_BITS || bits > DKIM_RSA_MAXBITS))
		return ctl_error(CTL_USAGE, "RSA keys are %d to %d bits",
		    DKIM_RSA_BITS, DKIM_RSA_MAXBITS);
	if (geteuid() == 0 && ctl_owner(c, &uid, &gid) == -1)
		return CTL_USAGE;
	confdir = config_confdir(c->cfg);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/dkim", confdir) >=
	    sizeof(dir) || (size_t)snprintf(name, sizeof(name), "%s.%s.key",
	    domain, sel) >= sizeof(name))
		return ctl_error(CTL_USAGE, "name too long");
	if ((dfd = dir_ready(dir, gid)) == -1)
		return CTL_RUNTIME;
	if (!force && faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dfd);
		return ctl_error(CTL_USAGE, "%s/%s exists (--force replaces "
		    "it)", dir, name);
	}
	if ((pkey = key_make(ed ? 0 : (int)bits)) == NULL ||
	    key_pem(pkey, &pem, &len) == -1 ||
	    (pub = key_public(pkey, ed)) == NULL) {
		ERR_clear_error();
		EVP_PKEY_free(pkey);
		free(pem);
		close(dfd);
		return ctl_error(CTL_RUNTIME, "key generation failed");
	}
	EVP_PKEY_free(pkey);
	r = key_write(dfd, dir, name, pem, len, gid, force);
	explicit_bzero(pem, len);
	free(pem);
	close(dfd);
	if (r == CTL_OK) {
		printf("%s %s %s/%s\n", domain, sel, dir, name);
		print_txt(domain, sel, ed, pub);
	}
	free(pub);
	return r;
}

int
ctl_cmd_dkim(struct ctl *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "keygen") == 0)
		return dkim_keygen(c, argc - 1, argv + 1);
	return ctl_error(CTL_USAGE, "usage: yubinctl " DKIM_USAGE);
}
