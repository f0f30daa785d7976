#!/usr/bin/env python3
# Per-account restrictions in config.def (F124, F125): usage_hours refuses
# SMTP AUTH (535 5.7.1) and POP3 logins (-ERR [AUTH]) outside the
# account's hours while its incoming mail is still stored;
# allowed_recipients limits whom an authenticated account may send to
# (550 5.7.1 at RCPT), with wildcards, domains and any case.  The server
# runs in UTC with its clock set to a Monday 10:10, so the hours are known.
import calendar
import os
import sys
import subprocess
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from smtp_lib import Server, TAP, Session, conf, expect, b64  # noqa: E402
from yubintest import binary  # noqa: E402

t = TAP()

# the latest Monday 10:10 UTC before now (2026-11-30 was a Monday)
now = time.time()
monday = calendar.timegm((2026, 11, 30, 10, 10, 0, 0, 0, 0))
monday += ((int(now) - monday) // (7 * 86400)) * 7 * 86400
env = {'TZ': 'UTC', 'YUBIN_TEST_CLOCK_OFFSET': str(int(monday - now))}

ACC = {'alice': 'pw-a', 'bob': 'pw-b', 'carol': 'pw-c'}
s = Server(conf=conf({'server': {'plugins': 'relay quota'}}), accounts=ACC,
           env=env, start=False)


def ctl_set(name, *kv):
    r = s.ctl('account', 'set', name, *kv, check=False)
    t.is_(r.returncode, 0, 'account set %s %s' % (name, ' '.join(kv))) or t.diag(r.stderr)


ctl_set('alice', 'usage_hours=mon 10:00-10:30, wed',
        'allowed_recipients=*@example.org, partner.test, bob@localhost')
ctl_set('bob', 'usage_hours=tue-sun 00:00-24:00, mon 11:00-12:00')

# bad values are refused with file:line and change nothing
r = s.ctl('account', 'set', 'carol', 'usage_hours=mon 25:00-26:00', check=False)
t.is_(r.returncode, 1, 'usage_hours 25:00 refused')
t.like(r.stderr, r"config\.def:\d+: usage_hours: window 1 'mon 25:00-26:00': "
       r"no such time of day", 'with file:line and the reason')
r = s.ctl('account', 'set', 'carol', 'usage_hours=mon-frday', check=False)
t.like(r.stderr, r"config\.def:\d+: usage_hours: window 1 'mon-frday': unknown day",
       'a bad day name refused')
r = s.ctl('account', 'set', 'carol', 'allowed_recipients=a@b@c', check=False)
t.like(r.stderr, r'config\.def:\d+: allowed_recipients: expected addresses or '
       r'domains with \* and \? wildcards, got "a@b@c"', 'a bad pattern refused')
carol_def = os.path.join(s.home, 'mailbox', 'carol', 'config.def')
t.ok(not os.path.exists(carol_def), 'carol has no config.def')

# a hand-edited config.def with a bad value: yubind -t names file and line
with open(carol_def, 'w') as f:
    f.write('# hours\nusage_hours=sat 10:15-11:00\n')
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], env=s.env,
                   capture_output=True, text=True)
t.ok(r.returncode != 0, 'yubind -t fails on a bad usage_hours')
t.like(r.stderr, r"carol/config\.def:2: usage_hours: window 1 'sat 10:15-11:00': "
       r"times are on the half hour", 'and names carol/config.def:2')
os.unlink(carol_def)

s.start()
t.on_fail.append(lambda: t.diag(s.log()[-3000:]))


def auth(user, pw):
    c = Session(s)
    c.ehlo()
    return c, c.cmd('AUTH PLAIN ' + b64('\0%s\0%s' % (user, pw)))


# alice: inside her hours; her recipients are limited
c, r = auth('alice', 'pw-a')
expect(t, r, 235, '2.7.0', 'alice logs in on Monday 10:10 (mon 10:00-10:30)')
expect(t, c.cmd('MAIL FROM:<alice@localhost>'), 250, '2.1.0', 'MAIL')
expect(t, c.cmd('RCPT TO:<someone@example.org>'), 250, '2.1.5', '*@example.org allowed')
expect(t, c.cmd('RCPT TO:<Other@EXAMPLE.ORG>'), 250, '2.1.5', 'in any case')
expect(t, c.cmd('RCPT TO:<x@partner.test>'), 250, '2.1.5', 'a bare domain allows its addresses')
expect(t, c.cmd('RCPT TO:<x@sub.partner.test>'), 550, '5.7.1',
       'but not its subdomains', text='alice may not send to this recipient')
expect(t, c.cmd('RCPT TO:<y@other.test>'), 550, '5.7.1', 'another domain refused')
expect(t, c.cmd('RCPT TO:<carol@localhost>'), 550, '5.7.1', 'a local account not listed refused')
expect(t, c.cmd('RSET'), 250, '2.0.0', 'RSET')
expect(t, c.cmd('MAIL FROM:<alice@localhost>'), 250, '2.1.0', 'MAIL')
expect(t, c.cmd('RCPT TO:<bob@localhost>'), 250, '2.1.5', 'bob@localhost allowed')
expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
expect(t, c.data(b'From: alice@localhost\r\nSubject: hours\r\n\r\nhi bob\r\n'), 250, '2.0.0',
       'mail to bob accepted')
c.cmd('QUIT')
t.ok(s.wait_mail('bob', 1), 'bob still receives mail outside his hours')
t.like(s.log(), r'reject cmd=RCPT code=550 dsn=5\.7\.1 .*alice may not send',
       'the refusal is logged')

# bob: outside his hours for SMTP AUTH and POP3
c, r = auth('bob', 'pw-b')
expect(t, r, 535, '5.7.1', 'bob refused on Monday 10:10',
       text=r'not permitted at this time: usage hours are tue-sun 00:00-24:00, mon 11:00-12:00')
expect(t, c.cmd('MAIL FROM:<bob@localhost>'), 250, '2.1.0', 'the session goes on, unauthenticated')
expect(t, c.cmd('RCPT TO:<y@other.test>'), 554, '5.7.1', 'and may not relay')
c.cmd('QUIT')
t.like(s.log(), r'auth refused user=bob client=127\.0\.0\.1: outside usage hours', 'logged')
p = s.pop3()
p.user('bob')
try:
    p.pass_('pw-b')
    t.ok(False, 'bob POP3 refused')
except Exception as e:     # poplib.error_proto
    t.like(str(e), r'-ERR \[AUTH\] login not permitted at this time: usage hours are '
           r'tue-sun', 'bob POP3 refused with [AUTH] and the hours')
p.close()
p = s.pop3()
p.user('bob')
try:
    p.pass_('wrong')
    t.ok(False, 'a wrong password')
except Exception as e:
    t.ok('usage hours' not in str(e), 'a wrong password never learns the hours')
p.close()

# alice POP3 inside her hours; carol has no restriction
p = s.pop3()
p.user('alice')
t.like(p.pass_('pw-a').decode(), r'^\+OK', 'alice POP3 inside her hours')
p.quit()
c, r = auth('carol', 'pw-c')
expect(t, r, 235, '2.7.0', 'carol (no config.def) logs in')
expect(t, c.cmd('MAIL FROM:<carol@localhost>'), 250, '2.1.0', 'MAIL')
expect(t, c.cmd('RCPT TO:<y@other.test>'), 250, '2.1.5', 'and may send anywhere')
c.cmd('QUIT')

# config.def is read at each login: a change needs no restart
ctl_set('bob', 'usage_hours=mon')
c, r = auth('bob', 'pw-b')
expect(t, r, 235, '2.7.0', 'bob allowed at once after his hours change')
c.cmd('QUIT')
s.stop()
s.cleanup()
t.done()
