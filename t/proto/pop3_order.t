#!/usr/bin/env python3
"""POP3 numbers messages in arrival order (issue 13 item 6): several messages
sent quickly, each with its own Subject, come back by RETR 1..n in the order
they were sent; a file another program dropped into the Maildir under an
older SECONDS.UNIQUE.HOST name comes first; stored names follow the Maildir
convention SECONDS.M<usec>Q<qid>R<idx>.HOST,S=,W=."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, conf  # noqa: E402

t = TAP()
N = 12

with Server(conf=conf(), accounts={'alice': 'pw-alice'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    with s.smtp() as c:
        for i in range(N):
            msg = ('From: sender@example.org\r\nTo: alice@localhost\r\n'
                   'Subject: order-%02d\r\n\r\nbody %d\r\n' % (i, i)).encode()
            c.sendmail('sender@example.org', ['alice@localhost'], msg)
    t.ok(s.wait_mail('alice', N), '%d messages delivered' % N)
    new = os.path.join(s.maildir('alice'), 'new')
    names = sorted(os.listdir(new))
    t.ok(all(re.match(r'^\d+\.M\d{6}Q[0-9A-F]{16}R\d+\.[^,]+,S=\d+,W=\d+$', n)
             for n in names), 'names are SECONDS.M<usec>Q<qid>R<idx>.HOST,S=,W=')
    # another program's file, older than all of ours
    other = os.path.join(new, '1000000000.M1P2.otherhost')
    with open(other, 'wb') as f:
        f.write(b'From: old@example.org\nSubject: from-elsewhere\n\nold\n')
    os.chmod(other, 0o600)
    if os.geteuid() == 0:
        st = os.stat(new)
        os.chown(other, st.st_uid, st.st_gid)

    c = s.pop3()
    c.user('alice')
    c.pass_('pw-alice')
    t.is_(c.stat()[0], N + 1, 'STAT counts them all')
    subjects = []
    for i in range(N + 1):
        _, body, _ = c.retr(i + 1)
        subj = [l for l in body if l.startswith(b'Subject: ')]
        subjects.append(subj[0][9:].decode() if subj else '')
    t.is_(subjects[0], 'from-elsewhere', "the older file of other software is 1st")
    t.is_(subjects[1:], ['order-%02d' % i for i in range(N)],
          'RETR 2..n return the messages in sending order')
    c.quit()
    log_clean(t, s)
t.done()
