/*
 * t/unit/util.c - the shared helpers: base64 (RFC 4648 vectors, strictness,
 * both decoders agree), string copies, the durable file writers and the
 * folder check (never through a link).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "buf.h"
#include "util.h"

static void
test_b64(void)
{
	static const struct {
		const char *plain, *b64;
	} vec[] = {			/* RFC 4648 §10 */
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg=",		/* not a whole quantum */
		"Zg",
		"Z===",		/* three pad characters */
		"====",
		"Zm9v\n",	/* white space */
		" Zm9v",
		"Zm9 v",
		"Zm9v\r\n",
		"Zm9vYg==Zm9v",	/* padding in the middle */
		"Zm=v",
		"Zm-v",		/* base64url is not base64 */
		"Zm_v",
		"Zh==",		/* bits under the padding not zero */
		"Zm9=",
		"Zm9v\0Zm9",
	};
	unsigned char big[10000];
	struct buf b, d;
	size_t i;

	buf_init(&b, 0);
	buf_init(&d, 0);
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		buf_reset(&b);
		is_int(b64_encode(vec[i].plain, strlen(vec[i].plain), &b), 0,
		    "encode \"%s\"", vec[i].plain);
		is_str(buf_cstr(&b), vec[i].b64, "encode \"%s\" is right",
		    vec[i].plain);
		buf_reset(&d);
		is_int(b64_decode(vec[i].b64, strlen(vec[i].b64), &d), 0,
		    "decode \"%s\"", vec[i].b64);
		ok(d.len == strlen(vec[i].plain) &&
		    memcmp(buf_cstr(&d), vec[i].plain, d.len) == 0,
		    "decode \"%s\" is right", vec[i].b64);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&d);
		buf_puts(&d, "keep");
		is_int(b64_decode(bad[i], i + 1 == sizeof(bad) / sizeof(bad[0]) ?
		    8 : strlen(bad[i]), &d), -1, "invalid base64 #%zu refused",
		    i + 1);
		is_str(buf_cstr(&d), "keep", "nothing appended for #%zu", i + 1);
	}

	/* binary, longer than one internal chunk */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + (i >> 8));
	buf_reset(&b);
	buf_reset(&d);
	is_int(b64_encode(big, sizeof(big), &b), 0, "encode 10000 bytes");
	is_int(b.len, (sizeof(big) + 2) / 3 * 4, "encoded length");
	is_int(b64_decode(b.data, b.len, &d), 0, "decode them back");
	ok(d.len == sizeof(big) && memcmp(d.data, big, sizeof(big)) == 0,
	    "10000 bytes round trip");
	for (i = 1; i <= 7; i++) {
		buf_reset(&b);
		buf_reset(&d);
		b64_encode(big, sizeof(big) - i, &b);
		b64_decode(b.data, b.len, &d);
		ok(d.len == sizeof(big) - i &&
		    memcmp(d.data, big, d.len) == 0, "round trip of %zu bytes",
		    sizeof(big) - i);
	}

	/* both append */
	buf_reset(&b);
	buf_puts(&b, "x:");
	b64_encode("foo", 3, &b);
	is_str(buf_cstr(&b), "x:Zm9v", "encode appends");
	buf_reset(&d);
	buf_puts(&d, "x:");
	b64_decode("Zm9v", 4, &d);
	is_str(buf_cstr(&d), "x:foo", "decode appends");

	/* the ceiling */
	buf_free(&b);
	buf_init(&b, 8);
	is_int(b64_encode("foobarfoobar", 12, &b), -1, "encode past the ceiling");
	is_int(b.len, 0, "nothing kept");
	buf_free(&b);
	buf_free(&d);
}

/* b64_decode_mem: the same rules into a fixed buffer (password hashes) */
static void
test_b64_mem(void)
{
	static const char *const bad[] = {
		"Zg=", "Z===", "====", "Zm9v\n", "Zm=v", "Zm-v",
		"Zh==",		/* non-zero bits under "==" */
		"Zm9=",		/* non-zero bits under "=" */
		"AAB=",
	};
	unsigned char out[16];
	size_t i;

	is_int(b64_decode_mem("", 0, out, sizeof(out)), 0, "empty: 0 bytes");
	is_int(b64_decode_mem("Zm9vYmFy", 8, out, sizeof(out)), 6, "foobar");
	ok(memcmp(out, "foobar", 6) == 0, "foobar is right");
	is_int(b64_decode_mem("Zm9vYg==", 8, out, sizeof(out)), 4, "foob");
	ok(memcmp(out, "foob", 4) == 0, "foob is right");
	is_int(b64_decode_mem("Zm9vYmE=", 8, out, sizeof(out)), 5, "fooba");
	is_int(b64_decode_mem("Zm9vYmFy", 8, out, 6), 6, "exactly fits");
	is_int(b64_decode_mem("Zm9vYmFy", 8, out, 5), -1, "one byte short");
	is_int(b64_decode_mem("Zm9vYg==", 8, out, 4), 4, "padding not counted");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(b64_decode_mem(bad[i], strlen(bad[i]), out,
		    sizeof(out)), -1, "invalid \"%s\" refused", bad[i]);
	/* a stored hash's salt: 16 bytes, 24 characters */
	is_int(b64_decode_mem("AAECAwQFBgcICQoLDA0ODw==", 24, out, sizeof(out)),
	    16, "16-byte salt");
	ok(out[0] == 0 && out[15] == 15, "salt bytes right");
}

static void
test_str(void)
{
	char small[4];

	is_int(str_copy(small, sizeof(small), "abc"), 0, "str_copy fits");
	is_str(small, "abc", "copied");
	is_int(str_copy(small, sizeof(small), "abcd"), -1, "str_copy too long");
	is_str(small, "", "emptied on refusal");
}

/* the hop limit's count (DESIGN §10): header section only, both names,
 * any case, blanks before the colon, never a continuation or a look-alike */
static void
test_hops(void)
{
	static const struct {
		const char *msg;
		size_t want;
	} vec[] = {
		{ "", 0 },
		{ "Received: a\n", 1 },
		{ "Received: a\r\nDelivered-To: b\r\n\r\nReceived: body\r\n", 2 },
		{ "RECEIVED : a\n\tReceived: continued\nreceived:\tb\n", 2 },
		{ "Delivered-to  :c\nX-Received: no\nReceivedX: no\n", 1 },
		{ "Received no colon\nReceived", 0 },
		{ "Subject: x\n\nReceived: after the header\n", 0 },
		{ "Received: last, no line end", 1 },
		{ "\nReceived: after an empty first line\n", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
		is_int((long long)header_hops(vec[i].msg, strlen(vec[i].msg)),
		    (long long)vec[i].want, "header_hops case %zu", i);
	ok(header_is_hop("Received:", 9), "header_is_hop: just the name");
	ok(!header_is_hop("Received", 8), "header_is_hop: no colon");
	ok(!header_is_hop("Received:", 3), "header_is_hop: LEN is the bound");
}

/* test_files - the durable writers never write through a link, and the
 * folder check refuses a link or a folder others may write. */
static void
test_files(void)
{
	char dir[] = "/tmp/yubin-util-XXXXXX";
	char path[128], target[128], link[128], sub[128], *data = NULL;
	size_t len;
	int dfd;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/file", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ok(file_write_atomic(target, "keep\n", 5, 0600) == 0, "target written");
	ok(symlink(target, link) == 0, "link planted");
	ok(file_write_atomic(link, "new\n", 4, 0644) == 0,
	    "write over a link");
	ok(file_read(target, 64, &data, &len) == 0 && strcmp(data, "keep\n") == 0,
	    "the link's target is unchanged");
	free(data);
	data = NULL;
	ok(file_read(link, 64, &data, &len) == 0 && strcmp(data, "new\n") == 0,
	    "the link itself was replaced by the file");
	free(data);
	dfd = dir_open_verified(dir, (uid_t)-1);
	ok(dfd != -1, "own folder accepted");
	ok(dfd != -1 && file_write_atomicat(dfd, "at", "x", 1, 0600) == 0,
	    "file_write_atomicat writes in it");
	is_int(dfd != -1 ? file_write_atomicat(dfd, "a/b", "x", 1, 0600) : 0, -1,
	    "a name with '/' refused");
	if (dfd != -1)
		close(dfd);
	snprintf(path, sizeof(path), "%s/dirlink", dir);
	ok(mkdir(sub, 0700) == 0 && symlink(sub, path) == 0, "folder link planted");
	errno = 0;
	is_int(dir_open_verified(path, (uid_t)-1), -1, "a linked folder refused");
	ok(errno == ELOOP || errno == ENOTDIR, "with ELOOP");
	chmod(sub, 0777);
	errno = 0;
	is_int(dir_open_verified(sub, (uid_t)-1), -1,
	    "a folder others may write refused");
	is_int(errno, EPERM, "with EPERM");
	unlink(path);
	rmdir(sub);
	snprintf(path, sizeof(path), "%s/at", dir);
	unlink(path);
	unlink(link);
	unlink(target);
	ok(rmdir(dir) == 0, "no scratch file left behind");
}

int
main(void)
{
	plan_no_plan();
	test_files();
	test_b64();
	test_b64_mem();
	test_str();
	test_hops();
	return done_testing();
}
