#!/usr/bin/env python3
# Bad input around a list: a hand-edited ml_member.csv with broken lines
# still serves its good lines (each bad one logged as FILE:LINE) and the
# post reaches exactly the good members; a command mail with
# Precedence: bulk (or junk) is never answered (RFC 3834), while the same
# command without it is; a post with Precedence: bulk is still
# distributed (only automatic submissions are refused); a Subject in RFC
# 2047 encoded words is read as the command it spells.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()
ACC = {n: 'pw' for n in ('alice', 'bob', 'carol', 'boss')}
CONF = {'server': {'plugins': 'relay quota ml'}, 'plugin ml': {'munge_from': '0'}}

with Server(accounts=ACC, conf=CONF, start=False) as s:
    r = s.ctl('ml', 'create', 'news', 'secret', 'boss@localhost', check=False)
    t.is_(r.returncode, 0, 'list created') or t.diag(r.stderr)
    # edited by hand: a bad address, a line with a NUL-free but broken
    # bracket form, a comment; the good lines around them
    path = os.path.join(s.home, 'mailbox', 'news', 'ml_member.csv')
    st = os.stat(path)
    with open(path, 'w') as f:
        f.write('# staff\nalice@localhost\nnot an address\nBob <bob@localhost>\n'
                '<carol@localhost\ncarol@localhost\n')
    os.chown(path, st.st_uid, st.st_gid)
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    with s.smtp() as c:
        c.sendmail('alice@localhost', ['news@localhost'],
                   b'From: alice@localhost\r\nTo: news@localhost\r\n'
                   b'Subject: edited\r\nPrecedence: bulk\r\n\r\nbody\r\n')
    t.ok(s.wait_mail('alice', 1) and s.wait_mail('bob', 1) and s.wait_mail('carol', 1),
         'the good members get the post (Precedence: bulk is no reason to refuse)')
    t.ok(s.wait_log(r'list news: \S*ml_member\.csv:3: '), 'bad line 3 logged with file:line')
    t.ok(s.wait_log(r'list news: \S*ml_member\.csv:5: '), 'bad line 5 logged with file:line')
    t.ok(s.wait_log(r'distributed to 3 members'), 'three members, no more')
    t.is_([len(s.mails(n)) for n in ('alice', 'bob', 'carol')], [1, 1, 1],
          'one copy each')

    def request(extra):
        with s.smtp() as c:
            c.sendmail('carol@localhost', ['news-request@localhost'],
                       ('From: carol@localhost\r\nTo: news-request@localhost\r\n'
                        'Subject: help\r\n%s\r\nhelp\r\n' % extra).encode())

    for prec in ('bulk', 'junk'):
        request('Precedence: %s\r\n' % prec)
        t.ok(s.wait_log(r'request from <carol@localhost> not answered \(Precedence\); '
                        r'dropped'), 'Precedence: %s: not answered' % prec)
    request('')
    t.ok(s.wait_mail('carol', 2), 'the same command without it is answered')
    t.is_(len(s.mails('carol')), 2, 'one reply, not three')
    # an encoded-word Subject is read as the command it spells
    for n, subj in ((3, '=?UTF-8?B?aGVscA==?='), (4, 'Re: =?ISO-8859-1?Q?HELP?=')):
        with s.smtp() as c:
            c.sendmail('carol@localhost', ['news-request@localhost'],
                       ('From: carol@localhost\r\nTo: news-request@localhost\r\n'
                        'Subject: %s\r\n\r\n' % subj).encode())
        t.ok(s.wait_mail('carol', n), 'a reply to Subject %s' % subj)
        t.is_(sum(b'ARTICLE INDEX' in m for m in s.mails('carol')), n - 1,
              'Subject %s runs HELP' % subj)
    t.is_(s.mails('news'), [], 'nothing stored in the list\'s mailbox')
t.done()
