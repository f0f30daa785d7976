/*
 * backup.c - the settings backup format (lib/backup.h, F150): the names a
 * restore may write, a file written and read back, and every way a file
 * is refused, each with its message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "account.h"
#include "backup.h"
#include "util.h"

#include "../lib/tap.h"

static char dir[] = "/tmp/yubin-backup-XXXXXX";

static const struct {
	const char	*name;
	int		 ok;
} acct_files[] = {
	{ "config.def", 1 }, { "exec.def", 1 }, { "exec2.def", 1 },
	{ "exec99.def", 1 }, { "exec1.def", 0 }, { "exec100.def", 0 },
	{ "exec02.def", 0 }, { "exec2.defx", 0 }, { "IMS.CTL", 1 },
	{ "ims.ctl", 0 }, { "ml_member.csv", 1 }, { "Maildir", 0 },
	{ "../config.def", 0 }, { "", 0 }, { "reply.sab", 1 },
};

static const struct {
	const char	*name;
	int		 ok;
} etc_names[] = {
	{ "mail.dat", 1 }, { "dkim/example.org.sel.key", 1 },
	{ "a/b/c", 0 }, { "../x", 0 }, { "/etc/passwd", 0 }, { "a//b", 0 },
	{ ".hidden", 0 }, { "dkim/..", 0 }, { "x y", 0 }, { "", 0 },
	{ "a/", 0 }, { "cert+1@x_y-z.pem", 1 },
};

/* write_raw - BODY then a correct end record into PATH */
static void
write_raw(const char *path, const char *body, size_t len, int seal)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen, i;
	FILE *f = fopen(path, "wb");

	fwrite(body, 1, len, f);
	if (seal) {
		EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
		fputs("end ", f);
		for (i = 0; i < mdlen; i++)
			fprintf(f, "%02x", md[i]);
		fputc('\n', f);
	}
	fclose(f);
}

static const struct {
	const char	*body;
	int		 seal;
	const char	*why;
} bad[] = {
	{ "yubin-backup 1\n", 0, "truncated (no end record)" },
	{ "yubin-backup 3\n", 1, "backup format version 3 is newer than this "
	    "yubinctl reads (1)" },
	{ "yubin-backup x\n", 1, "bad version line" },
	{ "yubon-backup 1\n", 1, "not a yubin backup (no \"yubin-backup\" line)" },
	{ "yubin-backup 1\nconf other.conf 644 0 1\nx\n", 1,
	    "record 1: a conf record named 'other.conf'" },
	{ "yubin-backup 1\nnope x 644 0 1\nx\n", 1,
	    "record 1: unknown record kind 'nope'" },
	{ "yubin-backup 1\netc x 648 0 1\nx\n", 1,
	    "record 1: bad number in the record header" },
	{ "yubin-backup 1\netc x 644 0 1 extra\nx\n", 1,
	    "record 1: bad record header" },
	{ "yubin-backup 1\netc x 644 0 1\nxy", 1,
	    "record 1: record length past its end" },
	{ "yubin-backup 1\netc x 644 0 1\nx\netc ../y 644 0 0\n\n", 1,
	    "record 2: '../y': not a file name under the configuration folder" },
	{ "yubin-backup 1\nfile bob/config.def 600 0 0\n\n", 1,
	    "record 1: 'bob/config.def': no account 'bob' before it" },
	{ "yubin-backup 1\nplugin 67726579 0 0 0\n\n", 1,
	    "record 1: a plugin key a backup does not keep" },
	{ "yubin-backup 1\nmeta 626c6f636b2f 0 0 0\n\n", 1,
	    "record 1: a meta key a backup does not keep" },
	{ "yubin-backup 1\nmeta 626c6f636b2f3 0 0 0\n\n", 1,
	    "record 1: bad key '626c6f636b2f3'" },
	{ "yubin-backup 1\naccount bob 0 0 3\nv1\n\n", 1,
	    "record 1: account 'bob': missing field" },
};

int
main(void)
{
	struct backup_writer w;
	struct backup b;
	struct account a;
	struct buf rec;
	char *path, why[512];
	const char *w_why;
	size_t i;

	plan_no_plan();
	if (mkdtemp(dir) == NULL)
		return 1;
	for (i = 0; i < sizeof(acct_files) / sizeof(acct_files[0]); i++)
		is_int(backup_account_file_ok(acct_files[i].name),
		    acct_files[i].ok, "account file '%s'", acct_files[i].name);
	for (i = 0; i < sizeof(etc_names) / sizeof(etc_names[0]); i++)
		is_int(backup_etc_name_ok(etc_names[i].name), etc_names[i].ok,
		    "etc name '%s'", etc_names[i].name);

	/* written and read back, binary safe */
	path = xasprintf("%s/b.ybk", dir);
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "bob");
	ok(account_set_password(&a, "pw", &w_why) == 0, "a hash made");
	buf_init(&rec, 0);
	ok(account_record_encode(&a, &rec) == 0, "the account record");
	ok(backup_create(&w, path) == 0, "writer opened");
	ok(backup_add(&w, BACKUP_ETC, "mail.dat", 0640, 0, "a\0b\nc", 5) == 0 &&
	    backup_add(&w, BACKUP_ACCOUNT, "bob", 0, 0, rec.data, rec.len) == 0 &&
	    backup_add(&w, BACKUP_FILE, "bob/config.def", 0600, 0, "", 0) == 0 &&
	    backup_add_key(&w, BACKUP_META, "block/10.0.0.1", 14, 99, "1 x",
	    3) == 0 && backup_add_key(&w, BACKUP_PLUGIN, "ml\0news/count", 13,
	    0, "7", 1) == 0, "records added");
	ok(access(path, F_OK) == -1, "nothing under FILE before finish");
	ok(backup_finish(&w) == 0, "finished");
	if (!ok(backup_read(path, &b, why, sizeof(why)) == 0, "read back"))
		diag("%s", why);
	is_int(b.n, 5, "five records");
	if (b.n == 5) {
		ok(b.rec[0].len == 5 && memcmp(b.rec[0].data, "a\0b\nc", 5) == 0 &&
		    b.rec[0].mode == 0640, "binary data and mode kept");
		is_str(b.rec[1].name, "bob", "account name");
		ok(b.rec[2].len == 0, "an empty file");
		ok(b.rec[3].klen == 14 && memcmp(b.rec[3].key, "block/10.0.0.1",
		    14) == 0 && b.rec[3].expires == 99, "meta key and expiry");
		ok(b.rec[4].klen == 13 && memcmp(b.rec[4].key, "ml\0news/count",
		    13) == 0, "plugin key with its NUL");
	}
	backup_free(&b);
	buf_free(&rec);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_raw(path, bad[i].body, strlen(bad[i].body), bad[i].seal);
		why[0] = '\0';
		is_int(backup_read(path, &b, why, sizeof(why)), -1,
		    "bad file %zu refused", i + 1);
		is_str(why, bad[i].why, "bad file %zu: its message", i + 1);
		ok(b.n == 0 && b.raw == NULL, "bad file %zu: nothing kept", i + 1);
	}
	unlink(path);
	rmdir(dir);
	free(path);
	return done_testing();
}
