#!/usr/bin/env python3
# Connection reuse (issue 6): a delivery agent keeps a session that ended
# cleanly and carries the next message to the same destination over it; a
# kept session the peer drops costs nothing but a new connection; different
# destinations never share one.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, send_authed, wait_until

t = TAP()
ACC = {'alice': 'pw'}


def body(n):
    return ('Subject: m%d\r\nFrom: alice@localhost\r\nMessage-ID: <r%d@localhost>\r\n'
            '\r\nbody %d\r\n' % (n, n, n)).encode()


def gw(*lines):
    return {'gateway.dat': ''.join('%s,127.0.0.1,%d,tls=none\n' % l for l in lines)}


# 1. five messages one after the other: the first session carries them all
with Sink() as sink:
    with Server(accounts=ACC, files=gw(('remote.test', sink.port))) as s:
        for i in range(5):
            send_authed(s, 'alice@localhost', ['bob%d@remote.test' % i], body(i))
            t.ok(sink.wait(i + 1), 'message %d delivered' % i)
        t.is_(sink.connections, 1, 'one connection carried all five')
        t.is_([x['rcpts'] for x in sink.txns], [['bob%d@remote.test' % i] for i in range(5)],
              'each transaction with its own recipient')
        t.is_([b'body %d' % i in x['data'] for i, x in enumerate(sink.txns)], [True] * 5,
              'each transaction with its own message')
        # the sink sees the data before the agent reads its reply and logs
        wait_until(lambda: len(re.findall(r'status=sent', s.log())) >= 5)
        t.is_(len(re.findall(r'status=sent', s.log())), 5, 'five sent')

# 2. a peer that drops the kept session when it is reused: no deferral
with Sink(txns_per_conn=1) as sink:
    with Server(accounts=ACC, files=gw(('remote.test', sink.port))) as s:
        for i in range(3):
            send_authed(s, 'alice@localhost', ['bob@remote.test'], body(i))
            t.ok(sink.wait(i + 1), 'message %d delivered although the session was dropped' % i)
        t.is_(sink.connections, 3, 'a new connection each time')
        t.ok(not re.search(r'status=deferred', s.log()), 'nothing deferred')

# 3. a transaction refused at RCPT leaves a clean session for the next one
state = {'n': 0}


def rcpt(addr):
    return (550, '5.1.1 no such user') if addr.startswith('nobody') else (250, '2.1.5 ok')


with Sink(rcpt=rcpt) as sink:
    with Server(accounts=ACC, files=gw(('remote.test', sink.port))) as s:
        send_authed(s, 'alice@localhost', ['nobody@remote.test'], body(1))
        t.ok(s.wait_log(r'to=<nobody@remote\.test> .*status=bounced'), 'refused recipient bounced')
        send_authed(s, 'alice@localhost', ['bob@remote.test'], body(2))
        t.ok(sink.wait(1), 'the next message delivered')
        t.is_(sink.connections, 1, 'over the same session')

# 3b. the same against a peer that keeps the transaction open after every
# RCPT was refused (Postfix: the next MAIL is "503 nested MAIL command"):
# the agent sends RSET, and the next message is delivered, never bounced
with Sink(rcpt=rcpt, strict=True) as sink:
    with Server(accounts=ACC, files=gw(('remote.test', sink.port))) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        send_authed(s, 'alice@localhost', ['nobody@remote.test'], body(1))
        t.ok(s.wait_log(r'to=<nobody@remote\.test> .*status=bounced'), 'refused recipient bounced')
        send_authed(s, 'alice@localhost', ['bob@remote.test'], body(2))
        t.ok(sink.wait(1), 'the next message delivered after RSET')
        t.ok(not re.search(r'to=<bob@remote\.test> .*status=bounced', s.log()), 'and not bounced')
        t.is_(sink.connections, 1, 'over the same session')
        t.on_fail.pop()

# 3c. a kept session whose MAIL is refused (RSET that ends nothing, so
# "503 nested MAIL"): the session is wrong, not the message: a new one
with Sink(rcpt=rcpt, strict=True, rset_clears=False) as sink:
    with Server(accounts=ACC, files=gw(('remote.test', sink.port))) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        send_authed(s, 'alice@localhost', ['nobody@remote.test'], body(1))
        t.ok(s.wait_log(r'to=<nobody@remote\.test> .*status=bounced'), 'refused recipient bounced')
        send_authed(s, 'alice@localhost', ['bob@remote.test'], body(2))
        t.ok(sink.wait(1), 'the next message delivered over a new session')
        t.ok(not re.search(r'to=<bob@remote\.test> .*status=bounced', s.log()), 'and not bounced')
        t.is_(sink.connections, 2, 'two connections')
        t.on_fail.pop()

# 4. two destinations: two sessions, each reused for its own
with Sink() as a, Sink() as b:
    with Server(accounts=ACC, files=gw(('a.test', a.port), ('b.test', b.port))) as s:
        for i in range(2):
            send_authed(s, 'alice@localhost', ['x@a.test'], body(i))
            t.ok(a.wait(i + 1), 'a.test message %d' % i)
            send_authed(s, 'alice@localhost', ['y@b.test'], body(i))
            t.ok(b.wait(i + 1), 'b.test message %d' % i)
        t.is_((a.connections, b.connections), (1, 1), 'one session per destination, each reused')
        t.is_([x['rcpts'] for x in a.txns + b.txns], [['x@a.test']] * 2 + [['y@b.test']] * 2,
              'no message crossed to the other destination')
t.done()
