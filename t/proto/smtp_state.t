#!/usr/bin/env python3
"""SMTP command sequencing: every 503 5.5.1 a verb can get for the state of
the session, with its exact text (the replies smtp_cmds[]' state column
gives), and that the argument checks that come first still come first
(DATA with an argument is 501 5.5.4 in any state)."""
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import Server, TAP, Session, conf, expect, b64  # noqa: E402

t = TAP()
PW = 'Sekrit-Alice-1'


def exact(reply, code, enh, text, name):
    expect(t, reply, code, enh, name, text='^' + re.escape('%d %s %s' % (code, enh, text)) + '$')


with Server(conf=conf({'smtp': {'auth_mechanisms': 'PLAIN', 'max_errors': '100'}}),
            accounts={'alice': PW}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Session(s)
    exact(c.cmd('DATA now'), 501, '5.5.4', 'Syntax: DATA (no parameters)',
          'DATA with an argument before HELO: the syntax first')
    exact(c.cmd('MAIL FROM:<a@example.org>'), 503, '5.5.1', 'send HELO/EHLO first',
          'MAIL before HELO')
    exact(c.cmd('MAIL FROM:bad'), 503, '5.5.1', 'send HELO/EHLO first',
          'a bad MAIL before HELO: the state first')
    exact(c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1', 'need MAIL command',
          'RCPT before HELO')
    exact(c.cmd('DATA'), 503, '5.5.1', 'need MAIL command', 'DATA before HELO')
    exact(c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW)), 503, '5.5.1',
          'send EHLO first', 'AUTH before EHLO')
    c.ehlo()
    exact(c.cmd('RCPT TO:bad'), 503, '5.5.1', 'need MAIL command',
          'a bad RCPT without MAIL: the state first')
    exact(c.cmd('DATA'), 503, '5.5.1', 'need MAIL command', 'DATA without MAIL')
    expect(t, c.cmd('MAIL FROM:<a@example.org>'), 250, '2.1.0', 'MAIL')
    exact(c.cmd('MAIL FROM:<a@example.org>'), 503, '5.5.1', 'nested MAIL command',
          'nested MAIL')
    exact(c.cmd('MAIL FROM:bad'), 503, '5.5.1', 'nested MAIL command',
          'a bad nested MAIL: the state first')
    exact(c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW)), 503, '5.5.1',
          'AUTH not permitted during a mail transaction', 'AUTH inside a transaction')
    exact(c.cmd('DATA now'), 501, '5.5.4', 'Syntax: DATA (no parameters)',
          'DATA with an argument inside a transaction')
    exact(c.cmd('DATA'), 554, '5.5.1', 'no valid recipients', 'DATA without recipients')
    expect(t, c.cmd('RSET'), 250, '2.0.0', 'RSET')
    exact(c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1', 'need MAIL command',
          'RCPT after RSET')
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW)), 235, '2.7.0', 'AUTH')
    exact(c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW)), 503, '5.5.1',
          'already authenticated', 'AUTH twice')
    expect(t, c.cmd('MAIL FROM:<alice@localhost>'), 250, '2.1.0', 'MAIL after AUTH')
    exact(c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW)), 503, '5.5.1',
          'already authenticated', 'AUTH again inside a transaction: authenticated first')
    expect(t, c.cmd('QUIT'), 221, '2.0.0', 'QUIT')
    c.close()

t.done()
