#!/usr/bin/env python3
# Outbound CHUNKING (RFC 3030): a peer that offers CHUNKING gets the message
# as BDAT chunks (CRLF line ends, no dot-stuffing, exact counts, the last
# one LAST), pipelined or not; a refused chunk bounces (5xx) or defers (4xx)
# as a DATA reply would, and the session stays usable; a peer without
# CHUNKING gets DATA as before.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, send_authed, wait_until, parse_dsn

t = TAP()
ACC = {'alice': 'pw'}
# three chunks' worth, dot lines included, lines of several lengths
LINES = [b'.leading dot', b'..two dots', b'.', b'plain'] + \
    [b'line %05d %s' % (i, b'w' * (i % 97)) for i in range(3000)]
BODY = (b'Subject: chunked\r\nFrom: alice@localhost\r\nMessage-ID: <c1@localhost>\r\n\r\n' +
        b'\r\n'.join(LINES) + b'\r\n')
SMALL = b'Subject: small\r\nFrom: alice@localhost\r\n\r\n.dot\r\nbody\r\n'


def gw(port):
    return {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % port}


def check_chunks(txn, body, name):
    chunks = txn.get('chunks') or []
    lines = txn.get('bdat_lines') or []
    t.ok(len(chunks) >= 1, '%s: sent with BDAT' % name)
    t.ok(txn['data'].endswith(body) and txn['data'].startswith(b'Received: '),
         '%s: the chunks make the message (our Received: header, then it)' % name)
    t.ok(all(l == 'BDAT %d' % len(c) for l, c in zip(lines[:-1], chunks[:-1])) and
         lines[-1] == 'BDAT %d LAST' % len(chunks[-1]),
         '%s: every count exact, only the last one LAST' % name)
    t.ok(all(len(c) <= 65536 for c in chunks), '%s: chunks of at most 64 KiB' % name)
    t.ok(b'\r\n' in txn['data'] and re.search(rb'(?<!\r)\n', txn['data']) is None,
         '%s: CRLF line ends only' % name)
    return chunks


# 1. a peer with CHUNKING and PIPELINING; then one without PIPELINING
for pipelining in (True, False):
    name = 'pipelining' if pipelining else 'no pipelining'
    with Sink(chunking=True, pipelining=pipelining) as sink:
        with Server(accounts=ACC, files=gw(sink.port)) as s:
            t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
            send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
            t.ok(sink.wait(1), '%s: delivered' % name)
            txn = sink.delivered()[0]
            chunks = check_chunks(txn, BODY, name)
            t.ok(len(chunks) >= 3, '%s: a big message goes in several chunks' % name)
            t.ok(b'\r\n.leading dot\r\n..two dots\r\n.\r\nplain\r\n' in txn['data'],
                 '%s: dot lines as they are (no stuffing)' % name)
            t.ok(s.wait_log(r'to=<bob@remote\.test> .*status=sent'), '%s: logged sent' % name)

# 2. a chunk refused with 554: bounced with that reply; the session is
#    reset and carries the next message
calls = {'n': 0}


def refuse_first(chunk, last, index):
    calls['n'] += 1
    if b'Subject: chunked' in chunk and index == 0:
        return (554, '5.6.0 chunk refused by the sink')
    return None


with Sink(chunking=True, bdat=refuse_first) as sink:
    with Server(accounts=ACC, files=gw(sink.port)) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_mail('alice', 1), '554 to a chunk: the sender gets a bounce')
        t.ok(s.wait_log(r'to=<bob@remote\.test> .*status=bounced \(554 5\.6\.0 chunk refused'),
             'bounced with the chunk\'s reply')
        _, _, fields, _ = parse_dsn(s.mails('alice')[0])
        t.is_(fields[1].get('status') if len(fields) > 1 else None, '5.6.0',
              'the DSN carries its status')
        t.is_(sink.delivered(), [], 'nothing delivered')
        send_authed(s, 'alice@localhost', ['carol@remote.test'], SMALL)
        t.ok(sink.wait(1), 'the next message goes through after the refusal')
        if sink.delivered():
            check_chunks(sink.delivered()[0], SMALL, 'after a refusal')

# 3. 451 to a chunk: deferred, then sent on the retry
state = {'n': 0}


def defer_once(chunk, last, index):
    if index == 0:
        state['n'] += 1
        if state['n'] == 1:
            return (451, '4.3.0 chunk deferred by the sink')
    return None


with Sink(chunking=True, bdat=defer_once) as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'queue': {'retry_interval': '1s'}}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_log(r'to=<bob@remote\.test> .*status=deferred \(451 4\.3\.0 chunk deferred'),
             '451 to a chunk: deferred with the reply')
        t.ok(sink.wait(1), 'delivered on the retry')
        if sink.delivered():
            check_chunks(sink.delivered()[0], BODY, 'retry')
        t.ok(s.wait_log(r'to=<bob@remote\.test> .*status=sent .*attempts=1'),
             'sent after one failed attempt')
        t.ok(wait_until(lambda: s.queue_files() == []), 'queue empty')
        t.is_(s.mails('alice'), [], 'no bounce')

# 4. the last chunk refused: that reply is the outcome, as DATA's end
with Sink(chunking=True, data=(550, '5.7.1 content refused')) as sink:
    with Server(accounts=ACC, files=gw(sink.port)) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], SMALL)
        t.ok(s.wait_log(r'to=<bob@remote\.test> .*status=bounced \(550 5\.7\.1 content refused'),
             'the last chunk refused: bounced with its reply')

# 5. no CHUNKING offered: DATA as before
with Sink() as sink:
    with Server(accounts=ACC, files=gw(sink.port)) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(sink.wait(1), 'without CHUNKING: delivered')
        txn = sink.delivered()[0] if sink.delivered() else {}
        t.ok('chunks' not in txn and txn.get('data', b'').endswith(BODY),
             'with DATA, the same message')

t.done()
