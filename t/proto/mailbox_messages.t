#!/usr/bin/env python3
# yubinctl mailbox NAME messages / remove UIDL... (F131): the listing gives
# the UIDL and size POP3 gives, the arrival date and the subject decoded
# (RFC 2047 B and Q, UTF-8, ISO-8859-1, ISO-2022-JP) with control
# characters replaced and long ones cut; remove moves a message to the
# dustbox (pop3.dustbox = 1) or deletes it, keeping the account's counters
# exact; an unknown UIDL is an error line and exit 1 while the others are
# still removed; a POP3 session that has the removed message listed gets a
# clean -ERR for it, goes on, and does not count the deletion twice.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP  # noqa: E402

t = TAP()

SUBJECTS = [
    b'Subject: plain ascii',
    b'Subject: =?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=',              # 日本語の件名
    b'Subject: =?ISO-8859-1?Q?caf=E9_cr=E8me?=',
    b'Subject: =?ISO-2022-JP?B?GyRCJEskWyRzJDQbKEI=?=',            # にほんご
    b'Subject: evil \x1b[31mred\x1b[0m bell\x07',
    b'Subject: ' + b'long ' * 40,
    b'Subject: folded\r\n  over two lines',
    b'X-No-Subject: here',
]
WANT = [
    'plain ascii',
    '日本語の件名',
    'café crème',
    'にほんご',
    'evil ?[31mred?[0m bell?',
    ('long ' * 12) + '...',
    'folded  over two lines',
    '(none)',
]


def counters(s, name):
    out = s.ctl('mailbox', name).stdout
    m = re.search(r'mails=(\d+) bytes=(\d+) .*deleted=(\d+)', out)
    return tuple(int(x) for x in m.groups()) if m else None


def pop_listing(s):
    p = s.pop3()
    p.user('alice')
    p.pass_('pw')
    uidl = [x.decode().split() for x in p.uidl()[1]]
    sizes = [x.decode().split() for x in p.list()[1]]
    p.quit()
    return [(u[1], int(z[1])) for u, z in zip(uidl, sizes)]


with Server(accounts={'alice': 'pw'}, conf={'pop3': {'dustbox': '1'}}) as s:
    for i, subj in enumerate(SUBJECTS):
        msg = b'From: x@example.org\r\n' + subj + b'\r\n\r\nbody %d\r\n' % i
        with s.smtp() as c:
            c.sendmail('x@example.org', ['alice@localhost'], msg)
    t.ok(s.wait_mail('alice', len(SUBJECTS)), 'messages delivered')

    r = s.ctl('mailbox', 'alice', 'messages', check=False)
    t.is_(r.returncode, 0, 'mailbox alice messages exits 0') or t.diag(r.stderr)
    lines = r.stdout.splitlines()
    t.is_(len(lines), len(SUBJECTS), 'one line per message')
    rows = []
    for ln in lines:
        m = re.match(r'(\S+) (\d+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.*)$', ln)
        rows.append(m.groups() if m else None)
    t.ok(all(rows), 'each line: UIDL SIZE DATE SUBJECT') or t.diag(r.stdout)
    pop = pop_listing(s)
    t.is_([(u, int(z)) for u, z, _, _ in rows], pop, 'UIDLs and sizes are the ones POP3 gives')
    for (u, z, d, subj), want in zip(rows, WANT):
        t.is_(subj, want, 'subject shown as %r' % want)
    t.ok(all('\x1b' not in ln and '\x07' not in ln for ln in lines), 'no control character printed')

    before = counters(s, 'alice')
    t.is_(before[0], len(SUBJECTS), 'counters: %d mails' % len(SUBJECTS))
    t.is_(before[1], sum(z for _, z in pop), 'counters: bytes as POP3 counts them')

    # remove one: into the dustbox, counters exact
    u0, z0 = pop[0]
    r = s.ctl('mailbox', 'alice', 'remove', u0, check=False)
    t.is_(r.returncode, 0, 'remove one exits 0') or t.diag(r.stderr)
    dust = os.path.join(s.home, 'dustbox', 'alice')
    t.ok(os.path.isdir(dust) and any(n.startswith(u0) for n in os.listdir(dust)),
         'the message is in the dustbox')
    t.is_(counters(s, 'alice'), (before[0] - 1, before[1] - z0, 1),
          'mails -1, bytes -size, deleted +1')

    # an unknown UIDL: error line, exit 1, the others still removed
    u1, z1 = pop[1]
    r = s.ctl('mailbox', 'alice', 'remove', 'no-such-uidl', u1, check=False)
    t.is_(r.returncode, 1, 'an unknown UIDL exits 1')
    t.like(r.stderr, r'^yubinctl: alice: no message with UIDL no-such-uidl$', 'naming it')
    t.ok(u1 not in [u for u, _ in pop_listing(s)], 'the known one was removed anyway')
    t.is_(counters(s, 'alice'), (before[0] - 2, before[1] - z0 - z1, 2), 'counters exact')
    r = s.ctl('mailbox', 'alice', 'remove', u0, check=False)
    t.is_(r.returncode, 1, 'a UIDL already removed is unknown now')

    # a POP3 session has the message listed when it is removed
    pop = pop_listing(s)
    p = s.pop3()
    p.user('alice')
    p.pass_('pw')
    n = len(p.list()[1])
    t.is_(n, len(pop), 'POP3 session lists %d messages' % n)
    (ua, za), (ub, zb) = pop[0], pop[1]
    r = s.ctl('mailbox', 'alice', 'remove', ua, check=False)
    t.is_(r.returncode, 0, 'removed while the session has it listed') or t.diag(r.stderr)
    try:
        p.retr(1)
        t.ok(False, 'RETR of the removed message fails')
    except Exception as e:
        t.like(str(e), r'-ERR message was removed', 'RETR of the removed message: clean -ERR')
    resp, body, _ = p.retr(2)
    t.ok(resp.startswith(b'+OK') and b'body' in b'\n'.join(body), 'the session goes on: RETR 2')
    t.ok(p.dele(1).startswith(b'+OK'), 'DELE of the removed message')
    t.ok(p.dele(2).startswith(b'+OK'), 'DELE of another')
    t.ok(p.quit().startswith(b'+OK'), 'QUIT +OK')
    t.is_(counters(s, 'alice'), (before[0] - 4, before[1] - z0 - z1 - za - zb, 4),
          'each removal counted once')
    t.is_(len(pop_listing(s)), len(SUBJECTS) - 4, 'what is left')

    # bad usage
    r = s.ctl('mailbox', 'nobody-here', 'messages', check=False)
    t.is_(r.returncode, 1, 'unknown account exits 1')
    t.like(r.stderr, r'no such account: nobody-here', 'saying so')
    r = s.ctl('mailbox', 'alice', 'remove', check=False)
    t.is_(r.returncode, 1, 'remove without a UIDL exits 1')
    r = s.ctl('mailbox', 'alice', 'messages', 'extra', check=False)
    t.is_(r.returncode, 1, 'messages with an extra argument exits 1')
    r = s.ctl('mailbox', '../etc', 'messages', check=False)
    t.is_(r.returncode, 1, 'a name that is no account name exits 1')

# without the dustbox the message is deleted
with Server(accounts={'alice': 'pw'}) as s:
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'], b'Subject: x\r\n\r\nx\r\n')
    t.ok(s.wait_mail('alice', 1), 'delivered')
    u = s.ctl('mailbox', 'alice', 'messages').stdout.split()[0]
    r = s.ctl('mailbox', 'alice', 'remove', u, check=False)
    t.is_(r.returncode, 0, 'removed') or t.diag(r.stderr)
    t.is_(s.mails('alice'), [], 'the Maildir is empty')
    dust = os.path.join(s.home, 'dustbox', 'alice')
    t.ok(not os.path.exists(dust) or not os.listdir(dust), 'nothing in the dustbox')
    t.is_(counters(s, 'alice'), (0, 0, 1), 'counters: 0 mails, 1 deleted')

t.done()
