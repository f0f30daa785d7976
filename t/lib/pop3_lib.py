"""pop3_lib - helpers shared by the t/proto/pop3_*.t tests.

Messages are placed straight into HOME/mailbox/NAME/Maildir/new/ (so the POP3
tests do not depend on SMTP delivery), owned by whoever owns the mailbox
folder (the server user when the tests run as root).
"""

import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from yubintest import Server, TAP, Raw, client_tls_context  # noqa: E402,F401

FAST = {'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0'}}   # failed logins answer at once


def conf(*extra):
    """FAST merged with EXTRA dicts of sections."""
    out = {k: dict(v) for k, v in FAST.items()}
    for e in extra:
        for sec, kv in e.items():
            out.setdefault(sec, {}).update(kv)
    return out


def _owner(server):
    st = os.stat(os.path.join(server.home, 'mailbox'))
    return st.st_uid, st.st_gid


def _chown(server, path):
    if os.geteuid() == 0:
        uid, gid = _owner(server)
        os.chown(path, uid, gid)


def ensure_maildir(server, account):
    md = server.maildir(account)
    for p in (os.path.dirname(md), md, md + '/tmp', md + '/new', md + '/cur'):
        if not os.path.isdir(p):
            os.mkdir(p, 0o700)
            _chown(server, p)
    return md


def crlf(data):
    """DATA as POP3 sends it (before dot-stuffing): every line ends in CRLF."""
    out = data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    if data and not data.endswith(b'\n'):
        out += b'\r\n'
    return out


def put(server, account, name, data, sub='new'):
    """Write DATA (bytes) as Maildir file SUB/NAME of ACCOUNT; returns its path.
    NAME may hold {S} and {W}: replaced by the LF size and the CRLF size."""
    md = ensure_maildir(server, account)
    name = name.replace('{S}', str(len(data))).replace('{W}', str(len(crlf(data))))
    path = os.path.join(md, sub, name)
    with open(path + '.part', 'wb') as f:
        f.write(data)
    os.chmod(path + '.part', 0o600)
    _chown(server, path + '.part')
    os.rename(path + '.part', path)
    return path


def files(server, account, sub='new'):
    p = os.path.join(server.maildir(account), sub)
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


class Pop:
    """A raw POP3 client for exact protocol steps."""

    def __init__(self, server, listener='pop3', timeout=30):
        self.sock = server.connect(listener, timeout=timeout)
        if listener == 'pop3s':
            self.sock = client_tls_context().wrap_socket(self.sock)
        self.raw = Raw(self.sock)
        self.greeting = self.raw.line()

    def line(self):
        return self.raw.line()

    def send(self, data):
        self.raw.send(data)

    def cmd(self, text):
        self.raw.send(text + '\r\n')
        return self.raw.line()

    def multi(self):
        """The rest of a multi-line answer, un-stuffed, as a list of str."""
        out = []
        while True:
            l = self.raw.line()
            if l is None:
                return None
            if l == '.':
                return out
            out.append(l[1:] if l.startswith('.') else l)

    def multi_raw(self):
        """The rest of a multi-line answer as wire bytes, with the final '.'."""
        data = b''
        while True:
            while b'\r\n' not in self.raw.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return data + self.raw.buf
                self.raw.buf += chunk
            l, _, self.raw.buf = self.raw.buf.partition(b'\r\n')
            data += l + b'\r\n'
            if l == b'.':
                return data

    def starttls(self):
        self.sock = client_tls_context().wrap_socket(self.sock)
        self.raw.sock = self.sock
        self.raw.buf = b''

    def login(self, user, pw):
        r1 = self.cmd('USER ' + user)
        r2 = self.cmd('PASS ' + pw)
        return r1, r2

    def closed(self):
        """True when the server has closed the connection."""
        try:
            self.sock.settimeout(5)
            return self.sock.recv(1) == b''
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.raw.close()


def log_clean(t, server):
    """One test: the daemon's log shows no sanitizer report and no POP3
    worker that died abnormally."""
    import re
    log = server.log()
    bad = re.findall(r'.*(?:AddressSanitizer|runtime error:|LeakSanitizer'
                     r'|pop3 worker pid \d+ (?:killed|exit status)).*', log)
    r = t.ok(not bad, 'log: no sanitizer report, no POP3 worker died')
    if not r:
        for line in bad[:10]:
            t.diag(line)
    return r
