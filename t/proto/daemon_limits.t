#!/usr/bin/env python3
# Slowloris and per-client limits.  A client over smtp/pop3.max_connections_per_ip
# gets 421 4.7.0 / -ERR [SYS/TEMP] at once (the local socket is never counted);
# a client that trickles bytes (one every 0.5 s, never finishing a line, a
# DATA line, a TLS handshake) is cut by the deadline of the whole unit, not
# kept by a timer that each byte restarts, and the only worker of the pool
# is free again afterwards; DATA lines that come too slowly and a session
# that never ends are cut too.  No timing is asserted: only that the cut
# comes (within a generous wait) and what the client is told.
import os
import socket
import ssl
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Raw, wait_until

t = TAP()
PATIENCE = 60      # seconds a trickler may go on before we call it kept for ever


def trickle(sock, unit=b'NOOP', patience=PATIENCE, count=False):
    """Send one byte of UNIT (cyclically, never a newline) every 0.5 s until
    the server closes or PATIENCE passes.  Returns (what the server sent,
    whether it closed); with COUNT what the server sent is (bytes, number
    of bytes we sent)."""
    sock.settimeout(0.5)
    got = b''
    deadline = time.time() + patience
    i = 0
    while time.time() < deadline:
        try:
            sock.send(unit[i % len(unit):i % len(unit) + 1])
        except OSError:
            return (got, i) if count else got, True
        i += 1
        try:
            chunk = sock.recv(4096)
            if not chunk:
                return (got, i) if count else got, True
            got += chunk
        except socket.timeout:
            pass
        except OSError:
            return (got, i) if count else got, True
    return (got, i) if count else got, False


def tls_trickle(s, listener):
    """Trickle a ClientHello to LISTENER; a close before the third byte is
    the master's "pool full" (the pool's one worker was still finishing the
    previous session), and then we try again.  Whether the server closed."""
    for attempt in range(10):
        c = Raw(s.connect(listener))
        got, closed = trickle(c.sock, client_hello(), count=True)
        c.close()
        if not closed or got[1] > 2:
            return closed
        time.sleep(0.2)
    return False


def client_hello():
    """The bytes of a TLS ClientHello (made in memory, sent by hand)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def greeted(s, listener='smtp'):
    """A client greeted by a worker (the pool of one may still be finishing
    the previous session for a moment: then the master says 421 and we try
    again).  The Raw client, greeting read, or None."""
    def attempt():
        try:
            c = Raw(s.connect(listener, timeout=10))
            line = c.line() or ''
        except OSError:
            return None
        if line[:3] in ('220', '+OK'):
            return c
        c.close()
        return None
    return wait_until(attempt, timeout=30, step=0.1)


def served(s, listener='smtp'):
    """A new client is served (the pool's one worker is free again)."""
    c = greeted(s, listener)
    if c is None:
        return False
    c.send('QUIT\r\n')
    c.line()
    c.line()        # the server's close
    c.close()
    return True


# ---- deadlines (keys the old engine knew: it must start and fail) ----------
with Server(accounts={'alice': 'pw'},
            conf={'smtp': {'multiprocessing': '1', 'timeout_command': '2s',
                           'timeout_data': '2s'},
                  'pop3': {'max_processes': '1', 'timeout': '2s'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))

    c = greeted(s)
    got, closed = trickle(c.sock)
    t.ok(closed, 'SMTP: a command trickled byte by byte is cut')
    t.like(got.decode(errors='replace'), r'^421 4\.4\.2 ', 'with 421 4.4.2')
    c.close()
    t.ok(served(s), 'SMTP: the worker serves a new client afterwards')

    c = greeted(s)
    c.cmd('EHLO trickle.test')
    c.cmd('MAIL FROM:<a@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    code, _ = c.cmd('DATA')
    t.is_(code, 354, 'DATA begins')
    got, closed = trickle(c.sock, b'Subject: slow')
    t.ok(closed, 'SMTP: a DATA line trickled byte by byte is cut')
    t.like(got.decode(errors='replace'), r'^421 4\.4\.2 ', 'with 421 4.4.2')
    c.close()
    t.ok(served(s), 'SMTP: the worker serves a new client after DATA was cut')
    t.is_(len(s.mails('alice')), 0, 'nothing of the cut message was delivered')

    t.ok(tls_trickle(s, 'smtps'), 'SMTPS: a TLS handshake trickled byte by byte is cut')
    t.ok(s.wait_log(r'smtp\[\d+\]: .*tls failed .*TLS handshake timed out'),
         'by the handshake deadline (logged)')
    t.ok(served(s), 'SMTP: the worker serves a new client after the handshake was cut')

    p = greeted(s, 'pop3')
    got, closed = trickle(p.sock, b'USER alice')
    t.ok(closed, 'POP3: a command trickled byte by byte is cut')
    t.like(got.decode(errors='replace'), r'^-ERR ', 'with -ERR')
    p.close()
    t.ok(served(s, 'pop3'), 'POP3: the worker serves a new client afterwards')

    t.ok(tls_trickle(s, 'pop3s'), 'POP3S: a TLS handshake trickled byte by byte is cut')
    t.ok(s.wait_log(r'pop3 tls failed .*TLS handshake timed out'),
         'by the handshake deadline (logged)')
    t.ok(served(s, 'pop3'), 'POP3: the worker serves a new client after the handshake was cut')

# ---- slow DATA lines and endless sessions ----------------------------------
with Server(accounts={'alice': 'pw'},
            conf={'smtp': {'multiprocessing': '1', 'timeout_data': '2s',
                           'data_min_rate': '500'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    c = greeted(s)
    c.cmd('EHLO slow.test')
    c.cmd('MAIL FROM:<a@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    c.cmd('DATA')
    # whole short lines, each well within timeout_data, far below 500 bytes/s
    got, closed = trickle(c.sock, b'x\r\n')
    t.ok(closed, 'SMTP: DATA lines far below data_min_rate are cut')
    t.like(got.decode(errors='replace'), r'^421 4\.4\.2 ', 'with 421 4.4.2')
    c.close()
    t.ok(served(s), 'SMTP: the worker serves a new client afterwards')

with Server(conf={'smtp': {'multiprocessing': '1', 'timeout_session': '3s'},
                  'pop3': {'max_processes': '1', 'timeout_session': '3s'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    c = greeted(s)
    got, closed = trickle(c.sock, b'NOOP\r\n')
    t.ok(closed, 'SMTP: a session of endless NOOPs ends at timeout_session')
    t.like(got.decode(errors='replace'), r'421 4\.4\.2 .*time limit exceeded',
           'with 421 4.4.2 (time limit)')
    t.ok(s.wait_log(r'time limit after NOOP'), 'logged as the time limit')
    c.close()
    t.ok(served(s), 'SMTP: the worker serves a new client afterwards')
    p = greeted(s, 'pop3')
    # CAPA: valid before login, so no error limit ends the session
    got, closed = trickle(p.sock, b'CAPA\r\n')
    t.ok(closed, 'POP3: a session of endless CAPAs ends at timeout_session')
    t.like(got.decode(errors='replace'), r'-ERR autologout', 'with the autologout -ERR')
    t.ok(s.wait_log(r'pop3 disconnect .*reason="time limit"'), 'logged as the time limit')
    p.close()

# ---- connections per client --------------------------------------------------
with Server(accounts={'alice': 'pw'},
            conf={'smtp': {'max_connections_per_ip': '2'},
                  'pop3': {'max_connections_per_ip': '2'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    for listener, ok, busy in (('smtp', r'^220 ', r'^421 4\.7\.0 '),
                               ('pop3', r'^\+OK', r'^-ERR \[SYS/TEMP\] ')):
        a = Raw(s.connect(listener))
        b = Raw(s.connect(listener))
        t.like(a.line() or '', ok, '%s: first connection served' % listener)
        t.like(b.line() or '', ok, '%s: second connection served' % listener)
        x = Raw(s.connect(listener))
        t.like(x.line() or '', busy, '%s: a third one from the same address is refused at once'
               % listener)
        t.is_(x.line(), None, '%s: and closed' % listener)
        x.close()
        a.send('QUIT\r\n')
        a.line()
        t.is_(a.line(), None, '%s: one session ends' % listener)
        a.close()

        def again():
            y = Raw(s.connect(listener))
            line = y.line() or ''
            if line[:1] in ('2', '+'):
                return y
            y.close()
            return None
        y = wait_until(again, timeout=20, step=0.2)
        t.ok(y is not None, '%s: then a new connection is served' % listener)
        if listener == 'smtp':
            # the local submission socket is not counted against 127.0.0.1
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.settimeout(30)
            u.connect(os.path.join(s.home, 'run', 'submit.sock'))
            t.like(Raw(u).line() or '', r'^220 ', 'smtp: the local socket is not capped')
            u.close()
        if y:
            y.close()
        b.close()
    t.like(s.log(), r'over its limit of 2 connections', 'the refusal is logged')

t.done()
