#!/usr/bin/env python3
"""A mailbox of 10 000 messages opens, lists and serves: STAT, LIST and UIDL
cover every message (sizes from the file names, a few without sizes in the
name counted from the file), RETR of the last one is byte-exact, and DELE
of many at QUIT removes exactly those.  No timing assertions."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, conf, crlf, ensure_maildir, files, _chown  # noqa: E402

t = TAP()
N = 10000

with Server(conf=conf(), accounts={'alice': 'pw-alice'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    md = ensure_maildir(s, 'alice')
    want = {}
    for i in range(N):
        body = b'Subject: message %d\n\n%s\n' % (i, b'x' * (i % 97))
        if i % 1000 == 999:
            name = '1700%06d.0.host' % i            # no size in the name
        else:
            name = '1700%06d.0.host,S=%d,W=%d' % (i, len(body), len(crlf(body)))
        p = os.path.join(md, 'new', name)
        with open(p, 'wb') as f:
            f.write(body)
        _chown(s, p)
        want[i] = (name, crlf(body))

    c = s.pop3(timeout=120)
    c.user('alice')
    t.like(c.pass_('pw-alice').decode(), r'^\+OK maildrop has %d messages' % N, 'login opens 10 000')
    total = sum(len(v[1]) for v in want.values())
    t.is_(c.stat(), (N, total), 'STAT: 10 000 messages and their CRLF octets')
    resp, lines, _ = c.list()
    t.is_(len(lines), N, 'LIST: 10 000 lines')
    t.ok(all(l == b'%d %d' % (i + 1, len(want[i][1])) for i, l in enumerate(lines)),
         'LIST sizes all right')
    resp, lines, _ = c.uidl()
    t.is_(len(lines), N, 'UIDL: 10 000 lines')
    t.ok(all(l == b'%d %s' % (i + 1, want[i][0].encode()) for i, l in enumerate(lines)),
         'UIDL names all right')
    t.is_(len(set(l.split()[1] for l in lines)), N, 'UIDs unique')
    resp, lines, _ = c.retr(N)
    t.is_(b''.join(l + b'\r\n' for l in lines), want[N - 1][1], 'RETR 10000 byte-exact')
    resp, lines, _ = c.retr(1000)
    t.is_(b''.join(l + b'\r\n' for l in lines), want[999][1], 'RETR of a message sized from its file')
    for i in range(1, N + 1, 2):
        c.dele(i)
    t.like(c.quit().decode(), r'^\+OK', 'QUIT after 5 000 DELE')
    left = files(s, 'alice')
    t.is_(len(left), N // 2, '5 000 files left')
    t.is_(left, sorted(want[i][0] for i in range(1, N, 2)), 'exactly the undeleted ones')
    log_clean(t, s)
t.done()
