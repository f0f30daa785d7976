"""pg_lib - a throwaway PostgreSQL cluster for the shared-state tests.

    import sys, os
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
    from pg_lib import PgCluster, require_postgres

    require_postgres()              # TAP skip-all when PostgreSQL is missing
    with PgCluster() as pg:
        conf = {'server': {'state': pg.uri}}
        pg.sql('SELECT version FROM yubin_schema')
        pg.stop()                   # fast shutdown; connections are cut
        pg.start()                  # the same port and data again

The cluster comes from the Debian package `postgresql` (initdb, pg_ctl,
postgres and psql under /usr/lib/postgresql/VERSION/bin; the newest version
found is used).  It lives in a temporary folder (under $TMPDIR, or PARENT
when given): data/ for the cluster, sock/ for its unix socket, postgres.log.
It trusts every local connection (initdb -A trust -U yubin), listens on
127.0.0.1 only, on a port the kernel picked free, runs with fsync off, and
holds a database `yubin`; `uri` is postgresql://yubin@127.0.0.1:PORT/yubin.

PostgreSQL refuses to run as root: when the tests run as root (as on CI),
initdb and pg_ctl run as `nobody` (setpriv, else runuser) and the folder is
given to it; otherwise they run as the invoking user.  psql always runs as
the invoking user, over TCP.

The cluster is stopped and its folder removed when the `with` block ends,
at interpreter exit and on SIGTERM, SIGHUP or SIGINT, whatever failed before
(YUBIN_KEEP_TMP=1 keeps the folder, as for yubintest.Server).
"""

import atexit
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP_REASON = 'PostgreSQL not installed (apt-get install postgresql)'
PG_USER = 'yubin'               # the cluster's superuser (initdb -U)
PG_DB = 'yubin'
RUN_AS = 'nobody'               # who runs the cluster when we are root
TOOLS = ('initdb', 'pg_ctl', 'postgres', 'psql')


def pg_bindir():
    """The newest /usr/lib/postgresql/VERSION/bin that has initdb, pg_ctl,
    postgres and psql, or None."""
    found = []
    for d in glob.glob('/usr/lib/postgresql/*/bin'):
        ver = os.path.basename(os.path.dirname(d))
        try:
            key = tuple(int(p) for p in ver.split('.'))
        except ValueError:
            continue
        if all(os.access(os.path.join(d, x), os.X_OK) for x in TOOLS):
            found.append((key, d))
    return max(found)[1] if found else None


def why_not():
    """None when a cluster can be made here, else why not (for a skip)."""
    if pg_bindir() is None:
        return SKIP_REASON
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return 'no user %s to run PostgreSQL as (it refuses to run as root)' % RUN_AS
        if not (shutil.which('setpriv') or shutil.which('runuser')):
            return 'neither setpriv nor runuser to run PostgreSQL as %s' % RUN_AS
    return None


def require_postgres():
    """Print a TAP skip-all and exit 0 when no cluster can be made here."""
    why = why_not()
    if why:
        print('1..0 # SKIP ' + why)
        sys.stdout.flush()
        sys.exit(0)


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


# every live cluster, for the exit and signal handlers
_live = []
_handlers_set = False


def _cleanup_all():
    for pg in list(_live):
        pg.cleanup()


def _on_signal(sig, frame):
    # SystemExit unwinds the with blocks; atexit then catches the rest
    sys.exit(128 + sig)


def _install_handlers():
    global _handlers_set
    if _handlers_set:
        return
    _handlers_set = True
    atexit.register(_cleanup_all)
    # SIGINT already raises KeyboardInterrupt, which unwinds as well
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_signal)
        except (ValueError, OSError):       # not the main thread
            pass


class PgCluster:
    """A PostgreSQL cluster in a temporary folder, started at once (unless
    start=False).  Attributes: host, port, uri, tmp, data, logfile."""

    def __init__(self, parent=None, start=True, max_connections=200):
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError(SKIP_REASON)
        self.host = '127.0.0.1'
        self.port = None
        self.running = False
        self.uid = self.gid = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam(RUN_AS)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        _install_handlers()
        self.made_db = False
        self.max_connections = max_connections
        self.tmp = tempfile.mkdtemp(prefix='yubin-pg-', dir=parent)
        self.data = os.path.join(self.tmp, 'data')
        self.sockdir = os.path.join(self.tmp, 'sock')
        self.logfile = os.path.join(self.tmp, 'postgres.log')
        _live.append(self)
        try:
            os.mkdir(self.sockdir, 0o700)
            if self.uid is not None:
                os.chmod(self.tmp, 0o700)
                for p in (self.tmp, self.sockdir):
                    os.chown(p, self.uid, self.gid)
                self._reachable()
            self._initdb()
            if start:
                self.start()
        except BaseException:
            self.cleanup()
            raise

    # ---------------------------------------------------------------------
    @property
    def uri(self):
        return 'postgresql://%s@%s:%d/%s' % (PG_USER, self.host, self.port, PG_DB)

    def _tool(self, name):
        return os.path.join(self.bindir, name)

    def _env(self):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith('PG'))
        env['LC_ALL'] = 'C'
        env.pop('LANG', None)
        return env

    def _as_owner(self, argv):
        """ARGV run as the cluster's owner (nobody when we are root)."""
        if self.uid is None:
            return argv
        if shutil.which('setpriv'):
            return ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid,
                    '--clear-groups', '--'] + argv
        return ['runuser', '-u', RUN_AS, '--'] + argv

    def _run_owner(self, argv, timeout=120):
        return subprocess.run(self._as_owner(argv), cwd=self.tmp, env=self._env(),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def _reachable(self):
        # every folder above tmp must let the owner through
        r = self._run_owner(['sh', '-c', 'test -w "$0" && test -x "$0"', self.tmp])
        if r.returncode != 0:
            raise RuntimeError('%s: not reachable by %s (a folder above it is closed to '
                               'others; set TMPDIR to an open one)' % (self.tmp, RUN_AS))

    def _initdb(self):
        r = self._run_owner([self._tool('initdb'), '-D', self.data, '-A', 'trust',
                             '-U', PG_USER, '-E', 'UTF8', '--locale=C', '--no-sync'])
        if r.returncode != 0:
            raise RuntimeError('initdb: exit %d:\n%s%s' % (r.returncode, r.stdout, r.stderr))

    def _write_conf(self):
        # postgresql.auto.conf is read last and overrides postgresql.conf
        path = os.path.join(self.data, 'postgresql.auto.conf')
        text = ("listen_addresses = '%s'\n"
                "port = %d\n"
                "unix_socket_directories = '%s'\n"
                "max_connections = %d\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "log_min_messages = warning\n" %
                (self.host, self.port, self.sockdir, self.max_connections))
        with open(path, 'w') as f:
            f.write(text)
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)

    def _log_tail(self, n=4000):
        try:
            with open(self.logfile, errors='replace') as f:
                return f.read()[-n:]
        except OSError:
            return ''

    def log(self):
        """The server log so far."""
        return self._log_tail(1 << 30)

    # ---------------------------------------------------------------------
    def start(self):
        """Start the cluster (the first time on a free port, then on the same
        port again) and wait until it takes connections."""
        if self.running:
            return self
        fresh = self.port is None
        last = ''
        for attempt in range(8):
            if fresh:
                self.port = _free_port()
            self._write_conf()
            mark = len(self.log())
            r = self._run_owner([self._tool('pg_ctl'), '-D', self.data, '-l', self.logfile,
                                 '-w', '-t', '60', '-s', 'start'])
            if r.returncode == 0:
                self.running = True
                if not self.made_db:
                    self.sql('CREATE DATABASE %s' % PG_DB, db='postgres')
                    self.made_db = True
                return self
            last = r.stdout + r.stderr + self.log()[mark:]
            if not re.search(r'could not bind|Address already in use|could not create any '
                             r'TCP/IP sockets', last):
                break
            # the port was taken between our probe and the bind: another
            # port the first time, the same one again (after it frees) later
            if not fresh:
                time.sleep(0.25 * (attempt + 1))
        raise RuntimeError('pg_ctl start: failed:\n%s' % last[-4000:])

    def stop(self):
        """Fast shutdown (open sessions are cut); waits until it is down."""
        if not self.running:
            return
        r = self._run_owner([self._tool('pg_ctl'), '-D', self.data, '-m', 'fast', '-w',
                             '-t', '60', '-s', 'stop'])
        if r.returncode != 0:
            self._kill()
        self.running = False

    def _kill(self):
        """Immediate shutdown (SIGQUIT), then SIGKILL, by the postmaster's pid."""
        try:
            with open(os.path.join(self.data, 'postmaster.pid')) as f:
                pid = int(f.readline().strip())
        except (OSError, ValueError):
            return
        for sig, wait in ((signal.SIGQUIT, 10), (signal.SIGKILL, 10)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.time() + wait
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)

    def sql(self, text, db=PG_DB):
        """Run TEXT with psql -At (ON_ERROR_STOP) over TCP; returns its output
        without the last newline.  RuntimeError when psql fails."""
        argv = [self._tool('psql'), '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
                '-h', self.host, '-p', str(self.port), '-U', PG_USER, '-d', db, '-f', '-']
        r = subprocess.run(argv, input=text, capture_output=True, text=True,
                           env=self._env(), timeout=120)
        if r.returncode != 0:
            raise RuntimeError('psql: exit %d: %s' % (r.returncode, r.stderr.strip()))
        return r.stdout[:-1] if r.stdout.endswith('\n') else r.stdout

    def cleanup(self):
        """Stop the cluster and remove its folder (once; safe to repeat)."""
        try:
            if self.running:
                try:
                    self.stop()
                except Exception:
                    self._kill()
                    self.running = False
            elif os.path.exists(os.path.join(self.data, 'postmaster.pid')):
                self._kill()
        finally:
            if self in _live:
                _live.remove(self)
            if not os.environ.get('YUBIN_KEEP_TMP'):
                shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and exc[0] is not SystemExit:
            sys.stderr.write(''.join('# pg: ' + l + '\n'
                                     for l in self._log_tail().splitlines()[-30:]))
        self.cleanup()
        return False
