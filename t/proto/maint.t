#!/usr/bin/env python3
# yubinctl maint (F130, the seed's wmsmnt): the dustbox and dead mail are
# emptied, rotated logs older than 30 days go, orphan queue files older
# than the grace go while a queued message (with its envelope) stays;
# --dry-run removes nothing; --older-than limits every kind; a symbolic
# link in the dustbox is neither followed nor removed, and its target
# survives; bad options exit 1.  server.maint_interval runs the same purge
# inside yubind.
import os
import pwd
import re
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, binary, send_authed, wait_until  # noqa: E402

t = TAP()
DAY = 86400


def owner(s):
    """The uid/gid the server runs as (nobody when the tests run as root)."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam(s.sections['server'].get('user', 'nobody'))
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


def put(s, path, data=b'x', age=0, mode=0o600):
    """Write PATH (parents made) as the server user, AGE seconds old."""
    uid, gid = owner(s)
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d, 0o700)
        os.chown(d, uid, gid)
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)
    os.chown(path, uid, gid)
    if age:
        then = time.time() - age
        os.utime(path, (then, then))


def counts(out):
    """{'dustbox': (files, bytes), ...} from maint's output."""
    r = {}
    for m in re.finditer(r'(?m)^(\w+): (\d+) files?, (\d+) bytes', out):
        r[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return r


with Sink(rcpt=(451, '4.3.0 try later')) as sink:
    gw = 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port
    with Server(accounts={'alice': 'pw'}, files={'gateway.dat': gw}) as s:
        home = s.home
        dust = os.path.join(home, 'dustbox')
        dead = os.path.join(home, 'deadmail')
        logd = os.path.join(home, 'log')
        qdir = os.path.join(home, 'queue')
        outside = os.path.join(s.tmp, 'outside')
        os.mkdir(outside)
        secret = os.path.join(outside, 'secret')
        with open(secret, 'w') as f:
            f.write('keep me\n')

        # a queued message with its envelope: deferred by the sink, its
        # file made old; maint never takes it.  (The queue manager has
        # swept orphans by the time it tries a message: the files below
        # are made after that.)
        send_authed(s, 'alice@localhost', ['bob@remote.test'],
                    b'Subject: stays\r\n\r\nqueued\r\n')
        t.ok(wait_until(lambda: 'deferred' in s.log()), 'a message is deferred in the queue')
        queued = [n for n in s.queue_files()
                  if re.match(r'^[0-9A-F]{16}$', n) and not n.startswith('AAAAAAAA')]
        t.is_(len(queued), 1, 'its queue file is there')
        for n in queued:
            os.utime(os.path.join(qdir, n), (time.time() - 2 * DAY,) * 2)

        put(s, os.path.join(dust, 'alice', 'm1'), b'a' * 10)
        put(s, os.path.join(dust, 'alice', 'm2'), b'b' * 20, age=3 * DAY)
        os.symlink(secret, os.path.join(dust, 'alice', 'link-file'))
        os.symlink(outside, os.path.join(dust, 'link-dir'))
        put(s, os.path.join(dead, '0123456789ABCDEF'), b'c' * 5)
        put(s, os.path.join(dead, '0123456789ABCDEF.env'), b'd' * 7, age=3 * DAY)
        put(s, os.path.join(logd, 'yubind.log'), b'current', age=40 * DAY)
        put(s, os.path.join(logd, 'yubind.log.1'), b'e' * 11, age=40 * DAY)
        put(s, os.path.join(logd, 'yubind.log.2.gz'), b'f' * 13, age=41 * DAY)
        put(s, os.path.join(logd, 'yubind.log.3'), b'g', age=2 * DAY)
        put(s, os.path.join(qdir, 'AAAAAAAA00000001'), b'h' * 17, age=2 * 3600)
        put(s, os.path.join(qdir, 'AAAAAAAA00000002'), b'i' * 19)

        # dry run: counted, nothing removed
        r = s.ctl('maint', '--dry-run', check=False)
        t.is_(r.returncode, 0, 'maint --dry-run exits 0') or t.diag(r.stderr)
        c = counts(r.stdout)
        t.is_(c.get('dustbox'), (2, 30), 'dry run: dustbox 2 files, 30 bytes')
        t.is_(c.get('deadmail'), (2, 12), 'dry run: deadmail 2 files, 12 bytes')
        t.is_(c.get('queue'), (1, 17), 'dry run: one orphan queue file')
        t.is_(c.get('logs'), (2, 24), 'dry run: two rotated logs older than 30 days')
        t.like(r.stdout, r'would be removed', 'dry run says "would be removed"')
        t.ok(os.path.exists(os.path.join(dust, 'alice', 'm1')) and
             os.path.exists(os.path.join(logd, 'yubind.log.1')) and
             os.path.exists(os.path.join(qdir, 'AAAAAAAA00000001')),
             'dry run removed nothing')

        # --older-than: only what is that old
        r = s.ctl('maint', '--older-than', '2d', check=False)
        t.is_(r.returncode, 0, 'maint --older-than 2d exits 0') or t.diag(r.stderr)
        c = counts(r.stdout)
        t.is_(c.get('dustbox'), (1, 20), '--older-than 2d: the old dustbox file')
        t.is_(c.get('deadmail'), (1, 7), '--older-than 2d: the old deadmail file')
        t.is_(c.get('logs'), (3, 25), '--older-than 2d: every rotated log 2 days or older')
        t.is_(c.get('queue'), (0, 0), '--older-than 2d: the orphan of 2 hours stays')
        t.ok(not os.path.exists(os.path.join(dust, 'alice', 'm2')), 'old dustbox file gone')
        t.ok(os.path.exists(os.path.join(dust, 'alice', 'm1')), 'new dustbox file kept')
        t.ok(os.path.exists(os.path.join(logd, 'yubind.log')), 'the current log is never touched')

        # the default purge
        r = s.ctl('maint', check=False)
        t.is_(r.returncode, 0, 'maint exits 0') or t.diag(r.stderr)
        c = counts(r.stdout)
        t.is_(c.get('dustbox'), (1, 10), 'dustbox emptied')
        t.is_(c.get('deadmail'), (1, 5), 'deadmail emptied')
        t.is_(c.get('queue'), (1, 17), 'the old orphan queue file removed')
        t.like(r.stdout, r'(?m)^logs: 0 files, 0 bytes removed$', 'one line per kind')
        t.ok(not os.path.exists(os.path.join(dust, 'alice', 'm1')), 'dustbox file gone')
        t.ok(not os.listdir(dead), 'deadmail is empty')
        t.ok(not os.path.exists(os.path.join(qdir, 'AAAAAAAA00000001')), 'orphan gone')
        t.ok(os.path.exists(os.path.join(qdir, 'AAAAAAAA00000002')),
             'a young orphan stays (it may be a message arriving)')
        t.ok(all(os.path.exists(os.path.join(qdir, n)) for n in queued),
             'a queued message with its envelope stays, however old')
        t.ok(os.path.islink(os.path.join(dust, 'alice', 'link-file')),
             'a link in the dustbox is not removed')
        t.ok(os.path.islink(os.path.join(dust, 'link-dir')), 'nor a link to a folder')
        t.ok(os.path.exists(secret), 'and the target outside survives')
        t.ok('secret' in os.listdir(outside), 'the folder a link points to is not entered')

        # bad usage
        r = s.ctl('maint', '--older-than', 'soon', check=False)
        t.is_(r.returncode, 1, 'a bad duration exits 1')
        t.like(r.stderr, r'^yubinctl: --older-than: expected a duration', 'saying why')
        r = s.ctl('maint', '--older-than', check=False)
        t.is_(r.returncode, 1, '--older-than without a value exits 1')
        r = s.ctl('maint', '--now', check=False)
        t.is_(r.returncode, 1, 'an unknown option exits 1')
        t.like(r.stderr, r'usage: maint', 'with the usage')

# server.maint_interval: yubind purges on its own
with Server(conf={'server': {'maint_interval': '1s'}}) as s:
    f = os.path.join(s.home, 'dustbox', 'old')
    put(s, f, b'z' * 3)
    t.ok(wait_until(lambda: not os.path.exists(f), timeout=30),
         'maint_interval: yubind emptied the dustbox')
    t.ok(s.wait_log(r'maint: removed dustbox files=1 bytes=3'), 'and logged it')

# server.dustbox_path: the purge goes where the dustbox is
s = Server(start=False)
sec = s.sections
elsewhere = os.path.join(s.tmp, 'dust-elsewhere')
sec['server']['dustbox_path'] = elsewhere
s.write_conf(sec)
s.ctl('setup')
put(s, os.path.join(elsewhere, 'alice', 'm'), b'q' * 4)
put(s, os.path.join(s.home, 'dustbox', 'alice', 'm'), b'q' * 8)
r = s.ctl('maint', check=False)
t.is_(counts(r.stdout).get('dustbox'), (1, 4), 'dustbox_path: that folder is purged')
t.ok(not os.path.exists(os.path.join(elsewhere, 'alice', 'm')), 'its file is gone')
s.cleanup()

# the key is checked like every duration
s = Server(start=False)
sec = s.sections
sec['server']['maint_interval'] = 'daily'
s.write_conf(sec)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
t.is_(r.returncode, 1, 'a bad maint_interval is a configuration error')
t.like(r.stderr, r'yubin\.conf:\d+: .*maint_interval.*expected a duration', 'with file:line')
s.cleanup()

t.done()
