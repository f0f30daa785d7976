#!/usr/bin/env python3
"""Issue 12 item 1: a sender's Subject that fills the SUBJECT buffer of
yh_spawn to the last byte and then carries invalid Shift_JIS bytes
(4092 x "A", "=?shift_jis?Q?=82=A0", 3000 x "=FF", "?=") once overflowed
the queue manager's stack: it died of SIGABRT in a loop and other mail
stopped.  Sent unauthenticated to an account whose exec.def has
param1=SUBJECT; the program gets the Subject cut at a character boundary
(4095 bytes), an unrelated mail to another account is delivered, and the
queue manager is the same process (nothing logged as killed).  The same for
a Subject of raw bytes, and for "=?" that is no encoded word (which made
the decoder loop without consuming input)."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import (Server, TAP, make_recorder, record, write_def,  # noqa: E402
                      wait_until)

t = TAP()
ACCTS = {a: 'pw' for a in ('vic', 'other', 'raw', 'loop')}


def send_raw(s, sender, rcpt, header_line):
    """An unauthenticated SMTP transaction on port 25 with HEADER_LINE (bytes)
    as the Subject field; the final reply code."""
    with s.smtp() as c:
        c.ehlo('attacker.example')
        c.mail(sender)
        c.rcpt(rcpt)
        code, _ = c.data(b'From: <' + sender.encode() + b'>\r\nTo: <' + rcpt.encode() +
                         b'>\r\n' + header_line + b'\r\nMessage-ID: <' +
                         rcpt.encode() + b'@attack>\r\n\r\nbody\r\n')
        return code


def killed(log):
    return re.search(r'(queue manager|worker) pid \d+ (killed|exit)', log)


with Server(accounts=ACCTS, conf={'server': {'plugins': 'exec'}}, start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    rec, out = make_recorder(s)
    s.sections['plugin exec'] = {'path': os.path.dirname(rec) + ':/usr/bin:/bin',
                                 'timeout': '30s'}
    s.write_conf(s.sections)
    s.start()
    t.ok(wait_until(lambda: len(s.children('queue')) == 1), 'one queue manager')
    qm = s.children('queue')

    for acct in ('vic', 'raw', 'loop'):
        write_def(s, acct, 'exec.def', 'bin=rec\nparam1=%s\nparam2=SUBJECT\n' % acct)

    # ---- the Subject of the report ------------------------------------------
    subject = (b'Subject: ' + b'A' * 4092 + b'=?shift_jis?Q?=82=A0' + b'=FF' * 3000 + b'?=')
    t.is_(send_raw(s, 'x@example.org', 'vic@localhost', subject), 250,
          'the attack Subject is accepted unauthenticated')
    r = record(out, 'vic')
    t.ok(r is not None, 'the exec.def program ran')
    arg = r['argv'][2] if r else ''
    t.is_(len(arg.encode()), 4095, 'SUBJECT is cut to 4095 bytes')
    t.ok(arg == 'A' * 4092 + '\u3042', '... at a character boundary: 4092 A and one hiragana')

    # ---- raw 8-bit bytes past the buffer ------------------------------------
    subject = b'Subject: ' + b'B' * 4093 + b'\x82\xa0' + b'\xff' * 3000
    t.is_(send_raw(s, 'x@example.org', 'raw@localhost', subject), 250,
          'a Subject of raw bytes is accepted')
    r = record(out, 'raw')
    arg = r['argv'][2] if r else ''
    t.ok(r is not None and len(arg.encode()) <= 4095 and arg.startswith('B' * 4093),
         'raw bytes: SUBJECT bounded')

    # ---- "=?" that is no encoded word ---------------------------------------
    t.is_(send_raw(s, 'x@example.org', 'loop@localhost', b'Subject: a =?foo b'), 250,
          'a Subject with a stray "=?" is accepted')
    r = record(out, 'loop')
    t.is_(r['argv'][2] if r else None, 'a =?foo b', 'the stray "=?" is text; the decoder ends')

    # ---- other mail keeps flowing, the queue manager stayed -----------------
    with s.smtp() as c:
        c.sendmail('y@example.org', ['other@localhost'],
                   b'From: <y@example.org>\r\nTo: <other@localhost>\r\nSubject: hello\r\n'
                   b'\r\nunrelated\r\n')
    t.ok(s.wait_mail('other', 1), 'an unrelated mail to another account is delivered')
    t.is_(s.children('queue'), qm, 'the queue manager is the same process')
    t.ok(not killed(s.log()), 'no process of the tree was killed or restarted')
    t.ok(s.proc.poll() is None, 'yubind is running')

t.done()
