#!/usr/bin/env python3
# NAME-request@ commands with confirm=0: JOIN at once, LEAVE, LIST for the
# manager only, ARTICLE INDEX/LIST/DELETE with ranges over archive files,
# HELP, STOP, unknown lines reported, forward_join, silent=1 and
# automatic mail (RFC 3834) left unanswered.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()
ACC = {n: 'pw' for n in ('alice', 'carol', 'boss', 'mgr')}
CONF = {'server': {'plugins': 'relay quota ml'}}


def request(s, sender, body, subject='commands', want=1, headers=''):
    before = s.mails(sender)
    with s.smtp() as c:
        c.sendmail(sender + '@localhost', ['staff-request@localhost'],
                   ('From: %s@localhost\r\nSubject: %s\r\n%s\r\n%s' %
                    (sender, subject, headers, body)).encode())
    if not s.wait_mail(sender, len(before) + want):
        return ['']
    return [m.decode('utf-8', 'replace') for m in s.mails(sender) if m not in before]


def members(s):
    with open(os.path.join(s.home, 'mailbox', 'staff', 'ml_member.csv')) as f:
        return f.read()


with Server(accounts=ACC, conf=CONF, start=False) as s:
    s.ctl('ml', 'create', 'staff', 'secret', 'boss@localhost')
    s.ctl('ml', 'set', 'staff', 'confirm=0', 'save_posts=1', 'manager=mgr@localhost')
    arch = os.path.join(s.home, 'mailbox', 'staff', 'archive')
    os.mkdir(arch)
    for n in (1, 2, 3):
        with open(os.path.join(arch, '%06d' % n), 'w') as f:
            f.write('From: x@example.org\nSubject: [staff] post number %d\n\nbody %d\n' % (n, n))
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam('nobody')
        for p in [arch] + [os.path.join(arch, x) for x in os.listdir(arch)]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    r = request(s, 'alice', '\r\n\r\nJOIN\r\n')[0]
    t.like(r, r'> JOIN\n+alice@localhost joined the list', 'confirm=0: JOIN at once')
    t.like(members(s), r'(?m)^alice@localhost$', 'alice is a member')
    t.like(r, r'(?m)^Auto-Submitted: auto-replied', 'the reply is marked automatic')

    r = request(s, 'alice', 'LIST\r\n')[0]
    t.like(r, r'refused: only the list\'s manager may see the member list', 'LIST refused')
    t.ok('alice@localhost\n  ' not in r and '1 member' not in r, 'no members shown')
    r = request(s, 'mgr', 'list\r\n')[0]
    t.like(r, r'1 member:\n  alice@localhost', 'LIST for the manager')

    r = request(s, 'alice', 'ARTICLE INDEX 2-3\r\nARTICLE INDEX 9-3\r\narticle index 3-\r\n')[0]
    t.like(r, r'> ARTICLE INDEX 2-3\n2  \[staff\] post number 2\n3  \[staff\] post number 3\n\n',
           'ARTICLE INDEX N-M')
    t.like(r, r'> ARTICLE INDEX 9-3\nfailed: bad range 9-3: the first number is larger than '
           r'the last', '9-3 refused with a reason')
    t.like(r, r'> article index 3-\n3  \[staff\] post number 3\n\n', 'ARTICLE INDEX N-')
    got = request(s, 'alice', 'ARTICLE LIST 1\r\n', want=2)
    digest = [m for m in got if 'multipart/digest' in m]
    reply = [m for m in got if 'Results of your commands' in m]
    t.is_(len(digest), 1, 'ARTICLE LIST sends the posts')
    t.like(digest[0] if digest else '', r'post number 1', 'post 1 in it')
    t.ok(digest and 'post number 2' not in digest[0], 'and only post 1')
    t.like(reply[0] if reply else '', r'1 post sent in a separate message', 'the reply says so')
    r = request(s, 'alice', 'ARTICLE DELETE 1\r\n')[0]
    t.like(r, r'refused: only the list\'s manager may delete posts', 'ARTICLE DELETE refused')
    r = request(s, 'mgr', 'ARTICLE DELETE 1-2\r\n')[0]
    t.like(r, r'2 posts deleted', 'ARTICLE DELETE for the manager')
    t.is_(sorted(os.listdir(arch)), ['000003'], 'the files are gone')

    r = request(s, 'alice', '', subject='help')[0]
    t.like(r, r'ARTICLE INDEX \[RANGE\]', 'HELP in the Subject')
    r = request(s, 'alice', 'frobnicate the list\r\nhelp\r\nstop\r\nleave\r\n-- \r\nAlice\r\n')[0]
    t.like(r, r'> frobnicate the list\nunknown command', 'an unknown line is reported')
    t.like(r, r'> stop\nthe rest is ignored', 'STOP ends the commands')
    t.ok('> leave' not in r, 'nothing after STOP is read')
    t.like(members(s), r'(?m)^alice@localhost$', 'alice is still a member')
    r = request(s, 'alice', 'leave' + ' ' * 1200 + 'x\r\nhelp\r\n')[0]
    t.like(r, r'> \(a line of 1206 bytes\)\nunknown command', 'an over-long line is unknown')
    t.like(members(s), r'(?m)^alice@localhost$', 'and not cut to a LEAVE')
    r = request(s, 'alice', 'unsubscribe\r\n-- \r\njoin\r\n')[0]
    t.like(r, r'alice@localhost left the list', 'LEAVE (UNSUBSCRIBE)')
    t.ok('> join' not in r, 'the signature marker ends the commands')
    t.ok('alice@localhost' not in members(s), 'alice is gone')
    r = request(s, 'alice', 'JOIN staff carol@localhost\r\n')[0]
    t.like(r, r'refused: only the list\'s manager may subscribe another address',
           'confirm=0: a stranger cannot subscribe someone else')
    r = request(s, 'alice', 'join=20\r\n', headers='Content-Transfer-Encoding: quoted-printable\r\n')[0]
    t.like(r, r'> join\nalice@localhost joined', 'a quoted-printable body is decoded')

    mp = ('--xyz\r\nContent-Type: text/html\r\n\r\n<p>leave</p>\r\n'
          '--xyz\r\nContent-Type: text/plain; charset=utf-8\r\n'
          'Content-Transfer-Encoding: quoted-printable\r\n\r\n'
          'ARTICLE INDEX=\r\n 3\r\n--xyz--\r\n')
    r = request(s, 'alice', mp, headers='MIME-Version: 1.0\r\n'
                'Content-Type: multipart/alternative; boundary="xyz"\r\n')[0]
    t.like(r, r'> ARTICLE INDEX 3\n3  \[staff\] post number 3\n\n',
           'multipart: the text/plain part, quoted-printable soft break joined')
    t.ok('leave' not in r, 'the HTML part is not read')

    # forward_join: the request goes to the manager instead
    s.ctl('ml', 'set', 'staff', 'forward_join=1')
    mgr_before = len(s.mails('mgr'))
    r = request(s, 'carol', 'join\r\n')[0]
    t.like(r, r'your request was passed to the list\'s manager', 'forward_join: carol is told')
    t.ok(s.wait_mail('mgr', mgr_before + 1), 'the manager gets the JOIN mail')
    t.like(s.mails('mgr')[-1].decode() if len(s.mails('mgr')) > mgr_before else '',
           r'From: carol@localhost', 'as carol sent it')
    t.ok('carol@localhost' not in members(s), 'carol is not subscribed')

    r = request(s, 'carol', 'SUBSCRIBE staff\r\n')[0]
    t.like(r, r'> SUBSCRIBE staff\nyour request was passed', 'the JOIN LIST form')
    r = request(s, 'carol', 'JOIN other-list\r\n')[0]
    t.like(r, r'failed: no such list here: other-list\n\(this is staff@localhost\)',
           'another list\'s name is refused')
    s.ctl('ml', 'set', 'staff', 'forward_join=0', 'forward_leave=1')
    mgr_before = len(s.mails('mgr'))
    r = request(s, 'alice', 'leave staff@localhost\r\n')[0]
    t.like(r, r'your request was passed to the list\'s manager', 'forward_leave')
    t.ok(s.wait_mail('mgr', mgr_before + 1), 'the manager gets the LEAVE mail')
    t.like(members(s), r'(?m)^alice@localhost$', 'alice is still a member')
    r = request(s, 'mgr', 'leave staff alice@localhost\r\n')[0]
    t.like(r, r'alice@localhost left the list', 'the manager removes another address')

    # automatic mail is never answered
    n = len(s.mails('alice'))
    with s.smtp() as c:
        c.sendmail('alice@localhost', ['staff-request@localhost'],
                   b'Subject: help\r\nAuto-Submitted: auto-replied\r\n\r\nhelp\r\n')
    t.ok(s.wait_log(r'request from <alice@localhost> not answered \(Auto-Submitted\); dropped'),
         'Auto-Submitted: logged and dropped')
    with s.smtp() as c:
        c.sendmail('', ['staff-request@localhost'], b'Subject: help\r\n\r\nhelp\r\n')
    t.ok(s.wait_log(r'request from <> not answered \(empty envelope sender\)'),
         'empty envelope sender: logged and dropped')
    # silent=1: no reply at all
    s.ctl('ml', 'set', 'staff', 'silent=1')
    with s.smtp() as c:
        c.sendmail('alice@localhost', ['staff-request@localhost'], b'Subject: x\r\n\r\nhelp\r\n')
    t.ok(s.wait_log(r'1 commands from <alice@localhost>; no reply \(silent\)'), 'silent=1 logged')
    t.is_(len(s.mails('alice')), n, 'and nothing sent to alice')
t.done()
