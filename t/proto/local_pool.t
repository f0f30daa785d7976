#!/usr/bin/env python3
"""Local submission has workers of its own (issue 13 item 4): with the SMTP
pool full (smtp.multiprocessing = 2, both workers held mid-session by
network clients), yubin-sendmail over HOME/run/submit.sock still delivers
(exit 0), while a third network client still gets 421 4.7.0.  The local
workers are never taken by network clients."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, TAP, Raw, binary, wait_until  # noqa: E402

t = TAP()
SM = binary('yubin-sendmail')

with Server(accounts={'alice': 'pw'},
            conf={'smtp': {'multiprocessing': '2', 'min_spare': '1', 'max_spare': '2',
                           'max_connections_per_ip': '2'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    held = []
    for i in range(2):
        c = Raw(s.connect('smtp', timeout=60))
        code, _ = c.reply()
        t.is_(code, 220, 'network client %d is served' % (i + 1))
        c.cmd('EHLO held%d.test' % i)
        code, _ = c.cmd('MAIL FROM:<held%d@example.org>' % i)
        t.is_(code, 250, 'and held mid-transaction')
        held.append(c)
    third = Raw(s.connect('smtp', timeout=60))
    code, text = third.reply()
    t.is_(code, 421, 'a third network client gets 421: the SMTP pool is full')
    t.ok('4.7.0' in text, 'with 4.7.0')
    third.close()

    e = dict(os.environ)
    e.pop('YUBIN_CONF', None)
    for i in range(3):
        r = subprocess.run([SM, '-c', s.conf_path, '-f', 'cron@localhost', 'alice@localhost'],
                           input=b'Subject: local %d\n\nbody %d\n' % (i, i),
                           capture_output=True, env=e, timeout=60)
        t.is_(r.returncode, 0, 'yubin-sendmail %d with the SMTP pool full: exit 0 (%s)'
              % (i + 1, r.stderr.decode().strip()))
    t.ok(s.wait_mail('alice', 3), 'and the mail is delivered')

    fourth = Raw(s.connect('smtp', timeout=60))
    try:
        code, text = fourth.reply()
    except ConnectionResetError:
        # the refusal's close can overtake its 421 (seen once under ASan):
        # still refused, never served
        code, text = 421, '4.7.0 (reset)'
    t.ok(code == 421 and '4.7.0' in text,
         'after local submissions the network still gets 421 4.7.0 (no local worker taken)')
    fourth.close()
    for c in held:
        c.cmd('QUIT')
        c.close()

    def served():
        c = Raw(s.connect('smtp', timeout=60))
        code, _ = c.reply()
        c.close()
        return code == 220
    t.ok(wait_until(served), 'the held sessions gone, the network is served again')

t.done()
