#!/usr/bin/env python3
"""greylist plugin (DESIGN §13): greylisting at RCPT after postgrey's model.

The server clock is shifted between phases (YUBIN_TEST_CLOCK_OFFSET, read
at start), so every phase is also a restart: the records live in LMDB.
  phase A (t = 0): first sight of a triplet gets 451 4.7.1 saying when to
    retry; an early retry 451 again; another sender, <> and another
    network are triplets of their own; authenticated sessions, clients in
    address_permits_relay, exempt clients and recipients, postmaster@ are
    never greylisted; an unknown user gets its 550 at once.
  phase B (t = 400s, after the 300s delay): the retry passes (250) and the
    mail is stored; a second mail of that triplet passes at once; the
    triplet first seen from 127.0.0.1 passes from 127.0.0.2 (same /24) and
    not from 127.0.1.1 (another network); a new sender is still
    greylisted; after auto_whitelist (3 here) passed triplets the network
    passes a new sender at once, another network does not.
  phase C (t = 2d + 1000s, past the retry window): a triplet seen at t = 0
    and never retried starts over (451, then an early 451); a passed
    triplet still passes.
  reload: SIGHUP with a new delay changes the wait of new triplets; a bad
    value fails the reload and the running generation stays.
  yubind -t: each bad key value is a FILE:LINE error naming the key."""

import os
import re
import signal
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, TAP, binary, send_authed, wait_until  # noqa: E402

t = TAP()
ACCOUNTS = {'alice': 'pw', 'bob': 'pw', 'carol': 'pw'}
DELAY = 300


def conf(**gl):
    plug = {'auto_whitelist': '3', 'exempt': '127.0.0.9, carol@localhost, @other.invalid'}
    plug.update(gl)
    return {'server': {'plugins': 'relay quota greylist'},
            'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0',
                     'address_permits_relay': '127.0.0.8'},
            'plugin greylist': plug}


def rcpt(s, sender, to, source='127.0.0.1', data=None):
    """(code, text) of RCPT TO:<TO> after MAIL FROM:<SENDER> from SOURCE;
    with DATA, the message is sent when the recipient was taken and the
    DATA reply is returned as a third item."""
    c = s.smtp(source=source)
    try:
        c.ehlo('client.test')
        code, msg = c.mail(sender)
        if code != 250:
            return (code, 'MAIL: ' + msg.decode(errors='replace'), None)
        code, msg = c.rcpt(to)
        out = (code, msg.decode(errors='replace'), None)
        if data is not None and code == 250:
            dcode, dmsg = c.data(data)
            out = (code, out[1], dcode)
        return out
    finally:
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass


def greylisted(r, name):
    ok = t.ok(r[0] == 451 and r[1].startswith('4.7.1 ') and
              re.search(r'[Gg]reylisted', r[1]) is not None, name)
    if not ok:
        t.diag('got %r' % (r,))
    return ok


def passes(r, name):
    ok = t.ok(r[0] == 250, name)
    if not ok:
        t.diag('got %r' % (r,))
    return ok


def retry_in(r):
    m = re.search(r'try again in (\d+) seconds', r[1])
    return int(m.group(1)) if m else None


def msg(subject):
    return ('From: <x@example.org>\r\nTo: <alice@localhost>\r\nSubject: %s\r\n\r\nhi\r\n'
            % subject).encode()


def restart(s, offset):
    s.stop()
    s.env['YUBIN_TEST_CLOCK_OFFSET'] = str(offset)
    s.start()


s = Server(conf=conf(), accounts=ACCOUNTS, tls=False, start=False,
           env={'YUBIN_TEST_CLOCK_OFFSET': '0'})
try:
    s.start()
    # ---- phase A: t = 0 ---------------------------------------------------
    r = rcpt(s, 'One@Example.ORG', 'alice@localhost')
    greylisted(r, 'first sight: 451 4.7.1 greylisted')
    t.is_(retry_in(r), DELAY, 'first sight: says to retry in the delay (300 s)')
    t.ok(s.wait_log(r'plugin=greylist greylist action=greylist reason=new '
                    r'client=127\.0\.0\.1 net=127\.0\.0\.0/24 '
                    r'from=<One@Example\.ORG> to=<alice@localhost>'),
         'first sight: one log line with client, network and triplet')
    r = rcpt(s, 'one@example.org', 'ALICE@localhost')
    greylisted(r, 'early retry (other case): 451 again')
    w = retry_in(r)
    t.ok(w is not None and 0 < w <= DELAY, 'early retry: retry in at most 300 s (%r)' % w)
    t.ok(s.wait_log(r'action=greylist reason=early'), 'early retry: logged as early')
    greylisted(rcpt(s, 'two@example.org', 'alice@localhost'), 'another sender: greylisted')
    greylisted(rcpt(s, '', 'alice@localhost'), 'null sender <>: greylisted')
    greylisted(rcpt(s, 'four@example.org', 'alice@localhost'), 'a third sender: greylisted')
    greylisted(rcpt(s, 'one@example.org', 'bob@localhost'), 'another recipient: greylisted')
    greylisted(rcpt(s, 'three@example.org', 'alice@localhost', source='127.0.2.1'),
               'the triplet the retry window will drop: greylisted')
    greylisted(rcpt(s, 'seven@example.org', 'alice@localhost', source='127.0.3.1'),
               'the triplet that will outlive the retry window: greylisted')
    r = rcpt(s, 'one@example.org', 'nobody@localhost')
    t.ok(r[0] == 550, 'unknown local user: 550 at once, not greylisted (%r)' % (r,))
    passes(rcpt(s, 'one@example.org', 'postmaster@localhost'), 'postmaster@: never greylisted')
    passes(rcpt(s, 'one@example.org', 'carol@localhost'), 'exempt recipient: passes')
    passes(rcpt(s, 'one@example.org', 'alice@localhost', source='127.0.0.9'),
           'exempt client (same /24 as greylisted ones): passes')
    passes(rcpt(s, 'new@example.org', 'alice@localhost', source='127.0.0.8'),
           'client in address_permits_relay: passes')
    refused = send_authed(s, 'someone@example.org', ['alice@localhost'], msg('authed'),
                          user='bob', password='pw')
    t.is_(refused, {}, 'authenticated session: never greylisted')
    t.ok(s.wait_mail('alice', 1), 'and its mail is stored')

    # ---- phase B: t = 400 s, restarted -----------------------------------
    restart(s, 400)
    r = rcpt(s, 'one@example.org', 'alice@localhost', data=msg('retried'))
    passes(r, 'retry after the delay (after a restart): 250')
    t.is_(r[2], 250, 'and DATA is taken')
    t.ok(s.wait_mail('alice', 2), 'and the mail is stored')
    t.ok(s.wait_log(r'action=pass reason=passed client=127\.0\.0\.1 .*'
                    r'from=<one@example\.org> to=<alice@localhost> age=4[0-9][0-9]s net_passed=1'),
         'pass logged with its age and the network count')
    passes(rcpt(s, 'ONE@example.org', 'alice@localhost'), 'same triplet again: passes at once')
    t.ok(s.wait_log(r'action=pass reason=known'), 'logged as known')
    greylisted(rcpt(s, 'one@example.org', 'alice@localhost', source='127.0.1.1'),
               'same sender and recipient from another /24: greylisted')
    greylisted(rcpt(s, 'five@example.org', 'alice@localhost'),
               'a new sender (network count 1 of 3): greylisted')
    passes(rcpt(s, 'two@example.org', 'alice@localhost', source='127.0.0.2'),
           'a retry from another address of the same /24: passes (count 2)')
    passes(rcpt(s, 'four@example.org', 'alice@localhost'), 'a third triplet passes (count 3)')
    passes(rcpt(s, 'six@example.org', 'alice@localhost', source='127.0.0.5'),
           'auto_whitelist reached: a new sender passes at once')
    t.ok(s.wait_log(r'action=pass reason=auto_whitelist client=127\.0\.0\.5 '
                    r'net=127\.0\.0\.0/24 .* net_passed=3'), 'logged as auto_whitelist')
    greylisted(rcpt(s, 'six@example.org', 'alice@localhost', source='127.0.1.1'),
               'another network is not whitelisted')
    passes(rcpt(s, 'seven@example.org', 'alice@localhost', source='127.0.3.1'),
           'a retry from a network with one passed triplet: passes')

    # ---- phase C: past the retry window ------------------------------------
    restart(s, 2 * 86400 + 1000)
    greylisted(rcpt(s, 'three@example.org', 'alice@localhost', source='127.0.2.1'),
               'retry after the retry window: greylisted again')
    r = rcpt(s, 'three@example.org', 'alice@localhost', source='127.0.2.1')
    greylisted(r, 'and it starts over: the next retry is early')
    t.ok(retry_in(r) is not None and retry_in(r) <= DELAY, 'with a retry time of the new start')
    greylisted(rcpt(s, 'one@example.org', 'alice@localhost', source='127.0.1.1'),
               'a triplet first seen at 400 s and not retried in time: greylisted')
    passes(rcpt(s, 'seven@example.org', 'alice@localhost', source='127.0.3.1'),
           'a triplet passed at 400 s still passes (max_age)')
    t.ok(s.wait_log(r'action=pass reason=known client=127\.0\.3\.1'), 'logged as known')

    # ---- phase D: a known triplet is kept while in use --------------------
    # passed at 400 s and seen again at 2 d + 1000 s: that use rewrote the
    # record (its last write was more than an hour before), so max_age
    # counts from there and it outlives 400 s + 35 d
    restart(s, 35 * 86400 + 2 * 86400)
    passes(rcpt(s, 'seven@example.org', 'alice@localhost', source='127.0.3.1'),
           'a triplet used within max_age of its last use still passes')
    greylisted(rcpt(s, 'two@example.org', 'alice@localhost', source='127.0.0.2'),
               'a triplet passed at 400 s and never used since: forgotten after max_age')

    # ---- reload: a new delay, then a bad value that changes nothing -------
    serial = [0]

    def new_wait():
        serial[0] += 1
        return retry_in(rcpt(s, 'r%d@example.org' % serial[0], 'alice@localhost',
                             source='127.0.4.1'))

    def reload(kv, pattern):
        sections = dict(s.sections)
        sections['plugin greylist'] = dict(sections['plugin greylist'], **kv)
        s.write_conf(sections)
        before = len(re.findall(pattern, s.log()))
        s.signal(signal.SIGHUP)
        return wait_until(lambda: len(re.findall(pattern, s.log())) > before)

    t.ok(reload({'delay': '10m'}, r'reloaded configuration'), 'reload with delay = 10m')
    t.ok(wait_until(lambda: new_wait() == 600, step=0.1), 'new triplets wait 600 s')
    t.ok(reload({'delay': 'soon'}, r'reload failed'), 'reload with delay = soon fails')
    t.like(s.log(), r'yubin\.conf:\d+: \[plugin greylist\] delay', 'naming file, line and key')
    t.is_(new_wait(), 600, 'and the running delay stays')
    t.ok(s.proc.poll() is None, 'yubind is still running')
finally:
    s.cleanup()

# ---- bad values: yubind -t names FILE:LINE and the key ----------------------
BAD = [
    ({'delay': 'soon'}, 'delay'),
    ({'delay': '0'}, 'delay'),
    ({'delay': '2d'}, 'delay'),
    ({'retry_window': '30s'}, 'retry_window'),
    ({'retry_window': '31d'}, 'retry_window'),
    ({'max_age': '1h'}, 'max_age'),
    ({'auto_whitelist': '-1'}, 'auto_whitelist'),
    ({'auto_whitelist': 'many'}, 'auto_whitelist'),
    ({'exempt': '10.0.0.0/33'}, 'exempt'),
    ({'exempt': 'not-an-ip'}, 'exempt'),
    ({'exempt': '@bad..domain'}, 'exempt'),
    ({'exempt': 'a b@localhost'}, 'exempt'),
    ({'delay': '1h', 'retry_window': '30m'}, 'delay'),
    ({'retry_window': '5m', 'delay': '10m'}, 'delay'),
    ({'retyr_window': '2d'}, 'retyr_window'),
]
for kv, key in BAD:
    s = Server(conf=conf(**kv), accounts={}, tls=False, start=False)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                       text=True)
    with open(s.conf_path) as f:
        lines = f.read().split('\n')
    s.cleanup()
    line = next(i + 1 for i, l in enumerate(lines) if l.startswith(key + ' = '))
    label = ', '.join('%s=%s' % kv_ for kv_ in kv.items())
    t.is_(r.returncode, 1, '%s: yubind -t fails' % label)
    if not t.like(r.stderr, r'%s:%d: .*%s' % (re.escape(s.conf_path), line, key),
                  '%s: the error names yubin.conf:%d and the key' % (label, line)):
        t.diag(r.stderr)

s = Server(conf=conf(), accounts={}, tls=False, start=False)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
s.cleanup()
t.is_(r.returncode, 0, 'the test configuration itself passes yubind -t (%s)' % r.stderr.strip())

t.done()
