#!/usr/bin/env python3
# Outbound credentials never travel in clear text (issue 12 item 5): a
# gateway.dat route or the smarthost with auth= requires TLS.  A peer that
# does not offer STARTTLS (or whose offer an attacker strips) never sees an
# AUTH command: the message is deferred with the reason in the log and in
# `yubinctl queue show`.  A peer that offers STARTTLS gets AUTH inside TLS.
# tls=none with auth= is a load error.
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import (Server, TAP, binary, send_authed, server_tls_context,
                       wait_until)

t = TAP()
ACC = {'alice': 'pw'}
BODY = b'Subject: creds\r\nFrom: alice@localhost\r\n\r\nhello\r\n'


class AuthSink:
    """An SMTP peer on 127.0.0.1 that offers AUTH PLAIN LOGIN (and STARTTLS
    when given a server context).  self.cmds lists (verb, tls) for every
    command line received, AUTH lines included; self.auths the (user,
    password, tls) of each AUTH PLAIN; self.delivered counts messages."""

    def __init__(self, starttls=None, refuse_starttls=None):
        self.starttls, self.refuse_starttls = starttls, refuse_starttls
        self.cmds, self.auths, self.delivered = [], [], 0
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        import base64
        tls = False
        s.settimeout(30)
        try:
            f = s.makefile('rb')
            s.sendall(b'220 authsink ESMTP\r\n')
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode('utf-8', 'replace').rstrip('\r\n')
                verb = cmd.split(' ', 1)[0].upper()
                with self.lock:
                    self.cmds.append((verb, tls))
                if verb == 'EHLO':
                    ext = ['PIPELINING', '8BITMIME', 'AUTH PLAIN LOGIN']
                    if (self.starttls or self.refuse_starttls) and not tls:
                        ext.append('STARTTLS')
                    out = ''.join('250-%s\r\n' % e for e in ['authsink'] + ext[:-1])
                    s.sendall((out + '250 %s\r\n' % ext[-1]).encode())
                elif verb == 'STARTTLS' and self.refuse_starttls:
                    s.sendall(self.refuse_starttls)
                elif verb == 'STARTTLS' and self.starttls and not tls:
                    s.sendall(b'220 2.0.0 go ahead\r\n')
                    f.close()
                    s = self.starttls.wrap_socket(s, server_side=True)
                    f = s.makefile('rb')
                    tls = True
                elif verb == 'AUTH':
                    parts = cmd.split()
                    if len(parts) == 3 and parts[1].upper() == 'PLAIN':
                        _, u, p = base64.b64decode(parts[2]).decode().split('\0')
                        with self.lock:
                            self.auths.append((u, p, tls))
                        s.sendall(b'235 2.7.0 ok\r\n')
                    else:
                        s.sendall(b'504 5.5.4 PLAIN only\r\n')
                elif verb in ('MAIL', 'RCPT', 'RSET', 'NOOP'):
                    s.sendall(b'250 ok\r\n')
                elif verb == 'DATA':
                    s.sendall(b'354 go ahead\r\n')
                    while True:
                        l = f.readline()
                        if not l or l == b'.\r\n':
                            break
                    with self.lock:
                        self.delivered += 1
                    s.sendall(b'250 2.0.0 queued\r\n')
                elif verb == 'QUIT':
                    s.sendall(b'221 bye\r\n')
                    return
                else:
                    s.sendall(b'502 5.5.2 unknown\r\n')
        except (OSError, ValueError, ssl.SSLError):
            return
        finally:
            try:
                s.close()
            except OSError:
                pass

    def verbs(self):
        with self.lock:
            return list(self.cmds)

    def close(self):
        self.lsock.close()


def gw_server(gw, **kw):
    """A started Server whose gateway.dat (holding a password) is mode 600
    and, when the tests run as root, root's alone: the master reads it
    before any process drops to the server user."""
    s = Server(accounts=ACC, start=False, files={'gateway.dat': gw}, **kw)
    path = os.path.join(s.etc, 'gateway.dat')
    os.chmod(path, 0o600)
    s.start()
    return s


def check(conf_path):
    return subprocess.run([binary('yubind'), '-c', conf_path, '-t'],
                          capture_output=True, text=True)


# 1. auth= and no tls=: a peer without STARTTLS never receives AUTH; deferred
plain = AuthSink()
gw = ("' a relay that needs a login\n"
      'creds.test,127.0.0.1,%d,auth=relayuser:s3cret\n') % plain.port
with gw_server(gw, conf={'queue': {'retry_interval': '1h'}}) as s:
    send_authed(s, 'alice@localhost', ['far@creds.test'], BODY)
    t.ok(s.wait_log(r'to=<far@creds\.test> .*status=deferred .*TLS is required'),
         'auth= route to a peer without STARTTLS: deferred, the log says TLS is required')
    t.ok(wait_until(lambda: ('EHLO', False) in plain.verbs()),
         'the peer was reached (EHLO)')
    t.ok(not any(v == 'AUTH' for v, _ in plain.verbs()),
         'the peer never received an AUTH command')
    t.is_(plain.auths, [], 'no credentials reached the peer')
    t.is_(plain.delivered, 0, 'nothing delivered in clear text')
    t.ok(s.queue_files() != [], 'the message stays in the queue')
    r = s.ctl('queue', 'list')
    m = re.search(r'^([0-9A-F]{16}) ', r.stdout, re.M)
    r = s.ctl('queue', 'show', m.group(1) if m else '0' * 16, check=False)
    t.like(r.stdout, r'<far@creds\.test> .*state=deferred', 'queue show: deferred, not bounced')
    t.like(r.stdout, r'error=.*TLS is required .*credentials.*AUTH not sent',
           'queue show: the reason')
    t.ok('bounced' not in s.log(), 'never bounced')
plain.close()

# 1b. a peer (or a man in the middle) that offers STARTTLS, then refuses it
# with a 5xx: deferred, never bounced, never AUTH
refuser = AuthSink(refuse_starttls=b'554 5.7.0 no TLS today\r\n')
gw = 'creds.test,127.0.0.1,%d,auth=relayuser:s3cret\n' % refuser.port
with gw_server(gw, conf={'queue': {'retry_interval': '1h'}}) as s:
    send_authed(s, 'alice@localhost', ['far@creds.test'], BODY)
    t.ok(s.wait_log(r'to=<far@creds\.test> .*status=deferred .*TLS is required but '
                    r'the server refused STARTTLS: 554'),
         'STARTTLS refused with 554: deferred with the reason')
    t.ok(not any(v == 'AUTH' for v, _ in refuser.verbs()), 'no AUTH after the refusal')
    t.ok('bounced' not in s.log() and s.queue_files() != [],
         'not bounced, still queued')
refuser.close()

# 2. the same route to a peer that offers STARTTLS: AUTH inside TLS, delivered
tmpd = tempfile.mkdtemp()
tlsink = AuthSink(starttls=server_tls_context(tmpd))
gw = 'creds.test,127.0.0.1,%d,auth=relayuser:s3cret\n' % tlsink.port
with gw_server(gw) as s:
    send_authed(s, 'alice@localhost', ['far@creds.test'], BODY)
    t.ok(wait_until(lambda: tlsink.delivered == 1), 'STARTTLS peer: delivered')
    t.is_(tlsink.auths, [('relayuser', 's3cret', True)], 'AUTH PLAIN happened inside TLS')
    t.ok(all(tls for v, tls in tlsink.verbs() if v == 'AUTH'),
         'no AUTH line before STARTTLS')
    t.ok(wait_until(lambda: s.queue_files() == []), 'queue empty after delivery')
tlsink.close()

# 3. the smarthost with credentials and the default smarthost_tls (may)
plain = AuthSink()
with Server(accounts=ACC, conf={'queue': {
        'smarthost': '127.0.0.1:%d' % plain.port,
        'smarthost_auth': 'relayuser:s3cret', 'retry_interval': '1h'}}) as s:
    send_authed(s, 'alice@localhost', ['x@anywhere.test'], BODY)
    t.ok(s.wait_log(r'to=<x@anywhere\.test> .*status=deferred .*TLS is required'),
         'smarthost with credentials, peer without STARTTLS: deferred')
    t.ok(not any(v == 'AUTH' for v, _ in plain.verbs()),
         'the smarthost never received AUTH in clear text')
plain.close()

# 4. tls=none with auth= is a load error with file:line; the smarthost twin too
s = Server(accounts=ACC, start=False, files={'gateway.dat':
           'ok.test,127.0.0.1,25,tls=none\n'
           'bad.test,127.0.0.1,25,tls=none,auth=u:p\n'})
os.chmod(os.path.join(s.etc, 'gateway.dat'), 0o600)
r = check(s.conf_path)
t.is_(r.returncode, 1, 'yubind -t refuses tls=none with auth=')
t.like(r.stderr, r'gateway\.dat:2: auth= needs TLS', 'file:line and the reason')
t.ok('gateway.dat:1:' not in r.stderr, 'tls=none without credentials is fine')
s.cleanup()

s = Server(accounts=ACC, start=False, conf={'queue': {
    'smarthost': '127.0.0.1:2525', 'smarthost_tls': 'none',
    'smarthost_auth': 'u:p'}})
r = check(s.conf_path)
t.is_(r.returncode, 1, 'yubind -t refuses smarthost_tls = none with smarthost_auth')
t.like(r.stderr, r'queue\.smarthost_auth needs TLS', 'and says why')
s.cleanup()

s = Server(accounts=ACC, start=False, files={'gateway.dat':
           'v.test,127.0.0.1,25,tls=verify,auth=u:p\n'
           'e.test,127.0.0.1,25,tls=encrypt,auth=u:p\n'
           'i.test,127.0.0.1,465*,auth=u:p\n'})
os.chmod(os.path.join(s.etc, 'gateway.dat'), 0o600)
r = check(s.conf_path)
t.is_(r.returncode, 0, 'verify, encrypt and implicit TLS with auth= are accepted')
s.cleanup()

t.done()
