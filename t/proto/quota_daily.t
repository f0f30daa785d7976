#!/usr/bin/env python3
"""quota plugin, send_max_during_a_day (issue 5; SEEDS.md §2.4, §21).

Messages sent per account per local calendar day:
  - an authenticated client gets 250 at MAIL FROM until the limit, then
    450 4.7.1, whatever envelope sender it gives;
  - an unauthenticated client is nobody's, whatever envelope sender it
    writes: three mails forging MAIL FROM:<alice@localhost> charge alice
    nothing (she can still send her 2), and are not limited by her count
    (issue 12 item 7);
  - a local submission (yubin-sendmail over HOME/run/submit.sock) counts for
    the account of its envelope sender and is refused (yubin-sendmail exits
    non-zero with the 450 4.7.1) past the limit, which that account's
    authenticated sessions share;
  - one accepted transaction counts once, however many recipients it has; a
    transaction that is reset before DATA does not count;
  - a per-account config.def value overrides the server's; negative means
    unlimited, 0 nothing;
  - the count is per local day: the server runs with TZ=JST-9 and a shifted
    clock (YUBIN_TEST_CLOCK_OFFSET), first at 23:00 local time, then at 00:30
    the next local day -- the same UTC day -- where the limit starts again,
    then back at 23:00, where the count made earlier still holds (it is kept
    in the store across restarts)."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import subprocess  # noqa: E402
from smtp_lib import (Server, TAP, Session, expect, b64, message, queued_id,  # noqa: E402
                      binary)

t = TAP()
PW = 'Daily-Pw-1'
TZ = 'JST-9'            # fixed UTC+9, no DST: local and UTC days differ 15:00-24:00 UTC
TZ_EAST = 9 * 3600

# local midnight (JST) that starts tomorrow, as a Unix time
now = int(time.time())
midnight = ((now + TZ_EAST) // 86400 + 1) * 86400 - TZ_EAST
OFF_TODAY = midnight - 3600 - now           # 23:00 local, 14:00 UTC
OFF_TOMORROW = midnight + 1800 - now        # 00:30 local next day, 15:30 UTC same day
assert time.gmtime(now + OFF_TODAY).tm_yday == time.gmtime(now + OFF_TOMORROW).tm_yday


def conf(*extra):
    out = {'server': {'plugins': 'quota'},
           'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0', 'send_max_during_a_day': '2'}}
    for e in extra:
        for sec, kv in e.items():
            out.setdefault(sec, {}).update(kv)
    return out


def write_def(s, name, text):
    path = os.path.join(s.home, 'mailbox', name, 'config.def')
    with open(path + '.new', 'w') as f:
        f.write(text)
    os.chmod(path + '.new', 0o644)
    os.rename(path + '.new', path)


def session(s, user=None):
    """A session after EHLO, authenticated as USER when given."""
    c = Session(s)
    c.ehlo()
    if user:
        expect(t, c.cmd('AUTH PLAIN ' + b64('\0%s\0%s' % (user, PW))), 235, '2.7.0',
               'AUTH as %s' % user)
    return c


def txn(c, sender, rcpts=('rcv@localhost',)):
    """MAIL FROM SENDER; when accepted, RCPTs and DATA.  Returns (MAIL reply,
    end-of-DATA reply or None)."""
    r = c.cmd('MAIL FROM:<%s>' % sender)
    if r[0] != 250:
        return r, None
    for rc in rcpts:
        c.cmd('RCPT TO:<%s>' % rc)
    c.cmd('DATA')
    return r, c.data(message('daily', sender=sender or 'null@example.org', to=rcpts[0]))


def sent(c, sender, name, rcpts=('rcv@localhost',)):
    """A transaction that must be accepted and queued."""
    r, end = txn(c, sender, rcpts)
    expect(t, r, 250, '2.1.0', name + ': MAIL accepted')
    t.ok(end is not None and queued_id(end), name + ': queued')


def limited(c, sender, name):
    expect(t, c.cmd('MAIL FROM:<%s>' % sender), 450, '4.7.1', name,
           text=r'^450 4\.7\.1 daily sending limit reached$')


def close(c):
    c.cmd('QUIT')
    c.close()


def submit(s, sender, rcpt='rcv@localhost'):
    """yubin-sendmail -f SENDER RCPT over the local submission socket: the
    CompletedProcess (text)."""
    env = dict(os.environ)
    env.pop('YUBIN_CONF', None)
    return subprocess.run([binary('yubin-sendmail'), '-c', s.conf_path, '-f', sender, rcpt],
                          input='Subject: local\n\nbody\n', capture_output=True, text=True,
                          env=env, timeout=60)


ACCOUNTS = {n: PW for n in ('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'rcv')}
s = Server(conf=conf(), accounts=ACCOUNTS, tls=False, start=False,
           env={'TZ': TZ, 'YUBIN_TEST_CLOCK_OFFSET': str(OFF_TODAY)})
write_def(s, 'bob', 'send_max_during_a_day=3\n')
write_def(s, 'carol', 'send_max_during_a_day=-1\n')
write_def(s, 'dave', 'send_max_during_a_day=1\n')
write_def(s, 'frank', 'send_max_during_a_day=0\n')
with s:
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))

    # forgers: three unauthenticated mails claiming alice charge her nothing
    c = session(s)
    for i in range(3):
        sent(c, 'alice@localhost', 'unauthenticated, forged alice #%d' % (i + 1))
    close(c)
    t.ok(not re.search(r'plugin=quota .*account=alice', s.log()),
         'the forged mails are nobody\'s')

    # server limit 2, authenticated
    c = session(s, 'alice')
    sent(c, 'alice@localhost', 'alice #1')
    sent(c, 'alice@localhost', 'alice #2')
    limited(c, 'alice@localhost', 'alice #3: 450 4.7.1 at MAIL FROM')
    t.ok(s.wait_log(r'NOQUEUE: plugin=quota reject mail account=alice reason=daily_limit '
                    r'sent_today=2 limit=2'), 'refusal logged with count and limit')
    c.cmd('RSET')
    limited(c, 'alice@localhost', 'alice: still refused after RSET')
    close(c)
    c = session(s, 'alice')
    limited(c, 'someone@example.org', 'alice authenticated, foreign envelope sender: refused')
    limited(c, '', 'alice authenticated, <>: refused')
    close(c)
    c = session(s)
    sent(c, 'alice@localhost', 'unauthenticated, alice as envelope sender: not hers, '
         'not limited')
    sent(c, 'someone@example.org', 'unauthenticated foreign sender: not limited')
    sent(c, '', 'unauthenticated <>: not limited')
    close(c)

    # config.def 3 overrides the server's 2; unauthenticated transactions
    # with bob's address do not count, authenticated ones with any sender do
    c = session(s)
    for i in range(3):
        sent(c, 'bob@localhost', 'bob unauthenticated #%d' % (i + 1))
    close(c)
    c = session(s, 'bob')
    sent(c, 'bob@localhost', 'bob authenticated #1')
    sent(c, 'other@example.org', 'bob authenticated, foreign sender #2')
    sent(c, '', 'bob authenticated, <> #3')
    limited(c, 'bob@localhost', 'bob: fourth refused')
    close(c)

    # local submissions: charged to the envelope sender's account
    for i in range(2):
        r = submit(s, 'gina@localhost')
        t.is_(r.returncode, 0, 'local submission as gina #%d: exit 0' % (i + 1))
    t.ok(s.wait_log(r'accepted from=<gina@localhost>'), 'local submission accepted')
    r = submit(s, 'gina@localhost')
    t.ok(r.returncode != 0 and re.search(r'450 4\.7\.1', r.stderr),
         'local submission as gina #3: refused with 450 4.7.1')
    t.ok(s.wait_log(r'plugin=quota reject mail account=gina reason=daily_limit '
                    r'sent_today=2 limit=2'), 'local submission: refusal logged')
    c = session(s, 'gina')
    limited(c, 'gina@localhost', 'gina authenticated: the same count')
    close(c)
    r = submit(s, 'stranger@example.org')
    t.is_(r.returncode, 0, 'local submission with a foreign sender: nobody\'s, sent')

    # negative: unlimited
    c = session(s, 'carol')
    for i in range(4):
        sent(c, 'carol@localhost', 'carol (-1) #%d' % (i + 1))
    close(c)

    # a reset transaction does not count; limit 1
    c = session(s, 'dave')
    expect(t, c.cmd('MAIL FROM:<dave@localhost>'), 250, '2.1.0', 'dave: MAIL')
    expect(t, c.cmd('RCPT TO:<rcv@localhost>'), 250, '2.1.5', 'dave: RCPT')
    expect(t, c.cmd('RSET'), 250, '2.0.0', 'dave: RSET')
    sent(c, 'dave@localhost', 'dave: the reset one did not count')
    limited(c, 'dave@localhost', 'dave: second refused')
    close(c)

    # many recipients: one transaction, one count
    c = session(s, 'erin')
    sent(c, 'erin@localhost', 'erin: three recipients',
         rcpts=('rcv@localhost', 'alice@localhost', 'bob@localhost'))
    sent(c, 'erin@localhost', 'erin: second transaction')
    limited(c, 'erin@localhost', 'erin: third refused')
    close(c)

    # 0: nothing
    c = session(s, 'frank')
    limited(c, 'frank@localhost', 'frank (0): first refused')
    close(c)

    # the next local day (same UTC day): the limit starts again
    s.stop()
    s.env['YUBIN_TEST_CLOCK_OFFSET'] = str(OFF_TOMORROW)
    s.start()
    c = session(s, 'alice')
    sent(c, 'alice@localhost', 'next local day: alice #1')
    sent(c, 'alice@localhost', 'next local day: alice #2')
    limited(c, 'alice@localhost', 'next local day: alice #3 refused')
    close(c)
    c = session(s, 'dave')
    sent(c, 'dave@localhost', 'next local day: dave #1')
    close(c)

    # back on the first day: its counts survived the restarts
    s.stop()
    s.env['YUBIN_TEST_CLOCK_OFFSET'] = str(OFF_TODAY)
    s.start()
    c = session(s, 'alice')
    limited(c, 'alice@localhost', 'first day again: alice still refused')
    close(c)
    c = session(s, 'dave')
    limited(c, 'dave@localhost', 'first day again: dave still refused')
    close(c)
    c = session(s, 'carol')
    sent(c, 'carol@localhost', 'first day again: carol unlimited')
    close(c)

t.done()
