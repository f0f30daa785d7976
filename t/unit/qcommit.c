/*
 * qcommit.c - the group-commit request: round trip, every kind of damaged
 * packet refused, and a batch against a real store (envelopes written,
 * once markers honoured within the batch and across batches).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/tap.h"
#include "../lib/tmpstore.h"
#include "buf.h"
#include "qcommit.h"
#include "queue.h"
#include "store.h"

#define ID1	"6553F1A0000A1B2C"
#define ID2	"6553F1A0000A1B2D"
#define ID3	"6553F1A0000A1B2E"

static void
make_rec(struct buf *b, const char *rcpt)
{
	struct envelope e;

	memset(&e, 0, sizeof(e));
	e.sender = strdup("a@example.org");
	e.arrival = 1700000000;
	envelope_add_rcpt(&e, rcpt, NULL);
	buf_init(b, 256);
	envelope_encode(&e, b);
	envelope_clear(&e);
}

static int
refused(const void *p, size_t len, const char *want)
{
	struct qc_req r;
	const char *why = NULL;

	if (qc_decode(p, len, &r, &why) != -1)
		return 0;
	if (want != NULL && (why == NULL || strcmp(why, want) != 0)) {
		diag("why: %s", why ? why : "(null)");
		return 0;
	}
	return 1;
}

static void
test_wire(void)
{
	const char *ids[2] = { ID1, ID2 }, *bad_ids[1] = { "6553f1a0000a1b2c" };
	const char *why = NULL;
	struct buf recs[2], pkt, big, cut;
	struct qc_req r;
	size_t i;

	make_rec(&recs[0], "b@example.net");
	make_rec(&recs[1], "c@example.net");
	buf_init(&pkt, 0);
	ok(qc_encode(&pkt, ids, recs, 2, "once/key", 8, 1234567) == 0,
	    "encode: two envelopes and a marker");
	ok(qc_decode(pkt.data, pkt.len, &r, &why) == 0, "decode: it");
	ok(r.n == 2 && memcmp(r.id[0], ID1, QUEUE_ID_LEN) == 0 &&
	    memcmp(r.id[1], ID2, QUEUE_ID_LEN) == 0, "decode: the ids");
	ok(r.reclen[0] == recs[0].len && memcmp(r.rec[0], recs[0].data,
	    recs[0].len) == 0 && r.reclen[1] == recs[1].len,
	    "decode: the records");
	ok(r.oncelen == 8 && memcmp(r.once, "once/key", 8) == 0 &&
	    r.expires == 1234567, "decode: the marker and its expiry");
	ok(qc_encode(&pkt, ids, recs, 1, NULL, 0, 0) == 0 &&
	    qc_decode(pkt.data, pkt.len, &r, &why) == 0 && r.once == NULL &&
	    r.n == 1, "no marker");

	/* what encode refuses: the caller commits alone */
	ok(qc_encode(&pkt, ids, recs, 0, NULL, 0, 0) == -1, "encode: none");
	ok(qc_encode(&pkt, ids, recs, QC_SET_MAX + 1, NULL, 0, 0) == -1,
	    "encode: more than QC_SET_MAX");
	ok(qc_encode(&pkt, ids, recs, 1, "k", QC_ONCE_MAX + 1, 0) == -1,
	    "encode: a marker over QC_ONCE_MAX");
	ok(qc_encode(&pkt, (const char *[]){ "SHORT" }, recs, 1, NULL, 0, 0) == -1,
	    "encode: an id of the wrong length");
	buf_init(&big, QC_MSG_MAX);
	for (i = 0; i < QC_MSG_MAX; i++)
		buf_append(&big, "x", 1);
	ok(qc_encode(&pkt, ids, &big, 1, NULL, 0, 0) == -1,
	    "encode: over QC_MSG_MAX");
	buf_free(&big);

	/* damaged packets */
	ok(qc_encode(&pkt, ids, recs, 2, "once/key", 8, 1) == 0, "encode again");
	ok(refused(pkt.data, 0, "not a commit request"), "decode: empty");
	ok(refused("YQC2", 4, "not a commit request"), "decode: short header");
	buf_init(&cut, 0);
	buf_append(&cut, pkt.data, pkt.len);
	memcpy(cut.data, "XQC1", 4);
	ok(refused(cut.data, cut.len, "not a commit request"), "decode: bad magic");
	for (i = 1; i < pkt.len; i++)
		if (!refused(pkt.data, pkt.len - i, NULL))
			break;
	ok(i == pkt.len, "decode: every cut of the packet refused");
	buf_reset(&cut);
	buf_append(&cut, pkt.data, pkt.len);
	buf_append(&cut, "!", 1);
	ok(refused(cut.data, cut.len, "trailing bytes"), "decode: trailing bytes");
	buf_reset(&cut);
	buf_append(&cut, pkt.data, pkt.len);
	cut.data[4] = 0;
	ok(refused(cut.data, cut.len, "bad message count"), "decode: count 0");
	cut.data[4] = QC_SET_MAX + 1;
	ok(refused(cut.data, cut.len, "bad message count"), "decode: count over max");
	cut.data[4] = 3;
	ok(refused(cut.data, cut.len, "cut short"), "decode: count over what is there");
	cut.data[4] = 2;
	cut.data[8] = 0xff;
	cut.data[9] = 0xff;
	ok(refused(cut.data, cut.len, "bad once marker"), "decode: marker too long");
	cut.data[8] = 8;
	cut.data[9] = 0;
	cut.data[20 + 8 + 4] = 'g';	/* first id's first digit */
	ok(refused(cut.data, cut.len, "bad queue id"), "decode: bad id digit");
	cut.data[20 + 8 + 4] = '6';
	cut.data[20 + 8 + 4 + QUEUE_ID_LEN] = 'Z';	/* first record's "E1" */
	ok(refused(cut.data, cut.len, "bad envelope"), "decode: bad envelope");
	cut.data[20 + 8 + 4 + QUEUE_ID_LEN] = 'E';
	cut.data[20 + 8] = 0xff;	/* first record's length */
	ok(refused(cut.data, cut.len, "cut short"), "decode: record length past the end");
	buf_free(&cut);
	ok(qc_encode(&pkt, bad_ids, recs, 1, NULL, 0, 0) == 0 &&
	    refused(pkt.data, pkt.len, "bad queue id"),
	    "decode: lower-case id refused");
	buf_free(&pkt);
	buf_free(&recs[0]);
	buf_free(&recs[1]);
}

static void
test_batch(void)
{
	char dir[256], home[300], qdir[320], ans[4];
	const char *ids1[1] = { ID1 }, *ids2[2] = { ID2, ID3 };
	struct buf recs[2], pkts[3], val;
	struct qc_req reqs[3];
	const char *why;
	struct store *s;
	size_t i;

	if (tmpstore_make(dir, sizeof(dir), "qcommit") == -1)
		exit(2);
	s = tmpstore_open(dir);
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(qdir, sizeof(qdir), "%s/queue", home);
	mkdir(home, 0700);
	make_rec(&recs[0], "b@example.net");
	make_rec(&recs[1], "c@example.net");
	for (i = 0; i < 3; i++)
		buf_init(&pkts[i], 0);
	/* 0: one message with marker M; 1: two messages; 2: marker M again */
	(void)qc_encode(&pkts[0], ids1, recs, 1, "m/1", 3, 0);
	(void)qc_encode(&pkts[1], ids2, recs, 2, NULL, 0, 0);
	(void)qc_encode(&pkts[2], ids1, recs, 1, "m/1", 3, 0);
	for (i = 0; i < 3; i++)
		(void)qc_decode(pkts[i].data, pkts[i].len, &reqs[i], &why);
	ok(qc_commit_batch(s, home, reqs, 3, ans) == -1 && ans[0] == QC_ANS_FAIL &&
	    ans[1] == QC_ANS_FAIL && ans[2] == QC_ANS_FAIL,
	    "batch: no queue folder: every request fails");
	buf_init(&val, 4096);
	ok(store_get(s, STORE_QUEUE, ID2, QUEUE_ID_LEN, &val) == 0,
	    "batch: and nothing was written");
	mkdir(qdir, 0700);
	ok(qc_commit_batch(s, home, reqs, 3, ans) == 0, "batch: committed");
	ok(ans[0] == QC_ANS_OK && ans[1] == QC_ANS_OK && ans[2] == QC_ANS_ONCE,
	    "batch: a marker repeated in the batch queues once");
	ok(store_get(s, STORE_QUEUE, ID1, QUEUE_ID_LEN, &val) == 1 &&
	    val.len == recs[0].len && memcmp(val.data, recs[0].data, val.len) == 0,
	    "batch: first envelope stored");
	ok(store_get(s, STORE_QUEUE, ID2, QUEUE_ID_LEN, &val) == 1 &&
	    store_get(s, STORE_QUEUE, ID3, QUEUE_ID_LEN, &val) == 1 &&
	    val.len == recs[1].len, "batch: both of the second request");
	ok(qc_commit_batch(s, home, &reqs[0], 1, ans) == 0 && ans[0] == QC_ANS_ONCE,
	    "batch: the marker holds in a later batch");
	ok(qc_commit_batch(s, home, reqs, 0, ans) == 0, "batch: none is nothing");
	buf_free(&val);
	for (i = 0; i < 3; i++)
		buf_free(&pkts[i]);
	buf_free(&recs[0]);
	buf_free(&recs[1]);
	store_close(&s);
	tmpstore_remove(dir);
}

int
main(void)
{
	plan_no_plan();
	test_wire();
	test_batch();
	return done_testing();
}
