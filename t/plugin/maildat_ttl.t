#!/usr/bin/env python3
# maildat plugin, times that run out, read on the test clock
# (YUBIN_TEST_CLOCK_OFFSET, shifted across restarts, never by sleeping):
#  - an RBL answer (F117) is cached in LMDB for the TTL of the DNS answer
#    (a negative one for MD_RBL_NEG_TTL, 300 s): within it the name server
#    is not asked again, even after a restart; after it, it is;
#  - a client registered by a rule's register digit is refused at connect
#    for [plugin maildat] register_ttl seconds and admitted after them.
# The name server is a small one in this script that counts the questions.
import os
import smtplib
import socket
import struct
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until, data_code

t = TAP()


class CountingDNS(threading.Thread):
    """A name server on 127.0.0.1 that answers A questions from RECORDS
    (name -> (address, ttl)), NXDOMAIN otherwise, and counts them."""

    def __init__(self, records):
        super().__init__(daemon=True)
        self.records = dict(records)
        self.asked = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.resolver = '127.0.0.1:%d' % self.sock.getsockname()[1]
        self.start()

    def run(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(q) < 12:
                continue
            i, labels = 12, []
            while i < len(q) and q[i] != 0:
                labels.append(q[i + 1:i + 1 + q[i]].decode('ascii', 'replace'))
                i += 1 + q[i]
            qend = i + 5
            name = '.'.join(labels).lower()
            self.asked[name] = self.asked.get(name, 0) + 1
            rec = self.records.get(name)
            flags = 0x8580 | (0 if rec else 3)
            head = q[:2] + struct.pack('>HHHHH', flags, 1, 1 if rec else 0, 0, 0)
            ans = b''
            if rec:
                ans = (b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, rec[1], 4) +
                       socket.inet_aton(rec[0]))
            self.sock.sendto(head + q[12:qend] + ans, peer)

    def count(self, name):
        return self.asked.get(name, 0)

    def stop(self):
        self.sock.close()


RULES = '''Virus:uribl
RBL:uribl.test
Level:400
Tag:X-URIBL:listed
VirusEnd:

Virus:register
Subject:register-me
Level:101
VirusEnd:
'''

LISTED = 'listed-site.com.uribl.test'
CLEAN = 'clean-site.com.uribl.test'


def send(s, subject, body, source=None):
    msg = ('From: dave@example.org\r\nTo: alice@localhost\r\nSubject: %s\r\n\r\n%s\r\n'
           % (subject, body)).encode()
    return data_code(s, 'dave@example.org', ['alice@localhost'], msg, source=source)


def stored(s, subject):
    for m in s.mails('alice'):
        if ('Subject: %s\n' % subject).encode() in m:
            return m.decode('utf-8', 'replace')
    return None


def restart(s, offset):
    s.stop()
    s.env['YUBIN_TEST_CLOCK_OFFSET'] = str(offset)
    s.start()


def connect_refused(s, source):
    try:
        c = s.smtp(source=source)
    except (smtplib.SMTPException, OSError):
        return True
    c.quit()
    return False


dns = CountingDNS({LISTED: ('127.0.0.2', 600)})
try:
    conf = {'server': {'plugins': 'maildat', 'resolver': dns.resolver},
            'plugin maildat': {'rbl_timeout': '2000', 'register_ttl': '1000'}}
    with Server(conf=conf, accounts={'alice': 'pw'}, files={'mail.dat': RULES},
                env={'YUBIN_TEST_CLOCK_OFFSET': '0'}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
        n = [0]

        def check(subject, body):
            n[0] += 1
            code = send(s, subject, body)
            s.wait_mail('alice', n[0])
            return code, stored(s, subject) or ''

        # ---- the RBL cache ----
        code, m = check('rbl one', 'see http://listed-site.com/x')
        t.is_(code, 250, 'listed URL: accepted')
        t.like(m, r'X-URIBL: listed', 'listed (answer 127.0.0.2, TTL 600)')
        t.is_(dns.count(LISTED), 1, 'the name server was asked once')

        code, m = check('rbl two', 'again http://listed-site.com/y')
        t.like(m, r'X-URIBL: listed', 'second message: still listed')
        t.is_(dns.count(LISTED), 1, 'second message: answered from the cache')

        # the zone drops the name; the cached answer still holds for its TTL
        del dns.records[LISTED]
        restart(s, 500)
        code, m = check('rbl three', 'once more http://listed-site.com/z')
        t.like(m, r'X-URIBL: listed', '500 s later, after a restart: the cached answer holds')
        t.is_(dns.count(LISTED), 1, 'the cache lives in LMDB: not asked again')

        restart(s, 700)
        code, m = check('rbl four', 'and http://listed-site.com/w')
        t.ok(m and 'X-URIBL' not in m, '700 s later (past the TTL): looked up again, not listed now')
        t.is_(dns.count(LISTED), 2, 'the name server was asked again after the TTL')

        # a negative answer is cached too, for 300 s
        code, m = check('rbl five', 'http://clean-site.com/')
        t.is_(dns.count(CLEAN), 1, 'an unlisted name is asked once')
        code, m = check('rbl six', 'http://clean-site.com/')
        t.is_(dns.count(CLEAN), 1, 'the negative answer is cached')
        restart(s, 700 + 301)
        code, m = check('rbl seven', 'http://clean-site.com/')
        t.is_(dns.count(CLEAN), 2, 'and asked again after 300 s')

        # ---- register_ttl ----
        t.is_(send(s, 'register-me', 'hi', source='127.0.0.9'), 550,
              'the register rule refuses the message')
        t.ok(connect_refused(s, '127.0.0.9'), 'the client is then refused at connect')
        t.like(s.ctl('block', 'list').stdout, r'127\.0\.0\.9',
               'yubinctl block list shows the registration')
        t.ok(not connect_refused(s, '127.0.0.10'), 'another client is not')

        restart(s, 1001 + 500)
        t.ok(connect_refused(s, '127.0.0.9'),
             '500 s later, after a restart: still refused (register_ttl = 1000)')

        restart(s, 1001 + 1100)
        t.ok(not connect_refused(s, '127.0.0.9'), 'after register_ttl: admitted again')
        t.ok('127.0.0.9' not in s.ctl('block', 'list').stdout,
             'and no longer listed by yubinctl block list')
        n[0] += 1
        t.is_(send(s, 'after expiry', 'hello', source='127.0.0.9'), 250,
              'its mail is accepted again')
finally:
    dns.stop()

t.done()
