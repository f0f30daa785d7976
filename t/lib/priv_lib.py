# Helpers for the privilege tests (t/proto/priv_*.t): they run as root and
# act as the server user (nobody) the way a compromised worker or exec.def
# program would, then check that nothing outside HOME changed.
import os
import pwd
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from yubintest import binary  # noqa: E402

SERVER_USER = 'nobody'


def need_root():
    """Print the TAP skip plan and exit unless running as root."""
    if os.geteuid() != 0:
        print('1..0 # SKIP needs root (the server user must differ from root)')
        sys.exit(0)


def server_ids():
    pw = pwd.getpwnam(SERVER_USER)
    return pw.pw_uid, pw.pw_gid


def as_server(*argv, check=True):
    """Run ARGV as the server user (no shell unless ARGV asks for one)."""
    uid, gid = server_ids()

    def drop():
        os.setgroups([gid])
        os.setgid(gid)
        os.setuid(uid)
    r = subprocess.run(list(argv), preexec_fn=drop, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError('as %s: %s: exit %d: %s' % (SERVER_USER, ' '.join(argv),
                                                      r.returncode, r.stderr))
    return r


def root_folder(parent, name):
    """A folder only root may enter or write (the attack's target), outside HOME."""
    path = os.path.join(parent, name)
    os.mkdir(path)
    os.chown(path, 0, 0)
    os.chmod(path, 0o700)
    return path


def canary(folder, name='canary', text='canary: root owns this\n'):
    path = os.path.join(folder, name)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def snapshot(folder):
    """{name: (mode, uid, content)} of every entry of FOLDER."""
    out = {}
    for name in sorted(os.listdir(folder)):
        p = os.path.join(folder, name)
        st = os.lstat(p)
        data = b''
        if os.path.isfile(p) and not os.path.islink(p):
            with open(p, 'rb') as f:
                data = f.read()
        out[name] = (st.st_mode, st.st_uid, data)
    return out


def start_daemon(server, timeout=20):
    """Start yubind detached (no -f: the log goes to HOME/log/yubind.log);
    returns (exit status of the starter, stderr, master pid or None)."""
    ports = os.path.join(server.home, 'run', 'ports')
    pidfile = os.path.join(server.home, 'run', 'yubind.pid')
    for p in (ports, pidfile):
        if os.path.exists(p):
            os.unlink(p)
    r = subprocess.run([binary('yubind'), '-c', server.conf_path], env=server.env,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        return r.returncode, r.stderr, None
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(ports) and os.path.exists(pidfile):
            with open(pidfile) as f:
                txt = f.read().strip()
            if txt.isdigit():
                return 0, r.stderr, int(txt)
        time.sleep(0.02)
    return 0, r.stderr, None


def kill_daemon(pid, timeout=30):
    """SIGTERM the master PID and wait until it is gone."""
    if pid is None:
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, 9)
