/*
 * t/unit/agent.c - the job datagram between the queue manager and its
 * delivery agents: a round trip keeps every field, and a datagram that is
 * cut, padded or unterminated, or that names no recipient or no port, is
 * refused, never read past.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "buf.h"
#include "agent.h"

static void
job_fill(struct dlv_job *j, char **rcpts, size_t *idx)
{
	memset(j, 0, sizeof(*j));
	j->qid = "6B0FB0DF68177938";
	j->qpath = "/var/yubin/queue/6B0FB0DF68177938";
	j->sender = "alice@example.org";
	j->helo = "mx.example.org";
	j->resolver = "[::1]:5353";
	j->size_crlf = 123456789012LL;
	j->body_8bit = 1;
	j->smtputf8 = 0;
	j->timeout = 7;
	j->dest.kind = ROUTE_GATEWAY;
	snprintf(j->dest.host, sizeof(j->dest.host), "gw.example.net");
	j->dest.port = 587;
	j->dest.implicit_tls = 0;
	j->dest.tls = ROUTE_TLS_VERIFY;
	snprintf(j->dest.user, sizeof(j->dest.user), "user");
	snprintf(j->dest.pass, sizeof(j->dest.pass), "secret");
	snprintf(j->dest.key, sizeof(j->dest.key), "gw:gw.example.net:587");
	j->nmx = 2;
	snprintf(j->mx[0].name, sizeof(j->mx[0].name), "mx1.example.net");
	j->mx[0].pref = 10;
	snprintf(j->mx[1].name, sizeof(j->mx[1].name), "mx2.example.net");
	j->mx[1].pref = 20;
	rcpts[0] = "bob@example.net";
	rcpts[1] = "carol@example.net";
	idx[0] = 0;
	idx[1] = 3;
	j->rcpts = rcpts;
	j->idx = idx;
	j->n = 2;
}

int
main(void)
{
	struct dlv_job j, d;
	struct buf b;
	char *rcpts[2], *copy;
	size_t idx[2], len, cut;
	int bad;

	plan_no_plan();
	buf_init(&b, 0);
	job_fill(&j, rcpts, idx);
	is_int(dlv_job_encode(&j, &b), 0, "encode");
	len = b.len;
	copy = malloc(len);
	memcpy(copy, b.data, len);
	is_int(dlv_job_decode(&d, copy, len), 0, "decode");
	is_str(d.qid, j.qid, "qid");
	is_str(d.qpath, j.qpath, "qpath");
	is_str(d.sender, j.sender, "sender");
	is_str(d.helo, j.helo, "helo");
	is_str(d.resolver, j.resolver, "resolver");
	ok(d.size_crlf == j.size_crlf, "size");
	is_int(d.body_8bit, 1, "body_8bit");
	is_int(d.timeout, 7, "timeout");
	is_int(d.dest.kind, ROUTE_GATEWAY, "route kind");
	is_str(d.dest.host, "gw.example.net", "route host");
	is_int(d.dest.port, 587, "route port");
	is_int(d.dest.tls, ROUTE_TLS_VERIFY, "route tls");
	is_str(d.dest.user, "user", "route user");
	is_str(d.dest.pass, "secret", "route password");
	is_str(d.dest.key, "gw:gw.example.net:587", "route key");
	is_int((int)d.nmx, 2, "two MX");
	is_str(d.mx[1].name, "mx2.example.net", "second MX");
	is_int(d.mx[1].pref, 20, "its preference");
	is_int((int)d.n, 2, "two recipients");
	is_str(d.rcpts[1], "carol@example.net", "second recipient");
	is_int((int)d.idx[1], 3, "its envelope index");
	dlv_job_free(&d);

	/* every shorter datagram is refused */
	for (bad = 0, cut = 0; cut < len; cut++) {
		memcpy(copy, b.data, len);
		if (dlv_job_decode(&d, copy, cut) == 0) {
			bad++;
			dlv_job_free(&d);
		}
	}
	is_int(bad, 0, "every cut datagram refused (%zu lengths)", len);
	/* a byte more is refused too */
	buf_putc(&b, 'x');
	free(copy);
	copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	is_int(dlv_job_decode(&d, copy, b.len), -1, "trailing byte refused");
	/* a string whose NUL is replaced, a wrong magic */
	memcpy(copy, b.data, len);
	copy[4 + 4 + strlen(j.qid)] = 'X';
	is_int(dlv_job_decode(&d, copy, len), -1, "unterminated string refused");
	memcpy(copy, b.data, len);
	copy[0] = 'Z';
	is_int(dlv_job_decode(&d, copy, len), -1, "wrong magic refused");
	/* well-formed, but no recipient, or no valid port */
	{
		struct dlv_job odd;

		job_fill(&odd, rcpts, idx);
		odd.n = 0;
		buf_reset(&b);
		is_int(dlv_job_encode(&odd, &b), 0, "a job without recipients encodes");
		free(copy);
		copy = malloc(b.len);
		memcpy(copy, b.data, b.len);
		is_int(dlv_job_decode(&d, copy, b.len), -1, "but is refused");
		job_fill(&odd, rcpts, idx);
		odd.dest.port = 0;
		buf_reset(&b);
		is_int(dlv_job_encode(&odd, &b), 0, "port 0 encodes");
		free(copy);
		copy = malloc(b.len);
		memcpy(copy, b.data, b.len);
		is_int(dlv_job_decode(&d, copy, b.len), -1, "but is refused");
	}
	free(copy);
	buf_free(&b);
	return done_testing();
}
