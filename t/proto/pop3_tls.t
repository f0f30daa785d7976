#!/usr/bin/env python3
"""POP3 over TLS: STLS (RFC 2595) with poplib, plaintext pipelined after STLS
discarded, CAPA after STLS, POP3S (implicit TLS, RFC 8314), plaintext logins
from loopback without TLS, and no STLS without a certificate."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, Pop, conf, crlf, put, client_tls_context  # noqa: E402

t = TAP()
MSG = b'Subject: tls\n\nover TLS\n.dot line\n'

with Server(conf=conf(), accounts={'alice': 'pw-alice'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    put(s, 'alice', 'T1,S={S},W={W}', MSG)

    c = s.pop3()
    t.ok('STLS' in c.capa(), 'STLS offered on the plain port')
    t.like(c.stls(client_tls_context()).decode(), r'^\+OK', 'poplib stls()')
    capa = c.capa()
    t.ok('STLS' not in capa and 'USER' in capa, 'CAPA after STLS: no STLS, USER still')
    c.user('alice')
    t.like(c.pass_('pw-alice').decode(), r'^\+OK', 'USER/PASS over STLS')
    resp, lines, _ = c.retr(1)
    t.is_(b''.join(l + b'\r\n' for l in lines), crlf(MSG), 'RETR over STLS byte-exact')
    c.quit()

    # plaintext pipelined after STLS must not survive the handshake
    p = Pop(s)
    p.send('STLS\r\nUSER alice\r\n')
    t.like(p.line(), r'^\+OK Begin TLS', 'STLS with a pipelined USER')
    p.starttls()
    t.is_(p.cmd('PASS pw-alice'), '-ERR USER first', 'the pipelined USER was discarded')
    t.like(p.cmd('STLS'), r'^-ERR ', 'STLS twice: -ERR')
    r1, r2 = p.login('alice', 'pw-alice')
    t.like(r2, r'^\+OK', 'login after STLS')
    t.like(p.cmd('STLS'), r'^-ERR ', 'STLS in TRANSACTION: -ERR')
    p.cmd('QUIT')
    p.close()

    # USER then STLS: the USER is forgotten
    p = Pop(s)
    p.cmd('USER alice')
    t.like(p.cmd('STLS'), r'^\+OK', 'STLS after USER')
    p.starttls()
    t.is_(p.cmd('PASS pw-alice'), '-ERR USER first', 'USER given before STLS is forgotten')
    p.close()

    # POP3S
    c = s.pop3('pop3s')
    t.like(c.getwelcome().decode(), r'^\+OK yubin POP3 ready <', 'POP3S greeting over TLS')
    t.ok('STLS' not in c.capa(), 'no STLS on POP3S')
    c.user('alice')
    t.like(c.pass_('pw-alice').decode(), r'^\+OK', 'login on POP3S')
    resp, lines, _ = c.retr(1)
    t.is_(b''.join(l + b'\r\n' for l in lines), crlf(MSG), 'RETR on POP3S byte-exact')
    c.quit()

    # a client that does not speak TLS on POP3S is dropped, the server lives on
    raw = s.connect('pop3s')
    raw.sendall(b'USER alice\r\n')
    raw.settimeout(10)
    try:
        data = raw.recv(100)
    except OSError:
        data = b''
    t.ok(not data.startswith(b'+OK'), 'plaintext on POP3S gets no POP3 answer')
    raw.close()
    c = s.pop3('pop3s')
    t.like(c.getwelcome().decode(), r'^\+OK', 'POP3S still serves afterwards')
    c.quit()
    log_clean(t, s)

with Server(conf=conf(), accounts={'alice': 'pw-alice'}, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    p = Pop(s)
    p.cmd('CAPA')
    capa = p.multi()
    t.ok('STLS' not in capa, 'no certificate: no STLS in CAPA')
    t.ok('USER' in capa and 'SASL PLAIN' in capa, 'loopback: USER and SASL PLAIN offered')
    t.like(p.cmd('STLS'), r'^-ERR ', 'no certificate: STLS refused')
    r1, r2 = p.login('alice', 'pw-alice')
    t.like(r2, r'^\+OK', 'plaintext login from loopback without TLS')
    p.cmd('QUIT')
    p.close()
    log_clean(t, s)
t.done()
