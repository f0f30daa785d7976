#!/usr/bin/env python3
"""[server] metrics_listen (F135): GET /metrics in OpenMetrics text from a
process of its own: the content type, the exposition parsed line by line
(families declared once, counters as _total, "# EOF" last), counters that
move after mail, pool and queue gauges; 405 for other methods, 404 for
other paths, 400 for a malformed request line, 431 for an oversized header,
400 for a megabyte of junk, a silent client cut off; the port in
HOME/run/ports; off by default; a bad value refused by yubind -t with
file:line."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, Sink, TAP, binary, send_authed, wait_until  # noqa: E402

t = TAP()
CTYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8'
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
SAMPLE = re.compile(r'^(%s)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*)?\})? (-?[0-9]+(?:\.[0-9]+)?'
                    r'(?:e[+-]?[0-9]+)?)$' % NAME)


def parse(text):
    """The exposition as {(name, labels): value}; raises ValueError on any
    line OpenMetrics 1.0 would refuse in what yubind writes."""
    if not text.endswith('# EOF\n'):
        raise ValueError('does not end with "# EOF"')
    types, samples, seen_done = {}, {}, set()
    current = None
    for line in text.splitlines()[:-1]:
        if line.startswith('# TYPE '):
            _, _, fam, typ = line.split(' ', 3)
            if fam in types or fam in seen_done:
                raise ValueError('family %s declared twice' % fam)
            if typ not in ('counter', 'gauge'):
                raise ValueError('type %s' % typ)
            if current:
                seen_done.add(current)
            types[fam] = typ
            current = fam
            continue
        if line.startswith('# HELP '):
            if line.split(' ')[2] != current:
                raise ValueError('HELP for another family: %r' % line)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError('bad sample line %r' % line)
        name, labels, value = m.group(1), m.group(2) or '', m.group(3)
        fam = name[:-len('_total')] if types.get(current) == 'counter' else name
        if fam != current:
            raise ValueError('sample %s outside its family %s' % (name, current))
        if types[current] == 'counter' and not name.endswith('_total'):
            raise ValueError('counter sample without _total: %s' % name)
        if (name, labels) in samples:
            raise ValueError('sample twice: %s%s' % (name, labels))
        samples[(name, labels)] = float(value)
    return samples


def get(s, path='/metrics', method='GET'):
    host, port = s.addr('metrics')
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, r.getheader('Content-Type'), r.getheader('Allow'), body


def metrics(s):
    return parse(get(s)[3])


def raw(s, data, half_close=False):
    """Send DATA on a fresh connection; everything the server sends until
    it closes."""
    c = socket.create_connection(s.addr('metrics'), timeout=30)
    try:
        c.sendall(data)
        if half_close:
            c.shutdown(socket.SHUT_WR)
        got = b''
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return got
            got += chunk
    except ConnectionResetError:
        return got
    finally:
        c.close()


with Server(accounts={'alice': 'pw'},
            conf={'server': {'metrics_listen': '127.0.0.1:0'},
                  'smtp': {'multiprocessing': '7'}}) as s:
    t.ok('metrics' in s.ports, 'HOME/run/ports has a metrics line')
    with open(os.path.join(s.home, 'run', 'ports')) as f:
        t.like(f.read(), r'(?m)^metrics 127\.0\.0\.1:[1-9]\d*$', 'as "metrics ADDR:PORT"')
    t.ok(wait_until(lambda: s.children('metrics')), 'a yubind-metrics process serves it')
    status, ctype, _, body = get(s)
    t.is_(status, 200, 'GET /metrics: 200')
    t.is_(ctype, CTYPE, 'the OpenMetrics content type')
    t.ok(body.endswith('\n# EOF\n'), 'ends with "# EOF"')
    try:
        m0 = parse(body)
        t.ok(True, 'the exposition parses')
    except ValueError as e:
        t.ok(False, 'the exposition parses: %s' % e)
        t.diag(body)
        m0 = {}
    for key in ('yubin_messages_received_total', 'yubin_recipients_bounced_total',
                'yubin_deliveries_deferred_total', 'yubin_queue_messages',
                'yubin_queue_oldest_age_seconds', 'yubin_delivery_agents_busy'):
        t.ok((key, '') in m0, 'has %s' % key)
    t.ok(('yubin_recipients_delivered_total', '{via="local"}') in m0, 'delivered, local')
    t.ok(('yubin_smtp_rejected_total', '{reason="address"}') in m0, 'rejected by reason')
    t.ok(('yubin_sessions_total', '{listener="smtp"}') in m0, 'sessions by listener')
    t.is_(m0.get(('yubin_workers_max', '{pool="smtp"}')), 7.0, 'pool maximum: smtp 7')
    t.ok(wait_until(lambda: metrics(s).get(('yubin_workers', '{pool="smtp",state="idle"}'), 0) >= 1),
         'idle smtp workers')
    t.is_(m0.get(('yubin_queue_messages', '')), 0.0, 'the queue is empty')

    # mail moves the counters
    with s.smtp() as c:
        c.ehlo('client.test')
        c.mail('x@example.org')
        code, _ = c.rcpt('nobody@localhost')
        t.is_(code, 550, 'an unknown recipient refused (5.1.1)')
        c.rset()
        c.sendmail('x@example.org', ['alice@localhost'], b'Subject: m\r\n\r\nbody\r\n')
    t.ok(s.wait_mail('alice', 1), 'mail delivered')
    m1 = wait_until(lambda: (lambda m: m if m.get(
        ('yubin_recipients_delivered_total', '{via="local"}')) == 1 else None)(metrics(s)))
    t.ok(m1, 'delivered local: 1') or t.diag(get(s)[3])
    m1 = m1 or {}
    t.is_(m1.get(('yubin_messages_received_total', '')), 1.0, 'received: 1')
    t.is_(m1.get(('yubin_smtp_rejected_total', '{reason="address"}')), 1.0,
          'rejected for an address: 1')
    t.is_(m1.get(('yubin_sessions_total', '{listener="smtp"}')), 1.0, 'smtp sessions: 1')
    t.is_(m1.get(('yubin_recipients_bounced_total', '')), 0.0, 'bounced: 0')

    # what is not GET /metrics
    status, _, allow, _ = get(s, method='POST')
    t.is_((status, allow), (405, 'GET'), 'POST: 405 with Allow: GET')
    t.is_(get(s, method='DELETE')[0], 405, 'DELETE: 405')
    t.is_(get(s, path='/')[0], 404, 'GET /: 404')
    t.is_(get(s, path='/metrics/x')[0], 404, 'GET /metrics/x: 404')
    t.is_(get(s, path='/metrics?name[]=x')[0], 200, 'a query string is ignored')
    got = raw(s, b'hello there\r\n\r\n')
    t.like(got.decode(errors='replace'), r'^HTTP/1\.1 400 ', 'a malformed request line: 400')
    got = raw(s, b'GET /metrics HTTP/2.0\r\n\r\n')
    t.like(got.decode(errors='replace'), r'^HTTP/1\.1 400 ', 'not HTTP/1.x: 400')
    got = raw(s, b'GET /metrics HTTP/1.1\r\nX-Big: ' + b'a' * 9000 + b'\r\n\r\n')
    t.like(got.decode(errors='replace'), r'^HTTP/1\.1 431 ', 'a header past 8 KiB: 431')
    got = raw(s, b'GET /' + b'a' * 9000 + b' HTTP/1.1\r\n\r\n')
    t.like(got.decode(errors='replace'), r'^HTTP/1\.1 400 ', 'a request line past 8 KiB: 400')
    got = raw(s, b'x' * (1024 * 1024))
    t.like(got.decode(errors='replace'), r'^HTTP/1\.1 400 ', 'a megabyte of junk: 400, then closed')
    got = raw(s, bytes(range(256)) * 4096)
    t.like(got.decode(errors='replace'), r'^HTTP/1\.1 400 ', 'a megabyte of binary junk: 400')
    # a client that never finishes its request is cut off without an answer
    c = socket.create_connection(s.addr('metrics'), timeout=60)
    c.sendall(b'GET /metr')
    try:
        t.is_(c.recv(100), b'', 'a silent client: closed without an answer')
    except ConnectionResetError:
        t.ok(True, 'a silent client: closed without an answer')
    c.close()
    t.is_(get(s)[0], 200, 'still serving afterwards')
    kids = s.children('metrics')
    t.ok(kids and s.pid not in kids, 'served by a child of its own, not the master')
    # a metrics process that dies is started again; the counters live on
    os.kill(kids[0], signal.SIGKILL)
    t.ok(wait_until(lambda: s.children('metrics') and s.children('metrics') != kids),
         'a killed metrics process is replaced')
    t.ok(wait_until(lambda: (lambda r: r if r[0] == 200 else None)(get(s))),
         'and serves again')
    t.is_(metrics(s).get(('yubin_messages_received_total', '')), 1.0,
          'the counters survived it')
    # a reload cannot move the listener: it says so and keeps serving
    sections = {k: dict(v) for k, v in s.sections.items()}
    sections['server']['metrics_listen'] = '127.0.0.1:1'
    s.write_conf(sections)
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log(r'metrics_listen changes at the next restart; serving 127\.0\.0\.1:%d'
                    % s.port('metrics')), 'a reload with another metrics_listen: logged')
    t.ok(s.wait_log('reloaded configuration'), 'the rest reloaded')
    t.is_(get(s)[0], 200, 'the old address still serves')
    kids = s.children('metrics')
    if os.geteuid() == 0 and kids:
        with open('/proc/%d/status' % kids[0]) as f:
            uid = [l.split()[1] for l in f if l.startswith('Uid:')][0]
        t.ok(uid != '0', 'the metrics process runs without root')

# remote outcomes: one recipient taken, one refused for good, one deferred
# (the message stays queued)
def rcpt(addr):
    return {'ok': (250, '2.1.5 ok'), 'bad': (550, '5.1.1 no such user'),
            'later': (451, '4.3.0 try later')}[addr.split('@')[0].strip('<')]


with Sink(rcpt=rcpt) as sink:
    with Server(accounts={'alice': 'pw'},
                files={'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port},
                conf={'server': {'metrics_listen': '127.0.0.1:0'},
                      'queue': {'retry_interval': '1h'}}) as s:
        send_authed(s, 'alice@localhost', ['ok@remote.test', 'bad@remote.test',
                                           'later@remote.test'],
                    b'Subject: three\r\nFrom: alice@localhost\r\n\r\nbody\r\n')
        # the bounce to alice is queued and delivered too
        m = wait_until(lambda: (lambda m: m if m.get(
            ('yubin_deliveries_deferred_total', '')) and m.get(
            ('yubin_recipients_delivered_total', '{via="local"}')) == 1 and m.get(
            ('yubin_queue_messages', '')) == 1 else None)(metrics(s)))
        t.ok(m, 'a deferred delivery counted, the bounce delivered') or t.diag(get(s)[3])
        m = m or {}
        t.is_(m.get(('yubin_recipients_delivered_total', '{via="remote"}')), 1.0,
              'delivered remote: 1')
        t.is_(m.get(('yubin_recipients_bounced_total', '')), 1.0, 'bounced: 1')
        t.is_(m.get(('yubin_queue_messages', '')), 1.0, 'the deferred message is queued')
        t.ok(m.get(('yubin_queue_oldest_age_seconds', ''), -1) >= 0, 'its age')
        out = s.ctl('status').stdout
        t.like(out, r'(?m)^queue: pending 1 delivering \d+ oldest \d+s$', 'status: one pending')
        t.like(out, r'(?m)^today: received 1 sent 1 delivered 1 bounced 1 deferred [1-9]',
               'status: sent, bounced and deferred today')

# off by default: no metrics line, no metrics process
with Server() as s:
    t.ok('metrics' not in s.ports, 'off by default: no metrics line in HOME/run/ports')
    t.is_(s.children('metrics'), [], 'off by default: no metrics process')
    # a stop that reaches children not yet set up waits for their handlers
    t.is_(s.stop(), 0, 'a stop just after the start ends cleanly (exit 0)')
with Server(conf={'server': {'metrics_listen': '127.0.0.1:0'}}) as s:
    t.is_(s.stop(), 0, 'with metrics too')


def check(value):
    s = Server(start=False)
    sections = {k: dict(v) for k, v in s.sections.items()}
    sections['server']['metrics_listen'] = value
    s.write_conf(sections)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
    with open(s.conf_path) as f:
        line = [i + 1 for i, l in enumerate(f) if l.startswith('metrics_listen')][0]
    s.cleanup()
    return r.returncode, r.stderr, s.conf_path, line


for value in ('localhost:9100', '127.0.0.1', '127.0.0.1:65536', '::1:9100', '[::1]',
              '127.0.0.1:-1', '127.0.0.1:9x'):
    code, err, path, line = check(value)
    t.is_(code, 1, 'metrics_listen = %s: exit 1' % value)
    t.like(err, r'^%s:%d: .*metrics_listen.*ADDRESS:PORT' % (re.escape(path), line),
           'metrics_listen = %s: file:line and what is expected' % value)
for value in ('127.0.0.1:0', '[::1]:9100'):
    code, err, _, _ = check(value)
    t.is_(code, 0, 'metrics_listen = %s accepted' % value) or t.diag(err)

t.done()
