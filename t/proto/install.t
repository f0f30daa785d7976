#!/usr/bin/env python3
# make install DESTDIR=... (F142 and the operations files): binaries,
# plugins, default configuration (an existing one kept), man pages that
# render, the systemd unit (Restart=on-failure), the sysvinit script and
# the logrotate rules, all under DESTDIR.
import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import TAP, TOP, BUILD  # noqa: E402

t = TAP()
dest = tempfile.mkdtemp(prefix='yubin-install-')
# the logrotate rules' "su": a user and group that exist here
USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def install():
    return subprocess.run(['make', '-s', '-C', TOP, 'B=' + BUILD, 'DESTDIR=' + dest,
                           'YUBIN_HOME=/srv/yubin-home', 'YUBIN_USER=' + USER,
                           'YUBIN_GROUP=' + GROUP, 'install'],
                          capture_output=True, text=True)


def find(name, under=None):
    """Paths under DEST ending in /NAME."""
    out = []
    for root, _, files in os.walk(under or dest):
        for f in files:
            p = os.path.join(root, f)
            if p.endswith('/' + name):
                out.append(p)
    return sorted(out)


def one(name):
    got = find(name)
    return got[0] if len(got) == 1 else None


try:
    r = install()
    t.is_(r.returncode, 0, 'make install DESTDIR=... exits 0')
    if r.returncode:
        t.diag(r.stdout[-2000:] + r.stderr[-2000:])
    for prog in ('sbin/yubind', 'sbin/yubinctl', 'bin/yubin-sendmail'):
        p = one(prog)
        t.ok(p and os.access(p, os.X_OK), '%s installed, executable' % prog)
    t.ok(one('relay.so') and one('quota.so'), 'plugins installed')
    conf = one('yubin.conf')
    t.ok(conf, 'default yubin.conf installed')
    for n in ('effect.dat', 'mail.dat', 'gateway.dat', 'header.dat', 'alias.dat'):
        t.ok(one(n) and os.path.dirname(one(n)) == os.path.dirname(conf), '%s beside it' % n)

    unit = one('yubind.service')
    text = open(unit).read() if unit else ''
    t.like(text, r'(?m)^Restart=on-failure$', 'systemd unit restarts yubind after an abnormal end')
    t.like(text, r'(?m)^ExecStart=\S*/sbin/yubind -f -c \S+/yubin\.conf$', 'unit runs yubind -f')
    sysv = one('init.d/yubind')
    t.ok(sysv and os.access(sysv, os.X_OK), 'sysvinit script installed, executable')
    t.is_(subprocess.run(['sh', '-n', sysv or '/nonexistent']).returncode, 0, 'it parses (sh -n)')

    lr = one('logrotate.d/yubin')
    text = open(lr).read() if lr else ''
    t.like(text, r'(?m)^/srv/yubin-home/log/\*\.log \{', 'logrotate rotates HOME/log/*.log')
    t.like(text, r'kill -USR1', 'postrotate sends SIGUSR1')
    t.ok('@YUBIN_' not in text, 'every placeholder filled')
    if shutil.which('logrotate'):
        st = os.path.join(dest, 'logrotate.state')
        r = subprocess.run(['logrotate', '-d', '-s', st, lr], capture_output=True, text=True)
        t.ok('error: ' + lr not in r.stderr and 'bad' not in r.stderr.lower(),
             'logrotate -d reads the rules')
        if 'error' in r.stderr:
            t.diag(r.stderr[-1500:])
    else:
        t.ok(True, '# SKIP logrotate not installed')

    pages = {'yubind.8': 'yubind', 'yubinctl.8': 'yubinctl', 'yubin-sendmail.8': 'yubin-sendmail',
             'yubin.conf.5': 'yubin.conf'}
    for page, name in pages.items():
        p = one(page)
        t.ok(p and ('/man8/' in p or '/man5/' in p), 'man page %s installed' % page)
        if not p:
            continue
        w = subprocess.run(['groff', '-man', '-Tutf8', '-ww', '-z', p],
                           capture_output=True, text=True)
        t.is_(w.stderr, '', '%s: groff gives no warning' % page)
        if shutil.which('man'):
            r = subprocess.run(['man', '-l', p], capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH='80', MANPAGER='cat', PAGER='cat'))
            t.ok(r.returncode == 0 and 'NAME' in r.stdout and name in r.stdout,
                 '%s: man -l renders it' % page)
        else:
            t.ok(True, '# SKIP man not installed')

    # a second install keeps the administrator's configuration and rules
    with open(conf, 'w') as f:
        f.write('# mine\n')
    lrmine = lr and open(lr, 'a')
    if lrmine:
        lrmine.write('# mine too\n')
        lrmine.close()
    r = install()
    t.is_(r.returncode, 0, 'make install again exits 0')
    t.is_(open(conf).read(), '# mine\n', 'an existing yubin.conf is never overwritten')
    t.ok(lr and open(lr).read().endswith('# mine too\n'), 'nor existing logrotate rules')
    mode = stat.S_IMODE(os.stat(one('sbin/yubinctl')).st_mode)
    t.is_(mode, 0o755, 'yubinctl mode 0755')
finally:
    shutil.rmtree(dest, ignore_errors=True)
t.done()
