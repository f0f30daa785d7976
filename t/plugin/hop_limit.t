#!/usr/bin/env python3
"""The hop limit (DESIGN §10, smtp.max_hops): a message that would carry more
than max_hops Received:/Delivered-To: fields is refused at DATA with
554 5.4.6; only the header section counts, in any case, with blanks before
the colon; mail made inside yubin (local submission through yubin-sendmail)
is returned to its sender instead of refused.  And the loop the seed's own
first exec.def example makes -- two mailboxes whose programs send every
message on to each other with `yubin-sendmail FROM to -mf MAILFILE_PATH` --
ends: a bounded number of copies, then one report to the sender."""

import email
import os
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import Server, TAP, write_def, binary, wait_until  # noqa: E402

t = TAP()
SM = binary('yubin-sendmail')
MAX = 5


def msg(n_received=0, n_delivered=0, extra=''):
    h = ''.join('Received: from h%d by h%d; Thu, 1 Jan 2026 00:00:00 +0000\r\n' % (i, i)
                for i in range(n_received))
    h += ''.join('Delivered-To: x%d@example.org\r\n' % i for i in range(n_delivered))
    return (h + extra + 'Subject: hops\r\n\r\nbody\r\n').encode()


def data_reply(s, sender, rcpt, data):
    with s.smtp() as c:
        try:
            c.sendmail(sender, [rcpt], data)
            return 250, ''
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()


def reports(s, acct):
    return [m for m in s.mails(acct) if b'multipart/report' in m]


with Server(accounts={'alice': 'pw', 'bob': 'pw', 'carol': 'pw', 'dave': 'pw',
                      'erin': 'pw'},
            conf={'server': {'plugins': 'exec'}, 'smtp': {'max_hops': str(MAX)}},
            start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    s.sections['plugin exec'] = {'path': '/usr/bin:/bin', 'timeout': '30s', 'sendmail': SM}
    s.write_conf(s.sections)
    s.start()

    # ---- over SMTP: refused at DATA ----------------------------------------
    code, text = data_reply(s, 'x@example.org', 'alice@localhost', msg(MAX - 1))
    t.is_(code, 250, '%d Received fields and ours make %d: taken' % (MAX - 1, MAX))
    code, text = data_reply(s, 'x@example.org', 'alice@localhost', msg(MAX))
    t.is_(code, 554, '%d Received fields and ours are over the limit: 554' % MAX)
    t.like(text, r'^5\.4\.6 too many hops \(%d Received/Delivered-To fields, limit %d\)'
           % (MAX + 1, MAX), 'with 5.4.6 and the count')
    code, _ = data_reply(s, 'x@example.org', 'alice@localhost', msg(2, MAX - 2))
    t.is_(code, 554, 'Delivered-To fields count as well')
    odd = 'RECEIVED : from a\r\n\tcontinued\r\nreceived:\tb\r\nDelivered-to  :c\r\n'
    code, _ = data_reply(s, 'x@example.org', 'alice@localhost', msg(MAX - 3, 0, odd))
    t.is_(code, 554, 'any case, blanks before the colon; a continuation is not a field')
    body_only = msg(0) + b''.join(b'Received: in the body\r\n' for _ in range(3 * MAX))
    code, _ = data_reply(s, 'x@example.org', 'alice@localhost', body_only)
    t.is_(code, 250, 'Received: lines in the body do not count')
    t.ok(s.wait_mail('alice', 2), 'the two good messages are stored')
    time.sleep(0.5)
    t.is_(len(s.mails('alice')), 2, 'and nothing refused was stored')
    t.ok(s.wait_log(r'refused: too many hops'), 'the refusal is logged')

    # ---- local submission: returned to the sender, not refused ---------------
    mf = os.path.join(s.tmp, 'loop.eml')
    with open(mf, 'wb') as f:
        f.write(msg(MAX).replace(b'\r\n', b'\n'))
    r = subprocess.run([SM, '-c', s.conf_path, 'bob@localhost', 'carol@localhost',
                        '-mf', mf], capture_output=True, timeout=60)
    t.is_(r.returncode, 0, 'yubin-sendmail of a looping message succeeds (it is returned)')
    t.ok(wait_until(lambda: len(reports(s, 'bob')) == 1), 'bob gets a report')
    rep = (reports(s, 'bob') or [b''])[0]
    t.like(rep.decode('utf-8', 'replace'), r'Status: 5\.4\.6',
           'the report says 5.4.6')
    t.like(rep.decode('utf-8', 'replace'), r'Final-Recipient: rfc822; carol@localhost',
           'for carol')
    t.is_(len(s.mails('carol')), 0, 'carol got nothing')

    # ---- the exec.def ping-pong ends -----------------------------------------
    for me, other in (('dave', 'erin'), ('erin', 'dave')):
        write_def(s, me, 'exec.def',
                  'bin=%s\nparam1=FROM_ADDRESS\nparam2=%s@localhost\n'
                  'param3=-mf\nparam4=MAILFILE_PATH\n' % (SM, other))
    with s.smtp() as c:
        c.sendmail('alice@localhost', ['dave@localhost'], msg(0))
    total = lambda: len(s.mails('dave')) + len(s.mails('erin'))  # noqa: E731
    t.ok(wait_until(lambda: len(reports(s, 'alice')) >= 1, timeout=60),
         'the sender gets a report when the loop is cut')
    time.sleep(2)
    n = total()
    t.ok(n <= MAX + 1, 'a bounded number of copies (%d, at most %d)' % (n, MAX + 1))
    time.sleep(2)
    t.is_(total(), n, 'and no more are made')
    t.is_(len(reports(s, 'alice')), 1, 'exactly one report')
    last = max(s.mails('dave') + s.mails('erin'),
               key=lambda m: m.count(b'\nReceived:') + m.startswith(b'Received:'))
    t.ok(email.message_from_bytes(last).get_all('Received') is not None and
         len(email.message_from_bytes(last).get_all('Received')) <= MAX,
         'no stored copy carries more than %d Received fields' % MAX)

# ---- mail made by a plugin (yh_inject): returned to the sender -------------
with Server(accounts={'ann': 'pw', 'ben': 'pw', 'cid': 'pw'},
            conf={'server': {'plugins': 'forward'}, 'smtp': {'max_hops': str(MAX)}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    write_def(s, 'ann', 'config.def', 'forward_address = ben@localhost\n')
    # MAX - 2 fields + ours = MAX - 1 stored: taken; the forward adds
    # Delivered-To and its own Received: MAX + 1
    with s.smtp() as c:
        c.sendmail('cid@localhost', ['ann@localhost'], msg(MAX - 2))
    t.ok(s.wait_mail('ann', 1), 'the message is stored for ann')
    t.ok(wait_until(lambda: len(reports(s, 'cid')) == 1), 'the forward over the limit '
         'is returned to the sender')
    rep = (reports(s, 'cid') or [b''])[0].decode('utf-8', 'replace')
    t.like(rep, r'Final-Recipient: rfc822; ben@localhost', 'for the forward\'s recipient')
    t.like(rep, r'Status: 5\.4\.6', 'with 5.4.6')
    t.is_(len(s.mails('ben')), 0, 'ben got nothing')
    t.ok(s.wait_log(r'not queued \(plugin=forward from=<cid@localhost>\): too many hops'),
         'logged with the plugin that made it')
t.done()
