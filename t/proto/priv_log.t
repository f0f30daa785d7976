#!/usr/bin/env python3
# The log file HOME/log/yubind.log is opened by the master as root in a
# folder the server user owns: a link, FIFO or foreign file the server user
# plants there is refused, at start and at reopen (SIGUSR1), and nothing
# outside HOME is created or changed (Issue 12 item 10).
import os
import signal
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from priv_lib import (need_root, as_server, root_folder, canary, snapshot,
                      start_daemon, kill_daemon, server_ids)
need_root()
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until  # noqa: E402

t = TAP()
with Server(conf={'server': {'log': 'file'}}, tls=False, start=False) as s:
    logdir = os.path.join(s.home, 'log')
    log = os.path.join(logdir, 'yubind.log')
    outside = root_folder(s.tmp, 'outside')
    can = canary(outside)
    before = snapshot(outside)
    pid = None

    # 1. a link to a file root would create (/etc/ld.so.preload's place)
    as_server('ln', '-s', os.path.join(outside, 'ld.so.preload'), log)
    rc, err, pid = start_daemon(s)
    kill_daemon(pid)
    t.ok(not os.path.exists(os.path.join(outside, 'ld.so.preload')),
         'a planted link to a new file: root creates nothing outside HOME')
    t.is_(rc, 2, 'yubind refuses to start on a linked log file')
    t.like(err, r'yubind\.log: Too many levels of symbolic links', 'and says why')
    os.unlink(log)

    # 2. a link to an existing root file
    as_server('ln', '-s', can, log)
    rc, err, pid = start_daemon(s)
    kill_daemon(pid)
    t.is_(snapshot(outside), before, 'a link to a root file: the file is unchanged')
    t.is_(rc, 2, 'and yubind refuses to start')
    os.unlink(log)

    # 3. a FIFO: never blocks the start, refused
    as_server('mkfifo', log)
    try:
        rc, err, pid = start_daemon(s, timeout=20)
    except Exception as e:  # a hang shows as a timeout
        rc, err, pid = -1, str(e), None
    kill_daemon(pid)
    t.is_(rc, 2, 'a FIFO as the log file is refused, without hanging')
    os.unlink(log)

    # 4. a clean start creates the file for the server user
    rc, err, pid = start_daemon(s)
    t.is_(rc, 0, 'a clean log folder: yubind starts')
    st = os.lstat(log)
    t.is_((st.st_uid, oct(st.st_mode & 0o7777)), (server_ids()[0], '0o640'),
          'the new log file belongs to the server user, mode 0640')

    # 5. at reopen (SIGUSR1) the file is a planted link
    as_server('mv', log, log + '.moved')
    # a busy child may recreate yubind.log right after the mv: plant the
    # link by a rename over whatever is there
    as_server('ln', '-s', os.path.join(outside, 'reopened'), log + '.new')
    as_server('mv', '-fT', log + '.new', log)
    os.kill(pid, signal.SIGUSR1)
    time.sleep(0.2)
    os.kill(pid, signal.SIGHUP)   # the master logs the reload as root

    def logged():
        for p in (log + '.moved', os.path.join(outside, 'reopened')):
            try:
                with open(p) as f:
                    if 'reloaded configuration' in f.read():
                        return True
            except OSError:
                pass
        return False
    t.ok(wait_until(logged), 'the master logged the reload')
    t.ok(not os.path.exists(os.path.join(outside, 'reopened')),
         'reopen through a planted link: root creates nothing outside HOME')
    with open(log + '.moved') as f:
        t.like(f.read(), 'reloaded configuration',
               'the master keeps writing to the file it had')
    kill_daemon(pid)
    t.is_(snapshot(outside), before, 'the root-only folder outside HOME is unchanged')

    # 6. rotation past log_size_max, with yubind.log.1 planted as a link
    for p in (log, log + '.moved'):
        os.unlink(p)
    s.sections['server']['log_size_max'] = '300'
    s.write_conf(s.sections)
    as_server('ln', '-s', can, log + '.1')
    rc, err, pid = start_daemon(s)
    t.is_(rc, 0, 'yubind starts with a small log_size_max')
    os.kill(pid, signal.SIGHUP)
    t.ok(wait_until(lambda: not os.path.islink(log + '.1')), 'the log was rotated')
    kill_daemon(pid)
    t.is_(snapshot(outside), before, 'rotation over a planted link leaves the root file alone')
    for p in (log, log + '.1'):
        st = os.lstat(p)
        t.ok(os.path.isfile(p) and not os.path.islink(p) and st.st_uid == server_ids()[0],
             '%s is a regular file of the server user' % os.path.basename(p))
t.done()
