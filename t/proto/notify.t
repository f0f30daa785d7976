#!/usr/bin/env python3
# yubinctl notify FILE: a notice in every mailbox, first line the subject,
# stored without the queue (no hooks run), readable over POP3.
import email
import email.header
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()
with Server(accounts={'alice': 'pw', 'bob': 'pw'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    path = os.path.join(s.tmp, 'notice.txt')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('メンテナンスのお知らせ\nThe server stops at 22:00.\n.\nThanks.\n')
    r = s.ctl('notify', path, check=False)
    t.is_(r.returncode, 0, 'notify exits 0')
    t.like(r.stdout, 'notice stored in 2 mailboxes', 'says how many')
    for name in ('alice', 'bob'):
        m = s.mails(name)
        t.is_(len(m), 1, '%s has the notice' % name)
        msg = email.message_from_bytes(m[0])
        subj = str(email.header.make_header(email.header.decode_header(msg['Subject'])))
        t.is_(subj, 'メンテナンスのお知らせ', '%s: subject decoded' % name)
        t.like(msg.get_payload(decode=True).decode(), r'stops at 22:00\.\n\.\nThanks',
               '%s: body kept' % name)
    t.is_(s.ctl('queue', 'list').stdout, '', 'nothing went through the queue')
    p = s.pop3()
    p.user('alice')
    p.pass_('pw')
    resp, lines, octets = p.retr(1)
    t.ok(b'.' in lines and b'Thanks.' in lines, 'served over POP3 (the lone dot survives dot-stuffing)')
    p.quit()
    t.like(s.ctl('mailbox', 'bob').stdout, r'mails=1 ', 'usage counts the notice')
    empty = os.path.join(s.tmp, 'empty.txt')
    open(empty, 'w').close()
    r = s.ctl('notify', empty, check=False)
    t.is_(r.returncode, 1, 'an empty notice is refused')
    r = s.ctl('notify', os.path.join(s.tmp, 'missing'), check=False)
    t.is_(r.returncode, 1, 'a missing file is refused')
t.done()
