#!/usr/bin/env python3
"""No silent loss with forwarding (issue 13 item 2): an account that keeps
no local copy (IMS.CTL [Delivery] Discard=Yes, forward_keep_copy = 0)
still gets the message in its mailbox whenever the forward is not made:
mail from the administrator, a sender not in PERMITFROM.TXT, an insecure
IMS.CTL, a copy that cannot be queued, and the loop guard of two accounts
forwarding to each other.  Every case counts the message in every Maildir,
the queue and deadmail, so nothing can vanish.  Run with forward alone
(forward drops the copy) and with "forward autoreply" (autoreply, last of
the two, drops it)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import Server, TAP, write_def, send, wait_until  # noqa: E402

t = TAP()
NAMES = ('kim', 'lee', 'pat', 'ann', 'ben', 'sys', 'zed')
MSG = 'From: x@example.org\r\nSubject: fwd\r\nMessage-ID: <%s@example.org>\r\n\r\nhello body\r\n'


def where(s, tag):
    """{place: count} of the message with Message-ID TAG everywhere it can be."""
    needle = ('<%s@example.org>' % tag).encode()
    out = {}
    for n in NAMES:
        c = sum(1 for m in s.mails(n) if needle in m)
        if c:
            out[n] = c
    for d in ('queue', 'deadmail'):
        root = os.path.join(s.home, d)
        for dp, _, files in os.walk(root):
            for f in files:
                try:
                    with open(os.path.join(dp, f), 'rb') as fh:
                        if needle in fh.read():
                            out[d] = out.get(d, 0) + 1
                except OSError:
                    pass
    return out


def idle(s):
    return wait_until(lambda: not s.queue_files())


for plugins in ('forward', 'forward autoreply'):
    with Server(accounts={n: 'pw' for n in NAMES},
                conf={'server': {'plugins': plugins, 'admin_address': 'sys@localhost'}}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-5000:]))
        p = '[%s] ' % plugins

        def ims(text, mode=0o644):
            write_def(s, 'kim', 'IMS.CTL', text, mode=mode)

        def one(tag, sender='x@example.org', body=None):
            send(s, sender, ['kim@localhost'], body or (MSG % tag))
            idle(s)
            return where(s, tag)

        # the control: a forward made drops the copy
        ims('[AutoForward]\nForwardTo=lee@localhost\n[Delivery]\nDiscard=Yes\n')
        t.is_(one('ok'), {'lee': 1}, p + 'forward made, Discard=Yes: only the forwarded copy')
        t.ok(s.wait_log(r'kim: no local copy kept \(rule: forwarded; IMS\.CTL'),
             p + 'the drop is logged with its rule')

        # (a) Discard=Yes and the forward not made
        t.is_(one('adm', 'sys@localhost'), {'kim': 1},
              p + 'from the administrator: not forwarded, kept in the mailbox')
        t.ok(s.wait_log(r'kim: not forwarded \(mail from the administrator\); the copy is kept'),
             p + 'and logged')
        ims('[AutoForward]\nForwardTo=lee@localhost\nPermitFrom=Yes\n[Delivery]\nDiscard=Yes\n')
        write_def(s, 'kim', 'PERMITFROM.TXT', 'boss@example.org\n')
        t.is_(one('permit'), {'kim': 1}, p + 'PermitFrom=Yes, sender not listed: kept')
        t.is_(one('permit-ok', 'boss@example.org'), {'lee': 1},
              p + 'a listed sender is forwarded and the copy dropped')
        ims('[AutoForward]\nForwardTo=lee@localhost\n[Delivery]\nDiscard=Yes\n', mode=0o666)
        t.is_(one('insecure'), {'kim': 1}, p + 'an insecure IMS.CTL: refused, the copy kept')
        # a copy that cannot be queued: ReportTo=none and over smtp.max_hops
        ims('[AutoForward]\nForwardTo=lee@localhost\nReportTo=none\n[Delivery]\nDiscard=Yes\n')
        hops = ''.join('Received: from h%d.example by h%d.example; '
                       'Thu, 1 Jan 2026 00:00:00 +0000\r\n' % (i, i + 1) for i in range(28))
        t.is_(one('noqueue', body=hops + MSG % 'noqueue'), {'kim': 1},
              p + 'the forward fails to queue: kept, not deferred or lost')
        t.ok(s.wait_log(r'kim: not forwarded \(queueing the copy failed\)'), p + 'and logged')

        # (b) two accounts forwarding to each other, no copy kept
        write_def(s, 'ann', 'config.def', 'forward_address = ben@localhost\nforward_keep_copy = 0\n')
        write_def(s, 'ben', 'config.def', 'forward_address = ann@localhost\nforward_keep_copy = 0\n')
        for first, tag in (('ann', 'loop-a'), ('ben', 'loop-b')):
            send(s, 'x@example.org', ['%s@localhost' % first], MSG % tag)
            t.ok(idle(s), p + 'loop from %s: the queue drains' % first)
            t.is_(where(s, tag), {first: 1},
                  p + 'A<->B, keep_copy 0, from %s: ends in a mailbox, never nowhere' % first)
        t.ok(s.wait_log(r'ann: not forwarded \(loop: already delivered to this address\)'),
             p + 'the loop guard keeps the copy, logged')

t.done()
