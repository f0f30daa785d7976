#!/usr/bin/env python3
"""dnsbl plugin (DESIGN §13, RFC 5782): clients listed in DNS blocklists
get 554 5.7.1 at RCPT, after postscreen's model.

A real dnsmasq on loopback serves the zones bl.test, bl2.test and wl.test
(an allow-list); yubind asks it through a small counting proxy (a Python
UDP server that forwards each question and counts it), so a test can say
which names were asked and how often.  The clients are loopback addresses
(127.0.0.N as the source of the connection, and ::1):
  127.0.0.2  listed in bl.test (A 127.0.0.2, TXT with a reason)
  127.0.0.3  listed nowhere
  127.0.0.4  listed in bl.test, but in never_query
  127.0.0.5  listed in bl.test, but in smtp.address_permits_relay
  127.0.0.6  listed in bl.test and bl2.test
  127.0.0.7  listed in bl.test, bl2.test and wl.test
  127.0.0.8  bl.test answers 10.0.0.8 (a resolver that answers anything)
  127.0.0.9  bl.test answers 127.0.0.1 (never a listing, RFC 5782 §5)
  127.0.0.10 listed in bl.test with a TXT full of control bytes
  ::1        listed in bl.test (the nibble name)
Cases: a listed client gets 554 5.7.1 naming the zone and its reason at
every RCPT, postmaster@ and abuse@ still taken; one log line per session;
a second connection within the TTL asks nothing; the unlisted, never_query,
address_permits_relay and authenticated clients pass (never_query's name
is never asked); IPv6; two zones of weight 1 under threshold 2; an
allow-list zone of weight -1; bogus answers, a dead DNS server (a closed
port), a silent one (all zones cost one deadline) and a garbage answer
accept the mail with one log line; a bad value of each key makes yubind -t
and the start fail with file:line."""

import os
import re
import smtplib
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, TAP, Dnsmasq, binary, free_port, wait_until  # noqa: E402
from relay_lib import all_ports, ipv6_loopback  # noqa: E402

t = TAP()
V6 = ipv6_loopback()
NIB1 = '.'.join(['1'] + ['0'] * 31)          # ::1 reversed
REASON = 'Listed in bl.test see http://bl.test/q?ip=127.0.0.2'


def rev(ip):
    return '.'.join(reversed(ip.split('.')))


def listed(ip, zone, a='127.0.0.2'):
    return '--host-record=%s.%s,%s' % (rev(ip) if ':' not in ip else NIB1, zone, a)


DNS_ARGS = [
    listed('127.0.0.2', 'bl.test'),
    '--txt-record=%s.bl.test,%s' % (rev('127.0.0.2'), REASON),
    listed('127.0.0.4', 'bl.test'),
    listed('127.0.0.5', 'bl.test'),
    listed('127.0.0.6', 'bl.test'), listed('127.0.0.6', 'bl2.test', '127.0.0.3'),
    listed('127.0.0.7', 'bl.test'), listed('127.0.0.7', 'bl2.test'),
    listed('127.0.0.7', 'wl.test', '127.0.2.1'),
    listed('127.0.0.8', 'bl.test', '10.0.0.8'),
    listed('127.0.0.9', 'bl.test', '127.0.0.1'),
    listed('127.0.0.10', 'bl.test', '127.0.0.4'),
    '--txt-record=%s.bl.test,bad\x01\x1b[31mred\x7fend' % rev('127.0.0.10'),
    listed('::1', 'bl.test'),
]


class Proxy:
    """A UDP DNS server on 127.0.0.1: MODE 'forward' passes each question
    to UPSTREAM and its answer back, 'silent' never answers, 'garbage'
    answers with our id and question and then a record that runs past the
    packet.  Each question's name and type is counted."""

    def __init__(self, upstream=None, mode='forward'):
        self.upstream, self.mode = upstream, mode
        self.counts = {}
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.resolver = '127.0.0.1:%d' % self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def question(pkt):
        """(name, type, end of the question) of PKT."""
        o, labels = 12, []
        while o < len(pkt) and pkt[o] != 0:
            n = pkt[o]
            labels.append(pkt[o + 1:o + 1 + n].decode('ascii', 'replace').lower())
            o += 1 + n
        o += 1
        return '.'.join(labels), int.from_bytes(pkt[o:o + 2], 'big'), o + 4

    def count(self, name, qtype=1):
        with self.lock:
            return self.counts.get((name, qtype), 0)

    def total(self):
        with self.lock:
            return sum(self.counts.values())

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                pkt, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(pkt) < 17:
                continue
            name, qtype, qend = self.question(pkt)
            with self.lock:
                self.counts[(name, qtype)] = self.counts.get((name, qtype), 0) + 1
            if self.mode == 'silent':
                continue
            if self.mode == 'garbage':
                # our id, QR, one question, one answer that runs past the end
                ans = (pkt[:2] + b'\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00' +
                       pkt[12:qend] + b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x40\x7f')
                self.sock.sendto(ans, peer)
                continue
            up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            up.settimeout(2)
            try:
                up.sendto(pkt, self.upstream)
                self.sock.sendto(up.recv(65535), peer)
            except OSError:
                pass
            finally:
                up.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def conf(resolver, **plug):
    p = {'zones': 'bl.test', 'never_query': '127.0.0.4, 192.0.2.0/24', 'timeout': '3s'}
    p.update(plug)
    return {'server': {'plugins': 'dnsbl relay quota', 'resolver': resolver},
            'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0',
                     'address_permits_relay': '127.0.0.5',
                     'listen': '127.0.0.1, ::1' if V6 else '127.0.0.1'},
            'plugin dnsbl': p}


def connect(s, source):
    v6 = ':' in source
    for host, port in all_ports(s)['smtp']:
        if (':' in host) == v6:
            return smtplib.SMTP(host, port, timeout=30, source_address=(source, 0))
    raise RuntimeError('no listener for %s' % source)


def session(s, source, rcpts, auth=None):
    """[(code, text)] of MAIL FROM and each RCPT TO in one session from
    SOURCE (after AUTH PLAIN as AUTH=(user, password) when given)."""
    c = connect(s, source)
    try:
        c.ehlo('client.test')
        if auth:
            c.user, c.password = auth
            c.auth('PLAIN', c.auth_plain)
        out = [c.mail('sender@example.org')]
        for r in rcpts:
            out.append(c.rcpt(r))
        return [(code, msg.decode(errors='replace')) for code, msg in out]
    finally:
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass


def refused(r, zone, name, reason=None):
    ok = r[0] == 554 and r[1].startswith('5.7.1 ') and ('blocked using %s' % zone) in r[1]
    if reason is not None:
        ok = ok and r[1].endswith(reason)
    if not t.ok(ok, name):
        t.diag('got %r' % (r,))


def taken(r, name):
    if not t.ok(r[0] == 250, name):
        t.diag('got %r' % (r,))


def verdicts(s, client):
    return re.findall(r'plugin=dnsbl dnsbl action=\S+ client=%s .*' % re.escape(client), s.log())


ACC = {'alice': 'pw', 'abuse': 'pw'}
dns = Dnsmasq(DNS_ARGS)
if not dns.available:
    print('1..0 # SKIP dnsmasq not installed')
    sys.exit(0)

with dns:
    px = Proxy(('127.0.0.1', dns.port))
    # ---- one zone, threshold 1 -------------------------------------------
    with Server(conf=conf(px.resolver), accounts=ACC, tls=False) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        r = session(s, '127.0.0.2', ['alice@localhost', 'postmaster@localhost',
                                     'abuse@localhost', 'ALICE@localhost'])
        taken(r[0], 'listed client: MAIL FROM is taken (the check is at RCPT)')
        refused(r[1], 'bl.test', 'listed client: 554 5.7.1 naming the zone and its TXT reason',
                REASON)
        t.ok('[127.0.0.2]' in r[1][1], 'and the client address')
        taken(r[2], 'postmaster@ of a local domain: still taken')
        taken(r[3], 'abuse@ of a local domain: still taken')
        refused(r[4], 'bl.test', 'a further RCPT: refused again')
        t.ok(s.wait_log(r'plugin=dnsbl dnsbl action=reject client=127\.0\.0\.2 score=1 '
                        r'threshold=1 zones=bl\.test:listed\(127\.0\.0\.2,\+1\) cached=0'),
             'one log line with client, score, threshold and the zone')
        t.is_(len(verdicts(s, '127.0.0.2')), 1, 'one verdict for the session, not one per RCPT')
        t.is_(px.count(rev('127.0.0.2') + '.bl.test'), 1, 'the A question asked once')
        t.is_(px.count(rev('127.0.0.2') + '.bl.test', 16), 1, 'and its TXT once')

        # cached: a second connection within the TTL asks nothing
        before = px.total()
        r = session(s, '127.0.0.2', ['alice@localhost'])
        refused(r[1], 'bl.test', 'second connection: refused from the cache, with the reason',
                REASON)
        t.is_(px.total(), before, 'second connection: no DNS question at all')
        t.ok(wait_until(lambda: len(verdicts(s, '127.0.0.2')) == 2) and
             re.search(r'client=127\.0\.0\.2 .*cached=1', s.log()) is not None,
             'its verdict logged as cached')

        r = session(s, '127.0.0.3', ['alice@localhost'])
        taken(r[1], 'unlisted client: taken')
        t.ok(s.wait_log(r'dnsbl action=pass client=127\.0\.0\.3 score=0 threshold=1 '
                        r'zones=bl\.test:clean cached=0'), 'logged as pass, zone clean')
        before = px.total()
        taken(session(s, '127.0.0.3', ['alice@localhost'])[1], 'unlisted client again: taken')
        t.is_(px.total(), before, 'a clean answer is cached too')

        taken(session(s, '127.0.0.4', ['alice@localhost'])[1], 'never_query client: taken')
        t.is_(px.count(rev('127.0.0.4') + '.bl.test'), 0, 'and its name never asked')
        taken(session(s, '127.0.0.5', ['alice@localhost'])[1],
              'address_permits_relay client: taken')
        t.is_(px.count(rev('127.0.0.5') + '.bl.test'), 0, 'and its name never asked')
        r = session(s, '127.0.0.6', ['alice@localhost'], auth=('alice', 'pw'))
        taken(r[1], 'authenticated session from a listed client: taken')
        t.is_(px.count(rev('127.0.0.6') + '.bl.test'), 0, 'and its name never asked')

        r = session(s, '127.0.0.8', ['alice@localhost'])
        taken(r[1], 'an answer outside 127.0.0.0/8: no listing, taken')
        t.ok(s.wait_log(r'dnsbl action=pass client=127\.0\.0\.8 score=0 .*'
                        r'bl\.test:failed\(bogus_answer,10\.0\.0\.8\)'), 'logged as bogus')
        taken(session(s, '127.0.0.9', ['alice@localhost'])[1],
              'an answer of 127.0.0.1: no listing, taken')
        t.ok(s.wait_log(r'client=127\.0\.0\.9 .*failed\(bogus_answer,127\.0\.0\.1\)'),
             'logged as bogus')
        r = session(s, '127.0.0.10', ['alice@localhost'])
        refused(r[1], 'bl.test', 'a TXT with control bytes: refused')
        t.ok(r[1][1].endswith('[31mred end') and
             all(32 <= ord(ch) < 127 for ch in r[1][1]),
             'and its reason printable ASCII only (%r)' % r[1][1])

        if V6:
            r = session(s, '::1', ['alice@localhost', 'postmaster@localhost'])
            refused(r[1], 'bl.test', 'IPv6 client listed by its nibble name: refused')
            taken(r[2], 'IPv6: postmaster@ taken')
            t.ok(s.wait_log(r'dnsbl action=reject client=::1 score=1'), 'IPv6 verdict logged')
            t.is_(px.count(NIB1 + '.bl.test'), 1, 'the nibble name asked')
        else:
            for _ in range(4):
                t.ok(True, '# SKIP no IPv6 loopback')

    # ---- two zones of weight 1, threshold 2; an allow-list zone --------------
    with Server(conf=conf(px.resolver, zones='bl.test bl2.test, wl.test=-1', threshold='2'),
                accounts=ACC, tls=False) as s:
        t.on_fail[-1:] = [lambda: t.diag(s.log()[-3000:])]
        taken(session(s, '127.0.0.2', ['alice@localhost'])[1],
              'listed in one zone of two, threshold 2: taken')
        t.ok(s.wait_log(r'dnsbl action=pass client=127\.0\.0\.2 score=1 threshold=2 '
                        r'zones=bl\.test:listed\(127\.0\.0\.2,\+1\),bl2\.test:clean,'
                        r'wl\.test:clean'), 'logged with score 1 and each zone')
        refused(session(s, '127.0.0.6', ['alice@localhost'])[1], 'bl.test',
                'listed in both (score 2): refused')
        taken(session(s, '127.0.0.7', ['alice@localhost'])[1],
              'listed in both and in the allow-list zone (score 1): taken')
        t.ok(s.wait_log(r'dnsbl action=pass client=127\.0\.0\.7 score=1 threshold=2 .*'
                        r'wl\.test:listed\(127\.0\.2\.1,-1\)'), 'the allow-list zone logged')
    px.close()

    # ---- a filter on the answer ----------------------------------------------
    px = Proxy(('127.0.0.1', dns.port))
    with Server(conf=conf(px.resolver, zones='bl.test=127.0.0.4'), accounts=ACC,
                tls=False) as s:
        t.on_fail[-1:] = [lambda: t.diag(s.log()[-3000:])]
        taken(session(s, '127.0.0.2', ['alice@localhost'])[1],
              'zone=127.0.0.4: an answer of 127.0.0.2 does not list')
        refused(session(s, '127.0.0.10', ['alice@localhost'])[1], 'bl.test',
                'zone=127.0.0.4: an answer of 127.0.0.4 lists')
    px.close()

# ---- a dead DNS server, a silent one, garbage ---------------------------------
ZONES3 = 'bl.test bl2.test bl3.test'
closed = '127.0.0.1:%d' % free_port()
with Server(conf=conf(closed, zones=ZONES3), accounts=ACC, tls=False) as s:
    t.on_fail[-1:] = [lambda: t.diag(s.log()[-3000:])]
    taken(session(s, '127.0.0.2', ['alice@localhost'])[1],
          'DNS server dead (a closed port): taken')
    t.ok(s.wait_log(r'dnsbl action=pass client=127\.0\.0\.2 score=0 threshold=1 '
                    r'zones=bl\.test:failed\(timeout_or_servfail\),'), 'logged as failed')
    t.is_(len(verdicts(s, '127.0.0.2')), 1, 'in one line')

silent = Proxy(mode='silent')
with Server(conf=conf(silent.resolver, zones=ZONES3, timeout='2s'), accounts=ACC,
            tls=False) as s:
    t.on_fail[-1:] = [lambda: t.diag(s.log()[-3000:])]
    # (that the three questions share one deadline is dnsq_batch's, pinned
    # in t/unit/dnsq.c; no wall-clock threshold here)
    r = session(s, '127.0.0.2', ['alice@localhost'])
    taken(r[1], 'DNS server silent: taken at the deadline')
    t.ok(all(silent.count('%s.bl%s.test' % (rev('127.0.0.2'), z)) >= 1 for z in ('', '2', '3')),
         'every zone was asked')
    t.ok(s.wait_log(r'dnsbl action=pass client=127\.0\.0\.2 score=0 .*'
                    r'bl3\.test:failed\(timeout_or_servfail\)'), 'logged as failed')
    t.is_(len(verdicts(s, '127.0.0.2')), 1, 'in one line')
    before = silent.total()
    session(s, '127.0.0.2', ['alice@localhost'])
    t.ok(silent.total() > before, 'a failure is not cached: the next session asks again')
silent.close()

garbage = Proxy(mode='garbage')
with Server(conf=conf(garbage.resolver), accounts=ACC, tls=False) as s:
    t.on_fail[-1:] = [lambda: t.diag(s.log()[-3000:])]
    taken(session(s, '127.0.0.2', ['alice@localhost'])[1], 'a garbage answer: taken')
    t.ok(s.wait_log(r'dnsbl action=pass client=127\.0\.0\.2 score=0 .*'
                    r'bl\.test:failed\(malformed_answer\)'), 'logged as malformed')
garbage.close()

# ---- bad values: yubind -t and the start name FILE:LINE and the key -----------
BAD = [
    ({'zones': 'bad..zone'}, 'zones'),
    ({'zones': 'bl.test=0'}, 'zones'),
    ({'zones': 'bl.test=x'}, 'zones'),
    ({'zones': 'bl.test=1001'}, 'zones'),
    ({'zones': 'bl.test=10.0.0.2'}, 'zones'),
    ({'zones': 'bl.test bl.test=2'}, 'zones'),
    ({'zones': 'wl.test=-1'}, 'zones'),
    ({'zones': ''}, 'zones'),
    ({'threshold': '0'}, 'threshold'),
    ({'threshold': 'two'}, 'threshold'),
    ({'threshold': '3'}, 'threshold'),
    ({'never_query': '10.0.0.0/33'}, 'never_query'),
    ({'never_query': 'example.org'}, 'never_query'),
    ({'timeout': 'soon'}, 'timeout'),
    ({'timeout': '1h'}, 'timeout'),
    ({'timeout': '10ms'}, 'timeout'),
    ({'tiemout': '1s'}, 'tiemout'),
]
for kv, key in BAD:
    s = Server(conf=conf('127.0.0.1:53', **kv), accounts={}, tls=False, start=False)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                       text=True)
    with open(s.conf_path) as f:
        lines = f.read().split('\n')
    line = next(i + 1 for i, l in enumerate(lines) if l.startswith(key + ' = '))
    label = ', '.join('%s=%s' % kv_ for kv_ in kv.items())
    t.is_(r.returncode, 1, '%s: yubind -t fails' % label)
    if not t.like(r.stderr, r'%s:%d: .*%s' % (re.escape(s.conf_path), line, key),
                  '%s: the error names yubin.conf:%d and the key' % (label, line)):
        t.diag(r.stderr)
    if kv == {'zones': 'bl.test=0'}:
        try:
            s.start()
            t.ok(False, '%s: yubind refuses to start' % label)
        except RuntimeError as e:
            t.ok(re.search(r'%s:%d: .*zones' % (re.escape(s.conf_path), line), str(e))
                 is not None, '%s: yubind refuses to start, naming file:line' % label)
    s.cleanup()

s = Server(conf=conf('127.0.0.1:53'), accounts={}, tls=False, start=False)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
s.cleanup()
t.is_(r.returncode, 0, 'the test configuration itself passes yubind -t (%s)' % r.stderr.strip())

t.done()
