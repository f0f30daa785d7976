#!/usr/bin/env python3
# Outbound delivery (issue 6): gateway.dat routes, the '*' implicit-TLS port,
# STARTTLS policies, smarthost with AUTH, one transaction per destination,
# dot-stuffing and CRLF on the wire.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import (Server, Sink, TAP, send_authed, server_tls_context,
                       free_port, wait_until)

t = TAP()
ACC = {'alice': 'pw'}
BODY = (b'Subject: outbound\r\nFrom: alice@localhost\r\n\r\n'
        b'.leading dot\r\n..two dots\r\nlast line\r\n')

# 1. gateway.dat: first match in file order, wildcards, grouping
with Sink() as a, Sink() as b:
    gw = ("' E-Post gateway table\n"
          "*.sub.test,127.0.0.1,%d,tls=none\n"
          "01*.example.test,127.0.0.1,%d,tls=none\n"
          "*.sub.test,127.0.0.1,%d\n"
          "\n") % (a.port, b.port, b.port)
    with Server(accounts=ACC, files={'gateway.dat': gw}) as s:
        send_authed(s, 'alice@localhost', ['x@a.sub.test', 'y@b.sub.test'], BODY)
        t.ok(a.wait(1), 'wildcard line routes to the first matching gateway')
        txn = a.delivered()[0]
        t.is_(sorted(txn['rcpts']), ['x@a.sub.test', 'y@b.sub.test'],
              'recipients of one destination share one transaction')
        t.is_(txn['mail'], 'alice@localhost', 'envelope sender kept')
        t.ok(b'\r\n.leading dot\r\n..two dots\r\nlast line\r\n' in txn['data'],
             'dot-stuffing undone by the peer gives the original lines')
        t.ok(b'\n' not in txn['data'].replace(b'\r\n', b''), 'CRLF line ends on the wire')
        t.ok(txn['data'].startswith(b'Received: '), 'our Received header travels')
        send_authed(s, 'alice@localhost', ['z@01x.example.test'], BODY)
        t.ok(b.wait(1), "'01*' pattern matches")
        t.is_(len(a.delivered()), 1, 'the later *.sub.test line never used')
        t.ok(wait_until(lambda: s.queue_files() == []), 'queue empty after delivery')
        t.like(s.log(), r'to=<x@a\.sub\.test> relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d '
               r'status=sent \(250 2\.0\.0 queued\)' % a.port, 'log line names relay and reply')

# 2. a bad gateway.dat is a load error with file:line, every line reported
s = Server(accounts=ACC, start=False, files={'gateway.dat':
           'ok.test,127.0.0.1,25\nbad.test,127.0.0.1\nx.test,h,99999\ny.test,h,25,tls=maybe\n'})
import subprocess
from yubintest import binary
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
t.is_(r.returncode, 1, 'yubind -t refuses a bad gateway.dat')
t.like(r.stderr, r'gateway\.dat:2: ', 'line 2 reported')
t.like(r.stderr, r'gateway\.dat:3: ', 'line 3 reported')
t.like(r.stderr, r'gateway\.dat:4: ', 'line 4 reported')
s.cleanup()

s = Server(accounts=ACC, start=False, files={'gateway.dat': '*,127.0.0.1,25,auth=u:p\n'})
os.chmod(os.path.join(s.etc, 'gateway.dat'), 0o644)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
t.is_(r.returncode, 1, 'a readable gateway.dat with a password is refused')
t.like(r.stderr, 'readable by group or others', 'and says why')
os.chmod(os.path.join(s.etc, 'gateway.dat'), 0o600)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
t.is_(r.returncode, 0, 'mode 600 is accepted')
s.cleanup()

# 3. implicit TLS on a '*' port
tmpd = __import__('tempfile').mkdtemp()
sctx = server_tls_context(tmpd)
with Sink(implicit_tls=sctx) as sink:
    with Server(accounts=ACC, files={'gateway.dat': 'tls.test,127.0.0.1,%d*\n' % sink.port}) as s:
        send_authed(s, 'alice@localhost', ['u@tls.test'], BODY)
        t.ok(sink.wait(1), "'*' port: delivered over implicit TLS")
        t.ok(sink.delivered() and sink.delivered()[0]['tls'], 'the session was TLS')

# 4. STARTTLS policies
with Sink(starttls=sctx) as tlsink, Sink() as plain:
    gw = ('may.test,127.0.0.1,%d,tls=may\n'
          'plainmay.test,127.0.0.1,%d,tls=may\n'
          'enc.test,127.0.0.1,%d,tls=encrypt\n'
          'none.test,127.0.0.1,%d,tls=none\n'
          'verify.test,127.0.0.1,%d,tls=verify\n') % (
              tlsink.port, plain.port, plain.port, tlsink.port, tlsink.port)
    with Server(accounts=ACC, files={'gateway.dat': gw},
                conf={'queue': {'retry_interval': '1h'}}) as s:
        send_authed(s, 'alice@localhost', ['a@may.test'], BODY)
        t.ok(tlsink.wait(1), 'tls=may: delivered')
        t.ok(tlsink.delivered()[0]['tls'], 'tls=may: STARTTLS used when offered')
        send_authed(s, 'alice@localhost', ['b@plainmay.test'], BODY)
        t.ok(plain.wait(1), 'tls=may: plain text when not offered')
        send_authed(s, 'alice@localhost', ['c@none.test'], BODY)
        t.ok(tlsink.wait(2), 'tls=none: delivered')
        t.ok(not tlsink.delivered()[1]['tls'], 'tls=none: no STARTTLS even when offered')
        send_authed(s, 'alice@localhost', ['d@enc.test'], BODY)
        t.ok(s.wait_log(r'to=<d@enc\.test> .*status=deferred .*TLS is required'),
             'tls=encrypt against a server without TLS: deferred')
        t.is_(len(plain.delivered()), 1, 'nothing sent in clear text')
        send_authed(s, 'alice@localhost', ['e@verify.test'], BODY)
        t.ok(s.wait_log(r'to=<e@verify\.test> .*status=deferred .*(verif|TLS)'),
             'tls=verify with a self-signed certificate: deferred')
        r = s.ctl('queue', 'list')
        t.like(r.stdout, r'pending=1', 'queue list shows the deferred messages')
        qid = re.search(r'^([0-9A-F]{16}) ', r.stdout, re.M).group(1)
        r = s.ctl('queue', 'show', qid)
        t.like(r.stdout, r'state=deferred', 'queue show: remote state')
        t.like(r.stdout, r'next_try=\d{4}-\d\d-\d\d', 'queue show: next try')
        t.like(r.stdout, r'relay=127\.0\.0\.1', 'queue show: last relay')

# 5. smarthost with AUTH (and AUTH refused: deferred, not bounced); the
# credentials need TLS (outbound_auth_tls.t)
with Sink(auth={'relayuser': 's3cret'}, starttls=sctx) as sink:
    conf = {'queue': {'smarthost': '127.0.0.1:%d' % sink.port, 'smarthost_tls': 'encrypt',
                      'smarthost_auth': 'relayuser:s3cret', 'retry_interval': '1h'}}
    with Server(accounts=ACC, conf=conf) as s:
        send_authed(s, 'alice@localhost', ['far@elsewhere.test', 'local@other.test'], BODY)
        t.ok(sink.wait(1), 'smarthost: delivered')
        t.is_(sink.delivered()[0]['auth'], 'relayuser', 'smarthost: authenticated')
        t.is_(len(sink.delivered()[0]['rcpts']), 2,
              'every domain through the smarthost in one transaction')
    conf['queue']['smarthost_auth'] = 'relayuser:wrong'
    with Server(accounts=ACC, conf=conf) as s:
        send_authed(s, 'alice@localhost', ['far@elsewhere.test'], BODY)
        t.ok(s.wait_log(r'to=<far@elsewhere\.test> .*status=deferred .*535'),
             'bad smarthost credentials: deferred with the reply')
        t.is_(len(sink.delivered()), 1, 'nothing more delivered')

t.done()
