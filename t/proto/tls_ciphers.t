#!/usr/bin/env python3
# TLS defaults (issue 12 item 16): submission, smtps, pop3 and pop3s offer
# only ECDHE key exchange with AEAD ciphers (TLS 1.2) or TLS 1.3; a client
# that offers static RSA or CBC suites fails the handshake, and the log says
# why (OpenSSL's reason and the client's address).  Port 25 STARTTLS keeps a
# wider set for opportunistic MTA-to-MTA TLS, still nothing weak.  TLS 1.0
# and 1.1 are refused everywhere.
import os
import re
import socket
import ssl
import sys
import warnings
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()
warnings.filterwarnings('ignore', category=DeprecationWarning)


def client_ctx(ciphers=None, version=ssl.TLSVersion.TLSv1_2):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        # @SECLEVEL=0 so that the client can offer what we test the server
        # refuses (old protocol versions); the server's choice is on trial
        ctx.set_ciphers((ciphers or 'DEFAULT') + ':@SECLEVEL=0')
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def readline(sock):
    out = b''
    while not out.endswith(b'\n'):
        b = sock.recv(1)
        if not b:
            break
        out += b
    return out.decode('latin-1')


def smtp_reply(sock):
    while True:
        line = readline(sock)
        if len(line) < 4 or line[3] != '-':
            return line


def plain_prefix(listener, sock):
    """Bring a plain-port session to the point where TLS starts."""
    if listener in ('smtp', 'submission'):
        smtp_reply(sock)
        sock.sendall(b'EHLO client.test\r\n')
        smtp_reply(sock)
        sock.sendall(b'STARTTLS\r\n')
        return smtp_reply(sock).startswith('220')
    if listener == 'pop3':
        readline(sock)
        sock.sendall(b'STLS\r\n')
        return readline(sock).startswith('+OK')
    return True     # smtps, pop3s: TLS from the first byte


def handshake(s, listener, ctx):
    """(cipher name, TLS version) or None when the handshake fails."""
    sock = s.connect(listener, timeout=20)
    try:
        if not plain_prefix(listener, sock):
            return None
        tls = ctx.wrap_socket(sock)
        got = (tls.cipher()[0], tls.version())
        tls.close()
        return got
    except (ssl.SSLError, OSError):
        return None
    finally:
        sock.close()


STRICT = ('submission', 'smtps', 'pop3', 'pop3s')
REFUSED = [
    ('AES128-SHA', 'static RSA, CBC'),
    ('AES128-GCM-SHA256', 'static RSA key exchange'),
    ('AES256-SHA256', 'static RSA, CBC'),
    ('ECDHE-RSA-AES128-SHA', 'ECDHE with CBC'),
    ('ECDHE-RSA-AES128-SHA256', 'ECDHE with CBC'),
    ('ECDHE-RSA-AES256-SHA384', 'ECDHE with CBC'),
]
ACCEPTED = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384',
            'ECDHE-RSA-CHACHA20-POLY1305']

with Server() as s:
    for listener in STRICT:
        for cipher, what in REFUSED:
            t.is_(handshake(s, listener, client_ctx(cipher)), None,
                  '%s: a TLS 1.2 client offering only %s (%s) is refused'
                  % (listener, cipher, what))
        for cipher in ACCEPTED:
            got = handshake(s, listener, client_ctx(cipher))
            t.is_(got, (cipher, 'TLSv1.2'), '%s: %s accepted' % (listener, cipher))
        got = handshake(s, listener, client_ctx(version=None))
        t.ok(got is not None and got[1] == 'TLSv1.3', '%s: TLS 1.3 by default' % listener)
        t.is_(handshake(s, listener, client_ctx(version=ssl.TLSVersion.TLSv1_1)),
              None, '%s: TLS 1.1 refused' % listener)

    # port 25 STARTTLS: opportunistic, wider, still ECDHE+AEAD first
    for cipher in ('ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384', 'AES128-GCM-SHA256',
                   'AES128-SHA'):
        t.is_(handshake(s, 'smtp', client_ctx(cipher)), (cipher, 'TLSv1.2'),
              'smtp (25) STARTTLS: %s still accepted' % cipher)
    got = handshake(s, 'smtp', client_ctx('ECDHE-RSA-AES128-SHA:AES128-SHA:'
                                          'ECDHE-RSA-AES128-GCM-SHA256'))
    t.is_(got, ('ECDHE-RSA-AES128-GCM-SHA256', 'TLSv1.2'),
          'smtp (25): the server prefers ECDHE with AEAD when the client has it')
    for cipher in ('DES-CBC3-SHA', 'RC4-SHA', 'NULL-SHA256', 'ADH-AES128-GCM-SHA256',
                   'AECDH-AES128-SHA'):
        try:
            ctx = client_ctx(cipher)
        except ssl.SSLError:
            t.ok(True, 'smtp (25): %s not even offered by this OpenSSL' % cipher)
            continue
        t.is_(handshake(s, 'smtp', ctx), None, 'smtp (25): %s refused' % cipher)
    t.is_(handshake(s, 'smtp', client_ctx(version=ssl.TLSVersion.TLSv1)), None,
          'smtp (25): TLS 1.0 refused')

    # the log says why a handshake failed, with the client's address
    log = s.log()
    t.like(log, r'starttls failed client=127\.0\.0\.1: TLS handshake failed: '
           r'error:[0-9A-F]+:SSL routines:[^\n]*no shared cipher',
           'submission STARTTLS: the OpenSSL reason is logged with the client')
    t.like(log, r'tls failed client=127\.0\.0\.1: TLS handshake failed: error:'
           r'[^\n]*no shared cipher', 'smtps: the OpenSSL reason is logged')
    t.like(log, r'pop3 (stls|tls) failed client=127\.0\.0\.1 reason="TLS handshake '
           r'failed: error:[^\n]*no shared cipher', 'pop3: the OpenSSL reason is logged')
    t.like(log, r'failed client=127\.0\.0\.1[^\n]*(unsupported protocol|'
           r'version too low|protocol version)', 'an old TLS version: the reason is logged')
    long_lines = [l for l in log.splitlines() if 'handshake failed' in l and len(l) > 600]
    t.is_(long_lines, [], 'handshake failure lines stay bounded')

t.done()
