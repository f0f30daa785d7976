#!/usr/bin/env python3
# yubind start-up: -t, exit codes, the ports file, yubinctl start/stop/status,
# privilege drop, init files.
import os
import re
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, binary, TOP, wait_until

t = TAP()

s = Server(start=False)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
t.is_(r.returncode, 0, '-t on a good configuration exits 0')
t.like(r.stdout, 'configuration ok', '-t says so')

with open(s.conf_path, 'a') as f:
    f.write('[smtp]\nmax_recipents = 5\n')
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
t.is_(r.returncode, 1, '-t on a bad configuration exits 1')
t.like(r.stderr, re.escape(s.conf_path) + r':\d+: .*max_recipents.*did you mean', '-t names file:line and suggests')
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-f'], capture_output=True, text=True,
                   timeout=30)
t.is_(r.returncode, 1, 'a bad configuration stops start-up with status 1')

r = subprocess.run([binary('yubind'), '-c', '/nonexistent/yubin.conf', '-t'], capture_output=True,
                   text=True)
t.is_(r.returncode, 1, 'a missing configuration file is an error')

r = subprocess.run([binary('yubind'), '-x'], capture_output=True, text=True)
t.is_(r.returncode, 1, 'bad usage exits 1')
s.cleanup()

if os.geteuid() == 0:
    s = Server(start=False)
    s.sections['server']['user'] = 'no-such-user-here'
    s.write_conf(s.sections)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-f'], capture_output=True,
                       text=True, timeout=30)
    t.is_(r.returncode, 1, 'unknown server.user exits 1')
    t.like(r.stderr, 'no such user', 'and says why')
    s.cleanup()

# -D overrides reach the daemon; ports file lists every listener
with Server(accounts={'alice': 'pw'}) as s:
    names = set(s.ports)
    t.ok({'smtp', 'submission', 'smtps', 'pop3', 'pop3s'} <= names, 'ports file lists all listeners')
    with open(os.path.join(s.home, 'run', 'ports')) as f:
        text = f.read()
    t.ok(all(re.match(r'^(smtp|submission|smtps|pop3|pop3s) 127\.0\.0\.1:\d+$', l)
             for l in text.splitlines()), 'ports lines are "name addr:port"')
    t.ok(all(p[1] != 0 for p in s.ports.values()), 'port 0 became real ports')
    r = s.ctl('status', check=False)
    t.is_(r.returncode, 0, 'yubinctl status: running')
    t.like(r.stdout, r'running pid %d' % s.pid, 'status shows the master pid')
    if os.geteuid() == 0:
        kids = wait_until(lambda: s.children('smtp'))

        def uids():
            found = set()
            for p in s.children():
                try:
                    with open('/proc/%d/status' % p) as f:
                        for line in f:
                            if line.startswith('Uid:'):
                                found.add(line.split()[1])
                except OSError:
                    pass        # exited meanwhile
            return found
        # a child forked a moment ago is still root until its priv_drop();
        # once the pool has settled none is
        t.ok(kids and wait_until(lambda: '0' not in uids()), 'every child runs without root')
    r = s.ctl('stop', check=False)
    t.is_(r.returncode, 0, 'yubinctl stop')
    t.is_(s.proc.wait(30), 0, 'graceful stop exits 0')
    r = s.ctl('status', check=False)
    t.is_(r.returncode, 2, 'status after stop: not running')

# yubinctl start daemonises and writes the pidfile
s = Server(start=False)
r = s.ctl('start', check=False)
t.is_(r.returncode, 0, 'yubinctl start')
pidfile = os.path.join(s.home, 'run', 'yubind.pid')
t.ok(wait_until(lambda: os.path.exists(pidfile)), 'pidfile written')
r = s.ctl('start', check=False)
t.is_(r.returncode, 1, 'second start refused')
r = s.ctl('reload', check=False)
t.is_(r.returncode, 0, 'reload')
r = s.ctl('stop', '-f', check=False)
t.is_(r.returncode, 0, 'fast stop')
s.cleanup()

# init files
r = subprocess.run(['sh', '-n', os.path.join(TOP, 'etc', 'init', 'yubind.sysv')])
t.is_(r.returncode, 0, 'sysvinit script parses (sh -n)')
unit = open(os.path.join(TOP, 'etc', 'init', 'yubind.service')).read()
t.ok(re.search(r'^ExecStart=\S*yubind -f', unit, re.M), 'systemd unit runs yubind -f')
t.ok(re.search(r'^ExecReload=.*-HUP', unit, re.M), 'systemd unit reloads with SIGHUP')
if shutil.which('systemd-analyze'):
    r = subprocess.run(['systemd-analyze', 'verify', os.path.join(TOP, 'etc', 'init', 'yubind.service')],
                       capture_output=True, text=True)
    t.ok('error' not in r.stderr.lower() or 'yubind' in r.stderr, 'systemd-analyze verify')

t.done()
