#!/usr/bin/env python3
"""SMTP error replies, each with its exact code and RFC 3463 enhanced code:
sequencing (503 5.5.1), syntax (500/501/555), unknown user (550 5.1.1),
relay (554 5.7.1), too many recipients (452 4.5.3), SIZE declared and actual
(552 5.3.4), long lines (500 5.5.6, 554 5.6.0), NUL bytes, VRFY/EXPN, the
error and command limits (421 4.7.0), HTTP probes, the early talker
(554 5.5.0) and timeouts (421 4.4.2)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import (Server, TAP, Session, conf, expect, message,  # noqa: E402
                      count_accepted)

t = TAP()
ACCOUNTS = {'alice': 'pw-alice', 'bob': 'pw-bob', 'carol': 'pw-carol', 'dave': 'pw-dave'}

with Server(conf=conf({'smtp': {'max_recipients': '3', 'max_message_size': '10000',
                                'max_errors': '100'}}),
            accounts=ACCOUNTS) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    # sequencing and command syntax
    c = Session(s)
    expect(t, c.cmd('MAIL FROM:<a@example.org>'), 503, '5.5.1', 'MAIL before HELO')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1', 'RCPT before MAIL')
    expect(t, c.cmd('DATA'), 503, '5.5.1', 'DATA before MAIL')
    expect(t, c.cmd('EHLO'), 501, '5.5.4', 'EHLO without a name')
    expect(t, c.cmd('HELO   '), 501, '5.5.4', 'HELO with blanks only')
    expect(t, c.cmd('EHLO ' + 'h' * 256), 501, '5.5.4', 'EHLO name of 256 octets')
    code, _ = c.ehlo()
    t.is_(code, 250, 'EHLO')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1', 'RCPT without MAIL')
    expect(t, c.cmd('DATA'), 503, '5.5.1', 'DATA without MAIL')
    expect(t, c.cmd('MAIL FROM:<a@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('MAIL FROM:<a@example.org>'), 503, '5.5.1', 'nested MAIL')
    expect(t, c.cmd('DATA'), 554, '5.5.1', 'DATA without recipients',
           text='no valid recipients')
    expect(t, c.cmd('DATA now'), 501, '5.5.4', 'DATA with an argument')
    expect(t, c.cmd('RSET please'), 501, '5.5.4', 'RSET with an argument')
    expect(t, c.cmd('RSET'), 250, '2.0.0', 'RSET')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1', 'RCPT after RSET needs MAIL')
    expect(t, c.cmd('FOO bar'), 500, '5.5.1', 'unknown command', text='command unrecognized')
    expect(t, c.cmd(''), 500, '5.5.1', 'empty command line')
    c.send(b'NOOP\x00hidden\r\n')
    expect(t, c.reply(), 500, '5.5.2', 'NUL byte in a command')
    expect(t, c.cmd('NOOP ' + 'x' * 3000), 500, '5.5.6', 'command line over 2048 octets')
    expect(t, c.cmd('NOOP ' + 'x' * 20000), 500, '5.5.6', 'command line over 12288 octets')
    expect(t, c.cmd('STARTTLS now'), 501, '5.5.4', 'STARTTLS with an argument')
    expect(t, c.cmd('VRFY alice'), 252, '2.5.0', 'VRFY off by default')
    expect(t, c.cmd('EXPN alice'), 502, '5.5.1', 'EXPN off by default')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'the session goes on')
    expect(t, c.cmd('QUIT'), 221, '2.0.0', 'QUIT')

    # MAIL and RCPT arguments
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('MAIL FROM:a@example.org'), 501, '5.5.2', 'MAIL path without <>')
    expect(t, c.cmd('MAIL TO:<a@example.org>'), 501, '5.5.4', 'MAIL without FROM:')
    expect(t, c.cmd('MAIL FROM:<a@example.org> FOO=bar'), 555, '5.5.4',
           'unknown MAIL parameter')
    expect(t, c.cmd('MAIL FROM:<a@example.org> SIZE=abc'), 501, '5.5.4', 'bad SIZE value')
    expect(t, c.cmd('MAIL FROM:<a@example.org> SIZE=20000'), 552, '5.3.4',
           'declared SIZE over the limit')
    expect(t, c.cmd('MAIL FROM:<a@[1.2.3]>'), 501, '5.1.7', 'bad address literal')
    expect(t, c.cmd('MAIL FROM:<%s@example.org>' % ('l' * 65)), 501, '5.1.7',
           'local part of 65 octets', text='local part longer than 64 octets')
    expect(t, c.cmd('MAIL FROM:<a@%s.example>' % ('d' * 250)), 501, '5.1.7',
           'path over 256 octets', text='path longer than 256 octets')
    c.send('MAIL FROM:<\u00fc@example.org>\r\n'.encode())
    expect(t, c.reply(), 553, '5.6.7', 'UTF-8 address without SMTPUTF8')
    expect(t, c.cmd('MAIL FROM:<a@example.org> SIZE=5000'), 250, '2.1.0',
           'declared SIZE within the limit')
    expect(t, c.cmd('RCPT TO:<>'), 501, '5.1.3', 'null recipient refused')
    expect(t, c.cmd('RCPT TO:alice@localhost'), 501, '5.5.2', 'RCPT path without <>')
    expect(t, c.cmd('RCPT TO:<alice@localhost> SIZE=10'), 555, '5.5.4',
           'RCPT parameter not offered')
    expect(t, c.cmd('RCPT TO:<nobody@localhost>'), 550, '5.1.1', 'unknown local user',
           text=r'<nobody@localhost>: no such user here')
    expect(t, c.cmd('RCPT TO:<someone@remote.example>'), 554, '5.7.1',
           'relay refused', text=r'<someone@remote\.example>: relay access denied')
    expect(t, c.cmd('DATA'), 554, '5.5.1', 'DATA after only refused recipients')
    for who in ('alice', 'bob', 'carol'):
        expect(t, c.cmd('RCPT TO:<%s@localhost>' % who), 250, '2.1.5', 'RCPT %s' % who)
    expect(t, c.cmd('RCPT TO:<dave@localhost>'), 452, '4.5.3', 'fourth recipient: too many',
           text='too many recipients')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
    big = b'Subject: big\r\n\r\n' + (b'z' * 998 + b'\r\n') * 20
    expect(t, c.data(big), 552, '5.3.4', 'actual size over the limit', text='message too big')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1',
           'the refused message ended the transaction')
    expect(t, c.cmd('MAIL FROM:<>'), 250, '2.1.0', 'null sender allowed')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
    expect(t, c.data(message('null sender', sender='')), 250, '2.0.0', 'bounce accepted')
    c.cmd('QUIT')
    t.ok(s.wait_mail('alice', 1), 'the bounce arrived')
    t.is_(len(s.mails('bob')), 0, 'the big message was not queued')
    t.ok(s.wait_log(r'NOQUEUE: reject cmd=RCPT code=550 dsn=5\.1\.1 client=127\.0\.0\.1 '
                    r'text="<nobody@localhost>: no such user here" sid=[0-9a-f]{6}'),
         'rejections are logged with NOQUEUE and sid')
    t.ok(s.wait_log(r'[0-9A-F]{16}: reject cmd=DATA code=552 dsn=5\.3\.4 '),
         'the size refusal is logged with the queue id')

    # DATA line over 1,000,000 octets
    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<a@example.org>')
    c.cmd('RCPT TO:<bob@localhost>')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
    # a "." right after an over-long line is not taken as the end of data
    # (its terminator is unknown); the data ends at the next <CRLF>.<CRLF>
    c.send(b'Subject: long\r\n\r\n' + b'q' * 1000001 + b'\r\n.\r\n')
    c.send(b'tail\r\n.\r\n')
    expect(t, c.reply(), 554, '5.6.0', 'line over 1000000 octets', text='line too long')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'one reply for the whole message')
    c.cmd('QUIT')
    t.is_(len(s.mails('bob')), 0, 'the long-line message was not queued')

    # HTTP probes
    c = Session(s)
    expect(t, c.cmd('GET / HTTP/1.0'), 421, '4.7.0', 'GET refused')
    t.ok(c.closed(), 'and the connection closed')
    t.is_(count_accepted(s), 1, 'one message accepted on this server')

with Server(conf=conf({'smtp': {'max_errors': '3', 'max_commands': '10',
                                'vrfy_expn': '1'}}),
            accounts=ACCOUNTS) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Session(s)
    expect(t, c.cmd('VRFY alice'), 250, '2.1.5', 'VRFY local user', text='<alice@localhost>')
    expect(t, c.cmd('VRFY <Bob@localhost>'), 250, '2.1.5', 'VRFY <address>',
           text='<bob@localhost>')
    expect(t, c.cmd('VRFY someone@remote.example'), 252, '2.1.5', 'VRFY remote: cannot verify')
    expect(t, c.cmd('EXPN carol'), 250, '2.1.5', 'EXPN local user')
    expect(t, c.cmd('HELP'), 214, '2.0.0', 'HELP with VRFY/EXPN on', text=r'VRFY EXPN')
    expect(t, c.cmd('VRFY'), 501, '5.5.4', 'VRFY without argument')
    expect(t, c.cmd('VRFY nobody'), 550, '5.1.1', 'VRFY unknown user')
    c.cmd('QUIT')

    c = Session(s)
    expect(t, c.cmd('FOO'), 500, '5.5.1', 'error 1')
    expect(t, c.cmd('BAR'), 500, '5.5.1', 'error 2')
    expect(t, c.cmd('BAZ'), 500, '5.5.1', 'error 3')
    expect(t, c.reply(), 421, '4.7.0', 'then 421 too many errors', text='too many errors')
    t.ok(c.closed(), 'and the connection closed')

    c = Session(s)
    for i in range(10):
        code, _ = c.cmd('NOOP')
        if code != 250:
            break
    t.is_(i, 9, 'ten commands served')
    expect(t, c.cmd('NOOP'), 421, '4.7.0', 'eleventh: too many commands',
           text='too many commands')
    t.ok(c.closed(), 'and the connection closed')

with Server(conf=conf({'smtp': {'greet_delay': '1', 'timeout_command': '1',
                                'timeout_data': '1'}}),
            accounts=ACCOUNTS) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Session(s, greet=False)
    c.send(b'EHLO early.example\r\n')
    expect(t, c.reply(), 554, '5.5.0', 'early talker refused')
    t.ok(c.closed(), 'and the connection closed')
    t.ok(s.wait_log(r'NOQUEUE: reject cmd=CONNECT code=554 dsn=5\.5\.0'), 'early talker logged')

    c = Session(s)
    t.is_(c.greeting[0], 220, 'a patient client is greeted')
    expect(t, c.reply(), 421, '4.4.2', 'idle client: timeout', text='timeout')
    t.ok(c.closed(), 'and the connection closed')

    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<a@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
    c.send(b'Subject: stalled\r\n\r\nhalf a li')
    expect(t, c.reply(), 421, '4.4.2', 'stalled DATA: timeout')
    t.ok(c.closed(), 'and the connection closed')
    t.ok(s.wait_log(r'timeout after DATA'), 'DATA timeout logged')
    t.is_(count_accepted(s), 0, 'nothing accepted')
    t.is_(s.queue_files(), [], 'no queue file left behind')

t.done()
