#!/usr/bin/env python3
"""server.archive_address (F128): every message received over SMTP is also
queued for the archive addresses, once per message however many
recipients it has, not at all when it was refused, never twice when the
archive is already a recipient (so a copy that comes back cannot loop);
a remote archive address is relayed to; a bad address in the key refuses
the start with file:line."""

import os
import re
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, Sink, TAP, binary, wait_until  # noqa: E402

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw', 'arch': 'pw'}


def msg(subject, size=0):
    return ('From: x@example.org\r\nTo: alice@localhost\r\nSubject: %s\r\n\r\n'
            'body of %s\r\n%s' % (subject, subject, 'y' * size)).encode()


def count(s, account, subject):
    return sum(1 for m in s.mails(account) if ('Subject: %s\n' % subject).encode()
               in m.replace(b'\r\n', b'\n'))


def send(s, rcpts, subject, size=0):
    with s.smtp() as c:
        try:
            c.sendmail('x@example.org', rcpts, msg(subject, size))
            return 250
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as e:
            return e.smtp_code
        except smtplib.SMTPRecipientsRefused as e:
            return list(e.recipients.values())[0][0]


with Sink() as sink:
    conf = {'server': {'archive_address': 'arch, copy@archive.example'},
            'smtp': {'max_message_size': '20k'}}
    files = {'gateway.dat': '*,127.0.0.1,%d,tls=none\n' % sink.port}
    with Server(conf=conf, accounts=ACC, files=files) as s:
        t.is_(send(s, ['alice@localhost'], 'one'), 250, 'one recipient: accepted')
        t.ok(s.wait_mail('alice', 1), 'alice has it')
        t.ok(s.wait_mail('arch', 1), 'the local archive has a copy')
        t.ok(sink.wait(1), 'the remote archive address got one relayed')
        t.is_(sink.txns[0]['rcpts'], ['copy@archive.example'],
              'relayed to the remote archive address only')
        t.ok(b'Subject: one' in sink.txns[0]['data'], 'the same message')
        alice = [m for m in s.mails('alice')][0]
        arch = [m for m in s.mails('arch')][0]
        def body(m):    # without the per-mailbox trace fields
            return [x for x in m.split(b'\n') if not x.startswith((b'Delivered-To:',
                                                                    b'Return-Path:'))]
        t.is_(body(arch), body(alice), 'the archived copy is the message as delivered')
        t.ok(s.wait_log(r'archive to=<arch> account=arch'), 'logged')

        t.is_(send(s, ['alice@localhost', 'bob@localhost'], 'two'), 250,
              'two recipients: accepted')
        t.ok(s.wait_mail('bob', 1), 'bob has it')
        t.ok(wait_until(lambda: count(s, 'arch', 'two') == 1), 'archived once')
        t.ok(sink.wait(2), 'relayed once to the remote archive')

        t.is_(send(s, ['arch@localhost'], 'direct'), 250, 'mail to the archive itself')
        t.ok(wait_until(lambda: count(s, 'arch', 'direct') >= 1), 'arrives')

        t.is_(send(s, ['alice@localhost', 'arch@localhost'], 'both'), 250,
              'the local archive among the recipients')
        t.ok(wait_until(lambda: count(s, 'alice', 'both') == 1), 'alice has "both"')

        t.is_(send(s, ['alice@localhost'], 'big', 30000), 552, 'a refused message (too big)')
        t.ok(s.wait_log(r'accepted from=<x@example\.org> .*nrcpt=3'),
             'the archive addresses are recipients of the queued message')
        s.stop()
        t.is_(count(s, 'arch', 'direct'), 1, 'mail to the archive itself: one copy, not two')
        t.is_(count(s, 'arch', 'both'), 1, 'archive already a recipient: one copy')
        t.is_(count(s, 'arch', 'big'), 0, 'a refused message is not archived')
        t.is_(count(s, 'arch', 'two'), 1, 'still one copy of a two-recipient message')
        t.is_(len([x for x in sink.txns if b'Subject: two' in x['data']]), 1,
              'and one remote copy')

# an archive account that does not exist: the message still goes through
with Server(conf={'server': {'archive_address': 'nosuch'}}, accounts={'alice': 'pw'}) as s:
    t.is_(send(s, ['alice@localhost'], 'lost archive'), 250, 'accepted without the archive')
    t.ok(s.wait_mail('alice', 1), 'delivered to alice')
    t.ok(s.wait_log(r'archive <nosuch>: no such local recipient'), 'the missing archive is logged')

# bad values refuse the start, naming the line
for bad in ('a@b@c', '<x@y>', 'x@', 'a' * 300 + '@example.org'):
    s = Server(start=False)
    sections = {k: dict(v) for k, v in s.sections.items()}
    sections['server']['archive_address'] = bad
    s.write_conf(sections)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                       text=True)
    t.is_(r.returncode, 1, 'archive_address = %.20s: refused' % bad)
    t.like(r.stderr, re.escape(s.conf_path) + r':\d+: .*archive_address.*expected mail '
           r'addresses', 'with file:line and why') or t.diag(r.stderr)
    s.cleanup()
t.done()
