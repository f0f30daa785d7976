/*
 * t/unit/fetch.c - fetch entries (lib/fetch.h, F072, F073): HOST[:PORT]
 * and user checks with their exact reasons, the record round trip and
 * corrupt records, the filters' patterns, and the password sealing (a
 * wrong key, a record moved to another entry, a damaged ciphertext).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "util.h"
#include "../lib/tap.h"

struct hostcase {
	const char	*spec;
	int		 defport;
	const char	*host;		/* NULL: refused with WHY */
	int		 port;
	const char	*why;
};

static const struct hostcase hosts[] = {
	{ "pop.example.net", 110, "pop.example.net", 110, NULL },
	{ "POP.Example.NET:995", 110, "pop.example.net", 995, NULL },
	{ "127.0.0.1:2110", 110, "127.0.0.1", 2110, NULL },
	{ "[::1]", 995, "::1", 995, NULL },
	{ "[::1]:1100", 110, "::1", 1100, NULL },
	{ "::1", 110, NULL, 0, "bad host: an IPv6 address goes in [ ]" },
	{ "[::1", 110, NULL, 0, "bad host: an unclosed or empty [address]" },
	{ "[]", 110, NULL, 0, "bad host: an unclosed or empty [address]" },
	{ "[pop]", 110, NULL, 0, "bad host: not an IPv6 address in [ ]" },
	{ "[::1]x", 110, NULL, 0, "bad host: text after ]" },
	{ "pop.example.net:0", 110, NULL, 0, "bad port: not a number from 1 to 65535" },
	{ "pop.example.net:65536", 110, NULL, 0, "bad port: not a number from 1 to 65535" },
	{ "pop.example.net:", 110, NULL, 0, "bad port: not a number from 1 to 65535" },
	{ "pop.example.net:+5", 110, NULL, 0, "bad port: not a number from 1 to 65535" },
	{ "pop.example.net:5x", 110, NULL, 0, "bad port: not a number from 1 to 65535" },
	{ "bad_host", 110, NULL, 0, "bad host: letters, digits, '-' and '.' only" },
	{ "", 110, NULL, 0, "bad host: letters, digits, '-' and '.' only" },
	{ ":110", 110, NULL, 0, "bad host: letters, digits, '-' and '.' only" },
	{ "-pop.example", 110, NULL, 0, "bad host: letters, digits, '-' and '.' only" },
	{ "pop..example", 110, NULL, 0, "bad host: letters, digits, '-' and '.' only" },
	{ "pop/../x", 110, NULL, 0, "bad host: letters, digits, '-' and '.' only" },
};

static void
test_hosts(void)
{
	struct fetch_entry e;
	const char *why;
	size_t i;
	int r;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		const struct hostcase *h = &hosts[i];

		memset(&e, 0, sizeof(e));
		why = NULL;
		r = fetch_host_parse(h->spec, h->defport, &e, &why);
		if (h->host) {
			ok(r == 1 && strcmp(e.host, h->host) == 0 &&
			    e.port == h->port, "host %zu '%s' -> %s port %d", i,
			    h->spec, h->host, h->port);
		} else {
			ok(r == 0, "host %zu '%s' refused", i, h->spec);
			is_str(why, h->why, "host %zu: reason", i);
		}
	}
	{
		char srv[FETCH_SERVER_MAX];

		fetch_host_parse("[::1]:1100", 110, &e, &why);
		is_str(fetch_server(&e, srv), "[::1]:1100", "IPv6 server shown in [ ]");
		fetch_host_parse("pop.example.net", 995, &e, &why);
		is_str(fetch_server(&e, srv), "pop.example.net:995", "server shown");
	}
	{
		char longhost[300];

		memset(longhost, 'a', sizeof(longhost) - 1);
		longhost[sizeof(longhost) - 1] = '\0';
		ok(fetch_host_parse(longhost, 110, &e, &why) == 0,
		    "a host of 299 bytes refused");
	}
}

static void
test_users_patterns(void)
{
	char big[200];
	const char *why;

	ok(fetch_user_valid("alice@example.net", &why), "user with @");
	ok(!fetch_user_valid("", &why), "empty user refused");
	is_str(why, "bad user: 1 to 128 printable characters, no blanks",
	    "empty user: reason");
	ok(!fetch_user_valid("a b", &why), "user with a blank refused");
	ok(!fetch_user_valid("a\r\nPASS x", &why), "user with CRLF refused");
	memset(big, 'u', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(!fetch_user_valid(big, &why), "user of 199 bytes refused");
	ok(fetch_pattern_valid("*@spam.example", &why), "pattern");
	ok(!fetch_pattern_valid("a b", &why), "pattern with a blank refused");
	is_str(why, "bad pattern: 1 to 256 printable characters, no blanks",
	    "pattern: reason");
}

static void
test_match(void)
{
	struct fetch_list l;

	memset(&l, 0, sizeof(l));
	fetch_list_add(&l, "*@Spam.Example");
	fetch_list_add(&l, "*.bad.example");
	ok(fetch_match(&l, "x@spam.example"), "address pattern, case ignored");
	ok(!fetch_match(&l, "x@spam.example.org"), "address pattern is whole");
	ok(fetch_match(&l, "y@mx.bad.example"), "domain pattern");
	ok(!fetch_match(&l, "bad.example"), "no '@': no domain to match");
	ok(!fetch_match(&l, "z@good.example"), "no match");
	free(l.v[0]);
	free(l.v[1]);
	memset(&l, 0, sizeof(l));
	fetch_list_add(&l, "*cannon*");
	ok(fetch_match_text(&l, "SpamCannon 2.0"), "X-Mailer pattern");
	ok(!fetch_match_text(&l, "Thunderbird"), "X-Mailer no match");
	free(l.v[0]);
	memset(&l, 0, sizeof(l));
	while (fetch_list_add(&l, "x") == 0)
		;
	is_int(l.n, FETCH_PATTERNS_MAX, "a list holds FETCH_PATTERNS_MAX patterns");
	while (l.n > 0)
		free(l.v[--l.n]);
}

static void
entry_fill(struct fetch_entry *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->account, sizeof(e->account), "alice");
	snprintf(e->host, sizeof(e->host), "pop.example.net");
	snprintf(e->user, sizeof(e->user), "alice.remote");
	e->port = 995;
	e->tls = FETCH_TLS_IMPLICIT;
	e->interval = 600;
	e->keep = 1;
	snprintf(e->ca, sizeof(e->ca), "/etc/ssl/ca.pem");
	fetch_list_add(&e->accept_from, "*@friends.example");
	fetch_list_add(&e->deny_from, "*@spam.example");
	fetch_list_add(&e->deny_mailer, "*Cannon*");
}

static void
test_records(void)
{
	static const unsigned char key[FETCH_KEY_LEN] = "0123456789abcdef0123456789abcde";
	static const unsigned char key2[FETCH_KEY_LEN] = "X123456789abcdef0123456789abcde";
	struct fetch_entry e, d, moved;
	struct buf rec, k;
	char pass[FETCH_PASS_MAX + 1], id[FETCH_ID_LEN + 1], id2[FETCH_ID_LEN + 1];
	size_t i;

	entry_fill(&e);
	ok(fetch_seal(&e, key, "s3cret pass") == 0, "seal");
	ok(e.secret && strstr(e.secret, "s3cret") == NULL, "sealed text hides it");
	buf_init(&rec, 0);
	fetch_encode(&e, &rec);
	ok(strstr(rec.data, "s3cret") == NULL, "record holds no clear password");
	memset(&d, 0, sizeof(d));
	ok(fetch_decode(&d, rec.data, rec.len) == 0, "decode");
	ok(strcmp(d.account, "alice") == 0 && strcmp(d.host, e.host) == 0 &&
	    strcmp(d.user, e.user) == 0 && d.port == 995 &&
	    d.tls == FETCH_TLS_IMPLICIT && d.interval == 600 && d.keep == 1 &&
	    strcmp(d.ca, e.ca) == 0 && d.accept_from.n == 1 &&
	    d.deny_from.n == 1 && d.deny_mailer.n == 1 &&
	    strcmp(d.deny_mailer.v[0], "*Cannon*") == 0, "round trip");
	ok(fetch_open(&d, key, pass, sizeof(pass)) == 0 &&
	    strcmp(pass, "s3cret pass") == 0, "open with the key");
	ok(fetch_open(&d, key2, pass, sizeof(pass)) == -1, "another key fails");
	ok(fetch_open(&d, key, pass, 5) == -1, "a too small buffer fails");
	/* the same ciphertext under another entry's name does not open */
	memset(&moved, 0, sizeof(moved));
	fetch_decode(&moved, rec.data, rec.len);
	snprintf(moved.account, sizeof(moved.account), "mallory");
	ok(fetch_open(&moved, key, pass, sizeof(pass)) == -1,
	    "moved to another entry: does not open");
	fetch_entry_clear(&moved);
	/* a damaged ciphertext */
	d.secret[5] = d.secret[5] == 'A' ? 'B' : 'A';
	ok(fetch_open(&d, key, pass, sizeof(pass)) == -1, "damaged: does not open");
	fetch_entry_clear(&d);
	/* ids: stable and distinct */
	fetch_id(&e, id);
	is_int(strlen(id), FETCH_ID_LEN, "id length");
	entry_fill(&d);
	fetch_id(&d, id2);
	is_str(id, id2, "same entry, same id");
	snprintf(d.user, sizeof(d.user), "other");
	fetch_id(&d, id2);
	ok(strcmp(id, id2) != 0, "another user, another id");
	buf_init(&k, 0);
	fetch_key(&d, &k);
	is_str(buf_cstr(&k), "fetch/alice/pop.example.net/other", "record key");
	buf_free(&k);
	fetch_entry_clear(&d);
	/* corrupt records */
	{
		static const char *const bad[] = {
			"",
			"F2\naccount a\n",
			"F1\naccount a\nhost h\nuser u\nport 110\ninterval 5\n",	/* no secret */
			"F1\naccount a\nhost h\nuser u\nport 0\ninterval 5\nsecret x\n",
			"F1\naccount a\nhost h\nuser u\nport 110\ninterval 5\ntls nope\nsecret x\n",
			"F1\naccount a\nhost h\nuser u\nport 110\ninterval 0\nsecret x\n",
			"F1\naccount a\x01\nhost h\nuser u\nport 110\ninterval 5\nsecret x\n",
			"F1\naccount a\nhost h\nuser u\nport 110\ninterval 5\nsecret x",
			"F1\nnospace\n",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&d, 0, sizeof(d));
			ok(fetch_decode(&d, bad[i], strlen(bad[i])) == -1,
			    "corrupt record %zu refused", i);
		}
		memset(&d, 0, sizeof(d));
		{
			static const char fut[] = "F1\naccount a\nhost h\nuser u\n"
			    "port 110\ninterval 5\nsecret x\nfuture 1\n";

			ok(fetch_decode(&d, fut, strlen(fut)) == 0,
			    "an unknown field is ignored");
		}
		fetch_entry_clear(&d);
	}
	buf_free(&rec);
	fetch_entry_clear(&e);
}

static void
test_key(void)
{
	unsigned char k1[FETCH_KEY_LEN], k2[FETCH_KEY_LEN];
	char home[] = "/tmp/yubin-fetch-XXXXXX", *state, *path;
	const char *why = NULL;
	struct stat st;
	int fd;

	if (mkdtemp(home) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	state = xasprintf("%s/state", home);
	path = xasprintf("%s/fetch.key", state);
	mkdir(state, 0700);
	ok(fetch_key_load(home, 0, k1, &why) == -1, "no key, no create: refused");
	is_str(why, "no fetch.key (no password was ever stored)", "no key: reason");
	ok(fetch_key_load(home, 1, k1, &why) == 0, "key made on first use");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	    st.st_size == FETCH_KEY_LEN, "mode 0600, 32 bytes");
	ok(fetch_key_load(home, 1, k2, &why) == 0 &&
	    memcmp(k1, k2, FETCH_KEY_LEN) == 0, "the same key the next time");
	chmod(path, 0640);
	ok(fetch_key_load(home, 0, k2, &why) == -1, "group-readable key refused");
	is_str(why, "fetch.key: readable by group or others (chmod 600)",
	    "group-readable: reason");
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd != -1 && write(fd, "short", 5) == 5, "a short key file");
	if (fd != -1)
		close(fd);
	ok(fetch_key_load(home, 1, k2, &why) == -1, "wrong size refused");
	is_str(why, "fetch.key: not a key (wrong size)", "wrong size: reason");
	unlink(path);
	ok(symlink("/etc/passwd", path) == 0, "a link planted as fetch.key");
	ok(fetch_key_load(home, 1, k2, &why) == -1, "a link is not followed");
	unlink(path);
	rmdir(state);
	rmdir(home);
	free(path);
	free(state);
}

int
main(void)
{
	plan_no_plan();
	test_hosts();
	test_users_patterns();
	test_match();
	test_records();
	test_key();
	return done_testing();
}
