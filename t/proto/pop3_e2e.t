#!/usr/bin/env python3
"""End to end: mail sent with smtplib to local accounts is read back through
POP3 byte-exact (the stored file as CRLF lines, ending with what was sent),
for one and for two recipients, then deleted."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, conf, crlf  # noqa: E402

t = TAP()
MSG = (b'From: sender@example.org\r\nTo: alice@localhost\r\nSubject: e2e\r\n\r\n'
       b'hello\r\n.leading dot\r\n..two\r\nlast\r\n')

with Server(conf=conf(), accounts={'alice': 'pw-alice', 'bob': 'pw-bob'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    with s.smtp() as c:
        c.sendmail('sender@example.org', ['alice@localhost'], MSG)
        c.sendmail('sender@example.org', ['alice@localhost', 'bob@localhost'], MSG)
    t.ok(s.wait_mail('alice', 2), 'two messages delivered to alice')
    t.ok(s.wait_mail('bob', 1), 'one to bob')
    stored = s.mails('alice')
    for who, n in (('alice', 2), ('bob', 1)):
        c = s.pop3()
        c.user(who)
        c.pass_('pw-' + who)
        t.is_(c.stat()[0], n, '%s: STAT %d' % (who, n))
        resp, lines, _ = c.list()
        for i in range(n):
            resp, body, _ = c.retr(i + 1)
            got = b''.join(l + b'\r\n' for l in body)
            t.ok(got.endswith(MSG), '%s: RETR %d ends with the message sent' % (who, i + 1))
            t.ok(got.startswith(b'Received: ') or b'\r\nReceived: ' in got[:2000],
                 '%s: RETR %d has a Received header' % (who, i + 1))
            t.is_(int(lines[i].split()[1]), len(got), '%s: LIST size is the RETR size' % who)
            if who == 'alice':
                t.is_(got, crlf(stored[i]), 'alice: RETR %d is the stored file in CRLF' % (i + 1))
            c.dele(i + 1)
        t.like(c.quit().decode(), r'^\+OK', '%s: QUIT' % who)
        t.is_(s.mails(who), [], '%s: mailbox empty after DELE + QUIT' % who)
    log_clean(t, s)
t.done()
