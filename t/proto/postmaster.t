#!/usr/bin/env python3
"""postmaster on a default install (RFC 5321 §4.5.1, RFC 2142, DESIGN §7):
"yubinctl setup" makes a postmaster account that server.admin_address
defaults to, so RCPT TO:<Postmaster> (no domain), postmaster@ and abuse@
are accepted and land in its Maildir; it cannot log in (POP3, SMTP AUTH)
until "account passwd postmaster" gives it a password, and a failed login
to it is not logged as a malformed hash; "account del postmaster" is
refused."""

import os
import poplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import Server, TAP, Session, conf, expect, b64  # noqa: E402

t = TAP()
PW = 'Postmaster-Pw-9'


def pop_login(s, user, pw):
    """True when USER/PW opens the POP3 maildrop."""
    c = poplib.POP3(s.addr('pop3')[0], s.addr('pop3')[1], timeout=30)
    try:
        c.user(user)
        c.pass_(pw)
        c.quit()
        return True
    except poplib.error_proto:
        return False


def smtp_auth(s, user, pw):
    c = Session(s)
    c.ehlo()
    r = c.cmd('AUTH PLAIN ' + b64('\0%s\0%s' % (user, pw)))
    c.cmd('QUIT')
    return r


with Server(conf=conf()) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))

    r = s.ctl('account', 'list')
    t.like(r.stdout, r'(?m)^postmaster\t', 'setup made the postmaster account')
    t.ok(os.path.isdir(os.path.join(s.maildir('postmaster'), 'new')),
         'with its Maildir')

    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('MAIL FROM:<someone@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<Postmaster>'), 250, '2.1.5',
           'RCPT TO:<Postmaster> without a domain accepted')
    expect(t, c.cmd('RCPT TO:<postmaster@localhost>'), 250, '2.1.5',
           'postmaster@localhost accepted')
    expect(t, c.cmd('RCPT TO:<abuse@localhost>'), 250, '2.1.5',
           'abuse@localhost accepted')
    c.cmd('DATA')
    r = c.data(b'From: someone@example.org\r\nSubject: to postmaster\r\n\r\nhi\r\n')
    expect(t, r, 250, '2.0.0', 'message accepted')
    c.cmd('QUIT')
    t.ok(s.wait_mail('postmaster', 1), 'delivered to the postmaster Maildir')

    # no password yet: every login fails, quietly
    t.ok(not pop_login(s, 'postmaster', '!'), 'POP3: "!" is not a password')
    t.ok(not pop_login(s, 'postmaster', PW), 'POP3: no login before passwd')
    expect(t, smtp_auth(s, 'postmaster', PW), 535, '5.7.8',
           'SMTP AUTH: no login before passwd')
    t.ok('malformed' not in s.log(), 'the locked account is not "malformed"')

    r = s.ctl('account', 'del', 'postmaster', check=False)
    t.is_(r.returncode, 1, 'account del postmaster refused (exit 1)')
    t.like(r.stderr, r'postmaster.*cannot be deleted', 'with the reason')
    t.is_(len(r.stderr.strip().split('\n')), 1, 'on one line')
    t.like(s.ctl('account', 'list').stdout, r'(?m)^postmaster\t', 'still there')

    s.ctl('account', 'passwd', 'postmaster', PW)
    t.ok(pop_login(s, 'postmaster', PW), 'POP3 login after passwd')
    expect(t, smtp_auth(s, 'postmaster', PW), 235, '2.7.0',
           'SMTP AUTH after passwd')

    # setup again keeps the account and its password
    s.ctl('setup')
    t.ok(pop_login(s, 'postmaster', PW), 'setup again keeps the password')

t.done()
