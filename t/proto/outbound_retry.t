#!/usr/bin/env python3
# Outbound retries and bounces (issue 6): 4xx then success, 5xx bounce as an
# RFC 3464 report, retry exhaustion by count and by period, a restart in the
# middle of a retry schedule (test clock), partial failure, <> never bounced,
# the admin copy, dead mail, yubinctl queue flush.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import (Server, Sink, TAP, send_authed, parse_dsn, free_port,
                       wait_until)

t = TAP()
ACC = {'alice': 'pw', 'admin': 'pw'}
BODY = b'Subject: retry me\r\nFrom: alice@localhost\r\nMessage-ID: <m1@localhost>\r\n\r\nbody\r\n'


def gw(port):
    return {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % port}


# 1. 4xx, then success on the retry
state = {'n': 0}


def rcpt_flaky(addr):
    state['n'] += 1
    return (451, '4.3.0 try later') if state['n'] == 1 else (250, '2.1.5 ok')


with Sink(rcpt=rcpt_flaky) as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'queue': {'retry_interval': '1s'}}) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_log(r'to=<bob@remote\.test> .*status=deferred \(451 4\.3\.0 try later\)'),
             '4xx: deferred with the reply')
        t.ok(sink.wait(1), 'delivered on the retry')
        t.ok(s.wait_log(r'to=<bob@remote\.test> .*status=sent .*attempts=1'), 'sent after one failed attempt')
        t.ok(wait_until(lambda: s.queue_files() == []), 'queue empty')
        t.is_(s.mails('alice'), [], 'no bounce for a message that got through')

# 2. 5xx: bounced at once, the report is a DSN; partial failure; admin copy
def rcpt_some(addr):
    return (550, '5.1.1 <%s>: no such user' % addr) if addr.startswith('nobody') else (250, '2.1.5 ok')


with Sink(rcpt=rcpt_some) as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'server': {'admin_address': 'admin@localhost'},
                      'queue': {'send_error_copy_to_admin': 'yes'}}) as s:
        send_authed(s, 'alice@localhost', ['nobody@remote.test', 'bob@remote.test'], BODY)
        t.ok(sink.wait(1), 'the good recipient is delivered')
        t.is_(sink.delivered()[0]['rcpts'], ['bob@remote.test'], 'only the good recipient')
        t.ok(s.wait_mail('alice', 1), 'the sender gets a bounce')
        t.ok(s.wait_mail('admin', 1), 'the admin gets a copy (send_error_copy_to_admin)')
        raw = s.mails('alice')[0]
        msg, text, fields, headers = parse_dsn(raw)
        t.is_(msg.get_content_type(), 'multipart/report', 'multipart/report')
        t.is_(msg.get_param('report-type'), 'delivery-status', 'report-type=delivery-status')
        t.like(msg['From'], r'MAILER-DAEMON@localhost', 'from MAILER-DAEMON@server.domain')
        t.ok(text and 'nobody@remote.test' in text, 'text part names the recipient')
        t.ok(len(fields) == 2, 'per-message and one per-recipient block')
        if len(fields) == 2:
            pm, pr = fields
            t.ok('reporting-mta' in pm and pm['reporting-mta'].startswith('dns;'), 'Reporting-MTA')
            t.ok('arrival-date' in pm, 'Arrival-Date')
            t.is_(pr.get('final-recipient'), 'rfc822; nobody@remote.test', 'Final-Recipient')
            t.is_(pr.get('action'), 'failed', 'Action: failed')
            t.is_(pr.get('status'), '5.1.1', 'Status from the enhanced code')
            t.is_(pr.get('remote-mta'), 'dns; 127.0.0.1', 'Remote-MTA')
            t.like(pr.get('diagnostic-code', ''), r'^smtp; 550 5\.1\.1 <nobody@remote\.test>: no such user',
                   'Diagnostic-Code carries the reply')
        t.ok(headers and 'Subject: retry me' in headers and 'Message-ID: <m1@localhost>' in headers,
             'text/rfc822-headers holds the original header')
        t.ok(headers is not None and 'body' not in headers.split('\n\n')[0].splitlines()[-1:],
             'and not the body')
        t.ok(wait_until(lambda: s.queue_files() == []), 'queue empty after the bounce went out')
        dead = os.path.join(s.home, 'deadmail')
        t.ok(wait_until(lambda: any(n.endswith('.env') for n in os.listdir(dead))),
             'failed message kept in deadmail with its envelope')

        # a <> message that fails is never bounced
        with s.smtp() as c:
            c.ehlo('client.test')
            c.user, c.password = 'alice', 'pw'
            c.auth('PLAIN', c.auth_plain)
            c.sendmail('', ['nobody2@remote.test'], BODY)
        t.ok(s.wait_log(r'to=<nobody2@remote\.test> .*status=bounced'), '<> message refused')
        t.ok(wait_until(lambda: s.queue_files() == []), 'and removed')
        t.is_(len(s.mails('alice')), 1, 'no bounce of a <> message')
        t.is_(len(s.mails('admin')), 1, 'and no admin copy of it')

# 2b. a remote sender gets the bounce over SMTP with MAIL FROM:<>
with Sink(rcpt=rcpt_some) as sink, Sink() as back:
    files = {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n'
                            'senders.test,127.0.0.1,%d,tls=none\n' % (sink.port, back.port)}
    with Server(accounts=ACC, files=files) as s:
        send_authed(s, 'someone@senders.test', ['nobody@remote.test'], BODY)
        t.ok(back.wait(1), 'bounce relayed to a remote sender')
        b = back.delivered()[0]
        t.is_(b['mail'], '', 'envelope sender of the bounce is <>')
        t.is_(b['rcpts'], ['someone@senders.test'], 'to the original sender')
        _, _, fields, _ = parse_dsn(b['data'])
        t.is_(fields[1].get('action') if len(fields) > 1 else None, 'failed', 'and it is a DSN')

# 3. retry exhaustion: by count of 4xx replies
with Sink(rcpt=(450, '4.2.1 mailbox busy')) as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'queue': {'retry_interval': '1s', 'keep_retry_interval': 'yes',
                                'retry_count_rejected': '2'}}) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_mail('alice', 1, timeout=30), 'retry_count_rejected exhausted: bounced')
        t.like(s.log(), r'status=bounced \(450 4\.2\.1 mailbox busy\) \(retry count exhausted\)',
               'log says why')
        t.is_(len(re.findall(r'to=<bob@remote\.test> .*status=deferred', s.log())), 2,
              'two retries were made first')
        _, _, fields, _ = parse_dsn(s.mails('alice')[0])
        t.is_(fields[1].get('status') if len(fields) > 1 else None, '5.2.1',
              'expired 4.x.x reported as 5.x.x')

# 4. retry exhaustion: no response (nothing listens) within retry_period_no_response
port = free_port()
with Server(accounts=ACC, files=gw(port),
            conf={'queue': {'retry_interval': '1s', 'keep_retry_interval': 'yes',
                            'retry_period_no_response': '1s'}}) as s:
    send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
    t.ok(s.wait_mail('alice', 1, timeout=30), 'retry_period_no_response exhausted: bounced')
    t.like(s.log(), r'status=bounced \(451 4\.4\.1 connect to .*\(no response for too long\)',
           'log says no response')
    msg, text, fields, _ = parse_dsn(s.mails('alice')[0])
    pr = fields[1] if len(fields) > 1 else {}
    t.ok('remote-mta' not in pr, 'a local failure names no Remote-MTA')
    t.like(pr.get('diagnostic-code', ''), r'^X-Yubin; 451 4\.4\.1 connect to ',
           'and its Diagnostic-Code is not of type smtp')
    t.ok(text is not None and ' said: ' not in text, 'the text does not say a host said it')

# 5. retry exhaustion: line errors (the peer drops after MAIL)
with Sink(drop='mail') as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'queue': {'retry_interval': '1s', 'keep_retry_interval': 'yes',
                                'retry_period_line_error': '1s'}}) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_mail('alice', 1, timeout=30), 'retry_period_line_error exhausted: bounced')
        t.like(s.log(), r'line errors for too long', 'log says line errors')

# 6. resend_timeout bounds everything (test clock: arrival looks old)
with Sink(rcpt=(451, '4.3.0 later')) as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'queue': {'retry_interval': '1h'}, 'smtp': {'resend_timeout': '10m'}}) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_log(r'status=deferred'), 'deferred first')
        s.stop()
        s.env['YUBIN_TEST_CLOCK_OFFSET'] = '7200'
        s.start()
        t.ok(s.wait_mail('alice', 1, timeout=30), 'after resend_timeout: bounced')
        t.like(s.log(), r'\(resend timeout\)', 'log says resend timeout')

# 7. restart in the middle of a retry schedule
state = {'ok': False}
with Sink(rcpt=lambda a: (250, '2.1.5 ok') if state['ok'] else (421, '4.4.2 closing')) as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'queue': {'retry_interval': '1h'}}) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_log(r'status=deferred'), 'deferred, next try in an hour')
        s.stop()
        out = s.ctl('queue', 'list').stdout
        t.like(out, r'deferred=1 next_try=', 'schedule is in the queue after stop')
        qid = out.split()[0]
        show = s.ctl('queue', 'show', qid).stdout
        t.like(show, r'state=deferred attempts=1 next_try=\S+ \S+ relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d error=421' % sink.port,
               'queue show: state, attempts, next try, relay, last error')
        state['ok'] = True
        conns = sink.connections
        s.start()
        t.ok(s.wait_log(r'queue manager started'), 'restarted')
        t.is_(len(sink.delivered()), 0, 'not retried before its time')
        s.stop()
        s.env['YUBIN_TEST_CLOCK_OFFSET'] = '3700'
        s.start()
        t.ok(sink.wait(1), 'retried once the clock passed next_try, after a restart')
        t.ok(wait_until(lambda: s.queue_files() == []), 'queue empty')

# 8. yubinctl queue flush makes deferred mail due now
state = {'ok': False}
with Sink(rcpt=lambda a: (250, '2.1.5 ok') if state['ok'] else (451, '4.3.0 later')) as sink:
    with Server(accounts=ACC, files=gw(sink.port),
                conf={'queue': {'retry_interval': '1h'}}) as s:
        send_authed(s, 'alice@localhost', ['bob@remote.test'], BODY)
        t.ok(s.wait_log(r'status=deferred'), 'deferred')
        state['ok'] = True
        s.ctl('queue', 'flush')
        t.ok(sink.wait(1), 'queue flush: delivered now')

t.done()
