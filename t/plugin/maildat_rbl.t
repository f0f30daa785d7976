#!/usr/bin/env python3
# maildat plugin: RBL:ZONE URI blocklist lookups (F117) against dnsmasq on
# loopback (server.resolver): a listed domain (answer in 127.0.0.0/8), a
# domain that is not listed (NXDOMAIN, or an answer outside 127/8), and a
# zone whose name server never answers: the message is accepted, the log
# says the lookup failed, and the hook returns within server.hook_timeout
# (which would turn a stall into a 451 and a log line).
import os
import re
import socket
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Dnsmasq, Server, TAP, data_code

t = TAP()

# a name server that never answers: a UDP socket nobody reads
hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hole.bind(('127.0.0.1', 0))
hole_port = hole.getsockname()[1]

dns = Dnsmasq(['--address=/listed-site.com.uribl.test/127.0.0.2',
               '--address=/jp-listed.co.jp.uribl.test/127.0.0.4',
               '--address=/www-listed.org.uribl.test/127.0.0.3',
               '--address=/outside.com.uribl.test/10.0.0.1',
               '--server=/hole.test/127.0.0.1#%d' % hole_port])
if not dns.available:
    print('1..0 # skip dnsmasq not available')
    sys.exit(0)

RULES = '''Virus:uribl test
RBL:uribl.test
Level:400
Tag:X-URIBL:listed
VirusEnd:

Virus:refuse by uribl
RBL:uribl.test
Subject:refuse
Level:100
VirusEnd:

Virus:black hole
RBL:hole.test
Level:400
Tag:X-Hole:listed
VirusEnd:
'''

n_alice = [0]


def send(s, subject, body):
    msg = ('From: dave@example.org\r\nTo: alice@localhost\r\nSubject: %s\r\n\r\n%s'
           % (subject, body.replace('\n', '\r\n'))).encode()
    return data_code(s, 'dave@example.org', ['alice@localhost'], msg)


def last_mail(s, subject):
    for m in s.mails('alice'):
        if ('Subject: ' + subject).encode() in m:
            return m.decode('utf-8', 'replace')
    return ''


try:
    conf = {'server': {'plugins': 'maildat', 'resolver': dns.resolver, 'hook_timeout': '5'},
            'plugin maildat': {'rbl_timeout': '1000'}}
    with Server(conf=conf, accounts={'alice': 'pw'}, files={'mail.dat': RULES}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

        def stored(subject, body):
            n_alice[0] += 1
            c = send(s, subject, body)
            ok = c == 250 and s.wait_mail('alice', n_alice[0])
            return c, last_mail(s, subject)

        c, m = stored('one', 'see http://www.Listed-Site.com/offer?x=1 now\n')
        t.is_(c, 250, 'listed URL: accepted (action 4)')
        t.like(m, r'X-URIBL: listed', 'listed domain: the rule matches (127.0.0.2)')
        t.ok(s.wait_log(r'match rule="uribl test" level=400 .*listed=listed-site\.com'),
             'the match names the listed domain')

        c, m = stored('two', 'go to https://shop.sub.jp-listed.co.jp/x\n')
        t.like(m, r'X-URIBL: listed', 'a co.jp host is reduced to its registered domain')

        c, m = stored('three', 'bare form www.www-listed.org here\n')
        t.like(m, r'X-URIBL: listed', 'a bare www. name is looked up')

        c, m = stored('four', 'nothing bad at http://clean-site.com/\n')
        t.is_(c, 250, 'not listed: accepted')
        t.ok(m and 'X-URIBL' not in m, 'not listed (NXDOMAIN): no match')

        c, m = stored('five', 'http://outside.com/ answers 10.0.0.1\n')
        t.ok(m and 'X-URIBL' not in m, 'an answer outside 127.0.0.0/8 is not listed')

        c, m = stored('six', 'no links here at all\n')
        t.ok(m and 'X-URIBL' not in m, 'a body without URLs does not match an RBL rule')

        b64 = 'aHR0cDovL2xpc3RlZC1zaXRlLmNvbS9w\n'    # "http://listed-site.com/p"
        n_alice[0] += 1
        msg = ('From: d@example.org\r\nTo: alice@localhost\r\nSubject: seven\r\n'
               'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n'
               'Content-Transfer-Encoding: base64\r\n\r\n' + b64.replace('\n', '\r\n')).encode()
        with s.smtp() as cl:
            cl.sendmail('d@example.org', ['alice@localhost'], msg)
        s.wait_mail('alice', n_alice[0])
        t.like(last_mail(s, 'seven'), r'X-URIBL: listed', 'a URL in a base64 body is found')

        t.is_(send(s, 'refuse', 'http://listed-site.com/\n'), 250,
              'first matching rule decides (the tag rule comes first)')
        n_alice[0] += 1

        # the zone whose server never answers
        c, m = stored('hole', 'see http://unlisted-hole.com/ now\n')
        t.is_(c, 250, 'DNS timeout: the message is accepted (not a 451 from hook_timeout)')
        t.ok(m and 'X-Hole' not in m, 'DNS timeout: not listed')
        t.ok(s.wait_log(r'rbl lookup unlisted-hole\.com\.hole\.test timed out; not listed'),
             'the log says the lookup failed')
        t.ok(not re.search(r'plugin=maildat hook=data timed out', s.log()),
             'the hook did not run into server.hook_timeout (5 s; rbl_timeout is 1 s)')
finally:
    dns.stop()
    hole.close()

t.done()
