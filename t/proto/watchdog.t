#!/usr/bin/env python3
# yubinctl start --watchdog [SECONDS] (F141, the seed's wmsresur): yubind
# killed is started again after SECONDS and serves; yubinctl stop ends it
# and the watch with it; SIGTERM to the watchdog stops both; bad SECONDS
# and a configuration error are refused without a restart loop.
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, binary, proc_alive, wait_until  # noqa: E402

t = TAP()


def pid_of(s):
    try:
        with open(os.path.join(s.home, 'run', 'yubind.pid')) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def serving(s, pid):
    """PID runs, wrote its ports, and SMTP answers there."""
    if not pid or not proc_alive(pid) or pid_of(s) != pid:
        return False
    ports = os.path.join(s.home, 'run', 'ports')
    if not os.path.exists(ports):
        return False
    s.ports = s.read_ports(ports)
    try:
        with s.smtp(timeout=5) as c:
            return c.noop()[0] == 250
    except Exception:
        return False


def watchdog(s, *args):
    err = open(os.path.join(s.tmp, 'watchdog.err'), 'w')
    return subprocess.Popen([binary('yubinctl'), '-c', s.conf_path, 'start', '--watchdog']
                            + list(args), stdout=err, stderr=err), err.name


s = Server(accounts={'alice': 'pw'}, tls=False, start=False)
try:
    wd, errpath = watchdog(s, '1')
    t.on_fail.append(lambda: t.diag(open(errpath).read()[-3000:]))
    t.ok(wait_until(lambda: serving(s, pid_of(s))), 'the watchdog starts yubind, which serves')
    first = pid_of(s)
    t.ok(proc_alive(wd.pid) and wd.poll() is None, 'the watchdog stays in the foreground')
    r = s.ctl('start', check=False)
    t.is_(r.returncode, 1, 'a second start is refused while it runs')

    os.kill(first, signal.SIGKILL)
    t.ok(wait_until(lambda: pid_of(s) != first and serving(s, pid_of(s)), timeout=30),
         'killed with SIGKILL, yubind is started again and serves')
    second = pid_of(s)
    t.ok(second != first, 'a new yubind (pid %d, was %d)' % (second, first))
    text = open(errpath).read()
    t.like(text, r'yubind \(pid %d\) ended abnormally \(killed by signal 9\); starting it '
           r'again in 1 s' % first, 'the watchdog says why it restarts')

    r = s.ctl('stop', check=False)
    t.is_(r.returncode, 0, 'yubinctl stop')
    try:
        code = wd.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    t.is_(code, 0, 'a clean stop ends the watch, exit 0')
    t.ok(not proc_alive(second), 'and yubind is gone')
    t.like(open(errpath).read(), r'watchdog: yubind stopped', 'said so')

    # SIGTERM to the watchdog stops yubind and the watch
    wd, errpath = watchdog(s)
    t.ok(wait_until(lambda: serving(s, pid_of(s))), 'started again under a watchdog (60 s)')
    third = pid_of(s)
    wd.send_signal(signal.SIGTERM)
    try:
        code = wd.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    t.is_(code, 0, 'SIGTERM to the watchdog: passed on, yubind stops, exit 0')
    t.ok(wait_until(lambda: not proc_alive(third)), 'yubind is gone')

    for bad in ('0', 'x', '99999999'):
        r = s.ctl('start', '--watchdog', bad, check=False)
        t.is_((r.returncode, r.stderr), (1, "yubinctl: --watchdog: SECONDS is 1 to 86400, not '%s'\n"
                                         % bad), '--watchdog %s refused' % bad)
    r = s.ctl('start', '--watchdog', '1', 'x', check=False)
    t.is_(r.returncode, 1, 'a stray argument refused')

    # a configuration yubind refuses (exit 1) is not started again and again
    s.write_conf(dict(s.sections, server=dict(s.sections['server'], plugins='relay quota nosuch')))
    r = subprocess.run([binary('yubinctl'), '-c', s.conf_path, 'start', '--watchdog', '1'],
                       capture_output=True, text=True, timeout=60)
    t.is_(r.returncode, 2, 'yubind exits 1 (a plugin it cannot load): the watchdog gives up, exit 2')
    t.like(r.stderr, r'ended \(exit status 1\); not started again', 'and says why')
    t.is_(r.stderr.count('yubind started'), 1, 'started once only')
finally:
    s.cleanup()
t.done()
