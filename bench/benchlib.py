"""benchlib - shared helpers of yubin's benchmark scripts (bench/).

Python 3 standard library only.  The scripts run as root on Debian 12 and
compare yubind with a private Postfix or Dovecot instance on loopback; this
module holds what both need:

  * require_root, apt_install        -- preconditions
  * free_port, wait_banner           -- loopback ports
  * Cleanup                          -- every process and folder we made goes
                                        away on exit, SIGINT, SIGTERM, SIGHUP
  * tree_pids, tree_cpu              -- CPU seconds of a whole process tree
  * PssSampler                       -- peak PSS of a whole process tree
  * SyncTracer                       -- fsync/fdatasync calls of a tree (perf)
  * Profiler                         -- optional perf profile of a tree
  * count_maildir                    -- messages in Maildir new/ + cur/
  * Table                            -- the printed result table

How the CPU of a tree is measured: /proc/PID/stat of every live process of
the tree gives utime+stime (itself) and cutime+cstime (its children that it
has already reaped, and theirs).  The sum over the live tree is therefore the
whole CPU the tree has ever used, short-lived children included, as long as
each process reaps its children (every server here does).  The figure is the
difference of two such sums, one before the load starts and one after it
ends.  Kernel work done outside the tree (journal commits in jbd2, softirqs
charged elsewhere) is not in it.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')


def say(*args):
    print(*args, flush=True)


def warn(*args):
    print('bench:', *args, file=sys.stderr, flush=True)


def die(msg, status=2):
    warn(msg)
    sys.exit(status)


# --------------------------------------------------------------- preconditions
def require_root():
    if os.geteuid() != 0:
        die('must run as root: it installs packages, starts private Postfix/Dovecot '
            'instances and yubind, and chowns mail folders (try: sudo %s)' % sys.argv[0])


def apt_install(packages, preseed=None):
    """Install the Debian PACKAGES that are missing (one apt-get call).

    preseed: debconf lines ("pkg question type value") set before installing.
    Services are never configured or started by us: the scripts use private
    instances only.
    """
    missing = []
    for p in packages:
        r = subprocess.run(['dpkg-query', '-W', '-f=${Status}', p],
                           capture_output=True, text=True)
        if r.returncode != 0 or 'install ok installed' not in r.stdout:
            missing.append(p)
    if not missing:
        return
    say('installing %s ...' % ' '.join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    if preseed:
        subprocess.run(['debconf-set-selections'], input='\n'.join(preseed) + '\n',
                       text=True, check=True)
    cmd = ['apt-get', 'install', '-y', '-q', '-o', 'Dpkg::Options::=--force-confold'] + missing
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        # a fresh container often has no package lists yet
        subprocess.run(['apt-get', 'update', '-q'], env=env, stdout=subprocess.DEVNULL)
        r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0:
            die('apt-get install %s failed:\n%s' % (' '.join(missing), r.stderr))


def have_perf():
    """True when perf(1) can count syscall tracepoints system-wide here."""
    if shutil.which('perf') is None:
        return False
    r = subprocess.run(['perf', 'stat', '-x,', '-e', 'syscalls:sys_enter_fsync', '-a',
                        '--', 'true'], capture_output=True, text=True)
    return r.returncode == 0


# --------------------------------------------------------------------- ports
def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_banner(port, prefix, timeout=30.0, alive=None, host='127.0.0.1'):
    """Wait until HOST:PORT accepts and greets with PREFIX (b'220', b'+OK').

    alive: optional callable; when it returns False we stop waiting at once
    (the server died).  Returns True when greeted, False on timeout.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.settimeout(5)
                line = s.recv(512)
                if line.startswith(prefix):
                    try:
                        s.sendall(b'QUIT\r\n')
                        s.recv(512)
                    except OSError:
                        pass
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


# ------------------------------------------------------------------- cleanup
class Cleanup:
    """Run registered undo actions (last first) exactly once: at normal exit,
    on an exception, and on SIGINT/SIGTERM/SIGHUP."""

    def __init__(self):
        self.actions = []
        self.done = False
        atexit.register(self.run)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._signal)

    def _signal(self, signum, frame):
        if self.done:           # already cleaning up: let that finish
            return
        warn('signal %d: cleaning up' % signum)
        self.run()
        os._exit(128 + signum)

    def add(self, fn, *args):
        self.actions.append((fn, args))

    def run(self):
        if self.done:
            return
        self.done = True
        while self.actions:
            fn, args = self.actions.pop()
            try:
                fn(*args)
            except Exception as e:          # keep undoing the rest
                warn('cleanup: %r' % (e,))


def make_tmp(cleanup, prefix, keep=False):
    """A temporary folder, 0755 so that unprivileged server users (nobody,
    postfix, dovecot) can traverse it; removed at exit unless KEEP."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    if keep:
        cleanup.add(say, 'kept %s' % d)
    else:
        cleanup.add(shutil.rmtree, d, True)
    return d


def kill_tree(root, grace=10.0, sig=signal.SIGTERM):
    """Send SIG to ROOT (one pid we started), wait up to GRACE seconds for the
    whole tree to vanish, then SIGKILL whatever of that tree is left, pid by
    pid."""
    pids = tree_pids(root)
    try:
        os.kill(root, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(root)
        if not any(_exists(p) for p in pids + [root]):
            return
        time.sleep(0.1)
    for p in tree_pids(root) + pids:
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _reap(root)


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _exists(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(')') + 2] != 'Z'


def read_pidfile(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# --------------------------------------------------------------- process tree
def _stat(pid):
    """Fields of /proc/PID/stat after the command name: [0] is state (field
    3), [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime."""
    with open('/proc/%d/stat' % pid, 'rb') as f:
        data = f.read()
    return data[data.rindex(b')') + 2:].split()


def _ppids():
    out = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                out[int(name)] = int(_stat(int(name))[1])
            except (OSError, ValueError, IndexError):
                pass
    return out


def tree_pids(root):
    """ROOT and every live descendant, parents before children."""
    if not os.path.exists('/proc/%d' % root):
        return []
    children = {}
    for pid, ppid in _ppids().items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(sorted(children.get(p, ())))
    return out


def tree_cpu(root):
    """CPU seconds (user+system) used so far by the tree under ROOT,
    including its reaped descendants (cutime/cstime)."""
    ticks = 0
    for pid in tree_pids(root):
        try:
            f = _stat(pid)
            ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except (OSError, ValueError, IndexError):
            pass                # exited meanwhile: its parent's cutime has it
    return ticks / CLK_TCK


def tree_pss(pids):
    """Sum of Pss (KiB) of PIDS from /proc/PID/smaps_rollup."""
    total = 0
    for pid in pids:
        try:
            with open('/proc/%d/smaps_rollup' % pid, 'rb') as f:
                for line in f:
                    if line.startswith(b'Pss:'):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            pass
    return total


class PssSampler:
    """Samples the summed PSS of a process tree every INTERVAL seconds in a
    thread and keeps the peak.  roots(): callable returning the root pids
    (evaluated at every sample, so a root that appears late is found).
    Also remembers every pid ever seen in the tree (for perf report)."""

    def __init__(self, roots, interval=0.1):
        self.roots = roots
        self.interval = interval
        self.peak_kib = 0
        self.peak_procs = 0
        self.samples = 0
        self.seen = set()
        self._stop = threading.Event()
        self._thread = None

    def sample(self):
        pids = []
        for r in self.roots():
            pids.extend(tree_pids(r))
        kib = tree_pss(pids)
        self.seen.update(pids)
        self.samples += 1
        if kib > self.peak_kib:
            self.peak_kib = kib
        if len(pids) > self.peak_procs:
            self.peak_procs = len(pids)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception as e:      # a sampler must never kill the run
                warn('pss sampler: %r' % (e,))
            self._stop.wait(self.interval)

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak_kib / 1024.0


# ------------------------------------------------------------------------ perf
SYNC_EVENTS = ('fsync', 'fdatasync', 'msync', 'sync_file_range', 'syncfs')


class _PerfRecord:
    """A `perf record` running in the background until stop()."""

    argv = []

    def __init__(self, tmpdir, name, kind):
        self.path = os.path.join(tmpdir, '%s-%s.perf' % (kind, name))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(['perf', 'record', '-q', '-o', self.path] + self.argv,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        time.sleep(0.5)     # perf needs a moment to arm its events
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        """cleanup action"""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class SyncTracer(_PerfRecord):
    """Counts fsync-family system calls made by one process tree.

    `perf record -a` on the syscalls:sys_enter_* tracepoints records every
    such call with its pid, plus the fork records of every process, so the
    tree (short-lived children included) is rebuilt from the trace itself
    and calls from anything else on the machine are left out.  Cheap: one
    tracepoint hit per sync call.  Unavailable without a working perf."""

    argv = ['-a', '-e', ','.join('syscalls:sys_enter_%s' % e for e in SYNC_EVENTS)]

    def __init__(self, tmpdir, name):
        _PerfRecord.__init__(self, tmpdir, name, 'sync')

    def counts(self, roots):
        """{event: calls} made by the trees under the pids ROOTS, plus
        'pids': the set of every pid of those trees seen in the trace."""
        r = subprocess.run(['perf', 'script', '-i', self.path, '--show-task-events',
                            '-F', 'pid,event'], capture_output=True, text=True)
        parent = {}
        calls = []
        for line in r.stdout.splitlines():
            if 'PERF_RECORD_FORK(' in line:
                # "  PID PERF_RECORD_FORK(CHILD:CTID):(PARENT:PTID)"
                try:
                    rest = line.split('PERF_RECORD_FORK(', 1)[1]
                    child = int(rest.split(':', 1)[0])
                    par = int(rest.split('):(', 1)[1].split(':', 1)[0])
                except (IndexError, ValueError):
                    continue
                if child != par:            # a new thread keeps its pid
                    parent[child] = par
            elif 'syscalls:sys_enter_' in line:
                parts = line.split()
                try:
                    pid = int(parts[0])
                except (IndexError, ValueError):
                    continue
                ev = line.split('syscalls:sys_enter_', 1)[1].split(':', 1)[0].strip()
                calls.append((pid, ev))
        roots = set(roots)
        memo = {}

        def in_tree(pid):
            chain = []
            p = pid
            result = False
            for _ in range(64):
                if p in memo:
                    result = memo[p]
                    break
                chain.append(p)
                if p in roots:
                    result = True
                    break
                p = parent.get(p)
                if p is None or p <= 1:
                    break
            for q in chain:
                memo[q] = result
            return result

        out = dict((e, 0) for e in SYNC_EVENTS)
        for pid, ev in calls:
            if in_tree(pid):
                out[ev] = out.get(ev, 0) + 1
        out['pids'] = set(p for p in parent if in_tree(p)) | roots
        return out


class Profiler(_PerfRecord):
    """Optional: `perf record -a -g` while the load runs, then a report of
    the server tree's samples by command, shared object and symbol."""

    argv = ['-a', '-g', '-F', '499']

    def __init__(self, tmpdir, name):
        _PerfRecord.__init__(self, tmpdir, name, 'prof')

    def report(self, pids, lines=30):
        pids = sorted(pids)
        if not pids:
            return ''
        out = []
        for sort in ('comm,dso', 'comm,dso,sym'):
            r = subprocess.run(['perf', 'report', '-i', self.path, '--stdio', '--no-children',
                                '-g', 'none', '--percent-limit', '0.2', '--sort', sort,
                                '--pid', ','.join(str(p) for p in pids)],
                               capture_output=True, text=True)
            body = [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith('#')]
            out.append('  by %s:' % sort)
            out.extend('    ' + ln.strip() for ln in body[:lines])
        return '\n'.join(out)


# --------------------------------------------------------------------- Maildir
def count_maildir(maildirs):
    """Messages in the Maildirs: regular entries of new/ and cur/ (not tmp/,
    not dot files)."""
    n = 0
    for md in maildirs:
        for sub in ('new', 'cur'):
            try:
                with os.scandir(os.path.join(md, sub)) as it:
                    for e in it:
                        if not e.name.startswith('.'):
                            n += 1
            except FileNotFoundError:
                pass
    return n


def wait_count(maildirs, target, sources_done, stall=30.0, poll_busy=0.25, poll_idle=0.05):
    """Poll the Maildirs until TARGET messages are there.  While
    sources_done() is False poll slowly (the load generators are still
    sending); afterwards poll fast.  Gives up when the count has not moved for
    STALL seconds after the sources are done.  Returns (count, time.monotonic()
    at which the count was first seen >= target, or None)."""
    last, last_change = -1, time.monotonic()
    while True:
        n = count_maildir(maildirs)
        now = time.monotonic()
        if n >= target:
            return n, now
        if n != last:
            last, last_change = n, now
        done = sources_done()
        if done and now - last_change > stall:
            return n, None
        time.sleep(poll_idle if done else poll_busy)


# ---------------------------------------------------------------------- output
def fmt(v, spec):
    if v is None:
        return '-'
    return format(v, spec)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Table:
    def __init__(self, cols):
        self.cols = cols            # [(title, width)]
        self.rows = []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def text(self):
        widths = [max(w, len(t), *(len(r[i]) for r in self.rows)) if self.rows else max(w, len(t))
                  for i, (t, w) in enumerate(self.cols)]
        lines = ['  '.join(t.rjust(widths[i]) if i else t.ljust(widths[i])
                           for i, (t, _) in enumerate(self.cols))]
        lines.append('  '.join('-' * w for w in widths))
        for r in self.rows:
            lines.append('  '.join(c.rjust(widths[i]) if i else c.ljust(widths[i])
                                   for i, c in enumerate(r)))
        return '\n'.join(lines)


def machine_line():
    try:
        with open('/proc/cpuinfo') as f:
            model = next((ln.split(':', 1)[1].strip() for ln in f
                          if ln.startswith('model name')), '?')
    except OSError:
        model = '?'
    return '%d CPU (%s), kernel %s' % (os.cpu_count() or 0, model, os.uname().release)


def quiesce(pause=2.0):
    """Between two servers: flush dirty pages so that one server's writeback
    does not land on the next one's time, then let the disk settle."""
    os.sync()
    time.sleep(pause)


# ------------------------------------------------------------------------ yubin
TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))


def yubin_build(opt):
    """The build folder holding yubind and yubinctl: --build, $YUBIN_BUILD,
    else TOP/build."""
    b = opt or os.environ.get('YUBIN_BUILD') or os.path.join(TOP, 'build')
    b = os.path.abspath(b)
    for prog in ('yubind', 'yubinctl'):
        if not os.access(os.path.join(b, prog), os.X_OK):
            die('no %s in %s (build it: cd %s && make, or pass --build DIR)' % (prog, b, TOP))
    return b


def yubin_version(build):
    """'yubind BUILD/yubind, git COMMIT[-dirty]' for the result header."""
    r = subprocess.run(['git', '-C', TOP, 'describe', '--always', '--dirty'],
                       capture_output=True, text=True)
    rev = r.stdout.strip() if r.returncode == 0 else '?'
    return 'yubind %s (tree %s)' % (os.path.join(build, 'yubind'), rev)


class Yubind:
    """A yubind with a temporary home: config, accounts, foreground start,
    stop by pid.  sections: {'smtp': {...}, ...} merged over the base."""

    def __init__(self, build, tmp, cleanup, sections, accounts, defines=()):
        self.build = build
        self.tmp = tmp
        self.home = os.path.join(tmp, 'home')
        self.etc = os.path.join(tmp, 'etc')
        os.makedirs(self.etc)
        self.conf = os.path.join(self.etc, 'yubin.conf')
        self.defines = list(defines)
        self.proc = None
        self.cleanup = cleanup
        base = {
            'server': {'home': self.home, 'user': 'nobody', 'group': 'nogroup',
                       'log': 'file'},
            'smtp': {'listen': '127.0.0.1', 'submission_port': 'off', 'smtps_port': 'off'},
            'pop3': {'pop3s_port': 'off'},
            'queue': {},
        }
        for sec, kv in sections.items():
            base.setdefault(sec, {}).update(kv)
        with open(self.conf, 'w') as f:
            for sec, kv in base.items():
                f.write('[%s]\n' % sec)
                for k, v in kv.items():
                    f.write('%s = %s\n' % (k, v))
                f.write('\n')
        self.ctl('setup')
        for name, pw in accounts.items():
            self.ctl('account', 'add', name, pw)

    def ctl(self, *args):
        argv = [os.path.join(self.build, 'yubinctl'), '-c', self.conf] + list(args)
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            die('%s: exit %d: %s' % (' '.join(argv), r.returncode, r.stderr.strip()))
        return r.stdout

    def maildir(self, name):
        return os.path.join(self.home, 'mailbox', name, 'Maildir')

    def start(self, port, banner):
        self.log = os.path.join(self.tmp, 'yubind.stderr')
        argv = [os.path.join(self.build, 'yubind'), '-c', self.conf, '-f']
        for d in self.defines:
            argv += ['-D', d]
        self.argv = argv
        with open(self.log, 'ab') as err:
            self.proc = subprocess.Popen(argv, stdout=err, stderr=err, stdin=subprocess.DEVNULL)
        self.cleanup.add(self.stop)
        if not wait_banner(port, banner, alive=lambda: self.proc.poll() is None):
            self.dump_log()
            die('yubind did not come up on 127.0.0.1:%d' % port)
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def dump_log(self, lines=30):
        for path in (self.log, os.path.join(self.home, 'log', 'yubind.log')):
            try:
                with open(path, errors='replace') as f:
                    tail = f.read().splitlines()[-lines:]
            except OSError:
                continue
            warn('--- %s (last %d lines)' % (path, len(tail)))
            for ln in tail:
                warn('  ' + ln)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            kill_tree(self.proc.pid, grace=15.0)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
