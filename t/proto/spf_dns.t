#!/usr/bin/env python3
# SPF through dnsq_net_init against a dnsmasq on loopback: records of
# --txt-record, --host-record and --mx-host; a record of several strings;
# an answer too big for UDP (dnsmasq sends it truncated, the resolver asks
# again over TCP); two SPF records; an exp= text; a server that never
# answers (temperror once the deadline is past).  The C side is
# dnsmasq takes --txt-record's strings unquoted, comma-separated (its argv
# is not a shell's).  The C side is
# build/t/unit/dnsq.t in its "spf" mode (the unit test's own binary, so
# prove never runs a helper alone).
import os
import socket
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import TAP, Dnsmasq, binary

t = TAP()
long_txt = ','.join(('x%03d' % i * 50)[:200] for i in range(8))
args = [
    '--edns-packet-max=512',
    '--txt-record=a.test,v=spf1 a:h.a.test -all',
    '--host-record=h.a.test,192.0.2.10',
    '--txt-record=mx.test,v=spf1 mx ~all',
    '--mx-host=mx.test,m2.mx.test,20', '--mx-host=mx.test,m1.mx.test,10',
    '--host-record=m1.mx.test,192.0.2.20', '--host-record=m2.mx.test,192.0.2.21',
    '--txt-record=inc.test,v=spf1 include:a.test -all',
    '--txt-record=exp.test,v=spf1 -all exp=why.exp.test',
    '--txt-record=why.exp.test,%{i} may not send for %{d}',
    '--txt-record=two.test,v=spf1 +all', '--txt-record=two.test,v=spf1 -all',
    '--txt-record=parts.test,v=spf1 ip4:192.0.2.40, -all',
    '--host-record=nospf.test,192.0.2.50',
    '--txt-record=big.test,v=spf1 ip4:192.0.2.60 -all',
    '--txt-record=big.test,' + long_txt,
    '--txt-record=bad.test,v=spf1 ip4:192.0.2.300 -all',
    '--txt-record=loop.test,v=spf1 include:loop.test -all',
]


def spf(resolver, ip, sender, helo='helo.test', timeout=3000):
    env = dict(os.environ, YUBIN_TEST_RESOLVER=resolver)
    p = subprocess.run([binary('t/unit/dnsq.t'), 'spf', ip, sender, helo, str(timeout)],
                       env=env, stdout=subprocess.PIPE, timeout=60)
    f = p.stdout.decode().rstrip('\n').split('\t')
    return f if len(f) == 3 else ['(bad output %r)' % p.stdout, '', '0']


with Dnsmasq(args) as dns:
    if not dns.available or dns.proc is None or dns.proc.poll() is not None:
        print('1..0 # SKIP dnsmasq not available')
        sys.exit(0)
    r = dns.resolver
    t.is_(spf(r, '192.0.2.10', 'u@a.test')[0], 'pass', 'a: pass')
    t.is_(spf(r, '192.0.2.11', 'u@a.test')[0], 'fail', 'a: fail')
    t.is_(spf(r, '192.0.2.21', 'u@mx.test')[0], 'pass', 'mx: the second MX host')
    t.is_(spf(r, '192.0.2.22', 'u@mx.test')[0], 'softfail', 'mx: softfail')
    t.is_(spf(r, '192.0.2.10', 'u@inc.test')[0], 'pass', 'include: pass')
    t.is_(spf(r, '192.0.2.10', '', helo='a.test')[0], 'pass', 'HELO identity for <>')
    res = spf(r, '192.0.2.30', 'u@exp.test')
    t.is_(res[:2], ['fail', '192.0.2.30 may not send for exp.test'],
          'fail with the exp= text expanded')
    t.is_(spf(r, '192.0.2.30', 'u@two.test')[0], 'permerror', 'two SPF records')
    t.is_(spf(r, '192.0.2.40', 'u@parts.test')[0], 'pass', 'TXT strings joined')
    t.is_(spf(r, '192.0.2.41', 'u@parts.test')[0], 'fail', 'TXT strings joined: fail')
    t.is_(spf(r, '192.0.2.50', 'u@nospf.test')[0], 'none', 'no TXT: none')
    t.is_(spf(r, '192.0.2.50', 'u@nothere.test')[0], 'none', 'NXDOMAIN: none')
    t.is_(spf(r, '192.0.2.60', 'u@big.test')[0], 'pass',
          'an answer over 512 bytes: truncated over UDP, asked over TCP')
    t.is_(spf(r, '192.0.2.60', 'u@bad.test')[0], 'permerror', 'a malformed record')
    t.is_(spf(r, '192.0.2.60', 'u@loop.test')[0], 'permerror', 'an include loop')

# a server that never answers: a bound UDP socket nobody reads
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
res = spf('127.0.0.1:%d' % s.getsockname()[1], '192.0.2.10', 'u@a.test', timeout=500)
t.is_(res[0], 'temperror', 'no answer: temperror')
t.ok(int(res[2]) >= 500, 'temperror only once the deadline is past (%s ms)' % res[2])
s.close()
t.done()
