#!/usr/bin/env python3
# The list plugin finds a list by its files and the role by the address
# written: NAME-owner@ reaches the list's admin address, NAME-request@ and
# NAME-bounces@ reach the list (not "no such user"), a plain account is
# left alone, and a broken ml.def keeps the message queued with file:line.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until

t = TAP()
ACC = {'alice': 'pw', 'boss': 'pw'}
with Server(accounts=ACC, conf={'server': {'plugins': 'relay quota ml'}}, start=False) as s:
    r = s.ctl('ml', 'create', 'staff', 'secret', 'boss@localhost', check=False)
    t.is_(r.returncode, 0, 'list created') or t.diag(r.stderr)
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    with s.smtp() as c:
        c.sendmail('x@example.org', ['staff-owner@localhost'],
                   b'Subject: hello owner\r\n\r\nbody\r\n')
    t.ok(s.wait_mail('boss', 1), 'NAME-owner@ reaches the admin address')
    t.like(s.mails('boss')[0].decode(), r'(?m)^Subject: hello owner', 'the message as sent')
    t.like(s.log(), r'plugin=ml list staff@localhost: owner mail from <x@example\.org> '
           r'sent to <boss@localhost>', 'logged')
    t.is_(s.mails('staff'), [], 'nothing stored in the list\'s own mailbox')
    with s.smtp() as c:
        refused = c.sendmail('x@example.org', ['staff-request@localhost',
                             'staff-bounces+a=b.example@localhost', 'alice@localhost'],
                             b'Subject: plain\r\n\r\nbody\r\n')
    t.is_(refused, {}, 'the list\'s addresses are taken at RCPT')
    t.ok(s.wait_mail('alice', 1), 'a plain account is left alone')
    # a broken ml.def: the message stays queued, the reason has file:line
    with open(os.path.join(s.home, 'mailbox', 'staff', 'ml.def'), 'a') as f:
        f.write('bogus_key=1\n')
    with s.smtp() as c:
        c.sendmail('x@example.org', ['staff-owner@localhost'], b'Subject: two\r\n\r\nbody\r\n')
    t.ok(s.wait_log(r'list staff: \S+/ml\.def:\d+: .*bogus_key'), 'ml.def error logged with file:line')
    t.ok(s.wait_log(r'to=<staff-owner@localhost> .*status=deferred'), 'the message is deferred')
    t.is_(len(s.mails('boss')), 1, 'and not sent')
t.done()
