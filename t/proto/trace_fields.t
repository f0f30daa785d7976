#!/usr/bin/env python3
"""Trace fields of final delivery (RFC 5321 4.4, DESIGN 7; issue 13 item 5):
every stored message begins with "Return-Path: <SENDER>" and
"Delivered-To: RCPT", for a plain delivery, for each mailbox of a
multi-recipient message (each its own Delivered-To) and for a null sender
(Return-Path: <>); the sizes in the file name, POP3 LIST, RETR, TOP and the
mailbox usage all count the two lines."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import Server, TAP, conf, message, lf, find_mail  # noqa: E402
from yubintest import wait_until  # noqa: E402

t = TAP()
ACCOUNTS = {'alice': 'pw-alice', 'bob': 'pw-bob', 'carol': 'pw-carol'}


def pop3_size(data):
    """What POP3 sends for stored DATA: LF -> CRLF."""
    return len(data) + len(re.findall(rb'(?<!\r)\n', data))


with Server(conf=conf(), accounts=ACCOUNTS) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    with s.smtp() as c:
        c.ehlo('trace.example')
        c.sendmail('sender@example.org', ['alice@localhost'], message('plain'))
        c.sendmail('multi@example.org', ['alice@localhost', 'bob@localhost',
                                         'carol@localhost'], message('multi'))
        c.sendmail('', ['bob@localhost'], message('null', sender='mailer-daemon@x'))
    t.ok(s.wait_mail('alice', 2) and s.wait_mail('bob', 2) and s.wait_mail('carol', 1),
         'all delivered')
    # the usage is recorded with the delivery results, before the queue
    # file goes: a stored file alone does not mean it is counted yet
    t.ok(wait_until(lambda: s.queue_files() == []), 'the queue is empty')

    plain = find_mail(s, 'alice', b'Subject: plain')
    t.ok(plain.startswith(b'Return-Path: <sender@example.org>\nDelivered-To: '
                          b'alice@localhost\nReceived: from trace.example '),
         'plain delivery: Return-Path, Delivered-To, then Received')
    t.is_(plain.count(b'Return-Path:'), 1, 'exactly one Return-Path')
    t.ok(plain.endswith(lf(message('plain'))), 'the message itself follows unchanged')

    for who in ('alice', 'bob', 'carol'):
        m = find_mail(s, who, b'Subject: multi')
        t.ok(m.startswith(b'Return-Path: <multi@example.org>\nDelivered-To: %s@localhost\n'
                          % who.encode()),
             'multi-recipient: %s\'s copy has its own Delivered-To' % who)
        t.is_(m.count(b'Delivered-To:'), 1, 'multi-recipient: %s: one Delivered-To' % who)

    null = find_mail(s, 'bob', b'Subject: null')
    t.ok(null.startswith(b'Return-Path: <>\nDelivered-To: bob@localhost\n'),
         'null sender: Return-Path: <>')

    # the sizes in the names count the whole stored file
    for who in ('alice', 'bob', 'carol'):
        d = os.path.join(s.maildir(who), 'new')
        for name in os.listdir(d):
            with open(os.path.join(d, name), 'rb') as f:
                data = f.read()
            m = re.search(r',S=(\d+),W=(\d+)', name)
            t.ok(m and int(m.group(1)) == len(data) and int(m.group(2)) == pop3_size(data),
                 '%s: S= and W= of %s count the trace lines' % (who, name))

    # POP3: LIST = RETR size, TOP shows the trace lines first
    p = s.pop3()
    p.user('alice')
    p.pass_('pw-alice')
    _, lines, _ = p.list()
    total = 0
    for i, l in enumerate(lines):
        _, body, _ = p.retr(i + 1)
        got = b''.join(x + b'\r\n' for x in body)
        t.is_(int(l.split()[1]), len(got), 'alice: LIST %d = RETR size' % (i + 1))
        t.ok(got.startswith(b'Return-Path: <'), 'alice: RETR %d begins with Return-Path' % (i + 1))
        total += len(got)
    _, top, _ = p.top(1, 0)
    t.ok(top[0].startswith(b'Return-Path: <') and top[1].startswith(b'Delivered-To: alice@'),
         'TOP shows the trace lines first')
    t.is_(p.stat()[1], total, 'STAT octets = the sum of the RETR sizes')
    p.quit()

    out = s.ctl('mailbox', 'alice').stdout
    m = re.search(r'^alice\s+mails=(\d+) bytes=(\d+) ', out, re.M)
    t.is_((int(m.group(1)), int(m.group(2))) if m else out, (2, total),
          'mailbox usage counts the trace lines (= POP3 octets)')

t.done()
