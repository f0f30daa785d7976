#!/usr/bin/env python3
# yubinctl stop|reload signal only the yubind that holds the pid file's
# lock: a pid file the server user rewrote (or replaced) to name an
# unrelated root process is refused with one line and exit 2, and the
# process lives; a stale pid file signals nothing; the real stop still
# works (Issue 12 item 13).
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from priv_lib import need_root, as_server
need_root()
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until  # noqa: E402

t = TAP()


def alive(proc):
    return proc.poll() is None


with Server(tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    run = os.path.join(s.home, 'run')
    pidfile = os.path.join(run, 'yubind.pid')
    with open(pidfile) as f:
        t.is_(f.read(), '%d\n' % s.pid, 'the pid file names the master')
    st = os.stat(pidfile)
    t.is_((st.st_uid, oct(st.st_mode & 0o777)), (0, '0o644'),
          'the pid file belongs to root, mode 0644')
    victim = subprocess.Popen(['sleep', '1000'])   # an unrelated root process
    try:
        # the server user replaces the pid file (HOME/run is its folder)
        fake = os.path.join(run, 'fake')
        as_server('sh', '-c', 'echo %d > %s && mv -f %s %s' % (victim.pid, fake, fake,
                                                               pidfile))
        r = s.ctl('stop', check=False)
        t.is_(r.returncode, 2, 'stop with a planted pid file exits 2')
        t.is_(len(r.stderr.splitlines()), 1, 'with one line on stderr')
        t.like(r.stderr, r'yubind\.pid.*not trusted', 'saying the pid file is not trusted')
        t.ok(alive(victim), 'the unrelated root process was not signalled')
        r = s.ctl('reload', check=False)
        t.is_(r.returncode, 2, 'reload refuses it too')
        t.ok(alive(victim), 'and signals nothing')
        t.ok(s.proc.poll() is None, 'yubind still runs')

        # a root-owned file naming the victim (as a stale pid file would):
        # no process holds its lock, so nothing is signalled
        os.unlink(pidfile)
        with open(pidfile, 'w') as f:
            f.write('%d\n' % victim.pid)
        r = s.ctl('stop', check=False)
        t.is_(r.returncode, 2, 'a stale pid file: stop exits 2')
        t.like(r.stderr, 'not running', 'saying yubind is not running')
        t.ok(alive(victim), 'and the process it names lives')
    finally:
        victim.kill()
        victim.wait()
    s.stop()

    # the real stop still works
    s.start()
    r = s.ctl('stop', check=False)
    t.is_(r.returncode, 0, 'yubinctl stop of the real yubind exits 0')
    t.ok(wait_until(lambda: s.proc.poll() is not None), 'and yubind stopped')
t.done()
