/*
 * t/unit/local_job.c - the local delivery job datagram between the queue
 * manager and its local agents: a round trip keeps every field, the usage
 * filled in at send time lands in the right place, and a datagram that is
 * cut, padded, unterminated or of the wrong kind is refused, never read
 * past.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "buf.h"
#include "local.h"

static void
job_fill(struct local_job *j)
{
	memset(j, 0, sizeof(*j));
	j->qid = "6B0FB0DF68177938";
	j->qpath = "/var/yubin/queue/6B0FB0DF68177938";
	j->sender = "";
	j->rcpt = "alice@example.org";
	j->account = "alice";
	j->client_ip = "192.0.2.7";
	j->auth_user = "bob";
	j->maildir = "/var/yubin/mailbox/alice/Maildir";
	j->size = 1000;
	j->size_crlf = 123456789012LL;
	j->idx = 41;
}

int
main(void)
{
	struct local_job j, d;
	struct buf b;
	char *copy;
	size_t cut;
	int bad;

	plan_no_plan();
	buf_init(&b, 0);
	job_fill(&j);
	is_int(local_job_encode(&j, &b), 0, "encodes");
	local_job_usage(b.data, b.len, 7, 99999);
	copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	is_int(local_job_decode(&d, copy, b.len), 0, "decodes");
	is_str(d.qid, j.qid, "qid");
	is_str(d.qpath, j.qpath, "qpath");
	is_str(d.sender, "", "null sender");
	is_str(d.rcpt, j.rcpt, "rcpt");
	is_str(d.account, j.account, "account");
	is_str(d.client_ip, j.client_ip, "client ip");
	is_str(d.auth_user, j.auth_user, "auth user");
	is_str(d.maildir, j.maildir, "maildir");
	ok(d.size == 1000 && d.size_crlf == 123456789012LL, "sizes");
	is_int((int)d.idx, 41, "recipient index");
	ok(d.usage_count == 7 && d.usage_bytes == 99999, "usage filled in at send");
	free(copy);

	/* every cut is refused, and never read past (ASan) */
	bad = 0;
	for (cut = 0; cut < b.len; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, b.data, cut);
		if (local_job_decode(&d, copy, cut) != -1)
			bad++;
		free(copy);
	}
	is_int(bad, 0, "every shortened datagram is refused");
	copy = malloc(b.len + 1);
	memcpy(copy, b.data, b.len);
	copy[b.len] = 'x';
	is_int(local_job_decode(&d, copy, b.len + 1), -1, "a padded datagram is refused");
	memcpy(copy, "YDJ1", 4);
	is_int(local_job_decode(&d, copy, b.len), -1, "a remote job is not a local one");
	memcpy(copy, b.data, b.len);
	copy[4 + 4 + strlen(j.qid)] = 'x';	/* the qid's NUL */
	is_int(local_job_decode(&d, copy, b.len), -1, "an unterminated string is refused");
	free(copy);

	j.account = "";
	local_job_encode(&j, &b);
	copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	is_int(local_job_decode(&d, copy, b.len), -1, "a job without account is refused");
	free(copy);
	buf_free(&b);
	done_testing();
}
