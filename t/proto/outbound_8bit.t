#!/usr/bin/env python3
# 8BITMIME on the way out (issue 6, RFC 6152): a message received with
# BODY=8BITMIME goes to a peer that offers 8BITMIME unchanged with
# BODY=8BITMIME, and to one that does not converted to 7 bits (quoted-
# printable for text, base64 for the rest), still the same message once
# decoded.
import email
import email.policy
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP

t = TAP()
ACC = {'alice': 'pw'}
TEXT = 'Grüße aus Köln — こんにちは\n'        # mostly 8-bit: base64
LATIN = 'Schöne Grüße aus Köln, bis bald.\n'   # mostly 7-bit: quoted-printable
PLAIN = ('Subject: 8bit\r\nFrom: alice@localhost\r\nMIME-Version: 1.0\r\n'
         'Content-Type: text/plain; charset=utf-8\r\n'
         'Content-Transfer-Encoding: 8bit\r\n\r\n' + LATIN.replace('\n', '\r\n')).encode()
BLOB = bytes(range(256))
MULTI = (b'Subject: parts\r\nFrom: alice@localhost\r\nMIME-Version: 1.0\r\n'
         b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n'
         b'--b1\r\nContent-Type: text/plain; charset=utf-8\r\n'
         b'Content-Transfer-Encoding: 8bit\r\n\r\n' + TEXT.replace('\n', '\r\n').encode() +
         b'--b1\r\nContent-Type: application/octet-stream\r\n'
         b'Content-Transfer-Encoding: binary\r\n\r\n' + BLOB.replace(b'\r\n', b'') .replace(b'\n', b'') .replace(b'\r', b'') + b'\r\n'
         b'--b1--\r\n')


def send8(s, rcpt, body):
    with s.smtp() as c:
        c.ehlo('client.test')
        c.user, c.password = 'alice', 'pw'
        c.auth('PLAIN', c.auth_plain)
        c.sendmail('alice@localhost', [rcpt], body, mail_options=['BODY=8BITMIME'])


def gw(port):
    return {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % port}


with Sink() as sink:
    with Server(accounts=ACC, files=gw(sink.port)) as s:
        send8(s, 'bob@remote.test', PLAIN)
        t.ok(sink.wait(1), 'delivered to a peer with 8BITMIME')
        x = sink.delivered()[0]
        t.ok('BODY=8BITMIME' in x['params'], 'declared BODY=8BITMIME')
        t.ok(LATIN.replace('\n', '\r\n').encode() in x['data'], 'the 8-bit body unchanged')

with Sink(eightbit=False) as sink:
    with Server(accounts=ACC, files=gw(sink.port)) as s:
        send8(s, 'bob@remote.test', PLAIN)
        send8(s, 'bob@remote.test', MULTI)
        t.ok(sink.wait(2), 'delivered to a peer without 8BITMIME')
        got = sorted(sink.delivered(), key=lambda x: b'Subject: parts' in x['data'])
        a, b = got[0], got[1]  # the plain one, then the multipart one
        t.ok('BODY=' not in a['params'], 'no BODY= parameter to that peer')
        t.ok(all(ch < 128 for ch in a['data'] + b['data']), 'every octet sent is 7-bit')
        m = email.message_from_bytes(a['data'], policy=email.policy.default)
        t.is_(m['Content-Transfer-Encoding'], 'quoted-printable', 'text: quoted-printable')
        t.is_(m.get_content().replace('\r\n', '\n'), LATIN, 'text: the same once decoded')
        m = email.message_from_bytes(b['data'], policy=email.policy.default)
        parts = list(m.iter_parts())
        t.is_(len(parts), 2, 'multipart: both parts kept')
        t.is_(parts[0]['Content-Transfer-Encoding'], 'base64', 'multipart: mostly 8-bit text in base64')
        # the line end before a boundary belongs to the boundary (RFC 2046)
        t.is_(parts[0].get_content().replace('\r\n', '\n'), TEXT.rstrip('\n'),
              'multipart: text part the same')
        t.is_(parts[1]['Content-Transfer-Encoding'], 'base64', 'multipart: binary part in base64')
        t.is_(parts[1].get_content(), BLOB.replace(b'\r\n', b'').replace(b'\n', b'').replace(b'\r', b''),
              'multipart: binary part the same once decoded')
        t.is_(b['data'].count(b'--b1'), 3, 'boundaries kept')
        # a header block the converter will not rewrite: a bounce, not a guess
        big = b''.join(b'X-Filler-%04d: %s\r\n' % (i, b'x' * 90) for i in range(800))
        send8(s, 'carol@remote.test', big + PLAIN)
        t.ok(s.wait_log(r'to=<carol@remote\.test> .*status=bounced \(554 5\.6\.5 the server '
                        r'does not accept 8-bit data and the message cannot be converted'),
             'unconvertible: bounced with 5.6.5')
        t.ok(s.wait_mail('alice', 1), 'the sender gets the report')
        t.is_(len(sink.delivered()), 2, 'nothing sent for it')
t.done()
