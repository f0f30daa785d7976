#!/usr/bin/env python3
# yubinctl check smtp / check address (F148): a real yubind with and
# without STARTTLS, a closed port, sinks that refuse; local addresses
# through the RCPT resolution (account, alias, postmaster, forward.def,
# unknown); remote addresses through a dnsmasq MX and --probe against a
# sink that never sees DATA.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, Dnsmasq, free_port, server_tls_context

t = TAP()
asked = []


def rcpt(addr):
    asked.append(addr)
    if addr.startswith('ok@'):
        return (250, '2.1.5 ok')
    return (550, '5.1.1 <%s>: no such user' % addr)


def run(s, *args):
    r = s.ctl(*args, check=False)
    return r.returncode, r.stdout, r.stderr


sink = Sink(rcpt=rcpt)
dns = Dnsmasq(['--mx-host=remote.test,mx.remote.test,10',
               '--mx-host=remote.test,mx2.remote.test,20',
               '--host-record=mx.remote.test,127.0.0.1',
               '--host-record=mx2.remote.test,127.0.0.1',
               '--mx-host=null.test,.,0',
               '--host-record=localhost,127.0.0.1'])
have_dns = dns.available and dns.proc is not None and dns.proc.poll() is None
conf = {'queue': {'remote_port': str(sink.port)}, 'server': {'alias': 'other.test'}}
if have_dns:
    conf['server']['resolver'] = dns.resolver
files = {'alias.dat': 'info@localhost alice@localhost\n*@other.test alice@localhost\n'}
with Server(accounts={'alice': 'pw', 'bob': 'pw'}, conf=conf, files=files) as s:
    target = '127.0.0.1:%d' % s.port('smtp')
    cert = os.path.join(s.etc, 'cert.pem')

    # --- check smtp --------------------------------------------------------
    rc, out, err = run(s, 'check', 'smtp', target)
    t.is_(rc, 0, 'check smtp: exit 0 against yubind')
    t.like(out, r'(?m)^connected to 127\.0\.0\.1 port %d$' % s.port('smtp'), 'names the address')
    t.like(out, r'(?m)^S: 220 mx\.test\.invalid', 'shows the greeting')
    t.like(out, r'(?m)^C: EHLO mx\.test\.invalid$', 'sends EHLO with smtp.hostname')
    t.like(out, r'(?m)^extensions: (?=.*PIPELINING)(?=.*STARTTLS)', 'lists the extensions')
    t.like(out, r'(?m)^C: QUIT\nS: 221', 'ends with QUIT')
    t.ok('tls:' not in out, 'no TLS unless asked')

    rc, out, err = run(s, 'check', 'smtp', target, '--starttls', '--ca', cert)
    t.is_(rc, 0, 'check smtp --starttls --ca: exit 0')
    t.like(out, r'(?m)^C: STARTTLS\nS: 220', 'STARTTLS accepted')
    t.like(out, r'(?m)^tls: TLSv1\.[23] \S+', 'protocol and cipher')
    t.like(out, r'(?m)^certificate subject: CN=localhost$', 'certificate subject')
    t.like(out, r'(?m)^certificate issuer: CN=localhost$', 'certificate issuer')
    t.like(out, r'(?m)^certificate expires: \w+ +\d+ [\d:]+ \d{4} GMT$', 'certificate expiry')
    t.like(out, r'(?m)^certificate verify: ok against %s$' % re.escape(cert),
           'verifies against --ca (name 127.0.0.1 in the certificate)')
    t.ok(out.count('C: EHLO') == 2, 'EHLO again inside TLS')

    rc, out, err = run(s, 'check', 'smtp', target, '--starttls')
    t.is_(rc, 0, 'self-signed against the system CAs: still exit 0')
    t.like(out, r'(?m)^certificate verify: failed against the system CAs: ',
           'says it does not verify against the system CAs')
    rc, out, err = run(s, 'check', 'smtp', target, '--verify')
    t.is_(rc, 2, '--verify: a certificate that does not verify is exit 2')
    t.like(err, r'does not verify', 'and says so')
    rc, out, err = run(s, 'check', 'smtp', 'localhost:%d' % s.port('smtp'),
                       '--verify', '--ca', cert)
    t.is_(rc, 0, '--verify with the right CA and name: exit 0')

    rc, out, err = run(s, 'check', 'smtp', '[::1]:%d' % free_port())
    t.is_(rc, 2, '[::1]:PORT parsed; nothing listens there: exit 2')
    t.like(err, r': ::1 port \d+: connect: ', 'the IPv6 address is named')
    if have_dns:
        rc, out, err = run(s, 'check', 'smtp', 'nosuch.test')
        t.is_(rc, 2, 'a host without address: exit 2')
        t.like(err, r'^yubinctl: check smtp nosuch\.test: nosuch\.test: no address\n$',
               'says so')

    closed = free_port()
    rc, out, err = run(s, 'check', 'smtp', '127.0.0.1:%d' % closed, '--timeout', '5')
    t.is_(rc, 2, 'closed port: exit 2')
    t.like(err, r'^yubinctl: check smtp 127\.0\.0\.1:%d: 127\.0\.0\.1 port %d: connect: '
           r'Connection refused\n$' % (closed, closed), 'closed port: one line says why')

    with Sink() as plain:
        rc, out, err = run(s, 'check', 'smtp', '127.0.0.1:%d' % plain.port, '--starttls')
        t.is_(rc, 2, 'no STARTTLS offered: exit 2')
        t.like(err, r'does not offer STARTTLS', 'and says so')
    with Sink(stall='greeting') as silent:
        rc, out, err = run(s, 'check', 'smtp', '127.0.0.1:%d' % silent.port, '--timeout', '1')
        t.is_(rc, 2, 'a server that never greets: exit 2 after --timeout')
        t.like(err, r'no greeting: timeout waiting for the server\'s reply\n$', 'says it timed out')
    with Sink(greeting=(554, '5.3.2 no service')) as refuse:
        rc, out, err = run(s, 'check', 'smtp', '127.0.0.1:%d' % refuse.port)
        t.is_(rc, 2, 'a 554 greeting: exit 2')
        t.like(err, r'greeting refused: 554 5\.3\.2 no service', 'with the reply')

    for args, why in ((['check', 'smtp'], 'no host'),
                      (['check', 'smtp', '127.0.0.1:99999'], 'port out of range'),
                      (['check', 'smtp', '127.0.0.1:'], 'empty port'),
                      (['check', 'smtp', 'a b'], 'blank in the host'),
                      (['check', 'smtp', target, '--timeout', '0'], 'timeout 0'),
                      (['check', 'smtp', target, '--ca', '/nonexistent/ca.pem'], 'missing CA file'),
                      (['check', 'smtp', target, '--bogus'], 'unknown option'),
                      (['check', 'frob'], 'unknown check')):
        rc, out, err = run(s, *args)
        t.ok(rc == 1 and err.startswith('yubinctl: ') and err.count('\n') == 1,
             'usage error, one line: %s' % why)

    # --- check address: local ---------------------------------------------
    rc, out, err = run(s, 'check', 'address', 'alice@localhost')
    t.is_(rc, 0, 'an account: exit 0')
    t.like(out, r'(?m)^account: alice \(<alice@localhost>\)$', 'names the account')
    t.like(out, r'(?m)^mailbox: .*/mailbox/alice/Maildir$', 'and its mailbox')
    t.like(out, r'(?m)^result: exists$', 'exists')

    rc, out, err = run(s, 'check', 'address', 'INFO@localhost')
    t.is_(rc, 0, 'an alias: exit 0')
    t.like(out, r'(?m)^alias: <INFO@localhost> -> <alice@localhost>$', 'shows the alias step')
    t.like(out, r'(?m)^account: alice ', 'ends at the account')

    rc, out, err = run(s, 'check', 'address', 'postmaster')
    t.is_(rc, 0, 'postmaster (bare): exit 0')
    t.like(out, r'(?m)^admin_address: <postmaster> -> <postmaster>$',
           'routed through server.admin_address')
    rc, out, err = run(s, 'check', 'address', 'abuse@localhost')
    t.is_(rc, 0, 'abuse@: exit 0')

    rc, out, err = run(s, 'check', 'address', 'anyone@other.test')
    t.is_(rc, 0, 'a catch-all: exit 0')
    t.like(out, r'(?m)^catch-all: <anyone@other\.test> -> <alice@localhost>$',
           'shows the catch-all step')

    s.ctl('ml', 'create', 'news', 'pw')
    rc, out, err = run(s, 'check', 'address', 'news-request@localhost')
    t.is_(rc, 0, 'a list\'s request address: exit 0')
    t.like(out, r'(?m)^list: <news-request@localhost> is an address of the mailing list news$',
           'names the list')

    with open(os.path.join(s.home, 'mailbox', 'bob', 'forward.def'), 'w') as f:
        f.write('bin=yubin-sendmail\nparam1=FROM_ADDRESS\nparam2=carol@example.org\n'
                'param3=-mf\nparam4=MAILFILE_PATH\n')
    rc, out, err = run(s, 'check', 'address', 'bob@localhost')
    t.is_(rc, 0, 'an account with forward.def: exit 0')
    t.like(out, r'(?m)^forward: carol@example\.org \(.*/bob/forward\.def\)$',
           'shows the forward.def destination')

    rc, out, err = run(s, 'check', 'address', 'nobody@localhost')
    t.is_(rc, 2, 'unknown local user: exit 2')
    t.like(err, r'^yubinctl: check address nobody@localhost: no such user here\n$',
           'one line says why')
    rc, out, err = run(s, 'check', 'address', 'no body@localhost')
    t.is_(rc, 1, 'a malformed address: exit 1')
    t.like(err, r'^yubinctl: check address ', 'with the parser\'s reason')
    rc, out, err = run(s, 'check', 'address', 'x' * 300 + '@localhost')
    t.is_(rc, 1, 'an over-long address: exit 1')
    rc, out, err = run(s, 'check', 'address')
    t.is_(rc, 1, 'no address: exit 1')

    # --- check address: remote --------------------------------------------
    if not have_dns:
        t.ok(True, '# SKIP dnsmasq not available')
    else:
        rc, out, err = run(s, 'check', 'address', 'ok@remote.test')
        t.is_(rc, 0, 'remote without --probe: exit 0')
        t.like(out, r'(?m)^local: no\nmx: 10 mx\.remote\.test\nmx: 20 mx2\.remote\.test$',
               'MX hosts in preference order')
        t.is_(sink.connections, 0, 'no connection without --probe')

        rc, out, err = run(s, 'check', 'address', 'ok@remote.test', '--probe')
        t.is_(rc, 0, '--probe, accepted: exit 0')
        t.like(out, r'(?m)^C: MAIL FROM:<>\nS: 250', 'MAIL FROM:<>')
        t.like(out, r'(?m)^C: RCPT TO:<ok@remote\.test>\nS: 250 2\.1\.5 ok$', 'RCPT and its reply')
        t.like(out, r'(?m)^result: accepted by mx\.remote\.test$', 'says who accepted')
        t.ok('DATA' not in out, 'never DATA')

        rc, out, err = run(s, 'check', 'address', 'no@remote.test', '--probe')
        t.is_(rc, 2, '--probe, refused: exit 2')
        t.like(out, r'(?m)^S: 550 5\.1\.1 <no@remote\.test>: no such user$', 'shows the refusal')
        t.like(err, r'refused by mx\.remote\.test', 'one line says why')
        t.is_(asked, ['ok@remote.test', 'no@remote.test'], 'the sink was asked exactly twice')
        t.is_(len(sink.txns), 0, 'no message was sent')

        rc, out, err = run(s, 'check', 'address', 'a@nosuch.test')
        t.is_(rc, 2, 'unknown domain: exit 2')
        t.like(err, r'no such domain nosuch\.test', 'says so')
        rc, out, err = run(s, 'check', 'address', 'a@null.test')
        t.is_(rc, 2, 'null MX: exit 2')
        t.like(err, r'null MX', 'says so')
sink.close()
dns.stop()
t.done()
