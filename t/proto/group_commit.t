#!/usr/bin/env python3
# Group commit (lib/qcommit.h): SMTP workers hand their envelopes to one
# committer process, which commits whatever is waiting in one transaction.
#  - Twenty sessions at once: every accepted message is stored once, and the
#    committer's own count at the stop says it committed all of them (in
#    fewer batches than messages when requests overlapped).
#  - The committer SIGKILLed over and over while ten sessions send: the
#    master starts it again, every message that got a 250 is stored exactly
#    once, and nothing else is.
import os
import re
import signal
import smtplib
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until  # noqa: E402

t = TAP()
CONF = {'smtp': {'multiprocessing': '40', 'max_connections_per_ip': '1000'}}


def body(tag):
    return ('From: <a@example.org>\r\nSubject: %s\r\n\r\nbody of %s\r\n' % (tag, tag)).encode()


def subjects(s, account):
    out = []
    for m in s.mails(account):
        g = re.search(rb'^Subject: (\S+)', m, re.M)
        out.append(g.group(1).decode() if g else '?')
    return out


def sender(s, tags, accepted, stop=None):
    for tag in tags:
        if stop is not None and stop.is_set():
            return
        try:
            c = s.smtp(timeout=60)
            try:
                c.sendmail('a@example.org', ['alice@localhost'], body(tag))
                accepted.append(tag)
            finally:
                c.quit()
        except (smtplib.SMTPException, OSError):
            pass        # refused or cut: not promised, may not be stored


with Server(accounts={'alice': 'pw'}, conf=CONF, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    t.ok(wait_until(lambda: len(s.children('commit')) == 1), 'one committer runs')

    # ---- twenty sessions at once -------------------------------------------
    accepted = []
    threads = [threading.Thread(target=sender, args=(s, ['p%d-%d' % (k, i) for i in range(10)],
                                                     accepted)) for k in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.is_(len(accepted), 200, 'twenty sessions: 200 messages accepted')
    t.ok(s.wait_mail('alice', 200, timeout=60), 'and stored')
    t.is_(sorted(subjects(s, 'alice')), sorted(accepted), 'each exactly once')
    t.is_(s.stop(), 0, 'graceful stop')
    m = re.findall(r'committer stopped: (\d+) requests in (\d+) batches', s.log())
    t.ok(len(m) == 1 and int(m[0][0]) == 200,
         'the committer committed all 200 (%r)' % (m[0] if m else 'no report',))
    if m:
        t.diag('%s requests in %s batches' % m[0])

with Server(accounts={'alice': 'pw'}, conf=CONF, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    # ---- the committer killed again and again --------------------------------
    # each one after it has lived past the master's young-death back-off,
    # so the next starts at once; the load goes on throughout
    KILLS = 5
    accepted = []
    stop = threading.Event()
    threads = [threading.Thread(target=sender, args=(s, ['k%d-%d' % (k, i) for i in range(100000)],
                                                     accepted, stop)) for k in range(10)]
    for th in threads:
        th.start()
    kills = 0
    seen = {}
    deadline = time.time() + 90
    while kills < KILLS and time.time() < deadline:
        for p in s.children('commit'):
            seen.setdefault(p, time.time())
            if time.time() - seen[p] > 2.5:
                try:
                    os.kill(p, signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
        time.sleep(0.05)
    time.sleep(1)
    stop.set()
    for th in threads:
        th.join()
    t.is_(kills, KILLS, 'the committer was killed %d times under load' % KILLS)
    t.ok(len(accepted) >= 100, '%d messages accepted meanwhile' % len(accepted))
    t.ok(s.wait_log(r'committer pid \d+ killed by signal 9'), 'the master logs each death')
    t.ok(wait_until(lambda: len(s.children('commit')) == 1, timeout=20),
         'and starts the committer again')
    want = sorted(accepted)
    t.ok(wait_until(lambda: len(s.mails('alice')) >= len(want), timeout=60), 'all stored')
    time.sleep(0.5)
    got = subjects(s, 'alice')
    extra = sorted(set(got) - set(want))
    t.is_(sorted(got), want, 'every message that got a 250 stored exactly once, nothing else')
    if extra:
        t.diag('stored without a 250: %r' % extra[:10])
    t.is_(s.stop(), 0, 'graceful stop')
t.done()
