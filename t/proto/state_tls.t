#!/usr/bin/env python3
"""Nodes that verify each other (DESIGN.md 15, [server] node_tls_ca): a
site CA made here signs a certificate for node A (DNS name "a") and one
for node B ("b"); both nodes share one throwaway PostgreSQL cluster and
name the CA in node_tls_ca.

  1. mail sent to A for bob (homed on B) is relayed to B over verified
     TLS, and a POP3 login to A for bob is carried on to B;
  2. B restarted with a certificate of the site CA that names another
     node ("c"): A keeps bob's mail queued (the certificate does not name
     b) and answers the POP3 login -ERR [SYS/TEMP], sending no node key;
  3. B restarted with a certificate naming "b" from another CA: the same;
  4. B back with its own certificate: the queued mail arrives;
  5. bad input: node_tls_ca naming a missing file or a file that holds no
     certificate stops `yubind -t` with a message naming the key.

Loopback only, ports picked by the kernel.  Skips when PostgreSQL is not
installed."""

import os
import poplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pg_lib import PgCluster, require_postgres  # noqa: E402
from smtp_lib import Session  # noqa: E402
from yubintest import Server, TAP, binary, wait_until  # noqa: E402

require_postgres()
t = TAP()
PW = 'Tls-Node-Pw-1'


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, capture_output=True)


def make_ca(d, name):
    key, pem = os.path.join(d, name + '.key'), os.path.join(d, name + '.pem')
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', pem,
            '-days', '2', '-subj', '/CN=%s' % name,
            '-addext', 'basicConstraints=critical,CA:TRUE',
            '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    return key, pem


def make_cert(d, ca, dns, tag):
    """A certificate for DNS signed by CA (key, pem); returns (cert, key)."""
    key, csr = os.path.join(d, tag + '.key'), os.path.join(d, tag + '.csr')
    crt, ext = os.path.join(d, tag + '.pem'), os.path.join(d, tag + '.ext')
    with open(ext, 'w') as f:
        f.write('subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' % dns)
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr,
            '-subj', '/CN=%s' % dns)
    openssl('x509', '-req', '-in', csr, '-CA', ca[1], '-CAkey', ca[0], '-CAcreateserial',
            '-out', crt, '-days', '2', '-extfile', ext)
    for p in (key, crt):
        os.chmod(p, 0o644)
    return crt, key


def node(pg_uri, name, addr, cert, ca_pem):
    s = Server(conf={'server': {'state': pg_uri, 'node_name': name},
                     'smtp': {'listen': addr, 'auth_fail_delay': '0',
                              'auth_penalty_base': '0'},
                     'queue': {'retry_interval': '1h'}},
               tls=True, start=False)
    use(s, cert, ca_pem)
    return s


def use(s, cert, ca_pem):
    sections = {k: dict(v) for k, v in s.sections.items()}
    sections['server']['tls_cert'], sections['server']['tls_key'] = cert
    sections['server']['node_tls_ca'] = ca_pem
    s.write_conf(sections)


def register(on, s, name):
    return on.ctl('node', 'add', name, '%s:%d' % s.addr('smtp'),
                  '%s:%d' % s.addr('pop3'), check=False)


def send(s, rcpt, subject):
    c = Session(s)
    try:
        c.ehlo()
        c.cmd('MAIL FROM:<sender@example.org>')
        c.cmd('RCPT TO:<%s>' % rcpt)
        c.cmd('DATA')
        r = c.data(('Subject: %s\r\n\r\nbody\r\n' % subject).encode())
        c.cmd('QUIT')
        return r
    finally:
        c.close()


def has(s, account, subject):
    return any(('Subject: %s\n' % subject).encode() in m for m in s.mails(account))


def pop_login(s, user):
    try:
        c = s.pop3()
        c.user(user)
        c.pass_(PW)
        n = c.stat()[0]
        c.quit()
        return '+OK %d' % n
    except (poplib.error_proto, OSError) as e:
        return str(e)


def queue_reason(s):
    return s.ctl('queue', 'list', '--json', check=False).stdout


def restart(a, b, cert, ca_pem):
    b.stop()
    use(b, cert, ca_pem)
    b.start()
    return register(b, b, 'b').returncode


def run(pg, d):
    ca = make_ca(d, 'site-ca')
    other = make_ca(d, 'other-ca')
    cert_a = make_cert(d, ca, 'a', 'node-a')
    cert_b = make_cert(d, ca, 'b', 'node-b')
    cert_c = make_cert(d, ca, 'c', 'node-c')
    cert_rogue = make_cert(d, other, 'b', 'rogue-b')
    a = node(pg.uri, 'a', '127.0.0.2', cert_a, ca[1])
    b = node(pg.uri, 'b', '127.0.0.3', cert_b, ca[1])
    nodes = [a, b]
    try:
        a.start()
        b.start()
        t.is_(register(a, a, 'a').returncode, 0, 'node add a')
        t.is_(register(a, b, 'b').returncode, 0, 'node add b')
        t.is_(b.ctl('account', 'add', 'bob', PW, check=False).returncode, 0, 'bob homed on b')

        # 1. verified relay and proxy
        t.is_(send(a, 'bob@localhost', 'verified-1')[0], 250, 'a takes mail for bob')
        t.ok(wait_until(lambda: has(b, 'bob', 'verified-1'), 30),
             'relayed to b over verified TLS')
        t.is_(pop_login(a, 'bob'), '+OK 1', 'POP3 on a for bob carried on to b')

        # 2. a certificate of the site CA for another node
        t.is_(restart(a, b, cert_c, ca[1]), 0, 'b restarted with a certificate naming c')
        t.is_(send(a, 'bob@localhost', 'wrong-name')[0], 250, 'a takes mail for bob')
        a.ctl('queue', 'flush', check=False)
        t.ok(wait_until(lambda: 'verif' in queue_reason(a), 30),
             'a keeps it queued: the certificate does not name b (%s)'
             % queue_reason(a)[-300:])
        t.ok(not has(b, 'bob', 'wrong-name'), 'nothing reached b')
        r = pop_login(a, 'bob')
        t.ok('[SYS/TEMP]' in r, 'POP3 on a for bob: -ERR [SYS/TEMP] (%s)' % r)
        t.ok(wait_until(lambda: 'TLS certificate verification failed' in a.log(), 10),
             'a logged the failed verification')

        # 3. a certificate naming b from another CA
        t.is_(restart(a, b, cert_rogue, ca[1]), 0, 'b restarted with another CA\'s certificate')
        mark = len(a.log())
        a.ctl('queue', 'flush', check=False)
        t.ok(wait_until(lambda: 'TLS certificate verification failed' in a.log()[mark:], 30),
             'a refuses the other CA\'s certificate')
        t.ok(not has(b, 'bob', 'wrong-name'), 'nothing reached b')
        r = pop_login(a, 'bob')
        t.ok('[SYS/TEMP]' in r, 'POP3 on a for bob: -ERR [SYS/TEMP] (%s)' % r)

        # 4. its own certificate again
        t.is_(restart(a, b, cert_b, ca[1]), 0, 'b back with its own certificate')
        a.ctl('queue', 'flush', check=False)
        t.ok(wait_until(lambda: has(b, 'bob', 'wrong-name'), 30), 'the queued mail arrives')
        t.is_(pop_login(a, 'bob'), '+OK 2', 'and the POP3 login is carried on again')
    finally:
        for s in nodes:
            try:
                s.stop()
            except Exception:
                pass
            s.cleanup()

    # 5. bad input
    s = Server(tls=True, start=False)
    try:
        for label, path in (('a missing file', os.path.join(d, 'nosuch.pem')),
                            ('no certificate in it', cert_b[1] + '.txt')):
            if label != 'a missing file':
                with open(path, 'w') as f:
                    f.write('not a certificate\n')
            sections = {k: dict(v) for k, v in s.sections.items()}
            sections['server']['node_tls_ca'] = path
            s.write_conf(sections)
            r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], env=s.env,
                               capture_output=True, text=True)
            t.ok(r.returncode != 0 and 'node_tls_ca' in r.stderr,
                 'node_tls_ca, %s: yubind -t fails naming the key (%s)'
                 % (label, r.stderr.strip()[-200:]))
    finally:
        s.cleanup()


with tempfile.TemporaryDirectory() as d:
    os.chmod(d, 0o755)
    with PgCluster() as pg:
        run(pg, d)
t.done()
