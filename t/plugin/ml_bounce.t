#!/usr/bin/env python3
# NAME-bounces@: a VERP bounce and an RFC 3464 report each count against
# the member; with bounce_limit=2 the second removes the member and the
# admin is told; a delay (4.x.x) report is not counted; a bounce naming
# no member goes to the admin once; a non-member's bounce is dropped.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()
ACC = {n: 'pw' for n in ('alice', 'bob', 'boss')}
CONF = {'server': {'plugins': 'relay quota ml'}}


def dsn(rcpt, action='failed', status='5.1.1'):
    return ('From: MAILER-DAEMON@example.org\r\nSubject: Delivery Status Notification\r\n'
            'MIME-Version: 1.0\r\nContent-Type: multipart/report; '
            'report-type=delivery-status;\r\n\tboundary="b0und"\r\n\r\n'
            '--b0und\r\nContent-Type: text/plain\r\n\r\nYour message failed.\r\n\r\n'
            '--b0und\r\nContent-Type: message/delivery-status\r\n\r\n'
            'Reporting-MTA: dns; mx.example.org\r\n\r\n'
            'Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n\r\n'
            '--b0und\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: [staff] hi\r\n\r\n'
            '--b0und--\r\n' % (rcpt, action, status)).encode()


def bounce(s, rcpt, data):
    with s.smtp() as c:
        c.sendmail('', [rcpt], data)


def members(s):
    with open(os.path.join(s.home, 'mailbox', 'staff', 'ml_member.csv')) as f:
        return f.read()


with Server(accounts=ACC, conf=CONF, start=False) as s:
    s.ctl('ml', 'create', 'staff', 'secret', 'boss@localhost')
    s.ctl('ml', 'add', 'staff', 'alice@localhost', 'bob@localhost')
    s.ctl('ml', 'set', 'staff', 'bounce_limit=2')
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    bounce(s, 'staff-bounces@localhost', dsn('bob@localhost', 'delayed', '4.4.1'))
    t.ok(s.wait_log(r'delay report for <\?> not counted'), 'a 4.x.x report is not counted')
    bounce(s, 'staff-bounces+alice=localhost@localhost', b'Subject: failure\r\n\r\nno such user\r\n')
    t.ok(s.wait_log(r'bounce 1 for <alice@localhost> \(bounce_limit 2\)'), 'a VERP bounce counted')
    t.like(members(s), r'(?m)^alice@localhost$', 'alice stays below the limit')
    bounce(s, 'staff-bounces@localhost', dsn('bob@localhost'))
    t.ok(s.wait_log(r'bounce 1 for <bob@localhost> '), 'a report (5.1.1) counted')
    bounce(s, 'staff-bounces@localhost', dsn('<alice@LOCALHOST>'))
    t.ok(s.wait_log(r'bounce 2 for <alice@localhost> '), 'the second bounce of alice')
    t.ok(s.wait_log(r'<alice@localhost> removed after 2 bounces'), 'removed at bounce_limit')
    t.ok('alice@localhost' not in members(s), 'alice is out of ml_member.csv')
    t.like(members(s), r'(?m)^bob@localhost$', 'bob is still there')
    t.ok(s.wait_mail('boss', 1), 'the admin is told')
    t.like(s.mails('boss')[0].decode() if s.mails('boss') else '',
           r'Subject: staff@localhost: alice@localhost removed after 2 bounces', 'what happened')

    bounce(s, 'staff-bounces@localhost', dsn('zed@example.org'))
    t.ok(s.wait_log(r'bounce for <zed@example\.org>, not a member; dropped'), 'a non-member dropped')
    bounce(s, 'staff-bounces@localhost', b'Subject: ???\r\n\r\ngarbage\r\n')
    t.ok(s.wait_log(r'bounce from <> names no recipient; passed to <boss@localhost>'),
         'garbage logged')
    t.ok(s.wait_mail('boss', 2), 'and passed to the admin')
    t.like(s.mails('boss')[-1].decode() if len(s.mails('boss')) > 1 else '', r'garbage',
           'as it came')
    t.ok(not s.wait_log(r'status=deferred', timeout=0.5), 'nothing deferred')
    t.is_(s.mails('staff'), [], 'nothing stored in the list\'s mailbox')
t.done()
