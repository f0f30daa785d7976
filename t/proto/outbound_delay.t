#!/usr/bin/env python3
# Delay warnings (issue 6): once a message has waited
# queue.delay_warning_time with remote recipients pending, its sender gets
# one RFC 3464 report with Action: delayed; never a second one, never to <>,
# none when the setting is 0.
import email.utils
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, send_authed, parse_dsn, wait_until

t = TAP()
ACC = {'alice': 'pw'}
BODY = b'Subject: slow\r\nFrom: alice@localhost\r\nMessage-ID: <d1@localhost>\r\n\r\nbody\r\n'


def gw(port):
    return {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % port}


with Sink(rcpt=(451, '4.3.0 try later')) as sink:
    conf = {'queue': {'retry_interval': '1s', 'keep_retry_interval': '1',
                      'delay_warning_time': '1s'}, 'smtp': {'resend_timeout': '3h'}}
    with Server(accounts=ACC, files=gw(sink.port), conf=conf) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_mail('alice', 1), 'the sender gets a report while the message waits')
        msg, text, fields, headers = parse_dsn(s.mails('alice')[0])
        t.like(msg['Subject'] or '', r'(?i)delay', 'subject says delayed')
        t.is_(msg['From'], 'Mail Delivery System <MAILER-DAEMON@localhost>', 'from MAILER-DAEMON')
        t.ok('multipart/report' in msg['Content-Type'] and 'delivery-status' in msg['Content-Type'],
             'multipart/report; report-type=delivery-status')
        rc = fields[1] if len(fields) > 1 else {}
        t.is_(rc.get('action'), 'delayed', 'Action: delayed')
        t.like(rc.get('final-recipient', ''), r'bob@remote\.test', 'names the waiting recipient')
        t.like(rc.get('status', ''), r'^4\.', 'a 4.x.x status')
        t.like(rc.get('diagnostic-code', ''), r'451 4\.3\.0 try later', 'with the last reply')
        pm = fields[0] if fields else {}
        until = email.utils.parsedate_to_datetime(rc.get('will-retry-until', 'x')) \
            if 'will-retry-until' in rc else None
        arrival = email.utils.parsedate_to_datetime(pm['arrival-date']) \
            if 'arrival-date' in pm else None
        t.ok(until is not None and arrival is not None and
             (until - arrival).total_seconds() == 3 * 3600,
             'Will-Retry-Until is when yubin gives up: arrival + resend_timeout')
        t.ok(headers is not None and 'Message-ID: <d1@localhost>' in headers,
             'original headers attached')
        t.ok(s.queue_files() != [], 'the message itself is still queued')
        def deferred(who):
            return len(re.findall(r'to=<%s@remote\.test> .*status=deferred' % who, s.log()))
        n = deferred('bob')
        t.ok(wait_until(lambda: deferred('bob') >= n + 2), 'two more attempts after the warning')
        t.is_(len(s.mails('alice')), 1, 'still one warning: once per message')
        # a <> sender is never warned
        with s.smtp() as c:
            c.ehlo('client.test')
            c.user, c.password = 'alice', 'pw'
            c.auth('PLAIN', c.auth_plain)
            c.sendmail('', ['carol@remote.test'], b'Subject: null\r\n\r\nbody\r\n')
        t.ok(wait_until(lambda: deferred('carol') >= 3), 'the <> message waits and is retried')
        t.is_(len(s.mails('alice')), 1, 'no warning for a <> sender')
        t.is_(s.log().count('sender delay notification'), 1, 'one delay notification logged')

with Sink(rcpt=(451, '4.3.0 try later')) as sink:
    conf = {'queue': {'retry_interval': '1s', 'keep_retry_interval': '1'}}
    with Server(accounts=ACC, files=gw(sink.port), conf=conf) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_log(r'status=deferred .*attempts=3'), 'retried: three attempts recorded')
        t.ok(sink.connections >= 1, 'over a kept connection or new ones')
        t.is_(s.mails('alice'), [], 'delay_warning_time 0 (default): no warning')
t.done()
