#!/usr/bin/env python3
# NAME-request@ management keys (keygen_minutes > 0): only the manager
# makes one with KEYGEN; LIST then needs a live key in the Subject; a
# client authenticated as the list counts as the manager.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, send_authed

t = TAP()
ACC = {n: 'pw' for n in ('alice', 'carol', 'boss', 'mgr')}
CONF = {'server': {'plugins': 'relay quota ml'}}


def request(s, sender, body, subject='commands'):
    before = s.mails(sender)
    with s.smtp() as c:
        c.sendmail(sender + '@localhost', ['staff-request@localhost'],
                   ('From: %s@localhost\r\nSubject: %s\r\n\r\n%s' %
                    (sender, subject, body)).encode())
    if not s.wait_mail(sender, len(before) + 1):
        return ''
    return [m.decode() for m in s.mails(sender) if m not in before][0]


with Server(accounts=ACC, conf=CONF, start=False) as s:
    s.ctl('ml', 'create', 'staff', 'secret', 'boss@localhost')
    s.ctl('ml', 'set', 'staff', 'manager=mgr@localhost', 'keygen_minutes=10')
    s.ctl('ml', 'add', 'staff', 'alice@localhost')
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    r = request(s, 'alice', 'KEYGEN\r\n')
    t.like(r, r'refused: only the list\'s manager may make a key', 'KEYGEN: manager only')
    r = request(s, 'mgr', 'LIST\r\n')
    t.like(r, r'refused: see the member list needs a valid key \(KEYGEN\)', 'LIST needs a key')
    r = request(s, 'mgr', 'keygen\r\n')
    m = re.search(r'valid for 10 minutes: ([0-9a-f]{32})', r)
    t.ok(m, 'KEYGEN gives the manager a key') or t.diag(r)
    key = m.group(1) if m else 'x'
    r = request(s, 'mgr', 'LIST\r\n', subject='members please ' + key)
    t.like(r, r'1 member:\n  alice@localhost', 'LIST with the key in the Subject')
    r = request(s, 'mgr', 'LIST\r\n', subject='members please ' + '0' * 32)
    t.like(r, r'needs a valid key', 'a made-up key is refused')
    r = request(s, 'alice', 'LIST\r\n', subject=key)
    t.like(r, r'refused: only the list\'s manager', 'the key alone does not make a manager')

    # authenticated as the list itself: the manager (a key still needed)
    s.ctl('ml', 'set', 'staff', 'keygen_minutes=0')
    before = s.mails('carol')
    send_authed(s, 'carol@localhost', ['staff-request@localhost'],
                b'Subject: x\r\n\r\nLIST\r\n', user='staff', password='secret')
    t.ok(s.wait_mail('carol', len(before) + 1), 'a reply')
    got = [m.decode() for m in s.mails('carol') if m not in before]
    t.like(got[0] if got else '', r'1 member:\n  alice@localhost',
           'LIST for a client authenticated as the list')
t.done()
