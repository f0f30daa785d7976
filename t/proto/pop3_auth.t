#!/usr/bin/env python3
"""POP3 logins: APOP (RFC 1939) for accounts that keep a secret and not for
others, AUTH PLAIN (RFC 5034) with an initial response, a continuation and a
cancel, name@localdomain logins, failure limits, and one session per mailbox
(-ERR [IN-USE])."""

import base64
import hashlib
import os
import poplib
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, Pop, conf, put  # noqa: E402

t = TAP()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def stamp_of(greeting):
    m = re.search(r'(<[^>]*>)', greeting)
    return m.group(1) if m else ''


accounts = {'alice': 'pw-alice', 'bob': ('pw-bob', ['--apop'])}
with Server(conf=conf(), accounts=accounts) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    put(s, 'alice', 'A1,S={S},W={W}', b'Subject: a\n\nalice\n')
    put(s, 'bob', 'B1,S={S},W={W}', b'Subject: b\n\nbob\n')

    # APOP ------------------------------------------------------------------
    c = s.pop3()
    t.like(c.apop('bob', 'pw-bob').decode(), r'^\+OK maildrop has 1 messages',
           'APOP with poplib for an --apop account')
    t.is_(c.stat()[0], 1, 'and the mailbox is open')
    c.quit()

    p = Pop(s)
    ts = stamp_of(p.greeting)
    digest = hashlib.md5((ts + 'pw-bob').encode()).hexdigest()
    t.like(p.cmd('APOP bob@localhost ' + digest.upper()), r'^\+OK',
           'APOP bob@localhost, upper-case digest')
    p.cmd('QUIT')
    p.close()

    p = Pop(s)
    ts = stamp_of(p.greeting)
    digest = hashlib.md5((ts + 'pw-alice').encode()).hexdigest()
    bad_apop = p.cmd('APOP alice ' + digest)
    r1, bad_pass = p.login('alice', 'wrong')
    t.is_(bad_apop, bad_pass, 'APOP for an account without a secret: same -ERR as a bad password')
    t.is_(bad_apop, '-ERR [AUTH] invalid login', 'which is -ERR [AUTH] invalid login')
    p.close()

    p = Pop(s)
    digest = hashlib.md5(('<1.2@x>' + 'pw-bob').encode()).hexdigest()
    t.is_(p.cmd('APOP bob ' + digest), '-ERR [AUTH] invalid login',
          'APOP digest over another timestamp: refused')
    t.like(p.cmd('APOP bob'), r'^-ERR ', 'APOP without a digest: -ERR')
    p.close()

    # AUTH PLAIN --------------------------------------------------------------
    p = Pop(s)
    t.like(p.cmd('AUTH PLAIN ' + b64('\0alice\0pw-alice')), r'^\+OK maildrop',
           'AUTH PLAIN with an initial response')
    p.cmd('QUIT')
    p.close()

    p = Pop(s)
    t.is_(p.cmd('AUTH PLAIN'), '+ ', 'AUTH PLAIN without one: "+ " continuation')
    t.like(p.cmd(b64('alice\0alice@localhost\0pw-alice')), r'^\+OK',
           'continuation with authzid = the account, authcid name@localdomain')
    p.cmd('QUIT')
    p.close()

    p = Pop(s)
    t.is_(p.cmd('AUTH'), '+OK', 'AUTH alone lists mechanisms')
    t.is_(p.multi(), ['PLAIN'], 'PLAIN is the one')
    t.is_(p.cmd('AUTH PLAIN'), '+ ', 'AUTH PLAIN again')
    t.like(p.cmd('*'), r'^-ERR ', '"*" cancels')
    t.like(p.cmd('AUTH CRAM-MD5'), r'^-ERR ', 'unsupported mechanism: -ERR')
    t.is_(p.cmd('AUTH PLAIN ' + b64('bob\0alice\0pw-alice')), '-ERR [AUTH] invalid login',
          'authzid of another account: refused')
    t.is_(p.cmd('AUTH PLAIN not-base64!'), '-ERR [AUTH] invalid login',
          'bad base64: refused')
    p.close()

    p = Pop(s)
    t.like(p.cmd('AUTH PLAIN ='), r'^-ERR \[AUTH\]', 'empty response "=": refused')
    p.close()

    # names ----------------------------------------------------------------
    c = s.pop3()
    c.user('Alice@LOCALHOST')
    t.like(c.pass_('pw-alice').decode(), r'^\+OK', 'USER Alice@LOCALHOST logs in as alice')
    c.quit()
    p = Pop(s)
    r1, r2 = p.login('alice@elsewhere.example', 'pw-alice')
    t.is_(r2, '-ERR [AUTH] invalid login', 'a foreign domain is not a local account')
    p.close()
    p = Pop(s)
    p.cmd('USER alice')
    t.like(p.cmd('PASS pw-alice extra words'), r'^-ERR \[AUTH\]',
           'PASS takes the whole rest of the line')
    p.close()

    # failure limit (smtp.auth_max_failures, default 3) ---------------------------
    p = Pop(s)
    answers = [p.login('alice', 'bad%d' % i)[1] for i in range(3)]
    t.is_(answers[:2], ['-ERR [AUTH] invalid login'] * 2, 'two failures: -ERR [AUTH]')
    t.like(answers[2], r'^-ERR \[AUTH\] .*too many', 'third: too many failures')
    t.ok(p.closed(), 'and the connection is closed')
    p.close()

    # IN-USE -------------------------------------------------------------------
    first = s.pop3()
    first.user('alice')
    first.pass_('pw-alice')
    second = Pop(s)
    r1, r2 = second.login('alice', 'pw-alice')
    t.is_(r2, '-ERR [IN-USE] mailbox in use', 'second session: -ERR [IN-USE]')
    t.like(second.cmd('STAT'), r'^-ERR ', 'and it stays in AUTHORIZATION')
    first.quit()
    r1, r2 = second.login('alice', 'pw-alice')
    t.like(r2, r'^\+OK', 'after the first QUIT the second logs in')
    # a dropped session releases the lock too
    second.close()
    third = Pop(s)
    ok = False
    for _ in range(100):
        r1, r2 = third.login('alice', 'pw-alice')
        if r2.startswith('+OK'):
            ok = True
            break
        if '[IN-USE]' not in r2:
            break
        import time
        time.sleep(0.05)
    t.ok(ok, 'a dropped session releases the mailbox')
    third.close()
    t.ok(s.wait_log(r'pop3 login user=bob client=127\.0\.0\.1 method=apop'), 'APOP login logged')
    t.ok(s.wait_log(r'pop3 login user=alice client=127\.0\.0\.1 method=plain'), 'PLAIN login logged')
    t.ok(s.wait_log(r'pop3 auth failed login=alice client=127\.0\.0\.1'), 'failure logged')
    t.ok('pw-alice' not in s.log() and 'pw-bob' not in s.log(), 'no password in the log')
    log_clean(t, s)
t.done()
