#!/usr/bin/env python3
"""Many messages for one mailbox at once: local agents for the same
destination end together and their jobs are recorded in one batch.  The
queue manager forgets the destination once (a batch of two jobs for one
mailbox used to free it twice, which the ASan build reports); every message
is stored exactly once and no process dies."""

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, conf  # noqa: E402

t = TAP()
THREADS, EACH = 4, 15
N = THREADS * EACH

cfg = conf({'queue': {'delivery_workers': '4', 'destination_concurrency': '3'}})
with Server(conf=cfg, accounts={'alice': 'pw-alice'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    errors = []

    def sender(k):
        try:
            with s.smtp() as c:
                for i in range(EACH):
                    msg = ('From: sender@example.org\r\nTo: alice@localhost\r\n'
                           'Subject: same-%d-%02d\r\n\r\nbody\r\n' % (k, i)).encode()
                    c.sendmail('sender@example.org', ['alice@localhost'], msg)
        except Exception as e:      # reported below as a failed test
            errors.append(repr(e))

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.is_(errors, [], 'every message accepted')
    t.ok(s.wait_mail('alice', N), '%d messages delivered' % N)
    new = os.path.join(s.maildir('alice'), 'new')
    subjects = []
    for name in os.listdir(new):
        with open(os.path.join(new, name), 'rb') as f:
            subjects += [l for l in f.read().split(b'\n') if l.startswith(b'Subject: ')]
    t.is_(len(subjects), N, 'each stored once')
    t.is_(len(set(subjects)), N, 'no message twice')
    t.ok('queue manager pid' not in s.log(), 'the queue manager never died')
    log_clean(t, s)
t.done()
