#!/usr/bin/env python3
# FUTURERELEASE (RFC 4865, issue 6): HOLDFOR / HOLDUNTIL on MAIL FROM, the
# EHLO keyword with its limits, held mail in queue list with its release
# time, release after the time, and across a restart (test clock).
import datetime
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, send_authed, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw'}
BODY = b'Subject: later\r\n\r\nscheduled\r\n'

with Sink() as sink:
    with Server(accounts=ACC, files={'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port},
                conf={'queue': {'max_hold': '1d'}}) as s:
        with s.smtp() as c:
            code, text = c.ehlo('client.test')
            t.like(text.decode(), r'FUTURERELEASE 86400 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ',
                   'EHLO advertises FUTURERELEASE with its limits')
            c.user, c.password = 'alice', 'pw'
            c.auth('PLAIN', c.auth_plain)
            code, _ = c.docmd('MAIL FROM:<alice@localhost> HOLDFOR=90000')
            t.is_(code, 501, 'HOLDFOR over the limit refused')
            code, _ = c.docmd('MAIL FROM:<alice@localhost> HOLDFOR=5 HOLDUNTIL=2030-01-01T00:00:00Z')
            t.is_(code, 501, 'HOLDFOR and HOLDUNTIL together refused')
            code, _ = c.docmd('MAIL FROM:<alice@localhost> HOLDUNTIL=tomorrow')
            t.is_(code, 501, 'bad HOLDUNTIL refused')
            code, _ = c.docmd('MAIL FROM:<alice@localhost> HOLDFOR=2')
            t.is_(code, 250, 'MAIL with HOLDFOR=2 accepted')
            c.rcpt('x@remote.test')
            c.rcpt('bob@localhost')
            code, _ = c.data(BODY)
            t.is_(code, 250, 'message accepted')
        out = s.ctl('queue', 'list').stdout
        t.like(out, r'release=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d', 'queue list shows the release time')
        t.is_(len(sink.delivered()), 0, 'remote copy held')
        t.is_(s.mails('bob'), [], 'local copy held')
        t.ok(sink.wait(1, timeout=30), 'remote copy delivered after the hold')
        t.ok(s.wait_mail('bob', 1), 'local copy delivered after the hold')

        # HOLDUNTIL in the past: sent at once
        past = '2001-01-01T00:00:00+09:00'
        with s.smtp() as c:
            c.ehlo('client.test')
            c.user, c.password = 'alice', 'pw'
            c.auth('PLAIN', c.auth_plain)
            code, _ = c.docmd('MAIL FROM:<alice@localhost> HOLDUNTIL=' + past)
            t.is_(code, 250, 'HOLDUNTIL with an offset accepted')
            c.rcpt('bob@localhost')
            c.data(BODY)
        t.ok(s.wait_mail('bob', 2), 'a past release time means now')

    # survives a restart; released by the (shifted) clock
    with Server(accounts=ACC, conf={'queue': {'max_hold': '7d'}}) as s:
        until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2))
        with s.smtp() as c:
            c.ehlo('client.test')
            code, _ = c.docmd('MAIL FROM:<alice@localhost> HOLDUNTIL=' +
                              until.strftime('%Y-%m-%dT%H:%M:%SZ'))
            t.is_(code, 250, 'HOLDUNTIL two hours ahead accepted')
            c.rcpt('bob@localhost')
            c.data(BODY)
        t.ok(wait_until(lambda: 'release=' in s.ctl('queue', 'list').stdout), 'held')
        s.stop()
        s.start()
        t.ok(s.wait_log(r'queue manager started'), 'restarted')
        t.is_(s.mails('bob'), [], 'still held after a restart')
        s.stop()
        s.env['YUBIN_TEST_CLOCK_OFFSET'] = str(3 * 3600)
        s.start()
        t.ok(s.wait_mail('bob', 1), 'released once its time has come')

t.done()
