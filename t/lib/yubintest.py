"""yubintest - helpers for yubin's integration tests (run by prove).

A test is a Python script under t/ that imports this module, starts a real
yubind with a temporary home on loopback ports chosen by the kernel, talks to
it with real clients, and prints TAP:

    import sys, os
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
    from yubintest import Server, TAP

    t = TAP()
    with Server(accounts={'alice': 'secret'}) as s:
        with s.smtp() as c:           # smtplib.SMTP connected to the smtp port
            c.sendmail('x@example.org', ['alice@localhost'], b'Subject: hi\r\n\r\nbody\r\n')
        t.ok(s.wait_mail('alice', 1), 'delivered')
    t.done()

Binaries come from $YUBIN_BUILD (set by make check), else ./build.
Nothing here reaches beyond 127.0.0.1 / ::1.
"""

import os
import poplib
import shutil
import signal
import signal as signal_mod
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('YUBIN_BUILD') or os.path.join(TOP, 'build')


def binary(name):
    return os.path.join(BUILD, name)


class TAP:
    """Minimal TAP producer; done() prints the plan and exits."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.on_fail = []       # callables run once at the first failure
        sys.stdout.reconfigure(line_buffering=True)

    def ok(self, cond, name):
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name))
        if not cond:
            self.failed += 1
            for f in self.on_fail:
                try:
                    f()
                except Exception as e:      # diagnostics must not hide the failure
                    self.diag('on_fail: %r' % e)
            self.on_fail = []
        return bool(cond)

    def is_(self, got, want, name):
        r = self.ok(got == want, name)
        if not r:
            self.diag('got:  %r' % (got,))
            self.diag('want: %r' % (want,))
        return r

    def like(self, got, pattern, name):
        import re
        r = self.ok(got is not None and re.search(pattern, got) is not None, name)
        if not r:
            self.diag('got:  %r' % (got,))
            self.diag('want match: %r' % (pattern,))
        return r

    def diag(self, msg):
        # to stderr, as Test::More does: prove shows it without -v
        sys.stdout.flush()
        for line in str(msg).splitlines() or ['']:
            print('# ' + line, file=sys.stderr)
        sys.stderr.flush()

    def done(self):
        print('1..%d' % self.n)
        sys.exit(1 if self.failed else 0)


def make_cert(directory):
    """Throwaway self-signed certificate for localhost; returns (cert, key)."""
    cert = os.path.join(directory, 'cert.pem')
    key = os.path.join(directory, 'key.pem')
    if not os.path.exists(cert):
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                        '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
                        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def proc_alive(pid):
    """True while PID exists and is not a zombie (reads /proc/PID/stat)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def proc_ppid(pid):
    """The parent pid of PID, or None when it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return int(f.read().rsplit(')', 1)[1].split()[1])
    except OSError:
        return None


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Server:
    """A real yubind in a temporary home.

    conf: {'smtp': {'max_recipients': '5'}, 'plugin relay': {...}} merged over
          the test defaults (every port 0, listen 127.0.0.1).
    accounts: {'name': 'password'} or {'name': ('password', ['--apop'])}.
    tls: generate a certificate and enable TLS listeners.
    files: {'effect.dat': 'text'} written next to yubin.conf (CONFDIR).
    """

    def __init__(self, conf=None, accounts=None, tls=True, files=None, defines=None,
                 env=None, start=True):
        self.tmp = tempfile.mkdtemp(prefix='yubin-t-')
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, 'home')
        self.etc = os.path.join(self.tmp, 'etc')
        os.mkdir(self.etc)
        self.conf_path = os.path.join(self.etc, 'yubin.conf')
        self.proc = None
        self.env = dict(os.environ)
        self.env.pop('YUBIN_CONF', None)
        if env:
            self.env.update(env)
        self.defines = list(defines or [])
        sections = {
            'server': {'home': self.home, 'domain': 'localhost', 'log': 'stderr',
                       'plugin_dir': os.path.join(BUILD, 'plugins')},
            'smtp': {'port': '0', 'submission_port': '0', 'smtps_port': '0',
                     'listen': '127.0.0.1', 'hostname': 'mx.test.invalid',
                     'min_spare': '1', 'max_spare': '4'},
            'pop3': {'port': '0', 'pop3s_port': '0', 'min_spare': '1', 'max_spare': '4'},
            'queue': {},
        }
        if os.geteuid() == 0:
            sections['server']['user'] = 'nobody'
            sections['server']['group'] = 'nogroup'
        if tls:
            cert, key = make_cert(self.etc)
            sections['server']['tls_cert'] = cert
            sections['server']['tls_key'] = key
        else:
            sections['smtp']['smtps_port'] = 'off'
            sections['pop3']['pop3s_port'] = 'off'
        for sec, kv in (conf or {}).items():
            sections.setdefault(sec, {}).update(kv)
        self.write_conf(sections)
        for name, text in (files or {}).items():
            with open(os.path.join(self.etc, name), 'w') as f:
                f.write(text)
        self.ctl('setup')
        for name, spec in (accounts or {}).items():
            if isinstance(spec, tuple):
                pw, extra = spec
            else:
                pw, extra = spec, []
            self.ctl('account', 'add', name, pw, *extra)
        self.ports = {}
        if start:
            self.start()

    # configuration ---------------------------------------------------------
    def write_conf(self, sections):
        self.sections = sections
        with open(self.conf_path, 'w') as f:
            for sec, kv in sections.items():
                f.write('[%s]\n' % sec)
                for k, v in kv.items():
                    f.write('%s = %s\n' % (k, v))
                f.write('\n')

    def ctl(self, *args, check=True, input=None):
        """Run yubinctl -c CONF ARGS; returns CompletedProcess (text)."""
        r = subprocess.run([binary('yubinctl'), '-c', self.conf_path] + list(args),
                           env=self.env, input=input, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError('yubinctl %s: exit %d: %s' % (' '.join(args), r.returncode,
                                                            r.stderr))
        return r

    # process ---------------------------------------------------------------
    def start(self, timeout=20):
        ports = os.path.join(self.home, 'run', 'ports')
        if os.path.exists(ports):
            os.unlink(ports)
        self.stderr_path = os.path.join(self.tmp, 'yubind.stderr')
        self.stderr = open(self.stderr_path, 'ab')
        argv = [binary('yubind'), '-c', self.conf_path, '-f']
        for d in self.defines:
            argv += ['-D', d]
        self.proc = subprocess.Popen(argv, env=self.env, stdout=self.stderr,
                                     stderr=self.stderr)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('yubind exited %d:\n%s' % (self.proc.returncode, self.log()))
            if os.path.exists(ports):
                self.ports = self.read_ports(ports)
                if self.ports:
                    return self
            time.sleep(0.02)
        raise RuntimeError('yubind did not write %s:\n%s' % (ports, self.log()))

    @staticmethod
    def read_ports(path):
        result = {}
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 2:
                    continue
                name, addr = parts
                host, _, port = addr.rpartition(':')
                result.setdefault(name, (host.strip('[]'), int(port)))
        return result

    def port(self, name):
        return self.ports[name][1]

    def addr(self, name):
        return self.ports[name]

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, sig=signal_mod.SIGTERM, timeout=30):
        """Stop yubind; returns its exit status (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill_tree(self):
        """SIGKILL yubind and every process of its tree (crash tests)."""
        pids = children_of(self.proc.pid) + [self.proc.pid]
        for p in pids:
            try:
                os.kill(p, signal_mod.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def children(self, role=None):
        """PIDs of yubind's children, optionally only those of ROLE
        ('smtp', 'pop3', 'queue': the process name is yubind-ROLE)."""
        kids = children_of(self.proc.pid)
        if role is None:
            return kids
        out = []
        for p in kids:
            try:
                with open('/proc/%d/comm' % p) as f:
                    title = f.read().strip()
            except OSError:
                continue
            if title == 'yubind-' + role:
                out.append(p)
        return out

    def log(self):
        try:
            with open(self.stderr_path, errors='replace') as f:
                return f.read()
        except (OSError, AttributeError):
            return ''

    def cleanup(self):
        self.stop()
        if os.environ.get('YUBIN_KEEP_TMP'):
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stdout.write(''.join('# ' + l + '\n' for l in self.log().splitlines()[-60:]))
        self.cleanup()
        return False

    # clients ---------------------------------------------------------------
    def smtp(self, listener='smtp', timeout=30, source=None):
        host, port = self.addr(listener)
        kw = {'timeout': timeout}
        if source:
            kw['source_address'] = (source, 0)
        if listener == 'smtps':
            return smtplib.SMTP_SSL(host, port, context=client_tls_context(), **kw)
        return smtplib.SMTP(host, port, **kw)

    def pop3(self, listener='pop3', timeout=30):
        host, port = self.addr(listener)
        if listener == 'pop3s':
            return poplib.POP3_SSL(host, port, context=client_tls_context(), timeout=timeout)
        return poplib.POP3(host, port, timeout=timeout)

    def connect(self, listener='smtp', timeout=30, source=None):
        """A raw socket to a listener (for protocol scripts)."""
        host, port = self.addr(listener)
        s = socket.create_connection((host, port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        return s

    # mailboxes -------------------------------------------------------------
    def maildir(self, account):
        return os.path.join(self.home, 'mailbox', account, 'Maildir')

    def mails(self, account):
        """Contents (bytes) of the messages in ACCOUNT's Maildir, by name."""
        out = []
        d = self.maildir(account)
        for sub in ('new', 'cur'):
            p = os.path.join(d, sub)
            if not os.path.isdir(p):
                continue
            for n in sorted(os.listdir(p)):
                with open(os.path.join(p, n), 'rb') as f:
                    out.append(f.read())
        return out

    def wait_mail(self, account, count, timeout=20):
        """True once ACCOUNT holds at least COUNT messages (polls, no fixed sleep)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.mails(account)) >= count:
                return True
            time.sleep(0.02)
        return False

    def wait_log(self, pattern, timeout=20):
        import re
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.02)
        return False

    def queue_files(self):
        q = os.path.join(self.home, 'queue')
        return sorted(n for n in os.listdir(q) if not n.startswith('.')) if os.path.isdir(q) else []


def children_of(pid):
    """All descendants of PID (from /proc)."""
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(int(d))
        except (OSError, IndexError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


class Raw:
    """A line-oriented raw client for protocol scripts: send bytes, read replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b'\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                r, self.buf = self.buf, b''
                return r.decode(errors='replace') if r else None
            self.buf += chunk
        l, _, self.buf = self.buf.partition(b'\n')
        return l.rstrip(b'\r').decode(errors='replace')

    def reply(self):
        """One SMTP reply (all continuation lines); returns (code, text)."""
        lines = []
        while True:
            l = self.line()
            if l is None:
                return (None, '\n'.join(lines))
            lines.append(l)
            if len(l) < 4 or l[3] != '-':
                break
        try:
            code = int(lines[-1][:3])
        except ValueError:
            code = None
        return (code, '\n'.join(lines))

    def cmd(self, text):
        self.send(text + '\r\n')
        return self.reply()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def server_pid_for(sock):
    """PID of the process that holds the server side of client socket SOCK
    (found through /proc/net/tcp{,6} and /proc/*/fd)."""
    lport = sock.getsockname()[1]
    inodes = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    rem_port = int(fields[2].rsplit(':', 1)[1], 16)
                    if rem_port == lport:
                        inodes.add(fields[9])
        except OSError:
            continue
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        fddir = '/proc/%s/fd' % d
        try:
            for fd in os.listdir(fddir):
                try:
                    target = os.readlink(os.path.join(fddir, fd))
                except OSError:
                    continue
                if target.startswith('socket:[') and target[8:-1] in inodes:
                    return int(d)
        except OSError:
            continue
    return None


def wait_until(pred, timeout=20, step=0.02):
    """Poll PRED until it is true or TIMEOUT passes; returns its last value."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


# ---- outbound delivery helpers (issue 6) -------------------------------------

class Sink:
    """A tiny SMTP server on 127.0.0.1 for outbound tests, in a thread.

    Every hook may be a constant (code, text) or a callable returning one:
      greeting, mail(sender), rcpt(addr), data(msg) -> (code, text)
    implicit_tls / starttls: an ssl.SSLContext (server side) or None.
    auth: {'user': 'password'} to offer AUTH PLAIN LOGIN and require it.
    pipelining / size / eightbit: what EHLO offers.  drop: 'greeting', 'mail' or 'data'
    closes the connection at that point.  txns_per_conn: N closes a
    connection without a reply when a MAIL would start its N+1th transaction
    (a peer that drops a kept session just as it is reused).  stall:
    'greeting' or 'data' says nothing more from that point (the connection
    stays open until the client gives up or the sink closes).
    strict: behave as Postfix does: a transaction stays open after DATA
    was refused for want of recipients, and MAIL inside an open
    transaction is "503 5.5.1 nested MAIL command".  rset_clears=False
    (with strict): a broken peer whose RSET answers 250 but ends nothing.
    dsn=True: EHLO offers DSN (RFC 3461); each RCPT's parameters are kept
    in txn['rcpt_params'] {address: parameters}.
    self.txns: one dict per completed or refused transaction
      {'helo', 'mail', 'rcpts', 'data' (bytes, un-dot-stuffed, CRLF), 'tls',
       'auth', 'params'}; self.connections counts accepted connections.
    chunking=True: EHLO offers CHUNKING and BDAT (RFC 3030) is served; a
    BDAT transaction also has 'chunks' (the list of chunk bytes, 'data' is
    their concatenation) and 'bdat_lines' (each command line as sent).
    bdat(chunk, last, index) -> (code, text) or None answers each chunk
    (None: 250 for a non-last chunk, the data hook for the last); a chunk
    refused ends the transaction, and the BDATs after it get 503.
    """

    def __init__(self, greeting=(220, 'sink ESMTP'), mail=(250, '2.1.0 ok'),
                 rcpt=(250, '2.1.5 ok'), data=(250, '2.0.0 queued'),
                 dsn=False,
                 implicit_tls=None, starttls=None, auth=None, pipelining=True,
                 size=None, drop=None, ehlo=True, host='127.0.0.1', port=0,
                 txns_per_conn=None, stall=None, eightbit=True, strict=False,
                 rset_clears=True,
                 chunking=False, bdat=None):
        import threading
        self.chunking, self.bdat_r = chunking, bdat
        self.strict, self.rset_clears = strict, rset_clears
        self.dsn = dsn
        self.greeting, self.mail_r, self.rcpt_r, self.data_r = greeting, mail, rcpt, data
        self.implicit_tls, self.starttls, self.auth = implicit_tls, starttls, auth
        self.pipelining, self.size, self.drop, self.ehlo_ok = pipelining, size, drop, ehlo
        self.txns_per_conn = txns_per_conn
        self.stall = stall
        self.eightbit = eightbit
        self.txns = []
        self.connections = 0
        self.lock = threading.Lock()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(32)
        self.port = self.lsock.getsockname()[1]
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @staticmethod
    def _ans(hook, *arg):
        return hook(*arg) if callable(hook) else hook

    def _accept(self):
        import threading
        while not self.closed:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def close(self):
        self.closed = True
        try:
            self.lsock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False

    def _stall(self, s):
        # silent until the peer closes (recv returns b'') or the sink ends
        s.settimeout(1)
        while not self.closed:
            try:
                if s.recv(4096) == b'':
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        s.close()

    def _serve(self, s):
        s.settimeout(30)
        tls = False
        try:
            if self.implicit_tls:
                s = self.implicit_tls.wrap_socket(s, server_side=True)
                tls = True
            f = s.makefile('rb')

            def send(code, text, cont=()):
                out = ''.join('%d-%s\r\n' % (code, c) for c in cont)
                s.sendall((out + '%d %s\r\n' % (code, text)).encode())

            if self.drop == 'greeting':
                s.close()
                return
            if self.stall == 'greeting':
                self._stall(s)
                return
            code, text = self._ans(self.greeting)
            send(code, text)
            if code != 220:
                return
            txn = None
            authed = None
            helo = None
            ntxn = 0
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode('utf-8', 'replace').rstrip('\r\n')
                verb = cmd.split(' ', 1)[0].upper()
                arg = cmd[len(verb):].strip()
                if verb == 'EHLO':
                    if not self.ehlo_ok:
                        send(502, '5.5.1 EHLO not supported')
                        continue
                    helo = arg
                    ext = (['8BITMIME'] if self.eightbit else []) + ['ENHANCEDSTATUSCODES']
                    ext += ['DSN'] if self.dsn else []
                    if self.pipelining:
                        ext.append('PIPELINING')
                    if self.size is not None:
                        ext.append('SIZE %d' % self.size)
                    if self.starttls and not tls:
                        ext.append('STARTTLS')
                    if self.auth:
                        ext.append('AUTH PLAIN LOGIN')
                    if self.chunking:
                        ext.append('CHUNKING')
                    send(250, ext[-1], ['sink'] + ext[:-1])
                elif verb == 'HELO':
                    helo = arg
                    send(250, 'sink')
                elif verb == 'STARTTLS' and self.starttls and not tls:
                    send(220, '2.0.0 go ahead')
                    f.close()
                    s = self.starttls.wrap_socket(s, server_side=True)
                    f = s.makefile('rb')
                    tls = True
                elif verb == 'AUTH' and self.auth:
                    import base64
                    parts = arg.split()
                    if parts[0].upper() == 'PLAIN':
                        resp = parts[1] if len(parts) > 1 else None
                        if resp is None:
                            send(334, '')
                            resp = f.readline().decode().strip()
                        _, u, p = base64.b64decode(resp).decode().split('\0')
                    else:
                        send(334, base64.b64encode(b'Username:').decode())
                        u = base64.b64decode(f.readline().strip()).decode()
                        send(334, base64.b64encode(b'Password:').decode())
                        p = base64.b64decode(f.readline().strip()).decode()
                    if self.auth.get(u) == p:
                        authed = u
                        send(235, '2.7.0 ok')
                    else:
                        send(535, '5.7.8 bad credentials')
                elif verb == 'MAIL':
                    if self.drop == 'mail' or (self.txns_per_conn is not None and
                                               ntxn >= self.txns_per_conn):
                        s.close()
                        return
                    ntxn += 1
                    if self.strict and txn is not None:
                        send(503, '5.5.1 Error: nested MAIL command')
                        continue
                    if self.auth and not authed:
                        send(530, '5.7.0 authentication required')
                        continue
                    sender = arg[5:].split('>', 1)[0].lstrip('<') if arg.upper().startswith('FROM:') else arg
                    params = arg.split('>', 1)[1].strip() if '>' in arg else ''
                    code, text = self._ans(self.mail_r, sender)
                    send(code, text)
                    if code == 250:
                        txn = {'helo': helo, 'mail': sender, 'rcpts': [], 'refused': [],
                               'data': None, 'tls': tls, 'auth': authed, 'params': params}
                elif verb == 'RCPT':
                    if txn is None:
                        send(503, '5.5.1 need MAIL')
                        continue
                    addr = arg[3:].split('>', 1)[0].lstrip('<')
                    txn.setdefault('rcpt_params', {})[addr] = \
                        arg.split('>', 1)[1].strip() if '>' in arg else ''
                    code, text = self._ans(self.rcpt_r, addr)
                    send(code, text)
                    (txn['rcpts'] if code // 100 == 2 else txn['refused']).append(addr)
                elif verb == 'DATA':
                    if txn is None or not txn['rcpts']:
                        send(554, '5.5.1 no valid recipients')
                        if txn is not None:
                            with self.lock:
                                self.txns.append(txn)
                        if not self.strict:
                            txn = None
                        continue
                    send(354, 'go ahead')
                    if self.drop == 'data':
                        s.close()
                        return
                    lines = []
                    while True:
                        l = f.readline()
                        if not l:
                            return      # cut inside DATA: nothing was accepted
                        if l == b'.\r\n':
                            break
                        if l.startswith(b'.'):
                            l = l[1:]
                        lines.append(l)
                    txn['data'] = b''.join(lines)
                    if self.stall == 'data':
                        with self.lock:
                            self.stalled = getattr(self, 'stalled', 0) + 1
                        self._stall(s)
                        return
                    code, text = self._ans(self.data_r, txn['data'])
                    txn['data_code'] = code
                    with self.lock:
                        self.txns.append(txn)
                    txn = None
                    send(code, text)
                elif verb == 'BDAT' and self.chunking:
                    txn = self._bdat(f, send, txn, cmd, arg)
                elif verb == 'RSET':
                    if self.rset_clears:
                        txn = None
                    send(250, 'ok')
                elif verb == 'QUIT':
                    send(221, 'bye')
                    return
                elif verb == 'NOOP':
                    send(250, 'ok')
                else:
                    send(502, '5.5.2 unknown command')
        except (OSError, ValueError, ssl.SSLError):
            return
        finally:
            try:
                s.close()
            except OSError:
                pass

    def _bdat(self, f, send, txn, cmd, arg):
        # RFC 3030: read exactly SIZE octets, whatever the answer; returns
        # the transaction still open (None once it ended)
        parts = arg.split()
        if not parts or not parts[0].isdigit() or len(parts) > 2 or \
                (len(parts) == 2 and parts[1].upper() != 'LAST'):
            send(501, '5.5.4 Syntax: BDAT size [LAST]')
            raise ValueError('malformed BDAT')      # cannot find the chunk end
        size, last = int(parts[0]), len(parts) == 2
        chunk = f.read(size)
        if len(chunk) != size:
            raise ValueError('connection closed inside a chunk')
        if txn is None or not txn['rcpts']:
            send(503, '5.5.1 need MAIL and RCPT')
            return txn
        txn.setdefault('chunks', []).append(chunk)
        txn.setdefault('bdat_lines', []).append(cmd)
        ans = self._ans(self.bdat_r, chunk, last, len(txn['chunks']) - 1) \
            if self.bdat_r else None
        txn['data'] = b''.join(txn['chunks'])
        if ans is None and not last:
            ans = (250, '2.0.0 %d octets' % len(txn['data']))
        elif ans is None:
            ans = self._ans(self.data_r, txn['data'])
        code, text = ans
        if code == 250 and not last:
            send(code, text)
            return txn
        txn['data_code'] = code
        with self.lock:
            self.txns.append(txn)
        send(code, text)
        return None

    def delivered(self):
        """Transactions that ended with a 2xx after DATA."""
        with self.lock:
            return [t for t in self.txns if t.get('data') is not None and
                    200 <= t.get('data_code', 0) < 300]

    def wait(self, count=1, timeout=30):
        return wait_until(lambda: len(self.delivered()) >= count, timeout)


def server_tls_context(directory):
    """A server-side ssl context with the throwaway certificate."""
    cert, key = make_cert(directory)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def parse_dsn(raw):
    """(message, text part, [per-message fields, per-recipient fields...],
    rfc822-headers text) of a bounce (RFC 3464)."""
    import email
    from email import policy
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    text, fields, headers = None, [], None
    for part in msg.walk():
        ct = part.get_content_type()
        if ct == 'text/plain' and text is None:
            text = part.get_payload(decode=True).decode('ascii', 'replace')
        elif ct == 'message/delivery-status':
            for block in part.get_payload():
                fields.append(dict((k.lower(), v) for k, v in block.items()))
        elif ct == 'text/rfc822-headers':
            headers = part.get_payload()
    return msg, text, fields, headers


def data_code(server, sender, rcpts, msg, source=None):
    """Send MSG in one plain SMTP session (from SOURCE when given): 250 when
    it is taken, else the code of the refusal after DATA."""
    c = server.smtp(source=source)
    try:
        c.sendmail(sender, rcpts, msg)
        return 250
    except smtplib.SMTPDataError as e:
        return e.smtp_code
    finally:
        try:
            c.quit()
        except Exception:
            pass


def send_authed(server, sender, rcpts, body, user='alice', password='pw', mail_options=()):
    """Submit through SMTP AUTH (which may relay); returns smtplib's refusals."""
    with server.smtp() as c:
        c.ehlo('client.test')
        c.user, c.password = user, password
        c.auth('PLAIN', c.auth_plain)
        return c.sendmail(sender, rcpts, body, mail_options=list(mail_options))


class Dnsmasq:
    """dnsmasq on 127.0.0.1 and a free port, authoritative for .test.
    ARGS: extra options, e.g. ['--mx-host=a.test,mx.a.test,10',
    '--host-record=mx.a.test,127.0.0.2'].  self.resolver is for server.resolver.
    self.available is False when dnsmasq is not installed (tests skip)."""

    def __init__(self, args, port=None):
        self.proc = None
        self.available = shutil.which('dnsmasq') is not None
        if not self.available:
            return
        for _ in range(5):
            self.port = port or free_port()
            argv = ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts',
                    '--no-daemon', '--listen-address=127.0.0.1', '--bind-interfaces',
                    '--port=%d' % self.port, '--local=/test/', '--pid-file=',
                    '--log-facility=-', '--conf-file=/dev/null'] + list(args)
            if os.geteuid() == 0:
                argv.append('--user=root')
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            time.sleep(0.05)
            if wait_until(lambda: self._up(), timeout=5):
                break
            self.stop()
        self.resolver = '127.0.0.1:%d' % self.port

    def _up(self):
        if self.proc.poll() is not None:
            return False
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(('127.0.0.1', self.port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()
        return False
