#!/usr/bin/env python3
# maildat plugin: [plugin maildat] exempt (addresses and CIDRs, F118) and
# exempt_auth (authenticated sessions are not checked).
import os
import smtplib
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, binary, send_authed, data_code

t = TAP()

RULES = '''Virus:refuse
Subject:refuse-me
Level:100
VirusEnd:
'''
MSG = b'From: dave@example.org\r\nTo: alice@localhost\r\nSubject: refuse-me\r\n\r\nhi\r\n'


def code(s, source=None):
    return data_code(s, 'dave@example.org', ['alice@localhost'], MSG, source=source)


def conf(**kw):
    return {'server': {'plugins': 'maildat'}, 'plugin maildat': kw}


with Server(conf=conf(exempt='127.0.0.8/29, 127.0.0.20 ::1'),
            accounts={'alice': 'pw'}, files={'mail.dat': RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    t.is_(code(s), 550, 'a client outside the exempt list is checked')
    t.is_(code(s, '127.0.0.8'), 250, 'first address of an exempt CIDR is not checked')
    t.is_(code(s, '127.0.0.15'), 250, 'last address of an exempt CIDR is not checked')
    t.is_(code(s, '127.0.0.16'), 550, 'the address after the CIDR is checked')
    t.is_(code(s, '127.0.0.7'), 550, 'the address before the CIDR is checked')
    t.is_(code(s, '127.0.0.20'), 250, 'an exempt single address is not checked')
    t.is_(code(s, '127.0.0.21'), 550, 'its neighbour is checked')
    t.ok(s.wait_mail('alice', 3), 'the exempt messages are stored')
    with s.smtp() as c:
        c.ehlo('client.test')
        c.login('alice', 'pw')
        try:
            c.sendmail('alice@localhost', ['alice@localhost'], MSG)
            got = 250
        except smtplib.SMTPDataError as e:
            got = e.smtp_code
    t.is_(got, 550, 'without exempt_auth an authenticated session is checked')

with Server(conf=conf(exempt_auth='yes'), accounts={'alice': 'pw'},
            files={'mail.dat': RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    t.is_(code(s), 550, 'exempt_auth: an anonymous session is checked')
    try:
        refused = send_authed(s, 'alice@localhost', ['alice@localhost'], MSG)
        t.is_(refused, {}, 'exempt_auth: an authenticated session is not checked')
    except smtplib.SMTPDataError as e:
        t.ok(False, 'exempt_auth: an authenticated session is not checked (%d)' % e.smtp_code)
    t.ok(s.wait_mail('alice', 1), 'and its message is stored')

for bad in ('127.0.0.1/33', 'not-an-ip', '10.0.0.0/x'):
    s = Server(conf=conf(exempt=bad), files={'mail.dat': RULES}, start=False)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
    s.cleanup()
    t.is_(r.returncode, 1, 'exempt %s: yubind -t fails' % bad)
    t.like(r.stderr, r"exempt: '%s' is not an address or CIDR" % bad.replace('.', r'\.'),
           'exempt %s: named' % bad)

t.done()
