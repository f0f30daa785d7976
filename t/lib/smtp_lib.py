"""smtp_lib - helpers shared by the t/proto/smtp_*.t tests.

A Session is a raw SMTP client (yubintest.Raw) that has read the greeting;
expect() checks one reply's code and RFC 3463 enhanced code, and optionally
its text.  Every step of a protocol script is one expect().
"""

import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from yubintest import Server, TAP, Raw, client_tls_context, binary  # noqa: E402,F401

FAST = {'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0'}}   # failed AUTH answers at once


def conf(*extra):
    """FAST merged with EXTRA dicts of sections."""
    out = {k: dict(v) for k, v in FAST.items()}
    for e in extra:
        for sec, kv in e.items():
            out.setdefault(sec, {}).update(kv)
    return out


def enhanced(text):
    """The enhanced status code of a reply's last line, or None."""
    last = (text or '').split('\n')[-1]
    m = re.match(r'^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})(?: |$)', last)
    return m.group(1) if m else None


def expect(t, reply, code, enh, name, text=None):
    """REPLY (code, text) from Raw.reply(): CODE, enhanced code ENH (None:
    must have none) and, when given, regex TEXT."""
    got_code, got_text = reply
    good = got_code == code and enhanced(got_text) == enh
    if text is not None:
        good = good and got_text is not None and re.search(text, got_text) is not None
    r = t.ok(good, name)
    if not r:
        t.diag('got:  %r' % (reply,))
        t.diag('want: %r %r %r' % (code, enh, text))
    return r


class Session(Raw):
    """A raw connection to LISTENER that has read (and kept) the greeting."""

    def __init__(self, server, listener='smtp', greet=True, timeout=30):
        sock = server.connect(listener, timeout=timeout)
        if listener == 'smtps':
            sock = client_tls_context().wrap_socket(sock)
        Raw.__init__(self, sock)
        self.greeting = self.reply() if greet else None

    def ehlo(self, name='client.example'):
        return self.cmd('EHLO ' + name)

    def starttls(self):
        """STARTTLS and the handshake; returns the 220 reply."""
        r = self.cmd('STARTTLS')
        if r[0] == 220:
            self.sock = client_tls_context().wrap_socket(self.sock)
        return r

    def data(self, body):
        """Send message BODY (bytes, CRLF lines, dot-stuffed by the caller)
        followed by the end of data; returns the reply."""
        self.send(body + b'.\r\n')
        return self.reply()

    def closed(self):
        """True when the server has closed the connection (EOF)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def cram_md5(challenge_b64, user, secret):
    chal = base64.b64decode(challenge_b64)
    digest = hmac.new(secret.encode(), chal, hashlib.md5).hexdigest()
    return b64('%s %s' % (user, digest))


def message(subject, body='hello\r\n', sender='sender@example.org', to='alice@localhost'):
    """A small RFC 5322 message with CRLF line ends."""
    return ('From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s' %
            (sender, to, subject, body)).encode()


def lf(data):
    return data.replace(b'\r\n', b'\n')


def trace_split(stored):
    """(Return-Path value, Delivered-To value, rest) of a stored message: the
    two trace lines final delivery writes first (DESIGN 7); (None, None,
    stored) when the message does not begin with them."""
    m = re.match(rb'Return-Path: (<[^\n]*>)\nDelivered-To: ([^\n]*)\n', stored)
    if not m:
        return None, None, stored
    return m.group(1), m.group(2), stored[m.end():]


def received_split(stored):
    """(Received header bytes, rest) of a stored message, below its trace
    lines (Return-Path:, Delivered-To:)."""
    stored = trace_split(stored)[2]
    m = re.match(rb'(Received:[^\n]*\n(?:[ \t][^\n]*\n)*)', stored)
    if not m:
        return None, stored
    return m.group(1), stored[m.end():]


def queued_id(reply):
    m = re.search(r'queued as ([0-9A-F]{16})', reply[1] or '')
    return m.group(1) if m else None


def count_accepted(server):
    return len(re.findall(r': accepted from=', server.log()))


def find_mail(server, account, needle):
    """The first stored message of ACCOUNT that contains NEEDLE (bytes), or
    b'' (file names sort by queue id, not strictly by arrival)."""
    for m in server.mails(account):
        if needle in m:
            return m
    return b''
