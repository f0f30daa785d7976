#!/usr/bin/env python3
"""POP3 UPDATE state: DELE takes effect only at QUIT (files removed, or moved
to HOME/dustbox/NAME/ with pop3.dustbox on), RSET and a dropped connection
keep everything, deleted messages cannot be used, UIDL is stable across a
daemon restart, and an idle session times out without UPDATE."""

import os
import poplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, Pop, conf, files, put  # noqa: E402

t = TAP()


def fill(s, n=3):
    names = []
    for i in range(n):
        p = put(s, 'alice', '17000000%02d.0.host,S={S},W={W}' % i,
                b'Subject: m%d\n\nbody %d\n' % (i, i))
        names.append(os.path.basename(p))
    return names


with Server(conf=conf({'pop3': {'timeout': '2'}}), accounts={'alice': 'pw-alice'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    names = fill(s)

    # DELE then RSET then QUIT: nothing removed
    c = s.pop3()
    c.user('alice')
    c.pass_('pw-alice')
    c.dele(1)
    c.dele(3)
    t.is_(c.stat()[0], 1, 'STAT after two DELE counts one')
    for cmd in (lambda: c.retr(1), lambda: c.dele(1), lambda: c.list(3),
                lambda: c.uidl(1), lambda: c.top(3, 0)):
        try:
            cmd()
            t.ok(False, 'deleted message refused')
        except poplib.error_proto as e:
            t.is_(e.args[0], b'-ERR no such message', 'deleted message refused')
    resp, lines, _ = c.list()
    t.is_([l.split()[0] for l in lines], [b'2'], 'LIST skips deleted messages')
    resp, lines, _ = c.uidl()
    t.is_([l.split()[0] for l in lines], [b'2'], 'UIDL skips deleted messages')
    t.like(c.rset().decode(), r'^\+OK maildrop has 3 messages', 'RSET undeletes')
    t.is_(c.stat()[0], 3, 'three again')
    c.quit()
    t.is_(files(s, 'alice'), names, 'DELE + RSET + QUIT: all files kept')

    # DELE then dropped connection: nothing removed
    p = Pop(s)
    p.login('alice', 'pw-alice')
    t.like(p.cmd('DELE 1'), r'^\+OK', 'DELE 1')
    t.like(p.cmd('DELE 2'), r'^\+OK', 'DELE 2')
    p.close()
    # wait until the server noticed (the mailbox lock is free again)
    t.ok(s.wait_log(r'pop3 disconnect .*reason="lost connection"'), 'server saw the drop')
    t.is_(files(s, 'alice'), names, 'DELE + dropped connection: all files kept')

    # DELE then idle timeout: nothing removed
    p = Pop(s)
    p.login('alice', 'pw-alice')
    p.cmd('DELE 1')
    p.sock.settimeout(10)
    t.like(p.line(), r'^-ERR autologout', 'idle session times out with -ERR')
    t.ok(p.closed(), 'and is closed')
    p.close()
    t.is_(files(s, 'alice'), names, 'DELE + timeout: all files kept')

    # UIDL stable across a restart
    c = s.pop3()
    c.user('alice')
    c.pass_('pw-alice')
    before = c.uidl()[1]
    c.quit()
    s.stop()
    s.start()
    c = s.pop3()
    c.user('alice')
    c.pass_('pw-alice')
    t.is_(c.uidl()[1], before, 'UIDL identical after a daemon restart')

    # DELE then QUIT: removed, durably, before +OK
    c.dele(2)
    t.like(c.quit().decode(), r'^\+OK', 'QUIT after DELE 2: +OK')
    t.is_(files(s, 'alice'), [names[0], names[2]], 'message 2 removed')
    t.ok(not os.path.exists(os.path.join(s.home, 'dustbox', 'alice', names[1])),
         'dustbox off: not kept there')
    t.ok(s.wait_log(r'pop3 quit user=alice retr=0 dele=1 left=2'), 'quit logged with counts')

    # the message numbers follow the new listing
    c = s.pop3()
    c.user('alice')
    c.pass_('pw-alice')
    t.is_([l.split()[1].decode() for l in c.uidl()[1]], [names[0], names[2]],
          'new session lists the remaining two')
    c.quit()

    # a removal that fails: -ERR [SYS/TEMP], the file stays
    new = os.path.join(s.maildir('alice'), 'new')
    os.chmod(new, 0o500)
    try:
        c = s.pop3()
        c.user('alice')
        c.pass_('pw-alice')
        c.dele(1)
        try:
            r = c.quit()
        except poplib.error_proto as e:
            r = e.args[0]
        t.like(r.decode(), r'^-ERR \[SYS/TEMP\] ', 'failed removal: -ERR [SYS/TEMP]')
    finally:
        os.chmod(new, 0o700)
    t.is_(files(s, 'alice'), [names[0], names[2]], 'and the file is still there')
    log_clean(t, s)

with Server(conf=conf({'pop3': {'dustbox': '1', 'uidl_interval': '20'}}),
            accounts={'alice': 'pw-alice'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    names = fill(s)
    put(s, 'alice', '1800000000.0.host,S=5,W=6:2,S', b'cur\n', sub='cur')
    before = {}
    for n in names:
        with open(os.path.join(s.maildir('alice'), 'new', n), 'rb') as f:
            before[n] = f.read()
    c = s.pop3()
    c.user('alice')
    c.pass_('pw-alice')
    t.is_(c.stat()[0], 4, 'new/ and cur/ listed')
    t.is_([l.split()[1].decode() for l in c.uidl()[1]],
          names + ['1800000000.0.host,S=5,W=6'],
          'UIDL with uidl_interval set; the cur/ uid stops at ":"')
    c.dele(1)
    c.dele(3)
    c.dele(4)
    t.like(c.quit().decode(), r'^\+OK', 'QUIT with dustbox on')
    t.is_(files(s, 'alice'), [names[1]], 'deleted messages left new/')
    t.is_(files(s, 'alice', 'cur'), [], 'and cur/')
    dust = os.path.join(s.home, 'dustbox', 'alice')
    got = sorted(os.listdir(dust)) if os.path.isdir(dust) else []
    t.is_(got, sorted([names[0], names[2], '1800000000.0.host,S=5,W=6:2,S']),
          'they are in HOME/dustbox/alice/ under their names')
    for n in (names[0], names[2]):
        p = os.path.join(dust, n)
        with open(p, 'rb') as f:
            t.is_(f.read(), before[n], 'dustbox copy of %s unchanged' % n)
    log_clean(t, s)
t.done()
