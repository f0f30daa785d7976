#!/usr/bin/env python3
"""Two nodes under a steady stream of mail while their shared state and one
of them fail (DESIGN.md 15): node A on 127.0.0.2 homes amy, node B on
127.0.0.3 homes bob, both share one throwaway PostgreSQL cluster.  Two
senders run all the time, each message to one node for amy or bob (so
half of the mail crosses from one node to the other), one message per
session with a unique Subject; every reply is recorded.

  1. PostgreSQL is killed (immediate shutdown) in the middle of the
     stream: the nodes answer 451 for the mailboxes they cannot look up
     and accept nothing they cannot keep; PostgreSQL comes back and the
     nodes take mail again by themselves;
  2. node B is killed (SIGKILL of every process) in the middle of the
     stream: A goes on accepting mail for bob and keeps it queued; B is
     started again and registered on its new ports;
  3. the stream stops, both queues drain: every message that got a 250 is
     stored exactly once, in its mailbox's home and nowhere else; every
     message refused is stored nowhere; a message whose session broke
     after DATA is stored at most once.

Progress is counted in replies, never in time: each phase waits for a
number of answers (with a generous timeout that only catches a hang).
Loopback only, ports picked by the kernel.  Skips when PostgreSQL is not
installed."""

import collections
import os
import re
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pg_lib import PgCluster, require_postgres  # noqa: E402
from yubintest import Server, TAP, wait_until  # noqa: E402

require_postgres()
t = TAP()

PW = 'Crash-Test-Pw-1'
HOME = {'amy': 'a', 'bob': 'b'}
SANITIZER = re.compile(r'.*(?:AddressSanitizer|runtime error:|LeakSanitizer).*')


def node(pg_uri, name, addr):
    return Server(conf={'server': {'state': pg_uri, 'node_name': name},
                        'smtp': {'listen': addr, 'auth_fail_delay': '0',
                                 'auth_penalty_base': '0',
                                 'max_connections_per_ip': '1000'},
                        'queue': {'retry_interval': '1s', 'keep_retry_interval': '1'}},
                  tls=True, start=False)


def register(s, name):
    return s.ctl('node', 'add', name, '%s:%d' % s.addr('smtp'),
                 '%s:%d' % s.addr('pop3'), check=False)


class Stream:
    """Senders that run until stopped; replies counted per outcome."""

    def __init__(self, nodes):
        self.nodes = nodes              # name -> Server (read at each send)
        self.lock = threading.Lock()
        self.accepted = {}              # subject -> mailbox
        self.refused = set()
        self.broken = set()
        self.count = collections.Counter()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.send, args=(k,)) for k in range(2)]

    def start(self):
        for th in self.threads:
            th.start()

    def end(self):
        self.stop.set()
        for th in self.threads:
            th.join()

    def answers(self):
        with self.lock:
            return sum(self.count.values())

    def send(self, k):
        i = 0
        while not self.stop.is_set():
            i += 1
            via = 'ab'[(i + k) % 2]
            box = ('amy', 'bob')[(i // 2) % 2]
            subject = 'c%d-%d-%s-via-%s' % (k, i, box, via)
            s = self.nodes[via]
            msg = ('From: <load@example.org>\r\nTo: <%s@localhost>\r\nSubject: %s\r\n\r\n'
                   'body of %s\r\n' % (box, subject, subject)).encode()
            try:
                c = smtplib.SMTP(s.addr('smtp')[0], s.port('smtp'), timeout=30)
            except (OSError, smtplib.SMTPException, KeyError, AttributeError):
                with self.lock:
                    self.count['no connection'] += 1
                time.sleep(0.05)
                continue
            outcome = 'broken'
            try:
                c.sendmail('load@example.org', ['%s@localhost' % box], msg)
                outcome = 'accepted'
            except smtplib.SMTPRecipientsRefused as e:
                code = list(e.recipients.values())[0][0]
                outcome = 'refused %d' % code
            except (smtplib.SMTPResponseException, smtplib.SMTPSenderRefused) as e:
                code = getattr(e, 'smtp_code', 0) or 0
                outcome = 'refused %d' % code if 400 <= code < 600 else 'broken'
            except (OSError, smtplib.SMTPException):
                outcome = 'broken'
            finally:
                try:
                    c.close()
                except OSError:
                    pass
            with self.lock:
                self.count[outcome] += 1
                if outcome == 'accepted':
                    self.accepted[subject] = box
                elif outcome == 'broken':
                    self.broken.add(subject)
                else:
                    self.refused.add(subject)
            if outcome != 'accepted':
                time.sleep(0.02)

    def wait(self, n, what, timeout=120):
        """Wait until N more replies of kind WHAT (a prefix) came in."""
        def seen():
            with self.lock:
                return sum(v for k, v in self.count.items() if k.startswith(what))
        goal = seen() + n
        return wait_until(lambda: seen() >= goal, timeout)


def subjects(s, box):
    out = collections.Counter()
    for m in s.mails(box):
        hit = re.search(rb'^Subject: (\S+)', m, re.M)
        if hit:
            out[hit.group(1).decode()] += 1
    return out


def queue_empty(s):
    return s.ctl('queue', 'list', check=False).stdout.strip() == ''


def run(pg):
    a = node(pg.uri, 'a', '127.0.0.2')
    b = node(pg.uri, 'b', '127.0.0.3')
    servers = {'a': a, 'b': b}
    stream = Stream(servers)
    try:
        a.start()
        b.start()
        t.is_(register(a, 'a').returncode, 0, 'node add a')
        t.is_(register(a, 'b').returncode, 0, 'node add b')
        t.is_(a.ctl('account', 'add', 'amy', PW, check=False).returncode, 0, 'amy homed on a')
        t.is_(b.ctl('account', 'add', 'bob', PW, check=False).returncode, 0, 'bob homed on b')

        stream.start()
        t.ok(stream.wait(40, 'accepted'), 'the stream runs: 40 messages accepted')

        # 1. PostgreSQL dies in the middle of the stream
        pg._kill()
        pg.running = False
        t.ok(stream.wait(20, 'refused 4'), 'PostgreSQL down: the nodes answer 4xx (%s)'
             % dict(stream.count))
        with stream.lock:
            down_accepts = stream.count['accepted']
        t.ok(stream.wait(10, 'refused 451'), 'and go on answering 451')
        pg.start()
        t.ok(stream.wait(40, 'accepted'), 'PostgreSQL back: mail is accepted again')
        with stream.lock:
            t.ok(not [k for k in stream.count if k.startswith('refused 5')],
                 'no 5xx during the outage (%s)' % dict(stream.count))
        t.diag('accepted before the outage ended its first refusals: %d' % down_accepts)

        # 2. node B dies in the middle of the stream
        b.kill_tree()
        t.ok(stream.wait(20, 'accepted'), 'B down: A goes on accepting (bob\'s mail queued)')
        b.start()
        t.is_(register(b, 'b').returncode, 0, 'B back on new ports, registered again')
        t.ok(stream.wait(40, 'accepted'), 'B takes mail again')
        stream.end()
        t.diag('replies: %s' % dict(stream.count))

        # 3. drain, then count
        for s in (a, b):
            s.ctl('queue', 'flush', check=False)
        t.ok(wait_until(lambda: queue_empty(a) and queue_empty(b), 120),
             'both queues drain')
        stored = {(n, box): subjects(servers[n], box) for n in 'ab' for box in HOME}
        lost, dup, misplaced, appeared, broken_dup = [], [], [], [], []
        for subject, box in stream.accepted.items():
            home = HOME[box]
            n = stored[(home, box)][subject]
            if n == 0:
                lost.append(subject)
            elif n > 1:
                dup.append(subject)
        for (n, box), c in stored.items():
            for subject, k in c.items():
                if n != HOME[box]:
                    misplaced.append(subject)
                if subject in stream.refused:
                    appeared.append(subject)
                if subject in stream.broken and k > 1:
                    broken_dup.append(subject)
        t.ok(len(stream.accepted) >= 140, '%d messages got a 250' % len(stream.accepted))
        t.ok(not lost, 'none of them lost (%s)' % ' '.join(sorted(lost)[:10]))
        t.ok(not dup, 'none stored twice (%s)' % ' '.join(sorted(dup)[:10]))
        t.ok(not misplaced, 'each in its home node\'s Maildir only (%s)'
             % ' '.join(sorted(misplaced)[:10]))
        t.ok(not appeared, 'no refused message stored (%s)' % ' '.join(sorted(appeared)[:10]))
        t.ok(not broken_dup, 'a broken session\'s message at most once (%s)'
             % ' '.join(sorted(broken_dup)[:10]))
        for name, s in servers.items():
            t.ok(not [m.group(0) for m in SANITIZER.finditer(s.log())],
                 '%s: no sanitizer report' % name)
    finally:
        if not stream.stop.is_set():
            stream.end()
        for s in servers.values():
            try:
                s.stop()
            except Exception:
                pass
            s.cleanup()


with PgCluster() as pg:
    run(pg)
t.done()
