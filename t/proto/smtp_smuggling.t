#!/usr/bin/env python3
"""SMTP smuggling (CVE-2023-51764/51765/51766, SEC Consult, Dec 2023): the
published end-of-data vectors, each followed by a smuggled MAIL/RCPT/DATA
transaction and the real <CRLF>.<CRLF>.  Only <CRLF>.<CRLF> ends the data;
a bare CR or LF refuses the whole message with 550 5.6.0, so neither the
carrier message nor the smuggled one is ever queued."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import (Server, TAP, Session, conf, expect, message,  # noqa: E402
                      count_accepted)

t = TAP()

VECTORS = [
    ('<LF>.<LF>', b'\n.\n'),
    ('<LF>.<CR><LF>', b'\n.\r\n'),
    ('<CR>.<CR><LF>', b'\r.\r\n'),
    ('<CR><LF>.<CR>', b'\r\n.\r'),
    ('<CR><LF>.<LF>', b'\r\n.\n'),
    ('<CR><CR><LF>.<CR><CR><LF>', b'\r\r\n.\r\r\n'),
    ('<LF>.<CR><CR><LF>', b'\n.\r\r\n'),
]

SMUGGLED = (b'MAIL FROM:<admin@localhost>\r\n'
            b'RCPT TO:<bob@localhost>\r\n'
            b'DATA\r\n'
            b'From: <admin@localhost>\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n')

with Server(conf=conf(), accounts={'alice': 'pw-alice', 'bob': 'pw-bob'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    for name, vec in VECTORS:
        c = Session(s)
        c.ehlo()
        c.cmd('MAIL FROM:<sender@example.org>')
        c.cmd('RCPT TO:<alice@localhost>')
        expect(t, c.cmd('DATA'), 354, '2.0.0', '%s: DATA' % name)
        c.send(b'From: <sender@example.org>\r\nSubject: carrier\r\n\r\nhello'
               + vec + SMUGGLED + b'\r\n.\r\n')
        expect(t, c.reply(), 550, '5.6.0', '%s: refused at the real end' % name,
               text='bare CR or LF')
        expect(t, c.cmd('NOOP'), 250, '2.0.0',
               '%s: next reply answers our NOOP (no smuggled command ran)' % name)
        c.cmd('QUIT')

    # bare LF and bare CR in an otherwise plain message
    for name, body in (('bare LF', b'Subject: lf\r\n\r\none\ntwo\r\n'),
                       ('bare CR', b'Subject: cr\r\n\r\none\rtwo\r\n'),
                       ('CR before CRLF', b'Subject: crcr\r\n\r\none\r\r\n')):
        c = Session(s)
        c.ehlo()
        c.cmd('MAIL FROM:<sender@example.org>')
        c.cmd('RCPT TO:<alice@localhost>')
        c.cmd('DATA')
        expect(t, c.data(body), 550, '5.6.0', '%s refused' % name)
        c.cmd('QUIT')

    # a dot line that is not alone, and a stuffed dot, are data
    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<sender@example.org>')
    c.cmd('RCPT TO:<bob@localhost>')
    c.cmd('DATA')
    body = b'Subject: fine\r\n\r\n. not the end\r\n..\r\n.x\r\nend\r\n'
    expect(t, c.data(body), 250, '2.0.0', 'clean message with dot lines accepted')
    c.cmd('QUIT')
    t.ok(s.wait_mail('bob', 1), 'the clean message arrived')
    t.is_(len(s.mails('bob')), 1, 'bob has only the clean message')
    t.ok(b'\n not the end\n.\nx\nend\n' in s.mails('bob')[0], 'dot lines unstuffed')
    t.is_(len(s.mails('alice')), 0, 'no carrier message was stored')
    t.is_(count_accepted(s), 1, 'only the clean message was ever accepted')

    # <CR><LF><NUL>.<CR><LF>: a line "\0." is data, not an end: the whole
    # stream is one message to alice, the "smuggled" commands are its text
    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<sender@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    c.cmd('DATA')
    c.send(b'Subject: nul\r\n\r\nhello\r\n\x00.\r\n' + SMUGGLED + b'\r\n.\r\n')
    expect(t, c.reply(), 250, '2.0.0', '<CR><LF><NUL>.<CR><LF>: one message')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'next reply answers our NOOP')
    c.cmd('QUIT')
    t.ok(s.wait_mail('alice', 1), 'it reached alice')
    t.ok(b'\n\x00.\nMAIL FROM:<admin@localhost>\n' in b''.join(s.mails('alice')),
         'with the would-be commands as text')
    t.is_(count_accepted(s), 2, 'two messages accepted in all')
    t.is_(len(s.mails('bob')), 1, 'bob still has only the clean message')
    t.ok(b'smuggled' not in b''.join(s.mails('bob')), 'no smuggled message was stored')

t.done()
