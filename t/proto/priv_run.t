#!/usr/bin/env python3
# Files root writes in HOME/run (plugins on every SIGHUP, ports, the pid
# file, the local socket) go through the checked folder descriptor with a
# random O_EXCL|O_NOFOLLOW scratch name: links the server user plants for
# the old predictable scratch name (NAME.tmp.PID) or for the file itself
# never make root truncate or write a file outside HOME (Issue 12 item 11;
# the local socket's mode without chmod by path: item 14).
import os
import signal
import stat
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from priv_lib import need_root, as_server, root_folder, canary, snapshot
need_root()
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until  # noqa: E402

t = TAP()
with Server(tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    run = os.path.join(s.home, 'run')
    outside = root_folder(s.tmp, 'outside')
    can = canary(outside)
    before = snapshot(outside)

    sock = os.lstat(os.path.join(run, 'submit.sock'))
    t.ok(stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o666,
         'the local socket is mode 0666')
    t.is_(oct(stat.S_IMODE(os.stat(run).st_mode)), '0o751', 'HOME/run is 0751')

    # links for the scratch names an old master would use, and for the
    # files themselves
    for name in ('plugins', 'ports', 'yubind.pid'):
        as_server('ln', '-s', can, os.path.join(run, '%s.tmp.%d' % (name, s.pid)))
    as_server('ln', '-sf', can, os.path.join(run, 'plugins'))
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log('reloaded configuration'), 'yubind reloaded')
    t.ok(wait_until(lambda: not os.path.islink(os.path.join(run, 'plugins'))),
         'run/plugins was replaced by a regular file')
    t.is_(snapshot(outside), before, 'the root file outside HOME is unchanged')
    st = os.lstat(os.path.join(run, 'plugins'))
    t.is_((stat.S_ISREG(st.st_mode), st.st_uid), (True, 0), 'run/plugins is root\'s own file')
    leftovers = [n for n in os.listdir(run) if '.tmp.' in n and not os.path.islink(
        os.path.join(run, n))]
    t.is_(leftovers, [], 'no scratch file is left behind')
t.done()
