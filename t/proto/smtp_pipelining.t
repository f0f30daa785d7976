#!/usr/bin/env python3
"""SMTP PIPELINING (RFC 2920): whole transactions sent in one write, replies
come back complete and in order, errors inside a pipelined group do not
disturb the rest, and two transactions share one write across the end of
data."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import (Server, TAP, Session, conf, expect, message, lf,  # noqa: E402
                      received_split, count_accepted)

t = TAP()

with Server(conf=conf(), accounts={'alice': 'pw-alice', 'bob': 'pw-bob'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    # a group with several RCPTs, one of them refused, ending in DATA
    c = Session(s)
    code, text = c.ehlo()
    t.ok('250-PIPELINING' in text, 'PIPELINING advertised')
    c.send(b'MAIL FROM:<sender@example.org>\r\n'
           b'RCPT TO:<alice@localhost>\r\n'
           b'RCPT TO:<nobody@localhost>\r\n'
           b'RCPT TO:<bob@localhost>\r\n'
           b'DATA\r\n')
    expect(t, c.reply(), 250, '2.1.0', 'MAIL')
    expect(t, c.reply(), 250, '2.1.5', 'RCPT alice')
    expect(t, c.reply(), 550, '5.1.1', 'RCPT nobody')
    expect(t, c.reply(), 250, '2.1.5', 'RCPT bob')
    expect(t, c.reply(), 354, '2.0.0', 'DATA')
    # end of data, then the next transaction, in one write
    m1 = message('first', to='alice@localhost')
    m2 = message('second', to='alice@localhost')
    c.send(m1 + b'.\r\n'
           b'MAIL FROM:<other@example.org>\r\n'
           b'RCPT TO:<alice@localhost>\r\n'
           b'DATA\r\n')
    expect(t, c.reply(), 250, '2.0.0', 'first message queued')
    expect(t, c.reply(), 250, '2.1.0', 'second MAIL')
    expect(t, c.reply(), 250, '2.1.5', 'second RCPT')
    expect(t, c.reply(), 354, '2.0.0', 'second DATA')
    c.send(m2 + b'.\r\nQUIT\r\n')
    expect(t, c.reply(), 250, '2.0.0', 'second message queued')
    expect(t, c.reply(), 221, '2.0.0', 'QUIT')
    t.ok(c.closed(), 'closed after QUIT')
    t.ok(s.wait_mail('alice', 2) and s.wait_mail('bob', 1), 'all copies delivered')
    bodies = sorted(received_split(m)[1] for m in s.mails('alice'))
    t.is_(bodies, sorted([lf(m1), lf(m2)]), 'alice has both, byte-exact')

    # errors in the middle of a group: each gets its own reply, in order
    c = Session(s)
    c.ehlo()
    c.send(b'MAIL FROM:bad-syntax@example.org\r\n'
           b'RCPT TO:<alice@localhost>\r\n'
           b'MAIL FROM:<sender@example.org>\r\n'
           b'RCPT TO:<relay@remote.example>\r\n'
           b'RCPT TO:<bob@localhost>\r\n'
           b'RSET\r\n'
           b'RCPT TO:<bob@localhost>\r\n'
           b'NOOP\r\n'
           b'FROB\r\n'
           b'QUIT\r\n')
    expect(t, c.reply(), 501, '5.5.2', 'bad MAIL')
    expect(t, c.reply(), 503, '5.5.1', 'RCPT without MAIL')
    expect(t, c.reply(), 250, '2.1.0', 'MAIL')
    expect(t, c.reply(), 554, '5.7.1', 'relay refused')
    expect(t, c.reply(), 250, '2.1.5', 'RCPT bob')
    expect(t, c.reply(), 250, '2.0.0', 'RSET')
    expect(t, c.reply(), 503, '5.5.1', 'RCPT after RSET')
    expect(t, c.reply(), 250, '2.0.0', 'NOOP')
    expect(t, c.reply(), 500, '5.5.1', 'unknown command')
    expect(t, c.reply(), 221, '2.0.0', 'QUIT')
    t.ok(c.closed(), 'closed after QUIT')

    # after the greeting, a whole session in a single write, even the
    # message (the 354 goes out before the data is read)
    c = Session(s)
    t.is_(c.greeting[0], 220, 'greeting')
    m3 = message('one write', to='bob@localhost')
    c.send(b'EHLO oneshot.example\r\nMAIL FROM:<sender@example.org>\r\n'
           b'RCPT TO:<bob@localhost>\r\nDATA\r\n' + m3 + b'.\r\nQUIT\r\n')
    code, text = c.reply()
    t.is_(code, 250, 'EHLO')
    expect(t, c.reply(), 250, '2.1.0', 'MAIL')
    expect(t, c.reply(), 250, '2.1.5', 'RCPT')
    expect(t, c.reply(), 354, '2.0.0', 'DATA')
    expect(t, c.reply(), 250, '2.0.0', 'queued')
    expect(t, c.reply(), 221, '2.0.0', 'QUIT')
    t.ok(s.wait_mail('bob', 2), 'the one-write message arrived')
    t.ok(any(received_split(m)[1] == lf(m3) for m in s.mails('bob')), 'byte-exact')
    t.is_(count_accepted(s), 3, 'three messages accepted')

t.done()
