#!/usr/bin/env python3
"""smtp.max_message_size has a finite compiled-in default (50M = 52428800
bytes): a yubind whose configuration does not name the key advertises
SIZE 52428800 in EHLO, refuses a MAIL FROM whose SIZE= is above it
(552 5.3.4) and a DATA stream that grows beyond it (552 5.3.4, nothing
queued, the session goes on).  An explicit max_message_size = 0 still
means unlimited (EHLO says SIZE 0, RFC 1870) and takes a SIZE= above 50M.
Issue 12 item 8."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import Server, TAP, Session, conf, expect, count_accepted  # noqa: E402

t = TAP()
LIMIT = 50 * 1024 * 1024
ACCOUNTS = {'alice': 'pw-alice'}


def ehlo_size(c):
    """The SIZE value EHLO advertises (None when not advertised)."""
    code, text = c.ehlo()
    for line in (text or '').split('\n'):
        words = line[4:].split()
        if words and words[0].upper() == 'SIZE':
            return int(words[1]) if len(words) > 1 else -1
    return None


with Server(conf=conf(), accounts=ACCOUNTS, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    t.ok('max_message_size' not in s.sections['smtp'],
         'the configuration does not name smtp.max_message_size')
    shown = s.ctl('config').stdout
    t.ok(any(l.split('#')[0].split() == ['max_message_size', '=', '50M']
             for l in shown.splitlines()),
         'yubinctl config shows the compiled-in 50M')

    c = Session(s)
    t.is_(ehlo_size(c), LIMIT, 'EHLO advertises SIZE %d' % LIMIT)
    expect(t, c.cmd('MAIL FROM:<a@example.org> SIZE=%d' % (LIMIT + 1)), 552, '5.3.4',
           'MAIL FROM SIZE= one byte over the default refused')
    expect(t, c.cmd('MAIL FROM:<a@example.org> SIZE=%d' % LIMIT), 250, '2.1.0',
           'MAIL FROM SIZE= at the default taken')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
    before = count_accepted(s)
    c.send(b'From: <a@example.org>\r\nTo: <alice@localhost>\r\nSubject: big\r\n\r\n')
    line = b'x' * 998 + b'\r\n'
    chunk = line * 1024                     # 1 MiB of lines
    for _ in range(LIMIT // len(chunk) + 1):
        c.send(chunk)
    expect(t, c.data(b''), 552, '5.3.4', 'a DATA stream beyond the default refused',
           text='message too big')
    t.is_(count_accepted(s) - before, 0, 'nothing queued')
    t.is_(s.mails('alice'), [], 'nothing delivered')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'the session goes on')
    c.cmd('QUIT')
    c.close()

with Server(conf=conf({'smtp': {'max_message_size': '0'}}), accounts=ACCOUNTS,
            tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Session(s)
    t.is_(ehlo_size(c), 0, 'max_message_size = 0: EHLO says SIZE 0 (no limit)')
    expect(t, c.cmd('MAIL FROM:<a@example.org> SIZE=%d' % (LIMIT * 4)), 250, '2.1.0',
           'max_message_size = 0: a SIZE= above 50M taken')
    c.cmd('QUIT')
    c.close()

t.done()
