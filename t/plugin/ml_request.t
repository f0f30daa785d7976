#!/usr/bin/env python3
# NAME-request@ with confirm=1: a JOIN sends the confirmation to the
# address to be subscribed (never to a stranger who asked), membership
# only after the "confirm COOKIE" answer, an unknown or expired cookie is
# refused, and confirm_per_day bounds the mails one address gets a day.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until

t = TAP()
ACC = {n: 'pw' for n in ('alice', 'bob', 'carol', 'dave', 'boss')}
CONF = {'server': {'plugins': 'relay quota ml'},
        'plugin ml': {'confirm_per_day': '2', 'confirm_ttl': '1d'}}


def new_mails(s, acc, before, count=1):
    if not s.wait_mail(acc, len(before) + count):
        return []
    return [m.decode('utf-8', 'replace') for m in s.mails(acc) if m not in before]


def request(s, sender, body, subject='commands', want=1):
    """Send to staff-request@ from SENDER@localhost; the new mails SENDER gets."""
    before = s.mails(sender)
    with s.smtp() as c:
        c.sendmail(sender + '@localhost', ['staff-request@localhost'],
                   ('From: %s@localhost\r\nSubject: %s\r\n\r\n%s' %
                    (sender, subject, body)).encode())
    return new_mails(s, sender, before, want)


def members(s):
    with open(os.path.join(s.home, 'mailbox', 'staff', 'ml_member.csv')) as f:
        return f.read()


def by_subject(mails, pat):
    return [m for m in mails if re.search(r'(?m)^Subject: ' + pat, m)]


with Server(accounts=ACC, conf=CONF, start=False) as s:
    s.ctl('ml', 'create', 'staff', 'secret', 'boss@localhost')
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    got = request(s, 'alice', 'join\r\n', want=2)
    conf = by_subject(got, r'confirm [0-9a-f]{32}')
    reply = by_subject(got, r'Re: your commands')
    t.is_(len(conf), 1, 'JOIN: a confirmation request to the address')
    t.is_(len(reply), 1, 'and one reply to the command')
    t.like(reply[0] if reply else '', r'confirmation request was sent to alice@localhost',
           'the reply says a confirmation was sent')
    t.like(conf[0] if conf else '', r'(?m)^Auto-Submitted: auto-replied', 'marked automatic')
    t.ok('alice@localhost' not in members(s), 'not a member before confirming')
    cookie = re.search(r'confirm ([0-9a-f]{32})', conf[0]).group(1) if conf else 'x'

    # a stranger asks for bob: the confirmation goes to bob, never to carol
    bob_before = s.mails('bob')
    got = request(s, 'carol', 'JOIN staff bob@localhost\r\n')
    t.ok(s.wait_mail('bob', len(bob_before) + 1), 'the confirmation reaches bob')
    bob_conf = [m.decode() for m in s.mails('bob') if m not in bob_before]
    t.like(bob_conf[0] if bob_conf else '', r'Someone \(<carol@localhost>\) asked to subscribe '
           r'bob@localhost', 'saying who asked')
    t.is_(len(by_subject(got, 'confirm')), 0, 'carol gets no cookie')
    t.like(got[0] if got else '', r'sent to bob@localhost', 'carol is told it went to bob')
    t.ok('bob@localhost' not in members(s), 'bob is not subscribed by carol')
    bob_cookie = re.search(r'confirm ([0-9a-f]{32})', bob_conf[0]).group(1) if bob_conf else 'x'

    # the answer: Subject "Re: confirm COOKIE", the request quoted
    got = request(s, 'alice', '> Someone asked\r\n> confirm %s\r\n' % cookie,
                  subject='Re: confirm ' + cookie)
    t.like(got[0] if got else '', r'alice@localhost joined the list', 'confirmed: joined')
    t.like(members(s), r'(?m)^alice@localhost$', 'alice is in ml_member.csv')
    got = request(s, 'alice', 'confirm %s\r\n' % cookie)
    t.like(got[0] if got else '', r'unknown or expired confirmation', 'a cookie serves once')
    got = request(s, 'carol', 'confirm %s\r\n' % ('0' * 32))
    t.like(got[0] if got else '', r'unknown or expired confirmation', 'an unknown cookie is refused')
    t.ok('carol@localhost' not in members(s), 'and subscribes nobody')

    # confirm_per_day = 2: the third JOIN in a day sends nothing
    request(s, 'dave', 'join\r\n', want=2)
    request(s, 'dave', 'join\r\n', want=2)
    got = request(s, 'dave', 'join\r\n')
    t.like(got[0] if got else '', r'refused: dave@localhost has been sent 2 confirmation '
           r'requests today', 'the per-day limit')
    t.ok(s.wait_log(r'no confirmation to <dave@localhost>: 2 today'), 'logged')
    t.is_(len(by_subject([m.decode() for m in s.mails('dave')], r'confirm [0-9a-f]{32}')), 2,
          'dave got two confirmation mails, not three')

    # two days later (confirm_ttl 1d) bob's cookie has expired
    s.stop()
    s.env['YUBIN_TEST_CLOCK_OFFSET'] = str(2 * 86400)
    s.start()
    # the queue manager's start-up sweep judges queue files by the shifted
    # clock: send only once it is done
    wait_until(lambda: len(re.findall(r'queue manager started', s.log())) >= 2)
    got = request(s, 'bob', '', subject='Re: confirm ' + bob_cookie)
    t.like(got[0] if got else '', r'unknown or expired confirmation', 'an expired cookie is refused')
    t.ok('bob@localhost' not in members(s), 'bob is still not a member')
t.done()
