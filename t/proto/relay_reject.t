#!/usr/bin/env python3
"""Sender reject lists (SEEDS.md §10.1): smtp.reject_domain and
smtp.reject_mailaddress refuse at MAIL (550 5.7.1) for everyone, address
literals by their IP, case-insensitively, from address_permits_relay
clients too; an account's config.def lists refuse at RCPT for mail to that
account only (550 5.7.1), read at each RCPT."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from relay_lib import (TAP, relay_server, session, check, YES, DENIED,  # noqa: E402
                       REFUSED, R_ACCT, R_EXT)

t = TAP()
OK_MAIL = (250, '2.1.0')
ALICE = 'alice@local.test'


def mails(cases, source='127.0.0.1'):
    c = session(s, source)
    for sender, want in cases:
        check(t, c.cmd('MAIL FROM:<%s>' % sender), want,
              'from %s: MAIL FROM:<%s> -> %d %s' % (source, sender, want[0], want[1]))
        c.cmd('RSET')
    c.quit()


def rcpts(sender, cases):
    c = session(s)
    check(t, c.cmd('MAIL FROM:<%s>' % sender), OK_MAIL, 'MAIL FROM:<%s>' % sender)
    for rcpt, want in cases:
        check(t, c.cmd('RCPT TO:<%s>' % rcpt), want,
              '<%s> -> <%s>: %d %s' % (sender, rcpt, want[0], want[1]))
    c.quit()


def config_def(account, text):
    d = os.path.join(s.home, 'mailbox', account)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'config.def'), 'w') as f:
        f.write(text)


conf = {'smtp': {'reject_domain': 'spam.example, 192.0.2.1, [IPv6:2001:db8::5]',
                 'reject_mailaddress': 'bad@ext.example, Worse@Other.Example, '
                                       'whole.example',
                 'address_permits_relay': '127.0.0.5'}}
with relay_server(conf, files={'effect.dat': ''}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))

    # server-wide, at MAIL
    cases = [
        ('x@spam.example', REFUSED),
        ('X@SPAM.Example', REFUSED),
        ('x@sub.spam.example', OK_MAIL),            # the domain exactly
        ('u@[192.0.2.1]', REFUSED),                 # a literal by its IP
        ('u@192.0.2.1', REFUSED),
        ('u@[192.0.2.2]', OK_MAIL),
        ('u@[IPv6:2001:db8::5]', REFUSED),
        ('u@[IPv6:2001:DB8:0:0::5]', REFUSED),      # the same address
        ('u@[IPv6:2001:db8::6]', OK_MAIL),
        ('bad@ext.example', REFUSED),
        ('BAD@Ext.Example', REFUSED),
        ('good@ext.example', OK_MAIL),
        ('worse@other.example', REFUSED),
        ('anyone@whole.example', REFUSED),          # an entry without '@'
        ('', OK_MAIL),
        (ALICE, OK_MAIL),
    ]
    mails(cases)
    mails([('x@spam.example', REFUSED), ('bad@ext.example', REFUSED)], '127.0.0.5')
    t.ok(s.wait_log(r'plugin=relay relay refused sender rule=smtp\.reject_domain '
                    r'client=127\.0\.0\.1 from=<x@spam\.example>'), 'reject_domain logged')
    t.ok(s.wait_log(r'plugin=relay relay refused sender rule=smtp\.reject_mailaddress '
                    r'client=127\.0\.0\.1 from=<bad@ext\.example>'),
         'reject_mailaddress logged')

    # per account, at RCPT, for that account only
    config_def('alice', 'reject_domain=annoy.example\nreject_mailaddress=pest@ext.example\n')
    rcpts('x@annoy.example', [(ALICE, REFUSED), (R_ACCT, YES), (R_EXT, DENIED)])
    rcpts('X@ANNOY.EXAMPLE', [(ALICE, REFUSED)])
    rcpts('pest@ext.example', [(ALICE, REFUSED), (R_ACCT, YES)])
    rcpts('other@ext.example', [(ALICE, YES), (R_ACCT, YES)])
    t.ok(s.wait_log(r'plugin=relay relay refused rcpt rule=alice/config\.def:reject_domain '
                    r'client=127\.0\.0\.1 from=<x@annoy\.example> to=<alice@local\.test>'),
         'per-account refusal logged')
    # an account without config.def has the server lists (already at MAIL)
    mails([('x@spam.example', REFUSED)])
    # read at every RCPT: a changed config.def applies at once
    config_def('alice', 'reject_mailaddress=pest@ext.example\n')
    rcpts('x@annoy.example', [(ALICE, YES)])
    rcpts('pest@ext.example', [(ALICE, REFUSED)])
    # the per-account lists apply to address_permits_relay clients too
    c = session(s, '127.0.0.5')
    c.cmd('MAIL FROM:<pest@ext.example>')
    check(t, c.cmd('RCPT TO:<%s>' % ALICE), REFUSED, 'per account from a permitted address')
    check(t, c.cmd('RCPT TO:<%s>' % R_EXT), YES, 'and its relay is still open')
    c.quit()

t.done()
