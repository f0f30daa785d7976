#!/usr/bin/env python3
# server.log_kinds (F127): the E-Post logs as kinds of line, each a switch.
#   receive     "accepted" when a message is taken
#   send        a message handed to an external host
#   connection  every MAIL FROM attempt (taken or refused), with the client
#   delivery    the delivery agents' detail (stored, deferred)
#   failure     a recipient given up (bounced, refused, held)
# Each such line carries kind=NAME after its fields, the queue id first;
# a kind left out of the list is not written; a bad name is a config error.
import os
import re
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, binary, send_authed, wait_until  # noqa: E402

t = TAP()
BODY = b'Subject: kinds\r\n\r\nbody\r\n'
GW = 'ok.test,127.0.0.1,%d,tls=none\nbad.test,127.0.0.1,%d,tls=none\n'
QID = r'[0-9A-F]{16}'


def count(s, pattern):
    return len(re.findall(pattern, s.log(), re.M))


def traffic(s):
    """A local message, one sent out, one refused remotely, a refused MAIL."""
    with s.smtp() as c:
        c.ehlo('client.test')
        c.sendmail('x@example.org', ['alice@localhost'], BODY)
    send_authed(s, 'alice@localhost', ['someone@ok.test'], BODY)
    send_authed(s, 'alice@localhost', ['nobody@bad.test'], BODY)
    with s.smtp() as c:
        c.ehlo('client.test')
        code = c.mail('not an address')[0]
    t.ok(500 <= code < 600, 'a refused MAIL FROM (%d)' % code)
    return wait_until(lambda: count(s, r': removed$') >= 4)


with Sink() as ok_sink, Sink(rcpt=(550, '5.1.1 no such user')) as bad_sink:
    gw = {'gateway.dat': GW % (ok_sink.port, bad_sink.port)}

    with Server(accounts={'alice': 'pw'}, tls=False, files=gw) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
        t.ok(traffic(s), 'default: all messages through')
        t.ok(count(s, r'^\S+ yubind/smtp\[\d+\]: %s: accepted from=<x@example\.org> .* '
                   r'client=127\.0\.0\.1 kind=receive sid=\S+$' % QID) == 1,
             'receive: the accepted line, queue id first')
        t.ok(count(s, r'yubind/smtp\[\d+\]: NOQUEUE: mail from=<x@example\.org> .*client=127\.0\.0\.1 '
                   r'kind=connection sid=') == 1, 'connection: the MAIL FROM attempt with its client')
        t.ok(count(s, r'(?i)NOQUEUE: reject cmd=MAIL code=5\d\d .*kind=connection sid=') == 1,
             'connection: a refused MAIL FROM too')
        t.ok(count(s, r': %s: to=<alice@localhost> account=alice status=sent .*kind=delivery$' % QID) >= 1,
             'delivery: the local store')
        t.ok(count(s, r': %s: to=<someone@ok\.test> relay=.* status=sent .*kind=send$' % QID) == 1,
             'send: the message handed to the external host')
        t.ok(count(s, r': %s: to=<nobody@bad\.test> relay=.* status=\S+ .*kind=failure$' % QID) == 1,
             'failure: the recipient the remote refused')
        t.ok(count(s, r': removed$') >= 4 and count(s, r': removed kind=') == 0,
             'lines of no kind stay as they were')

    with Server(accounts={'alice': 'pw'}, tls=False, files=gw,
                conf={'server': {'log_kinds': 'receive, failure'}}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
        t.ok(traffic(s), 'receive and failure only: all messages through')
        t.is_(count(s, r'kind=receive'), 3, 'receive lines written')
        t.is_(count(s, r'kind=failure'), 1, 'failure line written')
        t.is_(count(s, r'kind=(connection|send|delivery)'), 0, 'the other kinds not')
        t.ok(count(s, r': accepted from=') == 3 and count(s, r'mail from=') == 0,
             'the switched-off lines are gone, not just untagged')

    with Server(accounts={'alice': 'pw'}, tls=False, conf={'server': {'log_kinds': ''}}) as s:
        with s.smtp() as c:
            c.sendmail('x@example.org', ['alice@localhost'], BODY)
        t.ok(s.wait_mail('alice', 1), 'every kind off: mail still delivered')
        t.ok(wait_until(lambda: count(s, r': removed$') == 1), 'its queue file removed')
        t.is_(count(s, r'kind='), 0, 'no line of any kind')

s = Server(start=False)
s.write_conf(dict(s.sections, server=dict(s.sections['server'], log_kinds='receive sent')))
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
t.is_(r.returncode, 1, 'an unknown kind: yubind -t exits 1')
line = [n for n, l in enumerate(open(s.conf_path).read().splitlines(), 1)
        if l.startswith('log_kinds')][0]
t.like(r.stderr, r'yubin\.conf:%d: .*log_kinds.*sent' % line, 'file:line: names the bad word')
s.cleanup()
t.done()
