#!/usr/bin/env python3
# MX routing (issue 6) against a dnsmasq on loopback: preference order,
# fallback to the next MX, no MX -> the domain's A record, null MX (RFC 7505)
# and unknown domains bounce at once, the MX cache in LMDB.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import (Server, Sink, TAP, Dnsmasq, send_authed, parse_dsn,
                       free_port, wait_until)

t = TAP()
ACC = {'alice': 'pw'}
BODY = b'Subject: mx\r\n\r\nbody\r\n'
port = free_port()
dns_args = [
    '--mx-host=pref.test,mx1.pref.test,10', '--mx-host=pref.test,mx2.pref.test,20',
    '--host-record=mx1.pref.test,127.0.0.2', '--host-record=mx2.pref.test,127.0.0.3',
    '--mx-host=fb.test,dead.fb.test,5', '--mx-host=fb.test,live.fb.test,50',
    '--host-record=dead.fb.test,127.0.0.4', '--host-record=live.fb.test,127.0.0.3',
    '--host-record=nomx.test,127.0.0.2',
    '--mx-host=null.test,.,0',
]
with Dnsmasq(dns_args) as dns:
    if not dns.available or dns.proc is None or dns.proc.poll() is not None:
        t.ok(True, '# SKIP dnsmasq not available')
        t.done()
    with Sink(host='127.0.0.2', port=port) as s2, Sink(host='127.0.0.3', port=port) as s3:
        conf = {'server': {'resolver': dns.resolver},
                'queue': {'remote_port': str(port), 'retry_interval': '1h'}}
        with Server(accounts=ACC, conf=conf) as s:
            send_authed(s, 'alice@localhost', ['a@pref.test'], BODY)
            t.ok(s2.wait(1), 'lowest preference MX gets the mail')
            t.is_(len(s3.delivered()), 0, 'the higher preference is not used')
            t.ok(s.wait_log(r'to=<a@pref\.test> relay=mx1\.pref\.test\[127\.0\.0\.2\]:%d status=sent' % port),
                 'log names the MX host and address')

            send_authed(s, 'alice@localhost', ['b@fb.test'], BODY)
            t.ok(s3.wait(1), 'an unreachable MX falls back to the next one')

            send_authed(s, 'alice@localhost', ['c@nomx.test'], BODY)
            t.ok(s2.wait(2), 'no MX: the domain\'s own address record')

            send_authed(s, 'alice@localhost', ['d@null.test'], BODY)
            t.ok(s.wait_mail('alice', 1), 'null MX: bounced at once')
            _, _, f, _ = parse_dsn(s.mails('alice')[0])
            t.is_(f[1].get('status') if len(f) > 1 else None, '5.1.10', 'null MX status 5.1.10')

            send_authed(s, 'alice@localhost', ['e@nosuch.test'], BODY)
            t.ok(s.wait_mail('alice', 2), 'unknown domain: bounced at once')
            t.ok(s.wait_log(r'to=<e@nosuch\.test> .*status=bounced \(550 5\.1\.2'), 'with 5.1.2')

            # the MX cache: DNS loses the MX records of pref.test, the
            # cached ones (from the delivery that succeeded) still route
            dns.stop()
            dns2 = Dnsmasq(['--host-record=mx1.pref.test,127.0.0.2',
                            '--host-record=mx2.pref.test,127.0.0.3',
                            '--host-record=pref.test,127.0.0.3'], port=dns.port)
            send_authed(s, 'alice@localhost', ['f@pref.test'], BODY)
            t.ok(s2.wait(3), 'MX cache serves a domain that took mail before')
            dns2.stop()
t.done()
