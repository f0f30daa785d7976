#!/usr/bin/env python3
"""SMTP AUTH (RFC 4954): PLAIN (RFC 4616) with and without an initial
response, LOGIN, CRAM-MD5 (RFC 2195) for an account that keeps its secret,
wrong passwords (535 5.7.8), cancellation (501 5.0.0), bad base64,
unknown mechanisms, sequencing, the failure limit (421 4.7.0), relay for
authenticated clients, the submission port (530 5.7.0), swaks as a real
client, and no password in the log."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import (Server, TAP, Session, conf, expect, message,  # noqa: E402
                      b64, cram_md5, received_split, find_mail, queued_id)

t = TAP()
PW_A = 'Sekrit-Alice-1'
PW_B = 'Sekrit-Bob-2'
ACCOUNTS = {'alice': PW_A, 'bob': (PW_B, ['--apop'])}

with Server(conf=conf({'smtp': {'auth_max_failures': '3',
                                'auth_mechanisms': 'PLAIN LOGIN CRAM-MD5'}}),
            accounts=ACCOUNTS) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    # sequencing
    c = Session(s)
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW_A)), 503, '5.5.1', 'AUTH before EHLO')
    c.ehlo()
    expect(t, c.cmd('AUTH'), 501, '5.5.4', 'AUTH without mechanism')
    expect(t, c.cmd('AUTH DIGEST-MD5'), 504, '5.5.4', 'unknown mechanism')
    expect(t, c.cmd('AUTH PLAIN a b'), 501, '5.5.4', 'two initial responses')
    expect(t, c.cmd('MAIL FROM:<a@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW_A)), 503, '5.5.1',
           'AUTH inside a transaction')
    c.cmd('RSET')

    # PLAIN with an initial response
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW_A)), 235, '2.7.0', 'PLAIN ok',
           text='Authentication successful')
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW_A)), 503, '5.5.1', 'AUTH twice')
    # authenticated: relay allowed, and the message is queued
    expect(t, c.cmd('MAIL FROM:<alice@localhost>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<friend@remote.example>'), 250, '2.1.5',
           'authenticated relay to a remote address')
    expect(t, c.cmd('RCPT TO:<bob@localhost>'), 250, '2.1.5', 'and a local one')
    c.cmd('DATA')
    r = c.data(message('relayed', sender='alice@localhost', to='friend@remote.example'))
    expect(t, r, 250, '2.0.0', 'relayed message queued')
    t.ok(s.wait_log(r'%s: accepted from=<alice@localhost> size=\d+ nrcpt=2 ' % queued_id(r)),
         'accepted with two recipients')
    t.ok(s.wait_mail('bob', 1), 'local copy delivered')
    hdr, _ = received_split(find_mail(s, 'bob', b'Subject: relayed'))
    t.like((hdr or b'').decode(), r' with ESMTPA id ', 'Received: ESMTPA')
    c.cmd('QUIT')

    # not authenticated: relay refused
    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<x@example.org>')
    expect(t, c.cmd('RCPT TO:<friend@remote.example>'), 554, '5.7.1', 'relay without AUTH')
    c.cmd('QUIT')

    # PLAIN without initial response; LOGIN both ways; authzid
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('AUTH PLAIN'), 334, None, 'PLAIN empty challenge', text=r'^334 $')
    expect(t, c.cmd(b64('alice\0alice\0' + PW_A)), 235, '2.7.0',
           'PLAIN in two steps, authzid = authcid')
    c.cmd('QUIT')
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('AUTH PLAIN ' + b64('bob\0alice\0' + PW_A)), 535, '5.7.8',
           'PLAIN for another identity refused')
    c.cmd('QUIT')
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('AUTH LOGIN'), 334, None, 'LOGIN asks the user', text=r'^334 VXNlcm5hbWU6$')
    expect(t, c.cmd(b64('alice')), 334, None, 'LOGIN asks the password',
           text=r'^334 UGFzc3dvcmQ6$')
    expect(t, c.cmd(b64(PW_A)), 235, '2.7.0', 'LOGIN ok')
    c.cmd('QUIT')
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('AUTH LOGIN ' + b64('alice@localhost')), 334, None,
           'LOGIN with initial response asks the password', text=r'^334 UGFzc3dvcmQ6$')
    expect(t, c.cmd(b64(PW_A)), 235, '2.7.0', 'LOGIN as user@domain ok')
    c.cmd('QUIT')

    # CRAM-MD5: bob keeps his secret (--apop), alice does not
    c = Session(s)
    c.ehlo()
    code, text = c.cmd('AUTH CRAM-MD5')
    t.is_(code, 334, 'CRAM-MD5 challenge')
    chal = text[4:]
    import base64
    t.like(base64.b64decode(chal).decode(), r'^<\d+\.\d+@mx\.test\.invalid>$',
           'challenge is <random.time@hostname>')
    expect(t, c.cmd(cram_md5(chal, 'bob', PW_B)), 235, '2.7.0', 'CRAM-MD5 ok')
    c.cmd('QUIT')
    c = Session(s)
    c.ehlo()
    code, text = c.cmd('AUTH CRAM-MD5')
    expect(t, c.cmd(cram_md5(text[4:], 'bob', 'wrong')), 535, '5.7.8', 'CRAM-MD5 wrong secret')
    code, text = c.cmd('AUTH CRAM-MD5')
    expect(t, c.cmd(cram_md5(text[4:], 'alice', PW_A)), 535, '5.7.8',
           'CRAM-MD5 for an account without a kept secret')
    expect(t, c.cmd('AUTH CRAM-MD5 ' + b64('bob x')), 501, '5.5.2',
           'CRAM-MD5 takes no initial response')
    c.cmd('QUIT')

    # wrong password, cancel, bad base64
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0alice\0wrong')), 535, '5.7.8', 'wrong password',
           text='Authentication credentials invalid')
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0nobody\0' + PW_A)), 535, '5.7.8', 'unknown user')
    expect(t, c.cmd('AUTH LOGIN'), 334, None, 'LOGIN')
    expect(t, c.cmd('*'), 501, '5.0.0', 'cancelled by "*"', text='cancelled')
    expect(t, c.cmd('AUTH PLAIN'), 334, None, 'PLAIN')
    expect(t, c.cmd('!!not base64!!'), 501, '5.5.2', 'bad base64')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'still in the session (two failures)')
    expect(t, c.cmd('AUTH LOGIN ' + b64('alice')), 334, None, 'LOGIN')
    expect(t, c.cmd(b64('still wrong')), 535, '5.7.8', 'third failure')
    expect(t, c.reply(), 421, '4.7.0', 'then 421 too many authentication failures',
           text='too many authentication failures')
    t.ok(c.closed(), 'and the connection closed')
    t.ok(s.wait_log(r'NOQUEUE: auth failed login=alice mech=LOGIN client=127\.0\.0\.1 '
                    r'failures=3 sid='), 'failure logged with the login')
    t.ok(s.wait_log(r'NOQUEUE: auth ok user=bob mech=CRAM-MD5 '), 'success logged')

    # swaks, AUTH LOGIN
    r = subprocess.run(['swaks', '--server', '127.0.0.1', '--port', str(s.port('smtp')),
                        '--helo', 'swaks.example', '--from', 'alice@localhost',
                        '--to', 'bob@localhost', '--auth', 'LOGIN',
                        '--auth-user', 'alice', '--auth-password', PW_A,
                        '--header', 'Subject: via swaks', '--body', 'swaks body'],
                       capture_output=True, text=True, timeout=60)
    t.is_(r.returncode, 0, 'swaks AUTH LOGIN exits 0')
    t.like(r.stdout, r'<[-~]  235 2\.7\.0 Authentication successful', 'swaks saw 235')
    t.like(r.stdout, r'<[-~]  250 2\.0\.0 Ok: queued as [0-9A-F]{16}', 'swaks saw the queue id')
    t.ok(s.wait_mail('bob', 2), 'swaks message delivered')
    t.ok(b'swaks body' in find_mail(s, 'bob', b'Subject: via swaks'), 'swaks body stored')

    log = s.log()
    for secret in (PW_A, PW_B, b64(PW_A), b64('\0alice\0' + PW_A)):
        t.ok(secret not in log, 'log does not hold %r' % secret[:6])

# the submission port requires AUTH; AUTH works without TLS from loopback
with Server(conf=conf({'smtp': {'auth_mechanisms': 'PLAIN LOGIN CRAM-MD5'}}),
            accounts=ACCOUNTS, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Session(s, listener='submission')
    code, text = c.ehlo()
    t.ok('AUTH PLAIN LOGIN CRAM-MD5' in text, 'submission offers AUTH (loopback)')
    expect(t, c.cmd('MAIL FROM:<alice@localhost>'), 530, '5.7.0',
           'submission: MAIL before AUTH', text='Authentication required')
    expect(t, c.cmd('AUTH PLAIN ' + b64('\0alice\0' + PW_A)), 235, '2.7.0', 'AUTH')
    expect(t, c.cmd('MAIL FROM:<alice@localhost>'), 250, '2.1.0', 'submission: MAIL after AUTH')
    expect(t, c.cmd('RCPT TO:<bob@localhost>'), 250, '2.1.5', 'RCPT')
    c.cmd('DATA')
    expect(t, c.data(message('submitted', sender='alice@localhost', to='bob@localhost')),
           250, '2.0.0', 'submitted')
    c.cmd('QUIT')
    t.ok(s.wait_mail('bob', 1), 'submitted message delivered')

t.done()
