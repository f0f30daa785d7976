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
    t.like(r.stdout, 'notice stored in 3 mailboxes', 'says how many')
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
    # a Shift_JIS file is labelled as yubin-sendmail labels it
    sjis = os.path.join(s.tmp, 'sjis.txt')
    body = '停止のお知らせ\n明日は休みです。\n'.encode('shift_jis')
    with open(sjis, 'wb') as f:
        f.write(body)
    r = s.ctl('notify', sjis, check=False)
    t.is_(r.returncode, 0, 'a Shift_JIS notice is stored')
    m = [x for x in s.mails('bob') if '明日'.encode('shift_jis') in x]
    t.is_(len(m), 1, 'bob has it')
    if m:
        msg = email.message_from_bytes(m[0])
        t.like(msg['Content-Type'], r'charset=Shift_JIS', 'Content-Type says Shift_JIS')
        t.is_(msg.get_payload(decode=True), '明日は休みです。\n'.encode('shift_jis'),
              'body bytes intact')
        subj = str(email.header.make_header(email.header.decode_header(msg['Subject'])))
        t.is_(subj, '停止のお知らせ', 'subject decodes')

# the server user replaces Maildir folders with links to root-owned
# folders outside HOME: yubinctl (root) must deliver nothing there
# (Issue 12 item 12)
if os.geteuid() == 0:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
    from priv_lib import as_server, snapshot
    with Server(accounts={'alice': 'pw', 'bob': 'pw', 'carol': 'pw'}, tls=False,
                start=False) as s:
        outside = {}
        for name in ('new', 'tmp', 'maildir'):
            outside[name] = os.path.join(s.tmp, 'root-' + name)
            os.mkdir(outside[name], 0o755)   # root's, like /etc/cron.d
        for sub in ('tmp', 'new', 'cur'):
            os.mkdir(os.path.join(outside['maildir'], sub), 0o755)
        before = {k: snapshot(v) for k, v in outside.items()}
        before['maildir/new'] = snapshot(os.path.join(outside['maildir'], 'new'))
        before['maildir/tmp'] = snapshot(os.path.join(outside['maildir'], 'tmp'))
        mb = os.path.join(s.home, 'mailbox')
        as_server('sh', '-c', 'rm -rf "$1" && ln -s "$2" "$1"', '-',
                  os.path.join(mb, 'alice', 'Maildir', 'new'), outside['new'])
        as_server('sh', '-c', 'rm -rf "$1" && ln -s "$2" "$1"', '-',
                  os.path.join(mb, 'bob', 'Maildir', 'tmp'), outside['tmp'])
        as_server('sh', '-c', 'rm -rf "$1" && ln -s "$2" "$1"', '-',
                  os.path.join(mb, 'carol', 'Maildir'), outside['maildir'])
        path = os.path.join(s.tmp, 'notice.txt')
        with open(path, 'w') as f:
            f.write('Maintenance\nTonight.\n')
        r = s.ctl('notify', path, check=False)
        t.is_(r.returncode, 2, 'notify through planted links exits 2')
        after = {k: snapshot(v) for k, v in outside.items()}
        after['maildir/new'] = snapshot(os.path.join(outside['maildir'], 'new'))
        after['maildir/tmp'] = snapshot(os.path.join(outside['maildir'], 'tmp'))
        for k in sorted(before):
            t.is_(after[k], before[k], 'nothing lands in the root folder behind %s' % k)
        t.like(r.stderr, r'alice: Permission denied', 'the failing mailbox is named')
t.done()
